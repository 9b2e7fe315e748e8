"""The ``planner`` command. The only place that turns problems into text and exit codes.

Exit codes (SPEC §4): 0 solved or valid, 1 invalid input, 2 usage error, 3 infeasible,
4 no solution within the time limit. An unexpected fault prints one sentence (and the
traceback only with ``--debug``) and exits 70.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import InputError, Problem

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_NO_SOLUTION, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70


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
            report_problems(None, e.problems, False)
            ctx.exit(EXIT_INVALID)
        except KeyboardInterrupt:
            _err("interrupted; nothing was written")
            ctx.exit(130)
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
def solve(input: Path, output: Path | None, time_limit, gap, threads, quiet, as_json):
    """Validate INPUT, find the least-cost plan and write the plan workbook."""
    from .run import Options, solve_file

    out = output or _default_plan_path(input)
    if out.exists() and input.exists() and out.resolve() == input.resolve():
        raise click.UsageError("the plan would overwrite the input workbook; choose another --output")
    out.parent.mkdir(parents=True, exist_ok=True)
    log = (lambda s: None) if quiet else _err
    outcome = solve_file(input, out, Options(time_limit, gap, threads), progress=_progress(quiet), log=log)
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
        click.echo(f"{input}: infeasible: the rules, capacities and demand cannot all hold.")
        for o in outcome.obstacles:
            click.echo(f"  {o.message} ({o.sheet}" + (f" row {o.row})" if o.row else ")"))
        if not outcome.obstacles:
            click.echo("  Relax a hard policy, add capacity, or set a shortage_penalty so that unmet demand is allowed.")
        payload["problems"] = [{"sheet": o.sheet, "row": o.row, "message": o.message} for o in outcome.obstacles]
        _finish(payload, as_json, EXIT_INFEASIBLE)
    if outcome.status == "time_limit_no_solution":
        click.echo(f"{input}: no plan found within the time limit; raise --time-limit or relax the gap.")
        _finish(payload, as_json, EXIT_NO_SOLUTION)
    if outcome.plan is None:
        click.echo(f"{input}: the solver failed ({outcome.result.message if outcome.result else 'unknown'}).")
        _finish(payload, as_json, EXIT_INTERNAL)
    r = outcome.result
    payload.update(objective=r.objective, gap=r.gap, bound=r.bound, plan=str(outcome.path))
    _digest(outcome)
    _finish(payload, as_json, EXIT_OK)


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
    for w in plan.warnings:
        click.echo(f"  warning: {w}")
    click.echo(f"  plan written to {outcome.path} (solved in {outcome.timings.get('total', 0):.1f} s, "
               f"HiGHS {r.solver_seconds:.2f} s)")


def _finish(payload: dict, as_json: bool, code: int):
    if as_json:
        click.echo(json.dumps(payload, default=str))
    sys.exit(code)


def main(argv=None):
    cli.main(args=argv, prog_name="planner")
