"""The patient kernels' random numbers (simulator.engine.bits) and the draws made from them.

References: the exponential and uniform laws (chi-square tests at 10^7
draws, one fixed seed each, so a test fails only if the law is wrong or the
seed is one in a thousand), NumPy's ziggurat tables (Numba's copy) and the
equal-area property that defines them, NumPy's ``SFC64`` for the generator
itself, and exact enumeration of the arrangements of the arms.
"""

import itertools
import math

import numpy as np
import pytest
from numba import njit
from numba.np.random._constants import fe_double, fi_double, ke_double, ki_double, we_double, wi_double
from scipy import stats

from simulator.engine import bits
from simulator.engine.patients import draw_arms, draw_patients, patients, survival_design, workspace

N_DRAWS = 10**7


@njit
def _fill(state, out, kind):
    """``out`` filled from ``state``: 0 exponentials, 1 uniforms, 3 normals, 4 open uniforms, 2 raw 64-bit
    draws (``out`` of uint64)."""
    a, b, c, w = bits.load(state)
    for k in range(out.size):
        if kind == 0:
            x, a, b, c, w = bits.exponential(a, b, c, w)
            out[k] = x
        elif kind == 1:
            u, a, b, c, w = bits.uniform(a, b, c, w)
            out[k] = u
        elif kind == 3:
            x, a, b, c, w = bits.normal(a, b, c, w)
            out[k] = x
        elif kind == 4:
            u, a, b, c, w = bits.open_uniform(a, b, c, w)
            out[k] = u
        else:
            r, a, b, c, w = bits.next_bits(a, b, c, w)
            out[k] = r
    bits.store(state, a, b, c, w)


def _exponentials(state, out):
    _fill(state, out, 0)


def _uniforms(state, out):
    _fill(state, out, 1)


def _raw(state, out):
    _fill(state, out, 2)


def _normals(state, out):
    _fill(state, out, 3)


def _twin(state):
    """NumPy's ``SFC64`` at ``state`` (four ``uint64``) and a ``Generator`` on it."""
    numpys = np.random.SFC64()
    numpys.state = {"bit_generator": "SFC64", "state": {"state": state.copy()}, "has_uint32": 0, "uinteger": 0}
    return numpys, np.random.Generator(numpys)


def _seeded(seed):
    state = np.zeros(4, dtype=np.uint64)
    bits.seed_bits(np.random.default_rng(seed), state)
    return state


def test_the_generator_is_numpys_sfc64():
    numpys = np.random.SFC64(3)
    state = np.array(numpys.state["state"]["state"], dtype=np.uint64)  # a, b, c and the counter
    ours = np.empty(1000, dtype=np.uint64)
    _raw(state, ours)
    np.testing.assert_array_equal(ours, numpys.random_raw(1000))


def test_ziggurat_tables_file_holds_the_computed_tables():
    tables = bits.ziggurat_tables()
    np.testing.assert_array_equal(np.stack([bits.KE.astype(float), bits.WE, bits.FE]), tables)


def test_ziggurat_tables_have_equal_areas_and_match_numpys():
    x = bits.WE * 2.0**53
    # Layer i >= 1: width x[i] times the height exp(-x[i-1]) - exp(-x[i]) (1 - exp(-x[1]) for the top) is
    # the common area; the base strip x[0] exp(-r) is too.
    heights = np.append(1.0, np.exp(-x[1:-1])) - np.exp(-x[1:])
    np.testing.assert_allclose(x[1:] * heights, bits._AREA, rtol=1e-10)
    assert x[0] * math.exp(-bits.ZIGGURAT_R) == pytest.approx(bits._AREA, rel=1e-15)
    # NumPy's tables (Numba's copy) differ by their own rounding only: an ulp or two, and a few units
    # of the 2^53 scale for the integer thresholds.
    np.testing.assert_allclose(bits.WE, we_double, rtol=2e-15)
    np.testing.assert_allclose(bits.FE, fe_double, rtol=2e-15)
    assert np.max(np.abs(bits.KE.astype(float) - ke_double.astype(float))) <= 8


