"""The cost–impact frontier (``planner frontier``): what each step of less CO2e, water, risk or
FEOC dependence costs.

An epsilon-constraint sweep (metrics in :mod:`models.metrics`):

1. the cost-optimal plan, and its metric m0;
2. the best achievable metric m* (the metric minimised, or maximised for shares that should
   be high; a share by Dinkelbach's iteration), with total shortfall and total purchases held
   at the cost-optimal plan's, so that no point gains by buying less, or more (diluting a share);
3. for N - 1 limits ε evenly from m0 towards m*, the cheapest plan whose metric is no worse
   than ε (the last is m* itself: the cheapest of the metric-optimal plans). These solves
   are independent and run in parallel processes, each starting from the metric-optimal
   plan (feasible for every ε).

Points another point dominates (no dearer and no worse, better in one) are dropped. The
workbook has the points with their cost, metric and KPIs and a native chart of cost
against the metric (``Frontier``), each point's cost components (``Costs``), KPIs per
material and period (``KPIs``) and builds (``Investments``), and how it was produced (``Run``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.chart import Reference, ScatterChart, Series

from models.data import PlanData
from models.metrics import METRICS, Metric, add_metric_limit, add_service_hold, set_metric_objective, value
from models.sourcing import InfeasibleData, build_model, purchases

from . import __version__, excel, pool, solver
from .diagnose import Diagnosis, explain
from .plan import PlanResult
from .reader import read_workbook
from .report import LABEL_FONT, MONEY, SHARE, TITLE_FONT, plan_table
from .run import extract, sha256
from .validate import Checked, check

UNITS = {"co2e": "t CO2e", "water": "m3", "waste": "t", "risk": "risk points × {q}"}


@dataclass
class Point:
    """One solve of the sweep."""

    label: str  # "cost-optimal", "step 2", "best CO2e"
    limit: float | None  # ε, None for the cost-optimal plan
    status: str
    objective: float | None = None
    gap: float | None = None
    metric: float | None = None
    plan: PlanResult | None = None
    seconds: float = 0.0
    solver_seconds: float = 0.0  # HiGHS's own time


@dataclass
class FrontierOutcome:
    status: str  # "optimal" (a frontier), "invalid", "unknown_material", "infeasible", "time_limit_no_solution", "error"
    checked: Checked | None = None
    metric: Metric | None = None
    points: list[Point] = field(default_factory=list)  # kept, in sweep order
    dropped: list[Point] = field(default_factory=list)  # dominated, or without a solution
    best: float | None = None
    diagnosis: Diagnosis | None = None
    path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- solves (in worker processes)

_STATE: dict = {}


def _init(data: PlanData, metric: str, material, facts: dict, limit, gap, threads, service, start) -> None:
    _STATE.update(data=data, metric=METRICS[metric], material=material, facts=facts, limit=limit, gap=gap,
                  threads=threads, service=service, start=start)


def _cheapest(task: tuple[str, float | None]) -> Point:
    """The cheapest plan whose metric is no worse than ε (no limit for ε None)."""
    label, eps = task
    t = time.perf_counter()
    s = _STATE
    model = build_model(s["data"])
    if eps is not None:
        add_metric_limit(model, s["metric"], eps, s["material"])
        add_service_hold(model, *s["service"])
    r = solver.solve(model, time_limit_s=s["limit"], mip_gap=s["gap"], threads=s["threads"], duals=False,
                     start=s["start"] if eps is not None else None)
    point = Point(label, eps, r.status, r.objective, r.gap, solver_seconds=r.solver_seconds)
    if r.has_solution:
        q = purchases(model, r.values["Buy"])["quantity"].to_numpy()
        point.metric = value(model, s["metric"], q, s["material"])
        point.plan = extract(model, r, s["data"], s["facts"], {})
    point.seconds = time.perf_counter() - t
    return point


def _best(data: PlanData, metric: Metric, material, service: tuple, start_ratio: float, limit, gap, threads):
    """(best metric, values of a plan reaching it) or (None, None); Dinkelbach's iteration for shares."""
    model = build_model(data)
    add_service_hold(model, *service)
    ratio, values = start_ratio, None
    for _ in range(12 if metric.is_share else 1):
        set_metric_objective(model, metric, ratio if metric.is_share else 0.0, material)
        r = solver.solve(model, time_limit_s=limit, mip_gap=gap, threads=threads, duals=False, start=values)
        if not r.has_solution:
            break
        values = r.values
        q = purchases(model, values["Buy"])["quantity"].to_numpy()
        found = value(model, metric, q, material)
        if not metric.is_share or math.isnan(found) or metric.sign * (found - ratio) >= -1e-7:
            return (found if not metric.is_share or not math.isnan(found) else ratio), values
        ratio = found
    return (ratio if values is not None and metric.is_share else None), values


