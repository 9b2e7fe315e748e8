"""Workbook-writing primitives shared by every workbook the planner writes.

The input template, the example, the plan and the comparison workbooks are all built
from these pieces, so that they look alike and share the same guarantees:

- user text can never become a formula: every string is written as a string cell, and
  text that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return) also gets the quote-prefix style, as if typed with a
  leading apostrophe, so that editing it in Excel keeps it text;
- tables are named Excel Tables with a styled header, sensible widths and a frozen
  header row; a table that fills a sheet (a plan's purchases, 50k rows and more) can be
  written column-wise by :func:`write_bulk_table`, the same table over ten times faster;
- an output is written whole or not at all (:func:`save_atomic`), and the same workbook
  gives the same bytes (fixed archive timestamps), so that committed workbooks can be
  compared with what the commands write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from numbers import Number
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell._writer import _set_attributes
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.compat import safe_string
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from .files import _unwritten, write_atomic

AUTHOR = "planner"
# Archive members and document properties carry this date, so that outputs are
# reproducible byte for byte (Excel itself stamps members with 1980-01-01).
FIXED_TIMESTAMP = dt.datetime(2026, 1, 1)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

# Dropdowns and text formats cover the rows a user is likely to type into.
INPUT_ROWS = 2000

TEXT_FORMAT = "@"
TABLE_STYLE = "TableStyleMedium2"
FONT_NAME = "Calibri"  # named, so that other programs do not fall back to their own default


def font(**style) -> Font:
    return Font(name=FONT_NAME, size=style.pop("size", 11), **style)


BOLD = font(bold=True)
HEADER_FONT = font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_BORDER = Border(bottom=Side(style="thin", color="1F4E78"))
HEADER_ALIGNMENT = Alignment(vertical="center")
WRAP = Alignment(wrap_text=True, vertical="top")

MIN_WIDTH = 8
MAX_WIDTH = 60
_FILTER_BUTTON = 3  # characters the autofilter arrow takes in a header cell
_LIST_LIMIT = 255  # longest explicit list Excel accepts in a validation
_CELL_LIMIT = 32_767  # longest text Excel keeps in a cell
_MESSAGE_LIMIT = 225  # longest validation error message Excel accepts
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TABLE_NAME = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.\\]*$")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*|[RrCc])$")


# --------------------------------------------------------------------------- cells


def looks_like_formula(text: str) -> bool:
    """True for text a spreadsheet or CSV consumer could take for a formula."""
    return text.startswith(_FORMULA_TRIGGERS)


def set_value(cell: Cell, value: object) -> None:
    """Write one value; strings always stay strings.

    ``None``, NaN and pandas' missing values leave the cell blank; infinities are
    written as the text ``inf`` / ``-inf`` (Excel has no infinite number). Text is cut at
    Excel's cell limit, and written as Excel writes it, so that it reads back unchanged:
    characters XML cannot carry (control characters, and a carriage return, which XML
    would turn into a line feed) as ``_xHHHH_`` escapes, and a literal ``_xHHHH_`` as
    ``_x005F_xHHHH_``.
    """
    if isinstance(value, str):
        text = value[:_CELL_LIMIT]
        cell.value = _xml_text(text)
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if looks_like_formula(text):
            cell.quotePrefix = True
        return
    if value is not None and pd.api.types.is_scalar(value) and pd.isna(value):
        value = None
    if isinstance(value, Number) and not isinstance(value, bool) and math.isinf(value):
        set_value(cell, "inf" if value > 0 else "-inf")
        return
    if isinstance(value, np.generic) and not isinstance(value, np.datetime64):
        value = value.item()  # numpy scalars, as pandas hands them out
    cell.value = value


_ESCAPED = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_UNWRITABLE = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text in the escaped form of OOXML strings (ST_Xstring), which Excel and calamine decode."""
    if "_x" in text:
        text = _ESCAPED.sub("_x005F_", text)
    return _UNWRITABLE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def write_row(ws: Worksheet, row: int, values: Iterable[object], *, start_col: int = 1) -> None:
    for offset, value in enumerate(values):
        set_value(ws.cell(row=row, column=start_col + offset), value)


# --------------------------------------------------------------------------- tables


