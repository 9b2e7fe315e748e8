"""The plan tables extraction builds (planner.run.extract) against their definitions, computed the plain way.

extract groups every purchase once per KPI row by integer keys; these tests recompute the
tables row by row from the purchases and the solver's values, on a plan with every kind of
policy, a stockpile, shortfalls, purchases from several countries and blocs, and nothing
bought at all.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from models.metrics import METRICS
from planner.run import Options, solve_file

from .conftest import SMALL, write_plain

SHARES = [m for m in METRICS.values() if m.is_share]


def every_kind(rows: dict) -> dict:
    """The small plan with shortfalls, a stockpile and every rule kind (soft and hard, a horizon total)."""
    rows["Demand"] = [dict(d, shortage_penalty=100000) for d in rows["Demand"]]
    rows["Demand"].append({"material": "Dy", "period": 2028, "quantity": 500, "shortage_penalty": 1000})
    rows["Policies"] += [
        {"policy": "co2e-cap", "rule": "max_total", "selection": "all", "metric": "co2e", "limit": 1e9},
        {"policy": "feoc-spend", "rule": "max_total", "selection": "bloc=FEOC", "period": "horizon", "metric": "spend",
         "limit": 5000, "enforcement": "soft", "penalty": 2},
        {"policy": "two", "rule": "min_sources", "selection": "all", "material": "NdPr", "limit": 2},
        {"policy": "country-cap", "rule": "max_share", "selection": "country=*", "limit": 0.7, "enforcement": "soft",
         "penalty": 10},
        {"policy": "one-per-owner", "rule": "max_sources", "selection": "owner=*", "limit": 1},
    ]
    rows["Stockpile"] = [{"material": "Dy", "initial_stock": 5, "reserve_unit": "quantity", "min_reserve": 5,
                          "max_stock": 400, "holding_cost": 3, "release_cost": 1}]
    return rows


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("extract")
    mixed = every_kind(copy.deepcopy(SMALL))
    nothing = copy.deepcopy(SMALL)
    del nothing["Policies"]
    nothing["Demand"] = [dict(d, shortage_penalty=1) for d in nothing["Demand"]]  # cheaper to fall short than to buy
    out = {}
    for name, rows in (("mixed", mixed), ("nothing", nothing)):
        outcome = solve_file(write_plain(tmp / f"{name}.xlsx", rows), None, Options())
        assert outcome.status == "optimal", outcome.status
        out[name] = outcome
    return out


def kpis_by_definition(outcome) -> pd.DataFrame:
    """The KPI table row by row: each (material, period) with demand or purchases, then '(all)' per period."""
    plan, data = outcome.plan, outcome.checked.data
    p = plan.purchases
    demand = data.demand[data.demand["quantity"] > 0]
    short = outcome.result.values["Shortfall"]
    rows = []
    materials = [*data.materials.index, "(all)"]
    for material in materials:
        for period in data.periods:
            every = material == "(all)"
            b = p[(p["period"] == period) & (every | (p["material"] == material))]
            d = demand[(demand["period"] == period) & (every | (demand["material"] == material))]
            if not len(b) and not len(d):
                continue
            q = b["quantity"].sum()
            by_country = b.groupby("country")["quantity"].sum()
            rows.append({
                "material": material, "period": period, "demand": d["quantity"].sum(), "bought": q,
                "shortfall": sum(float(short.get((m, t), 0.0)) for m, t in zip(d["material"], d["period"])),
                "spend": b["spend"].sum(),
                **{m.name: b.loc[b[m.field].str.lower() == m.value, "quantity"].sum() / q if q > 1e-6 else np.nan
                   for m in SHARES},
                "hhi": ((by_country / q * 100) ** 2).sum() if len(b) else np.nan,
                "sources_in_use": b["source"].nunique(),
                "co2e": b["co2e"].sum(), "water": b["water"].sum(), "waste": b["waste"].sum(),
            })
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", ["mixed", "nothing"])
def test_kpis_match_their_definition(plans, name):
    kpis = plans[name].plan.kpis
    expected = kpis_by_definition(plans[name])
    got = kpis[expected.columns]
    assert got[["material", "period", "sources_in_use"]].astype(str).equals(
        expected[["material", "period", "sources_in_use"]].astype(str))
    pd.testing.assert_frame_equal(got.drop(columns=["material", "period", "sources_in_use"]),
                                  expected.drop(columns=["material", "period", "sources_in_use"]), rtol=1e-12, atol=1e-9)


def test_kpis_show_stock_of_stocked_materials_only(plans):
    kpis, stock = plans["mixed"].plan.kpis, plans["mixed"].plan.stock
    dy = kpis[kpis["material"] == "Dy"].set_index("period")
    assert dy["stock"].to_dict() == stock.set_index("period")["closing"].to_dict()
    assert kpis.loc[kpis["material"] != "Dy", "stock"].isna().all()


@pytest.mark.parametrize("name", ["mixed", "nothing"])
def test_shortfalls_are_the_solver_values_of_each_demand(plans, name):
    outcome = plans[name]
    short = outcome.result.values["Shortfall"]
    table = outcome.plan.shortfalls
    assert len(table) and (table["shortfall"] > 0).all()
    for m, t, x in zip(table["material"], table["period"], table["shortfall"]):
        assert x == short[(m, t)]
    assert len(table) == (short > 1e-6).sum()


def test_nothing_bought_leaves_shares_and_hhi_blank(plans):
    kpis = plans["nothing"].plan.kpis
    assert (kpis["bought"] == 0).all() and (kpis["sources_in_use"] == 0).all()
    assert kpis[["hhi", *(m.name for m in SHARES)]].isna().all().all()
    assert (kpis["shortfall"] == kpis["demand"]).all()


def test_policy_table_units_and_kinds(plans):
    pol = plans["mixed"].plan.policies.set_index("rule")
    assert set(pol.index) == {"max_share", "max_total", "min_sources", "max_sources"}
    assert (pol.loc["max_share", "shadow_price_unit"] == "USD per percentage point").all()
    assert (pol.loc[["min_sources", "max_sources"], "shadow_price_unit"] == "n/a (integer rule)").all()
    totals = pol.loc["max_total"].set_index("policy")
    assert totals["shadow_price_unit"].to_dict() == {"co2e-cap": "USD per t CO2e", "feoc-spend": "USD per USD"}
    assert totals["metric"].to_dict() == {"co2e-cap": "co2e", "feoc-spend": "spend"}
    assert (pol.loc[pol.index != "max_total", "metric"] == "").all()
    assert (pol.loc["max_total", "material"] == "(all)").all()
    assert set(pol.loc["max_total", "period"]) == {"2026", "2027", "2028", "horizon"}


@pytest.mark.parametrize("values", [
    ["FEOC", "feoc", "Ally", None, "x"],
    [np.nan, "Feoc", "FEOC"],
    [],
])
def test_a_share_selects_its_value_in_any_case_and_never_a_missing_one(values):
    table = pd.DataFrame({"bloc": pd.Series(values, dtype=object)})
    for dtype in (object, "str"):
        t = table.astype({"bloc": dtype})
        expected = t["bloc"].astype(str).str.lower().to_numpy() == "feoc"
        assert METRICS["feoc_share"].selects(t).tolist() == expected.tolist()
