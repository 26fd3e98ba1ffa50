"""Endpoints measured on the same patients: one simulation, each endpoint's decision.

A :class:`JointPlan` takes over the simulation of a trial's endpoints when
they cannot be simulated apart (:func:`simulator.config.validate.simulated_jointly`):
a non-zero ``[correlation]``, or binary endpoints sharing a trial with a
survival endpoint, whose looks then fix the calendar times at which the
binary endpoints are analysed too. It keeps the ordinary member plans
(:class:`~simulator.endpoints.binary.BinaryPlan`,
:class:`~simulator.endpoints.survival.SurvivalPlan`) for bounds, analytic
values and reports, and replaces only their ``run_chunk`` by one per-patient
simulation (:mod:`simulator.engine.joint`) whose counts have the members'
keys. See docs/multiple_endpoints.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import ClassVar

import numpy as np

from simulator.config.schema import Config
from simulator.design.allocation import round_half_up
from simulator.design.boundaries import TRIAL_GRID_R
from simulator.endpoints.binary import EFFECT_BINS, BinaryPlan
from simulator.endpoints.common import Bounds, add_two_sided, decide_groups, design_bounds, per_look_counts
from simulator.endpoints.continuous import ContinuousPlan
from simulator.endpoints.joint_rules import correlation_matrix, simulated_jointly
from simulator.endpoints.survival import SurvivalPlan, effect_counts, hr_counts
from simulator.endpoints.survival_calendar import decide_reached, look_counts
from simulator.engine.binary import decide_counts
from simulator.engine.continuous import sequential_decisions
from simulator.engine.joint import simulate_calendar, simulate_entry_order, simulate_entry_order_mixed
from simulator.engine.seeding import PATIENT_CHUNK_SIZE
from simulator.stats import distributions as dist
from simulator.stats.decision import REJECT_FAVOURABLE

#: Binary bounds at calendar looks are computed at each trial's information
#: fractions rounded to 1 / grid (two looks) or 1 / coarse grid (three or
#: more, where the combinations multiply): a shift of 0.001 in a fraction
#: moves an O'Brien-Fleming bound by about 0.003 in z.
FRACTION_GRID = 1000
COARSE_FRACTION_GRID = 200

_NO_FISHER = np.iinfo(np.int64).max


def joint_units(config: Config, plans: tuple, alpha: float | None = None) -> tuple[tuple, tuple]:
    """``(member plans, simulation units)`` of a scenario.

    Units are what the runner simulates chunk by chunk: the plans themselves
    when the endpoints are independent, else one :class:`JointPlan` holding
    them all. The member plans are returned again because binary members
    analysed at survival looks are rebuilt on the survival look schedule.
    """
    if not simulated_jointly(config.endpoints, config.correlation):
        return plans, plans
    joint = JointPlan.from_config(config, plans, alpha)
    return joint.members, (joint,)


@dataclass(frozen=True)
class JointPlan:
    """Every endpoint of one scenario, simulated on the same patients.

    Build it with :meth:`from_config`. ``members`` are in config order; the
    latent vector has the binary members first (in that order) and the
    survival member, if any, last.
    """

    #: Trials per chunk: every patient is simulated (:mod:`simulator.engine.seeding`).
    chunk_trials: ClassVar[int] = PATIENT_CHUNK_SIZE
    config: Config
    members: tuple
    binary: tuple[int, ...]  # indices of the binary members
    survival: int | None  # index of the survival member
    cholesky: np.ndarray = field(repr=False)
    continuous: tuple[int, ...] = ()  # indices of the continuous members (latent components after the binary ones)
    _bounds: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_config(cls, config: Config, plans: tuple, alpha: float | None = None) -> JointPlan:
        """Group the member plans and factor the latent correlation matrix."""
        binary = tuple(i for i, plan in enumerate(plans) if isinstance(plan, BinaryPlan))
        continuous = tuple(i for i, plan in enumerate(plans) if isinstance(plan, ContinuousPlan))
        survival = [i for i, plan in enumerate(plans) if isinstance(plan, SurvivalPlan)]
        if len(survival) > 1 or len(binary) + len(continuous) + len(survival) != len(plans):
            raise ValueError("a joint trial holds binary and continuous endpoints and at most one survival endpoint")
        survival = survival[0] if survival else None
        plans = tuple(plans)
        if survival is not None and (binary or continuous):
            plans = _on_survival_looks(config, plans, binary + continuous, plans[survival])
        order = [plans[i].endpoint.name for i in binary + continuous]
        order += [plans[survival].endpoint.name] if survival is not None else []
        cholesky = np.linalg.cholesky(correlation_matrix(tuple(order), config.correlation))
        return cls(config, plans, binary, survival, cholesky, continuous)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(plan.endpoint.name for plan in self.members)

    @property
    def stream_name(self) -> str:
        """The name whose digest keys this unit's random streams."""
        return "joint:" + "+".join(self.names)

    # ------------------------------------------------------------ simulation
    def run_chunk(self, rng: np.random.Generator, n_sims: int, stream: str) -> dict:
        """Simulate one chunk of trials for every member.

        Returns
        -------
        dict
            Endpoint name -> ``(success, counts)``: success a boolean array
            of the trials (favourable rejection at some look), counts with
            the keys the member plan's own ``run_chunk`` produces (binary
            members at calendar looks also ``enrolled_sum``, ``enrolled_sq``,
            ``fraction_sum``, ``fraction_sq``, ``evaluable_sum`` and ``evaluable_sq``). A binary member with
            extra significance levels (Holm) gives success of shape
            (levels, trials), as :meth:`BinaryPlan.run_chunk`; counts are at
            level 0. The survival member has one level.
        """
        binaries = [self.members[i] for i in self.binary]
        truths = [_binary_truth(plan, rng, n_sims, stream) for plan in binaries]
        thresholds = np.empty((n_sims, len(binaries), 2))
        for b, (plan, pair) in enumerate(zip(binaries, truths)):
            for arm, rate in enumerate(pair):
                natural = 1.0 - rate if plan.endpoint.better == "lower" else rate
                thresholds[:, b, arm] = dist.norm.ppf(natural)
        if self.continuous and self.survival is None:
            return self._entry_order_mixed(rng, n_sims, stream, binaries, truths, thresholds)
        if self.survival is None:
            return self._entry_order(rng, n_sims, stream, binaries, truths, thresholds)
        return self._calendar(rng, n_sims, stream, binaries, truths, thresholds)

    def _entry_order(self, rng, n_sims, stream, binaries, truths, thresholds) -> dict:
        looks = binaries[0].looks
        x_c, x_e = simulate_entry_order(rng, looks.evaluable_c, looks.evaluable_e, self.cholesky, thresholds)
        return self._binary_outcomes(binaries, truths, stream, x_c, x_e)

    def _entry_order_mixed(self, rng, n_sims, stream, binaries, truths, thresholds) -> dict:
        """Binary and continuous members in entry order: per-patient outcomes from one copula."""
        members = [self.members[i] for i in self.continuous]
        draws = [plan.draw(rng, n_sims, stream) for plan in members]  # (mean_c, mean_e, sd_c, sd_e) each
        mu = np.empty((n_sims, len(members), 2))
        sd = np.empty((n_sims, len(members), 2))
        for c, (mean_c, mean_e, sd_c, sd_e) in enumerate(draws):
            mu[:, c, 0], mu[:, c, 1], sd[:, c, 0], sd[:, c, 1] = mean_c, mean_e, sd_c, sd_e
        looks = members[0].looks
        x_c, x_e, sums, squares, covariates = simulate_entry_order_mixed(
            rng, looks.evaluable_c, looks.evaluable_e, self.cholesky, thresholds, mu, sd, _covariates(members),
        )
        out = self._binary_outcomes(binaries, truths, stream, x_c, x_e)
        for c, plan in enumerate(members):
            mean_c, mean_e, sd_c, sd_e = draws[c]
            stat, df = plan.statistics_from_moments(sums[c], squares[c], sd_c, sd_e, covariates[c])
            out[plan.endpoint.name] = plan.result(stat, df, mean_c, mean_e, stream)
        return out

    def _binary_outcomes(self, binaries, truths, stream, x_c, x_e) -> dict:
        """Each binary member's decisions on its simulated counts (entry order)."""
        out = {}
        if not binaries:
            return out
        looks = binaries[0].looks
        for b, plan in enumerate(binaries):
            xc, xe = x_c[b], x_e[b]
            if plan.endpoint.better == "lower":
                xc, xe = looks.evaluable_c - xc, looks.evaluable_e - xe
            # The member's own decision pass: the same bounds and Fisher tables
            # as the independent engine, so only the copula differs.
            xc, xe = np.ascontiguousarray(xc), np.ascontiguousarray(xe)
            stop, decision = plan.decide(xc, xe)
            success, counts = _binary_result(plan, stop, decision, truths[b], stream)
            decisions = [decision] + [plan.decide(xc, xe, level)[1] for level in range(1, len(plan.levels))]
            if len(plan.levels) > 1:  # the same trials at further levels (Holm)
                success = np.vstack([d == REJECT_FAVOURABLE for d in decisions])
            add_two_sided(counts, stream, plan.sided, decisions)
            out[plan.endpoint.name] = (success, counts)
        return out

    def _calendar(self, rng, n_sims, stream, binaries, truths, thresholds) -> dict:
        plan = self.members[self.survival]
        endpoint = plan.endpoint
        ratios, multiplier = plan._draws(rng, n_sims, stream)
        continuous = [self.members[i] for i in self.continuous]
        draws = [member.draw(rng, n_sims, stream) for member in continuous]  # (mean_c, mean_e, sd_c, sd_e) each
        mu = np.empty((n_sims, len(continuous), 2))
        sd = np.empty((n_sims, len(continuous), 2))
        for c, (mean_c, mean_e, sd_c, sd_e) in enumerate(draws):
            mu[:, c, 0], mu[:, c, 1], sd[:, c, 0], sd[:, c, 1] = mean_c, mean_e, sd_c, sd_e
        n_c, n_e = plan.n_arms
        keep = 1.0 - self.config.trial.missing
        trials = simulate_calendar(
            rng, n_c, n_e, missing=(n_c - round_half_up(n_c * keep), n_e - round_half_up(n_e * keep)),
            accrual=(np.array(endpoint.accrual.edges), np.array(endpoint.accrual.rates)),
            control=(np.array(endpoint.truth.control.times), np.array(endpoint.truth.control.hazards)),
            hazard_ratio=ratios, multiplier=multiplier, dropout=endpoint.dropout, cholesky=self.cholesky,
            thresholds=thresholds, delays=[p.endpoint.delay for p in binaries], margin=plan.margin,
            continuous=(mu, sd, np.array([m.endpoint.delay for m in continuous], dtype=float), _covariates(continuous))
            if continuous else None,
            **plan._schedule(), **plan.trial_kwargs(stream),
        )
        survival_stop, survival_decision = trials.stop_look, trials.decision
        if plan.reaches_fractions:
            # Calendar looks or a cap: the survival bounds follow each trial's events (survival_calendar).
            survival_stop, survival_decision = decide_reached(
                plan, trials.z, trials.events, trials.last_look, plan._reached_bounds
            )
        out = {}
        rows = np.arange(n_sims)
        for b, member in enumerate(binaries):
            xc, xe, nc, ne = trials.x_c[b], trials.x_e[b], trials.n_c[b], trials.n_e[b]
            if member.endpoint.better == "lower":
                xc, xe = nc - xc, ne - xe
            stop, decision, fractions, used = self._calendar_decisions(member, xc, xe, nc, ne, trials.last_look)
            success, counts = _binary_result(member, stop, decision, truths[b], stream)
            decisions = [decision] + [
                self._calendar_decisions(member, xc, xe, nc, ne, trials.last_look, _level_alpha(bounds))[1]
                for bounds, _ in member.levels[1:]
            ]
            if len(member.levels) > 1:  # the same trials at further levels (Holm)
                success = np.vstack([d == REJECT_FAVOURABLE for d in decisions])
            add_two_sided(counts, stream, member.sided, decisions)
            counts.update(_calendar_counts(trials.enrolled[rows, stop], fractions, used, nc + ne))
            out[member.endpoint.name] = (success, counts)
        for c, member in enumerate(continuous):
            out[member.endpoint.name] = self._continuous_at_calendar(member, c, trials, draws[c], stream)
        # The survival decision was taken in the kernel (simulator.stats.decision.decide_z), or just above.
        out[endpoint.name] = _survival_result(plan, trials, survival_stop, survival_decision, ratios, stream)
        add_two_sided(out[endpoint.name][1], stream, plan.sided, [survival_decision])
        return out

    # ------------------------------------------------------------ binary bounds at calendar looks
    def _calendar_decisions(self, plan: BinaryPlan, x_c, x_e, n_c, n_e, last_look, alpha: float | None = None):
        """Decisions of a binary member at calendar looks, with bounds at each trial's fractions.

        A look is tested only if it adds information (1 / (1/n_C + 1/n_E)
        grows) and is not past the trial's last look; the last such look is
        the final analysis (fraction 1), so a spending design spends all of
        alpha there whatever the information reached. Trials are grouped by
        their rounded fractions and each group is decided by
        :func:`~simulator.engine.binary.decide_counts` with its own bounds.

        ``alpha`` is the level (default: the member's ``alpha``). Returns
        ``(stop_look, decision, fractions, used)``, fractions of shape
        (n_sims, K) (0 at looks not tested) and ``used`` the sums over the
        trials of the efficacy and futility bounds and the cumulative alpha
        each tested look used (:func:`_bounds_used`; the report's per-look
        bounds are their means).
        """
        alpha = plan.alpha if alpha is None else alpha
        code, fractions, grid = _calendar_codes(n_c, n_e, last_look)
        used = _bounds_used(code.shape[1])

        def decide(rows, looks, codes):
            bounds = self._group_bounds(alpha, codes, grid)
            _add_bounds(used, bounds, looks, rows.size)
            sub = np.ix_(rows, looks)
            local_stop = np.empty(rows.size, dtype=np.int8)
            local_decision = np.empty(rows.size, dtype=np.int8)
            m = looks.size
            decide_counts(
                plan.code, x_c[sub], x_e[sub], n_c[sub].astype(np.int64), n_e[sub].astype(np.int64), plan.theta0,
                bounds.efficacy, bounds.unfavourable, bounds.futility, bounds.futility_floor,
                np.full((m, 1), _NO_FISHER, dtype=np.int64), np.full((m, 1), -1, dtype=np.int64),
                np.full((m, 1), -1, dtype=np.int64), np.full((m, 1), -1, dtype=np.int64), local_stop, local_decision,
            )
            return local_stop, local_decision

        stop, decision = decide_groups(code, last_look, decide)
        return stop, decision, fractions, used

    def _continuous_decisions(self, plan, z, n_c, n_e, last_look, alpha: float | None = None):
        """Decisions of a continuous member at calendar looks: bounds at each trial's fractions, as for
        binary members (:meth:`_calendar_decisions`), applied to the statistic ``z`` on the z scale."""
        alpha = plan.alpha if alpha is None else alpha
        code, fractions, grid = _calendar_codes(n_c, n_e, last_look)
        used = _bounds_used(code.shape[1])

        def decide(rows, looks, codes):
            bounds = self._group_bounds(alpha, codes, grid)
            _add_bounds(used, bounds, looks, rows.size)
            local_stop = np.empty(rows.size, dtype=np.int8)
            local_decision = np.empty(rows.size, dtype=np.int8)
            row = lambda b: np.ascontiguousarray(np.asarray(b, dtype=float)[None, :])  # noqa: E731
            sequential_decisions(
                np.ascontiguousarray(z[np.ix_(rows, looks)]), row(bounds.efficacy), row(bounds.unfavourable),
                row(bounds.futility), row(bounds.futility_floor), local_stop, local_decision,
            )
            return local_stop, local_decision

        stop, decision = decide_groups(code, last_look, decide)
        return stop, decision, fractions, used

    def _continuous_at_calendar(self, member, c, trials, draw, stream) -> tuple[np.ndarray, dict]:
        """Success and counts of continuous member ``c`` read at the survival looks."""
        sums = trials.continuous
        n_c, n_e = sums.n_c[c], sums.n_e[c]
        mean_c, mean_e, sd_c, sd_e = draw
        z = member.calendar_z(sums.sum_c[c], sums.sum_e[c], sums.ss_c[c], sums.ss_e[c], n_c, n_e, sd_c, sd_e,
                              covariate=(sums.sx_c[c], sums.sx_e[c], sums.sxx_c[c], sums.sxx_e[c], sums.sxe_c[c],
                                         sums.sxe_e[c]))
        # Too few patients for a variance: that look adds no information (not tested).
        minimum = 2 + (member.endpoint.rho != 0)
        usable_c = np.where((n_c >= minimum) & (n_e >= minimum), n_c, 0)
        stop, decision, fractions, used = self._continuous_decisions(member, z, usable_c, n_e, trials.last_look)
        decisions = [decision] + [
            self._continuous_decisions(member, z, usable_c, n_e, trials.last_look, _level_alpha(bounds))[1]
            for bounds in member.levels[1:]
        ]
        success, counts = member.counts_from_decisions(stop, decision, mean_c, mean_e, stream)
        if len(member.levels) > 1:
            success = np.vstack([d == REJECT_FAVOURABLE for d in decisions])
        add_two_sided(counts, stream, member.sided, decisions)
        counts.update(_calendar_counts(trials.enrolled[np.arange(stop.size), stop], fractions, used, n_c + n_e))
        return success, counts

    def _group_bounds(self, alpha: float, codes: tuple[int, ...], grid: int) -> Bounds:
        # Bounds depend on the design, the level and the fractions only, so
        # every binary member shares the cache.
        key = (alpha, grid, codes)
        bounds = self._bounds.get(key)
        if bounds is None:
            bounds = design_bounds(self.config, tuple(c / grid for c in codes), alpha, TRIAL_GRID_R)
            self._bounds[key] = bounds
        return bounds


