"""Tests of the analytic group-sequential layer (simulator.design).

Reference values come from rpact (the expected values of its own unit tests,
rpact-com/rpact tests/testthat/test-f_design_group_sequential.R and
test-f_design_group_sequential_beta_spending.R, or the R call quoted next to
them) and from the tables of Jennison & Turnbull (2000). rpact prints 8
significant digits and checks them to 1e-7; the brief asks for 1e-6 on the
z scale, which is the tolerance used here.
"""

import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import norm

from simulator.design.boundaries import (
    GRID_R,
    GroupSequentialBounds,
    fixed_design_drift,
    group_sequential_bounds,
    sequential_probabilities,
    spending_bounds,
)
from simulator.design.spending import (
    ALPHA_SPENDING_CODES,
    BETA_SPENDING_CODES,
    SPENDING_FUNCTIONS,
    get_spending_function,
)
from simulator.errors import InputError

Z_TOL = 1e-6  # the precision asked of boundaries on the z scale


# ---------------------------------------------------------------------------
# Spending functions
# ---------------------------------------------------------------------------


def test_registry_holds_the_contract_codes():
    assert set(ALPHA_SPENDING_CODES) == {"asOF", "asP", "asKD", "asHSD", "asUser"}
    assert set(BETA_SPENDING_CODES) == {"bsOF", "bsP", "bsKD", "bsHSD"}


@pytest.mark.parametrize(
    "code, param", [("asOF", None), ("asP", None), ("asKD", 2.0), ("asHSD", -4.0), ("asHSD", 0.0), ("bsHSD", 1.0)]
)
def test_spending_is_increasing_and_spends_the_level_at_one(code, param):
    fn = get_spending_function(code)
    t = np.linspace(0.05, 1.0, 20)
    values = fn.cumulative(t, 0.025, param)
    assert np.all(np.diff(values) > 0)
    assert values[-1] == pytest.approx(0.025, rel=1e-12)


def test_two_sided_spending_follows_rpact():
    # rpact getSpendingValueCpp: asOF spends 2 * sided * (1 - Phi(z_{1 - alpha/(2 sided)} / sqrt t)).
    t = np.array([0.3, 0.6, 1.0])
    spent = get_spending_function("asOF").cumulative(t, 0.05, sided=2)
    expected = 4 * norm.sf(norm.isf(0.05 / 4) / np.sqrt(t))
    np.testing.assert_allclose(spent, expected, rtol=1e-10)
    # Families linear in the level are unchanged by sidedness.
    hsd = get_spending_function("asHSD")
    np.testing.assert_allclose(hsd.cumulative(t, 0.05, -4.0, sided=2), hsd.cumulative(t, 0.05, -4.0), rtol=1e-12)


def test_unknown_spending_code_lists_the_valid_ones():
    message = r"`design.futility`: unknown spending function 'bsXX'; valid codes: asOF, asP, asKD, asHSD, asUser, bsOF"
    with pytest.raises(InputError, match=message):
        get_spending_function("bsXX", "design.futility")
    assert "bsHSD" in SPENDING_FUNCTIONS


# ---------------------------------------------------------------------------
# Boundaries against rpact and published tables
# ---------------------------------------------------------------------------


def test_asof_three_looks_matches_rpact():
    # rpact: getDesignGroupSequential(kMax = 3, alpha = 0.025, typeOfDesign = "asOF")$criticalValues
    d = group_sequential_bounds(3, alpha=0.025, sided=1, efficacy="asOF")
    np.testing.assert_allclose(d.efficacy, [3.710303, 2.511427, 1.993047], atol=Z_TOL)
    assert d.alpha_spent[-1] == pytest.approx(0.025, abs=1e-10)


def test_ashsd_unequal_looks_matches_rpact():
    # rpact: getDesignGroupSequential(informationRates = c(0.3, 0.5, 0.8, 1), alpha = 0.025,
    #        typeOfDesign = "asHSD", gammaA = -4)$criticalValues
    d = group_sequential_bounds([0.3, 0.5, 0.8, 1.0], 0.025, 1, "asHSD", -4.0)
    np.testing.assert_allclose(d.efficacy, [3.066700, 2.836594, 2.347687, 2.022117], atol=Z_TOL)


