"""What each hard rule costs: the total cost saved if it were dropped (``planner solve --policy-costs``).

For every hard Policies row, the model is solved again without that row; the rule's cost
is the difference of the two optima (discounted, like the objective). A policy written on
several rows (a glide path, one row per year) is also priced as a whole: all its hard rows
dropped at once, which is usually more than the sum of its rows.

Unlike a shadow price (a marginal figure from the LP with the integer decisions fixed),
this is the whole effect of the rule, builds and contracts re-decided. The re-solves run in
parallel processes (:mod:`planner.pool`). With a MIP gap the two optima are known within their
bounds: ``cost_low``–``cost_high`` is the range the true cost lies in.

Each re-solve starts as any solve does, from its own LP relaxation (:func:`planner.solver.relaxation_start`),
not from the plan found. Given that plan, a near-optimal incumbent from the first node, HiGHS
fixes columns by their reduced costs and restarts its root, sometimes twice, each time redoing
its cuts: the example's nine policies took 44.9 s re-solved one after another from the plan
found and 25.6 s from their relaxations (one-site-per-owner 12.0 → 3.3 s), the benchmark's L
instance's six 42.9 → 20.2 s (benchmarks/README.md, lever 33). The plan found still bounds each
re-solve: it is feasible without the rule, so a re-solve that stops at a dearer plan (within its
gap) or at none (at its time limit) counts the plan found instead.
"""

from __future__ import annotations

import dataclasses
import math
import time

import pandas as pd

from models.data import PlanData
from models.policies import selection_label
from models.sourcing import build_matrix

from . import pool, solver

_STATE: dict = {}


def _init(data: PlanData, found: float, time_limit_s, mip_gap, threads) -> None:
    """``found``: the objective of the plan found with every rule (feasible without any of them)."""
    _STATE.update(data=data, found=found, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads)


def _without(rows: tuple[int, ...]) -> tuple[str, float | None, float | None, float]:
    """(status, objective, bound, seconds) of the model without the given Policies rows; the objective
    is never above the plan found's, which is a plan of that model too."""
    t = time.perf_counter()
    data, found = _STATE["data"], _STATE["found"]
    kept = data.policies[~data.policies["row"].isin(rows)].reset_index(drop=True)
    model = build_matrix(dataclasses.replace(data, policies=kept))
    r = solver.solve(model, time_limit_s=_STATE["time_limit_s"], mip_gap=_STATE["mip_gap"], threads=_STATE["threads"],
                     duals=False, load=False)
    status = "time_limit_feasible" if r.status == "time_limit_no_solution" else r.status
    objective = r.objective
    if status in ("optimal", "time_limit_feasible"):
        objective = found if objective is None else min(objective, found)
    return status, objective, r.bound, time.perf_counter() - t


def rule_costs(data: PlanData, model, base: solver.SolveResult, time_limit_s=None, mip_gap=None, threads=None,
               jobs: int | None = None) -> pd.DataFrame:
    """One row per hard Policies row, and one per hard policy written on several rows (scope ``policy``).

    Columns: policy, scope ("row" or "policy"), policies_rows (e.g. "7" or "2–11"), rule,
    selection, material, period, rule_cost, cost_low, cost_high, status, seconds. Rows none
    of whose instances can bind cost 0 without a solve (status "cannot bind"). ``cost_high`` is
    missing when a re-solve stopped at its time limit before proving a bound.
    """
    hard = data.policies[~data.policies["soft"]]
    live = {p.row for p in model.tables.policies if p.name in model.tables.policy_rows}
    tasks, records = [], []
    for rec in hard.to_dict("records"):
        records.append(dict(policy=rec["policy"], scope="row", rows=(int(rec["row"]),), rule=rec["rule"],
                            selection=_selection(rec), material=rec["material"] or "(each)",
                            period=rec["period"] if rec["period"] is not None else "(each)"))
    for name, group in hard.groupby("policy", sort=False):
        if len(group) > 1:
            records.append(dict(policy=name, scope="policy", rows=tuple(int(r) for r in group["row"]),
                                rule=", ".join(dict.fromkeys(group["rule"])), selection="(all its rows)",
                                material="", period=""))
    for r in records:
        if live & set(r["rows"]):
            tasks.append(r["rows"])
    results = dict(zip(tasks, pool.run_all(_without, tasks, jobs, _init, (data, base.objective, time_limit_s, mip_gap, threads),
                                           seconds_each=base.solver_seconds)))
    rows = []
    for r in records:
        status, obj, bound, seconds = results.get(r["rows"], ("cannot bind", base.objective, base.objective, 0.0))
        if obj is None:
            cost = low = high = None
        else:
            cost = max(0.0, base.objective - obj)
            low = max(0.0, (base.bound if base.bound is not None else base.objective) - obj)
            # the re-solve's bound: unknown (None or -inf) when it stopped before proving one
            high = max(cost, base.objective - bound) if bound is not None and math.isfinite(bound) else None
        rows.append(dict(policy=r["policy"], scope=r["scope"], policies_rows=_span(r["rows"]), rule=r["rule"],
                         selection=r["selection"], material=r["material"], period=str(r["period"]),
                         rule_cost=cost, cost_low=low, cost_high=high, status=status, seconds=round(seconds, 3)))
    columns = ["policy", "scope", "policies_rows", "rule", "selection", "material", "period", "rule_cost", "cost_low",
               "cost_high", "status", "seconds"]
    return pd.DataFrame(rows, columns=columns)


