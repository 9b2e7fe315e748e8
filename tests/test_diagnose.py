"""Infeasible workbooks are explained in the planner's words (exit 3): real HiGHS solves, answers worked out by hand.

The small workbook (tests/conftest.py): NdPr 100 t and Dy 10 t a year in 2026–2027; MP (US) sells NdPr,
at most 80 t; LYN (AU) NdPr ≤ 50 t and Dy ≤ 20 t; CN1 (China, FEOC) both, unlimited; the candidate NEW
(US) Dy ≤ 20 t from 2027 (lead time 1); rule feoc-cap: FEOC at most 50% of each material and year.
Demand rows: 2 NdPr 2026, 3 NdPr 2027, 4 Dy 2026, 5 Dy 2027; Policies row 2 is feoc-cap.
"""

from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner

from models.elastic import TIERS, build_elastic, hold_tier, set_tier
from planner import solver
from planner.cli import cli
from planner.diagnose import explain, when_phrase
from planner.validate import plan_from_rows

from .conftest import write_plain


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    lines = result.stdout.strip().splitlines()
    return result, (json.loads(lines[-1]) if "--json" in args and lines else None)


def diagnose(tmp_path, rows, *options):
    path = write_plain(tmp_path / "in.xlsx", rows)
    result, payload = run("solve", path, "-o", tmp_path / "plan.xlsx", "--json", *(options or ("--quiet",)))
    assert result.exit_code == 3, result.output
    assert payload["status"] == "infeasible" and payload["plan"] is None
    assert not (tmp_path / "plan.xlsx").exists()
    return result, payload


def test_demand_above_all_capacity_is_a_data_check(tmp_path, small_rows):
    # NdPr 2026: 400 t asked; MP 80 + LYN 50 + CN1 (capped at 100 here) = 230 t at most → 170 t short
    small_rows["Demand"][0]["quantity"] = 400
    small_rows["Offers"][2]["capacity"] = 100
    result, payload = diagnose(tmp_path, small_rows)
    (item,) = payload["diagnosis"]
    assert (item["sheet"], item["row"], item["kind"], item["found_by"]) == ("Demand", 2, "demand", "data check")
    assert item["amount"] == pytest.approx(170)
    assert item["message"] == ("Demand for NdPr oxide in 2026 (Demand row 2) exceeds all available capacity by 170 t "
                               "(400 t asked, at most 230 t can be bought)")
    assert item["message"] in result.stdout


def test_a_reserve_above_its_ceiling_is_a_data_check(tmp_path, small_rows):
    # Dy: half a period of next-period demand (10 t) = 5 t at the end of each year, but room for 2 t
    small_rows["Stockpile"] = [{"material": "Dy", "reserve_unit": "periods", "min_reserve": 0.5, "max_stock": 2}]
    result, payload = diagnose(tmp_path, small_rows)
    assert [(i["sheet"], i["row"], i["found_by"], i["amount"]) for i in payload["diagnosis"]] == \
        [("Stockpile", 2, "data check", 2.0)] * 2
    assert "Dy in 2026: the reserve 5 exceeds max_stock 2 (Stockpile row 2)" in result.stdout


def test_a_share_no_plan_can_reach(tmp_path, small_rows):
    # domestic NdPr ≥ 90% in 2027; MP, the only domestic NdPr offer, sells at most 80 of the 100 t → 80%
    small_rows["Policies"].append({"policy": "min-domestic", "rule": "min_share", "selection": "bloc=domestic",
                                   "material": "NdPr", "period": 2027, "limit": "90%"})
    result, payload = diagnose(tmp_path, small_rows)
    findings = [d for d in payload["diagnosis"] if d["kind"] != "conflict"]
    assert [(d["sheet"], d["row"], d["found_by"]) for d in findings] == [("Policies", 3, "elastic model")]
    assert findings[0]["message"] == ("Policy 'min-domestic' (Policies row 3) asks at least 90% of NdPr oxide in 2027 "
                                      "from bloc=domestic; at most 80% is achievable")
    assert findings[0]["amount"] == pytest.approx(0.1)
    # the LP relaxation's conflicting set: the demand, the rule and MP's capacity
    conflict = {(d["sheet"], d["row"]) for d in payload["diagnosis"] if d["kind"] == "conflict"}
    assert conflict == {("Demand", 3), ("Policies", 3), ("Offers", 2)}


