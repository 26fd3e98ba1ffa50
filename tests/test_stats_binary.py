"""Binary-endpoint test statistics against independent implementations.

References: scipy.stats (Fisher's exact test, Yates-corrected chi-square) and
statsmodels.stats.proportion (pooled, Wald and score tests). Both compute in
floating point by different routes (boost's hypergeometric for scipy, a
cubic in the control rate for statsmodels' score test), so agreement is
expected to rounding error; the tolerances below allow a few hundred ulps.
"""

import math
import warnings

import numpy as np
import pytest
from scipy import optimize, stats

# Imported as a module: pytest would collect a bare `test_proportions_2indep`.
from statsmodels.stats import proportion as sm_prop

from simulator.stats import binary as b
from simulator.stats.binary import (
    CHI2_YATES,
    FARRINGTON_MANNING,
    FISHER,
    TEST_CODES,
    Z_POOLED,
    Z_UNPOOLED,
    fisher_pvalue,
    fisher_thresholds,
    oriented_z,
    restricted_mle,
)

N_TABLES = 1000
# Relative error of the p-values: the recurrence loses about one ulp per
# step (<= 4000 steps, ~1e-12) and scipy's boost routines are of the same
# order. 1e-9 leaves a wide margin and would still catch any wrong term.
P_RTOL = 1e-9
# Statistics: a handful of floating operations on each side.
Z_RTOL = 1e-10
# P-values below the smallest normal double lose relative precision.
P_ATOL = 1e-300


def random_tables(seed, count=N_TABLES):
    """Tables (xc, nc, xe, ne): sizes 1..300 plus a few up to 2000.

    A quarter of the tables have an empty or full cell in one arm, the rest
    have binomial counts around random rates, so that both typical and
    extreme tables (tiny p-values, zero cells) are covered.
    """
    rng = np.random.default_rng(seed)
    tables = []
    for i in range(count):
        if i % 50 == 0:
            nc, ne = rng.integers(300, 2001, size=2)
        else:
            nc, ne = rng.integers(1, 301, size=2)
        pc, pe = rng.uniform(0.0, 1.0, size=2)
        xc, xe = rng.binomial(nc, pc), rng.binomial(ne, pe)
        kind = rng.integers(8)
        if kind == 0:
            xc = 0
        elif kind == 1:
            xe = ne
        tables.append((int(xc), int(nc), int(xe), int(ne)))
    return tables


def relabel(xc, nc, xe, ne):
    """Swap events and non-events (what the caller does for `better = lower`)."""
    return nc - xc, nc, ne - xe, ne


def test_codes_are_consistent():
    assert TEST_CODES == {
        "z_pooled": Z_POOLED,
        "z_unpooled": Z_UNPOOLED,
        "chi2_yates": CHI2_YATES,
        "fisher": FISHER,
        "farrington_manning": FARRINGTON_MANNING,
    }
    assert sorted(TEST_CODES.values()) == [0, 1, 2, 3, 4]


# --- Fisher's exact test -------------------------------------------------


def scipy_fisher(xc, nc, xe, ne, alternative):
    # Row 0 is the experimental arm, column 0 the events: scipy's 'greater'
    # is then P(X_E >= xe), the favourable one-sided p-value.
    table = [[xe, ne - xe], [xc, nc - xc]]
    return stats.fisher_exact(table, alternative=alternative).pvalue


@pytest.mark.parametrize("sided, alternative", [(1, "greater"), (2, "two-sided")])
def test_fisher_pvalue_matches_scipy(sided, alternative):
    tables = random_tables(seed=20250801 + sided)
    ours = np.array([fisher_pvalue(*t, sided) for t in tables])
    ref = np.array([scipy_fisher(*t, alternative) for t in tables])
    np.testing.assert_allclose(ours, ref, rtol=P_RTOL, atol=P_ATOL)


@pytest.mark.parametrize(
    "xc, xe",
    [(1000, 1000), (1000, 1061), (950, 1050), (200, 330), (0, 15), (2000, 1990), (30, 0)],
)
@pytest.mark.parametrize("sided, alternative", [(1, "greater"), (2, "two-sided")])
def test_fisher_pvalue_2000_vs_2000(xc, xe, sided, alternative):
    # Includes p-values near 1, near 0.05 and far below 1e-20.
    ours = fisher_pvalue(xc, 2000, xe, 2000, sided)
    ref = scipy_fisher(xc, 2000, xe, 2000, alternative)
    assert ours == pytest.approx(ref, rel=P_RTOL, abs=P_ATOL)


