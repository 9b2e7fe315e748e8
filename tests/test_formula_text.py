"""User text that looks like a formula stays text in every workbook the planner writes.

Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what a
spreadsheet would run (CSV/formula injection: ``=HYPERLINK(...)``, ``=cmd|...``). Every
input cell that can carry user text gets such a value; then every output — the plan, the
scenario plans and their comparison, a comparison of plans, the Diagnosis of an infeasible
workbook, a frontier, an input workbook written by the planner — is opened at the XML
level (no ``<f>`` element anywhere) and with openpyxl (the text is a string cell with the
quote prefix, exactly as written). The planner writes no CSV.
"""

from __future__ import annotations

import copy
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.excel import looks_like_formula
from planner.template import write_input_workbook

from .conftest import write_plain

HOSTILE = {
    "plan": "=HYPERLINK(\"http://evil.example\",\"click\")",
    "currency": "@SUM(1,2)",
    "unit": "-2+3",
    "name": "+cmd|' /C calc'!A0",
    "note": "\t=1+1",
    "cr": "_x000D_=2+2",  # how Excel stores a leading carriage return; it reads as "\r=2+2"
    "owner": "=Lynas",
    "bloc": "@FEOC",
    "policy": "=cap()",
    "scenario": "+ban",
}


def hostile_rows(small_rows) -> dict:
    rows = copy.deepcopy(small_rows)
    rows["Settings"] += [{"setting": "currency", "value": HOSTILE["currency"]},
                         {"setting": "quantity_unit", "value": HOSTILE["unit"]}]
    rows["Settings"][0]["value"] = HOSTILE["plan"]
    for sheet, key in (("Materials", "name"), ("Sources", "name"), ("Countries", "name")):
        for r in rows[sheet]:
            r[key] = HOSTILE["name"]
            r["notes"] = HOSTILE["note"]
    rows["Offers"][0]["notes"] = HOSTILE["cr"]
    rows["Sources"][1]["owner"] = HOSTILE["owner"]
    rows["Countries"][2]["bloc"] = HOSTILE["bloc"]
    rows["Policies"] = [{"policy": HOSTILE["policy"], "rule": "max_share", "selection": f"bloc={HOSTILE['bloc']}",
                         "limit": "50%", "notes": HOSTILE["note"]}]
    rows["Scenarios"] = [{"scenario": HOSTILE["scenario"], "sheet": "Offers", "column": "unit_cost",
                          "where": "source=CN1", "operation": "scale", "value": 1.5, "notes": HOSTILE["note"]}]
    # a user-named extra column, and an id that itself starts like a formula
    rows["Offers"][1]["@extra"] = "-1+1"
    for sheet, key in (("Sources", "source"), ("Offers", "source")):
        for r in rows[sheet]:
            if r[key] == "MP":
                r[key] = "-MP"
    return rows


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def decoded(text: str) -> str:
    """A string as Excel shows it: OOXML escapes (_x000D_) decoded, as the planner's reader does."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def assert_no_formulas(path: Path) -> list[str]:
    """No formula anywhere in the archive; formula-like strings are quote-prefixed text. Returns them."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert not re.search(rb"<f[ >]", z.read(name)), f"{path.name}:{name} holds a formula"
    found = []
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{path.name}:{ws.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str) and looks_like_formula(decoded(cell.value)):
                    assert cell.data_type in ("s", "inlineStr"), (path.name, ws.title, cell.coordinate)
                    assert cell.quotePrefix, f"{path.name}:{ws.title}!{cell.coordinate} lacks the quote prefix"
                    found.append(decoded(cell.value))
    return found


def test_plan_and_scenario_outputs_keep_formula_text_as_text(tmp_path, small_rows):
    path = write_plain(tmp_path / "in.xlsx", hostile_rows(small_rows))
    result = run("solve", path, "-o", tmp_path / "plan.xlsx", "--quiet")
    assert result.exit_code == 0, result.output
    found = assert_no_formulas(tmp_path / "plan.xlsx")
    # what the user typed, exactly (ids are trimmed when read; the embedded inputs are kept as written)
    for text in (HOSTILE["plan"], HOSTILE["name"], HOSTILE["note"], "\r=2+2", HOSTILE["owner"], HOSTILE["bloc"],
                 HOSTILE["policy"], HOSTILE["currency"], HOSTILE["unit"], "-MP", "@extra", "-1+1"):
        assert text in found, text
    summary = openpyxl.load_workbook(tmp_path / "plan.xlsx")["Summary"]
    assert summary["A1"].value == HOSTILE["plan"]

    (tmp_path / "sc").mkdir()
    result = run("solve", path, "-o", tmp_path / "sc" / "plan.xlsx", "--all-scenarios", "--quiet", "--jobs", 1)
    assert result.exit_code == 0, result.output
    written = sorted((tmp_path / "sc").glob("*.xlsx"))
    assert len(written) >= 3, written  # the base, the scenario and the comparison
    for out in written:
        assert_no_formulas(out)

    plans = [p for p in written if "comparison" not in p.name]
    result = run("compare", *plans, "-o", tmp_path / "cmp.xlsx")
    assert result.exit_code == 0, result.output
    assert_no_formulas(tmp_path / "cmp.xlsx")


def test_diagnosis_and_frontier_keep_formula_text_as_text(tmp_path, small_rows):
    rows = hostile_rows(small_rows)
    path = write_plain(tmp_path / "in.xlsx", rows)
    result = run("frontier", path, "--metric", "co2e", "--points", 2, "-o", tmp_path / "frontier.xlsx", "--jobs", 1,
                 "--quiet")
    assert result.exit_code == 0, result.output
    assert_no_formulas(tmp_path / "frontier.xlsx")

    rows["Offers"] = [o for o in rows["Offers"] if o["source"] != "LYN"]  # Dy: only China, capped at 50%
    path = write_plain(tmp_path / "bad.xlsx", rows)
    result = run("solve", path, "-o", tmp_path / "bad-plan.xlsx", "--quiet")
    assert result.exit_code == 3, result.output
    diagnoses = list(tmp_path.glob("bad-plan*diagnosis*.xlsx"))
    assert diagnoses, result.output
    for out in diagnoses:
        assert_no_formulas(out)


def test_an_input_workbook_written_by_the_planner_keeps_formula_text_as_text(tmp_path, small_rows):
    path = write_input_workbook(tmp_path / "in.xlsx", hostile_rows(small_rows))
    assert HOSTILE["plan"] in assert_no_formulas(path)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"])
def test_every_trigger_is_covered(text):
    assert looks_like_formula(text)
