"""Critical and futility effects of binary endpoints (issue 12, section 1).

``critical_effect`` / ``futility_effect`` are the observed p_E - p_C at which
the test's own statistic equals the z bound, the observed control rate held
at the assumed one (simulator/design/critical.py, BinaryPlan.effect_bounds).
Checked three ways:

* back-substitution: the solution plugged into the test's statistic gives the
  bound within 1e-8, for every z-type test, both directions, 1:1 and 1:2,
  one- and two-sided, fixed and group-sequential; and into a closed form
  written out here (scipy's Yates chi-square, a likelihood-maximised
  Farrington-Manning restricted MLE);
* counts: ``critical_count`` rejects and one responder fewer (one event more
  for ``better = "lower"``) does not; ``futility_count`` stops and the next
  count does not; Fisher's counts against its p-value (scipy);
* rpact 3.3.4 (Debian's r-cran-rpact), whose ``criticalValuesEffectScale``
  and ``futilityBoundsEffectScale`` solve the Farrington-Manning statistic
  (the pooled one at thetaH0 = 0) for pi1 with continuous n: a reference for
  pooled z and Farrington-Manning, compared at look sizes that are whole
  numbers per arm so that our n equal rpact's. rpact solves with
  ``uniroot(tol = .Machine$double.eps^0.5)`` (1.5e-8) and its values are
  printed here with ``sprintf("%.10f")`` (futility effects come rounded to 8
  decimals): tolerance 1e-7.
"""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from simulator.config.validate import validate
from simulator.design import critical
from simulator.design.allocation import round_half_up
from simulator.endpoints.binary import BinaryPlan
from simulator.stats.binary import (
    CHI2_YATES,
    FARRINGTON_MANNING,
    FISHER,
    Z_POOLED,
    Z_UNPOOLED,
    fisher_pvalue,
    oriented_z,
)
from simulator.stats.decision import CONTINUE, REJECT_FAVOURABLE, REJECT_UNFAVOURABLE, STOP_FUTILITY

RPACT_TOL = 1e-7
BACK_TOL = 1e-8

#: rpact: d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.1,
#:            typeOfDesign = "asOF", typeBetaSpending = "bsOF")
#: (bounds 3.7103028733 2.5114274845 1.9930474833, futility -0.6945411659 1.0024595610;
#: the issue's futility effects -0.0655 / 0.0714 are those of beta = 0.1, i.e. design.power = 0.9).
GS = dict(looks=3, efficacy="asOF", futility="bsOF", power=0.9)


def make_plan(test="z_pooled", n_total=264, p_c=0.30, p_e=0.50, better="higher", margin=0.0, allocation=(1, 1),
              alpha=0.025, sided=1, **design):
    raw = {
        "trial": {"n_total": n_total, "allocation": list(allocation)},
        "endpoints": {"y": {"kind": "binary", "test": test, "better": better, "margin": margin,
                            "truth": {"control": p_c, "experimental": p_e}}},
        "design": {"alpha": alpha, "sided": sided, **design},
    }
    config = validate(raw)
    return BinaryPlan.from_config(config, config.endpoints[0])


def oriented(plan, effect):
    """An effect on the natural scale as the oriented p_E - p_C."""
    return -effect if plan.endpoint.better == "lower" else effect


def z_at(plan, k, d):
    """The test's statistic at look k with the control rate at its assumed value and p_E - p_C = d (oriented)."""
    p_c = plan.null_truth()[0]
    n_c, n_e = float(plan.looks.evaluable_c[k]), float(plan.looks.evaluable_e[k])
    return oriented_z(plan.code, n_c * p_c, n_c, n_e * (p_c + d), n_e, plan.theta0)


