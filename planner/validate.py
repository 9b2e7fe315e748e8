"""Checking raw tables against the schema and building the typed plan data.

Every problem is collected (never the first one only) as a :class:`Problem` naming the
sheet, Excel row, column, value and what was expected. The pipeline:

1. type every cell by its schema column (defaults for blanks, bounds, choices);
2. skip rows switched off with ``include = no`` and rows that refer to a switched-off
   row (counted and reported as a warning);
3. duplicate keys and references between sheets;
4. sheet-specific rules (offer windows and minimum orders, policy grammar, scenario
   grammar, settings);
5. build :class:`models.data.PlanData`: resolved attributes, per-period values, tariff
   precedence (Tariffs cell > offer > country).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from models.data import STOCKPILE_COLUMNS, PlanData, Settings
from models.policies import HORIZON, joint_key, split_by

from . import schema
from .errors import InputError, Problem
from .reader import ROW, RawBook, RawTable, read_workbook, rows_to_book

_PERCENT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*%\s*$")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|–|\.\.)\s*(\d+)\s*$")
# Whole numbers (periods, lead times, threads) stay below this: any real one does, and the
# model does integer arithmetic on them (ranges of periods, int64 columns).
MAX_WHOLE = 10**9
# Numbers stay below this in size: the solver cannot compare a cost of 1e15 with one of 1
# (nor does any real quantity or price need it in a sensible unit).
MAX_NUMBER = 1e15
MAX_PERIODS = 1000  # longest horizon: a plan builds variables for every period of it
MAX_DISCOUNT_SPREAD = 1e12  # discount factors within the horizon never differ by more


@dataclass
class Checked:
    """The outcome of validation: typed tables (only rows in use), problems, and the plan data."""

    tables: dict[str, pd.DataFrame]
    settings: Settings
    problems: list[Problem]
    data: PlanData | None = None
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]


# --------------------------------------------------------------------------- entry points

def load(path: str | Path) -> Checked:
    """Read and check a workbook file. Raises UnreadableFile when it is not a workbook."""
    return check(read_workbook(path))


def plan_from_rows(rows: dict[str, list[dict]]) -> PlanData:
    """Plan data from in-memory rows keyed by sheet name; raise InputError on any problem."""
    checked = check(rows_to_book(rows))
    if checked.errors:
        raise InputError(checked.problems)
    return checked.data


def check(book: RawBook) -> Checked:
    problems = list(book.problems)
    settings = _settings(book.tables.get("Settings"), problems)
    typed: dict[str, pd.DataFrame] = {}
    skipped: dict[str, int] = {}
    for s in schema.SHEETS:
        if s.name == "Settings":
            continue
        raw = book.tables.get(s.name)
        typed[s.name] = _typed(s, raw, problems) if raw is not None else _empty(s)
    _switched_off(typed, skipped, problems)
    for s in schema.SHEETS:
        if s.name != "Settings" and s.keys:
            _duplicates(s, typed[s.name], problems)
    _references(typed, problems)
    periods = _horizon(typed["Demand"], problems, "Demand" in book.tables)
    if periods:
        _check_periods(typed, periods, settings, problems, _setting_rows(book.tables.get("Settings")))
        _check_offers(typed, periods, problems)
        _check_sources(typed, problems)
        _check_stockpiles(typed, problems)
        _check_policies(typed, periods, problems)
        _check_scenarios(typed, periods, problems)
    if book.inspection and book.inspection.formulas_without_value:
        problems = _formula_cells_first(problems, book.problems)
    checked = Checked(typed, settings, problems, skipped=skipped)
    if not checked.errors:
        checked.data = _build(typed, settings, periods, skipped)
        _warn_supply(checked.data, problems)
        if not typed["Scenarios"].empty:
            _check_scenario_edits(checked)
    return checked


def _formula_cells_first(problems: list[Problem], read: list[Problem]) -> list[Problem]:
    """A formula with no saved result reads as blank; say so once, not also 'required'."""
    cells = {(p.sheet, p.row, p.column) for p in read if "formula" in p.message}
    return [p for p in problems if p in read or (p.sheet, p.row, p.column) not in cells]


# --------------------------------------------------------------------------- cell typing

def convert(col: schema.Column, value) -> tuple[object, str | None]:
    """Type one non-blank cell for ``col``: (value, None) or (None, what was expected)."""
    t = col.type
    if t == "any":
        return value, None
    if t == "text" and isinstance(value, (bool, dt.date, dt.time, dt.timedelta)):
        # free text (a name, a note) may hold what a cell shows: a date typed into notes is fine
        if isinstance(value, bool):
            return ("TRUE" if value else "FALSE"), None
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            value = value.date()
        return (value.isoformat() if hasattr(value, "isoformat") else str(value)), None
    if t in ("id", "text"):
        if isinstance(value, bool) or isinstance(value, (dt.date, dt.time, dt.timedelta)):
            return None, "expected a text identifier, not a date or true/false"
        if isinstance(value, float):
            if not math.isfinite(value):
                return None, "expected text"
            value = int(value) if value.is_integer() else value
        text = str(value).strip()
        return text, None
    if t == "choice":
        text = str(value).strip().lower()
        for c in col.choices:
            if c.lower() == text:
                return c, None
        return None, f"expected one of: {', '.join(col.choices)}"
    if t == "yesno":
        text = str(value).strip().lower()
        if value is True or text in ("yes", "y", "true", "1"):
            return "yes", None
        if value is False or text in ("no", "n", "false", "0"):
            return "no", None
        return None, "expected yes or no"
    number, why = _number(value, percent=t == "share")
    if why:
        return None, "expected a whole-number period (e.g. a year)" if t == "period" else why
    if t in ("integer", "period"):
        if not float(number).is_integer():
            return None, "expected a whole number" if t == "integer" else "expected a whole-number period (e.g. a year)"
        if abs(number) >= MAX_WHOLE:
            return None, "expected a whole number of at most 9 digits" if t == "integer" else "expected a whole-number period (e.g. a year) of at most 9 digits"
        number = int(number)
    if col.minimum is not None and number < col.minimum:
        return None, f"expected a number ≥ {col.minimum:g}"
    if col.maximum is not None and number > col.maximum:
        return None, f"expected a number ≤ {col.maximum:g}"
    return number, None


def _number(value, percent: bool = False) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return None, "expected a number, not true/false"
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return None, "expected a number, not a date or time (check the cell format)"
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
    else:
        text = str(value).strip().replace("\u00a0", "")
        m = _PERCENT.match(text)
        try:
            v = float(m.group(1)) / 100 if m and percent else float(text)
        except ValueError:
            return None, "expected a number" + (" or a percentage like 40%" if percent else "")
        if m and not percent:
            return None, "expected a number (a percentage is not allowed here)"
    if not math.isfinite(v):
        return None, "expected a finite number"
    if abs(v) >= MAX_NUMBER:
        return None, "expected a number below 1e15 in size; use a larger unit (e.g. kt, USD million)"
    return v, None


def _typed(spec: schema.Sheet, raw: RawTable, problems: list[Problem]) -> pd.DataFrame:
    """Typed copy of a sheet: every schema column present, blanks filled with defaults."""
    out = {}
    n = len(raw.cells)
    row_numbers = raw.cells[ROW].to_numpy()
    rows = row_numbers.tolist()
    for col in spec.columns:
        cells = raw.cells[col.key].to_numpy(dtype=object) if col.key in raw.cells else np.full(n, None, dtype=object)
        percent = col.key == "limit" and spec.name == "Policies"  # shares may be written 40%; checked per rule later
        # what the cells hold, as pandas infers it: mostly one type (all numbers, all text), often without blanks
        kind = infer_dtype(cells, skipna=False) if col.key in raw.cells else "blank"
        given = None if kind in _NEVER_BLANK else np.zeros(n, dtype=bool) if kind == "blank" else pd.notna(cells)
        if given is None or given.all():
            typed, slow = _bulk(col, cells, percent, kind)
        else:
            typed = np.full(n, None, dtype=object)
            slow = np.full(n, col.required)  # an optional blank takes its default later
            if given.any():
                values = cells[given]
                typed[given], slow[given] = _bulk(col, values, percent, infer_dtype(values, skipna=False))
        for i in np.flatnonzero(slow):
            v = cells[i]
            if v is None:
                if col.required:
                    problems.append(Problem(spec.name, rows[i], col.key, None, "a value is required here"))
                continue
            x, why = _number(v, percent=True) if percent else convert(col, v)
            if why:
                problems.append(Problem(spec.name, rows[i], col.key, v, why))
            typed[i] = x
        out[col.key] = typed
    include = out["include"]
    include[pd.isna(include)] = "yes"
    df = pd.DataFrame(out, dtype=object)
    # the row numbers as an int64 column (as the list of them makes it, at a fraction of the cost)
    df["row"] = row_numbers if n and row_numbers.dtype == np.int64 else rows
    return df


# pandas.api.types.infer_dtype of cells that are all of one kind: never blank (a float may be NaN),
# numbers (Python's or numpy's, as float() takes them), text
_NEVER_BLANK = ("string", "integer", "boolean", "empty")
_NUMBERS = ("floating", "integer", "mixed-integer-float")


def _bulk(col: schema.Column, cells: np.ndarray, percent: bool, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Type the ordinary cells of a column at once: (typed values, mask of cells left to check one by one).

    Ordinary means: a finite number within bounds for number columns (whole for integers
    and periods), a string for text, a known spelling for choices. Blanks and everything
    else go through :func:`convert`, which words the problem. ``kind`` is what
    ``infer_dtype`` says of the cells: when they are all numbers or all text, they are typed
    without a look at the type of each (a numpy number types as the Python one it equals).
    """
    typed = np.full(len(cells), None, dtype=object)
    if col.type in ("number", "integer", "period") or percent:
        if kind in _NUMBERS:
            plain, x = np.ones(len(cells), dtype=bool), cells.astype(float)
        else:
            plain = _of_type(cells, (float, int))
            x = np.full(len(cells), np.nan)
            x[plain] = cells[plain].astype(float)
        good = plain & np.isfinite(x) & (np.abs(x) < MAX_NUMBER)
        if col.minimum is not None and not percent:
            good &= x >= col.minimum
        if col.maximum is not None and not percent:
            good &= x <= col.maximum
        if col.type in ("integer", "period"):
            good &= (np.floor(x) == x) & (np.abs(x) < MAX_WHOLE)  # larger ones take the checked path
            typed[good] = x[good].astype(np.int64).astype(object)
        else:
            typed[good] = x[good].astype(object)
        return typed, ~good
    if col.type in ("id", "text"):
        if kind == "string":
            typed[:] = list(map(str.strip, cells))
            return typed, np.zeros(len(cells), dtype=bool)
        good = _of_type(cells, (str,))
        typed[good] = list(map(str.strip, cells[good]))
        return typed, ~good
    if col.type in ("choice", "yesno"):
        spellings = {c.lower(): c for c in col.choices} if col.type == "choice" else {"yes": "yes", "no": "no"}
        good = np.ones(len(cells), dtype=bool) if kind == "string" else _of_type(cells, (str,))
        text = cells[good]
        spelt = {v: spellings.get(v.strip().lower()) for v in set(text)}  # each spelling once
        typed[good] = list(map(spelt.__getitem__, text))
        good &= pd.notna(typed)
        return typed, ~good
    return typed, np.ones(len(cells), dtype=bool)


