"""Power and sample size for a difference of two means (rpact's ``getSampleSizeMeans``/``getPowerMeans``).

Notation: ``delta`` is the oriented effect minus its null value,
``theta - theta0`` (positive favours the experimental arm; ``theta0 =
-margin`` for non-inferiority), ``sd_c`` and ``sd_e`` the outcome SDs (after
any ANCOVA reduction by ``1 - rho^2``), ``n_c`` and ``n_e`` the patients per
arm (continuous, as rpact sizes them).

- ``z``: the standard error is known, ``se = sqrt(sd_c^2 / n_c + sd_e^2 / n_e)``;
  power ``Phi(delta / se - z_{1 - alpha/sided})``.
- ``t`` (Student, pooled variance): exactly noncentral t when the SDs are
  equal, ``df = n_c + n_e - 2`` (one less with a baseline covariate),
  noncentrality ``delta / se``; power ``1 - F_{t, df, ncp}(t_{1 - alpha/sided, df})``.
  rpact's ``normalApproximation = FALSE``. With unequal SDs the statistic
  divides by the pooled SD, whose square estimates ``sd_p^2 = ((n_c - 1)
  sd_c^2 + (n_e - 1) sd_e^2) / (n_c + n_e - 2)``: it is ``k`` times a
  noncentral t with ``k = se / (sd_p sqrt(1/n_c + 1/n_e))``, taking the
  pooled variance as a scaled chi-square with Satterthwaite's df ``f``
  (:func:`pooled_t_scale`), so the power is ``1 - F_{t, f, ncp}(t_{1 -
  alpha/sided, df} / k)``, exact again at equal SDs (``k = 1``, ``f = df``).
- ``welch``: the same noncentral t with the Satterthwaite degrees of freedom
  at the true SDs (an approximation; rpact has no Welch sizing, the tests
  validate it by simulation).

Only the favourable tail counts as power (the other tail of a two-sided
test is a rejection in the wrong direction); at any effect worth sizing for
it adds less than 1e-8. Sizes solve power = target for the total N with
``n_c = N a_C / (a_C + a_E)`` and ``n_e = N a_E / (a_C + a_E)``.
"""

from __future__ import annotations

import math

from scipy import optimize

from simulator.stats import distributions as dist

__all__ = ["degrees_of_freedom", "pooled_t_scale", "power_means", "sample_size_means", "statistic_se"]


def pooled_t_scale(n_c: float, n_e: float, sd_c: float, sd_e: float, covariate: bool = False) -> tuple[float, float]:
    """``(k, f)`` of the pooled t at unequal SDs (module docstring): the statistic is ``k`` times a
    noncentral t with ``f`` df. ``(1, n_c + n_e - 2 - covariate)`` at equal SDs.

    >>> pooled_t_scale(20, 60, 12, 12)
    (1.0, 78.0)
    >>> k, f = pooled_t_scale(20, 60, 6, 12)
    >>> round(k, 4), round(f, 2)
    (0.7316, 67.52)
    """
    df = float(n_c + n_e - 2 - (1 if covariate else 0))
    if sd_c == sd_e:
        return 1.0, df
    a, b = (n_c - 1) * sd_c**2, (n_e - 1) * sd_e**2
    pooled = (a + b) / (n_c + n_e - 2)
    k = math.sqrt(sd_c**2 / n_c + sd_e**2 / n_e) / math.sqrt(pooled * (1.0 / n_c + 1.0 / n_e))
    f = (a + b) ** 2 / (a * sd_c**2 + b * sd_e**2) - (1 if covariate else 0)
    return float(k), float(f)


def statistic_se(test: str, n_c: float, n_e: float, sd_c: float, sd_e: float) -> float:
    """The standard error the test's statistic divides by, at the SDs given: the pooled SD's for ``t``
    (``sd_p sqrt(1/n_c + 1/n_e)``), ``sqrt(sd_c^2 / n_c + sd_e^2 / n_e)`` otherwise (equal at equal SDs)."""
    if test == "t" and sd_c != sd_e:
        pooled = ((n_c - 1) * sd_c**2 + (n_e - 1) * sd_e**2) / (n_c + n_e - 2)
        return math.sqrt(pooled * (1.0 / n_c + 1.0 / n_e))
    return math.sqrt(sd_c**2 / n_c + sd_e**2 / n_e)


