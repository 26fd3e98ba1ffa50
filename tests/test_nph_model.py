"""Non-proportional hazards: the patient model, the config, type I errors and the delayed-effect acceptance case.

Issue 15, section 1. References: the model's survival functions in closed
form (piecewise exponential, mixture cure), the analytic layer
(:mod:`simulator.design.nph`, numerical integration checked here against the
proportional-hazards expected events of :mod:`simulator.design.survival`,
which match rpact), and the level alpha for the type I errors. Every
tolerance is a multiple of the Monte Carlo standard error computed from the
reference value.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from _runs import design, run
from simulator.cli import main
from simulator.config.digest import scenario_digest
from simulator.design import nph
from simulator.design import survival as ph
from simulator.design.boundaries import sequential_probabilities
from simulator.endpoints.km import final_analysis_data
from simulator.engine.joint import simulate_calendar
from simulator.engine.survival import simulate_trials

LAMBDA = math.log(2) / 12  # control median 12 months
DELAY = dict(hazard_ratio_pieces=([0.0, 4.0], [1.0, 0.6]))
Z975 = 1.959963984540054
#: gsDesign sfLDOF, k = 3 equally spaced, one-sided 0.025 (checked below with sequential_probabilities).
OBF3 = [3.7103, 2.5114, 1.9930]
FH_TESTS = [(0.0, 0.5), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
MAXCOMBO = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]

CONFIG = """
[trial]
n_total = 500
[design]
events = 300
[endpoints.os]
kind = "survival"
[endpoints.os.truth]
control = { median = 12.0 }
hazard_ratio = [1.0, 0.6]
hazard_ratio_times = [0, 4]
[endpoints.os.accrual]
duration = 24.0
[simulation]
n_sims = 2000
jobs = 1
"""


@pytest.fixture
def delay_config(tmp_path):
    path = tmp_path / "delay.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _model(**kwargs):
    base = dict(control=([0.0], [LAMBDA]), ratio=([0.0, 4.0], [1.0, 0.6]), accrual=([0.0, 24.0], [1 / 24]),
                n_total=500.0)
    return nph.NphModel(**{**base, **kwargs})


# ---------------------------------------------------------------------- the patient model


def test_event_times_follow_the_piecewise_hazard_and_cure_mixture():
    # All patients enter by 0.001 and the analysis waits for every event, so each uncured patient's event time is
    # seen; the experimental arm's P(T <= t) must be 1 - S_e(t) with S_e = pi + (1 - pi) exp(-H_e), H_e the
    # control hazard times 1 to month 4, then 0.6 (closed form below). 4 binomial MCSEs.
    rng = np.random.default_rng(11)
    n_c, n_e, reps = 200, 200, 100
    cure_c, cure_e = 0.1, 0.25
    time, event, group, _ = final_analysis_data(
        rng, (n_c, n_e), accrual=([0.0, 0.001], [1.0]), control=([0.0], [LAMBDA]), hazard_ratio=1.0,
        dropout=(0.0, 0.0), events=n_c + n_e, replicates=reps, cured=(cure_c, cure_e), **DELAY,
    )
    for arm, cure in ((1, cure_e), (0, cure_c)):
        t_arm, e_arm = time[:, group == arm].ravel(), event[:, group == arm].ravel()
        n = t_arm.size
        for t in (2.0, 4.0, 8.0, 20.0, 60.0):
            big_h = LAMBDA * t if arm == 0 else LAMBDA * (min(t, 4.0) + 0.6 * max(t - 4.0, 0.0))
            p = (1.0 - cure) * (1.0 - math.exp(-big_h))
            observed = np.mean(e_arm & (t_arm <= t))
            assert abs(observed - p) <= 4 * math.sqrt(p * (1 - p) / n), (arm, t, observed, p)
        # The cured never have an event.
        assert np.mean(e_arm) == pytest.approx(1 - cure, abs=4 * math.sqrt(cure * (1 - cure) / n))


def test_proportional_hazards_results_unchanged_by_the_new_arguments():
    # The defaults (no pieces, no cure, no weights) are the old model bit for bit: same generator, same trials.
    kwargs = dict(accrual=([0.0, 24.0], [1.0]), control=([0.0], [LAMBDA]), hazard_ratio=0.7, look_events=[100, 200],
                  efficacy=[2.8, 1.98], dropout=(0.01, 0.02))
    plain = simulate_trials(500, 150, 150, rng=np.random.default_rng(2), **kwargs)
    same = simulate_trials(500, 150, 150, rng=np.random.default_rng(2), hazard_ratio_pieces=([0.0], [1.0]),
                           cured=(0.0, 0.0), **kwargs)
    np.testing.assert_array_equal(plain.z_all, same.z_all)
    np.testing.assert_array_equal(plain.look_times_all, same.look_times_all)


def test_seed_digest_of_existing_configs_unchanged(delay_config, tmp_path):
    # The new keys at their defaults stay out of the digest: a proportional-hazards log-rank config keeps its
    # streams, and writing test = "logrank" explicitly changes nothing.
    from _runs import trial

    path = tmp_path / "ph.toml"
    path.write_text(CONFIG.replace("hazard_ratio = [1.0, 0.6]\nhazard_ratio_times = [0, 4]", "hazard_ratio = 0.7"))
    plain = trial(path).scenarios[0].config
    explicit = trial(path, ['endpoints.os.test="logrank"']).scenarios[0].config
    assert scenario_digest(plain) == scenario_digest(explicit)
    from simulator.config.digest import canonical

    endpoint = canonical(plain)["endpoints"][0]
    assert "nph" not in endpoint and "weights" not in endpoint


def test_analytic_events_match_proportional_hazards_reference():
    # Under proportional hazards the numerical integration gives design.survival's closed-form expected events
    # (rpact's), to 1e-5 relative (the midpoint rule's error).
    model = _model(ratio=([0.0], [0.7]), dropout=(0.01, 0.02))
    for t in (6.0, 20.0, 40.0):
        closed = ph.expected_events(t, 500.0, control=(np.array([0.0]), np.array([LAMBDA])), hazard_ratio=0.7,
                                    accrual=ph.accrual_pieces(duration=24.0), dropout=(0.01, 0.02), allocation=(1, 1))
        assert sum(nph.expected_events(model, t)) == pytest.approx(closed, rel=1e-5)


def test_joint_engine_uses_the_same_model():
    # The joint engine draws the survival exit from its latent normal; with an identity copula its events at a
    # calendar look have the same law as the survival engine's: means within 4 MCSE of the difference.
    kwargs = dict(accrual=([0.0, 24.0], [1.0]), control=([0.0], [LAMBDA]), hazard_ratio=1.0, cured=(0.1, 0.2),
                  **DELAY)
    n = 3000
    joint = simulate_calendar(np.random.default_rng(5), 100, 100, cholesky=np.eye(2), thresholds=np.zeros((n, 1, 2)),
                              delays=[0.0], look_events=None, look_times=[12.0, 30.0], **kwargs)
    alone = simulate_trials(n, 100, 100, rng=np.random.default_rng(6), look_times=[12.0, 30.0],
                            efficacy=[np.inf, np.inf], **kwargs)
    expected = nph.expected_events(_model(n_total=200.0, cured=(0.1, 0.2)), 30.0)
    for events in (joint.events[:, 1], alone.events_looks[:, 1]):
        mcse = events.std(ddof=1) / math.sqrt(n)
        assert abs(events.mean() - sum(expected)) <= 4 * mcse


# ---------------------------------------------------------------------- config and bad input

BAD = [
    (["endpoints.os.truth.hazard_ratio_times=[-1, 4]"], r"`endpoints\.os\.truth\.hazard_ratio_times`: must be a number in \[0, 10000\]"),
    (["endpoints.os.truth.hazard_ratio_times=[0, 4, 8]"], r"`endpoints\.os\.truth\.hazard_ratio_times`: must have one start per"),
    (["endpoints.os.truth.hazard_ratio_times=[2, 4]"], r"`endpoints\.os\.truth\.hazard_ratio_times`: must start at 0"),
    (["endpoints.os.truth.hazard_ratio=0.7"], r"`endpoints\.os\.truth\.hazard_ratio_times`: needs truth\.hazard_ratio as a list"),
    (['endpoints.os.test="peto"'], r'`endpoints\.os\.test`: must be one of "logrank", "fleming_harrington", "maxcombo"'),
    (['endpoints.os.test="maxcombo"', "endpoints.os.weights=[{rho=0, gamma=1}]"],
     r"`endpoints\.os\.weights`: must list 2 to 6 components"),
    (['endpoints.os.test="maxcombo"', "design.looks=3"], r'`endpoints\.os\.test`: "maxcombo" is for fixed designs'),
    (['endpoints.os.test="fleming_harrington"'], r"`endpoints\.os\.weights`: is required with test = \"fleming_harrington\""),
    (["endpoints.os.weights={rho=0, gamma=1}"],
     r"`endpoints\.os\.weights`: applies to test = \"fleming_harrington\" or \"maxcombo\" only, which no scenario has"),
    # Ignored by the log-rank but still checked (a sweep over the test carries them).
    (["endpoints.os.weights={rho=0, gamma=-1}"], r"`endpoints\.os\.weights\.gamma`: must be a number in \[0, 10\]"),
    (["endpoints.os.weights=[{rho=0, gamma=1}, {rho=1}]"], r"`endpoints\.os\.weights\[1\]\.gamma`: is required"),
    (['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={rho=-1, gamma=1}"],
     r"`endpoints\.os\.weights\.rho`: must be a number in \[0, 10\]"),
    # Larger exponents underflowed to NaN power (an independent review: rho = gamma = 300).
    (['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={rho=300, gamma=300}"],
     r"`endpoints\.os\.weights\.rho`: must be a number in \[0, 10\]"),
    # A missing rho or gamma is not taken as 0 ({} would be the plain log-rank).
    (['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={}"],
     r"`endpoints\.os\.weights\.rho`: is required: a number in \[0, 10\]"),
    (['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={rho=1}"],
     r"`endpoints\.os\.weights\.gamma`: is required: a number in \[0, 10\]"),
    (['endpoints.os.test="maxcombo"', "endpoints.os.weights=[{rho=0, gamma=0}, {gamma=1}]"],
     r"`endpoints\.os\.weights\[1\]\.rho`: is required"),
    (["endpoints.os.truth.cured={control=1.0}"], r"`endpoints\.os\.truth\.cured\.control`: must be a number in \[0, 1\)"),
    (["endpoints.os.prior={hazard_ratio={lower=0.5, upper=0.9}}"], r"`endpoints\.os\.prior\.hazard_ratio`: cannot be combined"),
    (["design.look_times=[20, 30]"], r"`design\.look_times`: calendar looks are not supported with non-proportional"),
]


@pytest.mark.parametrize("overrides, pattern", BAD)
def test_bad_nph_input_exits_2_naming_the_key(delay_config, capsys, overrides, pattern):
    argv = ["design", str(delay_config)]
    for o in overrides:
        argv += ["--set", o]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(pattern, err[0]), err


def test_a_sweep_over_the_test_carries_the_weights_and_each_scenario_is_its_own_run(delay_config):
    # docs/config.md (weights): the log-rank ignores them, so one run compares it with FH(0, 1); each scenario
    # reads the same streams as its own run without the sweep, and `weights = []` unsets them for the log-rank.
    sweep = ['endpoints.os.weights={rho=0, gamma=1}', 'sweep."endpoints.os.test"=["logrank", "fleming_harrington"]']
    both = run(delay_config, sweep, n_sims=400, seed=3)["scenarios"]
    alone = [run(delay_config, n_sims=400, seed=3)["scenarios"][0],
             run(delay_config, ['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={rho=0, gamma=1}"],
                 n_sims=400, seed=3)["scenarios"][0]]
    for swept, single in zip(both, alone):
        assert swept["endpoints"]["os"]["power"] == single["endpoints"]["os"]["power"]
    assert both[0]["endpoints"]["os"]["power"] != both[1]["endpoints"]["os"]["power"]
    unset = run(delay_config, ["endpoints.os.weights=[]"], n_sims=400, seed=3)["scenarios"][0]
    assert unset["endpoints"]["os"]["power"] == alone[0]["endpoints"]["os"]["power"]


def test_empty_weights_give_maxcombo_its_default_components(delay_config):
    # docs/config.md: `weights = []` is no weights, so MaxCombo takes FH(0,0), FH(0,1), FH(1,0), FH(1,1).
    default = design(delay_config, ['endpoints.os.test="maxcombo"'])
    unset = design(delay_config, ['endpoints.os.test="maxcombo"', "endpoints.os.weights=[]"])
    assert unset["scenarios"][0]["endpoints"]["os"] == default["scenarios"][0]["endpoints"]["os"]
    assert unset["scenarios"][0]["endpoints"]["os"]["nph"]["test"] == "maxcombo"


def test_nph_needs_design_events(delay_config, tmp_path, capsys):
    path = tmp_path / "noevents.toml"
    path.write_text(delay_config.read_text().replace("[design]\nevents = 300\n", ""))
    assert main(["design", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(r"`design\.events`: is required with non-proportional hazards", err), err


def test_design_reports_where_schoenfeld_misleads(delay_config):
    block = design(delay_config)["scenarios"][0]["endpoints"]["os"]
    info = block["nph"]  # design blocks carry the analytic keys directly
    # Schoenfeld at the long-term HR 0.6 promises about 0.99 at 300 events; the delay costs a lot of it.
    assert info["schoenfeld_power_at_ph_ratio"] > 0.98
    assert info["schoenfeld_misleads"] is True
    assert info["test_powers"]["FH(0,1)"] > info["test_powers"]["logrank"]
    assert 0.6 < info["average_hazard_ratio"] < 1.0


def _gsdesign2_ahr(hazards, ratios, breaks, accrual_end, n_total, allocation, dropout, time):
    """gsDesign2's ``ahr()`` and ``gs_power_npe`` at one calendar time, by ``scipy.integrate.quad``.

    Piecewise-exponential control hazards ``hazards`` and hazard ratios ``ratios`` on the pieces that
    start at ``breaks`` (time from entry), uniform accrual over ``[0, accrual_end]``, exponential
    dropout. Per piece and arm the expected events by ``time`` (``pw_info``), the AHR as their
    event-weighted log hazard ratio, information ``sum 1 / (1 / D_c + 1 / D_e)`` under H1 and
    ``D q_c q_e`` under H0; power at one-sided 0.025 as gs_power_npe's fixed-design crossing
    probability ``pnorm(sqrt(info) * (theta - b / sqrt(info0)))``.
    """
    from scipy import integrate, stats

    edges = list(breaks) + [math.inf]
    q = np.asarray(allocation, float) / sum(allocation)

    def cumulative(t, arm):
        total = 0.0
        for k, start in enumerate(breaks):
            if t <= start:
                break
            rate = hazards[k] * (ratios[k] if arm else 1.0)
            total += rate * (min(t, edges[k + 1]) - start)
        return total

    def density(t, arm, k):  # events per subject of the arm at time t from entry, in piece k
        rate = hazards[k] * (ratios[k] if arm else 1.0)
        entered = min(max((time - t) / accrual_end, 0.0), 1.0)
        return rate * math.exp(-cumulative(t, arm) - dropout * t) * entered

    events = np.zeros((len(breaks), 2))
    for k, start in enumerate(breaks):
        end = min(edges[k + 1], time)
        if end <= start:
            continue
        for arm in (0, 1):
            value, _ = integrate.quad(density, start, end, args=(arm, k), points=[time - accrual_end], limit=200,
                                      epsabs=1e-12, epsrel=1e-12)
            events[k, arm] = n_total * q[arm] * value
    total = events.sum()
    log_ahr = float(np.sum(events.sum(axis=1) * np.log(ratios)) / total)
    used = events.min(axis=1) > 0
    info = float(np.sum(1.0 / (1.0 / events[used, 0] + 1.0 / events[used, 1])))
    info0 = total * q[0] * q[1]
    power = stats.norm.cdf(math.sqrt(info) * (-log_ahr - Z975 / math.sqrt(info0)))
    return math.exp(log_ahr), info, info0, power, total


@pytest.mark.parametrize("allocation, dropout", [((1, 1), 0.0), ((1, 2), 0.01), ((2, 1), 0.005)])
def test_average_hazard_ratio_information_and_power_are_gsdesign2s(allocation, dropout):
    """The AHR, the information under H1 and H0 and the AHR power against gsDesign2's definitions,
    integrated independently (``_gsdesign2_ahr``). Piecewise control hazards (0.08 then 0.05 from month 6)
    with a delayed effect (HR 1, then 0.6 from month 4), 500 subjects over 24 months, analysis at month 30.
    Tolerance 1e-5 relative: the package's midpoint rule (400 intervals between breakpoints) against quad.
    """
    breaks = [0.0, 4.0, 6.0]
    hazards = [0.08, 0.08, 0.05]
    ratios = [1.0, 0.6, 0.6]
    model = nph.NphModel(control=([0.0, 6.0], [0.08, 0.05]), ratio=([0.0, 4.0], [1.0, 0.6]),
                         accrual=([0.0, 24.0], [1.0 / 24]), n_total=500, allocation=allocation,
                         dropout=(dropout, dropout))
    ahr = nph.average_hazard_ratio(model, 30.0)
    ref_ahr, ref_info, ref_info0, ref_power, ref_events = _gsdesign2_ahr(hazards, ratios, breaks, 24.0, 500,
                                                                         allocation, dropout, 30.0)
    assert ahr.events == pytest.approx(ref_events, rel=1e-5)
    assert ahr.ahr == pytest.approx(ref_ahr, rel=1e-5)
    assert ahr.info == pytest.approx(ref_info, rel=1e-5)
    assert ahr.info0 == pytest.approx(ref_info0, rel=1e-5)
    assert ahr.power(0.025) == pytest.approx(ref_power, rel=1e-5)


def test_strata_are_a_mixture_in_the_analytic_model():
    """Prognostic strata (shares 0.5 / 0.5, control hazard multipliers 1 and 2.5), a delayed effect,
    500 subjects over 24 months: the expected events at 30 months within 4 MCSE of the simulated ones
    (the engine with these strata), and the AHR and its information as gsDesign2's stratified ahr():
    each stratum's pieces integrated independently (``_gsdesign2_ahr``) and pooled."""
    from simulator.engine.strata import strata_design

    cells = ((0.5, 1.0), (0.5, 2.5))
    model = nph.NphModel(control=([0.0], [LAMBDA]), ratio=([0.0, 4.0], [1.0, 0.6]), accrual=([0.0, 24.0], [1.0 / 24]),
                         n_total=500, strata=cells)
    n = 4000
    trials = simulate_trials(n, 250, 250, accrual=([0.0, 24.0], [1.0]), control=([0.0], [LAMBDA]), hazard_ratio=1.0,
                             look_times=[30.0], efficacy=[np.inf], rng=np.random.default_rng(31),
                             strata=strata_design([[0.5, 0.5]], [[1.0, 2.5]], method="blocks", block_size=4),
                             **DELAY)
    events = trials.events_looks[:, 0]
    assert abs(events.mean() - sum(nph.expected_events(model, 30.0))) <= 4 * events.std(ddof=1) / math.sqrt(n)
    parts = [_gsdesign2_ahr([LAMBDA * m] * 2, [1.0, 0.6], [0.0, 4.0], 24.0, 500 * share, (1, 1), 0.0, 30.0)
             for share, m in cells]
    total = sum(p[4] for p in parts)
    ahr = nph.average_hazard_ratio(model, 30.0)
    assert ahr.events == pytest.approx(total, rel=1e-5)
    assert ahr.ahr == pytest.approx(math.exp(sum(p[4] * math.log(p[0]) for p in parts) / total), rel=1e-5)
    assert ahr.info == pytest.approx(sum(p[1] for p in parts), rel=1e-5)
    assert ahr.info0 == pytest.approx(sum(p[2] for p in parts), rel=1e-5)


