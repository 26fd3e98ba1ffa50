"""Group-sequential binary simulation against exact enumeration.

The oracle convolves the binomial increments look by look
(:func:`simulator.design.exact.sequential_rejection`); it does not use the
normal approximation, which differs from the discrete truth by several MCSE
at 10^5 trials. Tolerance: 4 MCSE from the exact per-look probability, fixed
seeds (a correct engine fails one comparison with probability 6e-5).
"""

import math

import numpy as np
import pytest

from simulator.config.validate import validate
from simulator.design.boundaries import fixed_design_drift
from simulator.endpoints.binary import BinaryPlan

N_SIMS = 100_000


def make_plan(test="z_pooled", n_total=458, p_c=0.35, p_e=0.50, sided=1, alpha=0.025, better="higher", margin=0.0, **design):
    raw = {
        "trial": {"n_total": n_total},
        "endpoints": {"y": {"kind": "binary", "test": test, "better": better, "margin": margin,
                            "truth": {"control": p_c, "experimental": p_e}}},
        "design": {"alpha": alpha, "sided": sided, "power": 0.9, **design},
    }
    config = validate(raw)
    return BinaryPlan.from_config(config, config.endpoints[0])


DESIGNS = [
    dict(looks=3, efficacy="asOF"),
    dict(looks=[0.3, 0.6, 1.0], efficacy="asP", futility="bsOF"),
    dict(looks=4, efficacy="asHSD", efficacy_param=-4.0, futility="bsHSD", futility_param=-2.0, binding=True),
    dict(looks=2, efficacy="OF", futility=[0.0]),
    dict(looks=3, efficacy="asOF", sided=2, alpha=0.05),
]
TESTS = [("z_pooled", 0.0), ("fisher", 0.0), ("farrington_manning", 0.1), ("chi2_yates", 0.0), ("z_unpooled", 0.0)]


def per_look(plan, p_c, p_e, seed):
    rng = np.random.default_rng(seed)
    stop, decision, _, _ = plan.simulate(rng, N_SIMS, "power") if (p_c, p_e) == plan.truth else plan.simulate(rng, N_SIMS, "type1")
    k = len(plan.looks.planned_fractions)
    return {
        "reject": np.bincount(stop[decision == 1], minlength=k) / N_SIMS,
        "reject_unfavourable": np.bincount(stop[decision == -1], minlength=k) / N_SIMS,
        "futility": np.bincount(stop[decision == 2], minlength=k) / N_SIMS,
    }


# A margin needs a one-sided design, so non-inferiority skips two-sided ones.
CASES = [(d, t, m) for d in range(len(DESIGNS)) for t, m in TESTS if not (m and DESIGNS[d].get("sided", 1) == 2)]


@pytest.mark.slow
@pytest.mark.parametrize("design_index, test, margin", CASES)
def test_per_look_probabilities_match_enumeration(design_index, test, margin):
    design = dict(DESIGNS[design_index])
    plan = make_plan(test=test, margin=margin, p_c=0.35, p_e=0.50 - margin, **design)
    failures = []
    for label, rates, seed in (("truth", plan.truth, 11), ("null", plan.null_truth(), 12)):
        exact = plan.sequential_exact(*rates)
        simulated = per_look(plan, *rates, seed + design_index)
        for key in ("reject", "reject_unfavourable", "futility"):
            for k, (e, s) in enumerate(zip(exact[key], simulated[key])):
                mcse = math.sqrt(e * (1 - e) / N_SIMS)
                if abs(e - s) > 4 * mcse + 1e-12:
                    failures.append((label, key, k, s, e, mcse))
    assert not failures, failures


def test_type1_error_at_most_alpha_by_enumeration_for_sequential_fisher():
    for p in (0.1, 0.35, 0.6):
        plan = make_plan(test="fisher", p_c=p, p_e=p + 0.15, looks=3, efficacy="asOF")
        assert sum(plan.sequential_exact(p, p)["reject"]) <= 0.025 + 1e-12


def test_realised_fractions_use_whole_patients():
    # 101 patients at 1:1 -> 51 control + 50 experimental (a tie of remainders
    # goes to the control arm); thirds of each arm round half up.
    plan = make_plan(n_total=101, looks=3)
    assert plan.looks.enrolled_c.tolist() == [17, 34, 51]
    assert plan.looks.enrolled_e.tolist() == [17, 33, 50]
    assert plan.looks.realised_fractions[-1] == 1.0
    assert plan.looks.realised_fractions != plan.looks.planned_fractions


