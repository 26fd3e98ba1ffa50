"""Numba kernels that simulate patients whose endpoints are correlated.

The independent kernels (:mod:`simulator.engine.binary`,
:mod:`simulator.engine.survival`) never see a patient twice, so they cannot
make one patient's outcomes depend on each other. Here every patient carries
a latent normal vector ``Z = L e`` (``e`` iid standard normal, ``L`` the
Cholesky factor of the endpoints' correlation matrix): a Gaussian copula.

- Binary endpoint ``j``: the event (the outcome the rate counts, on its
  natural scale) happens when ``Z_j < Phi^-1(p)``, so its marginal is exactly
  Bernoulli(p) for the patient's arm. The caller passes these thresholds.
- Survival endpoint (the last component): ``E = -log(1 - Phi(Z_s))`` is a
  standard exponential variable, and the event time is the inverse of the
  arm's cumulative hazard at ``E``. A small ``Z_s`` gives an early event, as
  a small ``Z_j`` gives a binary event: a positive correlation means that a
  patient with the binary event tends to die sooner. Dropout is an
  independent exponential time.

Two analysis schedules:

:func:`simulate_entry_order`
    Binary endpoints only: look ``k`` analyses the first ``looks_c[k]``
    evaluable control and ``looks_e[k]`` experimental patients, as the
    sufficient-statistic kernel does (so the marginals are those of
    :class:`simulator.endpoints.binary.BinaryPlan`). No entry times are
    needed: patients are exchangeable.
:func:`simulate_calendar`
    With a survival endpoint: entry times (piecewise accrual), the calendar
    time of each look at its target number of events, the log-rank z there,
    and for every binary endpoint the counts among patients whose outcome is
    known by then (``entry + delay <= look time``) and who are evaluable.

Kernels are deterministic given the generator; all random numbers come from
the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator._jit import kernel
from simulator.engine.survival import _accrual_iv, _cuts, _draw_entries, _pieces_iv, logrank_terms
from simulator.errors import InputError

__all__ = [
    "CalendarTrials",
    "calendar_trial_patients",
    "decide_z",
    "simulate_calendar",
    "simulate_entry_order",
]

_SQRT_HALF = 1.0 / math.sqrt(2.0)


# --------------------------------------------------------------------------
# Per patient
# --------------------------------------------------------------------------


@kernel
def _latent(rng, chol, e, z):
    """One patient's correlated standard normals ``z = chol @ e``."""
    m = chol.shape[0]
    for j in range(m):
        e[j] = rng.standard_normal()
    for j in range(m):
        total = 0.0
        for k in range(j + 1):
            total += chol[j, k] * e[k]
        z[j] = total


@kernel
def _inverse_cumulative_hazard(target, times, hazards, cumulative):
    """Time at which the piecewise-constant cumulative hazard reaches ``target``."""
    last = times.size - 1
    piece = 0
    while piece < last and cumulative[piece + 1] <= target:
        piece += 1
    if hazards[piece] <= 0.0:
        return np.inf
    return times[piece] + (target - cumulative[piece]) / hazards[piece]


# --------------------------------------------------------------------------
# Binary endpoints only: looks at fixed numbers of patients per arm
# --------------------------------------------------------------------------


@kernel
def _entry_order(rng, n_sims, looks_c, looks_e, chol, thresholds, x_c, x_e):
    n_binary = thresholds.shape[1]
    n_looks = looks_c.size
    e = np.empty(n_binary)
    z = np.empty(n_binary)
    running = np.zeros(n_binary, dtype=np.int64)
    for i in range(n_sims):
        for arm in range(2):
            looks = looks_c if arm == 0 else looks_e
            out = x_c if arm == 0 else x_e
            for b in range(n_binary):
                running[b] = 0
            look = 0
            for patient in range(looks[n_looks - 1]):
                _latent(rng, chol, e, z)
                for b in range(n_binary):
                    if z[b] < thresholds[i, b, arm]:
                        running[b] += 1
                while look < n_looks and patient + 1 == looks[look]:
                    for b in range(n_binary):
                        out[b, i, look] = running[b]
                    look += 1


