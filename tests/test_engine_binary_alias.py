"""The fixed-rate binary sampler: Walker alias tables and decision tables.

The power and type I error streams draw each arm's new events per look from
an alias table built from the exact binomial pmf, and read each look's
decision from a table filled by the decision function itself. What is
checked here, against independent references:

- the table's implied distribution equals ``scipy.stats.binom.pmf`` over
  the whole support, to rounding (reconstructed cell by cell, no sampling);
- 10^7 draws through :func:`alias_pick` pass a chi-square test against the
  pmf;
- decisions do not depend on the tabulated window (a window of half a
  standard deviation, where most counts fall outside and are decided
  afresh, gives the same outcomes trial by trial);
- a chunk's trials do not depend on the chunk's length (uniforms are drawn
  by blocks of trials, in trial order).

Power and size against exact enumeration are in tests/test_engine_binary.py.
"""

import numba
import numpy as np
import pytest
from scipy import stats

from simulator.config.validate import validate
from simulator.endpoints import binary as binary_plan
from simulator.engine.binary import BLOCK, LOW_BITS, alias_pick, alias_table
from test_engine_binary import make_plan

#: (trials n, rate p): small, skewed, large, a rate at the edge, and a degenerate rate.
CASES = [(1, 0.3), (10, 0.5), (77, 0.35), (300, 0.78), (600, 0.003), (2000, 0.5), (40, 0.0), (40, 1.0)]


def implied_pmf(prob, alias):
    """The distribution an alias table samples: cell j keeps prob[j], gives 1 - prob[j] to alias[j]."""
    m = prob.shape[0]
    out = prob.copy()
    np.add.at(out, alias, 1.0 - prob)
    return out / m


@pytest.mark.parametrize("n,p", [*CASES, (20000, 0.3)])
def test_alias_table_reproduces_the_binomial_pmf(n, p):
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    prob, alias = np.empty(n + 1), np.empty(n + 1, dtype=np.int64)
    alias_table(pmf, prob, alias)
    assert np.all((prob >= 0.0) & (prob <= 1.0)) and np.all((alias >= 0) & (alias <= n))
    # Each outcome within a few ulp of the largest probability: the construction is exact in integer
    # units of 2^-k / m, k >= 42 (measured: up to 2.6 ulp, the float sums of this check included).
    np.testing.assert_allclose(implied_pmf(prob, alias), pmf, rtol=0, atol=4 * np.finfo(float).eps * pmf.max())


def implied_by_codes(prob, outcome, other, n_c, n_e):
    """The distribution of (new control, new experimental events) that a table of packed outcomes samples."""
    out = np.zeros((n_c + 1, n_e + 1))
    m = prob.shape[0]
    for codes, weight in ((outcome, prob), (other, 1.0 - prob)):
        np.add.at(out, (codes >> 32, codes & LOW_BITS), weight / m)
    return out


@pytest.mark.parametrize("n_c,joint", [(229, True), (900, False)])
def test_plan_tables_cover_every_increment(n_c, joint):
    # 3 looks: per arm the increments 76, 77, 76 (229 per arm; oriented rates 0.35, 0.50) in one table
    # of pairs per look; 300, 300, 300 (900 per arm) in a table per arm (3 x 301^2 pairs: too many).
    plan = make_plan("z_pooled", n_c, (1, 1), 0.35, 0.50, looks=3)
    prob, outcome, other, offsets, sizes = plan.sampling_tables("power").alias
    new = np.diff(plan.looks.evaluable_c, prepend=0)
    assert sizes.shape == (3, 1 if joint else 2)
    for k in range(3):
        pmf = stats.binom.pmf(np.arange(new[k] + 1)[:, None], new[k], 0.35) * stats.binom.pmf(
            np.arange(new[k] + 1)[None, :], new[k], 0.50)
        implied = np.zeros_like(pmf)
        for t in range(sizes.shape[1]):
            cells = slice(int(offsets[k, t]), int(offsets[k, t] + sizes[k, t]))
            part = implied_by_codes(prob[cells], outcome[cells], other[cells], new[k], new[k])
            # Two tables are independent draws: their distributions multiply (control rows, experimental columns).
            implied = part if t == 0 else np.outer(implied.sum(axis=1), part.sum(axis=0))
        np.testing.assert_allclose(implied, pmf, rtol=0, atol=1e-15)


