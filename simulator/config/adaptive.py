"""``[interim]`` and ``[adaptation]``: decisions at an interim beyond the spending bounds.

``[interim]`` sets a futility rule on the predictive probability of success
or on the conditional power at each interim; ``[adaptation]`` re-estimates
the second stage's size with an inverse-normal combination test
(docs/adaptive.md). Both are read here into frozen dataclasses with the
messages of :mod:`simulator.config.fields`; what they need of the rest of
the config (looks, sidedness, the endpoint) is checked by :func:`check`,
called by the whole-config validator once the other sections are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.config.fields import Table, as_choice, as_float, as_int, fail

#: What a futility rule may be on.
FUTILITY_ON = ("predictive_probability", "conditional_power")
#: The effect a conditional power is computed at: the interim estimate, or the design's (truth, else prior mean).
CP_EFFECTS = ("observed", "design")
#: Re-estimation methods (a registry of one: the combination test that controls alpha whatever the rule does).
METHODS = ("inverse_normal",)
#: The effect the re-estimated size aims at: the interim estimate, or the posterior mean (phase 2 prior + interim data).
SSR_EFFECTS = ("observed", "posterior_mean")
#: Largest stage size (patients, both arms) accepted in ``min_per_stage`` / ``max_per_stage``.
MAX_STAGE = 10_000_000


@dataclass(frozen=True)
class Interim:
    """``[interim]``: futility on the predictive probability or conditional power, per interim."""

    futility_on: str
    below: tuple[float, ...]  # one threshold per interim look (futility when the value is strictly below)
    effect: str  # conditional power only: "observed" or "design"


@dataclass(frozen=True)
class Adaptation:
    """``[adaptation]``: sample-size re-estimation of the second stage."""

    method: str
    conditional_power: float
    min_per_stage: tuple[int, ...]  # stage-wise patients over both arms, one per stage
    max_per_stage: tuple[int, ...]
    promising_zone: tuple[float, float] | None
    effect: str


def parse_interim(data: Any, n_looks: int) -> Interim | None:
    """Read ``[interim]`` (``None`` when absent); ``n_looks`` is the design's number of looks."""
    if data is None:
        return None
    t = Table(data, "interim")
    rule = t.require("futility", '{ on = "predictive_probability" or "conditional_power", below = threshold }')
    t.finish()
    key = "interim.futility"
    r = Table(rule, key)
    on = as_choice(r.require("on", " or ".join(f'"{o}"' for o in FUTILITY_ON)), f"{key}.on", FUTILITY_ON)
    below = r.require("below", "a number in [0, 1], or a list with one per interim look")
    effect = as_choice(r.take("effect", "observed"), f"{key}.effect", CP_EFFECTS)
    if on != "conditional_power" and "effect" in rule:
        raise fail(f"{key}.effect", 'applies to on = "conditional_power" only', effect)
    r.finish()
    if n_looks < 2:
        raise fail("interim", "needs an interim look: design.looks must be at least 2", show_value=False)
    interims = n_looks - 1
    if isinstance(below, list):
        if len(below) != interims:
            raise fail(f"{key}.below", f"must have one threshold per interim look ({interims})", below)
        values = tuple(_probability(v, f"{key}.below") for v in below)
    else:
        values = (_probability(below, f"{key}.below"),) * interims
    return Interim(on, values, effect)


def _probability(value: Any, key: str) -> float:
    return as_float(value, key, allowed="in [0, 1]", check=lambda v: 0.0 <= v <= 1.0)


def parse_adaptation(data: Any, n_looks: int) -> Adaptation | None:
    """Read ``[adaptation]`` (``None`` when absent)."""
    if data is None:
        return None
    t = Table(data, "adaptation")
    method = as_choice(t.take("method", "inverse_normal"), "adaptation.method", METHODS)
    # The keys not read yet are named valid: a missing min_per_stage is named as missing, not max_per_stage as
    # its misspelling (a review).
    later = ("conditional_power", "min_per_stage", "max_per_stage", "promising_zone", "effect")
    target = as_float(t.require("conditional_power", "a number in (0, 1)", valid=later),
                      "adaptation.conditional_power", allowed="in (0, 1)", check=lambda v: 0.0 < v < 1.0)
    low = _stage_sizes(t.require("min_per_stage", "a list of patients per stage (both arms)", valid=later),
                       "adaptation.min_per_stage")
    high = _stage_sizes(t.require("max_per_stage", "a list of patients per stage (both arms)", valid=later),
                        "adaptation.max_per_stage")
    zone = t.take("promising_zone")
    effect = as_choice(t.take("effect", "observed"), "adaptation.effect", SSR_EFFECTS)
    t.finish()
    if n_looks < 2:
        raise fail("adaptation", "needs at least two stages: design.looks must be 2 or more", show_value=False)
    # The sizes per stage against the looks: in check(), once the endpoint is known to support re-estimation.
    if zone is not None:
        if not isinstance(zone, list) or len(zone) != 2:
            raise fail("adaptation.promising_zone", "must be [low, high], conditional powers with 0 <= low < high <= 1",
                       zone)
        bounds = tuple(_probability(v, "adaptation.promising_zone") for v in zone)
        if not bounds[0] < bounds[1]:
            raise fail("adaptation.promising_zone", "must be [low, high] with low < high", zone)
        zone = (bounds[0], bounds[1])
    return Adaptation(method, target, low, high, zone, effect)


