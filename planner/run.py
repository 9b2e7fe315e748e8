"""The solve pipeline: read → validate → build → solve → verify → extract → write.

Each stage is timed. Results are extracted only when the solver has a solution; the plan
workbook is written whole or not at all. The KPIs a plan reports are computed here from
the purchases, so that every plan (and the comparison of plans) defines them one way.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from models.data import PlanData
from models.metrics import METRICS
from models.policies import COUNT_RULES, SHARE_RULES, TOTAL_RULES
from models.sourcing import (InfeasibleData, build_matrix, cost_table, op_codes, policy_fields, policy_results,
                             prepare_results, quantities)

from . import __version__, memory, numerics, policy_costs, scenarios, solver
from .plan import PlanResult
from .reader import read_workbook
from .validate import Checked, check

if TYPE_CHECKING:
    from .diagnose import Diagnosis

TOL = 1e-6
SHARES = [m for m in METRICS.values() if m.is_share]  # feoc, domestic, allied, recycled share


@dataclass
class Options:
    time_limit_s: float | None = None  # None: the workbook's setting
    mip_gap: float | None = None
    threads: int | None = None
    policy_costs: bool = False  # re-solve without each hard Policies row (planner.policy_costs)
    jobs: int | None = None  # parallel processes for re-solves; None: the cores available
    scenario: str | None = None  # a scenario of the Scenarios sheet to apply (planner.scenarios); None: the base


@dataclass
class Outcome:
    """What ``solve_file`` did: the status, the solve result and the plan written (if any)."""

    status: str
    checked: Checked | None = None
    result: solver.SolveResult | None = None
    plan: PlanResult | None = None
    path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    obstacles: list = field(default_factory=list)
    diagnosis: Diagnosis | None = None  # when infeasible: what must give way (planner.diagnose)

    @property
    def solver_seconds(self) -> float:
        return self.result.solver_seconds if self.result else 0.0


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def solve_file(path: Path, out: Path | None, options: Options, progress: solver.ProgressCallback | None = None,
               log: Callable[[str], None] = lambda s: None) -> Outcome:
    """Solve the workbook at ``path``; write the plan to ``out`` when there is one."""
    try:
        return _solve_file(path, out, options, progress, log)
    finally:
        gc.unfreeze()  # (see _solve_file) the model may be collected again once it is no longer used
        memory.release()  # (when no HiGHS took it)


def _solve_file(path: Path, out: Path | None, options: Options, progress, log) -> Outcome:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with memory.warmed(path):  # memory the model will use is touched on the other core meanwhile
        book = read_workbook(path)
        timings["read"] = time.perf_counter() - t0
        t = time.perf_counter()
        checked = check(book)
        timings["validate"] = time.perf_counter() - t
        if checked.errors:
            return Outcome("invalid", checked, timings=timings)
        memory.ahead(len(checked.data.offer_periods))  # and memory HiGHS will use, while the model is built
        applied = None
        if options.scenario is not None:
            t = time.perf_counter()
            applied = scenarios.apply(checked, options.scenario)
            checked.data = applied.data  # this run solves (and diagnoses) the scenario's data
            timings["scenario"] = time.perf_counter() - t
    data = checked.data
    settings = data.settings
    limit = options.time_limit_s if options.time_limit_s is not None else settings.time_limit_s
    gap = options.mip_gap if options.mip_gap is not None else settings.mip_gap
    threads = options.threads if options.threads is not None else settings.threads
    t = time.perf_counter()
    try:
        model = build_matrix(data)
    except InfeasibleData as e:
        timings["build"] = time.perf_counter() - t
        outcome = Outcome("infeasible", checked, timings=timings, obstacles=e.obstacles)
        return _diagnose(outcome, path, out, None, limit, threads, log, t0, options.scenario)
    timings["build"] = time.perf_counter() - t
    # The model's tables and row keys live until the plan is written: out of the collector's sight, so
    # that the full collections extraction and the writer trigger do not scan them each time.
    gc.freeze()
    log(f"built the model in {timings['build']:.2f} s; solving (time limit {limit:g} s, gap {gap:g})")
    # what extraction reads of the model alone, and the plan workbook's fixed part, are made while HiGHS solves
    started = []
    steps = [functools.partial(prepare_extract, model, data)]
    if out is not None:
        steps.append(lambda: started.append(_start_plan(book)))
    result = solver.solve(model, time_limit_s=limit, mip_gap=gap, threads=threads, progress=progress, prepare=steps)
    timings["solve"] = result.timings.get("total", 0.0)
    outcome = Outcome(result.status, checked, result, timings=timings)
    if result.status == "infeasible":
        return _diagnose(outcome, path, out, model, limit, threads, log, t0, options.scenario)
    if not result.has_solution:
        timings["total"] = time.perf_counter() - t0
        return outcome
    t = time.perf_counter()
    facts = {
        "input": str(path), "input_sha256": sha256(path), "template_version": book.template_version or "",
        "time_limit_s": limit, "mip_gap": gap, "threads": threads if threads is not None else "solver default",
    }
    if applied is not None:
        facts.update(scenario=applied.name, scenario_edits=f"{applied.summary()} (see the Scenario sheet)")
    outcome.plan = extract(model, result, data, facts, timings)
    if applied is not None:
        outcome.plan.scenario_edits, outcome.plan.scenario_changes = applied.edits, applied.changes
    timings["extract"] = time.perf_counter() - t
    if options.policy_costs:
        t = time.perf_counter()
        log("pricing each hard rule: re-solving without it")
        costs = policy_costs.rule_costs(data, model, result, limit, gap, threads, options.jobs)
        outcome.plan.policies = policy_costs.attach(outcome.plan.policies, costs)
        outcome.plan.rule_costs = costs
        outcome.plan.rule_cost_lines = policy_costs.sentences(costs, settings.currency, settings.discount_rate > 0)
        timings["policy_costs"] = time.perf_counter() - t
    outcome.plan.facts += [(f"seconds: {k}", round(v, 3)) for k, v in timings.items()]  # every stage up to its own writing
    if out is not None:
        t = time.perf_counter()
        from .report import write_plan

        outcome.path = write_plan(out, outcome.plan, book, *started)
        timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return outcome


def _diagnose(outcome: Outcome, path: Path, out: Path | None, model, limit, threads, log, t0, scenario) -> Outcome:
    """Explain why no plan exists; with an output path, write the Diagnosis workbook instead of a plan."""
    from .diagnose import diagnosis_path, explain, write_diagnosis

    log("no plan exists; looking for the smallest relaxations that would allow one")
    t = time.perf_counter()
    data = outcome.checked.data
    outcome.diagnosis = explain(data, outcome.obstacles, model, time_limit_s=limit, threads=threads)
    outcome.timings["diagnose"] = time.perf_counter() - t
    if out is not None:
        t = time.perf_counter()
        facts = [("input file", str(path)), ("input SHA-256", sha256(path)), ("scenario", scenario or "base")]
        outcome.diagnosis.path = write_diagnosis(diagnosis_path(out), outcome.diagnosis, data, facts)
        outcome.timings["write"] = time.perf_counter() - t
    outcome.timings["total"] = time.perf_counter() - t0
    return outcome


def _start_plan(book):
    """planner.report.start_plan, openpyxl imported with it: the first time while HiGHS solves (the
    planner imports the writers only when it writes, not before the model is built)."""
    from .report import start_plan

    return start_plan(book)


# --------------------------------------------------------------------------- extraction

def prepare_extract(model, data: PlanData | None = None) -> None:
    """Work out now what :func:`extract` reads of the model and its plan data alone, not of the
    solution: the result functions' part (models.sourcing.prepare_results) and this module's
    (:class:`_Fixed`). ``extract`` does it itself otherwise; ``planner solve`` calls this while
    HiGHS solves. ``data``: the model's plan data (``model.plan``) unless given."""
    prepare_results(model)
    fixed = _fixed(model, data if data is not None else model.plan)
    if model.tables.policies:
        fixed.policies_of(model)
    fixed.shortfalls_of(model.tables.demand)
    _version("pyomo")  # (a first look-up reads package metadata)