@pytest.mark.slow
def test_stratified_logrank_analytic_power_with_strata(tmp_path):
    """Two prognostic strata (multipliers 1 and 2.5), a delayed effect, 600 subjects, 400 events, blocks of 4:
    the stratified log-rank's analytic power (each stratum's moments summed) within 0.02 of the simulated
    (20 000 trials; simulated 0.851 +- 0.003 against 0.851 when written; 0.02 is the issue's tolerance for an
    asymptotic power, about 7 MCSE here), and the analysis time within
    0.1 month of the simulated mean (the mean time of the 400th event is not exactly the time at which
    400 are expected)."""
    path = tmp_path / "strata_nph.toml"
    path.write_text(CONFIG.replace("n_total = 500", 'n_total = 600\nrandomisation = "blocks"\nblock_size = 4')
                    .replace("events = 300", "events = 400")
                    .replace('kind = "survival"', 'kind = "survival"\nstratified = true')
                    + "[strata.risk]\nshare = [0.5, 0.5]\nhazard_multiplier = [1.0, 2.5]\n", encoding="utf-8")
    block = run(path, n_sims=20_000, seed=5)["scenarios"][0]["endpoints"]["os"]
    assert abs(block["analytic"]["power"] - block["power"]) < 0.02, (block["analytic"]["power"], block["power"])
    assert abs(block["analytic"]["nph"]["analysis_times"][-1] - block["expected_duration"]) < 0.1


