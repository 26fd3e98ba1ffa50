"""Numba kernels that simulate patients whose endpoints are correlated.

The independent kernels (:mod:`simulator.engine.binary`,
:mod:`simulator.engine.survival`) never see a patient twice, so they cannot
make one patient's outcomes depend on each other. Here every patient carries
a latent normal vector ``Z = L e`` (``e`` iid standard normal, ``L`` the
Cholesky factor of the endpoints' correlation matrix): a Gaussian copula.

- Binary endpoint ``j``: the event (the outcome the rate counts, on its
  natural scale) happens when ``Z_j < Phi^-1(p)``, so its marginal is exactly
  Bernoulli(p) for the patient's arm. The caller passes these thresholds.
  The calendar kernel draws a binary endpoint correlated with no other as a
  uniform below ``p`` instead (:func:`_alone`): the same law, without a
  normal.
- Survival endpoint (the last component): ``E = -log(1 - Phi(Z_s))`` is a
  standard exponential variable, and the event time is the inverse of the
  arm's cumulative hazard at ``E``. A small ``Z_s`` gives an early event, as
  a small ``Z_j`` gives a binary event: a positive correlation means that a
  patient with the binary event tends to die sooner. Dropout is an
  independent exponential time. The calendar kernel draws ``Z_s`` first,
  from one uniform ``v``: ``Z_s = Phi^-1(1 - v)`` and ``E = -log(v)``
  (:func:`_survival_latent`), then the other components given it.

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
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from numba import literal_unroll
from scipy import special

from simulator._jit import kernel
from simulator.engine.bits import exponential, load, normal, open_uniform, seed_bits, store
from simulator.engine.patients import (
    analyse_looks,
    draw_arms,
    draw_entries,
    exit_from_pieces,
    exponential_means,
    look_results,
    patients,
    survival_design,
    workspace,
)
from simulator.errors import InputError
from simulator.stats.decision import z_bounds

__all__ = [
    "CalendarTrials",
    "simulate_calendar",
    "simulate_entry_order",
    "simulate_entry_order_mixed",
]

#: The Gaussian copula of the calendar kernel: lower Cholesky factor with the survival component
#: first (:func:`_survival_first`; callers give it last), ``Phi^-1(p)`` thresholds per
#: trial, binary endpoint and arm, and the delay of each binary outcome; ``rates``, the
#: thresholds' ``p = Phi(threshold)``, and ``alone``, 1 for a component that is a binary
#: endpoint correlated with no other (:func:`_alone`), 0 otherwise.
Copula = namedtuple("Copula", ["cholesky", "thresholds", "delays", "rates", "alone"])
#: Binary counts per endpoint, trial and look (``(B, n_sims, K)``): events
#: and evaluable patients with a known outcome, per arm.
BinaryCounts = namedtuple("BinaryCounts", ["x_c", "x_e", "n_c", "n_e"])
#: Continuous endpoints of a calendar trial: true means and SDs per trial (or one
#: row for all), endpoint and arm (``(n_sims or 1, C, 2)``), each outcome's delay,
#: and ``covariate``: 1 for an endpoint analysed by ANCOVA (each patient draws a
#: standard-normal baseline covariate, independent of the latent vector), 0 otherwise.
ContinuousIn = namedtuple("ContinuousIn", ["mu", "sd", "delays", "covariate"])
#: Their per-look statistics (``(C, n_sims, K)``): evaluable patients with a known
#: outcome, the sum of the outcomes and their sum of squares about their mean, per arm;
#: with a covariate also its sum, its sum of squares about its mean and its sum of
#: products with the outcome about their means, per arm (0 without one).
ContinuousSums = namedtuple("ContinuousSums", ["n_c", "n_e", "sum_c", "sum_e", "ss_c", "ss_e", "sx_c", "sx_e",
                                               "sxx_c", "sxx_e", "sxe_c", "sxe_e"])


# --------------------------------------------------------------------------
# Per patient
# --------------------------------------------------------------------------


#: Wichura's algorithm AS241 (PPND16, Applied Statistics 37, 1988) for ``Phi^-1``: the coefficients of its
#: three rational functions (centre, tail, far tail), numerator then denominator, highest degree first.
_QUANTILE = np.array([
    [2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
     13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608],
    [5226.495278852545561, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
     5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1.0],
    [7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177, 1.27045825245236838258,
     3.64784832476320460504, 5.7694972214606914055, 4.6303378461565452959, 1.42343711074968357734],
    [1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966, 0.14810397642748007459,
     0.68976733498510000455, 1.6763848301838038494, 2.05319162663775882187, 1.0],
    [2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386, 0.026532189526576123093,
     0.29656057182850489123, 1.7848265399172913358, 5.4637849111641143699, 6.6579046435011037772],
    [2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
     0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1.0],
])


@kernel(inline="always")
def _polynomial(row, r, r2, r4):
    """Row ``row`` of :data:`_QUANTILE` at ``r`` by Estrin's scheme: three steps deep instead of Horner's seven."""
    c = _QUANTILE[row]
    return ((c[7] + c[6] * r) + r2 * (c[5] + c[4] * r)) + r4 * ((c[3] + c[2] * r) + r2 * (c[1] + c[0] * r))


@kernel(inline="always")
def _rational(row, r):
    """Rows ``row`` and ``row + 1`` of :data:`_QUANTILE` at ``r``: numerator over denominator."""
    r2 = r * r
    r4 = r2 * r2
    return _polynomial(row, r, r2, r4) / _polynomial(row + 1, r, r2, r4)


@kernel(inline="always")
def _survival_latent(v):
    """``(Z_s, E)`` from a uniform ``v`` in (0, 1): ``E = -log(v)`` and ``Z_s = Phi^-1(1 - v)``, so ``E = -log(1 - Phi(Z_s))``.

    ``Z_s`` by AS241 (to about 1e-15 relative; tests: against ``scipy.special.ndtri``),
    whose upper tail needs ``log(v)``, which is ``-E``: one logarithm for both there.
    ``v`` on the grid ``(k + 1/2) 2^-52`` makes ``1 - v`` and ``1/2 - v`` exact.
    """
    unit = -math.log(v)
    q = 0.5 - v  # Phi(Z_s) - 1/2
    if abs(q) <= 0.425:
        return q * _rational(0, 0.180625 - q * q), unit
    r = math.sqrt(unit) if q > 0.0 else math.sqrt(-math.log(1.0 - v))
    x = _rational(2, r - 1.6) if r <= 5.0 else _rational(4, r - 5.0)
    return (x if q > 0.0 else -x), unit


@kernel(inline="always")
def _known(entry, m, delay, cut):
    """How many of the first ``m`` patients (sorted entries) have ``entry + delay <= cut``: a bisection."""
    lo = 0
    hi = m
    while lo < hi:
        mid = (lo + hi) >> 1
        if entry[mid] + delay <= cut:
            lo = mid + 1
        else:
            hi = mid
    return lo


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


# --------------------------------------------------------------------------
# Binary endpoints only: looks at fixed numbers of patients per arm
# --------------------------------------------------------------------------


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
    x_c, x_e, _, _, _ = simulate_entry_order_mixed(rng, looks_c, looks_e, chol, thresholds, np.zeros((1, 0, 2)),
                                                np.ones((1, 0, 2)))
    return x_c, x_e


@kernel
def _entry_order_mixed(rng, n_sims, looks_c, looks_e, chol, thresholds, mu, sd, covariate, x_c, x_e, s1, s2, sx):
    """Binary counts and continuous sums per look, for patients in entry order (see the wrapper)."""
    n_binary = thresholds.shape[1]
    n_continuous = mu.shape[1]
    n_looks = looks_c.size
    e = np.empty(n_binary + n_continuous)
    z = np.empty(n_binary + n_continuous)
    running = np.zeros(n_binary, dtype=np.int64)
    sums = np.zeros(n_continuous)
    squares = np.zeros(n_continuous)
    # The covariate's sum, sum of squares and product with the outcome (endpoints with one).
    x_sums = np.zeros(n_continuous)
    x_squares = np.zeros(n_continuous)
    products = np.zeros(n_continuous)
    for i in range(n_sims):
        ib = i if thresholds.shape[0] > 1 else 0
        ic = i if mu.shape[0] > 1 else 0
        jc = i if sd.shape[0] > 1 else 0
        for arm in range(2):
            looks = looks_c if arm == 0 else looks_e
            for b in range(n_binary):
                running[b] = 0
            for c in range(n_continuous):
                sums[c] = 0.0
                squares[c] = 0.0
                x_sums[c] = 0.0
                x_squares[c] = 0.0
                products[c] = 0.0
            look = 0
            for patient in range(looks[n_looks - 1]):
                _latent(rng, chol, e, z)
                for b in range(n_binary):
                    if z[b] < thresholds[ib, b, arm]:
                        running[b] += 1
                for c in range(n_continuous):
                    # Deviations from the true mean: sums stay small, so SS = S2 - S1^2 / n keeps its digits.
                    y = sd[jc, c, arm] * z[n_binary + c]
                    sums[c] += y
                    squares[c] += y * y
                    if covariate[c] != 0.0:
                        # The baseline covariate, independent of the latent vector: y is the residual.
                        x = rng.standard_normal()
                        x_sums[c] += x
                        x_squares[c] += x * x
                        products[c] += x * y
                while look < n_looks and patient + 1 == looks[look]:
                    for b in range(n_binary):
                        if arm == 0:
                            x_c[b, i, look] = running[b]
                        else:
                            x_e[b, i, look] = running[b]
                    n = patient + 1
                    for c in range(n_continuous):
                        s1[c, i, arm, look] = mu[ic, c, arm] * n + sums[c]
                        s2[c, i, arm, look] = squares[c] - sums[c] * sums[c] / n
                        if covariate[c] != 0.0:
                            sx[c, i, arm, 0, look] = x_sums[c]
                            sx[c, i, arm, 1, look] = x_squares[c] - x_sums[c] * x_sums[c] / n
                            sx[c, i, arm, 2, look] = products[c] - x_sums[c] * sums[c] / n
                    look += 1


def simulate_entry_order_mixed(rng, looks_c, looks_e, cholesky, thresholds, mu, sd, covariate=None):
    """Correlated binary and continuous endpoints analysed at fixed numbers of patients.

    Every patient carries a latent normal vector ``Z = L e`` (binary
    endpoints first, continuous last): a binary event when ``Z_b <
    Phi^-1(p)``, a continuous outcome ``mu + sd Z_c`` (exactly normal).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness; it is advanced.
    looks_c, looks_e : array_like of int, shape (K,)
        Cumulative evaluable patients per arm at each look, increasing.
    cholesky : ndarray, shape (B + C, B + C)
        Lower Cholesky factor of the latent correlation matrix.
    thresholds : ndarray, shape (n_sims or 1, B, 2)
        ``Phi^-1(p)`` per trial, binary endpoint and arm.
    mu, sd : ndarray, shape (n_sims or 1, C, 2)
        True mean and SD per trial, continuous endpoint and arm.
    covariate : array_like, shape (C,), optional
        1 for an endpoint analysed by ANCOVA: each patient also draws a
        standard-normal baseline covariate, independent of the latent vector
        (the outcome ``sd Z_c`` is then the residual about the covariate's
        regression, whose slope the ANCOVA estimates, so the true slope does
        not enter); 0 (default) otherwise.

    Returns
    -------
    x_c, x_e : ndarray of int64, shape (B, n_sims, K)
        Cumulative events per binary endpoint.
    sums, squares : ndarray, shape (C, n_sims, 2, K)
        Per continuous endpoint and arm: the sum of the outcomes and their
        sum of squares about their own mean, cumulative at each look.
    covariates : ndarray, shape (C, n_sims, 2, 3, K)
        Per continuous endpoint and arm, for endpoints with a covariate (0
        otherwise): the sum of the covariate, its sum of squares about its
        mean and its sum of products with the outcome about their means
        (:func:`simulator.engine.continuous.ancova_moment_statistics`).
    """
    looks_c = np.ascontiguousarray(looks_c, dtype=np.int64)
    looks_e = np.ascontiguousarray(looks_e, dtype=np.int64)
    chol = np.ascontiguousarray(cholesky, dtype=float)
    thresholds = np.ascontiguousarray(thresholds, dtype=float)
    if thresholds.ndim == 2:  # (B, 2): the same for every trial (reshape(-1, ...) cannot size B = 0)
        thresholds = thresholds[None]
    mu = np.ascontiguousarray(mu, dtype=float)
    sd = np.ascontiguousarray(sd, dtype=float)
    n_sims = max(thresholds.shape[0], mu.shape[0], sd.shape[0])
    n_binary, n_continuous, n_looks = thresholds.shape[1], mu.shape[1], looks_c.size
    if chol.shape != (n_binary + n_continuous,) * 2:
        raise InputError("`cholesky` must have one row per binary and continuous endpoint")
    x_c = np.zeros((n_binary, n_sims, n_looks), dtype=np.int64)
    x_e = np.zeros_like(x_c)
    sums = np.zeros((n_continuous, n_sims, 2, n_looks))
    squares = np.zeros_like(sums)
    covariates = np.zeros((n_continuous, n_sims, 2, 3, n_looks))
    covariate = np.zeros(n_continuous) if covariate is None else np.ascontiguousarray(covariate, dtype=float)
    if covariate.shape != (n_continuous,):
        raise InputError("`covariate` needs one value per continuous endpoint")
    _entry_order_mixed(rng, n_sims, looks_c, looks_e, chol, thresholds, mu, sd, covariate, x_c, x_e, sums, squares,
                       covariates)
    return x_c, x_e, sums, squares, covariates


# --------------------------------------------------------------------------
# With a survival endpoint: looks at calendar times
# --------------------------------------------------------------------------


@kernel(counted=False)
def _calendar_trial(rng, i, design, bounds, copula, theta_c, theta_e, pts, binary_event, e, z, work, out, counts,
                    continuous, sums, values):
    """Simulate trial ``i``; write its per-look results. Returns the last look analysed.

    Without reference counting, nor in the kernels it calls (:mod:`simulator._jit`):
    it allocates nothing, and a count on every array of its tuples at every call
    cost about a tenth of a trial.

    Entries and arms (with a missing subset of fixed size per arm) are
    :func:`~simulator.engine.patients.draw_entries` and
    :func:`~simulator.engine.patients.draw_arms`, from the trial's own
    random numbers seeded from ``rng`` (:mod:`simulator.engine.bits`); per patient the latent
    vector gives the binary outcomes and the unit exponential of the
    survival exit (:func:`~simulator.engine.patients.exit_from_pieces`); the
    looks are :func:`~simulator.engine.patients.analyse_looks`, every look up
    to the last one analysed (the binary endpoints need them all).
    """
    n = design.n_c + design.n_e
    chol, thresholds, delays, rates, alone = copula
    x_c, x_e, m_c, m_e = counts
    n_binary = thresholds.shape[1]
    n_continuous = continuous.mu.shape[1]
    jm = i if continuous.mu.shape[0] > 1 else 0
    js = i if continuous.sd.shape[0] > 1 else 0
    n_looks = design.look_events.size

    seed_bits(rng, pts.bits)
    draw_entries(pts.bits, n, design.acc_edges, design.acc_cumulative, pts.entry)
    draw_arms(pts.bits, design, pts.label)
    # The design's fields taken out once (see simulator.engine.patients.exit_from_pieces).
    times, hazards, cumulative = design.times, design.hazards, design.cumulative
    times_e, hazards_e, cumulative_e = design.times_e, design.hazards_e, design.cumulative_e
    cure_c, cure_e, longest = design.cure_c, design.cure_e, design.max_follow_up
    drop_c, drop_e = design.dropout_c, design.dropout_e
    label, entry, exit_out, event_out, calendar = pts.label, pts.entry, pts.exit_time, pts.is_event, work.calendar
    sd = continuous.sd
    m = chol.shape[0]
    exponential_exits, mean_c, mean_e = exponential_means(design, theta_c, theta_e)
    # Mean dropout times (inf without dropout): a product per patient instead of a division.
    drop_mean_c = 1.0 / drop_c
    drop_mean_e = 1.0 / drop_e
    n_events = 0
    s0, s1, s2, s3 = load(pts.bits)
    for p in range(n):
        arm = 1 if label[p] >= 2 else 0
        # The survival component first, from its uniform 1 - Phi(Z_s): Z_s and the unit exponential
        # -log(1 - Phi(Z_s)) with no Phi to evaluate (_survival_latent).
        v, s0, s1, s2, s3 = open_uniform(s0, s1, s2, s3)
        z[0], unit = _survival_latent(v)
        # The other components given it: z = chol @ e with e[0] = Z_s (chol's survival row first).
        for j in range(1, m):
            if alone[j]:
                continue  # drawn below, by a uniform; its e[j] stays 0 (no other component uses it)
            x, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
            e[j] = x
            total = chol[j, 0] * z[0]
            for k in range(1, j + 1):
                total += chol[j, k] * e[k]
            z[j] = total
        for q in range(n_binary):
            if alone[1 + q]:
                # Correlated with nothing: Bernoulli(p) from a uniform, where Z < Phi^-1(p) needs a normal.
                u, s0, s1, s2, s3 = open_uniform(s0, s1, s2, s3)
                binary_event[q, p] = u < rates[i, q, arm]
            else:
                binary_event[q, p] = z[1 + q] < thresholds[i, q, arm]
        for q in range(n_continuous):
            # The outcome's deviation from its arm's true mean (sums stay small: SS keeps its digits).
            values[p, q, 0] = sd[js, q, arm] * z[1 + n_binary + q]
            if continuous.covariate[q] != 0.0:
                # The baseline covariate (ANCOVA), independent of the latent vector: the outcome is its residual.
                x, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                values[p, q, 1] = x
        # The arm picked by selects, not branches (as in draw_patients).
        experimental = arm == 1
        drop_mean = drop_mean_e if experimental else drop_mean_c
        drop_time = np.inf
        if drop_mean < np.inf:
            x, s0, s1, s2, s3 = exponential(s0, s1, s2, s3)
            drop_time = x * drop_mean
        if exponential_exits:
            # exit_from_pieces's rule with the event time unit * mean (exponential_means).
            event_time = unit * (mean_e if experimental else mean_c)
            is_event = event_time <= drop_time and event_time < np.inf and event_time <= longest
            exit_time = event_time if is_event else min(drop_time, longest)
        else:
            exit_time, is_event = exit_from_pieces(
                unit, theta_e if experimental else theta_c, drop_time, times_e if experimental else times,
                hazards_e if experimental else hazards, cumulative_e if experimental else cumulative,
                cure_e if experimental else cure_c, longest,
            )
        exit_out[p] = exit_time
        event_out[p] = is_event
        # Appended without a branch (an event or not is a coin toss for the CPU); the slot is
        # overwritten by the next event when this one is not.
        calendar[n_events] = entry[p] + exit_time
        n_events += is_event
    store(pts.bits, s0, s1, s2, s3)
    last = analyse_looks(i, n_events, design, bounds, pts, work, out, True)

    for k in range(last + 1):
        cut = out.look_times[i, k]
        m = out.enrolled[i, k]
        for b in range(n_binary):
            known = _known(pts.entry, m, delays[b], cut)
            # Without a branch on the (random) arm, over contiguous rows: a loop the compiler vectorises.
            events = binary_event[b]
            xc = 0
            xe = 0
            nc = 0
            ne = 0
            for p in range(known):
                control = np.int64(label[p] == 0)  # labels 0 and 2: the evaluable patients
                treated = np.int64(label[p] == 2)
                nc += control
                ne += treated
                xc += control & events[p]
                xe += treated & events[p]
            x_c[b, i, k] = xc
            x_e[b, i, k] = xe
            m_c[b, i, k] = nc
            m_e[b, i, k] = ne
        for c in range(n_continuous):
            known = _known(pts.entry, m, continuous.delays[c], cut)
            nc = 0
            ne = 0
            s1c = 0.0
            s1e = 0.0
            s2c = 0.0
            s2e = 0.0
            # The covariate's sum, sum of squares and product with the outcome (all 0 without a covariate).
            xc = 0.0
            xe = 0.0
            xxc = 0.0
            xxe = 0.0
            xvc = 0.0
            xve = 0.0
            for p in range(known):
                v = values[p, c, 0]
                x = values[p, c, 1]
                if label[p] == 0:
                    nc += 1
                    s1c += v
                    s2c += v * v
                    xc += x
                    xxc += x * x
                    xvc += x * v
                elif label[p] == 2:
                    ne += 1
                    s1e += v
                    s2e += v * v
                    xe += x
                    xxe += x * x
                    xve += x * v
            sums.n_c[c, i, k] = nc
            sums.n_e[c, i, k] = ne
            sums.sum_c[c, i, k] = continuous.mu[jm, c, 0] * nc + s1c
            sums.sum_e[c, i, k] = continuous.mu[jm, c, 1] * ne + s1e
            sums.ss_c[c, i, k] = s2c - s1c * s1c / nc if nc > 0 else 0.0
            sums.ss_e[c, i, k] = s2e - s1e * s1e / ne if ne > 0 else 0.0
            if continuous.covariate[c] != 0.0:
                # About each arm's means, as the ANCOVA takes them (ancova_moment_statistics).
                sums.sx_c[c, i, k] = xc
                sums.sx_e[c, i, k] = xe
                sums.sxx_c[c, i, k] = xxc - xc * xc / nc if nc > 0 else 0.0
                sums.sxx_e[c, i, k] = xxe - xe * xe / ne if ne > 0 else 0.0
                sums.sxe_c[c, i, k] = xvc - xc * s1c / nc if nc > 0 else 0.0
                sums.sxe_e[c, i, k] = xve - xe * s1e / ne if ne > 0 else 0.0
    # Looks never reached repeat the last one's data (decisions stop there).
    for k in range(last + 1, n_looks):
        out.events[i, k] = out.events[i, last]
        out.enrolled[i, k] = out.enrolled[i, last]
        out.short[i, k] = True
        # Every array of the binary counts and the continuous sums, field by field (the covariate's are 0
        # without one, so copying them changes nothing).
        for counted in literal_unroll(counts):
            for b in range(n_binary):
                counted[b, i, k] = counted[b, i, last]
        for summed in literal_unroll(sums):
            for c in range(n_continuous):
                summed[c, i, k] = summed[c, i, last]
    return last


@kernel
def _calendar(rng, n_sims, design, bounds, copula, hazard_ratio, multiplier, pts, binary_event, work, out, counts,
              continuous, sums, values):
    """Simulate ``n_sims`` trials; the patient arrays are reused from trial to
    trial and hold the last trial's patients on return."""
    e = np.zeros(copula.cholesky.shape[0])  # zeros: the entries of components drawn alone stay 0
    z = np.empty(copula.cholesky.shape[0])
    for i in range(n_sims):
        theta_c = multiplier[i]
        theta_e = multiplier[i] * hazard_ratio[i]
        _calendar_trial(rng, i, design, bounds, copula, theta_c, theta_e, pts, binary_event, e, z, work, out, counts,
                        continuous, sums, values)


