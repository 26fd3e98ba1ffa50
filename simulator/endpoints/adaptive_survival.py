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
from scipy import stats

from simulator.config.fields import fail
from simulator.design import adaptive as normal
from simulator.endpoints.adaptive import THRESHOLD_TARGETS, VALUE_BINS, rule_report, threshold_rows
from simulator.engine.adaptive import decide_with_rule
from simulator.stats.decision import REJECT_FAVOURABLE


@dataclass(frozen=True)
class SurvivalRules:
    """The futility rule of one survival endpoint in one scenario; build with :meth:`build`."""

    rule_on: str
    effect: str
    below: np.ndarray  # per interim look
    info_per_event: float
    final_events: int
    design_theta: float  # log(margin) - log(HR) at the design's hazard ratio
    prior_mean: float  # the prior on theta = log(margin) - log(HR)
    prior_sd: float  # inf: flat
    final_bound: float  # the final analysis's z bound

    @classmethod
    def build(cls, config, plan) -> SurvivalRules:
        interim, endpoint = config.interim, plan.endpoint
        if plan.reaches_fractions:
            key = "design.look_times" if config.design.look_times else "design.max_duration"
            raise fail(key, "cannot be used with [interim] in this version (the rule needs the planned final "
                       "events)", getattr(config.design, key.split(".")[1]))
        if endpoint.test != "logrank":
            raise fail(f"endpoints.{endpoint.name}.test", "must be \"logrank\" with [interim] in this version "
                       "(the rule's normal approximation is the log-rank's)", endpoint.test)
        if getattr(endpoint, "nph", None) is not None:
            raise fail("interim", "cannot be used with non-proportional hazards in this version (the rule's "
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
        return cls(interim.futility_on, interim.effect, np.asarray(interim.below, dtype=float),
                   ratio / (1.0 + ratio) ** 2, int(plan.looks.events[-1]), design_theta, prior_mean, prior_sd,
                   float(plan.bounds.efficacy[-1]))

    # ------------------------------------------------------------ the interim values
    def values(self, z: np.ndarray, events: np.ndarray) -> dict:
        """Conditional powers and predictive probability of trials with interim ``z`` at ``events``."""
        info = events * self.info_per_event
        final = self.final_events * self.info_per_event
        bound = self.final_bound
        with np.errstate(invalid="ignore", divide="ignore"):
            return {
                "conditional_power_design": normal.conditional_power(z, info, final, bound, self.design_theta),
                "conditional_power_observed": normal.conditional_power(z, info, final, bound, None),
                "predictive_probability": normal.predictive_probability(
                    z, info, final, bound, self.prior_mean, self.prior_sd),
            }

    def rule_values(self, values: dict) -> np.ndarray:
        if self.rule_on == "predictive_probability":
            return values["predictive_probability"]
        return values["conditional_power_observed" if self.effect == "observed" else "conditional_power_design"]

    # ------------------------------------------------------------ simulation
    def run_chunk(self, plan, rng: np.random.Generator, n_sims: int, stream: str):
        """The plan's ``run_chunk`` with the rule: per-trial success and summable counts."""
        trials, ratios = plan.simulate(rng, n_sims, stream)
        n_looks = len(plan.looks.events)
        z_all = np.ascontiguousarray(trials.z_all)
        events = trials.events_looks.astype(float)
        values = [self.values(z_all[:, k], events[:, k]) for k in range(n_looks - 1)]
        rule = np.zeros((n_sims, n_looks))
        for k, v in enumerate(values):
            rule[:, k] = np.nan_to_num(self.rule_values(v), nan=1.0)
        stop = np.empty(n_sims, dtype=np.int64)
        decision = np.empty(n_sims, dtype=np.int8)
        rule_stop = np.empty(n_sims, dtype=np.bool_)
        shadow_look = np.empty(n_sims, dtype=np.int64)
        shadow_decision = np.empty(n_sims, dtype=np.int8)
        bounds = plan.bounds
        below = np.append(self.below, 0.0)
        decide_with_rule(z_all, trials.last_look.astype(np.int64), bounds.efficacy, bounds.unfavourable,
                         bounds.futility, bounds.futility_floor, rule, below, stop, decision, rule_stop,
                         shadow_look, shadow_decision)
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
        """
        edges = np.linspace(-8.0, 8.0, 16001)
        z = 0.5 * (edges[1:] + edges[:-1])
        probability = np.diff(stats.norm.cdf(edges))
        out = []
        bounds = plan.bounds
        for k in range(len(self.below)):
            values = self.rule_values(self.values(z, np.full(z.shape, float(plan.looks.events[k]))))
            values = np.where(z < bounds.futility[k], -np.inf, np.where(z >= bounds.efficacy[k], np.inf, values))
            out.append(threshold_rows(values, probability, targets))
        return out

    def report(self, counts: dict, n_sims: int) -> dict:
        """The rule's report fields of one stream (docs/adaptive.md); the saving is in events."""
        return rule_report(counts, n_sims, saving="events")


def with_survival_rules(config, plan):
    """``plan`` with its :class:`SurvivalRules` when the config has ``[interim]``."""
    if config.interim is None:
        return plan
    return dataclasses.replace(plan, rules=SurvivalRules.build(config, plan))
