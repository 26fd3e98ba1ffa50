"""Non-proportional hazards and weighted log-rank tests of the survival kind (docs/survival_nph.md).

What a :class:`~simulator.endpoints.survival.SurvivalPlan` needs beyond
proportional hazards: the checks of the combinations this version does not
support (:func:`check_plan`), the kernels' arguments per stream
(:func:`model_kwargs`), the analytic block (:func:`analytic`, from
:mod:`simulator.design.nph`) and the model's curves for the figures
(:func:`curves`).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.config.schema import Config
from simulator.design import nph as analytic_nph
from simulator.design.boundaries import sequential_probabilities
from simulator.design.survival import accrual_pieces, control_median, schoenfeld_events, schoenfeld_power
from simulator.endpoints import strata
from simulator.endpoints.survival_spec import MAXCOMBO_DEFAULT, SurvivalEndpoint
from simulator.errors import InputError

#: The tests whose analytic power is reported beside the configured one: log-rank, FH(0, 0.5), FH(0, 1).
REPORTED_TESTS = ((0.0, 0.0), (0.0, 0.5), (0.0, 1.0))
#: Schoenfeld's power is flagged as misleading when it is this far from the model's.
MISLEADS = 0.02


def test_label(weights) -> str:
    """``logrank``, ``FH(rho,gamma)`` or ``maxcombo``."""
    if len(weights) > 1:
        return "maxcombo"
    rho, gamma = weights[0] if weights else (0.0, 0.0)
    return "logrank" if rho == gamma == 0.0 else f"FH({rho:g},{gamma:g})"


def check_plan(config: Config, endpoint: SurvivalEndpoint, n_looks: int) -> None:
    """Refuse, naming the key, what non-proportional hazards and the weighted tests do not support yet."""
    path = f"endpoints.{endpoint.name}"
    if endpoint.test == "maxcombo" and n_looks > 1:
        raise InputError(
            f'config key `{path}.test`: "maxcombo" is for fixed designs (one analysis), got {n_looks} looks; '
            'use design.looks = 1, or "fleming_harrington" / "logrank" for a group-sequential design'
        )
    if endpoint.weights and config.strata:
        # The stratified analysis (and the paired other analysis) is the plain stratified log-rank.
        raise InputError(
            f"config key `strata`: stratification factors are not supported with a weighted test ({path}.test) yet"
        )
    if endpoint.nph is None:
        return
    design = config.design
    if design.look_times:
        raise InputError(
            f"config key `design.look_times`: calendar looks are not supported with non-proportional hazards "
            f"or cure fractions ({path}.truth) yet; give event-driven looks (design.events, design.looks)"
        )
    if design.max_duration is not None:
        raise InputError(
            f"config key `design.max_duration`: a cap is not supported with non-proportional hazards "
            f"or cure fractions ({path}.truth) yet"
        )
    if endpoint.margin > 0:
        raise InputError(
            f"config key `{path}.margin`: non-inferiority is not supported with non-proportional hazards "
            f"or cure fractions ({path}.truth)"
        )


def model_kwargs(endpoint: SurvivalEndpoint, stream: str) -> dict:
    """The kernels' ``hazard_ratio_pieces``, ``cured`` and ``weights`` for one stream.

    Under H0 (``type1``) the experimental arm is the control arm: no
    hazard-ratio profile, and the control's cured fraction in both arms.
    """
    out: dict = {"weights": endpoint.weights or None}
    nonprop = endpoint.nph
    if nonprop is None:
        return out
    if stream == "type1":
        cure = nonprop.cured[0]
        return {**out, "cured": (cure, cure)}
    pieces = (nonprop.hazard_ratio_times, nonprop.hazard_ratios) if nonprop.piecewise else None
    return {**out, "hazard_ratio_pieces": pieces, "cured": nonprop.cured}


def model(config: Config, endpoint: SurvivalEndpoint, hazard_ratio: float | None = None) -> analytic_nph.NphModel:
    """The analytic model of ``endpoint`` (:class:`simulator.design.nph.NphModel`) at ``trial.n_total``.

    ``hazard_ratio``: a proportional hazard ratio in place of the truth's (the prior median, for reference).
    """
    control = endpoint.truth.control
    nonprop = endpoint.nph
    if hazard_ratio is not None:
        ratio = ((0.0,), (float(hazard_ratio),))
    elif nonprop is not None and nonprop.piecewise:
        ratio = (nonprop.hazard_ratio_times, nonprop.hazard_ratios)
    else:
        ratio = ((0.0,), (float(endpoint.truth.hazard_ratio),))
    accrual = endpoint.accrual.for_subjects(config.trial.n_total)
    return analytic_nph.NphModel(
        control=(control.times, control.hazards), ratio=ratio,
        accrual=accrual_pieces(times=list(accrual.edges), rates=list(accrual.rates)),
        n_total=float(config.trial.n_total), cured=(0.0, 0.0) if nonprop is None else nonprop.cured,
        dropout=endpoint.dropout, allocation=tuple(float(a) for a in config.trial.allocation),
        max_follow_up=endpoint.max_follow_up, strata=strata.cells(config, endpoint.STRATA_KEY),
    )


def ph_hazard_ratio(endpoint: SurvivalEndpoint) -> float:
    """The hazard ratio a proportional-hazards plan would take: the one given, else the last piece's."""
    if endpoint.truth.hazard_ratio is not None:
        return float(endpoint.truth.hazard_ratio)
    return float(endpoint.nph.hazard_ratios[-1])


