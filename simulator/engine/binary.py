"""Numba kernels that simulate two-arm binary trials on sufficient statistics.

A trial is its cumulative number of events per arm at each look. Two
kernels simulate whole trials and decide them at every significance level
(Holm's procedure analyses the same trials at alpha / m, ..., alpha):

- :func:`simulate_fixed`, for fixed rates (the power and type I error
  streams): every trial draws from the same binomial distributions, one per
  arm and look increment, so the counts come from Walker alias tables
  (:func:`alias_table`) built once per plan from the exact pmf, one uniform
  per draw; the outcome at a look is read from a table indexed by the
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


import numpy as np

from simulator._jit import kernel
from simulator.stats.decision import decide

#: Trials whose uniforms are drawn together (:func:`simulate_fixed`).
BLOCK = 256


@kernel
def draw_rate(rng, prior):
    """One draw from ``[w_vague, a, b, a_vague, b_vague]`` (a two-part Beta mixture)."""
    if prior[0] > 0.0 and rng.random() < prior[0]:
        return rng.beta(prior[3], prior[4])
    return rng.beta(prior[1], prior[2])


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
    """Walker's alias table of a discrete distribution (Vose's stable construction).

    Parameters
    ----------
    pmf : float64 array (m,)
        Probabilities of the outcomes 0..m-1; they must sum to 1 up to
        rounding (they are rescaled to sum to m exactly as doubles allow).
    prob, alias : float64 and int64 arrays (m,)
        Output: cell ``j`` returns ``j`` with probability ``prob[j]`` and
        ``alias[j]`` otherwise. Every outcome keeps the probability
        ``(prob[j] + sum of (1 - prob[i]) over the cells i aliased to j) / m``,
        which equals ``pmf[j]`` up to rounding (a few ulp of ``m pmf[j]``).

    Notes
    -----
    Deterministic: the same pmf always gives the same table, so results do
    not depend on where a table was built. Cells left over when the small
    and large work lists run out only differ from 1 by rounding and get 1.
    """
    m = pmf.shape[0]
    total = 0.0
    for j in range(m):
        total += pmf[j]
    scaled = np.empty(m)
    small = np.empty(m, dtype=np.int64)
    large = np.empty(m, dtype=np.int64)
    n_small = 0
    n_large = 0
    for j in range(m):
        scaled[j] = pmf[j] * m / total
        alias[j] = j
        if scaled[j] < 1.0:
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
        prob[s] = scaled[s]
        alias[s] = g
        # The large cell gives away what fills the small one; subtracting
        # (1 - p_s) from p_g keeps the error at one rounding per step.
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            small[n_small] = g
            n_small += 1
        else:
            large[n_large] = g
            n_large += 1
    for i in range(n_large):
        prob[large[i]] = 1.0
    for i in range(n_small):
        prob[small[i]] = 1.0


@kernel(inline="always")
def alias_pick(u, prob, alias, offset, size):
    """The outcome of the alias table at ``prob[offset:offset + size]`` for the uniform ``u``.

    One uniform double ``u`` (53 random bits) gives both the cell,
    ``floor(u size)``, and the coin, the fraction ``u size - cell``, which is
    uniform on a grid of spacing ``size 2^-53``: each cell's acceptance
    probability is exact to within that spacing (3e-14 for 300 outcomes).
    """
    x = u * size
    j = min(int(x), size - 1)  # u * size can round up to size when u is within an ulp of 1
    other = alias[offset + j]
    return j if x - j < prob[offset + j] else other


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
def simulate_fixed(rng, n_sims, prob, alias, offset_c, size_c, offset_e, size_e, code, n_c, n_e, theta0, table,
                   table_offset, low_c, width_c, low_e, width_e, efficacy, unfavourable, futility, floor, fav, unf,
                   fut, floor_table, stop_look, decision, tally):
    """Trials at fixed rates: alias-table draws and table look-ups, decided at every level.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator: exactly ``2 K`` uniforms per trial, drawn a
        block of :data:`BLOCK` trials at a time in the order the trials use
        them (trial by trial; per look the control, then the experimental
        increment), so the stream never depends on the bounds or on where a
        trial stops.
    n_sims : int
        Number of trials.
    prob, alias : float64 and int64 arrays
        The alias tables of every arm's count increments, one after another
        (see :func:`alias_table`).
    offset_c, size_c, offset_e, size_e : int64 arrays (K,)
        Where each look's increment table of each arm starts, and its number
        of outcomes (new evaluable patients + 1).
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
    n_looks = n_c.shape[0]
    n_levels = table_offset.shape[0]
    per_trial = 2 * n_looks
    uniforms = np.empty(BLOCK * per_trial)
    for start in range(0, n_sims, BLOCK):
        size = min(BLOCK, n_sims - start)
        for m in range(size * per_trial):
            uniforms[m] = rng.random()
        if n_looks == 1 and n_levels == 1:
            # The fixed design at one level, the common case, written out with
            # the look's parameters in locals and the tally in counters: 10
            # ns a trial instead of the general loop's 16 (the same outcomes).
            oc, sc, oe, se = offset_c[0], size_c[0], offset_e[0], size_e[0]
            lc, wc, le, we, t0 = low_c[0], width_c[0], low_e[0], width_e[0], table_offset[0, 0]
            n_unf = n_fav = n_fut = 0
            for b in range(size):
                xc = alias_pick(uniforms[2 * b], prob, alias, oc, sc)
                xe = alias_pick(uniforms[2 * b + 1], prob, alias, oe, se)
                dc = xc - lc
                de = xe - le
                if 0 <= dc < wc and 0 <= de < we:
                    outcome = table[t0 + dc * we + de]
                else:
                    outcome = _decide_outside(code, xc, xe, 0, 0, n_c, n_e, theta0, efficacy, unfavourable, futility,
                                              floor, fav, unf, fut, floor_table)
                stop_look[start + b] = 0
                decision[0, start + b] = outcome
                n_unf += outcome == -1
                n_fav += outcome == 1
                n_fut += outcome == 2
            tally[0, 0] += n_unf
            tally[2, 0] += n_fav
            tally[3, 0] += n_fut
            tally[1, 0] += size - n_unf - n_fav - n_fut
            continue
        for b in range(size):
            for level in range(n_levels):
                m = b * per_trial
                xc = 0
                xe = 0
                stop = n_looks - 1
                outcome = 0
                for k in range(n_looks):
                    xc += alias_pick(uniforms[m], prob, alias, offset_c[k], size_c[k])
                    xe += alias_pick(uniforms[m + 1], prob, alias, offset_e[k], size_e[k])
                    m += 2
                    dc = xc - low_c[k]
                    de = xe - low_e[k]
                    if 0 <= dc < width_c[k] and 0 <= de < width_e[k]:
                        outcome = table[table_offset[level, k] + dc * width_e[k] + de]
                    else:
                        outcome = _decide_outside(
                            code, xc, xe, k, level, n_c, n_e, theta0, efficacy, unfavourable, futility, floor, fav,
                            unf, fut, floor_table,
                        )
                    if outcome != 0:
                        stop = k
                        break
                if level == 0:
                    stop_look[start + b] = stop
                    tally[outcome + 1, stop] += 1
                decision[level, start + b] = outcome


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
def simulate_prior(rng, n_sims, n_c, n_e, prior_c, prior_e, predictive, prob, alias, offset_c, size_c, offset_e,
                   size_e, posterior_c, posterior_e, code, theta0, table, table_offset, low_c, width_c, low_e,
                   width_e, efficacy, unfavourable, futility, floor, fav, unf, fut, floor_table, stop_look, decision,
                   tally, true_c, true_e):
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
    b_vague]``; ``prob`` ... ``size_e``: the predictive alias tables (as in
    :func:`simulate_fixed`, one look); ``posterior_c``, ``posterior_e``: the
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
            xc = alias_pick(rng.random(), prob, alias, offset_c[0], size_c[0])
            pc = draw_posterior(rng, xc, n_c[0], prior_c, posterior_c)
            xe = alias_pick(rng.random(), prob, alias, offset_e[0], size_e[0])
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
            outcome = 0
            for k in range(n_looks):
                dc = cum_c[k] - low_c[k]
                de = cum_e[k] - low_e[k]
                if 0 <= dc < width_c[k] and 0 <= de < width_e[k]:
                    outcome = table[table_offset[level, k] + dc * width_e[k] + de]
                else:
                    outcome = _decide_outside(
                        code, cum_c[k], cum_e[k], k, level, n_c, n_e, theta0, efficacy, unfavourable, futility,
                        floor, fav, unf, fut, floor_table,
                    )
                if outcome != 0:
                    stop = k
                    break
            if level == 0:
                stop_look[i] = stop
                tally[outcome + 1, stop] += 1
            decision[level, i] = outcome
