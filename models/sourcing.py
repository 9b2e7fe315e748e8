r"""The sourcing model: typed plan data → a Pyomo mixed-integer model (SPEC §3).

Pipeline: :func:`build_model` prepares flat tables with pandas (one row per purchase
variable, per build option, per policy instance), declares the sets and variables, then
calls every function of :data:`CONSTRAINT_FAMILIES` in order and finally
:func:`add_objective`. Each family documents its mathematics and what it runs over.

Notation: o an offer (a source s selling a material m), t a period, b a build period.
``bound[o,t]`` is the tightest upper bound the data gives on a purchase::

    bound[o,t] = min(capacity[o,t], capacity[s,t], max(useful[m,t], min_order[o]))

Buying more of a material than can be used has no use, so a single offer never supplies
more than ``useful[m,t]`` (or its minimum order, when that is larger: a minimum order may
force buying beyond it). For a material without stock, useful = its demand in that period;
for a stocked material, the demand from t to the end of the horizon plus the largest reserve
still to hold, and at most demand[m,t] + max_stock (see :func:`_stock_table`). The whole
purchase may still exceed demand when several minimum orders add up (the excess is disposed of).

Sets (``UPPER_SNAKE``)
    OFFER_PERIODS (s, m, t)   purchase options: inside the offer's period window
                              [first_period, last_period] (the offer period window: no
                              variable exists outside it), with a use for m in t, a
                              positive bound, and for candidates t >= earliest possible
                              supply (first build option + lead_time)
    USE_OFFER_PERIODS         those with an offer-in-use decision: min_order > 0,
                              contract_cost > 0, or counted by a max/min_sources policy
    SOURCE_USE_PERIODS (s, t) sources with fixed_cost > 0, in periods they can supply
    BUILD_OPTIONS (s, b)      candidates and the periods they may be built in:
                              b >= earliest_build and b + lead_time <= last period
    SHORTFALL_DEMANDS (m, t)  demand with a shortage penalty
    SHARE_SUPPLIES (m, t)     material-periods some share policy covers
    SOFT_POLICIES             soft policy instances that have a row
    STOCK_PERIODS (m, t)      stocked materials (Stockpile sheet) × every period
    RELEASE_PERIODS (m, t)    those whose material has a release cost

Variables (``PascalCase``): Buy >= 0, Use, SourceUse, Build binary, Shortfall >= 0,
Violation >= 0, Supply >= 0 (a material's total purchase, for share rows), Stock >= reserve
(end-of-period stock), Release >= 0 (stock drawn, where drawing costs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter

import functools
import gc
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
from pandas.arrays import NumpyExtensionArray

from .data import PlanData
from .matrix import Keys, MatrixModel, Row
from .policies import (COUNT_RULES, HORIZON, SHARE_RULES, TOTAL_RULES, Expansion, PolicyInstance, _factorize,
                       expand, rule_is_max, rule_kind)
from .policies import ranges as _ranges

# Pyomo, imported when a Pyomo model is first built (:func:`_import_pyomo`): ``planner solve``
# builds a MatrixModel and never needs it (0.26 s of every start).
pyo = LinearExpression = MonomialTermExpression = None


def _import_pyomo() -> None:
    global pyo, LinearExpression, MonomialTermExpression
    if pyo is None:
        import pyomo.environ
        from pyomo.core.expr import numeric_expr

        pyo, LinearExpression, MonomialTermExpression = (pyomo.environ, numeric_expr.LinearExpression,
                                                         numeric_expr.MonomialTermExpression)


@contextmanager
def _gc_paused(promote: bool = False):
    """Building creates hundreds of thousands of small objects; cyclic GC passes over them would dominate.

    ``promote``: what is still alive at the end (a MatrixModel: keys, policy instances) would then
    be scanned by the first young collection, right away (L: 7 ms), and by the next middle one. It
    lives as long as the model, so it goes straight to the oldest generation instead, the one full
    collections scan (gc.freeze moves every tracked object out of the generations, unfreeze back into
    the oldest). Not when something else has frozen objects (unfreeze would give them back to the
    collector); not for a Pyomo model, whose components refer to each other: one dropped is garbage
    that only the collector frees, sooner from a younger generation. Building a MatrixModel leaves
    no such garbage.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if promote and not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


# An offer counted by a min_sources policy without a minimum order is "in use" only when it
# supplies at least this fraction of its bound (so that counting cannot be met by buying 0).
IN_USE_FRACTION = 0.01

# What a unit purchase adds to each total metric (an op column; None = 1).
METRIC_COLUMN = {"quantity": None, "spend": "price", "co2e": "co2e", "water": "water", "waste": "waste",
                 "risk": "risk_score"}

def metric_weights(op: pd.DataFrame, p: "PolicyInstance") -> np.ndarray:
    """What one unit bought from each of a total rule's members adds to its metric."""
    col = METRIC_COLUMN[p.metric]
    return np.ones(len(p.members)) if col is None else op[col].to_numpy(dtype=float)[p.members]


OFFER_ATTRIBUTES = ("source", "material", "country", "bloc", "kind", "owner", "status", "risk_score",
                    "min_order", "contract_cost", "co2e", "water", "waste")


@dataclass(frozen=True)
class Obstacle:
    """A reason the data cannot be met whatever is bought, found while building."""

    constraint: str
    index: object
    message: str
    sheet: str
    row: int | None
    amount: float | None = None  # the most the data allows (capacity, offers that can be counted)
    instance: PolicyInstance | None = None  # the policy instance, for policy obstacles


class InfeasibleData(Exception):
    """The model would be infeasible for reasons visible in the data alone."""

    def __init__(self, obstacles: list[Obstacle]):
        self.obstacles = obstacles
        super().__init__("; ".join(o.message for o in obstacles[:3]))


@dataclass
class ModelTables:
    """The flat tables the model was built from, kept for extraction and reports.

    op          one row per Buy variable (the order of ``buy``): offer attributes, ``period``,
                ``unit_cost``, ``tariff``, ``price`` (unit cost × (1 + tariff)), ``capacity``,
                ``source_capacity``, ``demand``, ``bound``, ``discount``, ``candidate``,
                ``has_use``, ``has_source_use``, ``min_in_use``, ``contract`` (min order or contract cost)
    stock       one row per Stock variable (see :func:`_stock_table`)
    builds      one row per Build variable: ``source``, ``period``, ``build_cost``,
                ``lead_time``, ``discount``
    demand      one row per demand: ``material``, ``period``, ``quantity``,
                ``shortage_penalty``, ``row``, ``discount``
    policies    every policy instance, in Policies row order (made when first read: models.matrix.Keys)
    policy_rows policy instance name → the name of the constraint its row is in (made when first read from
                ``policy_rows_of``: each constraint's instances, positions in ``policies``); instances
                that can never bind have no row
    """

    op: pd.DataFrame
    builds: pd.DataFrame
    demand: pd.DataFrame
    policies: Sequence[PolicyInstance]
    buy: Sequence = field(default_factory=list)  # the Buy variables in op's order (a MatrixModel's: a range of columns)
    stock: pd.DataFrame = field(default_factory=pd.DataFrame)  # see _stock_table
    policy_rows_of: list = field(default_factory=list)  # (constraint name, positions in policies of its rows' instances)
    cost_terms: dict[str, tuple] = field(default_factory=dict)  # see add_objective
    obstacles: list[Obstacle] = field(default_factory=list)
    codes: _Codes | None = field(default=None, repr=False)  # see _Codes
    policy_arrays: _PolicyArrays | None = field(default=None, repr=False)  # see _PolicyArrays; made when first read
    results: dict = field(default_factory=dict, repr=False)  # the model-only part of reading results (prepare_results)
    _policy_rows: dict | None = field(default=None, init=False, repr=False)

    @property
    def policy_rows(self) -> dict[str, str]:
        """Policy instance name → the name of the constraint its row is in (made when first read)."""
        if self._policy_rows is None:
            names = self.codes.expansion.names if self.policy_rows_of else []
            self._policy_rows = {n: c for n, c in zip(names, self.policy_constraints()) if c is not None}
        return self._policy_rows

    def policy_constraints(self) -> list[str | None]:
        """Each policy instance's constraint (its name), in the order of ``policies``; None where it has no row."""
        out: list[str | None] = [None] * len(self.policies)
        for name, at in self.policy_rows_of:
            for i in at.tolist():
                out[i] = name
        return out


@dataclass
class _Codes:
    """op's rows and the policy instances as integer codes, so that the families find variables by
    position, not by key (a Buy is op's row, a Violation the soft instance's place, and so on).

    source, material  each op row's source / material, a position in ``sources`` / ``materials``
                      (the offers' values, in order of first appearance)
    period            each op row's period (int); (source, period) pairs are coded
                      source · span + period - first, likewise for materials
    builds            per source: its first Build option (a position in ``builds``), their
                      number, the first build period and the lead time (0 for existing sources)
    rules, soft       the positions in ``policies`` of each rule's instances; which are soft
    expansion         what the families read of the instances (names, limits, members, …) as
                      arrays over them (models.policies.Expansion), rather than instance by instance
    """

    source: np.ndarray
    sources: np.ndarray
    material: np.ndarray
    materials: np.ndarray
    period: np.ndarray
    first: int
    span: int
    builds: tuple = ()
    rules: dict = field(default_factory=dict)
    soft: np.ndarray | None = None
    keys: list | None = None  # op's keys, built once (see _op_keys)
    source_use: tuple | None = None  # see _source_use
    supplies: tuple | None = None  # see _supplies
    expansion: Expansion | None = None


# --------------------------------------------------------------------------- entry point

def build_model(data: PlanData) -> pyo.ConcreteModel:
    """The Pyomo model of ``data``. Raises :class:`InfeasibleData` when no plan can exist."""
    _import_pyomo()
    m = pyo.ConcreteModel(name=data.settings.plan_name)
    populate(m, data)
    if m.tables.obstacles:
        raise InfeasibleData(m.tables.obstacles)
    return m


def build_matrix(data: PlanData) -> MatrixModel:
    """The same model as :func:`build_model`, recorded as a matrix without Pyomo (see
    :mod:`models.matrix`): what ``planner solve`` hands to HiGHS. Raises :class:`InfeasibleData`."""
    m = MatrixModel(name=data.settings.plan_name)
    populate(m, data)
    if m.tables.obstacles:
        raise InfeasibleData(m.tables.obstacles)
    return m


def populate(m: pyo.Block | MatrixModel, data: PlanData) -> None:
    """Declare the whole sourcing model of ``data`` on the block ``m`` (a model, or one block of
    a larger model such as the robust plan's scenarios), or record it in the :class:`MatrixModel`
    ``m``. Obstacles are left in ``m.tables``."""
    m.plan = data
    with _gc_paused(promote=isinstance(m, MatrixModel)):
        m.tables = _tables(data)
        if isinstance(m, MatrixModel):
            _declare_columns(m)
        else:
            _import_pyomo()
            _declare(m)
        for add in CONSTRAINT_FAMILIES:
            add(m)
        add_objective(m)


