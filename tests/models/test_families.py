"""One known-answer model per constraint family and cost component; optima computed by hand."""

import numpy as np
import pytest

from models import InfeasibleData, build_model, cost_components
from models.sourcing import build_matrix
from modelcase import bought, book, close, optimum, solve_book
from planner.solver import verify
from planner.validate import plan_from_rows

Y = 2030


def test_demand_met_cheapest_first():
    # A: 60 t at 10, B: unlimited at 20; demand 100 → 60·10 + 40·20 = 1400
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 10, "capacity": 60},
                 {"source": "B", "material": "Nd", "unit_cost": 20}],
                [{"material": "Nd", "period": Y, "quantity": 100}])
    model, r = solve_book(rows)
    assert close(r.objective, 1400)
    assert close(bought(r, "A", "Nd", Y), 60) and close(bought(r, "B", "Nd", Y), 40)
    assert model.demand_met["Nd", Y].lower == 100


def test_shortfall_at_the_penalty_and_demand_row_overrides_setting():
    # only 60 t available at 10; 40 t short at 15 (setting) → 600 + 600 = 1200;
    # in 2031 the Demand row's penalty 50 makes buying the dear offer (30) cheaper: 60·10 + 40·30 = 1800
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 10, "capacity": 60},
                 {"source": "B", "material": "Nd", "unit_cost": 30, "first_period": Y + 1}],
                [{"material": "Nd", "period": Y, "quantity": 100},
                 {"material": "Nd", "period": Y + 1, "quantity": 100, "shortage_penalty": 50}],
                settings={"shortage_penalty": 15})
    model, r = solve_book(rows)
    assert close(r.objective, 1200 + 1800)
    assert close(r.values["Shortfall"]["Nd", Y], 40) and close(r.values["Shortfall"]["Nd", Y + 1], 0)
    assert close(cost_components(model)["cost_shortage"], 600)


def test_hard_demand_without_any_offer_is_reported_as_infeasible_data():
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 10, "first_period": Y + 1}],
                [{"material": "Nd", "period": Y, "quantity": 5}, {"material": "Nd", "period": Y + 1, "quantity": 5}])
    with pytest.raises(InfeasibleData) as e:
        build_model(plan_from_rows(rows))
    (o,) = e.value.obstacles
    assert (o.constraint, o.index, o.sheet, o.row) == ("demand_met", ("Nd", Y), "Demand", 2)


@pytest.mark.parametrize("demand, expected, a_used", [(40, 480, 0), (60, 700, 1)])
def test_offer_capacity_with_contract_cost(demand, expected, a_used):
    # A: 10/t plus 100 per period in use; B: 12/t. 40 t: A 500 > B 480; 60 t: A 700 < B 720
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 10, "contract_cost": 100},
                 {"source": "B", "material": "Nd", "unit_cost": 12}],
                [{"material": "Nd", "period": Y, "quantity": demand}])
    model, r = solve_book(rows)
    assert close(r.objective, expected)
    assert round(r.values["Use"]["A", "Nd", Y]) == a_used
    assert ("A", "Nd", Y) in model.offer_capacity and ("B", "Nd", Y) not in model.Use


def test_pure_capacity_is_a_variable_bound_not_a_row():
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 10, "capacity": 60},
                 {"source": "B", "material": "Nd", "unit_cost": 20}],
                [{"material": "Nd", "period": Y, "quantity": 100}])
    model = build_model(plan_from_rows(rows))
    assert len(model.offer_capacity) == 0 and len(model.Use) == 0
    assert model.Buy["A", "Nd", Y].ub == 60 and model.Buy["B", "Nd", Y].ub == 100  # demand bounds B


@pytest.mark.parametrize("b_cost, expected, a_bought", [(15, 450, 0), (20, 500, 50)])
def test_min_order_may_buy_beyond_demand(b_cost, expected, a_bought):
    # demand 30; A: 10/t but at least 50 t → 500; B: b_cost/t → 30·b_cost (450 or 600)
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 10, "min_order": 50},
                 {"source": "B", "material": "Nd", "unit_cost": b_cost}],
                [{"material": "Nd", "period": Y, "quantity": 30}])
    _, r = solve_book(rows)
    assert close(r.objective, expected)
    assert close(bought(r, "A", "Nd", Y), a_bought)


