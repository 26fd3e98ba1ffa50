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

import io
import math
import re
import sys
from dataclasses import dataclass

import numpy as np

from simulator.report import derived
from simulator.report.tables import n_looks, scenario_label

#: Colours (colour-blind safe, Okabe-Ito) used consistently across figures.
COLOURS = {
    "control": "#0072B2",
    "experimental": "#D55E00",
    "power": "#0072B2",
    "assurance": "#009E73",
    "success": "#009E73",
    "failure": "#BBBBBB",
    "efficacy": "#009E73",
    "futility": "#CC79A7",
    "target": "#555555",
}

RC = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


@dataclass(frozen=True)
class Plot:
    """One figure of the report: an id for the HTML anchor, a title, a caption, the SVG."""

    id: str
    title: str
    caption: str
    svg: str


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (the ``plots`` extra)."""
    try:
        import matplotlib
    except ImportError:
        return False
    return matplotlib is not None


def slug(text: str) -> str:
    """A name usable in an HTML id."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _svg(figure, salt: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"p3sim-{salt}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline SVG: drop the XML prolog, doctype and comments.
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.S)
    return text.strip()


def _draw(builder, plot_id: str, *args) -> str | None:
    import matplotlib

    with matplotlib.rc_context(RC):
        figure = builder(*args)
        if figure is None:
            return None
        return _svg(figure, plot_id)


# ------------------------------------------------------------------ (a) size
def _size_figure(report: dict):
    design_power = (report["meta"].get("config", {}).get("design") or {}).get("power", 0.8)
    names = list(report["scenarios"][0].get("endpoints", {}))
    panels = [(None, "trial success")] + [(name, f"endpoint {name}") for name in names]
    panels = [(e, t) for e, t in panels if derived.size_series(report, "power", e) or derived.size_series(report, "assurance", e)]
    if not panels:
        return None
    figure = _new_figure(3.4 * len(panels), 3.2)
    axes = figure.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (endpoint, title) in zip(axes, panels):
        for key, marker, style in (("power", "o", "-"), ("assurance", "s", "--")):
            for series in derived.size_series(report, key, endpoint):
                label = key + (f" ({series.label})" if series.label else "")
                ax.errorbar(series.n_total, series.estimate, yerr=2 * np.asarray(series.mcse), marker=marker,
                            linestyle=style, capsize=3, markersize=4, label=label,
                            color=COLOURS[key] if not series.label else None)
        if endpoint is not None:
            ppb = [s["endpoints"][endpoint].get("prior_p_benefit") for s in report["scenarios"]]
            ppb = [v for v in ppb if v is not None]
            if ppb:
                ax.axhline(ppb[0], color=COLOURS["assurance"], linestyle=":", linewidth=1,
                           label="prior P(benefit): assurance ceiling")
        ax.axhline(design_power, color=COLOURS["target"], linestyle="-.", linewidth=1, label=f"target {design_power:g}")
        ax.set_title(title)
        ax.set_xlabel("n_total (patients randomised)")
        ax.set_ylim(0, 1)
        ax.legend(loc="lower right")
    axes[0].set_ylabel("probability of success (±2 MCSE)")
    return figure