def simulate_entry_order(rng, looks_c, looks_e, cholesky, thresholds):
    """Correlated binary endpoints analysed at fixed numbers of patients.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness; it is advanced.
    looks_c, looks_e : array_like of int, shape (K,)
        Cumulative evaluable patients per arm at each look, increasing.
    cholesky : ndarray, shape (B, B)
        Lower Cholesky factor of the latent correlation matrix.
    thresholds : ndarray, shape (n_sims, B, 2)
        ``Phi^-1(p)`` per trial, endpoint and arm (control, experimental),
        ``p`` the true event rate on the natural scale.

    Returns
    -------
    x_c, x_e : ndarray of int64, shape (B, n_sims, K)
        Cumulative events per endpoint, trial and look.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> thr = np.full((1000, 2, 2), stats.norm.ppf(0.3))
    >>> chol = np.linalg.cholesky(np.array([[1.0, 0.5], [0.5, 1.0]]))
    >>> x_c, x_e = simulate_entry_order(np.random.default_rng(1), [100], [100], chol, thr)
    >>> x_c.shape, bool(abs(x_c.mean() / 100 - 0.3) < 0.01)
    ((2, 1000, 1), True)
    """
    looks_c = np.ascontiguousarray(looks_c, dtype=np.int64)
    looks_e = np.ascontiguousarray(looks_e, dtype=np.int64)
    chol, thresholds = _copula_iv(cholesky, thresholds)
    if looks_c.shape != looks_e.shape or looks_c.size == 0 or np.any(np.diff(looks_c) <= 0) \
            or np.any(np.diff(looks_e) <= 0) or looks_c[0] < 1 or looks_e[0] < 1:
        raise InputError("`looks_c` and `looks_e` must be increasing positive patient counts of the same length")
    if chol.shape[0] != thresholds.shape[1]:
        raise InputError("`cholesky` must have one row per binary endpoint of `thresholds`")
    n_sims, n_binary = thresholds.shape[:2]
    x_c = np.zeros((n_binary, n_sims, looks_c.size), dtype=np.int64)
    x_e = np.zeros_like(x_c)
    _entry_order(rng, n_sims, looks_c, looks_e, chol, thresholds, x_c, x_e)
    return x_c, x_e


# --------------------------------------------------------------------------
# With a survival endpoint: looks at calendar times
# --------------------------------------------------------------------------


@kernel
def _logrank_cut(cut, enrolled, entry, exit_time, is_event, group, cum_e, a_index, n_a, events_at_cut):
    """Log-rank statistic at calendar time ``cut`` in one linear pass.

    The same statistic as :func:`simulator.engine.survival.logrank` on the
    data cut (every subject entered by ``cut``, censored there), without a
    sort per look: subjects whose exit (event or dropout) falls by the cut
    come in exit order (``a_index[:n_a]``, sorted once per trial); the others
    are censored at ``cut - entry``, which is ascending in descending entry
    order. As in ``logrank``, subjects censored at an event time are still
    at risk at it. The pass stops after the cut's last event.

    Returns ``(z, observed_c, expected_c, observed_e, expected_e)``.
    """
    at_risk = float(enrolled)
    at_risk_e = float(cum_e[enrolled])
    ib = enrolled - 1
    variance = 0.0
    observed = 0.0
    observed_e = 0.0
    expected_e = 0.0
    left = events_at_cut
    i = 0
    while i < n_a and left > 0:
        p = a_index[i]
        if entry[p] + exit_time[p] > cut:
            i += 1
            continue
        t = exit_time[p]
        while ib >= 0 and cut - entry[ib] < t:
            # Censored at the cut before t (subjects that exit by the cut leave in stream A).
            if entry[ib] + exit_time[ib] > cut:
                at_risk -= 1.0
                at_risk_e -= group[ib]
            ib -= 1
        deaths = 0.0
        deaths_e = 0.0
        leaving = 0.0
        leaving_e = 0.0
        while i < n_a and exit_time[a_index[i]] == t:
            p = a_index[i]
            i += 1
            if entry[p] + exit_time[p] > cut:
                continue
            leaving += 1.0
            leaving_e += group[p]
            if is_event[p]:
                deaths += 1.0
                deaths_e += group[p]
        if deaths > 0.0:
            mean, var = logrank_terms(at_risk, at_risk_e, deaths)
            expected_e += mean
            variance += var
            observed_e += deaths_e
            observed += deaths
            left -= int(deaths)
        at_risk -= leaving
        at_risk_e -= leaving_e
    z = (expected_e - observed_e) / np.sqrt(variance) if variance > 0.0 else 0.0
    return z, observed - observed_e, observed - expected_e, observed_e, expected_e


