"""Human-readable renderings of a report: Markdown and the terminal summary."""

from __future__ import annotations

from simulator.estimate import Estimate, pm_text
from simulator.report import tables
from simulator.report.reproducibility import markdown_block


def _pm(block: dict, key: str, n_sims: int | None) -> str:
    """``value ± mcse``; a probability of exactly 0 or 1 with its rule-of-three bound instead (:class:`Estimate`)."""
    if key not in block or block[key] is None:
        return "-"
    return str(Estimate(block[key], block[key + "_mcse"], n=n_sims))


def _duration_endpoint(report: dict) -> str | None:
    """The first endpoint that reports an expected study duration (a survival endpoint), if any."""
    for scenario in report["scenarios"]:
        for name, block in scenario.get("endpoints", {}).items():
            if block.get("expected_duration") is not None:
                return name
    return None


def summary_table(report: dict) -> str:
    """One line per scenario: trial-level power, assurance and type I error (those some scenario simulated).

    With a survival endpoint, also its expected study duration (months from
    the first patient in to the stopping analysis): a sweep over n_total
    with the events held fixed moves the duration, not the power.

    A probability of exactly 0 (or 1) shows its rule-of-three bound rather
    than a useless ``± 0``: ``0 (< 0.0003)`` after 10000 trials.
    """
    duration = _duration_endpoint(report)
    # Two-sided designs: `type1` is the favourable tail only (the one success counts), about alpha / 2.
    two_sided = any(e.get("sided") == 2 for s in report["scenarios"] for e in s.get("endpoints", {}).values())
    # With several endpoints the trial's type I error is its success rule with every null at once (a review: read
    # as the trial's false-positive rate, 0.00002 under rule all where each endpoint's is about alpha).
    several = any(len(s.get("endpoints", {})) > 1 for s in report["scenarios"])
    type1 = "type1 (favourable tail)" if two_sided else "type1"
    # Only the streams some scenario simulated (a review: empty assurance and type I error columns, one headed
    # "all nulls at once" for a null never simulated).
    streams = [(key, text) for key, text in (
        ("power", "power"), ("assurance", "assurance"), ("type1", type1 + (" (all nulls at once)" if several else "")),
    ) if any(s.get(key) is not None for s in report["scenarios"])]
    header = ("scenario", "n_total", *(f"{text} ± MCSE" for _, text in streams))
    rows = [header + ((f"E[duration] ({duration}, months) ± MCSE",) if duration else ())]
    for scenario in report["scenarios"]:
        row = (
            tables.scenario_label(scenario),
            str(scenario["n_total"]),
            *(_pm(scenario, key, tables.own_n_sims(report, scenario)) for key, _ in streams),
        )
        if duration:
            block = scenario["endpoints"].get(duration) or {}
            value = block.get("expected_duration")
            # The tables' rule for an MCSE's decimals (a review: an MCSE of 0.005 printed as ± 0.00).
            row += ("-" if value is None else pm_text(value, block.get("expected_duration_mcse", 0.0), 2),)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    # A design whose patients cannot give the events it waits for must not pass unseen.
    for scenario in report["scenarios"]:
        for name, block in scenario.get("endpoints", {}).items():
            if tables.events_short(block):
                lines.append(
                    f"note: {tables.scenario_label(scenario)}, {name}: "
                    f"{_pm(block, 'events_short', tables.own_n_sims(report, scenario))} of the "
                    "trials ran out of events before a look's target and were analysed at their last event "
                    "(\"short of target events\" in report.md, events_short in report.json)"
                )
    return "\n".join(lines)


def _size_value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_size_value(v) for v in value)
    return str(value)


def _size_section(report: dict) -> list[str]:
    """``## Size search`` (``p3sim size``): the ``size`` block and every size evaluated."""
    size = report.get("size")
    if not isinstance(size, dict):
        return []
    out = ["", "## Size search", "", "| key | value |", "|---|---|"]
    for key, value in size.items():
        if key != "evaluated":
            out.append(f"| {key} | {tables.md_text(_size_value(value))} |")
    evaluated = size.get("evaluated") or []
    if evaluated:
        axis = size.get("axis", "n_total")
        out += ["", "Every size evaluated (the plot `plot-size-search` of report.html draws them):", "",
                f"| {axis} | {size.get('target', 'estimate')} ± MCSE |", "|---|---|"]
        for entry in evaluated:
            estimate = entry.get("estimate")
            text = "-" if estimate is None else f"{estimate:.4f} ± {entry.get('mcse', 0.0):.4f}"
            out.append(f"| {entry.get(axis, '-')} | {text} |")
    return out


def markdown(report: dict) -> str:
    """report.md: what was run, the operating characteristics, how to rerun it.

    The tables are those of report.html (:mod:`simulator.report.tables`);
    the runtime is on a line of its own in the reproducibility section, the
    only line that differs between two identical runs.
    """
    meta = report["meta"]
    kind = "size search" if isinstance(report.get("size"), dict) else "simulation report"
    out = [
        f"# {tables.md_text(meta['config'].get('trial', {}).get('name', 'Trial'))}: {kind}",
        "",
        f"phase3-simulator {meta['version']}; {tables.md_text(tables.design_facts(report))}.",
        "",
        tables.md_text(" ".join(tables.reading_guide(report))),
        "",
        "## Trial success",
        "",
        *tables.markdown_table(tables.trial_table(report)),
    ]
    for i, s in enumerate(report["scenarios"]):
        out += ["", f"## Scenario: {tables.md_text(tables.scenario_label(s))}", "",
                *tables.markdown_table(tables.endpoint_table(report, i))]
        stated = tables.hypotheses(report, i)
        if stated:
            out += ["", f"Hypotheses: {tables.md_text(stated)}"]
        out += [line for note in tables.analytic_notes(report, i) for line in ("", f"Analytic: {tables.md_text(note)}")]
        looks = tables.look_table(report, i)
        if looks is not None:
            out += ["", f"{looks.caption}:", "", *tables.markdown_table(looks)]
        interim = tables.interim_table(report, i)
        if interim is not None:
            out += ["", f"{interim.caption}:", "", *tables.markdown_table(interim)]
        for table in tables.strata_tables(report, i):
            out += ["", f"{table.caption}:", "", *tables.markdown_table(table)]
    out += _size_section(report)
    out += ["", *markdown_block(report)]
    return "\n".join(out)
