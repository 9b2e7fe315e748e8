"""The bad-input corpus (``tests/bad_inputs/``): each file gets its exit code and its sentence.

The files, the expectations and the README's table "What each bad input gets" come from one
list (``tests/bad_inputs/make.py``); regenerate all three with
``.venv/bin/python -m tests.bad_inputs.make``.
"""

from __future__ import annotations

import hashlib
import shutil

import pytest
from click.testing import CliRunner

from planner.cli import cli

from .bad_inputs.make import CASES, HERE, MARKERS, README, readme_table, write_all


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_each_bad_input_gets_its_exit_code_and_sentence(tmp_path, case):
    path = tmp_path / case.file
    shutil.copy(HERE / case.file, path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    args = [case.command, str(path)] + (["-o", str(tmp_path / "plan.xlsx"), "--quiet"] if case.command == "solve" else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == case.code, result.output
    assert case.says in result.output, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # the input is never modified
    assert (tmp_path / "plan.xlsx").exists() == (case.command == "solve" and case.code == 0)


def test_the_committed_corpus_is_what_the_script_writes(tmp_path):
    fresh = write_all(tmp_path)
    committed = sorted(p.name for p in HERE.iterdir() if p.suffix == ".xlsx")
    assert committed == sorted(p.name for p in fresh)
    for p in fresh:
        assert p.read_bytes() == (HERE / p.name).read_bytes(), p.name


def test_the_readme_table_is_current():
    text = README.read_text()
    start, end = text.index(MARKERS[0]), text.index(MARKERS[1]) + len(MARKERS[1])
    assert text[start:end] == readme_table(), "regenerate with: .venv/bin/python -m tests.bad_inputs.make"
