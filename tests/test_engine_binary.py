"""Monte Carlo engine for binary endpoints against exact enumeration.

The oracle is :meth:`BinaryPlan.exact`: the rejection probability summed over
every pair of binomial counts. The engine and the oracle share the decision
function, so these tests check what only the engine does: orientation of
harms, allocation, missing data, prior draws and the binomial sampling.

Tolerance: 4 Monte Carlo standard errors, computed from the exact
probability (the sd of a correct estimator), with fixed seeds; a correct
engine fails one such comparison with probability 6e-5.
"""

import math

import numpy as np
import pytest
from scipy import stats

from simulator.config.validate import validate
from simulator.endpoints.binary import BinaryPlan

TESTS = ["z_pooled", "z_unpooled", "chi2_yates", "fisher", "farrington_manning"]
ALLOCATIONS = [(1, 1), (1, 2), (2, 3)]
CONTROL_SIZES = [15, 40, 150, 600]
RATE_PAIRS = [(0.03, 0.10, "higher"), (0.30, 0.45, "higher"), (0.95, 0.85, "lower")]
N_SIMS = 20_000


def make_plan(
    test, n_c, allocation, p_c, p_e, better="higher", sided=1, margin=0.0, alpha=0.025, prior=None, missing=0.0,
    looks=1,
):
    n_total = n_c + round(n_c * allocation[1] / allocation[0])
    raw = {
        "trial": {"n_total": n_total, "allocation": list(allocation), "missing": missing},
        "endpoints": {
            "y": {
                "kind": "binary",
                "better": better,
                "test": test,
                "margin": margin,
                "truth": {"control": p_c, "experimental": p_e},
                **({"prior": prior} if prior else {}),
            }
        },
        "design": {"alpha": alpha, "sided": sided, "looks": looks},
    }
    config = validate(raw)
    return BinaryPlan.from_config(config, config.endpoints[0])


def simulated(plan, stream, seed, n_sims=N_SIMS):
    rng = np.random.default_rng(seed)
    _, decision, _, _ = plan.simulate(rng, n_sims, stream)
    return np.mean(decision == 1)


#: Two-sided level of a 4-MCSE normal comparison, used by the exact binomial test below.
LEVEL_4_MCSE = 2 * stats.norm.sf(4.0)


def within(estimate, exact, n, k=4.0):
    """Whether ``estimate`` (a proportion of ``n`` trials) agrees with ``exact``.

    Within ``k`` MCSE, or, where the normal approximation fails (power near
    1: one trial in 20,000 missing a power of 0.999998 is 7 MCSE off yet has
    probability 4 %), not rejected by the exact two-sided binomial test at
    the level of the 4-MCSE comparison (6e-5).
    """
    mcse = math.sqrt(max(exact * (1 - exact), 0.0) / n)
    if abs(estimate - exact) <= k * mcse + 1e-12:
        return True, mcse
    return bool(stats.binomtest(round(estimate * n), n, exact).pvalue >= LEVEL_4_MCSE), mcse


@pytest.mark.slow
@pytest.mark.parametrize("sided", [1, 2])
@pytest.mark.parametrize("allocation", ALLOCATIONS)
@pytest.mark.parametrize("test", TESTS)
def test_power_and_size_match_exact_enumeration(test, allocation, sided):
    failures = []
    seed = 1000
    for n_c in CONTROL_SIZES:
        for p_c, p_e, better in RATE_PAIRS:
            # A margin must leave the null boundary a rate (control - margin > 0, oriented): at the
            # extreme control rates (0.03, and 0.95 with lower better) half the distance to the edge.
            oriented = p_c if better == "higher" else 1.0 - p_c
            margin = min(0.05, round(oriented / 2, 3)) if (test == "farrington_manning" and sided == 1) else 0.0
            plan = make_plan(test, n_c, allocation, p_c, p_e, better, sided, margin)
            exact = plan.exact()
            for stream, key in (("power", "power_exact"), ("type1", "size_exact")):
                seed += 1
                estimate = simulated(plan, stream, seed)
                ok, mcse = within(estimate, exact[key], N_SIMS)
                if not ok:
                    failures.append((n_c, p_c, p_e, stream, estimate, exact[key], mcse))
    assert not failures, failures


