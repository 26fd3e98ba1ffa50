"""The binary kind's figures: phase 2 evidence and prior, true effects among successes and failures.

Drawn with the helpers of :mod:`simulator.figures` (matplotlib, lazily);
the numbers they show that report.json holds only implicitly (exact
intervals of the phase 2 data, the prior density of the effect by numerical
convolution) are computed here, deterministically.
"""

from __future__ import annotations

import numpy as np

from simulator.figures import (
    COLOURS,
    FigureSpec,
    endpoint_text,
    new_figure,
    rebin,
    scenario_label,
    slug,
    true_effect_figure,
    visible,
    zoom,
)
from simulator.priors import BetaMixture, binary_priors
from simulator.stats import distributions as dist


def figures(name: str, report: dict, scenarios: list) -> list[FigureSpec]:
    """The binary endpoint ``name``'s figures (``scenarios``: the result's validated scenarios)."""
    return [
        FigureSpec(
            f"plot-prior-{slug(name)}", f"Phase 2 evidence and prior: {name}",
            "Left: the phase 2 results behind the prior, with exact (Clopper-Pearson) 95% intervals, and the truth "
            "used for power. Right: the prior density of the true effect (numerical convolution of the two arms' "
            "priors), its favourable part shaded (prior P(benefit), the ceiling of assurance), and the true "
            "effects the assurance simulation drew.",
            _prior_figure, (report, name, scenarios),
        ),
        FigureSpec(
            f"plot-true-effect-{slug(name)}", f"True effect in successful and failed trials: {name}",
            "The true effects drawn from the prior in the assurance simulation, split by whether the endpoint "
            "succeeded in that trial (green; its own success, not the trial's under the success rule) or not (grey); "
            "the green area is the endpoint's assurance.",
            _true_effect, (report, name),
        ),
    ]


def _true_effect(report: dict, name: str):
    blocks = [s["endpoints"].get(name) or {} for s in report["scenarios"]]
    e = next((b for b in blocks if b.get("true_effect_histogram")), {})
    boundary = None
    if e.get("margin"):
        low, high, _ = _favourable_region(e)
        boundary = high if e.get("better") == "lower" else low
    return true_effect_figure(report, name, null=0.0, boundary=boundary)


def _prior_figure(report: dict, name: str, scenarios: list):
    index = next((i for i, s in enumerate(scenarios) if s.config.endpoint(name).prior is not None), None)
    if index is None:
        return None
    config = scenarios[index].config
    return _binary_prior_figure(report, name, config, config.endpoint(name), report["scenarios"][index]["endpoints"][name], index)


def _favourable_region(e: dict) -> tuple[float, float, str]:
    """(low, high) of the effect under H1 (natural scale) and the boundary's description."""
    margin = float(e.get("margin") or 0.0)
    if e.get("better") == "lower":
        return -1.0, margin, f"H1: p_E - p_C < {margin:g}"
    return -margin, 1.0, f"H1: p_E - p_C > {0.0 - margin:g}"  # 0 - 0.0 is 0.0, where -0.0 printed "-0"


def _truth_effect(endpoint) -> float | None:
    truth = getattr(endpoint, "truth", None)
    if truth is None or not hasattr(truth, "experimental"):
        return None
    return float(truth.experimental - truth.control)


def _binary_prior_figure(report, name, config, endpoint, e, index):
    figure = new_figure(11.0, 3.3)
    ax_data, ax_prior = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    arms = config.trial.arms
    prior = endpoint.prior
    for y, (role, counts) in enumerate((("control", prior.control), ("experimental", prior.experimental))):
        rate = counts.events / counts.n
        lower, upper = clopper_pearson(counts.events, counts.n)
        ax_data.errorbar([rate], [y], xerr=[[rate - lower], [upper - rate]], fmt="o", capsize=4, color=COLOURS[role],
                         label="phase 2: x/n, 95% exact CI" if y == 0 else None)
        # Above the point, kept inside the panel: centred at most 0.3 from either end of the axis.
        ax_data.annotate(f"{counts.events:g}/{counts.n:g} = {rate:.2f}  [{lower:.2f}, {upper:.2f}]", (rate, y),
                         xytext=(min(max(rate, 0.3), 0.7), y + 0.12), ha="center", va="bottom", fontsize=8,
                         gid="value-label")
        if endpoint.truth is not None:
            value = getattr(endpoint.truth, role)
            ax_data.plot([value], [y - 0.15], marker="x", color="black", linestyle="none",
                         label="truth (for power)" if y == 0 else None)
    ax_data.set_yticks([0, 1], [arm if arm == role else f"{arm}\n({role})" for arm, role in zip(arms, ("control", "experimental"))])
    ax_data.set_ylim(-0.6, 1.7)
    ax_data.set_xlim(0, 1)
    ax_data.set_xlabel(f"rate: {endpoint_text(report, name)}")
    ax_data.set_title(f"{name}: phase 2 data")
    ax_data.legend(loc="lower right")

    control, experimental = binary_prior_mixtures(endpoint)
    d, density = effect_density(control, experimental)
    d, density = visible(d, density)
    low, high, text = _favourable_region(e)
    histogram = e.get("true_effect_histogram")
    if histogram and histogram.get("edges"):
        edges, success, failure = rebin(histogram["edges"], histogram["success"], histogram["failure"])
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
    zoom(ax_prior, d, density)
    ax_prior.set_ylim(0, 1.55 * float(density.max()))  # room for the legend above the curve
    ax_prior.set_xlabel("true effect p_E - p_C")
    ax_prior.set_ylabel("density")
    ax_prior.set_title(f"{name}: prior of the effect")
    ax_prior.legend(loc="upper left")
    return figure


def clopper_pearson(events: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion.

    Examples
    --------
    >>> [round(v, 4) for v in clopper_pearson(8, 37)]
    [0.0983, 0.3821]
    """
    tail = (1.0 - level) / 2.0
    lower = 0.0 if events <= 0 else float(dist.beta.ppf(tail, events, n - events + 1))
    upper = 1.0 if events >= n else float(dist.beta.ppf(1.0 - tail, events + 1, n - events))
    return lower, upper


def effect_density(control: BetaMixture, experimental: BetaMixture, points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Density of p_E - p_C for independent priors, by numerical convolution.

    Both densities are evaluated at the midpoints of ``points`` cells of
    [0, 1] (finite even where a Beta density is not at 0 or 1); the density of
    the difference at ``d = k h`` is sum_i f_E(x_i) f_C(x_i - d) h.

    Examples
    --------
    >>> from simulator.priors import BetaMixture
    >>> d, f = effect_density(BetaMixture((1.0,), (15.0,), (29.0,)), BetaMixture((1.0,), (9.0,), (30.0,)))
    >>> round(float(np.sum(f) * (d[1] - d[0])), 6)
    1.0
    """
    h = 1.0 / points
    x = (np.arange(points) + 0.5) * h
    f_c = np.nan_to_num(np.asarray(control.pdf(x), dtype=float), posinf=0.0)
    f_e = np.nan_to_num(np.asarray(experimental.pdf(x), dtype=float), posinf=0.0)
    density = np.convolve(f_e, f_c[::-1]) * h
    d = np.arange(-(points - 1), points) * h
    return d, density


def binary_prior_mixtures(endpoint) -> tuple[BetaMixture, BetaMixture] | None:
    """(control, experimental) prior mixtures of a binary endpoint, natural scale."""
    if getattr(endpoint, "kind", None) != "binary" or getattr(endpoint, "prior", None) is None:
        return None
    return binary_priors(endpoint.prior)