# ---------------------------------------------------------------- helpers
def _covariates(members) -> np.ndarray:
    """Per continuous member, 1 where it has a baseline covariate (``rho``): its patients draw one and the
    analysis is the ANCOVA of the endpoint's own engine, the covariate's chance imbalance included."""
    return np.array([float(m.endpoint.rho != 0) for m in members])


def _calendar_counts(enrolled: np.ndarray, fractions: np.ndarray, used: dict, evaluable: np.ndarray) -> dict:
    """The counts of a binary or continuous member read at the survival looks, beside its decisions.

    ``enrolled`` per trial at its stopping look, ``fractions`` (trials x looks, 0 where a look was not tested),
    ``used`` the bounds' sums (:func:`_bounds_used`), ``evaluable`` (trials x looks) both arms' known outcomes.
    """
    enrolled = np.asarray(enrolled, dtype=np.float64)
    return dict(
        enrolled_sum=np.array([enrolled.sum()]),
        enrolled_sq=np.array([(enrolled**2).sum()]),
        fraction_sum=fractions.sum(axis=0),
        fraction_sq=(fractions**2).sum(axis=0),  # for the MCSEs of the means (a review: none were given)
        fraction_tested=(fractions > 0).sum(axis=0).astype(np.int64),  # trials that tested each look
        **used,
        evaluable_sum=evaluable.sum(axis=0).astype(np.int64),
        evaluable_sq=(np.asarray(evaluable, dtype=np.float64) ** 2).sum(axis=0),
    )


