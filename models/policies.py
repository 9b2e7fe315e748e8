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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd
from pandas.core.dtypes.cast import maybe_box_native  # what to_dict("records") makes of each cell

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


def expand_policies(policies: pd.DataFrame, op: pd.DataFrame, periods: tuple[int, ...],
                    offers: tuple[pd.DataFrame, np.ndarray] | None = None) -> list[PolicyInstance]:
    """Every instance of every policy row, in row order.

    ``op`` has one row per purchase variable with at least the columns ``material``,
    ``period`` and the selection fields (source, country, bloc, kind, owner, status).
    Share and count rules cover the (material, period) pairs in ``op``; totals cover every
    period of the horizon (a total over nothing is 0, which a ``min_total`` must see).

    ``offers``: op's offer columns once per offer, as (a table with one row per offer, each op
    row's row in it). The same instances; the columns are then coded per offer, not per purchase.
    """
    return expand(policies, op, periods, offers).instances


@dataclass
class Expansion:
    """The instances of :func:`expand_policies` and, as arrays over them (in their order), what a
    model reads of every instance.

    names       their names
    row         the position in ``policies`` of each one's row; ``fields``: each row's fields as
                its instances have them (policy, rule, metric, limit, soft, penalty, row; the
                fields of a scope or selection None)
    period      each one's period (an object array)
    pair        each share or count instance's (material, period), numbered: ``pairs[k]`` is
                pair k's (material, period); -1 for totals
    members     every instance's members, one instance after the other: instance i's are
                ``members[member_ptr[i]:member_ptr[i + 1]]`` (the pieces of a CSR matrix)
    """

    instances: list[PolicyInstance]
    names: list[str]
    row: np.ndarray
    fields: list[dict]
    period: np.ndarray
    pair: np.ndarray
    pairs: dict
    members: np.ndarray
    member_ptr: np.ndarray

    def of_rows(self, name: str, dtype) -> np.ndarray:
        """The field ``name`` of each instance's row, e.g. ``of_rows("limit", float)``."""
        return np.array([f[name] for f in self.fields], dtype=dtype)[self.row]