def analytic(plan, config: Config) -> dict:
    """Analytic values under the endpoint's model, for its test (the ``analytic`` block of a report).

    ``power``: the configured test's power at the final look's expected
    time by the weighted log-rank moments (:mod:`simulator.design.nph`);
    with several looks the sequential power (:func:`sequential`) and
    ``power_fixed_design``; ``events`` / ``events_rounded`` for
    ``design.power``; ``note``: the one line the reports print;
    ``nph``: the expected events over calendar time, the average hazard
    ratio with its information and power (gsDesign2's ``ahr()``), the
    analytic power of the log-rank, FH(0, 0.5), FH(0, 1) and MaxCombo, and
    Schoenfeld's proportional-hazards answers with whether they mislead
    (more than :data:`MISLEADS` from the model's power of the configured
    test).
    """
    endpoint = plan.endpoint
    m = model(config, endpoint)
    events = [float(e) for e in plan.looks.events]
    sizing = _events_for_design_power(plan, config, m)
    try:
        times = [analytic_nph.time_for_events(m, e) for e in events]
    except InputError as error:
        return {**sizing, "nph": {"note": f"the looks' events are not reached on average: {error}"}}
    final = times[-1]
    ahr = analytic_nph.average_hazard_ratio(m, final)
    weights = list(dict.fromkeys(REPORTED_TESTS + MAXCOMBO_DEFAULT + tuple(endpoint.weights)))
    moments = analytic_nph.weighted_logrank_moments(m, final, weights, stratified=endpoint.stratified)
    alpha, sided = plan.alpha, plan.sided

    def power_of(test_weights) -> float:
        if len(test_weights) > 1:
            rows = [weights.index(w) for w in test_weights]
            sub = analytic_nph.WeightedMoments(
                tuple(test_weights), moments.mean[rows], moments.cov0[np.ix_(rows, rows)],
                moments.cov1[np.ix_(rows, rows)],
            )
            return analytic_nph.maxcombo_power(sub, alpha, sided)[0]
        return analytic_nph.weighted_power(moments, alpha, sided, row=weights.index(tuple(test_weights[0])))

    configured = endpoint.weights or ((0.0, 0.0),)
    power = power_of(configured)
    powers = {test_label((w,)): power_of((w,)) for w in REPORTED_TESTS}
    # MaxCombo: the configured components when the test is MaxCombo, else the default four.
    combo = endpoint.weights if endpoint.test == "maxcombo" else MAXCOMBO_DEFAULT
    powers["maxcombo"] = power_of(combo)
    allocation = config.trial.allocation
    ph_ratio = ph_hazard_ratio(endpoint)
    at_ahr = schoenfeld_power(events[-1], ahr.ahr, alpha=alpha, sided=sided, allocation=allocation)
    at_ph = schoenfeld_power(events[-1], ph_ratio, alpha=alpha, sided=sided, allocation=allocation)
    horizon = max(final * 1.5, float(m.accrual[0][-1]) + 1.0)
    grid = np.linspace(0.0, horizon, 41)[1:]
    by_arm = analytic_nph.expected_events(m, final)
    block = {
        "test": test_label(endpoint.weights),
        "analysis_times": times,
        "expected_events_by_arm": list(by_arm),
        "events_over_time": {
            "times": grid.tolist(),
            "events": [sum(analytic_nph.expected_events(m, float(t))) for t in grid],
        },
        "average_hazard_ratio": ahr.ahr,
        "ahr_information_h1": ahr.info,
        "ahr_information_h0": ahr.info0,
        "ahr_power": ahr.power(alpha, sided),
        "test_powers": powers,
        "maxcombo_components": [list(w) for w in combo],
        "weighted_z_mean": dict(zip((test_label((w,)) for w in weights), moments.z_mean.tolist())),
        "ph_hazard_ratio": ph_ratio,
        "schoenfeld_power_at_ph_ratio": at_ph,
        "schoenfeld_power_at_ahr": at_ahr,
        "schoenfeld_misleads": bool(abs(at_ph - power) > MISLEADS),
    }
    if ph_ratio < 1.0:
        block["schoenfeld_events_at_ph_ratio"] = schoenfeld_events(
            ph_ratio, alpha=alpha, power=config.design.power, sided=sided, allocation=allocation
        )
    # One analysis at the final events, each figure alike: a group-sequential design's own power is `power`.
    block["note"] = (
        f"at one analysis of {events[-1]:g} events, Schoenfeld (proportional hazards at HR {ph_ratio:g}) gives "
        f"power {at_ph:.3f}; under the configured hazards the {block['test']} test has {power:.3f} (average "
        f"hazard ratio {ahr.ahr:.3f}; Schoenfeld at the average hazard ratio: {at_ahr:.3f})"
        + ("; the proportional-hazards answer misleads" if block["schoenfeld_misleads"] else "")
        + (" (the group-sequential design's power with these looks is the analytic power)" if len(events) > 1
           else "")
    )
    out = {"nph": block, "analysis_times_at_n_total": times, "note": block["note"]}
    if len(events) == 1:
        out["power"] = power
    else:
        out.update(sequential(plan, m, times, configured[0]), power_fixed_design=power)
    out.update(sizing)
    return out


