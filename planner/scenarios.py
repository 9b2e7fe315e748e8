"""Scenarios: named sets of edits to the checked base data (SPEC §2).

A scenario is every ``Scenarios`` row sharing a name. Each row edits a set of cells:
``sheet`` and ``column`` name them, ``where`` picks the rows, ``period`` the periods, and
``operation`` (set, scale, add) with ``value`` changes them. Rows apply in sheet order, each
to the result of the ones before.

The edits act on a :class:`State`, the input as the model will see it:

- the typed tables of :mod:`planner.validate` (one value per row and column), from which
  :func:`planner.validate._build` makes the plan data as for the base;
- *layers*, the values the model sees per period (``SCENARIO_PER_PERIOD``): an offer's
  ``unit_cost``, ``capacity`` and ``tariff``, a source's ``capacity``, a country's
  ``tariff`` and a ``Tariffs`` row's ``rate``, each an array (rows × periods of the
  horizon). An edit with a ``period`` changes the layer in those periods only (an export
  ban 2027–2029 cuts capacity in those years); without one it changes the row and every
  period.

After the edits, the plan data are built from the tables, then the layers are written into
``offer_periods`` and ``source_periods``. Tariffs follow the precedence of the base, period
by period: a ``Tariffs`` row (the most specific that covers the offer) > the offer's
``tariff`` > the country's ``tariff``. So a scenario that sets ``Countries.tariff`` changes
what a country's purchases pay wherever the country's rate is the one that applies, and a
purchase with a more specific rate keeps it (the edit's note counts them); to override those
too, edit ``Tariffs.rate`` and ``Offers.tariff`` in the same scenario.

Blank cells: ``set`` fills them. ``scale`` and ``add`` act on what the blank stands for (the
column's default; for an offer's tariff the country's, for a source's risk score the
country's, for a demand's shortage penalty the setting's), except that a blank (unlimited)
capacity scaled by 0 becomes 0 and otherwise stays unlimited, and a blank that stands for
nothing (demand without a shortage penalty) stays blank.

What a scenario changed is measured against the base, cell by cell (:func:`cells`,
:func:`diff`); the same comparison gives the ``Inputs diff`` of ``planner compare``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.data import PlanData, Settings

from . import schema
from .errors import InputError, Problem
from .validate import (BASE_SCENARIO, SCENARIO_PERIOD_KEYED, SCENARIO_RELATED, Checked,
                       _build, _number, _tariffs, convert, parse_where, scenario_periods, scenario_target)

KEY_SEPARATOR = " · "
ALL = "(all)"  # a blank key cell of Tariffs: every material or period


@dataclass(frozen=True)
class Edit:
    """One Scenarios row, parsed."""

    scenario: str
    row: int
    sheet: str
    column: str  # the schema column edited; for Settings the setting's key
    where: str | None
    period: str | None
    operation: str
    value: object  # typed for set; a float for scale and add
    first: int | None  # periods the edit is limited to (None: all)
    last: int | None
    terms: tuple
    spec: schema.Column  # the column edited (for Settings, the setting as a column: its type and bounds)

    @property
    def target(self) -> str:
        return f"{self.sheet}.{self.column}"

    def describe(self) -> str:
        value = _show(self.value)
        what = {"set": f"set to {value}", "scale": f"scaled by {value}", "add": f"{value} added"}[self.operation]
        scope = f" where {self.where}" if self.where else ""
        when = f" in {self.period}" if self.period else ""
        return f"{self.target}{scope}{when} {what}"


@dataclass
class EditResult:
    """What one edit did: rows matched, cells changed, and a note for the reader."""

    edit: Edit
    rows: int = 0
    cells: int = 0
    note: str = ""
    reach: tuple | None = None  # a country tariff edit: (countries, first, last), for the note


@dataclass
class Layer:
    """Values of one column per row and period (NaN = blank)."""

    sheet: str
    column: str
    values: np.ndarray  # rows × periods
    covered: np.ndarray  # bool, rows × periods: where the row has a value at all


@dataclass
class State:
    """The input as the model will see it: typed tables, settings, and per-period layers."""

    tables: dict[str, pd.DataFrame]
    settings: Settings
    periods: tuple[int, ...]
    layers: dict[tuple[str, str], Layer]

    def copy(self) -> State:
        return State({k: v.copy() for k, v in self.tables.items()}, copy.copy(self.settings), self.periods,
                     {k: dataclasses.replace(v, values=v.values.copy()) for k, v in self.layers.items()})


@dataclass
class Applied:
    """A scenario applied: the plan data to solve, the edits and the cells they changed."""

    name: str
    data: PlanData | None
    results: list[EditResult]
    changes: pd.DataFrame  # diff() of the base and the scenario
    problems: list[Problem] = field(default_factory=list)

    @property
    def edits(self) -> pd.DataFrame:
        return edits_table(self.results)

    def summary(self) -> str:
        n = len(self.results)
        return f"{n} edit{'s' if n != 1 else ''}, {len(self.changes)} input cell{'s' if len(self.changes) != 1 else ''} changed"


# --------------------------------------------------------------------------- entry points

def names(checked: Checked) -> list[str]:
    """Scenario names in the order they first appear on the Scenarios sheet."""
    return list(dict.fromkeys(checked.tables["Scenarios"]["scenario"].dropna()))


def apply(checked: Checked, name: str) -> Applied:
    """The plan data of scenario ``name``; raises InputError if there is no such scenario or its
    edits cannot apply."""
    if name not in names(checked):
        listed = ", ".join(names(checked)) or "none"
        raise InputError([Problem("Scenarios", None, "scenario", name, f"no such scenario (the scenarios: {listed})")])
    base = base_state(checked)
    state, results, problems = edit(base, checked.tables["Scenarios"], name)
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    data = build(state, checked.skipped)
    for r in results:
        if r.reach is not None:
            r.note = _precedence_note(state, data, r.reach)
    return Applied(name, data, results, diff(cells(base), cells(state)), problems)


def check_all(checked: Checked) -> list[Problem]:
    """Every problem the scenarios' edits meet on the checked data (rows they miss, values they make)."""
    base = base_state(checked)
    problems: list[Problem] = []
    for name in names(checked):
        problems += edit(base, checked.tables["Scenarios"], name)[2]
    return problems