@kernel
def _calendar_trial(rng, i, n_c, n_e, evaluable_c, evaluable_e, acc_edges, acc_cumulative,
                    times, hazards, cumulative, theta_c, theta_e, dropout_c, dropout_e, chol,
                    thresholds, delays, look_events,
                    entry, label, exit_time, is_event, binary_event, calendar, e, z,
                    time_buf, a_index, group_buf, cum_e, bucket, counts, buffer, cuts, at_cuts,
                    x_c, x_e, m_c, m_e, z_looks, hr_looks, look_times, events, enrolled, short):
    """Simulate trial ``i``; write its per-look results. Returns the last look analysed.

    ``label`` codes each patient (in entry order): 0 control evaluable,
    1 control without a binary outcome (``missing``), 2 experimental
    evaluable, 3 experimental missing. A uniform shuffle of the exact counts
    is randomisation with fixed arm sizes and a missing subset of fixed size
    per arm, independent of entry time and outcomes.
    """
    n = n_c + n_e
    n_binary = thresholds.shape[1]
    n_looks = look_events.size
    survival = chol.shape[0] - 1  # the latent component of the survival endpoint

    _draw_entries(rng, n, acc_edges, acc_cumulative, entry)
    for p in range(n):
        if p < evaluable_c:
            label[p] = 0
        elif p < n_c:
            label[p] = 1
        elif p < n_c + evaluable_e:
            label[p] = 2
        else:
            label[p] = 3
    for p in range(n - 1, 0, -1):
        q = int(rng.random() * (p + 1))
        label[p], label[q] = label[q], label[p]

    n_events = 0
    for p in range(n):
        arm = 1 if label[p] >= 2 else 0
        _latent(rng, chol, e, z)
        for b in range(n_binary):
            binary_event[p, b] = z[b] < thresholds[i, b, arm]
        # -log(1 - Phi(z)) = -log(Phi(-z)): accurate for large z too.
        unit = -math.log(0.5 * math.erfc(z[survival] * _SQRT_HALF))
        theta = theta_e if arm == 1 else theta_c
        event_time = _inverse_cumulative_hazard(unit / theta, times, hazards, cumulative)
        rate = dropout_e if arm == 1 else dropout_c
        drop_time = rng.exponential() / rate if rate > 0.0 else np.inf
        if event_time <= drop_time and event_time < np.inf:
            exit_time[p] = event_time
            is_event[p] = True
            calendar[n_events] = entry[p] + event_time
            n_events += 1
        else:
            exit_time[p] = drop_time
            is_event[p] = False
    # Look times by selection, not sorting (expected linear time).
    reachable = 0
    while reachable < n_looks and look_events[reachable] <= n_events:
        reachable += 1
    if reachable > 0:
        _cuts(calendar, n_events, look_events[:reachable], bucket, counts, buffer, cuts, at_cuts)
    last_event = entry[n - 1]  # no event at all: analyse at the last entry
    if n_events > 0:
        last_event = calendar[0]
        for j in range(1, n_events):
            last_event = max(last_event, calendar[j])

    # Subjects who exit by the last possible cut, in exit order: sorted once,
    # every look's log-rank pass reads them in this order.
    final_cut = cuts[n_looks - 1] if reachable == n_looks else last_event
    n_a = 0
    for p in range(n):
        group_buf[p] = 1 if label[p] >= 2 else 0
        cum_e[p + 1] = cum_e[p] + group_buf[p]
        if entry[p] + exit_time[p] <= final_cut:
            a_index[n_a] = p
            time_buf[n_a] = exit_time[p]
            n_a += 1
    order = np.argsort(time_buf[:n_a])
    for j in range(n_a):
        order[j] = a_index[order[j]]
    for j in range(n_a):
        a_index[j] = order[j]

    last = n_looks - 1
    for k in range(n_looks):
        short[i, k] = k >= reachable
        if not short[i, k]:
            cut = cuts[k]
            at_cut = at_cuts[k]
        else:
            cut = last_event  # too few events ever: analyse at the last one
            at_cut = n_events
        m = 0
        while m < n and entry[m] <= cut:
            m += 1
        zk, o_c, e_c, o_e, e_e = _logrank_cut(cut, m, entry, exit_time, is_event, group_buf, cum_e, a_index, n_a,
                                              at_cut)
        z_looks[i, k] = zk
        hr_looks[i, k] = (o_e / e_e) / (o_c / e_c) if o_c > 0.0 and e_e > 0.0 else np.nan
        look_times[i, k] = cut
        events[i, k] = int(o_c + o_e + 0.5)
        enrolled[i, k] = m
        for b in range(n_binary):
            # Entries are sorted: the known outcomes are a prefix.
            known = 0
            while known < m and entry[known] + delays[b] <= cut:
                known += 1
            xc = 0
            xe = 0
            nc = 0
            ne = 0
            for p in range(known):
                if label[p] == 0:
                    nc += 1
                    xc += binary_event[p, b]
                elif label[p] == 2:
                    ne += 1
                    xe += binary_event[p, b]
            x_c[b, i, k] = xc
            x_e[b, i, k] = xe
            m_c[b, i, k] = nc
            m_e[b, i, k] = ne
        if short[i, k]:
            last = k
            break
    # Looks never reached repeat the last one's data (decisions stop there).
    for k in range(last + 1, n_looks):
        z_looks[i, k] = np.nan
        hr_looks[i, k] = np.nan
        look_times[i, k] = np.nan
        events[i, k] = events[i, last]
        enrolled[i, k] = enrolled[i, last]
        short[i, k] = True
        for b in range(n_binary):
            x_c[b, i, k] = x_c[b, i, last]
            x_e[b, i, k] = x_e[b, i, last]
            m_c[b, i, k] = m_c[b, i, last]
            m_e[b, i, k] = m_e[b, i, last]
    return last


