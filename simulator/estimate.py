"""Simulated probabilities with their Monte Carlo standard errors.

Every probability the package simulates leaves the runner as an
:class:`Estimate`: a value and its Monte Carlo standard error (MCSE),
``sqrt(p (1 - p) / n)`` for a proportion of ``n`` independent trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def proportion(count: int, n: int) -> tuple[float, float]:
    """Estimate and Monte Carlo standard error of a proportion ``count / n``.

    Examples
    --------
    >>> proportion(800, 1000)
    (0.8, 0.012649110640673518)
    """
    p = count / n
    return p, math.sqrt(p * (1.0 - p) / n)


def mean_from_sums(total: float, squares: float, n: int) -> tuple[float, float]:
    """Mean of ``n`` trials' values and its Monte Carlo standard error, from their sum and sum of squares.

    The standard error uses the sample variance (``n - 1`` degrees of
    freedom). The sums are what the chunks add up, so the mean does not
    depend on how the trials were split.

    Examples
    --------
    >>> mean_from_sums(6.0, 14.0, 3)  # the values 1, 2, 3
    (2.0, 0.5773502691896258)
    """
    mean = total / n
    variance = max(squares / n - mean**2, 0.0) * n / max(n - 1, 1)
    return mean, math.sqrt(variance / n)


@dataclass(frozen=True)
class Estimate:
    """A simulated value and its Monte Carlo standard error.

    It prints with as many decimals as the MCSE's first significant digit
    needs, so that no printed digit is pure noise and none that matters is
    hidden.

    Examples
    --------
    >>> print(Estimate(0.81234, 0.0039))
    0.812 ± 0.004
    >>> print(Estimate(0.02512, 0.00049))
    0.0251 ± 0.0005
    """

    value: float
    mcse: float

    @classmethod
    def of_proportion(cls, count: int, n: int) -> Estimate:
        """The estimate of a proportion of ``n`` independent trials."""
        return cls(*proportion(count, n))

    @property
    def decimals(self) -> int:
        """Decimals shown: those up to the MCSE's first significant digit (4 when the MCSE is 0)."""
        if not (self.mcse > 0 and math.isfinite(self.mcse)):
            return 4
        rounded = float(f"{self.mcse:.0e}")  # 0.00049 -> 0.0005: count decimals after rounding
        return max(0, -math.floor(math.log10(rounded)))

    def __str__(self) -> str:
        d = self.decimals
        return f"{self.value:.{d}f} ± {self.mcse:.{d}f}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec) if spec else str(self)
