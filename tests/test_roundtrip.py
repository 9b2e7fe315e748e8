"""Template → fill programmatically → read gives the same data as the rows themselves."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from planner.reader import read_workbook
from planner.schema import TEMPLATE_VERSION
from planner.template import write_input_workbook
from planner.validate import check, plan_from_rows

TABLES = ("materials", "countries", "sources", "offers", "offer_periods", "source_periods", "demand", "policies")


def assert_same_plan(a, b):
    assert a.periods == b.periods and a.settings == b.settings and a.skipped == b.skipped
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(left.astype(object), right.astype(object), check_dtype=False, obj=name)


def test_our_writer_round_trips(tmp_path, small_rows):
    small_rows["Materials"][1]["include"] = "no"
    path = write_input_workbook(tmp_path / "filled.xlsx", small_rows)
    book = read_workbook(path)
    assert book.template_version == TEMPLATE_VERSION
    checked = check(book)
    assert checked.errors == []
    assert_same_plan(checked.data, plan_from_rows(small_rows))


def test_typing_into_the_empty_template_round_trips(tmp_path, small_rows):
    path = write_input_workbook(tmp_path / "template.xlsx")
    wb = openpyxl.load_workbook(path)
    for sheet, recs in small_rows.items():
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        if sheet == "Settings":  # the template lists every setting: fill in the values
            where = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
            for rec in recs:
                ws.cell(row=where[rec["setting"]], column=header.index("value") + 1, value=rec["value"])
            continue
        for i, rec in enumerate(recs, start=2):
            for key, value in rec.items():
                ws.cell(row=i, column=header.index(key) + 1, value=value)
    wb.save(path)
    checked = check(read_workbook(path))
    assert checked.errors == [], [str(p) for p in checked.errors]
    assert_same_plan(checked.data, plan_from_rows(small_rows))


@pytest.mark.parametrize("sheet", ["Offers", "Demand"])
def test_headers_are_matched_whatever_their_case_and_order(tmp_path, small_rows, sheet):
    from .conftest import write_plain

    small_rows[sheet] = [dict(reversed(list(r.items()))) for r in small_rows[sheet]]
    path = write_plain(tmp_path / "x.xlsx", small_rows, header_case=str.title)
    assert_same_plan(check(read_workbook(path)).data, plan_from_rows(small_rows))
