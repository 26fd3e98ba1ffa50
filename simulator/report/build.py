"""Turn simulation counts into the contract's report.json structure.

Every simulated probability leaves here with its Monte Carlo standard error,
sqrt(p (1 - p) / n) for a proportion of ``n`` independent trials; expected
sizes carry the standard error of a mean.
"""

from __future__ import annotations

import uuid

import numpy as np

from simulator import __version__
from simulator.endpoints.common import (
    EXACT_SIZE_NOTE,
    add_note,
    analytic_and_exact,
    bounds_at_mean_looks,
    finite_or_none,
)
from simulator.estimate import proportion
from simulator.report.reproducibility import environment


def effect_histogram(counts: dict, edges: np.ndarray, scale: str) -> dict:
    """The assurance run's true effects among successful and failed trials.

    Trimmed to the bins that hold any trial, to keep report.json small.
    """
    success, failure = counts["effect_success"], counts["effect_failure"]
    used = np.nonzero(success + failure)[0]
    lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 0)
    out = {
        "scale": scale,
        "edges": [round(float(e), 6) for e in edges[lo : hi + 1]],
        "success": success[lo:hi].tolist(),
        "failure": failure[lo:hi].tolist(),
    }
    over = counts.get("effect_over")
    if over is not None and np.any(np.asarray(over) > 0):
        # Survival: true hazard ratios below and above the bins (a review: a quarter of a wide prior left out).
        s_below, s_above, f_below, f_above = (int(v) for v in over)
        out["success_outside"] = [s_below, s_above]
        out["failure_outside"] = [f_below, f_above]
    return out


def _multiplicity(config) -> dict:
    """``meta``'s ``multiplicity`` (``success.multiplicity``) and, for a fixed sequence, its ``order``."""
    success = config.success
    out: dict = {"multiplicity": success.multiplicity}
    if success.multiplicity == "fixed_sequence":
        out["order"] = list(success.order)
    return out


