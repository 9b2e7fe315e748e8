"""Policy rows → policy instances, the unit the model constrains and the report lists.

One Policies row is a rule over a selection of purchases; it holds for every material and
period it covers (SPEC §2). Expanding it gives one :class:`PolicyInstance` per
(material, period, selection value) it applies to:

=============  ====================================  ===================================
row field      shares and counts                     totals
=============  ====================================  ===================================
material set   that material                         that material
material None  each material separately              all materials together
period int     that period                           that period
period None    each period separately                each period separately
"horizon"      (rejected by validation)              summed over every period
=============  ====================================  ===================================

The selection is ``all``, ``field=a|b`` (purchases whose offer's field is one of the
values) or ``field=*`` (one instance per value of the field among the offers in scope).

Instances refer to purchases by their position in the model's offer-period table (the
``op`` table built by :mod:`models.sourcing`), so that building rows stays vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SHARE_RULES = ("max_share", "min_share")
COUNT_RULES = ("max_sources", "min_sources")
TOTAL_RULES = ("max_total", "min_total")
HORIZON = "horizon"


@dataclass(frozen=True)
class PolicyInstance:
    """One constraint of one policy row, e.g. ``feoc-cap[NdPr, 2027, bloc=FEOC]``."""

    name: str
    policy: str
    rule: str
    material: str | None  # None: all materials together (totals only)
    period: int | str  # a period, or "horizon"
    selection: str  # "all", "bloc=FEOC", "bloc=domestic|ally", or an expanded "country=CN"
    metric: str | None  # totals only
    limit: float
    soft: bool
    penalty: float  # NaN when hard
    row: int  # Policies row in the workbook
    members: np.ndarray  # op positions the rule counts (the selection within the scope)
    scope: np.ndarray  # op positions of every purchase in the scope (the share's denominator)

    @property
    def is_max(self) -> bool:
        return self.rule.startswith("max_")

    @property
    def kind(self) -> str:
        return self.rule.split("_", 1)[1].replace("sources", "count")


def expand_policies(policies: pd.DataFrame, op: pd.DataFrame, periods: tuple[int, ...]) -> list[PolicyInstance]:
    """Every instance of every policy row, in row order.

    ``op`` has one row per purchase variable with at least the columns ``material``,
    ``period`` and the selection fields (source, country, bloc, kind, owner, status).
    Share and count rules cover the (material, period) pairs in ``op``; totals cover every
    period of the horizon (a total over nothing is 0, which a ``min_total`` must see).
    """
    by_mp = op.groupby(["material", "period"], sort=True).indices
    by_p = op.groupby("period", sort=True).indices
    materials = op["material"].to_numpy()
    empty = np.empty(0, dtype=np.int64)
    out: list[PolicyInstance] = []
    for p in policies.to_dict("records"):
        total = p["rule"] in TOTAL_RULES
        pm, pp = p["material"], p["period"]
        if total:
            chosen = periods if pp is None else (HORIZON,) if pp == HORIZON else (pp,)
            groups = []
            for t in chosen:
                pos = np.arange(len(op)) if t == HORIZON else by_p.get(t, empty)
                if pm is not None:
                    pos = pos[materials[pos] == pm]
                groups.append((pm, t, pos))
        else:
            groups = [(m, t, pos) for (m, t), pos in by_mp.items()
                      if (pm is None or m == pm) and (pp is None or t == pp)]
        for m, t, scope in groups:
            for label, members in _select(p["field"], p["terms"], op, scope):
                out.append(PolicyInstance(
                    name=f"{p['policy']}[{m if m is not None else 'all materials'}, {t}, {label}]",
                    policy=p["policy"], rule=p["rule"], material=m, period=t, selection=label,
                    metric=p["metric"] if total else None, limit=float(p["limit"]), soft=bool(p["soft"]),
                    penalty=float(p["penalty"]) if p["soft"] else np.nan, row=int(p["row"]),
                    members=members, scope=scope,
                ))
    return out


def _select(field: str | None, terms: tuple | None, op: pd.DataFrame, scope: np.ndarray):
    """(label, member positions) for each selection the row expands into within ``scope``.

    ``terms`` are (field, value) pairs, OR-ed; ``field`` alone expands into one selection
    per value of that field found in the scope.
    """
    if terms:
        chosen = np.zeros(len(scope), dtype=bool)
        for f in dict.fromkeys(f for f, _ in terms):
            chosen |= np.isin(op[f].to_numpy()[scope], [v for g, v in terms if g == f])
        return [(selection_label(terms), scope[chosen])]
    if field is None:
        return [("all", scope)]
    column = op[field].to_numpy()[scope]
    return [(f"{field}={v}", scope[column == v]) for v in sorted(set(column), key=str)]


def selection_label(terms: tuple) -> str:
    """``bloc=domestic|ally|kind=recycler``: the field is named where it changes."""
    parts, last = [], None
    for f, v in terms:
        parts.append(v if f == last else f"{f}={v}")
        last = f
    return "|".join(parts)
