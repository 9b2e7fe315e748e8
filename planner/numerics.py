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
iterations), a few milliseconds for small models, 0.1–0.2 s for 5·10^5 nonzeros.

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
        return A.data * self.row[A.indices] * np.repeat(self.col, np.diff(A.indptr))

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
    equations of that sum are assembled directly (their matrix counts how often two unknowns
    meet) and solved by :func:`_conjugate_gradients`.
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
    size = omega + 1

    def target(values: np.ndarray) -> np.ndarray:
        return np.clip(-np.log(np.abs(values)), -math.log(CLIP), math.log(CLIP))

    def tally(at: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(at, weights=values, minlength=size)

    diag, b = np.zeros(size), np.zeros(size)  # the normal equations' diagonal (counts) and right-hand side
    pairs: list[tuple[np.ndarray, np.ndarray]] = []  # unknowns that meet in one observation

    def observe(u: np.ndarray, w: np.ndarray, t_: np.ndarray) -> None:
        """Observations u + w = t_; w = -1 marks an integer column (its v_j is 0, the term drops)."""
        both = w >= 0
        diag[:] += tally(u) + tally(w[both])
        b[:] += tally(u, t_) + tally(w[both], t_[both])
        pairs.append((u[both], w[both]))

    # log|a_ij| + ρ_i + v_j = 0  →  ρ_i + v_j = -log|a_ij|
    j = np.repeat(np.arange(n), np.diff(A.indptr))
    nz = A.data != 0
    observe(A.indices[nz], v_of[j[nz]], target(A.data[nz]))
    cj = np.flatnonzero(np.asarray(cost) != 0)  # log|c_j| + ω + v_j = 0
    observe(np.full(len(cj), omega), v_of[cj], target(cost[cj]))
    count = int(nz.sum()) + len(cj)
    for bound in (row_lower, row_upper):  # log|b_i| + ρ_i = 0; an equality row counts once
        i = np.flatnonzero(np.isfinite(bound) & (bound != 0))
        if bound is row_upper:
            i = i[~(np.isfinite(row_lower[i]) & (row_lower[i] == bound[i]))]
        diag += tally(i)
        b += tally(i, target(bound[i]))
        count += len(i)
    for bound in (col_lower, col_upper):  # log|u_j| - v_j = 0, for continuous columns
        jb = np.flatnonzero(free & np.isfinite(bound) & (bound != 0))
        if bound is col_upper:
            jb = jb[~(np.isfinite(col_lower[jb]) & (col_lower[jb] == bound[jb]))]
        diag += tally(v_of[jb])
        b -= tally(v_of[jb], target(bound[jb]))
        count += len(jb)
    if count == 0:
        return identity(m, n)

    u = np.concatenate([p[0] for p in pairs])
    w = np.concatenate([p[1] for p in pairs])
    # symmetric, so the transpose of its CSC form is its CSR form, for the products (no conversion)
    off = type(A)((np.ones(2 * len(u)), (np.concatenate([u, w]), np.concatenate([w, u]))), shape=(size, size)).T
    z = _conjugate_gradients(off, diag + RIDGE, b)
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


def _conjugate_gradients(off, diag: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve (diag(diag) + off) z = b, symmetric positive definite, by conjugate gradients with
    the diagonal as preconditioner (as scipy's ``cg``, stopping at ||r|| < CG_RTOL · ||b||)."""
    z = np.zeros_like(b)
    r = b.copy()
    p = np.zeros_like(b)
    stop = CG_RTOL * math.sqrt(_dot(b, b))
    if stop == 0:  # b = 0: so is z
        return z
    rho_prev = 1.0
    for _ in range(CG_MAXITER):
        if math.sqrt(_dot(r, r)) < stop:
            break
        y = r / diag
        rho = _dot(r, y)
        p *= rho / rho_prev
        p += y
        q = diag * p + off @ p
        alpha = rho / _dot(p, q)
        z += alpha * p
        r -= alpha * q
        rho_prev = rho
    return z


def ranges(matrix, cost, col_lower, col_upper, row_lower, row_upper) -> dict[str, tuple[float, float]]:
    """Smallest and largest nonzero magnitude of the matrix's nonzeros, costs, finite bounds and right-hand sides."""
    def span(values) -> tuple[float, float]:
        v = np.abs(np.asarray(values, dtype=float))
        v = v[np.isfinite(v) & (v > 0)]
        return (float(v.min()), float(v.max())) if len(v) else (0.0, 0.0)

    return {"matrix": span(matrix), "cost": span(cost), "bounds": span(np.concatenate([col_lower, col_upper])),
            "rhs": span(np.concatenate([row_lower, row_upper]))}
