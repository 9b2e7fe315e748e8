"""The only module that talks to the solver.

A Pyomo model is compiled to matrix form by :mod:`planner.standard_form` (2–3× faster than
Pyomo's ``LinearStandardFormCompiler`` on the sourcing model) and handed to HiGHS in one
``highspy.Highs.passModel`` call (measured faster than Pyomo's HiGHS interfaces: see
``benchmarks/handoff.py``). After the solve:

- values of every variable are mapped back in bulk (one pandas Series per Pyomo Var,
  indexed like the Var: a slice of the solution) and loaded into the model, so its
  expressions can be evaluated;
- with the integer decisions fixed at their values, the LP is re-solved for row duals,
  from which :func:`models.sourcing.shadow_prices` derives each policy instance's shadow
  price (each rule's the price of relaxing it, even at a degenerate optimum: :func:`room_duals`);
- :func:`verify` checks the values against every row, bound and integrality of the
  compiled model and reports the largest violation and where it is.

HiGHS's own console output is always off; progress goes to the caller's callback.
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import dataclasses
import math
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import highspy
import numpy as np
import pandas as pd

from models.policies import SHARE_RULES, TOTAL_RULES
from models.sourcing import shadow_prices

from models.matrix import MatrixModel, StandardForm

if TYPE_CHECKING:
    import pyomo.environ as pyo

from . import memory, numerics


def _spare_scipy_extras() -> None:
    """Keep Pyomo from importing scipy.stats, scipy.integrate and scipy.spatial (~0.8 s) with scipy.

    Pyomo's ``_finalize_scipy`` imports them whenever scipy is imported after Pyomo; the
    planner uses only scipy.sparse (in Pyomo's compiler), and scipy imports any other
    submodule on first use by itself. With another Pyomo, whose internals differ, this does
    nothing.
    """
    from pyomo.common import dependencies

    if "scipy" in sys.modules:  # too late: Pyomo has imported them, or will on import
        return
    for deferred in getattr(dependencies.DeferredImportCallbackFinder, "_callbacks", {}).get("scipy", ()):
        if getattr(deferred, "_callback", None) is getattr(dependencies, "_finalize_scipy", ()):
            deferred._callback = None


_spare_scipy_extras()
import scipy.sparse  # noqa: E402,F401  the matrix's library, imported with the planner (not in the first build), after the line above

STATUSES = ("optimal", "time_limit_feasible", "time_limit_no_solution", "infeasible", "unbounded", "error")
PROGRESS_EVERY_S = 1.0  # least time between two progress reports (improving solutions are always reported)
# HiGHS checks its clock only between steps and can overrun a limit inside presolve or a cut
# round; it gets the limit less this margin, and the result reports any overshoot left.
TIME_MARGIN_FRACTION, TIME_MARGIN_MAX_S = 0.1, 1.0
# Some steps never look at the clock (root primal heuristics on a large MIP ran 12 min past a
# 60 s limit): at the limit the planner's own clock interrupts HiGHS, and if HiGHS has not
# returned this much later the solve returns without it (see run).
GIVE_UP_AFTER_S = 5.0
EXIT_LEFT_RUNNING = 70  # exit status of a process that ends while HiGHS still runs in it (see still_running)

# (elapsed s, incumbent or None, bound or None, relative gap or None)
ProgressCallback = Callable[[float, float | None, float | None, float | None], None]

_MS = highspy.HighsModelStatus
_STOPPED = {_MS.kTimeLimit, _MS.kIterationLimit, _MS.kSolutionLimit, _MS.kInterrupt, _MS.kObjectiveBound,
            _MS.kObjectiveTarget}
_SOLUTION_FEASIBLE = 2  # HiGHS kSolutionStatusFeasible


@dataclass(frozen=True)
class Violation:
    """The largest violation of a solution, and where: ``where`` is e.g. ``offer_capacity[('S1', 'A', 2027)]``."""

    amount: float
    where: str | None
    kind: str | None  # "row", "bound" or "integrality"


Compiled = StandardForm  # the model as HiGHS receives it (see planner.standard_form)


@dataclass
class SolveResult:
    """What a solve produced.

    status          one of STATUSES
    objective       objective of the incumbent (None without one)
    bound           best proven lower bound (None when unknown)
    gap             relative gap (objective - bound) / |objective| (0 when optimal LP)
    solver_seconds  HiGHS's own run time (getRunTime) of the main solve, with the relaxation that
                    gave a MIP its start (the same Highs: its clock runs on)
    values          Var name → Series of values indexed like the Var (every Var of the model)
    duals           policy constraint name → Series of row duals of the LP with integers fixed
                    (HiGHS sign: change of the objective per unit increase of the row's active
                    bound), a share or total rule's as its bound is relaxed (see room_duals);
                    only the policy rows, which shadow prices read
    shadow_prices   policy instance name → objective change per unit of limit relaxation
                    (≤ 0 when the policy binds; shares per percentage point; see
                    models.sourcing.shadow_prices)
    max_violation   largest violation of the incumbent over rows, bounds and integrality
    timings         seconds for compile, pass, relaxation (a MIP's start), solve, duals, extract
    time_limit_s    the caller's limit (HiGHS got it less :func:`time_margin`); None = none
    scaling         the factors the model was scaled by before HiGHS saw it (planner.numerics)
    solver_stopped  False when HiGHS did not return even when interrupted and the solve returned
                    without it: the values are the last incumbent HiGHS reported, there are no
                    duals, and HiGHS still runs in this process (see :func:`still_running`)
    """

    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solver_seconds: float = 0.0
    highs_version: str = ""
    message: str = ""
    values: dict[str, pd.Series] = field(default_factory=dict)
    duals: dict[str, pd.Series] = field(default_factory=dict)
    shadow_prices: pd.Series | None = None
    max_violation: Violation | None = None
    timings: dict[str, float] = field(default_factory=dict)
    time_limit_s: float | None = None
    scaling: numerics.Scaling | None = None
    solver_stopped: bool = True

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit_feasible")

    @property
    def overshoot_s(self) -> float:
        """Seconds HiGHS ran beyond the caller's time limit (0 when within it)."""
        return max(0.0, self.solver_seconds - self.time_limit_s) if self.time_limit_s is not None else 0.0


def highs_version() -> str:
    return f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"


_BANNER_SHOWN = False  # whether this process has made a Highs yet (see new_highs)


def new_highs() -> highspy.Highs:
    """A Highs with its console output off.

    HiGHS 1.16 writes its banner ("Running HiGHS …") to the process's stdout when the first Highs
    is made, before any option can turn output off. stdout carries the planner's results (and
    ``--json``'s last line), so that one write goes to the null device: the descriptor is
    swapped for the construction, and C's buffer flushed before it is put back. The plan names
    the HiGHS version instead.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        _BANNER_SHOWN = True
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            h = highspy.Highs()
            _flush_c_stdout()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
    h.setOptionValue("output_flag", False)
    return h


def _flush_c_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, TypeError, AttributeError):  # no C library to look up (Windows): HiGHS flushed its own line
        pass


def compile_model(model: pyo.Block | MatrixModel) -> Compiled:
    """Compile ``model`` to matrix form (each row keeps its sense; see planner.standard_form)."""
    if isinstance(model, MatrixModel):  # a matrix already: a copy (the caller may change its integrality)
        return dataclasses.replace(model.form, integer=model.form.integer.copy(), scaling=None, order=None)
    from . import standard_form  # Pyomo: imported only when a Pyomo model is solved

    return standard_form.compile_model(model)


def _highs(c: Compiled, time_limit_s, mip_gap, threads, relax_integrality: bool = False) -> highspy.Highs:
    """A HiGHS holding ``c``, scaled (see planner.numerics), with the options set.

    ``relax_integrality``: ``c``'s integer columns become continuous (``c.integer`` all False
    after), but the model is scaled as the MIP's is, integer columns unscaled: the relaxation
    is the same numbers without integrality, so its bound is the MIP's root bound on the model
    the MIP would get, and a 0–1 bound needs no scaling anyway (on L, 18 conjugate-gradient
    steps rather than 32: 37 ms rather than 54).
    """
    h = new_highs()
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s) - time_margin(time_limit_s))
    if mip_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_gap))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
        if not still_running():  # the scheduler is shared: resetting it under a running HiGHS would crash it
            highspy.Highs.resetGlobalScheduler(True)
    A = c.A
    if c.scaling is None:
        c.scaling = numerics.scale(A, c.cost, c.col_lower, c.col_upper, c.row_lower, c.row_upper, c.integer)
        c.order = solver_order(A)
    if relax_integrality:
        c.integer[:] = False
    if not c.integer.any():
        _as_lp(h)
    s, o = c.scaling, c.order  # HiGHS sees the scaled model, its columns in c.order; values cross back through _to_model
    scaled = type(A)((s.matrix_data(A), A.indices, A.indptr), shape=A.shape)[:, o]  # (A's index arrays, not copied)
    memory.release()  # memory touched for HiGHS while the model was built (planner.memory.ahead)
    h.passModel(c.num_col, c.num_row, scaled.nnz, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize),
                c.offset * s.obj, (c.cost * s.obj * s.col)[o], (c.col_lower / s.col)[o], (c.col_upper / s.col)[o],
                c.row_lower * s.row, c.row_upper * s.row,
                scaled.indptr.astype(np.int32, copy=False), scaled.indices.astype(np.int32, copy=False),
                scaled.data.astype(float, copy=False), c.integer[o].astype(np.int32))
    return h


def solver_order(A) -> np.ndarray:
    """The order HiGHS gets the columns in: by the first row that mentions each (ties in model order),
    columns in no row last.

    HiGHS's branch and bound depends on the column order. Grouping the columns of each row together,
    as Pyomo's own compiler numbers them, measured faster than the model's declaration order (every
    Buy, then every Use, ...) on the example (4.5–6.7 s against 17–22 s) and M (2.0 against 2.4 s);
    one run on L went the other way (52 against 44 s): variability, not a law (benchmarks/README.md,
    lever 6). This order is also the one every earlier benchmark figure was measured with."""
    A.sort_indices()
    n = A.shape[1]
    filled = np.diff(A.indptr) > 0
    first = np.full(n, A.shape[0], dtype=np.int64)
    first[filled] = A.indices[A.indptr[:-1][filled]]
    return np.argsort(first, kind="stable")


def _position(c: Compiled) -> np.ndarray:
    """Each model column's number in HiGHS (the inverse of c.order)."""
    pos = np.empty(c.num_col, dtype=np.int64)
    pos[c.order] = np.arange(c.num_col)
    return pos


def _to_model(c: Compiled, x) -> np.ndarray:
    """Column values from HiGHS (its order and units) to the model's."""
    out = np.empty(c.num_col)
    out[c.order] = np.asarray(x, dtype=float)
    return c.scaling.from_solver(out)


def time_margin(time_limit_s: float) -> float:
    """Seconds taken off a time limit before HiGHS gets it: 10% of it, at most 1 s."""
    return min(TIME_MARGIN_FRACTION * float(time_limit_s), TIME_MARGIN_MAX_S)


# An LP (no integer column: a model without binaries, an LP relaxation, the fixed LP of a MIP's
# duals) is solved without presolve: HiGHS's dual simplex on the planner's scaled model straight
# away was faster on every benchmark model, best of 3 (LP relaxations: XL 2.01 → 0.61 s, L 0.44 →
# 0.14 s, M 0.040 → 0.015 s, CFL 1.31 → 1.12 s, the example 13 → 8 ms; the fixed LPs of the MIPs:
# XL 1.62 → 0.68 s, L 0.31 → 0.11 s; benchmarks/README.md). Presolve stays on for MIPs, whose
# branch and bound it shrinks.
LP_OPTIONS = {"presolve": "off"}


def _as_lp(h: highspy.Highs) -> None:
    """Set :data:`LP_OPTIONS` on ``h``, which now holds an LP."""
    for option, value in LP_OPTIONS.items():
        h.setOptionValue(option, value)

_LEFT_RUNNING: list[threading.Thread] = []  # HiGHS runs the planner stopped waiting for (see run)


def run(h: highspy.Highs, time_limit_s: float | None = None, meanwhile: Sequence[Callable[[], None]] = ()) -> bool:
    """``h.run()`` in a worker thread, so that Ctrl-C and the time limit hold while HiGHS works in C.

    HiGHS looks at its clock and at its interrupt callbacks only between steps, and a step can
    last minutes. So the planner keeps its own clock: ``time_limit_s`` after the start (HiGHS
    itself got the limit less :func:`time_margin`) HiGHS is asked to stop through its
    interrupt callbacks; if it has not returned :data:`GIVE_UP_AFTER_S` later, ``run``
    returns False and leaves HiGHS running in its daemon thread, where the next interrupt
    check stops it. The caller must then not touch ``h`` again, and the process must end
    with ``os._exit`` (see :func:`still_running`). Ctrl-C asks HiGHS to stop likewise and
    raises KeyboardInterrupt once it has, or has been given up on (further Ctrl-Cs wait too).
    Returns True when HiGHS returned.

    ``meanwhile``: steps run in the calling thread once HiGHS has started, while it solves (see
    :func:`_early`): work that needs the model but not the solution, done on the second core.
    The interrupt callbacks are subscribed once that work is done (or on Ctrl-C): HiGHS calls them
    at every simplex iteration, and each call waits for the GIL the work holds. HiGHS reads the
    subscription at its next check, so a stop asked for after it still reaches HiGHS at once.
    """
    stop = threading.Event()

    def interrupt(e) -> None:
        e.interrupt(stop.is_set())  # HiGHS keeps the flag from one run of h to the next: always set it

    callbacks = (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt)

    def listen() -> None:  # HiGHS asks for the GIL at each of these checks (each simplex iteration)
        for callback in callbacks:
            callback.subscribe(interrupt)  # (once: a callback already subscribed is kept as it is)
    failed: list[BaseException] = []
    done = threading.Event()  # not Thread.join: a join interrupted by Ctrl-C can mark a running thread stopped

    def work() -> None:
        try:
            h.run()
        except BaseException as e:  # handed to the caller's thread
            failed.append(e)
        finally:
            done.set()

    thread = threading.Thread(target=work, name="highs", daemon=True)
    start = time.monotonic()
    thread.start()
    stop_at = math.inf if time_limit_s is None else start + float(time_limit_s)
    try:
        _early(meanwhile, done)
        listen()  # only now: beside the work above, HiGHS would wait for the GIL at every check
        while not done.wait(0.1):
            now = time.monotonic()
            if now >= stop_at + GIVE_UP_AFTER_S:
                stop.set()
                _leave_running(thread)
                return False
            if now >= stop_at:
                stop.set()
    except KeyboardInterrupt:
        stop.set()
        listen()  # (if Ctrl-C came during the work beside HiGHS)
        give_up = time.monotonic() + GIVE_UP_AFTER_S
        while not done.is_set() and time.monotonic() < give_up:
            try:
                done.wait(0.1)
            except KeyboardInterrupt:
                continue
        if not done.is_set():
            _leave_running(thread)
        raise
    for callback in callbacks:  # a later run of h (the duals) must not see this run's stop
        callback.unsubscribe(interrupt)
    if failed:
        raise failed[0]
    return True


def _early(steps: Sequence[Callable[[], None]], done: threading.Event) -> None:
    """Do ``steps`` early, one after the other while HiGHS solves: they hold the GIL, HiGHS does not
    (its interrupt callbacks, which would need it, are subscribed after: see :func:`run`). The
    work is only started early: a step not started before HiGHS returned, or that failed, is done
    after the solve where its result is needed, and a failure surfaces there as usual. Ctrl-C goes
    through."""
    for step in steps:
        if done.is_set():
            return
        try:
            step()
        except Exception:  # noqa: BLE001 (see above: done again later)
            pass


def _once(steps: Sequence[Callable[[], None]]) -> list[Callable[[], None]]:
    """``steps`` for :func:`run`'s ``meanwhile`` in more than one run (the relaxation's, then the
    MIP's): a step done in one is not done again in the next."""
    done: set[int] = set()

    def once(i: int, step: Callable[[], None]) -> Callable[[], None]:
        def do() -> None:
            if i not in done:
                step()
                done.add(i)
        return do
    return [once(i, step) for i, step in enumerate(steps)]


def still_running() -> bool:
    """Whether a HiGHS run given up on (see :func:`run`) still works in this process.

    Such a process must end with ``os._exit``: the interpreter's own exit aborts it (C++
    ``terminate``, status 134) while HiGHS runs. ``planner.cli`` exits that way with its
    status; any other program gets :data:`EXIT_LEFT_RUNNING` from an exit handler.
    """
    return any(t.is_alive() for t in _LEFT_RUNNING)


def _leave_running(thread: threading.Thread) -> None:
    if not _LEFT_RUNNING:
        atexit.register(_exit_at_once)
    _LEFT_RUNNING.append(thread)


def _exit_at_once() -> None:
    if still_running():
        sys.stderr.write("HiGHS did not stop when asked; exiting without waiting for it\n")
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(EXIT_LEFT_RUNNING)


def solve(model: pyo.Block | MatrixModel, time_limit_s: float | None = None, mip_gap: float | None = None,
          threads: int | None = None, progress: ProgressCallback | None = None, duals: bool = True,
          load: bool = True, relax_integrality: bool = False, start: dict[str, pd.Series] | None = None,
          prepare: Sequence[Callable[[], None]] = (), warm_start: bool = True) -> SolveResult:
    """Solve ``model`` with HiGHS; see :class:`SolveResult`. Never raises for solver outcomes.

    ``relax_integrality`` solves the LP relaxation instead (its objective is the root bound
    before cuts); ``load`` writes the values into the model's variables. ``start`` (values
    as in :attr:`SolveResult.values`, e.g. another solve's, matched by variable name and
    index) is handed to HiGHS as a starting solution; HiGHS ignores it if it is infeasible. A
    near-optimal one can cost time: HiGHS fixes columns by reduced cost against it and restarts
    its root (the example from its own optimum: 12.6 s against 3.0 s without; benchmarks/README.md,
    lever 33), so re-solves of a changed model are better left to their own start.
    Without one, ``warm_start`` gives a MIP the rounded LP relaxation as its start (see
    :func:`relaxation_start`); a start within the gap of the relaxation's bound is the result, and
    HiGHS's MIP does not run (the message says so).
    ``prepare``: steps of work for after the solve that do not need its solution, done while
    HiGHS solves (see :func:`run`) after the indexes of the values.
    """
    t0 = time.perf_counter()
    c = compile_model(model)
    timings = {"compile": c.seconds}
    t = time.perf_counter()
    h = _highs(c, time_limit_s, mip_gap, threads, relax_integrality)
    timings["pass"] = time.perf_counter() - t
    seen = _Incumbent(h, progress, c.scaling)
    limit = time_limit_s
    indexes: list[pd.Index] = []  # of the values, one per variable family, made while HiGHS solves

    dual_indexes: dict[str, pd.Index] = {}  # of the policy rows' duals, likewise

    def values_indexes() -> None:
        indexes.extend(_var_index(var) for var, _, _ in c.var_slices)

    def policy_row_indexes() -> None:
        dual_indexes.update((con.name, _index(keys)) for con, _, keys in c.row_keys if con.name.startswith("policy_"))
    steps = _once([values_indexes, *([policy_row_indexes] if duals else []), *prepare])
    started = Start(returned=True)
    if start:
        _set_start(h, c, start)
    elif warm_start and c.integer.any():
        t = time.perf_counter()
        started = _rounded_relaxation(h, c, time_limit_s, steps)
        timings["relaxation"] = time.perf_counter() - t
        if not started.returned:  # (no MIP incumbent yet: no solution)
            timings["solve"] = timings["relaxation"]
            return _given_up(model, c, seen, timings, time_limit_s, load, t0, indexes)
        if limit is not None:  # (HiGHS's own clock, which its time limit reads, ran on through the relaxation)
            limit = max(limit - timings["relaxation"], 0.0)
    timings["solve"] = 0.0  # (a start proven within the gap: no MIP to run)
    if not started.proven:
        t = time.perf_counter()
        returned = run(h, limit, steps)
        timings["solve"] = time.perf_counter() - t
        if not returned:
            return _given_up(model, c, seen, timings, time_limit_s, load, t0, indexes)
    result = SolveResult(status="error", solver_seconds=h.getRunTime(), highs_version=h.version(), timings=timings,
                         time_limit_s=time_limit_s, scaling=c.scaling)
    ms, info = h.getModelStatus(), h.getInfo()
    has_x = info.primal_solution_status == _SOLUTION_FEASIBLE or ms == _MS.kModelEmpty
    result.message = h.modelStatusToString(ms)
    if ms == _MS.kInterrupt and time_limit_s is not None:
        result.message = "Time limit reached (HiGHS overran it and was interrupted)"
    if ms in (_MS.kOptimal, _MS.kModelEmpty):
        result.status = "optimal"
    elif ms in _STOPPED:
        result.status = "time_limit_feasible" if has_x else "time_limit_no_solution"
    elif ms in (_MS.kInfeasible, _MS.kUnboundedOrInfeasible):
        # every cost is >= 0 and every variable bounded below, so "unbounded or infeasible" is infeasible
        result.status = "infeasible"
    elif ms == _MS.kUnbounded:
        result.status = "unbounded"
    if not (result.has_solution and has_x):
        result.timings["total"] = time.perf_counter() - t0
        return result

    t = time.perf_counter()
    x = _to_model(c, h.getSolution().col_value) if c.num_col else np.zeros(0)
    result.objective = c.scaling.objective(info.objective_function_value) if c.num_col else c.offset
    if started.proven:
        result.bound = c.scaling.objective(started.bound)
        result.gap = started.gap(info.objective_function_value)
        result.message = "Optimal: the start from the LP relaxation is within the gap of the relaxation's bound"
    elif c.integer.any():
        result.bound = c.scaling.objective(info.mip_dual_bound)
        result.gap = float(info.mip_gap)
    else:
        result.bound, result.gap = result.objective, 0.0
    cost = float(c.cost @ x + c.offset)
    if (start or "relaxation" in timings) and not math.isclose(cost, result.objective, rel_tol=1e-6, abs_tol=1e-6):
        # HiGHS 1.16, given a starting solution, can lose an objective offset of its presolve: it
        # then reports its objective and bound too low by it and stops "optimal" at the start (a
        # robust plan: 282 for a solution costing 432, where the optimum is 354). Nothing it
        # reported can be trusted but the solution's feasibility: solve again without a start.
        note = f"HiGHS reported an objective of {result.objective:,.6g} for a solution that costs {cost:,.6g}"
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - t0)
        if left is None or left > 0:
            again = solve(model, time_limit_s=left, mip_gap=mip_gap, threads=threads, progress=progress, duals=duals,
                          load=load, warm_start=False)
            again.solver_seconds += result.solver_seconds
            again.time_limit_s = time_limit_s
            again.message = f"{again.message} ({note} after a starting solution; solved again without one)"
            if again.has_solution or left is None:
                again.timings["total"] = time.perf_counter() - t0
                return again
        # no time left to solve again: the solution stands (feasible: checked below), proven nothing
        result.status, result.objective, result.bound, result.gap = "time_limit_feasible", cost, -math.inf, math.inf
        result.message = f"{note} after a starting solution, and no time was left to solve again without one"
    result.values = _values(model, c, x, indexes)
    result.max_violation = _violation(c, x)
    if load:
        _load(model, c, x)
    timings["extract"] = time.perf_counter() - t
    if duals:
        t = time.perf_counter()
        y = _fixed_lp_duals(h, c, x, started)
        if y is not None:
            y = room_duals(h, _room_rows(c), y)
            result.duals = _policy_duals(c, c.scaling.duals(y), dual_indexes)
            result.shadow_prices = shadow_prices(model, result.duals, result.values["Buy"])
        timings["duals"] = time.perf_counter() - t
    result.timings["total"] = time.perf_counter() - t0
    return result


