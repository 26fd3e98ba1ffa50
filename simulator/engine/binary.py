"""Numba kernels that simulate two-arm binary trials on sufficient statistics.

A trial is its cumulative number of events per arm at each look. Two
kernels simulate whole trials and decide them at every significance level
(Holm's procedure analyses the same trials at alpha / m, ..., alpha):

- :func:`simulate_fixed`, for fixed rates (the power and type I error
  streams): every trial draws from the same binomial distributions, one per
  arm and look increment, so the counts come from Walker alias tables
  (:func:`alias_table`) built once per plan from the exact pmf, one uniform
  per draw: per look one draw from a table of the pairs of new events
  (both arms) when the plan's pairs are few enough, else one per arm;
  the outcome at a look is read from a table indexed by the
  cumulative counts (:func:`decision_table`), filled by the one decision
  function :func:`simulator.stats.decision.decide`, which also decides the
  rare counts outside the tabulated window;
- :func:`simulate_prior`, for rates drawn per trial from the priors
  (assurance), with the same decision tables: a fixed design draws each
  count from its prior predictive distribution (an alias table) and then
  the rate from its posterior; a design with looks draws the rates, then
  Numba's exact per-trial binomials (``rng.binomial``).

:func:`decide_counts` decides counts simulated elsewhere (the joint
per-patient engine, whose patients per look may vary by trial).

Everything is on the oriented scale (higher rate = better for the
experimental arm); the endpoint layer flips harms before calling.
"""


import math

import numpy as np

from simulator._jit import kernel
from simulator.stats.decision import decide

#: Trials whose uniforms are drawn together (:func:`simulate_fixed`).
BLOCK = 256
#: The experimental events' bits of a packed draw (:func:`pack`).
LOW_BITS = (1 << 32) - 1


def pack(new_c, new_e):
    """One draw's new events of both arms as one integer: control times 2^32 plus experimental.

    Alias tables return packed outcomes, so a table of pairs (both arms in
    one draw) and a table of one arm (the other arm's part 0) add up the
    same way.

    >>> int(pack(3, 5)) >> 32, int(pack(3, 5)) & LOW_BITS
    (3, 5)
    """
    return (np.asarray(new_c, dtype=np.int64) << 32) + np.asarray(new_e, dtype=np.int64)


@kernel
def draw_rate(rng, prior):
    """One draw from ``[w_vague, a, b, a_vague, b_vague]`` (a two-part Beta mixture)."""
    if prior[0] > 0.0 and rng.random() < prior[0]:
        return rng.beta(prior[3], prior[4])
    return rng.beta(prior[1], prior[2])


@kernel(inline="always")
def trial_rates(rng, use_prior, prior_c, prior_e, p_c, p_e):
    """One trial's true rates ``(p_C, p_E)``: drawn from the priors (control first), or the fixed ones."""
    if use_prior:
        pc = draw_rate(rng, prior_c)
        return pc, draw_rate(rng, prior_e)
    return p_c, p_e


@kernel
def decide_counts(code, x_c, x_e, n_c, n_e, theta0, efficacy, unfavourable, futility, floor,
                  fav_table, unf_table, fut_table, floor_table, stop_look, decision):
    """Apply one test and its bounds look by look; record where each trial stops.

    Parameters
    ----------
    code : int
        Test code.
    x_c, x_e : int64 arrays (n_sims, K)
        Cumulative events per arm at each look.
    n_c, n_e : int64 arrays (n_sims, K)
        Cumulative evaluable patients per arm at each look (per trial, so
        that looks at calendar times with random numbers of patients work).
    theta0 : float
        Null risk difference.
    efficacy, unfavourable, futility, floor : float64 arrays (K,)
        z bounds per look (see :func:`simulator.stats.decision.decide`);
        ``floor`` is ``-a_k`` for a two-sided inner wedge, else ``-inf``.
    fav_table, unf_table, fut_table, floor_table : int64 arrays (K, M)
        Fisher critical counts per look (dummy ``(K, 1)`` for other tests;
        for Fisher they must match ``n_c``, ``n_e`` of every trial).
    stop_look, decision : int8 arrays (n_sims,)
        Output: the look at which the trial stopped and its outcome code.
    """
    n_sims, n_looks = x_c.shape
    for i in range(n_sims):
        for k in range(n_looks):
            outcome = decide(
                code, x_c[i, k], n_c[i, k], x_e[i, k], n_e[i, k], theta0,
                efficacy[k], unfavourable[k], futility[k], floor[k],
                fav_table[k], unf_table[k], fut_table[k], floor_table[k],
            )
            if outcome != 0 or k == n_looks - 1:
                stop_look[i] = k
                decision[i] = outcome
                break


