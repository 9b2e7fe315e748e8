"""The benchmark suite: where the time goes between a workbook and a plan, per instance size.

For each instance (``benchmarks/generate.py``: S, M, L, XL, and CFL, facility location
100 × 1000) the generated workbook is solved in a fresh subprocess per run, so that the
peak memory (``ru_maxrss``) is the run's own:

- ``ours``: the planner's own pipeline, ``planner.run.solve_file`` (what ``planner solve``
  runs), its stage timings: read, validate, build, hand-off (standard-form compile, the
  planner's scaling, ``passModel``), HiGHS (its own ``getRunTime``), duals (LP with
  integers fixed), extract (values back + tables), write; model rows, columns, binaries,
  non-zeros; and the time to import the planner (a cold start, outside the total);
- ``ref``: the hand-written highspy model of the same problem (``benchmarks/reference.py``)
  built from the same validated plan data, with the same HiGHS options.

Ratios: *pipeline* = (total − read − write) / HiGHS's own time, and *formulation* = HiGHS's
time on ours / HiGHS's time on the reference. The ``lp`` variant solves the LP relaxation
(``relax_integrality``) of the same models, so that overhead shows without branch-and-bound
noise. Extras: reading a 50k-row Offers sheet, writing a 50k-row Purchases sheet (the
planner's plan workbook and its bulk table alone, median of 3, vs openpyxl normal and
write-only modes, and XlsxWriter when it is importable), build time vs offers × periods
(fitted slope and exponent), HiGHS's threading options on the MIP, and ``--profile`` for a
cProfile of one pipeline run.

    .venv/bin/python benchmarks/run.py S M                         # make bench
    .venv/bin/python benchmarks/run.py S M L XL CFL --lp S M L XL CFL --extras read write threads   # make bench-all
    .venv/bin/python benchmarks/run.py L --variants lp --profile outputs/bench/L-lp.prof

Speed targets are checked here (and recorded in benchmarks/README.md), never by tests.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import functools
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Nothing of the planner's here, nor the generator (it imports openpyxl): a worker imports what it
# measures, so that the planner's own imports (and openpyxl's, which `planner solve` imports while
# HiGHS solves) land in the planner's stages as they do for a user.

OUT = ROOT / "outputs" / "bench"
TARGETS = {"pipeline_ratio": 1.2, "formulation_ratio": 1.0, "read_50k_s": 1.0, "write_50k_s": 4.0, "peak_L_mb": 1536}
ROWS_50K = 50_000
TOO_SHORT_S = 0.5  # HiGHS times below this are too noisy for a ratio to mean anything
REPEAT_BELOW_S = 20.0  # runs shorter than this are repeated (--repeat) and the best kept
WRITE_MODES = ("planner", "bulk table", "normal", "write-only", "write-only styled", "xlsxwriter")
WRITE_MEDIAN_OF = {"planner": 3, "bulk table": 3}  # the planner's own writers: median of 3 runs (the others: 1)
# number formats of the Purchases columns, as the plan writes them (planner.report._FORMATS)
WRITE_FORMATS = {"quantity": "#,##0.###", "unit_cost": "#,##0", "tariff": "0.0%", "spend": "#,##0", "co2e": "#,##0.###",
                 "water": "#,##0.###", "waste": "#,##0.###"}
# HiGHS option sets compared on the MIP (each in its own process: the thread pool is process-wide)
THREAD_OPTIONS = {
    "default": {},
    "threads=1": {"threads": 1},
    "threads=2": {"threads": 2},
    "threads=2 parallel=on": {"threads": 2, "parallel": "on"},
}


def fingerprint(cost, col_lower, col_upper, integer, row_lower, row_upper, A) -> str:
    """A digest of a model that ignores the order of rows and columns (and their names):
    equal digests mean the same model up to a permutation, as far as the sorted data tell."""
    import hashlib

    A = A.tocsc()
    parts = [cost, col_lower, col_upper, integer.astype(float), row_lower, row_upper, A.data,
             np.diff(A.indptr).astype(float), np.diff(A.tocsr().indptr).astype(float)]
    h = hashlib.sha1()
    for x in parts:
        x = np.sort(np.asarray(x, dtype=float))
        h.update(np.where(np.isfinite(x), np.round(x, 6), np.sign(x) * 1e300).tobytes())
    return h.hexdigest()[:12]


def yardstick() -> float:
    """Seconds for a 10-million-step Python loop: how fast this machine runs Python right now
    (about 0.4–0.6 s on a current laptop), to read the other figures against."""
    t = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - t


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


# --------------------------------------------------------------------------- workers (one per subprocess)

def work_ours(path: Path, relax: bool, time_limit: float, gap: float, threads: int | None) -> dict:
    """``planner.run.solve_file`` on ``path``; the compiled model is captured for its size."""
    t = time.perf_counter()
    from planner import run, solver

    imports = time.perf_counter() - t

    compiled = []
    compile_model = solver.compile_model

    def capture(model):
        c = compile_model(model)
        compiled.append(c)
        return c

    solver.compile_model = capture
    if relax:
        solver.solve = functools.partial(solver.solve, relax_integrality=True)
    with tempfile.TemporaryDirectory() as tmp:
        outcome = run.solve_file(path, Path(tmp) / "plan.xlsx", run.Options(time_limit_s=time_limit, mip_gap=gap, threads=threads))
    r, t = outcome.result, outcome.timings
    st = r.timings if r else {}
    c = compiled[0]
    stages = {
        "read": t.get("read", 0.0), "validate": t.get("validate", 0.0), "build": t.get("build", 0.0),
        "handoff": st.get("compile", 0.0) + st.get("pass", 0.0), "highs": r.solver_seconds if r else 0.0,
        "duals": st.get("duals", 0.0), "extract": st.get("extract", 0.0) + t.get("extract", 0.0),
        "write": t.get("write", 0.0),
    }
    total = t.get("total", sum(stages.values()))
    return dict(stages=stages, total=total, other=total - sum(stages.values()), status=outcome.status,
                objective=r.objective if r else None, gap=r.gap if r else None,
                rows=c.num_row, cols=c.num_col, binaries=int(c.integer.sum()) if not relax else 0,
                nnz=int(c.A.nnz), offer_periods=len(outcome.checked.data.offer_periods),
                fingerprint=fingerprint(c.cost, c.col_lower, c.col_upper, c.integer, c.row_lower, c.row_upper, c.A),
                compile=st.get("compile", 0.0), imports=imports, peak_mb=peak_mb())


def work_ref(path: Path, relax: bool, time_limit: float, gap: float, threads: int | None,
             options: dict | None = None) -> dict:
    """The hand-written model of the same validated plan data."""
    from benchmarks import reference
    from planner.reader import read_workbook
    from planner.validate import check

    t0 = time.perf_counter()
    book = read_workbook(path)
    t1 = time.perf_counter()
    data = check(book).data
    t2 = time.perf_counter()
    ref = reference.build(data)
    o = reference.solve(ref, time_limit, gap, threads, relax_integrality=relax, options=options)
    stages = {"read": t1 - t0, "validate": t2 - t1, "build": ref.seconds, "handoff": o.pass_seconds,
              "highs": o.highs_seconds}
    return dict(stages=stages, total=time.perf_counter() - t0, status=o.status, objective=o.objective, gap=o.gap,
                rows=len(ref.row_lower), cols=len(ref.cost), binaries=int(ref.integer.sum()) if not relax else 0,
                nnz=int(ref.A.nnz), peak_mb=peak_mb(),
                fingerprint=fingerprint(ref.cost, ref.col_lower, ref.col_upper, ref.integer & (not relax), ref.row_lower,
                                        ref.row_upper, ref.A))


def work_threads(path: Path, time_limit: float, gap: float, options: dict) -> dict:
    """HiGHS on our compiled model with ``options``."""
    from benchmarks import reference
    from models import build_model
    from planner import solver
    from planner.validate import load

    c = solver.compile_model(build_model(load(path).data))
    ref = reference.Reference(cost=c.cost, col_lower=c.col_lower, col_upper=c.col_upper, integer=c.integer,
                              A=c.A, row_lower=c.row_lower, row_upper=c.row_upper, seconds=c.seconds)
    o = reference.solve(ref, time_limit, gap, options=options)
    return dict(status=o.status, objective=o.objective, bound=o.bound, gap=o.gap, highs=o.highs_seconds)


def work_read(rows: int) -> dict:
    """Read a workbook whose Offers sheet has ``rows`` rows: calamine alone, the planner's reader, validation."""
    import pandas as pd

    from benchmarks import generate
    from planner.reader import read_workbook
    from planner.validate import check

    materials = 50
    data = generate.generate(materials=materials, sources=round(rows / (0.3 * materials)), periods=5)
    with tempfile.TemporaryDirectory() as tmp:
        path = generate.write_workbook(Path(tmp) / "offers.xlsx", data)
        best = lambda f: min(_timed(f) for _ in range(3))  # noqa: E731
        calamine = best(lambda: pd.read_excel(path, sheet_name=None, header=None, engine="calamine", dtype=object))
        read = best(lambda: read_workbook(path))
        book = read_workbook(path)
        validate = best(lambda: check(book))
    return dict(offers=len(data["Offers"]), sources=len(data["Sources"]), calamine=calamine, read=read, validate=validate)