def test_design_size_matches_rpact():
    # rpact getSampleSizeRates(getDesignGroupSequential(kMax = 3, alpha = 0.025,
    # beta = 0.1, typeOfDesign = "asOF"), pi1 = 0.5, pi2 = 0.35):
    # maximum 457.68, expected under H1 367.05.
    plan = make_plan(looks=3, efficacy="asOF")
    analytic = plan.analytic(_config(looks=3, efficacy="asOF"))
    assert analytic["n_total_design"] == pytest.approx(457.68, abs=0.01)
    assert analytic["expected_n_h1_design"] == pytest.approx(367.05, abs=0.01)


def _config(**design):
    return validate({
        "trial": {"n_total": 458},
        "endpoints": {"y": {"kind": "binary", "truth": {"control": 0.35, "experimental": 0.5}}},
        "design": {"alpha": 0.025, "power": 0.9, **design},
    })


def test_futility_bound_of_zero_stops_on_ties_as_rpact_does():
    # Equal arms, equal rates and a futility bound of 0: the pooled z is exactly 0 whenever the
    # observed rates are equal (probability about 0.08 at 50 per arm), so the convention decides
    # a large share. rpact's getSimulationRates stops there (testStatistic <= futilityBounds);
    # the reference is P(x_E <= x_C) written out with scipy's binomial pmf (z <= 0 iff x_E <= x_C
    # with equal arms), not the package's decision function. The old rule (continue on the bound)
    # gives P(x_E < x_C), about 23 MCSE lower.
    from scipy import stats

    plan = make_plan(n_total=200, p_c=0.3, p_e=0.3, looks=2, efficacy="OF", futility=[0.0])
    assert plan.looks.evaluable_c[0] == plan.looks.evaluable_e[0] == 50
    pmf = stats.binom.pmf(np.arange(51), 50, 0.3)
    at_or_below = float(np.sum(pmf * np.cumsum(pmf)))  # P(x_E <= x_C) = sum_c P(x_C = c) P(x_E <= c)
    strictly_below = at_or_below - float(np.sum(pmf**2))
    futility = per_look(plan, 0.3, 0.3, seed=5)["futility"][0]
    mcse = math.sqrt(at_or_below * (1 - at_or_below) / N_SIMS)
    assert abs(futility - at_or_below) < 4 * mcse, (futility, at_or_below, strictly_below)
    assert at_or_below - strictly_below > 20 * mcse  # the test tells the two rules apart


def test_expected_patients_weigh_each_looks_patients():
    # With missing outcomes and 1:3 allocation the information fractions are not the patients' (a review:
    # 530.43 for the 530.82 patients of this design): the expected patients at stopping are the patients
    # randomised by each look weighted by the probability of stopping there (the analytic block's own).
    raw = {
        "trial": {"n_total": 700, "allocation": [1, 3], "missing": 0.1},
        "endpoints": {"y": {"kind": "binary", "test": "farrington_manning", "margin": 0.1,
                            "truth": {"control": 0.70, "experimental": 0.72}}},
        "design": {"alpha": 0.025, "power": 0.9, "looks": 2, "efficacy": "asP"},
    }
    config = validate(raw)
    plan = BinaryPlan.from_config(config, config.endpoints[0])
    analytic = plan.analytic(config)
    sizes = plan.looks.enrolled_total
    assert sizes.tolist() == [351, 700]
    stop_h1 = analytic["reject_per_look"][0] + analytic["futility_per_look"][0]
    assert analytic["expected_n_h1"] == pytest.approx(sizes[0] * stop_h1 + sizes[1] * (1 - stop_h1), rel=1e-12)
    assert analytic["expected_n_h1"] == pytest.approx(530.8216, abs=1e-4)
    # Equal arms, no missing outcomes: the patients' fractions are the information fractions (rpact's ASN).
    plan = make_plan(n_total=600, looks=3, efficacy="asOF")
    analytic = plan.analytic(_config(looks=3, efficacy="asOF"))
    sequential = plan.bounds.sequential
    assert plan.looks.enrolled_total.tolist() == [200, 400, 600]
    drift = fixed_design_drift(0.025, 1, analytic["power_fixed_design"])
    assert analytic["expected_n_h1"] == pytest.approx(600 * sequential.probabilities(drift).expected_fraction,
                                                      rel=1e-12)


def _unpooled_z(x_c, x_e, n):
    """Wald z of equal arms of ``n``, written out: 0 for a zero difference, +-inf for a zero standard error."""
    p_c, p_e = x_c / n, x_e / n
    se = np.sqrt(p_c * (1 - p_c) / n + p_e * (1 - p_e) / n)
    diff = p_e - p_c
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.sign(diff) * np.inf))


