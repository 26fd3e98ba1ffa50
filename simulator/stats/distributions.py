"""The distributions a run evaluates (normal, binomial, beta, beta-binomial), without ``scipy.stats``.

Importing ``scipy.stats`` takes about 0.27 s (it loads ``scipy.spatial``,
``linalg`` and ``sparse``), a tenth of a ``p3sim run`` of CAIRO6, and its
distribution objects spend tens of microseconds per call checking
arguments. These are the ``scipy.special`` functions that ``scipy.stats``'s
own methods evaluate, on the same support, so they return the same numbers
(``tests/test_distributions.py`` compares them with ``scipy.stats`` bit for
bit). Where a SciPy version does not offer the binomial and beta functions
in ``scipy.special``, they are ``scipy.stats``'s, imported then.

The rest of ``scipy.stats`` (Student's t, the multivariate normal, Sobol
points) is imported by the functions that need it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["beta", "betabinom", "binom", "norm"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _scalar(value):
    """A 0-d result as a NumPy scalar, as ``scipy.stats`` returns it."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _scale(scale):
    """``scale``, NaN where it is not positive (``scipy.stats`` gives NaN there)."""
    scale = np.asarray(scale, dtype=float)
    return np.where(scale > 0.0, scale, np.nan)


class _Normal:
    """``scipy.stats.norm``'s ``cdf``, ``sf``, ``ppf``, ``isf`` and ``pdf``, with ``loc`` and ``scale``."""

    @staticmethod
    def cdf(x, loc=0.0, scale=1.0):
        return _scalar(special.ndtr((np.asarray(x, dtype=float) - loc) / _scale(scale)))

    @staticmethod
    def sf(x, loc=0.0, scale=1.0):
        return _scalar(special.ndtr(-((np.asarray(x, dtype=float) - loc) / _scale(scale))))

    @staticmethod
    def ppf(q, loc=0.0, scale=1.0):
        return _scalar(special.ndtri(np.asarray(q, dtype=float)) * _scale(scale) + loc)

    @staticmethod
    def isf(q, loc=0.0, scale=1.0):
        return _scalar(-special.ndtri(np.asarray(q, dtype=float)) * _scale(scale) + loc)

    @staticmethod
    def pdf(x, loc=0.0, scale=1.0):
        scale = _scale(scale)
        z = (np.asarray(x, dtype=float) - loc) / scale
        return _scalar(np.exp(-z**2 / 2.0) / _SQRT_2PI / scale)


def _scipy_special(name: str, fallback):
    """SciPy's compiled ``name`` from ``scipy.special`` (SciPy 1.12 on), else ``fallback()`` (scipy.stats's)."""
    import scipy.special._ufuncs as ufuncs

    function = getattr(ufuncs, name, None)
    return function if function is not None else fallback()


def _counts(k, n):
    """``k`` as floats, and where it is a whole count in ``0..n`` (elsewhere a pmf is 0)."""
    k = np.asarray(k, dtype=float)
    return k, (k >= 0.0) & (k <= n) & (k == np.floor(k))


def _whole(n):
    """Whether ``n`` is a whole number of trials (``scipy.stats`` gives NaN otherwise)."""
    n = np.asarray(n, dtype=float)
    return (n >= 0.0) & (n == np.floor(n))


class _Binomial:
    """``scipy.stats.binom.pmf``."""

    @staticmethod
    def pmf(k, n, p):
        pmf = _scipy_special("_binom_pmf", lambda: _stats().binom.pmf)
        k, inside = _counts(k, n)
        valid = _whole(n) & (np.asarray(p) >= 0.0) & (np.asarray(p) <= 1.0)
        with np.errstate(invalid="ignore"):
            values = np.where(inside, pmf(np.where(inside, k, 0.0), n, p), 0.0)
        return _scalar(np.where(valid, values, np.nan))


class _Beta:
    """``scipy.stats.beta``'s ``pdf``, ``cdf`` and ``ppf`` (no ``loc`` or ``scale``)."""

    @staticmethod
    def pdf(x, a, b):
        x = np.asarray(x, dtype=float)
        density = _scipy_special("_beta_pdf", lambda: _stats().beta.pdf)
        inside = (x >= 0.0) & (x <= 1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            values = np.where(inside, density(np.clip(x, 0.0, 1.0), a, b), 0.0)
        return _scalar(np.where(_shapes(a, b) & ~np.isnan(x), values, np.nan))

    @staticmethod
    def cdf(x, a, b):
        x = np.asarray(x, dtype=float)
        with np.errstate(invalid="ignore"):
            values = np.where(x >= 1.0, 1.0, np.where(x > 0.0, special.betainc(a, b, np.clip(x, 0.0, 1.0)), 0.0))
        return _scalar(np.where(_shapes(a, b) & ~np.isnan(x), values, np.nan))

    @staticmethod
    def ppf(q, a, b):
        quantile = _scipy_special("_beta_ppf", lambda: _stats().beta.ppf)
        q = np.asarray(q, dtype=float)
        valid = _shapes(a, b) & (q >= 0.0) & (q <= 1.0)
        with np.errstate(invalid="ignore"):
            return _scalar(np.where(valid, quantile(np.where(valid, q, 0.5), a, b), np.nan))


def _shapes(a, b):
    """Whether the beta shapes are valid (positive)."""
    return (np.asarray(a, dtype=float) > 0.0) & (np.asarray(b, dtype=float) > 0.0)


class _BetaBinomial:
    """``scipy.stats.betabinom``'s ``logpmf`` and ``pmf`` (its formula inside the support)."""

    @staticmethod
    def logpmf(k, n, a, b):
        k, inside = _counts(k, n)
        j = np.where(inside, k, 0.0)
        with np.errstate(invalid="ignore"):
            combinations = -np.log(n + 1.0) - special.betaln(n - j + 1.0, j + 1.0)
            values = np.where(inside, combinations + special.betaln(j + a, n - j + b) - special.betaln(a, b), -np.inf)
        return _scalar(np.where(_whole(n) & _shapes(a, b), values, np.nan))

    @classmethod
    def pmf(cls, k, n, a, b):
        return np.exp(cls.logpmf(k, n, a, b))


def _stats():
    from scipy import stats

    return stats


norm = _Normal()
binom = _Binomial()
beta = _Beta()
betabinom = _BetaBinomial()
