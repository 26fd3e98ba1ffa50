"""The unfavourable side of two-sided designs on the effect scale (rpact's ``...EffectScaleLower``).

``critical_effect_unfavourable``: the observed effect at which the test's
statistic equals the unfavourable bound ``-b_k``; ``futility_effect_unfavourable``:
the inner futility wedge's lower end ``-a_k``
(:func:`simulator.endpoints.common.unfavourable_effects`). Checked against
rpact 3.3.4 (the calls are beside the values; rpact prints futility effects
rounded to 7 decimals there), against the statistic written out here, and
against Fisher's p-values from scipy. One-sided designs have neither key.
"""

import math

import numpy as np
import pytest
from scipy import stats

import simulator as p3
from simulator.design.allocation import round_half_up
from simulator.stats.decision import REJECT_UNFAVOURABLE
from test_critical_effects import GS, RPACT_TOL, make_plan, oriented, outcome, z_at

TWO_SIDED = dict(alpha=0.05, sided=2)


def test_rpact_group_sequential_two_sided_inner_wedge():
    # d <- getDesignGroupSequential(kMax = 3, alpha = 0.05, beta = 0.1, sided = 2, typeOfDesign = "asOF",
    #                               typeBetaSpending = "bsOF", bindingFutility = FALSE)
    # getPowerRates(d, pi1 = 0.5, pi2 = 0.3, maxNumberOfSubjects = 264): 44 / 88 / 132 per arm.
    plan = make_plan("z_pooled", **TWO_SIDED, **GS)
    assert plan.looks.evaluable_c.tolist() == [44, 88, 132] and plan.bounds.inner
    out = plan.effect_bounds()
    # criticalValuesEffectScaleLower and Upper
    np.testing.assert_allclose(out["critical_effect_unfavourable"], [-0.2872963870, -0.1571960722, -0.1058147820],
                               atol=RPACT_TOL)
    np.testing.assert_allclose(out["critical_effect"], [0.3955156411, 0.1848735998, 0.1176734368], atol=RPACT_TOL)
    # futilityBoundsEffectScaleLower and Upper (NA at look 1, where the inner bound is absent)
    assert out["futility_effect_unfavourable"][0] is None and out["futility_effect"][0] is None
    assert out["futility_effect_unfavourable"][1] == pytest.approx(-0.0655118, abs=1e-7)
    assert out["futility_effect"][1] == pytest.approx(0.0698712, abs=1e-7)
    assert out["futility_effect_unfavourable"][2] is None
    assert "effect_note" not in out


def test_rpact_fixed_two_sided_lower():
    # getPowerRates(getDesignGroupSequential(kMax = 1, alpha = 0.05, sided = 2), pi1 = 0.5, pi2 = 0.3,
    #               maxNumberOfSubjects = 248)$criticalValuesEffectScaleLower = -0.1072571150
    out = make_plan("z_pooled", n_total=248, **TWO_SIDED).effect_bounds()
    assert out["critical_effect_unfavourable"][0] == pytest.approx(-0.1072571150, abs=RPACT_TOL)
    assert "futility_effect_unfavourable" not in out  # no futility, no wedge


@pytest.mark.parametrize("test", ["z_pooled", "z_unpooled", "chi2_yates"])
@pytest.mark.parametrize("better", ["higher", "lower"])
def test_back_substitution(test, better):
    p_c, p_e = (0.3, 0.5) if better == "higher" else (0.5, 0.3)
    plan = make_plan(test, n_total=600, p_c=p_c, p_e=p_e, better=better, **TWO_SIDED, **GS)
    out = plan.effect_bounds()
    checked = 0
    for key, bounds in (("critical_effect_unfavourable", plan.bounds.unfavourable),
                        ("futility_effect_unfavourable", plan.bounds.futility_floor)):
        for k, (effect, bound) in enumerate(zip(out[key], bounds)):
            assert (effect is None) == (not np.isfinite(bound))
            if effect is None:
                continue
            d = oriented(plan, effect)
            assert d < 0  # the unfavourable side
            assert z_at(plan, k, d) == pytest.approx(bound, abs=1e-8)
            checked += 1
    assert checked == 4  # three unfavourable bounds and the wedge's lower end at look 2


