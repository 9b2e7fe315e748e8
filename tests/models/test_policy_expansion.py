"""Policy rows → instances: the vectorised expansion against the definition, written plainly.

The definition (models/policies.py): share and count rules hold per (material, period) pair
among the purchases, totals per period of the horizon (or over all of it); a selection
``field=*`` gives one instance per value of the field in the scope, in the order of the
values as text; members and scope are purchase positions, ascending.
"""

import dataclasses
import random

import numpy as np
import pandas as pd
import pytest

from models.policies import (COUNT_RULES, HORIZON, SHARE_RULES, TOTAL_RULES, expand, expand_policies, joint_key,
                             selection_label, split_by)

FIELDS = ("source", "country", "bloc", "kind", "owner", "status")


def plain_expansion(policies: pd.DataFrame, op: pd.DataFrame, periods: tuple[int, ...]) -> list[tuple]:
    """(name, material, period, selection, members, scope) of every instance, one purchase at a time."""
    rows = op.to_dict("records")
    pairs = sorted({(r["material"], int(r["period"])) for r in rows})
    out = []
    for p in policies.to_dict("records"):
        pm, pp = p["material"], p["period"]
        if p["rule"] in TOTAL_RULES:
            chosen = periods if pp is None else (HORIZON,) if pp == HORIZON else (pp,)
            scopes = [(pm, t, [i for i, r in enumerate(rows) if (t == HORIZON or r["period"] == t)
                                and (pm is None or r["material"] == pm)]) for t in chosen]
        else:
            scopes = [(m, t, [i for i, r in enumerate(rows) if (r["material"], r["period"]) == (m, t)])
                      for m, t in pairs if (pm is None or m == pm) and (pp is None or t == pp)]
        for m, t, scope in scopes:
            if p["terms"]:
                selections = [(selection_label(p["terms"]),
                               [i for i in scope if any(rows[i][f] == v for f, v in p["terms"])])]
            elif p["field"] is None:
                selections = [("all", scope)]
            else:
                f = p["field"]
                selections = [(f"{f}={v}", [i for i in scope if rows[i][f] == v])
                              for v in sorted({rows[i][f] for i in scope}, key=str)]
            where = m if m is not None else "all materials"
            out += [(f"{p['policy']}[{where}, {t}, {label}]", m, t, label, members, scope) for label, members in selections]
    return out


def random_case(rng: random.Random):
    periods = tuple(range(2030, 2030 + rng.randint(1, 5)))
    values = {f: [rng.choice(["a", "B", "b", "10", "9", "é", "x y"]) + str(i) for i in range(rng.randint(1, 4))] for f in FIELDS}
    materials = ["Nd", "Dy", "Li", "10", "2"][: rng.randint(1, 5)]
    n = rng.randint(0, 120)
    op = pd.DataFrame({"material": [rng.choice(materials) for _ in range(n)],
                       "period": np.array([rng.choice(periods) for _ in range(n)], dtype=np.int64),
                       **{f: [rng.choice(values[f]) for _ in range(n)] for f in FIELDS}})
    rows = []
    for i in range(rng.randint(1, 6)):
        rule = rng.choice(SHARE_RULES + COUNT_RULES + TOTAL_RULES)
        form = rng.random()
        field = rng.choice(FIELDS) if 0.3 < form < 0.6 else None
        terms = tuple((f, rng.choice(values[f] + ["absent"])) for f in rng.sample(FIELDS, rng.randint(1, 2))) if form >= 0.6 else None
        period = rng.choice([None, None, *periods] + ([HORIZON] if rule in TOTAL_RULES else []))
        rows.append({"policy": f"p{i}", "rule": rule, "field": field, "terms": terms,
                     "material": rng.choice([None, None, *materials, "absent"]), "period": period,
                     "metric": "quantity", "limit": 0.5, "soft": False, "penalty": np.nan, "row": i + 2})
    policies = pd.DataFrame({k: pd.Series([r[k] for r in rows], dtype=object) for k in rows[0]})
    return policies, op, periods