def sequential(plan, m: analytic_nph.NphModel, times: list, weights) -> dict:
    """Group-sequential power of one weighted test (log-rank included) under the model.

    The weighted score at each look's expected time has mean ``mu_k`` and
    null variance ``V_k`` (:func:`simulator.design.nph.weighted_logrank_moments`);
    taken as a process with independent increments (as the log-rank's, the
    weights at a time hardly change between cuts), the standardised
    statistics are the canonical joint normal with information fractions
    ``V_k / V_K`` and means ``mu_k / sqrt(V_k)`` (gsDesign2's approach for
    weighted log-rank tests), crossed against the plan's bounds
    (:func:`simulator.design.boundaries.sequential_probabilities`, futility
    as the simulation applies it). The variance under H1 is not used here.
    """
    moments = [analytic_nph.weighted_logrank_moments(m, t, [weights], stratified=plan.endpoint.stratified)
               for t in times]
    variance = np.array([float(mo.cov0[0, 0]) for mo in moments])
    means = np.array([float(mo.mean[0]) for mo in moments]) / np.sqrt(variance)
    bounds = plan.bounds
    probs = sequential_probabilities(
        variance / variance[-1], bounds.efficacy, bounds.futility, drift=means, symmetric=plan.sided == 2,
        inner=bounds.inner,
    )
    return {
        "power": float(np.sum(probs.reject_upper)),
        "reject_per_look": np.asarray(probs.reject_upper).tolist(),
        "futility_per_look": np.asarray(probs.futility).tolist(),
        "information_fractions": (variance / variance[-1]).tolist(),
    }


