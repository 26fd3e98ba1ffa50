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
from collections import namedtuple

import numpy as np

from simulator._jit import kernel
from simulator.stats.decision import decide_z

#: Test codes of the kernels (config names in :mod:`simulator.endpoints.continuous_spec`).
T_POOLED, WELCH, Z_KNOWN = 0, 1, 2
TEST_CODES = {"t": T_POOLED, "welch": WELCH, "z": Z_KNOWN}


Design = namedtuple("Design", ["inc_c", "inc_e", "n_c", "n_e", "code", "sign", "theta0", "covariate"])
"""What every trial of a plan shares: new and cumulative patients per arm and look, the
test code, the orientation (+1: higher is better), the oriented null ``-margin``, and
1 with a baseline covariate (ANCOVA: one df less)."""


def design(inc_c, inc_e, *, test, sign, theta0, covariate) -> Design:
    """A :data:`Design` from the patients added per arm at each look."""
    inc_c = np.ascontiguousarray(inc_c, dtype=np.int64)
    inc_e = np.ascontiguousarray(inc_e, dtype=np.int64)
    return Design(
        inc_c, inc_e, np.cumsum(inc_c).astype(np.float64), np.cumsum(inc_e).astype(np.float64),
        TEST_CODES[test], float(sign), float(theta0), int(covariate),
    )


@kernel
def _chi2(rng, df):
    return 2.0 * rng.standard_gamma(0.5 * df) if df > 0 else 0.0


@kernel
def _statistic(d, diff, ss_c, ss_e, var_c, var_e, nc, ne, out, k):
    """Write the oriented statistic and its df at look ``k`` into ``out`` (stat, df rows)."""
    code = d.code
    if code == Z_KNOWN:
        se = math.sqrt(var_c / nc + var_e / ne)
        dof = np.inf
    elif code == T_POOLED:
        dof = nc + ne - 2.0 - d.covariate
        se = math.sqrt((ss_c + ss_e) / dof * (1.0 / nc + 1.0 / ne))
    else:
        v_c = ss_c / (nc - 1.0) / nc
        v_e = ss_e / (ne - 1.0) / ne
        se = math.sqrt(v_c + v_e)
        dof = (v_c + v_e) ** 2 / (v_c * v_c / (nc - 1.0) + v_e * v_e / (ne - 1.0)) - d.covariate
    z = d.sign * diff - d.theta0
    out[0, k] = z / se if se > 0 else (np.inf if z > 0 else (-np.inf if z < 0 else 0.0))
    out[1, k] = dof


@kernel
def simulate_statistics(rng, d, mu_c, mu_e, sd_c, sd_e, stat, df):
    """The test statistic (oriented: large favours the experimental arm) and its df per trial and look.

    ``mu_*`` and ``sd_*`` hold one value per trial, or a single value that
    every trial shares. Exact for normal outcomes. Fewest draws where the
    model allows: with equal SDs and Student's t (or z), the difference of
    the arms' means and the pooled sum of squares (one chi-square with the
    pooled df) suffice at a single look; otherwise each arm draws each
    look's block mean and sum of squares and the cumulative ones follow by
    the pooled-sum rule.
    """
    n_sims, n_looks = stat.shape
    out = np.empty((2, n_looks))
    for i in range(n_sims):
        jm = i if mu_c.size > 1 else 0
        js = i if sd_c.size > 1 else 0
        m_c, m_e, s_c, s_e = mu_c[jm], mu_e[jm], sd_c[js], sd_e[js]
        if n_looks == 1 and s_c == s_e and d.code != WELCH:
            nc, ne = d.n_c[0], d.n_e[0]
            diff = m_e - m_c + s_c * math.sqrt(1.0 / nc + 1.0 / ne) * rng.standard_normal()
            ss = s_c * s_c * _chi2(rng, nc + ne - 2.0 - d.covariate) if d.code == T_POOLED else 0.0
            _statistic(d, diff, ss, 0.0, s_c * s_c, s_e * s_e, nc, ne, out, 0)
        else:
            n_prev_c = n_prev_e = 0.0
            mean_c = mean_e = ss_c = ss_e = 0.0
            for k in range(n_looks):
                a, b = float(d.inc_c[k]), float(d.inc_e[k])
                x_c = m_c + s_c / math.sqrt(a) * rng.standard_normal()
                x_e = m_e + s_e / math.sqrt(b) * rng.standard_normal()
                if d.code != Z_KNOWN:
                    # ANCOVA's pooled t gives up one df (as the single draw above): from the first look's
                    # blocks, so that every look's sum of squares has n_C + n_E - 3 df.
                    drop = float(d.covariate) if k == 0 and d.code == T_POOLED else 0.0
                    drop_c = min(drop, a - 1.0)
                    ss_c += s_c * s_c * _chi2(rng, a - 1.0 - drop_c)
                    ss_e += s_e * s_e * _chi2(rng, b - 1.0 - (drop - drop_c))
                nc, ne = n_prev_c + a, n_prev_e + b
                ss_c += n_prev_c * a / nc * (x_c - mean_c) ** 2
                ss_e += n_prev_e * b / ne * (x_e - mean_e) ** 2
                mean_c = (n_prev_c * mean_c + a * x_c) / nc
                mean_e = (n_prev_e * mean_e + b * x_e) / ne
                _statistic(d, mean_e - mean_c, ss_c, ss_e, s_c * s_c, s_e * s_e, nc, ne, out, k)
                n_prev_c, n_prev_e = nc, ne
        for k in range(n_looks):
            stat[i, k] = out[0, k]
            df[i, k] = out[1, k]


@kernel
def moment_statistics(d, sum_c, sum_e, ss_c, ss_e, sd_c, sd_e, stat, df):
    """The statistic and its df from per-arm sums and sums of squares about the mean (trials x looks).

    For endpoints simulated per patient (a joint trial): the same statistic
    as :func:`simulate_statistics`, from the patients' cumulative moments.
    ``sd_*`` (the true SDs, for the z test) hold one value per trial or one.
    """
    n_sims, n_looks = stat.shape
    out = np.empty((2, n_looks))
    for i in range(n_sims):
        j = i if sd_c.size > 1 else 0
        for k in range(n_looks):
            nc, ne = d.n_c[k], d.n_e[k]
            diff = sum_e[i, k] / ne - sum_c[i, k] / nc
            _statistic(d, diff, ss_c[i, k], ss_e[i, k], sd_c[j] ** 2, sd_e[j] ** 2, nc, ne, out, k)
            stat[i, k] = out[0, k]
            df[i, k] = out[1, k]


@kernel
def sequential_decisions(stat, efficacy, unfavourable, futility, floor, stop_look, decision):
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
            outcome = decide_z(stat[i, k], efficacy[r, k], unfavourable[r, k], futility[r, k], floor[r, k])
            if outcome != 0:
                stop_look[i] = k
                decision[i] = outcome
                break