def state_of(checked: Checked, name: str | None) -> tuple[State, list[Problem]]:
    """The input of the base (``name`` None or 'base') or of a scenario, for comparing inputs."""
    base = base_state(checked)
    if name is None or name == BASE_SCENARIO:
        return base, []
    if name not in names(checked):
        return base, [Problem("Scenarios", None, "scenario", name, "no such scenario in the embedded inputs", "warning")]
    state, _, problems = edit(base, checked.tables["Scenarios"], name)
    return state, problems


# --------------------------------------------------------------------------- state

def base_state(checked: Checked) -> State:
    """The base input: the checked tables and settings, and the per-period layers they imply."""
    t, periods = checked.tables, checked.data.periods
    n = len(periods)

    def broadcast(values) -> np.ndarray:
        v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(dtype=float)
        return np.repeat(v[:, None], n, axis=1)

    def full(k: int) -> np.ndarray:
        return np.ones((k, n), dtype=bool)

    offers, sources, countries, tariffs = t["Offers"], t["Sources"], t["Countries"], t["Tariffs"]
    country_tariff = broadcast(countries["tariff"])
    layers = {
        ("Offers", "unit_cost"): Layer("Offers", "unit_cost", broadcast(offers["unit_cost"]), full(len(offers))),
        ("Offers", "capacity"): Layer("Offers", "capacity", broadcast(offers["capacity"]), full(len(offers))),
        ("Offers", "tariff"): Layer("Offers", "tariff", broadcast(offers["tariff"]), full(len(offers))),
        ("Sources", "capacity"): Layer("Sources", "capacity", broadcast(sources["capacity"]), full(len(sources))),
        ("Countries", "tariff"): Layer("Countries", "tariff", np.where(np.isnan(country_tariff), 0.0, country_tariff),
                                       full(len(countries))),
    }
    covered = np.array([[p is None or p == q for q in periods] for p in tariffs["period"]], dtype=bool).reshape(len(tariffs), n)
    layers[("Tariffs", "rate")] = Layer("Tariffs", "rate", np.where(covered, broadcast(tariffs["rate"]), np.nan), covered)
    return State({k: v.copy() for k, v in t.items()}, copy.copy(checked.settings), periods, layers)