def test_source_capacity_over_its_materials():
    # S sells Nd and Dy at 10 but only 100 t in all; T sells both at 20. Demand 80 + 80 → 100·10 + 60·20 = 2200
    rows = book([{"source": "S", "material": "Nd", "unit_cost": 10}, {"source": "S", "material": "Dy", "unit_cost": 10},
                 {"source": "T", "material": "Nd", "unit_cost": 20}, {"source": "T", "material": "Dy", "unit_cost": 20}],
                [{"material": "Nd", "period": Y, "quantity": 80}, {"material": "Dy", "period": Y, "quantity": 80}],
                sources=[{"source": "S", "country": "US", "capacity": 100}, {"source": "T", "country": "US"}])
    model, r = solve_book(rows)
    assert close(r.objective, 2200)
    assert ("S", Y) in model.source_capacity
    assert close(bought(r, "S", "Nd", Y) + bought(r, "S", "Dy", Y), 100)


@pytest.mark.parametrize("demand, expected, s_open", [(50, 750, 0), (150, 2000, 1)])
def test_source_in_use_fixed_cost(demand, expected, s_open):
    # S: 10/t plus 500 per period in use; T: 15/t. 50 t: 1000 vs 750; 150 t: 2000 vs 2250
    rows = book([{"source": "S", "material": "Nd", "unit_cost": 10}, {"source": "T", "material": "Nd", "unit_cost": 15}],
                [{"material": "Nd", "period": Y, "quantity": demand}],
                sources=[{"source": "S", "country": "US", "fixed_cost": 500}, {"source": "T", "country": "US"}])
    model, r = solve_book(rows)
    assert close(r.objective, expected)
    assert round(r.values["SourceUse"]["S", Y]) == s_open
    assert model.source_in_use["S", "Nd", Y].upper == 0


def _build_case(earliest: int, lead: int = 1):
    # horizon 2030–2033, 10 t a year; existing E at 100/t; candidate C at 10/t, build 500
    return book([{"source": "E", "material": "Nd", "unit_cost": 100}, {"source": "C", "material": "Nd", "unit_cost": 10}],
                [{"material": "Nd", "period": Y + k, "quantity": 10} for k in range(4)],
                sources=[{"source": "E", "country": "US"},
                         {"source": "C", "country": "US", "status": "candidate", "build_cost": 500, "lead_time": lead,
                          "earliest_build": earliest}])


def test_candidate_build_timing_with_lead_time():
    # build in 2031 (earliest), supply from 2032: 500 + 2·100 + 2·1000 = 2700 (< 4000 never, < 3600 building 2032)
    model, r = solve_book(_build_case(Y + 1))
    assert close(r.objective, 2700)
    built = r.values["Build"]
    assert round(built["C", Y + 1]) == 1 and round(built.sum()) == 1
    assert list(model.BUILD_OPTIONS) == [("C", Y + 1), ("C", Y + 2)]  # a 2033 build would supply after the horizon
    assert ("C", "Nd", Y + 1) not in model.Buy  # no supply before build period + lead time


def test_candidate_not_built_before_earliest_build():
    # earliest 2032 → supply 2033 only: 500 + 10·10 + 3·10·100 = 3600 < 4000 (never building)
    _, r = solve_book(_build_case(Y + 2))
    assert close(r.objective, 3600)
    assert round(r.values["Build"]["C", Y + 2]) == 1


def test_candidate_with_two_build_options_is_built_once():
    rows = _build_case(Y, lead=0)
    # lead 0: build 2030 and buy every year at 10: 500 + 400 = 900
    model, r = solve_book(rows)
    assert close(r.objective, 900)
    assert "C" in model.candidate_build_once and round(r.values["Build"].sum()) == 1


