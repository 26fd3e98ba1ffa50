"""Interim numerics on fixed data sets: conditional power, re-estimated sizes, exact predictive probability."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from simulator.design.boundaries import group_sequential_bounds
from simulator.stats.binary import TEST_CODES, oriented_z
from simulator.stats.interim import (
    conditional_critical,
    conditional_power_rates,
    posterior_mean,
    predictive_pmf,
    predictive_probability,
    stage_rejection_probability,
    stage_size_rates,
)

#: rpact 3.3.4: design <- getDesignInverseNormal(kMax = 2, alpha = 0.025, sided = 1, typeOfDesign = "asOF");
#: s <- getSimulationRates(design, groups = 2, pi1 = 0.45, pi2 = 0.30, plannedSubjects = c(150, 300),
#:   conditionalPower = 0.8, minNumberOfSubjectsPerStage = c(150, 150),
#:   maxNumberOfSubjectsPerStage = c(150, 600), maxNumberOfIterations = 1e5, seed = 12345);
#: getData(s): iterations with a second stage, their stage-1 events (stagewiseRates1 * 75 experimental,
#: stagewiseRates2 * 75 control), the second stage's subjects and its conditionalPowerAchieved (printed
#: to 6 decimals). Rows with an even second stage (rpact's CP formula takes the stage as split equally).
RPACT_ROWS = [  # (x_e, x_c, second-stage subjects, conditional power achieved)
    (26, 18, 348, 0.800025), (29, 22, 600, 0.799457), (37, 25, 150, 0.887148), (36, 27, 308, 0.800833),
    (33, 22, 150, 0.830127), (32, 24, 424, 0.800115), (28, 28, 600, 0.002685), (32, 20, 150, 0.911943),
    (38, 23, 150, 0.987767), (39, 27, 150, 0.880823), (33, 28, 600, 0.385383),
]
#: The second-stage bound of that design (rpact: 2.962588 / 1.968596), from the package's own spending.
BOUNDS = group_sequential_bounds([0.5, 1.0], alpha=0.025, sided=1, efficacy="asOF", efficacy_param=None,
                                 futility="none", futility_param=None, binding=False, power=0.8)
C2_EXACT = float(BOUNDS.efficacy[1])
Z80 = float(stats.norm.ppf(0.8))


@pytest.mark.parametrize("x_e, x_c, subjects, cp", RPACT_ROWS)
def test_rpact_second_stage_size_and_conditional_power(x_e, x_c, subjects, cp):
    z1 = oriented_z(TEST_CODES["z_pooled"], x_c, 75, x_e, 75, 0.0)
    c = conditional_critical(C2_EXACT, z1, math.sqrt(0.5), math.sqrt(0.5))
    n = stage_size_rates(c, x_c / 75, x_e / 75, 1.0, 0.0, Z80, 150.0, 600.0)
    assert n == subjects
    # rpact's split: ceiling(N / 2) experimental; the CP at the observed rates, 6 decimals printed.
    m_e = math.ceil(n / 2)
    assert conditional_power_rates(c, x_c / 75, x_e / 75, n - m_e, m_e, 0.0) == pytest.approx(cp, abs=6e-7)


def test_bounds_are_rpacts():
    assert BOUNDS.efficacy[0] == pytest.approx(2.962588, abs=5e-7)
    assert C2_EXACT == pytest.approx(1.968596, abs=5e-7)


def test_conditional_critical_value_is_the_combination_bound():
    # w1 z1 + w2 c = bound, with w1^2 + w2^2 = 1.
    w1, w2 = math.sqrt(0.3), math.sqrt(0.7)
    c = conditional_critical(2.0, 1.1, w1, w2)
    assert w1 * 1.1 + w2 * c == pytest.approx(2.0, abs=1e-14)
    assert conditional_critical(2.0, 3.0, 1.0, 0.0) == -math.inf
    assert conditional_critical(2.0, 1.0, 1.0, 0.0) == math.inf


@pytest.mark.parametrize("theta0", [0.0, -0.1])
def test_conditional_power_closed_form(theta0):
    # Independent closed form: the restricted MLE solved numerically (scipy brentq on the score equation),
    # then Phi((delta - theta0 - c sd0) / sd1).
    p_c, p_e, m_c, m_e, c = 0.32, 0.41, 80, 120, 1.3

    def restricted(p_c, p_e):
        if theta0 == 0.0:
            pooled = (m_c * p_c + m_e * p_e) / (m_c + m_e)
            return pooled, pooled

        def score(q_c):  # derivative of the log-likelihood along p_E = p_C + theta0
            q_e = q_c + theta0
            return (m_c * (p_c - q_c) / (q_c * (1 - q_c))) + (m_e * (p_e - q_e) / (q_e * (1 - q_e)))

        q_c = optimize.brentq(score, max(0.0, -theta0) + 1e-9, min(1.0, 1.0 - theta0) - 1e-9, xtol=1e-14)
        return q_c, q_c + theta0

    q_c, q_e = restricted(p_c, p_e)
    sd0 = math.sqrt(q_e * (1 - q_e) / m_e + q_c * (1 - q_c) / m_c)
    sd1 = math.sqrt(p_e * (1 - p_e) / m_e + p_c * (1 - p_c) / m_c)
    expected = stats.norm.cdf((p_e - p_c - theta0 - c * sd0) / sd1)
    assert conditional_power_rates(c, p_c, p_e, float(m_c), float(m_e), theta0) == pytest.approx(expected, abs=1e-9)


def test_stage_size_rates_rules():
    # An effect at or below 0 asks for the maximum; a huge effect for the minimum; always rounded up.
    assert stage_size_rates(1.0, 0.4, 0.4, 1.0, 0.0, Z80, 150.0, 600.0) == 600
    assert stage_size_rates(1.0, 0.5, 0.3, 1.0, 0.0, Z80, 150.0, 600.0) == 600
    assert stage_size_rates(-5.0, 0.2, 0.8, 1.0, 0.0, Z80, 150.0, 600.0) == 150
    # rpact's formula written out: N = 2 (c sqrt(2 pbar qbar) + z sqrt(pc qc + pe qe))^2 / delta^2.
    c, p_c, p_e = 1.2, 0.3, 0.42
    pbar = (p_c + p_e) / 2
    n = 2 * (c * math.sqrt(2 * pbar * (1 - pbar)) + Z80 * math.sqrt(p_c * (1 - p_c) + p_e * (1 - p_e))) ** 2 \
        / (p_e - p_c) ** 2
    assert stage_size_rates(c, p_c, p_e, 1.0, 0.0, Z80, 10.0, 10_000.0) == math.ceil(n)


# ---------------------------------------------------------------- the exact predictive probability
def brute_force_pp(code, theta0, x_c, n_c, x_e, n_e, m_c, m_e, c, cumulative, prior_c, prior_e):
    """Every outcome of the remaining patients, with scipy's beta-binomial and the mixture posterior."""

    def predictive(prior, x, n, m):
        w_v, a, b, a_v, b_v = prior
        components = [(1 - w_v, a, b), (w_v, a_v, b_v)]
        # Posterior weight of a component: prior weight x its marginal likelihood of the data.
        marginal = [w * stats.betabinom.pmf(x, n, a_, b_) for w, a_, b_ in components]
        total = sum(marginal)
        y = np.arange(m + 1)
        return sum(mw / total * stats.betabinom.pmf(y, m, a_ + x, b_ + n - x)
                   for mw, (_, a_, b_) in zip(marginal, components) if mw > 0)

    pmf_c, pmf_e = predictive(prior_c, x_c, n_c, m_c), predictive(prior_e, x_e, n_e, m_e)
    total = 0.0
    for y_c in range(m_c + 1):
        for y_e in range(m_e + 1):
            if cumulative:
                z = oriented_z(code, x_c + y_c, n_c + m_c, x_e + y_e, n_e + m_e, theta0)
            else:
                z = oriented_z(code, y_c, m_c, y_e, m_e, theta0)
            if z >= c:
                total += pmf_c[y_c] * pmf_e[y_e]
    return total