# ---------------------------------------------------------------- fixed rates
#
# With fixed rates and fixed look sizes every trial draws from the same few
# binomial distributions (one per arm and look increment), so the draws come
# from Walker alias tables built once per plan from the exact pmf, and the
# decision at each look is read from a table of outcomes indexed by the
# cumulative counts (tabulated where the counts can plausibly fall, decided
# by :func:`simulator.stats.decision.decide` itself elsewhere).


@kernel
def alias_table(pmf, prob, alias):
    """Walker's alias table of a discrete distribution (Vose's construction, in exact integers).

    Parameters
    ----------
    pmf : float64 array (m,)
        Probabilities of the outcomes 0..m-1; they must sum to 1 up to
        rounding (they are rescaled to sum to 1).
    prob, alias : float64 and int64 arrays (m,)
        Output: cell ``j`` returns ``j`` with probability ``prob[j]`` and
        ``alias[j]`` otherwise, so that outcome ``j`` has the probability
        ``(prob[j] + sum of (1 - prob[i]) over the cells i aliased to j) / m``.

    Notes
    -----
    Each probability becomes a whole number of units of ``2^-k / m``, with
    ``k`` as large as an int64 holds for ``m`` cells and a double holds
    exactly for the largest cell (``2^53`` units; ``k = 46`` for a 77 x 77
    table, whose largest cell is 51 times the mean), by the largest
    remainders: within a unit of its exact share. The construction then
    moves whole units only, so it is exact: the table's distribution is the
    pmf to within about a unit per outcome, far below the resolution of the
    coin of :func:`alias_pick`. (In floating point the cell that gives to
    many others carries one rounding error per step, at its own magnitude:
    3e-15 on an outcome of 2e-4 in a 77 x 77 table, about 10^3 units.)
    Deterministic: the same pmf always gives the same table.
    """
    m = pmf.shape[0]
    total = 0.0
    largest = 0.0
    for j in range(m):
        total += pmf[j]
        largest = max(largest, pmf[j])
    # Units as fine as both allow: m cells of 2^bits units in an int64, and
    # the largest cell's units a whole number a double holds exactly (2^53).
    bits = 62
    while m >> (62 - bits) > 0:
        bits -= 1
    bits = min(bits, 52 - max(0, math.ceil(math.log2(largest / total * m))))
    one = np.int64(1) << bits  # a cell's full capacity, in units
    # Largest remainders: each outcome rounded down to whole units, then the
    # units missing from m full cells one each to the outcomes that lost
    # the most (every outcome within a unit of its exact share).
    units = np.empty(m, dtype=np.int64)
    lost = np.empty(m)
    assigned = np.int64(0)
    for j in range(m):
        exact = pmf[j] / total * m * one
        units[j] = np.int64(exact)
        lost[j] = exact - units[j]
        assigned += units[j]
    missing = m * one - assigned
    order = np.argsort(-lost, kind="mergesort")
    for i in range(min(max(missing, 0), m)):
        units[order[i]] += 1
    # Float sums can miss m * one by more than m units only for a pmf that
    # does not sum to 1; then the most probable outcome takes the difference.
    units[np.argmax(units)] += m * one - np.sum(units)
    small = np.empty(m, dtype=np.int64)
    large = np.empty(m, dtype=np.int64)
    n_small = 0
    n_large = 0
    for j in range(m):
        alias[j] = j
        if units[j] < one:
            small[n_small] = j
            n_small += 1
        else:
            large[n_large] = j
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        n_large -= 1
        g = large[n_large]
        prob[s] = units[s] / one  # exact: fewer than 2^53 units
        alias[s] = g
        units[g] -= one - units[s]
        if units[g] < one:
            small[n_small] = g
            n_small += 1
        else:
            large[n_large] = g
            n_large += 1
    # In whole units both lists end together, every remaining cell full.
    for i in range(n_large):
        prob[large[i]] = 1.0
    for i in range(n_small):
        prob[small[i]] = 1.0


