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
from one sparse least-squares solve (conjugate gradients on the normal equations), a few
milliseconds for small models and well under a second for 10^6 nonzeros.

:class:`Scaling` maps values both ways; :func:`ranges` reports coefficient ranges (before
and after) for the plan's provenance, and :data:`WIDE` flags a range that stays extreme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, cg

# Logarithms of factors stay within ±LOG_CAP (a factor within 1e±20): farther would only
# trade one extreme for another. A value beyond 1e±12 counts as 1e±12 when choosing them,
# so that one absurd cell (a capacity of 1e-215) cannot drag the whole model's scale.
LOG_CAP = math.log(1e20)
CLIP = 1e12
RIDGE = 1e-9  # pulls unanchored parts of the model (nothing fixes their scale) toward no scaling
WIDE = 1e9  # a coefficient range (max / min) beyond this, even after scaling, is worth a warning


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
    def matrix_data(self, A: sp.csc_matrix) -> np.ndarray:
        """The nonzeros of the scaled matrix, in ``A``'s (CSC) order: r_i · a_ij · s_j."""
        return A.data * self.row[A.indices] * np.repeat(self.col, np.diff(A.indptr))

    def matrix(self, A: sp.csc_matrix) -> sp.csc_matrix:
        return sp.csc_matrix((self.matrix_data(A), A.indices, A.indptr), shape=A.shape)

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


def scale(A: sp.csc_matrix, cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,
          row_lower: np.ndarray, row_upper: np.ndarray, integer: np.ndarray) -> Scaling:
    """Factors for the model ``min cost·x, row_lower <= A x <= row_upper, col_lower <= x <= col_upper``."""
    import time

    t = time.perf_counter()
    A = sp.csc_matrix(A)
    m, n = A.shape
    free = ~np.asarray(integer, dtype=bool)
    # unknowns: ρ (m rows), v (continuous columns only), ω (one)
    vcol = np.full(n, -1)
    vcol[free] = np.arange(int(free.sum()))
    nv = int(free.sum())
    n_unknown = m + nv + 1
    omega = m + nv

    eq_rows, eq_cols, targets = [], [], []  # observation k: Σ (unknowns in it) = target_k, coefficients ±1
    signs = []
    k = 0

    def observe(unknowns: list[np.ndarray], sgn: list[float], target: np.ndarray) -> None:
        nonlocal k
        count = len(target)
        if not count:
            return
        obs = np.arange(k, k + count)
        for u, s_ in zip(unknowns, sgn):
            keep = u >= 0
            eq_rows.append(obs[keep])
            eq_cols.append(u[keep])
            signs.append(np.full(int(keep.sum()), s_))
        targets.append(target)
        k += count

    coo = A.tocoo()
    nz = coo.data != 0
    i, j, a = coo.row[nz], coo.col[nz], np.abs(coo.data[nz])
    # log|a| + ρ_i + v_j = 0  →  ρ_i + v_j = -log|a|
    observe([i, np.where(free[j], m + vcol[j], -1)], [1.0, 1.0], -np.log(a))
    cj = np.flatnonzero(np.asarray(cost) != 0)
    observe([np.where(free[cj], m + vcol[cj], -1), np.full(len(cj), omega)], [1.0, 1.0], -np.log(np.abs(cost[cj])))
    for bound in (row_lower, row_upper):
        bi = np.flatnonzero(np.isfinite(bound) & (bound != 0))
        if bound is row_upper:  # an equality row counts once
            bi = bi[~(np.isfinite(row_lower[bi]) & (row_lower[bi] == bound[bi]))]
        observe([bi], [1.0], -np.log(np.abs(bound[bi])))
    for bound in (col_lower, col_upper):
        bj = np.flatnonzero(free & np.isfinite(bound) & (bound != 0))
        if bound is col_upper:
            bj = bj[~(np.isfinite(col_lower[bj]) & (col_lower[bj] == bound[bj]))]
        observe([m + vcol[bj]], [-1.0], -np.log(np.abs(bound[bj])))

    if k == 0:
        return identity(m, n)
    rhs = np.concatenate(targets)
    # Integer columns are constants (v_j = 0): their terms keep only ρ_i or ω, as built above.
    M = sp.csr_matrix((np.concatenate(signs), (np.concatenate(eq_rows), np.concatenate(eq_cols))), shape=(k, n_unknown))
    z = _least_squares(M, np.clip(rhs, -math.log(CLIP), math.log(CLIP)))
    # powers of two: scaling and unscaling are then exact in floating point, so that a
    # purchase of 50 comes back as 50, not 49.99999999999999
    z = np.round(np.clip(z, -LOG_CAP, LOG_CAP) / math.log(2))
    row = np.exp2(z[:m])
    col = np.ones(n)
    col[free] = np.exp2(z[m:m + nv])
    out = Scaling(col, row, float(np.exp2(z[omega])))
    out.before = ranges(A, cost, col_lower, col_upper, row_lower, row_upper)
    out.after = ranges(out.matrix(A), out.obj * cost * col, col_lower / col, col_upper / col, row_lower * row,
                       row_upper * row)
    if _spread(out.after) > _spread(out.before):  # never hand HiGHS a worse model than the user's
        out.col, out.row, out.obj, out.after = np.ones(n), np.ones(m), 1.0, dict(out.before)
    out.seconds = time.perf_counter() - t
    return out


def _spread(r: dict[str, tuple[float, float]]) -> float:
    """How far the matrix and cost magnitudes stray from 1 (the largest |log10|): what HiGHS minds most."""
    return max((abs(math.log10(v)) for k in ("matrix", "cost") for v in r[k] if v > 0), default=0.0)


def _least_squares(M: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    """argmin ||M z - rhs||² + RIDGE ||z||², by conjugate gradients on the normal equations."""
    MT = M.T.tocsr()
    N = (MT @ M).tocsr()
    N = N + RIDGE * sp.identity(N.shape[0], format="csr")
    b = MT @ rhs
    d = N.diagonal()
    pre = LinearOperator(N.shape, matvec=lambda v: v / d)
    z, info = cg(N, b, rtol=1e-12, atol=0.0, maxiter=2000, M=pre)
    return z


def ranges(A, cost, col_lower, col_upper, row_lower, row_upper) -> dict[str, tuple[float, float]]:
    """Smallest and largest nonzero magnitude of the matrix, costs, finite bounds and right-hand sides."""
    def span(values) -> tuple[float, float]:
        v = np.abs(np.asarray(values, dtype=float))
        v = v[np.isfinite(v) & (v > 0)]
        return (float(v.min()), float(v.max())) if len(v) else (0.0, 0.0)

    data = A.data if sp.issparse(A) else np.asarray(A)
    return {"matrix": span(data), "cost": span(cost), "bounds": span(np.concatenate([col_lower, col_upper])),
            "rhs": span(np.concatenate([row_lower, row_upper]))}
