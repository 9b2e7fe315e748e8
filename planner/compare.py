"""Plans side by side (SPEC §6): ``planner compare PLAN PLAN... -o OUT``.

Plan workbooks are read back as files (what ``planner solve`` wrote: the Summary facts, the
``Costs``, ``KPIs``, ``Purchases`` and ``Investments`` tables, and the embedded ``input.*``
sheets), so a comparison can be made from plans solved at any time, anywhere. The first
plan is the base. The comparison workbook holds:

- ``Summary``: warnings (versions, inputs or currencies that differ, plans not proven
  optimal, runs without a plan), a row per plan (scenario, status, gap, time, edits), the
  key figures over the horizon with the base value and each plan's value, Δ and Δ% (green
  when the change is good for that figure, red when bad, uncoloured when too small to
  show), then the same per material;
- ``Charts``: change in total cost by component, sourcing shares by plan, FEOC share per
  period (native charts, each drawn from a table on the sheet);
- ``Supply mix``: quantity by bloc per material and plan (stacked charts), then by bloc and
  by country per material and period, plans side by side;
- ``Inputs diff``: every input cell that differs from the base's, the scenario's edits
  included (:mod:`planner.scenarios` applies each plan's scenario to its embedded inputs);
- ``Runs``: a row of run facts per plan (versions, input file and SHA-256, plan file);
- ``Data``: one long table (plan, scenario, kpi, material, period, unit, value) for pivots.

Horizon figures: sums over every period and material; shares are quantity-weighted (so
bulk materials weigh most: see the per-material rows); HHI is the mean of the per-material,
per-period index weighted by quantity bought.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import python_calamine
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from . import excel, scenarios
from .errors import InputError, Problem
from .plan import summary_facts
from .reader import read_workbook
from .validate import BASE_SCENARIO, Checked, check

TITLE_FONT = excel.font(bold=True, size=14, color="1F4E78")
SECTION_FONT = excel.font(bold=True, size=12, color="1F4E78")
NOTE_FONT = excel.font(italic=True, color="595959")
WARN_FILL = PatternFill("solid", fgColor="FCE4D6")
GOOD = (PatternFill("solid", fgColor="C6EFCE"), excel.font(color="006100"))
BAD = (PatternFill("solid", fgColor="FFC7CE"), excel.font(color="9C0006"))
BASE_FILL = PatternFill("solid", fgColor="DDEBF7")

MONEY, QUANTITY, SHARE, COUNT, INDEX = "money", "quantity", "share", "count", "index"
FORMATS = {MONEY: "#,##0", QUANTITY: "#,##0", SHARE: "0.0%", COUNT: "0", INDEX: "#,##0"}
DELTA_FORMATS = {MONEY: "+#,##0;-#,##0;0", QUANTITY: "+#,##0;-#,##0;0", SHARE: '+0.0" pp";-0.0" pp";0.0" pp"',
                 COUNT: "+0;-0;0", INDEX: "+#,##0;-#,##0;0"}
PERCENT_CHANGE = "+0.0%;-0.0%;0.0%"
BLOC_COLOURS = {"domestic": "1F4E78", "ally": "2E75B6", "partner": "9DC3E6", "other": "A5A5A5", "feoc": "C00000"}
BLOC_ORDER = ("domestic", "ally", "partner", "other", "feoc")
ALL = "(all)"
HORIZON = "horizon"


@dataclass(frozen=True)
class Kpi:
    """A figure compared across plans: how it reads, its unit and which way is better."""

    key: str
    label: str
    kind: str  # MONEY, QUANTITY, SHARE, COUNT, INDEX
    better: str | None  # "lower", "higher", or None when a change is neither good nor bad
    unit: str = ""  # filled from the plan: currency or quantity unit when blank


# the KPIs table's columns, as figures; the horizon figures add the cost components and investments
KPIS = (
    Kpi("demand", "Demand", QUANTITY, None),
    Kpi("bought", "Bought", QUANTITY, None),
    Kpi("shortfall", "Shortfall (unmet demand)", QUANTITY, "lower"),
    Kpi("spend", "Purchase spend incl. tariffs (undiscounted)", MONEY, "lower"),
    Kpi("feoc_share", "FEOC share", SHARE, "lower", "of quantity bought"),
    Kpi("domestic_share", "Domestic share", SHARE, "higher", "of quantity bought"),
    Kpi("allied_share", "Allied share", SHARE, "higher", "of quantity bought"),
    Kpi("recycled_share", "Recycled share", SHARE, "higher", "of quantity bought"),
    Kpi("hhi", "Supplier concentration (HHI by country)", INDEX, "lower", "0-10,000"),
    Kpi("sources_in_use", "Sources in use", COUNT, "higher", "sources"),
    Kpi("co2e", "CO2e", QUANTITY, "lower", "t CO2e"),
    Kpi("water", "Water", QUANTITY, "lower", "m3"),
    Kpi("waste", "Waste", QUANTITY, "lower", "t"),
)
KPI_BY_KEY = {k.key: k for k in KPIS}
TOTAL_COST = Kpi("total_cost", "Total cost (discounted)", MONEY, "lower")
BUILDS = Kpi("builds", "Investments: sources built", COUNT, None, "sources")
BUILD_COST = Kpi("build_cost_undiscounted", "Investments: build cost (undiscounted)", MONEY, "lower")
# With stockpiles, the lowest reserve cover over the horizon, per stocked material (not in KPIS: plans
# without a Stockpile sheet have no such column)
RESERVE = Kpi("reserve_months", "Lowest reserve cover", INDEX, "higher", "months of next-period demand")
KPI_BY_KEY[RESERVE.key] = RESERVE
PER_MATERIAL = ("spend", "shortfall", "feoc_share", "domestic_share", "allied_share", "recycled_share", "hhi",
                RESERVE.key)


@dataclass
class PlanBook:
    """One plan workbook, read back."""

    path: Path
    facts: dict[str, object]
    costs: pd.DataFrame
    kpis: pd.DataFrame
    purchases: pd.DataFrame
    investments: pd.DataFrame
    inputs: tuple[pd.DataFrame, pd.DataFrame] | None = None  # scenarios.cells() of its input, scenario applied
    notes: list[str] = field(default_factory=list)
    label: str = ""

    @property
    def scenario(self) -> str:
        return str(self.facts.get("scenario") or BASE_SCENARIO)

    @property
    def currency(self) -> str:
        return str(self.facts.get("currency") or "")

    @property
    def unit(self) -> str:
        return str(self.facts.get("quantity unit") or "")

    @property
    def proven_optimal(self) -> bool:
        return str(self.facts.get("status", "")).startswith("optimal")


@dataclass(frozen=True)
class Missing:
    """A run that produced no plan (infeasible, no solution in time): listed, not compared."""

    scenario: str
    status: str
    message: str = ""


@dataclass
class Comparison:
    plans: list[PlanBook]
    missing: list[Missing]
    horizon: pd.DataFrame  # kpi key, label, kind, better, unit, then one column per plan label
    by_material: pd.DataFrame  # the same with a material column
    data: pd.DataFrame  # the long Data table
    mix: dict[str, pd.DataFrame]  # "bloc" / "country": material, period, group, one column per plan
    inputs_diff: pd.DataFrame
    warnings: list[str]

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.plans]

    @property
    def base(self) -> PlanBook:
        return self.plans[0]


# --------------------------------------------------------------------------- reading plans

def read_plan(path: str | Path, inputs: Checked | None = None) -> PlanBook:
    """Read a plan workbook written by ``planner solve``; raise InputError if it is not one.

    ``inputs``: the checked input the plan was solved from, when the caller has it (``planner
    solve`` with scenarios: every plan embeds that same input), instead of its embedded copy.
    """
    path = Path(path)
    book = read_workbook(path) if inputs is None else None  # the safety checks, and the embedded inputs
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path), load_tables=True)
        names = set(wb.table_names)
        summary = wb.get_sheet_by_name("Summary").to_python() if "Summary" in wb.sheet_names else []
    except Exception as e:  # calamine's errors are varied; one sentence is enough
        raise _not_a_plan(path, f"cannot be read ({type(e).__name__}: {e})") from None
    if not {"Costs", "KPIs", "Purchases"} <= names or not summary:
        raise _not_a_plan(path, "has no Summary with Costs and KPIs tables")
    plan = PlanBook(path, summary_facts(summary), _table(wb, "Costs"), _table(wb, "KPIs"), _table(wb, "Purchases"),
                    _table(wb, "Investments") if "Investments" in names else pd.DataFrame())
    plan.kpis["period"] = pd.to_numeric(plan.kpis["period"], errors="coerce").astype("Int64")
    plan.purchases["period"] = pd.to_numeric(plan.purchases["period"], errors="coerce").astype("Int64")
    if inputs is None and book.tables:
        inputs = check(book)
    plan.inputs = _inputs(plan, inputs)
    return plan


def _not_a_plan(path: Path, why: str) -> InputError:
    return InputError([Problem(None, None, None, None, f"{path} {why}; expected a plan workbook written by planner solve")])


def _table(wb, name: str) -> pd.DataFrame:
    t = wb.get_table_by_name(name)
    rows = [[None if v == "" else v for v in r] for r in t.to_python()]
    df = pd.DataFrame([r for r in rows if any(v is not None for v in r)], columns=list(t.columns), dtype=object)
    for c in df.columns:
        numeric = pd.to_numeric(df[c], errors="coerce")
        if len(df) and numeric.notna().sum() == df[c].notna().sum():
            df[c] = numeric
    return df


def _inputs(plan: PlanBook, checked: Checked | None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The plan's input cell by cell, its scenario applied (None, with a note, if it cannot be had)."""
    if checked is None:
        plan.notes.append(f"{plan.path.name} carries no input sheets; its inputs cannot be compared")
        return None
    if checked.errors:
        plan.notes.append(f"{plan.path.name}: its embedded inputs do not validate ({checked.errors[0]}); inputs not compared")
        return None
    state, problems = scenarios.state_of(checked, plan.scenario)
    plan.notes += [f"{plan.path.name}: {p.message}" for p in problems if p.severity == "error" or "no such" in p.message]
    return scenarios.cells(state)


