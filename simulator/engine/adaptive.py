"""Numba kernels of binary trials with interim rules: tables over the interim counts, then trials.

Everything an interim decides is a function of the counts at that look, so
it is tabulated once per plan (:func:`interim_tables`) over every pair of
interim counts ``(x_c, x_e)``: the outcome at the look (the spending
bounds, then the futility rule on the predictive probability or the
conditional power), the conditional powers and the predictive probability,
and with re-estimation the second stage's patients per arm and the z the
second stage must reach. :func:`simulate_rules` then simulates trials by
drawing counts and reading the tables. Oriented scale throughout (higher
rate = better for the experimental arm).
"""

import math
from typing import NamedTuple

import numpy as np

from simulator._jit import kernel
from simulator.engine.binary import trial_rates
from simulator.stats.binary import oriented_z
from simulator.stats.decision import CONTINUE, REJECT_FAVOURABLE, STOP_FUTILITY, decide, decide_z
from simulator.stats.interim import (
    conditional_critical,
    conditional_power_rates,
    posterior_mean,
    predictive_probability,
    stage_rejection_probability,
    stage_size_rates,
)

#: Outcome code in the interim tables: futility by the ``[interim]`` rule
#: (reported as a futility stop, and counted apart).
RULE_FUTILITY = 3
#: Rule codes: what the futility rule reads.
ON_NONE = 0
ON_PREDICTIVE = 1
ON_CP_OBSERVED = 2
ON_CP_DESIGN = 3


