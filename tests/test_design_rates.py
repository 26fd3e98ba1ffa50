"""Analytic sample size and power for rates, and the rounding of arm sizes.

Reference values: rpact's ``getSampleSizeRates`` (two groups, fixed design,
normal approximation), as quoted in the project's design brief to three
decimals; and the Fleiss, Tytun & Ury (1980) continuity-corrected formula,
written out below independently of the implementation.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from simulator.design.allocation import (
    allocation_weights,
    round_half_up,
    round_up_per_arm,
    split_total,
)
from simulator.design.rates import power_rates, sample_size_rates
from simulator.errors import InputError
from simulator.stats.binary import TEST_CODES

# rpact prints sizes to three decimals; our values are the same formula in
# double precision, so they agree to rounding of the printed value.
RPACT_ATOL = 1e-3
# Round trips invert closed-form expressions: a few ulps of the inputs.
ROUND_TRIP_ATOL = 1e-10


# --- rpact reference values ------------------------------------------------


def test_rpact_pooled_two_sided():
    # Control 0.33 vs experimental 0.22 with lower better, oriented by 1 - p.
    # rpact: getSampleSizeRates(getDesignGroupSequential(kMax = 1,
    #   alpha = 0.05, sided = 2, beta = 0.2), pi1 = 0.22, pi2 = 0.33) -> 514.948
    n = sample_size_rates("z_pooled", 1 - 0.33, 1 - 0.22, alpha=0.05, sided=2, power=0.8)
    assert n == pytest.approx(514.948, abs=RPACT_ATOL)


def test_rpact_farrington_manning_non_inferiority():
    # rpact: getSampleSizeRates(alpha = 0.025, beta = 0.2, pi1 = 0.86,
    #   pi2 = 0.86, thetaH0 = -0.1) -> 393.522
    n = sample_size_rates(
        "farrington_manning", 0.86, 0.86, alpha=0.025, sided=1, power=0.8, theta0=-0.10
    )
    assert n == pytest.approx(393.522, abs=RPACT_ATOL)


def test_rpact_unequal_allocation_and_rounding():
    # rpact: getSampleSizeRates(alpha = 0.025, beta = 0.2, pi1 = 0.4,
    #   pi2 = 0.25, allocationRatioPlanned = 2) -> 346.320, per arm
    #   230.88 (treatment) + 115.44 (control), rounded up to 231 + 116.
    n = sample_size_rates(
        "z_pooled", 0.25, 0.40, alpha=0.025, sided=1, power=0.8, allocation=[1, 2]
    )
    assert n == pytest.approx(346.320, abs=RPACT_ATOL)
    n_c, n_e = round_up_per_arm(n, [1, 2])
    assert (n_c, n_e) == (116, 231)
    assert n_c + n_e == 347


def test_farrington_manning_at_zero_margin_is_pooled():
    # rpact uses one formula for both: the restricted MLE at theta0 = 0 is
    # the allocation-weighted pooled rate.
    for alloc in ([1, 1], [1, 2], [3, 1]):
        a = sample_size_rates("z_pooled", 0.3, 0.42, 0.025, 1, 0.9, alloc)
        b = sample_size_rates("farrington_manning", 0.3, 0.42, 0.025, 1, 0.9, alloc)
        assert a == pytest.approx(b, rel=1e-14)


# --- round trip and the null -------------------------------------------------

CASES = [
    # p_c, p_e, alpha, sided, power, allocation, theta0 (FM only)
    (0.67, 0.78, 0.05, 2, 0.8, [1, 1], 0.0),
    (0.25, 0.40, 0.025, 1, 0.8, [1, 2], 0.0),
    (0.86, 0.86, 0.025, 1, 0.8, [1, 1], -0.10),
    (0.10, 0.18, 0.05, 1, 0.9, [3, 2], -0.05),
    (0.55, 0.70, 0.01, 2, 0.95, [2, 5], 0.0),
]


# Margins go with Farrington-Manning only; the other tests get the cases
# that make sense for superiority (theta0 = 0, p_e > p_c).
ROUND_TRIPS = [
    (test, *case)
    for test in TEST_CODES
    for case in CASES
    if test == "farrington_manning" or (case[-1] == 0.0 and case[1] > case[0])
]
# Every case with Farrington-Manning, the three superiority cases with each of the four other tests.
assert len(ROUND_TRIPS) == len(CASES) + 3 * (len(TEST_CODES) - 1)


@pytest.mark.parametrize("test, p_c, p_e, alpha, sided, power, allocation, theta0", ROUND_TRIPS)
def test_power_at_computed_size_is_target(test, p_c, p_e, alpha, sided, power, allocation, theta0):
    n = sample_size_rates(test, p_c, p_e, alpha, sided, power, allocation, theta0)
    share_c = allocation[0] / sum(allocation)
    got = power_rates(test, p_c, p_e, n * share_c, n * (1 - share_c), alpha, sided, theta0)
    assert got == pytest.approx(power, abs=ROUND_TRIP_ATOL)
    # Rounded-up arms can only add power.
    n_c, n_e = round_up_per_arm(n, allocation)
    assert power_rates(test, p_c, p_e, n_c, n_e, alpha, sided, theta0) >= power - ROUND_TRIP_ATOL


@pytest.mark.parametrize("test", list(TEST_CODES))
@pytest.mark.parametrize("sided, alpha", [(1, 0.025), (2, 0.05)])
def test_power_at_null(test, sided, alpha):
    # At the null the estimate's variance and the test's coincide, so the
    # favourable rejection rate is exactly alpha / sided; the continuity
    # correction makes chi2_yates / fisher conservative.
    theta0 = -0.08 if (test == "farrington_manning" and sided == 1) else 0.0
    for p_c, n_c, n_e in [(0.3, 120, 150), (0.85, 400, 200), (0.5, 37, 37)]:
        got = power_rates(test, p_c, p_c + theta0, n_c, n_e, alpha, sided, theta0)
        if test in ("chi2_yates", "fisher"):
            assert got < alpha / sided
        else:
            assert got == pytest.approx(alpha / sided, abs=1e-12)


def test_unfavourable_truth_has_power_below_alpha():
    assert power_rates("z_pooled", 0.4, 0.3, 200, 200, 0.05, 2) < 0.025


def test_power_increases_with_size():
    powers = [power_rates("z_unpooled", 0.3, 0.4, n, n, 0.025, 1) for n in (50, 100, 200, 400)]
    assert np.all(np.diff(powers) > 0)


# --- continuity correction against the published formula ------------------


def fleiss_tytun_ury_total(p_c, p_e, alpha, sided, power, r):
    """Fleiss, Tytun & Ury (1980), Biometrics 36:343-346, written out.

    Group 1 (the control, m patients) and group 2 (r m patients):
        m' = [z_a sqrt((r+1) P Q) + z_b sqrt(r P1 Q1 + P2 Q2)]^2 / (r D^2),
        P = (P1 + r P2) / (r + 1),  D = |P2 - P1|,
        m  = m'/4 [1 + sqrt(1 + 2 (r+1) / (r m' D))]^2,
    and the total is m (1 + r).
    """
    z_a, z_b = norm.isf(alpha / sided), norm.ppf(power)
    d = abs(p_e - p_c)
    pbar = (p_c + r * p_e) / (r + 1)
    m_prime = (
        z_a * math.sqrt((r + 1) * pbar * (1 - pbar))
        + z_b * math.sqrt(r * p_c * (1 - p_c) + p_e * (1 - p_e))
    ) ** 2 / (r * d * d)
    m = m_prime / 4 * (1 + math.sqrt(1 + 2 * (r + 1) / (r * m_prime * d))) ** 2
    return m * (1 + r)


def test_continuity_corrected_equal_allocation_textbook_case():
    # Casagrande, Pike & Smith / Fleiss (1981) textbook form for equal
    # groups: n = n'/4 (1 + sqrt(1 + 4 / (n' D)))^2 per group, with n' the
    # uncorrected per-group size. P1 = 0.25, P2 = 0.40, two-sided 0.05,
    # power 0.80: n' = 151.87 and n = 164.9 per group (165 after rounding up).
    p1, p2 = 0.25, 0.40
    z_a, z_b = norm.isf(0.025), norm.ppf(0.8)
    pbar = (p1 + p2) / 2
    n_prime = (
        z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2 / (p2 - p1) ** 2
    n_group = n_prime / 4 * (1 + math.sqrt(1 + 4 / (n_prime * (p2 - p1)))) ** 2
    assert n_prime == pytest.approx(151.87, abs=0.01)
    assert n_group == pytest.approx(164.9, abs=0.1)
    for test in ("chi2_yates", "fisher"):
        n = sample_size_rates(test, p1, p2, 0.05, 2, 0.8)
        assert n == pytest.approx(2 * n_group, rel=1e-12)
        assert round_up_per_arm(n, [1, 1]) == (165, 165)
    # Without the correction: the pooled formula gives 2 n'.
    assert sample_size_rates("z_pooled", p1, p2, 0.05, 2, 0.8) == pytest.approx(2 * n_prime, rel=1e-12)


@pytest.mark.parametrize("allocation", [[1, 1], [1, 2], [3, 1], [2, 5]])
@pytest.mark.parametrize("p_c, p_e, alpha, sided, power", [
    (0.25, 0.40, 0.05, 2, 0.8), (0.05, 0.15, 0.025, 1, 0.9), (0.6, 0.8, 0.05, 1, 0.85),
])
def test_continuity_corrected_unequal_allocation(allocation, p_c, p_e, alpha, sided, power):
    r = allocation[1] / allocation[0]
    ref = fleiss_tytun_ury_total(p_c, p_e, alpha, sided, power, r)
    n = sample_size_rates("chi2_yates", p_c, p_e, alpha, sided, power, allocation)
    assert n == pytest.approx(ref, rel=1e-12)


# --- input validation ------------------------------------------------------

GOOD = dict(test="z_pooled", p_c=0.3, p_e=0.45, alpha=0.025, sided=1, power=0.8)


@pytest.mark.parametrize("changes, match", [
    (dict(test="wald"), "`test` must be one of 'z_pooled'"),
    (dict(test=0), "`test` must be one of"),
    (dict(p_c=1.2), "`p_c` must be a rate in \\[0, 1\\]"),
    (dict(p_e=-0.1), "`p_e` must be a rate"),
    (dict(p_e="0.4"), "`p_e` must be a rate"),
    (dict(sided=3), "`sided` must be 1 or 2"),
    (dict(sided=True), "`sided` must be 1 or 2"),
    (dict(alpha=0.0), "`alpha` must be in \\(0, 0.5\\)"),
    (dict(alpha=0.6), "`alpha` must be in \\(0, 0.5\\)"),
    (dict(alpha=1.0, sided=2), "`alpha` must be in \\(0, 1\\)"),
    (dict(power=1.0), "`power` must be in \\(alpha/sided, 1\\)"),
    (dict(power=0.01), "`power` must be in"),
    (dict(p_e=0.3), "must exceed `theta0`"),
    (dict(p_e=0.2), "must exceed `theta0`"),
    (dict(theta0=-0.1), "`theta0` must be 0 with test 'z_pooled'"),
    (dict(test="farrington_manning", theta0=-1.5), "`theta0` must be a risk difference in \\(-1, 1\\)"),
    (dict(test="farrington_manning", theta0=-0.1, sided=2, alpha=0.05), "`sided` must be 1 when `theta0`"),
    (dict(allocation=[1, 0]), "`allocation` must be two positive finite numbers"),
    (dict(allocation=[1]), "`allocation` must be two positive finite numbers"),
    (dict(allocation=3), "`allocation` must be two positive finite numbers"),
])
def test_sample_size_validation_messages(changes, match):
    with pytest.raises(InputError, match=match):
        sample_size_rates(**{**GOOD, **changes})


def test_low_power_target_is_rejected():
    # power 0.1 > alpha/sided, but with few controls at a rate of 0.5 the
    # estimate is so much noisier than the pooled null variance suggests
    # that even a tiny trial has more power than that.
    with pytest.raises(InputError, match="`power` \\(0.1\\) is below"):
        sample_size_rates("z_pooled", 0.5, 0.99, 0.025, 1, 0.1, [1, 9])


@pytest.mark.parametrize("changes, match", [
    (dict(n_c=0), "`n_c` must be a positive arm size"),
    (dict(n_e=-5), "`n_e` must be a positive arm size"),
    (dict(n_e=math.inf), "`n_e` must be a positive arm size"),
    (dict(test="fisher", theta0=0.05), "`theta0` must be 0 with test 'fisher'"),
    (dict(sided=0), "`sided` must be 1 or 2"),
])
def test_power_validation_messages(changes, match):
    args = dict(test="z_pooled", p_c=0.3, p_e=0.45, n_c=100, n_e=100, alpha=0.025, sided=1)
    with pytest.raises(InputError, match=match):
        power_rates(**{**args, **changes})


def test_power_with_certain_outcomes():
    # No variance under the alternative: the estimate is the truth.
    assert power_rates("z_unpooled", 0.0, 1.0, 10, 10, 0.025, 1) == 1.0


# --- allocation and rounding ----------------------------------------------


def test_allocation_weights_exact():
    assert allocation_weights([1, 2]) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    w_c, w_e = allocation_weights([0.1, 0.2])
    assert (w_c, w_e) == allocation_weights([1, 2])  # decimals taken as written


@pytest.mark.parametrize("n_total, allocation, expected", [
    (401, [1, 1], (201, 200)),   # tie of fractional parts: control first
    (400, [1, 1], (200, 200)),
    (100, [1, 2], (33, 67)),     # 33.33 / 66.67: the larger remainder wins
    (101, [2, 1], (67, 34)),     # 67.33 / 33.67
    (6, [1, 3], (2, 4)),         # 1.5 / 4.5: tie, control first
    (10, [0.3, 0.7], (3, 7)),    # exact shares despite 0.3 + 0.7 in binary
    (np.int64(9), [1, 2], (3, 6)),
])
def test_split_total(n_total, allocation, expected):
    assert split_total(n_total, allocation) == expected


@given(
    n_total=st.integers(min_value=2, max_value=10**6),
    a=st.integers(min_value=1, max_value=9),
    b=st.integers(min_value=1, max_value=9),
)
def test_split_total_properties(n_total, a, b):
    exact_c = n_total * a / (a + b)
    try:
        n_c, n_e = split_total(n_total, [a, b])
    except InputError:
        assert min(exact_c, n_total - exact_c) < 1  # only when an arm rounds to 0
        return
    assert n_c + n_e == n_total
    assert abs(n_c - exact_c) < 1 and abs(n_e - (n_total - exact_c)) < 1


@pytest.mark.parametrize("n_total, match", [
    (1, "`trial.n_total`: must be an integer >= 2"),
    (200.0, "`trial.n_total`: must be an integer >= 2"),
    (True, "`trial.n_total`: must be an integer >= 2"),
])
def test_split_total_validation(n_total, match):
    with pytest.raises(InputError, match=match):
        split_total(n_total, [1, 1])


def test_split_total_refuses_an_empty_arm():
    with pytest.raises(InputError, match=r"config key `trial\.n_total`: 3 is too small for trial\.allocation"):
        split_total(3, [1, 10])


@pytest.mark.parametrize("n_total, allocation, expected", [
    (346.3203830137192, [1, 2], (116, 231)),
    (230.00000000001, [1, 1], (115, 115)),   # float noise: not 116
    (230.0000001, [1, 1], (115, 115)),       # 4e-10 relative, within 1e-9
    (230.001, [1, 1], (116, 116)),           # a real excess rounds up
    (230.0, [1, 1], (115, 115)),
    (393.52245608525993, [1, 1], (197, 197)),
    (0.5, [1, 1], (1, 1)),                    # at least one patient per arm
])
def test_round_up_per_arm(n_total, allocation, expected):
    assert round_up_per_arm(n_total, allocation) == expected


@pytest.mark.parametrize("n_total", [0, -3.0, math.nan, math.inf, "100"])
def test_round_up_per_arm_validation(n_total):
    with pytest.raises(InputError, match="`n_total` must be a positive finite number"):
        round_up_per_arm(n_total, [1, 1])


def test_round_half_up():
    assert round_half_up(2.5) == 3 and isinstance(round_half_up(2.5), int)
    assert round_half_up(3.5) == 4  # not banker's rounding
    assert round_half_up(2.4999999999999996) == 3  # float noise under a half
    assert round_half_up(2.4) == 2
    assert round_half_up(0.3 * 5) == 2  # 1.4999999999999998 in binary
    assert round_half_up(7) == 7
    out = round_half_up(np.array([0.5, 1.49, 1.5, 100.5]))
    assert out.dtype == np.int64 and out.tolist() == [1, 1, 2, 101]
    with pytest.raises(InputError, match="non-finite"):
        round_half_up(math.nan)


def test_unpooled_z_at_rates_zero_and_one_has_the_smallest_size():
    # A review: with no variance under either hypothesis every design.power was refused ("below what any positive
    # size gives"), also at a configured n_total, so such a config could not run. Its power is 1 at any size.
    import simulator as p3
    from simulator.design.rates import sample_size_rates

    assert sample_size_rates("z_unpooled", 0.0, 1.0, 0.025, 1, 0.9) == 2.0
    assert sample_size_rates("z_unpooled", 0.0, 1.0, 0.025, 1, 0.9, [1, 9]) == 10.0
    trial = p3.Trial.from_dict({"trial": {"n_total": 10}, "endpoints": {"r": {
        "kind": "binary", "test": "z_unpooled", "truth": {"control": 0.0, "experimental": 1.0}}}})
    entry = trial.design().scenarios[0]["endpoints"]["r"]
    assert entry["power"] == 1.0 and entry["power_exact"] == 1.0 and entry["n_total_rounded"] == 2


@pytest.mark.parametrize("kind", ["continuous", "binary"])
@pytest.mark.parametrize("missing", [0.05, 0.1, 0.2, 0.3])
def test_the_size_for_design_power_reaches_it_with_missing_outcomes(kind, missing):
    # A sizing review: 68 patients per arm at 20 % missing are 54 evaluable (half up) where 54.34 were needed, so
    # design's own analytic power at its size was 0.7976 for 0.8 (rpact: getPowerMeans at 108 evaluable, 0.79757).
    # Over a grid of effects, the size design computes must give at least design.power at its evaluable patients;
    # and it is the smallest: one patient fewer per arm is either below the unrounded size (rpact's rounding up) or
    # short of design.power (the arm was raised for its evaluable patients).
    import simulator as p3

    for effect in np.linspace(0.3, 0.7, 9):
        if kind == "continuous":
            endpoint = {"kind": "continuous", "test": "z",
                        "truth": {"sd": 1.0, "control": {"mean": 0.0}, "experimental": {"mean": float(effect)}}}
        else:
            endpoint = {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.3 + float(effect) / 3}}
        raw = {"trial": {"missing": missing}, "endpoints": {"e": endpoint}, "design": {"power": 0.8}}
        block = p3.Trial.from_dict(raw).design().to_dict()["scenarios"][0]["endpoints"]["e"]
        assert block["power"] >= 0.8, (effect, block["n_per_arm"], block["power"])
        n_arm = block["n_per_arm"][0]
        fewer = dict(raw, trial={"missing": missing, "n_total": 2 * n_arm - 2})
        power_fewer = p3.Trial.from_dict(fewer).design().to_dict()["scenarios"][0]["endpoints"]["e"]["power"]
        assert n_arm - 1 < block["n_total_design"] / 2 or power_fewer < 0.8, (effect, n_arm, power_fewer)


@pytest.mark.parametrize("allocation", [[1, 3], [3, 1], [1, 2], [2, 1]])
@pytest.mark.parametrize("missing", [0.0, 0.05, 0.2])
def test_the_size_for_design_power_is_the_trial_run_simulates(allocation, missing):
    # A code review: design rounded each arm up (154 + 459 at 1:3), but run splits its n_total by largest
    # remainder (613 -> 153 + 460), so the simulated trial fell short (0.8987 +- 0.0007 for 0.9). The arms design
    # gives are the split of its n_total, and at that n_total (as run is given it) the power reaches design.power.
    import simulator as p3

    for effect in np.linspace(0.1, 0.2, 6):
        raw = {"trial": {"missing": missing, "allocation": allocation},
               "endpoints": {"e": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.3 + float(effect)}}},
               "design": {"power": 0.9}}
        found = p3.Trial.from_dict(raw).design().to_dict()["scenarios"][0]
        block = found["endpoints"]["e"]
        assert tuple(block["n_per_arm"]) == split_total(found["n_total"], allocation)
        given = dict(raw, trial=dict(raw["trial"], n_total=found["n_total"]))
        at_size = p3.Trial.from_dict(given).design().to_dict()["scenarios"][0]["endpoints"]["e"]
        assert at_size["power"] >= 0.9 and at_size["n_per_arm"] == block["n_per_arm"], (effect, at_size)
