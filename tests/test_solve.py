"""`planner solve` end to end: real workbooks in, real HiGHS solves, plan workbooks read back."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import cli

from .conftest import write_plain

CAP41 = Path(__file__).parent / "cases" / "cap41" / "cap41.txt"
CAP41_OPTIMUM = 1040444.375  # OR-Library capopt


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    payload = None
    lines = result.output.strip().splitlines()
    if "--json" in args and lines:
        payload = json.loads(lines[-1])
    return result, payload


def cap41_rows() -> dict:
    tokens = CAP41.read_text().split()
    n_fac, n_cust = int(tokens[0]), int(tokens[1])
    pos = 2
    sources, offers, materials, demand = [], [], [], []
    for i in range(n_fac):
        cap, fixed = float(tokens[pos]), float(tokens[pos + 1])
        pos += 2
        sources.append({"source": f"W{i + 1}", "country": "X", "capacity": cap, "fixed_cost": fixed})
    for j in range(n_cust):
        d = float(tokens[pos])
        costs = [float(x) for x in tokens[pos + 1: pos + 1 + n_fac]]
        pos += 1 + n_fac
        materials.append({"material": f"C{j + 1}"})
        demand.append({"material": f"C{j + 1}", "period": 1, "quantity": d})
        offers += [{"source": f"W{i + 1}", "material": f"C{j + 1}", "unit_cost": c / d} for i, c in enumerate(costs)]
    return {"Settings": [{"setting": "mip_gap", "value": 0}], "Materials": materials,
            "Countries": [{"country": "X"}], "Sources": sources, "Offers": offers, "Demand": demand}


def test_cap41_matches_the_published_optimum(tmp_path):
    path = write_plain(tmp_path / "cap41.xlsx", cap41_rows())
    result, payload = run("solve", path, "-o", tmp_path / "plan.xlsx", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert payload["status"] == "optimal"
    assert math.isclose(payload["objective"], CAP41_OPTIMUM, rel_tol=1e-6)
    costs = pd.read_excel(tmp_path / "plan.xlsx", sheet_name="Summary", engine="calamine", header=None)
    assert costs.isin(["Source fixed costs"]).any().any()


def test_small_plan_known_optimum_and_readback(tmp_path, small_rows):
    # By hand, per year: NdPr 50 t from CN at 40 x 1.25 (the 50% FEOC cap) + 50 t from MP at 60 = 5,500;
    # Dy 5 t from CN at 375 + 5 t from LYN at 400 = 3,875 (building NEW for 1,000 to save 250 a year does not pay).
    small_rows["Materials"][0]["notes"] = "=HYPERLINK(\"http://x\")"  # user text that looks like a formula
    small_rows["Sources"][0]["name"] = "+MP Materials"
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    plan = tmp_path / "plan.xlsx"
    result, payload = run("solve", path, "-o", plan, "--json")
    assert result.exit_code == 0, result.output
    assert payload["objective"] == pytest.approx(2 * (5500 + 3875), rel=1e-9)
    assert payload["gap"] == pytest.approx(0, abs=1e-9) and payload["plan"] == str(plan)
    assert set(payload["timings"]) >= {"read", "validate", "build", "solve", "write", "total"}
    assert payload["solver_seconds"] > 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before

    sheets = pd.read_excel(plan, sheet_name=None, engine="calamine")
    assert {"Summary", "Supply mix", "Purchases", "Policies", "Investments", "Shortfalls", "input.Offers"} <= set(sheets)
    purchases = sheets["Purchases"]
    bought = purchases.groupby(["material", "period"])["quantity"].sum()
    assert bought.to_dict() == {("Dy", 2026): 10, ("Dy", 2027): 10, ("NdPr", 2026): 100, ("NdPr", 2027): 100}
    cn = purchases[purchases["country"] == "CN"].groupby("material")["quantity"].sum()
    assert cn.to_dict() == {"Dy": 10, "NdPr": 100}  # half of each, both years
    policies = sheets["Policies"]
    assert len(policies) == 4 and set(policies["binding"]) == {"yes"}
    assert (policies["achieved"] == 0.5).all()
    assert (policies["shadow_price"] < 0).all()  # relaxing the FEOC cap would save money

    wb = openpyxl.load_workbook(plan)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} became a formula"
    assert wb["input.Materials"]["C2"].value == "=HYPERLINK(\"http://x\")"


def test_shadow_prices_of_a_mip_are_those_of_its_lp_with_the_decisions_fixed(tmp_path, small_rows):
    """The candidate NEW makes the small plan a MIP (build or not); its rules' shadow prices come from
    the LP with that decision fixed (not built). By hand: one percentage point more of FEOC moves 1 t
    of NdPr from MP (60) to CN1 (40 x 1.25 = 50), saving 10; and 0.1 t of Dy from LYN (400) to CN1
    (300 x 1.25 = 375), saving 2.5. No discounting."""
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result, _ = run("solve", path, "-o", tmp_path / "plan.xlsx", "--quiet")
    assert result.exit_code == 0, result.output
    policies = pd.read_excel(tmp_path / "plan.xlsx", sheet_name="Policies", engine="calamine")
    assert pd.read_excel(tmp_path / "plan.xlsx", sheet_name="Investments", engine="calamine").empty
    prices = {(m, int(t)): v for m, t, v in zip(policies["material"], policies["period"], policies["shadow_price"])}
    assert prices == pytest.approx({("NdPr", 2026): -10, ("NdPr", 2027): -10, ("Dy", 2026): -2.5, ("Dy", 2027): -2.5},
                                   abs=1e-9)
    assert set(policies["shadow_price_unit"]) == {"USD per percentage point"}


def test_the_summary_labels_fit_their_column(tmp_path, small_rows):
    """The run's facts are labels in column A beside values in B: none may run under its value."""
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result, _ = run("solve", path, "-o", tmp_path / "plan.xlsx", "--quiet")
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(tmp_path / "plan.xlsx")["Summary"]
    labels = [c.value for c in ws["A"] if isinstance(c.value, str) and ws.cell(row=c.row, column=2).value is not None]
    assert "coefficient ranges (before → after scaling)" in labels
    assert ws.column_dimensions["A"].width >= max(map(len, labels))


