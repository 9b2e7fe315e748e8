"""Stage timings of `planner solve` on a workbook: the example, or a generated instance.

    .venv/bin/python benchmarks/stages.py inputs/example.xlsx
    .venv/bin/python benchmarks/stages.py --sources 10000 --materials 10 --periods 3   # 100k offers

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

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parent))

from handoff import generate  # noqa: E402


def write_rows(path: Path, rows: dict[str, list[dict]]) -> None:
    wb = Workbook(write_only=True)
    for name, recs in rows.items():
        ws = wb.create_sheet(name)
        keys = list(dict.fromkeys(k for r in recs for k in r))
        ws.append(keys)
        for r in recs:
            ws.append([r.get(k) for k in keys])
    wb.save(path)


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
            rows = generate(args.sources, args.materials, args.periods)
            path = Path(tmp) / "generated.xlsx"
            write_rows(path, rows)
            print(f"generated {len(rows['Offers']):,} offers × {args.periods} periods in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)
        planner = Path(sys.executable).with_name("planner")
        out = subprocess.run([str(planner), "solve", str(path), "-o", str(Path(tmp) / "plan.xlsx"), "--json", "--quiet",
                              "--time-limit", str(args.time_limit)], capture_output=True, text=True)
        payload = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps({k: payload[k] for k in ("status", "objective", "gap", "timings", "solver_seconds")}, indent=1))


if __name__ == "__main__":
    main()
