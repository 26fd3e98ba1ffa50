"""The decision at one analysis: one function for every endpoint kind.

:func:`decide_z` is the only place where a z statistic meets its bounds. The
binary kernels (:func:`decide`, through it for every z-type test), the
exact enumeration (which calls :func:`decide`), the survival engine and the
joint engine (through :func:`simulator.engine.patients.analyse_looks`) all
use it, so they can only disagree through the random numbers, which is what
the tests comparing them are meant to check.

The comparisons (docs/conventions.md, "Decisions at a look"): at look ``k``
with efficacy bound ``b_k``, unfavourable bound ``u_k`` (``-b_k`` in a
two-sided design, ``-inf`` otherwise), futility bound ``a_k`` and futility
floor ``f_k`` (``-a_k`` for the inner wedge of a two-sided design, ``-inf``
otherwise):

* reject favourably when ``z >= b_k``;
* else reject unfavourably when ``z <= u_k``;
* else stop for futility when ``f_k <= z <= a_k``, **bounds included** (a z
  exactly on ``a_k`` stops, as rpact's simulations decide:
  ``testStatistic <= futilityBounds``; ties have probability zero for a
  continuous statistic, but not for counts: a binary z is exactly 0 whenever
  the two observed rates are equal): ``z <= a_k`` for one-sided futility,
  ``|z| <= a_k`` for the inner wedge; ``a_k = -inf`` means no futility stop,
  and the final look has none;
* else continue.

An infinite bound is no bound, also at an infinite z (``z_unpooled`` of a
table with a zero standard error): ``b_k = +inf``, ``u_k = -inf`` and
``a_k = -inf`` never stop a trial.
"""

from collections import namedtuple

import numpy as np

from simulator._jit import kernel
from simulator.stats.binary import FISHER, oriented_z

#: Outcome codes of one analysis.
CONTINUE = 0
REJECT_FAVOURABLE = 1
REJECT_UNFAVOURABLE = -1
STOP_FUTILITY = 2

#: z bounds per look (float arrays of length K) for :func:`decide_z`.
ZBounds = namedtuple("ZBounds", ["efficacy", "unfavourable", "futility", "futility_floor"])


def futility_floor(futility, sided=1, inner=False):
    """The lower end of the futility region per look: ``-a_k`` for the inner wedge, else ``-inf``.

    A bound of 0 is a wedge of one point, ``z = 0`` (a review: it was taken
    as no floor, so every ``z <= 0`` stopped, half the trials under H0):

    >>> futility_floor([0.5, 0.0, -np.inf], sided=2, inner=True).tolist()
    [-0.5, -0.0, -inf]
    """
    futility = np.asarray(futility, dtype=float)
    if sided == 2 and inner:
        return np.ascontiguousarray(np.where(np.isfinite(futility) & (futility >= 0.0), -futility, -np.inf))
    return np.full(futility.shape, -np.inf)


def z_bounds(efficacy, futility=None, sided=1, inner=False) -> ZBounds:
    """:class:`ZBounds` from efficacy and futility bounds per look.

    The unfavourable bound is ``-efficacy`` when ``sided == 2`` and ``-inf``
    otherwise; the final look's futility bound is replaced by ``-inf`` (no
    futility stop at the final analysis); ``futility=None`` means none. With
    ``inner`` (two-sided designs) futility is the wedge ``|z| < a_k``.

    >>> z_bounds([2.8, 1.98], [0.0, 1.0], sided=2).futility.tolist()
    [0.0, -inf]
    >>> z_bounds([2.8, 1.98], [0.5, 1.0], sided=2, inner=True).futility_floor.tolist()
    [-0.5, -inf]
    """
    efficacy = np.ascontiguousarray(efficacy, dtype=float)
    futility = np.full(efficacy.shape, -np.inf) if futility is None else np.array(futility, dtype=float)
    futility[-1:] = -np.inf
    unfavourable = -efficacy if sided == 2 else np.full(efficacy.shape, -np.inf)
    return ZBounds(
        efficacy, np.ascontiguousarray(unfavourable), np.ascontiguousarray(futility),
        futility_floor(futility, sided, inner),
    )