def _bounds_used(n_looks: int) -> dict:
    """Sums over trials of the finite efficacy and futility bounds (with their counts) and the cumulative alpha
    each tested look used: the report's per-look bounds are their means."""
    return {"efficacy_bound_sum": np.zeros(n_looks), "efficacy_bound_count": np.zeros(n_looks, dtype=np.int64),
            "futility_bound_sum": np.zeros(n_looks), "futility_bound_count": np.zeros(n_looks, dtype=np.int64),
            "alpha_spent_sum": np.zeros(n_looks)}


def _add_bounds(used: dict, bounds: Bounds, looks: np.ndarray, trials: int) -> None:
    """Add one group's bounds (``trials`` trials testing ``looks``) to :func:`_bounds_used`'s sums."""
    for key, values in (("efficacy", bounds.efficacy), ("futility", bounds.futility)):
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)  # no bound there (a final look's futility): not in the mean
        used[f"{key}_bound_sum"][looks[finite]] += trials * values[finite]
        used[f"{key}_bound_count"][looks[finite]] += trials
    used["alpha_spent_sum"][looks] += trials * np.asarray(bounds.alpha_spent, dtype=float)


def _calendar_codes(n_c, n_e, last_look) -> tuple[np.ndarray, np.ndarray, int]:
    """Each trial's tested looks at calendar times, coded by their rounded information fractions.

    A look is tested only if it adds information (1 / (1/n_C + 1/n_E) grows)
    and is not past the trial's last look; the last such look is the final
    analysis (fraction 1), so a spending design spends all of alpha there
    whatever the information reached. Returns ``(code, fractions, grid)``:
    ``code`` (trials x looks) the fractions times ``grid``, -1 where a look
    is not tested (the grouping key of :func:`~simulator.endpoints.common.decide_groups`),
    ``fractions`` 0 where not tested.
    """
    n_sims, n_looks = np.shape(n_c)
    with np.errstate(divide="ignore"):
        info = np.where((n_c > 0) & (n_e > 0), 1.0 / (1.0 / np.maximum(n_c, 1) + 1.0 / np.maximum(n_e, 1)), 0.0)
    tested = np.zeros((n_sims, n_looks), dtype=bool)
    final = np.zeros(n_sims)
    for k in range(n_looks):
        tested[:, k] = (k <= last_look) & (info[:, k] > final)
        final = np.where(tested[:, k], info[:, k], final)
    fractions = np.where(tested, info / np.where(final > 0, final, 1.0)[:, None], 0.0)
    grid = FRACTION_GRID if n_looks <= 2 else COARSE_FRACTION_GRID
    code = np.where(tested, np.rint(fractions * grid), -1).astype(np.int64)
    last_tested = n_looks - 1 - np.argmax(tested[:, ::-1], axis=1)
    previous = np.zeros(n_sims, dtype=np.int64)
    for k in range(n_looks):
        is_final = tested[:, k] & (last_tested == k)
        code[is_final, k] = grid
        # An interim within 1/grid of the previous one or of the final
        # analysis adds almost nothing: drop it rather than give the
        # boundary routine coinciding fractions.
        drop = tested[:, k] & ~is_final & ((code[:, k] <= previous) | (code[:, k] >= grid))
        code[drop, k] = -1
        previous = np.where(code[:, k] >= 0, code[:, k], previous)
    tested = code >= 0
    fractions = np.where(tested, fractions, 0.0)
    return code, fractions, grid