def test_fisher_pvalue_tiny_tail_uses_log_scale():
    # P(X_E >= 2000 | m = 2000) = 1 / C(4000, 2000), about 1e-1203: below
    # the smallest double, so 0; and tails around 1e-289, where the linear
    # recurrence would run through subnormals.
    assert fisher_pvalue(0, 2000, 2000, 2000, 1) == 0.0
    assert fisher_pvalue(0, 2000, 2000, 2000, 2) == 0.0
    xc, xe = 300, 1400
    for sided, alternative in [(1, "greater"), (2, "two-sided")]:
        ref = scipy_fisher(xc, 2000, xe, 2000, alternative)
        assert 0.0 < ref < 1e-250
        assert fisher_pvalue(xc, 2000, xe, 2000, sided) == pytest.approx(ref, rel=P_RTOL)


def test_fisher_pvalue_degenerate_margins_give_one():
    for table in [(0, 10, 0, 12), (10, 10, 12, 12), (0, 0, 3, 5), (2, 4, 0, 0)]:
        assert fisher_pvalue(*table, 1) == 1.0
        assert fisher_pvalue(*table, 2) == 1.0


def test_fisher_relabelling():
    # Relabelling events turns the favourable tail into the other one:
    # P(X_E' >= ne - xe) = P(X_E <= xe) = P(X_C >= xc), the one-sided
    # p-value with the arms' roles swapped. The two-sided p-value is
    # unchanged.
    for t in random_tables(seed=7, count=300):
        xc, nc, xe, ne = t
        flipped = relabel(*t)
        assert fisher_pvalue(*flipped, 1) == pytest.approx(
            fisher_pvalue(xe, ne, xc, nc, 1), rel=P_RTOL, abs=P_ATOL
        )
        assert fisher_pvalue(*flipped, 2) == pytest.approx(
            fisher_pvalue(*t, 2), rel=P_RTOL, abs=P_ATOL
        )


def random_margins(seed, count):
    rng = np.random.default_rng(seed)
    margins = [(1, 1), (1, 7), (5, 5), (13, 2)]
    margins += [tuple(int(v) for v in rng.integers(1, 61, size=2)) for _ in range(count)]
    return margins


@pytest.mark.parametrize("sided", [1, 2])
@pytest.mark.parametrize("level", [0.05, 0.025, 0.2])
def test_fisher_thresholds_match_pvalues(sided, level):
    # Every table of every margin: the threshold decision must be exactly
    # fisher_pvalue(...) <= level (both share the arithmetic, so there is no
    # tolerance), which also shows that the rejection regions are tails.
    for nc, ne in random_margins(seed=11 + sided, count=12):
        fav, unf = fisher_thresholds(nc, ne, level, sided)
        assert fav.dtype == np.int64 and fav.shape == (nc + ne + 1,)
        for m in range(nc + ne + 1):
            lo, hi = max(0, m - nc), min(ne, m)
            assert fav[m] <= hi + 1
            assert unf[m] >= (-1 if sided == 1 else lo - 1)
            for xe in range(lo, hi + 1):
                xc = m - xe
                rejected = fisher_pvalue(xc, nc, xe, ne, sided) <= level
                if sided == 1:
                    assert (xe >= fav[m]) == rejected
                    assert unf[m] == -1
                else:
                    assert (xe >= fav[m]) == (rejected and xe * nc > xc * ne)
                    assert (xe <= unf[m]) == (rejected and xe * nc < xc * ne)


def test_fisher_thresholds_large_margins_spot_check():
    nc, ne = 300, 170
    fav, unf = fisher_thresholds(nc, ne, 0.05, 2)
    for m in (0, 1, 40, 235, 469, 470):
        lo, hi = max(0, m - nc), min(ne, m)
        for xe in range(lo, hi + 1):
            xc = m - xe
            rejected = fisher_pvalue(xc, nc, xe, ne, 2) <= 0.05
            assert (xe >= fav[m]) == (rejected and xe * nc > xc * ne)
            assert (xe <= unf[m]) == (rejected and xe * nc < xc * ne)


def test_fisher_thresholds_relabelling():
    # Relabelling maps m -> N - m and xe -> ne - xe, and the favourable
    # region onto the unfavourable one: unf[m] = ne - fav'[N - m]. The
    # level is one that no p-value of these small margins equals exactly,
    # so that rounding cannot split a tie.
    level = 0.0512345
    for nc, ne in random_margins(seed=5, count=10):
        fav, unf = fisher_thresholds(nc, ne, level, 2)
        total = nc + ne
        for m in range(total + 1):
            assert unf[m] == ne - fav[total - m]


