"""Human-readable renderings of a report: Markdown and the terminal summary."""

from __future__ import annotations


def _pm(block: dict, key: str, digits: int = 4) -> str:
    if key not in block or block[key] is None:
        return "-"
    return f"{block[key]:.{digits}f} ± {block[key + '_mcse']:.{digits}f}"


def _label(scenario: dict) -> str:
    params = scenario["params"]
    if not params:
        return f"n_total = {scenario['n_total']}"
    return ", ".join(f"{k.split('.')[-1]} = {v}" for k, v in params.items())


def summary_table(report: dict) -> str:
    """One line per scenario: trial-level power, assurance and type I error."""
    rows = [("scenario", "n_total", "power ± MCSE", "assurance ± MCSE", "type1 ± MCSE")]
    for scenario in report["scenarios"]:
        rows.append(
            (
                _label(scenario),
                str(scenario["n_total"]),
                _pm(scenario, "power"),
                _pm(scenario, "assurance"),
                _pm(scenario, "type1"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(report: dict) -> str:
    """report.md: what was run, then a table per scenario."""
    meta = report["meta"]
    out = [
        f"# {meta['config'].get('trial', {}).get('name', 'Trial')}: simulation report",
        "",
        f"phase3-simulator {meta['version']}; seed {meta['seed']}; {meta['n_sims']} simulated trials per "
        f"stream; success rule: {meta['success_rule']}; runtime {meta['runtime_s']:.2f} s.",
        "",
        f"Command: `{meta['command']}`",
        "",
        "Every probability is a Monte Carlo estimate ± its Monte Carlo standard error. Power is",
        "trial success under the fixed `truth`; assurance is trial success when the true rates",
        "are drawn from the `prior` (phase 2 data); type I error is rejection on the null boundary.",
        "",
        "## Trial success",
        "",
        "| scenario | n_total | power | assurance | type I error |",
        "|---|---|---|---|---|",
    ]
    for s in report["scenarios"]:
        out.append(f"| {_label(s)} | {s['n_total']} | {_pm(s, 'power')} | {_pm(s, 'assurance')} | {_pm(s, 'type1')} |")
    for s in report["scenarios"]:
        out += [
            "",
            f"## Scenario: {_label(s)}",
            "",
            "| endpoint | test | n per arm (evaluable) | power | assurance | prior P(benefit) | "
            "reject unfavourable | type I error | exact power | analytic power | expected n |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, e in s["endpoints"].items():
            analytic = e.get("analytic", {})
            ppb = "-" if e.get("prior_p_benefit") is None else f"{e['prior_p_benefit']:.4f}"
            exact = analytic.get("power_exact")
            approx = analytic.get("power")
            out.append(
                f"| {name} | {e['test']}"
                f"{' (margin ' + format(e['margin'], 'g') + ')' if e.get('margin') else ''} | "
                f"{e['n_per_arm'][0]} / {e['n_per_arm'][1]} "
                f"({'/'.join(str(v) for v in e.get('n_evaluable_per_arm', e['n_per_arm']))}) | "
                f"{_pm(e, 'power')} | {_pm(e, 'assurance')} | {ppb} | "
                f"{_pm(e, 'reject_unfavourable')} | {_pm(e, 'type1')} | "
                f"{'-' if exact is None else format(exact, '.4f')} | {'-' if approx is None else format(approx, '.4f')} | "
                f"{e['expected_n']:.1f} |"
            )
    out.append("")
    return "\n".join(out)
