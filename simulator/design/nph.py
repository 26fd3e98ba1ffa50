"""Analytic survival under non-proportional hazards: events, average hazard ratio, weighted log-rank.

The model is the simulator's (:mod:`simulator.engine.patients`): entries by
a piecewise-constant accrual density, a piecewise-constant control hazard
``h_u`` of the uncured, the experimental arm's ``h_u(t) HR(t)`` with a
piecewise-constant hazard ratio, cured fractions ``pi_c``, ``pi_e``
(population survival ``S(t) = pi + (1 - pi) exp(-H_u(t))``), exponential
dropout per arm and an optional maximum follow-up per patient.

At a calendar time ``T`` the expected number at risk of an arm at time
``t`` from entry is ``y(t) = N_arm S(t) G(t) A(T - t)`` (``G`` the dropout
survival, ``A`` the accrual distribution), and its expected event rate
``y(t) h(t)``, ``h = -S'/S`` the population hazard. Every quantity below is
an integral over ``t`` in ``[0, T]`` of these, by the midpoint rule on a grid
that contains every breakpoint (:data:`STEPS` intervals between two
breakpoints), so it is exact up to the grid's O(h^2).

* :func:`expected_events`: ``D(T) = sum over arms of the integral of y h``.
* :func:`average_hazard_ratio`: gsDesign2's ``ahr()``: ``log AHR`` is the
  mean of ``log(h_e / h_c)`` weighted by the expected events of both arms
  (over the pieces, for piecewise hazards; the integral is the same thing
  with cure fractions, where the ratio changes continuously); the
  information under H1 is the sum over the pieces of the hazards (from
  entry, between the breakpoints of the control hazard and of the hazard
  ratio) of ``1 / (1 / D_c + 1 / D_e)``, each arm's expected events in the
  piece (gsDesign2's ``pw_info``), and under H0 ``D q_c q_e`` (``q`` the
  allocation fractions); the power of the log-rank test read on this scale
  is gsDesign2's (``gs_power_npe``, information on both hypotheses):
  ``Phi(sqrt(I1) (theta - z / sqrt(I0)))`` with ``theta = -log AHR`` (the
  statistic ``theta_hat sqrt(I0)``, ``theta_hat ~ N(theta, 1 / I1)``).
* :func:`weighted_logrank_moments`: the asymptotic moments of
  Fleming-Harrington scores (the log-rank is ``rho = gamma = 0``):
  mean ``integral of w y_c y_e / Y (h_c - h_e)``, variance estimate (what
  the test divides by) ``integral of w^2 y_c y_e / Y^2 (y_c h_c + y_e h_e)``
  and variance under H1 ``integral of w^2 ((y_c / Y)^2 y_e h_e + (y_e /
  Y)^2 y_c h_c)``, with ``Y = y_c + y_e`` and the weight
  ``w = S_pool^rho (1 - S_pool)^gamma`` from the limit of the pooled
  Kaplan-Meier estimate, ``S_pool = exp(-integral of (y_c h_c + y_e h_e) / Y)``
  (numerical integration in the spirit of Lakatos' Markov model, on a
  continuous grid). :func:`weighted_power` and :func:`maxcombo_power` turn
  them into power (MaxCombo: the multivariate normal of the standardised
  statistics, its critical value from the H0 correlation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from simulator.errors import InputError
from simulator.stats import distributions as dist
from simulator.stats.maxcombo import orthant_probability

__all__ = [
    "NphModel",
    "average_hazard_ratio",
    "expected_events",
    "maxcombo_power",
    "time_for_events",
    "weighted_logrank_moments",
    "weighted_power",
]

#: Midpoint-rule intervals between two breakpoints of the integrands.
STEPS = 400


@dataclass(frozen=True)
class NphModel:
    """One trial's analytic model (see the module docstring).

    ``control``: ``(times, hazards)`` of the uncured control hazard;
    ``ratio``: ``(starts, ratios)`` of the hazard ratio (one piece under
    proportional hazards); ``cured``: ``(control, experimental)``;
    ``accrual``: ``(edges, density)`` (:func:`simulator.design.survival.accrual_pieces`);
    ``dropout``: exponential hazards per arm; ``allocation``: ``(control,
    experimental)`` weights; ``n_total``: subjects; ``max_follow_up``:
    administrative censoring from entry (``inf``: none); ``strata``:
    ``(share, multiplier)`` per stratum (the control hazard of a stratum is
    ``control`` times its multiplier; empty: one stratum, multiplier 1):
    the trial's population is their mixture (:meth:`cells`).
    """

    control: tuple
    ratio: tuple
    accrual: tuple
    n_total: float
    cured: tuple = (0.0, 0.0)
    dropout: tuple = (0.0, 0.0)
    allocation: tuple = (1.0, 1.0)
    max_follow_up: float = math.inf
    strata: tuple = ()

    def cells(self) -> list:
        """One model per stratum: its share of the subjects, its control hazards times its multiplier."""
        if not self.strata:
            return [self]
        times, hazards = self.control
        return [
            NphModel(control=(tuple(times), tuple(float(h) * float(m) for h in hazards)), ratio=self.ratio,
                     accrual=self.accrual, n_total=self.n_total * float(share), cured=self.cured,
                     dropout=self.dropout, allocation=self.allocation, max_follow_up=self.max_follow_up)
            for share, m in self.strata
        ]

    def _breaks(self, horizon: float) -> np.ndarray:
        points = [0.0, horizon, *self.control[0], *self.ratio[0]]
        points += [horizon - e for e in self.accrual[0]]
        if math.isfinite(self.max_follow_up):
            points.append(self.max_follow_up)
        # Far beyond the model's own times (events "eventually": a horizon of 1e4 or 1e5 months) one segment of
        # STEPS intervals would be too coarse for hazards of months: doubling segments from 4 times its scale.
        scale = max([1.0, *self.control[0], *self.ratio[0], float(self.accrual[0][-1])]
                    + ([self.max_follow_up] if math.isfinite(self.max_follow_up) else []))
        far = 4.0 * scale
        while far < horizon:
            points.append(far)
            far *= 2.0
        points = np.unique(np.clip(np.asarray(points, dtype=float), 0.0, horizon))
        return points

    def grid(self, horizon: float):
        """Midpoints and widths of the integration grid on ``[0, horizon]``."""
        breaks = self._breaks(horizon)
        edges = np.concatenate([np.linspace(a, b, STEPS + 1)[:-1] for a, b in zip(breaks[:-1], breaks[1:])]
                               + [breaks[-1:]])
        return 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)

    def arms(self, t: np.ndarray):
        """Population hazards and survival of both arms at times ``t``: ``(h_c, s_c, h_e, s_e)``."""
        times, hazards = (np.asarray(a, dtype=float) for a in self.control)
        starts, ratios = (np.asarray(a, dtype=float) for a in self.ratio)
        piece = np.searchsorted(times, t, side="right") - 1
        cumulative = np.concatenate([[0.0], np.cumsum(hazards[:-1] * np.diff(times))])
        h_u = hazards[piece]
        big_h_c = cumulative[piece] + h_u * (t - times[piece])
        merged = np.union1d(times, starts)
        h_merged = hazards[np.searchsorted(times, merged, side="right") - 1] * \
            ratios[np.searchsorted(starts, merged, side="right") - 1]
        cum_e = np.concatenate([[0.0], np.cumsum(h_merged[:-1] * np.diff(merged))])
        piece_e = np.searchsorted(merged, t, side="right") - 1
        h_ue = h_merged[piece_e]
        big_h_e = cum_e[piece_e] + h_ue * (t - merged[piece_e])
        out = []
        for h, big_h, cure in ((h_u, big_h_c, self.cured[0]), (h_ue, big_h_e, self.cured[1])):
            uncured = (1.0 - cure) * np.exp(-big_h)
            s = cure + uncured
            # Where S underflows to 0 (no cure, far out) the population hazard is the uncured one.
            with np.errstate(invalid="ignore", divide="ignore"):
                out += [np.where(s > 0, h * uncured / s, h), s]
        return tuple(out)

    def accrued(self, t: np.ndarray) -> np.ndarray:
        """The accrual distribution function ``A(t)`` (0 before 0, 1 after the end)."""
        edges, density = (np.asarray(a, dtype=float) for a in self.accrual)
        mass = np.concatenate([[0.0], np.cumsum(density * np.diff(edges))])
        return np.interp(t, edges, mass / mass[-1], left=0.0, right=1.0)

    def at_risk(self, calendar_time: float):
        """Grid midpoints, widths, and per arm the expected at risk ``y`` and hazard ``h``.

        With strata, the population's: at risk summed over the strata, the
        hazard their at-risk-weighted mean (the rate at which the arm's
        subjects at risk have events).
        """
        if not calendar_time > 0:
            raise InputError("`calendar_time` must be > 0")
        if self.strata:
            parts = [cell.at_risk(calendar_time) for cell in self.cells()]
            t, dt = parts[0][0], parts[0][1]
            y_c = sum(part[2] for part in parts)
            y_e = sum(part[4] for part in parts)
            with np.errstate(invalid="ignore", divide="ignore"):
                h_c = np.where(y_c > 0, sum(part[2] * part[3] for part in parts) / y_c, parts[0][3])
                h_e = np.where(y_e > 0, sum(part[4] * part[5] for part in parts) / y_e, parts[0][5])
            return t, dt, y_c, h_c, y_e, h_e
        t, dt = self.grid(float(calendar_time))
        h_c, s_c, h_e, s_e = self.arms(t)
        q_c, q_e = (float(a) / sum(self.allocation) for a in self.allocation)
        entered = self.accrued(calendar_time - t) * (t < self.max_follow_up)
        y_c = self.n_total * q_c * s_c * np.exp(-self.dropout[0] * t) * entered
        y_e = self.n_total * q_e * s_e * np.exp(-self.dropout[1] * t) * entered
        return t, dt, y_c, h_c, y_e, h_e


def expected_events(model: NphModel, calendar_time: float) -> tuple[float, float]:
    """Expected events per arm ``(control, experimental)`` by ``calendar_time``.

    >>> m = NphModel(control=([0.0], [math.log(2) / 12]), ratio=([0.0], [1.0]), accrual=([0.0, 24.0], [1 / 24]),
    ...              n_total=500)
    >>> round(sum(expected_events(m, 1e4)), 2)  # everyone, eventually (midpoint rule: within 1e-5)
    500.0
    """
    _, dt, y_c, h_c, y_e, h_e = model.at_risk(calendar_time)
    return float(np.sum(y_c * h_c * dt)), float(np.sum(y_e * h_e * dt))


#: The calendar time (months) beyond which events are taken as never expected.
HORIZON = 1e5


def time_for_events(model: NphModel, events: float) -> float:
    """The calendar time at which ``events`` are expected (InputError if never, before :data:`HORIZON`)."""
    horizon = 1.0
    while sum(expected_events(model, horizon)) < events:
        horizon *= 2.0
        if horizon > HORIZON:
            raise InputError(f"{events:g} events are never expected with these subjects, hazards and cure fractions")
    return float(optimize.brentq(lambda t: sum(expected_events(model, t)) - events, 1e-9, horizon, xtol=1e-10))


@dataclass(frozen=True)
class AverageHazardRatio:
    """gsDesign2's ``ahr()`` at one calendar time (see the module docstring)."""

    time: float
    events: float
    ahr: float
    info: float
    info0: float

    def power(self, alpha: float, sided: int = 1) -> float:
        """Log-rank power on the AHR scale, gsDesign2's ``Phi(sqrt(I1) (theta - z / sqrt(I0)))``."""
        theta = -math.log(self.ahr)
        z = dist.norm.isf(alpha / sided)
        return float(dist.norm.cdf(math.sqrt(self.info) * (theta - z / math.sqrt(self.info0))))


