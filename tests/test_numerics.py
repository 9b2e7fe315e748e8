"""Numerics: the plan does not depend on the units chosen, and absurd magnitudes are refused.

The same sourcing problem written in t or kt or g, in USD or USD million, must give the same
plan: the objective scaled by the currency factor, the same purchases (in the new unit).
``planner.numerics`` scales rows, columns and the objective before HiGHS sees them; without
it, the example in grams and USD million lost a third of its costs below HiGHS's tolerances
and the example in USD million did not solve within a minute.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import scipy.sparse as sp

from models import build_model
from models.sourcing import build_matrix
from planner import numerics, solver
from planner.example import example_rows
from planner.reader import rows_to_book
from planner.validate import MAX_PERIODS, check, plan_from_rows

# How each number changes when 1 new quantity unit = q old units and 1 new currency unit = 1/m old ones.
PER_SHEET = {
    "Demand": {"quantity": "1/q", "shortage_penalty": "m*q"},
    "Offers": {"capacity": "1/q", "min_order": "1/q", "unit_cost": "m*q", "contract_cost": "m", "co2e": "q",
               "water": "q", "waste": "q"},
    "Sources": {"capacity": "1/q", "fixed_cost": "m", "build_cost": "m"},
    "Stockpile": {"initial_stock": "1/q", "holding_cost": "m*q", "max_stock": "1/q", "release_cost": "m*q"},
}
PER_SETTING = {"shortage_penalty": "m*q", "carbon_price": "m", "risk_price": "m*q"}


def in_units(rows: dict, q: float, m: float) -> dict:
    """``rows`` rewritten with quantities in a unit worth q old ones and money in a unit worth 1/m."""
    factor = {"1/q": 1 / q, "q": q, "m": m, "m*q": m * q, "1": 1.0}
    rows = copy.deepcopy(rows)
    for sheet, columns in PER_SHEET.items():
        for r in rows.get(sheet, []):
            for c, f in columns.items():
                if isinstance(r.get(c), (int, float)):
                    r[c] = r[c] * factor[f]
    for r in rows.get("Stockpile", []):  # a reserve in periods of demand has no unit
        if r.get("reserve_unit", "quantity") == "quantity" and isinstance(r.get("min_reserve"), (int, float)):
            r["min_reserve"] /= q
    for r in rows.get("Settings", []):
        if r["setting"] in PER_SETTING and isinstance(r.get("value"), (int, float)):
            r["value"] *= factor[PER_SETTING[r["setting"]]]
    for r in rows.get("Policies", []):
        rule, metric = r["rule"], r.get("metric") or "quantity"
        total = rule.endswith("_total")
        if total and isinstance(r.get("limit"), (int, float)):
            r["limit"] *= factor[{"quantity": "1/q", "spend": "m", "risk": "1/q"}.get(metric, "1")]
        if isinstance(r.get("penalty"), (int, float)):  # currency per unit of the rule's violation
            per = ({"quantity": "m*q", "spend": "1", "risk": "m*q"}.get(metric, "m") if total
                   else "m*q" if rule.endswith("_share") else "m")
            r["penalty"] *= factor[per]
    return rows


def solved(rows: dict):
    result = solver.solve(build_model(plan_from_rows(rows)), time_limit_s=120, mip_gap=0, duals=False)
    assert result.status == "optimal", result.status
    return result


UNITS = [(1e3, 1.0), (1.0, 1e-6), (1e3, 1e-6), (1e-6, 1.0), (1e-6, 1e-6), (1e-3, 1e-9)]
IDS = ["kt", "USD million", "kt and USD million", "g", "g and USD million", "kg and USD billion"]


@pytest.mark.parametrize("q,m", UNITS, ids=IDS)
def test_the_small_plan_is_the_same_in_any_units(small_rows, q, m):
    small_rows["Stockpile"] = [
        {"material": "NdPr", "initial_stock": 5, "holding_cost": 3, "min_reserve": 12, "max_stock": 40, "release_cost": 1},
        {"material": "Dy", "initial_stock": 1, "holding_cost": 20, "min_reserve": 0.5, "reserve_unit": "periods"}]
    base, other = solved(small_rows), solved(in_units(small_rows, q, m))
    assert other.objective / m == pytest.approx(base.objective, rel=1e-9)
    assert np.allclose(other.values["Buy"] * q, base.values["Buy"], rtol=1e-9, atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("q,m", [(1e3, 1e-6), (1e-6, 1e-6)], ids=["kt and USD million", "g and USD million"])
def test_the_example_plan_is_the_same_in_any_units(q, m):
    rows = example_rows()
    rows["Stockpile"] = []  # to optimality (gap 0) it takes minutes with them; the small plan covers stock units
    base, other = solved(rows), solved(in_units(rows, q, m))
    assert other.objective / m == pytest.approx(base.objective, rel=1e-9)
    scale = base.values["Buy"].abs().max()
    assert np.allclose(other.values["Buy"] * q, base.values["Buy"], rtol=1e-7, atol=1e-9 * scale)


def test_scaling_brings_every_coefficient_near_one(small_rows):
    extreme = in_units(small_rows, 1e-6, 1e-6)  # grams and USD million: unit costs of 6e-11
    c = solver.compile_model(build_model(plan_from_rows(extreme)))
    s = numerics.scale(c.A, c.cost, c.col_lower, c.col_upper, c.row_lower, c.row_upper, c.integer)
    lo, hi = s.before["cost"]
    assert hi / lo > 1 and lo < 1e-9  # below HiGHS's tolerances as written
    for kind in ("matrix", "cost"):
        lo, hi = s.after[kind]
        assert 1e-3 < lo and hi < 1e3, (kind, s.describe())
    # powers of two: values cross the hand-off exactly
    assert np.all(np.log2(s.col) == np.round(np.log2(s.col))) and math.log2(s.obj).is_integer()
    x = np.arange(1.0, len(s.col) + 1)
    assert np.array_equal(s.from_solver(s.to_solver(x)), x)
    assert not s.wide


def test_the_lp_relaxation_is_scaled_as_the_mip(small_rows):
    """The relaxation is the MIP's scaled model without integrality: integer columns unscaled."""
    model = build_matrix(plan_from_rows(in_units(small_rows, 1e-6, 1e-6)))  # units that need scaling
    mip = solver.solve(model, mip_gap=0, duals=False, load=False)
    lp = solver.solve(model, duals=False, load=False, relax_integrality=True)
    integer = model.form.integer
    assert integer.any() and not np.all(mip.scaling.col == 1)
    assert np.array_equal(lp.scaling.col, mip.scaling.col) and np.array_equal(lp.scaling.row, mip.scaling.row)
    assert lp.scaling.obj == mip.scaling.obj and np.all(lp.scaling.col[integer] == 1)
    assert mip.status == lp.status == "optimal" and lp.objective <= mip.objective * (1 + 1e-9)
    assert np.array_equal(model.form.integer, integer)  # the model keeps its integrality


