"""``planner solve INPUT --robust``: one set of commitments hedged over the scenarios.

The scenarios with a ``probability`` on the Scenarios sheet, and the base with what they
leave (1 - Σ p), form a two-stage stochastic model (:mod:`models.robust`): builds and
contracts decided once, purchases, stock and shortfall per scenario; the objective is the
expected discounted cost, optionally weighted toward the worst scenario (``--risk-weight``).

Beside the robust plan, the workbook shows the value of hedging: each scenario's own
deterministic plan is solved, and the robust model is solved again with its first stage fixed
to that plan's commitments (everything else per scenario exactly as for the robust plan, the
shared history included); its expected and worst cost are set against the robust plan's.
The robust plan is the optimum over all commitments, so it never costs more in expectation
(up to the solves' gaps).

The main sheets (Summary, Purchases, ...) are the base scenario's plan under the robust
commitments, so the workbook compares with any other plan of the same input.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pyomo.environ as pyo

from models.data import PlanData
from models.robust import Commitments, build_robust, commitments_of, fix_first_stage
from models.sourcing import InfeasibleData, build_matrix, build_model

from . import pool, scenarios, solver
from .errors import Problem
from .plan import PlanResult
from .reader import read_workbook
from .report import write_plan
from .run import Options, extract, sha256
from .validate import BASE_SCENARIO, Checked, check

ROBUST = "robust"
TOL = 1e-6


@dataclass
class Evaluation:
    """A plan's commitments held fixed under one scenario, the rest re-optimised."""

    plan: str
    scenario: str
    status: str
    cost: float = math.nan  # discounted total
    shortfall: float = math.nan
    gap: float = math.nan


@dataclass
class RobustOutcome:
    status: str
    checked: Checked | None = None
    problems: list[Problem] = field(default_factory=list)
    result: solver.SolveResult | None = None
    plan: PlanResult | None = None
    path: Path | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    evaluations: list[Evaluation] = field(default_factory=list)
    summary: pd.DataFrame | None = None
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def solver_seconds(self) -> float:
        return self.result.solver_seconds if self.result else 0.0


def probabilities(checked: Checked) -> tuple[dict[str, float], list[Problem]]:
    """Scenario → probability (base first, with the remainder), and the problems that stop a robust plan."""
    sc = checked.tables["Scenarios"]
    given: dict[str, float] = {}
    for name, p in zip(sc["scenario"], sc["probability"]):
        if name is not None and p is not None and name not in given:
            given[name] = float(p)
    problems = []
    if not given:
        problems.append(Problem("Scenarios", None, "probability", None,
                                "a robust plan needs scenarios with a probability; give one on a row of each scenario to hedge"))
    total = sum(given.values())
    if total > 1 + 1e-9:
        problems.append(Problem("Scenarios", None, "probability", round(total, 6),
                                f"the scenarios' probabilities add up to {total:g}, more than 1; the base takes 1 minus their sum"))
    out = {BASE_SCENARIO: max(0.0, 1.0 - total)} if total < 1 - 1e-9 else {}
    out.update(given)
    return out, problems


