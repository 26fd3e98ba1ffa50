"""The MaxCombo p-value: a compiled multivariate-normal orthant probability.

MaxCombo (Lee 2007; Karrison 2016; the ``simtrial`` package) takes the
largest of several standardised Fleming-Harrington statistics
``z_1, ..., z_m``; under H0 they are jointly normal with the correlation
matrix ``R`` estimated from the same data (the weighted covariances of
:func:`simulator.engine.patients.logrank_at_cut`). Its one-sided p-value is
``1 - P(Z_k <= z_max for every k)``, ``Z ~ N(0, R)``.

The probability is Genz's separation-of-variables integral (Genz 1992):
with ``L`` the Cholesky factor of ``R``, ``P = E[e_1 e_2 ... e_m]`` where
``e_i = Phi((c - sum_{j<i} L_ij y_j) / L_ii)`` and ``y_j = Phi^-1(w_j e_j)``
for ``w`` uniform on the unit cube of dimension ``m - 1``. The expectation
is taken over a fixed scrambled Sobol point set (:data:`POINTS`, drawn once
from a fixed seed, so that the p-value is a deterministic function of
``(z, R)``), in :data:`BATCHES` independent scramblings; their spread gives
a standard error. A first pass uses the first :data:`FIRST` points of each
batch; while the p-value is within :data:`REFINE_SE` standard errors of a
level that the caller asks about, :data:`SECOND` and then all points are
used. Far from the level the p-value is then accurate to about 5e-3
(absolute), next to it to about 3e-5 for a well-conditioned ``R``
(tests/test_nph_tests.py compares with scipy's ``multivariate_normal.cdf``);
nearly collinear components make the integrand steep (a conditional
variance near 0) and the error near the level 1e-4 to 6e-4 (a review;
docs/survival_nph.md). The p-value is clipped into its Bonferroni
interval ``[1 - Phi(c), m (1 - Phi(c))]``, which holds exactly; when that
interval is at most :data:`NARROW` wide and holds no level, its midpoint is
the p-value (no integral: the first pass would be no more accurate).

``norm_cdf`` and ``norm_ppf`` are compiled normal distribution functions
(``erfc``, and Wichura's algorithm AS 241, about 1e-16 relative).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simulator._jit import kernel
from simulator.errors import InputError

__all__ = [
    "BATCHES", "FIRST", "MAX_COMPONENTS", "POINTS", "SOBOL_SEED", "max_p_value", "maxcombo_p", "norm_cdf", "norm_ppf",
    "orthant_probability", "sobol_points",
]

#: Most MaxCombo components (the scratch arrays are sized for it).
MAX_COMPONENTS = 6
#: Independent scramblings, points per scrambling, points of the first and second passes.
BATCHES = 8
PER_BATCH = 512
FIRST = 8
SECOND = 64
#: Refine when the first pass is this many standard errors from a level.
REFINE_SE = 6.0
#: A Bonferroni interval ``[1 - Phi(c), m (1 - Phi(c))]`` at most this wide, with no level inside, is
#: its own answer (its midpoint): the first pass would be no more accurate (a strong effect's small p-values).
NARROW = 1e-3
#: A squared Cholesky pivot at most this is a degenerate direction (the estimated correlations of
#: linearly dependent statistics are singular up to rounding, about 1e-15).
SINGULAR = 1e-10

#: The seed of scrambling ``b`` is ``SOBOL_SEED + b``.
SOBOL_SEED = 20_260_000
#: Points on the unit cube (BATCHES, PER_BATCH, MAX_COMPONENTS - 1): scrambled Sobol, fixed seeds
#: (:func:`sobol_points`). Read from the file written with them, because computing them needs
#: ``scipy.stats``, whose import is about a tenth of a small run's time; tests/test_nph_tests.py checks
#: that the file holds :func:`sobol_points`.
POINTS = np.ascontiguousarray(np.load(Path(__file__).with_name("sobol_points.npy")))


def sobol_points() -> np.ndarray:
    """:data:`POINTS` computed afresh: scrambling ``b`` is ``scipy.stats.qmc.Sobol`` with seed ``SOBOL_SEED + b``.

    ``python -c "import numpy as np; from simulator.stats import maxcombo as m;
    np.save('simulator/stats/sobol_points.npy', m.sobol_points())"`` writes the file.
    """
    from scipy.stats import qmc

    return np.stack([qmc.Sobol(d=MAX_COMPONENTS - 1, scramble=True, seed=SOBOL_SEED + b).random(PER_BATCH)
                     for b in range(BATCHES)])


_SQRT_HALF = math.sqrt(0.5)


@kernel
def norm_cdf(x):
    """Standard normal distribution function."""
    return 0.5 * math.erfc(-x * _SQRT_HALF)


@kernel
def norm_ppf(p):
    """Standard normal quantile (Wichura's AS 241, PPND16); -inf at 0, inf at 1."""
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
                   + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
                 + 133.14166789178437745) * r + 3.387132872796366608)
        den = (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
                   + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
                 + 42.313330701600911252) * r + 1.0)
        return q * num / den
    r = p if q < 0.0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        num = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                   + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                 + 4.6303378461565452959) * r + 1.42343711074968357734)
        den = (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                   + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                 + 2.05319162663775882187) * r + 1.0)
    else:
        r -= 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                   + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                 + 5.4637849111641143699) * r + 6.6579046435011037772)
        den = (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                   + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                 + 0.59983220655588793769) * r + 1.0)
    value = num / den
    return -value if q < 0.0 else value