class _Incumbent:
    """What HiGHS's MIP callbacks report as it goes: the latest incumbent (in the solver's
    units) with the bound and gap then (or later, with progress), and progress to the caller's
    callback; enough to return a plan when HiGHS has to be left running."""

    def __init__(self, h: highspy.Highs, progress: ProgressCallback | None, scaling: numerics.Scaling):
        self.x: np.ndarray | None = None
        self.objective = self.bound = self.gap = math.nan
        self.progress, self.scaling, self.last = progress, scaling, -math.inf
        h.cbMipImprovingSolution.subscribe(self.improved)
        if progress is not None:  # a Python call at every interrupt check of HiGHS: only when wanted
            h.cbMipInterrupt.subscribe(self.polled)

    def improved(self, e) -> None:
        d = e.data_out
        self.x = np.array(d.mip_solution, dtype=float)
        self.objective = float(d.objective_function_value)
        self.polled(e, always=True)

    def polled(self, e, always: bool = False) -> None:
        d = e.data_out
        self.bound, self.gap = float(d.mip_dual_bound), float(d.mip_gap)
        if self.progress is None or (not always and d.running_time - self.last < PROGRESS_EVERY_S):
            return
        self.last = d.running_time
        finite = lambda v: float(v) if math.isfinite(v) and abs(v) < 1e50 else None  # noqa: E731
        self.progress(float(d.running_time), finite(d.objective_function_value / self.scaling.obj),
                      finite(d.mip_dual_bound / self.scaling.obj), finite(d.mip_gap))


