"""What a data monitoring committee asks at an interim, for a binary endpoint.

Compiled with Numba; everything on the oriented scale (higher rate =
better for the experimental arm), like :mod:`simulator.stats.binary`.

- :func:`conditional_power_rates`: the probability that the rest of the
  trial rejects, at assumed true rates (the design's, or the observed ones),
  by the normal approximation with the Farrington-Manning variance under H0
  (the pooled variance when ``theta0 = 0``), as rpact's
  ``getSimulationRates`` computes it.
- :func:`stage_size_rates`: the further patients (both arms) that give a
  target conditional power: rpact's formula, clipped and rounded up.
- :func:`predictive_probability`: the Bayesian predictive probability that
  the final test rejects, exact: the remaining patients' events follow the
  beta-binomial posterior predictive of each arm (a two-part Beta mixture
  prior updated by the interim counts), summed over every outcome of the
  remaining patients.

Notation: the rest of the trial is either a *separate stage* (the stage-2
statistic of an inverse-normal combination test, computed on the new
patients only, must reach the conditional critical value ``c``) or the
*cumulative* final analysis of a group-sequential design (the z of all
patients must reach the final bound ``c``).
"""

import math

import numpy as np

from simulator._jit import kernel
from simulator.stats.binary import Z_UNPOOLED, oriented_z, restricted_mle

_SQRT2 = math.sqrt(2.0)
#: rpact's floor on the effect in the sample-size formula (``max(1e-12, effect)``):
#: an effect at or below it asks for the maximum stage size.
MIN_EFFECT = 1e-12


@kernel
def normal_cdf(x):
    """Standard normal distribution function (``inf`` and ``-inf`` allowed)."""
    return 0.5 * math.erfc(-x / _SQRT2)


@kernel
def conditional_critical(bound, z_interim, w_interim, w_rest):
    """The z the rest of the trial must reach: ``(bound - w_interim z_interim) / w_rest``.

    ``w_interim**2 + w_rest**2 = 1``: the inverse-normal weights of the two
    stages (or ``sqrt(t)`` and ``sqrt(1 - t)`` of a cumulative z at
    information fraction ``t``). With no information left (``w_rest = 0``)
    the answer is ``-inf`` if the interim already reaches the bound, else
    ``inf``.
    """
    if w_rest <= 0.0:
        return -math.inf if w_interim * z_interim >= bound else math.inf
    return (bound - w_interim * z_interim) / w_rest


@kernel
def conditional_power_rates(c, p_c, p_e, m_c, m_e, theta0):
    """P(the z of ``m_c``, ``m_e`` further patients >= ``c``) at true rates ``p_c``, ``p_e``.

    The normal approximation of that z: its numerator p^_E - p^_C - theta0
    is N(p_e - p_c - theta0, sd1^2), sd1^2 = p_e q_e / m_e + p_c q_c / m_c,
    and its standard error is taken at the Farrington-Manning restricted
    rates (the pooled rate when ``theta0 = 0``), sd0; so the power is
    ``Phi((p_e - p_c - theta0 - c sd0) / sd1)`` (rpact's
    ``.getSimulationStepRates``). With no further patients the z is 0: the
    answer is 1 if ``c <= 0``, else 0.

    Examples
    --------
    >>> round(conditional_power_rates(1.96, 0.3, 0.45, 150.0, 150.0, 0.0), 4)
    0.768
    """
    if m_c <= 0.0 or m_e <= 0.0:
        return 1.0 if c <= 0.0 else 0.0
    if c == math.inf:
        return 0.0
    if c == -math.inf:
        return 1.0
    pc_t, pe_t = restricted_mle(p_c, p_e, m_c, m_e, theta0)
    sd0 = math.sqrt(max(pe_t * (1.0 - pe_t) / m_e + pc_t * (1.0 - pc_t) / m_c, 0.0))
    sd1 = math.sqrt(max(p_e * (1.0 - p_e) / m_e + p_c * (1.0 - p_c) / m_c, 0.0))
    shift = p_e - p_c - theta0 - c * sd0
    if sd1 == 0.0:
        return 1.0 if shift >= 0.0 else 0.0
    return normal_cdf(shift / sd1)


