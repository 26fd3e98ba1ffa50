"""The continuous (difference of means) designs of the benchmark and our CPU-time rounds.

Designs (issue 16): two arms 1:1, higher is better, a true difference of
means of 5 with a common SD of 12, Student's t test (pooled variance),
one-sided alpha 0.025:

- ``fixed``: one analysis at N = 200 (100 per arm);
- ``group_sequential``: 3 equally spaced looks at N = 82, 164, 246,
  Lan-DeMets O'Brien-Fleming (``asOF``) bounds.

Each design is a config mapping with the TOML file's keys, validated and
built through the public API (:meth:`simulator.Trial.from_dict`, then
:func:`simulator.endpoints.plan_for`), like the binary designs of
:mod:`_designs`.

Our side is timed by CPU time (:func:`time.process_time`), in this one
process and thread, after a warm-up that compiles the kernels (or loads them
from Numba's cache), in the runner's chunks of
:data:`simulator.engine.seeding.CHUNK_SIZE` trials:

- kernel: ``ContinuousPlan._statistics`` (the draws and the test statistic
  per trial and look, nothing else);
- chunk: ``ContinuousPlan.run_chunk`` (what the runner calls per chunk: the
  statistics, the decisions at the bounds, the per-look counts).

:func:`round_function` returns one round of both; ``_rpact.means_side_by_side``
alternates such rounds with rpact's ``getSimulationMeans`` rounds.
"""

from __future__ import annotations

import time

import numpy as np

import simulator
from simulator.endpoints import plan_for
from simulator.engine.seeding import CHUNK_SIZE

ENDPOINT = "change"
#: The issue's numbers, shared with the rpact side.
DIFFERENCE = 5.0
SD = 12.0
ALPHA = 0.025
N_TOTAL = {"fixed": 200, "group_sequential": 246}
LOOKS = {"fixed": 1, "group_sequential": 3}
LABELS = {"fixed": "fixed, N = 200", "group_sequential": "3 looks asOF, N = 82/164/246"}
#: Trials in the warm-up calls (one full chunk, so that the timed calls allocate as the runner's do).
WARM_UP = CHUNK_SIZE


def config_mapping(name: str) -> dict:
    """The config of design ``name`` (a key of :data:`N_TOTAL`), with the TOML file's keys."""
    looks = LOOKS[name]
    design = {"alpha": ALPHA, "sided": 1, "looks": looks}
    if looks > 1:
        design["efficacy"] = "asOF"
    return {
        "trial": {"name": f"continuous benchmark ({name})", "arms": ["control", "experimental"],
                  "allocation": [1, 1], "n_total": N_TOTAL[name]},
        "endpoints": {ENDPOINT: {
            "kind": "continuous", "better": "higher", "test": "t",
            "truth": {"sd": SD, "control": {"mean": 0.0}, "experimental": {"mean": DIFFERENCE}},
        }},
        "design": design,
        "simulation": {"n_sims": 100_000, "seed": 20261128, "jobs": 1},
    }


def make_plan(name: str):
    """The validated config and the :class:`~simulator.endpoints.continuous.ContinuousPlan` of design ``name``."""
    trial = simulator.Trial.from_dict(config_mapping(name))
    config = trial.scenarios[0].config
    return config, plan_for(config, config.endpoints[0])


def _cpu_seconds(call, rng, chunks: int, keep=lambda out: 0) -> tuple[float, float, int]:
    """CPU and wall time of ``chunks`` calls ``call(rng, CHUNK_SIZE, "power")``, and the sum of ``keep`` of their results.

    ``keep`` reduces each result at once (a count, a few microseconds per
    chunk), so that no chunk's arrays outlive the next call: the timed calls
    reuse memory as the runner's do.
    """
    kept = 0
    start, start_wall = time.process_time(), time.perf_counter()
    for _ in range(chunks):
        kept += keep(call(rng, CHUNK_SIZE, "power"))
    return time.process_time() - start, time.perf_counter() - start_wall, kept


def _rejections(chunk_result) -> int:
    success, _counts = chunk_result
    return int(np.count_nonzero(success))


def round_function(plan, chunks: int, seed: int = 1):
    """One timed round of our side, ``round(r) -> dict``, after a warm-up that compiles.

    Each round simulates ``chunks`` chunks of :data:`CHUNK_SIZE` trials twice,
    with generators made before the clock starts: through the kernel alone
    and through ``run_chunk``. It returns the trials of each, their CPU
    seconds and the trials that rejected (from ``run_chunk``).
    """
    plan._statistics(np.random.default_rng(seed), WARM_UP, "power")
    plan.run_chunk(np.random.default_rng(seed), WARM_UP, "power")

    def one_round(r: int) -> dict:
        kernel_rng, chunk_rng = np.random.default_rng([seed, r, 0]), np.random.default_rng([seed, r, 1])
        kernel_s, kernel_wall, _ = _cpu_seconds(plan._statistics, kernel_rng, chunks)
        chunk_s, chunk_wall, successes = _cpu_seconds(plan.run_chunk, chunk_rng, chunks, _rejections)
        return {"n_sims": chunks * CHUNK_SIZE, "cpu_s": {"kernel": kernel_s, "chunk": chunk_s},
                "wall_s": {"kernel": kernel_wall, "chunk": chunk_wall}, "successes": successes}

    return one_round


def ours_alone(plan, chunks: int, rounds: int, seed: int = 1) -> dict:
    """Our rounds without rpact (when R cannot load it): medians of the CPU times, the pooled power."""
    one_round = round_function(plan, chunks, seed)
    runs = [one_round(r) for r in range(rounds)]
    n = runs[0]["n_sims"]
    total = sum(r["n_sims"] for r in runs)
    estimate = sum(r["successes"] for r in runs) / total
    return {
        "rounds": rounds, "ours_trials_per_round": n, "ours_rounds": runs, "ours_wall_over_cpu": wall_over_cpu(runs),
        "ours_kernel_trials_per_s": n / float(np.median([r["cpu_s"]["kernel"] for r in runs])),
        "ours_chunk_trials_per_s": n / float(np.median([r["cpu_s"]["chunk"] for r in runs])),
        "estimate": estimate, "mcse": float(np.sqrt(estimate * (1.0 - estimate) / total)), "n_sims": total,
    }


def wall_over_cpu(runs: list[dict]) -> float:
    """Median over rounds of our wall time over CPU time (1 when this process had a core to itself)."""
    return float(np.median([(r["wall_s"]["kernel"] + r["wall_s"]["chunk"]) / (r["cpu_s"]["kernel"] + r["cpu_s"]["chunk"])
                            for r in runs]))