def test_offer_period_window():
    # cheap offer only in 2031: 10·100 + 10·5 + 10·100
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 5, "first_period": Y + 1, "last_period": Y + 1},
                 {"source": "B", "material": "Nd", "unit_cost": 100}],
                [{"material": "Nd", "period": Y + k, "quantity": 10} for k in range(3)])
    model, r = solve_book(rows)
    assert close(r.objective, 2050)
    assert [k for k in model.Buy if k[0] == "A"] == [("A", "Nd", Y + 1)]


def test_discounting_of_purchases_and_builds():
    # rate 10%, base 2030: purchases 1000 + 1000/1.1; build 500 in 2031 discounted to 500/1.1
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 100}],
                [{"material": "Nd", "period": Y, "quantity": 10}, {"material": "Nd", "period": Y + 1, "quantity": 10}],
                settings={"discount_rate": 0.1})
    assert close(optimum(rows), 1000 + 1000 / 1.1)
    rows = _build_case(Y + 1)
    rows["Settings"] = [{"setting": "discount_rate", "value": 0.1}]
    # 1000 + 1000/1.1 (E in 2030, 2031) + 500/1.1 + 100/1.1² + 100/1.1³; building beats 1000/1.1² + 1000/1.1³
    expected = 1000 + 1000 / 1.1 + 500 / 1.1 + 100 / 1.1**2 + 100 / 1.1**3
    assert close(optimum(rows), expected)


def test_tariff_carbon_and_risk_prices():
    # CN: 10/t, tariff 25%, co2e 2 t/t at 3 per t, risk 0.5 at 4 per point·t → 12.5 + 6 + 2 = 20.5;
    # US: 21/t, no extras. 10 t from CN: 205
    rows = book([{"source": "C", "material": "Nd", "unit_cost": 10, "co2e": 2},
                 {"source": "U", "material": "Nd", "unit_cost": 21}],
                [{"material": "Nd", "period": Y, "quantity": 10}],
                sources=[{"source": "C", "country": "CN", "risk_score": 0.5}, {"source": "U", "country": "US"}],
                countries=[{"country": "US", "bloc": "domestic"}, {"country": "CN", "bloc": "FEOC", "tariff": 0.25}],
                settings={"carbon_price": 3, "risk_price": 4})
    model, r = solve_book(rows)
    assert close(r.objective, 205)
    costs = cost_components(model)
    assert close(costs["cost_purchase"], 125) and close(costs["cost_carbon"], 60) and close(costs["cost_risk"], 20)


def test_verify_names_the_violated_row():
    rows = book([{"source": "A", "material": "Nd", "unit_cost": 10}], [{"material": "Nd", "period": Y, "quantity": 100}])
    model, r = solve_book(rows)
    assert verify(model, r.values).amount <= 1e-9
    broken = {k: v.copy() for k, v in r.values.items()}
    broken["Buy"][:] = 30.0
    v = verify(model, broken)
    assert close(v.amount, 70) and v.where == "demand_met[Nd,2030]" and v.kind == "row"


def three_contracts():
    """Demand 100; three offers of 60 t with contracts (unit cost + cost per period in use), B spot at 30.
    LP relaxation (Use = Buy / 60): A3 costs 14 + 50/60 = 14.83 a tonne, A2 10.2 + 400/60 = 16.87, A1
    10 + 500/60 = 18.33: A3 60 t, A2 40 t (Use 2/3): 890 + 674.67 = 1564.67. Rounded up: A2 and A3
    in use, then A2 60 t at 10.2 and A3 40 t at 14: 612 + 560 + 450 = 1622, which is also the optimum
    (A1+A2 1908, A1+A3 1710, A3+B 2090, all three 1958)."""
    return book([{"source": "A1", "material": "Nd", "unit_cost": 10, "contract_cost": 500, "capacity": 60},
                 {"source": "A2", "material": "Nd", "unit_cost": 10.2, "contract_cost": 400, "capacity": 60},
                 {"source": "A3", "material": "Nd", "unit_cost": 14, "contract_cost": 50, "capacity": 60},
                 {"source": "B", "material": "Nd", "unit_cost": 30}],
                [{"material": "Nd", "period": Y, "quantity": 100}])


