"""The plan workbook (SPEC §5): what was decided, what it costs, and how it was produced.

Sheets: ``Summary`` (run facts, cost components, KPIs per material and period),
``Supply mix`` (by bloc and by country, with native charts), ``Purchases``, ``Policies``,
``Investments``, ``Shortfalls``, ``Stock`` (when the input has stockpiles), and the input tables the plan was solved from as
``input.<Sheet>`` (so that ``planner solve plan.xlsx`` solves it again). Every table is a
named Excel Table; user text is always written as text (see :mod:`planner.excel`).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter

from . import excel
from .plan import PlanResult
from .reader import EMBEDDED, ROW, RawBook

TITLE_FONT = excel.font(bold=True, size=14, color="1F4E78")
SECTION_FONT = excel.font(bold=True, size=12, color="1F4E78")
LABEL_FONT = excel.BOLD
WARN_FILL = PatternFill("solid", fgColor="FCE4D6")
OK_FILL = PatternFill("solid", fgColor="E2EFDA")

# Number formats by the kind of value a column holds.
MONEY = "#,##0"
QUANTITY = "#,##0.###"
SHARE = "0.0%"
GAP = "0.000%"  # a MIP's gap: the default tolerance is 0.01%, which SHARE would show as 0.0%
RATE = "0.0000"


# Columns whose number format is set by name; everything else is left general.
_FORMATS = {
    "quantity": QUANTITY, "demand": QUANTITY, "bought": QUANTITY, "shortfall": QUANTITY, "supplied": QUANTITY,
    "capacity": QUANTITY, "limit": "General", "achieved": "General", "slack": "General",
    "unit_cost": MONEY, "spend": MONEY, "cost": MONEY, "discounted": MONEY, "undiscounted": MONEY,
    "build_cost": MONEY, "penalty": MONEY, "penalty_cost": MONEY, "shortage_penalty": MONEY,
    "tariff": SHARE, "co2e": QUANTITY, "water": QUANTITY, "waste": QUANTITY,
    "feoc_share": SHARE, "domestic_share": SHARE, "allied_share": SHARE, "recycled_share": SHARE,
    "hhi": "0", "shadow_price": "#,##0.00", "violation": "General",
    "rule_cost": MONEY, "cost_low": MONEY, "cost_high": MONEY,
    "opening": QUANTITY, "closing": QUANTITY, "drawn": QUANTITY, "disposed": QUANTITY, "reserve_drawn": QUANTITY,
    "reserve_months": "0.0", "probability": SHARE, "gap": "0.00%",
}


def start_plan(inputs: RawBook | None):
    """The part of a plan workbook that the plan does not change: an empty Summary and the copies of
    the input tables (the last sheets). ``planner solve`` makes it while HiGHS solves; hand it to
    :func:`write_plan`, once."""
    wb, _ = excel.new_workbook("Summary")
    if inputs is not None:
        _embed_inputs(wb, inputs)
    return wb


def write_plan(path: str | Path, result: PlanResult, inputs: RawBook | None, started=None) -> Path:
    """Write the plan workbook to ``path`` whole or not at all; ``started``: :func:`start_plan` of
    ``inputs``, made beforehand (else it is made now)."""
    wb = started if started is not None else start_plan(inputs)
    excel.deflate_ahead(wb)  # the input copies' rows (start_plan leaves them: HiGHS may be running), meanwhile
    _summary(wb["Summary"], result)
    at = itertools.count(1)  # the plan's sheets go after the Summary, before the input copies

    def sheet(title: str):
        return wb.create_sheet(title, next(at))
    if result.scenario_edits is not None:
        _scenario(sheet("Scenario"), result)
    _supply_mix(sheet("Supply mix"), result.supply)
    for title, frame in (("Purchases", result.purchases), ("Policies", result.policies),
                         ("Investments", result.investments), ("Shortfalls", result.shortfalls),
                         *([("Stock", result.stock)] if result.stock is not None else []), *result.extra_sheets):
        excel.write_bulk_table(sheet(title), title.replace(" ", ""), frame, _formats(frame))
    for ws in wb.worksheets:
        excel.print_setup(ws, repeat_header=ws.title not in ("Summary", "Supply mix", "Scenario"))
    return excel.save_atomic(wb, path)


def gap_text(gap: float) -> str:
    """A proven plan's gap in words: "a gap of 0.04%", or "a gap below 0.01%" for one that two
    decimals would show as 0.00%."""
    return f"a gap of {gap:.2%}" if gap >= 0.5e-4 else "a gap below 0.01%"


def _summary(ws, r: PlanResult) -> None:
    excel.set_value(ws["A1"], r.fact("plan") or "Sourcing plan")  # user text: never a formula
    ws["A1"].font = TITLE_FONT
    gap = r.fact("gap")
    status = ("optimal" + (f" (proven within {gap_text(gap)})" if gap else "")) if r.proven_optimal else (
        f"NOT PROVEN OPTIMAL: {r.fact('status')}, gap {gap:.2%}")
    excel.set_value(ws["A2"], f"Status: {status}")
    ws["A2"].fill = OK_FILL if r.proven_optimal else WARN_FILL
    row = 4
    ws.cell(row=row, column=1, value="Run").font = SECTION_FONT
    row += 1
    for label, value in r.facts:
        ws.cell(row=row, column=1, value=label).font = LABEL_FONT
        cell = ws.cell(row=row, column=2)
        excel.set_value(cell, value)
        cell.alignment = Alignment(horizontal="left")
        if isinstance(value, float):
            cell.number_format = GAP if label == "gap" else ("0.000" if "seconds" in label else MONEY if abs(value) >= 100 else "General")
        row += 1
    for w in r.warnings:
        excel.set_value(ws.cell(row=row, column=1), f"Warning: {w}")
        ws.cell(row=row, column=1).fill = WARN_FILL
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Cost components").font = SECTION_FONT
    row += 1
    plan_table(ws, "Costs", r.costs, start_row=row, freeze=False)
    row += len(r.costs) + 3
    if r.rule_costs is not None:
        row = _rule_costs(ws, r, row)
    ws.cell(row=row, column=1, value="KPIs per material and period").font = SECTION_FONT
    row += 1
    excel.write_bulk_table(ws, "KPIs", r.kpis, _formats(r.kpis), start_row=row, freeze=False)  # the sheet's last table
    # the facts' labels and values share columns A and B with the tables: widen, never narrow; column A
    # as wide as the longest label (bold), so that none runs under its value
    label_width = max([36, *(len(str(label)) + 2 for label, _ in r.facts)])
    for j, least in enumerate([label_width, 18] + [14] * (len(r.kpis.columns) - 2), start=1):
        letter = get_column_letter(j)
        excel.set_width(ws, j, max(least, ws.column_dimensions[letter].width or 0))


def _rule_costs(ws, r: PlanResult, row: int) -> int:
    """What each hard rule costs: a sentence per policy, then the table; returns the next free row."""
    ws.cell(row=row, column=1, value="What each rule costs (total cost saved if it were dropped)").font = SECTION_FONT
    row += 1
    for line in r.rule_cost_lines:
        excel.set_value(ws.cell(row=row, column=1), line)
        row += 1
    plan_table(ws, "RuleCosts", r.rule_costs, start_row=row + 1, freeze=False)
    return row + len(r.rule_costs) + 4


def _scenario(ws, r: PlanResult) -> None:
    """The scenario this plan solved: its edits (Scenarios rows), then every input cell they changed."""
    ws["A1"] = f"Scenario: {r.fact('scenario')}"
    ws["A1"].font = TITLE_FONT
    excel.set_value(ws["A2"], "The base data with these edits applied; the input.* sheets hold the base as read.")
    ws.cell(row=4, column=1, value="Edits, in the order applied").font = SECTION_FONT
    plan_table(ws, "ScenarioEdits", r.scenario_edits, start_row=5, freeze=False)
    row = 5 + max(len(r.scenario_edits), 1) + 3
    ws.cell(row=row, column=1, value="Input cells changed (period blank: every period)").font = SECTION_FONT
    plan_table(ws, "ScenarioCells", r.scenario_changes, start_row=row + 1, freeze=False)


def plan_table(ws, name: str, frame: pd.DataFrame, start_row: int = 1, start_col: int = 1, freeze: bool = True) -> None:
    """A plan table, each column in the number format its name calls for."""
    excel.write_formatted_frame(ws, name, frame, _formats(frame), start_row=start_row, start_col=start_col, freeze=freeze)


# Otherwise by the name's shape: planned_cost, "cost if base", stressed_shortfall, closing stock...
_BY_WORD = (("share", SHARE), ("cost", MONEY), ("discounted", MONEY), ("undiscounted", MONEY), ("hedging", MONEY), ("shortfall", QUANTITY),
            ("bought", QUANTITY), ("reserve", QUANTITY), ("stock", QUANTITY))


def _formats(frame: pd.DataFrame) -> dict:
    return {c: _FORMATS.get(c) or next((f for word, f in _BY_WORD if word in str(c).replace(" ", "_").split("_")), None)
            for c in frame.columns}


def _supply_mix(ws, supply: pd.DataFrame) -> None:
    """Supply by bloc and by country per material and period, with a stacked chart each."""
    ws["A1"] = "Supply mix"
    ws["A1"].font = TITLE_FONT
    row = 3
    charts_col = 1
    for by, title in (("bloc", "by bloc"), ("country", "by country")):
        ws.cell(row=row, column=1, value=f"Quantity {title} (all materials, per period)").font = SECTION_FONT
        row += 1
        table = supply.pivot_table(index="period", columns=by, values="quantity", aggfunc="sum", fill_value=0.0)
        table = table.reset_index()
        table.columns = [str(c) for c in table.columns]
        name = f"SupplyBy{by.title()}"
        plan_table(ws, name, table, start_row=row, freeze=False)
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = f"Supply {title}"
        chart.y_axis.title = "quantity"
        chart.x_axis.title = "period"
        n = len(table)
        data = Reference(ws, min_col=2, max_col=len(table.columns), min_row=row, max_row=row + max(n, 1))
        cats = Reference(ws, min_col=1, min_row=row + 1, max_row=row + max(n, 1))
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart.height, chart.width = 8, 16
        ws.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}{row}")
        row += max(n, 1) + max(4, 18 - n)
    detail = supply.groupby(["material", "period", "bloc"], as_index=False)["quantity"].sum()
    ws.cell(row=row, column=charts_col, value="Quantity by material, period and bloc").font = SECTION_FONT
    excel.write_bulk_table(ws, "SupplyDetail", detail, _formats(detail), start_row=row + 1, freeze=False)  # the last table


def _embed_inputs(wb, inputs: RawBook) -> None:
    """Copy every input table as read, extra columns and switched-off rows included."""
    for name, table in inputs.tables.items():
        excel.write_bulk_table(wb.create_sheet(f"{EMBEDDED}{name}"), f"input_{name}", table.cells.drop(columns=[ROW]),
                               deflate=False)