def _size_search_figure(size: dict):
    series = derived.size_search_series(size)
    if series is None:
        return None
    figure = _new_figure(5.5, 3.4)
    ax = figure.subplots()
    ax.errorbar(series.n_total, series.estimate, yerr=2 * np.asarray(series.mcse), marker="o", capsize=3,
                markersize=4, linestyle="-", color=COLOURS["power"], label=series.label)
    level = size.get("level")
    if isinstance(level, (int, float)):
        ax.axhline(level, color=COLOURS["target"], linestyle="-.", linewidth=1, label=f"target {level:g}")
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
    figure = _new_figure(11.0, 3.0 * len(endpoints))
    grid = figure.subplots(len(endpoints), 3, squeeze=False)
    for row, (name, e) in zip(grid, endpoints.items()):
        fractions = np.asarray(e.get("realised_fractions") or e.get("planned_fractions"), dtype=float)
        looks = np.arange(1, len(fractions) + 1)
        sizes = e.get("look_sizes") or e.get("look_events")
        ticks = [f"{k}\n{f:.2f}" + (f"\n({sizes[k - 1]})" if sizes else "") for k, f in zip(looks, fractions)]

        def bound_line(ax, values, key, label, marker):
            y = np.array([np.nan if v is None else v for v in values], dtype=float)
            if np.any(np.isfinite(y)):
                ax.plot(fractions, y, marker=marker, color=COLOURS[key], label=label)
                for x, v in zip(fractions, y):
                    if np.isfinite(v):
                        ax.annotate(f"{v:.3g}", (x, v), textcoords="offset points", xytext=(4, 4), fontsize=7)

        ax = row[0]
        bound_line(ax, e.get("efficacy_bounds") or [], "efficacy", "efficacy (reject H0 above)", "o")
        bound_line(ax, e.get("futility_bounds") or [], "futility", "futility (stop below)", "v")
        ax.set_title(f"{name}: bounds, z scale")
        ax.set_ylabel("z")

        ax = row[1]
        if e.get("critical_effect") is not None:
            bound_line(ax, e.get("critical_effect") or [], "efficacy", "efficacy: observed effect to reject", "o")
            bound_line(ax, e.get("futility_effect") or [], "futility", "futility: observed effect to stop", "v")
            scale = e.get("effect_scale", "effect")
            null = 1.0 if scale == "hazard ratio" else 0.0
            ax.axhline(null, color="black", linewidth=0.8)
            margin = e.get("margin") or 0.0
            if margin and scale != "hazard ratio":
                boundary = margin if e.get("better") == "lower" else -margin
                ax.axhline(boundary, color="black", linestyle=":", linewidth=0.8, label="H0 boundary (margin)")
            ax.set_title(f"{name}: bounds, effect scale")
            ax.set_ylabel(scale)
        else:
            ax.set_visible(False)

        ax = row[2]
        n_sims = report["meta"].get("n_sims")
        width = 0.35
        for offset, key, label in ((-width / 2, "reject_per_look", "reject H0"), (width / 2, "futility_per_look", "stop for futility")):
            values = np.asarray(e.get(key) or [0.0] * len(looks), dtype=float)
            mcse = np.asarray(e.get(f"{key}_mcse") or [0.0] * len(looks), dtype=float)
            colour = COLOURS["efficacy"] if key.startswith("reject") else COLOURS["futility"]
            ax.bar(looks + offset, values, width, yerr=2 * mcse, capsize=2, color=colour, label=label)
        ax.set_xticks(looks, ticks)
        title = f"{name}: stopping per look (under {e.get('per_look_under', 'truth')})"
        ax.set_title(title)
        if e.get("expected_n") is not None:
            text = f"E[n] = {e['expected_n']:.1f} ± {e.get('expected_n_mcse', 0.0):.1f} of {scenario['n_total']}"
            if e.get("expected_events") is not None:
                text += f"\nE[events] = {e['expected_events']:.1f}"
            ax.text(0.02, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability (±2 MCSE)" + ("" if n_sims is None else f", {n_sims} trials"))
        for ax in row[:2]:
            ax.set_xlabel("information fraction (realised)")
            ax.set_xlim(0, 1.1)
        unit = " (patients)" if e.get("look_sizes") else (" (events)" if e.get("look_events") else "")
        row[2].set_xlabel(f"look, information fraction{unit}")
    _figure_legend(figure, grid.ravel())
    return figure


def _figure_legend(figure, axes) -> None:
    """One legend under the figure for every labelled artist (none hides data)."""
    seen: dict = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if not label.startswith("_"):
                seen.setdefault(label, handle)
    if seen:
        figure.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=min(len(seen), 4))


