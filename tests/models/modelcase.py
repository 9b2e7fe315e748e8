"""Small workbooks for the model's known-answer tests, solved end to end.

A case is written like a workbook (rows per sheet, SPEC §2 column keys), checked and built by
``planner.validate.plan_from_rows``; sheets a test does not care about get one-line defaults:
every source in country ``US`` (bloc domestic) unless listed, materials taken from Demand.
"""

from __future__ import annotations

import math

from models import build_model
from planner.solver import SolveResult, solve
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
    """(model, result) of the workbook rows; the result must carry a verified solution."""
    model = build_model(plan_from_rows(rows))
    result = solve(model, **options)
    if result.has_solution:
        assert result.max_violation.amount <= 1e-6, result.max_violation
    return model, result


def optimum(rows: dict[str, list[dict]], **options) -> float:
    model, result = solve_book(rows, **options)
    assert result.status == "optimal", result.message
    return result.objective


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-6)


def bought(result: SolveResult, source: str, material: str, period: int) -> float:
    return float(result.values["Buy"].get((source, material, period), 0.0))