def _on_survival_looks(config: Config, plans: tuple, members: tuple[int, ...], survival: SurvivalPlan) -> tuple:
    """Rebuild the binary and continuous members on the survival endpoint's planned fractions.

    They are analysed at the survival looks, so their planned looks (used for
    the planned bounds, the analytic values and the per-look reports) are the
    survival schedule's, whatever ``design.looks`` says about patients.
    """
    fractions = survival.looks.planned_fractions
    looks = 1 if len(fractions) == 1 else tuple(fractions)
    if looks == config.design.looks:
        return plans
    on_events = dataclasses.replace(config, design=dataclasses.replace(config.design, looks=looks))
    rebuilt = list(plans)
    for i in members:
        extra = tuple(_level_alpha(_level_bounds(level)) for level in plans[i].levels[1:])
        rebuilt[i] = type(plans[i]).from_config(on_events, plans[i].endpoint, plans[i].alpha, extra)
    return tuple(rebuilt)


def _level_bounds(level) -> Bounds:
    """A plan's level: binary plans keep ``(Bounds, Fisher tables)``, the others ``Bounds``."""
    return level[0] if isinstance(level, tuple) else level


def _level_alpha(bounds: Bounds) -> float:
    """The significance level a member's bounds were computed for (all of it is spent by the last look)."""
    return float(bounds.alpha_spent[-1])


