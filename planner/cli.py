"""The ``planner`` command. The only place that turns problems into text and exit codes.

Exit codes (SPEC §4): 0 solved or valid, 1 invalid input, 2 usage error, 3 infeasible,
4 no solution within the time limit; 73 an output cannot be written (missing or read-only
folder, full disk: nothing is written), 130 interrupted (Ctrl-C: nothing is written). An
unexpected fault prints one sentence (and the traceback only with ``--debug``) and exits 70.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import InputError, OutputError, Problem

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_NO_SOLUTION, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70
EXIT_CANT_WRITE, EXIT_INTERRUPTED = 73, 130  # an output cannot be written (sysexits' EX_CANTCREAT); Ctrl-C
_METRICS = ("co2e", "water", "waste", "risk", "feoc_share", "domestic_share", "allied_share", "recycled_share")


def _err(text: str = "") -> None:
    click.echo(text, err=True)


def report_problems(path, problems: list[Problem], as_json: bool) -> None:
    """Print every problem on stdout (errors first), and the JSON line with --json."""
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    head = f"{path}: " if path else ""
    if errors:
        click.echo(f"{head}{len(errors)} problem(s) must be fixed" + (f", {len(warnings)} warning(s)" if warnings else ""))
    elif warnings:
        click.echo(f"{head}valid, with {len(warnings)} warning(s)")
    else:
        click.echo(f"{head}valid")
    for p in errors:
        click.echo(f"  error    {p}")
    for p in warnings:
        click.echo(f"  warning  {p}")
    if as_json:
        click.echo(json.dumps({"valid": not errors, "problems": [p.as_json() for p in errors],
                               "warnings": [p.as_json() for p in warnings]}, default=str))


def _refuse_overwrite(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")


class _Planner(click.Group):
    """Turns every failure into a message and an exit code; never a traceback."""

    def invoke(self, ctx):
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except InputError as e:
            report_problems(getattr(e, "path", None), e.problems, False)  # an unreadable file is named
            ctx.exit(EXIT_INVALID)
        except OutputError as e:
            _err(f"error: {e}")
            ctx.exit(EXIT_CANT_WRITE)
        except KeyboardInterrupt:
            _err("interrupted; nothing was written")
            ctx.exit(EXIT_INTERRUPTED)
        except OSError as e:
            name = f": {e.filename}" if getattr(e, "filename", None) else ""
            _err(f"error: {e.strerror or e}{name}")
            ctx.exit(EXIT_INVALID)
        except Exception as e:  # a bug of ours: one sentence for the user, details with --debug
            _err(f"internal error: {type(e).__name__}: {e}. Please report it with the input file; "
                 "rerun with --debug for details.")
            if debug:
                traceback.print_exc()
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Planner, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of internal faults.")
@click.pass_context
def cli(ctx, debug):
    """Critical-minerals sourcing planner: least-cost plans from an Excel workbook."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def template(path: Path, force: bool):
    """Write an empty input workbook to PATH: every sheet, dropdowns, comments and a Guide."""
    from .template import write_input_workbook

    _refuse_overwrite(path, force)
    write_input_workbook(path, None, force=True)
    click.echo(f"wrote template {path}")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def example(path: Path, force: bool):
    """Write a filled example workbook (rare earths and battery materials) to PATH."""
    from .example import example_rows
    from .template import write_input_workbook

    _refuse_overwrite(path, force)
    write_input_workbook(path, example_rows(), force=True)
    click.echo(f"wrote example {path}")


@cli.command()
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout.")
def validate(input: Path, as_json: bool):
    """Check INPUT and list every problem with sheet, row, column and value."""
    from .validate import load

    try:
        checked = load(input)
    except InputError as e:
        report_problems(input, e.problems, as_json)
        sys.exit(EXIT_INVALID)
    report_problems(input, checked.problems, as_json)
    sys.exit(EXIT_INVALID if checked.errors else EXIT_OK)


