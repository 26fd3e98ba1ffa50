"""Survival simulation kernels: log-rank, generators and operating characteristics.

Stochastic checks use fixed seeds and tolerances in Monte Carlo standard
errors (MCSE); 4 MCSE makes a false alarm about 1 in 16 000 per check.
"""

import numpy as np
import pytest
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from simulator.design.survival import (
    accrual_pieces,
    dropout_hazard,
    hazards_from,
    schoenfeld_events,
    schoenfeld_power,
    subjects_for_events,
)
from simulator.engine import patients as shared
from simulator.engine import survival as engine
from simulator.engine.bits import seed_bits
from simulator.engine.survival import logrank, simulate_trials
from simulator.errors import InputError

MEDIAN_30 = hazards_from(median=30.0)
PIECEWISE = hazards_from(times=[0, 12, 24], hazards=[0.03, 0.02, 0.015])
UNIFORM_36 = accrual_pieces(duration=36.0)
ASOF_3 = [3.710, 2.511, 1.993]  # rpact getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF")


# --------------------------------------------------------------------------
# The log-rank function
# --------------------------------------------------------------------------


def logrank_plain(time, event, group, margin=1.0):
    """Textbook log-rank (Mantel-Haenszel, ties corrected), written plainly; at a hazard ratio ``margin`` under
    H0 the experimental share of the hazard at risk is ``M n_e / (M n_e + n_c)`` (the score test at M)."""
    score = variance = 0.0
    for t in np.unique(time[event == 1]):
        at_risk = time >= t
        n, n_e = at_risk.sum(), (at_risk & (group == 1)).sum()
        share = margin * n_e / (margin * n_e + (n - n_e))
        dead = (time == t) & (event == 1)
        d, d_e = dead.sum(), (dead & (group == 1)).sum()
        score += d * share - d_e
        if n > 1:
            variance += d * share * (1 - share) * (n - d) / (n - 1)
    return score, variance


def tied_data_sets(count, seed, tied=True):
    """Random two-arm data with many ties (times rounded to whole units), or none (``tied=False``).

    The two exercise the log-rank's two passes: tied event times take the
    grouped pass, continuous ones the merged pass (``_merged_pass``).
    """
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(5, 120))
        group = rng.integers(0, 2, n)
        time = rng.exponential(np.where(group == 1, 14.0, 10.0))
        if tied:
            time = np.round(time)
        else:
            assert np.unique(time).size == n
        event = (rng.random(n) < 0.75).astype(np.int64)
        yield time, event, group


PASSES = pytest.mark.parametrize("tied", [True, False], ids=["ties-grouped-pass", "continuous-merged-pass"])


@PASSES
def test_logrank_matches_plain_implementation(tied):
    for time, event, group in tied_data_sets(200, seed=11, tied=tied):
        z, score, variance, o_c, e_c, o_e, e_e = logrank(time, event, group)
        ref_score, ref_variance = logrank_plain(time, event, group)
        assert score == pytest.approx(ref_score, abs=1e-9)
        assert variance == pytest.approx(ref_variance, rel=1e-12, abs=1e-12)
        assert o_c + o_e == pytest.approx(e_c + e_e)
        assert o_e == event[group == 1].sum()
        if variance > 0:
            assert z == pytest.approx(ref_score / np.sqrt(ref_variance))
        else:  # no information: z is 0 by convention (docs/methods.md)
            assert z == 0.0


@PASSES
def test_logrank_matches_statsmodels_survdiff(tied):
    # statsmodels' survdiff (an independent implementation) returns the
    # chi-square z**2 and its p-value; the sign of z is checked against the
    # observed minus expected experimental events, computed plainly. Data
    # sets without information (variance 0: one arm, or no events) have no
    # chi-square there; ours gives z = 0 for them.
    data = list(tied_data_sets(300, seed=12, tied=tied))
    informative = [d for d in data if logrank_plain(*d)[1] > 0]
    empty = [d for d in data if logrank_plain(*d)[1] == 0]
    assert len(informative) > 280 and (len(empty) > 0 or not tied)
    for time, event, group in informative:
        z, score, variance, o_c, e_c, o_e, e_e = logrank(time, event, group)
        chi2, _ = survdiff(time, event, group)
        assert z**2 == pytest.approx(chi2, rel=3e-13, abs=0.0)
        ref_score, _ = logrank_plain(time, event, group)
        assert np.sign(z) == np.sign(ref_score)
        assert o_e == event[group == 1].sum() and o_c == event[group == 0].sum()
    for time, event, group in empty:
        z, score, variance, *_ = logrank(time, event, group)
        assert z == 0.0 and variance == 0.0


