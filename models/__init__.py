"""The mathematics of the planner: typed plan data in, a Pyomo model (or its matrix) out. No Excel, no CLI.

The model builder is imported on first use, so that reading and checking a workbook
(``planner validate``, ``template``, ``compare``) does not pay for Pyomo (~0.35 s).
"""

from .data import PlanData, Settings

_FROM_SOURCING = ("CONSTRAINT_FAMILIES", "COST_COMPONENTS", "InfeasibleData", "Obstacle", "build_model",
                  "cost_components", "policy_results", "purchases", "shadow_prices")
__all__ = ["PlanData", "Settings", *_FROM_SOURCING]


def __getattr__(name: str):
    if name in _FROM_SOURCING:
        from . import sourcing

        return getattr(sourcing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
