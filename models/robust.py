r"""The robust plan: one set of commitments for every scenario (a two-stage stochastic model).

Each scenario k (the base data, and every scenario with a probability) is a block
``scenario[k]`` holding the whole sourcing model of its data (:func:`models.sourcing.populate`),
its own purchases, stock, shortfall and source use. What must be decided before anyone
knows which scenario comes is shared:

==============  =============================================================================
first stage     ``Invest[s, b]``: build candidate s in period b;
                ``Commit[o, t]``: contract o in use in period t (an offer with a minimum
                order or a contract cost; offers in use only for a sources rule are spot
                purchases, decided per scenario)
second stage    everything else, per scenario
==============  =============================================================================

Non-anticipativity of the commitments (``robust_build[k, s, b]``, ``robust_contract[k, o, t]``):
Build_k[s, b] = Invest[s, b] and Use_k[o, t] = Commit[o, t] in every block that has the
variable. A scenario that cuts an offer to nothing has no Use for it: the contract cannot
deliver there and costs nothing (force majeure); one that cuts it below its minimum order
gets what the supplier can deliver (``min_in_use`` never exceeds the purchase's bound).

and of the history (``robust_history_<Var>[k, ...]``): before the first period a scenario
changes (its start), its purchases, stock, shortfall and sources in use are the base's, so
that a stock built against a 2027 ban is bought in 2026 in every scenario, not only in the
one that knows the ban is coming.

Objective, with p_k the probabilities (summing to 1) and w the risk weight in [0, 1]::

    minimise (1 - w) · Σ_k p_k · cost_k + w · Worst,    Worst >= cost_k for every k

cost_k is block k's discounted total (``total_cost`` of the deterministic model, whose
objective is deactivated). Build and contract costs are in every block and equal across
them, so the expectation counts them once. With w = 0 the ``Worst`` rows are not built.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from .data import PlanData
from .sourcing import InfeasibleData, Obstacle, contract_keys, populate


@dataclass(frozen=True)
class Commitments:
    """First-stage decisions: builds (source, build period) and contracts (source, material, period)."""

    builds: frozenset
    contracts: frozenset


# Second-stage variables whose last index is a period: shared with the reference scenario before a scenario starts.
HISTORY = ("Buy", "Stock", "Release", "Shortfall", "SourceUse")


def build_robust(datas: dict[str, PlanData], probabilities: dict[str, float], risk_weight: float = 0.0,
                 starts: dict[str, int] | None = None) -> pyo.ConcreteModel:
    """The robust model over ``datas`` (scenario name → plan data, base first). Raises
    :class:`InfeasibleData` with every scenario's obstacles (their messages name the scenario).

    ``starts`` gives the first period each scenario differs from the base (none: the first
    period). Before it nobody can tell the scenario from the base, so its purchases, stock,
    shortfall and sources in use equal the reference's (``robust_history_<Var>``): the base's
    block, or without a base the scenario that starts last."""
    names = list(datas)
    m = pyo.ConcreteModel(name="robust plan")
    m.SCENARIOS = pyo.Set(initialize=names, ordered=True)
    m.probability = dict(probabilities)
    m.risk_weight = float(risk_weight)
    m.scenario = pyo.Block(m.SCENARIOS)
    obstacles: list[Obstacle] = []
    for k in names:
        b = m.scenario[k]
        populate(b, datas[k])
        b.total_cost.deactivate()
        obstacles += [Obstacle(o.constraint, o.index, f"scenario {k}: {o.message}", o.sheet, o.row, o.amount, o.instance)
                      for o in b.tables.obstacles]
    if obstacles:
        raise InfeasibleData(obstacles)

    builds = sorted({i for k in names for i in m.scenario[k].Build.keys()}, key=str)
    contracts = sorted({i for k in names for i in contract_keys(m.scenario[k])}, key=str)
    m.BUILD_OPTIONS = pyo.Set(initialize=builds, dimen=2, ordered=True)
    m.CONTRACT_OPTIONS = pyo.Set(initialize=contracts, dimen=3, ordered=True)
    m.Invest = pyo.Var(m.BUILD_OPTIONS, domain=pyo.Binary)
    m.Commit = pyo.Var(m.CONTRACT_OPTIONS, domain=pyo.Binary)

    def link(name, first, local, keys=None):
        keys = keys or (lambda b: getattr(b, local).keys())
        index = [(k, *i) for k in names for i in keys(m.scenario[k])]
        iset = pyo.Set(initialize=index, dimen=len(index[0]) if index else 1, ordered=True)
        m.add_component(f"{name}_index", iset)
        m.add_component(name, pyo.Constraint(iset, rule=lambda _, k, *i: getattr(m.scenario[k], local)[i] - first[i] == 0))

    link("robust_build", m.Invest, "Build")
    link("robust_contract", m.Commit, "Use", contract_keys)
    _history(m, names, starts or {})

    costs = {k: m.scenario[k].total_cost.expr for k in names}
    expected = sum(probabilities[k] * costs[k] for k in names)
    if risk_weight > 0:
        m.Worst = pyo.Var(domain=pyo.Reals)
        m.robust_worst = pyo.Constraint(m.SCENARIOS, rule=lambda _, k: m.Worst - costs[k] >= 0)
        m.total_cost = pyo.Objective(expr=(1 - risk_weight) * expected + risk_weight * m.Worst, sense=pyo.minimize)
    else:
        m.total_cost = pyo.Objective(expr=expected, sense=pyo.minimize)
    return m


def _history(m, names: list[str], starts: dict[str, int]) -> None:
    first = min(min(d.periods) for d in (m.scenario[k].plan for k in names))
    never = max(max(m.scenario[k].plan.periods) for k in names) + 1
    start = {k: starts.get(k, first) if k != "base" else never for k in names}
    ref = max(names, key=lambda k: (start[k], k == "base"))
    for var in HISTORY:
        mine = getattr(m.scenario[ref], var)
        index = [(k, *i) for k in names if k != ref
                 for i in getattr(m.scenario[k], var).keys() if i[-1] < start[k] and i in mine]
        iset = pyo.Set(initialize=index, dimen=len(index[0]) if index else 1, ordered=True)
        m.add_component(f"robust_history_{var}_index", iset)
        m.add_component(f"robust_history_{var}", pyo.Constraint(
            iset, rule=lambda _, k, *i, var=var: getattr(m.scenario[k], var)[i] - getattr(m.scenario[ref], var)[i] == 0))
    m.history_reference = ref


def commitments_of(model) -> Commitments:
    """The first-stage decisions at the values loaded in a robust model, or in a deterministic model
    (its Build and Use)."""
    build = model.Invest if hasattr(model, "Invest") else model.Build
    if hasattr(model, "Commit"):
        contracts = frozenset(k for k, v in model.Commit.items() if (v.value or 0) > 0.5)
    else:
        contracts = frozenset(k for k in contract_keys(model) if (model.Use[k].value or 0) > 0.5)
    return Commitments(frozenset(k for k, v in build.items() if (v.value or 0) > 0.5), contracts)


def fix_first_stage(model, c: Commitments) -> None:
    """Fix a robust model's Invest and Commit to ``c`` (what a deterministic plan committed to)."""
    for k, v in model.Invest.items():
        v.fix(1 if k in c.builds else 0)
    for k, v in model.Commit.items():
        v.fix(1 if k in c.contracts else 0)


__all__ = ["Commitments", "HISTORY", "InfeasibleData", "build_robust", "commitments_of", "fix_first_stage"]