@pytest.mark.parametrize(
    "K, pocock, obrien_fleming",
    [(2, 2.178, 1.977), (3, 2.289, 2.004), (4, 2.361, 2.024), (5, 2.413, 2.040)],
)
def test_jennison_turnbull_constants(K, pocock, obrien_fleming):
    # Jennison & Turnbull (2000), Table 2.1 (C_P(K, 0.05)) and Table 2.3 (C_B(K, 0.05)),
    # two-sided alpha = 0.05, equally spaced looks.
    p = group_sequential_bounds(K, 0.05, 2, "P")
    of = group_sequential_bounds(K, 0.05, 2, "OF")
    assert np.allclose(p.efficacy, p.efficacy[0])
    assert round(p.efficacy[0], 3) == pocock
    np.testing.assert_allclose(of.efficacy * np.sqrt(of.fractions), of.efficacy[-1])
    assert round(of.efficacy[-1], 3) == obrien_fleming


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # x0: getDesignInverseNormal() (default OF, kMax 3, alpha 0.025); same bounds as group sequential.
        (dict(looks=3, alpha=0.025, efficacy="OF"), [3.4710914, 2.4544323, 2.0040356]),
        # x5: typeOfDesign = "asUser", userAlphaSpending = c(0.01, 0.02, 0.03, 0.05)
        (
            dict(looks=4, alpha=0.05, efficacy="asUser", efficacy_param=[0.01, 0.02, 0.03, 0.05]),
            [2.3263479, 2.2192994, 2.1201347, 1.8189562],
        ),
        # x8a: WT deltaWT = 0.4, kMax 4, alpha 0.025, futilityBounds = rep(0.5244, 3), binding
        (
            dict(looks=4, alpha=0.025, efficacy="WT", efficacy_param=0.4, futility=[0.5244] * 3, binding=True),
            [2.4958485, 2.328709, 2.2361766, 2.1727623],
        ),
        # x8b: WT deltaWT = 0.24, two-sided alpha 0.025, informationRates c(0.3, 0.8, 1)
        (
            dict(looks=[0.3, 0.8, 1.0], alpha=0.025, sided=2, efficacy="WT", efficacy_param=0.24),
            [3.2029374, 2.4819703, 2.3420706],
        ),
        # x9: typeOfDesign = "HP", kMax 4, alpha 0.025
        (dict(looks=4, alpha=0.025, efficacy="HP"), [3.0, 3.0, 3.0, 1.9827514]),
        # Binding futility lets the OF constant fall below z_{0.975} (the final bound 1.9527 < 1.96), where
        # the root search once started: getDesignGroupSequential(kMax = 2, typeOfDesign = "OF",
        #   futilityBounds = 0.5, bindingFutility = TRUE, alpha = 0.025)
        (dict(looks=2, alpha=0.025, efficacy="OF", futility=[0.5], binding=True), [2.7615448, 1.9527070]),
        (dict(looks=2, alpha=0.025, efficacy="OF", futility=[1.8], binding=True), [2.125126, 1.502691]),
        # ... informationRates = c(0.25, 0.6, 1), futilityBounds = c(0.1, 0.5), the same with "WT", deltaWT = 0
        (
            dict(looks=[0.25, 0.6, 1.0], alpha=0.025, efficacy="OF", futility=[0.1, 0.5], binding=True),
            [3.8794899, 2.5041999, 1.9397449],
        ),
        (
            dict(looks=[0.25, 0.6, 1.0], alpha=0.025, efficacy="WT", efficacy_param=0.0, futility=[0.1, 0.5],
                 binding=True),
            [3.8794899, 2.5041999, 1.9397449],
        ),
        # ... futilityBounds = c(0, 0)
        (
            dict(looks=[0.25, 0.6, 1.0], alpha=0.025, efficacy="OF", futility=[0.0, 0.0], binding=True),
            [3.9092577, 2.5234150, 1.9546289],
        ),
        # beta-spending test file, first case: the efficacy bounds of a non-binding two-sided
        # design ignore the futility bounds, so they are the plain two-sided asKD bounds:
        # informationRates c(0.3, 0.4, 0.8, 1), alpha 0.05, sided 2, asKD gammaA 2.5
        (
            dict(looks=[0.3, 0.4, 0.8, 1.0], alpha=0.05, sided=2, efficacy="asKD", efficacy_param=2.5),
            [3.0276355, 2.8984727, 2.2289649, 2.0639032],
        ),
    ],
)
def test_efficacy_families_match_rpact(kwargs, expected):
    d = group_sequential_bounds(**kwargs)
    np.testing.assert_allclose(d.efficacy, expected, atol=Z_TOL)
    assert d.alpha_spent[-1] == pytest.approx(kwargs["alpha"], abs=1e-9)


# getDesignInverseNormal / getDesignGroupSequential cases of rpact's beta-spending tests.
# x2: getDesignInverseNormal(kMax = 3, informationRates = c(0.2, 0.4, 1), alpha = 0.07,
#     beta = 0.14, typeOfDesign = "asHSD", gammaA = -1, typeBetaSpending = "bsHSD", gammaB = -2)
X2 = dict(looks=[0.2, 0.4, 1.0], alpha=0.07, efficacy="asHSD", efficacy_param=-1.0,
          futility="bsHSD", futility_param=-2.0, power=0.86)
# x3: informationRates c(0.3, 0.7, 1), alpha 0.03, beta 0.34, asKD gammaA 2.2, bsKD gammaB 3.2
X3 = dict(looks=[0.3, 0.7, 1.0], alpha=0.03, efficacy="asKD", efficacy_param=2.2,
          futility="bsKD", futility_param=3.2, power=0.66)