def work_write(rows: int, mode: str) -> dict:
    """Write a plan whose Purchases sheet has ``rows`` rows, in one ``mode``."""
    import openpyxl
    import pandas as pd

    from benchmarks import generate
    from planner.plan import PlanResult
    from planner.report import write_plan

    rng = np.random.default_rng(3)
    q = np.round(rng.uniform(1, 500, rows), 3)
    cost = np.round(rng.uniform(10, 900, rows), 2)
    purchases = pd.DataFrame({
        "period": rng.integers(2027, 2047, rows), "material": rng.choice(generate.MATERIALS[:20], rows),
        "source": [f"S{i:05d}" for i in rng.integers(0, 3000, rows)], "country": rng.choice(["US", "AU", "CN", "CL"], rows),
        "bloc": rng.choice(["domestic", "ally", "FEOC", "partner"], rows), "kind": rng.choice(generate.KINDS, rows),
        "owner": [f"Group {i}" for i in rng.integers(0, 300, rows)], "quantity": q, "unit_cost": cost,
        "tariff": rng.choice([0.0, 0.1, 0.25], rows), "spend": q * cost, "co2e": q * 3.0, "water": q * 20.0, "waste": q,
    }).sort_values(["period", "material"]).reset_index(drop=True)
    path = Path(tempfile.mkdtemp()) / f"{mode}.xlsx"
    t = time.perf_counter()
    if mode == "planner":  # the plan workbook as planner.report writes it: named Tables, number formats, atomic save
        small = pd.DataFrame({"component": ["Total"], "discounted": [1.0], "undiscounted": [1.0]})
        plan = PlanResult(facts=[("plan", "write benchmark")], costs=small,
                          kpis=pd.DataFrame({"material": ["X"], "period": [2027], "bought": [1.0]}),
                          purchases=purchases, policies=pd.DataFrame({"policy": ["p"], "limit": [1.0]}),
                          investments=pd.DataFrame({"source": ["S"]}), shortfalls=pd.DataFrame({"material": ["X"]}),
                          supply=purchases[["material", "period", "bloc", "country", "quantity"]])
        write_plan(path, plan, None)
    elif mode == "bulk table":  # the Purchases sheet alone, as write_plan writes it
        from planner import excel

        wb, ws = excel.new_workbook("Purchases")
        excel.write_bulk_table(ws, "Purchases", purchases, WRITE_FORMATS)
        excel.print_setup(ws)
        excel.save_atomic(wb, path)
    elif mode in ("normal", "write-only"):  # plain rows, no table, no formats
        wb = openpyxl.Workbook(write_only=mode == "write-only")
        ws = wb.create_sheet("Purchases") if mode == "write-only" else wb.active
        ws.append(list(purchases.columns))
        for rec in purchases.itertuples(index=False, name=None):
            ws.append([v.item() if isinstance(v, np.generic) else v for v in rec])
        wb.save(path)
    elif mode == "write-only styled":  # what the plan needs: a named Table and a number format per column
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.worksheet.table import Table

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Purchases")
        columns = list(purchases.columns)
        formats = [WRITE_FORMATS.get(c) for c in columns]
        ws.append(columns)
        for rec in purchases.itertuples(index=False, name=None):
            row = []
            for v, f in zip(rec, formats):
                v = v.item() if isinstance(v, np.generic) else v
                if f:
                    v = WriteOnlyCell(ws, value=v)
                    v.number_format = f
                row.append(v)
            ws.append(row)
        table = Table(displayName="Purchases", ref=f"A1:{openpyxl.utils.get_column_letter(len(columns))}{rows + 1}")
        table._initialise_columns()
        for col, name in zip(table.tableColumns, columns):
            col.name = name
        ws.add_table(table)
        wb.save(path)
    elif mode == "xlsxwriter":  # the same styled table with XlsxWriter (optional: pip install xlsxwriter)
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("Purchases")
        fmt = {c: wb.add_format({"num_format": f}) for c, f in WRITE_FORMATS.items()}
        data = [[v.item() if isinstance(v, np.generic) else v for v in rec]
                for rec in purchases.itertuples(index=False, name=None)]
        ws.add_table(0, 0, rows, len(purchases.columns) - 1, {
            "name": "Purchases", "data": data,
            "columns": [{"header": c, **({"format": fmt[c]} if c in fmt else {})} for c in purchases.columns]})
        wb.close()
    seconds = time.perf_counter() - t
    size = path.stat().st_size
    path.unlink()
    return dict(mode=mode, rows=rows, seconds=seconds, mb=size / 1e6, peak_mb=peak_mb())