# --------------------------------------------------------------------------- the sweep

def sweep(path: Path, metric: str, points: int, out: Path | None, time_limit_s=None, mip_gap=None, threads=None,
          jobs: int | None = None, material: str | None = None, log=lambda s: None) -> FrontierOutcome:
    """Read, check, sweep and (with ``out``) write the frontier workbook."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    book = read_workbook(path)
    checked = check(book)
    timings["read and validate"] = time.perf_counter() - t0
    m = METRICS[metric]
    if checked.errors:
        return FrontierOutcome("invalid", checked, m, timings=timings)
    data = checked.data
    if material is not None and material not in data.materials.index:
        return FrontierOutcome("unknown_material", checked, m, timings=timings)
    s = data.settings
    limit = time_limit_s if time_limit_s is not None else s.time_limit_s
    gap = mip_gap if mip_gap is not None else s.mip_gap
    threads = threads if threads is not None else s.threads
    facts = {"input": str(path), "input_sha256": sha256(path), "template_version": book.template_version or "",
             "time_limit_s": limit, "mip_gap": gap, "threads": threads if threads is not None else "solver default",
             "material": material}
    outcome = FrontierOutcome("optimal", checked, m, timings=timings)

    t = time.perf_counter()
    try:
        build_model(data)
    except InfeasibleData as e:
        outcome.status, outcome.diagnosis = "infeasible", explain(data, e.obstacles, None, limit, threads)
        return outcome
    _init(data, metric, material, facts, limit, gap, threads, None, None)
    log("solving the cost-optimal plan")
    base = _cheapest(("cost-optimal", None))
    timings["cost-optimal"] = time.perf_counter() - t
    if base.plan is None:
        outcome.status = base.status
        if base.status == "infeasible":
            outcome.diagnosis = explain(data, [], build_model(data), limit, threads)
        return outcome

    t = time.perf_counter()
    log(f"finding the best achievable {m.label}")
    k = base.plan.kpis[base.plan.kpis["material"] != "(all)"]
    service = (float(k["shortfall"].sum()), float(k["bought"].sum()))  # held at the cost-optimal plan's
    best, start = _best(data, m, material, service, base.metric, limit, gap, threads)
    timings["best metric"] = time.perf_counter() - t
    outcome.best = best
    if best is None or math.isnan(base.metric) or abs(best - base.metric) <= 1e-9 * max(1.0, abs(base.metric)):
        outcome.points = [base]
        return _finish(outcome, out, data, facts, points, jobs, t0)

    t = time.perf_counter()
    tol = 1e-9 * max(1.0, abs(best))  # the metric-optimal plan meets ε = best exactly; this only absorbs rounding
    limits = [base.metric + (best - base.metric) * k / (points - 1) for k in range(1, points)]
    limits[-1] = best + m.sign * tol
    tasks = [(f"step {k}" if k < points - 1 else f"best {m.label}", eps) for k, eps in enumerate(limits, 1)]
    log(f"solving {len(tasks)} plans between {m.label} {base.metric:,.4g} and {best:,.4g}")
    found = pool.run_all(_cheapest, tasks, jobs, _init, (data, metric, material, facts, limit, gap, threads,
                                                          service, start), seconds_each=base.solver_seconds)
    found[-1].limit = best  # asked with a hair of tolerance
    timings["sweep"] = time.perf_counter() - t
    outcome.points, outcome.dropped = _non_dominated([base] + found, m)
    return _finish(outcome, out, data, facts, points, jobs, t0)


def _finish(outcome, out, data, facts, asked, jobs, t0) -> FrontierOutcome:
    outcome.timings["total"] = time.perf_counter() - t0
    if out is not None:
        t = time.perf_counter()
        outcome.path = write_frontier(out, outcome, data, facts, asked, jobs or pool.default_jobs())
        outcome.timings["write"] = time.perf_counter() - t
        outcome.timings["total"] = time.perf_counter() - t0
    return outcome


def _non_dominated(points: list[Point], metric: Metric) -> tuple[list[Point], list[Point]]:
    """Points no other point dominates, in sweep order; and the others (dominated, or without a plan)."""
    solved = [p for p in points if p.plan is not None and p.metric is not None and not math.isnan(p.metric)]
    keep, drop = [], [p for p in points if p not in solved]
    for p in solved:
        # plain rounding only: a point dearer by less than the MIP gap is still dearer (and the first
        # point, within the gap of the optimum, is dropped only for a point really cheaper and no worse)
        tol_cost = 1e-9 * abs(p.objective) + 1e-6
        tol_metric = 1e-9 * max(1.0, abs(p.metric))
        if any(q is not p and q.objective <= p.objective + tol_cost
               and metric.sign * (q.metric - p.metric) <= tol_metric
               and (q.objective < p.objective - tol_cost or metric.sign * (q.metric - p.metric) < -tol_metric)
               for q in solved):
            drop.append(p)
        elif any(metric.sign * (q.metric - p.metric) <= tol_metric and abs(q.objective - p.objective) <= tol_cost
                 for q in keep):
            drop.append(p)  # the same point again
        else:
            keep.append(p)
    return keep, drop


# --------------------------------------------------------------------------- tables

def horizon_kpis(plan: PlanResult) -> dict[str, float]:
    """Over all materials and periods: bought, shortfall, spend, the shares, CO2e, water, waste."""
    k = plan.kpis[plan.kpis["material"] == "(all)"]
    bought = k["bought"].sum()
    share = {c: float((k[c].fillna(0) * k["bought"]).sum() / bought) if bought > 0 else float("nan")
             for c in ("feoc_share", "domestic_share", "allied_share", "recycled_share")}
    return {"bought": float(bought), "shortfall": float(k["shortfall"].sum()), **share,
            "co2e": float(k["co2e"].sum()), "water": float(k["water"].sum()), "waste": float(k["waste"].sum())}


def points_table(outcome: FrontierOutcome) -> pd.DataFrame:
    m = outcome.metric
    rows, base = [], outcome.points[0]
    prev = None
    for i, p in enumerate(outcome.points):
        kpi = horizon_kpis(p.plan)
        row = {"point": i, "plan": p.label, "limit": p.limit, m.name: p.metric, "total_cost": p.objective,
               "extra_cost": p.objective - base.objective,
               "extra_cost_pct": (p.objective - base.objective) / abs(base.objective) if base.objective else np.nan,
               "cost_per_unit": _per_unit(p, prev, m)}
        row.update({k: v for k, v in kpi.items() if k != m.name})
        row["status"] = p.status
        row["gap"] = p.gap
        row["builds"] = ", ".join(f"{b.source} {b.build_period}" for b in p.plan.investments.itertuples()) or "none"
        rows.append(row)
        prev = p
    return pd.DataFrame(rows)


def _per_unit(p: Point, prev: Point | None, m: Metric) -> float:
    """Extra cost per unit of metric improvement from the previous point (per percentage point for shares)."""
    if prev is None:
        return np.nan
    gain = m.sign * (prev.metric - p.metric) * (100 if m.is_share else 1)
    return (p.objective - prev.objective) / gain if gain > 1e-12 else np.nan


def unit(m: Metric, data: PlanData) -> str:
    return "share" if m.is_share else UNITS[m.name].format(q=data.settings.quantity_unit)


# --------------------------------------------------------------------------- workbook

def write_frontier(path: Path, outcome: FrontierOutcome, data: PlanData, facts: dict, asked: int, jobs: int) -> Path:
    m, s = outcome.metric, data.settings
    table = points_table(outcome)
    wb, ws = excel.new_workbook("Frontier")
    direction = "lower" if m.lower_is_better else "higher"
    scope = f" of {outcome_material(facts)}" if outcome_material(facts) else ""
    excel.set_value(ws["A1"], f"{s.plan_name}: total cost against {m.label}{scope}")  # user text: never a formula
    ws["A1"].font = TITLE_FONT
    u = unit(m, data)
    per = f"{s.currency} per percentage point" if m.is_share else f"{s.currency} per {u}"
    lines = [
        f"Each point is the cheapest plan whose {m.label}{scope} over the horizon is no {'higher' if m.lower_is_better else 'lower'} "
        f"than its limit; from the cost-optimal plan (point 0) to the best achievable ({direction} is better).",
        f"total_cost is the discounted total ({s.currency}); cost_per_unit is the extra cost per unit of {m.label} "
        f"gained from the point before ({per}). Every point buys no more, and leaves no more short, than the "
        f"cost-optimal plan.",
    ]
    if outcome.dropped:
        lines.append(f"{len(outcome.dropped)} of {len(outcome.points) + len(outcome.dropped)} solved points were "
                     "dominated (another point is no dearer and no worse) or had no plan, and are not shown.")
    for i, line in enumerate(lines, start=2):
        excel.set_value(ws.cell(row=i, column=1), line)
    start = len(lines) + 3
    excel.write_frame(ws, "FrontierPoints", table, start_row=start, freeze=False)
    formats = {"total_cost": MONEY, "extra_cost": MONEY, "cost_per_unit": MONEY, "extra_cost_pct": "0.00%",
               "gap": "0.00%", "bought": "#,##0", "shortfall": "#,##0", "co2e": "#,##0", "water": "#,##0",
               "waste": "#,##0"}
    metric_format = SHARE if m.is_share else "#,##0.##"
    formats.update({"limit": metric_format, m.name: metric_format})
    for j, col in enumerate(table.columns, start=1):
        fmt = formats.get(col) or (SHARE if col.endswith("_share") else None)
        for i in range(len(table)):
            if fmt:
                ws.cell(row=start + 1 + i, column=j).number_format = fmt
    _chart(ws, table, m, u, s.currency, start, f"A{start + len(table) + 3}")
    excel.print_setup(ws, repeat_header=False)

    costs = pd.concat([p.plan.costs.assign(point=i, plan=p.label) for i, p in enumerate(outcome.points)])
    wide = costs.pivot_table(index=["point", "plan"], columns="component", values="discounted", sort=False).reset_index()
    wide.columns = [str(c) for c in wide.columns]
    _sheet(wb, "Costs", "PointCosts", wide, money=wide.columns[2:])
    kpis = pd.concat([p.plan.kpis.assign(point=i) for i, p in enumerate(outcome.points)])
    kpis = kpis[["point"] + [c for c in kpis.columns if c != "point"]]
    _sheet(wb, "KPIs", "PointKPIs", kpis)
    inv = pd.concat([p.plan.investments.assign(point=i) for i, p in enumerate(outcome.points)])
    inv = inv[["point"] + [c for c in inv.columns if c != "point"]] if len(inv) else pd.DataFrame(columns=["point", "source"])
    _sheet(wb, "Investments", "PointInvestments", inv)

    run = wb.create_sheet("Run")
    facts_list = [("metric", f"{m.name} ({m.label}, {u}, {direction} is better)"),
                  ("material", outcome_material(facts) or "all materials"),
                  ("points asked", asked), ("points shown", len(outcome.points)),
                  ("best achievable", outcome.best), ("input file", facts["input"]),
                  ("input SHA-256", facts["input_sha256"]), ("time limit per solve (s)", facts["time_limit_s"]),
                  ("mip gap setting", facts["mip_gap"]), ("threads", facts["threads"]), ("parallel processes", jobs),
                  ("planner version", __version__), ("solver", f"HiGHS {solver.highs_version()}")]
    facts_list += [(f"seconds: {k}", round(v, 3)) for k, v in outcome.timings.items()]
    for i, (label, v) in enumerate(facts_list, start=1):
        run.cell(row=i, column=1, value=label).font = LABEL_FONT
        excel.set_value(run.cell(row=i, column=2), v)
    excel.set_width(run, 1, 28)
    excel.set_width(run, 2, 60)
    return excel.save_atomic(wb, path)


def outcome_material(facts: dict) -> str | None:
    return facts.get("material")


def _sheet(wb, title: str, name: str, frame: pd.DataFrame, money=()) -> None:
    """A sheet holding one table, formatted like the plan workbook's (and ``money`` columns as money)."""
    ws = wb.create_sheet(title)
    plan_table(ws, name, frame)
    for j, col in enumerate(frame.columns, start=1):
        if col in money:
            for i in range(len(frame)):
                ws.cell(row=2 + i, column=j).number_format = MONEY
    excel.print_setup(ws)


