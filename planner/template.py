"""The input workbook: the empty template and, given rows, the example.

Everything here is derived from ``planner.schema``: one sheet and one named Excel Table
per schema sheet (table name = sheet name, headers = column keys), a header comment per
column, dropdowns for references and enumerations, id columns formatted as text, and a
``Guide`` sheet rendered from ``planner.reference``. The output is reproducible byte for
byte, so the committed ``inputs/template.xlsx`` can be checked against the command.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner import excel
from planner.reference import (
    VERSION_LABEL,
    Block,
    Bullets,
    Field,
    Heading,
    Paragraph,
    Table,
    column_note,
    guide_blocks,
    setting_note,
)
from planner.schema import GUIDE_SHEET, SETTINGS, SHEET_BY_NAME, SHEETS, TEMPLATE_VERSION, Column, Sheet

TITLE = "Critical-minerals sourcing planner input"

# The Guide is laid out on a grid of columns sized for the column tables (column, type,
# unit, default, required, allowed values, description over the last four) and wide
# enough for the ten columns of the policy examples.
GUIDE_WIDTHS = (22, 17, 22, 13, 11, 28, 12, 13, 12, 40)
_LINE_HEIGHT = 15.0
_CHARS_PER_WIDTH = 1.2  # prose characters per unit of column width (Calibri 11)
_TITLE_FONT = excel.font(bold=True, size=16, color="1F4E78")
_SECTION_FONT = excel.font(bold=True, size=13, color="1F4E78")
_SECTION_FILL = PatternFill("solid", fgColor="DDEBF7")
_SUBSECTION_FONT = excel.font(bold=True, size=12, color="1F4E78")
_SUBSECTION_BORDER = Border(bottom=Side(style="thin", color="1F4E78"))
_CELL_BORDER = Border(bottom=Side(style="hair", color="BFBFBF"))


def write_input_workbook(
    path: str | os.PathLike,
    rows: Mapping[str, Sequence[Mapping[str, object]]] | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write the input workbook to ``path``: empty (the template) or filled with ``rows``.

    ``rows`` maps a sheet name to its rows, each a mapping of column key to value; keys
    that are not schema columns become extra columns after the schema's. Without
    Settings rows, the Settings sheet lists every setting with a blank value and a note.
    Refuses to overwrite an existing file unless ``force`` (:class:`FileExistsError`).
    """
    return excel.save_atomic(build_input_workbook(rows), path, overwrite=force)


def build_input_workbook(rows: Mapping[str, Sequence[Mapping[str, object]]] | None = None) -> Workbook:
    rows = dict(rows or {})
    unknown = sorted(set(rows) - set(SHEET_BY_NAME))
    if unknown:
        raise ValueError(f"no such input sheet: {', '.join(unknown)}")
    rows.setdefault("Settings", [
        {"setting": s.key, "value": None, "notes": setting_note(s)} for s in SETTINGS
    ])

    wb, guide = excel.new_workbook(GUIDE_SHEET)
    wb.properties.title = TITLE
    wb.custom_doc_props.append(StringProperty(name=VERSION_LABEL, value=TEMPLATE_VERSION))
    write_guide(guide, guide_blocks())

    sheets = {sheet.name: wb.create_sheet(sheet.name) for sheet in SHEETS}
    last_rows = {name: max(excel.INPUT_ROWS, len(rows.get(name, ())) + 1) for name in sheets}
    for sheet in SHEETS:
        write_input_sheet(sheets[sheet.name], sheet, rows.get(sheet.name, ()), last_rows)
    return wb


def write_input_sheet(
    ws: Worksheet,
    sheet: Sheet,
    rows: Sequence[Mapping[str, object]],
    last_rows: Mapping[str, int],
) -> None:
    """One input sheet: its table, header comments, dropdowns and text formats.

    ``last_rows`` gives, per sheet, the last row that dropdowns and formats cover.
    """
    keys = list(sheet.keyset)
    keys += [k for k in dict.fromkeys(k for r in rows for k in r) if k not in keys]
    ids = {c.key for c in sheet.columns if c.type == "id"}
    values = [[_cell_value(r.get(k), k in ids) for k in keys] for r in rows]
    widths = {c.key: _typing_width(c) for c in sheet.columns}
    excel.write_table(ws, sheet.name, keys, values, text_columns=ids, min_widths=widths)

    last_row = last_rows[sheet.name]
    for col, column in enumerate(sheet.columns, start=1):
        excel.add_comment(ws.cell(row=1, column=col), column_note(column))
        cells = f"{get_column_letter(col)}2:{get_column_letter(col)}{last_row}"
        if column.refers_to:
            target_name, target_key = column.refers_to.split(".")
            target = SHEET_BY_NAME[target_name]
            source = excel.column_range(target_name, target.keyset.index(target_key) + 1,
                                        last_row=last_rows[target_name])
            excel.add_dropdown(ws, cells, source, strict=False,
                               message=f"Not a {target_key} listed on the {target_name} sheet (yet).")
        elif column.choices or column.type == "yesno":
            choices = column.choices or ("yes", "no")
            excel.add_dropdown(ws, cells, choices, message=f"{column.key} must be one of: {', '.join(choices)}.")
    for col in range(len(sheet.columns) + 1, len(keys) + 1):
        excel.add_comment(ws.cell(row=1, column=col), f"{keys[col - 1]}\nExtra column: kept, not used by the model.")
    excel.print_setup(ws)