def test_a_count_rule_above_the_offers_available(tmp_path, small_rows):
    # three Dy offers in use each year: in 2026 only CN1 and LYN can sell Dy (NEW supplies from 2027)
    small_rows["Policies"].append({"policy": "three-dy", "rule": "min_sources", "material": "Dy", "limit": 3})
    result, payload = diagnose(tmp_path, small_rows)
    (item,) = payload["diagnosis"]
    assert (item["sheet"], item["row"], item["found_by"], item["amount"]) == ("Policies", 3, "data check", 1)
    assert item["message"] == ("Policy 'three-dy' (Policies row 3) asks at least 3 offers in use for Dy oxide in 2026; "
                               "at most 2 can be")


def test_policy_gives_way_before_capacity_and_the_workbook_says_so(tmp_path, small_rows):
    # Without LYN, Dy 2026 comes only from China, capped at 50%: the cap must give way to 100%, not demand
    small_rows["Offers"] = [o for o in small_rows["Offers"] if o["source"] != "LYN"]
    result, payload = diagnose(tmp_path, small_rows, "--threads", 1)
    policy = [d for d in payload["diagnosis"] if d["kind"] == "policy"]
    assert [d["message"] for d in policy] == [
        "Policy 'feoc-cap' (Policies row 2) allows at most 50% of Dy oxide in 2026 from bloc=FEOC; at least 100% is needed"]
    assert not [d for d in payload["diagnosis"] if d["kind"] in ("demand", "capacity")]
    assert {(d["sheet"], d["row"]) for d in payload["diagnosis"] if d["kind"] == "conflict"} == {("Demand", 4), ("Policies", 2)}
    assert "What must give way" in result.stderr  # on stderr too (not with --quiet)

    book = payload["diagnosis_workbook"]
    assert book == str(tmp_path / "plan-diagnosis.xlsx")
    ws = openpyxl.load_workbook(book)["Diagnosis"]
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert policy[0]["message"] in cells
    assert any(isinstance(v, str) and v.startswith("Policies give way first") for v in cells)
    assert set(ws.tables) == {"Findings", "Conflict"}


def test_capacity_shared_across_materials(tmp_path, small_rows):
    # LYN may supply 25 t in all; without China, 2026 needs NdPr 20 t beyond MP's 80 and Dy 10 t, both only from LYN
    # (or MP beyond its 80): 5 t of capacity is missing, on MP's offer or LYN as a source
    small_rows["Sources"][1]["capacity"] = 25
    small_rows["Offers"] = [o for o in small_rows["Offers"] if o["source"] != "CN1"]
    del small_rows["Policies"]
    _, payload = diagnose(tmp_path, small_rows)
    (item,) = [d for d in payload["diagnosis"] if d["kind"] != "conflict"]
    assert item["kind"] == "capacity" and item["amount"] == pytest.approx(5)
    assert (item["sheet"], item["row"]) in {("Offers", 2), ("Sources", 3)}
    assert "2026" in item["message"] and "5 t" in item["message"]


def test_the_elastic_hierarchy_on_the_model():
    # Data-level view of the same: demand and capacity tiers at 0, one rule relaxed, by 5 t of Dy in 2026
    from tests.conftest import SMALL
    rows = {k: [dict(r) for r in v] for k, v in SMALL.items()}
    rows["Offers"] = [o for o in rows["Offers"] if o["source"] != "LYN"]
    m = build_elastic(plan_from_rows(rows))
    found = {}
    for tier in TIERS:
        set_tier(m, tier)
        r = solver.solve(m, mip_gap=0, duals=False)
        assert r.status == "optimal"
        found[tier] = r.objective
        hold_tier(m, tier, r.objective)
    assert found["demand"] == pytest.approx(0) and found["capacity"] == pytest.approx(0)
    assert found["rules"] == pytest.approx(1)
    # violation 5 t over demand 10 t
    assert found["policy"] == pytest.approx(0.5)


def test_explain_without_a_model_still_runs_the_elastic_model(small_rows):
    small_rows["Policies"].append({"policy": "three-dy", "rule": "min_sources", "material": "Dy", "period": 2026,
                                   "limit": 3})
    small_rows["Policies"].append({"policy": "min-domestic", "rule": "min_share", "selection": "bloc=domestic",
                                   "material": "NdPr", "period": 2027, "limit": "90%"})
    from models import InfeasibleData, build_model

    data = plan_from_rows(small_rows)
    with pytest.raises(InfeasibleData) as e:
        build_model(data)
    d = explain(data, e.value.obstacles, None, time_limit_s=30)
    assert [(f.row, f.found_by) for f in d.findings] == [(3, "data check"), (4, "elastic model")]
    assert d.status == "optimal" and d.conflict == []
    assert d.notes and "Several rules" in d.notes[0]


def test_periods_read_as_ranges():
    assert when_phrase([2026, 2027, 2028, 2030]) == "in 2026–2028, 2030"
    assert when_phrase([2027]) == "in 2027"
    assert when_phrase(["horizon"]) == "over the horizon"
