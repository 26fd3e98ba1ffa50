"""Simulate and design the scenarios of a config (no report writing here).

:func:`simulate` runs every stream of every scenario (with checkpoints and
the chosen backend) and returns the plans and the summed counts;
:func:`design_blocks` gives the analytic operating characteristics. The
Python API (:mod:`simulator.api`) turns both into result objects and
reports; the command line is a thin shell over that API.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

from simulator.config.load import Scenario
from simulator.config.validate import validate
from simulator.design.allocation import round_up_per_arm, total_for_arms
from simulator.design.multiplicity import gatekeeper
from simulator.endpoints import kind_of
from simulator.endpoints.common import PatientAxis, add_note, analytic_and_exact, finite_or_none
from simulator.endpoints.joint_rules import calendar_endpoints
from simulator.endpoints.strata import deciding
from simulator.endpoints.survival_axis import (
    base_config,
    hazard_ratio_source,
    subject_driven,
    subject_events,
    subject_events_derivation,
)
from simulator.errors import InputError
from simulator.runner.backends import check_backend
from simulator.runner.checkpoint import CheckpointStore
from simulator.runner.progress import ProgressHook
from simulator.runner.simulate import ScenarioPlans, build_plans, simulate_scenarios


def simulate(
    scenarios: list[Scenario],
    *,
    jobs: int = 0,
    progress: ProgressHook | None = None,
    backend: str = "threads",
    scheduler: str | None = None,
    checkpoints: str | Path | None = None,
    resume: bool = True,
) -> tuple[list[ScenarioPlans], list[dict], list[dict], float, list[int]]:
    """Simulate every scenario: ``(plans, stream counts, side results, wall seconds, resumed)``.

    The first three hold one entry per scenario; ``resumed`` lists the
    indices of the scenarios taken from checkpoints.

    The side results are each endpoint's ``side_results()`` (survival:
    Kaplan-Meier bands from a side sample with its own seed stream),
    computed here, once, so that building a report never simulates.

    Parameters
    ----------
    scenarios : list of Scenario
        Validated, completed scenarios (:func:`simulator.config.load.scenarios_from_mapping`).
    jobs : int
        Workers (``0`` = all cores); never changes a result.
    progress : ProgressHook, optional
        Told about finished chunks and scenarios (:mod:`simulator.runner.progress`).
    backend, scheduler : str, optional
        ``"threads"``, ``"loky"`` (local processes) or ``"dask"`` with the
        scheduler address (:mod:`simulator.runner.backends`); never changes a result.
    checkpoints : path, optional
        Folder of per-scenario checkpoints (:mod:`simulator.runner.checkpoint`);
        ``None`` keeps none.
    resume : bool
        Take finished scenarios from ``checkpoints``; ``False`` recomputes them.
    """
    check_backend(backend, scheduler)
    preparing = getattr(progress, "preparing", None)
    bundles = []
    for index, scenario in enumerate(scenarios):
        if preparing is not None:
            preparing(index, len(scenarios))
        bundles.append(build_plans(scenario))
    store = CheckpointStore(Path(checkpoints)) if checkpoints is not None else None
    results, wall = simulate_scenarios(
        bundles, jobs=jobs, progress=progress, backend=backend, scheduler=scheduler, checkpoints=store, resume=resume,
    )
    side = [{plan.endpoint.name: plan.side_results() for plan in bundle.plans} for bundle in bundles]
    return bundles, results, side, wall, (store.resumed if store is not None else [])


#: Sizes tried, in order, to build the plans that give a scenario without ``trial.n_total`` its design size:
#: larger ones when the looks or the events need more patients, smaller ones when calendar looks at that size
#: would expect an interim to have the planned maximum events already.
PROVISIONAL_N_TOTAL = (1000, 100_000, 500, 250, 120, 60)

#: At most this many recomputations of the analytic size at the size found (:func:`design_size`).
FIXED_POINT_ROUNDS = 20


def with_n_total(scenario: Scenario, n_total: int) -> Scenario:
    """The scenario with ``trial.n_total`` set (mapping and validated config alike)."""
    raw = {**scenario.raw, "trial": {**scenario.raw.get("trial", {}), "n_total": n_total}}
    config = dataclasses.replace(scenario.config, trial=dataclasses.replace(scenario.config.trial, n_total=n_total))
    return dataclasses.replace(scenario, raw=raw, config=config)


#: Keys whose refusal at a size can be about the size itself (too few patients for the looks or the events):
#: refused at every provisional size, ``design`` asks for ``trial.n_total`` (:func:`design_size`).
_COUNTING_KEYS = frozenset(f"config key `{key}`" for key in (
    "trial.n_total", "trial.allocation", "design.looks", "design.events", "design.look_sizes", "design.look_times",
))


def design_size(scenario: Scenario, at_size: Callable[[Scenario], Scenario] = lambda s: s) -> tuple[int, bool]:
    """The size ``design`` uses when ``trial.n_total`` is not given: each endpoint's analytic size
    for ``design.power`` (patients; subjects for survival endpoints), the largest (rule ``all``) or
    the smallest (rule ``any``); and whether it settled.

    ``at_size`` completes the scenario at a size as ``design`` will design it there (a subject-driven
    trial's events, :func:`design_blocks`). The plans are built at a provisional size first. Where the
    analytic size depends on the size the plans were built at (calendar looks, whose events grow with
    the subjects; a subject-driven trial's events), it is computed again at the size found until it no
    longer moves; ``False`` when it had not after :data:`FIXED_POINT_ROUNDS` (the last size is used).

    Raises InputError naming ``trial.n_total`` when an endpoint has nothing to size for (no truth,
    or no benefit under it), or the plans cannot be built at any provisional size.
    """
    if scenario.config.design.look_sizes:
        raise InputError("config key `trial.n_total`: is required with design.look_sizes (its last look is the "
                         "trial's size)")
    failures: list[InputError] = []
    # Given survival events bound the size from below (one event a patient at most): calendar looks whose
    # interims expect the maximum events at 500 patients or more are built at a size just above them.
    events = scenario.config.design.events
    above_events = () if events is None else tuple(int(math.ceil(events * f)) for f in (1.0, 1.25, 1.5, 2.0))
    for provisional in PROVISIONAL_N_TOTAL + above_events:
        probe = at_size(with_n_total(scenario, provisional))
        try:
            bundle = build_plans(probe)
            break
        except InputError as err:  # too small for the looks or the events (or too large for calendar looks)
            failures.append(err)
    else:
        first = failures[0]
        keys = {str(err).split(":")[0] for err in failures}
        if len(keys) == 1 and not keys & _COUNTING_KEYS:
            # The same key refused at every size, and not one that counts patients or events, is the key to
            # change (a review: HP bounds that spend more than alpha, refused at each size by
            # design.efficacy, were reported as trial.n_total being required).
            raise first
        raise InputError(
            "config key `trial.n_total`: is required here: no size for design.power could be computed, the "
            f"plans fail at every provisional size (at {PROVISIONAL_N_TOTAL[0]} patients: {first})"
        )

    def analytic_at(n_total: int) -> int | None:
        probe = at_size(with_n_total(scenario, n_total))
        bundle = build_plans(probe)  # InputError: the design cannot be built at this size
        try:
            return _analytic_size(bundle, probe)
        except InputError:
            return None  # built, but no analytic size for design.power there

    a, b = scenario.config.trial.allocation
    unit = (a + b) // math.gcd(a, b)
    # Every endpoint sized in patients (binary, continuous), none in survival subjects or events.
    try:
        patients = all(type(kind_of(e).size_axis(probe.config)) is PatientAxis for e in probe.config.endpoints)
    except InputError:
        patients = False
    return settle(provisional, _analytic_size(bundle, probe), analytic_at, unit, step_up=patients)


def settle(built: int, size: int, analytic_at: Callable[[int], int | None], unit: int = 1,
           step_up: bool = False) -> tuple[int, bool]:
    """The analytic size computed again at the size found until it no longer moves, and whether it settled.

    ``size`` is the analytic size of the plans built at ``built``;
    ``analytic_at(n)`` builds them at ``n`` and returns theirs (None when
    they have none there: the last size found is kept, unsettled), or
    raises InputError where they cannot be built. At most
    :data:`FIXED_POINT_ROUNDS` rounds (then the last size is used). A size
    found that is too large to carry the design (calendar looks whose
    interims would expect the planned maximum events) gives way to the
    largest size on the allocation grid (multiples of ``unit``) between the
    last one and it that can (the sizes that can form one range); where
    there is none, the first round raises its error (the size computed for
    ``design.power`` cannot carry the design) and a later one keeps the last
    size that could. With ``step_up`` (patients sized for binary and
    continuous endpoints), a size found that is too small to carry the
    design (too few patients per arm at the first look for a large effect)
    gives way to the smallest buildable size on the grid above it: the
    smallest trial of this design, whose power is above ``design.power``.
    Without it such a size raises its error (survival subjects too few for
    the given events is a conflict to name, not a size to grow).
    """
    for round_ in range(FIXED_POINT_ROUNDS):
        if size == built:
            return size, True
        try:
            found = analytic_at(size)
        except InputError as err:
            if size < built and step_up:
                # A review: `design` refused the size it computed (5 patients), naming trial.n_total.
                size, found = _smallest_buildable(size, built, analytic_at, unit)
                if size == built:
                    return built, True
            else:
                top = _largest_buildable(built, size, analytic_at, unit) if size > built else None
                if top is None:
                    if round_ == 0:
                        raise err
                    return built, False
                size, found = top
        if found is None:
            return built, False
        built, size = size, found
    return built, size == built


def _grid_probe(analytic_at: Callable[[int], int | None], unit: int):
    """``(builds, found)``: ``builds(index)`` whether the plans build at ``index * unit`` patients,
    ``found[index]`` their analytic size where they do."""
    found: dict[int, int | None] = {}

    def builds(index: int) -> bool:
        try:
            found[index] = analytic_at(index * unit)
            return True
        except InputError:
            return False

    return builds, found


def _largest_buildable(low: int, high: int, analytic_at: Callable[[int], int | None],
                       unit: int) -> tuple[int, int | None] | None:
    """The largest multiple of ``unit`` in ``(low, high)`` whose plans can be built, with its analytic size
    (``low`` can, ``high`` cannot), or None when none can."""
    builds, found = _grid_probe(analytic_at, unit)
    # Grid indices: low // unit and the index at or above high stand for low (builds) and high (does not).
    top = largest_where(low // unit, (high - 1) // unit + 1, builds)
    return (top * unit, found[top]) if top in found else None


def _smallest_buildable(low: int, high: int, analytic_at: Callable[[int], int | None],
                        unit: int) -> tuple[int, int | None]:
    """The smallest multiple of ``unit`` in ``(low, high]`` whose plans can be built, with its analytic size
    (``low`` cannot, ``high`` can; ``high`` itself, without its analytic size, when none below it can)."""
    builds, found = _grid_probe(analytic_at, unit)
    bottom = largest_where(low // unit, -(-high // unit), lambda index: not builds(index)) + 1
    # Below high, bottom was probed (it builds): its analytic size is in found.
    return (high, None) if bottom * unit >= high else (bottom * unit, found[bottom])


def largest_where(lo: int, hi: int, holds: Callable[[int], bool]) -> int:
    """The largest integer in ``[lo, hi)`` where ``holds``, by bisection: ``holds(lo)`` is taken as true
    (not called), ``holds(hi)`` as false, and the integers where it holds form one range from ``lo``."""
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if holds(middle):
            lo = middle
        else:
            hi = middle
    return lo


def _analytic_size(bundle: ScenarioPlans, probe: Scenario) -> int:
    """The analytic size for ``design.power`` of the plans ``bundle`` built at ``probe``'s ``trial.n_total``;
    a survival endpoint whose events are given (:func:`_events_given`) counts the subjects that give them
    (``SurvivalPlan.subjects_for``)."""
    success = probe.config.success
    first = gatekeeper(success.rule, success.multiplicity, success.order)
    sizes = []
    given = _sized_by_given_events(bundle, probe)
    # A fixed sequence's first endpoint decides under rule any (multiplicity.gatekeeper): its size alone.
    for plan in [p for p in bundle.plans if first is None or p.endpoint.name == first]:
        required = f"config key `trial.n_total`: is required here: endpoint `{plan.endpoint.name}`"
        # A new-user review: a delayed effect was called "no truth with a benefit".
        no_model = f"{required}'s non-proportional hazards or weighted test have no analytic size (docs/survival_nph.md)"
        if given:
            # Survival events given: they set its power, so its size is the subjects that give them (a new-user
            # review: the subjects for design.power's 469 events were shown beside the design at the given 380).
            subjects = plan.subjects_for(float(plan.looks.events[-1]))
            if subjects is None:
                raise InputError(no_model if plan.endpoint.nph is not None else
                                 f"{required} has no true hazard ratio to compute the subjects for design.events from")
            allocation = probe.config.trial.allocation
            sizes.append(int(total_for_arms(round_up_per_arm(subjects, allocation), allocation)[0]))
            continue
        block = plan.analytic(probe.config)
        size = block.get("n_total_rounded")
        if size is None and block.get("subjects_per_arm"):
            size = int(sum(block["subjects_per_arm"]))
        if size is None and ("nph" in block or getattr(plan.endpoint, "weights", ())):
            raise InputError(no_model)
        if size is None:
            truth = plan.endpoint.truth
            if truth is None or getattr(truth, "hazard_ratio", 0.0) is None:
                # A new-user review: a prior-only endpoint was said to have no truth "with a benefit".
                raise InputError(f"{required} has no truth (a prior only), so no analytic size: the size for "
                                 "design.power is computed under a truth")
            raise InputError(f"{required} has no truth with a benefit over the null to compute a size for")
        sizes.append(int(size))
    return max(sizes) if probe.config.success.rule == "all" else min(sizes)


def _events_given(scenario: Scenario) -> bool:
    """Whether ``design.events`` or ``design.look_events`` is given (in the config or by a sweep)."""
    given = scenario.raw.get("design") or {}
    return any(given.get(key) or scenario.params.get(f"design.{key}") for key in ("events", "look_events"))


def _at_given_events(scenario: Scenario) -> bool:
    """Whether the looks are at given events (not calendar looks, whose ``design.events`` is only the planned
    maximum at which the interims spend alpha): those events set a survival endpoint's power."""
    return _events_given(scenario) and not scenario.config.design.look_times


def _sized_by_given_events(bundle: ScenarioPlans, scenario: Scenario) -> bool:
    """Whether ``design`` sizes ``scenario`` by the subjects that give its events: one survival endpoint (its
    plan has ``subjects_for``) at given events (:func:`_at_given_events`). With several endpoints the size
    stays the largest or smallest of their sizes for design.power (a code review: a joint trial's binary size
    was labelled as the survival endpoint's subjects for its events)."""
    return (len(bundle.plans) == 1 and getattr(bundle.plans[0], "subjects_for", None) is not None
            and _at_given_events(scenario))


def _derives_events(scenario: Scenario) -> bool:
    """Whether loading derived ``scenario``'s events (a survival endpoint, and neither ``design.events`` nor
    ``design.look_events`` given): from the unswept base config, as :func:`~simulator.endpoints.survival_axis.derive_events`
    decides, the subjects' events when its accrual is a rate, else Schoenfeld's."""
    if _events_given(scenario):
        return False
    return scenario.config.design.events is not None  # not given, so derived while loading


def _with_subject_events(scenario: Scenario, base) -> Scenario:
    """A subject-driven ``scenario`` at its ``trial.n_total`` with the events ``run`` derives there (from the
    unswept ``base`` config), not the Schoenfeld events derived while there was no size."""
    events = subject_events(base, int(scenario.config.trial.n_total))[1]
    config = scenario.config
    return dataclasses.replace(
        scenario, config=dataclasses.replace(config, design=dataclasses.replace(config.design, events=events))
    )


def design_blocks(scenarios: list[Scenario], raw: dict) -> tuple[list[dict], dict]:
    """Analytic operating characteristics of every scenario of the config mapping ``raw`` (no simulation),
    and ``meta``'s events where they had to be derived again.

    A scenario without ``trial.n_total`` is designed at its computed size
    (:func:`design_size`), reported with ``n_total_source = "design.power"`` (``"design.events"`` where a
    survival endpoint's events are given: the subjects that give them, :func:`_analytic_size`);
    a subject-driven one there has the events of that size's subjects, as
    ``run`` derives them, which the returned ``meta`` keys (``events``,
    ``events_unrounded``, ``events_derivation``, ``events_by_n_total``)
    describe in place of the load's. A size that did not settle, one too
    small to carry the looks, and one of several endpoints (whose it is) get
    ``n_total_note``.
    """
    out = []
    derived: dict[int, tuple] = {}
    sized = [s for s in scenarios if s.config.trial.n_total is None and _derives_events(s)]
    # As loading derives them: the subjects' events when the base config's accrual is a rate, else Schoenfeld's.
    base = base_config(raw, validate) if sized else None
    driven = base is not None and subject_driven(base) is not None
    for scenario in scenarios:
        source, note = "trial.n_total", None
        if scenario.config.trial.n_total is None:
            from_subjects = driven and _derives_events(scenario)
            at_size = (lambda s: _with_subject_events(s, base)) if from_subjects else (lambda s: s)
            size, settled = design_size(scenario, at_size)
            scenario, source = at_size(with_n_total(scenario, size)), "design.power"
            if from_subjects:
                derived.setdefault(size, subject_events(base, size))
            if not settled:
                note = ("the analytic size for design.power, computed again at the size found (calendar looks and "
                        "events derived from the subjects move it), had not settled: this is the last size the "
                        "design could be built at; give trial.n_total")
        bundle = build_plans(scenario)
        if source == "design.power" and _sized_by_given_events(bundle, scenario):
            source = "design.events"  # the subjects that give the given events (_analytic_size)
        if source != "trial.n_total" and note is None:
            try:
                below = _analytic_size(bundle, scenario)
            except InputError:
                below = scenario.config.trial.n_total  # no analytic size here: nothing to say
            if below < scenario.config.trial.n_total:
                note = (f"the analytic size for design.power, {below}, cannot carry the design (too few patients "
                        "per arm for its looks or its test): this is the smallest size that can, with more power than design.power")
        if source == "design.power" and len(scenario.config.endpoints) > 1:
            # A review: with rule all the trial's power at this size was far below design.power, without a word.
            success = scenario.config.success
            first = gatekeeper(success.rule, success.multiplicity, success.order)
            m = len(scenario.config.endpoints)
            if first is not None:
                several = (f"the size of {first}, the first endpoint of the fixed sequence, for design.power: the "
                           "trial succeeds only where it does")
            elif success.rule == "all":
                several = (f"the largest of the {m} endpoints' own sizes for design.power: the probability that "
                           "every endpoint succeeds (rule all) is at most the least powered endpoint's, so usually "
                           "below design.power")
            else:
                several = f"the smallest of the {m} endpoints' own sizes for design.power (rule any, at each endpoint's level)"
            several += "; p3sim size --target power finds the size for the trial's success"
            survival = [plan.endpoint.name for plan in bundle.plans if getattr(plan, "subjects_for", None) is not None]
            if survival and _at_given_events(scenario):
                # A review: CAIRO6 with design.events = 200 showed os's subjects for design.power's 139 events
                # beside its design at the 200 given (whose events then come at 239 months), without a word.
                several += (f"; {survival[0]}'s own size is its subjects for design.power's events, not for the "
                            "design.events given (which set its power): give trial.n_total for a design at the "
                            "given events")
            note = several if note is None else f"{note}; {several}"
        endpoints = {}
        calendar = [e.name for e in calendar_endpoints(scenario.config.endpoints)]
        for plan in bundle.plans:
            planned = plan.planned_bounds or plan.bounds
            entry = endpoints[plan.endpoint.name] = {
                "test": plan.endpoint.test,
                "alpha": plan.alpha,  # the endpoint's level: its share under Bonferroni (a review)
                "efficacy_bounds": finite_or_none(planned.efficacy),
                "futility_bounds": finite_or_none(planned.futility),
                **_futility_region(planned),
                "alpha_spent": list(planned.alpha_spent),
                "nominal_p": [float(_sf(b)) for b in planned.efficacy],
                "efficacy_bounds_realised": finite_or_none(plan.bounds.efficacy),
                "futility_bounds_realised": finite_or_none(plan.bounds.futility),
                "planned_fractions": list(plan.looks.planned_fractions),
                "realised_fractions": list(plan.looks.realised_fractions),
                **plan.effect_bounds(),  # critical and futility effects (and counts where the kind has them)
                "prior_p_benefit": plan.prior_p_benefit(),
                **analytic_and_exact(plan, scenario.config),
            }
            ceiling_note = plan.describe().get("prior_p_benefit_note")  # where prior P(benefit) is no ceiling
            if ceiling_note:
                entry["prior_p_benefit_note"] = ceiling_note
            tests = getattr(plan, "strata_tests", None)
            if scenario.config.strata and tests is not None:
                # With strata, the analysis that decides (the tables' test column), beside the configured test.
                analysis, test = deciding(bool(getattr(plan.endpoint, "stratified", False)), tests())
                entry["analysis_test"] = f"{test} ({analysis})"
            if calendar and plan.endpoint.name not in calendar:
                # As the run report's analytic note says: the simulation reads it at the survival looks.
                add_note(entry, f"run reads this endpoint at {calendar[0]}'s looks (calendar times): the patients "
                         "with a known outcome then, and with several looks each trial's fractions and bounds, "
                         "differ from these planned values (docs/multiple_endpoints.md)")
        out.append({
            "params": scenario.params, "n_total": scenario.config.trial.n_total, "n_total_source": source,
            **({"n_total_note": note} if note else {}), "endpoints": endpoints,
        })
    if not derived:
        return out, {}
    n_total, (expected, events) = next(iter(derived.items()))
    subjects = f"trial.n_total = {n_total}" if len(derived) == 1 else "each scenario's trial.n_total"
    endpoint = subject_driven(base)
    meta = {
        "events": events,
        "events_unrounded": expected,
        "events_derivation": subject_events_derivation(
            endpoint, f"{subjects} (computed for design.power)", f"{endpoint.name}.{hazard_ratio_source(endpoint)}"
        ) + ", as run derives them at that n_total",
    }
    if len(derived) > 1:
        meta["events_by_n_total"] = {str(n): e[1] for n, e in sorted(derived.items())}
    return out, meta


def _futility_region(bounds) -> dict:
    """Two-sided designs with futility: which region stops (and a word on rpact's experimental method)."""
    sequential = bounds.sequential
    if sequential is None or sequential.sided != 2 or sequential.futility_code == "none":
        return {}
    if not sequential.inner:
        return {"futility_region": "one_sided: stop when -b_k < Z_k <= a_k"}
    out = {"futility_region": "inner: stop when |Z_k| <= a_k"}
    if sequential.futility_code != "user":
        out["futility_note"] = (
            "two-sided beta spending by rpact's rule (rpact labels it experimental); no inner bound at a look "
            "where the one-sided design at alpha / 2 has a negative futility bound"
        )
    return out


def _sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))
