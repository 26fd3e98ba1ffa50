"""Interim futility rules of a continuous endpoint (difference of means) on the normal scale.

:class:`ContinuousRules` is built by :class:`simulator.endpoints.continuous.ContinuousPlan`
when the config has ``[interim]``. The kernel gives each trial's statistic
at every look; here each is moved to the z scale through its one-sided
p-value (the t tests' df; the z test as it is), and the trials are decided
look by look with the spending bounds (``decide_z``) and, at an interim that
continues, the futility rule on the predictive probability or the
conditional power (:mod:`simulator.design.adaptive`): the information of a
look is ``1 / (sd_C^2 / n_C + sd_E^2 / n_E)`` at the reference SDs (the
truth's, else the phase 2 ones; times sqrt(1 - rho^2) with a covariate), the
effect ``theta = sign (mean_E - mean_C) - theta0`` (the favourable
direction, from the non-inferiority margin), and the prior the endpoint's
normal prior on the difference of means (``prior.model = "normal"``, its
discounting included; flat without a prior). Re-estimation
(``[adaptation]``) is not available for continuous endpoints in this
version.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import special

from simulator.config.fields import fail
from simulator.design import adaptive as normal
from simulator.endpoints.adaptive import THRESHOLD_TARGETS, VALUE_BINS, decide_on_z, rule_report, threshold_rows
from simulator.stats import distributions as dist


@dataclass(frozen=True)
class ContinuousRules:
    """The futility rule of one continuous endpoint in one scenario; build with :meth:`build`."""

    rule_on: str
    effect: str
    below: np.ndarray  # per interim look
    info: np.ndarray  # per look
    design_theta: float
    prior_mean: float
    prior_sd: float  # inf: flat
    final_bound: float

    @classmethod
    def build(cls, config, plan) -> ContinuousRules:
        interim, endpoint = config.interim, plan.endpoint
        prior = endpoint.prior
        if prior is not None and (prior.model != "normal" or prior.robust_weight > 0):
            key = "prior.model" if prior.model != "normal" else "prior.robust_weight"
            value = prior.model if prior.model != "normal" else prior.robust_weight
            raise fail(f"endpoints.{endpoint.name}.{key}", "must be the normal prior without a robust part "
                       "(\"normal\", robust_weight = 0) with [interim] in this version (the rule's posterior is "
                       "normal)", value)
        sd_c, sd_e = plan._reference_sds()
        n_c, n_e = plan.looks.evaluable_c.astype(float), plan.looks.evaluable_e.astype(float)
        info = 1.0 / (sd_c**2 / n_c + sd_e**2 / n_e)
        if plan.truth is not None:
            design_difference = plan.truth.mean_e - plan.truth.mean_c
        else:
            design_difference = plan._prior_difference()[0]
        if prior is not None:
            mean, sd = plan._prior_difference()
            prior_mean, prior_sd = plan.sign * mean - plan.theta0, sd
        else:
            prior_mean, prior_sd = 0.0, np.inf
        return cls(interim.futility_on, interim.effect, np.asarray(interim.below, dtype=float), info,
                   plan.sign * design_difference - plan.theta0, prior_mean, float(prior_sd),
                   float(plan.bounds.efficacy[-1]))

    def values(self, z: np.ndarray, k: int) -> dict:
        """Conditional powers and predictive probability at look ``k`` of trials with interim ``z``."""
        return normal.interim_values(z, self.info[k], self.info[-1], self.final_bound, self.design_theta,
                                     self.prior_mean, self.prior_sd)

    def rule_values(self, values: dict) -> np.ndarray:
        return normal.rule_value(values, self.rule_on, self.effect)

    def run_chunk(self, plan, rng: np.random.Generator, n_sims: int, stream: str):
        """The plan's ``run_chunk`` with the rule: per-trial success and summable counts."""
        stat, df, mean_c, mean_e = plan._statistics(rng, n_sims, stream)
        # Each statistic on the z scale through its one-sided p-value (the z test's is the z itself).
        z = np.ascontiguousarray(np.where(np.isfinite(df), special.ndtri(special.stdtr(df, stat)), stat))
        n_looks = z.shape[1]
        values = [self.values(z[:, k], k) for k in range(n_looks - 1)]
        stop, decision, rule_stop, shadow_look, shadow_decision = decide_on_z(
            self, z, values, np.full(n_sims, n_looks - 1, dtype=np.int64), plan.bounds)
        success, counts = plan.counts_from_decisions(stop.astype(np.int8), decision, mean_c, mean_e, stream)
        enrolled = plan.looks.enrolled_total.astype(np.float64)
        saved = enrolled[shadow_look] - enrolled[stop]
        counts["rule_futility"] = np.bincount(stop[rule_stop], minlength=n_looks).astype(np.int64)
        counts["rule_cost"] = np.array([int((rule_stop & (shadow_decision == 1)).sum())], dtype=np.int64)
        counts["saved_sum"] = np.array([saved.sum()])
        counts["saved_sq"] = np.array([(saved**2).sum()])
        for name, key in (("pp_hist", "predictive_probability"), ("cp_design_hist", "conditional_power_design"),
                          ("cp_observed_hist", "conditional_power_observed")):
            hist = np.zeros((n_looks - 1, len(VALUE_BINS) - 1), dtype=np.int64)
            for k in range(n_looks - 1):
                hist[k] = np.histogram(np.clip(values[k][key][stop >= k], 0.0, 1.0), bins=VALUE_BINS)[0]
            counts[name] = hist
        return success, counts

    def thresholds(self, plan, targets=THRESHOLD_TARGETS) -> list:
        """Design-time thresholds as for survival (:meth:`SurvivalRules.thresholds`): z ~ N(0, 1) under H0."""
        edges = np.linspace(-8.0, 8.0, 16001)
        z = edges[:-1]  # each step's lower end: the reported probability is exact (SurvivalRules.thresholds)
        probability = np.diff(dist.norm.cdf(edges))
        bounds = plan.bounds
        out = []
        for k in range(len(self.below)):
            values = self.rule_values(self.values(z, k))
            values = np.where(z <= bounds.futility[k], -np.inf, np.where(z >= bounds.efficacy[k], np.inf, values))
            out.append(threshold_rows(values, probability, targets))
        return out

    def report(self, counts: dict, n_sims: int) -> dict:
        """The rule's report fields of one stream (docs/adaptive.md); the saving is in patients."""
        return rule_report(counts, n_sims, saving="patients")


def with_continuous_rules(config, plan):
    """``plan`` with its :class:`ContinuousRules` when the config has ``[interim]``."""
    if config.interim is None:
        return plan
    return dataclasses.replace(plan, rules=ContinuousRules.build(config, plan))
