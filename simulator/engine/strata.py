"""Strata, randomisation and the stratified analyses: compiled kernels.

The model of a stratified trial
-------------------------------
Stratification factors are crossed into *cells* (strata): factor ``f`` has
levels ``0 .. L_f - 1`` with prevalences ``share``; a patient's cell is
``sum_f level_f * stride_f`` (mixed radix, the first factor slowest). A
cell's prevalence is the product of its levels' shares (the factors are
independent), and each patient's cell is one uniform inverted through the
cells' cumulative prevalences (:func:`draw_cell`). Each cell has a
multiplier, the product of its levels' multipliers: the control hazard of a
survival endpoint, or the odds of both arms of a binary endpoint, are those
of the first cell times it (so the hazard ratio, or the odds ratio, is
common to all cells).

Arms are assigned in entry order:

- ``simple``: a uniform random permutation of the exact arm sizes (the
  package's randomisation before strata existed), blind to the strata,
  drawn before the first patient (:func:`start_trial`);
- ``blocks``: permuted blocks within cells: each cell fills blocks of
  ``block_size`` patients holding the allocation exactly, each patient
  taking one of the block's remaining slots at random (:func:`next_arm`);
- ``minimisation``: Pocock and Simon's method with the range as the measure
  and equal factor weights: for the new patient's level of each factor, the
  imbalance ``|m_E w_C - m_C w_E|`` (``m`` the patients of that level per
  arm so far, ``w`` the allocation) is summed over the factors as if the
  patient were given each arm; the arm with the smaller sum is given with
  probability ``probability`` and the other one otherwise; a tie is broken
  at random in the allocation ratio (:func:`next_arm`).

Blocks and minimisation take their uniform from the one that drew the
patient's cell (:func:`draw_cell`).

With ``blocks`` and ``minimisation`` the arm totals are random. A survival
trial draws, per patient in entry order, its cell, its arm (blocks,
minimisation) and its exit in one pass
(:func:`draw_stratified_patients`).

Arm imbalance (:func:`imbalance`): for each factor, the largest over its
levels of ``|m_E - r m_C|`` with ``r = w_E / w_C``, over all patients of
the trial (for 1:1, the difference in patients between the arms).

Stratified analyses
-------------------
The stratified log-rank (:func:`stratified_looks`) sums over the cells the
score ``E_e - O_e`` and the variance of the package's log-rank pass
(:func:`simulator.engine.patients.logrank_at_cut`), each cell analysed as a
data set of its own at the trial's cuts (unweighted, as statsmodels'
``survdiff(..., strata=...)``): ``z = sum U_s / sqrt(sum V_s)``. All the
cells are analysed in one pass (:func:`cells_at_cut`): the pass of
``logrank_at_cut``, its two streams merged in the same order, with a risk
set and sums per cell; each cell's sums take the same terms in the same
order as a pass over that cell alone, so they are the same numbers. The
Cochran-Mantel-Haenszel statistic (:func:`cmh_z`) sums, per cell with at
least two patients, the experimental successes minus their hypergeometric
mean and the hypergeometric variance (no continuity correction).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from simulator._jit import kernel
from simulator.config.schema import RANDOMISATION
from simulator.engine.binary import trial_rates
from simulator.engine.bits import seed_bits
from simulator.engine.patients import (
    analyse_looks,
    data_set_iv,
    draw_entries,
    exit_from_pieces,
    load_data_set,
    logrank_terms,
    null_share,
    patients,
    record_look,
    schedule_cuts,
    sort_exits,
    start_record,
    stream_a,
)
from simulator.errors import InputError
from simulator.stats.decision import CONTINUE, decide_z

__all__ = [
    "METHOD_CODES",
    "StrataDesign",
    "StrataWork",
    "arm_of",
    "assign_arms",
    "cmh_z",
    "decide_z_looks",
    "draw_cell",
    "draw_cells",
    "imbalance",
    "next_arm",
    "simulate_binary_stratified",
    "simulate_stratified",
    "strata_design",
    "strata_work",
    "stratified_logrank",
]

#: Randomisation method codes, by config name (``trial.randomisation``, whose names are
#: :data:`simulator.config.schema.RANDOMISATION`).
METHOD_CODES = {name: code for code, name in enumerate(RANDOMISATION)}
SIMPLE, BLOCKS, MINIMISATION = (METHOD_CODES[name] for name in ("simple", "blocks", "minimisation"))
_BELOW_ONE = float(np.nextafter(1.0, 0.0))

#: What every trial of a scenario shares: the cumulative prevalences of the
#: cells (``cell_cumulative``, the last 1); per factor, where its levels start
#: in the levels of all factors (``level_start``, one more entry than factors) and
#: its ``stride`` in the cell index; per cell its ``multiplier``, the
#: level of each factor (``cell_levels``, shape (cells, factors)) and that
#: level's row among the levels of all factors (``cell_rows``, same shape:
#: ``level_start[f] + cell_levels[c, f]``); the method code,
#: ``block_size`` with ``block_c`` control slots per block, the minimisation
#: ``probability`` and the allocation ``weight_c``, ``weight_e``.
StrataDesign = namedtuple("StrataDesign", [
    "cell_cumulative", "level_start", "stride", "multiplier", "cell_levels", "cell_rows", "method", "block_size",
    "block_c", "probability", "weight_c", "weight_e",
])

#: Per-trial scratch: each patient's ``cell`` and, for the binary kernel,
#: ``label`` (entry order: 0 control, 2 experimental); the state of
#: the randomisation: ``balance`` (per level of all factors, ``m_E w_C - m_C
#: w_E`` of its patients so far, minimisation) and ``block`` (cells, 2 arms:
#: the slots left in each cell's block); ``per_cell`` (cells, 2 arms) the
#: patients of the trial. The stratified log-rank's (:func:`exit_order`,
#: :func:`cells_at_cut`): in entry order ``cal_e`` (calendar exit) and
#: ``group_e`` (1 experimental); stream A in exit order, ``exit_y``,
#: ``cal_y``, ``event_y``, ``group_y``, ``cell_y``; the sort's ``buffer``,
#: ``source``, ``order``, ``index``, ``counts``, the pass's ``inside`` and
#: its two streams with a sentinel each, ``time_a``, ``code_a``, ``time_b``,
#: ``code_b`` (:func:`_cells_merged`);
#: per cell, ``entered`` (2, cells: patients entered by the cut, experimental
#: ones), ``risk`` (2, cells: at risk, experimental at risk), ``tally`` (4,
#: cells: leaving, experimental leaving, deaths, experimental deaths at the
#: current time), ``cell_sums`` (5, cells: score, variance, expected and
#: observed experimental events, observed events) and ``touched`` (the cells
#: with exits at the current time, and one slot more); per-look sums of the
#: stratified log-rank ``sums`` (6, looks): score, variance, O_c, E_c, O_e,
#: E_e, and ``enrolled``.
StrataWork = namedtuple("StrataWork", [
    "cell", "label", "balance", "block", "per_cell", "cal_e", "group_e", "exit_y", "cal_y", "event_y", "group_y", "cell_y",
    "buffer", "source", "order", "index", "counts", "inside", "time_a", "code_a", "time_b", "code_b", "entered",
    "risk", "tally", "cell_sums", "touched", "sums", "enrolled",
])


def strata_design(shares, multipliers, *, method="simple", block_size=None, probability=None, allocation=(1, 1)):
    """A validated :class:`StrataDesign`.

    Parameters
    ----------
    shares : sequence of sequences of float
        Per factor, the prevalence of each level (each summing to 1).
    multipliers : sequence of sequences of float
        Per factor, each level's multiplier (> 0); a cell's is their product.
    method : {"simple", "blocks", "minimisation"}
    block_size : int, optional
        Patients per block (a multiple of ``sum(allocation)``); blocks only.
    probability : float, optional
        Chance of the arm that minimises the imbalance, in [0.5, 1];
        minimisation only.
    allocation : (int, int)

    Examples
    --------
    >>> d = strata_design([[0.6, 0.4], [0.5, 0.5]], [[1.0, 2.0], [1.0, 1.5]])
    >>> d.multiplier.tolist()
    [1.0, 1.5, 2.0, 3.0]
    """
    if method not in METHOD_CODES:
        raise InputError(f"`method` must be one of {', '.join(METHOD_CODES)}, got {method!r}")
    if len(shares) == 0 or len(shares) != len(multipliers):
        raise InputError("`shares` and `multipliers` need one entry per factor (at least one)")
    w_c, w_e = (int(a) for a in allocation)
    if w_c < 1 or w_e < 1:
        raise InputError("`allocation` must be two positive integers")
    level_start, sizes, factor_shares, factor_multipliers = [0], [], [], []
    for share, multiplier in zip(shares, multipliers):
        share = np.asarray(share, dtype=float)
        multiplier = np.asarray(multiplier, dtype=float)
        if share.ndim != 1 or share.size < 2 or np.any(share <= 0) or abs(share.sum() - 1.0) > 1e-9:
            raise InputError("each factor's `shares` must be >= 2 positive numbers summing to 1")
        if multiplier.shape != share.shape or np.any(~np.isfinite(multiplier)) or np.any(multiplier <= 0):
            raise InputError("each factor's `multipliers` must be one positive number per level")
        factor_shares.append(share)
        level_start.append(level_start[-1] + share.size)
        sizes.append(share.size)
        factor_multipliers.append(multiplier)
    n_cells = int(np.prod(sizes))
    stride = np.ones(len(sizes), dtype=np.int64)
    for f in range(len(sizes) - 2, -1, -1):
        stride[f] = stride[f + 1] * sizes[f + 1]
    cell_levels = np.empty((n_cells, len(sizes)), dtype=np.int64)
    cell_multiplier = np.ones(n_cells)
    cell_share = np.ones(n_cells)
    for c in range(n_cells):
        for f, size in enumerate(sizes):
            level = (c // stride[f]) % size
            cell_levels[c, f] = level
            cell_multiplier[c] *= factor_multipliers[f][level]
            cell_share[c] *= factor_shares[f][level]
    cell_cumulative = np.cumsum(cell_share)
    cell_cumulative[-1] = 1.0
    code = METHOD_CODES[method]
    size = int(block_size) if block_size is not None else 2 * (w_c + w_e)
    if code == BLOCKS and (size < 2 or size % (w_c + w_e)):
        raise InputError("`block_size` must be a multiple of the allocation's sum")
    prob = 0.8 if probability is None else float(probability)
    if not 0.5 <= prob <= 1.0:
        raise InputError("`probability` must be in [0.5, 1]")
    level_start = np.array(level_start, dtype=np.int64)
    return StrataDesign(
        cell_cumulative, level_start, stride, cell_multiplier, cell_levels,
        (cell_levels + level_start[None, :-1]).astype(np.uint64),  # unsigned: indices without a wraparound test
        code, size, size * w_c // (w_c + w_e), prob, w_c, w_e,
    )


def strata_work(n, design=None, n_looks=1, *, n_cells=1):
    """Scratch arrays for trials of ``n`` patients (see :class:`StrataWork`).

    Sized for ``design`` (a :class:`StrataDesign`), or for ``n_cells`` cells
    when it is None (an analysis of given strata).
    """
    n_levels = 1
    if design is not None:
        n_cells, n_levels = design.multiplier.size, int(design.level_start[-1])
    return StrataWork(
        cell=np.empty(n, dtype=np.int64), label=np.empty(n, dtype=np.int64), balance=np.zeros(n_levels, dtype=np.int64),
        block=np.zeros((n_cells, 2), dtype=np.int64), per_cell=np.zeros((n_cells, 2), dtype=np.int64),
        cal_e=np.empty(n), group_e=np.empty(n, dtype=np.int64), exit_y=np.empty(n), cal_y=np.empty(n),
        event_y=np.empty(n, dtype=np.bool_), group_y=np.empty(n, dtype=np.int64), cell_y=np.empty(n, dtype=np.int64),
        buffer=np.empty(n), source=np.empty(n, dtype=np.int64), order=np.empty(n, dtype=np.int64),
        index=np.empty(n, dtype=np.int64), counts=np.empty(2 * n + 2, dtype=np.int64),
        inside=np.empty(n, dtype=np.int64), time_a=np.empty(n + 1), code_a=np.empty(n + 1, dtype=np.int64),
        time_b=np.empty(n + 1), code_b=np.empty(n + 1, dtype=np.int64), entered=np.zeros((2, n_cells), dtype=np.int64),
        risk=np.zeros((2, n_cells)), tally=np.zeros((4, n_cells), dtype=np.int64), cell_sums=np.zeros((5, n_cells)),
        touched=np.zeros(n_cells + 1, dtype=np.int64), sums=np.zeros((6, n_looks)),
        enrolled=np.zeros(n_looks, dtype=np.int64),
    )


# --------------------------------------------------------------------------
# Cells and arms
# --------------------------------------------------------------------------


@kernel
def draw_cell(rng, cumulative):
    """One patient's cell and a uniform left over: ``(cell, residual)`` from one uniform.

    The uniform is inverted through the cells' cumulative prevalences (a
    cell's prevalence is the product of its levels' shares, so the levels of
    the factors are independent, each with its shares). Where it falls
    within its cell's interval, rescaled to [0, 1), is a uniform
    independent of the cell (``log2(1 / prevalence)`` of its 53 bits are
    spent on the cell): the randomisation's uniform (:func:`next_arm`), so
    that a patient costs one random number more than without strata.
    """
    u = rng.random()
    c = cell_of(u, cumulative)
    return c, residual_of(u, c, cumulative)


@kernel(leaf=True)
def cell_of(u, cumulative):
    """The cell of uniform ``u`` (:func:`draw_cell`)."""
    # Counted rather than searched: the cell is a coin toss for the CPU, so
    # a loop that stops early would be mispredicted at almost every patient.
    c = 0
    for j in range(cumulative.size - 1):
        c += u >= cumulative[j]
    return c


@kernel(leaf=True)
def residual_of(u, c, cumulative):
    """Where uniform ``u`` falls within the interval of its cell ``c``, rescaled to [0, 1) (:func:`draw_cell`)."""
    # Products and minima rather than selects: the cell is a coin toss for the CPU.
    low = cumulative[max(c - 1, 0)] * (c > 0)
    return min((u - low) / (cumulative[c] - low), _BELOW_ONE)  # 1.0 only by rounding


@kernel
def draw_cells(rng, design, n, cell):
    """The cells of ``n`` patients (:func:`draw_cell`)."""
    for p in range(n):
        cell[p] = draw_cell(rng, design.cell_cumulative)[0]


@kernel(counted=False)
def start_trial(rng, design, n_c, n_e, label, work):
    """Reset the randomisation's counts; for ``simple``, shuffle the exact arm labels into ``label``."""
    work.block[:, :] = 0
    work.balance[:] = 0
    work.per_cell[:, :] = 0
    if design.method == SIMPLE:
        n = n_c + n_e
        for p in range(n):
            label[p] = 0 if p < n_c else 2
        for p in range(n - 1, 0, -1):
            q = int(rng.random() * (p + 1))
            label[p], label[q] = label[q], label[p]