# ---------------------------------------------------------------------------
# rpact
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("test", ["z_pooled", "farrington_manning"])
def test_rpact_group_sequential_pooled(test):
    # rpact: getPowerRates(d, pi1 = 0.5, pi2 = 0.3, maxNumberOfSubjects = 264); 44 / 88 / 132 per arm.
    # The issue quotes 0.3955 / 0.1849 / 0.1177 and -0.0655 / 0.0714 (the tool gave 0.3625 / 0.1735 / 0.1124).
    plan = make_plan(test, **GS)
    assert plan.looks.evaluable_c.tolist() == [44, 88, 132] == plan.looks.evaluable_e.tolist()
    out = plan.effect_bounds()
    np.testing.assert_allclose(out["critical_effect"], [0.3955156411, 0.1848735998, 0.1176734368], atol=RPACT_TOL)
    np.testing.assert_allclose(out["futility_effect"][:2], [-0.0655264400, 0.0713662600], atol=RPACT_TOL)
    assert out["futility_effect"][2] is None
    np.testing.assert_allclose(out["critical_effect"], [0.3955, 0.1849, 0.1177], atol=5e-5)  # the digits
    np.testing.assert_allclose(out["futility_effect"][:2], [-0.0655, 0.0714], atol=5e-5)
    assert "effect_note" not in out


@pytest.mark.parametrize("test", ["z_pooled", "farrington_manning"])
def test_rpact_unequal_allocation(test):
    # rpact: getPowerRates(d, pi1 = 0.5, pi2 = 0.3, maxNumberOfSubjects = 270, allocationRatioPlanned = 2)
    # (rpact's allocation is n_E / n_C): 30 / 60 / 90 control, 60 / 120 / 180 experimental.
    plan = make_plan(test, n_total=270, allocation=(1, 2), **GS)
    assert plan.looks.evaluable_c.tolist() == [30, 60, 90] and plan.looks.evaluable_e.tolist() == [60, 120, 180]
    out = plan.effect_bounds()
    np.testing.assert_allclose(out["critical_effect"], [0.4103128528, 0.1966517275, 0.1251037629], atol=RPACT_TOL)
    np.testing.assert_allclose(out["futility_effect"][:2], [-0.0676805400, 0.0756216300], atol=RPACT_TOL)


@pytest.mark.parametrize(
    "n_total, allocation, critical_ref, futility_ref",
    [
        # rpact: getPowerRates(d, pi1 = 0.8, pi2 = 0.8, thetaH0 = -0.1, maxNumberOfSubjects = 600)
        (600, (1, 1), [0.0972429980, 0.0012404720, -0.0328701867], [-0.1432816700, -0.0579711900]),
        # rpact: the same with maxNumberOfSubjects = 540, allocationRatioPlanned = 2
        (540, (1, 2), [0.0956572815, 0.0054587088, -0.0288632918], [-0.1480653600, -0.0549230700]),
    ],
)
def test_rpact_farrington_manning_non_inferiority(n_total, allocation, critical_ref, futility_ref):
    plan = make_plan("farrington_manning", n_total=n_total, p_c=0.8, p_e=0.8, margin=0.1, allocation=allocation, **GS)
    fractions = np.array([1, 2, 3]) / 3
    assert plan.looks.evaluable_c.tolist() == (fractions * n_total * allocation[0] / sum(allocation)).round().tolist()
    out = plan.effect_bounds()
    np.testing.assert_allclose(out["critical_effect"], critical_ref, atol=RPACT_TOL)
    np.testing.assert_allclose(out["futility_effect"][:2], futility_ref, atol=RPACT_TOL)


def test_rpact_farrington_manning_harm_non_inferiority_lower():
    # better = "lower", margin 0.1: H0 p_E - p_C >= 0.1. rpact: getPowerRates(d, pi1 = 0.2, pi2 = 0.3,
    # thetaH0 = 0.1, directionUpper = FALSE, maxNumberOfSubjects = 540, allocationRatioPlanned = 2)
    plan = make_plan("farrington_manning", n_total=540, p_c=0.3, p_e=0.2, margin=0.1, better="lower",
                     allocation=(1, 2), **GS)
    out = plan.effect_bounds()
    np.testing.assert_allclose(out["critical_effect"], [-0.1319352869, -0.0221892812, 0.0185258455], atol=RPACT_TOL)
    np.testing.assert_allclose(out["futility_effect"][:2], [0.1526847400, 0.0488518100], atol=RPACT_TOL)


