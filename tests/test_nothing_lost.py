"""Nothing lost: every input row is used, reported as switched off, or rejected with a message,
and the plan's embedded inputs (``input.*`` sheets) are exactly the tables read.

Data the model does not use is never dropped silently: values in a column without a header
and extra columns that look like a misspelt key get a warning; extra columns and switched-off
rows travel into the plan unchanged.
"""

from __future__ import annotations

import copy
import datetime as dt

import openpyxl
from click.testing import CliRunner

from planner.cli import cli
from planner.reader import ROW, read_workbook
from planner.validate import load

from .conftest import SMALL


def messy_workbook(path):
    """The small workbook as a person would leave it: titles, gaps, notes, switched-off rows."""
    rows = copy.deepcopy(SMALL)
    rows["Countries"].append({"country": "RU", "bloc": "FEOC", "include": "no", "notes": "sanctioned"})
    rows["Sources"].append({"source": "RU1", "country": "RU", "kind": "mine"})  # off: its country is off
    rows["Offers"].append({"source": "RU1", "material": "NdPr", "unit_cost": 1})  # off: its source is off
    rows["Offers"][1]["include"] = "no"
    rows["Offers"][2]["source_url"] = "https://example.org/prices"
    rows["Offers"][3]["capcity"] = 15  # misspelt: kept, not used, warned
    rows["Demand"][0]["notes"] = dt.datetime(2025, 5, 1)
    rows["Materials"].append({"material": "Tb", "include": "NO"})
    rows["Demand"].append({"material": "Tb", "period": 2026, "quantity": 3})  # off with its material
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, recs in rows.items():
        ws = wb.create_sheet(name)
        keys = list(dict.fromkeys(k for r in recs for k in r))
        ws.append([f"{name} — as agreed with procurement"])  # a title above the table
        ws.append([])
        ws.append(keys)
        for i, r in enumerate(recs):
            ws.append([r.get(k) for k in keys])
            if i == 1:
                ws.append([])  # a gap in the table
        if name == "Offers":
            ws.cell(row=5, column=len(keys) + 2, value="stray value")  # under no header
    wb.save(path)
    return rows


def test_every_row_is_used_switched_off_or_rejected(tmp_path):
    path = tmp_path / "in.xlsx"
    messy_workbook(path)
    book = read_workbook(path)
    checked = load(path)
    assert checked.errors == []
    expected_off = {"Countries": 1, "Sources": 1, "Offers": 2, "Materials": 1, "Demand": 1}
    assert checked.skipped == expected_off
    for sheet, table in book.tables.items():
        read = set(table.cells[ROW])
        if sheet == "Settings":
            continue  # settings are values, not rows; each is used or named in an error
        used = set(checked.tables[sheet]["row"])
        assert used <= read
        assert len(read - used) == expected_off.get(sheet, 0), sheet
    warned = {(w.sheet, w.column) for w in checked.warnings}
    assert ("Offers", "capcity") in warned  # a misspelt column is not silently ignored
    assert any(w.sheet == "Offers" and "no header" in w.message for w in checked.warnings)
    assert any("switched off" in w.message for w in checked.warnings)


def test_the_plan_carries_exactly_the_inputs_read(tmp_path):
    path = tmp_path / "in.xlsx"
    messy_workbook(path)
    plan = tmp_path / "plan.xlsx"
    result = CliRunner().invoke(cli, ["solve", str(path), "-o", str(plan), "--quiet"])
    assert result.exit_code == 0, result.output
    original, embedded = read_workbook(path), read_workbook(plan)
    assert set(embedded.tables) == set(original.tables)
    for name, table in original.tables.items():
        a = table.cells.drop(columns=[ROW])
        b = embedded.tables[name].cells.drop(columns=[ROW])
        assert list(a.columns) == list(b.columns), name  # extra columns kept, in their order
        assert a.to_dict("records") == b.to_dict("records"), name  # switched-off rows kept, values unchanged
    facts = {r[0]: r[1] for r in openpyxl.load_workbook(plan)["Summary"].iter_rows(min_col=1, max_col=2, values_only=True)
             if r[0]}
    assert facts["rows switched off"] == "Materials: 1, Countries: 1, Sources: 1, Offers: 2, Demand: 1"
    # and the plan, solved again, is the same problem
    again = CliRunner().invoke(cli, ["solve", str(plan), "-o", str(tmp_path / "again.xlsx"), "--quiet", "--json"])
    assert again.exit_code == 0, again.output