@kernel
def _cholesky(corr, m, chol, lead):
    """Lower Cholesky factor of ``corr[:m, :m]`` into ``chol``, and each row's lead variable into ``lead``.

    A pivot whose square is <= :data:`SINGULAR` is a degenerate direction
    (the default MaxCombo components are singular: FH(0,0) = FH(1,0) +
    FH(0,1), as their weights add up): its column is 0, and its row, a
    linear function of earlier variables, becomes a bound on the last of
    them with a non-zero coefficient (``lead``; -1 for a row that is 0).
    """
    for i in range(m):
        for j in range(i + 1):
            s = corr[i, j]
            for k in range(j):
                s -= chol[i, k] * chol[j, k]
            if i == j:
                chol[i, i] = math.sqrt(s) if s > SINGULAR else 0.0
            else:
                chol[i, j] = s / chol[j, j] if chol[j, j] > 0.0 else 0.0
        for j in range(i + 1, m):
            chol[i, j] = 0.0
        lead[i] = -1
        for k in range(i + 1):
            if chol[k, k] > 0.0 and abs(chol[i, k]) > 1e-12:
                lead[i] = k


@kernel
def _limits(j, c, chol, lead, m, y):
    """Variable ``j``'s probability ``(a, e)``: ``a`` below its interval, ``e`` within it, given ``y[:j]``.

    The interval is bounded by the rows that ``j`` leads (its own and the
    degenerate ones), each at ``(c_i - sum_{k<j} L_ik y_k) / L_ij``.
    """
    upper = np.inf
    lower = -np.inf
    for i in range(m):
        if lead[i] != j:
            continue
        s = 0.0
        for k in range(j):
            s += chol[i, k] * y[k]
        bound = (c[i] - s) / chol[i, j]
        if chol[i, j] > 0.0:
            upper = min(upper, bound)
        else:
            lower = max(lower, bound)
    a = norm_cdf(lower) if lower > -np.inf else 0.0
    return a, (norm_cdf(upper) if upper < np.inf else 1.0) - a


@kernel
def _orthant(c, chol, lead, m, points, first, last, y, sums):
    """Mean and standard error over the batches of Genz's integrand for ``P(Z_k <= c_k for all k)``.

    ``c`` holds the upper limit of each variable. Each variable with a
    non-zero pivot is drawn between the bounds of the rows it leads (its own
    and the degenerate ones), so the integrand stays smooth when the
    correlation matrix is singular. Points ``[first, last)`` of each batch
    are added to ``sums`` (on entry each batch's sum over points ``[0,
    first)``: zeros for ``first = 0``), and the means are over ``[0,
    last)``: a refinement adds its new points only, and its sums are those
    of a pass over all its points from the start.
    """
    for i in range(m):
        if lead[i] < 0 and c[i] < 0.0:
            return 0.0, 0.0  # a row that is identically 0 exceeds a negative limit
    batches = points.shape[0]
    start = -1  # the first variable drawn: its limits do not depend on the point
    final = -1  # the last variable drawn: its y is never used
    for j in range(m):
        if chol[j, j] > 0.0:
            final = j
            start = j if start < 0 else start
    if start < 0:
        return 1.0, 0.0  # nothing drawn: every point's integrand is 1
    a_start, e_start = _limits(start, c, chol, lead, m, y)
    total = 0.0
    squares = 0.0
    for b in range(batches):
        batch = sums[b]
        for n in range(first, last):
            product = 1.0
            dim = 0
            for j in range(start, m):
                if chol[j, j] <= 0.0:
                    continue
                a, e = (a_start, e_start) if j == start else _limits(j, c, chol, lead, m, y)
                if e <= 0.0:
                    product = 0.0
                    break
                product *= e
                if j != final:
                    u = a + points[b, n, dim] * e
                    y[j] = norm_ppf(min(max(u, 1e-300), 1.0 - 1e-16))
                dim += 1
            batch += product
        sums[b] = batch
        batch /= last
        total += batch
        squares += batch * batch
    mean = total / batches
    se = math.sqrt(max(squares / batches - mean * mean, 0.0) / (batches - 1))
    return mean, se