# --------------------------------------------------------------------------- comparing

def compare(plans: list[PlanBook], missing: list[Missing] = ()) -> Comparison:
    """Compare plans (the first is the base)."""
    _label(plans)
    warnings = _warnings(plans, list(missing))
    horizon = _horizon_table(plans)
    by_material = _material_table(plans)
    return Comparison(plans, list(missing), horizon, by_material, _data(plans, horizon, by_material),
                      {by: _mix(plans, by) for by in ("bloc", "country")}, _inputs_diff(plans), warnings)


def _label(plans: list[PlanBook]) -> None:
    """Plans are named by their scenario; by file when scenarios repeat (plans of several input
    files); numbered when that does not tell them apart either (a plan given twice)."""
    scen = [p.scenario for p in plans]
    names = []
    for s, p in zip(scen, plans):
        same = [q.path.stem for q in plans if q.scenario == s]
        names.append(s if len(same) == 1 or len(set(same)) < len(same) else p.path.stem)
    seen: dict[str, int] = {}
    for p, n in zip(plans, names):
        seen[n] = seen.get(n, 0) + 1
        p.label = n if seen[n] == 1 else f"{n} #{seen[n]}"


def _warnings(plans: list[PlanBook], missing: list[Missing]) -> list[str]:
    out = []
    for fact in ("template version", "model version", "planner version"):
        values = {str(p.facts.get(fact)) for p in plans}
        if len(values) > 1:
            shown = ", ".join(f"{p.label}: {p.facts.get(fact)}" for p in plans)
            out.append(f"The plans were made with different {fact}s ({shown}); some differences may come from the "
                       f"planner rather than the data.")
    for what, get in (("currency", lambda p: p.currency), ("quantity unit", lambda p: p.unit)):
        if len({get(p) for p in plans}) > 1:
            out.append(f"The plans use different {what}s ({', '.join(f'{p.label}: {get(p)}' for p in plans)}); "
                       f"their figures cannot be compared as they stand.")
    if len({p.facts.get("input SHA-256") for p in plans}) > 1:
        out.append("The plans were solved from different input files; the Inputs diff sheet lists every cell that differs.")
    for p in plans:
        if not p.proven_optimal:
            out.append(f"{p.label} is not proven optimal ({p.facts.get('status')}, gap {_pct(p.facts.get('gap'))}); "
                       f"its changes may be within that gap.")
        out += p.notes
    for m in missing:
        out.append(f"{m.scenario}: no plan ({m.status}){': ' + m.message if m.message else ''}; not compared.")
    return out


