"""The input reference, generated from the schema.

One document describes the workbook: every sheet and column, the settings, and the
grammar of policies and scenarios. It is built here as a list of plain blocks
(headings, paragraphs, bullet lists, tables) and rendered twice: as markdown for the
README (:func:`schema_markdown`, embedded between :data:`MARKERS`) and as the workbook's
``Guide`` sheet (``planner.template``). Column facts come from ``planner.schema`` only;
this module adds the prose that explains how the rules read.

``python -m planner.reference README.md`` refreshes the README's copy.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from planner.schema import (
    COUNT_RULES,
    ENFORCEMENTS,
    METRICS,
    OPERATIONS,
    RULES,
    SELECTION_FIELDS,
    SETTINGS,
    SHARE_RULES,
    SHEET_BY_NAME,
    SHEETS,
    TEMPLATE_VERSION,
    TOTAL_RULES,
    range_text,
    Column,
    Setting,
    Sheet,
)

MARKERS = ("<!-- schema:start -->", "<!-- schema:end -->")
VERSION_LABEL = "template_version"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2  # 1 = the document's title, 2 = a section, 3 = a subsection


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Field:
    """A labelled value, e.g. the template version stamp."""

    label: str
    value: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | Bullets | Field | Table


# --------------------------------------------------------------------------- column facts

TYPE_NAMES = {
    "id": "text id",
    "text": "text",
    "number": "number",
    "integer": "whole number",
    "period": "period",
    "share": "fraction or %",
    "choice": "choice",
    "yesno": "yes / no",
    "any": "depends",
}

COLUMN_HEADER = ("column", "type", "unit", "default", "required", "allowed values", "description")


def number_text(value: object) -> str:
    """0.0 -> '0', 0.0001 -> '0.0001', 60.0 -> '60'; other values as written."""
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def default_text(item: Column | Setting) -> str:
    if getattr(item, "required", False):
        return ""
    return "blank" if item.default is None else number_text(item.default)


def allowed_text(item: Column | Setting) -> str:
    """What a cell may hold beyond its type: choices, a reference, bounds."""
    parts = []
    choices = getattr(item, "choices", ())
    refers_to = getattr(item, "refers_to", None)
    if choices:
        parts.append("one of " + ", ".join(choices))
    if item.type == "yesno":
        parts.append("yes or no")
    if refers_to:
        sheet, key = refers_to.split(".")
        parts.append(f"a {key} listed on {sheet}")
    if range_text(item):
        parts.append(range_text(item))
    return "; ".join(parts)


def column_row(item: Column | Setting) -> tuple[str, ...]:
    """One line of a column (or setting) table, in the order of :data:`COLUMN_HEADER`."""
    required = "yes" if getattr(item, "required", False) else ""
    return (item.key, TYPE_NAMES[item.type], item.unit, default_text(item), required,
            allowed_text(item), item.description)


def column_note(column: Column) -> str:
    """The header comment of a column: what it means and what it takes."""
    lines = [f"{column.key}{' (required)' if column.required else ''}", column.description]
    facts = [("Type", TYPE_NAMES[column.type]), ("Unit", column.unit),
             ("Default", default_text(column)), ("Allowed", allowed_text(column)),
             ("Example", column.example)]
    lines += [f"{label}: {text}" for label, text in facts if text]
    return "\n".join(lines)


def setting_note(setting: Setting) -> str:
    """The notes cell of a pre-filled Settings row."""
    facts = [("Unit", setting.unit), ("Default", default_text(setting)), ("Allowed", allowed_text(setting))]
    return " ".join([setting.description] + [f"{label}: {text}." for label, text in facts if text])


def sheet_blocks(sheet: Sheet) -> list[Block]:
    keys = ", ".join(sheet.keys) if sheet.keys else "none (several rows may share a name)"
    status = "Optional sheet. " if sheet.optional else ""
    return [
        Heading(sheet.name, 3),
        Paragraph(f"{status}{sheet.purpose} Row key: {keys}."),
        Table(COLUMN_HEADER, tuple(column_row(c) for c in sheet.columns)),
    ]


def settings_blocks() -> list[Block]:
    return [
        Heading("Settings values", 3),
        Paragraph("The Settings sheet holds one row per setting: its name in setting, its value in value. "
                  "A missing row or a blank value takes the default."),
        Table(("setting",) + COLUMN_HEADER[1:], tuple(column_row(s) for s in SETTINGS)),
    ]


# --------------------------------------------------------------------------- grammar

RULE_MEANINGS = {
    "max_share": "quantity bought from the selection ≤ limit × all quantity bought of that material in that period",
    "min_share": "quantity bought from the selection ≥ limit × all quantity bought of that material in that period",
    "max_sources": "number of offers of the selection in use for that material in that period ≤ limit",
    "min_sources": "number of offers of the selection in use for that material in that period ≥ limit",
    "max_total": "sum of metric over the selection ≤ limit",
    "min_total": "sum of metric over the selection ≥ limit",
}
METRIC_MEANINGS = {
    "quantity": "quantity bought (quantity unit)",
    "spend": "money spent on purchases (currency)",
    "co2e": "greenhouse-gas footprint of purchases (t CO2e)",
    "water": "water use of purchases (m3)",
    "waste": "waste from purchases (t)",
    "risk": "risk score × quantity (risk points × quantity unit)",
}
OPERATION_MEANINGS = {
    "set": "replace the cells with value",
    "scale": "multiply the cells by value (a blank, unlimited capacity scaled by 0 becomes 0; "
             "by any other factor it stays unlimited)",
    "add": "add value to the cells",
}
SELECTION_FORMS = (
    ("all", "all", "every purchase"),
    ("field=value", "bloc=FEOC",
     "purchases whose field has that value; field is one of " + ", ".join(SELECTION_FIELDS)),
    ("field=a|b", "bloc=domestic|ally", "purchases whose field has any of the values, counted together"),
    ("field=a|other=b", "bloc=domestic|kind=recycler",
     "purchases matching any alternative, counted once; an alternative that names a field switches to it"),
    ("field=*", "country=*", "each value of the field separately, as if there were one rule per value"),
)
POLICY_EXAMPLES = (
    dict(policy="feoc-cap", rule="max_share", selection="bloc=FEOC", limit="10%",
         meaning="At most 10% of each material in each period from FEOC countries."),
    dict(policy="no-country-above-40", rule="max_share", selection="country=*", limit="0.4",
         meaning="No single country supplies more than 40% of any material in any period."),
    dict(policy="allied-floor", rule="min_share", selection="bloc=domestic|ally", limit="25%",
         meaning="At least 25% of each material in each period from domestic or allied sources."),
    dict(policy="two-suppliers-ndpr", rule="min_sources", selection="all", material="NdPr", limit="2",
         enforcement="soft", penalty="1000000",
         meaning="At least two NdPr offers in use each period; each missing one costs 1,000,000."),
    dict(policy="co2e-cap", rule="max_total", selection="all", period="horizon", metric="co2e",
         limit="500000", meaning="At most 500,000 t CO2e over the whole horizon, all materials together."),
    dict(policy="budget-2030", rule="max_total", selection="all", period="2030", metric="spend",
         limit="2000000000", meaning="Purchases in 2030 cost at most 2 billion."),
)
SCENARIO_EXAMPLES = (
    dict(scenario="china-export-ban", sheet="Offers", column="capacity", where="country=CN",
         period="2027-2029", operation="scale", value="0",
         meaning="China's offers supply nothing from 2027 to 2029."),
    dict(scenario="feoc-tariff-25", sheet="Countries", column="tariff", where="bloc=FEOC",
         operation="set", value="0.25", meaning="A 25% tariff on every purchase from FEOC countries."),
    dict(scenario="demand-surge", sheet="Demand", column="quantity", operation="scale", value="1.5",
         meaning="Demand for every material in every period is 50% higher."),
)


def example_table(sheet_name: str, examples: tuple[dict, ...]) -> Table:
    """Example rows of a sheet, with the sheet's columns (in schema order) that they use."""
    sheet = SHEET_BY_NAME[sheet_name]
    used = [c.key for c in sheet.columns if any(c.key in e for e in examples)]
    return Table(tuple(used) + ("meaning",),
                 tuple(tuple(e.get(k, "") for k in used) + (e["meaning"],) for e in examples))