def _draw_mixture(rng: np.random.Generator, prior, n: int) -> np.ndarray:
    """Draws from a (two-part) Beta mixture, as :func:`simulator.engine.binary.draw_rate` does."""
    w_vague, a, b, a_vague, b_vague = prior.as_kernel_array()
    rates = rng.beta(a, b, n)
    if w_vague > 0.0:
        vague = rng.random(n) < w_vague
        rates = np.where(vague, rng.beta(a_vague, b_vague, n), rates)
    return rates


def _binary_truth(plan: BinaryPlan, rng: np.random.Generator, n: int, stream: str):
    """Per-trial true rates (oriented: higher is better) of a binary member for a stream."""
    if stream == "type1":
        c, e = plan.null_truth()
    elif stream == "assurance" and plan.prior is not None:
        return _draw_mixture(rng, plan.prior[0], n), _draw_mixture(rng, plan.prior[1], n)
    else:
        c, e = plan.truth
    return np.full(n, float(c)), np.full(n, float(e))


def _binary_result(plan: BinaryPlan, stop, decision, truth, stream) -> tuple[np.ndarray, dict]:
    """Success and the counts :meth:`BinaryPlan.run_chunk` would give (level 0)."""
    success = decision == REJECT_FAVOURABLE
    counts = per_look_counts(stop, decision, len(plan.looks.planned_fractions))
    if stream == "assurance" and plan.prior is not None:
        effect = truth[1] - truth[0]
        if plan.endpoint.better == "lower":
            effect = -effect  # back to the natural scale: p_E - p_C
        counts["effect_success"] = np.histogram(effect[success], bins=EFFECT_BINS)[0]
        counts["effect_failure"] = np.histogram(effect[~success], bins=EFFECT_BINS)[0]
    return success, counts


