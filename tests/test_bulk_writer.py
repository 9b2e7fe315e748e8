"""The bulk table writer (``excel.write_bulk_table``): large plan tables written column-wise.

It must write what the cell-by-cell writer writes — a named Excel Table with its header
style, widths, frozen header and number formats, text that never becomes a formula — and
read back exactly, with calamine (how the planner reads plans) and with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import python_calamine

from planner import excel
from planner.plan import PlanResult
from planner.report import write_plan
from planner.safety import inspect_xlsx

ROOT = Path(__file__).resolve().parents[1]
LONG = "long text " * 4000  # beyond Excel's 32,767 characters: cut there
TEXT = ["=1+1", "+A1", "@x", "-5", "\t=2", "\rx", "a\x01b\x00c\x1f", "<&>\"'", "Zürich 東京 🚀", LONG,
        "  padded  ", " ", "a\nb", "a\r\nb", "_x0041_", "plain", "x" * 10]
MIXED = [None, np.nan, pd.NA, pd.NaT, 0, -7, 2**53 + 1, 10**20, 1e300, 1e-300, 5e-324, 0.1 + 0.2, -0.0, 1 / 3,
         float("inf"), float("-inf"), True]
FLOATS = [1250.0, np.nan, 0.1 + 0.2, 1e300, 1e-300, 5e-324, -0.0, 2.0 / 3, float("inf"), -123456.789, 1e15 + 0.5,
          -1e-7, 0.0, np.nan, 7.0, 9.999995, 123456789.123]


def awkward_frame() -> pd.DataFrame:
    n = len(TEXT)
    assert len(MIXED) == len(FLOATS) == n
    return pd.DataFrame({
        "text": pd.Series(TEXT, dtype=object),
        "mixed": pd.Series(MIXED, dtype=object),
        "quantity": pd.Series(FLOATS, dtype="float64"),
        "count": np.arange(n, dtype=np.int64) * 1_000_003 - 5,
        "nullable": pd.array([None if i % 4 == 1 else i - 8 for i in range(n)], dtype="Int64"),
        "flag": np.arange(n) % 3 == 0,
        "name": pd.Series([None if i % 5 == 2 else f"Source {i}" for i in range(n)], dtype="str"),
        "when": pd.Series([dt.datetime(2026, 1, 2, 3, 4, 5), dt.date(2027, 6, 30), decimal.Decimal("1.5")]
                          + [None] * (n - 3), dtype=object),
    })


FORMATS = {"quantity": "#,##0.###", "count": "#,##0", "mixed": "0.0%", "nullable": "General"}


def write(tmp_path, frame, name="Awkward", formats=None, bulk=True):
    wb, ws = excel.new_workbook("Data")
    if bulk:
        excel.write_bulk_table(ws, name, frame, formats)
    else:
        excel.write_formatted_frame(ws, name, frame, formats)
    excel.print_setup(ws)
    return excel.save_atomic(wb, tmp_path / f"{name}-{'bulk' if bulk else 'cells'}.xlsx")


def missing(v) -> bool:
    return v is None or (pd.api.types.is_scalar(v) and pd.isna(v))


def expected_calamine(v):
    """What calamine reads for a value the planner wrote (text decoded, numbers as floats, blanks as '')."""
    if missing(v):
        return ""
    if isinstance(v, str):
        return v[:32_767]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, (dt.datetime, dt.date)):
        return v
    return float(v)


def expected_openpyxl(v):
    """What openpyxl reads: the text as stored (it leaves the _xHHHH_ escapes as they are)."""
    if missing(v) or v == "":
        return None
    if isinstance(v, str):
        return excel._xml_text(v[:32_767])
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        v = v.item()
    if isinstance(v, int) and not isinstance(v, bool):
        return v  # openpyxl reads integers as int, exactly
    return expected_calamine(v)


def same(a, b) -> bool:
    """Equal and of the same kind: floats to the last bit (-0.0 is not 0.0), text is not a number, True is not 1."""
    if isinstance(a, float) and isinstance(b, float):
        return a.hex() == b.hex()
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return type(a) is type(b) and a == b
    return a == b


def test_awkward_values_read_back_exactly(tmp_path):
    frame = awkward_frame()
    path = write(tmp_path, frame, formats=FORMATS)

    book = python_calamine.CalamineWorkbook.from_path(str(path), load_tables=True)
    assert book.table_names == ["Awkward"]
    table = book.get_table_by_name("Awkward")
    assert list(table.columns) == list(frame.columns)
    rows = table.to_python()
    assert len(rows) == len(frame)
    for i, row in enumerate(rows):
        for col, got in zip(frame.columns, row):
            want = expected_calamine(frame[col].iloc[i])
            assert same(got, want), (col, i, frame[col].iloc[i], got)

    ws = openpyxl.load_workbook(path)["Data"]
    for j, col in enumerate(frame.columns, start=1):
        for i in range(len(frame)):
            cell = ws.cell(row=2 + i, column=j)
            value = frame[col].iloc[i]
            assert cell.data_type != "f"
            assert same(cell.value, expected_openpyxl(value)), (col, i, value, cell.value)
            if isinstance(value, str) and value:  # text is quote-prefixed exactly when a spreadsheet would run it
                assert cell.quotePrefix == excel.looks_like_formula(value), (col, value)


def test_no_cell_is_a_formula_and_the_file_passes_the_safety_checks(tmp_path):
    path = write(tmp_path, awkward_frame(), formats=FORMATS)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"<f " not in sheet
    assert inspect_xlsx(path).formulas_without_value == {}
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", sheet)  # nothing XML cannot carry


def test_the_table_its_formats_and_its_layout(tmp_path):
    frame = awkward_frame()
    ws = openpyxl.load_workbook(write(tmp_path, frame, formats=FORMATS))["Data"]
    n = len(frame)
    assert dict(ws.tables.items()) == {"Awkward": f"A1:H{n + 1}"}
    table = ws.tables["Awkward"]
    assert [c.name for c in table.tableColumns] == list(frame.columns)
    assert table.autoFilter.ref == table.ref and table.tableStyleInfo.name == excel.TABLE_STYLE
    assert ws.dimensions == f"A1:H{n + 1}"
    assert ws.freeze_panes == "A2"
    assert ws.print_title_rows == "$1:$1" and ws.page_setup.orientation == "landscape"
    header = ws["A1"]
    assert header.font.b and header.fill.fgColor.rgb.endswith("1F4E78")
    for j, col in enumerate(frame.columns, start=1):
        want = FORMATS.get(col, "General")
        for i in range(n):
            cell = ws.cell(row=2 + i, column=j)
            if cell.value is None or col == "when":
                continue
            assert cell.number_format == want, (col, i)
    dates = [ws.cell(row=2 + i, column=8) for i in range(2)]
    assert [c.is_date for c in dates] == [True, True]
    assert ws.column_dimensions["A"].width == excel.MAX_WIDTH  # the long text
    assert ws.column_dimensions["F"].width == excel.MIN_WIDTH  # True / False, "flag"


def test_the_bulk_table_is_the_cell_by_cell_table(tmp_path):
    """Same values, widths, formats, table and styles as write_formatted_frame (for values both write exactly)."""
    rng = np.random.default_rng(7)
    n = 300
    frame = pd.DataFrame({
        "period": rng.integers(2026, 2040, n),
        "material": rng.choice(["NdPr", "Dy", "=Tb", "Li-ion", "<Co & Ni>"], n),
        "owner": pd.Series([None if i % 7 == 0 else f"Group {i % 13}" for i in range(n)], dtype=object),
        "quantity": np.round(rng.uniform(0, 5e5, n), 3),
        "tariff": rng.choice([0.0, 0.1, 0.25, np.nan], n),
        "binding": rng.random(n) < 0.5,
    })
    formats = {"quantity": "#,##0.###", "tariff": "0.0%"}
    bulk, cells = (write(tmp_path, frame, "Same", formats, bulk=b) for b in (True, False))
    grids = [python_calamine.CalamineWorkbook.from_path(str(p)).get_sheet_by_name("Data").to_python() for p in (bulk, cells)]
    assert grids[0] == grids[1]
    a, b = (openpyxl.load_workbook(p)["Data"] for p in (bulk, cells))
    assert {k: d.width for k, d in a.column_dimensions.items()} == {k: d.width for k, d in b.column_dimensions.items()}
    for row_a, row_b in zip(a.iter_rows(), b.iter_rows()):
        for x, y in zip(row_a, row_b):
            assert (x.value, x.number_format, x.quotePrefix, repr(x.font), repr(x.fill), repr(x.border)) == (
                y.value, y.number_format, y.quotePrefix, repr(y.font), repr(y.fill), repr(y.border))
    with zipfile.ZipFile(bulk) as za, zipfile.ZipFile(cells) as zb:
        assert za.read("xl/tables/table1.xml") == zb.read("xl/tables/table1.xml")


def test_a_bulk_table_below_other_cells_is_the_cell_by_cell_table(tmp_path):
    """As the Summary's KPIs and the Supply mix's detail: a title, a small table, then the bulk table
    ending the sheet; columns shared with the cells above keep the widest width either needs."""
    frame = pd.DataFrame({"material": ["NdPr", "=Dy", None, "Tb"] * 30, "period": np.arange(120) + 2026,
                          "bought": np.round(np.linspace(0, 1e6, 120), 3), "feoc_share": np.round(np.linspace(0, 1, 120), 4)})
    formats = {"bought": "#,##0.###", "feoc_share": "0.0%"}
    paths = []
    for bulk in (True, False):
        wb, ws = excel.new_workbook("Summary")
        ws["A1"] = "Plan " + "x" * 60  # wider than column A of the table
        excel.write_formatted_frame(ws, "Costs", pd.DataFrame({"component": ["Total"], "discounted": [1.5]}),
                                    start_row=3, freeze=False)
        write_table = excel.write_bulk_table if bulk else excel.write_formatted_frame
        write_table(ws, "KPIs", frame, formats, start_row=7, freeze=False)
        paths.append(excel.save_atomic(wb, tmp_path / f"below-{bulk}.xlsx"))
    grids = [python_calamine.CalamineWorkbook.from_path(str(p)).get_sheet_by_name("Summary").to_python() for p in paths]
    assert grids[0] == grids[1]
    a, b = (openpyxl.load_workbook(p)["Summary"] for p in paths)
    assert {k: d.width for k, d in a.column_dimensions.items()} == {k: d.width for k, d in b.column_dimensions.items()}
    assert a.dimensions == b.dimensions == "A1:D127"
    assert dict(a.tables.items()) == dict(b.tables.items()) == {"Costs": "A3:B4", "KPIs": "A7:D127"}
    for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=True):
        for x, y in zip(row_a, row_b, strict=True):
            assert (x.value, x.number_format, x.quotePrefix, repr(x.font), repr(x.fill), repr(x.border)) == (
                y.value, y.number_format, y.quotePrefix, repr(y.font), repr(y.fill), repr(y.border))
    assert a.freeze_panes is None


def test_an_empty_frame_gets_one_blank_row(tmp_path):
    frame = pd.DataFrame({"policy": pd.Series([], dtype=object), "limit": pd.Series([], dtype=float)})
    path = write(tmp_path, frame, "Empty")
    assert openpyxl.load_workbook(path)["Data"].tables["Empty"].ref == "A1:B2"
    table = python_calamine.CalamineWorkbook.from_path(str(path), load_tables=True).get_table_by_name("Empty")
    assert list(table.columns) == ["policy", "limit"]


@pytest.mark.parametrize("start_row", [1, 4])
def test_cells_written_below_a_bulk_table_are_refused(tmp_path, start_row):
    wb, ws = excel.new_workbook("Data")
    ws["A1"] = "title"
    excel.write_bulk_table(ws, "T", pd.DataFrame({"a": [1, 2]}), start_row=start_row)
    excel.workbook_bytes(wb)  # cells above it are fine
    ws.cell(row=start_row + 1, column=3, value="late")
    with pytest.raises(ValueError, match="below its bulk table"):
        excel.workbook_bytes(wb)


def test_the_same_plan_gives_the_same_bytes(tmp_path):
    frame = awkward_frame()
    small = pd.DataFrame({"component": ["Total"], "discounted": [1.0], "undiscounted": [1.0]})
    plan = PlanResult(facts=[("plan", "=bulk")], costs=small,
                      kpis=pd.DataFrame({"material": ["X"], "period": [2027], "bought": [1.0]}),
                      purchases=pd.DataFrame({"period": [2027, 2028], "material": ["X", "=Y"], "quantity": [1.5, np.nan]}),
                      policies=pd.DataFrame({"policy": ["p"], "limit": [0.1 + 0.2]}), investments=pd.DataFrame({"source": []}),
                      shortfalls=pd.DataFrame({"material": ["X"]}),
                      supply=pd.DataFrame({"material": ["X"], "period": [2027], "bloc": ["ally"], "country": ["AU"],
                                           "quantity": [1.5]}),
                      extra_sheets=[("Awkward", frame)])
    first, second = (write_plan(tmp_path / f"plan{i}.xlsx", plan, None) for i in (1, 2))
    assert first.read_bytes() == second.read_bytes()
    book = python_calamine.CalamineWorkbook.from_path(str(first), load_tables=True)
    assert {"Purchases", "Policies", "Investments", "Shortfalls", "Awkward"} <= set(book.table_names)
    assert book.get_table_by_name("Policies").to_python() == [["p", 0.1 + 0.2]]
    ws = openpyxl.load_workbook(first)["Purchases"]
    assert ws.tables["Purchases"].ref == "A1:C3" and ws["C2"].number_format == "#,##0.###"
    assert ws["B3"].value == "=Y" and ws["B3"].data_type == "s" and ws["B3"].quotePrefix


def test_float_widths_are_the_widths_of_the_formatted_values():
    rng = np.random.default_rng(11)
    for _ in range(2000):
        scale = 10.0 ** rng.integers(-300, 300)
        values = rng.uniform(-1, 1, rng.integers(1, 20)) * scale
        if rng.random() < 0.5:
            values = np.round(values / scale, rng.integers(0, 7)) * scale
        values = np.append(values, [0.0, -0.0, np.nan, np.inf, 5e-324, 999999.5][: rng.integers(0, 7)])
        finite = values[np.isfinite(values)].tolist()
        assert excel._float_width(values) == max((excel._display_width(v) for v in finite), default=0), values


def test_a_plan_started_beforehand_is_the_same_workbook(tmp_path):
    """planner solve makes the input copies while HiGHS solves (report.start_plan); the workbook is
    the one written in one go, to the byte, with the plan's sheets before the copies."""
    from planner.reader import read_workbook
    from planner.report import start_plan

    inputs = read_workbook(ROOT / "inputs" / "example.xlsx")
    frame = pd.DataFrame({"material": ["X"], "period": [2027], "bloc": ["ally"], "country": ["AU"], "quantity": [1.5]})
    plan = PlanResult(facts=[("plan", "p")], costs=pd.DataFrame({"component": ["Total"], "discounted": [1.0]}),
                      kpis=pd.DataFrame({"material": ["X"], "period": [2027], "bought": [1.5]}), purchases=frame,
                      policies=pd.DataFrame({"policy": ["p"]}), investments=pd.DataFrame({"source": []}),
                      shortfalls=pd.DataFrame({"material": []}), supply=frame, extra_sheets=[("Commitments", frame)])
    once = write_plan(tmp_path / "once.xlsx", plan, inputs)
    started = write_plan(tmp_path / "started.xlsx", plan, inputs, start_plan(inputs))
    assert once.read_bytes() == started.read_bytes()
    names = python_calamine.CalamineWorkbook.from_path(str(started)).sheet_names
    assert names[:8] == ["Summary", "Supply mix", "Purchases", "Policies", "Investments", "Shortfalls", "Commitments",
                         "input.Settings"]
    assert all(n.startswith("input.") for n in names[7:])


