"""Stratified trials through the API: the report's strata block, group-sequential looks, reproducibility."""

import math

import pytest

import simulator as p3

SURVIVAL = {
    "trial": {"n_total": 500, "randomisation": "minimisation"},
    "strata": {
        "liver_mets": {"share": [0.6, 0.4], "hazard_multiplier": [1.0, 2.5]},
        "ecog": {"share": [0.5, 0.5], "hazard_multiplier": [1.0, 1.6]},
    },
    "endpoints": {
        "os": {
            "kind": "survival",
            "stratified": True,
            "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.75},
            "accrual": {"duration": 24.0},
        }
    },
    "design": {"events": 300, "alpha": 0.025},
    "simulation": {"null": True},
}


def _survival(**changes):
    import copy

    raw = copy.deepcopy(SURVIVAL)
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        raw[section][key] = value
    return raw


def test_report_has_the_strata_block(tmp_path):
    """Power, type I error and imbalance of both analyses on the same trials, each with its MCSE; reports written."""
    result = p3.Trial.from_dict(SURVIVAL).simulate(n_sims=2000, seed=3)
    folder = result.save(tmp_path / "out", plots=False)  # report.json checked against the schema (conftest)
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "Stratified and unstratified analyses" in markdown and "Arm imbalance per factor" in markdown
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="strata-s0"' in html and 'id="strata-imbalance-s0"' in html
    block = result.to_dict()["scenarios"][0]["endpoints"]["os"]
    strata = block["strata"]
    assert strata["analysis"] == "stratified" and strata["other_analysis"] == "unstratified"
    assert strata["factors"] == ["liver_mets", "ecog"] and strata["cells"] == 4
    assert strata["randomisation"] == "minimisation" and strata["minimisation_probability"] == 0.8
    assert strata["power"]["this"] == pytest.approx(block["power"])
    assert strata["type1"]["this"] == pytest.approx(block["type1"])
    paired = strata["power"]
    assert paired["difference"] == pytest.approx(paired["this"] - paired["other"])
    assert paired["difference_mcse"] > 0
    for factor in ("liver_mets", "ecog"):
        assert 0 <= strata["imbalance"][factor]["q50"] <= strata["imbalance"][factor]["q90"]
        assert strata["imbalance"][factor]["mean_mcse"] > 0


@pytest.mark.parametrize("with_strata", [True, False])
def test_survival_figure_caption_says_the_bands_are_not_simulated_with_strata(with_strata):
    # With strata there is no Kaplan-Meier side sample; the caption says so, and which curves are drawn.
    from simulator.endpoints.survival_figures import figures

    raw = _survival() if with_strata else {k: v for k, v in _survival(trial__randomisation="simple").items()
                                            if k != "strata"}
    if not with_strata:
        raw["endpoints"]["os"].pop("stratified")
    trial = p3.Trial.from_dict(raw)
    caption = {spec.id: spec.caption for spec in figures("os", {}, trial.scenarios)}["plot-survival-os"]
    assert ("not simulated (docs/strata.md)" in caption) == with_strata
    assert ("first stratum" in caption) == with_strata
    # The non-proportional-hazards figure draws the first stratum's curves too, and says so.
    nph = {spec.id: spec.caption for spec in figures("os", {}, trial.scenarios)}["plot-nph-os"]
    assert ("first stratum" in nph) == with_strata


def test_unstratified_analysis_of_a_stratified_trial_is_the_other_way_round():
    """stratified = false: the endpoint is decided by the plain log-rank, and the other analysis is the stratified
    one, on the same trials (same seed, same draws), so the two configurations swap the paired rates exactly."""
    stratified = p3.Trial.from_dict(SURVIVAL).simulate(n_sims=1000, seed=9).to_dict()
    raw = _survival()
    raw["endpoints"]["os"]["stratified"] = False
    # stratified = false changes the digest, and so the draws: compare the two analyses within each run instead.
    plain = p3.Trial.from_dict(raw).simulate(n_sims=1000, seed=9).to_dict()
    for report, analysis in ((stratified, "stratified"), (plain, "unstratified")):
        block = report["scenarios"][0]["endpoints"]["os"]
        assert block["strata"]["analysis"] == analysis
        assert block["strata"]["power"]["this"] == pytest.approx(block["power"])


