"""planner.standard_form: the matrix HiGHS receives is the model's, term for term.

The compiler reads the sourcing model's rows directly and everything else through Pyomo;
its output is checked against Pyomo's own ``LinearStandardFormCompiler`` (the same rows,
columns, coefficients and bounds up to order) on real models, and by hand on a small model
with every expression shape the fast path does not take.
"""

import math
import subprocess
import sys

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.common.enums import ObjectiveSense
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from benchmarks import generate
from models import build_model
from models.robust import build_robust
from planner import scenarios
from planner.solver import solve
from planner.standard_form import compile_model
from planner.validate import load, plan_from_rows


def assert_same_as_pyomo(model):
    """Our matrix form equals Pyomo's, once both are put in the order of ours."""
    ours = compile_model(model)
    repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=ObjectiveSense.minimize)
    col = {id(v): j for j, v in enumerate(ours.variables())}
    row = {id(con[key]): i for i, (con, key) in enumerate(map(ours.row_at, range(ours.num_row)))}
    pc = np.array([col[id(v)] for v in repn.columns], dtype=int)
    pr = np.array([row[id(r.constraint)] for r in repn.rows], dtype=int)
    # Pyomo drops the columns that appear nowhere; ours keeps them, with no coefficient and no cost
    dropped = np.setdiff1d(np.arange(ours.num_col), pc)
    assert ours.A[:, dropped].nnz == 0 and not ours.cost[dropped].any()
    assert set(pr.tolist()) == set(range(ours.num_row))  # every row (Pyomo splits a ranged row in two)
    assert abs(ours.A.tocsr()[pr][:, pc] - repn.A.tocsr()).max() == 0
    np.testing.assert_array_equal(ours.cost[pc], repn.c.toarray().ravel())
    for j, v in zip(pc, repn.columns):
        lb, ub = v.bounds
        assert ours.col_lower[j] == (-math.inf if lb is None else lb) and ours.col_upper[j] == (math.inf if ub is None else ub)
        assert ours.integer[j] == v.is_integer()
    rhs = np.asarray(repn.rhs, dtype=float)
    kind = np.array([r.bound_type for r in repn.rows])
    lower, upper = np.full(ours.num_row, -math.inf), np.full(ours.num_row, math.inf)
    np.fmax.at(lower, pr, np.where(kind == 1, -math.inf, rhs))
    np.fmin.at(upper, pr, np.where(kind == -1, math.inf, rhs))
    np.testing.assert_allclose(ours.row_lower, lower, rtol=1e-12)
    np.testing.assert_allclose(ours.row_upper, upper, rtol=1e-12)
    return ours


def test_the_example_model_is_pyomos_matrix():
    c = assert_same_as_pyomo(build_model(load("inputs/example.xlsx").data))
    assert c.num_row > 100 and c.integer.any()


def test_a_generated_model_is_pyomos_matrix():
    assert_same_as_pyomo(build_model(plan_from_rows(generate.instance("S"))))


def test_the_robust_model_is_pyomos_matrix():
    """Linking rows (a difference of two variables) and a weighted objective take the general path."""
    checked = load("inputs/example.xlsx")
    names = scenarios.names(checked)[:2]
    datas = {"base": checked.data} | {s: scenarios.apply(checked, s).data for s in names}
    starts = {s: scenarios.start_period(checked, s) for s in names}
    m = build_robust(datas, {"base": 0.5} | {s: 0.25 for s in names}, risk_weight=0.5, starts=starts)
    assert_same_as_pyomo(m)


