"""Phase 2 evidence -> prior distributions of the true effects.

A binary arm's phase 2 result (``events`` out of ``n``) becomes a power prior
on its true rate: Beta(a + a0 * x, b + a0 * (n - x)) on top of a base
Beta(a, b), where ``a0 = discount`` says how much the phase 2 counts are
believed to carry over (1 = fully, 0 = not at all).  A robust mixture puts
weight ``robust_weight`` on a vague Beta(1, 1), so that a phase 3 population
unlike the phase 2 one is not ruled out (Schmidli et al., 2014).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import integrate

from simulator.stats import distributions as dist

VAGUE = (1.0, 1.0)


@dataclass(frozen=True)
class ArmCounts:
    """Phase 2 data of one arm: ``events`` out of ``n`` patients."""

    events: float
    n: float


@dataclass(frozen=True)
class BetaMixture:
    """A finite mixture of Beta distributions on a rate.

    Examples
    --------
    >>> prior = BetaMixture(weights=(1.0,), a=(9.0,), b=(30.0,))
    >>> round(prior.mean(), 4)
    0.2308
    """

    weights: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]

    def mean(self) -> float:
        return float(sum(w * a / (a + b) for w, a, b in zip(self.weights, self.a, self.b)))

    def flipped(self) -> BetaMixture:
        """The distribution of 1 - p (used to orient harms so higher is better)."""
        return BetaMixture(self.weights, self.b, self.a)

    def pdf(self, p):
        return sum(w * dist.beta.pdf(p, a, b) for w, a, b in zip(self.weights, self.a, self.b))

    def cdf(self, p):
        return sum(w * dist.beta.cdf(p, a, b) for w, a, b in zip(self.weights, self.a, self.b))

    def predictive_pmf(self, n: int) -> np.ndarray:
        """Prior predictive distribution of the event count among ``n`` patients."""
        x = np.arange(n + 1)
        return sum(w * dist.betabinom.pmf(x, n, a, b) for w, a, b in zip(self.weights, self.a, self.b))

    def as_kernel_array(self) -> np.ndarray:
        """``[w_vague, a, b, a_vague, b_vague]``: the layout the Numba kernels draw from."""
        if len(self.weights) == 1:
            return np.array([0.0, self.a[0], self.b[0], 1.0, 1.0])
        return np.array([self.weights[1], self.a[0], self.b[0], self.a[1], self.b[1]])


def beta_from_counts(counts: ArmCounts, base: tuple[float, float], discount: float, robust_weight: float) -> BetaMixture:
    """Power prior from one arm's phase 2 counts, with an optional robust component.

    Parameters
    ----------
    counts : ArmCounts
        Phase 2 ``events`` and ``n`` of the arm.
    base : (float, float)
        Base Beta(a, b) before the phase 2 data.
    discount : float
        Power-prior weight ``a0`` in [0, 1].
    robust_weight : float
        Weight of the vague Beta(1, 1) component in [0, 1].

    Examples
    --------
    >>> beta_from_counts(ArmCounts(8, 37), (1.0, 1.0), 1.0, 0.0)
    BetaMixture(weights=(1.0,), a=(9.0,), b=(30.0,))
    """
    a = base[0] + discount * counts.events
    b = base[1] + discount * (counts.n - counts.events)
    if robust_weight == 0.0:
        return BetaMixture((1.0,), (a,), (b,))
    return BetaMixture((1.0 - robust_weight, robust_weight), (a, VAGUE[0]), (b, VAGUE[1]))


def binary_priors(prior) -> tuple[BetaMixture, BetaMixture]:
    """(control, experimental) prior mixtures on the natural scale.

    ``prior`` is a binary endpoint's validated prior
    (:class:`simulator.endpoints.binary_spec.BinaryPrior`).
    """
    make = lambda counts: beta_from_counts(counts, prior.base, prior.discount, prior.robust_weight)  # noqa: E731
    return make(prior.control), make(prior.experimental)


@functools.lru_cache(maxsize=256)
def prob_difference_above(control: BetaMixture, experimental: BetaMixture, theta0: float) -> float:
    """P(p_E - p_C > theta0) for independent priors, by numerical integration.

    Cached: every scenario of a sweep over other keys has the same priors (an
    integral costs about 30 ms of scalar density calls).

    On the oriented scale (higher is better) this is the prior probability
    that the alternative is true: the ceiling of assurance, since a test can
    only succeed more often than that by a type I error.
    """

    def integrand(p):
        return experimental.pdf(p) * control.cdf(p - theta0)

    lower = max(0.0, theta0)
    # Beta densities can be sharply peaked (phase 2 counts of 10^7 give a peak 1e-4 wide, which quad's nodes over
    # [lower, 1] step over): break points at the modes, and at each component's mean plus some standard deviations,
    # the control's shifted by theta0, so that every peak and every step of the integrand has nodes on it. Only
    # where every component's density is bounded (a, b >= 1): one with a parameter below 1 piles its mass against 0
    # or 1, closer than doubles resolve, where such points made quad's answer worse (a code review: 1.0 for 0.5
    # between two Beta(101, 0.01), with or without a vague part); there the modes alone, as before.
    modes = [min(max((a - 1) / (a + b - 2), 0.0), 1.0) if a + b > 2 else 0.5 for a, b in zip(experimental.a, experimental.b)]
    bounded = min(experimental.a + experimental.b + control.a + control.b) >= 1.0
    spread = [(a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0))), 0.0)
              for a, b in zip(experimental.a, experimental.b)]
    spread += [(a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0))), theta0) for a, b in zip(control.a, control.b)]
    around = [mean + shift + k * sd for mean, sd, shift in spread for k in _SPREAD] if bounded else []
    points = sorted({float(m) for m in modes + around if lower < m < 1.0})
    with warnings.catch_warnings():
        # An unbounded density (a parameter far below 1) keeps quad from its 1e-10 and it says so; its answer is
        # still good to far more than the digits reported (a fuzzing review: base 0.001 gave 0.9999980 against a
        # Monte Carlo 0.9999988 +- 0.0000006), so the warning is not the user's.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(integrand, lower, 1.0, points=points or None, limit=50 * (len(points) + 4),
                                  epsabs=1e-11, epsrel=1e-10)
    return float(min(max(value, 0.0), 1.0))


#: How close to 0 or 1 a rate must lie for double precision not to tell it from the end (1 - 1e-15 is 7 ulp from 1).
UNRESOLVED = 1e-15


def unresolved_mass(prior: BetaMixture) -> float:
    """The prior probability that the rate lies within :data:`UNRESOLVED` of 0 or of 1.

    A Beta parameter far below 1 (a small ``base`` with few phase 2 events
    or non-events) piles mass there, where :func:`prob_difference_above`
    cannot resolve the rates, and its answer may be off (a code review: 1.0
    for 0.5 between two Beta(101, 0.01)).
    """
    return float(sum(w * (dist.beta.cdf(UNRESOLVED, a, b) + dist.beta.cdf(UNRESOLVED, b, a))
                     for w, a, b in zip(prior.weights, prior.a, prior.b)))


#: Standard deviations from each prior component's mean at which :func:`prob_difference_above` breaks its integral.
_SPREAD = (-12.0, -6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0, 12.0)
