"""Fleming-Harrington weighted log-rank tests and MaxCombo on single data sets (issue 15, section 1).

References: statsmodels' ``survdiff(weight_type="fh", fh_p=rho)`` for
FH(rho, 0) (it returns the chi-square z^2, so the sign is checked apart
against the reference score below); an independent numpy implementation
written here from the definitions for FH(rho, gamma) with gamma > 0; scipy's
``multivariate_normal.cdf`` (Genz's algorithm in Fortran) and closed forms
for the MaxCombo p-value.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from simulator.engine.survival import logrank
from simulator.engine.weighted import weighted_logrank
from simulator.errors import InputError
from simulator.stats.maxcombo import POINTS, maxcombo_p, norm_ppf, sobol_points


def reference_fh(time, event, group, weights):
    """Weighted scores and their covariance, event time by event time (numpy, from the definitions).

    At each distinct event time t (ascending): n at risk (time >= t), n_e of
    them experimental, d deaths, d_e experimental; the pooled Kaplan-Meier
    just before t, S(t-) = prod over earlier event times of (1 - d/n);
    w = S(t-)^rho (1 - S(t-))^gamma; score += w (d n_e / n - d_e);
    cov += w_k w_l d (n_e / n)(1 - n_e / n)(n - d) / (n - 1).
    """
    time, event, group = np.asarray(time, float), np.asarray(event, bool), np.asarray(group, int)
    weights = np.asarray(weights, float).reshape(-1, 2)
    m = len(weights)
    score = np.zeros(m)
    cov = np.zeros((m, m))
    km = 1.0
    for t in np.unique(time[event]):
        at_risk = time >= t
        n = at_risk.sum()
        n_e = (at_risk & (group == 1)).sum()
        dead = (time == t) & event
        d = dead.sum()
        d_e = (dead & (group == 1)).sum()
        w = km ** weights[:, 0] * (1.0 - km) ** weights[:, 1]
        share = n_e / n
        var = d * share * (1 - share) * ((n - d) / (n - 1) if n > 1 else 1.0)
        score += w * (d * share - d_e)
        cov += np.outer(w, w) * var
        km *= 1.0 - d / n
    return score, cov


def random_data(rng, n=None, tied=True):
    """A data set with ties: integer times, random censoring, random arms (both present).

    ``tied=False``: continuous times, no ties, so that the weighted pass that
    takes one subject at a time (``_weighted_loop``) is the one checked,
    where tied event times take the grouped pass.
    """
    n = int(rng.integers(20, 150)) if n is None else n
    time = rng.exponential(rng.uniform(3, 15), n)
    time = np.ceil(time) if tied else time
    event = rng.random(n) < rng.uniform(0.4, 0.95)
    group = rng.permutation(np.arange(n) % 2)
    return time, event, group


@pytest.mark.parametrize("tied", [True, False], ids=["ties-grouped-pass", "continuous-merged-pass"])
def test_fh_rho_zero_gamma_equals_survdiff_on_200_data_sets(tied):
    # Acceptance: FH(rho, 0) = statsmodels survdiff(weight_type="fh", fh_p=rho) on 200 random data sets with
    # ties, to 1e-10 (relative to the chi-square); the sign from the reference score. Without ties too.
    rng = np.random.default_rng(15)
    worst = 0.0
    for _ in range(200):
        time, event, group = random_data(rng, tied=tied)
        for rho in (0.0, 0.5, 1.0, 2.0):
            chi2, _ = survdiff(time, event.astype(int), group, weight_type="fh", fh_p=rho)
            res = weighted_logrank(time, event, group, [(rho, 0.0)])
            z = float(res.z[0])
            worst = max(worst, abs(z * z - chi2) / max(1.0, chi2))
            ref_score, _ = reference_fh(time, event, group, [(rho, 0.0)])
            assert np.sign(z) == np.sign(ref_score[0]) or abs(ref_score[0]) < 1e-12
    assert worst < 1e-10


def test_fh_zero_zero_is_the_logrank():
    rng = np.random.default_rng(3)
    for _ in range(20):
        time, event, group = random_data(rng)
        res = weighted_logrank(time, event, group, [(0.0, 0.0)])
        assert res.z[0] == pytest.approx(logrank(time, event, group)[0], abs=1e-12)


@pytest.mark.parametrize("tied", [True, False], ids=["ties-grouped-pass", "continuous-merged-pass"])
@pytest.mark.parametrize("weights", [[(0.0, 0.5)], [(0.0, 1.0)], [(1.0, 1.0)], [(0.5, 2.0)],
                                     [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]])
def test_fh_gamma_matches_numpy_reference(weights, tied):
    # FH(rho, gamma > 0) and the covariances of several statistics against the loop above, to 1e-10
    # (one FH statistic keeps its sums in registers in the merged pass, MaxCombo's in the array).
    rng = np.random.default_rng(len(weights) * 10 + int(10 * weights[0][1]))
    for _ in range(40):
        time, event, group = random_data(rng, tied=tied)
        res = weighted_logrank(time, event, group, weights)
        score, cov = reference_fh(time, event, group, weights)
        np.testing.assert_allclose(res.score, score, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(res.covariance, cov, rtol=1e-10, atol=1e-10)


def test_default_maxcombo_components_are_linearly_dependent():
    # FH(0,0) = FH(1,0) + FH(0,1) exactly: the weights 1 = S + (1 - S). The MaxCombo integral must handle it.
    rng = np.random.default_rng(4)
    time, event, group = random_data(rng, 200)
    res = weighted_logrank(time, event, group, [(0, 0), (0, 1), (1, 0), (1, 1)])
    assert res.score[0] == pytest.approx(res.score[1] + res.score[2], abs=1e-9)


def _scipy_max_p(z, corr):
    m = len(z)
    dist = stats.multivariate_normal(np.zeros(m), corr, allow_singular=True, abseps=1e-8, releps=1e-8,
                                     maxpts=400_000 * m)
    return 1.0 - dist.cdf(np.full(m, max(z)))


def test_maxcombo_p_against_scipy_on_data():
    # MaxCombo p-values of random data sets (default four, singular, and two non-singular components) against
    # scipy's Genz integration of the same correlation. Next to the level (here: computed with all points) the
    # compiled integral's standard error is about 3e-5, far from it (8 x 8 points) about 2e-3 (module
    # docstring): tolerances 2e-4 and 1e-2.
    rng = np.random.default_rng(8)
    for weights in ([(0, 0), (0, 1), (1, 0), (1, 1)], [(0, 0), (0, 1)]):
        for _ in range(15):
            time, event, group = random_data(rng, 300)
            _, cov = reference_fh(time, event, group, weights)
            score, _ = reference_fh(time, event, group, weights)
            sd = np.sqrt(np.diag(cov))
            corr = cov / np.outer(sd, sd)
            reference = _scipy_max_p(score / sd, corr)
            near = weighted_logrank(time, event, group, weights, level=reference)
            assert near.maxcombo_p == pytest.approx(reference, abs=2e-4)
            far = weighted_logrank(time, event, group, weights, level=0.5 if reference < 0.25 else 1e-6)
            assert far.maxcombo_p == pytest.approx(reference, abs=1e-2)


def test_maxcombo_p_closed_forms():
    # One statistic twice: the single p-value (exact). Two independent: 1 - Phi(c)^2.
    assert maxcombo_p([2.0, 1.0], [[1.0, 1.0], [1.0, 1.0]]) == pytest.approx(stats.norm.sf(2.0), abs=1e-12)
    for c in (1.0, 1.96, 2.5):
        exact = 1.0 - stats.norm.cdf(c) ** 2
        assert maxcombo_p([c, 0.0], np.eye(2), levels=(exact,)) == pytest.approx(exact, abs=1e-5)


def test_points_file_holds_the_scrambled_sobol_points():
    # The file is read instead of computing the points at import (maxcombo.POINTS); it must hold them.
    assert POINTS.flags.c_contiguous and POINTS.dtype == np.float64
    assert np.array_equal(POINTS, sobol_points())


def test_norm_ppf_matches_scipy():
    for p in (1e-300, 1e-20, 1e-5, 0.01, 0.3, 0.5, 0.7, 0.975, 1 - 1e-10):
        assert norm_ppf(p) == pytest.approx(stats.norm.ppf(p), rel=1e-14, abs=1e-14)


def test_weighted_logrank_bad_input():
    t = np.array([1.0, 2.0])
    with pytest.raises(InputError, match="weights"):
        weighted_logrank(t, [1, 1], [0, 1], [(-1.0, 0.0)])
    with pytest.raises(InputError, match="weights"):
        weighted_logrank(t, [1, 1], [0, 1], np.zeros((7, 2)))


def test_orthant_probability_with_means_against_scipy():
    # The analytic MaxCombo power integrates the orthant with a limit per variable (the alternative's means):
    # against scipy's Genz integration (tolerance 2e-4: about 5 standard errors of the compiled integral) and
    # the independent case in closed form; deterministic (the report reproduces byte for byte).
    from simulator.stats.maxcombo import orthant_probability

    rng = np.random.default_rng(12)
    for _ in range(10):
        a = rng.standard_normal((4, 6))
        cov = a @ a.T + np.diag(rng.uniform(0.05, 0.5, 4))
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
        limits = rng.uniform(-0.5, 2.5, 4)
        reference = stats.multivariate_normal(np.zeros(4), corr, abseps=1e-8, releps=1e-8, maxpts=2_000_000).cdf(limits)
        value = orthant_probability(limits, corr)
        assert value == pytest.approx(reference, abs=2e-4)
        assert orthant_probability(limits, corr) == value
    limits = np.array([0.3, 1.1, -0.4])
    assert orthant_probability(limits, np.eye(3)) == pytest.approx(np.prod(stats.norm.cdf(limits)), abs=1e-5)


def test_maxcombo_decides_at_further_levels_as_at_its_bound():
    """Holm decides a MaxCombo endpoint at alpha / 2 too, from the z of the run at alpha: with that level
    in ``refine_levels`` the p-value is as accurate near it as near the bound's own level, so the
    decisions at 0.0125 are those of a run whose bound is at 0.0125 (same seed, same trials).
    Without it, 6 of these 4000 delayed-effect trials were decided differently (p-values near 0.0125
    from the first pass only, about 5e-3 off)."""
    from simulator.engine.survival import simulate_trials

    model = dict(accrual=([0.0, 24.0], [1.0]), control=([0.0], [np.log(2) / 12]), look_events=[200],
                 weights=[(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)],
                 hazard_ratio_pieces=([0.0, 4.0], [1.0, 0.6]), hazard_ratio=1.0)
    z_half = stats.norm.isf(0.0125)
    at_half = simulate_trials(4000, 150, 150, rng=np.random.default_rng(3), efficacy=[z_half], **model)
    at_alpha = simulate_trials(4000, 150, 150, rng=np.random.default_rng(3), efficacy=[stats.norm.isf(0.025)],
                               refine_levels=(0.0125,), **model)
    assert 0.5 < np.mean(at_half.decision == 1) < 0.9  # the comparison is about trials on both sides
    assert np.array_equal(at_alpha.z >= z_half, at_half.decision == 1)
    with pytest.raises(InputError, match="refine_levels"):
        simulate_trials(10, 150, 150, rng=np.random.default_rng(0), efficacy=[2.0], refine_levels=(0.0,), **model)
