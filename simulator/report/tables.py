"""The operating-characteristics tables, defined once for Markdown and HTML.

Each table is a list of header labels and rows of :class:`Cell`; a cell knows
the text it shows and, for numbers, where in report.json the number lives
(a path of keys and indices), so that the HTML can carry it as a data
attribute and a test can check every shown number against report.json.
Columns for quantities that a report may or may not hold (type I error,
expected events, expected duration, ...) appear only when some row has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.estimate import DIGITS, extreme_text, number_text, pm_text
from simulator.figures import endpoint_text, scenario_label


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, and the report.json paths of the numbers it shows."""

    text: str
    path: tuple | None = None  # the value
    mcse_path: tuple | None = None  # its Monte Carlo standard error


@dataclass(frozen=True)
class Table:
    """Header labels and rows; ``id`` names it in the HTML."""

    id: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def lookup(report: dict, path: tuple):
    """The value at ``path`` (keys and indices) in report.json, ``None`` when absent."""
    node = report
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def estimate(report: dict, path: tuple, digits: int = DIGITS) -> Cell:
    """``value ± mcse`` where ``path[:-1] + (key + "_mcse",)`` holds the MCSE.

    A per-look entry (``path`` ending in an index) takes its MCSE from the
    list ``<key>_mcse`` at the same index.
    """
    value = lookup(report, path)
    if not _is_number(value):
        return Cell("-")
    if isinstance(path[-1], int):
        mcse_path = path[:-2] + (f"{path[-2]}_mcse", path[-1])
    else:
        mcse_path = path[:-1] + (f"{path[-1]}_mcse",)
    mcse = lookup(report, mcse_path)
    if not _is_number(mcse):
        return Cell(number_text(value, digits), path)
    return Cell(pm_text(value, mcse, digits), path, mcse_path)


def own_n_sims(report: dict, scenario: dict | None) -> int | None:
    """The simulated trials per stream of ``scenario`` (an entry of ``report["scenarios"]``), else the run's
    (``meta.n_sims``): a sweep over ``simulation.n_sims`` gives each scenario its own."""
    own = scenario.get("n_sims") if isinstance(scenario, dict) else None
    return own if own is not None else report.get("meta", {}).get("n_sims")


def scenario_n_sims(report: dict, path: tuple) -> int | None:
    """:func:`own_n_sims` of the scenario ``path`` is in (``("scenarios", i, ...)``)."""
    return own_n_sims(report, lookup(report, path[:2]) if path[:1] == ("scenarios",) else None)


def probability(report: dict, path: tuple) -> Cell:
    """A simulated probability: ``value ± mcse``, or at 0 and 1 the rule-of-three bound (:func:`extreme_text`)."""
    cell = estimate(report, path)
    value = lookup(report, path)
    extreme = extreme_text(value, scenario_n_sims(report, path)) if _is_number(value) else None
    if extreme is None:
        return cell
    return Cell(extreme, cell.path, cell.mcse_path)


def plain(report: dict, path: tuple, digits: int = DIGITS) -> Cell:
    """A number without MCSE (analytic values, bounds, fractions)."""
    value = lookup(report, path)
    if not _is_number(value):
        return Cell("-")
    return Cell(number_text(value, digits), path)


def _keep(columns, rows_data) -> list:
    """Columns that are not optional, or that some row fills."""
    return [c for c in columns if not c[2] or any(c[2](row) for row in rows_data)]


def n_looks_of(report: dict) -> int:
    """The trial's number of looks: the most any endpoint of any scenario has (events, times or fractions)."""
    return max((n_looks(e) for s in report.get("scenarios", []) for e in s.get("endpoints", {}).values()), default=1)


def has_assurance(report: dict) -> bool:
    """Whether any scenario simulated the assurance stream (some endpoint has a prior)."""
    return any(s.get("assurance") is not None for s in report.get("scenarios", []))


def n_sims_text(report: dict) -> str:
    """The run's trials per stream, or their range when a sweep over ``simulation.n_sims`` varies them."""
    own = sorted({s["n_sims"] for s in report.get("scenarios", []) if isinstance(s.get("n_sims"), int)})
    if len(own) > 1:
        return f"{own[0]} to {own[-1]} (swept: each scenario's n_sims)"
    return str(own[0] if own else report["meta"].get("n_sims", "-"))


