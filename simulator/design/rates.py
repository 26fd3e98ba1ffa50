"""Sample size and power for two rates by the normal approximation.

The analytic companion of the binary-endpoint simulation: the same formulas
as rpact's ``getSampleSizeRates`` / ``getPowerRates`` for two groups and a
fixed design, on the oriented scale of :mod:`simulator.stats.binary` (a
higher rate is better for the experimental arm; ``theta0`` is the null risk
difference, H0: p_E - p_C <= theta0).

With arm fractions f_c, f_e (from ``allocation``), a total of N patients and
effect Delta = p_E - p_C - theta0, the test rejects in the favourable
direction when the estimated difference exceeds theta0 + cc + z * sd0, so

    power = Phi((Delta - cc - z * sd0) / sd1),
    sd1^2 = (p_C q_C / f_c + p_E q_E / f_e) / N        (variance of the estimate)
    sd0^2 = (p~_C q~_C / f_c + p~_E q~_E / f_e) / N    (variance the test uses)

with z = Phi^-1(1 - alpha / sided) and q = 1 - p.

- ``z_pooled`` and ``farrington_manning``: p~ are the Farrington-Manning
  restricted maximum-likelihood rates under p_E - p_C = theta0 evaluated at
  the assumed rates with the allocation as weights
  (:func:`simulator.stats.binary.restricted_mle`, the pooled rate when
  theta0 = 0). This is rpact's formula in both cases; ``z_pooled`` requires
  theta0 = 0. cc = 0.
- ``z_unpooled``: sd0 = sd1 (the Wald test's variance estimates sd1). cc = 0.
- ``chi2_yates`` and ``fisher``: sd0 pooled as for ``z_pooled`` and the
  continuity correction cc = (1/n_c + 1/n_e) / 2. Solving for N gives the
  Fleiss, Tytun & Ury (1980) size, N = N'/4 (1 + sqrt(1 + 4 h / (N' Delta)))^2
  with N' the uncorrected size and h = (1/f_c + 1/f_e) / 2 (for a 1:1
  allocation the Casagrande, Pike & Smith correction). For Fisher's exact
  test this is only an approximation; the exact power comes from
  enumeration elsewhere in the package.

Sidedness follows the contract: ``sided = 2`` spends alpha/2 in each tail
and power counts only rejections in the favourable direction, so the power
at the null is alpha/sided for the uncorrected tests (and less for the
continuity-corrected ones). rpact's sample sizes use the same convention.

rpact's group 1 is the treatment and its ``allocationRatioPlanned`` is
n_E / n_C; here ``allocation = [control, experimental]``, so
``allocationRatioPlanned = allocation[1] / allocation[0]``.
"""

import math
import numbers

from simulator.design.allocation import allocation_weights
from simulator.errors import InputError
from simulator.stats import distributions as dist
from simulator.stats.binary import TEST_CODES, restricted_mle

_MARGIN_TESTS = ("farrington_manning",)
_CORRECTED_TESTS = ("chi2_yates", "fisher")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_test(test):
    if not isinstance(test, str) or test not in TEST_CODES:
        valid = ", ".join(repr(name) for name in TEST_CODES)
        raise InputError(f"`test` must be one of {valid}; got {test!r}")


def _check_rate(value, name):
    if not _is_real(value) or not 0.0 <= value <= 1.0:
        raise InputError(f"`{name}` must be a rate in [0, 1]; got {value!r}")


def _check_alpha_sided(alpha, sided):
    if not isinstance(sided, numbers.Integral) or isinstance(sided, bool) or sided not in (1, 2):
        raise InputError(f"`sided` must be 1 or 2; got {sided!r}")
    if not _is_real(alpha) or not 0.0 < alpha / sided < 0.5 or alpha >= 1.0:
        limit = "0.5" if sided == 1 else "1"
        raise InputError(
            f"`alpha` must be in (0, {limit}) with sided = {sided}; got {alpha!r}"
        )


def _check_theta0(test, theta0, sided):
    if not _is_real(theta0) or not -1.0 < theta0 < 1.0:
        raise InputError(f"`theta0` must be a risk difference in (-1, 1); got {theta0!r}")
    if theta0 != 0.0:
        if test not in _MARGIN_TESTS:
            raise InputError(
                f"`theta0` must be 0 with test {test!r}; a non-zero null "
                f"difference (non-inferiority margin) needs 'farrington_manning'; "
                f"got {theta0!r}"
            )
        if sided != 1:
            raise InputError(
                f"`sided` must be 1 when `theta0` is not 0 (non-inferiority is "
                f"one-sided); got sided = {sided!r}"
            )


def _variances(test, p_c, p_e, f_c, f_e, theta0):
    """Per-patient variances (v0 for the test, v1 for the estimate): sd^2 = v / N."""
    v1 = p_c * (1.0 - p_c) / f_c + p_e * (1.0 - p_e) / f_e
    if test == "z_unpooled":
        return v1, v1
    pc_t, pe_t = restricted_mle(p_c, p_e, f_c, f_e, theta0)
    v0 = pc_t * (1.0 - pc_t) / f_c + pe_t * (1.0 - pe_t) / f_e
    return v0, v1


