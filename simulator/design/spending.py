"""Error-spending functions, looked up by the codes of the configuration.

A spending function gives the cumulative error (type I for ``as*`` codes,
type II for ``bs*`` codes) that a group-sequential design may have used up by
information fraction ``t``. The codes and formulas are rpact's
(``getDesignGroupSequential(typeOfDesign=..., typeBetaSpending=...)``, file
``src/f_design_group_sequential.cpp``, function ``getSpendingValueCpp``):

=========  ==============================================  ===========
code       cumulative spending at fraction t, level a       parameter
=========  ==============================================  ===========
asOF/bsOF  2 (1 - Phi(z_{1 - a/2} / sqrt(t)))               none
asP/bsP    a log(1 + (e - 1) t)                              none
asKD/bsKD  a t^rho                                           rho > 0
asHSD/bsHSD a (1 - exp(-gamma t)) / (1 - exp(-gamma));       gamma
           a t when gamma = 0
asUser     the given cumulative values, one per look         list
=========  ==============================================  ===========

Two-sided designs (``sided = 2``) spend the *total* alpha over both tails, as
rpact does: the total spent by ``t`` is ``sided * f(t; alpha / sided)``. For
every family but O'Brien-Fleming this equals ``f(t; alpha)`` because ``f`` is
linear in the level; for ``asOF`` it is ``4 (1 - Phi(z_{1 - alpha/4} / sqrt(t)))``.
``asUser`` values are taken as the total over both tails. Beta spending is
always one-tailed (``sided`` is ignored), again as rpact.

The registry maps each code to a :class:`SpendingFunction`;
:func:`get_spending_function` answers an unknown code with the valid ones.

Examples
--------
>>> import numpy as np
>>> f = get_spending_function("asOF")
>>> np.round(f.cumulative([0.5, 1.0], 0.025), 6)
array([0.001525, 0.025   ])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from simulator.config.fields import toml_value
from simulator.errors import InputError

__all__ = [
    "SpendingFunction",
    "SPENDING_FUNCTIONS",
    "ALPHA_SPENDING_CODES",
    "BETA_SPENDING_CODES",
    "get_spending_function",
]


@dataclass(frozen=True)
class SpendingFunction:
    """One spending family.

    Attributes
    ----------
    code : str
        The configuration code (``"asOF"``, ``"bsHSD"``, ...).
    description : str
        A short human-readable name.
    param_name : str or None
        What ``param`` means (``"rho"``, ``"gamma"``, ``"cumulative"``), or
        None when the family takes no parameter.
    shape : callable
        ``shape(t, level, param) -> array``: the one-sided cumulative spending
        at the fractions ``t``.
    """

    code: str
    description: str
    param_name: str | None
    shape: Callable[[np.ndarray, float, object], np.ndarray]

    def cumulative(self, fractions, level, param=None, sided=1):
        """Cumulative error spent at each information fraction.

        Parameters
        ----------
        fractions : array_like
            Information fractions in (0, 1].
        level : float
            The total error to spend (alpha, or beta for ``bs*`` codes).
        param : float or sequence, optional
            The family parameter (see the module table), already validated
            by :meth:`validate_param`.
        sided : {1, 2}
            2 for a symmetric two-sided alpha-spending design: the result is
            the total over both tails (rpact's convention).

        Returns
        -------
        numpy.ndarray
            Cumulative spending per fraction, non-decreasing, ``level`` at 1.
        """
        t = np.asarray(fractions, dtype=float)
        if self.code == "asUser":
            # The user's values already are the totals over both tails.
            return np.asarray(param, dtype=float).copy()
        if self.code.startswith("bs"):
            sided = 1  # rpact spends beta in one tail whatever `sided` is
        return sided * self.shape(t, level / sided, param)

    def validate_param(self, param, key, n_looks=None, level=None):
        """Check ``param`` for this family and return it in canonical form.

        Parameters
        ----------
        param : object
            The raw value from the configuration; ignored (returned as None)
            by families without a parameter, so that a leftover
            ``efficacy_param`` does not break a design that has no use for it.
        key : str
            The configuration key named in error messages
            (``"design.efficacy_param"`` or ``"design.futility_param"``).
        n_looks : int, optional
            Number of looks (needed for ``asUser``).
        level : float, optional
            The total alpha (needed for ``asUser``: the last value must equal it).

        Returns
        -------
        float, numpy.ndarray or None

        Raises
        ------
        InputError
            If the parameter is missing or out of range.
        """
        if self.param_name is None:
            return None
        validator = _PARAM_VALIDATORS[self.param_name]
        return validator(self.code, param, key, n_looks, level)


def _of_shape(t, level, param):
    # Lan & DeMets (1983) O'Brien-Fleming-like: 2 (1 - Phi(z_{1-level/2} / sqrt t)).
    # ndtr(-x) keeps full relative precision for the tiny early values.
    return 2.0 * ndtr(ndtri(level / 2.0) / np.sqrt(t))


def _pocock_shape(t, level, param):
    # Lan & DeMets (1983) Pocock-like.
    return level * np.log1p((math.e - 1.0) * t)


def _kd_shape(t, level, rho):
    # Kim & DeMets (1987) power family.
    return level * t**rho


def _hsd_shape(t, level, gamma):
    # Hwang, Shih & DeCani (1990); the limit gamma -> 0 is linear spending.
    if gamma == 0:
        return level * t
    return level * np.expm1(-gamma * t) / math.expm1(-gamma)


def _user_shape(t, level, values):
    return np.asarray(values, dtype=float)


def _require_number(code, param, key, what):
    if isinstance(param, bool) or not isinstance(param, numbers.Real):
        raise InputError(f"config key `{key}`: must be a number ({what}) for {code}, got {toml_value(param)}")
    value = float(param)
    if not math.isfinite(value):
        raise InputError(f"config key `{key}`: must be a finite number ({what}) for {code}, got {toml_value(param)}")
    return value


def _validate_rho(code, param, key, n_looks, level):
    rho = _require_number(code, param, key, "rho > 0")
    if rho <= 0:
        raise InputError(f"config key `{key}` (rho): must be > 0 for {code}, got {toml_value(param)}")
    return rho


def _validate_gamma(code, param, key, n_looks, level):
    gamma = _require_number(code, param, key, "gamma, -30 <= gamma <= 30")
    # Beyond |gamma| = 30 the family is numerically a step at t = 0 or t = 1.
    if abs(gamma) > 30:
        raise InputError(f"config key `{key}` (gamma): must lie in [-30, 30] for {code}, got {toml_value(param)}")
    return gamma


def _validate_cumulative(code, param, key, n_looks, level):
    allowed = (
        f"a list of {n_looks} non-decreasing cumulative alphas in [0, alpha], "
        f"the last equal to alpha = {level}"
    )
    if isinstance(param, (str, bytes)) or not hasattr(param, "__len__"):
        raise InputError(f"config key `{key}`: must be {allowed} for {code}, got {toml_value(param)}")
    try:
        values = np.asarray(param, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"config key `{key}`: must be {allowed} for {code}, got {toml_value(param)}") from None
    if values.ndim != 1 or values.size != n_looks:
        raise InputError(f"config key `{key}`: must be {allowed} for {code}; got {len(param)} values.")
    if (
        not np.all(np.isfinite(values))
        or np.any(values < 0)
        or np.any(np.diff(values) < 0)
        or values[-1] > level * (1 + 1e-9)
    ):
        raise InputError(f"config key `{key}`: must be {allowed} for {code}, got {toml_value(list(param))}")
    if abs(values[-1] - level) > 1e-9 * level:
        raise InputError(
            f"config key `{key}`: must be {allowed} for {code}; its last value {toml_value(float(values[-1]))} "
            f"differs from alpha."
        )
    values[-1] = level
    values.flags.writeable = False
    return values


_PARAM_VALIDATORS = {
    "rho": _validate_rho,
    "gamma": _validate_gamma,
    "cumulative": _validate_cumulative,
}

SPENDING_FUNCTIONS: dict[str, SpendingFunction] = {}
"""Registry: configuration code -> :class:`SpendingFunction`."""


def _register(codes, description, param_name, shape):
    for code in codes:
        SPENDING_FUNCTIONS[code] = SpendingFunction(code, description, param_name, shape)


_register(("asOF", "bsOF"), "Lan-DeMets O'Brien-Fleming type", None, _of_shape)
_register(("asP", "bsP"), "Lan-DeMets Pocock type", None, _pocock_shape)
_register(("asKD", "bsKD"), "Kim-DeMets power family", "rho", _kd_shape)
_register(("asHSD", "bsHSD"), "Hwang-Shih-DeCani family", "gamma", _hsd_shape)
_register(("asUser",), "user-given cumulative alpha", "cumulative", _user_shape)

ALPHA_SPENDING_CODES = tuple(code for code in SPENDING_FUNCTIONS if code.startswith("as"))
BETA_SPENDING_CODES = tuple(code for code in SPENDING_FUNCTIONS if code.startswith("bs"))


def get_spending_function(code, key="design.efficacy"):
    """Look up a spending function by its configuration code.

    Parameters
    ----------
    code : str
        ``asOF``, ``asP``, ``asKD``, ``asHSD``, ``asUser``, ``bsOF``, ``bsP``,
        ``bsKD`` or ``bsHSD``.
    key : str
        The configuration key named in the error message.

    Returns
    -------
    SpendingFunction

    Raises
    ------
    InputError
        If ``code`` is not registered; the message lists the valid codes.

    Examples
    --------
    >>> get_spending_function("bsHSD").param_name
    'gamma'
    """
    try:
        return SPENDING_FUNCTIONS[code]
    except (KeyError, TypeError):
        valid = ", ".join(ALPHA_SPENDING_CODES + BETA_SPENDING_CODES)
        message = f"config key `{key}`: unknown spending function {code!r}; valid codes: {valid}."
        raise InputError(message) from None