@pytest.mark.parametrize("better", ["higher", "lower"])
def test_fisher_unfavourable_count_against_scipy(better):
    # Fisher has no continuous statistic: the effect at the last count that rejects unfavourably, which
    # rejects by scipy's two-sided p-value while the next count towards benefit does not.
    p_c, p_e = (0.3, 0.5) if better == "higher" else (0.5, 0.3)
    plan = make_plan("fisher", n_total=240, p_c=p_c, p_e=p_e, better=better, **TWO_SIDED)
    out = plan.effect_bounds()
    n_c, n_e = int(plan.looks.evaluable_c[0]), int(plan.looks.evaluable_e[0])
    x_c = round_half_up(n_c * p_c)
    effect = out["critical_effect_unfavourable"][0]
    count = round(effect * n_e + x_c * n_e / n_c)  # natural-scale experimental count
    assert effect == pytest.approx(count / n_e - x_c / n_c, abs=1e-12)
    towards_benefit = 1 if better == "higher" else -1
    assert outcome(plan, 0, x_c, count) == REJECT_UNFAVOURABLE
    assert outcome(plan, 0, x_c, count + towards_benefit) != REJECT_UNFAVOURABLE
    table = [[count, n_e - count], [x_c, n_c - x_c]]
    assert stats.fisher_exact(table, alternative="two-sided")[1] <= 0.05


def test_one_sided_designs_have_no_unfavourable_keys():
    out = make_plan("z_pooled", **GS).effect_bounds()
    assert "critical_effect_unfavourable" not in out and "futility_effect_unfavourable" not in out


def _design_block(endpoint, design):
    raw = {"trial": {"n_total": 400}, "endpoints": {"y": endpoint}, "design": {"power": 0.9, **design}}
    return p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["y"]


@pytest.mark.parametrize("allocation", [[1, 1], [1, 2], [2, 1]])
def test_survival_hazard_ratios_both_sides(allocation):
    # Schoenfeld: the log-rank z equals b at the observed hazard ratio exp(-b (1 + r) / sqrt(r d)), r the
    # allocation ratio; the unfavourable side is exp(+b (1 + r) / sqrt(r d)) (rpact's
    # criticalValuesEffectScaleLower / Upper of getPowerSurvival with sided = 2).
    endpoint = {"kind": "survival", "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.7},
                "accrual": {"duration": 24.0}}
    raw = {"trial": {"n_total": 400, "allocation": allocation}, "endpoints": {"y": endpoint},
           "design": {"power": 0.9, "alpha": 0.05, "sided": 2, "looks": 2, "efficacy": "asOF", "futility": "bsOF",
                      "events": 300}}
    block = p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["y"]
    events = [150, 300]  # two equally spaced looks at design.events = 300
    r = allocation[1] / allocation[0]
    scale = (1 + r) / math.sqrt(r)  # (1 + r) / sqrt(r d) with d apart: 2 at 1:1
    for k, d in enumerate(events):
        b = block["efficacy_bounds_realised"][k]
        assert block["critical_effect"][k] == pytest.approx(math.exp(-scale * b / math.sqrt(d)), rel=1e-12)
        assert block["critical_effect_unfavourable"][k] == pytest.approx(math.exp(scale * b / math.sqrt(d)), rel=1e-12)
    a = block["futility_bounds_realised"][0]
    assert block["futility_effect"][0] == pytest.approx(math.exp(-scale * a / math.sqrt(events[0])), rel=1e-12)
    assert block["futility_effect_unfavourable"][0] == pytest.approx(math.exp(scale * a / math.sqrt(events[0])), rel=1e-12)


@pytest.mark.parametrize("better", ["higher", "lower"])
def test_continuous_t_both_sides(better):
    # The t statistic at the effect equals the bound moved to the t scale at the look's df (n_c + n_e - 2).
    # better = "lower": the favourable direction is a lower mean, so each side's sign flips.
    endpoint = {"kind": "continuous", "test": "t", "better": better,
                "truth": {"sd": 12.0, "control": {"mean": 50.0}, "experimental": {"mean": 55.0 if better == "higher" else 45.0}}}
    block = _design_block(endpoint, {"alpha": 0.05, "sided": 2})
    b = block["efficacy_bounds_realised"][0]
    t = stats.t.ppf(stats.norm.cdf(b), 398)
    se = 12.0 * math.sqrt(2 / 200)
    sign = 1.0 if better == "higher" else -1.0
    assert block["critical_effect"][0] == pytest.approx(sign * t * se, rel=1e-10)
    assert block["critical_effect_unfavourable"][0] == pytest.approx(-sign * t * se, rel=1e-10)


def test_an_unreachable_unfavourable_bound_is_clipped_with_a_note():
    # Control 0.08, 60 per arm: even no experimental responder gives z above -3.71 and -2.51 at looks 1 and 2
    # (rpact: NA there). As on the favourable side (issue 12's rule), the value is the end of the feasible range,
    # p_E = 0, with a note; the final look's is reached.
    plan = make_plan("z_pooled", n_total=120, p_c=0.08, p_e=0.25, **TWO_SIDED, **GS)
    out = plan.effect_bounds()
    assert out["critical_effect_unfavourable"][:2] == [-0.08, -0.08]
    assert z_at(plan, 0, -0.08) > plan.bounds.unfavourable[0]  # p_E = 0 does not reject: clipped
    assert z_at(plan, 2, out["critical_effect_unfavourable"][2]) == pytest.approx(plan.bounds.unfavourable[2], abs=1e-8)
    assert "look 1: no observed rate puts the statistic at the bound z = -3.71" in out["effect_note"]
    assert "critical_effect_unfavourable clipped to -0.08, an experimental rate of 0" in out["effect_note"]
    assert "look 3" not in out["effect_note"]


