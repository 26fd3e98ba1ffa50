"""Numbers the plots show that report.json holds only implicitly.

No plotting here (and so no matplotlib): the scenario configs behind a
report, exact intervals of the phase 2 data, the prior density of the effect
by numerical convolution, the size curves and the configured survival
curves. Each function is deterministic, so the plots are too.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from simulator.config.load import set_dotted
from simulator.config.validate import validate
from simulator.errors import InputError
from simulator.priors import BetaMixture, binary_priors


def scenario_config(report: dict, i: int):
    """The validated config of scenario ``i``, rebuilt from ``meta.config`` and its params.

    Returns ``None`` when it cannot be rebuilt (a report from another
    version, say): plots that need it are then left out, never the report.
    """
    raw = copy.deepcopy(report["meta"].get("config") or {})
    raw.pop("sweep", None)
    for key, value in (report["scenarios"][i].get("params") or {}).items():
        set_dotted(raw, key, value)
    try:
        return validate(raw)
    except (InputError, KeyError, TypeError, ValueError):
        return None


def clopper_pearson(events: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion.

    Examples
    --------
    >>> [round(v, 4) for v in clopper_pearson(8, 37)]
    [0.0983, 0.3821]
    """
    tail = (1.0 - level) / 2.0
    lower = 0.0 if events <= 0 else float(stats.beta.ppf(tail, events, n - events + 1))
    upper = 1.0 if events >= n else float(stats.beta.ppf(1.0 - tail, events + 1, n - events))
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


def rebin(edges, *counts, max_bins: int = 80):
    """Merge neighbouring bins so that at most ``max_bins`` remain (for display)."""
    edges = np.asarray(edges, dtype=float)
    counts = [np.asarray(c, dtype=float) for c in counts]
    n = len(edges) - 1
    if n <= max_bins:
        return (edges, *counts)
    step = math.ceil(n / max_bins)
    keep = np.arange(0, n, step)
    new_edges = np.append(edges[keep], edges[-1])
    return (new_edges, *[np.add.reduceat(c, keep) for c in counts])


@dataclass(frozen=True)
class SizeSeries:
    """One curve of an estimate against n_total, with its MCSE."""

    label: str
    n_total: tuple[int, ...]
    estimate: tuple[float, ...]
    mcse: tuple[float, ...]


def _others(params: dict) -> tuple:
    return tuple((k, v) for k, v in params.items() if k != "trial.n_total")


def size_series(report: dict, key: str, endpoint: str | None = None) -> list[SizeSeries]:
    """Trial-level (or one endpoint's) ``key`` against n_total, one series per other setting.

    Scenarios that differ only in n_total form one series; a sweep over other
    keys gives one series per point. Series with fewer than two sizes are
    dropped (nothing to draw a curve through).
    """
    groups: dict = {}
    for scenario in report["scenarios"]:
        block = scenario if endpoint is None else scenario.get("endpoints", {}).get(endpoint, {})
        if block.get(key) is None:
            continue
        other = _others(scenario.get("params") or {})
        groups.setdefault(other, []).append((scenario["n_total"], block[key], block.get(f"{key}_mcse") or 0.0))
    out = []
    for other, points in groups.items():
        points.sort()
        if len({n for n, _, _ in points}) < 2:
            continue
        label = ", ".join(f"{k.split('.')[-1]} = {v}" for k, v in other)
        out.append(SizeSeries(label, *(tuple(col) for col in zip(*points))))
    return out


def size_search_series(size: dict) -> SizeSeries | None:
    """The sizes a size search evaluated (top-level ``size`` block), if it lists them."""
    target = size.get("target", "power")
    points = []
    for entry in size.get("evaluated") or []:
        if not isinstance(entry, dict):
            continue
        n = entry.get("n_total", entry.get("events", entry.get("subjects")))
        value = entry.get(target, entry.get("estimate"))
        mcse = entry.get(f"{target}_mcse", entry.get("mcse", 0.0))
        if isinstance(n, (int, float)) and isinstance(value, (int, float)):
            points.append((n, float(value), float(mcse or 0.0)))
    if not points:
        return None
    points.sort()
    return SizeSeries(f"{target} (size search)", *(tuple(col) for col in zip(*points)))


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
    curves = {"control": survival_curve(times, control.times, control.hazards)}
    if hr is not None:
        curves["experimental"] = survival_curve(times, control.times, control.hazards, hr)
    return curves
