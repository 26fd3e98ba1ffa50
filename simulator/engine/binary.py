"""Numba kernel that simulates two-arm binary trials on sufficient statistics.

Each simulated trial draws its true rates (fixed, or from the prior), then,
look by look, the binomial number of events among the newly evaluable
patients of each arm, and applies the look's decision.  Only counts are
simulated: for a binary endpoint analysed by these tests they are sufficient,
and drawing them costs two binomial variates per look instead of one Bernoulli
per patient.

Everything is on the oriented scale (higher rate = better for the
experimental arm); the endpoint layer flips harms before calling.
"""

import numpy as np

from simulator._jit import kernel
from simulator.stats.decision import decide


@kernel
def draw_rate(rng, prior):
    """One draw from ``[w_vague, a, b, a_vague, b_vague]`` (a two-part Beta mixture)."""
    if prior[0] > 0.0 and rng.random() < prior[0]:
        return rng.beta(prior[3], prior[4])
    return rng.beta(prior[1], prior[2])


@kernel
def simulate_binary(
    rng,
    n_sims,
    n_c,
    n_e,
    code,
    theta0,
    efficacy,
    unfavourable,
    futility,
    fav_table,
    unf_table,
    fut_table,
    p_c,
    p_e,
    prior_c,
    prior_e,
    use_prior,
    stop_look,
    decision,
    true_c,
    true_e,
):
    """Simulate ``n_sims`` trials and write per-trial outcomes into the outputs.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator; the kernel is deterministic given its state.
    n_sims : int
        Number of trials.
    n_c, n_e : int64 arrays (K,)
        Cumulative evaluable patients per arm at each look.
    code : int
        Test code.
    theta0 : float
        Null risk difference.
    efficacy, unfavourable, futility : float64 arrays (K,)
        z bounds per look (see :func:`simulator.stats.decision.decide`).
    fav_table, unf_table, fut_table : int64 arrays (K, M)
        Fisher critical counts per look (dummy ``(K, 1)`` for other tests).
    p_c, p_e : float
        True rates when ``use_prior`` is false.
    prior_c, prior_e : float64 arrays (5,)
        Prior mixtures per arm when ``use_prior`` is true.
    use_prior : bool
        Draw each trial's true rates from the priors.
    stop_look, decision : int8 arrays (n_sims,)
        Output: the look at which the trial stopped and its outcome code.
    true_c, true_e : float64 arrays (n_sims,)
        Output: the true rates the trial was simulated under.
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
            outcome = decide(
                code, xc, n_c[k], xe, n_e[k], theta0,
                efficacy[k], unfavourable[k], futility[k],
                fav_table[k], unf_table[k], fut_table[k],
            )
            if outcome != 0 or k == n_looks - 1:
                stop_look[i] = k
                decision[i] = outcome
                break
        true_c[i] = pc
        true_e[i] = pe


def allocate_outputs(n_sims):
    """Fresh per-trial output arrays for :func:`simulate_binary`."""
    return (
        np.empty(n_sims, dtype=np.int8),
        np.empty(n_sims, dtype=np.int8),
        np.empty(n_sims, dtype=np.float64),
        np.empty(n_sims, dtype=np.float64),
    )