def _pct(x) -> str:
    try:
        return f"{float(x):.2%}"
    except (TypeError, ValueError):
        return "unknown"


def _all_rows(k: pd.DataFrame) -> pd.DataFrame:
    return k[k["material"] == ALL]


def _weighted(k: pd.DataFrame, col: str) -> float:
    bought = k["bought"].astype(float)
    total = bought.sum()
    return float((k[col].astype(float).fillna(0.0) * bought).sum() / total) if total > 0 else float("nan")


def _horizon_figures(p: PlanBook) -> dict[str, float]:
    """Each horizon figure of one plan, by KPI key."""
    k_all, k_mat = _all_rows(p.kpis), p.kpis[p.kpis["material"] != ALL]
    costs = p.costs.set_index("component")
    out = {TOTAL_COST.key: float(costs.loc["Total", "discounted"])}
    for comp in costs.index:
        if comp != "Total":
            out[f"cost: {comp}"] = float(costs.loc[comp, "discounted"])
    for key in ("demand", "bought", "shortfall", "spend", "co2e", "water", "waste"):
        out[key] = float(k_all[key].astype(float).sum())
    for key in ("feoc_share", "domestic_share", "allied_share", "recycled_share"):
        out[key] = _weighted(k_all, key)
    out["hhi"] = _weighted(k_mat, "hhi")
    out["sources_in_use"] = float(p.purchases["source"].nunique()) if len(p.purchases) else 0.0
    out[BUILDS.key] = float(len(p.investments))
    out[BUILD_COST.key] = float(p.investments["build_cost"].astype(float).sum()) if len(p.investments) else 0.0
    return out


def _horizon_kpis(plans: list[PlanBook]) -> list[Kpi]:
    """The figures of the Summary, in reading order; cost components only where some plan has them."""
    figures = [_horizon_figures(p) for p in plans]
    components = [c for c in plans[0].costs["component"] if c != "Total"]
    costs = [Kpi(f"cost: {c}", f"  {c}", MONEY, "lower") for c in components
             if any(abs(f.get(f"cost: {c}", 0.0)) > 0.5 for f in figures)]
    return [TOTAL_COST, *costs, *KPIS, BUILDS, BUILD_COST]


def _horizon_table(plans: list[PlanBook]) -> pd.DataFrame:
    figures = [_horizon_figures(p) for p in plans]
    rows = []
    for k in _horizon_kpis(plans):
        rows.append({"kpi": k.key, "label": k.label, "kind": k.kind, "better": k.better, "unit": _unit(k, plans[0]),
                     **{p.label: f.get(k.key, float("nan")) for p, f in zip(plans, figures)}})
    return pd.DataFrame(rows)


