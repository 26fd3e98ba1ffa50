"""In-process timings of the binary engine, and the cost of its random numbers.

Every timing here calls the kernel the way the runner does, through
``BinaryPlan.simulate(rng, n, stream)`` in this one process and thread (no
joblib), after a warm-up call so that compilation (or loading from Numba's
cache) is not counted. Times are CPU times (``time.process_time``: one
thread, so this is the work's own time, whatever else runs on the machine);
each measurement is repeated with fresh generators and the median is the
figure reported, every time kept in the results.

The floor is what the random numbers of the per-trial binomial sampler cost
on their own: two binomial draws per trial and look from the same kind of
``numpy.random.Generator`` inside a trivial Numba loop (two beta draws more
for assurance). Since the alias tables (issue 13) the fixed-rate engine
draws one uniform per arm and look instead, so it runs below that floor.

:func:`round_function` times whole chunks by CPU time for the rounds that
``_rpact.rates_side_by_side`` alternates with rpact's.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

from simulator.engine.seeding import CHUNK_SIZE
from simulator.stats.decision import REJECT_FAVOURABLE

#: Trials in the warm-up call that triggers compilation or the cache load.
WARM_UP = 1000


def _times(run, repeats: int) -> list[float]:
    """CPU seconds taken by ``repeats`` calls of ``run(repeat_index)`` (one thread)."""
    times = []
    for r in range(repeats):
        start = time.process_time()
        run(r)
        times.append(time.process_time() - start)
    return times


def _timing(n_sims: int, times: list[float]) -> dict:
    median = float(np.median(times))
    return {
        "n_sims": n_sims,
        "repeats": len(times),
        "clock": "CPU time (time.process_time), one thread",
        "seconds": times,
        "best_s": min(times),
        "median_s": median,
        "trials_per_s": n_sims / median,
        "ns_per_trial": 1e9 * median / n_sims,
    }


def throughput(plan, n_sims: int, stream: str = "power", repeats: int = 3, seed: int = 1) -> dict:
    """Trials per second of ``plan.simulate`` for one stream.

    Parameters
    ----------
    plan : BinaryPlan
        The endpoint plan (built by :func:`_designs.make_plan`).
    n_sims : int
        Trials per timed call.
    stream : {"power", "assurance", "type1"}
        What the kernel simulates.
    repeats : int
        Timed calls, each with its own generator (the median counts).
    seed : int
        Root of the generators (``default_rng([seed, repeat])``).

    Returns
    -------
    dict
        The timings (see :func:`_timing`) and the estimated success
        probability of the last call with its Monte Carlo standard error.

    Examples
    --------
    >>> from pathlib import Path; import tempfile, _designs  # doctest: +SKIP
    >>> _, plan = _designs.make_plan(_designs.write_base(Path(tempfile.mkdtemp())), ())  # doctest: +SKIP
    >>> throughput(plan, 10_000, repeats=1)["trials_per_s"] > 0  # doctest: +SKIP
    True
    """
    plan.simulate(np.random.default_rng(seed), WARM_UP, stream)
    last = {}

    def run(r):
        last["out"] = plan.simulate(np.random.default_rng([seed, r]), n_sims, stream)

    result = _timing(n_sims, _times(run, repeats))
    stop_look, decision = last["out"][0], last["out"][1]
    success = float(np.mean(decision == REJECT_FAVOURABLE))
    result.update(
        estimate=success,
        mcse=math.sqrt(success * (1.0 - success) / n_sims),
        mean_looks=float(np.mean(stop_look) + 1.0),
    )
    return result


# ---------------------------------------------------------------- the floor
@numba.njit(cache=False)
def _uniforms(rng, n_sims, per_trial):
    """``per_trial`` uniforms per trial, nothing else (the sum keeps them alive)."""
    total = 0.0
    for _ in range(n_sims):
        for _ in range(per_trial):
            total += rng.random()
    return total


@numba.njit(cache=False)
def _binomials(rng, n_sims, new_c, new_e, p_c, p_e):
    """Two binomial draws per trial and look, nothing else (the sum keeps them alive).

    ``new_c``, ``new_e``: patients added per arm at each look (one entry for
    a fixed design).
    """
    total = 0
    for _ in range(n_sims):
        for k in range(new_c.shape[0]):
            total += rng.binomial(new_e[k], p_e) - rng.binomial(new_c[k], p_c)
    return total


@numba.njit(cache=False)
def _betas_and_uniforms(rng, n_sims, a_c, b_c, a_e, b_e):
    """Per trial two uniforms and two beta rates (the draws of a fixed design's assurance trial)."""
    total = 0.0
    for _ in range(n_sims):
        total += rng.random() + rng.beta(a_c, b_c) + rng.random() + rng.beta(a_e, b_e)
    return total


@numba.njit(cache=False)
def _betas_and_binomials(rng, n_sims, n_c, n_e, a_c, b_c, a_e, b_e):
    """Two beta rates and two binomial draws at those rates per trial."""
    total = 0
    for _ in range(n_sims):
        p_c = rng.beta(a_c, b_c)
        p_e = rng.beta(a_e, b_e)
        total += rng.binomial(n_e, p_e) - rng.binomial(n_c, p_c)
    return total


#: The floors :func:`floor_call` knows: what each costs per trial.
FLOORS = {
    "uniforms": "the engine's own draws: one uniform per alias table and look (power: 1 per look from a table "
                "of pairs, else 2); 2 uniforms and 2 Beta rates (assurance)",
    "binomials": "the per-trial sampler before issue 13: 2 binomials per look (power); 2 Beta rates and 2 "
                 "binomials at those rates (assurance)",
}


def floor_call(plan, stream: str, kind: str = "uniforms"):
    """A function ``rng, n_sims -> number`` that draws only random numbers, as ``kind`` of :data:`FLOORS` says.

    Uses the plan's arm sizes, oriented true rates and (first component of
    the) oriented priors, so that every draw has the parameters it has in
    the engine (posterior Beta parameters differ by the counts, which
    changes little of a Beta draw's cost).
    """
    new_c = np.diff(plan.looks.evaluable_c, prepend=0).astype(np.int64)
    new_e = np.diff(plan.looks.evaluable_e, prepend=0).astype(np.int64)
    if stream == "power":
        if kind == "uniforms":
            per_trial = plan.sampling_tables(stream).alias[4].size  # tables per look x looks
            return lambda rng, n: _uniforms(rng, n, per_trial)
        p_c, p_e = plan.truth
        return lambda rng, n: _binomials(rng, n, new_c, new_e, p_c, p_e)
    if stream == "assurance" and plan.prior is not None and len(new_c) == 1:
        control, experimental = plan.prior
        betas = (control.a[0], control.b[0], experimental.a[0], experimental.b[0])
        if kind == "uniforms":
            return lambda rng, n: _betas_and_uniforms(rng, n, *betas)
        return lambda rng, n: _betas_and_binomials(rng, n, int(new_c[0]), int(new_e[0]), *betas)
    raise ValueError(f"no floor for stream {stream!r} of this plan")


def engine_vs_floor(plan, stream: str, n_sims: int, repeats: int = 3, seed: int = 2) -> dict:
    """The engine and random numbers alone (each kind of :data:`FLOORS`), timed in alternation.

    Alternating the calls exposes all to the same load from other processes.

    Returns
    -------
    dict
        ``engine`` and per floor kind its timing (see :func:`_timing`), the
        engine's median CPU time per trial over the floor's and the
        difference in ns per trial.
    """
    floors = {kind: floor_call(plan, stream, kind) for kind in FLOORS}
    for floor in floors.values():
        floor(np.random.default_rng(seed), WARM_UP)
    plan.simulate(np.random.default_rng(seed), WARM_UP, stream)
    engine_times, floor_times = [], {kind: [] for kind in FLOORS}
    for r in range(repeats):
        # Each lambda is called (once) before the loop moves on; r is bound anyway.
        engine_times += _times(lambda _, r=r: plan.simulate(np.random.default_rng([seed, r]), n_sims, stream), 1)
        for kind, floor in floors.items():
            floor_times[kind] += _times(lambda _, r=r, f=floor: f(np.random.default_rng([seed, r]), n_sims), 1)
    engine = _timing(n_sims, engine_times)
    out = {"engine": engine}
    for kind in FLOORS:
        timing = _timing(n_sims, floor_times[kind])
        out[kind] = {
            "what": FLOORS[kind], "floor": timing,
            "engine_over_floor": engine["ns_per_trial"] / timing["ns_per_trial"],
            "overhead_ns_per_trial": engine["ns_per_trial"] - timing["ns_per_trial"],
        }
    return out


# ------------------------------------------------------- CPU-time rounds
def cpu_seconds(call, seed, chunks: int, stream: str, keep=lambda out: 0, size: int = CHUNK_SIZE):
    """CPU and wall seconds of ``chunks`` calls ``call(rng, size, stream)``, and the sum of ``keep(result)``.

    One generator per chunk, made before the clock starts, as the runner
    gives each chunk its own; ``keep`` reduces each result at once, so that
    no chunk's arrays outlive the next call (the runner's memory pattern).
    """
    rngs = [np.random.default_rng([*seed, c]) for c in range(chunks)]
    kept = 0
    start, start_wall = time.process_time(), time.perf_counter()
    for rng in rngs:
        kept += keep(call(rng, size, stream))
    return time.process_time() - start, time.perf_counter() - start_wall, kept


def successes(chunk_result) -> int:
    """Trials of a ``run_chunk`` result that succeeded."""
    success, _counts = chunk_result
    return int(np.count_nonzero(success if success.ndim == 1 else success[0]))


def round_function(plan, chunks: int, stream: str = "power", seed: int = 1):
    """One CPU-timed round of the binary engine, ``round(r) -> dict``, after a warm-up that compiles.

    A round simulates ``chunks`` chunks of the runner's
    :data:`~simulator.engine.seeding.CHUNK_SIZE` trials twice: through the
    kernel alone (``BinaryPlan.simulate_levels``: draws, decisions at every
    level, the per-look tally) and through ``run_chunk`` (what the runner
    calls per chunk: the same plus the success array and the counts). One
    thread, so ``time.process_time`` is this work's CPU time.
    """
    plan.simulate_levels(np.random.default_rng(seed), CHUNK_SIZE, stream)
    plan.run_chunk(np.random.default_rng(seed), CHUNK_SIZE, stream)

    def one_round(r: int) -> dict:
        kernel_s, kernel_wall, _ = cpu_seconds(plan.simulate_levels, (seed, r, 0), chunks, stream)
        chunk_s, chunk_wall, won = cpu_seconds(plan.run_chunk, (seed, r, 1), chunks, stream, successes)
        return {"n_sims": chunks * CHUNK_SIZE, "stream": stream, "cpu_s": {"kernel": kernel_s, "chunk": chunk_s},
                "wall_s": {"kernel": kernel_wall, "chunk": chunk_wall}, "successes": won}

    return one_round