@pytest.mark.parametrize("seed", range(40))
def test_expansion_matches_the_definition(seed):
    policies, op, periods = random_case(random.Random(seed))
    got = expand_policies(policies, op, periods)
    want = plain_expansion(policies, op, periods)
    assert [(p.name, p.material, p.period, p.selection) for p in got] == [w[:4] for w in want]
    for p, w in zip(got, want):
        assert p.members.tolist() == w[4] and p.scope.tolist() == w[5]
        assert p.members.dtype == p.scope.dtype == np.int64
        assert type(p.period) in (int, str)  # a plain int (or "horizon"), as names and the model use it


def test_split_by_keeps_row_order_and_drops_missing_keys():
    keys, groups = split_by(np.array([2, 0, 2, -1, 0, 5]), np.array([10, 11, 12, 13, 14, 15]))
    assert keys.tolist() == [0, 2, 5]
    assert [g.tolist() for g in groups] == [[11, 14], [10, 12], [15]]
    keys, groups = split_by(np.array([-1, -1]), np.array([1, 2]))
    assert keys.tolist() == [] and groups == []


def test_joint_key_is_minus_one_where_a_code_is_missing():
    key = joint_key([(np.array([0, 1, -1, 2]), 3), (np.array([1, 0, 0, 4]), 4)])
    assert key.tolist() == [1, 4, -1, -1]


@pytest.mark.parametrize("seed", range(20))
def test_expansion_matches_the_definition_on_runs_of_rows(seed):
    """Each offer's attributes repeat over its periods: a column of runs is coded from the runs."""
    policies, op, periods = random_case(random.Random(1000 + seed))
    op = op.loc[op.index.repeat(random.Random(seed).randint(4, 9))].reset_index(drop=True)
    got = expand_policies(policies, op, periods)
    want = plain_expansion(policies, op, periods)
    assert [(p.name, p.material, p.period, p.selection) for p in got] == [w[:4] for w in want]
    for p, w in zip(got, want):
        assert p.members.tolist() == w[4] and p.scope.tolist() == w[5]


def test_no_policy_rows_no_instances():
    policies, op, periods = random_case(random.Random(0))
    assert expand_policies(policies.iloc[:0], op, periods) == []


@pytest.mark.parametrize("options", [{}, {"sort": False, "use_na_sentinel": False}])
@pytest.mark.parametrize("seed", range(30))
def test_codes_from_runs_are_pandas_codes(seed, options):
    from models.policies import _factorize

    rng = random.Random(seed)
    pool = ["b", "a", "B", "10", "9", None, float("nan"), "é", 1, 1.0, True]
    values = []
    while len(values) < rng.randint(0, 200):
        values += [rng.choice(pool[: rng.choice([5, 7, 11])])] * rng.choice([1, 1, 5, 20])
    x = np.array(values + [object()], dtype=object)[:-1]
    try:
        want = pd.factorize(x, **{"sort": True, **options})
    except TypeError:  # values pandas cannot sort: the same error either way
        with pytest.raises(TypeError):
            _factorize(x, **options)
        return
    got = _factorize(x, **options)
    assert got[0].tolist() == want[0].tolist()
    assert [type(v) for v in got[1]] == [type(v) for v in want[1]]
    assert all(a == b or a != a and b != b for a, b in zip(got[1], want[1]))  # (a missing value is a new NaN)