def average_hazard_ratio(model: NphModel, calendar_time: float) -> AverageHazardRatio:
    """The average hazard ratio, expected events and information at ``calendar_time``.

    With strata, gsDesign2's stratified ``ahr()``: the log hazard ratios
    weighted by the events of every stratum and piece, the information
    summed over them.
    """
    if model.strata:
        parts = [average_hazard_ratio(cell, calendar_time) for cell in model.cells()]
        events = sum(part.events for part in parts)
        log_ahr = sum(part.events * math.log(part.ahr) for part in parts) / events
        return AverageHazardRatio(float(calendar_time), events, math.exp(log_ahr), sum(part.info for part in parts),
                                  sum(part.info0 for part in parts))
    t, dt, y_c, h_c, y_e, h_e = model.at_risk(calendar_time)
    d_c, d_e = y_c * h_c * dt, y_e * h_e * dt
    total = d_c + d_e
    keep = (h_c > 0) & (h_e > 0) & (total > 0)
    events = float(total.sum())
    log_ahr = float(np.sum(np.log(h_e[keep] / h_c[keep]) * total[keep]) / events)
    # The pieces of the hazards from entry: the grid holds their breakpoints, so each grid interval
    # lies in one piece.
    breaks = np.union1d(model.control[0], model.ratio[0])
    piece = np.searchsorted(breaks, t, side="right") - 1
    per_c = np.bincount(piece, weights=d_c, minlength=breaks.size)
    per_e = np.bincount(piece, weights=d_e, minlength=breaks.size)
    both = (per_c > 0) & (per_e > 0)
    info = float(np.sum(per_c[both] * per_e[both] / (per_c[both] + per_e[both])))
    q_c, q_e = (float(a) / sum(model.allocation) for a in model.allocation)
    return AverageHazardRatio(float(calendar_time), events, math.exp(log_ahr), info, events * q_c * q_e)


