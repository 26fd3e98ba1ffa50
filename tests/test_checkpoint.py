"""Checkpoints: an interrupted sweep resumes, recomputing only unfinished scenarios."""

import json
import os

import numpy as np
import pytest

from _runs import run
from simulator.cli import main
from simulator.runner import run as run_module
from simulator.runner.checkpoint import CheckpointStore
from simulator.runner.progress import ProgressHook
from simulator.runner.simulate import StreamCounts

SWEEP = ["sweep.endpoints.resp.truth.experimental=[0.35, 0.4, 0.45, 0.5, 0.55, 0.6]", "simulation.null=true"]


class Interrupt(Exception):
    """Stands in for Ctrl-C or a killed run."""


class Counter(ProgressHook):
    """Counts computed and resumed scenarios; raises after ``stop_after`` computed ones."""

    def __init__(self, stop_after=None):
        self.computed, self.resumed, self.stop_after = [], [], stop_after

    def scenario_done(self, index, resumed):
        (self.resumed if resumed else self.computed).append(index)
        if self.stop_after is not None and len(self.computed) >= self.stop_after:
            raise Interrupt


@pytest.mark.parametrize("jobs", [1, 2])
def test_killed_sweep_resumes_to_the_uninterrupted_report(small_config, tmp_path, jobs):
    # 70 000 trials = 2 chunks per stream: with jobs = 2 chunks of several
    # scenarios are in flight when the run stops.
    whole = run(small_config, SWEEP, n_sims=70_000, jobs=jobs, out=tmp_path / "whole")
    out = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        run(small_config, SWEEP, n_sims=70_000, jobs=jobs, out=out, progress=Counter(stop_after=3))
    assert len(list((out / "checkpoints").glob("*.json"))) == 3
    assert not list((out / "checkpoints").glob("*.tmp"))
    again = Counter()
    resumed = run(small_config, SWEEP, n_sims=70_000, jobs=jobs, out=out, progress=again)
    assert len(again.resumed) == 3 and len(again.computed) == 3
    assert sorted(again.resumed + again.computed) == list(range(6))
    assert resumed["scenarios"] == whole["scenarios"]
    assert (out / "results.csv").read_text() == (tmp_path / "whole" / "results.csv").read_text()


def test_rerun_recomputes_nothing_and_no_resume_recomputes_all(small_config, tmp_path):
    first = run(small_config, SWEEP, n_sims=3000, out=tmp_path)
    again = Counter()
    assert run(small_config, SWEEP, n_sims=3000, out=tmp_path, progress=again)["scenarios"] == first["scenarios"]
    assert again.computed == [] and len(again.resumed) == 6
    fresh = Counter()
    assert run(small_config, SWEEP, n_sims=3000, out=tmp_path, progress=fresh, resume=False)["scenarios"] == first["scenarios"]
    assert len(fresh.computed) == 6 and fresh.resumed == []


def test_config_change_invalidates_only_what_changed(small_config, tmp_path):
    run(small_config, SWEEP, n_sims=3000, out=tmp_path)
    changed = Counter()
    # One new sweep value: the five others are found; the new one is computed.
    run(small_config, [SWEEP[0].replace("0.6]", "0.65]"), SWEEP[1]], n_sims=3000, out=tmp_path, progress=changed)
    assert len(changed.computed) == 1 and len(changed.resumed) == 5
    for override in (["simulation.seed=8"], ["simulation.n_sims=3001"], ["design.alpha=0.05"]):
        recount = Counter()
        run(small_config, [*SWEEP, *override], n_sims=None if "n_sims" in override[0] else 3000, out=tmp_path, progress=recount)
        assert recount.resumed == [], override


def test_adding_a_scenario_resumes_the_others_unchanged(small_config, tmp_path):
    three = run(small_config, ["sweep.endpoints.resp.truth.experimental=[0.4, 0.5, 0.6]"], n_sims=3000, out=tmp_path)
    counter = Counter()
    four = run(small_config, ["sweep.endpoints.resp.truth.experimental=[0.4, 0.45, 0.5, 0.6]"], n_sims=3000,
               out=tmp_path, progress=counter)
    assert counter.computed == [1] and counter.resumed == [0, 2, 3]
    assert [four["scenarios"][i] for i in (0, 2, 3)] == three["scenarios"]