def test_rpact_lower_superiority():
    # rpact: getPowerRates(d, pi1 = 0.15, pi2 = 0.3, directionUpper = FALSE, maxNumberOfSubjects = 264)
    out = make_plan("z_pooled", p_c=0.3, p_e=0.15, better="lower", **GS).effect_bounds()
    np.testing.assert_allclose(out["critical_effect"], [-0.2872963870, -0.1571960722, -0.1058147820], atol=RPACT_TOL)
    np.testing.assert_allclose(out["futility_effect"][:2], [0.0698878800, -0.0668243500], atol=RPACT_TOL)


def test_rpact_fixed_two_sided():
    # 124 per arm, two-sided 0.05, control 0.30. rpact: getPowerRates(alpha = 0.05, sided = 2, pi1 = 0.5,
    # pi2 = 0.3, maxNumberOfSubjects = 248)$criticalValuesEffectScaleUpper = 0.1194598976.
    plan = make_plan("z_pooled", n_total=248, alpha=0.05, sided=2)
    out = plan.effect_bounds()
    assert out["critical_effect"][0] == pytest.approx(0.1194598976, abs=RPACT_TOL)
    assert out["futility_effect"] == [None] and out["futility_count"] == [None]
    # The old value, bound x unpooled SE at the control rate, does not reject: z = 1.875.
    old = 1.959963984540054 * math.sqrt(2 * 0.3 * 0.7 / 124)
    assert old == pytest.approx(0.1141, abs=5e-5)
    assert z_at(plan, 0, old) == pytest.approx(1.875, abs=5e-4)
    assert z_at(plan, 0, out["critical_effect"][0]) == pytest.approx(plan.bounds.efficacy[0], abs=BACK_TOL)


def test_infeasible_critical_effect_is_clipped_with_a_note():
    # Non-inferiority near 1: at look 1 (33 per arm) not even p_E = 1 reaches z = 3.71.
    # rpact: getPowerRates(d, pi1 = 0.96, pi2 = 0.95, thetaH0 = -0.1, maxNumberOfSubjects = 198)
    # gives NA, 0.0149373536, -0.0230360313 and futility -0.1542469500, -0.0512217900.
    plan = make_plan("farrington_manning", n_total=198, p_c=0.95, p_e=0.96, margin=0.1, **GS)
    out = plan.effect_bounds()
    assert out["critical_effect"][0] == pytest.approx(1 - 0.95, abs=1e-12)
    np.testing.assert_allclose(out["critical_effect"][1:], [0.0149373536, -0.0230360313], atol=RPACT_TOL)
    np.testing.assert_allclose(out["futility_effect"][:2], [-0.1542469500, -0.0512217900], atol=RPACT_TOL)
    assert z_at(plan, 0, 1 - 0.95) < plan.bounds.efficacy[0]
    assert out["critical_count"][0] is None
    assert out["critical_count"][1:] == [64, 92]
    note = out["effect_note"]
    assert note.startswith("look 1: no experimental rate reaches the efficacy bound")
    assert "critical_effect clipped to 0.05, an experimental rate of 1" in note
    assert "critical_count is null" in note and "look 2" not in note and "look 3" not in note


def test_infeasible_lower_direction_is_clipped_to_rate_zero():
    # The mirror image: better = "lower", control 0.05; clipped at an experimental rate of 0.
    plan = make_plan("farrington_manning", n_total=198, p_c=0.05, p_e=0.04, margin=0.1, better="lower", **GS)
    out = plan.effect_bounds()
    assert out["critical_effect"][0] == pytest.approx(-0.05, abs=1e-12)
    np.testing.assert_allclose(out["critical_effect"][1:], [-0.0149373536, 0.0230360313], atol=RPACT_TOL)
    assert "critical_effect clipped to -0.05, an experimental rate of 0" in out["effect_note"]