@kernel
def _calendar(rng, n_sims, n_c, n_e, evaluable_c, evaluable_e, acc_edges, acc_cumulative,
              times, hazards, cumulative, hazard_ratio, multiplier, dropout_c, dropout_e, chol,
              thresholds, delays, look_events,
              x_c, x_e, m_c, m_e, z_looks, hr_looks, look_times, events, enrolled, short, last_look,
              entry, label, exit_time, is_event, binary_event):
    """Simulate ``n_sims`` trials; the per-patient arrays (length n) are reused
    from trial to trial and hold the last trial's patients on return."""
    n = n_c + n_e
    calendar = np.empty(n)
    e = np.empty(chol.shape[0])
    z = np.empty(chol.shape[0])
    time_buf = np.empty(n)
    a_index = np.empty(n, dtype=np.int64)
    group_buf = np.empty(n, dtype=np.int64)
    cum_e = np.zeros(n + 1, dtype=np.int64)
    bucket = np.empty(n, dtype=np.int64)
    counts = np.empty(n, dtype=np.int64)
    buffer = np.empty(n)
    cuts = np.empty(look_events.size)
    at_cuts = np.empty(look_events.size, dtype=np.int64)
    for i in range(n_sims):
        theta_c = multiplier[i]
        theta_e = multiplier[i] * hazard_ratio[i]
        last_look[i] = _calendar_trial(
            rng, i, n_c, n_e, evaluable_c, evaluable_e, acc_edges, acc_cumulative, times, hazards,
            cumulative, theta_c, theta_e, dropout_c, dropout_e, chol, thresholds, delays, look_events,
            entry, label, exit_time, is_event, binary_event, calendar, e, z, time_buf, a_index,
            group_buf, cum_e, bucket, counts, buffer, cuts, at_cuts, x_c, x_e, m_c, m_e, z_looks, hr_looks,
            look_times, events, enrolled, short,
        )