def _survival_result(plan: SurvivalPlan, trials, stop, decision, ratios, stream) -> tuple[np.ndarray, dict]:
    """Success and the counts :meth:`SurvivalPlan.run_chunk` would give."""
    n_sims, n_looks = trials.z.shape
    rows = np.arange(n_sims)
    success = decision == REJECT_FAVOURABLE
    counts = per_look_counts(stop, decision, n_looks)
    events = trials.events[rows, stop]
    enrolled = trials.enrolled[rows, stop]
    duration = trials.look_times[rows, stop]
    reached = np.arange(n_looks)[None, :] <= stop[:, None]
    counts.update(
        events_sum=np.array([events.sum()], dtype=np.int64),
        events_sq=np.array([(events.astype(np.float64) ** 2).sum()]),
        enrolled_sum=np.array([enrolled.sum()], dtype=np.int64),
        enrolled_sq=np.array([(enrolled.astype(np.float64) ** 2).sum()]),
        duration_sum=np.array([duration.sum()]),
        duration_sq=np.array([(duration**2).sum()]),
        events_short=np.array([trials.short[rows, stop].sum()], dtype=np.int64),
        look_time_sum=np.where(reached, trials.look_times, 0.0).sum(axis=0),
        look_time_sq=(np.where(reached, trials.look_times, 0.0) ** 2).sum(axis=0),
        look_reached=reached.sum(axis=0).astype(np.int64),
        **dict(zip(("hr_estimate", "hr_estimate_over"), hr_counts(trials.hazard_ratio[rows, stop]))),
        **plan.look_time_counts(np.where(reached, trials.look_times, np.nan)),
        **look_counts(SimpleNamespace(
            look_times=np.where(reached, trials.look_times, np.nan), events_looks=trials.events,
            capped=trials.capped, stop_look=stop, last_look=trials.last_look,
        ), int(plan.config.trial.n_total)),
    )
    if stream == "assurance" and plan.prior is not None:
        ratios = np.broadcast_to(ratios, (n_sims,))
        counts.update(effect_counts(ratios, success))
    if len(plan.levels) > 1:
        # Holm: a fixed design (SurvivalPlan refuses sequential ones), so the
        # final z decides at every further level.
        z = trials.z[rows, stop]
        success = np.vstack([success] + [z >= bounds.efficacy[-1] for bounds in plan.levels[1:]])
    return success, counts


