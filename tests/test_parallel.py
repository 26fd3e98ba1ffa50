"""Backends and seeds: results never depend on jobs, backend or scenario order."""

import io
import sys

import pytest

from _runs import run
from simulator.api import Trial
from simulator.cli import main
from simulator.engine.seeding import CHUNK_SIZE, PATIENT_CHUNK_SIZE
from simulator.runner.progress import StderrProgress
from simulator.runner.simulate import _n_tasks, build_plans

SWEEP = ["sweep.endpoints.resp.truth.experimental=[0.4, 0.5, 0.6]", "simulation.null=true"]


def _by_params(report):
    return {tuple(sorted(s["params"].items())): s for s in report["scenarios"]}


def test_jobs_1_and_2_are_bit_identical(small_config, tmp_path):
    # 70 000 trials = 2 chunks per stream, 3 streams, 3 scenarios: 18 tasks
    # that two processes share and finish in any order.
    one = run(small_config, SWEEP, n_sims=70_000, jobs=1, out=tmp_path / "one")
    two = run(small_config, SWEEP, n_sims=70_000, jobs=2, out=tmp_path / "two")
    assert one["scenarios"] == two["scenarios"]
    assert (tmp_path / "one" / "results.csv").read_text() == (tmp_path / "two" / "results.csv").read_text()


def test_threads_backend_is_bit_identical_to_processes(small_config, tmp_path):
    # Two threads share 18 tasks (finishing in any order) in this process.
    processes = run(small_config, SWEEP, n_sims=70_000, jobs=2, backend="loky", out=tmp_path / "p")
    threads = run(small_config, SWEEP, n_sims=70_000, jobs=2, backend="threads", out=tmp_path / "t")
    assert threads["scenarios"] == processes["scenarios"]


@pytest.mark.parametrize("backend, compiled", [("loky", True), ("threads", False)])
def test_processes_start_after_the_kernels_are_compiled_here(small_config, monkeypatch, backend, compiled):
    # Worker processes load the kernels from Numba's cache, filled by one trial per stream
    # in this process first, instead of each compiling them; threads share this process's.
    import simulator.runner.simulate as simulate

    seen = []
    monkeypatch.setattr(simulate, "compile_here", lambda bundles: seen.extend(bundles))
    run(small_config, SWEEP, n_sims=2000, jobs=2, backend=backend)
    assert len(seen) == (3 if compiled else 0)  # the sweep's three scenarios


def test_threads_backend_on_a_joint_survival_trial(tmp_path):
    # Per-patient (joint) kernels also give the same numbers in threads: 9000 trials are 3 chunks
    # per stream (PATIENT_CHUNK_SIZE), shared by two threads.
    one = run("configs/cairo6.toml", ["trial.n_total=358"], n_sims=9000, jobs=1)
    two = run("configs/cairo6.toml", ["trial.n_total=358"], n_sims=9000, jobs=2, backend="threads")
    assert one["scenarios"] == two["scenarios"]


