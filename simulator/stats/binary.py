"""Two-arm tests for a binary endpoint, compiled with Numba.

Everything here works on the *oriented* scale: a higher rate is better for
the experimental arm. For a harm (``better = "lower"``) the caller maps the
rates ``p -> 1 - p`` and the counts ``x -> n - x`` before calling. Every test
below is invariant under that relabelling of events and non-events once the
direction is flipped, so nothing here needs to know about ``better``.

Notation: ``c`` is the control arm, ``e`` the experimental arm, ``x`` the
number of events (responders) and ``n`` the arm size. ``theta0`` is the null
risk difference, H0: p_E - p_C <= theta0 (superiority: 0; non-inferiority
with margin M: -M, rpact's ``thetaH0 = -margin``).

The z-type tests are evaluated by :func:`oriented_z`, large positive values
meaning evidence for the experimental arm. Fisher's exact test has no z
statistic; the engine uses :func:`fisher_thresholds`, a table of critical
counts per total number of events, computed once per pair of arm sizes.
"""

import math

import numpy as np

from simulator._jit import kernel

Z_POOLED = 0
Z_UNPOOLED = 1
CHI2_YATES = 2
FISHER = 3
FARRINGTON_MANNING = 4

TEST_CODES = {
    "z_pooled": Z_POOLED,
    "z_unpooled": Z_UNPOOLED,
    "chi2_yates": CHI2_YATES,
    "fisher": FISHER,
    "farrington_manning": FARRINGTON_MANNING,
}

# R's fisher.test (relErr) uses this relative tolerance when it collects the
# tables "no more probable than the observed one", so that tables whose
# probabilities tie in exact arithmetic are not split by rounding error.
FISHER_TIE_TOLERANCE = 1e-7

# Below this probability relative to the mode, the linear-scale recurrence in
# `_relative_pmf` starts to lose digits to subnormal numbers; p-values of
# tables that far out are recomputed on the log scale.
_LOG_FALLBACK = 1e-250


@kernel
def restricted_mle(p_c, p_e, w_c, w_e, theta0):
    """Maximum-likelihood rates under the constraint p_E - p_C = theta0.

    Farrington & Manning (1990), closed-form root of the score equation
    (the cubic of Miettinen & Nurminen 1985 written for group 1 =
    experimental). The same function serves the test statistic (observed
    proportions, arm sizes as weights) and the sample size formulas
    (assumed true rates, allocation as weights), so that there is one
    implementation of the cubic.

    Parameters
    ----------
    p_c, p_e : float
        Observed (or assumed) rates in the control and experimental arm.
    w_c, w_e : float
        Arm sizes, or any positive numbers in the same ratio.
    theta0 : float
        Null risk difference p_E - p_C, in (-1, 1).

    Returns
    -------
    (float, float)
        The restricted estimates ``(p_c_tilde, p_e_tilde)``, with
        ``p_e_tilde - p_c_tilde == theta0`` and both in [0, 1].

    Notes
    -----
    For ``theta0 == 0`` the root is the pooled rate
    ``(w_c p_c + w_e p_e) / (w_c + w_e)``, returned directly rather than
    through the trigonometric formula, which would carry rounding error.

    Examples
    --------
    >>> pc, pe = restricted_mle(0.8, 0.75, 100.0, 100.0, -0.1)
    >>> round(pe - pc, 12)
    -0.1
    """
    if theta0 == 0.0:
        pooled = (w_c * p_c + w_e * p_e) / (w_c + w_e)
        return pooled, pooled
    ratio = w_c / w_e  # Farrington & Manning's theta = n2 / n1, group 1 = E
    d = theta0
    a = 1.0 + ratio
    b = -(1.0 + ratio + p_e + ratio * p_c + d * (ratio + 2.0))
    c = d * d + d * (2.0 * p_e + ratio + 1.0) + p_e + ratio * p_c
    dd = -p_e * d * (1.0 + d)
    v = b ** 3 / (3.0 * a) ** 3 - b * c / (6.0 * a * a) + dd / (2.0 * a)
    radicand = b * b / (3.0 * a) ** 2 - c / (3.0 * a)
    u = math.sqrt(max(radicand, 0.0))
    if v < 0.0:
        u = -u
    if u == 0.0:
        # Triple root: the trigonometric form is 0/0 there.
        pe_t = -b / (3.0 * a)
    else:
        # Rounding can push the cosine argument a hair outside [-1, 1].
        arg = min(max(v / u ** 3, -1.0), 1.0)
        w = (math.pi + math.acos(arg)) / 3.0
        pe_t = 2.0 * u * math.cos(w) - b / (3.0 * a)
    # The admissible range keeps both restricted rates inside [0, 1].
    pe_t = min(max(pe_t, max(0.0, d)), min(1.0, 1.0 + d))
    return pe_t - d, pe_t