@pytest.mark.parametrize(
    "kwargs, efficacy, futility, beta_spent",
    [
        (X2, [2.364813, 2.1928805, 1.5660474], [-1.1063623, -0.35992439], [0.010777094, 0.026854629, 0.14]),
        (X3, [2.8594012, 2.2435708, 1.9735737], [-1.1558435, 0.72836893], [0.0072155083, 0.1085907, 0.34]),
        # x7a: kMax 3, alpha 0.13, beta 0.41, asOF, bsKD gammaB 2.5, informationRates c(0.4, 0.75, 1),
        #      non-binding
        (
            dict(looks=[0.4, 0.75, 1.0], alpha=0.13, efficacy="asOF", futility="bsKD", futility_param=2.5,
                 power=0.59),
            [2.1280732, 1.4368565, 1.2468994], [-0.83725762, 0.35992547], [0.041489083, 0.19972711, 0.41],
        ),
        # x7b: the same with bindingFutility = TRUE
        (
            dict(looks=[0.4, 0.75, 1.0], alpha=0.13, efficacy="asOF", futility="bsKD", futility_param=2.5,
                 power=0.59, binding=True),
            [2.1280732, 1.4362896, 1.2218662], [-0.84937686, 0.34328914], [0.041489083, 0.19972711, 0.41],
        ),
        # x7b (kMax 4): informationRates c(0.4, 0.75, 0.85, 1), binding
        (
            dict(looks=[0.4, 0.75, 0.85, 1.0], alpha=0.13, efficacy="asOF", futility="bsKD",
                 futility_param=2.5, power=0.59, binding=True),
            [2.1280732, 1.4362706, 1.4203748, 1.2576258], [-0.84247693, 0.35276055, 0.62744509],
            [0.041489083, 0.19972711, 0.27310596, 0.41],
        ),
    ],
)
def test_beta_spending_matches_rpact(kwargs, efficacy, futility, beta_spent):
    d = group_sequential_bounds(**kwargs)
    np.testing.assert_allclose(d.efficacy, efficacy, atol=Z_TOL)
    np.testing.assert_allclose(d.futility[:-1], futility, atol=Z_TOL)
    assert d.futility[-1] == -np.inf
    np.testing.assert_allclose(d.beta_spent, beta_spent, atol=1e-8)
    # The joint solve gives the target power, futility stops included; 1e-7 is
    # the integration's own error in a probability at the default grid (about
    # 2e-8 here, falling 16-fold per doubling of r, as Simpson's rule does).
    assert d.probabilities().power == pytest.approx(kwargs["power"], abs=1e-7)


# getDesignCharacteristics() of x2 and x3 (rpact's test prints none for the x7 cases).
@pytest.mark.parametrize("kwargs, shift, asn1, asn0", [(X2, 7.1015942, 0.82636428, 0.79471657),
                                                       (X3, 5.551371, 0.86740735, 0.75480974)])
def test_beta_spending_characteristics_match_rpact(kwargs, shift, asn1, asn0):
    d = group_sequential_bounds(**kwargs)
    # rpact's shift is drift^2; averageSampleNumber = inflation factor * expected fraction.
    assert d.drift**2 == pytest.approx(shift, rel=1e-7)
    assert d.inflation_factor * d.expected_fraction_h1 == pytest.approx(asn1, rel=1e-7)
    assert d.inflation_factor * d.expected_fraction_h0 == pytest.approx(asn0, rel=1e-7)


def test_grid_resolution_is_converged():
    # The default grid against one four times finer: bounds agree within 1e-10 (Gauss-Legendre panels).
    for kwargs in (dict(looks=3, efficacy="asOF"), dict(looks=5, efficacy="asP", futility="bsOF", power=0.9),
                   dict(looks=10, efficacy="asHSD", efficacy_param=-10.0)):
        coarse = group_sequential_bounds(**kwargs)
        fine = group_sequential_bounds(**kwargs, r=4 * GRID_R)
        np.testing.assert_allclose(coarse.efficacy, fine.efficacy, atol=1e-10)
        np.testing.assert_allclose(coarse.futility, fine.futility, atol=1e-10)


@pytest.mark.parametrize("kwargs, look, bound, atol", [
    # A review's own integration (composite 12-point Gauss-Legendre panels at most 0.5 min(1, sqrt(dt / t_k))
    # wide over +-14 sd, exact normal tails, root-finding to 1e-14; halving the panels moved no bound by 1e-9);
    # rpact 3.3.4 getDesignGroupSequential agrees where given. The Simpson grid (r = 32) used before was 7.0e-7,
    # 1.1e-5 and 2.4e-5 off. Tolerances: the references' printed digits.
    (dict(looks=10, efficacy="asHSD", efficacy_param=-10.0), 5, 3.365619903, 1e-9),
    (dict(looks=10, alpha=1e-5, efficacy="asKD", efficacy_param=3.0, futility="bsKD", futility_param=2.0,
          binding=True, power=0.9), 9, 4.3576736819, 1e-10),  # rpact 4.357673682
    (dict(looks=[0.05, 0.95, 1.0], alpha=1e-6, efficacy="asKD", efficacy_param=1.0), 2, 4.9888861355, 1e-10),
])
def test_bounds_at_many_looks_small_levels_and_short_increments(kwargs, look, bound, atol):
    assert group_sequential_bounds(**kwargs).efficacy[look] == pytest.approx(bound, abs=atol)