def design_facts(report: dict) -> str:
    """One line of the design: alpha, sides, looks, rule, trials, seed, arm labels (report.md and report.html)."""
    config = report["meta"].get("config") or {}
    design = config.get("design") or {}
    facts = [
        f"alpha {design.get('alpha', 0.025)}",
        f"{design.get('sided', 1)}-sided",
        f"looks {n_looks_of(report)}",
        f"success rule: {report['meta'].get('success_rule', (config.get('success') or {}).get('rule', 'all'))}",
        *_multiplicity_facts(report),
        f"{n_sims_text(report)} simulated trials per stream",
        f"seed {report['meta'].get('seed', '-')}",
    ]
    arms = ((report["meta"].get("labels") or {}).get("arms")) or {}
    if arms:
        facts.append("arms: " + ", ".join(f"{arm} = {text}" for arm, text in arms.items()))
    return "; ".join(facts)


def _multiplicity_facts(report: dict) -> list[str]:
    """The multiplicity procedure, said where it changes what the endpoints' numbers are (``meta.multiplicity``)."""
    procedure = report["meta"].get("multiplicity")
    endpoints = list(((report.get("scenarios") or [{}])[0].get("endpoints") or {}).values())
    m = len(endpoints)
    if procedure == "bonferroni":
        each = f" = {endpoints[0]['alpha']:.4g}" if endpoints and isinstance(endpoints[0].get("alpha"), float) else ""
        return [f"multiplicity: Bonferroni, each of the {m} endpoints at alpha / {m}{each} "
                "(their power, assurance and type I error are at that level)"]
    if procedure == "holm":
        return [f"multiplicity: Holm's step-down over the {m} endpoints (the adjusted columns)"]
    if procedure == "fixed_sequence":
        return ["multiplicity: fixed sequence, each at alpha in the order " + ", ".join(report["meta"].get("order") or [])
                + " (the adjusted columns)"]
    return []


def reading_guide(report: dict) -> list[str]:
    """The sentences above the tables of report.md and report.html: what the numbers are (plain text)."""
    scenarios = report.get("scenarios") or []
    blocks = [e for s in scenarios for e in (s.get("endpoints") or {}).values()]
    simulated_type1 = any(s.get("type1") is not None for s in scenarios)
    out = ["Every simulated probability is a Monte Carlo estimate ± its Monte Carlo standard error (MCSE); exact, "
           "analytic and prior values are computed, not simulated, and are labelled so."]
    what = "Power is trial success under the fixed truth"
    if has_assurance(report):
        what += ("; assurance is trial success when the true effects are drawn from the prior (the phase 2 data)"
                 + _assurance_ceiling(report))
        notes = [e["prior_p_benefit_note"] for e in blocks if e.get("prior_p_benefit_note")]
        if notes:
            what += f", except where that is no bound: {notes[0]}"
    if simulated_type1:
        what += "; type I error is rejection on the null boundary"
    out.append(what + ".")
    if simulated_type1 and len(scenarios[0].get("endpoints") or {}) > 1:
        out.append("With several endpoints the trial's type I error is its success rule with every endpoint at its "
                   "null at once (under the rule \"all\" far below any one endpoint's); each endpoint's own type I "
                   "error is in its operating characteristics.")
    if any(e.get("margin") and e.get("prior_p_benefit") is not None for e in blocks):
        out.append("For a non-inferiority endpoint (a margin), prior P(benefit) is the prior probability of "
                   "non-inferiority: the effect better than the margin.")
    meta = report.get("meta") or {}
    if meta.get("events") is not None and meta.get("events_derivation"):
        by_size = meta.get("events_by_n_total") or {}
        events = ", ".join(f"{v} at n_total {k}" for k, v in by_size.items()) if by_size else str(meta["events"])
        out.append(f"Survival events at the final look (design.events, derived): {events}: "
                   f"{meta['events_derivation']}.")
    return out


def _assurance_ceiling(report: dict) -> str:
    """What bounds assurance, as the success rule has it (the tail of the reading guide's sentence)."""
    endpoints = (report.get("scenarios") or [{}])[0].get("endpoints") or {}
    ceiling = ("prior probability that the experimental arm is better (prior P(benefit)), except by "
               "type I errors")
    if len(endpoints) <= 1:
        return f", and cannot exceed the {ceiling}"
    # The rule of every scenario (a sweep over success.rule gives them both; meta has the first scenario's).
    first = report["meta"].get("success_rule", "all")
    rules = {(s.get("params") or {}).get("success.rule", first) for s in report.get("scenarios") or []} or {first}
    clauses = {"all": "under the rule \"all\" the trial's cannot exceed the smallest endpoint's assurance",
               "any": "under the rule \"any\" the trial's assurance can exceed every endpoint's"}
    return f"; an endpoint's assurance cannot exceed its {ceiling}; " + "; ".join(
        clauses[rule] for rule in ("all", "any") if rule in rules)


def type1_label(blocks) -> str:
    """``type1`` is one tail, the favourable one: say so where a two-sided design also reports both tails."""
    if any(b.get("type1_two_sided") is not None for b in blocks):
        return "type I error (favourable tail)"
    return "type I error"


