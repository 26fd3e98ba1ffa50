"""Events at the final look of survival endpoints, fixed across a sweep.

When ``design.events`` is not given, it is computed once, from the unswept
base config (Schoenfeld's formula for ``design.power`` at the base hazard
ratio, times the group-sequential inflation factor), and written into every
scenario. Holding it fixed is what lets a sweep over the true hazard ratio
show power moving; recomputing it per scenario would keep power at target.
"""

from __future__ import annotations

import copy
import dataclasses
import math

from simulator.config.load import Scenario, expand
from simulator.config.schema import SurvivalEndpoint
from simulator.config.validate import validate
from simulator.design.survival import schoenfeld_events
from simulator.endpoints.common import design_bounds
from simulator.errors import InputError


def _base_config(raw: dict):
    base = copy.deepcopy(raw)
    base.pop("sweep", None)
    trial = base.get("trial", {})
    if isinstance(trial.get("n_total"), list):
        trial["n_total"] = trial["n_total"][0]
    return validate(expand(base)[0][1])


def derive_events(raw: dict, scenarios: list[Scenario]) -> tuple[list[Scenario], dict]:
    """Fill ``design.events`` for survival scenarios that lack it.

    Returns the scenarios (unchanged when nothing is derived) and a dict for
    ``meta`` describing what was derived.
    """
    needs = [s for s in scenarios if s.config.design.events is None and not s.config.design.look_events
             and any(isinstance(e, SurvivalEndpoint) for e in s.config.endpoints)]
    if not needs:
        return scenarios, {}
    base = _base_config(raw)
    endpoint = next(e for e in base.endpoints if isinstance(e, SurvivalEndpoint))
    hazard_ratio = endpoint.truth.hazard_ratio
    source = "truth.hazard_ratio"
    if hazard_ratio is None:
        hazard_ratio = math.exp(endpoint.prior.hazard_ratio.log_mean)
        source = "prior.hazard_ratio (its median)"
    if hazard_ratio >= 1:
        raise InputError(
            f"config key `design.events`: cannot be derived from a hazard ratio of {hazard_ratio:g} "
            "(no benefit to power for); give design.events"
        )
    design = base.design
    fractions = (1.0,) if design.looks == 1 else (
        tuple((k + 1) / design.looks for k in range(design.looks)) if isinstance(design.looks, int) else design.looks
    )
    bounds = design_bounds(base, fractions, design.alpha)
    inflation = 1.0 if bounds.sequential is None else float(bounds.sequential.inflation_factor)
    events = schoenfeld_events(
        hazard_ratio, alpha=design.alpha, power=design.power, sided=design.sided,
        allocation=base.trial.allocation, inflation=inflation,
    )
    rounded = int(math.ceil(events - 1e-9))
    fixed = []
    for scenario in scenarios:
        if scenario in needs:
            config = dataclasses.replace(scenario.config, design=dataclasses.replace(scenario.config.design, events=rounded))
            scenario = dataclasses.replace(scenario, config=config)
        fixed.append(scenario)
    meta = {
        "events": rounded,
        "events_unrounded": events,
        "events_derivation": (
            f"Schoenfeld events for design.power = {design.power} at hazard ratio {hazard_ratio:g} "
            f"({endpoint.name}.{source}) x inflation factor {inflation:.6f}, rounded up; held fixed across scenarios"
        ),
    }
    return fixed, meta


def load(config_path, overrides=()) -> tuple[dict, list[Scenario], dict]:
    """Load, validate and complete the scenarios of a config (every entry point uses this).

    Returns the raw mapping after overrides, the scenarios, and what was
    derived for ``meta`` (survival events).
    """
    from simulator.config.load import load_scenarios

    raw, scenarios = load_scenarios(config_path, overrides)
    scenarios, derived = derive_events(raw, scenarios)
    return raw, scenarios, derived
