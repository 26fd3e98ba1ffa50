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


class _Normal:
    """``scipy.stats.norm``'s ``cdf``, ``sf``, ``ppf``, ``isf`` and ``pdf``, with ``loc`` and ``scale``."""

    @staticmethod
    def cdf(x, loc=0.0, scale=1.0):
        return special.ndtr((np.asarray(x, dtype=float) - loc) / scale)

    @staticmethod
    def sf(x, loc=0.0, scale=1.0):
        return special.ndtr(-((np.asarray(x, dtype=float) - loc) / scale))

    @staticmethod
    def ppf(q, loc=0.0, scale=1.0):
        return special.ndtri(np.asarray(q, dtype=float)) * scale + loc

    @staticmethod
    def isf(q, loc=0.0, scale=1.0):
        return -special.ndtri(np.asarray(q, dtype=float)) * scale + loc

    @staticmethod
    def pdf(x, loc=0.0, scale=1.0):
        z = (np.asarray(x, dtype=float) - loc) / scale
        return np.exp(-z**2 / 2.0) / _SQRT_2PI / scale


def _scipy_special(name: str, fallback):
    """SciPy's compiled ``name`` from ``scipy.special`` (SciPy 1.12 on), else ``fallback()`` (scipy.stats's)."""
    import scipy.special._ufuncs as ufuncs

    function = getattr(ufuncs, name, None)
    return function if function is not None else fallback()


class _Binomial:
    """``scipy.stats.binom.pmf`` at whole counts ``k`` in ``0..n``."""

    @staticmethod
    def pmf(k, n, p):
        pmf = _scipy_special("_binom_pmf", lambda: _stats().binom.pmf)
        return pmf(np.asarray(k, dtype=float), n, p)


class _Beta:
    """``scipy.stats.beta``'s ``pdf``, ``cdf`` and ``ppf`` (no ``loc`` or ``scale``)."""

    @staticmethod
    def pdf(x, a, b):
        x = np.asarray(x, dtype=float)
        density = _scipy_special("_beta_pdf", lambda: _stats().beta.pdf)
        inside = (x >= 0.0) & (x <= 1.0)
        with np.errstate(over="ignore"):
            return np.where(inside, density(np.clip(x, 0.0, 1.0), a, b), 0.0)

    @staticmethod
    def cdf(x, a, b):
        x = np.asarray(x, dtype=float)
        return np.where(x >= 1.0, 1.0, np.where(x > 0.0, special.betainc(a, b, np.clip(x, 0.0, 1.0)), 0.0))

    @staticmethod
    def ppf(q, a, b):
        quantile = _scipy_special("_beta_ppf", lambda: _stats().beta.ppf)
        return quantile(np.asarray(q, dtype=float), a, b)


class _BetaBinomial:
    """``scipy.stats.betabinom``'s ``logpmf`` and ``pmf`` at whole counts ``k`` in ``0..n`` (its formula)."""

    @staticmethod
    def logpmf(k, n, a, b):
        k = np.floor(np.asarray(k, dtype=float))
        combinations = -np.log(n + 1.0) - special.betaln(n - k + 1.0, k + 1.0)
        return combinations + special.betaln(k + a, n - k + b) - special.betaln(a, b)

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
