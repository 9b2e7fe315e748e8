"""A linear Pyomo model → the matrix HiGHS receives, in the model's own order.

Pyomo's ``LinearStandardFormCompiler`` walks every expression with its general visitor;
on the benchmark's L instance (472k non-zeros) that took 1.0 s, longer than HiGHS's own
solve of its LP relaxation (0.64 s). The sourcing model's rows are all of one shape
(``models.sourcing._linear``: a ``LinearExpression`` of variables and
``MonomialTermExpression(coefficient, variable)`` terms), which can be read term by term
without a visitor; any other expression (a robust plan's linking rows, a named
expression in an objective) goes through Pyomo's ``generate_standard_repn``, which
handles every linear form. Both give the same coefficients.

Columns are every variable of the active blocks, in declaration order, so that each Var
component's values are one contiguous slice of the solution (``var_slices``); rows are
every active constraint, in declaration order (``row_keys`` says which rows each
constraint component holds). A fixed variable stays a column with both bounds at its
value. Unlike Pyomo's compiler, variables that appear in no row are kept too (HiGHS's
presolve removes them), so every Var has a value after a solve.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyomo.environ as pyo
from pyomo.core.base.expression import ExpressionData
from pyomo.core.base.var import ScalarVar, VarData
from pyomo.core.expr.numeric_expr import (LinearExpression, MonomialTermExpression, NegationExpression,
                                          ProductExpression, SumExpression)
from pyomo.core.expr.relational_expr import EqualityExpression, InequalityExpression
from pyomo.repn.standard_repn import generate_standard_repn

from models.matrix import StandardForm

_NUMBER = {int, float, np.float64}
_VARS = {VarData, ScalarVar}


def compile_model(model: pyo.Block) -> StandardForm:
    """The matrix form of the linear Pyomo model ``model`` (one active objective, minimised or maximised:
    a maximisation is handed over as the minimisation of its negative)."""
    start = time.perf_counter()
    columns: list = []
    var_slices = []
    for var in model.component_objects(pyo.Var, active=True, descend_into=True):
        first = len(columns)
        columns.extend(var.values())
        var_slices.append((var, first, len(columns)))
    at = {id(v): j for j, v in enumerate(columns)}

    indptr, indices, data = [0], [], []
    lower, upper, row_keys = [], [], []
    take_i, take_v, end = indices.append, data.append, indptr.append
    for con in model.component_objects(pyo.Constraint, active=True, descend_into=True):
        keys, first = [], len(lower)
        for key, cd in con.items():
            if not cd.active:
                continue
            lb, body, ub = _sides(cd)
            constant = _linear(body, at, take_i, take_v) if body.__class__ is LinearExpression else \
                _terms(body, at, take_i, take_v)
            end(len(indices))
            lower.append(-math.inf if lb is None else lb - constant)
            upper.append(math.inf if ub is None else ub - constant)
            keys.append(key)
        if keys:
            row_keys.append((con, first, keys))

    n = len(columns)
    import scipy.sparse as sp  # on first use: see planner.solver._spare_scipy_extras

    A = sp.csr_matrix((np.asarray(data, dtype=float), np.asarray(indices, dtype=np.int32),
                       np.asarray(indptr, dtype=np.int64)), shape=(len(lower), n)).tocsc()
    A.sum_duplicates()  # a variable twice in one row (possible in general expressions) becomes one entry
    cost, offset = _objective(model, at, n)
    bounds = np.array([v.bounds for v in columns], dtype=float).reshape(n, 2)  # None (no bound) becomes NaN
    for j, v in enumerate(columns):
        if v.fixed:
            bounds[j] = v.value
    return StandardForm(
        A=A, cost=cost, offset=offset,
        col_lower=np.where(np.isnan(bounds[:, 0]), -math.inf, bounds[:, 0]),
        col_upper=np.where(np.isnan(bounds[:, 1]), math.inf, bounds[:, 1]),
        integer=np.fromiter((v.is_integer() for v in columns), bool, n),
        row_lower=np.asarray(lower, dtype=float), row_upper=np.asarray(upper, dtype=float),
        var_slices=var_slices, row_keys=row_keys,
        seconds=time.perf_counter() - start,
    )


def _sides(cd) -> tuple:
    """(lower, body, upper) of a constraint; read off its expression when it is ``body >= number``,
    ``body <= number`` or ``body == number`` (as the sourcing model writes them), else asked of Pyomo."""
    e = cd.expr
    cls = e.__class__
    if cls is InequalityExpression and not e._strict:
        a, b = e._args_
        if a.__class__ in _NUMBER:
            return a, b, None
        if b.__class__ in _NUMBER:
            return None, a, b
    elif cls is EqualityExpression:
        a, b = e._args_
        if b.__class__ in _NUMBER:
            return b, a, b
    return cd.lb, cd.body, cd.ub


def _linear(expr, at: dict, take_i, take_v, scale: float = 1.0) -> float:
    """A LinearExpression's terms appended (times ``scale``), its constant returned: variables and
    monomials with a number as coefficient are read directly, anything else through :func:`_terms`."""
    constant = 0.0
    for a in expr.args:
        cls = a.__class__
        if cls is MonomialTermExpression:
            c, v = a._args_
            if c.__class__ in _NUMBER:
                take_i(at[id(v)])
                take_v(scale * c)
                continue
        elif cls in _VARS:
            take_i(at[id(a)])
            take_v(scale)
            continue
        constant += _terms(a, at, take_i, take_v, scale)
    return constant


def _terms(expr, at: dict, take_i, take_v, scale: float = 1.0) -> float:
    """The terms of a linear expression appended (times ``scale``), its constant returned. Sums,
    named expressions and products by a number are walked here; anything else goes through Pyomo."""
    cls = expr.__class__
    if cls in _NUMBER:
        return scale * expr
    if cls in _VARS:
        take_i(at[id(expr)])
        take_v(scale)
        return 0.0
    if cls is MonomialTermExpression and expr._args_[0].__class__ in _NUMBER:
        c, v = expr._args_
        take_i(at[id(v)])
        take_v(scale * c)
        return 0.0
    if cls is LinearExpression:
        return _linear(expr, at, take_i, take_v, scale)
    if cls is SumExpression:
        return sum(_terms(a, at, take_i, take_v, scale) for a in expr.args)
    if isinstance(expr, ExpressionData):
        return _terms(expr.expr, at, take_i, take_v, scale)
    if cls is ProductExpression:
        a, b = expr._args_
        if a.__class__ in _NUMBER:
            return _terms(b, at, take_i, take_v, scale * a)
        if b.__class__ in _NUMBER:
            return _terms(a, at, take_i, take_v, scale * b)
    if cls is NegationExpression:
        return _terms(expr._args_[0], at, take_i, take_v, -scale)
    repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
    if not repn.is_linear():
        raise ValueError(f"not a linear expression: {expr}")
    for c, v in zip(repn.linear_coefs, repn.linear_vars):
        take_i(at[id(v)])
        take_v(scale * float(c))
    return scale * float(repn.constant)


def _objective(model: pyo.Block, at: dict, n: int) -> tuple[np.ndarray, float]:
    objectives = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    if len(objectives) != 1:
        raise ValueError(f"the model has {len(objectives)} active objectives; one is needed")
    obj = objectives[0]
    cols, coefs = [], []
    offset = _terms(obj.expr, at, cols.append, coefs.append)
    cost = np.bincount(np.asarray(cols, dtype=np.int64), weights=np.asarray(coefs, dtype=float), minlength=n)
    if obj.sense == pyo.maximize:
        return -cost, -offset
    return cost, offset
