"""``kind = "binary"``: the config table of a two-arm binary endpoint.

:func:`parse` is the binary kind's part of the validation layer: it reads
one ``[endpoints.NAME]`` table with the readers of
:mod:`simulator.config.fields` into a frozen :class:`BinaryEndpoint`, so that
every later layer can trust its values. docs/config.md lists the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from simulator.config.fields import (
    Table,
    as_bool,
    as_choice,
    as_float,
    as_rate,
    fail,
    take_better,
    take_delay,
    take_robust_weight,
    take_role,
)
from simulator.config.schema import ROLES, ParseContext
from simulator.priors import ArmCounts
from simulator.stats.binary import TEST_CODES

#: The binary tests, by config name (the codes live in :mod:`simulator.stats.binary`).
BINARY_TESTS = tuple(TEST_CODES)


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
    stratified: bool = False  # Cochran-Mantel-Haenszel test over the crossed [strata] (docs/strata.md)

    #: The [strata.NAME] multiplier this kind reads (config.validate).
    STRATA_KEY: ClassVar[str] = "odds_multiplier"


#: Keys that may sit beside the arm names in a truth or prior table (never taken for a misspelt arm).
_BESIDE_ARMS = ("base", "discount", "robust_weight")


def arm_table(data: Any, key: str, arms: tuple[str, str], reader) -> tuple[Table, list]:
    """Read one value per arm (keys = the arm names) from a table."""
    t = Table(data, key)
    values = []
    for arm in arms:
        # A misspelt arm name is reported as an unknown key with its did-you-mean (Table.require).
        value = t.require(arm, f"one entry per arm: {arms[0]}, {arms[1]}", valid=_BESIDE_ARMS)
        values.append(reader(value, f"{key}.{arm}"))
    return t, values


def _counts(value: Any, key: str) -> ArmCounts:
    t = Table(value, key)
    if not (t.has("events") and t.has("n")):
        raise fail(key, "must be { events = x, n = n } with phase 2 counts", value)
    n = as_float(t.take("n"), f"{key}.n", allowed="in (0, 1e7]", check=lambda v: 0 < v <= 1e7)
    events = as_float(t.take("events"), f"{key}.events", allowed=f"in [0, n = {n:g}]", check=lambda v: 0 <= v <= n)
    t.finish()
    return ArmCounts(events=events, n=n)


def _prior(data: Any, path: str, arms: tuple[str, str]) -> BinaryPrior:
    pt, (control, experimental) = arm_table(data, path, arms, _counts)
    base = pt.take("base", [1.0, 1.0])
    if not isinstance(base, list) or len(base) != 2:
        raise fail(f"{path}.base", "must be [a, b], two positive numbers (Beta(a, b))", base)
    # Below 0.001 a Beta puts nearly all its mass at 0 and 1, and samplers slow down without bound
    # (Beta(1e-10, 1e-10) never returns); above 1e6 it is a point mass, better written as a truth.
    a, b = (as_float(v, f"{path}.base", allowed="in [0.001, 1e6] (Beta(a, b) parameters)",
                     check=lambda v: 1e-3 <= v <= 1e6) for v in base)
    discount = as_float(pt.take("discount", 1.0), f"{path}.discount", allowed="in [0, 1]", check=lambda v: 0 <= v <= 1)
    robust = take_robust_weight(pt)
    pt.finish()
    return BinaryPrior(control, experimental, (a, b), discount, robust)


def parse(name: str, data: Any, context: ParseContext) -> BinaryEndpoint:
    """Validate one ``[endpoints.NAME]`` table with ``kind = "binary"``.

    Raises
    ------
    InputError
        Naming the first offending key and what is allowed.
    """
    path = f"endpoints.{name}"
    t = Table(data, path)
    t.take("label")  # display text, read by config.validate: allowed here
    kind = t.take("kind")
    better = take_better(t)
    test = as_choice(t.take("test", "z_pooled"), f"{path}.test", BINARY_TESTS)
    margin = as_float(t.take("margin", 0.0), f"{path}.margin", allowed="in [0, 1)", check=lambda v: 0 <= v < 1)
    if margin > 0 and test != "farrington_manning":
        raise fail(f"{path}.margin", 'a margin > 0 needs test = "farrington_manning"', margin)
    if margin > 0 and context.sided != 1:
        raise fail(f"{path}.margin", "a margin > 0 needs design.sided = 1 (non-inferiority is one-sided)", margin)
    role = take_role(t, margin, ROLES)
    delay = take_delay(t)
    truth = None
    if t.has("truth"):
        tt, (control, experimental) = arm_table(t.take("truth"), f"{path}.truth", context.arms, as_rate)
        tt.finish()
        truth = BinaryTruth(control=control, experimental=experimental)
    prior = _prior(t.take("prior"), f"{path}.prior", context.arms) if t.has("prior") else None
    if truth is None and prior is None:
        raise fail(path, "needs a `truth` table (for power) or a `prior` table (for assurance), or both", show_value=False)
    stratified = as_bool(t.take("stratified", False), f"{path}.stratified")
    if stratified and margin > 0:
        raise fail(f"{path}.stratified", "cannot be true with a margin (the Cochran-Mantel-Haenszel test is of "
                   "a common odds ratio of 1)", True)
    t.finish()
    if margin > 0:
        _check_null_boundary(path, better, margin, truth, prior)
    return BinaryEndpoint(name, kind, better, test, margin, role, truth, prior, delay, stratified)


def _check_null_boundary(path: str, better: str, margin: float, truth, prior) -> None:
    """The non-inferiority null (experimental = control - margin, in the favourable direction) must be a rate.

    Beyond it the null boundary would be clamped to 0 (or 1) and the type I
    error simulated inside the alternative. The control rate is the truth's,
    else the prior mean.
    """
    if truth is not None:
        control, source = truth.control, "truth.control"
    else:
        from simulator.priors import binary_priors

        control, source = binary_priors(prior)[0].mean(), "the prior mean of the control rate"
    oriented = control if better == "higher" else 1.0 - control
    if oriented - margin <= 0.0:
        boundary = "below 0" if better == "higher" else "above 1"
        raise fail(
            f"{path}.margin",
            f"must be below the control rate's distance from {'0' if better == 'higher' else '1'} "
            f"({oriented:g}, from {source}): the null boundary (experimental = control "
            f"{'-' if better == 'higher' else '+'} margin) would lie {boundary}",
            margin,
        )