def test_a_start_within_the_gap_of_the_relaxation_is_the_plan_without_a_mip_run():
    """The three contracts above: the start [0, 1, 1] completes to 1622, 3.53% above the relaxation's
    1564.67 ((1622 - 1564.67) / 1622 = 0.0353). With a 5% gap that is proven: the plan is the start,
    its bound the relaxation's, and HiGHS's MIP never runs. With a 1% gap the MIP runs (and proves
    1622 optimal)."""
    _, r = solve_book(three_contracts(), mip_gap=0.05)
    assert r.status == "optimal" and close(r.objective, 1622) and close(r.bound, 1564 + 2 / 3)
    assert close(r.gap, (1622 - (1564 + 2 / 3)) / 1622) and "within the gap" in r.message
    assert r.timings["solve"] == 0.0 and r.values["Use"].round(9).tolist() == [0.0, 1.0, 1.0]
    assert r.shadow_prices is not None and r.max_violation.amount < 1e-9
    _, r = solve_book(three_contracts(), mip_gap=0.01)
    assert r.status == "optimal" and close(r.objective, 1622) and r.timings["solve"] > 0 and r.gap < 0.01
    assert "within the gap" not in r.message


def test_a_mips_duals_are_solved_from_the_basis_of_its_starts_completion():
    """When the MIP runs after its start, the LP with its integer columns fixed (for the duals) starts
    from the basis of the start's completion. The three contract offers above: the start [0, 1, 1] is
    the optimum, so that LP is the completion itself and takes no simplex iteration, where a cold
    solve takes some. Its duals, by hand: demand 14 a tonne (A3's unit cost: it buys 40 of its 60 t),
    A1's contract row 10 - 14 = -4 (not in use), A3's 0; A2's 60 t are held both by its column bound
    and by its contract row, so its 10.2 - 14 = -3.8 may lie with either: the completion's basis gives
    it to the row."""
    from planner import solver

    model = build_matrix(plan_from_rows(three_contracts()))
    c = solver.compile_model(model)
    demand = next(first for con, first, _ in c.row_keys if con.name == "demand_met")
    duals = {}
    for warm in (True, False):
        h = solver._highs(c, None, 0.0, None)
        started = solver._rounded_relaxation(h, c, None) if warm else solver.Start(returned=True)
        assert not started.proven and (started.basis is not None) is warm
        assert solver.run(h) and h.getModelStatus() == solver._MS.kOptimal
        x = solver._to_model(c, h.getSolution().col_value)
        assert x[c.integer].round(9).tolist() == [0.0, 1.0, 1.0]
        duals[warm] = c.scaling.duals(solver._fixed_lp_duals(h, c, x, started))
        assert (h.getInfo().simplex_iteration_count == 0) is warm
    assert demand == 0 and np.allclose(duals[True], [14, -4, -3.8, 0])
    assert np.allclose(duals[False][[0, 1, 3]], [14, -4, 0]) and duals[False][2] in (0.0, pytest.approx(-3.8))


def test_a_mip_starts_from_its_relaxation_rounded_up():
    """planner.solver._rounded_relaxation: HiGHS holds the relaxation's Use values rounded up as its
    start; the solve reaches the same optimum with and without it."""
    from planner import solver

    m = build_matrix(plan_from_rows(three_contracts()))
    relaxed = solver.solve(m, relax_integrality=True)
    assert close(relaxed.objective, 1564 + 2 / 3)
    assert relaxed.values["Use"].round(6).tolist() == [0.0, round(2 / 3, 6), 1.0]
    c = solver.compile_model(m)
    h = solver._highs(c, None, 0.0, None)
    started = solver._rounded_relaxation(h, c, None)
    assert started.returned and not started.proven and close(c.scaling.objective(started.bound), 1564 + 2 / 3)
    ints = np.flatnonzero(c.integer)
    assert np.round(np.asarray(h.getSolution().col_value)[solver._position(c)[ints]], 9).tolist() == [0.0, 1.0, 1.0]
    for warm in (True, False):
        _, r = solve_book(three_contracts(), mip_gap=0, warm_start=warm)
        assert r.status == "optimal" and close(r.objective, 1622) and ("relaxation" in r.timings) is warm
        assert r.values["Use"].tolist() == [0.0, 1.0, 1.0]


