"""``kind = "survival"``: the config table of a two-arm time-to-event endpoint.

:func:`parse` is the survival kind's part of the validation layer: it reads
one ``[endpoints.NAME]`` table with the readers of
:mod:`simulator.config.fields` into a frozen :class:`SurvivalEndpoint`.
docs/config.md lists the keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from simulator.config.fields import Table, as_bool, as_choice, as_float, fail, take_role, toml_value
from simulator.config.schema import MONTHS, ROLES, ParseContext
from simulator.design.survival import accrual_pieces
from simulator.stats import distributions as dist

#: The survival tests, by config name.
SURVIVAL_TESTS = ("logrank", "fleming_harrington", "maxcombo")

#: MaxCombo's components when ``weights`` is not given: FH(0,0), FH(0,1), FH(1,0), FH(1,1) (as simtrial's).
MAXCOMBO_DEFAULT = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
#: Most MaxCombo components (simulator.stats.maxcombo.MAX_COMPONENTS, the kernel's scratch size).
MAXCOMBO_MAX = 6


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
class NonProportional:
    """Non-proportional hazards of a survival truth (docs/survival_nph.md).

    ``hazard_ratio_times`` and ``hazard_ratios``: the experimental hazard is
    the control's times ``hazard_ratios[j]`` from ``hazard_ratio_times[j]``
    (first 0); both empty when ``truth.hazard_ratio`` is one number
    (proportional among the uncured). ``cured``: the cured fraction per arm
    (control, experimental), a mixture ``S(t) = cured + (1 - cured) S_u(t)``
    where ``S_u`` is the survival of the uncured (``truth.control``, and the
    hazard ratio applied to it).
    """

    hazard_ratio_times: tuple[float, ...] = ()
    hazard_ratios: tuple[float, ...] = ()
    cured: tuple[float, float] = (0.0, 0.0)

    @property
    def piecewise(self) -> bool:
        """Whether the hazard ratio changes over time."""
        return bool(self.hazard_ratios)


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

    #: Whether accrual is given as patients per month (:class:`RateAccrual`).
    is_rate = False

    def for_subjects(self, n_total: float) -> Accrual:
        """The accrual of ``n_total`` subjects (itself: its duration is given)."""
        return self


@dataclass(frozen=True)
class RateAccrual(Accrual):
    """Accrual as a rate (``accrual.rate``): ``per_month`` patients per month from each of ``starts``.

    The last piece is open-ended, so the end of accrual follows from the
    number of subjects: :meth:`for_subjects` gives the edges for
    ``trial.n_total`` (the parser leaves ``edges`` and ``rates`` empty; plans
    resolve them). A separate class so that the seed digest of configs with a
    given duration stays as it was.
    """

    starts: tuple[float, ...] = ()
    per_month: tuple[float, ...] = ()

    is_rate = True

    def for_subjects(self, n_total: float) -> RateAccrual:
        """The accrual of ``n_total`` subjects: the edges end when they have all entered."""
        edges, _ = accrual_pieces(times=list(self.starts), rates=list(self.per_month), n_subjects=float(n_total))
        return RateAccrual(tuple(float(e) for e in edges), self.per_month[: len(edges) - 1], self.starts, self.per_month)


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
    margin: float = 0.0  # non-inferiority hazard-ratio margin (H0: HR >= margin, > 1); 0 = none (superiority)
    max_follow_up: float = math.inf  # administrative censoring of each patient at this time from entry
    nph: NonProportional | None = None  # non-proportional hazards or cure fractions; None: proportional hazards
    weights: tuple[tuple[float, float], ...] = ()  # Fleming-Harrington (rho, gamma) per statistic; () log-rank
    stratified: bool = False  # stratified log-rank over the crossed [strata] (docs/strata.md)

    #: The [strata.NAME] multiplier this kind reads (config.validate).
    STRATA_KEY: ClassVar[str] = "hazard_multiplier"

    @property
    def null_hazard_ratio(self) -> float:
        """The hazard ratio under H0: the non-inferiority ``margin``, 1 for superiority."""
        return self.margin if self.margin > 0 else 1.0


POSITIVE = dict(allowed="> 0", check=lambda v: v > 0)

#: Ranges of survival inputs (docs/config.md states them): wide enough for
#: any trial, narrow enough that the arithmetic on them (hazards from
#: medians, cumulative hazards over the study, products with hazard ratios)
#: stays finite and well conditioned (``MONTHS``, shared with other keys, in simulator.config.schema).
HAZARD = (1e-6, 1e3)  # per month
RATIO = (1e-3, 1e3)  # hazard ratios (truth, prior, margin)
RATE = (1e-3, 1e7)  # patients per month
LOG_NORMAL = (1e-3, 1e4)  # a log-normal prior's interval (hazard ratio or median)
LOG_SD = 3.0  # the largest log-normal sd (a factor of e^3 = 20 per sd)


def _in_range(bounds: tuple[float, float], unit: str, low_open_zero: bool = False) -> dict:
    low, high = bounds
    if low_open_zero:  # 0 allowed (a time from entry, a rate of a piece)
        return dict(allowed=f"in [0, {high:g}] ({unit})", check=lambda v: 0 <= v <= high)
    return dict(allowed=f"in [{low:g}, {high:g}]" + (f" ({unit})" if unit else ""), check=lambda v: low <= v <= high)


def _positive(value: Any, key: str, bounds: tuple[float, float] = MONTHS, unit: str = "months") -> float:
    return as_float(value, key, **_in_range(bounds, unit))


def _number_list(value: Any, key: str, *, allowed: str, check) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise fail(key, f"must be a non-empty list of numbers {allowed}", value)
    return tuple(as_float(v, key, allowed=allowed, check=check) for v in value)


def _increasing_from_zero(times: tuple[float, ...], key: str) -> None:
    if times[0] != 0.0 or any(b <= a for a, b in zip(times, times[1:])):
        raise fail(key, "must start at 0 and increase strictly (the start of each piece)", list(times))


def _control(value: Any, key: str) -> ControlSurvival:
    t = Table(value, key)
    forms = [name for name in ("median", "hazard", "survival", "times") if t.has(name)]
    if len(forms) != 1:
        raise fail(
            key,
            "must be exactly one of { median = m }, { hazard = h }, { survival = s, at = t } "
            "or { times = [0, ...], hazards = [...] }",
            value,
        )
    form = forms[0]
    if form == "median":
        median = _positive(t.take("median"), f"{key}.median")
        times, hazards = (0.0,), (math.log(2.0) / median,)
    elif form == "hazard":
        times, hazards = (0.0,), (_positive(t.take("hazard"), f"{key}.hazard", HAZARD, "per month"),)
    elif form == "survival":
        survival = as_float(t.take("survival"), f"{key}.survival", allowed="in (0, 1)", check=lambda v: 0 < v < 1)
        if not t.has("at"):
            raise fail(f"{key}.at", "is required with `survival` (the landmark time, > 0)", show_value=False)
        at = _positive(t.take("at"), f"{key}.at")
        times, hazards = (0.0,), (-math.log(survival) / at,)
    else:
        times = _number_list(t.take("times"), f"{key}.times", **_in_range(MONTHS, "months", True))
        _increasing_from_zero(times, f"{key}.times")
        if not t.has("hazards"):
            raise fail(f"{key}.hazards", "is required with `times` (one hazard > 0 per piece)", show_value=False)
        hazards = _number_list(t.take("hazards"), f"{key}.hazards", **_in_range(HAZARD, "per month"))
        if len(hazards) != len(times):
            raise fail(f"{key}.hazards", f"must have one value per piece ({len(times)})", list(hazards))
        form = "pieces"
    t.finish()
    return ControlSurvival(times, hazards, form)


def _log_normal(value: Any, key: str) -> LogNormal:
    """{ lower, upper, level } (a confidence interval, ``estimate`` optional) or { log_mean, log_sd }.

    The interval is taken as symmetric on the log scale: its geometric
    midpoint sqrt(lower x upper) is the median and its width gives the sd.
    An ``estimate`` more than 1 % (relative) from that midpoint would imply
    another interval, so it is rejected; within 1 % (a rounded published
    interval) it is the median.
    """
    t = Table(value, key)
    if t.has("log_mean") or t.has("log_sd"):
        log_mean = as_float(
            t.require("log_mean", "the mean of the log (with `log_sd`)"), f"{key}.log_mean",
            allowed=f"in [{math.log(LOG_NORMAL[0]):.3f}, {math.log(LOG_NORMAL[1]):.3f}] (the log of the median)",
            check=lambda v: math.log(LOG_NORMAL[0]) <= v <= math.log(LOG_NORMAL[1]),
        )
        log_sd = as_float(
            t.require("log_sd", "the sd of the log, >= 0 (with `log_mean`)"), f"{key}.log_sd",
            allowed=f"in [0, {LOG_SD:g}]", check=lambda v: 0 <= v <= LOG_SD,
        )
    else:
        form = "{ lower, upper } (a confidence interval; `estimate` and `level` = 0.95 optional) or { log_mean, log_sd }"
        if not any(t.has(name) for name in ("lower", "upper", "estimate")):
            t.check_misspelt("lower", "upper", "log_mean", "log_sd", valid=("estimate", "level"))
            raise fail(key, f"must be {form}", value)
        lower = _positive(t.require("lower", form, valid=("estimate", "upper", "level")), f"{key}.lower", LOG_NORMAL, "")
        upper = _positive(t.require("upper", form, valid=("estimate", "level")), f"{key}.upper", LOG_NORMAL, "")
        level = as_float(t.take("level", 0.95), f"{key}.level", allowed="in (0, 1)", check=lambda v: 0 < v < 1)
        if not lower < upper:
            raise fail(key, "needs lower < upper", value)
        midpoint = math.sqrt(lower * upper)
        estimate = midpoint
        if t.has("estimate"):
            estimate = _positive(t.take("estimate"), f"{key}.estimate", LOG_NORMAL, "")
            if not lower < estimate < upper:
                raise fail(key, "needs lower < estimate < upper", value)
            if abs(estimate / midpoint - 1.0) > 0.01:
                spread = math.sqrt(upper / lower)
                raise fail(
                    f"{key}.estimate",
                    f"must be within 1 % of the geometric midpoint of {toml_value(lower)}-{toml_value(upper)}, "
                    f"sqrt(lower x upper) = {midpoint:.4g} (the prior is symmetric on the log scale; this estimate "
                    f"with this width implies {estimate / spread:.2f}-{estimate * spread:.2f}); "
                    "leave `estimate` out to use the midpoint",
                    estimate,
                )
        log_mean = math.log(estimate)
        z = float(dist.norm.isf((1.0 - level) / 2.0))  # 0 for a level below about 1e-16
        log_sd = (math.log(upper) - math.log(lower)) / (2.0 * z) if z > 0.0 else math.inf
        if log_sd > LOG_SD:
            if (math.log(upper) - math.log(lower)) / (2.0 * float(dist.norm.isf(0.025))) <= LOG_SD:
                # A review: level = 1e-17 called the interval 0.5-0.9 too wide (sd inf), beside a numpy warning.
                raise fail(f"{key}.level", f"is too small for the interval {toml_value(lower)}-{toml_value(upper)}: "
                                          f"as a {level:g} interval its log-scale sd would be {log_sd:.3g}, above "
                                          f"{LOG_SD:g}; give the interval's confidence level (0.95 by default)",
                           level)
            raise fail(key, f"is too wide: its log-scale sd {log_sd:.2f} exceeds {LOG_SD:g} (a factor of "
                            f"{math.exp(LOG_SD):.0f} per sd)", value)
    t.finish()
    return LogNormal(log_mean, log_sd)


def _accrual(value: Any, key: str) -> Accrual:
    t = Table(value, key)
    forms = [name for name in ("duration", "rates", "rate") if t.has(name)]
    if len(forms) > 1:
        raise fail(
            key, "needs exactly one of `duration`, `rates` (relative, with `times` as edges) or `rate` "
            f"(patients per month), not {' and '.join(f'`{f}`' for f in forms)} together", value,
        )
    if t.has("rate"):
        return _accrual_rate(t, key)
    if t.has("duration"):
        duration = _positive(t.take("duration"), f"{key}.duration")
        if t.has("times"):  # (asked, so that a misspelt `times` gets its did-you-mean)
            raise fail(f"{key}.times", "goes with `rates` or `rate`, not with `duration` (uniform accrual)",
                       t.take("times"))
        t.finish()
        return Accrual((0.0, duration), (1.0,))
    if not (t.has("times") and t.has("rates")):
        raise fail(
            key, "needs `duration` (uniform), `times` (edges, from 0) with `rates` (one per piece), "
            "or `rate` (patients per month)", value,
        )
    times = _number_list(t.take("times"), f"{key}.times", **_in_range(MONTHS, "months", True))
    _increasing_from_zero(times, f"{key}.times")
    rates = _number_list(t.take("rates"), f"{key}.rates", **_in_range(RATE, "relative rates", True))
    if len(times) != len(rates) + 1:
        raise fail(f"{key}.times", f"must be the {len(rates) + 1} edges of the {len(rates)} pieces of `rates`", list(times))
    if sum(rates) <= 0:
        raise fail(f"{key}.rates", "must not all be 0", list(rates))
    t.finish()
    return Accrual(times, rates)


def _accrual_rate(t: Table, key: str) -> Accrual:
    """``rate = r`` (patients per month from 0) or ``times = [0, ...]`` (starts) with ``rate = [...]``."""
    rate = t.take("rate")
    if isinstance(rate, list):
        rates = _number_list(rate, f"{key}.rate", **_in_range(RATE, "patients per month", True))
        if not t.has("times"):
            raise fail(f"{key}.times", "is required with a list `rate`: the start of each piece, from 0", show_value=False)
    else:
        rates = (as_float(rate, f"{key}.rate", **_in_range(RATE, "patients per month")),)
    starts = (0.0,)
    if t.has("times"):
        starts = _number_list(t.take("times"), f"{key}.times", **_in_range(MONTHS, "months", True))
        _increasing_from_zero(starts, f"{key}.times")
    if len(starts) != len(rates):
        raise fail(
            f"{key}.times", f"must be the {len(rates)} start(s) of the pieces of `rate` (the last piece is open-ended)",
            list(starts),
        )
    if rates[-1] <= 0:
        raise fail(f"{key}.rate", "must be > 0 in the last, open-ended piece (else accrual never ends)", list(rates))
    t.finish()
    return RateAccrual((), (), starts, rates)


def _dropout(value: Any, key: str, arms: tuple[str, str]):
    t = Table(value, key)
    probability = t.take("probability", 0.0)
    if isinstance(probability, dict):
        pt = Table(probability, f"{key}.probability")
        values = []
        for arm in arms:
            # Both arms: a forgotten arm taken as no dropout would flatter that arm's follow-up.
            given = pt.require(arm, f"a probability in [0, 1) for each arm ({', '.join(arms)}), or one number for both")
            values.append(as_float(given, f"{key}.probability.{arm}", allowed="in [0, 1)", check=lambda v: 0 <= v < 1))
        pt.finish()
    else:
        value = as_float(probability, f"{key}.probability", allowed="in [0, 1)", check=lambda v: 0 <= v < 1)
        values = [value, value]
    at = _positive(t.take("at", 12.0), f"{key}.at")
    t.finish()
    hazards = tuple(-math.log1p(-p) / at for p in values)
    return hazards, (values[0], values[1], at)


def parse(name: str, data: Any, context: ParseContext) -> SurvivalEndpoint:
    """Validate one ``[endpoints.NAME]`` table with ``kind = "survival"``."""
    path = f"endpoints.{name}"
    t = Table(data, path)
    t.take("label")  # display text, read by config.validate: allowed here
    kind = t.take("kind")
    test = as_choice(t.take("test", "logrank"), f"{path}.test", SURVIVAL_TESTS)
    weights = _weights(t.take("weights"), f"{path}.weights", test)
    if t.has("better") and t.take("better") != "lower":
        raise fail(f"{path}.better", 'must be "lower" (a hazard ratio below 1 is favourable) or absent', data.get("better"))
    margin = 0.0
    if t.has("margin"):
        margin = as_float(
            t.take("margin"), f"{path}.margin",
            allowed=f"in (1, {RATIO[1]:g}] (a hazard ratio; H0: HR >= margin, as a hazard ratio below 1 is favourable)",
            check=lambda v: 1 < v <= RATIO[1],
        )
        if context.sided != 1:
            raise fail(f"{path}.margin", "a margin needs design.sided = 1 (non-inferiority is one-sided)", margin)
        if test != "logrank":
            raise fail(
                f"{path}.margin", 'a margin needs test = "logrank" (the weighted tests have no hazard-ratio scale)', margin
            )
    role = take_role(t, margin, ROLES)
    if not t.has("truth"):
        raise fail(f"{path}.truth", "is required: the control survival (and the hazard ratio, for power)", show_value=False)
    tt = Table(t.take("truth"), f"{path}.truth")
    if not tt.has("control"):
        raise fail(f"{path}.truth.control", "is required: { median = m } | { hazard = h } | { survival = s, at = t } | { times, hazards }", show_value=False)
    control = _control(tt.take("control"), f"{path}.truth.control")
    hazard_ratio, nph = _hazard_ratio(tt, f"{path}.truth", context.arms)
    tt.finish()
    prior = None
    if t.has("prior"):
        pt = Table(t.take("prior"), f"{path}.prior")
        if not pt.has("hazard_ratio"):
            raise fail(f"{path}.prior.hazard_ratio", "is required in a survival prior", show_value=False)
        hr_prior = _log_normal(pt.take("hazard_ratio"), f"{path}.prior.hazard_ratio")
        median_prior = None
        if pt.has("control_median"):
            median_prior = _log_normal(pt.take("control_median"), f"{path}.prior.control_median")
        pt.finish()
        prior = SurvivalPrior(hr_prior, median_prior)
        if nph is not None and nph.piecewise:
            raise fail(
                f"{path}.prior.hazard_ratio",
                "cannot be combined with a piecewise truth.hazard_ratio (a prior is on one hazard ratio, "
                "proportional hazards; give truth.hazard_ratio as one number, or no prior)", show_value=False,
            )
    if hazard_ratio is None and prior is None and nph is None:
        raise fail(f"{path}.truth.hazard_ratio", "is required unless a `prior` is given", show_value=False)
    if not t.has("accrual"):
        raise fail(
            f"{path}.accrual", "is required: { duration = months }, { times = [...], rates = [...] } or { rate = per month }",
            show_value=False,
        )
    accrual = _accrual(t.take("accrual"), f"{path}.accrual")
    dropout, dropout_spec = _dropout(t.take("dropout", {}), f"{path}.dropout", context.arms)
    ft = Table(t.take("follow_up", {}), f"{path}.follow_up")
    follow_up = as_float(ft.take("minimum", 0.0), f"{path}.follow_up.minimum", **_in_range(MONTHS, "months", True))
    max_follow_up = math.inf
    if ft.has("maximum"):
        max_follow_up = as_float(
            ft.take("maximum"), f"{path}.follow_up.maximum", **_in_range(MONTHS, "months from each patient's entry"),
        )
    ft.finish()
    stratified = as_bool(t.take("stratified", False), f"{path}.stratified")
    if stratified and test != "logrank":
        raise fail(f"{path}.stratified", 'needs test = "logrank" (the stratified weighted tests are not '
                   "implemented)", True)
    t.finish()
    return SurvivalEndpoint(
        name, kind, test, role, SurvivalTruth(control, hazard_ratio), prior, accrual, dropout, dropout_spec, follow_up,
        margin=margin, max_follow_up=max_follow_up, nph=nph, weights=weights, stratified=stratified,
    )


def _hazard_ratio(tt: Table, key: str, arms: tuple[str, str]):
    """``truth.hazard_ratio`` (a number, or a list with ``hazard_ratio_times``) and ``truth.cured``.

    Returns ``(hazard_ratio, nph)``: the one hazard ratio (None for a
    piecewise one, or when absent) and the :class:`NonProportional` part
    (None under proportional hazards without cure).
    """
    value = tt.take("hazard_ratio")
    times = tt.take("hazard_ratio_times")
    pieces: tuple[float, ...] = ()
    starts: tuple[float, ...] = ()
    if isinstance(value, list):
        ratios = _number_list(value, f"{key}.hazard_ratio", **_in_range(RATIO, "hazard ratios"))
        if times is None:
            raise fail(
                f"{key}.hazard_ratio_times", "is required with a list truth.hazard_ratio: the start of each piece "
                "(months from entry, from 0)", show_value=False,
            )
        starts = _number_list(times, f"{key}.hazard_ratio_times", **_in_range(MONTHS, "months from entry", True))
        _increasing_from_zero(starts, f"{key}.hazard_ratio_times")
        if len(starts) != len(ratios):
            raise fail(f"{key}.hazard_ratio_times", f"must have one start per hazard ratio ({len(ratios)})", list(starts))
        if len(set(ratios)) == 1:
            value = ratios[0]  # one ratio throughout: proportional hazards
        else:
            value, pieces = None, ratios
    elif times is not None:
        raise fail(f"{key}.hazard_ratio_times", "needs truth.hazard_ratio as a list (one ratio per piece)", times)
    elif value is not None:
        value = _positive(value, f"{key}.hazard_ratio", RATIO, "a hazard ratio")
    cured = (0.0, 0.0)
    if tt.has("cured"):
        ct = Table(tt.take("cured"), f"{key}.cured")
        cured = tuple(
            as_float(ct.take(arm, 0.0), f"{key}.cured.{arm}", allowed="in [0, 1) (the long-term survivors)",
                     check=lambda v: 0 <= v < 1)
            for arm in arms
        )
        ct.finish()
    if not pieces and cured == (0.0, 0.0):
        return value, None
    return value, NonProportional(starts if pieces else (), pieces, cured)


def _weights(value: Any, key: str, test: str) -> tuple[tuple[float, float], ...]:
    """``weights``: ``{ rho, gamma }`` for fleming_harrington; a list of them for maxcombo (default the four)."""
    if test == "logrank":
        # Checked in either form and ignored, so that a sweep over `test` can carry the weights of its
        # weighted tests (config.load refuses weights that no scenario's test uses).
        if isinstance(value, list):
            for i, v in enumerate(value):
                _rho_gamma(v, f"{key}[{i}]")
        elif value is not None:
            _rho_gamma(value, key)
        return ()
    if test == "fleming_harrington":
        if not isinstance(value, dict):
            raise fail(key, f'is required with test = "fleming_harrington": {{ rho = r, gamma = g }} (both in [0, {FH_MAX:g}])',
                       value)
        return (_rho_gamma(value, key),)
    if value is None or value == []:  # [] is no weights (docs/config.md): MaxCombo's default components
        return MAXCOMBO_DEFAULT
    if not isinstance(value, list) or not 2 <= len(value) <= MAXCOMBO_MAX:
        raise fail(
            key, f"must list 2 to {MAXCOMBO_MAX} components {{ rho, gamma }} for MaxCombo (the maximum of one "
            "statistic is that statistic: use fleming_harrington)", value,
        )
    out = tuple(_rho_gamma(v, f"{key}[{i}]") for i, v in enumerate(value))
    if len(set(out)) != len(out):
        raise fail(key, "must not repeat a component", value)
    return out


#: Largest Fleming-Harrington exponent rho or gamma (FH(0, 1) and FH(1, 0) are the usual ones): the weights
#: S^rho (1 - S)^gamma of larger exponents underflow in the variance (NaN).
FH_MAX = 10.0


def _rho_gamma(value: Any, key: str) -> tuple[float, float]:
    """One ``{ rho, gamma }``: both required (a missing one must not silently be 0: ``{}`` is the log-rank)."""
    t = Table(value, key)
    rho = as_float(t.require("rho", f"a number in [0, {FH_MAX:g}] (with gamma: {{ rho = r, gamma = g }})", valid=("gamma",)),
                   f"{key}.rho", allowed=f"in [0, {FH_MAX:g}]", check=lambda v: 0 <= v <= FH_MAX)
    gamma = as_float(t.require("gamma", f"a number in [0, {FH_MAX:g}] (with rho: {{ rho = r, gamma = g }})"), f"{key}.gamma",
                     allowed=f"in [0, {FH_MAX:g}]", check=lambda v: 0 <= v <= FH_MAX)
    t.finish()
    return rho, gamma
