"""``planner stress PLAN --scenario NAME``: a plan's commitments held under a disruption, checked by hand.

Each case writes a small workbook, solves it with ``planner solve`` (real HiGHS), then stresses
the plan; every figure asserted is worked out in the docstrings. Prices are undiscounted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine
from click.testing import CliRunner

from planner.cli import cli
from planner.run import Options, solve_file

from .conftest import write_plain
from .models.modelcase import book

SOURCES = [{"source": "CHEAP", "country": "CN"}, {"source": "CONTRACT", "country": "US"},
           {"source": "SPOT", "country": "JP"}]


def ban(name: str, source: str = "CHEAP", period: str | None = "2027") -> dict:
    row = {"scenario": name, "sheet": "Offers", "column": "capacity", "where": f"source={source}", "operation": "scale",
           "value": 0}
    return {**row, "period": period} if period else row


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    lines = result.stdout.strip().splitlines()
    payload = json.loads(lines[-1]) if "--json" in args and lines and lines[-1].startswith("{") else None
    return result, payload


def table(path: Path, name: str) -> pd.DataFrame:
    t = python_calamine.CalamineWorkbook.from_path(str(path), load_tables=True).get_table_by_name(name)
    rows = [[None if v == "" else v for v in r] for r in t.to_python() if any(v != "" for v in r)]
    return pd.DataFrame(rows, columns=t.columns)


def facts(path: Path) -> dict:
    grid = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Summary").to_python()
    return {r[0]: r[1] for r in grid if r and r[0]}


def cell(frame: pd.DataFrame, material: str, period: int, column: str) -> float:
    row = frame[(frame["material"] == material) & (frame["period"].astype(int) == period)]
    assert len(row) == 1, (material, period, frame)
    v = row.iloc[0][column]
    return math.nan if v is None else float(v)


def solved(tmp: Path, rows: dict) -> Path:
    """The plan of ``rows``, written by ``planner solve``."""
    source = write_plain(tmp / "in.xlsx", {k: v for k, v in rows.items() if v})  # no empty sheets
    result, _ = run("solve", source, "-o", tmp / "plan.xlsx", "--quiet")
    assert result.exit_code == 0, result.output
    return tmp / "plan.xlsx"


def close(a, b, tol=1e-6) -> bool:
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


# --------------------------------------------------------------------------- (1) a ban, a contract, a spot alternative

def contract_rows() -> dict:
    """A, 100 t in 2026 and 2027. CHEAP (CN) sells 60 t at 10; CONTRACT (US) 50 t at 20 with a minimum
    order of 30 and a contract cost of 100 a period; SPOT (JP) 30 t at 40.

    Plan, each year: 60 t CHEAP (600) and the other 40 t under contract (800 + 100) = 1,500 (SPOT's 30 t
    could not cover 40 t without the contract, and the contract's 20 + 100/40 beats 40); 3,000 in all.
    """
    offers = [{"source": "CHEAP", "material": "A", "unit_cost": 10, "capacity": 60},
              {"source": "CONTRACT", "material": "A", "unit_cost": 20, "capacity": 50, "min_order": 30,
               "contract_cost": 100},
              {"source": "SPOT", "material": "A", "unit_cost": 40, "capacity": 30}]
    demand = [{"material": "A", "period": t, "quantity": 100} for t in (2026, 2027)]
    rows = book(offers, demand, sources=SOURCES)
    rows["Scenarios"] = [ban("ban-2027"), ban("ban-always", period=None), ban("contract-lost", source="CONTRACT")]
    return rows


@pytest.fixture(scope="module")
def contract_plan(tmp_path_factory) -> Path:
    return solved(tmp_path_factory.mktemp("contract"), contract_rows())


def test_plan_commits_to_the_contract(contract_plan):
    """The plan signs CONTRACT in both years and costs 3,000 (the setting the stress tests start from)."""
    c = table(contract_plan, "Commitments")
    assert sorted(zip(c["commitment"], c["source"], c["period"].astype(int))) == [
        ("contract", "CONTRACT", 2026), ("contract", "CONTRACT", 2027)]
    assert close(table(contract_plan, "Costs").set_index("component").loc["Total", "discounted"], 3000)


def test_ban_from_2027_hand_computed(contract_plan, tmp_path):
    """Ban CHEAP in 2027. The disruption starts in 2027; 2026 is held as planned (1,500).

    2027: the contract stays signed and delivers its capacity, 50 t (1,000 + 100); SPOT its 30 t
    (1,200); 20 t are short at the default penalty 10 × 40 (SPOT, the highest price of A) = 400
    per t: 8,000. 2027 costs 10,300, the plan 11,800, 8,800 more than planned. Purchases in 2027:
    2,200 stressed against 1,400 planned.
    """
    out = tmp_path / "stressed.xlsx"
    result, payload = run("stress", contract_plan, "--scenario", "ban-2027", "-o", out, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert payload["status"] == "optimal" and close(payload["objective"], 11800)
    r = payload["runs"][0]
    assert r["start"] == 2027 and close(r["extra_cost"], 8800)
    assert close(r["shortfall"]["A"], 20) and close(r["shortage_penalty"]["A"], 400)
    assert "extra cost +8,800" in result.stdout and "A 20 t" in result.stdout

    s = table(out, "Stress")
    assert close(cell(s, "A", 2027, "planned_bought"), 100) and close(cell(s, "A", 2027, "stressed_bought"), 80)
    assert close(cell(s, "A", 2027, "stressed_shortfall"), 20) and close(cell(s, "A", 2027, "planned_shortfall"), 0)
    assert close(cell(s, "A", 2027, "planned_cost"), 1400) and close(cell(s, "A", 2027, "stressed_cost"), 2200)
    assert close(cell(s, "A", 2027, "shortage_penalty"), 400)
    assert close(cell(s, "A", 2026, "extra_cost"), 0) and s.loc[s["period"] == 2026, "phase"].item() == "history (held)"
    costs = table(out, "StressCosts").set_index("component")
    assert close(costs.loc["Total", "planned_discounted"], 3000) and close(costs.loc["Total", "stressed_discounted"], 11800)
    assert close(costs.loc["Shortage penalties", "extra_discounted"], 8000)

    p = table(out, "Purchases")
    got = {(rec.source, int(rec.period)): rec.quantity for rec in p.itertuples()}
    assert got == pytest.approx({("CHEAP", 2026): 60, ("CONTRACT", 2026): 40, ("CONTRACT", 2027): 50, ("SPOT", 2027): 30})
    f = facts(out)
    assert f["scenario"] == "ban-2027" and f["disruption from"] == 2027
    assert f["stress test"].startswith("stress test of plan.xlsx (SHA-256 ") and "commitments fixed" in f["stress test"]
    assert f["largest constraint violation"] == 0 and r["max_violation"] <= 1e-9  # checked with nothing fixed


def test_shortage_penalty_option(contract_plan, tmp_path):
    """--shortage-penalty 15, below every price but CHEAP's. 2027: the contract stays signed, so its
    minimum order of 30 t is bought (600 + 100) and the other 70 t go short at 15 (1,050): 1,750.
    2026 is held at the plan's 1,500: 3,250 in all. (Were 2026 free, it would buy only the minimum
    order too and go 10 t short: 1,450; were the 2027 contract free, going 100 t short would cost
    1,500 < 1,750.)"""
    result, payload = run("stress", contract_plan, "--scenario", "ban-2027", "-o", tmp_path / "s.xlsx",
                          "--shortage-penalty", 15, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert close(payload["objective"], 3250) and close(payload["runs"][0]["shortfall"]["A"], 70)
    assert "given with --shortage-penalty" in facts(tmp_path / "s.xlsx")["shortage penalty used"]


def test_several_scenarios_named_like_solve(contract_plan, tmp_path):
    """Two scenarios: each plan beside the stem, as 'planner solve --scenario' names them.

    ban-always (no period: the disruption starts in 2026, nothing is history): each year 10,300 as
    in 2027 above, 20,600. contract-lost (CONTRACT sells nothing in 2027): its 2027 contract cannot
    deliver (force majeure, no contract cost); 2027 takes CHEAP's 60 t (600) and SPOT's 30 t (1,200),
    10 t short at 400 (4,000): 5,800; with 2026 as planned, 7,300.
    """
    stem = tmp_path / "st.xlsx"
    result, payload = run("stress", contract_plan, "--scenario", "ban-always", "--scenario", "contract-lost",
                          "-o", stem, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    runs = {r["scenario"]: r for r in payload["runs"]}
    assert runs["ban-always"]["plan"] == str(tmp_path / "st--ban-always.xlsx")
    assert runs["ban-always"]["start"] == 2026 and close(runs["ban-always"]["objective"], 20600)
    assert close(runs["contract-lost"]["objective"], 7300)
    lost = table(tmp_path / "st--contract-lost.xlsx", "Stress")
    note = lost.loc[lost["period"] == 2027, "notes"].item()
    assert note == "contract CONTRACT cannot deliver (force majeure)"
    assert "contract CONTRACT for A in 2027 cannot deliver" in result.stdout and "force majeure" in result.stdout


# --------------------------------------------------------------------------- (2) the reserve is drawn

def test_reserve_bought_before_the_ban_is_drawn(tmp_path):
    """A, 100 t a year 2026-2028; CHEAP (CN) at 10 and SPOT (JP) at 50, both unlimited; a reserve of
    20 t at the end of every period, holding 1 per t and period.

    Plan: 120 t in 2026 (the reserve), 100 t in 2027 and 2028, all CHEAP (3,200), 20 t held three
    times (60): 3,260.
    Ban CHEAP in 2027: 2026 is held (120 t CHEAP: 1,200, 20 t held: 20). In 2027, the disruption, the
    reserve may be drawn: 20 t from stock and 80 t SPOT (4,000), stock 0; in 2028 it holds again and
    is rebuilt: 120 t CHEAP (1,200), 20 t held (20). Total 6,440; reserve drawn 20 t in 2027 only.
    Were 2026 not held, buying ahead at 10 + 1 would beat SPOT's 50 (and the total would be lower).
    """
    offers = [{"source": "CHEAP", "material": "A", "unit_cost": 10}, {"source": "SPOT", "material": "A", "unit_cost": 50}]
    demand = [{"material": "A", "period": t, "quantity": 100} for t in (2026, 2027, 2028)]
    rows = book(offers, demand, sources=SOURCES, stockpile=[{"material": "A", "min_reserve": 20, "holding_cost": 1}])
    rows["Scenarios"] = [ban("ban-2027")]
    plan = solved(tmp_path, rows)
    assert close(table(plan, "Costs").set_index("component").loc["Total", "discounted"], 3260)
    out = tmp_path / "stressed.xlsx"
    result, payload = run("stress", plan, "--scenario", "ban-2027", "-o", out, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert close(payload["objective"], 6440)
    assert close(payload["runs"][0]["reserve_drawn"]["A"], 20)
    s = table(out, "Stress")
    assert close(cell(s, "A", 2026, "reserve_drawn"), 0) and close(cell(s, "A", 2026, "stressed_reserve"), 20)
    assert close(cell(s, "A", 2027, "planned_reserve"), 20) and close(cell(s, "A", 2027, "stressed_reserve"), 0)
    assert close(cell(s, "A", 2027, "reserve_drawn"), 20) and close(cell(s, "A", 2027, "stressed_shortfall"), 0)
    got = {(r.source, int(r.period)): r.quantity for r in table(out, "Purchases").itertuples()}
    assert got == pytest.approx({("CHEAP", 2026): 120, ("SPOT", 2027): 80, ("CHEAP", 2028): 120})
    assert close(cell(s, "A", 2028, "reserve_drawn"), 0) and close(cell(s, "A", 2028, "stressed_reserve"), 20)
    stock = table(out, "Stock")
    assert close(cell(stock, "A", 2027, "drawn"), 20)
    assert "reserve drawn" in result.stdout and "A 20 t in 2027" in result.stdout
    assert s.set_index("period")["phase"].to_dict() == {2026: "history (held)", 2027: "disruption", 2028: "after"}
    # compare shows the lowest reserve cover: 12 × 20 / 100 = 2.4 months planned, 0 under the ban
    result, _ = run("compare", plan, out, "-o", tmp_path / "cmp.xlsx")
    assert result.exit_code == 0, result.output
    data = table(tmp_path / "cmp.xlsx", "Data")
    cover = data[(data["kpi"] == "reserve_months") & (data["material"] == "A")].set_index("plan")["value"]
    assert cover.astype(float).round(6).tolist() == [2.4, 0.0]


# --------------------------------------------------------------------------- (3) commitments stay fixed

def test_a_candidate_not_built_stays_unbuilt(tmp_path):
    """A, 100 t in 2026 and 2027; CHEAP (CN) at 10, SPOT (JP) at 60, both unlimited; a candidate NEW
    (US, build cost 500, no lead time, 100 t) sells at 20; CONTRACT (US) at 30 with a contract cost
    of 100 a period.

    Plan: CHEAP both years (2,000); neither building NEW nor the contract ever pays. Ban CHEAP in
    2027: the plan did not build NEW nor sign CONTRACT, so the stressed plan cannot either: 100 t
    SPOT (6,000) in 2027, 7,000 in all (the penalty 10 × 60 = 600 a t makes buying cheaper than
    going short; signing would cost 3,100). Solved afresh, the scenario builds NEW in 2027 (500) and
    buys there (2,000): 3,500.
    """
    sources = [*SOURCES, {"source": "NEW", "country": "US", "status": "candidate", "build_cost": 500, "capacity": 100}]
    offers = [{"source": "CHEAP", "material": "A", "unit_cost": 10}, {"source": "SPOT", "material": "A", "unit_cost": 60},
              {"source": "NEW", "material": "A", "unit_cost": 20},
              {"source": "CONTRACT", "material": "A", "unit_cost": 30, "contract_cost": 100}]
    demand = [{"material": "A", "period": t, "quantity": 100} for t in (2026, 2027)]
    rows = book(offers, demand, sources=sources)
    rows["Scenarios"] = [ban("ban-2027")]
    plan = solved(tmp_path, rows)
    assert table(plan, "Investments").empty
    fresh = solve_file(tmp_path / "in.xlsx", None, Options(scenario="ban-2027"))
    assert close(fresh.result.objective, 3500) and len(fresh.plan.investments) == 1
    out = tmp_path / "stressed.xlsx"
    result, payload = run("stress", plan, "--scenario", "ban-2027", "-o", out, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert close(payload["objective"], 7000)
    assert table(out, "Investments").empty
    assert close(cell(table(out, "Stress"), "A", 2027, "stressed_cost"), 6000)


# --------------------------------------------------------------------------- (4) comparable with the plan

def test_an_offer_counted_by_a_sources_rule_is_not_a_contract(tmp_path):
    """A, 100 t in 2026 and 2027; CHEAP (CN) at 10 and SPOT (JP) at 30, neither with a minimum order
    or contract cost; a rule 'at least 1 source in use' gives both an in-use decision. Plan: CHEAP
    only (2,000), no commitments. Ban CHEAP in 2027: SPOT is a spot purchase, not an unsigned
    contract, so it supplies 2027: 1,000 + 3,000 = 4,000 and no shortfall."""
    offers = [{"source": "CHEAP", "material": "A", "unit_cost": 10}, {"source": "SPOT", "material": "A", "unit_cost": 30}]
    demand = [{"material": "A", "period": t, "quantity": 100} for t in (2026, 2027)]
    rows = book(offers, demand, sources=SOURCES, policies=[{"policy": "one", "rule": "min_sources", "limit": 1}])
    rows["Scenarios"] = [ban("ban-2027")]
    plan = solved(tmp_path, rows)
    assert table(plan, "Commitments").empty
    result, payload = run("stress", plan, "--scenario", "ban-2027", "-o", tmp_path / "s.xlsx", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert close(payload["objective"], 4000)
    assert close(table(tmp_path / "s.xlsx", "Stress")["stressed_shortfall"].astype(float).sum(), 0)


def test_compare_plan_with_stressed(contract_plan, tmp_path):
    """`planner compare PLAN STRESSED` takes the stressed plan: total cost 3,000 against 11,800."""
    stressed = tmp_path / "stressed.xlsx"
    result, _ = run("stress", contract_plan, "--scenario", "ban-2027", "-o", stressed, "--quiet")
    assert result.exit_code == 0, result.output
    result, payload = run("compare", contract_plan, stressed, "-o", tmp_path / "cmp.xlsx", "--json")
    assert result.exit_code == 0, result.output
    totals = {p["scenario"]: p["total_cost"] for p in payload["plans"]}
    assert close(totals["base"], 3000) and close(totals["ban-2027"], 11800)
    assert not any("different input files" in w for w in payload["warnings"])
    assert payload["inputs_diff"] == 1  # the ban: CHEAP's capacity in 2027


# --------------------------------------------------------------------------- (5) bad input

def test_not_a_plan(tmp_path):
    source = write_plain(tmp_path / "in.xlsx", {k: v for k, v in contract_rows().items() if v})
    result, _ = run("stress", source, "--scenario", "ban-2027")
    assert result.exit_code == 1
    assert "is not a plan workbook" in result.output and "Traceback" not in result.output


def test_plan_without_commitments(contract_plan, tmp_path):
    """A plan written before plans listed their commitments is refused with that reason."""
    wb = openpyxl.load_workbook(contract_plan)
    del wb["Commitments"]
    old = tmp_path / "old-plan.xlsx"
    wb.save(old)
    result, _ = run("stress", old, "--scenario", "ban-2027")
    assert result.exit_code == 1
    assert "no Commitments sheet" in result.output and "planner solve" in result.output


def test_unknown_scenario_lists_the_names(contract_plan, tmp_path):
    result, _ = run("stress", contract_plan, "--scenario", "ban-2072", "-o", tmp_path / "x.xlsx")
    assert result.exit_code == 2
    assert "'ban-2072'" in result.output and "ban-2027, ban-always, contract-lost" in result.output
    assert not (tmp_path / "x.xlsx").exists()


# --------------------------------------------------------------------------- no stressed plan: exit 3, the others go on

def test_infeasible_scenario_is_explained_and_the_others_run(tmp_path):
    """A, 100 t in 2026 and 2027; CHEAP (CN) at 10 unlimited, DOM (US) at 15 for 100 t, a candidate NEW
    (US, build cost 500) at 20 for 100 t; a hard rule: at least 50 t domestic in 2027.

    Plan: 2026 all CHEAP (1,000); 2027 50 t DOM (750) and 50 t CHEAP (500): 2,250, NEW unbuilt.
    dom-outage (DOM sells nothing in 2027): only NEW could supply domestic tonnes, and it is not
    built, so no stressed plan exists (exit 3), although the scenario alone has one (build NEW).
    ban-2027 (CHEAP banned in 2027) still runs: 2027 takes 100 t DOM (1,500): 2,500 in all.
    """
    sources = [*SOURCES, {"source": "DOM", "country": "US", "capacity": 100},
               {"source": "NEW", "country": "US", "status": "candidate", "build_cost": 500, "capacity": 100}]
    offers = [{"source": "CHEAP", "material": "A", "unit_cost": 10}, {"source": "DOM", "material": "A", "unit_cost": 15},
              {"source": "NEW", "material": "A", "unit_cost": 20}]
    demand = [{"material": "A", "period": t, "quantity": 100} for t in (2026, 2027)]
    policies = [{"policy": "home", "rule": "min_total", "selection": "bloc=domestic", "period": 2027, "metric": "quantity",
                 "limit": 50}]
    rows = book(offers, demand, sources=sources, policies=policies)
    rows["Scenarios"] = [ban("dom-outage", source="DOM"), ban("ban-2027")]
    plan = solved(tmp_path, rows)
    assert close(table(plan, "Costs").set_index("component").loc["Total", "discounted"], 2250)
    result, payload = run("stress", plan, "--scenario", "dom-outage", "--scenario", "ban-2027", "-o", tmp_path / "s.xlsx",
                          "--json", "--quiet")
    assert result.exit_code == 3, result.output
    runs = {r["scenario"]: r for r in payload["runs"]}
    assert runs["dom-outage"]["status"] == "infeasible" and runs["dom-outage"]["plan"] is None
    assert Path(runs["dom-outage"]["diagnosis_workbook"]).exists()
    assert "infeasible" in result.stdout and "held fixed" in result.stdout
    assert runs["ban-2027"]["status"] == "optimal" and close(runs["ban-2027"]["objective"], 2500)
    assert Path(runs["ban-2027"]["plan"]).exists()
