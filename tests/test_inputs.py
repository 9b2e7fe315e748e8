"""The committed workbooks and the README reference are exactly what the code produces."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from planner import excel, reference
from planner.cli import cli
from planner.validate import load

ROOT = Path(__file__).resolve().parent.parent


def test_committed_template_and_example_match_the_commands(tmp_path):
    for command, name in (("template", "template.xlsx"), ("example", "example.xlsx")):
        fresh = tmp_path / name
        result = CliRunner().invoke(cli, [command, str(fresh)])
        assert result.exit_code == 0, result.output
        assert excel.content_digest(fresh) == excel.content_digest(ROOT / "inputs" / name), (
            f"inputs/{name} is stale: run `make inputs`")


def test_commands_refuse_to_overwrite_without_force(tmp_path):
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"keep me")
    for command in ("template", "example"):
        result = CliRunner().invoke(cli, [command, str(target)])
        assert result.exit_code == 2 and "--force" in result.output
        assert target.read_bytes() == b"keep me"


def test_committed_example_validates_without_warnings():
    checked = load(ROOT / "inputs" / "example.xlsx")
    assert checked.problems == [], [str(p) for p in checked.problems]
    assert len(checked.data.materials) >= 6 and checked.data.periods == tuple(range(2026, 2036))


def test_readme_reference_is_in_sync():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert reference.embed(readme) == readme, "README input reference is stale: run `python -m planner.reference README.md`"