def _two_look_power(bounds, n1, n2, p_c, p_e):
    """P(reject) of a one-sided two-look design, no futility, by enumeration of both looks' tables.

    A -inf z continues (one-sided, no futility); a first look whose bound is +inf stops nowhere.
    """
    from scipy.stats import binom

    x = np.arange(n1 + 1)
    first = binom.pmf(x, n1, p_c)[:, None] * binom.pmf(x, n1, p_e)[None, :]
    stop = (_unpooled_z(x[:, None], x[None, :], n1) >= bounds[0]) & (bounds[0] < np.inf)  # +inf: no bound
    total = float(first[stop].sum())
    y = np.arange(n2 - n1 + 1)
    second = binom.pmf(y, n2 - n1, p_c)[:, None] * binom.pmf(y, n2 - n1, p_e)[None, :]
    for i, j in zip(*np.nonzero(~stop)):
        total += first[i, j] * float(second[_unpooled_z(i + y[:, None], j + y[None, :], n2) >= bounds[1]].sum())
    return total


def test_an_infinite_z_does_not_meet_an_infinite_bound():
    # A review: z_unpooled is -inf on a 0-vs-1 table (zero standard error), and -inf <= -inf made a one-sided
    # design reject unfavourably (0.0225 exact at n = 40 with a look at 4 patients) and an infinite efficacy
    # bound (a look spending no alpha) reject at z = +inf. Reference: both looks' tables enumerated, each z
    # written out, a -inf z continuing (one-sided, no futility). The power is 0.24762 (was 0.24682).
    looks = dict(looks=[0.1, 1.0], efficacy="asP")
    plan = make_plan("z_unpooled", n_total=40, p_c=0.6, p_e=0.75, **looks)
    assert plan.looks.enrolled_total.tolist() == [4, 40]
    exact = plan.exact()
    bounds = np.asarray(plan.bounds.efficacy, dtype=float)
    assert exact["power_exact"] == pytest.approx(_two_look_power(bounds, 2, 20, 0.6, 0.75), abs=1e-12)
    assert exact["power_exact"] == pytest.approx(0.2476176, abs=1e-7)
    assert exact["size_exact"] == pytest.approx(_two_look_power(bounds, 2, 20, 0.6, 0.6), abs=1e-12)
    assert exact.get("reject_unfavourable_exact", 0.0) == 0.0
    # A first look that spends no alpha (asUser 0 there: bound +inf) rejects nowhere, whatever the z.
    user = make_plan("z_unpooled", n_total=40, p_c=0.3, p_e=0.8, looks=[0.1, 1.0], efficacy="asUser",
                     efficacy_param=[0.0, 0.025])
    assert math.isinf(user.bounds.efficacy[0])
    assert user.exact()["reject_per_look_exact"][0] == 0.0
    bounds = np.asarray(user.bounds.efficacy, dtype=float)
    assert user.exact()["power_exact"] == pytest.approx(_two_look_power(bounds, 2, 20, 0.3, 0.8), abs=1e-12)


def test_fishers_test_rejects_nowhere_at_a_look_that_spends_no_alpha():
    # A code review: Fisher's critical counts at level 0 (asUser 0 at look 1: bound +inf) still rejected the
    # tables whose p-value the log-scale branch takes as 0 (below 1e-250): per-look rejection [1, 0] at 0.02 vs
    # 0.95 with 1334 patients, where the z test gives [0, 1].
    looks = dict(looks=[0.9, 1.0], efficacy="asUser", efficacy_param=[0.0, 0.025])
    fisher = make_plan("fisher", n_total=1334, p_c=0.02, p_e=0.95, **looks).exact()
    z = make_plan("z_pooled", n_total=1334, p_c=0.02, p_e=0.95, **looks).exact()
    assert fisher["reject_per_look_exact"][0] == 0.0 == z["reject_per_look_exact"][0]
    assert fisher["power_exact"] == pytest.approx(1.0, abs=1e-12)


def test_an_anti_conservative_exact_size_is_noted():
    # A review: z_unpooled with 40 patients and a look at 4 rejects far too often under H0 (the first test
    # above: exact size from the enumeration there), which only size_exact showed. Above 1.2 times the
    # one-sided level the analytic note says so; the pooled z at 458 patients (size within a few per cent
    # of its level) and Fisher's test (never above it) stay quiet.
    from simulator.endpoints.common import analytic_and_exact

    looks = dict(looks=[0.1, 1.0], efficacy="asP")
    raw = {"trial": {"n_total": 40}, "design": {"alpha": 0.025, **looks},
           "endpoints": {"y": {"kind": "binary", "test": "z_unpooled", "truth": {"control": 0.6, "experimental": 0.75}}}}
    config = validate(raw)
    plan = BinaryPlan.from_config(config, config.endpoints[0])
    bounds = np.asarray(plan.bounds.efficacy, dtype=float)
    size = _two_look_power(bounds, 2, 20, 0.6, 0.6)
    assert size > 1.2 * 0.025
    block = analytic_and_exact(plan, config)
    assert f"the exact size of z_unpooled here is {size:.4g} against its one-sided level 0.025" in block["note"]
    for test, n_total in (("z_pooled", 458), ("fisher", 40)):
        quiet = make_plan(test, n_total=n_total, **looks).exact()
        assert "exact_note" not in quiet and quiet["size_exact"] <= 1.2 * 0.025


