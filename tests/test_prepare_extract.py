"""Extraction with its model-only part worked out beforehand (planner.run.prepare_extract, which
``planner solve`` runs while HiGHS solves) gives the same plan, to the bit, as without; and the
result functions give the same tables when the solver's values come in another order than the
model's (the paths that match values by key instead of taking them in order).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from models.sourcing import _Runs, build_matrix, policy_results, quantities, shadow_prices
from planner import run, solver
from planner.validate import plan_from_rows

from .conftest import SMALL
from .test_extract_tables import every_kind

FACTS = {"input": "plan.xlsx", "input_sha256": "0", "template_version": "", "time_limit_s": 60, "mip_gap": 0,
         "threads": 1}
TABLES = ("costs", "kpis", "purchases", "policies", "investments", "shortfalls", "supply", "stock")


@pytest.fixture(scope="module")
def solved():
    """The small plan with every rule kind, a stockpile and shortfalls, solved."""
    data = plan_from_rows(every_kind(copy.deepcopy(SMALL)))
    model = build_matrix(data)
    result = solver.solve(model, mip_gap=0)
    assert result.status == "optimal" and result.shadow_prices is not None
    return model, result, data


def forget(model) -> None:
    """Drop what the result functions worked out of the model."""
    model.tables.policy_arrays = None
    model.tables.results.clear()


def assert_same(a: pd.DataFrame | pd.Series, b: pd.DataFrame | pd.Series) -> None:
    """Equal tables: dtypes, columns, index and every value to the bit (NaN where NaN)."""
    a, b = (x.to_frame() if isinstance(x, pd.Series) else x for x in (a, b))
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True)
    for column in a.columns:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if x.dtype.kind == "f":
            assert ((np.isnan(x) & np.isnan(y)) | (x.view(np.int64) == y.view(np.int64))).all(), column


def test_a_prepared_extraction_is_the_same(solved):
    model, result, data = solved
    forget(model)
    cold = run.extract(model, result, data, FACTS, {})
    forget(model)
    run.prepare_extract(model)
    prepared = run.extract(model, result, data, FACTS, {})
    again = run.extract(model, result, data, FACTS, {})  # what was worked out serves every extraction
    assert cold.stock is not None and len(cold.shortfalls) and len(cold.investments)
    assert set(cold.policies["rule"]) == {"max_share", "max_total", "min_sources", "max_sources"}
    for plan in (prepared, again):
        for name in TABLES:
            assert_same(getattr(cold, name), getattr(plan, name))
        for (title, a), (title_b, b) in zip(cold.extra_sheets, plan.extra_sheets, strict=True):
            assert title == title_b
            assert_same(a, b)
        assert (plan.facts, plan.warnings) == (cold.facts, cold.warnings)


def test_values_in_another_order_give_the_same_results(solved):
    model, result, _ = solved
    buy, violation, prices = result.values["Buy"], result.values["Violation"], result.shadow_prices
    # the solver's values come in the model's order (taken as they are)
    quantities(model, buy)
    a = model.tables.policy_arrays
    assert model.tables.results["op"].verified is buy.index and violation.index.equals(a.soft_index)
    assert all(dual.index.equals(a.rows[name][1]) for name, dual in result.duals.items() if len(dual))
    shuffled = buy.sample(frac=1.0, random_state=1)
    assert not shuffled.index.equals(buy.index)
    assert (quantities(model, shuffled) == quantities(model, buy)).all()
    assert_same(policy_results(model, buy, violation, prices),
                policy_results(model, shuffled, violation.iloc[::-1], prices.iloc[::-1]))
    reversed_duals = {name: dual.iloc[::-1] for name, dual in result.duals.items()}
    assert_same(shadow_prices(model, result.duals, buy), shadow_prices(model, reversed_duals, shuffled))


def test_runs_sum_each_list_as_numpy_sums_it():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(5000) * 10.0 ** rng.integers(-6, 6, 5000)
    lists = [rng.integers(0, len(x), n) for n in rng.choice([0, 1, 2, 7, 8, 9, 130, 1000, 4999], 60)]
    weights = rng.random(sum(map(len, lists)))
    runs = _Runs(lists)
    expected = np.array([x[at].sum() for at in lists])
    assert (runs.sums(x).view(np.int64) == expected.view(np.int64)).all()
    per = np.split(weights, np.cumsum([len(lists[i]) for i in runs.order])[:-1])  # (in runs.take's order)
    weighted = np.zeros(len(lists))
    for i, part in zip(runs.order, per):
        weighted[i] = (part * x[lists[i]]).sum()
    assert (runs.sums(x, weights).view(np.int64) == weighted.view(np.int64)).all()