def offers_of(op: pd.DataFrame, rng: random.Random) -> tuple[pd.DataFrame, np.ndarray]:
    """op's offer columns once per offer (rows with the same material and fields are one offer), in a
    shuffled order and with offers no purchase has: what models.sourcing passes as ``offers``."""
    columns = ["material", *FIELDS]
    table = op[columns].drop_duplicates()
    extra = pd.DataFrame({c: [f"unused-{c}"] for c in columns})
    table = pd.concat([table, extra, table.iloc[:1]], ignore_index=True)
    table = table.iloc[rng.sample(range(len(table)), len(table))].reset_index(drop=True)
    key = {k: i for i, k in enumerate(zip(*(table[c] for c in columns)))}
    return table, np.array([key[k] for k in zip(*(op[c] for c in columns))], dtype=np.int64)


@pytest.mark.parametrize("seed", range(30))
def test_offer_codes_give_the_same_instances(seed):
    """Selection fields coded per offer (``offers``) rather than per purchase: the same instances."""
    rng = random.Random(2000 + seed)
    policies, op, periods = random_case(rng)
    if seed % 3 == 0 and len(op):  # missing values belong to no field=* selection
        op.loc[rng.sample(range(len(op)), (len(op) + 2) // 3), rng.choice(FIELDS)] = None
    if seed % 2:
        op = op.loc[op.index.repeat(rng.randint(2, 5))].reset_index(drop=True)
    want = expand_policies(policies, op, periods)
    got = expand_policies(policies, op, periods, offers=offers_of(op, rng))
    assert len(got) == len(want)
    for p, w in zip(got, want):
        for f in dataclasses.fields(p):
            a, b = getattr(p, f.name), getattr(w, f.name)
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype and a.tolist() == b.tolist(), f.name
            else:
                assert type(a) is type(b) and (a == b or a != a and b != b), f.name


@pytest.mark.parametrize("seed", range(30))
def test_expansion_arrays_are_the_instances_fields(seed):
    """What a model reads of the instances as arrays (Expansion) is their fields, instance by instance."""
    rng = random.Random(3000 + seed)
    policies, op, periods = random_case(rng)
    policies = policies.assign(soft=[rng.random() < 0.5 for _ in range(len(policies))])
    policies = policies.assign(penalty=np.where(policies["soft"], 7.0, np.nan))
    e = expand(policies, op, periods, offers=offers_of(op, rng))
    ps = e.instances
    assert e.names == [p.name for p in ps]
    assert [e.fields[r]["row"] for r in e.row.tolist()] == [p.row for p in ps]
    for name in ("rule", "policy", "limit", "soft"):
        assert [e.fields[r][name] for r in e.row.tolist()] == [getattr(p, name) for p in ps]
    assert e.of_rows("limit", float).tolist() == [p.limit for p in ps]
    assert e.of_rows("soft", bool).tolist() == [p.soft for p in ps]
    assert e.period.tolist() == [p.period for p in ps]
    for p, k in zip(ps, e.pair.tolist()):
        assert (k == -1) == (p.rule in TOTAL_RULES)
        assert k == -1 or e.pairs[k] == (p.material, p.period)
    assert len(e.member_ptr) == len(ps) + 1 and e.members.dtype == np.int64
    for i, p in enumerate(ps):
        assert e.members[e.member_ptr[i]:e.member_ptr[i + 1]].tolist() == p.members.tolist()


def test_instances_of_one_pair_share_its_scope():
    """Share and count instances of one (material, period) pair hold the same scope array, whatever
    their row (policy results number scopes by identity)."""
    policies, op, periods = random_case(random.Random(5))
    rows = [{"policy": f"p{i}", "rule": rule, "field": field, "terms": None, "material": None, "period": None,
             "metric": "quantity", "limit": 0.5, "soft": False, "penalty": np.nan, "row": i + 2}
            for i, (rule, field) in enumerate([("max_share", None), ("min_share", "bloc"), ("max_sources", "kind")])]
    policies = pd.DataFrame({k: pd.Series([r[k] for r in rows], dtype=object) for k in rows[0]})
    scopes = {}
    for p in expand_policies(policies, op, periods):
        assert scopes.setdefault((p.material, p.period), p.scope) is p.scope
    assert scopes
