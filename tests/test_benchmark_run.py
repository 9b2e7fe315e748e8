"""The benchmark runner measures what a user pays: a worker starts with nothing of the planner's loaded."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_worker_has_not_imported_openpyxl_before_it_measures():
    """``planner solve`` imports openpyxl while HiGHS solves, and the benchmark's stages must show
    that; its generator imports openpyxl, so a worker must not import the generator first."""
    code = ("import json, sys\n"
            "sys.path.insert(0, 'benchmarks')\n"
            "import run\n"
            "run.work_ours = lambda **kw: {'loaded': sorted(m for m in ('openpyxl', 'planner', 'benchmarks.generate')"
            " if m in sys.modules)}\n"
            "sys.argv = ['run.py', '--worker', 'ours', '{}']\n"
            "run.main()\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"loaded": []}