@kernel
def _ratio_z(num, se):
    # A zero standard error happens only in degenerate tables (all events or
    # none); then the data either show no difference (0) or an infinitely
    # strong one in the direction of the numerator.
    if se > 0.0:
        return num / se
    if num == 0.0:
        return 0.0
    return math.inf if num > 0.0 else -math.inf


@kernel
def oriented_z(code, xc, nc, xe, ne, theta0):
    """Test statistic on the z scale, positive = evidence that p_E - p_C > theta0.

    Parameters
    ----------
    code : int
        One of ``Z_POOLED``, ``Z_UNPOOLED``, ``CHI2_YATES``,
        ``FARRINGTON_MANNING`` (``FISHER`` gives nan, see Notes).
    xc, nc : int
        Events and size of the control arm.
    xe, ne : int
        Events and size of the experimental arm.
    theta0 : float
        Null risk difference. Used by ``FARRINGTON_MANNING`` and
        ``Z_UNPOOLED`` (numerator ``pe - pc - theta0``); ignored by
        ``Z_POOLED`` and ``CHI2_YATES``, which test p_E = p_C only (a pooled
        variance is the variance under equality, so it has no meaning for
        ``theta0 != 0``; callers pair a margin with Farrington-Manning).

    Returns
    -------
    float
        - ``Z_POOLED``: (pe - pc) / sqrt(pbar (1 - pbar) (1/nc + 1/ne)).
        - ``Z_UNPOOLED``: (pe - pc - theta0) / sqrt(pe qe / ne + pc qc / nc).
        - ``CHI2_YATES``: sign(pe - pc) * sqrt(X2), X2 the Yates-corrected
          Pearson chi-square, equal to
          ``(|ad - bc| - N/2)_+^2 N / (r1 r2 c1 c2)``; 0 when
          ``|ad - bc| < N/2`` (the correction never exceeds |O - E|, as in
          ``scipy.stats.chi2_contingency(correction=True)``).
        - ``FARRINGTON_MANNING``: (pe - pc - theta0) / sqrt(p~e q~e / ne +
          p~c q~c / nc) with the restricted MLE of :func:`restricted_mle`
          (no N/(N-1) factor: not Miettinen-Nurminen).
        - ``FISHER`` or an unknown code: nan (use :func:`fisher_thresholds`).

    Notes
    -----
    Degenerate cases never give nan: when the standard error is 0 (for
    example no events in either arm) the result is 0.0 if the numerator is
    0 and +/-inf with the numerator's sign otherwise. An empty arm
    (``nc == 0`` or ``ne == 0``) carries no comparison and gives 0.0.
    Counts must satisfy 0 <= x <= n (not checked).

    Examples
    --------
    >>> round(oriented_z(Z_POOLED, 30, 100, 45, 100, 0.0), 6)
    2.19089
    """
    if nc <= 0 or ne <= 0:
        return 0.0
    pc = xc / nc
    pe = xe / ne
    if code == Z_POOLED:
        pbar = (xc + xe) / (nc + ne)
        se = math.sqrt(max(pbar * (1.0 - pbar), 0.0) * (1.0 / nc + 1.0 / ne))
        return _ratio_z(pe - pc, se)
    if code == Z_UNPOOLED:
        var = pe * (1.0 - pe) / ne + pc * (1.0 - pc) / nc
        return _ratio_z(pe - pc - theta0, math.sqrt(max(var, 0.0)))
    if code == CHI2_YATES:
        total = nc + ne
        events = xc + xe
        # Rows are the arms, columns event / non-event: ad - bc has the sign
        # of pe - pc, and a zero margin makes it 0, which also covers the
        # tables scipy rejects for a zero expected count.
        cross = float(xe) * (nc - xc) - float(ne - xe) * xc
        excess = abs(cross) - 0.5 * total
        if excess <= 0.0:
            return 0.0
        chi2 = excess * excess * total / (float(nc) * ne * events * (total - events))
        z = math.sqrt(chi2)
        return z if cross > 0 else -z
    if code == FARRINGTON_MANNING:
        pc_t, pe_t = restricted_mle(pc, pe, float(nc), float(ne), theta0)
        var = pe_t * (1.0 - pe_t) / ne + pc_t * (1.0 - pc_t) / nc
        return _ratio_z(pe - pc - theta0, math.sqrt(max(var, 0.0)))
    return math.nan