@pytest.mark.parametrize("sided", [1, 2])
@pytest.mark.parametrize("level", [1e-300, 1e-255, 1e-246])
def test_fisher_thresholds_far_tails_at_tiny_levels(sided, level):
    # With 450 vs 600 the tables of the middle margins reach below 1e-250 of
    # the mode, where p-values are taken on the log scale. A level below
    # what such a table's p-value can be (an asUser look spending almost
    # nothing) must still reject exactly the tables whose p-value is <= level:
    # before, every far-tail table rejected (margins 561 to 635 differed at 1e-300).
    nc, ne = 450, 600
    fav, unf = fisher_thresholds(nc, ne, level, sided)
    for m in (400, 450, 525, 600, 700):
        lo, hi = max(0, m - nc), min(ne, m)
        for xe in range(lo, hi + 1):
            xc = m - xe
            rejected = fisher_pvalue(xc, nc, xe, ne, sided) <= level
            if sided == 1:
                assert (xe >= fav[m]) == rejected
            else:
                assert (xe >= fav[m]) == (rejected and xe * nc > xc * ne)
                assert (xe <= unf[m]) == (rejected and xe * nc < xc * ne)


def test_fisher_thresholds_2000_vs_2000():
    # Speed is measured in benchmarks/ (not asserted here); this checks the large case is right.
    fav, unf = fisher_thresholds(2000, 2000, 0.05, 2)
    # Spot check against scipy at the median margin: the first rejecting xe
    # rejects and the one before does not.
    m = 2000
    k = int(fav[m])
    assert scipy_fisher(m - k, 2000, k, 2000, "two-sided") <= 0.05
    assert scipy_fisher(m - k + 1, 2000, k - 1, 2000, "two-sided") > 0.05


def test_fisher_bad_sided_raises():
    with pytest.raises(ValueError, match="sided"):
        fisher_pvalue(1, 5, 2, 5, 3)
    with pytest.raises(ValueError, match="sided"):
        fisher_thresholds(5, 5, 0.05, 0)


# --- z-type statistics ---------------------------------------------------


def nondegenerate(tables, se):
    """The tables whose standard error is positive: at least 95% of them, so a test over them is not vacuous."""
    kept = [t for t in tables if se(*t) > 0]
    assert len(kept) >= 0.95 * len(tables), (len(kept), len(tables))
    return kept


def test_yates_matches_scipy_chi2_contingency():
    tables = random_tables(seed=3)
    # scipy refuses zero expected counts (no events at all, or only events): there z is 0.
    degenerate = [t for t in tables if t[0] + t[2] in (0, t[1] + t[3])]
    assert 0 < len(degenerate) < 0.05 * len(tables)
    for t in degenerate:
        assert oriented_z(CHI2_YATES, *t, 0.0) == 0.0
    signed = 0
    for xc, nc, xe, ne in (t for t in tables if t not in degenerate):
        z = oriented_z(CHI2_YATES, xc, nc, xe, ne, 0.0)
        table = [[xe, ne - xe], [xc, nc - xc]]
        chi2 = stats.chi2_contingency(table, correction=True)[0]
        assert z * z == pytest.approx(chi2, rel=Z_RTOL, abs=1e-12)
        # The sign is the direction of the difference; a statistic of 0 has none to check.
        if chi2 > 0:
            assert math.copysign(1.0, z) == np.sign(xe / ne - xc / nc)
            signed += 1
    assert signed >= 0.9 * len(tables)


def test_yates_correction_caps_at_zero():
    # |ad - bc| = |3*4 - 4*3| = 0 < N/2, and |ad - bc| = 1 < N/2: both 0.
    assert oriented_z(CHI2_YATES, 3, 7, 3, 7, 0.0) == 0.0
    assert oriented_z(CHI2_YATES, 3, 7, 4, 8, 0.0) == 0.0


def test_pooled_matches_statsmodels():
    def pooled_se(xc, nc, xe, ne):
        p = (xc + xe) / (nc + ne)
        return p * (1 - p)

    for xc, nc, xe, ne in nondegenerate(random_tables(seed=4), pooled_se):
        ref = sm_prop.proportions_ztest([xe, xc], [ne, nc], value=0)[0]
        # theta0 is ignored by the pooled test (documented).
        for theta0 in (0.0, -0.1):
            z = oriented_z(Z_POOLED, xc, nc, xe, ne, theta0)
            assert z == pytest.approx(ref, rel=Z_RTOL, abs=1e-12)