def solve_robust(path: Path, out: Path | None, options: Options, risk_weight: float = 0.0,
                 progress: solver.ProgressCallback | None = None, log: Callable[[str], None] = lambda s: None) -> RobustOutcome:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    book = read_workbook(path)
    checked = check(book)
    timings["validate"] = time.perf_counter() - t0
    if checked.errors:
        return RobustOutcome("invalid", checked, problems=checked.problems, timings=timings)
    probs, problems = probabilities(checked)
    if problems:
        return RobustOutcome("invalid", checked, problems=problems, timings=timings)
    missing = [n for n in scenarios.names(checked) if n not in probs]
    datas = {n: (checked.data if n == BASE_SCENARIO else scenarios.apply(checked, n).data) for n in probs}
    s = checked.data.settings
    limit = options.time_limit_s if options.time_limit_s is not None else s.time_limit_s
    gap = options.mip_gap if options.mip_gap is not None else s.mip_gap
    threads = options.threads if options.threads is not None else s.threads
    outcome = RobustOutcome("infeasible", checked, probabilities=probs, timings=timings)
    starts = {n: scenarios.start_period(checked, n) for n in datas if n != BASE_SCENARIO}

    t = time.perf_counter()
    try:
        model = build_robust(datas, probs, risk_weight, starts)
    except InfeasibleData as e:
        outcome.message = "; ".join(o.message for o in e.obstacles[:5])
        return outcome
    timings["build"] = time.perf_counter() - t
    log(f"built the robust model over {len(probs)} scenarios in {timings['build']:.2f} s; solving "
        f"(time limit {limit:g} s, gap {gap:g})")
    # each scenario's own plan, for the value of hedging: beside the robust solve when it runs long
    workers = (options.jobs or pool.default_jobs()) - 1
    with pool.Later(_deterministic_of, list(datas), workers, _init, (datas, limit, gap, threads)) as own:
        result = solver.solve(model, time_limit_s=limit, mip_gap=gap, threads=threads, progress=progress, duals=False)
        timings["solve"] = result.timings.get("total", 0.0)
        outcome.status, outcome.result = result.status, result
        if not result.has_solution:
            outcome.message = result.message or result.status
            if result.status == "infeasible":
                outcome.message = ("no single set of builds and contracts serves every scenario: "
                                   + _alone(datas, limit, gap, threads))
            return outcome
        robust = commitments_of(model)
        evaluations = _evaluations(ROBUST, model, result, datas)
        values = result.values

        # the value of hedging: each scenario's own plan's commitments in the same model
        t = time.perf_counter()
        log("solving each scenario's own plan" + (" (begun beside the robust model)" if own.started else "")
            + ", then the scenarios with its commitments")
        commitments = dict(zip(datas, own.results()))
    plans: dict[str, Commitments | None] = {ROBUST: robust}
    for n in datas:
        plans[n] = c = commitments[n]
        if c is None:
            evaluations += [Evaluation(n, k, "no plan") for k in datas]
            continue
        fix_first_stage(model, c)
        r = solver.solve(model, time_limit_s=limit, mip_gap=gap, threads=threads, duals=False)
        evaluations += (_evaluations(n, model, r, datas) if r.has_solution
                        else [Evaluation(n, k, f"{r.status} (with these commitments, in at least one scenario)") for k in datas])
    model.Invest.unfix()
    model.Commit.unfix()
    _load(model, values)  # back to the robust plan, for its tables
    outcome.evaluations = evaluations
    timings["hedging"] = time.perf_counter() - t

    base = BASE_SCENARIO if BASE_SCENARIO in datas else next(iter(datas))
    block = model.scenario[base]
    view = dataclasses.replace(result, values=_block_values(result.values, block.name), shadow_prices=None,
                               objective=float(block.total_cost.expr()))
    facts = {"input": str(path), "input_sha256": sha256(path), "template_version": book.template_version or "",
             "time_limit_s": limit, "mip_gap": gap, "threads": threads if threads is not None else "solver default",
             "scenario": base, "scenario_edits": "none" if base == BASE_SCENARIO else f"scenario {base}"}
    plan = extract(block, view, datas[base], facts, timings)
    summary = _summary(evaluations, probs, plans)
    expected = float((summary.loc[summary["plan"] == ROBUST, "expected_cost"]).iloc[0])
    plan.facts[1:1] = [
        ("plan type", f"robust over {len(probs)} scenarios: builds and contracts decided once, the rest per scenario"),
        ("scenario probabilities", ", ".join(f"{n} {p:.0%}" for n, p in probs.items())),
        ("risk weight", risk_weight),
        ("robust objective", result.objective),
        ("expected cost (robust plan, evaluated)", expected),
        ("scenarios left out (no probability)", ", ".join(missing) or "none"),
        ("main sheets show", f"the {base} scenario's purchases under the robust commitments"),
    ]
    # Commitments (from extract) are the robust plan's, in the base block: what planner stress holds
    plan.extra_sheets += [
        ("Robust", summary),
        ("Hedging", _hedging_table(evaluations, probs)),
        ("Commitments by plan", _commitments(plans)),
        ("Scenario purchases", _scenario_purchases(model, result, datas)),
    ]
    plan.warnings += [f"{e.plan} plan under {e.scenario}: {e.status}" for e in evaluations
                      if e.status not in ("optimal", "time_limit_feasible")]
    outcome.plan, outcome.summary = plan, summary
    if out is not None:
        t = time.perf_counter()
        outcome.path = write_plan(out, plan, book)
        timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return outcome


def _alone(datas: dict[str, PlanData], limit, gap, threads) -> str:
    """Which scenarios have no plan even on their own."""
    bad = []
    for n, data in datas.items():
        try:
            r = solver.solve(build_matrix(data), time_limit_s=limit, mip_gap=gap, threads=threads, duals=False, load=False)
            if r.status == "infeasible":
                bad.append(n)
        except InfeasibleData:
            bad.append(n)
    if bad:
        return f"scenario(s) {', '.join(bad)} cannot be met even on their own (solve each with --scenario to see why)"
    return "each scenario has a plan on its own, but their commitments conflict"


_STATE: dict = {}


def _init(datas: dict[str, PlanData], limit, gap, threads) -> None:
    _STATE.update(datas=datas, limit=limit, gap=gap, threads=threads)