@pytest.mark.parametrize("allocation", ALLOCATIONS)
@pytest.mark.parametrize("sided", [1, 2])
def test_fisher_exact_size_never_exceeds_alpha(allocation, sided):
    # Fisher's test is conditional and so exact: its size (both tails when
    # two-sided) is at most alpha for every common rate, checked on a grid of
    # nuisance values by enumeration.
    from simulator.design import exact as ex

    for n_c in (15, 40, 150):
        for p in (0.03, 0.1, 0.3, 0.5, 0.7, 0.95):
            plan = make_plan("fisher", n_c, allocation, p, p, sided=sided, alpha=0.05)
            nc, ne = int(plan.looks.evaluable_c[-1]), int(plan.looks.evaluable_e[-1])
            fav, unf, fut = plan.fisher
            grid = ex.decision_grid(plan.code, nc, ne, 0.0, plan.bounds.efficacy[-1], plan.bounds.unfavourable[-1],
                                    plan.bounds.futility[-1], fav[-1], unf[-1], fut[-1])
            favourable, unfavourable = ex.rejection_probabilities(grid, ex.binomial_pmf(nc, p), ex.binomial_pmf(ne, p))
            assert favourable == pytest.approx(plan.exact()["size_exact"], abs=1e-15)
            assert favourable + unfavourable <= 0.05 + 1e-12


def test_lower_is_better_mirrors_higher():
    # A harm analysed with better = "lower" is the same test on 1 - p.
    low = make_plan("z_pooled", 80, (1, 1), 0.33, 0.22, better="lower")
    high = make_plan("z_pooled", 80, (1, 1), 0.67, 0.78, better="higher")
    assert low.exact()["power_exact"] == pytest.approx(high.exact()["power_exact"], abs=1e-12)
    assert simulated(low, "power", 5) == simulated(high, "power", 5)


def test_missing_thins_evaluable_patients():
    plan = make_plan("z_pooled", 100, (1, 1), 0.3, 0.5, missing=0.05)
    assert plan.looks.evaluable_c[-1] == 95 and plan.looks.enrolled_c[-1] == 100
    full = make_plan("z_pooled", 95, (1, 1), 0.3, 0.5)
    assert plan.exact()["power_exact"] == pytest.approx(full.exact()["power_exact"], abs=1e-15)


PRIORS = [
    {"control": {"events": 14, "n": 42}, "experimental": {"events": 8, "n": 37}},
    {"control": {"events": 14, "n": 42}, "experimental": {"events": 8, "n": 37}, "discount": 0.5, "robust_weight": 0.2},
    {"control": {"events": 3, "n": 20}, "experimental": {"events": 9, "n": 20}, "base": [0.5, 0.5]},
]


def quadrature_assurance(plan, nodes=120):
    """Assurance by Gauss-Legendre integration of the exact power over the priors.

    Independent of the beta-binomial sum used by ``plan.exact()``: it
    integrates binomial power over the prior densities numerically.
    """
    from simulator.design import exact as ex

    x, w = np.polynomial.legendre.leggauss(nodes)
    p = 0.5 * (x + 1.0)
    w = 0.5 * w
    nc, ne = int(plan.looks.evaluable_c[-1]), int(plan.looks.evaluable_e[-1])
    fav, unf, fut = plan.fisher
    grid = ex.decision_grid(plan.code, nc, ne, plan.theta0, plan.bounds.efficacy[-1], plan.bounds.unfavourable[-1],
                            plan.bounds.futility[-1], fav[-1], unf[-1], fut[-1])
    reject = (grid == 1).astype(float)
    pmf_c = stats.binom.pmf(np.arange(nc + 1)[:, None], nc, p[None, :])  # (nc+1, nodes)
    pmf_e = stats.binom.pmf(np.arange(ne + 1)[:, None], ne, p[None, :])
    power = pmf_c.T @ reject @ pmf_e  # (nodes_c, nodes_e)
    dens_c = plan.prior[0].pdf(p) * w
    dens_e = plan.prior[1].pdf(p) * w
    return float(dens_c @ power @ dens_e)


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize(
    "test,better,margin", [("z_pooled", "lower", 0.0), ("farrington_manning", "higher", 0.1), ("fisher", "higher", 0.0)]
)
def test_assurance_matches_integration_over_the_prior(prior, test, better, margin):
    plan = make_plan(test, 40, (1, 1), 0.3, 0.4, better=better, margin=margin, prior=prior)
    exact = plan.exact()["assurance_exact"]
    assert exact == pytest.approx(quadrature_assurance(plan), abs=2e-6)  # quadrature error, 120 nodes
    estimate = simulated(plan, "assurance", 99, n_sims=40_000)
    ok, mcse = within(estimate, exact, 40_000)
    assert ok, (estimate, exact, mcse)