def test_unpooled_matches_statsmodels_wald():
    def wald_var(xc, nc, xe, ne):
        return xc * (nc - xc) + xe * (ne - xe)

    rng = np.random.default_rng(8)
    for xc, nc, xe, ne in nondegenerate(random_tables(seed=5), wald_var):
        theta0 = 0.0 if rng.random() < 0.5 else rng.uniform(-0.2, 0.0)
        # statsmodels: sample 1 = experimental, statistic for p1 - p2 - value.
        # (It also computes ratios that divide by zero on zero cells.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = sm_prop.test_proportions_2indep(
                xe, ne, xc, nc, value=theta0, method="wald", compare="diff"
            ).statistic
        z = oriented_z(Z_UNPOOLED, xc, nc, xe, ne, theta0)
        assert z == pytest.approx(ref, rel=Z_RTOL, abs=1e-12)


def fm_reference(xc, nc, xe, ne, d):
    """Farrington-Manning z from the Miettinen-Nurminen cubic in the control rate.

    This is statsmodels' ``score_test_proportions_2indep(compare="diff",
    correction=False)`` with its linear coefficient corrected: statsmodels
    0.14-0.15 has ``count0 * diff`` where ``nobs0 * diff`` belongs
    (statsmodels issue #10269, PR #10270), so its constrained estimate does
    not maximise the likelihood when ``value != 0``. Solving for the control
    rate (we solve for the experimental one, as Farrington & Manning) keeps
    the reference independent of our algebra.
    """
    n, c = nc + ne, xc + xe
    l3 = n
    l2 = (ne + 2 * nc) * d - n - c
    l1 = (nc * d - n - 2 * xc) * d + c
    l0 = xc * d * (1 - d)
    q = (l2 / (3 * l3)) ** 3 - l1 * l2 / (6 * l3**2) + l0 / (2 * l3)
    p = np.sign(q) * np.sqrt(max((l2 / (3 * l3)) ** 2 - l1 / (3 * l3), 0.0))
    angle = (np.pi + np.arccos(np.clip(q / p**3, -1.0, 1.0))) / 3
    pc = 2 * p * np.cos(angle) - l2 / (3 * l3)
    pe = pc + d
    var = pe * (1 - pe) / ne + pc * (1 - pc) / nc
    return (xe / ne - xc / nc - d) / np.sqrt(var)


def test_farrington_manning_matches_reference():
    rng = np.random.default_rng(9)
    for xc, nc, xe, ne in random_tables(seed=6):
        theta0 = rng.uniform(-0.2, 0.0)
        z = oriented_z(FARRINGTON_MANNING, xc, nc, xe, ne, theta0)
        assert np.isfinite(z)
        # Two trigonometric root formulas: measured agreement 3e-12.
        assert z == pytest.approx(fm_reference(xc, nc, xe, ne, theta0), rel=1e-9, abs=1e-9)


def restricted_loglik(xc, nc, xe, ne, pc, pe):
    return stats.binom.logpmf(xc, nc, pc) + stats.binom.logpmf(xe, ne, pe)


def test_farrington_manning_versus_statsmodels():
    # statsmodels' score test (sample 1 = experimental, value = theta0,
    # correction=False is Farrington-Manning) is the reference the brief
    # named, but its constrained MLE is off for value != 0 (see
    # fm_reference). Check instead that our restricted estimates reach at
    # least statsmodels' likelihood on every table, and that the statistics
    # coincide at value = 0, where statsmodels' estimate is the maximiser.
    rng = np.random.default_rng(9)
    at_zero = likelihood_compared = 0
    for xc, nc, xe, ne in random_tables(seed=6, count=300):
        theta0 = rng.uniform(-0.2, 0.0) if rng.random() < 0.8 else 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sm_prop.test_proportions_2indep(
                xe, ne, xc, nc, value=theta0, method="score", compare="diff",
                correction=False,
            )
        pc_t, pe_t = restricted_mle(xc / nc, xe / ne, float(nc), float(ne), theta0)
        sm_pe, sm_pc = float(res.prop1_null), float(res.prop2_null)
        ours = restricted_loglik(xc, nc, xe, ne, pc_t, pe_t)
        with np.errstate(all="ignore"):
            theirs = restricted_loglik(xc, nc, xe, ne, sm_pc, sm_pe)
        if theta0 == 0.0:
            # No bug to work around: same estimate, same statistic, on every table.
            assert pc_t == pytest.approx(sm_pc, abs=1e-10)
            z = oriented_z(FARRINGTON_MANNING, xc, nc, xe, ne, theta0)
            assert z == pytest.approx(res.statistic, rel=1e-9, abs=1e-9)
            at_zero += 1
        if np.isfinite(theirs):  # else statsmodels' root left [0, 1]: nothing to compare
            assert ours >= theirs - 1e-9
            likelihood_compared += 1
    # About a fifth of the 300 tables have value = 0; statsmodels' root leaves [0, 1] on a few.
    assert at_zero >= 40
    assert likelihood_compared >= 280