# ---------------------------------------------------------------------- type I error and the acceptance case


def test_obf_bounds_spend_alpha():
    # The bounds used below: total crossing probability under H0 is 0.025 (gsDesign's rounding, 1e-4).
    probs = sequential_probabilities(np.array([1 / 3, 2 / 3, 1.0]), np.array(OBF3))
    assert float(np.sum(probs.reject_upper)) == pytest.approx(0.025, abs=1e-4)


def _h0(n_sims, seed, weights, looks):
    return simulate_trials(
        n_sims, 250, 250, accrual=([0.0, 24.0], [1.0]), control=([0.0], [LAMBDA]), hazard_ratio=1.0,
        look_events=looks, efficacy=OBF3 if len(looks) == 3 else [Z975], rng=np.random.default_rng(seed),
        weights=weights,
    )


@pytest.mark.slow
@pytest.mark.parametrize("weights, looks", [([w], [300]) for w in FH_TESTS] + [([w], [100, 200, 300]) for w in FH_TESTS]
                         + [(MAXCOMBO, [300])])
def test_type1_error_of_weighted_tests(weights, looks):
    # Acceptance: N = 500, 300 events, 10^5 trials, equal hazards: rejections at most alpha + 4 MCSE
    # (and, so that a broken test cannot pass by never rejecting, at least alpha - 6 MCSE).
    n = 100_000
    res = _h0(n, 1500 + 7 * len(looks) + int(10 * sum(map(sum, weights))), weights, looks)
    rate = float(np.mean(res.decision == 1))
    mcse = math.sqrt(0.025 * 0.975 / n)
    assert 0.025 - 6 * mcse <= rate <= 0.025 + 4 * mcse, rate


