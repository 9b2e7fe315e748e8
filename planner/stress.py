"""Stress-test a plan (``planner stress PLAN --scenario NAME``): what happens to it under a disruption.

A plan commits to things before supply is known: candidate sources to build and contracts
(offers in use) in each period, both listed on its ``Commitments`` sheet. A stress test
keeps those commitments, applies a scenario of the plan's embedded inputs (a ban, a
tariff, a demand surge), and re-optimises only what can still change:

- **Commitments are fixed.** Every ``Build`` decision as in the plan (built where it built,
  unbuilt elsewhere, even where building would now help); every contract (an offer with a
  minimum order or a contract cost) in use as in the plan (a contract signed stays signed,
  none is added). Offers without such terms are spot purchases and stay free, also where a
  sources rule counts them. A contract whose offer the scenario
  cuts to nothing has no decision left in the stressed model: it cannot deliver (force
  majeure) and its contract cost is not charged. An offer the scenario gives a minimum order
  or contract cost it did not have had no decision in the plan and is left free.
- **History is fixed.** The disruption starts in the earliest period any of the scenario's
  edits touches (an edit without a period, or a Settings edit: the first period). Before it,
  purchases and closing stock are the plan's.
- **The reserve is there to be drawn.** During the disruption (from its first to its last
  period), stock may fall to 0; after it, the reserve holds again and must be rebuilt.
- **Demand may go unmet.** Every demand without a shortage penalty gets one
  (``--shortage-penalty``, or 10 × the highest price, unit cost × (1 + tariff), of any
  offer-period of its material), so that a disruption shows as a shortfall, not as "no plan".

Everything else (spot purchases, stock draws, shortfall, sources in use) is re-optimised.
The result is a normal plan workbook (comparable with ``planner compare PLAN STRESSED``)
with two more sheets: ``Stress`` (per material and period: bought, shortfall, purchase cost
and reserve, planned against stressed) and ``StressCosts`` (each cost component, planned
against stressed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import python_calamine

from models.data import PlanData
from models.sourcing import InfeasibleData, build_model, contract_keys

from . import batch, scenarios, solver
from .compare import _table
from .diagnose import Diagnosis, diagnosis_path, explain, write_diagnosis
from .errors import InputError, Problem
from .plan import PlanResult, summary_facts
from .reader import RawBook, read_workbook
from .report import write_plan
from .run import TOL, extract, sha256
from .validate import BASE_SCENARIO, Checked, check

PENALTY_FACTOR = 10.0  # default shortage penalty: this many times the material's highest price
STRESS_COLUMNS = ("material", "period", "phase", "demand", "planned_bought", "stressed_bought", "planned_shortfall",
                  "stressed_shortfall", "planned_cost", "stressed_cost", "extra_cost", "planned_reserve",
                  "stressed_reserve", "reserve_drawn", "shortage_penalty", "notes")


@dataclass
class BasePlan:
    """The plan being stressed, read back: its inputs, commitments, purchases, stock and costs."""

    path: Path
    sha256: str
    facts: dict[str, object]
    book: RawBook  # its embedded inputs, as read
    checked: Checked
    builds: set[tuple[str, int]]  # (source, build period)
    contracts: set[tuple[str, str, int]]  # (source, material, period)
    purchases: pd.DataFrame  # period, material, source, quantity, cost (quantity × unit cost × (1 + tariff))
    shortfalls: pd.DataFrame  # material, period, shortfall
    stock: pd.DataFrame | None  # material, period, closing; None when the plan holds no stock
    costs: pd.DataFrame  # component, discounted, undiscounted

    @property
    def scenario(self) -> str:
        return str(self.facts.get("scenario") or BASE_SCENARIO)


@dataclass
class StressRun:
    """One scenario's stress test: what was held, what came out, and where it was written."""

    scenario: str
    status: str  # a solver status ("optimal", "time_limit_feasible", "infeasible", ...)
    start: int | None = None  # first period of the disruption
    end: int | None = None  # its last period: the reserve may be drawn from start to end
    penalties: dict[str, float] = field(default_factory=dict)  # material → shortage penalty given where none was
    penalty_given: bool = False  # the penalty came from --shortage-penalty
    plan: PlanResult | None = None
    result: solver.SolveResult | None = None
    path: Path | None = None
    stress: pd.DataFrame | None = None  # the Stress sheet
    stress_costs: pd.DataFrame | None = None  # the StressCosts sheet
    notes: list[str] = field(default_factory=list)  # for the Summary and stdout
    cell_notes: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (material, period) → notes on its row
    diagnosis: Diagnosis | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def extra_cost(self) -> float:
        """Stressed minus planned total cost (discounted, penalties included)."""
        total = self.stress_costs.set_index("component").loc["Total"]
        return float(total["stressed_discounted"] - total["planned_discounted"])

    def shortfall(self) -> dict[str, float]:
        return self.stress.groupby("material", sort=False)["stressed_shortfall"].sum().to_dict()

    def reserve_drawn(self) -> dict[str, tuple[float, int]]:
        """Per stocked material: the most the stock fell below the plan's, and in which period."""
        s = self.stress.dropna(subset=["reserve_drawn"])
        out = {}
        for mat, g in s.groupby("material", sort=False):
            i = g["reserve_drawn"].idxmax()
            out[mat] = (float(g.at[i, "reserve_drawn"]), int(g.at[i, "period"]))
        return out

    def as_json(self) -> dict:
        r = self.result
        d = {"scenario": self.scenario, "status": self.status, "start": self.start,
             "objective": r.objective if r and r.has_solution else None,
             "gap": r.gap if r and r.has_solution else None, "bound": r.bound if r and r.has_solution else None,
             "plan": str(self.path) if self.path else None,
             "shortage_penalty": self.penalties, "notes": self.notes,
             "timings": {k: round(v, 4) for k, v in self.timings.items()},
             "solver_seconds": round(r.solver_seconds, 4) if r else 0.0,
             "max_violation": r.max_violation.amount if r and r.max_violation else None}
        if self.stress is not None:
            d.update(extra_cost=self.extra_cost, shortfall=self.shortfall(),
                     reserve_drawn={m: q for m, (q, _) in self.reserve_drawn().items()})
        if self.diagnosis is not None:
            d.update(diagnosis=self.diagnosis.as_json(),
                     diagnosis_workbook=str(self.diagnosis.path) if self.diagnosis.path else None)
        return d


