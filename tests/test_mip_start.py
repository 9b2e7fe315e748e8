"""The start every MIP gets: its LP relaxation rounded up, repaired where rounding up breaks a row of
integer columns alone (planner.solver.relaxation_start, integer_rows, repaired)."""

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks import generate
from models.sourcing import build_matrix
from planner import solver
from planner.validate import plan_from_rows

INF = np.inf


def test_repaired_lowers_the_least_used_columns_of_each_row_rounding_up_broke():
    """Columns: sources s1..s4, a contract u of s3, builds b1 b2 of one candidate.
    Rows: s1+s2+s3+s4 <= 2 (max_sources), u - s3 <= 0 (a contract needs its source), b1+b2 <= 1
    (build once), and s1+s2+s3+s4 >= 3, which no lowering can mend.

    The relaxation x = [1, .5, .3, .2 | .3 | .6, .4] rounds up to all ones: 4 sources for 2, 2 builds
    for 1. The sources' row lowers s4 (.2) then s3 (.3); then u - s3 = 1 breaks and u is lowered;
    the builds' row lowers b2 (.4). The row >= 3 stays broken (the start is then infeasible, as the
    rounded-up one was)."""
    A = sp.csr_matrix(np.array([
        [1, 1, 1, 1, 0, 0, 0],
        [0, 0, -1, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 1],
    ], dtype=float))
    x = np.array([1, .5, .3, .2, .3, .6, .4])
    start = np.ones(7)
    lower = np.zeros(7)
    out = solver.repaired(start, x, lower, A, np.full(3, -INF), np.array([2.0, 0.0, 1.0]))
    assert out.tolist() == [1, 1, 0, 0, 0, 1, 0]
    assert start.tolist() == [1] * 7  # (the caller's array is left as it was)

    covering = sp.vstack([A, sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0, 0]], dtype=float))]).tocsr()
    out = solver.repaired(start, x, lower, covering, np.array([-INF, -INF, -INF, 3.0]),
                          np.array([2.0, 0.0, 1.0, INF]))
    assert out.tolist() == [1, 1, 0, 0, 0, 1, 0]


def test_a_row_broken_below_its_lower_bound_lowers_its_negative_columns():
    """The contract row written the other way: s3 - u >= 0. Rounded up, u = 1 with s3 lowered to 0
    by its own row s3 <= 0: the row reads -1 < 0, and u (coefficient -1) is lowered."""
    A = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, -1.0]]))
    out = solver.repaired(np.ones(2), np.array([.5, .5]), np.zeros(2), A, np.array([-INF, 0.0]),
                          np.array([0.0, INF]))
    assert out.tolist() == [0, 0]


def test_integer_rows_are_the_rows_on_integer_columns_alone():
    """Columns: Buy (continuous), Use, SourceUse (integer). Rows: Buy - 40 Use <= 0 (mixed),
    Use - SourceUse <= 0 and SourceUse <= 1 (integer alone), Buy >= 5 (continuous alone)."""
    A = sp.csc_matrix(np.array([
        [1.0, -40.0, 0.0],
        [0.0, 1.0, -1.0],
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0],
    ]))
    sub, lo, hi = solver.integer_rows(A, np.array([False, True, True]), np.array([-INF, -INF, -INF, 5.0]),
                                      np.array([0.0, 0.0, 1.0, INF]))
    assert sub.toarray().tolist() == [[1.0, -1.0], [0.0, 1.0]]
    assert lo.tolist() == [-INF, -INF] and hi.tolist() == [0.0, 1.0]


def test_on_the_benchmark_s_instance_the_repaired_start_is_feasible_and_the_optimum_unchanged():
    """On the benchmark's S instance, rounding the relaxation up breaks rows of integer columns alone
    (max_sources, build once), so HiGHS found the start infeasible; repaired, the start meets them,
    the LP of the other columns is feasible, and the MIP reaches the optimum it reaches without a
    start (22,512,665.36, the benchmark reference's too: tests/test_benchmark_reference.py)."""
    model = build_matrix(plan_from_rows(generate.instance("S")))
    c = solver.compile_model(model)
    h = solver._highs(c, None, 0.0, None)
    ints = np.flatnonzero(c.integer)
    at = solver._position(c)[ints].astype(np.int32)
    started = solver._rounded_relaxation(h, c, None)
    assert started.returned and not started.proven  # (gap 0: the MIP must run)
    start = np.round(np.asarray(h.getSolution().col_value)[at])  # (HiGHS hands fixed columns back within 1e-16)
    A, lo, hi = solver.integer_rows(c.A, c.integer, c.row_lower, c.row_upper)
    relaxed = solver.solve(model, relax_integrality=True, duals=False, load=False).values
    x = np.concatenate([relaxed[var.name].to_numpy() for var, first, end in c.var_slices
                        if c.integer[first:end].any()])
    up = np.ceil(x - solver.ROUNDING_TOLERANCE)

    def broken(s):
        act = A @ s
        return int(((act > hi + 1e-9) | (act < lo - 1e-9)).sum())
    assert broken(up) > 0 and broken(start) == 0
    assert (start <= up).all()

    fixed = solver._highs(solver.compile_model(model), None, 0.0, None)
    fixed.changeColsBounds(len(at), at, start, start)
    fixed.changeColsIntegrality(len(at), at, np.zeros(len(at), dtype=np.uint8))
    fixed.run()
    assert fixed.getModelStatus() == solver._MS.kOptimal

    for warm in (True, False):
        r = solver.solve(model, mip_gap=0, duals=False, load=False, warm_start=warm)
        assert r.status == "optimal" and r.objective == pytest.approx(22_512_665.36, abs=0.01)
