"""Endpoint kinds: one module (or a few) per kind, one registry for all.

Each kind implements :class:`~simulator.endpoints.registry.EndpointKind`
(its parser, plan, size axis, report fields and figures) and is registered
here, once. Everything above this layer finds kinds through
:func:`get_kind` / :func:`kind_of` and plans through :func:`plan_for`.
"""

from simulator.endpoints import binary_strata, continuous, survival
from simulator.endpoints.registry import (
    EndpointKind,
    EndpointPlan,
    get_kind,
    kind_names,
    kind_of,
    register,
)

register(binary_strata.KIND)  # the binary kind, with its plans in trials with [strata]
register(survival.KIND)
register(continuous.KIND)


def plan_for(config, endpoint, alpha=None, extra_levels=()) -> EndpointPlan:
    """Build the plan of ``endpoint`` in ``config`` through its kind.

    ``alpha`` overrides ``design.alpha``; ``extra_levels`` are further levels
    at which the same simulated trials are analysed (Holm).
    """
    return kind_of(endpoint).plan(config, endpoint, alpha, extra_levels)


__all__ = ["EndpointKind", "EndpointPlan", "get_kind", "kind_names", "kind_of", "plan_for", "register"]
