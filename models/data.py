"""Typed plan data: what the model is built from.

The application (``planner``) reads and checks a workbook and hands the model one
:class:`PlanData`. Everything here is already validated, resolved and typed: references
point to existing rows, defaults are filled in, tariffs follow their precedence, and
values that may change over time (an offer's price and capacity, a source's capacity,
a tariff) are given per period, so that scenarios can edit single periods.

Tables are pandas DataFrames with the columns listed in each docstring. Unlimited
capacities are ``NaN``. ``row`` is the Excel row the data came from (for diagnostics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


STOCKPILE_COLUMNS = ("initial_stock", "holding_cost", "min_reserve", "reserve_unit", "max_stock", "release_cost", "row")


@dataclass
class Settings:
    plan_name: str = "Sourcing plan"
    currency: str = "USD"
    quantity_unit: str = "t"
    discount_rate: float = 0.0
    base_period: int | None = None  # None: the first period of the horizon
    carbon_price: float = 0.0
    risk_price: float = 0.0
    shortage_penalty: float | None = None  # None: demand is hard
    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    threads: int | None = None


@dataclass
class PlanData:
    """Everything the model needs, validated.

    periods
        The horizon: every integer period from the first to the last period of Demand.
    materials
        index ``material``; columns ``name``.
    countries
        index ``country``; columns ``name``, ``bloc``, ``risk_score``, ``tariff``.
    sources
        index ``source``; columns ``name``, ``country``, ``bloc``, ``kind``, ``owner``,
        ``capacity`` (NaN = unlimited; per period, the base value), ``fixed_cost``,
        ``status`` (existing / candidate), ``build_cost``, ``lead_time``,
        ``earliest_build``, ``risk_score`` (resolved: the source's, else its country's),
        ``row``.
    offers
        index 0..n-1 (the offer id); columns ``source``, ``material``, ``country``,
        ``bloc``, ``kind``, ``owner``, ``status``, ``risk_score`` (copied from the source),
        ``min_order``, ``contract_cost``, ``co2e``, ``water``, ``waste``,
        ``first_period``, ``last_period`` (resolved to the horizon), ``row``.
    offer_periods
        one row per offer and period of its window [first_period, last_period];
        columns ``offer``, ``period``, ``unit_cost``, ``capacity`` (NaN = unlimited),
        ``tariff`` (effective: Tariffs cell > offer tariff > country tariff).
    source_periods
        one row per source and period of the horizon; columns ``source``, ``period``,
        ``capacity`` (NaN = unlimited).
    demand
        one row per material and period with demand; columns ``material``, ``period``,
        ``quantity``, ``shortage_penalty`` (effective; NaN = demand is hard), ``row``.
    policies
        one row per Policies row; columns ``policy``, ``rule``, ``field`` (the field of a
        ``field=*`` selection, expanded into one instance per value; else None), ``terms``
        (the (field, value) pairs of an explicit selection, OR-ed: ``bloc=domestic|kind=recycler``
        is (("bloc", "domestic"), ("kind", "recycler")); None for ``all`` and ``field=*``), ``material``
        (None = blank), ``period`` (None = blank, an int, or ``"horizon"``), ``metric``,
        ``limit`` (shares as fractions), ``soft`` (bool), ``penalty`` (NaN when hard),
        ``row``.
    stockpiles
        index ``material`` (materials that may be stocked; the others carry no stock); columns
        ``initial_stock``, ``holding_cost``, ``min_reserve``, ``reserve_unit`` ("quantity" or
        "periods": periods of next-period demand), ``max_stock`` (NaN = unlimited),
        ``release_cost``, ``row``.
    """

    settings: Settings
    periods: tuple[int, ...]
    materials: pd.DataFrame
    countries: pd.DataFrame
    sources: pd.DataFrame
    offers: pd.DataFrame
    offer_periods: pd.DataFrame
    source_periods: pd.DataFrame
    demand: pd.DataFrame
    policies: pd.DataFrame
    skipped: dict[str, int] = field(default_factory=dict)  # rows switched off per sheet
    stockpiles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(STOCKPILE_COLUMNS), index=pd.Index([], name="material", dtype=object)))

    @property
    def base_period(self) -> int:
        return self.settings.base_period if self.settings.base_period is not None else self.periods[0]

    def reserve(self) -> pd.DataFrame:
        """The least stock at the end of each period, per stocked material, in period order:
        material, period, demand, ahead (the next period's demand; the last period's own for the
        last period; no demand counts as 0), reserve (min_reserve, or min_reserve × ahead for a
        reserve in periods).
        """
        st = self.stockpiles
        rows = pd.DataFrame({"material": np.repeat(st.index.to_numpy(), len(self.periods)),
                             "period": np.tile(np.asarray(self.periods), len(st))})
        dem = self.demand.groupby(["material", "period"])["quantity"].sum()

        def demand_in(periods) -> np.ndarray:
            return dem.reindex(pd.MultiIndex.from_arrays([rows["material"], periods])).fillna(0.0).to_numpy(dtype=float)

        rows["demand"] = demand_in(rows["period"])
        rows["ahead"] = demand_in(np.minimum(rows["period"].to_numpy() + 1, self.periods[-1]))
        k = st["min_reserve"].reindex(rows["material"]).to_numpy(dtype=float)
        periods = (st["reserve_unit"] == "periods").reindex(rows["material"]).to_numpy(dtype=bool)
        return rows.assign(reserve=np.where(periods, k * rows["ahead"].to_numpy(), k))

    def discount(self, period: int) -> float:
        """Factor that brings a cost in ``period`` back to the base period."""
        return (1.0 + self.settings.discount_rate) ** -(period - self.base_period)
