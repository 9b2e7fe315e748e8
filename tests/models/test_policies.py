"""One known-answer model per policy rule and selection form; optima computed by hand.

Prices used throughout: CN (FEOC) at 5, JP (ally) at 11, US (domestic) at 12, unlimited, one
material Nd unless said otherwise.
"""

import numpy as np
import pytest

from models import InfeasibleData, build_model, policy_results
from modelcase import bought, book, close, optimum, solve_book
from planner.validate import plan_from_rows

Y = 2030
SOURCES = [{"source": "C", "country": "CN"}, {"source": "J", "country": "JP"}, {"source": "U", "country": "US"}]
PRICE = {"C": 5, "J": 11, "U": 12}


def market(policies=(), demand=100, materials=("Nd",), periods=(Y,), **offer_extra):
    offers = [{"source": s, "material": m, "unit_cost": p, **offer_extra.get(s, {})}
              for m in materials for s, p in PRICE.items()]
    dem = [{"material": m, "period": t, "quantity": demand} for m in materials for t in periods]
    return book(offers, dem, sources=SOURCES, policies=policies)


def test_max_share_single_value():
    # FEOC ≤ 40%: 40·5 + 60·11 = 860
    rows = market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": "40%"}])
    model, r = solve_book(rows)
    assert close(r.objective, 860)
    assert list(model.policy_max_share) == ["feoc[Nd, 2030, bloc=FEOC]"]


def test_min_share_with_alternatives():
    # domestic|ally ≥ 50%: the ally at 11 is the cheaper of the two → 50·11 + 50·5 = 800
    rows = market([{"policy": "friends", "rule": "min_share", "selection": "bloc=domestic|ally", "limit": 0.5}])
    model, r = solve_book(rows)
    assert close(r.objective, 800)
    assert close(bought(r, "J", "Nd", Y), 50) and close(bought(r, "U", "Nd", Y), 0)


def test_max_share_for_each_country():
    # no country above 40%: 40·5 + 40·11 + 20·12 = 880
    rows = market([{"policy": "spread", "rule": "max_share", "selection": "country=*", "limit": 0.4}])
    model, r = solve_book(rows)
    assert close(r.objective, 880)
    assert sorted(model.policy_max_share) == [f"spread[Nd, 2030, country={c}]" for c in ("CN", "JP", "US")]


def test_all_selection_and_material_and_period_scope():
    # 'all' with a share limit of 1 binds nothing; the FEOC cap applies to Dy in 2031 only:
    # Nd 2030, 2031 and Dy 2030 all from CN: 3·500; Dy 2031: 40·5 + 60·11 = 860
    rows = market([{"policy": "noop", "rule": "max_share", "selection": "all", "limit": 1},
                   {"policy": "dy31", "rule": "max_share", "selection": "bloc=FEOC", "material": "Dy", "period": Y + 1,
                    "limit": 0.4}],
                  materials=("Nd", "Dy"), periods=(Y, Y + 1))
    model, r = solve_book(rows)
    assert close(r.objective, 1500 + 860)
    assert list(model.policy_max_share) == ["dy31[Dy, 2031, bloc=FEOC]"]


def test_min_share_blank_material_means_each_material():
    # domestic ≥ 30% of each material: per material 30·12 + 70·5 = 710
    rows = market([{"policy": "dom", "rule": "min_share", "selection": "bloc=domestic", "limit": 0.3}],
                  materials=("Nd", "Dy"))
    assert close(optimum(rows), 2 * 710)


def test_single_sourcing():
    # one offer per material: C capped at 60 cannot cover 100 alone → all from J: 1100 (vs 60·5 + 40·11 = 740 split)
    rows = market([{"policy": "single", "rule": "max_sources", "limit": 1}], C={"capacity": 60})
    model, r = solve_book(rows)
    assert close(r.objective, 1100)
    assert round(r.values["Use"].sum()) == 1


def test_min_sources_with_and_without_minimum_order():
    # at least 2 offers; J has a 20 t minimum order, U 30 t: C + J 80·5 + 20·11 = 620 < C + U 70·5 + 30·12 = 710
    rows = market([{"policy": "two", "rule": "min_sources", "limit": 2}], J={"min_order": 20}, U={"min_order": 30})
    assert close(optimum(rows), 620)
    # no minimum order: "in use" means ≥ 1% of the offer's bound (demand 100 → 1 t) → 99·5 + 1·11 = 506
    rows = market([{"policy": "two", "rule": "min_sources", "limit": 2}])
    assert close(optimum(rows), 506)