def sample_size_rates(test, p_c, p_e, alpha, sided, power, allocation=(1, 1), theta0=0.0):
    """Total sample size for a target power, unrounded (normal approximation).

    Parameters
    ----------
    test : str
        One of ``"z_pooled"``, ``"z_unpooled"``, ``"chi2_yates"``,
        ``"fisher"`` (continuity-corrected approximation), or
        ``"farrington_manning"``.
    p_c, p_e : float
        Assumed rates in the control and experimental arm, oriented so that
        higher is better, in [0, 1].
    alpha : float
        Total significance level; ``alpha / sided`` must be below 0.5.
    sided : int
        1 or 2 (``alpha / 2`` in each tail).
    power : float
        Target power in the favourable direction, in (alpha/sided, 1).
    allocation : sequence of two positive numbers, optional
        Ratio ``[control, experimental]``, default 1:1.
    theta0 : float, optional
        Null risk difference; non-zero only with ``"farrington_manning"``
        and ``sided = 1`` (non-inferiority margin M: ``theta0 = -M``).

    Returns
    -------
    float
        Total number of patients N (both arms), not rounded; arm sizes are
        ``N * allocation[i] / sum(allocation)`` (see
        :func:`simulator.design.allocation.round_up_per_arm`).

    Raises
    ------
    InputError
        If an argument is out of range, or the target is unreachable
        (``p_e - p_c <= theta0``).

    Examples
    --------
    rpact: ``getSampleSizeRates(alpha = 0.025, beta = 0.2, pi1 = 0.4,
    pi2 = 0.25, allocationRatioPlanned = 2)`` gives 346.32.

    >>> round(sample_size_rates("z_pooled", 0.25, 0.40, 0.025, 1, 0.8, [1, 2]), 3)
    346.32
    """
    _check_test(test)
    _check_rate(p_c, "p_c")
    _check_rate(p_e, "p_e")
    _check_alpha_sided(alpha, sided)
    if not _is_real(power) or not alpha / sided < power < 1.0:
        raise InputError(f"`power` must be in (alpha/sided, 1) = ({alpha / sided}, 1); got {power!r}")
    w_c, w_e = allocation_weights(allocation)
    f_c, f_e = float(w_c), float(w_e)
    _check_theta0(test, theta0, sided)
    effect = p_e - p_c - theta0
    if not effect > 0.0:
        raise InputError(
            f"`p_e` - `p_c` ({p_e} - {p_c}) must exceed `theta0` ({theta0}): power "
            f"counts rejections in the favourable direction only, so no size "
            f"reaches the target"
        )

    v0, v1 = _variances(test, p_c, p_e, f_c, f_e, theta0)
    z_alpha = float(dist.norm.isf(alpha / sided))
    z_beta = float(dist.norm.ppf(power))
    k = z_alpha * math.sqrt(v0) + z_beta * math.sqrt(v1)
    if v0 == 0.0 and v1 == 0.0:
        # No variance under either hypothesis (z_unpooled at rates 0 and 1): the approximation's power is 1 at any
        # size, so the size is one patient in the smaller arm (the design takes the smallest that carries its
        # looks; a review: every power was refused, also at a configured trial.n_total).
        return 1.0 / min(f_c, f_e)
    if not k > 0.0:
        raise InputError(
            f"`power` ({power}) is below what any positive size gives for these "
            f"rates; use a power of at least 0.5"
        )
    n_total = (k / effect) ** 2
    if test in _CORRECTED_TESTS:
        # N solves effect - h/N = k/sqrt(N): a quadratic in sqrt(N).
        h = 0.5 * (1.0 / f_c + 1.0 / f_e)
        n_total = n_total / 4.0 * (1.0 + math.sqrt(1.0 + 4.0 * h / (n_total * effect))) ** 2
    return float(n_total)


def power_rates(test, p_c, p_e, n_c, n_e, alpha, sided, theta0=0.0):
    """Power in the favourable direction at given arm sizes (normal approximation).

    Parameters
    ----------
    test : str
        As in :func:`sample_size_rates`.
    p_c, p_e : float
        Assumed true rates (oriented, higher is better), in [0, 1].
    n_c, n_e : float
        Arm sizes (need not be whole numbers), > 0.
    alpha : float
        Total significance level.
    sided : int
        1 or 2.
    theta0 : float, optional
        Null risk difference, as in :func:`sample_size_rates`.

    Returns
    -------
    float
        Probability of rejecting H0 in the favourable direction. At
        ``p_e - p_c == theta0`` this is ``alpha / sided`` for the
        uncorrected tests and less for ``chi2_yates`` and ``fisher``.

    Raises
    ------
    InputError
        If an argument is out of range.

    Examples
    --------
    >>> round(power_rates("z_pooled", 0.25, 0.40, 115.44, 230.88, 0.025, 1), 4)
    0.8
    """
    _check_test(test)
    _check_rate(p_c, "p_c")
    _check_rate(p_e, "p_e")
    for value, name in ((n_c, "n_c"), (n_e, "n_e")):
        if not _is_real(value) or not math.isfinite(value) or value <= 0:
            raise InputError(f"`{name}` must be a positive arm size; got {value!r}")
    _check_alpha_sided(alpha, sided)
    _check_theta0(test, theta0, sided)

    n_total = float(n_c) + float(n_e)
    f_c, f_e = n_c / n_total, n_e / n_total
    v0, v1 = _variances(test, p_c, p_e, f_c, f_e, theta0)
    z_alpha = float(dist.norm.isf(alpha / sided))
    cc = 0.5 * (1.0 / n_c + 1.0 / n_e) if test in _CORRECTED_TESTS else 0.0
    margin = p_e - p_c - theta0 - cc - z_alpha * math.sqrt(v0 / n_total)
    sd1 = math.sqrt(v1 / n_total)
    if sd1 == 0.0:
        # Rates of 0 or 1 in both arms: the estimate is certain.
        return 1.0 if margin > 0.0 else 0.0
    return float(dist.norm.cdf(margin / sd1))