def test_futility_bound_reached_by_every_rate_is_clipped_below():
    # A futility bound of z = -30 is below the statistic at p_E = 0: futility_effect = -p_C, noted.
    plan = make_plan("z_pooled", looks=2, efficacy="asOF", futility=[-30.0])
    out = plan.effect_bounds()
    assert out["futility_effect"][0] == pytest.approx(-0.3, abs=1e-12)
    assert out["futility_count"][0] is None
    assert "every experimental rate reaches the futility bound" in out["effect_note"]
    assert "futility_effect clipped to -0.3, an experimental rate of 0" in out["effect_note"]


@pytest.mark.parametrize("better", ["higher", "lower"])
def test_yates_futility_effect_at_a_zero_bound_is_the_end_of_its_flat_stretch(better):
    # A review: Yates' statistic is 0 for |p_E - p_C| <= N / (2 n_C n_E), and at a futility bound of 0 every
    # such trial stops (z <= a_k stops). The futility effect is the upper end of that stretch, on whose
    # unfavourable side every trial stops; it was the lower end (-0.0998 at 10 a side, control 3 of 10,
    # where 2, 3 and 4 experimental responders all stop).
    p_c, p_e = (0.3, 0.6) if better == "higher" else (0.6, 0.3)
    plan = make_plan("chi2_yates", n_total=40, p_c=p_c, p_e=p_e, better=better, looks=2, efficacy="asOF",
                     futility=[0.0])
    out = plan.effect_bounds()
    half_width = 0.5 * 20 / (10 * 10)  # |ad - bc| <= N / 2 in rates: N / (2 n_C n_E)
    assert oriented(plan, out["futility_effect"][0]) == pytest.approx(half_width, abs=1e-12)
    x_c = round_half_up(10 * p_c)
    stop = out["futility_count"][0]
    assert oriented(plan, stop / 10 - x_c / 10) == pytest.approx(half_width, abs=1e-12)
    flat = range(2, 5) if better == "higher" else range(6, 9)  # the three counts with z = 0
    assert all(outcome(plan, 0, x_c, x) == STOP_FUTILITY for x in flat)


def test_strict_crossing_equals_the_root_where_the_statistic_is_not_flat():
    # For a statistic that crosses its bound (pooled z), the end of the region at or below it is the root. Both
    # solvers stop within 1e-15 of it (brentq's xtol, the bisection's width), so 1e-13 leaves room for rounding.
    for bound in (-0.69, 0.0, 1.0):
        plain = critical.effect_at_bound(0, 0.3, 88, 88, bound).effect
        strict = critical.effect_at_bound(0, 0.3, 88, 88, bound, strict=True).effect
        assert strict == pytest.approx(plain, abs=1e-13)


# ---------------------------------------------------------------------------
# Back-substitution
# ---------------------------------------------------------------------------

DESIGNS = {
    "fixed-1": dict(),
    "fixed-2": dict(sided=2, alpha=0.05),
    "gs-1": dict(GS),
    "gs-2": dict(looks=[0.4, 0.7, 1.0], efficacy="asP", futility="bsOF", power=0.9, sided=2, alpha=0.05),
}
Z_TESTS = [("z_pooled", 0.0), ("z_unpooled", 0.0), ("chi2_yates", 0.0), ("farrington_manning", 0.1)]
BACK_CASES = [
    (test, margin, better, allocation, design)
    for test, margin in Z_TESTS
    for better in ("higher", "lower")
    for allocation in ((1, 1), (1, 2))
    for design in DESIGNS
    if not (margin and DESIGNS[design].get("sided", 1) == 2)  # a margin needs a one-sided design
]


def rates_for(better, margin):
    # Natural-scale rates: a benefit of 0.2 in the favourable direction (non-inferiority: equal rates).
    if better == "higher":
        return (0.7, 0.7) if margin else (0.3, 0.5)
    return (0.3, 0.3) if margin else (0.5, 0.3)


def pooled_z(xc, nc, xe, ne):
    pbar = (xc + xe) / (nc + ne)
    return (xe / ne - xc / nc) / math.sqrt(pbar * (1 - pbar) * (1 / nc + 1 / ne))


def unpooled_z(xc, nc, xe, ne, theta0):
    pc, pe = xc / nc, xe / ne
    return (pe - pc - theta0) / math.sqrt(pe * (1 - pe) / ne + pc * (1 - pc) / nc)