PRIORS = [
    np.array([0.0, 1.0, 1.0, 1.0, 1.0]),  # uniform
    np.array([0.0, 9.0, 30.0, 1.0, 1.0]),  # phase 2: 8/37 with a Beta(1, 1) base
    np.array([0.2, 4.5, 15.5, 1.0, 1.0]),  # discounted by 0.5, robust weight 0.2
]


@pytest.mark.parametrize("test", ["z_pooled", "z_unpooled", "chi2_yates", "farrington_manning"])
@pytest.mark.parametrize("cumulative", [True, False])
def test_predictive_probability_exact(test, cumulative):
    code = TEST_CODES[test]
    theta0 = -0.1 if test == "farrington_manning" else 0.0
    for (x_c, n_c, x_e, n_e, m_c, m_e, c), prior_c, prior_e in [
        ((7, 20, 11, 20, 25, 25, 1.96), PRIORS[0], PRIORS[1]),
        ((3, 15, 9, 18, 12, 30, 1.2), PRIORS[2], PRIORS[0]),
        ((12, 30, 12, 30, 30, 30, 0.4), PRIORS[1], PRIORS[2]),
    ]:
        ours = predictive_probability(code, theta0, x_c, n_c, x_e, n_e, m_c, m_e, c, cumulative, prior_c, prior_e)
        reference = brute_force_pp(code, theta0, x_c, n_c, x_e, n_e, m_c, m_e, c, cumulative, prior_c, prior_e)
        assert ours == pytest.approx(reference, abs=1e-10)
        assert 0.0 < reference < 1.0  # the data sets are not degenerate


