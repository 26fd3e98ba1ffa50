"""Whole patients from allocation ratios and fractions.

Two rounding rules, for two different questions (contract, "Allocation"):

- a *fixed* total (``trial.n_total``) is split by the largest-remainder
  method, so the arms add up to exactly that total (:func:`split_total`);
- a size *computed for a power target* is rounded up in each arm, rpact's
  convention, so that neither arm falls short of its exact share
  (:func:`round_up_per_arm`: 230.88 + 115.44 -> 231 + 116 = 347).

Look fractions and missing-data counts are rounded half up
(:func:`round_half_up`).

Exact shares are computed with :class:`fractions.Fraction` where the inputs
are exact (integer totals, ratios as written), so that a 1:1 split of an odd
total is a true tie rather than whichever way float rounding falls. Rounding
of floating-point sizes allows a relative tolerance of 1e-9
(``REL_TOL``): a size computed as 115.00000000001 means 115, and a fraction
times a size that should land on .5 but comes out as .49999999999 rounds up.
The price is that a true share less than 1e-9 (relative) above an integer is
rounded down: at most one patient in 10^9.
"""

import math
import numbers
from fractions import Fraction

import numpy as np

from simulator.errors import InputError

REL_TOL = 1e-9


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _exact(value):
    # Fraction(str(0.1)) is 1/10, what the user wrote in the config;
    # Fraction(0.1) would be the binary approximation.
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    return Fraction(str(float(value)))


def allocation_weights(allocation, name="allocation"):
    """Validate ``[control, experimental]`` and return exact shares.

    Parameters
    ----------
    allocation : sequence of two positive finite numbers
        Ratio control : experimental, for example ``[1, 2]``.
    name : str
        Name used in error messages.

    Returns
    -------
    (Fraction, Fraction)
        The control and experimental shares, summing to 1.

    Raises
    ------
    InputError
        If ``allocation`` is not two positive finite numbers.

    Examples
    --------
    >>> allocation_weights([1, 2])
    (Fraction(1, 3), Fraction(2, 3))
    """
    try:
        values = list(allocation)
    except TypeError:
        values = None
    if (
        values is None
        or len(values) != 2
        or not all(_is_real(v) and math.isfinite(v) and v > 0 for v in values)
    ):
        raise InputError(
            f"`{name}` must be two positive finite numbers "
            f"[control, experimental]; got {allocation!r}"
        )
    control, experimental = (_exact(v) for v in values)
    total = control + experimental
    return control / total, experimental / total


def split_total(n_total, allocation):
    """Split a fixed total into whole patients per arm by largest remainder.

    Each arm gets the integer part of its exact share; the patient left
    over (at most one with two arms) goes to the arm with the larger
    fractional part, and to the control arm when the fractional parts tie
    (for example a 1:1 split of an odd total). The rule is deterministic and
    the arms always add up to ``n_total``.

    Parameters
    ----------
    n_total : int
        Total number of patients, at least 2.
    allocation : sequence of two positive numbers
        Ratio ``[control, experimental]``.

    Returns
    -------
    (int, int)
        ``(n_c, n_e)`` with ``n_c + n_e == n_total``.

    Raises
    ------
    InputError
        If ``n_total`` is not an integer >= 2, if ``allocation`` is invalid,
        or if an arm would get no patient.

    Examples
    --------
    >>> split_total(401, [1, 1])
    (201, 200)
    >>> split_total(100, [1, 2])
    (33, 67)
    """
    if not isinstance(n_total, numbers.Integral) or isinstance(n_total, bool) or n_total < 2:
        raise InputError(f"config key `trial.n_total`: must be an integer >= 2, got {n_total!r}")
    n_c, n_e = _largest_remainder(n_total, allocation)
    if n_c == 0 or n_e == 0:
        raise InputError(
            f"config key `trial.n_total`: {n_total} is too small for trial.allocation = "
            f"{list(allocation)!r}: an arm would get no patient"
        )
    return int(n_c), int(n_e)


def _largest_remainder(n_total: int, allocation) -> tuple[int, int]:
    """``n_total`` split in the ratio ``allocation`` by largest remainder (the rule of :func:`split_total`),
    an arm possibly left with no patient (which :func:`split_total` refuses and :func:`total_for_arms` grows past)."""
    w_c, w_e = allocation_weights(allocation)
    share_c, share_e = n_total * w_c, n_total * w_e
    n_c, n_e = math.floor(share_c), math.floor(share_e)
    if n_c + n_e < n_total:
        if share_c - n_c >= share_e - n_e:
            n_c += 1
        else:
            n_e += 1
    return int(n_c), int(n_e)