def degrees_of_freedom(test: str, n_c: float, n_e: float, sd_c: float, sd_e: float, covariate: bool = False) -> float:
    """Degrees of freedom of the test's t distribution (``inf`` for ``z``).

    Examples
    --------
    >>> degrees_of_freedom("t", 100, 100, 12, 12)
    198.0
    >>> round(degrees_of_freedom("welch", 100, 100, 3, 1), 2)
    120.73
    """
    if test == "z":
        return math.inf
    if test == "t":
        return float(n_c + n_e - 2 - (1 if covariate else 0))
    v_c, v_e = sd_c**2 / n_c, sd_e**2 / n_e
    df = (v_c + v_e) ** 2 / (v_c**2 / (n_c - 1) + v_e**2 / (n_e - 1))
    return float(df - (1 if covariate else 0))


def power_means(
    test: str, delta: float, sd_c: float, sd_e: float, n_c: float, n_e: float, alpha: float, sided: int,
    covariate: bool = False,
) -> float:
    """Probability of a favourable rejection of the fixed design.

    Examples
    --------
    >>> round(power_means("t", 5.0, 12.0, 12.0, 100, 100, 0.025, 1), 5)  # rpact getPowerMeans: 0.83447
    0.83447
    """
    se = math.sqrt(sd_c**2 / n_c + sd_e**2 / n_e)
    ncp = delta / se
    df = degrees_of_freedom(test, n_c, n_e, sd_c, sd_e, covariate)
    if math.isinf(df):
        return float(dist.norm.sf(dist.norm.isf(alpha / sided) - ncp))
    from scipy import stats  # Student's t (scipy.stats is imported where it is needed: simulator.stats.distributions)

    critical = stats.t.isf(alpha / sided, df)
    k, f = pooled_t_scale(n_c, n_e, sd_c, sd_e, covariate) if test == "t" else (1.0, df)
    power = float(stats.nct.sf(critical / k, f, ncp))
    if not math.isfinite(power):
        # scipy's noncentral t fails (NaN) at an extreme noncentrality (SDs tiny beside the difference),
        # where the power is 0 or 1 to double precision.
        return 1.0 if ncp > critical / k else 0.0
    return power


def smallest_t_size(allocation: tuple[int, int], covariate: bool) -> float:
    """The smallest total :func:`sample_size_means` returns for a t test: 3 patients in the smaller arm (4 with a
    covariate), where its degrees of freedom are still several; a size for ``power`` below it is returned as it."""
    a_c, a_e = allocation
    return (3.0 + covariate) / (min(a_c, a_e) / (a_c + a_e))


def sample_size_means(
    test: str, delta: float, sd_c: float, sd_e: float, alpha: float, sided: int, power: float,
    allocation: tuple[int, int] = (1, 1), covariate: bool = False,
) -> float:
    """Total patients (continuous) for ``power`` at ``delta > 0``.

    Examples
    --------
    >>> round(sample_size_means("z", 5.0, 12.0, 12.0, 0.025, 1, 0.9), 3)  # rpact, normal approximation
    242.091
    >>> round(sample_size_means("t", 5.0, 12.0, 12.0, 0.025, 1, 0.9), 3)  # rpact: 244.028
    244.028
    """
    a_c, a_e = allocation
    f_c, f_e = a_c / (a_c + a_e), a_e / (a_c + a_e)
    z_total = dist.norm.isf(alpha / sided) + dist.norm.isf(1.0 - power)
    normal = z_total**2 * (sd_c**2 / f_c + sd_e**2 / f_e) / delta**2
    if test == "z":
        return float(normal)

    def gap(n_total: float) -> float:
        return power_means(test, delta, sd_c, sd_e, n_total * f_c, n_total * f_e, alpha, sided, covariate) - power

    floor = smallest_t_size(allocation, covariate)
    low = max(normal, floor)
    while gap(low) > 0 and low > floor:
        low = max(low / 1.5, floor)
    high = low * 1.5 + 10.0
    while gap(high) < 0:
        high *= 2.0
    if gap(low) >= 0:
        return float(low)
    return float(optimize.brentq(gap, low, high, xtol=1e-10, rtol=1e-14))
