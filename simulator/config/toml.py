"""TOML text -> mappings: reading files, ``--set`` overrides and scenario expansion.

Nothing here knows about endpoint kinds or validates values (that is
:mod:`simulator.config.validate`); it only turns text into the mappings that
are validated.
"""

from __future__ import annotations

import copy
import itertools
import math
import tomllib
from pathlib import Path
from typing import Any

from simulator.config.fields import toml_value
from simulator.errors import InputError


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file, turning a missing file, bad encoding or bad syntax into InputError.

    TOML files are UTF-8; a UTF-8 byte-order mark (as some editors write) is
    accepted, UTF-16 and other encodings are refused with one line.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"config file `{path}`: is a folder, not a TOML file")
        if not path.exists():
            raise InputError(f"config file `{path}`: not found")
        # A plain file, or a pipe such as bash's <(...) (read as it comes; an empty one fails below).
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"config file `{path}`: cannot be read ({err.strerror})") from None
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # before UTF-16, whose mark starts UTF-32's
        raise InputError(f"config file `{path}`: is UTF-32 text; TOML files are UTF-8 (save it as UTF-8)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"config file `{path}`: is UTF-16 text; TOML files are UTF-8 (save it as UTF-8)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"config file `{path}`: is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "TOML files are UTF-8 (save it as UTF-8)"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"config file `{path}`: malformed TOML ({err})") from None
    except RecursionError:
        raise InputError(f"config file `{path}`: nests arrays or tables too deeply to read") from None


def _split_assignment(text: str) -> tuple[str, str, str]:
    """``text.partition("=")`` at the first ``=`` outside a quoted key part.

    A review: ``strata."=x".share=[0.5, 0.5]`` was cut inside its quotes, so
    the message named ``strata."`` instead of the factor's name.

    >>> _split_assignment('strata."=x".share=[1]'), _split_assignment("a=b=c")
    (('strata."=x".share', '=', '[1]'), ('a', '=', 'b=c'))
    """
    quote = None
    escaped = False
    for i, c in enumerate(text):
        if quote == '"' and escaped:
            escaped = False
        elif quote == '"' and c == "\\":
            escaped = True
        elif quote is not None:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "=":
            return text[:i], "=", text[i + 1:]
    return text, "", ""


def parse_override(text: str, argument: str | None = None) -> tuple[str, Any]:
    """Split ``KEY=VALUE`` and parse VALUE as a TOML value.

    A bare word that is not valid TOML (``fisher``) is taken as a string, since
    that is what a user typing it on a command line means. Errors name the
    flag (``argument `--set TEXT```), or the Python ``argument`` and the item.
    """
    def where(shown: str) -> str:
        return f"argument `--set {shown}`" if argument is None else f"argument `{argument}`, item {text!r}"

    own = "its own --set" if argument is None else "its own item"
    key, sep, value = _split_assignment(text)
    key = key.strip()
    if not sep or not key:
        raise InputError(f"{where(text)}: must be KEY=VALUE with a dotted KEY")
    try:
        tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        # `trial..n_total`, `a b.c`: not a key; it would be split at its dots and named by a part of it.
        raise InputError(f"{where(text)}: KEY must be a dotted TOML key (`trial.n_total`; quote a part that holds a "
                         f"dot or a space), got {key!r}") from None
    except RecursionError:
        raise InputError(f"{where(text)}: KEY must be a dotted TOML key, got a key too long to read") from None
    try:
        document = tomllib.loads(f"value = {value.strip()}")
    except tomllib.TOMLDecodeError:
        document = None
    except RecursionError:
        raise InputError(f"{where(key)}: the value nests arrays or tables too deeply to read") from None
    if document is not None and set(document) != {"value"}:
        # `x="a"\nsimulation.n_sims=1` would set a second key silently.
        raise InputError(f"{where(repr(text))}: sets more than one key; give each key {own}")
    try:
        if document is None:
            raise tomllib.TOMLDecodeError("not a value")
        parsed = document["value"]
    except tomllib.TOMLDecodeError:
        stripped = value.strip()
        if stripped and all(c.isalnum() or c in "_-" for c in stripped):
            parsed = stripped
        else:
            raise InputError(f"{where(text)}: VALUE must be a TOML value (a number, a string, a list)") from None
    return key, parsed


def key_path(key: str) -> list[str]:
    """The parts of a dotted key, read as TOML reads a key (``a."b.c"`` is ``["a", "b.c"]``).

    Quoted parts keep their dots, as in a TOML file; a key that is not a
    TOML key at all (``a b.c``) is split at every dot, and validation then
    names what is wrong with it.
    """
    try:
        document = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        return key.split(".")
    parts = []
    while isinstance(document, dict) and len(document) == 1:
        part, document = next(iter(document.items()))
        parts.append(part)
    return parts


def set_dotted(mapping: dict, key: str, value: Any) -> None:
    """Set ``a.b.c`` in nested tables, keeping dotted endpoint pairs whole.

    The key is read as a TOML key (:func:`key_path`): a quoted part keeps
    its dots (``correlation."resp.tox"``, ``sweep."trial.n_total"``).
    Tables whose keys themselves contain a dot (``[correlation]`` and
    ``[sweep]``) also take the rest of an unquoted path as one key.
    """
    parts = key_path(key)
    table = mapping
    for i, part in enumerate(parts[:-1]):
        if part in ("correlation", "sweep") and i == 0:
            table = table.setdefault(part, {})
            table[".".join(parts[1:])] = value
            return
        child = table.get(part)
        if child is None:
            child = table[part] = {}
        elif not isinstance(child, dict):
            raise InputError(f"config key `{'.'.join(parts[: i + 1])}`: is a value, not a table, so `{key}` cannot be set")
        table = child
    table[parts[-1]] = value


def _endpoint_kinds(mapping: dict) -> dict:
    """Each endpoint's name -> its ``kind`` as given (``None`` where it has none), in a config mapping."""
    endpoints = mapping.get("endpoints")
    if not isinstance(endpoints, dict):
        return {}
    return {name: table.get("kind") if isinstance(table, dict) else None for name, table in endpoints.items()}


def _display_text(mapping: dict) -> dict:
    """Display text by its dotted key (``trial.name``, ``trial.labels.ARM``, ``endpoints.NAME.label``), as given."""
    trial = mapping.get("trial") if isinstance(mapping.get("trial"), dict) else {}
    text = {"trial.name": trial["name"]} if "name" in trial else {}
    labels = trial.get("labels")
    if isinstance(labels, dict):
        text.update({f"trial.labels.{arm}": label for arm, label in labels.items()})
    elif "labels" in trial:
        text["trial.labels"] = labels  # not a table: the validator names it
    endpoints = mapping.get("endpoints")
    for name, table in endpoints.items() if isinstance(endpoints, dict) else ():
        if isinstance(table, dict) and "label" in table:
            text[f"endpoints.{name}.label"] = table["label"]
    return text


def _check_sweep_keeps(base: dict, key: str, values: list) -> None:
    """Refuse a swept value that changes the endpoints (names, kinds) or display text of the config.

    Both are the run's, not a scenario's: the reports show display text once
    (the first scenario's labels, the unswept ``trial.name``), and what is
    derived once for a run (survival: ``design.events``) and every per-endpoint
    table, column and figure read the unswept config's endpoints (a review:
    a sweep adding an endpoint crashed with a KeyError or a StopIteration). A
    swept parent table (``trial``, ``endpoints.resp``) changes them as much as
    a swept key does, so each value is set into the unswept config and compared.
    """
    top = key_path(key)[0]
    if top not in ("trial", "endpoints"):
        return
    endpoints, text = _endpoint_kinds(base), _display_text(base)
    for value in values:
        probe = {top: copy.deepcopy(base[top])} if top in base else {}
        set_dotted(probe, key, value)
        given = _endpoint_kinds({"endpoints": base.get("endpoints"), **probe})
        if list(given) != list(endpoints):
            raise InputError(
                f"config key `sweep.{key}`: gives the endpoints {', '.join(given) or 'none'} where the config has "
                f"{', '.join(endpoints) or 'none'}; a sweep varies the endpoints' values, not which endpoints the "
                "trial has, or their order (every report, table and figure is per endpoint across the scenarios): run "
                "each set of endpoints as its own config"
            )
        for name, kind in given.items():
            # No kind at all is the validator's to name (a required key).
            if kind is not None and kind != endpoints[name]:
                raise InputError(
                    f"config key `sweep.{key}`: gives endpoints.{name}.kind = {toml_value(kind)} where the config "
                    f"has {toml_value(endpoints[name])}; a sweep varies an endpoint's values, not its kind: run each "
                    "kind as its own config"
                )
        swept = _display_text({**base, **probe})
        for name in dict.fromkeys([*text, *swept]):
            if swept.get(name) != text.get(name):
                raise InputError(
                    f"config key `sweep.{key}`: gives `{name}` = {toml_value(swept.get(name))} where the config has "
                    f"{toml_value(text.get(name))}; display text (`trial.name`, `trial.labels`, an endpoint's "
                    "`label`) is shown once for the whole report, so it cannot be swept, by its key or by a table "
                    "that holds it: set it once, outside the sweep"
                    + (f" (a swept table replaces the config's whole table: give `{name}` in each of its values too, "
                       "or sweep the keys inside the table one by one)" if name not in swept and key != name else "")
                )


#: Most scenarios one config may give (sizes times sweep points): each is designed, simulated and reported.
MAX_SCENARIOS = 10_000


def _check_distinct(key: str, values: list, zipped: bool = False) -> None:
    """Refuse a value listed twice (a review: `trial.n_total = [200, 200]` gave two scenarios of the same
    trials, which read as independent replicates)."""
    for i, value in enumerate(values):
        if any(value == earlier for earlier in values[:i]):
            what = "the zipped values of scenario" if zipped else "the value"
            raise InputError(f"config key `{key}`: lists {what} {toml_value(list(value) if zipped else value)} "
                             "twice; the same value gives the same trials (the seed depends on the values), so "
                             "give each once")


def expand(raw: dict) -> list[tuple[dict, dict]]:
    """Expand list-valued ``trial.n_total`` and ``[sweep]`` into scenarios.

    Returns a list of ``(params, scenario_mapping)``; ``params`` maps each
    dotted key that varies to its value in that scenario.
    """
    base = copy.deepcopy(raw)
    sweep = base.pop("sweep", {})
    if not isinstance(sweep, dict):  # false, 0, "" and [] too (a review: they were taken as no sweep)
        raise InputError("config key `sweep`: must be a table of dotted keys -> lists of values")
    sweep = dict(sweep)
    mode = sweep.pop("mode", "grid")
    if mode not in ("grid", "zip"):
        raise InputError(f'config key `sweep.mode`: must be "grid" or "zip", got {toml_value(mode)}')
    axes: list[tuple[str, list]] = []
    n_total = base.get("trial", {}).get("n_total") if isinstance(base.get("trial"), dict) else None
    if isinstance(n_total, list):
        if not n_total:
            raise InputError("config key `trial.n_total`: must be a positive integer or a non-empty list of them")
        axes.append(("trial.n_total", n_total))
    listed_n_total = bool(axes)
    sweep_axes = []
    for key, values in sweep.items():
        if key.split(".")[0] == "sweep" or not all(key.split(".")):
            raise InputError(
                f"config key `sweep.{key}`: names no config key; a sweep key is the dotted key it varies "
                "(e.g. `endpoints.resp.truth.experimental`)"
            )
        if key == "trial.n_total" and axes:
            raise InputError("config key `sweep.trial.n_total`: `trial.n_total` is already a list; vary it in one place")
        if isinstance(values, dict):
            # [sweep] endpoints.resp.truth.experimental = [...] unquoted is a nested table in TOML.
            raise InputError(
                f"config key `sweep.{key}`: a table; a dotted key in [sweep] must be quoted, as in "
                '"endpoints.resp.truth.experimental" = [0.4, 0.5]'
            )
        if not isinstance(values, list) or not values:
            raise InputError(f"config key `sweep.{key}`: must be a non-empty list of values")
        _check_sweep_keeps(base, key, values)
        sweep_axes.append((key, values))
    # Each grid axis lists each value once; under "zip" the swept lists may repeat a value, each combination
    # once (a code review: a zip over distinct combinations was refused).
    grid_axes = ([("trial.n_total", n_total)] if listed_n_total else []) + (
        [(f"sweep.{key}", values) for key, values in sweep_axes] if mode != "zip" else [])
    for name, values in grid_axes:
        _check_distinct(name, values)
    if mode == "zip" and sweep_axes:
        lengths = {len(v) for _, v in sweep_axes}
        if len(lengths) > 1:
            raise InputError("config key `sweep`: with mode = \"zip\" every list must have the same length")
        zipped = [tuple(zip([k for k, _ in sweep_axes], combo)) for combo in zip(*[v for _, v in sweep_axes])]
        _check_distinct("sweep", [tuple(v for _, v in point) for point in zipped], zipped=True)
    else:
        axes.extend(sweep_axes)
        sweep_axes = []
        zipped = [()]
    count = math.prod(len(v) for _, v in axes) * (len(zipped) if sweep_axes else 1)
    if count > MAX_SCENARIOS:
        # Name what makes the scenarios: the sweep, or a list-valued trial.n_total without one.
        source = "trial.n_total" if listed_n_total and count == len(n_total) else "sweep"
        raise InputError(
            f"config key `{source}`: gives {count} scenarios, at most {MAX_SCENARIOS} (each is designed, simulated "
            "and reported); give fewer values, or split them into several runs"
        )
    grid = [tuple(zip([k for k, _ in axes], combo)) for combo in itertools.product(*[v for _, v in axes])]
    scenarios = []
    for fixed in grid:
        for zipped_point in zipped:
            params = dict(fixed + zipped_point)
            scenario = copy.deepcopy(base)
            for key, value in params.items():
                set_dotted(scenario, key, value)
            scenarios.append((params, scenario))
    return scenarios