def check_table_name(name: str) -> None:
    """Excel refuses (with a repair prompt) table names that are not identifiers."""
    if not _TABLE_NAME.match(name) or _CELL_LIKE.match(name) or len(name) > 255:
        raise ValueError(f"{name!r} cannot name an Excel table")


def write_table(
    ws: Worksheet,
    name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    start_row: int = 1,
    start_col: int = 1,
    min_rows: int = 1,
    text_columns: Iterable[str] = (),
    min_widths: Mapping[str, float] | None = None,
    freeze: bool = True,
) -> Table:
    """Write ``rows`` under a header of ``columns`` as the named Excel Table ``name``.

    The table covers the header and the data rows, padded with blank rows up to
    ``min_rows`` (an Excel Table needs at least one data row). Columns named in
    ``text_columns`` are formatted as text, also for rows typed later. Widths follow the
    longest header or value, at least ``min_widths[column]``, within
    ``MIN_WIDTH``..``MAX_WIDTH``.
    """
    columns = _header(ws, name, columns, start_row, start_col)
    rows = [list(r) for r in rows]
    for r in rows:
        if len(r) > len(columns):
            raise ValueError(f"table {name}: a row has {len(r)} values for {len(columns)} columns")
    for i, values in enumerate(rows, start=1):
        write_row(ws, start_row + i, values, start_col=start_col)

    last_row = start_row + max(len(rows), min_rows, 1)
    table = _add_table(ws, name, start_row, start_col, len(columns), last_row)

    text = set(text_columns)
    min_widths = min_widths or {}
    for j, key in enumerate(columns):
        col = start_col + j
        if key in text:
            format_as_text(ws, col, start_row + 1, last_row)
        widths = [len(key) + _FILTER_BUTTON, min_widths.get(key, 0)]
        set_width(ws, col, max(widths + [_display_width(r[j]) for r in rows if j < len(r)]))
    if freeze:
        ws.freeze_panes = ws.cell(row=start_row + 1, column=start_col)
    return table


def _header(ws: Worksheet, name: str, columns: Sequence[object], row: int, start_col: int) -> list[str]:
    """Check a table's name and headers, and write its styled header row; returns the headers."""
    check_table_name(name)
    columns = [str(c) for c in columns]
    folded = [c.strip().casefold() for c in columns]
    if not columns or len(set(folded)) != len(folded) or "" in folded:
        raise ValueError(f"table {name}: headers must be non-empty and distinct: {columns}")
    write_row(ws, row, columns, start_col=start_col)
    style_header(ws, row, start_col, len(columns))
    return columns


def _add_table(ws: Worksheet, name: str, header_row: int, start_col: int, n_cols: int, last_row: int) -> Table:
    """The named Excel Table over a header (already written) and its rows, with an autofilter."""
    last_col = start_col + n_cols - 1
    ref = f"{get_column_letter(start_col)}{header_row}:{get_column_letter(last_col)}{last_row}"
    # the columns are named from the header cells, as Excel requires (and as openpyxl would at
    # save time, by reading the whole range: slow for a bulk table, whose rows are not cells)
    names = [TableColumn(id=col, name=str(ws.cell(row=header_row, column=col).value))
             for col in range(start_col, last_col + 1)]
    table = Table(displayName=name, ref=ref, autoFilter=AutoFilter(ref=ref), tableColumns=names)
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    ws.add_table(table)
    return table


def write_formatted_frame(ws: Worksheet, name: str, frame: pd.DataFrame, formats: Mapping[str, str] | None = None, *,
                          start_row: int = 1, start_col: int = 1, freeze: bool = True) -> Table:
    """:func:`write_frame` with a number format per column, for reports.

    Several tables may share a sheet's columns: a column keeps the widest width any of
    them needs.
    """
    frame = frame.reset_index(drop=True)
    letters = [get_column_letter(start_col + j) for j in range(len(frame.columns))]
    before = [ws.column_dimensions[x].width if x in ws.column_dimensions else 0 for x in letters]
    table = write_table(ws, name, [str(c) for c in frame.columns], frame.itertuples(index=False, name=None),
                        start_row=start_row, start_col=start_col, freeze=freeze)
    for x, w in zip(letters, before):
        ws.column_dimensions[x].width = max(ws.column_dimensions[x].width or 0, w or 0)
    for j, col in enumerate(frame.columns):
        fmt = (formats or {}).get(col)
        if fmt and fmt != "General":
            for i in range(len(frame)):
                ws.cell(row=start_row + 1 + i, column=start_col + j).number_format = fmt
    return table