# ---------------------------------------------------------------- (d) priors
def _favourable_region(e: dict) -> tuple[float, float, str]:
    """(low, high) of the effect under H1 (natural scale) and the boundary's description."""
    margin = e.get("margin") or 0.0
    if e.get("better") == "lower":
        return -1.0, margin, f"H1: p_E - p_C < {margin:g}"
    return -margin, 1.0, f"H1: p_E - p_C > {-margin:g}"


def _truth_effect(endpoint) -> float | None:
    truth = getattr(endpoint, "truth", None)
    if truth is None or not hasattr(truth, "experimental"):
        return None
    return float(truth.experimental - truth.control)


def _prior_figure(report: dict, name: str, configs: list):
    index = next((i for i, c in enumerate(configs) if c is not None and _has_prior(c, name)), None)
    if index is None:
        return None
    config = configs[index]
    endpoint = config.endpoint(name)
    e = report["scenarios"][index]["endpoints"][name]
    if endpoint.kind == "binary":
        return _binary_prior_figure(report, name, config, endpoint, e, index)
    if endpoint.kind == "survival":
        return _survival_prior_figure(report, name, endpoint, e, index)
    return None


def _has_prior(config, name) -> bool:
    try:
        return config.endpoint(name).prior is not None
    except KeyError:
        return False


def _binary_prior_figure(report, name, config, endpoint, e, index):
    figure = _new_figure(11.0, 3.3)
    ax_data, ax_prior = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    arms = config.trial.arms
    prior = endpoint.prior
    for y, (role, counts) in enumerate((("control", prior.control), ("experimental", prior.experimental))):
        rate = counts.events / counts.n
        lower, upper = derived.clopper_pearson(counts.events, counts.n)
        ax_data.errorbar([rate], [y], xerr=[[rate - lower], [upper - rate]], fmt="o", capsize=4, color=COLOURS[role],
                         label="phase 2: x/n, 95% exact CI" if y == 0 else None)
        ax_data.annotate(f"{counts.events:g}/{counts.n:g} = {rate:.2f}  [{lower:.2f}, {upper:.2f}]", (rate, y),
                         textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
        if endpoint.truth is not None:
            value = getattr(endpoint.truth, role)
            ax_data.plot([value], [y - 0.15], marker="x", color="black", linestyle="none",
                         label="truth (for power)" if y == 0 else None)
    ax_data.set_yticks([0, 1], [arm if arm == role else f"{arm}\n({role})" for arm, role in zip(arms, ("control", "experimental"))])
    ax_data.set_ylim(-0.6, 1.7)
    ax_data.set_xlim(0, 1)
    ax_data.set_xlabel(f"{name} rate")
    ax_data.set_title(f"{name}: phase 2 data")
    ax_data.legend(loc="lower right")

    control, experimental = derived.binary_prior_mixtures(endpoint)
    d, density = derived.effect_density(control, experimental)
    d, density = _visible(d, density)
    low, high, text = _favourable_region(e)
    histogram = e.get("true_effect_histogram")
    if histogram and histogram.get("edges"):
        edges, success, failure = derived.rebin(histogram["edges"], histogram["success"], histogram["failure"])
        total = success.sum() + failure.sum()
        widths = np.diff(edges)
        ax_prior.stairs((success + failure) / (total * widths), edges, color=COLOURS["target"], linewidth=0.8,
                        label=f"simulated true effects ({scenario_label(report['scenarios'][index])})")
    ax_prior.plot(d, density, color="black", linewidth=1.2, label="prior density (convolution)")
    mask = (d > low) & (d < high)
    ax_prior.fill_between(d[mask], density[mask], color=COLOURS["success"], alpha=0.25,
                          label=f"{text}: prior P(benefit) = {e.get('prior_p_benefit', float('nan')):.3f}")
    truth = _truth_effect(endpoint)
    if truth is not None:
        ax_prior.axvline(truth, color="black", linestyle="--", linewidth=1, label=f"truth {truth:+.3f}")
    ax_prior.axvline(0.0, color="black", linewidth=0.6)
    _zoom(ax_prior, d, density)
    ax_prior.set_ylim(0, 1.55 * float(density.max()))  # room for the legend above the curve
    ax_prior.set_xlabel("true effect p_E - p_C")
    ax_prior.set_ylabel("density")
    ax_prior.set_title(f"{name}: prior of the effect")
    ax_prior.legend(loc="upper left")
    return figure


def _visible(x, density, mass=0.99999, points=600):
    """The part of a density curve worth drawing, thinned to about ``points`` points (smaller SVG)."""
    cumulative = np.cumsum(density)
    cumulative = cumulative / cumulative[-1]
    lo = np.searchsorted(cumulative, (1 - mass) / 2)
    hi = min(np.searchsorted(cumulative, 1 - (1 - mass) / 2) + 1, len(x))
    step = max(1, (hi - lo) // points)
    return x[lo:hi:step], density[lo:hi:step]


def _log_ratio_axis(ax) -> None:
    """A log axis for ratios labelled 0.5, 0.7, 1 rather than 5 x 10^-1."""
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0]))
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    ax.xaxis.set_major_formatter(formatter)
    ax.xaxis.set_minor_formatter(NullFormatter())


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _zoom(ax, x, density, mass=0.9995):
    """Limit the x axis to where the density has its mass."""
    cumulative = np.cumsum(density)
    cumulative = cumulative / cumulative[-1]
    lo = x[np.searchsorted(cumulative, (1 - mass) / 2)]
    hi = x[min(np.searchsorted(cumulative, 1 - (1 - mass) / 2), len(x) - 1)]
    pad = 0.1 * (hi - lo)
    ax.set_xlim(lo - pad, hi + pad)