def _two_look_final_bound(t1: float, alpha: float = 0.025) -> float:
    """asOF at ``t1`` (spending ``2 (1 - Phi(z_(alpha/2) / sqrt(t1)))``), then all of ``alpha`` at 1: the final
    bound by one-dimensional quadrature of P(Z_1 < b_1, Z_2 >= b_2), independent of the recursion."""
    from scipy import integrate, optimize, stats

    spent = 2.0 * stats.norm.sf(stats.norm.isf(alpha / 2.0) / math.sqrt(t1))
    b1 = stats.norm.isf(spent)
    s = math.sqrt(1.0 - t1)

    def crossing(b2):
        inner = lambda z: stats.norm.pdf(z) * stats.norm.sf((b2 - math.sqrt(t1) * z) / s)  # noqa: E731
        return integrate.quad(inner, -12.0, b1, epsabs=1e-15, epsrel=1e-13, limit=400)[0] - (alpha - spent)

    return optimize.brentq(crossing, 1.0, 8.0, xtol=1e-14)


@pytest.mark.parametrize("t1", [0.5, 0.9, 0.998])
def test_a_short_final_increment_against_quadrature(t1):
    # A code review: with the panel width floored at a quarter sd the design's bound was 2e-5 off at increments of
    # 0.1 %; the per-group bounds (two kernel widths) 1e-3 off at a final look 1/1000 after the interim.
    reference = _two_look_final_bound(t1)
    assert group_sequential_bounds([t1, 1.0]).efficacy[1] == pytest.approx(reference, abs=1e-9)
    per_group = spending_bounds([t1, 1.0], [1000 * t1, 1000.0])[1]
    assert per_group == pytest.approx(reference, abs=1e-9)


def test_a_groups_bound_does_not_depend_on_the_groups_before_it():
    # A code review: the shared prefix (the recursion up to the last interim) was cached without its grid, whose
    # panels follow the final increment, so a bound depended on which trials filled the cache first (0.064 in z).
    # Trials ended 1/1000 after an interim at 500 of 1000 planned events, with and without a group before them.
    cache = {}
    spending_bounds([0.5, 1.0], [500.0, 1000.0], prefix_cache=cache, prefix_key="interim 500")
    after = spending_bounds([0.5, 0.501], [500.0, 501.0], prefix_cache=cache, prefix_key="interim 500")
    alone = spending_bounds([0.5, 0.501], [500.0, 501.0])
    np.testing.assert_array_equal(after, alone)
    assert alone[1] == pytest.approx(1.9599639845, abs=1e-9)  # the review's quadrature


def test_the_inflation_factor_at_a_small_level_with_binding_beta_spending():
    # The review's design above: its reference 1.0848569277, rpact's inflationFactor 1.084856933 (r = 32: 1.0848604).
    d = group_sequential_bounds(10, alpha=1e-5, efficacy="asKD", efficacy_param=3.0, futility="bsKD",
                                futility_param=2.0, binding=True, power=0.9)
    assert d.inflation_factor == pytest.approx(1.0848569277, abs=1e-10)


# ---------------------------------------------------------------------------
# Inflation factor: group-sequential sample size for rates as rpact
# ---------------------------------------------------------------------------


def rpact_fixed_size_rates(p_exp, p_ctrl, alpha, beta):
    """rpact's .getSampleSizeFixedRates (R/f_design_plan_rates.R), two groups, 1:1,
    thetaH0 = 0, normal approximation: the Farrington-Manning restricted rates at
    theta = 0 are the pooled rate, so the H0 variance is pooled and the H1 variance
    unpooled; n1 = (z_a sqrt(pbar(1 - pbar)(1 + r)) + z_b sqrt(pE(1 - pE) + pC(1 - pC) r))^2
    / (pE - pC)^2 with r = 1, and nFixed = n1 + n2 = 2 n1.
    """
    z_a, z_b = norm.isf(alpha), norm.isf(beta)
    p_bar = (p_exp + p_ctrl) / 2
    n1 = (z_a * np.sqrt(2 * p_bar * (1 - p_bar)) + z_b * np.sqrt(p_exp * (1 - p_exp) + p_ctrl * (1 - p_ctrl))) ** 2
    return 2 * n1 / (p_exp - p_ctrl) ** 2


def test_rates_group_sequential_size_matches_rpact():
    # rpact: getSampleSizeRates(getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.1,
    #        typeOfDesign = "asOF"), pi1 = 0.5, pi2 = 0.35): maxNumberOfSubjects 457.68,
    #        expectedNumberOfSubjectsH1 367.05. rpact's .getSampleSizeSequentialRates multiplies
    #        nFixed by inflationFactor and by averageSampleNumber1 (= IF * expected fraction).
    d = group_sequential_bounds(3, alpha=0.025, sided=1, efficacy="asOF", power=0.9)
    n_fixed = rpact_fixed_size_rates(0.5, 0.35, 0.025, 0.1)
    assert n_fixed * d.inflation_factor == pytest.approx(457.68, abs=0.01)
    assert n_fixed * d.inflation_factor * d.expected_fraction_h1 == pytest.approx(367.05, abs=0.01)