def build(state: State, skipped: dict[str, int]) -> PlanData:
    """Plan data from an edited state: the tables as for the base, then the per-period layers."""
    t, periods = state.tables, state.periods
    data = _build(t, state.settings, periods, skipped)
    op = data.offer_periods
    o = op["offer"].to_numpy()
    ti = op["period"].to_numpy() - periods[0]
    L = state.layers
    op["unit_cost"] = L[("Offers", "unit_cost")].values[o, ti]
    op["capacity"] = L[("Offers", "capacity")].values[o, ti]
    # the Tariffs row that sets each purchase's rate (the most specific one), found as the base finds rates
    tariffs = t["Tariffs"].reset_index(drop=True)
    nothing = data.offers.assign(tariff=np.nan)
    no_country = data.countries.assign(tariff=np.nan)
    governing = _tariffs(op, nothing, no_country, tariffs.assign(rate=np.arange(len(tariffs), dtype=float)))
    has = ~np.isnan(governing)
    cell = np.full(len(op), np.nan)
    cell[has] = L[("Tariffs", "rate")].values[governing[has].astype(int), ti[has]]
    own = L[("Offers", "tariff")].values[o, ti]
    country_pos = pd.Index(t["Countries"]["country"]).get_indexer(data.offers["country"].to_numpy()[o])
    country = L[("Countries", "tariff")].values[country_pos, ti]
    op["tariff"] = np.where(has, cell, np.where(np.isnan(own), country, own))
    sp = data.source_periods
    source_pos = pd.Index(t["Sources"]["source"]).get_indexer(sp["source"].to_numpy())
    sp["capacity"] = L[("Sources", "capacity")].values[source_pos, sp["period"].to_numpy() - periods[0]]
    return data


# --------------------------------------------------------------------------- edits

def parse_edits(scenarios: pd.DataFrame, name: str) -> list[Edit]:
    """The rows of scenario ``name``, parsed (the grammar was checked by validation)."""
    out = []
    for rec in scenarios[scenarios["scenario"] == name].to_dict("records"):
        target, _ = scenario_target(rec["sheet"], rec["column"], rec["where"])
        if rec["operation"] == "set":
            value, _ = convert(target, rec["value"])
        else:
            value, _ = _number(rec["value"])
        first, last, _ = scenario_periods(rec["period"])
        terms, _ = parse_where(rec["where"])
        out.append(Edit(name, int(rec["row"]), rec["sheet"], target.key, rec["where"], rec["period"], rec["operation"],
                        value, first, last, terms, target))
    return out


def window(checked: Checked, name: str) -> tuple[int, int]:
    """The first and last period scenario ``name`` changes. An edit limited to periods changes
    those (an open range runs to the horizon's end); one without a period, or of a setting,
    changes the whole horizon. Before the first, the scenario cannot be told apart from the
    base (stress tests and robust plans keep those periods' decisions as the base's)."""
    lo, hi = checked.data.periods[0], checked.data.periods[-1]
    edits = parse_edits(checked.tables["Scenarios"], name)
    whole = [e.sheet == "Settings" or e.first is None for e in edits]
    first = min((lo if w else e.first for e, w in zip(edits, whole)), default=lo)
    last = max((hi if w or e.last is None else e.last for e, w in zip(edits, whole)), default=hi)
    return max(lo, first), min(hi, last)


def start_period(checked: Checked, name: str) -> int:
    """The first period scenario ``name`` changes (see :func:`window`)."""
    return window(checked, name)[0]


def edit(base: State, scenarios: pd.DataFrame, name: str) -> tuple[State, list[EditResult], list[Problem]]:
    """Apply scenario ``name`` to a copy of ``base``: the new state, what each edit did, problems."""
    state = base.copy()
    results, problems = [], []
    for e in parse_edits(scenarios, name):
        result = EditResult(e)
        if e.sheet == "Settings":
            _edit_setting(state, e, result, problems)
        else:
            _edit_rows(state, e, result, problems)
        if result.rows and not result.cells and not any(p.row == e.row and p.severity == "error" for p in problems):
            problems.append(Problem("Scenarios", e.row, "value", e.value,
                                    f"scenario {name!r}: the edit changes no cell ({e.describe()})", "warning"))
        results.append(result)
    return state, results, problems


