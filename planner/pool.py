"""Independent solves in parallel processes.

Each task runs in a fresh (spawned, not forked) process: HiGHS keeps a thread pool that a
forked child would inherit in a broken state. A worker process is given the shared inputs
once (``initializer``), then any number of tasks. With one job, or one task, everything
runs in this process: no start-up cost for small work. :class:`Later` starts such work beside
a long one of this process's own, once it has run long enough to be worth the start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
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


class Later:
    """``[fn(t) for t in tasks]`` for :meth:`results`, worked on meanwhile where that pays.

    Made before a long piece of this process's own work (a solve: HiGHS runs on one core), it
    starts ``jobs`` worker processes on the tasks once ``after_s`` (default
    :data:`STARTUP_SECONDS`; 0: at once) have passed, beside that work. Asked for its results
    before then, it does the tasks in this process, as :func:`run_all` with one job would: work
    that ends sooner than a process starts never pays for one. With ``jobs`` below 1 the tasks
    are always done here. Leaving it (a ``with`` block) stops workers whose results were not
    asked for.
    """

    def __init__(self, fn: Callable[[T], R], tasks: Iterable[T], jobs: int, initializer: Callable | None = None,
                 initargs: tuple = (), after_s: float | None = None):
        self.fn, self.tasks, self.initializer, self.initargs = fn, list(tasks), initializer, initargs
        self.jobs = min(jobs, len(self.tasks))
        self._lock = threading.Lock()
        self._pool = None
        self._futures: list = []
        self._asked = self._started = False
        self._timer = None
        wait = STARTUP_SECONDS if after_s is None else after_s
        if self.jobs >= 1 and wait <= 0:
            self._start()
        elif self.jobs >= 1:
            self._timer = threading.Timer(wait, self._start)
            self._timer.daemon = True
            self._timer.start()

    @property
    def started(self) -> bool:
        """Whether worker processes took the tasks."""
        return self._started

    def _start(self) -> None:
        with self._lock:
            if self._asked:
                return
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=self.initializer, initargs=self.initargs)
            self._futures = [self._pool.submit(self.fn, t) for t in self.tasks]
            self._started = True

    def results(self) -> list[R]:
        """The tasks' results, in their order (a worker's error, or its process's death, raises here)."""
        with self._lock:  # (the timer, if it has not started the workers yet, no longer will)
            self._asked = True
            if self._timer is not None:
                self._timer.cancel()
        if self._pool is not None:
            return [f.result() for f in self._futures]
        return run_all(self.fn, self.tasks, 1, self.initializer, self.initargs)

    def close(self) -> None:
        """Stop: the timer, and the workers, ended at once if their tasks are not all done."""
        with self._lock:
            self._asked = True
            if self._timer is not None:
                self._timer.cancel()
        if self._pool is not None:
            if not all(f.done() for f in self._futures):  # (ProcessPoolExecutor cannot stop a running task)
                for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Later":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