def _patient_arrays(n, n_binary):
    """Per-patient work arrays of :func:`_calendar` (entry, label, exit, event flags)."""
    return (
        np.empty(n), np.empty(n, dtype=np.int64), np.empty(n), np.empty(n, dtype=np.bool_),
        np.empty((n, n_binary), dtype=np.int64),
    )


@dataclass(frozen=True)
class CalendarTrials:
    """Per-trial, per-look results of :func:`simulate_calendar`.

    Binary arrays have shape ``(B, n_sims, K)`` (natural-scale events ``x_*``
    and evaluable patients with a known outcome ``n_*`` per arm); the others
    ``(n_sims, K)``. Looks after ``last_look`` (the events ran out at
    ``last_look``) have NaN ``z``, ``hazard_ratio`` and ``look_times`` and
    repeat the counts of ``last_look``.
    """

    x_c: np.ndarray
    x_e: np.ndarray
    n_c: np.ndarray
    n_e: np.ndarray
    z: np.ndarray
    hazard_ratio: np.ndarray
    look_times: np.ndarray
    events: np.ndarray
    enrolled: np.ndarray
    short: np.ndarray
    last_look: np.ndarray


def _copula_iv(cholesky, thresholds):
    chol = np.ascontiguousarray(cholesky, dtype=float)
    if chol.ndim != 2 or chol.shape[0] != chol.shape[1] or chol.shape[0] < 1 or not np.all(np.isfinite(chol)):
        raise InputError("`cholesky` must be a finite square matrix")
    thresholds = np.ascontiguousarray(thresholds, dtype=float)
    if thresholds.ndim != 3 or thresholds.shape[2] != 2 or np.any(np.isnan(thresholds)):
        raise InputError("`thresholds` must have shape (n_sims, B, 2) without NaN")
    return chol, thresholds


def _calendar_iv(n_c, n_e, missing=(0, 0), *, accrual, control, hazard_ratio, multiplier=1.0, dropout=(0.0, 0.0),
                 cholesky, thresholds, delays, look_events):
    n_c, n_e = int(n_c), int(n_e)
    if n_c < 1 or n_e < 1:
        raise InputError("each arm must have >= 1 subject")
    missing_c, missing_e = (int(v) for v in missing)
    if not (0 <= missing_c <= n_c and 0 <= missing_e <= n_e):
        raise InputError("`missing` must be per-arm counts between 0 and the arm's size")
    edges, acc_cumulative = _accrual_iv(accrual)
    times, hazards = _pieces_iv(control)
    cumulative = np.concatenate([[0.0], np.cumsum(hazards[:-1] * np.diff(times))])
    chol, thresholds = _copula_iv(cholesky, thresholds)
    n_sims, n_binary = thresholds.shape[:2]
    if chol.shape[0] != n_binary + 1:
        raise InputError("`cholesky` must have one row per binary endpoint plus one (survival, last)")
    per_trial = []
    for value, name in ((hazard_ratio, "hazard_ratio"), (multiplier, "multiplier")):
        arr = np.broadcast_to(np.asarray(value, dtype=float), (n_sims,)).copy()
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise InputError(f"`{name}` must be finite and > 0")
        per_trial.append(arr)
    drop_c, drop_e = (float(v) for v in dropout)
    if not (drop_c >= 0 and drop_e >= 0 and math.isfinite(drop_c + drop_e)):
        raise InputError("`dropout` hazards must be finite and >= 0")
    delays = np.ascontiguousarray(delays, dtype=float)
    if delays.shape != (n_binary,) or np.any(delays < 0) or not np.all(np.isfinite(delays)):
        raise InputError("`delays` must be one finite delay >= 0 per binary endpoint")
    looks = np.asarray(look_events)
    if looks.ndim != 1 or looks.size == 0 or not np.issubdtype(looks.dtype, np.integer) \
            or looks[0] < 1 or np.any(np.diff(looks) <= 0):
        raise InputError("`look_events` must be strictly increasing integers >= 1")
    return (n_sims, n_c, n_e, n_c - missing_c, n_e - missing_e, edges, acc_cumulative, times, hazards, cumulative,
            per_trial[0], per_trial[1], drop_c, drop_e, chol, thresholds, delays, looks.astype(np.int64))


