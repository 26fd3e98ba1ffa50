"""Endpoints on the same patients: copula, calendar looks with delays, joint success.

Tolerances are in Monte Carlo standard errors (MCSE) of the simulated
quantity, 4 MCSE unless said otherwise: with a handful of comparisons per
test, a correct implementation fails one by chance with probability well
under 1e-3, while the effects the tests look for (a joint probability 18
MCSE above the product of the marginals, a wrong look size) are far larger.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from _runs import run
from simulator.cli import main
from simulator.config.load import load_scenarios
from simulator.endpoints.joint import JointPlan, phi_coefficient, statistic_correlation
from simulator.engine import joint as joint_engine
from simulator.engine.joint import simulate_calendar
from simulator.engine.seeding import chunk_generator
from simulator.engine.survival import logrank
from simulator.runner.simulate import build_plans, run_chunk

TWO_BINARY = """
[trial]
n_total = 800
[endpoints.a]
kind = "binary"
[endpoints.a.truth]
control = 0.30
experimental = 0.40
[endpoints.b]
kind = "binary"
[endpoints.b.truth]
control = 0.50
experimental = 0.59
[correlation]
"a.b" = 0.5
[simulation]
n_sims = 100000
seed = 11
jobs = 1
"""

SURVIVAL_AND_BINARY = """
[trial]
n_total = 240
missing = 0.05
[endpoints.os]
kind = "survival"
[endpoints.os.truth]
control = { median = 24.0 }
hazard_ratio = 0.65
[endpoints.os.accrual]
duration = 24.0
[endpoints.resp]
kind = "binary"
delay = 2.0
[endpoints.resp.truth]
control = 0.30
experimental = 0.45
[design]
events = 120
[simulation]
n_sims = 40000
seed = 5
jobs = 1
"""


def _write(tmp_path, text, name="joint.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _bundle(path, overrides=()):
    _, scenarios = load_scenarios(path, list(overrides))
    return build_plans(scenarios[0])


def _rate(counts, n):
    return int(counts["reject"].sum()) / n


def calendar_trial_patients(rng, n_control, n_experimental, **kwargs):
    """One trial of ``simulate_calendar`` (thresholds of shape (1, B, 2)) with its patients.

    The same numbers as the first trial of ``simulate_calendar`` on the same
    generator, so that every look can be recomputed from the patients.
    """
    trial, pts, binary_event, _ = joint_engine._run_calendar(rng, n_control, n_experimental, **kwargs)
    assert trial.z.shape[0] == 1
    patients = dict(entry=pts.entry, arm=(pts.label >= 2).astype(np.int64), evaluable=(pts.label % 2 == 0),
                    exit_time=pts.exit_time, is_event=pts.is_event, binary_event=binary_event.astype(bool))
    return trial, patients


def test_zero_correlation_joint_success_is_the_product_of_the_marginals(tmp_path):
    # A survival and a binary endpoint are simulated jointly (calendar looks)
    # even with no correlation; then success on both is independent.
    bundle = _bundle(_write(tmp_path, SURVIVAL_AND_BINARY))
    assert isinstance(bundle.units[0], JointPlan)
    n = 40000
    counts = run_chunk(bundle, "power", 0, n)
    p_os, p_resp = _rate(counts.endpoints["os"], n), _rate(counts.endpoints["resp"], n)
    joint = counts.success / n
    # Under independence p12 - p1 p2 has variance p1 q1 p2 q2 / n (delta method).
    mcse = math.sqrt(p_os * (1 - p_os) * p_resp * (1 - p_resp) / n)
    assert abs(joint - p_os * p_resp) < 4 * mcse

    # Every patient's outcome is known at the final look here (last entry at
    # 24 + 2 months, long before the 120th event), so the binary endpoint is
    # the fixed-size test on 114 + 114 patients: exact enumeration applies.
    resp = bundle.plans[1]
    assert counts.endpoints["resp"]["evaluable_sum"][-1] == n * 228
    exact = resp.exact()["power_exact"]
    assert abs(p_resp - exact) < 4 * math.sqrt(exact * (1 - exact) / n)

    # The survival marginal matches the independent survival kernel (its own
    # stream): the difference of two estimates has sd sqrt(2) * MCSE.
    survival = bundle.plans[0]
    alone, _ = survival.run_chunk(np.random.default_rng(123), n, "power")
    p_alone = alone.mean()
    assert abs(p_os - p_alone) < 4 * math.sqrt(2 * p_alone * (1 - p_alone) / n)


def test_positive_correlation_matches_the_bivariate_normal(tmp_path):
    bundle = _bundle(_write(tmp_path, TWO_BINARY))
    n = 100_000
    counts = run_chunk(bundle, "power", 0, n)
    a, b = bundle.plans
    power_a, power_b = a.exact()["power_exact"], b.exact()["power_exact"]
    joint = counts.success / n
    mcse = math.sqrt(joint * (1 - joint) / n)
    # Reference: the z statistics as bivariate normal with the derived
    # correlation, calibrated to the exact marginal powers (so that only the
    # dependence is approximated): P = Phi2(Phi^-1(pi_a), Phi^-1(pi_b); r).
    r = statistic_correlation((0.30, 0.40), (0.50, 0.59), 0.5, 400, 400)["correlation"]
    reference = stats.multivariate_normal.cdf(
        [stats.norm.ppf(power_a), stats.norm.ppf(power_b)], mean=[0, 0], cov=[[1, r], [r, 1]]
    )
    assert abs(joint - reference) < 4 * mcse
    assert joint - power_a * power_b > 10 * mcse  # clearly above independence (about 18 MCSE)
    for name, exact in (("a", power_a), ("b", power_b)):
        assert abs(_rate(counts.endpoints[name], n) - exact) < 4 * math.sqrt(exact * (1 - exact) / n)


def test_copula_marginals_are_exact_group_sequential_harm_and_fisher(tmp_path):
    # A harm tested for non-inferiority and a response tested by Fisher's exact
    # test, negatively correlated, two looks: each endpoint's per-look
    # rejection probabilities equal the independent engine's exact enumeration.
    text = """