def test_a_plan_solves_again_as_it_stands(tmp_path, small_rows):
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    _, first = run("solve", path, "-o", tmp_path / "plan.xlsx", "--json")
    result, again = run("solve", tmp_path / "plan.xlsx", "-o", tmp_path / "plan2.xlsx", "--json")
    assert result.exit_code == 0, result.output
    assert again["objective"] == pytest.approx(first["objective"], rel=1e-12)


def test_infeasible_exits_3_with_a_clear_message(tmp_path, small_rows):
    small_rows["Offers"] = [o for o in small_rows["Offers"] if o["source"] != "LYN"]  # Dy 2026: only China, capped at 50%
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result, payload = run("solve", path, "-o", tmp_path / "plan.xlsx", "--json")
    assert result.exit_code == 3
    assert payload["status"] == "infeasible" and payload["plan"] is None
    assert "infeasible" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "plan.xlsx").exists()


def test_shortage_penalty_turns_infeasible_into_shortfall(tmp_path, small_rows):
    small_rows["Offers"] = [o for o in small_rows["Offers"] if o["source"] != "LYN"]
    small_rows["Settings"].append({"setting": "shortage_penalty", "value": 10_000})
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result, payload = run("solve", path, "-o", tmp_path / "plan.xlsx", "--json")
    assert result.exit_code == 0, result.output
    shortfalls = pd.read_excel(tmp_path / "plan.xlsx", sheet_name="Shortfalls", engine="calamine")
    # Dy 2026: only China sells, and China may supply at most half of what is bought: x <= 0.5 x, so x = 0
    # and all 10 t are short (the cap counts purchases, not demand).
    row = shortfalls[(shortfalls["material"] == "Dy") & (shortfalls["period"] == 2026)]
    assert row["shortfall"].item() == pytest.approx(10)


def test_invalid_input_exits_1_and_writes_nothing(tmp_path, small_rows):
    small_rows["Offers"][0]["unit_cost"] = "cheap"
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result, _ = run("solve", path, "-o", tmp_path / "plan.xlsx")
    assert result.exit_code == 1 and "unit_cost" in result.output
    assert not (tmp_path / "plan.xlsx").exists()


def test_time_limit_without_a_solution_exits_4(tmp_path):
    path = write_plain(tmp_path / "cap41.xlsx", cap41_rows())
    result, payload = run("solve", path, "-o", tmp_path / "plan.xlsx", "--time-limit", 0, "--json")
    assert result.exit_code == 4 and payload["status"] == "time_limit_no_solution"
    assert "no plan found within the time limit" in result.output
    assert not (tmp_path / "plan.xlsx").exists()