def test_draws_follow_numpys_generator_draw_for_draw():
    # NumPy's Generator(SFC64) runs the same ziggurat on the same bits: with tables equal to an ulp,
    # every draw takes the same branch, so the two streams stay in step, equal to 1e-14 relative, and
    # end in the same state (a wrong acceptance or wedge test would put them out of step).
    state = _seeded(31)
    numpys, theirs = _twin(state)
    ours = np.empty(10**6)
    _exponentials(state, ours)
    np.testing.assert_allclose(ours, theirs.standard_exponential(10**6), rtol=1e-14, atol=0)
    uniforms = np.empty(1000)
    _uniforms(state, uniforms)
    np.testing.assert_array_equal(uniforms, theirs.random(1000))
    np.testing.assert_array_equal(state, numpys.state["state"]["state"])


def test_normal_ziggurat_tables_file_holds_the_computed_tables():
    tables = bits.normal_ziggurat_tables()
    np.testing.assert_array_equal(np.stack([bits.KI.astype(float), bits.WI, bits.FI]), tables)


def test_normal_ziggurat_tables_have_equal_areas_and_match_numpys():
    x = bits.WI * 2.0**52
    f = np.exp(-0.5 * x * x)
    # Layer i >= 2: width x[i] times the height f(x[i-1]) - f(x[i]); the top layer 1 - f(x[1]); the base
    # r f(r) plus the tail beyond r (x[0] = area / f(r)).
    area = x[0] * f[255]
    np.testing.assert_allclose(x[2:] * (f[1:255] - f[2:]), area, rtol=1e-13)
    assert x[1] * (1.0 - f[1]) == pytest.approx(area, rel=1e-13)
    tail = math.sqrt(math.pi / 2) * math.erfc(bits.NORMAL_R / math.sqrt(2.0))
    assert bits.NORMAL_R * math.exp(-0.5 * bits.NORMAL_R**2) + tail == pytest.approx(area, rel=1e-14)
    # NumPy's tables (Numba's copy) come from a recurrence in doubles: within 2e-14, and a few dozen units of
    # the 2^52 scale for the integer thresholds.
    np.testing.assert_allclose(bits.WI, wi_double, rtol=2e-14)
    np.testing.assert_allclose(bits.FI, fi_double, rtol=2e-14)
    assert np.max(np.abs(bits.KI.astype(float) - ki_double.astype(float))) <= 64


def test_normals_follow_numpys_generator_draw_for_draw():
    # NumPy's Generator(SFC64).standard_normal runs the same ziggurat on the same bits (layer, sign, 52-bit
    # magnitude; wedge and tail tests): every draw takes the same branch, so the streams stay in step, equal
    # to the tables' 2e-14, and end in the same state.
    state = _seeded(32)
    numpys, theirs = _twin(state)
    ours = np.empty(10**6)
    _normals(state, ours)
    np.testing.assert_allclose(ours, theirs.standard_normal(10**6), rtol=5e-14, atol=0)
    np.testing.assert_array_equal(state, numpys.state["state"]["state"])


def test_normals_follow_the_normal_law():
    x = np.empty(N_DRAWS)
    _normals(_seeded(13), x)
    # 200 equiprobable bins; the ziggurat's own tail beyond r on both sides; the tail's mean excess.
    edges = stats.norm.ppf(np.arange(1, 200) / 200.0)
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=200)
    assert stats.chisquare(counts).pvalue > 1e-3
    for beyond in (np.count_nonzero(x > bits.NORMAL_R), np.count_nonzero(x < -bits.NORMAL_R)):
        expected = N_DRAWS * stats.norm.sf(bits.NORMAL_R)
        assert abs(beyond - expected) < 4 * math.sqrt(expected)
    far = x[np.abs(x) > 4.0]
    excess = stats.norm.pdf(4.0) / stats.norm.sf(4.0) - 4.0  # E[X - 4 | X > 4]
    assert np.mean(np.abs(far) - 4.0) == pytest.approx(excess, abs=4 * 0.25 / math.sqrt(far.size))
    assert np.all(np.isfinite(x))


