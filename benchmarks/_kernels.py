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


def _best_of(run, repeats: int) -> list[float]:
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

    result = _timing(n_sims, _best_of(run, repeats))
    success = float(np.mean(last["out"][1] == REJECT_FAVOURABLE))
    result.update(estimate=success, mcse=math.sqrt(success * (1.0 - success) / n_sims))
    return result


# ---------------------------------------------------------------- the floor
@numba.njit(cache=False)
def _binomials(rng, n_sims, n_c, n_e, p_c, p_e):
    """Two binomial draws per trial and nothing else (the sum keeps them alive)."""
    total = 0
    for _ in range(n_sims):
        total += rng.binomial(n_e, p_e) - rng.binomial(n_c, p_c)
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


def random_number_floor(plan, n_sims: int, repeats: int = 3, seed: int = 2) -> dict:
    """The cost of the random numbers alone for ``plan``'s power and assurance streams.

    Uses the plan's final arm sizes, oriented true rates and (first
    component of the) oriented priors, so that the binomial draws have the
    same parameters, hence the same sampling algorithm, as in the engine.

    Returns
    -------
    dict
        ``{"power": timing, "assurance": timing}`` (assurance only when the
        plan has a prior).
    """
    n_c, n_e = int(plan.looks.evaluable_c[-1]), int(plan.looks.evaluable_e[-1])
    p_c, p_e = plan.truth
    _binomials(np.random.default_rng(seed), WARM_UP, n_c, n_e, p_c, p_e)
    out = {
        "power": _timing(
            n_sims,
            _best_of(lambda r: _binomials(np.random.default_rng([seed, r]), n_sims, n_c, n_e, p_c, p_e), repeats),
        )
    }
    if plan.prior is not None:
        control, experimental = plan.prior
        args = (n_c, n_e, control.a[0], control.b[0], experimental.a[0], experimental.b[0])
        _betas_and_binomials(np.random.default_rng(seed), WARM_UP, *args)
        out["assurance"] = _timing(
            n_sims,
            _best_of(lambda r: _betas_and_binomials(np.random.default_rng([seed, r]), n_sims, *args), repeats),
        )
    return out
