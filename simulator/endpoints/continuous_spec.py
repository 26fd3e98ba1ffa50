"""``kind = "continuous"``: the config table of a two-arm endpoint compared by its means.

:func:`parse` is the continuous kind's part of the validation layer: it reads
one ``[endpoints.NAME]`` table with the readers of
:mod:`simulator.config.fields` into a frozen :class:`ContinuousEndpoint`.
docs/config.md lists the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.config.fields import (
    Table,
    as_choice,
    as_float,
    fail,
    take_better,
    take_delay,
    take_robust_weight,
    take_role,
)
from simulator.config.schema import ROLES, ParseContext

#: The tests of a difference of means, by config name.
CONTINUOUS_TESTS = ("t", "welch", "z")
#: Prior models (docs/config.md).
PRIOR_MODELS = ("normal", "nig")
#: The fewest degrees of freedom of a ``nig`` prior's variance: a chi-square draw on nu df falls below
#: 1e-300 (a variance beyond double precision) with probability about 10^(-150 nu), 1e-15 at 0.1.
MIN_NIG_DF = 0.1


@dataclass(frozen=True)
class ArmNormal:
    """Mean and standard deviation of the outcome in one arm."""

    mean: float
    sd: float


@dataclass(frozen=True)
class ArmSample:
    """Phase 2 data of one arm: mean, standard deviation and patients."""

    mean: float
    sd: float
    n: float


@dataclass(frozen=True)
class ContinuousPrior:
    """``[endpoints.NAME.prior]`` of a continuous endpoint (natural scale)."""

    control: ArmSample
    experimental: ArmSample
    model: str
    discount: float
    robust_weight: float


@dataclass(frozen=True)
class ContinuousEndpoint:
    """A two-arm continuous endpoint and the test that compares its means."""

    name: str
    kind: str
    better: str
    test: str
    margin: float
    role: str
    rho: float
    truth: tuple[ArmNormal, ArmNormal] | None
    prior: ContinuousPrior | None
    delay: float = 0.0


#: The largest magnitude of a mean, an sd or a margin, in the outcome's units
#: (docs/config.md): variances and sums of squares of such values stay finite.
SCALE = 1e9


def _positive(value: Any, key: str) -> float:
    return as_float(value, key, allowed=f"in [{1 / SCALE:g}, {SCALE:g}]", check=lambda v: 1 / SCALE <= v <= SCALE)


def _finite(value: Any, key: str) -> float:
    return as_float(value, key, allowed=f"in [-{SCALE:g}, {SCALE:g}]", check=lambda v: abs(v) <= SCALE)


def _truth(data: Any, path: str, arms: tuple[str, str]) -> tuple[ArmNormal, ArmNormal]:
    t = Table(data, path)
    common = _positive(t.take("sd"), f"{path}.sd") if t.has("sd") else None
    out = []
    for arm in arms:
        key = f"{path}.{arm}"
        at = Table(t.require(arm, "{ mean = m } (with a common `sd`) or { mean = m, sd = s }", valid=("sd",) + arms), key)
        mean = _finite(at.require("mean", "the true mean of the outcome in this arm", valid=("sd",)), f"{key}.mean")
        if at.has("sd"):
            sd = _positive(at.take("sd"), f"{key}.sd")
        elif common is not None:
            sd = common
        else:
            raise fail(f"{key}.sd", f"is required unless a common `{path}.sd` is given", show_value=False)
        at.finish()
        out.append(ArmNormal(mean, sd))
    t.finish()
    return out[0], out[1]


def _sample(data: Any, key: str) -> ArmSample:
    t = Table(data, key)
    for name in ("mean", "sd", "n"):
        if not t.has(name):
            raise fail(key, "must be { mean = m, sd = s, n = n } with the phase 2 results of the arm", data)
    mean = _finite(t.take("mean"), f"{key}.mean")
    sd = _positive(t.take("sd"), f"{key}.sd")
    n = as_float(t.take("n"), f"{key}.n", allowed="in [2, 1e7]", check=lambda v: 2 <= v <= 1e7)
    t.finish()
    return ArmSample(mean, sd, n)


def _prior(data: Any, path: str, arms: tuple[str, str]) -> ContinuousPrior:
    t = Table(data, path)
    samples = []
    for arm in arms:
        value = t.require(arm, "{ mean, sd, n } from phase 2", valid=arms + ("model", "discount", "robust_weight"))
        samples.append(_sample(value, f"{path}.{arm}"))
    model = as_choice(t.take("model", "normal"), f"{path}.model", PRIOR_MODELS)
    discount = as_float(t.take("discount", 1.0), f"{path}.discount", allowed="in (0, 1]", check=lambda v: 0 < v <= 1)
    robust = take_robust_weight(t)
    t.finish()
    if model == "nig":
        for arm, sample in zip(arms, samples):
            df = discount * (sample.n - 1.0)
            if df < MIN_NIG_DF:
                # A review: at 0.01 df a chi-square draw underflows to 0 in 5.6 % of trials, whose variance is then
                # infinite and whose statistic not a number (counted as failures: assurance 0.41 for 0.43).
                raise fail(f"{path}.discount", f"with model = \"nig\", discount * (n - 1) is the variance's degrees "
                           f"of freedom and must be at least {MIN_NIG_DF:g} in each arm (fewer draw variances beyond "
                           f"double precision); {arm}: {discount:g} * ({sample.n:g} - 1) = {df:.4g}", discount)
    return ContinuousPrior(samples[0], samples[1], model, discount, robust)


def parse(name: str, data: Any, context: ParseContext) -> ContinuousEndpoint:
    """Validate one ``[endpoints.NAME]`` table with ``kind = "continuous"``.

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
    test = as_choice(t.take("test", "t"), f"{path}.test", CONTINUOUS_TESTS)
    margin = as_float(
        t.take("margin", 0.0), f"{path}.margin",
        allowed=f"in [0, {SCALE:g}] (the non-inferiority margin, in the favourable direction, on the mean scale)",
        check=lambda v: 0 <= v <= SCALE,
    )
    if margin > 0 and context.sided != 1:
        raise fail(f"{path}.margin", "a margin > 0 needs design.sided = 1 (non-inferiority is one-sided)", margin)
    role = take_role(t, margin, ROLES)
    rho = as_float(t.take("rho", 0.0), f"{path}.rho", allowed="in (-1, 1) (baseline correlation, ANCOVA)",
                   check=lambda v: -1 < v < 1)
    delay = take_delay(t)
    truth = _truth(t.take("truth"), f"{path}.truth", context.arms) if t.has("truth") else None
    prior = _prior(t.take("prior"), f"{path}.prior", context.arms) if t.has("prior") else None
    if truth is None and prior is None:
        raise fail(path, "needs a `truth` table (for power) or a `prior` table (for assurance), or both", show_value=False)
    t.finish()
    return ContinuousEndpoint(name, kind, better, test, margin, role, rho, truth, prior, delay)