def test_single_look_is_the_fixed_design():
    d = group_sequential_bounds(1, alpha=0.025, sided=1, power=0.8)
    assert d.efficacy[0] == pytest.approx(norm.isf(0.025), abs=1e-10)
    assert d.inflation_factor == pytest.approx(1.0, abs=1e-10)
    assert d.drift == pytest.approx(fixed_design_drift(0.025, 1, 0.8), abs=1e-9)


# ---------------------------------------------------------------------------
# Binding and non-binding futility
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("sided, mode", [(1, "inner"), (2, "inner"), (2, "one_sided")])
@pytest.mark.parametrize("futility", ["bsOF", [-0.5, 0.2, 0.8]])
def test_non_binding_type1_ignores_futility(sided, mode, futility):
    if mode == "inner" and sided == 2 and not isinstance(futility, str):
        futility = [0.1, 0.2, 0.8]  # inner wedge |Z| < a_k: a_k >= 0
    d = group_sequential_bounds(
        4, 0.025, sided, "asOF", futility=futility, binding=False, power=0.9, two_sided_futility=mode
    )
    symmetric = sided == 2
    without = sequential_probabilities(d.fractions, d.efficacy, None, 0.0, symmetric=symmetric)
    type1 = without.reject_upper.sum() + without.reject_lower.sum()
    assert type1 == pytest.approx(0.025, abs=1e-9)
    # Obeying the futility bounds can only lower it: the design is conservative.
    obeyed = d.probabilities(0.0)
    assert obeyed.reject_upper.sum() + obeyed.reject_lower.sum() < 0.025 - 1e-4


@pytest.mark.parametrize("futility", ["bsOF", [-0.5, 0.2, 0.8]])
def test_binding_type1_counts_futility(futility):
    binding = group_sequential_bounds(4, 0.025, 1, "asOF", futility=futility, binding=True, power=0.9)
    loose = group_sequential_bounds(4, 0.025, 1, "asOF", futility=futility, binding=False, power=0.9)
    obeyed = binding.probabilities(0.0)
    assert obeyed.reject_upper.sum() + obeyed.reject_lower.sum() == pytest.approx(0.025, abs=1e-9)
    assert binding.alpha_spent[-1] == pytest.approx(0.025, abs=1e-9)
    # Counting on futility stops buys a lower final efficacy bound.
    assert binding.efficacy[-1] < loose.efficacy[-1]


@pytest.mark.parametrize("mode", ["inner", "one_sided"])
def test_two_sided_beta_spending_reaches_power(mode):
    d = group_sequential_bounds(4, 0.05, 2, "asOF", futility="bsP", power=0.85, two_sided_futility=mode)
    p = d.probabilities()
    assert p.power == pytest.approx(0.85, abs=1e-8)
    # Inner wedge: beta is spent by the wedge stops and |Z_K| < b_K at the
    # solve's drift; the favourable power at the design drift is the target.
    assert d.beta_spent[-1] == pytest.approx(0.15, abs=1e-8)
    assert np.all(d.futility[:-1] < d.efficacy[:-1])


# ---------------------------------------------------------------------------
# The integration against a simulation of the canonical process
# ---------------------------------------------------------------------------