@dataclass(frozen=True)
class WeightedMoments:
    """Asymptotic moments of Fleming-Harrington scores at one calendar time, one row per ``(rho, gamma)``.

    ``mean``: expected score; ``cov0``: the covariance the test estimates
    (its variances standardise each statistic); ``cov1``: the covariance
    under the alternative. ``z_mean = mean / sqrt(diag(cov0))``.
    """

    weights: tuple
    mean: np.ndarray
    cov0: np.ndarray
    cov1: np.ndarray

    @property
    def z_mean(self) -> np.ndarray:
        return self.mean / np.sqrt(np.diag(self.cov0))

    @property
    def z_cov(self) -> np.ndarray:
        """Covariance of the standardised statistics under the alternative."""
        sd = np.sqrt(np.diag(self.cov0))
        return self.cov1 / np.outer(sd, sd)

    @property
    def corr0(self) -> np.ndarray:
        sd = np.sqrt(np.diag(self.cov0))
        return self.cov0 / np.outer(sd, sd)


def weighted_logrank_moments(model: NphModel, calendar_time: float, weights, stratified=False) -> WeightedMoments:
    """Moments of the Fleming-Harrington scores ``weights`` (rows ``(rho, gamma)``) at ``calendar_time``.

    With strata, of the unstratified statistics on the population (the
    mixture of :meth:`NphModel.at_risk`), or with ``stratified`` of the
    stratified ones: each stratum's scores, with its own pooled
    Kaplan-Meier weights, summed (independent strata, so means and
    covariances add).
    """
    weights = tuple((float(r), float(g)) for r, g in weights)
    if stratified and model.strata:
        parts = [weighted_logrank_moments(cell, calendar_time, weights) for cell in model.cells()]
        return WeightedMoments(weights, sum(p.mean for p in parts), sum(p.cov0 for p in parts),
                               sum(p.cov1 for p in parts))
    _, dt, y_c, h_c, y_e, h_e = model.at_risk(calendar_time)
    big_y = y_c + y_e
    inside = big_y > 0
    safe = np.where(inside, big_y, 1.0)
    pooled_rate = np.where(inside, (y_c * h_c + y_e * h_e) / safe, 0.0)
    # S_pool just before each midpoint: the integral up to the interval's start plus half of it (left limit
    # at the midpoint; the midpoint rule's own point).
    cumulative = np.cumsum(pooled_rate * dt) - 0.5 * pooled_rate * dt
    s_pool = np.exp(-cumulative)
    w = np.array([s_pool**rho * (1.0 - s_pool) ** gamma for rho, gamma in weights])
    share = np.where(inside, y_c * y_e / safe, 0.0)
    mean = (w * share * (h_c - h_e) * dt).sum(axis=1)
    v0 = np.where(inside, y_c * y_e / safe**2 * (y_c * h_c + y_e * h_e), 0.0) * dt
    v1 = np.where(inside, ((y_c / safe) ** 2 * y_e * h_e + (y_e / safe) ** 2 * y_c * h_c), 0.0) * dt
    cov0 = (w[:, None, :] * w[None, :, :] * v0).sum(axis=2)
    cov1 = (w[:, None, :] * w[None, :, :] * v1).sum(axis=2)
    return WeightedMoments(weights, mean, cov0, cov1)


