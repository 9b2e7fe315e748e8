"""Property-based fuzzing: mutated workbooks end in a plan or a clean error, never a crash.

Each example starts from the small valid workbook (``conftest.SMALL``), applies a few
mutations drawn by hypothesis — wrong types, blanks, negatives, huge and tiny numbers,
``nan``/``inf`` text, dates in number columns, unicode and very long ids, duplicated and
missing keys, missing sheets and columns, shuffled rows and columns, renamed headers,
title rows above the header — writes it as another program would, and runs
``planner validate`` and ``planner solve`` on it. The properties:

- both commands end with an exit code of the contract (0, 1, 3, 4), never a traceback
  or 70 (internal fault);
- ``validate`` and ``solve`` agree on validity (exit 1 for both or neither);
- every error names its sheet, and a cell error its row and column;
- a plan is written only when ``solve`` exits 0, and then it reads back: finite costs,
  the embedded inputs equal the tables read from the input;
- the input file is never modified.

The number of examples comes from the ``HYPOTHESIS_PROFILE`` environment variable:
``ci`` (default; bounded, derandomised, a few seconds per property) or ``long``
(``HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/test_fuzz.py``). Set
``FUZZ_EXAMPLES`` to override the count of either.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from planner import schema
from planner.cli import cli
from planner.reader import ROW, read_workbook

from .conftest import SMALL

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
               print_blob=True)
PROFILES = {
    # bounded and reproducible: the same examples on every run, reported unshrunk
    "ci": settings(max_examples=30, derandomize=True, phases=[Phase.explicit, Phase.generate], **_COMMON),
    "long": settings(max_examples=2000, **_COMMON),
}
FUZZ = PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")]
if os.environ.get("FUZZ_EXAMPLES"):
    FUZZ = settings(FUZZ, max_examples=int(os.environ["FUZZ_EXAMPLES"]))

CONTRACT_CODES = {0, 1, 3, 4}
SHEETS = [s.name for s in schema.SHEETS]


# --------------------------------------------------------------------------- values

class Formula(str):
    """A cell written as a formula (openpyxl saves no result): the reader must flag it."""


NASTY_TEXT = ["", " ", "abc", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", "-0",
              "0x10", "1,000", "1 000", "1_000", "$5", "5 €", "40%", "-40%", "140%", "%", "1e3", "yes", "no", "TRUE",
              "None", "null", "#N/A", "#DIV/0!", "١٢٣", "½", "²", " 12 ", "\u00a012", "=1+1", "+1", "-1", "@SUM(A1)",
              "\t5", "2026.0", "2026-2027", "horizon", "all", "*", "bloc=*", "country=US|AU", "=", "|", "bloc=",
              "mine", "candidate", "soft", "hard", "max_share", "set", "scale", "Offers", "NdPr", "US", "MP"]
NUMBERS = st.one_of(
    st.sampled_from([0, -0.0, -1, -1e-9, 1e-300, 5e-324, 1e-12, 1e12, 1e15, 1e16, 1e19, 1e300, 1.7976931348623157e308,
                     2 ** 53 + 1, 2 ** 63, 10 ** 30, 0.5, 1.5, 2026, 2027, 2025.5, 100, 1]),
    st.integers(-10 ** 6, 10 ** 6),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)
UNICODE = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30)
DATES = st.one_of(
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1)),
    st.times(),
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=9999)),
)
VALUES = st.one_of(
    st.none(),
    st.sampled_from(NASTY_TEXT),
    NUMBERS,
    st.booleans(),
    DATES,
    UNICODE,
    st.sampled_from([255, 256, 1_000, 32_767]).map(lambda n: "Ω" * n),  # long ids and text
    st.sampled_from(["=1+2", "=A1", "=SUM(1,2)"]).map(Formula),
)


# --------------------------------------------------------------------------- mutations

def _columns(rows, sheet):
    known = [c.key for c in schema.sheet(sheet).columns]
    present = [k for r in rows.get(sheet, []) for k in r]
    return list(dict.fromkeys(known + present))


@st.composite
def mutated(draw):
    """(rows, layout): workbook rows after a few mutations, and how to lay them out."""
    rows = copy.deepcopy(SMALL)
    rows["Scenarios"] = [{"scenario": "ban", "sheet": "Offers", "column": "capacity", "where": "country=CN",
                          "period": "2027", "operation": "scale", "value": 0}]
    rows["Stockpile"] = [{"material": "Dy", "initial_stock": 2, "holding_cost": 5, "min_reserve": 0.5,
                          "reserve_unit": "periods", "max_stock": 30, "release_cost": 1}]
    steps = draw(st.lists(st.sampled_from(
        ["cell", "cell", "cell", "cell", "row_dup", "row_del", "row_add", "sheet_del", "col_del", "include_no",
         "setting", "policy"]), min_size=1, max_size=4))
    for step in steps:
        sheets = [s for s in rows if rows[s]]
        if step == "sheet_del":
            del rows[draw(st.sampled_from(sorted(rows)))]
            continue
        if not sheets:
            break
        sheet = draw(st.sampled_from(sheets))
        recs = rows[sheet]
        i = draw(st.integers(0, len(recs) - 1))
        if step == "cell":
            col = draw(st.one_of(st.sampled_from(_columns(rows, sheet)), st.sampled_from(["notes", "extra", "Unit Cost"])))
            recs[i][col] = draw(VALUES)
        elif step == "row_dup":
            recs.insert(draw(st.integers(0, len(recs))), copy.deepcopy(recs[i]))
        elif step == "row_del":
            del recs[i]
        elif step == "row_add":
            recs.append({c: draw(VALUES) for c in draw(st.lists(st.sampled_from(_columns(rows, sheet)), max_size=4))})
        elif step == "col_del":
            col = draw(st.sampled_from(_columns(rows, sheet)))
            for r in recs:
                r.pop(col, None)
        elif step == "include_no":
            recs[i]["include"] = draw(st.sampled_from(["no", "No", " NO ", False, 0]))
        elif step == "setting":
            key = draw(st.sampled_from([s.key for s in schema.SETTINGS] + ["plan_name", "unknown"]))
            rows.setdefault("Settings", []).append({"setting": key, "value": draw(VALUES)})
        elif step == "policy":
            rows.setdefault("Policies", []).append({
                "policy": draw(st.sampled_from(["p1", "p2", "feoc-cap"])),
                "rule": draw(st.sampled_from(list(schema.RULES) + ["max"])),
                "selection": draw(st.sampled_from(["all", "bloc=FEOC", "country=*", "bloc=domestic|ally", "kind=recycler",
                                                   "source=MP|bloc=ally", "owner=Lynas", "status=candidate", "bloc=Mars"])),
                "material": draw(st.sampled_from([None, "NdPr", "Dy"])),
                "period": draw(st.sampled_from([None, 2026, 2027, "horizon", "2030"])),
                "metric": draw(st.sampled_from([None, "quantity", "spend", "co2e", "risk", "gold"])),
                "limit": draw(st.one_of(st.sampled_from([0, 1, 2, "40%", 0.5, 1e9, -1]), VALUES)),
                "enforcement": draw(st.sampled_from([None, "hard", "soft"])),
                "penalty": draw(st.sampled_from([None, 0, 1000, 1e12])),
            })
    layout = draw(st.fixed_dictionaries({
        "shuffle_rows": st.booleans(),
        "shuffle_columns": st.booleans(),
        "header_case": st.sampled_from([str, str.upper, str.title, lambda k: f"  {k} "]),
        "title_rows": st.integers(0, 2),
        "blank_rows": st.integers(0, 2),
        "sheet_case": st.sampled_from([str, str.lower, str.upper]),
        "seed": st.integers(0, 2 ** 16),
    }))
    return rows, layout


def write_book(path: Path, rows: dict, layout: dict) -> Path:
    """Write rows as a plain workbook (no tables), laid out as ``layout`` says."""
    import random

    rnd = random.Random(layout["seed"])
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, recs in rows.items():
        ws = wb.create_sheet(layout["sheet_case"](name))
        keys = list(dict.fromkeys(k for r in recs for k in r)) or [c.key for c in schema.sheet(name).columns][:2]
        if layout["shuffle_columns"]:
            rnd.shuffle(keys)
        recs = list(recs)
        if layout["shuffle_rows"]:
            rnd.shuffle(recs)
        for t in range(layout["title_rows"]):
            ws.append([f"{name} table, sheet note {t}"])
        ws.append([layout["header_case"](k) for k in keys])
        for n, r in enumerate(recs):
            if n and n <= layout["blank_rows"]:
                ws.append([])
            ws.append([None] * len(keys))
            for j, k in enumerate(keys, start=1):
                _put(ws.cell(row=ws.max_row, column=j), r.get(k))
    wb.save(path)
    return path


def _put(cell, v) -> None:
    if isinstance(v, Formula):
        cell.value = str(v)  # openpyxl stores "=..." as a formula, without a cached result
    elif isinstance(v, str):
        cell.value = v
        cell.data_type = "s"  # typed text stays text, even "=1+1"
    else:
        cell.value = v


# --------------------------------------------------------------------------- running

def invoke(*args) -> tuple[int, str, dict | None]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    out = result.output
    assert "Traceback" not in out, out
    assert result.exit_code in CONTRACT_CODES, f"exit {result.exit_code}: {out[-2000:]}\n{result.exception!r}"
    lines = out.strip().splitlines()
    payload = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return result.exit_code, out, payload


def check_run(rows: dict, layout: dict) -> tuple[int, int]:
    """Validate and solve one workbook; assert every property. Returns (validate exit, solve exit)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "in.xlsx", rows, layout)
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        plan = Path(tmp) / "plan.xlsx"
        v_code, v_out, v_json = invoke("validate", path, "--json")
        s_code, s_out, s_json = invoke("solve", path, "-o", plan, "--json", "--quiet", "--time-limit", 20)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the input file was modified"
        assert (v_code == 1) == (s_code == 1), f"validate exit {v_code}, solve exit {s_code}:\n{v_out}\n{s_out}"
        if v_code == 1:
            assert v_json is not None and v_json["valid"] is False and v_json["problems"], v_out
            for p in v_json["problems"]:
                assert p["sheet"] and p["message"], p
                if p["value"] is not None:
                    assert p["row"] is not None and p["column"], p
        else:
            assert v_json["valid"] is True
        assert plan.exists() == (s_code == 0), s_out
        if s_code == 0:
            assert math.isfinite(s_json["objective"]), s_json
            check_plan(path, plan)
        return v_code, s_code


