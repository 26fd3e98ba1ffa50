"""The one survival patient model and the one decision function.

Checks that the survival engine, the joint engine and the Kaplan-Meier side
sample share their kernels (identical numbers where the streams are the
same), that the stream-A ordering is a correct sort, and that the futility
comparison is strict everywhere. Stochastic comparisons use fixed seeds and
tolerances of 4 Monte Carlo standard errors of the difference (a false
alarm about 1 in 16 000 per comparison).
"""

import math

import numpy as np
import pytest
from scipy import stats

from simulator.design.survival import accrual_pieces, hazards_from
from simulator.endpoints.binary import _futility_level
from simulator.engine import patients as shared
from simulator.engine.joint import simulate_calendar
from simulator.engine.survival import simulate_trials
from simulator.stats.binary import FISHER, Z_POOLED, fisher_pvalue, fisher_thresholds
from simulator.stats.decision import (
    CONTINUE,
    REJECT_FAVOURABLE,
    REJECT_UNFAVOURABLE,
    STOP_FUTILITY,
    decide,
    decide_z,
    z_bounds,
)

MEDIAN_24 = hazards_from(median=24.0)
UNIFORM_24 = accrual_pieces(duration=24.0)
NO_ROW = np.zeros(1, dtype=np.int64)
NO_FLOOR = np.full(1, -1, dtype=np.int64)


# ---------------------------------------------------------------- the decision
def test_decide_z_comparisons():
    inf = np.inf
    assert decide_z(1.96, 1.96, -inf, 0.0, -inf) == REJECT_FAVOURABLE  # z >= b
    assert decide_z(-1.96, 1.96, -1.96, 0.0, -inf) == REJECT_UNFAVOURABLE  # z <= -b, two-sided
    assert decide_z(-1.96, 1.96, -inf, 0.0, -inf) == STOP_FUTILITY
    assert decide_z(0.0, 1.96, -inf, 0.0, -inf) == STOP_FUTILITY  # on the futility bound: stop (rpact's rule)
    assert decide_z(np.nextafter(0.0, 1.0), 1.96, -inf, 0.0, -inf) == CONTINUE
    assert decide_z(-50.0, 1.96, -inf, -inf, -inf) == CONTINUE  # no futility bound
    # The inner wedge of a two-sided design: futility when |z| <= a, bounds included.
    assert decide_z(-0.3, 1.96, -1.96, 0.5, -0.5) == STOP_FUTILITY
    assert decide_z(-0.5, 1.96, -1.96, 0.5, -0.5) == STOP_FUTILITY
    assert decide_z(0.5, 1.96, -1.96, 0.5, -0.5) == STOP_FUTILITY
    assert decide_z(np.nextafter(-0.5, -1.0), 1.96, -1.96, 0.5, -0.5) == CONTINUE
    assert decide_z(-1.0, 1.96, -1.96, 0.5, -0.5) == CONTINUE


def test_z_bounds_drop_the_final_futility_bound():
    bounds = z_bounds([2.8, 1.98], [0.5, 0.5], sided=2)
    assert bounds.unfavourable.tolist() == [-2.8, -1.98] and bounds.futility.tolist() == [0.5, -np.inf]
    assert z_bounds([1.96]).unfavourable.tolist() == [-np.inf]


def test_binary_z_exactly_on_the_futility_bound_stops():
    # Equal rates: the pooled z is exactly 0, the futility bound 0; rpact's getSimulationRates stops
    # there (testStatistic <= futilityBounds), and so do we; one more experimental responder continues.
    assert decide(Z_POOLED, 30, 100, 30, 100, 0.0, 1.96, -np.inf, 0.0, -np.inf, NO_ROW, NO_ROW, NO_ROW, NO_FLOOR) == STOP_FUTILITY
    assert decide(Z_POOLED, 30, 100, 31, 100, 0.0, 1.96, -np.inf, 0.0, -np.inf, NO_ROW, NO_ROW, NO_ROW, NO_FLOOR) == CONTINUE


def test_fisher_futility_counts_are_the_comparison_on_the_p_value_scale():
    # Futility when the one-sided p-value is at least sf(a), i.e. its z equivalent
    # isf(p) is at or below a: the same rule as decide_z. The plan's tables (_fisher_tables).
    nc, ne, a = 40, 45, 0.3
    level = float(stats.norm.sf(a))
    fav, unf = fisher_thresholds(nc, ne, 0.025, 1)
    fut = fisher_thresholds(nc, ne, _futility_level(a), 1)[0] - 1
    floor = np.full(fut.shape, -1, dtype=np.int64)
    futile = 0
    for xc in range(nc + 1):
        for xe in range(ne + 1):
            outcome = decide(FISHER, xc, nc, xe, ne, 0.0, np.nan, np.nan, np.nan, np.nan, fav, unf, fut, floor)
            p = fisher_pvalue(xc, nc, xe, ne, 1)
            assert (outcome == REJECT_FAVOURABLE) == (p <= 0.025), (xc, xe, p)
            assert (outcome == STOP_FUTILITY) == (p >= level), (xc, xe, p)
            futile += outcome == STOP_FUTILITY
    assert 100 < futile < (nc + 1) * (ne + 1) - 100