def _discount(data: PlanData, periods) -> np.ndarray:
    return (1.0 + data.settings.discount_rate) ** -(np.asarray(periods, dtype=float) - data.base_period)


def _tables(data: PlanData) -> ModelTables:
    periods = data.periods
    src = data.sources
    # build options (a candidate's consecutive, by period) and the first period each candidate could supply
    cand = np.flatnonzero((src["status"] == "candidate").to_numpy())  # positions in src
    first = np.maximum(src["earliest_build"].to_numpy()[cand], periods[0])
    lead = src["lead_time"].to_numpy()[cand]
    n = np.clip(periods[-1] - lead - first + 1, 0, None)
    of = np.repeat(cand, n)  # each option's source, a position in src
    builds = pd.DataFrame({"source": src.index.to_numpy()[of],
                           "period": np.repeat(first, n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)})
    builds["build_cost"] = src["build_cost"].to_numpy()[of].astype(float)
    builds["lead_time"] = src["lead_time"].to_numpy()[of].astype(int)
    builds["discount"] = _discount(data, builds["period"])
    built = n > 0  # the earliest supply: the first option + lead_time
    first_supply = pd.Series(first[built] + lead[built], index=src.index.to_numpy()[cand[built]])

    stock = _stock_table(data)
    # Everything per source, material or offer is worked out once per source, material or offer and
    # taken per offer-period by position: hashing the keys of every offer-period cost more than the rest.
    ops, offers = data.offer_periods, data.offers
    offer, period = ops["offer"].to_numpy(), ops["period"].to_numpy().astype(np.int64)
    source_of, sources = _factorize(offers["source"].to_numpy(), sort=False, use_na_sentinel=False)
    material_of, materials = pd.factorize(offers["material"].to_numpy(), use_na_sentinel=False)
    s, mat = source_of[offer], material_of[offer]
    lo = int(period.min()) if len(period) else 0
    span = int(period.max()) - lo + 1 if len(period) else 1
    t = period - lo
    # the offers' attributes, typed (pandas infers strings) on the offers that have a period: as if on
    # every offer-period, as op's columns were once typed
    has_period = np.zeros(len(offers), dtype=bool)
    has_period[offer] = True
    attributes = pd.DataFrame({c: offers[c].to_numpy()[has_period] for c in OFFER_ATTRIBUTES})
    row_of = (np.cumsum(has_period) - 1)[offer]  # each offer-period's offer, a row of attributes
    candidate = (attributes["status"].to_numpy() == "candidate")[row_of]
    fixed_cost = src["fixed_cost"].reindex(sources).to_numpy(dtype=float)
    source_capacity = _grid(pd.Index(sources), data.source_periods["source"], data.source_periods["period"],
                            data.source_periods["capacity"], lo, span)[s, t]
    demanded = _grid(pd.Index(materials), data.demand["material"], data.demand["period"], data.demand["quantity"],
                     lo, span)[mat, t]
    demanded = np.where(np.isnan(demanded), 0.0, demanded)
    earliest = first_supply.reindex(sources).to_numpy(dtype=float)[s]  # NaN for existing sources
    supplies = ~candidate | (period >= earliest)
    # what a purchase can be used for: this period's demand, or, for a stocked material, stock
    useful = demanded
    if len(stock):
        stocked = _grid(pd.Index(materials), stock["material"], stock["period"], stock["useful"], lo, span)[mat, t]
        useful = np.where(np.isnan(stocked), useful, stocked)
    min_order = attributes["min_order"].to_numpy()[row_of]
    bound = np.fmin(np.fmin(ops["capacity"].to_numpy(dtype=float), source_capacity), np.maximum(useful, min_order))
    keep = np.flatnonzero(supplies & (useful > 0) & (bound > 0))

    # op: the offer-period rows kept, their offers' attributes, then what was worked out above (a column
    # seen again keeps its place, as when assigned)
    op = _taken(ops, keep)
    op.update(_taken(attributes, row_of[keep]))
    op.update(candidate=candidate[keep], fixed_cost=fixed_cost[s[keep]], source_capacity=source_capacity[keep],
              demand=demanded[keep], useful=useful[keep], bound=bound[keep])
    op["price"] = op["unit_cost"] * (1.0 + op["tariff"])
    op["discount"] = _discount(data, np.arange(lo, lo + span))[t[keep]]  # per period, then taken
    op = _frame(op)
    codes = _Codes(source=s[keep], sources=sources, material=mat[keep], materials=materials, period=period[keep],
                   first=lo, span=span, builds=_build_options(builds, sources))

    demand = data.demand[data.demand["quantity"] > 0].reset_index(drop=True)
    demand = demand.assign(discount=_discount(data, demand["period"]))

    # the selection fields coded per offer (a row of attributes), not per offer-period
    codes.expansion = expansion = expand(data.policies, op, periods, offers=(attributes, row_of[keep]))
    policies = Keys(len(expansion), lambda: expansion.instances)  # made when first read: the model reads the arrays
    # each rule's instances (the rules in the order of their first instance), from each Policies row's rule
    rule_of = [f["rule"] for f in expansion.fields]
    rules = list(dict.fromkeys(rule_of[i] for i in np.unique(expansion.row).tolist()))
    rule = np.array([rules.index(r) if r in rules else -1 for r in rule_of], dtype=np.int64)[expansion.row]
    codes.rules = {r: np.flatnonzero(rule == i) for i, r in enumerate(rules)}
    codes.soft = expansion.of_rows("soft", bool)
    counted = np.zeros(len(op), dtype=bool)
    at_least = np.zeros(len(op), dtype=bool)
    for rule in COUNT_RULES:
        at = codes.rules.get(rule, np.zeros(0, dtype=np.int64))
        at = at[~_never_binding("count", rule_is_max(rule), expansion.of_rows("limit", float)[at],
                                np.diff(expansion.member_ptr)[at])]
        members = _members(expansion, at)[1]
        counted[members] = True
        at_least[members] |= rule == "min_sources"
    min_order, bound = min_order[keep], bound[keep]
    contract = (min_order > 0) | (op["contract_cost"].to_numpy() > 0)
    op["has_use"] = contract | counted
    # a supplier whose capacity a scenario cut below its minimum order delivers what it can
    op["min_in_use"] = np.minimum(np.where(min_order > 0, min_order, np.where(at_least, IN_USE_FRACTION * bound, 0.0)),
                                  bound)
    op["has_source_use"] = op["fixed_cost"].to_numpy() > 0
    # a contract: an offer whose use commits the buyer (a minimum order or a contract cost), as
    # opposed to one with an in-use decision only because a sources rule counts it
    op["contract"] = contract
    return ModelTables(op=op, builds=builds, demand=demand, policies=policies, stock=stock, codes=codes)


def _grid(index: pd.Index, keys, periods, values, first: int, span: int) -> np.ndarray:
    """values by (key, period) as a matrix: row = the key's position in ``index``, column = period - first;
    NaN where none (keys not in ``index``, periods outside the span)."""
    grid = np.full((len(index) + 1, span), np.nan)  # the last row for keys not in index
    row = index.get_indexer(np.asarray(keys, dtype=object))
    col = np.asarray(periods, dtype=np.int64) - first
    inside = (col >= 0) & (col < span)
    grid[row[inside], col[inside]] = np.asarray(values, dtype=float)[inside]
    grid[-1] = np.nan
    return grid


def _taken(frame: pd.DataFrame, rows: np.ndarray) -> dict:
    """The columns of ``frame`` at ``rows`` (positions), each an array of its dtype."""
    return {c: frame[c].array.take(rows) for c in frame.columns}


def _frame(columns: dict) -> pd.DataFrame:
    """The frame of these columns as they are: not copied, no dtype inferred (an object column stays object)."""
    def kept(v):
        v = v.to_numpy() if type(v) is NumpyExtensionArray else v  # a numpy dtype (StringArray is a subclass)
        return pd.Series(v, dtype=object, copy=False) if isinstance(v, np.ndarray) and v.dtype == object else v
    return pd.DataFrame({c: kept(v) for c, v in columns.items()}, copy=False)


