"""The planner's own clock: HiGHS is interrupted at the time limit, and left behind if it does not stop.

HiGHS checks its clock only between steps; on a large MIP its root heuristics ran for
minutes without a check. A HiGHS that never returns is simulated here by holding the
solver's thread after a real solve (its callbacks have reported the incumbent by then), so
the tests need no large model and assert no timings beyond "returns, and says so".
"""

from __future__ import annotations

import threading
import time

import numpy as np
import highspy
import pytest

from models import build_model
from planner import solver
from planner.validate import plan_from_rows

from .test_faults import cflp_rows


def test_the_planners_clock_interrupts_a_highs_that_overruns_its_limit(monkeypatch):
    monkeypatch.setattr(solver, "time_margin", lambda limit: -600.0)  # HiGHS's own limit: 10 min too late
    r = solver.solve(build_model(plan_from_rows(cflp_rows())), time_limit_s=1.0, mip_gap=0)
    assert r.status == "time_limit_feasible" and r.solver_stopped and "interrupted" in r.message
    # the interrupt does not carry over to the duals' LP (an interrupted one leaves no shadow prices)
    assert r.shadow_prices is not None and "duals" in r.timings


@pytest.fixture
def stuck_highs(monkeypatch):
    """``stuck_highs(finish)``: from then on each HiGHS run does its real solve (when ``finish``),
    then hangs, deaf to interrupts, until the test ends."""
    release = threading.Event()
    monkeypatch.setattr(solver, "GIVE_UP_AFTER_S", 0.2)
    made = solver._highs

    def highs(*args, finish: bool = True):
        h = made(*args)
        real = h.run

        def run():
            if finish:
                real()
            release.wait(60)  # deaf to interrupts, like a step that never checks

        h.run = run
        return h

    yield lambda finish: monkeypatch.setattr(solver, "_highs", lambda *a: highs(*a, finish=finish))
    release.set()
    for t in solver._LEFT_RUNNING:
        t.join(10)
    assert not solver.still_running()


def test_a_highs_that_does_not_stop_is_left_and_its_incumbent_returned(small_rows, stuck_highs):
    model = build_model(plan_from_rows(small_rows))
    optimum = solver.solve(model, time_limit_s=30, mip_gap=0)
    stuck_highs(True)  # (the MIP's own run: a relaxation for its start would be the run that hangs)
    r = solver.solve(build_model(plan_from_rows(small_rows)), time_limit_s=0.3, mip_gap=0, warm_start=False)
    assert r.status == "time_limit_feasible" and not r.solver_stopped and solver.still_running()
    assert "did not stop" in r.message and r.overshoot_s > 0
    assert r.objective == pytest.approx(optimum.objective, rel=1e-9)
    assert np.allclose(r.values["Buy"], optimum.values["Buy"])
    assert r.duals == {} and r.max_violation.amount < 1e-6


@pytest.mark.parametrize("warm_start", [False, True])
def test_a_highs_stuck_before_any_incumbent_returns_no_solution(small_rows, stuck_highs, warm_start):
    """Stuck in the MIP before its first incumbent, or in the relaxation that gives it a start."""
    stuck_highs(warm_start)
    r = solver.solve(build_model(plan_from_rows(small_rows)), time_limit_s=0.3, warm_start=warm_start)
    assert r.status == "time_limit_no_solution" and not r.solver_stopped and not r.has_solution
    assert "did not stop" in r.message and ("relaxation" in r.timings) is warm_start


@pytest.fixture
def slow_highs(monkeypatch):
    """Each HiGHS run waits 0.3 s before its real solve: the work beside it surely starts while it runs.
    The Highs made are listed in the fixture's value."""
    made, listed = solver._highs, []

    def highs(*args):
        h = made(*args)
        listed.append(h)
        real = h.run

        def run():
            time.sleep(0.3)
            return real()

        h.run = run
        return h

    monkeypatch.setattr(solver, "_highs", highs)
    return listed


def test_model_only_work_is_done_while_highs_solves(small_rows, slow_highs):
    """Each ``prepare`` step runs once, while HiGHS's thread is alive; the result is the one without them."""
    model = build_model(plan_from_rows(small_rows))
    seen = []

    def step():
        seen.append([t.name for t in threading.enumerate() if t.name == "highs" and t.is_alive()])
    r = solver.solve(model, mip_gap=0, prepare=[step, step])
    assert seen == [["highs"], ["highs"]]
    alone = solver.solve(model, mip_gap=0)
    assert r.objective == alone.objective and r.values["Buy"].equals(alone.values["Buy"])


