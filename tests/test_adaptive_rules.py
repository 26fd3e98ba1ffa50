"""Binary trials with interim rules: type I error under re-estimation, exact assurance, bad input."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import special, stats

from simulator import Trial
from simulator.design.boundaries import group_sequential_bounds
from simulator.errors import InputError


def endpoint(truth=(0.30, 0.45), prior=None) -> dict:
    table = {"kind": "binary", "test": "z_pooled", "truth": {"control": truth[0], "experimental": truth[1]}}
    if prior is not None:
        table["prior"] = prior
    return {"response": table}


def simulate(raw: dict) -> dict:
    return Trial.from_dict(raw).simulate().to_dict()["scenarios"][0]["endpoints"]["response"]


# ---------------------------------------------------------------- type I error with re-estimation
PRIOR = {"control": {"events": 12, "n": 40}, "experimental": {"events": 18, "n": 40}, "discount": 0.5}
RULES = {
    # rpact's rule: conditional power 0.8 at the observed effect, second stage 150..600.
    "observed": {"conditional_power": 0.8, "min_per_stage": [150, 150], "max_per_stage": [150, 600]},
    # Promising zone (Mehta and Pocock): increase only when CP at the planned size is in [0.3, 0.8].
    "promising_zone": {"conditional_power": 0.9, "min_per_stage": [150, 150], "max_per_stage": [150, 900],
                       "promising_zone": [0.3, 0.8]},
    # Aimed at the posterior mean of the phase 2 prior and the interim data; may also shrink the stage.
    "posterior_mean": {"conditional_power": 0.8, "min_per_stage": [150, 50], "max_per_stage": [150, 600],
                       "effect": "posterior_mean"},
}
N_TYPE1 = 200_000


@pytest.mark.parametrize("rule", sorted(RULES))
def test_type1_error_with_reestimation(rule):
    raw = {
        "trial": {"n_total": 300},
        "endpoints": endpoint(prior=PRIOR),
        "design": {"looks": 2, "efficacy": "asOF"},
        "adaptation": RULES[rule],
        "interim": {"futility": {"on": "predictive_probability", "below": 0.05}},
        "simulation": {"n_sims": N_TYPE1, "seed": 3, "null": True, "jobs": 1},
    }
    block = simulate(raw)
    alpha = 0.025
    # The combination test controls alpha whatever the re-estimation does (the stage-2 z is the normal
    # approximation of a binomial comparison, so "controls" holds to within the simulation's error).
    assert block["type1"] <= alpha + 4 * math.sqrt(alpha * (1 - alpha) / N_TYPE1)
    h0 = block["interim"]["type1"]
    # A non-binding futility rule can only lower it: with the rule never above without it, paired.
    assert block["type1"] <= h0["without_rule"]
    assert h0["without_rule"] <= alpha + 4 * math.sqrt(alpha * (1 - alpha) / N_TYPE1)
    assert h0["futility_rule_per_look"][0] > 0.05  # the rule acts under H0


# ---------------------------------------------------------------- exact assurance of a small design
SMALL_PRIOR = {"control": {"events": 6, "n": 20}, "experimental": {"events": 11, "n": 20}}
SMALL = {
    "trial": {"n_total": 40},
    "endpoints": endpoint(truth=(0.3, 0.55), prior=SMALL_PRIOR),
    "design": {"looks": 2, "efficacy": "asOF"},
    "adaptation": {"conditional_power": 0.8, "min_per_stage": [20, 10], "max_per_stage": [20, 60]},
    "interim": {"futility": {"on": "predictive_probability", "below": 0.1}},
    "simulation": {"n_sims": 400_000, "seed": 11, "jobs": 1},
}


def pooled_z(x_c, n_c, x_e, n_e):
    """The pooled z, written out with numpy (0 when the pooled variance is 0, as the data show no difference)."""
    x_c, x_e = np.asarray(x_c, dtype=float), np.asarray(x_e, dtype=float)
    pbar = (x_c + x_e) / (n_c + n_e)
    se = np.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_e))
    diff = x_e / n_e - x_c / n_c
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, diff / np.where(se > 0, se, 1.0), 0.0)


def exact_small_design():
    """Assurance with and without the futility rule, and the expected size, by enumeration.

    For every stage-1 outcome (10 patients per arm): the interim z, the
    spending bound (efficacy), the second stage's size (rpact's formula at the
    observed rates, 10..60, split ceiling(N/2) experimental), the predictive
    probability (scipy's beta-binomial posterior predictive summed over every
    second-stage outcome) and the rule's decision; the exact second-stage
    rejection probability given the true rates; then the Beta priors
    integrated out by Gauss-Jacobi quadrature, exact for these polynomials.
    """
    bounds = group_sequential_bounds([0.5, 1.0], alpha=0.025, sided=1, efficacy="asOF", efficacy_param=None,
                                     futility="none", futility_param=None, binding=False, power=0.8)
    c1, c2 = bounds.efficacy
    w = math.sqrt(0.5)
    a_c, b_c = 1 + 6, 1 + 14
    a_e, b_e = 1 + 11, 1 + 9
    n1 = 10
    z80 = stats.norm.ppf(0.8)
    # Quadrature in p for each arm's Beta prior: nodes and normalised weights.
    nodes, weights = {}, {}
    for arm, (a, b) in (("c", (a_c, b_c)), ("e", (a_e, b_e))):
        x, wt = special.roots_jacobi(40, b - 1, a - 1)  # weight (1 - x)^(b-1) (1 + x)^(a-1), p = (1 + x) / 2
        nodes[arm], weights[arm] = (1 + x) / 2, wt / wt.sum()
    reject_with = np.zeros((40, 40))
    reject_without = np.zeros((40, 40))
    size = np.zeros((40, 40))
    for x_c in range(n1 + 1):
        for x_e in range(n1 + 1):
            stage1 = np.outer(stats.binom.pmf(x_c, n1, nodes["c"]), stats.binom.pmf(x_e, n1, nodes["e"]))
            z1 = float(pooled_z(x_c, n1, x_e, n1))
            if z1 >= c1:
                reject_with += stage1
                reject_without += stage1
                size += 20 * stage1
                continue
            c = (c2 - w * z1) / w
            p_c, p_e = x_c / n1, x_e / n1
            pbar = (p_c + p_e) / 2
            effect = max(1e-12, p_e - p_c)
            numerator = max(0.0, c * math.sqrt(2 * pbar * (1 - pbar)) + z80 * math.sqrt(p_c * (1 - p_c) + p_e * (1 - p_e)))
            total = math.ceil(min(max(10.0, 2 * numerator**2 / effect**2), 60.0))
            m_e = math.ceil(total / 2)
            m_c = total - m_e
            y_c, y_e = np.arange(m_c + 1), np.arange(m_e + 1)
            rejects = pooled_z(y_c[:, None], m_c, y_e[None, :], m_e) >= c
            predictive = (stats.betabinom.pmf(y_c, m_c, a_c + x_c, b_c + n1 - x_c)[:, None]
                          * stats.betabinom.pmf(y_e, m_e, a_e + x_e, b_e + n1 - x_e)[None, :])
            pp = float((predictive * rejects).sum())
            second = stats.binom.pmf(y_c[None, :], m_c, nodes["c"][:, None]) @ rejects @ \
                stats.binom.pmf(y_e[:, None], m_e, nodes["e"][None, :])
            reject_without += stage1 * second
            if pp >= 0.1:
                reject_with += stage1 * second
                size += (20 + total) * stage1
            else:
                size += 20 * stage1
    integrate = lambda values: float(weights["c"] @ values @ weights["e"])  # noqa: E731
    return integrate(reject_with), integrate(reject_without), integrate(size)


def test_assurance_with_reestimation_and_predictive_futility_is_exact():
    assurance, without_rule, expected_n = exact_small_design()
    block = simulate(SMALL)
    n = SMALL["simulation"]["n_sims"]
    assert block["assurance"] == pytest.approx(assurance, abs=4 * math.sqrt(assurance * (1 - assurance) / n))
    assured = block["interim"]["assurance"]
    assert assured["without_rule"] == pytest.approx(without_rule, abs=4 * math.sqrt(without_rule * (1 - without_rule) / n))
    assert assured["expected_n"] == pytest.approx(expected_n, abs=4 * assured["expected_n_mcse"])
    # What the rule costs (success lost) and saves (patients), paired: the exact cost is the difference.
    cost = without_rule - assurance
    assert assured["rule_cost"] == pytest.approx(cost, abs=4 * math.sqrt(cost * (1 - cost) / n))
    assert assured["rule_saving_patients"] > 0


# ---------------------------------------------------------------- bad input
BASE = {
    "trial": {"n_total": 300},
    "endpoints": endpoint(),
    "design": {"looks": 2},
    "adaptation": {"conditional_power": 0.8, "min_per_stage": [150, 150], "max_per_stage": [150, 600]},
}


def with_changes(section: str, table) -> dict:
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    if table is None:
        raw.pop(section, None)
    else:
        raw[section] = table
    return raw


@pytest.mark.parametrize("section, table, message", [
    ("adaptation", {**BASE["adaptation"], "conditional_power": 1.2}, r"`adaptation.conditional_power`: must be a number in \(0, 1\)"),
    ("adaptation", {**BASE["adaptation"], "method": "fisher"}, r'`adaptation.method`: must be one of "inverse_normal"'),
    ("adaptation", {**BASE["adaptation"], "max_per_stage": [150, 100]}, r"`adaptation.max_per_stage`: must be >= min_per_stage"),
    ("adaptation", {**BASE["adaptation"], "min_per_stage": [150]}, r"`adaptation.min_per_stage`: must give one size per stage"),
    ("adaptation", {**BASE["adaptation"], "promising_zone": [0.8, 0.3]}, r"`adaptation.promising_zone`: must be \[low, high\] with low < high"),
    ("adaptation", {**BASE["adaptation"], "effect": "prior"}, r'`adaptation.effect`: must be one of "observed", "posterior_mean"'),
    ("adaptation", {**BASE["adaptation"], "conditonal_power": 0.8}, r"`adaptation.conditonal_power`: unknown key; did you mean `conditional_power`"),
    ("interim", {"futility": {"on": "pp", "below": 0.1}}, r"`interim.futility.on`: must be one of"),
    ("interim", {"futility": {"on": "conditional_power", "below": [0.1, 0.2]}}, r"`interim.futility.below`: must have one threshold per interim look \(1\)"),
    ("interim", {"futility": {"on": "conditional_power", "below": 1.5}}, r"`interim.futility.below`: must be a number in \[0, 1\]"),
    ("interim", {"futility": {"on": "predictive_probability", "below": 0.1, "effect": "design"}}, r"`interim.futility.effect`: applies to on = \"conditional_power\" only"),
    ("interim", {"stop": 1}, r"`interim.stop`: unknown key|`interim.futility`: is required"),
])
def test_bad_input_names_the_key(section, table, message):
    with pytest.raises(InputError, match=message):
        Trial.from_dict(with_changes(section, table)).scenarios()


def test_size_refuses_a_reestimation_design_naming_adaptation():
    # A review: the refusal named `--level` and `design.looks` at n_total = 2 (binary), or a size of the search
    # (survival), instead of the stage sizes that fix the design.
    raw = with_changes("adaptation", BASE["adaptation"])
    with pytest.raises(InputError, match=r"^config key `adaptation`: `size` cannot search a re-estimation design"):
        Trial.from_dict(raw).size(n_sims=1000)


def test_bad_input_against_the_design():
    one_look = with_changes("adaptation", BASE["adaptation"])
    one_look["design"] = {"looks": 1}
    with pytest.raises(InputError, match=r"`adaptation`: needs at least two stages"):
        Trial.from_dict(one_look).scenarios()
    three = with_changes("adaptation", BASE["adaptation"])
    three["design"] = {"looks": 3}
    with pytest.raises(InputError, match=r"`adaptation.min_per_stage`: must give one size per stage \(3\)"):
        Trial.from_dict(three).scenarios()
    three["adaptation"] = {**BASE["adaptation"], "min_per_stage": [100] * 3, "max_per_stage": [100, 300, 300]}
    three["interim"] = {"futility": {"on": "predictive_probability", "below": 0.1}}
    with pytest.raises(InputError, match=r"`interim`: cannot be combined with \[adaptation\] over more than two"):
        Trial.from_dict(three).scenarios()
    two_sided = with_changes("adaptation", BASE["adaptation"])
    two_sided["design"] = {"looks": 2, "sided": 2}
    with pytest.raises(InputError, match=r"`design.sided`: must be 1 with \[adaptation\]"):
        Trial.from_dict(two_sided).scenarios()
    fisher = with_changes("adaptation", BASE["adaptation"])
    fisher["endpoints"] = {"response": {**endpoint()["response"], "test": "fisher"}}
    with pytest.raises(InputError, match=r"`endpoints.response.test`: cannot be \"fisher\""):
        Trial.from_dict(fisher).scenarios()
    no_size = with_changes("adaptation", BASE["adaptation"])
    no_size["trial"] = {}
    with pytest.raises(InputError, match=r"`trial.n_total`: is required with \[adaptation\]"):
        Trial.from_dict(no_size).scenarios()
    missing = with_changes("adaptation", BASE["adaptation"])
    missing["trial"] = {"n_total": 300, "missing": 0.05}
    with pytest.raises(InputError, match=r"`trial.missing`: must be 0 with \[adaptation\]"):
        Trial.from_dict(missing).scenarios()
    survival = with_changes("adaptation", BASE["adaptation"])
    survival["endpoints"] = {"os": {"kind": "survival", "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.7},
                                    "accrual": {"duration": 24.0}}}
    survival["design"] = {"looks": 2, "events": 200}
    # For a survival endpoint the stage sizes are events: stage 1 is the interim's 100.
    with pytest.raises(InputError, match=r"`adaptation.min_per_stage`: must start with the first stage's events, 100"):
        Trial.from_dict(survival).simulate(n_sims=10)
    calendar = with_changes("adaptation", None)
    calendar["interim"] = {"futility": {"on": "conditional_power", "below": 0.1}}
    calendar["endpoints"] = survival["endpoints"]
    calendar["design"] = {"events": 200, "look_times": [18.0, 30.0]}
    with pytest.raises(InputError, match=r"`design.look_times`: cannot be used with \[interim\]"):
        Trial.from_dict(calendar).simulate(n_sims=10)
    first = with_changes("adaptation", {**BASE["adaptation"], "min_per_stage": [100, 150]})
    with pytest.raises(InputError, match=r"`adaptation.min_per_stage`: must start with the first stage's patients, 150"):
        Trial.from_dict(first).simulate(n_sims=10)


# ---------------------------------------------------------------- group-sequential designs with a futility rule
def gs_raw(below) -> dict:
    return {
        "trial": {"n_total": 200},
        "endpoints": endpoint(truth=(0.3, 0.5), prior=PRIOR),
        "design": {"looks": 3, "efficacy": "asOF"},
        "interim": {"futility": {"on": "predictive_probability", "below": below}},
    }


def gs_plan(mapping):
    from simulator.config.validate import validate
    from simulator.endpoints import get_kind

    config = validate(mapping)
    return get_kind("binary").plan(config, config.endpoints[0])


def test_a_rule_that_never_fires_gives_the_exact_group_sequential_power():
    plan = gs_plan(gs_raw(0.0))
    plain = gs_raw(0.0)
    plain.pop("interim")
    exact = gs_plan(plain).exact()
    n = 100_000
    _, counts = plan.run_chunk(np.random.default_rng(2), n, "power")
    for ours, reference in zip(counts["reject"] / n, exact["reject_per_look_exact"]):
        assert ours == pytest.approx(reference, abs=4 * math.sqrt(reference * (1 - reference) / n))
    _, counts = plan.run_chunk(np.random.default_rng(3), n, "type1")
    assert counts["reject"].sum() / n == pytest.approx(exact["size_exact"],
                                                       abs=4 * math.sqrt(exact["size_exact"] / n))
    assert counts["rule_futility"].sum() == 0


def test_design_time_threshold_is_exact_for_binary():
    # The threshold for a 20 % futility stop at the first interim under H0, exact over the interim counts;
    # simulated with it, the first look's futility stops agree within 4 MCSE.
    plan = gs_plan(gs_raw([0.0, 0.0]))
    row = next(r for r in plan.rules.thresholds(plan)[0] if r["target"] == 0.2)
    assert 0.1 < row["stop_probability"] <= 0.2
    plan = gs_plan(gs_raw([row["threshold"], 0.0]))
    n = 100_000
    _, counts = plan.run_chunk(np.random.default_rng(5), n, "type1")
    p = row["stop_probability"]
    assert counts["futility"][0] / n == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))
    # Only the rule stops at the first look here (no futility bound); the type I error can only fall.
    h0 = plan.rules.report(counts, n)
    assert counts["reject"].sum() / n <= h0["without_rule"]


def test_a_threshold_sweep_reads_the_same_trials():
    # interim.futility.below stays out of the seed digest (it never changes the draws): the scenarios of a
    # sweep over it share their trials, so success can only fall as the threshold rises, and the design
    # without the rule is the same in every scenario.
    raw = {**gs_raw(0.0), "simulation": {"n_sims": 20_000, "seed": 8, "null": True, "jobs": 1},
           "sweep": {"interim.futility.below": [0.0, 0.05, 0.3]}}
    report = Trial.from_dict(raw).simulate().to_dict()["scenarios"]
    blocks = [s["endpoints"]["response"] for s in report]
    for stream in ("power", "assurance", "type1"):
        values = [b[stream] for b in blocks]
        assert values[0] >= values[1] >= values[2]
        assert len({b["interim"][stream]["without_rule"] for b in blocks}) == 1
        assert values[0] == blocks[0]["interim"][stream]["without_rule"]
    assert blocks[2]["interim"]["type1"]["futility_rule_per_look"][0] > blocks[1]["interim"]["type1"]["futility_rule_per_look"][0]


def test_report_of_reestimation_with_a_rule(tmp_path):
    mapping = {**SMALL, "simulation": {"n_sims": 2_000, "seed": 1, "null": True, "jobs": 1}}
    result = Trial.from_dict(mapping).simulate()
    result.save(tmp_path, plots=False)  # report.json is checked against docs/report.schema.json (conftest)
    block = result.to_dict()["scenarios"][0]["endpoints"]["response"]
    for stream in ("power", "assurance", "type1"):
        interim = block["interim"][stream]
        assert np.array(interim["predictive_probability_histogram"]).sum() == 2_000
        assert 0 <= interim["increase"] <= 1
    # The analytic block is the design without the rules (a reference), without exact values.
    assert "power" in block["analytic"] and "power_exact" not in block["analytic"]
    assert len(block["interim"]["thresholds_h0"]) == 1
    # report.md and report.html show the rules' table (the numbers are report.json's, with their MCSE).
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Interim rules:" in markdown
    power = block["interim"]["power"]
    assert f"| response | truth | {block['power']:.4f} ± {block['power_mcse']:.4f} | " \
           f"{power['without_rule']:.4f} ± {power['without_rule_mcse']:.4f} |" in markdown
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="interim-s0"' in html and 'data-key="scenarios/0/endpoints/response/interim/type1/rule_cost"' in html
    # With the plots: the distributions of the interim values under truth, prior and H0 (plot-interim-s0);
    # also for K stages, which have no predictive probability.
    result.save(tmp_path / "plots", plots=True)
    page = (tmp_path / "plots" / "report.html").read_text(encoding="utf-8")
    assert 'id="plot-interim-s0"' in page and "could not be drawn" not in page
    stages = {**mapping, "design": {"looks": 3, "efficacy": "asOF"}, "trial": {"n_total": 60}}
    stages.pop("interim")
    stages["adaptation"] = {"conditional_power": 0.8, "min_per_stage": [20, 10, 10], "max_per_stage": [20, 60, 60]}
    Trial.from_dict(stages).simulate().save(tmp_path / "stages", plots=True)
    page = (tmp_path / "stages" / "report.html").read_text(encoding="utf-8")
    assert 'id="plot-interim-s0"' in page and "could not be drawn" not in page


@pytest.mark.parametrize("overrides, pattern, when_read", [
    (['adaptation.effect="prior"'], r'`adaptation\.effect`: must be one of "observed", "posterior_mean"', True),
    (["adaptation.conditional_power=1.0"], r"`adaptation\.conditional_power`: must be a number in \(0, 1\)", True),
    (['interim.futility={ on = "pp", below = 0.1 }'], r"`interim\.futility\.on`: must be one of", True),
    (["design.looks=3"], r"`adaptation\.min_per_stage`: must give one size per stage \(3\)", True),
    # Checked when the plan is built (it needs the looks' patients), after the output folder is taken.
    (["adaptation.min_per_stage=[100, 150]"], r"`adaptation\.min_per_stage`: must start with the first stage's "
                                               r"patients, 150", False),
    # The planned second stage (150) outside [min, max]: the list that excludes it is named, with its values.
    (["adaptation.min_per_stage=[150, 200]"], r"`adaptation\.min_per_stage`: must allow the planned stage 2, 150 "
                                               r"patients.*got \[150, 200\]", False),
    (["adaptation.min_per_stage=[150, 100]", "adaptation.max_per_stage=[150, 120]"],
     r"`adaptation\.max_per_stage`: must allow the planned stage 2, 150 patients.*got \[150, 120\]", False),
])
def test_command_line_exits_2_naming_the_key(capsys, tmp_path, overrides, pattern, when_read):
    # The worked example with bad [adaptation] / [interim] values: exit 2, one line, nothing written.
    from pathlib import Path

    from simulator.cli import main

    config = Path(__file__).resolve().parent.parent / "configs" / "rates_adaptive.toml"
    argv = ["run", str(config), "--out", str(tmp_path / "out"), "--quiet", "--sims", "100"]
    for override in overrides:
        argv += ["--set", override]
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert re.search(pattern, err[0]), err[0]
    if when_read:
        assert not (tmp_path / "out").exists()


def test_large_trials_skip_the_exact_predictive_probability(monkeypatch):
    # Above the work limit the tables hold no predictive probability: a rule on it is refused naming the key,
    # the conditional powers and re-estimation go on (the trials drawn stage by stage).
    from simulator.endpoints import adaptive

    monkeypatch.setattr(adaptive, "MAX_TABLE_WORK", 1e5)
    raw = {"trial": {"n_total": 300}, "endpoints": endpoint(), "design": {"looks": 2},
           "adaptation": BASE["adaptation"], "simulation": {"n_sims": 20_000, "seed": 2, "jobs": 1}}
    block = simulate(raw)
    assert "predictive_probability_histogram" not in block["interim"]["power"]
    # rpact's power (tests/test_adaptive_rpact.py, 10^5 iterations), within 4 joint MCSE.
    assert abs(block["power"] - 0.9320) <= 4 * math.sqrt(0.932 * 0.068 / 100_000 + 0.932 * 0.068 / 20_000)
    raw["interim"] = {"futility": {"on": "predictive_probability", "below": 0.1}}
    with pytest.raises(InputError, match=r"`interim.futility.on`: cannot be \"predictive_probability\" for a trial"):
        simulate(raw)
    raw["interim"] = {"futility": {"on": "conditional_power", "below": 0.1}}
    assert simulate(raw)["interim"]["power"]["futility_rule_per_look"][0] > 0