def test_stratified_logrank_at_three_looks_keeps_the_type1_error():
    """Three looks (O'Brien-Fleming-type spending at 100, 200, 300 events): one-sided type I error within 4 MCSE of
    0.025 over 6000 trials."""
    raw = _survival(design__looks=3)
    result = p3.Trial.from_dict(raw).simulate(n_sims=6000, seed=21).to_dict()
    block = result["scenarios"][0]["endpoints"]["os"]
    assert block["look_events"] == [100, 200, 300]
    mcse = math.sqrt(0.025 * 0.975 / 6000)
    assert abs(block["type1"] - 0.025) < 4 * mcse, block["type1"]


def test_strata_results_do_not_depend_on_jobs():
    one = p3.Trial.from_dict(SURVIVAL).simulate(n_sims=600, seed=4, jobs=1).to_dict()
    two = p3.Trial.from_dict(SURVIVAL).simulate(n_sims=600, seed=4, jobs=2).to_dict()
    assert one["scenarios"][0]["endpoints"]["os"]["strata"] == two["scenarios"][0]["endpoints"]["os"]["strata"]


def test_a_stratified_run_resumes_from_its_checkpoint(tmp_path):
    """The strata counts pass the checkpoint's checks: a rerun takes the scenario from it, with the same block."""
    import json

    from simulator.cli import main

    config = tmp_path / "strata.toml"
    config.write_text(
        '[trial]\nn_total = 300\nrandomisation = "blocks"\n\n[strata.liver]\nshare = [0.6, 0.4]\n'
        'hazard_multiplier = [1.0, 2.0]\n\n[endpoints.os]\nkind = "survival"\nstratified = true\n'
        "truth = { control = { median = 12.0 }, hazard_ratio = 0.7 }\naccrual = { duration = 24.0 }\n\n"
        "[design]\nevents = 150\n\n[simulation]\nn_sims = 500\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    reports = []
    for _ in range(2):
        assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
        reports.append(json.loads((out / "report.json").read_text(encoding="utf-8")))
    assert reports[0]["meta"]["resumed_scenarios"] == [] and reports[1]["meta"]["resumed_scenarios"] == [0]
    assert reports[0]["scenarios"][0]["endpoints"]["os"]["strata"] == reports[1]["scenarios"][0]["endpoints"]["os"]["strata"]


@pytest.mark.parametrize("stratified", [True, False])
def test_survival_tables_name_the_analysis_and_what_schoenfeld_approximates(stratified):
    # A review found Schoenfeld's power (which approximates the stratified log-rank) beside the unstratified
    # log-rank's simulated power with nothing said under the headline table.
    from simulator.report.tables import endpoint_table

    raw = _survival()
    raw["endpoints"]["os"]["stratified"] = stratified
    report = p3.Trial.from_dict(raw).simulate(n_sims=200, seed=4).to_dict()
    block = report["scenarios"][0]["endpoints"]["os"]
    table = endpoint_table(report, 0)
    test = table.rows[0][table.headers.index("test")].text
    assert test == ("stratified_logrank (stratified)" if stratified else "logrank (unstratified)")
    assert block["strata"]["analysis_test"] == ("stratified_logrank" if stratified else "logrank")
    assert block["strata"]["other_test"] == ("logrank" if stratified else "stratified_logrank")
    note = block["analytic"]["note"]
    assert note.count("with strata, Schoenfeld's power does not model the strata") == 1  # once, not twice
    assert ("not the unstratified log-rank's that decides here" in note) == (not stratified)


def test_analysis_times_under_proportional_hazards_model_the_strata_mixture():
    # A review found the analytic time of the final look 42.9 months where the trials took 26.0: it used the
    # first stratum's hazard. Reference: the expected events of the mixture written out here, uniform accrual
    # over A months, no dropout: E(T) = N sum_s share_s sum_arm w_arm (1 / A) int_0^min(T, A) 1 - exp(-h (T - u)) du.
    from scipy import optimize

    raw = _survival(design__events=300)
    trial = p3.Trial.from_dict(raw)
    block = trial.design().scenarios[0]["endpoints"]["os"]
    base = math.log(2.0) / 12.0
    cells = [(a * b, m1 * m2) for a, m1 in zip([0.6, 0.4], [1.0, 2.5]) for b, m2 in zip([0.5, 0.5], [1.0, 1.6])]
    accrual, n_total, ratio = 24.0, 500, 0.75

    def events(t):
        total = 0.0
        for share, multiplier in cells:
            for weight, h in ((0.5, base * multiplier), (0.5, base * multiplier * ratio)):
                s = min(t, accrual)
                # int_0^s 1 - exp(-h (t - u)) du = s - (exp(-h (t - s)) - exp(-h t)) / h
                total += share * weight * (s - (math.exp(-h * (t - s)) - math.exp(-h * t)) / h) / accrual
        return n_total * total

    expected = optimize.brentq(lambda t: events(t) - 300, 1e-6, 500, xtol=1e-12)
    # The model integrates the at-risk curves numerically (simulator.design.nph): agreement to 1e-5, relative.
    assert block["analysis_times_at_n_total"][0] == pytest.approx(expected, rel=1e-5)
    # And the simulated trials' mean analysis time is there too (the analytic time is where the expected events
    # reach 300, not the mean time of the 300th event: they differ by a small fraction of a month).
    simulated = trial.simulate(n_sims=1000, seed=9).to_dict()["scenarios"][0]["endpoints"]["os"]
    assert abs(simulated["expected_look_times"][0] - expected) < 0.25


def _mixture_fraction(t, accrual, ratio=0.75, start=0.0):
    """P(event by calendar t) of a subject of SURVIVAL's strata, uniform entry over [start, start + accrual], 1:1:
    sum_s share_s sum_arm 1/2 (1 / A) int_start^min(t, start + A) 1 - exp(-h (t - u)) du, written out."""
    base = math.log(2.0) / 12.0
    cells = [(a * b, m1 * m2) for a, m1 in zip([0.6, 0.4], [1.0, 2.5]) for b, m2 in zip([0.5, 0.5], [1.0, 1.6])]
    total = 0.0
    for share, multiplier in cells:
        for h in (base * multiplier, base * multiplier * ratio):
            s = min(max(t - start, 0.0), accrual)
            total += share * 0.5 * (s - (math.exp(-h * (t - start - s)) - math.exp(-h * (t - start))) / h) / accrual
    return total


def test_subjects_for_design_power_model_the_strata_mixture():
    # The subjects were the first stratum's (its hazard alone), far more than the strata need. rpact's rule:
    # Schoenfeld's events over the probability of an event by the end of accrual plus the minimum follow-up.
    raw = _survival(design__events=300)
    raw["endpoints"]["os"]["follow_up"] = {"minimum": 6.0}
    block = p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["os"]
    z = 1.959963984540054 + 0.8416212335729143
    events = 4 * z * z / math.log(0.75) ** 2
    assert block["events"] == pytest.approx(events, rel=1e-9)
    assert block["subjects"] == pytest.approx(events / _mixture_fraction(30.0, 24.0), rel=1e-9)


def test_events_derived_from_the_subjects_model_the_strata_mixture():
    # Accrual as a rate (20 a month) and no design.events: the events are those trial.n_total subjects are
    # expected to have by the end of accrual (n / 20 months) plus the minimum follow-up (6), mixture-wide.
    raw = _survival()
    del raw["design"]["events"]
    raw["endpoints"]["os"]["accrual"] = {"rate": 20.0}
    raw["endpoints"]["os"]["follow_up"] = {"minimum": 6.0}
    result = p3.Trial.from_dict(raw).simulate(n_sims=400, seed=5).to_dict()
    expected = 500 * _mixture_fraction(25.0 + 6.0, 25.0)
    assert result["meta"]["events"] == math.ceil(expected)
    assert result["scenarios"][0]["endpoints"]["os"]["events"] == math.ceil(expected)


def test_calendar_looks_expected_events_model_the_strata_mixture():
    # Looks at 15 and 30 months: the events expected there are the mixture's, and the simulated trials' mean
    # events at each look agree (4 MCSE; the analytic value is the exact expectation of the events by then).
    raw = _survival(design__events=400, design__look_times=[15.0, 30.0])
    trial = p3.Trial.from_dict(raw)
    block = trial.design().scenarios[0]["endpoints"]["os"]
    expected = [500 * _mixture_fraction(t, 24.0) for t in (15.0, 30.0)]
    assert block["expected_events_per_look"] == pytest.approx(expected, rel=1e-9)
    simulated = trial.simulate(n_sims=1000, seed=8).to_dict()["scenarios"][0]["endpoints"]["os"]
    for mean, se, value in zip(simulated["expected_look_events"], simulated["expected_look_events_mcse"], expected):
        assert abs(mean - value) < 4 * se


def test_a_cap_after_the_mixtures_first_look_is_accepted():
    # The first look's 150 events are expected at 15.4 months in the strata's mixture (19.7 in the first
    # stratum alone): a cap at 18 months is after it, and was refused.
    raw = _survival(design__events=300, design__looks=2, design__max_duration=18.0)
    block = p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["os"]
    assert block["analysis_times_at_n_total"][0] < 18.0
    with pytest.raises(p3.InputError, match=r"`design\.max_duration`: 14 months is before the first look"):
        p3.Trial.from_dict(_survival(design__events=300, design__looks=2, design__max_duration=14.0)).design()