def test_logrank_depends_on_the_order_of_the_times_only():
    # Rank-based: shifting (even below 0) or stretching the times changes nothing.
    for time, event, group in tied_data_sets(50, seed=13):
        z = logrank(time, event, group)[0]
        assert logrank(time - 7.5, event, group)[0] == pytest.approx(z, rel=1e-12, abs=1e-15)
        assert logrank(3.0 * time, event, group)[0] == pytest.approx(z, rel=1e-12, abs=1e-15)


def test_logrank_orientation_and_bool_events():
    # The experimental arm dies later: fewer events than expected, z > 0.
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    group = np.array([0, 0, 0, 1, 1, 1])
    z, score, *_ = logrank(time, np.ones(6, dtype=bool), group)
    assert z > 0 and score > 0


# --------------------------------------------------------------------------
# One look of the kernel against logrank() on the same cut data
# --------------------------------------------------------------------------


def kernel_look(entry, exit_time, event, group, cut, margin=None):
    """Run the shared one-pass log-rank at a cut on arbitrary (possibly tied) data."""
    by_entry = np.argsort(entry, kind="stable")
    n = entry.size
    pts = shared.Patients(entry[by_entry].astype(float), 2 * group[by_entry].astype(np.int64),
                          exit_time[by_entry].astype(float), event[by_entry].astype(bool), np.zeros(4, dtype=np.uint64))
    work = shared.workspace(n, 1)
    at_cut = int(np.sum(event & (entry + exit_time <= cut)))
    n_a = shared.prepare_cuts(pts, cut, work)
    z, _, _, o_c, e_c, o_e, e_e, enrolled = shared.logrank_at_cut(cut, at_cut, pts, work, n_a, margin)
    hr = (o_e / e_e) / (o_c / e_c) if at_cut > 0 else np.nan
    return z, hr, enrolled


def cut_data(entry, exit_time, event, group, cut):
    enrolled = entry <= cut
    time = np.minimum(exit_time, cut - entry)[enrolled]
    observed = (event & (entry + exit_time <= cut))[enrolled]
    return time, observed, group[enrolled]


@pytest.mark.parametrize("margin", [None, 1.4])
@pytest.mark.parametrize("rounding", [None, 1.0])
def test_kernel_look_equals_logrank_on_cut_data(rounding, margin):
    rng = np.random.default_rng(21)
    for _ in range(100):
        n = int(rng.integers(10, 200))
        entry = rng.uniform(0, 24, n)
        group = rng.integers(0, 2, n)
        exit_time = rng.exponential(np.where(group == 1, 20.0, 14.0))
        event = rng.random(n) < 0.9
        if rounding:  # ties among exits, among censorings, and between them
            entry, exit_time = np.round(entry), np.round(exit_time) + 1.0
        cut = float(rng.uniform(5, 60))
        z, hr, enrolled = kernel_look(entry, exit_time, event, group, cut, margin)
        data = cut_data(entry, exit_time, event, group, cut)
        ref = logrank(*data, margin=margin or 1.0)
        assert enrolled == np.sum(entry <= cut)
        assert z == pytest.approx(ref[0], abs=1e-12)
        # And against the plain numpy loop, which shares no code with the passes (without rounding
        # the look takes the merged pass, with it the grouped one).
        ref_score, ref_variance = logrank_plain(*data, margin=margin or 1.0)
        assert z == pytest.approx(ref_score / np.sqrt(ref_variance) if ref_variance > 0 else 0.0, rel=1e-12, abs=1e-12)
        if ref[3] > 0 and ref[6] > 0:
            assert hr == pytest.approx((ref[5] / ref[6]) / (ref[3] / ref[4]), rel=1e-12)


# --------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------


def design_for(n_c, n_e, control=PIECEWISE, dropout=(0.0, 0.0), accrual=UNIFORM_36, looks=(1,)):
    return shared.survival_design(n_c, n_e, accrual=accrual, control=control, dropout=dropout,
                                  look_events=np.array(looks))


