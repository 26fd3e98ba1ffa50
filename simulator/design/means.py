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

__all__ = ["covariate_average", "degrees_of_freedom", "pooled_t_scale", "power_means", "sample_size_means", "statistic_se"]


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
        critical = dist.norm.isf(alpha / sided)
        conditional = lambda shift: float(dist.norm.sf(critical - shift))  # noqa: E731
    else:
        # Student's t (scipy.stats is imported where it is needed: simulator.stats.distributions).
        from scipy import stats

        critical = stats.t.isf(alpha / sided, df)
        k, f = pooled_t_scale(n_c, n_e, sd_c, sd_e, covariate) if test == "t" else (1.0, df)

        def conditional(shift: float) -> float:
            power = float(stats.nct.sf(critical / k, f, shift))
            if not math.isfinite(power):
                # scipy's noncentral t fails (NaN) at an extreme noncentrality (SDs tiny beside the difference),
                # where the power is 0 or 1 to double precision.
                return 1.0 if shift > critical / k else 0.0
            return power

    if not covariate:
        return conditional(ncp)
    return covariate_average(conditional, ncp, n_c + n_e)


def covariate_average(conditional, ncp: float, n_total: float) -> float:
    """``E[conditional(ncp / sqrt(1 + W))]`` over the chance imbalance ``W`` of a baseline covariate.

    With a standard-normal covariate independent of the arm, the ANCOVA's
    adjusted difference has, given the covariates, the variance ``sigma^2
    (1/n_C + 1/n_E) (1 + W)``, ``W = dbar^2 / ((1/n_C + 1/n_E) S_xx)``
    (``dbar`` the difference of the arms' covariate means, ``S_xx`` their
    pooled within-arm sum of squares), with ``(N - 2) W ~ F(1, N - 2)``;
    the residual sum of squares does not depend on the covariates. So
    ``B = W / (1 + W) ~ Beta(1/2, (N - 2)/2)``, and with ``B = sin^2 theta``
    the average is ``2 / Beta(1/2, m) * integral_0^{pi/2} conditional(ncp cos
    theta) cos^{2m - 1} theta d theta``, ``m = (N - 2)/2``: a smooth
    integrand on a bounded range (adaptive quadrature, within 1e-10).

    Parameters
    ----------
    conditional : callable
        The power at a noncentrality (the test's power given the covariates).
    ncp : float
        The noncentrality without imbalance, ``delta / (sigma sqrt(1/n_C + 1/n_E))``.
    n_total : float
        ``n_C + n_E`` (continuous, as sizes are solved).

    Returns
    -------
    float
        The power averaged over the covariate's imbalance.

    Examples
    --------
    >>> round(covariate_average(lambda shift: 0.3, 2.0, 20), 12)  # a constant averages to itself
    0.3
    """
    from scipy import integrate, special

    m = 0.5 * (n_total - 2.0)
    # cos^(2m-1) is below 1e-300 beyond theta = 40 / sqrt(2m - 1) (exp(-800)): the range shrinks with N so
    # that the quadrature sees the peak at 0.
    top = min(0.5 * math.pi, 40.0 / math.sqrt(max(2.0 * m - 1.0, 1.0)))
    log_norm = math.log(2.0) - special.betaln(0.5, m)

    def integrand(theta: float) -> float:
        c = math.cos(theta)
        return conditional(ncp * c) * math.exp(log_norm + (2.0 * m - 1.0) * math.log(c)) if c > 0 else 0.0

    value = integrate.quad(integrand, 0.0, top, epsabs=1e-12, epsrel=1e-12, limit=200)[0]
    return float(min(max(value, 0.0), 1.0))


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
    if test == "z" and not covariate:
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
