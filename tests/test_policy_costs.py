"""What each hard rule costs (``planner solve --policy-costs``): re-solves without it, checked by hand.

Market of tests/models/test_policies.py: Nd from CN (FEOC) at 5, JP (ally) at 11, US (domestic) at 12,
unlimited; 100 t a year in 2030 and 2031.
"""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from models import build_model
from planner import policy_costs, pool, solver
from planner.cli import cli
from planner.validate import plan_from_rows

from .conftest import write_plain
from .models.modelcase import book

SOURCES = [{"source": "C", "country": "CN"}, {"source": "J", "country": "JP"}, {"source": "U", "country": "US"}]
OFFERS = [{"source": s, "material": "Nd", "unit_cost": c} for s, c in (("C", 5), ("J", 11), ("U", 12))]
DEMAND = [{"material": "Nd", "period": t, "quantity": 100} for t in (2030, 2031)]
POLICIES = [
    {"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "period": 2030, "limit": 0.4},  # row 2
    {"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "period": 2031, "limit": 0.4},  # row 3
    {"policy": "friends", "rule": "min_share", "selection": "bloc=domestic|ally", "limit": 0.5},  # row 4
    {"policy": "noop", "rule": "max_share", "selection": "all", "limit": 1},  # row 5: can never bind
    {"policy": "soft", "rule": "max_share", "selection": "bloc=ally", "limit": 0.1, "enforcement": "soft",
     "penalty": 1},  # row 6: soft, priced by its penalty, not here
]


def priced(jobs=1) -> pd.DataFrame:
    data = plan_from_rows(book(OFFERS, DEMAND, sources=SOURCES, policies=POLICIES))
    model = build_model(data)
    base = solver.solve(model, mip_gap=0)
    return base, policy_costs.rule_costs(data, model, base, mip_gap=0, jobs=jobs).set_index(["scope", "policies_rows"])


def test_each_rule_costs_what_dropping_it_saves():
    # With every rule, per year: FEOC at most 40 t from C at 5; the soft cap on J (10%, 1 per t above) makes J
    # cost 12 above 10 t, like U: 40·5 + 10·11 + 50·12 = 910.
    base, costs = priced()
    assert base.objective == pytest.approx(2 * 910)
    # Without the 2030 FEOC row, 2030 has only 'friends' (≥ 50% domestic or allied): 50·5 + 10·11 + 40·12 = 840
    assert costs.loc[("row", "2"), "rule_cost"] == pytest.approx(70)
    assert costs.loc[("row", "3"), "rule_cost"] == pytest.approx(70)
    # The FEOC policy as a whole (rows 2–3): both years at 840
    assert costs.loc[("policy", "2–3"), "rule_cost"] == pytest.approx(140)
    # 'friends' does not bind with the FEOC cap at 40% (60% friendly): dropping it saves nothing
    assert costs.loc[("row", "4"), "rule_cost"] == pytest.approx(0, abs=1e-6)
    assert costs.loc[("row", "4"), "status"] == "optimal"
    # a 100% share cap has no row: priced at 0 without a solve
    assert costs.loc[("row", "5"), "status"] == "cannot bind" and costs.loc[("row", "5"), "rule_cost"] == 0
    assert ("row", "6") not in costs.index  # soft rules have their penalty instead
    assert (costs["cost_low"] <= costs["rule_cost"] + 1e-9).all() and (costs["rule_cost"] <= costs["cost_high"] + 1e-9).all()



def test_a_re_solve_that_finds_no_plan_counts_the_plan_found():
    """At a time limit of 0 no re-solve finds a plan. The plan found with every rule (1820) is a plan
    without any of them, so each rule costs at least 0, and no more is known: no bound was proven.
    The sentence says the re-solve stopped, not that the rule costs nothing."""
    data = plan_from_rows(book(OFFERS, DEMAND, sources=SOURCES, policies=POLICIES))
    model = build_model(data)
    base = solver.solve(model, mip_gap=0)
    costs = policy_costs.rule_costs(data, model, base, time_limit_s=0, mip_gap=0, jobs=1)
    feoc = costs.set_index(["scope", "policies_rows"]).loc[("policy", "2–3")]
    assert feoc["status"] == "time_limit_feasible" and feoc["rule_cost"] == 0 and feoc["cost_low"] == 0
    assert pd.isna(feoc["cost_high"])
    lines = policy_costs.sentences(costs, "USD", False)
    assert "feoc (Policies rows 2–3): the re-solve stopped at the time limit without a cheaper plan" in lines
    assert "noop (Policies row 5) costs nothing: dropping it does not lower the total cost" in lines

@pytest.mark.slow  # two worker processes start: Python, pandas, Pyomo and HiGHS each
def test_re_solves_in_parallel_processes_give_the_same_costs():
    data = plan_from_rows(book(OFFERS, DEMAND, sources=SOURCES, policies=POLICIES))
    base = solver.solve(build_model(data), mip_gap=0)
    tasks = [(2,), (3,), (2, 3)]
    parallel = pool.run_all(policy_costs._without, tasks, 2, policy_costs._init, (data, base.objective, None, 0, None))
    serial = pool.run_all(policy_costs._without, tasks, 1, policy_costs._init, (data, base.objective, None, 0, None))
    assert [round(p[1], 6) for p in parallel] == [round(s[1], 6) for s in serial] == [1750, 1750, 1680]


def test_solve_with_policy_costs_writes_them_next_to_the_shadow_prices(tmp_path, small_rows):
    # Small workbook: without the 50% FEOC cap, all from China: NdPr 100·50 = 5,000 (was 5,500),
    # Dy 10·375 = 3,750 (was 3,875): 625 a year, 1,250 over the two years.
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result = CliRunner().invoke(cli, ["solve", str(path), "-o", str(tmp_path / "plan.xlsx"), "--policy-costs", "--quiet",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert "feoc-cap (Policies row 2) costs 1,250 USD over the horizon" in result.stdout
    (row,) = json.loads(result.stdout.strip().splitlines()[-1])["rule_costs"]
    assert (row["policy"], row["policies_rows"], row["rule_cost"]) == ("feoc-cap", "2", pytest.approx(1250))
    pol = pd.read_excel(tmp_path / "plan.xlsx", sheet_name="Policies", engine="calamine")
    cols = list(pol.columns)
    assert cols.index("rule_cost") == cols.index("shadow_price_unit") + 1
    assert pol["rule_cost"].iloc[0] == pytest.approx(1250) and pol["rule_cost"].iloc[1:].isna().all()
    ws = openpyxl.load_workbook(tmp_path / "plan.xlsx")["Summary"]
    text = [c.value for row in ws.iter_rows(max_col=1) for c in row if isinstance(c.value, str)]
    assert "feoc-cap (Policies row 2) costs 1,250 USD over the horizon" in text
    assert "RuleCosts" in ws.tables