@kernel(leaf=True)
def arm_of(u, c, method, block, block_c, block_size, balance, cell_rows, probability, w_c, w_e):
    """The arm (0 control, 1 experimental) of the next patient, in cell ``c``: blocks or minimisation.

    ``u``: a uniform on [0, 1) (module docstring); ``block`` and
    ``balance`` (the state of :class:`StrataWork`) are updated; the other
    arguments are the :class:`StrataDesign`'s. Arrays and numbers rather
    than the named tuples, and a leaf kernel (:mod:`simulator._jit`): this
    runs once per patient, and a call costs a reference count per array
    passed otherwise (with the tuples about 150 ns, 100 times the work).
    The two rules are :func:`block_arm` and :func:`minimised_arm`.
    """
    if method == BLOCKS:
        return block_arm(u, c, block, block_c, block_size)
    return minimised_arm(u, c, balance, cell_rows, probability, w_c, w_e)


# Both rules compute on 0/1 integers rather than select: an arm is a chain of dependent loads and
# stores from one patient to the next, and LLVM turns a select on such a chain into a branch,
# mispredicted at every other patient here (the coin and the cell are random to the CPU).


@kernel(leaf=True)
def block_arm(u, c, block, block_c, block_size):
    """Permuted blocks: cell ``c``'s block refilled when empty, then one of its slots taken (:func:`arm_of`)."""
    left_c = block[c, 0]
    left_e = block[c, 1]
    empty = np.int64(left_c + left_e == 0)
    left_c += empty * block_c
    left_e += empty * (block_size - block_c)
    arm = np.int64(u * (left_c + left_e) >= left_c)
    block[c, 0] = left_c - (1 - arm)
    block[c, 1] = left_e - arm
    return arm


