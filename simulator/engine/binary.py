"""Numba kernels that simulate two-arm binary trials on sufficient statistics.

Simulation is split in two passes. :func:`draw_counts` draws, per simulated
trial, its true rates (fixed, or from the prior) and the binomial number of
events among the newly evaluable patients of each arm at every look.
:func:`decide_counts` then applies a test and its bounds look by look and
records where each trial stops. Keeping the data apart from the decisions
lets the same simulated trials be analysed at several significance levels
(Holm's procedure needs alpha / m, ..., alpha) and lets a joint per-patient
kernel reuse the decision pass.

Everything is on the oriented scale (higher rate = better for the
experimental arm); the endpoint layer flips harms before calling.
"""


from simulator._jit import kernel
from simulator.stats.decision import decide


@kernel
def draw_rate(rng, prior):
    """One draw from ``[w_vague, a, b, a_vague, b_vague]`` (a two-part Beta mixture)."""
    if prior[0] > 0.0 and rng.random() < prior[0]:
        return rng.beta(prior[3], prior[4])
    return rng.beta(prior[1], prior[2])


@kernel
def draw_counts(rng, n_sims, n_c, n_e, p_c, p_e, prior_c, prior_e, use_prior, x_c, x_e, true_c, true_e):
    """Cumulative events per arm at every look for ``n_sims`` trials.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator; the kernel is deterministic given its state.
    n_sims : int
        Number of trials.
    n_c, n_e : int64 arrays (K,)
        Cumulative evaluable patients per arm at each look.
    p_c, p_e : float
        True rates when ``use_prior`` is false.
    prior_c, prior_e : float64 arrays (5,)
        Prior mixtures per arm when ``use_prior`` is true.
    use_prior : bool
        Draw each trial's true rates from the priors.
    x_c, x_e : int64 arrays (n_sims, K)
        Output: cumulative events per arm at each look. Every look is drawn,
        also after a trial would have stopped, so that the random stream
        does not depend on the bounds.
    true_c, true_e : float64 arrays (n_sims,)
        Output: the true rates each trial was simulated under.
    """
    n_looks = n_c.shape[0]
    for i in range(n_sims):
        if use_prior:
            pc = draw_rate(rng, prior_c)
            pe = draw_rate(rng, prior_e)
        else:
            pc = p_c
            pe = p_e
        xc = 0
        xe = 0
        previous_c = 0
        previous_e = 0
        for k in range(n_looks):
            xc += rng.binomial(n_c[k] - previous_c, pc)
            xe += rng.binomial(n_e[k] - previous_e, pe)
            previous_c = n_c[k]
            previous_e = n_e[k]
            x_c[i, k] = xc
            x_e[i, k] = xe
        true_c[i] = pc
        true_e[i] = pe


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