def test_survival_z_exactly_on_the_futility_bound_stops():
    # No events ever: the first look is analysed at the last entry with z = 0
    # and the trial stops there (events ran out); at a futility bound of
    # exactly 0 that is a futility stop (z <= a_k, rpact's rule), just below 0 it is not.
    kwargs = dict(accrual=UNIFORM_24, control=([0.0], [0.0]), hazard_ratio=0.7, look_events=[5, 10],
                  efficacy=[2.8, 1.98], futility=[0.0, -np.inf], rng=np.random.default_rng(1))
    res = simulate_trials(4, 10, 10, **kwargs)
    assert np.all(res.z == 0.0) and res.events_short.all() and np.all(res.stop_look == 0)
    assert np.all(res.decision == STOP_FUTILITY)
    below = simulate_trials(4, 10, 10, **{**kwargs, "futility": [np.nextafter(0.0, -1.0), -np.inf]})
    assert np.all(below.decision == CONTINUE)


def test_joint_z_exactly_on_the_futility_bound_stops():
    kwargs = dict(accrual=UNIFORM_24, control=([0.0], [0.0]), hazard_ratio=0.7, cholesky=np.eye(2),
                  thresholds=np.zeros((4, 1, 2)), delays=[1.0], look_events=[5, 10], efficacy=[2.8, 1.98])
    on = simulate_calendar(np.random.default_rng(1), 10, 10, futility=[0.0, -np.inf], **kwargs)
    assert np.all(on.z[:, 0] == 0.0) and np.all(on.last_look == 0)
    assert np.all(on.decision == STOP_FUTILITY) and np.all(on.stop_look == 0)
    below = simulate_calendar(np.random.default_rng(1), 10, 10, futility=[np.nextafter(0.0, -1.0), -np.inf], **kwargs)
    assert np.all(below.decision == CONTINUE)


# ---------------------------------------------------------------- one model
SURVIVAL = dict(accrual=UNIFORM_24, control=MEDIAN_24, dropout=(0.01, 0.02), look_events=[60, 120])


def test_joint_engine_with_only_a_survival_endpoint_has_the_survival_engines_marginals():
    # No binary endpoint (a 1 x 1 copula): the joint engine's survival
    # endpoint must have the survival engine's operating characteristics.
    # Their streams differ (latent normal vs direct exponential), so the
    # comparison is statistical: 4 MCSE of the difference of two estimates.
    n = 20_000
    bounds = dict(efficacy=[2.8, 1.98], futility=[0.0, -np.inf])
    alone = simulate_trials(n, 120, 120, hazard_ratio=0.6, rng=np.random.default_rng(11), **SURVIVAL, **bounds)
    joint = simulate_calendar(np.random.default_rng(12), 120, 120, hazard_ratio=0.6, cholesky=np.eye(1),
                              thresholds=np.zeros((n, 0, 2)), delays=[], **SURVIVAL, **bounds)
    for code in (REJECT_FAVOURABLE, STOP_FUTILITY):
        p1, p2 = np.mean(alone.decision == code), np.mean(joint.decision == code)
        p = (p1 + p2) / 2
        assert abs(p1 - p2) <= 4 * math.sqrt(2 * p * (1 - p) / n), (code, p1, p2)
    for k in range(2):
        # The survival engine leaves a look its trial never reached at NaN; the joint engine analyses every look
        # (binary endpoints read them all): compare the trials that reached look k in both.
        a, b = alone.look_times[:, k], joint.look_times[joint.stop_look >= k, k]
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        assert abs(a.mean() - b.mean()) <= 4 * math.sqrt(a.var() / a.size + b.var() / b.size)
    first_alone = alone.z_looks[:, 0]
    assert abs(first_alone.mean() - joint.z[:, 0].mean()) <= 4 * math.sqrt(2 / n)


