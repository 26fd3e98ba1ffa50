"""The level at which each endpoint of a trial is designed and analysed, by multiplicity procedure.

One fact, read where endpoints are planned (their bounds, derived survival
events) and where trials are decided (:mod:`simulator.runner.success`):
Bonferroni analyses each of the ``m`` endpoints at ``alpha / m``; Holm
analyses each at ``alpha`` (its first step) and at the further levels
``alpha / 2, ..., alpha / m`` its later steps may need; a fixed sequence,
or none, at ``alpha``.
"""

from __future__ import annotations

__all__ = ["endpoint_levels", "holm_levels"]


def holm_levels(alpha: float, m: int) -> tuple[float, ...]:
    """Levels alpha / 1, ..., alpha / m at which Holm needs each endpoint analysed.

    >>> holm_levels(0.025, 2)
    (0.025, 0.0125)
    """
    return tuple(alpha / (j + 1) for j in range(m))


def endpoint_levels(alpha: float, m: int, multiplicity: str) -> tuple[float, tuple[float, ...]]:
    """(level 0, extra levels) at which every endpoint is analysed.

    >>> endpoint_levels(0.025, 2, "bonferroni")
    (0.0125, ())
    """
    if multiplicity == "bonferroni":
        return alpha / m, ()
    if multiplicity == "holm":
        levels = holm_levels(alpha, m)
        return levels[0], levels[1:]
    return alpha, ()
