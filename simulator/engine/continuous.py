"""Numba kernels for two-arm continuous endpoints: sufficient statistics per look.

For normal outcomes the mean of ``m`` new patients is ``N(mu, sd^2 / m)`` and
their sum of squares about that mean is ``sd^2 chi^2_{m - 1}``, independent
of it. So a trial is simulated exactly with four draws per look (a mean and a
sum of squares per arm), whatever the size: O(looks), not O(patients); with a
baseline covariate (ANCOVA) seven draws per arm and look carry the
covariate's moments too (:func:`simulate_statistics`).
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
def _ancova_statistic(d, est, see_c, see_e, sxe_c, sxe_e, sxx_c, sxx_e, dx, var_c, var_e, nc, ne, out, k):
    """Write the ANCOVA statistic and its df at look ``k`` into ``out`` (stat, df rows).

    ``est`` is the unadjusted difference of the arms' outcome means (natural
    orientation), ``see_*``, ``sxe_*`` and ``sxx_*`` each arm's within-arm
    sums of squares and products of the outcome and the covariate, ``dx`` the
    difference of the arms' covariate means. The common slope is the pooled
    within-arm least-squares slope ``b = S_xe / S_xx``; the adjusted
    difference ``est - b dx`` has, given the covariates, the variance
    ``sigma^2 (1/n_C + 1/n_E + dx^2 / S_xx)`` at one residual SD ``sigma``,
    the term ``dx^2 / S_xx`` being the chance imbalance of the covariate.
    """
    sxx = sxx_c + sxx_e
    b = (sxe_c + sxe_e) / sxx if sxx > 0 else 0.0
    adjusted = est - b * dx
    # Residual sums of squares about the common slope, per arm (their sum has n_C + n_E - 3 df).
    rss_c = max(see_c - 2.0 * b * sxe_c + b * b * sxx_c, 0.0)
    rss_e = max(see_e - 2.0 * b * sxe_e + b * b * sxx_e, 0.0)
    imbalance = dx * dx / sxx if sxx > 0 else 0.0
    code = d.code
    if code == Z_KNOWN:
        # The adjusted difference's own variance given the covariates, at the true residual SDs.
        se = math.sqrt(var_c / nc + var_e / ne + dx * dx * (var_c * sxx_c + var_e * sxx_e) / (sxx * sxx))
        dof = np.inf
    elif code == T_POOLED:
        dof = nc + ne - 3.0
        se = math.sqrt((rss_c + rss_e) / dof * (1.0 / nc + 1.0 / ne + imbalance))
    else:
        # Welch: each arm's residual variance about the common slope, in the same variance as z's.
        v_c = rss_c / (nc - 1.0)
        v_e = rss_e / (ne - 1.0)
        se = math.sqrt(v_c / nc + v_e / ne + dx * dx * (v_c * sxx_c + v_e * sxx_e) / (sxx * sxx))
        a_c, a_e = v_c / nc, v_e / ne
        dof = (a_c + a_e) ** 2 / (a_c * a_c / (nc - 1.0) + a_e * a_e / (ne - 1.0)) - 1.0
    z = d.sign * adjusted - d.theta0
    out[0, k] = z / se if se > 0 else (np.inf if z > 0 else (-np.inf if z < 0 else 0.0))
    out[1, k] = dof


@kernel
def _covariate_block(rng, a, s, offset, block):
    """One arm's new block of ``a`` patients with a standard-normal baseline covariate, into ``block``.

    ``block`` receives the block's covariate mean, residual mean (plus
    ``offset``), the within-block sum of squares of the covariate, the
    within-block product of covariate and residual, and the within-block
    sum of squares of the residual (residual SD ``s``). Given the
    covariates, the product is ``N(0, s^2 S_xx)`` and the residual sum of
    squares is its square over ``S_xx`` plus ``s^2 chi^2_{a-2}``, independent
    (the least-squares split of ``a - 1`` within-block df): exact for normal
    outcomes, whatever ``a``.
    """
    block[0] = rng.standard_normal() / math.sqrt(a)
    block[1] = offset + s / math.sqrt(a) * rng.standard_normal()
    sxx = _chi2(rng, a - 1.0)
    sxe = s * math.sqrt(sxx) * rng.standard_normal()
    block[2] = sxx
    block[3] = sxe
    block[4] = (sxe * sxe / sxx if sxx > 0 else 0.0) + s * s * _chi2(rng, a - 2.0)


@kernel
def _pool(cum, block, n_prev, a):
    """Add a block's moments (:func:`_covariate_block`) to an arm's cumulative ones by the pooled-sum rule."""
    n = n_prev + a
    w = n_prev * a / n
    gx, ge = block[0] - cum[0], block[1] - cum[1]
    cum[2] += block[2] + w * gx * gx
    cum[3] += block[3] + w * gx * ge
    cum[4] += block[4] + w * ge * ge
    cum[0] += a / n * gx
    cum[1] += a / n * ge


@kernel
def simulate_statistics(rng, d, mu_c, mu_e, sd_c, sd_e, stat, df):
    """The test statistic (oriented: large favours the experimental arm) and its df per trial and look.

    ``mu_*`` and ``sd_*`` hold one value per trial, or a single value that
    every trial shares. Exact for normal outcomes. The outcomes are
    simulated as deviations from the control arm's true mean, so that
    only the difference of the means enters the sums (a review: with means
    near 1e9 and SDs near 1e-7, sums about the means lost every digit and
    Welch's type I error was 0.25 at alpha 0.025). Fewest draws where the
    model allows: with equal SDs and Student's t (or z), the difference of
    the arms' means and the pooled sum of squares (one chi-square with the
    pooled df) suffice at a single look; otherwise each arm draws each
    look's block mean and sum of squares and the cumulative ones follow by
    the pooled-sum rule. With a baseline covariate (``d.covariate``) each
    arm's block also draws its covariate's mean and sum of squares and the
    covariate-residual product (:func:`_covariate_block`), so that every look
    analyses the ANCOVA of the patients so far, the chance imbalance of the
    covariate between the arms included (:func:`_ancova_statistic`).
    """
    n_sims, n_looks = stat.shape
    out = np.empty((2, n_looks))
    block = np.empty(5)
    cum_c = np.empty(5)
    cum_e = np.empty(5)
    for i in range(n_sims):
        jm = i if mu_c.size > 1 else 0
        js = i if sd_c.size > 1 else 0
        # Deviations from the control arm's true mean: the experimental arm is offset by the difference only.
        offset, s_c, s_e = mu_e[jm] - mu_c[jm], sd_c[js], sd_e[js]
        if d.covariate:
            n_prev_c = n_prev_e = 0.0
            cum_c[:] = 0.0
            cum_e[:] = 0.0
            for k in range(n_looks):
                a, b = float(d.inc_c[k]), float(d.inc_e[k])
                if a > 0:
                    _covariate_block(rng, a, s_c, 0.0, block)
                    _pool(cum_c, block, n_prev_c, a)
                if b > 0:
                    _covariate_block(rng, b, s_e, offset, block)
                    _pool(cum_e, block, n_prev_e, b)
                nc, ne = n_prev_c + a, n_prev_e + b
                _ancova_statistic(d, cum_e[1] - cum_c[1], cum_c[4], cum_e[4], cum_c[3], cum_e[3], cum_c[2],
                                  cum_e[2], cum_e[0] - cum_c[0], s_c * s_c, s_e * s_e, nc, ne, out, k)
                n_prev_c, n_prev_e = nc, ne
        elif n_looks == 1 and s_c == s_e and d.code != WELCH:
            nc, ne = d.n_c[0], d.n_e[0]
            diff = offset + s_c * math.sqrt(1.0 / nc + 1.0 / ne) * rng.standard_normal()
            ss = s_c * s_c * _chi2(rng, nc + ne - 2.0) if d.code == T_POOLED else 0.0
            _statistic(d, diff, ss, 0.0, s_c * s_c, s_e * s_e, nc, ne, out, 0)
        else:
            n_prev_c = n_prev_e = 0.0
            mean_c = mean_e = ss_c = ss_e = 0.0
            for k in range(n_looks):
                a, b = float(d.inc_c[k]), float(d.inc_e[k])
                x_c = s_c / math.sqrt(a) * rng.standard_normal()
                x_e = offset + s_e / math.sqrt(b) * rng.standard_normal()
                if d.code != Z_KNOWN:
                    ss_c += s_c * s_c * _chi2(rng, a - 1.0)
                    ss_e += s_e * s_e * _chi2(rng, b - 1.0)
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
def ancova_moment_statistics(d, n_c, n_e, sum_c, sum_e, ss_c, ss_e, sx_c, sx_e, sxx_c, sxx_e, sxe_c, sxe_e,
                             sd_c, sd_e, stat, df):
    """The ANCOVA statistic and its df from per-patient moments (trials x looks): a joint trial's covariate.

    Per arm: the patients ``n_*`` (one row per trial, or one row that every
    trial shares), the sum of the outcomes, the outcomes' and the
    covariate's sums of squares and their product about the arm's means
    (``ss_*``, ``sxx_*``, ``sxe_*``) and the sum of the covariate ``sx_*``.
    The statistic is :func:`_ancova_statistic`'s, the rule of the endpoint's
    own engine; a look with fewer than two patients in an arm gives NaN.
    ``sd_*`` (the true residual SDs, for the z test) hold one value per trial or one.
    """
    n_sims, n_looks = stat.shape
    out = np.empty((2, n_looks))
    for i in range(n_sims):
        j = i if sd_c.size > 1 else 0
        r = i if n_c.shape[0] > 1 else 0
        for k in range(n_looks):
            nc, ne = float(n_c[r, k]), float(n_e[r, k])
            if nc < 2.0 or ne < 2.0:
                out[0, k] = np.nan
                out[1, k] = np.nan
                continue
            est = sum_e[i, k] / ne - sum_c[i, k] / nc
            dx = sx_e[i, k] / ne - sx_c[i, k] / nc
            _ancova_statistic(d, est, ss_c[i, k], ss_e[i, k], sxe_c[i, k], sxe_e[i, k], sxx_c[i, k], sxx_e[i, k],
                              dx, sd_c[j] ** 2, sd_e[j] ** 2, nc, ne, out, k)
        for k in range(n_looks):
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
