"""Survival designs as protocols write them (issue 14, items 1, 2 and 4).

Accrual as a rate (``accrual.rate``, patients per month, piecewise with
``accrual.times`` as starts), subject-driven sizing (``design`` without
``trial.n_total`` finds the subjects, events and durations; ``size`` searches
``trial.n_total``) and non-inferiority on a hazard ratio (``margin``).

The rpact values are hard-coded (rpact 3.3.4; the calls are in the comments):
the suite never needs R.
"""

import math
import re

import numpy as np
import pytest

from _runs import design, run, size
from simulator.cli import main
from simulator.design.survival import (
    accrual_pieces,
    hazards_from,
    schoenfeld_events,
    schoenfeld_power,
    subjects_at_rate,
    survival_sample_size,
)

# rpact: getSampleSizeSurvival(alpha = 0.025, sided = 1, beta = 0.2, hazardRatio = 0.7,
#   lambda2 = log(2) / 12, accrualTime = 0, accrualIntensity = 20, followUpTime = 12)
#   $maxNumberOfEvents 246.787105, $maxNumberOfSubjects 387.849743,
#   $accrualTime[2] 19.392487, $maxStudyDuration 31.392480
RATE_CONFIG = """
[endpoints.os]
kind = "survival"
[endpoints.os.truth]
control = { median = 12.0 }
hazard_ratio = 0.7
[endpoints.os.accrual]
rate = 20
[endpoints.os.follow_up]
minimum = 12.0
[simulation]
n_sims = 4000
seed = 14
jobs = 2
"""

# rpact: getSampleSizeSurvival(alpha = 0.025, sided = 1, beta = 0.15, hazardRatio = 1, thetaH0 = 1.3,
#   lambda2 = log(2) / 24, accrualTime = c(0, 30), followUpTime = 24)
#   $maxNumberOfEvents 521.734366, $maxNumberOfSubjects 783.910600
NI_CONFIG = """
[endpoints.os]
kind = "survival"
margin = 1.3
[endpoints.os.truth]
control = { median = 24.0 }
hazard_ratio = 1.0
[endpoints.os.accrual]
duration = 30.0
[endpoints.os.follow_up]
minimum = 24.0
[design]
power = 0.85
[simulation]
n_sims = 4000
seed = 41
jobs = 2
"""


