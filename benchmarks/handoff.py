"""How fast does a built Pyomo model reach HiGHS? Measures the solve paths on a generated instance.

Paths, each on a freshly built model of the same data:

- ``appsi_highs``   Pyomo's APPSI HiGHS interface (``SolverFactory("appsi_highs")``)
- ``highs``         Pyomo's contrib HiGHS interface (``SolverFactory("highs")``)
- ``passModel``     ``planner.solver.solve``: Pyomo's LinearStandardFormCompiler, then one
                    ``highspy.Highs.passModel`` call; values mapped back, loaded and
                    verified, duals off for a like-for-like comparison

For each: wall time from the built model to the values available, HiGHS's own run time
(``getRunTime``), their ratio, and the objective (paths must agree).

    .venv/bin/python benchmarks/handoff.py --time-limit 60     # ~100k Buy columns
    .venv/bin/python benchmarks/handoff.py --sources 200       # smaller
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyomo.environ as pyo  # noqa: E402
from pyomo.contrib.solver.solvers.highs import Highs  # noqa: E402

from models import build_model  # noqa: E402
from planner import solver  # noqa: E402
from planner.validate import plan_from_rows  # noqa: E402


def generate(sources: int = 2000, materials: int = 10, periods: int = 5, seed: int = 1) -> dict[str, list[dict]]:
    """Workbook rows: every source offers every material in every period (sources × materials × periods Buy columns).

    3% of sources carry a fixed cost, 0.5% of offers a minimum order, a few are candidates;
    policies: no country above 30% of a material (country=*), a yearly CO2e cap, and a
    horizon floor on domestic supply.
    """
    rng = np.random.default_rng(seed)
    years = list(range(2030, 2030 + periods))
    mats = [f"M{j:02d}" for j in range(materials)]
    countries = [f"C{k:02d}" for k in range(25)]
    blocs = ["domestic", "ally", "partner", "FEOC", "other"]
    rows: dict[str, list[dict]] = {
        "Settings": [{"setting": "plan_name", "value": "handoff benchmark"}],
        "Materials": [{"material": m} for m in mats],
        "Countries": [{"country": c, "bloc": blocs[k % 5], "tariff": 0.1 if k % 5 == 3 else 0.0,
                       "risk_score": round(float(rng.uniform(0, 1)), 2)} for k, c in enumerate(countries)],
        "Sources": [], "Offers": [], "Demand": [], "Policies": [],
    }
    for i in range(sources):
        cand = i % 50 == 0
        rows["Sources"].append({
            "source": f"S{i:05d}", "country": countries[i % len(countries)], "capacity": float(rng.integers(50, 400)),
            "fixed_cost": float(rng.integers(1000, 5000)) if i % 33 == 0 else 0.0,
            "status": "candidate" if cand else "existing", "build_cost": 20000.0 if cand else 0.0,
            "lead_time": 2 if cand else 0})
        for m in mats:
            rows["Offers"].append({
                "source": f"S{i:05d}", "material": m, "unit_cost": round(float(rng.uniform(10, 100)), 2),
                "capacity": float(rng.integers(10, 100)), "co2e": round(float(rng.uniform(0.5, 5)), 2),
                "min_order": 5.0 if rng.uniform() < 0.005 else 0.0})
    total_cap = sources * 55 / 3
    for m in mats:
        for t in years:
            rows["Demand"].append({"material": m, "period": t, "quantity": round(total_cap * rng.uniform(0.6, 0.9))})
    rows["Policies"] = [
        {"policy": "no-country-over-30", "rule": "max_share", "selection": "country=*", "limit": 0.3},
        {"policy": "co2-cap", "rule": "max_total", "metric": "co2e", "limit": total_cap * materials * 2.6},
        {"policy": "domestic-floor", "rule": "min_total", "selection": "bloc=domestic", "period": "horizon",
         "limit": total_cap * materials * periods * 0.15},
    ]
    return rows


def run_pyomo(name: str, model, time_limit: float, gap: float) -> dict:
    if name == "appsi_highs":
        opt = pyo.SolverFactory(name)
        opt.config.time_limit, opt.config.mip_gap = time_limit, gap
        opt.highs_options.update({"output_flag": False})
        start = time.perf_counter()
        res = opt.solve(model, load_solutions=True)
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
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--paths", default="passModel,appsi_highs,highs")
    a = ap.parse_args()

    t = time.perf_counter()
    rows = generate(a.sources, a.materials, a.periods)
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
