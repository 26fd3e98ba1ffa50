"""When endpoints are simulated together per patient, and what that allows.

Kept apart from :mod:`simulator.endpoints.joint` (the simulation) because
the config validator needs these rules, and the rules need only the kinds'
declared properties (:class:`~simulator.endpoints.registry.EndpointKind`):
``sets_calendar`` and ``check_in_joint``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.config.fields import fail
from simulator.config.schema import Design
from simulator.endpoints.registry import kind_of
from simulator.errors import InputError


def correlation_matrix(names: tuple[str, ...], pairs: tuple[tuple[str, float], ...]) -> np.ndarray:
    """The latent correlation matrix over ``names`` (in that order) from ``"a.b" = r`` pairs.

    Examples
    --------
    >>> correlation_matrix(("a", "b"), (("b.a", 0.3),)).tolist()
    [[1.0, 0.3], [0.3, 1.0]]
    """
    matrix = np.eye(len(names))
    index = {name: i for i, name in enumerate(names)}
    for key, value in pairs:
        a, b = key.split(".")
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = value
    return matrix


def calendar_endpoints(endpoints: tuple[Any, ...]) -> list[Any]:
    """The endpoints whose looks are calendar times (survival)."""
    return [e for e in endpoints if kind_of(e).sets_calendar]


def simulated_jointly(endpoints: tuple[Any, ...], correlation: tuple[tuple[str, float], ...]) -> bool:
    """Whether a trial's endpoints are simulated per patient (see docs/multiple_endpoints.md).

    Yes when any correlation is non-zero, or when an endpoint whose looks are
    calendar times (survival) shares the trial with endpoints of another
    kind (they are then analysed at those calendar times). Otherwise each
    endpoint keeps its own sufficient-statistic kernel.
    """
    calendar = calendar_endpoints(endpoints)
    mixed = bool(calendar) and len(calendar) < len(endpoints)
    return any(value != 0.0 for _, value in correlation) or mixed


def check_joint(endpoints: tuple[Any, ...], correlation: tuple[tuple[str, float], ...], design: Design) -> None:
    """What a joint (per-patient) simulation cannot do, named by its key; looks in events or months need one that can."""
    calendar_kinds = calendar_endpoints(endpoints)
    if not calendar_kinds:
        # Events and calendar times are a survival endpoint's looks: without one they were ignored.
        for key, values in (("design.look_events", design.look_events), ("design.look_times", design.look_times)):
            if values:
                raise fail(key, "needs a survival endpoint (its events or calendar times set the looks); "
                           "give patients per look by design.look_sizes, or fractions by design.looks", list(values))
        # A survival endpoint's events and calendar cap: without one they were ignored (and design.events
        # still entered the seed digest).
        for key, value in (("design.events", design.events), ("design.max_duration", design.max_duration)):
            if value is not None:
                raise fail(key, "needs a survival endpoint (events and the calendar cap are a survival endpoint's); "
                           "the trial's size is trial.n_total", value)
    elif design.look_sizes and len(calendar_kinds) == len(endpoints):
        # Patients per look mean nothing to a trial of survival endpoints only: it was ignored.
        raise fail("design.look_sizes", "gives patients per look, but a survival endpoint's looks are events or "
                   "calendar times: give them by design.looks, design.look_events or design.look_times",
                   list(design.look_sizes))
    if not simulated_jointly(endpoints, correlation):
        return
    calendar = [e.name for e in calendar_endpoints(endpoints)]
    if len(calendar) > 1:
        raise InputError(
            f"config key `endpoints.{calendar[1]}.kind`: endpoints simulated jointly (a non-zero [correlation], "
            "or binary endpoints with a survival endpoint) allow at most one survival endpoint, "
            f"got {', '.join(calendar)}"
        )
    for endpoint in endpoints:
        kind_of(endpoint).check_in_joint(endpoint, calendar=bool(calendar))
    if calendar and design.look_sizes:
        raise fail(
            "design.look_sizes",
            "is not used when binary endpoints are analysed at the survival endpoint's looks; "
            "give the looks by design.looks or design.look_events",
            list(design.look_sizes),
        )