def check_plan(path: Path, plan: Path) -> None:
    """The plan reads back, and its embedded inputs are the tables read from the input."""
    original = read_workbook(path)
    embedded = read_workbook(plan)
    assert set(embedded.tables) == set(original.tables)
    for name, table in original.tables.items():
        a = table.cells.drop(columns=[ROW])
        b = embedded.tables[name].cells.drop(columns=[ROW])
        assert list(a.columns) == list(b.columns), name
        assert a.to_dict("records") == b.to_dict("records"), name


@FUZZ
@given(mutated())
def test_mutated_workbooks_end_in_a_plan_or_a_clean_error(case):
    rows, layout = case
    try:
        write_book(Path(tempfile.gettempdir()) / "probe.xlsx", rows, layout)
    except (openpyxl.utils.exceptions.IllegalCharacterError, ValueError):
        assume(False)  # openpyxl cannot write this workbook; no other program could either
    check_run(rows, layout)


@FUZZ
@given(st.data())
def test_numbers_of_any_size_in_any_numeric_cell(data):
    rows = copy.deepcopy(SMALL)
    numeric = [(s, c.key) for s in rows for c in schema.sheet(s).columns if c.type in ("number", "integer", "share", "period")]
    for _ in range(data.draw(st.integers(1, 3))):
        sheet, col = data.draw(st.sampled_from(numeric))
        i = data.draw(st.integers(0, len(rows[sheet]) - 1))
        rows[sheet][i][col] = data.draw(st.one_of(NUMBERS, st.sampled_from(["1e308", "-1e-308", "nan", "inf"])))
    check_run(rows, {"shuffle_rows": False, "shuffle_columns": False, "header_case": str, "title_rows": 0,
                     "blank_rows": 0, "sheet_case": str, "seed": 0})


def test_the_unmutated_workbook_solves():
    assert check_run(copy.deepcopy(SMALL), {"shuffle_rows": True, "shuffle_columns": True, "header_case": str.upper,
                                            "title_rows": 1, "blank_rows": 1, "sheet_case": str.lower, "seed": 1}) == (0, 0)


@pytest.fixture(scope="module")
def valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "in.xlsx", copy.deepcopy(SMALL), {
            "shuffle_rows": False, "shuffle_columns": False, "header_case": str, "title_rows": 0, "blank_rows": 0,
            "sheet_case": str, "seed": 0})
        return path.read_bytes()


@FUZZ
@given(st.data())
def test_corrupted_bytes_are_refused_in_one_sentence(valid_bytes, data):
    """A workbook damaged in transit (bytes flipped, cut short) is read or refused, never a crash."""
    blob = bytearray(valid_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.xlsx"
        path.write_bytes(bytes(blob))
        code, out, payload = invoke("validate", path, "--json")
        assert code in (0, 1)
        if code == 1:
            assert payload["problems"] and all(p["message"] for p in payload["problems"])
        assert path.read_bytes() == bytes(blob)
