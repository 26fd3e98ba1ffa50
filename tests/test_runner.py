"""End to end: the run job, report keys, seeds and reproducibility."""

import json

import pytest

from _runs import run
from simulator.cli import main

ENDPOINT_KEYS = {
    "power", "power_mcse", "assurance", "assurance_mcse", "reject_unfavourable", "prior_p_benefit",
    "efficacy_bounds", "futility_bounds", "planned_fractions", "realised_fractions", "reject_per_look",
    "futility_per_look", "expected_n", "expected_n_mcse",
}


def _scenarios(report):
    return report["scenarios"]


def test_run_writes_contract_keys(small_config, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_config), "--out", str(out), "--sims", "3000", "--set", "simulation.null=true"]) == 0
    printed = capsys.readouterr().out
    assert "power ± MCSE" in printed and "report written" in printed
    report = json.loads((out / "report.json").read_text())
    assert {"version", "config", "seed", "n_sims", "command", "runtime_s"} <= set(report["meta"])
    assert report["meta"]["n_sims"] == 3000
    scenario = report["scenarios"][0]
    assert {"params", "n_total", "power", "power_mcse", "assurance", "assurance_mcse", "type1", "type1_mcse"} <= set(scenario)
    assert ENDPOINT_KEYS <= set(scenario["endpoints"]["resp"])
    assert (out / "report.md").read_text().startswith("# small: simulation report")


def test_jobs_do_not_change_results(small_config):
    # 150 000 trials = 3 chunks, so two processes really share the work.
    one = run(small_config, n_sims=150_000, jobs=1)
    two = run(small_config, n_sims=150_000, jobs=2)  # threads (the default)
    processes = run(small_config, n_sims=150_000, jobs=2, backend="loky")
    assert _scenarios(one) == _scenarios(processes)
    assert _scenarios(one) == _scenarios(two)


def test_seed_changes_results_and_same_seed_repeats(small_config):
    a = run(small_config, n_sims=5000, seed=1)
    b = run(small_config, n_sims=5000, seed=1)
    c = run(small_config, n_sims=5000, seed=2)
    assert _scenarios(a) == _scenarios(b)
    assert _scenarios(a)[0]["power"] != _scenarios(c)[0]["power"]


def test_adding_a_scenario_leaves_others_unchanged(small_config):
    alone = run(small_config, ["trial.n_total=[120]"], n_sims=5000)
    with_other = run(small_config, ["trial.n_total=[200, 120]"], n_sims=5000)
    assert _scenarios(alone)[0]["endpoints"] == _scenarios(with_other)[1]["endpoints"]
    assert _scenarios(alone)[0]["power"] == _scenarios(with_other)[1]["power"]


def test_sweep_grid_and_zip(small_config):
    grid = run(small_config, ["sweep.endpoints.resp.truth.experimental=[0.4, 0.5]", "trial.n_total=[100, 140]"], n_sims=2000)
    assert len(grid["scenarios"]) == 4
    assert grid["scenarios"][0]["params"] == {"trial.n_total": 100, "endpoints.resp.truth.experimental": 0.4}
    zipped = run(
        small_config,
        ['sweep.mode="zip"', "sweep.endpoints.resp.truth.experimental=[0.4, 0.5]", "sweep.endpoints.resp.truth.control=[0.2, 0.3]"],
        n_sims=2000,
    )
    assert [s["params"] for s in zipped["scenarios"]] == [
        {"endpoints.resp.truth.experimental": 0.4, "endpoints.resp.truth.control": 0.2},
        {"endpoints.resp.truth.experimental": 0.5, "endpoints.resp.truth.control": 0.3},
    ]


def test_joint_success_of_independent_endpoints(tmp_path):
    # With two independent endpoints, P(all succeed) = product of the marginals;
    # the joint estimate and the product of the exact marginals agree within
    # 4 MCSE of the joint estimate.
    path = tmp_path / "two.toml"
    path.write_text(
        """
[trial]
n_total = 200
[endpoints.a]
kind = "binary"
[endpoints.a.truth]
control = 0.3
experimental = 0.45
[endpoints.b]
kind = "binary"
better = "lower"
test = "fisher"
[endpoints.b.truth]
control = 0.4
experimental = 0.25
[simulation]
n_sims = 100000
jobs = 1
""",
        encoding="utf-8",
    )
    report = run(path)
    scenario = report["scenarios"][0]
    product = 1.0
    for block in scenario["endpoints"].values():
        product *= block["analytic"]["power_exact"]
    assert abs(scenario["power"] - product) <= 4 * scenario["power_mcse"]
    any_rule = run(path, ['success.rule="any"'])["scenarios"][0]
    a, b = (e["analytic"]["power_exact"] for e in scenario["endpoints"].values())
    assert abs(any_rule["power"] - (a + b - a * b)) <= 4 * any_rule["power_mcse"]


def test_bonferroni_halves_alpha(small_config):
    # A second endpoint (a copy of the first under another name): each is
    # tested at alpha / 2, and its exact power drops to the alpha / 2 value.
    copy = [
        'endpoints.resp2.kind="binary"', "endpoints.resp2.truth.control=0.30",
        "endpoints.resp2.truth.experimental=0.50",
    ]
    rules = ['success.rule="any"', 'success.multiplicity="bonferroni"']
    report = run(small_config, copy + rules, n_sims=1000)
    plain = run(small_config, copy + ['success.rule="any"'], n_sims=1000)
    for name in ("resp", "resp2"):
        block = report["scenarios"][0]["endpoints"][name]
        assert block["alpha"] == pytest.approx(0.0125)
        assert block["efficacy_bounds"][0] == pytest.approx(2.241403, abs=1e-6)  # z_{1 - 0.0125}
        assert block["analytic"]["power_exact"] < plain["scenarios"][0]["endpoints"][name]["analytic"]["power_exact"]