def _deterministic_of(name: str) -> Commitments | None:
    """The commitments of scenario ``name``'s own plan (in a worker process: see :class:`planner.pool.Later`)."""
    return _deterministic(_STATE["datas"][name], _STATE["limit"], _STATE["gap"], _STATE["threads"])


def _deterministic(data: PlanData, limit, gap, threads) -> Commitments | None:
    try:
        m = build_model(data)
    except InfeasibleData:
        return None
    r = solver.solve(m, time_limit_s=limit, mip_gap=gap, threads=threads, duals=False)
    return commitments_of(m) if r.has_solution else None


def _load(model, values: dict[str, pd.Series]) -> None:
    """Put ``values`` (as in SolveResult.values) back into the model's variables."""
    for var in model.component_objects(pyo.Var, descend_into=True):
        known = values.get(var.name)
        if known is None:
            continue
        lookup = known.to_dict()
        for k, v in var.items():
            if k in lookup:
                v.set_value(round(lookup[k]) if v.is_integer() else lookup[k], skip_validation=True)


def _evaluations(plan: str, model, r: solver.SolveResult, datas) -> list[Evaluation]:
    """Each scenario's discounted cost and shortfall in a solved robust model."""
    out = []
    for k in datas:
        block = model.scenario[k]
        short = _block_values(r.values, block.name).get("Shortfall")
        out.append(Evaluation(plan, k, r.status, float(block.total_cost.expr()),
                              float(short.sum()) if short is not None else 0.0, r.gap))
    return out


def _summary(evaluations: list[Evaluation], probs: dict[str, float], plans) -> pd.DataFrame:
    """One row per plan: its cost under each scenario, expected and worst cost, and what hedging saves."""
    rows = []
    for name, c in plans.items():
        ev = {e.scenario: e for e in evaluations if e.plan == name}
        costs = {n: ev[n].cost for n in probs}
        ok = all(not math.isnan(v) for v in costs.values())
        row = {"plan": name, "commitments from": "the robust model" if name == ROBUST else f"the {name} scenario alone",
               **{f"cost if {n}": v for n, v in costs.items()},
               "expected_cost": sum(probs[n] * costs[n] for n in probs) if ok else math.nan,
               "worst_cost": max(costs.values()) if ok else math.nan,
               "shortfall_expected": sum(probs[n] * ev[n].shortfall for n in probs) if ok else math.nan,
               "builds": len(c.builds) if c else 0, "contracts": len(c.contracts) if c else 0}
        rows.append(row)
    t = pd.DataFrame(rows)
    robust = float(t.loc[t["plan"] == ROBUST, "expected_cost"].iloc[0])
    t["value_of_hedging"] = t["expected_cost"] - robust  # what the robust plan saves over this plan, in expectation
    return t


def _hedging_table(evaluations: list[Evaluation], probs: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"plan": e.plan, "scenario": e.scenario, "probability": probs[e.scenario], "status": e.status,
                          "cost": e.cost, "shortfall": e.shortfall, "gap": e.gap} for e in evaluations])


def _commitments(plans: dict[str, Commitments | None]) -> pd.DataFrame:
    rows = []
    for name, c in plans.items():
        if c is None:
            continue
        rows += [{"plan": name, "commitment": "build", "source": s, "material": None, "period": int(b)}
                 for s, b in sorted(c.builds, key=str)]
        rows += [{"plan": name, "commitment": "contract", "source": s, "material": mat, "period": int(t)}
                 for s, mat, t in sorted(c.contracts, key=str)]
    return pd.DataFrame(rows, columns=["plan", "commitment", "source", "material", "period"])


def _block_values(values: dict[str, pd.Series], prefix: str) -> dict[str, pd.Series]:
    head = prefix + "."
    return {k[len(head):]: v for k, v in values.items() if k.startswith(head)}


def _scenario_purchases(model, result: solver.SolveResult, datas) -> pd.DataFrame:
    frames = []
    for n in datas:
        buy = _block_values(result.values, model.scenario[n].name).get("Buy")
        if buy is None or not len(buy):
            continue
        b = buy[buy > TOL]
        frames.append(pd.DataFrame({"scenario": n, "period": [int(k[2]) for k in b.index],
                                    "material": [k[1] for k in b.index], "source": [k[0] for k in b.index],
                                    "quantity": b.to_numpy(dtype=float)}))
    cols = ["scenario", "period", "material", "source", "quantity"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True).sort_values(["scenario", "period", "material", "source"],
                                                            key=lambda c: c.astype(str) if c.dtype == object else c)[cols]


__all__ = ["RobustOutcome", "Evaluation", "probabilities", "solve_robust"]