def extract(model, result: solver.SolveResult, data: PlanData, facts: dict, timings: dict) -> PlanResult:
    """Tables of the plan from the solution loaded in ``model``."""
    s = data.settings
    tb = model.tables
    f = _fixed(model, data)
    q = quantities(model, result.values["Buy"])
    bought = _Bought.of(tb.op, q)

    shortfall = _series(result.values.get("Shortfall"))
    demand = tb.demand.copy()
    demand["shortfall"] = shortfall.reindex(f.demand_keys, fill_value=0.0).to_numpy(dtype=float)
    stock = stock_table(model, result.values, q, demand, f) if len(tb.stock) else None
    kpis = _kpis(bought, demand, f, stock)
    violation = _series(result.values.get("Violation"))
    pol = policy_results(model, result.values["Buy"], violation, result.shadow_prices)
    table = cost_table(model)
    # the components, then their total (as Series.sum adds them)
    costs = pd.DataFrame({"component": [*table["label"], "Total"],
                          "discounted": [*table["discounted"], table["discounted"].sum()],
                          "undiscounted": [*table["undiscounted"], table["undiscounted"].sum()]})

    proven = result.status == "optimal"
    v = result.max_violation
    fact_list = [
        ("plan", s.plan_name),
        ("status", "optimal" if proven else "feasible, time limit reached (not proven optimal)"),
        ("objective (discounted total)", result.objective),
        ("best bound", result.bound),
        ("gap", result.gap),
        ("currency", s.currency),
        ("quantity unit", s.quantity_unit),
        ("discount rate", s.discount_rate),
        ("base period", data.base_period),
        ("horizon", f"{data.periods[0]}–{data.periods[-1]}"),
        ("scenario", facts.get("scenario", "base")),
        ("scenario edits", facts.get("scenario_edits", "none")),
        ("largest constraint violation", f"{v.amount:.3g} at {v.where}" if v and v.where else 0.0),
        ("rows switched off", ", ".join(f"{k}: {n}" for k, n in data.skipped.items()) or "none"),
        ("input file", facts["input"]),
        ("input SHA-256", facts["input_sha256"]),
        ("template version", facts["template_version"] or "unknown (not written by planner template)"),
        ("planner version", __version__),
        ("model version", MODEL_VERSION),
        ("solver", f"HiGHS {result.highs_version}"),
        ("pyomo version", _version("pyomo")),
        ("python", platform.python_version()),
        ("time limit (s)", facts["time_limit_s"]),
        ("mip gap setting", facts["mip_gap"]),
        ("threads", facts["threads"]),
        ("solver seconds (HiGHS)", result.solver_seconds),
        ("time limit overshoot (s)", round(result.overshoot_s, 3)),
        ("coefficient ranges (before → after scaling)", result.scaling.describe() if result.scaling else "not scaled"),
    ]
    warnings = []
    if result.overshoot_s > 0:
        warnings.append(f"the solver ran {result.overshoot_s:.2f} s past the time limit of {facts['time_limit_s']:g} s "
                        "(it checks its clock only between steps)")
    if not result.solver_stopped:
        warnings.append("HiGHS did not stop at the time limit even when interrupted; the plan is the last "
                        "solution it reported, without shadow prices")
    if result.scaling and result.scaling.wide:
        warnings.append(f"coefficients still span more than {numerics.WIDE:.0e} after scaling ({result.scaling.describe()}): "
                        "the plan may be inaccurate; check for values in very different units")
    if not proven:
        warnings.append(f"not proven optimal: the solver stopped at the time limit with a gap of {result.gap:.2%} "
                        f"(objective {result.objective:,.0f}, bound {result.bound:,.0f})")
    if v and v.amount > 1e-5:
        warnings.append(f"largest constraint violation {v.amount:.3g} at {v.where}")
    supply = tb.op[["material", "period", "bloc", "country"]].take(bought.rows).assign(quantity=bought.quantity)
    plan = PlanResult(facts=fact_list, costs=costs, kpis=kpis, purchases=_purchases_table(tb.op, bought, f),
                      policies=_policies_table(pol, f.policies_of(model) if len(pol) else None),
                      investments=_investments(result, data), shortfalls=_shortfalls(demand, s, f), supply=supply,
                      proven_optimal=proven, warnings=warnings, stock=stock,
                      extra_sheets=[("Commitments", commitments_table(model, result.values, f))])
    return plan