def test_steps_left_when_highs_returns_are_not_done_beside_it(small_rows):
    """A step starts only while HiGHS solves: one still to come when it returns is left to whoever
    needs its result after the solve (planner.run: extraction, the plan's writing), so that it
    does not delay them."""
    seen = []

    def until_highs_returns():
        for t in threading.enumerate():
            if t.name == "highs":
                t.join(60)
    r = solver.solve(build_model(plan_from_rows(small_rows)), mip_gap=0,
                     prepare=[until_highs_returns, lambda: seen.append("late")])
    assert r.status == "optimal" and seen == []


def test_work_that_fails_beside_highs_is_redone_after_it(small_rows, monkeypatch, slow_highs):
    """The values' indexes are made while HiGHS solves; when that fails part way, after it."""
    model = build_model(plan_from_rows(small_rows))
    alone = solver.solve(model, mip_gap=0)
    made, calls = solver._var_index, []

    def index(var):
        calls.append(var.name)
        if len(calls) == 2:  # the second family, beside HiGHS
            raise MemoryError("beside HiGHS")
        return made(var)
    monkeypatch.setattr(solver, "_var_index", index)
    r = solver.solve(model, mip_gap=0, prepare=[lambda: 1 / 0])
    assert r.status == "optimal" and r.objective == alone.objective
    assert all(r.values[k].equals(v) for k, v in alone.values.items())
    assert calls.count(calls[1]) == 2 and calls.count(calls[0]) == 1  # the first made once, the second again


def test_lps_are_solved_without_presolve(small_rows, slow_highs):
    """planner.solver.LP_OPTIONS: the LP relaxation, and the fixed LP of a MIP's duals (after the MIP,
    solved with presolve); HiGHS then reports the model not presolved."""
    model = build_model(plan_from_rows(small_rows))
    lp = solver.solve(model, relax_integrality=True)
    mip = solver.solve(model, mip_gap=0)
    for h in slow_highs:
        assert h.getOptionValue("presolve")[1] == "off"
        assert h.getModelPresolveStatus() == highspy.HighsPresolveStatus.kNotPresolved
    assert mip.shadow_prices is not None and lp.status == mip.status == "optimal"
    assert lp.objective <= mip.objective


def test_interrupt_checks_start_after_the_work_beside_highs(small_rows, slow_highs, monkeypatch):
    """HiGHS calls its interrupt callbacks at every simplex iteration, and each call waits for the GIL
    the work beside it holds: they are subscribed once that work is done. A stop asked for later
    still reaches HiGHS (see the Ctrl-C test below, and the time limit's above)."""
    from highspy.highs import HighsCallback

    events = []
    subscribe = HighsCallback.subscribe

    def recorded(self, callback, user_data=None):
        events.append(("subscribe", int(self.callback_type)))
        return subscribe(self, callback, user_data)
    monkeypatch.setattr(HighsCallback, "subscribe", recorded)
    r = solver.solve(build_model(plan_from_rows(small_rows)), mip_gap=0, duals=False, warm_start=False,
                     prepare=[lambda: events.append("step"), lambda: events.append("step")])
    assert r.status == "optimal"
    interrupts = {int(t) for t in (highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt,
                                   highspy.cb.HighsCallbackType.kCallbackIpmInterrupt,
                                   highspy.cb.HighsCallbackType.kCallbackMipInterrupt)}
    subscribed = [i for i, e in enumerate(events) if e != "step" and e[1] in interrupts]
    assert len(subscribed) == 3 and max(i for i, e in enumerate(events) if e == "step") < min(subscribed), events


def test_ctrl_c_beside_highs_stops_it(small_rows, slow_highs):
    def interrupted():
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        solver.solve(build_model(plan_from_rows(small_rows)), mip_gap=0, prepare=[interrupted])
    assert not solver.still_running()
    # the stop reached HiGHS, though its interrupt checks were not yet subscribed when Ctrl-C came
    assert slow_highs[0].getModelStatus() == highspy.HighsModelStatus.kInterrupt