def endpoint_block(plan, streams: dict, config, side: dict | None = None) -> dict:
    """The report entry of one endpoint in one scenario."""
    looks = plan.looks
    block: dict = {
        "kind": plan.endpoint.kind,
        "test": plan.endpoint.test,
        "role": plan.endpoint.role,
        "alpha": plan.alpha,
        "sided": plan.sided,
        **plan.describe(),
    }
    name = plan.endpoint.name
    # Another endpoint's prior may have made the assurance stream; an endpoint without a prior keeps its truth
    # there (the trial's assurance needs it), so its success in that stream is a power, not an assurance: none of
    # its blocks reports it (the strata block did, as an assurance: a report review).
    truth_only = "assurance" in streams and plan.prior is None
    every_stream, streams = streams, {s: v for s, v in streams.items() if not (truth_only and s == "assurance")}
    for stream, key in (("power", "power"), ("assurance", "assurance"), ("type1", "type1")):
        if stream not in streams:
            continue
        counts = streams[stream].endpoints[name]
        n = streams[stream].n_sims
        block[key], block[f"{key}_mcse"] = proportion(int(counts["reject"].sum()), n)
        if config.success.multiplicity in ("holm", "fixed_sequence"):
            # Success of this endpoint after the multiplicity adjustment.
            block[f"{key}_adjusted"], block[f"{key}_adjusted_mcse"] = proportion(int(counts["success_adjusted"][0]), n)
        if stream == "power":
            block["reject_unfavourable"], block["reject_unfavourable_mcse"] = proportion(
                int(counts["reject_unfavourable"].sum()), n
            )
        if stream == "assurance" and plan.sided == 2:
            # A review: under the prior the unfavourable rejections (10 % of a design's trials) were nowhere.
            block["assurance_unfavourable"], block["assurance_unfavourable_mcse"] = proportion(
                int(counts["reject_unfavourable"].sum()), n
            )
        if stream == "type1" and plan.sided == 2:
            # `type1` is the favourable tail; both tails together:
            both = int(counts["reject"].sum() + counts["reject_unfavourable"].sum())
            block["type1_two_sided"], block["type1_two_sided_mcse"] = proportion(both, n)
    rules = getattr(plan, "rules", None)  # [interim] / [adaptation] (simulator.endpoints.adaptive)
    if rules is not None:
        block["interim"] = {
            key: rules.report(streams[stream].endpoints[name], streams[stream].n_sims)
            for stream, key in (("power", "power"), ("assurance", "assurance"), ("type1", "type1"))
            if stream in streams
        }
        thresholds = rules.thresholds(plan)
        if thresholds is not None:
            block["interim"]["thresholds_h0"] = thresholds
    strata_report = getattr(plan, "strata_report", None)  # [strata] (simulator.endpoints.strata)
    # Every stream drawn (the arm imbalance is the randomisation's, whatever the stream), then not the assurance
    # stream's rejections of an endpoint without a prior (a code review: with no power stream it had none left).
    strata = strata_report and strata_report(
        {stream: (every_stream[stream].endpoints[name], every_stream[stream].n_sims) for stream in every_stream}
    )
    if strata:
        if truth_only:
            strata.pop("assurance", None)
        block["strata"] = strata
    block["prior_p_benefit"] = plan.prior_p_benefit()
    block["efficacy_bounds"] = finite_or_none(plan.bounds.efficacy)
    block["futility_bounds"] = finite_or_none(plan.bounds.futility)
    if plan.bounds.inner:
        # Two-sided inner wedge: stop for futility when -a_k <= z <= a_k (docs/conventions.md).
        block["futility_region"] = "inner"
        block["futility_floor"] = finite_or_none(plan.bounds.futility_floor)
    block["alpha_spent"] = list(plan.bounds.alpha_spent)
    block["planned_fractions"] = list(looks.planned_fractions)
    block["realised_fractions"] = list(looks.realised_fractions)
    reference = "power" if "power" in streams else "assurance"
    counts = every_stream[reference].endpoints[name]
    n = every_stream[reference].n_sims
    # Without a power stream, an endpoint without a prior has its truth in the assurance stream.
    block["per_look_under"] = "truth" if reference == "power" or truth_only else "prior"
    # Per look, each way a trial stops, with MCSEs (issue 6); two-sided, also the unfavourable rejections (a
    # review: the per-look stops under the prior did not add up to the trials that stopped).
    per_look = {"reject_per_look": "reject", "futility_per_look": "futility"}
    if plan.sided == 2:
        per_look["reject_unfavourable_per_look"] = "reject_unfavourable"
    for key, count in per_look.items():
        block[key] = [c / n for c in counts[count].tolist()]
    for key, count in per_look.items():
        block[f"{key}_mcse"] = [proportion(c, n)[1] for c in counts[count].tolist()]
    block.update(plan.effect_bounds())
    if rules is not None and getattr(rules, "ssr", False):
        # Re-estimation: a later stage's size varies by trial and the combination test decides there, so the
        # planned stage's critical effects and counts would mislead (the z bounds hold for the combined z).
        for key in ("critical_effect", "futility_effect", "critical_effect_unfavourable", "futility_effect_unfavourable",
                    "critical_count", "futility_count", "look_events"):
            if isinstance(block.get(key), list):
                block[key] = block[key][:1] + [None] * (len(block[key]) - 1)
        block["bounds_note"] = ("with re-estimation the later stages are decided by the inverse-normal combination "
                                "test at each trial's re-estimated size: the z bounds apply to the combined z, and "
                                "no critical effect or count is given after the first look")
    block.update(plan.expected_size(counts))
    if "realised_fractions_note" in block:
        # Read at a survival endpoint's looks: the planned bounds and sizes are not what the trials used.
        for key, value in bounds_at_mean_looks(plan, config, block).items():
            if value is None:
                block.pop(key, None)
            else:
                block[key] = value
    block.update(side or {})
    if "assurance" in streams and "effect_success" in streams["assurance"].endpoints[name]:
        block["true_effect_histogram"] = effect_histogram(
            streams["assurance"].endpoints[name], plan.effect_bins, block["effect_scale"]
        )
    block["analytic"] = analytic_and_exact(plan, config)
    if "realised_fractions_note" in block and block["analytic"]:
        # Read at a survival endpoint's looks: the analytic and exact values are the planned looks' design.
        # The numbers themselves (a review: the note named a key that report.md and report.html do not show).
        known = ", ".join(f"{v:.1f}" for v in block.get("evaluable_per_look") or [])
        add_note(block["analytic"], "analytic values at the planned looks, taken as fractions of this endpoint's "
                 "patients; the simulation reads it at the survival endpoint's looks, where the patients with a "
                 f"known outcome (evaluable_per_look: {known} on average, both arms) and the fractions "
                 "(tested_fractions) differ: compare with care")
    futility = np.asarray(plan.bounds.futility, dtype=float)[:-1]
    if "type1" in streams and not config.design.binding and np.isfinite(futility).any():
        # A review: the type I error shown obeyed the non-binding futility stops, and nothing said so.
        add_note(block["analytic"], "type1 obeys the futility bounds; they are non-binding, so the design keeps "
                 "alpha (to the normal approximation of its bounds) also when a trial goes on past one: "
                 "design.futility = \"none\" (the same efficacy bounds) gives the type I error with the futility "
                 "rule ignored")
    excess = _type1_excess(plan, block)
    # Not beside the sentence of an exact size above the level (a code review: both appeared; a second: dropping
    # it wherever an exact size exists lost the only word on 0.0298 for 0.025, an exact size under 1.2 times it).
    if excess and EXACT_SIZE_NOTE not in (block["analytic"].get("note") or ""):
        # A review: 0.0334 ± 0.0004 at alpha 0.025 (a log-rank at 1:3 with 118 events) was shown without a word.
        add_note(block["analytic"], excess)
    if block.get("evaluable_per_look") and block["evaluable_per_look"][-1] == 0.0:
        # A review: a delay longer than the trials gave power 0 without a word.
        delay = getattr(config.endpoint(name), "delay", 0.0)
        add_note(block["analytic"], f"no simulated trial knew any outcome of {name} by its last look (its delay, "
                 f"endpoints.{name}.delay = {delay:g} months, is longer than the trials last): it never rejects")
    return block


