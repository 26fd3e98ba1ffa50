"""The figures of report.html, as inline SVG text (matplotlib, optional).

matplotlib is imported lazily, only here, and used without pyplot: each
figure is a :class:`matplotlib.figure.Figure` on an Agg canvas, so building a
report never changes the backend or the global state of the caller's
matplotlib. Every figure is drawn when its data exist and silently left out
otherwise (a survival figure for a binary-only config, say).

The SVG is byte-for-byte reproducible: the hash salt that names clip paths
is fixed per figure, the date metadata is dropped and text is written as
text (``svg.fonttype = "none"``) rather than as glyph outlines with ids.
"""

from __future__ import annotations

import sys

import numpy as np

from simulator.endpoints import kind_of
from simulator.estimate import pm_text
from simulator.figures import (
    COLOURS,
    Failure,
    Plot,
    draw_all,
    figure_legend,
    matplotlib_available,
    new_figure,
)
from simulator.report import derived
from simulator.report.tables import n_looks, own_n_sims, scenario_label

__all__ = ["Plot", "build_plots", "matplotlib_available"]

#: Reference lines (targets, ceilings) go under the data lines (matplotlib's default zorder 2), above the grid.
REFERENCE_ZORDER = 1.8

# ------------------------------------------------------------------ (a) size
def _name_errorbar(drawn, key: str) -> None:
    """Name an errorbar's parts in the SVG: ``{key}-line``, ``{key}-caps``, ``{key}-bars``."""
    line, caps, bars = drawn.lines
    for artist, part in ((line, "line"), *((c, "caps") for c in caps), *((b, "bars") for b in bars)):
        if artist is not None:
            artist.set_gid(f"{key}-{part}")


def _duration_endpoints(report: dict) -> list[str]:
    """The endpoints whose expected duration ``plot-size`` draws against n_total (survival endpoints)."""
    names = list(report["scenarios"][0].get("endpoints", {}))
    return [name for name in names if derived.size_series(report, "expected_duration", name)]


def _size_figure(report: dict):
    design_power = (report["meta"].get("config", {}).get("design") or {}).get("power", 0.8)
    names = list(report["scenarios"][0].get("endpoints", {}))
    panels = [(None, "trial success")] + [(name, f"endpoint {name}") for name in names]
    panels = [(e, t) for e, t in panels if derived.size_series(report, "power", e) or derived.size_series(report, "assurance", e)]
    if not panels:
        return None
    # Survival endpoints: the expected duration against n_total too (with the events held fixed
    # across sizes, more patients shorten the trial rather than raise its power).
    durations = _duration_endpoints(report)
    figure = new_figure(3.4 * (len(panels) + len(durations)), 3.2)
    every = figure.subplots(1, len(panels) + len(durations), squeeze=False)[0]
    axes = every[: len(panels)]
    for ax, name in zip(every[len(panels):], durations):
        for series in derived.size_series(report, "expected_duration", name):
            ax.errorbar(series.n_total, series.estimate, yerr=2 * np.asarray(series.mcse), marker="D",
                        capsize=3, markersize=4, color=None if series.label else "black",  # a sweep: one colour each
                        label=f"duration ({series.label})" if series.label else "expected duration (simulated mean)")
        ax.set_title(f"endpoint {name}: expected duration")
        ax.set_xlabel("n_total (patients randomised)")
        ax.set_ylabel("months to the stop (±2 MCSE)")
    for ax, (endpoint, title) in zip(axes, panels):
        # Reference lines first and under the data (zorder below the data's 2): a power equal to the
        # target keeps its line, error bars and caps visible. The gids name them in the SVG (the browser
        # test checks the order).
        ax.axhline(design_power, color=COLOURS["target"], linestyle="-.", linewidth=1, zorder=REFERENCE_ZORDER,
                   gid="target-line", label=f"target {design_power:g}")
        if endpoint is not None:
            blocks = [s["endpoints"][endpoint] for s in report["scenarios"]]
            ppb = [b.get("prior_p_benefit") for b in blocks if b.get("prior_p_benefit") is not None]
            bounds = not any("prior_p_benefit_note" in b for b in blocks)
            if ppb:
                ax.axhline(ppb[0], color=COLOURS["assurance"], linestyle=":", linewidth=1, zorder=REFERENCE_ZORDER,
                           label="prior P(benefit)" + (": assurance ceiling" if bounds else " (no ceiling here)"))
        for key, marker, style in (("power", "o", "-"), ("assurance", "s", "--")):
            for series in derived.size_series(report, key, endpoint):
                label = key + (f" ({series.label})" if series.label else "")
                drawn = ax.errorbar(series.n_total, series.estimate, yerr=2 * np.asarray(series.mcse), marker=marker,
                                    linestyle=style, capsize=3, markersize=4, label=label,
                                    color=COLOURS[key] if not series.label else None)
                _name_errorbar(drawn, key)
        ax.set_title(title)
        ax.set_xlabel("n_total (patients randomised)")
        ax.set_ylim(0, 1)
        if ax is not axes[0]:
            ax.tick_params(labelleft=False)
    axes[0].set_ylabel("probability of success (±2 MCSE)")
    # One legend under the panels (they share their entries): a legend in each panel covered its curves.
    figure_legend(figure, every)
    return figure


