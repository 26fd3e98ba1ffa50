"""Speed, scaling and memory of the simulator, with rpact side by side.

Usage::

    python benchmarks/run.py [--quick] [--binary-rpact-only | --survival-rpact-only | --fixed-costs-only |
                             --joint-only] [--out benchmarks/results]

Writes ``OUT/results.json`` (every measurement, with the machine) and
``OUT/results.md`` (one Markdown table, also printed). What it measures:

1. the binary kernel in this process, one core, after compilation, by CPU
   time (median of the repeats): trials/s of the fixed design (N = 600, 0.33
   vs 0.22, lower is better) with the pooled z test, Fisher,
   Farrington-Manning and the assurance stream; scaling in trials and in
   patients; the cost of the per-trial binomial sampler's random numbers;
   compile time apart, in fresh interpreters with an empty Numba cache,
   and the first ``Trial.simulate`` of every kernel family (binary,
   adaptive, continuous, survival, MaxCombo, strata, joint) with an empty
   and with a filled cache of its own (``_compile_family.py``);
2. ``p3sim run`` end to end for 10^7 trials with ``--jobs 1`` and ``--jobs 2``
   (and for 10^8 trials without ``--quick``);
3. the peak RSS of ``p3sim run`` for 10^6 and 10^8 trials (10^7 with ``--quick``);
4. ``benchmarks/bench_survival_kernel.py`` when present, and the binary
   group-sequential design (3 looks, asOF, N = 458, 0.50 vs 0.35);
5. binary against rpact's ``getSimulationRates`` when ``Rscript`` can load
   rpact, by CPU time, ours and rpact's rounds alternated (one R session):
   our kernel and ``run_chunk`` per trial on the fixed z_pooled, Fisher,
   3-look and assurance designs, and ``p3sim run --jobs 1`` end to end
   (10^8 trials, 10^7 with ``--quick``; the whole process's CPU time),
   each as the median ratio over the rounds and its range; rpact's
   ``getPowerRates`` / ``getSampleSizeRates`` against our analytic values;
6. survival through ``SurvivalPlan.simulate`` (one core, after compilation):
   N = 610, HR 0.7, control median 30 months, accrual 36 months, a fixed
   design at 334 events and 3 looks (asOF) at 111/223/334 events, power and
   assurance (log-normal prior on the HR); ``p3sim run`` end to end on the
   3-look design; rpact's ``getSimulationSurvival`` / ``getPowerSurvival`` /
   ``getSampleSizeSurvival`` on the fixed and 3-look designs;
7. continuous endpoints (difference of means 5, SD 12, Student's t): a
   fixed design at N = 200 and 3 looks (asOF) at N = 82/164/246, by CPU time
   on one core, ``ContinuousPlan._statistics`` (kernel) and ``run_chunk``
   apart, alternated round by round with rpact's ``getSimulationMeans`` in
   one R session, medians of the rounds (``_means.py``, ``rpact_means.R``);
8. ``p3sim size`` on a small binary design (0.30 vs 0.50, power 0.8) and
   ``benchmarks/bench_sweep.py`` (8 scenarios, ``--jobs 1`` and ``2``);
9. ``benchmarks/bench_adaptive.py``: binary sample-size re-estimation
   (issue 17) against the plain two-look kernel and rpact's
   ``getSimulationRates``, by CPU time;
10. the peak RSS of ``p3sim run`` on the 3-look survival design at 10^5 and
    10^7 trials (10^6 with ``--quick``), and where ``p3sim run
    configs/cairo6.toml --sims 10000`` (plots on) spends its wall time:
    imports, simulation, side samples, figures, the rest
    (``_fixed_costs.py``);
11. the CAIRO6 joint kernel (358 patients, survival and two binary
    endpoints) against the code of issue 13 (``87a42ea``, checked out by
    ``git worktree``), by CPU time, rounds alternated (``bench_joint.py``).

Sections that cannot run say why in the results instead of failing the run.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _designs  # noqa: E402
import _kernels  # noqa: E402
import _machine  # noqa: E402
import _means  # noqa: E402
import _processes  # noqa: E402
import _rpact  # noqa: E402
import _survival  # noqa: E402
from simulator.errors import InputError  # noqa: E402

#: The contract's speed target for the fixed binary design on one core.
TARGET_TRIALS_PER_S = 2e6
#: Issue 16's speed target for the continuous kernel, fixed design, one core.
CONTINUOUS_TARGET_TRIALS_PER_S = 20e6
#: The contract's memory budget: 10^8 trials may use at most this much more than 10^6.
RSS_BUDGET_MIB = 64.0
SURVIVAL_MODULE = HERE / "bench_survival_kernel.py"
SURVIVAL_ENTRY_POINTS = ("benchmark", "measure", "run_benchmark", "bench", "run")
SWEEP_SCRIPT = HERE / "bench_sweep.py"
ADAPTIVE_SCRIPT = HERE / "bench_adaptive.py"
#: Simulated survival power against Schoenfeld's: 4 MCSE plus this (Schoenfeld's
#: approximation is off by a few thousandths; the tolerance of docs/validation.md).
SCHOENFELD_SLACK = 0.005


def settings(quick: bool) -> dict:
    """Sizes and repeats of every measurement (``--quick`` keeps the whole run near a minute)."""
    return {
        "quick": quick,
        "repeats": 2 if quick else 5,
        "kernel_trials": 10**6,
        "scaling_trials": [10**5, 10**6, 10**7],
        "scaling_patients": [100, 600, 2000, 10000],
        "end_to_end_trials": 10**7,
        "end_to_end_repeats": 1 if quick else 2,
        "memory_trials": [10**6, 10**7 if quick else 10**8],
        "rpact_iterations": 50_000 if quick else 100_000,
        # binary against rpact, by CPU time: alternated rounds, chunks of 65,536 trials per round and design
        "binary_rounds": 3 if quick else 5,
        # the joint kernel against the code (bench_joint.py), alternated rounds
        "joint_rounds": 3 if quick else 5,
        "binary_chunks": {"z_pooled": 16 if quick else 64, "fisher": 16 if quick else 64,
                          "group_sequential": 8 if quick else 32, "assurance": 4 if quick else 16},
        "end_to_end_trials_cpu": 10**7 if quick else 10**8,
        # survival: trials per timed call of SurvivalPlan.simulate (the estimate pools the repeats)
        "survival_trials": 20_000 if quick else 50_000,
        "survival_end_to_end_trials": 20_000 if quick else 100_000,
        "rpact_survival_iterations": 2_000 if quick else 10_000,
        # survival against rpact, by CPU time: alternated rounds, our trials per round
        "survival_rounds": 3 if quick else 5,
        "survival_round_trials": 10_000 if quick else 50_000,
        # survival, jobs 1 vs 2 (threads over the chunks of one scenario): trials and rounds
        "survival_thread_trials": 2**17 if quick else 2**18,
        "survival_thread_rounds": 2 if quick else 3,
        # survival: trials per round of bench_survival_floor (each step in turn)
        "survival_floor_trials": 5_000 if quick else 10_000,
        # survival: peak RSS of p3sim run (3 looks) at a small and a large number of trials
        "survival_memory_trials": [10**5, 10**6 if quick else 10**7],
        # fixed costs: p3sim run configs/cairo6.toml --sims N, plots on
        "fixed_cost_sims": 10_000,
        "fixed_cost_rounds": 3 if quick else 5,
        "size_sims": 20_000,
        "size_repeats": 1 if quick else 3,
        "sweep_sims": 1 << 17 if quick else 1 << 20,
        "sweep_repeats": 1 if quick else 2,
        # continuous: alternated rounds (ours, then rpact), chunks of 65,536 trials per round and design
        "continuous_rounds": 3 if quick else 5,
        "continuous_chunks": {"fixed": 32 if quick else 64, "group_sequential": 8 if quick else 16},
        "rpact_means_iterations": 50_000 if quick else 100_000,
    }


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ sections
def bench_kernels(base: Path, cfg: dict) -> tuple[dict, dict]:
    """Trials/s of the fixed design per test and for assurance; returns (results, plans)."""
    variants = {
        "z_pooled": (_designs.Z_POOLED, "power"),
        "fisher": (_designs.FISHER, "power"),
        "farrington_manning": (_designs.FARRINGTON_MANNING, "power"),
        "assurance": (_designs.PRIOR, "assurance"),
    }
    results, plans = {}, {}
    for name, (design, stream) in variants.items():
        log(f"kernel: {name}")
        config, plan = _designs.make_plan(base, design)
        plans[name] = (config, plan)
        result = _kernels.throughput(plan, cfg["kernel_trials"], stream, cfg["repeats"])
        result["stream"] = stream
        result["meets_target"] = result["trials_per_s"] >= TARGET_TRIALS_PER_S
        results[name] = result
    return results, plans


def bench_floor(plans: dict, cfg: dict) -> dict:
    """Random numbers alone, and how far the engine is from them (fixed design)."""
    log("floor: random numbers alone (the engine's, and the per-trial binomials), alternating with the engine")
    _, plan = plans["assurance"]  # the base design with the priors: truth and prior both
    return {stream: _kernels.engine_vs_floor(plan, stream, cfg["kernel_trials"], cfg["repeats"])
            for stream in ("power", "assurance")}


def bench_scaling_trials(plans: dict, cfg: dict) -> list[dict]:
    """Trials/s of the fixed z_pooled design as the number of trials grows."""
    _, plan = plans["z_pooled"]
    rows = []
    for n in cfg["scaling_trials"]:
        log(f"scaling in trials: {_count(n)}")
        repeats = max(1, cfg["repeats"] if n < 10**7 else cfg["repeats"] // 2)
        rows.append(_kernels.throughput(plan, n, "power", repeats))
    return rows


def bench_scaling_patients(base: Path, cfg: dict) -> list[dict]:
    """Trials/s of the fixed z_pooled design as the trial size grows."""
    rows = []
    for n_total in cfg["scaling_patients"]:
        log(f"scaling in patients: N = {n_total}")
        _, plan = _designs.make_plan(base, _designs.with_size(_designs.Z_POOLED, n_total))
        rows.append({"n_total": n_total, **_kernels.throughput(plan, cfg["kernel_trials"], "power", cfg["repeats"])})
    return rows


def bench_end_to_end(base: Path, cfg: dict) -> dict:
    """``p3sim run`` wall time with one and two processes."""
    n = cfg["end_to_end_trials"]
    log("end to end: warm-up (fills the Numba cache of the p3sim processes)")
    _processes.p3sim_run(base, _designs.Z_POOLED, 1000, jobs=1)
    log("end to end: CPU capacity of two processes right now")
    result = {"capacity": _machine.parallel_capacity(2)}
    for jobs in (1, 2):
        log(f"end to end: p3sim run --sims {n} --jobs {jobs}")
        result[f"jobs{jobs}"] = _processes.best_p3sim_run(base, _designs.Z_POOLED, n, jobs, cfg["end_to_end_repeats"])
    one, two = result["jobs1"], result["jobs2"]
    result["speedup_wall"] = one["wall_s"] / two["wall_s"]
    result["speedup_runtime"] = one["runtime_s"] / two["runtime_s"]
    result["same_power"] = one["power"] == two["power"]  # the contract: results never depend on jobs
    return result


def bench_memory(base: Path, cfg: dict, end_to_end: dict) -> dict:
    """Peak RSS of ``p3sim run --jobs 1`` at a small and a large number of trials."""
    runs = []
    for n in cfg["memory_trials"]:
        if n == end_to_end["jobs1"]["n_sims"]:
            runs.append(end_to_end["jobs1"])  # already measured
            continue
        log(f"memory: p3sim run --sims {n} --jobs 1")
        runs.append(_processes.p3sim_run(base, _designs.Z_POOLED, n, jobs=1))
    small, large = runs
    growth = large["max_rss_mib"] - small["max_rss_mib"]
    return {
        "runs": [{k: r[k] for k in ("n_sims", "max_rss_mib", "wall_s", "runtime_s", "power")} for r in runs],
        "growth_mib": growth,
        "budget_mib": RSS_BUDGET_MIB,
        "within_budget": growth <= RSS_BUDGET_MIB,
        "note": None if large["n_sims"] >= 10**8 else "--quick: 10^7 trials stand in for the contract's 10^8",
    }


def bench_large_speedup(base: Path, memory: dict) -> dict:
    """``--jobs 2`` against the ``--jobs 1`` memory run at 10^8 trials (not with ``--quick``).

    At 10^7 trials the two worker processes' start (imports, kernel cache
    load) weighs as much as the work; at 10^8 it should not.
    """
    one = memory["runs"][-1]
    if one["n_sims"] < 10**8:
        return {"skipped": "--quick (no 10^8 run)"}
    capacity = _machine.parallel_capacity(2)
    log(f"end to end: p3sim run --sims {one['n_sims']} --jobs 2")
    two = _processes.p3sim_run(base, _designs.Z_POOLED, one["n_sims"], jobs=2)
    return {"n_sims": one["n_sims"], "capacity": capacity, "jobs1_wall_s": one["wall_s"], "jobs2_wall_s": two["wall_s"],
            "jobs1_runtime_s": one["runtime_s"], "jobs2_runtime_s": two["runtime_s"],
            "speedup_wall": one["wall_s"] / two["wall_s"], "speedup_runtime": one["runtime_s"] / two["runtime_s"],
            "same_power": one["power"] == two["power"]}


def bench_survival(cfg: dict) -> dict:
    """Report the figure of ``bench_survival_kernel.py`` (another benchmark), if present.

    A function from :data:`SURVIVAL_ENTRY_POINTS` is called in this process;
    a script with only a command-line ``main()`` is run as a subprocess (it
    may parse arguments or pin the process to a core) and its output kept.
    """
    if not SURVIVAL_MODULE.exists():
        return {"skipped": f"{SURVIVAL_MODULE.name} is not present"}
    log(f"survival: {SURVIVAL_MODULE.name}")
    try:
        spec = importlib.util.spec_from_file_location("bench_survival_kernel", SURVIVAL_MODULE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - another worker's file: report, do not fail
        return {"skipped": f"{SURVIVAL_MODULE.name} failed to import: {type(err).__name__}: {err}"}
    entry = next(
        (getattr(module, name) for name in SURVIVAL_ENTRY_POINTS if callable(getattr(module, name, None))), None
    )
    if entry is None:
        if not callable(getattr(module, "main", None)):
            names = ", ".join(SURVIVAL_ENTRY_POINTS)
            return {"skipped": f"{SURVIVAL_MODULE.name} exposes no function ({names} or main)"}
        run = _processes.run_script(SURVIVAL_MODULE)
        if run["returncode"] != 0:
            return {"skipped": f"{SURVIVAL_MODULE.name} exited {run['returncode']}: {run['stderr'].strip()[-300:]}"}
        return {"function": "main (as a subprocess)", "result": {"output": run["stdout"].strip().splitlines()}}
    kwargs = {"quick": cfg["quick"]} if "quick" in inspect.signature(entry).parameters else {}
    try:
        figure = entry(**kwargs)
    except Exception as err:  # noqa: BLE001
        return {"skipped": f"{SURVIVAL_MODULE.name}:{entry.__name__}() raised {type(err).__name__}: {err}"}
    figure = figure if isinstance(figure, dict) else {"value": figure}
    return {"function": entry.__name__, "result": json.loads(json.dumps(figure, default=str))}


def bench_group_sequential(base: Path, cfg: dict) -> tuple[dict, tuple | None]:
    """Trials/s of the 3-look asOF design, checked against exact enumeration."""
    log("group sequential: looks = 3, asOF, N = 458")
    try:
        config, plan = _designs.make_plan(base, _designs.GROUP_SEQUENTIAL)
    except InputError as err:
        return {"skipped": f"p3sim rejects the design (exit 2): {err}"}, None
    result = _kernels.throughput(plan, cfg["kernel_trials"], "power", cfg["repeats"])
    exact = plan.exact().get("power_exact")
    if exact is not None:
        result["power_exact"] = exact
        result["z_vs_exact"] = (result["estimate"] - exact) / result["mcse"]
    result["subjects_per_look"] = [int(n) for n in plan.looks.enrolled_total]
    result["floor"] = _kernels.engine_vs_floor(plan, "power", cfg["kernel_trials"], cfg["repeats"])
    return result, (config, plan)


#: The binary designs compared with rpact by CPU time: (name, our design, stream, rpact's exact test, label).
BINARY_RPACT = (
    ("z_pooled", _designs.Z_POOLED, "power", False, "fixed N = 600, z_pooled (rpact: normal approximation)"),
    ("fisher", _designs.FISHER, "power", True, "fixed N = 600, Fisher (rpact: exact test)"),
    ("group_sequential", _designs.GROUP_SEQUENTIAL, "power", False, "3 looks asOF, N = 458"),
    ("assurance", _designs.PRIOR, "assurance", False,
     "fixed N = 600, assurance (Beta priors 14/42, 8/37; rpact: its fixed-rate simulation, no assurance)"),
)


def bench_binary_rpact(base: Path, cfg: dict) -> dict:
    """Binary engine against rpact's ``getSimulationRates`` by CPU time, alternated round by round.

    Per design, ``binary_rounds`` rounds: our kernel (``simulate_levels``)
    and ``run_chunk`` on ``binary_chunks`` chunks of 65,536 trials, then one
    rpact simulation of ``rpact_iterations`` in one R session; the ratio of
    each round is rpact's CPU time per trial over ours, and the figures are
    the median and range over the rounds. End to end: ``p3sim run --jobs 1``
    of the fixed z_pooled design (``end_to_end_trials``, imports and report
    included; the child's CPU time) alternated with rpact's rounds of the
    same design.
    """
    reason = _rpact.availability()
    results = {} if reason is None else {"rpact_skipped": reason}
    for name, design, stream, exact, label in BINARY_RPACT:
        log(f"binary vs rpact (CPU time, alternated): {label}")
        config, plan = _designs.make_plan(base, design)
        ours_round = _kernels.round_function(plan, cfg["binary_chunks"][name], stream)
        try:
            if reason is None:
                result = _rpact.rates_side_by_side(plan, config, ours_round, cfg["binary_rounds"],
                                                   cfg["rpact_iterations"], exact)
            else:
                result = {"ours_rounds": [ours_round(r) for r in range(cfg["binary_rounds"])]}
        except Exception as err:  # noqa: BLE001 - R failing is reported, not fatal
            results[name] = {"skipped": f"{type(err).__name__}: {err}"}
            continue
        exact_value = plan.exact().get("assurance_exact" if stream == "assurance" else "power_exact")
        rounds = result["ours_rounds"]
        n = sum(r["n_sims"] for r in rounds)
        estimate = sum(r["successes"] for r in rounds) / n
        mcse = math.sqrt(estimate * (1.0 - estimate) / n)
        result.update(label=label, stream=stream, estimate=estimate, mcse=mcse, n_sims=n, exact=exact_value,
                      z_vs_exact=(estimate - exact_value) / mcse if exact_value is not None and mcse > 0 else None)
        results[name] = result
    results["end_to_end"] = _binary_end_to_end(base, cfg, reason)
    return results


def _binary_end_to_end(base: Path, cfg: dict, reason: str | None) -> dict:
    """``p3sim run --jobs 1`` (CPU time of the whole process) alternated with rpact's fixed z_pooled rounds."""
    n = cfg["end_to_end_trials_cpu"]
    log(f"binary vs rpact end to end: p3sim run --sims {_count(n)} --jobs 1, alternated with rpact")
    _processes.p3sim_run(base, _designs.Z_POOLED, 1000, jobs=1)  # fills the Numba cache of p3sim processes

    def ours_round(r: int) -> dict:
        run = _processes.p3sim_run(base, _designs.Z_POOLED, n, jobs=1)
        return {"n_sims": n, "cpu_s": {"end_to_end": run["cpu_s"]}, "wall_s": {"end_to_end": run["wall_s"]},
                "runtime_s": run["runtime_s"], "power": run["power"], "successes": round(run["power"] * n)}

    config, plan = _designs.make_plan(base, _designs.Z_POOLED)
    try:
        if reason is not None:
            return {"ours_rounds": [ours_round(r) for r in range(cfg["binary_rounds"])], "rpact_skipped": reason}
        result = _rpact.rates_side_by_side(plan, config, ours_round, cfg["binary_rounds"], cfg["rpact_iterations"])
    except Exception as err:  # noqa: BLE001
        return {"skipped": f"{type(err).__name__}: {err}"}
    result["power_exact"] = plan.exact()["power_exact"]
    return result


def bench_survival_designs(cfg: dict) -> tuple[dict, dict]:
    """Trials/s of ``SurvivalPlan.simulate``: fixed and 3-look power, 3-look assurance."""
    results, plans = {}, {}
    for name in ("fixed", "group_sequential", "assurance"):
        log(f"survival: {_survival.LABELS[name]}")
        try:
            config, plan = _survival.make_plan(name)
        except InputError as err:
            results[name] = {"skipped": f"p3sim rejects the design (exit 2): {err}"}
            continue
        stream = "assurance" if name == "assurance" else "power"
        result = _survival.throughput(plan, cfg["survival_trials"], stream, cfg["repeats"])
        reference = plan.analytic(config)["power"] if stream == "power" else _survival.prior_assurance(plan)
        difference = result["estimate"] - reference
        result.update(
            schoenfeld=reference, z_vs_schoenfeld=difference / result["mcse"],
            agrees_with_schoenfeld=abs(difference) <= 4 * result["mcse"] + SCHOENFELD_SLACK,
            bounds=[float(b) for b in plan.bounds.efficacy], look_events=plan.looks.events.tolist(),
        )
        if stream == "assurance":
            result["prior"] = dict(_survival.PRIOR)
            result["prior_p_benefit"] = plan.prior_p_benefit()
        results[name] = result
        plans[name] = (config, plan)
    return results, plans


def bench_survival_end_to_end(folder: Path, cfg: dict) -> dict:
    """``p3sim run --jobs 1`` of the 3-look survival design (after the in-process calls filled the cache)."""
    n = cfg["survival_end_to_end_trials"]
    log(f"survival: p3sim run --sims {n} --jobs 1 (3 looks)")
    try:
        return _processes.p3sim_run(_survival.write_config(folder, "group_sequential"), (), n, jobs=1)
    except RuntimeError as err:
        return {"skipped": str(err).strip()[-300:]}


def bench_survival_memory(folder: Path, cfg: dict) -> dict:
    """Peak RSS of ``p3sim run`` of the 3-look survival design at a small and a large number of trials."""
    config = _survival.write_config(folder, "group_sequential")
    runs = []
    for n in cfg["survival_memory_trials"]:
        log(f"survival memory: p3sim run --sims {n} --jobs 0")
        runs.append(_processes.p3sim_run(config, (), n, jobs=0))
    small, large = runs
    growth = large["max_rss_mib"] - small["max_rss_mib"]
    return {
        "runs": [{k: r[k] for k in ("n_sims", "max_rss_mib", "wall_s", "runtime_s", "power")} for r in runs],
        "growth_mib": growth, "budget_mib": RSS_BUDGET_MIB, "within_budget": growth <= RSS_BUDGET_MIB,
        "note": None if large["n_sims"] >= 10**7 else "--quick: 10^6 trials stand in for the contract's 10^7",
    }


def bench_fixed_costs(cfg: dict) -> dict:
    """Where ``p3sim run configs/cairo6.toml --sims N`` (plots on) spends its wall time (:mod:`_fixed_costs`).

    ``fixed_cost_rounds`` runs after a warm-up, each in a fresh output folder and a fresh interpreter, with
    the free CPUs measured just before each; the figures are those of the median run by time outside the
    simulation, with the range of all of them (a single run moves by 0.2 to 0.3 s with the machine's load).
    """
    n = cfg["fixed_cost_sims"]
    config = str(HERE.parent / "configs" / "cairo6.toml")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-fixed-") as out:
        def arguments(name):
            return ("run", config, "--sims", str(n), "--out", str(Path(out) / name), "--quiet", "--no-resume")

        log("fixed costs: warm-up (the kernels into the Numba cache)")
        _processes.run_script(HERE / "_fixed_costs.py", *arguments("warm-up"))
        for r in range(cfg["fixed_cost_rounds"]):
            log(f"fixed costs: p3sim run configs/cairo6.toml --sims {n}, round {r + 1} of {cfg['fixed_cost_rounds']}")
            capacity = _machine.parallel_capacity(2)
            run = _processes.run_script(HERE / "_fixed_costs.py", *arguments(f"round-{r}"))
            if run["returncode"] != 0:
                return {"skipped": run["stderr"].strip()[-300:]}
            phases = json.loads(run["stdout"].strip().splitlines()[-1])
            # The process's wall time includes the interpreter's start, before the script's clock.
            outside = run["wall_s"] - phases["simulation_s"] - phases["side_samples_s"]
            rounds.append({"capacity": capacity, "process_wall_s": run["wall_s"], **phases,
                           "outside_simulation_s": outside})
    ranked = sorted(rounds, key=lambda r: r["outside_simulation_s"])
    median = ranked[(len(ranked) - 1) // 2]
    spread = [ranked[0]["outside_simulation_s"], ranked[-1]["outside_simulation_s"]]
    return {"n_sims": n, **median, "outside_range_s": spread, "rounds": rounds, "goal_s": 2.0,
            "met": median["outside_simulation_s"] <= 2.0}


def bench_survival_threads(cfg: dict) -> dict:
    """``Trial.simulate`` of the 3-look survival design with ``jobs`` 1 and 2 (threads over the chunks), wall clock.

    Rounds alternate the two, each after measuring how many CPUs two
    processes get (:func:`_machine.parallel_capacity`): a speed-up is only
    possible in rounds where that is about 2.
    """
    from simulator import Trial  # noqa: PLC0415 - the section's own import

    n = cfg["survival_thread_trials"]
    log(f"survival: Trial.simulate --jobs 1 vs 2 (threads), {n} trials, 3 looks")
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-") as folder:
        trial = Trial.from_toml(_survival.write_config(Path(folder), "group_sequential"))
        trial.simulate(n_sims=2000, seed=1, jobs=2)  # compile or load the kernels first
        rounds = []
        for _ in range(cfg["survival_thread_rounds"]):
            row = {}
            for jobs in (1, 2):
                row[f"capacity_jobs{jobs}"] = _machine.parallel_capacity(2)["capacity_cpus"]
                start = time.perf_counter()
                result = trial.simulate(n_sims=n, seed=1, jobs=jobs)
                row[f"jobs{jobs}_wall_s"] = time.perf_counter() - start
                row[f"power_jobs{jobs}"] = repr(result.power)
            row["speedup"] = row["jobs1_wall_s"] / row["jobs2_wall_s"]
            row["same_result"] = row.pop("power_jobs1") == row.pop("power_jobs2")
            rounds.append(row)
    return {"n_sims": n, "rounds": rounds}


def bench_survival_rpact(plans: dict, designs: dict, cfg: dict) -> dict:
    """rpact's getSimulationSurvival (by CPU time, alternated with ours) / getPowerSurvival / getSampleSizeSurvival."""
    reason = _rpact.availability()
    if reason is not None:
        return {"skipped": reason}
    result = {"direction": "hazardRatio = 0.7 is treatment / control (ours: experimental / control); "
                           "directionUpper = FALSE (a benefit is HR < 1; rpact 3.3.4's simulation defaults "
                           "to TRUE and then rejects for HR > 1)"}
    for name in ("fixed", "group_sequential"):
        if name not in plans:
            result[name] = {"skipped": designs[name].get("skipped", "no plan")}
            continue
        config, plan = plans[name]
        log(f"survival vs rpact (CPU time, alternated): {_survival.LABELS[name]}")
        try:
            ours_round = _survival.round_function(plan, cfg["survival_round_trials"])
            result[name] = _rpact.survival_side_by_side(
                plan, config, ours_round, _survival.analytic(plan, config), cfg["survival_rounds"],
                cfg["rpact_survival_iterations"])
        except Exception as err:  # noqa: BLE001 - R failing is reported, not fatal
            result[name] = {"skipped": f"{type(err).__name__}: {err}"}
    return result


def bench_continuous(cfg: dict) -> dict:
    """Continuous designs by CPU time, kernel and chunk apart, alternated with rpact's getSimulationMeans."""
    reason = _rpact.availability()
    results = {} if reason is None else {"rpact_skipped": reason}
    for name in ("fixed", "group_sequential"):
        log(f"continuous: {_means.LABELS[name]}" + ("" if reason else ", alternating with rpact"))
        try:
            config, plan = _means.make_plan(name)
        except InputError as err:
            results[name] = {"skipped": f"the package rejects the design: {err}"}
            continue
        chunks, rounds = cfg["continuous_chunks"][name], cfg["continuous_rounds"]
        try:
            if reason is None:
                result = _rpact.means_side_by_side(plan, config, _means.round_function(plan, chunks), rounds,
                                                   cfg["rpact_means_iterations"])
            else:
                result = _means.ours_alone(plan, chunks, rounds)
        except Exception as err:  # noqa: BLE001 - R failing is reported, not fatal
            results[name] = {"skipped": f"{type(err).__name__}: {err}"}
            continue
        result["power_exact"] = plan.exact().get("power_exact")
        result["subjects_per_look"] = [int(n) for n in plan.looks.enrolled_total]
        if name == "fixed":
            result["target_trials_per_s"] = CONTINUOUS_TARGET_TRIALS_PER_S
            result["kernel_meets_target"] = result["ours_kernel_trials_per_s"] >= CONTINUOUS_TARGET_TRIALS_PER_S
        results[name] = result
    return results


def bench_size_search(folder: Path, cfg: dict) -> dict:
    """Wall time of ``p3sim size`` on a small binary design, one process."""
    config = _designs.write_size_config(folder)
    log(f"size search: p3sim size --sims {cfg['size_sims']} --jobs 1")
    try:
        runs = [_processes.p3sim_size(config, cfg["size_sims"], jobs=1) for _ in range(cfg["size_repeats"])]
    except RuntimeError as err:
        return {"skipped": str(err).strip()[-300:]}
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "repeats": len(runs), "wall_s_all": [r["wall_s"] for r in runs]}


def bench_sweep(cfg: dict) -> dict:
    """``benchmarks/bench_sweep.py`` (8 scenarios, --jobs 1 and 2) with the CPU capacity just before."""
    if not SWEEP_SCRIPT.exists():
        return {"skipped": f"{SWEEP_SCRIPT.name} is not present"}
    log("sweep: CPU capacity of two processes right now")
    capacity = _machine.parallel_capacity(2)
    log(f"sweep: {SWEEP_SCRIPT.name} --sims {cfg['sweep_sims']} --repeats {cfg['sweep_repeats']}")
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-sweep-") as folder:
        report = Path(folder) / "sweep.json"
        run = _processes.run_script(SWEEP_SCRIPT, "--sims", str(cfg["sweep_sims"]),
                                    "--repeats", str(cfg["sweep_repeats"]), "--json", str(report))
        if run["returncode"] != 0 or not report.exists():
            return {"skipped": f"{SWEEP_SCRIPT.name} exited {run['returncode']}: {run['stderr'].strip()[-300:]}",
                    "capacity": capacity}
        figures = json.loads(report.read_text(encoding="utf-8"))
    return {**figures, "capacity": capacity, "process_wall_s": run["wall_s"]}


def bench_adaptive(cfg: dict) -> dict:
    """``benchmarks/bench_adaptive.py``: binary sample-size re-estimation against the plain kernel and rpact."""
    if not ADAPTIVE_SCRIPT.exists():
        return {"skipped": f"{ADAPTIVE_SCRIPT.name} is not present"}
    log(f"adaptive: {ADAPTIVE_SCRIPT.name}" + (" --quick" if cfg["quick"] else ""))
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-adaptive-") as folder:
        report = Path(folder) / "adaptive.json"
        run = _processes.run_script(ADAPTIVE_SCRIPT, *(["--quick"] if cfg["quick"] else []), "--out", str(report))
        if run["returncode"] != 0 or not report.exists():
            return {"skipped": f"{ADAPTIVE_SCRIPT.name} exited {run['returncode']}: {run['stderr'].strip()[-300:]}"}
        return json.loads(report.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ table
def bench_joint(cfg: dict) -> dict:
    """The CAIRO6 joint kernel against the code of issue 13 (``bench_joint.py``): CPU time, alternated rounds."""
    import bench_joint

    log("joint kernel (CAIRO6, 358 patients) against the issue's code, alternated rounds")
    try:
        return bench_joint.compare(rounds=cfg["joint_rounds"], say=log)
    except (OSError, subprocess.CalledProcessError) as err:  # no git, or the baseline is not in this clone
        return {"skipped": f"the baseline {bench_joint.BASELINE} could not be checked out or run: {err}"}


def _joint_row(joint: dict) -> tuple[str, str, str, str]:
    if "skipped" in joint:
        return ("Joint kernel, CAIRO6 at N = 358, against the issue's code", "-", "skipped", joint["skipped"])
    r, median = joint["ratio"], joint["median"]
    return (f"Joint kernel, CAIRO6 at N = 358 (JointPlan.run_chunk), against the issue's code ({joint['baseline']})",
            f"median of {len(joint['rounds'])} rounds alternated, 4,000 trials a chunk, CPU time, 1 core",
            f"{median['this tree']:.2f} us against {median['baseline ' + joint['baseline']]:.2f} us per trial",
            f"{r['median']:.2f}x (range {r['min']:.2f}x to {r['max']:.2f}x); goal 2x: "
            + ("met" if r["median"] >= 2 else "NOT met"))


def _count(n: int) -> str:
    """``10^6`` for powers of ten, ``131,072`` otherwise."""
    exponent = round(math.log10(n)) if n > 0 else 0
    return f"10^{exponent}" if 10**exponent == n else f"{n:,}"


def _rate(x: float) -> str:
    return f"{x / 1e6:.2f} M trials/s" if x >= 1e5 else f"{x / 1e3:.1f} k trials/s"


def _pm(estimate: float, se: float) -> str:
    return f"{estimate:.4f} ± {se:.4f}"


def _agreement(check: dict) -> str:
    if "agrees" not in check:
        return "n/a"
    if "z" in check:
        return (f"ours {_pm(check['ours'], check['ours_mcse'])} vs rpact {_pm(check['rpact'], check['rpact_mcse'])}: "
                f"z = {check['z']:+.2f} ({'agree' if check['agrees'] else 'DISAGREE'} within 4 joint MCSE)")
    return (f"ours {check.get('ours_printed', check['ours'])} vs rpact {check['rpact_printed']} "
            f"({'same' if check['agrees'] else 'DIFFERENT'} to rpact's printed digits)")


def table_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """(measurement, setting, result, note) rows of the Markdown table."""
    rows = []
    comp = results["compile"]
    rows.append(("Compile binary kernel (cold)", "fresh interpreter, empty NUMBA_CACHE_DIR",
                 f"{comp['cold']['first_call_s']:.2f} s", f"imports {comp['cold']['import_s']:.2f} s"))
    rows.append(("Load binary kernel (cached)", "fresh interpreter, filled cache",
                 f"{comp['cached']['first_call_s']:.2f} s", f"imports {comp['cached']['import_s']:.2f} s"))
    for family, times in results["compile_families"].items():
        rows.append((f"First Trial.simulate, {family}", "fresh interpreter: empty / filled NUMBA_CACHE_DIR",
                     f"{times['cold']['first_call_s']:.2f} s / {times['cached']['first_call_s']:.2f} s",
                     f"compile / load from the cache (4 trials; imports {times['cached']['import_s']:.2f} s)"))
    labels = {"z_pooled": "Fixed, z_pooled, power", "fisher": "Fixed, Fisher, power",
              "farrington_manning": "Fixed, Farrington-Manning (margin 0.10), power",
              "assurance": "Fixed, z_pooled, assurance (Beta priors 14/42, 8/37)"}
    for name, label in labels.items():
        k = results["kernel"][name]
        target = "" if name == "farrington_manning" else f"; target 2 M/s {'met' if k['meets_target'] else 'NOT met'}"
        rows.append((label, f"N = 600, {_count(k['n_sims'])} trials, 1 core", _rate(k["trials_per_s"]),
                     f"{k['ns_per_trial']:.0f} ns/trial; estimate {_pm(k['estimate'], k['mcse'])}{target}"))
    for stream in ("power", "assurance"):
        rows.extend(_floor_rows(f"Random numbers alone, {stream}", "N = 600, numba loop, numpy Generator",
                                results["floor"][stream]))
    for r in results["scaling_trials"]:
        rows.append(("Scaling in trials (z_pooled)", f"N = 600, {_count(r['n_sims'])} trials", _rate(r["trials_per_s"]),
                     f"{r['median_s']:.3f} s CPU (median)"))
    for r in results["scaling_patients"]:
        rows.append(("Scaling in patients (z_pooled)", f"N = {r['n_total']}, {_count(r['n_sims'])} trials",
                     _rate(r["trials_per_s"]), f"{r['ns_per_trial']:.0f} ns/trial"))
    e2e = results["end_to_end"]
    for jobs in (1, 2):
        r = e2e[f"jobs{jobs}"]
        rows.append((f"p3sim run --jobs {jobs}", f"{_count(r['n_sims'])} trials, one scenario",
                     f"{r['wall_s']:.2f} s wall",
                     f"in-process runtime {r['runtime_s']:.2f} s; {_rate(r['trials_per_s_wall'])} wall; "
                     f"peak RSS {r['max_rss_mib']:.0f} MiB"))
    rows.append(("p3sim run speedup, 2 jobs vs 1", f"{_count(e2e['jobs1']['n_sims'])} trials",
                 f"{e2e['speedup_wall']:.2f}x wall", f"{e2e['speedup_runtime']:.2f}x runtime; "
                 f"same power: {e2e['same_power']}"))
    rows.append(("CPU capacity for 2 processes", "pure-Python loop alone vs 2 at once, just before",
                 f"{e2e['capacity']['capacity_cpus']:.2f} CPUs", "2 on an idle 2-core machine; ~1 when other work "
                 "holds a core (then --jobs 2 cannot gain)"))
    large = results["end_to_end_large"]
    if "skipped" not in large:
        rows.append(("p3sim run speedup, 2 jobs vs 1", f"{_count(large['n_sims'])} trials",
                     f"{large['speedup_wall']:.2f}x wall",
                     f"{large['jobs1_wall_s']:.1f} s vs {large['jobs2_wall_s']:.1f} s; "
                     f"{large['speedup_runtime']:.2f}x runtime; same power: {large['same_power']}; CPU capacity "
                     f"for 2 processes just before: {large['capacity']['capacity_cpus']:.2f}"))
    mem = results["memory"]
    for r in mem["runs"]:
        rows.append(("Peak RSS, p3sim run --jobs 1", f"{_count(r['n_sims'])} trials", f"{r['max_rss_mib']:.1f} MiB",
                     f"{r['wall_s']:.1f} s wall"))
    rows.append(("RSS growth, large vs small", " vs ".join(f"{_count(r['n_sims'])}" for r in mem["runs"][::-1]),
                 f"{mem['growth_mib']:+.1f} MiB",
                 f"budget {mem['budget_mib']:.0f} MiB: {'within' if mem['within_budget'] else 'EXCEEDED'}"
                 + (f"; {mem['note']}" if mem["note"] else "")))
    rows.append(_survival_row(results["survival"]))
    gs = results["group_sequential"]
    if "skipped" in gs:
        rows.append(("Group-sequential, 3 looks asOF", "N = 458, 0.50 vs 0.35", "skipped", gs["skipped"]))
    else:
        exact = f"; exact {gs['power_exact']:.4f} (z = {gs['z_vs_exact']:+.2f})" if "power_exact" in gs else ""
        rows.append(("Group-sequential, 3 looks asOF, power", f"N = 458, 0.50 vs 0.35, {_count(gs['n_sims'])} trials",
                     _rate(gs["trials_per_s"]), f"{gs['ns_per_trial']:.0f} ns/trial; estimate "
                     f"{_pm(gs['estimate'], gs['mcse'])}{exact}; mean looks {gs['mean_looks']:.2f}"))
        rows.extend(_floor_rows("Random numbers alone, 3 looks", "N = 458, every look drawn", gs["floor"]))
    rows.extend(_binary_rpact_rows(results["binary_rpact"]))
    rows.extend(_survival_rows(results))
    rows.extend(_survival_threads_rows(results["survival_threads"]))
    rows.extend(_survival_floor_rows(results["survival_floor"]))
    rows.extend(_survival_memory_rows(results["survival_memory"]))
    rows.append(_fixed_costs_row(results["fixed_costs"]))
    rows.extend(_continuous_rows(results["continuous"]))
    rows.append(_size_row(results["size_search"]))
    rows.append(_sweep_row(results["sweep"]))
    rows.append(_adaptive_row(results["adaptive"]))
    return rows


def _survival_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """SurvivalPlan timings, p3sim run end to end, and rpact side by side."""
    rows = []
    setting = "N = 610, HR 0.7, median 30, accrual 36"
    for name, r in results["survival_designs"].items():
        label = f"Survival, {_survival.LABELS[name]}, {'assurance' if name == 'assurance' else 'power'}"
        if "skipped" in r:
            rows.append((label, setting, "skipped", r["skipped"]))
            continue
        reference = "Schoenfeld over the prior" if name == "assurance" else "Schoenfeld"
        extra = (f"; prior log-normal, 95 % {r['prior']['lower']:.2f} to {r['prior']['upper']:.2f} around "
                 f"{r['prior']['estimate']:.2f}, P(HR < 1) = {r['prior_p_benefit']:.3f}" if name == "assurance" else "")
        rows.append((label, f"{setting}, {_count(r['n_sims'])} trials per call, 1 core", _rate(r["trials_per_s"]),
                     f"{r['us_per_trial']:.1f} µs/trial; estimate {_pm(r['estimate'], r['mcse'])} "
                     f"({_count(r['pooled_sims'])} trials pooled); {reference} {r['schoenfeld']:.4f} "
                     f"(difference {r['estimate'] - r['schoenfeld']:+.4f}: "
                     f"{'within' if r['agrees_with_schoenfeld'] else 'OUTSIDE'} 4 MCSE + {SCHOENFELD_SLACK}); "
                     f"mean looks {r['mean_looks']:.2f}, "
                     f"mean events {r['mean_events']:.1f}{extra}"))
    e2e = results["survival_end_to_end"]
    if "skipped" in e2e:
        rows.append(("p3sim run --jobs 1, survival 3 looks", setting, "skipped", e2e["skipped"]))
    else:
        rows.append(("p3sim run --jobs 1, survival 3 looks", f"{setting}, {_count(e2e['n_sims'])} trials",
                     f"{e2e['wall_s']:.2f} s wall", f"in-process runtime {e2e['runtime_s']:.2f} s "
                     f"({_rate(e2e['n_sims'] / e2e['runtime_s'])}); {_rate(e2e['trials_per_s_wall'])} wall; "
                     f"power {_pm(e2e['power'], e2e['power_mcse'])}; peak RSS {e2e['max_rss_mib']:.0f} MiB"))
    return rows + _survival_rpact_rows(results["survival_rpact"])


def bench_survival_floor(cfg: dict) -> dict:
    """Where a 3-look survival trial's CPU time goes, and the floors of its random numbers and of a merge
    (``bench_survival_floor.measure``: each step in turn per round, median of the rounds)."""
    import bench_survival_floor  # noqa: PLC0415 - the section's own module (beside this script)

    log("survival: where a 3-look trial's time goes, and the floors (bench_survival_floor)")
    return bench_survival_floor.measure(cfg["survival_floor_trials"], cfg["survival_rounds"])


def _survival_floor_rows(floor: dict) -> list[tuple[str, str, str, str]]:
    """The steps of a 3-look survival trial, the random numbers' floors and the bare merge."""
    what = {"draw": "drawing (entries, arms, exits)", "+cuts": "+ the cuts", "+sort": "+ the exit sort",
            "full": "whole trial (log-rank passes, decisions)", "generator": "random numbers alone, Generator",
            "pcg64": "the same draws, in-kernel PCG64 (bit for bit)", "sfc64": "as many uniforms, in-kernel SFC64"}
    rows = []
    for name, v in floor["us_per_trial"].items():
        rows.append((f"Survival 3 looks, N = 610: {what[name]}", f"{_count(floor['trials'])} trials, CPU time",
                     f"{v['median']:.2f} µs/trial", f"range {v['low']:.2f} to {v['high']:.2f}, {floor['rounds']} rounds"))
    m = floor["merge_ns_per_subject"]
    rows.append(("Bare merge of two sorted streams (334 + 276)", "CPU time", f"{m['median']:.2f} ns/subject",
                 f"range {m['low']:.2f} to {m['high']:.2f}; analysis {floor['analysis_us']:.2f} µs/trial, "
                 f"{floor['mean_looks']:.2f} looks on average"))
    m = floor["merge_keys_ns_per_subject"]
    rows.append(("The same merge on the times' bits as integer keys (the engine's)", "CPU time",
                 f"{m['median']:.2f} ns/subject", f"range {m['low']:.2f} to {m['high']:.2f}"))
    return rows


def _survival_threads_rows(threads: dict) -> list[tuple[str, str, str, str]]:
    """One row per round of :func:`bench_survival_threads`."""
    rows = []
    for i, r in enumerate(threads["rounds"]):
        rows.append((f"Survival 3 looks, Trial.simulate jobs 1 vs 2 (threads), round {i + 1}",
                     f"{_count(threads['n_sims'])} trials, wall clock",
                     f"{r['jobs1_wall_s']:.2f} s / {r['jobs2_wall_s']:.2f} s: {r['speedup']:.2f}x",
                     f"free CPUs for two processes just before: {r['capacity_jobs1']:.2f} / {r['capacity_jobs2']:.2f}; "
                     f"{'same result' if r['same_result'] else 'RESULTS DIFFER'}"))
    return rows


def _survival_memory_rows(mem: dict) -> list[tuple[str, str, str, str]]:
    """Peak RSS of the survival ``p3sim run`` at two sizes, and the growth."""
    rows = [("Peak RSS, p3sim run, survival 3 looks", f"{_count(r['n_sims'])} trials, --jobs 0",
             f"{r['max_rss_mib']:.1f} MiB", f"{r['wall_s']:.1f} s wall") for r in mem["runs"]]
    rows.append(("RSS growth, survival, large vs small", " vs ".join(f"{_count(r['n_sims'])}" for r in mem["runs"][::-1]),
                 f"{mem['growth_mib']:+.1f} MiB",
                 f"budget {mem['budget_mib']:.0f} MiB: {'within' if mem['within_budget'] else 'EXCEEDED'}"
                 + (f"; {mem['note']}" if mem["note"] else "")))
    return rows


def _fixed_costs_row(fixed: dict) -> tuple[str, str, str, str]:
    """Wall time of ``p3sim run configs/cairo6.toml`` outside the simulation, against the goal."""
    if "skipped" in fixed:
        return ("Fixed costs, p3sim run configs/cairo6.toml", "", "skipped", fixed["skipped"])
    return ("Fixed costs, p3sim run configs/cairo6.toml (plots on)", f"--sims {_count(fixed['n_sims'])}, wall clock",
            f"{fixed['outside_simulation_s']:.2f} s outside the simulation, median of {len(fixed['rounds'])} runs "
            f"({fixed['outside_range_s'][0]:.2f} to {fixed['outside_range_s'][1]:.2f} s; goal {fixed['goal_s']:.0f} s: "
            f"{'met' if fixed['met'] else 'NOT met'})",
            f"the median run, of {fixed['process_wall_s']:.2f} s: simulation {fixed['simulation_s']:.2f}, side samples "
            f"{fixed['side_samples_s']:.2f}, imports {fixed['import_s']:.2f}, figures {fixed['figures_s']:.2f}, "
            f"the rest (config, plans, kernel load, report) "
            f"{fixed['outside_simulation_s'] - fixed['import_s'] - fixed['figures_s']:.2f}; "
            f"free CPUs for two processes {fixed['capacity']['capacity_cpus']:.2f}")


def _survival_rpact_rows(rpact: dict) -> list[tuple[str, str, str, str]]:
    """rpact side by side for survival: CPU-time ratios, power agreement, analytic values."""
    rows = []
    if "skipped" in rpact:
        rows.append(("rpact side by side, survival", "getSimulationSurvival", "skipped", rpact["skipped"]))
        return rows
    for name in ("fixed", "group_sequential"):
        r, label = rpact.get(name), _survival.LABELS[name]
        if r is None:
            continue
        if "skipped" in r:
            rows.append((f"rpact survival, {label}", "", "skipped", r["skipped"]))
            continue
        bounds, ours, ratio = r["bounds"], r["ours_ns_per_trial"], r["ratio"]
        rows.append((f"Survival vs rpact getSimulationSurvival, {label}",
                     f"median of {r['rounds']} rounds alternated (ours {r['ours_rounds'][0]['n_sims']:,} trials, then "
                     f"rpact {_count(r['rpact_iterations'])}), CPU time, 1 core, rpact {r['rpact_version']}",
                     f"ours {_ns(ours['kernel']['median'])} (simulate), {_ns(ours['chunk']['median'])} (run_chunk); "
                     f"rpact {_ns(r['rpact_ns_per_trial']['median'])} per trial",
                     f"simulate {_ratio(ratio['kernel'])}, run_chunk {_ratio(ratio['chunk'])} faster; bounds "
                     f"{', '.join(f'{b:.6f}' for b in bounds['rpact'])} (ours differ by at most "
                     f"{bounds['max_abs_difference']:.1e})"))
        rows.append((f"Power agreement, survival {label}", "simulated vs simulated",
                     "agree" if r["power_simulated"]["agrees"] else "DISAGREE", _agreement(r["power_simulated"])))
        for function, groups in r["analytic"].items():
            parts = []
            for group in groups:
                ours = "/".join(c.get("ours_printed", str(c["ours"])) for c in group["checks"])
                theirs = "/".join(c["rpact_printed"] for c in group["checks"])
                parts.append(f"{group['what']} {ours} vs {theirs}")
            same = all(group["agrees"] for group in groups)
            rows.append((f"rpact {function}", f"{label}, N = 610", "same" if same else "DIFFERENT",
                         "; ".join(parts) + " (ours vs rpact, to rpact's printed digits)"))
    return rows


def _continuous_rows(continuous: dict) -> list[tuple[str, str, str, str]]:
    """Continuous kernel and chunk by CPU time, rpact's getSimulationMeans beside them."""
    rows = []
    for name in ("fixed", "group_sequential"):
        r, label = continuous.get(name), _means.LABELS[name]
        setting = f"continuous, {label}, difference 5, SD 12, t test"
        if r is None:
            continue
        if "skipped" in r:
            rows.append((f"Continuous, {label}", setting, "skipped", r["skipped"]))
            continue
        rounds = f"median of {r['rounds']} rounds of {r['ours_trials_per_round']:,} trials, CPU time, 1 core"
        target = ""
        if "kernel_meets_target" in r:
            target = f"; target 20 M/s {'met' if r['kernel_meets_target'] else 'NOT met'}"
        rows.append((f"Continuous kernel (_statistics), {label}", f"{setting}; {rounds}",
                     _rate(r["ours_kernel_trials_per_s"]),
                     f"{1e9 / r['ours_kernel_trials_per_s']:.0f} ns/trial{target}"))
        exact = r.get("power_exact")
        if "power_simulated" in r:
            ours = r["power_simulated"]
            estimate, mcse, pooled = ours["ours"], ours["ours_mcse"], None
        else:
            estimate, mcse, pooled = r["estimate"], r["mcse"], r["n_sims"]
        reference = (f"; noncentral t exact {exact:.4f} (z = {(estimate - exact) / mcse:+.2f})"
                     if exact is not None else "")
        rows.append((f"Continuous run_chunk, {label}", f"{setting}; {rounds}", _rate(r["ours_chunk_trials_per_s"]),
                     f"{1e9 / r['ours_chunk_trials_per_s']:.0f} ns/trial (statistics, decisions, counts); power "
                     f"{_pm(estimate, mcse)}{reference}" + (f" ({_count(pooled)} trials pooled)" if pooled else "")))
        if "rpact_trials_per_s" not in r:
            continue
        rows.append((f"rpact getSimulationMeans, {label}", f"{_count(r['rpact_iterations'])} iterations per round, "
                     f"median of {r['rounds']} rounds alternated with ours, CPU time, rpact {r['rpact_version']}",
                     _rate(r["rpact_trials_per_s"]),
                     f"{r['rpact_seconds']:.3f} s CPU per round (wall/CPU {r['rpact_wall_over_cpu']:.2f}, ours "
                     f"{r['ours_wall_over_cpu']:.2f}); ours "
                     f"{r['speed_ratio']:.0f}x faster by run_chunk, {r['kernel_speed_ratio']:.0f}x by the kernel "
                     f"(ratios per round: run_chunk {_ratio(r['per_round']['ratio']['chunk'])}, kernel "
                     f"{_ratio(r['per_round']['ratio']['kernel'])})"))
        sim = r["power_simulated"]
        rows.append((f"Power agreement, continuous {label}", "simulated vs simulated (rounds pooled)",
                     "agree" if sim["agrees"] else "DISAGREE",
                     _agreement(sim) + f"; {r['power_analytic']['what']} {r['power_analytic']['ours']:.4f} "
                     f"(rpact z = {r['power_simulated_vs_analytic']['rpact_z']:+.2f})"))
        checks = [("power", r["power_analytic"])] + (
            [("expected N under H1", r["expected_n_analytic"])] if "expected_n_analytic" in r else [])
        same = all(c["agrees"] for _, c in checks)
        rows.append(("rpact getPowerMeans (normalApproximation = FALSE)", label, "same" if same else "DIFFERENT",
                     "; ".join(f"{what} {c.get('ours_printed', c['ours'])} vs {c['rpact_printed']}"
                               for what, c in checks)
                     + f" (to rpact's printed digits); bounds differ by at most {r['bounds']['max_abs_difference']:.1e}"))
    if "rpact_skipped" in continuous:
        rows.append(("rpact side by side, continuous", "getSimulationMeans", "skipped", continuous["rpact_skipped"]))
    return rows


def _size_row(size: dict) -> tuple[str, str, str, str]:
    label, setting = "p3sim size (power 0.8)", "binary 0.30 vs 0.50, 1:1, z_pooled, --jobs 1"
    if "skipped" in size:
        return (label, setting, "skipped", size["skipped"])
    return (label, f"{setting}, --sims {size['n_sims']:,}", f"{size['wall_s']:.2f} s wall",
            f"best of {size['repeats']}; in-process runtime {size['runtime_s']:.2f} s; n_total = {size['n_total']} "
            f"({size['n_per_arm'][0]} + {size['n_per_arm'][1]}), power {_pm(size['power'], size['power_mcse'])}; "
            f"{size['evaluated']} sizes simulated; consistent within 2 MCSE: {size['interval'][0]} to "
            f"{size['interval'][1]}; analytic {size['analytic_n_total']}")


def _adaptive_row(adaptive: dict) -> tuple[str, str, str, str]:
    label = "Binary sample-size re-estimation (issue 17)"
    if "skipped" in adaptive:
        return (label, "benchmarks/bench_adaptive.py", "skipped", adaptive["skipped"])
    rpact = adaptive["rpact"]
    versus = (f"rpact getSimulationRates {_rate(rpact['trials_per_s'])} by CPU time: "
              f"{adaptive['speedup_vs_rpact']:.0f}x") if "trials_per_s" in rpact else f"rpact: {rpact['skipped']}"
    return (label, adaptive["design"], _rate(adaptive["reestimation"]["trials_per_s"]),
            f"{adaptive['reestimation']['ns_per_trial']:.0f} ns/trial, run_chunk, one core; plain two-look kernel "
            f"{adaptive['plain']['ns_per_trial']:.0f} ns/trial: ratio {adaptive['speed_ratio_to_plain']:.2f} "
            f"(target >= {adaptive['target_ratio']}); with a predictive-probability futility rule "
            f"{adaptive['reestimation_with_futility']['ns_per_trial']:.0f} ns/trial; interim tables "
            f"{adaptive['tables_cpu_s']:.1f} s once per plan; {versus}")


def _sweep_row(sweep: dict) -> tuple[str, str, str, str]:
    label = "Sweep, 8 scenarios x (power, assurance)"
    if "skipped" in sweep:
        return (label, "benchmarks/bench_sweep.py", "skipped", sweep["skipped"])
    best = sweep["best_s"]
    return (label, f"binary N = 600, {sweep['sims_per_stream']:,} trials per stream ({sweep['trials']:,} in all)",
            f"{best['1']:.2f} s (--jobs 1) / {best['2']:.2f} s (--jobs 2)",
            f"best of {len(sweep['seconds']['1'])}; {_rate(sweep['trials_per_s']['1'])} with 1 job; "
            f"speed-up {sweep['speedup_best']:.2f}x (target {sweep['target']}x on 2 free cores); CPU capacity "
            f"for 2 processes just before: {sweep['capacity']['capacity_cpus']:.2f}; load average "
            f"{sweep['load_average_before'][0]:.1f} before, {sweep['load_average_after'][0]:.1f} after")


def _floor_rows(label: str, setting: str, floors: dict) -> list[tuple[str, str, str, str]]:
    engine = floors["engine"]
    rows = []
    for kind in _kernels.FLOORS:
        pair = floors[kind]
        floor = pair["floor"]
        rows.append((f"{label}: {kind}", f"{setting}; {pair['what']}", _rate(floor["trials_per_s"]),
                     f"{floor['ns_per_trial']:.1f} ns/trial; engine in alternation {engine['ns_per_trial']:.1f} "
                     f"ns/trial = {pair['engine_over_floor']:.2f}x this ({pair['overhead_ns_per_trial']:+.1f} "
                     "ns/trial); CPU time, medians"))
    return rows


def _survival_row(survival: dict) -> tuple[str, str, str, str]:
    if "skipped" in survival:
        return ("Survival kernel", "benchmarks/bench_survival_kernel.py", "skipped", survival["skipped"])
    figure = survival["result"]
    if "output" in figure:  # a script's printed lines: show the one with the timing
        lines = figure["output"]
        timing = next((line for line in lines if "best" in line), lines[-1] if lines else "")
        return ("Survival kernel", f"bench_survival_kernel.py {survival['function']}", timing, "; ".join(
            line for line in lines if line != timing))
    value = figure.get("trials_per_s")
    shown = _rate(value) if isinstance(value, (int, float)) else json.dumps(figure)[:80]
    return ("Survival kernel", f"bench_survival_kernel.{survival['function']}()", shown, json.dumps(figure)[:200])


#: Issue 13's targets against rpact, per simulated trial, CPU time, one core.
KERNEL_TARGET_RATIO = 500.0
END_TO_END_TARGET_RATIO = 200.0


def _ratio(ratio: dict) -> str:
    digits = 0 if ratio["min"] >= 10 else 1
    return f"{ratio['median']:.{digits}f}x (range {ratio['min']:.{digits}f}x to {ratio['max']:.{digits}f}x)"


def _ns(ns: float) -> str:
    return f"{ns / 1e3:.2f} µs" if ns >= 1e3 else f"{ns:.1f} ns"


def _binary_rpact_rows(binary: dict) -> list[tuple[str, str, str, str]]:
    """Binary against rpact by CPU time: per design, per-trial times, ratios (median, range), agreement."""
    rows = []
    for name, _design, _stream, _exact, label in BINARY_RPACT:
        r = binary.get(name)
        if r is None:
            continue
        if "skipped" in r:
            rows.append((f"Binary vs rpact, {label}", "", "skipped", r["skipped"]))
            continue
        reference = "" if r["exact"] is None else f"; exact {r['exact']:.4f} (z = {r['z_vs_exact']:+.2f})"
        chunks = r["ours_rounds"][0]["n_sims"]
        if "ratio" not in r:
            rows.append((f"Binary kernel, {label}", f"{_count(chunks)} trials per round, CPU time, 1 core",
                         "rpact skipped", f"estimate {_pm(r['estimate'], r['mcse'])}{reference}"))
            continue
        ours, ratio = r["ours_ns_per_trial"], r["ratio"]
        target = ("target not applicable: rpact has no assurance" if r["stream"] != "power" else
                  f"target {KERNEL_TARGET_RATIO:.0f}x " + ("met" if ratio["kernel"]["median"] >= KERNEL_TARGET_RATIO
                                                          else "NOT met"))
        rows.append((
            f"Binary vs rpact getSimulationRates, {label}",
            f"median of {r['rounds']} rounds alternated (ours {chunks:,} trials, then rpact "
            f"{_count(r['rpact_iterations'])}), CPU time, 1 core, rpact {r['rpact_version']}",
            f"ours {_ns(ours['kernel']['median'])} (kernel), {_ns(ours['chunk']['median'])} (run_chunk); rpact "
            f"{_ns(r['rpact_ns_per_trial']['median'])} per trial",
            f"kernel {_ratio(ratio['kernel'])}, run_chunk {_ratio(ratio['chunk'])} faster; {target}; our estimate {_pm(r['estimate'], r['mcse'])}{reference}",
        ))
        if "power_simulated" in r and r["stream"] == "power":
            rows.append((f"Power agreement, {label}", "simulated vs simulated (rounds pooled)",
                         "agree" if r["power_simulated"]["agrees"] else "DISAGREE", _agreement(r["power_simulated"])))
        for key, what in (("power_analytic", "analytic power (getPowerRates)"),
                          ("n_for_power_analytic", "analytic N for 80 % power (getSampleSizeRates)"),
                          ("expected_n_analytic", "analytic expected N under H1 (getPowerRates)")):
            if key in r and r["stream"] == "power":
                rows.append((f"rpact {what}", label, "same" if r[key]["agrees"] else "DIFFERENT", _agreement(r[key])))
    e2e = binary.get("end_to_end", {})
    label = "p3sim run --jobs 1 vs rpact, fixed N = 600, z_pooled"
    if "skipped" in e2e or "ratio" not in e2e:
        rows.append((label, "", "skipped", e2e.get("skipped", e2e.get("rpact_skipped", "not run"))))
        return rows
    n = e2e["ours_rounds"][0]["n_sims"]
    ours = e2e["ours_ns_per_trial"]["end_to_end"]
    ratio = e2e["ratio"]["end_to_end"]
    target = "met" if ratio["median"] >= END_TO_END_TARGET_RATIO else "NOT met"
    rows.append((
        label,
        f"median of {e2e['rounds']} rounds alternated ({_count(n)} trials per run, then rpact "
        f"{_count(e2e['rpact_iterations'])}), CPU time of the whole p3sim process (start, imports, report)",
        f"ours {_ns(ours['median'])} per trial ({ours['median'] * n / 1e9:.2f} s CPU per run); rpact "
        f"{_ns(e2e['rpact_ns_per_trial']['median'])}",
        f"{_ratio(ratio)} faster; target {END_TO_END_TARGET_RATIO:.0f}x {target}; power "
        f"{e2e['ours_rounds'][0]['power']:.5f} (exact {e2e['power_exact']:.5f})",
    ))
    return rows


def markdown(results: dict) -> str:
    """The results as one Markdown table with a line on the machine."""
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    lines = [
        f"Measured {results['meta']['date']} on {m['cpu_model']} ({m['cpus_available']} CPUs available), "
        f"Python {m['python']}, {versions}; `{results['meta']['command']}`; load average (1 min) "
        f"{m['load_average_at_start'][0]:.1f} at start, {m['load_average_at_end'][0]:.1f} at end "
        "(other processes share these CPUs: read speedups with that in mind).",
        "",
        "| Measurement | Setting | Result | Note |",
        "|---|---|---|---|",
    ]
    for row in results["table"]:
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main
def run(quick: bool, out: Path, binary_rpact_only: bool = False, survival_rpact_only: bool = False,
        fixed_costs_only: bool = False, joint_only: bool = False) -> dict:
    """Run every measurement (or only the binary or survival comparison with rpact); write ``out/results.json``, ``.md``."""
    started = time.perf_counter()
    cfg = settings(quick)
    results = {
        "meta": {
            "command": "python benchmarks/run.py" + (" --quick" if quick else "")
                       + (" --binary-rpact-only" if binary_rpact_only else "")
                       + (" --survival-rpact-only" if survival_rpact_only else "")
                       + (" --fixed-costs-only" if fixed_costs_only else "")
                       + (" --joint-only" if joint_only else ""),
            "quick": quick,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "settings": cfg,
            "timing": "CPU time for one-thread work (time.process_time here, proc.time() user + system in R, "
                      "the child's user + system for a p3sim process), medians of the repeats (all kept); "
                      "comparisons with rpact alternate ours and rpact's rounds and give the median ratio and "
                      "its range; parallel speed-ups are wall-clock, with the free CPUs measured just before; "
                      "kernels after a warm-up call, in one process",
        },
        "machine": _machine.describe(),
    }
    if binary_rpact_only:
        with tempfile.TemporaryDirectory(prefix="p3sim-bench-") as folder:
            results["binary_rpact"] = bench_binary_rpact(_designs.write_base(Path(folder)), cfg)
        return _finish(results, started, out, _binary_rpact_rows(results["binary_rpact"]))
    if joint_only:
        results["joint"] = bench_joint(cfg)
        return _finish(results, started, out, [_joint_row(results["joint"])])
    if fixed_costs_only:
        results["fixed_costs"] = bench_fixed_costs(cfg)
        return _finish(results, started, out, [_fixed_costs_row(results["fixed_costs"])])
    if survival_rpact_only:
        plans = {name: _survival.make_plan(name) for name in ("fixed", "group_sequential")}
        results["survival_rpact"] = bench_survival_rpact(plans, {}, cfg)
        results["survival_threads"] = bench_survival_threads(cfg)
        results["survival_floor"] = bench_survival_floor(cfg)
        return _finish(results, started, out, _survival_rpact_rows(results["survival_rpact"])
                       + _survival_threads_rows(results["survival_threads"])
                       + _survival_floor_rows(results["survival_floor"]))
    with tempfile.TemporaryDirectory(prefix="p3sim-bench-") as folder:
        base = _designs.write_base(Path(folder))
        log("compile time: two fresh interpreters sharing one empty NUMBA_CACHE_DIR")
        results["compile"] = _processes.compile_times(base)
        log("compile time of every kernel family: a fresh NUMBA_CACHE_DIR each")
        results["compile_families"] = _processes.family_compile_times()
        results["kernel"], plans = bench_kernels(base, cfg)
        results["floor"] = bench_floor(plans, cfg)
        results["scaling_trials"] = bench_scaling_trials(plans, cfg)
        results["scaling_patients"] = bench_scaling_patients(base, cfg)
        results["end_to_end"] = bench_end_to_end(base, cfg)
        results["memory"] = bench_memory(base, cfg, results["end_to_end"])
        results["end_to_end_large"] = bench_large_speedup(base, results["memory"])
        results["survival"] = bench_survival(cfg)
        gs_result, gs_plan = bench_group_sequential(base, cfg)
        results["group_sequential"] = gs_result
        results["binary_rpact"] = bench_binary_rpact(base, cfg)
        results["survival_designs"], survival_plans = bench_survival_designs(cfg)
        results["survival_end_to_end"] = bench_survival_end_to_end(Path(folder), cfg)
        results["survival_rpact"] = bench_survival_rpact(survival_plans, results["survival_designs"], cfg)
        results["survival_threads"] = bench_survival_threads(cfg)
        results["survival_floor"] = bench_survival_floor(cfg)
        results["survival_memory"] = bench_survival_memory(Path(folder), cfg)
        results["fixed_costs"] = bench_fixed_costs(cfg)
        results["continuous"] = bench_continuous(cfg)
        results["size_search"] = bench_size_search(Path(folder), cfg)
        results["sweep"] = bench_sweep(cfg)
        results["adaptive"] = bench_adaptive(cfg)
        results["joint"] = bench_joint(cfg)
    return _finish(results, started, out, table_rows(results) + [_joint_row(results["joint"])])


def _finish(results: dict, started: float, out: Path, rows: list) -> dict:
    """Close the results (load at the end, duration, table) and write ``out/results.json`` and ``results.md``."""
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["meta"]["duration_s"] = time.perf_counter() - started
    results["table"] = rows
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=_json_default) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    return results


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {value!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, no 10^8 memory run (a few minutes)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output folder (default benchmarks/results)")
    parser.add_argument("--binary-rpact-only", action="store_true",
                        help="only the binary comparison with rpact (section 5: CPU time, alternated rounds, "
                             "p3sim run end to end), about two minutes")
    parser.add_argument("--survival-rpact-only", action="store_true",
                        help="only the survival comparison with rpact (section 6: CPU time, alternated rounds of "
                             "the fixed and 3-look designs, power agreement, analytic values)")
    parser.add_argument("--fixed-costs-only", action="store_true",
                        help="only the fixed costs of p3sim run configs/cairo6.toml (section 7: the median of 3 or "
                             "5 runs), about a minute")
    parser.add_argument("--joint-only", action="store_true",
                        help="only the CAIRO6 joint kernel against the issue's code (bench_joint.py: alternated "
                             "rounds of two trees), about five minutes")
    args = parser.parse_args(argv)
    results = run(args.quick, args.out, args.binary_rpact_only, args.survival_rpact_only, args.fixed_costs_only,
                  args.joint_only)
    print(markdown(results))
    log(f"done in {results['meta']['duration_s']:.0f} s; wrote {args.out}/results.json and results.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