def draw_trial(rng, n_c, n_e, theta=(1.0, 1.0), **kwargs):
    """One trial's patients from the shared generator (entry order)."""
    design = design_for(n_c, n_e, **kwargs)
    pts = shared.patients(n_c + n_e)
    calendar = np.empty(n_c + n_e)
    n_events = shared.draw_patients(rng, design, theta[0], theta[1], pts, calendar)
    return pts, calendar[:n_events]


def test_patients_have_exact_arm_counts_sorted_entries_and_event_calendar():
    pts, calendar = draw_trial(np.random.default_rng(3), 137, 211, theta=(1.0, 0.6), dropout=(0.01, 0.02))
    arm = pts.label >= 2
    assert np.sum(~arm) == 137 and np.sum(arm) == 211 and set(np.unique(pts.label)) == {0, 2}
    assert np.all(np.diff(pts.entry) >= 0)
    np.testing.assert_array_equal(calendar, (pts.entry + pts.exit_time)[pts.is_event])


def test_entries_sorted_and_follow_piecewise_accrual():
    bits = np.zeros(4, dtype=np.uint64)
    seed_bits(np.random.default_rng(4), bits)
    edges, density = accrual_pieces(times=[0, 6, 18], rates=[1, 4])
    cumulative = np.concatenate([[0], np.cumsum(density * np.diff(edges))])
    entry = np.empty(20_000)
    shared.draw_entries(bits, entry.size, edges, cumulative, entry)
    assert np.all(np.diff(entry) >= 0) and entry[0] >= 0 and entry[-1] <= 18
    cdf = lambda a: np.interp(a, edges, cumulative)  # noqa: E731
    assert stats.kstest(entry, cdf).pvalue > 1e-3


def kaplan_meier(time, event, landmarks):
    """KM estimate and Greenwood standard error at landmarks (no ties)."""
    order = np.argsort(time)
    time, event = time[order], event[order]
    at_risk = time.size - np.arange(time.size)
    factors = np.where(event, 1.0 - 1.0 / at_risk, 1.0)
    surv = np.cumprod(factors)
    with np.errstate(divide="ignore"):
        greenwood = np.cumsum(np.where(event, 1.0 / (at_risk * (at_risk - 1.0)), 0.0))
    idx = np.searchsorted(time, landmarks, side="right") - 1
    return surv[idx], surv[idx] * np.sqrt(greenwood[idx])


def true_survival(t, times, hazards):
    widths = np.diff(np.append(times, np.inf))
    cum = np.sum(hazards * np.clip(np.asarray(t)[:, None] - times, 0.0, widths), axis=1)
    return np.exp(-cum)


@pytest.mark.parametrize("control, landmarks", [
    (MEDIAN_30, [5.0, 15.0, 30.0, 60.0, 90.0]),
    (PIECEWISE, [6.0, 12.0, 20.0, 30.0, 50.0]),
])
@pytest.mark.parametrize("multiplier", [1.0, 0.7])
def test_kaplan_meier_of_simulated_patients(control, landmarks, multiplier):
    # Both arms of one large trial (multiplier 1 in control, `multiplier`
    # in the experimental arm), followed to their exit: KM per arm within 4
    # Greenwood SE of the configured S(t)^theta, dropout likewise.
    dropout = dropout_hazard(0.05, 12.0)
    pts, _ = draw_trial(np.random.default_rng(5), 100_000, 100_000, theta=(1.0, multiplier), control=control,
                        dropout=(dropout, 2 * dropout))
    landmarks = np.array(landmarks)
    for arm, (theta, drop) in enumerate(((1.0, dropout), (multiplier, 2 * dropout))):
        mine = (pts.label >= 2) == bool(arm)
        km, se = kaplan_meier(pts.exit_time[mine], pts.is_event[mine], landmarks)
        truth = true_survival(landmarks, control[0], theta * control[1])
        assert np.all(np.abs(km - truth) <= 4 * se), (arm, km, truth, se)
        # Dropouts, seen as events with events as censorings: exponential.
        km_d, se_d = kaplan_meier(pts.exit_time[mine], ~pts.is_event[mine], landmarks)
        assert np.all(np.abs(km_d - np.exp(-drop * landmarks)) <= 4 * se_d)