@kernel
def _support(nc, ne, m):
    """Range of X_E given m events in total: max(0, m - nc) .. min(ne, m)."""
    return max(0, m - nc), min(ne, m)


@kernel
def _relative_pmf(nc, ne, m, buf):
    """Hypergeometric pmf of X_E given m, scaled so that the mode is 1.

    Fills ``buf[k - lo]`` for k in the support and returns
    ``(lo, hi, S, mode)`` with S the sum of the scaled values (summed from lo
    upwards), so that ``P(X_E = k) = buf[k - lo] / S``.

    Working relative to the mode avoids both the normalising binomial
    coefficient (which overflows for large arms) and underflow where it
    matters: every table that could be near a decision has a scaled
    probability far above the smallest double. Each step multiplies by a
    ratio of exact integers, so the error grows by about one ulp per step.
    The ratio is <= 1 on the right of the mode and the product is correctly
    rounded, so the computed sequence is exactly non-increasing there (and
    non-decreasing on the left), which the threshold search relies on.
    """
    lo, hi = _support(nc, ne, m)
    total = nc + ne
    # r(k+1) <= r(k) iff k + 1 >= (m+1)(ne+1)/(N+2): the floor is a mode.
    mode = ((m + 1) * (ne + 1)) // (total + 2)
    mode = min(max(mode, lo), hi)
    buf[mode - lo] = 1.0
    for k in range(mode, hi):
        ratio = float((ne - k) * (m - k)) / float((k + 1) * (nc - m + k + 1))
        buf[k + 1 - lo] = buf[k - lo] * ratio
    for k in range(mode, lo, -1):
        ratio = float(k * (nc - m + k)) / float((ne - k + 1) * (m - k + 1))
        buf[k - 1 - lo] = buf[k - lo] * ratio
    s = 0.0
    for k in range(lo, hi + 1):
        s += buf[k - lo]
    return lo, hi, s, mode


@kernel
def _log_choose(n, k):
    return math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)


@kernel
def _log_pvalue_far_tail(xc, nc, xe, ne, sided):
    """P-value on the log scale, for a table far out in a tail.

    Used only when the observed table's probability is below 1e-250 times
    the mode's, where the linear recurrence would pass through subnormal
    numbers. Sums exp(l_k - l_obs) over the tables counted, each term at
    most 1 + tolerance, then scales by exp(l_obs).
    """
    m = xc + xe
    lo, hi = _support(nc, ne, m)
    logs = np.empty(hi - lo + 1)
    _log_pmf(nc, ne, m, lo, hi, logs)
    return _far_tail_pvalue(logs, lo, hi, xe, sided)