# --------------------------------------------------------------------------- reading the plan

def read_base(path: str | Path) -> BasePlan:
    """Read a plan workbook written by ``planner solve``: its commitments and embedded inputs.

    Raises InputError (one sentence) for a file that is not a plan, a plan written before
    plans listed their commitments, or a plan whose embedded inputs do not validate.
    """
    path = Path(path)
    book = read_workbook(path)  # the safety checks, and the embedded inputs
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path), load_tables=True)
        names = set(wb.table_names)
        summary = wb.get_sheet_by_name("Summary").to_python(nrows=200) if "Summary" in wb.sheet_names else []
    except Exception as e:  # calamine's errors are varied; one sentence is enough
        raise _refuse(path, f"cannot be read as a plan ({type(e).__name__}: {e})") from None
    if "Commitments" not in names:
        if {"Costs", "KPIs", "Purchases"} <= names:
            raise _refuse(path, "is a plan written before plans listed their commitments (it has no Commitments "
                                "sheet); solve it again with 'planner solve' to stress-test it")
        raise _refuse(path, "is not a plan workbook (it has no Commitments sheet); give a plan written by planner solve")
    if not book.tables:
        raise _refuse(path, "carries no input.* sheets, so its inputs and scenarios are unknown")
    checked = check(book)
    if checked.errors:
        raise InputError([Problem(None, None, None, None, f"the inputs embedded in {path} do not validate:"),
                          *checked.errors])
    commitments = _table(wb, "Commitments")
    kind = commitments["commitment"].astype(str) if len(commitments) else pd.Series(dtype=str)
    builds = commitments[kind == "build"]
    contracts = commitments[kind == "contract"]
    purchases = _table(wb, "Purchases")
    if len(purchases):
        purchases = purchases.assign(period=purchases["period"].astype(int),
                                     cost=purchases["quantity"] * purchases["unit_cost"] * (1.0 + purchases["tariff"]))
    else:
        purchases = pd.DataFrame(columns=["period", "material", "source", "quantity", "cost"])
    short = _table(wb, "Shortfalls") if "Shortfalls" in names else pd.DataFrame()
    short = short[["material", "period", "shortfall"]] if len(short) else pd.DataFrame(columns=["material", "period", "shortfall"])
    stock = _table(wb, "Stock")[["material", "period", "closing"]] if "Stock" in names else None
    return BasePlan(
        path=path, sha256=sha256(path), facts=summary_facts(summary), book=book, checked=checked,
        builds={(str(s), int(p)) for s, p in zip(builds["source"], builds["period"])},
        contracts={(str(s), str(m), int(p)) for s, m, p in zip(contracts["source"], contracts["material"], contracts["period"])},
        purchases=purchases, shortfalls=short, stock=stock, costs=_table(wb, "Costs"))


