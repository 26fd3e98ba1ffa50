"""Numba kernels for two-arm continuous endpoints: sufficient statistics per look.

For normal outcomes the mean of ``m`` new patients is ``N(mu, sd^2 / m)`` and
their sum of squares about that mean is ``sd^2 chi^2_{m - 1}``, independent
of it. So a trial is simulated exactly with four draws per look (a mean and a
sum of squares per arm), whatever the size: O(looks), not O(patients).
Cumulative statistics combine increments with the usual pooled-sum rule
``SS = SS_1 + SS_2 + n_1 n_2 / (n_1 + n_2) (mean_1 - mean_2)^2``.

Kernels are deterministic given the generator; every random number comes
from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import math

import numpy as np

from simulator._jit import kernel
from simulator.stats.decision import decide_z

#: Test codes of the kernels (config names in :mod:`simulator.endpoints.continuous_spec`).
T_POOLED, WELCH, Z_KNOWN = 0, 1, 2
TEST_CODES = {"t": T_POOLED, "welch": WELCH, "z": Z_KNOWN}


@kernel
def _arm(rng, mu, sd, increments, means, squares):
    """Cumulative mean and sum of squares of one arm at each look (one trial)."""
    n_prev, mean_prev, ss_prev = 0, 0.0, 0.0
    for k in range(increments.size):
        m = increments[k]
        x = mu + sd / math.sqrt(m) * rng.standard_normal()
        ss = sd * sd * 2.0 * rng.standard_gamma(0.5 * (m - 1)) if m > 1 else 0.0
        n = n_prev + m
        mean = (n_prev * mean_prev + m * x) / n
        ss_total = ss_prev + ss + n_prev * m / n * (x - mean_prev) ** 2
        means[k], squares[k] = mean, ss_total
        n_prev, mean_prev, ss_prev = n, mean, ss_total


@kernel
def draw_statistics(rng, inc_c, inc_e, mu_c, mu_e, sd_c, sd_e, mean_c, mean_e, ss_c, ss_e):
    """Cumulative means and sums of squares per arm and look for every trial.

    ``mu_*`` and ``sd_*`` hold one value per trial, or a single value that
    every trial shares. Outputs have shape (trials, looks).
    """
    n_sims = mean_c.shape[0]
    for i in range(n_sims):
        j_mu = i if mu_c.size > 1 else 0
        j_sd = i if sd_c.size > 1 else 0
        _arm(rng, mu_c[j_mu], sd_c[j_sd], inc_c, mean_c[i], ss_c[i])
        _arm(rng, mu_e[j_mu], sd_e[j_sd], inc_e, mean_e[i], ss_e[i])


@kernel
def statistics(code, sign, theta0, n_c, n_e, mean_c, mean_e, ss_c, ss_e, known_c, known_e, covariate, stat, df):
    """The test statistic (oriented: large favours the experimental arm) and its df per trial and look.

    ``sign`` is +1 when a higher mean is better, -1 when lower; ``theta0``
    the oriented null difference (``-margin``); ``known_*`` the true SDs
    (the z test). ``df`` is ``inf`` for the z test.
    """
    n_sims, n_looks = mean_c.shape
    for i in range(n_sims):
        for k in range(n_looks):
            nc, ne = n_c[k], n_e[k]
            diff = sign * (mean_e[i, k] - mean_c[i, k]) - theta0
            if code == Z_KNOWN:
                j = i if known_c.size > 1 else 0
                se = math.sqrt(known_c[j] ** 2 / nc + known_e[j] ** 2 / ne)
                d = np.inf
            elif code == T_POOLED:
                d = nc + ne - 2 - covariate
                se = math.sqrt((ss_c[i, k] + ss_e[i, k]) / d * (1.0 / nc + 1.0 / ne))
            else:
                v_c = ss_c[i, k] / (nc - 1) / nc
                v_e = ss_e[i, k] / (ne - 1) / ne
                se = math.sqrt(v_c + v_e)
                d = (v_c + v_e) ** 2 / (v_c * v_c / (nc - 1) + v_e * v_e / (ne - 1)) - covariate
            stat[i, k] = diff / se if se > 0 else (np.inf if diff > 0 else (-np.inf if diff < 0 else 0.0))
            df[i, k] = d


@kernel
def sequential_decisions(stat, efficacy, unfavourable, futility, stop_look, decision):
    """Stopping look and outcome of every trial: the first look whose decision is not to continue.

    Bounds have one row per trial or a single row that every trial shares
    (the t test's bounds depend only on the look's df, the same for all).
    """
    n_sims, n_looks = stat.shape
    for i in range(n_sims):
        r = i if efficacy.shape[0] > 1 else 0
        stop_look[i] = n_looks - 1
        decision[i] = 0
        for k in range(n_looks):
            outcome = decide_z(stat[i, k], efficacy[r, k], unfavourable[r, k], futility[r, k])
            if outcome != 0:
                stop_look[i] = k
                decision[i] = outcome
                break
