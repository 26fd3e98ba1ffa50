"""Numba kernels that simulate two-arm time-to-event trials with log-rank looks.

The public functions validate their input, turn it into float arrays and call
private compiled kernels that draw every random number from the
``numpy.random.Generator`` passed in, trial after trial, so the output depends
only on the generator's state (never on global seeding). Calling
:func:`simulate_trials` twice on one generator gives the same trials as one
call for the total number of trials.

How one trial is simulated
--------------------------
Nothing per patient is ever sorted:

1. *Entries*, all ``N`` at once and already sorted: uniform order statistics
   (cumulative exponential spacings, rescaled) mapped through the inverse of
   the piecewise-linear accrual distribution.
2. *Exits*, all ``N`` at once and already sorted. Event and exponential
   dropout hazards compete, so each subject's exit (event or dropout) has
   hazard ``theta h_0(t) + dropout`` (``theta`` = per-trial control
   multiplier, times the hazard ratio in the experimental arm). The subjects
   still under observation exit at the sum of their hazards; the next exit
   is one exponential of that cumulative hazard away, and whose exit it is
   (arm) and why (event or dropout) is drawn in proportion to the hazards.
   This is exactly the order statistics of independent per-subject event and
   dropout times (each an inversion of its piecewise cumulative hazard) with
   the exact per-arm counts.
3. *Coupling*: a uniform random permutation pairs the exit-ordered subjects
   with the sorted entries. Entries are iid and independent of outcomes, so
   this is the same as a random permutation of the fixed arm labels over the
   entry order with outcomes drawn per subject.

A look at ``d_k`` events is at the calendar time of the ``d_k``-th event
(calendar time = entry + exit), found by a bucket selection (expected linear
time, no sort). At a cut ``C`` every enrolled subject leaves the risk set
either at its exit (if entry + exit ``<= C``; these come in exit order) or
administratively at ``C - entry`` (these come in descending entry order):
merging the two ordered lists gives the log-rank statistic in one linear pass
per look.

Statistic and estimate
----------------------
The log-rank score is ``U = E_e - O_e`` (expected minus observed events in the
experimental arm), its variance the Mantel-Haenszel hypergeometric variance
with the ties correction, and ``z = U / sqrt(V)``: positive ``z`` is evidence
for a hazard ratio below 1. The hazard-ratio estimate is Pike's
``(O_e / E_e) / (O_c / E_c)``.

When the events run out
-----------------------
With dropout (or a hazard of 0 in the last piece) a trial can have fewer
events in total than a look needs. That look is then analysed at the calendar
time of the last event (with all the events there are), its bounds are
applied, the trial stops there whatever the outcome, and ``events_short`` is
set. With no event at all the look is at the last entry, ``z = 0`` and the
hazard-ratio estimate is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._jit import kernel
from simulator.errors import InputError

__all__ = ["SurvivalTrials", "logrank", "simulate_patients", "simulate_trials"]

# Decision codes per trial.
NONE, EFFICACY, UNFAVOURABLE, FUTILITY = 0, 1, -1, 2


# --------------------------------------------------------------------------
# The log-rank test for one data set
# --------------------------------------------------------------------------


@kernel
def logrank_terms(at_risk, at_risk_e, deaths):
    """Expected experimental deaths and their variance at one event time.

    Hypergeometric moments of the experimental deaths among ``deaths`` tied
    deaths with ``at_risk`` subjects at risk, ``at_risk_e`` of them
    experimental: mean d s and variance d s (1 - s) (n - d) / (n - 1), with
    s = at_risk_e / at_risk (the ties correction is 1 for a single death).
    One place for every log-rank pass of the package.
    """
    share = at_risk_e / at_risk
    variance = deaths * share * (1.0 - share)
    if deaths > 1:
        variance *= (at_risk - deaths) / (at_risk - 1.0)
    return deaths * share, variance


@kernel
def logrank(time, event, group):
    """Log-rank test of experimental (``group == 1``) vs control (``group == 0``).

    Mantel-Haenszel variance with the ties correction; at a time with both
    events and censorings the censored subjects count as at risk.

    Parameters
    ----------
    time : ndarray of float
        Follow-up times.
    event : ndarray of bool or int
        True (non-zero) for an event, False (0) for a censoring.
    group : ndarray of int
        1 for experimental, 0 for control.

    Returns
    -------
    z : float
        ``score / sqrt(variance)``, positive when the experimental arm has
        fewer events than expected (hazard ratio below 1); 0 if the variance
        is 0.
    score : float
        ``E_e - O_e``.
    variance : float
    observed_c, expected_c, observed_e, expected_e : float
        Observed and expected events per arm (``O_c + O_e = E_c + E_e``).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1.0, 2.0, 3.0, 4.0])
    >>> z, *_ = logrank(t, np.array([1, 1, 1, 1]), np.array([0, 0, 1, 1]))
    >>> round(z, 4)
    1.6977
    """
    n = time.size
    order = np.argsort(time, kind="mergesort")
    at_risk = float(n)
    at_risk_e = 0.0
    for i in range(n):
        if group[i] == 1:
            at_risk_e += 1.0
    score = 0.0
    variance = 0.0
    observed_e = 0.0
    expected_e = 0.0
    observed = 0.0
    i = 0
    while i < n:
        t = time[order[i]]
        deaths = 0.0
        deaths_e = 0.0
        leaving = 0.0
        leaving_e = 0.0
        while i < n and time[order[i]] == t:
            s = order[i]
            is_e = 1.0 if group[s] == 1 else 0.0
            if event[s]:
                deaths += 1.0
                deaths_e += is_e
            leaving += 1.0
            leaving_e += is_e
            i += 1
        if deaths > 0.0:
            mean, var = logrank_terms(at_risk, at_risk_e, deaths)
            expected_e += mean
            variance += var
            observed_e += deaths_e
            observed += deaths
        at_risk -= leaving
        at_risk_e -= leaving_e
    score = expected_e - observed_e
    z = score / np.sqrt(variance) if variance > 0.0 else 0.0
    return (z, score, variance, observed - observed_e, observed - expected_e,
            observed_e, expected_e)


# --------------------------------------------------------------------------
# Drawing entries and exits
# --------------------------------------------------------------------------


@kernel
def _draw_entries(rng, n, edges, cumulative, out):
    """Write ``n`` sorted entry times into ``out[:n]``.

    Uniform order statistics as normalised partial sums of ``n + 1``
    exponential spacings, mapped through the inverse of the piecewise-linear
    accrual distribution (``cumulative`` at ``edges``, from 0 to 1). Walking
    the pieces forward works because the uniforms come sorted.
    """
    total = 0.0
    for k in range(n):
        total += rng.exponential()
        out[k] = total
    scale = 1.0 / (total + rng.exponential())
    piece = 0
    last = edges.size - 2
    for k in range(n):
        u = out[k] * scale
        while piece < last and u > cumulative[piece + 1]:
            piece += 1
        mass = cumulative[piece + 1] - cumulative[piece]
        width = edges[piece + 1] - edges[piece]
        step = (u - cumulative[piece]) / mass if mass > 0.0 else 0.0
        out[k] = edges[piece] + min(step, 1.0) * width


@kernel
def _draw_exits(rng, n_c, n_e, times, hazards, theta_c, theta_e, dropout_c,
                dropout_e, exit_out, event_out, group_out, perm_out):
    """Exits (event or dropout) of both arms in increasing order, and a permutation.

    The subjects still under observation exit at the total hazard
    ``R(t) = r_c (theta_c h_0(t) + dropout_c) + r_e (theta_e h_0(t) + dropout_e)``
    (``r_*`` of them left in each arm), piecewise constant between exits and
    piece boundaries: the next exit comes after one standard exponential of
    cumulative ``R``, and a uniform on ``[0, R)`` says whose exit it is and
    why (control event, control dropout, experimental event, experimental
    dropout, in proportion to their hazards). This is exactly the order
    statistics of independent per-subject exits, with their arms and causes.
    Subjects who can never exit (total hazard 0 in the last piece) get
    ``inf`` and no event.

    ``perm_out`` receives a uniform random permutation (inside-out
    Fisher-Yates) that :func:`_couple` uses to pair exits with entries. One
    uniform ``u`` per exit serves both: ``floor(u (k + 1))`` is the
    Fisher-Yates index and the fractional part, uniform and independent of
    it, picks the arm and cause (it keeps 53 - log2(k + 1) bits, ample for a
    choice between four), which saves a third of the random draws.
    """
    n = n_c + n_e
    left_c = n_c
    left_e = n_e
    piece = 0
    last = times.size - 1
    boundary = times[1] if last > 0 else np.inf
    t = 0.0
    for k in range(n):
        event_c = theta_c * hazards[piece]
        event_e = theta_e * hazards[piece]
        rate_c = left_c * (event_c + dropout_c)
        rate_e = left_e * (event_e + dropout_e)
        total = rate_c + rate_e
        spent = rng.exponential()
        while piece < last and t + spent / total >= boundary:
            spent = max(spent - total * (boundary - t), 0.0)
            t = boundary
            piece += 1
            boundary = times[piece + 1] if piece < last else np.inf
            event_c = theta_c * hazards[piece]
            event_e = theta_e * hazards[piece]
            rate_c = left_c * (event_c + dropout_c)
            rate_e = left_e * (event_e + dropout_e)
            total = rate_c + rate_e
        scaled = rng.random() * (k + 1)
        j = int(scaled)
        perm_out[k] = perm_out[j]
        perm_out[j] = k
        if total > 0.0:
            t += spent / total
            # Written without branches: the arm is a coin toss the CPU cannot
            # predict, and mispredictions would dominate the cost.
            u = (scaled - j) * total
            experimental = np.int64(u >= rate_c)
            event_bound = (left_c * event_c + experimental
                           * (rate_c + left_e * event_e - left_c * event_c))
            exit_out[k] = t
            event_out[k] = u < event_bound
        else:
            experimental = np.int64(left_c == 0)
            exit_out[k] = np.inf
            event_out[k] = False
        group_out[k] = experimental
        left_c -= 1 - experimental
        left_e -= experimental


@kernel
def _couple(n, entry, exit_y, group_y, perm, entry_y, cal_y, exit_e, cal_e,
            group_e, cum_exp_e):
    """Pair the sorted exits with the sorted entries by the permutation ``perm``.

    Entries are iid from the accrual distribution and independent of the
    outcomes, so a uniform random permutation gives the subject with the
    ``k``-th smallest exit the entry ``entry[perm[k]]``; the arms' entries
    are then a uniformly random split of the entries, as randomisation with
    fixed counts gives. Fills the exit-ordered entries and calendar exits,
    and the entry-ordered exits, calendar exits, arms and running count of
    experimental subjects.
    """
    for k in range(n):
        p = perm[k]
        entry_y[k] = entry[p]
        cal_y[k] = entry[p] + exit_y[k]
        exit_e[p] = exit_y[k]
        cal_e[p] = cal_y[k]
        group_e[p] = group_y[k]
    cum_exp_e[0] = 0
    for i in range(n):
        cum_exp_e[i + 1] = cum_exp_e[i] + group_e[i]


# --------------------------------------------------------------------------
# Per trial: the calendar times of the looks
# --------------------------------------------------------------------------


@kernel
def _select(values, lo, hi, k):
    """Rearrange ``values[lo:hi]`` so that ``values[k]`` is in sorted place.

    Hoare quickselect with a median-of-three pivot; afterwards everything in
    ``[lo, k)`` is ``<=`` and everything in ``(k, hi)`` is ``>=`` ``values[k]``.
    """
    hi -= 1
    while hi > lo:
        mid = (lo + hi) // 2
        a, b, c = values[lo], values[mid], values[hi]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = lo, hi
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return values[k]


@kernel
def _cuts(calendar, m, look_events, bucket, counts, buffer, cuts, at_cut):
    """Calendar times of the ``look_events[k]``-th smallest of ``calendar[:m]``.

    A bucket selection in expected linear time: ``m`` equal-width buckets over
    the range, counts, then a quickselect inside the one bucket that holds
    each wanted rank. Needs ``look_events[k] <= m``. ``at_cut[k]`` counts the
    events at or before ``cuts[k]`` (more than ``look_events[k]`` only when
    calendar times tie exactly).
    """
    low = calendar[0]
    high = calendar[0]
    for i in range(1, m):
        low = min(low, calendar[i])
        high = max(high, calendar[i])
    scale = m / (high - low) if high > low else 0.0
    for b in range(m):
        counts[b] = 0
    for i in range(m):
        b = min(int((calendar[i] - low) * scale), m - 1)
        bucket[i] = b
        counts[b] += 1
    b = 0
    before = 0  # values in buckets < b
    for k in range(look_events.size):
        while before + counts[b] < look_events[k]:
            before += counts[b]
            b += 1
        filled = 0
        for i in range(m):
            if bucket[i] == b:
                buffer[filled] = calendar[i]
                filled += 1
        cut = _select(buffer, 0, filled, look_events[k] - before - 1)
        cuts[k] = cut
        at_cut[k] = before
        for i in range(filled):
            if buffer[i] <= cut:
                at_cut[k] += 1


# --------------------------------------------------------------------------
# Per look: the log-rank statistic at a data cut
# --------------------------------------------------------------------------


@kernel
def _look(cut, n_total, exit_y, cal_y, event_y, group_y, entry_e, cal_e,
          group_e, cum_exp_e, events_at_cut):
    """Log-rank statistic of the data cut at calendar time ``cut``.

    ``*_y`` are the subjects ordered by exit, ``*_e`` ordered by entry
    (``cum_exp_e[j]`` = experimental subjects among the first ``j``). At the
    cut, a subject with calendar exit ``<= cut`` leaves the risk set at its
    exit (event or dropout): stream A, taken in exit order. Any other subject
    enrolled before the cut is censored at ``cut - entry``: stream B, taken in
    descending entry order. Before each distinct exit time of A, the B
    subjects censored strictly earlier leave (those censored at the same time
    are still at risk, the usual ties convention). The pass ends after the
    last event.

    Returns ``(z, hr_pike, enrolled)``.
    """
    enrolled = np.searchsorted(entry_e[:n_total], cut)
    at_risk = float(enrolled)
    at_risk_e = float(cum_exp_e[enrolled])
    ib = enrolled - 1
    left = events_at_cut
    variance = 0.0
    observed_e = 0.0
    expected_e = 0.0
    observed = 0.0
    time = -1.0
    deaths = 0
    deaths_e = 0
    leaving = 0
    leaving_e = 0
    for ia in range(n_total + 1):
        if ia < n_total:
            if cal_y[ia] > cut:
                continue
            t = exit_y[ia]
        else:
            t = np.inf  # flush the last group
        if t != time:
            if deaths > 0:
                mean, var = logrank_terms(at_risk, at_risk_e, deaths)
                expected_e += mean
                variance += var
                observed_e += deaths_e
                observed += deaths
                left -= deaths
            at_risk -= leaving
            at_risk_e -= leaving_e
            deaths = 0
            deaths_e = 0
            leaving = 0
            leaving_e = 0
            if left <= 0 or ia == n_total:
                break
            while ib >= 0 and cut - entry_e[ib] < t:
                # Branch-free: A subjects met here have left already.
                censored = cal_e[ib] > cut
                at_risk -= censored
                at_risk_e -= censored * group_e[ib]
                ib -= 1
            time = t
        g = group_y[ia]
        leaving += 1
        leaving_e += g
        if event_y[ia]:
            deaths += 1
            deaths_e += g
    score = expected_e - observed_e
    z = score / np.sqrt(variance) if variance > 0.0 else 0.0
    observed_c = observed - observed_e
    expected_c = observed - expected_e
    hr = (observed_e / expected_e) / (observed_c / expected_c)
    return z, hr, enrolled


# --------------------------------------------------------------------------
# Many trials
# --------------------------------------------------------------------------


@kernel
def _simulate(rng, n_sims, n_c, n_e, acc_edges, acc_cumulative, times, hazards,
              hazard_ratio, multiplier, dropout_c, dropout_e, look_events,
              efficacy, futility, sided, stop_look, decision, z_final, hr_final,
              events_final, enrolled_final, events_short, look_times, z_looks):
    """Simulate ``n_sims`` trials; write per-trial results into the outputs."""
    n_total = n_c + n_e
    n_looks = look_events.size
    entry = np.empty(n_total)
    perm = np.empty(n_total, dtype=np.int64)
    # All subjects in exit order ...
    exit_y = np.empty(n_total)
    event_y = np.empty(n_total, dtype=np.bool_)
    group_y = np.empty(n_total, dtype=np.int64)
    entry_y = np.empty(n_total)
    cal_y = np.empty(n_total)
    # ... and in entry order.
    exit_e = np.empty(n_total)
    cal_e = np.empty(n_total)
    group_e = np.empty(n_total, dtype=np.int64)
    cum_exp_e = np.zeros(n_total + 1, dtype=np.int64)
    # Event calendar times and the look selection's scratch.
    calendar = np.empty(n_total)
    bucket = np.empty(n_total, dtype=np.int64)
    counts = np.empty(n_total, dtype=np.int64)
    buffer = np.empty(n_total)
    cuts = np.empty(n_looks)
    at_cuts = np.empty(n_looks, dtype=np.int64)

    for trial in range(n_sims):
        theta_c = multiplier[trial]
        theta_e = multiplier[trial] * hazard_ratio[trial]
        _draw_entries(rng, n_total, acc_edges, acc_cumulative, entry)
        _draw_exits(rng, n_c, n_e, times, hazards, theta_c, theta_e, dropout_c,
                    dropout_e, exit_y, event_y, group_y, perm)
        _couple(n_total, entry, exit_y, group_y, perm, entry_y, cal_y, exit_e,
                cal_e, group_e, cum_exp_e)

        n_events = 0
        for j in range(n_total):
            if event_y[j]:
                calendar[n_events] = cal_y[j]
                n_events += 1
        reachable = 0  # looks whose target is reached
        while reachable < n_looks and look_events[reachable] <= n_events:
            reachable += 1
        if reachable > 0:
            _cuts(calendar, n_events, look_events[:reachable], bucket, counts,
                  buffer, cuts, at_cuts)

        events_short[trial] = False
        for k in range(n_looks):
            if k < reachable:
                cut = cuts[k]
                at_cut = at_cuts[k]
            else:
                # Too few events ever: analyse at the last one and stop.
                events_short[trial] = True
                at_cut = n_events
                cut = entry[n_total - 1]
                if n_events > 0:
                    cut = calendar[0]
                    for j in range(1, n_events):
                        cut = max(cut, calendar[j])
            z, hr, enrolled = _look(cut, n_total, exit_y, cal_y, event_y,
                                    group_y, entry, cal_e, group_e, cum_exp_e,
                                    at_cut)
            look_times[trial, k] = cut
            z_looks[trial, k] = z
            outcome = NONE
            if z >= efficacy[k]:
                outcome = EFFICACY
            elif sided == 2 and z <= -efficacy[k]:
                outcome = UNFAVOURABLE
            elif k < n_looks - 1 and z <= futility[k]:
                outcome = FUTILITY
            if outcome != NONE or events_short[trial] or k == n_looks - 1:
                stop_look[trial] = k
                decision[trial] = outcome
                z_final[trial] = z
                hr_final[trial] = hr if at_cut > 0 else np.nan
                events_final[trial] = at_cut
                enrolled_final[trial] = enrolled
                break


@kernel
def _patients(rng, n, times, hazards, theta, dropout, exit_time, is_event):
    group = np.empty(n, dtype=np.int64)
    perm = np.empty(n, dtype=np.int64)
    _draw_exits(rng, n, 0, times, hazards, theta, 1.0, dropout, 0.0, exit_time,
                is_event, group, perm)


# --------------------------------------------------------------------------
# Public, validating wrappers
# --------------------------------------------------------------------------


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
        Pike's estimate ``(O_e/E_e) / (O_c/E_c)`` at the stopping look.
    events : ndarray of int
        Events in the stopping analysis.
    enrolled : ndarray of int
        Subjects entered before the stopping analysis.
    events_short : ndarray of bool
        The events ran out before a look's target: that look was analysed at
        the last event and the trial stopped there.
    look_times : ndarray of float, shape (n_sims, K)
        Calendar time of each look reached (NaN for looks not reached); the
        duration of the trial is ``look_times[i, stop_look[i]]``.
    z_looks : ndarray of float, shape (n_sims, K)
        z at each look reached (NaN otherwise).
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

    @property
    def duration(self):
        """Calendar time of the stopping analysis, per trial."""
        return self.look_times[np.arange(self.stop_look.size), self.stop_look]


def _pieces_iv(control):
    try:
        times, hazards = (np.asarray(a, dtype=float).ravel() for a in control)
    except (TypeError, ValueError):
        raise InputError("`control` must be a pair (times, hazards)") from None
    if times.size == 0 or times.size != hazards.size:
        raise InputError("`control` times and hazards must have the same length >= 1")
    if times[0] != 0.0 or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
        raise InputError("`control` times must start at 0 and increase strictly")
    if np.any(hazards < 0) or not np.all(np.isfinite(hazards)):
        raise InputError("`control` hazards must be finite and >= 0")
    return times, hazards


def _accrual_iv(accrual):
    try:
        edges, rates = (np.asarray(a, dtype=float).ravel() for a in accrual)
    except (TypeError, ValueError):
        raise InputError("`accrual` must be a pair (edges, rates)") from None
    if edges.size != rates.size + 1 or rates.size == 0:
        raise InputError("`accrual` edges must have one more entry than rates")
    if edges[0] != 0.0 or np.any(np.diff(edges) <= 0) or not np.all(np.isfinite(edges)):
        raise InputError("`accrual` edges must start at 0 and increase strictly")
    if np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise InputError("`accrual` rates must be finite and >= 0")
    mass = np.concatenate([[0.0], np.cumsum(rates * np.diff(edges))])
    if mass[-1] <= 0:
        raise InputError("`accrual` rates must not all be 0")
    cumulative = mass / mass[-1]
    cumulative[-1] = 1.0
    return edges, cumulative


def _per_trial(value, n_sims, name):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_sims, float(arr))
    if arr.shape != (n_sims,):
        raise InputError(f"`{name}` must be a number or an array of length n_sims={n_sims}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"`{name}` must be finite and > 0")
    return np.ascontiguousarray(arr)


def _looks_iv(look_events, efficacy, futility, n_total, sided):
    looks = np.asarray(look_events)
    if looks.ndim != 1 or looks.size == 0 or not np.issubdtype(looks.dtype, np.integer):
        raise InputError("`look_events` must be a non-empty list of integers")
    looks = looks.astype(np.int64)
    if looks[0] < 1 or np.any(np.diff(looks) <= 0) or looks[-1] > n_total:
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
                    hazard_ratio, look_events, efficacy, futility=None, sided=1,
                    dropout=(0.0, 0.0), control_multiplier=1.0, rng):
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
        z bound per look; stop for futility when ``z <= futility[k]`` at an
        interim look (the final entry is not used). ``-inf`` (default) for
        none.
    sided : {1, 2}
    dropout : (float, float)
        Exponential dropout hazards ``(control, experimental)``.
    control_multiplier : float or ndarray
        Multiplies the control hazards (and so the experimental ones) per
        trial, for a prior on the control median.
    rng : numpy.random.Generator
        The only source of randomness; it is advanced.

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
    edges, cumulative = _accrual_iv(accrual)
    times, hazards = _pieces_iv(control)
    hr = _per_trial(hazard_ratio, n_sims, "hazard_ratio")
    mult = _per_trial(control_multiplier, n_sims, "control_multiplier")
    drop_c, drop_e = (float(x) for x in dropout)
    if not (drop_c >= 0 and drop_e >= 0 and np.isfinite(drop_c + drop_e)):
        raise InputError("`dropout` hazards must be finite and >= 0")
    looks, efficacy, futility = _looks_iv(look_events, efficacy, futility, n_c + n_e, sided)
    n_looks = looks.size

    stop_look = np.zeros(n_sims, dtype=np.int64)
    decision = np.zeros(n_sims, dtype=np.int8)
    z = np.zeros(n_sims)
    hr_hat = np.zeros(n_sims)
    events = np.zeros(n_sims, dtype=np.int64)
    enrolled = np.zeros(n_sims, dtype=np.int64)
    short = np.zeros(n_sims, dtype=np.bool_)
    look_times = np.full((n_sims, n_looks), np.nan)
    z_looks = np.full((n_sims, n_looks), np.nan)
    _simulate(rng, n_sims, n_c, n_e, edges, cumulative, times, hazards, hr, mult,
              drop_c, drop_e, looks, efficacy, futility, int(sided), stop_look,
              decision, z, hr_hat, events, enrolled, short, look_times, z_looks)
    return SurvivalTrials(stop_look=stop_look, decision=decision, z=z,
                          hazard_ratio=hr_hat, events=events, enrolled=enrolled,
                          events_short=short, look_times=look_times, z_looks=z_looks)


def simulate_patients(n, *, control, hazard_multiplier=1.0, dropout=0.0, rng):
    """Follow-up of ``n`` patients of one arm, drawn as the trial kernel draws them.

    Useful to check the generator (Kaplan-Meier against the configured
    survival). No administrative censoring: each patient is followed until the
    event or dropout.

    Parameters
    ----------
    n : int
    control : (array_like, array_like)
        ``(times, hazards)`` of the control arm.
    hazard_multiplier : float
        Multiplies the hazards (the hazard ratio for an experimental arm).
    dropout : float
        Exponential dropout hazard.
    rng : numpy.random.Generator

    Returns
    -------
    time : ndarray
        Time to event or dropout, sorted ascending (``inf`` if neither ever
        happens).
    event : ndarray of bool
        True where the exit is an event.

    Examples
    --------
    >>> import numpy as np
    >>> t, e = simulate_patients(5, control=([0.0], [0.1]), rng=np.random.default_rng(0))
    >>> bool(np.all(np.diff(t) >= 0)), bool(e.all())
    (True, True)
    """
    times, hazards = _pieces_iv(control)
    theta = float(hazard_multiplier)
    if not (np.isfinite(theta) and theta > 0):
        raise InputError("`hazard_multiplier` must be finite and > 0")
    dropout = float(dropout)
    if not (np.isfinite(dropout) and dropout >= 0):
        raise InputError("`dropout` must be finite and >= 0")
    n = int(n)
    if n < 1:
        raise InputError("`n` must be >= 1")
    exit_time = np.empty(n)
    is_event = np.empty(n, dtype=np.bool_)
    _patients(rng, n, times, hazards, theta, dropout, exit_time, is_event)
    return exit_time, is_event
