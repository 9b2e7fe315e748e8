"""The mathematics of the planner: typed plan data in, a Pyomo model out. No Excel, no CLI."""

from .data import PlanData, Settings
from .sourcing import (
    CONSTRAINT_FAMILIES,
    COST_COMPONENTS,
    InfeasibleData,
    Obstacle,
    build_model,
    cost_components,
    policy_results,
    purchases,
    shadow_prices,
)

__all__ = ["PlanData", "Settings", "CONSTRAINT_FAMILIES", "COST_COMPONENTS", "InfeasibleData", "Obstacle",
           "build_model", "cost_components", "policy_results", "purchases", "shadow_prices"]
