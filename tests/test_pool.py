"""planner.pool.Later: work begun in worker processes beside a long piece of this process's own,
or done here when asked for sooner."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from planner import pool


def pid_of(x):
    return x, os.getpid()


def sleeper(seconds):
    time.sleep(seconds)
    return os.getpid()


def test_results_asked_for_before_the_wait_are_worked_out_here():
    with pool.Later(pid_of, [1, 2, 3], 2, after_s=60) as later:
        assert later.results() == [(1, os.getpid()), (2, os.getpid()), (3, os.getpid())]
        assert not later.started


def test_after_the_wait_workers_take_the_tasks_and_keep_their_order():
    with pool.Later(pid_of, range(5), 2, after_s=0.1) as later:
        assert not later.started
        deadline = time.monotonic() + 30
        while not later.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert later.started
        results = later.results()
    assert [x for x, _ in results] == list(range(5))
    assert all(pid != os.getpid() for _, pid in results) and len({pid for _, pid in results}) <= 2


def test_without_workers_the_tasks_are_always_done_here():
    with pool.Later(pid_of, [1], 0, after_s=0) as later:
        time.sleep(0.2)
        assert not later.started and later.results() == [(1, os.getpid())]


def test_leaving_stops_workers_whose_results_were_not_asked_for():
    later = pool.Later(sleeper, [60, 60], 2, after_s=0)
    deadline = time.monotonic() + 30
    while len(later._pool._processes) < 2 and time.monotonic() < deadline:  # (spawned as tasks come)
        time.sleep(0.01)
    workers = list(later._pool._processes.values())
    t = time.monotonic()
    later.close()
    assert time.monotonic() - t < 10 and len(workers) == 2 and not any(w.is_alive() for w in workers)


def test_a_worker_that_dies_is_an_error_not_a_wait():
    """A worker killed mid-task (say, out of memory) raises when the results are asked for."""
    with pool.Later(sleeper, [60], 1, after_s=0) as later:
        deadline = time.monotonic() + 30
        while not later._pool._processes and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(next(iter(later._pool._processes)), signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            later.results()
