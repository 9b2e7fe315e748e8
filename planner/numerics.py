r"""Scaling the model before HiGHS sees it, so that a plan does not depend on the units chosen.

A workbook may count in t or kt, in USD or USD million; the same plan must come out. HiGHS
scales its LPs internally, but its tolerances are absolute (a purchase of 1e-7 is zero, a
coefficient below 1e-9 is dropped, a MIP is feasible within 1e-6), so in grams and USD
million a unit cost of 6e-11 vanishes, and in t with demands of 1e8 a binary at 1e-6 lets
100 t through. Before the hand-off every row i, every continuous column j and the
objective get a positive factor:

    x_j = s_j · x̃_j        (the solver's column j is x̃_j; integer columns keep s_j = 1)
    row i:     r_i · a_ij · s_j        bounds r_i · b_i
    column j:  bounds l_j / s_j, u_j / s_j
    objective: σ · c_j · s_j           (and σ · offset)

chosen (Curtis and Reid's geometric scaling, extended to bounds and costs) to minimise, in
logarithms,

    Σ_{a_ij ≠ 0} (log|a_ij| + ρ_i + v_j)² + Σ_{c_j ≠ 0} (log|c_j| + ω + v_j)²
      + Σ_{b_i finite ≠ 0} (log|b_i| + ρ_i)² + Σ_{u_j finite ≠ 0} (log|u_j| - v_j)²

with ρ = log r, v = log s, ω = log σ (and v_j = 0 for integer columns): every scaled
coefficient, cost, right-hand side and bound as near 1 as the model allows. A change of
units multiplies the columns of a quantity, the rows counted in it and the costs by
constants; the minimiser moves by exactly those constants, so the solver receives the same
scaled model whatever the units (to rounding), and the plan is the same. The factors come
from one sparse least-squares solve: the normal equations, with the column unknowns
eliminated, by conjugate gradients (15–30 iterations on the benchmark models), a few
milliseconds for small models, about 0.05 s for 5·10^5 nonzeros.

:class:`Scaling` maps values both ways; :func:`ranges` reports coefficient ranges (before
and after) for the plan's provenance, and :data:`WIDE` flags a range that stays extreme.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

# Logarithms of factors stay within ±LOG_CAP (a factor within 1e±20): farther would only
# trade one extreme for another. A value beyond 1e±12 counts as 1e±12 when choosing them,
# so that one absurd cell (a capacity of 1e-215) cannot drag the whole model's scale.
LOG_CAP = math.log(1e20)
CLIP = 1e12
RIDGE = 1e-9  # pulls unanchored parts of the model (nothing fixes their scale) toward no scaling
WIDE = 1e9  # a coefficient range (max / min) beyond this, even after scaling, is worth a warning
# The factors are rounded to powers of two, so the solve needs only enough accuracy to round
# them as the exact solution would: at 1e-10 every factor of the benchmark models (S to XL,
# integer columns fixed or not) rounds as after a 1e-15 solve, and the expected number that
# could round otherwise (twice the summed error, in octaves) is below 0.004 per model.
# A part of a model that nothing anchors (no bound, right-hand side or cost reaches it: only
# RIDGE fixes its level) needs a tighter solve to land on RIDGE's choice, here as before the
# reduction; the benchmark models have none.
CG_RTOL, CG_MAXITER = 1e-10, 2000


@dataclass
class Scaling:
    """Factors of one model: ``col`` (s_j), ``row`` (r_i), ``obj`` (σ); see the module docstring."""

    col: np.ndarray
    row: np.ndarray
    obj: float
    before: dict[str, tuple[float, float]] = field(default_factory=dict)
    after: dict[str, tuple[float, float]] = field(default_factory=dict)
    seconds: float = 0.0

    # model → solver
    def matrix_data(self, A) -> np.ndarray:
        """The nonzeros of the scaled matrix, in the order of ``A`` (a scipy CSC matrix): r_i · a_ij · s_j."""
        out = np.take(self.row, A.indices)  # take: twice as fast as indexing with int32 indices
        out *= A.data
        out *= np.repeat(self.col, np.diff(A.indptr))
        return out

    def to_solver(self, x: np.ndarray) -> np.ndarray:
        """Column values in the solver's units (x̃ = x / s): bounds, starting solutions."""
        return np.asarray(x, dtype=float) / self.col

    # solver → model
    def from_solver(self, x: np.ndarray) -> np.ndarray:
        """Column values in the model's units (x = s · x̃)."""
        return np.asarray(x, dtype=float) * self.col

    def objective(self, value: float) -> float:
        """An objective value or bound in the model's currency."""
        return float(value) / self.obj

    def duals(self, y: np.ndarray) -> np.ndarray:
        """Row duals in the model's units: y_i = r_i · ỹ_i / σ."""
        return np.asarray(y, dtype=float) * self.row / self.obj

    def describe(self) -> str:
        """One line for the plan: the widest ranges before and after scaling."""
        def span(r):
            lo, hi = r
            return f"{lo:.0e}–{hi:.0e}" if hi > 0 else "none"
        parts = [f"{k} {span(self.before[k])} → {span(self.after[k])}" for k in ("matrix", "cost", "bounds", "rhs")
                 if k in self.before]
        return "; ".join(parts)

    @property
    def wide(self) -> list[str]:
        """The kinds of coefficient whose range stays beyond :data:`WIDE` after scaling."""
        return [k for k, (lo, hi) in self.after.items() if lo > 0 and hi / lo > WIDE]


