"""Independent solves in parallel processes.

Each task runs in a fresh (spawned, not forked) process: HiGHS keeps a thread pool that a
forked child would inherit in a broken state. A worker process is given the shared inputs
once (``initializer``), then any number of tasks. With one job, or one task, everything
runs in this process: no start-up cost for small work.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, TypeVar

STARTUP_SECONDS = 3.0  # what starting a worker process costs, measured: ~2 s
T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_all(fn: Callable[[T], R], tasks: Iterable[T], jobs: int | None = None,
            initializer: Callable | None = None, initargs: tuple = (), seconds_each: float | None = None) -> list[R]:
    """``[fn(t) for t in tasks]``, in up to ``jobs`` processes (default: the cores available).

    ``seconds_each`` (a guess, e.g. the time of a similar solve) keeps work that would take
    less than a process's start-up (about 2 s: Python, pandas, Pyomo, HiGHS) in this process.
    """
    tasks = list(tasks)
    jobs = min(jobs or default_jobs(), len(tasks))
    if seconds_each is not None and seconds_each * len(tasks) < STARTUP_SECONDS:
        jobs = 1
    if jobs <= 1:
        if initializer is not None:
            initializer(*initargs)
        return [fn(t) for t in tasks]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=initializer, initargs=initargs) as pool:
        return list(pool.map(fn, tasks))
