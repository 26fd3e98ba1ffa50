"""The continuous kind's figures: the prior of the mean difference, and true effects among successes and failures.

Drawn with the helpers of :mod:`simulator.figures` (matplotlib, lazily).
"""

from __future__ import annotations

import numpy as np

from simulator.figures import COLOURS, FigureSpec, new_figure, slug, true_effect_figure
from simulator.stats import distributions as dist


def figures(name: str, report: dict, scenarios: list) -> list[FigureSpec]:
    """The continuous endpoint ``name``'s figures (``scenarios``: the result's validated scenarios)."""
    return [
        FigureSpec(
            f"plot-prior-{slug(name)}", f"Prior of the mean difference: {name}",
            "The design prior of the true difference of means (from the phase 2 means, SDs and sizes), its "
            "favourable part shaded (prior P(benefit), the ceiling of assurance); the dashed line is the truth "
            "used for power.",
            _prior_figure, (report, name, scenarios),
        ),
        FigureSpec(
            f"plot-true-effect-{slug(name)}", f"True effect in successful and failed trials: {name}",
            "The true differences of means drawn from the prior in the assurance simulation, split by whether the "
            "endpoint succeeded in that trial (green; its own success, not the trial's under the success rule) or "
            "not (grey); the green area is the endpoint's assurance.",
            _true_effect, (report, name),
        ),
    ]


def _true_effect(report: dict, name: str):
    """The true-effect figure, with the H0 boundary at the margin for non-inferiority (natural scale)."""
    blocks = [s["endpoints"].get(name) or {} for s in report["scenarios"]]
    e = next((b for b in blocks if b.get("true_effect_histogram")), {})
    margin = e.get("margin") or 0.0
    boundary = (margin if e.get("better") == "lower" else -margin) if margin else None
    return true_effect_figure(report, name, null=0.0, boundary=boundary)


def _prior_figure(report: dict, name: str, scenarios: list):
    from simulator.endpoints import plan_for

    index = next((i for i, s in enumerate(scenarios) if s.config.endpoint(name).prior is not None), None)
    if index is None:
        return None
    config = scenarios[index].config
    plan = plan_for(config, config.endpoint(name))
    centres, density = prior_density(plan)
    figure = new_figure(6.0, 3.3)
    ax = figure.subplots()
    ax.plot(centres, density, color="black", label="prior density of mean_E - mean_C")
    favourable = plan.sign * centres > plan.theta0
    ppb = report["scenarios"][index]["endpoints"][name].get("prior_p_benefit")
    ax.fill_between(centres, density, where=favourable, color=COLOURS["success"], alpha=0.25,
                    label=f"favourable: prior P(benefit) = {ppb:.3f}" if ppb is not None else "favourable")
    if plan.truth is not None:
        ax.axvline(plan.truth.mean_e - plan.truth.mean_c, color="black", linestyle="--", linewidth=1, label="truth")
    ax.set_xlabel("true difference of means (experimental - control)")
    ax.set_ylabel("density")
    ax.set_title(f"{name}: prior of the effect")
    ax.legend(loc="upper right")
    return figure


def prior_density(plan, points: int = 801) -> tuple[np.ndarray, np.ndarray]:
    """Density of the prior of ``mean_E - mean_C`` (natural scale) on a grid.

    The normal model is a normal (and the robust component a normal centred
    on 0); under the normal-inverse-gamma model the difference of two scaled
    t marginals, and the robust component at the drawn variances (the sum of
    two centred scaled t's, as :meth:`ContinuousPlan.prior_p_benefit` has
    it), are numerical convolutions on the grid.
    """
    prior = plan.prior
    w, vague = prior.robust_weight, plan.vague_scale()
    mean, sd = plan._prior_difference()
    half = 6.0 * max(sd, vague if w > 0 else 0.0)
    grid = np.linspace(min(mean, 0.0) - half, max(mean, 0.0) + half, points)
    if prior.model == "normal":
        return grid, (1.0 - w) * dist.norm.pdf(grid, mean, sd) + w * dist.norm.pdf(grid, 0.0, vague)
    informative = _difference_density(*plan._nig_marginals(), grid, half)
    robust = _difference_density(*plan._nig_marginals(centred=True), grid, half) if w > 0 else 0.0
    return grid, (1.0 - w) * informative + w * robust


def _difference_density(control, experimental, grid: np.ndarray, half: float) -> np.ndarray:
    """Density of ``E - C`` at ``grid`` for independent scipy laws, by a Riemann sum at the grid's step.

    The sum runs over the control's central range, kept within 50 half-widths of the grid (a heavy t
    tail would otherwise ask for millions of points; the figure loses nothing it can show).
    """
    step = grid[1] - grid[0]
    reach = 50.0 * half + np.abs(grid).max()
    x = np.arange(max(control.ppf(1e-6), -reach), min(control.ppf(1 - 1e-6), reach), step)
    return np.array([np.sum(control.pdf(x) * experimental.pdf(x + d)) * step for d in grid])