def _build_options(builds: pd.DataFrame, sources: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per source of ``sources``: its first Build option (a row of ``builds``), their number, the first
    build period and the lead time. A candidate's options are consecutive rows, by period (_tables)."""
    name = builds["source"].to_numpy()
    start = np.flatnonzero(np.r_[True, name[1:] != name[:-1]]) if len(name) else np.zeros(0, dtype=np.int64)
    count = np.diff(np.r_[start, len(name)])
    at = pd.Index(sources).get_indexer(name[start].astype(object))
    at, start, count = at[at >= 0], start[at >= 0], count[at >= 0]  # candidates without offers have no use here
    out = [np.zeros(len(sources), dtype=np.int64) for _ in range(4)]
    for o, v in zip(out, (start, count, builds["period"].to_numpy()[start], builds["lead_time"].to_numpy()[start])):
        o[at] = v
    return tuple(out)


def _stock_table(data: PlanData) -> pd.DataFrame:
    r"""One row per stocked material and period: the Stock variable's bounds and costs.

    reserve     least end-of-period stock (PlanData.reserve, with demand and ahead), the variable's lower bound
    max_stock   its upper bound (NaN = unlimited)
    opening     the initial stock for the first period (NaN afterwards: the previous Stock)
    useful      the most a purchase of the material in the period can be used for: the demand
                from this period to the end plus the largest reserve still to hold, and at
                most this period's demand plus max_stock. With free disposal this bound cuts
                no plan that buys nothing it cannot use, so it is a valid big-M.
    """
    st = data.stockpiles
    cols = ["material", "period", "reserve", "max_stock", "opening", "holding_cost", "release_cost", "discount",
            "demand", "ahead", "useful", "row"]
    if st.empty:
        return pd.DataFrame(columns=cols)
    t = data.reserve()
    for c in ("max_stock", "holding_cost", "release_cost", "row"):
        t[c] = st[c].reindex(t["material"]).to_numpy()
    first = t["period"].to_numpy() == data.periods[0]
    t["opening"] = np.where(first, st["initial_stock"].reindex(t["material"]).to_numpy(dtype=float), np.nan)
    t["discount"] = _discount(data, t["period"])
    g = t.groupby("material", sort=False)
    # reversed cumulative sums / maxima within each material (rows are in period order)
    rest = g["demand"].transform(lambda x: x[::-1].cumsum()[::-1])
    later_reserve = g["reserve"].transform(lambda x: x[::-1].cummax()[::-1])
    t["useful"] = np.fmin(rest + later_reserve, t["demand"] + t["max_stock"].astype(float))
    return t[cols]


def _declare(m: pyo.ConcreteModel) -> None:
    """Sets and variables (see the module docstring)."""
    tb = m.tables
    op = tb.op
    m.PERIODS = pyo.Set(initialize=m.plan.periods, ordered=True)
    m.OFFER_PERIODS = pyo.Set(initialize=_op_keys(tb), dimen=3, ordered=True)
    m.USE_OFFER_PERIODS = pyo.Set(initialize=_op_keys(tb, op["has_use"].to_numpy()), dimen=3, ordered=True)
    m.SOURCE_USE_PERIODS = pyo.Set(initialize=_source_use_keys(tb), dimen=2, ordered=True)
    m.BUILD_OPTIONS = pyo.Set(initialize=list(zip(tb.builds["source"], tb.builds["period"].astype(int))), dimen=2,
                              ordered=True)
    short = tb.demand[tb.demand["shortage_penalty"].notna()]
    m.SHORTFALL_DEMANDS = pyo.Set(initialize=list(zip(short["material"], short["period"].astype(int))), dimen=2,
                                  ordered=True)

    m.Buy = pyo.Var(m.OFFER_PERIODS, domain=pyo.NonNegativeReals, bounds=(0.0, None))
    tb.buy = list(m.Buy.values())  # in op's row order
    for v, b in zip(tb.buy, op["bound"].to_numpy(dtype=float).tolist()):  # cheaper than a bounds rule per index
        v.setub(b)
    m.Use = pyo.Var(m.USE_OFFER_PERIODS, domain=pyo.Binary)
    m.SourceUse = pyo.Var(m.SOURCE_USE_PERIODS, domain=pyo.Binary)
    m.Build = pyo.Var(m.BUILD_OPTIONS, domain=pyo.Binary)
    shortfall_ub = dict(zip(zip(short["material"], short["period"].astype(int)), short["quantity"].astype(float)))
    m.Shortfall = pyo.Var(m.SHORTFALL_DEMANDS, domain=pyo.NonNegativeReals, bounds=lambda _, *k: (0.0, shortfall_ub[k]))
    m.SHARE_SUPPLIES = pyo.Set(initialize=_supplies(tb)[0], dimen=2, ordered=True)
    m.Supply = pyo.Var(m.SHARE_SUPPLIES, domain=pyo.NonNegativeReals)
    m.SOFT_POLICIES = pyo.Set(initialize=_soft_names(tb), ordered=True)
    m.Violation = pyo.Var(m.SOFT_POLICIES, domain=pyo.NonNegativeReals)
    st = tb.stock
    stock_keys = list(zip(st["material"], st["period"].astype(int)))
    m.STOCK_PERIODS = pyo.Set(initialize=stock_keys, dimen=2, ordered=True)
    lo = dict(zip(stock_keys, st["reserve"].astype(float)))
    hi = dict(zip(stock_keys, [None if math.isnan(x) else x for x in st["max_stock"].astype(float)]))
    m.Stock = pyo.Var(m.STOCK_PERIODS, domain=pyo.NonNegativeReals, bounds=lambda _, *k: (lo[k], hi[k]))
    rel = st["release_cost"].astype(float).to_numpy() > 0
    m.RELEASE_PERIODS = pyo.Set(initialize=[k for k, r in zip(stock_keys, rel) if r], dimen=2, ordered=True)
    m.Release = pyo.Var(m.RELEASE_PERIODS, domain=pyo.NonNegativeReals)


def _declare_columns(m: MatrixModel) -> None:
    """The variables of :func:`_declare` as columns of a :class:`MatrixModel`, in the same order."""
    tb = m.tables
    op = tb.op
    fields = [op["source"], op["material"], op["period"].astype(np.int64)]  # the keys' fields, for the solution's index
    m.Buy = m.add_columns("Buy", _op_key_list(m, tb), 0.0, op["bound"].to_numpy(dtype=float), arrays=fields)
    tb.buy = m.Buy.values()  # the column numbers, a range
    use = op["has_use"].to_numpy()
    m.Use = m.add_columns("Use", _op_key_list(m, tb, use), 0.0, 1.0, integer=True, arrays=[f[use] for f in fields])
    m.SourceUse = m.add_columns("SourceUse", _source_use_keys(tb), 0.0, 1.0, integer=True)
    m.Build = m.add_columns("Build", list(zip(tb.builds["source"].tolist(), tb.builds["period"].astype(int).tolist())),
                            0.0, 1.0, integer=True)
    short = tb.demand[tb.demand["shortage_penalty"].notna()]
    short_keys = list(zip(short["material"].tolist(), short["period"].astype(int).tolist()))
    m.Shortfall = m.add_columns("Shortfall", short_keys, 0.0, short["quantity"].to_numpy(dtype=float))
    m.Supply = m.add_columns("Supply", _supplies(tb)[0])
    m.Violation = m.add_columns("Violation", _named(m, int(tb.codes.soft.sum()), functools.partial(_soft_names, tb)))
    st = tb.stock
    stock_keys = list(zip(st["material"], st["period"].astype(int)))
    m.Stock = m.add_columns("Stock", stock_keys, st["reserve"].to_numpy(dtype=float), st["max_stock"].to_numpy(dtype=float))
    rel = st["release_cost"].astype(float).to_numpy() > 0
    m.RELEASE_PERIODS = [k for k, r in zip(stock_keys, rel) if r]
    m.Release = m.add_columns("Release", m.RELEASE_PERIODS)


# --------------------------------------------------------------------------- helpers

def _linear(coefs, variables, constant: float = 0.0) -> LinearExpression:
    """Σ coefs · variables (+ constant), without zero terms; a variable with coefficient 1 stands alone.

    Plain lists, not numpy: most rows have a handful of terms, for which numpy's per-call cost
    would exceed the row's own.
    """
    coefs = np.asarray(coefs, dtype=float).tolist() if isinstance(coefs, np.ndarray) else list(map(float, coefs))
    variables = variables if isinstance(variables, list) else list(variables)
    if variables and variables[0].__class__ is int:  # columns of a MatrixModel
        kept = [(c, v) for c, v in zip(coefs, variables, strict=True) if c] if 0.0 in coefs else None
        if kept is not None:
            coefs, variables = [c for c, _ in kept], [v for _, v in kept]
        return Row(coefs, variables, constant)
    if LinearExpression is None:
        _import_pyomo()
    args = [v if c == 1 else MonomialTermExpression((c, v)) for c, v in zip(coefs, variables, strict=True) if c]
    return LinearExpression([constant] + args if constant else args)


def _keys(op: pd.DataFrame, mask=None) -> list[tuple]:
    sel = op if mask is None else op[mask]
    return list(zip(sel["source"].tolist(), sel["material"].tolist(), sel["period"].astype(int).tolist()))


def contract_keys(m) -> list[tuple]:
    """The Use keys (source, material, period) of the contract offers: a minimum order or a contract
    cost. What plans commit to, stress tests hold and robust plans share (not the offers with a Use
    only because a sources rule counts them: those are spot purchases)."""
    return _keys(m.tables.op, m.tables.op["contract"].to_numpy())


def _op_keys(tb: ModelTables, mask: np.ndarray | None = None) -> list[tuple]:
    """:func:`_keys` of op (its rows ``mask``), the keys built once, from the codes."""
    c = tb.codes
    if c.keys is None:
        period = np.array(range(c.first, c.first + c.span), dtype=object)  # one int object per period
        c.keys = list(zip(c.sources[c.source].tolist(), c.materials[c.material].tolist(),
                          period[c.period - c.first].tolist()))
    if mask is None:
        return c.keys
    rows = np.flatnonzero(mask)  # a few rows taken by position, most by passing over all
    if len(rows) < len(mask) // 2:
        return list(map(c.keys.__getitem__, rows.tolist()))
    return list(compress(c.keys, mask.tolist()))


def _op_key(tb: ModelTables, mask: np.ndarray | None, i: int) -> tuple:
    """The i-th of :func:`_op_keys` (tb, mask), made alone."""
    c = tb.codes
    r = slice(i, i + 1) if mask is None else np.flatnonzero(mask)[i:i + 1]
    return c.sources[c.source[r]].tolist()[0], c.materials[c.material[r]].tolist()[0], c.period[r].tolist()[0]


def _named(m, n: int, make, one=None) -> Sequence:
    """The ``n`` keys ``make()`` gives: made now for a Pyomo model (its sets are made of them), when
    first read for a MatrixModel (models.matrix.Keys: HiGHS needs no names; ``one(i)``, if given,
    makes the i-th alone)."""
    return Keys(n, make, one) if isinstance(m, MatrixModel) else make()


def _op_key_list(m, tb: ModelTables, mask: np.ndarray | None = None) -> Sequence[tuple]:
    """:func:`_op_keys` of op's rows ``mask``, as :func:`_named` makes them."""
    return _named(m, len(tb.op) if mask is None else int(np.count_nonzero(mask)), functools.partial(_op_keys, tb, mask),
                  functools.partial(_op_key, tb, mask))


def _source_use(tb: ModelTables) -> tuple[np.ndarray, np.ndarray]:
    """Each op row's SourceUse (its position in SOURCE_USE_PERIODS; -1 where its source has no fixed
    cost), and the first op row of each: SOURCE_USE_PERIODS are the (source, period) pairs of the
    rows with ``has_source_use``, in order of first appearance."""
    c = tb.codes
    if c.source_use is None:
        sel = tb.op["has_source_use"].to_numpy()
        rows = np.flatnonzero(sel)
        code, _ = pd.factorize(c.source[rows] * c.span + (c.period[rows] - c.first))  # in order of appearance
        at = np.full(len(sel), -1, dtype=np.int64)
        at[rows] = code
        c.source_use = at, rows[np.unique(code, return_index=True)[1]]
    return c.source_use


def _source_use_keys(tb: ModelTables) -> list[tuple]:
    """SOURCE_USE_PERIODS: (source, period)."""
    c, first = tb.codes, _source_use(tb)[1]
    return list(zip(c.sources[c.source[first]].tolist(), c.period[first].tolist()))


def _supplies(tb: ModelTables) -> tuple[list, np.ndarray]:
    """SHARE_SUPPLIES, the (material, period) of every share instance, sorted; and each instance's
    place in it (by position in ``policies``; -1 for other rules)."""
    c = tb.codes
    if c.supplies is None:
        at = np.concatenate([c.rules.get(rule, np.zeros(0, dtype=np.int64)) for rule in SHARE_RULES])
        pairs, at_pair = np.unique(c.expansion.pair[at], return_inverse=True)  # the instances' (material, period)
        keys = [(m, int(t)) for m, t in map(c.expansion.pairs.__getitem__, pairs.tolist())]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        place = np.empty(len(keys), dtype=np.int64)
        place[order] = np.arange(len(keys))
        of = np.full(len(tb.policies), -1, dtype=np.int64)
        of[at] = place[at_pair]
        c.supplies = [keys[i] for i in order], of
    return c.supplies


def _soft_names(tb: ModelTables) -> list[str]:
    """SOFT_POLICIES: the soft instances' names, in order."""
    return list(compress(tb.codes.expansion.names, tb.codes.soft.tolist()))


def _variables(m, var) -> np.ndarray:
    """The variables of ``var`` in key order, as an array: column numbers (int64) of a MatrixModel,
    Pyomo variables (objects) otherwise. Families take them by position: the variable of op row i
    is Buy's i-th, Use's (cumulative has_use count)-th, and so on."""
    if isinstance(m, MatrixModel):
        return np.arange(var.first, var.first + len(var), dtype=np.int64)
    return np.fromiter(var.values(), dtype=object, count=len(var))


def _built(m, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For op's rows ``rows``: the first of their source's Build options (a position in BUILD_OPTIONS) and
    how many have started supply by the row's period t (b + lead_time <= t). A candidate's options are
    consecutive, by period (:func:`_tables`), so those are its first ones; none for existing sources."""
    c = m.tables.codes
    start, count, first, lead = (a[c.source[rows]] for a in c.builds)
    t = c.period[rows]
    return start, np.where(t <= m.plan.periods[-1], np.clip(t - lead - first + 1, 0, count), 0)


def _grouped(code: np.ndarray) -> np.ndarray:
    """The positions by code, stably (ties in position order); codes that fit 16 bits are radix sorted."""
    if len(code) and code.min() >= 0 and code.max() < 1 << 16:
        code = code.astype(np.uint16)
    return np.argsort(code, kind="stable")


def _pairs(m, name: str, keys: list, first: np.ndarray, second: np.ndarray, coef, sense: str) -> None:
    """Rows ``first - coef · second <= 0`` (sense "<=") or ``>= 0`` over ``keys``: the two-term rows
    of several families, recorded at once in a MatrixModel, one by one in Pyomo."""
    coef = np.asarray(coef, dtype=float)
    if isinstance(m, MatrixModel) and (coef != 0).all():
        cols = np.column_stack([np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)])
        coefs = np.column_stack([np.ones(len(coef)), -coef])
        m.add_row_block(name, keys, cols.reshape(-1, 2), coefs.reshape(-1, 2), 0.0 if sense == ">=" else -math.inf,
                        0.0 if sense == "<=" else math.inf)
        return
    rows = (_linear([1.0, -c], [a, b]) for a, b, c in zip(first, second, coef.tolist()))
    exprs = dict(zip(keys, (r <= 0 for r in rows) if sense == "<=" else (r >= 0 for r in rows)))
    _constraint(m, name, keys, exprs)


def _constraint(m, name: str, index: list, exprs: dict) -> None:
    """Add ``name`` over ``index`` (a list of keys) with one expression per key."""
    if isinstance(m, MatrixModel):
        m.add_rows(name, index, exprs)
        return
    dimen = len(index[0]) if index and isinstance(index[0], tuple) else 1
    iset = pyo.Set(initialize=index, dimen=dimen, ordered=True)
    m.add_component(f"{name}_index", iset)
    m.add_component(name, pyo.Constraint(iset, rule=lambda _, *k: exprs[k if len(k) > 1 else k[0]]))


# --------------------------------------------------------------------------- constraint families

def add_demand(m) -> None:
    r"""Demand is met, by purchases, stock drawn or (where a shortage penalty exists) shortfall.

    demand_met[m, t]:  Σ_{o sells m} Buy[o, t] + Shortfall[m, t] + Stock[m, t-1] - Stock[m, t] >= demand[m, t]
    over every demand with quantity > 0 and, for a stocked material, every period of the
    horizon (stock may be bought in a period without demand). Stock terms exist only for
    stocked materials; Stock[m, first period - 1] is the initial stock (a constant, moved to
    the right-hand side). Purchases may exceed demand and stock (minimum orders; the excess is
    disposed of). For a material without stock, a hard demand that no offer can reach, or above
    the sum of its offers' bounds, is an :class:`Obstacle` (infeasible whatever else holds).
    """
    tb, c = m.tables, m.tables.codes
    bound = tb.op["bound"].to_numpy()
    st = tb.stock
    opening = dict(zip(zip(st["material"], st["period"].astype(int)), st["opening"].astype(float)))
    rows = tb.demand
    if len(st):
        rows = rows[["material", "period", "quantity", "row"]].assign(period=lambda d: d["period"].astype(int))
        extra = st.loc[st["demand"] <= 0, ["material", "period", "row"]].assign(quantity=0.0, period=lambda d: d["period"].astype(int))
        rows = pd.concat([rows, extra[rows.columns]], ignore_index=True)
    # each material and period's purchases, in op order: a run of ``order`` (op's rows by material and period)
    code = c.material * c.span + (c.period - c.first)
    order = _grouped(code)
    mats, periods = rows["material"].tolist(), rows["period"].astype(int).tolist()
    at = pd.Index(c.materials).get_indexer(np.asarray(mats, dtype=object))
    col = np.asarray(periods, dtype=np.int64) - c.first
    wanted = np.where((at >= 0) & (col >= 0) & (col < c.span), at * c.span + col, -1)
    lo, hi = np.searchsorted(code[order], wanted, "left"), np.searchsorted(code[order], wanted, "right")
    # the most its purchases can supply, for the rows the loop below checks with it: no other term, some offer
    alone = np.array([not (k in m.Shortfall or k in opening) for k in zip(mats, periods)], dtype=bool)
    checked = np.flatnonzero(alone & (hi > lo))
    most = np.zeros(len(mats))
    most[checked] = _segment_sums(bound[order], lo[checked], (hi - lo)[checked])
    kept, index, rhs, tail = [], [], [], ([], [], [])  # tail: the row, variable and coefficient of other terms
    for r, (mat, t, q, row, n) in enumerate(zip(mats, periods, rows["quantity"].tolist(), rows["row"].tolist(),
                                                (hi - lo).tolist())):
        k = (mat, t)
        terms = [(1.0, m.Shortfall[k])] if k in m.Shortfall else []
        b = float(q)
        if k in opening:
            before = opening[k]
            if math.isnan(before):
                terms.append((1.0, m.Stock[mat, t - 1]))
            else:
                b -= before
            terms.append((-1.0, m.Stock[k]))
        elif not (n or terms):
            tb.obstacles.append(Obstacle("demand_met", k, f"no offer can supply {mat} in {t} (demand {q:g})",
                                         "Demand", int(row), amount=0.0))
            continue
        elif not terms and float(most[r]) < q - 1e-9 * max(1.0, q):
            # each purchase is at most its bound (offer and source capacity): a cheap, certain check
            cap = float(most[r])
            tb.obstacles.append(Obstacle("demand_met", k, f"{mat} in {t}: demand {q:g} exceeds all capacity {cap:g}",
                                         "Demand", int(row), amount=cap))
            continue
        for coef, v in terms:
            tail[0].append(len(kept))
            tail[1].append(v)
            tail[2].append(coef)
        kept.append(r)
        index.append(k)
        rhs.append(b)
    kept = np.array(kept, dtype=np.int64)
    count = (hi - lo)[kept]
    pos = order[_ranges(lo[kept], count)]
    rows = _joined_rows(len(kept), (np.repeat(np.arange(len(kept)), count), _variables(m, m.Buy)[pos], np.ones(len(pos))),
                        (np.array(tail[0], dtype=np.int64), _variable_array(tail[1]), np.array(tail[2], dtype=float)))
    _csr_constraint(m, "demand_met", index, rows, ">=", np.array(rhs))


def add_stock(m) -> None:
    r"""Stock: its reserve and ceiling (variable bounds), and what is drawn from it.

    reserve[m, t] <= Stock[m, t] <= max_stock[m]            (bounds; see _stock_table)
    stock_release[m, t]:  Release[m, t] - Stock[m, t-1] + Stock[m, t] >= 0
    over stocked materials with a release cost (Release is what is drawn from stock; the
    initial stock stands for Stock[m, first - 1]). A reserve above max_stock is an
    :class:`Obstacle`.
    """
    tb = m.tables
    st = tb.stock
    for mat, t, lo, hi, row in zip(st["material"], st["period"].astype(int), st["reserve"], st["max_stock"], st["row"]):
        if lo > hi + 1e-9 * max(1.0, lo):
            tb.obstacles.append(Obstacle("Stock", (mat, int(t)), f"{mat} in {t}: the reserve {lo:g} exceeds max_stock {hi:g}",
                                         "Stockpile", int(row), amount=float(hi)))
    opening = dict(zip(zip(st["material"], st["period"].astype(int)), st["opening"].astype(float)))
    exprs = {}
    for k in m.RELEASE_PERIODS:
        mat, t = k
        before = opening[k]
        if math.isnan(before):
            exprs[k] = _linear([1.0, -1.0, 1.0], [m.Release[k], m.Stock[mat, t - 1], m.Stock[k]]) >= 0
        else:
            exprs[k] = _linear([1.0, 1.0], [m.Release[k], m.Stock[k]]) >= before
    _constraint(m, "stock_release", list(exprs), exprs)


def add_offer_capacity(m) -> None:
    r"""An offer never supplies more than its bound, and nothing when it is not in use.

    offer_capacity[o, t]:  Buy[o, t] <= bound[o, t] · Use[o, t]     over USE_OFFER_PERIODS
    Buy[o, t] <= bound[o, t] otherwise, as a variable bound (no row).
    """
    tb, op = m.tables, m.tables.op
    sel = op["has_use"].to_numpy()
    _pairs(m, "offer_capacity", _op_key_list(m, tb, sel), _variables(m, m.Buy)[sel], _variables(m, m.Use),
           op["bound"].to_numpy()[sel], "<=")


def add_min_order(m) -> None:
    r"""An offer in use supplies at least its minimum order.

    offer_min_order[o, t]:  Buy[o, t] >= min_in_use[o] · Use[o, t]
    over USE_OFFER_PERIODS with min_in_use > 0, where min_in_use = min_order, or, for an
    offer counted by a min_sources policy without a minimum order, IN_USE_FRACTION ·
    bound[o, t] (an offer "in use" must actually supply something); never above bound[o, t]
    (validation keeps minimum orders within capacities; a scenario that cuts a capacity below
    the minimum order leaves the supplier delivering what it can).
    """
    tb, op = m.tables, m.tables.op
    use, low = op["has_use"].to_numpy(), op["min_in_use"].to_numpy()
    sel = use & (low > 0)
    use_at = np.cumsum(use) - 1  # op row → its Use, where it has one
    _pairs(m, "offer_min_order", _op_key_list(m, tb, sel), _variables(m, m.Buy)[sel], _variables(m, m.Use)[use_at[sel]],
           low[sel], ">=")


def add_source_capacity(m) -> None:
    r"""A source supplies at most its capacity over all its materials.

    source_capacity[s, t]:  Σ_{o of s} Buy[o, t] <= capacity[s, t] · x[s, t]
    with x = SourceUse[s, t] when the source has a fixed cost, Σ_{b + lead <= t} Build[s, b]
    for a candidate, else 1. Over (s, t) with a finite capacity and at least two offers
    whose bounds add up to more than it (otherwise the variable bounds already imply it).
    """
    tb, op, c = m.tables, m.tables.op, m.tables.codes
    capacity, bound = op["source_capacity"].to_numpy(dtype=float), op["bound"].to_numpy()
    # op's rows by source (in name order) and period, as groupby would: each (s, t) a run of ``order``
    rank = np.empty(len(c.sources), dtype=np.int64)
    rank[np.argsort(c.sources, kind="stable")] = np.arange(len(c.sources))
    code = rank[c.source] * c.span + (c.period - c.first)
    order = _grouped(code)
    start = np.flatnonzero(np.diff(code[order], prepend=-1))
    size = np.diff(np.append(start, len(order)))
    cap = capacity[order[start]]
    rows = np.flatnonzero((size >= 2) & ~np.isnan(cap))
    rows = rows[~(_segment_sums(bound[order], start[rows], size[rows]) <= cap[rows])]  # (the sums only where needed)
    start, size, cap = start[rows], size[rows], cap[rows]
    head = order[start]  # a row of each (s, t)
    index = list(zip(c.sources[c.source[head]].tolist(), c.period[head].tolist()))
    # the gate x: SourceUse[s, t] for a source with a fixed cost, the Build options started for a candidate
    fixed = np.flatnonzero(op["has_source_use"].to_numpy()[head])
    built = np.flatnonzero(op["candidate"].to_numpy()[head] & ~op["has_source_use"].to_numpy()[head])
    first_build, n = _built(m, head[built])
    built = np.repeat(built, n)
    terms = order[_ranges(start, size)]
    rows = _joined_rows(len(head),
                        (np.repeat(np.arange(len(head)), size), _variables(m, m.Buy)[terms], np.ones(len(terms))),
                        (fixed, _variables(m, m.SourceUse)[_source_use(tb)[0][head[fixed]]], -cap[fixed]),
                        (built, _variables(m, m.Build)[_ranges(first_build, n)], -cap[built]))
    gated = np.zeros(len(head), dtype=bool)
    gated[fixed], gated[built] = True, True
    _csr_constraint(m, "source_capacity", index, rows, "<=", np.where(gated, 0.0, cap))


def add_source_in_use(m) -> None:
    r"""Nothing is bought from a source with a fixed cost unless it is in use (strong form).

    source_in_use[o, t]:  Use[o, t] <= SourceUse[s, t]               when o has Use
                          Buy[o, t] <= bound[o, t] · SourceUse[s, t]  otherwise
    over offers of sources with a fixed cost. One row per offer (not one per source) keeps
    the LP relaxation strong: with one period this is the strong formulation of the
    capacitated facility location problem (x_ij <= d_j · y_i).
    """
    tb, op = m.tables, m.tables.op
    sel = op["has_source_use"].to_numpy()
    rows = np.flatnonzero(sel)
    head, coef = _gated(m, rows)
    source_use = _variables(m, m.SourceUse)[_source_use(tb)[0][rows]]
    _pairs(m, "source_in_use", _op_key_list(m, tb, sel), head, source_use, coef, "<=")


def _gated(m, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a gate row holds back for op's rows ``rows``: Use (coefficient 1) where the row has a Use
    decision, else Buy (coefficient bound)."""
    op = m.tables.op
    use = op["has_use"].to_numpy()
    has = use[rows]
    head = _variables(m, m.Buy)[rows]
    head[has] = _variables(m, m.Use)[(np.cumsum(use) - 1)[rows[has]]]
    return head, np.where(has, 1.0, op["bound"].to_numpy()[rows])


def add_candidate_build(m) -> None:
    r"""A candidate is built at most once and supplies only from its build period + lead time.

    candidate_build_once[s]:            Σ_b Build[s, b] <= 1      (candidates with 2+ options)
    candidate_source_built[s, t]:       SourceUse[s, t] <= Σ_{b + lead <= t} Build[s, b]
    candidate_offer_built[o, t]:        Use[o, t] <= Σ_{b + lead <= t} Build[s, b]   when o has Use
                                        Buy[o, t] <= bound[o, t] · Σ_{b + lead <= t} Build[s, b]
    the offer rows over candidate offers whose source has no fixed cost (otherwise the
    SourceUse row gates them). Build options start at earliest_build (BUILD_OPTIONS), and
    no Buy variable exists before the first option + lead_time (OFFER_PERIODS).
    """
    tb, op, c = m.tables, m.tables.op, m.tables.codes
    build = _variables(m, m.Build)
    # a candidate's options are consecutive rows of builds, by period; the rows by source name, as groupby would
    name = tb.builds["source"].to_numpy()
    start = np.flatnonzero(np.r_[True, name[1:] != name[:-1]]) if len(name) else np.zeros(0, dtype=np.int64)
    size = np.diff(np.append(start, len(name)))
    start, size = (x[np.argsort(name[start], kind="stable")] for x in (start, size))
    once = size > 1
    terms = _ranges(start[once], size[once])
    _csr_constraint(m, "candidate_build_once", name[start[once]].tolist(),
                    (_indptr(size[once]), build[terms], np.ones(len(terms))), "<=", 1)

    source_use, first = _source_use(tb)
    cand = op["candidate"].to_numpy()
    first = first[cand[first]]  # a row of each candidate (s, t) with a SourceUse, in SOURCE_USE_PERIODS order
    first_build, n = _built(m, first)
    terms = _ranges(first_build, n)
    rows = _joined_rows(len(first),
                        (np.arange(len(first)), _variables(m, m.SourceUse)[source_use[first]], np.ones(len(first))),
                        (np.repeat(np.arange(len(first)), n), build[terms], np.full(len(terms), -1.0)))
    keys = list(zip(c.sources[c.source[first]].tolist(), c.period[first].tolist()))
    _csr_constraint(m, "candidate_source_built", keys, rows, "<=", 0)

    sel = cand & ~op["has_source_use"].to_numpy()
    at = np.flatnonzero(sel)
    head, coef = _gated(m, at)
    first_build, n = _built(m, at)
    terms = _ranges(first_build, n)
    rows = _joined_rows(len(at), (np.arange(len(at)), head, np.ones(len(at))),
                        (np.repeat(np.arange(len(at)), n), build[terms], -np.repeat(coef, n)))
    _csr_constraint(m, "candidate_offer_built", _op_key_list(m, tb, sel), rows, "<=", 0)


def add_policy_shares(m) -> None:
    r"""Share rules: the selection's quantity against all quantity of the material and period.

    material_supply[m, t]: Supply[m, t] = Σ_{o sells m} Buy[o, t]    for (m, t) with a share row
    policy_max_share[p]:   Σ_{o∈sel} Buy[o, t] - limit · Supply[m, t] - Violation[p] <= 0
    policy_min_share[p]:   Σ_{o∈sel} Buy[o, t] - limit · Supply[m, t] + Violation[p] >= 0
    over every share instance p = (policy, material, period, selection) that can bind;
    Violation only for soft instances, in quantity units (penalty per unit in the objective).
    Supply keeps each share row as sparse as its selection (``country=*`` would otherwise
    repeat every purchase of the material once per country).
    """
    tb = m.tables
    buy, supply = _variables(m, m.Buy), _variables(m, m.Supply)
    supply_of = _supplies(tb)[1]

    def terms(at, limit, members):  # the selection with coefficient 1, the material's Supply with -limit
        indptr, pos = members
        return _with_term((indptr, buy[pos], np.ones(len(pos))), None, supply[supply_of[at]], -limit), 0.0
    at = np.sort(np.concatenate(_add_policies(m, SHARE_RULES, terms)))  # the instances with a row, in policy order
    # each (m, t) of those, in order of first appearance, with the scope of its first instance
    first = np.sort(np.unique(supply_of[at], return_index=True)[1])
    at = at[first].tolist()
    e = tb.codes.expansion
    indptr, pos = _concatenated([e.scopes[k] for k in e.scope_of[at].tolist()])
    keys = [_supplies(tb)[0][i] for i in supply_of[at].tolist()]
    rows = _with_term((indptr, buy[pos], np.full(len(pos), -1.0)), None, supply[supply_of[at]], 1.0, first=True)
    _csr_constraint(m, "material_supply", keys, rows, "==", 0)


def add_policy_counts(m) -> None:
    r"""Count rules: the number of offers of the selection in use for the material and period.

    policy_max_sources[p]:  Σ_{o∈sel} Use[o,t] - Violation[p] <= limit
    policy_min_sources[p]:  Σ_{o∈sel} Use[o,t] + Violation[p] >= limit
    Every counted offer has a Use decision; "in use" means Buy >= min_in_use (offer_min_order).
    """
    use = _variables(m, m.Use)  # in the order of op's has_use rows
    use_at = np.cumsum(m.tables.op["has_use"].to_numpy()) - 1  # op position → its Use, where it has one

    def terms(at, limit, members):
        indptr, pos = members
        return (indptr, use[use_at[pos]], np.ones(len(pos))), limit
    _add_policies(m, COUNT_RULES, terms)


def add_policy_totals(m) -> None:
    r"""Total rules: a metric summed over the selection, its material(s) and period(s).

    policy_max_total[p]:  Σ_{o∈sel, t∈T} metric[o,t] · Buy[o,t] - Violation[p] <= limit
    policy_min_total[p]:  Σ_{o∈sel, t∈T} metric[o,t] · Buy[o,t] + Violation[p] >= limit
    metric: quantity 1; spend = unit_cost · (1 + tariff), undiscounted and without carbon or
    risk prices (what the purchase budget line reads); co2e, water, waste per unit; risk =
    risk_score (risk points × quantity). T is one period, or every period for "horizon".
    """
    tb = m.tables
    buy = _variables(m, m.Buy)
    metric_of = tb.codes.expansion.of_rows("metric", object)

    def terms(at, limit, members):  # each member's metric weight (metric_weights), a run of instances at a time
        indptr, pos = members
        metric, weights, columns = metric_of[at], np.ones(len(pos)), {}
        runs = [*np.flatnonzero(np.r_[True, metric[1:] != metric[:-1]]).tolist(), len(at)] if len(at) else [0]
        for a, b in zip(runs[:-1], runs[1:]):  # instances a … b - 1 have one metric
            col = METRIC_COLUMN[metric[a]]
            if col is not None:
                if col not in columns:
                    columns[col] = tb.op[col].to_numpy(dtype=float)
                weights[indptr[a]:indptr[b]] = columns[col][pos[indptr[a]:indptr[b]]]
        return (indptr, buy[pos], weights), limit
    _add_policies(m, TOTAL_RULES, terms)


def _never_binding(kind: str, is_max: bool, limit, size):
    """Which instances of one rule hold whatever is bought, elementwise over arrays of their limits and
    member counts: a max share of 100% or more, a max count of no fewer than the offers counted."""
    return is_max & (((kind == "share") & (limit >= 1)) | ((kind == "count") & (size <= limit)))


def _add_policies(m, rules: tuple[str, str], terms) -> list[np.ndarray]:
    """One constraint component per rule, indexed by instance name; skips rows that cannot bind.

    ``terms(at, limit, members)`` gives the rows of some instances of one rule (``at``: their
    positions in ``policies``, ``limit``: their limits, arrays; ``members``: their members as CSR
    pieces, see :func:`_members`) as the pieces of a CSR matrix (indptr, variables, coefficients)
    and their right-hand sides (a number or one per instance). The checks run on every row of the
    rule at once; obstacles come in instance order. Returns, per rule, the positions of the
    instances given a row.
    """
    tb, e = m.tables, m.tables.codes.expansion
    given = []
    for rule in rules:
        name, at = f"policy_{rule}", tb.codes.rules.get(rule, np.zeros(0, dtype=np.int64))
        if not len(at):
            _constraint(m, name, [], {})
            given.append(at)
            continue
        kind, is_max = rule_kind(rule), rule_is_max(rule)
        limit, size = e.of_rows("limit", float)[at], np.diff(e.member_ptr)[at]
        binds = ~_never_binding(kind, is_max, limit, size)
        at, limit = at[binds], limit[binds]
        (indptr, variables, coefs), rhs = terms(at, limit, _members(e, at))
        rhs = np.broadcast_to(np.asarray(rhs, dtype=float), (len(at),))
        # zero terms (a zero metric weight or share limit) do not count below
        indptr, variables, coefs = _kept_terms((indptr, variables, coefs), coefs != 0)
        n = np.diff(indptr)
        row = np.repeat(np.arange(len(at)), n)
        # a max row with no positive term, or a min row with no negative term and rhs <= 0, always holds
        if is_max:
            holds = (rhs >= 0) & (np.bincount(row[coefs > 0], minlength=len(at)) == 0)
        else:
            holds = (rhs <= 0) & (np.bincount(row[coefs < 0], minlength=len(at)) == 0)
        soft = tb.codes.soft[at]
        few = ~holds & ~soft & (n < rhs) & (kind == "count" and not is_max)
        empty = ~holds & ~soft & ~few & (n == 0)
        for i in np.flatnonzero(few | empty).tolist():
            p, k, at_least = tb.policies[at[i]], int(n[i]), float(rhs[i])
            if few[i]:
                message = f"{p.name}: only {k} offers can be in use, fewer than {at_least:g}"
            else:
                message = f"{p.name}: nothing is selected, so at least {at_least:g} cannot be reached"
            tb.obstacles.append(Obstacle(name, p.name, message, "Policies", p.row, amount=float(k), instance=p))
        kept = np.flatnonzero(~(holds | few | empty))  # instance names are unique (models.policies)
        rows = (indptr, variables, coefs)
        if len(kept) < len(at):
            rows, soft, rhs, at = _rows_taken(rows, kept), soft[kept], rhs[kept], at[kept]
        violation = _variables(m, m.Violation)[(np.cumsum(tb.codes.soft) - 1)[at[soft]]]  # the soft instances' places
        rows = _with_term(rows, soft, violation, -1.0 if is_max else 1.0)
        _csr_constraint(m, name, _named(m, len(at), functools.partial(_names_at, e, at)), rows,
                        "<=" if is_max else ">=", rhs)
        tb.policy_rows_of.append((name, at))
        given.append(at)
    return given


def _names_at(e: Expansion, at: np.ndarray) -> list[str]:
    """The names of the instances ``at`` (positions in ``policies``)."""
    return list(map(e.names.__getitem__, at.tolist()))


def _members(e: Expansion, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The members of the instances ``at`` (positions in ``policies``, ascending) as CSR pieces
    (indptr, op positions): taken from those of all instances, a slice when ``at`` is a run."""
    start, end = e.member_ptr[at], e.member_ptr[at + 1]
    indptr = _indptr(end - start)
    if len(at) and at[-1] - at[0] == len(at) - 1:
        return indptr, e.members[start[0]:end[-1]]
    return indptr, e.members[_ranges(start, end - start)]


def _variable_array(variables: list) -> np.ndarray:
    """Variables as an array: column numbers (int64) of a MatrixModel, Pyomo variables (objects) otherwise."""
    ints = not variables or variables[0].__class__ is int
    return np.fromiter(variables, dtype=np.int64 if ints else object, count=len(variables))


def _concatenated(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, the parts one after the other): row r of a CSR matrix holds parts[r]."""
    return (_indptr(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))),
            np.concatenate([np.empty(0, dtype=np.int64), *parts]))


def _kept_terms(rows: tuple, kept: np.ndarray) -> tuple:
    """The CSR rows (indptr, variables, coefficients) with only their ``kept`` terms."""
    indptr, variables, coefs = rows
    if kept.all():
        return rows
    count = np.bincount(np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))[kept], minlength=len(indptr) - 1)
    return _indptr(count), variables[kept], coefs[kept]


