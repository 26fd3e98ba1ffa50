"""Exact operating characteristics of fixed binary designs by enumeration.

For a fixed design the probability of rejecting is a finite sum over every
pair of event counts, sum_{x_C, x_E} P(x_C) P(x_E) 1[reject(x_C, x_E)], with
binomial probabilities under fixed rates (power, size) or beta-binomial prior
predictive probabilities under a Beta prior (assurance).  No approximation and
no random numbers: this is the oracle the Monte Carlo engine is tested against.
"""

from __future__ import annotations

import numpy as np

from simulator._jit import kernel
from simulator.stats import distributions as dist
from simulator.stats.decision import REJECT_FAVOURABLE, REJECT_UNFAVOURABLE, decide

#: Largest grid enumerated for the design output (cells); above it the
#: analytic approximation is accurate and enumeration would cost seconds.
MAX_CELLS = 25_000_000


def decision_grid(code, nc, ne, theta0, efficacy, unfavourable, futility, fav_row, unf_row, fut_row,
                  floor=-np.inf, floor_row=None):
    """Outcome code of every table ``(x_C, x_E)`` at one analysis, shape (nc+1, ne+1).

    ``floor`` and ``floor_row`` are the lower end of an inner futility wedge
    (:func:`simulator.stats.decision.decide`); default: none.
    """
    if floor_row is None:
        floor_row = np.full(np.shape(fut_row), -1, dtype=np.int64)
    return _decision_grid(
        code, nc, ne, theta0, efficacy, unfavourable, futility, float(floor), fav_row, unf_row, fut_row,
        np.ascontiguousarray(floor_row, dtype=np.int64),
    )


@kernel
def _decision_grid(code, nc, ne, theta0, efficacy, unfavourable, futility, floor, fav_row, unf_row, fut_row,
                   floor_row):
    grid = np.empty((nc + 1, ne + 1), dtype=np.int8)
    for xc in range(nc + 1):
        for xe in range(ne + 1):
            grid[xc, xe] = decide(
                code, xc, nc, xe, ne, theta0, efficacy, unfavourable, futility, floor, fav_row, unf_row, fut_row,
                floor_row,
            )
    return grid


def rejection_probabilities(grid: np.ndarray, pmf_c: np.ndarray, pmf_e: np.ndarray) -> tuple[float, float]:
    """(favourable, unfavourable) rejection probabilities of ``grid`` under independent count laws."""
    favourable = float(pmf_c @ (grid == REJECT_FAVOURABLE) @ pmf_e)
    unfavourable = float(pmf_c @ (grid == REJECT_UNFAVOURABLE) @ pmf_e)
    return favourable, unfavourable


def binomial_pmf(n: int, p: float) -> np.ndarray:
    """Binomial(n, p) probabilities of 0..n (exact at p = 0 and p = 1)."""
    return dist.binom.pmf(np.arange(n + 1), n, p)


def _convolve(state, increment, axis: int):
    """``state`` (2-D) convolved with ``increment`` along ``axis``, full length, by FFT.

    What ``scipy.signal.convolve`` computes for these sizes (its FFT
    method transforms only along the axis the increment spans), without
    importing ``scipy.signal``, which imports ``scipy.stats`` (about 0.3 s
    together).
    """
    from scipy import fft

    length = state.shape[axis] + increment.size - 1
    size = fft.next_fast_len(length, real=True)
    shape = [1, 1]
    shape[axis] = -1
    full = fft.irfft(fft.rfft(state, size, axis=axis) * fft.rfft(increment, size).reshape(shape), size, axis=axis)
    return full[:length] if axis == 0 else full[:, :length]


def sequential_rejection(code, theta0, n_c, n_e, efficacy, unfavourable, futility, fav, unf, fut, p_c, p_e,
                         floor=None, floor_table=None) -> dict:
    """Exact per-look outcome probabilities of a group-sequential binary design.

    The joint law of the cumulative counts of the trials still running is
    carried from look to look: convolved with the binomial increments of the
    newly evaluable patients of each arm, split by the look's decision grid
    into rejections, futility stops and continuations.

    Parameters
    ----------
    code, theta0 :
        Test code and null risk difference (oriented scale).
    n_c, n_e : int arrays (K,)
        Cumulative evaluable patients per arm.
    efficacy, unfavourable, futility : float arrays (K,)
        z bounds per look.
    fav, unf, fut : int64 arrays (K, M)
        Fisher critical counts (unused by z tests).
    p_c, p_e : float
        True rates (oriented).
    floor, floor_table : float array (K,), int64 array (K, M), optional
        Lower end of an inner futility wedge per look (z scale, and Fisher's
        counts); default: none.

    Returns
    -------
    dict
        ``reject``, ``reject_unfavourable``, ``futility`` and ``stopped``:
        arrays of per-look probabilities.
    """
    n_looks = len(n_c)
    state = np.ones((1, 1))
    out = {key: np.zeros(n_looks) for key in ("reject", "reject_unfavourable", "futility", "stopped")}
    previous_c = previous_e = 0
    for k in range(n_looks):
        increment_c = binomial_pmf(int(n_c[k] - previous_c), p_c)
        increment_e = binomial_pmf(int(n_e[k] - previous_e), p_e)
        if k == 0:
            state = np.outer(increment_c, increment_e)  # the convolution with the one-point start, exactly
        else:
            state = _convolve(_convolve(state, increment_c, 0), increment_e, 1)
            np.clip(state, 0.0, None, out=state)  # FFT round-off can leave -1e-18
        previous_c, previous_e = n_c[k], n_e[k]
        grid = decision_grid(
            code, int(n_c[k]), int(n_e[k]), theta0, efficacy[k], unfavourable[k], futility[k], fav[k], unf[k], fut[k],
            -np.inf if floor is None else floor[k], None if floor_table is None else floor_table[k],
        )
        out["reject"][k] = state[grid == REJECT_FAVOURABLE].sum()
        out["reject_unfavourable"][k] = state[grid == REJECT_UNFAVOURABLE].sum()
        out["futility"][k] = state[grid == 2].sum()
        if k == n_looks - 1:
            out["stopped"][k] = state.sum()
        else:
            state = np.where(grid == 0, state, 0.0)
            out["stopped"][k] = out["reject"][k] + out["reject_unfavourable"][k] + out["futility"][k]
    return out