@kernel(leaf=True)
def minimised_arm(u, c, balance, cell_rows, probability, w_c, w_e):
    """Pocock-Simon minimisation for a patient of cell ``c`` (:func:`arm_of`).

    Keeps, per level, only ``d = m_E w_C - m_C w_E`` (``m`` its patients
    per arm so far, ``balance``): the imbalances ``|m_E w_C - (m_C + 1)
    w_E|`` and ``|(m_E + 1) w_C - m_C w_E|`` of the module docstring are
    ``|d - w_E|`` and ``|d + w_C|``, integers (scaled by ``w_C w_E``), so
    that ties are exact. Their difference is ``w_E - w_C - 2 d`` clipped to
    ``[-(w_C + w_E), w_C + w_E]`` (the two absolute values, case by case).
    """
    span = w_c + w_e
    offset = w_e - w_c
    excess = 0  # the imbalance if control minus the imbalance if experimental
    for f in range(cell_rows.shape[1]):
        excess += _clipped(offset - 2 * balance[cell_rows[c, f]], span)
    # The minimising arm with the probability, the other arm otherwise; a tie by the allocation.
    minimising = np.int64(excess >= 0)
    chosen = minimising ^ np.int64(u >= probability)
    tie = np.int64(u * span >= w_c)
    arm = chosen + np.int64(excess == 0) * (tie - chosen)
    step = arm * span - w_e  # w_C if experimental, -w_E if control
    for f in range(cell_rows.shape[1]):
        balance[cell_rows[c, f]] += step
    return arm