def trial_table(report: dict) -> Table:
    """Trial success (under ``[success]``) per scenario."""
    scenarios = report["scenarios"]
    # With several endpoints the trial's type I error is its rule with every null true at once: under
    # rule "all" far below any one endpoint's (docs/reports.md); the header says so.
    several = len(scenarios[0].get("endpoints") or {}) > 1 if scenarios else False
    type1 = type1_label(scenarios) + (" (all nulls at once)" if several else "")
    columns = [
        ("scenario", lambda i, s: Cell(scenario_label(s)), None),
        ("n_total", lambda i, s: Cell(str(s["n_total"]), ("scenarios", i, "n_total")), None),
        ("power", lambda i, s: probability(report, ("scenarios", i, "power")), lambda s: s.get("power") is not None),
        ("assurance", lambda i, s: probability(report, ("scenarios", i, "assurance")), lambda s: s.get("assurance") is not None),
        (type1, lambda i, s: probability(report, ("scenarios", i, "type1")),
         lambda s: s.get("type1") is not None),
        ("type I error (both tails)", lambda i, s: probability(report, ("scenarios", i, "type1_two_sided")),
         lambda s: s.get("type1_two_sided") is not None),
    ]
    kept = _keep(columns, scenarios)
    rows = tuple(tuple(make(i, s) for _, make, _ in kept) for i, s in enumerate(scenarios))
    return Table("oc-trial", "Trial success", tuple(label for label, _, _ in kept), rows)


def endpoint_table(report: dict, i: int) -> Table:
    """One row per endpoint of scenario ``i``: power, assurance, errors, sizes."""
    scenario = report["scenarios"][i]
    base = ("scenarios", i, "endpoints")

    def has(key):
        return lambda e: e.get(key) is not None

    def test_text(e):
        margin = e.get("margin") or 0
        return deciding_test(e) + (f" (margin {margin:g})" if margin else "")

    def sizes(e):
        if "n_per_arm" not in e:
            return "-"
        text = f"{e['n_per_arm'][0]} / {e['n_per_arm'][1]}"
        if "n_evaluable_per_arm" in e:
            text += f" ({e['n_evaluable_per_arm'][0]} / {e['n_evaluable_per_arm'][1]})"
        if (e.get("strata") or {}).get("randomisation") in ("blocks", "minimisation"):
            text += " planned"  # the arms' totals vary from trial to trial
        return text

    endpoints = scenario["endpoints"]
    # With [interim] / [adaptation] the analytic and exact values describe the design without its rules.
    without_rules = " (without the rules)" if any(isinstance(e.get("interim"), dict) for e in endpoints.values()) else ""
    # An endpoint read at a survival endpoint's looks (a joint trial): its exact and analytic values are its
    # design's at the planned looks, not at the looks the trials had (its analytic note says so).
    if any("realised_fractions_note" in e for e in endpoints.values()):
        without_rules += " (planned looks)"
    columns = [
        ("endpoint", lambda n, e: Cell(endpoint_text(report, n)), None),
        ("test", lambda n, e: Cell(test_text(e)), None),
        ("n per arm (evaluable)", lambda n, e: Cell(sizes(e)), None),
        ("power", lambda n, e: probability(report, base + (n, "power")), has("power")),
        # Holm or fixed sequence: the endpoint's success after the adjustment, beside the unadjusted one.
        ("power (adjusted)", lambda n, e: probability(report, base + (n, "power_adjusted")), has("power_adjusted")),
        ("assurance", lambda n, e: probability(report, base + (n, "assurance")), has("assurance")),
        ("assurance (adjusted)", lambda n, e: probability(report, base + (n, "assurance_adjusted")),
         has("assurance_adjusted")),
        ("prior P(benefit)", lambda n, e: plain(report, base + (n, "prior_p_benefit")), has("prior_p_benefit")),
        # A one-sided test never rejects the other way: the column would only say 0 (< 3/n).
        ("reject unfavourable", lambda n, e: probability(report, base + (n, "reject_unfavourable")),
         lambda e: e.get("sided") == 2 and e.get("reject_unfavourable") is not None),
        ("assurance, unfavourable", lambda n, e: probability(report, base + (n, "assurance_unfavourable")),
         has("assurance_unfavourable")),
        (type1_label(endpoints.values()), lambda n, e: probability(report, base + (n, "type1")), has("type1")),
        ("type I error (both tails)", lambda n, e: probability(report, base + (n, "type1_two_sided")),
         has("type1_two_sided")),
        ("type I error (adjusted)", lambda n, e: probability(report, base + (n, "type1_adjusted")), has("type1_adjusted")),
        ("expected n", lambda n, e: estimate(report, base + (n, "expected_n"), 1), None),
        ("expected events", lambda n, e: estimate(report, base + (n, "expected_events"), 1), has("expected_events")),
        ("expected duration (months)", lambda n, e: estimate(report, base + (n, "expected_duration"), 1), has("expected_duration")),
        ("ended by the cap", lambda n, e: probability(report, base + (n, "cap_reached")),
         lambda e: e.get("max_duration") is not None and "cap_reached" in e),
        # Trials whose patients never gave a look's target events (analysed at their last event).
        ("short of target events", lambda n, e: probability(report, base + (n, "events_short")), events_short),
        ("exact power" + without_rules, lambda n, e: plain(report, base + (n, "analytic", "power_exact")),
         lambda e: (e.get("analytic") or {}).get("power_exact") is not None),
        # Beside the simulated type I error (a review: an exact size 0.0243 sat in report.json alone while the
        # table showed 0.0253 ± 0.0005); only where the run simulated one.
        ("exact size" + without_rules, lambda n, e: plain(report, base + (n, "analytic", "size_exact")),
         lambda e: "type1" in e and (e.get("analytic") or {}).get("size_exact") is not None),
        ("analytic power" + without_rules, lambda n, e: plain(report, base + (n, "analytic", "power")),
         lambda e: (e.get("analytic") or {}).get("power") is not None),
    ]
    endpoints = scenario["endpoints"]
    kept = _keep(columns, list(endpoints.values()))
    rows = tuple(tuple(make(name, e) for _, make, _ in kept) for name, e in endpoints.items())
    return Table(f"oc-s{i}", f"Operating characteristics: {scenario_label(scenario)}",
                 tuple(label for label, _, _ in kept), rows)


