"""Interim futility rules of a survival endpoint on the log-rank's normal approximation.

:class:`SurvivalRules` is built by :class:`simulator.endpoints.survival.SurvivalPlan`
when the config has ``[interim]``. The trials are simulated with every
look analysed (no bound stops the kernel early), then decided here: the
spending bounds at each look as the kernel decides them
(:func:`simulator.engine.adaptive.decide_with_rule`), and at an interim that
continues, futility when the predictive probability of success (or the
conditional power) is below the look's threshold. Both are computed from
the interim log-rank z and events alone (:mod:`simulator.design.adaptive`):
the information of ``d`` events is ``d r / (1 + r)^2`` at allocation
``r : 1``, the final analysis is the planned one (``design.events``), and
the prior is the endpoint's log-normal prior on the hazard ratio (flat
without one).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from simulator.config.fields import fail
from simulator.design import adaptive as normal
from simulator.endpoints.adaptive import (
    THRESHOLD_TARGETS,
    VALUE_BINS,
    decide_on_z,
    rule_report,
    size_distribution,
    size_histogram,
    threshold_rows,
)
from simulator.estimate import mean_from_sums, proportion
from simulator.stats import distributions as dist
from simulator.stats.decision import CONTINUE, REJECT_FAVOURABLE, STOP_FUTILITY

#: Most candidate sizes of a re-estimated second stage (events): the kernel analyses each one.
MAX_GRID = 16


@dataclass(frozen=True)
class SurvivalRules:
    """The interim rules of one survival endpoint in one scenario; build with :meth:`build`.

    Without ``[adaptation]`` the kernel's looks are the plan's; with it,
    the interim and a grid of candidate final analyses (``grid``: stage-2
    events, at most :data:`MAX_GRID` of them, evenly spaced from
    ``min_per_stage[2]`` to ``max_per_stage[2]`` with the planned second
    stage among them), the re-estimated size rounded up to the next one.
    """

    rule_on: str | None
    effect: str
    below: np.ndarray  # per interim look
    info_per_event: float
    final_events: int
    design_theta: float  # log(margin) - log(HR) at the design's hazard ratio
    prior_mean: float  # the prior on theta = log(margin) - log(HR)
    prior_sd: float  # inf: flat
    final_bound: float  # the final analysis's z bound
    grid: np.ndarray | None = None  # re-estimation: candidate stage-2 events
    planned_stage: int = 0
    target_z: float = 0.0
    zone: tuple = (-1.0, 2.0)
    ssr_posterior: bool = False
    weights: tuple = ()  # the inverse-normal weights sqrt(t_1), sqrt(1 - t_1) at the planned events

    @property
    def ssr(self) -> bool:
        return self.grid is not None

    @property
    def max_events(self) -> int:
        """Re-estimation: the most events a trial's stopping analysis can have, the interim's plus the largest
        candidate second stage (the kernel's last look; a trial whose events run out is analysed at fewer).
        The last cell of the per-chunk histogram ``final_size_hist``."""
        return self.final_events - self.planned_stage + int(self.grid[-1]) if self.grid is not None else 0

    @classmethod
    def build(cls, config, plan) -> SurvivalRules:
        interim, adaptation, endpoint = config.interim, config.adaptation, plan.endpoint
        section = "adaptation" if adaptation is not None else "interim"
        if plan.reaches_fractions:
            key = "design.look_times" if config.design.look_times else "design.max_duration"
            raise fail(key, f"cannot be used with [{section}] in this version (the rule needs the planned final "
                       "events)", getattr(config.design, key.split(".")[1]))
        if endpoint.test != "logrank":
            raise fail(f"endpoints.{endpoint.name}.test", f"must be \"logrank\" with [{section}] in this version "
                       "(the rule's normal approximation is the log-rank's)", endpoint.test)
        if getattr(endpoint, "nph", None) is not None:
            raise fail(section, "cannot be used with non-proportional hazards in this version (the rule's "
                       "normal approximation is on one log hazard ratio)", show_value=False)
        n_c, n_e = plan.n_arms
        ratio = n_e / n_c
        log_margin = math.log(plan.margin)
        if endpoint.truth.hazard_ratio is not None:
            design_theta = log_margin - math.log(endpoint.truth.hazard_ratio)
        else:
            design_theta = log_margin - plan.prior.hazard_ratio.log_mean
        if plan.prior is not None:
            prior_mean = log_margin - plan.prior.hazard_ratio.log_mean
            prior_sd = float(plan.prior.hazard_ratio.log_sd)
        else:
            prior_mean, prior_sd = 0.0, math.inf
        events = plan.looks.events
        rules = cls(
            interim.futility_on if interim is not None else None,
            interim.effect if interim is not None else "observed",
            np.asarray(interim.below if interim is not None else [0.0] * (len(events) - 1), dtype=float),
            ratio / (1.0 + ratio) ** 2, int(events[-1]), design_theta, prior_mean, prior_sd,
            float(plan.bounds.efficacy[-1]),
        )
        if adaptation is None:
            return rules
        if len(events) != 2:
            raise fail("design.looks", "must be 2 with [adaptation] for a survival endpoint in this version (two "
                       "stages; more are for binary endpoints)", len(events))
        first, planned = int(events[0]), int(events[-1] - events[0])
        for key, sizes in (("adaptation.min_per_stage", adaptation.min_per_stage),
                           ("adaptation.max_per_stage", adaptation.max_per_stage)):
            if sizes[0] != first:
                raise fail(key, f"must start with the first stage's events, {first} (design.looks and "
                           "design.events fix stage 1; for a survival endpoint the sizes are events)", list(sizes))
        low, high = adaptation.min_per_stage[1], adaptation.max_per_stage[1]
        if not low <= planned <= high:
            raise fail("adaptation.max_per_stage", f"must allow the planned second stage, {planned} events, between "
                       "min_per_stage[2] and max_per_stage[2]", list(adaptation.max_per_stage))
        if first + high > config.trial.n_total:
            raise fail("adaptation.max_per_stage", f"must leave the events within the {config.trial.n_total} "
                       f"subjects (trial.n_total): {first} + {high} is more", list(adaptation.max_per_stage))
        grid = np.unique(np.concatenate([np.ceil(np.linspace(low, high, MAX_GRID - 1)), [planned]])).astype(np.int64)
        t1 = first / float(events[-1])
        zone = adaptation.promising_zone if adaptation.promising_zone is not None else (-1.0, 2.0)
        return dataclasses.replace(
            rules, grid=grid, planned_stage=planned, target_z=float(dist.norm.ppf(adaptation.conditional_power)),
            zone=tuple(zone), ssr_posterior=adaptation.effect == "posterior_mean",
            weights=(math.sqrt(t1), math.sqrt(1.0 - t1)),
        )

    def schedule(self, plan, out: dict) -> dict:
        """The kernel's looks (every one analysed, no bound stops a trial inside it)."""
        looks = plan.looks.events if not self.ssr else np.concatenate([[plan.looks.events[0]],
                                                                        plan.looks.events[0] + self.grid])
        return dict(out, look_events=np.asarray(looks, dtype=np.int64), efficacy=np.full(len(looks), np.inf),
                    futility=None)

    # ------------------------------------------------------------ the interim values
    def values(self, z: np.ndarray, events: np.ndarray) -> dict:
        """Conditional powers and predictive probability of trials with interim ``z`` at ``events``.

        Without re-estimation: of the final analysis as planned (the
        cumulative log-rank at ``design.events``). With it: of the second
        stage's own z against the combination test's conditional critical
        value, the conditional powers at the planned second stage and the
        predictive probability at the size the rule chooses (``stage``,
        also returned).
        """
        if self.ssr:
            return self._stage_values(z, events)
        return normal.interim_values(z, events * self.info_per_event, self.final_events * self.info_per_event,
                                     self.final_bound, self.design_theta, self.prior_mean, self.prior_sd)

    def _stage_values(self, z: np.ndarray, events: np.ndarray) -> dict:
        f = self.info_per_event
        info = events * f
        w1, w2 = self.weights
        c = (self.final_bound - w1 * z) / w2
        with np.errstate(invalid="ignore", divide="ignore"):
            observed = z / np.sqrt(info)
            aim = normal.posterior_mean(z, info, self.prior_mean, self.prior_sd) if self.ssr_posterior else observed
            planned = self.planned_stage * f
            in_zone = (self.zone[0] <= normal.conditional_power_stage(c, planned, aim)) & (
                normal.conditional_power_stage(c, planned, aim) <= self.zone[1])
            wanted = normal.stage_events(c, aim, self.target_z, f, float(self.grid[0]), float(self.grid[-1]))
            wanted = np.where(in_zone, wanted, self.planned_stage)
            # Rounded up to the next candidate size the kernel analysed.
            index = np.minimum(np.searchsorted(self.grid, wanted), len(self.grid) - 1)
            stage = self.grid[index]
            return {
                "conditional_power_design": normal.conditional_power_stage(c, planned, self.design_theta),
                "conditional_power_observed": normal.conditional_power_stage(c, planned, observed),
                "predictive_probability": normal.predictive_probability_stage(
                    c, z, info, stage * f, self.prior_mean, self.prior_sd),
                "stage": stage, "grid_index": index, "critical": c,
            }

    def rule_values(self, values: dict) -> np.ndarray:
        return normal.rule_value(values, self.rule_on, self.effect)

    # ------------------------------------------------------------ simulation
    def run_chunk(self, plan, rng: np.random.Generator, n_sims: int, stream: str):
        """The plan's ``run_chunk`` with the rule: per-trial success and summable counts."""
        trials, ratios = plan.simulate(rng, n_sims, stream)
        if self.ssr:
            return self._run_stages(plan, trials, ratios, stream, n_sims)
        n_looks = len(plan.looks.events)
        z_all = np.ascontiguousarray(trials.z_all)
        events = trials.events_looks.astype(float)
        values = [self.values(z_all[:, k], events[:, k]) for k in range(n_looks - 1)]
        stop, decision, rule_stop, shadow_look, shadow_decision = decide_on_z(
            self, z_all, values, trials.last_look.astype(np.int64), plan.bounds)
        decided = plan.stopped_at(trials, stop, decision)
        success, counts = plan.chunk_counts(decided, ratios, stream, n_sims)
        rows = np.arange(n_sims)
        saved = (trials.events_looks[rows, shadow_look] - decided.events).astype(np.float64)
        counts["rule_futility"] = np.bincount(stop[rule_stop], minlength=n_looks).astype(np.int64)
        counts["rule_cost"] = np.array([int((rule_stop & (shadow_decision == REJECT_FAVOURABLE)).sum())],
                                       dtype=np.int64)
        counts["saved_sum"] = np.array([saved.sum()])
        counts["saved_sq"] = np.array([(saved**2).sum()])
        for name, key in (("pp_hist", "predictive_probability"), ("cp_design_hist", "conditional_power_design"),
                          ("cp_observed_hist", "conditional_power_observed")):
            hist = np.zeros((n_looks - 1, len(VALUE_BINS) - 1), dtype=np.int64)
            for k in range(n_looks - 1):
                reached = stop >= k
                hist[k] = np.histogram(np.clip(values[k][key][reached], 0.0, 1.0), bins=VALUE_BINS)[0]
            counts[name] = hist
        return success, counts

    def _run_stages(self, plan, trials, ratios, stream: str, n_sims: int):
        """Re-estimation: the interim, the second stage at the chosen grid look, the combination test."""
        z, events, last = trials.z_all, trials.events_looks.astype(float), trials.last_look.astype(np.int64)
        z1, e1 = z[:, 0], events[:, 0]
        bounds = plan.bounds
        values = self.values(z1, e1)
        # The interim as the kernel decides it (decide_z), then the rule where it continues.
        reject1 = z1 >= bounds.efficacy[0]
        futile1 = ~reject1 & (z1 <= bounds.futility[0]) & (z1 >= bounds.futility_floor[0])
        ends = last == 0  # the events ran out before the interim's: analysed there, no decision otherwise
        goes_on = ~reject1 & ~futile1 & ~ends
        rule_stop = np.zeros(n_sims, dtype=bool)
        if self.rule_on is not None:
            rule_stop = goes_on & (np.nan_to_num(self.rule_values(values), nan=1.0) < self.below[0])
        # The second stage at its grid look (or the last look reached, when the events ran out first).
        rows = np.arange(n_sims)
        column = np.where(goes_on, np.minimum(1 + values["grid_index"], last), 0)
        e_final, z_final = events[rows, column], z[rows, column]
        added = e_final - e1
        with np.errstate(invalid="ignore", divide="ignore"):
            z2 = np.where(added > 0, (np.sqrt(e_final) * z_final - np.sqrt(e1) * z1) / np.sqrt(added), 0.0)
        reject2 = goes_on & (z2 >= values["critical"])
        shadow = np.where(reject1 | reject2, REJECT_FAVOURABLE, np.where(futile1, STOP_FUTILITY, CONTINUE))
        decision = np.where(rule_stop, STOP_FUTILITY, shadow).astype(np.int8)
        stop = np.where(goes_on & ~rule_stop, 1, 0)
        # Two looks as the plan has them: the interim and each trial's own final analysis.
        cols = np.stack([np.zeros(n_sims, dtype=np.int64), column], axis=1)
        pick = lambda a: np.take_along_axis(a, cols, axis=1)  # noqa: E731
        two = dataclasses.replace(
            trials, z_all=pick(z), events_looks=pick(trials.events_looks), enrolled_looks=pick(trials.enrolled_looks),
            hr_looks=pick(trials.hr_looks), short_looks=pick(trials.short_looks),
            look_times_all=pick(trials.look_times_all), last_look=np.minimum(last, 1),
        )
        decided = plan.stopped_at(two, stop, decision)
        success, counts = plan.chunk_counts(decided, ratios, stream, n_sims)
        saved = np.where(rule_stop, e_final - e1, 0.0)
        counts["rule_futility"] = np.array([int(rule_stop.sum()), 0], dtype=np.int64)
        counts["rule_cost"] = np.array([int((rule_stop & reject2).sum())], dtype=np.int64)
        counts["saved_sum"] = np.array([saved.sum()])
        counts["saved_sq"] = np.array([(saved**2).sum()])
        counts["increased"] = np.array([int(((stop == 1) & (values["stage"] > self.planned_stage)).sum())],
                                       dtype=np.int64)
        # The events each trial's stopping analysis has: those expected_events averages (events_sum).
        counts["final_size_hist"] = size_histogram(decided.events, self.max_events)
        for name, key in (("pp_hist", "predictive_probability"), ("cp_design_hist", "conditional_power_design"),
                          ("cp_observed_hist", "conditional_power_observed")):
            counts[name] = np.histogram(np.clip(values[key], 0.0, 1.0), bins=VALUE_BINS)[0][None, :]
        return success, counts

    def thresholds(self, plan, targets=THRESHOLD_TARGETS) -> list:
        """Design-time thresholds of the rule, by the normal approximation.

        Per interim look, as if it were the only interim: under H0 (HR =
        margin) the interim z is about N(0, 1) at the look's planned events;
        the rule's value increases with z, so the probability of stopping
        for futility there (the spending bound's or the rule's) is that of
        z below the larger of the futility bound and the z at which the
        value equals the threshold. Computed on a fine grid of z (step
        0.001, with the normal probability of each step) by
        :func:`simulator.design.adaptive.threshold_for_stop_probability`.
        ``None`` without a futility rule (re-estimation alone).

        Each step carries the value at its lower end: a threshold is then
        the value at a grid point ``z_j``, and the probability reported for
        it, ``Phi(z_j)``, is exactly that of the value falling below it
        (the value increases with z). The step's midpoint would report up to
        half a step's probability too little.
        """
        if self.rule_on is None:
            return None
        edges = np.linspace(-8.0, 8.0, 16001)
        z = edges[:-1]
        probability = np.diff(dist.norm.cdf(edges))
        out = []
        bounds = plan.bounds
        for k in range(len(self.below)):
            values = self.rule_values(self.values(z, np.full(z.shape, float(plan.looks.events[k]))))
            values = np.where(z <= bounds.futility[k], -np.inf, np.where(z >= bounds.efficacy[k], np.inf, values))
            out.append(threshold_rows(values, probability, targets))
        return out

    def report(self, counts: dict, n_sims: int) -> dict:
        """The rules' report fields of one stream (docs/adaptive.md); the saving is in events."""
        out = rule_report(counts, n_sims, saving="events" if self.rule_on is not None else None)
        out["expected_events"], out["expected_events_mcse"] = mean_from_sums(
            float(counts["events_sum"][0]), float(counts["events_sq"][0]), n_sims)
        if self.ssr:
            out["increase"], out["increase_mcse"] = proportion(int(counts["increased"][0]), n_sims)
            # Above the planned final analysis (design.events) without re-estimation.
            out.update(size_distribution(counts["final_size_hist"], n_sims, self.final_events))
        return out


def with_survival_rules(config, plan):
    """``plan`` with its :class:`SurvivalRules` when the config has ``[interim]`` or ``[adaptation]``."""
    if config.interim is None and config.adaptation is None:
        return plan
    return dataclasses.replace(plan, rules=SurvivalRules.build(config, plan))
