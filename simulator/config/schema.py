"""Frozen dataclasses that a validated configuration is made of.

Every object here is built by :mod:`simulator.config.validate` and never by
hand from user input, so that each field is known to be in range.  Rates and
counts are stored as the user wrote them (on the natural scale); the endpoint
layer orients them so that higher is better where the kernels need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Trial:
    """``[trial]``: arms, allocation and size of one scenario."""

    name: str
    arms: tuple[str, str]
    allocation: tuple[int, int]
    n_total: int
    missing: float


@dataclass(frozen=True)
class ArmCounts:
    """Phase 2 data of one arm: ``events`` out of ``n`` patients."""

    events: float
    n: float


@dataclass(frozen=True)
class BinaryPrior:
    """``[endpoints.NAME.prior]`` of a binary endpoint (natural scale)."""

    control: ArmCounts
    experimental: ArmCounts
    base: tuple[float, float]
    discount: float
    robust_weight: float


@dataclass(frozen=True)
class BinaryTruth:
    """``[endpoints.NAME.truth]`` of a binary endpoint (natural scale)."""

    control: float
    experimental: float


@dataclass(frozen=True)
class BinaryEndpoint:
    """A two-arm binary endpoint and the test that analyses it."""

    name: str
    kind: str
    better: str
    test: str
    margin: float
    role: str
    truth: BinaryTruth | None
    prior: BinaryPrior | None
    delay: float = 0.0  # months from entry until the outcome is known (survival looks)


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
    endpoints: tuple[BinaryEndpoint, ...]
    design: Design
    simulation: Simulation
    success: Success
    correlation: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    def endpoint(self, name: str) -> BinaryEndpoint:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(name)


@dataclass(frozen=True)
class ControlSurvival:
    """Control-arm survival as piecewise-constant hazards.

    ``spec`` keeps the form the user wrote (``median``, ``hazard``,
    ``survival``, ``pieces``) for reports.
    """

    times: tuple[float, ...]
    hazards: tuple[float, ...]
    spec: str


@dataclass(frozen=True)
class LogNormal:
    """A log-normal distribution: log X ~ N(log_mean, log_sd^2)."""

    log_mean: float
    log_sd: float


@dataclass(frozen=True)
class SurvivalTruth:
    """``[endpoints.NAME.truth]`` of a survival endpoint."""

    control: ControlSurvival
    hazard_ratio: float | None


@dataclass(frozen=True)
class SurvivalPrior:
    """``[endpoints.NAME.prior]``: log-normal priors on the hazard ratio and control median."""

    hazard_ratio: LogNormal
    control_median: LogNormal | None


@dataclass(frozen=True)
class Accrual:
    """Entry of subjects: piecewise-constant relative rates between ``edges``."""

    edges: tuple[float, ...]
    rates: tuple[float, ...]


@dataclass(frozen=True)
class SurvivalEndpoint:
    """A two-arm time-to-event endpoint analysed by the log-rank test."""

    name: str
    kind: str
    test: str
    role: str
    truth: SurvivalTruth
    prior: SurvivalPrior | None
    accrual: Accrual
    dropout: tuple[float, float]  # exponential hazards (control, experimental)
    dropout_spec: tuple[float, float, float]  # probabilities (control, experimental) by time `at`
    follow_up: float
    better: str = "lower"  # a hazard ratio below 1 is favourable
    margin: float = 0.0