@kernel(leaf=True)
def _clipped(x, bound):
    """``min(max(x, -bound), bound)`` for 64-bit integers, by shifts and masks (:func:`minimised_arm`)."""
    over = x - bound
    x = bound + (over & (over >> 63))  # min(x, bound): ``over >> 63`` is -1 where over < 0, else 0
    under = x + bound
    return x - (under & (under >> 63))  # max(x, -bound)


@kernel(counted=False)
def assign_cells(uniform, n, strata, work, label):
    """Cells and arms (blocks, minimisation) of ``n`` patients from their uniforms, into ``work.cell`` and ``label``.

    :func:`draw_cell` and :func:`arm_of` on uniforms drawn beforehand, in
    one loop per method: a loop that calls no random number generator and
    tests no method keeps its state in registers.
    """
    cumulative, cell = strata.cell_cumulative, work.cell
    if strata.method == MINIMISATION:
        balance, cell_rows, probability = work.balance, strata.cell_rows, strata.probability
        w_c, w_e = strata.weight_c, strata.weight_e
        for p in range(n):
            u = uniform[p]
            c = cell_of(u, cumulative)
            cell[p] = c
            label[p] = 2 * minimised_arm(residual_of(u, c, cumulative), c, balance, cell_rows, probability, w_c, w_e)
    elif strata.method == BLOCKS:
        block, block_c, block_size = work.block, strata.block_c, strata.block_size
        for p in range(n):
            u = uniform[p]
            c = cell_of(u, cumulative)
            cell[p] = c
            label[p] = 2 * block_arm(residual_of(u, c, cumulative), c, block, block_c, block_size)
    else:
        for p in range(n):
            cell[p] = cell_of(uniform[p], cumulative)


@kernel
def next_arm(u, design, c, work):
    """:func:`arm_of` with the design's and ``work``'s arrays (blocks or minimisation)."""
    return arm_of(u, c, design.method, work.block, design.block_c, design.block_size, work.balance,
                  design.cell_rows, design.probability, design.weight_c, design.weight_e)


@kernel
def assign_arms(rng, design, n_c, n_e, cell, work, label):
    """Arms of the ``n_c + n_e`` patients of ``cell`` (entry order): ``label`` 0 control, 2 experimental.

    :func:`start_trial`, then :func:`next_arm` per patient (blocks,
    minimisation); ``work.per_cell`` counts the patients per cell and arm.
    """
    start_trial(rng, design, n_c, n_e, label, work)
    for p in range(n_c + n_e):
        c = cell[p]
        if design.method != SIMPLE:
            label[p] = 2 * next_arm(rng.random(), design, c, work)
        work.per_cell[c, label[p] >> 1] += 1


@kernel(counted=False)
def imbalance(design, work, out):
    """Per factor, the largest over its levels of ``|m_E - r m_C|`` (``r = w_E / w_C``) into ``out``.

    From the patients per cell and arm (``work.per_cell``), summed into the
    factors' levels.
    """
    per_cell = work.per_cell
    n_factors = design.stride.size
    ratio = design.weight_e / design.weight_c
    for f in range(n_factors):
        worst = 0.0
        for level in range(design.level_start[f + 1] - design.level_start[f]):
            m_c = 0
            m_e = 0
            for c in range(per_cell.shape[0]):
                if design.cell_levels[c, f] == level:
                    m_c += per_cell[c, 0]
                    m_e += per_cell[c, 1]
            worst = max(worst, abs(m_e - ratio * m_c))
        out[f] = worst


# --------------------------------------------------------------------------
# Survival: patients and the stratified log-rank
# --------------------------------------------------------------------------


@kernel(counted=False)
def draw_stratified_patients(rng, design, strata, theta_c, theta_e, patients, work, calendar):
    """Entries, cells, arms and exits of one stratified trial; returns the number of events.

    As :func:`simulator.engine.patients.draw_patients`, with per patient in
    entry order its cell and its arm from one uniform (:func:`draw_cell`,
    :func:`arm_of`; ``simple``: shuffled beforehand by :func:`start_trial`)
    and its exit, the event rate times the cell's multiplier. The random
    numbers come in that order whatever the model; with exponential
    survival and nothing else they are drawn first and the patients made
    from them in loops without a generator call (:func:`assign_cells`),
    otherwise in one pass (whether a dropout time is drawn depends on the
    arm).
    """
    n = design.n_c + design.n_e
    seed_bits(rng, patients.bits)
    draw_entries(patients.bits, n, design.acc_edges, design.acc_cumulative, patients.entry)
    start_trial(rng, strata, design.n_c, design.n_e, patients.label, work)
    method = strata.method
    cumulative, multiplier = strata.cell_cumulative, strata.multiplier
    cell, label, per_cell, block, balance = work.cell, patients.label, work.per_cell, work.block, work.balance
    block_c, block_size, cell_rows = strata.block_c, strata.block_size, strata.cell_rows
    probability, w_c, w_e = strata.probability, strata.weight_c, strata.weight_e
    # The design's fields taken out once (see simulator.engine.patients.exit_from_pieces).
    times, hazards, cumulative_c = design.times, design.hazards, design.cumulative
    times_e, hazards_e, cumulative_e = design.times_e, design.hazards_e, design.cumulative_e
    cure_c, cure_e, longest = design.cure_c, design.cure_e, design.max_follow_up
    drop_c, drop_e = design.dropout_c, design.dropout_e
    # Exponential survival in both arms, nothing else: exit_from_pieces reduces to (unit / theta) / hazard
    # (the same operations, so the same numbers; as simulator.engine.patients.draw_patients), at a fraction
    # of its cost.
    exponential = times.size == 1 and times_e.size == 1 and cure_c == 0.0 and cure_e == 0.0 and drop_c == 0.0 \
        and drop_e == 0.0 and longest == np.inf
    n_events = 0
    if exponential:
        # The random numbers first, in the order of the loop below (per patient the cell's uniform,
        # then the unit exponential: the same numbers), then loops that call no generator: a call
        # to the generator spills every value the loop holds in registers.
        uniform, unit = work.buffer, patients.exit_time  # work.buffer: the sort's, later (exit_order)
        for p in range(n):
            uniform[p] = rng.random()
            unit[p] = rng.exponential()
        assign_cells(uniform, n, strata, work, label)
        h_c, h_e = hazards[0], hazards_e[0]
        for p in range(n):
            c = cell[p]
            experimental = label[p] >= 2
            per_cell[c, label[p] >> 1] += 1
            theta = (theta_e if experimental else theta_c) * multiplier[c]
            exit_time = (unit[p] / theta) / (h_e if experimental else h_c)
            is_event = exit_time < np.inf
            patients.exit_time[p] = exit_time
            patients.is_event[p] = is_event
            # Written whatever the exit, counted only for an event: no branch on it.
            calendar[n_events] = patients.entry[p] + exit_time
            n_events += is_event
        return n_events
    for p in range(n):
        # draw_cell, the residual uniform only where it is used (a division).
        u = rng.random()
        c = cell_of(u, cumulative)
        cell[p] = c
        if method != SIMPLE:
            label[p] = 2 * arm_of(residual_of(u, c, cumulative), c, method, block, block_c, block_size, balance,
                                  cell_rows, probability, w_c, w_e)
        # The arm picked by selects, not branches (as simulator.engine.patients.draw_patients).
        experimental = label[p] >= 2
        per_cell[c, label[p] >> 1] += 1
        theta = (theta_e if experimental else theta_c) * multiplier[c]
        unit = rng.exponential()
        dropout = drop_e if experimental else drop_c
        drop_time = rng.exponential() / dropout if dropout > 0.0 else np.inf
        exit_time, is_event = exit_from_pieces(
            unit, theta, drop_time, times_e if experimental else times, hazards_e if experimental else hazards,
            cumulative_e if experimental else cumulative_c, cure_e if experimental else cure_c, longest,
        )
        patients.exit_time[p] = exit_time
        patients.is_event[p] = is_event
        # Written whatever the exit, counted only for an event: no branch on it.
        calendar[n_events] = patients.entry[p] + exit_time
        n_events += is_event
    return n_events