@kernel
def interim_tables(code, theta0, n_c, n_e, bound, unfavourable, futility, floor, final_bound, w_interim, w_rest,
                   rest_c, rest_e, cumulative, design_c, design_e, prior_c, prior_e, rule_on, rule_below,
                   ssr, ssr_posterior, ssr_target_z, ssr_low, ssr_high, zone_low, zone_high, ratio, with_pp,
                   outcome, cp_design, cp_observed, pp, stage_c, stage_e, critical):
    """Fill the tables of one interim look over every ``(x_c, x_e)`` in ``[0, n_c] x [0, n_e]``.

    Parameters
    ----------
    code, theta0 : int, float
        Test code and null risk difference.
    n_c, n_e : int
        Evaluable patients per arm at the look.
    bound, unfavourable, futility, floor : float
        The look's z bounds (as :func:`simulator.stats.decision.decide` reads them).
    final_bound : float
        The final analysis's bound: of the cumulative z (``cumulative``), or
        of the inverse-normal combination.
    w_interim, w_rest : float
        Weights of the interim z and of the rest (``w_interim**2 + w_rest**2 = 1``).
    rest_c, rest_e : int
        Planned further patients per arm.
    cumulative : bool
        The final test is the z of all patients (a group-sequential design)
        rather than a separate stage combined by inverse-normal weights.
    design_c, design_e : float
        The design's rates (conditional power under the design effect).
    prior_c, prior_e : float64 arrays (5,)
        The analysis prior of each arm (two-part Beta mixtures).
    rule_on, rule_below : int, float
        What the futility rule reads (``ON_*``) and its threshold: futility
        when the value is strictly below.
    ssr, ssr_posterior, ssr_target_z, ssr_low, ssr_high : bool, bool, float, float, float
        Re-estimate the second stage: at the posterior mean rates (else the
        observed ones), for the conditional power whose normal quantile is
        ``ssr_target_z``, within ``[ssr_low, ssr_high]`` patients.
    zone_low, zone_high : float
        Promising zone: re-estimate only when the conditional power at the
        re-estimation's effect and the planned size lies in
        ``[zone_low, zone_high]`` (``-1, 2``: always).
    ratio : float
        Allocation experimental / control for the re-estimated stage.
    with_pp : bool
        Compute the exact predictive probability (else ``pp`` is nan; the
        rule must not read it).
    outcome, cp_design, cp_observed, pp, stage_c, stage_e, critical : arrays (n_c + 1, n_e + 1)
        Output: the outcome code at the look (``CONTINUE``,
        ``REJECT_FAVOURABLE``, ``STOP_FUTILITY``, ``RULE_FUTILITY``), the
        conditional powers at the planned size, the predictive probability
        at the size the rule chooses, that size per arm, and the z the rest
        must reach (the conditional critical value; with ``cumulative``, the
        final bound itself).
    """
    dummy = np.zeros(1, dtype=np.int64)
    for x_c in range(n_c + 1):
        for x_e in range(n_e + 1):
            z = oriented_z(code, x_c, n_c, x_e, n_e, theta0)
            c_rest = conditional_critical(final_bound, z, w_interim, w_rest)
            p_c = x_c / n_c
            p_e = x_e / n_e
            cp_design[x_c, x_e] = conditional_power_rates(c_rest, design_c, design_e, rest_c, rest_e, theta0)
            cp_observed[x_c, x_e] = conditional_power_rates(c_rest, p_c, p_e, rest_c, rest_e, theta0)
            m_c = rest_c
            m_e = rest_e
            if ssr:
                if ssr_posterior:
                    q_c = posterior_mean(prior_c, x_c, n_c)
                    q_e = posterior_mean(prior_e, x_e, n_e)
                else:
                    q_c = p_c
                    q_e = p_e
                cp_rule = conditional_power_rates(c_rest, q_c, q_e, rest_c, rest_e, theta0)
                if zone_low <= cp_rule <= zone_high:
                    total = stage_size_rates(c_rest, q_c, q_e, ratio, theta0, ssr_target_z, ssr_low, ssr_high)
                    # rpact's split: the experimental arm gets ceiling(r N / (1 + r)).
                    m_e = int(math.ceil(ratio * total / (1.0 + ratio)))
                    m_c = int(total) - m_e
            stage_c[x_c, x_e] = m_c
            stage_e[x_c, x_e] = m_e
            critical[x_c, x_e] = final_bound if cumulative else c_rest
            pp[x_c, x_e] = predictive_probability(
                code, theta0, x_c, n_c, x_e, n_e, m_c, m_e, final_bound if cumulative else c_rest, cumulative,
                prior_c, prior_e,
            ) if with_pp else math.nan
            result = decide(code, x_c, n_c, x_e, n_e, theta0, bound, unfavourable, futility, floor,
                            dummy, dummy, dummy, dummy)
            if result == CONTINUE and rule_on != ON_NONE:
                value = pp[x_c, x_e]
                if rule_on == ON_CP_OBSERVED:
                    value = cp_observed[x_c, x_e]
                elif rule_on == ON_CP_DESIGN:
                    value = cp_design[x_c, x_e]
                if value < rule_below:
                    result = RULE_FUTILITY
            outcome[x_c, x_e] = result


@kernel
def final_table(code, theta0, n_c, n_e, bound, unfavourable, futility, floor, outcome):
    """The outcome of the final look of a group-sequential design over every ``(x_c, x_e)``."""
    dummy = np.zeros(1, dtype=np.int64)
    for x_c in range(n_c + 1):
        for x_e in range(n_e + 1):
            outcome[x_c, x_e] = decide(code, x_c, n_c, x_e, n_e, theta0, bound, unfavourable, futility, floor,
                                       dummy, dummy, dummy, dummy)


@kernel(inline="always")
def _settle_look(i, k, n_looks, xc, xe, done, outcome, final_outcome, enrolled, x_c, x_e, stop_look, decision,
                 rule_stop, patients, shadow_reject, shadow_patients):
    """Read trial ``i``'s outcome at look ``k`` from the tables and record it: ``(done, ended)``.

    ``done``: the trial (with the rule) has stopped, only its shadow goes on;
    ``ended``: the shadow has stopped too (the caller leaves the look loop).
    One place for both samplers of :func:`simulate_rules` and
    :func:`simulate_rules_fixed`.
    """
    if not done:
        x_c[i, k] = xc
        x_e[i, k] = xe
    result = final_outcome[xc, xe] if k == n_looks - 1 else outcome[k, xc, xe]
    if result == RULE_FUTILITY:
        if not done:
            stop_look[i] = k
            decision[i] = STOP_FUTILITY
            rule_stop[i] = True
            patients[i] = enrolled[k]
            done = True
        result = CONTINUE
    if result != CONTINUE or k == n_looks - 1:
        if not done:
            stop_look[i] = k
            decision[i] = result
            patients[i] = enrolled[k]
        shadow_reject[i] = result == REJECT_FAVOURABLE
        shadow_patients[i] = enrolled[k]
        return done, True
    return done, False