def _survival_prior_figure(report, name, endpoint, e, index):
    prior = endpoint.prior.hazard_ratio
    figure = _new_figure(6.0, 3.3)
    ax = figure.subplots()
    hr = np.exp(np.linspace(prior.log_mean - 4 * prior.log_sd, prior.log_mean + 4 * prior.log_sd, 801))
    density = np.exp(-0.5 * ((np.log(hr) - prior.log_mean) / prior.log_sd) ** 2) / (hr * prior.log_sd * math.sqrt(2 * math.pi))
    ax.plot(hr, density, color="black", label="prior density of the hazard ratio")
    mask = hr < 1.0
    ax.fill_between(hr[mask], density[mask], color=COLOURS["success"], alpha=0.25,
                    label=f"HR < 1: prior P(benefit) = {e.get('prior_p_benefit', float('nan')):.3f}")
    truth = getattr(endpoint.truth, "hazard_ratio", None)
    if truth is not None:
        ax.axvline(truth, color="black", linestyle="--", linewidth=1, label=f"truth {truth:g}")
    _log_ratio_axis(ax)
    ax.set_xlabel("true hazard ratio (experimental / control)")
    ax.set_ylabel("density")
    ax.set_title(f"{name}: prior of the effect")
    ax.legend(loc="upper right")
    return figure


def _true_effect_figure(report: dict, name: str):
    scenarios = [(i, s) for i, s in enumerate(report["scenarios"]) if (s["endpoints"].get(name) or {}).get("true_effect_histogram")]
    if not scenarios:
        return None
    columns = min(3, len(scenarios))
    rows = math.ceil(len(scenarios) / columns)
    figure = _new_figure(3.7 * columns, 2.9 * rows)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True).ravel()
    for ax, (i, scenario) in zip(axes, scenarios):
        e = scenario["endpoints"][name]
        histogram = e["true_effect_histogram"]
        edges, success, failure = derived.rebin(histogram["edges"], histogram["success"], histogram["failure"])
        total = success.sum() + failure.sum()
        widths = np.diff(edges)
        ax.stairs(success / (total * widths), edges, fill=True, color=COLOURS["success"], label="successful trials")
        ax.stairs((success + failure) / (total * widths), edges, baseline=success / (total * widths), fill=True,
                  color=COLOURS["failure"], label="failed trials")
        scale = histogram.get("scale", "p_E - p_C")
        null = 1.0 if scale == "hazard ratio" else 0.0
        ax.axvline(null, color="black", linewidth=0.6)
        if scale == "hazard ratio":
            _log_ratio_axis(ax)
        elif e.get("margin"):
            low, high, _ = _favourable_region(e)
            ax.axvline(high if e.get("better") == "lower" else low, color="black", linestyle=":", linewidth=0.8,
                       label="H0 boundary")
        assurance = e.get("assurance")
        ppb = e.get("prior_p_benefit")
        title = scenario_label(scenario)
        if assurance is not None:
            title += f"\nassurance {assurance:.3f}" + ("" if ppb is None else f" of prior P(benefit) {ppb:.3f}")
        ax.set_title(title)
        ax.set_xlabel(f"true effect {scale}")
    for ax in axes[len(scenarios):]:
        ax.set_visible(False)
    axes[0].set_ylabel("density (area = share of trials)")
    axes[0].legend(loc="upper left")
    return figure


