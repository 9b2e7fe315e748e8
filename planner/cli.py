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


def main(argv=None):
    cli.main(args=argv, prog_name="planner")
