"""The distribution of the final size in re-estimation designs (docs/adaptive.md, "Report keys").

The binary two-stage case is checked against its exact distribution,
enumerated here over the interim counts: each pair ``(x_c, x_e)`` has its
binomial probability, and the plan's interim tables (the outcome at the
interim, the re-estimated second stage per arm) say whether the trial stops
there (size: stage 1) or goes on (stage 1 plus that stage). The
simulated histogram is compared with it by a chi-square test, and each
reported quantile and the probability above the planned size within 4 MCSE.

Why 4 MCSE: a correct implementation misses a 4-sigma band with
probability 6e-5 per check (normal tails), under 1e-3 over this file's
checks, whatever the seed; a wrong definition (the quantile off by one
order statistic across an atom, ``>=`` for ``>`` at the planned size)
moves the empirical distribution function by far more than 4 sigma, which
is 0.004 at most with 2 * 10^5 trials.

Survival (events at the stopping analysis) is checked against the
per-trial events of the same chunk, and every design against chunking
(jobs = 1 and 2) and resume from checkpoints.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simulator import Trial
from simulator.config.validate import validate
from simulator.endpoints import get_kind
from simulator.endpoints.survival import SurvivalPlan
from simulator.runner.progress import ProgressHook
from simulator.stats.decision import CONTINUE

RATES_ADAPTIVE = Path(__file__).resolve().parent.parent / "configs" / "rates_adaptive.toml"
N_EXACT = 200_000
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
NEW_KEYS = ("final_size_quantiles", "final_size_min", "final_size_max", "final_size_above_planned",
            "final_size_above_planned_mcse", "final_size_counts")
PP_RULE = {"futility": {"on": "predictive_probability", "below": 0.05}}


def rates_raw(interim: dict | None = None, adaptation: dict | None = None) -> dict:
    raw = tomllib.loads(RATES_ADAPTIVE.read_text(encoding="utf-8"))
    if interim is not None:
        raw["interim"] = interim
    raw["adaptation"].update(adaptation or {})
    return raw


def plan_of(raw: dict):
    config = validate(raw)
    endpoint = config.endpoints[0]
    return get_kind(endpoint.kind).plan(config, endpoint)


def exact_size_pmf(plan, p_c: float, p_e: float) -> np.ndarray:
    """P(final size = s), s = 0, 1, ..., by enumeration over the interim counts and the plan's tables."""
    rules, looks = plan.rules, plan.looks
    n_c, n_e = int(looks.evaluable_c[0]), int(looks.evaluable_e[0])
    first = int(looks.enrolled_total[0])
    probability = np.outer(stats.binom.pmf(np.arange(n_c + 1), n_c, p_c),
                           stats.binom.pmf(np.arange(n_e + 1), n_e, p_e))
    outcome = rules.outcome[0, : n_c + 1, : n_e + 1]
    # Stopped at the interim (efficacy, a futility bound or the futility rule): stage 1's patients only.
    size = np.where(outcome == CONTINUE, first + rules.stage_c + rules.stage_e, first)
    return np.bincount(size.ravel(), weights=probability.ravel())


def grouped_chi_square(observed: np.ndarray, pmf: np.ndarray, n: int, least: float = 50.0) -> tuple[float, int, float]:
    """Chi-square of ``observed`` against ``n * pmf`` over adjacent sizes grouped to an expected count >= ``least``.

    Returns ``(statistic, degrees of freedom, p-value)``.
    """
    sizes = np.flatnonzero(pmf > 0)
    groups, expected, count = [], 0.0, 0
    for s in sizes:
        expected += n * pmf[s]
        count += int(observed[s]) if s < observed.size else 0
        if expected >= least:
            groups.append((count, expected))
            expected, count = 0.0, 0
    if expected > 0:  # the tail short of `least` joins the last group
        last = groups.pop()
        groups.append((last[0] + count, last[1] + expected))
    o = np.array([g[0] for g in groups], dtype=float)
    e = np.array([g[1] for g in groups])
    statistic = float(((o - e) ** 2 / e).sum())
    df = len(groups) - 1
    return statistic, df, float(stats.chi2.sf(statistic, df))


