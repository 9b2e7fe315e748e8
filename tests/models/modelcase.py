"""Small workbooks for the model's known-answer tests, solved end to end.

A case is written like a workbook (rows per sheet, SPEC §2 column keys), checked and built by
``planner.validate.plan_from_rows``; sheets a test does not care about get one-line defaults:
every source in country ``US`` (bloc domestic) unless listed, materials taken from Demand.
"""

from __future__ import annotations

import math

import numpy as np

from models import build_model
from models.sourcing import build_matrix
from planner.solver import SolveResult, solve
from planner.standard_form import compile_model
from planner.validate import plan_from_rows

COUNTRIES = [
    {"country": "US", "bloc": "domestic"},
    {"country": "JP", "bloc": "ally"},
    {"country": "CN", "bloc": "FEOC"},
]


def book(offers, demand, sources=None, countries=None, policies=(), settings=None, stockpile=()) -> dict[str, list[dict]]:
    countries = countries or COUNTRIES
    if sources is None:
        sources = [{"source": s, "country": "US"} for s in dict.fromkeys(o["source"] for o in offers)]
    materials = dict.fromkeys([d["material"] for d in demand] + [o["material"] for o in offers])
    return {
        "Settings": [{"setting": k, "value": v} for k, v in (settings or {}).items()],
        "Materials": [{"material": m} for m in materials],
        "Countries": list(countries),
        "Sources": list(sources),
        "Offers": list(offers),
        "Demand": list(demand),
        "Policies": list(policies),
        "Stockpile": list(stockpile),
    }


def solve_book(rows: dict[str, list[dict]], **options):
    """(model, result) of the workbook rows; the result must carry a verified solution.

    Solved as ``planner solve`` does, from the matrix model (models.matrix), after checking that
    it is the Pyomo model's matrix; the values are then loaded into the Pyomo model, which is
    returned (tests look at its components)."""
    data = plan_from_rows(rows)
    model, matrix = build_model(data), build_matrix(data)
    compiled = assert_same_form(matrix, model)
    result = solve(matrix, **options)
    if result.has_solution:
        assert result.max_violation.amount <= 1e-6, result.max_violation
        for v, x in zip(compiled.variables(), matrix.solution.tolist()):
            v.set_value(x, skip_validation=True)
    return model, result


def assert_same_form(matrix, model):
    """The matrix model's form is the Pyomo model's, compiled: same columns, rows, coefficients and bounds, in order."""
    a, b = matrix.form, compile_model(model)
    assert [(v.name, first, end) for v, first, end in a.var_slices] == [(v.name, first, end) for v, first, end in b.var_slices]
    assert [list(v.keys()) for v, *_ in a.var_slices] == [list(v.keys()) for v, *_ in b.var_slices]
    assert [(c.name, first, keys) for c, first, keys in a.row_keys] == [(c.name, first, keys) for c, first, keys in b.row_keys]
    assert a.A.shape == b.A.shape and (a.A != b.A).nnz == 0
    for f in ("cost", "col_lower", "col_upper", "integer", "row_lower", "row_upper"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.offset == b.offset
    return b


def optimum(rows: dict[str, list[dict]], **options) -> float:
    model, result = solve_book(rows, **options)
    assert result.status == "optimal", result.message
    return result.objective


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


def bought(result: SolveResult, source: str, material: str, period: int) -> float:
    return float(result.values["Buy"].get((source, material, period), 0.0))
