"""Read a TOML config, apply ``--set`` overrides, expand scenarios, validate.

The whole path from a file name to a list of validated scenarios is one call,
:func:`load_scenarios`, so that every entry point (``run``, ``design``,
``size``, the Python API) sees the same rules and the same errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.config.digest import result_digest, scenario_digest
from simulator.config.fields import fail, toml_value
from simulator.config.schema import Config
from simulator.config.toml import expand, parse_override, read_toml, set_dotted
from simulator.config.validate import validate
from simulator.endpoints import get_kind, kind_names, kind_of
from simulator.errors import InputError

__all__ = ["Scenario", "load", "load_raw", "load_scenarios", "scenario_digest", "scenarios_from_mapping"]


@dataclass(frozen=True)
class Scenario:
    """One point of a run: what varies, the raw mapping and the validated config."""

    index: int
    params: dict
    raw: dict
    config: Config


def load_raw(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read ``path`` and apply ``--set`` overrides, in order."""
    raw = read_toml(path)
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(raw, key, value)
    return raw


def scenarios_from_mapping(raw: dict, *, complete: bool = True) -> tuple[list[Scenario], dict]:
    """Expand, validate and complete the scenarios of a config mapping (after overrides).

    Every entry point (``run``, ``design``, ``size``, the Python API) goes
    through here, so they see the same rules and the same errors.

    Returns
    -------
    scenarios : list of Scenario
        One validated scenario per size and sweep point.
    derived : dict
        What the endpoint kinds derived once for the whole run (survival:
        ``design.events``), for ``meta``; empty with ``complete=False``
        (validation only: ``size`` searches what would be derived).
    """
    scenarios = []
    expanded = expand(raw)
    for index, (params, mapping) in enumerate(expanded):
        try:
            config = validate(mapping)
        except InputError as err:
            if params and not _common_error(str(err), expanded):
                where = ", ".join(f"{k} = {toml_value(v)}" for k, v in params.items())
                raise InputError(f"{err} (in the scenario {where})") from None
            raise
        scenarios.append(Scenario(index, params, mapping, config))
    _check_unused_parameters(raw, scenarios)
    derived: dict = {}
    for name in kind_names() if complete else ():
        scenarios, meta = get_kind(name).complete(raw, scenarios, validate)
        derived.update(meta)
    _check_distinct_scenarios(scenarios)
    return scenarios, derived


def _check_distinct_scenarios(scenarios: list) -> None:
    """Refuse a swept key that has no effect in any scenario: its values give the same scenarios.

    A value listed twice is refused where the config is expanded; this catches distinct values that give
    the same scenario everywhere (a review: a sweep over ``design.efficacy_param`` with ``asOF``, which has no
    parameter, reported identical rows as a sensitivity analysis). A key that changes some scenarios passes
    (a code review: ``design.efficacy`` over asOF and asKD with ``efficacy_param`` over 1 and 2 is a sweep the
    docs offer; its asOF rows are alike, as asOF has no parameter).
    """
    if len(scenarios) < 2:
        return
    digests = [result_digest(scenario.config) for scenario in scenarios]
    seen: dict = {}
    for scenario, digest in zip(scenarios, digests):
        earlier = seen.setdefault(digest, scenario)
        if earlier is scenario:
            continue
        keys = [k for k in scenario.params if scenario.params[k] != earlier.params.get(k)] or list(scenario.params)
        if _changes_some(keys, scenarios, digests):
            continue
        first, second = (", ".join(f"{k} = {toml_value(s.params[k])}" for k in keys) for s in (earlier, scenario))
        raise InputError(
            f"config key `sweep.{keys[0]}`: the scenarios {first} and {second} are the same "
            f"trial, as are all that differ only there (`{keys[0]}` has no effect in them: see its entry in "
            "docs/config.md for where it applies), so they would draw and decide the same trials; sweep a key "
            "that changes the design, or give one value"
        )


def _changes_some(keys: list, scenarios: list, digests: list) -> bool:
    """Whether two scenarios that differ only in ``keys`` are different scenarios somewhere."""
    groups: dict = {}
    for scenario, digest in zip(scenarios, digests):
        rest = tuple((k, toml_value(v)) for k, v in scenario.params.items() if k not in keys)
        groups.setdefault(rest, set()).add(digest)
    return any(len(found) > 1 for found in groups.values())