def test_the_archive_is_the_one_zipfile_writes(tmp_path, monkeypatch):
    """excel.workbook_bytes writes the archive itself (a bulk table's rows deflated beforehand, chunk by
    chunk, on another thread): the same members, contents and metadata as zipfile writing the same
    parts, each member's CRC checked; the same bytes whether the rows were deflated ahead or at the
    save, and the same contents whatever the chunks."""
    frame = pd.concat([awkward_frame()] * 50, ignore_index=True)

    def book(ahead: bool, chunk: int):
        monkeypatch.setattr(excel, "BULK_CHUNK_ROWS", chunk)
        wb, ws = excel.new_workbook("Data")
        excel.write_bulk_table(ws, "Awkward", frame, FORMATS, deflate=ahead)
        rows = getattr(ws, excel._BULK)
        assert len(rows.chunks) == -(-len(frame) // chunk) and len(rows.deflated) == (len(rows.chunks) if ahead else 0)
        return wb
    saved = {(ahead, chunk): excel.workbook_bytes(book(ahead, chunk)) for ahead in (True, False) for chunk in (100, 4096)}
    assert saved[True, 100] == saved[False, 100] and saved[True, 4096] == saved[False, 4096]
    # the parts as openpyxl writes them (of a fresh copy: a save changes the workbook), with the rows spliced in
    wb = book(False, len(frame))
    raw = tmp_path / "raw.zip"
    excel.ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED)).save()
    with zipfile.ZipFile(raw) as parts:
        expected = {i.filename: parts.read(i) for i in parts.infolist()}
    rows, sheet = getattr(wb["Data"], excel._BULK), "xl/worksheets/sheet1.xml"
    head, tail = excel._split(expected[sheet], rows)
    expected[sheet] = head + rows.xml + tail
    for (ahead, chunk), data in saved.items():
        path = tmp_path / f"book-{ahead}-{chunk}.xlsx"
        path.write_bytes(data)
        with zipfile.ZipFile(path) as ours:
            assert ours.testzip() is None  # every member inflates to its CRC and size
            assert [i.filename for i in ours.infolist()] == list(expected)
            for info in ours.infolist():
                assert ours.read(info) == expected[info.filename], info.filename
                assert (info.compress_type, info.date_time, info.external_attr, info.flag_bits, info.create_system) == (
                    zipfile.ZIP_DEFLATED, (1980, 1, 1, 0, 0, 0), 0o600 << 16, 0, 3)
    assert openpyxl.load_workbook(path)["Data"].max_row == len(frame) + 1


def test_a_workbook_too_large_for_a_zip_without_zip64_is_refused():
    archive = excel._Archive()
    with pytest.raises(ValueError, match="too large"):
        archive.add("xl/worksheets/sheet1.xml", [b""], 0, 2**32)
