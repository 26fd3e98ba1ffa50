"""The seed digest of a validated scenario.

Every random stream of a scenario is keyed by ``(seed, digest)``, so that a
result depends only on the config and the seed (docs/conventions.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from simulator.config.schema import Config

#: Keys that never change a result and so never enter a digest.
_NOT_IN_DIGEST = {("trial", "name"), ("simulation", "jobs")}

#: Keys that change decisions but never the data drawn, left out of the seed
#: digest only: ``design.two_sided_futility`` (so that the configs written
#: before it existed keep their random streams; ``"one_sided"`` reproduces
#: their results exactly) and the ``[interim]`` futility thresholds (so that
#: every threshold of a sweep reads the same trials). A result depends on
#: them, so the digest that names a scenario's checkpoint has them
#: (:func:`result_digest`).
_DECISIONS_ONLY = {("design", "two_sided_futility"), ("interim", "below")}


#: Keys added after configs were written, left out of the digest at their
#: default (which reproduces the results from before they existed), so that
#: those configs keep their random streams: ``(section, key, default)``;
#: section ``endpoints`` applies to every endpoint that has the key.
_LATER_DEFAULTS = (
    ("design", "look_times", []),
    ("design", "max_duration", None),
    ("endpoints", "max_follow_up", float("inf")),
    ("trial", "randomisation", "simple"),
    ("trial", "block_size", None),
    ("trial", "minimisation_probability", None),
    ("endpoints", "stratified", False),
    ("endpoints", "nph", None),
    ("endpoints", "weights", []),
)

#: Top-level sections added later, left out of the digest when empty.
_LATER_SECTIONS = ("strata", "interim", "adaptation")


def canonical(config: Config, decisions: bool = False) -> dict:
    """The config as plain data, without the keys that never change a result.

    ``decisions``: keep the keys that change decisions but not the draws
    (``_DECISIONS_ONLY``); without it they are left out, as the seed digest
    leaves them out.
    """
    data = dataclasses.asdict(config)
    data.pop("labels", None)  # display text never changes a result
    for section, key in _NOT_IN_DIGEST | (set() if decisions else _DECISIONS_ONLY):
        if data.get(section):
            data[section].pop(key, None)
    for section, key, default in _LATER_DEFAULTS:
        tables = data[section] if section == "endpoints" else [data[section]]
        for table in tables:
            if key in table and _equal(table[key], default):
                del table[key]
    for section in _LATER_SECTIONS:
        if section in data and not data[section]:
            del data[section]
    # One correlation matrix, however it is written: each pair named in alphabetical order ("os.morbidity"
    # is "morbidity.os"), the pairs sorted, and a pair of 0 left out (as a pair not given).
    data["correlation"] = sorted([".".join(sorted(key.split("."))), value]
                                 for key, value in data["correlation"] if value != 0.0)
    return data


def _equal(value, default) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(default, list):
        return list(value) == default
    return value == default


def result_digest(config: Config) -> str:
    """32 hex digits of a blake2b digest of everything a scenario's result depends on but the seed.

    The seed digest (:func:`scenario_digest`) without ``_DECISIONS_ONLY``'s
    omissions: two scenarios that draw the same trials but decide them
    differently (two futility thresholds of a sweep) have the same seed
    digest and different result digests. It names checkpoints
    (:mod:`simulator.runner.checkpoint`).
    """
    return _blake2b(canonical(config, decisions=True)).hex()


def scenario_digest(config: Config, exclude: tuple[tuple[str, str], ...] = ()) -> list[int]:
    """Four 32-bit words of a blake2b digest of the canonical scenario.

    Python's ``hash()`` is salted per process, so it would make results
    depend on the run; a cryptographic digest of sorted JSON does not.

    ``exclude`` lists further ``(section, key)`` pairs to leave out: ``size``
    passes ``(("trial", "n_total"),)`` so that every candidate size draws
    from the same streams (common random numbers).
    """
    data = canonical(config)
    for section, key in exclude:
        data[section].pop(key, None)
    digest = _blake2b(data)
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def _blake2b(data: dict) -> bytes:
    """The 16-byte blake2b digest of ``data`` as sorted JSON."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
