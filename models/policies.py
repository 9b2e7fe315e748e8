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

import dataclasses
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
    # columns as integer codes once, so that each scope is cut by array indexing alone
    material, period = _Coded.of(op["material"]), _Coded.of(op["period"])
    n_periods = len(period.values)
    pair = joint_key([(material.codes, len(material.values)), (period.codes, n_periods)])
    every = np.arange(len(op))
    by_mp = {(material.values[k // n_periods], period.values[k % n_periods]): pos for k, pos in zip(*split_by(pair, every))}
    by_p = {period.values[k]: pos for k, pos in zip(*split_by(period.codes, every))}
    fields: dict[str, _Coded] = {}
    empty = np.empty(0, dtype=np.int64)
    out: list[PolicyInstance] = []
    for p in policies.to_dict("records"):
        total = p["rule"] in TOTAL_RULES
        pm, pp = p["material"], p["period"]
        if total:
            chosen = periods if pp is None else (HORIZON,) if pp == HORIZON else (pp,)
            code = material.code.get(pm, -2)  # -2: a material no purchase has
            groups = []
            for t in chosen:
                pos = every if t == HORIZON else by_p.get(t, empty)
                if pm is not None:
                    pos = pos[material.codes[pos] == code]
                groups.append((pm, t, pos))
        else:
            groups = [(m, t, pos) for (m, t), pos in by_mp.items()
                      if (pm is None or m == pm) and (pp is None or t == pp)]
        select = _selector(p["field"], p["terms"], op, fields)
        shared = dict(policy=p["policy"], rule=p["rule"], metric=p["metric"] if total else None,
                      limit=float(p["limit"]), soft=bool(p["soft"]),
                      penalty=float(p["penalty"]) if p["soft"] else np.nan, row=int(p["row"]))
        for m, t, scope in groups:
            where = f"{p['policy']}[{m if m is not None else 'all materials'}, {t}, "
            for label, members in select(scope):
                out.append(PolicyInstance(name=f"{where}{label}]", material=m, period=t, selection=label,
                                          members=members, scope=scope, **shared))
    return _named_apart(out)


def _named_apart(instances: list[PolicyInstance]) -> list[PolicyInstance]:
    """Two rows of one policy may cover the same purchases (one row for every material, another for
    Nd in 2030): both hold, so each such instance's name also says its Policies row."""
    seen: dict[str, int] = {}
    for p in instances:
        seen[p.name] = seen.get(p.name, 0) + 1
    if all(n == 1 for n in seen.values()):
        return instances
    return [dataclasses.replace(p, name=f"{p.name} (row {p.row})") if seen[p.name] > 1 else p for p in instances]


@dataclass(frozen=True)
class _Coded:
    """A column as integer codes numbered in the sorted order of its values; -1 where missing."""

    codes: np.ndarray
    values: list  # by code
    code: dict  # value -> code

    @classmethod
    def of(cls, column: pd.Series, as_text: bool = False) -> _Coded:
        """Values in their natural order, as groupby sorts them, or ``as_text`` (as selection labels list)."""
        codes, uniques = pd.factorize(column.to_numpy(), sort=True)
        order = sorted(range(len(uniques)), key=lambda i: str(uniques[i])) if as_text else range(len(uniques))
        rank = np.empty(len(uniques) + 1, dtype=np.int64)
        rank[order] = np.arange(len(uniques))
        rank[-1] = -1  # factorize's code for a missing value
        values = uniques[list(order)].tolist()
        return cls(rank[codes], values, {v: i for i, v in enumerate(values)})


def joint_key(codes: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """One integer per row from several integer codes, each given with its number of codes
    (0 to n - 1); -1 where a code is out of range (a missing value)."""
    key = np.zeros(len(codes[0][0]), dtype=np.int64)
    valid = np.ones(len(key), dtype=bool)
    for code, n in codes:
        valid &= (code >= 0) & (code < n)
        key = key * n + code
    return np.where(valid, key, -1)


def split_by(key: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct values ≥ 0 of ``key``, ascending, and the ``values`` of each, in row order.

    Negative keys (missing values) belong to no group.
    """
    kept = key >= 0
    key, values = key[kept], values[kept]
    if not len(key):
        return key, []
    # on integers of 16 bits or fewer numpy's stable sort is a radix sort, in linear time
    order = np.argsort(key.astype(np.min_scalar_type(key.max())), kind="stable")
    key, values = key[order], values[order]
    start = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    bounds = [*start.tolist(), len(key)]
    return key[start], [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _selector(field: str | None, terms: tuple | None, op: pd.DataFrame, fields: dict[str, _Coded]):
    """A function giving (label, member positions) for each selection the row expands into within a scope.

    ``terms`` are (field, value) pairs, OR-ed; ``field`` alone expands into one selection
    per value of that field found in the scope. ``fields`` caches the coded columns of ``op``.
    """
    def coded(f: str) -> _Coded:
        if f not in fields:
            fields[f] = _Coded.of(op[f], as_text=True)
        return fields[f]

    if terms:
        label = selection_label(terms)
        chosen = np.zeros(len(op), dtype=bool)
        for f in dict.fromkeys(f for f, _ in terms):
            column = coded(f)
            wanted = np.zeros(len(column.values) + 1, dtype=bool)  # the last entry: missing values (code -1)
            wanted[[column.code[v] for g, v in terms if g == f and v in column.code]] = True
            chosen |= wanted[column.codes]
        return lambda scope: [(label, scope[chosen[scope]])]
    if field is None:
        return lambda scope: [("all", scope)]
    column = coded(field)

    def each_value(scope):
        keys, parts = split_by(column.codes[scope], scope)
        return [(f"{field}={column.values[k]}", part) for k, part in zip(keys, parts)]
    return each_value


def selection_label(terms: tuple) -> str:
    """``bloc=domestic|ally|kind=recycler``: the field is named where it changes."""
    parts, last = [], None
    for f, v in terms:
        parts.append(v if f == last else f"{f}={v}")
        last = f
    return "|".join(parts)
