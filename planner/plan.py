"""What a plan is, as tables: what the plan workbook shows (planner.report writes it) and what
``compare`` reads back. Kept apart from planner.report, which imports openpyxl, so that solving
needs openpyxl only to write the workbook (first imported while HiGHS solves)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import python_calamine

from .validate import BASE_SCENARIO


@dataclass
class PlanResult:
    """Everything a plan workbook shows, as tables (also what ``compare`` reads back)."""

    facts: list[tuple[str, object]]  # run facts and provenance, in display order
    costs: pd.DataFrame  # component, discounted, undiscounted
    kpis: pd.DataFrame  # one row per material and period
    purchases: pd.DataFrame
    policies: pd.DataFrame
    investments: pd.DataFrame
    shortfalls: pd.DataFrame
    supply: pd.DataFrame  # material, period, bloc, country, quantity (for the mix tables)
    proven_optimal: bool = True
    warnings: list[str] = field(default_factory=list)
    rule_costs: pd.DataFrame | None = None  # with --policy-costs (see planner.policy_costs)
    rule_cost_lines: list[str] = field(default_factory=list)
    scenario_edits: pd.DataFrame | None = None  # a scenario's plan: each edit and the cells it changed
    scenario_changes: pd.DataFrame | None = None  # (see planner.scenarios)
    stock: pd.DataFrame | None = None  # material, period, opening, bought, used, closing, reserve...; None: no stockpiles
    extra_sheets: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # (title, table) after Shortfalls

    def fact(self, label: str):
        return dict(self.facts).get(label)


def summary_facts(grid: list[list]) -> dict[str, object]:
    """The Run section of a plan's Summary: label in column A, value in column B, up to a blank row."""
    facts: dict[str, object] = {}
    start = next((i for i, r in enumerate(grid) if r and r[0] == "Run"), None)
    if start is None:
        return facts
    for r in grid[start + 1:]:
        if not r or r[0] in ("", None):
            break
        facts[str(r[0])] = r[1] if len(r) > 1 and r[1] != "" else None
    return facts


def plan_scenario(path: str | Path) -> str | None:
    """The scenario a plan workbook was solved for (None: not a plan, or the base)."""
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        if "Summary" not in wb.sheet_names or not any(s.lower().startswith("input.") for s in wb.sheet_names):
            return None
        name = summary_facts(wb.get_sheet_by_name("Summary").to_python(nrows=80)).get("scenario")
    except Exception:  # not a workbook we can read: solving it will say so
        return None
    return None if name in (None, BASE_SCENARIO) else str(name)