def test_predictive_pmf_is_the_mixture_posterior_predictive():
    out = np.empty(41)
    prior = PRIORS[2]
    predictive_pmf(prior, 6, 25, 40, out)
    # Posterior predictive by numerical integration over the mixture posterior density of p.
    w_v, a, b, a_v, b_v = prior

    def posterior(p):
        return ((1 - w_v) * stats.beta.pdf(p, a, b) + w_v * stats.beta.pdf(p, a_v, b_v)) * stats.binom.pmf(6, 25, p)

    norm = integrate.quad(posterior, 0, 1, epsabs=1e-14, epsrel=1e-12)[0]
    for y in (0, 5, 9, 20, 40):
        value = integrate.quad(lambda p, y=y: posterior(p) * stats.binom.pmf(y, 40, p), 0, 1, epsabs=1e-14,
                               epsrel=1e-12)[0] / norm
        assert out[y] == pytest.approx(value, abs=1e-10)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)


def test_posterior_mean_of_a_mixture():
    prior = PRIORS[2]
    w_v, a, b, a_v, b_v = prior

    def posterior(p):
        return ((1 - w_v) * stats.beta.pdf(p, a, b) + w_v * stats.beta.pdf(p, a_v, b_v)) * p**14 * (1 - p) ** 16

    norm = integrate.quad(posterior, 0, 1, epsabs=1e-15)[0]
    mean = integrate.quad(lambda p: p * posterior(p), 0, 1, epsabs=1e-15)[0] / norm
    assert posterior_mean(prior, 14, 30) == pytest.approx(mean, abs=1e-10)
    assert posterior_mean(PRIORS[0], 14, 30) == pytest.approx(15 / 32, abs=1e-14)


def test_no_patients_left():
    # Nothing left to observe: the current z decides (cumulative), or a z of 0 (a separate stage).
    prior = PRIORS[0]
    z = oriented_z(0, 10, 50, 20, 50, 0.0)
    assert predictive_probability(0, 0.0, 10, 50, 20, 50, 0, 0, z - 0.01, True, prior, prior) == 1.0
    assert predictive_probability(0, 0.0, 10, 50, 20, 50, 0, 0, z + 0.01, True, prior, prior) == 0.0
    assert conditional_power_rates(0.5, 0.3, 0.4, 0.0, 0.0, 0.0) == 0.0
    assert conditional_power_rates(-0.5, 0.3, 0.4, 0.0, 0.0, 0.0) == 1.0


@pytest.mark.parametrize("test", ["z_pooled", "z_unpooled", "farrington_manning"])
def test_stage_rejection_probability_exact(test):
    # The second stage's rejection probability at fixed rates (what the fixed-rate kernel draws the
    # second stage's outcome from), against a double loop over scipy's binomial pmfs.
    code = TEST_CODES[test]
    theta0 = -0.1 if test == "farrington_manning" else 0.0
    m_c, m_e, c, p_c, p_e = 23, 31, 1.4, 0.35, 0.5
    pmf_c, pmf_e = stats.binom.pmf(np.arange(m_c + 1), m_c, p_c), stats.binom.pmf(np.arange(m_e + 1), m_e, p_e)
    reference = sum(pmf_c[y_c] * pmf_e[y_e] for y_c in range(m_c + 1) for y_e in range(m_e + 1)
                    if oriented_z(code, y_c, m_c, y_e, m_e, theta0) >= c)
    assert stage_rejection_probability(code, theta0, m_c, m_e, c, p_c, p_e) == pytest.approx(reference, abs=1e-12)
    assert stage_rejection_probability(code, theta0, m_c, m_e, c, 0.0, 1.0) == 1.0  # degenerate rates
