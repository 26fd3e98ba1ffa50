"""Measurements that need a fresh process: compile time, ``p3sim run`` wall time and memory.

Every command runs under :mod:`_launch`, a small parent that times it and
takes its peak resident set size from ``os.wait4`` (``ru_maxrss`` of that one
child, KiB on Linux). Forking it from this large benchmark process instead
would report this process's resident set as the child's peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import _designs

HERE = Path(__file__).resolve().parent


def p3sim_command() -> list[str]:
    """``p3sim`` of this interpreter's environment (or ``python -m simulator``, the same program)."""
    script = Path(sys.executable).parent / "p3sim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulator"]


def _run_measured(command: list[str], env: dict | None = None, cwd: Path | None = None) -> dict:
    """Run ``command`` under :mod:`_launch`; return its exit code, wall and CPU seconds, peak RSS (MiB), output.

    The command runs with Python's bytecode cache on, whatever this shell
    says: an installed package comes with its modules compiled (pip does it
    at install), so a ``PYTHONDONTWRITEBYTECODE`` here would time compiling
    every module of ``simulator`` from source at each start (about 0.1 s),
    which no user pays.
    """
    env = {key: value for key, value in (os.environ if env is None else env).items()
           if key != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-run-") as folder:
        report = Path(folder) / "usage.json"
        launcher = [sys.executable, str(HERE / "_launch.py"), str(report)]
        done = subprocess.run([*launcher, *command], capture_output=True, text=True, env=env, cwd=cwd)
        if not report.exists():
            raise RuntimeError(f"launcher failed ({done.returncode}):\n{done.stderr}")
        usage = json.loads(report.read_text(encoding="utf-8"))
    return {
        "returncode": usage["returncode"],
        "wall_s": usage["wall_s"],
        "cpu_s": usage["cpu_s"],
        "max_rss_mib": usage["max_rss_kib"] / 1024.0,
        "stdout": done.stdout,
        "stderr": done.stderr,
    }


def compile_times(base: Path) -> dict:
    """Cold compile and cached start of the binary kernel, each in a fresh interpreter.

    Both probes share one temporary ``NUMBA_CACHE_DIR``: the first finds it
    empty and compiles, the second loads what the first wrote.
    """
    result = {}
    with tempfile.TemporaryDirectory(prefix="p3sim-numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "cached"):
            run = _run_measured([sys.executable, str(HERE / "_compile_probe.py"), str(base)], env=env, cwd=HERE)
            if run["returncode"] != 0:
                raise RuntimeError(f"compile probe failed:\n{run['stderr']}")
            result[label] = {**json.loads(run["stdout"]), "process_wall_s": run["wall_s"]}
    return result


def family_compile_times() -> dict:
    """Cold compile and cached start of every kernel family (:mod:`_compile_family`), family by family.

    Each family has a temporary ``NUMBA_CACHE_DIR`` of its own, so that its
    cold figure is everything it compiles, not what another family left.
    """
    import _compile_family

    result = {}
    for family in _compile_family.FAMILIES:
        result[family] = {}
        with tempfile.TemporaryDirectory(prefix="p3sim-numba-cache-") as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            for label in ("cold", "cached"):
                run = _run_measured([sys.executable, str(HERE / "_compile_family.py"), family], env=env, cwd=HERE)
                if run["returncode"] != 0:
                    raise RuntimeError(f"compile probe failed for {family}:\n{run['stderr']}")
                result[family][label] = {**json.loads(run["stdout"]), "process_wall_s": run["wall_s"]}
    return result


def run_script(script: Path, *args: str) -> dict:
    """Run a Python script of this environment (exit code, wall time, peak RSS, output)."""
    return _run_measured([sys.executable, str(script), *args], cwd=script.parent)


def p3sim_run(base: Path, design, n_sims: int, jobs: int, seed: int = 20250702) -> dict:
    """Time one ``p3sim run`` of ``design`` as a subprocess.

    Parameters
    ----------
    base : Path
        The base TOML written by :func:`_designs.write_base`.
    design : tuple
        Overrides, passed as ``--set``.
    n_sims, jobs, seed : int
        ``--sims``, ``--jobs``, ``--seed``.

    Returns
    -------
    dict
        ``wall_s`` and ``cpu_s`` (the whole process: interpreter start,
        imports, cache load, simulation, report; CPU time is the main
        process's user + system time, without worker processes),
        ``runtime_s`` (what the report records,
        from config loading to the report), ``max_rss_mib`` of the main
        process, and the power the run reported.
    """
    # A fresh output folder per run: p3sim resumes finished scenarios from
    # OUT/checkpoints, which would time a file read instead of a simulation.
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-out-") as out:
        command = [
            *p3sim_command(), "run", str(base), *_designs.set_arguments(design),
            "--sims", str(n_sims), "--jobs", str(jobs), "--seed", str(seed), "--out", out, "--quiet",
        ]
        run = _run_measured(command)
        if run["returncode"] != 0:
            raise RuntimeError(f"p3sim run failed ({run['returncode']}):\n{run['stderr']}")
        report = json.loads((Path(out) / "report.json").read_text(encoding="utf-8"))
    scenario = report["scenarios"][0]
    return {
        "n_sims": n_sims,
        "jobs": jobs,
        "wall_s": run["wall_s"],
        "cpu_s": run["cpu_s"],
        "runtime_s": report["meta"]["runtime_s"],
        "max_rss_mib": run["max_rss_mib"],
        "trials_per_s_wall": n_sims / run["wall_s"],
        "power": scenario["power"],
        "power_mcse": scenario["power_mcse"],
    }


def best_p3sim_run(base: Path, design, n_sims: int, jobs: int, repeats: int) -> dict:
    """The fastest of ``repeats`` identical runs (all wall times kept)."""
    runs = [p3sim_run(base, design, n_sims, jobs) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "repeats": repeats, "wall_s_all": [r["wall_s"] for r in runs],
            "max_rss_mib_all": [r["max_rss_mib"] for r in runs]}


def p3sim_size(config: Path, n_sims: int, jobs: int = 1, seed: int = 20250702) -> dict:
    """Time one ``p3sim size`` (power target, ``design.power``) as a subprocess.

    Returns
    -------
    dict
        ``wall_s`` of the whole process, ``runtime_s`` as the report records
        it, the size found (``n_total``, per arm, its simulated power and
        MCSE, the sizes consistent with the target), how many sizes were
        simulated, and the analytic (normal-approximation) size.
    """
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-size-") as out:
        command = [*p3sim_command(), "size", str(config), "--sims", str(n_sims), "--jobs", str(jobs),
                   "--seed", str(seed), "--out", out, "--quiet"]
        run = _run_measured(command)
        if run["returncode"] != 0:
            raise RuntimeError(f"p3sim size failed ({run['returncode']}):\n{run['stderr']}")
        report = json.loads((Path(out) / "report.json").read_text(encoding="utf-8"))
    size = report["size"]
    analytic = next(iter(report["scenarios"][0]["endpoints"].values())).get("analytic", {})
    return {
        "n_sims": n_sims, "jobs": jobs, "wall_s": run["wall_s"], "runtime_s": report["meta"]["runtime_s"],
        "max_rss_mib": run["max_rss_mib"], "n_total": size["n_total"], "n_per_arm": size["n_per_arm"],
        "power": size["power"], "power_mcse": size["power_mcse"], "interval": size["interval"],
        "evaluated": len(size["evaluated"]), "analytic_n_total": analytic.get("n_total_rounded"),
    }