def _edit_setting(state: State, e: Edit, result: EditResult, problems: list[Problem]) -> None:
    before = getattr(state.settings, e.column)
    if e.operation == "set":
        after = e.value
    elif before is None:
        after = None  # a blank setting (no shortage penalty, the solver's threads) stands for nothing to scale
    else:
        x = _operate(e, np.array([float(before)]), unlimited=False)
        if not _within(e, x, e.spec, lambda bad: np.array([e.column])[bad], problems):
            return
        after = int(round(x[0])) if e.spec.type == "integer" else float(x[0])
    result.rows = 1
    if not _same(before, after):
        setattr(state.settings, e.column, after)
        result.cells = 1


def _edit_rows(state: State, e: Edit, result: EditResult, problems: list[Problem]) -> None:
    """Edit rows of a data sheet. Rows are edited *whole* (their cell, and every period of a
    per-period value) or, when the edit names periods and the row has none of its own, *in
    those periods* only (a layer; the row's cell keeps its value)."""
    mask = _match(state, e, problems)
    if mask is None:
        return
    table = state.tables[e.sheet]
    col = e.spec
    layer = state.layers.get((e.sheet, e.column))
    periods = np.array(state.periods)
    in_range = np.ones(len(periods), dtype=bool) if e.first is None else (periods >= e.first) & (periods <= e.last)
    whole, partial = mask.copy(), np.zeros(len(mask), dtype=bool)
    if e.first is not None:
        if e.sheet in SCENARIO_PERIOD_KEYED:
            p = pd.to_numeric(table["period"], errors="coerce").to_numpy(dtype=float)
            whole = mask & (p >= e.first) & (p <= e.last)
            partial = mask & np.isnan(p)  # a Tariffs row for every period: edited in the periods named
        else:
            whole, partial = np.zeros(len(mask), dtype=bool), mask
    result.rows = int(whole.sum() + partial.sum())
    if not result.rows:
        problems.append(Problem("Scenarios", e.row, "period", e.period,
                                f"scenario {e.scenario!r}: no {e.sheet} row{' with ' + e.where if e.where else ''} falls in {e.period}", "warning"))
        return
    keys = _Keys(e.sheet, table)
    changed_rows = np.zeros(len(mask), dtype=bool)
    if whole.any():
        idx = np.flatnonzero(whole)
        before = table[e.column].to_numpy(dtype=object)[idx]
        after = _apply_vector(e, _resolved(state, e.sheet, e.column, idx, before), col, keys.rows(idx), problems)
        if after is None:
            return
        changed_rows[idx] = [not _same(a, b) for a, b in zip(before, after)]
        values = table[e.column].to_numpy(dtype=object).copy()
        values[idx] = after
        table[e.column] = pd.Series(values, index=table.index, dtype=object)
    if layer is not None:
        cover = layer.covered & (whole[:, None] | (partial[:, None] & in_range[None, :]))
        before = layer.values[cover]
        after = _apply_layer(e, _resolved_layer(state, e.sheet, e.column, cover, before), col, keys.cells(cover), problems)
        if after is None:
            return
        new = layer.values.copy()
        new[cover] = after
        changed = ~_same_array(layer.values, new) & _window(state, e.sheet)
        layer.values = new
        changed_rows |= whole & changed.any(axis=1)
        result.cells += int(changed[partial].sum())
    result.cells += int(changed_rows.sum())
    if (e.sheet, e.column) == ("Countries", "tariff"):
        result.reach = (frozenset(table["country"].to_numpy()[mask]), e.first, e.last)


class _Keys:
    """Row keys for messages, made only when a message needs them."""

    def __init__(self, sheet: str, table: pd.DataFrame):
        self.sheet, self.table = sheet, table

    def rows(self, idx: np.ndarray):
        return lambda bad: np.array(row_keys(self.sheet, self.table), dtype=object)[idx][bad]

    def cells(self, cover: np.ndarray):
        def pick(bad):
            keys = np.array(row_keys(self.sheet, self.table), dtype=object)
            return np.broadcast_to(keys[:, None], cover.shape)[cover][bad]
        return pick