@kernel
def simulate_rules(rng, n_sims, p_c, p_e, prior_c, prior_e, use_prior, n_c, n_e, enrolled, code, theta0,
                   outcome, final_outcome, ssr, stage_c, stage_e, critical,
                   x_c, x_e, stop_look, decision, rule_stop, patients, shadow_reject, shadow_patients,
                   true_c, true_e):
    """Simulate trials decided by the interim tables.

    Group-sequential (``ssr`` false): looks at the fixed ``n_c``, ``n_e``;
    at each interim the outcome is ``outcome[k, x_c, x_e]``, at the final
    look ``final_outcome[x_c, x_e]``. Re-estimation (``ssr``, two looks):
    a continuing trial adds ``stage_c``, ``stage_e`` patients (read at its
    interim counts) and rejects when the second stage's own z reaches
    ``critical`` (the inverse-normal combination reaching its bound).

    A trial that the futility rule stops goes on as its *shadow*: the same
    trial without the rule (``RULE_FUTILITY`` read as continuing), drawing
    the patients it would have had; ``shadow_reject`` and
    ``shadow_patients`` are its outcome and size (for every trial: the
    design without the rule on the same draws, so that the rule's cost and
    saving are paired differences).

    Outputs per trial: cumulative counts at each look reached (-1 after
    the stop), the stopping look, the outcome code, whether the futility
    rule stopped it, the patients randomised, the shadow's rejection and
    patients, and the true rates.
    """
    n_looks = n_c.shape[0]
    for i in range(n_sims):
        pc, pe = trial_rates(rng, use_prior, prior_c, prior_e, p_c, p_e)
        true_c[i] = pc
        true_e[i] = pe
        rule_stop[i] = False
        for k in range(n_looks):
            x_c[i, k] = -1
            x_e[i, k] = -1
        xc = 0
        xe = 0
        previous_c = 0
        previous_e = 0
        done = False  # the trial (with the rule) has stopped; only its shadow goes on
        for k in range(n_looks):
            if ssr and k == n_looks - 1:
                m_c = stage_c[xc, xe]
                m_e = stage_e[xc, xe]
                y_c = rng.binomial(m_c, pc)
                y_e = rng.binomial(m_e, pe)
                z = oriented_z(code, y_c, m_c, y_e, m_e, theta0)
                result = REJECT_FAVOURABLE if z >= critical[xc, xe] else CONTINUE
                if not done:
                    x_c[i, k] = xc + y_c
                    x_e[i, k] = xe + y_e
                    stop_look[i] = k
                    decision[i] = result
                    patients[i] = enrolled[0] + m_c + m_e
                shadow_reject[i] = result == REJECT_FAVOURABLE
                shadow_patients[i] = enrolled[0] + m_c + m_e
                break
            xc += rng.binomial(n_c[k] - previous_c, pc)
            xe += rng.binomial(n_e[k] - previous_e, pe)
            previous_c = n_c[k]
            previous_e = n_e[k]
            done, ended = _settle_look(i, k, n_looks, xc, xe, done, outcome, final_outcome, enrolled, x_c, x_e, stop_look,
                                       decision, rule_stop, patients, shadow_reject, shadow_patients)
            if ended:
                break