MODEL_VERSION = "1"


@functools.cache  # looking a distribution up reads its metadata files
def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def _series(s) -> pd.Series:
    return s if s is not None else pd.Series(dtype=float)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return part / np.where(whole > TOL, whole, np.nan)


@dataclass
class _Bought:
    """What a plan buys: op's rows bought (more than TOL), in op's order, with their quantity,
    spend (quantity × price) and metric totals (quantity × the offer's co2e, water, waste)."""

    rows: np.ndarray
    quantity: np.ndarray
    spend: np.ndarray
    co2e: np.ndarray
    water: np.ndarray
    waste: np.ndarray

    @classmethod
    def of(cls, op: pd.DataFrame, q: np.ndarray) -> _Bought:
        rows = np.flatnonzero(q > TOL)
        qb = q[rows]
        return cls(rows, qb, *(qb * op[c].to_numpy()[rows] for c in ("price", "co2e", "water", "waste")))


class _Fixed:
    """What :func:`extract` reads of the model and its plan data alone, worked out once per model
    (kept in the model's ``tables.results``), so that extraction itself reads only the solution.

    data        the plan data it is of
    materials   the KPI rows' materials (the data's, then '(all)'); periods: op's and the demand's, sorted
    material    each op row's place in ``materials`` (-1: none); rank: in sorted order (the Purchases sheet's)
    period      each op row's place in ``periods``
    source      each op row's source, numbered (of ``sources``); country: its country, numbered in
                sorted order (the order of the HHI sums; of ``countries``); -1: none
    selects     per SHARES metric: which op rows it counts (models.metrics.Metric.selects)
    demand_key  each demand row's KPI key (see _kpis), then its '(all)' key; demand_keys: the demand
                rows' (material, period), the index to read Shortfall values by
    stock_of    each op row's row of the Stock table (-1: none); stock_at: each KPI key's
    build_keys  the Build options' (source, period): the index to read their build costs by
    policies    the Policies sheet's fixed columns (:func:`_fixed_policies`), once the policies are read
    no_shortfalls  the Shortfalls sheet when nothing falls short (:meth:`shortfalls_of`), once made
    """

    def __init__(self, model, data: PlanData):
        self.data = data
        tb = model.tables
        op, demand = tb.op, tb.demand
        self.materials = pd.Index([*data.materials.index, ALL])
        codes = {c: op_codes(model, c) for c in ("material", "source", "country", *{m.field for m in SHARES})}
        code, values = codes["material"]
        self.material = np.append(self.materials.get_indexer(values), -1)[code]
        self.rank = np.append(pd.factorize(values, sort=True)[0], -1)[code]
        op_period = op["period"].to_numpy(dtype=np.int64)
        self.periods = np.unique(np.r_[_distinct(op_period), demand["period"].to_numpy(dtype=np.int64)])
        self.period = np.searchsorted(self.periods, op_period)
        self.source, self.sources = codes["source"][0], max(len(codes["source"][1]), 1)
        code, values = codes["country"]
        self.countries = max(len(values), 1)
        self.country = np.append(pd.factorize(values, sort=True)[0], -1)[code]
        # a metric's selection of each distinct value, as it selects rows
        self.selects = {}
        for m in SHARES:
            code, values = codes[m.field]
            self.selects[m.name] = np.append(m.selects(pd.DataFrame({m.field: values})), False)[code]
        self.demand_key = self.keys(demand["material"], demand["period"])
        self.demand_keys = pd.MultiIndex.from_arrays([demand["material"], demand["period"].astype(int)])
        self.stock_of = self.stock_at = None
        if len(tb.stock):
            st = tb.stock
            at = self.materials.get_indexer(st["material"])
            p = np.clip(np.searchsorted(self.periods, st["period"].to_numpy(dtype=np.int64)), 0, len(self.periods) - 1)
            known = (at >= 0) & (self.periods[p] == st["period"].to_numpy(dtype=np.int64))
            self.stock_at = np.full(len(self.materials) * len(self.periods), -1, dtype=np.int64)
            self.stock_at[(at * len(self.periods) + p)[known]] = np.flatnonzero(known)
            key = self.material * len(self.periods) + self.period
            self.stock_of = np.where(self.material >= 0, self.stock_at[np.where(self.material >= 0, key, 0)], -1)
        self.build_keys = pd.MultiIndex.from_frame(tb.builds[["source", "period"]]) if len(tb.builds) else None
        self.policies = self.no_shortfalls = None

    def keys(self, material: pd.Series, period: pd.Series) -> np.ndarray:
        """Each row's KPI key (its material's, then its period's '(all)' key; see _kpis); negative
        where the material is not one of ``materials``."""
        at = self.materials.get_indexer(material)
        p = np.searchsorted(self.periods, period.to_numpy(dtype=np.int64))
        return np.r_[at * len(self.periods) + p, (len(self.materials) - 1) * len(self.periods) + p]

    def shortfalls_of(self, demand: pd.DataFrame) -> pd.DataFrame:
        """The Shortfalls sheet when nothing falls short: empty, the same every time (see _shortfalls)."""
        if self.no_shortfalls is None:
            none = demand.assign(shortfall=np.zeros(len(demand)))  # (a column as extract adds it)
            self.no_shortfalls = _shortfall_table(none[np.zeros(len(demand), dtype=bool)])
        return self.no_shortfalls

    def policies_of(self, model) -> tuple[pd.DataFrame, pd.api.extensions.ExtensionArray]:
        """The Policies sheet's columns that do not depend on the solution (see _fixed_policies)."""
        if self.policies is None:
            self.policies = _fixed_policies(policy_fields(model), self.data.settings)
        return self.policies