@kernel(inline="always")
def alias_pick(u, prob, outcome, other, offset, size):
    """The outcome of the alias table at ``offset:offset + size`` for the uniform ``u``.

    One uniform double ``u`` (53 random bits) gives both the cell,
    ``j = floor(u size)``, and the coin, the fraction ``u size - j``: the
    cell's own ``outcome[j]`` when the coin falls below ``prob[j]``, else
    its alias's, ``other[j]``. The coin is uniform on a grid of spacing
    ``size 2^-53``, so each acceptance probability is exact to that
    spacing and each outcome's probability (a sum of a cell or two divided
    by ``size``) to about ``2^-53``.
    """
    x = u * size
    j = min(int(x), size - 1)  # u * size can round up to size when u is within an ulp of 1
    # All loads before the choice, so that it compiles to a select.
    mine = outcome[offset + j]
    theirs = other[offset + j]
    return mine if x - j < prob[offset + j] else theirs


@kernel
def _decide_outside(code, xc, xe, k, level, n_c, n_e, theta0, efficacy, unfavourable, futility, floor, fav, unf, fut,
                    floor_table):
    """The outcome of counts outside the tabulated window, decided afresh (a rare call, kept out of line)."""
    return decide(
        code, xc, n_c[k], xe, n_e[k], theta0, efficacy[level, k], unfavourable[level, k], futility[level, k],
        floor[level, k], fav[level, k], unf[level, k], fut[level, k], floor_table[level, k],
    )


@kernel
def decision_table(code, n_c, n_e, theta0, low_c, width_c, low_e, width_e, efficacy, unfavourable, futility, floor,
                   fav, unf, fut, floor_table, table_offset, table):
    """Fill ``table`` with the outcome of every pair of cumulative counts in each look's window.

    Cell ``table[table_offset[l, k] + (x_c - low_c[k]) * width_e[k] + x_e - low_e[k]]``
    is :func:`simulator.stats.decision.decide` at level ``l`` and look ``k``
    for the counts ``(x_c, x_e)``: the very function the look-up falls back
    to outside the window, so a tabulated outcome cannot differ from a
    computed one.
    """
    n_levels, n_looks = table_offset.shape
    for level in range(n_levels):
        for k in range(n_looks):
            start = table_offset[level, k]
            for dc in range(width_c[k]):
                for de in range(width_e[k]):
                    table[start + dc * width_e[k] + de] = decide(
                        code, low_c[k] + dc, n_c[k], low_e[k] + de, n_e[k], theta0, efficacy[level, k],
                        unfavourable[level, k], futility[level, k], floor[level, k], fav[level, k], unf[level, k],
                        fut[level, k], floor_table[level, k],
                    )