def test_an_anti_conservative_two_sided_size_is_noted():
    # A code review: 48 patients at 3:1, two-sided z_unpooled: favourable tail 0.0113 (quiet) but both tails
    # 0.1503 against 0.05. Reference: the two-sided size by enumeration of both binomials at the null rate.
    from scipy.stats import binom, norm

    raw = {"trial": {"n_total": 48, "allocation": [3, 1]}, "design": {"alpha": 0.05, "sided": 2},
           "endpoints": {"r": {"kind": "binary", "test": "z_unpooled", "truth": {"control": 0.1, "experimental": 0.3}}}}
    config = validate(raw)
    plan = BinaryPlan.from_config(config, config.endpoints[0])
    xc, xe = np.meshgrid(np.arange(37), np.arange(13), indexing="ij")
    pc, pe = xc / 36, xe / 12
    se = np.sqrt(pc * (1 - pc) / 36 + pe * (1 - pe) / 12)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (pe - pc) / se, np.where(pe > pc, np.inf, np.where(pe < pc, -np.inf, 0.0)))
    weights = np.outer(binom.pmf(np.arange(37), 36, 0.1), binom.pmf(np.arange(13), 12, 0.1))
    both = float(weights[np.abs(z) >= norm.ppf(0.975)].sum())
    exact = plan.exact()
    assert exact["size_exact_two_sided"] == pytest.approx(both, abs=1e-12)
    assert exact["size_exact"] < 1.2 * 0.025 < 1.2 * 0.05 < both
    assert exact["exact_note"].startswith(f"the exact size of z_unpooled here is {both:.4g} against its two-sided level 0.05")


def test_an_anti_conservative_size_at_a_small_level_is_printed_with_its_digits():
    # A review: at alpha 2e-5 the note said "the exact size of z_pooled here is 0.0000" beside a size of
    # 4.9e-05. Reference: the pooled z by enumeration of both binomials at the control rate (225 + 75).
    from scipy.stats import binom, norm

    raw = {"trial": {"n_total": 300, "allocation": [3, 1]}, "design": {"alpha": 2e-5},
           "endpoints": {"r": {"kind": "binary", "test": "z_pooled", "truth": {"control": 0.2, "experimental": 0.4}}}}
    config = validate(raw)
    plan = BinaryPlan.from_config(config, config.endpoints[0])
    from _binary_reference import z_table

    size = float(np.outer(binom.pmf(np.arange(226), 225, 0.2), binom.pmf(np.arange(76), 75, 0.2))[
        z_table(225, 75) >= norm.isf(2e-5)].sum())
    exact = plan.exact()
    assert exact["size_exact"] == pytest.approx(size, rel=1e-9)
    assert size > 1.2 * 2e-5
    assert exact["exact_note"].startswith(f"the exact size of z_pooled here is {size:.4g} against its one-sided level 2e-05")
    assert "0.0000" not in exact["exact_note"]


def test_a_fisher_p_value_equal_to_the_level_rejects():
    # A review: with 3 a side, 0/3 vs 3/3 has p = 1/C(6, 3) = 1/20, alpha 0.05 exactly, and did not reject (the
    # level went through the normal quantile and back, 3e-17 below alpha); R's fisher.test gives p <= alpha. At
    # 0.5 vs 0.5 and alpha 0.2 the tables (1, 3) and (0, 2) have p = 3/15 = 0.2: the size is 0.109375, not 0.015625.
    from fractions import Fraction
    from math import comb

    def exact_size():
        # Enumeration in rational arithmetic: each table's one-sided hypergeometric p-value against 1/5.
        total = Fraction(0)
        for xc in range(4):
            for xe in range(4):
                m = xc + xe
                p = sum(Fraction(comb(3, k) * comb(3, m - k), comb(6, m)) for k in range(xe, min(3, m) + 1))
                if p <= Fraction(1, 5):
                    total += Fraction(comb(3, xc) * comb(3, xe), 64)
        return total

    one = make_plan("fisher", n_total=6, p_c=0.0, p_e=1.0, alpha=0.05)
    assert one.exact()["power_exact"] == 1.0
    tie = make_plan("fisher", n_total=6, p_c=0.5, p_e=0.5, alpha=0.2)
    assert exact_size() == Fraction(7, 64)
    assert tie.exact()["size_exact"] == pytest.approx(7 / 64, abs=1e-15)
