"""Every constraint family of the model has a known-answer test (a new family without one fails here)."""

import test_families as fam
import test_facility_location as cflp
import test_policies as pol
import test_stock as stk

from models import CONSTRAINT_FAMILIES

TESTS = {
    "add_demand": [fam.test_demand_met_cheapest_first, fam.test_shortfall_at_the_penalty_and_demand_row_overrides_setting,
                   stk.test_stock_bought_in_a_period_without_demand],
    "add_stock": [stk.test_stock_carries_a_cheap_purchase_forward, stk.test_reserve_as_a_quantity,
                  stk.test_reserve_in_periods_of_next_demand, stk.test_max_stock_caps_what_is_carried,
                  stk.test_initial_stock_is_drawn_at_its_release_cost],
    "add_offer_capacity": [fam.test_offer_capacity_with_contract_cost, fam.test_pure_capacity_is_a_variable_bound_not_a_row],
    "add_min_order": [fam.test_min_order_may_buy_beyond_demand, pol.test_min_sources_with_and_without_minimum_order],
    "add_source_capacity": [fam.test_source_capacity_over_its_materials],
    "add_source_in_use": [fam.test_source_in_use_fixed_cost, cflp.test_capacitated_facility_location_known_answer],
    "add_candidate_build": [fam.test_candidate_build_timing_with_lead_time, fam.test_candidate_not_built_before_earliest_build,
                            fam.test_candidate_with_two_build_options_is_built_once],
    "add_policy_shares": [pol.test_max_share_single_value, pol.test_min_share_with_alternatives,
                          pol.test_max_share_for_each_country, pol.test_soft_versus_hard],
    "add_policy_counts": [pol.test_single_sourcing, pol.test_vendor_with_discount_tiers_one_tier_per_owner],
    "add_policy_totals": [pol.test_max_total_of_a_footprint, pol.test_max_total_risk_over_the_horizon,
                          pol.test_max_total_spend_counts_tariffs_not_carbon, pol.test_min_total_quantity_floor_over_the_horizon],
}


def test_every_constraint_family_has_a_known_answer_test():
    assert [f.__name__ for f in CONSTRAINT_FAMILIES] == list(TESTS)
    assert all(TESTS.values())