def _unit(k: Kpi, p: PlanBook) -> str:
    if k.unit:
        return k.unit
    return p.currency if k.kind == MONEY else p.unit if k.kind == QUANTITY else ""


def _material_table(plans: list[PlanBook]) -> pd.DataFrame:
    """Per material over the horizon; rows where every plan shows 0 are left out."""
    materials = list(dict.fromkeys(m for p in plans for m in p.kpis["material"] if m != ALL))
    per_plan = []
    for p in plans:
        k = p.kpis[p.kpis["material"] != ALL]
        fig = {}
        for m, g in k.groupby("material", sort=False):
            for key in PER_MATERIAL:
                if key == RESERVE.key:
                    if key in g and g[key].notna().any():
                        fig[(m, key)] = float(g[key].astype(float).min())
                    continue
                fig[(m, key)] = _weighted(g, key) if KPI_BY_KEY[key].kind in (SHARE, INDEX) else float(g[key].astype(float).sum())
        per_plan.append(fig)
    rows = []
    for m in materials:
        for key in PER_MATERIAL:
            values = [f.get((m, key), float("nan")) for f in per_plan]
            if all(abs(v) < 1e-6 or math.isnan(v) for v in values):
                continue
            k = KPI_BY_KEY[key]
            rows.append({"material": m, "kpi": key, "label": f"{m}: {k.label}", "kind": k.kind, "better": k.better,
                         "unit": _unit(k, plans[0]), **{p.label: v for p, v in zip(plans, values)}})
    return pd.DataFrame(rows, columns=["material", "kpi", "label", "kind", "better", "unit"] + [p.label for p in plans])


def delta(base: float, value: float, kind: str) -> tuple[float | None, float | None]:
    """(Δ, Δ%) of a value against the base; Δ of a share in percentage points; Δ% None when the base is 0."""
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in (base, value)):
        return None, None
    d = value - base
    pct = d / abs(base) if abs(base) > 1e-12 else None
    return (d * 100 if kind == SHARE else d), pct


def verdict(kpi_better: str | None, base: float, value: float, kind: str) -> int:
    """+1 when the change is good for the figure, -1 when bad, 0 when neither or too small to
    show: under 0.05 percentage point for shares; otherwise under 0.05% or under what the
    figure's format shows (half a currency unit, 0.05 of a quantity)."""
    if kpi_better not in ("lower", "higher") or any(x is None or (isinstance(x, float) and math.isnan(x)) for x in (base, value)):
        return 0
    small = 0.0005 if kind == SHARE else max(0.0005 * max(abs(base), abs(value)), 0.5 if kind == MONEY else 0.05)
    if abs(value - base) < small:
        return 0
    up = value > base
    return 1 if up == (kpi_better == "higher") else -1


def _data(plans: list[PlanBook], horizon: pd.DataFrame, by_material: pd.DataFrame) -> pd.DataFrame:
    """The long table: every KPI per material and period, the horizon figures, the supply mix."""
    frames = []
    for p in plans:
        k = p.kpis
        for kpi in KPIS:
            frames.append(pd.DataFrame({"plan": p.label, "scenario": p.scenario, "kpi": kpi.key, "material": k["material"],
                                        "period": k["period"].astype(object), "unit": _unit(kpi, p),
                                        "value": k[kpi.key].astype(float)}))
        h = horizon[["kpi", "unit", p.label]].rename(columns={p.label: "value"})
        frames.append(h.assign(plan=p.label, scenario=p.scenario, material=ALL, period=HORIZON))
        m = by_material[["kpi", "material", "unit", p.label]].rename(columns={p.label: "value"})
        frames.append(m.assign(plan=p.label, scenario=p.scenario, period=HORIZON))
        for by in ("bloc", "country"):
            g = _supply(p, by)
            frames.append(pd.DataFrame({"plan": p.label, "scenario": p.scenario, "kpi": "supply from " + by + " " + g[by].astype(str),
                                        "material": g["material"], "period": g["period"].astype(object), "unit": p.unit,
                                        "value": g["quantity"]}))
    cols = ["plan", "scenario", "kpi", "material", "period", "unit", "value"]
    out = pd.concat([f[cols] for f in frames if len(f)], ignore_index=True)
    return out[out["value"].notna()].reset_index(drop=True)


def _supply(p: PlanBook, by: str) -> pd.DataFrame:
    """Quantity by bloc or country per material and period, and over all materials ('(all)')."""
    b = p.purchases
    if b.empty:
        return pd.DataFrame(columns=["material", "period", by, "quantity"])
    per = b.groupby(["material", "period", by], as_index=False, sort=False)["quantity"].sum()
    total = b.groupby(["period", by], as_index=False)["quantity"].sum().assign(material=ALL)
    return pd.concat([per, total[["material", "period", by, "quantity"]]], ignore_index=True)


def _group_order(values, by: str) -> list[str]:
    values = list(dict.fromkeys(str(v) for v in values))
    if by != "bloc":
        return sorted(values)
    rank = {b: i for i, b in enumerate(BLOC_ORDER)}
    return sorted(values, key=lambda v: (rank.get(v.lower(), len(rank)), v))


