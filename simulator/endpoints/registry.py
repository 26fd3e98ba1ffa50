"""The endpoint-kind interface and its one registry.

An endpoint kind (``kind = "binary"``, ``"survival"``, ...) is everything
the rest of the package knows about a kind of endpoint, behind one
:class:`EndpointKind` object registered here once. The config validator,
the plans, ``size``, the report builder, results.csv and the plots read
the registry; none of them switches on kind strings. Adding a kind means
writing its module(s) (a parser, a plan, figures), calling :func:`register`
for it in :mod:`simulator.endpoints`, and documenting and testing it.

docs/architecture.md states the protocol for users of the package.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from simulator.config.fields import toml_value
from simulator.config.schema import Config, ParseContext
from simulator.errors import InputError


@runtime_checkable
class EndpointPlan(Protocol):
    """One endpoint of one scenario, ready to simulate (what a kind's ``plan`` returns).

    Attributes
    ----------
    endpoint : the kind's validated endpoint dataclass (``name``, ``kind``, ``test``, ``role``).
    alpha, sided : the level this endpoint is tested at (after a Bonferroni or Holm share).
    looks : ``planned_fractions`` and ``realised_fractions`` of the analyses.
    bounds, planned_bounds : :class:`simulator.endpoints.common.Bounds` at the realised / planned fractions.
    levels : further significance levels the same trials are analysed at (Holm).
    truth, prior : ``None`` when the config has no ``truth`` / ``prior`` table.
    effect_bins : bin edges of the true-effect histograms (natural effect scale).
    chunk_trials : optional class attribute, trials per chunk
        (:data:`simulator.engine.seeding.CHUNK_SIZE` when absent; plans that
        simulate every patient take ``PATIENT_CHUNK_SIZE``).
    """

    endpoint: Any
    alpha: float
    sided: int
    looks: Any
    bounds: Any
    planned_bounds: Any
    levels: tuple
    effect_bins: np.ndarray

    @property
    def truth(self) -> Any: ...

    @property
    def prior(self) -> Any: ...

    def prior_p_benefit(self) -> float | None:
        """Prior probability of benefit (the ceiling of assurance), ``None`` without a prior."""

    def run_chunk(self, rng: np.random.Generator, n_sims: int, stream: str) -> tuple[np.ndarray, dict]:
        """Simulate one chunk: per-trial success (levels x trials) and summable integer/float counts."""

    def describe(self) -> dict:
        """Kind-specific facts of the design for the report (sizes per arm, effect scale, ...)."""

    def expected_size(self, counts: dict) -> dict:
        """Report fields computed from the summed counts of one stream (expected sizes with MCSEs, ...)."""

    def side_results(self) -> dict:
        """Report fields from a documented side sample, computed once per scenario during the run."""

    def effect_bounds(self) -> dict:
        """``critical_effect`` and ``futility_effect`` per look, on the kind's effect scale."""

    def analytic(self, config: Config) -> dict:
        """Closed-form power and size for this endpoint (empty without a truth)."""

    def exact(self) -> dict:
        """Exact values (enumeration) where the kind has them, else empty."""


@runtime_checkable
class EndpointKind(Protocol):
    """What one endpoint kind provides to the rest of the package.

    Attributes
    ----------
    name : str
        The ``kind`` string of the config.
    tests : tuple of str
        The ``test`` values the kind accepts.
    sets_calendar : bool
        Whether the kind's looks are calendar times that other endpoints of
        a joint trial are read at (survival: yes).
    csv_columns : tuple of str
        Endpoint fields of report.json that results.csv gets as optional
        columns when some endpoint of the report has them.
    has_missing_outcomes : bool
        Whether ``trial.missing`` thins the kind's outcomes (binary,
        continuous: yes; survival follows every patient).
    """

    name: str
    tests: tuple[str, ...]
    sets_calendar: bool
    csv_columns: tuple[str, ...]
    has_missing_outcomes: bool

    def parse(self, name: str, table: Any, context: ParseContext) -> Any:
        """Validate one ``[endpoints.NAME]`` table into the kind's frozen endpoint dataclass."""

    def plan(self, config: Config, endpoint: Any, alpha: float | None, extra_levels: tuple) -> EndpointPlan:
        """Everything the kernels need for this endpoint in this scenario."""

    def size_axis(self, config: Config) -> Any:
        """The axis ``size`` searches for this kind (an object with the attributes of
        :class:`simulator.endpoints.common.PatientAxis`)."""

    def complete(self, raw: dict, scenarios: list, validate: Callable[[dict], Config]) -> tuple[list, dict]:
        """Fill values derived once for a whole run (survival: ``design.events``); returns
        the scenarios and what goes into ``meta``."""

    def figures(self, name: str, report: dict, scenarios: list) -> list:
        """The kind's figures of endpoint ``name`` as :class:`simulator.figures.FigureSpec` objects
        (``report``: the report.json content; ``scenarios``: the validated scenarios it came from)."""

    def check_in_joint(self, endpoint: Any, calendar: bool) -> None:
        """Raise InputError if the endpoint cannot be simulated per patient in a joint trial
        (``calendar``: read at another endpoint's calendar looks)."""


_KINDS: dict[str, EndpointKind] = {}


def register(kind: EndpointKind) -> EndpointKind:
    """Add a kind to the registry (once per kind name)."""
    if not isinstance(kind, EndpointKind):
        raise TypeError(f"{kind!r} does not implement the EndpointKind protocol")
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"endpoint kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def kind_names() -> tuple[str, ...]:
    """The registered kind names, in registration order."""
    return tuple(_KINDS)


def get_kind(name: Any, key: str = "kind") -> EndpointKind:
    """The kind called ``name``; an unknown name is an InputError naming ``key``, with a did-you-mean."""
    kind = _KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        listed = ", ".join(f'"{k}"' for k in _KINDS)
        close = difflib.get_close_matches(str(name), list(_KINDS), n=1, cutoff=0.6)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        raise InputError(f"config key `{key}`: must be one of {listed}{hint}, got {toml_value(name)}")
    return kind


def kind_of(endpoint: Any) -> EndpointKind:
    """The registered kind of a validated endpoint."""
    return _KINDS[endpoint.kind]