def deciding_test(e: dict) -> str:
    """The test whose decisions an endpoint block's probabilities are: with strata the analysis that decided
    (``cmh (stratified)``, the stratified log-rank), else the endpoint's ``test``."""
    strata = e.get("strata") if isinstance(e.get("strata"), dict) else {}
    if strata.get("analysis_test"):
        return f"{strata['analysis_test']} ({strata['analysis']})"
    return e.get("test", "-")


def hypotheses(report: dict, i: int) -> str | None:
    """``NAME: H0: ... against H1: ... (TEST, one-sided alpha A)`` for each endpoint of scenario ``i``: what its
    power and type I error are about (the effect scale, the direction of benefit, a non-inferiority margin)."""
    parts = []
    for name, e in report["scenarios"][i]["endpoints"].items():
        scale, margin = e.get("effect_scale"), e.get("margin") or 0
        if not scale:
            continue
        if scale == "hazard ratio":  # lower is better; a margin is a hazard ratio above 1
            null = margin if margin else 1
            h0, h1 = f"HR >= {null:g}", f"HR < {null:g}"
            two = f"HR = {null:g}"
        else:
            lower = e.get("better") == "lower"
            null = (margin if lower else -margin) if margin else 0
            h0, h1 = (f"{scale} >= {null:g}", f"{scale} < {null:g}") if lower else (f"{scale} <= {null:g}",
                                                                                 f"{scale} > {null:g}")
            two = f"{scale} = {null:g}"
        alpha = e.get("alpha")
        if e.get("sided", 1) == 2:  # two-sided test; success is a rejection on the favourable side
            level = "" if alpha is None else f", two-sided alpha {alpha:g}"
            parts.append(f"{name}: H0: {two} against H1: {h1} (success on the favourable side; "
                         f"{deciding_test(e)}{level})")
        else:
            level = "" if alpha is None else f", one-sided alpha {alpha:g}"
            parts.append(f"{name}: H0: {h0} against H1: {h1} ({deciding_test(e)}{level})")
    return "; ".join(parts) or None


def analytic_notes(report: dict, i: int) -> list[str]:
    """Each endpoint's analytic ``note`` in scenario ``i``, as ``NAME: note`` (e.g. where Schoenfeld's
    proportional-hazards power misleads, docs/survival_nph.md)."""
    endpoints = report["scenarios"][i]["endpoints"]
    return [f"{name}: {(e.get('analytic') or {})['note']}" for name, e in endpoints.items()
            if isinstance((e.get("analytic") or {}).get("note"), str)]


def n_looks(endpoint: dict) -> int:
    return len(endpoint.get("planned_fractions") or endpoint.get("efficacy_bounds") or [None])