def weighted_power(moments: WeightedMoments, alpha: float, sided: int = 1, row: int = 0) -> float:
    """Power of one weighted log-rank test (favourable rejections), ``Phi((mu - z sigma0) / sigma1)``."""
    z = dist.norm.isf(alpha / sided)
    mu = float(moments.mean[row])
    sd0 = math.sqrt(float(moments.cov0[row, row]))
    sd1 = math.sqrt(float(moments.cov1[row, row]))
    return float(dist.norm.cdf((mu - z * sd0) / sd1))


def maxcombo_power(moments: WeightedMoments, alpha: float, sided: int = 1) -> tuple[float, float]:
    """MaxCombo power and its critical value on the z scale (one-sided level ``alpha / sided``).

    The critical value ``c`` solves ``P(max Z <= c) = 1 - alpha / sided`` for
    ``Z ~ N(0, R0)``; the power is ``1 - P(max Z <= c)`` for the
    standardised statistics' normal law under the alternative. Both
    probabilities are the compiled, deterministic integral of
    :func:`simulator.stats.maxcombo.orthant_probability` (singular
    correlations allowed: the default four statistics are linearly
    dependent).
    """
    m = len(moments.weights)
    corr0 = moments.corr0
    level = alpha / sided
    critical = float(optimize.brentq(lambda c: 1.0 - orthant_probability(np.full(m, c), corr0) - level,
                                     dist.norm.isf(level) - 1e-6, dist.norm.isf(level / m) + 1e-6, xtol=1e-7))
    cov = moments.z_cov
    sd = np.sqrt(np.diag(cov))
    limits = (critical - moments.z_mean) / sd
    return float(1.0 - orthant_probability(limits, cov / np.outer(sd, sd))), critical