@kernel
def _log_pmf(nc, ne, m, lo, hi, logs):
    """``logs[k - lo]``: the log probability of each table ``k`` of the margin ``m`` (``lgamma``)."""
    log_norm = _log_choose(nc + ne, m)
    for k in range(lo, hi + 1):
        logs[k - lo] = _log_choose(ne, k) + _log_choose(nc, m - k) - log_norm


@kernel
def _far_tail_pvalue(logs, lo, hi, xe, sided):
    """:func:`_log_pvalue_far_tail` from the margin's log probabilities (:func:`_log_pmf`)."""
    l_obs = logs[xe - lo]
    cut = math.log1p(FISHER_TIE_TOLERANCE)
    s = 0.0
    for k in range(lo, hi + 1):
        lk = logs[k - lo]
        if sided == 1:
            if k >= xe:
                s += math.exp(lk - l_obs)
        elif lk - l_obs <= cut:
            s += math.exp(lk - l_obs)
    return math.exp(l_obs) * s


@kernel
def _far_edge(buf, lo, hi, nc, ne, m, start, step, level, sided, certain, logs):
    """The far tail at one end of the support, where p-values are tiny.

    The tables from ``start`` (``hi`` with ``step = -1``, ``lo`` with
    ``step = +1``) inwards while they lie below ``_LOG_FALLBACK`` relative
    to the mode form a run whose p-values grow inwards, so the rejecting
    ones are a prefix of it. When ``certain`` (the level is above any
    p-value such a table can have) all of them reject; otherwise the
    prefix is found by bisection on the log-scale p-values (the margin's
    log probabilities computed once into ``logs``, then O(support) sums
    each; the arithmetic of :func:`fisher_pvalue`'s far-tail branch).
    Returns ``(end, last)``: the run's last table and the last rejecting
    one (``start - step`` when none; ``end = start - step`` when there is
    no run).
    """
    if buf[start - lo] >= _LOG_FALLBACK:
        return start - step, start - step
    end = start
    while lo <= end + step <= hi and buf[end + step - lo] < _LOG_FALLBACK:
        end += step
    if certain:
        return end, end
    _log_pmf(nc, ne, m, lo, hi, logs)
    good = -1
    bad = (end - start) * step + 1
    while bad - good > 1:
        mid = (good + bad) // 2
        xe = start + mid * step
        if _far_tail_pvalue(logs, lo, hi, xe, sided) <= level:
            good = mid
        else:
            bad = mid
    return end, start + good * step


@kernel
def _two_sided_sums(buf, lo, hi, t):
    """Mass of the tables with scaled probability <= t.

    The pmf is unimodal, so its super-level sets are intervals and the
    tables counted are a prefix lo..a plus a suffix b..hi. Returns
    ``(a, b, prefix_sum, suffix_sum)``, each sum accumulated outwards-in
    from its end, the order the threshold search uses too, so that both
    give bit-identical p-values.
    """
    a = lo - 1
    prefix = 0.0
    while a + 1 <= hi and buf[a + 1 - lo] <= t:
        a += 1
        prefix += buf[a - lo]
    b = hi + 1
    suffix = 0.0
    while b - 1 > a and buf[b - 1 - lo] <= t:
        b -= 1
        suffix += buf[b - lo]
    return a, b, prefix, suffix


