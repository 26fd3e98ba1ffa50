"""The seed digest of a validated scenario.

Every random stream of a scenario is keyed by ``(seed, digest)``, so that a
result depends only on the config and the seed (docs/conventions.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from simulator.config.schema import Config

#: Keys that never change a result and so never enter the seed digest; and
#: ``design.two_sided_futility``, which changes the bounds but not the data
#: drawn: left out so that the configs written before it existed keep their
#: random streams (``"one_sided"`` reproduces their results exactly).
_NOT_IN_DIGEST = {("trial", "name"), ("simulation", "jobs"), ("design", "two_sided_futility")}


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


def canonical(config: Config) -> dict:
    """The config as plain data, without the keys that never change a result."""
    data = dataclasses.asdict(config)
    data.pop("labels", None)  # display text never changes a result
    for section, key in _NOT_IN_DIGEST:
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
    if data.get("interim"):
        # The futility thresholds change decisions, never the draws (a trial the rule stops is drawn on as
        # its shadow, docs/adaptive.md): left out, every threshold of a sweep reads the same trials.
        del data["interim"]["below"]
    return data


def _equal(value, default) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(default, list):
        return list(value) == default
    return value == default


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
    text = json.dumps(data, sort_keys=True, default=str)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
