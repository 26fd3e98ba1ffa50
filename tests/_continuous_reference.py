"""Independent reference formulas for continuous (difference-of-means) endpoints.

Written from textbook definitions with scipy only; nothing here imports the
simulator.  Conventions (issue 16): the effect is delta = mean_E - mean_C on
the oriented scale (positive favours the experimental arm), ``margin`` >= 0
shifts the null to delta = -margin, and power counts favourable rejections
only.

* Student's t (pooled variance, common SD sigma): under delta the statistic
  T = (dbar + margin) / (s_p sqrt(1/n_C + 1/n_E)) is noncentral t with
  df = n_C + n_E - 2 and noncentrality (delta + margin) / (sigma sqrt(1/n_C + 1/n_E)).
* z (known variance): Phi((delta + margin) / se - z_{1 - alpha / sided}).
* ANCOVA (rho): sigma^2 -> sigma^2 (1 - rho^2), df - 1, and the noncentrality
  divided by sqrt(1 + V / (N - 2)) for the covariate's chance imbalance,
  V ~ F(1, N - 2), averaged by quadrature over V's density (u = sqrt(V)).
* Welch and Student's t with unequal SDs: the exact rejection probability by
  numerical integration over the two independent sample variances
  (s_i^2 (n_i - 1) / sigma_i^2 ~ chi^2_{n_i - 1}), Gauss-Legendre on the
  probability scale of each chi-square.
* Group-sequential z: crossing probabilities of the canonical process from
  scipy's multivariate normal CDF.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate, optimize, stats


def per_arm(n_total: float, allocation=(1, 1)) -> tuple[float, float]:
    """Unrounded arm sizes of a total (for the analytic sample sizes)."""
    a_c, a_e = allocation
    return n_total * a_c / (a_c + a_e), n_total * a_e / (a_c + a_e)


def t_power(delta, sd, n_c, n_e, alpha=0.025, sided=1, margin=0.0, rho=0.0):
    """Exact power of Student's t test (favourable tail), common SD."""
    df = n_c + n_e - 2 - (1 if rho != 0.0 else 0)
    se = sd * np.sqrt(1.0 - rho**2) * np.sqrt(1.0 / n_c + 1.0 / n_e)
    ncp = (np.asarray(delta, dtype=float) + margin) / se
    crit = stats.t.ppf(1.0 - alpha / sided, df)
    if rho == 0.0:
        return stats.nct.sf(crit, df, ncp)
    m = n_c + n_e - 2
    if np.all(stats.nct.sf(crit, df, ncp / np.sqrt(1.0 + stats.f.isf(1e-15, 1, m) / m)) == 1.0):
        return np.ones_like(ncp)  # power 1 to double precision at every imbalance but the 1e-15 largest

    def averaged(shift):
        # E over V ~ F(1, m) of the noncentral t power at shift / sqrt(1 + V / m); V = u^2 removes the
        # density's u^-1 singularity at 0.
        def integrand(u):
            return stats.nct.sf(crit, df, shift / np.sqrt(1.0 + u * u / m)) * stats.f.pdf(u * u, 1, m) * 2.0 * u
        # Beyond V's 1 - 1e-15 quantile the integrand (at most the density) adds under 1e-15.
        top = np.sqrt(stats.f.isf(1e-15, 1, m))
        return integrate.quad(integrand, 0.0, top, epsabs=1e-11, epsrel=1e-10, limit=400)[0]

    return np.vectorize(averaged)(ncp)


def z_power(delta, sd, n_c, n_e, alpha=0.025, sided=1, margin=0.0, rho=0.0):
    """Power of the z test (favourable tail), known SD; with a covariate (``rho``) the ANCOVA's z, whose
    noncentrality given the covariates is ``ncp / sqrt(1 + V / m)``, ``V ~ F(1, m)``, ``m = N - 2``,
    averaged over ``V`` by quadrature on ``V = u^2`` (as :func:`t_power`)."""
    se = sd * np.sqrt(1.0 - rho**2) * np.sqrt(1.0 / n_c + 1.0 / n_e)
    ncp = (np.asarray(delta, dtype=float) + margin) / se
    crit = stats.norm.ppf(1.0 - alpha / sided)
    if rho == 0.0:
        return stats.norm.cdf(ncp - crit)
    m = n_c + n_e - 2

    def averaged(shift):
        def integrand(u):
            return stats.norm.cdf(shift / np.sqrt(1.0 + u * u / m) - crit) * stats.f.pdf(u * u, 1, m) * 2.0 * u
        top = np.sqrt(stats.f.isf(1e-15, 1, m))
        # At large N the density sits in a sliver near 0 and quad reports roundoff at its tolerance; the
        # value still agrees with the package's own quadrature (another variable) to 1e-9.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            return integrate.quad(integrand, 0.0, top, epsabs=1e-11, epsrel=1e-10, limit=400)[0]

    return np.vectorize(averaged)(ncp)


def t_sample_size(delta, sd, power, alpha=0.025, sided=1, margin=0.0, allocation=(1, 1), rho=0.0):
    """Total N (unrounded, continuous arm sizes) at which the t power equals ``power``."""

    def gap(n):
        n_c, n_e = per_arm(n, allocation)
        return t_power(delta, sd, n_c, n_e, alpha, sided, margin, rho) - power

    return optimize.brentq(gap, 6.0, 1e7, xtol=1e-10, rtol=1e-14)