def attach(policies: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """The plan's Policies table with ``rule_cost`` after the shadow price, on the first instance of each row."""
    per_row = costs[costs["scope"] == "row"].assign(row=lambda c: c["policies_rows"].astype(int))
    value = per_row.set_index("row")["rule_cost"]
    first = ~policies["policies_row"].duplicated()
    out = policies.copy()
    at = list(out.columns).index("shadow_price_unit") + 1 if "shadow_price_unit" in out.columns else len(out.columns)
    out.insert(at, "rule_cost", out["policies_row"].map(value).where(first))
    return out


def sentences(costs: pd.DataFrame, currency: str, discounted: bool) -> list[str]:
    """One line per policy, dearest first: "feoc-cap (Policies rows 2–11) costs 12.3 M USD over the horizon"."""
    whole = costs[(costs["scope"] == "policy") | ~costs["policy"].duplicated(keep=False)]
    out = []
    for r in whole.sort_values("rule_cost", ascending=False, na_position="last").itertuples():
        where = f"Policies row{'s' if r.scope == 'policy' else ''} {r.policies_rows}"
        if r.rule_cost is None or pd.isna(r.rule_cost):
            out.append(f"{r.policy} ({where}): not priced ({r.status})")
        elif r.rule_cost <= 0.5 and r.status not in ("optimal", "cannot bind"):
            out.append(f"{r.policy} ({where}): the re-solve stopped at the time limit without a cheaper plan"
                       + (f"; it costs at most {money(r.cost_high, currency)}" if pd.notna(r.cost_high) else ""))
        elif r.rule_cost <= 0.5:
            out.append(f"{r.policy} ({where}) costs nothing: dropping it does not lower the total cost")
        else:
            out.append(f"{r.policy} ({where}) costs {money(r.rule_cost, currency)} over the horizon"
                       + (" (discounted)" if discounted else "")
                       + ("" if r.status == "optimal" else
                          f"; the re-solve stopped at the time limit: between {money(r.cost_low, currency)} "
                          f"and {money(r.cost_high, currency)}" if pd.notna(r.cost_high) else
                          f"; the re-solve stopped at the time limit: at least {money(r.cost_low, currency)}"))
    return out


def money(x: float, currency: str) -> str:
    if abs(x) >= 1e9:
        return f"{x / 1e9:,.2f} bn {currency}"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f} M {currency}"
    return f"{x:,.0f} {currency}"


def _selection(rec: dict) -> str:
    if rec["terms"]:
        return selection_label(rec["terms"])
    return f"{rec['field']}=*" if rec["field"] else "all"


def _span(rows: tuple[int, ...]) -> str:
    rows = sorted(rows)
    if len(rows) == 1:
        return str(rows[0])
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"{rows[0]}–{rows[-1]}"
    return ", ".join(map(str, rows))