def _rows_taken(rows: tuple, take: np.ndarray) -> tuple:
    """The CSR rows (indptr, variables, coefficients) numbered ``take``, in that order."""
    indptr, variables, coefs = rows
    n = np.diff(indptr)[take]
    new = _indptr(n)
    terms = np.repeat(indptr[take] - new[:-1], n) + np.arange(new[-1])
    return new, variables[terms], coefs[terms]


def _indptr(lengths: np.ndarray) -> np.ndarray:
    """The indptr of CSR rows of these lengths."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr


def _joined_rows(n: int, *parts: tuple) -> tuple:
    """``n`` CSR rows (indptr, variables, coefficients) made of ``parts``, each (row of each term,
    variables, coefficients) with its terms by row: in each row, the first part's terms, then the
    second's, …, each part's in its order."""
    counts = [np.bincount(row, minlength=n) for row, _, _ in parts]
    indptr = _indptr(sum(counts, np.zeros(n, dtype=np.int64)))
    variables = np.empty(indptr[-1], dtype=np.result_type(*(v for _, v, _ in parts)))
    coefs = np.empty(indptr[-1])
    at = indptr[:-1].copy()  # where each row's terms of the next part go
    for (row, v, coef), count in zip(parts, counts):
        pos = at[row] + np.arange(len(row)) - _indptr(count)[:-1][row]
        variables[pos], coefs[pos] = v, coef
        at += count
    return indptr, variables, coefs


def _segment_sums(x: np.ndarray, start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """x[start[i]:start[i] + size[i]].sum() for each i, bit for bit: segments of one size are gathered into
    the rows of a matrix and summed along them (the same pairwise summation as each sum alone)."""
    out = np.zeros(len(start))
    for k in np.unique(size).tolist():
        if k:
            at = np.flatnonzero(size == k)
            out[at] = x[start[at][:, None] + np.arange(k)].sum(axis=1)
    return out


def _with_term(rows: tuple, where: np.ndarray | None, variables: np.ndarray, coefs, first: bool = False) -> tuple:
    """The CSR rows with one more term, ``coefs · variables`` (one per row, or per row ``where``
    is True), last in its row (or ``first``)."""
    indptr, old_vars, old_coefs = rows
    where = np.ones(len(indptr) - 1, dtype=bool) if where is None else where
    new = _indptr(np.diff(indptr) + where)
    at = (new[:-1] if first else new[1:] - 1)[where]
    old = np.ones(new[-1], dtype=bool)
    old[at] = False
    out_vars = np.empty(new[-1], dtype=np.result_type(old_vars, variables))
    out_vars[old], out_vars[at] = old_vars, variables
    out_coefs = np.empty(new[-1])
    out_coefs[old], out_coefs[at] = old_coefs, coefs
    return new, out_vars, out_coefs


def _csr_constraint(m, name: str, index: list, rows: tuple, sense: str, rhs) -> None:
    """Rows ``body <= rhs``, ``>= rhs`` or ``== rhs`` (``rhs`` a number or one per row) given as CSR
    pieces (indptr, variables, coefficients): one block of a MatrixModel, one by one in Pyomo."""
    indptr, variables, coefs = rows
    if isinstance(m, MatrixModel):
        indptr, variables, coefs = _kept_terms(rows, coefs != 0)  # as _linear leaves them out
        rhs = np.asarray(rhs, dtype=float)
        m.add_csr_rows(name, index, indptr, variables, coefs, -math.inf if sense == "<=" else rhs,
                       math.inf if sense == ">=" else rhs)
        return
    bounds, variables, coefs = indptr.tolist(), variables.tolist(), coefs.tolist()
    rhs = rhs.tolist() if isinstance(rhs, np.ndarray) else [rhs] * len(index)
    exprs = {}
    for key, a, b, r in zip(index, bounds[:-1], bounds[1:], rhs):
        body = _linear(coefs[a:b], variables[a:b])
        exprs[key] = body <= r if sense == "<=" else body >= r if sense == ">=" else body == r
    _constraint(m, name, index, exprs)


CONSTRAINT_FAMILIES = (
    add_demand,
    add_stock,
    add_offer_capacity,
    add_min_order,
    add_source_capacity,
    add_source_in_use,
    add_candidate_build,
    add_policy_shares,
    add_policy_counts,
    add_policy_totals,
)


# --------------------------------------------------------------------------- objective

# (expression name, label for reports), in report order
COST_COMPONENTS = (
    ("cost_purchase", "Purchases incl. tariffs"),
    ("cost_carbon", "Carbon price"),
    ("cost_risk", "Risk price"),
    ("cost_contract", "Contract costs"),
    ("cost_fixed", "Source fixed costs"),
    ("cost_build", "Build costs"),
    ("cost_shortage", "Shortage penalties"),
    ("cost_penalty", "Soft-policy penalties"),
    ("cost_holding", "Stock holding"),
    ("cost_release", "Stock releases"),
)


def _penalty_discount(data: PlanData, period: np.ndarray) -> np.ndarray:
    """The discount factor of each soft instance's violation (``period``: their periods, an object
    array): its period's, 1 for a horizon instance."""
    horizon = np.array(period == HORIZON, dtype=bool)
    return np.where(horizon, 1.0, _discount(data, np.where(horizon, data.base_period, period).astype(float)))