@kernel
def stage_size_rates(c, p_c, p_e, ratio, theta0, z_target, low, high):
    """Patients of a further stage (both arms) for conditional power ``target``, rpact's rule.

    ``N = (1 + 1/r) max(0, c s0 + z_target s1)^2 / max(1e-12, p_e - p_c - theta0)^2``
    with ``r = ratio`` (experimental / control), ``z_target`` the normal
    quantile of the target conditional power, ``s1^2 = p_e q_e + r p_c q_c``
    and ``s0^2`` the same at the Farrington-Manning restricted rates;
    clipped to ``[low, high]`` and rounded up (``ceiling``), as rpact's
    ``.getSimulationRatesStageSubjects``. An effect at or below 1e-12 thus
    asks for ``high`` (unless ``c s0 + z s1 <= 0``: then ``low``).

    Examples
    --------
    >>> int(stage_size_rates(1.5, 0.3, 0.45, 1.0, 0.0, 0.8416212335729143, 150.0, 600.0))
    227
    """
    pc_t, pe_t = restricted_mle(p_c, p_e, 1.0, ratio, theta0)
    s0 = math.sqrt(max(pe_t * (1.0 - pe_t) + ratio * pc_t * (1.0 - pc_t), 0.0))
    s1 = math.sqrt(max(p_e * (1.0 - p_e) + ratio * p_c * (1.0 - p_c), 0.0))
    numerator = max(0.0, c * s0 + z_target * s1)
    effect = max(MIN_EFFECT, p_e - p_c - theta0)
    n = (1.0 + 1.0 / ratio) * numerator * numerator / (effect * effect)
    return math.ceil(min(max(low, n), high))


@kernel
def log_beta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


@kernel
def predictive_pmf(prior, x, n, m, out):
    """Posterior predictive pmf of the events among ``m`` more patients, into ``out[:m + 1]``.

    ``prior``: ``[w_vague, a, b, a_vague, b_vague]``, the two-part Beta
    mixture layout of :meth:`simulator.priors.BetaMixture.as_kernel_array`;
    ``x`` events seen among ``n`` patients. Each component's weight is
    updated by its marginal likelihood of the data, and each is a
    beta-binomial.
    """
    w_v = prior[0]
    a1 = prior[1] + x
    b1 = prior[2] + n - x
    a2 = prior[3] + x
    b2 = prior[4] + n - x
    # Posterior weights of the mixture, on the log scale for stability.
    l1 = math.log(1.0 - w_v) + log_beta(a1, b1) - log_beta(prior[1], prior[2]) if w_v < 1.0 else -math.inf
    l2 = math.log(w_v) + log_beta(a2, b2) - log_beta(prior[3], prior[4]) if w_v > 0.0 else -math.inf
    top = max(l1, l2)
    e1 = math.exp(l1 - top)
    e2 = math.exp(l2 - top)
    v1 = e1 / (e1 + e2)
    v2 = e2 / (e1 + e2)
    lb1 = log_beta(a1, b1)
    lb2 = log_beta(a2, b2)
    lgm = math.lgamma(m + 1.0)
    for y in range(m + 1):
        log_choose = lgm - math.lgamma(y + 1.0) - math.lgamma(m - y + 1.0)
        value = 0.0
        if v1 > 0.0:
            value += v1 * math.exp(log_choose + log_beta(a1 + y, b1 + m - y) - lb1)
        if v2 > 0.0:
            value += v2 * math.exp(log_choose + log_beta(a2 + y, b2 + m - y) - lb2)
        out[y] = value


@kernel
def predictive_probability(code, theta0, x_c, n_c, x_e, n_e, m_c, m_e, c, cumulative, prior_c, prior_e):
    """Predictive probability that the rest of the trial rejects, exact.

    Sums, over every number of events ``y_c``, ``y_e`` among the ``m_c``,
    ``m_e`` remaining patients, their posterior predictive probability
    (:func:`predictive_pmf`, from the interim counts ``x`` of ``n``) times
    whether the test then rejects: with ``cumulative`` the z of all
    patients, ``z(x_c + y_c, n_c + m_c, x_e + y_e, n_e + m_e) >= c``, else
    the separate stage's ``z(y_c, m_c, y_e, m_e) >= c``
    (:func:`rejection_mass`).
    """
    if m_c <= 0 or m_e <= 0:
        z = oriented_z(code, x_c, n_c, x_e, n_e, theta0) if cumulative else 0.0
        return 1.0 if z >= c else 0.0
    pmf_c = np.empty(m_c + 1)
    pmf_e = np.empty(m_e + 1)
    predictive_pmf(prior_c, x_c, n_c, m_c, pmf_c)
    predictive_pmf(prior_e, x_e, n_e, m_e, pmf_e)
    if cumulative:
        return rejection_mass(code, theta0, x_c, n_c + m_c, x_e, n_e + m_e, c, pmf_c, pmf_e)
    return rejection_mass(code, theta0, 0, m_c, 0, m_e, c, pmf_c, pmf_e)