@kernel
def max_p_value(c, corr, m, levels, chol, y, points, lead, limits, sums):
    """One-sided p-value of ``max_k z_k = c`` for ``Z ~ N(0, corr[:m, :m])``.

    ``1 - P(Z_k <= c, all k)`` by :func:`_orthant`, refined (with
    :data:`SECOND` points per batch, then all) while it is within
    :data:`REFINE_SE` standard errors of one of ``levels`` (the significance
    levels the caller decides at); clipped into the Bonferroni interval.
    ``chol``, ``y``, ``lead`` and ``limits`` are scratch (at least ``m``
    long) and ``sums`` (one per batch of ``points``), so that nothing is
    allocated per call.
    """
    single = norm_cdf(-c)
    low, high = single, min(m * single, 1.0)
    if m == 1 or high <= 0.0:
        return single
    if high - low <= NARROW:
        inside = False
        for level in levels:
            if low <= level <= high:
                inside = True
        if not inside:
            return 0.5 * (low + high)
    _cholesky(corr, m, chol, lead)
    for k in range(m):
        limits[k] = c
    sums[:] = 0.0
    below, se = _orthant(limits, chol, lead, m, points, 0, FIRST, y, sums)
    p = 1.0 - below
    done = FIRST
    for last in (SECOND, points.shape[1]):
        near = False
        for level in levels:
            if abs(p - level) <= REFINE_SE * se + 1e-12:
                near = True
        if not near:
            break
        below, se = _orthant(limits, chol, lead, m, points, done, last, y, sums)
        p = 1.0 - below
        done = last
    return min(max(p, low), high)


@kernel
def _below(limits, corr, points):
    m = limits.size
    chol = np.empty((m, m))
    lead = np.empty(m, dtype=np.int64)
    _cholesky(corr, m, chol, lead)
    return _orthant(limits, chol, lead, m, points, 0, points.shape[1], np.empty(m), np.zeros(points.shape[0]))


def orthant_probability(limits, corr) -> float:
    """``P(Z_k <= limits_k for all k)`` for ``Z ~ N(0, corr)`` (a correlation matrix, possibly singular).

    The compiled integral of :func:`max_p_value` with all the points
    (deterministic; about 3e-5 absolute for the matrices of MaxCombo).

    >>> round(orthant_probability([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]), 4)
    0.25
    """
    limits = np.ascontiguousarray(limits, dtype=float).ravel()
    corr = np.ascontiguousarray(corr, dtype=float)
    if not 1 <= limits.size <= MAX_COMPONENTS or corr.shape != (limits.size, limits.size):
        raise InputError(f"`limits` needs 1 to {MAX_COMPONENTS} values and `corr` shape (m, m)")
    return float(_below(limits, corr, POINTS)[0])


def maxcombo_p(z, corr, levels=(0.025,)):
    """Python entry to :func:`max_p_value`: the one-sided MaxCombo p-value of the statistics ``z``.

    Parameters
    ----------
    z : array_like of float
        The standardised statistics (positive favours the experimental arm).
    corr : array_like of float, shape (m, m)
        Their correlation matrix under H0.
    levels : sequence of float
        Levels near which the p-value is computed with all points.

    Examples
    --------
    >>> round(maxcombo_p([2.0, 2.0], [[1.0, 1.0], [1.0, 1.0]]), 4)  # one statistic twice
    0.0228
    """
    z = np.asarray(z, dtype=float).ravel()
    corr = np.ascontiguousarray(corr, dtype=float)
    m = z.size
    if not 1 <= m <= MAX_COMPONENTS or corr.shape != (m, m):
        raise InputError(f"`z` needs 1 to {MAX_COMPONENTS} values and `corr` shape (m, m)")
    return float(max_p_value(float(z.max()), corr, m, np.asarray(levels, dtype=float), np.empty((m, m)),
                             np.empty(m), POINTS, np.empty(m, dtype=np.int64), np.empty(m), np.empty(BATCHES)))
