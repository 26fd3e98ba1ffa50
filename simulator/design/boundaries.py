"""Group-sequential boundaries by recursive numerical integration.

The sequential z statistics Z_1..Z_K of a trial observed at information
fractions t_1 < ... < t_K (t_K = 1) follow the canonical joint distribution
(Jennison & Turnbull 2000, section 3.1): jointly normal with
``Cov(Z_j, Z_k) = sqrt(t_j / t_k)`` for j <= k and means
``E[Z_k] = theta sqrt(I_k) = drift sqrt(t_k)``, where ``drift`` is the mean of
the z statistic at full information. Equivalently the score ``S_k = Z_k sqrt(t_k)``
has independent normal increments of variance ``t_k - t_{k-1}``.

Probabilities of crossing boundaries are computed by the recursion of
Armitage, McPherson & Rowe (1969) as Jennison & Turnbull (2000), chapter 19,
set it out: the sub-density of Z_k on the paths that have not stopped is
carried on Gauss-Legendre nodes over its continuation region (panels as wide
as the narrowest kernel meeting at the look, :data:`GRID_R`), and the next
look's exit probabilities are exact normal tail integrals against it.

Conventions (rpact's, see ``src/f_design_group_sequential.cpp``):

* One-sided (``sided = 1``): reject H0 at look k when ``Z_k >= b_k``.
* Two-sided (``sided = 2``): symmetric bounds ``+-b_k``; alpha is the total
  over both tails and is spent as ``sided * f(t; alpha / sided)``.
* Futility (a_k, interims only): stop without rejecting when ``Z_k < a_k``.
  It is one-sided, in the favourable direction, also in two-sided designs
  (rpact instead uses an inner region ``|Z_k| < a_k`` there). At a look of a
  two-sided design, ``Z_k <= -b_k`` counts as an unfavourable rejection and
  ``-b_k < Z_k < a_k`` as a futility stop.
* Non-binding futility: the efficacy bounds ignore the futility bounds (type I
  error computed as if the trial never stops for futility). Binding: the
  efficacy bounds are computed on the paths that the futility bounds let go on.
  Binding futility is for one-sided designs only: a one-sided futility rule
  would take type I error from the lower tail of a two-sided design and hand
  it to the upper one, breaking the alpha/2 per tail of the contract.
* Beta spending (``bs*``) needs the design's drift: the drift and the bounds are
  solved jointly so that the futility bounds spend ``beta(t_k)`` under the drift
  and the last futility bound meets the last efficacy bound, so that the power
  is exactly ``1 - beta`` (rpact's method).

Examples
--------
>>> d = group_sequential_bounds(3, alpha=0.025, sided=1, efficacy="asOF")
>>> d.efficacy.round(4)
array([3.7103, 2.5114, 1.993 ])
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from simulator.config.fields import toml_value
from simulator.design.spending import (
    ALPHA_SPENDING_CODES,
    BETA_SPENDING_CODES,
    SPENDING_FUNCTIONS,
    get_spending_function,
)
from simulator.errors import InputError

__all__ = [
    "GRID_R",
    "MAX_LOOKS",
    "TRIAL_GRID_R",
    "EFFICACY_CODES",
    "FUTILITY_CODES",
    "StageProbabilities",
    "GroupSequentialBounds",
    "sequential_probabilities",
    "group_sequential_bounds",
    "check_design",
    "fixed_design_drift",
    "takes_param",
    "TWO_SIDED_FUTILITY",
]

GRID_R = 16
"""Grid resolution r of a design's bounds. At each look the integration variable is split into
panels of :data:`PANEL_NODES`-point Gauss-Legendre each, ``16 / r`` wide in units of the narrowest
smoothing kernel that meets there, ``min(1, sqrt(dt_k / t_k), sqrt(dt_(k+1) / t_k))`` standard
deviations of ``Z_k`` rounded down to a power of 2 (:func:`_panel_width`), over the mean +-
:data:`SPAN`, in at most :data:`MAX_PANELS` panels over all its intervals. With r = 16 the bounds are within about 1e-12 of independent
integrations where every increment of information is at least 0.5 % of its look's, and within
1e-7 down to 0.1 % (median 2e-12; 102 random designs of a review: up to 10 looks, levels 1e-6
to 0.49, every family) (tests/test_design_boundaries.py). Jennison & Turnbull's Simpson grid with r = 32, used before,
was 7e-7 off with 10 looks at 0.025 and 2.4e-5 at 1e-6 with a short last increment (a review)."""

TRIAL_GRID_R = 8
"""The resolution of the bounds recomputed per group of trials at the looks they reached
(calendar looks, a cap, endpoints read at survival looks), which are solved many times:
panels of two kernel widths, within about 1e-8 in z (4e-10 at 0.025 for a final look one event
in 1000 after its interim, 6e-9 at 1e-6; at most 3.5e-11 in alpha; docs/methods.md)."""

#: Gauss-Legendre nodes per panel, the span around each look's mean (sd), and the most panels per
#: look (an increment below about 1 % of its look's then gets panels wider than its kernel: the bound
#: on the cost, up to a few seconds for ten looks in pairs 0.1 % apart with binding beta spending).
PANEL_NODES = 8
SPAN = 10.0
MAX_PANELS = 96
#: The closest two looks may be, as a share of the later one's information: below it the panels' cap
#: leaves them wider than their kernel (1.8e-7 in z at 0.05 %, 9e-3 at 0.01 %; a code review).
CLOSEST = 5e-4
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(PANEL_NODES)


def _panel_width(t, k: int, r: int) -> float:
    """Panel width at look ``k`` of fractions ``t``: ``16 / r`` units of the narrowest kernel there.

    The unit is rounded down to a power of 2, so that the looks of trials whose
    next increments differ a little share one grid (the prefix cache of
    :func:`spending_bounds` is keyed on it).
    """
    unit = 1.0
    if k > 0:
        unit = min(unit, math.sqrt((t[k] - t[k - 1]) / t[k]))
    if k + 1 < len(t):
        unit = min(unit, math.sqrt((t[k + 1] - t[k]) / t[k]))
    return 2.0 ** math.floor(math.log2(unit)) * 16.0 / r

MAX_LOOKS = 10
HAYBITTLE_PETO_BOUND = 3.0
EFFICACY_CODES = ("OF", "P", "WT", "HP") + ALPHA_SPENDING_CODES
FUTILITY_CODES = ("none",) + BETA_SPENDING_CODES

_XTOL = 1e-12  # root-finding tolerance on the z scale, far below the 1e-6 asked
_Z_FAR = 40.0  # beyond +-40 sd every normal tail is 0 in double precision
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _frozen(values):
    """A read-only float copy, so that frozen results stay unchanged."""
    array = np.array(values, dtype=float)
    array.flags.writeable = False
    return array


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --------------------------------------------------------------------------
# The recursion
# --------------------------------------------------------------------------


def _panel_grid(mean, lo, hi, width):
    """Nodes and weights for integrating over (lo, hi): Gauss-Legendre panels at most ``width`` wide.

    The interval is cut to ``mean`` +- :data:`SPAN` (beyond it the density
    is below 1e-22) and split into equal panels, at most :data:`MAX_PANELS`.

    Returns
    -------
    z, w : numpy.ndarray
        Points and weights; both empty when (lo, hi) holds no probability mass
        worth integrating (it lies entirely beyond the span).
    """
    lo_eff, hi_eff = max(lo, mean - SPAN), min(hi, mean + SPAN)
    if not lo_eff < hi_eff:
        return np.empty(0), np.empty(0)
    panels = min(max(1, math.ceil((hi_eff - lo_eff) / width)), MAX_PANELS)
    half = 0.5 * (hi_eff - lo_eff) / panels
    centres = lo_eff + half * (2.0 * np.arange(panels) + 1.0)
    return (centres[:, None] + half * _NODES[None, :]).ravel(), np.tile(half * _WEIGHTS, panels)


class _Recursion:
    """The sub-density of Z_k on the paths still going, look by look.

    After ``k`` calls of :meth:`advance` the object answers questions about
    look ``k`` (0-based): :meth:`below` and :meth:`above` give the probability
    of reaching look k and landing below / above a value there.
    """

    def __init__(self, fractions, means, r=GRID_R):
        self.t = np.asarray(fractions, dtype=float)
        self.means = np.asarray(means, dtype=float)
        self.r = r
        self.k = 0
        self._z = None  # grid at the previous look
        self._g = None  # weight * sub-density at the previous look
        self._set_kernel()

    @property
    def mean(self):
        """E[Z_k] at the current look."""
        return self.means[self.k]

    def _set_kernel(self):
        # Z_k sqrt(t_k) = Z_{k-1} sqrt(t_{k-1}) + X, X ~ N(mu_x, dt), so that
        # P(Z_k < c | Z_{k-1} = z) = Phi(c * scale - u(z)).
        k, t, m = self.k, self.t, self.means
        if k == 0:
            self._scale, self._u = 1.0, None
            return
        sd = math.sqrt(t[k] - t[k - 1])
        mu_x = m[k] * math.sqrt(t[k]) - m[k - 1] * math.sqrt(t[k - 1])
        self._scale = math.sqrt(t[k]) / sd
        self._u = (self._z * math.sqrt(t[k - 1]) + mu_x) / sd

    def below(self, c):
        """P(reach the current look and Z_k < c)."""
        if self.k == 0:
            return float(ndtr(c - self.mean))
        if self._g.size == 0:
            return 0.0
        return float(self._g @ ndtr(c * self._scale - self._u))

    def above(self, c):
        """P(reach the current look and Z_k > c)."""
        if self.k == 0:
            return float(ndtr(self.mean - c))
        if self._g.size == 0:
            return 0.0
        return float(self._g @ ndtr(self._u - c * self._scale))

    def mass(self):
        """P(reach the current look)."""
        return 1.0 if self.k == 0 else float(self._g.sum())

    def advance(self, lo, hi):
        """Continue the paths with ``lo < Z_k < hi`` to the next look."""
        self.advance_regions([(lo, hi)])

    def advance_regions(self, regions):
        """Continue the paths with ``Z_k`` in any of the intervals ``regions`` (disjoint, (lo, hi) pairs)."""
        width = _panel_width(self.t, self.k, self.r)
        # At most MAX_PANELS panels over all the regions together (a two-sided wedge has three): the cost's cap.
        span = sum(max(0.0, min(hi, self.mean + SPAN) - max(lo, self.mean - SPAN)) for lo, hi in regions)
        width = max(width, span / MAX_PANELS)
        if len(regions) == 1:
            z, w = _panel_grid(self.mean, regions[0][0], regions[0][1], width)
        else:
            parts = [_panel_grid(self.mean, lo, hi, width) for lo, hi in regions]
            z = np.concatenate([p[0] for p in parts]) if parts else np.empty(0)
            w = np.concatenate([p[1] for p in parts]) if parts else np.empty(0)
        if self.k == 0:
            density = _INV_SQRT_2PI * np.exp(-0.5 * (z - self.mean) ** 2)
        elif self._g.size == 0 or z.size == 0:
            z, w, density = np.empty(0), np.empty(0), np.empty(0)
        else:
            arg = z[:, None] * self._scale - self._u[None, :]
            density = (np.exp(-0.5 * arg * arg) @ self._g) * (self._scale * _INV_SQRT_2PI)
        self._z, self._g = z, w * density
        self.k += 1
        if self.k < self.t.size:
            self._set_kernel()


def _continuation_floor(upper, lower, symmetric):
    """Lowest z that continues: the futility bound, or -b in a two-sided design."""
    floor = max(lower, -upper) if symmetric else lower
    return min(floor, upper)  # a futility bound at or above b stops every path


def _regions(upper, lower, symmetric, inner=False):
    """The intervals of z that continue at a look with bounds b = ``upper``, a = ``lower``.

    One-sided futility: ``(max(a, -b), b)`` (``(a, b)`` when one-sided). The
    inner wedge of a two-sided design (``inner``): ``(-b, -a)`` and ``(a, b)``,
    or ``(-b, b)`` when ``a <= 0`` (no futility stop at that look).
    """
    if symmetric and inner:
        if not lower > 0.0:
            return [(-upper, upper)]
        if lower >= upper:
            return []
        return [(-upper, -lower), (lower, upper)]
    return [(_continuation_floor(upper, lower, symmetric), upper)]


def _wedge(rec, a, upper):
    """P(reach the current look and ``|Z_k| < a``), the wedge cut at the efficacy bound."""
    a = min(a, upper)
    if not a > 0.0:
        return 0.0
    return max(rec.below(a) - rec.below(-a), 0.0)


@dataclass(frozen=True, eq=False)
class StageProbabilities:
    """Per-look probabilities of how a group-sequential trial stops.

    Attributes
    ----------
    fractions : numpy.ndarray
        Information fractions of the looks.
    reject_upper : numpy.ndarray
        P(stop at look k with ``Z_k >= b_k``): rejection in the favourable direction.
    reject_lower : numpy.ndarray
        P(stop at look k with ``Z_k <= -b_k``): unfavourable rejection, two-sided
        designs only (zeros otherwise).
    futility : numpy.ndarray
        P(stop at look k for futility, ``Z_k < a_k``); 0 at the final look.
    """

    fractions: np.ndarray
    reject_upper: np.ndarray
    reject_lower: np.ndarray
    futility: np.ndarray

    @property
    def power(self):
        """Total probability of a favourable rejection."""
        return float(self.reject_upper.sum())

    @property
    def stop(self):
        """P(the trial ends at look k); the final look takes every path left."""
        stop = self.reject_upper + self.reject_lower + self.futility
        stop[-1] = 1.0 - stop[:-1].sum()
        return stop

    @property
    def expected_fraction(self):
        """Expected information at stopping, as a fraction of the maximum."""
        return float(self.stop @ self.fractions)


def _as_means(fractions, drift):
    drift = np.asarray(drift, dtype=float)
    if drift.ndim == 0:
        return float(drift) * np.sqrt(fractions)
    if drift.shape != fractions.shape:
        raise ValueError("`drift` must be a scalar or have one mean per look")
    return drift


def sequential_probabilities(fractions, upper, lower=None, drift=0.0, *, symmetric=False, inner=False, r=GRID_R):
    """Per-look crossing probabilities of the canonical sequential z process.

    Parameters
    ----------
    fractions : array_like
        Increasing information fractions t_1 < ... < t_K in (0, 1].
    upper : array_like
        Efficacy bounds b_k (``inf`` where there is none).
    lower : array_like, optional
        Futility bounds a_k (``-inf`` where there is none; the default).
    drift : float or array_like
        A number: the mean of the z statistic at t = 1, so that
        ``E[Z_k] = drift * sqrt(t_k)`` (``theta * sqrt(I_max)``). An array of K
        values: ``E[Z_k]`` per look, for effects that change over time.
    symmetric : bool
        Two-sided design: also stop and reject (unfavourably) when ``Z_k <= -b_k``.
    inner : bool
        Two-sided designs: futility is the inner wedge, stop when ``|Z_k| < a_k``
        (rpact's); otherwise futility is one-sided, ``-b_k < Z_k < a_k``.
    r : int
        Grid resolution (:data:`GRID_R`).

    Returns
    -------
    StageProbabilities

    Examples
    --------
    >>> p = sequential_probabilities([0.5, 1.0], [2.797, 1.977], symmetric=True)
    >>> round(float(p.reject_upper.sum() + p.reject_lower.sum()), 4)
    0.05
    """
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or t.size == 0 or t[0] <= 0 or t[-1] > 1 or np.any(np.diff(t) <= 0):
        raise ValueError("`fractions` must increase strictly within (0, 1]")
    b = np.broadcast_to(np.asarray(upper, dtype=float), t.shape)
    lower = -np.inf if lower is None else lower
    a = np.broadcast_to(np.asarray(lower, dtype=float), t.shape)
    rec = _Recursion(t, _as_means(t, drift), r)
    up, low, fut = np.zeros(t.size), np.zeros(t.size), np.zeros(t.size)
    wedge = symmetric and inner
    for k in range(t.size):
        up[k] = rec.above(b[k])
        low[k] = rec.below(-b[k]) if symmetric else 0.0
        if wedge:
            fut[k] = _wedge(rec, a[k], b[k])
        else:
            floor = _continuation_floor(b[k], a[k], symmetric)
            fut[k] = max(rec.below(floor) - low[k], 0.0)
        if k + 1 < t.size:
            rec.advance_regions(_regions(b[k], a[k], symmetric, inner))
    return StageProbabilities(_frozen(t), _frozen(up), _frozen(low), _frozen(fut))


# --------------------------------------------------------------------------
# Solving for bounds
# --------------------------------------------------------------------------


def _increment(alpha_cum, k: int, spent: float) -> float:
    """The alpha look ``k`` spends: what is left of ``alpha_cum[k]`` after ``spent``, or 0 where the cumulative
    alpha does not grow there (a review: an asUser repeat, 0.01 then 0.01, left the recursion's 8e-18 of rounding
    to spend, a finite bound of 8.33 that rejected trials with an infinite z, where rpact has none)."""
    if k > 0 and alpha_cum[k] <= alpha_cum[k - 1]:
        return 0.0
    return alpha_cum[k] - spent


def _efficacy_for_spend(rec, increment, symmetric):
    """The bound b at the current look that spends ``increment`` of alpha."""
    if increment <= 0.0:
        return math.inf

    def excess(b):
        spent = rec.above(b) + (rec.below(-b) if symmetric else 0.0)
        return spent - increment

    lo = 0.0 if symmetric else rec.mean - _Z_FAR
    if excess(lo) <= 0.0:  # more asked than there is left: reject everything
        return lo
    return brentq(excess, lo, rec.mean + _Z_FAR, xtol=_XTOL)


def _futility_for_spend(rec, increment, upper, symmetric):
    """The futility bound a at the current look that spends ``increment`` of beta.

    The spend is every non-rejecting stop, ``P(Z_k < max(a, -b))``, so that the
    beta spent at the final look (where ``a = b``) is exactly 1 - power.
    """
    if increment <= 0.0:
        return -math.inf
    if rec.below(upper) <= increment:
        return upper
    if symmetric and rec.below(-upper) >= increment:  # -b alone already stops that much
        return -math.inf
    lo = min(upper, rec.mean) - _Z_FAR
    if symmetric:
        lo = max(lo, -upper)
    hi = min(upper, rec.mean + _Z_FAR)  # a look without efficacy bound has upper = inf
    return brentq(lambda a: rec.below(a) - increment, lo, hi, xtol=_XTOL)


def _alpha_spending_bounds(t, alpha_cum, futility, symmetric, r, inner=False):
    """Efficacy bounds spending ``alpha_cum`` under H0 given futility bounds.

    Pass ``futility = -inf`` everywhere for non-binding futility.
    """
    rec = _Recursion(t, np.zeros(t.size), r)
    b, spent = np.empty(t.size), 0.0
    for k in range(t.size):
        b[k] = _efficacy_for_spend(rec, _increment(alpha_cum, k, spent), symmetric)
        spent += rec.above(b[k]) + (rec.below(-b[k]) if symmetric else 0.0)
        if k + 1 < t.size:
            rec.advance_regions(_regions(b[k], futility[k], symmetric, inner))
    return b


def _total_alpha(t, b, futility, symmetric, r, inner=False):
    p = sequential_probabilities(t, b, futility, 0.0, symmetric=symmetric, inner=inner, r=r)
    return p.reject_upper.sum() + p.reject_lower.sum()


def _wang_tsiatis_bounds(t, alpha, delta, futility, symmetric, r, inner=False):
    """Bounds c t_k^(delta - 1/2) with total type I error alpha."""
    shape = t ** (delta - 0.5)
    sided = 2 if symmetric else 1
    # Bonferroni over the K looks gives an upper end where at most alpha is spent.
    hi = np.max(-ndtri(alpha / (sided * t.size)) / shape)
    def excess(c):
        return _total_alpha(t, c * shape, futility, symmetric, r, inner) - alpha

    # Without futility the final look alone must not exceed alpha, so c >= z_{1 - alpha/sided}. Binding
    # futility stops paths that would have rejected, and c can be lower (rpact's OF with a binding futility
    # bound of 0.5 at two looks ends at 1.9527): halve towards 0 until alpha is reached, which happens (as
    # c -> 0 the first look alone rejects half the trials, alpha < 0.5).
    lo = -ndtri(alpha / sided)
    while excess(lo) < 0.0:
        lo *= 0.5
    bounds = brentq(excess, lo, hi, xtol=_XTOL) * shape
    reach = np.flatnonzero(np.asarray(futility[:-1]) >= bounds[:-1])
    if reach.size:
        k = int(reach[0])
        raise InputError(
            f"config key `design.futility`: the binding futility bound at look {k + 1} ({futility[k]:g}) is too "
            f"extreme: with it the efficacy bounds that spend alpha fall to {bounds[k]:.4f} there, below it; "
            "lower the futility bounds or make them non-binding"
        )
    return bounds


def _haybittle_peto_bounds(t, alpha, interim, futility, symmetric, r, inner=False):
    """``interim`` at every interim look, the final bound keeping alpha."""
    rec = _Recursion(t, np.zeros(t.size), r)
    b, spent = np.full(t.size, float(interim)), 0.0
    for k in range(t.size - 1):
        spent += rec.above(b[k]) + (rec.below(-b[k]) if symmetric else 0.0)
        rec.advance_regions(_regions(b[k], futility[k], symmetric, inner))
    if spent >= alpha:
        raise InputError(
            f"config key `design.efficacy`: HP interim bounds of {interim} already spend "
            f"{spent:.4g} >= alpha = {alpha}; use fewer looks or a larger alpha."
        )
    b[-1] = _efficacy_for_spend(rec, alpha - spent, symmetric)
    return b


def _beta_spending_pass(t, drift, beta_cum, efficacy, alpha_cum, symmetric, r):
    """One pass of the joint beta-spending solve at a trial drift.

    Returns the bounds, the beta spent at each look (at the final look: every
    path that does not reject, as if the final futility bound equalled the
    final efficacy bound) and the gap between the total spent and beta; the
    drift that makes the gap zero is the design's. When ``alpha_cum`` is given
    (binding futility) the efficacy bounds are recomputed on the paths that the
    futility bounds let go on.
    """
    K = t.size
    h1 = _Recursion(t, drift * np.sqrt(t), r)
    h0 = _Recursion(t, np.zeros(K), r) if alpha_cum is not None else None
    b = efficacy.copy()
    a = np.full(K, -np.inf)
    spent = np.zeros(K)
    alpha_spent = 0.0
    for k in range(K):
        if h0 is not None:
            b[k] = _efficacy_for_spend(h0, _increment(alpha_cum, k, alpha_spent), symmetric)
            alpha_spent += h0.above(b[k]) + (h0.below(-b[k]) if symmetric else 0.0)
        if k == K - 1:
            break
        a[k] = _futility_for_spend(h1, beta_cum[k] - spent.sum(), b[k], symmetric)
        floor = _continuation_floor(b[k], a[k], symmetric)
        spent[k] = h1.below(floor)
        h1.advance(floor, b[k])
        if h0 is not None:
            h0.advance(floor, b[k])
    spent[-1] = h1.below(b[-1])
    return b, a, spent, spent.sum() - beta_cum[-1]


def _solve_beta_spending(t, beta_cum, efficacy, alpha_cum, symmetric, drift_guess, r):
    """Find the drift at which beta spending ends exactly at 1 - power."""

    def gap(drift):
        return _beta_spending_pass(t, drift, beta_cum, efficacy, alpha_cum, symmetric, r)[3]

    # The gap (beta unspent minus beta) falls as the drift grows. At the fixed
    # design's drift it is >= 0: no level-alpha test on the same maximum
    # information beats the fixed one-sided z test (Neyman-Pearson), so the
    # power there is at most the target.
    lo, hi = _bracket_increasing(lambda drift: -gap(drift), drift_guess)
    drift = brentq(gap, lo, hi, xtol=_XTOL)
    b, a, spent, _ = _beta_spending_pass(t, drift, beta_cum, efficacy, alpha_cum, symmetric, r)
    return b, a, drift, np.cumsum(spent)


INNER_NONE_BELOW = 1e-5
"""Inner futility bounds at or below this are no bound (rpact reports ``NA``)."""


def _inner_futility_for_spend(rec, increment, upper):
    """The inner bound a (stop when ``|Z_k| < a``) that spends ``increment`` of beta."""
    if increment <= 0.0:
        return 0.0
    if _wedge(rec, upper, upper) <= increment:
        return upper
    hi = min(upper, abs(rec.mean) + _Z_FAR)
    return brentq(lambda a: _wedge(rec, a, upper) - increment, 0.0, hi, xtol=_XTOL)


def _inner_beta_spending_pass(t, drift, beta_cum, none_at, efficacy, alpha_cum, r):
    """One pass of rpact's two-sided beta-spending solve at a trial drift.

    At each interim, the inner bound spends the cumulative beta by the wedge
    stops ``|Z_k| < a_k`` under ``drift`` (no bound where ``none_at``); at the
    final look every path with ``|Z_K| < b_K`` counts, so the gap between
    the total and beta is zero at the design's drift (rpact's ``a_K = c_K``).
    With ``alpha_cum`` (binding) the efficacy bounds are recomputed on the
    paths that continue.
    """
    K = t.size
    h1 = _Recursion(t, drift * np.sqrt(t), r)
    h0 = _Recursion(t, np.zeros(K), r) if alpha_cum is not None else None
    b = efficacy.copy()
    a = np.zeros(K)
    spent = np.zeros(K)
    alpha_spent = 0.0
    for k in range(K):
        if h0 is not None:
            b[k] = _efficacy_for_spend(h0, _increment(alpha_cum, k, alpha_spent), True)
            alpha_spent += h0.above(b[k]) + h0.below(-b[k])
        if k == K - 1:
            break
        a[k] = 0.0 if none_at[k] else _inner_futility_for_spend(h1, beta_cum[k] - spent.sum(), b[k])
        spent[k] = _wedge(h1, a[k], b[k])
        regions = _regions(b[k], a[k], True, True)
        h1.advance_regions(regions)
        if h0 is not None:
            h0.advance_regions(regions)
    spent[-1] = _wedge(h1, b[-1], b[-1])
    return b, a, spent, spent.sum() - beta_cum[-1]


def _solve_inner_beta_spending(t, alpha, efficacy_code, e_param, f_code, f_param, beta, b, alpha_cum, r):
    """Two-sided beta spending with an inner wedge, by rpact's rule (3.3.4).

    ``getDesignGroupSequentialBetaSpendingTwoSidedCpp`` in rpact's
    ``src/f_design_group_sequential.cpp``, with ``twoSidedPower = FALSE``:

    1. the one-sided design at alpha / 2 with the same spending functions and
       binding (non-binding: at the two-sided efficacy bounds) is solved; at
       every interim where its futility bound is negative the two-sided
       design has no inner bound (a_k = 0);
    2. if the first positive one-sided bound is at look k0 > 1, the beta
       spent before k0 is 0 and the spending is rescaled,
       ``beta(t_k) -> (beta(t_k) - beta(t_{k0-1})) / (beta(1) - beta(t_{k0-1})) * beta``
       (rpact's ``betaAdjustment = TRUE``, its default);
    3. the drift is found at which the wedge stops ``|Z_k| < a_k`` spend
       the cumulative beta and the final look's ``|Z_K| < b_K`` brings the
       total to beta (binding: the efficacy bounds recomputed on the paths
       that continue);
    4. bounds at or below 1e-5 are no bound (``NA`` in rpact).

    Returns the efficacy bounds, the inner bounds (``-inf`` where none) and
    the cumulative beta spent at the solved drift.
    """
    K = t.size
    binding = alpha_cum is not None
    fn_beta = get_spending_function(f_code)
    beta_cum = np.asarray(fn_beta.cumulative(t, beta, f_param), dtype=float)
    # 1. The one-sided companion design.
    if binding:
        half = tuple(v / 2.0 for v in e_param) if efficacy_code == "asUser" else e_param
        alpha_one = get_spending_function(efficacy_code).cumulative(t, alpha / 2.0, half, 1)
        b_one = _alpha_spending_bounds(t, alpha_one, np.full(K, -np.inf), False, r)
    else:
        alpha_one, b_one = None, b
    _, a_one, _, _ = _solve_beta_spending(
        t, beta_cum, b_one, alpha_one, False, fixed_design_drift(alpha, 2, 1.0 - beta), r
    )
    none_at = np.asarray(a_one[:-1] < 0.0)
    # 2. No spending before the first positive one-sided bound.
    positive = np.flatnonzero(a_one[:-1] > 0.0)
    k0 = int(positive[0]) if positive.size else -1
    if k0 > 0:
        base = beta_cum[k0 - 1]
        adjusted = (beta_cum - base) / (beta_cum[-1] - base) * beta_cum[-1]
        beta_cum = np.where(np.arange(K) < k0, 0.0, adjusted)
    none_at = np.append(none_at, False)

    # 3. The drift.
    def gap(drift):
        return _inner_beta_spending_pass(t, drift, beta_cum, none_at, b, alpha_cum, r)[3]

    lo, hi = _bracket_increasing(lambda drift: -gap(drift), fixed_design_drift(alpha, 2, 1.0 - beta))
    drift = brentq(gap, lo, hi, xtol=_XTOL)
    b, a, spent, _ = _inner_beta_spending_pass(t, drift, beta_cum, none_at, b, alpha_cum, r)
    # 4. rpact's NA.
    a = np.where(a > INNER_NONE_BELOW, a, -np.inf)
    a[-1] = -np.inf
    return b, a, np.cumsum(spent)


def _drift_for_power(t, b, a, power, symmetric, guess, r, inner=False):
    """The drift at which the design (futility stops included) has ``power``."""

    def shortfall(drift):
        return sequential_probabilities(t, b, a, drift, symmetric=symmetric, inner=inner, r=r).power - power

    # As for beta spending, the fixed design's drift is a lower end (Neyman-Pearson).
    lo, hi = _bracket_increasing(shortfall, guess)
    return brentq(shortfall, lo, hi, xtol=_XTOL)


def _bracket_increasing(func, guess):
    """An interval [lo, hi] on which the increasing ``func`` changes sign.

    ``func(guess) <= 0`` in exact arithmetic; the integration error may make it
    slightly positive, hence the step down.
    """
    lo = guess
    for _ in range(50):
        if func(lo) <= 0.0:
            break
        lo *= 0.9
    else:
        lo = 0.0
    hi = max(lo, 0.1) * 1.25  # inflation factors stay below 1.25^2 for common designs
    for _ in range(30):
        if func(hi) >= 0.0:
            return lo, hi
        lo, hi = hi, hi * 1.25
    raise InputError("config key `design.power`: no drift reaches the target power with these bounds.")


def _efficacy_bounds(t, alpha, sided, code, param, futility, r, inner=False):
    """Efficacy bounds of one family, and its cumulative alpha when it spends alpha."""
    symmetric = sided == 2
    if code in ALPHA_SPENDING_CODES:
        alpha_cum = get_spending_function(code).cumulative(t, alpha, param, sided)
        return _alpha_spending_bounds(t, alpha_cum, futility, symmetric, r, inner), alpha_cum
    if code == "HP":
        return _haybittle_peto_bounds(t, alpha, HAYBITTLE_PETO_BOUND, futility, symmetric, r, inner), None
    delta = {"OF": 0.0, "P": 0.5}.get(code, param)
    return _wang_tsiatis_bounds(t, alpha, delta, futility, symmetric, r, inner), None


def fixed_design_drift(alpha, sided, power):
    """Drift (mean z at full information) of a fixed design with this power.

    ``z_{1 - alpha/sided} + z_{power}``; its square is rpact's ``nFixed``.
    """
    return float(-ndtri(alpha / sided) + ndtri(power))


# --------------------------------------------------------------------------
# The result and the entry point
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GroupSequentialBounds:
    """A group-sequential design on the z scale.

    Attributes
    ----------
    fractions : numpy.ndarray
        Planned information fractions (last = 1).
    efficacy : numpy.ndarray
        Efficacy bounds b_k: reject when ``Z_k >= b_k`` (and, two-sided, when
        ``Z_k <= -b_k``); ``inf`` where a look cannot reject.
    futility : numpy.ndarray
        Futility bounds a_k: stop when ``Z_k < a_k`` (inner wedge of a
        two-sided design: when ``|Z_k| < a_k``); ``-inf`` where none, always
        at the final look.
    alpha_spent : numpy.ndarray
        Cumulative type I error by look (both tails when two-sided; with the
        futility stops only when binding).
    beta_spent : numpy.ndarray or None
        Cumulative P(stop without a favourable rejection) under the design
        drift, for beta-spending futility; ends at 1 - power. Inner wedge:
        rpact's ``betaSpent``, the wedge stops and, at the final look,
        ``|Z_K| < b_K`` under the drift of the beta-spending solve.
    nominal_p : numpy.ndarray
        One-sided nominal p-value of each efficacy bound, ``1 - Phi(b_k)``.
    alpha, sided, power, binding :
        The design inputs (``power`` is the target).
    efficacy_code, efficacy_param, futility_code, futility_param :
        The families used; ``futility_code`` is ``"none"``, a ``bs*`` code or
        ``"user"`` for fixed z values.
    drift : float
        Mean of the z statistic at full information giving ``power`` (futility
        stops included): ``theta * sqrt(I_max)``.
    inflation_factor : float
        Maximum information of this design over that of the fixed design with
        the same alpha, sidedness and power: ``(drift / fixed_drift)^2``.
    expected_fraction_h0, expected_fraction_h1 : float
        Expected information at stopping as a fraction of the maximum, at drift
        0 and at ``drift``. Times ``inflation_factor`` they give rpact's
        ``averageSampleNumber0`` and ``averageSampleNumber1``.
    two_sided_futility : str or None
        Two-sided designs: ``"inner"`` (futility stops when ``|Z_k| < a_k``,
        rpact's) or ``"one_sided"`` (when ``-b_k < Z_k < a_k``); ``None`` for
        one-sided designs.
    """

    fractions: np.ndarray
    efficacy: np.ndarray
    futility: np.ndarray
    alpha_spent: np.ndarray
    beta_spent: np.ndarray | None
    nominal_p: np.ndarray
    alpha: float
    sided: int
    power: float
    binding: bool
    efficacy_code: str
    efficacy_param: object
    futility_code: str
    futility_param: object
    drift: float
    inflation_factor: float
    expected_fraction_h0: float
    expected_fraction_h1: float
    grid_r: int = field(default=GRID_R, repr=False)
    two_sided_futility: str | None = None

    @property
    def n_looks(self):
        return int(self.fractions.size)

    @property
    def inner(self):
        """Whether futility is the inner wedge ``|Z_k| < a_k`` (two-sided designs)."""
        return self.sided == 2 and self.two_sided_futility == "inner"

    def probabilities(self, drift=None):
        """Per-look rejection and futility-stop probabilities.

        Parameters
        ----------
        drift : float or array_like, optional
            Mean z at full information (or per-look means, see
            :func:`sequential_probabilities`); default: the design drift.
            Futility stops are included whether binding or not.

        Returns
        -------
        StageProbabilities
        """
        drift = self.drift if drift is None else drift
        return sequential_probabilities(
            self.fractions,
            self.efficacy,
            self.futility,
            drift,
            symmetric=self.sided == 2,
            inner=self.inner,
            r=self.grid_r,
        )

    def expected_fraction(self, drift):
        """Expected information fraction at stopping for a given drift."""
        return self.probabilities(drift).expected_fraction

    def to_dict(self):
        """Plain-Python view (lists and floats) for reports."""
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.tolist() if isinstance(value, np.ndarray) else value
        return out


def _check_fractions(looks):
    key = "design.looks"
    allowed = (
        f"an integer K in 1..{MAX_LOOKS} or a list of up to {MAX_LOOKS} strictly "
        "increasing information fractions in (0, 1] ending at 1.0"
    )
    if isinstance(looks, bool):
        raise InputError(f"config key `{key}`: must be {allowed}, got {toml_value(looks)}")
    if isinstance(looks, (int, np.integer)):
        if not 1 <= looks <= MAX_LOOKS:
            raise InputError(f"config key `{key}`: must be {allowed}, got {toml_value(looks)}")
        return np.arange(1, looks + 1) / looks
    try:
        t = np.asarray(looks, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"config key `{key}`: must be {allowed}, got {toml_value(looks)}") from None
    if (
        t.ndim != 1
        or not 1 <= t.size <= MAX_LOOKS
        or not np.all(np.isfinite(t))
        or t[0] <= 0
        or np.any(np.diff(t) <= 0)
        or abs(t[-1] - 1.0) > 1e-12
    ):
        raise InputError(f"config key `{key}`: must be {allowed}, got {toml_value(looks)}")
    t[-1] = 1.0
    apart = np.diff(t) / t[1:]
    if apart.size and float(apart.min()) < CLOSEST:
        # A code review: at 0.01 % apart the panels' cap left the bounds spending 0.0255 for 0.025.
        k = int(np.argmin(apart))
        raise InputError(
            f"config key `{key}`: looks {k + 1} and {k + 2} (information {t[k]:.6g} and {t[k + 1]:.6g}) are "
            f"{100 * apart[k]:.3g} % of the information apart; the bounds need at least {100 * CLOSEST:g} % "
            "(docs/methods.md): merge them into one look"
        )
    return t


def _check_scalars(alpha, sided, power, binding):
    if isinstance(sided, bool) or sided not in (1, 2):
        raise InputError(f"config key `design.sided`: must be 1 or 2, got {toml_value(sided)}")
    if not _is_real(alpha) or not 0 < alpha < 0.5:
        raise InputError(f"config key `design.alpha`: must be a number in (0, 0.5), got {toml_value(alpha)}")
    if not _is_real(power) or not alpha / sided < power < 1:
        raise InputError(
            f"config key `design.power`: must be a number with alpha/sided < power < 1, got {toml_value(power)}"
        )
    if not isinstance(binding, (bool, np.bool_)):
        raise InputError(f"config key `design.binding`: must be true or false, got {toml_value(binding)}")
    return float(alpha), int(sided), float(power), bool(binding)


def takes_param(code) -> bool:
    """Whether the efficacy or futility family ``code`` reads ``design.efficacy_param`` / ``futility_param``.

    Families without a parameter ignore one (docs/config.md), so that a
    config can switch families without removing it.

    >>> takes_param("asOF"), takes_param("asHSD"), takes_param("WT"), takes_param([0.0, 0.5])
    (False, True, True, False)
    """
    if not isinstance(code, str):
        return False  # fixed futility bounds
    return code == "WT" or (code in SPENDING_FUNCTIONS and SPENDING_FUNCTIONS[code].param_name is not None)


def _check_efficacy(code, param, n_looks, alpha):
    key = "design.efficacy"
    if code not in EFFICACY_CODES:
        raise InputError(f"config key `{key}`: must be one of {', '.join(EFFICACY_CODES)}, got {toml_value(code)}")
    if code == "WT":
        allowed = "Delta, a number with -0.5 <= Delta <= 1"
        if not _is_real(param) or not -0.5 <= param <= 1:
            raise InputError(f"config key `design.efficacy_param`: must be {allowed} for WT, got {toml_value(param)}")
        return float(param)
    if code in ALPHA_SPENDING_CODES:
        fn = get_spending_function(code, key)
        return fn.validate_param(param, "design.efficacy_param", n_looks, alpha)
    return None  # OF, P, HP take no parameter; a leftover one is ignored


def _check_futility(code, param, n_looks, efficacy):
    """Return (futility code, parameter, fixed bounds or None)."""
    key = "design.futility"
    if isinstance(code, str):
        if code not in FUTILITY_CODES:
            raise InputError(
                f"config key `{key}`: must be one of {', '.join(FUTILITY_CODES)} or a list of "
                f"{n_looks - 1} z values (one per interim), got {toml_value(code)}"
            )
        if code == "none":
            return "none", None, np.full(n_looks, -np.inf)
        if efficacy not in ALPHA_SPENDING_CODES:
            raise InputError(
                f"config key `{key}`: {code!r} (beta spending) needs an alpha-spending efficacy "
                f"(`design.efficacy` one of {', '.join(ALPHA_SPENDING_CODES)}), got {toml_value(efficacy)}"
            )
        fn = get_spending_function(code, key)
        return code, fn.validate_param(param, "design.futility_param", n_looks), None
    message = (
        f"config key `{key}`: must be one of {', '.join(FUTILITY_CODES)} or a list of {n_looks - 1} "
        f"z values (numbers or -inf), one per interim look, got {toml_value(code)}"
    )
    try:
        values = np.asarray(code, dtype=float)
    except (TypeError, ValueError):
        raise InputError(message) from None
    if values.ndim != 1 or values.size != n_looks - 1 or np.any(np.isnan(values) | (values == np.inf)):
        raise InputError(message)
    return "user", _frozen(values), np.append(values, -np.inf)


TWO_SIDED_FUTILITY = ("inner", "one_sided")


def _checked(
    looks, alpha, sided, power, efficacy, efficacy_param, futility, futility_param, binding,
    two_sided_futility="inner",
):
    t = _check_fractions(looks)
    alpha, sided, power, binding = _check_scalars(alpha, sided, power, binding)
    if two_sided_futility not in TWO_SIDED_FUTILITY:
        raise InputError(
            f"config key `design.two_sided_futility`: must be one of {', '.join(TWO_SIDED_FUTILITY)}, "
            f"got {toml_value(two_sided_futility)}"
        )
    e_param = _check_efficacy(efficacy, efficacy_param, t.size, alpha)
    futility_checked = _check_futility(futility, futility_param, t.size, efficacy)
    inner = sided == 2 and two_sided_futility == "inner"
    if binding and sided == 2 and futility_checked[0] != "none" and not inner:
        raise InputError(
            "config key `design.binding`: true needs `design.sided` = 1 or `design.two_sided_futility` = "
            "\"inner\": a one-sided futility rule in a two-sided design takes non-binding futility "
            "(set binding = false)."
        )
    fixed = futility_checked[2]
    if inner and futility_checked[0] == "user" and np.any(np.isfinite(fixed) & (fixed < 0)):
        raise InputError(
            "config key `design.futility`: with `design.sided` = 2 and `design.two_sided_futility` = \"inner\" "
            "the bounds a_k stop when |Z_k| <= a_k and must be >= 0 (or -inf for none), got "
            f"{[float(v) for v in fixed[:-1]]}; set two_sided_futility = \"one_sided\" for a bound "
            "in the favourable direction only."
        )
    return t, alpha, sided, power, binding, e_param, futility_checked


def check_design(
    looks, *, alpha, sided, power, efficacy, efficacy_param, futility, futility_param, binding,
    two_sided_futility="inner",
) -> None:
    """Raise the InputError that :func:`group_sequential_bounds` would raise for these parameters.

    The config layer calls this once, when it validates ``[design]``, so a
    bad boundary parameter is reported there (with the config key) and not
    later, when a plan is built.
    """
    _checked(
        looks, alpha, sided, power, efficacy, efficacy_param, futility, futility_param, binding, two_sided_futility
    )


def group_sequential_bounds(
    looks,
    alpha=0.025,
    sided=1,
    efficacy="asOF",
    efficacy_param=None,
    futility="none",
    futility_param=None,
    binding=False,
    power=0.8,
    *,
    two_sided_futility="inner",
    r=GRID_R,
):
    """Efficacy and futility bounds of a group-sequential design.

    Parameters
    ----------
    looks : int or sequence of float
        ``design.looks``: K equally spaced looks, or the information fractions
        (strictly increasing, last 1.0), at most 10 looks.
    alpha : float
        Total type I error (both tails when ``sided = 2``).
    sided : {1, 2}
        One-sided test, or symmetric two-sided test with alpha/2 per tail.
    efficacy : str
        ``OF``, ``P``, ``WT`` (Wang-Tsiatis, ``efficacy_param`` = Delta),
        ``HP`` (Haybittle-Peto: 3 at interims), ``asOF``, ``asP``, ``asKD``
        (``efficacy_param`` = rho), ``asHSD`` (gamma) or ``asUser`` (list of
        cumulative alphas, last = alpha).
    efficacy_param : float or sequence, optional
        The family parameter; ignored by families without one.
    futility : str or sequence of float
        ``none``, a beta-spending code ``bsOF``, ``bsP``, ``bsKD`` (rho),
        ``bsHSD`` (gamma), or a list of K - 1 fixed z bounds (one per interim).
    futility_param : float, optional
        rho or gamma for ``bsKD`` / ``bsHSD``; ignored otherwise.
    binding : bool
        Whether the efficacy bounds count on the futility stops (not with
        ``two_sided_futility = "one_sided"`` in a two-sided design).
    power : float
        Target power; sets beta = 1 - power for beta spending and the drift
        behind the inflation factor and expected information.
    two_sided_futility : {"inner", "one_sided"}
        Two-sided designs: ``"inner"`` (default, rpact's): stop for futility
        when ``|Z_k| < a_k``; beta spending by rpact's rule (see
        :func:`_solve_inner_beta_spending`). ``"one_sided"``: stop when
        ``-b_k < Z_k < a_k``, the one-sided design's futility mirrored.
        Ignored when ``sided = 1``.
    r : int
        Integration grid resolution (:data:`GRID_R`).

    Returns
    -------
    GroupSequentialBounds

    Raises
    ------
    InputError
        With the offending key (``design.looks``, ``design.efficacy``, ...)
        and what is allowed.

    Examples
    --------
    >>> d = group_sequential_bounds([0.5, 1.0], alpha=0.025, futility="bsOF", power=0.9)
    >>> bool(d.futility[0] < d.efficacy[0])
    True
    """
    t, alpha, sided, power, binding, e_param, (f_code, f_param, fixed_futility) = _checked(
        looks, alpha, sided, power, efficacy, efficacy_param, futility, futility_param, binding, two_sided_futility
    )
    K, symmetric = t.size, sided == 2
    inner = symmetric and two_sided_futility == "inner"
    beta = 1.0 - power
    fixed_drift = fixed_design_drift(alpha, sided, power)

    # Fixed futility bounds that the efficacy search must respect (binding only);
    # beta-spending bounds depend on the efficacy bounds and are solved jointly below.
    h0_futility = np.full(K, -np.inf)
    if binding and fixed_futility is not None:
        h0_futility = fixed_futility
    b, alpha_cum = _efficacy_bounds(t, alpha, sided, efficacy, e_param, h0_futility, r, inner)

    beta_spent = None
    if fixed_futility is None and inner:  # rpact's two-sided beta spending
        b, a, beta_spent = _solve_inner_beta_spending(
            t, alpha, efficacy, e_param, f_code, f_param, beta, b, alpha_cum if binding else None, r
        )
        drift = _drift_for_power(t, b, a, power, True, fixed_drift, r, inner=True)
    elif fixed_futility is None:  # beta spending
        beta_cum = get_spending_function(f_code).cumulative(t, beta, f_param)
        b, a, drift, beta_spent = _solve_beta_spending(
            t, beta_cum, b, alpha_cum if binding else None, symmetric, fixed_drift, r
        )
    else:
        a = fixed_futility
        if np.any(a[:-1] >= b[:-1]):
            k = int(np.argmax(a[:-1] >= b[:-1]))
            raise InputError(
                f"config key `design.futility`: the bound at look {k + 1} ({a[k]:g}) must lie below "
                f"the efficacy bound there ({b[k]:.4f})."
            )
        drift = _drift_for_power(t, b, a, power, symmetric, fixed_drift, r, inner)

    # alpha_spent counts the futility stops only where the bounds rely on them.
    h0_lower = a if binding else np.full(K, -np.inf)
    p0 = sequential_probabilities(t, b, h0_lower, 0.0, symmetric=symmetric, inner=inner, r=r)
    # Expected information assumes that the futility bounds are obeyed.
    expected_h0 = sequential_probabilities(t, b, a, 0.0, symmetric=symmetric, inner=inner, r=r).expected_fraction
    expected_h1 = sequential_probabilities(t, b, a, drift, symmetric=symmetric, inner=inner, r=r).expected_fraction
    return GroupSequentialBounds(
        fractions=_frozen(t),
        efficacy=_frozen(b),
        futility=_frozen(a),
        alpha_spent=_frozen(np.cumsum(p0.reject_upper + p0.reject_lower)),
        beta_spent=None if beta_spent is None else _frozen(beta_spent),
        nominal_p=_frozen(ndtr(-b)),
        alpha=alpha,
        sided=sided,
        power=power,
        binding=binding,
        efficacy_code=efficacy,
        efficacy_param=e_param,
        futility_code=f_code,
        futility_param=f_param,
        drift=float(drift),
        inflation_factor=float((drift / fixed_drift) ** 2),
        expected_fraction_h0=expected_h0,
        expected_fraction_h1=expected_h1,
        grid_r=r,
        two_sided_futility=two_sided_futility if symmetric else None,
    )


#: Efficacy families whose bounds can be recomputed at the events a trial
#: actually reached (calendar looks, a maximum duration).
REACHED_FRACTION_CODES = ("asOF", "asP", "asKD", "asHSD")


def spending_bounds(spent, information, alpha=0.025, sided=1, efficacy="asOF", efficacy_param=None,
                    futility=None, binding=False, two_sided_futility="inner", r=TRIAL_GRID_R, prefix_cache=None,
                    prefix_key=None):
    """Efficacy bounds of one trial whose looks did not come at the planned fractions.

    Alpha is spent at ``spent`` (the events at each interim over the planned
    maximum events; clipped to 1) and all of it at the last look, whatever
    fraction it reached; the joint law of the z statistics is that of the
    information fractions ``information`` (the events at each look over the
    events at the last). Used for looks at calendar times and for a trial
    ended by a maximum duration (docs/methods.md).

    Parameters
    ----------
    spent, information : sequence of float
        Per look analysed, increasing; ``information`` ends at 1.
    alpha, sided, efficacy, efficacy_param, two_sided_futility
        As :func:`group_sequential_bounds`; ``efficacy`` one of
        :data:`REACHED_FRACTION_CODES`.
    r : int
        Grid resolution, default :data:`TRIAL_GRID_R` (bounds solved per group of trials).
    futility : sequence of float, optional
        Fixed z futility bounds at the looks (``-inf`` for none); they move
        the efficacy bounds only when ``binding``.
    binding : bool
    prefix_cache, prefix_key : dict, hashable, optional
        Trials that share their interims (``prefix_key`` names them: the
        same spent and information values before the last look, up to a
        common scale of the information) share the recursion up to the last
        interim, kept in ``prefix_cache``; only the last look's bound is
        solved again. The recursion is scale-free in the information, so
        pass it in fixed units (e.g. events) for the prefix to be the same
        whatever the last look.

    Returns
    -------
    ndarray
        The efficacy bound of each look.

    Examples
    --------
    >>> b = spending_bounds([0.5, 1.0], [0.5, 1.0])
    >>> [round(v, 3) for v in b]  # the planned asOF design
    [2.963, 1.969]
    >>> bool(spending_bounds([0.5, 0.8], [0.625, 1.0])[1] < b[1])  # a capped trial: all alpha at 0.8
    True
    """
    if efficacy not in REACHED_FRACTION_CODES:
        raise InputError(
            f"config key `design.efficacy`: calendar looks and a maximum duration need an alpha-spending "
            f"family ({', '.join(REACHED_FRACTION_CODES)}), got {toml_value(efficacy)}"
        )
    t = np.asarray(information, dtype=float)
    s = np.minimum(np.asarray(spent, dtype=float), 1.0)
    symmetric = sided == 2
    inner = symmetric and two_sided_futility == "inner"
    alpha_cum = get_spending_function(efficacy).cumulative(s, alpha, efficacy_param, sided)
    alpha_cum = np.maximum.accumulate(np.asarray(alpha_cum, dtype=float))
    alpha_cum[-1] = alpha
    lower = np.full(t.size, -np.inf)
    if binding and futility is not None:
        lower = np.asarray(futility, dtype=float).copy()
        lower[-1] = -np.inf
    if prefix_cache is None or t.size < 2:
        return _alpha_spending_bounds(t, alpha_cum, lower, symmetric, r, inner)
    # The last interim's grid depends on the final increment (its panel width): part of the key.
    prefix_key = (prefix_key, _panel_width(t, t.size - 2, r))
    state = prefix_cache.get(prefix_key)
    if state is None:
        rec = _Recursion(t, np.zeros(t.size), r)
        interim, spent_sum = np.empty(t.size - 1), 0.0
        for k in range(t.size - 1):
            interim[k] = _efficacy_for_spend(rec, _increment(alpha_cum, k, spent_sum), symmetric)
            spent_sum += rec.above(interim[k]) + (rec.below(-interim[k]) if symmetric else 0.0)
            rec.advance_regions(_regions(interim[k], lower[k], symmetric, inner))
        state = (interim, spent_sum, rec._z, rec._g)
        prefix_cache[prefix_key] = state
    interim, spent_sum, z, g = state
    rec = _Recursion(t, np.zeros(t.size), r)
    rec.k, rec._z, rec._g = t.size - 1, z, g
    rec._set_kernel()
    final = _efficacy_for_spend(rec, _increment(alpha_cum, t.size - 1, spent_sum), symmetric)
    return np.append(interim, final)
