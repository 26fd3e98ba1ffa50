"""Two-arm time-to-event trials with event-driven log-rank looks.

The patients, the calendar times of the looks, the log-rank statistic at each
look and the decision are those of the shared kernels of
:mod:`simulator.engine.patients` (its docstring describes the model, the
rule for running out of events and the statistic) and
:func:`simulator.stats.decision.decide_z`; this module runs them trial after
trial. Every random number comes from the ``numpy.random.Generator`` passed
in, so the output depends only on the generator's state, and calling
:func:`simulate_trials` twice on one generator gives the same trials as one
call for the total number of trials.

Per trial: entries and arms, then per patient (in entry order) a unit
exponential for the event and, with dropout, a dropout time; the looks are
analysed in order until one decides (or the events run out).
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np

from simulator._jit import kernel
from simulator.engine.patients import (
    analyse_looks,
    data_set_iv,
    draw_patients,
    load_data_set,
    logrank_at_cut,
    look_results,
    patients,
    prepare_cuts,
    survival_design,
    workspace,
)
from simulator.engine.strata import simulate_stratified, strata_work
from simulator.errors import InputError
from simulator.stats.decision import z_bounds

__all__ = ["SurvivalTrials", "logrank", "simulate_trials"]


# --------------------------------------------------------------------------
# The log-rank test for one data set
# --------------------------------------------------------------------------


@kernel
def _logrank(time, event, group, pts, work, margin):
    n_events = load_data_set(time, event, group, pts)
    n_a = prepare_cuts(pts, np.inf, work)
    return logrank_at_cut(np.inf, n_events, pts, work, n_a, margin)


def logrank(time, event, group, margin=1.0):
    """Log-rank test of experimental (``group == 1``) vs control (``group == 0``), or its score test at a margin.

    The data set is the data cut of :func:`simulator.engine.patients.logrank_at_cut`
    with every subject entered at 0 and the cut after the last time, so this
    is the package's one log-rank pass: Mantel-Haenszel variance with the
    ties correction; at a time with both events and censorings the censored
    subjects count as at risk.

    Parameters
    ----------
    time : array_like of float
        Follow-up times (finite).
    event : array_like of bool or int
        True (non-zero) for an event, False (0) for a censoring.
    group : array_like of int
        1 for experimental, 0 for control.
    margin : float
        The hazard ratio M of the null, in [0.001, 1000]: 1 (default) for the log-rank
        test of HR = 1; for non-inferiority (H0: HR >= M) the score test at
        M, whose expected experimental deaths and variance at each event
        time are at the hazard ratio M (docs/methods.md).

    Returns
    -------
    z : float
        ``score / sqrt(variance)``, positive when the experimental arm has
        fewer events than expected (hazard ratio below 1, or below M); 0 if
        the variance is 0.
    score : float
        ``E_e - O_e``, the expected deaths at the hazard ratio M.
    variance : float
        At the hazard ratio M.
    observed_c, expected_c, observed_e, expected_e : float
        Observed and expected events per arm at HR 1 (``O_c + O_e = E_c + E_e``),
        whatever the margin (Pike's estimate).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1.0, 2.0, 3.0, 4.0])
    >>> z, *_ = logrank(t, np.array([1, 1, 1, 1]), np.array([0, 0, 1, 1]))
    >>> round(z, 4)
    1.6977
    """
    time, event, group = data_set_iv(time, event, group)
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not 1e-3 <= margin <= 1e3:
        # Bounded, as the config's margins are (a code review: 1e308 overflowed M n_e to a NaN score).
        raise InputError(f"`margin` must be a hazard ratio in [0.001, 1000], got {margin!r}")
    null = None if margin == 1 else float(margin)
    return _logrank(time, event, group, patients(time.size), workspace(time.size, 1), null)[:7]


# --------------------------------------------------------------------------
# Many trials
# --------------------------------------------------------------------------


@kernel(counted=False)
def _simulate(rng, n_sims, design, bounds, hazard_ratio, multiplier, pts, work, out):
    """Simulate ``n_sims`` trials into ``out`` (looks after the stop untouched).

    Without reference counting (:mod:`simulator._jit`), nor in the kernels
    it calls: nothing it reaches allocates, and a count on every array of
    the design, patients, workspace and outputs at every call cost about
    a fifth of a trial.
    """
    for trial in range(n_sims):
        theta_c = multiplier[trial]
        theta_e = multiplier[trial] * hazard_ratio[trial]
        n_events = draw_patients(rng, design, theta_c, theta_e, pts, work.calendar)
        analyse_looks(trial, n_events, design, bounds, pts, work, out, False)


@dataclass(frozen=True)
class SurvivalTrials:
    """Per-trial results of :func:`simulate_trials` (arrays of length ``n_sims``).

    Attributes
    ----------
    stop_look : ndarray of int
        0-based index of the look at which the trial stopped (the last look
        analysed).
    decision : ndarray of int8
        +1 favourable (efficacy) rejection, -1 unfavourable rejection (only with
        ``sided = 2``), 2 stop for futility, 0 none.
    z : ndarray of float
        Log-rank z at the stopping look (positive favours experimental).
    hazard_ratio : ndarray of float
        Pike's estimate ``(O_e/E_e) / (O_c/E_c)`` at the stopping look (NaN
        without events).
    events : ndarray of int
        Events in the stopping analysis.
    enrolled : ndarray of int
        Subjects entered by the stopping analysis (entry at or before it).
    events_short : ndarray of bool
        The events ran out before a look's target: that look was analysed at
        the last event and the trial stopped there.
    look_times : ndarray of float, shape (n_sims, K)
        Calendar time of each look reached (NaN for looks not reached); the
        duration of the trial is ``look_times[i, stop_look[i]]``.
    z_looks : ndarray of float, shape (n_sims, K)
        z at each look reached (NaN otherwise).
    last_look : ndarray of int
        The last look the trial could reach: the final look, or the look at
        which the events ran out or the cap ended the trial.
    capped : ndarray of bool
        The maximum duration ended the trial (its last look was analysed at
        the cap).
    events_looks, enrolled_looks : ndarray of int, shape (n_sims, K)
        Events and subjects at each look up to ``last_look`` (also after a
        stop when the bounds never stop a trial early; 0 after
        ``last_look``).
    hr_looks : ndarray of float, shape (n_sims, K)
        Pike's hazard-ratio estimate at each look up to ``last_look``.
    short_looks : ndarray of bool, shape (n_sims, K)
        The events ran out at that look.
    z_all : ndarray of float, shape (n_sims, K)
        z at each look analysed (NaN after the stop or ``last_look``).
    """

    stop_look: np.ndarray
    decision: np.ndarray
    z: np.ndarray
    hazard_ratio: np.ndarray
    events: np.ndarray
    enrolled: np.ndarray
    events_short: np.ndarray
    look_times: np.ndarray
    z_looks: np.ndarray
    last_look: np.ndarray | None = None
    capped: np.ndarray | None = None
    events_looks: np.ndarray | None = None
    enrolled_looks: np.ndarray | None = None
    hr_looks: np.ndarray | None = None
    short_looks: np.ndarray | None = None
    z_all: np.ndarray | None = None
    look_times_all: np.ndarray | None = None
    #: With strata: the same trials analysed the other way (stratified or not), when asked for.
    other: SurvivalTrials | None = None
    #: With strata: per trial and factor, the arm imbalance (:func:`simulator.engine.strata.imbalance`).
    imbalance: np.ndarray | None = None

    @property
    def duration(self):
        """Calendar time of the stopping analysis, per trial."""
        return self.look_times[np.arange(self.stop_look.size), self.stop_look]


def _per_trial(value, n_sims, name):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_sims, float(arr))
    if arr.shape != (n_sims,):
        raise InputError(f"`{name}` must be a number or an array of length n_sims={n_sims}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"`{name}` must be finite and > 0")
    return np.ascontiguousarray(arr)


def _looks_iv(look_events, efficacy, futility, n_total, sided, look_times=None):
    if look_times is not None:
        look_events = np.zeros(np.size(look_times), dtype=np.int64)
    looks = np.asarray(look_events)
    if looks.ndim != 1 or looks.size == 0 or not np.issubdtype(looks.dtype, np.integer):
        raise InputError("`look_events` must be a non-empty list of integers")
    looks = looks.astype(np.int64)
    if look_times is None and (looks[0] < 1 or np.any(np.diff(looks) <= 0) or looks[-1] > n_total):
        raise InputError(
            f"`look_events` must increase strictly from >= 1 to <= the {n_total} subjects"
        )
    efficacy = np.asarray(efficacy, dtype=float).ravel()
    if efficacy.size != looks.size or np.any(np.isnan(efficacy)):
        raise InputError("`efficacy` needs one z bound per look")
    if futility is None:
        futility = np.full(looks.size, -np.inf)
    futility = np.asarray(futility, dtype=float).ravel()
    if futility.size != looks.size or np.any(np.isnan(futility)):
        raise InputError("`futility` needs one z bound per look (-inf for none)")
    if sided not in (1, 2):
        raise InputError(f"`sided` must be 1 or 2, got {sided}")
    return looks, efficacy, futility


def simulate_trials(n_sims, n_control, n_experimental, *, accrual, control,
                    hazard_ratio, look_events=None, efficacy, futility=None, sided=1,
                    dropout=(0.0, 0.0), control_multiplier=1.0, rng, inner=False, margin=1.0,
                    look_times=None, max_duration=np.inf, max_follow_up=np.inf, strata=None, stratified=False,
                    compare=False, hazard_ratio_pieces=None, cured=(0.0, 0.0), weights=None, refine_levels=()):
    """Simulate two-arm survival trials with event-driven log-rank looks.

    Parameters
    ----------
    n_sims : int
        Number of trials.
    n_control, n_experimental : int
        Subjects per arm (exact counts).
    accrual : (array_like, array_like)
        ``(edges, rates)``: piecewise-constant entry intensity on
        ``[edges[i], edges[i+1])``, ``edges`` from 0 to the end of accrual
        (one piece for uniform accrual); only the shape of ``rates`` matters.
        :func:`simulator.design.survival.accrual_pieces` gives this form.
    control : (array_like, array_like)
        ``(times, hazards)``: piecewise-constant control hazard, ``times``
        the start of each piece (first 0).
    hazard_ratio : float or ndarray
        Experimental / control; one value per trial may be given (drawn from
        a prior by the caller).
    look_events : array_like of int
        Events at each look, strictly increasing.
    efficacy : array_like of float
        z bound per look; favourable rejection when ``z >= efficacy[k]``
        (and unfavourable when ``z <= -efficacy[k]`` if ``sided == 2``).
    futility : array_like of float, optional
        z bound per look; stop for futility when ``z <= futility[k]``
        at an interim look (the final entry is not used).
        ``-inf`` (default) for none. The decision is
        :func:`simulator.stats.decision.decide_z`.
    sided : {1, 2}
    inner : bool
        Two-sided designs: futility is the inner wedge, stop when
        ``|z| <= futility[k]`` (rpact's; ``design.two_sided_futility``).
    dropout : (float, float)
        Exponential dropout hazards ``(control, experimental)``.
    control_multiplier : float or ndarray
        Multiplies the control hazards (and so the experimental ones) per
        trial, for a prior on the control median.
    rng : numpy.random.Generator
        The only source of randomness; it is advanced.
    margin : float
        Non-inferiority hazard-ratio margin (H0: HR >= margin); 1 (default)
        is superiority. The z of each look is then the score test at the
        margin: each event time's expected experimental deaths and variance
        at the hazard ratio ``margin`` (:func:`simulator.engine.patients.analyse_looks`).
    look_times : array_like of float, optional
        Calendar looks (months from the first entry, increasing) instead of
        ``look_events``.
    max_duration : float
        The trial ends at whichever comes first: a look or this calendar
        time (:func:`simulator.engine.patients.schedule_cuts`); ``inf``: none.
    max_follow_up : float
        Administrative censoring of each patient at this time from entry.
    hazard_ratio_pieces : (array_like, array_like), optional
        Non-proportional hazards: ``(starts, ratios)``, the experimental
        hazard is the control's times ``ratios[j]`` from ``starts[j]``
        (first 0); ``hazard_ratio`` then multiplies this profile (1 for the
        profile itself).
    cured : (float, float)
        Cured fractions (control, experimental), in [0, 1): a mixture cure
        model, ``S(t) = cured + (1 - cured) S_uncured(t)``.
    weights : array_like, shape (m, 2), optional
        Fleming-Harrington ``(rho, gamma)``: one row for FH(rho, gamma),
        several for MaxCombo (:func:`simulator.engine.patients.weighted_z`);
        None for the log-rank.
    refine_levels : sequence of float, optional
        One-sided levels, besides the efficacy bounds', at which the caller
        decides the trials afterwards (Holm's further levels): MaxCombo's
        p-value is computed as accurately near them as near the bounds'.
    strata : simulator.engine.strata.StrataDesign, optional
        Stratification factors, their multipliers of the control hazard and
        the randomisation (:func:`simulator.engine.strata.strata_design`);
        with ``blocks`` or ``minimisation`` the arm sizes are random, about
        ``n_control`` and ``n_experimental``.
    stratified : bool
        Analyse by the stratified log-rank (needs ``strata``).
    compare : bool
        Also analyse the same trials the other way (``other`` of the result;
        needs ``strata``).

    Returns
    -------
    SurvivalTrials

    Examples
    --------
    >>> import numpy as np
    >>> res = simulate_trials(200, 150, 150, accrual=([0.0, 24.0], [1.0]),
    ...                       control=([0.0], [np.log(2) / 12]), hazard_ratio=0.6,
    ...                       look_events=[100, 200], efficacy=[2.8, 1.98],
    ...                       rng=np.random.default_rng(1))
    >>> res.decision.shape, bool(res.decision.mean() > 0.5)
    ((200,), True)
    """
    n_sims = int(n_sims)
    n_c, n_e = int(n_control), int(n_experimental)
    if n_sims < 0 or n_c < 1 or n_e < 1:
        raise InputError("`n_sims` must be >= 0 and each arm must have >= 1 subject")
    if not isinstance(rng, np.random.Generator):
        raise InputError("`rng` must be a numpy.random.Generator")
    hr = _per_trial(hazard_ratio, n_sims, "hazard_ratio")
    mult = _per_trial(control_multiplier, n_sims, "control_multiplier")
    looks, efficacy, futility = _looks_iv(look_events, efficacy, futility, n_c + n_e, sided, look_times)
    design = survival_design(n_c, n_e, accrual=accrual, control=control, dropout=dropout,
                             look_events=None if look_times is not None else looks, margin=margin,
                             look_times=look_times, max_duration=max_duration, max_follow_up=max_follow_up,
                             hazard_ratio_pieces=hazard_ratio_pieces, cured=cured, weights=weights)
    out = look_results(n_sims, looks.size)
    bounds = z_bounds(efficacy, futility, sided, inner)
    if strata is None:
        if stratified or compare:
            raise InputError("`stratified` and `compare` need `strata`")
        _simulate(rng, n_sims, design, bounds, hr, mult, patients(n_c + n_e),
                  workspace(n_c + n_e, looks.size, refine_levels), out)
        return _trials(out, looks.size)
    other = look_results(n_sims if compare else 0, looks.size)
    imbalances = np.zeros((n_sims, strata.stride.size))
    simulate_stratified(rng, n_sims, design, bounds, bounds, hr, mult, strata, bool(stratified), bool(compare),
                        patients(n_c + n_e), workspace(n_c + n_e, looks.size, refine_levels),
                        strata_work(n_c + n_e, strata, looks.size), out, other, imbalances)
    return dataclasses.replace(_trials(out, looks.size), other=_trials(other, looks.size) if compare else None,
                               imbalance=imbalances)


def _trials(out, n_looks):
    """:class:`SurvivalTrials` from the kernel's :class:`~simulator.engine.patients.LookResults`."""
    n_sims = out.stop_look.size
    looks = np.arange(n_looks)
    rows = np.arange(n_sims)
    stop = out.stop_look
    reached = looks[None, :] <= stop[:, None]
    return SurvivalTrials(
        stop_look=stop, decision=out.decision, z=out.z[rows, stop], hazard_ratio=out.hazard_ratio[rows, stop],
        events=out.events[rows, stop], enrolled=out.enrolled[rows, stop], events_short=out.short[rows, stop],
        look_times=np.where(reached, out.look_times, np.nan), z_looks=np.where(reached, out.z, np.nan),
        last_look=out.last_look, capped=out.capped, events_looks=out.events, enrolled_looks=out.enrolled,
        hr_looks=out.hazard_ratio, short_looks=out.short, z_all=out.z, look_times_all=out.look_times,
    )