#: A simulated type I error counts as above its level when it is more than this many MCSE above it (4: one
#: check in 30 000 at the level flags it by chance; a code review found 3 flagging noise at 5000 trials) ...
EXCESS_Z = 4.0
#: ... and more than this factor of it (so that a million trials do not flag a test a hair above its level).
EXCESS_RATIO = 1.1


def _type1_excess(plan, block: dict) -> str | None:
    """A sentence where the simulated type I error (either tail's or, two-sided, both tails') is clearly above
    the endpoint's level (:data:`EXCESS_Z` MCSE and :data:`EXCESS_RATIO` times), else None."""
    checks = [("type1", plan.alpha / plan.sided, "one-sided level")]
    if plan.sided == 2:
        checks.append(("type1_two_sided", plan.alpha, "two-sided level"))
    for key, level, what in checks:
        value, mcse = block.get(key), block.get(f"{key}_mcse")
        if value is not None and value - EXCESS_Z * mcse > level and value > EXCESS_RATIO * level:
            return (f"the simulated {key} {value:.4g} ± {mcse:.2g} is above the {what} {level:g} by more than "
                    f"{EXCESS_Z:g} MCSE: the test's normal approximation likely rejects too often under H0 in this "
                    "design (as with few events or patients, unequal allocation or a margin), so that its type I "
                    "error is above the nominal alpha; more simulated trials tell by how much")
    return None


def scenario_block(bundle, streams: dict, side: dict | None = None) -> dict:
    """The report entry of one scenario: trial success and each endpoint."""
    config = bundle.scenario.config
    # Its own trials per stream: a sweep over simulation.n_sims gives each scenario other numbers than meta's.
    block: dict = {"params": bundle.scenario.params, "n_total": config.trial.n_total,
                   "n_sims": config.simulation.n_sims}
    for stream in ("power", "assurance", "type1"):
        if stream in streams:
            block[stream], block[f"{stream}_mcse"] = proportion(streams[stream].success, streams[stream].n_sims)
    type1 = streams.get("type1")
    if type1 is not None and type1.success_two_sided is not None:
        # The trial's rule with rejections in either direction (two-sided designs).
        block["type1_two_sided"], block["type1_two_sided_mcse"] = proportion(type1.success_two_sided, type1.n_sims)
    side = side or {}
    block["endpoints"] = {
        plan.endpoint.name: endpoint_block(plan, streams, config, side.get(plan.endpoint.name))
        for plan in bundle.plans
    }
    return block


def _labels(labels) -> dict:
    """Display text of arms and endpoints (``trial.labels``, endpoint ``label``), as given."""
    return {"arms": dict(labels.arms), "endpoints": dict(labels.endpoints)}


def build_report(
    raw: dict, bundles, results, *, command: str, runtime_s: float, seed: int | list[int], n_sims: int,
    derived: dict | None = None, side: list | None = None, resumed: list | None = None,
) -> dict:
    """The whole report.json document.

    ``bundles`` are the scenarios' plans (:class:`simulator.runner.simulate.ScenarioPlans`),
    ``results`` their summed stream counts, ``derived`` what the endpoint
    kinds derived once for the run (it goes into ``meta``), ``side`` per
    scenario the endpoints' side-sample results (``plan.side_results()``),
    ``resumed`` the indices of the scenarios taken from checkpoints, ``seed``
    the run's seed (the scenarios' seeds, in order, where a sweep gives them
    their own). Each
    report gets a new random ``run_id``, printed in every report file, so
    that files from different runs can be told apart.
    """
    report = {
        "meta": {
            "version": __version__,
            "run_id": uuid.uuid4().hex[:16],
            "config": raw,
            "seed": seed,
            "n_sims": n_sims,
            "command": command,
            "runtime_s": runtime_s,
            "environment": environment(),
            "success_rule": bundles[0].scenario.config.success.rule,
            **_multiplicity(bundles[0].scenario.config),
            "mcse": "sqrt(p (1 - p) / n_sims) for probabilities; sd / sqrt(n_sims) for means",
            "resumed_scenarios": list(resumed or []),
            "labels": _labels(bundles[0].scenario.config.labels),
        },
        "scenarios": [
            scenario_block(bundle, streams, (side or [None] * len(bundles))[i])
            for i, (bundle, streams) in enumerate(zip(bundles, results))
        ],
    }
    report["meta"].update(derived or {})
    return report