def _timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def worker(argv: list[str]) -> None:
    """``run.py --worker KIND JSON``: one measurement, its result as the last stdout line."""
    kind, kw = argv[0], json.loads(argv[1])
    if "path" in kw:
        kw["path"] = Path(kw["path"])
    prof = kw.pop("profile", None)
    f = {"ours": work_ours, "ref": work_ref, "threads": work_threads, "read": work_read, "write": work_write}[kind]
    if prof:
        p = cProfile.Profile()
        out = p.runcall(f, **kw)
        p.dump_stats(prof)
    else:
        out = f(**kw)
    print(json.dumps(out, default=float))


def best_of(repeat: int, kind: str, **kw) -> dict:
    """Run ``kind`` once, and up to ``repeat`` times in all when a run takes under REPEAT_BELOW_S:
    the run with the least total wall time is kept; ``highs_min`` is HiGHS's least time of all runs."""
    # HiGHS does not always keep its time limit (root heuristics on XL): a run may take at most this long
    timeout = 2 * kw["time_limit"] + 180
    runs = [spawn(kind, timeout=timeout, **kw)]
    while len(runs) < repeat and runs[0]["total"] < REPEAT_BELOW_S:
        runs.append(spawn(kind, timeout=timeout, **kw))
    best = min(runs, key=lambda r: r["total"])
    best["highs_min"] = min(r["stages"]["highs"] for r in runs)
    best["repeats"] = len(runs)
    return best