@kernel
def binomial_pmf(m, p, out):
    """The binomial(m, p) pmf into ``out[:m + 1]`` (exact 0 / 1 at p = 0 or 1)."""
    if p <= 0.0 or p >= 1.0:
        for y in range(m + 1):
            out[y] = 0.0
        out[0 if p <= 0.0 else m] = 1.0
        return
    lgm = math.lgamma(m + 1.0)
    lp = math.log(p)
    lq = math.log1p(-p)
    for y in range(m + 1):
        out[y] = math.exp(lgm - math.lgamma(y + 1.0) - math.lgamma(m - y + 1.0) + y * lp + (m - y) * lq)


@kernel
def stage_rejection_probability(code, theta0, m_c, m_e, c, p_c, p_e):
    """P(the z of a separate stage of ``m_c``, ``m_e`` patients >= ``c``) at true rates, exact (binomial)."""
    if m_c <= 0 or m_e <= 0:
        return 1.0 if 0.0 >= c else 0.0
    pmf_c = np.empty(m_c + 1)
    pmf_e = np.empty(m_e + 1)
    binomial_pmf(m_c, p_c, pmf_c)
    binomial_pmf(m_e, p_e, pmf_e)
    return rejection_mass(code, theta0, 0, m_c, 0, m_e, c, pmf_c, pmf_e)


@kernel
def rejection_mass(code, theta0, base_c, size_c, base_e, size_e, c, pmf_c, pmf_e):
    """Sum of ``pmf_c[y_c] pmf_e[y_e]`` over the outcomes whose z reaches ``c``.

    The z is ``z(base_c + y_c, size_c, base_e + y_e, size_e)``, the events
    ``y`` of independent arms with the given pmfs. For the z tests other than
    ``z_unpooled`` the statistic increases with the experimental events at
    fixed control events, so each ``y_c`` needs only the smallest rejecting
    ``y_e`` (found by bisection) and the upper tail of ``pmf_e``:
    O(m_c log m_e + m_e). The unpooled Wald z is not monotone in extreme
    tables, and is summed cell by cell, O(m_c m_e).
    """
    m_c = pmf_c.shape[0] - 1
    m_e = pmf_e.shape[0] - 1
    total = 0.0
    if code == Z_UNPOOLED:
        for y_c in range(m_c + 1):
            inner = 0.0
            for y_e in range(m_e + 1):
                if oriented_z(code, base_c + y_c, size_c, base_e + y_e, size_e, theta0) >= c:
                    inner += pmf_e[y_e]
            total += pmf_c[y_c] * inner
        return min(max(total, 0.0), 1.0)
    tail_e = np.empty(m_e + 2)  # tail_e[t] = P(Y_e >= t)
    tail_e[m_e + 1] = 0.0
    for t in range(m_e, -1, -1):
        tail_e[t] = tail_e[t + 1] + pmf_e[t]
    for y_c in range(m_c + 1):
        # Smallest y_e in [0, m_e + 1] whose z reaches c (m_e + 1: none).
        lo = 0
        hi = m_e + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if oriented_z(code, base_c + y_c, size_c, base_e + mid, size_e, theta0) >= c:
                hi = mid
            else:
                lo = mid + 1
        total += pmf_c[y_c] * tail_e[lo]
    return min(max(total, 0.0), 1.0)


@kernel
def posterior_mean(prior, x, n):
    """Posterior mean of a rate after ``x`` events among ``n``, from a two-part Beta mixture prior.

    ``prior``: ``[w_vague, a, b, a_vague, b_vague]``; each component's
    weight is updated by its marginal likelihood of the data.
    """
    w_v = prior[0]
    l1 = math.log(1.0 - w_v) + log_beta(prior[1] + x, prior[2] + n - x) - log_beta(prior[1], prior[2]) \
        if w_v < 1.0 else -math.inf
    l2 = math.log(w_v) + log_beta(prior[3] + x, prior[4] + n - x) - log_beta(prior[3], prior[4]) \
        if w_v > 0.0 else -math.inf
    top = max(l1, l2)
    e1 = math.exp(l1 - top)
    e2 = math.exp(l2 - top)
    mean1 = (prior[1] + x) / (prior[1] + prior[2] + n)
    mean2 = (prior[3] + x) / (prior[3] + prior[4] + n)
    return (e1 * mean1 + e2 * mean2) / (e1 + e2)