def small():
    m = pyo.ConcreteModel()
    m.I = pyo.Set(initialize=[1, 2])
    m.x = pyo.Var(m.I, bounds=(0, 10))
    m.y = pyo.Var(domain=pyo.Binary)
    m.z = pyo.Var(bounds=(None, 4))
    m.unused = pyo.Var(bounds=(1, 2))
    m.fast = pyo.Constraint(expr=LinearExpression([2.0, m.x[1], 3.0 * m.x[2]]) >= 5)  # constant 2 moves right
    m.ranged = pyo.Constraint(expr=(1, m.x[1] + m.x[2] - m.z, 7))
    m.equal = pyo.Constraint(expr=m.x[1] == 2 * m.x[2])
    m.twice = pyo.Constraint(expr=m.x[1] + m.x[1] + m.y <= 9)
    m.cost = pyo.Expression(expr=LinearExpression([1.0, 4.0 * m.x[1], m.y]))
    return m


def test_every_expression_shape_by_hand():
    m = small()
    m.obj = pyo.Objective(expr=3 * m.cost - m.z + 0.5, sense=pyo.minimize)
    c = compile_model(m)
    assert [c.col_name(j) for j in range(c.num_col)] == ["x[1]", "x[2]", "y", "z", "unused"]
    assert [c.row_name(i) for i in range(c.num_row)] == ["fast", "ranged", "equal", "twice"]
    np.testing.assert_array_equal(c.A.toarray(), [[1, 3, 0, 0, 0], [1, 1, 0, -1, 0], [1, -2, 0, 0, 0], [2, 0, 1, 0, 0]])
    np.testing.assert_array_equal(c.row_lower, [3, 1, 0, -math.inf])
    np.testing.assert_array_equal(c.row_upper, [math.inf, 7, 0, 9])
    np.testing.assert_array_equal(c.cost, [12, 0, 3, -1, 0])
    assert c.offset == 3.5
    np.testing.assert_array_equal(c.col_lower, [0, 0, 0, -math.inf, 1])
    np.testing.assert_array_equal(c.col_upper, [10, 10, 1, 4, 2])
    np.testing.assert_array_equal(c.integer, [False, False, True, False, False])
    assert_same_as_pyomo(m)


def test_a_maximisation_is_handed_over_negated():
    m = small()
    m.obj = pyo.Objective(expr=m.x[1] + 2 * m.z, sense=pyo.maximize)
    c = compile_model(m)
    np.testing.assert_array_equal(c.cost, [-1, 0, 0, -2, 0])


def test_a_fixed_variable_is_a_column_at_its_value():
    m = small()
    m.obj = pyo.Objective(expr=m.x[1] + m.x[2] - m.z)
    m.x[2].fix(1.5)
    c = compile_model(m)
    assert c.col_lower[1] == c.col_upper[1] == 1.5
    r = solve(m, duals=False)
    # x1 >= 3 - 3·1.5 and x1 = 2·1.5 (equal), z <= 4 and x1 + x2 - z >= 1
    assert r.status == "optimal" and math.isclose(r.objective, 3 + 1.5 - 3.5, abs_tol=1e-9)
    assert r.values["x"][2] == 1.5 and math.isclose(r.values["z"].iloc[0], 3.5)


def test_a_nonlinear_row_is_refused():
    m = small()
    m.obj = pyo.Objective(expr=m.x[1])
    m.bad = pyo.Constraint(expr=m.x[1] * m.x[2] <= 1)
    with pytest.raises(ValueError, match="not a linear expression"):
        compile_model(m)


def test_solving_imports_neither_pyomo_nor_scipy_stats():
    """``planner solve`` builds the matrix model: Pyomo (0.26 s) is not imported. And Pyomo imports
    scipy.stats (~0.6 s) along with scipy unless planner.solver has disarmed that first."""
    code = ("import sys; from pathlib import Path; from planner.run import solve_file, Options; "
            "o = solve_file(Path('inputs/example.xlsx'), None, Options(time_limit_s=5)); "
            "print(o.status in ('optimal', 'time_limit_feasible'), 'scipy.sparse' in sys.modules, 'scipy.stats' in sys.modules, "
            "'pyomo.environ' in sys.modules); import pyomo.environ; print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "False", "False", "False"]