def _calendar_outputs(n_sims, n_binary, n_looks):
    binary = [np.zeros((n_binary, n_sims, n_looks), dtype=np.int64) for _ in range(4)]
    z = np.full((n_sims, n_looks), np.nan)
    hr = np.full((n_sims, n_looks), np.nan)
    look_times = np.full((n_sims, n_looks), np.nan)
    events = np.zeros((n_sims, n_looks), dtype=np.int64)
    enrolled = np.zeros((n_sims, n_looks), dtype=np.int64)
    short = np.zeros((n_sims, n_looks), dtype=np.bool_)
    return (*binary, z, hr, look_times, events, enrolled, short)


def simulate_calendar(rng, n_control, n_experimental, *, missing=(0, 0), accrual, control, hazard_ratio,
                      multiplier=1.0, dropout=(0.0, 0.0), cholesky, thresholds, delays, look_events):
    """Trials with one survival endpoint and correlated binary endpoints, looks at calendar times.

    Look ``k`` is at the calendar time of the ``look_events[k]``-th event
    (entry + event time). There the log-rank statistic uses every subject
    entered by then, censored at the look; each binary endpoint counts the
    evaluable patients whose outcome is known: ``entry + delay <= look time``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness; it is advanced.
    n_control, n_experimental : int
        Subjects per arm (exact counts, randomly ordered in entry time).
    missing : (int, int)
        Patients per arm without a binary outcome (a random subset; they
        still count for survival).
    accrual : (array_like, array_like)
        ``(edges, rates)``, as :func:`simulator.engine.survival.simulate_trials`.
    control : (array_like, array_like)
        ``(times, hazards)``: piecewise-constant control hazard.
    hazard_ratio, multiplier : float or ndarray (n_sims,)
        Per-trial hazard ratio (experimental / control) and control-hazard
        multiplier, drawn by the caller under a prior.
    dropout : (float, float)
        Exponential dropout hazards (control, experimental).
    cholesky : ndarray, shape (B + 1, B + 1)
        Lower Cholesky factor of the latent correlation matrix, binary
        endpoints first and the survival endpoint last.
    thresholds : ndarray, shape (n_sims, B, 2)
        ``Phi^-1(p)`` per trial, binary endpoint and arm (natural scale).
    delays : array_like, shape (B,)
        Months from entry until each binary outcome is known.
    look_events : array_like of int, shape (K,)
        Events that trigger each look.

    Returns
    -------
    CalendarTrials

    Examples
    --------
    >>> import numpy as np
    >>> out = simulate_calendar(np.random.default_rng(2), 100, 100, accrual=([0.0, 24.0], [1.0]),
    ...                         control=([0.0], [0.05]), hazard_ratio=0.7, cholesky=np.eye(2),
    ...                         thresholds=np.zeros((50, 1, 2)), delays=[3.0], look_events=[60, 120])
    >>> out.z.shape, bool(np.all(out.events[:, 1] == 120))
    ((50, 2), True)
    """
    args = _calendar_iv(n_control, n_experimental, missing, accrual=accrual, control=control,
                        hazard_ratio=hazard_ratio, multiplier=multiplier, dropout=dropout, cholesky=cholesky,
                        thresholds=thresholds, delays=delays, look_events=look_events)
    n_sims, n_binary, n_looks = args[0], args[15].shape[1], args[17].size
    outputs = _calendar_outputs(n_sims, n_binary, n_looks)
    last_look = np.zeros(n_sims, dtype=np.int64)
    _calendar(rng, *args, *outputs, last_look, *_patient_arrays(args[1] + args[2], n_binary))
    return CalendarTrials(*outputs, last_look)