def test_joint_engine_decides_where_its_z_says():
    n = 2000
    bounds = dict(efficacy=[2.8, 1.98], futility=[0.0, -np.inf])
    out = simulate_calendar(np.random.default_rng(4), 120, 120, hazard_ratio=0.7, cholesky=np.eye(1),
                            thresholds=np.zeros((n, 0, 2)), delays=[], **SURVIVAL, **bounds)
    rows = np.arange(n)
    z = out.z[rows, out.stop_look]
    assert np.all(z[out.decision == REJECT_FAVOURABLE] >= np.array([2.8, 1.98])[out.stop_look[out.decision == 1]])
    assert np.all(z[out.decision == STOP_FUTILITY] < 0.0) and np.all(out.stop_look[out.decision == 2] == 0)
    continued = out.decision == CONTINUE
    assert np.all(out.stop_look[continued] == out.last_look[continued])


def test_events_run_out_the_same_way_in_both_engines():
    # Heavy dropout: the second look's 150 events are never reached.
    kwargs = dict(accrual=UNIFORM_24, control=([0.0], [0.01]), hazard_ratio=1.0, dropout=(0.1, 0.1),
                  look_events=[5, 150], efficacy=[np.inf, np.inf])
    alone = simulate_trials(50, 100, 100, rng=np.random.default_rng(2), **kwargs)
    joint = simulate_calendar(np.random.default_rng(2), 100, 100, cholesky=np.eye(1), thresholds=np.zeros((50, 0, 2)),
                              delays=[], **kwargs)
    assert alone.events_short.all() and np.all(joint.last_look == 1) and joint.short[:, 1].all()
    for res, events, times in ((alone, alone.events, alone.look_times[:, 1]),
                               (joint, joint.events[:, 1], joint.look_times[:, 1])):
        assert np.all(events < 150) and np.all(times >= res.look_times[:, 0])


# ---------------------------------------------------------------- kernels
def test_stream_a_is_sorted_by_exit_with_ties_and_infinite_exits():
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.integers(1, 300))
        entry = np.sort(np.round(rng.uniform(0, 20, n)))
        exit_time = np.round(rng.exponential(10.0, n)) if trial % 2 else rng.exponential(10.0, n)
        exit_time[rng.random(n) < 0.05] = np.inf
        pts = shared.Patients(entry, 2 * rng.integers(0, 2, n), exit_time, rng.random(n) < 0.8, np.zeros(4, dtype=np.uint64))
        work = shared.workspace(n, 1)
        final_cut = np.inf if trial % 3 == 0 else float(rng.uniform(0, 40))
        n_a = shared.prepare_cuts(pts, final_cut, work)
        selected = entry + exit_time <= final_cut
        assert n_a == selected.sum()
        np.testing.assert_array_equal(work.exit_y[:n_a], np.sort(exit_time[selected]))
        # The same patients, each once: (exit, calendar, event, arm) as a multiset.
        mine = sorted(zip(work.exit_y[:n_a], work.cal_y[:n_a], work.event_y[:n_a], work.group_y[:n_a]))
        theirs = sorted(zip(exit_time[selected], (entry + exit_time)[selected], pts.is_event[selected],
                            (pts.label >= 2)[selected].astype(np.int64)))
        assert mine == theirs
        np.testing.assert_array_equal(work.cum_e[1 : n + 1], np.cumsum(pts.label >= 2))


def test_cut_selection_is_the_order_statistic():
    rng = np.random.default_rng(8)
    for _ in range(200):
        m = int(rng.integers(1, 400))
        calendar = np.round(rng.uniform(0, 50, m), int(rng.integers(0, 3)))  # ties at times
        looks = np.unique(rng.integers(1, m + 30, int(rng.integers(1, 5))))
        work = shared.workspace(max(m, 1), looks.size)
        work.calendar[:m] = calendar
        reachable = shared.select_cuts(m, 99.0, looks, work)
        assert reachable == np.sum(looks <= m)
        ordered = np.sort(calendar)
        for k in range(reachable):
            assert work.cuts[k] == ordered[looks[k] - 1]
            assert work.at_cuts[k] == np.sum(calendar <= ordered[looks[k] - 1])
        assert np.all(work.cuts[reachable:] == ordered[-1]) and np.all(work.at_cuts[reachable:] == m)


def test_no_events_cut_is_the_last_entry():
    work = shared.workspace(5, 2)
    assert shared.select_cuts(0, 17.5, np.array([1, 2]), work) == 0
    assert work.cuts.tolist() == [17.5, 17.5] and work.at_cuts.tolist() == [0, 0]