def test_prior_p_benefit_is_the_ceiling_of_assurance():
    prior = PRIORS[0]
    plan = make_plan("z_pooled", 600, (1, 1), 0.33, 0.22, better="lower", prior=prior)
    ceiling = plan.prior_p_benefit()
    # Independent: Monte Carlo of the two Beta posteriors with numpy (4 MCSE).
    rng = np.random.default_rng(3)
    pc = rng.beta(1 + 14, 1 + 28, 1_000_000)
    pe = rng.beta(1 + 8, 1 + 29, 1_000_000)
    mc = np.mean(pe < pc)
    assert abs(ceiling - mc) < 4 * math.sqrt(mc * (1 - mc) / 1e6)
    assert plan.exact()["assurance_exact"] < ceiling
    # A huge trial nearly always detects a true benefit: assurance approaches the ceiling.
    big = make_plan("z_pooled", 20_000, (1, 1), 0.33, 0.22, better="lower", prior=prior)
    estimate = simulated(big, "assurance", 11, n_sims=40_000)
    assert ceiling - 0.03 < estimate < ceiling + 4 * math.sqrt(ceiling * (1 - ceiling) / 40_000)


@pytest.mark.parametrize("events_e, n", [(2_998_000, 10**7), (2_997_000, 10**7), (2_990_000, 10**7),
                                         (296_000, 10**6), (29_000, 10**5)])
def test_prior_p_benefit_of_sharply_peaked_priors(events_e, n):
    # An assurance review: phase 2 counts of 10^7 (the largest allowed) gave P(benefit) 4.2e-13 for 0.1645: quad's
    # nodes over [0, 1] stepped over a peak 1e-4 wide. Reference: Monte Carlo of the two Beta priors with numpy,
    # 4 MCSE (at least 1e-5 absolute: the Beta's skew at these counts moves no digit that size).
    from simulator.priors import ArmCounts, beta_from_counts, prob_difference_above

    control = beta_from_counts(ArmCounts(0.3 * n, n), (1.0, 1.0), 1.0, 0.0)
    experimental = beta_from_counts(ArmCounts(events_e, n), (1.0, 1.0), 1.0, 0.0)
    value = prob_difference_above.__wrapped__(control, experimental, 0.0)  # higher is better: P(p_E > p_C)
    rng = np.random.default_rng(17)
    draws = 2_000_000
    mc = np.mean(rng.beta(experimental.a[0], experimental.b[0], draws) > rng.beta(control.a[0], control.b[0], draws))
    assert abs(value - mc) < max(4 * math.sqrt(mc * (1 - mc) / draws), 1e-5), (value, mc)
    # And the normal approximation, close at these counts (the Beta's skewness is below 1e-3).
    mean = lambda d: d.a[0] / (d.a[0] + d.b[0])  # noqa: E731
    var = lambda d: d.a[0] * d.b[0] / ((d.a[0] + d.b[0]) ** 2 * (d.a[0] + d.b[0] + 1))  # noqa: E731
    normal = stats.norm.cdf((mean(experimental) - mean(control)) / math.sqrt(var(control) + var(experimental)))
    assert value == pytest.approx(normal, rel=0.02, abs=1e-9)