@kernel
def fisher_pvalue(xc, nc, xe, ne, sided):
    """Fisher's exact test p-value for a 2x2 table.

    Parameters
    ----------
    xc, nc : int
        Events and size of the control arm.
    xe, ne : int
        Events and size of the experimental arm.
    sided : int
        1: one-sided p-value in the favourable direction,
        P(X_E >= xe | m = xc + xe) under the hypergeometric null.
        2: the conventional two-sided p-value, the probability of all tables
        with the same margins that are no more probable than the observed
        one (relative tolerance 1 + 1e-7 for ties, as R's ``fisher.test``).

    Returns
    -------
    float
        The p-value; 1.0 when a margin is 0 (a single possible table).
        Counts must satisfy 0 <= x <= n; kernels do not check (they run
        inside simulation loops), and ``sided`` other than 1 or 2 raises.

    Notes
    -----
    Exact up to rounding (relative error of order 1e-12) for arm sizes in
    the thousands: probabilities are computed relative to the mode by an
    exact-ratio recurrence, and tables more than 1e-250 times less probable
    than the mode on the log scale with ``lgamma``.

    Examples
    --------
    >>> round(fisher_pvalue(1, 6, 8, 10, 2), 6)  # scipy: fisher_exact([[8, 2], [1, 5]])
    0.034965
    """
    if sided != 1 and sided != 2:
        raise ValueError("fisher_pvalue: sided must be 1 or 2")
    m = xc + xe
    lo, hi = _support(nc, ne, m)
    buf = np.empty(hi - lo + 1)
    lo, hi, s, mode = _relative_pmf(nc, ne, m, buf)
    r_obs = buf[xe - lo]
    # One-sided p-values below the mode are large and need no fallback (and
    # the log-scale sum would overflow there).
    if r_obs < _LOG_FALLBACK and (sided == 2 or xe > mode):
        return _log_pvalue_far_tail(xc, nc, xe, ne, sided)
    if sided == 1:
        tail = 0.0
        for k in range(hi, xe - 1, -1):
            tail += buf[k - lo]
        return min(tail / s, 1.0)
    a, b, prefix, suffix = _two_sided_sums(buf, lo, hi, r_obs * (1.0 + FISHER_TIE_TOLERANCE))
    if a == hi:
        # Every table counted: the observed one is (tied with) the mode.
        return 1.0
    return min((prefix + suffix) / s, 1.0)