# Room to type, by column type, before any value is there to size the column.
_TYPING_WIDTHS = {"text": 30, "any": 16, "id": 12, "number": 11, "share": 11}


def _typing_width(column: Column) -> float:
    """Wide enough for the column's example, its longest choice and its dropdown arrow."""
    longest = max([len(column.example)] + [len(c) for c in column.choices])
    return max(_TYPING_WIDTHS.get(column.type, 0), longest + 4)


def _cell_value(value: object, is_id: bool) -> object:
    """Identifiers are text even when they look like numbers (2027 -> '2027')."""
    if is_id and value is not None and not isinstance(value, str):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)
    return value


# --------------------------------------------------------------------------- Guide


def write_guide(ws: Worksheet, blocks: Sequence[Block]) -> None:
    """Render the Guide: headings and paragraphs across the page, tables on the grid."""
    for col, width in enumerate(GUIDE_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.sheet_view.showGridLines = False
    row = 1
    for block in blocks:
        if isinstance(block, Heading):
            if block.level > 1:
                row += 1  # breathing space above a section
            row = _guide_heading(ws, row, block)
        elif isinstance(block, Paragraph):
            row = _guide_text(ws, row, block.text)
        elif isinstance(block, Bullets):
            for i, item in enumerate(block.items, start=1):
                row = _guide_text(ws, row, f"{i}. {item}" if block.numbered else f"• {item}")
        elif isinstance(block, Field):
            row = _guide_field(ws, row, block)
        else:
            row = _guide_table(ws, row, block)
    excel.print_setup(ws, repeat_header=False)


def _guide_field(ws: Worksheet, row: int, field: Field) -> int:
    """A label and its value beside it (the version stamp is one)."""
    excel.set_value(ws.cell(row=row, column=1), field.label)
    excel.set_value(ws.cell(row=row, column=2), field.value)
    ws.cell(row=row, column=1).font = excel.BOLD
    ws.cell(row=row, column=2).alignment = Alignment(horizontal="left")
    return row + 1


def _merge(ws: Worksheet, row: int, first: int, last: int) -> None:
    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _lines(text: str, width: float) -> int:
    chars = max(int(width * _CHARS_PER_WIDTH), 1)
    return sum(max(1, len(textwrap.wrap(part, chars))) for part in str(text).split("\n"))


def _guide_heading(ws: Worksheet, row: int, heading: Heading) -> int:
    cell = ws.cell(row=row, column=1)
    excel.set_value(cell, heading.text)
    last = len(GUIDE_WIDTHS)
    _merge(ws, row, 1, last)
    if heading.level == 1:
        cell.font = _TITLE_FONT
        ws.row_dimensions[row].height = 26
    elif heading.level == 2:
        cell.font = _SECTION_FONT
        for col in range(1, last + 1):
            ws.cell(row=row, column=col).fill = _SECTION_FILL
        ws.row_dimensions[row].height = 20
    else:
        cell.font = _SUBSECTION_FONT
        for col in range(1, last + 1):
            ws.cell(row=row, column=col).border = _SUBSECTION_BORDER
        ws.row_dimensions[row].height = 18
    cell.alignment = Alignment(vertical="center")
    return row + 1


def _guide_text(ws: Worksheet, row: int, text: str) -> int:
    cell = ws.cell(row=row, column=1)
    excel.set_value(cell, text)
    cell.alignment = excel.WRAP
    _merge(ws, row, 1, len(GUIDE_WIDTHS))
    ws.row_dimensions[row].height = _LINE_HEIGHT * _lines(text, sum(GUIDE_WIDTHS)) + 3
    return row + 1


def _spans(table: Table) -> list[tuple[int, int]]:
    """Grid columns (first, last; 1-based) of each table column: one each, in order, and
    the last column takes the rest of the grid (descriptions and meanings come last)."""
    grid, n = len(GUIDE_WIDTHS), len(table.header)
    if n > grid:
        raise ValueError(f"the Guide grid has {grid} columns; a table has {n}")
    return [(i, i) for i in range(1, n)] + [(n, grid)]


def _guide_table(ws: Worksheet, row: int, table: Table) -> int:
    spans = _spans(table)
    for i, (first, last) in enumerate(spans):
        excel.set_value(ws.cell(row=row, column=first), table.header[i])
        _merge(ws, row, first, last)
    excel.style_header(ws, row, 1, len(GUIDE_WIDTHS))
    row += 1
    for values in table.rows:
        lines = 1
        for i, (first, last) in enumerate(spans):
            cell = ws.cell(row=row, column=first)
            excel.set_value(cell, values[i])
            cell.alignment = excel.WRAP
            if i == 0:
                cell.font = excel.BOLD
            _merge(ws, row, first, last)
            lines = max(lines, _lines(values[i], sum(GUIDE_WIDTHS[first - 1:last])))
        for col in range(1, len(GUIDE_WIDTHS) + 1):
            ws.cell(row=row, column=col).border = _CELL_BORDER
        ws.row_dimensions[row].height = _LINE_HEIGHT * lines + 3
        row += 1
    return row