def test_vendor_with_discount_tiers_one_tier_per_owner():
    # owner V sells through two tiers: bulk at 8 (min 80 t, at most 90 t) and small at 10; W sells at 12.
    # Unconstrained: 90·8 + 10·10 = 820. One offer per owner: bulk 90·8 + 10·12 = 840 (small alone: 1000)
    offers = [{"source": "V-bulk", "material": "Nd", "unit_cost": 8, "min_order": 80, "capacity": 90},
              {"source": "V-small", "material": "Nd", "unit_cost": 10},
              {"source": "W", "material": "Nd", "unit_cost": 12}]
    sources = [{"source": "V-bulk", "country": "US", "owner": "V"}, {"source": "V-small", "country": "US", "owner": "V"},
               {"source": "W", "country": "US"}]
    demand = [{"material": "Nd", "period": Y, "quantity": 100}]
    assert close(optimum(book(offers, demand, sources=sources)), 820)
    rows = book(offers, demand, sources=sources,
                policies=[{"policy": "one-tier", "rule": "max_sources", "selection": "owner=*", "limit": 1}])
    model, r = solve_book(rows)
    assert close(r.objective, 840)
    assert sorted(model.policy_max_sources) == ["one-tier[Nd, 2030, owner=V]"]  # W has one offer: never binds


@pytest.mark.parametrize("metric", ["co2e", "water", "waste"])
def test_max_total_of_a_footprint(metric):
    # C: 2 units of the metric per t, J: 1; cap 150 per period: 2c + j ≤ 150, c + j = 100 → c = 50: 250 + 550 = 800
    rows = market([{"policy": "cap", "rule": "max_total", "metric": metric, "limit": 150}],
                  C={metric: 2}, J={metric: 1}, U={metric: 1})
    assert close(optimum(rows), 800)


def test_max_total_risk_over_the_horizon():
    # risk = risk score × t: C 0.8, J 0.2, U 0; 100 t in each of two periods; horizon risk ≤ 100.
    # All from C (1000) carries 160. Lowering risk by 1 costs 6/0.6 = 10 via J, 7/0.8 = 8.75 via U →
    # move 75 t from C to U: 1000 + 75·7 = 1525
    rows = market([{"policy": "risk", "rule": "max_total", "metric": "risk", "period": "horizon", "limit": 100}],
                  periods=(Y, Y + 1))
    rows["Sources"] = [{"source": "C", "country": "CN", "risk_score": 0.8},
                       {"source": "J", "country": "JP", "risk_score": 0.2}, {"source": "U", "country": "US"}]
    model, r = solve_book(rows)
    assert close(r.objective, 1525)
    assert list(model.policy_max_total) == ["risk[all materials, horizon, all]"]


def test_max_total_spend_counts_tariffs_not_carbon():
    # CN tariff 50% → spend 7.5/t, plus carbon 10 × 1 t CO2e → 17.5/t in the objective; J: 11/t, clean.
    # Without a budget everything comes from J (spend 2200 for Nd + Dy). Spend ≤ 1900 for both materials together:
    # 11·200 − 3.5c ≤ 1900 → c = 300/3.5; objective 2200 + 6.5c
    rows = market([{"policy": "budget", "rule": "max_total", "metric": "spend", "period": Y, "limit": 1900}],
                  materials=("Nd", "Dy"), C={"co2e": 1})
    rows["Countries"] = [{"country": "US", "bloc": "domestic"}, {"country": "JP", "bloc": "ally"},
                         {"country": "CN", "bloc": "FEOC", "tariff": 0.5}]
    rows["Settings"] = [{"setting": "carbon_price", "value": 10}]
    assert close(optimum(rows), 2200 + 6.5 * 300 / 3.5)


def test_min_total_quantity_floor_over_the_horizon():
    # at least 150 t domestic over 2030–2031 (all materials): 150·12 + 50·5 = 2050
    rows = market([{"policy": "floor", "rule": "min_total", "selection": "bloc=domestic", "period": "horizon",
                    "limit": 150}], periods=(Y, Y + 1))
    model, r = solve_book(rows)
    assert close(r.objective, 2050)
    assert list(model.policy_min_total) == ["floor[all materials, horizon, bloc=domestic]"]


@pytest.mark.parametrize("penalty, expected", [(3, 500 + 3 * 60), (7, 860)])
def test_soft_versus_hard(penalty, expected):
    # FEOC ≤ 40% soft: each t moved from J (11) to C (5) saves 6 and adds 1 t of violation.
    # penalty 3 < 6: all from CN, violation 60 → 500 + 180; penalty 7 > 6: as if hard, 860
    rows = market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.4,
                    "enforcement": "soft", "penalty": penalty}])
    model, r = solve_book(rows)
    assert close(r.objective, expected)
    table = policy_results(model, r.values["Buy"], r.values["Violation"], r.shadow_prices)
    row = table.iloc[0]
    assert close(row["violation"], 60 if penalty == 3 else 0) and close(row["penalty"], 3 * 60 if penalty == 3 else 0)