CASES = {
    # rpact's reference design (configs/rates_adaptive.toml) under the truth 0.30 vs 0.45: the quantiles
    # fall on the atoms at 150 (efficacy at the interim), 300 (the planned stage) and 750 (the maximum).
    "truth": (None, None, "power", (0.30, 0.45), 41),
    # With a predictive-probability futility rule, under H0 (0.30 vs 0.30): trials stopped by the rule too.
    "h0-rule": (PP_RULE, None, "type1", (0.30, 0.30), 42),
    # Aimed at the posterior mean and allowed to shrink the stage (50 to 600): the median and the third
    # quartile fall among the re-estimated sizes, where each size has under 1 % of the trials.
    "posterior-mean": (None, {"effect": "posterior_mean", "min_per_stage": [150, 50]}, "power", (0.30, 0.45), 43),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def exact_case(request):
    interim, adaptation, stream, rates, seed = CASES[request.param]
    plan = plan_of(rates_raw(interim, adaptation))
    assert (plan.truth if stream == "power" else plan.null_truth()) == pytest.approx(rates)
    _, counts = plan.run_chunk(np.random.default_rng(seed), N_EXACT, stream)
    return request.param, plan, counts, exact_size_pmf(plan, *rates)


def test_histogram_matches_the_exact_distribution(exact_case):
    name, plan, counts, pmf = exact_case
    hist = counts["final_size_hist"]
    assert hist.dtype == np.int64 and hist.sum() == N_EXACT
    # Its length is the plan's largest size + 1: stage 1 (150) plus max_per_stage[2] (600).
    assert hist.size == 150 + 600 + 1 == plan.rules.max_size + 1
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    support = np.zeros(hist.size, dtype=bool)
    support[: pmf.size] = pmf > 0
    assert not hist[~support].any(), "a simulated size the exact distribution does not have"
    statistic, df, p_value = grouped_chi_square(hist, pmf, N_EXACT)
    print(f"{name}: chi-square {statistic:.1f} on {df} df, p = {p_value:.3f}")
    assert df >= 20  # the grouping keeps the distribution's shape (sizes 150, 300..750)
    # A correct sampler falls below 1e-3 for one seed in a thousand (the seeds are fixed), while a size's
    # probability off by 0.001 adds about n 0.001^2 / p_s to the statistic: 20 for a cell of p_s = 0.01.
    assert p_value > 1e-3
    # The per-trial quantity expected_n averages: the histogram's mean is it, exactly.
    assert int((np.arange(hist.size) * hist).sum()) == int(counts["enrolled_sum"][0])


def test_quantiles_and_above_planned_within_4_mcse_of_the_exact_ones(exact_case):
    name, plan, counts, pmf = exact_case
    report = plan.rules.report(counts, N_EXACT)
    n = N_EXACT
    cdf = np.cumsum(pmf)
    rows = report["final_size_quantiles"]
    assert [row["p"] for row in rows] == list(LEVELS)
    for row in rows:
        p, q = row["p"], row["size"]
        exact = int(np.searchsorted(cdf, p - 1e-12))  # the smallest s with F(s) >= p
        sigma = math.sqrt(p * (1 - p) / n)
        print(f"{name}: Q({p}) simulated {q} [{row['lower']}, {row['upper']}], exact {exact}")
        # The simulated quantile is where the empirical F crosses p: the exact F there is within 4 MCSE of p.
        assert cdf[q] >= p - 4 * sigma and (q == 0 or cdf[q - 1] <= p + 4 * sigma)
        assert row["lower"] <= q <= row["upper"]
    planned = int(plan.looks.enrolled_total[-1])
    assert planned == 300 == plan.rules.planned_size
    above = float(pmf[planned + 1:].sum())
    print(f"{name}: P(size > {planned}) simulated {report['final_size_above_planned']:.4f}, exact {above:.4f}")
    assert report["final_size_above_planned"] == pytest.approx(above, abs=4 * math.sqrt(above * (1 - above) / n))
    # Two stages: above the planned maximum is exactly a larger second stage.
    assert report["final_size_above_planned"] == report["increase"]
    support = np.flatnonzero(pmf > 0)
    assert report["final_size_min"] == support[0] == 150  # trials stop at the interim in both cases
    assert support[0] <= report["final_size_max"] <= support[-1]


def test_quantiles_are_the_order_statistics_of_the_sample(exact_case):
    # The sample the histogram stands for, sorted: Q(p) = X_(ceil(n p)) = numpy's inverted_cdf quantile, and
    # the interval's ends are the order statistics at n p -+ 1.96 sqrt(n p (1 - p)), clipped to [1, n].
    _, plan, counts, _ = exact_case
    hist = counts["final_size_hist"]
    sample = np.repeat(np.arange(hist.size), hist)
    n = sample.size
    report = plan.rules.report(counts, n)
    for row in report["final_size_quantiles"]:
        p = row["p"]
        assert row["size"] == np.quantile(sample, p, method="inverted_cdf")
        half = 1.959963984540054 * math.sqrt(n * p * (1 - p))
        assert row["lower"] == sample[min(n, max(1, math.floor(n * p - half))) - 1]
        assert row["upper"] == sample[min(n, max(1, math.ceil(n * p + half))) - 1]
    assert (report["final_size_min"], report["final_size_max"]) == (sample[0], sample[-1])
    sizes = report["final_size_counts"]["sizes"]
    assert report["final_size_counts"]["trials"] == hist[sizes].tolist() and sum(hist[sizes]) == n


def test_small_samples_clip_the_ranks():
    from simulator.endpoints.adaptive import size_distribution

    # One trial: every quantile and both ends of every interval are its size.
    out = size_distribution(np.array([0, 0, 0, 1]), 1, 2)
    assert {(r["size"], r["lower"], r["upper"]) for r in out["final_size_quantiles"]} == {(3, 3, 3)}
    assert out["final_size_above_planned"] == 1.0 and out["final_size_above_planned_mcse"] == 0.0
    # 20 trials: Q(0.05) = X_(1) and Q(0.95) = X_(19) (n p = 19 exactly, in exact arithmetic).
    out = size_distribution(np.bincount(np.arange(1, 21)), 20, 10)
    assert [r["size"] for r in out["final_size_quantiles"]] == [1, 5, 10, 15, 19]


# ---------------------------------------------------------------- survival: events at the stopping analysis
def survival_raw(n_sims: int = 6_000) -> dict:
    return {
        "trial": {"n_total": 300},
        "endpoints": {"os": {"kind": "survival", "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.7},
                             "prior": {"hazard_ratio": {"lower": 0.45, "upper": 1.0}},
                             "accrual": {"duration": 24.0}}},
        "design": {"looks": 2, "events": 150},
        "adaptation": {"conditional_power": 0.8, "min_per_stage": [75, 30], "max_per_stage": [75, 200]},
        "interim": PP_RULE,
        "simulation": {"n_sims": n_sims, "null": True, "seed": 3, "jobs": 1},
    }


@pytest.mark.parametrize("stream", ["power", "assurance", "type1"])
def test_survival_histogram_is_the_per_trial_events(monkeypatch, stream):
    plan = plan_of(survival_raw())
    seen = []
    chunk_counts = SurvivalPlan.chunk_counts

    def spy(self, trials, *args, **kwargs):
        seen.append(np.array(trials.events))
        return chunk_counts(self, trials, *args, **kwargs)

    monkeypatch.setattr(SurvivalPlan, "chunk_counts", spy)
    n = 6_000
    _, counts = plan.run_chunk(np.random.default_rng(8), n, stream)
    (events,) = seen
    hist = counts["final_size_hist"]
    assert hist.size == 75 + 200 + 1 == plan.rules.max_events + 1
    np.testing.assert_array_equal(hist, np.bincount(events, minlength=hist.size))
    report = plan.rules.report(counts, n)
    # Its mean is expected_events, exactly (the same integer sum over the same n).
    assert report["expected_events"] == float((np.arange(hist.size) * hist).sum()) / n
    for row in report["final_size_quantiles"]:
        assert row["size"] == np.quantile(events, row["p"], method="inverted_cdf")
        assert row["lower"] <= row["size"] <= row["upper"]
    assert (report["final_size_min"], report["final_size_max"]) == (events.min(), events.max())
    assert report["final_size_above_planned"] == np.mean(events > 150)
    # The rule stops trials at the interim (75 events) and the re-estimation reaches both ends of its grid.
    assert report["final_size_min"] == 75 and report["final_size_max"] == 275


# ---------------------------------------------------------------- chunking, resume, designs without re-estimation
def k_stage_raw() -> dict:
    raw = rates_raw()
    raw["design"]["looks"] = 3
    raw["adaptation"].update(min_per_stage=[100, 100, 100], max_per_stage=[100, 300, 300])
    return raw


@pytest.mark.parametrize("kind, n_sims", [("binary", 140_000), ("k_stage", 140_000), ("survival", 10_000)])
def test_results_do_not_depend_on_jobs(kind, n_sims):
    # Several chunks per stream (65536 binary trials, 4096 survival ones), added in chunk order.
    raw = {"binary": rates_raw, "k_stage": k_stage_raw, "survival": survival_raw}[kind]()
    raw["simulation"].update(n_sims=n_sims, seed=19, null=True)
    one = Trial.from_dict(raw).simulate(jobs=1).to_dict()["scenarios"]
    two = Trial.from_dict(raw).simulate(jobs=2).to_dict()["scenarios"]
    assert one == two
    ((name, block),) = one[0]["endpoints"].items()
    for stream in ("power", "assurance", "type1"):
        interim = block["interim"][stream]
        counts = interim["final_size_counts"]
        assert sum(counts["trials"]) == n_sims
        mean = sum(s * t for s, t in zip(counts["sizes"], counts["trials"])) / n_sims
        assert mean == interim["expected_events" if kind == "survival" else "expected_n"]
        if kind == "k_stage":
            # Stage 1 (100) plus at most 300 per later stage.
            assert 100 <= interim["final_size_min"] and interim["final_size_max"] <= 700


class Tally(ProgressHook):
    """Scenarios taken from checkpoints and computed."""

    def __init__(self):
        self.resumed, self.computed = [], []

    def scenario_done(self, index, resumed):
        (self.resumed if resumed else self.computed).append(index)


@pytest.mark.parametrize("kind", ["binary", "survival"])
def test_resume_from_checkpoints_keeps_the_histograms(kind, tmp_path):
    # The counts key ends in _hist: the checkpoint's checks take it as per-trial counts (each cell <= n_sims),
    # and the resumed report is the computed one.
    raw = rates_raw(PP_RULE) if kind == "binary" else survival_raw()
    raw["simulation"].update(n_sims=5_000, seed=4, null=True)
    trial = Trial.from_dict(raw)
    first = trial.simulate(checkpoints=tmp_path / "checkpoints", progress=Tally())
    again = Tally()
    resumed = trial.simulate(checkpoints=tmp_path / "checkpoints", progress=again)
    assert again.resumed == [0] and again.computed == []
    assert resumed.to_dict()["scenarios"] == first.to_dict()["scenarios"]
    block = resumed.to_dict()["scenarios"][0]["endpoints"]
    assert all("final_size_quantiles" in e["interim"]["power"] for e in block.values())


def test_designs_without_reestimation_have_no_size_keys(tmp_path):
    group_sequential = rates_raw(PP_RULE)
    del group_sequential["adaptation"]
    survival = survival_raw(2_000)
    del survival["adaptation"]
    survival["design"]["looks"] = [0.5, 1.0]
    for raw in (group_sequential, survival):
        raw["simulation"].update(n_sims=2_000, null=True)
        plan = plan_of(raw)
        _, counts = plan.run_chunk(np.random.default_rng(1), 500, "power")
        assert "final_size_hist" not in counts
        result = Trial.from_dict(raw).simulate()
        ((name, block),) = result.to_dict()["scenarios"][0]["endpoints"].items()
        for stream in ("power", "assurance", "type1"):
            assert not [key for key in block["interim"][stream] if key.startswith("final_size")]
        folder = tmp_path / name
        result.save(folder, plots=False)
        assert "final patients" not in (folder / "report.md").read_text(encoding="utf-8")
        assert "final events" not in (folder / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["binary", "survival"])
def test_reports_show_the_final_size(kind, tmp_path):
    raw = rates_raw(PP_RULE) if kind == "binary" else survival_raw(3_000)
    raw["simulation"].update(n_sims=3_000, null=True)
    result = Trial.from_dict(raw).simulate()
    result.save(tmp_path, plots=False)  # report.json is checked against docs/report.schema.json (conftest)
    ((name, block),) = result.to_dict()["scenarios"][0]["endpoints"].items()
    unit = "patients" if kind == "binary" else "events"
    header = f"final {unit}: median [Q1, Q3]; 95th percentile; max"
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert header in markdown and header in html
    for stream in ("power", "assurance", "type1"):
        interim = block["interim"][stream]
        assert set(NEW_KEYS) <= set(interim)
        q = {row["p"]: row["size"] for row in interim["final_size_quantiles"]}
        text = f"{q[0.5]} [{q[0.25]}, {q[0.75]}]; {q[0.95]}; {interim['final_size_max']}"
        assert f"| {text} |" in markdown and f">{text}</td>" in html
