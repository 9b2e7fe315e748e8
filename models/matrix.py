r"""The sourcing model as a matrix: the same formulation, recorded instead of declared in Pyomo.

:func:`models.sourcing.build_model` declares the model on a Pyomo block; its constraint
families write each row as ``_linear(coefficients, variables) >= rhs``. On a
:class:`MatrixModel` (:func:`models.sourcing.build_matrix`) the very same families run, but
a variable is a column number (:class:`Columns`), ``_linear`` gives a :class:`Row` (plain
lists) and each constraint family appends its rows to one sparse matrix. No Pyomo object
is created: on the benchmark's L instance this builds the matrix HiGHS receives in a
fraction of the time Pyomo takes to declare the model and then compile it
(benchmarks/README.md). ``tests/models/test_matrix.py`` checks that both give the same
matrix, row for row and column for column.

:class:`StandardForm` is the matrix form both produce (``planner.standard_form`` compiles a
Pyomo model to it): minimise cost · x + offset subject to row_lower <= A x <= row_upper and
col_lower <= x <= col_upper, with integrality per column. Its ``var_slices`` and
``row_keys`` say which component and index each column and row stands for.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class StandardForm:
    """Minimise cost · x + offset subject to row_lower <= A x <= row_upper, col_lower <= x <= col_upper."""

    A: object  # scipy.sparse.csc_matrix
    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    var_slices: list  # (Var component or Columns, first column, end), in column order
    row_keys: list  # (Constraint component or RowBlock, first row, the indices of its rows in row order)
    seconds: float = 0.0
    scaling: object = None  # planner.numerics.Scaling, set when first handed to HiGHS
    order: np.ndarray | None = None  # the columns in the order HiGHS gets them (planner.solver), set with scaling
    _row_firsts: list = field(default_factory=list, repr=False)
    _col_firsts: list = field(default_factory=list, repr=False)

    @property
    def num_col(self) -> int:
        return len(self.cost)

    @property
    def num_row(self) -> int:
        return len(self.row_lower)

    def row_at(self, i: int) -> tuple:
        """(component, index) of row ``i``."""
        if not self._row_firsts:
            self._row_firsts = [first for _, first, _ in self.row_keys]
        con, first, keys = self.row_keys[bisect.bisect_right(self._row_firsts, i) - 1]
        return con, keys[i - first]

    def col_at(self, j: int) -> tuple:
        """(component, index) of column ``j``."""
        if not self._col_firsts:
            self._col_firsts = [first for _, first, _ in self.var_slices]
        var, first, _ = self.var_slices[bisect.bisect_right(self._col_firsts, j) - 1]
        keys = var.keys() if isinstance(var, Columns) else list(var.keys())
        return var, keys[j - first]

    def variables(self):
        """Each column's variable (a Pyomo model's VarData, or a MatrixModel's column number), in column order."""
        for var, _, _ in self.var_slices:
            yield from var.values()

    def row_name(self, i: int) -> str:
        return _label(*self.row_at(i))

    def col_name(self, j: int) -> str:
        return _label(*self.col_at(j))


def _label(component, key) -> str:
    """A row's or column's name as Pyomo writes it, e.g. ``demand_met[NdPr,2027]``."""
    if isinstance(component, (Columns, RowBlock)):
        return component.label(key)
    return component[key].name


def label(name: str, key) -> str:
    if key is None:
        return name
    parts = key if isinstance(key, tuple) else (key,)
    return f"{name}[{','.join(str(p) for p in parts)}]"