def simulate_canonical(fractions, upper, lower, drift, symmetric, n, seed, inner=False):
    """Stopping counts per look for n simulated sequential z processes.

    The score S_k = Z_k sqrt(t_k) has independent N(drift dt, dt) increments,
    which gives Cov(Z_j, Z_k) = sqrt(t_j / t_k) and E[Z_k] = drift sqrt(t_k).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    t = np.asarray(fractions)
    dt = np.diff(t, prepend=0.0)
    z = np.cumsum(rng.standard_normal((n, t.size)) * np.sqrt(dt) + drift * dt, axis=1) / np.sqrt(t)
    going = np.ones(n, dtype=bool)
    counts = np.zeros((3, t.size))
    for k in range(t.size):
        up = going & (z[:, k] >= upper[k])
        low = going & symmetric & (z[:, k] <= -upper[k])
        if inner:  # two-sided inner wedge: futility when |Z_k| < a_k
            fut = going & ~up & ~low & (np.abs(z[:, k]) < lower[k])
        else:
            fut = going & ~up & ~low & (z[:, k] < lower[k])
        counts[:, k] = up.sum(), low.sum(), fut.sum()
        going &= ~(up | low | fut)
    return counts / n


@pytest.mark.parametrize(
    "kwargs, drift",
    [
        # One-sided, beta-spending futility, at the design drift.
        (dict(looks=[0.25, 0.5, 0.75, 1.0], alpha=0.025, sided=1, efficacy="asOF", futility="bsOF", power=0.9), None),
        # Two-sided Pocock with fixed futility, drifting the wrong way: all three outcomes occur.
        (dict(looks=3, alpha=0.05, sided=2, efficacy="P", futility=[-0.5, 0.0], two_sided_futility="one_sided"), -1.0),
        # Two-sided inner wedge |Z_k| < a_k: fixed bounds, and rpact's beta spending (binding).
        (dict(looks=3, alpha=0.05, sided=2, efficacy="P", futility=[0.3, 0.6]), -1.0),
        (dict(looks=3, alpha=0.05, sided=2, efficacy="asOF", futility="bsOF", binding=True, power=0.9), None),
    ],
)
def test_integration_agrees_with_simulation(kwargs, drift):
    d = group_sequential_bounds(**kwargs)
    drift = d.drift if drift is None else drift
    n = 200_000
    simulated = simulate_canonical(
        d.fractions, d.efficacy, d.futility, drift, d.sided == 2, n, seed=20250702, inner=d.inner
    )
    p = d.probabilities(drift)
    analytic = np.vstack([p.reject_upper, p.reject_lower, p.futility])
    # Binomial Monte Carlo standard error, floored at one event so that a
    # probability of ~1e-7 seen once in 200000 draws is not an alarm.
    mcse = np.sqrt(np.maximum(analytic, 1.0 / n) * (1 - analytic) / n)
    assert np.all(np.abs(simulated - analytic) <= 4 * mcse), (simulated, analytic)


# ---------------------------------------------------------------------------
# Properties of the probabilities and the result
# ---------------------------------------------------------------------------


def test_probabilities_add_up_and_drift_vector_matches_scalar():
    d = group_sequential_bounds(5, 0.025, 1, "asP", futility="bsHSD", futility_param=-2.0, power=0.8)
    p = d.probabilities()
    assert p.stop.sum() == pytest.approx(1.0, abs=1e-12)
    # Mass conservation of the integration itself: what stops plus what reaches
    # the final look without stopping must be one.
    going_last = 1.0 - (p.reject_upper + p.futility)[:-1].sum()
    assert p.reject_upper[-1] <= going_last
    per_look = sequential_probabilities(d.fractions, d.efficacy, d.futility, d.drift * np.sqrt(d.fractions))
    np.testing.assert_allclose(per_look.reject_upper, p.reject_upper, atol=1e-14)
    np.testing.assert_allclose(per_look.futility, p.futility, atol=1e-14)
    assert d.expected_fraction(d.drift) == pytest.approx(d.expected_fraction_h1, abs=1e-14)
    assert d.expected_fraction(0.0) == pytest.approx(d.expected_fraction_h0, abs=1e-14)


def test_two_sided_null_is_symmetric():
    d = group_sequential_bounds(4, 0.05, 2, "asOF")
    p = d.probabilities(0.0)
    np.testing.assert_allclose(p.reject_upper, p.reject_lower, atol=1e-13)
    np.testing.assert_allclose(np.cumsum(p.reject_upper + p.reject_lower), d.alpha_spent, atol=1e-13)
    np.testing.assert_allclose(d.nominal_p, norm.sf(d.efficacy), rtol=1e-10)


def test_result_is_frozen():
    d = group_sequential_bounds(2)
    assert isinstance(d, GroupSequentialBounds)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.drift = 1.0
    with pytest.raises(ValueError):
        d.efficacy[0] = 0.0
    assert d.to_dict()["efficacy"] == d.efficacy.tolist()


def test_leftover_parameters_are_ignored():
    # The contract's example config carries efficacy_param = -4 with asOF and
    # futility_param = 0 with futility "none": neither family takes a parameter.
    d = group_sequential_bounds(3, efficacy="asOF", efficacy_param=-4.0, futility="none", futility_param=0.0)
    np.testing.assert_allclose(d.efficacy, [3.710303, 2.511427, 1.993047], atol=Z_TOL)
    assert d.efficacy_param is None and d.futility_param is None


# ---------------------------------------------------------------------------
# Input errors: each message names the key and what is allowed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(looks=0), r"`design.looks`: must be an integer K in 1..10 or a list"),
        (dict(looks=11), r"`design.looks`: must be an integer K in 1..10"),
        (dict(looks=True), r"`design.looks`: must be"),
        (dict(looks=[0.5, 0.4, 1.0]), r"`design.looks`: must be .*strictly increasing"),
        (dict(looks=[0.5, 0.9]), r"`design.looks`: must be .*ending at 1.0, got \[0.5, 0.9\]"),
        (dict(looks="three"), r"`design.looks`: must be"),
        (dict(looks=3, alpha=0.0), r"`design.alpha`: must be a number in \(0, 0.5\), got 0.0"),
        (dict(looks=3, alpha="0.05"), r"`design.alpha`: must be a number"),
        (dict(looks=3, sided=3), r"`design.sided`: must be 1 or 2, got 3"),
        (dict(looks=3, power=1.0), r"`design.power`: must be a number with alpha/sided < power < 1, got 1.0"),
        (dict(looks=3, power=0.01), r"`design.power`: must be a number with alpha/sided < power < 1"),
        (dict(looks=3, binding="yes"), r'`design.binding`: must be true or false, got "yes"'),
        (
            dict(looks=3, efficacy="XYZ"),
            r'`design.efficacy`: must be one of OF, P, WT, HP, asOF, asP, asKD, asHSD, asUser, got "XYZ"',
        ),
        (
            dict(looks=3, efficacy="WT"),
            r"`design.efficacy_param`: must be Delta, a number with -0.5 <= Delta <= 1 for WT, got nothing",
        ),
        (dict(looks=3, efficacy="WT", efficacy_param=2.0), r"`design.efficacy_param`: must be Delta.*got 2.0"),
        (
            dict(looks=3, efficacy="asKD", efficacy_param=-1.0),
            r"`design.efficacy_param` \(rho\): must be > 0 for asKD, got -1.0",
        ),
        (dict(looks=3, efficacy="asKD"), r"`design.efficacy_param`: must be a number \(rho > 0\) for asKD, got nothing"),
        (
            dict(looks=3, efficacy="asHSD", efficacy_param=float("nan")),
            r"`design.efficacy_param`: must be a finite number \(gamma",
        ),
        (
            dict(looks=3, efficacy="asHSD", efficacy_param=50.0),
            r"`design.efficacy_param` \(gamma\): must lie in \[-30, 30\] for asHSD",
        ),
        (
            dict(looks=3, efficacy="asUser", efficacy_param=[0.01, 0.025]),
            r"`design.efficacy_param`: must be a list of 3 non-decreasing cumulative alphas.*got 2 values",
        ),
        (
            dict(looks=3, efficacy="asUser", efficacy_param=[0.01, 0.02, 0.024]),
            r"`design.efficacy_param`: must be a list of 3 .*; its last value 0\.024 differs from alpha",
        ),
        (
            dict(looks=3, efficacy="asUser", efficacy_param=[0.02, 0.01, 0.025]),
            r"`design.efficacy_param`: must be a list of 3 non-decreasing",
        ),
        (dict(looks=3, efficacy="asUser", efficacy_param=0.025), r"`design.efficacy_param`: must be a list of 3"),
        (
            dict(looks=3, futility="bsXX"),
            r"`design.futility`: must be one of none, bsOF, bsP, bsKD, bsHSD or a list of 2 z values",
        ),
        (
            dict(looks=3, futility=[0.0]),
            r"`design.futility`: must be one of .* or a list of 2 z values \(numbers or -inf\), one per interim",
        ),
        (dict(looks=3, futility=["low", 0.0]), r"`design.futility`: must be one of"),
        (
            dict(looks=3, futility=[0.0, 3.0]),
            r"`design.futility`: the bound at look 2 \(3\) must lie below the efficacy bound there \(2.5114\)",
        ),
        (
            dict(looks=3, efficacy="OF", futility="bsOF"),
            r"`design.futility`: 'bsOF' \(beta spending\) needs an alpha-spending efficacy",
        ),
        (
            dict(looks=3, futility="bsKD", futility_param=0.0),
            r"`design.futility_param` \(rho\): must be > 0 for bsKD, got 0.0",
        ),
        (dict(looks=3, futility="bsHSD", futility_param="a"), r"`design.futility_param`: must be a number \(gamma"),
        (
            dict(looks=3, sided=2, alpha=0.05, futility="bsOF", binding=True, two_sided_futility="one_sided"),
            r"`design.binding`: true needs `design.sided` = 1",
        ),
        (
            dict(looks=3, sided=2, alpha=0.05, futility=[-0.5, 0.5]),
            r"`design.futility`: with `design.sided` = 2 and `design.two_sided_futility` = \"inner\"",
        ),
        (
            dict(looks=3, sided=2, alpha=0.05, two_sided_futility="outer"),
            r"`design.two_sided_futility`: must be one of inner, one_sided",
        ),
        (dict(looks=10, alpha=0.001, efficacy="HP"), r"`design.efficacy`: HP interim bounds of 3.0 already spend"),
        # rpact: "'futilityBounds' (2) too extreme" (getDesignGroupSequential(kMax = 2, typeOfDesign = "OF",
        # futilityBounds = 2, bindingFutility = TRUE)); 1.8 still gives 2.125126, 1.502691 there.
        (
            dict(looks=2, efficacy="OF", futility=[2.0], binding=True),
            r"`design.futility`: the binding futility bound at look 1 \(2\) is too extreme",
        ),
    ],
)
def test_input_errors_name_the_key(kwargs, message):
    with pytest.raises(InputError, match=message):
        group_sequential_bounds(**kwargs)


def test_five_looks_with_beta_spending_futility_matches_rpact():
    # rpact 3.3.4: getDesignGroupSequential(kMax = 5, alpha = 0.025, beta = 0.2,
    # typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = FALSE)
    # $criticalValues and $futilityBounds, printed to 6 decimals.
    d = group_sequential_bounds(5, alpha=0.025, sided=1, efficacy="asOF", futility="bsOF", power=0.8)
    np.testing.assert_allclose(d.efficacy, [4.876885, 3.357012, 2.680280, 2.289817, 2.031032], atol=1e-6)
    np.testing.assert_allclose(d.futility[:-1], [-1.292147, 0.169704, 0.962505, 1.526493], atol=1e-6)


def _config_bounds(**design):
    import simulator as p3

    raw = {"trial": {"n_total": 400},
           "endpoints": {"resp": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.45}}},
           "design": {"looks": [0.4, 0.7, 1.0], **design}}
    block = p3.Trial.from_dict(raw).design().to_dict()["scenarios"][0]["endpoints"]["resp"]
    return block["efficacy_bounds"], block["futility_bounds"]


def test_config_takes_minus_inf_for_no_futility_at_a_look():
    # TOML's -inf in design.futility is "none at that look", as documented. rpact 3.3.4:
    # getDesignGroupSequential(kMax = 3, alpha = 0.025, typeOfDesign = "asOF",
    #   informationRates = c(0.4, 0.7, 1), futilityBounds = c(-6, 0.5), bindingFutility = TRUE)
    # $criticalValues 3.356869356 2.444542281 1.997717761 (-6 is rpact's "none").
    efficacy, futility = _config_bounds(efficacy="asOF", futility=[-np.inf, 0.5], binding=True)
    assert futility == [None, 0.5, None]
    np.testing.assert_allclose(efficacy, [3.356869356, 2.444542281, 1.997717761], atol=1e-7)


def test_as_user_takes_a_zero_cumulative_alpha():
    # Nothing spent at a look: no efficacy stop there. rpact 3.3.4:
    # getDesignGroupSequential(kMax = 3, alpha = 0.025, typeOfDesign = "asUser",
    #   userAlphaSpending = c(0, 0.01, 0.025), informationRates = c(0.4, 0.7, 1))
    # $criticalValues Inf 2.326347895 2.028650217.
    efficacy, _ = _config_bounds(efficacy="asUser", efficacy_param=[0.0, 0.01, 0.025])
    assert efficacy[0] is None
    np.testing.assert_allclose(efficacy[1:], [2.326347895, 2.028650217], atol=1e-7)


def test_a_user_spending_that_does_not_grow_spends_nothing():
    # A review: asUser [0.01, 0.01, 0.025] left the recursion's 8e-18 of rounding to spend at look 2, a finite
    # bound of 8.33 that rejected trials with an infinite z. rpact 3.3.4:
    # getDesignGroupSequential(typeOfDesign = "asUser", userAlphaSpending = c(0.01, 0.01, 0.025),
    #   informationRates = c(4, 30, 60) / 60, futilityBounds = c(0, 0), bindingFutility = TRUE)$criticalValues
    # = 2.326347874, Inf, 2.021377333.
    import simulator as p3

    raw = {"trial": {"n_total": 60},
           "endpoints": {"r": {"kind": "binary", "test": "z_pooled", "truth": {"control": 0.3, "experimental": 0.6}}},
           "design": {"alpha": 0.025, "looks": [4 / 60, 30 / 60, 1.0], "efficacy": "asUser",
                      "efficacy_param": [0.01, 0.01, 0.025], "futility": [0.0, 0.0], "binding": True}}
    bounds = p3.Trial.from_dict(raw).design().scenarios[0]["endpoints"]["r"]["efficacy_bounds"]
    assert bounds[0] == pytest.approx(2.326347874, abs=1e-8) and bounds[1] is None
    assert bounds[2] == pytest.approx(2.021377333, abs=1e-7)  # rpact's tolerance


def test_looks_a_thousandth_apart():
    # A review: Haybittle-Peto at ten looks 0.001 apart ending at 1 has the final bound z_0.975 exactly (no path
    # falls from 3 to below 1.96 within 0.009 of information, to double precision) and an inflation factor of 1;
    # with panels floored at a quarter sd it gave 1.96030108 and 0.9995 (below 1, impossible one-sided).
    from scipy.stats import norm as normal

    d = group_sequential_bounds([0.991 + 0.001 * k for k in range(9)] + [1.0], efficacy="HP", power=0.9)
    assert d.efficacy[-1] == pytest.approx(normal.isf(0.025), abs=1e-9)
    assert d.inflation_factor == pytest.approx(1.0, abs=1e-9)


def test_looks_closer_than_the_integration_resolves_are_refused(monkeypatch):
    # A code review: at 0.01 % apart the panels' cap left the bounds spending 0.0255 for 0.025, silently.
    with pytest.raises(InputError, match=r"`design\.looks`: looks 1 and 2 \(information 0\.5 and 0\.50005\) are "
                                         r"0\.01 % of the information apart; the bounds need at least 0\.05 %"):
        group_sequential_bounds([0.5, 0.50005, 1.0])
    # At 0.06 % they are resolved: the same integration without the panels' cap (converged: 400 and 1200 panels
    # agree to 1e-11, the review found) gives the same bounds to 1e-7 (3.1e-8 here). (scipy's multivariate normal, randomised, is not
    # accurate enough here: its correlation of 0.99985 left 2e-6 between runs.)
    import simulator.design.boundaries as boundaries

    default = group_sequential_bounds([0.5, 0.5003, 1.0])
    monkeypatch.setattr(boundaries, "MAX_PANELS", 1200)
    np.testing.assert_allclose(default.efficacy, group_sequential_bounds([0.5, 0.5003, 1.0]).efficacy, atol=1e-7,
                               rtol=0)