def test_checkpoint_round_trip_is_bit_identical(small_config, tmp_path):
    from simulator.config.load import load_scenarios
    from simulator.runner.simulate import build_plans

    _, scenarios = load_scenarios(small_config)
    bundle = build_plans(scenarios[0])
    n_sims = bundle.scenario.config.simulation.n_sims
    floats = np.array([0.1, 1 / 3, np.pi * 1e-300, 2.0**-1074, 1e308])
    counts = StreamCounts(n_sims=n_sims, success=3, endpoints={"resp": {"reject": np.array([3], dtype=np.int64), "x": floats}})
    store = CheckpointStore(tmp_path)
    store.save(bundle, {"power": counts, "assurance": counts})
    back = store.load(bundle)  # no template: the counts are checked against each other only
    for stream in ("power", "assurance"):
        got = back[stream].endpoints["resp"]
        assert got["x"].dtype == floats.dtype and got["x"].tobytes() == floats.tobytes()
        assert got["reject"].dtype == np.int64 and got["reject"].tolist() == [3]
        assert (back[stream].n_sims, back[stream].success) == (n_sims, 3)


def test_unusable_checkpoints_are_ignored(small_config, tmp_path):
    first = run(small_config, n_sims=3000, out=tmp_path)
    (path,) = (tmp_path / "checkpoints").glob("*.json")
    data = json.loads(path.read_text())
    # Unreadable; another version; another engine (a source file changed).
    for text in ("{not json", json.dumps({**data, "version": "0.0.0"}), json.dumps({**data, "code": "0" * 32})):
        path.write_text(text)
        counter = Counter()
        assert run(small_config, n_sims=3000, out=tmp_path, progress=counter)["scenarios"] == first["scenarios"]
        assert counter.computed == [0]


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "too large"])
def test_a_checkpoint_path_that_is_no_plain_file_is_recomputed(small_config, tmp_path, kind):
    # A review: a FIFO at a checkpoint's path hung the run before it simulated anything, and a link to /dev/zero
    # read until the memory ran out. Neither is read: the scenario is recomputed, and its checkpoint written.
    first = run(small_config, n_sims=3000, out=tmp_path)
    (path,) = (tmp_path / "checkpoints").glob("*.json")
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "too large":
        with open(path, "wb") as handle:
            handle.truncate(64 * 2**20 + 1)  # sparse: no disk used
    else:
        path.symlink_to("/dev/zero")
    counter = Counter()
    assert run(small_config, n_sims=3000, out=tmp_path, progress=counter)["scenarios"] == first["scenarios"]
    assert counter.computed == [0]
    assert path.is_file() and not path.is_symlink() and json.loads(path.read_text())["format"]