def yates_z(xc, nc, xe, ne):
    # scipy's corrected Pearson chi-square on the 2x2 table with real counts.
    table = np.array([[xe, ne - xe], [xc, nc - xc]])
    chi2 = stats.chi2_contingency(table, correction=True)[0]
    return math.copysign(math.sqrt(chi2), xe / ne - xc / nc)


def farrington_manning_z(xc, nc, xe, ne, theta0):
    # Restricted MLE by maximising the binomial likelihood on p_E - p_C = theta0 (not the cubic).
    def negative_loglik(pc):
        pe = pc + theta0
        return -(xc * math.log(pc) + (nc - xc) * math.log1p(-pc) + xe * math.log(pe) + (ne - xe) * math.log1p(-pe))

    lo, hi = max(0.0, -theta0) + 1e-12, min(1.0, 1.0 - theta0) - 1e-12
    pc = optimize.minimize_scalar(negative_loglik, bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-13}).x
    pe = pc + theta0
    return (xe / ne - xc / nc - theta0) / math.sqrt(pe * (1 - pe) / ne + pc * (1 - pc) / nc)


def independent_z(code, xc, nc, xe, ne, theta0):
    if code == Z_POOLED:
        return pooled_z(xc, nc, xe, ne)
    if code == Z_UNPOOLED:
        return unpooled_z(xc, nc, xe, ne, theta0)
    if code == CHI2_YATES:
        return yates_z(xc, nc, xe, ne)
    assert code == FARRINGTON_MANNING
    return farrington_manning_z(xc, nc, xe, ne, theta0)


@pytest.mark.parametrize("test, margin, better, allocation, design", BACK_CASES)
def test_back_substitution(test, margin, better, allocation, design):
    p_c, p_e = rates_for(better, margin)
    plan = make_plan(test, n_total=600, p_c=p_c, p_e=p_e, better=better, margin=margin, allocation=allocation,
                     **DESIGNS[design])
    out = plan.effect_bounds()
    assert "effect_note" not in out
    oriented_p_c = plan.null_truth()[0]
    checked = 0
    for key, bounds in (("critical_effect", plan.bounds.efficacy), ("futility_effect", plan.bounds.futility)):
        for k, (effect, bound) in enumerate(zip(out[key], bounds)):
            assert (effect is None) == (not np.isfinite(bound))
            if effect is None:
                continue
            d = oriented(plan, effect)
            assert z_at(plan, k, d) == pytest.approx(bound, abs=BACK_TOL)
            # The first crossing: just below it the statistic is below the bound.
            assert z_at(plan, k, d - 1e-6) < bound
            n_c, n_e = float(plan.looks.evaluable_c[k]), float(plan.looks.evaluable_e[k])
            reference = independent_z(plan.code, n_c * oriented_p_c, n_c, n_e * (oriented_p_c + d), n_e, plan.theta0)
            assert reference == pytest.approx(bound, abs=1e-7 if plan.code == FARRINGTON_MANNING else BACK_TOL)
            checked += 1
    finite = np.isfinite(plan.bounds.efficacy).sum() + np.isfinite(plan.bounds.futility).sum()
    assert checked == finite >= (2 if design.startswith("gs") else 1)
    # The final critical effect lies beyond the null boundary, on the favourable side.
    assert oriented(plan, out["critical_effect"][-1]) > plan.theta0


def test_directions_mirror_each_other():
    # better = "lower" at control 0.7 is better = "higher" at control 0.3 with events and non-events swapped.
    for test, margin in Z_TESTS + [("fisher", 0.0)]:
        up = make_plan(test, n_total=270, p_c=0.3, p_e=0.5, margin=margin, allocation=(1, 2), **GS).effect_bounds()
        down = make_plan(test, n_total=270, p_c=0.7, p_e=0.5, margin=margin, better="lower", allocation=(1, 2),
                         **GS).effect_bounds()
        np.testing.assert_allclose(down["critical_effect"], -np.array(up["critical_effect"]), atol=1e-12)
        np.testing.assert_allclose(down["futility_effect"][:2], -np.array(up["futility_effect"][:2]), atol=1e-12)
        n_e = [60, 120, 180]
        assert down["critical_count"] == [n - c for n, c in zip(n_e, up["critical_count"])]
        assert down["futility_count"][:2] == [n - c for n, c in zip(n_e, up["futility_count"][:2])]


