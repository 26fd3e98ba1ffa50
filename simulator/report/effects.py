"""Bounds on the effect scale: the observed effect that crosses each z bound.

A z bound is what the test uses; a clinician reads a risk difference or a
hazard ratio. These conversions are a guide to reading the bounds (the test
decides), computed with the same standard errors as ``p3sim design``'s
``critical_effect``:

* binary: the unpooled standard error of the risk difference at the null
  boundary (control rate as assumed, experimental at control + theta0), on the
  natural scale p_E - p_C;
* survival: Schoenfeld's approximation, log HR ~ N(log HR, (1 + r)^2 / (r d))
  with r = experimental / control allocation and d the events at the look.
"""

from __future__ import annotations

import math


def _binary(plan, bounds) -> list:
    if plan.truth is None and plan.prior is None:
        return [None] * len(bounds)
    sign = -1.0 if plan.endpoint.better == "lower" else 1.0
    p_c, _ = plan.null_truth()
    p_e = min(max(p_c + plan.theta0, 0.0), 1.0)
    out = []
    for k, bound in enumerate(bounds):
        if not math.isfinite(bound):
            out.append(None)
            continue
        se = math.sqrt(p_c * (1 - p_c) / plan.looks.evaluable_c[k] + p_e * (1 - p_e) / plan.looks.evaluable_e[k])
        out.append(sign * (plan.theta0 + float(bound) * se))
    return out


def _survival(plan, bounds) -> list:
    control, experimental = plan.config.trial.allocation
    r = experimental / control
    out = []
    for k, bound in enumerate(bounds):
        events = float(plan.looks.events[k])
        if not math.isfinite(bound) or events <= 0:
            out.append(None)
            continue
        out.append(math.exp(-float(bound) * (1.0 + r) / math.sqrt(r * events)))
    return out


def effect_bounds(plan) -> dict:
    """``critical_effect`` and ``futility_effect`` per look (``None`` where no bound).

    The efficacy side comes from the plan's own ``critical_effects()`` where
    it has one (the numbers ``p3sim design`` prints); the futility side uses
    the same standard errors. Returns an empty dict for an endpoint kind it
    does not know, so that a new kind never breaks a report.
    """
    convert = {"binary": _binary, "survival": _survival}.get(getattr(plan.endpoint, "kind", None))
    if convert is None:
        return {}
    try:
        own = getattr(plan, "critical_effects", None)
        return {
            "critical_effect": own() if own is not None else convert(plan, plan.bounds.efficacy),
            "futility_effect": convert(plan, plan.bounds.futility),
        }
    except (AttributeError, TypeError, IndexError, ZeroDivisionError):
        return {}