@kernel(counted=False)
def exit_order(patients, cell, final_cut, work):
    """Stream A of every cell at once, in exit order; returns its length.

    What :func:`simulator.engine.patients.prepare_cuts` does for one data
    set, over all patients, carrying each one's cell: in entry order the
    calendar exits ``work.cal_e`` and arms ``work.group_e``; the patients
    whose calendar exit is at or before ``final_cut``, sorted by exit time
    (a bucket sort, twice as many buckets as values over the finite range,
    ``inf`` last, then an insertion pass: expected linear time), into
    ``exit_y``, ``cal_y``, ``event_y``, ``group_y`` and ``cell_y``. A cell's
    exits are then the sorted exits filtered: one sort for all cells.
    """
    entry, exit_time, label, is_event = patients.entry, patients.exit_time, patients.label, patients.is_event
    n = entry.size
    cal_e, group_e, buffer, source = work.cal_e, work.group_e, work.buffer, work.source
    keys, order, index, counts = work.exit_y, work.order, work.index, work.counts
    n_a = 0
    high = 0.0
    for p in range(n):
        # Branch-free: whether a patient is in stream A is a coin toss for the CPU.
        exit_p = exit_time[p]
        cal = entry[p] + exit_p
        group_e[p] = label[p] >= 2
        cal_e[p] = cal
        buffer[n_a] = exit_p
        source[n_a] = p
        selected = cal <= final_cut
        high = max(high, exit_p if selected and exit_p < np.inf else 0.0)
        n_a += selected
    sort_exits(buffer, source, n_a, high, index, counts, keys, order)
    for j in range(n_a):
        p = order[j]
        work.cal_y[j] = cal_e[p]
        work.event_y[j] = is_event[p]
        work.group_y[j] = group_e[p]
        work.cell_y[j] = cell[p]
    return n_a


@kernel(counted=False)
def cells_at_cut(cut, events_at_cut, entry, cell, n_a, work, k, margin):
    """The log-rank pass of every cell at calendar time ``cut``, summed into ``work.sums[:, k]``.

    The pass of :func:`simulator.engine.patients.logrank_at_cut` (see its
    module's docstring for the two streams), over all patients with a
    risk set per cell: stream A from :func:`exit_order`, up to the
    ``events_at_cut``-th event by the cut, stream B in descending entry
    order; ``work.entered`` holds the patients per cell entered by the cut.
    A patient administratively censored leaves its cell's risk set at the
    same moment as in that cell's own pass, so each cell's risk sets, terms
    and sums are those of its own pass, added in the same order. The
    cells' sums are then added in cell order, as the per-cell passes were.
    As ``logrank_at_cut``, two passes give these sums: :func:`_cells_merged`,
    one patient at a time without branches, when no event time is shared
    with the exit before it, and :func:`_cells_grouped` otherwise (the
    first finds out, and the second then starts over). With a
    non-inferiority ``margin`` (a hazard ratio; None for superiority, the
    margin's arithmetic then compiled out) each cell's score and variance
    are the score test's at it, as in
    :func:`simulator.engine.patients.weighted_logrank_at_cut` (O and E stay
    at HR 1).
    """
    n_cells = work.risk.shape[1]
    cal_y, event_y, inside = work.cal_y, work.event_y, work.inside
    enrolled = np.searchsorted(entry, cut, side="right")
    m = stream_a(cut, events_at_cut, cal_y, event_y, inside, n_a)
    _start_cells(work)
    if _cells_merged(cut, m, enrolled, entry, cell, work, margin):
        _start_cells(work)
        _cells_grouped(cut, events_at_cut, m, enrolled, entry, cell, work, margin)
    score, variance, expected_e, observed_e, observed = (work.cell_sums[0], work.cell_sums[1], work.cell_sums[2],
                                                         work.cell_sums[3], work.cell_sums[4])
    sums = work.sums
    for c in range(n_cells):
        sums[0, k] += score[c]
        sums[1, k] += variance[c]
        sums[2, k] += observed[c] - observed_e[c]
        sums[3, k] += observed[c] - expected_e[c]
        sums[4, k] += observed_e[c]
        sums[5, k] += expected_e[c]
    work.enrolled[k] = enrolled