def test_one_absurd_value_does_not_drag_the_whole_model(small_rows):
    small_rows["Sources"][1]["capacity"] = 4.8e-215
    c = solver.compile_model(build_model(plan_from_rows(small_rows)))
    s = numerics.scale(c.A, c.cost, c.col_lower, c.col_upper, c.row_lower, c.row_upper, c.integer)
    assert s.after["matrix"][1] < 1e6 and s.after["cost"][1] < 1e6
    assert solver.solve(build_model(plan_from_rows(small_rows)), time_limit_s=30).status in ("optimal", "infeasible")


def test_an_unanchored_model_is_left_alone():
    A = sp.csc_matrix(np.array([[1.0, -1.0]]))
    s = numerics.scale(A, np.zeros(2), np.zeros(2), np.full(2, np.inf), np.zeros(1), np.zeros(1), np.zeros(2, bool))
    assert np.allclose(s.col, 1) and np.allclose(s.row, 1)


def random_matrix(rng, m: int, n: int, k: int, values) -> sp.csc_matrix:
    """A CSC matrix with k random entries, duplicates among them, rows in no order within a column."""
    rows, cols = rng.integers(0, m, k), rng.integers(0, n, k)
    order = np.argsort(cols, kind="stable")
    return sp.csc_matrix((rng.choice(values, k)[order], rows[order], np.searchsorted(cols[order], np.arange(n + 1))),
                         shape=(m, n))