def _of_type(cells: np.ndarray, types: tuple[type, ...]) -> np.ndarray:
    """Mask of the cells whose type is exactly one of ``types`` (not a subclass: bool is no int here)."""
    kind = np.fromiter(map(type, cells), dtype=object, count=len(cells))
    return np.logical_or.reduce([kind == t for t in types])


def _empty(spec: schema.Sheet) -> pd.DataFrame:
    if spec.name not in _EMPTY:
        _EMPTY[spec.name] = pd.DataFrame(columns=[*(c.key for c in spec.columns), "row"], dtype=object)
    return _EMPTY[spec.name].copy()


_EMPTY: dict[str, pd.DataFrame] = {}  # a table of no rows per sheet, copied for each workbook


def _settings(raw: RawTable | None, problems: list[Problem]) -> Settings:
    settings = Settings()
    if raw is None:
        return settings
    spec = schema.sheet("Settings")
    seen: dict[str, int] = {}
    for rec in raw.cells.to_dict("records"):
        r = rec[ROW]
        key, why = convert(spec.column("setting"), rec.get("setting")) if rec.get("setting") is not None else (None, None)
        if rec.get("setting") is None:
            if rec.get("value") is not None:
                problems.append(Problem("Settings", r, "setting", None, "a value is given but no setting name"))
            continue
        if why:
            problems.append(Problem("Settings", r, "setting", rec.get("setting"), why))
            continue
        if key in seen:
            problems.append(Problem("Settings", r, "setting", key, f"set twice (also on row {seen[key]}); keep one"))
            continue
        seen[key] = r
        value = rec.get("value")
        if value is None:
            continue
        st = schema.SETTING_BY_KEY[key]
        x, why = convert(st.as_column(), value)
        if why:
            problems.append(Problem("Settings", r, "value", value, f"{key}: {why}"))
            continue
        setattr(settings, key, x)
    return settings


