"""benchmarks/highs_start_offset.py: the HiGHS defect planner.solver.solve guards against, reproduced
in plain highspy (see tests/test_robust.py for the guard itself)."""

import pytest

from benchmarks import highs_start_offset as defect

OPTIMUM = 354 / 64  # the robust plan's optimum (tests/test_robust.py), in the scaled model's currency


@pytest.mark.parametrize("presolve, start", [("choose", False), ("off", False), ("off", True)])
def test_the_model_solves_to_its_known_optimum_where_highs_is_right(presolve, start):
    reported, cost, status = defect.solve(presolve, start)
    assert status == "Optimal" and reported == pytest.approx(OPTIMUM) and cost == pytest.approx(OPTIMUM)


def test_highs_misreports_the_started_solve_with_presolve():
    reported, cost, _ = defect.solve("choose", True)
    assert cost > OPTIMUM + 1 and reported < OPTIMUM, (
        "HiGHS no longer misreports this model after a start: report it fixed, and reconsider the guard in "
        "planner.solver.solve")