def _size_search_figure(size: dict):
    series = derived.size_search_series(size)
    if series is None:
        return None
    figure = new_figure(5.5, 3.4)
    ax = figure.subplots()
    level = size.get("level")
    if isinstance(level, (int, float)):
        ax.axhline(level, color=COLOURS["target"], linestyle="-.", linewidth=1, zorder=REFERENCE_ZORDER,
                   gid="target-line", label=f"target {level:g}")
    drawn = ax.errorbar(series.n_total, series.estimate, yerr=2 * np.asarray(series.mcse), marker="o", capsize=3,
                        markersize=4, linestyle="-", color=COLOURS["power"], label=series.label)
    _name_errorbar(drawn, size.get("target", "power"))
    interval = size.get("interval")
    if isinstance(interval, (list, tuple)) and len(interval) == 2 and isinstance(interval[0], (int, float)):
        upper = interval[1] if isinstance(interval[1], (int, float)) else max(series.n_total)  # open: not yet clear
        ax.axvspan(interval[0], upper, color=COLOURS["target"], alpha=0.12, label="sizes consistent with target")
    axis = size.get("axis") if size.get("axis") in ("n_total", "events") else "n_total"  # events: survival
    chosen = size.get(axis)
    if isinstance(chosen, (int, float)):
        ax.axvline(chosen, color="black", linewidth=1, label=f"chosen {axis} = {chosen}")
    analytic = size.get(f"analytic_{axis}")
    if isinstance(analytic, (int, float)):
        ax.axvline(analytic, color="black", linestyle=":", linewidth=1, label=f"analytic {analytic:.0f}")
    ax.set_xlabel("events at the final look" if axis == "events" else "n_total")
    ax.set_ylabel(f"{size.get('target', 'power')} (±2 MCSE)")
    low = min(min(np.subtract(series.estimate, 2 * np.asarray(series.mcse))), level if isinstance(level, (int, float)) else 1.0)
    high = max(max(np.add(series.estimate, 2 * np.asarray(series.mcse))), level if isinstance(level, (int, float)) else 0.0)
    pad = 0.1 * max(high - low, 0.02)
    ax.set_ylim(max(0.0, low - pad), min(1.0, high + pad))
    ax.legend(loc="lower right")
    return figure