@dataclass(frozen=True)
class CalendarTrials:
    """Per-trial, per-look results of :func:`simulate_calendar`.

    Binary arrays have shape ``(B, n_sims, K)`` (natural-scale events ``x_*``
    and evaluable patients with a known outcome ``n_*`` per arm); the others
    ``(n_sims, K)``, except the survival decision ``stop_look`` and
    ``decision`` (per trial; :func:`simulator.stats.decision.decide_z` at the
    looks, stopping at ``last_look`` at the latest). Looks after
    ``last_look`` (the events ran out at ``last_look``) have NaN ``z``,
    ``hazard_ratio`` and ``look_times`` and repeat the counts of
    ``last_look``.
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
    stop_look: np.ndarray
    decision: np.ndarray
    capped: np.ndarray | None = None
    continuous: ContinuousSums | None = None  # per continuous endpoint (``(C, n_sims, K)`` arrays)


def _copula_iv(cholesky, thresholds):
    chol = np.ascontiguousarray(cholesky, dtype=float)
    if chol.ndim != 2 or chol.shape[0] != chol.shape[1] or chol.shape[0] < 1 or not np.all(np.isfinite(chol)):
        raise InputError("`cholesky` must be a finite square matrix")
    thresholds = np.ascontiguousarray(thresholds, dtype=float)
    if thresholds.ndim != 3 or thresholds.shape[2] != 2 or np.any(np.isnan(thresholds)):
        raise InputError("`thresholds` must have shape (n_sims, B, 2) without NaN")
    return chol, thresholds


def _alone(chol, n_binary):
    """1 for each binary component of the survival-first factor ``chol`` that is correlated with no other.

    Its row is ``e_j`` and no other row uses ``e_j``: its latent normal is
    its own, so its event ``Z_j < Phi^-1(p)`` is Bernoulli(p) independent of
    everything, and the calendar kernel draws it as a uniform below ``p``.
    Exact zeros (a zero correlation gives exact zeros in the factor).
    """
    alone = np.zeros(chol.shape[0], dtype=np.int64)
    for j in range(1, 1 + n_binary):
        alone[j] = not np.any(chol[j, :j]) and not np.any(chol[j + 1:, j])
    return alone


def _survival_first(chol):
    """The Cholesky factor of the same correlation with the survival component (last) moved first.

    The calendar kernel draws that component first, from its uniform (:func:`_calendar_trial`).
    """
    corr = chol @ chol.T
    if not np.allclose(np.diag(corr), 1.0, rtol=0.0, atol=1e-12):
        raise InputError("`cholesky` must factor a correlation matrix (unit diagonal)")
    order = np.roll(np.arange(corr.shape[0]), 1)
    try:
        return np.linalg.cholesky(corr[np.ix_(order, order)])
    except np.linalg.LinAlgError:
        raise InputError("`cholesky` must factor a positive-definite correlation matrix") from None


def _run_calendar(rng, n_control, n_experimental, *, missing=(0, 0), accrual, control, hazard_ratio,
                  multiplier=1.0, dropout=(0.0, 0.0), cholesky, thresholds, delays, look_events, efficacy=None,
                  futility=None, sided=1, inner=False, max_follow_up=np.inf, look_times=None,
                  max_duration=np.inf, margin=1.0, continuous=None, hazard_ratio_pieces=None, cured=(0.0, 0.0),
                  weights=None, refine_levels=()):
    """:func:`simulate_calendar`, also returning the last trial's patients, binary outcomes and continuous
    values (``(n, C, 2)``: each outcome's deviation from its arm's true mean, and the covariate or 0)."""
    design = survival_design(n_control, n_experimental, accrual=accrual, control=control, dropout=dropout,
                             look_events=None if look_times is not None else look_events, missing=missing, margin=margin,
                             max_follow_up=max_follow_up, look_times=look_times, max_duration=max_duration,
                             hazard_ratio_pieces=hazard_ratio_pieces, cured=cured, weights=weights)
    chol, thresholds = _copula_iv(cholesky, thresholds)
    n_sims, n_binary = thresholds.shape[:2]
    chol = _survival_first(chol)
    if continuous is None:
        continuous = (np.zeros((1, 0, 2)), np.ones((1, 0, 2)), np.zeros(0))
    if len(continuous) == 3:  # no endpoint has a covariate
        continuous = (*continuous, np.zeros(np.shape(continuous[0])[1]))
    continuous = ContinuousIn(*(np.ascontiguousarray(v, dtype=float) for v in continuous))
    n_continuous = continuous.mu.shape[1]
    if continuous.delays.shape != (n_continuous,) or continuous.covariate.shape != (n_continuous,):
        raise InputError("`continuous` needs one delay and one `covariate` per continuous endpoint")
    if chol.shape[0] != n_binary + n_continuous + 1:
        raise InputError(
            "`cholesky` must have one row per binary endpoint, one per continuous endpoint and one (survival, last)"
        )
    per_trial = []
    for value, name in ((hazard_ratio, "hazard_ratio"), (multiplier, "multiplier")):
        arr = np.broadcast_to(np.asarray(value, dtype=float), (n_sims,)).copy()
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise InputError(f"`{name}` must be finite and > 0")
        per_trial.append(arr)
    delays = np.ascontiguousarray(delays, dtype=float)
    if delays.shape != (n_binary,) or np.any(delays < 0) or not np.all(np.isfinite(delays)):
        raise InputError("`delays` must be one finite delay >= 0 per binary endpoint")
    n_looks = design.look_events.size
    if efficacy is None:
        efficacy = np.full(n_looks, np.inf)
    bounds = z_bounds(efficacy, futility, sided, inner)
    if bounds.efficacy.shape != (n_looks,) or bounds.futility.shape != (n_looks,):
        raise InputError("`efficacy` and `futility` need one z bound per look")
    n = design.n_c + design.n_e
    pts = patients(n)
    binary_event = np.empty((n_binary, n), dtype=np.int64)  # one contiguous row per endpoint
    out = look_results(n_sims, n_looks)
    binary = BinaryCounts(*(np.zeros((n_binary, n_sims, n_looks), dtype=np.int64) for _ in range(4)))
    shape = (n_continuous, n_sims, n_looks)
    values = np.zeros((n, n_continuous, 2))
    sums = ContinuousSums(
        np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64), *(np.zeros(shape) for _ in range(10))
    )
    copula = Copula(chol, thresholds, delays, special.ndtr(thresholds), _alone(chol, n_binary))
    _calendar(rng, n_sims, design, bounds, copula, per_trial[0], per_trial[1], pts,
              binary_event, workspace(n, n_looks, refine_levels), out, binary, continuous, sums,
              values)
    trials = CalendarTrials(*binary, z=out.z, hazard_ratio=out.hazard_ratio, look_times=out.look_times,
                            events=out.events, enrolled=out.enrolled, short=out.short, last_look=out.last_look,
                            stop_look=out.stop_look, decision=out.decision, capped=out.capped,
                            continuous=sums if n_continuous else None)
    return trials, pts, binary_event.T, values


def simulate_calendar(rng, n_control, n_experimental, *, missing=(0, 0), accrual, control, hazard_ratio,
                      multiplier=1.0, dropout=(0.0, 0.0), cholesky, thresholds, delays, look_events,
                      efficacy=None, futility=None, sided=1, inner=False, max_follow_up=np.inf, look_times=None,
                      max_duration=np.inf, margin=1.0, continuous=None,
                      hazard_ratio_pieces=None, cured=(0.0, 0.0), weights=None, refine_levels=()):
    """Trials with one survival endpoint and correlated binary endpoints, looks at calendar times.

    Look ``k`` is at the calendar time of the ``look_events[k]``-th event
    (entry + event time). There the log-rank statistic uses every subject
    entered by then, censored at the look; each binary endpoint counts the
    evaluable patients whose outcome is known: ``entry + delay <= look time``.
    The patients, cuts, log-rank and decisions are the shared kernels of
    :mod:`simulator.engine.patients`.

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
        Lower Cholesky factor of the latent correlation matrix (positive
        definite, unit diagonal: InputError otherwise), binary endpoints
        first and the survival endpoint last.
    thresholds : ndarray, shape (n_sims, B, 2)
        ``Phi^-1(p)`` per trial, binary endpoint and arm (natural scale).
    delays : array_like, shape (B,)
        Months from entry until each binary outcome is known.
    look_events : array_like of int, shape (K,)
        Events that trigger each look.
    efficacy, futility : array_like of float, shape (K,), optional
        z bounds of the survival endpoint (:func:`simulator.stats.decision.z_bounds`);
        by default none, so ``decision`` is 0 and ``stop_look`` the last look.
    sided : {1, 2}
    inner : bool
        Two-sided designs: futility is the inner wedge ``|z| <= futility[k]``.
    max_follow_up : float
        Administrative censoring of each patient's survival at this time
        from entry (``inf``: none).
    look_times, max_duration
        Calendar looks instead of ``look_events``, and the cap
        (:func:`simulator.engine.patients.schedule_cuts`).
    hazard_ratio_pieces, cured, weights
        Non-proportional hazards, cure fractions and the Fleming-Harrington
        weights of the survival test
        (:func:`simulator.engine.patients.survival_design`).
    refine_levels : sequence of float, optional
        Further one-sided levels at which the survival z is decided
        afterwards (:func:`simulator.engine.survival.simulate_trials`).
    continuous : tuple, optional
        Continuous endpoints read at the looks (:data:`ContinuousIn`):
        ``(mu, sd, delays)`` or ``(mu, sd, delays, covariate)``, ``mu`` and ``sd``
        of shape ``(n_sims or 1, C, 2)``, one delay and one ``covariate`` (1:
        ANCOVA on a drawn standard-normal covariate, 0 without) per endpoint; their latent components come after the
        binary ones in ``cholesky``. None: no continuous endpoint.

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
    return _run_calendar(rng, n_control, n_experimental, missing=missing, accrual=accrual, control=control,
                         hazard_ratio=hazard_ratio, multiplier=multiplier, dropout=dropout, cholesky=cholesky,
                         thresholds=thresholds, delays=delays, look_events=look_events, efficacy=efficacy,
                         futility=futility, sided=sided, inner=inner, max_follow_up=max_follow_up,
                         look_times=look_times, max_duration=max_duration, margin=margin, continuous=continuous,
                         hazard_ratio_pieces=hazard_ratio_pieces, cured=cured, weights=weights,
                         refine_levels=refine_levels)[0]