# --------------------------------------------------------------------------- rows in use

_PARENTS = {  # sheet -> [(column, parent sheet)] whose switched-off rows take this row out too
    "Sources": [("country", "Countries")],
    "Offers": [("source", "Sources"), ("material", "Materials")],
    "Demand": [("material", "Materials")],
    "Stockpile": [("material", "Materials")],
    "Tariffs": [("country", "Countries"), ("material", "Materials")],
    "Policies": [("material", "Materials")],
}


def _switched_off(typed: dict[str, pd.DataFrame], skipped: dict[str, int], problems: list[Problem]) -> None:
    off_keys: dict[str, set] = {}
    for s in schema.SHEETS:
        if s.name == "Settings":
            continue
        df = typed[s.name]
        off = df["include"].to_numpy() == "no"
        if s.name in _PARENTS:
            cascade = np.zeros(len(df), dtype=bool)
            for col, parent in _PARENTS[s.name]:
                if off_keys.get(parent):
                    cascade |= (df[col].isin(off_keys[parent]) & df[col].notna()).to_numpy()
            cascaded = cascade & ~off
            if cascaded.any():
                rows = ", ".join(str(r) for r in df["row"][cascaded].head(10))
                more = "" if cascaded.sum() <= 10 else f" and {cascaded.sum() - 10} more"
                problems.append(Problem(s.name, None, None, None,
                                        f"{int(cascaded.sum())} row(s) skipped because they refer to a row switched off with include = no (rows {rows}{more})",
                                        "warning"))
            off = off | cascade
        if s.keys and len(s.keys) == 1:
            off_keys[s.name] = set(df[s.keys[0]][off].dropna()) if off.any() else set()
        if off.any():
            skipped[s.name] = int(off.sum())
            typed[s.name] = df.loc[~off].reset_index(drop=True)


def _duplicates(spec: schema.Sheet, df: pd.DataFrame, problems: list[Problem]) -> None:
    keys = list(spec.keys)
    if df.empty or _distinct(df, keys):
        return
    key = df[keys].astype(str)
    dup = key.duplicated(keep="first")
    if not dup.any():
        return
    first_row = {}
    for r, k in zip(df["row"], map(tuple, key.to_numpy())):
        first_row.setdefault(k, r)
    for i in np.flatnonzero(dup.to_numpy()):
        k = tuple(key.iloc[i])
        shown = ", ".join(f"{c}={df.iloc[i][c]}" for c in keys if df.iloc[i][c] is not None)
        problems.append(Problem(spec.name, df.iloc[i]["row"], keys[0], df.iloc[i][keys[0]],
                                f"duplicate of row {first_row[k]} ({shown or 'blank key'}); each row needs a unique {' + '.join(keys)}"))


def _distinct(df: pd.DataFrame, keys: list[str]) -> bool:
    """True when no two rows share a key, compared as they are: as their text is compared (blanks
    alike), for columns of text or of whole numbers (typed key cells are one or the other).
    False when some do, or when a column holds other values (then the caller compares the text)."""
    combined = None
    for k in keys:
        values = df[k].to_numpy()
        if infer_dtype(values, skipna=True) not in ("string", "integer", "empty"):  # blanks (None, NaN) aside
            return False
        codes, uniques = pd.factorize(values)  # a blank is -1
        if combined is None:
            combined = codes
        else:
            combined = pd.factorize(combined * (len(uniques) + 1) + codes + 1)[0]
    return len(pd.unique(combined)) == len(combined)


def _references(typed: dict[str, pd.DataFrame], problems: list[Problem]) -> None:
    for s in schema.SHEETS:
        if s.name == "Settings":
            continue
        df = typed[s.name]
        for col in s.columns:
            if not col.refers_to or df.empty:
                continue
            target_sheet, target_col = col.refers_to.split(".")
            target = typed[target_sheet][target_col].to_numpy()
            known = set(target[pd.notna(target)])
            values = df[col.key].to_numpy()
            missing = pd.notna(values) & ~np.fromiter(map(known.__contains__, values), dtype=bool, count=len(values))
            if not missing.any():
                continue
            lower = {str(k).lower(): k for k in known}
            for r, v in zip(df["row"][missing], df[col.key][missing]):
                hint = f"; did you mean {lower[str(v).lower()]!r}?" if str(v).lower() in lower else ""
                problems.append(Problem(s.name, r, col.key, v, f"not found in {target_sheet} (column {target_col}){hint}"))


# --------------------------------------------------------------------------- sheet rules

