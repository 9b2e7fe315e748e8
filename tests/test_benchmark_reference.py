"""The benchmark's hand-written highspy model solves the same problem as ours.

The formulation ratio (benchmarks/run.py) compares HiGHS's time on our Pyomo model with
its time on ``benchmarks/reference.py``; that comparison means something only if both are
the same problem, equally strong: same optimum, same LP relaxation bound. Speed itself is
measured by the benchmark, never asserted here.
"""

import math

import pytest

from benchmarks import generate, reference
from models import build_model
from planner.solver import solve
from planner.validate import plan_from_rows

CASES = {
    "S": lambda: generate.instance("S"),
    "small-other-seed": lambda: generate.generate(materials=4, sources=30, periods=4, seed=2),
    "facility-location": lambda: generate.facility_location(sources=8, materials=30),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("relax", [False, True], ids=["mip", "lp"])
def test_reference_matches_our_model(case, relax):
    data = plan_from_rows(CASES[case]())
    ours = solve(build_model(data), mip_gap=1e-9, duals=False, load=False, relax_integrality=relax)
    ref = reference.solve(reference.build(data), mip_gap=1e-9, relax_integrality=relax)
    assert ours.status == "optimal" and ref.status == "Optimal"
    assert math.isclose(ours.objective, ref.objective, rel_tol=1e-7), (ours.objective, ref.objective)