# ------------------------------------------------------------- (e) survival
def _survival_figure(report: dict, name: str, configs: list):
    scenarios = [(i, s) for i, s in enumerate(report["scenarios"]) if (s["endpoints"].get(name) or {}).get("kind") == "survival"]
    if not scenarios:
        return None
    index, scenario = scenarios[0]
    e = scenario["endpoints"][name]
    bands = e.get("km_bands") if isinstance(e.get("km_bands"), dict) else None
    config = configs[index]
    endpoint = None if config is None else next((x for x in config.endpoints if x.name == name), None)
    has_times = any(isinstance((s["endpoints"][name]).get(k), list) for _, s in scenarios
                    for k in ("expected_look_times", "analysis_times"))
    histogram = e.get("analysis_time_histogram") if isinstance(e.get("analysis_time_histogram"), dict) else None
    if bands is None and endpoint is None and not has_times:
        return None
    figure = _new_figure(11.0, 3.4)
    ax_km, ax_times = figure.subplots(1, 2)
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
        curves = derived.configured_survival(endpoint, grid) or {}
        for k, (role, curve) in enumerate(curves.items()):
            if horizon is not None and bands is not None:
                # Over the bands, in black so that they show on the median KM.
                ax_km.plot(grid, curve, color="black", linestyle="--", linewidth=0.9, zorder=3,
                           label="configured S(t) per arm" if k == 0 else None)
            else:
                ax_km.plot(grid, curve, color=COLOURS[role], linestyle="--", linewidth=1.2, label=f"{role}: configured")
    ax_km.set_ylim(0, 1)
    ax_km.set_xlabel("time since randomisation")
    ax_km.set_ylabel("survival probability")
    title = f"{name}: survival per arm"
    if bands is not None and bands.get("replicates"):
        title += f" ({bands['replicates']} simulated trials, {bands.get('analysis', 'final')} analysis)"
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
        if used.any():  # the fixed bins are wide; show the occupied range
            first, last = np.flatnonzero(used)[[0, -1]]
            pad = 2 * (edges[1] - edges[0])
            ax_times.set_xlim(max(edges[0], edges[first] - pad), min(edges[-1], edges[last + 1] + pad))
        ax_times.set_xlabel("calendar time of the analysis (from the start of accrual)")
        ax_times.set_ylabel("simulated trials")
    elif has_times:
        for i, s in scenarios:
            block = s["endpoints"][name]
            times = block.get("expected_look_times") or block.get("analysis_times") or []
            ys = [t if isinstance(t, (int, float)) else np.nan for t in times]
            ax_times.plot(np.arange(1, len(ys) + 1), ys, marker="o", label=f"simulated mean, {scenario_label(s)}")
            analytic = (block.get("analytic") or {}).get("analysis_times_at_n_total")
            if isinstance(analytic, list):
                ax_times.plot(np.arange(1, len(analytic) + 1), analytic, marker="x", linestyle=":", color="black",
                              label="analytic (expected events)" if i == scenarios[0][0] else None)
        ax_times.set_xlabel("look")
        ax_times.xaxis.set_major_locator(_integer_locator())
        ax_times.set_ylabel("calendar time of the analysis")
    if ax_times.has_data():
        ax_times.set_title(f"{name}: analysis times")
        ax_times.legend(loc="upper left")
    else:
        ax_times.set_visible(False)
    return figure