def _horizon(demand: pd.DataFrame, problems: list[Problem], present: bool) -> tuple[int, ...]:
    periods = [p for p in demand["period"] if isinstance(p, int)]
    if not periods:
        if demand.empty and present:
            problems.append(Problem("Demand", None, None, None, "no demand rows in use; the horizon is the periods of Demand, so at least one is needed"))
        return ()
    lo, hi = min(periods), max(periods)
    if hi - lo + 1 > MAX_PERIODS:
        # name the rows of the outlying end: the one farther from the middle period
        middle = sorted(periods)[len(periods) // 2]
        far = lo if middle - lo > hi - middle else hi
        for r, p in zip(demand["row"], demand["period"]):
            if p == far:
                problems.append(Problem("Demand", r, "period", p, f"the horizon would run {lo}–{hi}, {hi - lo + 1:,} periods; "
                                        f"at most {MAX_PERIODS:,} are supported (periods are consecutive whole numbers, e.g. years)"))
        return ()
    return tuple(range(lo, hi + 1))


def _setting_rows(raw: RawTable | None) -> dict[str, int]:
    """The Excel row of each setting named on the Settings sheet (for problems about values)."""
    if raw is None or "setting" not in raw.cells:
        return {}
    return {str(k).strip().lower(): r for k, r in zip(raw.cells["setting"], raw.cells[ROW]) if k is not None}


def _check_periods(typed, periods, settings: Settings, problems, setting_rows: dict[str, int] | None = None) -> None:
    lo, hi = periods[0], periods[-1]
    rows = setting_rows or {}
    if settings.base_period is not None and not lo - 1000 <= settings.base_period <= hi + 1000:
        problems.append(Problem("Settings", rows.get("base_period"), "value", settings.base_period, f"base_period: expected a period near the horizon {lo}–{hi}"))
    else:
        base = lo if settings.base_period is None else settings.base_period
        far = max(abs(lo - base), abs(hi - base))
        if far * math.log10(1.0 + settings.discount_rate) > math.log10(MAX_DISCOUNT_SPREAD):
            problems.append(Problem("Settings", rows.get("discount_rate"), "value", settings.discount_rate,
                                    f"discount_rate: costs {far} periods from the base period {base} would be discounted by a "
                                    f"factor beyond {MAX_DISCOUNT_SPREAD:.0e}, too far for the solver to compare costs across "
                                    "periods; use a lower rate or a base period nearer the horizon"))
    tariffs = typed["Tariffs"]
    for r, p in zip(tariffs["row"], tariffs["period"]):
        if isinstance(p, int) and not lo <= p <= hi:
            problems.append(Problem("Tariffs", r, "period", p, f"outside the horizon {lo}–{hi} (the periods of Demand); the rate would never apply", "warning"))


def _check_offers(typed, periods, problems) -> None:
    offers, sources = typed["Offers"], typed["Sources"]
    lo, hi = periods[0], periods[-1]
    if _offers_in_order(offers, sources, lo, hi):
        return
    first = pd.to_numeric(offers["first_period"], errors="coerce")
    last = pd.to_numeric(offers["last_period"], errors="coerce")
    min_order = pd.to_numeric(offers["min_order"], errors="coerce")
    cap = pd.to_numeric(offers["capacity"], errors="coerce")
    scap = pd.to_numeric(offers["source"].map(dict(zip(sources["source"], sources["capacity"]))), errors="coerce")
    rows = offers["row"]
    for i in np.flatnonzero((first > last).to_numpy()):
        problems.append(Problem("Offers", rows.iat[i], "last_period", last.iat[i], f"expected a period ≥ first_period ({first.iat[i]:g})"))
    late, early = (first > hi).to_numpy(), (last < lo).to_numpy() & ~(first > last).to_numpy()
    for i in np.flatnonzero(late | early):
        col, value = ("first_period", first.iat[i]) if late[i] else ("last_period", last.iat[i])
        problems.append(Problem("Offers", rows.iat[i], col, int(value), f"the offer is never available within the horizon {lo}–{hi}", "warning"))
    for i in np.flatnonzero((min_order > cap).to_numpy()):
        problems.append(Problem("Offers", rows.iat[i], "min_order", min_order.iat[i], f"expected at most the offer's capacity ({cap.iat[i]:g})"))
    for i in np.flatnonzero((min_order > scap).to_numpy()):
        problems.append(Problem("Offers", rows.iat[i], "min_order", min_order.iat[i],
                                f"expected at most the capacity of source {offers['source'].iat[i]} ({scap.iat[i]:g})"))


def _offers_in_order(offers: pd.DataFrame, sources: pd.DataFrame, lo: int, hi: int) -> bool:
    """True when :func:`_check_offers` has nothing to say, found on the values as floats (typed
    periods and quantities compare as their numbers do). False: let it look."""
    first, last, min_order, cap = (offers[c].to_numpy().astype(float) for c in ("first_period", "last_period", "min_order", "capacity"))
    if (first > last).any() or (first > hi).any() or (last < lo).any() or (min_order > cap).any():
        return False
    names = offers["source"].to_numpy()
    if infer_dtype(names, skipna=False) not in ("string", "empty"):
        return False  # blank sources: let pandas match them
    capacity = dict(zip(sources["source"].tolist(), sources["capacity"].tolist()))
    source_cap = np.array(list(map(capacity.get, names)), dtype=float)
    return not (min_order > source_cap).any()


def _check_stockpiles(typed, problems) -> None:
    """Stock that cannot fit: an initial stock or a reserve (as a quantity) above max_stock."""
    if typed["Stockpile"].empty:
        return
    for rec in typed["Stockpile"].to_dict("records"):
        cap = rec["max_stock"]
        if cap is None:
            continue
        if rec["initial_stock"] is not None and rec["initial_stock"] > cap:
            problems.append(Problem("Stockpile", rec["row"], "initial_stock", rec["initial_stock"],
                                    f"above max_stock ({cap:g}); at most {cap:g}"))
        if rec["min_reserve"] is not None and rec["reserve_unit"] in (None, "quantity") and rec["min_reserve"] > cap:
            problems.append(Problem("Stockpile", rec["row"], "min_reserve", rec["min_reserve"],
                                    f"above max_stock ({cap:g}): the reserve could never be held; at most {cap:g}"))


def _check_sources(typed, problems) -> None:
    sources = typed["Sources"]
    cols = ("build_cost", "lead_time", "earliest_build")
    existing = sources["status"].to_numpy() != "candidate"
    if not any((existing & pd.notna(v) & (v != 0)).any() for v in (sources[c].to_numpy() for c in cols)):
        return  # nothing to say (as the numbers pandas makes of these typed cells would show too)
    given = np.column_stack([pd.to_numeric(sources[c]).fillna(0).to_numpy() != 0 for c in cols])
    given &= (sources["status"] != "candidate").to_numpy()[:, None]
    for i, j in zip(*np.nonzero(given)):  # row by row, as the sheet reads
        problems.append(Problem("Sources", sources["row"].iat[i], cols[j], sources[cols[j]].iat[i],
                                "only candidate sources are built; this value of an existing source is ignored (set status to candidate to use it)",
                                "warning"))


def parse_selection(text: str | None) -> tuple[str | None, tuple[tuple[str, str], ...] | None, str | None]:
    """Parse a policy selection into (each_field, terms, error).

    ``all`` → (None, None); ``field=*`` → (field, None): one instance per value of the field;
    ``bloc=domestic|ally`` → (None, (("bloc", "domestic"), ("bloc", "ally"))). Alternatives are
    OR-ed, and one that names a field switches to it: ``bloc=domestic|kind=recycler`` selects
    what is domestic or recycled.
    """
    if text is None or str(text).strip().lower() in ("", "all"):
        return None, None, None
    raw = str(text).strip()
    if "=" not in raw:
        return None, None, "expected all, field=value, field=a|b, field=a|other=b or field=*"
    terms: list[tuple[str, str]] = []
    field = None
    for part in raw.split("|"):
        f, eq, v = part.partition("=")
        if eq:
            field = f.strip().lower()
            if field not in schema.SELECTION_FIELDS:
                return None, None, f"unknown field {field!r}; expected one of {', '.join(schema.SELECTION_FIELDS)}"
        else:
            v = f
        v = v.strip()
        if not v:
            return None, None, "expected a value after '=' (separate several with |)"
        terms.append((field, v))
    if any(v == "*" for _, v in terms):
        if len(terms) > 1:
            return None, None, "field=* stands alone (one rule instance per value); it cannot be combined with |"
        return terms[0][0], None, None
    return None, tuple(terms), None


def selection_values(typed: dict[str, pd.DataFrame]) -> dict[str, set]:
    """Values each selection field can take, given the rows in use."""
    sources, countries = typed["Sources"], typed["Countries"]
    bloc = dict(zip(countries["country"].tolist(), _filled(countries["bloc"], "other").tolist()))
    return {
        "source": _present(sources["source"]),
        "country": _present(countries["country"]),
        "bloc": set(bloc.values()),
        "kind": set(schema.SOURCE_KINDS),
        "owner": _present(sources["owner"]) | _present(sources["source"]),
        "status": set(schema.SOURCE_STATUSES),
    }


def _present(column: pd.Series) -> set:
    """The values of a column, blanks left out (as ``set(column.dropna())``)."""
    values = column.to_numpy()
    return set(values[pd.notna(values)].tolist())


def _check_policies(typed, periods, problems) -> None:
    allowed = selection_values(typed)
    for rec in _records(typed["Policies"]):
        r, rule = rec["row"], rec["rule"]
        _, terms, why = parse_selection(rec["selection"])
        if why:
            problems.append(Problem("Policies", r, "selection", rec["selection"], why))
        elif terms:
            for f, v in terms:
                if v not in allowed[f]:
                    near = [a for a in allowed[f] if str(a).lower() == v.lower()]
                    hint = f"; did you mean {near[0]!r}?" if near else ""
                    problems.append(Problem("Policies", r, "selection", rec["selection"], f"no {f} {v!r} among the rows in use{hint}"))
        p = rec["period"]
        parsed, why = _policy_period(p, periods, rule)
        if why:
            problems.append(Problem("Policies", r, "period", p, why))
        limit = rec["limit"]
        if limit is None or rule is None:
            continue
        if rule in schema.SHARE_RULES and not 0 <= limit <= 1:
            problems.append(Problem("Policies", r, "limit", limit, "expected a share from 0 to 1 (or 0% to 100%)"))
        elif rule in schema.COUNT_RULES and (limit < 0 or not float(limit).is_integer()):
            problems.append(Problem("Policies", r, "limit", limit, "expected a whole number of sources (0 or more)"))
        elif rule in schema.TOTAL_RULES and limit < 0:
            problems.append(Problem("Policies", r, "limit", limit, "expected a number ≥ 0"))
        if rec["enforcement"] == "soft" and rec["penalty"] is None:
            problems.append(Problem("Policies", r, "penalty", None, "a soft rule needs a penalty (cost per unit of violation)"))


def _records(df: pd.DataFrame) -> list[dict]:
    """``df.to_dict("records")`` of a typed table, whose cells are already Python values."""
    columns = list(df.columns)
    return [dict(zip(columns, values)) for values in zip(*(df[c].tolist() for c in columns))]


def _policy_period(p, periods, rule) -> tuple[object, str | None]:
    if p is None:
        return None, None
    text = str(p).strip()
    if text.lower() == HORIZON:
        if rule in schema.TOTAL_RULES or rule is None:
            return HORIZON, None
        return None, "'horizon' applies to max_total and min_total only; shares and counts hold per period"
    x, why = _number(p)
    if why or not float(x).is_integer():
        return None, "expected a period, blank (each period) or 'horizon'"
    if not periods[0] <= int(x) <= periods[-1]:
        return None, f"expected a period within the horizon {periods[0]}–{periods[-1]}"
    return int(x), None


# Scenario edits: which sheets a `where` may look through, and the related sheet of each.
SCENARIO_RELATED = {
    "Offers": [("source", "Sources"), ("material", "Materials")],
    "Sources": [("country", "Countries")],
    "Demand": [("material", "Materials")],
    "Tariffs": [("country", "Countries")],
    "Stockpile": [("material", "Materials")],
    "Countries": [],
    "Settings": [],
}
# Values the model sees per period: a scenario's `period` may limit an edit of these to some periods.
SCENARIO_PER_PERIOD = {("Offers", "unit_cost"), ("Offers", "capacity"), ("Offers", "tariff"),
                       ("Sources", "capacity"), ("Countries", "tariff"), ("Tariffs", "rate")}
SCENARIO_PERIOD_KEYED = ("Demand", "Tariffs")  # sheets whose rows carry a period
BASE_SCENARIO = "base"  # the name of the plan without edits
_NUMERIC = ("number", "integer", "share")


def scenario_fields(sheet: str) -> set[str]:
    """Columns a scenario's `where` may name for rows of ``sheet`` (its own and related rows')."""
    names = set(schema.sheet(sheet).keyset) - {"notes", "include"}
    stack = list(SCENARIO_RELATED.get(sheet, []))
    while stack:
        _, parent = stack.pop()
        names |= set(schema.sheet(parent).keyset) - {"notes", "include"}
        stack.extend(SCENARIO_RELATED.get(parent, []))
    return names


def parse_where(text) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], str | None]:
    """Parse a scenario row filter into ((field, values), ...) and an error.

    Blank → () (every row). ``country=CN`` → (("country", ("CN",)),); ``country=CN|RU``
    matches either value; ``country=CN & material=NdPr`` needs both conditions.
    """
    if text is None or not str(text).strip():
        return (), None
    terms = []
    for part in str(text).split("&"):
        f, eq, v = part.partition("=")
        values = tuple(x.strip() for x in v.split("|"))
        if not eq or not f.strip() or not all(values):
            return (), "expected field=value (e.g. country=CN; country=CN|RU for either; country=CN & material=NdPr for both), or blank for all rows"
        terms.append((f.strip().lower(), values))
    return tuple(terms), None