@kernel
def simulate_fixed(rng, n_sims, prob, outcome, other, offsets, sizes, code, n_c, n_e, theta0, table, table_offset,
                   low_c, width_c, low_e, width_e, efficacy, unfavourable, futility, floor, fav, unf, fut,
                   floor_table, stop_look, decision, tally):
    """Trials at fixed rates: alias-table draws and table look-ups, decided at every level.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator: exactly ``K T`` uniforms per trial, drawn a
        block of :data:`BLOCK` trials at a time in the order the trials use
        them (trial by trial; per look its ``T`` tables in order), so the
        stream never depends on the bounds or on where a trial stops.
    n_sims : int
        Number of trials.
    prob, outcome, other : float64, int64, int64 arrays
        The alias tables (see :func:`alias_table`) of every look, one after
        another, their outcomes packed as :func:`pack` does: each draw adds
        its new control events times 2^32 plus its new experimental events.
    offsets, sizes : int64 arrays (K, T)
        Where each look's tables start, and their numbers of cells: ``T = 1``
        table of the pairs of new events (both arms in one draw) or ``T = 2``
        tables, control then experimental.
    code, n_c, n_e, theta0
        Test code, cumulative evaluable patients per arm at each look, null
        risk difference.
    table, table_offset, low_c, width_c, low_e, width_e
        Outcomes per level and look (:func:`decision_table`), tabulated for
        cumulative counts ``low_c[k] <= x_c < low_c[k] + width_c[k]`` and
        likewise for ``x_e``; counts outside are decided by
        :func:`_decide_outside`.
    efficacy, unfavourable, futility, floor : float64 arrays (L, K)
        z bounds per level and look.
    fav, unf, fut, floor_table : int64 arrays (L, K, M)
        Fisher critical counts per level and look (dummies for other tests).
    stop_look : int8 array (n_sims,)
        Output: the stopping look at level 0.
    decision : int8 array (L, n_sims)
        Output: each trial's outcome at every level.
    tally : int64 array (4, K)
        Output, added to: the trials at level 0 by outcome code + 1 and
        stopping look (:func:`simulator.endpoints.common.counts_from_tally`).

    Notes
    -----
    The uniforms are drawn ahead of the look-ups so that these do not wait
    on each call of the generator; a trial's counts are kept in registers
    and drawn look by look only as far as the trial goes (every level
    re-reads the same uniforms, so it sees the same counts). The look-up is
    written in this loop rather than in a function: passing the many arrays
    to a call costs more than the look-up itself.
    """
    n_looks, n_tables = sizes.shape
    n_levels = table_offset.shape[0]
    per_trial = n_looks * n_tables
    uniforms = np.empty(BLOCK * per_trial)
    for start in range(0, n_sims, BLOCK):
        size = min(BLOCK, n_sims - start)
        for m in range(size * per_trial):
            uniforms[m] = rng.random()
        if n_looks == 1 and n_levels == 1:
            # The fixed design at one level, the common case, written out with
            # the look's parameters in locals and the tally in counters (the
            # same outcomes as the general loop below, in fewer steps).
            lc, wc, le, we, t0 = low_c[0], width_c[0], low_e[0], width_e[0], table_offset[0, 0]
            n_unf = n_fav = n_fut = 0
            for b in range(size):
                both = 0
                for t in range(n_tables):
                    both += alias_pick(uniforms[b * n_tables + t], prob, outcome, other, offsets[0, t], sizes[0, t])
                xc = both >> 32
                xe = both & LOW_BITS
                dc = xc - lc
                de = xe - le
                if 0 <= dc < wc and 0 <= de < we:
                    result = table[t0 + dc * we + de]
                else:
                    result = _decide_outside(code, xc, xe, 0, 0, n_c, n_e, theta0, efficacy, unfavourable, futility,
                                             floor, fav, unf, fut, floor_table)
                stop_look[start + b] = 0
                decision[0, start + b] = result
                n_unf += result == -1
                n_fav += result == 1
                n_fut += result == 2
            # Rows of the tally: outcome code + 1.
            tally[0, 0] += n_unf
            tally[2, 0] += n_fav
            tally[3, 0] += n_fut
            tally[1, 0] += size - n_unf - n_fav - n_fut
            continue
        for b in range(size):
            for level in range(n_levels):
                m = b * per_trial
                both = 0
                stop = n_looks - 1
                result = 0
                for k in range(n_looks):
                    for t in range(n_tables):
                        both += alias_pick(uniforms[m], prob, outcome, other, offsets[k, t], sizes[k, t])
                        m += 1
                    xc = both >> 32
                    xe = both & LOW_BITS
                    dc = xc - low_c[k]
                    de = xe - low_e[k]
                    if 0 <= dc < width_c[k] and 0 <= de < width_e[k]:
                        result = table[table_offset[level, k] + dc * width_e[k] + de]
                    else:
                        result = _decide_outside(
                            code, xc, xe, k, level, n_c, n_e, theta0, efficacy, unfavourable, futility, floor, fav,
                            unf, fut, floor_table,
                        )
                    if result != 0:
                        stop = k
                        break
                if level == 0:
                    stop_look[start + b] = stop
                    tally[result + 1, stop] += 1
                decision[level, start + b] = result