@kernel
def decide_z(z, efficacy, unfavourable, futility, floor):
    """Outcome of one analysis from its z statistic and bounds (module docstring).

    Reject favourably at ``z >= efficacy``, else unfavourably at
    ``z <= unfavourable``, else stop for futility at ``floor <= z <= futility``
    (bounds included: ``z == futility`` stops; ``floor`` is ``-a`` for the
    inner wedge ``|z| <= a``, ``-inf`` otherwise), else continue.

    >>> decide_z(0.0, 1.96, -np.inf, 0.0, -np.inf), decide_z(1e-12, 1.96, -np.inf, 0.0, -np.inf)
    (2, 0)
    >>> decide_z(-0.5, 1.96, -1.96, 0.5, -0.5), decide_z(-0.5000001, 1.96, -1.96, 0.5, -0.5)
    (2, 0)

    An infinite bound is no bound: an efficacy bound of ``+inf`` (a look
    that spends no alpha), an unfavourable bound of ``-inf`` (one-sided
    designs) and a futility bound of ``-inf`` (none at that look) never
    stop a trial, also at an infinite z (``z_unpooled`` of a table with a
    zero standard error).

    >>> decide_z(-np.inf, 1.96, -np.inf, -np.inf, -np.inf), decide_z(np.inf, np.inf, -np.inf, 0.0, -np.inf)
    (0, 0)
    >>> decide_z(-np.inf, 1.96, -np.inf, 0.0, -np.inf), decide_z(np.inf, 1.96, -np.inf, 0.0, -np.inf)
    (2, 1)
    """
    if z >= efficacy and efficacy < np.inf:
        return REJECT_FAVOURABLE
    if z <= unfavourable and unfavourable > -np.inf:
        return REJECT_UNFAVOURABLE
    if floor <= z <= futility and futility > -np.inf:
        return STOP_FUTILITY
    return CONTINUE


@kernel
def decide(code, xc, nc, xe, ne, theta0, efficacy, unfavourable, futility, floor, fav_row, unf_row, fut_row,
           floor_row):
    """Outcome of one analysis of a two-arm binary endpoint (oriented counts).

    z-type tests compute the oriented statistic and call :func:`decide_z`.
    Fisher's exact test compares ``xe`` with precomputed critical counts for
    the total number of events ``m = xc + xe`` (rows of :func:`fisher_thresholds`),
    since its p-value has no closed form; they apply the same comparisons on
    the p-value scale: favourable when ``p <= sf(efficacy)`` (``z >= b``),
    futility when the one-sided ``p >= sf(futility)``, i.e. its z equivalent
    at or below the futility bound (``fut_row[m]`` is one below the
    critical count at level ``sf(futility)``, a p-value within R's relative
    tie tolerance of that level counting as equal to it); with an inner
    wedge also ``xe > floor_row[m]``, the unfavourable critical count at
    that level (``-1`` when there is no floor).

    Parameters
    ----------
    code : int
        Test code from :data:`simulator.stats.binary.TEST_CODES`.
    xc, nc, xe, ne : int
        Events and evaluable patients per arm (higher is better).
    theta0 : float
        Null risk difference (``-margin`` for non-inferiority).
    efficacy, unfavourable, futility, floor : float
        z bounds: reject favourably at ``z >= efficacy``, unfavourably at
        ``z <= unfavourable`` (``-inf`` when one-sided), stop for futility at
        ``floor <= z <= futility`` (``futility = -inf`` when none; ``floor`` is
        ``-inf`` except for the inner wedge of a two-sided design).
    fav_row, unf_row, fut_row, floor_row : int64 arrays
        Fisher critical counts indexed by ``m`` (unused for other tests).
    """
    if code == FISHER:
        m = xc + xe
        if xe >= fav_row[m]:
            return REJECT_FAVOURABLE
        if xe <= unf_row[m]:
            return REJECT_UNFAVOURABLE
        if floor_row[m] < xe <= fut_row[m]:
            return STOP_FUTILITY
        return CONTINUE
    return decide_z(oriented_z(code, xc, nc, xe, ne, theta0), efficacy, unfavourable, futility, floor)