# ------------------------------------------------------- (b), (c) sequential
def _sequential_figure(report: dict, i: int):
    scenario = report["scenarios"][i]
    endpoints = {n: e for n, e in scenario["endpoints"].items() if n_looks(e) > 1}
    if not endpoints:
        return None
    figure = new_figure(11.0, 3.0 * len(endpoints))
    grid = figure.subplots(len(endpoints), 3, squeeze=False)
    for row, (name, e) in zip(grid, endpoints.items()):
        # Read at a survival endpoint's looks: at the mean fraction of the trials that tested each look (nan: none).
        fractions = e.get("tested_fractions") or e.get("realised_fractions") or e.get("planned_fractions")
        fractions = np.array([np.nan if f is None else f for f in fractions], dtype=float)
        looks = np.arange(1, len(fractions) + 1)
        sizes = e.get("look_sizes") or e.get("look_events")
        ticks = [f"{k}\n" + ("-" if np.isnan(f) else f"{f:.2f}")
                 + (f"\n({sizes[k - 1]})" if sizes and sizes[k - 1] is not None else "") for k, f in zip(looks, fractions)]

        points: dict = {}  # per panel: the (fraction, value) of each bound drawn, labelled at the end

        def bound_line(ax, values, key, label, marker, fractions=fractions, points=points):
            y = np.array([np.nan if v is None else v for v in values], dtype=float)
            if np.any(np.isfinite(y)):
                ax.plot(fractions, y, marker=marker, color=COLOURS[key], label=label)
                points.setdefault(ax, []).extend((x, v) for x, v in zip(fractions, y) if np.isfinite(x) and np.isfinite(v))

        ax = row[0]
        bound_line(ax, e.get("efficacy_bounds") or [], "efficacy", "efficacy (reject H0 above)", "o")
        if e.get("sided") == 2:
            # Two-sided: rejection in the unfavourable direction at -b_k (marked as on the effect scale).
            bound_line(ax, [None if b is None else -b for b in e.get("efficacy_bounds") or []], "efficacy",
                       "efficacy, unfavourable side", "s")
        if e.get("futility_region") == "inner":
            # Two-sided inner wedge: the trial stops for futility between -a_k and a_k.
            bound_line(ax, e.get("futility_bounds") or [], "futility", "futility wedge (stop when |z| <= a_k)", "v")
            bound_line(ax, e.get("futility_floor") or [], "futility", "_futility wedge, lower side", "^")
        else:
            bound_line(ax, e.get("futility_bounds") or [], "futility", "futility (stop at or below)", "v")
        ax.set_title(f"{name}: bounds, z scale")
        ax.set_ylabel("z")

        ax = row[1]
        # A weighted survival test has no effect-scale bound (its effects are all null): no panel to draw.
        if any(v is not None for v in (e.get("critical_effect") or []) + (e.get("futility_effect") or [])):
            bound_line(ax, e.get("critical_effect") or [], "efficacy", "efficacy: observed effect to reject", "o")
            bound_line(ax, e.get("futility_effect") or [], "futility", "futility: observed effect to stop", "v")
            # Two-sided: the unfavourable rejection and the inner wedge's other end, in the same colours.
            bound_line(ax, e.get("critical_effect_unfavourable") or [], "efficacy",
                       "efficacy, unfavourable side", "s")
            bound_line(ax, e.get("futility_effect_unfavourable") or [], "futility", "_futility wedge, other end", "^")
            scale = e.get("effect_scale", "effect")
            null = 1.0 if scale == "hazard ratio" else 0.0
            ax.axhline(null, color="black", linewidth=0.8)
            margin = e.get("margin") or 0.0
            if margin and scale != "hazard ratio":
                boundary = margin if e.get("better") == "lower" else -margin
                ax.axhline(boundary, color="black", linestyle=":", linewidth=0.8, label="H0 boundary (margin)")
            if e.get("effect_note"):
                # A bound no observed rate reaches: the value sits at the end of the feasible range.
                # Said in the legend (an entry without a line), where it cannot cover a point.
                ax.plot([], [], linestyle="none", label=f"{name}: effects clipped to the feasible range (effect_note)")
            ax.set_title(f"{name}: bounds, effect scale")
            ax.set_ylabel(scale)
        else:
            ax.set_visible(False)

        ax = row[2]
        n_sims = own_n_sims(report, scenario)
        # Futility bars (and their legend entry) only for a design with a futility rule.
        futility = any(v is not None for v in e.get("futility_bounds") or []) or any(e.get("futility_per_look") or [])
        bars = [("reject_per_look", "reject H0")] + ([("futility_per_look", "stop for futility")] if futility else [])
        if e.get("reject_unfavourable_per_look") is not None:
            # Two-sided: the third way a trial stops (a code review: 43 % of a design's trials stopped so, unseen).
            bars.append(("reject_unfavourable_per_look", "reject H0, unfavourable direction"))
        width = 0.35 if len(bars) <= 2 else 0.7 / len(bars)
        for k, (key, label) in enumerate(bars):
            values = np.asarray(e.get(key) or [0.0] * len(looks), dtype=float)
            mcse = np.asarray(e.get(f"{key}_mcse") or [0.0] * len(looks), dtype=float)
            colour = {"reject_per_look": COLOURS["efficacy"], "futility_per_look": COLOURS["futility"]}.get(
                key, COLOURS["unfavourable"])
            offset = (k - (len(bars) - 1) / 2) * width
            ax.bar(looks + offset, values, width, yerr=2 * mcse, capsize=2, color=colour, label=label)
        ax.set_xticks(looks, ticks)
        # The number of trials in the title: on the (vertical) axis label it did not fit the panel's height.
        under = e.get("per_look_under", "truth")
        ax.set_title(f"{name}: stopping per look\n(under {under}" + ("" if n_sims is None else f", {n_sims} trials") + ")")
        ax.set_ylim(0, 1)
        if e.get("expected_n") is not None:
            # As the tables print them: a small MCSE gets the digits it needs, never "± 0.0".
            text = f"E[n] = {pm_text(e['expected_n'], e.get('expected_n_mcse', 0.0), 1)} of {scenario['n_total']}"
            if e.get("expected_events") is not None:
                text += f"\nE[events] = {pm_text(e['expected_events'], e.get('expected_events_mcse', 0.0), 1)}"
            ax.text(0.02, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)
            ax.set_ylim(0, 1.3)  # room above the bars for the text
            ax.set_yticks(np.linspace(0.0, 1.0, 6))
        ax.set_ylabel("probability (±2 MCSE)")
        for ax in row[:2]:
            ax.set_xlabel("information fraction (realised)")
            ax.set_xlim(0, max(1.1, float(np.nanmax(fractions)) + 0.1))
            _value_labels(ax, points.get(ax, []))
        unit = " (patients)" if e.get("look_sizes") else (" (events)" if e.get("look_events") else "")
        row[2].set_xlabel(f"look, information fraction{unit}")
    figure_legend(figure, grid.ravel())
    return figure