def policy_blocks() -> list[Block]:
    policies = SHEET_BY_NAME["Policies"]
    return [
        Heading("How a policy reads", 3),
        Paragraph("One row of Policies is one rule, applied to every material and period it covers. "
                  "Several rows of one policy may cover the same material and period (one row for every "
                  "material, another for NdPr in 2030): each row holds, and the plan names such instances "
                  "with their row."),
        Table(("rule", "meaning"), tuple((r, RULE_MEANINGS[r]) for r in RULES)),
        Paragraph("selection: which purchases the rule counts."),
        Table(("form", "example", "meaning"), SELECTION_FORMS),
        Bullets((
            "material: one material, or blank = each material separately for "
            f"{', '.join(SHARE_RULES + COUNT_RULES)}, and all materials together for {', '.join(TOTAL_RULES)}.",
            "period: one period; blank = each period separately; horizon = summed over the whole "
            "horizon (totals only).",
            "limit: a number. Shares accept 0.4 or 40%. Counts are numbers of offers. Totals are in the "
            "metric's unit.",
            "metric (totals only): " + "; ".join(f"{m} = {METRIC_MEANINGS[m]}" for m in METRICS) + ".",
            f"enforcement: {' or '.join(ENFORCEMENTS)}. hard must hold; soft may be broken at penalty "
            f"({policies.column('penalty').unit}), and every violation is reported.",
        )),
        Paragraph("Examples:"),
        example_table("Policies", POLICY_EXAMPLES),
    ]