@pytest.fixture
def rate_config(tmp_path):
    path = tmp_path / "rate.toml"
    path.write_text(RATE_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def ni_config(tmp_path):
    path = tmp_path / "ni.toml"
    path.write_text(NI_CONFIG, encoding="utf-8")
    return path


def _os(report, k=0):
    return report["scenarios"][k]["endpoints"]["os"]


# ---------------------------------------------------------------- analytic, against rpact


def test_subject_driven_design_matches_rpact(rate_config):
    result = design(rate_config)
    scenario = result["scenarios"][0]
    block = _os(result)
    assert block["events"] == pytest.approx(246.787105, rel=1e-3)
    assert block["subjects"] == pytest.approx(387.849743, rel=1e-3)
    assert block["accrual_duration"] == pytest.approx(19.392487, rel=1e-3)
    assert block["study_duration"] == pytest.approx(31.392480, rel=1e-3)
    # Matched more closely than the 0.1 % of the issue (Brent's method vs rpact's uniroot).
    assert block["subjects"] == pytest.approx(387.849743, rel=1e-6)
    assert block["accrual_duration"] == pytest.approx(19.392487, rel=1e-6)
    # No trial.n_total: the design is at the subjects rounded up per arm, and the
    # events are Schoenfeld's rounded up.
    assert scenario["n_total"] == 388 and scenario["n_total_source"] == "design.power"
    assert block["n_total_rounded"] == 388 and block["events_rounded"] == 247
    assert result["meta"]["events"] == 247


def test_subjects_at_rate_function_matches_rpact():
    n, (edges, density) = subjects_at_rate(
        246.787105, follow_up=12.0, starts=[0.0], rates=[20.0], control=hazards_from(median=12.0), hazard_ratio=0.7,
    )
    assert n == pytest.approx(387.849743, rel=1e-6)
    assert edges[-1] == pytest.approx(n / 20, rel=1e-12)
    assert float(np.sum(density * np.diff(edges))) == pytest.approx(1.0)


def test_piecewise_rate_group_sequential_with_dropout_matches_rpact(tmp_path):
    # rpact: d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, typeOfDesign = "asOF",
    #   informationRates = c(1/3, 2/3, 1))
    # getSampleSizeSurvival(d, hazardRatio = 0.75, lambda2 = log(2) / 18, accrualTime = c(0, 6),
    #   accrualIntensity = c(10, 25), followUpTime = 12, dropoutRate1 = 0.05, dropoutRate2 = 0.05,
    #   dropoutTime = 12)
    #   $maxNumberOfEvents 384.205464, $maxNumberOfSubjects 709.904173, $accrualTime[3] 31.996167,
    #   $maxStudyDuration 43.996170, $analysisTime 23.08393 32.80145 43.99617
    path = tmp_path / "gs.toml"
    path.write_text(
        RATE_CONFIG.replace("median = 12.0", "median = 18.0").replace("hazard_ratio = 0.7", "hazard_ratio = 0.75")
        .replace("rate = 20", "times = [0, 6]\nrate = [10, 25]")
        + "[endpoints.os.dropout]\nprobability = 0.05\nat = 12.0\n[design]\nlooks = 3\nefficacy = \"asOF\"\n",
        encoding="utf-8",
    )
    block = _os(design(path))
    assert block["events"] == pytest.approx(384.205464, rel=1e-3)
    assert block["subjects"] == pytest.approx(709.904173, rel=1e-3)
    assert block["accrual_duration"] == pytest.approx(31.996167, rel=1e-3)
    assert block["study_duration"] == pytest.approx(43.996170, rel=1e-3)
    assert block["analysis_times"] == pytest.approx([23.08393, 32.80145, 43.99617], rel=1e-3)


def test_non_inferiority_design_matches_rpact(ni_config):
    block = _os(design(ni_config))
    assert block["events"] == pytest.approx(521.734366, rel=1e-3)
    assert block["subjects"] == pytest.approx(783.910600, rel=1e-3)
    assert block["study_duration"] == pytest.approx(54.0)
    assert schoenfeld_events(1.0, power=0.85, margin=1.3) == pytest.approx(521.734366, rel=1e-6)


def test_non_inferiority_group_sequential_with_dropout_matches_rpact(ni_config):
    # rpact: getSampleSizeSurvival(d, hazardRatio = 1, thetaH0 = 1.3, lambda2 = log(2) / 24,
    #   accrualTime = c(0, 30), followUpTime = 24, dropoutRate1 = 0.1, dropoutRate2 = 0.1, dropoutTime = 12)
    #   with d the 3-look asOF design above (beta = 0.2):
    #   $maxNumberOfEvents 461.933833, $maxNumberOfSubjects 795.354028
    block = _os(design(ni_config, [
        "design.power=0.8", "design.looks=3", 'design.efficacy="asOF"', "endpoints.os.dropout.probability=0.1",
    ]))
    assert block["events"] == pytest.approx(461.933833, rel=1e-3)
    assert block["subjects"] == pytest.approx(795.354028, rel=1e-3)


@pytest.mark.parametrize("hazard_ratio, events, expected", [(1.0, 522, 0.850178), (1.1, 300, 0.303894)])
def test_non_inferiority_power_matches_rpact(ni_config, hazard_ratio, events, expected):
    # rpact: getPowerSurvival(alpha = 0.025, sided = 1, hazardRatio = HR, thetaH0 = 1.3,
    #   lambda2 = log(2) / 24, accrualTime = c(0, 30), maxNumberOfSubjects = 784,
    #   maxNumberOfEvents = EVENTS, directionUpper = FALSE)$overallReject
    #   HR 1, 522 events: 0.850178; HR 1.1, 300 events: 0.303894
    block = _os(design(ni_config, [
        "trial.n_total=784", f"design.events={events}", f"endpoints.os.truth.hazard_ratio={hazard_ratio}",
    ]))
    assert block["power"] == pytest.approx(expected, rel=1e-3)
    assert schoenfeld_power(events, hazard_ratio, margin=1.3) == pytest.approx(expected, rel=1e-4)


def test_sample_size_function_with_rate_and_margin():
    size_ = survival_sample_size(
        1.0, control=hazards_from(median=24.0), accrual=None, follow_up=24.0, power=0.85, margin=1.3,
        accrual_rate=([0.0], [783.9106 / 30.0]),
    )
    # The rate that accrues rpact's 783.911 subjects in 30 months gives them back.
    assert size_.subjects == pytest.approx(783.910600, rel=1e-5)
    assert size_.accrual_duration == pytest.approx(30.0, rel=1e-5)
    with pytest.raises(Exception, match="!= 1.3"):
        schoenfeld_events(1.3, margin=1.3)


# ---------------------------------------------------------------- accrual as a rate in simulation


def test_rate_accrual_sets_the_duration_from_n_total(rate_config):
    from simulator.endpoints import plan_for
    from simulator.endpoints.survival_spec import RateAccrual

    trial = __import__("_runs").trial(rate_config, ["trial.n_total=300", "design.events=150"])
    config = trial._scenarios[0].config
    endpoint = config.endpoints[0]
    assert isinstance(endpoint.accrual, RateAccrual) and endpoint.accrual.edges == ()
    plan = plan_for(config, endpoint)
    assert plan.endpoint.accrual.edges == (0.0, 15.0)  # 300 / 20
    piecewise = endpoint.accrual.__class__((), (), (0.0, 6.0), (10.0, 20.0)).for_subjects(300)
    assert piecewise.edges == (0.0, 6.0, 18.0) and piecewise.rates == (10.0, 20.0)
    assert accrual_pieces(times=[0, 6], rates=[10, 20], n_subjects=300)[0].tolist() == [0.0, 6.0, 18.0]


@pytest.mark.parametrize("starts, rates, n_total", [((0.0,), (20.0,), 300), ((0.0, 6.0), (10.0, 20.0), 300)])
def test_simulated_entries_follow_the_rate(starts, rates, n_total):
    """Mean duration of accrual (last entry) and patients entered by 6 months, against the rates."""
    from simulator.endpoints.survival_spec import RateAccrual
    from simulator.engine.bits import seed_bits
    from simulator.engine.patients import accrual_iv, draw_entries

    accrual = RateAccrual((), (), starts, rates).for_subjects(n_total)
    duration = accrual.edges[-1]
    assert duration == pytest.approx(n_total / rates[0] if len(rates) == 1 else 6 + (n_total - 60) / 20)
    edges, cumulative = accrual_iv((accrual.edges, accrual.rates))
    bits = np.zeros(4, dtype=np.uint64)
    seed_bits(np.random.default_rng(7), bits)  # the state carries on from one call to the next
    reps = 4000
    last, by_six = np.empty(reps), np.empty(reps)
    out = np.empty(n_total)
    for r in range(reps):
        draw_entries(bits, n_total, edges, cumulative, out)
        last[r] = out[-1]
        by_six[r] = np.searchsorted(out, 6.0, side="right")
    # Entries are n uniform order statistics over the accrual distribution:
    # the last one is at the n / (n + 1) quantile on average, i.e. the end of
    # accrual, n_total / rate, less one patient's gap at the last rate:
    # (n / (n + 1)) / rate.
    mcse = last.std(ddof=1) / math.sqrt(reps)
    assert abs(last.mean() - (duration - n_total / (n_total + 1) / rates[-1])) <= 4 * mcse
    assert abs(last.mean() - duration) < 0.01 * duration
    mcse = by_six.std(ddof=1) / math.sqrt(reps)
    assert abs(by_six.mean() - rates[0] * 6.0) <= 4 * mcse  # the first piece's rate


def test_simulated_rate_trial_enrols_at_the_rate_and_matches_the_analytic_power(rate_config):
    # n_total = 388, events from the subjects: ceil(expected events by 388 / 20 + 12 months) = 247.
    report = run(rate_config, ["trial.n_total=388", "simulation.null=true"])
    block = _os(report)
    assert block["events"] == 247 and report["meta"]["events"] == 247
    assert "expected events of trial.n_total = 388" in report["meta"]["events_derivation"]
    # Power against Schoenfeld's (4 MCSE + 0.005, docs/validation.md); type I error at HR 1.
    assert abs(block["power"] - block["analytic"]["power"]) <= 4 * block["power_mcse"] + 0.005
    assert block["type1"] <= 0.025 + 4 * block["type1_mcse"]
    # The final look is expected near the planned study duration (accrual 19.4 + follow-up 12).
    assert block["expected_look_times"][0] == pytest.approx(31.4, abs=1.0)


def test_events_follow_each_n_total_of_a_sweep(rate_config):
    result = design(rate_config, ["trial.n_total=[300, 388, 500]"])
    events = [s["endpoints"]["os"]["events_rounded"] for s in result["scenarios"]]
    assert events == [247, 247, 247]  # the analytic (Schoenfeld) events do not move ...
    by_n = result["meta"]["events_by_n_total"]
    assert by_n["300"] < 247 < by_n["500"]
    # Its sentence names every size and its events (a new-user review: it named the first only).
    assert result["meta"]["events_derivation"].startswith("expected events of each trial.n_total (300, 388, 500)")
    assert f"{by_n['300']} at 300, {by_n['388']} at 388, {by_n['500']} at 500 (events_by_n_total)" \
        in result["meta"]["events_derivation"]
    powers = [s["endpoints"]["os"]["power"] for s in result["scenarios"]]
    assert powers[0] < powers[1] < powers[2]  # ... but the events simulated, and power, do


def test_subject_driven_events_respect_a_maximum_follow_up(rate_config):
    # Each patient followed at most 6 months: fewer events expected by the end of follow-up.
    plain = design(rate_config, ["trial.n_total=388"])["meta"]["events"]
    capped = design(rate_config, ["trial.n_total=388", "endpoints.os.follow_up.maximum=6.0"])["meta"]
    assert capped["events"] < plain == 247
    # Exponential, median 12: by the end each patient has been followed min(6, time since entry).
    from simulator.design.survival import accrual_pieces, expected_events

    expected = expected_events(
        388 / 20 + 12, 388, control=hazards_from(median=12.0), hazard_ratio=0.7,
        accrual=accrual_pieces(duration=388 / 20), max_follow_up=6.0,
    )
    assert capped["events_unrounded"] == pytest.approx(expected) and capped["events"] == math.ceil(expected)


# ---------------------------------------------------------------- subject-driven size


@pytest.mark.slow
def test_size_searches_subjects_when_a_rate_defines_the_trial(rate_config, tmp_path, capsys):
    block = size(rate_config, level=0.8)["size"]
    assert block["axis"] == "n_total" and block["analytic_n_total"] == 388
    assert block["searched"].startswith("trial.n_total")
    n_total = block["n_total"]
    assert block["events"] == next(e["events"] for e in block["evaluated"] if e["n_total"] == n_total)
    assert block["accrual_duration"] == pytest.approx(n_total / 20)
    assert block["study_duration"] == pytest.approx(n_total / 20 + 12)
    # Power rises by about 0.00159 per event near 247 events (tests/test_size.py)
    # and the events by 0.64 per subject: 3 MCSE of the power curve plus
    # 10 subjects for Schoenfeld's approximation and the grid.
    tolerance = 3 * block["power_mcse"] / (0.00159 * 0.64) + 10
    assert abs(n_total - 387.85) <= tolerance, (n_total, tolerance)
    assert main(["size", str(rate_config), "--sims", "1000", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "smallest n_total with power >= 0.8" in printed and "searched trial.n_total" in printed


def test_size_still_searches_events_when_they_are_given(rate_config, capsys, tmp_path):
    args = ["--set", "trial.n_total=500", "--set", "design.events=250", "--sims", "1000"]
    assert main(["size", str(rate_config), *args, "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "smallest events (final look)" in printed and "searched design.events" in printed


# ---------------------------------------------------------------- non-inferiority by simulation


def test_non_inferiority_type1_at_the_margin_and_power(ni_config):
    # 522 events (rpact's 521.73 rounded up), 784 subjects; type I error on the
    # null boundary HR = 1.3 (the type1 stream), power at HR = 1.
    report = run(ni_config, ["trial.n_total=784", "simulation.null=true"], n_sims=20_000)
    block = _os(report)
    assert block["events"] == 522 and block["margin"] == 1.3
    assert block["type1"] <= 0.025 + 4 * block["type1_mcse"], (block["type1"], block["type1_mcse"])
    assert abs(block["power"] - block["analytic"]["power"]) <= 4 * block["power_mcse"] + 0.005
    assert block["analytic"]["power"] == pytest.approx(0.850178, rel=1e-3)
    # The critical hazard ratio: 1.3 exp(-1.96 x 2 / sqrt(522)).
    assert block["critical_effect"][0] == pytest.approx(1.3 * math.exp(-1.959964 * 2 / math.sqrt(522)), rel=1e-6)


def test_non_inferiority_type1_in_a_smaller_trial(ni_config):
    # Fewer events, the same null: the log-rank estimate of log HR keeps its level.
    report = run(ni_config, ["trial.n_total=300", "design.events=150", "endpoints.os.truth.hazard_ratio=1.3"],
                 n_sims=20_000)
    block = _os(report)
    assert block["power"] <= 0.025 + 4 * block["power_mcse"], (block["power"], block["power_mcse"])
    assert block["power"] >= 0.025 - 4 * block["power_mcse"]


@pytest.mark.slow
def test_non_inferiority_size_searches_events_near_rpact(ni_config):
    # Events searched with 784 subjects; analytic start rpact's 521.73 -> 522.
    # Near 522 events power rises by phi(z_0.85) log(1.3) / (4 sqrt(522)) = 0.00067
    # per event: 3 MCSE of the power curve plus 10 events.
    block = size(ni_config, ["trial.n_total=784"], level=0.85, n_sims=4000)["size"]
    assert block["axis"] == "events" and block["analytic_events"] == 522
    assert block["searched"].startswith("design.events")
    slope = 0.2331 * math.log(1.3) / (4 * math.sqrt(522))
    assert abs(block["events"] - 521.73) <= 3 * block["power_mcse"] / slope + 10, block["events"]


def test_non_inferiority_prior_ceiling_is_below_the_margin(ni_config):
    # A prior centred on HR 1 (log sd 0.1): P(HR < 1.3) = Phi(log 1.3 / 0.1).
    from scipy import stats

    block = _os(design(ni_config, ["trial.n_total=784", "endpoints.os.prior.hazard_ratio={log_mean=0, log_sd=0.1}"]))
    assert block["prior_p_benefit"] == pytest.approx(stats.norm.cdf(math.log(1.3) / 0.1))


@pytest.mark.parametrize("margin", [1.0, 1.3, 1.6, 0.8])
def test_non_inferiority_z_is_the_score_test_at_the_margin(margin):
    # Reference: statsmodels' Cox model (PHReg, Breslow) with offset log(M) on the experimental arm: its score and
    # information at coefficient 0 are the score test at HR = M (an independent implementation). Unequal arms
    # (60 vs 180), no ties; the log-rank at M = 1.
    from statsmodels.duration.hazard_regression import PHReg

    from simulator.engine.survival import logrank

    rng = np.random.default_rng(4)
    group = np.r_[np.zeros(60, dtype=np.int64), np.ones(180, dtype=np.int64)]
    latent = rng.exponential(1.0, group.size) / np.where(group == 1, 1.2, 1.0)
    censor = rng.uniform(0.5, 3.0, group.size)
    time, event = np.minimum(latent, censor), (latent <= censor).astype(np.int64)
    z, score, variance, *_ = logrank(time, event, group, margin=margin)
    model = PHReg(time, group[:, None].astype(float), status=event, offset=math.log(margin) * group, ties="breslow")
    reference_score = -model.score(np.zeros(1))[0]
    reference_variance = -model.hessian(np.zeros(1))[0, 0]
    assert score == pytest.approx(reference_score, rel=1e-12)
    assert variance == pytest.approx(reference_variance, rel=1e-12)
    assert z == pytest.approx(reference_score / math.sqrt(reference_variance), rel=1e-12)


def test_stratified_non_inferiority_keeps_alpha_with_unequal_allocation():
    # The stratified analysis runs the score test at the margin in each stratum (simulator/engine/strata.py, a
    # path of its own). At HR = margin 1.6, 1:3, two strata of hazards 1 and 2.5, 730 events: the type I error
    # within 4 MCSE of alpha (the shifted log-rank z of before gave about 0.065 unstratified at this allocation).
    from simulator.api import Trial

    raw = {"trial": {"allocation": [1, 3], "n_total": 1200, "randomisation": "blocks"},
           "strata": {"site": {"share": [0.5, 0.5], "hazard_multiplier": [1.0, 2.5]}},
           "endpoints": {"os": {"kind": "survival", "margin": 1.6, "stratified": True,
                                "truth": {"control": {"median": 24.0}, "hazard_ratio": 1.6},
                                "accrual": {"duration": 30.0}, "follow_up": {"minimum": 24.0}}},
           "design": {"alpha": 0.025, "events": 730}}
    n = 20_000
    power = Trial.from_dict(raw).simulate(n_sims=n, seed=21).scenarios[0].endpoints["os"].power
    assert abs(power.value - 0.025) <= 4 * math.sqrt(0.025 * 0.975 / n), power


@pytest.mark.parametrize("margin", [0.0005, 1e308, float("nan"), True, "1.5"])
def test_logrank_margin_is_a_hazard_ratio_in_range(margin):
    # A code review: a margin of 1e308 overflowed to a NaN score and z = 0 without a word.
    from simulator.engine.survival import logrank
    from simulator.errors import InputError

    with pytest.raises(InputError, match=r"`margin` must be a hazard ratio in \[0\.001, 1000\]"):
        logrank(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1]), np.array([0, 1, 1]), margin=margin)


@pytest.mark.parametrize("allocation", [[1, 3], [3, 1]])
def test_non_inferiority_type1_with_unequal_allocation(allocation):
    # A survival review: the log-rank z shifted by log(M) sqrt(V) had a type I error of 0.0647 +- 0.0017 at alpha
    # 0.025 with 1:3 allocation and M = 1.6 (rpact's getSimulationSurvival(..., thetaH0 = 1.6, allocation1 = 3,
    # plannedEvents = 730, maxNumberOfSubjects = 1200): 0.0260 +- 0.0016), and 0.019 at 3:1 and M = 1.3. The score
    # test at M keeps alpha: within 4 MCSE of 0.025 (two-sided: too small is wrong too; 730 events, where the
    # score test's normal approximation is good to far less than that).
    from simulator.api import Trial

    raw = {"trial": {"allocation": allocation, "n_total": 1200},
           "endpoints": {"os": {"kind": "survival", "margin": 1.6,
                                "truth": {"control": {"median": 24.0}, "hazard_ratio": 1.6},
                                "accrual": {"duration": 30.0}, "follow_up": {"minimum": 24.0}}},
           "design": {"alpha": 0.025, "events": 730}}
    n = 20_000
    power = Trial.from_dict(raw).simulate(n_sims=n, seed=16).scenarios[0].endpoints["os"].power
    assert abs(power.value - 0.025) <= 4 * math.sqrt(0.025 * 0.975 / n), power


# ---------------------------------------------------------------- bad input


BAD = [
    (["endpoints.os.accrual={rate=0}"], r"`endpoints\.os\.accrual\.rate`: must be a number in \[0.001, 1e\+07\]"),
    (["endpoints.os.accrual={rate=-5}"], r"`endpoints\.os\.accrual\.rate`: must be a number in \[0.001, 1e\+07\]"),
    (["endpoints.os.accrual={times=[0, 6], rate=[10, 0]}"], r"`endpoints\.os\.accrual\.rate`: must be > 0 in the last"),
    (["endpoints.os.accrual={times=[0, 6, 12], rate=[10, 20]}"], r"`endpoints\.os\.accrual\.times`: must be the 2 start"),
    (["endpoints.os.accrual={times=[2, 6], rate=[10, 20]}"], r"`endpoints\.os\.accrual\.times`: must start at 0"),
    (["endpoints.os.accrual={rate=[10, 20]}"], r"`endpoints\.os\.accrual\.times`: is required with a list `rate`"),
    (["endpoints.os.accrual={rate=20, duration=12}"], r"`endpoints\.os\.accrual`: needs exactly one of"),
    (["endpoints.os.accrual={rate=20, rates=[1]}"], r"`endpoints\.os\.accrual`: needs exactly one of"),
    (['endpoints.os.accrual={rate="fast"}'], r"`endpoints\.os\.accrual\.rate`: must be a number in \[0.001, 1e\+07\]"),
    (["endpoints.os.margin=0.8"], r"`endpoints\.os\.margin`: must be a number in \(1, 1000\]"),
    (["endpoints.os.margin=1"], r"`endpoints\.os\.margin`: must be a number in \(1, 1000\]"),
    (["endpoints.os.margin=1.3", "design.sided=2"], r"`endpoints\.os\.margin`: a margin needs design\.sided = 1"),
    (
        ["endpoints.os.margin=1.3", "endpoints.os.truth.hazard_ratio=1.4"],
        r"`design\.events`: cannot be derived from endpoints\.os\.truth\.hazard_ratio = 1\.4 \(not below the "
        r"margin 1\.3\); give design\.events, or a hazard ratio below the margin$",
    ),
    (
        ["endpoints.os.truth.hazard_ratio=1.0"],
        r"`design\.events`: cannot be derived from endpoints\.os\.truth\.hazard_ratio = 1 \(no benefit to power "
        r"for\); give design\.events, or a hazard ratio below 1$",
    ),
    # A fuzzing review: a tiny level called the interval too wide (sd inf) after a numpy warning line.
    (["endpoints.os.prior.hazard_ratio={lower=0.5, upper=0.9, level=1e-17}"],
     r"`endpoints\.os\.prior\.hazard_ratio\.level`: is too small for the interval 0\.5-0\.9: as a 1e-17 interval its "
     r"log-scale sd would be inf, above 3; give the interval's confidence level \(0\.95 by default\), got 1e-17$"),
    (["endpoints.os.prior.hazard_ratio={lower=0.5, upper=0.9}",
      "endpoints.os.prior.control_median={lower=20, upper=40, level=1e-300}"],
     r"`endpoints\.os\.prior\.control_median\.level`: is too small"),
    (["endpoints.os.prior.hazard_ratio={lower=0.001, upper=5000}"], r"`endpoints\.os\.prior\.hazard_ratio`: is too wide"),
]


@pytest.mark.parametrize("overrides, pattern", BAD)
def test_bad_protocol_input_exits_2_naming_the_key(rate_config, capsys, overrides, pattern):
    argv = ["design", str(rate_config)]
    for o in overrides:
        argv += ["--set", o]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(pattern, err[0]), err


def test_non_inferiority_in_a_joint_trial(ni_config):
    # A binary endpoint read at the survival looks, correlated 0.3 with it: the joint engine runs the same
    # non-inferiority z (the shared analyse_looks). Type I error at HR = margin within alpha + 4 MCSE, and the
    # power at 522 events within 4 MCSE + 0.005 (Schoenfeld's approximation, docs/validation.md) of rpact's
    # getPowerSurvival(..., thetaH0 = 1.3, maxNumberOfEvents = 522, directionUpper = FALSE) = 0.850178.
    from simulator.api import Trial

    trial = Trial.from_toml(ni_config).override({
        "trial.n_total": 784, "design.events": 522, "simulation.null": True,
        "endpoints.resp": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.4}},
        "correlation": {"resp.os": 0.3},
    })
    n = 20_000
    result = trial.simulate(n_sims=n, seed=5)
    os_result = result.scenarios[0].endpoints["os"]
    assert os_result.type1.value <= 0.025 + 4 * math.sqrt(0.025 * 0.975 / n)
    assert abs(os_result.power.value - 0.850178) <= 4 * math.sqrt(0.85 * 0.15 / n) + 0.005


# rpact: getSampleSizeSurvival(alpha = 0.025, sided = 1, beta = 0.2, hazardRatio = 0.75, kMax = 2,
#   typeOfDesign = "asOF", lambda2 = log(2) / 12, accrualTime = c(0, 6), accrualIntensity = c(15, 30),
#   followUpTime = 12, dropoutRate1 = 0.05, dropoutRate2 = 0.05, dropoutTime = 12)
#   $maxNumberOfEvents 380.7648, $maxNumberOfSubjects 603.5784 (an independent review's design)
PIECEWISE_RATE = RATE_CONFIG.replace("hazard_ratio = 0.7", "hazard_ratio = 0.75").replace(
    "rate = 20", "times = [0, 6]\nrate = [15, 30]\n[endpoints.os.dropout]\nprobability = 0.05\nat = 12.0"
) + '[design]\nlooks = [0.5, 1.0]\nefficacy = "asOF"\n'


def test_design_without_n_total_has_the_events_run_derives_at_the_size_it_finds(tmp_path):
    # Found by a review: design printed the Schoenfeld events (381) as "held fixed across scenarios" while
    # run at the size design found (604) derives the subject-driven events of 604 subjects (382).
    path = tmp_path / "piecewise.toml"
    path.write_text(PIECEWISE_RATE, encoding="utf-8")
    found = design(path)
    block = _os(found)
    assert block["events"] == pytest.approx(380.7648, abs=1e-4)
    assert block["subjects"] == pytest.approx(603.5784, abs=1e-4)
    n_total = found["scenarios"][0]["n_total"]
    assert n_total == 604 == block["n_total_rounded"]
    given = design(path, [f"trial.n_total={n_total}"])
    assert found["meta"]["events"] == given["meta"]["events"] == 382
    assert "trial.n_total = 604 (computed for design.power)" in found["meta"]["events_derivation"]
    assert block["power"] == _os(given)["power"]


def test_calendar_looks_with_an_accrual_rate_are_designed_without_n_total(rate_config):
    # docs/config.md's protocol example with calendar looks: design found no size (the provisional 1000
    # subjects expect an interim to have design.events already). The size it now gives is the event-driven
    # design's subjects at its own looks' fractions, found again at that size until it no longer moves.
    overrides = ["endpoints.os.follow_up.maximum=36.0", "design.look_times=[24.0, 36.0, 48.0]",
                 "design.events=300", "design.max_duration=60.0"]
    scenario = design(rate_config, overrides)["scenarios"][0]
    assert scenario["n_total_source"] == "design.power"
    assert scenario["n_total"] == _os({"scenarios": [scenario]})["n_total_rounded"]
    at_size = design(rate_config, [*overrides, f"trial.n_total={scenario['n_total']}"])
    assert _os(at_size)["n_total_rounded"] == scenario["n_total"]


def test_design_without_n_total_works_when_a_sweep_completes_the_base_config(tmp_path):
    # A code review found design failing when the unswept base config lacks a key the sweep gives (it
    # validated the base even for a binary trial).
    path = tmp_path / "sweep.toml"
    path.write_text('[endpoints.resp]\nkind = "binary"\n[endpoints.resp.truth]\ncontrol = 0.30\n[design]\nlooks = 3\n'
                    '[sweep]\n"endpoints.resp.truth.experimental" = [0.4, 0.45]\n', encoding="utf-8")
    sizes = [s["n_total"] for s in design(path)["scenarios"]]
    assert sizes[0] > sizes[1] > 0


def test_design_derives_a_swept_allocations_events_as_run_does(rate_config):
    # run derives a subject-driven trial's events from the unswept base config (its allocation too): design,
    # at the size it finds, gives the same events and power as the config with that n_total.
    sweep = ['sweep."trial.allocation"=[[1, 2]]']
    found = design(rate_config, sweep)
    n_total = found["scenarios"][0]["n_total"]
    given = design(rate_config, [*sweep, f"trial.n_total={n_total}"])
    assert found["meta"]["events"] == given["meta"]["events"]
    assert _os(found)["power"] == _os(given)["power"]


def test_calendar_looks_with_derived_events_settle_on_a_size_and_say_what_it_is(rate_config):
    # The events derived from the subjects move with the size: the size is found again with them until it
    # settles (a review found the size's block giving another n_total_rounded); and it is the event-driven
    # design's subjects, not a size for design.power at calendar looks, which the note says.
    scenario = design(rate_config, ["design.look_times=[24.0, 36.0]"])["scenarios"][0]
    assert scenario["n_total"] == _os({"scenarios": [scenario]})["n_total_rounded"]
    assert "n_total_note" not in scenario  # settled
    assert "calendar looks with an accrual rate have no analytic size" in _os({"scenarios": [scenario]})["note"]


def test_given_events_beyond_every_provisional_size_set_the_size(rate_config):
    # A review found errors naming a made-up `trial.n_total = 60` (the last provisional size tried); then
    # 200,000 given events, more than any provisional size, were refused. The plans are now also built at
    # sizes just above the given events, and a trial of one survival endpoint is sized by its given events.
    scenario = design(rate_config, ["endpoints.os.accrual={duration = 24.0}", "design.events=200000"])["scenarios"][0]
    assert scenario["n_total_source"] == "design.events" and scenario["n_total"] > 200_000


def test_design_without_a_size_names_a_key_refused_at_every_size(tmp_path, capsys):
    # A review: HP's interim bounds spend more than alpha = 0.001 whatever the size, and `design` without
    # trial.n_total said trial.n_total was required; the key to change is design.efficacy.
    from simulator.cli import main

    path = tmp_path / "hp.toml"
    path.write_text('[endpoints.r]\nkind = "binary"\ntest = "z_pooled"\n[endpoints.r.truth]\ncontrol = 0.2\n'
                    'experimental = 0.4\n[design]\nalpha = 0.001\nlooks = 3\nefficacy = "HP"\n', encoding="utf-8")
    assert main(["design", str(path)]) == 2
    assert capsys.readouterr().err.startswith(
        "p3sim: error: config key `design.efficacy`: HP interim bounds of 3.0 already spend")


@pytest.mark.parametrize("base", ["rate = 20", "duration = 24.0"])
def test_design_follows_loadings_rule_when_a_sweep_changes_the_accrual(tmp_path, base):
    # A code review found an internal error (base accrual a duration, a rate swept in) and events other than
    # run's (base a rate): loading derives every scenario's events by the base config's rule, and so does
    # design at the sizes it finds.
    path = tmp_path / "accrual.toml"
    path.write_text(RATE_CONFIG.replace("rate = 20", base), encoding="utf-8")
    sweep = ['sweep."endpoints.os.accrual"=[{rate=20.0}, {duration=24.0}]']
    found = design(path, sweep)
    for k, scenario in enumerate(found["scenarios"]):
        n_total = scenario["n_total"]
        given = design(path, [*sweep, f"trial.n_total={n_total}"])
        assert _os(found, k)["power"] == _os(given, k)["power"], (base, n_total)


def test_given_events_are_sized_by_the_subjects_that_give_them(rate_config):
    # A code review found design reporting the provisional 1000 subjects with a note about settling; then it
    # refused, the subjects for design.power (188 at HR 0.6) being fewer than the 400 events given. The events set
    # the power: the size is the subjects expected to give them by the end of accrual plus the minimum follow-up
    # (a new-user review), checked here by the expected events at that time.
    overrides = ["endpoints.os.accrual={duration = 24.0}", "design.events=400", "endpoints.os.truth.hazard_ratio=0.6"]
    scenario = design(rate_config, overrides)["scenarios"][0]
    assert scenario["n_total_source"] == "design.events" and scenario["n_total"] > 400
    # The 400 events come at the end of accrual plus the 12 months' minimum follow-up (RATE_CONFIG), a little
    # before it: rounding up per arm adds at most a subject an arm, some tenths of an event there (0.5 month).
    final = _os({"scenarios": [scenario]})["analysis_times_at_n_total"][-1]
    assert 36.0 - 0.5 < final <= 36.0 + 1e-9


SMALL_UNEQUAL = """
[trial]
allocation = [1, 3]
n_total = 200
[endpoints.os]
kind = "survival"
truth = { control = { median = 6.0 }, hazard_ratio = 0.5 }
accrual = { duration = 12.0 }
dropout = { probability = 0.2, at = 12.0 }
[design]
power = 0.8
looks = 4
efficacy = "asP"
futility = "bsP"
binding = true
[simulation]
null = true
"""


def test_a_type1_error_clearly_above_alpha_is_noted(tmp_path):
    # A review: 0.0334 ± 0.0004 at alpha 0.025 was shown without a word. Reference: rpact 3.3.4
    # getSimulationSurvival(getDesignGroupSequential(kMax = 4, alpha = 0.025, beta = 0.2, typeOfDesign = "asP",
    # typeBetaSpending = "bsP", bindingFutility = TRUE, informationRates = the realised fractions), pi2 = median 6,
    # hazardRatio = 1, allocation1 = 3, plannedEvents = the looks' events, maxNumberOfSubjects = 200,
    # accrualTime = 12, dropoutRate1 = dropoutRate2 = 0.2, dropoutTime = 12, maxNumberOfIterations = 1e5):
    # 0.03455 ± 0.00058 (the reviewer's run).
    import simulator as p3

    path = tmp_path / "small.toml"
    path.write_text(SMALL_UNEQUAL, encoding="utf-8")
    block = p3.Trial.from_toml(path).simulate(n_sims=20000, seed=3).to_dict()["scenarios"][0]["endpoints"]["os"]
    assert abs(block["type1"] - 0.03455) < 3 * math.hypot(block["type1_mcse"], 0.00058)
    assert f"the simulated type1 {block['type1']:.4g} ± {block['type1_mcse']:.2g} is above the one-sided level " \
           "0.025 by more than 4 MCSE" in block["analytic"]["note"]
    # At 1:1 with more events the log-rank keeps its level: no such note.
    balanced = p3.Trial.from_toml(path).override(["trial.allocation=[1, 1]", "trial.n_total=400"]).simulate(
        n_sims=20000, seed=3).to_dict()["scenarios"][0]["endpoints"]["os"]
    assert balanced["type1"] - 3 * balanced["type1_mcse"] < 0.025
    assert "simulated type1" not in (balanced["analytic"].get("note") or "")


def test_a_binary_endpoint_gets_no_simulated_type1_sentence_beside_its_exact_size(tmp_path):
    # A code review: z_unpooled at 40 patients had both its exact-size sentence and the simulated one.
    import simulator as p3

    raw = {"trial": {"n_total": 40},
           "endpoints": {"r": {"kind": "binary", "test": "z_unpooled", "truth": {"control": 0.6, "experimental": 0.8}}},
           "design": {"looks": 2, "efficacy": "asOF"}, "simulation": {"null": True}}
    block = p3.Trial.from_dict(raw).simulate(n_sims=20000, seed=1).to_dict()["scenarios"][0]["endpoints"]["r"]
    assert block["analytic"]["size_exact"] > 1.2 * 0.025 and block["type1"] - 4 * block["type1_mcse"] > 0.025
    assert "the exact size of z_unpooled" in block["analytic"]["note"]
    assert "simulated type1" not in block["analytic"]["note"]


def test_a_binary_type1_between_its_exact_notes_threshold_and_the_screen_is_noted():
    # A second code review: with the simulated sentence dropped wherever an exact size exists, z_unpooled at
    # 50 + 50 (exact size 0.0297 for 0.025: 1.19 times, under the exact note's 1.2) had no word in report.md.
    # Reference: the exact size by enumeration of both binomials at the control rate (scipy).
    from scipy.stats import binom, norm

    import simulator as p3

    raw = {"trial": {"n_total": 100},
           "endpoints": {"r": {"kind": "binary", "test": "z_unpooled", "truth": {"control": 0.10, "experimental": 0.25}}},
           "simulation": {"null": True}}
    from _binary_reference import z_table

    k = np.arange(51)
    size = float(np.outer(binom.pmf(k, 50, 0.1), binom.pmf(k, 50, 0.1))[z_table(50, 50, "z_unpooled") >= norm.isf(0.025)].sum())
    assert 1.1 * 0.025 < size < 1.2 * 0.025
    block = p3.Trial.from_dict(raw).simulate(n_sims=100000, seed=5).to_dict()["scenarios"][0]["endpoints"]["r"]
    assert block["analytic"]["size_exact"] == pytest.approx(size, abs=1e-12)
    assert abs(block["type1"] - size) < 3 * block["type1_mcse"]
    assert "the exact size of" not in block["analytic"].get("note", "")
    assert f"the simulated type1 {block['type1']:.4g}" in block["analytic"]["note"]
