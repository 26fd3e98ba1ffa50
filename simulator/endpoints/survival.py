"""A two-arm time-to-event endpoint: config -> event-driven design -> engine.

:class:`SurvivalPlan` holds what every simulated trial of one scenario
shares: subjects per arm, the events that trigger each look, the bounds, the
control hazards, accrual and dropout. The kernel
(:func:`simulator.engine.survival.simulate_trials`) simulates entry, event
and dropout times per patient and analyses each look with the log-rank test
at the calendar time the target number of events is reached.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from simulator.config.schema import LARGEST_N_TOTAL, Config
from simulator.design import nph as analytic_nph
from simulator.design import survival as analytic_survival
from simulator.design.allocation import round_half_up, round_up_per_arm, split_total, total_for_arms
from simulator.design.survival import control_median
from simulator.endpoints import strata, survival_spec
from simulator.endpoints import survival_calendar as calendar
from simulator.endpoints import survival_nph as nph
from simulator.endpoints.adaptive_survival import SurvivalRules, with_survival_rules
from simulator.endpoints.common import (
    Bounds,
    add_note,
    add_two_sided,
    design_bounds,
    look_bounds,
    per_look_counts,
    sequential_power,
    unfavourable_effects,
)
from simulator.endpoints.km import analysis_time_edges, km_bands
from simulator.endpoints.survival_axis import (
    CalendarAxis,
    EventAxis,
    SubjectAxis,
    derive_events,
    events_for_subjects,
    patient_model,
    subject_driven,
)
from simulator.endpoints.survival_spec import SurvivalEndpoint
from simulator.engine.seeding import PATIENT_CHUNK_SIZE
from simulator.engine.survival import simulate_trials
from simulator.errors import InputError
from simulator.estimate import mean_from_sums, proportion
from simulator.stats import distributions as dist
from simulator.stats.decision import REJECT_FAVOURABLE, REJECT_UNFAVOURABLE

#: Bins of hazard ratios (true, among successes and failures under the prior;
#: estimated, at the stopping analysis): log-spaced from 0.1 to 10.
HR_BINS = np.exp(np.linspace(math.log(0.1), math.log(10.0), 401))


def hr_counts(ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Summable counts of hazard ratios: the histogram on :data:`HR_BINS` and ``[below 0.1, above 10]``.

    ``np.histogram`` drops what lies outside its bins; counting those apart
    keeps every trial (a review: with 16 % of the estimates below 0.1 the
    quantiles were those of the others, a median of 0.255 for 0.213).
    """
    ratios = np.asarray(ratios, dtype=float)
    return (np.histogram(ratios, bins=HR_BINS)[0],
            np.array([np.count_nonzero(ratios < HR_BINS[0]), np.count_nonzero(ratios > HR_BINS[-1])], dtype=np.int64))


def effect_counts(ratios: np.ndarray, success: np.ndarray) -> dict:
    """The assurance run's true hazard ratios among successful and failed trials (:func:`hr_counts`):
    ``effect_success``, ``effect_failure`` and ``effect_over`` (below 0.1 and above 10, successes then failures)."""
    success_counts, success_over = hr_counts(ratios[success])
    failure_counts, failure_over = hr_counts(ratios[~success])
    return {"effect_success": success_counts, "effect_failure": failure_counts,
            "effect_over": np.concatenate([success_over, failure_over])}


@dataclass(frozen=True)
class SurvivalLooks:
    """Events that trigger each analysis."""

    planned_fractions: tuple[float, ...]
    events: np.ndarray
    #: Calendar looks (months from the first patient in); ``events`` are then
    #: the events expected there (survival_calendar.calendar_events) and the
    #: fractions theirs over the last look's (alpha is spent at events over
    #: design.events).
    times: tuple[float, ...] = ()

    @property
    def realised_fractions(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.events / self.events[-1])


def make_survival_looks(config: Config, n_total: int, endpoint: SurvivalEndpoint | None = None) -> SurvivalLooks:
    """Events per look: ``design.look_events``, or ``design.looks`` as fractions of ``design.events``.

    Without ``design.events`` (not derived by ``complete``: a ``size``
    candidate) a subject-driven ``endpoint`` (accrual as a rate) takes the
    events its ``n_total`` subjects are expected to have by the end of
    accrual plus the minimum follow-up (:func:`events_for_subjects`).
    """
    design = config.design
    if design.events is None and not design.look_events and endpoint is not None and endpoint.accrual.is_rate:
        events = events_for_subjects(endpoint, n_total, config.trial.allocation,
                                     strata.cells(config, endpoint.STRATA_KEY))[1]
        design = dataclasses.replace(design, events=events)
    if design.look_events:
        events = np.array(design.look_events, dtype=np.int64)
        if design.events is not None and events[-1] != design.events:
            raise InputError(
                f"config key `design.look_events`: the last look must be design.events = {design.events}, got {events[-1]}"
            )
        fractions = tuple(float(e / events[-1]) for e in events)
    else:
        if design.events is None:
            raise InputError("config key `design.events`: is required for a survival endpoint (or give design.look_events)")
        if isinstance(design.looks, int):
            fractions = tuple((k + 1) / design.looks for k in range(design.looks))
        else:
            fractions = design.looks
        events = np.array([round_half_up(f * design.events) for f in fractions], dtype=np.int64)
    if np.any(np.diff(events) <= 0) or events[0] < 1:
        raise InputError(f"config key `design.looks`: the looks must give strictly increasing event counts, got {events.tolist()}")
    _check_events_fit(int(events[-1]), n_total)
    return SurvivalLooks(fractions, events)


