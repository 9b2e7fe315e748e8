"""The bundled example's content: complete, cited, consistent and feasible on paper.

These tests read ``planner.example.example_rows()`` directly. Besides shape (sheets,
columns, references) they check the arithmetic that keeps the example solvable with every
hard rule at once: enough offers and capacity per material and year for the FEOC glide
path, the country cap, the domestic and recycled floors and the two-source rule, also
under the China-ban scenario for the source count. One slow test solves it.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

import pytest

from planner import schema
from planner.example import example_rows

YEARS = tuple(range(2026, 2036))
CITED = re.compile(r"ASSUMPTION|\b(19|20)\d\d\b")


@pytest.fixture(scope="module")
def rows():
    return example_rows()


def _by(rows, sheet, key):
    return {r[key]: r for r in rows[sheet]}


def _horizon_capacity(rows):
    """(material, period) -> list of (offer row, source row) that can supply in that period.

    A candidate counts from its earliest build plus lead time (it may be built); capacity
    is the smaller of the offer's and the source's (inf when blank).
    """
    sources = _by(rows, "Sources", "source")
    out = defaultdict(list)
    for o in rows["Offers"]:
        s = sources[o["source"]]
        first = o.get("first_period", YEARS[0])
        if s.get("status") == "candidate":
            first = max(first, s.get("earliest_build", YEARS[0]) + s.get("lead_time", 0))
        for t in YEARS:
            if first <= t <= o.get("last_period", YEARS[-1]):
                out[o["material"], t].append((o, s))
    return out


def _cap(o, s):
    return min(o.get("capacity", math.inf), s.get("capacity", math.inf))


def _demand(rows):
    return {(d["material"], d["period"]): d["quantity"] for d in rows["Demand"]}


# --------------------------------------------------------------------------- shape

def test_every_sheet_uses_schema_column_keys(rows):
    assert set(rows) <= set(schema.SHEET_BY_NAME)
    for name, recs in rows.items():
        keys = set(schema.sheet(name).keyset)
        for r in recs:
            assert set(r) <= keys, (name, set(r) - keys)


def test_settings_cover_the_economics(rows):
    settings = {r["setting"]: r for r in rows["Settings"]}
    assert set(settings) <= set(schema.SETTING_BY_KEY)
    for key in ("plan_name", "currency", "quantity_unit", "discount_rate", "carbon_price", "risk_price",
                "shortage_penalty", "time_limit_s", "mip_gap"):
        assert key in settings, key
    assert settings["currency"]["value"] == "USD" and settings["quantity_unit"]["value"] == "t"
    for key in ("discount_rate", "carbon_price", "risk_price", "shortage_penalty"):
        assert "ASSUMPTION" in settings[key]["notes"], key


def test_at_least_six_materials_including_the_named_ones(rows):
    materials = {m["material"] for m in rows["Materials"]}
    assert len(materials) >= 6
    assert {"NdPr", "Dy", "Tb", "Li2CO3", "Co", "Graphite"} <= materials
    assert materials & {"Ga", "Ge"}


def test_demand_for_every_material_every_year(rows):
    demand = _demand(rows)
    assert len(demand) == len(rows["Demand"])  # no duplicate (material, period)
    for m in (r["material"] for r in rows["Materials"]):
        for t in YEARS:
            assert demand.get((m, t), 0) > 0, (m, t)


def test_every_figure_row_is_cited_or_marked_as_assumption(rows):
    for sheet, recs in rows.items():
        for r in recs:
            figures = [v for k, v in r.items() if k != "notes" and isinstance(v, (int, float))]
            if sheet == "Settings" and r["setting"] in ("time_limit_s", "mip_gap", "base_period"):
                continue  # solver options and the base year, not figures
            if figures or sheet != "Settings":
                note = r.get("notes", "")
                assert CITED.search(note), (sheet, r)


def test_countries_have_blocs_and_china_is_the_risky_feoc(rows):
    countries = _by(rows, "Countries", "country")
    assert {"US", "AU", "CA", "JP", "EE", "CN"} <= set(countries)
    assert {c["bloc"] for c in countries.values()} <= set(schema.BLOCS_SUGGESTED)
    assert countries["US"]["bloc"] == "domestic"
    assert countries["CN"]["bloc"] == "FEOC"
    assert countries["CN"]["risk_score"] == max(c["risk_score"] for c in countries.values())


def test_references_resolve(rows):
    materials = {m["material"] for m in rows["Materials"]}
    countries = {c["country"] for c in rows["Countries"]}
    sources = _by(rows, "Sources", "source")
    assert len(sources) == len(rows["Sources"])
    assert all(s["country"] in countries for s in sources.values())
    keys = [(o["source"], o["material"]) for o in rows["Offers"]]
    assert len(set(keys)) == len(keys)
    for source, material in keys:
        assert source in sources and material in materials, (source, material)
    for t in rows["Tariffs"]:
        assert t["country"] in countries and t.get("material", "NdPr") in materials
    for p in rows["Policies"]:
        assert p.get("material", "NdPr") in materials


def test_every_source_sells_something(rows):
    selling = {o["source"] for o in rows["Offers"]}
    assert {s["source"] for s in rows["Sources"]} == selling


def test_candidates_have_build_cost_lead_time_and_earliest_build(rows):
    candidates = [s for s in rows["Sources"] if s.get("status") == "candidate"]
    assert {"US", "AU"} <= {s["country"] for s in candidates}
    assert len([s for s in candidates if s["country"] == "US"]) >= 3
    for s in candidates:
        assert s["build_cost"] > 0 and s["lead_time"] >= 1, s["source"]
        assert YEARS[0] <= s["earliest_build"] and s["earliest_build"] + s["lead_time"] <= YEARS[-1], s["source"]
    for s in rows["Sources"]:
        if s.get("status", "existing") == "existing":
            assert not {"build_cost", "lead_time", "earliest_build"} & set(s), s["source"]


def test_owners_group_several_sources(rows):
    per_owner = defaultdict(set)
    for s in rows["Sources"]:
        per_owner[s["owner"]].add(s["source"])
    shared = {o for o, s in per_owner.items() if len(s) > 1}
    assert len(shared) >= 3, shared
    countries_of = {s["source"]: s["country"] for s in rows["Sources"]}
    assert any(len({countries_of[x] for x in per_owner[o]}) > 1 for o in shared)  # one owner, several countries


def test_prices_cheapest_from_china_for_every_material(rows):
    countries = {s["source"]: s["country"] for s in rows["Sources"]}
    for m in {o["material"] for o in rows["Offers"]}:
        offers = [o for o in rows["Offers"] if o["material"] == m]
        cheapest = min(offers, key=lambda o: o["unit_cost"])
        assert countries[cheapest["source"]] == "CN", m
        assert len([o for o in offers if countries[o["source"]] == "CN"]) >= 2, m


def test_some_offers_and_sources_carry_order_terms_and_fixed_costs(rows):
    assert any(o.get("min_order") for o in rows["Offers"])
    assert any(o.get("contract_cost") for o in rows["Offers"])
    assert any(o.get("first_period") or o.get("last_period") for o in rows["Offers"])
    assert any(s.get("fixed_cost") for s in rows["Sources"])
    assert any(s.get("capacity") for s in rows["Sources"])


# --------------------------------------------------------------------------- policies

def test_every_rule_is_used(rows):
    assert {p["rule"] for p in rows["Policies"]} == set(schema.RULES)
    assert any(p.get("enforcement") == "soft" for p in rows["Policies"])
    assert any(p.get("period") == "horizon" for p in rows["Policies"])
    selections = {p.get("selection", "all") for p in rows["Policies"]}
    assert {"bloc=FEOC", "country=*", "owner=*", "all"} <= selections
    assert any("|" in s for s in selections)


def test_policy_list_holds_the_issue_rules(rows):
    pol = rows["Policies"]
    assert any(p["rule"] == "min_sources" and p["limit"] >= 2 and "material" not in p for p in pol)
    assert any(p["rule"] == "max_total" and p.get("metric") == "co2e" for p in pol)
    assert any(p["rule"] == "max_total" and p.get("metric") == "spend" for p in pol)
    assert any(p["rule"] == "min_share" and p.get("selection") == "bloc=domestic|kind=recycler"
               and p.get("enforcement", "hard") == "hard" for p in pol)  # the domestic-plus-recycled minimum
    assert any(p["rule"] == "min_share" and p.get("selection") == "kind=recycler" for p in pol)


def test_feoc_cap_falls_over_time_and_covers_every_year(rows):
    feoc = {p["period"]: p["limit"] for p in rows["Policies"] if p["policy"] == "feoc-cap"}
    assert sorted(feoc) == list(YEARS)
    limits = [feoc[t] for t in YEARS]
    assert limits == sorted(limits, reverse=True) and limits[0] > limits[-1]


def _hard(rows, rule, **match):
    return [p for p in rows["Policies"] if p["rule"] == rule and p.get("enforcement", "hard") == "hard"
            and all(p.get(k) == v for k, v in match.items())]


def test_capacity_meets_demand_under_feoc_and_country_caps(rows):
    """Per material and year: Σ over countries of min(capacity, cap share × demand) ≥ demand."""
    countries = _by(rows, "Countries", "country")
    country_cap = min(p["limit"] for p in _hard(rows, "max_share", selection="country=*"))
    feoc = {p["period"]: p["limit"] for p in rows["Policies"] if p["policy"] == "feoc-cap"}
    supply, demand = _horizon_capacity(rows), _demand(rows)
    for (m, t), d in demand.items():
        per_country = defaultdict(float)
        for o, s in supply[m, t]:
            per_country[s["country"]] += _cap(o, s)
        feoc_room = feoc[t] * d
        reachable = 0.0
        for c, cap in per_country.items():
            limit = country_cap * d
            if countries[c]["bloc"] == "FEOC":
                limit = min(limit, feoc_room)
            reachable += min(cap, limit)
        assert reachable >= d, (m, t, reachable, d)


def test_min_share_floors_can_be_met(rows):
    supply, demand = _horizon_capacity(rows), _demand(rows)
    countries = _by(rows, "Countries", "country")
    for p in _hard(rows, "min_share"):
        field, _, value = p["selection"].partition("=")
        for t in YEARS:
            d = demand[p["material"], t]
            cap = 0.0
            for o, s in supply[p["material"], t]:
                got = countries[s["country"]]["bloc"] if field == "bloc" else s.get(field)
                if got in value.split("|"):
                    cap += _cap(o, s)
            assert cap >= p["limit"] * d, (p["policy"], t, cap, d)


@pytest.mark.parametrize("ban", [False, True], ids=["base", "china-ban"])
def test_two_sources_possible_every_year(rows, ban):
    need = max(p["limit"] for p in _hard(rows, "min_sources"))
    supply = _horizon_capacity(rows)
    for m in (r["material"] for r in rows["Materials"]):
        for t in YEARS:
            usable = [o for o, s in supply[m, t] if not (ban and s["country"] == "CN" and 2027 <= t <= 2029)]
            assert len(usable) >= need, (m, t)


def test_min_total_commitments_fit_their_offers(rows):
    offers = {(o["source"], o["material"]): o for o in rows["Offers"]}
    for p in _hard(rows, "min_total"):
        field, _, source = p["selection"].partition("=")
        assert field == "source"
        assert offers[source, p["material"]].get("capacity", math.inf) >= p["limit"]


# --------------------------------------------------------------------------- scenarios

def test_the_three_scenarios_exist(rows):
    by_name = defaultdict(list)
    for s in rows["Scenarios"]:
        by_name[s["scenario"]].append(s)
    assert {"china-ban-2027-2029", "feoc-tariff-25", "demand-surge"} <= set(by_name)
    ban, = by_name["china-ban-2027-2029"]
    assert (ban["sheet"], ban["column"], ban["where"], ban["period"], ban["operation"], ban["value"]) == \
        ("Offers", "capacity", "country=CN", "2027-2029", "scale", 0)
    tariff, = by_name["feoc-tariff-25"]
    assert (tariff["sheet"], tariff["column"], tariff["where"], tariff["operation"], tariff["value"]) == \
        ("Countries", "tariff", "bloc=FEOC", "set", 0.25)
    surge, = by_name["demand-surge"]
    assert (surge["sheet"], surge["column"], surge["operation"], surge["value"]) == ("Demand", "quantity", "scale", 1.5)
    for name, edits in by_name.items():
        probabilities = {e["probability"] for e in edits}
        assert len(probabilities) == 1 and 0 < probabilities.pop() <= 1, name


def test_heavy_rare_earths_keep_a_reserve_that_fits(rows):
    """Dy and Tb keep months of next-year demand in stock (the National Defense Stockpile idea), the
    reserve fits max_stock every year, and the scenario probabilities leave the base a share."""
    stock = {r["material"]: r for r in rows["Stockpile"]}
    assert {"Dy", "Tb"} <= set(stock)
    demand = defaultdict(dict)
    for d in rows["Demand"]:
        demand[d["material"]][d["period"]] = d["quantity"]
    for m, r in stock.items():
        assert r["initial_stock"] <= r["max_stock"], m
        by_year = [demand[m][t] for t in sorted(demand[m])]
        ahead = by_year[1:] + by_year[-1:]
        need = [r["min_reserve"] * q for q in ahead] if r["reserve_unit"] == "periods" else [r["min_reserve"]]
        assert max(need) <= r["max_stock"], m
    for m in ("Dy", "Tb"):
        assert stock[m]["reserve_unit"] == "periods" and stock[m]["min_reserve"] >= 0.25
    given = {s["scenario"]: s["probability"] for s in rows["Scenarios"]}
    assert 0 < 1 - sum(given.values()) < 1


# --------------------------------------------------------------------------- the real pipeline

def test_example_validates_cleanly(rows):
    from planner.reader import rows_to_book
    from planner.validate import check

    checked = check(rows_to_book(rows))
    assert checked.errors == [], [str(p) for p in checked.errors]
    assert checked.data.periods == YEARS


@pytest.mark.slow
def test_example_solves_without_shortfall(rows):
    from models.sourcing import build_model
    from planner import solver
    from planner.validate import plan_from_rows

    data = plan_from_rows(rows)
    result = solver.solve(build_model(data), time_limit_s=300, mip_gap=1e-4, duals=False)
    assert result.status == "optimal"
    shortfall = result.values["Shortfall"]
    assert float(shortfall.max()) < 1e-6, shortfall[shortfall > 1e-6]