@numba.njit(cache=False)
def _draw_many(rng, prob, alias, n_draws, counts):
    size = prob.shape[0]
    cells = np.arange(size)
    for _ in range(n_draws):
        counts[alias_pick(rng.random(), prob, cells, alias, 0, size)] += 1


@pytest.mark.parametrize("n,p", [(77, 0.35), (300, 0.78), (600, 0.003)])
def test_alias_draws_pass_a_chi_square_test_against_the_pmf(n, p):
    n_draws = 10**7
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    prob, alias = np.empty(n + 1), np.empty(n + 1, dtype=np.int64)
    alias_table(pmf, prob, alias)
    counts = np.zeros(n + 1, dtype=np.int64)
    _draw_many(np.random.default_rng(n), prob, alias, n_draws, counts)
    expected = n_draws * pmf
    # Cells expected fewer than 5 times are pooled into their tail, as a chi-square test needs.
    keep = expected >= 5
    first, last = np.nonzero(keep)[0][[0, -1]]
    observed = np.concatenate([[counts[:first].sum()], counts[first : last + 1], [counts[last + 1 :].sum()]])
    wanted = np.concatenate([[expected[:first].sum()], expected[first : last + 1], [expected[last + 1 :].sum()]])
    used = wanted > 0
    observed, wanted = observed[used], wanted[used] * observed[used].sum() / wanted[used].sum()
    statistic, p_value = stats.chisquare(observed, wanted)
    # A correct sampler fails at this level once in 10^4 seeds; a pmf off by 1e-3 in a central cell
    # would give a statistic of about (1e-3)^2 * 1e7 / pmf, far beyond it.
    assert p_value > 1e-4, (statistic, p_value, len(observed))


@pytest.mark.parametrize("test", ["z_pooled", "fisher", "farrington_manning"])
def test_decisions_do_not_depend_on_the_tabulated_window(test, monkeypatch):
    margin = 0.05 if test == "farrington_manning" else 0.0
    wide = make_plan(test, 150, (1, 2), 0.30, 0.45, margin=margin)
    for stream in ("power", "type1"):
        wide.sampling_tables(stream)  # built now, with the default window (tables are built on first use)
    monkeypatch.setattr(binary_plan, "WINDOW_SDS", 0.5)
    narrow = make_plan(test, 150, (1, 2), 0.30, 0.45, margin=margin)
    assert narrow.sampling_tables("power").decisions[3].max() < wide.sampling_tables("power").decisions[3].min()
    for stream in ("power", "type1"):
        a = wide.simulate(np.random.default_rng(4), 50_000, stream)
        b = narrow.simulate(np.random.default_rng(4), 50_000, stream)
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[0], b[0])


def test_group_sequential_decisions_do_not_depend_on_the_window(monkeypatch):
    raw_plan = lambda: make_plan("z_pooled", 229, (1, 1), 0.35, 0.50, looks=3)  # noqa: E731
    wide = raw_plan()
    wide.sampling_tables("power")
    monkeypatch.setattr(binary_plan, "WINDOW_SDS", 0.5)
    narrow = raw_plan()
    a = wide.simulate(np.random.default_rng(9), 30_000, "power")
    b = narrow.simulate(np.random.default_rng(9), 30_000, "power")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert len(set(a[0].tolist())) == 3  # trials stop at every look


def test_trials_do_not_depend_on_the_chunk_length():
    plan = make_plan("z_pooled", 229, (1, 1), 0.35, 0.50, looks=3)
    short = plan.simulate(np.random.default_rng(12), BLOCK + 44, "power")
    long = plan.simulate(np.random.default_rng(12), 4 * BLOCK - 24, "power")
    np.testing.assert_array_equal(short[1], long[1][: BLOCK + 44])
    np.testing.assert_array_equal(short[0], long[0][: BLOCK + 44])


PRIOR = {"control": {"events": 14, "n": 42}, "experimental": {"events": 8, "n": 37}, "discount": 0.5,
         "robust_weight": 0.2}