def _events_for_design_power(plan, config: Config, m: analytic_nph.NphModel) -> dict:
    """``events`` and ``events_rounded`` for ``design.power`` under the model (what ``size`` starts from), if any."""
    configured = plan.endpoint.weights or ((0.0, 0.0),)
    needed = events_for_power(m, configured, plan.alpha, plan.sided, config.design.power, plan.endpoint.stratified)
    if needed is None:
        return {}
    planned = plan.planned_bounds.sequential
    inflation = 1.0 if planned is None else float(planned.inflation_factor)
    needed *= inflation
    if needed > m.n_total:
        return {}
    note = (
        f"events at which the {test_label(plan.endpoint.weights)} test reaches design.power = {config.design.power} "
        f"under the configured hazards with trial.n_total = {config.trial.n_total} (fixed design"
        + (f", times the inflation factor {inflation:.4f} of the proportional-hazards design)" if planned is not None
           else ")")
    )
    return {"events": needed, "events_rounded": int(math.ceil(needed - 1e-9)), "events_note": note}


def events_for_power(m: analytic_nph.NphModel, weights, alpha: float, sided: int, target: float,
                     stratified: bool = False) -> float | None:
    """The (fractional) events at which the test ``weights`` reaches ``target`` power, or None if it never does.

    Power at ``d`` events is the weighted log-rank power at the time ``d``
    events are expected (:func:`simulator.design.nph.time_for_events`); the
    search is over ``d`` up to 99.9 % of the events the subjects can have.
    """
    available = sum(analytic_nph.expected_events(m, 1e4))
    weights = tuple(tuple(w) for w in weights)

    def power(d: float) -> float:
        moments = analytic_nph.weighted_logrank_moments(m, analytic_nph.time_for_events(m, d), weights, stratified)
        if len(weights) > 1:
            return analytic_nph.maxcombo_power(moments, alpha, sided)[0]
        return analytic_nph.weighted_power(moments, alpha, sided)

    high = 0.999 * available
    if high < 2.0 or power(high) < target:
        return None
    low = 1.0
    for _ in range(40):  # bisection: the power is not guaranteed monotone in d near d = 0, so stay bracketed
        mid = 0.5 * (low + high)
        if power(mid) >= target:
            high = mid
        else:
            low = mid
        if high - low < 0.01:
            break
    return high


def curves(endpoint: SurvivalEndpoint, times) -> dict:
    """The configured survival and hazard per arm and the hazard ratio at ``times`` from entry (for figures)."""
    control = endpoint.truth.control
    nonprop = endpoint.nph
    if nonprop is not None and nonprop.piecewise:
        ratio = (nonprop.hazard_ratio_times, nonprop.hazard_ratios)
    else:
        ratio = ((0.0,), (float(endpoint.truth.hazard_ratio),))
    shape = analytic_nph.NphModel(control=(control.times, control.hazards), ratio=ratio, accrual=((0.0, 1.0), (1.0,)),
                                  n_total=1.0, cured=(0.0, 0.0) if nonprop is None else nonprop.cured)
    t = np.asarray(times, dtype=float)
    h_c, s_c, h_e, s_e = shape.arms(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_t = np.where(h_c > 0, h_e / h_c, np.nan)
    return {"times": t, "survival": (s_c, s_e), "hazard": (h_c, h_e), "hazard_ratio": ratio_t}


def reference_horizon(endpoint: SurvivalEndpoint) -> float:
    """A time axis for the curves: three control medians of the uncured, at least the accrual."""
    control = endpoint.truth.control
    median = control_median(control.times, control.hazards)
    accrual_end = endpoint.accrual.edges[-1] if endpoint.accrual.edges else 0.0
    return float(max(3.0 * median if math.isfinite(median) else 0.0, accrual_end, 1.0))