def _check_events_fit(events: int, n_total: int) -> None:
    """Refuse more events at the final look than patients: each patient has one event at most."""
    if events > n_total:
        raise InputError(
            f"config key `design.events`: {events} events need at least as many patients, but trial.n_total = {n_total}"
        )


def _calendar_looks(config: Config, endpoint: SurvivalEndpoint) -> SurvivalLooks:
    """Looks at ``design.look_times``: the events expected there, as fractions of ``design.events``."""
    design = config.design
    if design.events is None:
        raise InputError(
            "config key `design.events`: is required with design.look_times (the planned maximum events, "
            "at which the interims' alpha is spent)"
        )
    # The planned maximum, although calendar looks may end below it: the docs bound it by n_total either way.
    _check_events_fit(design.events, config.trial.n_total)
    model = analytic_model(config, endpoint, calendar.reference_ratio(endpoint))
    events = calendar.calendar_events(config, model)
    fractions = tuple(float(e / events[-1]) for e in events)
    return SurvivalLooks(fractions, events, tuple(design.look_times))


def analytic_model(config: Config, endpoint: SurvivalEndpoint, hazard_ratio) -> dict:
    """Keyword arguments of :mod:`simulator.design.survival` for ``endpoint`` at ``hazard_ratio``.

    The patients' model (:func:`simulator.endpoints.survival_axis.patient_model`) with the trial's
    allocation and, with ``[strata]``, their mixture (:func:`simulator.endpoints.strata.cells`), as the
    simulation draws the patients.
    """
    return patient_model(endpoint, hazard_ratio, config.trial.allocation, strata.cells(config, endpoint.STRATA_KEY))