@pytest.mark.slow
def test_delayed_effect_acceptance(delay_config):
    # Acceptance: 4-month delay (HR 1 then 0.6), control median 12, N = 500, accrual 24 months, 300 events.
    n = 20_000
    powers, mcses, analytic = {}, {}, {}
    for test, weights in (("logrank", None), ("fleming_harrington", "{rho=0, gamma=1}"), ("maxcombo", None)):
        overrides = [f'endpoints.os.test="{test}"'] + ([f"endpoints.os.weights={weights}"] if weights else [])
        block = run(delay_config, overrides, n_sims=n, seed=15)["scenarios"][0]["endpoints"]["os"]
        powers[test], mcses[test], analytic[test] = block["power"], block["power_mcse"], block["analytic"]["power"]
        # The analytic power (weighted log-rank moments by numerical integration) within 0.02 of the simulated.
        assert abs(block["power"] - block["analytic"]["power"]) <= 0.02, (test, block["power"], analytic[test])
    # FH(0,1) and MaxCombo beat the log-rank, by more than 4 MCSE of the difference (independent runs).
    for test in ("fleming_harrington", "maxcombo"):
        assert powers[test] - powers["logrank"] > 4 * math.hypot(mcses[test], mcses["logrank"]), powers

    # The analytic expected events over calendar time within 4 MCSE of the simulated events at those times.
    trials = simulate_trials(n, 250, 250, accrual=([0.0, 24.0], [1.0]), control=([0.0], [LAMBDA]), hazard_ratio=1.0,
                             look_times=[6.0, 12.0, 24.0, 36.0], efficacy=[np.inf] * 4, rng=np.random.default_rng(16),
                             **DELAY)
    model = _model()
    for k, t in enumerate((6.0, 12.0, 24.0, 36.0)):
        events = trials.events_looks[:, k]
        expected = sum(nph.expected_events(model, t))
        assert abs(events.mean() - expected) <= 4 * events.std(ddof=1) / math.sqrt(n), (t, events.mean(), expected)