def _mix(plans: list[PlanBook], by: str) -> pd.DataFrame:
    """Quantity by bloc (or country) per material and period, one column per plan."""
    merged = None
    for p in plans:
        s = _supply(p, by).rename(columns={"quantity": p.label})
        s[by] = s[by].astype(str)
        merged = s if merged is None else merged.merge(s, on=["material", "period", by], how="outer")
    merged = merged.fillna({p.label: 0.0 for p in plans})
    materials = list(dict.fromkeys(m for p in plans for m in p.kpis["material"] if m != ALL)) + [ALL]
    order = {m: i for i, m in enumerate(materials)}
    groups = {g: i for i, g in enumerate(_group_order(merged[by], by))}
    merged = merged.assign(_m=merged["material"].map(order).fillna(len(order)), _g=merged[by].map(groups))
    merged = merged.sort_values(["_m", "period", "_g"]).drop(columns=["_m", "_g"]).reset_index(drop=True)
    merged["period"] = merged["period"].astype(int)
    return merged.rename(columns={by: by})


def _inputs_diff(plans: list[PlanBook]) -> pd.DataFrame:
    cols = ["plan", "scenario", "sheet", "row_key", "column", "period", "base_value", "plan_value"]
    base = plans[0]
    frames = []
    for p in plans[1:]:
        if base.inputs is None or p.inputs is None:
            continue
        d = scenarios.diff(base.inputs, p.inputs)
        if len(d):
            frames.append(d.rename(columns={"key": "row_key", "base": "base_value", "plan": "plan_value"})
                          .assign(plan=p.label, scenario=p.scenario))
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


# --------------------------------------------------------------------------- digest

def digest(c: Comparison, out: Path) -> list[str]:
    """A few lines for stdout: per plan, the total cost change and its largest other changes."""
    base = c.base
    lines = [f"compared {len(c.plans)} plans (base: {base.label}); comparison written to {out}"]
    h = c.horizon.set_index("kpi")
    total_base = h.loc[TOTAL_COST.key, base.label]
    lines.append(f"  {base.label:<28} total cost {total_base:,.0f} {base.currency} (discounted)")
    for p in c.plans[1:]:
        d, pct = delta(total_base, h.loc[TOTAL_COST.key, p.label], MONEY)
        head = f"  {p.label:<28} total cost {d:+,.0f} {base.currency}" + (f" ({pct:+.1%})" if pct is not None else "")
        changes = []
        for key, row in h.iterrows():
            if key == TOTAL_COST.key or key.startswith("cost: ") or row["better"] not in ("lower", "higher"):
                continue
            dd, pp = delta(row[base.label], row[p.label], row["kind"])
            if dd is None or verdict(row["better"], row[base.label], row[p.label], row["kind"]) == 0:
                continue
            changes.append((abs(pp) if pp is not None else math.inf, _change_text(row, base.label, p.label)))
        changes.sort(key=lambda x: -x[0])
        n_inputs = int((c.inputs_diff["plan"] == p.label).sum())
        tail = "; ".join(t for _, t in changes[:3])
        lines.append(head + (f"; {tail}" if tail else "") + f"; {n_inputs} input cell{'s differ' if n_inputs != 1 else ' differs'}")
    for m in c.missing:
        lines.append(f"  {m.scenario:<28} no plan ({m.status})")
    for w in c.warnings:
        lines.append(f"  warning: {w}")
    return lines


def _change_text(row, base_label: str, label: str) -> str:
    a, b = row[base_label], row[label]
    if row["kind"] == SHARE:
        return f"{row['label']} {a:.1%} → {b:.1%}"
    unit = f" {row['unit']}" if row["unit"] and row["kind"] in (QUANTITY, MONEY) else ""
    digits = 1 if row.name == "shortfall" else 0
    return f"{row['label']} {a:,.{digits}f} → {b:,.{digits}f}{unit}"


# --------------------------------------------------------------------------- writing

def write(c: Comparison, path: str | Path) -> Path:
    """Write the comparison workbook whole or not at all."""
    wb, ws = excel.new_workbook("Summary")
    _summary(ws, c)
    _charts(wb.create_sheet("Charts"), c)
    _mix_sheet(wb.create_sheet("Supply mix"), c)
    _inputs_sheet(wb.create_sheet("Inputs diff"), c)
    runs = wb.create_sheet("Runs")
    _write_frame(runs, "Runs", _runs(c), formats={"total_cost": FORMATS[MONEY], "gap": "0.00%", "seconds": "0.0"})
    _write_frame(wb.create_sheet("Data"), "Data", c.data, formats={"value": "#,##0.####"})
    for sheet in wb.worksheets:
        excel.print_setup(sheet, repeat_header=sheet.title in ("Data", "Runs"))
    wb["Inputs diff"].print_title_rows = "4:4"
    return excel.save_atomic(wb, path)


def _write_frame(ws, name: str, frame: pd.DataFrame, start_row: int = 1, start_col: int = 1, freeze: bool = True,
                 formats: dict[str, str] | None = None) -> None:
    excel.write_formatted_frame(ws, name, frame, formats, start_row=start_row, start_col=start_col, freeze=freeze)