def calendar_trial_patients(rng, n_control, n_experimental, **kwargs):
    """One trial of :func:`simulate_calendar` together with its patients.

    Takes the same arguments (``thresholds`` of shape ``(1, B, 2)``) and
    draws the same numbers as the first trial of :func:`simulate_calendar`
    on the same generator, so tests can recompute every look from the
    patients.

    Returns
    -------
    trial : CalendarTrials
        With ``n_sims = 1``.
    patients : dict
        ``entry`` (sorted), ``arm`` (0 control, 1 experimental), ``evaluable``
        (has a binary outcome), ``exit_time`` (event or dropout, from entry),
        ``is_event`` and ``binary_event`` (shape ``(n, B)``, natural scale).
    """
    args = _calendar_iv(n_control, n_experimental, **kwargs)
    n_sims, n_binary, n_looks = args[0], args[15].shape[1], args[17].size
    if n_sims != 1:
        raise InputError("`thresholds` must describe one trial: shape (1, B, 2)")
    outputs = _calendar_outputs(1, n_binary, n_looks)
    last_look = np.zeros(1, dtype=np.int64)
    entry, label, exit_time, is_event, binary_event = arrays = _patient_arrays(args[1] + args[2], n_binary)
    _calendar(rng, *args, *outputs, last_look, *arrays)
    trial = CalendarTrials(*outputs, last_look)
    patients = dict(entry=entry, arm=(label >= 2).astype(np.int64), evaluable=(label % 2 == 0), exit_time=exit_time,
                    is_event=is_event, binary_event=binary_event.astype(bool))
    return trial, patients


# --------------------------------------------------------------------------
# Decisions on z statistics (the survival endpoint)
# --------------------------------------------------------------------------


def decide_z(z, efficacy, futility, sided, last_look):
    """Stopping look and outcome per trial from z per look (vectorised over trials).

    The rules of :func:`simulator.engine.survival.simulate_trials`: at look
    ``k`` reject favourably at ``z >= efficacy[k]``, unfavourably at
    ``z <= -efficacy[k]`` when two-sided, stop for futility at
    ``z <= futility[k]`` before the last look; a trial also stops at its
    ``last_look`` (the events ran out) whatever the outcome.

    Returns
    -------
    stop_look : ndarray of int64
    decision : ndarray of int8
        +1 favourable, -1 unfavourable, 2 futility, 0 none.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[3.0, 0.0], [1.0, 2.5], [-1.0, 0.0]])
    >>> decide_z(z, [2.8, 1.97], [-0.5, -np.inf], 1, np.array([1, 1, 1]))
    (array([0, 1, 0]), array([1, 1, 2], dtype=int8))
    """
    z = np.asarray(z, dtype=float)
    n_sims, n_looks = z.shape
    stop = np.full(n_sims, n_looks - 1, dtype=np.int64)
    decision = np.zeros(n_sims, dtype=np.int8)
    open_ = np.ones(n_sims, dtype=bool)
    for k in range(n_looks):
        zk = z[:, k]
        efficacy_k = open_ & (zk >= efficacy[k])
        unfavourable = open_ & ~efficacy_k & (sided == 2) & (zk <= -efficacy[k])
        futile = open_ & ~efficacy_k & ~unfavourable & (k < n_looks - 1) & (zk <= futility[k])
        decision[efficacy_k] = 1
        decision[unfavourable] = -1
        decision[futile] = 2
        ends = open_ & (efficacy_k | unfavourable | futile | (last_look == k))
        stop[ends] = k
        open_ &= ~ends
    return stop, decision
