"""Series the generic plots show that report.json holds only implicitly.

No plotting here (and so no matplotlib): the size curves across scenarios
and the sizes a size search evaluated. Kind-specific numbers (phase 2
intervals, prior densities, configured survival curves) live with each
kind's figures in :mod:`simulator.endpoints`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from simulator.figures import params_label


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
        # Keyed by the text of the settings: a swept value can be a list or a table, which cannot be a key.
        group = groups.setdefault(json.dumps(other, sort_keys=True, default=str), (other, []))
        group[1].append((scenario["n_total"], block[key], block.get(f"{key}_mcse") or 0.0))
    out = []
    for other, points in groups.values():
        points.sort()
        if len({n for n, _, _ in points}) < 2:
            continue
        label = params_label(dict(other))
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
