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
import functools
from collections.abc import Callable
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
    material_column, period_column = op["material"], op["period"]
    if policies.empty:
        return []
    # columns as integer codes once, so that each scope is cut by array indexing alone
    material, period = _Coded.of(material_column), _Coded.of(period_column)
    n_periods = len(period.values)
    pair = joint_key([(material.codes, len(material.values)), (period.codes, n_periods)])
    every = np.arange(len(op))
    lookup = _Lookup(op, pair)
    pairs = by_p = None  # made when a row first needs them
    empty = np.empty(0, dtype=np.int64)
    out: list[PolicyInstance] = []
    names: list[str] = []
    new, set_dict = object.__new__, object.__setattr__
    for p in policies.to_dict("records"):
        rule, policy, field, terms = p["rule"], p["policy"], p["field"], p["terms"]
        total = rule in TOTAL_RULES
        pm, pp = p["material"], p["period"]
        if terms:  # the columns a row selects on are coded even when it has no scope
            lookup.chosen(terms)
        elif field is not None:
            lookup.coded(field)
        if total:
            chosen = periods if pp is None else (HORIZON,) if pp == HORIZON else (pp,)
            if by_p is None and pp != HORIZON:
                by_p = {period.values[k]: pos for k, pos in zip(*split_by(period.codes, every))}
            code = material.code.get(pm, -2)  # -2: a material no purchase has
            groups = []
            for t in chosen:
                pos = every if t == HORIZON else by_p.get(t, empty)
                if pm is not None:
                    pos = pos[material.codes[pos] == code]
                groups.append((pm, t, pos, lookup.within(field, terms, pos)))
        else:
            if pairs is None:  # (pair key, material, period, scope) of every (material, period) pair, in sorted order
                _, _, keys, scopes = lookup.grouped
                pairs = [(k, material.values[k // n_periods], period.values[k % n_periods], pos) for k, pos in zip(keys, scopes)]
            select = lookup.by_pair(field, terms)
            groups = [(m, t, pos, select(k, pos)) for k, m, t, pos in pairs
                      if (pm is None or m == pm) and (pp is None or t == pp)]
        # each instance's fields as PolicyInstance(...) sets them, copied from the row's and the
        # scope's (a frozen dataclass's __init__ sets its 13 fields one by one: most of the time here)
        fields = {"name": None, "policy": policy, "rule": rule, "material": None, "period": None, "selection": None,
                  "metric": p["metric"] if total else None, "limit": float(p["limit"]), "soft": bool(p["soft"]),
                  "penalty": float(p["penalty"]) if p["soft"] else np.nan, "row": int(p["row"]),
                  "members": None, "scope": None}
        for m, t, scope, selections in groups:
            where = f"{policy}[{m if m is not None else 'all materials'}, {t}, "
            in_scope = {**fields, "material": m, "period": t, "scope": scope}.copy
            for label, members in selections:
                instance, name = new(PolicyInstance), f"{where}{label}]"
                set_dict(instance, "__dict__", d := in_scope())
                d["name"], d["selection"], d["members"] = name, label, members
                out.append(instance)
                names.append(name)
    return _named_apart(out, names)


def _named_apart(instances: list[PolicyInstance], names: list[str]) -> list[PolicyInstance]:
    """Two rows of one policy may cover the same purchases (one row for every material, another for
    Nd in 2030): both hold, so each such instance's name also says its Policies row."""
    if len(set(names)) == len(names):
        return instances
    seen: dict[str, int] = {}
    for p in instances:
        seen[p.name] = seen.get(p.name, 0) + 1
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
        x = column.to_numpy()
        if x.dtype == np.int64 and not as_text and len(x):
            lo = int(x.min())
            span = int(x.max()) - lo + 1
            if span <= 2 * len(x) + 1024:  # few distinct integers (periods): coded through a table, not a hash
                offset = x - lo
                present = np.zeros(span, dtype=bool)
                present[offset] = True
                rank = np.cumsum(present) - 1
                values = (np.flatnonzero(present) + lo).tolist()
                return cls(rank[offset], values, {v: i for i, v in enumerate(values)})
        codes, uniques = _factorize(x)
        order = sorted(range(len(uniques)), key=lambda i: str(uniques[i])) if as_text else range(len(uniques))
        rank = np.empty(len(uniques) + 1, dtype=np.int64)
        rank[order] = np.arange(len(uniques))
        rank[-1] = -1  # factorize's code for a missing value
        values = uniques[list(order)].tolist()
        return cls(rank[codes], values, {v: i for i, v in enumerate(values)})


def _factorize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(x, sort=True)``, from the first value of each run of equal values when
    the column is mostly runs (an offer's attributes repeat over its periods)."""
    if x.dtype == object and len(x) > 1:
        change = np.empty(len(x), dtype=bool)
        change[0] = True
        try:
            np.not_equal(x[1:], x[:-1], out=change[1:])
        except (TypeError, ValueError):  # a value that cannot say whether it equals another (pd.NA)
            return pd.factorize(x, sort=True)
        heads = np.flatnonzero(change)
        if len(heads) <= len(x) // 4:
            codes, uniques = pd.factorize(x[heads], sort=True)
            return np.repeat(codes, np.diff(heads, append=len(x))), uniques
    return pd.factorize(x, sort=True)


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
    order = _stable_order(key)
    key, values = key[order], values[order]
    start = _starts(key)
    return key[start], _slices(values, start)


def _stable_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of keys ≥ 0: on integers of 16 bits or fewer numpy's
    stable sort is a radix sort, in linear time."""
    return np.argsort(key.astype(np.min_scalar_type(key.max())), kind="stable") if len(key) else np.empty(0, dtype=np.intp)


def _starts(key: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted ``key`` starts."""
    return np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else np.empty(0, dtype=np.intp)


def _slices(values: np.ndarray, start: np.ndarray) -> list[np.ndarray]:
    """``values`` cut at ``start`` (from the first start to the end)."""
    bounds = [*start.tolist(), len(values)]
    return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def selection_label(terms: tuple) -> str:
    """``bloc=domestic|ally|kind=recycler``: the field is named where it changes."""
    parts, last = [], None
    for f, v in terms:
        parts.append(v if f == last else f"{f}={v}")
        last = f
    return "|".join(parts)


class _Lookup:
    """The selections of policy rows within their scopes, from the columns of ``op`` coded once.

    Share and count rules hold per (material, period) pair: a selection is split by pair
    once for all of ``op`` (and kept for the rows that make it again), not once per pair.
    """

    def __init__(self, op: pd.DataFrame, pair: np.ndarray):
        self.op, self.pair = op, pair
        self.fields: dict[str, _Coded] = {}
        self.labels_of: dict[str, list[str]] = {}
        self.chosen_of: dict[tuple, np.ndarray] = {}
        self.pair_split: dict[object, Callable] = {}

    @functools.cached_property
    def grouped(self) -> tuple[np.ndarray, np.ndarray, list[int], list[np.ndarray]]:
        """The purchases by pair: (their positions, pair by pair and ascending within each pair;
        the pair of each; the pairs; the positions of each pair's)."""
        pair = self.pair
        kept = pair >= 0
        order = _stable_order(pair) if kept.all() else np.flatnonzero(kept)[_stable_order(pair[kept])]
        sorted_pair = pair[order]
        start = _starts(sorted_pair)
        return order, sorted_pair, sorted_pair[start].tolist(), _slices(order, start)

    def coded(self, f: str) -> _Coded:
        if f not in self.fields:
            self.fields[f] = _Coded.of(self.op[f], as_text=True)
        return self.fields[f]

    def chosen(self, terms: tuple) -> np.ndarray:
        """Mask of the purchases ``terms`` select: (field, value) pairs, OR-ed."""
        if terms not in self.chosen_of:
            chosen = np.zeros(len(self.op), dtype=bool)
            for f in dict.fromkeys(f for f, _ in terms):
                column = self.coded(f)
                wanted = np.zeros(len(column.values) + 1, dtype=bool)  # the last entry: missing values (code -1)
                wanted[[column.code[v] for g, v in terms if g == f and v in column.code]] = True
                chosen |= wanted[column.codes]
            self.chosen_of[terms] = chosen
        return self.chosen_of[terms]

    def labels(self, field: str) -> list[str]:
        """The selection label of each value of ``field``, by code."""
        if field not in self.labels_of:
            self.labels_of[field] = [f"{field}={v}" for v in self.coded(field).values]
        return self.labels_of[field]

    def within(self, field: str | None, terms: tuple | None, scope: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """(label, member positions) of each selection the row expands into within ``scope``.

        ``terms`` are (field, value) pairs, OR-ed; ``field`` alone expands into one selection
        per value of that field found in the scope.
        """
        if terms:
            return [(selection_label(terms), scope[self.chosen(terms)[scope]])]
        if field is None:
            return [("all", scope)]
        keys, parts = split_by(self.coded(field).codes[scope], scope)
        labels = self.labels(field)
        return [(labels[k], part) for k, part in zip(keys.tolist(), parts)]

    def by_pair(self, field: str | None, terms: tuple | None) -> Callable:
        """As :meth:`within`, for the scopes of (material, period) pairs: a function of (pair key,
        scope) giving the (label, member positions) of that pair's selections."""
        if not terms and field is None:
            return lambda k, scope: [("all", scope)]
        at = terms or field  # a tuple or a name
        if at not in self.pair_split:
            self.pair_split[at] = self._split_terms(terms) if terms else self._split_field(field)
        return self.pair_split[at]

    def _split_terms(self, terms: tuple) -> Callable:
        label = selection_label(terms)
        order, sorted_pair, _, _ = self.grouped
        selected = self.chosen(terms)[order]
        pos, pair = order[selected], sorted_pair[selected]  # still by pair, ascending within
        start = _starts(pair)
        split = {k: [(label, part)] for k, part in zip(pair[start].tolist(), _slices(pos, start))}
        none = [(label, np.empty(0, dtype=np.int64))]  # a pair none of whose purchases is selected still has its selection
        return lambda k, scope: split.get(k, none)

    def _split_field(self, field: str) -> Callable:
        codes, labels = self.coded(field).codes, self.labels(field)
        kept = (self.pair >= 0) & (codes >= 0)
        if kept.all():
            pos, code, pair = np.arange(len(kept)), codes, self.pair
        else:
            pos = np.flatnonzero(kept)
            code, pair = codes[pos], self.pair[pos]
        if not len(pos):
            return lambda k, scope: ()
        # by pair and code, ascending positions within each (pair, code)
        n = len(labels)
        joint = pair * n + code
        if joint.max() < 2 ** 16:
            order = _stable_order(joint)  # one radix sort
        else:  # by code, then (stably) by pair
            order = _stable_order(code)
            order = order[_stable_order(pair[order])]
        pos, joint = pos[order], joint[order]
        start = _starts(joint)
        code, pair = joint[start] % n, joint[start] // n
        names, parts = list(map(labels.__getitem__, code.tolist())), _slices(pos, start)
        # each pair's selections are consecutive: its labels and parts from its first to the next pair's first
        first = _starts(pair)
        bounds = [*first.tolist(), len(parts)]
        ranges = dict(zip(pair[first].tolist(), zip(bounds[:-1], bounds[1:])))

        def select(k, scope):
            a, b = ranges.get(k, (0, 0))
            return zip(names[a:b], parts[a:b])
        return select