def scenario_periods(text) -> tuple[int | None, int | None, str | None]:
    """A scenario's period cell as (first, last, error); blank → (None, None, None)."""
    if text is None:
        return None, None, None
    p = str(int(text)) if isinstance(text, float) and text.is_integer() else str(text)
    m = _RANGE.match(p)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
    else:
        x, why = _number(p)
        if why or not float(x).is_integer():
            return None, None, "expected a period (2027) or a range (2027-2029)"
        lo = hi = int(x)
    if lo > hi:
        return None, None, "the range starts after it ends"
    return lo, hi, None


def scenario_target(sheet: str, column, where) -> tuple[schema.Column | None, str | None]:
    """The schema column a scenario row edits (for Settings: the named setting's), or why none."""
    spec = schema.sheet(sheet)
    key = str(column).strip().lower()
    if sheet == "Settings":
        if key != "value":
            return None, "Settings edits change the column 'value'; name the setting in where (setting=carbon_price)"
        terms, why = parse_where(where)
        names = [v for f, vs in terms for v in vs if f == "setting"]
        if why or len(terms) != 1 or len(names) != 1 or names[0].lower() not in schema.SETTING_BY_KEY:
            return None, None  # reported on the where cell
        st = schema.SETTING_BY_KEY[names[0].lower()]
        return st.as_column(), None
    if key not in spec.keyset or key in spec.keys or key in ("notes", "include"):
        editable = [c.key for c in spec.columns if c.key not in spec.keys and c.key not in ("notes", "include")]
        return None, f"expected a column of {sheet} that can be edited: {', '.join(editable)}"
    return spec.column(key), None