def _window(state: State, sheet: str) -> np.ndarray:
    """Where each row of ``sheet`` has a value the model uses: an offer within its window."""
    layer_rows = len(state.tables[sheet])
    periods = np.array(state.periods)
    if sheet != "Offers":
        return np.ones((layer_rows, len(periods)), dtype=bool)
    t = state.tables["Offers"]
    first = pd.to_numeric(t["first_period"], errors="coerce").fillna(periods[0]).to_numpy()
    last = pd.to_numeric(t["last_period"], errors="coerce").fillna(periods[-1]).to_numpy()
    return (periods[None, :] >= first[:, None]) & (periods[None, :] <= last[:, None])


def _precedence_note(state: State, data: PlanData, reach: tuple) -> str:
    """How many purchase options of the countries edited keep a more specific rate (precedence)."""
    countries, first, last = reach
    op = data.offer_periods
    o = op["offer"].to_numpy()
    period = op["period"].to_numpy()
    mine = np.isin(data.offers["country"].to_numpy()[o], list(countries))
    if first is not None:
        mine &= (period >= first) & (period <= last)
    if not mine.any():
        return "no offer of these countries in these periods"
    tariffs = state.tables["Tariffs"].reset_index(drop=True)
    by_row = ~np.isnan(_tariffs(op, data.offers.assign(tariff=np.nan), data.countries.assign(tariff=np.nan),
                                tariffs.assign(rate=np.arange(len(tariffs), dtype=float))))
    own = ~np.isnan(state.layers[("Offers", "tariff")].values[o, period - state.periods[0]])
    kept = mine & (by_row | own)
    if not kept.any():
        return f"applies to all {int(mine.sum())} offer-periods of these countries"
    n_rows, n_own = int((mine & by_row).sum()), int((mine & ~by_row & own).sum())
    parts = [f"{n_rows} by a Tariffs row"] * bool(n_rows) + [f"{n_own} by the offer's own tariff"] * bool(n_own)
    return (f"applies to {int((mine & ~kept).sum())} of {int(mine.sum())} offer-periods of these countries; "
            f"the rest keep a more specific rate ({', '.join(parts)})")


# --------------------------------------------------------------------------- where

def _path_to(sheet: str, field: str) -> list[tuple[str, str]]:
    """The references from ``sheet`` to the nearest sheet with column ``field``: [(column, sheet), ...]."""
    queue: list[tuple[str, list]] = [(sheet, [])]
    while queue:
        s, path = queue.pop(0)
        if field in schema.sheet(s).keyset:
            return path
        queue.extend((parent, path + [(col, parent)]) for col, parent in SCENARIO_RELATED.get(s, []))
    raise KeyError(field)


def _column_of(sheet: str, field: str) -> schema.Column:
    """The schema column a where field names: the sheet's own, else the nearest related sheet's."""
    path = _path_to(sheet, field)
    return schema.sheet(path[-1][1] if path else sheet).column(field)


def field_values(state: State, sheet: str, field: str) -> np.ndarray:
    """The value of ``field`` for each row of ``sheet``, as the model reads it (blanks resolved),
    taken from the row itself or from the row it refers to (an offer's source, its country)."""
    path = _path_to(sheet, field)
    sheets = [sheet] + [parent for _, parent in path]
    t = state.tables[sheets[-1]]
    values = _resolved(state, sheets[-1], field, np.arange(len(t)), t[field].to_numpy(dtype=object))
    for (col, parent), child in reversed(list(zip(path, sheets[:-1]))):
        keys = state.tables[parent][schema.sheet(parent).keys[0]].to_numpy(dtype=object)
        pos = pd.Index(keys).get_indexer(state.tables[child][col].to_numpy(dtype=object))
        values = np.array([values[i] if i >= 0 else None for i in pos], dtype=object)
    return values


def _match(state: State, e: Edit, problems: list[Problem]) -> np.ndarray | None:
    """Rows of ``e.sheet`` the edit's ``where`` selects; None (with a problem) if it matches none."""
    mask = np.ones(len(state.tables[e.sheet]), dtype=bool)
    missed = False
    for f, values in e.terms:
        col = _column_of(e.sheet, f)
        cells = field_values(state, e.sheet, f)
        hit = np.zeros(len(cells), dtype=bool)
        for v in values:
            wanted, why = convert(col, v) if col.type not in ("text", "id") else (v, None)
            one = np.array([_same(c, wanted) for c in cells], dtype=bool) if not why else np.zeros(len(cells), bool)
            if not one.any():
                near = sorted({str(c) for c in cells if c is not None and str(c).lower() == str(v).lower()})
                hint = f"; did you mean {near[0]!r}?" if near else ""
                problems.append(Problem("Scenarios", e.row, "where", e.where,
                                        f"scenario {e.scenario!r}: no {e.sheet} row has {f} {v!r}{hint}"))
                missed = True
            hit |= one
        mask &= hit
    if missed:
        return None
    if not mask.any():
        problems.append(Problem("Scenarios", e.row, "where", e.where,
                                f"scenario {e.scenario!r}: no {e.sheet} row matches {e.where}"))
        return None
    return mask