def test_open_uniforms_are_the_half_grid_of_52_bits():
    state = _seeded(14)
    u = np.empty(10**6)
    _fill(state, u, 4)
    k = u * 2.0**52 - 0.5
    # On the grid (k + 1/2) 2^-52, so never 0 nor 1, and 1 - u, 1/2 - u exact (on the same grid).
    np.testing.assert_array_equal(k, np.floor(k))
    assert np.all((u > 0.0) & (u < 1.0))
    np.testing.assert_array_equal((1.0 - u) * 2.0**52 - 0.5, np.floor((1.0 - u) * 2.0**52 - 0.5))
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_exponentials_follow_the_exponential_law():
    x = np.empty(N_DRAWS)
    _exponentials(_seeded(11), x)
    # 200 equiprobable bins, the last one the open tail; and the ziggurat's own tail beyond r.
    edges = -np.log1p(-np.arange(1, 200) / 200.0)
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=200)
    assert stats.chisquare(counts).pvalue > 1e-3
    beyond = np.count_nonzero(x > bits.ZIGGURAT_R)
    expected = N_DRAWS * math.exp(-bits.ZIGGURAT_R)
    assert abs(beyond - expected) < 4 * math.sqrt(expected)
    # Far into the tail: the exponential law's mean excess is 1.
    assert np.mean(x[x > 8.0] - 8.0) == pytest.approx(1.0, abs=4 / math.sqrt(np.count_nonzero(x > 8.0)))
    assert np.all(x >= 0.0) and np.all(np.isfinite(x))