def _check_scenarios(typed, periods, problems) -> None:
    """The grammar of each Scenarios row; what its edits do to the data is checked after building."""
    df = typed["Scenarios"]
    if df.empty:
        return
    probability: dict[str, tuple[float, int]] = {}
    for rec in df.to_dict("records"):
        r, sheet, column, op = rec["row"], rec["sheet"], rec["column"], rec["operation"]
        name = rec["scenario"]
        if name is not None and str(name).strip().lower() == BASE_SCENARIO:
            problems.append(Problem("Scenarios", r, "scenario", name, f"'{BASE_SCENARIO}' names the plan without edits; choose another name"))
        if name is not None and rec["probability"] is not None:
            first = probability.setdefault(name, (rec["probability"], r))
            if not math.isclose(first[0], rec["probability"]):
                problems.append(Problem("Scenarios", r, "probability", rec["probability"],
                                        f"scenario {name!r} already has probability {first[0]:g} (row {first[1]}); give it once or the same on every row", "warning"))
        if sheet is None:
            continue
        target, why = scenario_target(sheet, column, rec["where"]) if column is not None else (None, None)
        if why:
            problems.append(Problem("Scenarios", r, "column", column, why))
        if target is not None and op in ("scale", "add") and target.type not in _NUMERIC:
            problems.append(Problem("Scenarios", r, "operation", op, f"{sheet}.{target.key} holds {target.type} values; only set applies to it"))
        value = rec["value"]
        if value is not None and target is not None:
            if op in ("scale", "add"):
                x, why = _number(value)
                if why:
                    problems.append(Problem("Scenarios", r, "value", value, f"{op} needs a number"))
                elif op == "scale" and x < 0:
                    problems.append(Problem("Scenarios", r, "value", value, "expected a factor ≥ 0"))
            elif op == "set":
                _, why = convert(target, value)
                if why:
                    problems.append(Problem("Scenarios", r, "value", value, f"{sheet}.{target.key}: {why}"))
        where = rec["where"]
        terms, why = parse_where(where)
        if why:
            problems.append(Problem("Scenarios", r, "where", where, why))
        for f, _ in terms:
            if f not in scenario_fields(sheet):
                problems.append(Problem("Scenarios", r, "where", where, f"{f!r} is not a column of {sheet} or of the rows it refers to; expected one of {', '.join(sorted(scenario_fields(sheet)))}"))
        if sheet == "Settings" and not why and not (len(terms) == 1 and terms[0][0] == "setting" and len(terms[0][1]) == 1
                                                     and terms[0][1][0].lower() in schema.SETTING_BY_KEY):
            problems.append(Problem("Scenarios", r, "where", where, f"name one setting: setting=<name>, one of {', '.join(schema.SETTING_BY_KEY)}"))
        p = rec["period"]
        lo, hi, why = scenario_periods(p)
        if why:
            problems.append(Problem("Scenarios", r, "period", p, why))
        elif lo is not None:
            if hi < periods[0] or lo > periods[-1]:
                problems.append(Problem("Scenarios", r, "period", p, f"outside the horizon {periods[0]}–{periods[-1]}", "warning"))
            if target is not None and sheet not in SCENARIO_PERIOD_KEYED and (sheet, target.key) not in SCENARIO_PER_PERIOD:
                per = ", ".join(f"{s}.{c}" for s, c in sorted(SCENARIO_PER_PERIOD))
                problems.append(Problem("Scenarios", r, "period", p,
                                        f"{sheet}.{target.key} has one value for the whole horizon; leave period blank "
                                        f"(a period applies to Demand, Tariffs and the per-period values {per})"))


def _check_scenario_edits(checked: Checked) -> None:
    """Apply every scenario to the built data: rows it matches, values it makes (scenarios.py)."""
    from .scenarios import check_all  # scenarios builds on this module

    checked.problems.extend(check_all(checked))


# --------------------------------------------------------------------------- plan data

