"""Survival report extras: simulated Kaplan-Meier bands and the analysis-time histogram.

Stochastic checks use fixed seeds and tolerances in Monte Carlo standard
errors (MCSE); 4 MCSE makes a false alarm about 1 in 16 000 per check.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from simulator.config.load import load
from simulator.endpoints import km
from simulator.endpoints.survival import SurvivalPlan
from simulator.endpoints.survival_figures import survival_curve
from simulator.engine.survival import simulate_trials
from simulator.runner.simulate import StreamCounts, build_plans

ROOT = Path(__file__).resolve().parents[1]
CAIRO6_OS = ROOT / "configs" / "cairo6_os.toml"

PIECEWISE = """
[trial]
name = "piecewise"
n_total = 400
allocation = [1, 1]
[endpoints.os]
kind = "survival"
[endpoints.os.truth]
control = { times = [0.0, 6.0, 18.0], hazards = [0.06, 0.03, 0.015] }
hazard_ratio = 0.7
[endpoints.os.accrual]
times = [0.0, 6.0, 30.0]
rates = [1.0, 3.0]
[endpoints.os.dropout]
probability = { control = 0.10, experimental = 0.05 }
at = 12.0
[design]
events = 250
[simulation]
n_sims = 1000
seed = 11
jobs = 1
"""


def _plan(path, overrides=()) -> SurvivalPlan:
    _, scenarios, _ = load(path, list(overrides))
    plan = build_plans(scenarios[0]).plans[0]
    assert isinstance(plan, SurvivalPlan)
    return plan


@pytest.fixture(scope="module")
def cairo6_os() -> SurvivalPlan:
    return _plan(CAIRO6_OS)


@pytest.fixture(scope="module")
def piecewise(tmp_path_factory) -> SurvivalPlan:
    path = tmp_path_factory.mktemp("km") / "piecewise.toml"
    path.write_text(PIECEWISE, encoding="utf-8")
    return _plan(path)


# ---------------------------------------------------------------- Kaplan-Meier
def km_plain(time, event, t):
    """Textbook product-limit estimate at ``t`` (events before censorings at ties)."""
    s = 1.0
    for u in np.unique(time[event & (time <= t)]):
        s *= 1.0 - ((time == u) & event).sum() / (time >= u).sum()
    return s


def test_kaplan_meier_matches_the_textbook_formula():
    rng = np.random.default_rng(5)
    time = np.round(rng.exponential(10.0, size=(3, 40)), 0)  # rounded: many ties
    event = rng.random((3, 40)) < 0.7
    time[0, :5] = np.inf  # left out
    grid = np.array([0.0, 1.0, 2.5, 5.0, 10.0, 20.0, 100.0])
    estimate, at_risk = km.kaplan_meier(time, event, grid)
    for r in range(3):
        keep = np.isfinite(time[r])
        expected = [km_plain(time[r][keep], event[r][keep], t) for t in grid]
        np.testing.assert_allclose(estimate[r], expected, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(at_risk[r], [(time[r][keep] >= t).sum() for t in grid])


# ---------------------------------------------------------------- the bands
def _median_check(plan, times, replicates, seed):
    bands = km.km_bands(plan, replicates=replicates, times=times, rng=np.random.default_rng(seed))
    # The same trials again, for the numbers at risk.
    endpoint, control = plan.endpoint, plan.endpoint.truth.control
    time, event, group, _ = km.final_analysis_data(
        np.random.default_rng(seed), plan.n_arms, accrual=(endpoint.accrual.edges, endpoint.accrual.rates),
        control=(control.times, control.hazards), hazard_ratio=plan.truth, dropout=endpoint.dropout,
        events=int(plan.looks.events[-1]), replicates=replicates,
    )
    for arm, (role, multiplier) in enumerate((("control", 1.0), ("experimental", plan.truth))):
        truth = survival_curve(np.asarray(times), control.times, control.hazards, multiplier)
        median = np.asarray(bands[role]["median"])
        at_risk = km.kaplan_meier(time[:, group == arm], event[:, group == arm], times)[1]
        # The tolerance:
        # (a) the Monte Carlo error of the sample median of `replicates`
        #     values, sqrt(pi / 2) sd / sqrt(R), taken 4 times, with the sd of
        #     one trial's KM read off the 95 % band;
        # (b) half a lattice step of one trial's KM, S(t) / (n at risk), with
        #     n at risk its 1st percentile over the trials: KM values are
        #     discrete, so their median need not fall on their mean.
        # KM is otherwise unbiased up to O(S(t) P(nobody at risk)), which is
        # nil at these times (dozens at risk in every trial).
        spread = (np.asarray(bands[role]["upper"]) - np.asarray(bands[role]["lower"])) / (2 * 1.96)
        few = np.quantile(at_risk, 0.01, axis=0)
        assert np.all(few >= 20)
        tolerance = 4 * math.sqrt(math.pi / 2) * spread / math.sqrt(replicates) + truth / few / 2
        assert np.all(np.abs(median - truth) <= tolerance), (role, median, truth, tolerance)
    return bands


def test_median_km_follows_the_configured_survival(cairo6_os):
    _median_check(cairo6_os, [3.0, 6.0, 12.0, 24.0], replicates=4000, seed=1)


def test_median_km_follows_piecewise_survival_with_dropout_and_uneven_accrual(piecewise):
    # Times on both sides of the hazard changes at 6 and 18.
    _median_check(piecewise, [3.0, 6.0, 9.0, 18.0, 24.0], replicates=4000, seed=2)


def test_final_analysis_trials_are_the_trial_kernels_trials(piecewise):
    """The bands' trials are drawn by the engine's kernels: same generator, same final analyses."""
    plan, endpoint = piecewise, piecewise.endpoint
    control = endpoint.truth.control
    common = dict(accrual=(endpoint.accrual.edges, endpoint.accrual.rates), control=(control.times, control.hazards),
                  hazard_ratio=plan.truth, dropout=endpoint.dropout)
    events = int(plan.looks.events[-1])
    time, event, group, cut = km.final_analysis_data(np.random.default_rng(3), plan.n_arms, events=events,
                                                     replicates=500, **common)
    kernel = simulate_trials(500, *plan.n_arms, look_events=[events], efficacy=[np.inf],
                             rng=np.random.default_rng(3), **common)
    np.testing.assert_array_equal(cut, kernel.look_times[:, -1])
    np.testing.assert_array_equal(event.sum(axis=1), kernel.events)
    np.testing.assert_array_equal(np.isfinite(time).sum(axis=1), kernel.enrolled)
    # The log-rank z of each sample at its cut is the kernel's.
    from simulator.engine.survival import logrank

    for r in range(20):
        seen = np.isfinite(time[r])
        assert logrank(time[r][seen], event[r][seen], group[seen])[0] == pytest.approx(kernel.z[r], abs=1e-12)


def test_band_shape_grid_and_coverage(cairo6_os):
    bands = cairo6_os.km_bands()
    times = np.asarray(bands["times"])
    assert bands["level"] == 0.95 and bands["replicates"] == km.KM_REPLICATES and bands["analysis"] == "final"
    assert times[0] == 0 and np.all(np.diff(times) > 0) and 50 <= times.size <= 101
    # The grid ends before the typical final analysis and covers the 3-year landmark.
    assert 36.0 <= times[-1] < bands["cut_time_median"]
    control = cairo6_os.endpoint.truth.control
    for role, multiplier in (("control", 1.0), ("experimental", cairo6_os.truth)):
        band = {key: np.asarray(values) for key, values in bands[role].items()}
        assert all(v.shape == times.shape for v in band.values())
        assert np.all(band["lower"] <= band["median"]) and np.all(band["median"] <= band["upper"])
        assert band["lower"][0] == band["upper"][0] == 1.0
        assert np.all(np.diff(band["median"]) <= 1e-12)
        truth = survival_curve(times, control.times, control.hazards, multiplier)
        assert np.all((band["lower"] <= truth) & (truth <= band["upper"]))


def test_bands_depend_only_on_config_and_seed(cairo6_os):
    first = cairo6_os.km_bands()
    assert cairo6_os.km_bands() == first
    # Not on the number of simulated trials, nor on jobs.
    assert _plan(CAIRO6_OS, ["simulation.n_sims=123", "simulation.jobs=2"]).km_bands() == first
    assert _plan(CAIRO6_OS, ["simulation.seed=7"]).km_bands() != first
    assert _plan(CAIRO6_OS, ["endpoints.os.truth.hazard_ratio=0.65"]).km_bands() != first


def test_bands_do_not_depend_on_the_batch_size(cairo6_os, monkeypatch):
    # Memory is bounded by simulating the replicates in batches of
    # KM_BATCH_CELLS patient cells; the trials are drawn one after another
    # from one generator, so any batch size gives the same bands.
    whole = cairo6_os.km_bands()
    n = sum(cairo6_os.n_arms)
    for cells in (n, 7 * n + 3):  # one trial per batch; batches that do not divide the replicates
        monkeypatch.setattr(km, "KM_BATCH_CELLS", cells)
        assert cairo6_os.km_bands() == whole, cells


def test_no_bands_without_a_fixed_hazard_ratio(cairo6_os):
    truth = dataclasses.replace(cairo6_os.endpoint.truth, hazard_ratio=None)
    plan = dataclasses.replace(cairo6_os, endpoint=dataclasses.replace(cairo6_os.endpoint, truth=truth))
    assert plan.km_bands() is None


# ---------------------------------------------------------------- analysis times
def test_analysis_time_edges(cairo6_os, piecewise):
    edges = cairo6_os.time_edges
    # CAIRO6: accrual 48, follow-up 36 = control median: 48 + 3 * 36 = 156 in steps of 2.
    assert edges[0] == 0 and edges[-1] == 156 and np.allclose(np.diff(edges), 2.0)
    assert piecewise.time_edges[-1] >= 30.0 and piecewise.time_edges.size <= 101
    assert km.nice_step(1.56) == 2.0 and km.nice_step(0.07) == 0.1 and km.nice_step(3.0) == 5.0 and km.nice_step(250) == 250


def test_look_time_counts_are_summable_and_exact(cairo6_os):
    times = np.array([[10.0, np.nan], [40.0, 61.0], [155.9, 170.0], [0.0, 2.0]])
    counts = cairo6_os.look_time_counts(times)
    assert counts["look_time_hist"].shape == (2, cairo6_os.time_edges.size - 1)
    assert counts["look_time_hist"].sum(axis=1).tolist() == [4, 2] and counts["look_time_over"].tolist() == [0, 1]
    # Chunks add up to the whole, whatever the split.
    rng = np.random.default_rng(8)
    total, parts = StreamCounts(), []
    for n in (300, 1, 699):
        success, chunk = cairo6_os.run_chunk(rng, n, "power")
        parts.append(chunk)
        total.add(StreamCounts(n_sims=n, endpoints={"os": chunk}))
    summed = total.endpoints["os"]
    np.testing.assert_array_equal(summed["look_time_hist"], sum(p["look_time_hist"] for p in parts))
    hist = summed["look_time_hist"]
    assert hist.sum(axis=1).tolist() == (summed["look_reached"] - summed["look_time_over"]).tolist()
    # The histogram's mean is the mean look time up to the bin width.
    centres = (cairo6_os.time_edges[1:] + cairo6_os.time_edges[:-1]) / 2
    means = summed["look_time_sum"] / summed["look_reached"]
    np.testing.assert_allclose((hist * centres).sum(axis=1) / hist.sum(axis=1), means, atol=1.0)


# ---------------------------------------------------------------- the report
def test_report_holds_both_and_the_html_plots_them(tmp_path):
    import matplotlib  # noqa: F401 - in the test extra: a missing one is a broken install, not a skip

    from _runs import run

    run(CAIRO6_OS, ["simulation.n_sims=400", "simulation.jobs=1"], out=tmp_path / "out", plots=True)
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    block = report["scenarios"][0]["endpoints"]["os"]
    hist = block["analysis_time_histogram"]
    assert len(hist["counts"]) == len(block["look_events"]) == len(hist["overflow"])
    assert all(len(c) == len(hist["edges"]) - 1 for c in hist["counts"])
    assert sum(hist["counts"][0]) + hist["overflow"][0] == 400  # every trial reaches the interim
    bands = block["km_bands"]
    assert set(bands) >= {"times", "level", "control", "experimental"}
    assert all(set(bands[role]) == {"lower", "median", "upper"} for role in ("control", "experimental"))
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    figure = page[page.index('id="plot-survival-os"'):]
    figure = figure[: figure.index("</figure>")]
    assert "<svg" in figure and "simulated KM 95% band" in figure and "could not be drawn" not in figure


@pytest.mark.parametrize("overrides, expected", [
    # A list of sizes: one survival model, one figure.
    (["trial.n_total=[300, 358]"], [("plot-survival-os", "Survival: os", 3)]),
    # A sweep over the hazard ratio beside a list of sizes: a figure per model, for the first scenario of each
    # (the third and fourth repeat the first two models at another size).
    (["trial.n_total=[300, 358]", 'sweep."endpoints.os.truth.hazard_ratio"=[0.6, 0.75]'],
     [("plot-survival-os", "Survival: os", 3), ("plot-survival-os.s1", "Survival: os, n_total = 300, hazard_ratio = 0.75", 4)]),
])
def test_one_survival_figure_per_survival_model(overrides, expected):
    # A review found that plot-survival showed the first scenario only, whatever the sweep.
    import simulator as p3
    from simulator.endpoints.survival_figures import figures

    trial = p3.Trial.from_toml(CAIRO6_OS, overrides)
    report = {"scenarios": [{"params": s.params, "n_total": s.config.trial.n_total} for s in trial.scenarios]}
    specs = [spec for spec in figures("os", report, trial.scenarios) if spec.id.startswith("plot-survival")]
    # (id, title, number of builder arguments: the later figures name their scenario, 1)
    assert [(spec.id, spec.title, len(spec.args)) for spec in specs] == expected
    assert all(spec.args[3] == 1 for spec in specs[1:])


@pytest.mark.parametrize("log_axis", [True, False])
def test_true_effect_areas_are_shares_on_the_drawn_axis(log_axis):
    # A review: on the hazard ratio's log axis the bars were densities per unit of HR, so the green area read
    # 0.755 for an assurance of 0.697. Per unit of log HR, the area on the drawn axis is each part's share.
    from matplotlib.patches import StepPatch

    from simulator.figures import true_effect_figure

    edges = np.exp(np.linspace(np.log(0.3), np.log(1.6), 41)) if log_axis else np.linspace(-0.4, 0.6, 41)
    rng = np.random.default_rng(3)
    success = rng.integers(0, 200, 40)
    failure = rng.integers(0, 200, 40)
    report = {"scenarios": [{"params": {}, "n_total": 300, "endpoints": {"os": {
        "assurance": float(success.sum() / (success.sum() + failure.sum())), "assurance_mcse": 0.00146,
        "true_effect_histogram": {"edges": edges.tolist(), "success": success.tolist(), "failure": failure.tolist(),
                                  "scale": "hazard ratio" if log_axis else "p_E - p_C"}}}}]}
    figure = true_effect_figure(report, "os", null=1.0 if log_axis else 0.0, log_axis=log_axis)
    ax = figure.axes[0]
    green, stacked = [p for p in ax.patches if isinstance(p, StepPatch)][:2]
    values, drawn, _ = green.get_data()
    widths = np.diff(np.log(drawn)) if log_axis else np.diff(drawn)
    assert float((values * widths).sum()) == pytest.approx(report["scenarios"][0]["endpoints"]["os"]["assurance"],
                                                           rel=1e-12)
    top, drawn, base = stacked.get_data()
    assert float(((top - base) * widths).sum() + (values * widths).sum()) == pytest.approx(1.0, rel=1e-12)
    assert "± 0.0015" in ax.get_title()  # the reports' rounding of the MCSE (it read ± 0.001)