def _refuse(path: Path, why: str) -> InputError:
    return InputError([Problem(None, None, None, None, f"{path} {why}")])


# --------------------------------------------------------------------------- outputs

def output_paths(plan: Path, out: Path | None, names: list[str]) -> dict[str, Path]:
    """Where each scenario's stressed plan goes.

    One scenario with ``-o OUT``: OUT. Otherwise OUT (default ``outputs/<plan>-stress.xlsx``;
    a folder: ``<folder>/<plan>-stress.xlsx``) names them as ``planner solve --scenario`` names
    its plans: ``<OUT stem>--<scenario>.xlsx`` beside it.
    """
    if out is not None and len(names) == 1 and not out.is_dir():
        return {names[0]: out}
    if out is None:
        out = Path("outputs") / f"{plan.stem}-stress.xlsx"
    elif out.is_dir():
        out = out / f"{plan.stem}-stress.xlsx"
    paths = batch.plan_paths(out, names)
    del paths[BASE_SCENARIO]
    return paths


# --------------------------------------------------------------------------- stress test

def stress(base: BasePlan, name: str, out: Path | None, time_limit_s: float | None = None,
           shortage_penalty: float | None = None, progress: solver.ProgressCallback | None = None,
           log: Callable[[str], None] = lambda s: None) -> StressRun:
    """Stress ``base`` under scenario ``name``; write the stressed plan to ``out`` when there is one."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    applied = scenarios.apply(base.checked, name)
    data = applied.data
    run = StressRun(name, "error", start=scenarios.start_period(base.checked, name),
                    end=scenarios.window(base.checked, name)[1], timings=timings,
                    penalty_given=shortage_penalty is not None)
    data.demand, run.penalties = with_shortage_penalties(data, base.checked.data, shortage_penalty)
    timings["scenario"] = time.perf_counter() - t0
    settings = data.settings
    limit = time_limit_s if time_limit_s is not None else settings.time_limit_s
    if base.scenario != BASE_SCENARIO:
        run.notes.append(f"{base.path.name} is the plan of scenario {base.scenario!r}; {name!r} is applied to the base "
                         "inputs, not on top of it")
    t = time.perf_counter()
    try:
        model = build_model(data)
    except InfeasibleData as e:
        timings["build"] = time.perf_counter() - t
        run.status = "infeasible"
        return _diagnose(run, base, data, e.obstacles, None, out, limit, settings.threads, log, t0)
    held = hold(model, base, data, run)
    timings["build"] = time.perf_counter() - t
    log(f"{name}: built the stressed model in {timings['build']:.2f} s (disruption from {run.start}; "
        f"{held}); solving (time limit {limit:g} s)")
    result = solver.solve(model, time_limit_s=limit, mip_gap=settings.mip_gap, threads=settings.threads, progress=progress)
    timings["solve"] = result.timings.get("total", 0.0)
    run.status, run.result = result.status, result
    if result.status == "infeasible":
        return _diagnose(run, base, data, [], model, out, limit, settings.threads, log, t0)
    if not result.has_solution:
        timings["total"] = time.perf_counter() - t0
        return run
    t = time.perf_counter()
    for v in model.component_data_objects(pyo.Var):
        v.unfix()  # check the whole plan, history and commitments included, against the stressed model
    result.max_violation = solver.verify(model, result.values)
    facts = {"input": base.facts.get("input file") or str(base.path), "input_sha256": base.facts.get("input SHA-256") or "",
             "template_version": base.facts.get("template version") or base.book.template_version or "", "time_limit_s": limit, "mip_gap": settings.mip_gap,
             "threads": settings.threads if settings.threads is not None else "solver default",
             "scenario": name, "scenario_edits": f"{applied.summary()} (see the Scenario sheet)"}
    plan = extract(model, result, data, facts, timings)
    plan.scenario_edits, plan.scenario_changes = applied.edits, applied.changes
    run.stress = stress_table(base, plan, data, run.start, run.end, run.cell_notes)
    run.stress_costs = cost_table(base, plan)
    plan.extra_sheets += [("Stress", run.stress), ("StressCosts", run.stress_costs)]
    _describe(plan, run, base, settings, held)
    timings["extract"] = time.perf_counter() - t
    plan.facts += [(f"seconds: {k}", round(v, 3)) for k, v in timings.items()]
    run.plan = plan
    if out is not None:
        t = time.perf_counter()
        run.path = write_plan(out, plan, base.book)
        timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return run


def with_shortage_penalties(data: PlanData, base: PlanData, given: float | None) -> tuple[pd.DataFrame, dict[str, float]]:
    """The demand table with a shortage penalty on every row that has none, and the penalty per material.

    ``given``, or 10 × the highest price (unit cost × (1 + tariff)) of any offer-period of the
    material in the scenario's data, else in the base data, else of any material.
    """
    demand = data.demand.copy()
    lacking = demand["shortage_penalty"].isna()
    materials = list(dict.fromkeys(demand.loc[lacking, "material"]))
    if given is not None:
        penalties = {m: float(given) for m in materials}
    else:
        scen, fallback = _highest_price(data), _highest_price(base)
        anything = max([*scen.values(), *fallback.values()], default=1.0 / PENALTY_FACTOR)
        penalties = {m: PENALTY_FACTOR * scen.get(m, fallback.get(m, anything)) for m in materials}
    demand.loc[lacking, "shortage_penalty"] = demand.loc[lacking, "material"].map(penalties).astype(float)
    return demand, penalties


def _highest_price(data: PlanData) -> dict[str, float]:
    op = data.offer_periods
    price = op["unit_cost"].to_numpy(dtype=float) * (1.0 + op["tariff"].to_numpy(dtype=float))
    material = data.offers["material"].to_numpy()[op["offer"].to_numpy()]
    return pd.Series(price).groupby(material).max().to_dict()


def hold(model, base: BasePlan, data: PlanData, run: StressRun) -> str:
    """Fix the plan's commitments and history in ``model``; relax the reserve from ``run.start`` to ``run.end``.

    Notes in ``run`` each commitment or purchase the stressed model cannot hold; returns what was held, in words.
    """
    start, notes = run.start, run.notes

    def on_row(material: str, period: int, text: str) -> None:
        run.cell_notes.setdefault((material, int(period)), []).append(text)
    build_keys = set(model.Build.keys())
    for k, v in model.Build.items():
        v.fix(1.0 if (k[0], int(k[1])) in base.builds else 0.0)
    for s, b in sorted(base.builds - build_keys):
        notes.append(f"the build of {s} in {b} is no longer possible under the scenario; it is taken as not built")
    new = _new_decisions(base.checked.data, data)
    use_keys = set(model.Use.keys())
    terms = set(contract_keys(model))
    for k, v in model.Use.items():
        if k not in terms:
            continue  # in use only for a sources rule: bought spot, free to change
        if k in base.contracts:
            v.fix(1.0)
        elif (k[0], k[1]) not in new:
            v.fix(0.0)
    lost: dict[tuple[str, str], list[int]] = {}
    for s, m, t in sorted(base.contracts - use_keys):
        lost.setdefault((s, m), []).append(t)
        on_row(m, t, f"contract {s} cannot deliver (force majeure)")
    for (s, m), periods in lost.items():
        notes.append(f"contract {s} for {m} in {_spans(periods)} cannot deliver: the scenario leaves the offer nothing "
                     "to sell (force majeure; its contract cost is not charged)")
    bought = base.purchases.groupby(["source", "material", "period"])["quantity"].sum().to_dict()
    for k, v in model.Buy.items():
        if k[2] >= start:
            continue
        q = float(bought.pop(k, 0.0))
        if v.ub is not None and q > v.ub + TOL:
            notes.append(f"{k[0]} for {k[1]} in {k[2]}: the plan bought {q:,.6g}, more than the scenario's data allows "
                         f"({v.ub:,.6g}); held at that")
            on_row(k[1], k[2], f"{k[0]}: held at {v.ub:,.6g}, below the plan's {q:,.6g}")
            q = v.ub
        v.fix(q)
    for (s, m, t), q in sorted(bought.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        if t < start and q > TOL:
            notes.append(f"{s} for {m} in {t}: the plan bought {q:,.6g}, which the scenario's data does not offer; "
                         "not held")
            on_row(m, t, f"{s}: the plan's {q:,.6g} is not offered under the scenario")
    closing = base.stock.set_index(["material", "period"])["closing"].to_dict() if base.stock is not None else {}
    for k, v in model.Stock.items():
        if k[1] < start:
            q = max(float(closing.get((k[0], int(k[1])), 0.0)), 0.0)
            v.setlb(min(v.lb or 0.0, q))
            v.fix(q)
        elif k[1] <= run.end:
            v.setlb(0.0)  # after the disruption the reserve holds again: it must be rebuilt
    history = f"purchases and stock before {start} as planned" if start > data.periods[0] else "no history held"
    return (f"{len(base.builds)} build{'s' if len(base.builds) != 1 else ''} and {len(base.contracts)} "
            f"contract-period{'s' if len(base.contracts) != 1 else ''} held, {history}")


def _spans(periods: list[int]) -> str:
    """2027, 2028, 2029, 2031 → '2027–2029, 2031'."""
    out, first = [], None
    for i, t in enumerate(periods):
        first = t if first is None else first
        if i + 1 == len(periods) or periods[i + 1] != t + 1:
            out.append(str(t) if t == first else f"{first}–{t}")
            first = None
    return ", ".join(out)


def _new_decisions(base: PlanData, data: PlanData) -> set[tuple[str, str]]:
    """Offers (source, material) the scenario gives a minimum order or contract cost they had not:
    they had no in-use decision in the plan, so none was committed either way."""
    def terms(d: PlanData) -> pd.Series:
        o = d.offers
        return pd.Series(((o["min_order"] > 0) | (o["contract_cost"] > 0)).to_numpy(),
                         index=pd.MultiIndex.from_arrays([o["source"], o["material"]]))
    before, after = terms(base), terms(data)
    had = before.reindex(after.index).fillna(False).to_numpy(dtype=bool)
    return {k for k, now, was in zip(after.index, after.to_numpy(), had) if now and not was}


def _diagnose(run: StressRun, base: BasePlan, data: PlanData, obstacles, model, out: Path | None, limit, threads,
              log, t0: float) -> StressRun:
    """Explain why the stressed plan cannot exist; with an output path, write the Diagnosis workbook."""
    log(f"{run.scenario}: no stressed plan exists; looking for the smallest relaxations that would allow one")
    t = time.perf_counter()
    run.diagnosis = d = explain(data, obstacles, model, time_limit_s=limit, threads=threads)
    held = (f"the plan's commitments ({len(base.builds)} builds, {len(base.contracts)} contract-periods) and its "
            f"purchases and stock before {run.start}, held fixed")
    if not d.findings and d.status != "not solved":
        # the elastic model re-decides every commitment: needing no relaxation there is expected here
        d.notes = [n for n in d.notes if not n.startswith("The solver reported no plan, but no relaxation was needed")]
        d.notes.append(f"The scenario's data alone allows a plan; it is {held}, that cannot hold with it "
                       "(the conflicting set, when found, names them).")
    else:
        d.notes.append(f"The relaxations above are of the scenario's data with every commitment free again; {held}, "
                       "may have to give way too.")
    run.diagnosis.notes += run.notes
    run.timings["diagnose"] = time.perf_counter() - t
    if out is not None:
        facts = [("stressed plan", str(base.path)), ("stressed plan SHA-256", base.sha256), ("scenario", run.scenario),
                 ("disruption from", run.start), ("input file", base.facts.get("input file") or "")]
        run.diagnosis.path = write_diagnosis(diagnosis_path(out), run.diagnosis, data, facts)
    run.timings["total"] = time.perf_counter() - t0
    return run


# --------------------------------------------------------------------------- tables

def stress_table(base: BasePlan, plan: PlanResult, data: PlanData, start: int, end: int,
                 cell_notes: dict[tuple[str, int], list[str]]) -> pd.DataFrame:
    """One row per material and period of the horizon: planned against stressed.

    phase = history (held, before ``start``), disruption (``start`` to ``end``), or after.

    cost = quantity × unit cost × (1 + tariff), undiscounted; reserve = closing stock (blank for
    materials without stock); reserve_drawn = planned − stressed closing (positive when drawn);
    shortage_penalty = the demand's, given where it had none.
    """
    keys = pd.MultiIndex.from_product([list(data.materials.index), list(data.periods)], names=["material", "period"])

    def per(frame: pd.DataFrame, column: str) -> np.ndarray:
        if frame is None or not len(frame):
            return np.zeros(len(keys))
        g = frame.assign(period=frame["period"].astype(int)).groupby(["material", "period"])[column].sum()
        return g.reindex(keys).fillna(0.0).to_numpy(dtype=float)

    stressed = plan.purchases.assign(cost=plan.purchases["quantity"] * plan.purchases["unit_cost"]
                                     * (1.0 + plan.purchases["tariff"]))
    dem = data.demand.assign(period=data.demand["period"].astype(int)).set_index(["material", "period"])
    stocked = set(data.stockpiles.index)

    def reserve(frame: pd.DataFrame | None) -> np.ndarray:
        if frame is None or not len(frame):
            return np.full(len(keys), np.nan)
        s = frame.assign(period=frame["period"].astype(int)).set_index(["material", "period"])["closing"]
        return np.where([m in stocked for m in keys.get_level_values(0)], s.reindex(keys).fillna(0.0).to_numpy(dtype=float),
                        np.nan)

    planned_reserve = reserve(base.stock)
    stressed_reserve = reserve(plan.stock)
    planned_cost, stressed_cost = per(base.purchases, "cost"), per(stressed, "cost")
    out = pd.DataFrame({
        "material": keys.get_level_values(0), "period": keys.get_level_values(1).astype(int),
        "phase": np.select([keys.get_level_values(1) < start, keys.get_level_values(1) <= end],
                           ["history (held)", "disruption"], "after"),
        "demand": dem["quantity"].reindex(keys).fillna(0.0).to_numpy(dtype=float),
        "planned_bought": per(base.purchases, "quantity"), "stressed_bought": per(plan.purchases, "quantity"),
        "planned_shortfall": per(base.shortfalls, "shortfall"), "stressed_shortfall": per(plan.shortfalls, "shortfall"),
        "planned_cost": planned_cost, "stressed_cost": stressed_cost, "extra_cost": stressed_cost - planned_cost,
        "planned_reserve": planned_reserve, "stressed_reserve": stressed_reserve,
        "reserve_drawn": planned_reserve - stressed_reserve,
        "shortage_penalty": dem["shortage_penalty"].reindex(keys).to_numpy(dtype=float),
        "notes": ["; ".join(cell_notes.get(k, [])) for k in keys],
    })
    return out[list(STRESS_COLUMNS)]


def cost_table(base: BasePlan, plan: PlanResult) -> pd.DataFrame:
    """Each cost component and the total, planned against stressed, discounted and undiscounted."""
    planned = base.costs.set_index("component")[["discounted", "undiscounted"]].astype(float)
    stressed = plan.costs.set_index("component")[["discounted", "undiscounted"]].astype(float)
    order = list(dict.fromkeys([*stressed.index, *planned.index]))
    order = [c for c in order if c != "Total"] + ["Total"]
    p, s = planned.reindex(order).fillna(0.0), stressed.reindex(order).fillna(0.0)
    return pd.DataFrame({
        "component": order,
        "planned_discounted": p["discounted"].to_numpy(), "stressed_discounted": s["discounted"].to_numpy(),
        "extra_discounted": (s["discounted"] - p["discounted"]).to_numpy(),
        "planned_undiscounted": p["undiscounted"].to_numpy(), "stressed_undiscounted": s["undiscounted"].to_numpy(),
        "extra_undiscounted": (s["undiscounted"] - p["undiscounted"]).to_numpy(),
    })


def _describe(plan: PlanResult, run: StressRun, base: BasePlan, settings, held: str) -> None:
    """The stress facts in the Summary (after the scenario's), and the plan's title."""
    cur, unit = settings.currency, settings.quantity_unit
    penalty = ", ".join(f"{m}: {v:,.6g}" for m, v in run.penalties.items()) or "none needed (every demand has one)"
    how = "given with --shortage-penalty" if run.penalty_given else f"{PENALTY_FACTOR:g} × the material's highest price"
    short = run.shortfall()
    facts = [
        ("stress test", f"stress test of {base.path.name} (SHA-256 {base.sha256}) under scenario {run.scenario}, "
                        f"commitments fixed, disruption from {run.start}"),
        ("stressed plan file", str(base.path)),
        ("stressed plan SHA-256", base.sha256),
        ("disruption from", run.start),
        ("held", held),
        ("shortage penalty used", f"{penalty} {cur} per {unit} ({how}) on demand without one"),
        ("extra cost (discounted total)", run.extra_cost),
        ("extra purchase cost (undiscounted)", float(run.stress["extra_cost"].sum())),
        ("stressed shortfall", ", ".join(f"{m}: {q:,.6g}" for m, q in short.items()) + f" {unit}"),
        *[(f"stress note {i}", n) for i, n in enumerate(run.notes, start=1)],
    ]
    labels = [label for label, _ in plan.facts]
    at = labels.index("scenario edits") + 1
    plan.facts[at:at] = facts
    plan.facts[labels.index("plan")] = ("plan", f"{settings.plan_name}: stress test under {run.scenario}")


def _qty(q: float) -> str:
    """A quantity to read: tonnes of a bulk material whole, a few tonnes of Tb to a decimal."""
    return f"{q:,.0f}" if abs(q) >= 100 else f"{q:,.1f}".rstrip("0").rstrip(".")


def digest(run: StressRun, base: BasePlan) -> list[str]:
    """A few lines for stdout: status, extra cost, shortfall and reserve drawn per material, notes."""
    r, plan = run.result, run.plan
    if plan is None:
        return []
    cur, unit = plan.fact("currency"), plan.fact("quantity unit")
    state = "optimal" if plan.proven_optimal else f"NOT PROVEN OPTIMAL (gap {r.gap:.2%}, bound {r.bound:,.0f})"
    costs = run.stress_costs.set_index("component").loc["Total"]
    lines = [f"{run.scenario}: stressed plan {state}, disruption from {run.start}",
             f"  extra cost {run.extra_cost:+,.0f} {cur} (total {costs['planned_discounted']:,.0f} planned → "
             f"{costs['stressed_discounted']:,.0f} stressed, discounted); purchases "
             f"{run.stress['extra_cost'].sum():+,.0f} {cur} (undiscounted)"]
    planned_short = run.stress.groupby("material", sort=False)["planned_shortfall"].sum()
    short = ", ".join(f"{m} {_qty(q)} {unit}" + (f" (planned {_qty(planned_short[m])})" if planned_short[m] > TOL else "")
                      for m, q in run.shortfall().items() if q > TOL or planned_short[m] > TOL)
    lines.append(f"  shortfall: {short or 'none'}")
    drawn = {m: (q, t) for m, (q, t) in run.reserve_drawn().items() if q > TOL}
    if drawn:
        lines.append("  reserve drawn (planned − stressed closing stock, largest): "
                     + ", ".join(f"{m} {_qty(q)} {unit} in {t}" for m, (q, t) in drawn.items()))
    lines += [f"  note: {n}" for n in run.notes]
    lines += [f"  warning: {w}" for w in plan.warnings]
    if run.path:
        lines.append(f"  stressed plan written to {run.path} (compare: planner compare {base.path} {run.path})")
    return lines