def test_cli_interrupt_exits_130_and_says_how_to_resume(small_config, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "simulate_scenarios", interrupted)
    assert main(["run", str(small_config), "--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err
    # Interrupted before any scenario finished: nothing is kept, and the line says so (a review: it named a
    # checkpoints folder to resume from that did not exist). With a finished scenario it says how to resume
    # (tests/test_hostile_input.py, test_sigterm_exits_143_keeping_finished_scenarios).
    assert err.strip() == "p3sim: interrupted before any scenario finished; nothing is kept"


def test_cli_no_resume(small_config, tmp_path, monkeypatch):
    seen = {}
    original = run_module.simulate_scenarios

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(run_module, "simulate_scenarios", spy)
    assert main(["run", str(small_config), "--out", str(tmp_path), "--quiet", "--no-resume"]) == 0
    assert seen["resume"] is False


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_report_files_get_the_permissions_of_any_new_file(small_config, tmp_path, umask, mode):
    # Written atomically, but not owner-only as tempfile's files are: a report is
    # handed over, so the folder's readers must be able to open it.
    previous = os.umask(umask)
    try:
        assert main(["run", str(small_config), "--out", str(tmp_path / "out"), "--sims", "200", "--quiet"]) == 0
    finally:
        os.umask(previous)
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != ".p3sim.lock"]
    assert {p.name for p in written} >= {"report.html", "report.json", "report.md", "results.csv"}
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {oct(mode)}


def test_keys_that_change_decisions_but_not_draws_get_their_own_checkpoints(small_config, tmp_path):
    # A review: the futility threshold and design.two_sided_futility stay out of the seed digest (every threshold
    # of a sweep reads the same trials) and so were out of the checkpoints' names: a rerun at another threshold
    # resumed the first one's counts, and a sweep over the threshold wrote one file for all its scenarios.
    rule = ["design.looks=2", "interim.futility={ on = \"predictive_probability\", below = 0.1 }"]
    first = run(small_config, rule, n_sims=3000, out=tmp_path)
    other = [rule[0], rule[1].replace("0.1", "0.6")]
    again = Counter()
    changed = run(small_config, other, n_sims=3000, out=tmp_path, progress=again)
    assert again.resumed == [] and changed["meta"]["resumed_scenarios"] == []
    assert changed["scenarios"] == run(small_config, other, n_sims=3000)["scenarios"]
    assert changed["scenarios"] != first["scenarios"]
    swept = [rule[0], rule[1], 'sweep."interim.futility.below"=[0.0, 0.3]']
    sweep_out = tmp_path / "sweep"
    whole = run(small_config, swept, n_sims=3000, out=sweep_out)
    assert len(list((sweep_out / "checkpoints").glob("*.json"))) == 2
    assert run(small_config, swept, n_sims=3000, out=sweep_out)["scenarios"] == whole["scenarios"]
    two_sided = ["design.sided=2", "design.alpha=0.05", "design.looks=2", 'design.futility="bsOF"']
    inner = run(small_config, two_sided, n_sims=3000, out=tmp_path / "two")
    recount = Counter()
    one_sided = run(small_config, [*two_sided, 'design.two_sided_futility="one_sided"'], n_sims=3000,
                    out=tmp_path / "two", progress=recount)
    assert recount.resumed == [] and one_sided["scenarios"] != inner["scenarios"]


def test_an_interrupted_write_leaves_no_report_of_an_earlier_run(small_config, tmp_path, monkeypatch):
    # A review: results.csv (which has no run id) kept an earlier seed's numbers beside a new report.json when a run
    # was interrupted while it wrote its reports. The earlier files go first, the quick ones are written before the
    # figures: an interruption in report.html leaves report.json, report.md and results.csv of this run only.
    import csv

    from _runs import trial
    from simulator import results as results_module

    trial(small_config).simulate(n_sims=500, seed=5).save(tmp_path, plots=False)
    second = trial(small_config).simulate(n_sims=500, seed=6)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results_module, "render_html", interrupted)
    with pytest.raises(KeyboardInterrupt):
        second.save(tmp_path, plots=False)
    assert not (tmp_path / "report.html").exists()
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["meta"]["seed"] == 6
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as handle:
        first_row = next(csv.DictReader(handle))
    assert float(first_row["power"]) == report["scenarios"][0]["power"]


def test_an_interrupt_with_only_earlier_checkpoints_says_so(small_config, tmp_path, monkeypatch, capsys):
    # A review: with another seed's checkpoints in the folder, an interrupt before this run finished a scenario said
    # "finished scenarios are kept ... to resume"; those files are kept, and resume only what they hold.
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    (tmp_path / "checkpoints").mkdir()
    earlier = tmp_path / "checkpoints" / "0123-seed1-n10.json"
    earlier.write_text("{}", encoding="utf-8")
    os.utime(earlier, (0, 0))
    monkeypatch.setattr(run_module, "simulate_scenarios", interrupted)
    assert main(["run", str(small_config), "--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err.strip()
    assert err == (f"p3sim: interrupted before this run finished a scenario; the checkpoints already in "
                   f"{tmp_path / 'checkpoints'}/ are kept, and running the same command again resumes any scenario "
                   "they hold"), err
