"""Stage timings of `planner solve` on a workbook: the example, or a generated instance.

    .venv/bin/python benchmarks/stages.py inputs/example.xlsx
    .venv/bin/python benchmarks/stages.py --sources 10000 --materials 10 --periods 3   # ~30k offers

A generated instance is written with openpyxl's write-only mode (as another program
would) and solved by the installed `planner` command; the JSON line it prints carries the
stage timings, HiGHS's own run time and the status.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.generate import generate, write_workbook  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workbook", nargs="?", type=Path)
    ap.add_argument("--sources", type=int, default=10_000)
    ap.add_argument("--materials", type=int, default=10)
    ap.add_argument("--periods", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.workbook
        if path is None:
            t = time.perf_counter()
            rows = generate(materials=args.materials, sources=args.sources, periods=args.periods)
            path = write_workbook(Path(tmp) / "generated.xlsx", rows)
            print(f"generated {len(rows['Offers']):,} offers × {args.periods} periods in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)
        planner = Path(sys.executable).with_name("planner")
        out = subprocess.run([str(planner), "solve", str(path), "-o", str(Path(tmp) / "plan.xlsx"), "--json", "--quiet",
                              "--time-limit", str(args.time_limit)], capture_output=True, text=True)
        payload = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps({k: payload[k] for k in ("status", "objective", "gap", "timings", "solver_seconds")}, indent=1))


if __name__ == "__main__":
    main()
