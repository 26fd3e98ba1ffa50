"""What every endpoint kind shares: bounds from the design, per-look counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from simulator.config.schema import Config
from simulator.design.boundaries import GroupSequentialBounds, group_sequential_bounds
from simulator.stats.decision import REJECT_FAVOURABLE, REJECT_UNFAVOURABLE, STOP_FUTILITY

NO_BOUND = -np.inf


@dataclass(frozen=True)
class Bounds:
    """z-scale bounds per look (oriented: large z favours the experimental arm).

    ``sequential`` keeps the group-sequential design they came from (``None``
    for a fixed design), for its analytic operating characteristics.
    """

    efficacy: np.ndarray
    unfavourable: np.ndarray
    futility: np.ndarray
    alpha_spent: tuple[float, ...]
    sequential: GroupSequentialBounds | None = None


def fixed_bounds(alpha: float, sided: int) -> Bounds:
    """Bounds of a fixed (single-look) design at level ``alpha``."""
    critical = stats.norm.isf(alpha / sided)
    return Bounds(
        efficacy=np.array([critical]),
        unfavourable=np.array([-critical if sided == 2 else NO_BOUND]),
        futility=np.array([NO_BOUND]),
        alpha_spent=(alpha,),
    )


def design_bounds(config: Config, fractions: tuple[float, ...], alpha: float) -> Bounds:
    """Bounds at the given information fractions: fixed, or group-sequential."""
    design = config.design
    if len(fractions) == 1:
        return fixed_bounds(alpha, design.sided)
    sequential = group_sequential_bounds(
        list(fractions), alpha=alpha, sided=design.sided, efficacy=design.efficacy,
        efficacy_param=design.efficacy_param,
        futility=list(design.futility) if isinstance(design.futility, tuple) else design.futility,
        futility_param=design.futility_param, binding=design.binding, power=design.power,
    )
    efficacy = np.asarray(sequential.efficacy, dtype=float)
    return Bounds(
        efficacy=efficacy,
        unfavourable=-efficacy if design.sided == 2 else np.full(efficacy.shape, NO_BOUND),
        futility=np.asarray(sequential.futility, dtype=float),
        alpha_spent=tuple(float(a) for a in sequential.alpha_spent),
        sequential=sequential,
    )


def per_look_counts(stop_look: np.ndarray, decision: np.ndarray, n_looks: int) -> dict:
    """Integer counts per look of each outcome (shared by every endpoint kind)."""
    count = lambda mask: np.bincount(stop_look[mask], minlength=n_looks).astype(np.int64)  # noqa: E731
    return {
        "reject": count(decision == REJECT_FAVOURABLE),
        "reject_unfavourable": count(decision == REJECT_UNFAVOURABLE),
        "futility": count(decision == STOP_FUTILITY),
        "stopped": count(np.ones(stop_look.shape, dtype=bool)),
    }


def mean_and_mcse(weights: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error of a variable taking ``values[k]`` ``weights[k]`` times."""
    n = weights.sum()
    mean = float((weights * values).sum() / n)
    variance = float((weights * (values - mean) ** 2).sum() / max(n - 1, 1))
    return mean, float(np.sqrt(variance / n))