def row_keys(sheet: str, table: pd.DataFrame) -> list[str]:
    """How a row is named in reports: its key cells joined (a blank Tariffs key cell reads '(all)')."""
    keys = schema.sheet(sheet).keys
    if sheet == "Scenarios":
        keys = ("scenario", "sheet", "column", "where", "period")
    if not keys:
        return [str(r) for r in table["row"]]
    parts = [[ALL if _blank(v) else _show(v) for v in table[k].to_numpy(dtype=object)] for k in keys]
    names = [KEY_SEPARATOR.join(p) for p in zip(*parts)] if len(table) else []
    seen: dict[str, int] = {}
    out = []
    for n in names:  # Scenarios rows may repeat; number the repeats
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
    return out


# --------------------------------------------------------------------------- values

def _resolved(state: State, sheet: str, column: str, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    """What blank cells stand for (non-blank values are returned as they are)."""
    out = np.array(values, dtype=object)
    blank = np.array([_blank(v) for v in out], dtype=bool)
    if not blank.any():
        return out
    t = state.tables[sheet]
    rows = np.asarray(idx)[blank]
    col = schema.sheet(sheet).column(column)
    s = state.settings
    if (sheet, column) == ("Sources", "owner"):
        fill = t["source"].to_numpy(dtype=object)[rows]
    elif (sheet, column) == ("Sources", "earliest_build"):
        fill = [s.base_period if s.base_period is not None else state.periods[0]] * len(rows)
    elif (sheet, column) in (("Sources", "risk_score"), ("Offers", "tariff")):
        attr = "risk_score" if column == "risk_score" else "tariff"
        countries = state.tables["Countries"].set_index("country")[attr]
        if sheet == "Offers":
            country = t["source"].map(state.tables["Sources"].set_index("source")["country"])
        else:
            country = t["country"]
        fill = country.map(countries).to_numpy(dtype=object)[rows]
        fill = [0.0 if _blank(v) else v for v in fill]
    elif (sheet, column) == ("Demand", "shortage_penalty"):
        fill = [s.shortage_penalty] * len(rows)
    elif (sheet, column) == ("Offers", "first_period"):
        fill = [state.periods[0]] * len(rows)
    elif (sheet, column) == ("Offers", "last_period"):
        fill = [state.periods[-1]] * len(rows)
    elif col.key == "capacity" or col.default is None:
        fill = [None] * len(rows)
    else:
        fill = [col.default] * len(rows)
    out[blank] = np.array(list(fill), dtype=object)
    return out


def _resolved_layer(state: State, sheet: str, column: str, cover: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Layer values with blanks resolved: an offer's blank tariff is its country's in that period."""
    if (sheet, column) != ("Offers", "tariff") or not np.isnan(before).any():
        return before
    offers = state.tables["Offers"]
    country = offers["source"].map(state.tables["Sources"].set_index("source")["country"]).to_numpy(dtype=object)
    pos = pd.Index(state.tables["Countries"]["country"]).get_indexer(country)
    countries = state.layers[("Countries", "tariff")].values[pos, :]
    return np.where(np.isnan(before), countries[cover], before)


def _apply_vector(e: Edit, resolved: np.ndarray, col: schema.Column, keys: np.ndarray,
                  problems: list[Problem]) -> np.ndarray | None:
    """New cell values for one edit of whole rows (None, with a problem, when a value breaks a bound)."""
    if e.operation == "set":
        return np.array([e.value] * len(resolved), dtype=object)
    numbers = np.array([np.nan if _blank(v) else float(v) for v in resolved], dtype=float)
    after = _operate(e, numbers, unlimited=col.key == "capacity")
    if not _within(e, after, col, keys, problems):
        return None
    typed = [None if math.isnan(x) else (int(round(x)) if col.type == "integer" else float(x)) for x in after]
    return np.array(typed, dtype=object)


def _apply_layer(e: Edit, resolved: np.ndarray, col: schema.Column, keys: np.ndarray,
                 problems: list[Problem]) -> np.ndarray | None:
    """New per-period values for one edit (None, with a problem, when a value breaks a bound)."""
    if e.operation == "set":
        return np.full(len(resolved), float(e.value))
    after = _operate(e, resolved, unlimited=col.key == "capacity")
    return after if _within(e, after, col, keys, problems) else None


def _operate(e: Edit, x: np.ndarray, unlimited: bool) -> np.ndarray:
    """set / scale / add on numbers; NaN is a blank: an unlimited capacity or a value that stands for nothing."""
    v = float(e.value)
    if e.operation == "scale":
        out = x * v
        if unlimited and v == 0:
            out = np.where(np.isnan(x), 0.0, out)
        return out
    return x + v


def _within(e: Edit, after: np.ndarray, col: schema.Column, keys, problems: list[Problem]) -> bool:
    """Values an edit makes must be what the column accepts (bounds, whole numbers)."""
    finite = ~np.isnan(after)
    bad = np.zeros(len(after), dtype=bool)
    if col.minimum is not None:
        bad |= finite & (after < col.minimum - 1e-12)
    if col.maximum is not None:
        bad |= finite & (after > col.maximum + 1e-12)
    if col.type == "integer":
        bad |= finite & (np.abs(after - np.round(after)) > 1e-9)
    expected = ["a whole number"] * (col.type == "integer") + [schema.range_text(col)] * bool(schema.range_text(col))
    if not bad.any():
        return True
    where = ""
    if keys is not None:
        shown = ", ".join(str(k) for k in keys(bad)[:3])
        where = f" for {shown}" + (f" and {int(bad.sum()) - 3} more" if bad.sum() > 3 else "")
    problems.append(Problem("Scenarios", e.row, "value", e.value,
                            f"scenario {e.scenario!r}: {e.operation} {_show(e.value)} makes {e.target} "
                            f"{after[bad][0]:g}{where}; expected {' and '.join(expected)}"))
    return False


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _same(a, b) -> bool:
    if _blank(a) or _blank(b):
        return _blank(a) and _blank(b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return str(a) == str(b)


def _same_array(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both_blank = np.isnan(a) & np.isnan(b)
    return both_blank | np.isclose(a, b, rtol=1e-12, atol=1e-12)


def _show(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------- cells and differences

CELL_COLUMNS = ["sheet", "key", "column", "period", "base", "plan"]


def cells(state: State) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The input cell by cell: (rows: sheet, key, column, value; per-period values that differ
    from their row's: sheet, key, column, period, value)."""
    settings = [f.name for f in dataclasses.fields(Settings)]
    parts = {"sheet": [np.full(len(settings), "Settings", dtype=object)], "key": [np.array(settings, dtype=object)],
             "column": [np.full(len(settings), "value", dtype=object)],
             "value": [np.array([getattr(state.settings, k) for k in settings] + [None], dtype=object)[:-1]]}
    keys_of: dict[str, np.ndarray] = {}
    for spec in schema.SHEETS:
        t = state.tables.get(spec.name)
        if spec.name == "Settings" or t is None or t.empty:
            continue
        keys_of[spec.name] = keys = np.array(row_keys(spec.name, t), dtype=object)
        columns = [c.key for c in spec.columns if c.key not in spec.keys and c.key != "include"]
        parts["sheet"].append(np.full(len(t) * len(columns), spec.name, dtype=object))
        parts["key"].append(np.tile(keys, len(columns)))
        parts["column"].append(np.repeat(np.array(columns, dtype=object), len(t)))
        parts["value"].append(np.concatenate([t[c].to_numpy(dtype=object) for c in columns]))
    rows = pd.DataFrame({k: np.concatenate(v) for k, v in parts.items()})
    over = {"sheet": [], "key": [], "column": [], "period": [], "value": []}
    for (sheet, column), layer in state.layers.items():
        t = state.tables[sheet]
        if t.empty:
            continue
        row_value = pd.to_numeric(pd.Series(t[column].to_numpy(dtype=object), dtype=object), errors="coerce").to_numpy(dtype=float)
        differs = ~_same_array(layer.values, np.repeat(row_value[:, None], len(state.periods), axis=1))
        i, j = np.nonzero(differs & layer.covered & _window(state, sheet))
        over["sheet"].append(np.full(len(i), sheet, dtype=object))
        over["key"].append(keys_of[sheet][i])
        over["column"].append(np.full(len(i), column, dtype=object))
        over["period"].append(np.array(state.periods)[j])
        over["value"].append(layer.values[i, j])
    overrides = pd.DataFrame({k: (np.concatenate(v) if v else np.array([], dtype=object)) for k, v in over.items()})
    return rows, overrides


def diff(a: tuple[pd.DataFrame, pd.DataFrame], b: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """Every input cell that differs from ``a`` (the base) to ``b``: sheet, key, column, period, base, plan.

    A row present on one side only is one line (column '(row)'). A per-period value is listed
    when it does not simply follow its row's change.
    """
    (rows_a, over_a), (rows_b, over_b) = a, b
    cell_a, cell_b = _by_cell(rows_a), _by_cell(rows_b)
    lines = []
    rows_of_a = {(s, k) for s, k, _ in cell_a}
    rows_of_b = {(s, k) for s, k, _ in cell_b}
    for sheet, key in rows_of_a ^ rows_of_b:
        present = (sheet, key) in rows_of_b
        lines.append((sheet, key, "(row)", None, "absent" if present else "present", "present" if present else "absent"))
    for cell, va in cell_a.items():
        if cell in cell_b and not _same(va, cell_b[cell]):
            lines.append((*cell, None, va, cell_b[cell]))
    per_a, per_b = _by_cell(over_a, period=True), _by_cell(over_b, period=True)
    for cell in per_a.keys() | per_b.keys():
        row = cell[:3]
        if row not in cell_a or row not in cell_b:
            continue  # the row itself is new or gone: listed above
        ra, rb = _as_float(cell_a[row]), _as_float(cell_b[row])
        va, vb = per_a.get(cell, ra), per_b.get(cell, rb)
        if (_same(va, ra) and _same(vb, rb)) or (_same(va, vb) and _same(ra, rb)):
            continue
        lines.append((*row, int(cell[3]), va, vb))
    return _sorted(pd.DataFrame(lines, columns=CELL_COLUMNS))


def _by_cell(frame: pd.DataFrame, period: bool = False) -> dict:
    cols = ["sheet", "key", "column"] + ["period"] * period
    if frame.empty:
        return {}
    return dict(zip(zip(*(frame[c].to_numpy() for c in cols)), frame["value"].to_numpy(dtype=object)))


def _as_float(v):
    x, why = (None, "blank") if _blank(v) else _number(v)
    return float("nan") if why else x


def _sorted(out: pd.DataFrame) -> pd.DataFrame:
    if out.empty:
        return out.reset_index(drop=True)
    sheet_order = {s.name: i for i, s in enumerate(schema.SHEETS)}
    col_order = {(s.name, c.key): j for s in schema.SHEETS for j, c in enumerate(s.columns)}
    key = pd.DataFrame({
        "s": out["sheet"].map(sheet_order),
        "k": out["key"].astype(str),
        "c": [col_order.get((s, c), -1) for s, c in zip(out["sheet"], out["column"])],
        "p": pd.to_numeric(out["period"], errors="coerce").fillna(-1),
    })
    return out.loc[key.sort_values(["s", "k", "c", "p"], kind="stable").index].reset_index(drop=True)


def edits_table(results: list[EditResult]) -> pd.DataFrame:
    """One row per edit: where it is on the Scenarios sheet, what it does, how much it changed."""
    return pd.DataFrame([{
        "scenarios_row": r.edit.row, "sheet": r.edit.sheet, "column": r.edit.column, "where": r.edit.where or "all rows",
        "period": r.edit.period or "all", "operation": r.edit.operation, "value": r.edit.value, "rows_matched": r.rows,
        "cells_changed": r.cells, "note": r.note,
    } for r in results], columns=["scenarios_row", "sheet", "column", "where", "period", "operation", "value",
                                  "rows_matched", "cells_changed", "note"])