def write_frame(ws: Worksheet, name: str, frame: pd.DataFrame, **kwargs) -> Table:
    """:func:`write_table` for a DataFrame (its index is not written; reset it first)."""
    return write_table(ws, name, list(frame.columns), frame.itertuples(index=False, name=None), **kwargs)


def style_header(ws: Worksheet, row: int, start_col: int, n_cols: int) -> None:
    for col in range(start_col, start_col + n_cols):
        cell = ws.cell(row=row, column=col)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = HEADER_ALIGNMENT


def set_width(ws: Worksheet, col: int, width: float) -> None:
    ws.column_dimensions[get_column_letter(col)].width = min(max(width, MIN_WIDTH), MAX_WIDTH)


def _display_width(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        text = f"{value:,.6g}"
    else:
        text = str(value)
    return max((len(line) for line in text.splitlines()), default=0) + 1


def format_as_text(ws: Worksheet, col: int, first_row: int, last_row: int) -> None:
    """Format a column as text ('@'): its cells from ``first_row`` to ``last_row`` and,
    through the column style, any cell typed further down, so ids like 001 stay text."""
    letter = get_column_letter(col)
    ws.column_dimensions[letter].number_format = TEXT_FORMAT
    for row in range(first_row, last_row + 1):
        ws.cell(row=row, column=col).number_format = TEXT_FORMAT


def print_setup(ws: Worksheet, *, repeat_header: bool = True) -> None:
    """Print landscape, one page wide, repeating the header row on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if repeat_header:
        ws.print_title_rows = "1:1"


# --------------------------------------------------------------------------- bulk tables
# openpyxl makes an object of every cell and serialises it through an XML writer: ~30 µs a
# cell, 20-30 s for a plan's 50k purchases. A table that fills a sheet is written here a
# column at a time instead: each distinct value of a column is rendered once (its type,
# style and escaped text, by the rules of set_value), and the rows are put into the
# sheet's part when workbook_bytes serialises the workbook.

_BULK = "_planner_bulk_rows"  # the worksheet attribute holding a bulk table's _BulkRows
BULK_CHUNK_ROWS = 4096  # rows rendered (and deflated) at a time: the last chunk's deflating is what the save waits for
_deflater: ThreadPoolExecutor | None = None  # the thread that deflates bulk rows ahead (see deflate_ahead), made when first needed
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"')


@dataclass
class _BulkRows:
    """A bulk table's data rows as sheet XML (in chunks of BULK_CHUNK_ROWS rows), the sheet's used
    range, and the table's header row; ``deflated``: the chunks deflated, or being deflated, on
    another thread (see :func:`deflate_ahead`), in order."""

    chunks: list[bytes]
    dimension: str
    header_row: int = 1
    deflated: list[Future] = field(default_factory=list)

    @property
    def xml(self) -> bytes:
        return b"".join(self.chunks)

    def deflate_ahead(self) -> None:
        """Start deflating the chunks not started yet."""
        global _deflater
        if _deflater is None:
            _deflater = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deflate")
        self.deflated += [_deflater.submit(_deflate, c, False) for c in self.chunks[len(self.deflated):]]

    def deflated_chunks(self) -> list[bytes]:
        """The chunks deflated (those not started ahead, now)."""
        return [f.result() for f in self.deflated] + [_deflate(c, False) for c in self.chunks[len(self.deflated):]]


def write_bulk_table(ws: Worksheet, name: str, frame: pd.DataFrame, formats: Mapping[str, str] | None = None, *,
                     start_row: int = 1, freeze: bool = True, deflate: bool = True) -> Table:
    """:func:`write_formatted_frame` for a table from column A that ends its sheet, written column-wise.

    The same table — styled header, named Table with its autofilter, a blank row when
    empty, widths (a column shared with cells above keeps the widest), frozen header, a
    number format per column, text never a formula — over ten times faster on large frames.
    The header row (``start_row``) is written through openpyxl, as is anything above it; the data
    rows are rendered now and go into the sheet's part in :func:`workbook_bytes` (so in
    :func:`save_atomic`: openpyxl's own ``save`` would leave them out). Nothing may be
    written below the header of this sheet afterwards (``workbook_bytes`` refuses).

    Numbers are written exactly (the shortest text that reads back as the same float);
    strings as inline strings, with the escapes of :func:`set_value`; missing values
    (None, NaN, NA, NaT) as blank cells; values of other types (dates, times, decimals)
    as openpyxl writes them.

    ``deflate``: compress the rows for the archive right away, on another thread, a chunk of rows
    at a time while the next is rendered (:func:`deflate_ahead`); False leaves that to a later
    ``deflate_ahead`` or to the save.
    """
    frame = frame.reset_index(drop=True)
    letters = [get_column_letter(j) for j in range(1, len(frame.columns) + 1)]
    before = [ws.column_dimensions[x].width if x in ws.column_dimensions else 0 for x in letters]
    last_col = max(ws.max_column, len(frame.columns))  # the used range covers any cells above the table
    columns = _header(ws, name, frame.columns, start_row, 1)
    widths = [len(key) + _FILTER_BUTTON for key in columns]
    rows = _BulkRows([], f"A1:{get_column_letter(last_col)}{start_row + max(len(frame), 1)}", start_row)
    for first in range(0, len(frame), BULK_CHUNK_ROWS):  # deflated (if asked) while the next chunk is rendered
        part = frame.iloc[first:first + BULK_CHUNK_ROWS]
        numbers = [str(i) for i in range(start_row + 1 + first, start_row + 1 + first + len(part))]
        cells = []
        for j, label in enumerate(frame.columns):
            column, width = _bulk_column(ws, letters[j], part.iloc[:, j], (formats or {}).get(label), numbers)
            cells.append(column)
            widths[j] = max(widths[j], width)
        rows.chunks.append("".join([f'<row r="{r}">{"".join(c)}</row>' for r, *c in zip(numbers, *cells)]).encode())
        if deflate:
            rows.deflate_ahead()
    for j, letter in enumerate(letters, start=1):
        set_width(ws, j, widths[j - 1])
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, before[j - 1] or 0)
    table = _add_table(ws, name, start_row, 1, len(columns), start_row + max(len(frame), 1))
    if len(frame):
        setattr(ws, _BULK, rows)
    if freeze:
        ws.freeze_panes = f"A{start_row + 1}"
    return table


def _bulk_column(ws: Worksheet, letter: str, values: pd.Series, fmt: str | None,
                 rows: Sequence[str]) -> tuple[list[str], int]:
    """One column's cells as XML and the width its widest value needs.

    A blank keeps the column's number format (as in write_formatted_frame), or is left out.
    """
    fmt = fmt if fmt and fmt != "General" else None
    plain = _style_attribute(ws, fmt)
    blank = f"{plain}/>" if plain else ""
    prefix = f'<c r="{letter}'
    missing = values.isna().to_numpy()
    if values.dtype == np.float64:  # most plan figures: no per-value dispatch, no cache (all distinct)
        array = values.to_numpy()
        floats = array.tolist()
        bodies = [None if m else f"{plain}><v>{v!r}</v></c>" if v - v == 0 else None for v, m in zip(floats, missing)]
        width = _float_width(array)
        if np.isinf(array).any():  # written as text
            render = _renderer(ws, fmt, plain)
            for i, (b, m) in enumerate(zip(bodies, missing)):
                if b is None and not m:
                    bodies[i], w = render(floats[i])
                    width = max(width, w)
        return [f'{prefix}{r}"{b or blank}' if b or blank else "" for r, b in zip(rows, bodies)], width
    render = _renderer(ws, fmt, plain)
    if values.dtype.kind in "iub" or pd.api.types.infer_dtype(values, skipna=True) == "string":
        # integers, booleans or text alone (which no value of another type equals): each distinct value
        # rendered once, then looked up by its code (-1, missing, takes the last: a blank)
        codes, distinct = pd.factorize(values)
        done = [render(v) for v in distinct.tolist()]
        ends = [body or blank for body, _ in done] + [blank]
        return ([f'{prefix}{r}"{e}' if e else "" for r, e in zip(rows, map(ends.__getitem__, codes.tolist()))],
                max((w for _, w in done), default=0))
    cache: dict[tuple[type, object], tuple[str, int]] = {}
    cells, width = [], 0
    for r, v, m in zip(rows, values.tolist(), missing):
        if m:
            cells.append(f'{prefix}{r}"{blank}' if blank else "")
            continue
        key = (v.__class__, v)
        try:
            body, w = cache[key] if v.__class__ is not float else render(v)  # 0.0 == -0.0: floats uncached
        except KeyError:
            body, w = cache[key] = render(v)
        except TypeError:  # unhashable
            body, w = render(v)
        width = max(width, w)
        cells.append(f'{prefix}{r}"{body or blank}' if body or blank else "")
    return cells, width


def _float_width(values: np.ndarray) -> int:
    """The widest :func:`_display_width` of the finite ``values``, formatting one value of each
    kind: the same sign, decimal exponent and number of significant digits show as wide."""
    shown = values[np.isfinite(values)]
    if not shown.size:
        return 0
    size = np.abs(shown)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exponent = np.floor(np.log10(np.where(size > 0, size, 1.0)))
        digits = np.rint(size / 10.0 ** (exponent - 5))  # the 6 significant digits that show
        carry = digits >= 1e6  # 999999.5 shows as 1e+06
        exponent, digits = exponent + carry, np.where(carry, np.rint(digits / 10), digits)
    digits = np.where(np.isfinite(digits), digits, 0).astype(np.int64)  # (subnormals: only grouped roughly)
    zeros = sum(digits % 10**k == 0 for k in range(1, 6))
    kinds = np.signbit(shown) + 2 * zeros + 16 * (exponent.astype(np.int64) + 400)  # exponents -324..308
    _, first = np.unique(kinds, return_index=True)
    return max(_display_width(v) for v in shown[first].tolist())


def _renderer(ws: Worksheet, fmt: str | None, plain: str):
    """A function giving a value's cell XML after its reference, and its display width."""
    quoted = _style_attribute(ws, fmt, quote_prefix=True)

    def render(v: object) -> tuple[str, int]:
        if isinstance(v, np.generic) and not isinstance(v, np.datetime64):
            v = v.item()
        if isinstance(v, str):
            text = v[:_CELL_LIMIT]
            escaped = _xml_text(text)
            if not escaped:
                return "", 0
            space = ' xml:space="preserve"' if escaped != escaped.strip() else ""
            escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            style = quoted if looks_like_formula(text) else plain
            return f'{style} t="inlineStr"><is><t{space}>{escaped}</t></is></c>', _display_width(v)
        if isinstance(v, bool):
            return f'{plain} t="b"><v>{int(v)}</v></c>', _display_width(v)
        if isinstance(v, int):
            return f"{plain}><v>{v}</v></c>", _display_width(v)
        if isinstance(v, float):
            if math.isinf(v):
                return render("inf" if v > 0 else "-inf")
            return (f"{plain}><v>{v!r}</v></c>", _display_width(v)) if v == v else ("", 0)
        cell = Cell(ws, row=1, column=1)  # anything else as openpyxl writes it (a detached cell)
        set_value(cell, v)
        if cell.value is None:
            return "", 0
        if cell.data_type == "s":  # an infinite decimal, say: set_value wrote it as text
            return render(cell.value)
        if fmt:
            cell.number_format = fmt
        value, attributes = _set_attributes(cell, cell.has_style)
        attributes.pop("r")
        attrs = "".join(f' {k}="{a}"' for k, a in attributes.items())
        return f"{attrs}><v>{safe_string(value)}</v></c>", _display_width(v)

    return render


def _style_attribute(ws: Worksheet, fmt: str | None, *, quote_prefix: bool = False) -> str:
    """The ``s`` attribute of cells with this number format (and quote prefix), registered in the workbook."""
    cell = Cell(ws, row=1, column=1)  # detached: only its style is used
    if fmt:
        cell.number_format = fmt
    cell.quotePrefix = quote_prefix
    return f' s="{cell.style_id}"' if cell.has_style else ""


def _split(part: bytes, rows: _BulkRows) -> tuple[bytes, bytes]:
    """A bulk sheet's part as openpyxl wrote it (the header row only), cut where its data rows go:
    the part is ``head + rows.xml + tail``."""
    head, end, tail = part.partition(b"</sheetData>")
    if not end:
        raise ValueError("a bulk table's sheet has no sheetData")
    head = _DIMENSION.sub(f'<dimension ref="{rows.dimension}"'.encode(), head, count=1)
    return head, end + tail


# --------------------------------------------------------------------------- comments, dropdowns


def add_comment(cell: Cell, text: str, *, width_chars: int = 48) -> None:
    """Attach a note to a cell, sized to show its text without scrolling."""
    lines = sum(max(1, math.ceil(len(line) / width_chars)) for line in text.splitlines() or [""])
    comment = Comment(ILLEGAL_CHARACTERS_RE.sub("\ufffd", text), AUTHOR)
    comment.width = width_chars * 7 + 16
    comment.height = lines * 15 + 12
    cell.comment = comment


def column_range(ws_title: str, col: int, first_row: int = 2, last_row: int = INPUT_ROWS) -> str:
    """Absolute reference to one column's cells on a sheet, e.g. ``Materials!$A$2:$A$2000``."""
    letter = get_column_letter(col)
    return f"{quote_sheetname(ws_title)}!${letter}${first_row}:${letter}${last_row}"


def add_dropdown(
    ws: Worksheet,
    cells: str,
    source: str | Sequence[str],
    *,
    strict: bool = True,
    message: str = "",
) -> DataValidation:
    """Offer a dropdown on ``cells`` (e.g. ``"B2:B2000"``).

    ``source`` is either a fixed list of choices or a range such as the one
    :func:`column_range` returns. With ``strict`` Excel refuses other values; otherwise
    it warns and lets the user keep them. Blank cells are always allowed.
    """
    if isinstance(source, str):
        formula = source
    else:
        if any("," in s or '"' in s for s in source):
            raise ValueError(f"dropdown choices cannot contain commas or quotes: {list(source)}")
        formula = '"' + ",".join(source) + '"'
        if len(formula) - 2 > _LIST_LIMIT:
            raise ValueError(f"dropdown list longer than Excel's {_LIST_LIMIT} characters: {formula}")
    validation = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="stop" if strict else "warning",
        errorTitle="Not in the list",
        error=(message or "Choose a value from the dropdown list.")[:_MESSAGE_LIMIT],
    )
    validation.add(cells)
    ws.add_data_validation(validation)
    return validation