def scenario_blocks() -> list[Block]:
    scenarios = SHEET_BY_NAME["Scenarios"]
    return [
        Heading("How a scenario reads", 3),
        Paragraph("A scenario is a named set of edits to the base data; rows with the same scenario name "
                  "are applied together, in sheet order. The base plan uses no scenario (the name base is "
                  "kept for it)."),
        Bullets((
            "sheet and column name the cells to edit (sheet: "
            + ", ".join(scenarios.column("sheet").choices) + "; for Settings the column is value and "
            "where names the setting: setting=carbon_price).",
            "where filters the rows: field=value, where field is a column of that sheet or of the row "
            "it refers to (an offer's source, a source's country), e.g. country=CN, source=MP-MTN, "
            "bloc=FEOC, material=NdPr; country=CN|RU for either value; country=CN & material=NdPr for "
            "both; blank = all rows. Blank cells compare as their defaults (a blank kind is mine).",
            "period limits the edit to one period (2027) or a range (2027-2029); blank = all periods. "
            "It applies to the rows of Demand and Tariffs in those periods, and to the values the model "
            "sees per period: an offer's unit_cost, capacity and tariff, a source's capacity, a country's "
            "tariff, and the rate of a Tariffs row for every period. Other columns hold one value for the "
            "whole horizon.",
            "operation and value change the cells: "
            + "; ".join(f"{op} = {OPERATION_MEANINGS[op]}" for op in OPERATIONS) + ". scale and add act "
            "on what a blank stands for (its default, or the country's tariff for an offer's tariff).",
            "Tariffs keep their precedence in a scenario: a Tariffs row, then the offer's tariff, then the "
            "country's. A new country tariff therefore applies where the country's rate is the one that "
            "counts; to change the others too, edit Tariffs.rate and Offers.tariff in the same scenario.",
        )),
        Paragraph("Examples:"),
        example_table("Scenarios", SCENARIO_EXAMPLES),
    ]