def test_uniforms_follow_the_uniform_law():
    u = np.empty(N_DRAWS)
    _uniforms(_seeded(12), u)
    assert np.all((u >= 0.0) & (u < 1.0))
    counts = np.bincount((u * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > 1e-3
    # Successive draws are uncorrelated.
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4 / math.sqrt(N_DRAWS)


def test_seeding_reads_three_uniforms_of_the_generator():
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    state = np.zeros(4, dtype=np.uint64)
    bits.seed_bits(rng, state)
    words = (twin.random(3) * 2.0**53).astype(np.uint64)
    assert rng.random() == twin.random()
    # The three uniforms' 53 bits are the words a, b, c, with the counter at 1, and twelve draws are
    # discarded (as NumPy's SFC64 does after seeding).
    numpys = np.random.SFC64()
    numpys.state = {"bit_generator": "SFC64", "state": {"state": np.append(words, np.uint64(1))}, "has_uint32": 0,
                    "uinteger": 0}
    numpys.random_raw(12)
    np.testing.assert_array_equal(state, numpys.state["state"]["state"])


def test_arms_are_a_uniform_arrangement_of_the_exact_counts():
    # Two control patients (one without a binary outcome), three experimental (one without):
    # labels 0, 1, 2, 2, 3 in 5! / 2! = 60 arrangements, each with probability 1/60.
    design = survival_design(2, 3, accrual=([0.0, 1.0], [1.0]), control=([0.0], [0.1]), look_events=np.array([1]),
                             missing=(1, 1))
    label = np.empty(5, dtype=np.int64)
    state = _seeded(21)
    arrangements = sorted(set(itertools.permutations([0, 1, 2, 2, 3])))
    index = {a: i for i, a in enumerate(arrangements)}
    counts = np.zeros(len(arrangements), dtype=np.int64)
    for _ in range(60_000):
        draw_arms(state, design, label)
        counts[index[tuple(label)]] += 1
    assert len(arrangements) == 60
    assert stats.chisquare(counts).pvalue > 1e-3


def test_exponential_exits_follow_each_arms_law():
    design = survival_design(300, 300, accrual=([0.0, 24.0], [1.0]), control=([0.0], [0.05]),
                             look_events=np.array([100]))
    pts, work = patients(600), workspace(600, 1)
    rng = np.random.default_rng(8)
    control, experimental = [], []
    for _ in range(100):
        n_events = draw_patients(rng, design, 1.2, 0.7 * 1.2, pts, work.calendar)
        assert n_events == 600 and np.count_nonzero(pts.label >= 2) == 300
        control.append(pts.exit_time[pts.label < 2].copy())
        experimental.append(pts.exit_time[pts.label >= 2].copy())
    assert stats.kstest(np.concatenate(control), stats.expon(scale=1 / (0.05 * 1.2)).cdf).pvalue > 1e-3
    assert stats.kstest(np.concatenate(experimental), stats.expon(scale=1 / (0.05 * 1.2 * 0.7)).cdf).pvalue > 1e-3


def test_a_hazard_of_zero_gives_no_exit():
    design = survival_design(50, 50, accrual=([0.0, 12.0], [1.0]), control=([0.0], [0.0]), look_events=np.array([1]))
    pts, work = patients(100), workspace(100, 1)
    assert draw_patients(np.random.default_rng(1), design, 1.0, 0.7, pts, work.calendar) == 0
    assert np.all(pts.exit_time == np.inf) and not pts.is_event.any()


def test_order_keys_sort_and_tie_as_the_times_do():
    from simulator.engine.patients import _order_keys

    rng = np.random.default_rng(4)
    special = np.array([-np.inf, -1e300, -2.5, -5e-324, -0.0, 0.0, 5e-324, 1e-310, 1.0, 2.5, 1e300, np.inf])
    times = np.concatenate([special, rng.normal(0, 10, 2000), np.round(rng.normal(0, 3, 2000))])
    keys = np.empty(times.size, dtype=np.int64)
    work = times.copy()
    _order_keys(work, keys, times.size)
    i, j = rng.integers(0, times.size, (2, 200_000))
    np.testing.assert_array_equal(keys[i] < keys[j], times[i] < times[j])
    np.testing.assert_array_equal(keys[i] == keys[j], times[i] == times[j])
    assert np.array_equal(work, times) and not np.signbit(work[4])  # -0.0 written back as +0.0
    # Non-negative times: the key is the double's bits (stream B's keys).
    positive = times[times >= 0.0]
    keys_positive = np.empty(positive.size, dtype=np.int64)
    _order_keys(positive.copy(), keys_positive, positive.size)
    np.testing.assert_array_equal(keys_positive, (positive + 0.0).view(np.int64))


def test_the_exponential_loop_draws_as_the_general_one():
    # A maximum follow-up that never binds sends the same design through exit_from_pieces: the same random
    # numbers give the same arms and entries, and exits equal within two ulp.
    fast = survival_design(150, 150, accrual=([0.0, 24.0], [1.0]), control=([0.0], [0.04]),
                           look_events=np.array([100]))
    general = survival_design(150, 150, accrual=([0.0, 24.0], [1.0]), control=([0.0], [0.04]),
                              look_events=np.array([100]), max_follow_up=1e300)
    a, b = patients(300), patients(300)
    cal_a, cal_b = np.empty(300), np.empty(300)
    for seed in range(20):
        assert draw_patients(np.random.default_rng(seed), fast, 1.3, 0.9, a, cal_a) == 300
        assert draw_patients(np.random.default_rng(seed), general, 1.3, 0.9, b, cal_b) == 300
        np.testing.assert_array_equal(a.label, b.label)
        np.testing.assert_array_equal(a.entry, b.entry)
        np.testing.assert_allclose(a.exit_time, b.exit_time, rtol=4.5e-16, atol=0)
        np.testing.assert_array_equal(a.bits, b.bits)


def test_a_tiny_hazard_gives_no_exit_either():
    # 1 / (theta hazard) overflows: the general loop's exits (inf), not infinite events.
    design = survival_design(5, 5, accrual=([0.0, 12.0], [1.0]), control=([0.0], [1e-300]), look_events=np.array([1]))
    pts, work = patients(10), workspace(10, 1)
    assert draw_patients(np.random.default_rng(2), design, 1e-10, 1e-10, pts, work.calendar) == 0
    assert np.all(pts.exit_time == np.inf) and not pts.is_event.any()
