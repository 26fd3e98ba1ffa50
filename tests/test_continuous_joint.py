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


def test_two_correlated_continuous_endpoints_without_a_binary_one():
    # The copula with continuous members only (it once failed on its empty binary thresholds). Reference as
    # above: z tests with known SDs, oriented statistics bivariate normal with correlation -0.5.
    cfg = {**BASE, "endpoints": {k: v for k, v in BASE["endpoints"].items() if k != "resp"}}
    s = p3.Trial.from_dict(cfg).simulate(n_sims=N, seed=6).scenarios[0]
    z = stats.norm.isf(0.025)
    m_qol = 4 / (12 * math.sqrt(2 / 100))
    m_pain = 3 / (10 * math.sqrt(2 / 100))
    both = stats.multivariate_normal.cdf([m_qol - z, m_pain - z], mean=[0, 0], cov=[[1, -0.5], [-0.5, 1]])
    assert abs(s.power.value - both) <= 4 * math.sqrt(both * (1 - both) / N)
    assert abs(stats.norm.sf(z - m_qol) * stats.norm.sf(z - m_pain) - both) > 10 * math.sqrt(both * (1 - both) / N)


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


SURVIVAL = {
    "trial": {"name": "os + qol", "n_total": 400},
    "endpoints": {
        "os": {"kind": "survival", "truth": {"control": {"median": 12}, "hazard_ratio": 0.7},
               "accrual": {"duration": 24}},
        "qol": {"kind": "continuous", "test": "t",
                "truth": {"sd": 12, "control": {"mean": 50}, "experimental": {"mean": 53}}},
    },
    "design": {"events": 250},
    "simulation": {"null": True},
}


def test_continuous_read_at_the_survival_look_is_the_noncentral_t():
    # One look at 250 events, after the end of accrual (all 400 enrolled, no delay): every patient's
    # outcome is known at the analysis, so the t test is on 200 vs 200 and its power is the noncentral t
    # (exact); the type I error is alpha. The survival endpoint is unchanged by the continuous one
    # (zero correlation): its power matches the survival engine alone within 4 joint MCSE.
    n = 40_000
    res = p3.Trial.from_dict(SURVIVAL).simulate(n_sims=n, seed=6)
    qol = res.scenarios[0].endpoints["qol"]
    exact = power_means("t", 3.0, 12.0, 12.0, 200, 200, 0.025, 1)
    assert abs(qol.power.value - exact) <= 4 * math.sqrt(exact * (1 - exact) / n)
    assert qol.type1.value <= 0.025 + 4 * math.sqrt(0.025 * 0.975 / n)
    assert qol.data["evaluable_per_look"] == [400.0]
    alone = p3.Trial.from_dict({**SURVIVAL, "endpoints": {"os": SURVIVAL["endpoints"]["os"]}}).simulate(n_sims=n, seed=7)
    os_joint, os_alone = res.scenarios[0].endpoints["os"].power, alone.scenarios[0].power
    assert abs(os_joint.value - os_alone.value) <= 4 * math.hypot(os_joint.mcse, os_alone.mcse)


def test_continuous_at_two_survival_looks_with_a_delay_and_a_correlation():
    # Two looks (125 and 250 events) with a 6-month delay: at the interim only the patients entered 6
    # months before the cut count, so the continuous endpoint's information fraction (patients known at
    # the interim over those at the final look) is its own, not the survival endpoint's 0.5, and its
    # bounds are those of its own fractions (alpha spent at them). Checks: the type I error stays within
    # alpha + 4 MCSE, the mean interim fraction is strictly inside (0, 1) and not 0.5, and a latent
    # correlation between the outcome and survival moves trial success away from independence.
    n = 40_000
    cfg = {**SURVIVAL, "design": {"events": 250, "looks": 2},
           "endpoints": {**SURVIVAL["endpoints"], "qol": {**SURVIVAL["endpoints"]["qol"], "delay": 6}}}
    independent = p3.Trial.from_dict(cfg).simulate(n_sims=n, seed=8).scenarios[0]
    qol = independent.endpoints["qol"]
    assert qol.type1.value <= 0.025 + 4 * math.sqrt(0.025 * 0.975 / n)
    interim = qol.data["realised_fractions"][0]
    assert 0 < interim < 1 and abs(interim - 0.5) > 0.02
    correlated = p3.Trial.from_dict({**cfg, "correlation": {"qol.os": -0.5}}).simulate(n_sims=n, seed=8).scenarios[0]
    # A small survival latent means an early death, a large qol latent a good outcome: a negative
    # correlation pairs good outcomes with early deaths, so the two endpoints succeed together less often.
    change = correlated.power.value - independent.power.value
    assert change < -4 * math.hypot(correlated.power.mcse, independent.power.mcse)