def identity(num_row: int, num_col: int) -> Scaling:
    return Scaling(np.ones(num_col), np.ones(num_row), 1.0)


def scale(A, cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,
          row_lower: np.ndarray, row_upper: np.ndarray, integer: np.ndarray) -> Scaling:
    """Factors for the model ``min cost·x, row_lower <= A x <= row_upper, col_lower <= x <= col_upper``.

    ``A`` is a scipy sparse matrix. Each observation (a nonzero coefficient, cost, bound or
    right-hand side) is one term of the sum of squares in the module docstring, over one or
    two of the unknowns ρ (one per row), v (one per continuous column) and ω; the normal
    equations of that sum (their matrix counts how often two unknowns meet) are assembled
    directly: their diagonal and right-hand side here, their off-diagonal block by
    :func:`_pattern`, and solved by :func:`_conjugate_gradients`.
    """
    t = time.perf_counter()
    if A.format != "csc":
        A = A.tocsc()
    m, n = A.shape
    free = ~np.asarray(integer, dtype=bool)
    nv = int(free.sum())
    omega = m + nv

    def of_free(values: np.ndarray) -> np.ndarray:  # per column → per continuous column, v_j's order
        return values if nv == n else values[free]

    def target(magnitudes: np.ndarray, out=None) -> np.ndarray:  # -log|value|, within ±log CLIP
        logs = np.log(magnitudes, out=out)
        np.negative(logs, out=logs)
        return np.clip(logs, -math.log(CLIP), math.log(CLIP), out=logs)

    # The normal equations: diag counts the observations each unknown is in, b sums their
    # targets, each sum adding its terms one by one in the order of the observations (the
    # order of a bincount over them), so that the factors never depend on how the sums are
    # formed. A zero added changes no sum.
    diag, b = np.zeros(omega + 1), np.zeros(omega + 1)
    # log|a_ij| + ρ_i + v_j = 0  →  ρ_i + v_j = -log|a_ij|: row and column sums over the
    # nonzeros, of ones (the counts), then of the targets. One buffer, as long as A.data with
    # room for a cost per column, holds in turn those ones, |a_ij|, their targets, P's data
    # and the scaled |a_ij|: fresh memory costs page faults, which on a small VM cost more
    # than the arithmetic done in it.
    per_col = np.diff(A.indptr)
    nonzeros = per_col
    work = np.empty(len(A.data) + n)
    nz = A.data != 0
    np.copyto(work[:len(nz)], nz)  # an explicit zero is no observation: it counts nowhere, and its target is 0
    observations = type(A)((work[:len(nz)], A.indices, A.indptr), shape=A.shape)
    w = observations.data  # work's, unless scipy copied it (it copies a view of a much longer array)
    diag[:m] = observations @ np.ones(n)
    np.abs(A.data, out=w)
    matrix_before = _span(w)
    count = len(w)
    if not nz.all():
        w[~nz] = 1.0
        count = int(nz.sum())
        nonzeros = per_col - np.bincount(np.searchsorted(A.indptr, np.flatnonzero(~nz), side="right") - 1,
                                         minlength=n)
    target(w, out=w)
    b[:m] = observations @ np.ones(n)
    diag_v, b_v = diag[m:omega], b[m:omega]  # the v_j's
    diag_v[:] = of_free(nonzeros)
    b_v[:] = of_free(observations.T @ np.ones(m))
    priced = np.asarray(cost) != 0  # log|c_j| + ω + v_j = 0
    logs = target(np.abs(cost[priced]))
    diag[omega] = len(logs)
    b[omega] = np.bincount(np.zeros(len(logs), dtype=np.intp), logs, minlength=1)[0]
    priced_v = of_free(priced)
    diag_v[priced_v] += 1
    b_v[priced_v] += logs if nv == n else logs[free[priced]]
    count += len(logs)
    for bound in (row_lower, row_upper):  # log|b_i| + ρ_i = 0; an equality row counts once
        i = np.flatnonzero(np.isfinite(bound) & (bound != 0))
        if bound is row_upper:
            i = i[~(np.isfinite(row_lower[i]) & (row_lower[i] == bound[i]))]
        diag[i] += 1
        b[i] += target(np.abs(bound[i]))
        count += len(i)
    for bound in (col_lower, col_upper):  # log|u_j| - v_j = 0, for continuous columns
        u = of_free(bound)
        j = np.isfinite(u) & (u != 0)
        if bound is col_upper:
            j &= of_free(col_lower) != u
        diag_v[j] += 1
        b_v[j] -= target(np.abs(u[j]))
        count += int(j.sum())
    if count == 0:
        return identity(m, n)

    P = _pattern(A, nz if nv == n else nz & np.repeat(free, per_col), of_free(nonzeros), priced_v, work)
    z = _conjugate_gradients(P, diag + RIDGE, b)
    # powers of two: scaling and unscaling are then exact in floating point, so that a
    # purchase of 50 comes back as 50, not 49.99999999999999
    z = np.round(np.clip(z, -LOG_CAP, LOG_CAP) / math.log(2))
    row = np.exp2(z[:m])
    col = np.ones(n)
    col[free] = np.exp2(z[m:omega])
    out = Scaling(col, row, float(np.exp2(z[omega])))
    scaled = np.take(row, A.indices, out=w, mode="clip")  # P is done with: r_i · a_ij · s_j, as matrix_data
    scaled *= A.data
    scaled *= np.repeat(col, per_col)
    out.before = _ranges(matrix_before, cost, col_lower, col_upper, row_lower, row_upper)
    out.after = _ranges(_span(np.abs(scaled, out=scaled)), out.obj * cost * col, col_lower / col, col_upper / col,
                        row_lower * row, row_upper * row)
    if _spread(out.after) > _spread(out.before):  # never hand HiGHS a worse model than the user's
        out.col, out.row, out.obj, out.after = np.ones(n), np.ones(m), 1.0, dict(out.before)
    out.seconds = time.perf_counter() - t
    return out