def expand(policies: pd.DataFrame, op: pd.DataFrame, periods: tuple[int, ...],
           offers: tuple[pd.DataFrame, np.ndarray] | None = None) -> Expansion:
    """:func:`expand_policies`, with the instances' fields a model reads as arrays (:class:`Expansion`)."""
    empty = np.empty(0, dtype=np.int64)
    if policies.empty:
        return Expansion([], [], empty, [], np.empty(0, dtype=object), empty, {}, empty, np.zeros(1, dtype=np.int64))
    # columns as integer codes once, so that each scope is cut by array indexing alone
    lookup = _Lookup(op, offers)
    material, period = lookup.coded("material", as_text=False), _Coded.of(op["period"])
    n_periods = len(period.values)
    lookup.pair = joint_key([(material.codes, len(material.values)), (period.codes, n_periods)])
    every = np.arange(len(op))
    pairs = by_p = None  # made when a row first needs them
    # each instance's fields as PolicyInstance(...) sets them, copied from its row's and its scope's; the
    # instances are made at the end (a frozen dataclass's __init__ sets its 13 fields one by one: slower)
    dicts: list[dict] = []
    names: list[str] = []
    sizes: list[int] = []
    rows, group_pairs, group_periods, counts, joined, row_fields = [], [], [], [], [], []
    columns = ("rule", "policy", "field", "terms", "material", "period", "metric", "limit", "soft", "penalty", "row")
    # the rows' cells as to_dict("records") gives them (Python values), without building the records
    cells = zip(*(map(maybe_box_native, policies[c].tolist()) for c in columns))
    for i, (rule, policy, field, terms, pm, pp, metric, limit, soft, penalty, row) in enumerate(cells):
        total = rule in TOTAL_RULES
        if terms:  # the columns a row selects on are coded even when it has no scope
            lookup.chosen(terms)
        elif field is not None:
            lookup.coded(field)
        if total:
            chosen = periods if pp is None else (HORIZON,) if pp == HORIZON else (pp,)
            if by_p is None and pp != HORIZON:
                by_p = {period.values[k]: pos for k, pos in zip(*split_by(period.codes))}
            code = material.code.get(pm, -2)  # -2: a material no purchase has
            groups = []
            for t in chosen:
                pos = every if t == HORIZON else by_p.get(t, empty)
                if pm is not None:
                    pos = pos[material.codes[pos] == code]
                groups.append((-1, pm, t, pos, lookup.within(field, terms, pos)))
        else:
            if pairs is None:  # (pair key, material, period, scope) of every (material, period) pair, in sorted order
                _, _, keys, scopes = lookup.grouped
                pairs = [(k, material.values[k // n_periods], period.values[k % n_periods], pos) for k, pos in zip(keys, scopes)]
            select = lookup.by_pair(field, terms)
            groups = [(k, m, t, pos, select(k, pos)) for k, m, t, pos in pairs
                      if (pm is None or m == pm) and (pp is None or t == pp)]
        fields = {"name": None, "policy": policy, "rule": rule, "material": None, "period": None, "selection": None,
                  "metric": metric if total else None, "limit": float(limit), "soft": bool(soft),
                  "penalty": float(penalty) if soft else np.nan, "row": int(row), "members": None, "scope": None}
        row_fields.append(fields)
        for k, m, t, scope, (labels, parts, part_sizes, all_parts) in groups:
            where = f"{policy}[{m if m is not None else 'all materials'}, {t}, "
            in_scope = {**fields, "material": m, "period": t, "scope": scope}.copy
            group_names = [f"{where}{label}]" for label in labels]
            for name, label, members in zip(group_names, labels, parts):
                d = in_scope()
                d["name"], d["selection"], d["members"] = name, label, members
                dicts.append(d)
            names += group_names
            sizes += part_sizes
            joined.append(all_parts)
            rows.append(i)
            group_pairs.append(k)
            group_periods.append(t)
            counts.append(len(labels))
    out = list(map(object.__new__, repeat(PolicyInstance, len(dicts))))
    deque(map(_set_fields, out, dicts), maxlen=0)
    out, names = _named_apart(out, names)
    counts = np.array(counts, dtype=np.int64)
    period_of = np.empty(len(group_periods), dtype=object)
    period_of[:] = group_periods
    member_ptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=member_ptr[1:])
    return Expansion(out, names, np.repeat(np.array(rows, dtype=np.int64), counts), row_fields,
                     np.repeat(period_of, counts), np.repeat(np.array(group_pairs, dtype=np.int64), counts),
                     {k: (m, t) for k, m, t, _ in pairs or ()}, np.concatenate([empty, *joined]), member_ptr)


_set_fields = PolicyInstance.__dict__["__dict__"].__set__  # instance.__dict__ = fields, past the frozen __setattr__


def _named_apart(instances: list[PolicyInstance], names: list[str]) -> tuple[list[PolicyInstance], list[str]]:
    """Two rows of one policy may cover the same purchases (one row for every material, another for
    Nd in 2030): both hold, so each such instance's name also says its Policies row."""
    if len(set(names)) == len(names):
        return instances, names
    seen: dict[str, int] = {}
    for p in instances:
        seen[p.name] = seen.get(p.name, 0) + 1
    instances = [dataclasses.replace(p, name=f"{p.name} (row {p.row})") if seen[p.name] > 1 else p for p in instances]
    return instances, [p.name for p in instances]


@dataclass(frozen=True)
class _Coded:
    """A column as integer codes numbered in the sorted order of its values; -1 where missing."""

    codes: np.ndarray
    values: list  # by code
    code: dict  # value -> code

    @classmethod
    def of(cls, column: pd.Series | np.ndarray, as_text: bool = False) -> _Coded:
        """Values in their natural order, as groupby sorts them, or ``as_text`` (as selection labels list)."""
        x = column if isinstance(column, np.ndarray) else column.to_numpy()
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


def _factorize(x: np.ndarray, sort: bool = True, use_na_sentinel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(x, sort=sort, use_na_sentinel=use_na_sentinel)``, from the first value of each
    run of equal values when the column is mostly runs (an offer's attributes repeat over its periods,
    a source's offers are consecutive)."""
    if x.dtype == object and len(x) > 1:
        change = np.empty(len(x), dtype=bool)
        change[0] = True
        try:
            np.not_equal(x[1:], x[:-1], out=change[1:])
        except (TypeError, ValueError):  # a value that cannot say whether it equals another (pd.NA)
            return pd.factorize(x, sort=sort, use_na_sentinel=use_na_sentinel)
        heads = np.flatnonzero(change)
        if len(heads) <= len(x) // 4:
            codes, uniques = pd.factorize(x[heads], sort=sort, use_na_sentinel=use_na_sentinel)
            return np.repeat(codes, np.diff(heads, append=len(x))), uniques
    return pd.factorize(x, sort=sort, use_na_sentinel=use_na_sentinel)


def joint_key(codes: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """One integer per row from several integer codes, each given with its number of codes
    (0 to n - 1); -1 where a code is out of range (a missing value)."""
    key = np.zeros(len(codes[0][0]), dtype=np.int64)
    valid = np.ones(len(key), dtype=bool)
    for code, n in codes:
        valid &= (code >= 0) & (code < n)
        key = key * n + code
    return np.where(valid, key, -1)


def split_by(key: np.ndarray, values: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct values ≥ 0 of ``key``, ascending, and the ``values`` of each, in row order
    (``values`` None: the rows' positions).

    Negative keys (missing values) belong to no group.
    """
    kept = key >= 0
    at = None if kept.all() else np.flatnonzero(kept)  # None: every row (no copy)
    if at is not None:
        key = key[at]
    if not len(key):
        return key, []
    order = _stable_order(key)
    if values is None:
        values = order if at is None else at[order]
    else:
        values = (values if at is None else values[at])[order]
    key = key[order]
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


# A row's selections within one scope: their labels, their members (positions in op, ascending), the
# number of members of each, and all the members one selection after the other
Selections = tuple[list[str], list[np.ndarray], list[int], np.ndarray]


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

    def __init__(self, op: pd.DataFrame, offers: tuple[pd.DataFrame, np.ndarray] | None = None):
        self.op, self.pair = op, None  # pair: each purchase's (material, period), numbered (joint_key); set by expand
        self.fields: dict[tuple, _Coded] = {}
        self.labels_of: dict[str, list[str]] = {}
        self.chosen_of: dict[tuple, np.ndarray] = {}
        self.pair_split: dict[object, Callable] = {}
        self.offers = None
        if offers is not None:  # the offers with a purchase, and each purchase's among them
            table, row = offers
            present = np.zeros(len(table), dtype=bool)
            present[row] = True
            self.offers = table, np.flatnonzero(present), (np.cumsum(present) - 1)[row]

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

    def coded(self, f: str, as_text: bool = True) -> _Coded:
        """The column ``f`` of op coded (see :class:`_Coded`); per offer where op's offers are given:
        the same codes, from a few thousand values rather than every purchase's."""
        if (f, as_text) not in self.fields:
            c = self.offer_coded(f, as_text)
            self.fields[f, as_text] = (_Coded.of(self.op[f], as_text=as_text) if c is None else
                                       _Coded(c.codes[self.offers[2]], c.values, c.code))
        return self.fields[f, as_text]

    def offer_coded(self, f: str, as_text: bool = True) -> _Coded | None:
        """The column ``f`` coded per offer with a purchase (the codes of op's rows: ``codes[at]``,
        ``at`` the third of ``offers``); None where op's offers are not given or lack ``f``."""
        if self.offers is None or f not in self.offers[0]:
            return None
        if ("offers", f, as_text) not in self.fields:
            table, present, _ = self.offers
            self.fields["offers", f, as_text] = _Coded.of(table[f].to_numpy()[present], as_text=as_text)
        return self.fields["offers", f, as_text]

    def chosen(self, terms: tuple) -> np.ndarray:
        """Mask of the purchases ``terms`` select: (field, value) pairs, OR-ed (per offer, then taken
        for each purchase, where op's offers are given)."""
        if terms not in self.chosen_of:
            fields = list(dict.fromkeys(f for f, _ in terms))
            per_offer = self.offers is not None and all(f in self.offers[0] for f in fields)
            chosen = np.zeros(len(self.offers[1]) if per_offer else len(self.op), dtype=bool)
            for f in fields:
                column = self.offer_coded(f) if per_offer else self.coded(f)
                wanted = np.zeros(len(column.values) + 1, dtype=bool)  # the last entry: missing values (code -1)
                wanted[[column.code[v] for g, v in terms if g == f and v in column.code]] = True
                chosen |= wanted[column.codes]
            self.chosen_of[terms] = chosen[self.offers[2]] if per_offer else chosen
        return self.chosen_of[terms]

    def labels(self, field: str) -> list[str]:
        """The selection label of each value of ``field``, by code."""
        if field not in self.labels_of:
            self.labels_of[field] = [f"{field}={v}" for v in self.coded(field).values]
        return self.labels_of[field]

    def within(self, field: str | None, terms: tuple | None, scope: np.ndarray) -> Selections:
        """The selections the row expands into within ``scope`` (see :data:`Selections`).

        ``terms`` are (field, value) pairs, OR-ed; ``field`` alone expands into one selection
        per value of that field found in the scope.
        """
        if terms:
            members = scope[self.chosen(terms)[scope]]
            return [selection_label(terms)], [members], [len(members)], members
        if field is None:
            return ["all"], [scope], [len(scope)], scope
        keys, parts = split_by(self.coded(field).codes[scope], scope)
        labels = self.labels(field)
        return ([labels[k] for k in keys.tolist()], parts, [len(part) for part in parts],
                np.concatenate([np.empty(0, dtype=np.int64), *parts]))

    def by_pair(self, field: str | None, terms: tuple | None) -> Callable:
        """As :meth:`within`, for the scopes of (material, period) pairs: a function of (pair key,
        scope) giving that pair's selections."""
        if not terms and field is None:
            return lambda k, scope: (["all"], [scope], [len(scope)], scope)
        at = terms or field  # a tuple or a name
        if at not in self.pair_split:
            self.pair_split[at] = self._split_terms(terms) if terms else self._split_field(field)
        return self.pair_split[at]

    def _split_terms(self, terms: tuple) -> Callable:
        label = selection_label(terms)
        pos = np.flatnonzero(self.chosen(terms) & (self.pair >= 0))
        pos = pos[_stable_order(self.pair[pos])]  # by pair, ascending within
        pair = self.pair[pos]
        start = _starts(pair)
        split = {k: ([label], [part], [len(part)], part) for k, part in zip(pair[start].tolist(), _slices(pos, start))}
        none = np.empty(0, dtype=np.int64)
        none = [label], [none], [0], none  # a pair none of whose purchases is selected still has its selection
        return lambda k, scope: split.get(k, none)

    def _split_field(self, field: str) -> Callable:
        codes, labels = self.coded(field).codes, self.labels(field)
        kept = (self.pair >= 0) & (codes >= 0)
        if kept.all():
            pos, code, pair = None, codes, self.pair  # pos None: every purchase, in order
        else:
            pos = np.flatnonzero(kept)
            code, pair = codes[pos], self.pair[pos]
        if not len(code):
            return lambda k, scope: ([], [], [], np.empty(0, dtype=np.int64))
        # by pair and code, ascending positions within each (pair, code)
        n = len(labels)
        joint = pair * n + code
        if joint.max() < 2 ** 16:
            order = _stable_order(joint)  # one radix sort
        else:  # by code, then (stably) by pair
            order = _stable_order(code)
            order = order[_stable_order(pair[order])]
        pos, joint = order if pos is None else pos[order], joint[order]
        start = _starts(joint)
        code, pair = joint[start] % n, joint[start] // n
        names, parts = list(map(labels.__getitem__, code.tolist())), _slices(pos, start)
        at = [*start.tolist(), len(pos)]  # where each part starts in pos, and the end
        sizes = np.diff(at).tolist()
        # each pair's selections are consecutive: its labels and parts from its first to the next pair's first
        first = _starts(pair)
        bounds = [*first.tolist(), len(parts)]
        ranges = dict(zip(pair[first].tolist(), zip(bounds[:-1], bounds[1:])))

        def select(k, scope):
            a, b = ranges.get(k, (0, 0))
            return names[a:b], parts[a:b], sizes[a:b], pos[at[a]:at[b]]
        return select