def _interim_figure(report: dict, i: int):
    """Distributions of the predictive probability and the observed-effect conditional power per interim."""
    scenario = report["scenarios"][i]
    endpoints = {n: e for n, e in scenario["endpoints"].items() if isinstance(e.get("interim"), dict)}
    if not endpoints:
        return None
    rules = report["meta"]["config"].get("interim", {}).get("futility", {})
    panels = [(n, k) for n, e in endpoints.items()
              for k in range(len(next(v for key, v in e["interim"].items() if key != "thresholds_h0")
                                 ["conditional_power_observed_histogram"]))]
    figure = new_figure(max(5.0, 3.6 * len(panels)), 5.6)
    grid = figure.subplots(2, len(panels), squeeze=False)
    colours = {"power": COLOURS["power"], "assurance": COLOURS["assurance"], "type1": COLOURS["futility"]}
    names = {"power": "truth", "assurance": "prior", "type1": "H0"}
    for column, (name, k) in enumerate(panels):
        interim = endpoints[name]["interim"]
        for row, key, label in ((0, "predictive_probability", "predictive probability"),
                                (1, "conditional_power_observed", "conditional power (observed effect)")):
            ax = grid[row][column]
            for stream in ("power", "assurance", "type1"):
                block = interim.get(stream)
                if not isinstance(block, dict) or f"{key}_histogram" not in block:
                    continue  # K-stage re-estimation has no predictive probability
                counts = np.asarray(block[f"{key}_histogram"][k], dtype=float)
                if counts.sum() == 0:
                    continue
                edges = np.asarray(block["value_bins"], dtype=float)
                ax.stairs(counts / counts.sum(), edges, color=colours[stream], label=names[stream])
            on = rules.get("on")
            below = (scenario.get("params") or {}).get("interim.futility.below", rules.get("below"))
            threshold = below[k] if isinstance(below, list) and k < len(below) else below
            reads = on == "predictive_probability" if row == 0 else (
                on == "conditional_power" and rules.get("effect", "observed") == "observed")
            if reads and isinstance(threshold, (int, float)):
                ax.axvline(threshold, color=COLOURS["target"], linestyle="--", zorder=REFERENCE_ZORDER,
                           label="futility threshold")
            ax.set_xlim(0.0, 1.0)
            ax.set_xlabel(label)
            ax.set_ylabel("share of trials")
            ax.set_title(f"{name}, interim {k + 1}")
    figure_legend(figure, [ax for row in grid for ax in row])
    return figure


def _value_labels(ax, points) -> None:
    """Write each bound's value at its point, inside the panel (4 significant digits: a bound of 1.002 is not "1").

    At each look the highest value is labelled above its point and the
    others below (two close bounds do not write over each other), centred
    on the point, and the y axis gets room for the labels.
    """
    if not points:
        return
    by_look: dict = {}
    for x, v in points:
        by_look.setdefault(x, []).append(v)
    above = below = False
    for x, values in by_look.items():
        values = sorted(values)
        for k, v in enumerate(values):
            up = k == len(values) - 1
            if 0 < k < len(values) - 1:
                # A middle value of three or more (two-sided designs): beside its point, clear of the
                # labels above the highest and below the lowest; right and left in turn, so that two
                # middle values close together (futility on either side of HR 1) do not overlap.
                right = k % 2 == 1
                ax.annotate(f"{v:.4g}", (x, v), textcoords="offset points", xytext=(6 if right else -6, 0),
                            ha="left" if right else "right", va="center", fontsize=7, gid="value-label")
                continue
            ax.annotate(f"{v:.4g}", (x, v), textcoords="offset points", xytext=(0, 5 if up else -5), ha="center",
                        va="bottom" if up else "top", fontsize=7, gid="value-label")
            above, below = above or up, below or not up
    low, high = ax.get_ylim()
    pad = 0.2 * (high - low)
    ax.set_ylim(low - (pad if below else 0.0), high + (pad if above else 0.0))