@dataclass(frozen=True)
class SurvivalPlan:
    """One survival endpoint of one scenario, ready for the kernel."""

    #: Trials per chunk: every patient is simulated (:mod:`simulator.engine.seeding`).
    chunk_trials: ClassVar[int] = PATIENT_CHUNK_SIZE
    endpoint: SurvivalEndpoint
    config: Config
    alpha: float
    sided: int
    n_arms: tuple[int, int]
    looks: SurvivalLooks
    bounds: Bounds
    planned_bounds: Bounds
    levels: tuple = ()  # Bounds per significance level; level 0 = `alpha`
    # Bounds at the events each trial reached (calendar looks, a cap), by rounded fractions.
    _reached_bounds: dict = field(default_factory=dict, repr=False, compare=False)
    #: ``[interim]`` futility rule (:class:`simulator.endpoints.adaptive_survival.SurvivalRules`), which then
    #: decides the trials; ``None`` without one.
    rules: SurvivalRules | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_config(
        cls, config: Config, endpoint: SurvivalEndpoint, alpha: float | None = None, extra_levels: tuple = ()
    ) -> SurvivalPlan:
        """Events per look and bounds; ``extra_levels`` as for binary plans (fixed designs only: the validator
        refuses Holm's further levels with several looks, :func:`simulator.config.validate.validate`)."""
        alpha = config.design.alpha if alpha is None else alpha
        # Accrual given as a rate ends when trial.n_total have entered.
        endpoint = dataclasses.replace(endpoint, accrual=endpoint.accrual.for_subjects(config.trial.n_total))
        n_arms = split_total(config.trial.n_total, config.trial.allocation)
        if config.design.look_times:
            looks = _calendar_looks(config, endpoint)
        else:
            looks = make_survival_looks(config, config.trial.n_total, endpoint)
        nph.check_plan(config, endpoint, len(looks.events))
        calendar.check_design(config, len(looks.events))
        reference = calendar.reference_ratio(endpoint)
        calendar.check_cap(config, lambda events: expected_time(config, endpoint, reference, events),
                           int(looks.events[0]), reference)
        if looks.times and len(looks.events) > 1:
            bounds = planned = calendar.planned_bounds(
                config, looks.events / config.design.events, looks.realised_fractions, alpha
            )
        else:
            bounds, planned = look_bounds(config, looks, alpha)
        levels = (bounds,) + tuple(design_bounds(config, looks.realised_fractions, a) for a in extra_levels)
        return with_survival_rules(
            config, cls(endpoint, config, alpha, config.design.sided, n_arms, looks, bounds, planned, levels)
        )

    @property
    def reaches_fractions(self) -> bool:
        """Whether each trial's bounds follow its own events (calendar looks or a cap, several looks)."""
        return calendar.reaches_fractions(self.config) and len(self.looks.events) > 1

    # ------------------------------------------------------------ truths
    @property
    def truth(self):
        """The fixed hazard ratio; a piecewise one's :class:`~simulator.endpoints.survival_spec.NonProportional`;
        None when only a prior is given."""
        nonprop = self.endpoint.nph
        if nonprop is not None and nonprop.piecewise:
            return nonprop
        return self.endpoint.truth.hazard_ratio

    @property
    def prior(self):
        return self.endpoint.prior

    @property
    def margin(self) -> float:
        """The hazard ratio under H0: the non-inferiority margin, 1 for superiority."""
        return float(self.endpoint.null_hazard_ratio)

    def prior_p_benefit(self) -> float | None:
        """P(HR < margin) under the log-normal prior (margin 1 for superiority): the ceiling of assurance."""
        if self.prior is None:
            return None
        hr = self.prior.hazard_ratio
        log_null = math.log(self.margin)
        if hr.log_sd == 0:
            return float(hr.log_mean < log_null)
        return float(dist.norm.cdf((log_null - hr.log_mean) / hr.log_sd))

    def _draws(self, rng: np.random.Generator, n_sims: int, stream: str):
        """Per-trial (hazard ratio, control hazard multiplier) for a stream (type1: on the null, HR = margin)."""
        if stream == "type1":
            return self.margin, 1.0
        if stream == "power" or self.prior is None:
            # A piecewise hazard ratio is in the experimental pieces (model_kwargs); its multiplier is 1.
            return (1.0 if self.endpoint.truth.hazard_ratio is None else self.truth), 1.0
        hr = self.prior.hazard_ratio
        ratios = np.exp(hr.log_mean + hr.log_sd * rng.standard_normal(n_sims))
        multiplier = 1.0
        median_prior = self.prior.control_median
        if median_prior is not None:
            # Scaling every control hazard by c divides the median by c.
            medians = np.exp(median_prior.log_mean + median_prior.log_sd * rng.standard_normal(n_sims))
            control = self.endpoint.truth.control
            multiplier = control_median(control.times, control.hazards) / medians
        return ratios, multiplier

    # ------------------------------------------------------------ simulation
    def simulate(self, rng: np.random.Generator, n_sims: int, stream: str):
        """Per-trial results (:class:`simulator.engine.survival.SurvivalTrials`) and true HRs."""
        ratios, multiplier = self._draws(rng, n_sims, stream)
        control = self.endpoint.truth.control
        accrual = self.endpoint.accrual
        trials = simulate_trials(
            n_sims, self.n_arms[0], self.n_arms[1],
            accrual=(np.array(accrual.edges), np.array(accrual.rates)),
            control=(np.array(control.times), np.array(control.hazards)),
            hazard_ratio=ratios, dropout=self.endpoint.dropout, control_multiplier=multiplier, rng=rng,
            margin=self.margin, **self._schedule(), **self.trial_kwargs(stream), **self._strata_kwargs(),
        )
        if self.reaches_fractions:
            other = trials.other
            trials = self._decide_reached(trials)
            if other is not None:
                trials = dataclasses.replace(trials, other=self._decide_reached(other))
        return trials, ratios

    def _strata_kwargs(self) -> dict:
        """With [strata]: the kernel's strata, the endpoint's analysis and the other one on the same trials."""
        design = strata.design_for(self.config, self.endpoint.STRATA_KEY)
        if design is None:
            return {}
        return dict(strata=design, stratified=self.endpoint.stratified, compare=True)

    def strata_report(self, streams: dict) -> dict | None:
        """The report's ``strata`` block (:func:`simulator.endpoints.strata.report`); None without strata."""
        if not self.config.strata:
            return None
        return strata.report(self.config, self.endpoint.stratified, streams, self.strata_note(), self.strata_tests())

    def strata_tests(self) -> tuple[str, str]:
        """The tests of the stratified and the unstratified analysis (a review: both named "logrank", results.csv
        could not tell which decided)."""
        return "stratified_logrank", "logrank"

    def strata_note(self) -> str:
        """What the analytic values are with strata (the analytic block's note and the strata block's)."""
        if self.endpoint.nph is not None:
            note = ("the analytic values model the strata as a mixture: events and analysis times of the population, "
                    "the power of the " + ("stratified" if self.endpoint.stratified else "unstratified")
                    + " log-rank from each stratum's moments (asymptotic: read the simulated power when strata are "
                    "small)")
        else:
            note = ("Schoenfeld's power does not model the strata: at the events it approximates the stratified "
                    "log-rank's under proportional hazards within strata"
                    + ("" if self.endpoint.stratified else
                       " (not the unstratified log-rank's that decides here, lower when the strata differ in "
                       "prognosis)")
                    + "; the expected events and times (of the looks, of a cap, at the size for design.power), "
                    "the subjects for design.power and events derived from the subjects model the strata as a "
                    "mixture (each stratum with its share of the subjects and its control hazard)")
        return note

    def _with_strata_note(self, block: dict) -> dict:
        if self.config.strata and block:
            add_note(block, f"with strata, {self.strata_note()}")
        return block

    def model_kwargs(self, stream: str) -> dict:
        """The kernels' non-proportional hazards and test (:func:`simulator.endpoints.survival_nph.model_kwargs`)."""
        return nph.model_kwargs(self.endpoint, stream)

    def trial_kwargs(self, stream: str) -> dict:
        """What the trial kernels (survival and joint) get beyond the patients: the model, the test and,
        with MaxCombo and further levels (Holm), those levels, at which the trials are decided afterwards
        from a p-value that must be as accurate near them as near the bound's level."""
        out = self.model_kwargs(stream)
        if len(self.endpoint.weights) > 1 and len(self.levels) > 1:
            out["refine_levels"] = tuple(0.5 * math.erfc(b.efficacy[-1] / math.sqrt(2.0)) for b in self.levels[1:])
        return out

    def _schedule(self) -> dict:
        """The looks and bounds the kernel gets: with bounds per trial, none (decided afterwards)."""
        design = self.config.design
        out = dict(
            look_events=None if self.looks.times else self.looks.events,
            look_times=self.looks.times or None,
            max_duration=np.inf if design.max_duration is None else design.max_duration,
            max_follow_up=self.endpoint.max_follow_up, sided=self.sided, inner=self.bounds.inner,
        )
        if self.rules is not None:
            return self.rules.schedule(self, out)
        if self.reaches_fractions:
            return dict(out, efficacy=np.full(len(self.looks.events), np.inf), futility=None)
        return dict(out, efficacy=self.bounds.efficacy, futility=self.bounds.futility)

    def _decide_reached(self, trials):
        """Trials analysed at every look they reach, decided with bounds at their own events."""
        stop, decision = calendar.decide_reached(self, trials.z_all, trials.events_looks, trials.last_look,
                                                 self._reached_bounds)
        return self.stopped_at(trials, stop, decision)

    def stopped_at(self, trials, stop: np.ndarray, decision: np.ndarray):
        """Trials analysed at every look they reach, as stopped at ``stop`` with outcome ``decision``."""
        rows = np.arange(stop.size)
        reached = np.arange(trials.z_all.shape[1])[None, :] <= stop[:, None]
        return dataclasses.replace(
            trials, stop_look=stop, decision=decision, z=trials.z_all[rows, stop],
            hazard_ratio=trials.hr_looks[rows, stop], events=trials.events_looks[rows, stop],
            enrolled=trials.enrolled_looks[rows, stop], events_short=trials.short_looks[rows, stop],
            look_times=np.where(reached, trials.look_times_all, np.nan), z_looks=np.where(reached, trials.z_all, np.nan),
        )

    def run_chunk(self, rng: np.random.Generator, n_sims: int, stream: str) -> tuple[np.ndarray, dict]:
        """Simulate one chunk; per-trial success and summable counts."""
        if self.rules is not None:
            return self.rules.run_chunk(self, rng, n_sims, stream)
        trials, ratios = self.simulate(rng, n_sims, stream)
        return self.chunk_counts(trials, ratios, stream, n_sims)

    def chunk_counts(self, trials, ratios, stream: str, n_sims: int) -> tuple[np.ndarray, dict]:
        """Per-trial success and summable counts of decided trials (``run_chunk``'s result)."""
        success = trials.decision == REJECT_FAVOURABLE
        # A fixed design at further levels: the final z decides at every level.
        decisions = [trials.decision] + [
            np.where(trials.z >= b.efficacy[-1], REJECT_FAVOURABLE, np.where(trials.z <= b.unfavourable[-1],
                     REJECT_UNFAVOURABLE, 0))
            for b in self.levels[1:]
        ]
        if len(self.levels) > 1:
            success = np.vstack([d == REJECT_FAVOURABLE for d in decisions])
        n_looks = len(self.looks.events)
        counts = per_look_counts(trials.stop_look, trials.decision, n_looks)
        add_two_sided(counts, stream, self.sided, decisions)
        duration = trials.duration
        reached = ~np.isnan(trials.look_times)
        counts.update(
            events_sum=np.array([trials.events.sum()], dtype=np.int64),
            events_sq=np.array([(trials.events.astype(np.float64) ** 2).sum()]),
            enrolled_sum=np.array([trials.enrolled.sum()], dtype=np.int64),
            enrolled_sq=np.array([(trials.enrolled.astype(np.float64) ** 2).sum()]),
            duration_sum=np.array([duration.sum()]),
            duration_sq=np.array([(duration**2).sum()]),
            events_short=np.array([trials.events_short.sum()], dtype=np.int64),
            look_time_sum=np.where(reached, trials.look_times, 0.0).sum(axis=0),
            look_time_sq=(np.where(reached, trials.look_times, 0.0) ** 2).sum(axis=0),
            look_reached=reached.sum(axis=0).astype(np.int64),
            **dict(zip(("hr_estimate", "hr_estimate_over"), hr_counts(trials.hazard_ratio))),
            **self.look_time_counts(trials.look_times),
            **calendar.look_counts(trials, int(self.config.trial.n_total)),
        )
        if trials.imbalance is not None:
            counts.update(strata.counts(trials.imbalance, trials.decision == REJECT_FAVOURABLE,
                                        trials.other.decision == REJECT_FAVOURABLE))
        if stream == "assurance" and self.prior is not None:
            ratios = np.broadcast_to(ratios, (n_sims,))
            first = success if success.ndim == 1 else success[0]
            counts.update(effect_counts(ratios, first))
        return success, counts

    @property
    def time_edges(self) -> np.ndarray:
        """Fixed bins of the calendar time of a look (:func:`simulator.endpoints.km.analysis_time_edges`)."""
        return analysis_time_edges(self.endpoint)

    def look_time_counts(self, look_times: np.ndarray) -> dict:
        """Summable histogram counts of the calendar time of each look reached.

        ``look_times`` has one row per trial and one column per look (NaN
        for looks not reached). ``look_time_hist[k]`` counts the trials
        whose look ``k`` falls in each bin of :attr:`time_edges`;
        ``look_time_over[k]`` those past the last edge.
        """
        edges = self.time_edges
        look_times = np.asarray(look_times, dtype=float).reshape(-1, len(self.looks.events))
        hist = np.zeros((look_times.shape[1], edges.size - 1), dtype=np.int64)
        over = np.zeros(look_times.shape[1], dtype=np.int64)
        for k in range(look_times.shape[1]):
            column = look_times[:, k]
            column = column[~np.isnan(column)]
            hist[k] = np.histogram(column, bins=edges)[0]
            over[k] = int((column > edges[-1]).sum())
        return {"look_time_hist": hist, "look_time_over": over}

    def side_results(self) -> dict:
        """Results from the documented side sample, computed once per scenario during the run.

        The Kaplan-Meier bands (:func:`simulator.endpoints.km.km_bands`): a
        fixed number of trials under the truth from a seed stream of their
        own, so they do not depend on n_sims, jobs or chunking.
        """
        bands = self.km_bands()
        return {} if bands is None else {"km_bands": bands}

    def km_bands(self) -> dict | None:
        """Simulated Kaplan-Meier bands per arm at the final analysis (:func:`simulator.endpoints.km.km_bands`).

        None with strata: the side sample does not model them (docs/strata.md).
        """
        if self.config.strata:
            return None
        return km_bands(self)

    def expected_size(self, counts: dict) -> dict:
        """Expected subjects, events and duration at the stopping analysis, with MCSEs."""
        n = int(counts["stopped"].sum())
        out = {}
        for key, label in (("enrolled", "expected_n"), ("events", "expected_events"), ("duration", "expected_duration")):
            out[label], out[f"{label}_mcse"] = mean_from_sums(
                float(counts[f"{key}_sum"][0]), float(counts[f"{key}_sq"][0]), n)
        reached = counts["look_reached"]
        # Per look, over the trials that reached it (a look no trial reached has none).
        looks = [mean_from_sums(s, q, r) if r else (None, None)
                 for s, q, r in zip(counts["look_time_sum"].tolist(), counts["look_time_sq"].tolist(), reached.tolist())]
        out["expected_look_times"] = [mean for mean, _ in looks]
        out["expected_look_times_mcse"] = [mcse for _, mcse in looks]
        out["look_reached"] = (reached / n).tolist()
        out["look_reached_mcse"] = [proportion(int(r), n)[1] for r in reached.tolist()]
        out["events_short"], out["events_short_mcse"] = proportion(int(counts["events_short"][0]), n)
        out["events_short_note"] = (
            "fraction of trials whose patients never produced a look's target events: "
            "that look is analysed at the last event and the trial stops there"
        )
        out.update(hr_estimate_report(counts))
        if "look_time_hist" in counts:
            out["analysis_time_histogram"] = {
                "edges": self.time_edges.tolist(),
                "counts": np.asarray(counts["look_time_hist"]).tolist(),
                "overflow": np.asarray(counts["look_time_over"]).tolist(),
            }
        out.update(calendar.look_report(counts, int(self.config.trial.n_total), n))
        return out

    effect_bins = HR_BINS

    def describe(self) -> dict:
        """Kind-specific facts for the report."""
        out = {
            "n_per_arm": list(self.n_arms),
            "look_events": self.looks.events.tolist(),
            "events": int(self.looks.events[-1]),
            "effect_scale": "hazard ratio",
            "accrual_duration": float(self.endpoint.accrual.edges[-1]),
        }
        if self.margin != 1.0:
            out["margin"] = self.margin  # non-inferiority, H0: HR >= margin
        design = self.config.design
        if self.looks.times:
            out["look_times"] = list(self.looks.times)
        if design.max_duration is not None:
            out["max_duration"] = float(design.max_duration)
        if (self.looks.times or design.max_duration is not None) and len(self.looks.events) > 1:
            # A review: the per-look table called these "realised" beside trials whose events ranged widely.
            out["bounds_note"] = (
                "each trial's bounds follow its own events (calendar looks or a cap, docs/methods.md); the bounds, "
                "fractions and critical effects shown are those at each look's planned events, which a trial that "
                "reaches them has exactly"
            )
        if math.isfinite(self.endpoint.max_follow_up):
            out["max_follow_up"] = float(self.endpoint.max_follow_up)
        nonprop = self.endpoint.nph
        if self.prior is not None and nonprop is not None and nonprop.cured[1] > nonprop.cured[0]:
            # A review: assurance 0.678 beside a prior P(benefit) of 0.5 at HR 1 with cured 0.2 and 0.3.
            out["prior_p_benefit_note"] = (
                f"prior P(benefit) is P(HR < {self.margin:g}) among the uncured; with cured fractions "
                f"{nonprop.cured[0]:g} (control) and {nonprop.cured[1]:g} (experimental) the experimental arm "
                "gains at any hazard ratio, so it does not bound assurance"
            )
        return out

    def effect_bounds(self) -> dict:
        """``critical_effect`` and ``futility_effect``: the observed hazard ratio at each bound.

        Schoenfeld's approximation, log HR ~ N(log HR, (1 + r)^2 / (r d)) with
        r = experimental / control allocation and d the events at the look
        (a guide to reading the bounds; the log-rank test decides); with a
        non-inferiority margin M the z is centred on log M, so each effect is
        M times that of superiority. A weighted test (Fleming-Harrington,
        MaxCombo) has no hazard-ratio threshold: ``None`` at every look.
        """
        if self.endpoint.weights:
            none = [None] * len(self.looks.events)
            return {"critical_effect": none, "futility_effect": list(none)}
        return {"critical_effect": self.critical_effects(), "futility_effect": self._ratios_at(self.bounds.futility),
                **unfavourable_effects(self.sided, self.bounds, self._ratios_at)}

    def critical_effects(self) -> list:
        """Largest observed hazard ratio that rejects at each look (Schoenfeld's approximation)."""
        return self._ratios_at(self.bounds.efficacy)

    def _ratios_at(self, bounds) -> list:
        """The observed hazard ratio at which z equals each bound: ``M exp(-b (1 + r) / sqrt(r d))``."""
        control, experimental = self.config.trial.allocation
        r = experimental / control
        return [
            float(self.margin * math.exp(-float(bound) * (1.0 + r) / math.sqrt(r * float(events))))
            if np.isfinite(bound) and events > 0 else None
            for bound, events in zip(bounds, self.looks.events)
        ]

    # ------------------------------------------------------------ analytic
    def exact(self) -> dict:
        return {}

    def model(self, hazard_ratio) -> dict:
        """Keyword arguments of :mod:`simulator.design.survival` for this endpoint at ``hazard_ratio``."""
        return analytic_model(self.config, self.endpoint, hazard_ratio)

    def subjects_for(self, events: float) -> float | None:
        """Subjects whose expected events under the truth by the end of accrual plus ``follow_up.minimum`` are
        ``events`` (with a rate of accrual, its duration follows from them): the size of a design whose events
        are given (``design`` without ``trial.n_total``); None without a truth or under non-proportional hazards.
        """
        if self.truth is None or self.endpoint.nph is not None:
            return None
        model = self.model(self.truth)
        accrual = self.endpoint.accrual
        if accrual.is_rate:
            rest = {k: v for k, v in model.items() if k != "accrual"}
            return float(analytic_survival.subjects_at_rate(events, follow_up=self.endpoint.follow_up,
                                                            starts=accrual.starts, rates=accrual.per_month, **rest)[0])
        return float(analytic_survival.subjects_for_events(events, follow_up=self.endpoint.follow_up, **model))

    def expected_time(self, config: Config, hazard_ratio: float, events: float) -> float:
        """:func:`expected_time` of this endpoint."""
        return expected_time(config, self.endpoint, hazard_ratio, events)

    def most_events(self, config: Config, hazard_ratio: float) -> float:
        """The events ``trial.n_total`` subjects are expected to have at most (with strata, their mixture's;
        with cure fractions, by the non-proportional-hazards model, as :func:`expected_time`)."""
        if self.endpoint.nph is not None:
            return sum(analytic_nph.expected_events(nph.model(config, self.endpoint, hazard_ratio), analytic_nph.HORIZON))
        return float(config.trial.n_total) * float(analytic_survival.event_fraction(
            np.inf, **analytic_model(config, self.endpoint, hazard_ratio)))

    def analytic(self, config: Config) -> dict:
        """Schoenfeld power at the configured events; events and subjects for ``design.power``.

        Under non-proportional hazards or with a weighted test:
        :func:`simulator.endpoints.survival_nph.analytic` (expected events,
        average hazard ratio, the configured test's power by numerical
        integration, and where Schoenfeld's answer would mislead). With
        interim rules: the design without them, a reference (the rules'
        operating characteristics are simulated).
        """
        hr = self.truth
        if hr is None:
            return {}
        if self.endpoint.nph is not None or self.endpoint.weights:
            return self._with_strata_note(nph.analytic(self, config))
        design = config.design
        sequential = self.bounds.sequential
        planned = self.planned_bounds.sequential
        events = float(self.looks.events[-1])
        fixed_power = analytic_survival.schoenfeld_power(
            events, hr, alpha=self.alpha, sided=self.sided, allocation=config.trial.allocation, margin=self.margin
        )
        out = {"power": float(fixed_power)}
        model = self.model(hr)
        times = []
        for e in self.looks.events:
            try:
                times.append(self.expected_time(config, hr, float(e)))
            except InputError:
                times.append(None)  # this look's events are out of reach on average
        subjects = None
        if not calendar.reaches_fractions(config) and None not in times:
            # Patients randomised by each look's expected time: rpact's numberOfSubjects per stage.
            subjects = float(config.trial.n_total) * analytic_survival.entered_fraction(times, model["accrual"])
        out.update(sequential_power(fixed_power, self.alpha, self.sided, sequential, events, unit="events",
                                    subjects=subjects))
        if calendar.reaches_fractions(config):
            # Calendar looks, a cap: the events expected at each look and the power from them; the other
            # tail and the events under H0 above were the event-driven design's, not this one's, so they go.
            out.update(calendar.analytic(self, config, hr))
            for key in ("reject_unfavourable", "reject_unfavourable_per_look", "expected_events_h0"):
                out.pop(key, None)
        if design.look_times:
            # Calendar looks are at their times (the times of their whole planned events are a little off).
            times = list(out["expected_analysis_times"])
        out["analysis_times_at_n_total"] = times
        if None in times:
            n_total = int(config.trial.n_total)
            ceiling = self.most_events(config, hr)
            short = [int(e) for e, t in zip(self.looks.events, times) if t is None]
            most = f"{ceiling:.1f}" if round(ceiling, 1) < short[0] else f"{ceiling:.4f}"
            then = (
                "with design.max_duration a trial whose events have not come is analysed at the cap "
                "(\"cap reached\", cap_reached), and the analytic values are the capped design's"
                if config.design.max_duration is not None else
                "the analytic values assume they come; a simulated trial that runs out of events is analysed at "
                "its last event and stops there (\"short of target events\", events_short)"
            )
            add_note(out, f"{n_total} patients are expected to give at most {most} events under the truth, fewer "
                          f"than the {', '.join(map(str, short))} a look waits for: {then}")
        if hr < self.margin:
            accrual = self.endpoint.accrual
            size = analytic_survival.survival_sample_size(
                hr, follow_up=self.endpoint.follow_up, alpha=self.alpha, power=design.power, sided=self.sided,
                inflation=1.0 if planned is None else float(planned.inflation_factor),
                fractions=self.looks.planned_fractions, margin=self.margin,
                accrual_rate=(accrual.starts, accrual.per_month) if accrual.is_rate else None,
                **{k: v for k, v in model.items() if k != "hazard_ratio"},
            )
            # The arms rounded up, then the total whose split (what `run` simulates at it) gives them both
            # (a review: 119 + 591 at 1:5 summed to 710, which `run` splits 118 + 592).
            _, per_arm = total_for_arms(round_up_per_arm(size.subjects, config.trial.allocation),
                                        config.trial.allocation)
            out.update(
                events=float(size.events),
                events_rounded=int(math.ceil(size.events - 1e-9)),
                subjects=float(size.subjects),
                subjects_per_arm=list(per_arm),
                analysis_times=np.asarray(size.analysis_times).tolist(),
                accrual_duration=float(size.accrual_duration),
                study_duration=float(size.analysis_times[-1]),
            )
            if max(int(sum(per_arm)), out["events_rounded"]) > LARGEST_N_TOTAL:
                # A review: HR 0.999 at alpha 0.001 gave 76373534 events and 104717668 subjects, exit 0, which
                # `run` then refused.
                add_note(out, f"the design for design.power, {out['events_rounded']} events and {int(sum(per_arm))} "
                              f"subjects, is above the largest design.events and trial.n_total a config can give "
                              f"({LARGEST_N_TOTAL}): the effect is too small to size a trial for")
            if not accrual.is_rate and float(self.endpoint.follow_up) == 0.0:
                # A review: beside n_total = 500, 1222 subjects read as "the N I need"; they are the design whose
                # events all come by the end of accrual (rpact's getSampleSizeSurvival follows up 6 months by
                # default).
                # (A code review: not "the configured" size, which design may have computed, nor a time that
                # does not come.)
                add_note(out, "with follow_up.minimum = 0 (the default) the subjects for design.power are those "
                              "whose events all come by the end of accrual, with no follow-up after it (study "
                              "duration = accrual duration); set follow_up.minimum for a design with follow-up "
                              "after accrual" + ("" if None in times else
                                                 f"; at trial.n_total = {int(config.trial.n_total)} the looks' "
                                                 "events come at analysis_times_at_n_total"))
            if accrual.is_rate:  # subjects drive the trial: `size` searches n_total from here
                out["n_total_rounded"] = int(sum(per_arm))
                if config.design.look_times:
                    add_note(out, "calendar looks with an accrual rate have no analytic size for design.power "
                                  "(docs/config.md): subjects and n_total_rounded are the event-driven design's at "
                                  "the looks' fractions, and power is the calendar looks' own")
        control, experimental = config.trial.allocation
        if control != experimental:
            add_note(out, "with unequal allocation Schoenfeld's approximation (rpact's too) can be off by several "
                     "points of power, in a direction that depends on which arm is larger (docs/validation.md), "
                     "and so can its per-look stopping probabilities and expected events; the simulated values are "
                     "the reference, and p3sim size sizes by simulation")
        return self._with_strata_note(out)