def test_mixed_kernel_outcomes_are_normal_with_the_asked_moments():
    from simulator.engine.joint import simulate_entry_order_mixed

    chol = np.linalg.cholesky(np.array([[1.0, 0.3], [0.3, 1.0]]))
    thresholds = np.full((1, 1, 2), stats.norm.ppf(0.4))
    mu = np.array([[[10.0, 12.0]]])
    sd = np.array([[[2.0, 3.0]]])
    x_c, x_e, sums, squares, _ = simulate_entry_order_mixed(np.random.default_rng(3), [50], [50], chol, thresholds,
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


# The review's ANCOVA design (tests/test_continuous.py): 7 + 7 patients, rho 0.8, SD 1, difference 1 SD. The
# least-squares ANCOVA's power (the covariate's chance imbalance included) is 0.77478 (means.covariate_average,
# checked there against a quadrature and a plain-NumPy fit); the balanced approximation gave 0.80987.
ANCOVA_POWER = 0.77478
ANCOVA = {"kind": "continuous", "test": "t", "rho": 0.8,
          "truth": {"sd": 1.0, "control": {"mean": 0.0}, "experimental": {"mean": 1.0}}}


def _least_squares_t(x, y, treated):
    """The ANCOVA t of the arm effect, ``y ~ 1 + arm + x`` by least squares (numpy.linalg.lstsq), and its df."""
    design = np.column_stack([np.ones(y.size), treated.astype(float), x])
    coef, rss, _, _ = np.linalg.lstsq(design, y, rcond=None)
    dof = y.size - 3
    var = rss[0] / dof * np.linalg.inv(design.T @ design)[1, 1]
    return coef[1] / math.sqrt(var), dof


def test_ancova_in_a_joint_trial_in_entry_order_has_the_least_squares_power():
    # A joint trial (binary resp correlated 0.3 with qol: the copula ties them, qol's own law is unchanged, so
    # its marginal power is the ANCOVA's whatever the correlation) whose qol is the ANCOVA design above: its
    # simulated power is within 4 MCSE of the least-squares ANCOVA's power_exact, and far from the balanced
    # approximation the joint engine used to simulate; its type I error is alpha within 4 MCSE.
    n = N
    cfg = {"trial": {"name": "J", "n_total": 14}, "endpoints": {"qol": ANCOVA, "resp": BASE["endpoints"]["resp"]},
           "correlation": {"qol.resp": 0.3}, "simulation": {"null": True}}
    res = p3.Trial.from_dict(cfg).simulate(n_sims=n, seed=13).scenarios[0]
    qol = res.endpoints["qol"]
    assert qol.data["analytic"]["power_exact"] == pytest.approx(ANCOVA_POWER, abs=5e-6)
    mcse = math.sqrt(ANCOVA_POWER * (1 - ANCOVA_POWER) / n)
    assert abs(qol.power.value - ANCOVA_POWER) <= 4 * mcse, qol.power.value
    assert abs(qol.power.value - 0.80987) > 10 * mcse
    assert abs(qol.type1.value - 0.025) <= 4 * math.sqrt(0.025 * 0.975 / n), qol.type1.value


def test_ancova_moments_of_the_entry_order_kernel_are_those_of_the_patients():
    # The kernel's per-arm moments against the same sums over its own draws, replayed: with an identity copula
    # and no binary endpoint each patient draws its latent normal and then its covariate from the generator,
    # in entry order (control arm first), so a replay of the generator gives every patient's (e, x).
    from simulator.engine.continuous import ancova_moment_statistics, design
    from simulator.engine.joint import simulate_entry_order_mixed

    looks, sd, n_sims = np.array([4, 9]), 0.6, 5
    _, _, sums, squares, cov = simulate_entry_order_mixed(
        np.random.default_rng(5), looks, looks, np.eye(1), np.zeros((n_sims, 0, 2)), np.array([[[0.0, 1.0]]]),
        np.full((1, 1, 2), sd), [1.0])
    draws = np.random.default_rng(5).standard_normal((n_sims, 2, looks[-1], 2))  # trial, arm, patient, (z, x)
    e, x = sd * draws[..., 0], draws[..., 1]
    d = design(looks - np.r_[0, looks[:-1]], looks - np.r_[0, looks[:-1]], test="t", sign=1.0, theta0=0.0,
               covariate=1)
    stat, df = np.empty((n_sims, 2)), np.empty((n_sims, 2))
    part = lambda a, arm, j: np.ascontiguousarray(a[0, :, arm, j])  # noqa: E731
    ancova_moment_statistics(d, d.n_c[None], d.n_e[None], np.ascontiguousarray(sums[0, :, 0]),
                             np.ascontiguousarray(sums[0, :, 1]), np.ascontiguousarray(squares[0, :, 0]),
                             np.ascontiguousarray(squares[0, :, 1]), part(cov, 0, 0), part(cov, 1, 0),
                             part(cov, 0, 1), part(cov, 1, 1), part(cov, 0, 2), part(cov, 1, 2),
                             np.array([sd]), np.array([sd]), stat, df)
    for i in range(n_sims):
        for k, m in enumerate(looks):
            for arm in range(2):
                ea, xa = e[i, arm, :m], x[i, arm, :m]
                assert cov[0, i, arm, 0, k] == pytest.approx(xa.sum(), abs=1e-12)
                assert cov[0, i, arm, 1, k] == pytest.approx(((xa - xa.mean()) ** 2).sum(), rel=1e-12)
                assert cov[0, i, arm, 2, k] == pytest.approx(((xa - xa.mean()) * (ea - ea.mean())).sum(), abs=1e-12)
            y = np.r_[e[i, 0, :m], 1.0 + e[i, 1, :m]]
            t, dof = _least_squares_t(np.r_[x[i, 0, :m], x[i, 1, :m]], y, np.r_[np.zeros(m), np.ones(m)])
            assert stat[i, k] == pytest.approx(t, rel=1e-9) and df[i, k] == dof


def test_ancova_at_survival_looks_is_the_least_squares_fit_of_the_known_patients():
    # One large calendar trial, three looks, a 3-month delay: at each look the kernel's ANCOVA statistic (through
    # the member's calendar_z, its p-value on the z scale) is a plain least-squares fit of the evaluable patients
    # whose outcome is known at the look (entry + delay <= look time), from the kernel's own per-patient values.
    from simulator.engine import joint as joint_engine
    from simulator.engine.continuous import ancova_moment_statistics, design

    trials, pts, _, values = joint_engine._run_calendar(
        np.random.default_rng(3), 150, 150, missing=(10, 10), accrual=([0.0, 24.0], [12.5]), control=([0.0], [0.05]),
        hazard_ratio=0.7, cholesky=np.eye(3), thresholds=np.zeros((1, 1, 2)), delays=[1.0],
        look_events=[60, 120, 180], continuous=(np.array([[[2.0, 2.5]]]), np.full((1, 1, 2), 0.6), np.array([3.0]),
                                                np.ones(1)))
    sums = trials.continuous
    d = design([1], [1], test="t", sign=1.0, theta0=0.0, covariate=1)
    n_looks = 3
    stat, df = np.empty((1, n_looks)), np.empty((1, n_looks))
    c = lambda a: np.ascontiguousarray(a[0], dtype=float)  # noqa: E731
    ancova_moment_statistics(d, c(sums.n_c), c(sums.n_e), c(sums.sum_c), c(sums.sum_e), c(sums.ss_c), c(sums.ss_e),
                             c(sums.sx_c), c(sums.sx_e), c(sums.sxx_c), c(sums.sxx_e), c(sums.sxe_c), c(sums.sxe_e),
                             np.array([0.6]), np.array([0.6]), stat, df)
    assert trials.last_look[0] == n_looks - 1
    for k in range(n_looks):
        cut, m = trials.look_times[0, k], trials.enrolled[0, k]
        p = np.arange(m)
        known = p[(pts.entry[:m] + 3.0 <= cut) & ((pts.label[:m] == 0) | (pts.label[:m] == 2))]
        treated = pts.label[known] == 2
        assert (sums.n_c[0, 0, k], sums.n_e[0, 0, k]) == ((~treated).sum(), treated.sum())
        y = np.where(treated, 2.5, 2.0) + values[known, 0, 0]
        t, dof = _least_squares_t(values[known, 0, 1], y, treated)
        assert stat[0, k] == pytest.approx(t, rel=1e-9) and df[0, k] == dof


def test_ancova_read_at_a_survival_look_has_the_least_squares_power():
    # The ANCOVA design above beside a survival endpoint (zero correlation): one look at the 14th event of 14
    # patients without dropout, so every qol outcome is known (no delay) and qol is analysed on 7 + 7. Its power
    # is within 4 MCSE of the least-squares ANCOVA's power_exact, its type I error alpha within 4 MCSE.
    n = N
    cfg = {"trial": {"name": "os + qol", "n_total": 14},
           "endpoints": {"os": SURVIVAL["endpoints"]["os"], "qol": ANCOVA},
           "design": {"events": 14}, "simulation": {"null": True}}
    res = p3.Trial.from_dict(cfg).simulate(n_sims=n, seed=14).scenarios[0]
    qol = res.endpoints["qol"]
    assert qol.data["evaluable_per_look"] == [14.0]
    mcse = math.sqrt(ANCOVA_POWER * (1 - ANCOVA_POWER) / n)
    assert abs(qol.power.value - ANCOVA_POWER) <= 4 * mcse, qol.power.value
    assert abs(qol.type1.value - 0.025) <= 4 * math.sqrt(0.025 * 0.975 / n), qol.type1.value


def test_ancova_t_in_a_joint_trial_holds_its_level_at_twelve_patients():
    # The review's design: binary resp and continuous qol (t test, rho 0.5), 12 patients, correlation 0.3,
    # simulated under H0: the pooled t with one df for the covariate is exact, so its type I error is alpha.
    cfg = {**BASE, "trial": {"name": "J", "n_total": 12},
           "endpoints": {"resp": BASE["endpoints"]["resp"],
                         "qol": {**BASE["endpoints"]["qol"], "test": "t", "rho": 0.5}},
           "correlation": {"qol.resp": 0.3}}
    s = p3.Trial.from_dict(cfg).simulate(n_sims=N, seed=9).scenarios[0]
    assert abs(s.endpoints["qol"].type1.value - 0.025) <= 4 * math.sqrt(0.025 * 0.975 / N)