@kernel
def fisher_thresholds(nc, ne, level, sided):
    """Critical numbers of experimental events for Fisher's exact test.

    Parameters
    ----------
    nc, ne : int
        Arm sizes (control, experimental).
    level : float
        Significance level the p-value is compared with (``p <= level``
        rejects). For ``sided = 2`` this is the total two-sided level.
    sided : int
        1 (one-sided, favourable direction) or 2 (two-sided p-value).

    Returns
    -------
    fav, unf : ndarray of int64, length nc + ne + 1
        Indexed by the total number of events m. Reject in the favourable
        direction iff ``xe >= fav[m]``; in the unfavourable direction iff
        ``xe <= unf[m]``. Where no table rejects, ``fav[m]`` is the largest
        possible xe plus one and ``unf[m]`` the smallest minus one; for
        ``sided = 1``, ``unf[m] = -1`` (never).

    Notes
    -----
    The decisions are exactly those of ``fisher_pvalue(...) <= level``
    (same arithmetic, same summation order). With ``sided = 2`` a table is
    favourable when ``xe * nc > xc * ne`` (experimental rate higher), that
    is xe above the null mean m ne / N.

    The rejection regions are tails: the one-sided p-value decreases in xe;
    for the two-sided one, r(k+1) <= r(k) iff k + 1 >= (m+1)(ne+1)/(N+2),
    and that bound is at most one above the mean m ne / N, so the pmf is
    non-increasing above the mean (non-decreasing below it). Moving away
    from the mean therefore lowers the observed probability, shrinks the
    set of tables no more probable than it, and lowers the p-value.

    Each m costs O(support) with two monotone pointers, so the total is
    O((nc + ne) min(nc, ne)): tens of milliseconds for 2000 vs 2000. A
    level below about 1e-246 adds, for each m with a far tail, its log
    probabilities and a bisection over them (0.5 to 1 s at 2000 vs 2000).

    Examples
    --------
    >>> fav, unf = fisher_thresholds(10, 10, 0.05, 2)
    >>> int(fav[10]), int(unf[10])  # 10 events: reject at 8+ or 2- of 10
    (8, 2)

    At level 0 no table rejects (no p-value is 0):

    >>> fav, unf = fisher_thresholds(600, 600, 0.0, 1)
    >>> bool((fav == np.minimum(np.arange(1201), 600) + 1).all())
    True
    """
    if sided != 1 and sided != 2:
        raise ValueError("fisher_thresholds: sided must be 1 or 2")
    total = nc + ne
    fav = np.empty(total + 1, dtype=np.int64)
    unf = np.empty(total + 1, dtype=np.int64)
    buf = np.empty(min(nc, ne) + 1)
    logs = np.empty(min(nc, ne) + 1)
    mult = 1.0 + FISHER_TIE_TOLERANCE
    # A table below _LOG_FALLBACK relative to the mode (s >= 1) has a p-value
    # below (total + 1) * 1.0000001e-250: a level above that rejects it
    # without its log-scale p-value.
    certain = level >= (total + 1) * 1e-249
    for m in range(total + 1):
        lo, hi, s, mode = _relative_pmf(nc, ne, m, buf)
        if level <= 0.0:
            # No p-value is 0: a look that spends no alpha (efficacy bound +inf) rejects nowhere, also at the
            # tables whose p-value the log-scale branch below takes as 0 (a code review).
            fav[m] = hi + 1
            unf[m] = -1 if sided == 1 else lo - 1
            continue
        if sided == 1:
            unf[m] = -1
            end, fav[m] = _far_edge(buf, lo, hi, nc, ne, m, hi, -1, level, 1, certain, logs)
            if fav[m] != end:
                continue  # a table of the far tail does not reject
            tail = 0.0
            for k in range(hi, end - 1, -1):
                tail += buf[k - lo]
            for k in range(end - 1, lo - 1, -1):
                tail += buf[k - lo]
                if min(tail / s, 1.0) <= level:
                    fav[m] = k
                else:
                    break
            continue

        # Two-sided. Favourable side: walk down from hi while rejecting;
        # the threshold t only grows, so the prefix end a only moves right
        # and the suffix start b only moves left.
        end, fav[m] = _far_edge(buf, lo, hi, nc, ne, m, hi, -1, level, 2, certain, logs)
        a = lo - 1
        prefix = 0.0
        b = hi + 1
        suffix = 0.0
        for k in range(end - 1 if fav[m] == end else lo - 1, lo - 1, -1):
            if k * total <= m * ne:
                break  # not favourable: at or below the null mean
            r = buf[k - lo]
            t = r * mult
            while a + 1 <= hi and buf[a + 1 - lo] <= t:
                a += 1
                prefix += buf[a - lo]
            if a == hi:
                break  # p-value 1
            while b - 1 > a and buf[b - 1 - lo] <= t:
                b -= 1
                suffix += buf[b - lo]
            if min((prefix + suffix) / s, 1.0) <= level:
                fav[m] = k
            else:
                break

        end, unf[m] = _far_edge(buf, lo, hi, nc, ne, m, lo, 1, level, 2, certain, logs)
        a = lo - 1
        prefix = 0.0
        b = hi + 1
        suffix = 0.0
        for k in range(end + 1 if unf[m] == end else hi + 1, hi + 1):
            if k * total >= m * ne:
                break
            r = buf[k - lo]
            t = r * mult
            while a + 1 <= hi and buf[a + 1 - lo] <= t:
                a += 1
                prefix += buf[a - lo]
            if a == hi:
                break
            while b - 1 > a and buf[b - 1 - lo] <= t:
                b -= 1
                suffix += buf[b - lo]
            if min((prefix + suffix) / s, 1.0) <= level:
                unf[m] = k
            else:
                break
    return fav, unf
