"""``p3sim size``: the smallest size reaching a target, checked against exact enumeration."""

import json
import math

import numpy as np
import pytest

from _runs import size
from simulator.cli import main
from simulator.config.load import load_scenarios
from simulator.endpoints import common
from simulator.errors import InputError
from simulator.runner.simulate import build_plans

# A fixed design, 1:2 allocation (grid steps of 3 patients), z test: exact
# power by enumeration (BinaryPlan.exact) is the independent reference.
CONFIG = """
[trial]
name = "sizing"
allocation = [1, 2]
n_total = 120
[endpoints.resp]
kind = "binary"
test = "z_pooled"
[endpoints.resp.truth]
control = 0.30
experimental = 0.50
[endpoints.resp.prior]
control = { events = 9, n = 30 }
experimental = { events = 15, n = 30 }
[simulation]
n_sims = 20000
seed = 11
jobs = 1
"""


@pytest.fixture
def sizing_config(tmp_path):
    path = tmp_path / "sizing.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _exact(path, n_total, key="power_exact", overrides=()):
    _, scenarios = load_scenarios(path, [f"trial.n_total={n_total}", *overrides])
    return build_plans(scenarios[0]).plans[0].exact()[key]


def _evaluated(block):
    return {e["n_total"]: e for e in block["evaluated"]}