def _missing(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _number_text(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _summary(ws, c: Comparison) -> None:
    """Title and warnings, the plans and their status, then the key figures side by side."""
    base = c.base
    ws["A1"] = f"Plan comparison: {base.facts.get('plan') or 'sourcing plans'}"
    ws["A1"].font = TITLE_FONT
    discount = base.facts.get("discount rate")
    money_note = f"costs in {base.currency}" + (
        f", discounted to {_number_text(base.facts.get('base period'))} at {float(discount):.0%} a period"
        if discount not in (None, 0, 0.0) else "")
    excel.set_value(ws["A2"], f"Base: {base.label} ({base.path.name}). {len(c.plans)} plans; {money_note}; "
                              f"quantities in {base.unit}; horizon {base.facts.get('horizon')}.")
    ws["A2"].font = NOTE_FONT
    row = 3
    for w in c.warnings:
        cell = ws.cell(row=row, column=1)
        excel.set_value(cell, f"Warning: {w}")
        cell.fill = WARN_FILL
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Plans").font = SECTION_FONT
    plans = _runs(c)[["plan", "scenario", "status", "gap", "seconds", "scenario_edits"]]
    plans["status"] = ["optimal" if str(s).startswith("optimal") else s for s in plans["status"]]
    _write_frame(ws, "Plans", plans, start_row=row + 1, freeze=False, formats={"gap": "0.00%", "seconds": "0.0"})
    row += len(plans) + 3
    ws.cell(row=row, column=1, value="Key figures over the horizon, all materials").font = SECTION_FONT
    row = _grid(ws, row + 1, c, c.horizon)
    note = ("Δ = plan − base (shares in percentage points). Green: better for that figure, red: worse "
            "(lower cost, shortfall, FEOC share, concentration and footprint are better; higher domestic, allied and "
            "recycled shares and more sources in use are better). Shares are weighted by quantity bought.")
    cell = ws.cell(row=row, column=1)
    excel.set_value(cell, note)
    cell.font = NOTE_FONT
    row += 2
    if len(c.by_material):
        ws.cell(row=row, column=1, value="Per material, over the horizon").font = SECTION_FONT
        _grid(ws, row + 1, c, c.by_material)
    excel.set_width(ws, 1, 50)
    excel.set_width(ws, 2, 20)
    for j in range(3, 3 + 3 * len(c.plans)):
        excel.set_width(ws, j, 14)


def _runs(c: Comparison) -> pd.DataFrame:
    """A row of run facts per plan (and per run without a plan)."""
    rows = []
    for p in c.plans:
        f = p.facts
        seconds = sum(float(v) for k, v in f.items() if k.startswith("seconds: ") and isinstance(v, (int, float)))
        rows.append({"plan": p.label, "scenario": p.scenario, "status": f.get("status"),
                     "total_cost": float(p.costs.set_index("component").loc["Total", "discounted"]),
                     "gap": f.get("gap"), "seconds": seconds, "scenario_edits": f.get("scenario edits") or "none",
                     "template_version": f.get("template version"), "model_version": f.get("model version"),
                     "planner_version": f.get("planner version"), "input_file": f.get("input file"),
                     "input_sha256": f.get("input SHA-256"), "plan_file": str(p.path)})
    for m in c.missing:
        rows.append({"plan": m.scenario, "scenario": m.scenario, "status": f"no plan: {m.status}", "scenario_edits": m.message})
    return pd.DataFrame(rows, columns=["plan", "scenario", "status", "total_cost", "gap", "seconds", "scenario_edits",
                                       "template_version", "model_version", "planner_version", "input_file",
                                       "input_sha256", "plan_file"])


def _grid(ws, row: int, c: Comparison, table: pd.DataFrame) -> int:
    """A figure per row: label, unit, base value, then value, Δ and Δ% per plan; returns the next free row."""
    labels = c.labels
    header_top = ["figure", "unit", labels[0]]
    header = ["", "", "value"]
    for lab in labels[1:]:
        header_top += [lab, "", ""]
        header += ["value", "Δ", "Δ%"]
    excel.write_row(ws, row, header_top)
    excel.write_row(ws, row + 1, header)
    excel.style_header(ws, row, 1, len(header))
    excel.style_header(ws, row + 1, 1, len(header))
    for j in range(len(labels) - 1):
        col = 4 + 3 * j
        ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + 2)
        ws.cell(row=row, column=col).alignment = Alignment(horizontal="center")
    for col in range(3, len(header) + 1):
        ws.cell(row=row + 1, column=col).alignment = Alignment(horizontal="right")
    r = row + 2
    for rec in table.to_dict("records"):
        kind, better = rec["kind"], rec["better"]
        fmt, dfmt = _formats(rec["kpi"], kind)
        excel.set_value(ws.cell(row=r, column=1), rec["label"])
        excel.set_value(ws.cell(row=r, column=2), rec["unit"])
        base = rec[labels[0]]
        cell = ws.cell(row=r, column=3)
        excel.set_value(cell, None if _missing(base) else base)
        cell.number_format = fmt
        cell.fill = BASE_FILL
        for j, lab in enumerate(labels[1:]):
            col = 4 + 3 * j
            value = rec[lab]
            d, pct = delta(base, value, kind)
            for k, (v, f) in enumerate(((value, fmt), (d, dfmt), (pct, PERCENT_CHANGE))):
                cell = ws.cell(row=r, column=col + k)
                excel.set_value(cell, None if _missing(v) else v)
                cell.number_format = f
            good = verdict(better, base, value, kind)
            if good:
                fill, font = GOOD if good > 0 else BAD
                for k in (1, 2):
                    ws.cell(row=r, column=col + k).fill = fill
                    ws.cell(row=r, column=col + k).font = font
        if rec["kpi"] == TOTAL_COST.key:
            ws.cell(row=r, column=1).font = excel.BOLD
        r += 1
    return r + 1


def _formats(kpi: str, kind: str) -> tuple[str, str]:
    """Number formats of a figure and of its Δ; shortfalls keep a decimal (a few tonnes of Tb matter)."""
    if kpi in ("shortfall", RESERVE.key):
        return "#,##0.0", "+#,##0.0;-#,##0.0;0"
    return FORMATS[kind], DELTA_FORMATS[kind]


# --------------------------------------------------------------------------- charts

CHART_CM = 16.0  # width of a chart
_CM_PER_CHAR = 0.19  # width of one character of column width, roughly, in cm


def _column_after(ws, first_col: int, cm: float) -> int:
    """The first column at least ``cm`` to the right of column ``first_col``'s left edge."""
    col, width = first_col, 0.0
    while width < cm:
        dim = ws.column_dimensions[get_column_letter(col)]
        width += ((dim.width if dim.width else 8.43) + 0.7) * _CM_PER_CHAR
        col += 1
    return col


def _bar_chart(title: str, y_title: str, grouping: str = "clustered", y_format: str | None = None,
               labels_low: bool = False) -> BarChart:
    """A column chart; ``labels_low`` puts category names below the plot (for bars below zero)."""
    chart = BarChart()
    chart.type = "col"
    chart.grouping = grouping
    if grouping in ("stacked", "percentStacked"):
        chart.overlap = 100
    chart.title = title
    chart.y_axis.title = y_title
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    if y_format:
        chart.y_axis.number_format = y_format
    if labels_low:
        chart.x_axis.tickLblPos = "low"
    chart.height, chart.width = 8.5, CHART_CM
    chart.legend.position = "b"
    return chart


def _chart_from(ws, chart: BarChart, header_row: int, n_rows: int, n_cols: int, colours: dict | None = None) -> BarChart:
    """Draw the table at ``header_row`` (categories in column A, one series per other column)."""
    data = Reference(ws, min_col=2, max_col=n_cols, min_row=header_row, max_row=header_row + n_rows)
    cats = Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + n_rows)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    if colours:
        names = [ws.cell(row=header_row, column=j).value for j in range(2, n_cols + 1)]
        for series, name in zip(chart.series, names):
            colour = colours.get(str(name).lower())
            if colour:
                series.graphicalProperties.solidFill = colour
                series.graphicalProperties.line.solidFill = colour
    return chart


