"""Survival sizes: the events axis that ``size`` searches, and events derived once per run.

Events searched (:class:`EventAxis`)
------------------------------------
With a survival endpoint, ``size`` searches the events at the final look,
``design.events``, with ``trial.n_total`` held at its configured value (the
subjects simulated at every candidate; no more events than subjects). In a
joint trial the survival endpoint's events fix the calendar times of every
look, so binary endpoints are read at those times too.

Subjects searched (:class:`SubjectAxis`)
----------------------------------------
When the trial is driven by its subjects (accrual given as a rate,
``accrual.rate``, and no ``design.events``), ``size`` searches
``trial.n_total`` instead: each candidate's accrual lasts until its subjects
have entered, and its events at the final look are those its subjects are
expected to have by the end of accrual plus ``follow_up.minimum``
(:func:`events_for_subjects`), as a protocol plans them.

Events derived once (:func:`derive_events`)
-------------------------------------------
When ``design.events`` is not given, it is computed once, from the unswept
base config (Schoenfeld's formula for ``design.power`` at the base hazard
ratio, times the group-sequential inflation factor), and written into every
scenario. Holding it fixed is what lets a sweep over the true hazard ratio
show power moving; recomputing it per scenario would keep power at target.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from simulator.design.allocation import round_up_per_arm, split_total, total_for_arms
from simulator.design.multiplicity import endpoint_levels
from simulator.design.survival import (
    accrual_pieces,
    expected_events,
    schoenfeld_events,
    subjects_for_events,
)
from simulator.endpoints.common import PatientAxis, design_bounds
from simulator.endpoints.strata import cells as strata_cells
from simulator.errors import InputError


def reference_hazard_ratio(plan) -> float | None:
    """The truth's hazard ratio, else the prior median's (None under non-proportional hazards: no one ratio)."""
    if plan.endpoint.nph is not None:
        return None
    if plan.truth is not None:
        return float(plan.truth)
    if plan.prior is not None:
        return float(math.exp(plan.prior.hazard_ratio.log_mean))
    return None


def _survival_plans(bundle) -> list:
    return [p for p in bundle.plans if p.endpoint.kind == "survival"]


def endpoint_hazard_ratio(endpoint) -> float:
    """The endpoint's true hazard ratio, else its prior median (what events are planned for)."""
    if endpoint.truth.hazard_ratio is not None:
        return float(endpoint.truth.hazard_ratio)
    return float(math.exp(endpoint.prior.hazard_ratio.log_mean))


def subject_driven(config):
    """The survival endpoint whose subjects drive the trial, or None.

    Accrual given as a rate (``accrual.rate``) and neither ``design.events``
    nor ``design.look_events``: the events follow from ``trial.n_total``
    (:func:`events_for_subjects`).
    """
    if config.design.events is not None or config.design.look_events:
        return None
    return next((e for e in config.endpoints if e.kind == "survival" and e.accrual.is_rate), None)


def hazard_ratio_source(endpoint) -> str:
    """Where :func:`endpoint_hazard_ratio` comes from, as the derivations name it."""
    return "truth.hazard_ratio" if endpoint.truth.hazard_ratio is not None else "prior.hazard_ratio (its median)"


def subject_events_derivation(endpoint, subjects: str, source: str) -> str:
    """The sentence of ``events_derivation`` for events derived by :func:`events_for_subjects`."""
    rates = " / ".join(f"{r:g}" for r in endpoint.accrual.per_month)
    text = (
        f"expected events of {subjects} subjects (accrual at {rates} per month until they have entered, then "
        f"follow_up.minimum = {endpoint.follow_up:g}) at hazard ratio {endpoint_hazard_ratio(endpoint):g} "
        f"({source}), rounded up"
    )
    if endpoint.max_follow_up < endpoint.follow_up:
        # A review: with the maximum below the minimum about half the trials fell short of these events, unsaid.
        text += (f"; follow_up.maximum = {endpoint.max_follow_up:g} ends every patient's follow-up before that "
                 "planned end, so these are about all the events the trial can have: about half the trials fall "
                 "short of them and are analysed at their last event (events_short)")
    return text


