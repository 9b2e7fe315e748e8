"""The input template, the workbook primitives behind it, and the generated reference."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from planner import excel, reference
from planner.schema import GUIDE_SHEET, RULES, SETTINGS, SHEET_BY_NAME, SHEETS, TEMPLATE_VERSION
from planner.template import write_input_workbook

RISKY = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("http://x","y")']

ROWS = {
    "Materials": [
        {"material": "NdPr", "name": "NdPr oxide", "notes": RISKY[0]},
        {"material": 2027, "name": "a numeric-looking id", "notes": RISKY[1]},
    ],
    "Countries": [{"country": "US", "bloc": "domestic", "source_ref": "USGS MCS 2025"}],
    "Demand": [{"material": "NdPr", "period": 2026, "quantity": 1200.5}],
}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    write_input_workbook(path)
    return path


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    path = tmp_path_factory.mktemp("filled") / "filled.xlsx"
    write_input_workbook(path, ROWS)
    return path


def header(ws):
    return [c.value for c in ws[1] if c.value is not None]


# --------------------------------------------------------------------------- structure


def test_every_sheet_is_one_named_table_with_the_schema_headers(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == [GUIDE_SHEET] + [s.name for s in SHEETS]
    for sheet in SHEETS:
        ws = wb[sheet.name]
        assert list(ws.tables) == [sheet.name]
        table = ws.tables[sheet.name]
        assert table.ref.startswith("A1:")
        assert [c.name for c in table.tableColumns] == list(sheet.keyset)
        assert header(ws) == list(sheet.keyset)
        assert ws.freeze_panes == "A2"


def test_every_header_has_a_comment_with_meaning_unit_and_default(template):
    wb = openpyxl.load_workbook(template)
    for sheet in SHEETS:
        ws = wb[sheet.name]
        for col, column in enumerate(sheet.columns, start=1):
            note = ws.cell(row=1, column=col).comment
            assert note is not None, (sheet.name, column.key)
            assert column.description in note.text
            if column.unit:
                assert f"Unit: {column.unit}" in note.text
            if column.required:
                assert "(required)" in note.text
            elif column.default is not None:
                assert f"Default: {reference.number_text(column.default)}" in note.text
            for choice in column.choices:
                assert choice in note.text


def _validations(ws):
    return {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}


def test_references_and_enumerations_have_dropdowns(template):
    wb = openpyxl.load_workbook(template)
    for sheet in SHEETS:
        ws = wb[sheet.name]
        validations = _validations(ws)
        for col, column in enumerate(sheet.columns, start=1):
            letter = openpyxl.utils.get_column_letter(col)
            dv = validations.get(f"{letter}2")
            if column.refers_to:
                target, key = column.refers_to.split(".")
                target_letter = openpyxl.utils.get_column_letter(SHEET_BY_NAME[target].keyset.index(key) + 1)
                assert dv.type == "list"
                assert dv.formula1 == f"'{target}'!${target_letter}$2:${target_letter}${excel.INPUT_ROWS}"
                assert str(dv.sqref) == f"{letter}2:{letter}{excel.INPUT_ROWS}"
            elif column.choices or column.type == "yesno":
                choices = column.choices or ("yes", "no")
                assert dv.formula1 == '"' + ",".join(choices) + '"', (sheet.name, column.key)
                assert dv.errorStyle == "stop"
            else:
                assert dv is None, (sheet.name, column.key)


def test_the_issue_lists_its_dropdowns(template):
    wb = openpyxl.load_workbook(template)
    formulas = {(ws.title, str(dv.sqref)[0]): dv.formula1
                for ws in wb for dv in ws.data_validations.dataValidation}
    assert formulas[("Offers", "A")].startswith("'Sources'!$A$2")
    assert formulas[("Offers", "B")].startswith("'Materials'!$A$2")
    assert formulas[("Sources", "C")].startswith("'Countries'!$A$2")
    assert formulas[("Sources", "D")] == '"mine,processor,recycler,trader"'
    assert formulas[("Policies", "B")] == '"' + ",".join(RULES) + '"'


def test_id_columns_are_formatted_as_text(template):
    wb = openpyxl.load_workbook(template)
    for sheet in SHEETS:
        ws = wb[sheet.name]
        for col, column in enumerate(sheet.columns, start=1):
            letter = openpyxl.utils.get_column_letter(col)
            fmt = ws.cell(row=2, column=col).number_format
            if column.type == "id":
                assert fmt == "@" and ws.column_dimensions[letter].number_format == "@", (sheet.name, column.key)
            else:
                assert fmt == "General", (sheet.name, column.key)


def test_settings_list_every_setting_with_a_blank_value_and_a_note(template):
    frame = pd.read_excel(template, sheet_name="Settings", engine="calamine")
    assert list(frame["setting"]) == [s.key for s in SETTINGS]
    assert frame["value"].isna().all()
    for setting, note in zip(SETTINGS, frame["notes"]):
        assert note.startswith(setting.description)
        if setting.unit:
            assert setting.unit in note


def test_the_empty_template_reads_as_empty_tables(template):
    frames = pd.read_excel(template, sheet_name=None, engine="calamine")
    for sheet in SHEETS:
        frame = frames[sheet.name].dropna(how="all")
        assert list(frame.columns) == list(sheet.keyset)
        assert len(frame) == (len(SETTINGS) if sheet.name == "Settings" else 0)


# --------------------------------------------------------------------------- Guide and version


def _guide_text(path) -> str:
    ws = openpyxl.load_workbook(path)[GUIDE_SHEET]
    return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


def test_guide_carries_the_version_stamp(template):
    wb = openpyxl.load_workbook(template)
    ws = wb[GUIDE_SHEET]
    stamps = [ws.cell(row=c.row, column=c.column + 1).value
              for row in ws.iter_rows() for c in row if c.value == "template_version"]
    assert stamps == [TEMPLATE_VERSION]
    assert {p.name: p.value for p in wb.custom_doc_props}["template_version"] == TEMPLATE_VERSION


def test_guide_documents_every_sheet_column_setting_and_the_grammar(template):
    text = _guide_text(template)
    for sheet in SHEETS:
        assert sheet.purpose in text
        for column in sheet.columns:
            assert column.description in text
    for setting in SETTINGS:
        assert setting.key in text and setting.description in text
    for rule in RULES:
        assert reference.RULE_MEANINGS[rule] in text
    for needle in ("country=*", "bloc=domestic|ally", "horizon", "40%", "soft", "2027-2029",
                   "country=CN", "bloc=FEOC", "0.25", "1.5"):
        assert needle in text, needle


def test_grammar_examples_are_valid_rows_of_their_sheets():
    for sheet_name, examples in (("Policies", reference.POLICY_EXAMPLES), ("Scenarios", reference.SCENARIO_EXAMPLES)):
        sheet = SHEET_BY_NAME[sheet_name]
        for example in examples:
            assert set(example) - {"meaning"} <= set(sheet.keyset)
            for key, value in example.items():
                if key != "meaning" and sheet.column(key).choices:
                    assert value in sheet.column(key).choices, (key, value)
    assert set(reference.RULE_MEANINGS) == set(RULES)


# --------------------------------------------------------------------------- files


def test_output_is_byte_for_byte_reproducible(tmp_path, monkeypatch):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_input_workbook(first, ROWS)
    clock = time.time
    monkeypatch.setattr(time, "time", lambda: clock() + 86_400)  # a day later, as far as zip stamps go
    write_input_workbook(second, ROWS)
    assert first.read_bytes() == second.read_bytes()
    assert excel.content_digest(first) == excel.content_digest(second)


def test_refuses_to_overwrite_unless_forced(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_input_workbook(path)
    assert path.read_bytes() == b"precious"
    write_input_workbook(path, force=True)
    assert zipfile.is_zipfile(path)


def test_unknown_sheet_in_rows_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Materialz"):
        write_input_workbook(tmp_path / "t.xlsx", {"Materialz": []})
    assert not (tmp_path / "t.xlsx").exists()


def test_filled_rows_read_back_and_tables_cover_them(filled):
    wb = openpyxl.load_workbook(filled)
    assert wb["Materials"].tables["Materials"].ref == "A1:E3"
    assert header(wb["Countries"]) == list(SHEET_BY_NAME["Countries"].keyset) + ["source_ref"]
    frames = pd.read_excel(filled, sheet_name=None, engine="calamine", dtype=object)
    assert list(frames["Materials"]["material"]) == ["NdPr", "2027"]  # ids stay text
    assert frames["Countries"].loc[0, "source_ref"] == "USGS MCS 2025"
    assert frames["Demand"].loc[0, "quantity"] == 1200.5
    assert wb["Materials"]["A3"].data_type == "s"


def test_user_text_never_becomes_a_formula(tmp_path):
    path = tmp_path / "risky.xlsx"
    write_input_workbook(path, {"Materials": [{"material": f"m{i}", "notes": t} for i, t in enumerate(RISKY)]})
    ws = openpyxl.load_workbook(path)["Materials"]
    notes = [ws.cell(row=r, column=5) for r in range(2, 2 + len(RISKY))]
    # a carriage return is written as Excel writes it, _x000D_ (XML would turn a bare one into a
    # newline); Excel and the planner's reader decode it, openpyxl shows the escape
    assert [c.value for c in notes] == [t.replace("\r", "_x000D_") for t in RISKY]
    assert all(c.data_type == "s" and c.quotePrefix for c in notes)
    frame = pd.read_excel(path, sheet_name="Materials", engine="calamine", dtype=object)
    assert list(frame["notes"]) == RISKY
    assert frame["notes"][0] == "=1+1"
    with zipfile.ZipFile(path) as z:
        sheet_xml = z.read("xl/worksheets/sheet3.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


# --------------------------------------------------------------------------- primitives


def test_set_value_blanks_missing_values_and_keeps_numbers():
    wb = openpyxl.Workbook()
    ws = wb.active
    values = [float("nan"), pd.NA, None, np.int64(3), np.float64(2.5), math.inf, True, "a\x01b", "x" * 40_000]
    for col, value in enumerate(values, 1):
        excel.set_value(ws.cell(row=1, column=col), value)
    assert [c.value for c in ws[1]][:8] == [None, None, None, 3, 2.5, "inf", True, "a_x0001_b"]  # Excel's escape
    assert type(ws["D1"].value) is int
    assert len(ws["I1"].value) == 32_767


def test_write_frame_makes_a_table(tmp_path):
    wb, ws = excel.new_workbook("Purchases")
    frame = pd.DataFrame({"material": ["NdPr", "Dy"], "quantity": [1.0, np.nan], "notes": ["=x", "ok"]})
    excel.write_frame(ws, "Purchases", frame, text_columns=["material"])
    path = excel.save_atomic(wb, tmp_path / "p.xlsx")
    back = pd.read_excel(path, engine="calamine")
    assert list(back["notes"]) == ["=x", "ok"] and math.isnan(back["quantity"][1])
    assert openpyxl.load_workbook(path)["Purchases"].tables["Purchases"].ref == "A1:C3"


@pytest.mark.parametrize("name", ["A1", "R1C1", "has space", "1abc", ""])
def test_invalid_table_names_are_refused(name):
    with pytest.raises(ValueError):
        excel.check_table_name(name)


def test_long_or_comma_lists_are_refused_as_dropdowns():
    ws = openpyxl.Workbook().active
    with pytest.raises(ValueError):
        excel.add_dropdown(ws, "A2:A10", ["a,b", "c"])
    with pytest.raises(ValueError):
        excel.add_dropdown(ws, "A2:A10", [f"choice{i}" for i in range(40)])


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_save_atomic_leaves_no_partial_file(tmp_path, monkeypatch, failing):
    wb, _ = excel.new_workbook("Sheet")
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"previous")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="disk full"):
        excel.save_atomic(wb, target)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_save_atomic_gives_the_usual_permissions(tmp_path):
    wb, _ = excel.new_workbook("Sheet")
    path = excel.save_atomic(wb, tmp_path / "out.xlsx")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


# --------------------------------------------------------------------------- README reference


def test_schema_markdown_documents_every_sheet_and_column():
    text = reference.schema_markdown()
    for sheet in SHEETS:
        assert f"### {sheet.name}\n" in text
        for column in sheet.columns:
            assert f"| `{column.key}` |" in text
    for setting in SETTINGS:
        assert f"| `{setting.key}` |" in text
    cells = None  # every table row has as many cells as its header ("\|" is text)
    for line in text.splitlines():
        if not line.startswith("|"):
            cells = None
        elif cells is None:
            cells = line.count("|")
        else:
            assert line.replace("\\|", "").count("|") == cells, line


def test_embed_replaces_only_the_marked_section():
    start, end = reference.MARKERS
    readme = f"# Title\n\n{start}\nSTALE\n{end}\n\nAfter.\n"
    out = reference.embed(readme)
    assert out.startswith("# Title\n\n" + start + "\n") and out.endswith(end + "\n\nAfter.\n")
    assert reference.schema_markdown() in out and "STALE" not in out
    assert reference.embed(out) == out
    with pytest.raises(ValueError):
        reference.embed("no markers")


# --------------------------------------------------------------------------- LibreOffice


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_workbook(filled, tmp_path):
    out = subprocess.run(["libreoffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                          str(filled)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "filled.pdf").stat().st_size > 10_000
