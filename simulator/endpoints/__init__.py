"""Registry of endpoint kinds: the string in ``kind`` -> the plan that runs it."""

from simulator.endpoints.binary import BinaryPlan
from simulator.endpoints.survival import SurvivalPlan

KINDS = {"binary": BinaryPlan, "survival": SurvivalPlan}


def plan_for(config, endpoint, alpha=None, extra_levels=()):
    """Build the plan of ``endpoint`` in ``config`` through the registry.

    ``alpha`` overrides ``design.alpha``; ``extra_levels`` are further levels
    at which the same simulated trials are analysed (Holm).
    """
    try:
        plan_class = KINDS[endpoint.kind]
    except KeyError:
        raise ValueError(f"unknown endpoint kind {endpoint.kind!r}; valid: {', '.join(KINDS)}") from None
    return plan_class.from_config(config, endpoint, alpha, extra_levels)


__all__ = ["KINDS", "BinaryPlan", "SurvivalPlan", "plan_for"]