def test_shadow_prices_by_hand():
    # FEOC ≤ 40% binds: one more percentage point moves 1 t from J (11) to C (5): −6 per point.
    # CO2e ≤ 150 (C 2 t/t, J and U 1 t/t, with J's share not limited) binds too in the second case:
    # one more t CO2e lets 1 t move from J to C: −6 per t CO2e.
    model, r = solve_book(market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.4}]))
    assert close(r.shadow_prices["feoc[Nd, 2030, bloc=FEOC]"], -6)
    model, r = solve_book(market([{"policy": "co2", "rule": "max_total", "metric": "co2e", "limit": 150}],
                                 C={"co2e": 2}, J={"co2e": 1}, U={"co2e": 1}))
    assert close(r.shadow_prices["co2[all materials, 2030, all]"], -6)
    # a floor: domestic ≥ 30 t costs 12 − 5 = 7 per t; relaxing the floor by 1 t saves 7
    model, r = solve_book(market([{"policy": "dom", "rule": "min_total", "selection": "bloc=domestic", "limit": 30}]))
    assert close(r.objective, 30 * 12 + 70 * 5)
    assert close(r.shadow_prices["dom[all materials, 2030, bloc=domestic]"], -7)
    table = policy_results(model, r.values["Buy"], r.values["Violation"], r.shadow_prices)
    assert table["binding"].tolist() == [True] and close(table["achieved"].iat[0], 30)


def test_a_rule_met_to_the_last_bits_shows_no_slack():
    # FEOC ≤ 40% of 33 t: 13.2 t from C, whose share comes back as 0.4000000000000001; the sheet
    # showed a slack of -5.55E-17, a violation of a hard rule. Met exactly: slack 0, achieved 0.4.
    model, r = solve_book(market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.4}],
                                 demand=33))
    row = policy_results(model, r.values["Buy"], r.values["Violation"], r.shadow_prices).iloc[0]
    assert row["slack"] == 0.0 and row["achieved"] == 0.4 and row["binding"]


def test_a_rule_holding_the_same_purchases_as_another_has_no_price_of_room():
    # FEOC ≤ 40% and CN ≤ 40% hold the same 40 t (C is all of FEOC): 40·5 + 60·11 = 860. Relaxing
    # either alone moves nothing (the other still holds C at 40 t), so each has 0; the LP's basis
    # gives one of them the pair's −6 per point.
    model, r = solve_book(market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.4},
                                  {"policy": "china", "rule": "max_share", "selection": "country=CN", "limit": 0.4}]))
    assert close(r.objective, 860)
    table = policy_results(model, r.values["Buy"], r.values["Violation"], r.shadow_prices)
    assert table["binding"].tolist() == [True, True]
    assert close(r.shadow_prices["feoc[Nd, 2030, bloc=FEOC]"], 0)
    assert close(r.shadow_prices["china[Nd, 2030, country=CN]"], 0)
    assert not np.signbit(r.shadow_prices[r.shadow_prices == 0]).any()  # (0, not HiGHS's -0)
    # C's capacity of 40 t holds the same purchases as the cap: relaxing the cap saves nothing either
    model, r = solve_book(market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.4}],
                                 C={"capacity": 40}))
    assert close(r.objective, 860) and close(r.shadow_prices["feoc[Nd, 2030, bloc=FEOC]"], 0)


def test_many_tied_rules_and_a_floor_at_a_capacity_are_priced_together_then_alone():
    # The FEOC and CN caps above for Nd and Dy in 2030 and 2031: four pairs, each priced 0 (more
    # than planner.solver.JOINT_FROM rules to re-solve: they are first relaxed together). Nd in 2030
    # also has a soft domestic floor of 30 t met at U's capacity of 30 t: relaxing it by 1 t buys 1 t
    # more from J instead (C is capped): -1 (tightening it would cost the penalty, 100).
    # 3 · (40·5 + 60·11) + (40·5 + 30·11 + 30·12) = 2580 + 890 = 3470.
    rows = market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.4},
                   {"policy": "china", "rule": "max_share", "selection": "country=CN", "limit": 0.4},
                   {"policy": "dom", "rule": "min_total", "selection": "bloc=domestic", "material": "Nd", "period": Y,
                    "limit": 30, "enforcement": "soft", "penalty": 100}],
                  materials=("Nd", "Dy"), periods=(Y, Y + 1), U={"capacity": 30})
    model, r = solve_book(rows)
    assert close(r.objective, 3470)
    prices = r.shadow_prices
    assert close(prices["dom[Nd, 2030, bloc=domestic]"], -1)
    caps = prices.drop("dom[Nd, 2030, bloc=domestic]")
    assert len(caps) == 8 and np.allclose(caps, 0)


