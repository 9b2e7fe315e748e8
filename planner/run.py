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
from typing import Callable

import numpy as np
import pandas as pd

from models.data import PlanData
from models.metrics import METRICS
from models.policies import COUNT_RULES, SHARE_RULES, TOTAL_RULES
from models.sourcing import InfeasibleData, build_matrix, cost_table, policy_results, purchases

from . import __version__, numerics, policy_costs, scenarios, solver
from .diagnose import Diagnosis, diagnosis_path, explain, write_diagnosis
from .reader import read_workbook
from .report import PlanResult, write_plan
from .validate import Checked, check

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


def _solve_file(path: Path, out: Path | None, options: Options, progress, log) -> Outcome:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    book = read_workbook(path)
    timings["read"] = time.perf_counter() - t0
    t = time.perf_counter()
    checked = check(book)
    timings["validate"] = time.perf_counter() - t
    if checked.errors:
        return Outcome("invalid", checked, timings=timings)
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
    result = solver.solve(model, time_limit_s=limit, mip_gap=gap, threads=threads, progress=progress)
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
        outcome.path = write_plan(out, outcome.plan, book)
        timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return outcome


def _diagnose(outcome: Outcome, path: Path, out: Path | None, model, limit, threads, log, t0, scenario) -> Outcome:
    """Explain why no plan exists; with an output path, write the Diagnosis workbook instead of a plan."""
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


# --------------------------------------------------------------------------- extraction

def extract(model, result: solver.SolveResult, data: PlanData, facts: dict, timings: dict) -> PlanResult:
    """Tables of the plan from the solution loaded in ``model``."""
    s = data.settings
    buy = result.values["Buy"]
    op = purchases(model, buy)
    q = op["quantity"].to_numpy()
    bought = op.loc[q > TOL].copy()
    bought["spend"] = bought["quantity"] * bought["price"]
    for metric in ("co2e", "water", "waste"):
        bought[f"{metric}_total"] = bought["quantity"] * bought[metric]

    shortfall = _series(result.values.get("Shortfall"))
    demand = model.tables.demand.copy()
    keys = pd.MultiIndex.from_arrays([demand["material"], demand["period"].astype(int)])
    demand["shortfall"] = shortfall.reindex(keys, fill_value=0.0).to_numpy(dtype=float)
    stock = stock_table(model, result.values, op, demand) if len(model.tables.stock) else None
    kpis = _kpis(bought, demand, data, stock)
    violation = _series(result.values.get("Violation"))
    pol = policy_results(model, buy, violation, result.shadow_prices)
    costs = cost_table(model).drop(columns="name").rename(columns={"label": "component"})
    costs.loc[len(costs)] = ["Total", costs["discounted"].sum(), costs["undiscounted"].sum()]

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
    plan = PlanResult(facts=fact_list, costs=costs, kpis=kpis, purchases=_purchases_table(bought),
                      policies=_policies_table(pol, s), investments=_investments(result, data),
                      shortfalls=_shortfalls(demand, s), supply=bought[["material", "period", "bloc", "country", "quantity"]],
                      proven_optimal=proven, warnings=warnings, stock=stock,
                      extra_sheets=[("Commitments", commitments_table(model, result.values))])
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