def _fixed(model, data: PlanData) -> _Fixed:
    got = model.tables.results.get(__name__)
    if got is None or got.data is not data:
        got = model.tables.results[__name__] = _Fixed(model, data)
    return got


def _distinct(x: np.ndarray) -> np.ndarray:
    """The distinct values of ``x`` (small integers, such as periods)."""
    if not len(x):
        return x
    lo = int(x.min())
    if int(x.max()) - lo > 4 * len(x) + 1000:
        return np.unique(x)
    return np.flatnonzero(np.bincount(x - lo)) + lo


def stock_table(model, values: dict[str, pd.Series], q: np.ndarray, demand: pd.DataFrame, f: _Fixed) -> pd.DataFrame:
    """The Stock sheet: per stocked material and period, stock in and out, against the reserve.

    opening + bought = supplied + disposed + closing; ``drawn`` = max(opening - closing, 0) is what
    the period took from stock; ``reserve_months`` = closing stock in months of the next period's
    demand (the last period: its own), periods being years; blank where that demand is 0.
    ``q``: the purchases in op's order (models.sourcing.quantities).
    """
    st = model.tables.stock
    keys = pd.MultiIndex.from_arrays([st["material"], st["period"].astype(int)])
    closing = _series(values.get("Stock")).reindex(keys).fillna(0.0).to_numpy(dtype=float)
    first = ~np.isnan(st["opening"].to_numpy(dtype=float))
    opening = np.where(first, st["opening"].to_numpy(dtype=float), np.r_[0.0, closing[:-1]])
    # each stocked material-period's purchases (a grouped sum of op's rows by material and period)
    stocked = f.stock_of >= 0
    at, sums = _grouped_sums(q[stocked], f.stock_of[stocked])
    bought = np.zeros(len(st))
    bought[at] = sums
    short = demand.set_index(["material", "period"])["shortfall"].reindex(keys).fillna(0.0).to_numpy()
    supplied = st["demand"].to_numpy(dtype=float) - short
    nxt = st["ahead"].to_numpy(dtype=float)
    release = _series(values.get("Release")).reindex(keys).fillna(0.0).to_numpy(dtype=float)
    closing, bought = _clean(closing), _clean(bought)
    return pd.DataFrame({
        "material": st["material"].to_numpy(), "period": st["period"].astype(int).to_numpy(),
        "opening": opening, "bought": bought, "supplied": supplied, "closing": closing,
        "drawn": _clean(np.maximum(opening - closing, 0.0)),
        "disposed": _clean(np.maximum(opening + bought - supplied - closing, 0.0)),
        "reserve": st["reserve"].to_numpy(dtype=float), "max_stock": st["max_stock"].to_numpy(dtype=float),
        "reserve_months": np.where(nxt > TOL, 12.0 * closing / np.where(nxt > TOL, nxt, 1.0), np.nan),
        "holding_cost": closing * st["holding_cost"].to_numpy(dtype=float),
        "release_cost": release * st["release_cost"].to_numpy(dtype=float),
        "stockpile_row": st["row"].to_numpy(),
    })