@pytest.mark.slow
def test_time_limit_with_an_incumbent_writes_a_plan_marked_not_proven(tmp_path):
    # A random 60 x 200 capacitated facility location instance: HiGHS needs ~50 s to prove it optimal
    # here, and has an incumbent within a second.
    rng = np.random.default_rng(7)
    demand = rng.integers(5, 40, 200).astype(float)
    capacity = np.round(rng.integers(40, 110, 60) * 1.6)
    fixed = rng.integers(150, 600, 60).astype(float)
    cost = np.round(np.linalg.norm(rng.uniform(0, 10, (60, 1, 2)) - rng.uniform(0, 10, (1, 200, 2)), axis=2), 2)
    rows = {"Materials": [{"material": f"C{j}"} for j in range(200)], "Countries": [{"country": "US"}],
            "Sources": [{"source": f"F{i}", "country": "US", "capacity": capacity[i], "fixed_cost": fixed[i]} for i in range(60)],
            "Offers": [{"source": f"F{i}", "material": f"C{j}", "unit_cost": cost[i, j]} for i in range(60) for j in range(200)],
            "Demand": [{"material": f"C{j}", "period": 1, "quantity": demand[j]} for j in range(200)]}
    path = write_plain(tmp_path / "cflp.xlsx", rows)
    result, payload = run("solve", path, "-o", tmp_path / "plan.xlsx", "--time-limit", 2, "--gap", 0, "--json")
    assert result.exit_code == 0, result.output
    assert payload["status"] == "time_limit_feasible" and payload["gap"] > 0
    assert payload["bound"] < payload["objective"]
    assert "NOT PROVEN OPTIMAL" in result.output
    summary = openpyxl.load_workbook(tmp_path / "plan.xlsx")["Summary"]
    assert summary["A2"].value.startswith("Status: NOT PROVEN OPTIMAL")


def test_kpis_of_the_small_plan_by_hand(tmp_path, small_rows):
    # Each year: NdPr 50 t from CN + 50 t from MP (US); Dy 5 t from CN + 5 t from LYN (AU) (see the test above).
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    run("solve", path, "-o", tmp_path / "plan.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "plan.xlsx")["Summary"]
    cells = list(ws[ws.tables["KPIs"].ref])
    header = [c.value for c in cells[0]]
    kpis = pd.DataFrame([[c.value for c in row] for row in cells[1:]], columns=header).set_index(["material", "period"])
    nd, dy, both = kpis.loc[("NdPr", 2026)], kpis.loc[("Dy", 2027)], kpis.loc[("(all)", 2026)]
    assert (nd["bought"], nd["feoc_share"], nd["domestic_share"], nd["allied_share"]) == (100, 0.5, 0.5, 0)
    assert nd["hhi"] == pytest.approx(50**2 + 50**2) and nd["sources_in_use"] == 2
    assert (dy["feoc_share"], dy["allied_share"], dy["recycled_share"]) == (0.5, 0.5, 0)
    assert nd["spend"] == pytest.approx(50 * 40 * 1.25 + 50 * 60)
    # over both materials in 2026: 110 t, CN 55, US 50, AU 5
    assert both["feoc_share"] == pytest.approx(55 / 110)
    assert both["hhi"] == pytest.approx((55 / 110 * 100) ** 2 + (50 / 110 * 100) ** 2 + (5 / 110 * 100) ** 2)


def test_a_plan_proven_by_its_start_says_so_in_its_summary(tmp_path):
    """Three contract offers (tests/models/test_families.py, three_contracts): the start completes to
    1622, 3.53% above the relaxation's 1564.67, within a 5% gap: the plan is proven without a MIP run
    and its Summary gives that gap. A gap two decimals would show as 0.00% reads "below 0.01%"."""
    from planner.report import gap_text

    offers = [{"source": "A1", "material": "Nd", "unit_cost": 10, "contract_cost": 500, "capacity": 60},
              {"source": "A2", "material": "Nd", "unit_cost": 10.2, "contract_cost": 400, "capacity": 60},
              {"source": "A3", "material": "Nd", "unit_cost": 14, "contract_cost": 50, "capacity": 60},
              {"source": "B", "material": "Nd", "unit_cost": 30}]
    rows = {"Materials": [{"material": "Nd"}], "Countries": [{"country": "US"}],
            "Sources": [{"source": o["source"], "country": "US"} for o in offers], "Offers": offers,
            "Demand": [{"material": "Nd", "period": 2030, "quantity": 100}]}
    path = write_plain(tmp_path / "in.xlsx", rows)
    result, payload = run("solve", path, "-o", tmp_path / "plan.xlsx", "--gap", 0.05, "--json")
    assert result.exit_code == 0, result.output
    assert payload["status"] == "optimal" and math.isclose(payload["objective"], 1622)
    assert math.isclose(payload["bound"], 1564 + 2 / 3)
    summary = openpyxl.load_workbook(tmp_path / "plan.xlsx")["Summary"]
    assert summary["A2"].value == "Status: optimal (proven within a gap of 3.53%)"
    assert gap_text(3.1e-5) == "a gap below 0.01%" and gap_text(4e-4) == "a gap of 0.04%"
    gap = next(row[1] for row in summary.iter_rows(min_col=1, max_col=2) if row[0].value == "gap")
    assert math.isclose(gap.value, (1622 - (1564 + 2 / 3)) / 1622) and gap.number_format == "0.000%"
