"""The terminal table of ``p3sim design``."""

from __future__ import annotations

from simulator.figures import params_label


def _fmt(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v, digits) for v in value) + "]"
    if isinstance(value, float):
        if 0 < abs(value) < 0.5 * 10**-digits:  # would print as 0.0000: its two significant digits instead
            return f"{value:.2g}"
        return f"{value:.{digits}f}"
    return str(value)


def design_table(result: dict) -> str:
    """One block per scenario and endpoint with the analytic quantities."""
    keys = (
        ("test", "test"),
        ("analysis_test", "analysis that decides (strata)"),
        ("efficacy_bounds", "efficacy bounds (z), planned fractions"),
        ("nominal_p", "nominal p (one tail), planned"),
        ("efficacy_bounds_realised", "efficacy bounds (z), realised looks"),
        ("futility_bounds_realised", "futility bounds (z), realised looks"),
        ("critical_effect", "critical effect (realised looks)"),
        ("critical_effect_unfavourable", "critical effect, unfavourable side"),
        ("futility_effect", "futility effect (realised looks)"),
        ("futility_effect_unfavourable", "futility effect, unfavourable side"),
        ("futility_bounds", "futility bounds (z), planned fractions"),
        ("futility_region", "futility region"),
        ("futility_note", "note"),
        ("alpha", "level (design.alpha, or the endpoint's share)"),
        ("alpha_spent", "cumulative alpha spent (of the level)"),
        ("spending_fractions", "alpha spent at (interim events / design.events; last 1)"),
        ("planned_fractions", "planned information fractions"),
        ("realised_fractions", "realised information fractions"),
        ("power", "power (analytic, docs/methods.md)"),
        ("reject_per_look", "rejection per look (analytic)"),
        ("reject_unfavourable", "unfavourable rejection (analytic)"),
        ("reject_unfavourable_per_look", "unfavourable rejection per look"),
        ("futility_per_look", "futility stop per look (analytic)"),
        ("expected_n_h1", "expected n under H1 at this n_total"),
        ("expected_n_h0", "expected n under H0 at this n_total"),
        ("reject_per_look_exact", "rejection per look (exact)"),
        ("power_exact", "power (exact)"),
        ("size_exact", "size (exact), favourable tail"),
        ("size_exact_two_sided", "size (exact), both tails"),
        ("assurance_exact", "assurance (exact, prior predictive)"),
        ("prior_p_benefit", "prior P(benefit)"),
        ("prior_p_benefit_note", "note on prior P(benefit)"),
        ("inflation_factor_planned", "inflation factor"),
        ("n_total_fixed_design", "n_total of the fixed design"),
        ("n_total_design", "n_total for design.power (unrounded)"),
        ("expected_n_h1_design", "expected n under H1 at the design size"),
        ("expected_n_h0_design", "expected n under H0 at the design size"),
        ("n_per_arm", "n per arm (split of n_total (rounded))"),
        ("analysis_times_at_n_total", "expected time of each look's events at n_total"),
        ("expected_events_per_look", "expected events per look (calendar looks, or with the cap)"),
        ("expected_analysis_times", "expected look times (calendar looks, or with the cap)"),
        ("cap_probability", "P(the cap comes before the final look's events)"),
        ("expected_events_h1", "expected events under H1"),
        ("expected_events_h0", "expected events under H0"),
        ("events", "events for design.power (unrounded)"),
        ("events_rounded", "events (rounded up)"),
        ("subjects", "subjects for design.power (unrounded)"),
        ("subjects_per_arm", "subjects per arm (rounded up)"),
        ("analysis_times", "expected look times at that size"),
        ("accrual_duration", "accrual duration at that size"),
        ("study_duration", "study duration at that size"),
        ("subjects_for_calendar_looks", "calendar looks: subjects for design.power (unrounded)"),
        ("n_total_rounded", "n_total (rounded)"),
        ("note", "note on the analytic values"),
    )
    #: With calendar looks these are the event-driven design's at the looks' fractions (docs/methods.md), and
    #: the size for design.power is ``subjects_for_calendar_looks``: the labels say which is which.
    event_driven = {"events", "events_rounded", "subjects", "subjects_per_arm", "analysis_times", "accrual_duration",
                    "study_duration"}
    lines = []
    meta = result.get("meta") or {}
    if meta.get("events") is not None:
        # The events every look is planned on (run and size simulate them), derived once for the run.
        by_size = meta.get("events_by_n_total") or {}
        derived = ", ".join(f"{v} at n_total {k}" for k, v in by_size.items()) if by_size else str(meta["events"])
        lines += [f"design.events (derived, the final look's events): {derived}",
                  f"  {meta.get('events_derivation', '')}".rstrip(), ""]
    for scenario in result["scenarios"]:
        computed = {"design.power": " (computed for design.power: trial.n_total not given)",
                    "design.events": " (the subjects expected to give design.events by the end of accrual plus "
                                     "follow_up.minimum: trial.n_total not given)"}.get(scenario.get("n_total_source"), "")
        # The swept values as the reports write them (n_total is given first already).
        params = {k: v for k, v in (scenario["params"] or {}).items() if k != "trial.n_total"}
        swept = f": {params_label(params)}" if params else ""
        lines.append(f"scenario n_total = {scenario['n_total']}{computed}{swept}")
        if scenario.get("n_total_note"):
            lines.append(f"  note: {scenario['n_total_note']}")
        for name, block in scenario["endpoints"].items():
            lines.append(f"  endpoint {name}")
            calendar = "subjects_for_calendar_looks" in block
            rows = []
            for key, label in keys:
                if key in block:
                    if calendar and key in event_driven:
                        label = f"event-driven looks: {label}"
                    elif calendar and key == "n_total_rounded":
                        label = "n_total (rounded, calendar looks)"
                    rows.append((label, _fmt(block[key])))
            width = max([40, *(len(label) for label, _ in rows)])
            lines += [f"    {label:<{width}} {value}" for label, value in rows]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
