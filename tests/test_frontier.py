"""The cost–impact frontier (``planner frontier``): real solves on the small workbook, points worked out by hand.

Small workbook (tests/conftest.py), per year: NdPr 100 t, Dy 10 t; FEOC at most 50% of each. The
cost-optimal plan buys NdPr 50 t from CN1 at 50 (40 + 25% tariff) and 50 t from MP at 60, Dy 5 t from CN1
at 375 and 5 t from LYN at 400: 9,375 a year, 18,750 in all, FEOC 110 of 220 t = 50%.
"""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.frontier import sweep

from .conftest import write_plain


def test_feoc_share_frontier_points_by_hand(tmp_path, small_rows):
    # Cheapest way to cut FEOC tonnes: NdPr from MP instead of CN1 (+10 a t, 30 t a year spare), then from
    # LYN (+20 a t), then Dy from LYN (+25 a t). FEOC ≤ 1/3 of 220 t: 36.7 t fewer, all via MP: +366.67;
    # ≤ 1/6: 73.3 t fewer: 60 via MP (+600) and 13.3 via LYN (+266.67); 0: NdPr 80 MP + 20 LYN and Dy 10 LYN
    # a year: 2 · (6,200 + 4,000) = 20,400 (building NEW, 1,000 + 350 a t in 2027, does not pay).
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    out = sweep(path, "feoc_share", 4, tmp_path / "frontier.xlsx", mip_gap=0, jobs=1)
    assert out.status == "optimal" and not out.dropped
    assert [p.label for p in out.points] == ["cost-optimal", "step 1", "step 2", "best FEOC share"]
    assert [p.objective for p in out.points] == pytest.approx([18750, 19116.6667, 19616.6667, 20400], rel=1e-6)
    assert [p.metric for p in out.points] == pytest.approx([0.5, 1 / 3, 1 / 6, 0], abs=1e-6)
    # the end points are the cost-optimal plan and the FEOC-optimal one (no FEOC at all)
    assert out.best == pytest.approx(0, abs=1e-9)

    frontier = pd.read_excel(out.path, sheet_name="Frontier", engine="calamine", header=None)
    header = frontier.index[frontier[0] == "point"][0]
    table = pd.read_excel(out.path, sheet_name="Frontier", engine="calamine", skiprows=header)
    assert table["total_cost"].is_monotonic_increasing and table["feoc_share"].is_monotonic_decreasing
    wb = openpyxl.load_workbook(out.path)
    assert wb.sheetnames == ["Frontier", "Costs", "KPIs", "Investments", "Run"]
    assert len(wb["Frontier"]._charts) == 1
    kpis = pd.read_excel(out.path, sheet_name="KPIs", engine="calamine")
    assert set(kpis["point"]) == {0, 1, 2, 3}


def test_a_share_that_should_be_high_and_the_cli(tmp_path, small_rows):
    # Domestic (US: MP, and NEW once built) at most (80 + 80 + 10) / 220 = 77.3%: Dy 2026 has no domestic
    # offer. Cheapest such plan: NdPr 80 MP + 20 CN1 a year (5,800), Dy 2026 5 CN1 + 5 LYN (3,875),
    # Dy 2027 from NEW built in 2026 (1,000 + 3,500): 19,975.
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result = CliRunner().invoke(cli, ["frontier", str(path), "--metric", "domestic_share", "--points", "3", "-o",
                                      str(tmp_path / "f.xlsx"), "--gap", "0", "--jobs", "1", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    points = payload["points"]
    assert points[0]["metric"] == pytest.approx(100 / 220) and points[0]["cost"] == pytest.approx(18750)
    assert points[-1]["metric"] == pytest.approx(170 / 220) and points[-1]["cost"] == pytest.approx(19975)
    costs = [p["cost"] for p in points]
    assert costs == sorted(costs) and [p["metric"] for p in points] == sorted(p["metric"] for p in points)
    assert payload["frontier"] == str(tmp_path / "f.xlsx")
    assert "cost against domestic share" in result.stdout


def test_frontier_of_an_infeasible_workbook_is_explained(tmp_path, small_rows):
    small_rows["Offers"] = [o for o in small_rows["Offers"] if o["source"] != "LYN"]
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    result = CliRunner().invoke(cli, ["frontier", str(path), "--metric", "co2e", "-o", str(tmp_path / "f.xlsx"),
                                      "--quiet"])
    assert result.exit_code == 3
    assert "Policy 'feoc-cap' (Policies row 2) allows at most 50% of Dy oxide in 2026" in result.stdout
    assert not (tmp_path / "f.xlsx").exists()


def test_unknown_metric_or_material_is_a_usage_error(tmp_path, small_rows):
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    assert CliRunner().invoke(cli, ["frontier", str(path), "--metric", "beauty"]).exit_code == 2
    result = CliRunner().invoke(cli, ["frontier", str(path), "--metric", "co2e", "--material", "Xx", "-o",
                                      str(tmp_path / "f.xlsx")])
    assert result.exit_code == 2 and "Materials" in result.output


def test_metric_choices_are_the_models():
    from models.metrics import METRICS
    from planner.cli import _METRICS

    assert set(_METRICS) == set(METRICS)


def test_co2e_frontier_end_points(tmp_path, small_rows):
    # CO2e per t: NdPr CN1 10, MP 4, LYN 2; Dy CN1 50, LYN 20, NEW 5. Cost-optimal: per year
    # 50·10 + 50·4 + 5·50 + 5·20 = 1,050, 2,100 in all. Least: NdPr 50 LYN + 50 MP (300 a year), Dy 2026 from LYN
    # (200), Dy 2027 from NEW built in 2026 (50): 850; its cheapest plan: 2 · 6,500 + 4,000 + 1,000 + 3,500 = 21,500.
    for offer, co2e in zip(small_rows["Offers"], (4, 2, 10, 50, 5, 20)):
        offer["co2e"] = co2e
    path = write_plain(tmp_path / "in.xlsx", small_rows)
    out = sweep(path, "co2e", 5, None, mip_gap=0, jobs=1)
    first, last = out.points[0], out.points[-1]
    assert (first.metric, first.objective) == pytest.approx((2100, 18750))
    assert (last.metric, last.objective) == pytest.approx((850, 21500), rel=1e-6)
    metrics, costs = [p.metric for p in out.points], [p.objective for p in out.points]
    assert metrics == sorted(metrics, reverse=True) and costs == sorted(costs)
    assert out.path is None  # no workbook asked


def test_dominated_points_are_dropped_and_a_dearer_point_is_not_dominated():
    from models.metrics import METRICS
    from planner.frontier import Point, _non_dominated

    def point(label, cost, metric):
        return Point(label, None, "optimal", cost, 0.0, metric, plan=object())

    a, b, c, d, e = (point("a", 100, 0.5), point("b", 100.001, 0.4), point("c", 120, 0.45), point("d", 150, 0.1),
                     point("e", 150, 0.1))
    keep, drop = _non_dominated([a, b, c, d, e], METRICS["feoc_share"])
    assert keep == [a, b, d] and drop == [c, e]  # c: b is cheaper and lower; e: d again
    keep, _ = _non_dominated([a, b, c, d], METRICS["domestic_share"])  # higher is better: a dominates b, c, d
    assert keep == [a]
