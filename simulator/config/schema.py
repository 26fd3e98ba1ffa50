"""Frozen dataclasses that a validated configuration is made of.

Every object here is built by :mod:`simulator.config.validate` and never by
hand from user input, so that each field is known to be in range.  The
sections shared by every trial are here; each endpoint kind defines its own
endpoint dataclass next to its parser (:mod:`simulator.endpoints`).  Rates
and counts are stored as the user wrote them (on the natural scale); the
endpoint layer orients them so that higher is better where the kernels need
it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: What an endpoint is for (``role``); reports group endpoints by it.
ROLES = ("efficacy", "safety", "non_inferiority")
#: The default ``simulation.seed``.
DEFAULT_SEED = 20250702


@dataclass(frozen=True)
class ParseContext:
    """What an endpoint kind's parser may read besides its own table."""

    arms: tuple[str, str]
    sided: int


@dataclass(frozen=True)
class Trial:
    """``[trial]``: arms, allocation and size of one scenario."""

    name: str
    arms: tuple[str, str]
    allocation: tuple[int, int]
    n_total: int | None  # None: not given (`design` and a patients' `size` search compute it)
    missing: float


@dataclass(frozen=True)
class Design:
    """``[design]``: level, sidedness, target power and the look schedule."""

    alpha: float
    sided: int
    power: float
    looks: int | tuple[float, ...]
    look_sizes: tuple[int, ...]
    look_events: tuple[int, ...]
    efficacy: str
    efficacy_param: float | tuple[float, ...] | None
    futility: str | tuple[float, ...]
    futility_param: float | None
    binding: bool
    events: int | None
    #: Two-sided designs: futility as the inner wedge |Z_k| < a_k ("inner",
    #: rpact's) or in the favourable direction only ("one_sided").
    two_sided_futility: str = "inner"
    #: Survival: looks at calendar times (months from the first patient in)
    #: instead of event counts; empty when the looks are event-driven.
    look_times: tuple[float, ...] = ()
    #: Survival: the trial ends at its final look or at this calendar time,
    #: whichever comes first (None: no cap).
    max_duration: float | None = None


@dataclass(frozen=True)
class Simulation:
    """``[simulation]``: how many trials, which seed, how many processes."""

    n_sims: int
    seed: int
    jobs: int
    null: bool


@dataclass(frozen=True)
class Success:
    """``[success]``: how endpoint results combine into trial success."""

    rule: str
    multiplicity: str
    order: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    """One fully resolved, validated scenario."""

    trial: Trial
    endpoints: tuple[Any, ...]  # each kind's endpoint dataclass
    design: Design
    simulation: Simulation
    success: Success
    correlation: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    def endpoint(self, name: str) -> Any:
        """The endpoint called ``name`` (KeyError if none)."""
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(name)