@kernel(counted=False)
def _start_cells(work):
    """Each cell's risk set at the cut (the patients entered by it), its sums and tallies at 0."""
    for c in range(work.risk.shape[1]):
        work.risk[0, c] = work.entered[0, c]
        work.risk[1, c] = work.entered[1, c]
    work.tally[:, :] = 0
    work.cell_sums[:, :] = 0.0


@kernel(counted=False)
def _cells_merged(cut, m, enrolled, entry, cell, work, margin):
    """:func:`cells_at_cut`'s sums one patient at a time, without branches; returns whether a time was tied.

    As :func:`simulator.engine.patients` merges the two streams of one data
    set (``_merged_pass``): stream A (``work.inside[:m]``) and stream B
    (the enrolled patients still in follow-up at the cut, at ``cut -
    entry``, up to the last exit of stream A) copied out with a sentinel
    each, each patient coded with its event, arm and cell, and merged in one
    loop: each patient leaves its cell's risk set after its time, and an
    event adds its terms (each term times the event's 0 or 1, so that a
    censoring adds exact zeros). On ties stream A comes first, so a patient
    censored at an event time is still at risk at it. These are the sums of
    :func:`_cells_grouped`, in the same order, whenever no event shares its
    time with the patient before it (in any cell); the result reports that
    one did (the sums are then not used).
    """
    exit_y, event_y, group_y, cell_y, inside = work.exit_y, work.event_y, work.group_y, work.cell_y, work.inside
    cal_e, group_e = work.cal_e, work.group_e
    time_a, code_a, time_b, code_b = work.time_a, work.code_a, work.time_b, work.code_b
    at_risk, at_risk_e = work.risk[0], work.risk[1]
    score, variance, expected_e, observed_e, observed = (work.cell_sums[0], work.cell_sums[1], work.cell_sums[2],
                                                         work.cell_sums[3], work.cell_sums[4])
    # Code: 1 for an event, plus 2 for the experimental arm, plus 4 times the cell.
    for j in range(m):
        ia = inside[j]
        time_a[j] = exit_y[ia]
        code_a[j] = event_y[ia] + 2 * group_y[ia] + 4 * cell_y[ia]
    time_a[m] = np.inf
    last = time_a[m - 1] if m > 0 else -np.inf
    n_b = 0
    q = enrolled - 1
    while q >= 0 and cut - entry[q] < last:
        time_b[n_b] = cut - entry[q]
        code_b[n_b] = 2 * group_e[q] + 4 * cell[q]
        n_b += cal_e[q] > cut
        q -= 1
    time_b[n_b] = np.inf
    tied = False
    previous = -np.inf
    i = 0
    j = 0
    while i < m:
        t_a = time_a[i]
        t_b = time_b[j]
        take_a = np.int64(t_a <= t_b)
        t = min(t_a, t_b)
        code = code_a[i] * take_a + code_b[j] * (1 - take_a)
        event = code & 1
        g = (code >> 1) & 1
        c = code >> 2
        d = float(event)
        share = at_risk_e[c] / at_risk[c]
        at_null = share if margin is None else null_share(at_risk[c], at_risk_e[c], margin)
        score[c] += d * at_null - d * g  # per time: less cancellation than E_e - O_e
        expected_e[c] += d * share
        variance[c] += d * (at_null * (1.0 - at_null))
        observed_e[c] += event * g
        observed[c] += event
        tied |= (t == previous) & (event == 1)
        previous = t
        at_risk[c] -= 1.0
        at_risk_e[c] -= g
        i += take_a
        j += 1 - take_a
    return tied


@kernel(counted=False)
def _cells_grouped(cut, events_at_cut, m, enrolled, entry, cell, work, margin):
    """:func:`cells_at_cut`'s sums with tied times grouped.

    Merges stream A (``work.inside[:m]``) with stream B as it goes; at each
    exit time, the terms (:func:`simulator.engine.patients.logrank_terms`)
    of all the deaths of each cell with exits then (``work.touched``;
    mostly one).
    """
    at_risk, at_risk_e = work.risk[0], work.risk[1]
    leaving, leaving_e, deaths, deaths_e = work.tally[0], work.tally[1], work.tally[2], work.tally[3]
    score, variance, expected_e, observed_e, observed = (work.cell_sums[0], work.cell_sums[1], work.cell_sums[2],
                                                         work.cell_sums[3], work.cell_sums[4])
    exit_y, event_y, group_y, cell_y = work.exit_y, work.event_y, work.group_y, work.cell_y
    cal_e, group_e, touched, inside = work.cal_e, work.group_e, work.touched, work.inside
    ib = enrolled - 1
    left = events_at_cut
    ia = 0
    time = np.nan  # no group yet
    n_touched = 0
    for j in range(m + 1):
        if j < m:
            ia = inside[j]
            t = exit_y[ia]
        else:
            t = np.inf  # flush the last group
        if t != time or j == m:
            for q in range(n_touched):
                c = touched[q]
                if deaths[c] > 0:
                    mean, var = logrank_terms(at_risk[c], at_risk_e[c], deaths[c], 1.0)
                    mean_null, var_null = (mean, var) if margin is None else logrank_terms(
                        at_risk[c], at_risk_e[c], deaths[c], margin)
                    score[c] += mean_null - deaths_e[c]  # per time: less cancellation than E_e - O_e
                    expected_e[c] += mean
                    variance[c] += var_null
                    observed_e[c] += deaths_e[c]
                    observed[c] += deaths[c]
                    left -= deaths[c]
                at_risk[c] -= leaving[c]
                at_risk_e[c] -= leaving_e[c]
                deaths[c] = 0
                deaths_e[c] = 0
                leaving[c] = 0
                leaving_e[c] = 0
            n_touched = 0
            if left <= 0 or j == m:
                break
            while ib >= 0 and cut - entry[ib] < t:
                # Branch-free: stream A subjects met here have left already.
                censored = cal_e[ib] > cut
                c = cell[ib]
                at_risk[c] -= censored
                at_risk_e[c] -= censored * group_e[ib]
                ib -= 1
            time = t
        c = cell_y[ia]
        # Listed once per time, without a branch: the first exit of its cell at this time (a
        # repeat is written into the next slot and left there, hence the slot more).
        touched[n_touched] = c
        n_touched += leaving[c] == 0
        g = group_y[ia]
        event = event_y[ia]
        leaving[c] += 1
        leaving_e[c] += g
        deaths[c] += event
        deaths_e[c] += event * g