def test_assurance_draws_rates_and_counts_with_their_joint_law():
    # A fixed design's assurance draws each count from its prior predictive distribution and then the
    # rate from its posterior. Reference: the other order, rate from the prior then a binomial count,
    # drawn with numpy and decided by the plan's own decision pass. The joint law shows in the trials
    # that succeed with a true effect on either side of 0.1 (4 joint MCSE each), and the rates alone
    # must follow the prior (Kolmogorov-Smirnov against the mixture's cdf).
    plan = make_plan("z_pooled", 40, (1, 1), 0.3, 0.4, prior=PRIOR)
    n = 200_000
    _, decision, true_c, true_e = plan.simulate(np.random.default_rng(21), n, "assurance")
    rng = np.random.default_rng(22)
    n_c, n_e = int(plan.looks.evaluable_c[-1]), int(plan.looks.evaluable_e[-1])

    def mixture(prior, size):
        vague = rng.random(size) < (prior.weights[1] if len(prior.weights) > 1 else 0.0)
        return np.where(vague, rng.beta(prior.a[-1], prior.b[-1], size), rng.beta(prior.a[0], prior.b[0], size))

    ref_c, ref_e = mixture(plan.prior[0], n), mixture(plan.prior[1], n)
    x_c, x_e = rng.binomial(n_c, ref_c)[:, None], rng.binomial(n_e, ref_e)[:, None]
    _, ref_decision = plan.decide(np.ascontiguousarray(x_c), np.ascontiguousarray(x_e))
    for region in (lambda c, e: e - c > 0.1, lambda c, e: e - c <= 0.1):
        ours = np.mean((decision == 1) & region(true_c, true_e))
        ref = np.mean((ref_decision == 1) & region(ref_c, ref_e))
        joint = np.sqrt((ours * (1 - ours) + ref * (1 - ref)) / n)
        assert abs(ours - ref) <= 4 * joint, (ours, ref, joint)
    for rates, prior in ((true_c, plan.prior[0]), (true_e, plan.prior[1])):
        assert stats.kstest(rates, prior.cdf).pvalue > 1e-4


@pytest.mark.parametrize("prior", [PRIOR, {"control": {"events": 14, "n": 42}, "experimental": {"events": 8, "n": 37}}])
def test_posterior_weights_of_the_vague_component(prior):
    # Bayes' rule on the beta-binomial marginals, computed here from scipy's pmfs directly.
    plan = make_plan("z_pooled", 40, (1, 1), 0.3, 0.4, prior=prior)
    weights = plan.sampling_tables("assurance").posterior[0]
    mix = plan.prior[0]
    x = np.arange(41)
    if len(mix.weights) == 1:
        np.testing.assert_array_equal(weights, 0.0)
        return
    vague = mix.weights[1] * stats.betabinom.pmf(x, 40, mix.a[1], mix.b[1])
    informative = mix.weights[0] * stats.betabinom.pmf(x, 40, mix.a[0], mix.b[0])
    np.testing.assert_allclose(weights, vague / (vague + informative), rtol=1e-12)


@pytest.mark.parametrize("looks", [1, 3])
def test_extra_levels_leave_level_zero_and_its_tally_unchanged(looks):
    # A fixed design at one level has a loop of its own (the common case, written out for speed);
    # with a further level (Holm's alpha / 2) the general loop decides the same trials. Level 0
    # must not change, and each kernel's tally must be the counts of its outcomes.
    from simulator.endpoints.common import per_look_counts

    plan = make_plan("z_pooled", 150, (1, 1), 0.30, 0.45, looks=looks)
    config = validate({"trial": {"n_total": 300}, "design": {"looks": looks},
                       "endpoints": {"y": {"kind": "binary", "truth": {"control": 0.30, "experimental": 0.45}}}})
    holm = binary_plan.BinaryPlan.from_config(config, config.endpoints[0], extra_levels=(0.0125,))
    one = plan.simulate_levels(np.random.default_rng(3), 20_000, "power")
    two = holm.simulate_levels(np.random.default_rng(3), 20_000, "power")
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1][0], two[1][0])
    # The second level is decided on its own bounds: alpha / 2 rejects fewer of the same trials, and
    # only trials that alpha rejects.
    assert np.sum(two[1][1] == 1) < np.sum(two[1][0] == 1)
    assert np.all(two[1][0][two[1][1] == 1] == 1)
    for stop_look, decision, tally, _, _ in (one, two):
        expected = per_look_counts(stop_look, decision[0], looks)
        counts = binary_plan.counts_from_tally(tally)
        for key, value in expected.items():
            np.testing.assert_array_equal(counts[key], value)