def _build(typed, settings: Settings, periods: tuple[int, ...], skipped) -> PlanData:
    # each table is made once from its columns as arrays (a pandas call per column costs more than the column)
    lo, hi = periods[0], periods[-1]
    typed = {name: _plain(df) for name, df in typed.items()}
    ct = typed["Countries"]
    country_tariff = _floats(ct["tariff"], 0.0)
    bloc = _filled(ct["bloc"], "other")
    countries = _frame({"name": ct["name"], "bloc": _objects(bloc), "risk_score": _floats(ct["risk_score"], 0.0),
                        "tariff": country_tariff, "row": ct["row"]}, pd.Index(ct["country"]))

    src = typed["Sources"]
    source_ids = src["source"].to_numpy()
    of_country = countries.index.get_indexer(src["country"].to_numpy())  # -1: none (as Series.map gives NaN)
    risk = src["risk_score"].to_numpy()
    base = settings.base_period if settings.base_period is not None else lo
    sources = _frame({
        "name": src["name"], "country": src["country"], "bloc": _taken(bloc, of_country),  # a str column, as map makes it
        "kind": _objects(_filled(src["kind"], "mine")), "owner": _objects(_filled(src["owner"], source_ids)),
        "capacity": src["capacity"].to_numpy().astype(float), "fixed_cost": _floats(src["fixed_cost"], 0.0),
        "status": _objects(_filled(src["status"], "existing")), "build_cost": _floats(src["build_cost"], 0.0),
        "lead_time": _wholes(src["lead_time"], 0), "earliest_build": _wholes(src["earliest_build"], base),
        "risk_score": np.where(pd.isna(risk), _taken(countries["risk_score"].to_numpy(), of_country), risk).astype(float),
        "row": src["row"]}, pd.Index(src["source"]))

    off = typed["Offers"]
    n_offers = len(off)
    first = np.clip(_wholes(off["first_period"], lo), lo, None)
    last = np.clip(_wholes(off["last_period"], hi), None, hi)
    of_source = sources.index.get_indexer(off["source"].to_numpy())  # as sources.reindex(offer sources)
    attributes = {c: _taken(sources[c].to_numpy(), of_source) for c in ("country", "bloc", "kind", "owner", "status", "risk_score")}
    offers = _frame({"source": off["source"], "material": off["material"], **attributes,
                     **{c: _floats(off[c], 0.0) for c in ("min_order", "contract_cost", "co2e", "water", "waste")},
                     "first_period": first, "last_period": last, "row": off["row"]}, pd.RangeIndex(n_offers))

    span = np.clip(last - first + 1, 0, None)
    idx = np.repeat(np.arange(n_offers), span)
    # each offer's periods: first_period + (position - the offer's first position)
    period = np.arange(len(idx)) - np.repeat(np.cumsum(span) - span - first, span)
    own_tariff = off["tariff"].to_numpy().astype(float)
    # arrays made here for these tables alone: no copy
    op = pd.DataFrame({"offer": idx, "period": period, "unit_cost": off["unit_cost"].to_numpy().astype(float)[idx],
                       "capacity": off["capacity"].to_numpy().astype(float)[idx],
                       "tariff": _tariff_rates(idx, period, own_tariff, attributes["country"], off["material"].to_numpy(),
                                               countries.index, country_tariff, typed["Tariffs"])}, copy=False)

    sp = pd.DataFrame({"source": np.repeat(source_ids, len(periods)), "period": np.tile(np.array(periods), len(sources)),
                       "capacity": np.repeat(sources["capacity"].to_numpy(dtype=float), len(periods))}, copy=False)

    dem = typed["Demand"]
    default_pen = np.nan if settings.shortage_penalty is None else float(settings.shortage_penalty)
    demand = _frame({"material": dem["material"], "period": dem["period"], "quantity": dem["quantity"].to_numpy().astype(float),
                     "shortage_penalty": _floats(dem["shortage_penalty"], default_pen), "row": dem["row"]},
                    pd.RangeIndex(len(dem)))

    pol = typed["Policies"]
    parsed = [parse_selection(s) for s in pol["selection"]]
    soft = (pol["enforcement"] == "soft").to_numpy()
    penalty = pol["penalty"].to_numpy()
    policies = _frame({
        "policy": pol["policy"], "rule": pol["rule"], "field": _objects([p[0] for p in parsed]),
        "terms": _objects([p[1] for p in parsed]), "material": pol["material"],
        "period": _objects([_policy_period(p, periods, r)[0] for p, r in zip(pol["period"], pol["rule"])]),
        "metric": _objects(_filled(pol["metric"], "quantity")), "limit": pol["limit"].to_numpy().astype(float), "soft": soft,
        "penalty": np.where(soft & pd.notna(penalty), penalty, np.nan).astype(float), "row": pol["row"]},
        pd.RangeIndex(len(pol)))

    mat = typed["Materials"]
    materials = _frame({"name": mat["name"], "row": mat["row"]}, pd.Index(mat["material"]))
    return PlanData(settings=settings, periods=periods, materials=materials, countries=countries, sources=sources,
                    offers=offers, offer_periods=op, source_periods=sp, demand=demand, policies=policies,
                    skipped=dict(skipped), stockpiles=_stockpiles(typed["Stockpile"]))


def _filled(column: pd.Series, default) -> np.ndarray:
    """A typed column's values with its blanks as ``default`` (a value, or an array of one per row)."""
    values = column.to_numpy()
    return np.where(pd.isna(values), default, values)


def _floats(column: pd.Series, default: float) -> np.ndarray:
    """A typed column of numbers as floats, its blanks as ``default`` (the numbers
    ``_filled(column, default).astype(float)`` gives, without a pass over objects)."""
    x = column.to_numpy().astype(float)  # a blank (None) is NaN
    return np.where(np.isnan(x), default, x)


def _wholes(column: pd.Series, default: int) -> np.ndarray:
    """A typed column of whole numbers as int64, its blanks as ``default`` (the numbers
    ``_filled(column, default).astype(int)`` gives: through floats where they hold them exactly)."""
    x = column.to_numpy().astype(float)
    blank = np.isnan(x)
    if np.abs(x[~blank]).max(initial=0.0) >= 2.0 ** 53 or abs(default) >= 2 ** 53:
        return _filled(column, default).astype(int)
    return np.where(blank, default, x).astype(int)


def _objects(values) -> pd.Series:
    """An object column as it is (as ``DataFrame`` would not keep it: text becomes its str type)."""
    return pd.Series(values, dtype=object)