def test_solver_recovers_a_known_root():
    # At p_E = p_C the pooled statistic is 0: a zero bound gives a zero effect.
    assert critical.effect_at_bound(Z_POOLED, 0.4, 50, 80, 0.0).effect == pytest.approx(0.0, abs=1e-13)
    with pytest.raises(ValueError, match="finite"):
        critical.effect_at_bound(Z_POOLED, 0.4, 50, 80, math.inf)


# ---------------------------------------------------------------------------
# Counts (every test, Fisher included)
# ---------------------------------------------------------------------------

COUNT_CASES = [
    (test, margin, better, allocation, design)
    for test, margin in Z_TESTS + [("fisher", 0.0)]
    for better in ("higher", "lower")
    for allocation in ((1, 1), (1, 2))
    for design in ("fixed-1", "fixed-2", "gs-1")
    if not (margin and DESIGNS[design].get("sided", 1) == 2)
]


def outcome(plan, k, x_c_natural, x_e_natural):
    """The decision at look k for natural-scale counts, written out from the statistic or p-value.

    The rule of docs/conventions.md for these designs (one-sided futility):
    reject favourably at z >= b, unfavourably at z <= -b (two-sided), stop
    for futility at z <= a (a z on the bound stops); Fisher on the p-value scale, favourable when its
    p-value is at most sided x sf(b) with the experimental rate higher, futility when the one-sided
    p-value exceeds sf(a).
    """
    n_c, n_e = int(plan.looks.evaluable_c[k]), int(plan.looks.evaluable_e[k])
    flip = plan.endpoint.better == "lower"
    x_c = n_c - x_c_natural if flip else x_c_natural
    x_e = n_e - x_e_natural if flip else x_e_natural
    b, a = float(plan.bounds.efficacy[k]), float(plan.bounds.futility[k])
    if plan.code == FISHER:
        one_sided = fisher_pvalue(x_c, n_c, x_e, n_e, 1)
        p_value = one_sided if plan.sided == 1 else fisher_pvalue(x_c, n_c, x_e, n_e, 2)
        higher = x_e * n_c > x_c * n_e
        if p_value <= plan.sided * stats.norm.sf(b) and (plan.sided == 1 or higher):
            return REJECT_FAVOURABLE
        if plan.sided == 2 and p_value <= 2 * stats.norm.sf(b):
            return REJECT_UNFAVOURABLE
        return STOP_FUTILITY if one_sided > stats.norm.sf(a) else CONTINUE
    z = oriented_z(plan.code, x_c, n_c, x_e, n_e, plan.theta0)
    if z >= b:
        return REJECT_FAVOURABLE
    if plan.sided == 2 and z <= -b:
        return REJECT_UNFAVOURABLE
    return STOP_FUTILITY if z <= a else CONTINUE


@pytest.mark.parametrize("test, margin, better, allocation, design", COUNT_CASES)
def test_counts(test, margin, better, allocation, design):
    p_c, p_e = rates_for(better, margin)
    plan = make_plan(test, n_total=600, p_c=p_c, p_e=p_e, better=better, margin=margin, allocation=allocation,
                     **DESIGNS[design])
    out = plan.effect_bounds()
    weaker = -1 if better == "higher" else 1  # one responder fewer / one event more
    for k in range(len(plan.looks.planned_fractions)):
        n_c, n_e = int(plan.looks.evaluable_c[k]), int(plan.looks.evaluable_e[k])
        x_c = round_half_up(n_c * p_c)
        count = out["critical_count"][k]
        assert outcome(plan, k, x_c, count) == REJECT_FAVOURABLE
        assert outcome(plan, k, x_c, count + weaker) != REJECT_FAVOURABLE
        # Every count on the favourable side of it rejects too.
        beyond = range(count, n_e + 1) if better == "higher" else range(0, count + 1)
        assert all(outcome(plan, k, x_c, x) == REJECT_FAVOURABLE for x in beyond)
        stop = out["futility_count"][k]
        assert (stop is None) == (k == len(plan.looks.planned_fractions) - 1)
        if stop is not None:
            assert outcome(plan, k, x_c, stop) == STOP_FUTILITY
            assert outcome(plan, k, x_c, stop - weaker) != STOP_FUTILITY
        effect = out["critical_effect"][k]
        if plan.code == FISHER:
            # No continuous statistic: the effect at the critical count.
            assert effect == pytest.approx(count / n_e - x_c / n_c, abs=1e-12)
        else:
            # The count rejects, so its difference is at least the continuous critical effect
            # (up to the control count's rounding, at most 1 / (2 n_C)).
            assert oriented(plan, count / n_e - x_c / n_c) >= oriented(plan, effect) - 0.5 / n_c - 1e-12