def test_the_reduced_solve_is_the_solve_of_the_whole_normal_equations():
    """The column unknowns are eliminated and conjugate gradients run on the rest; the result
    must be that of the whole system, here formed from triplets and solved densely."""
    rng = np.random.default_rng(7)
    m, n, k = 40, 60, 500
    A = random_matrix(rng, m, n, k, [0.0, 1.0, -2.5, 1e-3, 7e4])  # explicit zeros and duplicates among them
    free = rng.random(n) < 0.7
    priced = free & (rng.random(n) < 0.6)
    keep = (A.data != 0) & np.repeat(free, np.diff(A.indptr))
    nv, size = int(free.sum()), m + int(free.sum()) + 1
    v_of = np.full(n, -1)
    v_of[free] = m + np.arange(nv)
    u = np.concatenate([A.indices[keep], np.full(priced.sum(), size - 1)])  # ρ_i with v_j, ω with v_j
    w = np.concatenate([v_of[np.repeat(np.arange(n), np.diff(A.indptr))[keep]], v_of[priced]])
    off = sp.csc_matrix((np.ones(2 * len(u)), (np.concatenate([u, w]), np.concatenate([w, u]))), shape=(size, size))
    P = numerics._pattern(A, keep, np.bincount(np.repeat(np.arange(n), np.diff(A.indptr))[keep], minlength=n)[free],
                          priced[free])
    rho_omega = np.r_[np.arange(m), size - 1]
    assert np.array_equal(P.toarray(), off.toarray()[np.ix_(rho_omega, np.arange(m, m + nv))])
    # every row anchored by 1 to 3 observations of its own, a column by 0 or 1
    diag = np.asarray(off.sum(axis=1)).ravel() + numerics.RIDGE
    diag[rho_omega] += rng.integers(1, 4, m + 1)
    diag[m:m + nv] += rng.integers(0, 2, nv)
    b = rng.standard_normal(size) * 10
    b[diag < 0.5] = 0  # an unknown nothing observes
    z = numerics._conjugate_gradients(P, diag, b)
    expected = np.linalg.solve(np.diag(diag) + off.toarray(), b)
    assert np.allclose(z, expected, rtol=0, atol=1e-9), np.abs(z - expected).max()


def observations(A, cost, col_lower, col_upper, row_lower, row_upper, integer):
    """The least-squares problem of the module docstring written out: one row per observation, over (ρ, v, ω)."""
    m, n = A.shape
    free = ~integer
    v_of = np.full(n, -1)
    v_of[free] = m + np.arange(free.sum())
    size = m + int(free.sum()) + 1
    rows, targets = [], []

    def observe(target, *terms):
        row = np.zeros(size)
        for unknown, sign in terms:
            if unknown >= 0:
                row[unknown] += sign
        rows.append(row)
        targets.append(-np.clip(math.log(abs(target)), -math.log(numerics.CLIP), math.log(numerics.CLIP)))

    coo = A.tocoo()
    for i, j, a in zip(coo.row, coo.col, coo.data):
        if a != 0:
            observe(a, (i, 1), (v_of[j], 1))
    for j in np.flatnonzero(cost):
        observe(cost[j], (size - 1, 1), (v_of[j], 1))
    for i in range(m):
        for bound in {row_lower[i], row_upper[i]}:
            if np.isfinite(bound) and bound != 0:
                observe(bound, (i, 1))
    for j in np.flatnonzero(free):
        for bound in {col_lower[j], col_upper[j]}:
            if np.isfinite(bound) and bound != 0:
                observe(bound, (v_of[j], -1))
    return np.array(rows), np.array(targets)