def add_objective(m) -> None:
    r"""Minimise the discounted total cost, kept as one named expression per component.

    total_cost = Σ_t discount[t] · ( Σ_o Buy[o,t] · (unit_cost · (1 + tariff) + carbon_price · co2e
                                                    + risk_price · risk_score)
                                     + Σ_o contract_cost[o] · Use[o,t] + Σ_s fixed_cost[s] · SourceUse[s,t]
                                     + Σ_m shortage_penalty[m,t] · Shortfall[m,t]
                                     + Σ_p penalty[p] · Violation[p]
                                     + Σ_m holding_cost[m] · Stock[m,t] + release_cost[m] · Release[m,t] )
                 + Σ_{s,b} discount[b] · build_cost[s] · Build[s,b]
    discount[t] = (1 + discount_rate)^-(t - base_period). A violation of a "horizon"
    instance is charged at the base period (undiscounted).
    """
    tb, op, s = m.tables, m.tables.op, m.plan.settings
    d = op["discount"].to_numpy()
    use = op["has_use"].to_numpy()
    fixed = _source_use(tb)[1]  # the first op row of each SourceUse
    b = tb.builds
    short = tb.demand[tb.demand["shortage_penalty"].notna()]
    soft, e = tb.codes.soft, tb.codes.expansion
    st = tb.stock
    rel = st["release_cost"].astype(float).to_numpy() > 0 if len(st) else np.zeros(0, dtype=bool)
    # component -> (cost per unit of each variable, its discount factor, the variables); each family's
    # variables are all of it, in key order (Use: op's has_use rows, SourceUse: the first row of each, …):
    # a MatrixModel's column numbers as a range, a Pyomo model's variables as a list
    matrix = isinstance(m, MatrixModel)
    variables = (lambda var: var.values()) if matrix else (lambda var: list(var.values()))  # noqa: E731
    tb.cost_terms = {
        "cost_purchase": (op["price"].to_numpy(), d, tb.buy),
        "cost_carbon": (s.carbon_price * op["co2e"].to_numpy(), d, tb.buy),
        "cost_risk": (s.risk_price * op["risk_score"].to_numpy(), d, tb.buy),
        "cost_contract": (op["contract_cost"].to_numpy()[use], d[use], variables(m.Use)),
        "cost_fixed": (op["fixed_cost"].to_numpy()[fixed], d[fixed], variables(m.SourceUse)),
        "cost_build": (b["build_cost"].to_numpy(), b["discount"].to_numpy(), variables(m.Build)),
        "cost_shortage": (short["shortage_penalty"].to_numpy(), short["discount"].to_numpy(),
                          variables(m.Shortfall)),
        "cost_penalty": (e.of_rows("penalty", float)[soft], _penalty_discount(m.plan, e.period[soft]),
                         variables(m.Violation)),
        "cost_holding": (st["holding_cost"].to_numpy(dtype=float), st["discount"].to_numpy(dtype=float),
                         variables(m.Stock)),
        "cost_release": (st.loc[rel, "release_cost"].to_numpy(dtype=float), st.loc[rel, "discount"].to_numpy(dtype=float),
                         variables(m.Release)),
    }
    if matrix:
        columns = (m.Buy, m.Buy, m.Buy, m.Use, m.SourceUse, m.Build, m.Shortfall, m.Violation, m.Stock, m.Release)
        cost = np.zeros(m.num_col)
        for var, (unit, disc, _) in zip(columns, tb.cost_terms.values()):  # each family's columns are consecutive
            cost[var.first:var.first + len(var)] += np.asarray(unit, dtype=float) * disc
        m.finish(cost)
        return
    for name, (unit, disc, variables) in tb.cost_terms.items():
        m.add_component(name, pyo.Expression(expr=_linear(np.asarray(unit, dtype=float) * disc, variables)))
    m.total_cost = pyo.Objective(expr=sum(getattr(m, name) for name, _ in COST_COMPONENTS), sense=pyo.minimize)


