"""Why no plan exists, in the planner's words (SPEC §7; exit code 3).

Three sources of explanation, cheapest first:

1. **Data checks** (:class:`models.sourcing.Obstacle`, found while building the model): a
   hard demand no offer can reach or above all its offers' capacity, a ``min_sources`` rule
   asking for more offers than can supply, a floor over an empty selection.
2. **The elastic model** (:mod:`models.elastic`): every hard limit may give way, policies
   first, then capacities, then demand; its optimum is the smallest set of relaxations
   that restores a plan. Each relaxation becomes a finding that names the sheet and row.
3. **A conflicting set** (an irreducible infeasible subsystem of the LP relaxation, from
   HiGHS), when the LP relaxation is itself infeasible: a handful of rows that cannot hold
   together, named the same way.

:func:`explain` gathers them into a :class:`Diagnosis`; :func:`write_diagnosis` writes
the ``Diagnosis`` workbook. Text here is the only wording of infeasibility the user sees.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from models.data import PlanData
from models.policies import HORIZON, PolicyInstance
from models.sourcing import Obstacle, policy_results

from . import __version__, excel, solver
from .report import LABEL_FONT, SECTION_FONT, TITLE_FONT, WARN_FILL

TOL = 1e-6
KINDS = ("demand", "capacity", "policy")  # report order: what the plan cannot deliver first


@dataclass(frozen=True)
class Finding:
    """One thing that must give way (or, for ``conflict``, one member of a conflicting set).

    ``amount`` is by how much, in ``unit``: quantity short, capacity missing, a share in
    share points (0.19 = 19 points), offers, or the metric of a total.
    """

    kind: str  # "demand", "capacity", "policy" or "conflict"
    sheet: str | None
    row: int | None
    message: str
    amount: float | None = None
    unit: str = ""
    found_by: str = "data check"  # "data check", "elastic model" or "LP conflict (IIS)"

    def as_json(self) -> dict:
        d = asdict(self)
        if d["amount"] is not None:
            d["amount"] = float(d["amount"])
        return d

    def __str__(self) -> str:
        return self.message


@dataclass
class Diagnosis:
    findings: list[Finding]
    conflict: list[Finding] = field(default_factory=list)
    status: str = "optimal"  # of the elastic model: "optimal", "time_limit_feasible", "not solved"
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    path: Path | None = None

    def as_json(self) -> list[dict]:
        return [f.as_json() for f in self.findings + self.conflict]


def diagnosis_path(plan_path: Path) -> Path:
    """Where the Diagnosis workbook goes instead of the plan: ``<plan stem>-diagnosis.xlsx``."""
    return plan_path.with_name(f"{plan_path.stem}-diagnosis.xlsx")


# --------------------------------------------------------------------------- explain

def explain(data: PlanData, obstacles: list[Obstacle] = (), model=None, time_limit_s: float | None = 60.0,
            threads: int | None = None) -> Diagnosis:
    """Findings from the data checks, the elastic model and (with ``model``, the infeasible
    sourcing model) a conflicting set of its LP relaxation; within ``time_limit_s`` overall."""
    t0 = time.perf_counter()
    words = Words(data)
    findings = [words.obstacle(o) for o in obstacles]
    diag = Diagnosis(findings)
    values, m = _elastic(data, diag, time_limit_s, threads)
    if values is not None:
        covered = {o.index for o in obstacles}  # (material, period) of a demand, or a policy instance's name
        diag.findings += _relaxations(m, values, words, covered)
    if model is not None:
        left = None if time_limit_s is None else max(1.0, time_limit_s - (time.perf_counter() - t0))
        members = solver.conflict(model, left)
        if members:
            described = (words.member(model, c) for c in members)
            diag.conflict = _unique([f for f in described if f is not None])
    diag.findings = sorted(_unique(diag.findings), key=lambda f: (KINDS.index(f.kind), f.sheet or "", f.row or 0))
    if not diag.findings and values is not None:
        diag.notes.append("The solver reported no plan, but no relaxation was needed in the elastic model: "
                          "this points to numerical trouble; please report it with the input.")
    if len({f.row for f in diag.findings if f.kind == "policy"}) > 1:
        diag.notes.append("Several rules give way together: each figure is what the least-relaxed plan reaches; "
                          "one rule may reach further if another gives way more.")
    diag.seconds = time.perf_counter() - t0
    return diag


def _elastic(data: PlanData, diag: Diagnosis, time_limit_s, threads):
    """Solve the elastic model tier by tier; (values, model), or (None, model) without a solution."""
    from models.elastic import TIERS, build_elastic, hold_tier, set_tier  # Pyomo: only when a plan fails

    t0 = time.perf_counter()
    m = build_elastic(data)
    values = None
    for tier in TIERS:
        set_tier(m, tier)
        left = None if time_limit_s is None else max(0.5, time_limit_s - (time.perf_counter() - t0))
        r = solver.solve(m, time_limit_s=left, mip_gap=1e-6, threads=threads, duals=False, start=values)
        if not r.has_solution:
            diag.status = "not solved"
            diag.notes.append("The search for the smallest relaxations ran out of time"
                              + (f" while weighing {tier}" if values is not None else "")
                              + "; raise --time-limit for a complete diagnosis.")
            return values, m
        if r.status != "optimal":
            diag.status = r.status
        values = r.values
        hold_tier(m, tier, max(r.objective, 0.0))
    if diag.status != "optimal":
        diag.notes.append("The time limit stopped the search: these relaxations restore a plan but may not be the smallest.")
    return values, m


def _relaxations(m, values: dict[str, pd.Series], words: Words, covered: set) -> list[Finding]:
    """Findings from the elastic solution: unmet demand, missing capacity, rules that give way."""
    from models.elastic import policy_size

    out = []
    tb, data = m.tables, m.plan
    short = values.get("Shortfall", pd.Series(dtype=float))
    hard = data.demand[data.demand["shortage_penalty"].isna()]
    for mat, t, q, row in zip(hard["material"], hard["period"].astype(int), hard["quantity"], hard["row"]):
        x = float(short.get((mat, t), 0.0))
        if x > TOL * max(1.0, q) and (mat, t) not in covered:
            out.append(words.unreachable_demand(mat, t, q, row, x))
    buy = values["Buy"]
    out += words.offer_excess(tb.op, values.get("OfferExcess", pd.Series(dtype=float)), covered)
    out += words.source_excess(tb.op, buy, values.get("SourceExcess", pd.Series(dtype=float)), covered)
    if not len(m.HARD_POLICIES):
        return out
    viol = values.get("Violation", pd.Series(dtype=float))
    pol = policy_results(m, buy, viol).set_index("instance")
    by_name = {p.name: p for p in tb.policies}
    groups: dict[tuple, list] = {}  # instances of one row that read alike but for the period: one finding
    for name in m.HARD_POLICIES:
        p, v = by_name[name], float(viol.get(name, 0.0))
        if name in covered or v <= TOL * policy_size(m, p):
            continue
        groups.setdefault((p.row, p.rule, p.material, p.selection), []).append((p, float(pol.at[name, "achieved"])))
    for items in groups.values():
        out.append(words.policy(items[0][0], [a for _, a in items], "elastic model", [q.period for q, _ in items]))
    return out


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if (f.sheet, f.row, f.message) not in seen:
            seen.add((f.sheet, f.row, f.message))
            out.append(f)
    return out


# --------------------------------------------------------------------------- wording

def number(x: float) -> str:
    """1,234 / 12.5 / 0.125: four significant figures at most, thousands separated."""
    if x is None or not math.isfinite(x):
        return str(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{float(f'{x:.4g}'):g}"


def when_phrase(periods: list) -> str:
    """ "in 2027", "in 2026–2030", "in 2026, 2028–2029", "over the horizon"."""
    if HORIZON in periods:
        return "over the horizon"
    runs: list[list[int]] = []
    for t in sorted(int(t) for t in periods):
        if runs and t == runs[-1][-1] + 1:
            runs[-1].append(t)
        else:
            runs.append([t])
    return "in " + ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def percent(x: float) -> str:
    p = 100 * x
    return f"{p:.0f}%" if abs(p - round(p)) < 0.05 else f"{p:.1f}%"


class Words:
    """Sentences about the data, pointing to the sheet rows they come from."""

    METRIC = {"quantity": "quantity", "spend": "spend", "co2e": "CO2e", "water": "water", "waste": "waste",
              "risk": "risk"}

    def __init__(self, data: PlanData):
        self.data = data
        s = data.settings
        self.q = s.quantity_unit
        self.units = {"quantity": s.quantity_unit, "spend": s.currency, "co2e": "t CO2e", "water": "m3", "waste": "t",
                      "risk": f"risk points × {s.quantity_unit}"}

    def material(self, mat) -> str:
        if mat is None:
            return "all materials"
        name = self.data.materials["name"].get(mat) if mat in self.data.materials.index else None
        return str(name) if isinstance(name, str) and name.strip() else str(mat)

    def demand_row(self, mat, t) -> int | None:
        d = self.data.demand
        hit = d.loc[(d["material"] == mat) & (d["period"] == t), "row"]
        return int(hit.iloc[0]) if len(hit) else None

    # demand
    def obstacle(self, o: Obstacle) -> Finding:
        if o.constraint == "demand_met":
            mat, t = o.index
            q = float(self.data.demand.loc[(self.data.demand["material"] == mat) & (self.data.demand["period"] == t),
                                           "quantity"].sum())
            most = o.amount or 0.0
            if most <= 0:
                return Finding("demand", "Demand", o.row,
                               f"Demand for {self.material(mat)} in {t} (Demand row {o.row}) is {number(q)} {self.q}, "
                               f"but no offer can supply {self.material(mat)} in {t} (check the offers' periods and "
                               f"capacities, and when candidates can first supply)", q, self.q)
            return Finding("demand", "Demand", o.row,
                           f"Demand for {self.material(mat)} in {t} (Demand row {o.row}) exceeds all available "
                           f"capacity by {number(q - most)} {self.q} ({number(q)} {self.q} asked, at most "
                           f"{number(most)} {self.q} can be bought)", q - most, self.q)
        if o.instance is None:  # any other limit found while building (a reserve above max_stock) says what it is
            return Finding("capacity", o.sheet, o.row, f"{o.message} ({o.sheet} row {o.row})", o.amount, self.q)
        return self.policy(o.instance, o.amount or 0.0, "data check")

    def unreachable_demand(self, mat, t, q, row, short) -> Finding:
        return Finding("demand", "Demand", int(row),
                       f"Demand for {self.material(mat)} in {t} (Demand row {int(row)}): {number(short)} of "
                       f"{number(q)} {self.q} cannot be bought from any offer in {t}, whatever the capacities and "
                       f"rules", short, self.q, "elastic model")

    # capacity
    def offer_excess(self, op: pd.DataFrame, excess: pd.Series, covered: set) -> list[Finding]:
        rows = []
        for (s, mat, t), x in excess.items():
            if x > TOL and (mat, t) not in covered:
                rows.append((s, mat, int(t), float(x)))
        out = []
        cap = op.set_index(["source", "material", "period"])["capacity_t"]
        offers = self.data.offers
        for (s, mat), group in pd.DataFrame(rows, columns=["s", "m", "t", "x"]).groupby(["s", "m"], sort=False):
            row = int(offers.loc[(offers["source"] == s) & (offers["material"] == mat), "row"].iloc[0])
            c = [float(cap[s, mat, t]) for t in group["t"]]
            out.append(Finding(
                "capacity", "Offers", row,
                f"Capacity of offer {s} → {self.material(mat)} (Offers row {row}) "
                + self._periods(group["t"].tolist(), c, group["x"].tolist()), float(group["x"].max()), self.q,
                "elastic model"))
        return out

    def source_excess(self, op: pd.DataFrame, buy: pd.Series, excess: pd.Series, covered: set) -> list[Finding]:
        rows = []
        sold = op.groupby(["source", "period"])["material"].agg(set)
        for (s, t), x in excess.items():
            if x > TOL and not all((mat, int(t)) in covered for mat in sold.get((s, t), ())):
                rows.append((s, int(t), float(x)))
        out = []
        cap = self.data.source_periods.set_index(["source", "period"])["capacity"]
        for s, group in pd.DataFrame(rows, columns=["s", "t", "x"]).groupby("s", sort=False):
            row = int(self.data.sources.at[s, "row"])
            c = [float(cap[s, t]) for t in group["t"]]
            out.append(Finding(
                "capacity", "Sources", row,
                f"Capacity of source {s} (Sources row {row}, over all its materials) "
                + self._periods(group["t"].tolist(), c, group["x"].tolist()), float(group["x"].max()), self.q,
                "elastic model"))
        return out

    def _periods(self, periods, caps, excess) -> str:
        """ "falls 5 t short in 2026: 80 t, 85 t needed" or "falls short by up to 120 t in 3 periods: 2026 (...), ..." """
        parts = [f"{t} ({number(c)} {self.q}, {number(c + x)} {self.q} needed)" for t, c, x in zip(periods, caps, excess)]
        if len(parts) == 1:
            return f"falls {number(excess[0])} {self.q} short in {periods[0]}: {number(caps[0])} {self.q}, " \
                   f"{number(caps[0] + excess[0])} {self.q} needed"
        if len(parts) > 4:
            parts = parts[:3] + [f"and {len(parts) - 3} more"]
        return f"falls short by up to {number(max(excess))} {self.q} in {len(periods)} periods: " + ", ".join(parts)

    # policies
    def rule(self, p: PolicyInstance, periods: list | None = None) -> str:
        """The rule in words: "at most 50% of Dy oxide in 2026 from bloc=FEOC", "CO2e of all materials in 2027 at most 280,000 t CO2e"."""
        bound = "at most" if p.is_max else "at least"
        mat = self.material(p.material)
        when = when_phrase(periods or [p.period])
        if p.kind == "share":
            sel = "" if p.selection == "all" else f" from {p.selection}"
            return f"{bound} {percent(p.limit)} of {mat} {when}{sel}"
        if p.kind == "count":
            which = "offer" if p.limit == 1 else "offers"
            which += "" if p.selection == "all" else f" of {p.selection}"
            return f"{bound} {number(p.limit)} {which} in use for {mat} {when}"
        sel = "" if p.selection == "all" else f" from {p.selection}"
        return (f"{self.METRIC.get(p.metric, p.metric)} of {mat}{sel} {when} {bound} {number(p.limit)} "
                f"{self.units.get(p.metric, '')}").rstrip()

    def figure(self, p: PolicyInstance, achieved: float) -> str:
        if p.kind == "share":
            return percent(achieved)
        if p.kind == "count":
            return number(achieved)
        return f"{number(achieved)} {self.units.get(p.metric, '')}".rstrip()

    def policy(self, p: PolicyInstance, achieved: float | list[float], found_by: str, periods: list | None = None) -> Finding:
        """A rule that must give way, and how far a plan can go (in each of ``periods``, for a list)."""
        head = f"Policy '{p.policy}' (Policies row {p.row})"
        verb = "allows" if p.is_max else "asks"
        values = achieved if isinstance(achieved, list) else [achieved]
        figures = [self.figure(p, a) for a in values]
        if len(set(figures)) == 1:
            fig = figures[0]
        else:
            fig = ", ".join(f"{f} ({t})" for f, t in zip(figures, periods))
        achieved = max(values, key=lambda a: abs(a - p.limit))
        unit = {"share": "share", "count": "offers"}.get(p.kind) or self.units.get(p.metric, "")
        if p.is_max:
            tail = f"at least {fig} {'are' if p.kind == 'count' else 'is'} needed"
        elif p.kind == "share" and not len(p.members):
            tail = "nothing in that selection sells it"
        elif p.kind == "count":
            tail = f"at most {fig} can be"
        else:
            tail = f"at most {fig} is achievable"
        if p.kind == "total":
            tail += f" ({'up to ' if len(set(figures)) > 1 else ''}{number(abs(achieved - p.limit))} {'over' if p.is_max else 'short'})"
        return Finding("policy", "Policies", p.row, f"{head} {verb} {self.rule(p, periods)}; {tail}",
                       abs(achieved - p.limit), unit, found_by)

    # a member of a conflicting set
    def member(self, model, c: solver.ConflictMember) -> Finding | None:
        tb, data = model.tables, self.data
        how = "LP conflict (IIS)"
        if c.kind == "row" and c.component == "demand_met":
            mat, t = c.index
            row = self.demand_row(mat, t)
            q = float(tb.demand.loc[(tb.demand["material"] == mat) & (tb.demand["period"] == t), "quantity"].sum())
            return Finding("conflict", "Demand", row,
                           f"Demand for {self.material(mat)} in {t} (Demand row {row}): {number(q)} {self.q}", q, self.q, how)
        if c.kind == "row" and c.component.startswith("policy_"):
            p = next((p for p in tb.policies if p.name == c.index), None)
            if p is None:
                return None
            return Finding("conflict", "Policies", p.row, f"Policy '{p.policy}' (Policies row {p.row}): {self.rule(p)}",
                           p.limit, "", how)
        if c.component in ("offer_capacity", "offer_min_order") or (c.kind == "bound" and c.component == "Buy"
                                                                      and c.side in ("upper", "both")):
            s, mat, t = c.index
            op = tb.op
            rec = op[(op["source"] == s) & (op["material"] == mat) & (op["period"] == t)]
            if rec.empty:
                return None
            rec = rec.iloc[0]
            row = int(data.offers.at[int(rec["offer"]), "row"])
            offer = f"offer {s} → {self.material(mat)} (Offers row {row})"
            if c.component == "offer_min_order":
                q = float(rec["min_order"])
                return Finding("conflict", "Offers", row, f"Minimum order of {offer}: {number(q)} {self.q}", q, self.q, how)
            b = float(rec["bound"])
            if b == rec["capacity"]:
                return Finding("conflict", "Offers", row, f"Capacity of {offer} in {t}: {number(b)} {self.q}", b, self.q, how)
            if b == rec["source_capacity"]:
                return self._source_capacity(s, t, b, how)
            return Finding("conflict", "Offers", row,
                           f"The {offer} supplies at most the demand in {t} ({number(b)} {self.q})", b, self.q, how)
        if c.component == "source_capacity":
            s, t = c.index
            cap = float(data.source_periods.set_index(["source", "period"])["capacity"][s, t])
            return self._source_capacity(s, t, cap, how)
        if c.component in ("candidate_source_built", "candidate_offer_built"):
            s = c.index[0]
            src = data.sources.loc[s]
            row = int(src["row"])
            return Finding("conflict", "Sources", row,
                           f"Candidate {s} (Sources row {row}) supplies only once built (earliest_build "
                           f"{int(src['earliest_build'])}, lead_time {int(src['lead_time'])})", None, "", how)
        return None  # internal links (material_supply, source_in_use, ...) and non-negativity

    def _source_capacity(self, s, t, cap: float, how: str) -> Finding:
        row = int(self.data.sources.at[s, "row"])
        return Finding("conflict", "Sources", row, f"Capacity of source {s} (Sources row {row}) in {t}, over all its "
                       f"materials: {number(cap)} {self.q}", cap, self.q, how)


# --------------------------------------------------------------------------- workbook

def write_diagnosis(path: Path, diag: Diagnosis, data: PlanData, facts: list[tuple[str, object]]) -> Path:
    """The Diagnosis workbook: what must give way, a conflicting set, and how it was found."""
    wb, ws = excel.new_workbook("Diagnosis")
    excel.set_value(ws["A1"], f"{data.settings.plan_name}: no plan exists")  # user text: never a formula
    ws["A1"].font = TITLE_FONT
    _line(ws, 2, "Infeasible: the rules, capacities and demand cannot all hold. Below is the smallest set of "
                 "changes that would make a plan possible.").fill = WARN_FILL
    row = 4
    ws.cell(row=row, column=1, value="What must give way").font = SECTION_FONT
    for row, line in enumerate((HIERARCHY, *diag.notes), start=row + 1):
        _line(ws, row, line)
    row += 2
    columns = ["#", "kind", "sheet", "row", "finding", "amount", "unit", "found by"]
    rows = [[i, f.kind, f.sheet, f.row, f.message, f.amount, f.unit, f.found_by] for i, f in enumerate(diag.findings, 1)]
    excel.write_table(ws, "Findings", columns, rows, start_row=row, freeze=False)
    for i, f in enumerate(diag.findings, start=row + 1):
        _top(ws, i, len(columns))
        _wrap(ws.cell(row=i, column=5), f.message)
        ws.cell(row=i, column=6).number_format = "0.0%" if f.unit == "share" else "#,##0.##"
    row += max(len(rows), 1) + 3
    if diag.conflict:
        ws.cell(row=row, column=1, value="A conflicting set").font = SECTION_FONT
        _line(ws, row + 1, CONFLICT_NOTE)
        row += 3
        rows = [[i, "conflict", f.sheet, f.row, f.message] for i, f in enumerate(diag.conflict, 1)]
        excel.write_table(ws, "Conflict", ["#", "kind", "sheet", "row", "item"], rows, start_row=row, freeze=False)
        for i, f in enumerate(diag.conflict, start=row + 1):
            _top(ws, i, 5)
            _wrap(ws.cell(row=i, column=5), f.message)
        row += len(rows) + 3
    ws.cell(row=row, column=1, value="Run").font = SECTION_FONT
    for row, (label, value) in enumerate(facts + [("diagnosis seconds", round(diag.seconds, 3)),
                                                  ("elastic model status", diag.status),
                                                  ("planner version", __version__),
                                                  ("solver", f"HiGHS {solver.highs_version()}")], start=row + 1):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
        ws.cell(row=row, column=1, value=label).font = LABEL_FONT
        excel.set_value(ws.cell(row=row, column=5), value)
        ws.cell(row=row, column=5).alignment = Alignment(horizontal="left")
    for col, width in enumerate(WIDTHS, start=1):  # after the tables, which size columns to their content
        ws.column_dimensions[get_column_letter(col)].width = width
    excel.print_setup(ws, repeat_header=False)
    return excel.save_atomic(wb, path)


WIDTHS = (5, 10, 10, 6, 100, 11, 9, 18)


def _line(ws, row: int, text: str):
    """A sentence across the sheet's width (merged A:H, wrapped); returns its cell."""
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(WIDTHS))
    cell = ws.cell(row=row, column=1)
    excel.set_value(cell, text)
    _wrap(cell, text, sum(WIDTHS))
    return cell


def _top(ws, row: int, n: int) -> None:
    for col in range(1, n + 1):
        ws.cell(row=row, column=col).alignment = Alignment(vertical="top")


def _wrap(cell, text: str, width: float | None = None) -> None:
    """Wrap ``text`` in ``cell`` and give its row the height it needs (spreadsheets do not grow rows they read)."""
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    chars = 1.15 * (width or WIDTHS[cell.column - 1])  # a width unit holds a little over one character of Calibri 11
    lines = max(1, math.ceil(len(text) / chars))
    dim = cell.parent.row_dimensions[cell.row]
    dim.height = max(dim.height or 15, 15 * lines)


HIERARCHY = ("Policies give way first, then capacities, then demand: the search finds the least demand that "
             "nothing can supply, then the least extra capacity with every rule free, then the least relaxation "
             "of the rules.")
CONFLICT_NOTE = ("These limits cannot all hold even when purchases may be split freely (the LP relaxation); "
                 "dropping any one of them removes this conflict.")
