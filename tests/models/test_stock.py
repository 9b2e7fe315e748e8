"""Known answers for stock: inventory balance, reserves (quantity and periods), ceilings, releases.

Every optimum is worked out by hand in the test's docstring.
"""

from __future__ import annotations

import pytest

from models import InfeasibleData, build_model
from planner.validate import plan_from_rows

from modelcase import book, close, optimum, solve_book


def two_periods(demand=(10, 10), stockpile=None, s1_last=2026, s1=None):
    """A: S1 sells at 10 in 2026 only, S2 at 30 in both periods."""
    offers = [{"source": "S1", "material": "A", "unit_cost": 10, "last_period": s1_last, **(s1 or {})},
              {"source": "S2", "material": "A", "unit_cost": 30}]
    dem = [{"material": "A", "period": t, "quantity": q} for t, q in zip((2026, 2027), demand)]
    return book(offers, dem, stockpile=[{"material": "A", **stockpile}] if stockpile is not None else ())


def stock(result, t):
    return float(result.values["Stock"].get(("A", t), 0.0))


def test_without_a_stockpile_nothing_carries_over():
    """2026 from S1 (10 × 10), 2027 from S2 (10 × 30): 400."""
    assert close(optimum(two_periods()), 400)


def test_stock_carries_a_cheap_purchase_forward():
    """Buy 20 from S1 in 2026 (200), hold 10 for a period at 5 (50): 250 < 400."""
    model, result = solve_book(two_periods(stockpile={"holding_cost": 5}))
    assert close(result.objective, 250)
    assert close(stock(result, 2026), 10) and close(stock(result, 2027), 0)
    assert close(float(result.values["Buy"][("S1", "A", 2026)]), 20)


def test_holding_dearer_than_the_price_gap_keeps_no_stock():
    """Holding at 25 > 30 - 10: buying ahead costs 10 + 25 = 35 > 30 per unit, so 400 as without stock."""
    assert close(optimum(two_periods(stockpile={"holding_cost": 25})), 400)


def test_max_stock_caps_what_is_carried():
    """max_stock 6: buy 16 from S1 (160), hold 6 at 5 (30), 4 from S2 in 2027 (120): 310."""
    _, result = solve_book(two_periods(stockpile={"holding_cost": 5, "max_stock": 6}))
    assert close(result.objective, 310)
    assert close(stock(result, 2026), 6)


def test_stock_bought_in_a_period_without_demand():
    """Demand 0 in 2026 and 10 in 2027: buy 10 from S1 in 2026 (100), hold 10 at 5 (50): 150."""
    _, result = solve_book(two_periods(demand=(0, 10), stockpile={"holding_cost": 5}))
    assert close(result.objective, 150)
    assert close(stock(result, 2026), 10)


def test_reserve_as_a_quantity():
    """S1 sells in both periods at 10; reserve 4 at the end of each period, holding 1:
    buy 14 then 10 (240), hold 4 twice (8): 248."""
    _, result = solve_book(two_periods(stockpile={"holding_cost": 1, "min_reserve": 4}, s1_last=2027))
    assert close(result.objective, 248)
    assert close(stock(result, 2026), 4) and close(stock(result, 2027), 4)


def test_reserve_in_periods_of_next_demand():
    """Demand 10 then 20, reserve 0.5 periods: end 2026 ≥ 0.5 × 20 = 10, end 2027 ≥ 0.5 × 20 (its own) = 10.
    S1 at 10 in both periods, holding 1: buy 20 then 20 (400), hold 10 twice (20): 420."""
    _, result = solve_book(two_periods(demand=(10, 20), s1_last=2027,
                                       stockpile={"holding_cost": 1, "min_reserve": 0.5, "reserve_unit": "periods"}))
    assert close(result.objective, 420)
    assert close(stock(result, 2026), 10) and close(stock(result, 2027), 10)


def test_initial_stock_is_drawn_at_its_release_cost():
    """Initial stock 8, release cost 2 per unit drawn, whatever its origin. S1 (10, 2026 only) is the
    cheapest way to cover both years: buy 12 in 2026 (120), stock goes 8 → 10 → 0, drawing 10 in
    2027 (20): 140. (Drawing the 8 in 2026 and buying 2027 from S2 costs 16 + 20 + 300.)"""
    _, result = solve_book(two_periods(stockpile={"initial_stock": 8, "release_cost": 2}))
    assert close(result.objective, 140)
    assert close(stock(result, 2026), 10)
    assert close(float(result.values["Release"][("A", 2027)]), 10)


def test_reserve_limits_the_draw():
    """As above with a reserve of 3 at the end of each period: buy 15 from S1 in 2026 (150), stock
    8 → 13 → 3, drawing 10 in 2027 (20): 170."""
    _, result = solve_book(two_periods(stockpile={"initial_stock": 8, "release_cost": 2, "min_reserve": 3}))
    assert close(result.objective, 170)
    assert close(stock(result, 2026), 13) and close(stock(result, 2027), 3)


def test_min_order_can_stock_the_excess():
    """S1 (2026 only) has a minimum order of 15 and demand is 10 then 10. Without stock the excess is
    disposed of: 15 from S1 (150) + 10 from S2 in 2027 (300) = 450, still below S2 in 2026 (300 + 300).
    With free stock, S1 covers both years: 20 × 10 = 200."""
    assert close(optimum(two_periods(s1={"min_order": 15})), 450)
    assert close(optimum(two_periods(s1={"min_order": 15}, stockpile={})), 200)


def test_a_reserve_above_max_stock_cannot_be_held():
    rows = two_periods(demand=(10, 40), stockpile={"min_reserve": 0.5, "reserve_unit": "periods", "max_stock": 15})
    with pytest.raises(InfeasibleData) as e:
        build_model(plan_from_rows(rows))
    assert "reserve 20 exceeds max_stock 15" in str(e.value)


def test_an_offer_in_use_may_buy_the_whole_horizon_ahead():
    """The big-M of a stocked material is the demand still to come plus the largest reserve still to hold.
    S1 (contract cost 1, 2026 only, price 10) against S2 (30): demand 10 in each of 2026-2028, a reserve
    of 5, free holding: S1 supplies 30 + 5 = 35 in 2026 (350 + 1) — exactly its big-M, so a bound of one
    period's demand would cost 2 × 10 × 20 more."""
    offers = [{"source": "S1", "material": "A", "unit_cost": 10, "contract_cost": 1, "last_period": 2026},
              {"source": "S2", "material": "A", "unit_cost": 30}]
    dem = [{"material": "A", "period": t, "quantity": 10} for t in (2026, 2027, 2028)]
    model, result = solve_book(book(offers, dem, stockpile=[{"material": "A", "min_reserve": 5}]))
    assert close(result.objective, 351)
    k = ("S1", "A", 2026)
    assert close(float(result.values["Buy"][k]), 35) and close(model.Buy[k].ub, 35)