def patient_model(endpoint, hazard_ratio, allocation, strata=(), accrual=None) -> dict:
    """Keyword arguments of :mod:`simulator.design.survival` for ``endpoint``'s patients at ``hazard_ratio``.

    Everything the simulation draws the patients from: control hazards,
    accrual (``accrual``, else the endpoint's), dropout, allocation, the
    maximum follow-up per patient and the strata's ``(share, multiplier)``
    (:func:`simulator.endpoints.strata.cells`; empty without strata).
    """
    control = endpoint.truth.control
    accrual = endpoint.accrual if accrual is None else accrual
    return dict(
        control=(np.array(control.times), np.array(control.hazards)),
        hazard_ratio=hazard_ratio,
        accrual=accrual_pieces(times=list(accrual.edges), rates=list(accrual.rates)),
        dropout=endpoint.dropout,
        allocation=allocation,
        max_follow_up=endpoint.max_follow_up,
        strata=strata,
    )


def events_for_subjects(endpoint, n_total: int, allocation, strata=()) -> tuple[float, int]:
    """Events expected among ``n_total`` subjects at the end of accrual plus the minimum follow-up.

    Accrual at the endpoint's rate lasts until ``n_total`` have entered; the
    hazards, dropout, maximum follow-up per patient and allocation are the
    endpoint's, at its true hazard ratio (else its prior median), and with
    ``strata`` (:func:`simulator.endpoints.strata.cells`) their mixture's.
    Returns the expected events and that number rounded up (at least 1; at
    most ``n_total``).
    """
    model = patient_model(endpoint, endpoint_hazard_ratio(endpoint), allocation, strata,
                          endpoint.accrual.for_subjects(n_total))
    events = expected_events(float(model["accrual"][0][-1]) + endpoint.follow_up, float(n_total), **model)
    return float(events), int(min(max(math.ceil(events - 1e-9), 1), n_total))


@dataclass(frozen=True)
class CalendarAxis(PatientAxis):
    """``trial.n_total`` of a trial with calendar looks: more subjects give more events by the same times.

    ``design.events`` stays the planned maximum at which the interims spend
    alpha. Its size block says what was searched (a review: the configured
    ``trial.n_total`` was replaced without a word).
    """

    priority = 0.25  # above binary endpoints' patients (a joint trial), so that the block says it

    def report(self, base, best, config, analytic, target) -> dict:
        return {"searched": "trial.n_total: the looks are at calendar times (design.look_times), so more subjects "
                            "give more events by them; design.events stays the planned maximum (the configured "
                            "trial.n_total is where the search starts only without an analytic size)"}

    def summary_lines(self, block: dict) -> list[str]:
        return super().summary_lines(block) + [f"searched {block['searched']}"]


@dataclass(frozen=True)
class SubjectAxis(PatientAxis):
    """``trial.n_total`` of a trial driven by its subjects (:func:`subject_driven`): the events follow.

    Every candidate's plan takes :func:`events_for_subjects` of its
    ``n_total`` as its events (``design.events`` stays unset:
    :func:`simulator.endpoints.survival.make_survival_looks`).
    """

    endpoint: object = None
    #: The strata's ``(share, multiplier)`` (:func:`simulator.endpoints.strata.cells`); empty without strata.
    strata: tuple = ()

    priority = 0.5  # above binary endpoints' patients (a joint trial), below an events search

    def events(self, n_total: int) -> int:
        return events_for_subjects(self.endpoint, n_total, self.allocation, self.strata)[1]

    def fields(self, n_total: int) -> dict:
        return {**super().fields(n_total), "events": self.events(n_total)}

    def check(self, config) -> None:
        super().check(config)
        if self.endpoint.truth.hazard_ratio is None and self.endpoint.prior is None:  # pragma: no cover (parser)
            raise InputError(f"config key `endpoints.{self.endpoint.name}.truth.hazard_ratio`: is required")

    def report(self, base, best, config, analytic, target) -> dict:
        """The events of the answer and its durations (accrual at the rate, then the minimum follow-up)."""
        n_total = best.size
        accrual = self.endpoint.accrual.for_subjects(n_total)
        expected, rounded = events_for_subjects(self.endpoint, n_total, self.allocation, self.strata)
        return {
            "searched": (
                f"trial.n_total: accrual at a rate (endpoints.{self.endpoint.name}.accrual.rate) and "
                f"follow_up.minimum define the trial; design.events follows from the subjects"
            ),
            "events": rounded,
            "events_expected": expected,
            "accrual_duration": float(accrual.edges[-1]),
            "study_duration": float(accrual.edges[-1]) + float(self.endpoint.follow_up),
        }

    def summary_lines(self, block: dict) -> list[str]:
        lines = super().summary_lines(block)
        return lines + [
            f"searched {block['searched']}: {block['events']} events at the final look, accrual "
            f"{block['accrual_duration']:.1f} + follow-up = study duration {block['study_duration']:.1f} (expected)"
        ]