def test_same_generator_same_patients_in_every_consumer():
    # The side sample of the KM bands and the survival engine draw the same
    # patients from the same generator state.
    design = shared.survival_design(30, 40, accrual=UNIFORM_24, control=MEDIAN_24, dropout=(0.01, 0.0),
                                    look_events=np.array([40]))
    one, two = shared.patients(70), shared.patients(70)
    calendar = np.empty(70)
    shared.draw_patients(np.random.default_rng(5), design, 1.0, 0.7, one, calendar)
    time = np.empty((1, 70))
    event = np.empty((1, 70), dtype=bool)
    cut = np.empty(1)
    shared.final_analysis_sample(np.random.default_rng(5), design, 1.0, 0.7, two, shared.workspace(70, 1), time,
                                 event, cut)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change, message", [
    (dict(n_c=0), "each arm must have >= 1 subject"),
    (dict(missing=(31, 0)), "`missing` must be per-arm counts"),
    (dict(dropout=(-1.0, 0.0)), "`dropout` hazards must be finite and >= 0"),
    (dict(look_events=[3, 2]), "`look_events` must be strictly increasing integers >= 1"),
])
def test_survival_design_messages(change, message):
    from simulator.errors import InputError

    kwargs = dict(n_c=30, n_e=30, accrual=UNIFORM_24, control=MEDIAN_24, look_events=[10])
    kwargs.update(change)
    n_c, n_e = kwargs.pop("n_c"), kwargs.pop("n_e")
    with pytest.raises(InputError, match=message):
        shared.survival_design(n_c, n_e, **kwargs)


@pytest.mark.parametrize("shape", ["exponential", "piecewise_with_dropout"])
def test_entry_time_is_independent_of_arm_and_survival_time(shape):
    # Entries are drawn sorted (uniform order statistics) and the arms shuffled over them, exits
    # drawn per patient: no rank correlation between a patient's entry and its survival time or
    # arm may result. Spearman's rho within each trial (about N(0, 1/(n - 1)) under independence),
    # averaged over 2000 trials of 300 patients; 4 standard errors of that mean (from the trials).
    if shape == "exponential":
        design = shared.survival_design(150, 150, accrual=UNIFORM_24, control=MEDIAN_24, look_events=np.array([100]))
    else:
        design = shared.survival_design(150, 150, accrual=([0.0, 6.0, 24.0], [1.0, 3.0]),
                                        control=([0.0, 6.0], [0.05, 0.02]), dropout=(0.01, 0.02),
                                        look_events=np.array([100]))
    pts, calendar = shared.patients(300), np.empty(300)
    rng = np.random.default_rng(2024)
    with_exit, with_arm = [], []
    for _ in range(2000):
        shared.draw_patients(rng, design, 1.0, 0.7, pts, calendar)
        assert np.all(np.diff(pts.entry) >= 0)
        with_exit.append(stats.spearmanr(pts.entry, pts.exit_time)[0])
        with_arm.append(stats.spearmanr(pts.entry, pts.label >= 2)[0])
    for rho in (np.array(with_exit), np.array(with_arm)):
        se = rho.std(ddof=1) / math.sqrt(rho.size)
        assert abs(rho.mean()) <= 4 * se, (rho.mean(), se)
        assert rho.std(ddof=1) == pytest.approx(1 / math.sqrt(299), rel=0.1)  # the null spread: not degenerate


def test_looks_after_the_events_ran_out_repeat_the_last_ones_counts_and_sums():
    # The joint engine copies every binary count and continuous sum (with a covariate's moments) of the last
    # look analysed into the looks never reached: the third look here, after the events ran out at the second.
    kwargs = dict(accrual=UNIFORM_24, control=([0.0], [0.01]), hazard_ratio=1.0, dropout=(0.1, 0.1),
                  look_events=[5, 150, 160], efficacy=[np.inf, np.inf, np.inf])
    n = 40
    chol = np.linalg.cholesky(np.array([[1.0, 0.3, 0.2], [0.3, 1.0, -0.4], [0.2, -0.4, 1.0]]))
    continuous = (np.zeros((1, 1, 2)), np.ones((1, 1, 2)), np.array([1.0]), np.array([1.0]))
    joint = simulate_calendar(np.random.default_rng(4), 100, 100, cholesky=chol, thresholds=np.zeros((n, 1, 2)),
                              delays=[1.0], continuous=continuous, **kwargs)
    assert np.all(joint.last_look == 1) and joint.short[:, 2].all()
    for array in (joint.x_c, joint.x_e, joint.n_c, joint.n_e, *joint.continuous):
        np.testing.assert_array_equal(array[:, :, 2], array[:, :, 1])
    # The sums are real ones, covariate moments included.
    assert np.all(joint.n_c[0, :, 1] > 0) and np.all(joint.continuous.sxx_c[0, :, 1] > 0)