@kernel
def decide_with_rule(z_all, last_look, efficacy, unfavourable, futility, floor, values, below,
                     stop_look, decision, rule_stop, shadow_look, shadow_decision):
    """Decide trials analysed at every look, with a futility rule on per-trial interim values.

    The decision at look ``k`` is :func:`simulator.stats.decision.decide_z`
    with that look's bounds, as the survival kernel decides; a trial that
    continues at an interim before its last look stops for futility when
    ``values[i, k] < below[k]`` (the rule). A trial stops at the first look
    that decides, or at its last look. The *shadow* is the same trial
    without the rule (its stopping look and outcome).
    """
    n_sims = z_all.shape[0]
    n_looks = z_all.shape[1]
    for i in range(n_sims):
        last = last_look[i]
        done = False
        rule_stop[i] = False
        for k in range(last + 1):
            outcome = decide_z(z_all[i, k], efficacy[k], unfavourable[k], futility[k], floor[k])
            if not done and outcome == CONTINUE and k < last and k < n_looks - 1 and values[i, k] < below[k]:
                stop_look[i] = k
                decision[i] = STOP_FUTILITY
                rule_stop[i] = True
                done = True
            if outcome != CONTINUE or k == last:
                if not done:
                    stop_look[i] = k
                    decision[i] = outcome
                shadow_look[i] = k
                shadow_decision[i] = outcome
                break


@kernel(inline="always")
def _alias_pick(u, prob, alias, offset, size):
    """The outcome of the alias table ``prob[offset:offset + size]``, ``alias[...]`` for the uniform ``u``.

    The tables are :func:`simulator.engine.binary.alias_table`'s (cell ``j``
    is ``j`` with probability ``prob[j]``, else ``alias[j]``); one uniform
    gives the cell, ``floor(u size)``, and the coin, ``u size - cell``. Kept
    here, not imported, so that this kernel does not follow changes to the
    plain kernel's own reading of its tables.
    """
    x = u * size
    j = min(int(x), size - 1)  # u * size can round up to size when u is within an ulp of 1
    return j if x - j < prob[offset + j] else alias[offset + j]


@kernel
def stage_rejection_table(code, theta0, stage_c, stage_e, critical, outcome, p_c, p_e, out):
    """Exact probability, per interim cell, that the second stage rejects at fixed rates.

    For every pair of stage-1 counts whose trial goes on (the outcome table
    says continue, or the futility rule stopped it: its shadow goes on), the
    binomial probability that the second stage's own z reaches ``critical``
    with ``stage_c``, ``stage_e`` patients at rates ``p_c``, ``p_e``
    (:func:`simulator.stats.interim.stage_rejection_probability`); 0 elsewhere.
    """
    for x_c in range(out.shape[0]):
        for x_e in range(out.shape[1]):
            result = outcome[x_c, x_e]
            if result == CONTINUE or result == RULE_FUTILITY:
                out[x_c, x_e] = stage_rejection_probability(
                    code, theta0, stage_c[x_c, x_e], stage_e[x_c, x_e], critical[x_c, x_e], p_c, p_e)
            else:
                out[x_c, x_e] = 0.0


@kernel
def simulate_rules_fixed(rng, n_sims, cell_prob, cell_alias, width_e, inc_prob, inc_alias, inc_offset_c, inc_size_c,
                         inc_offset_e, inc_size_e, enrolled, outcome, final_outcome, ssr, stage_c, stage_e, reject2,
                         x_c, x_e, stop_look, decision, rule_stop, patients, shadow_reject, shadow_patients):
    """:func:`simulate_rules` at fixed rates, from alias tables (the power and type I error streams).

    The first look's counts are one draw from the alias table of their joint
    pmf (``cell_prob``, ``cell_alias`` over ``x_c * width_e + x_e``); later
    looks add each arm's increment from its alias table (``inc_*``, as
    :func:`simulator.engine.binary.alias_table` lays them out). With
    re-estimation the second stage is decided by one uniform against
    ``reject2``, its exact conditional rejection probability given the
    first stage (:func:`stage_rejection_table`): the outcome has the
    distribution of drawing the second stage's counts, and its counts are
    not needed (``x_c``, ``x_e`` at the last look stay -1).
    """
    n_looks = enrolled.shape[0]
    n_cells = cell_prob.shape[0]
    for i in range(n_sims):
        rule_stop[i] = False
        for k in range(n_looks):
            x_c[i, k] = -1
            x_e[i, k] = -1
        cell = _alias_pick(rng.random(), cell_prob, cell_alias, 0, n_cells)
        xc = cell // width_e
        xe = cell - xc * width_e
        done = False
        for k in range(n_looks):
            if k > 0:
                if ssr:
                    m = stage_c[xc, xe] + stage_e[xc, xe]
                    result = REJECT_FAVOURABLE if rng.random() < reject2[xc, xe] else CONTINUE
                    if not done:
                        stop_look[i] = k
                        decision[i] = result
                        patients[i] = enrolled[0] + m
                    shadow_reject[i] = result == REJECT_FAVOURABLE
                    shadow_patients[i] = enrolled[0] + m
                    break
                xc += _alias_pick(rng.random(), inc_prob, inc_alias, inc_offset_c[k], inc_size_c[k])
                xe += _alias_pick(rng.random(), inc_prob, inc_alias, inc_offset_e[k], inc_size_e[k])
            done, ended = _settle_look(i, k, n_looks, xc, xe, done, outcome, final_outcome, enrolled, x_c, x_e, stop_look,
                                       decision, rule_stop, patients, shadow_reject, shadow_patients)
            if ended:
                break