def test_power_size_agrees_with_exact_power(sizing_config, tmp_path):
    report = size(sizing_config, level=0.8, out=tmp_path / "out")
    block = report["size"]
    n, step = block["n_total"], 3
    assert block["grid_step"] == step and n % step == 0
    assert block["n_per_arm"] == [n // 3, 2 * n // 3]
    below = _evaluated(block)[n - step]
    # The answer reaches the level and the size one step below does not, up
    # to Monte Carlo error: 2 MCSE of the estimate at each size (a one-sided
    # 2.3% chance per comparison for an unbiased estimate).
    assert _exact(sizing_config, n) >= 0.8 - 2 * block["power_mcse"]
    assert _exact(sizing_config, n - step) < 0.8 + 2 * below["mcse"]
    assert block["power"] >= 0.8 > below["estimate"]
    lo, hi = block["interval"]
    assert lo <= n <= hi
    # rpact's formula (normal approximation) is near but not the answer.
    assert abs(block["analytic_n_total"] - n) <= 30
    # The search starts at the analytic size rounded up to the grid, a size it evaluated (a review found
    # rpact's per-arm round-up, off the grid of 3, reported as the start).
    assert block["start_n_total"] == math.ceil(block["analytic_n_total"] / step) * step
    assert block["start_n_total"] in _evaluated(block)
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {"target", "level", "n_total", "n_per_arm", "interval", "power", "power_mcse", "analytic_n_total",
            "evaluated"} <= set(on_disk["size"])
    assert on_disk["scenarios"][0]["n_total"] == n


def test_fisher_sawtooth_size_agrees_with_exact_power(sizing_config):
    # Fisher's exact test is the most saw-toothed in n; same check as above.
    overrides = ['endpoints.resp.test="fisher"']
    block = size(sizing_config, overrides, level=0.7)["size"]
    n = block["n_total"]
    below = _evaluated(block)[n - 3]
    # 2 MCSE, as above.
    assert _exact(sizing_config, n, overrides=overrides) >= 0.7 - 2 * block["power_mcse"]
    assert _exact(sizing_config, n - 3, overrides=overrides) < 0.7 + 2 * below["mcse"]


def test_assurance_size_agrees_with_exact_assurance(sizing_config):
    block = size(sizing_config, target="assurance", level=0.65)["size"]
    n = block["n_total"]
    below = _evaluated(block)[n - 3]
    assert block["analytic_n_total"] is None and block["ceiling"] == pytest.approx(0.9402, abs=1e-4)
    # Exact prior-predictive assurance (beta-binomial enumeration); 2 MCSE as above.
    assert _exact(sizing_config, n, "assurance_exact") >= 0.65 - 2 * block["assurance_mcse"]
    assert _exact(sizing_config, n - 3, "assurance_exact") < 0.65 + 2 * below["mcse"]


def test_common_random_numbers_make_estimates_depend_on_size_only(sizing_config):
    # Every size draws from the same streams whatever the search around it:
    # two searches for different levels give identical estimates where they
    # meet.  (Assurance: a power level also sets design.power, which is part
    # of the scenario and so of the seed digest.)
    a = _evaluated(size(sizing_config, target="assurance", level=0.65)["size"])
    b = _evaluated(size(sizing_config, target="assurance", level=0.6)["size"])
    common = set(a) & set(b)
    assert len(common) >= 3
    assert all(a[n]["estimate"] == b[n]["estimate"] for n in common)


def test_size_is_the_same_for_any_jobs(sizing_config):
    one = size(sizing_config, level=0.8, n_sims=70_000, jobs=1)["size"]
    two = size(sizing_config, level=0.8, n_sims=70_000, jobs=2)["size"]
    assert one == two


def test_cli_size_prints_summary(sizing_config, tmp_path, capsys):
    assert main(["size", str(sizing_config), "--level", "0.8", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["size", str(sizing_config), "--out", str(tmp_path / "o")]) == 0  # level = design.power = 0.8
    printed = capsys.readouterr().out
    assert "smallest n_total with power >= 0.8" in printed and "report written" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "1.5"], r"argument `--level`: must be in \(0, 1\), got 1.5"),
        (["--level", "0"], r"argument `--level`: must be in \(0, 1\), got 0.0"),
        (["--target", "size"], r'argument `--target`: must be one of power, assurance, got "size"'),
        (["--target", "assurance", "--level", "0.95"], r"assurance 0.95 is unreachable: its ceiling is 0.9402"),
        (["--set", "endpoints.resp.truth.experimental=0.3"], r"endpoint `resp` shows no benefit"),
        (["--set", "sweep.endpoints.resp.truth.experimental=[0.4, 0.5]"], r"config key `sweep`: `size` searches one scenario"),
        (["--sims", "0"], r"argument `--sims`: must be a positive integer"),
        (["--set", "design.look_sizes=[60, 120]"], r"config key `design.look_sizes`: fixes absolute look sizes"),
    ],
)
def test_bad_size_input_exits_2(sizing_config, tmp_path, capsys, args, message):
    import re

    assert main(["size", str(sizing_config), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert err.count("\n") == 1


def test_unreachable_within_max_size_exits_2(sizing_config, monkeypatch, capsys):
    # A small cap stands in for 10^6 so that the test is fast.
    monkeypatch.setattr(common, "MAX_N_TOTAL", 90)
    assert main(["size", str(sizing_config), "--level", "0.8", "--quiet"]) == 2
    assert "is not reached by any n_total up to 90; at n_total = 90 it is" in capsys.readouterr().err


def test_size_of_a_two_arm_ratio_with_common_factor(sizing_config):
    # allocation [2, 4] is 1:2: steps of 3, not 6.
    block = size(sizing_config, ["trial.allocation=[2, 4]"], level=0.6, n_sims=5000)["size"]
    assert block["grid_step"] == 3


def test_group_sequential_power_size(sizing_config):
    # Two looks (asOF): the answer reaches the level, one step below does not.
    overrides = ["design.looks=2"]
    block = size(sizing_config, overrides, level=0.8, n_sims=10_000)["size"]
    n = block["n_total"]
    below = _evaluated(block)[n - 3]
    # Exact group-sequential power (recursive enumeration); 2 MCSE as above.
    assert _exact(sizing_config, n, overrides=overrides) >= 0.8 - 2 * block["power_mcse"]
    assert _exact(sizing_config, n - 3, overrides=overrides) < 0.8 + 2 * below["mcse"]


def test_size_dask_backend_matches_local(sizing_config):
    import distributed  # noqa: F401 - in the test extra: a missing one is a broken install, not a skip
    from distributed import LocalCluster

    local = size(sizing_config, level=0.8, n_sims=5000)["size"]
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        remote = size(sizing_config, level=0.8, n_sims=5000, backend="dask", scheduler=cluster.scheduler_address)["size"]
    assert remote == local


# ---------------------------------------------------------------- survival: events are searched

# 1:1, HR 0.7, one-sided 0.025, power 0.8: Schoenfeld's events are
# 4 (z_0.975 + z_0.8)^2 / log(0.7)^2 = 246.787.  1000 subjects (accrual 24
# months, control median 30) can produce far more events than that, so
# only the events at the final look limit power.
SURVIVAL_CONFIG = """
[trial]
name = "events sizing"
n_total = 1000
[endpoints.os]
kind = "survival"
[endpoints.os.truth]
control = { median = 30.0 }
hazard_ratio = 0.7
[endpoints.os.prior]
hazard_ratio = { estimate = 0.7, lower = 0.5, upper = 0.98, level = 0.95 }
[endpoints.os.accrual]
duration = 24.0
[design]
alpha = 0.025
sided = 1
power = 0.8
[simulation]
n_sims = 10000
seed = 5
jobs = 1
"""
SCHOENFELD_EVENTS = 246.787


@pytest.fixture
def survival_config(tmp_path):
    path = tmp_path / "events.toml"
    path.write_text(SURVIVAL_CONFIG, encoding="utf-8")
    return path


def _power_slope_in_events(events, hazard_ratio=0.7, alpha=0.025, power=0.8):
    """d power / d events for Schoenfeld's power Phi(sqrt(E) |log HR| / 2 - z_alpha), 1:1."""
    from scipy import stats

    z_beta = stats.norm.ppf(power)
    return stats.norm.pdf(z_beta) * abs(math.log(hazard_ratio)) / (4 * math.sqrt(events))


@pytest.mark.slow
def test_survival_power_size_searches_events_near_schoenfeld(survival_config, tmp_path):
    from _runs import run

    block = size(survival_config, level=0.8, out=tmp_path / "out")["size"]
    events = block["events"]
    assert block["axis"] == "events" and block["grid_step"] == 1 and "n_total" not in block
    assert block["subjects"] == 1000 and block["subjects_per_arm"] == [500, 500]
    assert block["analytic_events"] == 247
    assert block["analytic_events_unrounded"] == pytest.approx(SCHOENFELD_EVENTS, abs=1e-3)
    # How far the answer may fall from Schoenfeld's events.  Near 247 events
    # power rises by phi(z_0.8) |log 0.7| / (4 sqrt(247)) = 0.00159 per
    # event, so an error of one MCSE in the estimated power curve (0.004 at
    # 10^4 trials) moves its crossing of 0.8 by about 2.5 events; allow 3
    # MCSE of that, plus 3 events for the integer rounding and for
    # Schoenfeld's approximation itself (the log-rank test's simulated power
    # at 247 events is 0.7977 ± 0.0009, 2*10^5 trials: about 1.5 events short).
    slope = _power_slope_in_events(SCHOENFELD_EVENTS)
    assert slope == pytest.approx(0.00159, abs=1e-5)
    tolerance = 3 * block["power_mcse"] / slope + 3
    assert abs(events - SCHOENFELD_EVENTS) <= tolerance, (events, tolerance)
    # The answer reaches the level and one event fewer does not (the estimates
    # of the search), and an independent simulation (other seed) agrees up to
    # 2 MCSE of the difference of the two estimates.
    found = {e["events"]: e for e in block["evaluated"]}
    assert block["power"] >= 0.8 > found[events - 1]["estimate"]
    for e, check in ((events, lambda p, sd: p >= 0.8 - 2 * sd), (events - 1, lambda p, sd: p < 0.8 + 2 * sd)):
        scenario = run(survival_config, [f"design.events={e}"], n_sims=20_000, seed=777)["scenarios"][0]
        sd = math.hypot(scenario["power_mcse"], found[e]["mcse"])
        assert check(scenario["power"], sd), (e, scenario["power"], sd)
    lo, hi = block["interval"]
    assert lo <= events <= hi
    # Reference: the analytic subjects for those events under the configured
    # accrual (no minimum follow-up: the analysis at the end of accrual), and
    # when the 1000 subjects are expected to reach them.
    assert block["analytic_subjects"] > events and block["analysis_time"] < 24.0 + 12.0
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {"target", "level", "events", "interval", "power", "power_mcse", "analytic_events", "subjects",
            "analytic_subjects", "evaluated"} <= set(on_disk["size"])
    assert on_disk["scenarios"][0]["endpoints"]["os"]["events"] == events


def test_survival_candidates_share_their_random_numbers(survival_config):
    # Common random numbers: design.events is left out of the seed digest,
    # so every candidate simulates the very same patients.
    from simulator.config.load import Scenario, load_raw
    from simulator.config.validate import validate
    from simulator.endpoints.survival_axis import EventAxis
    from simulator.runner.size import size_axis, size_scenario

    mapping, config = size_scenario(load_raw(survival_config))
    axis = size_axis(config)
    assert axis == EventAxis(1000) and axis.max_size == 1000
    entropies = set()
    for events in (200, 247, 300):
        applied = axis.apply(mapping, events)
        bundle = build_plans(Scenario(0, {}, applied, validate(applied)), digest_exclude=axis.digest_exclude)
        assert bundle.plans[0].looks.events.tolist() == [events]
        entropies.add(tuple(bundle.entropy))
    assert len(entropies) == 1


def test_survival_with_binary_endpoints_searches_events():
    # CAIRO6: OS with two binary endpoints read at its looks: events are
    # searched, the configured (first) n_total is simulated.
    from simulator.config.load import load_raw
    from simulator.endpoints.survival_axis import EventAxis
    from simulator.runner.size import size_axis, size_scenario

    _, config = size_scenario(load_raw("configs/cairo6.toml"), quiet=True)
    assert size_axis(config) == EventAxis(300)


def test_survival_assurance_above_the_ceiling_exits_2(survival_config, capsys):
    # P(HR < 1) under the log-normal prior through 0.7 (0.5, 0.98): Phi(2.0777) = 0.9811.
    assert main(["size", str(survival_config), "--target", "assurance", "--level", "0.99", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "assurance 0.99 is unreachable: its ceiling is 0.9811" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "design.look_events=[100, 200]"], r"config key `design.look_events`: fixes absolute look events"),
        (["--set", "trial.n_total=150", "--sims", "2000"],
         r"power 0.8 is not reached by any events up to 150 \(trial.n_total: .*\); at events = 150 it is 0\.\d+"),
        (["--set", "endpoints.os.truth.hazard_ratio=1.0"], r"endpoint `os` shows no benefit"),
    ],
)
def test_bad_survival_size_input_exits_2(survival_config, capsys, args, message):
    import re

    assert main(["size", str(survival_config), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert err.count("\n") == 1


def test_cli_size_prints_events_summary(survival_config, tmp_path, capsys):
    assert main(["size", str(survival_config), "--sims", "2000", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "smallest events (final look) with power >= 0.8" in printed and "1000 subjects simulated" in printed
    assert "analytic (Schoenfeld): 247" in printed


def test_events_search_under_nph_says_where_its_analytic_start_comes_from(tmp_path, capsys):
    # A 4-month delay (HR 1 then 0.6): the analytic events come from the non-proportional-hazards
    # model (docs/survival_nph.md), not Schoenfeld's formula at one hazard ratio; the summary says which.
    path = tmp_path / "nph.toml"
    path.write_text(SURVIVAL_CONFIG.replace("hazard_ratio = 0.7", "hazard_ratio = [1.0, 0.6]\nhazard_ratio_times = [0, 4]")
                    .replace("[endpoints.os.prior]\nhazard_ratio = { estimate = 0.7, lower = 0.5, upper = 0.98, level = 0.95 }\n", ""),
                    encoding="utf-8")
    assert main(["size", str(path), "--sims", "1000", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    block = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["size"]
    assert block["analytic_method"] == "the non-proportional-hazards model"
    assert f"analytic (the non-proportional-hazards model): {block['analytic_events']}" in printed


@pytest.mark.parametrize("rule", ["all", "any"])
def test_the_assurance_ceiling_of_several_endpoints_is_the_rules(rule, capsys):
    # A review: for CAIRO6 (rule all) the ceiling was the smallest endpoint's, 0.9565, where every endpoint must
    # benefit: 0.926 with independent priors (docs/multiple_endpoints.md). Rule any: one minus the product of
    # the complements. Each endpoint's own prior P(benefit) is checked elsewhere; here their combination.
    import simulator as p3

    overrides = {"trial.n_total": 358}
    if rule == "any":
        overrides.update({"success.rule": "any", "success.multiplicity": "bonferroni"})
    trial = p3.Trial.from_toml("configs/cairo6.toml").override(overrides)
    own = [e["prior_p_benefit"] for e in trial.design().scenarios[0]["endpoints"].values()]
    ceiling = math.prod(own) if rule == "all" else 1.0 - math.prod(1.0 - p for p in own)
    args = ["size", "configs/cairo6.toml", "--set", "trial.n_total=358", "--target", "assurance", "--quiet",
            "--level", f"{min(ceiling + 1e-4, 0.99999):.5f}", "--sims", "1000"]
    if rule == "any":
        args += ["--set", 'success.rule="any"', "--set", 'success.multiplicity="bonferroni"']
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"its ceiling is {ceiling:.4f}" in err and err.count("\n") == 1


def test_a_list_of_sizes_is_cut_to_its_first_with_a_warning(capsys):
    # A review: CAIRO6's [300, 358, 420] was sized at 300 with no warning that the list was cut.
    assert main(["size", "configs/cairo6.toml", "--sims", "1000", "--quiet", "--target", "assurance",
                 "--level", "0.999"]) == 2  # an unreachable level: stops after the warning
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("p3sim: warning: trial.n_total lists 3 sizes: size fixes the subjects at the first, 300, "
                      "and searches the events (for another, give trial.n_total one size: --set trial.n_total=N, "
                      "or Trial.override({'trial.n_total': N}) from Python)")


def test_a_fixed_sequences_assurance_ceiling_is_its_first_endpoints(capsys):
    # A code review: under rule any the ceiling was one minus the product of the complements (0.9992) where a
    # fixed sequence succeeds only where its first endpoint does.
    import simulator as p3

    sets = ["trial.n_total=358", 'success.rule="any"', 'success.multiplicity="fixed_sequence"',
            'success.order=["complete_crs", "os", "morbidity"]']
    trial = p3.Trial.from_toml("configs/cairo6.toml").override(sets)
    first = trial.design().scenarios[0]["endpoints"]["complete_crs"]["prior_p_benefit"]
    args = ["size", "configs/cairo6.toml", "--target", "assurance", "--quiet", "--sims", "1000",
            "--level", f"{first + 1e-4:.5f}"]
    for item in sets:
        args += ["--set", item]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"its ceiling is {first:.4f} (endpoint `complete_crs`'s prior probability of benefit, the first" in err


def test_an_answer_whose_trials_run_out_of_events_says_so(tmp_path):
    # A review: size answered 340 events for 450 patients that give at most about 321 (a 36-month maximum
    # follow-up), a third of the trials analysed at their last event, and only report.md said so.
    import simulator as p3

    trial = p3.Trial.from_dict({
        "trial": {"allocation": [1, 2], "n_total": 450},
        "endpoints": {"os": {
            "kind": "survival", "test": "fleming_harrington", "weights": {"rho": 0, "gamma": 1},
            "truth": {"control": {"median": 12.0}, "hazard_ratio": [1.0, 0.65], "hazard_ratio_times": [0.0, 3.0]},
            "accrual": {"times": [0.0, 6.0], "rate": [10.0, 20.0]}, "dropout": {"probability": 0.1, "at": 12.0},
            "follow_up": {"minimum": 12.0, "maximum": 36.0}}},
        "design": {"looks": [0.4, 0.7, 1.0], "futility": "bsOF", "events": 300},
    })
    sz = trial.size("power", 0.8, n_sims=1000, seed=4242)
    short = sz.to_dict()["scenarios"][0]["endpoints"]["os"]["events_short"]
    assert short > 0.05
    assert "of the trials ran out of events before a look's target" in sz.summary()


def test_a_fixed_sequence_whose_first_endpoint_has_no_benefit_is_refused_at_once(tmp_path, capsys):
    # A code review: under rule any the power target was searched to 10^6 patients although the first endpoint
    # of the sequence, without whose success no other is tested, has no benefit under its truth.
    path = tmp_path / "fs.toml"
    path.write_text('[trial]\nn_total = 400\n[endpoints.tox]\nkind = "binary"\n'
                    'truth = { control = 0.30, experimental = 0.30 }\n[endpoints.resp]\nkind = "binary"\n'
                    'truth = { control = 0.35, experimental = 0.50 }\n[success]\nrule = "any"\n'
                    'multiplicity = "fixed_sequence"\norder = ["tox", "resp"]\n', encoding="utf-8")
    assert main(["size", str(path), "--target", "power", "--level", "0.8", "--sims", "1000", "--quiet"]) == 2
    assert "endpoint `tox` shows no benefit over the null" in capsys.readouterr().err


FIXED_GATE = """[trial]
n_total = 300
[endpoints.resp]
kind = "binary"
truth = { control = 0.30, experimental = 0.40 }
[endpoints.os]
kind = "survival"
truth = { control = { median = 24.0 }, hazard_ratio = 0.6 }
accrual = { duration = 24.0 }
[success]
"""


def _pooled_z_power(n, p_c, p_e, alpha=0.025):
    """Exact power of the one-sided pooled z test with n a side, by enumeration of both binomials."""
    from scipy.stats import binom, norm

    from _binary_reference import z_table

    x = np.arange(n + 1)
    weights = np.outer(binom.pmf(x, n, p_c), binom.pmf(x, n, p_e))
    return float(weights[z_table(n, n) >= norm.ppf(1 - alpha)].sum())


@pytest.mark.parametrize("success", ['rule = "all"',
                                     'rule = "any"\nmultiplicity = "fixed_sequence"\norder = ["resp", "os"]'])
def test_an_endpoint_off_the_events_axis_that_caps_power_stops_the_search(tmp_path, capsys, success):
    # A review: the events search ran to 300 events (minutes) and then named trial.n_total, where the binary
    # endpoint, whose 150 patients a side the search does not change, caps the trial's power (exact 0.44).
    # The search stops at its first size, naming the endpoint and its simulated power there.
    import re

    path = tmp_path / "gate.toml"
    path.write_text(FIXED_GATE + success + "\n", encoding="utf-8")
    assert main(["size", str(path), "--target", "power", "--level", "0.8", "--sims", "4000", "--quiet"]) == 2
    err = capsys.readouterr().err
    found = re.search(r"endpoint `resp` is not sized by it \(its patients are trial.n_total = 300\), its simulated "
                      r"power at the largest events, 300, where its outcomes are read latest, is (0\.\d+) ± "
                      r"(0\.\d+), and it caps the trial's", err)
    assert found and err.count("\n") == 1, err
    estimate, mcse = float(found[1]), float(found[2])
    assert abs(estimate - _pooled_z_power(150, 0.3, 0.4)) < 4 * mcse


def test_an_off_axis_endpoint_read_at_the_looks_gains_with_the_events(tmp_path):
    # A code review: with accrual running past the looks, fewer events mean earlier looks and fewer binary
    # outcomes known (resp 0.768 at 247 events, 0.874 at 360): a check at the first size refused a level the
    # trial reaches (0.78 at 335 events). The gate is read at the largest events, where resp has the most.
    import simulator as p3

    trial = p3.Trial.from_dict({
        "trial": {"n_total": 400},
        "endpoints": {"os": {"kind": "survival", "truth": {"control": {"survival": 0.5, "at": 3.0}, "hazard_ratio": 0.7},
                             "accrual": {"duration": 48.0}, "follow_up": {"minimum": 12.0}},
                      "resp": {"kind": "binary", "truth": {"control": 0.30, "experimental": 0.45}}},
        "success": {"rule": "all"},
    })
    block = trial.size("power", 0.78, n_sims=4000, seed=7).to_dict()["size"]
    assert block["power"] >= 0.78 and 300 < block["events"] < 380  # the review's 335 (interval 328 to 347)
    first = min(block["evaluated"], key=lambda e: e["events"])
    assert first["events"] < block["events"]


def test_an_off_axis_endpoint_near_the_level_does_not_stop_the_search(tmp_path):
    # A code review: the normal approximation's 0.8094 (exact 0.8523) refused a level of 0.84 that the trial
    # reaches (0.8486 ± 0.0025 at 80 events); the simulated estimate decides now.
    import simulator as p3

    assert _pooled_z_power(50, 0.05, 0.25) > 0.84
    trial = p3.Trial.from_dict({
        "trial": {"n_total": 100},
        "endpoints": {"resp": {"kind": "binary", "truth": {"control": 0.05, "experimental": 0.25}},
                      "os": {"kind": "survival", "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.35},
                             "accrual": {"duration": 12.0}}},
        "design": {"events": 80}, "success": {"rule": "all"},
    })
    found = trial.size("power", 0.84, n_sims=2000, seed=11)
    block = found.to_dict()["size"]
    assert block["power"] >= 0.84


CURED = """[trial]
n_total = 1500
[endpoints.os]
kind = "survival"
truth = { control = { median = 12.0 }, hazard_ratio = 1.0, cured = { control = 0.2, experimental = CURE } }
prior = { hazard_ratio = { log_mean = 0.0, log_sd = 0.2 } }
accrual = { duration = 24.0 }
[design]
events = 900
"""


@pytest.mark.parametrize("cure", [0.1, 0.2, 0.3])
def test_prior_p_benefit_bounds_assurance_unless_the_experimental_arm_cures_more(tmp_path, cure):
    # A review: with cured fractions 0.2 and 0.3 and a prior centred on HR 1, assurance was 0.678 beside a
    # prior P(benefit) (P(HR < 1) of the uncured) of 0.5, and `size --target assurance --level 0.6` exited 2
    # calling 0.5 the ceiling. With equal fractions the arms differ only through the hazard ratio.
    from simulator.config.load import load_raw
    from simulator.config.validate import validate
    from simulator.runner.size import _base_plans, check_reachable, size_axis

    path = tmp_path / "cure.toml"
    path.write_text(CURED.replace("CURE", str(cure)), encoding="utf-8")
    mapping = load_raw(str(path))
    axis = size_axis(validate(mapping))
    _, base = _base_plans(axis, mapping, "assurance")
    (plan,) = base.plans
    assert plan.prior_p_benefit() == pytest.approx(0.5, abs=1e-15)
    note = plan.describe().get("prior_p_benefit_note")
    import simulator as p3

    designed = p3.Trial.from_toml(path).design().scenarios[0]["endpoints"]["os"]
    assert designed.get("prior_p_benefit_note") == note  # p3sim design says it too (a code review)
    if cure <= 0.2:
        # Fewer or as many cured: a benefit needs HR < 1 among the uncured, so P(HR < 1) still bounds it.
        assert note is None
        with pytest.raises(InputError, match="assurance 0.6 is unreachable: its ceiling is 0.5000"):
            check_reachable(base, "assurance", 0.6, "all", axis)
    else:
        assert "with cured fractions 0.2 (control) and 0.3 (experimental)" in note
        assert check_reachable(base, "assurance", 0.6, "all", axis) is None


def test_the_downward_scan_stops_on_a_flat_curve_and_says_so(monkeypatch):
    # A review: near the assurance ceiling (0.91 here) no block of sizes was clearly below 0.89 for thousands
    # of sizes, and the scan ran for many minutes. It stops after 512 sizes and says why.
    import simulator as p3

    trial = p3.Trial.from_dict({
        "endpoints": {"resp": {"kind": "binary", "truth": {"control": 0.35, "experimental": 0.5},
                               "prior": {"control": {"events": 14, "n": 40}, "experimental": {"events": 20, "n": 40}}}},
    })
    from simulator.runner import size as size_module

    assert size_module.MAX_DOWN_BLOCKS * size_module.SCAN_BLOCK == 512
    monkeypatch.setattr(size_module, "MAX_DOWN_BLOCKS", 8)  # the same stop at 64 sizes, in a test's time
    found = trial.size("assurance", 0.89, n_sims=1000, seed=1)
    block = found.to_dict()["size"]
    assert block["flat_note"].startswith("the assurance curve is flat near 0.89: 64 sizes below the crossing")
    assert len(block["evaluated"]) < 64 + 8 * 9 + 40  # the scan down, the scan up, the bracket and bisection
    assert "note: the assurance curve is flat" in found.summary()


def test_the_level_does_not_redraw_the_trials():
    # A review: --level sets design.power, which was in the seed digest, so each level drew other trials and a
    # higher level could give a smaller size (82 at 0.798, 80 at 0.80 with seed 6). Each size's estimate is now
    # the same whatever the level.
    import simulator as p3

    trial = p3.Trial.from_dict({"endpoints": {"resp": {"kind": "binary",
                                                       "truth": {"control": 0.3, "experimental": 0.6}}}})
    one, two = (trial.size("power", level, n_sims=2000, seed=6).to_dict()["size"] for level in (0.798, 0.8))
    first = {e["n_total"]: e["estimate"] for e in one["evaluated"]}
    second = {e["n_total"]: e["estimate"] for e in two["evaluated"]}
    common = set(first) & set(second)
    assert len(common) >= 5 and all(first[n] == second[n] for n in common)
    assert one["n_total"] <= two["n_total"]


def test_calendar_looks_say_that_the_subjects_are_searched():
    # A review: with calendar looks size searched trial.n_total (560) in place of the configured 1000 without
    # saying so.
    import simulator as p3

    trial = p3.Trial.from_dict({
        "trial": {"n_total": 1000},
        "endpoints": {"os": {"kind": "survival", "truth": {"control": {"median": 30.0}, "hazard_ratio": 0.7},
                             "accrual": {"duration": 24.0}}},
        "design": {"look_times": [30.0, 42.0], "events": 300},
    })
    found = trial.size("power", 0.8, n_sims=1000, seed=5)
    block = found.to_dict()["size"]
    assert block["axis"] == "n_total" and block["searched"].startswith("trial.n_total: the looks are at calendar")
    assert "searched trial.n_total: the looks are at calendar times" in found.summary()


def test_a_cure_model_with_a_benefit_is_searched():
    # A code review: with cure fractions the analytic block has no events for design.power (the
    # non-proportional-hazards model requires design.events), and size took that for no benefit, although the
    # run's power was 0.65 at 150 events.
    import simulator as p3

    trial = p3.Trial.from_dict({
        "trial": {"n_total": 300},
        "endpoints": {"os": {"kind": "survival", "accrual": {"duration": 12.0}, "follow_up": {"minimum": 24.0},
                             "truth": {"control": {"survival": 0.5, "at": 12.0}, "hazard_ratio": 0.6,
                                       "cured": {"control": 0.3, "experimental": 0.3}}}},
        "design": {"events": 150},
    })
    block = trial.size("power", 0.5, n_sims=1000, seed=1).to_dict()["size"]
    assert block["power"] >= 0.5 and block["events"] < 150


CONTINUOUS = """
[trial]
n_total = 120
[endpoints.y]
kind = "continuous"
test = "t"
[endpoints.y.truth]
sd = 10
control = { mean = 0 }
experimental = { mean = 5 }
[design]
power = 0.9
[simulation]
n_sims = 20000
seed = 3
jobs = 1
"""


def _t_power(per_arm: int) -> float:
    """Exact one-sided power of Student's t at 0.025, 5 / 10 SD apart, ``per_arm`` a side (noncentral t)."""
    from scipy import stats

    df = 2 * per_arm - 2
    return float(stats.nct.sf(stats.t.ppf(0.975, df), df, 0.5 * math.sqrt(per_arm / 2)))


def test_an_answer_below_its_exact_power_says_so_and_gives_the_exact_crossing(tmp_path, capsys):
    # A review: the simulated answer (170 at this seed) has an exact power of 0.89989 for 0.9, reached by Monte
    # Carlo error; 172 reaches it exactly (rpact getSampleSizeMeans(alternative = 5, stDev = 10, beta = 0.1,
    # normalApproximation = FALSE): 170.06, so 86 + 86). Reference: scipy's noncentral t.
    path = tmp_path / "c.toml"
    path.write_text(CONTINUOUS, encoding="utf-8")
    block = size(path, level=0.9)["size"]
    n = block["n_total"]
    assert n == 170  # this seed's answer: the case the note is for (pinned, so the checks below all run)
    assert block["power_closed_form_method"] == "exact"
    assert block["power_closed_form"] == pytest.approx(_t_power(85), abs=1e-9) and _t_power(85) < 0.9
    crossing = next(m for m in range(n, 400, 2) if _t_power(m // 2) >= 0.9)
    assert block["exact_n_total"] == crossing == 172
    assert "the exact power at 170 is 0.899" in block["closed_form_note"]
    assert main(["size", str(path), "--level", "0.9", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "exact power at 170: 0.899" in printed and "whose exact power reaches it is 172" in printed


def test_an_answer_at_its_exact_power_has_no_note(sizing_config):
    # The binary design above at 0.8: the closed form is the enumeration's (BinaryPlan.exact), which the
    # answer's neighbours are checked against in the first test; no note where it reaches the level.
    block = size(sizing_config, level=0.8)["size"]
    assert block["power_closed_form_method"] == "exact"
    assert block["power_closed_form"] == pytest.approx(_exact(sizing_config, block["n_total"]), abs=1e-12)
    assert ("closed_form_note" in block) == (block["power_closed_form"] < 0.8)
    assurance = size(sizing_config, target="assurance", level=0.65)["size"]
    assert "power_closed_form" not in assurance and assurance["assurance_closed_form_method"] == "exact"
    assert assurance["assurance_closed_form"] == pytest.approx(
        _exact(sizing_config, assurance["n_total"], "assurance_exact"), abs=1e-12)
    assert ("closed_form_note" in assurance) == (assurance["assurance_closed_form"] < 0.65)


ASSURANCE = """
[trial]
allocation = [1, 2]
n_total = 200
[endpoints.resp]
kind = "binary"
test = "z_pooled"
[endpoints.resp.truth]
control = 0.20
experimental = 0.40
[endpoints.resp.prior]
control = { events = 6, n = 30 }
experimental = { events = 12, n = 30 }
base = [0.5, 0.5]
discount = 0.5
robust_weight = 0.2
[simulation]
n_sims = 20000
jobs = 1
"""


def _exact_assurance(n_total: int) -> float:
    """The pooled z's one-sided assurance at 0.025 by enumeration over the prior predictive of each arm: a mixture
    0.2 Beta(1, 1) + 0.8 Beta(0.5 + 0.5 x, 0.5 + 0.5 (30 - x)) (docs/config.md), beta-binomial counts (scipy)."""
    from scipy.stats import betabinom, norm

    def predictive(n, x):
        k = np.arange(n + 1)
        return 0.2 * betabinom.pmf(k, n, 1, 1) + 0.8 * betabinom.pmf(k, n, 0.5 + 0.5 * x, 0.5 + 0.5 * (30 - x))

    from _binary_reference import z_table

    nc, ne = n_total // 3, 2 * n_total // 3
    return float(np.outer(predictive(nc, 6), predictive(ne, 12))[z_table(nc, ne) >= norm.isf(0.025)].sum())


def test_an_assurance_answer_below_its_exact_assurance_says_so(tmp_path, capsys):
    # A review: the simulated answer (258 at the default seed) has an exact assurance of 0.59585 for 0.6, reached
    # by Monte Carlo error, and nothing said so; 270 reaches it exactly. Reference: the enumeration above.
    path = tmp_path / "a.toml"
    path.write_text(ASSURANCE, encoding="utf-8")
    block = size(path, target="assurance", level=0.6)["size"]
    n = block["n_total"]
    assert n == 258  # the default seed's answer: the case the note is for (pinned, so the checks below all run)
    assert block["assurance_closed_form_method"] == "exact"
    assert block["assurance_closed_form"] == pytest.approx(_exact_assurance(258), abs=1e-12)
    assert block["assurance_closed_form"] < 0.6
    crossing = next(m for m in range(n, 400, 3) if _exact_assurance(m) >= 0.6)
    assert block["exact_n_total"] == crossing == 270
    assert "the exact assurance at 258 is 0.595850" in block["closed_form_note"]
    assert "power_closed_form" not in block
    assert main(["size", str(path), "--target", "assurance", "--level", "0.6", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "exact assurance at 258: 0.595850" in printed and "whose exact assurance reaches it is 270" in printed


def test_a_small_configured_size_does_not_stop_the_search(tmp_path):
    # A review: trial.n_total = 7 is too small for three looks, and `size` exited 2 naming design.looks, where the
    # same config without n_total was sized; n_total is only where the search may start. Reference: the answer
    # without n_total (the same grid, seed and level).
    text = """
[trial]
n_total = 7
allocation = [1, 3]
[endpoints.resp]
kind = "binary"
test = "z_unpooled"
[endpoints.resp.truth]
control = 0.1
experimental = 0.9
[design]
alpha = 0.1
sided = 2
looks = 3
[simulation]
n_sims = 2000
seed = 5
jobs = 1
"""
    small, free = tmp_path / "small.toml", tmp_path / "free.toml"
    small.write_text(text, encoding="utf-8")
    free.write_text(text.replace("n_total = 7\n", ""), encoding="utf-8")
    answer = size(small)["size"]
    assert answer["n_total"] == size(free)["size"]["n_total"]
    assert answer["power"] >= 0.8 and answer["n_total"] % 4 == 0


def test_an_unreachable_level_names_where_it_came_from(tmp_path, capsys):
    # A review: with no --level the error named `--level`; the level was design.power's.
    path = tmp_path / "flat.toml"
    path.write_text(CONFIG.replace("experimental = 0.50", "experimental = 0.30"), encoding="utf-8")
    assert main(["size", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("p3sim: error: config key `design.power` (the level, as --level was not given):")
    assert main(["size", str(path), "--level", "0.7", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("p3sim: error: argument `--level`:")
