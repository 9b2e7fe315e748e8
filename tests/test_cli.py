"""The planner command as a user runs it (Click's CliRunner): output, JSON and exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from planner.cli import cli

from .conftest import write_plain


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_validate_clean_workbook(tmp_path, small_rows):
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = run("validate", path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"valid": True, "problems": [], "warnings": []}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # the input is never modified


def test_validate_lists_every_problem_with_json(tmp_path, small_rows):
    small_rows["Offers"][0]["unit_cost"] = "cheap"
    small_rows["Demand"][1]["period"] = 2026.5
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result = run("validate", path, "--json")
    assert result.exit_code == 1
    assert "sheet Offers, row 2, column unit_cost (value 'cheap'): expected a number" in result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    assert payload["valid"] is False
    assert [(p["sheet"], p["row"], p["column"], p["value"]) for p in payload["problems"]] == [
        ("Offers", 2, "unit_cost", "cheap"), ("Demand", 3, "period", 2026.5)]
    assert all(p["message"] for p in payload["problems"])


def test_usage_errors_exit_2(tmp_path):
    assert run("validate").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_solve_stdout_holds_only_results(tmp_path, small_rows):
    """stdout is for results: HiGHS (1.16) writes a banner there when a process makes its first
    Highs, before any option can silence it; the planner keeps it out. A real process, since
    CliRunner sees only what Python writes, not what the solver's C code writes to the descriptor."""
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    out = subprocess.run([sys.executable, "-c", "from planner.cli import main; main()", "solve", str(path),
                          "-o", str(tmp_path / "plan.xlsx"), "--json", "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("Small: optimal"), lines[:3]
    assert not any("Running HiGHS" in line or "Copyright" in line for line in lines)
    assert json.loads(lines[-1])["status"] == "optimal"
    assert out.stderr == ""  # --quiet: nothing on stderr either


def test_a_missing_workbook_is_named_in_one_sentence(tmp_path):
    missing = tmp_path / "missing.xlsx"
    result = run("solve", missing)
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{missing}: 1 problem(s) must be fixed",
                                          "  error    the file does not exist (no such file)."]


def test_solving_needs_openpyxl_only_to_write_the_plan():
    """planner solve reads with calamine and first imports openpyxl (~0.06 s, 180 modules) when it makes
    the plan workbook, while HiGHS solves: what it imports before that must not pull openpyxl in."""
    code = ("import sys\nfrom pathlib import Path\nfrom planner import cli, files, plan, run\n"
            "files.check_output(Path('outputs/x.xlsx'))\nplan.plan_scenario(Path('inputs/example.xlsx'))\n"
            "print('openpyxl' in sys.modules)")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_the_command_skips_pythons_teardown_but_not_its_output():
    """main() leaves with os._exit once stdout and stderr are flushed: no exit handler runs (Python's
    teardown of the libraries took 0.1–0.2 s), the JSON line is whole, the exit code is the command's."""
    root = Path(__file__).resolve().parents[1]
    code = "import atexit\natexit.register(lambda: print('TEARDOWN'))\nfrom planner.cli import main\nmain()"
    ok = subprocess.run([sys.executable, "-c", code, "validate", "inputs/example.xlsx", "--json"], cwd=root,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "TEARDOWN" not in ok.stdout
    assert json.loads(ok.stdout.strip().splitlines()[-1])["valid"] is True
    bad = subprocess.run([sys.executable, "-c", code, "validate", "missing.xlsx"], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode != 0 and "TEARDOWN" not in bad.stdout and "missing.xlsx" in bad.stdout + bad.stderr