def _place_table(ws, name: str, frame: pd.DataFrame, row: int, title: str, fmt: str) -> int:
    """A chart's data as a small table under its title; returns the table's header row."""
    ws.cell(row=row, column=1, value=title).font = SECTION_FONT
    _write_frame(ws, name, frame, start_row=row + 1, freeze=False, formats={c: fmt for c in frame.columns[1:]})
    return row + 1


def _charts(ws, c: Comparison) -> None:
    """Key figures by plan as native charts, two to a row, with the tables they are drawn from below."""
    ws["A1"] = "Charts"
    ws["A1"].font = TITLE_FONT
    excel.set_value(ws["A2"], "Each chart is drawn from a table further down this sheet.")
    ws["A2"].font = NOTE_FONT
    labels = c.labels
    h = c.horizon.set_index("kpi")
    comps = [k for k in h.index if k.startswith("cost: ")]
    base = c.base.label
    change = pd.DataFrame({"plan": labels[1:], **{h.loc[k, "label"].strip(): [(h.loc[k, lab] - h.loc[k, base]) / 1e6
                                                                              for lab in labels[1:]] for k in comps}})
    shares = pd.DataFrame({"plan": labels, **{h.loc[k, "label"]: [h.loc[k, lab] for lab in labels]
                                              for k in ("feoc_share", "domestic_share", "allied_share", "recycled_share")}})
    feoc = pd.DataFrame({"period": sorted({int(x) for p in c.plans for x in _all_rows(p.kpis)["period"].dropna()})})
    for p in c.plans:
        feoc[p.label] = feoc["period"].map(_all_rows(p.kpis).set_index("period")["feoc_share"].astype(float)).fillna(0.0)
    money = f"million {c.base.currency}"
    row = 42  # the charts take the rows above; their tables print on the next page
    ws.row_breaks.append(Break(id=row - 1))
    specs = []
    for name, frame, title, fmt, chart, colours in (
        ("ChartCostChange", change, f"Change in total cost against {base}, by component ({money}, discounted)", "#,##0.0",
         _bar_chart(f"Change in total cost against {base}", money, "stacked", "#,##0", labels_low=True), None),
        ("ChartShares", shares, "Sourcing shares over the horizon (of quantity bought)", "0.0%",
         _bar_chart("Sourcing shares by plan", "share of quantity bought", y_format="0%"),
         {"feoc share": BLOC_COLOURS["feoc"], "domestic share": BLOC_COLOURS["domestic"],
          "allied share": BLOC_COLOURS["ally"], "recycled share": "70AD47"}),
        ("ChartFeoc", feoc, "FEOC share per period, all materials", "0.0%",
         _bar_chart("FEOC share per period, all materials", "share of quantity bought", y_format="0%"), None),
    ):
        if name == "ChartCostChange" and len(labels) < 2:
            continue
        head = _place_table(ws, name, frame, row, title, fmt)
        specs.append((chart, head, len(frame), len(frame.columns), colours))
        row = head + len(frame) + 3
    excel.set_width(ws, 1, 24)
    anchors = [(1, 4), (None, 4), (1, 23)]
    for (chart, head, n, cols, colours), (col, r) in zip(specs, anchors):
        col = col or _column_after(ws, 1, CHART_CM + 0.5)
        if (col, r) == (1, 23):
            chart.width = 2 * CHART_CM + 0.5
        ws.add_chart(_chart_from(ws, chart, head, n, cols, colours), f"{get_column_letter(col)}{r}")