COMMITMENT_COLUMNS = ("commitment", "source", "material", "period", "min_order", "contract_cost", "build_cost")


def commitments_table(model, values: dict[str, pd.Series], f: _Fixed | None = None) -> pd.DataFrame:
    """What the plan commits to before supply is known: candidate builds, and offers in use.

    A contract is an offer with a minimum order or a contract cost; ``contract`` rows are those in
    use in a period (the contract is signed for that period). Offers whose in-use decision only
    serves a sources rule are not commitments: any offer without terms can be bought spot.
    ``planner stress`` and robust plans hold these fixed.
    """
    tb = model.tables
    use = _series(values.get("Use"))
    has_use = np.flatnonzero(tb.op["has_use"].to_numpy())
    # the Use variable is indexed by these rows in this order (models.sourcing._declare)
    assert len(use) == len(has_use), (len(use), len(has_use))
    rows = has_use[(use.to_numpy(dtype=float) > 0.5) & tb.op["contract"].to_numpy()[has_use]]
    chosen = {c: _taken(tb.op[c], rows) for c in ("source", "material", "period", "min_order", "contract_cost")}
    contracts = pd.DataFrame({"commitment": "contract", "source": chosen["source"], "material": chosen["material"],
                              "period": chosen["period"].astype(int), "min_order": chosen["min_order"],
                              "contract_cost": chosen["contract_cost"], "build_cost": np.nan})
    build = _series(values.get("Build"))
    built = build[build > 0.5]
    if len(built):  # each option's build cost, found by its (source, period)
        keys = f.build_keys if f is not None else pd.MultiIndex.from_frame(tb.builds[["source", "period"]])
        at = keys.get_indexer(built.index)
        cost = np.where(at >= 0, tb.builds["build_cost"].to_numpy(dtype=float)[at], np.nan)
    builds = pd.DataFrame({"commitment": "build", "source": [k[0] for k in built.index], "material": None,
                           "period": [int(k[1]) for k in built.index], "min_order": np.nan, "contract_cost": np.nan,
                           "build_cost": cost if len(built) else []})
    # (both in COMMITMENT_COLUMNS' order, numbered from 0)
    return pd.concat([builds, contracts], ignore_index=True) if len(builds) or len(contracts) else builds


