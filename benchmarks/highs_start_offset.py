"""A defect of HiGHS 1.16, in plain highspy: given a starting solution, its MIP can report an objective
that is not its solution's cost, and stop "optimal" there.

    .venv/bin/python benchmarks/highs_start_offset.py

``highs_start_offset.mps`` is a 27-column, 26-row MIP (12 binaries): the planner's robust plan of
``tests/test_robust.py`` (``_misreported``), as the planner hands it to HiGHS (scaled: its costs are
the plan's / 64, so its optimum 5.53125 is the plan's 354). ``START`` is the partial starting
solution the planner gave it: the binaries of its LP relaxation rounded up. Solved four ways:

    presolve on,  start:    reported 4.40625, its solution costs 6.75     "Optimal"   <- the defect
    presolve on,  no start: reported 5.53125, its solution costs 5.53125  Optimal
    presolve off, start:    reported 5.53125, its solution costs 5.53125  Optimal
    presolve off, no start: reported 5.53125, its solution costs 5.53125  Optimal

With the start and presolve on, HiGHS reports its objective and dual bound 2.34375 too low (by what
looks like an objective offset of its presolve), and so proves the start "optimal" though it costs
6.75 against the optimum's 5.53125. ``planner.solver.solve`` guards against it: when a started solve
reports an objective that is not its solution's cost, it solves again without a start.

This file and the model are what to attach to a report to HiGHS (github.com/ERGO-Code/HiGHS; not
reachable from the machine this was found on). Exit status: 1 while the defect shows, 0 once it
does not (then the guard in planner.solver.solve can be reconsidered).
"""

from __future__ import annotations

import sys
from pathlib import Path

import highspy
import numpy as np

MODEL = Path(__file__).with_suffix(".mps")
# column → value: the binaries of the LP relaxation, rounded up
START = {0: 0.0, 2: 1.0, 6: 0.0, 8: 1.0, 7: 0.0, 9: 1.0, 1: 0.0, 3: 1.0, 10: 0.0, 11: 1.0, 4: 0.0, 5: 1.0}


def solve(presolve: str, start: bool) -> tuple[float, float, str]:
    """HiGHS's reported objective, the cost of the solution it returned, and its model status."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.readModel(str(MODEL))
    h.setOptionValue("presolve", presolve)
    if start:
        at = np.array(list(START), dtype=np.int32)
        h.setSolution(len(at), at, np.array(list(START.values())))
    h.run()
    lp, x = h.getLp(), np.asarray(h.getSolution().col_value)
    return h.getInfo().objective_function_value, float(np.dot(lp.col_cost_, x) + lp.offset_), \
        h.modelStatusToString(h.getModelStatus())


def main() -> int:
    wrong = False
    for presolve in ("choose", "off"):
        for start in (True, False):
            reported, cost, status = solve(presolve, start)
            bad = not np.isclose(reported, cost, rtol=1e-9, atol=1e-9)
            wrong |= bad
            print(f"presolve {presolve:6s} start {'yes' if start else 'no ':3s}: reported {reported:.6g}, "
                  f"its solution costs {cost:.6g}, {status}{'   <- not its cost' if bad else ''}")
    print(f"({MODEL.name}; HiGHS {highspy.Highs().version()})")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
