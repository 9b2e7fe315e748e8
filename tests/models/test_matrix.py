"""models.matrix: the sourcing model recorded as a matrix is the Pyomo model, compiled.

``planner solve`` hands HiGHS the matrix model (models.sourcing.build_matrix); diagnostics,
stress tests and robust plans work on the Pyomo model (build_model). Both run the same
constraint families; these tests check that they give the same matrix on real data: the
example and each of its scenarios, generated benchmark instances and a facility location
problem. Every known-answer test of tests/models checks it too (modelcase.solve_book).
"""

import gc
import math

import pytest

from benchmarks import generate
from models import build_model, cost_components
from models.sourcing import build_matrix
from planner import scenarios
from planner.solver import solve
from planner.validate import load, plan_from_rows

from modelcase import assert_same_form

EXAMPLE = load("inputs/example.xlsx")
CASES = {
    "example": lambda: EXAMPLE.data,
    **{f"example/{s}": (lambda s=s: scenarios.apply(EXAMPLE, s).data) for s in scenarios.names(EXAMPLE)},
    "S": lambda: plan_from_rows(generate.instance("S")),
    "other-seed": lambda: plan_from_rows(generate.generate(materials=4, sources=30, periods=4, seed=2)),
    "facility-location": lambda: plan_from_rows(generate.facility_location(sources=8, materials=30)),
}


@pytest.mark.parametrize("case", CASES)
def test_the_matrix_is_the_pyomo_models(case):
    data = CASES[case]()
    assert_same_form(build_matrix(data), build_model(data))


def test_both_give_the_same_plan_and_costs():
    """The same optimum, and the cost components read from the matrix model's solution."""
    data = EXAMPLE.data
    matrix, model = build_matrix(data), build_model(data)
    gap = data.settings.mip_gap  # the same matrix, so HiGHS takes the same path and stops at the same plan
    a, b = solve(matrix, mip_gap=gap), solve(model, mip_gap=gap)
    assert a.status == b.status == "optimal"
    assert math.isclose(a.objective, b.objective, rel_tol=1e-9)
    costs = cost_components(matrix)
    assert math.isclose(sum(costs.values()), a.objective, rel_tol=1e-9)
    assert costs == pytest.approx(cost_components(model), rel=1e-6, abs=1e-6)
    assert a.max_violation.amount <= 1e-6 and a.shadow_prices is not None


@pytest.mark.parametrize("case", ["example", "S"])
def test_the_solution_is_indexed_as_the_pyomo_models(case):
    """Buy and Use values come indexed by key fields (Columns.arrays), not by the key tuples: the
    same index, level types and order as the Pyomo model's variables give."""
    data = CASES[case]()
    matrix, model = build_matrix(data), build_model(data)
    a, b = solve(matrix, duals=False, relax_integrality=True), solve(model, duals=False, relax_integrality=True)
    assert matrix.Buy.arrays is not None and matrix.Use.arrays is not None
    for name in ("Buy", "Use", "SourceUse", "Build", "Shortfall", "Violation", "Stock"):
        x, y = a.values[name].index, b.values[name].index
        assert x.equals(y) and list(x) == list(y), name
        assert [lv.dtype for lv in getattr(x, "levels", [x])] == [lv.dtype for lv in getattr(y, "levels", [y])], name


def test_the_built_model_goes_to_the_oldest_generation():
    """A MatrixModel's objects go to the generation full collections scan, not to the young ones
    (which would scan them all right away); objects someone else froze stay frozen. It is freed
    without the collector (no reference cycles), so nothing waits there for a full collection."""
    if not gc.isenabled():
        pytest.skip("the collector is off")
    data = CASES["S"]()
    gc.collect()
    m = build_matrix(data)
    p = m.tables.codes.expansion  # (the instances themselves are made later, when first read)
    assert gc.get_freeze_count() == 0 and any(o is p for o in gc.get_objects(generation=2))
    assert m.tables.policies[0].name and m.form.row_name(m.form.num_row - 1)  # names and keys made after the build
    del m, p
    assert gc.collect() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        build_matrix(data)
        assert gc.get_freeze_count() > frozen // 2  # (less the frozen objects freed meanwhile), not 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("case", ["example", "S"])
def test_a_row_is_named_without_making_all_its_familys_keys(case):
    """One key of a family read alone (a violated row named in a plan) is the one made with all of
    them, and reading it leaves the family's other keys unmade (models.matrix.Keys' ``one``)."""
    data = CASES[case]()
    one, every = build_matrix(data).form, build_matrix(data).form
    alone = [(con.name, first, keys) for con, first, keys in one.row_keys if getattr(keys, "_one", None) is not None]
    assert {name for name, _, _ in alone} >= {"offer_capacity", "offer_min_order"}
    made = {con.name: list(keys) for con, _, keys in every.row_keys}  # all of each family's keys, made at once
    for name, first, keys in alone:
        for i in sorted({0, len(keys) // 3, len(keys) - 1}):
            assert one.row_name(first + i) == f"{name}[{','.join(map(str, made[name][i]))}]"
            assert keys[i] == made[name][i] and type(keys[i][2]) is type(made[name][i][2]) is int
        assert keys[-1] == made[name][-1] and keys._list is None, name
        with pytest.raises(IndexError):
            keys[len(keys)]