@pytest.mark.parametrize("config, overrides, expected", [
    ("configs/cairo6.toml", [], PATIENT_CHUNK_SIZE),  # joint: every patient simulated
    ("configs/cairo6_os.toml", [], PATIENT_CHUNK_SIZE),
    ("configs/rates_group_sequential.toml", [], CHUNK_SIZE),  # binary: counts, not patients
    ("configs/continuous_qol.toml", [], CHUNK_SIZE),  # sufficient statistics
])
def test_per_patient_engines_take_smaller_chunks(config, overrides, expected):
    # A survival run of 10^4 trials is three chunks that two cores share, not one.
    trial = Trial.from_toml(config, overrides)
    bundle = build_plans(trial.scenarios[0])
    assert bundle.chunk == expected
    assert _n_tasks(bundle) == len(bundle.streams) * -(-bundle.scenario.config.simulation.n_sims // expected)


def test_dask_backend_is_bit_identical_to_local(small_config):
    import distributed  # noqa: F401 - in the test extra: a missing one is a broken install, not a skip
    from distributed import LocalCluster

    local = run(small_config, SWEEP, n_sims=70_000, jobs=1)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        remote = run(small_config, SWEEP, n_sims=70_000, backend="dask", scheduler=cluster.scheduler_address)
    assert remote["scenarios"] == local["scenarios"]


def test_dask_missing_exits_2_with_install_hint(small_config, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    assert main(["run", str(small_config), "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "phase3-simulator[dask]"' in err and err.count("\n") == 1


@pytest.mark.parametrize(("scheme", "needs"), [("tls", "tls:// needs Dask's TLS configuration"),
                                               ("ucx", "ucx:// needs ucx-py")])
def test_a_scheme_this_machine_cannot_use_is_not_ready(small_config, tmp_path, capsys, scheme, needs):
    # A review: tls:// (no TLS configuration) and ucx:// (no ucx-py), both documented forms, ended in an
    # internal error with a traceback; they exit 3 in one line, as an unreachable scheduler does.
    argv = ["run", str(small_config), "--backend", "dask", "--scheduler", f"{scheme}://127.0.0.1:1",
            "--out", str(tmp_path / "o")]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("p3sim: not ready: ") and needs in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "spark"], 'argument `--backend`: must be one of loky, threads, dask, got "spark"'),
        (["--backend", "dask"], "argument `--scheduler`: required with `--backend dask`"),
        (["--scheduler", "tcp://127.0.0.1:1"], "argument `--scheduler`: only used with `--backend dask`"),
    ],
)
def test_bad_backend_arguments_exit_2(small_config, tmp_path, capsys, args, message):
    assert main(["run", str(small_config), "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_reordering_scenarios_leaves_each_unchanged(small_config):
    # Each scenario is seeded by (seed, digest of its own resolved config),
    # so its place in the sweep does not matter.
    forward = run(small_config, ["sweep.endpoints.resp.truth.experimental=[0.4, 0.5, 0.6]"], n_sims=5000)
    backward = run(small_config, ["sweep.endpoints.resp.truth.experimental=[0.6, 0.4, 0.5]"], n_sims=5000)
    assert [s["params"] for s in forward["scenarios"]] != [s["params"] for s in backward["scenarios"]]
    assert _by_params(forward) == _by_params(backward)


def test_adding_a_scenario_to_the_sweep_leaves_the_others_unchanged(small_config):
    three = run(small_config, ["sweep.endpoints.resp.truth.experimental=[0.4, 0.5, 0.6]"], n_sims=5000)
    four = run(small_config, ["sweep.endpoints.resp.truth.experimental=[0.4, 0.45, 0.5, 0.6]"], n_sims=5000)
    both = _by_params(four)
    for key, scenario in _by_params(three).items():
        assert both[key] == scenario


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_is_silent_off_a_terminal_unless_forced():
    quiet = io.StringIO()
    progress = StderrProgress(quiet)
    progress.start(2, 100)
    progress.advance(100)
    progress.scenario_done(0, False)
    progress.finish()
    assert quiet.getvalue() == ""


def test_progress_lines_are_rate_limited_and_report_rate_and_eta():
    out, clock = io.StringIO(), _Clock()
    progress = StderrProgress(out, force=True, plain_interval=5.0, clock=clock)
    progress.start(4, 4000)
    for step in range(1, 5):  # one chunk of 1000 trials a second
        clock.now = float(step)
        progress.advance(1000)
        progress.scenario_done(step - 1, False)
    progress.finish()
    lines = out.getvalue().splitlines()
    # At t = 1 (first update), then no more until 5 s later; finish adds the last.
    assert lines == [
        "p3sim: scenarios 0/4, 1,000 trials/s, ETA 0:03",
        "p3sim: scenarios 4/4, 1,000 trials/s, ETA 0:00",
    ]


def test_progress_on_a_terminal_redraws_one_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out, clock = Tty(), _Clock()
    progress = StderrProgress(out, clock=clock)
    progress.start(1, 10)
    clock.now = 1.0
    progress.advance(10)
    progress.scenario_done(0, True)
    progress.finish()
    text = out.getvalue()
    assert text.startswith("\rp3sim: scenarios 0/1") and text.endswith("\n") and text.count("\n") == 1