@kernel(counted=False)
def add_cells(cuts, at_cuts, last, patients, cell, work, margin):
    """The stratified log-rank at ``cuts[:last + 1]`` (``at_cuts``: the events by each), into ``work.sums`` and
    ``work.enrolled``.

    One :func:`exit_order` for the last cut, then per cut the patients
    entered by it per cell into ``work.entered`` and :func:`cells_at_cut`;
    ``sums[:, k]`` receives the summed score, variance, O_c, E_c, O_e and
    E_e at cut ``k``. ``work.per_cell`` must count the patients per cell
    and arm (as :func:`draw_stratified_patients` leaves it).
    """
    n_a = exit_order(patients, cell, cuts[last], work)
    work.sums[:, :] = 0.0
    work.enrolled[:] = 0
    entered, per_cell = work.entered, work.per_cell
    entry, group_e = patients.entry, work.group_e
    # The patients entered by a cut, counted from those entered by the cut before (all of them
    # before the first cut): the cuts come in calendar order, mostly after the last entry.
    for c in range(per_cell.shape[0]):
        entered[0, c] = per_cell[c, 0] + per_cell[c, 1]
        entered[1, c] = per_cell[c, 1]
    counted = entry.size
    for k in range(last + 1):
        enrolled = np.searchsorted(entry, cuts[k], side="right")
        for p in range(enrolled, counted):
            entered[0, cell[p]] -= 1
            entered[1, cell[p]] -= group_e[p]
        for p in range(counted, enrolled):
            entered[0, cell[p]] += 1
            entered[1, cell[p]] += group_e[p]
        counted = enrolled
        cells_at_cut(cuts[k], at_cuts[k], entry, cell, n_a, work, k, margin)


@kernel(counted=False)
def stratified_looks(n_events, design, patients, cell, n_cells, work, strata_work):
    """The stratified log-rank at every look up to the last; returns ``(reachable, last, capped)``.

    The cuts are the trial's (:func:`simulator.engine.patients.schedule_cuts`
    on all its events); :func:`add_cells` sums the cells' passes.
    """
    n = patients.entry.size
    reachable, last, capped = schedule_cuts(n_events, patients.entry[n - 1], design, work)
    # Two calls, not one with a conditional argument: Numba compiles the None one without the margin's arithmetic.
    if design.log_margin == 0.0:
        add_cells(work.cuts, work.at_cuts, last, patients, cell, strata_work, None)
    else:
        add_cells(work.cuts, work.at_cuts, last, patients, cell, strata_work, math.exp(design.log_margin))
    return reachable, last, capped


@kernel
def _stratified_logrank(time, event, group, cell, pts, strata_work):
    """One data set (every subject entered at 0, the cut after the last time) through :func:`add_cells`."""
    n_events = load_data_set(time, event, group, pts)
    strata_work.per_cell[:, :] = 0
    for p in range(time.size):
        strata_work.per_cell[cell[p], pts.label[p] >> 1] += 1
    cuts = np.full(1, np.inf)
    add_cells(cuts, np.full(1, n_events), 0, pts, cell, strata_work, None)
    return strata_work.sums[0, 0], strata_work.sums[1, 0]


@kernel(counted=False)
def analyse_stratified_looks(i, n_events, design, bounds, patients, cell, n_cells, work, strata_work, out):
    """Trial ``i`` analysed by the stratified log-rank at each look: row ``i`` of ``out``.

    The decisions, the stop and the non-inferiority z are those of
    :func:`simulator.engine.patients.analyse_looks`; every look up to the
    last is analysed and written (the stratified sums come in one pass over
    the cells).
    """
    reachable, last, capped = stratified_looks(n_events, design, patients, cell, n_cells, work, strata_work)
    start_record(i, last, capped, out)
    sums = strata_work.sums
    decided = False
    for k in range(last + 1):
        score, variance = sums[0, k], sums[1, k]
        o_c, e_c, o_e, e_e = sums[2, k], sums[3, k], sums[4, k], sums[5, k]
        # At a margin the score test's sums already (cells_at_cut), as the unstratified analysis.
        z = score / np.sqrt(variance) if variance > 0.0 else 0.0
        decided = record_look(i, k, last, reachable, z, o_c, e_c, o_e, e_e, work.cuts[k], work.at_cuts[k],
                              strata_work.enrolled[k], bounds, out, decided)
    return last


def stratified_logrank(time, event, group, stratum):
    """Stratified log-rank test: per-stratum scores and variances summed, unweighted.

    The kernel of the simulations (:func:`add_cells`) on one data set, each
    stratum analysed by the package's one log-rank pass
    (:func:`simulator.engine.survival.logrank`).

    Parameters
    ----------
    time, event, group : array_like
        As :func:`simulator.engine.survival.logrank`.
    stratum : array_like of int
        Each subject's stratum (any integers).

    Returns
    -------
    z, score, variance : float
        ``z = score / sqrt(variance)`` (0 if the variance is 0), positive
        when the experimental arm has fewer events than expected;
        ``score = sum (E_e - O_e)``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1.0, 2.0, 3.0, 4.0, 1.5, 2.5])
    >>> z, *_ = stratified_logrank(t, np.ones(6), np.array([0, 1, 0, 1, 0, 1]), np.array([0, 0, 0, 0, 1, 1]))
    >>> round(z, 4)
    1.1832
    """
    time, event, group, stratum = data_set_iv(time, event, group, stratum)
    levels, cell = np.unique(stratum, return_inverse=True)
    n = time.size
    score, variance = _stratified_logrank(time, event, group, cell.astype(np.int64), patients(n),
                                          strata_work(n, n_cells=int(levels.size)))
    return (score / math.sqrt(variance) if variance > 0 else 0.0), float(score), float(variance)