# --------------------------------------------------------------------------- results

def prepare_results(m) -> None:
    """Work out now what the result functions read of the model alone, not of its solution: op's
    key codes, the cost terms' columns, the policy instances' arrays and fixed columns (see
    :class:`_OpArrays`, :class:`_PolicyArrays`). Each function does it when first called
    otherwise; ``planner solve`` has it done while HiGHS solves (planner.run.prepare_extract)."""
    _op_arrays(m.tables)
    if m.tables.policies:
        _policy_arrays(m.tables)


def cost_components(m, discounted: bool = True) -> dict[str, float]:
    """Each cost component at the values loaded in the model's variables, discounted or not."""
    table = cost_table(m)
    return dict(zip(table["name"], table["discounted" if discounted else "undiscounted"]))


def cost_table(m) -> pd.DataFrame:
    """name, label, discounted, undiscounted of each cost component at the loaded values (one read of each variable)."""
    rows, read = [], {}
    for name, label in COST_COMPONENTS:
        unit, disc, variables = m.tables.cost_terms[name]
        if id(variables) not in read:  # purchases, carbon and risk share the Buy list: read it once
            read[id(variables)] = _values_of(m, variables)
        cost = np.asarray(unit, dtype=float) * read[id(variables)]
        rows.append((name, label, float((cost * disc).sum()), float(cost.sum())))
    return pd.DataFrame(rows, columns=["name", "label", "discounted", "undiscounted"])