def _common_error(message: str, expanded: list) -> bool:
    """Whether every scenario fails with ``message`` (validated until one does not).

    Then the error is the config's, not one scenario's, and naming a
    scenario would send the reader to the swept values for nothing (a
    misspelt key in a config with three sizes read "in the scenario
    trial.n_total = 300"). Only on the way to an error, and it stops at the
    first scenario that validates or fails otherwise.
    """
    if len(expanded) < 2:
        return False
    for _, mapping in expanded:
        try:
            validate(mapping)
        except InputError as err:
            if str(err) != message:
                return False
        else:
            return False
    return True


#: A randomisation method's own parameter in [trial], and the method that uses it.
METHOD_PARAMETERS = (("block_size", "blocks"), ("minimisation_probability", "minimisation"))


def _check_unused_parameters(raw: dict, scenarios: list) -> None:
    """A parameter given where no scenario uses it: most likely a forgotten method, test or sidedness.

    Each is checked always and ignored where it does not apply, so that a sweep can carry it: the
    randomisation methods' parameters in [trial], ``design.two_sided_futility`` (one-sided designs), a
    survival endpoint's ``weights`` (the log-rank), ``success.order`` (a fixed sequence) and ``trial.missing``
    (survival endpoints).
    """
    def given(section: str, key: str) -> list:
        # From the scenarios' mappings, so that a value given by a sweep is seen too (a review).
        tables = [s.raw.get(section) for s in scenarios] or [raw.get(section)]
        return [t[key] for t in tables if isinstance(t, dict) and key in t]

    for key, method in METHOD_PARAMETERS:
        values = given("trial", key)
        if values and not any(s.config.trial.randomisation == method for s in scenarios):
            raise fail(f"trial.{key}", f'is only used with trial.randomisation = "{method}", which no scenario has',
                       values[0])
    # The default written out ("inner") is accepted as any default is (a review; docs/conventions.md).
    futility = [v for v in given("design", "two_sided_futility") if v != "inner"]
    if futility and not any(s.config.design.sided == 2 for s in scenarios):
        raise fail("design.two_sided_futility", "is only used with design.sided = 2 (a one-sided design has one "
                   "futility region), which no scenario has", futility[0])
    # From the scenarios, so that an order given by a sweep is seen too (a code review).
    orders = [list(s.config.success.order) for s in scenarios if s.config.success.order]
    if orders and not any(s.config.success.multiplicity == "fixed_sequence" for s in scenarios):
        multiplicity = scenarios[0].config.success.multiplicity
        raise fail("success.order", f'is only used with success.multiplicity = "fixed_sequence", which no scenario '
                   f'has (this config has "{multiplicity}")', orders[0])
    missing = [s.config.trial.missing for s in scenarios if s.config.trial.missing > 0]
    if missing and not any(kind_of(e).has_missing_outcomes for e in scenarios[0].config.endpoints):
        raise fail("trial.missing", "applies to binary and continuous endpoints (a survival endpoint follows every "
                   "patient, censoring those lost to follow-up by its dropout), which this trial has none of",
                   missing[0])
    for name in [e.name for e in scenarios[0].config.endpoints] if scenarios else ():
        # An empty list is no weights: how a log-rank run unsets the file's weights from the command line.
        given = [s.raw["endpoints"][name]["weights"] for s in scenarios
                 if s.raw["endpoints"][name].get("weights", []) != []]
        if given and not any(getattr(s.config.endpoint(name), "weights", ()) for s in scenarios):
            raise fail(f"endpoints.{name}.weights", 'applies to test = "fleming_harrington" or "maxcombo" only, '
                       "which no scenario has", given[0])


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> tuple[dict, list[Scenario], dict]:
    """Read a config file, apply ``--set`` overrides and return ``(raw, scenarios, derived)``.

    ``raw`` is the mapping after overrides (what ``meta.config`` reports);
    see :func:`scenarios_from_mapping` for the rest.
    """
    raw = load_raw(path, overrides)
    scenarios, derived = scenarios_from_mapping(raw)
    return raw, scenarios, derived


def load_scenarios(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> tuple[dict, list[Scenario]]:
    """Load a config file into validated, completed scenarios: ``(raw, scenarios)``.

    Examples
    --------
    >>> raw, scenarios = load_scenarios("configs/cairo6.toml", ["simulation.n_sims=1000"])
    >>> scenarios[0].config.simulation.n_sims
    1000
    """
    raw, scenarios, _ = load(path, overrides)
    return raw, scenarios