def _chart(ws, table: pd.DataFrame, m: Metric, unit_text: str, currency: str, header_row: int, anchor: str) -> None:
    """Native scatter chart with lines: total cost (y) against the metric (x)."""
    cols = list(table.columns)
    n = len(table)
    x = Reference(ws, min_col=cols.index(m.name) + 1, min_row=header_row + 1, max_row=header_row + n)
    y = Reference(ws, min_col=cols.index("total_cost") + 1, min_row=header_row + 1, max_row=header_row + n)
    chart = ScatterChart()
    chart.title = f"Total cost against {m.label}"
    chart.style = 13
    chart.x_axis.title = f"{m.label} ({'%' if m.is_share else unit_text})"
    millions = float(table["total_cost"].abs().max()) >= 1e7
    chart.y_axis.title = f"total cost ({'million ' if millions else ''}{currency}, discounted)"
    chart.x_axis.number_format = "0%" if m.is_share else "#,##0"
    chart.y_axis.number_format = "#,##0,," if millions else "#,##0"
    series = Series(y, x, title="cheapest plan for each limit")
    series.marker.symbol = "circle"
    series.marker.size = 7
    series.smooth = False  # straight segments: between two points nothing is known
    chart.series.append(series)
    for axis, values in ((chart.x_axis, table[m.name]), (chart.y_axis, table["total_cost"])):
        axis.scaling.min, axis.scaling.max, axis.majorUnit = _nice_range(float(values.min()), float(values.max()))
    chart.legend = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height, chart.width = 10, 20
    ws.add_chart(chart, anchor)


def _nice_range(lo: float, hi: float) -> tuple[float, float, float]:
    """(min, max, tick step) around [lo, hi] on round numbers, about 5 ticks, so that the curve fills
    the chart (not from 0); never below 0 for values that are not."""
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.01
    step = 10 ** math.floor(math.log10(span / 5))
    step *= next(f for f in (1, 2, 5, 10) if span / (step * f) <= 6)
    low = math.floor((lo - 0.05 * span) / step) * step
    return (max(low, 0.0) if lo >= 0 else low), math.ceil((hi + 0.05 * span) / step) * step, step