@dataclass(frozen=True)
class EventAxis:
    """``design.events`` (events at the final look) on the integers, subjects fixed.

    ``n_total`` is the configured number of subjects, simulated at every
    candidate; no more events than that can be asked for.
    """

    n_total: int

    name = "events"
    key = "design.events"
    unit = 1
    digest_exclude = (("design", "events"),)
    priority = 1  # any survival endpoint makes the whole search one over events

    @property
    def max_size(self) -> int:
        return self.n_total

    def limit(self) -> str:
        return (
            f"any events up to {self.n_total} (trial.n_total: the subjects simulated, which cap the events; "
            "raise trial.n_total to allow more)"
        )

    def fields(self, events: int) -> dict:
        return {"events": events}

    def apply(self, mapping: dict, events: int) -> dict:
        out = copy.deepcopy(mapping)
        design = out.setdefault("design", {})
        design["events"] = events
        design.pop("look_events", None)  # refused before the search; the looks are fractions of `events`
        return out

    def base_mapping(self, mapping: dict) -> dict:
        """The base plans need events; the analytic events do not depend on them: the most there can be."""
        return self.apply(mapping, self.max_size)

    def check(self, config) -> None:
        if config.design.look_sizes:
            raise InputError(
                "config key `design.look_sizes`: fixes absolute look sizes, which `size` cannot scale with "
                "n_total; give the looks as design.looks (a count or fractions)"
            )
        if config.design.look_events:
            raise InputError(
                "config key `design.look_events`: fixes absolute look events, which `size` cannot scale with "
                "design.events (what it searches); give the looks as design.looks (a count or fractions)"
            )

    def analytic_key(self) -> str:
        return "events_rounded"

    def fallback_start(self, bundle, config) -> int:
        """Where an events search starts without an analytic power size (assurance).

        The configured ``design.events``; else Schoenfeld's events for
        ``design.power`` at the prior median hazard ratio (times the inflation
        factor; the largest over survival endpoints); else half of
        ``trial.n_total``.
        """
        if config.design.events is not None:
            return min(int(config.design.events), int(config.trial.n_total))
        design, starts = config.design, []
        for plan in _survival_plans(bundle):
            hr = reference_hazard_ratio(plan)
            if hr is not None and hr < plan.margin:
                planned = plan.planned_bounds.sequential
                events = schoenfeld_events(
                    hr, alpha=plan.alpha, power=design.power, sided=plan.sided, allocation=config.trial.allocation,
                    inflation=1.0 if planned is None else float(planned.inflation_factor), margin=plan.margin,
                )
                starts.append(int(math.ceil(events - 1e-9)))
        return max(starts) if starts else max(1, int(config.trial.n_total) // 2)

    def report(self, base, best, config, analytic, target) -> dict:
        """Subjects simulated and, for reference, the analytic subjects and time of the final look."""
        searched = (
            f"design.events, trial.n_total fixed at {config.trial.n_total} (give the accrual as a rate, "
            "without design.events, to search the subjects)"
        )
        unrounded = None
        if target == "power" and analytic is not None:
            for plan in _survival_plans(base):
                block = plan.analytic(base.scenario.config) if plan.truth is not None else {}
                if block.get("events_rounded") == analytic:
                    unrounded = block["events"]
                    break
        nph = any(plan.endpoint.nph is not None for plan in _survival_plans(base))
        return {
            "searched": searched,
            "analytic_method": "the non-proportional-hazards model" if nph else "Schoenfeld",
            "analytic_events_unrounded": unrounded,
            "subjects": config.trial.n_total,
            "subjects_per_arm": list(split_total(config.trial.n_total, config.trial.allocation)),
            **subjects_reference(best.bundle, best.bundle.scenario.config, best.size),
        }

    def summary_lines(self, block: dict) -> list[str]:
        per_arm = " / ".join(str(n) for n in block["subjects_per_arm"])
        lines = [
            f"smallest events (final look) with {block['target']} >= {block['level']}: {block['events']} "
            f"({block['subjects']} subjects simulated, {per_arm} per arm)",
        ]
        if block.get("analytic_subjects") is not None:
            time_text = (
                "" if block.get("analysis_time") is None
                else f"; {block['subjects']} subjects reach them at about {block['analysis_time']:.1f} months"
            )
            per_arm = block.get("analytic_subjects_per_arm")
            # The block's numbers as they stand: unrounded, and whole subjects per arm (their sum).
            whole = f", {sum(per_arm)} as whole subjects per arm ({' / '.join(map(str, per_arm))})" if per_arm else ""
            lines.append(
                f"analytic subjects for {block['events']} events (accrual + minimum follow-up): "
                f"{block['analytic_subjects']:.2f}{whole}{time_text}"
            )
        if block.get("searched"):
            lines.append(f"searched {block['searched']}")
        return lines


def subjects_reference(bundle, config, events: int) -> dict:
    """Analytic subjects for ``events`` and the expected time of the final look, for reference.

    Under each survival endpoint's accrual, dropout and minimum follow-up, at
    its true hazard ratio (else the prior median): the subjects whose
    expected events at the end of accrual plus follow-up are ``events``
    (:func:`~simulator.design.survival.subjects_for_events`, rpact's
    convention), and the calendar time at which the configured
    ``trial.n_total`` subjects are expected to reach ``events``
    (``None`` if they are not, on average).  Largest over survival endpoints.
    """
    subjects, times = [], []
    for plan in _survival_plans(bundle):
        hr = reference_hazard_ratio(plan)
        if hr is None:
            continue
        model = plan.model(hr)
        try:
            subjects.append(subjects_for_events(float(events), follow_up=plan.endpoint.follow_up, **model))
        except InputError:
            pass
        try:
            times.append(plan.expected_time(config, hr, float(events)))
        except InputError:
            times.append(None)
    analytic = max(subjects) if subjects else None
    return {
        "analytic_subjects": analytic,
        "analytic_subjects_per_arm": None if analytic is None else list(
            total_for_arms(round_up_per_arm(analytic, config.trial.allocation), config.trial.allocation)[1]),
        "analysis_time": None if not times or None in times else max(times),
    }


def derive_events(raw: dict, scenarios: list, validate) -> tuple[list, dict]:
    """Fill ``design.events`` for survival scenarios that lack it (see the module docstring).

    ``validate`` is the config validator (passed in: it lives in a higher
    layer). Returns the scenarios (unchanged when nothing is derived) and a
    dict for ``meta`` describing what was derived.
    """
    needs = [
        s for s in scenarios
        if s.config.design.events is None and not s.config.design.look_events
        and any(e.kind == "survival" for e in s.config.endpoints)
    ]
    if not needs:
        return scenarios, {}
    base = base_config(raw, validate)
    endpoint = next(e for e in base.endpoints if e.kind == "survival")
    if endpoint.nph is not None:
        raise InputError(
            f"config key `design.events`: is required with non-proportional hazards or cure fractions "
            f"(endpoints.{endpoint.name}.truth): Schoenfeld's events assume one hazard ratio; the analytic report "
            "gives the power and the average hazard ratio at the events you give"
        )
    hazard_ratio = endpoint_hazard_ratio(endpoint)
    source = hazard_ratio_source(endpoint)
    driven = subject_driven(base)
    if driven is not None and all(s.config.trial.n_total is not None for s in needs):
        return _events_from_subjects(scenarios, needs, base, driven, f"{driven.name}.{hazard_ratio_source(driven)}")
    margin = endpoint.null_hazard_ratio
    if hazard_ratio >= margin:
        raise InputError(
            f"config key `design.events`: cannot be derived from endpoints.{endpoint.name}.{source} = "
            f"{hazard_ratio:g} " + ("(no benefit to power for)" if margin == 1 else f"(not below the margin {margin:g})")
            + "; give design.events, or a hazard ratio below "
            + ("1" if margin == 1 else "the margin")
        )
    design = base.design
    # Calendar looks: no inflation (their information fractions come from the events derived here), even
    # with design.looks = len(look_times) given.
    fractions = (1.0,) if design.looks == 1 or design.look_times else (
        tuple((k + 1) / design.looks for k in range(design.looks)) if isinstance(design.looks, int) else design.looks
    )
    # The level the endpoint is analysed at (alpha / m under Bonferroni), as its plan and analytic block use:
    # at the trial's alpha, a review's Bonferroni design derived 380 events for the 459 it needed.
    alpha = endpoint_levels(design.alpha, len(base.endpoints), base.success.multiplicity)[0]
    bounds = design_bounds(base, fractions, alpha)
    inflation = 1.0 if bounds.sequential is None else float(bounds.sequential.inflation_factor)
    events = schoenfeld_events(
        hazard_ratio, alpha=alpha, power=design.power, sided=design.sided,
        allocation=base.trial.allocation, inflation=inflation, margin=margin,
    )
    rounded = int(math.ceil(events - 1e-9))
    fixed = []
    for scenario in scenarios:
        if scenario in needs:
            config = dataclasses.replace(scenario.config, design=dataclasses.replace(scenario.config.design, events=rounded))
            scenario = dataclasses.replace(scenario, config=config)
        fixed.append(scenario)
    meta = {
        "events": rounded,
        "events_unrounded": events,
        "events_derivation": (
            f"Schoenfeld events for design.power = {design.power} at hazard ratio {hazard_ratio:g} "
            f"({endpoint.name}.{source})"
            + (f" and alpha {alpha:g} (design.alpha / {len(base.endpoints)}, Bonferroni)"
               if alpha != design.alpha else "")
            + f" x inflation factor {inflation:.6f}"
            + (" (calendar looks: none, their information fractions come from the events)" if design.look_times
               else "") + ", rounded up; held fixed across scenarios"
            # A review: CAIRO6's 36-month minimum follow-up looked like the analysis time, which these events set.
            + (f"; {endpoint.name}.follow_up.minimum ({float(endpoint.follow_up):g} months) sets the design's "
               "subjects and study duration (analytic.subjects), not when these trials are analysed: their looks "
               "come at these events (to analyse at the end of accrual plus the minimum follow-up, give the "
               "accrual as a rate, whose events follow from the subjects, or design.events)"
               if float(endpoint.follow_up) > 0 and not design.look_times and driven is None else "")
            # A review: with the accrual a rate but no trial.n_total the text above advised a rate.
            + ("; the accrual is a rate and trial.n_total is not given: `design` sizes the subjects for "
               "design.power and then takes the events they are expected to give by the end of accrual plus "
               f"{endpoint.name}.follow_up.minimum (its events_derivation says so)" if driven is not None else "")
        ),
    }
    return fixed, meta


def subject_events(base, n_total: int) -> tuple[float, int]:
    """A subject-driven trial's derived events at ``n_total`` (:func:`events_for_subjects`): from the unswept
    base config ``base`` (its endpoint and allocation), as every scenario's are (:func:`derive_events`)."""
    endpoint = subject_driven(base)
    return events_for_subjects(endpoint, n_total, base.trial.allocation, strata_cells(base, endpoint.STRATA_KEY))


def _events_from_subjects(scenarios: list, needs: list, base, endpoint, source: str) -> tuple[list, dict]:
    """``design.events`` of a subject-driven trial (:func:`subject_driven`): each scenario's from its n_total."""
    by_n: dict[int, tuple[float, int]] = {}
    fixed = []
    for scenario in scenarios:
        if scenario in needs:
            n_total = int(scenario.config.trial.n_total)
            if n_total not in by_n:
                by_n[n_total] = subject_events(base, n_total)
            design = dataclasses.replace(scenario.config.design, events=by_n[n_total][1])
            scenario = dataclasses.replace(scenario, config=dataclasses.replace(scenario.config, design=design))
        fixed.append(scenario)
    expected, rounded = subject_events(base, int(base.trial.n_total))
    sizes = sorted(by_n)
    # A new-user review: with a list of sizes the sentence named only the first.
    subjects = f"trial.n_total = {base.trial.n_total}" if len(sizes) <= 1 else \
        "each trial.n_total (" + ", ".join(map(str, sizes)) + ")"
    meta = {
        "events": rounded,
        "events_unrounded": expected,
        "events_derivation": subject_events_derivation(endpoint, subjects, source)
        + ("" if len(sizes) <= 1 else ": " + ", ".join(f"{by_n[n][1]} at {n}" for n in sizes) + " (events_by_n_total)")
        + "; from each scenario's n_total, held fixed across the other swept keys",
    }
    if len(by_n) > 1:
        meta["events_by_n_total"] = {str(n): e[1] for n, e in sorted(by_n.items())}
    return fixed, meta


def base_config(raw: dict, validate):
    """The unswept base scenario: the first size of a list-valued n_total, no [sweep]."""
    from simulator.config.toml import expand

    base = copy.deepcopy(raw)
    base.pop("sweep", None)
    trial = base.get("trial", {})
    if isinstance(trial.get("n_total"), list):
        trial["n_total"] = trial["n_total"][0]
    return validate(expand(base)[0][1])
