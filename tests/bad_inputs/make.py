"""The bad-input corpus: one small file per way a workbook arrives broken or hostile.

Each :class:`Case` names a file in this folder, how it is made, the command run on it, the
exit code and words the planner must answer with; ``tests/test_bad_inputs.py`` checks every
case, and the README's table "What each bad input gets" is generated from the same list
(a test fails if it drifts). Regenerate the files and the table with:

    .venv/bin/python -m tests.bad_inputs.make            # from the repository root
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import openpyxl

from planner import excel

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
MARKERS = ("<!-- bad-inputs:start -->", "<!-- bad-inputs:end -->")

SMALL = {
    "Materials": [{"material": "NdPr"}, {"material": "Dy"}],
    "Countries": [{"country": "US", "bloc": "domestic"}, {"country": "CN", "bloc": "FEOC", "tariff": 0.25}],
    "Sources": [{"source": "MP", "country": "US", "capacity": 100}, {"source": "CN1", "country": "CN"}],
    "Offers": [{"source": "MP", "material": "NdPr", "unit_cost": 60, "capacity": 80},
               {"source": "CN1", "material": "NdPr", "unit_cost": 40},
               {"source": "CN1", "material": "Dy", "unit_cost": 300}],
    "Demand": [{"material": "NdPr", "period": 2026, "quantity": 100}, {"material": "Dy", "period": 2026, "quantity": 10}],
}


@dataclass(frozen=True)
class Case:
    file: str
    wrong: str  # what is wrong with it, for the README
    make: Callable[[Path], None]
    code: int  # exit code of `command`
    says: str  # words the output must hold (shown in the README)
    command: str = "validate"


def rows(**edits) -> dict:
    """The small valid workbook with edits: {sheet: callable(rows_of_sheet)}."""
    out = copy.deepcopy(SMALL)
    for sheet, edit in edits.items():
        out.setdefault(sheet, [])
        edit(out[sheet])
    return out


def book(data: dict, *, formulas: dict | None = None) -> Callable[[Path], None]:
    """A plain workbook (no Excel tables), written reproducibly; ``formulas`` puts raw formulas in cells."""
    def make(path: Path) -> None:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name, recs in data.items():
            ws = wb.create_sheet(name)
            keys = list(dict.fromkeys(k for r in recs for k in r))
            ws.append(keys)
            for r in recs:
                ws.append([None] * len(keys))
                for j, k in enumerate(keys, start=1):
                    cell = ws.cell(row=ws.max_row, column=j)
                    excel.set_value(cell, r.get(k))
        for (sheet, ref), formula in (formulas or {}).items():
            wb[sheet][ref].value = formula  # openpyxl saves it without a result
        wb.properties.created = wb.properties.modified = excel.FIXED_TIMESTAMP
        path.write_bytes(excel.workbook_bytes(wb))
    return make


def raw(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def zipped(members: dict[str, bytes], *, base: dict | None = None) -> Callable[[Path], None]:
    """A zip archive: a valid workbook's members (``base``) with some replaced or added."""
    def make(path: Path) -> None:
        out = io.BytesIO()
        originals = {}
        if base is not None:
            tmp = io.BytesIO()
            book(base)(_Sink(tmp))
            with zipfile.ZipFile(io.BytesIO(tmp.getvalue())) as z:
                originals = {n: z.read(n) for n in z.namelist()}
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in {**originals, **members}.items():
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
        path.write_bytes(out.getvalue())
    return make


class _Sink:
    """A path-like that ``book`` writes into memory."""

    def __init__(self, buffer: io.BytesIO):
        self.buffer = buffer

    def write_bytes(self, data: bytes) -> None:
        self.buffer.write(data)