def stock_table(model, values: dict[str, pd.Series], op: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """The Stock sheet: per stocked material and period, stock in and out, against the reserve.

    opening + bought = supplied + disposed + closing; ``drawn`` = max(opening - closing, 0) is what
    the period took from stock; ``reserve_months`` = closing stock in months of the next period's
    demand (the last period: its own), periods being years; blank where that demand is 0.
    """
    st = model.tables.stock
    keys = pd.MultiIndex.from_arrays([st["material"], st["period"].astype(int)])
    closing = _series(values.get("Stock")).reindex(keys).fillna(0.0).to_numpy(dtype=float)
    first = ~np.isnan(st["opening"].to_numpy(dtype=float))
    opening = np.where(first, st["opening"].to_numpy(dtype=float), np.r_[0.0, closing[:-1]])
    bought = op.groupby(["material", "period"])["quantity"].sum().reindex(keys).fillna(0.0).to_numpy()
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


def commitments_table(model, values: dict[str, pd.Series]) -> pd.DataFrame:
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
    chosen = tb.op.iloc[has_use[(use.to_numpy(dtype=float) > 0.5) & tb.op["contract"].to_numpy()[has_use]]]
    contracts = pd.DataFrame({"commitment": "contract", "source": chosen["source"], "material": chosen["material"],
                              "period": chosen["period"].astype(int), "min_order": chosen["min_order"],
                              "contract_cost": chosen["contract_cost"], "build_cost": np.nan})
    build = _series(values.get("Build"))
    built = build[build > 0.5]
    b = tb.builds.set_index(["source", "period"]).reindex(built.index) if len(built) else tb.builds.iloc[:0]
    builds = pd.DataFrame({"commitment": "build", "source": [k[0] for k in built.index], "material": None,
                           "period": [int(k[1]) for k in built.index], "min_order": np.nan, "contract_cost": np.nan,
                           "build_cost": b["build_cost"].to_numpy(dtype=float) if len(built) else []})
    out = pd.concat([builds, contracts], ignore_index=True) if len(builds) or len(contracts) else builds
    return out[list(COMMITMENT_COLUMNS)].reset_index(drop=True)


def _clean(x: np.ndarray) -> np.ndarray:
    """Solver noise (|x| below TOL, e.g. 1.8e-15 t) shown as 0."""
    return np.where(np.abs(x) < TOL, 0.0, x)


ALL = "(all)"  # all materials together: the KPI rows of a period, a policy over every material
SUMS = ["bought", "spend", *(m.name for m in SHARES), "co2e", "water", "waste"]  # KPIs that add up over purchases


def _kpis(bought: pd.DataFrame, demand: pd.DataFrame, data: PlanData, stock: pd.DataFrame | None = None) -> pd.DataFrame:
    """KPIs per material and period, then per period over all materials (material '(all)').

    The shares (FEOC, domestic, allied, recycled) are those the frontier optimises (models.metrics.METRICS).
    HHI stays blank where nothing was bought. With stockpiles, ``stock`` (closing stock) and
    ``reserve_months`` (its cover in months of next-period demand) per stocked material.

    Each row of the table is one integer key, ascending in the table's order (materials as
    listed, then '(all)'; periods ascending). Every purchase and demand counts twice, under
    its material's key and under its period's '(all)' key, so that each KPI is one grouped sum.
    """
    materials = pd.Index([*data.materials.index, ALL])
    periods = np.unique(np.r_[bought["period"].to_numpy(dtype=np.int64), demand["period"].to_numpy(dtype=np.int64)])

    def keys(frame: pd.DataFrame) -> np.ndarray:  # each row's material key, then its '(all)' key
        material = materials.get_indexer(frame["material"])
        assert (material >= 0).all()  # every material bought or demanded is one of data.materials
        period = np.searchsorted(periods, frame["period"].to_numpy(dtype=np.int64))
        return np.r_[material * len(periods) + period, (len(materials) - 1) * len(periods) + period]

    def twice(column: pd.Series | np.ndarray) -> np.ndarray:
        return np.tile(np.asarray(column), 2)

    q = bought["quantity"].to_numpy()
    b = pd.DataFrame({
        "bought": twice(q), "spend": twice(bought["spend"]),
        **{m.name: twice(np.where(m.selects(bought), q, np.nan)) for m in SHARES},  # NaN outside the share: sums skip it
        "co2e": twice(bought["co2e_total"]), "water": twice(bought["water_total"]), "waste": twice(bought["waste_total"]),
        "source": twice(bought["source"]),
    })
    key = keys(bought)
    g = b.groupby(key)
    k = g[SUMS].sum()
    k["sources_in_use"] = g["source"].nunique()
    by_country = b["bought"].groupby([key, twice(bought["country"])]).sum()
    share = by_country / by_country.groupby(level=0).transform("sum")
    k["hhi"] = (share * 100).pow(2).groupby(level=0).sum()
    d = pd.DataFrame({"demand": twice(demand["quantity"]), "shortfall": twice(demand["shortfall"])})
    d = d.groupby(keys(demand)).sum()
    rows = k.index.union(d.index)
    hhi = k["hhi"].reindex(rows).to_numpy()  # blank where nothing was bought
    k, d = k.reindex(rows, fill_value=0.0), d.reindex(rows, fill_value=0.0)
    row = rows.to_numpy()
    total = k["bought"].to_numpy()
    out = pd.DataFrame({
        "material": materials[row // len(periods)], "period": periods[row % len(periods)],
        "demand": d["demand"].to_numpy(), "bought": total, "shortfall": d["shortfall"].to_numpy(),
        "spend": k["spend"].to_numpy(),
        **{m.name: _share(k[m.name].to_numpy(), total) for m in SHARES},
        "hhi": hhi, "sources_in_use": k["sources_in_use"].astype(int).to_numpy(),
        "co2e": k["co2e"].to_numpy(), "water": k["water"].to_numpy(), "waste": k["waste"].to_numpy(),
    })
    if stock is not None:
        s = stock.set_index(["material", "period"])
        at = pd.MultiIndex.from_arrays([out["material"], out["period"]])
        out["stock"] = s["closing"].reindex(at).to_numpy()
        out["reserve_months"] = s["reserve_months"].reindex(at).to_numpy()
    return out


def _purchases_table(b: pd.DataFrame) -> pd.DataFrame:
    t = pd.DataFrame({
        "period": b["period"].astype(int), "material": b["material"], "source": b["source"], "country": b["country"],
        "bloc": b["bloc"], "kind": b["kind"], "owner": b["owner"], "quantity": b["quantity"], "unit_cost": b["unit_cost"],
        "tariff": b["tariff"], "spend": b["spend"], "co2e": b["co2e_total"], "water": b["water_total"],
        "waste": b["waste_total"],
    })
    return t.sort_values(["period", "material", "quantity"], ascending=[True, True, False]).reset_index(drop=True)


RULE_KIND = {**dict.fromkeys(SHARE_RULES, "share"), **dict.fromkeys(COUNT_RULES, "count"),
             **dict.fromkeys(TOTAL_RULES, "total")}  # as models.policies.PolicyInstance.kind


def _policies_table(pol: pd.DataFrame, s) -> pd.DataFrame:
    if pol.empty:
        return pd.DataFrame(columns=["policy", "instance", "rule", "material", "period", "selection", "limit", "achieved"])
    unit = {"share": f"{s.currency} per percentage point", "count": "n/a (integer rule)"}
    metric_unit = {"quantity": s.quantity_unit, "spend": s.currency, "co2e": "t CO2e", "water": "m3", "waste": "t",
                   "risk": f"risk point × {s.quantity_unit}"}
    kind = pol["rule"].map(RULE_KIND)
    total = (kind == "total").to_numpy()
    units = kind.map(unit).to_numpy()  # a total's unit is its metric's
    units[total] = [f"{s.currency} per {metric_unit.get(m, m)}" for m in pol["metric"].to_numpy()[total]]
    return pd.DataFrame({
        "policy": pol["policy"], "instance": pol["instance"], "rule": pol["rule"],
        "material": pol["material"].fillna(ALL), "period": pol["period"].astype(str),
        "selection": pol["selection"], "metric": np.where(total, pol["metric"], ""),
        "limit": pol["limit"], "achieved": pol["achieved"], "slack": pol["slack"], "binding": np.where(pol["binding"], "yes", "no"),
        "enforcement": np.where(pol["soft"], "soft", "hard"), "violation": pol["violation"], "penalty_cost": pol["penalty"],
        "shadow_price": pol["shadow_price"],
        "shadow_price_unit": units.tolist(),
        "policies_row": pol["row"],
    })


def _investments(result, data: PlanData) -> pd.DataFrame:
    build = _series(result.values.get("Build"))
    built = build[build > 0.5]
    rows = []
    for (source, period) in built.index:
        src = data.sources.loc[source]
        rows.append({"source": source, "name": src["name"], "country": src["country"], "kind": src["kind"],
                     "build_period": int(period), "first_supply": int(period) + int(src["lead_time"]),
                     "build_cost": float(src["build_cost"]), "discounted": float(src["build_cost"]) * data.discount(int(period)),
                     "capacity": src["capacity"]})
    cols = ["source", "name", "country", "kind", "build_period", "first_supply", "build_cost", "discounted", "capacity"]
    return pd.DataFrame(rows, columns=cols)


def _shortfalls(demand: pd.DataFrame, s) -> pd.DataFrame:
    d = demand[demand["shortfall"] > TOL]
    return pd.DataFrame({
        "material": d["material"], "period": d["period"].astype(int), "demand": d["quantity"],
        "supplied": d["quantity"] - d["shortfall"], "shortfall": d["shortfall"],
        "shortage_penalty": d["shortage_penalty"], "cost": d["shortfall"] * d["shortage_penalty"], "demand_row": d["row"],
    }, columns=["material", "period", "demand", "supplied", "shortfall", "shortage_penalty", "cost", "demand_row"])
