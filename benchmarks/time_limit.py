"""How far past its time limit does a solve run? HiGHS's run time against the limit asked for.

HiGHS checks its clock only between steps (presolve passes, cut rounds, nodes), so a limit
can be overrun; ``planner.solver`` gives HiGHS the limit less a margin (10%, at most 1 s)
and reports what is left as the plan's ``time limit overshoot (s)``. This measures it on
instances that hit the limit: a 60 x 200 capacitated facility location MIP (the fault
tests' instance), the generated M workbook and a 100 x 1000 facility location problem.
One JSON line per solve; ``over_s`` > 0 is an overshoot.

    .venv/bin/python benchmarks/time_limit.py                  # limits 1 2 5 10
    .venv/bin/python benchmarks/time_limit.py --limits 0.5 3
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
from planner.validate import plan_from_rows  # noqa: E402
from tests.test_faults import cflp_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[1, 2, 5, 10])
    args = parser.parse_args()
    cases = {"cflp60x200": cflp_rows(), "M": instance("M"), "CFL100x1000": facility_location()}
    for name, rows in cases.items():
        data = plan_from_rows(rows)
        for limit in args.limits:
            r = solver.solve(build_model(data), time_limit_s=limit, mip_gap=0, duals=False, load=False)
            print(json.dumps({"case": name, "limit_s": limit, "highs_limit_s": limit - solver.time_margin(limit),
                              "status": r.status, "run_s": round(r.solver_seconds, 3),
                              "over_s": round(r.solver_seconds - limit, 3)}), flush=True)


if __name__ == "__main__":
    main()