def test_prior_p_benefit_of_unbounded_beta_densities_without_a_warning():
    # A fuzzing review: base = [0.001, 0.001] with 0/1 and 1/1 (the documented lower edge) printed quad's
    # "does not converge" on a successful run; the densities are unbounded at 0 and 1. Reference: Monte Carlo of
    # the two Betas with numpy, 4 MCSE.
    import warnings

    from simulator.priors import ArmCounts, beta_from_counts, prob_difference_above

    control = beta_from_counts(ArmCounts(0, 1), (0.001, 0.001), 1.0, 0.0)
    experimental = beta_from_counts(ArmCounts(1, 1), (0.001, 0.001), 1.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = prob_difference_above.__wrapped__(control, experimental, 0.0)
    rng = np.random.default_rng(23)
    draws = 4_000_000
    mc = np.mean(rng.beta(experimental.a[0], experimental.b[0], draws) > rng.beta(control.a[0], control.b[0], draws))
    assert abs(value - mc) < 4 * math.sqrt(max(mc * (1 - mc), 1 / draws) / draws), (value, mc)


def test_prior_p_benefit_of_two_equal_priors_is_one_half_or_noted():
    # A code review: break points meant for sharply peaked priors made quad return 1.0 for 0.5 between two equal
    # Beta(101, 0.01) (100 of 864 equal-prior cases went wrong). Over that grid of bases, discounts, counts and
    # robust weights, equal priors give 0.5 (by symmetry) to 1e-6 wherever the rates are resolved in double
    # precision; where a prior puts more than 1e-6 of its mass within 1e-15 of 0 or 1, the endpoint says so in a
    # prior_p_benefit_note, and `size` does not take the value as a ceiling.
    import itertools
    import warnings

    import simulator as p3
    from simulator.priors import ArmCounts, beta_from_counts, prob_difference_above, unresolved_mass

    noted = 0
    for a, b, discount, (x, n), robust in itertools.product(
            [0.001, 0.01, 0.1, 1.0], [0.001, 0.01, 0.1, 1.0], [0.0, 0.1, 1.0],
            [(0, 10), (10, 10), (5, 10), (100, 100), (1, 1)], [0.0, 0.5]):
        prior = beta_from_counts(ArmCounts(x, n), (a, b), discount, robust)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value = prob_difference_above.__wrapped__(prior, prior, 0.0)
        if unresolved_mass(prior) > 1e-6:
            noted += 1
        else:
            assert value == pytest.approx(0.5, abs=1e-6), (a, b, discount, x, n, robust, value)
    assert 0 < noted < 480
    raw = {"trial": {"n_total": 200},
           "endpoints": {"resp": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.45},
                                  "prior": {"control": {"events": 100, "n": 100},
                                            "experimental": {"events": 100, "n": 100}, "base": [1.0, 0.01]}}}}
    block = p3.Trial.from_dict(raw).design().to_dict()["scenarios"][0]["endpoints"]["resp"]
    assert "closer than double precision resolves" in block["prior_p_benefit_note"]
    plain = dict(raw, endpoints={"resp": dict(raw["endpoints"]["resp"], prior={
        "control": {"events": 14, "n": 42}, "experimental": {"events": 8, "n": 37}})})
    assert "prior_p_benefit_note" not in p3.Trial.from_dict(plain).design().to_dict()["scenarios"][0]["endpoints"]["resp"]


def test_robust_mixture_draws():
    # The kernel's mixture draws have the mixture's mean and variance (4 MCSE).
    plan = make_plan("z_pooled", 40, (1, 1), 0.3, 0.4, prior=PRIORS[1])
    rng = np.random.default_rng(8)
    _, _, true_c, _ = plan.simulate(rng, 200_000, "assurance")
    mix = plan.prior[0]
    mean = mix.mean()
    second = sum(w * a * (a + 1) / ((a + b) * (a + b + 1)) for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True))
    sd = math.sqrt(second - mean**2)
    assert abs(true_c.mean() - mean) < 4 * sd / math.sqrt(200_000)
