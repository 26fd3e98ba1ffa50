"""Simulated probabilities with their Monte Carlo standard errors.

Every probability the package simulates leaves the runner as an
:class:`Estimate`: a value and its Monte Carlo standard error (MCSE),
``sqrt(p (1 - p) / n)`` for a proportion of ``n`` independent trials.
"""

from __future__ import annotations

import math
import numbers
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


#: Decimals of a simulated value and its MCSE in every report (more when the MCSE would print as 0).
DIGITS = 4


def mcse_decimals(mcse: float) -> int:
    """Decimals up to the MCSE's first significant digit (``DIGITS`` when the MCSE is 0 or not finite).

    >>> mcse_decimals(0.00049), mcse_decimals(0.0039)
    (4, 3)
    """
    if not (mcse > 0 and math.isfinite(mcse)):
        return DIGITS
    rounded = float(f"{mcse:.0e}")  # 0.00049 -> 0.0005: count decimals after rounding
    return max(0, -math.floor(math.log10(rounded)))


def pm_text(value: float, mcse: float, digits: int = DIGITS) -> str:
    """``value ± mcse`` with ``digits`` decimals, or more when the MCSE's first significant digit comes later.

    A rare event (4e-05 ± 2e-05 after 10^5 trials) must not read ``0.0000 ±
    0.0000``, nor a mean duration of 32.707 ± 0.062 months ``32.7 ± 0.1``
    (an MCSE shown 1.6 times too large): the decimals then follow the
    MCSE's first significant digit.

    >>> pm_text(0.66803, 0.01489), pm_text(4e-05, 2e-05), pm_text(32.7074, 0.0621, 1)
    ('0.6680 ± 0.0149', '0.00004 ± 0.00002', '32.71 ± 0.06')
    """
    if 0 < mcse and mcse_decimals(mcse) > digits:
        digits = mcse_decimals(mcse)
    return f"{number_text(value, digits)} ± {number_text(mcse, digits)}"


def number_text(value: float, digits: int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def _outward(x: float, up: bool) -> str:
    """``x`` to two significant digits, rounded up (``up``) or down, without trailing zeros."""
    decimals = max(0, 1 - math.floor(math.log10(x)))
    scaled = round(x * 10**decimals, 9)  # 0.0003 * 1e5 is 30.000000000000004
    rounded = (math.ceil(scaled) if up else math.floor(scaled)) / 10**decimals
    return f"{rounded:.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(int(rounded))


def extreme_text(value: float, n_sims: int | None) -> str | None:
    """``0 (< 3/n)`` or ``1 (> 1 - 3/n)`` for a probability estimated as exactly 0 or 1, else ``None``.

    When no simulated trial (or every one) rejects, the MCSE sqrt(p (1 - p) / n)
    is 0 and says nothing; the rule of three gives the one-sided 95 % bound
    instead: with 0 events in n trials the probability is below 3 / n (above
    1 - 3 / n with n events). The bound is rounded outwards to two digits.

    Examples
    --------
    >>> extreme_text(0.0, 10_000), extreme_text(1.0, 4_000), extreme_text(0.5, 100)
    ('0 (< 0.0003)', '1 (> 0.99925)', None)
    """
    if not n_sims or value not in (0.0, 1.0):
        return None
    rule = 3.0 / n_sims
    if rule >= 1.0:  # 3 trials or fewer: the bound says nothing
        return "0 (< 1)" if value == 0.0 else "1 (> 0)"
    if value == 0.0:
        return f"0 (< {_outward(rule, up=True)})"
    # 1 - 3/n rounded down: the decimals of 3/n rounded up.
    upper = _outward(rule, up=True)
    decimals = len(upper.split(".")[1]) if "." in upper else 0
    return f"1 (> {1.0 - float(upper):.{decimals}f})"


@dataclass(frozen=True)
class Estimate:
    """A simulated value and its Monte Carlo standard error.

    It prints as the reports print it (:func:`pm_text`): four decimals,
    more when the MCSE would print as 0; a probability of exactly 0 or 1
    from ``n`` simulated trials (when ``n`` is known) prints the rule-of-three
    bound instead of a meaningless ``± 0`` (:func:`extreme_text`).

    Examples
    --------
    >>> print(Estimate(0.81234, 0.0039))
    0.8123 ± 0.0039
    >>> print(Estimate(0.000041, 0.000020))
    0.00004 ± 0.00002
    >>> print(Estimate(0.0, 0.0, n=40_000))
    0 (< 0.000075)

    A numeric format applies to the value (``f"{e:.3f}"``), a width or
    alignment alone to the printed text:

    >>> f"{Estimate(0.81234, 0.0039):.3f}", f"{Estimate(0.81234, 0.0039):.2}", f"[{Estimate(0.81234, 0.0039):>16}]"
    ('0.812', '0.81', '[ 0.8123 ± 0.0039]')
    """

    value: float
    mcse: float
    #: Simulated trials behind a probability (``None``: not known, or not a probability).
    n: int | None = None

    def __post_init__(self) -> None:
        for name in ("value", "mcse"):
            item = getattr(self, name)
            if isinstance(item, bool) or not isinstance(item, numbers.Real):
                raise TypeError(f"Estimate.{name} must be a number, got {item!r}")
            object.__setattr__(self, name, float(item))
        if not self.mcse >= 0.0:  # NaN too
            raise ValueError(f"Estimate.mcse must be >= 0, got {self.mcse!r}")
        object.__setattr__(self, "mcse", self.mcse + 0.0)  # -0.0 prints as 0
        if self.n is not None and (isinstance(self.n, bool) or not isinstance(self.n, numbers.Integral)):
            raise TypeError(f"Estimate.n must be a positive integer or None, got {self.n!r}")
        if self.n is not None and self.n < 1:  # the right type, a wrong value (a review: TypeError here)
            raise ValueError(f"Estimate.n must be a positive integer or None, got {self.n!r}")

    @classmethod
    def of_proportion(cls, count: int, n: int) -> Estimate:
        """The estimate of a proportion of ``n`` independent trials."""
        return cls(*proportion(count, n), n=n)

    @property
    def decimals(self) -> int:
        """Decimals up to the MCSE's first significant digit (4 when the MCSE is 0): :func:`mcse_decimals`."""
        return mcse_decimals(self.mcse)

    def __str__(self) -> str:
        if self.mcse == 0.0:
            extreme = extreme_text(self.value, self.n)
            if extreme is not None:
                return extreme
        return pm_text(self.value, self.mcse)

    def __format__(self, spec: str) -> str:
        if spec and (spec[-1] in "eEfFgGn%" or "." in spec):
            # A number's format (a type letter, or a precision, as for a float): the value (a review: ".3f"
            # raised, ".2" cut the text to "0.").
            return format(self.value, spec)
        if not spec:
            return str(self)
        try:
            return format(str(self), spec)  # width, fill, alignment: the text "value ± mcse"
        except ValueError:
            # What only a number takes (grouping "," or "_", a sign, "="): the value (a review: "," raised).
            return format(self.value, spec)