def test_two_sided_reports_unfavourable_rejections(small_config):
    # Truth reversed: experimental worse. Two-sided rejections in the wrong
    # direction are reported apart and never count as power.
    report = run(
        small_config,
        ["design.sided=2", "design.alpha=0.05", "endpoints.resp.truth.control=0.5", "endpoints.resp.truth.experimental=0.3"],
        n_sims=20_000,
    )
    block = report["scenarios"][0]["endpoints"]["resp"]
    assert block["power"] < 0.01
    exact = block["analytic"]["reject_unfavourable_exact"]
    assert abs(block["reject_unfavourable"] - exact) <= 4 * (exact * (1 - exact) / 20_000) ** 0.5


def test_python_dash_m_is_the_same_program(small_config, tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "simulator", "design", str(small_config), "--json", "-"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scenarios"][0]["endpoints"]["resp"]["power_exact"] > 0.5


def test_console_script_runs_the_exit_functions_and_keeps_its_exit_code(small_config, tmp_path):
    """The console script ends the process without the interpreter's teardown (docs/performance.md):
    functions registered with atexit still run, the output is complete and the exit code is the command's."""
    import subprocess
    import sys

    marker = tmp_path / "atexit-ran"
    script = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "from simulator.cli import entry_point\n"
        "entry_point()\n"
    )
    for argv, code in (([str(small_config), "--json", "-"], 0), ([str(tmp_path / "missing.toml")], 2)):
        marker.unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-c", script, "design", *argv], capture_output=True, text=True,
                              check=False)
        assert done.returncode == code, done.stderr
        assert marker.read_text() == "ran"
    assert done.stderr.startswith("p3sim: error:") and done.stderr.count("\n") == 1
    done = subprocess.run([sys.executable, "-c", script, "design", str(small_config), "--json", "-"],
                          capture_output=True, text=True, check=False)
    assert json.loads(done.stdout)["scenarios"][0]["endpoints"]["resp"]["power_exact"] > 0.5


def test_design_gives_planned_and_realised_bounds_and_run_reports_the_realised(small_config):
    """101 patients in three looks are 17 + 17, 34 + 33 and 51 + 50: the realised information fractions
    (n_C n_E / (n_C + n_E) over its final value) are not thirds, the realised bounds are rpact's at those
    fractions, and they are what `run` reports (and simulates against) as efficacy_bounds and futility_bounds.

    rpact 3.3.4: f <- c(17 * 17 / 34, 34 * 33 / 67, 51 * 50 / 101); getDesignGroupSequential(kMax = 3,
    alpha = 0.025, typeOfDesign = "asOF", informationRates = f / f[3])$criticalValues =
    3.6902363748, 2.5191651657, 1.9923827723 (planned, thirds: 3.7103028733, 2.5114274334, 1.9930474835).
    """
    from _runs import design

    overrides = ["trial.n_total=101", "design.looks=3", 'design.futility="bsOF"']
    endpoint = design(small_config, overrides)["scenarios"][0]["endpoints"]["resp"]
    final = 51 * 50 / 101
    assert endpoint["realised_fractions"] == pytest.approx([17 * 17 / 34 / final, 34 * 33 / 67 / final, 1.0],
                                                           abs=1e-14)
    # rpact solves its bounds to its `tolerance` (1e-8 by default), so agreement to 1e-7 on the z scale.
    assert endpoint["efficacy_bounds_realised"] == pytest.approx([3.6902363748, 2.5191651657, 1.9923827723], abs=1e-7)
    assert endpoint["efficacy_bounds"] == pytest.approx([3.7103028733, 2.5114274334, 1.9930474835], abs=1e-7)
    assert len(endpoint["futility_bounds_realised"]) == 3
    assert endpoint["futility_bounds_realised"] != endpoint["futility_bounds"]
    reported = run(small_config, overrides, n_sims=200)["scenarios"][0]["endpoints"]["resp"]
    assert reported["efficacy_bounds"] == endpoint["efficacy_bounds_realised"]
    assert reported["futility_bounds"] == endpoint["futility_bounds_realised"]


def test_a_parameter_its_family_ignores_draws_the_same_trials(small_config):
    # A review: efficacy_param = 2 beside asOF (ignored, docs/config.md) drew other trials, 0.8850 against 0.8840.
    looks = ["design.looks=3", 'design.futility="bsOF"']
    plain = run(small_config, looks, n_sims=2000)["scenarios"]
    ignored = run(small_config, [*looks, "design.efficacy_param=2", "design.futility_param=3"], n_sims=2000)["scenarios"]
    assert ignored == plain
    used = run(small_config, [*looks, 'design.efficacy="asHSD"', "design.efficacy_param=-4"], n_sims=2000)["scenarios"]
    other = run(small_config, [*looks, 'design.efficacy="asHSD"', "design.efficacy_param=-2"], n_sims=2000)["scenarios"]
    assert used != other
