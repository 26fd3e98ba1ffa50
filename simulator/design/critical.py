"""Critical and futility effects of a two-arm binary test: the bounds on the data scale.

A z bound ``b`` at a look with ``n_c`` and ``n_e`` evaluable patients is
read on the scale of the data in two ways, both with the observed control
rate held at an assumed rate ``p_c`` (oriented: a higher rate is better,
:mod:`simulator.stats.binary`):

* continuous: the observed difference ``d = p_E - p_C`` at which the test's
  own statistic equals ``b``, solved with :func:`scipy.optimize.brentq` on
  :func:`simulator.stats.binary.oriented_z` evaluated at the counts
  ``x = n p`` taken as real numbers. Every test uses its own variance:
  pooled, unpooled (Wald) or the Farrington-Manning restricted MLE with the
  margin; the Yates statistic is its closed form with real counts. Plugged
  back into the statistic the solution gives ``b`` to about 1e-12.
* count: at a whole control count ``x_c``, the smallest number of
  experimental responders that rejects, by the decision rule itself
  (:func:`simulator.stats.decision.decide`, Fisher's critical-count tables
  included), and the largest number that stops for futility.

When no observed rate in [0, 1] reaches the bound, the continuous solution
is clipped to the end of the feasible range of ``d``, ``[-p_c, 1 - p_c]``,
and a note says so; the caller reports it. Nothing here knows about configs,
directions or reports: the caller orients the rates and flips the sign back
(``better = "lower"``: natural d = -oriented d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from simulator._jit import kernel
from simulator.stats.binary import oriented_z
from simulator.stats.decision import REJECT_FAVOURABLE, REJECT_UNFAVOURABLE, STOP_FUTILITY, decide

#: Points of the scan of the experimental rate that brackets the first crossing.
GRID_POINTS = 1025

#: |z| is capped here so that degenerate tables (zero variance, +-inf) still
#: give a finite sign for the bracketing.
Z_CAP = 1e6


@dataclass(frozen=True)
class Crossing:
    """The observed difference at a bound, on the oriented scale.

    ``effect`` is p_E - p_C; ``clipped`` is ``"above"`` when even p_E = 1
    stays below the bound (effect = 1 - p_c), ``"below"`` when p_E = 0
    already reaches it (effect = -p_c), and ``None`` when the solution is
    inside the feasible range.
    """

    effect: float
    clipped: str | None = None


def statistic(code: int, p_c: float, p_e: float, n_c: float, n_e: float, theta0: float) -> float:
    """The oriented statistic of test ``code`` at rates ``p_c``, ``p_e`` (counts ``n p`` as real numbers)."""
    return float(oriented_z(code, float(n_c) * p_c, float(n_c), float(n_e) * p_e, float(n_e), float(theta0)))


def effect_at_bound(code: int, p_c: float, n_c: float, n_e: float, bound: float, theta0: float = 0.0,
                    strict: bool = False) -> Crossing:
    """The difference p_E - p_C at which the statistic first reaches ``bound``, control rate held at ``p_c``.

    The statistic is scanned on a grid of experimental rates in [0, 1]; the
    first grid point where it is at or above ``bound`` brackets the crossing
    with the point before it, and :func:`brentq` solves there (xtol 1e-15).
    "First" makes the answer the smallest observed difference that reaches
    the bound: for the efficacy bound the smallest one that rejects.

    ``strict``: the first difference where the statistic is *above*
    ``bound``, the end of the region where it is at or below it: for a
    futility bound (``z <= a`` stops) and an unfavourable efficacy bound
    (``z <= -b`` rejects). The two differ only where the statistic is flat
    at the bound: Yates' statistic is 0 over a whole range of differences,
    and at a futility bound of 0 every one of them stops (a review: the
    range's lower end was reported, on whose favourable side trials
    stopped too).

    >>> round(effect_at_bound(0, 0.3, 124, 124, 1.959963984540054).effect, 4)  # pooled z
    0.1195
    """
    if not math.isfinite(bound):
        raise ValueError("effect_at_bound: the bound must be finite")

    def excess(p_e: float) -> float:
        z = statistic(code, p_c, p_e, n_c, n_e, theta0)
        return min(max(z, -Z_CAP), Z_CAP) - bound

    grid = np.linspace(0.0, 1.0, GRID_POINTS)
    values = np.empty(GRID_POINTS)
    _scan(code, float(p_c), float(n_c), float(n_e), float(theta0), grid, values)
    values = np.clip(values, -Z_CAP, Z_CAP) - bound
    above = np.flatnonzero(values > 0.0 if strict else values >= 0.0)
    if above.size == 0:
        return Crossing(1.0 - p_c, "above")
    first = int(above[0])
    if first == 0:
        return Crossing(-p_c, "below")
    lo, hi = float(grid[first - 1]), float(grid[first])
    if values[first] == 0.0:
        root = hi
    else:
        root = brentq(excess, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
    if strict and excess(root) <= 0.0:
        # On a flat stretch at the bound (or a root a hair below it): its upper end, by bisection.
        lo = root
        while hi - lo > 1e-15 * max(1.0, hi):
            mid = 0.5 * (lo + hi)
            if excess(mid) > 0.0:
                hi = mid
            else:
                lo = mid
        root = hi
    return Crossing(root - p_c)


@kernel
def _scan(code, p_c, n_c, n_e, theta0, grid, out):
    """The statistic at every experimental rate of ``grid`` (counts as real numbers)."""
    for i in range(grid.shape[0]):
        out[i] = oriented_z(code, n_c * p_c, n_c, n_e * grid[i], n_e, theta0)


@kernel
def _outcomes(code, x_c, n_c, n_e, theta0, efficacy, unfavourable, futility, floor, fav_row, unf_row, fut_row,
              floor_row, out):
    """The decision at every experimental count 0..n_e, control count fixed."""
    for x_e in range(n_e + 1):
        out[x_e] = decide(code, x_c, n_c, x_e, n_e, theta0, efficacy, unfavourable, futility, floor,
                          fav_row, unf_row, fut_row, floor_row)


@dataclass(frozen=True)
class CountBounds:
    """Decisions at a whole control count, by number of experimental responders (oriented).

    ``critical`` is the smallest ``x_e`` that rejects favourably (``None``
    when none does); ``futility`` the largest ``x_e`` that stops for
    futility (``None`` when none does); ``first_continue`` is
    ``futility + 1``, the smallest count above every futility stop (``None``
    when there is no futility stop, or when ``n_e`` itself stops).
    ``unfavourable`` is the largest ``x_e`` that rejects unfavourably
    (two-sided designs; ``None`` when none does); ``below_wedge`` the
    largest ``x_e`` below every futility stop (``None`` when there is no
    futility stop or ``x_e = 0`` stops): with an inner wedge, the count
    just under its lower end.
    """

    critical: int | None
    futility: int | None
    first_continue: int | None
    unfavourable: int | None = None
    below_wedge: int | None = None


def counts_at_bound(
    code: int, x_c: int, n_c: int, n_e: int, theta0: float, efficacy: float, unfavourable: float, futility: float,
    fav_row: np.ndarray, unf_row: np.ndarray, fut_row: np.ndarray, floor: float = -np.inf,
    floor_row: np.ndarray | None = None,
) -> CountBounds:
    """Critical and futility counts at control count ``x_c``, from the decision of every table.

    Every ``x_e`` in 0..n_e is decided by :func:`decide` (so Fisher's
    critical-count rows and the strict futility comparison are those of
    the simulation), and the counts are read off the outcomes. ``floor`` and
    ``floor_row`` are the lower end of an inner futility wedge (default: none).
    """
    outcomes = np.empty(int(n_e) + 1, dtype=np.int64)
    if floor_row is None:
        floor_row = np.full(np.shape(fut_row), -1, dtype=np.int64)
    _outcomes(
        int(code), int(x_c), int(n_c), int(n_e), float(theta0), float(efficacy), float(unfavourable), float(futility),
        float(floor), np.ascontiguousarray(fav_row, dtype=np.int64), np.ascontiguousarray(unf_row, dtype=np.int64),
        np.ascontiguousarray(fut_row, dtype=np.int64), np.ascontiguousarray(floor_row, dtype=np.int64), outcomes,
    )
    reject = np.flatnonzero(outcomes == REJECT_FAVOURABLE)
    against = np.flatnonzero(outcomes == REJECT_UNFAVOURABLE)
    stop = np.flatnonzero(outcomes == STOP_FUTILITY)
    critical = int(reject[0]) if reject.size else None
    unfavourable_count = int(against[-1]) if against.size else None
    if stop.size == 0:
        return CountBounds(critical, None, None, unfavourable_count)
    futility_count = int(stop[-1])
    return CountBounds(critical, futility_count, futility_count + 1 if futility_count < n_e else None,
                       unfavourable_count, int(stop[0]) - 1 if stop[0] > 0 else None)
