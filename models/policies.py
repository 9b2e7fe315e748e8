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

import functools
from collections import deque
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
        return rule_is_max(self.rule)

    @property
    def kind(self) -> str:
        return rule_kind(self.rule)


def rule_is_max(rule: str) -> bool:
    return rule.startswith("max_")


def rule_kind(rule: str) -> str:
    """share, count or total."""
    return rule.split("_", 1)[1].replace("sources", "count")


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
    return list(expand(policies, op, periods, offers).instances)


@dataclass
class Expansion:
    """The instances of :func:`expand_policies` as arrays over them (in their order): what a model
    reads of every instance, without an object per instance. The instances themselves and their
    names are made when first read (:attr:`instances`, :attr:`names`): the model's rows need only
    the arrays, and reports read the rest later.

    row         the position in ``policies`` of each one's row; ``fields``: each row's fields as
                its instances have them (policy, rule, metric, limit, soft, penalty, row; the
                fields of a scope or selection None)
    material    each one's material (None: all materials, totals only); period: its period (a
                period or "horizon"); selection: its selection label (object arrays)
    pair        each share or count instance's (material, period), numbered: ``pairs[k]`` is
                pair k's (material, period); -1 for totals
    members     every instance's members, one instance after the other: instance i's are
                ``members[member_ptr[i]:member_ptr[i + 1]]`` (the pieces of a CSR matrix)
    scope_of    each one's scope: ``scopes[scope_of[i]]`` (instances of one (material, period)
                pair share one scope array)
    """

    row: np.ndarray
    fields: list[dict]
    material: np.ndarray
    period: np.ndarray
    selection: np.ndarray
    pair: np.ndarray
    pairs: dict
    members: np.ndarray
    member_ptr: np.ndarray
    scope_of: np.ndarray
    scopes: list

    def __len__(self) -> int:
        return len(self.row)

    def of_rows(self, name: str, dtype) -> np.ndarray:
        """The field ``name`` of each instance's row, e.g. ``of_rows("limit", float)``."""
        return np.array([f[name] for f in self.fields], dtype=dtype)[self.row]

    @functools.cached_property
    def names(self) -> list[str]:
        """Each instance's name, e.g. ``feoc-cap[NdPr, 2027, bloc=FEOC]``. Two rows of one policy may
        cover the same purchases (one row for every material, another for Nd in 2030): both hold, so
        each such instance's name also says its Policies row."""
        policy = [f["policy"] for f in self.fields]
        names = [f"{policy[r]}[{m if m is not None else 'all materials'}, {t}, {label}]"
                 for r, m, t, label in zip(self.row.tolist(), self.material, self.period, self.selection)]
        if len(set(names)) < len(names):
            seen: dict[str, int] = {}
            for name in names:
                seen[name] = seen.get(name, 0) + 1
            rows = [f["row"] for f in self.fields]
            names = [f"{name} (row {rows[r]})" if seen[name] > 1 else name for name, r in zip(names, self.row.tolist())]
        return names

    @functools.cached_property
    def instances(self) -> list[PolicyInstance]:
        """One :class:`PolicyInstance` per instance, in order."""
        bounds = self.member_ptr.tolist()
        members = [self.members[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        fields = self.fields
        dicts = [{**fields[r], "name": name, "material": m, "period": t, "selection": label, "members": part,
                  "scope": self.scopes[k]}
                 for r, name, m, t, label, part, k in zip(self.row.tolist(), self.names, self.material, self.period,
                                                          self.selection, members, self.scope_of.tolist())]
        out = list(map(object.__new__, repeat(PolicyInstance, len(dicts))))
        deque(map(_set_fields, out, dicts), maxlen=0)
        return out


def expand(policies: pd.DataFrame, op: pd.DataFrame, periods: tuple[int, ...],
           offers: tuple[pd.DataFrame, np.ndarray] | None = None) -> Expansion:
    """:func:`expand_policies` as arrays (:class:`Expansion`): each Policies row's instances are cut
    from op's columns coded once, all of a row's at a time (share and count rows over every
    (material, period) pair they cover at once)."""
    pieces = _Pieces()
    if policies.empty:
        return pieces.expansion([], {}, [])
    # columns as integer codes once, so that each scope is cut by array indexing alone
    lookup = _Lookup(op, offers)
    material, period = lookup.coded("material", as_text=False), _Coded.of(op["period"])
    n_periods = len(period.values)
    lookup.pair = joint_key([(material.codes, len(material.values)), (period.codes, n_periods)])
    every = np.arange(len(op))
    by_p = None  # each period's purchases, made when a total first needs them
    total_scopes: list[np.ndarray] = []  # the totals' scopes, numbered after the pairs' (a pair's number is its place)
    row_fields = []
    columns = ("rule", "policy", "field", "terms", "material", "period", "metric", "limit", "soft", "penalty", "row")
    # the rows' cells as to_dict("records") gives them (Python values), without building the records
    cells = zip(*(map(maybe_box_native, policies[c].tolist()) for c in columns))
    for i, (rule, policy, field, terms, pm, pp, metric, limit, soft, penalty, row) in enumerate(cells):
        total = rule in TOTAL_RULES
        if terms:  # the columns a row selects on are coded even when it has no scope
            lookup.chosen(terms)
        elif field is not None:
            lookup.coded(field)
        row_fields.append({"policy": policy, "rule": rule, "metric": metric if total else None, "limit": float(limit),
                           "soft": bool(soft), "penalty": float(penalty) if soft else np.nan, "row": int(row)})
        if total:
            chosen = periods if pp is None else (HORIZON,) if pp == HORIZON else (pp,)
            if by_p is None and pp != HORIZON:
                by_p = {period.values[k]: pos for k, pos in zip(*split_by(period.codes))}
            code = material.code.get(pm, -2)  # -2: a material no purchase has
            for t in chosen:
                pos = every if t == HORIZON else by_p.get(t, np.empty(0, dtype=np.int64))
                if pm is not None:
                    pos = pos[material.codes[pos] == code]
                labels, _, sizes, members = lookup.within(field, terms, pos)
                n = len(labels)
                pieces.add(i, np.full(n, pm, dtype=object), np.full(n, t, dtype=object), _objects(labels),
                           np.full(n, -1, dtype=np.int64), np.array(sizes, dtype=np.int64), members,
                           np.full(n, -1 - len(total_scopes), dtype=np.int64))  # numbered after the pairs' (below)
                total_scopes.append(pos)
        else:
            pairs = lookup.pairs(material, period)
            covered = np.ones(len(pairs.keys), dtype=bool)
            if pm is not None:
                covered &= pairs.material == material.code.get(pm, -2)
            if pp is not None:
                covered &= pairs.period == period.code.get(pp, -2)
            at, labels, sizes, members = lookup.by_pairs(field, terms, pairs, covered)
            pieces.add(i, pairs.material_value[at], pairs.period_value[at], labels, pairs.keys[at], sizes, members, at)
    pairs = lookup.made_pairs  # None when no share or count row needed them
    if pairs is None:
        return pieces.expansion(row_fields, {}, total_scopes)
    return pieces.expansion(row_fields, dict(zip(pairs.keys.tolist(), zip(pairs.material_value, pairs.period_value))),
                            pairs.scopes + total_scopes)


class _Pieces:
    """The instances of the Policies rows, row by row, as arrays joined at the end (:class:`Expansion`)."""

    def __init__(self):
        self.parts: list[tuple] = []

    def add(self, row: int, material, period, selection, pair, sizes, members, scope_of) -> None:
        """Instances of the row at ``row``: per instance its material, period, selection label, pair
        key, number of members and scope (arrays); ``members``: theirs, one instance after the other."""
        self.parts.append((np.full(len(pair), row, dtype=np.int64), material, period, selection, pair, sizes,
                           np.asarray(members, dtype=np.int64), scope_of))

    def expansion(self, row_fields: list[dict], pairs: dict, scopes: list) -> Expansion:
        """The instances joined; ``scopes``: the pairs' (numbered as the pairs), then the totals' (numbered
        -1, -2, … by ``add``)."""
        cat = lambda k, dtype: np.concatenate([np.empty(0, dtype=dtype), *(p[k] for p in self.parts)])  # noqa: E731
        sizes = cat(5, np.int64)
        member_ptr = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=member_ptr[1:])
        scope_of = cat(7, np.int64)
        scope_of = np.where(scope_of < 0, len(pairs) - 1 - scope_of, scope_of)
        return Expansion(cat(0, np.int64), row_fields, cat(1, object), cat(2, object), cat(3, object), cat(4, np.int64),
                         pairs, cat(6, np.int64), member_ptr, scope_of, scopes)


_set_fields = PolicyInstance.__dict__["__dict__"].__set__  # instance.__dict__ = fields, past the frozen __setattr__


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
        self.pair_split: dict[object, tuple] = {}
        self.made_pairs: _Pairs | None = None  # see pairs
        self.offers = None
        if offers is not None:  # the offers with a purchase, and each purchase's among them
            table, row = offers
            present = np.zeros(len(table), dtype=bool)
            present[row] = True
            self.offers = table, np.flatnonzero(present), (np.cumsum(present) - 1)[row]

    def pairs(self, material: _Coded, period: _Coded) -> _Pairs:
        """The (material, period) pairs of the purchases, sorted, with their scopes (made once)."""
        if self.made_pairs is None:
            pair = self.pair
            kept = pair >= 0
            order = _stable_order(pair) if kept.all() else np.flatnonzero(kept)[_stable_order(pair[kept])]
            sorted_pair = pair[order]
            start = _starts(sorted_pair)
            keys = sorted_pair[start]
            n = len(period.values)
            self.made_pairs = _Pairs(keys, keys // n, keys % n, _objects(material.values)[keys // n],
                                     _objects(period.values)[keys % n], _slices(order, start), order, start,
                                     np.diff(np.append(start, len(order))))
        return self.made_pairs

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

    def by_pairs(self, field: str | None, terms: tuple | None, pairs: _Pairs,
                 covered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The selections of a share or count row in the pairs ``covered`` (a mask over ``pairs``),
        pair by pair, each pair's in the order of their labels: each one's pair (its place in
        ``pairs``), label (an object array), number of members, and all their members, one
        selection after the other (ascending within each)."""
        if not terms and field is None:  # all: the pair's scope
            at = np.flatnonzero(covered)
            return at, np.full(len(at), "all", dtype=object), pairs.size[at], _runs(pairs.order, pairs.start[at], pairs.size[at])
        key = terms or field  # a tuple or a name
        if key not in self.pair_split:
            self.pair_split[key] = self._split_terms(terms, pairs) if terms else self._split_field(field, pairs)
        pair_at, labels, start, size, pos = self.pair_split[key]
        if terms:  # one selection in every pair (none of whose purchases may be selected)
            at = np.flatnonzero(covered)
            return at, np.full(len(at), labels, dtype=object), size[at], _runs(pos, start[at], size[at])
        chosen = np.flatnonzero(covered[pair_at])  # the (pair, value) groups of the pairs covered
        if len(chosen) == len(pair_at):
            return pair_at, labels, size, pos
        return pair_at[chosen], labels[chosen], size[chosen], _runs(pos, start[chosen], size[chosen])

    def _split_terms(self, terms: tuple, pairs: _Pairs) -> tuple:
        """(None, the label, and per pair where its selected purchases start in ``pos`` and how many;
        ``pos``: the selected purchases by pair, ascending within each)."""
        pos = np.flatnonzero(self.chosen(terms) & (self.pair >= 0))
        pos = pos[_stable_order(self.pair[pos])]  # by pair, ascending within
        pair = self.pair[pos]
        start = np.searchsorted(pair, pairs.keys, "left")
        return None, selection_label(terms), start, np.searchsorted(pair, pairs.keys, "right") - start, pos

    def _split_field(self, field: str, pairs: _Pairs) -> tuple:
        """Per (pair, value of ``field``) group with purchases, by pair and value: the pair's place in
        ``pairs``, the label, where its purchases start in ``pos`` and how many; ``pos``: the
        purchases by pair and value, ascending within each group."""
        codes, labels = self.coded(field).codes, self.labels(field)
        kept = (self.pair >= 0) & (codes >= 0)
        if kept.all():
            pos, code, pair = None, codes, self.pair  # pos None: every purchase, in order
        else:
            pos = np.flatnonzero(kept)
            code, pair = codes[pos], self.pair[pos]
        empty = np.empty(0, dtype=np.int64)
        if not len(code):
            return empty, np.empty(0, dtype=object), empty, empty, empty
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
        size = np.diff(np.append(start, len(pos)))
        return (np.searchsorted(pairs.keys, joint[start] // n), _objects(labels)[joint[start] % n], start, size,
                pos.astype(np.int64, copy=False))


@dataclass(frozen=True)
class _Pairs:
    """The (material, period) pairs of the purchases, sorted by their key (joint_key of the material's
    and period's codes): ``keys``, their material and period codes and values, and each one's scope
    (its purchases, ascending): ``scopes[j]``, also ``order[start[j]:start[j] + size[j]]``."""

    keys: np.ndarray
    material: np.ndarray
    period: np.ndarray
    material_value: np.ndarray
    period_value: np.ndarray
    scopes: list
    order: np.ndarray
    start: np.ndarray
    size: np.ndarray


def ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """start[0], start[0] + 1, …, start[0] + count[0] - 1, then the same for start[1], …"""
    return np.repeat(start - np.cumsum(count) + count, count) + np.arange(int(count.sum()))


def _runs(values: np.ndarray, start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """values[start[0]:start[0] + size[0]], then the same for start[1], …, joined."""
    return values[ranges(start, size)] if len(start) else np.empty(0, dtype=np.int64)


def _objects(values) -> np.ndarray:
    """A list as a 1-d object array (its elements as they are, even tuples or lists)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