@kernel
def draw_posterior(rng, x, n, prior, posterior_vague):
    """A rate from the posterior of a Beta mixture ``prior`` after ``x`` events among ``n`` patients.

    ``posterior_vague[x]``: the posterior weight of the vague component
    (drawn with one uniform only when the prior has one, as
    :func:`draw_rate`); the components are conjugate, Beta(a + x, b + n - x).
    """
    if prior[0] > 0.0 and rng.random() < posterior_vague[x]:
        return rng.beta(prior[3] + x, prior[4] + n - x)
    return rng.beta(prior[1] + x, prior[2] + n - x)


@kernel
def simulate_prior(rng, n_sims, n_c, n_e, prior_c, prior_e, predictive, prob, outcome, other, offsets, sizes,
                   posterior_c, posterior_e, code, theta0, table, table_offset, low_c, width_c, low_e, width_e,
                   efficacy, unfavourable, futility, floor, fav, unf, fut, floor_table, stop_look, decision, tally,
                   true_c, true_e):
    """Trials whose true rates are drawn from the priors, decided at every level.

    Two exact samplers of the same joint distribution of rates and counts:

    - ``predictive`` (fixed designs): per trial and arm, control first, the
      count from the alias table of its prior predictive (beta-binomial
      mixture) distribution (one uniform), then the rate from its posterior
      given that count (:func:`draw_posterior`). Rate then count, or count
      then rate: the pair has the same law, and the count's draw is a
      look-up instead of a binomial draw at a new rate;
    - otherwise: per trial the two rates (:func:`draw_rate`, control
      first), then per look the control and the experimental increment
      with Numba's ``rng.binomial`` (NumPy's algorithm: inversion or BTPE),
      every look drawn.

    ``prior_c``, ``prior_e``: the priors ``[w_vague, a, b, a_vague,
    b_vague]``; ``prob`` ... ``sizes``: the predictive alias tables (as in
    :func:`simulate_fixed`: one look, control then experimental); ``posterior_c``, ``posterior_e``: the
    vague component's posterior weight per count; ``true_c``, ``true_e``:
    output, each trial's rates; the other parameters are those of
    :func:`simulate_fixed` (decision windows from the prior predictive
    distributions).
    """
    n_looks = n_c.shape[0]
    n_levels = table_offset.shape[0]
    cum_c = np.empty(n_looks, dtype=np.int64)
    cum_e = np.empty(n_looks, dtype=np.int64)
    for i in range(n_sims):
        if predictive:
            xc = alias_pick(rng.random(), prob, outcome, other, offsets[0, 0], sizes[0, 0]) >> 32
            pc = draw_posterior(rng, xc, n_c[0], prior_c, posterior_c)
            xe = alias_pick(rng.random(), prob, outcome, other, offsets[0, 1], sizes[0, 1]) & LOW_BITS
            pe = draw_posterior(rng, xe, n_e[0], prior_e, posterior_e)
            cum_c[0] = xc
            cum_e[0] = xe
        else:
            pc = draw_rate(rng, prior_c)
            pe = draw_rate(rng, prior_e)
            xc = 0
            xe = 0
            previous_c = 0
            previous_e = 0
            for k in range(n_looks):
                xc += rng.binomial(n_c[k] - previous_c, pc)
                xe += rng.binomial(n_e[k] - previous_e, pe)
                previous_c = n_c[k]
                previous_e = n_e[k]
                cum_c[k] = xc
                cum_e[k] = xe
        true_c[i] = pc
        true_e[i] = pe
        for level in range(n_levels):
            stop = n_looks - 1
            result = 0
            for k in range(n_looks):
                dc = cum_c[k] - low_c[k]
                de = cum_e[k] - low_e[k]
                if 0 <= dc < width_c[k] and 0 <= de < width_e[k]:
                    result = table[table_offset[level, k] + dc * width_e[k] + de]
                else:
                    result = _decide_outside(
                        code, cum_c[k], cum_e[k], k, level, n_c, n_e, theta0, efficacy, unfavourable, futility,
                        floor, fav, unf, fut, floor_table,
                    )
                if result != 0:
                    stop = k
                    break
            if level == 0:
                stop_look[i] = stop
                tally[result + 1, stop] += 1
            decision[level, i] = result