@pytest.mark.parametrize("allocation", [(1, 1), (1, 2)])
@pytest.mark.parametrize("better", ["higher", "lower"])
def test_fisher_counts_against_scipy(better, allocation):
    # One-sided Fisher, fixed design: the critical count is the smallest x_E (natural: the largest number of
    # events for "lower") whose one-sided p-value is at most alpha; scipy.stats.fisher_exact.
    p_c, p_e = rates_for(better, 0.0)
    plan = make_plan("fisher", n_total=240, p_c=p_c, p_e=p_e, better=better, allocation=allocation)
    out = plan.effect_bounds()
    n_c, n_e = int(plan.looks.evaluable_c[0]), int(plan.looks.evaluable_e[0])
    x_c = round_half_up(n_c * p_c)
    alternative = "greater" if better == "higher" else "less"

    def p_value(x_e):
        return stats.fisher_exact([[x_e, n_e - x_e], [x_c, n_c - x_c]], alternative=alternative)[1]

    count = out["critical_count"][0]
    step = -1 if better == "higher" else 1
    assert p_value(count) <= 0.025 < p_value(count + step)
    assert out["critical_effect"][0] == pytest.approx(count / n_e - x_c / n_c, abs=1e-12)
    assert "effect_note" not in out


def test_effect_bounds_keys():
    out = make_plan("z_pooled", **GS).effect_bounds()
    assert set(out) == {"critical_effect", "futility_effect", "critical_count", "futility_count"}
    assert make_plan("z_pooled", **GS).critical_effects() == out["critical_effect"]


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def test_look_table_and_sequential_figure_show_counts_and_the_note():
    from simulator.figures import draw
    from simulator.report import plots, tables

    plan = make_plan("farrington_manning", n_total=198, p_c=0.95, p_e=0.96, margin=0.1, **GS)
    block = {"test": "farrington_manning", "planned_fractions": list(plan.looks.planned_fractions),
             "realised_fractions": list(plan.looks.realised_fractions), "efficacy_bounds": plan.bounds.efficacy.tolist(),
             "futility_bounds": [-0.69, 1.0, None], "reject_per_look": [0.0, 0.5, 0.3],
             "futility_per_look": [0.1, 0.05, 0.0], "effect_scale": "p_E - p_C", "better": "higher", "margin": 0.1,
             "look_sizes": plan.looks.enrolled_total.tolist(), **plan.effect_bounds()}
    report = {"meta": {"n_sims": 1000}, "scenarios": [{"params": {}, "n_total": 198, "endpoints": {"ni": block}}]}
    table = tables.look_table(report, 0)
    counts = [row[table.headers.index("critical count")].text for row in table.rows]
    assert counts == ["-", "64", "92"]
    assert [row[table.headers.index("futility count")].text for row in table.rows] == ["25", "59", "-"]
    assert "Clipped effects: ni: look 1: no experimental rate reaches the efficacy bound" in table.caption
    # The effects' scale is named (a review found the columns without one).
    assert "Critical and futility effects: ni as p_E - p_C" in table.caption
    svg = draw(plots._sequential_figure, "plot-sequential-s0", report, 0)
    assert "effect_note" in svg