@pytest.mark.parametrize("m,n,k", [(30, 40, 300), (30, 400, 150)], ids=["dense", "few nonzeros per column"])
def test_the_factors_are_the_least_squares_solution_rounded(m, n, k):
    """scale() assembles the normal equations from the model's numbers; its factors must be those
    of the least-squares problem written out observation by observation and solved densely."""
    rng = np.random.default_rng(m + n + k)
    r, c = 10.0 ** rng.uniform(-5, 5, m), 10.0 ** rng.uniform(-5, 5, n)  # units that scaling should undo

    def near(magnitude):  # within a factor of 10 of it, either sign
        return magnitude * 10.0 ** rng.uniform(-1, 1, np.shape(magnitude)) * rng.choice([-1, 1], np.shape(magnitude))

    A = random_matrix(rng, m, n, k, [1.0])
    A.data = near(r[A.indices] * np.repeat(c, np.diff(A.indptr)))
    A.data[rng.random(k) < 0.05] = 0.0  # explicit zeros count nowhere
    cost = np.where(rng.random(n) < 0.6, np.abs(near(1e3 * c)), 0.0)
    col_lower = np.where(rng.random(n) < 0.8, 0.0, -np.abs(near(1 / c)))
    col_upper = np.where(rng.random(n) < 0.5, np.inf, np.abs(near(1 / c)))
    row_lower = np.where(rng.random(m) < 0.3, -np.inf, np.abs(near(r)))
    row_upper = np.where(rng.random(m) < 0.7, np.inf, row_lower + np.abs(near(r)))
    equal = rng.random(m) < 0.2
    row_upper[equal] = row_lower[equal]  # an equality counts once
    integer = rng.random(n) < 0.2
    s = numerics.scale(A, cost, col_lower, col_upper, row_lower, row_upper, integer)
    X, t = observations(A, cost, col_lower, col_upper, row_lower, row_upper, integer)
    z = np.linalg.solve(X.T @ X + numerics.RIDGE * np.eye(X.shape[1]), X.T @ t) / math.log(2)
    assert np.abs(np.abs(z - np.floor(z)) - 0.5).min() > 1e-6  # no factor halfway between two powers of two
    assert s.after != s.before  # the factors were kept, not refused as worse than none
    assert np.array_equal(np.log2(s.row), np.round(z[:m]))
    assert np.array_equal(np.log2(s.col[~integer]), np.round(z[m:-1])) and np.all(s.col[integer] == 1)
    assert math.log2(s.obj) == np.round(z[-1])
    assert s.before == numerics.ranges(A.data, cost, col_lower, col_upper, row_lower, row_upper)
    assert s.after == numerics.ranges(s.matrix_data(A), s.obj * cost * s.col, col_lower / s.col, col_upper / s.col,
                                      row_lower * s.row, row_upper * s.row)


def test_the_plan_reports_the_coefficient_ranges(tmp_path, small_rows):
    from click.testing import CliRunner

    import openpyxl

    from planner.cli import cli

    from .conftest import write_plain

    path = write_plain(tmp_path / "in.xlsx", in_units(small_rows, 1e-6, 1e-6))
    result = CliRunner().invoke(cli, ["solve", str(path), "-o", str(tmp_path / "plan.xlsx"), "--quiet"])
    assert result.exit_code == 0, result.output
    facts = {r[0]: r[1] for r in openpyxl.load_workbook(tmp_path / "plan.xlsx")["Summary"].iter_rows(
        min_col=1, max_col=2, values_only=True) if r[0]}
    assert facts["coefficient ranges (before → after scaling)"].startswith("matrix ")
    assert "→" in facts["coefficient ranges (before → after scaling)"]


# --------------------------------------------------------------------------- magnitudes refused

def problems(rows):
    return [(p.sheet, p.row, p.column, p.message) for p in check(rows_to_book(rows)).errors]


@pytest.mark.parametrize("sheet,column,value,words", [
    ("Offers", "unit_cost", 1e15, "below 1e15"),
    ("Demand", "quantity", 1e300, "below 1e15"),
    ("Demand", "period", 1e308, "whole-number period"),
    ("Demand", "period", 10 ** 12, "at most 9 digits"),
    ("Sources", "lead_time", 10 ** 10, "at most 9 digits"),
    ("Offers", "first_period", 2 ** 63, "whole-number period"),
])
def test_absurd_magnitudes_are_named(small_rows, sheet, column, value, words):
    small_rows[sheet][0][column] = value
    (found,) = problems(small_rows)
    assert found[:3] == (sheet, 2, column) and words in found[3]


def test_a_horizon_longer_than_supported_names_the_outlying_period(small_rows):
    small_rows["Demand"].append({"material": "NdPr", "period": 2026 + MAX_PERIODS + 5, "quantity": 1})
    (found,) = problems(small_rows)
    assert found[:3] == ("Demand", len(small_rows["Demand"]) + 1, "period") and "at most 1,000" in found[3]


def test_discounting_beyond_what_the_solver_can_compare_is_refused(small_rows):
    small_rows["Settings"] += [{"setting": "discount_rate", "value": 1.0}, {"setting": "base_period", "value": 1100}]
    small_rows["Settings"] = [r for r in small_rows["Settings"] if r["setting"] != "discount_rate" or r["value"] == 1.0]
    found = problems(small_rows)
    assert [(f[0], f[2]) for f in found] == [("Settings", "value")]
    assert found[0][1] is not None and "discount_rate" in found[0][3]
