r"""Plan-wide impact metrics, for the cost–impact frontier (epsilon-constraint method).

A metric is a ratio of two sums over every purchase of the horizon (or of one material),
undiscounted::

    metric = Σ_{o,t} num[o,t] · Buy[o,t]  /  Σ_{o,t} den[o,t] · Buy[o,t]     (den = 1 for totals)

=================  ============================  ================  =============
metric             num                           den               better
=================  ============================  ================  =============
co2e, water,       the offer's footprint per     (none: a total)   lower
waste              unit
risk               the source's risk score       (none)            lower
feoc_share         1 for bloc FEOC               1 (all bought)    lower
domestic_share     1 for bloc domestic           1                 higher
allied_share       1 for bloc ally               1                 higher
recycled_share     1 for kind recycler           1                 higher
=================  ============================  ================  =============

(blocs match case-insensitively, as in the plan's KPIs). With sign s = +1 when lower is
better and -1 when higher is better, the frontier adds one row

    frontier_metric:  s · (Σ num · Buy - ε · Σ den · Buy) <= 0       (ε · 1 for totals)

and the best achievable value minimises s · metric: a total directly, a share by
Dinkelbach's iteration (minimise s · (num - λ · den) · Buy, set λ to the share found,
until the minimum is 0). The service hold keeps every point at the cost-optimal plan's
service: total shortfall no larger (``frontier_shortfall``) and total purchases no larger
(``frontier_bought``), so that no point improves the metric by buying less, or by buying
more than it needs to dilute a share (purchases may exceed demand where minimum orders
force it, and a share counts purchases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .sourcing import _linear


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # for titles: "CO2e", "FEOC share"
    column: str | None = None  # op column of a total (per-unit footprint)
    field: str | None = None  # op column a share selects on
    value: str | None = None  # ... and the value it selects (lower case)
    lower_is_better: bool = True

    @property
    def is_share(self) -> bool:
        return self.field is not None

    @property
    def sign(self) -> float:
        return 1.0 if self.lower_is_better else -1.0

    def selects(self, table: pd.DataFrame) -> np.ndarray:
        """Which rows of ``table`` (offer-periods or purchases) a share counts: ``field`` is ``value``,
        in any case. Each distinct value is compared once."""
        codes, values = pd.factorize(table[self.field].astype(str))
        return np.array([v.lower() == self.value for v in values] + [False])[codes]  # code -1 (missing): never


METRICS = {m.name: m for m in (
    Metric("co2e", "CO2e", column="co2e"),
    Metric("water", "water", column="water"),
    Metric("waste", "waste", column="waste"),
    Metric("risk", "supply risk", column="risk_score"),
    Metric("feoc_share", "FEOC share", field="bloc", value="feoc"),
    Metric("domestic_share", "domestic share", field="bloc", value="domestic", lower_is_better=False),
    Metric("allied_share", "allied share", field="bloc", value="ally", lower_is_better=False),
    Metric("recycled_share", "recycled share", field="kind", value="recycler", lower_is_better=False),
)}


def coefficients(m, metric: Metric, material: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(num, den) per purchase variable (den None for a total); purchases of other materials get 0."""
    op = m.tables.op
    scope = np.ones(len(op)) if material is None else (op["material"].to_numpy() == material).astype(float)
    if metric.is_share:
        chosen = metric.selects(op)
        return scope * chosen, scope
    return scope * op[metric.column].to_numpy(dtype=float), None


def value(m, metric: Metric, quantity: np.ndarray, material: str | None = None) -> float:
    """The metric at purchases ``quantity`` (ordered like the op table); NaN for a share of nothing."""
    num, den = coefficients(m, metric, material)
    if den is None:
        return float(num @ quantity)
    total = float(den @ quantity)
    return float(num @ quantity) / total if total > 1e-9 else float("nan")


def add_metric_limit(m, metric: Metric, epsilon: float, material: str | None = None) -> None:
    """frontier_metric: the metric no worse than ``epsilon`` (see the module docstring)."""
    import pyomo.environ as pyo  # these build on a Pyomo model (frontiers)

    num, den = coefficients(m, metric, material)
    coefs = num if den is None else num - epsilon * den
    rhs = epsilon if den is None else 0.0
    body = _linear(metric.sign * coefs, m.tables.buy)
    m.frontier_metric = pyo.Constraint(expr=body <= metric.sign * rhs)


def add_service_hold(m, shortfall: float, bought: float) -> None:
    """frontier_shortfall: Σ Shortfall <= ``shortfall``; frontier_bought: Σ Buy <= ``bought`` (the cost-optimal plan's)."""
    import pyomo.environ as pyo  # these build on a Pyomo model (frontiers)

    if len(m.Shortfall):
        m.frontier_shortfall = pyo.Constraint(expr=_linear(np.ones(len(m.Shortfall)), list(m.Shortfall.values()))
                                              <= shortfall + 1e-6)
    buy = m.tables.buy
    m.frontier_bought = pyo.Constraint(expr=_linear(np.ones(len(buy)), buy) <= bought * (1 + 1e-9) + 1e-6)


def set_metric_objective(m, metric: Metric, ratio: float = 0.0, material: str | None = None) -> None:
    """Minimise s · (Σ num · Buy - ratio · Σ den · Buy) instead of the total cost."""
    import pyomo.environ as pyo  # these build on a Pyomo model (frontiers)

    num, den = coefficients(m, metric, material)
    coefs = num if den is None else num - ratio * den
    m.total_cost.deactivate()
    if hasattr(m, "metric_objective"):
        m.del_component("metric_objective")
    m.metric_objective = pyo.Objective(expr=_linear(metric.sign * coefs, m.tables.buy), sense=pyo.minimize)