def _rules_lp(case: str):
    """(HiGHS holding the solved LP the duals come from, its duals, the binding rules' rows) for
    the example's LP relaxation or the S instance's LP with its integers fixed."""
    from benchmarks import generate
    from planner import solver
    from planner.validate import load

    relax = case.startswith("example")
    data = load("inputs/example.xlsx").data if relax else plan_from_rows(generate.instance("S"))
    c = solver.compile_model(build_matrix(data))
    h = solver._highs(c, None, None, None, relax_integrality=relax)
    started = solver.Start(returned=True) if relax else solver._rounded_relaxation(h, c, None)
    if not started.proven:
        assert solver.run(h)
    x = solver._to_model(c, h.getSolution().col_value)
    y = solver._fixed_lp_duals(h, c, x, started)
    assert h.getModelStatus() == solver._MS.kOptimal and relax != bool(c.integer.any())
    rows = solver._room_rows(c)
    return h, y, rows[np.abs(y[rows]) > solver.DUAL_TOLERANCE]


LPS = ["example LP relaxation", "S with its integers fixed"]


@pytest.mark.parametrize("case", LPS)
def test_bound_ranging_on_the_basic_columns_is_highs_ranging_of_the_whole_lp(case):
    """planner.solver._bound_ranging ranges the rules' row bounds on the LP of the basic columns
    alone; HiGHS's ranging of the whole LP gives the same lowest and highest bounds on every
    binding rule's row, as it must: the basis and the basic variables' bounds are the same."""
    from planner import solver

    h, y, rows = _rules_lp(case)
    _, whole = h.getRanging()
    h.getRanging = None  # (so the whole LP's ranging, _bound_ranging's fallback, cannot be what is compared)
    lowest, highest = solver._bound_ranging(h, rows)
    assert len(rows) > 10
    for ours, theirs in ((lowest, whole.row_bound_dn.value_), (highest, whole.row_bound_up.value_)):
        np.testing.assert_allclose(ours, np.asarray(theirs)[rows], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("case", LPS)
def test_each_binding_rules_dual_is_the_saving_from_relaxing_it_alone(case):
    """planner.solver.room_duals against finite differences: each binding rule's bound relaxed by
    1e-4 (HiGHS's units) alone, the LP solved again from the optimal basis; the objective's change
    per unit is the rule's dual, for every rule (134 on the example's relaxation, 5 of them without
    room in the basis, whose basis duals differ)."""
    from planner import solver

    h, y, rows = _rules_lp(case)
    basis, objective = h.getBasis(), h.getInfo().objective_function_value
    room = solver.room_duals(h, rows, y)
    _, _, lower, upper, _ = h.getRows(len(rows), rows.astype(np.int32))
    step, saved = 1e-4, []
    for i, lo, up, floor in zip(rows.tolist(), lower.tolist(), upper.tolist(), (y[rows] > 0).tolist()):
        h.changeRowBounds(i, lo - step, up) if floor else h.changeRowBounds(i, lo, up + step)
        h.setBasis(basis)
        assert solver.run(h) and h.getModelStatus() == solver._MS.kOptimal
        saved.append((h.getInfo().objective_function_value - objective) / step * (-1 if floor else 1))
        h.changeRowBounds(i, lo, up)
    np.testing.assert_allclose(room[rows], saved, rtol=1e-5, atol=1e-6)
    assert (np.abs(room[rows] - y[rows]) > 1e-6).sum() == (5 if case.startswith("example") else 0)
