"""The workbook contract, declared once.

Every sheet and column of the input workbook (SPEC §2) is described here, with its type,
unit, default, whether it is required, its bounds, what it refers to and its allowed
values. The template, the reader, the validation, the Guide sheet and the README's input
reference are all derived from these tables; no other module lists columns by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATE_VERSION = "1.0"

# Column types. Each names how a cell is read and checked:
#   id        text identifier (never a number, even when it looks like one)
#   text      free text
#   number    a real number
#   integer   a whole number
#   period    a whole number that is a period of the horizon (or any increasing integer)
#   share     a fraction 0–1, also written as a percentage ("40%")
#   choice    one of `choices`
#   yesno     yes / no
#   any       kept as written; its meaning depends on another column (Settings.value, Scenarios.value)
TYPES = ("id", "text", "number", "integer", "period", "share", "choice", "yesno", "any")


@dataclass(frozen=True)
class Column:
    key: str
    type: str
    description: str
    unit: str = ""
    default: object = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    refers_to: str | None = None  # "Sheet.column" whose values this column must take
    choices: tuple[str, ...] = ()
    example: str = ""

    def __post_init__(self):
        assert self.type in TYPES, self.type

    @property
    def default_text(self) -> str:
        if self.default is None:
            return "" if self.required else "blank"
        return str(self.default)


@dataclass(frozen=True)
class Sheet:
    name: str
    purpose: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]  # the columns that identify a row (no two rows may share them)
    optional: bool = False
    example_rows: tuple[dict, ...] = ()

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f"{self.name} has no column {key!r}")

    @property
    def keyset(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)


@dataclass(frozen=True)
class Setting:
    key: str
    type: str
    description: str
    unit: str = ""
    default: object = None
    minimum: float | None = None
    maximum: float | None = None

    def as_column(self) -> Column:
        """The setting's value typed and bounded like a column (Settings.value, scenario edits)."""
        return Column(self.key, self.type, self.description, minimum=self.minimum, maximum=self.maximum)


def range_text(item: Column | Setting) -> str:
    """A column's or setting's bounds in words: 'from 0 to 1', '≥ 0', '≤ 1', or ''."""
    lo, hi = item.minimum, item.maximum
    if lo is not None and hi is not None:
        return f"from {lo:g} to {hi:g}"
    if lo is not None:
        return f"≥ {lo:g}"
    return f"≤ {hi:g}" if hi is not None else ""


INCLUDE = Column(
    "include", "yesno", "Switch the row off with 'no'; it is then skipped and counted.", default="yes"
)
NOTES = Column("notes", "text", "Free text: sources, assumptions, comments. Not used by the model.")

BLOCS_SUGGESTED = ("domestic", "ally", "partner", "FEOC", "other")
SOURCE_KINDS = ("mine", "processor", "recycler", "trader")
SOURCE_STATUSES = ("existing", "candidate")
RULES = ("max_share", "min_share", "max_sources", "min_sources", "max_total", "min_total")
SHARE_RULES = ("max_share", "min_share")
COUNT_RULES = ("max_sources", "min_sources")
TOTAL_RULES = ("max_total", "min_total")
METRICS = ("quantity", "spend", "co2e", "water", "waste", "risk")
ENFORCEMENTS = ("hard", "soft")
OPERATIONS = ("set", "scale", "add")
SELECTION_FIELDS = ("source", "country", "bloc", "kind", "owner", "status")
RESERVE_UNITS = ("quantity", "periods")

SETTINGS = (
    Setting("plan_name", "text", "A name for the plan, shown on every output.", default="Sourcing plan"),
    Setting("currency", "text", "Currency of every cost in the workbook.", default="USD"),
    Setting("quantity_unit", "text", "Unit of every quantity (demand, capacity, purchases).", default="t"),
    Setting("discount_rate", "number", "Yearly rate that discounts costs back to the base period.",
            unit="fraction per period", default=0.0, minimum=0.0, maximum=1.0),
    Setting("base_period", "period", "Period to which costs are discounted.", default="first period"),
    Setting("carbon_price", "number", "Cost added per t CO2e of purchases.", unit="currency per t CO2e",
            default=0.0, minimum=0.0),
    Setting("risk_price", "number", "Cost added per quantity unit per risk point of the supplier.",
            unit="currency per quantity unit per risk point", default=0.0, minimum=0.0),
    Setting("shortage_penalty", "number",
            "Cost per quantity unit of unmet demand; blank means demand must be met in full.",
            unit="currency per quantity unit", default=None, minimum=0.0),
    Setting("time_limit_s", "number", "Longest the solver may run.", unit="s", default=60.0, minimum=0.0),
    Setting("mip_gap", "number", "Relative optimality gap at which the solver may stop.",
            unit="fraction", default=0.0001, minimum=0.0, maximum=1.0),
    Setting("threads", "integer", "Solver threads; blank lets the solver choose.", default=None, minimum=1),
)

SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "Settings",
        "Plan-wide settings, one per row. Blank values take the default.",
        (
            Column("setting", "choice", "Name of the setting.", required=True,
                   choices=tuple(s.key for s in SETTINGS)),
            Column("value", "any", "Its value (see the Guide for each setting's unit and default)."),
            NOTES,
        ),
        keys=("setting",),
        optional=True,
    ),
    Sheet(
        "Materials",
        "Every material the plan buys, one per row.",
        (
            Column("material", "id", "Short identifier used on every other sheet.", required=True,
                   example="NdPr"),
            Column("name", "text", "Full name.", example="NdPr oxide"),
            Column("description", "text", "Specification, grade, form."),
            INCLUDE,
            NOTES,
        ),
        keys=("material",),
    ),
    Sheet(
        "Countries",
        "Countries of origin, with their bloc, risk score and default tariff.",
        (
            Column("country", "id", "Short identifier (ISO code suggested).", required=True, example="US"),
            Column("name", "text", "Full name."),
            Column("bloc", "text", "Group used by policies (free text; e.g. domestic, ally, partner, FEOC, other).",
                   default="other", example="ally"),
            Column("risk_score", "number", "Supply risk of the country, 0 (none) to 1 (highest).",
                   unit="risk points", default=0.0, minimum=0.0, maximum=1.0),
            Column("tariff", "number", "Tariff applied to every purchase from this country.",
                   unit="fraction of cost", default=0.0, minimum=0.0),
            INCLUDE,
            NOTES,
        ),
        keys=("country",),
    ),
    Sheet(
        "Sources",
        "Suppliers: mines, processors, recyclers and traders, existing or candidate (to be built).",
        (
            Column("source", "id", "Short identifier used on Offers and in policies.", required=True,
                   example="MP-MTN"),
            Column("name", "text", "Full name."),
            Column("country", "id", "Country of the source.", required=True, refers_to="Countries.country"),
            Column("kind", "choice", "What the source is.", default="mine", choices=SOURCE_KINDS),
            Column("owner", "text", "Parent company; groups sources for ownership rules.", default="the source itself"),
            Column("capacity", "number", "Most the source can supply per period over all its materials; blank = unlimited.",
                   unit="quantity unit per period", minimum=0.0),
            Column("fixed_cost", "number", "Cost in every period in which anything is bought from the source.",
                   unit="currency per period", default=0.0, minimum=0.0),
            Column("status", "choice", "existing, or candidate (must be built before it supplies).",
                   default="existing", choices=SOURCE_STATUSES),
            Column("build_cost", "number", "One-off cost of building a candidate source.", unit="currency",
                   default=0.0, minimum=0.0),
            Column("lead_time", "integer", "Periods from the build decision to first supply.", unit="periods",
                   default=0, minimum=0),
            Column("earliest_build", "period", "First period in which a candidate may be built.",
                   default="base period"),
            Column("risk_score", "number", "Supply risk of this source, 0 to 1; blank = its country's.",
                   unit="risk points", minimum=0.0, maximum=1.0),
            INCLUDE,
            NOTES,
        ),
        keys=("source",),
    ),
    Sheet(
        "Offers",
        "What each source can sell of each material: price, capacity, order terms and footprint.",
        (
            Column("source", "id", "The selling source.", required=True, refers_to="Sources.source"),
            Column("material", "id", "The material offered.", required=True, refers_to="Materials.material"),
            Column("unit_cost", "number", "Price before tariff.", unit="currency per quantity unit",
                   required=True, minimum=0.0),
            Column("capacity", "number", "Most this offer supplies per period; blank = unlimited.",
                   unit="quantity unit per period", minimum=0.0),
            Column("min_order", "number", "Least quantity per period when the offer is used at all.",
                   unit="quantity unit per period", default=0.0, minimum=0.0),
            Column("contract_cost", "number", "Cost in every period in which the offer is used.",
                   unit="currency per period", default=0.0, minimum=0.0),
            Column("co2e", "number", "Greenhouse-gas footprint.", unit="t CO2e per quantity unit",
                   default=0.0, minimum=0.0),
            Column("water", "number", "Water use.", unit="m3 per quantity unit", default=0.0, minimum=0.0),
            Column("waste", "number", "Waste produced.", unit="t per quantity unit", default=0.0, minimum=0.0),
            Column("first_period", "period", "First period the offer is available; blank = from the start."),
            Column("last_period", "period", "Last period the offer is available; blank = to the end."),
            Column("tariff", "number", "Tariff on this offer; blank = the country's.", unit="fraction of cost",
                   minimum=0.0),
            INCLUDE,
            NOTES,
        ),
        keys=("source", "material"),
    ),
    Sheet(
        "Demand",
        "How much of each material is needed in each period. The horizon runs from the first to the last period here.",
        (
            Column("material", "id", "The material needed.", required=True, refers_to="Materials.material"),
            Column("period", "period", "The period (e.g. a year).", required=True),
            Column("quantity", "number", "Quantity needed.", unit="quantity unit", required=True, minimum=0.0),
            Column("shortage_penalty", "number", "Cost per unit not supplied; blank = the setting (blank setting = must be met).",
                   unit="currency per quantity unit", minimum=0.0),
            INCLUDE,
            NOTES,
        ),
        keys=("material", "period"),
    ),
    Sheet(
        "Stockpile",
        "Materials that may be stocked: stock carried between periods, a reserve to keep, holding and release costs.",
        (
            Column("material", "id", "The material stocked.", required=True, refers_to="Materials.material"),
            Column("initial_stock", "number", "Stock on hand before the first period.", unit="quantity unit",
                   default=0.0, minimum=0.0),
            Column("holding_cost", "number", "Cost of holding stock, on the stock at the end of each period.",
                   unit="currency per quantity unit per period", default=0.0, minimum=0.0),
            Column("min_reserve", "number",
                   "Least stock at the end of every period: a quantity, or periods of next-period demand (see reserve_unit).",
                   unit="quantity unit, or periods", default=0.0, minimum=0.0),
            Column("reserve_unit", "choice",
                   "How min_reserve is given: quantity, or periods of the next period's demand (the last period: its own).",
                   default="quantity", choices=RESERVE_UNITS),
            Column("max_stock", "number", "Most stock that may be held; blank = unlimited.", unit="quantity unit",
                   minimum=0.0),
            Column("release_cost", "number", "Cost per unit drawn from stock.", unit="currency per quantity unit",
                   default=0.0, minimum=0.0),
            INCLUDE,
            NOTES,
        ),
        keys=("material",),
        optional=True,
    ),
    Sheet(
        "Tariffs",
        "Tariff rates by country, material and period; each overrides the offer's and the country's rate.",
        (
            Column("country", "id", "Country the rate applies to.", required=True, refers_to="Countries.country"),
            Column("material", "id", "Material; blank = every material.", refers_to="Materials.material"),
            Column("period", "period", "Period; blank = every period."),
            Column("rate", "number", "Tariff rate.", unit="fraction of cost", required=True, minimum=0.0),
            INCLUDE,
            NOTES,
        ),
        keys=("country", "material", "period"),
        optional=True,
    ),
    Sheet(
        "Policies",
        "Sourcing rules: diversification shares, source counts, and caps or floors on totals.",
        (
            Column("policy", "id", "Name of the rule, used in reports.", required=True, example="feoc-cap"),
            Column("rule", "choice", "Kind of rule.", required=True, choices=RULES),
            Column("selection", "text",
                   "Which purchases the rule counts: all, or field=value (fields: source, country, bloc, kind, owner, status; "
                   "a|b for several values; field=* for each value separately).",
                   default="all", example="bloc=FEOC"),
            Column("material", "id", "One material; blank = each material separately (shares, counts) or all together (totals).",
                   refers_to="Materials.material"),
            Column("period", "text", "One period; blank = each period separately; 'horizon' = summed over the horizon (totals only).",
                   example="2030"),
            Column("metric", "choice", "What a total rule sums.", default="quantity", choices=METRICS),
            Column("limit", "number", "The bound: a share (0.4 or 40%), a number of sources, or a total in the metric's unit.",
                   required=True, minimum=0.0),
            Column("enforcement", "choice", "hard: must hold; soft: may be broken at the penalty.", default="hard",
                   choices=ENFORCEMENTS),
            Column("penalty", "number", "Cost per unit of violation, for soft rules.", unit="currency per unit of violation",
                   minimum=0.0),
            INCLUDE,
            NOTES,
        ),
        keys=("policy", "material", "period"),
        optional=True,
    ),
    Sheet(
        "Scenarios",
        "Named edits to the base data (a ban, a tariff, a demand surge). Rows sharing a scenario name form one scenario.",
        (
            Column("scenario", "id", "Scenario name; several rows with the same name form one scenario.",
                   required=True, example="china-ban-2027"),
            Column("sheet", "choice", "Sheet whose cells are edited.", required=True,
                   choices=("Settings", "Countries", "Sources", "Offers", "Demand", "Stockpile", "Tariffs")),
            Column("column", "text", "Column edited.", required=True, example="capacity"),
            Column("where", "text", "Row filter, field=value (a column of the sheet or of the row it refers to); blank = all rows.",
                   example="country=CN"),
            Column("period", "text", "Period or range (2027-2029) the edit applies to; blank = all.", example="2027-2029"),
            Column("operation", "choice", "set: replace; scale: multiply; add: add to.", required=True,
                   choices=OPERATIONS),
            Column("value", "any", "The new value, factor or addition.", required=True),
            Column("probability", "share", "Probability of the scenario, for robust plans (planner solve --robust); give it on one row of the scenario. The base plan takes what the scenarios leave.", minimum=0.0, maximum=1.0),
            INCLUDE,
            NOTES,
        ),
        keys=(),  # several rows per scenario
        optional=True,
    ),
)

SHEET_BY_NAME = {s.name: s for s in SHEETS}
SETTING_BY_KEY = {s.key: s for s in SETTINGS}
GUIDE_SHEET = "Guide"


def sheet(name: str) -> Sheet:
    return SHEET_BY_NAME[name]