# ------------------------------------------------------------------ catalogue
def build_plots(report: dict) -> list[Plot]:
    """Every figure whose data the report holds, in reading order.

    Requires matplotlib (check :func:`matplotlib_available` first).
    """
    plots: list[Plot] = []

    def add(plot_id, title, caption, builder, *args):
        try:
            svg = _draw(builder, plot_id, *args)
        except Exception as err:  # noqa: BLE001 - one bad figure must not cost the whole report
            # The page says so where the figure would be (and the tests fail on it).
            print(f"p3sim: note: report.html: plot {plot_id} could not be drawn ({type(err).__name__}: {err})",
                  file=sys.stderr)
            plots.append(Plot(plot_id, title, f"This plot could not be drawn ({type(err).__name__}: {err}).", ""))
            return
        if svg is not None:
            plots.append(Plot(plot_id, title, caption, svg))

    add("plot-size", "Power and assurance against size",
        "Trial success and each endpoint's success against n_total, with ±2 Monte Carlo standard errors. "
        "Power assumes the configured truth; assurance averages over the prior, so it cannot exceed the "
        "endpoint's prior P(benefit) (dotted) except by type I errors. The dash-dot line is design.power.",
        _size_figure, report)
    if isinstance(report.get("size"), dict):
        add("plot-size-search", "Size search",
            "Every size the search evaluated with ±2 MCSE, the target, and the chosen size.",
            _size_search_figure, report["size"])
    for i, scenario in enumerate(report["scenarios"]):
        add(f"plot-sequential-s{i}", f"Group-sequential design: {scenario_label(scenario)}",
            "Left: efficacy and futility bounds on the z scale at the realised information fractions. Middle: the "
            "same bounds as the observed effect that crosses them (a reading guide; the test decides). Right: "
            "probability of stopping at each look, with ±2 MCSE, and the expected size.",
            _sequential_figure, report, i)
    configs = [derived.scenario_config(report, i) for i in range(len(report["scenarios"]))]
    names = list(report["scenarios"][0].get("endpoints", {})) if report["scenarios"] else []
    for name in names:
        if report["scenarios"][0]["endpoints"][name].get("kind") == "survival":
            title, caption = f"Prior of the hazard ratio: {name}", (
                "The design prior of the hazard ratio (log-normal), its favourable part (HR < 1) shaded: the prior "
                "P(benefit), the ceiling of assurance; the dashed line is the truth used for power.")
        else:
            title, caption = f"Phase 2 evidence and prior: {name}", (
                "Left: the phase 2 results behind the prior, with exact (Clopper-Pearson) 95% intervals, and the truth "
                "used for power. Right: the prior density of the true effect (numerical convolution of the two arms' "
                "priors), its favourable part shaded (prior P(benefit), the ceiling of assurance), and the true "
                "effects the assurance simulation drew.")
        add(f"plot-prior-{slug(name)}", title, caption, _prior_figure, report, name, configs)
        add(f"plot-true-effect-{slug(name)}", f"True effect in successful and failed trials: {name}",
            "The true effects drawn from the prior in the assurance simulation, split by whether the simulated "
            "trial succeeded (green) or failed (grey); the green area is the endpoint's assurance.",
            _true_effect_figure, report, name)
        add(f"plot-survival-{slug(name)}", f"Survival: {name}",
            "Left: the median and the pointwise 2.5 % to 97.5 % range of the Kaplan-Meier curves per arm of trials "
            "simulated under the truth, read at the final analysis (when recorded), against the configured survival "
            "curves (dashed). Right: when the analyses happen: the calendar time of each look across the simulated "
            "trials that reached it (or the mean times, simulated and analytic).",
            _survival_figure, report, name, configs)
    return plots