def look_table(report: dict, i: int) -> Table | None:
    """One row per endpoint and look of scenario ``i`` (group-sequential designs only)."""
    scenario = report["scenarios"][i]
    endpoints = {n: e for n, e in scenario["endpoints"].items() if n_looks(e) > 1}
    if not endpoints:
        return None
    base = ("scenarios", i, "endpoints")

    def per_look(key):
        return lambda e: isinstance(e.get(key), list)

    def varying_events(e):
        """Calendar looks or a cap: the events at a look vary from trial to trial."""
        return isinstance(e.get("expected_look_events"), list) and (
            e.get("look_times") is not None or e.get("max_duration") is not None
        )

    def realised_events(e):
        """The events the looks had: where they vary, or where some trials ran short of the target."""
        return varying_events(e) or (isinstance(e.get("expected_look_events"), list) and events_short(e))

    columns = [
        ("endpoint", lambda n, k, e: Cell(n), None),
        ("look", lambda n, k, e: Cell(str(k + 1)), None),
        # Read at a survival endpoint's looks: the mean fraction of the trials that tested the look, where its
        # mean bounds come from (a plain mean counts 0 for the others).
        # With its MCSE where it is a simulated mean (tested_fractions_mcse; a review: shown without one).
        ("information fraction (realised)", lambda n, k, e: _fraction_cell(report, base + (n, _fraction_key(e), k)),
         None),
        # Survival: the events each look waits for (event-driven looks; calendar looks' vary: "mean events").
        ("events", lambda n, k, e: plain(report, base + (n, "look_events", k)),
         lambda e: isinstance(e.get("look_events"), list) and not varying_events(e)),
        ("efficacy bound (z)", lambda n, k, e: plain(report, base + (n, "efficacy_bounds", k), 3), None),
        ("critical effect", lambda n, k, e: plain(report, base + (n, "critical_effect", k)), per_look("critical_effect")),
        ("futility bound (z)", lambda n, k, e: plain(report, base + (n, "futility_bounds", k), 3), None),
        ("futility effect", lambda n, k, e: plain(report, base + (n, "futility_effect", k)), per_look("futility_effect")),
        # Two-sided designs: the unfavourable side (and the inner wedge's other end).
        ("critical effect, unfavourable", lambda n, k, e: plain(report, base + (n, "critical_effect_unfavourable", k)),
         per_look("critical_effect_unfavourable")),
        ("futility effect, unfavourable", lambda n, k, e: plain(report, base + (n, "futility_effect_unfavourable", k)),
         per_look("futility_effect_unfavourable")),
        ("critical count", lambda n, k, e: plain(report, base + (n, "critical_count", k)), per_look("critical_count")),
        ("futility count", lambda n, k, e: plain(report, base + (n, "futility_count", k)), per_look("futility_count")),
        ("mean analysis time (months)", lambda n, k, e: estimate(report, base + (n, "expected_look_times", k), 1),
         per_look("expected_look_times")),
        ("mean events", lambda n, k, e: estimate(report, base + (n, "expected_look_events", k), 1), realised_events),
        ("events (5 % to 95 %)", lambda n, k, e: Cell(_events_range(e, k)), realised_events),
        ("P(reject at look)", lambda n, k, e: _reject_cell(report, base + (n,), k, e), None),
        ("P(unfavourable rejection at look)", lambda n, k, e: Cell("-") if _untested(e, k)
         else probability(report, base + (n, "reject_unfavourable_per_look", k)), per_look("reject_unfavourable_per_look")),
        ("P(futility stop at look)", lambda n, k, e: _futility_cell(report, base + (n,), k, e), None),
    ]
    kept = _keep(columns, list(endpoints.values()))
    rows = []
    for name, e in endpoints.items():
        for k in range(n_looks(e)):
            rows.append(tuple(make(name, k, e) for _, make, _ in kept))
    under = {e.get("per_look_under", "truth") for e in endpoints.values()}
    caption = f"Per look: {scenario_label(scenario)} (stopping probabilities under the {'/'.join(sorted(under))})"
    scales = [f"{name} as {e['effect_scale']}" for name, e in endpoints.items()
              if e.get("effect_scale") and any(isinstance(e.get(key), list) for key in EFFECT_KEYS)]
    if scales:
        caption += ". Critical and futility effects: " + "; ".join(scales)
    notes = [f"{name}: {e['effect_note']}" for name, e in endpoints.items() if e.get("effect_note")]
    if notes:
        caption += ". Clipped effects: " + "; ".join(notes)
    at_mean = [f"{name}: {e['bounds_note']}" for name, e in endpoints.items() if e.get("bounds_note")]
    if at_mean:
        caption += ". Bounds: " + "; ".join(at_mean)
    return Table(f"looks-s{i}", caption, tuple(label for label, _, _ in kept), tuple(rows))