# ------------------------------------------------------------------ catalogue
def build_plots(report: dict, scenarios: list, *, workers: int = 1) -> list[Plot]:
    """Every figure whose data the report holds, in reading order.

    ``report`` is the report.json content and ``scenarios`` the validated
    scenarios it came from (a result object's); each endpoint kind adds its
    own figures (``EndpointKind.figures``). ``workers`` processes draw them
    (:func:`simulator.figures.draw_all`; the figures do not depend on it).
    Requires matplotlib (check :func:`matplotlib_available` first).
    """
    specs: list[tuple] = []

    def add(plot_id, title, caption, builder, *args):
        specs.append((plot_id, title, caption, builder, args))

    # Said only of what is drawn (a review: a config without a prior read of assurance and a dotted line).
    streams = {stream for s in report["scenarios"] for stream in ("power", "assurance") if s.get(stream) is not None}
    drawn = " and ".join(name for name in ("power", "assurance") if name in streams) or "success"
    add("plot-size", f"{drawn[0].upper()}{drawn[1:]} against size",
        "Trial success and each endpoint's success against n_total, with ±2 Monte Carlo standard errors. "
        + ("Power assumes the configured truth. " if "power" in streams else "")
        + ("Assurance averages over the prior, so it cannot exceed the "
           "endpoint's prior P(benefit) (dotted) except by type I errors (unless the endpoint's "
           "prior_p_benefit_note says otherwise). " if "assurance" in streams else "")
        + "The dash-dot line is design.power."
        + (" The last panel: the expected duration of each survival endpoint (months from the first patient in to "
           "the stopping analysis) against n_total." if _duration_endpoints(report) else ""),
        _size_figure, report)
    if isinstance(report.get("size"), dict):
        add("plot-size-search", "Sizes evaluated by the search",
            "Every size the search evaluated with ±2 MCSE, the target, and the chosen size (the smallest evaluated "
            "size whose estimate reaches the target). The shaded band is the interval of sizes consistent with the "
            "target given the Monte Carlo error: from the smallest size whose estimate + 2 MCSE reaches it to the "
            "smallest at or above the answer whose estimate - 2 MCSE does (open to the right when none does yet); "
            "a wide band calls for more trials (--sims). The dotted line, when there is one, is the analytic size.",
            _size_search_figure, report["size"])
    for i, scenario in enumerate(report["scenarios"]):
        add(f"plot-sequential-s{i}", f"Group-sequential design: {scenario_label(scenario)}",
            "Left: efficacy and futility bounds on the z scale at the realised information fractions. Middle: the "
            "same bounds as the observed effect that crosses them (a reading guide; the test decides). Right: "
            "probability of stopping at each look, with ±2 MCSE, and the expected size.",
            _sequential_figure, report, i)
    for i, scenario in enumerate(report["scenarios"]):
        add(f"plot-interim-s{i}", f"Interim rules: {scenario_label(scenario)}",
            "The predictive probability of success (top) and the conditional power at the observed effect "
            "(bottom) at each interim look, as the share of the trials reaching it per bin of 0.05, under the "
            "truth, the prior and H0 (docs/adaptive.md). The dashed line is the futility rule's threshold when "
            "it reads that value.",
            _interim_figure, report, i)
    if scenarios:
        for endpoint in scenarios[0].config.endpoints:
            for spec in kind_of(endpoint).figures(endpoint.name, report, scenarios):
                add(spec.id, spec.title, spec.caption, spec.builder, *spec.args)
    plots: list[Plot] = []
    drawn = draw_all([(builder, plot_id, args) for plot_id, _, _, builder, args in specs], workers)
    for (plot_id, title, caption, _, _), svg in zip(specs, drawn):
        if isinstance(svg, Failure):
            # The page says so where the figure would be (and the tests fail on it).
            print(f"p3sim: note: report.html: plot {plot_id} could not be drawn ({svg.kind}: {svg.message})",
                  file=sys.stderr)
            plots.append(Plot(plot_id, title, f"This plot could not be drawn ({svg.kind}: {svg.message}).", ""))
        elif svg is not None:
            plots.append(Plot(plot_id, title, caption, svg))
    return plots