[trial]
n_total = 200
[endpoints.harm]
kind = "binary"
better = "lower"
test = "farrington_manning"
margin = 0.1
[endpoints.harm.truth]
control = 0.30
experimental = 0.25
[endpoints.resp]
kind = "binary"
test = "fisher"
[endpoints.resp.truth]
control = 0.40
experimental = 0.60
[design]
looks = [0.5, 1.0]
[correlation]
"harm.resp" = -0.6
[simulation]
seed = 3
jobs = 1
"""
    bundle = _bundle(_write(tmp_path, text))
    n = 40000
    counts = run_chunk(bundle, "power", 0, n)
    for plan in bundle.plans:
        exact = plan.exact()
        simulated = counts.endpoints[plan.endpoint.name]["reject"] / n
        for p_sim, p_exact in zip(simulated, exact["reject_per_look_exact"]):
            assert abs(p_sim - p_exact) < 4 * math.sqrt(p_exact * (1 - p_exact) / n)


def test_delayed_binary_outcome_counts_only_known_patients():
    corr = np.array([[1.0, 0.3, 0.2], [0.3, 1.0, 0.0], [0.2, 0.0, 1.0]])
    thresholds = stats.norm.ppf(np.array([[[0.3, 0.2], [0.8, 0.85]]]))
    kwargs = dict(
        missing=(3, 4), accrual=([0.0, 10.0, 30.0], [1.0, 3.0]), control=([0.0, 12.0], [0.05, 0.02]),
        hazard_ratio=0.7, dropout=(0.01, 0.02), cholesky=np.linalg.cholesky(corr), delays=[5.0, 2.0],
        look_events=[30, 60, 90],
    )
    checked = 0
    for seed in range(40):
        trial, patients = calendar_trial_patients(np.random.default_rng(seed), 60, 70, thresholds=thresholds, **kwargs)
        entry, arm = patients["entry"], patients["arm"]
        assert np.all(np.diff(entry) >= 0) and arm.sum() == 70 and (~patients["evaluable"]).sum() == 7
        for k in range(3):
            cut = trial.look_times[0, k]
            if np.isnan(cut):
                continue
            enrolled = entry <= cut
            for b, delay in enumerate([5.0, 2.0]):
                known = enrolled & patients["evaluable"] & (entry + delay <= cut)
                assert trial.n_c[b, 0, k] == (known & (arm == 0)).sum()
                assert trial.n_e[b, 0, k] == (known & (arm == 1)).sum()
                assert trial.x_e[b, 0, k] == (known & (arm == 1) & patients["binary_event"][:, b]).sum()
                checked += 1
            # The one-pass log-rank equals the textbook one on the cut data.
            time = np.minimum(patients["exit_time"], cut - entry)[enrolled]
            event = (patients["is_event"] & (entry + patients["exit_time"] <= cut))[enrolled]
            assert event.sum() == trial.events[0, k]
            assert trial.z[0, k] == pytest.approx(logrank(time, event, arm[enrolled])[0], abs=1e-12)
    assert checked > 100
    # The many-trial kernel draws the same first trial from the same state.
    many = simulate_calendar(np.random.default_rng(7), 60, 70, thresholds=np.repeat(thresholds, 3, axis=0), **kwargs)
    one, _ = calendar_trial_patients(np.random.default_rng(7), 60, 70, thresholds=thresholds, **kwargs)
    np.testing.assert_array_equal(many.n_c[:, :1], one.n_c)
    np.testing.assert_array_equal(many.z[:1], one.z)


def test_survival_latent_is_the_normal_quantile_of_its_uniform():
    # Z_s = Phi^-1(1 - v) = -Phi^-1(v) by AS241 against scipy's ndtri (Cephes), and E = -log(v),
    # over the open uniforms' grid: the centre, both tails and their extremes (2^-53 is the smallest v).
    from numba import njit
    from scipy import special

    @njit
    def latents(v, z, e):
        for k in range(v.size):
            z[k], e[k] = joint_engine._survival_latent(v[k])

    rng = np.random.default_rng(3)
    grid = np.concatenate([rng.random(10**5), 10.0 ** -rng.uniform(0, 15.9, 10**5),
                           1 - 10.0 ** -rng.uniform(0, 15.6, 10**5)])
    v = (np.floor(grid * 2.0**52) + 0.5) / 2.0**52
    v = np.concatenate([v, [2.0**-53, 1 - 2.0**-53, 0.5 - 2.0**-53, 0.075, 0.925, math.exp(-25.0)]])
    z, e = np.empty_like(v), np.empty_like(v)
    latents(v, z, e)
    reference = np.where(v < 0.5, -special.ndtri(v), special.ndtri(1.0 - v))  # each from its exact tail
    # AS241 is accurate to about 1e-16 relative; its Estrin evaluation and the two libraries' roundings add a few ulps.
    np.testing.assert_allclose(z, reference, rtol=3e-15, atol=1e-300)
    np.testing.assert_allclose(e, -np.log(v), rtol=4e-16, atol=0)  # libm against NumPy: an ulp
    assert np.all(np.sign(z) == np.sign(0.5 - v))


def test_the_survival_exit_and_binary_outcomes_follow_the_gaussian_copula():
    # One trial of 40,000 patients, every one with an exit (no dropout, HR 1) and both outcomes, so the patients
    # are a sample of the copula: each exit Exp(0.05); the binary events at their rates; and the joint law of
    # (binary event, early exit): an exit before the q-quantile is Z_s < Phi^-1(q), so
    # P(event and exit before it) = Phi2(Phi^-1(p), Phi^-1(q); r), with r the latent correlation.
    corr = np.array([[1.0, -0.4, 0.6], [-0.4, 1.0, 0.3], [0.6, 0.3, 1.0]])  # a, b, then survival
    rates = np.array([0.3, 0.7])
    thresholds = np.repeat(stats.norm.ppf(rates)[None, :, None], 2, axis=2)
    trial, patients = calendar_trial_patients(
        np.random.default_rng(17), 20000, 20000, accrual=([0.0, 1.0], [1.0]), control=([0.0], [0.05]),
        hazard_ratio=1.0, cholesky=np.linalg.cholesky(corr), thresholds=thresholds, delays=[0.0, 0.0],
        look_events=[40000],
    )
    n = 40000
    exit_time, events = patients["exit_time"], patients["binary_event"]
    assert patients["is_event"].all()
    assert stats.kstest(exit_time, stats.expon(scale=20.0).cdf).pvalue > 1e-3
    for b, p in enumerate(rates):
        assert abs(events[:, b].mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    for b, r in enumerate((0.6, 0.3)):
        for q in (0.2, 0.5, 0.8):
            early = exit_time < stats.expon(scale=20.0).ppf(q)
            wanted = stats.multivariate_normal.cdf([stats.norm.ppf(rates[b]), stats.norm.ppf(q)], cov=[[1, r], [r, 1]])
            both = np.mean(events[:, b] & early)
            assert abs(both - wanted) < 4 * math.sqrt(wanted * (1 - wanted) / n), (b, q)
    # The two binary endpoints: P(both) = Phi2(t_a, t_b; -0.4).
    wanted = stats.multivariate_normal.cdf(stats.norm.ppf(rates), cov=[[1, -0.4], [-0.4, 1]])
    assert abs(np.mean(events[:, 0] & events[:, 1]) - wanted) < 4 * math.sqrt(wanted * (1 - wanted) / n)


def test_a_binary_endpoint_correlated_with_nothing_keeps_its_law():
    # Endpoint c is correlated with nothing, so the kernel draws its event as a uniform below its rate
    # (no latent normal): flagged alone, and still Bernoulli(p) per arm, independent of the survival
    # exit and of the correlated endpoint a (P(c and x) = p P(x) for each event x), at 40,000 patients.
    corr = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [0.5, 0.0, 1.0]])  # a, c, then survival
    chol = joint_engine._survival_first(np.linalg.cholesky(corr))
    np.testing.assert_array_equal(joint_engine._alone(chol, 2), [0, 0, 1])
    np.testing.assert_array_equal(joint_engine._alone(joint_engine._survival_first(np.eye(3)), 2), [0, 1, 1])
    rates = np.array([[0.3, 0.3], [0.2, 0.6]])  # per endpoint, control then experimental
    trial, patients = calendar_trial_patients(
        np.random.default_rng(29), 20000, 20000, accrual=([0.0, 1.0], [1.0]), control=([0.0], [0.05]),
        hazard_ratio=1.0, cholesky=np.linalg.cholesky(corr), thresholds=stats.norm.ppf(rates)[None],
        delays=[0.0, 0.0], look_events=[40000],
    )
    n_arm = 20000
    events, arm, exit_time = patients["binary_event"], patients["arm"], patients["exit_time"]
    for a, p in enumerate(rates[1]):
        assert abs(events[arm == a, 1].mean() - p) < 4 * math.sqrt(p * (1 - p) / n_arm), a
    treated = arm == 1
    for other in (exit_time < stats.expon(scale=20.0).ppf(0.3), events[:, 0]):
        q = other[treated].mean()
        both = np.mean(events[treated, 1] & other[treated])
        assert abs(both - 0.6 * q) < 4 * math.sqrt(0.6 * q * (1 - 0.6 * q) / n_arm)
    # The correlated pair still follows the copula: P(a and early exit) = Phi2(t_a, t_q; 0.5).
    early = exit_time < stats.expon(scale=20.0).ppf(0.3)
    wanted = stats.multivariate_normal.cdf(stats.norm.ppf([0.3, 0.3]), cov=[[1, 0.5], [0.5, 1]])
    assert abs(np.mean(events[:, 0] & early) - wanted) < 4 * math.sqrt(wanted * (1 - wanted) / (2 * n_arm))


def test_exponential_exits_are_the_piecewise_rule():
    # One hazard piece per arm takes the kernel's product unit * mean; the same hazard written as two
    # equal pieces takes exit_from_pieces's inverse, from the same random numbers: the exits agree to
    # rounding and every patient's event, dropout and censoring (max_follow_up) are the same.
    kwargs = dict(missing=(2, 3), accrual=([0.0, 20.0], [1.0]), hazard_ratio=0.7, dropout=(0.02, 0.03),
                  cholesky=np.linalg.cholesky(np.array([[1.0, 0.3], [0.3, 1.0]])),
                  thresholds=np.full((1, 1, 2), -0.4), delays=[1.0], look_events=[40, 80],
                  max_follow_up=30.0)
    for seed in range(20):
        one, pts_one = calendar_trial_patients(np.random.default_rng(seed), 60, 70, control=([0.0], [0.04]),
                                               **kwargs)
        two, pts_two = calendar_trial_patients(np.random.default_rng(seed), 60, 70,
                                               control=([0.0, 9.0], [0.04, 0.04]), **kwargs)
        np.testing.assert_array_equal(pts_one["is_event"], pts_two["is_event"])
        np.testing.assert_allclose(pts_one["exit_time"], pts_two["exit_time"], rtol=1e-13, atol=0)
        np.testing.assert_array_equal(pts_one["binary_event"], pts_two["binary_event"])
        np.testing.assert_allclose(one.z, two.z, rtol=1e-12)
        assert pts_one["is_event"].any() and not pts_one["is_event"].all()
        assert np.any(pts_one["exit_time"] == 30.0)  # some censored at the maximum follow-up


def test_binary_at_calendar_looks_keeps_its_level(tmp_path):
    # Two looks at half and all of the survival events; the binary endpoint's
    # bounds are spent at each trial's own information fractions, so its type
    # I error (boundary of H0, both arms 0.30) stays at alpha = 0.025.
    path = _write(tmp_path, SURVIVAL_AND_BINARY.replace("n_total = 240", "n_total = 400").replace(
        "[design]\nevents = 120", "[design]\nevents = 200\nlooks = [0.5, 1.0]"))
    bundle = _bundle(path)
    n = 40000
    counts = run_chunk(bundle, "type1", 0, n)
    size = _rate(counts.endpoints["resp"], n)
    assert abs(size - 0.025) < 4 * math.sqrt(0.025 * 0.975 / n)
    fractions = counts.endpoints["resp"]["fraction_sum"] / n
    # Mean fractions: the interim sees part of the information; the final look
    # all of it, except in the few trials where every outcome was already
    # known at the interim (which is then their final analysis).
    assert 0.5 < fractions[0] < 1.0 and 0.99 < fractions[1] <= 1.0


def test_extra_levels_for_holm_are_the_member_tests_at_those_levels(tmp_path):
    # Holm analyses the same trials at alpha / j: a joint trial returns
    # success per level, and each level is the member's test at that level.
    from simulator.endpoints.binary import BinaryPlan

    bundle = _bundle(_write(tmp_path, TWO_BINARY.replace("n_total = 800", "n_total = 200")))
    config = bundle.scenario.config
    members = tuple(BinaryPlan.from_config(config, e, 0.025, (0.0125,)) for e in config.endpoints)
    unit = JointPlan.from_config(config, members)
    n = 40000
    out = unit.run_chunk(np.random.default_rng(9), n, "power")
    for endpoint in config.endpoints:
        success, _ = out[endpoint.name]
        assert success.shape == (2, n) and not np.any(success[1] & ~success[0])
        exact = BinaryPlan.from_config(config, endpoint, 0.0125).exact()["power_exact"]
        assert abs(success[1].mean() - exact) < 4 * math.sqrt(exact * (1 - exact) / n)


def test_phi_coefficient_sheppard():
    # For p = 1/2 the phi coefficient of a dichotomised bivariate normal is
    # 2 asin(rho) / pi (Sheppard's formula), an independent check of Phi2.
    for rho in (-0.7, 0.2, 0.5, 0.9):
        assert phi_coefficient(0.5, 0.5, rho) == pytest.approx(2 * math.asin(rho) / math.pi, abs=1e-7)
    assert phi_coefficient(0.2, 0.7, 0.0) == pytest.approx(0.0, abs=1e-7)


def test_joint_results_do_not_depend_on_jobs(tmp_path):
    path = _write(tmp_path, TWO_BINARY.replace("n_total = 800", "n_total = 100"))
    one = run(path, n_sims=70_000, jobs=1)  # two chunks
    two = run(path, n_sims=70_000, jobs=2)
    assert one["scenarios"] == two["scenarios"]


def test_joint_stream_is_keyed_by_the_member_names(tmp_path):
    bundle = _bundle(_write(tmp_path, TWO_BINARY))
    unit = bundle.units[0]
    assert unit.stream_name == "joint:a+b"
    again = unit.run_chunk(chunk_generator(bundle.entropy, "power", unit.stream_name, 0), 500, "power")
    counts = run_chunk(bundle, "power", 0, 500)
    np.testing.assert_array_equal(again["a"][1]["reject"], counts.endpoints["a"]["reject"])


def test_a_correlation_written_another_way_draws_the_same_trials():
    # A review: "os.morbidity" instead of "morbidity.os", or an explicit 0 for a pair, changed the seed digest
    # and so every number, though the matrix is the same (conventions: writing a default changes nothing).
    import tomllib

    from simulator.config.digest import scenario_digest

    raw = tomllib.loads((Path(__file__).resolve().parent.parent / "configs" / "cairo6.toml").read_text("utf-8"))
    raw["trial"]["n_total"] = 358

    def digest(correlation):
        return scenario_digest(load_config({**raw, "correlation": correlation}))

    given = digest({"morbidity.os": 0.2})
    assert digest({"os.morbidity": 0.2}) == given
    assert digest({"morbidity.os": 0.2, "complete_crs.os": 0.0}) == given
    assert digest({"complete_crs.os": 0.0}) == digest({})
    assert digest({"morbidity.os": 0.3}) != given
    # CAIRO6's own digest (and so its published numbers) is the one it had.
    assert given == [4074142915, 1005283845, 2127012039, 2933311632]


def load_config(raw):
    from simulator.api import Trial

    return Trial.from_dict(raw).scenarios[0].config


BAD = [
    (TWO_BINARY, ['correlation.a.b=1.2'], r"`correlation\.a\.b`: must be a number in \(-1, 1\)"),
    (TWO_BINARY, ['correlation.a.a=0.2'], r"`correlation\.a\.a`: must pair two different endpoints"),
    (TWO_BINARY, ['correlation.b.a=0.2'], r"`correlation\.b\.a`: gives the same pair as `correlation\.a\.b`"),
    (
        TWO_BINARY + '[endpoints.c]\nkind = "binary"\n[endpoints.c.truth]\ncontrol = 0.2\nexperimental = 0.3\n',
        ["correlation.a.b=0.9", "correlation.a.c=0.9", "correlation.b.c=-0.9"],
        r"`correlation`: the correlation matrix .* must be positive definite",
    ),
    (
        SURVIVAL_AND_BINARY + '[endpoints.pfs]\nkind = "survival"\n[endpoints.pfs.truth]\n'
        'control = { median = 12.0 }\nhazard_ratio = 0.7\n[endpoints.pfs.accrual]\nduration = 24.0\n',
        [],
        r"`endpoints\.pfs\.kind`: .*at most one survival endpoint",
    ),
    (SURVIVAL_AND_BINARY, ['endpoints.resp.test="fisher"'], r'`endpoints\.resp\.test`: cannot be "fisher"'),
    (SURVIVAL_AND_BINARY, ["endpoints.resp.delay=-1"], r"`endpoints\.resp\.delay`: must be a number in \[0, 10000\]"),
    (SURVIVAL_AND_BINARY, ["design.look_sizes=[100, 240]"], r"`design\.look_sizes`: is not used"),
]


@pytest.mark.parametrize("text, overrides, pattern", BAD)
def test_bad_joint_input_exits_2_naming_the_key(tmp_path, capsys, text, overrides, pattern):
    argv = ["design", str(_write(tmp_path, text))]
    for override in overrides:
        argv += ["--set", override]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and re.search(pattern, lines[0]), lines


def _record_bounds(monkeypatch) -> list:
    """Record (first look tested, its efficacy bound, its information fraction, trials) of every group of
    trials a joint binary endpoint decides with its own bounds."""
    from simulator.endpoints import joint as joint_module

    seen = []
    original = joint_module._add_bounds

    def record(used, bounds, looks, trials):
        fraction = 1.0 if bounds.sequential is None else float(bounds.sequential.fractions[0])
        seen.append((int(looks[0]), float(bounds.efficacy[0]), fraction, trials))
        original(used, bounds, looks, trials)

    monkeypatch.setattr(joint_module, "_add_bounds", record)
    return seen


def _of_first_look(seen, stream_trials):
    """The trials' mean first-look bound, and asOF's closed form checked on every group."""
    z = stats.norm.isf(0.025 / 2)
    total = weight = 0.0
    for look, bound, fraction, trials in seen[:stream_trials]:
        if look == 0:
            assert bound == pytest.approx(stats.norm.isf(2 * stats.norm.sf(z / math.sqrt(fraction))), rel=1e-9)
            total, weight = total + trials * bound, weight + trials
    return total / weight


def test_a_binary_endpoint_at_survival_looks_reports_the_bounds_its_trials_used(tmp_path, monkeypatch):
    # An independent review found the planned bounds (fraction 0.5, 200 patients) beside the mean realised
    # fraction (about 0.8) and the per-look probabilities of trials that each used bounds at their own
    # fractions. Now the report gives the mean of the bounds the trials used (each group of trials at its own
    # fractions; asOF's first bound has a closed form, checked on every group), and the critical effect is where
    # the pooled z at the mean evaluable patients per arm (split by the allocation, docs/reports.md) equals it.
    seen = _record_bounds(monkeypatch)
    path = tmp_path / "joint.toml"
    path.write_text(
        '[trial]\nn_total = 400\n[endpoints.os]\nkind = "survival"\n'
        "truth = { control = { median = 12.0 }, hazard_ratio = 0.7 }\naccrual = { rate = 20.0 }\n"
        'follow_up = { minimum = 12.0 }\n[endpoints.resp]\nkind = "binary"\ndelay = 3.0\n'
        "truth = { control = 0.30, experimental = 0.45 }\n[design]\nlooks = [0.5, 1.0]\n"
        "[simulation]\nnull = false\n",
        encoding="utf-8",
    )
    resp = run(path, n_sims=2000, seed=4, jobs=1)["scenarios"][0]["endpoints"]["resp"]
    t1 = resp["tested_fractions"][0]
    assert resp["tested_fractions"][1] == 1.0 and 0.6 < t1 < 0.95
    assert "look_sizes" not in resp and "means over the trials that tested each look" in resp["bounds_note"]
    assert len({round(f, 3) for _, _, f, _ in seen}) > 1  # the trials' fractions differ
    assert resp["efficacy_bounds"][0] == pytest.approx(_of_first_look(seen, len(seen)), rel=1e-12)
    for k, mean in enumerate(resp["evaluable_per_look"]):
        n_e = max(np.rint(mean / 2), 1)  # the split docs/reports.md gives (1:1)
        n_c = max(np.rint(mean) - n_e, 1)
        p_c, p_e = 0.30, 0.30 + resp["critical_effect"][k]
        pooled = (p_c * n_c + p_e * n_e) / (n_c + n_e)
        z_at = (p_e - p_c) / math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_e))
        assert z_at == pytest.approx(resp["efficacy_bounds"][k], rel=1e-6)


def test_oc_table_says_exact_and_analytic_power_are_the_planned_looks(tmp_path):
    # A hand-over review: the binary endpoint's exact power (its design at the planned looks) sat beside its
    # simulated power at the survival looks under the same header as elsewhere, with only a note below.
    from simulator.report.tables import endpoint_table

    path = tmp_path / "joint.toml"
    path.write_text(
        '[trial]\nn_total = 400\n[endpoints.os]\nkind = "survival"\n'
        "truth = { control = { median = 12.0 }, hazard_ratio = 0.7 }\naccrual = { duration = 18.0 }\n"
        '[endpoints.resp]\nkind = "binary"\ndelay = 3.0\ntruth = { control = 0.30, experimental = 0.45 }\n'
        "[design]\nevents = 250\nlooks = [0.5, 1.0]\n",
        encoding="utf-8",
    )
    report = run(path, n_sims=200, seed=3)
    headers = endpoint_table(report, 0).headers
    assert "exact power (planned looks)" in headers and "analytic power (planned looks)" in headers
    assert "realised_fractions_note" in report["scenarios"][0]["endpoints"]["resp"]
    alone = tmp_path / "alone.toml"
    alone.write_text(
        '[trial]\nn_total = 400\n[endpoints.resp]\nkind = "binary"\n'
        "truth = { control = 0.30, experimental = 0.45 }\n[design]\nlooks = [0.5, 1.0]\n",
        encoding="utf-8",
    )
    headers = endpoint_table(run(alone, n_sims=200, seed=3), 0).headers
    assert "exact power" in headers and "analytic power" in headers


def test_an_endpoint_without_a_prior_has_no_assurance_of_its_own(tmp_path):
    # A review: with a prior on the binary endpoint only, the survival endpoint (no prior) reported an
    # "assurance" that was its power on another stream. The scenario's assurance still counts it (at its truth).
    path = tmp_path / "one_prior.toml"
    path.write_text(
        '[trial]\nn_total = 400\n[endpoints.os]\nkind = "survival"\n'
        "truth = { control = { median = 12.0 }, hazard_ratio = 0.7 }\naccrual = { duration = 18.0 }\n"
        '[endpoints.resp]\nkind = "binary"\ntruth = { control = 0.30, experimental = 0.45 }\n'
        "[endpoints.resp.prior]\ncontrol = { events = 9, n = 30 }\nexperimental = { events = 14, n = 30 }\n"
        "[design]\nevents = 250\n",
        encoding="utf-8",
    )
    report = run(path, n_sims=400, seed=3)
    scenario = report["scenarios"][0]
    assert "assurance" not in scenario["endpoints"]["os"] and "assurance_mcse" not in scenario["endpoints"]["os"]
    assert scenario["endpoints"]["resp"]["assurance"] is not None and scenario["assurance"] is not None
    assert scenario["endpoints"]["os"]["power"] > 0.5


def test_bounds_at_survival_looks_average_the_trials_that_tested_each_look(tmp_path):
    # A second review: with three looks and a short delay, every outcome is known at look 2 in some trials, so
    # look 3 adds nothing there (not tested): a plain mean of the fractions (0 where untested) fell at look 3
    # and the report went back to the planned bounds. Means over the trials that tested each look do not; a look
    # no trial tested has no bound.
    path = tmp_path / "three.toml"
    path.write_text(
        '[trial]\nn_total = 400\n[endpoints.os]\nkind = "survival"\n'
        "truth = { control = { median = 12.0 }, hazard_ratio = 0.72 }\naccrual = { duration = 10.0 }\n"
        '[endpoints.resp]\nkind = "binary"\ndelay = 3.0\ntruth = { control = 0.30, experimental = 0.45 }\n'
        "[design]\nlook_events = [100, 180, 260]\n",
        encoding="utf-8",
    )
    resp = run(path, n_sims=2000, seed=8)["scenarios"][0]["endpoints"]["resp"]
    tested, plain = resp["tested_fractions"], resp["realised_fractions"]
    assert plain[2] == 0.0 and tested[2] is None and 0 < tested[0] < tested[1] == 1.0
    assert resp["efficacy_bounds"][2] is None and resp["critical_effect"][2] is None
    assert resp["efficacy_bounds"][0] > resp["efficacy_bounds"][1] > 1.96
    assert resp["alpha_spent"][2] == resp["alpha_spent"][1] == pytest.approx(0.025)


def test_design_says_that_run_reads_an_endpoint_at_the_survival_looks(tmp_path):
    # A new-user review: `p3sim design` showed a joint binary endpoint's planned looks with no word that `run`
    # reads it at the survival endpoint's calendar looks (the run report had its note).
    from _runs import design

    path = tmp_path / "joint.toml"
    path.write_text(
        '[trial]\nn_total = 400\n[endpoints.os]\nkind = "survival"\n'
        "truth = { control = { median = 12.0 }, hazard_ratio = 0.7 }\naccrual = { duration = 24.0 }\n"
        '[endpoints.resp]\nkind = "binary"\ndelay = 3.0\ntruth = { control = 0.30, experimental = 0.45 }\n'
        "[design]\nlooks = [0.5, 1.0]\n",
        encoding="utf-8",
    )
    endpoints = design(path)["scenarios"][0]["endpoints"]
    assert "run reads this endpoint at os's looks" in endpoints["resp"]["note"]
    assert "run reads" not in endpoints["os"].get("note", "")


def test_beta_spending_futility_at_survival_looks_is_the_mean_of_the_bounds_used(tmp_path, monkeypatch):
    # A review found the planned bsOF futility bound (at fraction 0.5) reported for trials whose looks were at
    # about 0.4: the futility bounds are now the means of those used, as the efficacy bounds; and the per-look
    # table shows the tested fractions, and no analytic note of re-estimation designs (rates_adaptive.toml).
    from simulator.endpoints import joint as joint_module
    from simulator.report.tables import look_table

    futility = []
    original = joint_module._add_bounds

    def record(used, bounds, looks, trials):
        if looks.size > 1 and np.isfinite(bounds.futility[0]):
            futility.append((float(bounds.futility[0]), trials))
        original(used, bounds, looks, trials)

    monkeypatch.setattr(joint_module, "_add_bounds", record)
    path = tmp_path / "bsof.toml"
    path.write_text(
        '[trial]\nn_total = 400\n[endpoints.os]\nkind = "survival"\n'
        "truth = { control = { median = 12.0 }, hazard_ratio = 0.7 }\naccrual = { duration = 24.0 }\n"
        'follow_up = { minimum = 24.0 }\n[endpoints.resp]\nkind = "binary"\ndelay = 12.0\n'
        "truth = { control = 0.30, experimental = 0.42 }\n"
        '[design]\nevents = 250\nlooks = [0.5, 1.0]\nfutility = "bsOF"\n[simulation]\nnull = false\n',
        encoding="utf-8",
    )
    report = run(path, n_sims=1000, seed=2, jobs=1)
    resp = report["scenarios"][0]["endpoints"]["resp"]
    mean = sum(b * t for b, t in futility) / sum(t for _, t in futility)
    assert resp["futility_bounds"][0] == pytest.approx(mean, rel=1e-12) and resp["futility_bounds"][1] is None
    table = look_table(report, 0)
    column = table.headers.index("information fraction (realised)")
    shown = [row[column].text for row in table.rows if row[0].text == "resp"]
    # A simulated mean with its MCSE (a review: shown without one).
    from simulator.estimate import pm_text

    assert shown == [pm_text(f, m, 4) if m > 0 else f"{f:.4f}"
                     for f, m in zip(resp["tested_fractions"], resp["tested_fractions_mcse"])]
    assert "±" in shown[0] and shown[-1] == "1.0000"  # the final look: 1 in every trial that tested it
    adaptive = run(Path(__file__).resolve().parent.parent / "configs" / "rates_adaptive.toml", n_sims=500, seed=1)
    assert "survival endpoint's looks" not in (adaptive["scenarios"][0]["endpoints"]["response"]["analytic"].get("note") or "")


def test_a_delay_no_trial_outlives_is_noted(tmp_path):
    # A review: a delay longer than every trial (the outcome never known at a look) gave power 0 without a word.
    report = run(_write(tmp_path, SURVIVAL_AND_BINARY), ["endpoints.resp.delay=5000"], n_sims=500)
    block = report["scenarios"][0]["endpoints"]["resp"]
    assert block["evaluable_per_look"] == [0.0] and block["power"] == 0.0
    assert "no simulated trial knew any outcome of resp by its last look" in block["analytic"]["note"]
    assert "endpoints.resp.delay = 5000 months" in block["analytic"]["note"]
    kept = run(_write(tmp_path, SURVIVAL_AND_BINARY), n_sims=500)["scenarios"][0]["endpoints"]["resp"]
    assert "never rejects" not in kept["analytic"].get("note", "")


def test_means_read_at_the_survival_looks_carry_their_mcse():
    # A review: evaluable_per_look and the fractions had no MCSE, though docs/reports.md gives every simulated
    # mean one. Three trials, two looks: the MCSE is the sample SD over the square root of the trials.
    import numpy as np

    from simulator.endpoints.common import expected_patients
    from simulator.endpoints.joint import _bounds_used, _calendar_counts

    fractions = np.array([[0.4, 1.0], [0.0, 1.0], [0.6, 1.0]])
    evaluable = np.array([[80, 200], [90, 190], [100, 210]])
    counts = _calendar_counts(np.array([200.0, 190.0, 210.0]), fractions, _bounds_used(2), evaluable)
    counts["stopped"] = np.array([0, 3])
    out = expected_patients(counts, np.array([100, 200]))

    def mcse(values):
        values = np.asarray(values, dtype=float)
        return float(values.std(ddof=1) / np.sqrt(values.size))

    assert out["evaluable_per_look_mcse"] == pytest.approx([mcse([80, 90, 100]), mcse([200, 190, 210])], rel=1e-12)
    assert out["realised_fractions_mcse"] == pytest.approx([mcse([0.4, 0.0, 0.6]), 0.0], abs=1e-12)
    assert out["tested_fractions_mcse"] == pytest.approx([mcse([0.4, 0.6]), 0.0], abs=1e-12)


def test_decide_groups_groups_the_trials_by_their_looks():
    # Each group of equal rows is decided once, with its trials in order and the looks it tests, and
    # in the order of np.unique(code, axis=0) (the rows sorted); rows with no look tested are left alone.
    from simulator.endpoints.common import decide_groups

    rng = np.random.default_rng(4)
    code = rng.integers(-1, 3, (500, 3))
    code[::7] = -1
    calls = []

    def decide(rows, looks, codes):
        calls.append((rows, looks, codes))
        return np.full(rows.size, looks.size - 1), np.full(rows.size, 1 + rows % 2, dtype=np.int8)

    stop, decision = decide_groups(code, np.full(500, 2), decide)
    keys = [key for key in np.unique(code, axis=0) if np.any(key >= 0)]
    assert [tuple(int(v) for v in key[key >= 0]) for key in keys] == [c for _, _, c in calls]
    for key, (rows, looks, _) in zip(keys, calls):
        np.testing.assert_array_equal(rows, np.flatnonzero(np.all(code == key, axis=1)))
        np.testing.assert_array_equal(looks, np.flatnonzero(key >= 0))
        np.testing.assert_array_equal(stop[rows], looks[-1])
    untested = np.all(code < 0, axis=1)
    assert untested.sum() >= 500 // 7
    np.testing.assert_array_equal(stop[untested], 2)
    np.testing.assert_array_equal(decision, np.where(untested, 0, 1 + np.arange(500) % 2))
    empty = decide_groups(np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64), decide)
    assert empty[0].size == 0 and empty[1].size == 0
    no_looks = decide_groups(np.zeros((3, 0), dtype=np.int64), np.full(3, 0), decide)
    np.testing.assert_array_equal(no_looks[0], 0)
    np.testing.assert_array_equal(no_looks[1], 0)
