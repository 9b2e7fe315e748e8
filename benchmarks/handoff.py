"""How fast does a built Pyomo model reach HiGHS? Measures the solve paths on a generated instance.

Paths, each on a freshly built model of the same data:

- ``appsi_highs``   Pyomo's APPSI HiGHS interface (``SolverFactory("appsi_highs")``)
- ``highs``         Pyomo's contrib HiGHS interface (``SolverFactory("highs")``)
- ``passModel``     ``planner.solver.solve``: ``planner.standard_form`` (the model's rows read
                    directly), then one ``highspy.Highs.passModel`` call; values mapped back, loaded and
                    verified, duals off for a like-for-like comparison

For each: wall time from the built model to the values available, HiGHS's own run time
(``getRunTime``), their ratio, and the objective (paths must agree).

The instance comes from ``benchmarks/generate.py`` (every source offers every material
unless ``--offered`` says otherwise).

    .venv/bin/python benchmarks/handoff.py --time-limit 60     # ~100k Buy columns
    .venv/bin/python benchmarks/handoff.py --sources 200       # smaller
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyomo.environ as pyo  # noqa: E402
from pyomo.contrib.solver.solvers.highs import Highs  # noqa: E402

from benchmarks.generate import generate  # noqa: E402
from models import build_model  # noqa: E402
from planner import solver  # noqa: E402
from planner.validate import plan_from_rows  # noqa: E402


def run_pyomo(name: str, model, time_limit: float, gap: float) -> dict:
    if name == "appsi_highs":
        opt = pyo.SolverFactory(name)
        opt.config.time_limit, opt.config.mip_gap = time_limit, gap
        opt.highs_options.update({"output_flag": False})
        start = time.perf_counter()
        opt.solve(model, load_solutions=True)
        wall = time.perf_counter() - start
        run = opt._solver_model.getRunTime()
    else:
        opt = Highs()
        start = time.perf_counter()
        opt.solve(model, time_limit=time_limit, rel_gap=gap, load_solutions=True)
        wall = time.perf_counter() - start
        run = opt._solver_model.getRunTime()
    return {"wall": wall, "highs": run, "objective": pyo.value(model.total_cost)}


def run_passmodel(model, time_limit: float, gap: float) -> dict:
    start = time.perf_counter()
    r = solver.solve(model, time_limit_s=time_limit, mip_gap=gap, duals=False, load=True)
    wall = time.perf_counter() - start
    return {"wall": wall, "highs": r.solver_seconds, "objective": r.objective, "status": r.status, "timings": r.timings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=2000)
    ap.add_argument("--materials", type=int, default=10)
    ap.add_argument("--periods", type=int, default=5)
    ap.add_argument("--offered", type=float, default=1.0, help="share of (source, material) pairs offered")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--paths", default="passModel,appsi_highs,highs")
    a = ap.parse_args()

    t = time.perf_counter()
    rows = generate(materials=a.materials, sources=a.sources, periods=a.periods, offered=a.offered)
    data = plan_from_rows(rows)
    print(f"validate: {time.perf_counter() - t:.2f} s ({len(data.offers)} offers)")
    for path in a.paths.split(","):
        t = time.perf_counter()
        model = build_model(data)
        build = time.perf_counter() - t
        r = run_passmodel(model, a.time_limit, a.gap) if path == "passModel" else run_pyomo(path, model, a.time_limit, a.gap)
        n_int = sum(len(v) for v in (model.Use, model.SourceUse, model.Build))
        print(f"{path:12s} build {build:6.2f} s | cols {len(model.Buy)} Buy + {n_int} binary | "
              f"to values {r['wall']:7.2f} s | HiGHS run {r['highs']:7.2f} s | outside HiGHS "
              f"{r['wall'] - r['highs']:6.2f} s | ratio {r['wall'] / r['highs']:.2f}x | objective {r['objective']:.8g} "
              f"{r.get('status', '')}", flush=True)


if __name__ == "__main__":
    main()
