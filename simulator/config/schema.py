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
#: The randomisation methods (``trial.randomisation``), in kernel-code order.
RANDOMISATION = ("simple", "blocks", "minimisation")
#: The default ``simulation.seed``.
DEFAULT_SEED = 20250702
#: The largest ``trial.n_total`` a config may give.
LARGEST_N_TOTAL = 10_000_000
#: The range of times in months a config may give (survival medians, landmarks, accrual and follow-up
#: times, piece starts, look times; the delay of an outcome): wide enough for any trial, narrow enough
#: that hazards from medians and cumulative hazards over the study stay finite (docs/config.md).
MONTHS = (1e-3, 1e4)


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
    #: How patients are randomised (``trial.randomisation``, :data:`RANDOMISATION`): "simple" is a
    #: uniform random permutation of the exact arm sizes, as before strata existed.
    randomisation: str = "simple"
    #: Permuted blocks within strata: patients per block (a multiple of the allocation's sum).
    block_size: int | None = None
    #: Minimisation: the probability of giving a patient the arm that minimises the imbalance.
    minimisation_probability: float | None = None


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
class StratumFactor:
    """``[strata.NAME]``: one stratification factor (its levels crossed with the other factors').

    ``share``: the prevalence of each level (summing to 1); ``hazard_multiplier``
    and ``odds_multiplier``: each level's control hazard and odds relative to
    the first (1 when not given); the multipliers of crossed factors multiply.
    """

    name: str
    share: tuple[float, ...]
    hazard_multiplier: tuple[float, ...]
    odds_multiplier: tuple[float, ...]


@dataclass(frozen=True)
class Labels:
    """Display text: ``[trial.labels]`` (arm name -> text) and each endpoint's ``label``.

    Never part of a result (not in the seed digest); escaped in every output.
    """

    arms: tuple[tuple[str, str], ...] = ()
    endpoints: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Config:
    """One fully resolved, validated scenario."""

    trial: Trial
    endpoints: tuple[Any, ...]  # each kind's endpoint dataclass
    design: Design
    simulation: Simulation
    success: Success
    correlation: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    #: Stratification factors (``[strata.NAME]``), in the order given; empty: none.
    strata: tuple[StratumFactor, ...] = field(default_factory=tuple)
    #: ``[interim]`` futility rule and ``[adaptation]`` re-estimation
    #: (:mod:`simulator.config.adaptive`); ``None`` when absent.
    interim: Any = None
    adaptation: Any = None
    #: Display text of arms and endpoints (not in the seed digest).
    labels: Labels = field(default_factory=Labels)

    def endpoint(self, name: str) -> Any:
        """The endpoint called ``name`` (KeyError if none)."""
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(name)