def _progress(quiet: bool):
    """Progress on stderr for solves longer than a couple of seconds, only on a terminal."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(elapsed, incumbent, bound, gap):
        if elapsed < 2.0:
            return
        inc = "none yet" if incumbent is None else f"{incumbent:,.0f}"
        bnd = "-" if bound is None else f"{bound:,.0f}"
        g = "-" if gap is None or gap != gap else f"{gap:.2%}"
        _err(f"  {elapsed:7.1f} s   incumbent {inc}   bound {bnd}   gap {g}")

    return show


def _check_output(out: Path, default: bool) -> None:
    """Fail before any work if ``out`` cannot be written; only a default output folder is created."""
    from .files import check_output

    check_output(out, create_folder=default)


def _default_plan_path(input: Path) -> Path:
    return Path("outputs") / f"{input.stem}-plan.xlsx"


@cli.command()
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Plan workbook to write (default: outputs/<input>-plan.xlsx).")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Seconds the solver may run (default: Settings time_limit_s).")
@click.option("--gap", type=click.FloatRange(min=0, max=1), help="Relative MIP gap to stop at (default: Settings mip_gap).")
@click.option("--threads", type=click.IntRange(min=1), help="Solver threads (default: Settings threads, else HiGHS's choice).")
@click.option("--quiet", is_flag=True, help="No progress or log lines on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout.")
@click.option("--policy-costs", is_flag=True,
              help="Also price each hard Policies row: the total cost saved if it were dropped (one re-solve each).")
@click.option("--scenario", "scenario_names", multiple=True, metavar="NAME",
              help="Also solve this scenario of the Scenarios sheet (repeatable): one plan each, next to the base's, "
                   "and a comparison workbook. '--scenario base' alone solves the base only.")
@click.option("--all-scenarios", is_flag=True, help="Solve the base and every scenario, and compare them.")
@click.option("--jobs", type=click.IntRange(min=1),
              help="Solves to run at once in separate processes (default: the number of cores).")
@click.option("--robust", is_flag=True,
              help="One plan hedged over the scenarios with a probability (the base takes the rest): builds and "
                   "contracts decided once, purchases and stock per scenario, least expected cost.")
@click.option("--risk-weight", type=click.FloatRange(min=0, max=1), default=0.0, show_default=True,
              help="With --robust: weight of the worst scenario's cost against the expected cost (1 = minimax).")
@click.pass_context
def solve(ctx, input: Path, output: Path | None, time_limit, gap, threads, quiet, as_json, policy_costs,
          scenario_names, all_scenarios, jobs, robust, risk_weight):
    """Validate INPUT, find the least-cost plan and write the plan workbook.

    With --scenario or --all-scenarios: one plan per scenario plus the base, solved in
    parallel, and a comparison workbook of them all (see 'planner compare'). The exit code
    is then the highest of the runs' (70 > 4 > 3 > 0: a fault, no plan in time, infeasible).

    With --robust: one robust plan over the scenarios with a probability, and beside it how
    each scenario's own plan fares under every scenario (the value of hedging).
    """
    from .run import Options, solve_file
    from .validate import BASE_SCENARIO

    if robust and (scenario_names or all_scenarios or policy_costs):
        raise click.UsageError("--robust plans over every scenario with a probability; it does not take "
                               "--scenario, --all-scenarios or --policy-costs")
    if risk_weight and not robust:
        raise click.UsageError("--risk-weight applies to --robust plans only")
    out = output or (Path("outputs") / f"{input.stem}-robust.xlsx" if robust else _default_plan_path(input))
    if out.exists() and input.exists() and out.resolve() == input.resolve():
        raise click.UsageError("the plan would overwrite the input workbook; choose another --output")
    _check_output(out, default=output is None)
    log = (lambda s: None) if quiet else _err
    options = Options(time_limit, gap, threads, policy_costs=policy_costs, jobs=jobs)
    if robust:
        _solve_robust(input, out, options, risk_weight, quiet, as_json, log)
    wanted = list(dict.fromkeys(scenario_names))
    if all_scenarios or any(n != BASE_SCENARIO for n in wanted):
        _solve_scenarios(input, out, wanted, all_scenarios, options, jobs, quiet, as_json)
    if not wanted:
        from .plan import plan_scenario

        options.scenario = plan_scenario(input)  # a scenario's plan solves that scenario again
        if options.scenario:
            log(f"{input} is the plan of scenario {options.scenario!r}: solving that scenario again "
                f"(--scenario base solves the base)")
    outcome = solve_file(input, out, options, progress=_progress(quiet), log=log)
    if outcome.status == "invalid":
        report_problems(input, outcome.checked.problems, as_json)
        sys.exit(EXIT_INVALID)
    if outcome.checked and outcome.checked.warnings and not quiet:
        for w in outcome.checked.warnings:
            _err(f"warning: {w}")
    payload = {"status": outcome.status, "objective": None, "gap": None, "bound": None, "plan": None,
               "timings": {k: round(v, 4) for k, v in outcome.timings.items()},
               "solver_seconds": round(outcome.solver_seconds, 4)}
    if outcome.status == "infeasible":
        explain_infeasible(input, outcome.diagnosis, quiet)
        payload["diagnosis"] = outcome.diagnosis.as_json()
        payload["diagnosis_workbook"] = str(outcome.diagnosis.path) if outcome.diagnosis.path else None
        _finish(payload, as_json, EXIT_INFEASIBLE)
    if outcome.status == "time_limit_no_solution":
        click.echo(f"{input}: no plan found within the time limit; raise --time-limit or relax the gap.")
        _finish(payload, as_json, EXIT_NO_SOLUTION)
    if outcome.plan is None:
        click.echo(f"{input}: the solver failed ({outcome.result.message if outcome.result else 'unknown'}).")
        _finish(payload, as_json, EXIT_INTERNAL)
    r = outcome.result
    payload.update(objective=r.objective, gap=r.gap, bound=r.bound, plan=str(outcome.path))
    if outcome.plan.rule_costs is not None:
        payload["rule_costs"] = [{k: (_number(v) if k.startswith(("rule_cost", "cost_")) else v) for k, v in rec.items()}
                                 for rec in outcome.plan.rule_costs.to_dict("records")]
    _digest(outcome)
    _finish(payload, as_json, EXIT_OK)


def _solve_robust(input: Path, out: Path, options, risk_weight: float, quiet: bool, as_json: bool, log) -> None:
    from .robust import ROBUST, solve_robust

    o = solve_robust(input, out, options, risk_weight, progress=_progress(quiet), log=log)
    if o.status == "invalid":
        report_problems(input, o.problems, as_json)
        sys.exit(EXIT_INVALID)
    payload = {"status": o.status, "objective": None, "gap": None, "bound": None, "plan": None,
               "timings": {k: round(v, 4) for k, v in o.timings.items()}, "solver_seconds": round(o.solver_seconds, 4),
               "probabilities": o.probabilities}
    if o.plan is None:
        click.echo(f"{input}: no robust plan: {o.message}")
        code = {"infeasible": EXIT_INFEASIBLE, "time_limit_no_solution": EXIT_NO_SOLUTION}.get(o.status, EXIT_INTERNAL)
        _finish(payload, as_json, code)
    r, cur = o.result, o.plan.fact("currency")
    payload.update(objective=r.objective, gap=r.gap, bound=r.bound, plan=str(o.path),
                   plans=[{k: _number(v) if isinstance(v, float) else v for k, v in rec.items()}
                          for rec in o.summary.to_dict("records")])
    state = "optimal" if o.plan.proven_optimal else f"NOT PROVEN OPTIMAL (gap {r.gap:.2%}, bound {r.bound:,.0f})"
    click.echo(f"{o.plan.fact('plan')}: robust plan {state}")
    click.echo("  scenarios: " + ", ".join(f"{n} {p:.0%}" for n, p in o.probabilities.items()))
    click.echo(f"  {'plan (commitments from)':<28} {'expected cost':>16} {'worst cost':>16} {'hedging saves':>16}")
    for rec in o.summary.itertuples():
        click.echo(f"  {rec.plan:<28} {rec.expected_cost:>16,.0f} {rec.worst_cost:>16,.0f} "
                   f"{(rec.value_of_hedging if rec.plan != ROBUST else 0.0):>16,.0f}")
    click.echo(f"  costs in {cur}, discounted; 'hedging saves' = that plan's expected cost minus the robust plan's")
    for w in o.plan.warnings:
        click.echo(f"  warning: {w}")
    click.echo(f"  plan written to {o.path} (in {o.timings.get('total', 0):.1f} s, HiGHS {r.solver_seconds:.2f} s "
               "for the robust model)")
    _finish(payload, as_json, EXIT_OK)


def explain_infeasible(input, diagnosis, quiet: bool) -> None:
    """What must give way: on stdout (the result) and on stderr, once when both are the same terminal."""
    lines = [f"{input}: infeasible: the rules, capacities and demand cannot all hold."]
    if diagnosis.findings:
        lines.append("What must give way (policies are relaxed first, then capacities, then demand):")
        lines += [f"  - {f.message}" for f in diagnosis.findings]
    if diagnosis.conflict:
        lines.append("These limits cannot all hold even with purchases split freely (a conflicting set):")
        lines += [f"  - {f.message}" for f in diagnosis.conflict]
    lines += [f"  note: {n}" for n in diagnosis.notes]
    if diagnosis.path:
        lines.append(f"No plan was written; the diagnosis is in {diagnosis.path}")
    for line in lines:
        click.echo(line)
    if not quiet and not _same_terminal():
        for line in lines:
            _err(line)


def _same_terminal() -> bool:
    try:
        return sys.stdout.isatty() and sys.stderr.isatty() and os.path.samestat(os.fstat(1), os.fstat(2))
    except (OSError, ValueError):
        return False


def _digest(outcome) -> None:
    """A few lines on stdout: status, cost, shares, where the plan is."""
    plan, r = outcome.plan, outcome.result
    cur = plan.fact("currency")
    state = "optimal" if plan.proven_optimal else f"NOT PROVEN OPTIMAL (gap {r.gap:.2%}, bound {r.bound:,.0f})"
    click.echo(f"{plan.fact('plan')}: {state}")
    click.echo(f"  total cost {r.objective:,.0f} {cur} (discounted)")
    for comp in plan.costs.itertuples():
        if comp.component != "Total" and abs(comp.discounted) > 0.5:
            click.echo(f"    {comp.component:<26} {comp.discounted:>18,.0f}")
    k = plan.kpis[plan.kpis["material"] == "(all)"]
    if len(k):
        feoc = (k["feoc_share"] * k["bought"]).sum() / max(k["bought"].sum(), 1e-9)
        click.echo(f"  bought {k['bought'].sum():,.0f} of {k['demand'].sum():,.0f} demanded; "
                   f"shortfall {k['shortfall'].sum():,.0f}; FEOC share {feoc:.1%} over the horizon")
    if len(plan.investments):
        builds = ", ".join(f"{b.source} in {b.build_period}" for b in plan.investments.itertuples())
        click.echo(f"  builds: {builds}")
    if plan.rule_cost_lines:
        click.echo("  what each rule costs (re-solved without it):")
        for line in plan.rule_cost_lines:
            click.echo(f"    {line}")
    for w in plan.warnings:
        click.echo(f"  warning: {w}")
    click.echo(f"  plan written to {outcome.path} (solved in {outcome.timings.get('total', 0):.1f} s, "
               f"HiGHS {r.solver_seconds:.2f} s)")


# A run's exit code by its status; several runs exit with the highest (a fault > no plan in time > infeasible).
_RUN_EXIT = {"optimal": EXIT_OK, "time_limit_feasible": EXIT_OK, "invalid": EXIT_INVALID, "infeasible": EXIT_INFEASIBLE,
             "time_limit_no_solution": EXIT_NO_SOLUTION}


def _solve_scenarios(input: Path, out: Path, wanted: list[str], all_scenarios: bool, options, jobs, quiet, as_json):
    """The base and scenarios: one plan each (in parallel), then the comparison workbook."""
    from . import batch, compare, pool, scenarios
    from .validate import BASE_SCENARIO, load

    log = (lambda s: None) if quiet else _err
    checked = load(input)
    if checked.errors:
        report_problems(input, checked.problems, as_json)
        sys.exit(EXIT_INVALID)
    available = scenarios.names(checked)
    unknown = [n for n in wanted if n != BASE_SCENARIO and n not in available]
    listed = f"its scenarios: {', '.join(available)}" if available else "it has no scenarios (the Scenarios sheet is empty)"
    if unknown:
        raise click.UsageError(f"{input} has no scenario {', '.join(repr(n) for n in unknown)}; {listed}")
    if all_scenarios and not available:
        raise click.UsageError(f"--all-scenarios: {input} has no scenarios (the Scenarios sheet is empty)")
    chosen = available if all_scenarios else [n for n in wanted if n != BASE_SCENARIO]
    paths = batch.plan_paths(out, chosen)
    comparison = batch.comparison_path(out)
    for p in [*paths.values(), comparison]:
        if p.exists() and input.exists() and p.resolve() == input.resolve():
            raise click.UsageError(f"{p} would overwrite the input workbook; choose another --output")
    if not quiet:
        for w in checked.warnings:
            _err(f"warning: {w}")
    at_once = min(jobs or pool.default_jobs(), len(paths))
    if at_once > 1:  # share the cores between the runs; rule pricing inside a run stays in its process
        if options.threads is None and checked.settings.threads is None:
            options.threads = max(1, pool.default_jobs() // at_once)
        if options.jobs is None:
            options.jobs = 1
    log(f"solving {len(paths)} plans (the base and {len(chosen)} scenario{'s' if len(chosen) != 1 else ''}), "
        f"{at_once} at a time")
    reports = batch.run_all(batch.tasks_for(input, paths, options), at_once)
    for r in reports:
        if r.plan:
            head = f"{r.scenario:<28} {'optimal' if r.proven_optimal else 'NOT PROVEN OPTIMAL (gap ' + format(r.gap, '.2%') + ')'}"
            click.echo(f"{head}  total cost {r.objective:,.0f}  {r.plan} ({r.timings.get('total', 0):.1f} s)")
        else:
            click.echo(f"{r.scenario:<28} {r.status.upper().replace('_', ' ')}: no plan")
        for line in r.lines:
            click.echo(f"    {line}")
    plans = [compare.read_plan(r.plan, inputs=checked) for r in reports if r.plan]
    missing = [compare.Missing(r.scenario, r.status, "; ".join(r.lines[:2])) for r in reports if not r.plan]
    written = None
    if len(plans) >= 2:
        c = compare.compare(plans, missing)
        written = compare.write(c, comparison)
        for line in compare.digest(c, written):
            click.echo(line)
    else:
        click.echo("fewer than two plans: no comparison written")
    code = max(_RUN_EXIT.get(r.status, EXIT_INTERNAL) for r in reports)
    payload = {"status": "ok" if code == EXIT_OK else "some runs have no plan", "exit_code": code,
               "runs": [r.as_json() for r in reports], "comparison": str(written) if written else None}
    _finish(payload, as_json, code)


@cli.command("compare")
@click.argument("plans", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Comparison workbook to write (default: <first plan>-comparison.xlsx beside it).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout.")
def compare_plans(plans: tuple[Path, ...], output: Path | None, as_json: bool):
    """Compare plan workbooks side by side; the first plan is the base.

    Writes Summary (run facts, key figures with Δ and Δ% coloured good or bad), Charts,
    Supply mix, Data (one long table for pivots) and Inputs diff (every input cell that
    differs from the base's, scenario edits included).
    """
    from . import batch, compare

    if len(plans) < 2:
        raise click.UsageError("give at least two plans: the base first, then the plans to compare with it")
    out = output or batch.comparison_path(plans[0])
    if any(out.exists() and out.resolve() == p.resolve() for p in plans):
        raise click.UsageError(f"{out} is one of the plans compared; choose another --output")
    _check_output(out, default=output is None)
    c = compare.compare([compare.read_plan(p) for p in plans])
    written = compare.write(c, out)
    for line in compare.digest(c, written):
        click.echo(line)
    total = c.horizon.set_index("kpi").loc[compare.TOTAL_COST.key]
    _finish({"comparison": str(written), "warnings": c.warnings, "inputs_diff": len(c.inputs_diff),
             "plans": [{"label": p.label, "scenario": p.scenario, "plan": str(p.path), "total_cost": total[p.label]}
                       for p in c.plans]}, as_json, EXIT_OK)


@cli.command("stress")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scenario", "scenario_names", multiple=True, required=True, metavar="NAME",
              help="A scenario of the plan's inputs to stress it under (repeatable): one stressed plan each.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Stressed plan to write; with several scenarios a name stem or a folder "
                   "(default: outputs/<plan>-stress--<scenario>.xlsx).")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Seconds each solve may run (default: Settings time_limit_s).")
@click.option("--shortage-penalty", type=click.FloatRange(min=0),
              help="Cost per unit of unmet demand, where the demand has none "
                   "(default: 10 × the material's highest price in the scenario).")
@click.option("--quiet", is_flag=True, help="No progress or log lines on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout.")
def stress_plan(plan: Path, scenario_names, output: Path | None, time_limit, shortage_penalty, quiet, as_json):
    """Stress-test PLAN: keep its builds and contracts, apply a scenario, re-optimise the rest.

    Purchases and stock before the disruption are held as planned; from its first period the
    reserve may be drawn and demand may go unmet at a shortage penalty. Each stressed plan is
    a plan workbook with a Stress sheet (planned against stressed, per material and period),
    comparable with 'planner compare PLAN STRESSED'. Exits with the highest code of its runs.
    """
    from . import scenarios, stress
    from .validate import BASE_SCENARIO

    log = (lambda s: None) if quiet else _err
    base = stress.read_base(plan)
    wanted = list(dict.fromkeys(scenario_names))
    available = scenarios.names(base.checked)
    listed = f"its scenarios: {', '.join(available)}" if available else "its inputs have no scenarios (the Scenarios sheet is empty)"
    unknown = [n for n in wanted if n not in available]
    if unknown:
        base_note = " ('base' is the plan itself, not a disruption)" if BASE_SCENARIO in unknown else ""
        raise click.UsageError(f"{plan} has no scenario {', '.join(repr(n) for n in unknown)}{base_note}; {listed}")
    paths = stress.output_paths(plan, output, wanted)
    for p in paths.values():
        if p.exists() and p.resolve() == plan.resolve():
            raise click.UsageError(f"{p} would overwrite the plan being stressed; choose another --output")
        _check_output(p, default=output is None)
    if not quiet:
        for w in base.checked.warnings:
            _err(f"warning: {w}")
    runs, payload_runs = [], []
    for name in wanted:
        r = stress.stress(base, name, paths[name], time_limit, shortage_penalty, progress=_progress(quiet), log=log)
        runs.append(r)
        payload_runs.append(r.as_json())
        if r.plan is not None:
            for line in stress.digest(r, base):
                click.echo(line)
        elif r.status == "infeasible":
            explain_infeasible(f"{plan} under {name}", r.diagnosis, quiet)
        elif r.status == "time_limit_no_solution":
            click.echo(f"{name}: no stressed plan found within the time limit; raise --time-limit.")
        else:
            click.echo(f"{name}: the solver failed ({r.result.message if r.result else 'unknown'}).")
    code = max(_RUN_EXIT.get(r.status, EXIT_INTERNAL) for r in runs)
    payload = {"status": runs[0].status if len(runs) == 1 else ("ok" if code == EXIT_OK else "some runs have no plan"),
               "exit_code": code, "stressed": str(plan), "runs": payload_runs}
    if len(runs) == 1:
        payload.update({k: payload_runs[0][k] for k in ("objective", "gap", "bound", "plan", "timings", "solver_seconds")})
    _finish(payload, as_json, code)


@cli.command()
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--metric", required=True, type=click.Choice(sorted(_METRICS)),
              help="What to trade cost against (over the horizon, all materials unless --material).")
@click.option("--points", type=click.IntRange(min=2), default=8, show_default=True,
              help="Plans on the sweep, from the cost-optimal one to the best achievable metric.")
@click.option("--material", help="Measure the metric on this material only.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Frontier workbook to write (default: outputs/<input>-frontier-<metric>.xlsx).")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Seconds each solve may run (default: Settings time_limit_s).")
@click.option("--gap", type=click.FloatRange(min=0, max=1), help="Relative MIP gap to stop at (default: Settings mip_gap).")
@click.option("--threads", type=click.IntRange(min=1), help="Solver threads per solve (default: Settings threads).")
@click.option("--jobs", type=click.IntRange(min=1), help="Solves to run at once in separate processes (default: the number of cores).")
@click.option("--quiet", is_flag=True, help="No log lines on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout.")
def frontier(input: Path, metric, points, material, output, time_limit, gap, threads, jobs, quiet, as_json):
    """The cost–impact frontier of INPUT: the cheapest plan for each level of METRIC, as a table and a chart."""
    from .frontier import points_table, sweep

    out = output or Path("outputs") / f"{input.stem}-frontier-{metric}.xlsx"
    if out.exists() and input.exists() and out.resolve() == input.resolve():
        raise click.UsageError("the frontier would overwrite the input workbook; choose another --output")
    _check_output(out, default=output is None)
    result = sweep(input, metric, points, out, time_limit, gap, threads, jobs, material,
                   log=(lambda s: None) if quiet else _err)
    if result.status == "invalid":
        report_problems(input, result.checked.problems, as_json)
        sys.exit(EXIT_INVALID)
    if result.status == "unknown_material":
        raise click.BadParameter(f"{material!r} is not on the Materials sheet", param_hint="--material")
    payload = {"status": result.status, "metric": metric, "frontier": None, "points": [],
               "timings": {k: round(v, 4) for k, v in result.timings.items()}}
    if result.status == "infeasible":
        explain_infeasible(input, result.diagnosis, quiet)
        payload["diagnosis"] = result.diagnosis.as_json()
        _finish(payload, as_json, EXIT_INFEASIBLE)
    if not result.points:
        click.echo(f"{input}: no plan found within the time limit; raise --time-limit or relax the gap.")
        _finish(payload, as_json, EXIT_NO_SOLUTION if result.status == "time_limit_no_solution" else EXIT_INTERNAL)
    table = points_table(result)
    m = result.metric
    fmt = (lambda v: f"{v:.1%}") if m.is_share else (lambda v: f"{v:,.4g}")
    n = len(result.points)
    click.echo(f"{input}: cost against {m.label}, {n} plan{'s' if n != 1 else ''}"
               + (f" ({len(result.dropped)} dominated or unsolved, dropped)" if result.dropped else ""))
    for rec in table.itertuples():
        click.echo(f"  {rec.point:>2} {rec.plan:<18} {m.label} {fmt(getattr(rec, m.name)):>12}   "
                   f"total cost {rec.total_cost:>18,.0f}   extra {rec.extra_cost_pct:>7.2%}")
    if len(table) == 1:
        click.echo(f"  the cost-optimal plan already has the best achievable {m.label}: there is nothing to trade")
    click.echo(f"  frontier written to {result.path} ({result.timings.get('total', 0):.1f} s)")
    payload.update(frontier=str(result.path), best=result.best,
                   points=[{"plan": r["plan"], "limit": _number(r["limit"]), "metric": _number(r[m.name]),
                            "cost": r["total_cost"], "status": r["status"]} for r in table.to_dict("records")])
    _finish(payload, as_json, EXIT_OK)


def _number(v):
    """A float for JSON, None for a missing one (JSON has no NaN)."""
    return None if v is None or v != v else float(v)


def _finish(payload: dict, as_json: bool, code: int):
    if as_json:
        click.echo(json.dumps(payload, default=str))
    sys.exit(code)


def main(argv=None):
    """The ``planner`` command. Once its output is flushed it leaves with ``os._exit``: Python's own
    exit tears down every library loaded (pandas, numpy, scipy, HiGHS) and took 0.1–0.2 s after
    each command, for nothing a finished command needs (its files are written and closed, its
    worker processes joined); and with a HiGHS that did not stop when interrupted still running,
    Python's exit would abort (status 134) waiting for its thread."""
    try:
        cli.main(args=argv, prog_name="planner")
    except SystemExit as e:
        if isinstance(e.code, str):  # (click exits with numbers; a text is an error message, as Python prints it)
            sys.stderr.write(e.code + "\n")
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be said
                pass
        os._exit(code)