# --------------------------------------------------------------------------- workbook, saving


def new_workbook(first_sheet: str) -> tuple[Workbook, Worksheet]:
    """An empty workbook with reproducible document properties and one named sheet."""
    wb = Workbook()
    wb.properties.creator = AUTHOR
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    ws = wb.active
    ws.title = first_sheet
    return wb, ws


# zlib level 3, not the default 6: on the L plan (17 MB of XML) 0.11 s rather than 0.22 s, for a
# file 13% larger (2.1 rather than 1.9 MB); level 1 saves no more time and adds twice the size.
ZIP_LEVEL = 3


def deflate_ahead(wb: Workbook) -> None:
    """Start deflating the rows of ``wb``'s bulk tables (those not started yet) on another thread.

    zlib lets go of the GIL while it compresses, so a plan's large tables (on L, 15 MB of XML and
    ~70 ms of zlib) are compressed while the rest of the workbook is made; :func:`workbook_bytes`
    then puts the pieces together (see :func:`_deflate`)."""
    for ws in wb.worksheets:
        if hasattr(ws, _BULK):
            getattr(ws, _BULK).deflate_ahead()


def _deflate(data: bytes, last: bool) -> bytes:
    """``data`` as raw deflate blocks (zlib level ZIP_LEVEL) that make a member's data when joined
    in order: each piece is compressed on its own (its matches never reach into the piece
    before) and ends on a byte boundary (a sync flush), but the last, which ends the stream."""
    z = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def workbook_bytes(wb: Workbook) -> bytes:
    """Serialise a workbook reproducibly.

    openpyxl's ``save`` stamps the modification time and the archive members with the
    clock; here the document properties are left as the caller set them and every
    member gets a fixed date, so the same workbook always gives the same bytes.
    """
    for ws in wb.worksheets:
        if hasattr(ws, _BULK) and ws.max_row > getattr(ws, _BULK).header_row:
            raise ValueError(f"sheet {ws.title!r}: cells were written below its bulk table")
    raw = io.BytesIO()  # openpyxl's archive, uncompressed: it is read once more right away
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED, allowZip64=True)).save()
    bulk = {ws.path.lstrip("/"): getattr(ws, _BULK) for ws in wb.worksheets if hasattr(ws, _BULK)}
    out = _Archive()
    with zipfile.ZipFile(raw) as src:
        for info in src.infolist():
            data, rows = src.read(info), bulk.get(info.filename)
            if rows is None:
                out.add(info.filename, [_deflate(data, True)], zlib.crc32(data), len(data))
                continue
            head, tail = _split(data, rows)
            crc = zlib.crc32(head)
            for chunk in rows.chunks:
                crc = zlib.crc32(chunk, crc)
            out.add(info.filename, [_deflate(head, False), *rows.deflated_chunks(), _deflate(tail, True)],
                    zlib.crc32(tail, crc), len(head) + sum(map(len, rows.chunks)) + len(tail))
    return out.getvalue()


