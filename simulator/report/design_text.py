"""The terminal table of ``p3sim design``."""

from __future__ import annotations


def _fmt(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v, digits) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def design_table(result: dict) -> str:
    """One block per scenario and endpoint with the analytic quantities."""
    keys = (
        ("test", "test"),
        ("efficacy_bounds", "efficacy bounds (z)"),
        ("nominal_p", "nominal p"),
        ("critical_effect", "critical effect"),
        ("power", "power (normal approximation)"),
        ("power_exact", "power (exact enumeration)"),
        ("size_exact", "size (exact enumeration)"),
        ("assurance_exact", "assurance (exact, prior predictive)"),
        ("prior_p_benefit", "prior P(benefit)"),
        ("n_total", "n_total for design.power (unrounded)"),
        ("n_per_arm", "n per arm (rounded up)"),
        ("n_total_rounded", "n_total (rounded)"),
    )
    lines = []
    for scenario in result["scenarios"]:
        lines.append(f"scenario n_total = {scenario['n_total']}" + (f" {scenario['params']}" if scenario["params"] else ""))
        for name, block in scenario["endpoints"].items():
            lines.append(f"  endpoint {name}")
            for key, label in keys:
                if key in block:
                    lines.append(f"    {label:<40} {_fmt(block[key])}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