class WorkerFailed(RuntimeError):
    pass


EXIT_LEFT_RUNNING = 70  # planner.solver.EXIT_LEFT_RUNNING (not imported: the parent stays free of the planner)


def spawn(kind: str, timeout: float | None = None, **kw) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, json.dumps(kw, default=str)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WorkerFailed(f"{kind} {kw.get('path', '')}: stopped after {timeout:g} s") from None
    lines = p.stdout.strip().splitlines()
    if p.returncode == EXIT_LEFT_RUNNING and lines:  # the run returned, with a HiGHS that did not stop still in it
        return {**json.loads(lines[-1]), "left_running": True}
    if p.returncode:
        raise WorkerFailed(f"{kind} {kw} failed:\n{p.stderr[-3000:]}")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- the suite

def pipeline_ratio(r: dict) -> float:
    s = r["stages"]
    return (r["total"] - s["read"] - s.get("write", 0.0)) / max(s["highs"], 1e-9)


def fit(points: list[tuple[float, float]]) -> dict:
    """Least-squares slope through (x, y) and the exponent of y ∝ x^k (k = 1: linear)."""
    x, y = np.array(points, dtype=float).T
    slope, icpt = np.polyfit(x, y, 1)
    k = np.polyfit(np.log(x), np.log(y), 1)[0] if len(x) > 1 else float("nan")
    return {"us_per_offer_period": slope * 1e6, "intercept_s": icpt, "exponent": k}