# ---------------------------------------------------------------- derived correlation
def phi_coefficient(p1: float, p2: float, rho: float) -> float:
    """Correlation of two events of one patient under the Gaussian copula.

    Events ``Z_1 < Phi^-1(p1)`` and ``Z_2 < Phi^-1(p2)`` with
    ``corr(Z_1, Z_2) = rho``: ``P11 = Phi2(Phi^-1(p1), Phi^-1(p2); rho)`` and
    ``phi = (P11 - p1 p2) / sqrt(p1 q1 p2 q2)``. Its size is at most
    ``|rho|`` and shrinks as the rates move away from 1/2.

    Examples
    --------
    >>> round(phi_coefficient(0.5, 0.5, 0.5), 4)  # 2 asin(rho) / pi for p = 1/2
    0.3333
    """
    if min(p1, p2) <= 0.0 or max(p1, p2) >= 1.0:
        return 0.0
    from scipy import stats  # the bivariate normal (imported where needed: simulator.stats.distributions)

    both = stats.multivariate_normal.cdf(
        [dist.norm.ppf(p1), dist.norm.ppf(p2)], mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]]
    )
    return float((both - p1 * p2) / math.sqrt(p1 * (1 - p1) * p2 * (1 - p2)))


def statistic_correlation(first, second, rho: float, n_c: float, n_e: float, better=("higher", "higher")) -> dict:
    """Large-sample correlation of two binary endpoints' risk-difference statistics.

    Parameters
    ----------
    first, second : (float, float)
        True event rates (control, experimental) of each endpoint, natural scale.
    rho : float
        The copula (latent) correlation of the two endpoints.
    n_c, n_e : float
        Evaluable patients per arm, the same patients for both endpoints.
    better : (str, str)
        Each endpoint's ``better``; the oriented statistics of a ``"higher"``
        and a ``"lower"`` endpoint correlate with the opposite sign.

    Returns
    -------
    dict
        ``phi`` (per arm, control then experimental: the correlation of the
        two events within an arm) and ``correlation`` of the oriented test
        statistics: ``Cov(d1, d2) = sum_arm phi_arm sqrt(p1 q1 p2 q2) / n_arm``
        divided by the product of the risk differences' standard deviations.

    Examples
    --------
    >>> out = statistic_correlation((0.3, 0.4), (0.3, 0.4), 0.5, 400, 400)
    >>> [round(v, 3) for v in out["phi"]], round(out["correlation"], 3)
    ([0.318, 0.33], 0.324)
    """
    phis, cov, var1, var2 = [], 0.0, 0.0, 0.0
    for arm, n in ((0, n_c), (1, n_e)):
        p1, p2 = first[arm], second[arm]
        phi = phi_coefficient(p1, p2, rho)
        phis.append(phi)
        cov += phi * math.sqrt(p1 * (1 - p1) * p2 * (1 - p2)) / n
        var1 += p1 * (1 - p1) / n
        var2 += p2 * (1 - p2) / n
    sign = (1 if better[0] == "higher" else -1) * (1 if better[1] == "higher" else -1)
    correlation = sign * cov / math.sqrt(var1 * var2) if var1 > 0 and var2 > 0 else 0.0
    return {"phi": phis, "correlation": float(correlation)}
