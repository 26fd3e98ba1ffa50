"""Readers of TOML values: one message format for every config key.

Every reader takes the dotted key it reads, so that a bad value is reported
as ``config key `KEY`: what is allowed, got VALUE`` (the one line the
command line prints). The whole-config validator
(:mod:`simulator.config.validate`) and each endpoint kind's parser
(:mod:`simulator.endpoints`) read their tables with these.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from simulator.errors import InputError


def fail(key: str, allowed: str, value: Any = None, *, show_value: bool = True) -> InputError:
    got = f", got {value!r}" if show_value else ""
    return InputError(f"config key `{key}`: {allowed}{got}")


class Table:
    """Read keys out of one TOML table and complain about the ones left."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise fail(path, "must be a table", data)
        self.data = dict(data)
        self.path = path
        self.known: list[str] = []

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def take(self, name: str, default: Any = None) -> Any:
        self.known.append(name)
        return self.data.pop(name, default)

    def has(self, name: str) -> bool:
        return name in self.data

    def finish(self) -> None:
        for name in self.data:
            raise unknown_key(self.key(name), name, self.known)


def unknown_key(dotted: str, name: str, known: list[str] | tuple[str, ...]) -> InputError:
    """The error for a key nobody reads, with the closest valid name."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    allowed = ", ".join(f"`{k}`" for k in known) or "none"
    return InputError(f"config key `{dotted}`: unknown key{hint} (allowed here: {allowed})")


# ---------------------------------------------------------------- scalars
def as_int(value: Any, key: str, *, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise fail(key, _range_text("an integer", low, high), value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise fail(key, _range_text("an integer", low, high), value)
    return value


def _range_text(what: str, low, high) -> str:
    if low is not None and high is not None:
        return f"must be {what} in [{low}, {high}]"
    if low is not None:
        return f"must be {what} >= {low}"
    if high is not None:
        return f"must be {what} <= {high}"
    return f"must be {what}"


def as_float(value: Any, key: str, *, allowed: str, check) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(key, f"must be a number {allowed}", value)
    value = float(value)
    if not math.isfinite(value) or not check(value):
        raise fail(key, f"must be a number {allowed}", value)
    return value


def as_choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(f'"{c}"' for c in choices)
        close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
        hint = f" (did you mean \"{close[0]}\"?)" if close else ""
        raise fail(key, f"must be one of {listed}{hint}", value)
    return value


def as_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise fail(key, "must be true or false", value)
    return value


def as_rate(value: Any, key: str) -> float:
    return as_float(value, key, allowed="in [0, 1]", check=lambda v: 0.0 <= v <= 1.0)