def _given_up(model: pyo.Block | MatrixModel, c: Compiled, seen: _Incumbent, timings: dict, time_limit_s: float, load: bool,
              t0: float, indexes: list) -> SolveResult:
    """The result of a solve whose HiGHS did not return (see :func:`run`): its last incumbent, no duals."""
    result = SolveResult(status="time_limit_no_solution", solver_seconds=timings["solve"],
                         highs_version=highs_version(), timings=timings, time_limit_s=time_limit_s,
                         scaling=c.scaling, solver_stopped=False)
    result.message = (f"Time limit reached; HiGHS did not stop within {GIVE_UP_AFTER_S:g} s of it even when "
                      "interrupted, and was left running"
                      + (": the plan is its last reported incumbent" if seen.x is not None else ""))
    if seen.x is not None:
        t = time.perf_counter()
        x = _to_model(c, seen.x)
        result.status = "time_limit_feasible"
        result.objective = c.scaling.objective(seen.objective)
        bound = c.scaling.objective(seen.bound)
        result.bound = bound if math.isfinite(bound) else -math.inf
        result.gap = seen.gap if math.isfinite(seen.gap) else math.inf
        result.values = _values(model, c, x, indexes)
        result.max_violation = _violation(c, x)
        if load:
            _load(model, c, x)
        timings["extract"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return result


def _rounded_relaxation(h: highspy.Highs, c: Compiled, time_limit_s: float | None,
                        meanwhile: Sequence[Callable[[], None]] = ()) -> Start:
    """:func:`relaxation_start` for the MIP of ``c`` in ``h`` (integer columns are unscaled: HiGHS's
    values and bounds of them are the model's, and the model's rows serve the repair)."""
    ints = np.flatnonzero(c.integer)
    return relaxation_start(h, _position(c)[ints], c.col_lower[ints], c.col_upper[ints], time_limit_s,
                            rows=lambda: integer_rows(c.A, c.integer, c.row_lower, c.row_upper), meanwhile=meanwhile)


@dataclass
class Start:
    """What :func:`relaxation_start` left in HiGHS."""

    returned: bool  # every run returned (False: HiGHS was left running, and ``h`` must not be touched again)
    proven: bool = False  # ``h`` holds the start, solved, within the MIP gap of ``bound``: the MIP need not run
    bound: float = -math.inf  # the relaxation's objective, a bound on the MIP's (in HiGHS's units)
    basis: highspy.HighsBasis | None = None  # the completion's optimal basis, when the MIP runs after it

    def gap(self, objective: float) -> float:
        """The relative gap of a plan costing ``objective`` (HiGHS's units) to :attr:`bound`, as HiGHS's mip_gap."""
        return (objective - self.bound) / max(abs(objective), 1e-300)


def relaxation_start(h: highspy.Highs, at: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                     time_limit_s: float | None = None, rows: Callable[[], tuple] | None = None,
                     meanwhile: Sequence[Callable[[], None]] = ()) -> Start:
    """Solve the LP relaxation of the MIP ``h`` holds (its integer columns ``at``, in HiGHS's numbering,
    bounded by ``lower`` and ``upper``), round its integer columns up (every positive one at least
    1), repair that where it breaks a row of integer columns alone (``rows``: see :func:`repaired`),
    and complete it with the LP of the other columns (integer columns fixed). The benchmark
    reference starts the same way.

    When the completion costs no more than the MIP gap above the relaxation's objective (a bound
    on the MIP's), it is a plan proven within the gap: ``h`` is left holding it (its integer
    columns fixed and continuous, its LP solved) and the MIP need not run. Otherwise ``h`` gets
    its MIP back with the completion as its starting solution (a whole one: HiGHS need not
    complete it), its first incumbent.

    Rounded up, an offer the relaxation buys from keeps its contract (Use), a source its fixed
    cost (SourceUse), a candidate its build: with the same purchases feasible, the completion is
    usually close to the optimum. On the benchmark's XL MIP HiGHS had, at its 60 s limit, still
    only the incumbent of its own heuristics, 30% above the bound; from this start it proved the
    optimum in ~17 s (benchmarks/README.md, lever 27), and the start alone is within 3.1e-5 of the
    relaxation: 0.9 s (lever 31). But rounding up can put more offers in use than a
    ``max_sources`` rule allows, or start two builds of one candidate: on L, 20 such rows made the
    start infeasible and HiGHS took 19 s; repaired, the start is within 6e-5 of the optimum and
    HiGHS proves it in 3 s (lever 30). Both LPs are solved as every LP is (:data:`LP_OPTIONS`), the
    completion from the relaxation's basis: 0.2 + 0.04 s on L, 0.75 + 0.13 s on XL.
    ``meanwhile``: work done beside the relaxation (see :func:`run`).
    """
    at = np.asarray(at, dtype=np.int32)
    t = time.monotonic()
    saved = {option: _option(h, option) for option in LP_OPTIONS}
    h.changeColsIntegrality(len(at), at, np.zeros(len(at), dtype=np.uint8))
    _as_lp(h)
    if not run(h, time_limit_s, meanwhile):  # (nor after Ctrl-C, which raises: h may still run, and is not touched again)
        return Start(returned=False)
    complete = basis = None
    bound = -math.inf
    if h.getModelStatus() == _MS.kOptimal:
        bound = h.getInfo().objective_function_value
        x = np.asarray(h.getSolution().col_value, dtype=float)[at]
        start = np.clip(np.ceil(x - ROUNDING_TOLERANCE), lower, upper)
        if rows is not None:
            start = repaired(start, x, lower, *rows())
        h.changeColsBounds(len(at), at, start, start)
        if not run(h, None if time_limit_s is None else max(time_limit_s - (time.monotonic() - t), 0.0)):
            return Start(returned=False)
        if h.getModelStatus() == _MS.kOptimal:
            objective = h.getInfo().objective_function_value
            if objective - bound <= max(_option(h, "mip_abs_gap"), _option(h, "mip_rel_gap") * abs(objective)):
                return Start(returned=True, proven=True, bound=bound)
            complete = np.asarray(h.getSolution().col_value, dtype=float)
            basis = h.getBasis()
        h.changeColsBounds(len(at), at, lower, upper)
    h.changeColsIntegrality(len(at), at, np.ones(len(at), dtype=np.uint8))
    for option, value in saved.items():
        h.setOptionValue(option, value)
    if complete is not None:
        h.setSolution(len(complete), np.arange(len(complete), dtype=np.int32), complete)
    return Start(returned=True, bound=bound, basis=basis)


def integer_rows(A, integer: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray) -> tuple:
    """The rows of ``A`` (scipy CSC) on integer columns alone, for :func:`repaired`: their matrix over
    the integer columns (CSR, the columns in the order of ``integer``'s), lower and upper bounds."""
    continuous = np.repeat(~np.asarray(integer, dtype=bool), np.diff(A.indptr))
    mixed = np.bincount(A.indices[continuous], minlength=A.shape[0]) > 0
    alone = np.flatnonzero(~mixed)
    sub = A[:, np.flatnonzero(integer)].tocsr()[alone]
    return sub, row_lower[alone], row_upper[alone]


def repaired(start: np.ndarray, x: np.ndarray, lower: np.ndarray, A, row_lower: np.ndarray,
             row_upper: np.ndarray) -> np.ndarray:
    """``start`` (the relaxation ``x`` rounded up), with columns lowered to ``lower`` until it meets
    every row of ``A`` (CSR, rows on integer columns alone, bounded by ``row_lower`` and ``row_upper``).

    Rounding up only raises columns, so a row it breaks is one that holds too much: a row
    ``Σ Use <= 3`` (max_sources) with four offers in use in part, or a candidate's builds (at
    most one). Lowered first are the columns of such a row the relaxation used least (it met
    the row, so lowering the ones it rounded up is enough). A column lowered can break another row
    (``Use <= SourceUse``: a contract of a source no longer in use); that row is repaired the
    same way, and so on: each column is lowered once at most, and only the rows of a column
    lowered are looked at again. A row that lowering cannot mend is left broken: HiGHS then finds
    the start infeasible and ignores it, as it would have anyway.
    """
    s = start.copy()
    if A.shape[0] == 0:
        return s
    by_column = A.tocsc()
    activity = A @ s
    tolerance = 1e-9 * (1.0 + np.maximum(np.abs(np.where(np.isfinite(row_lower), row_lower, 0.0)),
                                         np.abs(np.where(np.isfinite(row_upper), row_upper, 0.0))))

    def broken(rows):
        return (activity[rows] > row_upper[rows] + tolerance[rows]) | (activity[rows] < row_lower[rows] - tolerance[rows])

    def excess(i: int) -> tuple[float, float]:  # the side row i breaks (+1 above, -1 below), and by how much
        above = activity[i] - row_upper[i]
        return (1.0, above) if above > tolerance[i] else (-1.0, row_lower[i] - activity[i])
    queue = collections.deque(np.flatnonzero(broken(slice(None))).tolist())
    while queue:
        i = queue.popleft()
        sign, by = excess(i)
        if by <= tolerance[i]:
            continue  # (mended meanwhile)
        cols, a = A.indices[A.indptr[i]:A.indptr[i + 1]], A.data[A.indptr[i]:A.indptr[i + 1]]
        can = np.flatnonzero((sign * a > 0) & (s[cols] > lower[cols]))
        for col in cols[can[np.argsort(x[cols[can]], kind="stable")]].tolist():
            step = s[col] - lower[col]
            s[col] = lower[col]
            rows = by_column.indices[by_column.indptr[col]:by_column.indptr[col + 1]]
            activity[rows] -= by_column.data[by_column.indptr[col]:by_column.indptr[col + 1]] * step
            queue.extend(rows[broken(rows)].tolist())
            if excess(i)[1] <= tolerance[i]:
                break
    return s


ROUNDING_TOLERANCE = 1e-6  # an integer column of the relaxation above this rounds up


def _option(h: highspy.Highs, option: str):
    """An option's value (highspy 1.16 gives (status, value); other versions the value alone)."""
    value = h.getOptionValue(option)
    return value[1] if isinstance(value, tuple) else value


def _fixed_lp_duals(h: highspy.Highs, c: Compiled, x: np.ndarray, started: Start | None = None) -> np.ndarray | None:
    """Row duals of the LP with every integer column fixed at its (rounded) value, solved as every
    LP is (:data:`LP_OPTIONS`): its duals are then the LP's own, not ones recovered by postsolve.
    ``started``: what the MIP's start left. Proven, ``h`` holds that LP solved already; otherwise
    the LP is solved from the start's completion's basis: the same LP when the MIP kept the
    start's integer values (L: 0 simplex iterations instead of 2,038, 0.10 → 0.035 s), a near one
    otherwise (CFL at a limit: 167 instead of 1,485)."""
    if c.num_row == 0:
        return np.zeros(0)
    ints = np.flatnonzero(c.integer)
    if len(ints) and not (started is not None and started.proven):
        h.clearSolver()
        fixed = np.round(x[ints]) / c.scaling.col[ints]
        at = _position(c)[ints].astype(np.int32)
        h.changeColsBounds(len(ints), at, fixed, fixed)
        h.changeColsIntegrality(len(ints), at, np.zeros(len(ints), dtype=np.uint8))
        h.setOptionValue("time_limit", 1e30)
        _as_lp(h)
        if started is not None and started.basis is not None:
            h.setBasis(started.basis)  # (one HiGHS rejects leaves the solve cold, as without it)
        run(h)
        if h.getModelStatus() != _MS.kOptimal:
            return None
    return np.asarray(h.getSolution().row_dual, dtype=float)


ROOM_STEP = 1e-5  # how far a rule is relaxed (HiGHS's units) to read its price of room where the basis gives none
DUAL_TOLERANCE = 1e-9  # HiGHS's units: a smaller row dual is no price
JOINT_FROM = 3  # more rules than this to price by re-solves: first try them together (see room_duals)


def room_duals(h: highspy.Highs, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y``, the row duals of the LP ``h`` holds (solved), with the dual of each row in ``rows``
    (the share and total rules', :func:`_room_rows`) made the price of relaxing that rule alone:
    the objective's change per unit its active bound moves outward. That is what a shadow price
    says (README, "Shadow price vs. a rule's total cost").

    At a degenerate optimum a binding row's duals form an interval, and the basis HiGHS stops at
    may give either end: the price of relaxing the rule, or of tightening it. HiGHS's ranging
    says how far the bound can move outward with the basis still optimal; where that is no
    distance (a rule and a capacity, or two rules, holding the same purchases), the rule is
    relaxed by :data:`ROOM_STEP`, the LP solved again (a few dual simplex iterations) and the
    row's dual read there. Two rules holding the same tonnes (a FEOC cap and a China cap when
    China is all of FEOC) so each get 0: relaxing either alone saves nothing. Many such rules (a
    FEOC cap and a China cap alike in every year) are first relaxed together, which prices all
    the tied ones at 0 in one or two LPs.
    Measured (benchmarks/README.md, lever 35): the example, 7 of 144 binding rules without room,
    3 LPs, +15 ms; L's MIP 3 of 423, +0.13 s; L's LP 1 of 433, +0.07 s.
    ``h`` keeps its bounds, but after a re-solve its solution is that of the last LP relaxed: read
    what is needed of it before.
    """
    rows = rows[np.abs(y[rows]) > DUAL_TOLERANCE]
    if not len(rows):
        return y
    reached = _bound_ranging(h, rows)
    if reached is None:
        return y
    lowest, highest = reached
    _, _, lower, upper, _ = h.getRows(len(rows), rows.astype(np.int32))
    floor = y[rows] > 0  # its lower bound active (HiGHS's sign for a minimisation); else its upper
    bound = np.where(floor, lower, upper)
    reach = np.where(floor, lowest, highest)  # where the active bound can go outward, the basis still optimal
    flat = np.abs(reach - bound) < ROOM_STEP  # (the active bound is finite)
    if not flat.any():
        return y
    rows, lower, upper, floor = rows[flat], lower[flat], upper[flat], floor[flat]
    h.setOptionValue("time_limit", 1e30)

    def relaxed(at: np.ndarray) -> np.ndarray | None:
        """The duals of ``rows[at]`` in the LP with each of them relaxed by ROOM_STEP (None: not solved)."""
        them = rows[at].astype(np.int32)
        h.changeRowsBounds(len(at), them, np.where(floor[at], lower[at] - ROOM_STEP, lower[at]),
                           np.where(floor[at], upper[at], upper[at] + ROOM_STEP))
        run(h)
        duals = np.asarray(h.getSolution().row_dual)[them] if h.getModelStatus() == _MS.kOptimal else None
        h.changeRowsBounds(len(at), them, lower[at], upper[at])
        return duals

    # Relaxing a set of rules together saves nothing only if relaxing each alone saves nothing (the
    # cost is convex in the bounds). With more than JOINT_FROM of them, one LP for all together
    # first, then one for those priced 0 there (rules tied to others, in any number: 2 LPs in all),
    # then one for each rule left; fewer, one LP each.
    y, alone = y.copy(), np.arange(len(rows))
    if len(rows) > JOINT_FROM:
        together = relaxed(alone)
        free = alone[np.abs(together) <= DUAL_TOLERANCE] if together is not None else alone[:0]
        if len(free) and (len(free) == len(rows) or _none_priced(relaxed(free))):
            y[rows[free]] = 0.0
            alone = np.setdiff1d(alone, free)
    readings = {k: relaxed(np.array([k])) for k in alone.tolist()}
    for k, price in readings.items():
        if price is not None:
            # the price of room lies between 0 and the basis's dual (a subgradient of the cost in the bound)
            low, high = sorted((0.0, float(y[rows[k]])))
            if low - DUAL_TOLERANCE <= price[0] <= high + DUAL_TOLERANCE:  # (else: not seen, the basis's stays)
                y[rows[k]] = min(max(float(price[0]), low), high)
    return y


def _none_priced(duals: np.ndarray | None) -> bool:
    """Whether an LP was solved and gave each of these rows no dual."""
    return duals is not None and bool((np.abs(duals) <= DUAL_TOLERANCE).all())


def _bound_ranging(h: highspy.Highs, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """HiGHS's ranging of the bounds of ``rows`` (nonbasic rows of the LP ``h`` holds, solved): the
    lowest and highest values each row's active bound can take with ``h``'s basis still optimal.
    None when HiGHS gives none.

    HiGHS's ranging solves with the basis once per nonbasic variable, columns included: 0.09 s on
    L's LP, 0.92 s on XL's fixed LP, more than its solve. A row's bound range depends only on the
    basic variables, so it is taken on the LP of the basic columns alone (the others held at their
    values, which moves the rows' bounds) and of the rows they are in (the others cannot move):
    the same basis, optimal there with no iteration, and the same ranges (checked against the
    whole LP's on the example, L and XL), for a fraction of the time (benchmarks/README.md, lever 35).
    """
    ok, basic = h.getBasicVariables()
    if ok != highspy.HighsStatus.kOk:
        return None
    cols = np.sort(basic[basic >= 0]).astype(np.int32)
    _, start, index, value = h.getColsEntries(len(cols), cols)
    kept = np.union1d(index, rows).astype(np.int32)  # (a row in no basic column's keeps its activity)
    solution = h.getSolution()
    x, activity = np.asarray(solution.col_value)[cols], np.asarray(solution.row_value)[kept]
    start = np.append(start, len(index))  # (HiGHS gives each column's start, not the end of the last)
    A = scipy.sparse.csc_matrix((value, np.searchsorted(kept, index), start), shape=(len(kept), len(cols)))
    held = activity - A @ x  # what the other columns put in each row
    _, _, cost, col_lower, col_upper, _ = h.getCols(len(cols), cols)
    _, _, row_lower, row_upper, _ = h.getRows(len(kept), kept)
    g = new_highs()
    _as_lp(g)
    g.passModel(len(cols), len(kept), A.nnz, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize), 0.0,
                cost, col_lower, col_upper, row_lower - held, row_upper - held, A.indptr.astype(np.int32),
                A.indices.astype(np.int32), A.data, np.zeros(len(cols), dtype=np.int32))
    status = highspy.HighsBasisStatus
    is_basic = np.zeros(h.getNumRow(), dtype=bool)
    is_basic[-1 - basic[basic < 0]] = True
    at_lower = np.abs(activity - row_lower) <= np.abs(activity - row_upper)
    basis = highspy.HighsBasis()
    basis.col_status = [status.kBasic] * len(cols)
    basis.row_status = [status.kBasic if b else status.kLower if low else status.kUpper
                        for b, low in zip(is_basic[kept].tolist(), at_lower.tolist())]
    basis.valid = True
    g.setBasis(basis)
    run(g)
    if g.getModelStatus() == _MS.kOptimal and g.getInfo().simplex_iteration_count == 0:
        ok, ranging = g.getRanging()
        at = np.searchsorted(kept, rows)
        shift = held[at]
    else:  # (not seen) the whole LP's ranging
        ok, ranging = h.getRanging()
        at, shift = rows, 0.0
    if ok != highspy.HighsStatus.kOk:
        return None
    return (np.asarray(ranging.row_bound_dn.value_)[at] + shift, np.asarray(ranging.row_bound_up.value_)[at] + shift)


_ROOM_RULES = frozenset(f"policy_{rule}" for rule in SHARE_RULES + TOTAL_RULES)


def _room_rows(c: Compiled) -> np.ndarray:
    """The positions of the share and total rules' rows. Count rules are left out: their rows are
    of integer columns, fixed in the LP the duals come from (their shadow price is none)."""
    rows = [np.arange(first, first + len(keys)) for con, first, keys in c.row_keys if con.name in _ROOM_RULES]
    return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


def _values(model: pyo.Block | MatrixModel, c: Compiled, x: np.ndarray, indexes: list | None = None) -> dict[str, pd.Series]:
    """Every Var of the model as a Series indexed like the Var (its columns are one slice of ``x``);
    ``indexes``: those of the Vars, in order, where already made (all of them, or only the first ones)."""
    indexes = list(indexes or [])
    indexes += [_var_index(var) for var, _, _ in c.var_slices[len(indexes):]]
    return {var.name: pd.Series(x[first:end], index=index, dtype=float, name=var.name)
            for (var, first, end), index in zip(c.var_slices, indexes)}


def _var_index(var) -> pd.Index:
    """A variable family's keys as a pandas index: from the key fields of a MatrixModel's columns
    where it has them (models.matrix.Columns.arrays), else from the keys."""
    arrays = getattr(var, "arrays", None)
    if arrays is not None and len(arrays) > 1 and len(var):
        return pd.MultiIndex.from_arrays(arrays)
    return _index(var.keys())


def _index(keys) -> pd.Index:
    """A component's keys (a sequence) as a pandas index (a MultiIndex for tuple keys)."""
    keys = keys if isinstance(keys, list) else list(keys)
    return pd.MultiIndex.from_tuples(keys) if keys and isinstance(keys[0], tuple) else pd.Index(keys)


def _load(model, c: Compiled, x: np.ndarray) -> None:
    """The values into the model: its Pyomo variables, or a MatrixModel's ``solution``."""
    x = np.where(c.integer, np.round(x), x)
    if isinstance(model, MatrixModel):
        model.solution = x
        return
    for v, val in zip(c.variables(), x.tolist()):
        v.set_value(val, skip_validation=True)


def _policy_duals(c: Compiled, y: np.ndarray, indexes: dict[str, pd.Index]) -> dict[str, pd.Series]:
    """Row duals of the policy constraints (``policy_*``), by component and index; ``indexes``: those
    of the components already made (the others are made now)."""
    out = {}
    for con, first, keys in c.row_keys:
        if con.name.startswith("policy_"):
            index = indexes.get(con.name)
            out[con.name] = pd.Series(y[first:first + len(keys)], index=index if index is not None else _index(keys),
                                      dtype=float, name=con.name)
    return out


def _violation(c: Compiled, x: np.ndarray) -> Violation:
    """Largest violation of rows, column bounds and integrality at ``x``."""
    candidates = []  # (amount, kind, row or column); only the largest is named (names are made when first read)
    if c.num_row:
        act = c.A @ x
        rv = np.maximum(c.row_lower - act, act - c.row_upper)
        i = int(np.argmax(rv))
        candidates.append((float(rv[i]), "row", i))
    if c.num_col:
        bv = np.maximum(c.col_lower - x, x - c.col_upper)
        j = int(np.argmax(bv))
        candidates.append((float(bv[j]), "bound", j))
        iv = np.where(c.integer, np.abs(x - np.round(x)), 0.0)
        k = int(np.argmax(iv))
        candidates.append((float(iv[k]), "integrality", k))
    amount, kind, at = max(candidates, key=lambda v: v[0], default=(0.0, None, None))
    if amount > 0:
        return Violation(amount, c.row_name(at) if kind == "row" else c.col_name(at), kind)
    return Violation(0.0, None, None)


def verify(model: pyo.Block | MatrixModel, values: dict[str, pd.Series]) -> Violation:
    """Check ``values`` (as in :attr:`SolveResult.values`) against every row, bound and integrality."""
    c = compile_model(model)
    return _violation(c, _vector(c, values, strict=True))


def _vector(c: Compiled, values: dict[str, pd.Series], strict: bool = False) -> np.ndarray:
    """``values`` as one vector over the columns (NaN where a value is missing, or KeyError when ``strict``)."""
    x = np.full(c.num_col, np.nan)
    for var, first, end in c.var_slices:
        s = values.get(var.name)
        if s is None:
            if strict and end > first:
                raise KeyError(var.name)
            continue
        keys = list(var.keys())
        got = s.reindex(_index(keys)).to_numpy(dtype=float)
        if strict and np.isnan(got).any():
            raise KeyError(f"{var.name}: {keys[int(np.flatnonzero(np.isnan(got))[0])]}")
        x[first:end] = got
    return x


def _set_start(h: highspy.Highs, c: Compiled, start: dict[str, pd.Series]) -> None:
    """Give HiGHS the values of ``start`` for the columns it names (the others are left to HiGHS)."""
    x = _vector(c, start)
    cols = np.flatnonzero(~np.isnan(x))
    if len(cols):
        vals = np.where(c.integer[cols], np.round(x[cols]), x[cols])
        h.setSolution(len(cols), _position(c)[cols].astype(np.int32), vals / c.scaling.col[cols])


@dataclass(frozen=True)
class ConflictMember:
    """One row or variable bound of an irreducible infeasible subsystem (IIS).

    ``component`` is the Pyomo component's name (``demand_met``, ``Buy``), ``index`` its
    index, ``side`` which bound takes part: "lower", "upper" or "both".
    """

    kind: str  # "row" or "bound"
    component: str
    index: object
    side: str


_IIS_SIDE = {2: "lower", 3: "upper", 4: "both"}


def conflict(model: pyo.Block | MatrixModel, time_limit_s: float | None = None) -> list[ConflictMember] | None:
    """An irreducible infeasible subsystem of the LP relaxation of ``model``, from HiGHS.

    None when the LP relaxation is feasible (the infeasibility then comes from integer
    decisions, which an IIS cannot name) or when HiGHS finds no IIS in time.
    """
    c = compile_model(model)
    c.integer[:] = False
    h = _highs(c, time_limit_s, None, None)
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyFromLp)
                     | int(highspy.IisStrategy.kIisStrategyIrreducible))
    if time_limit_s is not None:
        h.setOptionValue("iis_time_limit", float(time_limit_s))
    if not run(h, time_limit_s):
        return None
    if h.getModelStatus() not in (_MS.kInfeasible, _MS.kUnboundedOrInfeasible):
        return None
    status, iis = h.getIis()
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return None
    out = []  # a bound HiGHS reports as free (or dropped) takes no part in the conflict
    for i, b in zip(iis.row_index_, iis.row_bound_):
        con, key = c.row_at(i)
        if b in _IIS_SIDE:
            out.append(ConflictMember("row", con.name, key, _IIS_SIDE[b]))
    for j, b in zip(iis.col_index_, iis.col_bound_):
        var, key = c.col_at(int(c.order[j]))
        if b in _IIS_SIDE:
            out.append(ConflictMember("bound", var.name, key, _IIS_SIDE[b]))
    return out