def test_exits_are_independent_of_entry_and_arms_are_balanced_over_time():
    pts, _ = draw_trial(np.random.default_rng(6), 50_000, 50_000)
    n = pts.entry.size
    control = pts.label < 2
    rho = stats.spearmanr(pts.entry[control], pts.exit_time[control]).statistic
    assert abs(rho) <= 4 / np.sqrt(control.sum())
    # Entries uniform on [0, 36]: the arms' mean entries differ by N(0, 2 var / (n/2)).
    assert abs(np.mean(pts.entry[~control]) - np.mean(pts.entry[control])) <= 4 * np.sqrt(2 * 36**2 / 12 / (n / 2))


def test_patients_with_zero_hazard_never_exit():
    pts, _ = draw_trial(np.random.default_rng(0), 10, 10, control=([0.0, 5.0], [0.2, 0.0]))
    time, event = pts.exit_time, pts.is_event
    assert np.all(time[np.isfinite(time)] <= 5.0)
    assert np.any(np.isinf(time)) and not np.any(event[np.isinf(time)])


# --------------------------------------------------------------------------
# Operating characteristics
# --------------------------------------------------------------------------


def fixed_design(hazard_ratio, n_sims, seed, sided=1, alpha=0.025, events=None):
    events = events or int(np.ceil(schoenfeld_events(0.7)))  # 247
    d = dropout_hazard(0.05, 12.0)
    n = int(np.ceil(subjects_for_events(events, follow_up=24.0, control=MEDIAN_30,
                                        hazard_ratio=0.7, accrual=UNIFORM_36,
                                        dropout=(d, d)) / 2))
    bound = stats.norm.isf(alpha / sided)
    res = simulate_trials(n_sims, n, n, accrual=UNIFORM_36, control=MEDIAN_30,
                          hazard_ratio=hazard_ratio, look_events=[events],
                          efficacy=[bound], sided=sided, dropout=(d, d),
                          rng=np.random.default_rng(seed))
    return res, events


def test_power_matches_schoenfeld():
    n_sims = 20_000
    res, events = fixed_design(0.7, n_sims, seed=31)
    power = np.mean(res.decision == 1)
    analytic = schoenfeld_power(events, 0.7)
    mcse = np.sqrt(analytic * (1 - analytic) / n_sims)
    # 0.005 allows for the error of Schoenfeld's approximation itself.
    assert abs(power - analytic) <= 4 * mcse + 0.005, (power, analytic)
    assert np.all(res.events == events) and not res.events_short.any()
    assert np.exp(np.median(np.log(res.hazard_ratio))) == pytest.approx(0.7, abs=0.01)


def test_type_one_error_one_sided():
    n_sims = 20_000
    res, _ = fixed_design(1.0, n_sims, seed=32)
    rate = np.mean(res.decision == 1)
    assert abs(rate - 0.025) <= 4 * np.sqrt(0.025 * 0.975 / n_sims), rate
    assert not np.any(res.decision == -1)


def test_type_one_error_two_sided_splits_tails():
    n_sims = 20_000
    res, _ = fixed_design(1.0, n_sims, seed=33, sided=2, alpha=0.05)
    mcse = np.sqrt(0.025 * 0.975 / n_sims)
    assert abs(np.mean(res.decision == 1) - 0.025) <= 4 * mcse
    assert abs(np.mean(res.decision == -1) - 0.025) <= 4 * mcse
    assert np.all(res.z[res.decision == -1] <= -stats.norm.isf(0.025))


def test_group_sequential_type_one_error_and_looks():
    n_sims = 20_000
    looks = [111, 223, 334]
    res = simulate_trials(n_sims, 305, 305, accrual=UNIFORM_36, control=MEDIAN_30,
                          hazard_ratio=1.0, look_events=looks, efficacy=ASOF_3,
                          rng=np.random.default_rng(34))
    rate = np.mean(res.decision == 1)
    assert abs(rate - 0.025) <= 4 * np.sqrt(0.025 * 0.975 / n_sims), rate
    # Without futility every non-rejecting trial runs to the last look.
    assert np.all(res.stop_look[res.decision == 0] == 2)
    assert np.array_equal(res.events, np.array(looks)[res.stop_look])
    reached = np.arange(3) <= res.stop_look[:, None]
    assert np.array_equal(np.isfinite(res.look_times), reached)
    assert np.all(np.diff(res.look_times, axis=1)[reached[:, 1:]] > 0)
    assert np.all(res.enrolled <= 610) and np.all(res.enrolled[res.duration > 36.0] == 610)
    bound_at_stop = np.array(ASOF_3)[res.stop_look]
    rejected = res.decision == 1
    assert np.all(res.z[rejected] >= bound_at_stop[rejected])
    assert np.all(res.z[~rejected] < bound_at_stop[~rejected])


