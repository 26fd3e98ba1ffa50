"""Survival looks at calendar times, a maximum duration, and bounds at the events reached.

What a survival endpoint does when its looks are not all at planned event
counts: looks at calendar times (``design.look_times``, months from the
first patient in) and a cap on the trial's duration (``design.max_duration``:
the trial ends at its final look or at the cap, whichever comes first). The
kernel places the looks (:func:`simulator.engine.patients.schedule_cuts`);
this module gives the bounds, the decisions, the report counts and the
analytic expectation.

Bounds at the events reached
----------------------------
At an interim the final analysis's events are not yet known, so interim
bounds spend alpha at the events at the look over the planned maximum
events ``D`` (``design.events``), ``s_k = d_k / D``, and the final analysis
(the last look a trial reaches: its final look, or the look the cap ended)
spends all the alpha that is left; the joint law of the looks' z statistics
is that of the information fractions ``d_k / d_final``
(:func:`simulator.design.boundaries.spending_bounds`). An interim that adds
no events over the previous look (to ``1 / FRACTION_GRID``), or whose
events reach ``D`` or the final look's, is not tested. Trials are grouped by
their rounded fractions and each group is decided with its own bounds
(:func:`simulator.endpoints.common.decide_groups`, which the joint engine's
binary endpoints at calendar looks use too), cached per plan.

A design with one look has the fixed design's bound at any number of events,
so only group-sequential designs need this; a trial that reaches every
planned event count before the cap has exactly the planned bounds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from simulator.config.schema import Config
from simulator.design import survival as analytic_survival
from simulator.design.allocation import round_half_up
from simulator.design.boundaries import REACHED_FRACTION_CODES, spending_bounds
from simulator.design.spending import get_spending_function
from simulator.endpoints.common import Bounds, add_note, decide_groups, design_bounds
from simulator.engine.continuous import sequential_decisions
from simulator.errors import InputError
from simulator.estimate import mean_from_sums
from simulator.stats import distributions as dist
from simulator.stats.decision import z_bounds

#: Fractions of the planned maximum events are rounded to 1 / grid for the
#: per-trial bounds (two looks), or 1 / coarse grid (three or more), as the
#: joint engine's binary endpoints at calendar looks.
FRACTION_GRID = 1000
COARSE_FRACTION_GRID = 200

#: Bins of the events at each look: at most this many, of whole events
#: (one event wide up to 999 subjects).
EVENT_BINS = 1000


def reaches_fractions(config: Config) -> bool:
    """Whether the looks can come at other fractions than planned: calendar looks or a cap."""
    return bool(config.design.look_times) or config.design.max_duration is not None


def reference_ratio(endpoint) -> float:
    """The hazard ratio at which planned events are computed: the truth's, else the prior median's, else 1."""
    if endpoint.truth.hazard_ratio is not None:
        return float(endpoint.truth.hazard_ratio)
    if endpoint.prior is not None:
        return float(math.exp(endpoint.prior.hazard_ratio.log_mean))
    return 1.0


def expected_events_at(model: dict, n_total: float, times) -> np.ndarray:
    """Expected events by each calendar time (:func:`simulator.design.survival.expected_events`)."""
    times = np.asarray(times, dtype=float)
    return np.asarray(
        analytic_survival.expected_events(times, n_total, **model), dtype=float
    )


def calendar_events(config: Config, model: dict) -> np.ndarray:
    """Planned events at the calendar looks (expected at the reference hazard ratio, rounded half up)."""
    times = config.design.look_times
    expected = expected_events_at(model, config.trial.n_total, times)
    events = np.array([round_half_up(e) for e in expected], dtype=np.int64)
    if events[0] < 1 or np.any(np.diff(events) <= 0):
        raise InputError(
            f"config key `design.look_times`: the looks at {list(times)} months expect "
            f"{[round(float(e), 1) for e in expected]} events (at hazard ratio {model['hazard_ratio']:g}); each look "
            "needs at least one event more than the previous one: move the looks apart or later"
        )
    return events


def check_design(config: Config, n_looks: int) -> None:
    """What calendar looks and a cap need of a group-sequential design (messages name the key)."""
    design = config.design
    if n_looks < 2 or not reaches_fractions(config):
        return
    if design.efficacy not in REACHED_FRACTION_CODES:
        raise InputError(
            "config key `design.efficacy`: with design.look_times or design.max_duration the bounds are "
            "recomputed at the events each trial reaches, which needs an alpha-spending family "
            f"({', '.join(REACHED_FRACTION_CODES)}), got {design.efficacy!r}"
        )
    if isinstance(design.futility, str) and design.futility != "none":
        raise InputError(
            "config key `design.futility`: with design.look_times or design.max_duration futility must be "
            f"\"none\" or z values per interim (beta spending needs the planned fractions), got {design.futility!r}"
        )


def check_cap(config: Config, time_for: Callable[[float], float], first_events: int, hazard_ratio: float) -> None:
    """A cap before the first look is expected (event-driven looks) cannot be meant: name the key.

    ``time_for(events)``: when the events are expected (InputError if never) at ``hazard_ratio``.
    """
    cap = config.design.max_duration
    if cap is None or config.design.look_times:
        return
    try:
        first = float(time_for(float(first_events)))
    except InputError:
        return  # the first look's events are out of reach on average: the cap ends every trial
    if cap < first:
        raise InputError(
            f"config key `design.max_duration`: {cap:g} months is before the first look, whose {int(first_events)} "
            f"events are expected at {first:.1f} months (at hazard ratio {hazard_ratio:g}); give a later "
            "cap or an earlier first look"
        )


def planned_bounds(config: Config, spent, information, alpha: float) -> Bounds:
    """Bounds spending alpha at ``spent`` (interims) and all of it at the last look, at ``information``.

    The planned (analytic) design of calendar looks and of a capped trial:
    the user-given-spending design (``asUser``) with the family's
    cumulative alpha at the spent fractions, so that its operating
    characteristics come from the usual recursion.
    """
    design = config.design
    spent = np.asarray(spent, dtype=float)
    if np.any(spent[:-1] >= 1.0):
        raise InputError(
            "config key `design.look_times`: an interim expects the planned maximum events design.events "
            f"already (events over design.events {np.round(spent, 3).tolist()}); give a larger design.events or "
            "earlier looks"
        )
    spent = np.minimum(spent, 1.0)
    cumulative = get_spending_function(design.efficacy).cumulative(spent, alpha, design.efficacy_param, design.sided)
    cumulative = np.maximum.accumulate(np.asarray(cumulative, dtype=float))
    cumulative[-1] = alpha
    user = dataclasses.replace(design, efficacy="asUser", efficacy_param=tuple(float(a) for a in cumulative))
    return design_bounds(dataclasses.replace(config, design=user), tuple(float(v) for v in information), alpha)


# ---------------------------------------------------------------- decisions
def look_codes(events: np.ndarray, last_look: np.ndarray, max_events: float) -> tuple[np.ndarray, int]:
    """Per trial and look, ``d_k / D`` rounded to ``1 / grid``, -1 for a look not tested; and the grid.

    The last look a trial reaches is always tested (its code may exceed the
    grid: more events than planned); an interim is tested when it adds
    events over the previous tested look and stays below both the grid and
    the final look's code. A final look without events is not tested.
    """
    n_sims, n_looks = events.shape
    grid = FRACTION_GRID if n_looks <= 2 else COARSE_FRACTION_GRID
    looks = np.arange(n_looks)[None, :]
    code = np.rint(events / float(max_events) * grid).astype(np.int64)
    final = code[np.arange(n_sims), last_look]
    code = np.where(looks <= last_look[:, None], code, -1)
    previous = np.zeros(n_sims, dtype=np.int64)
    for k in range(n_looks):
        is_final = last_look == k
        interim = (k < last_look) & (code[:, k] > previous) & (code[:, k] < np.minimum(final, grid))
        keep = interim | (is_final & (final > 0))
        code[:, k] = np.where(keep, code[:, k], -1)
        previous = np.where(interim, code[:, k], previous)
    return code, grid


def decide_reached(plan, z: np.ndarray, events: np.ndarray, last_look: np.ndarray, bounds_cache: dict):
    """``(stop_look, decision)`` of every trial with bounds at its own events (module docstring).

    ``z`` and ``events`` are per trial and look (every look up to
    ``last_look`` analysed); a trial stops at the first tested look that
    decides, else at its last look.
    """
    config = plan.config
    design = config.design
    max_events = float(design.events if design.events is not None else plan.looks.events[-1])
    code, grid = look_codes(events, last_look, max_events)
    futility = _interim_futility(config, events.shape[1])

    def decide(rows, looks, codes):
        key = (plan.alpha, grid, codes, tuple(looks.tolist()))
        bounds = bounds_cache.get(key)
        if bounds is None:
            spent = np.array(codes, dtype=float) / grid
            # The information in grid units (fixed whatever the last look): trials sharing their interims
            # share the recursion up to the last one (the bounds do not depend on the units).
            information = np.array(codes, dtype=float)
            fut = futility[looks]
            efficacy = spending_bounds(
                spent, information, plan.alpha, design.sided, design.efficacy, design.efficacy_param,
                futility=fut, binding=design.binding, two_sided_futility=design.two_sided_futility,
                prefix_cache=bounds_cache, prefix_key=("prefix", plan.alpha, grid, codes[:-1], tuple(looks[:-1].tolist())),
            ) if len(codes) > 1 else np.array([_fixed_bound(plan.alpha, design.sided)])
            bounds = z_bounds(efficacy, fut, design.sided, design.sided == 2 and design.two_sided_futility == "inner")
            bounds_cache[key] = bounds
        m = looks.size
        local_stop = np.empty(rows.size, dtype=np.int64)
        local_decision = np.empty(rows.size, dtype=np.int8)
        sequential_decisions(
            np.ascontiguousarray(z[np.ix_(rows, looks)]), bounds.efficacy.reshape(1, m),
            bounds.unfavourable.reshape(1, m), bounds.futility.reshape(1, m), bounds.futility_floor.reshape(1, m),
            local_stop, local_decision,
        )
        return local_stop, local_decision

    return decide_groups(code, last_look, decide)


def _fixed_bound(alpha: float, sided: int) -> float:
    return float(dist.norm.isf(alpha / sided))


def _interim_futility(config: Config, n_looks: int) -> np.ndarray:
    """Fixed z futility bounds per look (``-inf`` for none and at the last look)."""
    futility = config.design.futility
    out = np.full(n_looks, -np.inf)
    if isinstance(futility, tuple):
        out[: len(futility)] = futility[: n_looks - 1]
    return out


# ---------------------------------------------------------------- report counts
def event_edges(n_total: int) -> np.ndarray:
    """Bins of whole events from 0 to ``n_total``: at most :data:`EVENT_BINS`, centred on whole numbers."""
    width = max(1, math.ceil((n_total + 1) / EVENT_BINS))
    return np.arange(0, n_total + width + 1, width, dtype=float) - 0.5


def look_counts(trials, n_total: int) -> dict:
    """Summable counts of the events at each look reached and of the trials the cap ended."""
    n_sims, n_looks = trials.look_times.shape
    reached = ~np.isnan(trials.look_times)
    events = np.where(reached, trials.events_looks, 0).astype(np.float64)
    edges = event_edges(n_total)
    hist = np.zeros((n_looks, edges.size - 1), dtype=np.int64)
    for k in range(n_looks):
        hist[k] = np.histogram(trials.events_looks[reached[:, k], k], bins=edges)[0]
    capped = trials.capped & (trials.stop_look == trials.last_look) if trials.capped is not None else np.zeros(n_sims, bool)
    return {
        "look_events_sum": events.sum(axis=0),
        "look_events_sq": (events**2).sum(axis=0),
        "look_events_hist": hist,
        "cap_reached": np.array([int(capped.sum())], dtype=np.int64),
    }


def look_report(counts: dict, n_total: int, n: int) -> dict:
    """Report fields from :func:`look_counts`: per-look events (mean, MCSE, histogram), cap_reached."""
    if "look_events_sum" not in counts:
        return {}
    reached = np.asarray(counts["look_reached"], dtype=float)
    total = np.asarray(counts["look_events_sum"], dtype=float)
    squares = np.asarray(counts["look_events_sq"], dtype=float)
    looks = [mean_from_sums(float(s), float(q), int(r)) if r else (None, None)
             for s, q, r in zip(total, squares, reached)]
    means, mcses = [m for m, _ in looks], [e for _, e in looks]
    return {
        "expected_look_events": means,
        "expected_look_events_mcse": mcses,
        "look_events_histogram": {
            "edges": event_edges(n_total).tolist(),
            "counts": np.asarray(counts["look_events_hist"]).tolist(),
        },
        "cap_reached": float(counts["cap_reached"][0] / n),
        "cap_reached_mcse": _proportion_mcse(float(counts["cap_reached"][0] / n), n),
    }


def _proportion_mcse(p: float, n: int) -> float:
    return math.sqrt(p * (1.0 - p) / n) if n > 0 else 0.0


# ---------------------------------------------------------------- analytic
#: Gauss-Hermite nodes over the events at the cap (analytic power of a capped design).
CAP_NODES = 32


def analytic(plan, config: Config, hazard_ratio: float) -> dict:
    """Expected events and times of the looks, and the power from them (the analytic expectation).

    Calendar looks: the expected events ``e_k`` at each time, and the power
    of the design that spends alpha at ``d_k / D`` (``D`` = design.events,
    ``d_k`` = ``e_k`` rounded half up: the planned looks, whose bounds the
    report gives) and all of it at the last look, with information
    fractions ``d_k / d_last`` and drift ``sqrt(r d_last) / (1 + r) log(margin / HR)``
    (Schoenfeld). The subjects for ``design.power`` solve with the unrounded
    ``e_k`` (continuous in the subjects). Event-driven looks with a cap: the events at the cap are
    random, approximately normal with mean ``n p`` and variance
    ``n p (1 - p)`` (``p`` the event fraction at the cap); for each value
    the looks whose targets come first keep them and the next look is at the
    cap with those events (the last); power, the expected events per look
    and at the stopping analysis (``expected_events_h1``) average over that
    distribution (Gauss-Hermite), and ``cap_probability`` is the
    chance that the cap comes before the final look's events.
    """
    design = config.design
    model = plan.model(hazard_ratio)
    n_total = float(config.trial.n_total)
    cap = design.max_duration
    if design.look_times:
        times = np.array(design.look_times, dtype=float)
        if cap is not None:
            times = np.minimum(times, cap)
        events = expected_events_at(model, n_total, times)
        out = {"expected_events_per_look": events.tolist(), "expected_analysis_times": times.tolist()}
        # Where the interims spend alpha (their planned events over design.events; the last look spends what
        # is left): not the information fractions, which are over the last look's events.
        planned = plan.looks.events.astype(float)
        out["spending_fractions"] = [*(planned[:-1] / float(design.events)).tolist(), 1.0]
        # The power of the planned looks at whole events (rounded half up, as calendar_events plans them): the
        # design whose bounds, alpha spent and expected events the block reports beside it.
        out.update(_power(plan, config, np.array([round_half_up(e) for e in events], dtype=float), hazard_ratio))
        if not plan.endpoint.accrual.is_rate:
            out.update(_calendar_subjects(plan, config, model, times, hazard_ratio))
            # At or above the size found, the power is below design.power only through whole events.
            if n_total >= out.get("subjects_for_calendar_looks", math.inf) and out["power"] < design.power:
                add_note(out, f"the power at n_total reads each look at its whole expected events (rounded half "
                              f"up), so it can fall a little below design.power = {design.power:g} near the size; "
                              "subjects_for_calendar_looks solves design.power with the unrounded expected events "
                              "(docs/methods.md)")
        return out
    targets = plan.looks.events.astype(float)
    ceiling = float(expected_events_at(model, n_total, [np.inf])[0])
    times = np.array([
        float(analytic_survival.time_for_events(t, n_total, **model)) if t < ceiling else np.inf
        for t in targets
    ])
    if cap is None:
        out = {"expected_events_per_look": targets.tolist(), "expected_analysis_times": times.tolist()}
        out.update(_power(plan, config, targets, hazard_ratio))
        return out
    mean, sd = _events_by(model, n_total, cap)
    nodes, weights = np.polynomial.hermite_e.hermegauss(CAP_NODES)
    weights = weights / weights.sum()
    K = targets.size
    power = 0.0
    reject, futility = np.zeros(K), np.zeros(K)
    events_sum, reached = np.zeros(K), np.zeros(K)
    at_stop = 0.0  # the expected events at the stopping analysis (expected_events_h1), capped
    for x, w in zip(np.clip(mean + sd * nodes, 0.0, n_total), weights):
        # The events are whole: a look's target t is reached by the cap when X >= t, i.e. (continuity
        # correction) when the normal value exceeds t - 0.5.
        looks = [t for t in targets if t <= x + 0.5]
        if len(looks) < K:
            looks.append(x)
        looks = np.array(looks)
        m = looks.size
        events_sum[:m] += w * looks
        reached[:m] += w
        result = _power(plan, config, looks, hazard_ratio)
        power += w * result["power"]
        reject[:m] += w * np.asarray(result["reject_per_look"])
        futility[:m] += w * np.asarray(result["futility_per_look"])
        stops = (np.asarray(result["reject_per_look"]) + np.asarray(result["futility_per_look"]))[:-1]
        at_stop += w * (float(stops @ looks[:-1]) + (1.0 - float(stops.sum())) * float(looks[-1]))
    return {
        "expected_events_per_look": (events_sum / np.where(reached > 0, reached, 1.0)).tolist(),
        "expected_analysis_times": _capped_times(model, n_total, targets, cap),
        # P(X < D) = P(X <= D - 1) for whole events X, with the continuity correction.
        "cap_probability": float(_normal_cdf((targets[-1] - 0.5 - mean) / sd)) if sd > 0 else float(mean < targets[-1]),
        "power": float(power),
        "reject_per_look": reject.tolist(),
        "futility_per_look": futility.tolist(),
        "expected_events_h1": float(at_stop),
    }


def _events_by(model: dict, n_total: float, time: float) -> tuple[float, float]:
    """Mean and sd of the events by calendar ``time``, taken as binomial: ``N p`` and ``sqrt(N p (1 - p))``."""
    fraction = min(max(float(expected_events_at(model, 1.0, [time])[0]), 0.0), 1.0)  # rounding: [0, 1]
    return n_total * fraction, math.sqrt(n_total * fraction * (1.0 - fraction))


def _capped_times(model: dict, n_total: float, targets: np.ndarray, cap: float) -> list:
    """Expected time of each look among the trials that reach it, under a cap, in the events model of :func:`analytic`.

    Look k is at ``min(T_k, cap)``, ``T_k`` the time of its ``d_k``-th
    event, and is reached when the earlier target came by the cap. Since
    ``T_k <= t <= cap`` implies that,
    ``E[min(T_k, cap) | reached] = cap - int_0^cap P(T_k <= t) dt / P(T_(k-1) <= cap)``,
    with ``P(T_k <= t) = P(events by t >= d_k)`` from the same normal model
    with the continuity correction as the events at the cap (the
    denominator too: a code review found the Gauss-Hermite weights of the
    events' average 5.7 MCSE off there). A review found the times not
    averaged where the events were: 25.35 months (the final target's
    expected time, just before a cap at 25.5) against 25.006 ± 0.002 simulated.
    """
    from scipy.integrate import quad

    def by(t: float, target: float) -> float:
        mean, sd = _events_by(model, n_total, t)
        return _normal_cdf((mean - target + 0.5) / sd) if sd > 0 else float(mean >= target - 0.5)

    out = []
    for k, target in enumerate(targets):
        chance = 1.0 if k == 0 else by(cap, float(targets[k - 1]))
        if chance <= 0.0:
            out.append(cap)
            continue
        area = quad(by, 0.0, cap, args=(float(target),), limit=200, epsabs=1e-10, epsrel=1e-10)[0]
        out.append(float(min(max(cap - area / chance, 0.0), cap)))
    return out


def _calendar_subjects(plan, config: Config, model: dict, times, hazard_ratio: float) -> dict:
    """Subjects whose expected events at the calendar looks give ``design.power`` (``n_total_rounded``).

    The accrual keeps its shape and duration; the expected events at each
    look grow in proportion to the subjects, and the power with them. Empty
    when no number of subjects up to MAX_N_TOTAL reaches the target.
    """
    from scipy.optimize import brentq

    from simulator.design.allocation import round_up_per_arm, total_for_arms
    from simulator.endpoints.common import MAX_N_TOTAL

    target = config.design.power
    if not hazard_ratio < plan.margin:
        return {}

    def gap(n):
        events = expected_events_at(model, n, times)
        return _power(plan, config, events, hazard_ratio)["power"] - target

    low, high = 2.0, float(max(config.trial.n_total, 2))
    while gap(high) < 0:
        low, high = high, high * 2.0
        if high > MAX_N_TOTAL:
            return {}
    if gap(low) >= 0:
        subjects = low
    else:
        subjects = brentq(gap, low, high, xtol=1e-6, rtol=1e-10)
    total, _ = total_for_arms(round_up_per_arm(subjects, config.trial.allocation), config.trial.allocation)
    return {"subjects_for_calendar_looks": float(subjects), "n_total_rounded": int(total)}


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _power(plan, config: Config, events: np.ndarray, hazard_ratio: float) -> dict:
    """Power of looks at these events (the last one final), per-look rejection and futility probabilities.

    Interims with no events, or with as many as the planned maximum or the
    final look, are not tested (as in the simulation: :func:`look_codes`).
    """
    events = np.asarray(events, dtype=float)
    K = events.size
    control, experimental = config.trial.allocation
    r = experimental / control
    design = config.design
    max_events = float(design.events if design.events is not None else plan.looks.events[-1])
    # The mean of the final z: positive when the hazard ratio is below the null's (the margin, 1 for superiority).
    drift = math.sqrt(r * events[-1]) / (1.0 + r) * math.log(plan.margin / hazard_ratio)
    reject, futility = np.zeros(K), np.zeros(K)
    keep = [k for k in range(K - 1) if 0 < events[k] < min(max_events, events[-1])] + [K - 1]
    if len(keep) == 1:
        reject[-1] = float(dist.norm.sf(_fixed_bound(plan.alpha, plan.sided) - drift))
        return {"power": float(reject[-1]), "reject_per_look": reject.tolist(), "futility_per_look": futility.tolist()}
    full = dataclasses.replace(config, design=dataclasses.replace(design, futility=_kept_futility(design, keep, K)))
    bounds = planned_bounds(full, events[keep] / max_events, events[keep] / events[-1], plan.alpha)
    probs = bounds.sequential.probabilities(drift)
    reject[keep] = np.asarray(probs.reject_upper)
    futility[keep] = np.asarray(probs.futility)
    return {"power": float(probs.power), "reject_per_look": reject.tolist(), "futility_per_look": futility.tolist()}


def _kept_futility(design, keep: list, n_looks: int):
    """``design.futility`` for the looks kept (z values of the kept interims; a code as it is)."""
    if not isinstance(design.futility, tuple):
        return design.futility
    futility = np.full(n_looks, -np.inf)
    futility[: len(design.futility)] = design.futility[: n_looks - 1]
    return tuple(float(futility[k]) for k in keep[:-1])
