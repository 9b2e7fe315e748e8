"""Scenario plans and `planner compare` end to end: real workbooks, real HiGHS solves, read back."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine
from click.testing import CliRunner

from planner import batch, compare
from planner.cli import cli

from .conftest import SMALL, write_plain

# By hand, per year (tests/test_solve.py): NdPr 50 t from CN at 40 × 1.25 + 50 t from MP at 60 = 5,500;
# Dy 5 t from CN at 375 + 5 t from LYN at 400 = 3,875. Without China in 2027: NdPr 80 t from MP at 60 +
# 20 t from LYN at 70 = 6,200; Dy 10 t from LYN at 400 = 4,000 (building NEW never pays: it would save
# at most 500 + 375 for its 1,000).
BASE_COST = 3 * (5500 + 3875)
BAN_COST = BASE_COST + (6200 - 5500) + (4000 - 3875)
BAN = {"scenario": "ban-2027", "sheet": "Offers", "column": "capacity", "where": "country=CN", "period": "2027",
       "operation": "scale", "value": 0}


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    lines = result.stdout.strip().splitlines()
    payload = json.loads(lines[-1]) if "--json" in args and lines and lines[-1].startswith("{") else None
    return result, payload


def three_years(scenarios: list[dict]) -> dict:
    rows = copy.deepcopy(SMALL)
    rows["Demand"] = [{"material": m, "period": t, "quantity": q} for m, q in (("NdPr", 100), ("Dy", 10))
                      for t in (2026, 2027, 2028)]
    if scenarios:
        rows["Scenarios"] = scenarios
    return rows


def table(path: Path, name: str) -> pd.DataFrame:
    t = python_calamine.CalamineWorkbook.from_path(str(path), load_tables=True).get_table_by_name(name)
    rows = [r for r in t.to_python() if any(v != "" for v in r)]
    return pd.DataFrame(rows, columns=t.columns)


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """The base and two scenarios solved into plans, and their comparison."""
    d = tmp_path_factory.mktemp("scenarios")
    source = write_plain(d / "in.xlsx", three_years([
        BAN,
        {**BAN, "scenario": "ban-and-tariff"},
        {"scenario": "ban-and-tariff", "sheet": "Countries", "column": "tariff", "where": "country=CN",
         "operation": "set", "value": 0.5},
    ]))
    result, payload = run("solve", source, "-o", d / "plan.xlsx", "--scenario", "ban-2027", "--scenario",
                          "ban-and-tariff", "--jobs", 1, "--json")
    return d, result, payload


def test_one_plan_per_scenario_and_a_comparison(solved):
    d, result, payload = solved
    assert result.exit_code == 0, result.output
    assert [(r["scenario"], r["status"], r["plan"]) for r in payload["runs"]] == [
        ("base", "optimal", str(d / "plan.xlsx")), ("ban-2027", "optimal", str(d / "plan--ban-2027.xlsx")),
        ("ban-and-tariff", "optimal", str(d / "plan--ban-and-tariff.xlsx"))]
    assert payload["comparison"] == str(d / "plan-comparison.xlsx") and payload["exit_code"] == 0
    assert payload["runs"][0]["objective"] == pytest.approx(BASE_COST, rel=1e-9)
    assert payload["runs"][1]["objective"] == pytest.approx(BAN_COST, rel=1e-9)
    assert "ban-2027" in result.stdout and "total cost +825" in result.stdout


def test_export_ban_moves_supply_in_exactly_the_banned_year(solved):
    d, _, _ = solved
    base, ban = (pd.read_excel(d / name, sheet_name="Purchases", engine="calamine")
                 for name in ("plan.xlsx", "plan--ban-2027.xlsx"))
    from_cn = {name: p[p["country"] == "CN"].groupby("period")["quantity"].sum().to_dict() for name, p in (("base", base), ("ban", ban))}
    assert from_cn["base"] == pytest.approx({2026: 55, 2027: 55, 2028: 55})
    assert from_cn["ban"] == pytest.approx({2026: 55, 2028: 55})
    key = ["period", "material", "source"]
    for year in (2026, 2028):  # the other years buy exactly as the base does
        same = base[base["period"] == year].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(same, ban[ban["period"] == year].sort_values(key).reset_index(drop=True))
    in_2027 = ban[ban["period"] == 2027].groupby(["material", "source"])["quantity"].sum().to_dict()
    assert in_2027 == pytest.approx({("Dy", "LYN"): 10, ("NdPr", "LYN"): 20, ("NdPr", "MP"): 80})


def test_plan_records_its_scenario_and_edits(solved):
    d, _, _ = solved
    plan = d / "plan--ban-and-tariff.xlsx"
    facts = compare.read_plan(plan).facts
    assert facts["scenario"] == "ban-and-tariff"
    assert facts["scenario edits"] == "2 edits, 3 input cells changed (see the Scenario sheet)"
    edits = table(plan, "ScenarioEdits")
    assert edits[["sheet", "column", "rows_matched", "cells_changed"]].values.tolist() == [
        ["Offers", "capacity", 2, 2], ["Countries", "tariff", 1, 1]]
    assert len(table(plan, "ScenarioCells")) == 3


def test_inputs_diff_lists_exactly_the_edited_cells(solved):
    d, _, _ = solved
    diff = table(d / "plan-comparison.xlsx", "InputsDiff")
    cells = diff[["plan", "sheet", "row_key", "column", "period", "base_value", "plan_value"]].values.tolist()
    ban = [["Offers", "CN1 · Dy", "capacity", 2027.0, "blank (unlimited)", 0.0],
           ["Offers", "CN1 · NdPr", "capacity", 2027.0, "blank (unlimited)", 0.0]]
    assert cells == [["ban-2027", *c] for c in ban] + [["ban-and-tariff", "Countries", "CN", "tariff", "", 0.25, 0.5]] + \
        [["ban-and-tariff", *c] for c in ban]


def test_summary_shows_deltas_coloured_by_what_is_good(solved):
    d, _, _ = solved
    ws = openpyxl.load_workbook(d / "plan-comparison.xlsx")["Summary"]
    rows = {r[0].value: r for r in ws.iter_rows() if r[0].value in ("Total cost (discounted)", "FEOC share", "Demand")}
    total = rows["Total cost (discounted)"]
    assert [total[j].value for j in (2, 3, 4)] == pytest.approx([BASE_COST, BAN_COST, BAN_COST - BASE_COST])
    assert total[5].value == pytest.approx((BAN_COST - BASE_COST) / BASE_COST)
    assert total[4].fill.fgColor.rgb.endswith("FFC7CE")  # dearer: red
    feoc = rows["FEOC share"]  # 50% → 2 of 3 years at 50%: 110/330 t
    assert feoc[3].value == pytest.approx(110 / 330) and feoc[4].value == pytest.approx((110 / 330 - 0.5) * 100)
    assert feoc[4].fill.fgColor.rgb.endswith("C6EFCE")  # less from FEOC: green
    assert rows["Demand"][4].fill.fgColor.rgb in ("00000000", None)  # neither good nor bad


def test_a_plan_compared_with_itself_shows_no_change(solved, tmp_path):
    d, _, _ = solved
    plan = d / "plan--ban-2027.xlsx"
    result, payload = run("compare", plan, plan, "-o", tmp_path / "self.xlsx", "--json")
    assert result.exit_code == 0, result.output
    assert [p["label"] for p in payload["plans"]] == ["ban-2027", "ban-2027 #2"]
    assert payload["inputs_diff"] == 0 and payload["warnings"] == []
    assert "total cost +0 USD (+0.0%)" in result.stdout
    assert table(tmp_path / "self.xlsx", "InputsDiff").empty
    data = table(tmp_path / "self.xlsx", "Data")
    pivot = data.pivot_table(index=["kpi", "material", "period"], columns="plan", values="value", aggfunc="sum")
    assert (pivot["ban-2027"] == pivot["ban-2027 #2"]).all()


def test_compare_refuses_to_overwrite_a_plan_and_rejects_non_plans(solved):
    d, _, _ = solved
    plan = d / "plan.xlsx"
    before = hashlib.sha256(plan.read_bytes()).hexdigest()
    result, _ = run("compare", plan, d / "plan--ban-2027.xlsx", "-o", plan)
    assert result.exit_code == 2 and "one of the plans compared" in result.output
    assert hashlib.sha256(plan.read_bytes()).hexdigest() == before
    result, _ = run("compare", d / "in.xlsx", plan, "-o", d / "x.xlsx")
    assert result.exit_code == 1 and "expected a plan workbook written by planner solve" in result.output
    assert run("compare", plan)[0].exit_code == 2


def test_unknown_scenario_is_a_usage_error_listing_them(solved):
    d, _, _ = solved
    result, _ = run("solve", d / "in.xlsx", "-o", d / "other.xlsx", "--scenario", "nope")
    assert result.exit_code == 2
    assert "has no scenario 'nope'; its scenarios: ban-2027, ban-and-tariff" in result.output


def test_a_scenario_plan_solves_its_scenario_again(solved, tmp_path):
    d, _, _ = solved
    result, payload = run("solve", d / "plan--ban-2027.xlsx", "-o", tmp_path / "again.xlsx", "--json")
    assert result.exit_code == 0, result.output
    assert payload["objective"] == pytest.approx(BAN_COST, rel=1e-9)
    assert "solving that scenario again" in result.stderr
    result, payload = run("solve", d / "plan--ban-2027.xlsx", "-o", tmp_path / "base.xlsx", "--scenario", "base", "--json")
    assert payload["objective"] == pytest.approx(BASE_COST, rel=1e-9)


def test_a_scenario_without_a_plan_sets_the_exit_code_and_is_listed(tmp_path):
    surge = {"scenario": "surge", "sheet": "Demand", "column": "quantity", "operation": "scale", "value": 10}
    source = write_plain(tmp_path / "in.xlsx", three_years([BAN, surge]))  # 1,000 t of NdPr: at most 50% from China
    result, payload = run("solve", source, "-o", tmp_path / "plan.xlsx", "--all-scenarios", "--jobs", 1, "--json")
    assert result.exit_code == 3, result.output
    assert [r["status"] for r in payload["runs"]] == ["optimal", "optimal", "infeasible"]
    assert payload["runs"][2]["plan"] is None and payload["runs"][2]["messages"]
    runs = table(tmp_path / "plan-comparison.xlsx", "Runs")
    assert runs[["plan", "status"]].values.tolist()[-1] == ["surge", "no plan: infeasible"]


def test_all_scenarios_needs_scenarios(tmp_path):
    source = write_plain(tmp_path / "in.xlsx", three_years([]))
    result, _ = run("solve", source, "--all-scenarios", "-o", tmp_path / "plan.xlsx")
    assert result.exit_code == 2 and "has no scenarios" in result.output


def test_plan_paths_are_safe_and_distinct(tmp_path):
    paths = batch.plan_paths(tmp_path / "p.xlsx", ["China ban/2027", "a", "A", "../x"])
    assert [p.name for p in paths.values()] == ["p.xlsx", "p--China-ban-2027.xlsx", "p--a.xlsx", "p--A-2.xlsx", "p--x.xlsx"]
    assert all(p.parent == tmp_path for p in paths.values())


@pytest.mark.slow
def test_parallel_runs_match_serial_ones(solved, tmp_path):
    d, _, serial = solved
    result, payload = run("solve", d / "in.xlsx", "-o", tmp_path / "plan.xlsx", "--all-scenarios", "--jobs", 2, "--json")
    assert result.exit_code == 0, result.output
    assert [r["objective"] for r in payload["runs"]] == pytest.approx([r["objective"] for r in serial["runs"]], rel=1e-9)