def z_sample_size(delta, sd, power, alpha=0.025, sided=1, margin=0.0, allocation=(1, 1), rho=0.0):
    if rho != 0.0:
        def gap(n):
            n_c, n_e = per_arm(n, allocation)
            return z_power(delta, sd, n_c, n_e, alpha, sided, margin, rho) - power

        return optimize.brentq(gap, 4.0, 1e7, xtol=1e-10, rtol=1e-14)
    a_c, a_e = allocation
    k = (a_c + a_e) ** 2 / (a_c * a_e)  # N (1/n_C + 1/n_E) = k
    z = stats.norm.ppf(1.0 - alpha / sided) + stats.norm.ppf(power)
    return k * (z * sd / (delta + margin)) ** 2


def rounded_up_per_arm(n_total, allocation=(1, 1)) -> int:
    """Sizes for a power target are rounded up per arm (docs/conventions.md)."""
    n_c, n_e = per_arm(n_total, allocation)
    return int(np.ceil(n_c - 1e-9) + np.ceil(n_e - 1e-9))


# ---------------------------------------------------------------- unequal variances, exact by quadrature

def _chi2_nodes(df: int, m: int):
    """Gauss-Legendre nodes on the probability scale of chi^2_df: E f(X) = sum w f(x)."""
    u, w = np.polynomial.legendre.leggauss(m)
    u = 0.5 * (u + 1.0)
    return stats.chi2.ppf(u, df), 0.5 * w


def rejection_unequal_sd(test, delta, sd_c, sd_e, n_c, n_e, alpha=0.025, margin=0.0, m=400):
    """P(reject favourably) of the one-sided Welch or Student t test, arbitrary SDs, exact up to quadrature.

    Given both sample variances, dbar ~ N(delta, sd_c^2/n_c + sd_e^2/n_e) is
    independent of them, so the conditional rejection probability is a normal
    tail; it is averaged over the two chi-squares.
    """
    x_c, w_c = _chi2_nodes(n_c - 1, m)
    x_e, w_e = _chi2_nodes(n_e - 1, m)
    s2_c = (sd_c**2 * x_c / (n_c - 1))[:, None]
    s2_e = (sd_e**2 * x_e / (n_e - 1))[None, :]
    sd_d = np.sqrt(sd_c**2 / n_c + sd_e**2 / n_e)
    if test == "welch":
        v_c, v_e = s2_c / n_c, s2_e / n_e
        se = np.sqrt(v_c + v_e)
        df = (v_c + v_e) ** 2 / (v_c**2 / (n_c - 1) + v_e**2 / (n_e - 1))
    elif test == "t":
        sp2 = ((n_c - 1) * s2_c + (n_e - 1) * s2_e) / (n_c + n_e - 2)
        se = np.sqrt(sp2 * (1.0 / n_c + 1.0 / n_e))
        df = np.full_like(se, n_c + n_e - 2)
    else:
        raise ValueError(test)
    crit = stats.t.ppf(1.0 - alpha, df)
    # reject when dbar + margin >= crit * se
    p = stats.norm.sf((crit * se - margin - delta) / sd_d)
    return float(w_c @ p @ w_e)


# ---------------------------------------------------------------- assurance

def normal_prior(prior_c, prior_e, discount=1.0):
    """Mean and SD of the normal prior of delta from phase 2 (mean, sd, n) per arm."""
    mean = prior_e["mean"] - prior_c["mean"]
    var = prior_e["sd"] ** 2 / (discount * prior_e["n"]) + prior_c["sd"] ** 2 / (discount * prior_c["n"])
    return mean, float(np.sqrt(var))


def assurance(power_of_delta, mean, sd, robust_weight=0.0, sigma2=None, sign=1.0):
    """E[power(delta)] over (1 - w) N(mean, sd^2) + w N(0, 2 sigma2), by scipy.integrate.quad.

    ``sign`` = -1 for better = "lower": the prior is on the natural scale and
    power_of_delta takes the oriented effect.
    """

    def component(mu, s):
        f = lambda d: power_of_delta(sign * d) * stats.norm.pdf(d, mu, s)  # noqa: E731
        val, err = integrate.quad(f, mu - 12 * s, mu + 12 * s, limit=400, epsabs=1e-12, epsrel=1e-10)
        assert err < 1e-8
        return val

    value = (1.0 - robust_weight) * component(mean, sd)
    if robust_weight > 0.0:
        value += robust_weight * component(0.0, float(np.sqrt(2.0 * sigma2)))
    return value


def prior_p_benefit(mean, sd, robust_weight=0.0, sigma2=None):
    """P(delta > 0) under the (mixture) prior; the vague component is centred on 0, so it adds w / 2."""
    return (1.0 - robust_weight) * stats.norm.sf(0.0, mean, sd) + robust_weight * 0.5


# ---------------------------------------------------------------- group-sequential z

def gs_z_rejection(bounds, fractions, drift):
    """P(cross b_k at some look) for the canonical process Z_k ~ N(drift sqrt(t_k), 1), corr sqrt(t_i / t_j).

    ``drift`` is the noncentrality of the fixed design at the final look.
    """
    t = np.asarray(fractions, dtype=float)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mvn = stats.multivariate_normal(mean=drift * np.sqrt(t), cov=cov, abseps=1e-9, releps=1e-9, maxpts=10**7)
    return 1.0 - mvn.cdf(np.asarray(bounds, dtype=float), lower_limit=np.full(len(t), -np.inf))


def mcse(p, n):
    return float(np.sqrt(p * (1.0 - p) / n))