class Keys(Sequence):
    """Keys made when first read: ``make()`` gives them as a list, of the length given now.

    The rows and columns of a :class:`MatrixModel` are named by keys that only diagnostics and
    reports read (a row's name, the index of a variable's values); HiGHS needs none of them, so
    they are made after it has started (or never). The model's policy instances are kept the same
    way (models.sourcing: the rows are built from their arrays). Equal to any sequence of the same
    keys. ``one(i)``, when given, makes the i-th key alone: one key read (a violated row named
    in a plan) then does not make them all (on L, 0.1 ms rather than 13 ms for offer_capacity's)."""

    __slots__ = ("_n", "_make", "_one", "_list")

    def __init__(self, n: int, make, one=None):
        self._n, self._make, self._one, self._list = int(n), make, one, None

    def _keys(self) -> list:
        if self._list is None:
            self._list = self._make()
            self._make = self._one = None
            if len(self._list) != self._n:
                raise ValueError(f"{len(self._list)} keys made where {self._n} were announced")
        return self._list

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if self._list is None and self._one is not None and isinstance(i, int):
            if not -self._n <= i < self._n:
                raise IndexError(f"key {i} of {self._n}")
            return self._one(i % self._n)
        return self._keys()[i]

    def __iter__(self):
        return iter(self._keys())

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(other) == self._n and self._keys() == list(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"Keys({self._keys()!r})"


class Columns:
    """One variable family: its keys, in order, and their column numbers ``first, first + 1, …``.

    Used where the Pyomo model has a Var: ``Buy[k]`` is a column number, ``k in Buy``, ``len``,
    ``keys()`` and ``values()`` (the column numbers, in key order). ``arrays``, when given, are
    the keys' fields as arrays (the i-th array holds every key's i-th element): the solution's
    index is then built from them, several times faster than from the tuples."""

    def __init__(self, name: str, keys: Sequence, first: int, arrays: list | None = None):
        self.name, self._keys, self.first, self.arrays = name, keys, first, arrays
        self._at: dict | None = None

    def _index(self) -> dict:
        if self._at is None:
            self._at = dict(zip(self._keys, range(self.first, self.first + len(self._keys))))
        return self._at

    def __getitem__(self, key) -> int:
        return self._index()[key]

    def __contains__(self, key) -> bool:
        return key in self._index()

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def keys(self) -> Sequence:
        return self._keys

    def values(self) -> range:
        return range(self.first, self.first + len(self._keys))

    def label(self, key) -> str:
        return label(self.name, key)


class RowBlock:
    """The name of one constraint family's rows (what a Pyomo Constraint component is to a compiled model)."""

    def __init__(self, name: str):
        self.name = name

    def label(self, key) -> str:
        return label(self.name, key)


class Row:
    """Σ coefs · columns + constant; compared with a number it becomes (row, lower, upper)."""

    __slots__ = ("coefs", "cols", "constant")
    __hash__ = None

    def __init__(self, coefs: list, cols: list, constant: float = 0.0):
        self.coefs, self.cols, self.constant = coefs, cols, constant

    def __le__(self, rhs):
        return self, -math.inf, float(rhs) - self.constant

    def __ge__(self, rhs):
        return self, float(rhs) - self.constant, math.inf

    def __eq__(self, rhs):
        rhs = float(rhs) - self.constant
        return self, rhs, rhs


class MatrixModel:
    """A model under construction as a matrix; :meth:`finish` gives its :class:`StandardForm`.

    ``tables`` and ``plan`` are set by models.sourcing as on a Pyomo model; after a solve,
    ``solution`` holds the value of every column (what loading values into Pyomo variables is
    to a Pyomo model)."""

    def __init__(self, name: str = ""):
        self.name = name
        self.var_slices: list = []
        self.num_col = 0
        self._lower: list[np.ndarray] = []
        self._upper: list[np.ndarray] = []
        self._integer: list[np.ndarray] = []
        # the rows, one piece per block (a constraint family, or part of one): the terms' columns and
        # coefficients, each row's number of terms, its bounds; joined once, in finish
        self._cols: list[np.ndarray] = []
        self._coefs: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._row_lower: list[np.ndarray] = []
        self._row_upper: list[np.ndarray] = []
        self.num_row = 0
        self.row_keys: list = []
        self.solution: np.ndarray | None = None
        self.form: StandardForm | None = None

    def add_columns(self, name: str, keys: list, lower=0.0, upper=math.inf, integer: bool = False,
                    arrays: list | None = None) -> Columns:
        """Columns for ``keys`` (a list, or :class:`Keys`) with bounds (a number or one per key; NaN or
        None: unbounded); ``arrays``: the keys' fields as arrays (see :class:`Columns`)."""
        cols = Columns(name, keys if isinstance(keys, Keys) else list(keys), self.num_col, arrays)
        n = len(cols)
        lo = np.broadcast_to(np.asarray(lower if lower is not None else -math.inf, dtype=float), (n,))
        hi = np.broadcast_to(np.asarray(upper if upper is not None else math.inf, dtype=float), (n,))
        self._lower.append(np.where(np.isnan(lo), -math.inf, lo))
        self._upper.append(np.where(np.isnan(hi), math.inf, hi))
        self._integer.append(np.full(n, bool(integer)))
        self.var_slices.append((cols, self.num_col, self.num_col + n))
        self.num_col += n
        return cols

    def add_rows(self, name: str, index: list, rows: dict) -> None:
        """The rows of one constraint family: ``rows[key]`` is (Row, lower, upper) for each key of ``index``."""
        cols, coefs, lengths, lower, upper = [], [], [], [], []
        take_i, take_v, length, low, up = cols.extend, coefs.extend, lengths.append, lower.append, upper.append
        for key in index:
            row, lo, hi = rows[key]
            take_i(row.cols)
            take_v(row.coefs)
            length(len(row.cols))
            low(lo)
            up(hi)
        self._block(name, index, np.array(cols, dtype=np.int64), np.array(coefs, dtype=float),
                    np.array(lengths, dtype=np.int64), lower, upper)

    def add_row_block(self, name: str, index: list, cols: np.ndarray, coefs: np.ndarray, lower, upper) -> None:
        """Rows with the same number of terms at once: row r is Σ_k coefs[r, k] · x[cols[r, k]], with
        bounds ``lower`` and ``upper`` (numbers or one per row); no coefficient may be 0."""
        n, k = cols.shape
        self._block(name, index, cols.ravel(), coefs.ravel(), np.full(n, k, dtype=np.int64), lower, upper)

    def add_csr_rows(self, name: str, index: list, indptr: np.ndarray, cols: np.ndarray, coefs: np.ndarray,
                     lower, upper) -> None:
        """Rows of any lengths at once, as the pieces of a CSR matrix: row r is Σ coefs[j] · x[cols[j]]
        over j in indptr[r] … indptr[r + 1] - 1 (indptr[0] = 0), with bounds ``lower`` and ``upper``
        (numbers or one per row); no coefficient may be 0."""
        self._block(name, index, cols, coefs, np.diff(np.asarray(indptr, dtype=np.int64)), lower, upper)

    def _block(self, name: str, index: list, cols, coefs, lengths: np.ndarray, lower, upper) -> None:
        n = len(index)
        if not n:
            return
        self._cols.append(np.asarray(cols, dtype=np.int64))
        self._coefs.append(np.asarray(coefs, dtype=float))
        self._lengths.append(lengths)
        self._row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)))
        self._row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)))
        self.row_keys.append((RowBlock(name), self.num_row, index if isinstance(index, Keys) else list(index)))
        self.num_row += n

    def finish(self, cost: np.ndarray, offset: float = 0.0) -> StandardForm:
        import scipy.sparse as sp  # on first use: see planner.solver._spare_scipy_extras

        n = self.num_col
        # joined straight into the dtype wanted (concatenate, then astype, copied every piece twice)
        cat = lambda parts, dtype: np.concatenate(parts, dtype=dtype) if parts else np.zeros(0, dtype)  # noqa: E731
        indptr = np.zeros(self.num_row + 1, dtype=np.int64)
        np.cumsum(cat(self._lengths, np.int64), out=indptr[1:])
        A = sp.csr_matrix((cat(self._coefs, float), cat(self._cols, np.int32), indptr), shape=(self.num_row, n)).tocsc()
        A.sum_duplicates()
        self.form = StandardForm(
            A=A, cost=np.asarray(cost, dtype=float), offset=float(offset),
            col_lower=cat(self._lower, float), col_upper=cat(self._upper, float), integer=cat(self._integer, bool),
            row_lower=cat(self._row_lower, float), row_upper=cat(self._row_upper, float),
            var_slices=self.var_slices, row_keys=self.row_keys,
        )
        self._cols, self._coefs, self._lengths = [], [], []  # the matrix holds them now
        return self.form
