"""Continuous endpoints simulated per patient with other endpoints (Gaussian copula, entry order)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import simulator as p3
from simulator.design.means import power_means

BASE = {
    "trial": {"name": "J", "n_total": 200},
    "endpoints": {
        "qol": {"kind": "continuous", "test": "z",
                "truth": {"sd": 12, "control": {"mean": 50}, "experimental": {"mean": 54}}},
        "pain": {"kind": "continuous", "test": "z", "better": "lower",
                 "truth": {"sd": 10, "control": {"mean": 30}, "experimental": {"mean": 27}}},
        "resp": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.45}},
    },
    "correlation": {"qol.pain": 0.5},
    "simulation": {"null": True},
}
N = 100_000


def test_correlated_continuous_endpoints_match_the_bivariate_normal():
    # z tests with known SDs: the oriented z statistics of qol and pain are exactly bivariate normal with
    # correlation -0.5 (pain is oriented by -1), independent of the binary endpoint (no correlation given).
    # Reference: P(both reject) from scipy's bivariate normal, times the binary endpoint's power, which is
    # the normal approximation (its exact value is checked elsewhere), so the trial check uses the
    # simulated binary power instead.
    res = p3.Trial.from_dict(BASE).simulate(n_sims=N, seed=4)
    s = res.scenarios[0]
    z = stats.norm.isf(0.025)
    m_qol = 4 / (12 * math.sqrt(2 / 100))
    m_pain = 3 / (10 * math.sqrt(2 / 100))
    for name, mean in (("qol", m_qol), ("pain", m_pain)):
        exact = stats.norm.sf(z - mean)
        assert abs(s.endpoints[name].power.value - exact) <= 4 * math.sqrt(exact * (1 - exact) / N), name
        assert s.endpoints[name].type1.value <= 0.025 + 4 * math.sqrt(0.025 * 0.975 / N), name
    both = stats.multivariate_normal.cdf([m_qol - z, m_pain - z], mean=[0, 0], cov=[[1, -0.5], [-0.5, 1]])
    resp = s.endpoints["resp"].power.value
    expected = both * resp
    # MCSE of the product estimate: the trial-level proportion's, plus the binary estimate's share.
    mcse = math.sqrt(expected * (1 - expected) / N) + both * s.endpoints["resp"].power.mcse
    assert abs(s.power.value - expected) <= 4 * mcse
    # The correlation matters: independence would give a visibly different answer.
    independent = stats.norm.sf(z - m_qol) * stats.norm.sf(z - m_pain) * resp
    assert abs(independent - expected) > 10 * mcse


def test_student_t_marginal_in_a_joint_trial_is_the_noncentral_t():
    cfg = {**BASE, "endpoints": {**BASE["endpoints"], "qol": {**BASE["endpoints"]["qol"], "test": "t"}},
           "correlation": {"qol.resp": 0.4}}
    res = p3.Trial.from_dict(cfg).simulate(n_sims=N, seed=5)
    exact = power_means("t", 4.0, 12.0, 12.0, 100, 100, 0.025, 1)
    got = res.scenarios[0].endpoints["qol"].power.value
    assert abs(got - exact) <= 4 * math.sqrt(exact * (1 - exact) / N)


def test_joint_continuous_is_reproducible_and_independent_of_jobs():
    trial = p3.Trial.from_dict(BASE)
    one = trial.simulate(n_sims=20_000, seed=9, jobs=1).to_dict()["scenarios"]
    two = trial.simulate(n_sims=20_000, seed=9, jobs=2).to_dict()["scenarios"]
    assert one == two


def test_continuous_with_a_survival_endpoint_is_refused_naming_the_key():
    cfg = {**BASE, "correlation": {}}
    cfg["endpoints"] = {**BASE["endpoints"], "os": {
        "kind": "survival", "truth": {"control": {"median": 12}, "hazard_ratio": 0.7},
        "accrual": {"duration": 24}}}
    with pytest.raises(p3.InputError, match=r"config key `endpoints\.qol\.kind`: \"continuous\" endpoints cannot yet"):
        p3.Trial.from_dict(cfg)


def test_mixed_kernel_outcomes_are_normal_with_the_asked_moments():
    from simulator.engine.joint import simulate_entry_order_mixed

    chol = np.linalg.cholesky(np.array([[1.0, 0.3], [0.3, 1.0]]))
    thresholds = np.full((1, 1, 2), stats.norm.ppf(0.4))
    mu = np.array([[[10.0, 12.0]]])
    sd = np.array([[[2.0, 3.0]]])
    x_c, x_e, sums, squares = simulate_entry_order_mixed(np.random.default_rng(3), [50], [50], chol, thresholds,
                                                         np.broadcast_to(mu, (4000, 1, 2)), sd)
    means = sums[0, :, :, 0] / 50
    variances = squares[0, :, :, 0] / 49
    # Means: N(mu, sd^2 / 50) over 4000 trials; sample variances: mean sd^2 (unbiased).
    for arm in range(2):
        assert abs(means[:, arm].mean() - mu[0, 0, arm]) <= 4 * sd[0, 0, arm] / math.sqrt(50 * 4000)
        se_var = math.sqrt(2 * sd[0, 0, arm] ** 4 / 49 / 4000)
        assert abs(variances[:, arm].mean() - sd[0, 0, arm] ** 2) <= 4 * se_var
    assert abs(x_c.mean() / 50 - 0.4) <= 4 * math.sqrt(0.4 * 0.6 / 50 / 4000)


def test_misspelt_required_keys_of_the_binary_and_continuous_tables_get_a_did_you_mean():
    cfg = {"trial": {"n_total": 100}, "endpoints": {
        "qol": {"kind": "continuous", "truth": {"sd": 10, "contrl": {"mean": 1}, "experimental": {"mean": 2}}}}}
    with pytest.raises(p3.InputError, match=r"`endpoints\.qol\.truth\.contrl`: unknown key; did you mean `control`\?"):
        p3.Trial.from_dict(cfg)
    cfg["endpoints"]["qol"]["truth"] = {"sd": 10, "control": {"maen": 1}, "experimental": {"mean": 2}}
    with pytest.raises(p3.InputError, match=r"`endpoints\.qol\.truth\.control\.maen`: unknown key; did you mean `mean`\?"):
        p3.Trial.from_dict(cfg)
    binary = {"trial": {"n_total": 100}, "endpoints": {
        "resp": {"kind": "binary", "truth": {"controll": 0.2, "experimental": 0.3}}}}
    with pytest.raises(p3.InputError, match=r"`endpoints\.resp\.truth\.controll`: unknown key; did you mean `control`\?"):
        p3.Trial.from_dict(binary)