def _values_of(m, variables) -> np.ndarray:
    """The loaded values of ``variables`` (Pyomo variables, or a MatrixModel's columns); an unset value reads as 0."""
    if isinstance(m, MatrixModel):
        if m.solution is None:
            return np.zeros(len(variables))
        return m.solution[_op_arrays(m.tables).columns_of(variables)]
    x = np.array(list(map(attrgetter("value"), variables)), dtype=float)  # an unset value (None) reads as NaN
    if np.isnan(x).any():  # tell unset values from NaN ones the slow way
        x = np.array([v.value or 0.0 for v in variables], dtype=float)
    return x


class _OpArrays:
    """What the result functions read of op and of the cost terms, worked out once per model.

    coded       op's columns coded (see :func:`op_codes`), those read so far
    keys        op's key fields (source, material, period) coded: each row's code, and the values as an index
    verified    the last index of Buy values found in op's order (an index does not change: checked once)
    columns     a MatrixModel's cost-term columns (lists) as arrays, by the list's id, with the list
    """

    def __init__(self, tb: ModelTables):
        self.op, self.coded = tb.op, {}
        self.keys = [(code, pd.Index(values)) for code, values in
                     (self.code("source"), self.code("material"), _coded(tb.op["period"].astype(int)))]
        self.verified = None
        self.columns: dict[int, tuple] = {}

    def code(self, name: str) -> tuple[np.ndarray, pd.Series]:
        if name not in self.coded:
            self.coded[name] = _coded(self.op[name])
        return self.coded[name]

    def in_order(self, ix: pd.Index) -> bool:
        """Whether ``ix`` (a MultiIndex) holds op's keys, row by row: compared as codes, not as keys."""
        if ix is self.verified:
            return True
        if not isinstance(ix, pd.MultiIndex) or ix.nlevels != len(self.keys) or len(ix) != len(self.keys[0][0]):
            return False
        for level, codes, (code, values) in zip(ix.levels, ix.codes, self.keys):
            at = np.append(values.get_indexer(level), -2)  # -2: a missing key (code -1), or a value op has not
            if not np.array_equal(at[codes], code):
                return False
        self.verified = ix
        return True

    def columns_of(self, variables) -> np.ndarray:
        """A MatrixModel's ``variables`` (column numbers) as an array, converted once per list."""
        got = self.columns.get(id(variables))
        if got is None or got[0] is not variables:  # (the list is kept: its id is not reused)
            columns = (np.arange(variables.start, variables.stop, dtype=np.int64) if isinstance(variables, range)
                       else np.asarray(variables, dtype=np.int64))
            got = self.columns[id(variables)] = (variables, columns)
        return got[1]


def op_codes(m, column: str) -> tuple[np.ndarray, pd.Series]:
    """op's ``column`` coded: each row's value numbered in order of first appearance (-1: missing),
    and the values so numbered (a Series of the column's dtype). Made once per model: for what is
    worked out per value, once per distinct value."""
    return _op_arrays(m.tables).code(column)


