"""Validation: every check on a deliberately broken workbook names sheet, row and column."""

from __future__ import annotations

import math

import pytest

from planner.errors import InputError
from planner.reader import rows_to_book
from planner.validate import check, load, plan_from_rows

from .conftest import write_plain


def problems_of(rows, severity="error"):
    return [p for p in check(rows_to_book(rows)).problems if p.severity == severity]


def only(rows, severity="error"):
    found = problems_of(rows, severity)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_small_workbook_is_clean(small_rows):
    assert problems_of(small_rows) == []
    data = plan_from_rows(small_rows)
    assert data.periods == (2026, 2027)
    assert list(data.sources.loc["LYN", ["owner", "bloc"]]) == ["Lynas", "ally"]
    assert data.sources.loc["MP", "owner"] == "MP"  # owner defaults to the source itself
    assert data.sources.loc["NEW", "earliest_build"] == 2026
    assert data.policies.loc[0, "limit"] == 0.5  # "50%" read as a fraction
    assert len(data.offer_periods) == 6 * 2


# (sheet, row index in the list, column, bad value, words the message must contain)
BROKEN = [
    ("Offers", 0, "unit_cost", "cheap", "expected a number"),
    ("Offers", 0, "unit_cost", None, "required"),
    ("Offers", 0, "capacity", -5, "≥ 0"),
    ("Offers", 0, "capacity", "inf", "finite"),
    ("Offers", 0, "co2e", "nan", "finite"),
    ("Offers", 0, "source", "NOPE", "not found in Sources"),
    ("Offers", 0, "material", "ndpr", "did you mean 'NdPr'"),
    ("Offers", 0, "min_order", 90, "at most the offer's capacity"),
    ("Offers", 0, "last_period", 2025.5, "whole-number period"),
    ("Sources", 0, "country", "XX", "not found in Countries"),
    ("Sources", 0, "kind", "smelter", "expected one of: mine, processor"),
    ("Sources", 0, "lead_time", 1.5, "whole number"),
    ("Countries", 0, "risk_score", 2, "≤ 1"),
    ("Demand", 0, "period", "next year", "period"),
    ("Demand", 0, "quantity", -1, "≥ 0"),
    ("Demand", 0, "material", "Tb", "not found in Materials"),
    ("Materials", 0, "include", "maybe", "yes or no"),
    ("Policies", 0, "rule", "max_shares", "expected one of"),
    ("Policies", 0, "selection", "blok=FEOC", "unknown field 'blok'"),
    ("Policies", 0, "selection", "bloc=feoc", "did you mean 'FEOC'"),
    ("Policies", 0, "selection", "country=", "expected a value"),
    ("Policies", 0, "limit", 1.5, "share from 0 to 1"),
    ("Policies", 0, "limit", "lots", "expected a number"),
    ("Policies", 0, "period", "horizon", "max_total and min_total only"),
    ("Policies", 0, "period", 2040, "within the horizon"),
    ("Policies", 0, "material", "Co", "not found in Materials"),
    ("Policies", 0, "enforcement", "strict", "hard, soft"),
]


@pytest.mark.parametrize("sheet,i,column,value,words", BROKEN, ids=[f"{b[0]}.{b[2]}={b[3]!r}" for b in BROKEN])
def test_each_broken_cell_is_named(small_rows, sheet, i, column, value, words):
    small_rows[sheet][i][column] = value
    p = only(small_rows)
    assert (p.sheet, p.row, p.column) == (sheet, i + 2, column)
    assert words in p.message


def test_every_problem_is_reported_at_once(small_rows):
    small_rows["Offers"][0]["unit_cost"] = "x"
    small_rows["Offers"][1]["source"] = "NOPE"
    small_rows["Demand"][2]["quantity"] = -3
    small_rows["Policies"][0]["rule"] = "nope"
    found = {(p.sheet, p.row, p.column) for p in problems_of(small_rows)}
    assert found == {("Offers", 2, "unit_cost"), ("Offers", 3, "source"), ("Demand", 4, "quantity"), ("Policies", 2, "rule")}


def test_duplicate_keys(small_rows):
    small_rows["Offers"].append(dict(small_rows["Offers"][2]))
    p = only(small_rows)
    assert (p.sheet, p.row, p.column) == ("Offers", 8, "source") and "duplicate of row 4" in p.message
    assert type(p.row) is int


def test_soft_rule_needs_a_penalty(small_rows):
    small_rows["Policies"][0]["enforcement"] = "soft"
    p = only(small_rows)
    assert (p.sheet, p.row, p.column) == ("Policies", 2, "penalty")