def _taken(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values[at]``, NaN where ``at`` is -1, as a reindex or a map gives them."""
    values = values if values.dtype.kind == "f" else values.astype(object)
    if not len(values):
        return np.full(len(at), np.nan, dtype=values.dtype)
    taken = values[at]
    if len(at) and (at < 0).any():
        taken[at < 0] = np.nan
    return taken


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` on the index 0..n-1 (typed tables are), so that its columns line up with arrays."""
    index = df.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return df
    return df.reset_index(drop=True)


def _frame(columns: dict, index: pd.Index) -> pd.DataFrame:
    """A table of ``columns`` (Series on a default index, or arrays) on ``index``."""
    df = pd.DataFrame(columns)
    df.index = index
    return df


def _stockpiles(st: pd.DataFrame) -> pd.DataFrame:
    columns = {"initial_stock": _floats(st["initial_stock"], 0.0),
               "holding_cost": _floats(st["holding_cost"], 0.0),
               "min_reserve": _floats(st["min_reserve"], 0.0),
               "reserve_unit": _objects(_filled(st["reserve_unit"], "quantity")),
               "max_stock": st["max_stock"].to_numpy().astype(float),
               "release_cost": _floats(st["release_cost"], 0.0), "row": st["row"]}
    return _frame({c: columns[c] for c in STOCKPILE_COLUMNS}, pd.Index(st["material"]))


def _tariffs(op: pd.DataFrame, off: pd.DataFrame, countries: pd.DataFrame, tariffs: pd.DataFrame) -> np.ndarray:
    """Effective tariff per offer-period: Tariffs cell (most specific first) > offer > country."""
    return _tariff_rates(op["offer"].to_numpy(), op["period"].to_numpy(), off["tariff"].to_numpy(dtype=float),
                         off["country"].to_numpy(), off["material"].to_numpy(), countries.index,
                         countries["tariff"].to_numpy(dtype=float), tariffs)


def _tariff_rates(offer: np.ndarray, period: np.ndarray, own: np.ndarray, off_country: np.ndarray, off_material: np.ndarray,
                  country_index: pd.Index, country_tariff: np.ndarray, tariffs: pd.DataFrame) -> np.ndarray:
    """:func:`_tariffs` on arrays: per offer its own tariff, country and material; per country its tariff."""
    rate = np.where(np.isnan(own), _taken(country_tariff, country_index.get_indexer(off_country)), own)[offer]
    if tariffs.empty or not len(offer):
        return rate
    # offers and Tariffs rows keyed alike by integer codes of country and material (and period)
    country, country_names = pd.factorize(off_country)
    material, material_names = pd.factorize(off_material)
    by_country = (country, pd.Index(country_names).get_indexer(tariffs["country"]), len(country_names))
    by_material = (material, pd.Index(material_names).get_indexer(tariffs["material"]), len(material_names))
    lo, span = period.min(), period.max() - period.min() + 1
    row_period = pd.to_numeric(tariffs["period"]).to_numpy(dtype=float)
    row_period = np.where(np.isnan(row_period), -1, row_period - lo).astype(np.int64)
    given_m, given_p = tariffs["material"].notna().to_numpy(), tariffs["period"].notna().to_numpy()
    row_rate = tariffs["rate"].to_numpy(dtype=float)
    # least specific first, so that more specific rows overwrite
    for has_m, has_p in ((False, False), (False, True), (True, False), (True, True)):
        rows = (given_m == has_m) & (given_p == has_p)
        if not rows.any():
            continue
        on = [by_country, by_material] if has_m else [by_country]
        key = joint_key([(mine, n) for mine, _, n in on])  # per offer
        row_key = joint_key([(theirs, n) for _, theirs, n in on])
        at = np.flatnonzero(np.isin(key, row_key[rows])[offer])  # the purchases of offers some row names
        key = key[offer[at]]
        if has_p:
            n_keys = math.prod(n for _, _, n in on)
            key = joint_key([(key, n_keys), (period[at] - lo, span)])
            row_key = joint_key([(row_key, n_keys), (row_period, span)])
        rows &= row_key >= 0  # a row naming a country, material or period no purchase has
        hit = _lookup(key, row_key[rows], row_rate[rows])
        rate[at] = np.where(np.isnan(hit), rate[at], hit)
    return rate


def _lookup(key: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The value of each ``key`` among ``keys`` (distinct), NaN where it is not one of them."""
    if not len(keys):
        return np.full(len(key), np.nan)
    order = np.argsort(keys)
    keys, values = keys[order], values[order]
    at = np.searchsorted(keys, key).clip(max=len(keys) - 1)
    return np.where(keys[at] == key, values[at], np.nan)


def _warn_supply(data: PlanData, problems: list[Problem]) -> None:
    offered = set(data.offers["material"].tolist())
    for m, r in zip(data.materials.index, data.materials["row"]):
        if m not in offered:
            problems.append(Problem("Materials", r, "material", m, "no offer sells this material", "warning"))
    # capacity on offer per material and period (unlimited if any offer is), keyed by integer codes
    material, names = pd.factorize(data.offers["material"])
    lo, span = data.periods[0], len(data.periods)
    op = data.offer_periods
    key = joint_key([(material[op["offer"].to_numpy()], len(names)), (op["period"].to_numpy() - lo, span)])
    capacity = op["capacity"].to_numpy(dtype=float)
    capacity = np.where(np.isnan(capacity), np.inf, capacity)
    dem = data.demand
    wanted = joint_key([(names.get_indexer(dem["material"]), len(names)), (dem["period"].to_numpy() - lo, span)])
    if _supply_clearly_enough(key, capacity, len(names) * span, np.asarray(wanted.tolist(), dtype=np.int64),
                              dem["quantity"].to_numpy(dtype=float) - 1e-9):
        return
    keys, groups = split_by(key, capacity)
    cap = {k: group.sum() for k, group in zip(keys.tolist(), groups)}  # numpy's sum, in row order, as pandas sums
    for rec, k in zip(dem.to_dict("records"), wanted.tolist()):
        c = cap.get(k, 0.0)
        if c < rec["quantity"] - 1e-9:
            problems.append(Problem("Demand", rec["row"], "quantity", rec["quantity"],
                                    f"more than all offers of {rec['material']} can supply in {rec['period']} ({c:g}, candidates included)", "warning"))


def _supply_clearly_enough(key: np.ndarray, capacity: np.ndarray, n_keys: int, wanted: np.ndarray, needed: np.ndarray) -> bool:
    """True when every demand row's capacity on offer (the sum over the purchases of its key)
    is clearly at least what it needs: by a margin beyond any difference of rounding between
    these sums (in any order) and the sums in row order :func:`_warn_supply` compares."""
    valid = key >= 0
    counts = np.bincount(key[valid], minlength=n_keys + 1)  # + 1: never empty
    sums = np.bincount(key[valid], weights=capacity[valid], minlength=n_keys + 1)  # capacities ≥ 0, or inf
    has = wanted >= 0
    at = np.where(has, wanted, 0)
    total, n = np.where(has, sums[at], 0.0), np.where(has, counts[at], 0)
    # summing n values ≥ 0 in two orders gives results within 2 n eps of their sum
    margin = 4.0 * (n + 1) * np.finfo(float).eps * np.abs(total)
    return bool(np.all(np.isinf(total) | (total - needed > margin)))
