"""Scenario edits on small data with known results: operations, filters, periods, tariffs, checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planner import scenarios
from planner.reader import rows_to_book
from planner.validate import check


def edit_row(name="s", sheet="Offers", column="capacity", where=None, period=None, operation="scale", value=0):
    row = {"scenario": name, "sheet": sheet, "column": column, "operation": operation, "value": value}
    row.update({k: v for k, v in (("where", where), ("period", period)) if v is not None})
    return row


def checked_with(rows, *edits):
    rows["Scenarios"] = list(edits)
    return check(rows_to_book(rows))


def applied(rows, *edits, name="s"):
    checked = checked_with(rows, *edits)
    assert checked.errors == [], checked.errors
    return checked, scenarios.apply(checked, name)


def offer_values(data, column: str) -> dict:
    """{(source, material, period): value} of the per-period offer table."""
    op = data.offer_periods
    o = data.offers
    keys = zip(o["source"].to_numpy()[op["offer"]], o["material"].to_numpy()[op["offer"]], op["period"])
    return {k: v for k, v in zip(keys, op[column])}


def problems_of(checked, severity="error"):
    return [p for p in checked.problems if p.severity == severity and p.sheet == "Scenarios"]


# --------------------------------------------------------------------------- operations

def test_no_edit_rebuilds_the_base_exactly(small_rows):
    small_rows["Tariffs"] = [{"country": "CN", "material": "Dy", "period": 2027, "rate": 0.6}]
    checked = checked_with(small_rows)
    rebuilt = scenarios.build(scenarios.base_state(checked), checked.skipped)
    pd.testing.assert_frame_equal(rebuilt.offer_periods, checked.data.offer_periods)
    pd.testing.assert_frame_equal(rebuilt.source_periods, checked.data.source_periods)


def test_set_scale_and_add(small_rows):
    _, a = applied(small_rows,
                   edit_row(column="unit_cost", where="source=MP", operation="add", value=10),
                   edit_row(column="capacity", where="source=LYN & material=NdPr", operation="scale", value=0.5),
                   edit_row(sheet="Sources", column="fixed_cost", where="source=MP", operation="set", value=123))
    cost, cap = offer_values(a.data, "unit_cost"), offer_values(a.data, "capacity")
    assert cost[("MP", "NdPr", 2026)] == cost[("MP", "NdPr", 2027)] == 70  # 60 + 10
    assert cost[("LYN", "NdPr", 2026)] == 70  # untouched
    assert cap[("LYN", "NdPr", 2027)] == 25 and cap[("LYN", "Dy", 2027)] == 20  # 50 × 0.5; Dy not matched
    assert a.data.sources.loc["MP", "fixed_cost"] == 123
    assert list(a.edits["cells_changed"]) == [1, 1, 1] and list(a.edits["rows_matched"]) == [1, 1, 1]


def test_blank_capacity_is_unlimited_scaled_by_zero_it_is_zero(small_rows):
    _, a = applied(small_rows,
                   edit_row(where="source=CN1 & material=NdPr", value=0),
                   edit_row(where="source=CN1 & material=Dy", value=2),
                   edit_row(where="source=MP", operation="add", value=5),
                   edit_row(sheet="Sources", where="source=LYN", value=3))
    cap = offer_values(a.data, "capacity")
    assert cap[("CN1", "NdPr", 2026)] == 0
    assert math.isnan(cap[("CN1", "Dy", 2026)])  # unlimited × 2 stays unlimited
    assert cap[("MP", "NdPr", 2026)] == 85
    assert a.data.source_periods.set_index("source")["capacity"].isna()["LYN"].all()
    # what did not change is not counted (unlimited stays unlimited)
    assert list(a.edits["cells_changed"]) == [1, 0, 1, 0]


def test_demand_in_a_period_range(small_rows):
    small_rows["Demand"] += [{"material": m, "period": 2028, "quantity": q} for m, q in (("NdPr", 100), ("Dy", 10))]
    _, a = applied(small_rows, edit_row(sheet="Demand", column="quantity", where="material=NdPr", period="2027-2028",
                                        operation="scale", value=1.5))
    q = a.data.demand.set_index(["material", "period"])["quantity"]
    assert (q["NdPr", 2026], q["NdPr", 2027], q["NdPr", 2028]) == (100, 150, 150)
    assert (q["Dy", 2027], q["Dy", 2028]) == (10, 10)
    assert list(a.changes["key"]) == ["NdPr · 2027", "NdPr · 2028"]


def test_export_ban_cuts_capacity_in_the_banned_periods_only(small_rows):
    checked, a = applied(small_rows, edit_row(where="country=CN", period="2027", value=0))
    cap = offer_values(a.data, "capacity")
    assert cap[("CN1", "NdPr", 2027)] == cap[("CN1", "Dy", 2027)] == 0
    assert math.isnan(cap[("CN1", "NdPr", 2026)]) and math.isnan(cap[("CN1", "Dy", 2026)])
    assert checked.tables["Offers"]["capacity"].isna().sum() == a.data.offers.shape[0] - 4  # base rows untouched
    assert a.changes[["key", "period", "plan"]].values.tolist() == [["CN1 · Dy", 2027, 0.0], ["CN1 · NdPr", 2027, 0.0]]
    assert a.changes["base"].isna().all()  # blank: unlimited


WHERE_FORMS = [
    (None, 6),  # blank: every offer
    ("country=CN", 2),  # through the source
    ("bloc=FEOC", 2),  # through the source's country
    ("source=MP", 1),
    ("material=NdPr", 3),
    ("kind=processor", 5),  # every offer but MP's
    ("owner=Lynas", 2),
    ("owner=MP", 1),  # a blank owner is the source itself
    ("status=candidate", 1),
    ("country=CN|AU", 4),
    ("country=US & material=Dy", 1),
    ("risk_score=0.9", 2),  # a number compares as a number
]


def test_where_forms(small_rows):
    checked = checked_with(small_rows, *(edit_row(name=f"w{i}", where=w) for i, (w, _) in enumerate(WHERE_FORMS)))
    assert checked.errors == []
    base = scenarios.base_state(checked)
    matched = [scenarios.edit(base, checked.tables["Scenarios"], f"w{i}")[1][0].rows for i in range(len(WHERE_FORMS))]
    assert matched == [n for _, n in WHERE_FORMS]


def test_settings_edit(small_rows):
    _, a = applied(small_rows,
                   edit_row(sheet="Settings", column="value", where="setting=carbon_price", operation="set", value=40),
                   edit_row(sheet="Settings", column="value", where="setting=carbon_price", operation="scale", value=1.5),
                   edit_row(sheet="Settings", column="value", where="setting=shortage_penalty", operation="scale", value=2))
    assert a.data.settings.carbon_price == 60
    assert a.data.settings.shortage_penalty is None  # blank: demand is hard; nothing to scale
    assert a.changes[["sheet", "key", "base", "plan"]].values.tolist() == [["Settings", "carbon_price", 0.0, 60.0]]


# --------------------------------------------------------------------------- tariffs

def test_country_tariff_flows_where_the_country_rate_applies(small_rows):
    # precedence: Tariffs cell > offer tariff > country tariff, period by period
    small_rows["Tariffs"] = [{"country": "CN", "material": "Dy", "period": 2027, "rate": 0.6}]
    small_rows["Offers"][2]["tariff"] = 0.3  # CN1 NdPr has its own rate
    _, a = applied(small_rows, edit_row(sheet="Countries", column="tariff", where="bloc=FEOC", operation="set", value=0.5))
    rate = offer_values(a.data, "tariff")
    assert rate[("CN1", "Dy", 2026)] == 0.5  # the country's rate applies: edited
    assert rate[("CN1", "Dy", 2027)] == 0.6  # a Tariffs row wins
    assert rate[("CN1", "NdPr", 2026)] == rate[("CN1", "NdPr", 2027)] == 0.3  # the offer's own rate wins
    assert rate[("MP", "NdPr", 2026)] == 0.0
    assert a.edits["note"].item() == ("applies to 1 of 4 offer-periods of these countries; the rest keep a more "
                                      "specific rate (1 by a Tariffs row, 2 by the offer's own tariff)")


def test_tariffs_rate_per_period_and_country_tariff_per_period(small_rows):
    small_rows["Tariffs"] = [{"country": "CN", "rate": 0.2}]  # every material, every period
    _, a = applied(small_rows,
                   edit_row(sheet="Tariffs", column="rate", where="country=CN", period="2027", operation="add", value=0.2),
                   edit_row(sheet="Countries", column="tariff", where="country=AU", period="2027", operation="set", value=0.1))
    rate = offer_values(a.data, "tariff")
    assert rate[("CN1", "NdPr", 2026)] == 0.2 and rate[("CN1", "NdPr", 2027)] == pytest.approx(0.4)
    assert rate[("LYN", "Dy", 2026)] == 0.0 and rate[("LYN", "Dy", 2027)] == 0.1
    assert a.changes[["sheet", "key", "period"]].values.tolist() == [
        ["Countries", "AU", 2027], ["Tariffs", "CN · (all) · (all)", 2027]]


def test_scaling_a_blank_offer_tariff_scales_the_country_rate_it_stands_for(small_rows):
    _, a = applied(small_rows, edit_row(column="tariff", where="source=CN1", operation="scale", value=2))
    assert set(offer_values(a.data, "tariff")[("CN1", m, t)] for m in ("NdPr", "Dy") for t in (2026, 2027)) == {0.5}


# --------------------------------------------------------------------------- checks

BAD_EDITS = [
    (edit_row(where="country=XX"), "where", "no Offers row has country 'XX'"),
    (edit_row(where="country=cn"), "where", "did you mean 'CN'?"),
    (edit_row(where="country=US & material=Tb"), "where", "no Offers row has material 'Tb'"),
    (edit_row(where="country=CN & kind=mine"), "where", "no Offers row matches country=CN & kind=mine"),
    (edit_row(where="source=MP", operation="add", value=-100), "value", "makes Offers.capacity -20 for MP · NdPr; expected ≥ 0"),
    (edit_row(sheet="Sources", column="lead_time", where="source=NEW", operation="scale", value=1.5), "value", "a whole number"),
    (edit_row(sheet="Countries", column="risk_score", operation="add", value=0.5), "value",
     "makes Countries.risk_score 1.4 for CN; expected from 0 to 1"),
    (edit_row(column="co2e", period="2027", operation="set", value=1), "period", "one value for the whole horizon"),
    (edit_row(sheet="Settings", column="value", operation="set", value=1), "where", "name one setting"),
    (edit_row(sheet="Settings", column="value", where="setting=plan_name", operation="scale", value=2), "operation", "only set"),
    (edit_row(name="Base"), "scenario", "names the plan without edits"),
    (edit_row(where="country"), "where", "expected field=value"),
]


@pytest.mark.parametrize("stage", ["grammar", "applied"])
def test_scenario_problems(small_rows, stage):
    # the grammar of every row is checked first; what the edits do to the data once the data are valid
    cases = BAD_EDITS[7:] if stage == "grammar" else BAD_EDITS[:7]
    edits = [{**e, "scenario": e["scenario"] if e["scenario"] == "Base" else f"bad{i}"} for i, (e, _, _) in enumerate(cases)]
    found = problems_of(checked_with(small_rows, *edits))
    for i, (_, column, words) in enumerate(cases):
        mine = [p for p in found if p.row == i + 2]
        assert [p.column for p in mine] == [column], (i, mine)
        assert words in mine[0].message


def test_an_edit_that_changes_nothing_is_a_warning(small_rows):
    checked = checked_with(small_rows, edit_row(sheet="Countries", column="tariff", where="country=CN", operation="set", value=0.25))
    assert problems_of(checked) == []
    assert "changes no cell" in problems_of(checked, "warning")[0].message


def test_cells_and_diff_of_the_same_input_are_empty(small_rows):
    checked = checked_with(small_rows, edit_row(where="country=CN", value=0))
    base = scenarios.cells(scenarios.base_state(checked))
    assert scenarios.diff(base, base).empty
    state, _ = scenarios.state_of(checked, "s")
    back = scenarios.diff(scenarios.cells(state), base)  # the other way round: plan → base
    assert back[["key", "base", "plan"]].values.tolist() == [["CN1 · Dy", 0.0, None], ["CN1 · NdPr", 0.0, None]] or \
        np.isnan(back["plan"].astype(float)).all()