# --------------------------------------------------------------------------
# Binary: the Cochran-Mantel-Haenszel statistic
# --------------------------------------------------------------------------


@kernel
def cmh_z(n_cells, n_c, n_e, x_c, x_e):
    """Cochran-Mantel-Haenszel z over the cells (no continuity correction).

    ``n_c[s]``, ``n_e[s]``: patients per arm of cell ``s``; ``x_c``,
    ``x_e``: their successes. Positive when the experimental arm has more
    successes than expected; 0 when the variance is 0.
    """
    score = 0.0
    variance = 0.0
    for s in range(n_cells):
        total = n_c[s] + n_e[s]
        if total < 2:
            continue
        events = x_c[s] + x_e[s]
        score += x_e[s] - n_e[s] * events / total
        variance += n_c[s] * n_e[s] * events * (total - events) / (total * total * (total - 1.0))
    return score / np.sqrt(variance) if variance > 0.0 else 0.0


@kernel(counted=False)
def simulate_stratified(rng, n_sims, design, bounds, other_bounds, hazard_ratio, multiplier, strata, stratified,
                        compare, patients, work, strata_work, out, other, imbalances):
    """Stratified survival trials: ``out`` by the endpoint's analysis, ``other`` by the other one.

    The analysis is the stratified log-rank when ``stratified`` is true,
    else the plain one (:func:`simulator.engine.patients.analyse_looks`);
    with ``compare`` the same trials are analysed the other way too, into
    ``other`` with ``other_bounds`` (a paired comparison). ``imbalances``
    (trials, factors): :func:`imbalance` of each trial. Without reference
    counting (:mod:`simulator._jit`), as the survival engine's loop: nothing
    it reaches allocates.
    """
    n_cells = strata.multiplier.size
    for trial in range(n_sims):
        theta_c = multiplier[trial]
        n_events = draw_stratified_patients(rng, design, strata, theta_c, theta_c * hazard_ratio[trial], patients,
                                            strata_work, work.calendar)
        imbalance(strata, strata_work, imbalances[trial])
        if stratified:
            analyse_stratified_looks(trial, n_events, design, bounds, patients, strata_work.cell, n_cells, work,
                                     strata_work, out)
            if compare:
                analyse_looks(trial, n_events, design, other_bounds, patients, work, other, False)
        else:
            analyse_looks(trial, n_events, design, bounds, patients, work, out, False)
            if compare:
                analyse_stratified_looks(trial, n_events, design, other_bounds, patients, strata_work.cell, n_cells,
                                         work, strata_work, other)


@kernel
def _odds_scaled(p, multiplier):
    """The rate whose odds are ``multiplier`` times those of ``p`` (0 and 1 stay)."""
    if p <= 0.0 or p >= 1.0:
        return p
    odds = p / (1.0 - p) * multiplier
    return odds / (1.0 + odds)


@kernel
def simulate_binary_stratified(rng, n_sims, strata, n_c, n_e, look_total, p_c, p_e, prior_c, prior_e, use_prior,
                               odds, work, rates, successes, x_c, x_e, m_c, m_e, z_cmh, true_c, true_e, imbalances):
    """Stratified binary trials, per patient: cumulative counts per arm and the CMH z at each look.

    Per trial: its rates (``p_c``, ``p_e``, or drawn from the priors,
    oriented), each cell's rates with the odds times ``odds[cell]``
    (oriented), then per patient in entry order its cell, its arm and its
    outcome (one uniform). Look ``k`` reads the first ``look_total[k]``
    patients: ``x_c``, ``x_e`` successes and ``m_c``, ``m_e`` patients per
    arm, and the Cochran-Mantel-Haenszel z over the cells
    (:func:`cmh_z`). ``imbalances``: :func:`imbalance` over all patients.
    """
    n_cells = strata.multiplier.size
    n = n_c + n_e
    method = strata.method
    cumulative = strata.cell_cumulative
    per_cell, label, block, balance = work.per_cell, work.label, work.block, work.balance
    cell_rows = strata.cell_rows
    for trial in range(n_sims):
        pc, pe = trial_rates(rng, use_prior, prior_c, prior_e, p_c, p_e)
        true_c[trial] = pc
        true_e[trial] = pe
        for c in range(n_cells):
            rates[c, 0] = _odds_scaled(pc, odds[c])
            rates[c, 1] = _odds_scaled(pe, odds[c])
        start_trial(rng, strata, n_c, n_e, label, work)
        successes[:, :] = 0
        k = 0
        for p in range(n):
            c, u = draw_cell(rng, cumulative)
            if method != SIMPLE:
                label[p] = 2 * arm_of(u, c, method, block, strata.block_c, strata.block_size, balance, cell_rows,
                                      strata.probability, strata.weight_c, strata.weight_e)
            arm = label[p] >> 1
            per_cell[c, arm] += 1
            if rng.random() < rates[c, arm]:
                successes[c, arm] += 1
            while k < look_total.size and p + 1 == look_total[k]:
                sc = 0
                se = 0
                nc = 0
                ne = 0
                for s in range(n_cells):
                    sc += successes[s, 0]
                    se += successes[s, 1]
                    nc += per_cell[s, 0]
                    ne += per_cell[s, 1]
                x_c[trial, k] = sc
                x_e[trial, k] = se
                m_c[trial, k] = nc
                m_e[trial, k] = ne
                z_cmh[trial, k] = cmh_z(n_cells, per_cell[:, 0], per_cell[:, 1], successes[:, 0], successes[:, 1])
                k += 1
        imbalance(strata, work, imbalances[trial])


@kernel
def decide_z_looks(z, efficacy, unfavourable, futility, floor, stop_look, decision):
    """Per trial (rows of ``z``, looks in columns): the first look that does not continue, and its outcome.

    :func:`simulator.stats.decision.decide_z` at each look; the last look
    decides whatever the outcome.
    """
    n_sims, n_looks = z.shape
    for i in range(n_sims):
        for k in range(n_looks):
            outcome = decide_z(z[i, k], efficacy[k], unfavourable[k], futility[k], floor[k])
            if outcome != CONTINUE or k == n_looks - 1:
                stop_look[i] = k
                decision[i] = outcome
                break