def test_futility_and_decision_codes():
    res = simulate_trials(500, 100, 100, accrual=UNIFORM_36, control=MEDIAN_30,
                          hazard_ratio=0.8, look_events=[50, 100], efficacy=[2.5, 2.0],
                          futility=[np.inf, -np.inf], rng=np.random.default_rng(35))
    # z < inf always holds: every trial stops at look 0, for efficacy or futility.
    assert np.all(res.stop_look == 0)
    assert set(np.unique(res.decision)) <= {1, 2}
    assert np.all((res.decision == 1) == (res.z >= 2.5))


def test_unfavourable_only_when_two_sided():
    kwargs = dict(accrual=UNIFORM_36, control=MEDIAN_30, hazard_ratio=1.6,
                  look_events=[100], efficacy=[1.96])
    two = simulate_trials(300, 100, 100, sided=2, rng=np.random.default_rng(36), **kwargs)
    one = simulate_trials(300, 100, 100, sided=1, rng=np.random.default_rng(36), **kwargs)
    assert np.mean(two.decision == -1) > 0.5
    assert not np.any(one.decision == -1)
    np.testing.assert_array_equal(one.z, two.z)


# --------------------------------------------------------------------------
# Running out of events
# --------------------------------------------------------------------------


def test_events_short_analyses_at_last_event_and_stops():
    # Dropout hazard ten times the event hazard: ~9 % of 200 ever have the event.
    res = simulate_trials(200, 100, 100, accrual=UNIFORM_36, control=([0.0], [0.01]),
                          hazard_ratio=1.0, look_events=[5, 150], efficacy=[3.0, 2.0],
                          dropout=(0.1, 0.1), rng=np.random.default_rng(37))
    short = res.events_short
    assert short.all()
    assert np.all(res.stop_look[res.decision != 1] == 1)
    assert np.all(res.events[res.stop_look == 1] < 150)
    assert np.all(res.enrolled <= 200)
    # The short look is at the last event, not before the first look.
    last = res.look_times[np.arange(200), res.stop_look]
    assert np.all(last[res.stop_look == 1] >= res.look_times[res.stop_look == 1, 0])


def test_no_events_at_all():
    res = simulate_trials(3, 10, 10, accrual=UNIFORM_36, control=([0.0], [0.0]),
                          hazard_ratio=0.7, look_events=[5], efficacy=[1.96],
                          rng=np.random.default_rng(38))
    assert res.events_short.all() and np.all(res.events == 0)
    assert np.all(res.z == 0) and np.all(np.isnan(res.hazard_ratio))
    assert np.all(res.decision == 0)


# --------------------------------------------------------------------------
# Determinism, chunking, per-trial inputs
# --------------------------------------------------------------------------

GS = dict(accrual=UNIFORM_36, control=PIECEWISE, look_events=[60, 120, 180],
          efficacy=ASOF_3, futility=[0.0, 0.5, -np.inf], dropout=(0.004, 0.006))


def as_tuple(res):
    return (res.stop_look, res.decision, res.z, res.hazard_ratio, res.events,
            res.enrolled, res.events_short, res.look_times, res.z_looks)


def test_same_seed_same_result_and_chunking_invariance():
    hr = np.random.default_rng(0).lognormal(np.log(0.7), 0.15, 500)
    whole = simulate_trials(500, 150, 150, hazard_ratio=hr, rng=np.random.default_rng(9), **GS)
    again = simulate_trials(500, 150, 150, hazard_ratio=hr, rng=np.random.default_rng(9), **GS)
    rng = np.random.default_rng(9)
    first = simulate_trials(180, 150, 150, hazard_ratio=hr[:180], rng=rng, **GS)
    second = simulate_trials(320, 150, 150, hazard_ratio=hr[180:], rng=rng, **GS)
    for a, b, c, d in zip(as_tuple(whole), as_tuple(again), as_tuple(first), as_tuple(second)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, np.concatenate([c, d]))


def test_scalar_and_per_trial_hazard_ratio_agree():
    a = simulate_trials(100, 150, 150, hazard_ratio=0.7, rng=np.random.default_rng(1), **GS)
    b = simulate_trials(100, 150, 150, hazard_ratio=np.full(100, 0.7),
                        control_multiplier=np.ones(100), rng=np.random.default_rng(1), **GS)
    for x, y in zip(as_tuple(a), as_tuple(b)):
        np.testing.assert_array_equal(x, y)