def _two_sided_survival(looks, sided=2):
    raw = {"trial": {"n_total": 400},
           "endpoints": {"os": {"kind": "survival", "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.8},
                                "accrual": {"duration": 24.0}}},
           "design": {"alpha": 0.05 if sided == 2 else 0.025, "sided": sided, "looks": looks, "efficacy": "asOF",
                      "events": 150}}
    return p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["os"]


def test_analytic_unfavourable_tail_completes_rpacts_two_sided_power():
    # power counts the favourable tail (docs/conventions.md); with reject_unfavourable it is rpact's overallReject:
    # d <- getDesignGroupSequential(kMax = 3, alpha = 0.05, sided = 2, typeOfDesign = "asOF")
    # getPowerSurvival(d, hazardRatio = 0.8, lambda2 = log(2) / 12, accrualTime = 24, maxNumberOfSubjects = 400,
    #                  maxNumberOfEvents = 150): overallReject 0.273046670388, rejectPerStage (both tails)
    #                  0.001745881163, 0.080002300005, 0.191298489219.
    block = _two_sided_survival(3)
    assert block["power"] + block["reject_unfavourable"] == pytest.approx(0.273046670388, abs=1e-8)
    assert 0 < block["reject_unfavourable"] < 1e-3
    both = np.add(block["reject_per_look"], block["reject_unfavourable_per_look"])
    np.testing.assert_allclose(both, [0.001745881163, 0.080002300005, 0.191298489219], atol=1e-8)


def test_analytic_unfavourable_tail_of_a_fixed_design():
    # The same with getDesignGroupSequential(kMax = 1, alpha = 0.05, sided = 2): overallReject 0.276864994968.
    block = _two_sided_survival(1)
    assert block["power"] + block["reject_unfavourable"] == pytest.approx(0.276864994968, abs=1e-10)
    assert "reject_unfavourable_per_look" not in block


def test_one_sided_analytic_blocks_have_no_unfavourable_tail():
    block = _two_sided_survival(3, sided=1)
    assert "reject_unfavourable" not in block and "reject_unfavourable_per_look" not in block


@pytest.mark.parametrize("endpoint, n_total, looks, overall", [
    # getPowerRates(getDesignGroupSequential(kMax = 1, alpha = 0.05, sided = 2), pi1 = 0.38, pi2 = 0.3,
    #               maxNumberOfSubjects = 200)$overallReject
    ({"kind": "binary", "test": "z_pooled", "truth": {"control": 0.3, "experimental": 0.38}}, 200, 1, 0.221893955547),
    # the same with kMax = 3, typeOfDesign = "asOF" and maxNumberOfSubjects = 300
    ({"kind": "binary", "test": "z_pooled", "truth": {"control": 0.3, "experimental": 0.38}}, 300, 3, 0.304908905627),
    # getPowerMeans(kMax = 1 design, alternative = 3, stDev = 12, maxNumberOfSubjects = 100,
    #               normalApproximation = FALSE)$overallReject
    ({"kind": "continuous", "test": "t", "truth": {"sd": 12.0, "control": {"mean": 0.0}, "experimental": {"mean": 3.0}}},
     100, 1, 0.235779915961),
])
def test_analytic_both_tails_of_rates_and_means_equal_rpacts(endpoint, n_total, looks, overall):
    raw = {"trial": {"n_total": n_total}, "endpoints": {"y": endpoint},
           "design": {"alpha": 0.05, "sided": 2, "looks": looks, "efficacy": "asOF"}}
    block = p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["y"]
    assert block["power"] + block["reject_unfavourable"] == pytest.approx(overall, abs=1e-8)


def test_calendar_looks_give_no_unfavourable_tail_of_another_design():
    # The analytic power of calendar looks is that of the looks' expected events (survival_calendar); the
    # event-driven design's other tail would not go with it, so none is given (a review of the change).
    raw = {"trial": {"n_total": 400},
           "endpoints": {"os": {"kind": "survival", "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.8},
                                "accrual": {"duration": 24.0}}},
           "design": {"alpha": 0.05, "sided": 2, "look_times": [24.0, 36.0], "efficacy": "asOF", "events": 250}}
    block = p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["os"]
    assert 0 < block["power"] < 1
    assert "reject_unfavourable" not in block and "reject_unfavourable_per_look" not in block