def expected_time(config: Config, endpoint: SurvivalEndpoint, hazard_ratio: float, events: float) -> float:
    """Calendar time at which ``trial.n_total`` subjects are expected to have ``events`` at a proportional
    ``hazard_ratio`` (with strata, their mixture); InputError when they never are, on average.

    In closed form (:func:`simulator.design.survival.time_for_events`); with cure fractions, by the
    non-proportional-hazards model's integration (:mod:`simulator.design.nph`), which has them.
    """
    if endpoint.nph is not None:
        return analytic_nph.time_for_events(nph.model(config, endpoint, hazard_ratio), events)
    return float(analytic_survival.time_for_events(
        events, float(config.trial.n_total), **analytic_model(config, endpoint, hazard_ratio),
    ))


def _histogram_quantiles(counts: np.ndarray, edges: np.ndarray, levels, below: int = 0, above: int = 0) -> dict:
    """Quantiles from a histogram by linear interpolation within bins, over every value counted: ``below`` and
    ``above`` the edges too. A quantile among those is outside the histogram: None."""
    total = counts.sum() + below + above
    if total == 0:
        return {}
    cumulative = np.concatenate([[below], below + np.cumsum(counts)]) / total
    return {f"q{int(round(level * 100)):02d}": float(np.interp(level, cumulative, edges))
            if cumulative[0] <= level <= cumulative[-1] else None for level in levels}


