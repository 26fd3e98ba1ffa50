"""The public Python API: docs/api.md runs as written, results equal the CLI's files."""

from __future__ import annotations

import builtins
import json
import re
from pathlib import Path

import pytest

import simulator as p3
from simulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = """
[trial]
name = "small"
n_total = 200

[endpoints.resp]
kind = "binary"
test = "z_pooled"
truth = { control = 0.3, experimental = 0.5 }
prior = { control = { events = 9, n = 30 }, experimental = { events = 15, n = 30 } }

[design]
looks = 2

[simulation]
null = true
"""


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_docs_api_example_runs(monkeypatch):
    # Every python block of docs/api.md, in order, in one namespace, from the repository root.
    blocks = _python_blocks((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert len(blocks) == 3
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102 - the documented example
    assert isinstance(namespace["res"], p3.SimulationResult)
    assert isinstance(namespace["sz"], p3.SizeResult)


def test_to_dict_equals_the_cli_report(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--sims", "3000", "--seed", "5", "--jobs", "1", "--quiet"]) == 0
    from_cli = json.loads((out / "report.json").read_text(encoding="utf-8"))
    res = p3.Trial.from_toml(config).simulate(n_sims=3000, seed=5, jobs=2)  # jobs never changes a result
    mine = res.to_dict()
    for report in (from_cli, mine):
        report["meta"].pop("runtime_s")
        report["meta"].pop("run_id")  # a new random id per run
        report["meta"].pop("command")
        report["meta"]["config"]["simulation"].pop("jobs")
    assert mine == from_cli
    # A dict config with the same keys gives the same numbers.
    same = p3.Trial.from_dict(p3.Trial.from_toml(config).to_dict()).simulate(n_sims=3000, seed=5, jobs=1)
    assert same.power == res.power and same.assurance == res.assurance


def test_estimates_and_single_scenario_accessors(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    res = p3.Trial.from_toml(config).simulate(n_sims=2000, seed=1)
    block = res.to_dict()["scenarios"][0]
    assert res.power == p3.Estimate(block["power"], block["power_mcse"], n=2000)
    assert res.type1 == p3.Estimate(block["type1"], block["type1_mcse"], n=2000)
    assert res.scenarios[0].endpoints["resp"].assurance.value == block["endpoints"]["resp"]["assurance"]
    assert "SimulationResult" in repr(res) and "<table" in res._repr_html_()
    two = p3.Trial.from_toml(config).override({"trial.n_total": [200, 300]}).simulate(n_sims=500, seed=1)
    with pytest.raises(ValueError, match=r"res\.scenarios\[i\]"):
        _ = two.assurance


def test_an_estimate_prints_as_the_reports_print_it():
    # A review found 0.67 ± 0.01 in Python where every report printed 0.6680 ± 0.0149, and 0.0000 ± 0.0000
    # where they printed the rule-of-three bound 0 (< 0.000075).
    assert str(p3.Estimate(0.66803, 0.01489)) == "0.6680 ± 0.0149"
    assert str(p3.Estimate(0.02512, 0.00049)) == "0.0251 ± 0.0005"
    assert str(p3.Estimate(0.000041, 0.000020)) == "0.00004 ± 0.00002"  # more decimals, never ± 0.0000
    assert f"{p3.Estimate(0.5, 0.012)}" == "0.5000 ± 0.0120"
    assert str(p3.Estimate(0.0, 0.0, n=40_000)) == "0 (< 0.000075)"
    assert str(p3.Estimate(1.0, 0.0, n=4_000)) == "1 (> 0.99925)"
    assert str(p3.Estimate(0.0, 0.0)) == "0.0000 ± 0.0000"  # n unknown: no bound to give
    assert str(p3.Estimate.of_proportion(0, 40_000)) == "0 (< 0.000075)"
    with pytest.raises(TypeError, match="Estimate.value must be a number, got 'a'"):
        p3.Estimate("a", 1)


def test_result_estimates_carry_their_trials():
    res = p3.Trial.from_toml(ROOT / "configs" / "cairo6.toml", "trial.n_total=330").simulate(n_sims=400, seed=5)
    block = res.to_dict()["scenarios"][0]
    assert res.type1 == p3.Estimate(block["type1"], block["type1_mcse"], n=400)
    assert res.scenarios[0].endpoints["os"].power.n == 400 and res.power.n == 400


def test_bad_input_raises_the_cli_message(tmp_path, capsys):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    with pytest.raises(p3.InputError) as caught:
        p3.Trial.from_toml(config).override({"design.alpha": 0.5})
    assert main(["design", str(config), "--set", "design.alpha=0.5"]) == 2
    assert capsys.readouterr().err.strip() == f"p3sim: error: {caught.value}"
    assert "config key `design.alpha`: must be a number in (0, 0.5)" in str(caught.value)
    with pytest.raises(p3.InputError, match="argument `n_sims`: must be a positive integer"):
        p3.Trial.from_toml(config).simulate(n_sims=0)


def test_to_frame_without_pandas_says_how_to_get_it(tmp_path, monkeypatch):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    res = p3.Trial.from_toml(config).simulate(n_sims=500, seed=1)
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"pip install 'phase3-simulator\[pandas\]'"):
        res.to_frame()


def test_to_frame_holds_the_csv_rows(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    res = p3.Trial.from_toml(config).simulate(n_sims=500, seed=1)
    frame = res.to_frame()
    assert list(frame["level"]) == ["trial", "endpoint"]
    assert frame.loc[0, "power"] == res.power.value
    assert frame.loc[1, "assurance"] == res.scenarios[0].endpoints["resp"].assurance.value


def test_design_and_size_objects(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    trial = p3.Trial.from_toml(config)
    d = trial.design()
    assert d.to_dict()["scenarios"][0]["endpoints"]["resp"]["efficacy_bounds"] == d.scenarios[0]["endpoints"]["resp"]["efficacy_bounds"]
    assert "resp" in d.table()
    sz = trial.size("power", 0.8, n_sims=2000, seed=2)
    assert sz.axis == "n_total" and sz.events is None
    assert sz.block["n_total"] == sz.n_total and sz.estimate.value >= 0.8


def test_public_modules_doctests(monkeypatch):
    import doctest

    import simulator.api
    import simulator.design.means
    import simulator.design.nph
    import simulator.estimate

    monkeypatch.chdir(ROOT)  # the API's example reads configs/
    for module in (simulator.estimate, simulator.design.means, simulator.design.nph, simulator.api):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_report_schema_accepts_reports_and_rejects_broken_ones(tmp_path, report_validator):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    report = p3.Trial.from_toml(config).simulate(n_sims=500, seed=1).to_dict()
    assert list(report_validator.iter_errors(report)) == []
    broken = json.loads(json.dumps(report))
    broken["scenarios"][0]["power"] = 1.5
    del broken["scenarios"][0]["endpoints"]["resp"]["critical_effect"]
    broken["meta"]["success_rule"] = "most"
    messages = [e.message for e in report_validator.iter_errors(broken)]
    assert len(messages) == 3, messages


def test_override_reads_keys_as_toml_does(tmp_path):
    # A quoted part keeps its dots, as in a TOML file: the only way to name one
    # [correlation] pair or one [sweep] key with its own dotted name.
    config = tmp_path / "two.toml"
    config.write_text(SMALL + '[endpoints.tox]\nkind = "binary"\nbetter = "lower"\n'
                      '[endpoints.tox.truth]\ncontrol = 0.2\nexperimental = 0.2\n'
                      '[correlation]\n"resp.tox" = 0.5\n', encoding="utf-8")
    base = p3.Trial.from_toml(config)
    for quoted in ('correlation."resp.tox"', "correlation.'resp.tox'", "correlation.resp.tox"):
        assert base.override({quoted: 0.2}).to_dict()["correlation"] == {"resp.tox": 0.2}
    from_file = p3.Trial.from_toml(config, ['correlation."resp.tox"=0.2'])
    assert from_file.to_dict()["correlation"] == {"resp.tox": 0.2}
    swept = base.override(['sweep."endpoints.resp.truth.experimental"=[0.4, 0.5]'])
    assert swept.to_dict()["sweep"] == {"endpoints.resp.truth.experimental": [0.4, 0.5]}
    assert [s.params for s in swept.scenarios] == [{"endpoints.resp.truth.experimental": v} for v in (0.4, 0.5)]


CONFIG = ROOT / "configs" / "rates_group_sequential.toml"


@pytest.mark.parametrize("call, pattern", [
    (lambda t: p3.Trial.from_dict({1: 2}), r"^config: keys must be strings \(TOML keys\), got 1$"),
    (lambda t: p3.Trial.from_dict({**t.to_dict(), "sweep": {5: [1]}}), r"^config key `sweep`: keys must be strings"),
    (lambda t: t.override(None), r'^argument `override`: must be a mapping \{"KEY": value\}, one "KEY=VALUE" string '
                                 r'or a list of them, got None$'),
    (lambda t: t.override([5]), r'^argument `override`: must be a mapping \{"KEY": value\}, one "KEY=VALUE" string '
                                r'or a list of them, got the item 5$'),
    (lambda t: p3.Trial.from_toml(None), r"^argument `path`: must be a config file name \(str or Path\), got None$"),
    (lambda t: t.simulate(n_sims=10, progress=5), r"^argument `progress`: must be a ProgressHook"),
    (lambda t: t.simulate(n_sims=10, checkpoints=__file__), r"^argument `checkpoints`: .* is not a folder"),
    (lambda t: t.size(log=5, n_sims=100), r"^argument `log`: must be a function \(or None\), got 5$"),
    # The runner's checks are worded for the command line; the API names its own arguments.
    (lambda t: t.simulate(n_sims=10, backend="foo"), r'^argument `backend`: must be one of .*, got "foo"$'),
    (lambda t: t.simulate(n_sims=10, backend="dask"), r'^argument `scheduler`: required with `backend="dask"`'),
    (lambda t: t.size(target="foo"), r'^argument `target`: must be one of power, assurance, got "foo"$'),
    (lambda t: t.size(level=3), r"^argument `level`: must be in \(0, 1\), got 3$"),
    (lambda t: t.size(level="0.8"), r"^argument `level`: must be in \(0, 1\), got '0.8'$"),  # a string, not 0.8
    (lambda t: t.size(n_sims=100), r"^argument `n_sims` \(simulation.n_sims\): `size` needs at least"),
    # What the user gave is shown as given (a code review found "--loky now" rewritten to "loky now").
    (lambda t: t.simulate(n_sims=10, backend="--loky now"), r'^argument `backend`: must be one of .*, got "--loky now"$'),
])
def test_the_api_raises_input_error_for_bad_arguments(call, pattern):
    # An independent review found TypeError, AttributeError and FileExistsError here (docs/api.md: InputError).
    trial = p3.Trial.from_toml(CONFIG)
    with pytest.raises(p3.InputError, match=pattern):
        call(trial)


def test_save_checks_its_folder_as_the_command_line_does(tmp_path):
    result = p3.Trial.from_toml(CONFIG).simulate(n_sims=200)
    afile = tmp_path / "a-file"
    afile.write_text("x", encoding="utf-8")
    for out, pattern in (("", r"must be a folder path, got an empty string"), (afile, r"is not a folder"),
                         (afile / "x", r"lies under .*, which is not a folder"), ("a\0b", r"cannot hold a NUL")):
        with pytest.raises(p3.InputError, match=rf"^argument `out`: .*{pattern}"):
            result.save(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written


def test_python_forms_of_toml_values_are_read_as_toml_ones():
    # One override string, a tuple for a list, NumPy scalars: what a Python user naturally passes.
    np = pytest.importorskip("numpy")
    trial = p3.Trial.from_toml(CONFIG, "trial.n_total=300")
    assert trial.scenarios[0].config.trial.n_total == 300
    assert trial.override("trial.n_total=302").scenarios[0].config.trial.n_total == 302
    mapping = trial.to_dict()
    mapping["trial"].update(n_total=np.int64(250), arms=("control", "experimental"))
    config = p3.Trial.from_dict(mapping).scenarios[0].config
    assert config.trial.n_total == 250 and config.trial.arms == ("control", "experimental")


def test_flags_are_checked_as_booleans(tmp_path):
    # resume="no" and plots="no" were taken as true (a non-empty string).
    trial = p3.Trial.from_toml(CONFIG)
    with pytest.raises(p3.InputError, match=r"^argument `resume`: must be True or False, got 'no'$"):
        trial.simulate(n_sims=10, resume="no")
    with pytest.raises(p3.InputError, match=r"^argument `plots`: must be True or False, got 'no'$"):
        trial.simulate(n_sims=200).save(tmp_path / "out", plots="no")


def test_a_whole_number_written_as_a_float_is_an_integer():
    # docs/config.md: `n_sims = 1e6` is 1000000; a fraction is refused.
    trial = p3.Trial.from_toml(CONFIG, "simulation.n_sims=1.5e3")
    assert trial.scenarios[0].config.simulation.n_sims == 1500
    assert type(trial.scenarios[0].config.simulation.n_sims) is int
    with pytest.raises(p3.InputError, match=r"^config key `simulation.n_sims`: must be an integer in \[1, .*got 2.5\b"):
        trial.override({"simulation.n_sims": 2.5})


def test_numpy_integers_are_counts():
    # A review found simulate(n_sims=np.int64(1000)) refused with "must be a positive integer, got np.int64(1000)".
    import numpy as np
    trial = p3.Trial.from_toml(CONFIG, "trial.n_total=400")
    a = trial.simulate(n_sims=np.int64(300), seed=np.int64(3), jobs=np.int64(1))
    b = trial.simulate(n_sims=300, seed=3, jobs=1)
    assert a.power == b.power and a.meta["n_sims"] == 300 and type(a.meta["seed"]) is int


def test_counts_out_of_range_and_bad_override_items_name_the_python_argument(tmp_path, capsys):
    # A review found `seed=2**64` named `simulation.seed` and a bad override item named `--set ...`.
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    trial = p3.Trial.from_toml(config)
    big = 2**64
    with pytest.raises(p3.InputError, match=rf"^argument `seed`: must be an integer >= 0 and at most {2**63 - 1}, "
                                            rf"got {big}$"):
        trial.simulate(seed=big)
    with pytest.raises(p3.InputError, match=r"^argument `jobs`: must be an integer >= 0 and at most 4096, got 5000$"):
        trial.simulate(jobs=5000)
    with pytest.raises(p3.InputError, match=r"^argument `override`, item 'trial.n_total': must be KEY=VALUE"):
        trial.override(["trial.n_total"])
    with pytest.raises(p3.InputError, match=r"^argument `overrides`, item 'a=1\\nb=2': sets more than one key; "
                                            r"give each key its own item$"):
        p3.Trial.from_toml(config, overrides=["a=1\nb=2"])
    # The command line names its flag, with the same range.
    assert main(["run", str(config), "--seed", str(big), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"p3sim: error: argument `--seed`: must be an integer >= 0 and at most {2**63 - 1}, got {big}")


def test_an_override_item_with_a_backtick_is_named_whole(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    with pytest.raises(p3.InputError, match=r"^argument `override`, item 'x=`': VALUE must be a TOML value"):
        p3.Trial.from_toml(config).override(["x=`"])


def test_an_input_error_is_one_line_whatever_a_name_holds():
    # A review: the CLI escaped a line break typed in a name, the API's InputError kept it (two lines).
    with pytest.raises(p3.InputError) as info:
        p3.Trial.from_dict({"trial": {"n_total": 100},
                            "endpoints": {"a\nb\u2028c": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.5}}}})
    assert len(str(info.value).splitlines()) == 1
    assert "endpoints.a\\nb\\u2028c" in str(info.value)


def test_endpoint_results_carry_the_adjusted_probabilities(tmp_path):
    # A review: the adjusted (Holm, fixed sequence) rejections were in to_dict() only.
    text = """
[trial]
n_total = 400
[endpoints.a]
kind = "binary"
truth = { control = 0.3, experimental = 0.42 }
[endpoints.b]
kind = "binary"
truth = { control = 0.5, experimental = 0.6 }
[success]
rule = "any"
multiplicity = "holm"
"""
    path = tmp_path / "holm.toml"
    path.write_text(text, encoding="utf-8")
    res = p3.Trial.from_toml(path).simulate(n_sims=2000, seed=3)
    endpoint = res.scenarios[0].endpoints["a"]
    data = res.to_dict()["scenarios"][0]["endpoints"]["a"]
    assert endpoint.power_adjusted.value == data["power_adjusted"]
    assert endpoint.power_adjusted.mcse == data["power_adjusted_mcse"]
    assert endpoint.type1_adjusted is None and endpoint.assurance_adjusted is None  # not simulated here
    plain = p3.Trial.from_toml(path).override({"success.multiplicity": "none", "success.rule": "all"})
    assert plain.simulate(n_sims=500, seed=3).scenarios[0].endpoints["a"].power_adjusted is None


def test_a_result_with_swept_n_sims_says_so(tmp_path):
    # A code review: repr() printed the first scenario's trials per stream for a sweep over simulation.n_sims.
    path = tmp_path / "s.toml"
    path.write_text('[trial]\nn_total = 100\n[endpoints.r]\nkind = "binary"\n'
                    'truth = { control = 0.3, experimental = 0.5 }\n[sweep]\n"simulation.n_sims" = [300, 1000]\n',
                    encoding="utf-8")
    res = p3.Trial.from_toml(path).simulate(seed=1)
    assert "300 to 1000 (swept: each scenario's n_sims) trials per stream" in repr(res).splitlines()[0]
    assert [s.power.n for s in res.scenarios] == [300, 1000]


@pytest.mark.parametrize("scheduler", [5, ["a"], b"tcp://127.0.0.1:1"])
def test_a_scheduler_that_is_not_a_string_is_an_input_error(scheduler):
    # A review: an int, a list or bytes raised TypeError inside the address check.
    trial = p3.Trial.from_toml("configs/rates_group_sequential.toml")
    with pytest.raises(p3.InputError, match=r"argument `scheduler`: must be a scheduler address \(a string\)"):
        trial.simulate(n_sims=100, backend="dask", scheduler=scheduler)


def test_the_type_i_error_of_non_binding_futility_says_what_it_obeys():
    # A review: type1 obeyed the non-binding futility stops and nothing said so.
    res = p3.Trial.from_toml("configs/rates_group_sequential.toml").override({"simulation.null": True})
    block = res.simulate(n_sims=1000, seed=2).to_dict()["scenarios"][0]["endpoints"]["response"]["analytic"]
    assert "type1 obeys the futility bounds; they are non-binding" in block["note"]
    binding = res.override({"design.binding": True}).simulate(n_sims=1000, seed=2).to_dict()
    assert "type1 obeys" not in binding["scenarios"][0]["endpoints"]["response"]["analytic"].get("note", "")


def test_estimate_formats_and_checks():
    # Reviews: ".2" cut the text to "0."; a NaN or negative MCSE was taken.
    e = p3.Estimate(0.81234, 0.0039)
    assert f"{e:.2}" == "0.81" and f"{e:.1%}" == "81.2%" and f"{e}" == "0.8123 ± 0.0039"
    for bad in (float("nan"), -0.01):
        with pytest.raises(ValueError, match="mcse must be >= 0"):
            p3.Estimate(0.5, bad)
    assert str(p3.Estimate(0.5, -0.0)) == str(p3.Estimate(0.5, 0.0))
    # Reviews: grouping raised ("Cannot specify ',' with 's'"); n = 0 was a TypeError beside a ValueError.
    assert f"{e:,}" == "0.81234" and f"{e:_}" == "0.81234" and f"{e:+}" == "+0.81234" and f"{e:>16}" == " 0.8123 ± 0.0039"
    with pytest.raises(ValueError, match="Estimate.n must be a positive integer"):
        p3.Estimate(0.5, 0.1, n=0)
    with pytest.raises(TypeError, match="Estimate.n must be a positive integer"):
        p3.Estimate(0.5, 0.1, n=2.0)


def test_a_trials_scenarios_are_copied_once():
    # Reviews: changing a scenario changed the Trial; copying at every access was slow in large sweeps.
    trial = p3.Trial.from_toml("configs/cairo6.toml")
    shown = trial.scenarios
    shown[0].params["changed"] = 1
    assert "changed" not in trial._scenarios[0].params
    assert trial.scenarios[0] is shown[0]  # the same copies, not new ones at each access


def test_save_respects_a_folder_held_by_another_run(tmp_path):
    # A review: save wrote another config's reports into a folder a running `p3sim run` held (the CLI exits 3).
    import subprocess
    import sys

    from simulator.errors import NotReadyError

    out = tmp_path / "held"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(out / ".p3sim.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = p3.Trial.from_toml("configs/rates_group_sequential.toml").simulate(n_sims=200, jobs=1)
        with pytest.raises(NotReadyError, match="is in use by another p3sim run"):
            result.save(out, plots=False)
        assert not (out / "report.json").exists()
    finally:
        holder.kill()
        holder.wait()
    assert result.save(out, plots=False) == out
    assert (out / "results.csv").is_file()


def test_a_designs_repr_is_short():
    # A review: repr was the whole design table (12 kB for CAIRO6), where docs/api.md promises a short summary.
    d = p3.Trial.from_toml("configs/cairo6.toml").design()
    lines = repr(d).splitlines()
    assert lines[0] == "DesignResult: 3 scenario(s); .table() prints the design" and len(lines) == 4
    power = d.scenarios[1]["endpoints"]["os"]["power"]
    assert lines[2].startswith(f"  [1] n_total = 358: os power {power:.4f} (analytic)")


def test_the_folder_lock_is_the_holding_threads_alone(tmp_path):
    # A code review: the lock let another thread's save through a folder this process held, and a folder named
    # *.tmp among the checkpoints (an orphan's name) ended the run with an internal error.
    import threading

    from simulator.errors import NotReadyError
    from simulator.runner.folder import _HELD, OutputFolder

    out = tmp_path / "held"
    (out / "checkpoints" / "stale.tmp").mkdir(parents=True)
    result = p3.Trial.from_toml("configs/rates_group_sequential.toml").simulate(n_sims=200, jobs=1)
    caught = []

    def save_elsewhere():
        try:
            result.save(out, plots=False)
        except NotReadyError as err:
            caught.append(err)

    with OutputFolder(out, "out"):
        worker = threading.Thread(target=save_elsewhere)
        worker.start()
        worker.join()
        assert len(caught) == 1 and not (out / "report.json").exists()
        assert result.save(out, plots=False) == out  # the holding thread itself may write
    assert not _HELD and (out / "checkpoints" / "stale.tmp").is_dir()


def test_derived_events_of_a_rate_accrual_without_a_size_say_what_design_does():
    # A review: with the accrual already a rate, the derivation advised giving the accrual as a rate.
    trial = p3.Trial.from_dict({"endpoints": {"os": {
        "kind": "survival", "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.7},
        "accrual": {"rate": 20}, "follow_up": {"minimum": 12.0}}}, "design": {"power": 0.8}})
    text = trial.derived["events_derivation"]
    assert "give the accrual as a rate" not in text
    assert "the accrual is a rate and trial.n_total is not given" in text
    assert trial.design().meta["events_derivation"].startswith("expected events of trial.n_total = 388")