def _ceil_tol(x):
    return math.ceil(x - REL_TOL * max(1.0, abs(x)))


def round_up_per_arm(n_total, allocation, missing=0.0):
    """Whole patients per arm for a size computed for a power target.

    Each arm's exact share of ``n_total`` is rounded up (rpact's
    convention), allowing a relative tolerance of 1e-9 for float noise.
    Every arm gets at least one patient. With missing outcomes an arm is
    then raised, if need be, until its evaluable patients,
    ``round_half_up(n_arm (1 - missing))``, reach its share of the evaluable
    size ``n_total (1 - missing)`` rounded up: rounding the patients up can
    leave the evaluable ones rounded down below what the power needs (a
    review: 68 patients at 20 % missing are 54 evaluable for 54.34).

    Parameters
    ----------
    n_total : float
        Unrounded total size, > 0 (patients randomised).
    allocation : sequence of two positive numbers
        Ratio ``[control, experimental]``.
    missing : float
        Share of patients without an outcome, in [0, 1).

    Returns
    -------
    (int, int)
        ``(n_c, n_e)``; their sum can exceed ``ceil(n_total)`` by one.

    Raises
    ------
    InputError
        If ``n_total`` is not a positive finite number or ``allocation`` is
        invalid.

    Examples
    --------
    >>> round_up_per_arm(346.32, [1, 2])   # 115.44 + 230.88
    (116, 231)
    >>> round_up_per_arm(230.00000000001, [1, 1])
    (115, 115)
    >>> round_up_per_arm(135.838, [1, 1], missing=0.2)  # 54.34 evaluable per arm needed; 68 give 54
    (69, 69)
    """
    if not _is_real(n_total) or not math.isfinite(n_total) or n_total <= 0:
        raise InputError(f"`n_total` must be a positive finite number; got {n_total!r}")
    w_c, w_e = allocation_weights(allocation)
    keep = 1.0 - float(missing)
    arms = []
    for w in (float(w_c), float(w_e)):
        n = max(1, _ceil_tol(float(n_total) * w))
        if missing > 0.0:
            needed = _ceil_tol(float(n_total) * w * keep)
            while round_half_up(n * keep) < needed:
                n += 1
        arms.append(n)
    return arms[0], arms[1]


def total_for_arms(per_arm, allocation):
    """The smallest total whose :func:`split_total` gives each arm at least ``per_arm``; returns ``(total, arms)``.

    A size computed for a power target is rounded up per arm
    (:func:`round_up_per_arm`), but a run splits its ``trial.n_total`` by
    largest remainder: the split of the arms' sum can take a patient from
    the arm that needed it (a review: 154 + 459 = 613 at 1:3 splits as 153 +
    460, short of ``design.power``). The total then grows until the split
    covers both arms.

    Examples
    --------
    >>> total_for_arms((154, 459), [1, 3])
    (614, (154, 460))
    >>> total_for_arms((116, 231), [1, 2])
    (347, (116, 231))
    >>> total_for_arms((1, 1), [1, 7])  # 2 and 3 would leave the control arm empty
    (4, (1, 3))
    """
    total = max(2, int(sum(per_arm)))
    while True:
        # Split without split_total's refusal: a size computed for a large effect can be smaller than the
        # allocation can split (a review: 2 patients at 1:7 refused, naming a trial.n_total nobody gave);
        # the total grows to the smallest one that gives every arm its patients.
        arms = _largest_remainder(total, allocation)
        if arms[0] >= max(1, per_arm[0]) and arms[1] >= max(1, per_arm[1]):
            return total, arms
        total += 1


def round_half_up(x):
    """Round to the nearest integer, halves upwards, with a 1e-9 tolerance.

    Python's ``round`` rounds halves to even (``round(2.5) == 2``) and
    ``numpy.round`` does the same; look sizes and missing-data counts use
    the school rule instead, as rpact does. A value within 1e-9 (relative)
    below a half counts as the half, so that ``0.3 * 5 = 1.4999999999999998``
    style noise cannot flip the result.

    Parameters
    ----------
    x : float or array_like
        Value(s) to round.

    Returns
    -------
    int or ndarray of int64
        An ``int`` for a scalar input, an array of the same shape otherwise.

    Examples
    --------
    >>> round_half_up(2.5), round_half_up(2.4999999999999996), round_half_up(2.4)
    (3, 3, 2)
    >>> round_half_up([0.5, 1.5, 2.5]).tolist()
    [1, 2, 3]
    """
    arr = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"cannot round a non-finite value: {x!r}")
    out = np.floor(arr + 0.5 + REL_TOL * np.maximum(1.0, np.abs(arr))).astype(np.int64)
    if out.ndim == 0:
        return int(out)
    return out
