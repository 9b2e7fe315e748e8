"""How far past its time limit does a solve run? HiGHS's run time against the limit asked for.

HiGHS checks its clock only between steps (presolve passes, cut rounds, nodes), so a limit
can be overrun; ``planner.solver`` gives HiGHS the limit less a margin (10%, at most 1 s),
interrupts it at the limit with its own clock, and returns without it
``solver.GIVE_UP_AFTER_S`` later if it still runs (``stopped`` false: its last incumbent is
the plan). This measures it on instances that hit the limit: a 60 x 200 capacitated facility
location MIP (the fault tests' instance), the generated M workbook and a 100 x 1000
facility location problem, and any workbook given with ``--workbook`` (the XL instance
overran a 30 s limit by 17 s, and a 60 s one by 12 min, in root heuristics). One JSON line
per solve; ``over_s`` > 0 is an overshoot, ``returned_s`` the wall time of the solve call
after the hand-off.

    .venv/bin/python benchmarks/time_limit.py                  # limits 1 2 5 10
    .venv/bin/python benchmarks/time_limit.py --limits 0.5 3
    .venv/bin/python benchmarks/time_limit.py --limits 30 --only --workbook outputs/bench/XL.xlsx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.generate import facility_location, instance  # noqa: E402
from models import build_model  # noqa: E402
from planner import solver  # noqa: E402
from planner.reader import read_workbook  # noqa: E402
from planner.validate import check, plan_from_rows  # noqa: E402
from tests.test_faults import cflp_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--workbook", type=Path, action="append", default=[], help="also this workbook (repeatable)")
    parser.add_argument("--only", action="store_true", help="only the --workbook cases")
    args = parser.parse_args()
    cases = {} if args.only else {"cflp60x200": lambda: plan_from_rows(cflp_rows()),
                                  "M": lambda: plan_from_rows(instance("M")),
                                  "CFL100x1000": lambda: plan_from_rows(facility_location())}
    cases.update({path.stem: (lambda path=path: check(read_workbook(path)).data) for path in args.workbook})
    for name, data in cases.items():
        data = data()
        for limit in args.limits:
            r = solver.solve(build_model(data), time_limit_s=limit, mip_gap=0, duals=False, load=False)
            print(json.dumps({"case": name, "limit_s": limit, "highs_limit_s": limit - solver.time_margin(limit),
                              "status": r.status, "stopped": r.solver_stopped, "run_s": round(r.solver_seconds, 3),
                              "over_s": round(r.solver_seconds - limit, 3),
                              "returned_s": round(r.timings["solve"], 3)}), flush=True)


if __name__ == "__main__":
    main()