def _spread(r: dict[str, tuple[float, float]]) -> float:
    """How far the matrix and cost magnitudes stray from 1 (the largest |log10|): what HiGHS minds most."""
    return max((abs(math.log10(v)) for k in ("matrix", "cost") for v in r[k] if v > 0), default=0.0)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # not np.dot: OpenBLAS spreads a long dot product over threads that then spin, and on a
    # busy machine with two cores that made this solve 5x slower
    return float(np.einsum("i,i->", a, b))


def _pattern(A, keep: np.ndarray, per_col: np.ndarray, priced: np.ndarray, work: np.ndarray | None = None):
    r"""P, the off-diagonal block of the normal equations: how often ρ_i (or ω) meets v_j.

    The unknowns are bipartite: ρ_i meets v_j once per nonzero a_ij of a continuous column
    (``keep`` marks them in ``A.data``; ``per_col`` counts them per continuous column), ω
    meets v_j once per nonzero cost (``priced``, per continuous column), and ρ and ω never
    meet each other, nor v another v. So the normal equations are

        [ D1  P ] [ρ, ω]   [b1]
        [ Pᵀ D2 ] [ v  ] = [b2]

    with D1, D2 diagonal and P the (m + 1) × nv pattern of A's continuous columns with a
    last row for their costs, returned as a scipy CSC matrix (its ``.T`` is Pᵀ as CSR, the
    same arrays). Building the symmetric matrix from triplets was a large part of the
    scaling time; this is a few passes over A's index data. P's data (ones, or more where
    a coefficient is written twice) goes in ``work`` if it is long enough.
    """
    m = A.shape[0]
    indptr = np.zeros(len(per_col) + 1, dtype=np.int64)
    np.cumsum(per_col + priced, out=indptr[1:])
    indices = np.full(indptr[-1], m, dtype=A.indices.dtype)  # the cost row, last in its column
    of_A = np.ones(len(indices), dtype=bool)
    of_A[indptr[1:][priced] - 1] = False
    indices[of_A] = A.indices if keep.all() else A.indices[keep]
    if work is None or len(work) < len(indices):
        work = np.empty(len(indices))
    data = work[:len(indices)]
    data.fill(1.0)
    P = type(A)((data, indices, indptr), shape=(m + 1, len(per_col)))
    P.sum_duplicates()  # sorted, and a coefficient written twice meets twice
    return P