#: The per-look effects a table shows on the endpoint's ``effect_scale``.
EFFECT_KEYS = ("critical_effect", "futility_effect", "critical_effect_unfavourable", "futility_effect_unfavourable")


def events_short(endpoint: dict) -> bool:
    """Whether some simulated trials of a survival endpoint ran out of events before a look's target."""
    return (endpoint.get("events_short") or 0) > 0


def _untested(endpoint: dict, k: int) -> bool:
    """A look no trial tested (read at a survival endpoint's looks): its probabilities are 0 by construction."""
    tested = endpoint.get("tested_fractions")
    return isinstance(tested, list) and k < len(tested) and tested[k] is None


def _fraction_key(endpoint: dict) -> str:
    return "tested_fractions" if "tested_fractions" in endpoint else "realised_fractions"


def _fraction_cell(report: dict, path: tuple) -> Cell:
    """A look's information fraction: ``value ± mcse`` where it varies over the trials, plain where it does not
    (the final look's 1 of every trial that tested it, a fixed look's planned fraction)."""
    mcse = lookup(report, path[:-2] + (f"{path[-2]}_mcse", path[-1]))
    return estimate(report, path) if _is_number(mcse) and mcse > 0 else plain(report, path)


def _reject_cell(report: dict, path: tuple, k: int, endpoint: dict) -> Cell:
    """A look's favourable rejection probability; "-" where no trial tested the look, or where the look has no
    efficacy bound (it spends no alpha) and none rejected there: 0 by construction, not a Monte Carlo estimate
    (a review: an asUser look spending nothing showed "0 (< 0.001)")."""
    bounds = endpoint.get("efficacy_bounds") or []
    no_bound = k < len(bounds) and bounds[k] is None
    if _untested(endpoint, k) or (no_bound and endpoint.get("reject_per_look", [None] * (k + 1))[k] == 0):
        return Cell("-")
    return probability(report, path + ("reject_per_look", k))


def _futility_cell(report: dict, path: tuple, k: int, endpoint: dict) -> Cell:
    """A look's futility stopping probability; "-" where the look has no futility bound and none stopped there
    (the final look, or no futility rule: 0 by construction, not a Monte Carlo estimate)."""
    bounds = endpoint.get("futility_bounds") or []
    floor = endpoint.get("futility_floor") or []
    no_bound = (k >= len(bounds) or bounds[k] is None) and (k >= len(floor) or floor[k] is None)
    if (no_bound or _untested(endpoint, k)) and endpoint.get("futility_per_look", [None] * (k + 1))[k] == 0:
        return Cell("-")
    return probability(report, path + ("futility_per_look", k))


#: The streams of an ``interim`` block (docs/adaptive.md) and what they are under.
INTERIM_STREAMS = (("power", "truth", "power"), ("assurance", "prior", "assurance"), ("type1", "H0", "type1"))


def interim_table(report: dict, i: int) -> Table | None:
    """The interim rules of scenario ``i`` (``[interim]`` / ``[adaptation]``), one row per endpoint and stream."""
    scenario = report["scenarios"][i]
    endpoints = {n: e for n, e in scenario["endpoints"].items() if isinstance(e.get("interim"), dict)}
    if not endpoints:
        return None
    base = ("scenarios", i, "endpoints")
    rows_data = [(n, stream, under, key) for n, e in endpoints.items() for stream, under, key in INTERIM_STREAMS
                 if isinstance(e["interim"].get(stream), dict)]
    interims = max(len(endpoints[n]["interim"][s]["stop_per_look"]) - 1 for n, s, _, _ in rows_data)

    def has(key):
        return lambda row: lookup(report, base + (row[0], "interim", row[1], key)) is not None

    def cell(key, kind=probability):
        return lambda row: kind(report, base + (row[0], "interim", row[1], key))

    def final_size(unit):
        """Re-estimation: the column of the final size's distribution for the rows counted in ``unit``
        (``n``: patients, binary; ``events``: survival), "-" in the others' rows."""
        def here(row):
            return has("final_size_quantiles")(row) and has(f"expected_{unit}")(row)

        return (lambda row: Cell(_final_size_text(lookup(report, base + (row[0], "interim", row[1])))
                                 if here(row) else "-"), here)

    columns = [
        ("endpoint", lambda row: Cell(row[0]), None),
        ("under", lambda row: Cell(row[2]), None),
        ("success", lambda row: probability(report, base + (row[0], row[3])), None),
        ("without the rule", cell("without_rule"), has("without_rule")),
        ("success lost to the rule", cell("rule_cost"), has("rule_cost")),
        ("patients saved", cell("rule_saving_patients", lambda r, p: estimate(r, p, 1)), has("rule_saving_patients")),
        ("events saved", cell("rule_saving_events", lambda r, p: estimate(r, p, 1)), has("rule_saving_events")),
        ("expected patients", cell("expected_n", lambda r, p: estimate(r, p, 1)), has("expected_n")),
        ("expected events", cell("expected_events", lambda r, p: estimate(r, p, 1)), has("expected_events")),
        # With K > 2 stages every later stage is re-estimated: any of them larger than planned.
        ("P(second stage increased)" if interims == 1 else "P(a later stage increased)", cell("increase"),
         has("increase")),
        ("final patients: median [Q1, Q3]; 95th percentile; max", *final_size("n")),
        ("final events: median [Q1, Q3]; 95th percentile; max", *final_size("events")),
    ]
    for k in range(interims):
        columns.append((f"P(stop at interim {k + 1})",
                        lambda row, k=k: probability(report, base + (row[0], "interim", row[1], "stop_per_look", k)),
                        None))
        # Only with a futility rule (its pairing, `without_rule`, is there): else 0 by construction.
        columns.append((f"P(futility by the rule at interim {k + 1})",
                        lambda row, k=k: probability(report, base + (row[0], "interim", row[1],
                                                                     "futility_rule_per_look", k)),
                        has("without_rule")))
    kept = _keep(columns, rows_data)
    rows = tuple(tuple(make(row) for _, make, _ in kept) for row in rows_data)
    paired = any(label == "without the rule" for label, _, _ in kept)
    caption = (f"Interim rules: {scenario_label(scenario)} (success with the rules"
               + (", and paired against the same trials without the futility rule" if paired else "")
               + "; docs/adaptive.md)")
    return Table(f"interim-s{i}", caption, tuple(label for label, _, _ in kept), rows)


