"""results.csv: the scenarios of a report as one flat table.

Layout (long format, one header line, comma-separated, UTF-8):

- one row per scenario with ``level = trial``: trial success under
  ``[success]`` (``power``, ``assurance``, ``type1`` with their MCSEs); the
  endpoint columns are empty;
- then one row per endpoint of that scenario with ``level = endpoint`` and
  ``endpoint`` = its name.

Columns, in order: ``scenario`` (index in report.json, from 0), one column
per swept key (the dotted key as header, in the order of the config), then
:data:`COLUMNS`, then the optional columns (:func:`optional_columns`, declared
by the endpoint kinds) that some row has.  An absent value (no prior, no null run, a trial row's endpoint fields)
is an empty cell.  Floats are written with Python's shortest round-trip
repr, so the CSV holds exactly the numbers in report.json.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from simulator.endpoints import get_kind, kind_names
from simulator.files import json_safe, write_atomic

#: Columns of every results.csv after ``scenario`` and the swept keys.
COLUMNS = (
    "n_total", "level", "endpoint", "kind", "test",
    "power", "power_mcse", "assurance", "assurance_mcse", "type1", "type1_mcse",
    "reject_unfavourable", "reject_unfavourable_mcse",
    "expected_n", "expected_n_mcse", "prior_p_benefit", "power_exact", "power_analytic",
)



#: Optional columns of every kind: the two-sided type I error (``design.sided = 2``) and the
#: multiplicity-adjusted successes.
GENERIC_OPTIONAL = ("type1_two_sided", "type1_two_sided_mcse",
                    # Two-sided with a prior: the unfavourable rejections under the prior.
                    "assurance_unfavourable", "assurance_unfavourable_mcse",
                    # Holm or fixed sequence: each endpoint's success after the adjustment.
                    "power_adjusted", "power_adjusted_mcse", "assurance_adjusted", "assurance_adjusted_mcse",
                    "type1_adjusted", "type1_adjusted_mcse")


def optional_columns() -> tuple[str, ...]:
    """Columns written only when some row reports them: the generic ones, then each kind's ``csv_columns``."""
    columns: list[str] = list(GENERIC_OPTIONAL)
    for name in kind_names():
        columns += [c for c in get_kind(name).csv_columns if c not in columns]
    return tuple(columns)

_TRIAL_KEYS = (
    "power", "power_mcse", "assurance", "assurance_mcse", "type1", "type1_mcse", "type1_two_sided", "type1_two_sided_mcse",
)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _inert(value)
    if isinstance(value, (int, float)):
        return str(value)
    return _inert(json.dumps(json_safe(value)))  # a review: -inf in a swept list was written -Infinity


def _inert(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP's rule: quote a leading = + - @ tab CR)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of results.csv for a report.json document.

    Examples
    --------
    >>> report = {"scenarios": [{"params": {"trial.n_total": 100}, "n_total": 100, "power": 0.5,
    ...            "power_mcse": 0.01, "endpoints": {"resp": {"kind": "binary", "power": 0.5}}}]}
    >>> header, body = rows(report)
    >>> header[:4], body[1][:4]
    (['scenario', 'trial.n_total', 'n_total', 'level'], ['0', '100', '100', 'endpoint'])
    """
    scenarios = report["scenarios"]
    params: list[str] = []
    for scenario in scenarios:
        for key in scenario.get("params", {}):
            if key not in params:
                params.append(key)
    endpoint_blocks = [e for s in scenarios for e in s.get("endpoints", {}).values()]
    optional = [c for c in optional_columns() if any(c in e for e in endpoint_blocks + list(scenarios))]
    # With strata the probabilities are the deciding analysis's (a review: `test` read z_pooled beside CMH's power).
    if any(isinstance(e.get("strata"), dict) and e["strata"].get("analysis_test") for e in endpoint_blocks):
        optional.append("analysis_test")
    # What power_exact and power_analytic describe where it is not the simulated design (a review: unmarked).
    if any(_analytic_of(e) for e in endpoint_blocks):
        optional.append("analytic_of")
    labels = ((report.get("meta") or {}).get("labels") or {}).get("endpoints") or {}
    if labels:
        optional.append("label")  # the endpoint's display text (``label``), when some endpoint has one
    header = ["scenario", *(_inert(p) for p in params), *COLUMNS, *optional]
    body = []
    for index, scenario in enumerate(scenarios):
        lead = [str(index), *(_cell(scenario.get("params", {}).get(k)) for k in params)]
        trial = {"n_total": scenario.get("n_total"), "level": "trial", **{k: scenario.get(k) for k in _TRIAL_KEYS}}
        body.append(lead + [_cell(trial.get(c)) for c in (*COLUMNS, *optional)])
        for name, block in scenario.get("endpoints", {}).items():
            analytic = block.get("analytic", {}) or {}
            values = {
                **block, "n_total": scenario.get("n_total"), "level": "endpoint", "endpoint": name,
                "power_exact": analytic.get("power_exact"), "power_analytic": analytic.get("power"),
                "label": labels.get(name), "analytic_of": _analytic_of(block),
                "analysis_test": (block.get("strata") or {}).get("analysis_test") if isinstance(block.get("strata"), dict)
                else None,
            }
            body.append(lead + [_cell(values.get(c)) for c in (*COLUMNS, *optional)])
    return header, body


def _analytic_of(block: dict) -> str | None:
    """What an endpoint's analytic and exact values describe when it is not the design simulated, else None.

    With interim rules or re-estimation (``interim``) they are the design without its rules; read at a survival
    endpoint's looks (``realised_fractions_note``) they are its design at the planned looks (report.md's
    operating characteristics say the same in their column headers).
    """
    parts = []
    if isinstance(block.get("interim"), dict):
        parts.append("the design without the rules")
    if "realised_fractions_note" in block:
        parts.append("the planned looks")
    return "; ".join(parts) or None


def to_csv(report: dict) -> str:
    """results.csv as text."""
    header, body = rows(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


def write_csv(report: dict, path) -> Path:
    """Write results.csv for ``report`` to ``path``."""
    path = Path(path)
    write_atomic(path, to_csv(report))
    return path