def reference_blocks() -> list[Block]:
    """The input reference: settings, every sheet and column, the two grammars."""
    blocks: list[Block] = []
    for sheet in SHEETS:
        blocks += sheet_blocks(sheet)
        if sheet.name == "Settings":
            blocks += settings_blocks()
        elif sheet.name == "Policies":
            blocks += policy_blocks()
        elif sheet.name == "Scenarios":
            blocks += scenario_blocks()
    return blocks


def guide_blocks() -> list[Block]:
    """The Guide sheet: what the workbook is for, how to fill it, then the reference."""
    sheet_rows = tuple(
        (s.name, "optional" if s.optional else "required", ", ".join(s.keys) or "(none)", s.purpose)
        for s in SHEETS
    )
    return [
        Heading("Critical-minerals sourcing planner: input workbook", 1),
        Field(VERSION_LABEL, TEMPLATE_VERSION),
        Paragraph(
            "This workbook describes a sourcing problem: the materials you need and how much in each "
            "period, the sources that can supply them and at what price, capacity and footprint, and the "
            "rules the plan must respect (diversification, environmental limits, budgets). The planner "
            "finds the least-cost plan of purchases and investments that meets demand under those rules."),
        Heading("How to fill it", 2),
        Bullets((
            "Fill the sheets in the order below; each holds one table whose header row must stay as it "
            "is. Hover over a header to see what the column means, its unit and its default.",
            "Add rows by typing in the first empty row under a table: the table grows with you. "
            "Identifiers (material, country, source, ...) are text; use short codes such as NdPr or US.",
            "Declare things before you use them: a material on Materials before Offers and Demand use "
            "it, a country before Sources, a source before Offers. The dropdowns list what is declared.",
            "Leave an optional cell blank to take its default. Set include to no to switch a row off "
            "without deleting it. Extra columns (e.g. notes) are kept but ignored by the model.",
            "Periods are whole numbers such as years. The horizon runs from the first to the last "
            "period that appears in Demand.",
            "Check the workbook with: planner validate FILE. Then solve it with: planner solve FILE.",
        ), numbered=True),
        Heading("Sheets", 2),
        Table(("sheet", "needed", "row key", "purpose"), sheet_rows),
        Heading("Input reference", 2),
        *reference_blocks(),
        Heading("Version", 2),
        Paragraph(f"Template version {TEMPLATE_VERSION}. The planner reads workbooks of this version; "
                  "the version is also stored in the workbook's document properties."),
    ]


# --------------------------------------------------------------------------- markdown


def _md_text(text: str) -> str:
    """Plain text as markdown: a lone * (as in country=*) must not start emphasis."""
    return str(text).replace("*", "\\*")


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    for row in table.rows:
        key = str(row[0]).replace("|", "\\|")  # code spans need no other escapes
        cells = [f"`{key}`" if key else ""] + [_md_cell(c) for c in row[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(blocks: list[Block], *, base_level: int = 2) -> str:
    """Markdown for ``blocks``; a level-1 heading becomes ``#`` × ``base_level``."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * (base_level + block.level - 1) + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            out += [_md_text(block.text), ""]
        elif isinstance(block, Bullets):
            marks = [f"{i}." if block.numbered else "-" for i in range(1, len(block.items) + 1)]
            out += [f"{mark} {_md_text(item)}" for mark, item in zip(marks, block.items)] + [""]
        elif isinstance(block, Field):
            out += [f"{block.label}: {block.value}", ""]
        else:
            out += _md_table(block) + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def schema_markdown() -> str:
    """The README's input reference (one section per sheet, the settings, the grammars)."""
    return render_markdown(reference_blocks(), base_level=1)


def embed(readme: str) -> str:
    """``readme`` with the text between :data:`MARKERS` replaced by :func:`schema_markdown`."""
    start, end = MARKERS
    head, found, rest = readme.partition(start)
    if not found or end not in rest:
        raise ValueError(f"the README has no {start} ... {end} section")
    return head + start + "\n" + schema_markdown() + end + rest.split(end, 1)[1]


def main(argv: list[str] | None = None) -> int:
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        path.write_text(embed(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