class _Archive:
    """A zip archive of deflated members, in memory, as zipfile writes one (fixed dates, mode
    0600, no data descriptors, no zip64), but from member data deflated beforehand in pieces:
    zipfile compresses what it is given, all at once, on the calling thread."""

    _LOCAL, _CENTRAL, _END = "<4s2B4HL2L2H", "<4s4B4HL2L5H2L", "<4s4H2LH"
    _TIME = _ZIP_EPOCH[3] << 11 | _ZIP_EPOCH[4] << 5 | _ZIP_EPOCH[5] // 2
    _DATE = (_ZIP_EPOCH[0] - 1980) << 9 | _ZIP_EPOCH[1] << 5 | _ZIP_EPOCH[2]
    _LIMIT = 0xFFFFFFFF  # beyond it a size or offset needs zip64

    def __init__(self):
        self._out = io.BytesIO()
        self._members: list[tuple[bytes, int, int, int, int]] = []  # name, CRC, sizes, offset

    def add(self, name: str, pieces: Sequence[bytes], crc: int, size: int) -> None:
        encoded, offset, packed = name.encode("ascii"), self._out.tell(), sum(map(len, pieces))
        if max(size, packed, offset + packed) >= self._LIMIT or len(self._members) >= 0xFFFF:
            raise ValueError(f"the workbook is too large to save ({name}: {size:,} bytes)")
        self._out.write(struct.pack(self._LOCAL, b"PK\x03\x04", 20, 0, 0, zipfile.ZIP_DEFLATED, self._TIME,
                                    self._DATE, crc, packed, size, len(encoded), 0))
        self._out.write(encoded)
        self._out.writelines(pieces)
        self._members.append((encoded, crc, packed, size, offset))

    def getvalue(self) -> bytes:
        start = self._out.tell()
        for encoded, crc, packed, size, offset in self._members:
            self._out.write(struct.pack(self._CENTRAL, b"PK\x01\x02", 20, 3, 20, 0, 0, zipfile.ZIP_DEFLATED,
                                        self._TIME, self._DATE, crc, packed, size, len(encoded), 0, 0, 0, 0,
                                        0o600 << 16, offset))
            self._out.write(encoded)
        end = self._out.tell()
        if end >= self._LIMIT:
            raise ValueError(f"the workbook is too large to save ({end:,} bytes)")
        n = len(self._members)
        self._out.write(struct.pack(self._END, b"PK\x05\x06", 0, 0, n, n, end - start, start, 0))
        return self._out.getvalue()


def content_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a workbook's members (names and uncompressed bytes).

    Two files with the same digest hold the same workbook even if another zlib build
    compressed them differently; use it to compare a committed workbook with a fresh one.
    """
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            digest.update(info.filename.encode() + b"\0" + archive.read(info) + b"\0")
    return digest.hexdigest()


def save_atomic(wb: Workbook, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``wb`` to ``path`` whole or not at all (see :func:`write_atomic`).

    With ``overwrite=False`` an existing file raises :class:`FileExistsError`.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists (use --force to overwrite it)")
    try:
        data = workbook_bytes(wb)  # openpyxl spools worksheets through temporary files: a full disk shows here too
    except OSError as e:
        raise _unwritten(path, e, " (while preparing the workbook)") from None
    return write_atomic(path, data)