def _mix_sheet(ws, c: Comparison) -> None:
    """Per material: quantity by bloc per plan over the horizon, stacked; then the per-period tables."""
    ws["A1"] = "Supply mix"
    ws["A1"].font = TITLE_FONT
    excel.set_value(ws["A2"], f"Quantity bought ({c.base.unit}) by bloc over the horizon, per material and plan; "
                              f"then by bloc and by country per period, the plans side by side.")
    ws["A2"].font = NOTE_FONT
    labels = c.labels
    mix = c.mix["bloc"]
    materials = list(dict.fromkeys(mix["material"]))
    materials = [ALL] * (ALL in materials) + [m for m in materials if m != ALL]
    blocks = []
    row = 4
    for i, m in enumerate(materials):
        g = mix[mix["material"] == m].groupby("bloc", sort=False)[labels].sum()
        blocs = _group_order(g.index, "bloc")
        table = pd.DataFrame({"plan": labels, **{b: [float(g.loc[b, lab]) for lab in labels] for b in blocs}})
        name = "All materials" if m == ALL else m
        head = _place_table(ws, f"MixChart{i + 1}", table, row, f"{name}: {c.base.unit} by bloc over the horizon", "#,##0.0")
        chart = _bar_chart(f"{name}: supply by bloc", c.base.unit, "stacked", y_format="#,##0")
        chart.height, chart.width = 7.0, 14.0
        blocks.append((chart, head, len(table), len(table.columns), row))
        row = max(head + len(table) + 3, row + 15)
    for by in ("bloc", "country"):
        ws.cell(row=row, column=1, value=f"By {by}, per material and period ({c.base.unit})").font = SECTION_FONT
        frame = c.mix[by]
        _write_frame(ws, f"MixBy{by.title()}", frame, start_row=row + 1, freeze=False,
                     formats={lab: "#,##0.0" for lab in labels})
        row += len(frame) + 4
    excel.set_width(ws, 1, 22)
    col = _column_after(ws, 1, max(_table_cm(ws, n_cols) for _, _, _, n_cols, _ in blocks) + 0.5) if blocks else 1
    for chart, head, n, n_cols, top in blocks:
        ws.add_chart(_chart_from(ws, chart, head, n, n_cols, BLOC_COLOURS), f"{get_column_letter(col)}{top}")


def _table_cm(ws, n_cols: int) -> float:
    return sum(((ws.column_dimensions[get_column_letter(j)].width or 8.43) + 0.7) * _CM_PER_CHAR for j in range(1, n_cols + 1))


def _inputs_sheet(ws, c: Comparison) -> None:
    ws["A1"] = "Inputs diff"
    ws["A1"].font = TITLE_FONT
    d = c.inputs_diff
    if d.empty:
        text = "No input cell differs from the base."
    else:
        per = d.groupby("plan", sort=False).size()
        text = ("Input cells that differ from the base's, scenario edits included: "
                + ", ".join(f"{p}: {n}" for p, n in per.items())
                + ". A blank period: the cell itself (every period); a period: that period only.")
    excel.set_value(ws["A2"], text)
    ws["A2"].font = NOTE_FONT
    shown = d.copy()
    for col in ("base_value", "plan_value"):
        shown[col] = [_shown_value(v, column) for v, column in zip(d[col], d["column"])]
    _write_frame(ws, "InputsDiff", shown, start_row=4)
    for j in (7, 8):
        for i in range(len(shown)):
            ws.cell(row=5 + i, column=j).alignment = Alignment(horizontal="right")


def _shown_value(v, column: str):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "blank (unlimited)" if column == "capacity" else "blank"
    return v