def test_a_soft_floor_met_exactly_is_priced_by_the_saving_from_relaxing_it():
    # domestic ≥ 30 t, soft at 100 per t short, and U sells exactly 30 t: 30·12 + 70·5 = 710. Relaxing
    # the floor by 1 t buys 1 t from C instead of U: −7. Tightening it would cost 100 (the penalty):
    # the row's duals are [7, 100], and the basis may give either end.
    model, r = solve_book(market([{"policy": "dom", "rule": "min_total", "selection": "bloc=domestic", "limit": 30,
                                   "enforcement": "soft", "penalty": 100}], U={"capacity": 30}))
    assert close(r.objective, 710)
    assert close(r.shadow_prices["dom[all materials, 2030, bloc=domestic]"], -7)


def test_room_duals_from_the_basis_at_the_tightening_end():
    """planner.solver.room_duals on the floor above, written for HiGHS directly: min 5c + 12u + 100v,
    c + u = 100, u + v >= 30 (the floor, v its violation), u <= 30. Started from the basis {c, v}
    (v basic at 0), the LP takes no iteration and gives the floor the dual 100, the end of its
    interval [7, 100] that prices tightening it; the price of room is 7, and the demand row's dual
    (not a rule's row) is left as it is."""
    import highspy

    from planner import solver

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    solver._as_lp(h)
    inf = highspy.kHighsInf
    h.addVars(3, np.array([0.0, 0.0, 0.0]), np.array([inf, 30.0, inf]))
    h.changeColsCost(3, np.array([0, 1, 2], dtype=np.int32), np.array([5.0, 12.0, 100.0]))
    h.addRow(100.0, 100.0, 2, np.array([0, 1], dtype=np.int32), np.array([1.0, 1.0]))
    h.addRow(30.0, inf, 2, np.array([1, 2], dtype=np.int32), np.array([1.0, 1.0]))
    basis = highspy.HighsBasis()
    s = highspy.HighsBasisStatus
    basis.col_status = [s.kBasic, s.kUpper, s.kBasic]
    basis.row_status = [s.kLower, s.kLower]
    basis.valid = True
    h.setBasis(basis)
    assert solver.run(h) and h.getModelStatus() == solver._MS.kOptimal
    assert h.getInfo().simplex_iteration_count == 0 and close(h.getInfo().objective_function_value, 710)
    y = np.asarray(h.getSolution().row_dual)
    assert np.allclose(y, [5, 100])
    room = solver.room_duals(h, np.array([1]), y)
    assert np.allclose(room, [5, 7]) and np.allclose(y, [5, 100])  # (y itself is not changed)
    assert h.getRows(1, np.array([1], dtype=np.int32))[2].tolist() == [30.0]  # the floor is put back


