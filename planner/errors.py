"""Problems with the input, as data.

Validation collects every problem as a :class:`Problem` (sheet, Excel row, column, value,
what was expected) and reports them all at once. Only the CLI turns them into text and
exit codes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    sheet: str | None
    row: int | None
    column: str | None
    value: object
    message: str
    severity: str = "error"  # or "warning"

    def __post_init__(self):
        if self.row is not None:
            object.__setattr__(self, "row", int(self.row))

    def __str__(self) -> str:
        where = []
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        place = ", ".join(where)
        shown = "" if _blank(self.value) else f" (value {_show(self.value)})"
        head = f"{place}{shown}: " if place or shown else ""
        return f"{head}{self.message}"

    def as_json(self) -> dict:
        d = asdict(self)
        d["value"] = None if _blank(self.value) else (self.value if isinstance(self.value, (int, float, bool)) else str(self.value))
        return d


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v == ""


def _show(v) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


class InputError(Exception):
    """The workbook cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        super().__init__("; ".join(str(p) for p in self.problems[:3]))


class UnreadableFile(InputError):
    """The file is not a workbook we can open (one clear sentence)."""

    def __init__(self, path, sentence: str):
        self.path = path
        super().__init__([Problem(None, None, None, None, f"the file {sentence}")])


class OutputError(OSError):
    """An output file cannot be written; one sentence naming the path and why. Nothing was written."""

    def __init__(self, path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")