def _stage_sizes(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise fail(key, "must be a list of patients per stage (both arms), one per stage", value)
    return tuple(as_int(v, key, low=2, high=MAX_STAGE) for v in value)


def check(interim: Interim | None, adaptation: Adaptation | None, config: Any, supports: Any, n_looks: int,
          stages: Any = lambda endpoint: None) -> None:
    """What the rules need of the rest of the validated config, each refusal naming its key.

    ``supports(endpoint)`` gives the sections the endpoint's kind simulates
    (the kind's ``interim_rules`` attribute, read by the validator), e.g.
    ``("interim", "adaptation")``; a section the kind does not simulate is
    refused before its details are checked. ``stages(endpoint)``: the number
    of stages the kind's re-estimation takes (``None``: any), checked before
    the stage sizes (a review: the sizes' count was named first, then, once
    given, the looks).
    """
    if interim is None and adaptation is None:
        return
    section = "adaptation" if adaptation is not None else "interim"
    if len(config.endpoints) != 1:
        raise fail(section, "needs a trial with one endpoint in this version (the rules act on its interim data)",
                   show_value=False)
    endpoint = config.endpoints[0]
    supported = supports(endpoint)
    for name, given in (("interim", interim), ("adaptation", adaptation)):
        if given is not None and name not in supported:
            allowed = f"only [{'], ['.join(supported)}] there" if supported else "no interim rules there"
            raise fail(name, f"is not supported yet for endpoint `{endpoint.name}` (kind = \"{endpoint.kind}\"): "
                       f"{allowed} in this version", show_value=False)
    if adaptation is not None:
        allowed_stages = stages(endpoint)
        if allowed_stages is not None and n_looks != allowed_stages:
            raise fail("design.looks", f"must be {allowed_stages} with [adaptation] for endpoint `{endpoint.name}` "
                       f"(kind = \"{endpoint.kind}\") in this version ({allowed_stages} stages)", n_looks)
        low, high = adaptation.min_per_stage, adaptation.max_per_stage
        for key, sizes in (("adaptation.min_per_stage", low), ("adaptation.max_per_stage", high)):
            if len(sizes) != n_looks:
                raise fail(key, f"must give one size per stage ({n_looks}), the first that of stage 1", list(sizes))
        for k, (a, b) in enumerate(zip(low, high)):
            if a > b:
                raise fail("adaptation.max_per_stage", f"must be >= min_per_stage at every stage (stage {k + 1}: "
                           f"{b} < {a})", list(high))
    if config.trial.n_total is None:
        raise fail("trial.n_total", f"is required with [{section}] (a design with these rules is simulated, not "
                   "sized by a formula; `p3sim design` without them gives a starting size)", show_value=False)
    if config.design.sided != 1:
        raise fail("design.sided", f"must be 1 with [{section}] (futility and re-estimation act on the favourable "
                   "direction)", config.design.sided)
    if getattr(endpoint, "test", None) == "fisher":
        raise fail(f"endpoints.{endpoint.name}.test", f"cannot be \"fisher\" with [{section}] (the conditional power "
                   "and the combination test need a z statistic); use z_pooled, z_unpooled, chi2_yates or "
                   "farrington_manning", endpoint.test)
    if adaptation is not None and interim is not None and len(adaptation.min_per_stage) > 2:
        raise fail("interim", "cannot be combined with [adaptation] over more than two stages in this version "
                   "(design.looks = 2 for both)", show_value=False)
    if adaptation is not None and config.trial.missing > 0:
        raise fail("trial.missing", "must be 0 with [adaptation] (stage sizes count evaluable patients)",
                   config.trial.missing)
