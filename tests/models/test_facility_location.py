"""With one period, fixed costs and capacities, the model is the capacitated facility location problem.

Sources are facilities (fixed_cost, capacity), materials are customers (demand), and one offer
per (source, material) carries the unit cost of serving that customer from that facility.
The optimum is computed independently: every subset of open facilities, each with its
transportation LP solved by highspy directly. The LP relaxation must equal the strong
formulation's LP bound (x_ij <= d_j·y_i and Σ_j x_ij <= u_i·y_i), also built directly.
"""

import itertools
import math

import highspy
import numpy as np
import pytest

from models import build_model
from modelcase import book, close, solve_book
from planner.solver import solve
from planner.validate import plan_from_rows

Y = 2030


def instance(facilities: int, customers: int, seed: int):
    rng = np.random.default_rng(seed)
    demand = rng.integers(5, 40, customers).astype(float)
    capacity = rng.integers(40, 110, facilities).astype(float)
    while capacity.sum() < 1.3 * demand.sum():
        capacity *= 1.1
    capacity = np.round(capacity)
    fixed = rng.integers(150, 600, facilities).astype(float)
    xy_f, xy_c = rng.uniform(0, 10, (facilities, 2)), rng.uniform(0, 10, (customers, 2))
    cost = np.round(np.linalg.norm(xy_f[:, None, :] - xy_c[None, :, :], axis=2), 2)  # per unit, facility × customer
    return demand, capacity, fixed, cost


def as_book(demand, capacity, fixed, cost):
    F, C = cost.shape
    return book(
        [{"source": f"F{i}", "material": f"C{j}", "unit_cost": float(cost[i, j])} for i in range(F) for j in range(C)],
        [{"material": f"C{j}", "period": Y, "quantity": float(demand[j])} for j in range(C)],
        sources=[{"source": f"F{i}", "country": "US", "capacity": float(capacity[i]), "fixed_cost": float(fixed[i])}
                 for i in range(F)])


def brute_force_optimum(demand, capacity, fixed, cost) -> float:
    F, C = cost.shape
    best = math.inf
    for k in range(1, F + 1):
        for S in itertools.combinations(range(F), k):
            if capacity[list(S)].sum() < demand.sum():
                continue
            h = highspy.Highs()
            h.silent()
            x = {(i, j): h.addVariable(lb=0, obj=float(cost[i, j])) for i in S for j in range(C)}
            for j in range(C):
                h.addConstr(sum(x[i, j] for i in S) >= float(demand[j]))
            for i in S:
                h.addConstr(sum(x[i, j] for j in range(C)) <= float(capacity[i]))
            h.run()
            assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
            best = min(best, fixed[list(S)].sum() + h.getInfo().objective_function_value)
    return best


def strong_lp_bound(demand, capacity, fixed, cost) -> float:
    F, C = cost.shape
    h = highspy.Highs()
    h.silent()
    y = [h.addVariable(lb=0, ub=1, obj=float(fixed[i])) for i in range(F)]
    x = {(i, j): h.addVariable(lb=0, obj=float(cost[i, j])) for i in range(F) for j in range(C)}
    for j in range(C):
        h.addConstr(sum(x[i, j] for i in range(F)) >= float(demand[j]))
    for i in range(F):
        h.addConstr(sum(x[i, j] for j in range(C)) - float(capacity[i]) * y[i] <= 0)
        for j in range(C):
            h.addConstr(x[i, j] - float(demand[j]) * y[i] <= 0)
    h.run()
    return h.getInfo().objective_function_value


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_capacitated_facility_location_known_answer(seed):
    data = instance(6, 10, seed)
    rows = as_book(*data)
    model, r = solve_book(rows, mip_gap=0.0)
    assert r.status == "optimal"
    expected = brute_force_optimum(*data)
    assert close(r.objective, expected, rel=1e-6), (r.objective, expected)
    # the formulation is the strong one: its LP relaxation is the textbook strong bound
    relaxed = solve(build_model(plan_from_rows(rows)), relax_integrality=True, duals=False)
    assert close(relaxed.objective, strong_lp_bound(*data), rel=1e-6)
    assert relaxed.objective < expected - 1e-6  # a relaxation that is not already integral: the check has teeth


def test_time_limit_returns_the_incumbent_and_reports_progress():
    data = instance(60, 200, 7)  # ~50 s to prove optimal here; an incumbent within 1 s
    calls = []
    model = build_model(plan_from_rows(as_book(*data)))
    r = solve(model, time_limit_s=1.0, mip_gap=0.0, progress=lambda *a: calls.append(a))
    assert r.status == "time_limit_feasible", r.message
    assert r.objective is not None and r.bound <= r.objective and r.gap > 0
    assert r.max_violation.amount <= 1e-6
    assert calls and all(len(c) == 4 for c in calls) and any(c[1] is not None for c in calls)
