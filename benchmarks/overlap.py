"""Can the planner work while HiGHS solves? Python work in the main thread against HiGHS's run.

    .venv/bin/python benchmarks/overlap.py outputs/bench/L.xlsx --repeat 5

HiGHS runs in a worker thread (``planner.solver.run``) and releases the GIL, so a second core
could prepare the plan's tables while it solves. But the planner subscribes Python callbacks
to HiGHS's interrupt checks (the time limit and Ctrl-C go through them), and each call needs
the GIL: while the main thread runs Python, HiGHS waits for it at every check. This measures
HiGHS's own time on the LP relaxation of the workbook's model, alone and with 0.1 s of pure
Python (a counting loop) or of pandas (building the Buy index) in the main thread, with and
without the interrupt callbacks, at Python's default switch interval (5 ms) and at 0.1 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from models.sourcing import build_matrix  # noqa: E402
from planner import solver  # noqa: E402
from planner.reader import read_workbook  # noqa: E402
from planner.validate import check  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workbook", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    m = build_matrix(check(read_workbook(args.workbook)).data)
    c = solver.compile_model(m)
    c.integer[:] = False
    keys = m.Buy.keys()

    def python(seconds: float = 0.1) -> None:
        end, n = time.perf_counter() + seconds, 0
        while time.perf_counter() < end:
            for i in range(1000):
                n += i

    def pandas() -> None:
        for _ in range(5):
            pd.MultiIndex.from_tuples(keys)

    cases = [("alone", None, True, 0.005), ("alone, no callbacks", None, False, 0.005),
             ("python 0.1 s", python, True, 0.005), ("python 0.1 s, no callbacks", python, False, 0.005),
             ("python 0.1 s, switch 0.1 ms", python, True, 0.0001), ("pandas", pandas, True, 0.005)]
    times: dict[str, list[float]] = {name: [] for name, *_ in cases}
    work_s: dict[str, list[float]] = {name: [] for name, *_ in cases}
    default = sys.getswitchinterval()
    for _ in range(args.repeat):  # interleaved: the machine's load falls on every case alike
        for name, work, callbacks, switch in cases:
            h = solver._highs(c, 600, None, None)
            if callbacks:
                for cb in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
                    cb.subscribe(lambda e: e.interrupt(False))
            sys.setswitchinterval(switch)
            thread = threading.Thread(target=h.run)
            thread.start()
            t = time.perf_counter()
            if work is not None:
                work()
            work_s[name].append(time.perf_counter() - t)
            thread.join()
            sys.setswitchinterval(default)
            times[name].append(h.getRunTime())
    print(f"{'case':<32} {'HiGHS s (median)':>16} {'min':>6} {'main-thread work s':>19}")
    for name, *_ in cases:
        print(f"{name:<32} {statistics.median(times[name]):>16.3f} {min(times[name]):>6.3f} "
              f"{statistics.median(work_s[name]):>19.3f}")


if __name__ == "__main__":
    main()
