"""The one survival patient model: compiled kernels shared by every survival simulation.

The survival engine (:mod:`simulator.engine.survival`), the joint engine
(:mod:`simulator.engine.joint`) and the Kaplan-Meier side sample
(:mod:`simulator.endpoints.km`) all draw and analyse their patients with the
kernels of this module; nothing here is written twice elsewhere.

The model of one trial
----------------------
``N = n_c + n_e`` patients (exact counts per arm). Each trial seeds its own
random numbers from the ``Generator`` passed in (a chunk's) and draws the entries, arms
and, in the survival engine and the side sample, the exits from them
(:mod:`simulator.engine.bits`).

1. *Entries* (:func:`draw_entries`): ``N`` entry times, already sorted, as
   uniform order statistics (normalised cumulative exponential spacings)
   mapped through the inverse of the piecewise-linear accrual distribution.
   Arms (and, for the joint engine, which patients have no binary outcome)
   are a uniformly random arrangement of the exact per-arm labels over the
   entry order, by sequential sampling (:func:`draw_arms`,
   :func:`next_label`): randomisation with fixed arm sizes, independent of
   entry time and outcome. Patients are kept in entry order from then on.
2. *Exits by inverse hazard* (:func:`exit_from_pieces`): per patient, a unit
   exponential ``E`` (drawn directly by the survival engine and the side
   sample, ``E = -log(1 - Phi(Z_s))`` from the latent normal in the joint
   engine) gives the event time ``H^-1(E / theta)``, ``H`` the piecewise
   linear control cumulative hazard and ``theta`` the trial's control
   multiplier (times the hazard ratio in the experimental arm); dropout is
   an independent exponential time at the arm's dropout hazard; the exit is
   the earlier of the two, an event if it is the event time. A hazard of 0
   in the last piece can leave a patient without an exit (``inf``).
3. *Cut selection* (:func:`select_cuts`): look ``k`` is at the calendar time
   (entry + exit) of the ``look_events[k]``-th event, found by a bucket
   selection in expected linear time.
   Calendar looks (``look_times``) are at their times, with the events
   there are by then. A maximum duration (``cap``) ends the trial at
   whichever comes first: each look, or the cap (:func:`schedule_cuts`);
   the look analysed at the cap is the trial's last. A maximum follow-up
   per patient censors everyone still followed at that time from entry.

When the events run out
~~~~~~~~~~~~~~~~~~~~~~~
The one rule, for every engine: a look whose target number of events is
never reached (too much dropout, or a hazard of 0 in the last piece) is
analysed at the calendar time of the last event with all the events there
are, and the trial stops there whatever the outcome (``short``); with no
event at all the look is at the last entry, ``z = 0`` and the hazard-ratio
estimate is NaN.

The log-rank test at a data cut
-------------------------------
:func:`logrank_at_cut` is the only log-rank pass of the package. At a cut
``C`` every patient entered by ``C`` (``entry <= C``) leaves the risk set
either at its exit, if ``entry + exit <= C`` (stream A, in exit order), or
administratively at ``C - entry`` (stream B, in descending entry order).
Merging the two ordered streams gives the statistic in one linear pass per
look; subjects censored at an event time are still at risk at it (the usual
ties convention). The merge takes one subject at a time without a branch on
the data (:func:`_merged_pass`) and falls back to a pass that groups tied
times (:func:`_grouped_pass`) when an event time is shared: both give the
same sums in the same order. The order of stream A is set once per trial
(:func:`prepare_cuts`): the patients who exit by the last cut, sorted by
exit time with a bucket sort (expected linear time) and an insertion pass
(:func:`sort_exits`, which the stratified log-rank shares).

The score is ``U = E_e - O_e`` (expected minus observed experimental
events), its variance the Mantel-Haenszel hypergeometric variance with the
ties correction (:func:`logrank_terms`), ``z = U / sqrt(V)`` (0 when
``V = 0``): positive ``z`` is evidence for a hazard ratio below 1. The
hazard-ratio estimate is Pike's ``(O_e / E_e) / (O_c / E_c)``.

Arguments are grouped in named tuples: :class:`SurvivalDesign` (what every
trial of a scenario shares), :class:`Patients` (one trial's patients in
entry order), :class:`Workspace` (scratch) and :class:`LookResults` (per
trial and look outputs); decisions take
:class:`simulator.stats.decision.ZBounds`. The kernels a trial calls
allocate nothing and are compiled without reference counting
(``kernel(counted=False)``; the per-patient and per-event helpers
``leaf=True``; :mod:`simulator._jit`), each with its own setting: a kernel
without one is compiled as its first caller is, and a counted copy, from a
call from Python, cost the survival trial about 5 % (18.1 against 17.3 µs).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from simulator._jit import kernel
from simulator.engine.bits import exponential, load, seed_bits, store, uniform
from simulator.errors import InputError
from simulator.stats.decision import CONTINUE, decide_z
from simulator.stats.maxcombo import MAX_COMPONENTS, POINTS, max_p_value, norm_ppf

__all__ = [
    "LookResults",
    "Patients",
    "SurvivalDesign",
    "Workspace",
    "analyse_looks",
    "data_set_iv",
    "draw_arms",
    "draw_entries",
    "draw_patients",
    "exit_from_pieces",
    "exponential_means",
    "final_analysis_sample",
    "logrank_at_cut",
    "logrank_terms",
    "null_share",
    "look_results",
    "next_label",
    "patients",
    "prepare_cuts",
    "schedule_cuts",
    "select_cuts",
    "sort_exits",
    "stream_a",
    "survival_design",
    "workspace",
]

#: What every trial of one scenario shares. ``n_c``, ``n_e``: patients per
#: arm; ``evaluable_c``, ``evaluable_e``: those with a binary outcome (joint
#: engine; ``n_c``, ``n_e`` otherwise); accrual ``acc_edges`` and its
#: distribution function ``acc_cumulative`` at the edges (0 to 1); control
#: hazard pieces ``times`` (starts, first 0), ``hazards`` and the cumulative
#: hazard at each start ``cumulative``; dropout hazards; ``look_events``;
#: ``log_margin``: the log of the non-inferiority hazard-ratio margin (0 for
#: superiority), see :func:`analyse_looks`;
#: ``max_follow_up``: administrative censoring at this time from entry
#: (``inf``: none); ``look_times``: calendar looks (NaN per look when the looks
#: are event-driven, ``look_events`` 0 when they are calendar times);
#: ``cap``: the maximum duration (``inf``: none), see :func:`schedule_cuts`;
#: ``times_e``, ``hazards_e``, ``cumulative_e``: the experimental arm's hazard
#: pieces before its per-trial multiplier (the control pieces times a
#: piecewise hazard ratio, on the merged breakpoints; the control pieces
#: under proportional hazards); ``cure_c``, ``cure_e``: the cured (long-term
#: survivor) fraction per arm (:func:`exit_from_pieces`); ``weights``: the
#: Fleming-Harrington ``(rho, gamma)`` of each weighted statistic, shape
#: ``(m, 2)`` (``m = 0``: the log-rank; 1: FH; more: MaxCombo), see
#: :func:`analyse_looks`.
SurvivalDesign = namedtuple("SurvivalDesign", [
    "n_c", "n_e", "evaluable_c", "evaluable_e", "acc_edges", "acc_cumulative", "times", "hazards",
    "cumulative", "dropout_c", "dropout_e", "look_events", "log_margin",
    "max_follow_up", "look_times", "cap", "times_e", "hazards_e", "cumulative_e", "cure_c", "cure_e", "weights",
])

#: One trial's patients in entry order: ``entry`` (sorted), ``label`` (0
#: control, 1 control without a binary outcome, 2 experimental, 3
#: experimental without a binary outcome), ``exit_time`` (from entry; event
#: or dropout) and ``is_event``; ``bits``: the trial's random-number state
#: (four ``uint64``, :mod:`simulator.engine.bits`).
Patients = namedtuple("Patients", ["entry", "label", "exit_time", "is_event", "bits"])

#: Scratch arrays of one trial (see :func:`workspace`).
#: ``fh`` holds the weighted scores and their covariances of one look
#: (:func:`weighted_logrank_at_cut`), ``fh_corr``, ``fh_chol``, ``fh_y``,
#: ``fh_lead``, ``fh_index``, ``fh_limits`` and ``fh_sums`` the MaxCombo
#: scratch (:func:`weighted_z`); ``key_y`` the keys of the exits in exit
#: order (:func:`_order_keys`), ``key_a``, ``code_a``, ``time_b`` and
#: ``code_b`` one look's streams (:func:`_merged_pass`).
Workspace = namedtuple("Workspace", [
    "calendar", "bucket", "counts", "buffer", "cuts", "at_cuts", "keys", "index",
    "exit_y", "cal_y", "event_y", "group_y", "cal_e", "group_e", "cum_e", "fh", "fh_corr", "fh_chol", "fh_y",
    "fh_lead", "key_y", "key_a", "code_a", "time_b", "code_b", "level", "fh_index", "fh_limits", "fh_sums",
])

#: Per trial and look (``(n_sims, K)``): ``z``, ``hazard_ratio``,
#: ``look_times``, ``events``, ``enrolled``, ``short`` (the events ran out at
#: that look); per trial: ``stop_look``, ``decision`` and ``last_look`` (the
#: last look analysed). Looks not analysed keep their initial values.
LookResults = namedtuple("LookResults", [
    "z", "hazard_ratio", "look_times", "events", "enrolled", "short", "stop_look", "decision", "last_look",
    "capped",
])


# --------------------------------------------------------------------------
# Building the named tuples (validating)
# --------------------------------------------------------------------------


def pieces_iv(control):
    """``(times, hazards)`` of a piecewise-constant hazard as float arrays, validated."""
    try:
        times, hazards = (np.asarray(a, dtype=float).ravel() for a in control)
    except (TypeError, ValueError):
        raise InputError("`control` must be a pair (times, hazards)") from None
    if times.size == 0 or times.size != hazards.size:
        raise InputError("`control` times and hazards must have the same length >= 1")
    if times[0] != 0.0 or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
        raise InputError("`control` times must start at 0 and increase strictly")
    if np.any(hazards < 0) or not np.all(np.isfinite(hazards)):
        raise InputError("`control` hazards must be finite and >= 0")
    return times, hazards


def accrual_iv(accrual):
    """``(edges, cumulative)`` of a piecewise-constant accrual intensity, validated."""
    try:
        edges, rates = (np.asarray(a, dtype=float).ravel() for a in accrual)
    except (TypeError, ValueError):
        raise InputError("`accrual` must be a pair (edges, rates)") from None
    if edges.size != rates.size + 1 or rates.size == 0:
        raise InputError("`accrual` edges must have one more entry than rates")
    if edges[0] != 0.0 or np.any(np.diff(edges) <= 0) or not np.all(np.isfinite(edges)):
        raise InputError("`accrual` edges must start at 0 and increase strictly")
    if np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise InputError("`accrual` rates must be finite and >= 0")
    mass = np.concatenate([[0.0], np.cumsum(rates * np.diff(edges))])
    if mass[-1] <= 0:
        raise InputError("`accrual` rates must not all be 0")
    cumulative = mass / mass[-1]
    cumulative[-1] = 1.0
    return edges, cumulative


def experimental_pieces(times, hazards, ratio_pieces):
    """The experimental hazard pieces: control ``(times, hazards)`` times a piecewise hazard ratio.

    ``ratio_pieces`` is ``(starts, ratios)`` (starts from 0, increasing;
    ratios > 0). The result is on the merged breakpoints, with the
    cumulative hazard at each start: ``(times_e, hazards_e, cumulative_e)``.
    """
    try:
        starts, ratios = (np.asarray(a, dtype=float).ravel() for a in ratio_pieces)
    except (TypeError, ValueError):
        raise InputError("`hazard_ratio_pieces` must be a pair (starts, ratios)") from None
    if starts.size == 0 or starts.size != ratios.size or starts[0] != 0.0 or np.any(np.diff(starts) <= 0) \
            or not np.all(np.isfinite(starts)):
        raise InputError("`hazard_ratio_pieces` starts must begin at 0, increase strictly, one ratio each")
    if np.any(ratios <= 0) or not np.all(np.isfinite(ratios)):
        raise InputError("`hazard_ratio_pieces` ratios must be finite and > 0")
    merged = np.union1d(times, starts)
    piece_c = np.searchsorted(times, merged, side="right") - 1
    piece_r = np.searchsorted(starts, merged, side="right") - 1
    hazards_e = hazards[piece_c] * ratios[piece_r]
    cumulative_e = np.concatenate([[0.0], np.cumsum(hazards_e[:-1] * np.diff(merged))])
    return merged, hazards_e, cumulative_e


def survival_design(n_c, n_e, *, accrual, control, dropout=(0.0, 0.0), look_events=None, missing=(0, 0), margin=1.0,
                    look_times=None, max_duration=math.inf, max_follow_up=math.inf, hazard_ratio_pieces=None,
                    cured=(0.0, 0.0), weights=None):
    """A validated :class:`SurvivalDesign` (look events: increasing integers >= 1; ``margin``: a hazard ratio > 0).

    Non-proportional hazards: ``hazard_ratio_pieces = (starts, ratios)`` makes
    the experimental hazard the control's times ``ratios[j]`` from
    ``starts[j]`` (the per-trial multiplier of the experimental arm then
    multiplies this profile); ``cured = (control, experimental)`` are cured
    fractions in [0, 1). ``weights``: ``(m, 2)`` Fleming-Harrington
    ``(rho, gamma)`` (None: the log-rank).
    """
    n_c, n_e = int(n_c), int(n_e)
    if n_c < 1 or n_e < 1:
        raise InputError("each arm must have >= 1 subject")
    missing_c, missing_e = (int(v) for v in missing)
    if not (0 <= missing_c <= n_c and 0 <= missing_e <= n_e):
        raise InputError("`missing` must be per-arm counts between 0 and the arm's size")
    edges, acc_cumulative = accrual_iv(accrual)
    times, hazards = pieces_iv(control)
    cumulative = np.concatenate([[0.0], np.cumsum(hazards[:-1] * np.diff(times))])
    drop_c, drop_e = (float(v) for v in dropout)
    if not (drop_c >= 0 and drop_e >= 0 and math.isfinite(drop_c + drop_e)):
        raise InputError("`dropout` hazards must be finite and >= 0")
    calendar = None
    if look_times is not None:
        calendar = np.asarray(look_times, dtype=float)
        if calendar.ndim != 1 or calendar.size == 0 or not np.all(np.isfinite(calendar)) or calendar[0] <= 0 \
                or np.any(np.diff(calendar) <= 0):
            raise InputError("`look_times` must be strictly increasing finite calendar times > 0")
        look_events = np.zeros(calendar.size, dtype=np.int64)
    looks = np.asarray(look_events)
    if looks.ndim != 1 or looks.size == 0 or not np.issubdtype(looks.dtype, np.integer) \
            or (calendar is None and (looks[0] < 1 or np.any(np.diff(looks) <= 0))):
        raise InputError("`look_events` must be strictly increasing integers >= 1")
    if calendar is None:
        calendar = np.full(looks.size, np.nan)
    cap, longest = float(max_duration), float(max_follow_up)
    if not (cap > 0 and longest > 0):
        raise InputError("`max_duration` and `max_follow_up` must be > 0 (inf for none)")
    margin = float(margin)
    if not (math.isfinite(margin) and margin > 0):
        raise InputError("`margin` must be a finite hazard ratio > 0")
    if hazard_ratio_pieces is None:
        times_e, hazards_e, cumulative_e = times, hazards, cumulative
    else:
        times_e, hazards_e, cumulative_e = experimental_pieces(times, hazards, hazard_ratio_pieces)
    cure_c, cure_e = (float(v) for v in cured)
    if not (0.0 <= cure_c < 1.0 and 0.0 <= cure_e < 1.0):
        raise InputError("`cured` fractions must be in [0, 1)")
    weights = np.zeros((0, 2)) if weights is None else np.array(weights, dtype=float).reshape(-1, 2)
    if weights.shape[0] > MAX_COMPONENTS or np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise InputError(f"`weights` must be at most {MAX_COMPONENTS} pairs (rho, gamma) of finite numbers >= 0")
    return SurvivalDesign(n_c, n_e, n_c - missing_c, n_e - missing_e, edges, acc_cumulative, times, hazards,
                          cumulative, drop_c, drop_e, np.ascontiguousarray(looks, dtype=np.int64), math.log(margin),
                          longest, np.ascontiguousarray(calendar), cap, times_e, hazards_e, cumulative_e, cure_c,
                          cure_e, np.ascontiguousarray(weights))


def patients(n):
    """Empty :class:`Patients` arrays for ``n`` patients."""
    return Patients(np.empty(n), np.empty(n, dtype=np.int64), np.empty(n), np.empty(n, dtype=np.bool_),
                    np.zeros(4, dtype=np.uint64))


def workspace(n, n_looks, refine_levels=()):
    """Scratch arrays for trials of ``n`` patients and ``n_looks`` looks.

    ``level`` holds the one-sided level of each look's efficacy bound (set
    per look by :func:`analyse_looks`) followed by ``refine_levels``: further
    levels at which the trials are decided afterwards (Holm), near which a
    MaxCombo p-value is computed as accurately as near the first
    (:func:`weighted_z`).
    """
    refine_levels = np.asarray(refine_levels, dtype=float).ravel()
    if np.any(~(refine_levels > 0.0)) or np.any(~(refine_levels < 1.0)):
        raise InputError("`refine_levels` must be one-sided levels in (0, 1)")
    return Workspace(
        calendar=np.empty(n), bucket=np.empty(n, dtype=np.int64), counts=np.empty(2 * n + 1, dtype=np.int64),
        buffer=np.empty(n), cuts=np.empty(n_looks), at_cuts=np.empty(n_looks, dtype=np.int64),
        keys=np.empty(n), index=np.empty(n, dtype=np.int64), exit_y=np.empty(n), cal_y=np.empty(n),
        event_y=np.empty(n, dtype=np.bool_), group_y=np.empty(n, dtype=np.int64), cal_e=np.empty(n),
        group_e=np.empty(n, dtype=np.int64), cum_e=np.zeros(n + 1, dtype=np.int64),
        fh=np.zeros(MAX_COMPONENTS * (MAX_COMPONENTS + 1)), fh_corr=np.empty((MAX_COMPONENTS, MAX_COMPONENTS)),
        fh_chol=np.empty((MAX_COMPONENTS, MAX_COMPONENTS)), fh_y=np.empty(MAX_COMPONENTS),
        fh_lead=np.empty(MAX_COMPONENTS, dtype=np.int64), key_y=np.empty(n, dtype=np.int64),
        key_a=np.empty(n + 1, dtype=np.int64),
        code_a=np.empty(n + 1, dtype=np.int64), time_b=np.empty(n + 1), code_b=np.empty(n + 1, dtype=np.int64),
        level=np.concatenate([[np.nan], refine_levels]), fh_index=np.empty(MAX_COMPONENTS, dtype=np.int64), fh_limits=np.empty(MAX_COMPONENTS),
        fh_sums=np.empty(POINTS.shape[0]),
    )


def look_results(n_sims, n_looks):
    """Output arrays: NaN floats, 0 counts, ``short`` False."""
    return LookResults(
        z=np.full((n_sims, n_looks), np.nan), hazard_ratio=np.full((n_sims, n_looks), np.nan),
        look_times=np.full((n_sims, n_looks), np.nan), events=np.zeros((n_sims, n_looks), dtype=np.int64),
        enrolled=np.zeros((n_sims, n_looks), dtype=np.int64), short=np.zeros((n_sims, n_looks), dtype=np.bool_),
        stop_look=np.zeros(n_sims, dtype=np.int64), decision=np.zeros(n_sims, dtype=np.int8),
        last_look=np.zeros(n_sims, dtype=np.int64), capped=np.zeros(n_sims, dtype=np.bool_),
    )


# --------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------


@kernel(counted=False)
def draw_entries(bits, n, edges, cumulative, out):
    """Write ``n`` sorted entry times into ``out[:n]``, drawing from the state ``bits``.

    Uniform order statistics as normalised partial sums of ``n + 1``
    exponential spacings, mapped through the inverse of the piecewise-linear
    accrual distribution (``cumulative`` at ``edges``, from 0 to 1). Walking
    the pieces forward works because the uniforms come sorted.
    """
    a, b, c, w = load(bits)
    total = 0.0
    for k in range(n):
        x, a, b, c, w = exponential(a, b, c, w)
        total += x
        out[k] = total
    x, a, b, c, w = exponential(a, b, c, w)
    store(bits, a, b, c, w)
    scale = 1.0 / (total + x)
    if edges.size == 2:
        # Uniform accrual: the loop below with its one piece (cumulative 0 to 1: the same
        # operations bar a division by 1), without the division.
        start, width = edges[0], edges[1] - edges[0]
        for k in range(n):
            out[k] = start + min(out[k] * scale, 1.0) * width
        return
    piece = 0
    last = edges.size - 2
    for k in range(n):
        u = out[k] * scale
        while piece < last and u > cumulative[piece + 1]:
            piece += 1
        mass = cumulative[piece + 1] - cumulative[piece]
        width = edges[piece + 1] - edges[piece]
        step = (u - cumulative[piece]) / mass if mass > 0.0 else 0.0
        out[k] = edges[piece] + min(step, 1.0) * width


@kernel(inline="always")
def next_label(u, left, left1, left2, left3):
    """The label of the next patient by sequential sampling: ``(label, left1, left2, left3)``.

    ``left`` patients are still to be labelled, ``left1`` of them with
    label 0, ``left2`` with label 0 or 1, ``left3`` with label 0, 1 or 2;
    the uniform ``u`` picks one of the ``left`` places (``floor(u left)``),
    so each label comes with probability its places over ``left``, and
    every arrangement of the counts is equally likely, as after a shuffle.
    Returns the counts with the patient's place taken.
    """
    pick = int(u * left)
    is0 = np.int64(pick < left1)
    is1 = np.int64(pick < left2) - is0
    is2 = np.int64(pick < left3) - is0 - is1
    return 3 - 3 * is0 - 2 * is1 - is2, left1 - is0, left2 - is0 - is1, left3 - is0 - is1 - is2


@kernel(counted=False)
def draw_arms(bits, design, label):
    """Labels of the patients in entry order: a uniformly random arrangement of the exact counts.

    0 control, 1 control without a binary outcome, 2 experimental, 3
    experimental without a binary outcome; one uniform per patient from the
    state ``bits`` (:func:`next_label`: the labels are written in order,
    where a shuffle's swaps to random places wait on each other).
    """
    n = design.n_c + design.n_e
    left1, left2, left3 = design.evaluable_c, design.n_c, design.n_c + design.evaluable_e
    a, b, c, w = load(bits)
    for p in range(n):
        u, a, b, c, w = uniform(a, b, c, w)
        label[p], left1, left2, left3 = next_label(u, n - p, left1, left2, left3)
    store(bits, a, b, c, w)


# --------------------------------------------------------------------------
# Exits by inverse hazard
# --------------------------------------------------------------------------


@kernel
def inverse_cumulative_hazard(target, design):
    """Time at which the control cumulative hazard reaches ``target`` (``inf`` if never)."""
    return _inverse(target, design.times, design.hazards, design.cumulative)


@kernel(leaf=True)
def _inverse(target, times, hazards, cumulative):
    """Time at which the piecewise-linear cumulative hazard reaches ``target`` (``inf`` if never)."""
    last = times.size - 1
    piece = 0
    while piece < last and cumulative[piece + 1] <= target:
        piece += 1
    if hazards[piece] <= 0.0:
        return np.inf
    return times[piece] + (target - cumulative[piece]) / hazards[piece]


@kernel(leaf=True)
def _uncured(unit, cure):
    """The unit exponential of an uncured patient's event, ``inf`` for a cured one.

    The population survival is ``S(t) = pi + (1 - pi) S_u(t)``; a patient
    with ``exp(-unit) <= pi`` (probability ``pi``) is cured, the others get
    ``-log((exp(-unit) - pi) / (1 - pi))``, again a unit exponential, for
    ``S_u``. One random number either way, so the joint engine's latent
    normal drives it as it drives an event time.
    """
    if cure <= 0.0:
        return unit
    gone = -math.expm1(-unit)  # 1 - exp(-unit), accurately for small units
    share = gone / (1.0 - cure)
    if share >= 1.0:
        return np.inf
    return -math.log1p(-share)


@kernel(leaf=True)
def exit_from_pieces(unit, theta, drop_time, times, hazards, cumulative, cure, max_follow_up):
    """One patient's exit ``(time from entry, is_event)`` given its unit exponential and dropout time.

    Event time ``H^-1(unit / theta)`` for the unit exponential ``unit``,
    ``H`` the arm's cumulative hazard (``times``, ``hazards``,
    ``cumulative``: the control pieces, or the experimental ones under a
    piecewise hazard ratio), after the cure fraction's transform
    (:func:`_uncured`); the exit is the earlier of the event and
    ``drop_time`` (``inf`` without dropout), and a patient still in
    follow-up at ``max_follow_up`` is censored there (administrative
    censoring; the same random numbers are drawn either way).
    Deterministic: the caller draws ``unit`` and then the dropout time, in
    that order. Loops over patients take the design's arrays out once and
    pass them here: passing the whole :class:`SurvivalDesign` per patient
    costs about ten times the exit itself (a reference count per array
    field and call).
    """
    event_time = _inverse(_uncured(unit, cure) / theta, times, hazards, cumulative)
    if event_time <= drop_time and event_time < np.inf and event_time <= max_follow_up:
        return event_time, True
    return min(drop_time, max_follow_up), False


@kernel(inline="always")
def exponential_means(design, theta_c, theta_e):
    """``(exponential, mean_c, mean_e)``: whether each arm's event times are exponential, and their means.

    Exponential when each arm's hazard is one piece with no cure fraction
    and both means ``1 / (theta hazard)`` are finite (a hazard of 0, or one
    so small that its inverse overflows, is not). Then
    :func:`exit_from_pieces`'s event time ``(unit / theta) / hazard`` is
    ``unit * mean`` within a few ulp: one product, where its two divisions
    and its walk over the pieces were most of a patient's exit.
    """
    mean_c = 1.0 / (theta_c * design.hazards[0])
    mean_e = 1.0 / (theta_e * design.hazards_e[0])
    one_piece = design.times.size == 1 and design.times_e.size == 1 and design.cure_c == 0.0 \
        and design.cure_e == 0.0
    return one_piece and mean_c < np.inf and mean_e < np.inf, mean_c, mean_e


@kernel(counted=False)
def draw_patients(rng, design, theta_c, theta_e, patients, calendar):
    """Entries, arms and exits of one trial (unit exponentials drawn directly).

    Seeds the trial's random numbers from ``rng`` (:func:`simulator.engine.bits.seed_bits`)
    and draws from them the entries (:func:`draw_entries`), then per patient
    in entry order its arm (one uniform, :func:`next_label`, the rule of
    :func:`draw_arms`), its unit exponential and, when its arm has dropout,
    a dropout exponential: one loop, which costs less than the arms and the
    exits in two. Fills ``patients`` (entry order) and the calendar times
    of the events into ``calendar`` (entry order); returns the number of
    events.
    """
    n = design.n_c + design.n_e
    seed_bits(rng, patients.bits)
    draw_entries(patients.bits, n, design.acc_edges, design.acc_cumulative, patients.entry)
    # The design's fields taken out once (see exit_from_pieces).
    times, hazards, cumulative = design.times, design.hazards, design.cumulative
    times_e, hazards_e, cumulative_e = design.times_e, design.hazards_e, design.cumulative_e
    cure_c, cure_e, longest = design.cure_c, design.cure_e, design.max_follow_up
    drop_c, drop_e = design.dropout_c, design.dropout_e
    label, entry, exit_out, event_out = patients.label, patients.entry, patients.exit_time, patients.is_event
    left1, left2, left3 = design.evaluable_c, design.n_c, design.n_c + design.evaluable_e
    a, b, c, w = load(patients.bits)
    n_events = 0
    exponential_exits, mean_c, mean_e = exponential_means(design, theta_c, theta_e)
    if exponential_exits and drop_c == 0.0 and drop_e == 0.0 and longest == np.inf and left1 == left2 \
            and left3 == n:
        # Exponential survival in both arms (exponential_means), nothing else, every patient with an
        # outcome (labels 0 and 2 only): the exit is the product of the unit exponential and the
        # arm's mean, and every patient has an event; next_label reduces to one compare. The same
        # random numbers as the loop below.
        for p in range(n):
            u, a, b, c, w = uniform(a, b, c, w)
            control = np.int64(int(u * (n - p)) < left1)
            left1 -= control
            label[p] = 2 - 2 * control
            unit, a, b, c, w = exponential(a, b, c, w)
            exit_time = unit * (mean_c if control else mean_e)
            exit_out[p] = exit_time
            event_out[p] = True
            calendar[p] = entry[p] + exit_time
        store(patients.bits, a, b, c, w)
        return n
    for p in range(n):
        u, a, b, c, w = uniform(a, b, c, w)
        arm, left1, left2, left3 = next_label(u, n - p, left1, left2, left3)
        label[p] = arm
        # The arm picked by selects, not branches: which arm comes next is a coin toss for the CPU.
        experimental = arm >= 2
        theta = theta_e if experimental else theta_c
        dropout = drop_e if experimental else drop_c
        unit, a, b, c, w = exponential(a, b, c, w)
        drop_time = np.inf
        if dropout > 0.0:
            drop_unit, a, b, c, w = exponential(a, b, c, w)
            drop_time = drop_unit / dropout
        exit_time, is_event = exit_from_pieces(
            unit, theta, drop_time, times_e if experimental else times, hazards_e if experimental else hazards,
            cumulative_e if experimental else cumulative, cure_e if experimental else cure_c, longest,
        )
        exit_out[p] = exit_time
        event_out[p] = is_event
        if is_event:
            calendar[n_events] = entry[p] + exit_time
            n_events += 1
    store(patients.bits, a, b, c, w)
    return n_events


# --------------------------------------------------------------------------
# Cut selection
# --------------------------------------------------------------------------


@kernel(counted=False)
def _select(values, lo, hi, k):
    """Rearrange ``values[lo:hi]`` so that ``values[k]`` is in sorted place.

    Hoare quickselect with a median-of-three pivot; afterwards everything in
    ``[lo, k)`` is ``<=`` and everything in ``(k, hi)`` is ``>=`` ``values[k]``.
    """
    hi -= 1
    while hi > lo:
        mid = (lo + hi) // 2
        a, b, c = values[lo], values[mid], values[hi]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = lo, hi
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return values[k]


@kernel(counted=False)
def _value_range(values, m):
    """``(min, max)`` of ``values[:m]`` (``m >= 1``, no NaN), four of each kept at once.

    One running minimum waits at every value on the comparison before it;
    four independent ones do not, and the loop takes a quarter of the time.
    """
    low0 = low1 = low2 = low3 = values[0]
    high0 = high1 = high2 = high3 = values[0]
    i = 0
    while i + 4 <= m:
        a, b, c, d = values[i], values[i + 1], values[i + 2], values[i + 3]
        low0, low1, low2, low3 = min(a, low0), min(b, low1), min(c, low2), min(d, low3)
        high0, high1, high2, high3 = max(a, high0), max(b, high1), max(c, high2), max(d, high3)
        i += 4
    while i < m:
        low0, high0 = min(values[i], low0), max(values[i], high0)
        i += 1
    return min(min(low0, low1), min(low2, low3)), max(max(high0, high1), max(high2, high3))


@kernel(counted=False)
def _bucket_select(calendar, m, look_events, reachable, work):
    """Cuts at the ``look_events[k]``-th smallest of ``calendar[:m]``, ``k < reachable``.

    A bucket selection in expected linear time: ``m`` equal-width buckets over
    the range, counts, then a quickselect inside the one bucket that holds
    each wanted rank. ``at_cuts[k]`` counts the events at or before
    ``cuts[k]`` (more than ``look_events[k]`` only when calendar times tie
    exactly).
    """
    bucket, counts, buffer = work.bucket, work.counts, work.buffer
    low, high = _value_range(calendar, m)
    scale = m / (high - low) if high > low else 0.0
    for b in range(m):
        counts[b] = 0
    for i in range(m):
        b = min(int((calendar[i] - low) * scale), m - 1)
        bucket[i] = b
        counts[b] += 1
    b = 0
    before = 0  # values in buckets < b
    for k in range(reachable):
        while before + counts[b] < look_events[k]:
            before += counts[b]
            b += 1
        filled = 0
        for i in range(m):
            if bucket[i] == b:
                buffer[filled] = calendar[i]
                filled += 1
        cut = _select(buffer, 0, filled, look_events[k] - before - 1)
        work.cuts[k] = cut
        work.at_cuts[k] = before
        for i in range(filled):
            if buffer[i] <= cut:
                work.at_cuts[k] += 1


@kernel(counted=False)
def select_cuts(n_events, last_entry, look_events, work):
    """Calendar time and events of every look; returns how many looks reach their target.

    ``work.calendar[:n_events]`` holds the event calendar times. Looks
    ``k < reachable`` are at their ``look_events[k]``-th event; the others
    follow the rule for running out of events (module docstring): at the
    last event with all ``n_events`` events, or at ``last_entry`` with none.
    """
    n_looks = look_events.size
    reachable = 0
    while reachable < n_looks and look_events[reachable] <= n_events:
        reachable += 1
    if reachable > 0:
        _bucket_select(work.calendar, n_events, look_events, reachable, work)
    if reachable < n_looks:
        last = last_entry
        if n_events > 0:
            last = work.calendar[0]
            for j in range(1, n_events):
                last = max(last, work.calendar[j])
        for k in range(reachable, n_looks):
            work.cuts[k] = last
            work.at_cuts[k] = n_events
    return reachable


@kernel(counted=False)
def _events_by(calendar, n_events, cut):
    count = 0
    for j in range(n_events):
        count += calendar[j] <= cut
    return count


@kernel(counted=False)
def schedule_cuts(n_events, last_entry, design, work):
    """Calendar time and events of every look of one trial; returns ``(reachable, last, capped)``.

    Event-driven looks are :func:`select_cuts` (``reachable`` looks reach
    their target). Calendar looks (``design.look_times``) are at their
    times with the events there are by then. With a maximum duration
    (``design.cap``) the trial ends at whichever comes first: the look
    (its target events, or its calendar time), or the cap; the first look
    that would come after the cap, or whose events never come, is analysed
    at the cap and is the trial's last (``capped``). ``last`` is the index
    of the last look analysed.
    """
    looks = design.look_events
    n_looks = looks.size
    cap = design.cap
    calendar = work.calendar
    if not np.isnan(design.look_times[0]):
        for k in range(n_looks):
            cut = min(design.look_times[k], cap)
            work.cuts[k] = cut
            work.at_cuts[k] = _events_by(calendar, n_events, cut)
            if design.look_times[k] > cap:
                return n_looks, k, True
        return n_looks, n_looks - 1, False
    reachable = select_cuts(n_events, last_entry, looks, work)
    last = min(reachable, n_looks - 1)
    if cap < np.inf:
        for k in range(last + 1):
            if k >= reachable or work.cuts[k] > cap:
                work.cuts[k] = cap
                work.at_cuts[k] = _events_by(calendar, n_events, cap)
                return reachable, k, True
    return reachable, last, False


# --------------------------------------------------------------------------
# The log-rank statistic at a cut
# --------------------------------------------------------------------------


@kernel(leaf=True)
def null_share(at_risk, at_risk_e, margin):
    """The experimental arm's share of the hazard at risk when the hazard ratio is ``margin`` (H0's).

    ``margin * n_e / (n_c + margin * n_e)``, written so that a margin of 1
    gives ``n_e / n`` bit for bit (``n_e * 1.0`` and ``n + 0.0 * n_e`` are
    exact): the log-rank's share, and that of the score test at a
    non-inferiority margin M (Jennison and Turnbull's; rpact's
    ``getSimulationSurvival`` with ``thetaH0 = M``).
    """
    return margin * at_risk_e / (at_risk + (margin - 1.0) * at_risk_e)


@kernel(leaf=True)
def logrank_terms(at_risk, at_risk_e, deaths, margin):
    """Expected experimental deaths and their variance at one event time, under a hazard ratio ``margin``.

    Hypergeometric moments of the experimental deaths among ``deaths`` tied
    deaths with ``at_risk`` subjects at risk, ``at_risk_e`` of them
    experimental: mean d s and variance d s (1 - s) (n - d) / (n - 1), with
    s = at_risk_e / at_risk (the ties correction is 1 for a single death)
    at ``margin = 1``; at another margin s is :func:`null_share` (with
    tied deaths the same correction, an approximation: continuous times
    have none).
    """
    share = null_share(at_risk, at_risk_e, margin)
    variance = deaths * share * (1.0 - share)
    if deaths > 1:
        variance *= (at_risk - deaths) / (at_risk - 1.0)
    return deaths * share, variance


@kernel(counted=False)
def prepare_cuts(patients, final_cut, work):
    """Per-trial orderings for :func:`logrank_at_cut`; returns the length of stream A.

    Fills the entry-ordered calendar exits, arms and running count of
    experimental patients, and, in exit order, the patients whose calendar
    exit is at or before ``final_cut`` (no later cut can see the others
    exit): a bucket sort on the exit time (twice as many equal-width
    buckets as values over the finite range, ``inf`` last) then an insertion
    pass, which only moves values within a bucket: expected linear time.
    """
    entry, exit_time = patients.entry, patients.exit_time
    n = entry.size
    keys, index, counts, bucket, buffer = work.keys, work.index, work.counts, work.bucket, work.buffer
    cal_e, group_e, cum_e, order = work.cal_e, work.group_e, work.cum_e, work.group_y
    cum_e[0] = 0
    n_a = 0
    high = 0.0
    for p in range(n):
        # Branch-free: whether a patient is in stream A is a coin toss for the CPU.
        g = np.int64(patients.label[p] >= 2)
        exit_p = exit_time[p]
        cal = entry[p] + exit_p
        group_e[p] = g
        cal_e[p] = cal
        cum_e[p + 1] = cum_e[p] + g
        buffer[n_a] = exit_p
        bucket[n_a] = p
        selected = cal <= final_cut
        high = max(high, exit_p if selected and exit_p < np.inf else 0.0)
        n_a += selected
    sort_exits(buffer, bucket, n_a, high, index, counts, keys, order)
    for j in range(n_a):
        p = order[j]
        work.exit_y[j] = keys[j]
        work.cal_y[j] = cal_e[p]
        work.event_y[j] = patients.is_event[p]
        order[j] = group_e[p]  # order is group_y: from patient index to arm
    _order_keys(work.exit_y, work.key_y, n_a)
    return n_a


@kernel(counted=False)
def sort_exits(times, source, n, high, index, counts, keys, order):
    """Sort ``times[:n]`` (finite ones at most ``high``, then ``inf``) into ``keys[:n]``, their ``source`` into ``order``.

    A bucket sort (twice as many equal-width buckets as values over
    ``[0, high]``, ``inf`` in the last) then an insertion pass, which only
    moves values within a bucket: expected linear time. Stable. ``index``
    (``n``) and ``counts`` (``2 n + 1``) are scratch.
    """
    # Twice as many buckets as values: few share a bucket, so the insertion
    # pass rarely moves anything.
    n_buckets = 2 * n
    scale = n_buckets / high if high > 0.0 else 0.0
    # Loops kept apart on purpose: fusing the bucket computation, the count
    # and the scatter makes the CPU stall on possible aliasing of the stores
    # (about 2.5 times slower here).
    for j in range(n):
        t = times[j]
        index[j] = min(max(int(t * scale), 0), n_buckets - 1) if t < np.inf else n_buckets - 1
    for b in range(n_buckets + 1):
        counts[b] = 0
    for j in range(n):
        counts[index[j] + 1] += 1
    for b in range(n_buckets):
        counts[b + 1] += counts[b]
    for j in range(n):
        b = index[j]
        index[j] = counts[b]
        counts[b] += 1
    for j in range(n):
        keys[index[j]] = times[j]
        order[index[j]] = source[j]
    for j in range(1, n):
        t = keys[j]
        if keys[j - 1] > t:
            p = order[j]
            i = j - 1
            while i >= 0 and keys[i] > t:
                keys[i + 1] = keys[i]
                order[i + 1] = order[i]
                i -= 1
            keys[i + 1] = t
            order[i + 1] = p


#: No Fleming-Harrington weights: the plain log-rank pass.
_NO_WEIGHTS = np.zeros((0, 2))


@kernel(counted=False)
def logrank_at_cut(cut, events_at_cut, patients, work, n_a, margin):
    """Log-rank statistic of the data cut at calendar time ``cut``.

    Needs :func:`prepare_cuts` for a final cut at or after ``cut``.
    ``events_at_cut`` (the events with calendar time ``<= cut``) lets the
    pass end after the last of them. See the module docstring for the two
    streams.

    Returns ``(z, score, variance, observed_c, expected_c, observed_e,
    expected_e, enrolled)``: ``score = E_e - O_e`` (summed per event time),
    ``enrolled`` = patients with ``entry <= cut``. ``margin``: None, or the
    hazard ratio of a non-inferiority null (:func:`weighted_logrank_at_cut`).
    """
    return weighted_logrank_at_cut(cut, events_at_cut, patients, work, n_a, _NO_WEIGHTS, margin)


@kernel(counted=False)
def weighted_logrank_at_cut(cut, events_at_cut, patients, work, n_a, weights, margin):
    """:func:`logrank_at_cut` with Fleming-Harrington weighted scores besides, or at a non-inferiority margin.

    For each row ``(rho, gamma)`` of ``weights`` (``m`` rows) each event
    time adds ``w (E_e - O_e)`` to its score and each pair ``w_k w_l`` times
    the hypergeometric variance to their covariance, with ``w = S(t-)^rho
    (1 - S(t-))^gamma`` from the pooled Kaplan-Meier estimate just before
    the event time (left-continuous: the first event time has ``S = 1``).
    ``work.fh[k]`` gets score ``k`` and ``work.fh[m + k m + l]`` the
    covariance of ``k`` and ``l``; ``m = 0`` is the plain log-rank. Returns
    what :func:`logrank_at_cut` returns (the unweighted log-rank).

    ``margin`` (a hazard ratio M, H0: HR >= M; ``None`` for superiority,
    the same as 1 but compiled without the margin's arithmetic) makes
    ``z``, ``score`` and ``variance`` those of the score test at M: each
    event time's expected experimental deaths and variance at the share
    :func:`null_share`, as the log-rank's at M = 1. ``O`` and ``E`` stay the
    log-rank's (at HR 1), for Pike's estimate. No weights with a margin.

    Two passes give the same statistic: :func:`_merged_pass`, one subject
    at a time without branches, when no event time is shared with another
    exit (what continuous times give), and :func:`_grouped_pass`, which
    groups tied times, otherwise (the first finds out, and the second
    then starts over).
    """
    n_weights = weights.shape[0]
    acc = work.fh
    for k in range(n_weights * (n_weights + 1)):
        acc[k] = 0.0
    enrolled = np.searchsorted(patients.entry, cut, side="right")
    m = stream_a(cut, events_at_cut, work.cal_y, work.event_y, work.index, n_a)
    tied, result = _merged_pass(cut, m, enrolled, patients.entry, work, weights, margin)
    if tied:
        for k in range(n_weights * (n_weights + 1)):
            acc[k] = 0.0
        result = _grouped_pass(cut, m, events_at_cut, enrolled, patients.entry, work, weights, margin)
    _mirror(acc, n_weights)
    return result


@kernel(counted=False)
def stream_a(cut, events_at_cut, cal_y, event_y, inside, n_a):
    """Stream A at this cut into ``inside[:m]``; returns ``m``.

    The exits by the cut (of the ``n_a`` in exit order, with calendar
    exits ``cal_y`` and events ``event_y``), up to the last event by the
    cut, listed without branches (which exits fall by an early cut is a
    coin toss for the CPU).
    """
    m = 0
    seen = 0
    ia = 0
    while ia < n_a and seen < events_at_cut:
        by_cut = cal_y[ia] <= cut
        inside[m] = ia
        m += by_cut
        seen += by_cut & event_y[ia]
        ia += 1
    return m


@kernel(counted=False)
def _merged_pass(cut, m, enrolled, entry, work, weights, margin):
    """The log-rank (and weighted) statistics at one cut, one subject at a time; returns ``(tied, result)``.

    Streams A (``work.index[:m]``, :func:`stream_a`) and B (the enrolled
    patients still in follow-up at the cut, at ``cut - entry``, up to the
    last event) are copied out with a sentinel each and merged in one loop
    with no branch on the data (:func:`_next_subject`): each subject leaves
    the risk set after its time, and an event adds its terms (each term
    times the event's 0 or 1, so that a censoring adds exact zeros). On
    ties stream A comes first, so a subject censored at an event time is
    still at risk at it. This gives :func:`_grouped_pass`'s sums, in the
    same order, whenever no event shares its time with the subject before
    it; ``tied`` reports that one did (the result is then not used).

    The plain log-rank and the weighted tests have loops of their own (the
    same steps, :func:`_next_subject` and :func:`_statistic` shared): the
    weighted sums kept in registers in the log-rank's loop cost it about
    1.7 µs a 3-look trial (19.2 against 17.5), registers it needs.
    """
    exit_y, event_y, group_y, inside = work.exit_y, work.event_y, work.group_y, work.index
    cal_e, group_e = work.cal_e, work.group_e
    key_y, key_a, code_a, time_b, code_b = work.key_y, work.key_a, work.code_a, work.time_b, work.code_b
    # Code: 1 for an event, plus 2 for the experimental arm.
    for j in range(m):
        ia = inside[j]
        key_a[j] = key_y[ia]
        code_a[j] = event_y[ia] + 2 * group_y[ia]
    key_a[m] = _INF_KEY
    last = exit_y[inside[m - 1]] if m > 0 else -np.inf
    n_b = 0
    q = enrolled - 1
    while q >= 0 and cut - entry[q] < last:
        time_b[n_b] = cut - entry[q]  # >= +0 (entered by the cut): its bits are its key (_order_keys)
        code_b[n_b] = 2 * group_e[q]
        n_b += cal_e[q] > cut
        q -= 1
    time_b[n_b] = np.inf
    if weights.shape[0] == 0:
        return _plain_loop(m, enrolled, work, margin)
    return _weighted_loop(m, enrolled, work, weights)


@kernel(inline="always")
def _statistic(score, variance, observed, observed_e, expected_e, enrolled):
    """What the passes return (:func:`logrank_at_cut`): ``(z, score, variance, O_c, E_c, O_e, E_e, enrolled)``."""
    z = score / np.sqrt(variance) if variance > 0.0 else 0.0
    return z, score, variance, observed - observed_e, observed - expected_e, observed_e, expected_e, enrolled


#: Below every key of :func:`_order_keys` (the key of a NaN pattern, which no time has).
_NO_KEY = np.iinfo(np.int64).min
#: The key of ``inf``: the streams' sentinel.
_INF_KEY = np.int64(0x7FF0000000000000)


@kernel(counted=False)
def _order_keys(times, keys, n):
    """``keys[:n]``: integers in the order of ``times[:n]`` (no NaN), equal exactly where the times are.

    Writes ``times[:n] + 0.0`` back into ``times`` (``-0.0`` becomes
    ``+0.0``; they compare equal anyway).

    A double's bits read as an integer keep the order of non-negative
    doubles (so the bits of a non-negative time are its key, as for stream
    B's ``cut - entry``); the magnitude bits of negative ones are flipped to
    keep theirs, and adding +0.0 makes -0.0 equal to +0.0. The merge
    compares these (:func:`_next_subject`): a load and an integer compare
    wait less than a floating-point load and compare, and each step of the
    merge waits on the one before (3.7 against 2.4 ns a subject). Stream A's
    keys are those of the exit times, set once per trial (:func:`prepare_cuts`).
    """
    bits = times.view(np.int64)
    for k in range(n):
        times[k] += 0.0
    for k in range(n):
        b = bits[k]
        keys[k] = b ^ ((b >> 63) & 0x7FFFFFFFFFFFFFFF)


@kernel(inline="always")
def _next_subject(code_a, code_b, key_a, key_b, i, j):
    """The next subject of the merge of streams A (at ``i``) and B (at ``j``): ``(key, event, arm, from_a)``.

    The streams are ordered by their keys (:func:`_order_keys`), and the
    subject's key stands for its time (equal keys, equal times).
    """
    k_a = key_a[i]
    k_b = key_b[j]
    take_a = np.int64(k_a <= k_b)
    code = code_a[i] * take_a + code_b[j] * (1 - take_a)
    return min(k_a, k_b), code & 1, code >> 1, take_a


@kernel(counted=False)
def _plain_loop(m, enrolled, work, margin):
    """:func:`_merged_pass`'s loop for the log-rank alone (at a non-inferiority ``margin`` unless it is None).

    With ``margin`` None (superiority) Numba compiles the loop without the
    margin's share (the branches on ``margin is None`` are pruned): the
    division costs the survival trial's hot loop time it does not need.
    """
    code_a, code_b = work.code_a, work.code_b
    key_a, key_b = work.key_a, work.time_b.view(np.int64)
    at_risk = float(enrolled)
    at_risk_e = float(work.cum_e[enrolled])
    score = 0.0
    variance = 0.0
    observed_e = 0.0
    expected_e = 0.0
    observed = 0.0
    tied = False
    previous = _NO_KEY
    i = 0
    j = 0
    while i < m:
        t, event, g, take_a = _next_subject(code_a, code_b, key_a, key_b, i, j)
        d = float(event)
        share = at_risk_e / at_risk
        at_null = share if margin is None else null_share(at_risk, at_risk_e, margin)
        score += d * at_null - d * g
        expected_e += d * share
        variance += d * (at_null * (1.0 - at_null))
        observed_e += event * g
        observed += event
        tied |= (t == previous) & (event == 1)
        previous = t
        at_risk -= 1.0
        at_risk_e -= g
        i += take_a
        j += 1 - take_a
    return tied, _statistic(score, variance, observed, observed_e, expected_e, enrolled)


@kernel(counted=False)
def _weighted_loop(m, enrolled, work, weights):
    """:func:`_plain_loop` with the weighted statistics besides (:func:`_add_weighted`).

    One test (Fleming-Harrington) keeps its two sums in registers, the
    same operations in the same order as :func:`_add_weighted` (in the
    array, each step waited on the one before).
    """
    n_weights = weights.shape[0]
    code_a, code_b = work.code_a, work.code_b
    key_a, key_b = work.key_a, work.time_b.view(np.int64)
    acc = work.fh
    km = 1.0
    rho, gamma = weights[0, 0], weights[0, 1]
    fh_score = 0.0
    fh_variance = 0.0
    at_risk = float(enrolled)
    at_risk_e = float(work.cum_e[enrolled])
    score = 0.0
    variance = 0.0
    observed_e = 0.0
    expected_e = 0.0
    observed = 0.0
    tied = False
    previous = _NO_KEY
    i = 0
    j = 0
    while i < m:
        t, event, g, take_a = _next_subject(code_a, code_b, key_a, key_b, i, j)
        d = float(event)
        share = at_risk_e / at_risk
        var = d * (share * (1.0 - share))
        if n_weights == 1:
            w = _power(km, rho) * _power(1.0 - km, gamma)
            fh_score += w * (d * share - d * g)
            fh_variance += w * w * var
        else:
            _add_weighted(acc, weights, km, d * share - d * g, var, work.fh_y)
        km *= 1.0 - d / at_risk
        score += d * share - d * g
        expected_e += d * share
        variance += var
        observed_e += event * g
        observed += event
        tied |= (t == previous) & (event == 1)
        previous = t
        at_risk -= 1.0
        at_risk_e -= g
        i += take_a
        j += 1 - take_a
    if n_weights == 1:
        acc[0] = fh_score
        acc[1] = fh_variance
    return tied, _statistic(score, variance, observed, observed_e, expected_e, enrolled)


@kernel(counted=False)
def _grouped_pass(cut, m, events_at_cut, enrolled, entry, work, weights, margin):
    """The log-rank (and weighted) statistics at one cut, tied times grouped.

    Merges stream A (``work.index[:m]``) with stream B as it goes; each
    event time adds the hypergeometric terms of all its deaths at once
    (:func:`logrank_terms`); subjects censored at an event time are still
    at risk at it. The score and variance are at ``margin`` (None: 1), as
    in :func:`_plain_loop`.
    """
    n_weights = weights.shape[0]
    acc = work.fh
    km = 1.0  # pooled Kaplan-Meier just before the next event time
    exit_y, event_y, group_y = work.exit_y, work.event_y, work.group_y
    cal_e, group_e = work.cal_e, work.group_e
    at_risk = float(enrolled)
    at_risk_e = float(work.cum_e[enrolled])
    ib = enrolled - 1
    left = events_at_cut
    score = 0.0
    variance = 0.0
    observed_e = 0.0
    expected_e = 0.0
    observed = 0.0
    time = np.nan  # no group yet
    deaths = 0
    deaths_e = 0
    leaving = 0
    leaving_e = 0
    inside = work.index
    for j in range(m + 1):
        if j < m:
            ia = inside[j]
            t = exit_y[ia]
        else:
            t = np.inf  # flush the last group
        if t != time:
            if deaths > 0:
                mean, var = logrank_terms(at_risk, at_risk_e, deaths, 1.0)
                if n_weights > 0:
                    _add_weighted(acc, weights, km, mean - deaths_e, var, work.fh_y)
                    km *= 1.0 - deaths / at_risk
                mean_null, var_null = (mean, var) if margin is None else logrank_terms(at_risk, at_risk_e, deaths,
                                                                                      margin)
                score += mean_null - deaths_e  # per time: less cancellation than E_e - O_e
                expected_e += mean
                variance += var_null
                observed_e += deaths_e
                observed += deaths
                left -= deaths
            at_risk -= leaving
            at_risk_e -= leaving_e
            deaths = 0
            deaths_e = 0
            leaving = 0
            leaving_e = 0
            if left <= 0 or j == m:
                break
            while ib >= 0 and cut - entry[ib] < t:
                # Branch-free: stream A subjects met here have left already.
                censored = cal_e[ib] > cut
                at_risk -= censored
                at_risk_e -= censored * group_e[ib]
                ib -= 1
            time = t
        g = group_y[ia]
        leaving += 1
        leaving_e += g
        if event_y[ia]:
            deaths += 1
            deaths_e += g
    return _statistic(score, variance, observed, observed_e, expected_e, enrolled)


@kernel(inline="always")
def _add_weighted(acc, weights, km, excess, var, w):
    """Add one event time to the weighted scores and covariances (:func:`weighted_logrank_at_cut`); ``w`` is scratch.

    Only the covariances ``k >= l`` are summed here; :func:`_mirror` copies them to
    ``l > k`` once the pass is done.
    """
    m = weights.shape[0]
    for k in range(m):
        value = _power(km, weights[k, 0]) * _power(1.0 - km, weights[k, 1])
        w[k] = value
        acc[k] += value * excess
    for k in range(m):
        for j in range(k + 1):
            acc[m + k * m + j] += w[k] * w[j] * var


@kernel(inline="always")
def _mirror(acc, m):
    """The covariances ``l > k`` of the weighted statistics from ``k > l`` (the same sums)."""
    for k in range(m):
        for j in range(k):
            acc[m + j * m + k] = acc[m + k * m + j]


@kernel(inline="always")
def _power(x, e):
    """``x ** e`` with the common Fleming-Harrington exponents (0, 1, 2, 0.5) without ``pow`` (its cost per event)."""
    if e == 0.0:
        return 1.0
    if e == 1.0:
        return x
    if e == 2.0:
        return x * x
    if e == 0.5:
        return math.sqrt(x)
    return x**e


@kernel(counted=False)
def weighted_z(work, m, levels, two_sided):
    """The z of the weighted statistics in ``work.fh`` (``m`` of them).

    ``m = 1``: Fleming-Harrington, ``score / sqrt(variance)`` (0 when the
    variance is 0). ``m > 1``: MaxCombo, the largest standardised statistic
    turned into its one-sided p-value by the multivariate normal with the
    estimated correlation (:func:`simulator.stats.maxcombo.max_p_value`,
    refined near the p-values ``levels``) and reported as the z with that
    p-value, ``Phi^-1(1 - p)``. Statistics with variance 0 are left out.
    With ``two_sided`` the smallest statistic's p-value in the other
    direction is computed as well, and the z is the more extreme of the two
    (negative for the unfavourable one).
    """
    acc = work.fh
    if m == 1:
        return acc[0] / math.sqrt(acc[1]) if acc[1] > 0.0 else 0.0
    corr, y = work.fh_corr, work.fh_y
    index = work.fh_index
    used = 0
    high = -np.inf
    low = np.inf
    for k in range(m):
        var_k = acc[m + k * m + k]
        if var_k > 0.0:
            z_k = acc[k] / math.sqrt(var_k)
            high = max(high, z_k)
            low = min(low, z_k)
            index[used] = k
            used += 1
    if used == 0:
        return 0.0
    for a in range(used):
        for b in range(used):
            k, j = index[a], index[b]
            corr[a, b] = acc[m + k * m + j] / math.sqrt(acc[m + k * m + k] * acc[m + j * m + j])
    p_high = max_p_value(high, corr, used, levels, work.fh_chol, y, POINTS, work.fh_lead, work.fh_limits,
                         work.fh_sums)
    if not two_sided:
        return -norm_ppf(p_high)
    p_low = max_p_value(-low, corr, used, levels, work.fh_chol, y, POINTS, work.fh_lead, work.fh_limits,
                        work.fh_sums)
    if p_high <= p_low:
        return -norm_ppf(p_high)
    return norm_ppf(p_low)


# --------------------------------------------------------------------------
# The looks of one trial
# --------------------------------------------------------------------------


@kernel(counted=False)
def analyse_looks(i, n_events, design, bounds, patients, work, out, all_looks):
    """Cuts, log-rank and decision at each look of trial ``i``; returns the last look analysed.

    ``work.calendar[:n_events]`` holds the event calendar times. The
    decision at look ``k`` is :func:`simulator.stats.decision.decide_z` with
    the bounds of ``bounds`` (a :class:`~simulator.stats.decision.ZBounds`);
    the trial stops at the first look that decides, or at the last look
    analysed (the final look, or the look at which the events ran out).
    With ``all_looks`` the looks after a stop are analysed too, up to the
    last one (the joint engine needs them for its binary endpoints);
    otherwise the pass ends at the stop. Writes row ``i`` of ``out``.

    With Fleming-Harrington weights (``design.weights``) the z of a look is
    the weighted one (:func:`weighted_z`), the hazard-ratio estimate still
    Pike's. With a non-inferiority margin (``design.log_margin`` = log M, H0: HR >=
    M) the z of each look is the score test at M (:func:`weighted_logrank_at_cut`):
    ``(E_e(M) - O_e) / sqrt(V(M))`` with each event time's expected
    experimental deaths and variance at the hazard ratio M, so that z is
    centred on 0 at HR = M whatever the allocation; positive favours the
    experimental arm, as for superiority (M = 1, the plain log-rank z).
    """
    n = patients.entry.size
    reachable, last, capped = schedule_cuts(n_events, patients.entry[n - 1], design, work)
    n_a = prepare_cuts(patients, work.cuts[last], work)
    start_record(i, last, capped, out)
    decided = False
    n_weights = design.weights.shape[0]
    level = work.level
    for k in range(last + 1):
        cut = work.cuts[k]
        at_cut = work.at_cuts[k]
        # Two calls, not one with a conditional argument: Numba compiles the None one (superiority) without the
        # margin's arithmetic, which a conditional would keep as an Optional checked at every subject.
        if design.log_margin == 0.0:
            z, _, _, o_c, e_c, o_e, e_e, enrolled = weighted_logrank_at_cut(
                cut, at_cut, patients, work, n_a, design.weights, None
            )
        else:
            # Non-inferiority, H0: HR >= M: the score test at M (a review: the log-rank z shifted by
            # log M sqrt(V) had a type I error of 0.065 at alpha 0.025 with 1:3 allocation and M = 1.6).
            z, _, _, o_c, e_c, o_e, e_e, enrolled = weighted_logrank_at_cut(
                cut, at_cut, patients, work, n_a, design.weights, math.exp(design.log_margin)
            )
        if n_weights > 0:
            # Fleming-Harrington or MaxCombo (no margin: the parser refuses one with these tests).
            level[0] = 0.5 * math.erfc(bounds.efficacy[k] / math.sqrt(2.0))
            z = weighted_z(work, n_weights, level, bounds.unfavourable[k] > -np.inf)
        stopped_here = not decided
        decided = record_look(i, k, last, reachable, z, o_c, e_c, o_e, e_e, cut, at_cut, enrolled, bounds, out,
                              decided)
        if stopped_here and decided and not all_looks:
            break
    return last


@kernel(inline="always")
def start_record(i, last, capped, out):
    """Row ``i`` of ``out`` before its looks: no decision yet, the last look analysable, the cap."""
    out.stop_look[i] = last
    out.decision[i] = CONTINUE
    out.last_look[i] = last
    out.capped[i] = capped


@kernel(inline="always")
def record_look(i, k, last, reachable, z, o_c, e_c, o_e, e_e, cut, at_cut, enrolled, bounds, out, decided):
    """Write look ``k`` of trial ``i`` into ``out`` and, until the trial has stopped, decide it
    (:func:`simulator.stats.decision.decide_z`; the last look always stops); returns ``decided``.
    Shared by the plain and the stratified analyses."""
    out.z[i, k] = z
    out.hazard_ratio[i, k] = (o_e / e_e) / (o_c / e_c) if at_cut > 0 else np.nan
    out.look_times[i, k] = cut
    out.events[i, k] = at_cut
    out.enrolled[i, k] = enrolled
    # Short: the patients never gave the look's target events, so it is analysed at the last event. Not when a
    # cap ended the trial there: the look is then at the cap (capped, not short).
    out.short[i, k] = k >= reachable and not (out.capped[i] and k == last)
    if not decided:
        outcome = decide_z(z, bounds.efficacy[k], bounds.unfavourable[k], bounds.futility[k], bounds.futility_floor[k])
        if outcome != CONTINUE or k == last:
            out.stop_look[i] = k
            out.decision[i] = outcome
            return True
    return decided


# --------------------------------------------------------------------------
# The Kaplan-Meier side sample
# --------------------------------------------------------------------------


def data_set_iv(time, event, group, stratum=None):
    """``(time, event, group[, stratum])`` of one data set as the log-rank kernels take them.

    The check the log-rank functions of one data set (plain, weighted,
    stratified) share: non-empty, one length, finite times (an infinite
    time has no place in the risk sets).
    """
    time = np.ascontiguousarray(time, dtype=float).ravel()
    event = np.ascontiguousarray(event).ravel().astype(np.bool_)
    group = np.ascontiguousarray(group).ravel().astype(np.int64)
    arrays = (time, event, group) if stratum is None else (time, event, group, np.asarray(stratum).ravel())
    if len({a.size for a in arrays}) != 1 or time.size == 0 or not np.all(np.isfinite(time)):
        names = "`time`, `event` and `group`" if stratum is None else "`time`, `event`, `group` and `stratum`"
        raise InputError(f"{names} must be non-empty, of one length, with finite times")
    return arrays


@kernel
def load_data_set(time, event, group, pts):
    """One data set (follow-up ``time``, ``event`` 0/1, ``group`` 1 experimental) as ``pts``, every
    subject entered at 0; returns the number of events. What the log-rank functions of one data set
    (plain, weighted, stratified) share, so that they analyse it with the simulation's own pass."""
    n_events = 0
    for p in range(time.size):
        pts.entry[p] = 0.0
        pts.exit_time[p] = time[p]
        pts.is_event[p] = event[p] != 0
        pts.label[p] = 2 if group[p] == 1 else 0
        n_events += pts.is_event[p]
    return n_events


@kernel(counted=False)
def final_analysis_sample(rng, design, theta_c, theta_e, patients, work, time_out, event_out, cut_out):
    """Trials as seen at their final analysis, one per row of ``time_out``.

    The trials of :func:`draw_patients` cut at their last look by
    :func:`schedule_cuts` (the final look, or the cap); per row, the control
    patients fill the first ``n_c`` columns and the experimental ones the
    rest (in entry order). ``time_out``: follow-up at the cut (exit, or
    ``cut - entry`` if censored there; ``inf`` if not yet enrolled);
    ``event_out``: an event by the cut; ``cut_out``: the cut.
    """
    n_c = design.n_c
    n = n_c + design.n_e
    for r in range(time_out.shape[0]):
        n_events = draw_patients(rng, design, theta_c, theta_e, patients, work.calendar)
        _, last, _ = schedule_cuts(n_events, patients.entry[n - 1], design, work)
        cut = work.cuts[last]
        cut_out[r] = cut
        column_c = 0
        column_e = n_c
        for p in range(n):
            if patients.label[p] >= 2:
                column = column_e
                column_e += 1
            else:
                column = column_c
                column_c += 1
            entry = patients.entry[p]
            exit_time = patients.exit_time[p]
            if entry > cut:
                time_out[r, column] = np.inf
                event_out[r, column] = False
            elif entry + exit_time <= cut:
                time_out[r, column] = exit_time
                event_out[r, column] = patients.is_event[p]
            else:
                time_out[r, column] = cut - entry
                event_out[r, column] = False