def hr_estimate_report(counts: dict) -> dict:
    """``hr_estimate_quantiles`` of the stopping analysis's hazard-ratio estimates, and a note where some lie
    outside the histogram's 0.1 to 10 (those quantiles are null)."""
    below, above = (int(v) for v in counts.get("hr_estimate_over", (0, 0)))
    histogram = np.asarray(counts["hr_estimate"])
    out: dict = {"hr_estimate_quantiles": _histogram_quantiles(histogram, HR_BINS, (0.05, 0.25, 0.5, 0.75, 0.95),
                                                              below, above)}
    total = int(histogram.sum()) + below + above
    if below or above:
        out["hr_estimate_note"] = (
            f"{below / total:.2%} of the estimates lie below 0.1 and {above / total:.2%} above 10, outside the "
            "histogram the quantiles are read from: a quantile among them is null"
        )
    return out


class SurvivalKind:
    """``kind = "survival"``: two-arm time-to-event endpoints (:class:`SurvivalPlan`)."""

    name = "survival"
    tests = survival_spec.SURVIVAL_TESTS
    interim_rules = ("interim", "adaptation")  # sections acting on survival endpoints (endpoints.adaptive_survival)
    adaptation_stages = 2  # re-estimation of the events: two stages in this version (config.adaptive.check)
    sets_calendar = True
    has_missing_outcomes = False  # every patient is followed; losses are the endpoint's dropout
    csv_columns = ("expected_events", "expected_events_mcse", "expected_duration", "expected_duration_mcse", "events")

    def parse(self, name, table, context) -> SurvivalEndpoint:
        return survival_spec.parse(name, table, context)

    def plan(self, config, endpoint, alpha=None, extra_levels=()) -> SurvivalPlan:
        return SurvivalPlan.from_config(config, endpoint, alpha, extra_levels)

    def size_axis(self, config) -> EventAxis | SubjectAxis | CalendarAxis:
        """Subjects when accrual is a rate and the events are not given (:func:`subject_driven`), else events."""
        driven = subject_driven(config)
        if driven is not None:
            return SubjectAxis(config.trial.allocation, driven, strata.cells(config, driven.STRATA_KEY))
        if config.design.look_times:
            # Calendar looks: more subjects give more events by the same times; design.events stays the
            # planned maximum at which the interims spend alpha.
            return CalendarAxis(tuple(config.trial.allocation))
        if config.trial.n_total is None:
            raise InputError(
                "config key `trial.n_total`: is required to size a survival trial by simulation (the subjects "
                "simulated at every candidate; `size` searches the events)"
            )
        return EventAxis(int(config.trial.n_total))

    def complete(self, raw, scenarios, validate):
        return derive_events(raw, scenarios, validate)

    def figures(self, name, report, scenarios) -> list:
        from simulator.endpoints.survival_figures import figures

        return figures(name, report, scenarios)

    def check_in_joint(self, endpoint, calendar: bool) -> None:
        return None  # every survival design, non-inferiority included, runs in the joint engine


KIND = SurvivalKind()