def fmt_status(s: str | None) -> str:
    s = (s or "").lower()
    return "opt" if s == "optimal" else "limit" if "time" in s else s


def table(results: list[dict]) -> str:
    head = ("| instance | run | rows | cols | bin | nnz | imports | read | validate | build | hand-off | HiGHS | duals | extract "
            "| write | total | pipeline ratio | formulation ratio | peak MB | status | objective |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        s = r["stages"]
        cell = lambda k: f"{s[k]:.2f}" if k in s else "–"  # noqa: E731
        fr = f"{r['formulation_ratio']:.2f}" if r.get("formulation_ratio") is not None else "–"
        obj = f"{r['objective']:,.0f}" if r.get("objective") is not None else "–"
        gap = f" ({r['gap']:.1e})" if r.get("gap") else ""
        imports = f"{r['imports']:.2f}" if "imports" in r else "–"
        lines.append(f"| {r['instance']} {r['variant']} | {r['run']} | {r['rows']:,} | {r['cols']:,} | {r['binaries']:,} "
                     f"| {r['nnz']:,} | {imports} | {cell('read')} | {cell('validate')} | {cell('build')} | {cell('handoff')} "
                     f"| {cell('highs')} | {cell('duals')} | {cell('extract')} | {cell('write')} | {r['total']:.2f} "
                     f"| {pipeline_ratio(r):.2f} | {fr} | {r['peak_mb']:,.0f} | {fmt_status(r['status'])}{gap}{' (HiGHS left running)' if r.get('left_running') else ''} | {obj} |")
    return "\n".join(lines)


def versions() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"] + [f"{d} {version(d)}" for d in
                                                       ("pyomo", "highspy", "pandas", "numpy", "openpyxl", "python-calamine")]
    return f"{os.cpu_count()} cores, {platform.machine()}, " + ", ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("instances", nargs="*", default=["S", "M"], help="S M L XL CFL")
    ap.add_argument("--variants", default="mip,lp", help="mip, lp or both (lp only for --lp instances)")
    ap.add_argument("--lp", nargs="*", default=None, help="instances that also run the LP relaxation (default: all given)")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=None, help="HiGHS threads (default: HiGHS's choice, as the planner)")
    ap.add_argument("--no-ref", action="store_true", help="skip the hand-written reference")
    ap.add_argument("--repeat", type=int, default=3, help=f"best of N for runs under {REPEAT_BELOW_S:g} s")
    ap.add_argument("--extras", nargs="*", default=[], choices=["read", "write", "threads"])
    ap.add_argument("--threads-on", nargs="*", default=["M", "L"], help="instances for the threads study")
    ap.add_argument("--profile", type=Path, help="cProfile the pipeline of the first instance and variant to this file")
    ap.add_argument("--json", type=Path, default=OUT / "results.json")
    a = ap.parse_args()
    if a.worker:
        worker(a.worker)
        return
    from benchmarks import generate  # (not in a worker: see the top of this file)

    OUT.mkdir(parents=True, exist_ok=True)
    load_start, speed = os.getloadavg(), yardstick()
    print(f"# {dt.date.today()}  {versions()}  load average {load_start[0]:.2f}, 10M-step Python loop {speed:.2f} s",
          flush=True)
    lp_on = set(a.instances if a.lp is None else a.lp)
    variants = a.variants.split(",")
    results, extras, failures = [], {}, []
    opts = dict(time_limit=a.time_limit, gap=a.gap, threads=a.threads)
    for name in a.instances:
        t = time.perf_counter()
        path = generate.write_workbook(OUT / f"{name}.xlsx", generate.instance(name))
        print(f"\n{name}: generated {path} in {time.perf_counter() - t:.1f} s", flush=True)
        for variant in variants:
            if variant == "lp" and name not in lp_on:
                continue
            relax = variant == "lp"
            try:
                ours = best_of(1 if a.profile else a.repeat, "ours", path=str(path), relax=relax, **opts,
                               **({"profile": str(a.profile)} if a.profile else {}))
            except WorkerFailed as e:
                failures.append(f"{name} {variant} ours: {e}")
                print(f"{name} {variant}: {e}", flush=True)
                continue
            ours.update(instance=name, variant=variant, run="ours")
            results.append(ours)
            if a.profile:
                print(f"profile written to {a.profile}")
                pstats.Stats(str(a.profile)).sort_stats("cumulative").print_stats(25)
                a.profile = None
            if not a.no_ref:
                try:
                    ref = best_of(a.repeat, "ref", path=str(path), relax=relax, **opts)
                except WorkerFailed as e:
                    failures.append(f"{name} {variant} ref: {e}")
                    print(f"{name} {variant}: {e}", flush=True)
                    continue
                ref.update(instance=name, variant=variant, run="ref")
                ours["formulation_ratio"] = ours["highs_min"] / max(ref["highs_min"], 1e-9)
                ours["ref_objective"] = ref["objective"]
                ours["same_size_as_ref"] = all(ours[k] == ref[k] for k in ("rows", "cols", "binaries", "nnz"))
                ours["same_model_as_ref"] = ours["fingerprint"] == ref["fingerprint"]
                results.append(ref)
            print(table([r for r in results if r["instance"] == name and r["variant"] == variant]).split("\n", 2)[2],
                  flush=True)

    if "read" in a.extras:
        extras["read"] = spawn("read", rows=ROWS_50K)
        print(f"\nread: {extras['read']}", flush=True)
    if "write" in a.extras:
        extras["write"] = []
        for m in WRITE_MODES:
            try:
                runs = [spawn("write", rows=ROWS_50K, mode=m) for _ in range(WRITE_MEDIAN_OF.get(m, 1))]
            except WorkerFailed as e:  # xlsxwriter is optional
                print(f"write {m}: skipped ({str(e).strip().splitlines()[-1]})")
                continue
            w = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
            w.update(runs_s=[r["seconds"] for r in runs], load=os.getloadavg()[0])
            extras["write"].append(w)
        for w in extras["write"]:
            print(f"write: {w}", flush=True)
    if "threads" in a.extras:
        extras["threads"] = []
        for name in a.threads_on:
            path = OUT / f"{name}.xlsx"
            if not path.exists():
                generate.write_workbook(path, generate.instance(name))
            for label, options in THREAD_OPTIONS.items():
                try:
                    r = spawn("threads", timeout=2 * a.time_limit + 180, path=str(path), time_limit=a.time_limit,
                              gap=a.gap, options=options)
                except WorkerFailed as e:
                    failures.append(f"threads {name} {label}: {e}")
                    continue
                r.update(instance=name, options=label)
                extras["threads"].append(r)
                print(f"threads {name} {label:24s} HiGHS {r['highs']:.2f} s {r['status']} gap {r['gap']:.2e} "
                      f"objective {r['objective']}", flush=True)

    # build time vs offers × periods, over the sizes run (S left out when 3+ sizes: fixed costs dominate it)
    sized = [r for r in results if r["run"] == "ours" and r["variant"] == "mip" and r["instance"] in generate.SIZES]
    if len(sized) >= 3:
        sized = [r for r in sized if r["instance"] != "S"]
    if len(sized) >= 2:
        extras["build_fit"] = fit([(r["offer_periods"], r["stages"]["build"]) for r in sized])
        extras["build_compile_fit"] = fit([(r["offer_periods"], r["stages"]["build"] + r["compile"]) for r in sized])
        extras["build_fit"]["sizes"] = [r["instance"] for r in sized]
    print("\n" + table(results))
    print(summary(results, extras))
    for f in failures:
        print(f"  FAILED {f}")
    load_end = os.getloadavg()
    print(f"load average at start {load_start[0]:.2f}, at the end {load_end[0]:.2f} (1 min; {os.cpu_count()} cores)")
    a.json.write_text(json.dumps({"date": str(dt.date.today()), "machine": versions(), "time_limit_s": a.time_limit,
                                  "load_average": [load_start[0], load_end[0]], "yardstick_s": speed,
                                  "failures": failures,
                                  "gap": a.gap, "results": results, "extras": extras}, indent=1, default=float))
    print(f"\nresults written to {a.json}")


