"""Speed of binary sample-size re-estimation (issue 17), against the plain kernel and rpact.

Usage::

    python benchmarks/bench_adaptive.py [--quick] [--out FILE.json]

The design of docs/adaptive.md's rpact reference: 0.30 vs 0.45, two stages
of 150 planned patients, asOF inverse-normal bounds, conditional power 0.8
at the observed rates, second stage 150..600, z_pooled. By CPU time
(``time.process_time``) on one core, after a warm-up that compiles the
kernels (or loads them from Numba's cache), in the runner's chunks of
65536 trials, median of the repeats:

- ``reestimation``: ``BinaryPlan.run_chunk`` with ``[adaptation]`` (the
  interim tables read per trial, the second stage drawn at its size);
- ``plain``: ``BinaryPlan.run_chunk`` of the same two-look design without
  re-estimation (the plain group-sequential kernel);
- ``tables``: building the interim tables once per plan (the exact
  predictive probability of every stage-1 outcome included), compiled;
- ``reestimation_with_futility``: with a predictive-probability futility
  rule as well (its shadows are drawn on);
- rpact's ``getSimulationRates`` with the same design, CPU time of the R
  process's simulation call (``proc.time``), when ``Rscript`` can load rpact.

The issue's target: re-estimation at no less than a quarter of the plain
kernel's speed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from simulator.config.validate import validate
from simulator.endpoints import plan_for
from simulator.engine.seeding import CHUNK_SIZE

TARGET_RATIO = 0.25
RPACT_CALL = (
    'd <- getDesignInverseNormal(kMax = 2, alpha = 0.025, sided = 1, typeOfDesign = "asOF"); '
    "t0 <- proc.time(); "
    "s <- getSimulationRates(d, groups = 2, pi1 = 0.45, pi2 = 0.30, plannedSubjects = c(150, 300), "
    "conditionalPower = 0.8, minNumberOfSubjectsPerStage = c(150, 150), "
    "maxNumberOfSubjectsPerStage = c(150, 600), maxNumberOfIterations = {n}, seed = 1); "
    "t1 <- proc.time() - t0; "
    'cat(sprintf("%.6f %.6f\\n", t1[["user.self"]] + t1[["sys.self"]], s$overallReject))'
)


def mapping(adaptation: bool, futility: bool = False) -> dict:
    raw = {
        "trial": {"n_total": 300},
        "endpoints": {"response": {"kind": "binary", "test": "z_pooled",
                                   "truth": {"control": 0.30, "experimental": 0.45}}},
        "design": {"alpha": 0.025, "sided": 1, "looks": 2, "efficacy": "asOF"},
    }
    if adaptation:
        raw["adaptation"] = {"conditional_power": 0.8, "min_per_stage": [150, 150], "max_per_stage": [150, 600]}
    if futility:
        raw["interim"] = {"futility": {"on": "predictive_probability", "below": 0.05}}
    return raw


def plan_of(raw: dict):
    config = validate(raw)
    return plan_for(config, config.endpoints[0])


def per_trial_seconds(plan, chunks: int, repeats: int) -> float:
    """Median CPU seconds per trial of ``run_chunk`` on the power stream."""
    plan.run_chunk(np.random.default_rng(0), CHUNK_SIZE, "power")  # warm-up: compile or load
    times = []
    for r in range(repeats):
        rng = np.random.default_rng(r + 1)
        start = time.process_time()
        for _ in range(chunks):
            plan.run_chunk(rng, CHUNK_SIZE, "power")
        times.append((time.process_time() - start) / (chunks * CHUNK_SIZE))
    return statistics.median(times)


def rpact_seconds(iterations: int) -> dict:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not found"}
    call = "suppressMessages(library(rpact)); " + RPACT_CALL.replace("{n}", str(iterations))
    done = subprocess.run(["Rscript", "-e", call], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return {"skipped": (done.stderr.strip().splitlines() or ["Rscript failed"])[-1]}
    cpu, power = (float(v) for v in done.stdout.split())
    return {"iterations": iterations, "cpu_s": cpu, "trials_per_s": iterations / cpu, "power": power,
            "call": RPACT_CALL.replace("{n}", str(iterations))}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    chunks, repeats = (2, 3) if args.quick else (8, 5)
    plan_of(mapping(True))  # compiles the table kernels (or loads them from Numba's cache)
    start = time.process_time()
    ssr = plan_of(mapping(True))
    tables_s = time.process_time() - start
    results = {
        "design": "0.30 vs 0.45, stages 150 + 150 (re-estimated 150..600), asOF, CP 0.8, z_pooled",
        "tables_cpu_s": tables_s,
    }
    for name, plan in (("reestimation", ssr), ("plain", plan_of(mapping(False))),
                       ("reestimation_with_futility", plan_of(mapping(True, True)))):
        seconds = per_trial_seconds(plan, chunks, repeats)
        results[name] = {"ns_per_trial": seconds * 1e9, "trials_per_s": 1.0 / seconds}
    ratio = results["reestimation"]["trials_per_s"] / results["plain"]["trials_per_s"]
    results["speed_ratio_to_plain"] = ratio
    results["target_ratio"] = TARGET_RATIO
    results["meets_target"] = ratio >= TARGET_RATIO
    results["rpact"] = rpact_seconds(20_000 if args.quick else 100_000)
    if "trials_per_s" in results["rpact"]:
        results["speedup_vs_rpact"] = results["reestimation"]["trials_per_s"] / results["rpact"]["trials_per_s"]
    text = json.dumps(results, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
