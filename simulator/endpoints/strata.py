"""What survival and binary plans share about strata: the kernel's design, the counts and the report block.

A trial with ``[strata.NAME]`` tables is simulated per patient with the
kernels of :mod:`simulator.engine.strata`, and every trial is analysed both
ways, stratified and not, so that the report can give the gain of the
stratified analysis as a paired difference with its own MCSE
(docs/strata.md). The endpoint's own decision is the one its ``stratified``
key asks for.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.config.schema import Config
from simulator.engine.strata import StrataDesign, strata_design
from simulator.estimate import mean_from_sums, proportion

#: Bins of a factor's arm imbalance (``|m_E - r m_C|``, patients): width 0.5 from 0 to 200.
IMBALANCE_EDGES = np.arange(0.0, 200.5, 0.5)


def design_for(config: Config, multiplier: str) -> StrataDesign | None:
    """The kernel's :class:`~simulator.engine.strata.StrataDesign`, or None without strata.

    ``multiplier`` is the factors' key the endpoint kind reads
    (``hazard_multiplier`` or ``odds_multiplier``).
    """
    if not config.strata:
        return None
    trial = config.trial
    return strata_design(
        [factor.share for factor in config.strata], [getattr(factor, multiplier) for factor in config.strata],
        method=trial.randomisation, block_size=trial.block_size, probability=trial.minimisation_probability,
        allocation=trial.allocation,
    )


def cells(config: Config, multiplier: str) -> tuple[tuple[float, float], ...]:
    """Each crossed stratum's ``(share, multiplier)``, as the analytic models take them; empty without strata.

    ``multiplier`` as for :func:`design_for`; a stratum's multiplier is the
    product of its levels' (relative to the first stratum, which the
    endpoint's ``truth`` describes).
    """
    design = design_for(config, multiplier)
    if design is None:
        return ()
    return tuple(zip(np.diff(design.cell_cumulative, prepend=0.0).tolist(), design.multiplier.tolist()))


def counts(imbalance: np.ndarray, success: np.ndarray, other_success: np.ndarray) -> dict:
    """Summable counts of one chunk: imbalance per factor and the paired outcomes of the two analyses.

    ``imbalance``: (trials, factors); ``success``, ``other_success``: per
    trial, the favourable rejections of the endpoint's analysis and of the
    other one. ``strata_paired`` counts the trials rejected by both, by
    this analysis only, by the other only, and by neither.
    """
    n_factors = imbalance.shape[1]
    hist = np.zeros((n_factors, IMBALANCE_EDGES.size - 1), dtype=np.int64)
    over = np.zeros(n_factors, dtype=np.int64)
    for f in range(n_factors):
        hist[f] = np.histogram(imbalance[:, f], bins=IMBALANCE_EDGES)[0]
        over[f] = int((imbalance[:, f] >= IMBALANCE_EDGES[-1]).sum())
    this, other = success.astype(bool), other_success.astype(bool)
    return {
        "strata_imbalance_hist": hist,
        "strata_imbalance_over": over,
        "strata_imbalance_sum": imbalance.sum(axis=0),
        "strata_imbalance_sq": (imbalance**2).sum(axis=0),
        "strata_paired": np.array([(this & other).sum(), (this & ~other).sum(), (~this & other).sum(),
                                   (~this & ~other).sum()], dtype=np.int64),
    }


def _quantile(hist: np.ndarray, over: int, level: float) -> float | None:
    """The lower edge of the bin holding the ``level`` quantile (the value itself for whole patients at 1:1)."""
    total = hist.sum() + over
    cumulative = np.cumsum(hist)
    index = int(np.searchsorted(cumulative, level * total))
    return float(IMBALANCE_EDGES[index]) if index < hist.size else None


def paired(counts_: dict, n: int) -> dict:
    """Rejection rates of both analyses and their paired difference, each with its MCSE."""
    both, this_only, other_only, _ = (int(v) for v in counts_["strata_paired"])
    difference = (this_only - other_only) / n
    # D = this - other per trial, in {-1, 0, 1}: var D = P(D != 0) - E[D]^2.
    variance = max((this_only + other_only) / n - difference**2, 0.0) * n / max(n - 1, 1)
    this, this_mcse = proportion(both + this_only, n)
    other, other_mcse = proportion(both + other_only, n)
    return {"this": this, "this_mcse": this_mcse, "other": other, "other_mcse": other_mcse,
            "difference": difference, "difference_mcse": math.sqrt(variance / n)}


def deciding(stratified: bool, tests: tuple[str, str]) -> tuple[str, str]:
    """``(analysis, its test)`` of the endpoint's ``stratified`` setting; ``tests``: the stratified and the
    unstratified analyses' tests."""
    return ("stratified", tests[0]) if stratified else ("unstratified", tests[1])


def report(config: Config, stratified: bool, streams: dict, note: str, tests: tuple[str, str]) -> dict:
    """The ``strata`` block of an endpoint's report entry.

    ``streams`` maps each simulated stream (``power``, ``assurance``,
    ``type1``) to ``(counts, n_sims)``. The imbalance is that of the
    ``power`` stream (else the first one): it depends on the
    randomisation, not on the truth. ``note``: what the endpoint's analytic
    values mean with strata (they do not model them). ``tests``: the
    ``(stratified, unstratified)`` analyses' tests, as the tables name them.
    """
    (this, this_test), (other, other_test) = deciding(stratified, tests), deciding(not stratified, tests)
    block: dict = {
        "factors": [factor.name for factor in config.strata],
        "cells": int(np.prod([len(factor.share) for factor in config.strata])),
        "randomisation": config.trial.randomisation,
        "analysis": this,
        "other_analysis": other,
        "analysis_test": this_test,
        "other_test": other_test,
    }
    if config.trial.randomisation == "blocks":
        block["block_size"] = config.trial.block_size
    if config.trial.randomisation == "minimisation":
        block["minimisation_probability"] = config.trial.minimisation_probability
    reference = "power" if "power" in streams else next(iter(streams))
    counts_, n = streams[reference]
    imbalance = {}
    for f, factor in enumerate(config.strata):
        mean, mean_mcse = mean_from_sums(float(counts_["strata_imbalance_sum"][f]), float(counts_["strata_imbalance_sq"][f]), n)
        hist, over = counts_["strata_imbalance_hist"][f], int(counts_["strata_imbalance_over"][f])
        imbalance[factor.name] = {
            "mean": mean, "mean_mcse": mean_mcse,
            **{f"q{int(level * 100):02d}": _quantile(hist, over, level) for level in (0.5, 0.9, 0.99)},
        }
    block["imbalance"] = imbalance
    block["imbalance_under"] = reference
    for stream, (stream_counts, stream_n) in streams.items():
        block[stream] = paired(stream_counts, stream_n)
    block["note"] = note
    return block