class StageDesign(NamedTuple):
    """A K-stage re-estimation design for :func:`simulate_stages` (arrays per stage, stage 0 the first)."""

    code: int
    theta0: float
    planned_c: np.ndarray  # int64 (K,): planned patients of each stage per arm
    planned_e: np.ndarray
    weights: np.ndarray  # float (K,): inverse-normal weights sqrt(t_k - t_{k-1}) (squares sum to 1)
    root_t: np.ndarray  # float (K,): sqrt(t_k), the combination's scale at stage k
    efficacy: np.ndarray  # float (K,): z bounds of the combination statistic
    unfavourable: np.ndarray
    futility: np.ndarray  # -inf at the last stage
    floor: np.ndarray
    low: np.ndarray  # float (K,): fewest and most patients (both arms) of each stage
    high: np.ndarray
    target_z: float  # normal quantile of the target conditional power
    ratio: float  # allocation experimental / control
    zone_low: float  # re-estimate only when the conditional power at the planned size is in the zone
    zone_high: float
    posterior: bool  # aim at the posterior mean rates (else the observed cumulative ones)
    prior_c: np.ndarray  # (5,) the analysis prior of each arm (two-part Beta mixtures)
    prior_e: np.ndarray


@kernel
def _value_bin(value, n_bins):
    """The bin of ``value`` among ``n_bins`` equal bins of [0, 1], the last closed (``numpy.histogram``'s)."""
    j = int(math.floor(value * n_bins))
    return min(max(j, 0), n_bins - 1)


