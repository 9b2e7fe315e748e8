"""Reading a workbook into raw tables, one per schema sheet.

calamine (pandas' fastest Excel engine, used here directly) reads every sheet at once,
about 6x faster than openpyxl on large sheets. A sheet may be an Excel Table or a plain range: its header row is the first row
holding any of the sheet's column keys, matched case-insensitively and ignoring
surrounding spaces. Cells are kept as written (typing and checking is ``validate``'s job),
each row with the Excel row number it came from. Extra columns are kept; fully blank rows
are dropped.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import python_calamine

from . import schema
from .errors import Problem, UnreadableFile
from .safety import Inspection, inspect_xlsx

ROW = "_row"  # column holding the Excel row number of each data row
EMBEDDED = "input."  # a plan workbook carries its inputs as sheets input.Settings, input.Offers, ...


@dataclass
class RawTable:
    """One sheet as read: canonical keys for known columns, original headers for extras."""

    sheet: str  # schema sheet name
    title: str  # the sheet's name in the file
    cells: pd.DataFrame  # columns: known keys present + extras + ROW
    header_row: int
    columns: dict[str, str] = field(default_factory=dict)  # key -> column letter


@dataclass
class RawBook:
    tables: dict[str, RawTable]
    problems: list[Problem]
    other_sheets: list[str]
    template_version: str | None = None
    inspection: Inspection | None = None


def read_workbook(path: str | Path) -> RawBook:
    """Read ``path`` (checked for safety first); raise UnreadableFile if it is not a workbook."""
    path = Path(path)
    inspection = inspect_xlsx(path)
    try:
        # calamine (the engine pandas uses) straight to Python values: pandas' per-cell wrapper
        # costs more than the parse itself on large sheets
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        sheets = {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}
    except Exception as e:  # calamine's errors are varied; the user needs one sentence
        raise UnreadableFile(path, f"cannot be read as a workbook ({type(e).__name__}: {e}).") from None
    book = read_grids({title: _blanks_to_none(pd.DataFrame(rows, dtype=object)) for title, rows in sheets.items()})
    book.inspection = inspection
    by_title = {t.title: t for t in book.tables.values()}
    for title, cells in inspection.formulas_without_value.items():
        table = by_title.get(title)
        if table is None:
            continue  # sheets outside the schema are never read
        used = {c.key for c in schema.sheet(table.sheet).columns} - {"notes"}
        for row, letter in cells:
            column = next((k for k, l in table.columns.items() if l == letter), None)
            book.problems.append(Problem(table.sheet, row, column, None,
                                         f"cell {letter}{row} holds a formula with no saved result; open the workbook in Excel or LibreOffice, let it calculate, and save it",
                                         "error" if column in used else "warning"))
    return book


def read_grids(grids: dict[str, pd.DataFrame]) -> RawBook:
    """Turn sheet grids (cells from A1, blanks as None, positional rows and columns) into raw tables."""
    problems: list[Problem] = []
    tables: dict[str, RawTable] = {}
    other = []
    version = None
    titles = {}
    embedded = any(t.strip().lower().startswith(EMBEDDED) for t in grids)
    for title in grids:
        name = _schema_name(title, embedded)
        if name is None:
            other.append(title)
            if title.strip().lower() in (schema.GUIDE_SHEET.lower(), EMBEDDED + schema.GUIDE_SHEET.lower()):
                version = _find_version(grids[title])
            continue
        if name in titles:
            problems.append(Problem(title, None, None, None, f"a second sheet named like {name!r} ({titles[name]!r} came first); rename or delete one"))
            continue
        titles[name] = title
        table = _table(name, title, grids[title], problems)
        if table is not None:
            tables[name] = table
    for s in schema.SHEETS:
        if s.name not in titles and not s.optional:
            problems.append(Problem(s.name, None, None, None, f"the workbook has no sheet {s.name!r}; it is required (see the template)"))
    return RawBook(tables, problems, other, version)


def rows_to_book(rows: dict[str, list[dict]]) -> RawBook:
    """Build raw tables from rows in memory, as if each sheet had its header on row 1."""
    grids = {}
    for name, recs in rows.items():
        keys: list[str] = []
        for r in recs:
            keys.extend(k for k in r if k not in keys)
        grid = [keys] + [[r.get(k) for k in keys] for r in recs] if keys else [[c.key for c in schema.sheet(name).columns]]
        grids[name] = _blanks_to_none(pd.DataFrame(grid, dtype=object))
    return read_grids(grids)


def _table(name: str, title: str, grid: pd.DataFrame, problems: list[Problem]) -> RawTable | None:
    spec = schema.sheet(name)
    wanted = {c.key: c for c in spec.columns}
    header_at = None
    for i, row in enumerate(grid.itertuples(index=False, name=None)):
        if any(isinstance(v, str) and v.strip().lower() in wanted for v in row):
            header_at = i
            break
    if header_at is None:
        problems.append(Problem(name, None, None, None, f"no header row found; the first row of the table must hold the column keys ({', '.join(c.key for c in spec.columns if c.required)} at least)"))
        return None
    header = list(grid.iloc[header_at])
    keys: list[str] = []
    positions: list[int] = []
    letters: dict[str, str] = {}
    seen: dict[str, int] = {}
    for j, v in enumerate(header):
        if v is None:
            continue
        text = str(v).strip()
        key = text.lower() if text.lower() in wanted else text
        if key in seen:
            problems.append(Problem(name, header_at + 1, key, None, f"the column {key!r} appears twice (columns {_letter(seen[key])} and {_letter(j)}); keep one"))
            continue
        seen[key] = j
        keys.append(key)
        positions.append(j)
        letters[key] = _letter(j)
    for c in spec.columns:
        if c.required and c.key not in letters:
            problems.append(Problem(name, header_at + 1, c.key, None, f"required column {c.key!r} is missing from the header row"))
    _unused_columns(name, grid, header_at, header, [k for k in keys if k not in wanted], problems)
    body = grid.iloc[header_at + 1:, positions]
    body.columns = keys
    body = body[body.notna().any(axis=1)]
    cells = pd.DataFrame({k: body[k].to_numpy(dtype=object) for k in keys}, dtype=object)
    cells[ROW] = body.index.to_numpy() + 1
    return RawTable(name, title, cells, header_at + 1, letters)


def _unused_columns(name: str, grid: pd.DataFrame, header_at: int, header: list, extras: list[str],
                    problems: list[Problem]) -> None:
    """Warn about data the model will not see: values under no header, and extra columns
    whose header looks like a misspelt key (``capcity``), which would otherwise take their
    default silently. Both are kept in the plan's copy of the inputs, or, for headerless
    values, named here."""
    spec = schema.sheet(name)
    for key in extras:
        near = difflib.get_close_matches(key.strip().lower().replace(" ", "_"), list(spec.keyset), n=1, cutoff=0.8)
        if near:
            problems.append(Problem(name, header_at + 1, key, None,
                                    f"column {key!r} is not a column of {name}; did you mean {near[0]!r}? "
                                    "It is kept but not used", "warning"))
    unnamed = [j for j, v in enumerate(header) if v is None]
    if unnamed:
        filled = grid.iloc[header_at + 1:, unnamed].notna().any(axis=0).to_numpy()
        for j in np.asarray(unnamed)[filled]:
            problems.append(Problem(name, header_at + 1, None, None,
                                    f"column {_letter(int(j))} holds values but has no header, so they are ignored; "
                                    "give it a header (e.g. notes) to keep them", "warning"))


def _schema_name(title: str, embedded: bool = False) -> str | None:
    """The schema sheet a sheet title stands for; in a plan, only its embedded input sheets."""
    t = title.strip().lower()
    if embedded:
        if not t.startswith(EMBEDDED):
            return None
        t = t[len(EMBEDDED):]
    for s in schema.SHEETS:
        if s.name.lower() == t:
            return s.name
    return None


def _find_version(grid: pd.DataFrame) -> str | None:
    for row in grid.head(200).itertuples(index=False, name=None):
        for j, v in enumerate(row[:-1]):
            if isinstance(v, str) and v.strip().lower() == "template_version" and row[j + 1] is not None:
                return str(row[j + 1]).strip()
    return None


def _blanks_to_none(df: pd.DataFrame) -> pd.DataFrame:
    """Calamine gives NaN for empty cells and '' for empty strings; both become None."""
    cells = df.to_numpy(dtype=object).flatten()  # a copy, row by row
    kind = np.fromiter(map(type, cells), dtype=object, count=cells.size)
    blank = pd.isna(cells)
    text = np.flatnonzero(kind == str)
    blank[text] = [not v.strip() for v in cells[text]]
    cells[blank] = None
    # a number beyond the double range (1.8e308 written out) reads as infinite: no
    # workbook can hold that number, so it is kept as the text it shows, "inf"
    number = np.flatnonzero(kind == float)
    inf = number[np.isinf(cells[number].astype(float))]
    cells[inf] = ["inf" if v > 0 else "-inf" for v in cells[inf]]
    return pd.DataFrame(cells.reshape(df.shape), dtype=object)


def _letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s
