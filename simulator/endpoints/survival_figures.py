"""The survival kind's figures: the hazard-ratio prior, true effects, Kaplan-Meier bands and analysis times.

Drawn with the helpers of :mod:`simulator.figures` (matplotlib, lazily).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from simulator.endpoints.survival_nph import curves as nph_curves
from simulator.endpoints.survival_nph import reference_horizon
from simulator.figures import (
    COLOURS,
    FigureSpec,
    integer_locator,
    log_ratio_axis,
    new_figure,
    scenario_label,
    slug,
    true_effect_figure,
)


def figures(name: str, report: dict, scenarios: list) -> list[FigureSpec]:
    """The survival endpoint ``name``'s figures (``scenarios``: the result's validated scenarios)."""
    survival = _survival_specs(name, report, scenarios)
    return [
        FigureSpec(
            f"plot-prior-{slug(name)}", f"Prior of the hazard ratio: {name}",
            "The design prior of the hazard ratio (log-normal), its favourable part (HR below 1, or below the "
            "non-inferiority margin) shaded: the prior "
            "P(benefit), the ceiling of assurance; the dashed line is the truth used for power.",
            _prior_figure, (report, name, scenarios),
        ),
        FigureSpec(
            f"plot-true-effect-{slug(name)}", f"True effect in successful and failed trials: {name}",
            "The true effects drawn from the prior in the assurance simulation, split by whether the endpoint "
            "succeeded in that trial (green; its own success, not the trial's under the success rule) or not (grey); "
            "the green area is the endpoint's assurance, less the share of trials whose true hazard ratio lies off "
            "the axis (0.1 to 10) where a panel's title gives one.",
            # With non-inferiority the line that matters is the margin (a review: only HR 1 was marked).
            partial(true_effect_figure, null=1.0, log_axis=True,
                    boundary=_margin(scenarios, name)), (report, name),
        ),
        *survival,
        FigureSpec(
            f"plot-nph-{slug(name)}", f"Non-proportional hazards: {name}",
            "The configured model per arm (the first scenario with non-proportional hazards or cure fractions): "
            "survival (left), hazard (middle) and the hazard ratio experimental / control over time from entry "
            "(right; with cure fractions the ratio of the population hazards drifts towards the cured fractions' "
            "ratio of long-term survivors); the analytic average hazard ratio at the final analysis dashed."
            + (" With strata the curves are those of the first stratum (every factor at its first level); the "
               "average hazard ratio is that of all strata (docs/strata.md)."
               if any(s.config.strata for s in scenarios) else ""),
            _nph_figure, (report, name, scenarios),
        ),
    ]


def _nph_figure(report: dict, name: str, scenarios: list):
    index = next((i for i, s in enumerate(scenarios) if getattr(s.config.endpoint(name), "nph", None) is not None),
                 None)
    if index is None:
        return None
    endpoint = scenarios[index].config.endpoint(name)
    times = np.linspace(0.0, reference_horizon(endpoint), 301)
    model = nph_curves(endpoint, times)
    figure = new_figure(12.0, 3.6)
    ax_s, ax_h, ax_r = figure.subplots(1, 3)
    for arm, label, colour in ((0, "control", "C0"), (1, "experimental", "C1")):
        ax_s.plot(times, model["survival"][arm], color=colour, label=label)
        ax_h.plot(times, model["hazard"][arm], color=colour, label=label)
    ax_s.set_ylim(0.0, 1.02)
    ax_s.set_xlabel("months from entry")
    ax_s.set_ylabel("survival")
    ax_s.legend(loc="best")
    ax_h.set_xlabel("months from entry")
    ax_h.set_ylabel("hazard per month")
    ax_r.plot(times, model["hazard_ratio"], color="black")
    ax_r.axhline(1.0, color="grey", linewidth=0.8)
    block = report["scenarios"][index]["endpoints"][name]
    ahr = ((block.get("analytic") or {}).get("nph") or {}).get("average_hazard_ratio")
    if ahr is not None:
        ax_r.axhline(ahr, color="C3", linestyle="--", linewidth=1, label=f"average HR {ahr:.3f}")
        ax_r.legend(loc="best")
    ax_r.set_xlabel("months from entry")
    ax_r.set_ylabel("hazard ratio (experimental / control)")
    ax_s.set_title(f"{name}: {scenario_label(report['scenarios'][index])}" if len(scenarios) > 1 else name)
    return figure


def _margin(scenarios: list, name: str) -> float | None:
    """The non-inferiority hazard-ratio margin of endpoint ``name`` (the H0 boundary), ``None`` without one."""
    margin = scenarios[0].config.endpoint(name).margin if scenarios else 0.0
    return float(margin) if margin > 0 else None


def _prior_figure(report: dict, name: str, scenarios: list):
    index = next((i for i, s in enumerate(scenarios) if s.config.endpoint(name).prior is not None), None)
    if index is None:
        return None
    endpoint = scenarios[index].config.endpoint(name)
    return _survival_prior_figure(report, name, endpoint, report["scenarios"][index]["endpoints"][name], index)


def _survival_prior_figure(report, name, endpoint, e, index):
    prior = endpoint.prior.hazard_ratio
    figure = new_figure(6.0, 3.3)
    ax = figure.subplots()
    hr = np.exp(np.linspace(prior.log_mean - 4 * prior.log_sd, prior.log_mean + 4 * prior.log_sd, 801))
    # The density of log HR, drawn on the log axis: area on the drawn axis is probability (a review: the density
    # of HR itself on a log axis made the shaded area look like 0.991 for a P(HR < 1) of 0.984).
    density = np.exp(-0.5 * ((np.log(hr) - prior.log_mean) / prior.log_sd) ** 2) / (prior.log_sd * math.sqrt(2 * math.pi))
    ax.plot(hr, density, color="black", label="prior density of log HR")
    null = endpoint.null_hazard_ratio  # benefit: below the margin with non-inferiority (prior_p_benefit's)
    mask = hr < null
    ax.fill_between(hr[mask], density[mask], color=COLOURS["success"], alpha=0.25,
                    label=f"HR < {null:g}: prior P(benefit) = {e.get('prior_p_benefit', float('nan')):.3f}")
    truth = getattr(endpoint.truth, "hazard_ratio", None)
    if truth is not None:
        ax.axvline(truth, color="black", linestyle="--", linewidth=1, label=f"truth {truth:g}")
    log_ratio_axis(ax)
    ax.set_xlabel("true hazard ratio (experimental / control)")
    ax.set_ylabel("density per unit of log HR")
    ax.set_title(f"{name}: prior of the effect")
    ax.legend(loc="upper right")
    return figure


def _survival_specs(name: str, report: dict, scenarios: list) -> list[FigureSpec]:
    """``plot-survival-NAME`` for the first scenario, and ``plot-survival-NAME.sK`` for the first scenario K
    of every other survival model: the endpoint's settings and the design (sizes apart: a list of
    ``trial.n_total`` alone draws one figure, a sweep over the hazard ratio one per value)."""
    caption = (
        "Left: the median and the pointwise 2.5 % to 97.5 % range of the Kaplan-Meier curves per arm of trials "
        "simulated under the truth, read at the final analysis (when recorded), against the configured survival "
        "curves (dashed). Right: when the analyses happen: the calendar time of each look across the simulated "
        "trials that reached it (or the mean times, simulated and analytic)."
        + (" With strata the Kaplan-Meier side sample is not simulated (docs/strata.md), and the configured "
           "curves are those of the first stratum (every factor at its first level)."
           if any(s.config.strata for s in scenarios) else "")
    )
    configs = [s.config for s in scenarios]
    firsts: dict = {}
    for i, config in enumerate(configs):
        endpoint = next((e for e in config.endpoints if e.name == name), None)
        firsts.setdefault(repr((endpoint, config.design, config.strata)), i)
    specs = [FigureSpec(f"plot-survival-{slug(name)}", f"Survival: {name}", caption, _survival_figure,
                        (report, name, configs))]
    for i in list(firsts.values())[1:]:
        specs.append(FigureSpec(f"plot-survival-{slug(name)}.s{i}", f"Survival: {name}, {scenario_label(_scenario_entry(report, i))}",
                                caption, _survival_figure, (report, name, configs, i)))
    return specs


def _scenario_entry(report: dict, i: int) -> dict:
    """Scenario ``i`` of ``report`` (an empty one when the report has fewer, as in a caption-only call)."""
    listed = report.get("scenarios") or []
    return listed[i] if i < len(listed) else {"params": {}, "n_total": None}


def _survival_figure(report: dict, name: str, configs: list, first: int | None = None):
    """The Kaplan-Meier bands and analysis times of scenario ``first`` (default: the first survival one)."""
    scenarios = [(i, s) for i, s in enumerate(report["scenarios"]) if (s["endpoints"].get(name) or {}).get("kind") == "survival"]
    several = len(scenarios) > 1  # then the panels say which scenario they show
    if first is not None:
        scenarios = [(i, s) for i, s in scenarios if i == first]
    if not scenarios:
        return None
    index, scenario = scenarios[0]
    e = scenario["endpoints"][name]
    bands = e.get("km_bands") if isinstance(e.get("km_bands"), dict) else None
    config = configs[index]
    endpoint = None if config is None else next((x for x in config.endpoints if x.name == name), None)
    has_times = any(isinstance(s["endpoints"][name].get("expected_look_times"), list) for _, s in scenarios)
    histogram = e.get("analysis_time_histogram") if isinstance(e.get("analysis_time_histogram"), dict) else None
    if bands is None and endpoint is None and not has_times:
        return None
    events_hist = e.get("look_events_histogram") if isinstance(e.get("look_events_histogram"), dict) else None
    if events_hist is not None and e.get("look_times") is None and e.get("max_duration") is None:
        events_hist = None  # event-driven looks without a cap: the events are the targets
    if events_hist is None:
        figure = new_figure(11.0, 3.4)
        ax_km, ax_times = figure.subplots(1, 2)
    else:
        figure = new_figure(16.0, 3.4)
        ax_km, ax_times, ax_events = figure.subplots(1, 3)
        _events_panel(ax_events, events_hist, name, e.get("cap_reached") if e.get("max_duration") is not None else None)
    horizon = None
    if bands is not None and bands.get("times"):
        times = np.asarray(bands["times"], dtype=float)
        horizon = float(times[-1])
        for role in ("control", "experimental"):
            band = bands.get(role)
            if not isinstance(band, dict):
                continue
            if band.get("lower") is not None and band.get("upper") is not None:
                ax_km.fill_between(times, band["lower"], band["upper"], step="post", color=COLOURS[role], alpha=0.25,
                                   label=f"{role}: simulated KM {bands.get('level', 0.95):.0%} band")
            if band.get("median") is not None:
                ax_km.step(times, band["median"], where="post", color=COLOURS[role], linewidth=1,
                           label=f"{role}: median KM")
    if endpoint is not None:
        if horizon is None:
            looks = (e.get("analytic") or {}).get("analysis_times_at_n_total") or e.get("expected_look_times") or []
            looks = [t for t in looks if isinstance(t, (int, float))]
            horizon = max(looks) if looks else 60.0
        grid = np.linspace(0.0, horizon, 301)
        curves = configured_survival(endpoint, grid) or {}
        for k, (role, curve) in enumerate(curves.items()):
            if horizon is not None and bands is not None:
                # Over the bands, in black so that they show on the median KM.
                ax_km.plot(grid, curve, color="black", linestyle="--", linewidth=0.9, zorder=3,
                           label="configured S(t) per arm" if k == 0 else None)
            else:
                ax_km.plot(grid, curve, color=COLOURS[role], linestyle="--", linewidth=1.2, label=f"{role}: configured")
    ax_km.set_ylim(0, 1)
    ax_km.set_xlabel("months since randomisation")
    ax_km.set_ylabel("survival probability")
    title = f"{name}: survival per arm"
    if bands is not None and bands.get("replicates"):
        title += f" ({bands['replicates']} simulated trials, {bands.get('analysis', 'final')} analysis)"
    if several:  # one scenario's curves and times: say which
        title += f"\n{scenario_label(scenario)}"
    ax_km.set_title(title)
    if ax_km.has_data():
        ax_km.legend(loc="lower left", fontsize="small")

    if histogram is not None and histogram.get("edges"):
        edges = np.asarray(histogram["edges"], dtype=float)
        per_look = histogram.get("counts") or []
        per_look = per_look if per_look and isinstance(per_look[0], list) else [per_look]
        used = np.zeros(edges.size - 1, dtype=bool)
        for k, counts in enumerate(per_look):
            counts = np.asarray(counts, dtype=float)
            used |= counts > 0
            overflow = (histogram.get("overflow") or [])[k:k + 1]
            label = f"look {k + 1}" + (f" ({overflow[0]} past {edges[-1]:g})" if overflow and overflow[0] else "")
            ax_times.stairs(counts, edges, fill=True, alpha=0.35, color=f"C{k}", label=label)
            ax_times.stairs(counts, edges, linewidth=1, color=f"C{k}")
        # The analytic time of each look (the expected events reached, at the configured subjects), as the caption says.
        analytic = (e.get("analytic") or {}).get("analysis_times_at_n_total")
        for k, t in enumerate(analytic if isinstance(analytic, list) else []):
            if isinstance(t, (int, float)) and k < len(per_look):
                ax_times.axvline(t, color=f"C{k}", linestyle=":", linewidth=1.2,
                                 label=_analytic_time_label(e.get("analytic"), "analytic time") if k == 0 else None)
        if used.any():  # the fixed bins are wide; show the occupied range
            first, last = np.flatnonzero(used)[[0, -1]]
            pad = 2 * (edges[1] - edges[0])
            ax_times.set_xlim(max(edges[0], edges[first] - pad), min(edges[-1], edges[last + 1] + pad))
        ax_times.set_xlabel("calendar time of the analysis (months from the start of accrual)")
        ax_times.set_ylabel("simulated trials")
    elif has_times:
        for i, s in scenarios:
            block = s["endpoints"][name]
            times = block.get("expected_look_times") or []
            ys = [t if isinstance(t, (int, float)) else np.nan for t in times]
            ax_times.plot(np.arange(1, len(ys) + 1), ys, marker="o", label=f"simulated mean, {scenario_label(s)}")
            analytic = (block.get("analytic") or {}).get("analysis_times_at_n_total")
            if isinstance(analytic, list):
                analytic = [t if isinstance(t, (int, float)) else np.nan for t in analytic]  # null: not reached
                ax_times.plot(np.arange(1, len(analytic) + 1), analytic, marker="x", linestyle=":", color="black",
                              label=_analytic_time_label(block.get("analytic"), "analytic")
                              if i == scenarios[0][0] else None)
        ax_times.set_xlabel("look")
        ax_times.xaxis.set_major_locator(integer_locator())
        ax_times.set_ylabel("calendar time of the analysis (months)")
    if ax_times.has_data():
        if e.get("max_duration") is not None:
            ax_times.axvline(float(e["max_duration"]), color="black", linestyle="--", linewidth=1,
                             label=f"cap {float(e['max_duration']):g}")
        ax_times.set_title(f"{name}: analysis times" + (f"\n{scenario_label(scenario)}" if several and histogram
                                                       is not None else ""))
        ax_times.legend(loc="best")  # the histograms fill different corners from design to design
    else:
        ax_times.set_visible(False)
    return figure


def _analytic_time_label(analytic, head: str) -> str:
    """The legend of the analytic look times: calendar looks (``spending_fractions``) are at their own times."""
    calendar = isinstance(analytic, dict) and "spending_fractions" in analytic
    return f"{head} (the look's time)" if calendar else f"{head} (expected events)"


def _events_panel(ax, histogram: dict, name: str, cap_reached) -> None:
    """Per look, a histogram of the events at that look among the trials that reached it."""
    edges = np.asarray(histogram.get("edges") or [], dtype=float)
    per_look = histogram.get("counts") or []
    used = np.zeros(max(edges.size - 1, 0), dtype=bool)
    for k, counts in enumerate(per_look):
        counts = np.asarray(counts, dtype=float)
        if counts.size != used.size or counts.sum() == 0:
            continue
        used |= counts > 0
        ax.stairs(counts, edges, fill=True, alpha=0.35, color=f"C{k}", label=f"look {k + 1}")
        ax.stairs(counts, edges, linewidth=1, color=f"C{k}")
    if used.any():
        first, last = np.flatnonzero(used)[[0, -1]]
        pad = 2 * (edges[1] - edges[0])
        ax.set_xlim(max(edges[0], edges[first] - pad), min(edges[-1], edges[last + 1] + pad))
    ax.set_xlabel("events at the analysis")
    ax.set_ylabel("simulated trials")
    title = f"{name}: events per look"
    if isinstance(cap_reached, (int, float)):
        title += f" (cap ended {cap_reached:.1%})"
    ax.set_title(title)
    if ax.has_data():
        ax.legend(loc="best")


def survival_curve(times: np.ndarray, piece_starts, hazards, multiplier: float = 1.0) -> np.ndarray:
    """S(t) of piecewise-constant hazards (``piece_starts[0] = 0``), times a hazard multiplier."""
    starts = np.asarray(piece_starts, dtype=float)
    rates = np.asarray(hazards, dtype=float) * multiplier
    ends = np.append(starts[1:], np.inf)
    t = np.asarray(times, dtype=float)[:, None]
    exposure = np.clip(np.minimum(t, ends) - starts, 0.0, None)
    return np.exp(-(exposure * rates).sum(axis=1))


def configured_survival(endpoint, times) -> dict | None:
    """The configured (truth) survival curves of a survival endpoint, per arm."""
    truth = getattr(endpoint, "truth", None)
    control = getattr(truth, "control", None)
    if control is None or not hasattr(control, "hazards"):
        return None
    hr = getattr(truth, "hazard_ratio", None)
    if getattr(endpoint, "nph", None) is not None:
        survival = nph_curves(endpoint, times)["survival"]
        return {"control": survival[0], "experimental": survival[1]}
    curves = {"control": survival_curve(times, control.times, control.hazards)}
    if hr is not None:
        curves["experimental"] = survival_curve(times, control.times, control.hazards, hr)
    return curves
