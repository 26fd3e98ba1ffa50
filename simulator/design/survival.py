"""Analytic sizing of time-to-event trials: events, subjects and timing.

Everything here is deterministic (no random numbers) and follows the approach of
rpact's ``getSampleSizeSurvival`` with ``accrualTime`` and ``followUpTime`` given:

1. The number of events comes from Schoenfeld's formula, multiplied by a
   group-sequential inflation factor where there are interim looks.
2. The probability that a subject has an *event* (not a dropout) by calendar
   time ``T`` is averaged over the accrual distribution and over the arms
   (weighted by the allocation); event and dropout hazards compete.
3. The number of subjects is events / that probability at the end of accrual
   plus the minimum follow-up; interim analysis times solve
   ``expected events(T) = planned events``.

Conventions used throughout (shared with :mod:`simulator.engine.survival`):

* arms are control (c) and experimental (e); ``allocation = (control,
  experimental)``; ``r = experimental / control``;
* the hazard ratio is experimental / control, below 1 is favourable;
* piecewise-constant hazards are ``times = [0, t1, t2, ...]`` (start of each
  piece, the first 0, the last piece open-ended) and ``hazards = [h1, h2, ...]``;
* accrual is a pair ``(edges, density)``: ``edges = [0, a1, ..., end]`` and a
  piecewise-constant density on ``[edges[i], edges[i+1])`` that integrates to 1
  (see :func:`accrual_pieces`);
* dropout is exponential per arm, ``dropout = (hazard_c, hazard_e)`` (see
  :func:`dropout_hazard`).

The closed forms below integrate the sub-distribution function of an event
exactly, piece by piece, so no numerical quadrature is involved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from simulator.errors import InputError
from simulator.stats import distributions as dist

__all__ = [
    "control_median",
    "SurvivalSize",
    "accrual_pieces",
    "dropout_hazard",
    "entered_fraction",
    "event_fraction",
    "event_probability",
    "expected_events",
    "hazards_from",
    "schoenfeld_events",
    "schoenfeld_power",
    "subjects_at_rate",
    "subjects_for_events",
    "survival_sample_size",
    "time_for_events",
]

LN2 = float(np.log(2.0))


# --------------------------------------------------------------------------
# Converting user-facing descriptions into (times, hazards) and rates
# --------------------------------------------------------------------------


def _check_pieces(times, hazards, name="times", what="hazards"):
    """Validate a piecewise-constant description; return float arrays."""
    times = np.atleast_1d(np.asarray(times, dtype=float))
    values = np.atleast_1d(np.asarray(hazards, dtype=float))
    if times.ndim != 1 or values.ndim != 1 or times.size != values.size:
        raise InputError(
            f"`{name}` and `{what}` must be 1-d of the same length, "
            f"got {times.size} and {values.size}"
        )
    if times.size == 0 or times[0] != 0.0:
        raise InputError(f"`{name}` must start at 0 (the start of each piece)")
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise InputError(f"`{name}` must be finite and strictly increasing")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InputError(f"`{what}` must be finite and >= 0")
    return times, values


def hazards_from(*, median=None, hazard=None, survival=None, at=None,
                 times=None, hazards=None):
    """Turn one description of control survival into ``(times, hazards)``.

    Exactly one of the following must be given:

    * ``median``: constant hazard ``ln 2 / median``;
    * ``hazard``: a constant hazard;
    * ``survival`` and ``at``: survival probability ``s`` at time ``t``,
      constant hazard ``-ln(s) / t``;
    * ``times`` and ``hazards``: piecewise-constant hazards starting at
      ``times`` (first 0).

    Parameters
    ----------
    median, hazard, survival, at : float, optional
        See above. ``median > 0``, ``hazard >= 0``, ``0 < survival < 1``,
        ``at > 0``.
    times, hazards : array_like, optional
        Piecewise description; ``times`` strictly increasing from 0,
        ``hazards >= 0``.

    Returns
    -------
    times, hazards : ndarray
        Float arrays of the same length; ``times[0] == 0``.

    Raises
    ------
    InputError
        If not exactly one description is given or a value is out of range.

    Examples
    --------
    >>> t, h = hazards_from(median=30.0)
    >>> round(float(h[0]), 6)
    0.023105
    >>> hazards_from(survival=0.5, at=36.0)[1].round(6).tolist()
    [0.019254]
    """
    given = {
        "median": median is not None,
        "hazard": hazard is not None,
        "survival": survival is not None or at is not None,
        "times": times is not None or hazards is not None,
    }
    if sum(given.values()) != 1:
        raise InputError(
            "give exactly one of `median`, `hazard`, `survival` with `at`, "
            "or `times` with `hazards`"
        )
    if median is not None:
        median = float(median)
        if not (np.isfinite(median) and median > 0):
            raise InputError(f"`median` must be > 0, got {median}")
        return np.zeros(1), np.array([LN2 / median])
    if hazard is not None:
        hazard = float(hazard)
        if not (np.isfinite(hazard) and hazard >= 0):
            raise InputError(f"`hazard` must be >= 0, got {hazard}")
        return np.zeros(1), np.array([hazard])
    if given["survival"]:
        if survival is None or at is None:
            raise InputError("`survival` needs `at` (and `at` needs `survival`)")
        survival, at = float(survival), float(at)
        if not 0.0 < survival < 1.0:
            raise InputError(f"`survival` must be in (0, 1), got {survival}")
        if not (np.isfinite(at) and at > 0):
            raise InputError(f"`at` must be > 0, got {at}")
        return np.zeros(1), np.array([-np.log(survival) / at])
    if times is None or hazards is None:
        raise InputError("`times` needs `hazards` (and `hazards` needs `times`)")
    return _check_pieces(times, hazards)


def dropout_hazard(probability, at):
    """Exponential dropout hazard that loses ``probability`` by time ``at``.

    ``-ln(1 - probability) / at``, as rpact's ``dropoutRate`` / ``dropoutTime``.

    Parameters
    ----------
    probability : float
        Probability of dropping out by ``at``, in ``[0, 1)``.
    at : float
        Time ``> 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(dropout_hazard(0.05, 12.0), 8)
    0.00427444
    """
    probability, at = float(probability), float(at)
    if not 0.0 <= probability < 1.0:
        raise InputError(f"`probability` must be in [0, 1), got {probability}")
    if not (np.isfinite(at) and at > 0):
        raise InputError(f"`at` must be > 0, got {at}")
    return float(-np.log1p(-probability) / at)


def accrual_pieces(*, duration=None, times=None, rates=None, n_subjects=None):
    """Accrual as ``(edges, density)``: piecewise-constant entry density.

    Three forms, as rpact's ``accrualTime`` / ``accrualIntensity``:

    * ``duration``: uniform accrual on ``[0, duration]``;
    * ``times`` of length ``len(rates) + 1`` (``[0, ..., end]``): the pieces'
      edges, ``rates`` relative intensities (only their shape matters);
    * ``times`` of length ``len(rates)`` (the start of each piece, first 0):
      ``rates`` are absolute subjects per time unit, the last piece is
      open-ended and accrual ends when ``n_subjects`` have entered.

    Parameters
    ----------
    duration : float, optional
    times, rates : array_like, optional
    n_subjects : float, optional
        Needed only for the open-ended form.

    Returns
    -------
    edges : ndarray
        ``[0, ..., end of accrual]``.
    density : ndarray
        Entry density per piece; ``sum(density * diff(edges)) == 1``.

    Examples
    --------
    >>> accrual_pieces(duration=36.0)
    (array([ 0., 36.]), array([0.02777778]))
    >>> accrual_pieces(times=[0, 6], rates=[10, 20], n_subjects=300)[0].tolist()
    [0.0, 6.0, 18.0]
    """
    if (duration is None) == (times is None and rates is None):
        raise InputError("give accrual as `duration` or as `times` with `rates`")
    if duration is not None:
        duration = float(duration)
        if not (np.isfinite(duration) and duration > 0):
            raise InputError(f"`duration` must be > 0, got {duration}")
        return np.array([0.0, duration]), np.array([1.0 / duration])
    if times is None or rates is None:
        raise InputError("accrual `times` needs `rates` (and `rates` needs `times`)")
    times = np.atleast_1d(np.asarray(times, dtype=float))
    rates = np.atleast_1d(np.asarray(rates, dtype=float))
    if rates.ndim != 1 or rates.size == 0:
        raise InputError("accrual `rates` must be a non-empty list")
    if not np.all(np.isfinite(rates)) or np.any(rates < 0) or rates.sum() <= 0:
        raise InputError("accrual `rates` must be >= 0 and not all 0")
    if times.size == rates.size + 1:
        edges = times
    elif times.size == rates.size:
        edges = _open_ended_edges(times, rates, n_subjects)
        rates = rates[: edges.size - 1]  # pieces after the end are never reached
    else:
        raise InputError(
            "accrual `times` must have len(rates) + 1 entries (edges) or "
            f"len(rates) entries (starts); got {times.size} and {rates.size}"
        )
    if edges[0] != 0.0 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise InputError("accrual `times` must start at 0 and increase strictly")
    mass = rates * np.diff(edges)
    if mass.sum() <= 0:
        raise InputError("accrual `rates` give no subjects inside `times`")
    return edges, rates / mass.sum()


def entered_fraction(calendar_time, accrual):
    """Fraction of the subjects entered by ``calendar_time`` (the accrual's distribution function).

    Parameters
    ----------
    calendar_time : float or array_like
        Time since the first subject entered.
    accrual : (ndarray, ndarray)
        ``(edges, density)`` from :func:`accrual_pieces`.

    Returns
    -------
    float or ndarray
        Piecewise linear from 0 at the start to 1 at the end of accrual
        (rpact's ``numberOfSubjects`` at an analysis time, over the maximum).

    Examples
    --------
    >>> entered_fraction([9.0, 36.0, 50.0], accrual_pieces(duration=36.0)).tolist()
    [0.25, 1.0, 1.0]
    """
    edges, density = _check_accrual(accrual)
    cumulative = np.concatenate([[0.0], np.cumsum(density * np.diff(edges))])
    return np.interp(calendar_time, edges, cumulative / cumulative[-1])


def _open_ended_edges(starts, rates, n_subjects):
    """End of accrual for absolute rates: when ``n_subjects`` have entered."""
    if n_subjects is None or not float(n_subjects) > 0:
        raise InputError(
            "accrual `times` given as starts need `n_subjects` > 0 to find the end"
        )
    n_subjects = float(n_subjects)
    if starts[0] != 0.0 or np.any(np.diff(starts) <= 0):
        raise InputError("accrual `times` must start at 0 and increase strictly")
    # Subjects entered by the end of each piece but the open-ended last one.
    entered = np.cumsum(rates[:-1] * np.diff(starts))
    piece = int(np.searchsorted(entered, n_subjects))  # the piece where N is reached
    before = entered[piece - 1] if piece > 0 else 0.0
    if rates[piece] <= 0:
        raise InputError("accrual `rates` never reach `n_subjects`")
    end = starts[piece] + (n_subjects - before) / rates[piece]
    return np.concatenate([starts[: piece + 1], [end]])


def _check_accrual(accrual):
    edges, density = (np.asarray(a, dtype=float) for a in accrual)
    if edges.size != density.size + 1 or edges[0] != 0.0 or np.any(np.diff(edges) <= 0):
        raise InputError("`accrual` must be (edges, density) from accrual_pieces")
    return edges, density


def _ratio(allocation):
    control, experimental = (float(a) for a in allocation)
    if not (control > 0 and experimental > 0):
        raise InputError(f"`allocation` must be two numbers > 0, got {allocation}")
    return experimental / control


def _z_alpha(alpha, sided):
    if sided not in (1, 2):
        raise InputError(f"`sided` must be 1 or 2, got {sided}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"`alpha` must be in (0, 1), got {alpha}")
    return dist.norm.isf(alpha / sided)


# --------------------------------------------------------------------------
# Events: Schoenfeld
# --------------------------------------------------------------------------


def schoenfeld_events(hazard_ratio, *, alpha=0.025, power=0.8, sided=1,
                      allocation=(1, 1), inflation=1.0, margin=1.0):
    """Events needed by the log-rank test (Schoenfeld), fixed or sequential.

    ``d = inflation * (z_{1-alpha/sided} + z_{power})^2 (1 + r)^2 / (r (ln HR - ln M)^2)``
    with ``r`` = experimental / control and ``M`` the null hazard ratio
    (``margin``: 1 for superiority, a non-inferiority margin > 1 otherwise),
    as rpact (``typeOfComputation = "Schoenfeld"``, ``thetaH0 = M``). With
    ``sided = 2`` only the favourable tail counts towards power (rpact's
    default ``twoSidedPower = FALSE``).

    Parameters
    ----------
    hazard_ratio : float or array_like
        Experimental / control under the alternative, ``> 0`` and ``!= 1``.
    alpha : float
        Total level.
    power : float
        Target power, in ``(0, 1)``.
    sided : {1, 2}
    allocation : (float, float)
        ``(control, experimental)``.
    inflation : float
        Group-sequential inflation factor (``>= 1`` usually; 1 = fixed design).
        rpact's maximum number of events is the fixed number times this factor.
    margin : float
        The hazard ratio under H0 (rpact's ``thetaH0``), ``> 0``.

    Returns
    -------
    float or ndarray
        Unrounded events.

    Examples
    --------
    >>> round(schoenfeld_events(0.7), 3)
    246.787
    >>> round(schoenfeld_events(1.0, power=0.85, margin=1.3), 3)
    521.734
    """
    hr = np.asarray(hazard_ratio, dtype=float)
    margin = float(margin)
    if not (np.isfinite(margin) and margin > 0):
        raise InputError(f"`margin` must be a hazard ratio > 0, got {margin}")
    if np.any(~np.isfinite(hr)) or np.any(hr <= 0) or np.any(hr == margin):
        raise InputError(f"`hazard_ratio` must be > 0 and != {margin:g} (the null), got {hazard_ratio}")
    if not 0.0 < power < 1.0:
        raise InputError(f"`power` must be in (0, 1), got {power}")
    if not (np.isfinite(inflation) and inflation > 0):
        raise InputError(f"`inflation` must be > 0, got {inflation}")
    r = _ratio(allocation)
    z = _z_alpha(alpha, sided) + dist.norm.ppf(power)
    events = inflation * z**2 * (1 + r) ** 2 / (r * (np.log(hr) - math.log(margin)) ** 2)
    return float(events) if events.ndim == 0 else events


def schoenfeld_power(events, hazard_ratio, *, alpha=0.025, sided=1,
                     allocation=(1, 1), inflation=1.0, margin=1.0):
    """Power of the log-rank test with ``events`` events (Schoenfeld).

    The inverse of :func:`schoenfeld_events`: only favourable rejections
    count, so a hazard ratio above 1 gives power below ``alpha / sided``.
    ``inflation`` divides ``events`` (the events of the equivalent fixed
    design). ``margin``: the null hazard ratio (rpact's ``thetaH0``; power
    counts rejections towards hazard ratios below it, rpact's
    ``directionUpper = FALSE``).

    Parameters
    ----------
    events : float or array_like
    hazard_ratio : float or array_like
    alpha, sided, allocation, inflation
        As :func:`schoenfeld_events`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(schoenfeld_power(246.787, 0.7), 4)
    0.8
    >>> round(schoenfeld_power(521.734, 1.0, margin=1.3), 4)
    0.85
    """
    d = np.asarray(events, dtype=float) / inflation
    hr = np.asarray(hazard_ratio, dtype=float)
    if np.any(d < 0) or np.any(hr <= 0):
        raise InputError("`events` must be >= 0 and `hazard_ratio` > 0")
    r = _ratio(allocation)
    drift = (math.log(margin) - np.log(hr)) * np.sqrt(d * r) / (1 + r)
    power = dist.norm.cdf(drift - _z_alpha(alpha, sided))
    return float(power) if np.ndim(power) == 0 else power


# --------------------------------------------------------------------------
# Event probabilities with competing dropout, averaged over accrual
# --------------------------------------------------------------------------


def _phi1(x):
    """(1 - exp(-x)) / x, stable at 0."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2, -np.expm1(-safe) / safe)


def _phi2(x):
    """(x - 1 + exp(-x)) / x^2, stable at 0 (series below 1e-3)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-3
    safe = np.where(small, 1.0, x)
    series = 0.5 - x / 6 + x**2 / 24 - x**3 / 120
    return np.where(small, series, (safe + np.expm1(-safe)) / safe**2)


def _piece_states(times, hazards, dropout):
    """Per piece start: overall survival S, event cdf F and its integral G.

    ``F(s) = P(event by s)`` for one subject followed for ``s`` with dropout
    competing; ``G(x) = int_0^x F``. Inside piece ``j`` with ``u = s - t_j``
    and ``k = h_j + dropout``::

        F(s) = F_j + h_j S_j u phi1(k u)
        G(s) = G_j + F_j u + h_j S_j u^2 phi2(k u)
    """
    widths = np.diff(times)
    m = times.size
    surv = np.empty(m)
    cdf = np.empty(m)
    integral = np.empty(m)
    surv[0], cdf[0], integral[0] = 1.0, 0.0, 0.0
    for j in range(m - 1):
        k, u = hazards[j] + dropout, widths[j]
        surv[j + 1] = surv[j] * np.exp(-k * u)
        cdf[j + 1] = cdf[j] + hazards[j] * surv[j] * u * _phi1(k * u)
        integral[j + 1] = (integral[j] + cdf[j] * u
                           + hazards[j] * surv[j] * u**2 * _phi2(k * u))
    return surv, cdf, integral


def _cdf_and_integral(s, times, hazards, dropout):
    """``F(s)`` and ``G(s)`` (see :func:`_piece_states`) for finite ``s``."""
    s = np.maximum(np.asarray(s, dtype=float), 0.0)
    surv, cdf, integral = _piece_states(times, hazards, dropout)
    j = np.searchsorted(times, s, side="right") - 1
    u = s - times[j]
    h = hazards[j]
    ku = (h + dropout) * u
    f = cdf[j] + h * surv[j] * u * _phi1(ku)
    g = integral[j] + cdf[j] * u + h * surv[j] * u**2 * _phi2(ku)
    return f, g


def _cdf_at_infinity(times, hazards, dropout):
    """``F(inf)``: the probability that the event ever comes before dropout."""
    surv, cdf, _ = _piece_states(times, hazards, dropout)
    k_last = hazards[-1] + dropout
    return cdf[-1] + (hazards[-1] / k_last * surv[-1] if k_last > 0 else 0.0)


def event_probability(t, times, hazards, dropout=0.0):
    """Probability of an event (not a dropout) within ``t`` of entry.

    ``F(t) = int_0^t h(s) exp(-H(s) - dropout * s) ds`` for piecewise-constant
    ``h`` with cumulative ``H``; the dropout hazard competes.

    Parameters
    ----------
    t : float or array_like
        Follow-up time(s) ``>= 0`` (negative counts as 0).
    times, hazards : array_like
        Piecewise-constant event hazard.
    dropout : float
        Exponential dropout hazard.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> t, h = hazards_from(median=30.0)
    >>> round(float(event_probability(30.0, t, h)), 6)
    0.5
    """
    times, hazards = _check_pieces(times, hazards)
    f, _ = _cdf_and_integral(t, times, hazards, float(dropout))
    return float(f) if np.ndim(f) == 0 else f


def _arm_fraction(calendar_time, times, hazards, dropout, edges, density, max_follow_up=math.inf):
    """P(event by calendar T) for one arm, averaged over the entry density.

    A subject entering at ``a < T`` has been followed ``min(T - a, m)`` with
    ``m`` the maximum follow-up; the piece ``[a_i, a_{i+1})`` of the accrual
    density, cut at ``c = clip(T - m, a_i, min(a_{i+1}, T))``, contributes
    ``rho_i * (F(m) (c - a_i) + G(T - c) - G(T - min(a_{i+1}, T)))`` (``c = a_i``
    without a maximum). At ``T = inf`` every subject has been followed for
    ``m``: ``F(m)`` (``F(inf)`` without a maximum).
    """
    T = np.asarray(calendar_time, dtype=float)
    finite = np.where(np.isinf(T), 0.0, T)[..., None]
    lower = np.minimum(edges[:-1], finite)
    upper = np.minimum(edges[1:], finite)
    if math.isfinite(max_follow_up):
        full, _ = _cdf_and_integral(max_follow_up, times, hazards, dropout)
        cut = np.clip(finite - max_follow_up, lower, upper)
    else:
        full, cut = 0.0, lower
    _, g_hi = _cdf_and_integral(finite - cut, times, hazards, dropout)
    _, g_lo = _cdf_and_integral(finite - upper, times, hazards, dropout)
    p = np.sum(density * (full * (cut - lower) + g_hi - g_lo), axis=-1)
    at_infinity = full if math.isfinite(max_follow_up) else _cdf_at_infinity(times, hazards, dropout)
    return np.where(np.isinf(T), at_infinity, p)


def event_fraction(calendar_time, *, control, hazard_ratio, accrual,
                   dropout=(0.0, 0.0), allocation=(1, 1), max_follow_up=math.inf, strata=()):
    """Probability that a trial subject has had an event by calendar time.

    Averaged over the accrual distribution and over the arms, weighted by the
    allocation (rpact's ``(r p_e + p_c) / (1 + r)``), and over the strata
    when given. Subjects not yet enrolled count as having no event.

    Parameters
    ----------
    calendar_time : float or array_like
        Time since the first subject entered.
    control : (array_like, array_like)
        ``(times, hazards)`` of the control arm.
    hazard_ratio : float
        Experimental / control (proportional hazards).
    accrual : (ndarray, ndarray)
        ``(edges, density)`` from :func:`accrual_pieces`.
    dropout : (float, float)
        Exponential dropout hazards ``(control, experimental)``.
    allocation : (float, float)
    max_follow_up : float
        Each subject is followed for at most this long from entry
        (administrative censoring); ``inf`` (default): no maximum.
    strata : sequence of (float, float)
        ``(share, multiplier)`` of each stratum: its share of the subjects
        (summing to 1) and its control hazard relative to ``control``, the
        hazard ratio the same in every stratum (proportional hazards within
        strata, the simulation's model). Each stratum has the allocation's
        split of its subjects (as stratified randomisation makes it, and
        simple randomisation on average). Empty (default): one stratum.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> p = event_fraction(60.0, control=hazards_from(median=30.0),
    ...                    hazard_ratio=0.7, accrual=accrual_pieces(duration=36.0))
    >>> round(float(p), 4)
    0.5479

    Two equal strata, the second with twice the hazard: the mean of the two
    strata's fractions.

    >>> model = dict(hazard_ratio=0.7, accrual=accrual_pieces(duration=36.0))
    >>> both = event_fraction(60.0, control=hazards_from(median=30.0), strata=[(0.5, 1.0), (0.5, 2.0)], **model)
    >>> each = [event_fraction(60.0, control=hazards_from(median=m), **model) for m in (30.0, 15.0)]
    >>> bool(abs(both - (each[0] + each[1]) / 2) < 1e-15)
    True
    """
    times, hazards = _check_pieces(*control)
    edges, density = _check_accrual(accrual)
    hr = float(hazard_ratio)
    if not (np.isfinite(hr) and hr > 0):
        raise InputError(f"`hazard_ratio` must be > 0, got {hazard_ratio}")
    drop_c, drop_e = (float(x) for x in dropout)
    if drop_c < 0 or drop_e < 0:
        raise InputError(f"`dropout` hazards must be >= 0, got {dropout}")
    r = _ratio(allocation)
    longest = float(max_follow_up)
    if not longest > 0:
        raise InputError(f"`max_follow_up` must be > 0, got {max_follow_up}")
    p = 0.0
    for share, multiplier in _check_strata(strata):
        p_c = _arm_fraction(calendar_time, times, multiplier * hazards, drop_c, edges, density, longest)
        p_e = _arm_fraction(calendar_time, times, hr * (multiplier * hazards), drop_e, edges, density, longest)
        p = p + share * ((r * p_e + p_c) / (1 + r))
    return float(p) if np.ndim(p) == 0 else p


def _check_strata(strata) -> list[tuple[float, float]]:
    """``(share, multiplier)`` pairs of :func:`event_fraction`'s ``strata``: ``[(1.0, 1.0)]`` when empty."""
    cells = [(float(share), float(multiplier)) for share, multiplier in strata] or [(1.0, 1.0)]
    shares = np.array([c[0] for c in cells])
    multipliers = np.array([c[1] for c in cells])
    if np.any(~(shares >= 0)) or abs(shares.sum() - 1.0) > 1e-9:
        raise InputError(f"`strata` shares must be >= 0 and sum to 1, got {shares.tolist()}")
    if np.any(~(multipliers > 0)) or np.any(~np.isfinite(multipliers)):
        raise InputError(f"`strata` hazard multipliers must be finite and > 0, got {multipliers.tolist()}")
    return cells


def expected_events(calendar_time, n_subjects, **model):
    """Expected number of events by calendar time for ``n_subjects``.

    ``n_subjects * event_fraction(calendar_time, **model)``; ``model`` holds
    the keyword arguments of :func:`event_fraction`.

    Examples
    --------
    >>> e = expected_events(60.0, 486.784, control=hazards_from(median=30.0),
    ...                     hazard_ratio=0.7, accrual=accrual_pieces(duration=36.0),
    ...                     dropout=(dropout_hazard(0.05, 12),) * 2)
    >>> round(e, 2)
    246.79
    """
    return float(n_subjects) * event_fraction(calendar_time, **model)


def subjects_for_events(events, *, follow_up, **model):
    """Subjects such that the expected events at the end of follow-up = ``events``.

    rpact's approach with ``accrualTime`` and ``followUpTime`` fixed: the
    analysis is at the end of accrual plus the minimum follow-up, and the
    number of subjects is ``events / event_fraction(that time)`` (unrounded).

    Parameters
    ----------
    events : float
        Events at the final analysis.
    follow_up : float
        Minimum follow-up after the end of accrual, ``>= 0``.
    **model
        The keyword arguments of :func:`event_fraction`.

    Returns
    -------
    float

    Examples
    --------
    >>> n = subjects_for_events(246.787, follow_up=24.0,
    ...                         control=hazards_from(median=30.0), hazard_ratio=0.7,
    ...                         accrual=accrual_pieces(duration=36.0),
    ...                         dropout=(dropout_hazard(0.05, 12),) * 2)
    >>> round(n, 1)
    486.8
    """
    follow_up = float(follow_up)
    if not (np.isfinite(follow_up) and follow_up >= 0):
        raise InputError(f"`follow_up` must be >= 0, got {follow_up}")
    end = float(np.asarray(model["accrual"][0], dtype=float)[-1])
    fraction = event_fraction(end + follow_up, **model)
    if fraction <= 0:
        raise InputError("no events are expected by the end of follow-up")
    return float(events) / fraction


def subjects_at_rate(events, *, follow_up, starts, rates, **model):
    """Subjects and accrual when accrual is a rate: its duration follows from the subjects.

    rpact's ``getSampleSizeSurvival`` with absolute ``accrualIntensity``
    (patients per month from each of ``accrualTime``'s starts, the last piece
    open-ended) and ``followUpTime``: the ``N`` whose expected events at the
    end of accrual (when ``N`` have entered, :func:`accrual_pieces`) plus
    ``follow_up`` are ``events``. ``N event_fraction(end(N) + follow_up)``
    increases with ``N``, so the root is unique (Brent's method).

    Parameters
    ----------
    events : float
    follow_up : float
        Follow-up after the last patient entered, ``>= 0``.
    starts, rates : sequence of float
        Start of each accrual piece (first 0) and patients per month in it.
    **model
        The other keyword arguments of :func:`event_fraction` (no ``accrual``).

    Returns
    -------
    subjects : float
    accrual : (ndarray, ndarray)
        ``(edges, density)`` of the accrual of ``subjects``.

    Examples
    --------
    >>> n, (edges, _) = subjects_at_rate(246.787, follow_up=12.0, starts=[0.0], rates=[20.0],
    ...                                  control=hazards_from(median=12.0), hazard_ratio=0.7)
    >>> round(n, 2), round(float(edges[-1]), 3)
    (387.85, 19.392)
    """
    follow_up = float(follow_up)
    if not (np.isfinite(follow_up) and follow_up >= 0):
        raise InputError(f"`follow_up` must be >= 0, got {follow_up}")
    events = float(events)
    if not events > 0:
        raise InputError(f"`events` must be > 0, got {events}")

    def accrual(n):
        return accrual_pieces(times=starts, rates=rates, n_subjects=n)

    def gap(n):
        pieces = accrual(n)
        return n * event_fraction(float(pieces[0][-1]) + follow_up, accrual=pieces, **model) - events

    upper = 2.0 * events
    while gap(upper) < 0:
        upper *= 2.0
        if upper > 1e12:
            raise InputError("no number of subjects reaches the events at this accrual rate and follow-up")
    n = optimize.brentq(gap, events, upper, xtol=1e-10, rtol=1e-14)
    return float(n), accrual(n)


def time_for_events(events, n_subjects, **model):
    """Calendar time at which ``events`` events are expected among ``n_subjects``.

    Solves ``expected_events(T, n_subjects, **model) = events`` (rpact's
    analysis times for interim looks at event fractions).

    Parameters
    ----------
    events : float or array_like
        Target events, each ``> 0`` and below the events that ``n_subjects``
        can ever produce.
    n_subjects : float
    **model
        The keyword arguments of :func:`event_fraction`.

    Returns
    -------
    float or ndarray

    Raises
    ------
    InputError
        If a target can never be reached (dropout or a hazard of 0 at the end
        leave too few events).

    Examples
    --------
    >>> t = time_for_events(246.787, 486.784, control=hazards_from(median=30.0),
    ...                     hazard_ratio=0.7, accrual=accrual_pieces(duration=36.0),
    ...                     dropout=(dropout_hazard(0.05, 12),) * 2)
    >>> round(t, 3)
    60.0
    """
    targets = np.atleast_1d(np.asarray(events, dtype=float))
    n = float(n_subjects)
    ceiling = n * event_fraction(np.inf, **model)
    if np.any(targets <= 0) or np.any(targets >= ceiling):
        raise InputError(
            f"`events` must be > 0 and below {ceiling:.6g}, the events "
            f"{n:g} subjects can ever have; got {events}"
        )
    out = np.empty(targets.size)
    for i, target in enumerate(targets):
        def gap(T, target=target):
            return n * event_fraction(T, **model) - target

        upper = float(np.asarray(model["accrual"][0])[-1])
        while gap(upper) < 0:
            upper *= 2.0
        out[i] = optimize.brentq(gap, 0.0, upper, xtol=1e-12, rtol=1e-14)
    return float(out[0]) if np.ndim(events) == 0 else out


# --------------------------------------------------------------------------
# Everything together, as rpact's getSampleSizeSurvival
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalSize:
    """Analytic size of a survival trial (all values unrounded).

    Attributes
    ----------
    events : float
        Events at the final analysis (fixed-design events times inflation).
    subjects : float
        Subjects to enrol.
    event_fraction : float
        Probability that a subject has an event by the final analysis.
    analysis_times : ndarray
        Expected calendar time of each look (the last is the end of accrual
        plus the minimum follow-up).
    events_per_look : ndarray
        Events at each look (``fractions * events``).
    accrual_duration : float
        End of accrual (from ``subjects`` when accrual is a rate); the study
        duration is the last analysis time.
    """

    events: float
    subjects: float
    event_fraction: float
    analysis_times: np.ndarray
    events_per_look: np.ndarray
    accrual_duration: float = math.nan


def survival_sample_size(hazard_ratio, *, control, accrual, follow_up,
                         dropout=(0.0, 0.0), allocation=(1, 1), alpha=0.025,
                         power=0.8, sided=1, inflation=1.0, fractions=(1.0,),
                         margin=1.0, accrual_rate=None, max_follow_up=math.inf, strata=()):
    """Events, subjects and look times, as rpact's ``getSampleSizeSurvival``.

    The events come from :func:`schoenfeld_events` (times ``inflation``),
    the subjects from :func:`subjects_for_events` with accrual and minimum
    follow-up fixed, and interim times from :func:`time_for_events` at
    ``fractions * events``.

    Parameters
    ----------
    hazard_ratio : float
    control, accrual, dropout, allocation
        As :func:`event_fraction`.
    follow_up : float
        Minimum follow-up after the end of accrual.
    alpha, power, sided, inflation
        As :func:`schoenfeld_events`.
    fractions : sequence of float
        Information (event) fractions of the looks, increasing, last 1.
    margin : float
        The null hazard ratio (rpact's ``thetaH0``; > 1 for non-inferiority).
    accrual_rate : (sequence, sequence), optional
        ``(starts, patients per month)``: accrual as a rate, whose duration
        follows from the subjects (:func:`subjects_at_rate`); ``accrual`` is
        then ignored (``None``).
    max_follow_up : float
        Each subject followed for at most this long (administrative
        censoring): fewer events per subject, so more subjects.
    strata : sequence of (float, float)
        As :func:`event_fraction`: the subjects and look times of the
        strata's mixture (the events are Schoenfeld's either way).

    Returns
    -------
    SurvivalSize

    Examples
    --------
    >>> size = survival_sample_size(0.7, control=hazards_from(median=30.0),
    ...                             accrual=accrual_pieces(duration=36.0),
    ...                             follow_up=24.0,
    ...                             dropout=(dropout_hazard(0.05, 12),) * 2)
    >>> round(size.events, 3), round(size.subjects, 3)
    (246.787, 486.784)
    """
    fractions = np.asarray(fractions, dtype=float)
    if (fractions.ndim != 1 or fractions.size == 0 or fractions[-1] != 1.0
            or np.any(np.diff(fractions) <= 0) or fractions[0] <= 0):
        raise InputError("`fractions` must increase strictly in (0, 1] and end at 1")
    events = schoenfeld_events(hazard_ratio, alpha=alpha, power=power, sided=sided,
                               allocation=allocation, inflation=inflation, margin=margin)
    if accrual_rate is not None:
        starts, rates = accrual_rate
        subjects, accrual = subjects_at_rate(
            events, follow_up=follow_up, starts=starts, rates=rates, control=control,
            hazard_ratio=hazard_ratio, dropout=dropout, allocation=allocation, max_follow_up=max_follow_up,
            strata=strata,
        )
    model = dict(control=control, hazard_ratio=hazard_ratio, accrual=accrual,
                 dropout=dropout, allocation=allocation, max_follow_up=max_follow_up, strata=strata)
    if accrual_rate is None:
        subjects = subjects_for_events(events, follow_up=follow_up, **model)
    end = float(np.asarray(accrual[0])[-1]) + float(follow_up)
    per_look = fractions * events
    times = np.empty(fractions.size)
    if fractions.size > 1:
        times[:-1] = time_for_events(per_look[:-1], subjects, **model)
    times[-1] = end
    return SurvivalSize(events=events, subjects=subjects,
                        event_fraction=events / subjects,
                        analysis_times=times, events_per_look=per_look,
                        accrual_duration=float(np.asarray(accrual[0])[-1]))


def control_median(times, hazards) -> float:
    """Median of a piecewise-exponential survival curve."""
    target = math.log(2.0)
    cumulative = 0.0
    for k, hazard in enumerate(hazards):
        end = times[k + 1] if k + 1 < len(times) else math.inf
        span = end - times[k]
        if hazard > 0 and cumulative + hazard * span >= target:
            return times[k] + (target - cumulative) / hazard
        cumulative += hazard * span if math.isfinite(span) else 0.0
    return math.inf