def test_count_limit_must_be_whole(small_rows):
    small_rows["Policies"].append({"policy": "two", "rule": "min_sources", "limit": 1.5})
    assert only(small_rows).row == 3


def test_min_order_above_source_capacity(small_rows):
    small_rows["Offers"][0].update(capacity=None, min_order=150)
    p = only(small_rows)
    assert p.column == "min_order" and "capacity of source MP" in p.message


def test_window_ending_before_it_starts(small_rows):
    small_rows["Offers"][0].update(first_period=2027, last_period=2026)
    assert only(small_rows).column == "last_period"


def test_unknown_setting_and_bad_setting_value(small_rows):
    small_rows["Settings"] += [{"setting": "colour", "value": 1}, {"setting": "discount_rate", "value": "high"}]
    found = problems_of(small_rows)
    assert [(p.row, p.column) for p in found] == [(4, "setting"), (5, "setting")]
    small_rows["Settings"] = [{"setting": "mip_gap", "value": "high"}]
    p = only(small_rows)
    assert (p.sheet, p.row, p.column) == ("Settings", 2, "value") and "mip_gap" in p.message


def test_missing_sheet_and_required_column(small_rows):
    del small_rows["Countries"]
    for r in small_rows["Offers"]:
        del r["unit_cost"]
    found = problems_of(small_rows)
    assert any(p.sheet == "Countries" and "no sheet" in p.message for p in found)
    assert any(p.sheet == "Offers" and p.column == "unit_cost" and "missing" in p.message for p in found)


def test_switched_off_rows_are_skipped_and_cascade(small_rows):
    small_rows["Sources"][2]["include"] = "no"  # CN1: its two offers go too
    small_rows["Materials"][1]["include"] = "NO"  # Dy: its offers and demand go too
    checked = check(rows_to_book(small_rows))
    assert checked.errors == []
    assert checked.skipped == {"Materials": 1, "Sources": 1, "Offers": 4, "Demand": 2}
    assert set(checked.data.offers["source"]) == {"MP", "LYN"}
    assert any("switched off" in str(w) for w in checked.warnings)


def test_warnings_do_not_block(small_rows):
    small_rows["Materials"].append({"material": "Tb"})
    small_rows["Demand"].append({"material": "NdPr", "period": 2026, "quantity": 0})
    small_rows["Demand"].pop()
    small_rows["Offers"][2]["capacity"] = 1  # CN1 NdPr now limited: 80 + 50 + 1 < 100? no: 131 >= 100
    small_rows["Offers"][3]["capacity"] = 1  # Dy: 1 + 20 >= 10 still fine
    small_rows["Demand"][3]["quantity"] = 50  # Dy 2027: 1 + 20 + 20 < 50
    checked = check(rows_to_book(small_rows))
    assert checked.errors == []
    kinds = {(w.sheet, w.column) for w in checked.warnings}
    assert ("Materials", "material") in kinds and ("Demand", "quantity") in kinds


def test_tariff_precedence(small_rows):
    small_rows["Offers"][3]["tariff"] = 0.1  # CN1 Dy: offer rate beats the country's 0.25
    small_rows["Tariffs"] = [
        {"country": "CN", "rate": 0.3},  # CN all materials, all periods: beats offer and country
        {"country": "CN", "material": "Dy", "rate": 0.4},
        {"country": "CN", "period": 2027, "rate": 0.5},
        {"country": "CN", "material": "Dy", "period": 2027, "rate": 0.6},
    ]
    data = plan_from_rows(small_rows)
    op = data.offer_periods.merge(data.offers[["source", "material"]], left_on="offer", right_index=True)
    rate = {(r.source, r.material, r.period): r.tariff for r in op.itertuples()}
    assert rate[("CN1", "NdPr", 2026)] == 0.3
    assert rate[("CN1", "NdPr", 2027)] == 0.5
    assert rate[("CN1", "Dy", 2026)] == 0.4
    assert rate[("CN1", "Dy", 2027)] == 0.6
    assert rate[("MP", "NdPr", 2026)] == 0.0
    del small_rows["Tariffs"]
    data = plan_from_rows(small_rows)
    assert sorted(set(data.offer_periods["tariff"])) == [0.0, 0.1, 0.25]