def _final_size_text(stream: dict) -> str:
    """``median [25 %, 75 %]; 95 %; max`` of a stream's final size (``final_size_quantiles``, ``final_size_max``).

    Whole patients or events: the quantiles are sizes some trial had
    (docs/adaptive.md, "Report keys"), so they print without decimals.
    """
    quantiles = {row.get("p"): row.get("size") for row in stream.get("final_size_quantiles") or []
                 if isinstance(row, dict)}
    shown = [quantiles.get(p) for p in (0.5, 0.25, 0.75, 0.95)] + [stream.get("final_size_max")]
    if not all(_is_number(v) for v in shown):
        return "-"
    median, low, high, top, largest = (f"{v:.0f}" for v in shown)
    return f"{median} [{low}, {high}]; {top}; {largest}"


def _analysis(strata: dict, which: str, test: str) -> str:
    """``stratified (cmh)``: an analysis of the ``strata`` block with its test (reports from before have none)."""
    return f"{strata[which]} ({strata[test]})" if strata.get(test) else strata[which]


def strata_tables(report: dict, i: int) -> list[Table]:
    """With ``[strata]`` (docs/strata.md): both analyses of the same trials per endpoint and stream, and the imbalance.

    Empty without strata. The first table has one row per endpoint and
    stream: the rejection rate of the endpoint's analysis, of the other one
    on the same trials, and their paired difference; the second one row per
    endpoint and factor: the arm imbalance that the randomisation left.
    """
    scenario = report["scenarios"][i]
    endpoints = {n: e for n, e in scenario["endpoints"].items() if isinstance(e.get("strata"), dict)}
    if not endpoints:
        return []
    base = ("scenarios", i, "endpoints")
    rows = []
    for name, block in endpoints.items():
        strata = block["strata"]
        for stream, under, _ in INTERIM_STREAMS:
            if not isinstance(strata.get(stream), dict):
                continue
            path = base + (name, "strata", stream)
            rows.append((Cell(name), Cell(under), Cell(_analysis(strata, "analysis", "analysis_test")),
                         probability(report, path + ("this",)),
                         Cell(_analysis(strata, "other_analysis", "other_test")), probability(report, path + ("other",)),
                         estimate(report, path + ("difference",))))
    notes = "; ".join(f"{name}: {block['strata']['note']}" for name, block in endpoints.items()
                      if isinstance(block["strata"].get("note"), str))
    analyses = Table(
        f"strata-s{i}", f"Stratified and unstratified analyses: {scenario_label(scenario)} (the same trials analysed "
        f"both ways; the difference is paired; docs/strata.md){'. Analytic: ' + notes if notes else ''}",
        ("endpoint", "under", "analysis", "rejects", "other analysis", "rejects", "difference"), tuple(rows),
    )
    rows = []
    for name, block in endpoints.items():
        strata = block["strata"]
        method = strata["randomisation"]
        for factor in strata["imbalance"]:
            path = base + (name, "strata", "imbalance", factor)
            rows.append((Cell(name), Cell(factor), Cell(method), estimate(report, path + ("mean",), 2),
                         *(plain(report, path + (q,), 1) for q in ("q50", "q90", "q99"))))
    imbalance = Table(
        f"strata-imbalance-s{i}", f"Arm imbalance per factor: {scenario_label(scenario)} (the largest over the "
        "factor's levels of |m_E - r m_C|, patients, over the simulated trials)",
        ("endpoint", "factor", "randomisation", "mean", "median", "90 %", "99 %"), tuple(rows),
    )
    return [analyses, imbalance]