def test_control_multiplier_rescales_time():
    # Hazards times m with accrual and dropout sped up by m is the same trial
    # on a clock running m times faster: look times / m, same statistics.
    m = 2.5
    base = dict(control=MEDIAN_30, look_events=[80, 160], efficacy=[2.8, 1.98],
                hazard_ratio=0.75)
    slow = simulate_trials(200, 120, 120, accrual=accrual_pieces(duration=30.0),
                           dropout=(0.01, 0.02), rng=np.random.default_rng(2), **base)
    fast = simulate_trials(200, 120, 120, accrual=accrual_pieces(duration=30.0 / m),
                           dropout=(0.01 * m, 0.02 * m), control_multiplier=m,
                           rng=np.random.default_rng(2), **base)
    np.testing.assert_allclose(fast.look_times * m, slow.look_times, rtol=1e-9)
    np.testing.assert_allclose(fast.z_looks, slow.z_looks, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(fast.decision, slow.decision)


def test_empty_run():
    res = simulate_trials(0, 10, 10, hazard_ratio=0.7, rng=np.random.default_rng(0),
                          accrual=UNIFORM_36, control=MEDIAN_30, look_events=[5],
                          efficacy=[1.96])
    assert res.z.shape == (0,) and res.look_times.shape == (0, 1)


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------

GOOD = dict(n_sims=10, n_control=20, n_experimental=20, accrual=UNIFORM_36,
            control=MEDIAN_30, hazard_ratio=0.7, look_events=[10, 20],
            efficacy=[2.5, 2.0])


@pytest.mark.parametrize("change, message", [
    (dict(n_control=0), "each arm must have >= 1 subject"),
    (dict(rng=np.random.RandomState(0)), "`rng` must be a numpy.random.Generator"),
    (dict(accrual=([0.0, 10.0, 5.0], [1.0, 1.0])), "`accrual` edges must start at 0"),
    (dict(accrual=([0.0, 10.0], [1.0, 1.0])), "one more entry than rates"),
    (dict(accrual=([0.0, 10.0], [0.0])), "must not all be 0"),
    (dict(control=([1.0], [0.1])), "`control` times must start at 0"),
    (dict(control=([0.0], [-0.1])), "`control` hazards must be finite and >= 0"),
    (dict(hazard_ratio=np.ones(3)), "`hazard_ratio` must be a number or an array"),
    (dict(hazard_ratio=0.0), "`hazard_ratio` must be finite and > 0"),
    (dict(control_multiplier=-1.0), "`control_multiplier` must be finite and > 0"),
    (dict(dropout=(-0.1, 0.0)), "`dropout` hazards must be finite and >= 0"),
    (dict(look_events=[20, 10]), "`look_events` must increase strictly"),
    (dict(look_events=[10, 41]), "`look_events` must increase strictly"),
    (dict(look_events=[10.0, 20.0]), "`look_events` must be a non-empty list of integers"),
    (dict(efficacy=[2.0]), "`efficacy` needs one z bound per look"),
    (dict(futility=[0.0]), "`futility` needs one z bound per look"),
    (dict(sided=3), "`sided` must be 1 or 2"),
])
def test_simulate_trials_messages(change, message):
    kwargs = {**GOOD, "rng": np.random.default_rng(0), **change}
    with pytest.raises(InputError, match=message):
        simulate_trials(**kwargs)


@pytest.mark.parametrize("time", [[1.0, np.nan, 2.0], [1.0, np.inf, 2.0], [-np.inf, 1.0, 2.0]])
def test_logrank_functions_refuse_times_that_are_not_finite(time):
    # An event at +-inf has no place in the risk sets (the two passes counted it differently).
    from simulator.engine.strata import stratified_logrank
    from simulator.engine.weighted import weighted_logrank

    event, group = [1, 1, 1], [0, 1, 1]
    with pytest.raises(InputError, match="finite times"):
        logrank(time, event, group)
    with pytest.raises(InputError, match="finite times"):
        weighted_logrank(time, event, group, [(0.0, 1.0)])
    with pytest.raises(InputError, match="finite times"):
        stratified_logrank(time, event, group, [0, 0, 1])


def test_doctests():
    import doctest

    for module in (engine, shared):
        failures, _ = doctest.testmod(module)
        assert failures == 0
