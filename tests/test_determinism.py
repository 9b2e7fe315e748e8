"""Determinism: the same input and options give the same plan, run after run.

Separate processes with different hash seeds (``PYTHONHASHSEED``: the order of Python sets
and dicts of strings) must build the same model in the same order and get the same plan
from HiGHS: the same objective to the last bit and the same purchases, builds and policy
results. Time-limited solves are excluded: where HiGHS stops depends on the clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from models import build_model
from planner import solver
from planner.example import example_rows
from planner.template import write_input_workbook
from planner.validate import plan_from_rows

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ("Purchases", "Investments", "Policies", "Shortfalls")


def test_the_same_rows_solve_to_the_same_values_in_one_process(small_rows):
    runs = [solver.solve(build_model(plan_from_rows(small_rows))) for _ in range(3)]
    for r in runs[1:]:
        assert r.objective == runs[0].objective
        for name, values in runs[0].values.items():
            assert r.values[name].equals(values), name
        assert r.shadow_prices.equals(runs[0].shadow_prices)


@pytest.mark.slow
def test_the_example_gives_the_same_plan_in_fresh_processes(tmp_path):
    path = write_input_workbook(tmp_path / "example.xlsx", example_rows())
    payloads, sheets = [], []
    for seed in ("1", "2"):
        plan = tmp_path / f"plan-{seed}.xlsx"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", "from planner.cli import main; main()", "solve", str(path), "-o", str(plan), "--json",
                              "--quiet", "--time-limit", "600"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=900)
        assert out.returncode == 0, out.stdout + out.stderr
        payloads.append(json.loads(out.stdout.strip().splitlines()[-1]))
        sheets.append(pd.read_excel(plan, sheet_name=list(COMPARED), engine="calamine"))
    assert payloads[0]["status"] == payloads[1]["status"] == "optimal"
    assert payloads[0]["objective"] == payloads[1]["objective"]  # to the last bit
    for name in COMPARED:
        pd.testing.assert_frame_equal(sheets[0][name], sheets[1][name], check_exact=True, obj=name)
