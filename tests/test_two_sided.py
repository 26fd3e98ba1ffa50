"""Two-sided designs (issue 12, section 2): the inner futility wedge, both tails reported.

References are rpact 3.3.4, hard-coded (the suite never needs R):

    d <- getDesignGroupSequential(kMax = 3, alpha = 0.05, sided = 2, beta = 0.1,
                                  typeOfDesign = "asOF", typeBetaSpending = "bsOF",
                                  bindingFutility = FALSE)   # and TRUE
    getSampleSizeRates(d, pi1 = 0.5, pi2 = 0.3)
    getDesignCharacteristics(d)

rpact labels two-sided beta spending experimental; it reports no inner bound
(NA) at the first look of these designs because the one-sided design at
alpha / 2 has a negative futility bound there (docs/group_sequential.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator import Trial
from simulator.config.validate import validate
from simulator.design.boundaries import group_sequential_bounds
from simulator.endpoints.binary import BinaryPlan, _fisher_floor_table
from simulator.endpoints.continuous import ContinuousPlan
from simulator.errors import InputError
from simulator.stats.binary import FISHER, fisher_pvalue, fisher_thresholds
from simulator.stats.decision import REJECT_FAVOURABLE, REJECT_UNFAVOURABLE, STOP_FUTILITY, decide

Z_TOL = 1e-6  # bounds
SIZE_REL = 1e-3  # sizes: 0.1 %

DESIGN = dict(looks=3, alpha=0.05, sided=2, efficacy="asOF", futility="bsOF", power=0.9)

# rpact 3.3.4 (calls in the module docstring).
RPACT = {
    False: dict(
        critical=[3.71030287326, 2.51142748445, 1.99304748327],
        futility=[None, 0.982001461057],
        inflation=1.05277458759,
        asn1=0.821397862791,
        asn0=0.811968748435,
        max_n=261.0852,
        expected_n_h1=203.7044,
        expected_n_h0=201.366,
    ),
    True: dict(
        critical=[3.71030287326, 2.51142748445, 1.96256770939],
        futility=[None, 0.958614349977],
        inflation=1.03452937473,
        asn1=0.810809456859,
        asn0=0.801915585038,
        max_n=256.5605,
        expected_n_h1=201.078523601,
        expected_n_h0=198.87286776,
    ),
}


def rates_config(binding=False, n_total=262, **design):
    return {
        "trial": {"n_total": n_total},
        "endpoints": {"y": {"kind": "binary", "test": "z_pooled", "better": "higher",
                            "truth": {"control": 0.3, "experimental": 0.5}}},
        "design": {**DESIGN, "binding": binding, **design},
    }


# ---------------------------------------------------------------- rpact's design
@pytest.mark.parametrize("binding", [False, True])
def test_inner_wedge_bounds_match_rpact(binding):
    ref = RPACT[binding]
    d = group_sequential_bounds(**DESIGN, binding=binding)
    assert d.two_sided_futility == "inner" and d.inner
    np.testing.assert_allclose(d.efficacy, ref["critical"], atol=Z_TOL, rtol=0)
    assert d.futility[0] == -np.inf  # rpact: NA at the first look
    assert d.futility[1] == pytest.approx(ref["futility"][1], abs=Z_TOL)
    assert d.futility[2] == -np.inf
    assert d.inflation_factor == pytest.approx(ref["inflation"], rel=1e-6)
    assert d.expected_fraction_h1 * d.inflation_factor == pytest.approx(ref["asn1"], rel=1e-6)
    assert d.expected_fraction_h0 * d.inflation_factor == pytest.approx(ref["asn0"], rel=1e-6)
    # rpact's alphaSpent / betaSpent (both designs): 0.000207011436294,
    # 0.012096778151790, 0.05 and 0, 0.0413833474492, 0.1.
    np.testing.assert_allclose(d.alpha_spent, [0.000207011436294, 0.01209677815179, 0.05], atol=1e-8)
    np.testing.assert_allclose(d.beta_spent, [0.0, 0.0413833474492, 0.1], atol=1e-7)
    # Favourable power at the design drift is the target (twoSidedPower = FALSE).
    assert d.probabilities().power == pytest.approx(0.9, abs=1e-8)


@pytest.mark.parametrize("binding", [False, True])
def test_rates_design_sizes_match_rpact(binding):
    ref = RPACT[binding]
    e = Trial.from_dict(rates_config(binding)).design().to_dict()["scenarios"][0]["endpoints"]["y"]
    assert e["futility_bounds"][0] is None and e["futility_bounds"][2] is None
    assert e["futility_bounds"][1] == pytest.approx(ref["futility"][1], abs=Z_TOL)
    np.testing.assert_allclose(e["efficacy_bounds"], ref["critical"], atol=Z_TOL, rtol=0)
    assert e["inflation_factor_planned"] == pytest.approx(ref["inflation"], rel=1e-6)
    assert e["n_total_design"] == pytest.approx(ref["max_n"], rel=SIZE_REL)
    assert e["expected_n_h1_design"] == pytest.approx(ref["expected_n_h1"], rel=SIZE_REL)
    assert e["expected_n_h0_design"] == pytest.approx(ref["expected_n_h0"], rel=SIZE_REL)


def test_one_sided_futility_keeps_todays_design():
    # The design before issue 12.2 (futility z < a_k mirrored from the one-sided
    # 0.025 design): 262.73 patients, 204.04 expected under H1, 166.98 under H0.
    d = group_sequential_bounds(**DESIGN, two_sided_futility="one_sided")
    assert d.two_sided_futility == "one_sided" and not d.inner
    np.testing.assert_allclose(d.efficacy, [3.71030287326237, 2.511427433405497, 1.9930474833117549], atol=1e-9)
    np.testing.assert_allclose(d.futility[:2], [-0.694541167858815, 1.0024595535463379], atol=1e-9)
    # 1.0593934570568464 on Jennison and Turnbull's Simpson grid (r = 32); the Gauss-Legendre panels give
    # 1.05939345406745, the same to 1e-15 at four times the resolution.
    assert d.inflation_factor == pytest.approx(1.05939345406745, rel=1e-12)
    e = Trial.from_dict(rates_config(two_sided_futility="one_sided")).design().to_dict()
    e = e["scenarios"][0]["endpoints"]["y"]
    assert e["n_total_design"] == pytest.approx(262.73, abs=0.01)
    assert e["expected_n_h1_design"] == pytest.approx(204.04, abs=0.01)
    assert e["expected_n_h0_design"] == pytest.approx(166.98, abs=0.01)


def test_binding_needs_the_inner_wedge_in_two_sided_designs():
    with pytest.raises(InputError, match="design.binding"):
        validate(rates_config(binding=True, two_sided_futility="one_sided"))
    with pytest.raises(InputError, match="design.two_sided_futility"):
        validate(rates_config(two_sided_futility="both"))
    with pytest.raises(InputError, match="must be >= 0"):
        validate(rates_config(futility=[-0.5, 0.5]))
    assert validate(rates_config()).design.two_sided_futility == "inner"


# ---------------------------------------------------------------- renamed keys
def test_expected_sizes_at_the_configured_and_at_the_design_size():
    e = Trial.from_dict(rates_config(n_total=2000)).design().to_dict()["scenarios"][0]["endpoints"]["y"]
    assert "n_total" not in e and "expected_n_h1_at_n_total" not in e
    assert e["n_total_design"] == pytest.approx(261.0852, rel=SIZE_REL)
    assert e["n_total_rounded"] == 262
    # At 2000 patients the trial stops early nearly always: far below 2000,
    # far above the design's 203.7.
    assert 261 < e["expected_n_h1"] < 2000
    assert e["expected_n_h1_design"] == pytest.approx(203.7044, rel=SIZE_REL)
    assert e["expected_n_h0_design"] == pytest.approx(201.366, rel=SIZE_REL)
    assert e["expected_n_h0"] > e["expected_n_h1"]


# ---------------------------------------------------------------- the simulation
def continuous_plan(binding, n_total=240, null=False):
    raw = {
        "trial": {"n_total": n_total},
        "endpoints": {"y": {"kind": "continuous", "test": "z", "better": "higher",
                            "truth": {"sd": 10.0, "control": {"mean": 0.0},
                                      "experimental": {"mean": 0.0 if null else 4.0}}}},
        "design": {**DESIGN, "binding": binding},
    }
    config = validate(raw)
    return ContinuousPlan.from_config(config, config.endpoints[0])


@pytest.mark.parametrize("binding", [False, True])
def test_simulated_inner_wedge_matches_the_integration(binding):
    # The known-variance z statistic is exactly the canonical process, so the
    # simulated per-look outcomes must match the recursive integration.
    plan = continuous_plan(binding)
    n = 200_000
    n_c, n_e = plan.looks.evaluable_c[-1], plan.looks.evaluable_e[-1]
    for stream, delta in (("power", 4.0), ("type1", 0.0)):
        _, counts = plan.run_chunk(np.random.default_rng(12), n, stream)
        drift = delta / (10.0 * np.sqrt(1.0 / n_c + 1.0 / n_e))
        p = plan.bounds.sequential.probabilities(drift)
        assert plan.bounds.inner
        for key, expected in (("reject", p.reject_upper), ("reject_unfavourable", p.reject_lower),
                              ("futility", p.futility)):
            simulated = counts[key] / n
            mcse = np.sqrt(np.maximum(expected, 1.0 / n) * (1.0 - expected) / n)
            assert np.all(np.abs(simulated - expected) <= 4 * mcse), (stream, key, simulated, expected)
        assert counts["futility"][1] > 0 and counts["futility"][0] == 0  # no wedge at look 1


def test_type1_two_sided_is_alpha():
    # Binding inner wedge, obeyed: the two tails together spend exactly alpha.
    raw = {
        "trial": {"n_total": 240},
        "endpoints": {"y": {"kind": "continuous", "test": "z", "better": "higher",
                            "truth": {"sd": 10.0, "control": {"mean": 0.0}, "experimental": {"mean": 4.0}}}},
        "design": {**DESIGN, "binding": True},
        "simulation": {"n_sims": 40_000, "null": True, "seed": 7},
    }
    report = Trial.from_dict(raw).simulate(jobs=1).to_dict()
    scenario = report["scenarios"][0]
    e = scenario["endpoints"]["y"]
    mcse = np.sqrt(0.05 * 0.95 / 40_000)
    assert e["type1_two_sided"] == pytest.approx(0.05, abs=4 * mcse)
    assert e["type1_two_sided_mcse"] == pytest.approx(mcse, rel=0.05)
    assert e["type1"] == pytest.approx(0.025, abs=4 * np.sqrt(0.025 * 0.975 / 40_000))
    assert e["type1_two_sided"] > e["type1"]
    # One endpoint: the trial's two-sided type I error is the endpoint's.
    assert scenario["type1_two_sided"] == e["type1_two_sided"]
    assert scenario["type1"] == e["type1"]


def test_binary_two_sided_exact_and_report_fields():
    raw = rates_config(n_total=262)
    raw["simulation"] = {"n_sims": 4_000, "null": True, "seed": 3}
    result = Trial.from_dict(raw).simulate(jobs=1)
    report = result.to_dict()
    e = report["scenarios"][0]["endpoints"]["y"]
    analytic = e["analytic"]
    assert analytic["size_exact_two_sided"] > analytic["size_exact"]
    assert analytic["size_exact_two_sided"] == pytest.approx(2 * analytic["size_exact"], rel=0.05)
    assert "type1_two_sided" in e and "type1_two_sided" in report["scenarios"][0]
    # One-sided designs have no two-sided fields.
    raw1 = rates_config(n_total=262, alpha=0.025, sided=1)
    raw1["simulation"] = {"n_sims": 1_000, "null": True, "seed": 3}
    report1 = Trial.from_dict(raw1).simulate(jobs=1).to_dict()
    e1 = report1["scenarios"][0]["endpoints"]["y"]
    assert "type1_two_sided" not in e1 and "type1_two_sided" not in report1["scenarios"][0]
    assert "size_exact_two_sided" not in e1["analytic"]


def test_binary_simulation_matches_enumeration_with_the_wedge():
    raw = rates_config(n_total=262)
    config = validate(raw)
    plan = BinaryPlan.from_config(config, config.endpoints[0])
    n = 100_000
    for stream, rates in (("power", (0.3, 0.5)), ("type1", (0.3, 0.3))):
        _, counts = plan.run_chunk(np.random.default_rng(5), n, stream)
        exact = plan.sequential_exact(*rates)
        for key in ("reject", "reject_unfavourable", "futility"):
            expected = exact[key]
            mcse = np.sqrt(np.maximum(expected, 1.0 / n) * (1.0 - expected) / n)
            assert np.all(np.abs(counts[key] / n - expected) <= 4 * mcse), (stream, key)
        assert exact["futility"][1] > 0


def test_fisher_inner_wedge_is_both_one_sided_p_values_above_the_level():
    # |z| < a on the count scale: the favourable and the unfavourable one-sided
    # p-values both exceed sf(a).
    nc, ne, a = 40, 45, 0.6
    level = float(stats.norm.sf(a))
    fav, unf = fisher_thresholds(nc, ne, 0.01, 2)
    fut = fisher_thresholds(nc, ne, level, 1)[0] - 1

    class Looks:
        planned_fractions = (1.0,)
        evaluable_c = np.array([nc])
        evaluable_e = np.array([ne])

    class Bounds:
        futility = np.array([a])
        futility_floor = np.array([-a])

    floor = _fisher_floor_table(FISHER, Looks, Bounds)[0]
    futile = 0
    for xc in range(nc + 1):
        for xe in range(ne + 1):
            outcome = decide(FISHER, xc, nc, xe, ne, 0.0, np.nan, np.nan, np.nan, np.nan, fav, unf, fut, floor)
            upper = fisher_pvalue(xc, nc, xe, ne, 1)
            lower = fisher_pvalue(xe, ne, xc, nc, 1)  # arms swapped: the unfavourable tail
            if outcome not in (REJECT_FAVOURABLE, REJECT_UNFAVOURABLE):
                assert (outcome == STOP_FUTILITY) == (upper > level and lower > level), (xc, xe, upper, lower)
            futile += outcome == STOP_FUTILITY
    assert futile > 100


# ---------------------------------------------------------------- survival and joint engines
def test_survival_and_joint_engines_stop_in_the_wedge():
    from simulator.design.survival import accrual_pieces, hazards_from
    from simulator.engine.joint import simulate_calendar
    from simulator.engine.survival import simulate_trials

    n, a = 3000, 0.6
    common = dict(accrual=accrual_pieces(duration=24.0), control=hazards_from(median=24.0), hazard_ratio=1.0,
                  look_events=[60, 120], efficacy=[2.8, 1.98], futility=[a, -np.inf], sided=2, inner=True)
    trials = simulate_trials(n, 120, 120, rng=np.random.default_rng(8), **common)
    joint = simulate_calendar(np.random.default_rng(8), 120, 120, cholesky=np.eye(1),
                              thresholds=np.zeros((n, 0, 2)), delays=[], **common)
    for decision, stop, z_first in (
        (trials.decision, trials.stop_look, trials.z_looks[:, 0]),
        (joint.decision, joint.stop_look, joint.z[:, 0]),
    ):
        futile = decision == STOP_FUTILITY
        assert futile.sum() > 100 and np.all(stop[futile] == 0)
        assert np.all(np.abs(z_first[futile]) < a)
        # Past the first look: outside the wedge and inside the efficacy bounds.
        on = stop == 1
        assert np.all((np.abs(z_first[on]) >= a) & (np.abs(z_first[on]) < 2.8))
        assert np.any(z_first[on] < -a)  # the unfavourable side of the wedge continues


def test_design_output_names_the_futility_region():
    e = Trial.from_dict(rates_config()).design().to_dict()["scenarios"][0]["endpoints"]["y"]
    assert e["futility_region"].startswith("inner") and "experimental" in e["futility_note"]
    e = Trial.from_dict(rates_config(two_sided_futility="one_sided")).design().to_dict()
    assert e["scenarios"][0]["endpoints"]["y"]["futility_region"].startswith("one_sided")


def test_a_fixed_inner_bound_of_zero_stops_only_at_z_zero():
    # A code review: an inner futility bound of 0 was taken as no floor, so every z <= 0 stopped (half the trials
    # under H0: futility 0.49995, expected n 149.7, unfavourable rejection 0.00205), where the wedge |Z| <= 0
    # (docs/conventions.md: bounds included) holds z = 0 alone: never for a continuous z (rpact: expected n
    # 199.6949, unfavourable rejection 0.025).
    raw = {"trial": {"n_total": 200},
           "design": {"alpha": 0.05, "sided": 2, "looks": 2, "efficacy": "asOF", "futility": [0.0]},
           "endpoints": {"y": {"kind": "continuous", "test": "z",
                               "truth": {"sd": 1.0, "control": {"mean": 0.0}, "experimental": {"mean": 0.0}}}}}
    n = 8000
    block = Trial.from_dict(raw).simulate(n_sims=n, seed=1).to_dict()["scenarios"][0]["endpoints"]["y"]
    assert block["futility_per_look"][0] == 0.0
    assert abs(block["reject_unfavourable"] - 0.025) < 4 * np.sqrt(0.025 * 0.975 / n)
    # A binary pooled z is 0 exactly when the arms' counts are equal (10 a side at look 1): those trials stop.
    raw["trial"]["n_total"] = 40
    raw["endpoints"] = {"r": {"kind": "binary", "test": "z_pooled", "truth": {"control": 0.3, "experimental": 0.3}}}
    config = validate(raw)
    plan = BinaryPlan.from_config(config, config.endpoints[0])
    ties = float((stats.binom.pmf(np.arange(11), 10, 0.3) ** 2).sum())
    assert plan.exact()["futility_per_look_exact"][0] == pytest.approx(ties, abs=1e-12)
    block = Trial.from_dict(raw).simulate(n_sims=n, seed=2).to_dict()["scenarios"][0]["endpoints"]["r"]
    assert abs(block["futility_per_look"][0] - ties) < 4 * np.sqrt(ties * (1 - ties) / n)