def _events_range(endpoint: dict, k: int) -> str:
    """The 5 % and 95 % quantiles of the events at look ``k`` from ``look_events_histogram`` (whole events)."""
    hist = endpoint.get("look_events_histogram") or {}
    counts = (hist.get("counts") or [])[k] if k < len(hist.get("counts") or []) else None
    if not counts or sum(counts) == 0:
        return "-"
    edges = hist["edges"]
    cumulative = [0.0]
    for c in counts:
        cumulative.append(cumulative[-1] + c)
    total = cumulative[-1]

    def quantile(level):
        target = level * total
        for b in range(len(counts)):
            if cumulative[b + 1] >= target and counts[b] > 0:
                return 0.5 * (edges[b] + edges[b + 1])  # the bin's centre: whole events for width-1 bins
        return 0.5 * (edges[-2] + edges[-1])

    return f"{quantile(0.05):.0f} to {quantile(0.95):.0f}"


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def md_text(text) -> str:
    r"""Text made inert in a Markdown line or table cell.

    A ``<`` that could open an HTML tag becomes ``&lt;`` (so pandoc and other
    renderers cannot turn a name such as ``<script>`` into live HTML, while
    ``0 (< 0.0003)`` stays as it is), ``](`` cannot close a link text and
    open its target (``[x](javascript:...)`` stays text), emphasis stars and
    backticks, strike-through tildes and underscores that could delimit
    emphasis (not those inside a word, as in ``complete_crs``) are escaped
    (a label shows as typed), bare URLs, ``www.`` and addresses cannot
    become autolinks (a backslash before ``://``, after ``www`` and before
    ``@``), an ``&`` that would start a character reference is escaped
    (``&amp;`` shows as typed), table pipes are escaped,
    and line breaks become spaces (a newline would end a table row or a
    heading).

    >>> md_text("<b>a|b</b>\nc < d")
    '&lt;b>a\\|b&lt;/b> c < d'
    >>> md_text("[x](javascript:alert(1)) **bold** `code`")
    '[x]\\(javascript:alert(1)) \\*\\*bold\\*\\* \\`code\\`'
    >>> md_text("_u_ ~~s~~ complete_crs")
    '\\_u\\_ \\~\\~s\\~\\~ complete_crs'
    >>> md_text("see https://x.org, www.y.com or a@b.org")
    'see https\\://x.org, www\\.y.com or a\\@b.org'
    >>> md_text("R&D &amp; &#60;")
    'R&D \\&amp; \\&#60;'
    """
    text = re.sub(r"[\r\n\t]+", " ", str(text))
    for mark in ("\\", "|", "*", "`", "~"):
        text = text.replace(mark, "\\" + mark)
    # An underscore that could open or close emphasis (`_u_`), not one inside a word (`complete_crs`).
    text = _EMPHASIS_UNDERSCORE.sub(r"\\_", text)
    # Bare URLs and addresses that renderers turn into links (GitHub's autolinks): a backslash before the
    # scheme's colon, after "www" and before "@" splits what they match.
    text = _SCHEME.sub(r"\1\\://", text)
    text = _WWW.sub(r"\1\\.", text)
    text = text.replace("@", "\\@")
    text = text.replace("](", "]\\(")
    # An ampersand that would start a character reference (`&amp;`, `&#60;`): a renderer shows the character
    # instead of what was typed (a review). "R&D" stays as it is.
    text = _ENTITY_START.sub("\\\\&", text)
    return _TAG_START.sub("&lt;", text)


#: An ``&`` that opens a character reference (named, decimal or hexadecimal).
_ENTITY_START = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
#: A URL scheme's ``://`` and a ``www.`` prefix (case-insensitive), as autolinks recognise them.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_WWW = re.compile(r"\b([Ww][Ww][Ww])\.")
#: An underscore with a non-word character (or the text's end) on at least one side.
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_table(table: Table) -> list[str]:
    """The table as Markdown lines."""
    out = ["| " + " | ".join(table.headers) + " |", "|" + "---|" * len(table.headers)]
    for row in table.rows:
        out.append("| " + " | ".join(md_text(cell.text) for cell in row) + " |")
    return out