def _conjugate_gradients(P, diag: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Solve the normal equations (diagonal ``diag``, off-diagonal blocks P and Pᵀ from
    :func:`_pattern`, right-hand side ``b``; unknowns laid out ρ, v, ω) for z.

    v is eliminated: v = D2⁻¹ (b2 − Pᵀ x) for x = (ρ, ω), which leaves the Schur complement

        (D1 − P D2⁻¹ Pᵀ) x = b1 − P D2⁻¹ b2,

    symmetric positive definite (every diagonal carries RIDGE), solved by conjugate gradients
    with D1 as preconditioner, stopping at ||r|| < CG_RTOL · ||b1 − P D2⁻¹ b2||; then v follows.
    Each step applies Pᵀ and P once, as a step on the whole system would, but the whole
    system's spectrum (Jacobi-preconditioned) is symmetric about 1 and CG on it takes about
    twice the steps, on vectors of all m + nv + 1 unknowns (on L, to the same tolerance: 35
    and 65 steps with the integer columns fixed and free, against 18 and 32).
    Keeping (ρ, ω), the fewer unknowns in these models, rather than v took as many steps or
    fewer on the benchmark models. Sums are formed in a fixed order and without BLAS (see
    :func:`_dot`), so the factors are the same on every run. No temporaries but the two
    products: each step is a few passes over memory.
    """
    m = P.shape[0] - 1
    PT = P.T  # the same arrays, read as rows
    d, e = np.append(diag[:m], diag[-1]), diag[m:-1]  # D1 (ρ, ω), D2 (v)
    b_v = b[m:-1]
    r = np.append(b[:m], b[-1])
    r -= P @ (b_v / e)
    x = np.zeros_like(r)
    p = np.zeros_like(r)
    y, q = np.empty_like(r), np.empty_like(r)
    stop = CG_RTOL * math.sqrt(_dot(r, r))
    rho_prev = 1.0
    for _ in range(CG_MAXITER if stop > 0 else 0):  # r = 0: x = 0 solves it
        if math.sqrt(_dot(r, r)) < stop:
            break
        np.divide(r, d, out=y)
        rho = _dot(r, y)
        p *= rho / rho_prev
        p += y
        t = PT @ p
        t /= e
        np.multiply(d, p, out=q)
        q -= P @ t
        alpha = rho / _dot(p, q)
        np.multiply(p, alpha, out=y)
        x += y
        q *= alpha
        r -= q
        rho_prev = rho
    v = b_v - PT @ x
    v /= e
    return np.concatenate([x[:m], v, x[m:]])


def ranges(matrix, cost, col_lower, col_upper, row_lower, row_upper) -> dict[str, tuple[float, float]]:
    """Smallest and largest nonzero magnitude of the matrix's nonzeros, costs, finite bounds and right-hand sides."""
    return _ranges(_span(_magnitudes(matrix)), cost, col_lower, col_upper, row_lower, row_upper)


def _ranges(matrix: tuple[float, float], cost, col_lower, col_upper, row_lower,
            row_upper) -> dict[str, tuple[float, float]]:
    """:func:`ranges`, the matrix's given (its :func:`_span`)."""
    return {"matrix": matrix, "cost": _span(_magnitudes(cost)),
            "bounds": _span(_magnitudes(col_lower), _magnitudes(col_upper)),
            "rhs": _span(_magnitudes(row_lower), _magnitudes(row_upper))}


def _magnitudes(values) -> np.ndarray:
    return np.abs(np.asarray(values, dtype=float))


def _span(*magnitudes: np.ndarray) -> tuple[float, float]:
    """Smallest and largest of the (nonnegative) ``magnitudes`` that are positive and finite; (0, 0) if none is."""
    lo, hi = math.inf, 0.0
    for v in magnitudes:
        low, high = v.min(initial=math.inf), v.max(initial=0.0)
        if not (low > 0 and high < math.inf):  # zeros, infinities or NaN among them: they do not count
            v = v[np.isfinite(v) & (v > 0)]
            low, high = v.min(initial=math.inf), v.max(initial=0.0)
        lo, hi = min(lo, low), max(hi, high)
    return (float(lo), float(hi)) if hi > 0 else (0.0, 0.0)