def test_strata_with_weighted_test_refused(delay_config, capsys):
    # The stratified analysis is the plain stratified log-rank: a weighted test with strata is refused, naming
    # the key, rather than silently analysed another way.
    argv = ["design", str(delay_config), "--set", "strata.mets.share=[0.6, 0.4]",
            "--set", "strata.mets.hazard_multiplier=[1.0, 1.8]", "--set", 'endpoints.os.test="maxcombo"']
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(r"`strata`: stratification factors are not supported with a weighted test", err), err


def test_strata_with_nph_draw_the_model(delay_config):
    # Strata with the delayed effect (log-rank): the strata engine draws the same patient model, so with a
    # hazard multiplier of 1 in both strata the power is the analytic 0.818 within 4 MCSE + 0.005.
    block = run(delay_config, ["strata.mets.share=[0.6, 0.4]", "strata.mets.hazard_multiplier=[1.0, 1.0]"],
                n_sims=3000, seed=12)["scenarios"][0]["endpoints"]["os"]
    assert abs(block["power"] - block["analytic"]["power"]) <= 4 * block["power_mcse"] + 0.005, block["power"]


@pytest.mark.slow
def test_group_sequential_weighted_power_against_analytic(delay_config):
    # FH(0,1) at 3 looks (100, 200, 300 events, O'Brien-Fleming-type spending), the delayed effect: the
    # analytic sequential power (canonical joint normal on the weighted information, survival_nph.sequential)
    # within 0.02 of the simulated one, and each look's rejections within 0.02 (5000 trials: MCSE <= 0.007).
    overrides = ['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={rho=0, gamma=1}", "design.looks=3"]
    block = run(delay_config, overrides, n_sims=5000, seed=21)["scenarios"][0]["endpoints"]["os"]
    analytic = block["analytic"]
    assert abs(block["power"] - analytic["power"]) <= 0.02, (block["power"], analytic["power"])
    for simulated, expected in zip(block["reject_per_look"], analytic["reject_per_look"]):
        assert abs(simulated - expected) <= 0.02


def test_report_says_where_schoenfeld_misleads(delay_config, tmp_path):
    out = tmp_path / "report"
    run(delay_config, n_sims=1000, out=out)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "Analytic: os: at one analysis of 300 events, Schoenfeld (proportional hazards at HR 0.6) gives power 0.993" in text
    assert "the proportional-hazards answer misleads" in text
    assert "Analytic: os: at one analysis of" in (out / "report.html").read_text(encoding="utf-8")


def test_the_note_tells_the_fixed_design_from_the_group_sequential_power(delay_config):
    # A review: with looks, the note's power (one analysis) stood beside the group-sequential analytic power
    # without saying which was which.
    block = run(delay_config, ["design.looks=2"], n_sims=200, seed=3)["scenarios"][0]["endpoints"]["os"]["analytic"]
    assert block["note"].startswith("at one analysis of 300 events")
    assert f"has {block['power_fixed_design']:.3f}" in block["note"]
    assert "the group-sequential design's power with these looks is the analytic power" in block["note"]
    assert block["power"] != block["power_fixed_design"]


JOINT = CONFIG + """
[endpoints.resp]
kind = "binary"
delay = 2.0
[endpoints.resp.truth]
control = 0.30
experimental = 0.45
[correlation]
"os.resp" = 0.3
"""


@pytest.mark.slow
def test_joint_trial_with_nph_and_fh(tmp_path):
    # A survival endpoint with the delayed effect and FH(0,1), correlated with a binary endpoint (the joint
    # engine): its power is the survival engine's law, so the analytic 0.910 within 4 MCSE + 0.005 (the
    # analytic's own error, about 0.004 in the acceptance case above).
    path = tmp_path / "joint.toml"
    path.write_text(JOINT, encoding="utf-8")
    block = run(path, ['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={rho=0, gamma=1}"],
                n_sims=4000, seed=9)["scenarios"][0]["endpoints"]["os"]
    assert abs(block["power"] - block["analytic"]["power"]) <= 4 * block["power_mcse"] + 0.005, block["power"]


CURE = CONFIG.replace("hazard_ratio = [1.0, 0.6]\nhazard_ratio_times = [0, 4]",
                      "hazard_ratio = 0.75\ncured = { control = 0.15, experimental = 0.15 }")


@pytest.mark.slow
def test_cure_fraction_with_prior_type1_and_assurance(tmp_path):
    # Cure fractions with a prior on the uncured hazard ratio: the H0 stream draws both arms as the control
    # (equal cure), so the type I error is alpha (4000 trials: within -6 / +4 MCSE); assurance stays below the
    # prior P(benefit) ceiling.
    path = tmp_path / "cure.toml"
    path.write_text(CURE + "[endpoints.os.prior]\nhazard_ratio = { lower = 0.55, upper = 1.0 }\n", encoding="utf-8")
    block = run(path, ["simulation.null=true"], n_sims=4000, seed=10)["scenarios"][0]["endpoints"]["os"]
    mcse = math.sqrt(0.025 * 0.975 / 4000)
    assert 0.025 - 6 * mcse <= block["type1"] <= 0.025 + 4 * mcse, block["type1"]
    assert block["assurance"] <= block["prior_p_benefit"]


@pytest.mark.slow
def test_diminishing_effect_favours_early_weights(delay_config):
    # A diminishing effect (HR 0.5 to month 6, 0.8 to month 12, then 1): FH(1,0) weights early differences and
    # beats FH(0,1), in the analytic layer and in simulation (4000 trials each, by more than 4 MCSE of the
    # difference), each simulated power within 0.02 of its analytic value.
    base = ["endpoints.os.truth.hazard_ratio=[0.5, 0.8, 1.0]", "endpoints.os.truth.hazard_ratio_times=[0, 6, 12]",
            'endpoints.os.test="fleming_harrington"']
    blocks = {}
    for label, weights in (("early", "{rho=1, gamma=0}"), ("late", "{rho=0, gamma=1}")):
        blocks[label] = run(delay_config, base + [f"endpoints.os.weights={weights}"], n_sims=4000,
                            seed=13)["scenarios"][0]["endpoints"]["os"]
        assert abs(blocks[label]["power"] - blocks[label]["analytic"]["power"]) <= 0.02, blocks[label]["power"]
    early, late = blocks["early"], blocks["late"]
    assert early["analytic"]["power"] > late["analytic"]["power"]
    assert early["power"] - late["power"] > 4 * math.hypot(early["power_mcse"], late["power_mcse"])


def test_a_weighted_test_has_no_critical_hazard_ratio(delay_config):
    # A review found FH(0, 1)'s critical_effect equal to the log-rank's hazard ratio: a weighted statistic has
    # no hazard-ratio threshold, so both effects are null (docs/reports.md).
    fh = run(delay_config, ['endpoints.os.test="fleming_harrington"', "endpoints.os.weights={rho=0, gamma=1}",
                            "design.looks=2"], n_sims=200, seed=1)["scenarios"][0]["endpoints"]["os"]
    assert fh["critical_effect"] == [None, None] and fh["futility_effect"] == [None, None]
    logrank = run(delay_config, ["design.looks=2"], n_sims=200, seed=1)["scenarios"][0]["endpoints"]["os"]
    assert all(isinstance(v, float) for v in logrank["critical_effect"])


def test_maxcombo_test_power_is_of_the_configured_components(delay_config):
    # A review found test_powers.maxcombo computed with the default four components beside a MaxCombo of others.
    custom = design(delay_config, ['endpoints.os.test="maxcombo"',
                                   "endpoints.os.weights=[{rho=0, gamma=0}, {rho=0, gamma=2}]"])
    block = custom["scenarios"][0]["endpoints"]["os"]
    assert block["nph"]["maxcombo_components"] == [[0.0, 0.0], [0.0, 2.0]]
    assert block["nph"]["test_powers"]["maxcombo"] == block["power"]
    default = design(delay_config)["scenarios"][0]["endpoints"]["os"]["nph"]
    assert default["maxcombo_components"] == [list(w) for w in MAXCOMBO]
    assert default["test_powers"]["maxcombo"] != block["nph"]["test_powers"]["maxcombo"]
