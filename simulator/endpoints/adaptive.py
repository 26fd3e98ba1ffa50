"""Interim rules of a binary endpoint: futility on predictive probability or conditional power, re-estimation.

:class:`InterimRules` is built by :class:`simulator.endpoints.binary.BinaryPlan`
when the config has ``[interim]`` or ``[adaptation]`` (docs/adaptive.md),
and replaces the plan's simulation: the tables of
:func:`simulator.engine.adaptive.interim_tables` (every outcome of each
interim, computed once per plan over the interim counts), then trials
simulated by reading them (:func:`simulator.engine.adaptive.simulate_rules_fixed`
at fixed rates, from alias tables; :func:`simulator.engine.adaptive.simulate_rules`
with rates drawn from the prior).

Two designs:

- **group-sequential with a futility rule** (``[interim]`` only): the
  plan's looks and spending bounds; at an interim that does not cross a
  bound, futility when the predictive probability (or the conditional
  power) is below the look's threshold. The final analysis is the plan's.
- **two-stage re-estimation** (``[adaptation]``): the inverse-normal
  combination test with weights ``sqrt(t_1)``, ``sqrt(1 - t_1)`` fixed by
  the planned looks, its bounds those of the spending design at ``t_1``;
  the second stage's size from the conditional power (rpact's rule,
  docs/adaptive.md), optionally only in a promising zone.

With re-estimation every chunk also counts its trials per final size
(``final_size_hist``: patients randomised by the stopping look, one cell per
possible size), from which :func:`size_distribution` reports the quantiles,
extremes and the probability of exceeding the planned maximum.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from simulator.config.fields import fail
from simulator.design.adaptive import threshold_for_stop_probability
from simulator.endpoints.common import per_look_counts
from simulator.engine.adaptive import (
    ON_CP_DESIGN,
    ON_CP_OBSERVED,
    ON_NONE,
    ON_PREDICTIVE,
    StageDesign,
    decide_with_rule,
    final_table,
    interim_tables,
    simulate_rules,
    simulate_rules_fixed,
    simulate_stages,
    stage_rejection_table,
    tally_rules,
)
from simulator.engine.binary import alias_table
from simulator.estimate import mean_from_sums, proportion
from simulator.stats import distributions as dist
from simulator.stats.decision import REJECT_FAVOURABLE, STOP_FUTILITY

#: Bins of the per-look histograms of the conditional powers and the predictive probability.
VALUE_BINS = np.linspace(0.0, 1.0, 21)
#: The analysis prior of an arm without a phase 2 prior: a uniform Beta(1, 1), as the kernels lay it out.
UNIFORM = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
#: Target probabilities of a futility stop under H0 for which the report gives the rule's threshold.
THRESHOLD_TARGETS = (0.1, 0.2, 0.3, 0.4, 0.5)
#: Most work (interim cells x further patients x bisection steps) of one look's exact tables, about 5 s.
MAX_TABLE_WORK = 3e8
#: Probabilities of the reported quantiles of the final size (re-estimation designs), exact as fractions.
SIZE_QUANTILES = tuple(Fraction(p) for p in ("0.05", "0.25", "0.5", "0.75", "0.95"))
#: Normal quantile of the order-statistic confidence intervals of those quantiles (two-sided 95 %).
SIZE_CI_Z = float(dist.norm.ppf(0.975))


class FixedTables(NamedTuple):
    """Alias tables of :func:`simulator.engine.adaptive.simulate_rules_fixed` (its argument order)."""

    cell_prob: np.ndarray
    cell_alias: np.ndarray
    width_e: int
    inc_prob: np.ndarray
    inc_alias: np.ndarray
    inc_offset_c: np.ndarray
    inc_size_c: np.ndarray
    inc_offset_e: np.ndarray
    inc_size_e: np.ndarray
    reject2: np.ndarray


class Chunk(NamedTuple):
    """Per-trial arrays of one simulated chunk (:func:`simulator.engine.adaptive.simulate_rules`)."""

    x_c: np.ndarray
    x_e: np.ndarray
    stop_look: np.ndarray
    decision: np.ndarray
    rule_stop: np.ndarray
    patients: np.ndarray
    shadow_reject: np.ndarray
    shadow_patients: np.ndarray
    true_c: np.ndarray
    true_e: np.ndarray


@dataclass(frozen=True)
class InterimRules:
    """The interim tables of one binary endpoint in one scenario; build with :meth:`build`."""

    ssr: bool
    outcome: np.ndarray = field(repr=False)  # (K - 1, n_c + 1, n_e + 1) int8 at the last interim's sizes
    final_outcome: np.ndarray = field(repr=False)
    cp_design: tuple = field(repr=False)  # per interim look, (n_c + 1, n_e + 1)
    cp_observed: tuple = field(repr=False)
    pp: tuple = field(repr=False)
    stage_c: np.ndarray = field(repr=False)  # re-estimation: further patients per arm at the interim counts
    stage_e: np.ndarray = field(repr=False)
    critical: np.ndarray = field(repr=False)
    planned_stage: int = 0  # re-estimation: the planned second stage (patients, both arms)
    first_stage: int = 0  # re-estimation: the first stage (patients, both arms)
    weights: tuple = ()  # re-estimation: the inverse-normal weights of the two stages
    rule_on: str | None = None
    rule_below: tuple = ()
    rule_effect: str = "observed"  # conditional power: "observed" or "design"
    #: Whether the tables hold the exact predictive probability (and, with re-estimation at fixed rates, the
    #: exact second-stage rejection probabilities): not for trials too large for them (:data:`MAX_TABLE_WORK`).
    exact_pp: bool = True
    #: A K-stage re-estimation design (more than two stages): simulated per trial, no tables.
    stages: StageDesign | None = field(default=None, repr=False)
    design_rates: tuple = ()  # the design's (control, experimental) rates, oriented
    #: Re-estimation: the largest final size a trial can have (patients, both arms), the last cell of the
    #: per-chunk histogram ``final_size_hist``; the first stage plus the largest size of every later stage.
    max_size: int = 0
    #: Re-estimation: the planned maximum size without it (the last look's patients, design.looks).
    planned_size: int = 0
    #: :class:`FixedTables` per pair of fixed rates, built on first use (a cache, not part of the value).
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def rule_cp(self) -> tuple:
        """The conditional power tables the rule reads (``rule_effect``)."""
        return self.cp_observed if self.rule_effect == "observed" else self.cp_design

    @classmethod
    def _stages(cls, config, plan, prior_c, prior_e, design_rates) -> InterimRules:
        """A K-stage re-estimation design (no tables: every later stage is sized per trial)."""
        adaptation, looks, bounds = config.adaptation, plan.looks, plan.bounds
        t = np.asarray(looks.realised_fractions, dtype=float)
        zone = adaptation.promising_zone if adaptation.promising_zone is not None else (-1.0, 2.0)
        futility = np.asarray(bounds.futility, dtype=float).copy()
        futility[-1] = -np.inf  # the final look has no futility bound
        stages = StageDesign(
            plan.code, plan.theta0, np.diff(looks.evaluable_c, prepend=0).astype(np.int64),
            np.diff(looks.evaluable_e, prepend=0).astype(np.int64), np.sqrt(np.diff(t, prepend=0.0)), np.sqrt(t),
            np.asarray(bounds.efficacy, dtype=float), np.asarray(bounds.unfavourable, dtype=float), futility,
            np.asarray(bounds.futility_floor, dtype=float), np.asarray(adaptation.min_per_stage, dtype=float),
            np.asarray(adaptation.max_per_stage, dtype=float), float(dist.norm.ppf(adaptation.conditional_power)),
            config.trial.allocation[1] / config.trial.allocation[0], float(zone[0]), float(zone[1]),
            adaptation.effect == "posterior_mean", prior_c, prior_e,
        )
        empty = np.zeros((1, 1))
        # Every later stage is either its planned size or the rule's, at most ceil(max_per_stage[k]).
        planned = stages.planned_c + stages.planned_e
        largest = int(planned[0]) + sum(max(int(planned[k]), math.ceil(stages.high[k])) for k in range(1, len(planned)))
        return cls(True, np.zeros((1, 1, 1), dtype=np.int8), np.zeros((1, 1), dtype=np.int8), (), (), (),
                   np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64), empty,
                   stages=stages, design_rates=design_rates, max_size=largest,
                   planned_size=int(looks.enrolled_total[-1]))

    def _run_stages(self, plan, rng: np.random.Generator, n_sims: int, stream: str) -> tuple[np.ndarray, dict]:
        """``run_chunk`` of a K-stage re-estimation design (:func:`simulator.engine.adaptive.simulate_stages`)."""
        use_prior = stream == "assurance" and plan.prior is not None
        p_c, p_e = (0.0, 0.0) if use_prior else (plan.null_truth() if stream == "type1" else plan.truth)
        draw_c, draw_e = ((plan.prior[0].as_kernel_array(), plan.prior[1].as_kernel_array()) if use_prior
                          else (np.zeros(5), np.zeros(5)))
        n_looks = len(plan.looks.evaluable_c)
        stop_look = np.empty(n_sims, dtype=np.int8)
        decision = np.empty(n_sims, dtype=np.int8)
        patients = np.empty(n_sims, dtype=np.int64)
        increased = np.empty(n_sims, dtype=np.bool_)
        n_bins = len(VALUE_BINS) - 1
        cp_design = np.zeros((n_looks - 1, n_bins), dtype=np.int64)
        cp_observed = np.zeros((n_looks - 1, n_bins), dtype=np.int64)
        true = np.empty((2, n_sims))
        simulate_stages(rng, n_sims, float(p_c), float(p_e), draw_c, draw_e, use_prior, self.stages,
                        self.design_rates[0], self.design_rates[1], stop_look, decision, patients, increased,
                        cp_design, cp_observed, true)
        success = decision == REJECT_FAVOURABLE
        counts = per_look_counts(stop_look, decision, n_looks)
        counts.update(
            rule_futility=np.zeros(n_looks, dtype=np.int64),
            enrolled_sum=np.array([patients.sum()], dtype=np.int64),
            enrolled_sq=np.array([(patients.astype(np.float64) ** 2).sum()]),
            increased=np.array([int(increased.sum())], dtype=np.int64),
            cp_design_hist=cp_design, cp_observed_hist=cp_observed,
            final_size_hist=size_histogram(patients, self.max_size),
        )
        if use_prior:
            effect = true[1] - true[0]
            if plan.endpoint.better == "lower":
                effect = -effect  # back to the natural scale: p_E - p_C
            counts["effect_success"] = np.histogram(effect[success], bins=plan.effect_bins)[0]
            counts["effect_failure"] = np.histogram(effect[~success], bins=plan.effect_bins)[0]
        return success, counts

    @classmethod
    def build(cls, config, plan) -> InterimRules:
        """Tabulate every interim of ``plan`` (a :class:`~simulator.endpoints.binary.BinaryPlan`)."""
        interim, adaptation = config.interim, config.adaptation
        looks, bounds = plan.looks, plan.bounds
        n_c, n_e = looks.evaluable_c.astype(np.int64), looks.evaluable_e.astype(np.int64)
        n_looks = len(n_c)
        fractions = looks.realised_fractions
        design_c, design_e = plan.truth if plan.truth is not None else (plan.prior[0].mean(), plan.prior[1].mean())
        prior_c, prior_e = (
            (plan.prior[0].as_kernel_array(), plan.prior[1].as_kernel_array()) if plan.prior is not None
            else (UNIFORM, UNIFORM)
        )
        rule_on = ON_NONE
        if interim is not None:
            rule_on = ON_PREDICTIVE if interim.futility_on == "predictive_probability" else (
                ON_CP_OBSERVED if interim.effect == "observed" else ON_CP_DESIGN)
        ssr = adaptation is not None
        ratio = config.trial.allocation[1] / config.trial.allocation[0]
        planned_stage = int(looks.enrolled_total[-1] - looks.enrolled_total[0])
        if ssr:
            first = int(looks.enrolled_total[0])
            for key, sizes in (("adaptation.min_per_stage", adaptation.min_per_stage),
                               ("adaptation.max_per_stage", adaptation.max_per_stage)):
                if sizes[0] != first:
                    raise fail(key, f"must start with the first stage's patients, {first} (design.looks and "
                               "trial.n_total fix stage 1)", list(sizes))
            stages = np.diff(looks.enrolled_total, prepend=0)
            for k in range(1, n_looks):
                if not adaptation.min_per_stage[k] <= stages[k] <= adaptation.max_per_stage[k]:
                    # Name the list that excludes the planned stage: the minimum above it, or the maximum below.
                    key, sizes = (("adaptation.min_per_stage", adaptation.min_per_stage)
                                  if adaptation.min_per_stage[k] > stages[k]
                                  else ("adaptation.max_per_stage", adaptation.max_per_stage))
                    raise fail(key, f"must allow the planned stage {k + 1}, {int(stages[k])} "
                               f"patients, between min_per_stage[{k + 1}] and max_per_stage[{k + 1}]", list(sizes))
            if n_looks > 2:
                return cls._stages(config, plan, prior_c, prior_e, (float(design_c), float(design_e)))
        rest_max = int(adaptation.max_per_stage[1]) if ssr else int(n_c[-1] - n_c[0] + n_e[-1] - n_e[0])
        width_c, width_e = int(n_c[-2]) + 1, int(n_e[-2]) + 1
        work = width_c * width_e * rest_max * (np.log2(rest_max + 2) + 1)
        exact_pp = bool(work <= MAX_TABLE_WORK)
        if not exact_pp and rule_on == ON_PREDICTIVE:
            raise fail("interim.futility.on", "cannot be \"predictive_probability\" for a trial this size (its exact "
                       f"tables would take about {work:.2g} operations, at most {MAX_TABLE_WORK:.0g}); use "
                       "\"conditional_power\", or fewer patients at the interim", interim.futility_on)
        outcome = np.zeros((n_looks - 1, width_c, width_e), dtype=np.int8)
        cp_design, cp_observed, pp = [], [], []
        stage_c = np.zeros((1, 1), dtype=np.int64)
        stage_e = np.zeros((1, 1), dtype=np.int64)
        critical = np.zeros((1, 1))
        weights = (float(np.sqrt(fractions[0])), float(np.sqrt(1.0 - fractions[0])))
        target_z = float(dist.norm.ppf(adaptation.conditional_power)) if ssr else 0.0
        zone = adaptation.promising_zone if ssr and adaptation.promising_zone is not None else (-1.0, 2.0)
        for k in range(n_looks - 1):
            shape = (int(n_c[k]) + 1, int(n_e[k]) + 1)
            tables = [np.zeros(shape, dtype=np.int8), np.zeros(shape), np.zeros(shape), np.zeros(shape),
                      np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64), np.zeros(shape)]
            t = fractions[k]
            below = interim.below[k] if interim is not None else 0.0
            interim_tables(
                plan.code, plan.theta0, int(n_c[k]), int(n_e[k]), float(bounds.efficacy[k]),
                float(bounds.unfavourable[k]), float(bounds.futility[k]), float(bounds.futility_floor[k]),
                float(bounds.efficacy[-1]), float(np.sqrt(t)), float(np.sqrt(1.0 - t)),
                int(n_c[-1] - n_c[k]), int(n_e[-1] - n_e[k]), not ssr, float(design_c), float(design_e),
                prior_c, prior_e, rule_on, float(below),
                ssr, ssr and adaptation.effect == "posterior_mean", target_z,
                float(adaptation.min_per_stage[1]) if ssr else 0.0, float(adaptation.max_per_stage[1]) if ssr else 0.0,
                float(zone[0]), float(zone[1]), ratio, exact_pp, *tables,
            )
            outcome[k, : shape[0], : shape[1]] = tables[0]
            cp_design.append(tables[1])
            cp_observed.append(tables[2])
            pp.append(tables[3])
            if ssr:
                stage_c, stage_e, critical = tables[4], tables[5], tables[6]
        # The second stage is the planned one (outside the promising zone) or the rule's, at most
        # ceil(max_per_stage[2]) (stage_size_rates clips, then rounds up); stage 1 is enrolled_total[0].
        max_size = (int(looks.enrolled_total[0]) + max(planned_stage, math.ceil(adaptation.max_per_stage[1]))
                    if ssr else 0)
        final = np.zeros((1, 1), dtype=np.int8)
        if not ssr:
            final = np.zeros((int(n_c[-1]) + 1, int(n_e[-1]) + 1), dtype=np.int8)
            final_table(plan.code, plan.theta0, int(n_c[-1]), int(n_e[-1]), float(bounds.efficacy[-1]),
                        float(bounds.unfavourable[-1]), float(bounds.futility[-1]), float(bounds.futility_floor[-1]),
                        final)
        return cls(
            ssr, outcome, final, tuple(cp_design), tuple(cp_observed), tuple(pp), stage_c, stage_e, critical,
            planned_stage if ssr else 0, int(looks.enrolled_total[0]) if ssr else 0, weights if ssr else (),
            interim.futility_on if interim is not None else None,
            tuple(interim.below) if interim is not None else (),
            interim.effect if interim is not None else "observed",
            exact_pp=exact_pp, max_size=max_size, planned_size=int(looks.enrolled_total[-1]) if ssr else 0,
        )

    # ------------------------------------------------------------ simulation
    def simulate(self, plan, rng: np.random.Generator, n_sims: int, stream: str):
        """Per-trial arrays of one chunk: counts per look, stop, outcome, rule stop, patients, true rates."""
        use_prior = stream == "assurance" and plan.prior is not None
        if stream == "type1":
            p_c, p_e = plan.null_truth()
        elif use_prior:
            p_c, p_e = 0.0, 0.0
        else:
            p_c, p_e = plan.truth
        prior_c, prior_e = (
            (plan.prior[0].as_kernel_array(), plan.prior[1].as_kernel_array()) if use_prior
            else (np.zeros(5), np.zeros(5))
        )
        looks = plan.looks
        n_looks = len(looks.evaluable_c)
        x_c = np.empty((n_sims, n_looks), dtype=np.int64)
        x_e = np.empty((n_sims, n_looks), dtype=np.int64)
        stop_look = np.empty(n_sims, dtype=np.int8)
        decision = np.empty(n_sims, dtype=np.int8)
        rule_stop = np.empty(n_sims, dtype=np.bool_)
        patients = np.empty(n_sims, dtype=np.int64)
        shadow_reject = np.empty(n_sims, dtype=np.bool_)
        shadow_patients = np.empty(n_sims, dtype=np.int64)
        if not use_prior and (self.exact_pp or not self.ssr):
            tables = self._fixed_tables(plan, float(p_c), float(p_e))
            simulate_rules_fixed(
                rng, n_sims, *tables[:-1], looks.enrolled_total.astype(np.int64), self.outcome, self.final_outcome,
                self.ssr, self.stage_c, self.stage_e, tables.reject2,
                x_c, x_e, stop_look, decision, rule_stop, patients, shadow_reject, shadow_patients,
            )
            true_c, true_e = np.full(n_sims, float(p_c)), np.full(n_sims, float(p_e))
            return Chunk(x_c, x_e, stop_look, decision, rule_stop, patients, shadow_reject, shadow_patients,
                         true_c, true_e)
        true_c = np.empty(n_sims)
        true_e = np.empty(n_sims)
        simulate_rules(
            rng, n_sims, float(p_c), float(p_e), prior_c, prior_e, use_prior,
            looks.evaluable_c.astype(np.int64), looks.evaluable_e.astype(np.int64),
            looks.enrolled_total.astype(np.int64), plan.code, plan.theta0, self.outcome, self.final_outcome,
            self.ssr, self.stage_c, self.stage_e, self.critical,
            x_c, x_e, stop_look, decision, rule_stop, patients, shadow_reject, shadow_patients, true_c, true_e,
        )
        return Chunk(x_c, x_e, stop_look, decision, rule_stop, patients, shadow_reject, shadow_patients, true_c, true_e)

    def _fixed_tables(self, plan, p_c: float, p_e: float) -> FixedTables:
        """The alias tables (and with re-estimation the second stage's rejection probabilities) at fixed rates.

        Built once per plan and pair of rates (a cache; each stream at
        fixed rates has one pair). The first look's joint pmf and each arm's
        increments per later look are exact binomial pmfs
        (``simulator.stats.distributions.binom.pmf``, SciPy's); the alias tables are
        :func:`simulator.engine.binary.alias_table`'s.
        """
        key = (p_c, p_e)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        looks = plan.looks
        n_c, n_e = looks.evaluable_c.astype(np.int64), looks.evaluable_e.astype(np.int64)
        first = np.outer(dist.binom.pmf(np.arange(n_c[0] + 1), n_c[0], p_c),
                         dist.binom.pmf(np.arange(n_e[0] + 1), n_e[0], p_e)).ravel()
        cell_prob, cell_alias = np.empty(first.size), np.empty(first.size, dtype=np.int64)
        alias_table(first, cell_prob, cell_alias)
        pieces, offsets, sizes = [], [], []
        for n, p in ((n_c, p_c), (n_e, p_e)):
            arm_offsets, arm_sizes = np.zeros(len(n), dtype=np.int64), np.ones(len(n), dtype=np.int64)
            for k in range(1, len(n)):
                pmf = dist.binom.pmf(np.arange(n[k] - n[k - 1] + 1), n[k] - n[k - 1], p)
                arm_offsets[k] = sum(piece.size for piece in pieces)
                arm_sizes[k] = pmf.size
                pieces.append(pmf)
            offsets.append(arm_offsets)
            sizes.append(arm_sizes)
        inc_prob = np.zeros(max(1, sum(piece.size for piece in pieces)))
        inc_alias = np.zeros(inc_prob.size, dtype=np.int64)
        for k_piece, pmf in enumerate(pieces):
            start = sum(piece.size for piece in pieces[:k_piece])
            prob, alias = np.empty(pmf.size), np.empty(pmf.size, dtype=np.int64)
            alias_table(pmf, prob, alias)
            inc_prob[start : start + pmf.size], inc_alias[start : start + pmf.size] = prob, alias
        reject2 = np.zeros((1, 1))
        if self.ssr:
            reject2 = np.zeros(self.stage_c.shape)
            stage_rejection_table(plan.code, plan.theta0, self.stage_c, self.stage_e, self.critical,
                                  self.outcome[0], p_c, p_e, reject2)
        tables = FixedTables(cell_prob, cell_alias, int(n_e[0]) + 1, inc_prob, inc_alias, offsets[0], sizes[0],
                             offsets[1], sizes[1], reject2)
        self._cache[key] = tables
        return tables

    def run_chunk(self, plan, rng: np.random.Generator, n_sims: int, stream: str) -> tuple[np.ndarray, dict]:
        """The plan's ``run_chunk`` with the rules: per-trial success and summable counts.

        One significance level only (the config check refuses extra levels:
        the rules act on the trial's one endpoint).
        """
        if self.stages is not None:
            return self._run_stages(plan, rng, n_sims, stream)
        chunk = self.simulate(plan, rng, n_sims, stream)
        success = chunk.decision == REJECT_FAVOURABLE
        counts = per_look_counts(chunk.stop_look, chunk.decision, chunk.x_c.shape[1])
        counts.update(self.counts(chunk))
        if stream == "assurance" and plan.prior is not None:
            effect = chunk.true_e - chunk.true_c
            if plan.endpoint.better == "lower":
                effect = -effect  # back to the natural scale: p_E - p_C
            counts["effect_success"] = np.histogram(effect[success], bins=plan.effect_bins)[0]
            counts["effect_failure"] = np.histogram(effect[~success], bins=plan.effect_bins)[0]
        return success, counts

    def counts(self, chunk: Chunk) -> dict:
        """Summable counts of the rules: futility-rule stops, patients, histograms of the interim values,
        and the rule's cost and saving against the same trials without it (one compiled pass,
        :func:`simulator.engine.adaptive.tally_rules`)."""
        n_looks = chunk.x_c.shape[1]
        widths = np.array([table.shape[1] for table in self.cp_observed], dtype=np.int64)
        visits = np.zeros((n_looks - 1, max(table.size for table in self.cp_observed)), dtype=np.int64)
        rule_futility = np.zeros(n_looks, dtype=np.int64)
        whole = np.zeros(3, dtype=np.int64)
        real = np.zeros(3)
        tally_rules(chunk.x_c, chunk.x_e, widths, chunk.stop_look, chunk.rule_stop, chunk.patients,
                    chunk.shadow_reject, chunk.shadow_patients, self.first_stage, self.planned_stage, self.ssr,
                    visits, rule_futility, whole, real)
        out = {
            "rule_cost": whole[:1].copy(),
            "saved_sum": real[:1].copy(),
            "saved_sq": real[1:2].copy(),
            "rule_futility": rule_futility,
            "enrolled_sum": whole[1:2].copy(),
            "enrolled_sq": real[2:3].copy(),
        }
        n_bins = len(VALUE_BINS) - 1
        tables = {"cp_design_hist": self.cp_design, "cp_observed_hist": self.cp_observed}
        if self.exact_pp:
            tables = {"pp_hist": self.pp, **tables}
        for name, per_look in tables.items():
            hist = np.zeros((n_looks - 1, n_bins), dtype=np.int64)
            for k in range(n_looks - 1):
                # Trials per interim cell, then per value bin through each table's bin of every cell.
                cells = per_look[k].size
                hist[k] = np.bincount(value_bins(per_look[k]).ravel(), weights=visits[k, :cells], minlength=n_bins)
            out[name] = hist
        if self.ssr:
            out["increased"] = whole[2:].copy()
            out["final_size_hist"] = size_histogram(chunk.patients, self.max_size)
        return out

    def thresholds(self, plan, targets=THRESHOLD_TARGETS) -> list | None:
        """Design-time thresholds of the futility rule, exact (``None`` without a rule).

        Per interim look, as if it were the only interim, and for each
        target probability ``q`` of stopping there for futility under H0
        (the spending bound's futility or the rule's, at the null rates of
        the type I error stream): the largest threshold (on the rule's
        scale) whose stopping probability is at most ``q``, and that
        probability. Every pair of interim counts weighs by its binomial
        probability (:func:`simulator.design.adaptive.threshold_for_stop_probability`).
        """
        if self.rule_on is None:
            return None
        p_c, p_e = plan.null_truth()
        out = []
        for k in range(len(self.pp)):
            table = self.pp[k] if self.rule_on == "predictive_probability" else self.rule_cp[k]
            n_c, n_e = table.shape[0] - 1, table.shape[1] - 1
            probability = np.outer(dist.binom.pmf(np.arange(n_c + 1), n_c, p_c),
                                   dist.binom.pmf(np.arange(n_e + 1), n_e, p_e))
            outcome = self.outcome[k, : n_c + 1, : n_e + 1]
            values = np.where(outcome == STOP_FUTILITY, -np.inf, np.where(outcome == REJECT_FAVOURABLE, np.inf, table))
            out.append(threshold_rows(values, probability, targets))
        return out

    def report(self, counts: dict, n_sims: int) -> dict:
        """The rules' report fields of one stream (docs/adaptive.md, docs/reports.md)."""
        out = rule_report(counts, n_sims, saving="patients" if self.rule_on is not None else None)
        out["expected_n"], out["expected_n_mcse"] = mean_from_sums(
            float(counts["enrolled_sum"][0]), float(counts["enrolled_sq"][0]), n_sims)
        if self.ssr:
            out["increase"], out["increase_mcse"] = proportion(int(counts["increased"][0]), n_sims)
            out.update(size_distribution(counts["final_size_hist"], n_sims, self.planned_size))
        return out


def decide_on_z(rules, z: np.ndarray, values: list, last_look: np.ndarray, bounds) -> tuple:
    """Decisions of trials whose statistics are on the z scale, with an interim rule (survival, continuous).

    ``values`` holds each interim's rule inputs (``rules.rule_values`` turns
    them into the quantity compared with ``rules.below``; NaN never stops).
    Returns per trial ``(stop look, decision, stopped by the rule, shadow's
    look, shadow's decision)``, the shadow being the same trial without the
    rule (:func:`simulator.engine.adaptive.decide_with_rule`).
    """
    n_sims, n_looks = z.shape
    rule = np.zeros((n_sims, n_looks))
    for k, v in enumerate(values):
        rule[:, k] = np.nan_to_num(rules.rule_values(v), nan=1.0)
    out = (np.empty(n_sims, dtype=np.int64), np.empty(n_sims, dtype=np.int8), np.empty(n_sims, dtype=np.bool_),
           np.empty(n_sims, dtype=np.int64), np.empty(n_sims, dtype=np.int8))
    decide_with_rule(np.ascontiguousarray(z), last_look, bounds.efficacy, bounds.unfavourable, bounds.futility,
                     bounds.futility_floor, rule, np.append(rules.below, 0.0), *out)
    return out


def value_bins(table: np.ndarray) -> np.ndarray:
    """The bin of :data:`VALUE_BINS` of each value, as ``numpy.histogram`` bins them (the last bin closed)."""
    return np.clip(np.searchsorted(VALUE_BINS, table, side="right") - 1, 0, len(VALUE_BINS) - 2)


def size_histogram(sizes: np.ndarray, max_size: int) -> np.ndarray:
    """Trials per final size ``0, 1, ..., max_size`` (int64, ``max_size + 1`` cells): a summable count.

    Its length is fixed by the plan, not by the sizes a chunk happens to
    reach, so that chunks add cell by cell whatever the chunking. A size
    above ``max_size`` means the plan's bound is wrong, and raises rather
    than being dropped or clipped.

    Examples
    --------
    >>> size_histogram(np.array([2, 4, 4]), 5).tolist()
    [0, 0, 1, 0, 2, 0]
    """
    hist = np.bincount(np.asarray(sizes, dtype=np.int64), minlength=max_size + 1)
    if hist.size > max_size + 1:
        raise RuntimeError(f"a final size of {hist.size - 1} exceeds the plan's largest possible one, {max_size}")
    return hist.astype(np.int64)


def order_statistic(cumulative: np.ndarray, rank: int) -> int:
    """The ``rank``-th smallest (1-based) size, from the cumulative counts of a :func:`size_histogram`."""
    return int(np.searchsorted(cumulative, rank, side="left"))


def size_distribution(hist: np.ndarray, n_sims: int, planned: int) -> dict:
    """Report keys of the final size's distribution from its histogram (docs/adaptive.md, "Report keys").

    ``final_size_quantiles``: per probability ``p`` of :data:`SIZE_QUANTILES`,
    the quantile ``Q(p)``, the smallest size ``s`` with ``F(s) >= p`` (``F``
    the empirical distribution of the ``n`` trials; the order statistic
    ``X_(ceil(n p))``, numpy's ``method="inverted_cdf"``), and a
    distribution-free 95 % confidence interval ``[X_(l), X_(u)]``: the
    trials below the true quantile are Binomial(n, p), so ``l = floor(n p -
    1.96 s)``, ``u = ceil(n p + 1.96 s)`` with ``s = sqrt(n p (1 - p))``,
    clipped to ``[1, n]``. ``final_size_min``, ``final_size_max``: the
    smallest and largest size seen. ``final_size_above_planned`` (+
    ``_mcse``): the proportion of trials larger than ``planned``, the
    design's maximum without re-estimation. ``final_size_counts``: the
    sizes seen and their trials (the histogram without its empty cells).

    Parameters
    ----------
    hist : int array
        Trials per size ``0, 1, ...``, summed over the chunks (:func:`size_histogram`).
    n_sims : int
        The stream's trials (the histogram's total).
    planned : int
        The planned maximum size without re-estimation, in the histogram's unit.

    Returns
    -------
    dict
        The report keys above.

    Examples
    --------
    >>> out = size_distribution(np.array([0, 0, 3, 0, 1]), 4, 3)
    >>> [(q["p"], q["size"]) for q in out["final_size_quantiles"]]
    [(0.05, 2), (0.25, 2), (0.5, 2), (0.75, 2), (0.95, 4)]
    >>> out["final_size_min"], out["final_size_max"], out["final_size_above_planned"]
    (2, 4, 0.25)
    """
    hist = np.asarray(hist, dtype=np.int64)
    cumulative = np.cumsum(hist)
    n = int(cumulative[-1])
    quantiles = []
    for p in SIZE_QUANTILES:
        spread = SIZE_CI_Z * math.sqrt(n * p * (1 - p))
        quantiles.append({
            "p": float(p),
            # ceil(n p) in exact arithmetic: 0.05 * n is not always a whole float where it should be.
            "size": order_statistic(cumulative, max(1, math.ceil(n * p))),
            "lower": order_statistic(cumulative, min(n, max(1, math.floor(n * p - spread)))),
            "upper": order_statistic(cumulative, min(n, max(1, math.ceil(n * p + spread)))),
        })
    seen = np.flatnonzero(hist)
    above, above_mcse = proportion(int(hist[planned + 1:].sum()), n_sims)
    return {
        "final_size_quantiles": quantiles,
        "final_size_min": int(seen[0]),
        "final_size_max": int(seen[-1]),
        "final_size_above_planned": above,
        "final_size_above_planned_mcse": above_mcse,
        "final_size_counts": {"sizes": seen.tolist(), "trials": hist[seen].tolist()},
    }


def threshold_rows(values, probability, targets) -> list[dict]:
    """``{target, threshold, stop_probability}`` for each target stopping probability.

    ``values`` of ``-inf`` are the outcomes the futility bound stops: where they alone are more
    likely than the target, no threshold stops as rarely, and the row has ``threshold`` None and the
    bound's stopping probability.
    """
    values = np.asarray(values, dtype=float)
    bound = float(np.asarray(probability, dtype=float)[np.isneginf(values)].sum())
    rows = []
    for target in targets:
        threshold, stop = threshold_for_stop_probability(values, probability, target)
        if np.isneginf(threshold):
            rows.append({"target": float(target), "threshold": None, "stop_probability": bound})
        else:
            rows.append({"target": float(target), "threshold": threshold, "stop_probability": stop})
    return rows


def rule_report(counts: dict, n_sims: int, saving: str | None) -> dict:
    """Report fields of a futility rule in one stream, shared by the kinds.

    ``saving``: what the rule's saving is counted in (``"patients"``,
    ``"events"``), ``None`` without a futility rule.
    """
    out: dict = {}
    stops = counts["rule_futility"]
    out["futility_rule_per_look"] = [c / n_sims for c in stops.tolist()]
    out["futility_rule_per_look_mcse"] = [proportion(int(c), n_sims)[1] for c in stops.tolist()]
    out["stop_per_look"] = [c / n_sims for c in counts["stopped"].tolist()]
    out["stop_per_look_mcse"] = [proportion(int(c), n_sims)[1] for c in counts["stopped"].tolist()]
    if saving is not None:
        # Paired with the same trials without the rule: the success it loses (a proportion, as every
        # success with the rule is one without it) and what it saves.
        cost = int(counts["rule_cost"][0])
        out["without_rule"], out["without_rule_mcse"] = proportion(int(counts["reject"].sum()) + cost, n_sims)
        out["rule_cost"], out["rule_cost_mcse"] = proportion(cost, n_sims)
        out[f"rule_saving_{saving}"], out[f"rule_saving_{saving}_mcse"] = mean_from_sums(
            float(counts["saved_sum"][0]), float(counts["saved_sq"][0]), n_sims)
    out["value_bins"] = [round(float(v), 12) for v in VALUE_BINS]  # 0.15, not 0.15000000000000002
    for name, key in (("pp_hist", "predictive_probability"), ("cp_design_hist", "conditional_power_design"),
                      ("cp_observed_hist", "conditional_power_observed")):
        if name in counts:  # K-stage re-estimation has no predictive probability
            out[f"{key}_histogram"] = counts[name].tolist()
    return out


def with_rules(config, plan):
    """``plan`` with its :class:`InterimRules` when the config has ``[interim]`` or ``[adaptation]``."""
    if config.interim is None and config.adaptation is None:
        return plan
    return dataclasses.replace(plan, rules=InterimRules.build(config, plan))