def test_scenario_rows_are_checked(small_rows):
    small_rows["Scenarios"] = [
        {"scenario": "ban", "sheet": "Offers", "column": "capacity", "where": "country=CN", "period": "2027-2027", "operation": "scale", "value": 0},
        {"scenario": "bad1", "sheet": "Offers", "column": "colour", "operation": "set", "value": 1},
        {"scenario": "bad2", "sheet": "Sources", "column": "kind", "operation": "scale", "value": 2},
        {"scenario": "bad3", "sheet": "Offers", "column": "capacity", "where": "planet=Mars", "operation": "scale", "value": 2},
        {"scenario": "bad4", "sheet": "Demand", "column": "quantity", "period": "2029-2027", "operation": "add", "value": "x"},
        {"scenario": "bad5", "sheet": "Planets", "column": "quantity", "operation": "add", "value": 1},
    ]
    found = {(p.row, p.column) for p in problems_of(small_rows)}
    assert found == {(3, "column"), (4, "operation"), (5, "where"), (6, "period"), (6, "value"), (7, "sheet")}


def test_plain_openpyxl_workbook_validates(tmp_path, small_rows):
    path = write_plain(tmp_path / "plain.xlsx", small_rows, header_case=lambda k: f"  {k.upper()} ")
    checked = load(path)
    assert checked.errors == []
    assert math.isclose(checked.data.offer_periods["unit_cost"].sum(), 2 * (60 + 70 + 40 + 300 + 350 + 400))


def test_plan_from_rows_raises_with_every_problem(small_rows):
    small_rows["Offers"][0]["unit_cost"] = "x"
    small_rows["Offers"][1]["unit_cost"] = "y"
    with pytest.raises(InputError) as e:
        plan_from_rows(small_rows)
    assert [p.row for p in e.value.problems] == [2, 3]


def test_selection_grammar(small_rows):
    from planner.validate import parse_selection

    assert parse_selection("all") == (None, None, None)
    assert parse_selection("Country=*") == ("country", None, None)
    assert parse_selection("bloc=domestic|ally|kind=recycler") == (
        None, (("bloc", "domestic"), ("bloc", "ally"), ("kind", "recycler")), None)
    assert "stands alone" in parse_selection("country=*|bloc=ally")[2]
    small_rows["Policies"][0]["selection"] = "bloc=domestic|kind=smelter"
    p = only(small_rows)
    assert p.column == "selection" and "no kind 'smelter'" in p.message


def test_numpy_numbers_type_as_python_numbers(small_rows):
    import numpy as np

    plain = plan_from_rows(small_rows)
    small_rows["Offers"][0].update(unit_cost=np.float64(60), capacity=np.int64(80))
    small_rows["Demand"][0].update(period=np.int64(2026), quantity=np.float32(100))
    data = plan_from_rows(small_rows)
    assert data.offers.equals(plain.offers) and data.offer_periods.equals(plain.offer_periods)
    assert data.demand.equals(plain.demand) and type(data.demand["period"].iloc[0]) is int
    small_rows["Offers"][1]["capacity"] = np.bool_(True)
    p = only(small_rows)
    assert (p.sheet, p.row, p.column) == ("Offers", 3, "capacity")


def test_duplicate_keys_with_blanks(small_rows):
    small_rows["Tariffs"] = [{"country": "CN", "rate": 0.1}, {"country": "AU", "rate": 0.1}, {"country": "CN", "rate": 0.2}]
    p = only(small_rows)
    assert (p.sheet, p.row, p.column) == ("Tariffs", 4, "country") and "duplicate of row 2" in p.message
    small_rows["Tariffs"][2]["period"] = 2027  # a row for one period is another key
    assert problems_of(small_rows) == []


@pytest.mark.parametrize("extra", [0.0, 1e-9, 2e-9, -1e-9])
def test_supply_warning_compares_the_sum_in_row_order(small_rows, extra):
    """Capacities summed as numpy sums them (in row order); a demand within rounding of that sum."""
    import numpy as np

    caps = [0.1] * 7 + [0.2, 0.3] * 4
    small_rows["Sources"] += [{"source": f"S{i}", "country": "AU", "kind": "mine"} for i in range(len(caps))]
    small_rows["Offers"] = [o for o in small_rows["Offers"] if o["material"] == "NdPr"]
    small_rows["Offers"] += [{"source": f"S{i}", "material": "Dy", "unit_cost": 100, "capacity": c} for i, c in enumerate(caps)]
    total = float(np.sum(np.array(caps)))
    for d in small_rows["Demand"]:
        if d["material"] == "Dy":
            d["quantity"] = total + extra
    warned = [w for w in problems_of(small_rows, "warning") if (w.sheet, w.column) == ("Demand", "quantity")]
    assert len(warned) == (2 if total < total + extra - 1e-9 else 0)