def test_room_duals_of_more_rules_than_are_priced_one_by_one():
    """room_duals with more than JOINT_FROM rules without room: two copies of the floor above, each
    from the basis at its tightening end (dual 100, price of room 7), and two tied caps: min 5c + 11j,
    c + j = 100, c <= 40 twice (the first nonbasic with the dual -6, the second basic at its bound:
    relaxing the first alone saves nothing). Relaxed together, the floors keep a dual and the first
    caps have none; relaxed together again, the caps still have none (0 each), and the floors are
    then priced one by one (7 each)."""
    import highspy

    from planner import solver

    s, inf = highspy.HighsBasisStatus, highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    solver._as_lp(h)
    col_status, row_status = [], []
    for _ in range(2):  # a floor: c, u <= 30, v; c + u = 100, u + v >= 30
        n = h.getNumCol()
        h.addVars(3, np.zeros(3), np.array([inf, 30.0, inf]))
        h.changeColsCost(3, np.arange(n, n + 3, dtype=np.int32), np.array([5.0, 12.0, 100.0]))
        h.addRow(100.0, 100.0, 2, np.array([n, n + 1], dtype=np.int32), np.ones(2))
        h.addRow(30.0, inf, 2, np.array([n + 1, n + 2], dtype=np.int32), np.ones(2))
        col_status += [s.kBasic, s.kUpper, s.kBasic]
        row_status += [s.kLower, s.kLower]
    for _ in range(2):  # two caps: c, j; c + j = 100, c <= 40, c <= 40
        n = h.getNumCol()
        h.addVars(2, np.zeros(2), np.full(2, inf))
        h.changeColsCost(2, np.arange(n, n + 2, dtype=np.int32), np.array([5.0, 11.0]))
        h.addRow(100.0, 100.0, 2, np.array([n, n + 1], dtype=np.int32), np.ones(2))
        for _ in range(2):
            h.addRow(-inf, 40.0, 1, np.array([n], dtype=np.int32), np.ones(1))
        col_status += [s.kBasic, s.kBasic]
        row_status += [s.kLower, s.kUpper, s.kBasic]
    basis = highspy.HighsBasis()
    basis.col_status, basis.row_status, basis.valid = col_status, row_status, True
    h.setBasis(basis)
    assert solver.run(h) and h.getModelStatus() == solver._MS.kOptimal
    assert h.getInfo().simplex_iteration_count == 0 and close(h.getInfo().objective_function_value, 2 * 710 + 2 * 860)
    y = np.asarray(h.getSolution().row_dual)
    rules = np.array([1, 3, 5, 6, 8, 9])  # the floors, then each block's two caps
    assert np.allclose(y[rules], [100, 100, -6, 0, -6, 0]) and solver.JOINT_FROM < 4
    room = solver.room_duals(h, rules, y)
    assert np.allclose(room[rules], [7, 7, 0, 0, 0, 0])
    assert np.allclose(np.delete(room, rules), np.delete(y, rules))  # (the demand rows' as they were)


def test_unreachable_hard_floors_are_infeasible_data():
    # at least 3 offers in use when only 2 sell; and a floor on a selection that sells nothing
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 1}, {"source": "B", "material": "Nd", "unit_cost": 2}],
                [{"material": "Nd", "period": Y, "quantity": 10}],
                policies=[{"policy": "three", "rule": "min_sources", "limit": 3},
                          {"policy": "recycled", "rule": "min_total", "selection": "kind=recycler", "limit": 5}])
    with pytest.raises(InfeasibleData) as e:
        build_model(plan_from_rows(rows))
    assert [(o.constraint, o.row) for o in e.value.obstacles] == [("policy_min_sources", 2), ("policy_min_total", 3)]


def test_min_share_union_across_fields():
    # "at least 50% domestic or recycled": the recycler R (in CN, 8, capacity 30) counts through kind,
    # US through bloc; J (ally) does not. Cheapest: 30·8 + 20·12 + 50·5 = 730.
    sources = SOURCES + [{"source": "R", "country": "CN", "kind": "recycler"}]
    offers = [{"source": s, "material": "Nd", "unit_cost": p} for s, p in PRICE.items()]
    offers.append({"source": "R", "material": "Nd", "unit_cost": 8, "capacity": 30})
    policy = {"policy": "home", "rule": "min_share", "selection": "bloc=domestic|kind=recycler", "limit": 0.5}
    rows = book(offers, [{"material": "Nd", "period": Y, "quantity": 100}], sources=sources, policies=[policy])
    model, r = solve_book(rows)
    assert close(r.objective, 730)
    assert close(bought(r, "R", "Nd", Y), 30) and close(bought(r, "U", "Nd", Y), 20)
    assert list(model.policy_min_share) == ["home[Nd, 2030, bloc=domestic|kind=recycler]"]


def test_two_rows_of_one_policy_covering_the_same_purchases_both_hold():
    # feoc ≤ 40% for Nd in 2030, and ≤ 60% everywhere (another row of the same policy): both rows
    # give an instance feoc[Nd, 2030, bloc=FEOC]; both must hold, so Nd 2030 is capped at 40%
    # (keeping only the later row would allow 60%: 1480): Nd 40·5 + 60·11 = 860; Dy 60·5 + 40·11 = 740
    rows = market([{"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "material": "Nd", "period": Y,
                    "limit": 0.4},
                   {"policy": "feoc", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.6}],
                  materials=("Nd", "Dy"))
    model, r = solve_book(rows)
    assert close(r.objective, 860 + 740)
    assert sorted(model.policy_max_share) == ["feoc[Dy, 2030, bloc=FEOC]", "feoc[Nd, 2030, bloc=FEOC] (row 2)",
                                              "feoc[Nd, 2030, bloc=FEOC] (row 3)"]
    pol = policy_results(model, r.values["Buy"], r.values.get("Violation"))
    assert sorted(pol["row"]) == [2, 3, 3] and pol["instance"].is_unique
