"""Exact operating characteristics of fixed binary designs by enumeration.

For a fixed design the probability of rejecting is a finite sum over every
pair of event counts, sum_{x_C, x_E} P(x_C) P(x_E) 1[reject(x_C, x_E)], with
binomial probabilities under fixed rates (power, size) or beta-binomial prior
predictive probabilities under a Beta prior (assurance).  No approximation and
no random numbers: this is the oracle the Monte Carlo engine is tested against.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from simulator._jit import kernel
from simulator.stats.decision import REJECT_FAVOURABLE, REJECT_UNFAVOURABLE, decide

#: Largest grid enumerated for the design output (cells); above it the
#: analytic approximation is accurate and enumeration would cost seconds.
MAX_CELLS = 25_000_000


@kernel
def decision_grid(code, nc, ne, theta0, efficacy, unfavourable, futility, fav_row, unf_row, fut_row):
    """Outcome code of every table ``(x_C, x_E)`` at one analysis, shape (nc+1, ne+1)."""
    grid = np.empty((nc + 1, ne + 1), dtype=np.int8)
    for xc in range(nc + 1):
        for xe in range(ne + 1):
            grid[xc, xe] = decide(
                code, xc, nc, xe, ne, theta0, efficacy, unfavourable, futility, fav_row, unf_row, fut_row
            )
    return grid


def rejection_probabilities(grid: np.ndarray, pmf_c: np.ndarray, pmf_e: np.ndarray) -> tuple[float, float]:
    """(favourable, unfavourable) rejection probabilities of ``grid`` under independent count laws."""
    favourable = float(pmf_c @ (grid == REJECT_FAVOURABLE) @ pmf_e)
    unfavourable = float(pmf_c @ (grid == REJECT_UNFAVOURABLE) @ pmf_e)
    return favourable, unfavourable


def binomial_pmf(n: int, p: float) -> np.ndarray:
    """Binomial(n, p) probabilities of 0..n (exact at p = 0 and p = 1)."""
    return stats.binom.pmf(np.arange(n + 1), n, p)