@kernel
def simulate_stages(rng, n_sims, p_c, p_e, draw_c, draw_e, use_prior, d, design_c, design_e,
                    stop_look, decision, patients, increased, cp_design_hist, cp_observed_hist, true_rates):
    """Trials of a K-stage inverse-normal design whose every later stage is re-estimated (rpact's rule).

    At the end of stage k - 1 (combination z ``Z_{k-1}``), stage k must
    reach ``c = (b_k sqrt(t_k) - sum_{j<k} w_j z_j) / w_k`` on its own z for
    the combination to cross its bound ``b_k``; its size is rpact's for the
    target conditional power of that crossing
    (:func:`simulator.stats.interim.stage_size_rates`) at the cumulative
    observed rates (or the posterior means), within the stage's limits, or
    the planned one outside the promising zone. Each stage's z is the test's
    on that stage's own patients; the trial stops at the first bound the
    combination crosses (:func:`simulator.stats.decision.decide_z`).

    Outputs per trial: stopping stage, outcome, patients randomised,
    whether a stage was larger than planned; per interim k - 1 the
    histograms (20 bins) of the next stage's conditional power at its
    planned size, at the design rates ``design_c``, ``design_e`` and at the
    observed ones; the true rates (``true_rates[0]`` control, ``[1]``
    experimental).
    """
    n_stages = d.weights.shape[0]
    n_bins = cp_design_hist.shape[1]
    for i in range(n_sims):
        pc, pe = trial_rates(rng, use_prior, draw_c, draw_e, p_c, p_e)
        true_rates[0, i] = pc
        true_rates[1, i] = pe
        m_c = d.planned_c[0]
        m_e = d.planned_e[0]
        xc = rng.binomial(m_c, pc)
        xe = rng.binomial(m_e, pe)
        nc = m_c
        ne = m_e
        weighted = d.weights[0] * oriented_z(d.code, xc, nc, xe, ne, d.theta0)
        outcome = decide_z(weighted / d.root_t[0], d.efficacy[0], d.unfavourable[0], d.futility[0], d.floor[0])
        grew = False
        k = 0
        while outcome == CONTINUE and k < n_stages - 1:
            k += 1
            c = (d.efficacy[k] * d.root_t[k] - weighted) / d.weights[k]
            o_c = xc / nc
            o_e = xe / ne
            if d.posterior:
                q_c = posterior_mean(d.prior_c, xc, nc)
                q_e = posterior_mean(d.prior_e, xe, ne)
            else:
                q_c = o_c
                q_e = o_e
            m_c = d.planned_c[k]
            m_e = d.planned_e[k]
            planned = m_c + m_e
            cp_design_hist[k - 1, _value_bin(conditional_power_rates(c, design_c, design_e, m_c, m_e, d.theta0),
                                             n_bins)] += 1
            cp_observed_hist[k - 1, _value_bin(conditional_power_rates(c, o_c, o_e, m_c, m_e, d.theta0),
                                               n_bins)] += 1
            aim = conditional_power_rates(c, q_c, q_e, m_c, m_e, d.theta0)
            if d.zone_low <= aim <= d.zone_high:
                total = stage_size_rates(c, q_c, q_e, d.ratio, d.theta0, d.target_z, d.low[k], d.high[k])
                m_e = int(math.ceil(d.ratio * total / (1.0 + d.ratio)))
                m_c = int(total) - m_e
            if m_c + m_e > planned:
                grew = True
            y_c = rng.binomial(m_c, pc)
            y_e = rng.binomial(m_e, pe)
            weighted += d.weights[k] * oriented_z(d.code, y_c, m_c, y_e, m_e, d.theta0)
            xc += y_c
            xe += y_e
            nc += m_c
            ne += m_e
            outcome = decide_z(weighted / d.root_t[k], d.efficacy[k], d.unfavourable[k], d.futility[k], d.floor[k])
        stop_look[i] = k
        decision[i] = outcome
        patients[i] = nc + ne
        increased[i] = grew


@kernel
def tally_rules(x_c, x_e, widths, stop_look, rule_stop, patients, shadow_reject, shadow_patients, first_stage,
                planned_stage, ssr, visits, rule_futility, whole, real):
    """The summable counts of a chunk of :func:`simulate_rules` / :func:`simulate_rules_fixed` trials, in one pass.

    Adds to ``visits[k, x_c * widths[k] + x_e]`` the trials that reached
    interim ``k`` with those counts, to ``rule_futility[k]`` those the rule
    stopped there; ``whole``: [trials the rule stopped that would have
    rejected without it, patients, trials whose second stage grew (with
    ``ssr``: more than ``planned_stage`` after ``first_stage``)]; ``real``:
    [sum and sum of squares of the patients the rule saved, sum of squared
    patients].
    """
    n_sims, n_looks = x_c.shape
    for i in range(n_sims):
        for k in range(n_looks - 1):
            if x_c[i, k] >= 0:
                visits[k, x_c[i, k] * widths[k] + x_e[i, k]] += 1
        if rule_stop[i]:
            rule_futility[stop_look[i]] += 1
            if shadow_reject[i]:
                whole[0] += 1
        saved = float(shadow_patients[i] - patients[i])
        real[0] += saved
        real[1] += saved * saved
        whole[1] += patients[i]
        real[2] += float(patients[i]) * float(patients[i])
        if ssr and stop_look[i] == n_looks - 1 and patients[i] - first_stage > planned_stage:
            whole[2] += 1
