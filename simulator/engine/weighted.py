"""Weighted log-rank tests of one data set (Fleming-Harrington, MaxCombo), for users and tests.

The statistics are those of the simulation: the one log-rank pass
:func:`simulator.engine.patients.weighted_logrank_at_cut` with every subject
entered at 0 and the cut after the last time, and
:func:`simulator.engine.patients.weighted_z` for MaxCombo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._jit import kernel
from simulator.engine.patients import (
    data_set_iv,
    load_data_set,
    patients,
    prepare_cuts,
    weighted_logrank_at_cut,
    weighted_z,
    workspace,
)
from simulator.errors import InputError
from simulator.stats import distributions as dist
from simulator.stats.maxcombo import MAX_COMPONENTS

__all__ = ["WeightedLogrank", "weighted_logrank"]


@dataclass(frozen=True)
class WeightedLogrank:
    """Fleming-Harrington statistics of one data set, one per ``(rho, gamma)`` of ``weights``.

    ``score[k] = sum w_k (E_e - O_e)`` over the event times (positive favours
    the experimental arm), ``covariance`` their estimated covariance (the
    weighted hypergeometric variances), ``z = score / sqrt(diag)``;
    ``maxcombo_z``: with several weights, the z with MaxCombo's one-sided
    p-value (``maxcombo_p``).
    """

    weights: np.ndarray
    score: np.ndarray
    covariance: np.ndarray
    z: np.ndarray
    maxcombo_z: float | None
    maxcombo_p: float | None


@kernel
def _weighted(time, event, group, weights, pts, work, levels):
    n_events = load_data_set(time, event, group, pts)
    n_a = prepare_cuts(pts, np.inf, work)
    weighted_logrank_at_cut(np.inf, n_events, pts, work, n_a, weights, None)
    m = weights.shape[0]
    combo = weighted_z(work, m, levels, False) if m > 1 else np.nan
    return work.fh[: m * (m + 1)].copy(), combo


def weighted_logrank(time, event, group, weights, level=0.025):
    """Fleming-Harrington weighted log-rank statistics, and MaxCombo with several weights.

    Parameters
    ----------
    time : array_like of float
        Follow-up times (finite).
    event : array_like of bool or int
        True (non-zero) for an event.
    group : array_like of int
        1 experimental, 0 control.
    weights : array_like, shape (m, 2)
        ``(rho, gamma)`` per statistic: weight ``S(t-)^rho (1 - S(t-))^gamma``
        with ``S`` the pooled Kaplan-Meier estimate (left-continuous).
    level : float
        The MaxCombo p-value is computed with all points near this level
        (:func:`simulator.stats.maxcombo.max_p_value`).

    Returns
    -------
    WeightedLogrank

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1.0, 2.0, 3.0, 4.0])
    >>> res = weighted_logrank(t, np.array([1, 1, 1, 1]), np.array([0, 0, 1, 1]), [(0, 0)])
    >>> round(float(res.z[0]), 4)  # the log-rank
    1.6977
    """
    time, event, group = data_set_iv(time, event, group)
    weights = np.ascontiguousarray(np.asarray(weights, dtype=float).reshape(-1, 2))
    m = weights.shape[0]
    if not 1 <= m <= MAX_COMPONENTS or np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise InputError(f"`weights` must be 1 to {MAX_COMPONENTS} pairs (rho, gamma) of finite numbers >= 0")
    acc, combo = _weighted(time, event, group, weights, patients(time.size), workspace(time.size, 1),
                           np.array([float(level)]))
    score = acc[:m].copy()
    cov = acc[m:].reshape(m, m).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(np.diag(cov) > 0, score / np.sqrt(np.diag(cov)), 0.0)
    if m == 1:
        return WeightedLogrank(weights, score, cov, z, None, None)
    return WeightedLogrank(weights, score, cov, z, float(combo), float(dist.norm.sf(combo)))
