"""Several plans from one workbook: the base and its scenarios, each solved on its own.

A :class:`Task` is everything one solve needs (paths and options), small and picklable, so
that any executor can run it: tasks go to :func:`planner.pool.run_all` (spawned processes,
one task per process at a time). A distributed executor (Dask's ``Client.get_executor()``
is a ``concurrent.futures.Executor``) can take the same tasks, given a file system all its
workers share. Each run reads and checks the workbook itself and writes its own plan; what
comes back is a :class:`RunReport`, a few numbers and lines, never a model.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import pool
from .run import Options, solve_file
from .validate import BASE_SCENARIO

SCENARIO_SEPARATOR = "--"  # outputs/example-plan.xlsx → outputs/example-plan--china-ban.xlsx
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Task:
    """One solve: the input, the plan to write, the scenario (None: the base) and the options."""

    input: Path
    output: Path
    scenario: str | None
    options: Options

    @property
    def name(self) -> str:
        return self.scenario or BASE_SCENARIO


@dataclass
class RunReport:
    """What one run did, as plain data."""

    scenario: str
    status: str  # a solver status, "invalid", or "error" (a fault, with its message)
    plan: str | None = None
    objective: float | None = None
    gap: float | None = None
    bound: float | None = None
    proven_optimal: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    solver_seconds: float = 0.0
    lines: list[str] = field(default_factory=list)  # what to tell the user: the diagnosis, the fault
    diagnosis: list[dict] = field(default_factory=list)
    diagnosis_workbook: str | None = None

    def as_json(self) -> dict:
        return {"scenario": self.scenario, "status": self.status, "objective": self.objective, "gap": self.gap,
                "bound": self.bound, "plan": self.plan, "timings": {k: round(v, 4) for k, v in self.timings.items()},
                "solver_seconds": round(self.solver_seconds, 4), "messages": self.lines,
                **({"diagnosis": self.diagnosis, "diagnosis_workbook": self.diagnosis_workbook} if self.diagnosis else {})}


def plan_paths(out: Path, scenarios: list[str]) -> dict[str, Path]:
    """The plan of the base at ``out``, each scenario's next to it, named after both.

    A scenario name is kept in the file name as far as file systems allow (other characters
    become '-'); names that would collide, also on a case-insensitive file system, get -2, -3...
    """
    paths = {BASE_SCENARIO: out}
    taken = {out.name.lower()}
    for name in scenarios:
        slug = _UNSAFE.sub("-", name).strip("-.") or "scenario"
        candidate, n = f"{out.stem}{SCENARIO_SEPARATOR}{slug}{out.suffix}", 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{out.stem}{SCENARIO_SEPARATOR}{slug}-{n}{out.suffix}"
        taken.add(candidate.lower())
        paths[name] = out.with_name(candidate)
    return paths


def comparison_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}-comparison{out.suffix}")


def tasks_for(input: Path, paths: dict[str, Path], options: Options) -> list[Task]:
    return [Task(input, path, None if name == BASE_SCENARIO else name, replace(options, scenario=None if name == BASE_SCENARIO else name))
            for name, path in paths.items()]


def run_all(tasks: list[Task], jobs: int | None) -> list[RunReport]:
    """Every task, in up to ``jobs`` processes; reports in the order of the tasks."""
    return pool.run_all(run_task, tasks, jobs)


def run_task(task: Task) -> RunReport:
    """Solve one task and say what happened; a fault becomes a report, so the other runs go on."""
    t0 = time.perf_counter()
    try:
        outcome = solve_file(task.input, task.output, task.options)
    except Exception as e:  # a bug or an unreadable file in one run must not lose the others
        return RunReport(task.name, "error", timings={"total": time.perf_counter() - t0},
                         lines=[f"internal error: {type(e).__name__}: {e}"])
    report = RunReport(task.name, outcome.status, timings=dict(outcome.timings), solver_seconds=outcome.solver_seconds)
    if outcome.status == "invalid":
        report.lines = [str(p) for p in outcome.checked.errors]
    elif outcome.status == "infeasible" and outcome.diagnosis is not None:
        d = outcome.diagnosis
        report.lines = [f.message for f in d.findings + d.conflict] + [f"note: {n}" for n in d.notes]
        report.diagnosis = d.as_json()
        report.diagnosis_workbook = str(d.path) if d.path else None
    elif outcome.plan is None and outcome.result is not None and outcome.status != "time_limit_no_solution":
        report.status = "error"
        report.lines = [f"the solver failed ({outcome.result.message})"]
    if outcome.plan is not None:
        r = outcome.result
        report.plan = str(outcome.path)
        report.objective, report.gap, report.bound = r.objective, r.gap, r.bound
        report.proven_optimal = outcome.plan.proven_optimal
        report.lines = list(outcome.plan.warnings)
        edits = outcome.plan.scenario_edits
        if edits is not None:  # what an edit reached, when not all it names (tariff precedence)
            report.lines += [f"{e.sheet}.{e.column} where {e.where}: {e.note}" for e in edits.itertuples() if e.note]
    return report