def truncated(path: Path) -> None:
    tmp = io.BytesIO()
    book(SMALL)(_Sink(tmp))
    path.write_bytes(tmp.getvalue()[: len(tmp.getvalue()) // 2])


ENTITY_BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
               b'<c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
OLE = bytes.fromhex("d0cf11e0a1b11ae1")


def _set(i, key, value):
    def edit(recs):
        recs[i][key] = value
    return edit


def _keep(test):
    def edit(recs):
        recs[:] = [r for r in recs if test(r)]
    return edit


def _drop_key(key):
    def edit(recs):
        for r in recs:
            r.pop(key, None)
    return edit


CASES = [
    Case("empty.xlsx", "0 bytes", raw(b""), 1, "is empty (0 bytes)"),
    Case("csv-renamed.xlsx", "a CSV file named .xlsx", raw(b"material,period,quantity\nNdPr,2026,100\n"), 1,
         "is a CSV or text file"),
    Case("old-format.xlsx", "an Excel 97-2003 (.xls) file", raw(OLE + b"\0" * 600), 1,
         "old Excel 97-2003 (.xls) file"),
    Case("password.xlsx", "password-protected (encrypted)", raw(OLE + b"\0" * 64 + "EncryptedPackage".encode("utf-16-le")), 1,
         "is password-protected"),
    Case("truncated.xlsx", "cut off half-way (an interrupted download)", truncated, 1, "is damaged"),
    Case("not-a-workbook.xlsx", "a zip archive of something else", zipped({"photo.txt": b"hello"}), 1,
         "not an Excel workbook"),
    Case("zip-bomb.xlsx", "a part that inflates 1000-fold (a zip bomb)",
         zipped({"xl/worksheets/sheet9.xml": b"\0" * (32 << 20)}, base=SMALL), 1, "possible zip bomb"),
    Case("entity-bomb.xlsx", "an XML entity declaration (billion laughs)",
         zipped({"xl/worksheets/sheet1.xml": ENTITY_BOMB}, base=SMALL), 1, "possible entity bomb"),
    Case("formula-without-result.xlsx", "a formula saved by a program that does not calculate",
         book(SMALL, formulas={("Offers", "C2"): "=50+10"}), 1, "formula with no saved result"),
    Case("missing-sheet.xlsx", "no Offers sheet", book({k: v for k, v in SMALL.items() if k != "Offers"}), 1,
         "has no sheet 'Offers'"),
    Case("duplicate-sheet.xlsx", "two sheets named Offers and 'offers '",
         book({**SMALL, "offers ": SMALL["Offers"]}), 1, "a second sheet named like 'Offers'"),
    Case("no-header.xlsx", "a sheet without its header row", book({**SMALL, "Demand": [{"x": "NdPr", "y": 2026}]}), 1,
         "no header row found"),
    Case("missing-column.xlsx", "the required unit_cost column missing", book(rows(Offers=_drop_key("unit_cost"))), 1,
         "required column 'unit_cost' is missing"),
    Case("blank-required.xlsx", "a blank required cell", book(rows(Demand=_set(0, "quantity", None))), 1,
         "a value is required here"),
    Case("text-in-number.xlsx", "text in a number column", book(rows(Offers=_set(0, "unit_cost", "cheap"))), 1,
         "expected a number"),
    Case("date-in-number.xlsx", "a date in a number column", book(rows(Demand=_set(0, "quantity", dt.date(2026, 1, 1)))),
         1, "not a date or time"),
    Case("nan-inf.xlsx", "'nan' and 'inf' typed as numbers",
         book(rows(Offers=lambda r: (r[0].update(unit_cost="nan"), r[1].update(capacity="inf")))), 1,
         "expected a finite number"),
    Case("negative.xlsx", "a negative capacity", book(rows(Offers=_set(0, "capacity", -5))), 1, "expected a number ≥ 0"),
    Case("huge-number.xlsx", "a unit cost of 1e300", book(rows(Offers=_set(0, "unit_cost", 1e300))), 1,
         "expected a number below 1e15"),
    Case("long-horizon.xlsx", "a demand in the year 100000 (a horizon of 98,000 periods)",
         book(rows(Demand=lambda r: r.append({"material": "Dy", "period": 100000, "quantity": 1}))), 1,
         "at most 1,000 are supported"),
    Case("duplicate-key.xlsx", "the same offer twice",
         book(rows(Offers=lambda r: r.append(dict(r[0])))), 1, "duplicate of row 2"),
    Case("unknown-reference.xlsx", "an offer from a source not on Sources", book(rows(Offers=_set(0, "source", "XX"))), 1,
         "not found in Sources"),
    Case("case-typo.xlsx", "a material written in the wrong case", book(rows(Demand=_set(0, "material", "ndpr"))), 1,
         "did you mean 'NdPr'"),
    Case("formula-text.xlsx", "user text that looks like a formula (=HYPERLINK(...), +cmd, @SUM)",
         book(rows(Materials=lambda r: r[0].update(name="=HYPERLINK(\"http://evil.example\")", notes="+cmd|' /C calc'!A0"),
                   Sources=_set(0, "name", "@SUM(1,2)"))), 0, "valid"),
    Case("unicode-long-ids.xlsx", "unicode and 300-character ids",
         book(rows(Materials=lambda r: r.append({"material": "稀土-" + "Ω" * 300, "name": "Ñd ✓"}))), 0,
         "valid, with 1 warning"),
    Case("misspelt-column.xlsx", "an optional column misspelt (capcity)", book(rows(Offers=lambda r: r[1].update(capcity=5))),
         0, "did you mean 'capacity'? It is kept but not used"),
    Case("infeasible.xlsx", "demand above everything on offer",
         book(rows(Offers=_keep(lambda o: o["source"] == "MP"))), 3,
         "infeasible", command="solve"),
]


def write_all(folder: Path = HERE) -> list[Path]:
    for case in CASES:
        case.make(folder / case.file)
    return [folder / c.file for c in CASES]


def readme_table() -> str:
    lines = [MARKERS[0], "| file (`tests/bad_inputs/`) | what is wrong | command | exit | the planner says |",
             "|---|---|---|---|---|"]
    for c in CASES:
        lines.append(f"| `{c.file}` | {c.wrong} | `{c.command}` | {c.code} | {c.says.replace('|', chr(92) + '|')} |")
    lines.append(MARKERS[1])
    return "\n".join(lines)


def refresh_readme(path: Path = README) -> bool:
    text = path.read_text()
    start, end = text.index(MARKERS[0]), text.index(MARKERS[1]) + len(MARKERS[1])
    new = text[:start] + readme_table() + text[end:]
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    written = write_all()
    changed = refresh_readme()
    print(f"wrote {len(written)} files to {HERE}; README {'updated' if changed else 'unchanged'}", file=sys.stderr)
