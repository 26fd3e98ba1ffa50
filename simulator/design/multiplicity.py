"""The level at which each endpoint of a trial is designed and analysed, by multiplicity procedure.

One fact, read where endpoints are planned (their bounds and analyses,
:func:`simulator.runner.simulate.build_plans`; the derived survival events):
Bonferroni analyses each of the ``m`` endpoints at ``alpha / m``; Holm
analyses each at ``alpha`` (level 0, the level of its last step) and at
the further levels ``alpha / 2, ..., alpha / m`` its earlier steps need
(:func:`simulator.runner.success.adjusted_success` combines them); a fixed
sequence, or none, at ``alpha``.
"""

from __future__ import annotations

__all__ = ["endpoint_levels", "gatekeeper", "holm_levels"]


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


def gatekeeper(rule: str, multiplicity: str, order) -> str | None:
    """The endpoint without whose success a trial cannot succeed under ``rule = "any"``: a fixed sequence's
    first (``success.order[0]``), which every later test waits on; ``None`` otherwise.

    So it alone sets the size for ``design.power`` and the assurance ceiling (a review: the smallest
    endpoint's size gave the trial a power of 0.16 for the 0.9 asked).

    >>> gatekeeper("any", "fixed_sequence", ("os", "tox")), gatekeeper("any", "holm", ())
    ('os', None)
    """
    if rule == "any" and multiplicity == "fixed_sequence" and order:
        return str(order[0])
    return None