def summary(results: list[dict], extras: dict) -> str:
    """The targets, each met or not, from what this run measured."""
    out = ["", "targets:"]
    mark = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    for r in results:
        if r["run"] == "ours":
            pr = pipeline_ratio(r)
            line = f"  {r['instance']} {r['variant']}: pipeline ratio {pr:.2f}"
            if r["instance"] == "L":
                line += f" ({mark(pr <= TARGETS['pipeline_ratio'])}, target ≤ {TARGETS['pipeline_ratio']})"
            if r.get("formulation_ratio") is not None:
                fr = r["formulation_ratio"]
                verdict = mark(fr <= TARGETS["formulation_ratio"])
                ref = next(q for q in results if q["run"] == "ref" and q["instance"] == r["instance"]
                           and q["variant"] == r["variant"])
                if fmt_status(r["status"]) == "limit" and fmt_status(ref["status"]) == "limit":
                    verdict = (f"not measurable: both stopped at the time limit; gap ours {r['gap'] or float('nan'):.1e}, "
                               f"reference {ref['gap'] or float('nan'):.1e}")
                elif fr > TARGETS["formulation_ratio"] and max(r["highs_min"], ref["highs_min"]) < TOO_SHORT_S:
                    verdict = f"too short to judge: HiGHS under {TOO_SHORT_S:g} s"
                elif fr > TARGETS["formulation_ratio"] and r["same_model_as_ref"] and fr <= 1.25:
                    verdict = "met within noise: the same formulation up to row and column order"
                line += f"; formulation ratio {fr:.2f} ({verdict})"
                if r.get("ref_objective") is not None and r.get("objective") is not None:
                    line += f", objective ours/ref {r['objective'] / r['ref_objective']:.8f}"
            if r["instance"] == "L":
                line += f"; peak {r['peak_mb']:,.0f} MB ({mark(r['peak_mb'] <= TARGETS['peak_L_mb'])}, target ≤ 1.5 GB)"
            out.append(line)
    if "read" in extras:
        e = extras["read"]
        out.append(f"  read {e['offers']:,} offers: {e['read']:.2f} s ({mark(e['read'] <= TARGETS['read_50k_s'])}, "
                   f"target ≤ 1 s; calamine alone {e['calamine']:.2f} s; validation {e['validate']:.2f} s)")
    if "write" in extras:
        for w in extras["write"]:
            runs = " / ".join(f"{s:.2f}" for s in w.get("runs_s", [w["seconds"]]))
            out.append(f"  write {w['rows']:,} purchases, {w['mode']}: {w['seconds']:.2f} s "
                       f"({mark(w['seconds'] <= TARGETS['write_50k_s'])}, target ≤ 4 s; runs {runs} s at load "
                       f"{w.get('load', float('nan')):.1f}; peak {w['peak_mb']:.0f} MB)")
    if "build_fit" in extras:
        f, g = extras["build_fit"], extras["build_compile_fit"]
        verdict = mark(f["exponent"] <= 1.1) if len(f["sizes"]) >= 3 else "indicative only: run L and XL"
        out.append(f"  build over {', '.join(f['sizes'])}: {f['us_per_offer_period']:.1f} µs per offer-period, exponent "
                   f"{f['exponent']:.2f} ({verdict}; linear if ≈ 1); build + compile "
                   f"{g['us_per_offer_period']:.1f} µs, exponent {g['exponent']:.2f}")
    return "\n".join(out)


if __name__ == "__main__":
    main()
