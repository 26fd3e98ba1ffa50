"""In-process timings of the binary engine, and the cost of its random numbers.

Every timing here calls the kernel the way the runner does, through
``BinaryPlan.simulate(rng, n, stream)`` in this one process (no joblib), after
a warm-up call so that compilation (or loading from Numba's cache) is not
counted. Each measurement is repeated with fresh generators; the best time is
the figure reported (on a shared machine the best is the one least disturbed
by other processes), and every time is kept in the results.

The floor is what two binomial draws per trial cost on their own (two beta
draws more for assurance), drawn from the same kind of ``numpy.random.Generator``
inside a trivial Numba loop: no engine can be faster than its random numbers.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

from simulator.stats.decision import REJECT_FAVOURABLE

#: Trials in the warm-up call that triggers compilation or the cache load.
WARM_UP = 1000


def _times(run, repeats: int) -> list[float]:
    """Seconds taken by ``repeats`` calls of ``run(repeat_index)``."""
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        run(r)
        times.append(time.perf_counter() - start)
    return times


def _timing(n_sims: int, times: list[float]) -> dict:
    best = min(times)
    return {
        "n_sims": n_sims,
        "repeats": len(times),
        "seconds": times,
        "best_s": best,
        "median_s": float(np.median(times)),
        "trials_per_s": n_sims / best,
        "ns_per_trial": 1e9 * best / n_sims,
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
        Timed calls, each with its own generator.
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
def _betas_and_binomials(rng, n_sims, n_c, n_e, a_c, b_c, a_e, b_e):
    """Two beta rates and two binomial draws at those rates per trial."""
    total = 0
    for _ in range(n_sims):
        p_c = rng.beta(a_c, b_c)
        p_e = rng.beta(a_e, b_e)
        total += rng.binomial(n_e, p_e) - rng.binomial(n_c, p_c)
    return total


def floor_call(plan, stream: str):
    """A function ``rng, n_sims -> int`` that draws only what ``plan``'s kernel draws.

    Uses the plan's arm sizes, oriented true rates and (first component of
    the) oriented priors, so that every draw has the same parameters, hence
    the same sampling algorithm, as in the engine. Power: two binomials per
    look, every look drawn (the engine also draws every look). Assurance
    (fixed designs): two beta rates and two binomials at those rates.
    """
    new_c = np.diff(plan.looks.evaluable_c, prepend=0).astype(np.int64)
    new_e = np.diff(plan.looks.evaluable_e, prepend=0).astype(np.int64)
    if stream == "power":
        p_c, p_e = plan.truth
        return lambda rng, n: _binomials(rng, n, new_c, new_e, p_c, p_e)
    if stream == "assurance" and plan.prior is not None and len(new_c) == 1:
        control, experimental = plan.prior
        args = (int(new_c[0]), int(new_e[0]), control.a[0], control.b[0], experimental.a[0], experimental.b[0])
        return lambda rng, n: _betas_and_binomials(rng, n, *args)
    raise ValueError(f"no floor for stream {stream!r} of this plan")


def engine_vs_floor(plan, stream: str, n_sims: int, repeats: int = 3, seed: int = 2) -> dict:
    """The engine and its random numbers alone, timed in alternation.

    Alternating the two calls exposes both to the same load from other
    processes, so that their ratio means something on a shared machine.

    Returns
    -------
    dict
        ``floor`` and ``engine`` timings (see :func:`_timing`), the ratio of
        their best times per trial and the engine's extra ns per trial.
    """
    floor = floor_call(plan, stream)
    floor(np.random.default_rng(seed), WARM_UP)
    plan.simulate(np.random.default_rng(seed), WARM_UP, stream)
    engine_times, floor_times = [], []
    for r in range(repeats):
        # Each lambda is called (once) before the loop moves on; r is bound anyway.
        engine_times += _times(lambda _, r=r: plan.simulate(np.random.default_rng([seed, r]), n_sims, stream), 1)
        floor_times += _times(lambda _, r=r: floor(np.random.default_rng([seed, r]), n_sims), 1)
    engine, floor_timing = _timing(n_sims, engine_times), _timing(n_sims, floor_times)
    return {
        "floor": floor_timing,
        "engine": engine,
        "engine_over_floor": engine["ns_per_trial"] / floor_timing["ns_per_trial"],
        "overhead_ns_per_trial": engine["ns_per_trial"] - floor_timing["ns_per_trial"],
    }