def test_farrington_manning_with_zero_margin_is_pooled():
    for t in random_tables(seed=10, count=200):
        # Same formula, weights summed in a different order: a few ulps.
        assert oriented_z(FARRINGTON_MANNING, *t, 0.0) == pytest.approx(
            oriented_z(Z_POOLED, *t, 0.0), rel=1e-13, abs=1e-13
        )


def test_restricted_mle_maximises_constrained_likelihood():
    # Independent check of the cubic: maximise the binomial log likelihood
    # along p_E = p_C + theta0 numerically.
    cases = [(12, 40, 9, 35, -0.1), (0, 20, 0, 30, -0.15), (20, 20, 5, 25, -0.05),
             (3, 50, 30, 50, -0.2), (7, 10, 1, 90, 0.1)]

    def negloglik(pc, xc, nc, xe, ne, d):
        return -(stats.binom.logpmf(xc, nc, pc) + stats.binom.logpmf(xe, ne, pc + d))

    for xc, nc, xe, ne, d in cases:
        pc_t, pe_t = restricted_mle(xc / nc, xe / ne, float(nc), float(ne), d)
        assert pe_t - pc_t == pytest.approx(d, abs=1e-12)
        lo, hi = max(0.0, -d), min(1.0, 1.0 - d)
        best = optimize.minimize_scalar(
            negloglik, bounds=(lo + 1e-12, hi - 1e-12), method="bounded",
            args=(xc, nc, xe, ne, d), options={"xatol": 1e-10},
        )
        # The bounded search stops within ~1e-9 of the optimum.
        assert pc_t == pytest.approx(best.x, abs=1e-6)


@pytest.mark.parametrize("code", [Z_POOLED, Z_UNPOOLED, CHI2_YATES, FARRINGTON_MANNING])
def test_z_relabelling(code):
    # With events and non-events swapped, the oriented statistic for theta0
    # equals the original data's statistic for the reversed hypothesis
    # (-theta0, sign flipped), which is the same as swapping the arms.
    rng = np.random.default_rng(12 + code)
    for t in random_tables(seed=13, count=300):
        theta0 = 0.0
        if code in (Z_UNPOOLED, FARRINGTON_MANNING):
            theta0 = rng.uniform(-0.2, 0.0)
        xc, nc, xe, ne = t
        flipped = oriented_z(code, *relabel(*t), theta0)
        assert flipped == pytest.approx(-oriented_z(code, *t, -theta0), rel=Z_RTOL, abs=1e-12)
        assert flipped == pytest.approx(oriented_z(code, xe, ne, xc, nc, theta0), rel=Z_RTOL, abs=1e-12)


def test_degenerate_tables_are_defined():
    # Zero standard error: 0 for no difference, +/-inf for a certain one.
    assert oriented_z(Z_POOLED, 0, 10, 0, 12, 0.0) == 0.0
    assert oriented_z(Z_POOLED, 10, 10, 12, 12, 0.0) == 0.0
    assert oriented_z(Z_UNPOOLED, 0, 10, 12, 12, 0.0) == math.inf
    assert oriented_z(Z_UNPOOLED, 10, 10, 0, 12, 0.0) == -math.inf
    assert oriented_z(Z_UNPOOLED, 0, 10, 0, 12, 0.0) == 0.0
    assert oriented_z(Z_UNPOOLED, 0, 10, 0, 12, -0.1) == math.inf
    assert oriented_z(CHI2_YATES, 0, 10, 0, 12, 0.0) == 0.0
    # An empty arm carries no comparison.
    for code in (Z_POOLED, Z_UNPOOLED, CHI2_YATES, FARRINGTON_MANNING):
        assert oriented_z(code, 0, 0, 3, 5, -0.1) == 0.0
    assert math.isnan(oriented_z(FISHER, 1, 5, 2, 5, 0.0))
    # No nan anywhere on small tables, for every z test and a few margins.
    for code in (Z_POOLED, Z_UNPOOLED, CHI2_YATES, FARRINGTON_MANNING):
        for theta0 in (0.0, -0.05, -0.3):
            for nc in range(1, 6):
                for ne in range(1, 6):
                    for xc in range(nc + 1):
                        for xe in range(ne + 1):
                            assert not math.isnan(oriented_z(code, xc, nc, xe, ne, theta0))


def test_kernels_are_njit_compiled():
    # The engine calls these from inside its own kernels.
    for func in (b.oriented_z, b.fisher_pvalue, b.fisher_thresholds, b.restricted_mle):
        assert hasattr(func, "py_func")