def _coded(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    code, _ = pd.factorize(column.to_numpy())  # (hashing the object array beats the string array's)
    # a value's first row: where the codes so far are exceeded (codes are numbered in order of appearance)
    first = np.flatnonzero(code > np.maximum.accumulate(np.r_[-1, code])[:-1])
    return code, pd.Series(column.array.take(first), dtype=column.dtype)


def _op_arrays(tb: ModelTables) -> _OpArrays:
    if tb.results.get("op") is None:
        tb.results["op"] = _OpArrays(tb)
        for name in ("cost_purchase", "cost_contract", "cost_fixed", "cost_build", "cost_shortage", "cost_penalty",
                     "cost_holding", "cost_release"):  # each family's variables once (carbon and risk: Buy's)
            if name in tb.cost_terms and not _is_pyomo(tb.cost_terms[name][2]):
                tb.results["op"].columns_of(tb.cost_terms[name][2])
    return tb.results["op"]


def _is_pyomo(variables) -> bool:
    """Whether ``variables`` are Pyomo variables (not a MatrixModel's column numbers)."""
    return len(variables) > 0 and not isinstance(variables[0], (int, np.integer))


def purchases(m, buy: pd.Series) -> pd.DataFrame:
    """The op table with ``quantity`` (from the Buy values, indexed like OFFER_PERIODS)."""
    op = m.tables.op
    return op.assign(quantity=_buy_in_op_order(m.tables, buy))


def quantities(m, buy: pd.Series) -> np.ndarray:
    """The Buy values in the order of op's rows, 0 where ``buy`` has none: :func:`purchases`' ``quantity``."""
    return _buy_in_op_order(m.tables, buy)


def _buy_in_op_order(tb: ModelTables, buy: pd.Series) -> np.ndarray:
    """The Buy values in the order of op's rows, 0 where ``buy`` has none.

    The solver's values come indexed in op's order already: then they are taken as they are
    (comparing the keys' codes costs a fraction of matching the keys; an index once found in
    order is not compared again).
    """
    if _op_arrays(tb).in_order(buy.index):
        return np.nan_to_num(buy.to_numpy())
    op = tb.op
    keys = (op["source"], op["material"], op["period"].astype(int))
    return np.nan_to_num(buy.reindex(pd.MultiIndex.from_arrays(keys)).to_numpy())


def shadow_prices(m, duals: dict[str, pd.Series], buy: pd.Series) -> pd.Series:
    r"""Each policy instance's shadow price: the objective change per unit of relaxation of its limit.

    From the row duals y of the LP with the integer decisions fixed (HiGHS sign: objective
    change per unit increase of the row's active bound; a rule's as its bound is relaxed, also at
    a degenerate optimum: planner.solver.room_duals), for a minimisation:

    max_total   +y            (relaxing raises the bound)
    min_total   -y            (relaxing lowers the bound)
    max_share   +y · S / 100  per percentage point; the row is Σ_sel - limit · S <= 0, so a
    min_share   -y · S / 100  limit change of δ moves its bound by δ · S (S = the material's
                              purchases in the period, at the solution)
    counts      NaN           (Use is fixed in that LP: no marginal information)

    So a policy's shadow price is <= 0 in discounted currency: what relaxing it alone saves (0 for a
    binding one whose purchases another rule or a capacity also holds); an instance without a row
    (it can never bind) has 0.
    """
    tb = m.tables
    if not tb.policies:
        return pd.Series({}, dtype=float, name="shadow_price")
    a = _policy_arrays(tb)
    y = np.zeros(len(a.names))
    for component, dual in duals.items():  # an instance without a dual (no row, or no such row) has 0
        at, names = a.rows.get(component, (None, None))
        if at is not None and dual.index.equals(names):  # the rows in instance order, as declared
            y[at] = dual.to_numpy(dtype=float)
            continue
        at = a.constraint == component
        y[at] = dual.reindex(a.names[at], fill_value=0.0).to_numpy(dtype=float)
    total = a.scope_totals(_buy_in_op_order(tb, buy))
    scale = np.where(a.kind == "share", total / 100.0, 1.0)
    out = np.where(a.kind == "count", np.nan, np.where(a.is_max, y, -y) * scale) + 0.0  # (+ 0.0: no -0 in the sheet)
    return pd.Series(out, index=a.index.view(), dtype=float, name="shadow_price")


EXACT = 1e-12  # policy_results: a slack this small (relative to the limit) is rounding, and shown as 0

_POLICY_COLUMNS = ["policy", "instance", "rule", "material", "period", "selection", "metric", "limit", "achieved",
                   "slack", "binding", "soft", "violation", "penalty", "shadow_price", "row", "constraint"]
_POLICY_FIELDS = attrgetter("policy", "name", "rule", "material", "period", "selection", "metric", "limit", "soft",
                            "penalty", "row", "members", "scope")


class _PolicyArrays:
    """What :func:`policy_results` and :func:`shadow_prices` read of the policy instances, gathered
    once per model (the instances do not change once the model is built).

    names       the instances' names (an object array); index: as a pandas index (shadow prices')
    constraint  each one's row's component, or None; rows: per component, its instances' positions
                and names, in order (the order of the component's rows)
    kind        share / count / total; is_max, has_row, soft: booleans; limit, penalty: floats
    columns     policy_results' fixed columns, typed as pandas infers them (a frame)
    scope_of    each instance's scope (the material's purchases in the period), numbered; scopes:
                them, arranged to be summed (:class:`_Runs`)
    share, count, total  the positions of each kind's instances; shares, totals: their members
                arranged to be summed, weights: each total member's weight (metric_weights), in
                the order of ``totals.take``; counted: the count instances' members, concatenated
                (``counted_at``: where each one ends)
    soft_at     the soft instances' positions; soft_index: their names (the Violation values' index)
    """

    def __init__(self, tb: ModelTables):
        (policy, name, rule, material, period, selection, metric, limit, soft, penalty, row, members,
         scope) = zip(*map(_POLICY_FIELDS, tb.policies))  # one tuple per field
        rules = dict(zip(rule, tb.policies))  # an instance of each rule, for what the rule implies
        which = np.fromiter(map(list(rules).index, rule), dtype=np.int64, count=len(rule))
        self.kind = np.array([p.kind for p in rules.values()])[which]
        self.is_max = np.array([p.is_max for p in rules.values()], dtype=bool)[which]
        self.names = np.array(name, dtype=object)
        constraint = tb.policy_constraints()
        self.limit, self.penalty = np.array(limit, dtype=float), np.array(penalty, dtype=float)
        self.soft = np.array(soft, dtype=bool)
        self.columns = pd.DataFrame(dict(
            policy=policy, instance=name, rule=rule, material=material, period=period, selection=selection,
            metric=metric, limit=self.limit, soft=self.soft, row=row, constraint=constraint,
        ))
        self.index = pd.Index(self.columns["instance"]).rename(None)  # typed as pd.Index(name) would be
        self.constraint = np.array(constraint, dtype=object)
        self.has_row = self.constraint != None  # noqa: E711 (elementwise)
        self.rows = {}
        for component in dict.fromkeys(self.constraint[self.has_row].tolist()):
            at = np.flatnonzero(self.constraint == component)
            self.rows[component] = at, self.index[at]
        self.soft_at = np.flatnonzero(self.soft)
        self.soft_index = self.index[self.soft_at]
        # instances of one material and period share their scope (one array): numbered by identity
        ids = np.fromiter(map(id, scope), dtype=np.uint64, count=len(scope))
        _, first, self.scope_of = np.unique(ids, return_index=True, return_inverse=True)
        self.scopes = _Runs(list(map(scope.__getitem__, first.tolist())))
        self.share, self.count, self.total = (np.flatnonzero(self.kind == k) for k in ("share", "count", "total"))
        self.shares = _Runs(list(map(members.__getitem__, self.share.tolist())))
        self.totals = _Runs(list(map(members.__getitem__, self.total.tolist())))
        weights = {}  # a total weighs each purchase by its metric (metric_weights), one column per metric
        for col in {METRIC_COLUMN[metric[i]] for i in self.total.tolist()}:
            weights[col] = np.ones(len(tb.op)) if col is None else tb.op[col].to_numpy(dtype=float)
        self.weights = np.concatenate([np.empty(0)] + [
            weights[METRIC_COLUMN[metric[i]]][members[i]] for i in self.total[self.totals.order].tolist()])
        counted = list(map(members.__getitem__, self.count.tolist()))
        self.counted = np.concatenate([np.empty(0, dtype=np.int64), *counted]).astype(np.int64)
        self.counted_at = np.cumsum(np.fromiter(map(len, counted), dtype=np.int64, count=len(counted)))

    def scope_totals(self, q: np.ndarray) -> np.ndarray:
        """Σ q over each instance's scope."""
        return self.scopes.sums(q)[self.scope_of]


def policy_fields(m) -> pd.DataFrame:
    """:func:`policy_results`' columns that do not depend on the solution (policy, instance, rule,
    material, period, selection, metric, limit, soft, row, constraint), one row per instance, in
    its order; made once per model (not to be changed)."""
    return _policy_arrays(m.tables).columns if m.tables.policies else pd.DataFrame([])


def _policy_arrays(tb: ModelTables) -> _PolicyArrays:
    if tb.policy_arrays is None:
        tb.policy_arrays = _PolicyArrays(tb)
    return tb.policy_arrays


class _Runs:
    """Lists of positions, arranged to sum a vector over each list in a few calls: lists of one
    length are gathered into the rows of one matrix and summed along them, the same pairwise
    summation, bit for bit, as ``x[list].sum()`` list by list.

    order   the lists by length (stable); take: their positions concatenated in that order
    blocks  (length, first, number) of each run of lists of one length, in ``order``
    """

    def __init__(self, lists: list[np.ndarray]):
        n = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        self.order = np.argsort(n, kind="stable")
        self.take = np.concatenate([*map(lists.__getitem__, self.order.tolist()), np.empty(0, dtype=np.int64)])
        self.take = self.take.astype(np.int64, copy=False)
        lengths, first, k = np.unique(n[self.order], return_index=True, return_counts=True)
        self.blocks = list(zip(lengths.tolist(), first.tolist(), k.tolist()))

    def sums(self, x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Σ x over each list, in the lists' order; with ``weights`` (one per position of ``take``),
        Σ weight · x (the products summed as ``(w * x[list]).sum()``)."""
        v = x[self.take] if weights is None else weights * x[self.take]
        total = np.zeros(len(self.order))
        start = 0
        for length, a, b in self.blocks:
            total[self.order[a:a + b]] = v[start:start + b * length].reshape(b, length).sum(axis=1)
            start += b * length
        return total


def policy_results(m, buy: pd.Series, violation: pd.Series, shadow_prices: pd.Series | None = None,
                   tol: float = 1e-6) -> pd.DataFrame:
    """One row per policy instance: limit, achieved, slack, binding, violation, penalty, shadow price.

    ``achieved`` is in the limit's unit (a share as a fraction, a count of offers buying
    more than ``tol``, a total in the metric's unit); ``slack`` = limit - achieved for max
    rules, achieved - limit for min rules (negative when violated). Shares' ``violation`` is
    in quantity units (the row's unit).
    """
    tb = m.tables
    if not tb.policies:
        return pd.DataFrame([])
    a = _policy_arrays(tb)
    q = _buy_in_op_order(tb, buy)
    limit, soft = a.limit, a.soft
    achieved = np.full(len(a.names), np.nan)
    if len(a.share):
        total = a.scope_totals(q)[a.share]
        achieved[a.share] = np.divide(a.shares.sums(q), total, out=np.full(len(total), np.nan), where=total > tol)
    buying = np.r_[0, np.cumsum(q[a.counted] > tol)][np.r_[0, a.counted_at]]  # members buying, cumulated
    achieved[a.count] = np.diff(buying)
    achieved[a.total] = a.totals.sums(q, a.weights)
    slack = np.where(a.is_max, limit - achieved, achieved - limit)
    with np.errstate(invalid="ignore"):
        # a rule met to the last bits of the solution is met exactly: 0.4 - 0.4000000000000001 is no
        # violation, and the sheet would show it as one (-5.55E-17)
        exact = np.abs(slack) <= EXACT * np.fmax(1.0, np.abs(limit))
        slack[exact], achieved[exact] = 0.0, limit[exact]
        binding = a.has_row & ~np.isnan(slack) & (slack <= tol * np.fmax(1.0, np.abs(limit)))
    if violation.index.equals(a.soft_index):  # the Violation values, in soft instance order
        v = np.zeros(len(a.names))
        v[a.soft_at] = violation.to_numpy(dtype=float)
    else:
        v = np.where(soft, violation.reindex(a.names, fill_value=0.0).to_numpy(dtype=float), 0.0)
    if shadow_prices is None:
        prices = np.full(len(a.names), np.nan)
    elif shadow_prices.index.equals(a.index):  # as shadow_prices gives them
        prices = shadow_prices.to_numpy(dtype=float, copy=True)
    else:
        prices = shadow_prices.reindex(a.names).to_numpy(dtype=float)
    solved = pd.DataFrame(dict(achieved=achieved, slack=slack, binding=binding, violation=v,
                               penalty=np.where(soft, a.penalty * v, 0.0), shadow_price=prices), copy=False)
    return pd.concat([a.columns, solved], axis=1)[_POLICY_COLUMNS]  # the fixed columns joined, not copied