def _taken(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """``column`` at the positions ``rows``, of its dtype (no type inferred), numbered from 0."""
    return pd.Series(column.array.take(rows), dtype=column.dtype, copy=False)


def _clean(x: np.ndarray) -> np.ndarray:
    """Solver noise (|x| below TOL, e.g. 1.8e-15 t) shown as 0."""
    return np.where(np.abs(x) < TOL, 0.0, x)


ALL = "(all)"  # all materials together: the KPI rows of a period, a policy over every material
SUMS = ["bought", "spend", *(m.name for m in SHARES), "co2e", "water", "waste"]  # KPIs that add up over purchases


def _kpis(bought: _Bought, demand: pd.DataFrame, f: _Fixed, stock: pd.DataFrame | None = None) -> pd.DataFrame:
    """KPIs per material and period, then per period over all materials (material '(all)').

    The shares (FEOC, domestic, allied, recycled) are those the frontier optimises (models.metrics.METRICS).
    HHI stays blank where nothing was bought. With stockpiles, ``stock`` (closing stock) and
    ``reserve_months`` (its cover in months of next-period demand) per stocked material.

    Each row of the table is one integer key, ascending in the table's order (materials as
    listed, then '(all)'; periods ascending). Every purchase and demand counts twice, under
    its material's key and under its period's '(all)' key, so that each KPI is one grouped sum
    (pandas': compensated, in row order). The purchases' and the demand's sums are one grouped
    sum, each column blank (NaN, skipped) in the other's rows: a key without purchases sums to 0.
    """
    rows, q = bought.rows, bought.quantity
    n, nd, periods = len(rows), len(demand), len(f.periods)
    # every material bought or demanded is one of data.materials
    assert (f.material[rows] >= 0).all() and (f.demand_key >= 0).all()
    key = np.r_[f.material[rows] * periods + f.period[rows], (len(f.materials) - 1) * periods + f.period[rows]]
    columns = [q, bought.spend,
               *(np.where(f.selects[m.name][rows], q, np.nan) for m in SHARES),  # NaN outside the share
               bought.co2e, bought.water, bought.waste]
    x = np.full((2 * (n + nd), len(columns) + 2), np.nan, order="F")  # (a column at a time)
    for j, c in enumerate(columns):
        x[:2 * n, j] = np.tile(c, 2)
    x[2 * n:, -2] = np.tile(demand["quantity"].to_numpy(dtype=float), 2)
    x[2 * n:, -1] = np.tile(demand["shortfall"].to_numpy(dtype=float), 2)
    row, sums = _grouped_sums(x, np.r_[key, f.demand_key])
    k = dict(zip([*SUMS, "demand", "shortfall"], sums.T))
    # sources in use: the distinct (key, source) pairs of each key
    source = np.tile(f.source[rows], 2)
    pairs = key[source >= 0] * f.sources + source[source >= 0]
    if len(f.materials) * periods * f.sources <= 1 << 24:  # a table of every pair: marked, then counted
        seen = np.zeros(len(f.materials) * periods * f.sources, dtype=bool)
        seen[pairs] = True
        in_use = seen.reshape(-1, f.sources).sum(axis=1)[row]
    else:
        pairs = np.sort(pairs)
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
        in_use = np.bincount(np.searchsorted(row, pairs // f.sources), minlength=len(row))
    # HHI: the squared shares (in %) of each country's purchases, as grouped sums of grouped sums
    country = np.tile(f.country[rows], 2)
    known = country >= 0
    pair, by_country = _grouped_sums(np.tile(q, 2)[known], key[known] * f.countries + country[known])
    of = pair // f.countries  # (ascending)
    at, whole = _grouped_sums(by_country, of)
    at, squares = _grouped_sums((by_country / whole[np.searchsorted(at, of)] * 100) ** 2, of)
    hhi = np.full(len(row), np.nan)  # blank where nothing was bought
    hhi[np.searchsorted(row, at)] = squares
    total = k["bought"]
    out = pd.DataFrame({
        "material": f.materials[row // periods], "period": f.periods[row % periods],
        "demand": k["demand"], "bought": total, "shortfall": k["shortfall"], "spend": k["spend"],
        **{m.name: _share(k[m.name], total) for m in SHARES},
        "hhi": hhi, "sources_in_use": in_use.astype(int),
        "co2e": k["co2e"], "water": k["water"], "waste": k["waste"],
    })
    if stock is not None:
        at = f.stock_at[row]
        out["stock"] = np.where(at >= 0, stock["closing"].to_numpy(dtype=float)[at], np.nan)
        out["reserve_months"] = np.where(at >= 0, stock["reserve_months"].to_numpy(dtype=float)[at], np.nan)
    return out


def _grouped_sums(x: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys, ascending, and the sum of ``x`` (a vector, or a matrix's columns) per key:
    pandas' grouped sum (compensated, in row order, NaN skipped: 0 where all are NaN)."""
    if not len(key):
        return np.zeros(0, dtype=np.int64), np.zeros((0, *x.shape[1:]))
    s = (pd.DataFrame(x, copy=False) if x.ndim == 2 else pd.Series(x, copy=False)).groupby(key, sort=False).sum()
    keys = s.index.to_numpy()
    order = np.argsort(keys)  # (sorting the few sums, not the keys of every row)
    return keys[order], s.to_numpy()[order]


def _purchases_table(op: pd.DataFrame, b: _Bought, f: _Fixed) -> pd.DataFrame:
    """The purchases by period, material (both ascending) and quantity (descending; ties in op's order)."""
    order = np.lexsort((-b.quantity, f.rank[b.rows], f.period[b.rows]))
    at = b.rows[order]

    def column(name: str) -> pd.Series:
        return _taken(op[name], at)

    return pd.DataFrame({
        "period": op["period"].to_numpy()[at].astype(int), "material": column("material"), "source": column("source"),
        "country": column("country"), "bloc": column("bloc"), "kind": column("kind"), "owner": column("owner"),
        "quantity": b.quantity[order], "unit_cost": column("unit_cost"), "tariff": column("tariff"),
        "spend": b.spend[order], "co2e": b.co2e[order], "water": b.water[order], "waste": b.waste[order],
    }, copy=False)  # (every column made here)


POLICY_COLUMNS = ["policy", "instance", "rule", "material", "period", "selection", "metric", "limit", "achieved",
                  "slack", "binding", "enforcement", "violation", "penalty_cost", "shadow_price", "shadow_price_unit",
                  "policies_row"]
RULE_KIND = {**dict.fromkeys(SHARE_RULES, "share"), **dict.fromkeys(COUNT_RULES, "count"),
             **dict.fromkeys(TOTAL_RULES, "total")}  # as models.policies.PolicyInstance.kind


def _fixed_policies(pol: pd.DataFrame, s) -> tuple[pd.DataFrame, pd.api.extensions.ExtensionArray]:
    """The Policies sheet's columns that do not depend on the solution, from policy_results' fixed
    ones (models.sourcing.policy_fields); and the binding column's two values, no and yes, typed as
    pandas types that column."""
    unit = {"share": f"{s.currency} per percentage point", "count": "n/a (integer rule)"}
    metric_unit = {"quantity": s.quantity_unit, "spend": s.currency, "co2e": "t CO2e", "water": "m3", "waste": "t",
                   "risk": f"risk point × {s.quantity_unit}"}
    kind = pol["rule"].map(RULE_KIND)
    total = (kind == "total").to_numpy()
    units = kind.map(unit).to_numpy()  # a total's unit is its metric's
    units[total] = [f"{s.currency} per {metric_unit.get(m, m)}" for m in pol["metric"].to_numpy()[total]]
    fixed = pd.DataFrame({
        "policy": pol["policy"], "instance": pol["instance"], "rule": pol["rule"],
        "material": pol["material"].fillna(ALL), "period": pol["period"].astype(str),
        "selection": pol["selection"], "metric": np.where(total, pol["metric"], ""), "limit": pol["limit"],
        "enforcement": np.where(pol["soft"], "soft", "hard"), "shadow_price_unit": units.tolist(),
        "policies_row": pol["row"],
    })
    return fixed, pd.DataFrame({"binding": np.array(["no", "yes"])})["binding"].array


def _policies_table(pol: pd.DataFrame, fixed: tuple | None) -> pd.DataFrame:
    """The Policies sheet: policy_results' columns for reading; the fixed ones from ``fixed`` (_fixed_policies)."""
    if pol.empty:
        return pd.DataFrame(columns=["policy", "instance", "rule", "material", "period", "selection", "limit", "achieved"])
    c, yes_no = fixed
    solved = pd.DataFrame({
        "achieved": pol["achieved"], "slack": pol["slack"],
        "binding": pd.Series(yes_no.take(pol["binding"].to_numpy().astype(np.intp)), dtype=yes_no.dtype, copy=False),
        "violation": pol["violation"], "penalty_cost": pol["penalty"], "shadow_price": pol["shadow_price"],
    })
    return pd.concat([c, solved], axis=1)[POLICY_COLUMNS]  # the fixed columns joined, not copied


def _investments(result, data: PlanData) -> pd.DataFrame:
    build = _series(result.values.get("Build"))
    built = build[build > 0.5]
    at = data.sources.index.get_indexer([source for source, _ in built.index])
    if (at < 0).any():
        raise KeyError(built.index[at < 0][0][0])
    # each built source's fields (the values as a row of data.sources holds them)
    fields = {c: data.sources[c].to_numpy()[at]
              for c in ("name", "country", "kind", "lead_time", "build_cost", "capacity")}
    rows = []
    for i, (source, period) in enumerate(built.index):
        src = {c: v[i] for c, v in fields.items()}
        rows.append({"source": source, "name": src["name"], "country": src["country"], "kind": src["kind"],
                     "build_period": int(period), "first_supply": int(period) + int(src["lead_time"]),
                     "build_cost": float(src["build_cost"]), "discounted": float(src["build_cost"]) * data.discount(int(period)),
                     "capacity": src["capacity"]})
    cols = ["source", "name", "country", "kind", "build_period", "first_supply", "build_cost", "discounted", "capacity"]
    return pd.DataFrame(rows, columns=cols)


def _shortfalls(demand: pd.DataFrame, s, f: _Fixed | None = None) -> pd.DataFrame:
    short = demand["shortfall"].to_numpy() > TOL
    if f is not None and not short.any():  # no shortfall: an empty table, the same every time
        return f.shortfalls_of(demand).copy()
    return _shortfall_table(demand[short])


def _shortfall_table(d: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "material": d["material"], "period": d["period"].astype(int), "demand": d["quantity"],
        "supplied": d["quantity"] - d["shortfall"], "shortfall": d["shortfall"],
        "shortage_penalty": d["shortage_penalty"], "cost": d["shortfall"] * d["shortage_penalty"], "demand_row": d["row"],
    }, columns=["material", "period", "demand", "supplied", "shortfall", "shortage_penalty", "cost", "demand_row"])
