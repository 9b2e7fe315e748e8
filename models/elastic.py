r"""The elastic model: what must give way for a plan to exist.

When the sourcing model is infeasible, the elastic model of the same data lets every hard
limit be exceeded at a price, and its optimum is the smallest set of relaxations that
restores feasibility. The slack, in the order a planner would rather give way:

==========  ==========================================================  ====================
tier        slack (all >= 0, in the limit's own unit)                   measured as
==========  ==========================================================  ====================
rules       RuleRelaxed[r] binary per hard Policies row r:              Σ_r RuleRelaxed[r]
            Violation[p] <= M[p] · RuleRelaxed[row of p]
policy      Violation[p] of every hard policy instance p (the model's   Violation[p] / size[p]
            soft-policy row, with no penalty)
capacity    OfferExcess[o, t]:  Buy[o, t] - OfferExcess[o, t] <= cap    quantity
            SourceExcess[s, t]: Σ_{o of s} Buy[o, t] - SourceExcess <= cap
demand      Shortfall[m, t] of every demand                             quantity
==========  ==========================================================  ====================

Policies give way first, then capacities, then demand. The hierarchy is strict
(lexicographic, not weighted): the solver first minimises ``relax_demand`` (with every
capacity and policy free, only demand that no offer can ever reach is left unmet), fixes
it, then minimises ``relax_capacity`` (capacity that is missing whatever the rules say),
fixes it, then minimises ``relax_rules``, the number of Policies rows that must give way (a
planner drops or rewrites a rule, not an instance; and without it, two rules that trade off
one for one would be relaxed in an arbitrary mix), fixes which, then minimises
``relax_policy``, the relaxation of those rows. Policy violations are summed relative to each
instance's size so that a cap in dollars and a share in tonnes weigh alike: a share's
violation over the material's demand in the period (a fraction of demand, i.e. share
points), a count's over its limit, a total's over its limit (or, for a limit of 0, over the
most the selection could reach).

The elastic model is built by :func:`models.sourcing.build_model` itself, from the data
with every capacity unlimited, every hard demand given a shortage (at no cost) and every
hard policy made soft (at no cost), so that it holds exactly the same constraint families;
the capacities then return as the elastic rows above. Demand with a shortage penalty counts
in the demand tier like hard demand (the elastic model has no costs: a free shortfall would
let it meet every share rule by buying less); soft rules were relaxable already and their
violation is free here. Counted offers keep the model's "in use" threshold (1% of the
purchase's bound with the real capacities), not one computed from unlimited ones. The total-cost
objective is deactivated; :func:`set_tier` installs the objective of one tier and
:func:`hold_tier` keeps a tier at the level found.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from .data import PlanData
from .policies import PolicyInstance
from .sourcing import IN_USE_FRACTION, _constraint, _keys, _linear, build_model, metric_weights

TIERS = ("demand", "capacity", "rules", "policy")  # the order in which they are minimised


def relaxed_data(data: PlanData) -> PlanData:
    """The data with capacities and stock ceilings unlimited, hard demand short-able and hard policies soft,
    all at no cost. (A reserve above its ceiling is a data check of the sourcing model; with stock
    disposable, a ceiling can bind nothing else.)"""
    demand = data.demand.assign(shortage_penalty=data.demand["shortage_penalty"].fillna(0.0))
    policies = data.policies.assign(penalty=data.policies["penalty"].where(data.policies["soft"], 0.0), soft=True)
    return dataclasses.replace(
        data,
        sources=data.sources.assign(capacity=np.nan),
        offer_periods=data.offer_periods.assign(capacity=np.nan),
        source_periods=data.source_periods.assign(capacity=np.nan),
        demand=demand, policies=policies,
        stockpiles=data.stockpiles.assign(max_stock=np.nan),
    )


def build_elastic(data: PlanData) -> pyo.ConcreteModel:
    """The elastic model of ``data`` (see the module docstring); ``m.plan`` is the original data."""
    m = build_model(relaxed_data(data))
    m.plan = data
    m.total_cost.deactivate()
    add_offer_excess(m)
    add_source_excess(m)
    _keep_in_use_threshold(m)
    tb = m.tables
    m.relax_demand = pyo.Expression(expr=_linear(np.ones(len(m.Shortfall)), list(m.Shortfall.values())))
    m.relax_capacity = pyo.Expression(expr=_linear(
        np.ones(len(m.OfferExcess) + len(m.SourceExcess)), list(m.OfferExcess.values()) + list(m.SourceExcess.values())))
    hard = set(data.policies.loc[~data.policies["soft"], "row"])
    m.HARD_POLICIES = pyo.Set(initialize=[p.name for p in tb.policies if p.row in hard and p.name in tb.policy_rows],
                              ordered=True)
    sizes = {p.name: policy_size(m, p) for p in tb.policies if p.name in m.HARD_POLICIES}
    m.relax_policy = pyo.Expression(expr=_linear([1.0 / sizes[n] for n in m.HARD_POLICIES],
                                                 [m.Violation[n] for n in m.HARD_POLICIES]))
    add_rule_relaxed(m)
    m.relax_rules = pyo.Expression(expr=_linear(np.ones(len(m.RuleRelaxed)), list(m.RuleRelaxed.values())))
    return m


def add_rule_relaxed(m) -> None:
    r"""A hard policy instance may give way only if its Policies row does.

    elastic_rule_relaxed[p]:  Violation[p] - M[p] · RuleRelaxed[row of p] <= 0     over HARD_POLICIES
    M[p] is the largest violation the purchases' bounds allow: a max share Σ_sel bound, a
    min share limit · Σ_scope bound, a max count the number of members, a min count or min
    total its limit, a max total Σ_sel metric · bound.
    """
    tb = m.tables
    chosen = [p for p in tb.policies if p.name in m.HARD_POLICIES]
    rows = sorted({p.row for p in chosen})
    m.HARD_POLICY_ROWS = pyo.Set(initialize=rows, ordered=True)
    m.RuleRelaxed = pyo.Var(m.HARD_POLICY_ROWS, domain=pyo.Binary)
    exprs = {p.name: m.Violation[p.name] - _largest_violation(m, p) * m.RuleRelaxed[p.row] <= 0 for p in chosen}
    _constraint(m, "elastic_rule_relaxed", [p.name for p in chosen], exprs)


def _largest_violation(m, p: PolicyInstance) -> float:
    bound = m.tables.op["bound"].to_numpy()
    if p.kind == "share":
        most = bound[p.members].sum() if p.is_max else p.limit * bound[p.scope].sum()
    elif p.kind == "count":
        most = len(p.members) if p.is_max else p.limit
    elif p.is_max:
        most = float((metric_weights(m.tables.op, p) * bound[p.members]).sum())
    else:
        most = abs(p.limit)
    return max(float(most), 1e-6)


def add_offer_excess(m) -> None:
    r"""An offer's capacity may be exceeded, by OfferExcess.

    elastic_offer_capacity[o, t]:  Buy[o, t] - OfferExcess[o, t] <= capacity[o, t]
    over offer-periods with a finite capacity below the purchase's bound.
    """
    op, data = m.tables.op, m.plan
    cap = data.offer_periods.set_index(["offer", "period"])["capacity"]
    cap = cap.reindex(pd.MultiIndex.from_arrays([op["offer"], op["period"]])).to_numpy(dtype=float)
    sel = ~np.isnan(cap) & (cap < op["bound"].to_numpy())
    keys = _keys(op, sel)
    m.OFFER_EXCESS = pyo.Set(initialize=keys, dimen=3, ordered=True)
    m.OfferExcess = pyo.Var(m.OFFER_EXCESS, domain=pyo.NonNegativeReals)
    exprs = {k: m.Buy[k] - m.OfferExcess[k] <= c for k, c in zip(keys, cap[sel].tolist())}
    _constraint(m, "elastic_offer_capacity", keys, exprs)
    m.tables.op["capacity_t"] = cap  # the real capacity, for reports


def add_source_excess(m) -> None:
    r"""A source's capacity may be exceeded, by SourceExcess.

    elastic_source_capacity[s, t]:  Σ_{o of s} Buy[o, t] - SourceExcess[s, t] <= capacity[s, t]
    over source-periods with a finite capacity below the sum of their purchases' bounds.
    """
    tb, op, data = m.tables, m.tables.op, m.plan
    cap = data.source_periods.set_index(["source", "period"])["capacity"]
    exprs, index = {}, []
    for (s, t), pos in op.groupby(["source", "period"]).indices.items():
        c = float(cap.get((s, int(t)), np.nan))
        if np.isnan(c) or op["bound"].to_numpy()[pos].sum() <= c:
            continue
        index.append((s, int(t)))
        exprs[s, int(t)] = (s, pos, c)
    m.SOURCE_EXCESS = pyo.Set(initialize=index, dimen=2, ordered=True)
    m.SourceExcess = pyo.Var(m.SOURCE_EXCESS, domain=pyo.NonNegativeReals)
    rows = {k: _linear([1.0] * len(pos) + [-1.0], [tb.buy[i] for i in pos] + [m.SourceExcess[k]]) <= c
            for k, (s, pos, c) in exprs.items()}
    _constraint(m, "elastic_source_capacity", index, rows)


def _keep_in_use_threshold(m) -> None:
    """offer_min_order of counted offers without a minimum order: 1% of the real bound, as in the sourcing model.

    (An offer whose real bound is 0 keeps 1% of the unlimited one: it can be in use only
    with extra capacity.)
    """
    op, data = m.tables.op, m.plan
    src = data.source_periods.set_index(["source", "period"])["capacity"]
    src = src.reindex(pd.MultiIndex.from_arrays([op["source"], op["period"]])).to_numpy(dtype=float)
    real = np.fmin(np.fmin(op["capacity_t"].to_numpy(), src), op["bound"].to_numpy())
    real = np.where(real > 0, real, op["bound"].to_numpy())
    sel = op["has_use"].to_numpy() & (op["min_order"].to_numpy() <= 0) & (op["min_in_use"].to_numpy() > 0)
    low = IN_USE_FRACTION * real[sel]
    for k, q in zip(_keys(op, sel), low.tolist()):
        m.offer_min_order[k].set_value(m.Buy[k] - q * m.Use[k] >= 0)
    op.loc[sel, "min_in_use"] = low


def policy_size(m, p: PolicyInstance) -> float:
    """What one unit of a policy instance's violation is measured against (see the module docstring)."""
    if p.kind == "share":
        d = m.tables.demand
        q = d.loc[(d["material"] == p.material) & (d["period"] == p.period), "quantity"].sum()
        return float(q) if q > 0 else 1.0
    if abs(p.limit) > 0:
        return abs(p.limit)
    if p.kind == "count":
        return 1.0
    op = m.tables.op
    most = float((metric_weights(op, p) * op["bound"].to_numpy()[p.members]).sum())
    return most if most > 0 else 1.0


def set_tier(m, tier: str) -> None:
    """Make ``relax_<tier>`` the objective (replacing any previous tier's)."""
    if hasattr(m, "elastic_objective"):
        m.del_component("elastic_objective")
    m.elastic_objective = pyo.Objective(expr=getattr(m, f"relax_{tier}"), sense=pyo.minimize)


def hold_tier(m, tier: str, value: float, tol: float = 1e-6) -> None:
    """Keep ``relax_<tier>`` at ``value`` found by its solve: its slack fixed at 0 when it is 0, else capped."""
    if tier == "rules":  # which rows may give way, as found (their values are loaded)
        for var in m.RuleRelaxed.values():
            var.fix(round(var.value or 0.0))
        return
    if value <= tol:
        for var in tier_variables(m, tier):
            var.fix(0.0)
        return
    m.add_component(f"elastic_hold_{tier}", pyo.Constraint(expr=getattr(m, f"relax_{tier}") <= value * (1 + 1e-7) + tol))


def tier_variables(m, tier: str) -> list:
    if tier == "demand":
        return list(m.Shortfall.values())
    if tier == "capacity":
        return list(m.OfferExcess.values()) + list(m.SourceExcess.values())
    return [m.Violation[n] for n in m.HARD_POLICIES]
