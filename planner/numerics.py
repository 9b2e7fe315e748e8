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
from one sparse least-squares solve (conjugate gradients on the normal equations, about 35
iterations), a few milliseconds for small models, under 0.1 s for 5·10^5 nonzeros.

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
CG_RTOL, CG_MAXITER = 1e-12, 2000  # the factors are rounded to powers of two: far tighter than they need


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
    directly, all but their off-diagonal part, which :func:`_meetings` applies without forming
    it, and solved by :func:`_conjugate_gradients`.
    """
    t = time.perf_counter()
    if A.format != "csc":
        A = A.tocsc()
    m, n = A.shape
    free = ~np.asarray(integer, dtype=bool)
    nv = int(free.sum())
    v_of = np.full(n, -1)  # column → its unknown v_j (-1: an integer column, v_j = 0)
    v_of[free] = m + np.arange(nv)
    omega = m + nv

    def target(values: np.ndarray) -> np.ndarray:
        logs = np.log(np.abs(values))
        np.negative(logs, out=logs)
        return np.clip(logs, -math.log(CLIP), math.log(CLIP), out=logs)

    # The normal equations: diag counts the observations each unknown is in, b sums their
    # targets, each sum adding its terms one by one in the order of the observations (the
    # order of a bincount over them), so that the factors never depend on how the sums are
    # formed. A zero added changes no sum.
    diag, b = np.zeros(omega + 1), np.zeros(omega + 1)
    # log|a_ij| + ρ_i + v_j = 0  →  ρ_i + v_j = -log|a_ij|
    per_col = np.diff(A.indptr)
    nonzeros = per_col
    nz = A.data != 0
    if nz.all():
        logs, rows = target(A.data), A.indices
    else:  # an explicit zero is no observation: its target is 0 and it counts nowhere
        logs, rows = target(np.where(nz, A.data, 1.0)), A.indices[nz]
        nonzeros = per_col - np.bincount(np.searchsorted(A.indptr, np.flatnonzero(~nz), side="right") - 1,
                                         minlength=n)
    targets = type(A)((logs, A.indices, A.indptr), shape=A.shape)  # its row and column sums: products with ones
    diag[:m] = np.bincount(rows, minlength=m)
    b[:m] = targets @ np.ones(n)
    diag[m:omega] = nonzeros[free]
    b[m:omega] = (targets.T @ np.ones(m))[free]
    priced = np.asarray(cost) != 0  # log|c_j| + ω + v_j = 0
    logs = target(cost[priced])
    diag[omega] = len(logs)
    b[omega] = np.bincount(np.zeros(len(logs), dtype=np.intp), logs, minlength=1)[0]
    v = v_of[priced]
    diag[v[v >= 0]] += 1
    b[v[v >= 0]] += logs[v >= 0]
    count = len(rows) + len(logs)
    for bound in (row_lower, row_upper):  # log|b_i| + ρ_i = 0; an equality row counts once
        i = np.flatnonzero(np.isfinite(bound) & (bound != 0))
        if bound is row_upper:
            i = i[~(np.isfinite(row_lower[i]) & (row_lower[i] == bound[i]))]
        diag[i] += 1
        b[i] += target(bound[i])
        count += len(i)
    for bound in (col_lower, col_upper):  # log|u_j| - v_j = 0, for continuous columns
        jb = np.flatnonzero(free & np.isfinite(bound) & (bound != 0))
        if bound is col_upper:
            jb = jb[~(np.isfinite(col_lower[jb]) & (col_lower[jb] == bound[jb]))]
        diag[v_of[jb]] += 1
        b[v_of[jb]] -= target(bound[jb])
        count += len(jb)
    if count == 0:
        return identity(m, n)

    meetings = _meetings(A, nz & np.repeat(free, per_col), nonzeros[free], priced[free])
    z = _conjugate_gradients(meetings, diag + RIDGE, b)
    # powers of two: scaling and unscaling are then exact in floating point, so that a
    # purchase of 50 comes back as 50, not 49.99999999999999
    z = np.round(np.clip(z, -LOG_CAP, LOG_CAP) / math.log(2))
    row = np.exp2(z[:m])
    col = np.ones(n)
    col[free] = np.exp2(z[m:omega])
    out = Scaling(col, row, float(np.exp2(z[omega])))
    out.before = ranges(A.data, cost, col_lower, col_upper, row_lower, row_upper)
    out.after = ranges(out.matrix_data(A), out.obj * cost * col, col_lower / col, col_upper / col, row_lower * row,
                       row_upper * row)
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


def _meetings(A, keep: np.ndarray, per_col: np.ndarray, priced: np.ndarray):
    r"""The off-diagonal part of the normal equations, as ``add(p, q)``: q += off · p.

    off counts how often two unknowns meet in one observation: ρ_i and v_j once per nonzero
    a_ij of a continuous column (``keep`` marks them in ``A.data``; ``per_col`` counts them
    per continuous column), ω and v_j once per nonzero cost (``priced``, per continuous
    column). The symmetric (m + nv + 1)² matrix is never built (from triplets, that was a
    large part of the scaling time): with the unknowns laid out (ρ, v, ω) and P the
    (m + 1) × nv pattern of A's continuous columns with a last row for their costs,

        off · p = (P p_v  to ρ and ω,   Pᵀ (p_ρ, p_ω)  to v)

    and P, CSC, read as rows is Pᵀ: half the index data, and the products are faster too.
    Each sum adds its terms in increasing order of the unknowns, as a product with the
    symmetric matrix would, so the factors are the same to the bit.
    """
    m = A.shape[0]
    indptr = np.zeros(len(per_col) + 1, dtype=np.int64)
    np.cumsum(per_col + priced, out=indptr[1:])
    indices = np.full(indptr[-1], m, dtype=A.indices.dtype)  # the cost row, last in its column
    of_A = np.ones(len(indices), dtype=bool)
    of_A[indptr[1:][priced] - 1] = False
    indices[of_A] = A.indices if keep.all() else A.indices[keep]
    P = type(A)((np.ones(len(indices)), indices, indptr), shape=(m + 1, len(per_col)))
    P.sum_duplicates()  # sorted, and a coefficient written twice meets twice, as in off
    PT = P.T  # the same arrays, read as rows
    rho_omega = np.empty(m + 1)

    def add(p: np.ndarray, q: np.ndarray) -> None:
        to_rho_omega = P @ p[m:-1]
        rho_omega[:m] = p[:m]
        rho_omega[m] = p[-1]
        q[m:-1] += PT @ rho_omega
        q[:m] += to_rho_omega[:m]
        q[-1] += to_rho_omega[m]

    return add


def _conjugate_gradients(add_off, diag: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve (diag(diag) + off) z = b, symmetric positive definite, by conjugate gradients with
    the diagonal as preconditioner (as scipy's ``cg``, stopping at ||r|| < CG_RTOL · ||b||);
    ``add_off(p, q)`` adds off · p to q. No temporaries: each step is a few passes over memory."""
    z = np.zeros_like(b)
    r = b.copy()
    p = np.zeros_like(b)
    y, q = np.empty_like(b), np.empty_like(b)
    stop = CG_RTOL * math.sqrt(_dot(b, b))
    if stop == 0:  # b = 0: so is z
        return z
    rho_prev = 1.0
    for _ in range(CG_MAXITER):
        if math.sqrt(_dot(r, r)) < stop:
            break
        np.divide(r, diag, out=y)
        rho = _dot(r, y)
        p *= rho / rho_prev
        p += y
        np.multiply(diag, p, out=q)
        add_off(p, q)
        alpha = rho / _dot(p, q)
        np.multiply(p, alpha, out=y)
        z += y
        q *= alpha
        r -= q
        rho_prev = rho
    return z


def ranges(matrix, cost, col_lower, col_upper, row_lower, row_upper) -> dict[str, tuple[float, float]]:
    """Smallest and largest nonzero magnitude of the matrix's nonzeros, costs, finite bounds and right-hand sides."""
    def span(values) -> tuple[float, float]:
        v = np.abs(np.asarray(values, dtype=float))
        lo, hi = v.min(initial=math.inf), v.max(initial=0.0)
        if not (lo > 0 and hi < math.inf):  # zeros, infinities or NaN among them: they do not count
            v = v[np.isfinite(v) & (v > 0)]
            lo, hi = v.min(initial=math.inf), v.max(initial=0.0)
        return (float(lo), float(hi)) if hi > 0 else (0.0, 0.0)

    return {"matrix": span(matrix), "cost": span(cost), "bounds": span(np.concatenate([col_lower, col_upper])),
            "rhs": span(np.concatenate([row_lower, row_upper]))}
