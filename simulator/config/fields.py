"""Readers of TOML values: one message format for every config key.

Every reader takes the dotted key it reads, so that a bad value is reported
as ``config key `KEY`: what is allowed, got VALUE`` (the one line the
command line prints). The whole-config validator
(:mod:`simulator.config.validate`) and each endpoint kind's parser
(:mod:`simulator.endpoints`) read their tables with these.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
from typing import Any

from simulator.config.schema import MONTHS
from simulator.errors import InputError, breaks_text

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str:
    """``value`` as the user would write it in TOML, for error messages.

    Strings in double quotes, ``true``/``false``, arrays as ``[a, b]``,
    tables as ``{ k = v }``; ``None`` (a key that is absent) as ``nothing``.

    Examples
    --------
    >>> toml_value({"estimate": 0.8, "name": "os", "flags": [True, 2]})
    '{ estimate = 0.8, name = "os", flags = [true, 2] }'
    """
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{k if _BARE_KEY.match(str(k)) else json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    return str(value)


def fail(key: str, allowed: str, value: Any = None, *, show_value: bool = True) -> InputError:
    """The one message format: ``config key `KEY`: ALLOWED, got VALUE`` (VALUE written as TOML)."""
    got = f", got {toml_value(value)}" if show_value else ""
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
        if name not in self.known:
            self.known.append(name)
        return self.data.pop(name, default)

    def has(self, name: str) -> bool:
        """Whether the optional key ``name`` is here; a key a parser asks about is allowed here."""
        if name not in self.known:
            self.known.append(name)
        return name in self.data

    def require(self, name: str, allowed: str, *, valid: tuple[str, ...] = ()) -> Any:
        """Take the required key ``name``; if absent, ``is required: ALLOWED``.

        A key left in the table that is close to ``name`` (``n_totl`` for
        ``n_total``) is most likely it, misspelt: that key is reported as
        unknown, with its did-you-mean, rather than ``name`` as missing.
        ``valid`` names the table's other keys not read yet (never taken for
        a misspelling).
        """
        if name not in self.data:
            self.check_misspelt(name, valid=valid)
            raise fail(self.key(name), f"is required: {allowed}", show_value=False)
        return self.take(name)

    def check_misspelt(self, *names: str, valid: tuple[str, ...] = ()) -> None:
        """Raise the unknown-key error for a key left here that is close to one of the absent ``names``.

        Call it before reporting a required key as missing (:meth:`require`
        does). ``valid``: keys of this table that are allowed but not read yet.
        """
        left = [k for k in self.data if k not in names and k not in valid]
        for name in names:
            if name in self.data:
                continue
            close = closest(name, left)
            if close:
                raise InputError(
                    f"config key `{self.key(close)}`: unknown key; did you mean `{name}`? "
                    f"(`{self.key(name)}` is required)"
                )

    def finish(self) -> None:
        for name in self.data:
            raise unknown_key(self.key(toml_key(name)), name, self.known)


def toml_key(name: str) -> str:
    """``name`` as one part of a dotted TOML key: bare when it can be, else quoted.

    A review: ``--set '"trial.n_total"=300'`` (one key with a dot in it) was
    called the unknown key `trial.n_total`, a valid one.

    >>> toml_key("n_total"), toml_key("trial.n_total"), toml_key("")
    ('n_total', '"trial.n_total"', '""')
    """
    if name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name):
        return name
    return json.dumps(name, ensure_ascii=False)


def unknown_key(dotted: str, name: str, known: list[str] | tuple[str, ...]) -> InputError:
    """The error for a key nobody reads, with the closest valid name."""
    close = closest(name, known)
    hint = f"; did you mean `{close}`?" if close else ""
    allowed = ", ".join(f"`{k}`" for k in known) or "none"
    return InputError(f"config key `{dotted}`: unknown key{hint} (allowed here: {allowed})")


# ---------------------------------------------------------------- scalars
def as_int(value: Any, key: str, *, low: int | None = None, high: int | None = None) -> int:
    typed = value  # shown as typed: 1e300 stays 1e+300, not its 301 digits
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise fail(key, _range_text("an integer", low, high), value)
    if (low is not None and value < low) or (high is not None and value > high):
        if isinstance(typed, int) and abs(typed) >= 10**20:  # exact up to 20 digits (2**63 and 2**64 as typed)
            typed = float(typed)
        raise fail(key, _range_text("an integer", low, high), typed)
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


def closest(text: str, names) -> str | None:
    """The name ``text`` most likely meant: the same letters in another case, else the nearest by difflib.

    >>> closest("bsof", ("none", "bsOF", "bsP")), closest("QOL", ["qol", "os"]), closest("xyz", ["qol"])
    ('bsOF', 'qol', None)
    """
    names = list(names)
    by_case = {name.casefold(): name for name in names}
    if text.casefold() in by_case:
        return by_case[text.casefold()]
    close = difflib.get_close_matches(text.casefold(), list(by_case), n=1, cutoff=0.6)
    return by_case[close[0]] if close else None


def as_choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(f'"{c}"' for c in choices)
        close = closest(str(value), choices)
        hint = f" (did you mean \"{close}\"?)" if close else ""
        raise fail(key, f"must be one of {listed}{hint}", value)
    return value


def as_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise fail(key, "must be true or false", value)
    return value


#: Rates closer than this to 0 or 1 (other than 0 and 1 themselves) are refused: binomial
#: probabilities of such rates under- and overflow in double precision (1e-306 did).
RATE_RESOLUTION = 1e-12


def as_rate(value: Any, key: str) -> float:
    rate = as_float(value, key, allowed="in [0, 1]", check=lambda v: 0.0 <= v <= 1.0)
    if 0.0 < rate < RATE_RESOLUTION or 1.0 - RATE_RESOLUTION < rate < 1.0:
        raise fail(key, f"must be 0, 1, or at least {RATE_RESOLUTION:g} from both (double precision cannot "
                        "resolve rates closer to 0 or 1)", rate)
    return rate


# ---------------------------------------------------------------- keys every endpoint kind reads
def take_better(t: Table) -> str:
    """``better``: which direction of the outcome favours the experimental arm (default ``"higher"``)."""
    return as_choice(t.take("better", "higher"), t.key("better"), ("higher", "lower"))


def take_role(t: Table, margin: float, roles: tuple[str, ...]) -> str:
    """``role``: ``"non_inferiority"`` by default when the endpoint has a margin, else ``"efficacy"``."""
    return as_choice(t.take("role", "non_inferiority" if margin > 0 else "efficacy"), t.key("role"), roles)


def take_delay(t: Table) -> float:
    """``delay``: months from entry until the outcome is known (read at a survival endpoint's looks)."""
    return as_float(t.take("delay", 0.0), t.key("delay"), allowed=f"in [0, {MONTHS[1]:g}] (months)",
                    check=lambda v: 0 <= v <= MONTHS[1])


def take_robust_weight(t: Table) -> float:
    """``robust_weight`` of a prior: the weight of its vague component, in [0, 1]."""
    return as_float(t.take("robust_weight", 0.0), t.key("robust_weight"), allowed="in [0, 1]",
                    check=lambda v: 0 <= v <= 1)


# ---------------------------------------------------------------- names and labels
#: Endpoint and arm names: an ASCII letter, then letters, digits, ``_`` or ``-``, 64 characters at most.
#: They become keys, CSV cells, file-safe ids and HTML ids, so nothing in them needs escaping anywhere.
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")  # whole string (fullmatch: "$" allows a final "\n")

#: Keys that sit beside the arm names in the same tables (a prior's ``base``,
#: ``discount``, ``robust_weight`` and ``model``; truth and dropout tables'
#: own keys), so they cannot be arm names.
RESERVED_ARM_NAMES = (
    "base", "discount", "robust_weight", "model", "estimate", "lower", "upper", "level", "median", "hazards",
    "times", "hazard_ratio", "hazard_ratio_times", "cured", "rate", "mean", "sd", "n", "events", "weights",
    "labels",
)

#: Longest display text (``label``, ``trial.name``, ``trial.labels``).
MAX_LABEL = 200


def safe_name(text: str) -> str:
    """A name that follows :data:`NAME_PATTERN`, suggested for a rejected one.

    >>> safe_name("=HYPERLINK(x)"), safe_name("2nd endpoint"), safe_name("")
    ('HYPERLINK_x', 'e2nd_endpoint', 'endpoint')
    """
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", text.encode("ascii", "ignore").decode("ascii")).strip("_-") or "endpoint"
    if not safe[0].isalpha():
        safe = "e" + safe if safe[0].isdigit() else "e_" + safe
    return safe[:64]


def as_name(value: Any, key: str, what: str) -> str:
    """Read an endpoint or arm name (``what``): :data:`NAME_PATTERN`, with a suggestion when it fails."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        suggestion = safe_name(value) if isinstance(value, str) else "endpoint"
        raise fail(key, f"{what} names must start with an ASCII letter, followed by letters, digits, _ or -, at "
                        f"most 64 characters (put display text in a label); e.g. {toml_value(suggestion)}", value)
    return value


def as_label(value: Any, key: str) -> str:
    """Read display text: a string of at most :data:`MAX_LABEL` characters, without control characters."""
    if not isinstance(value, str) or len(value) > MAX_LABEL or any(breaks_text(c) for c in value):
        raise fail(key, f"must be a string of at most {MAX_LABEL} characters without line breaks or control "
                        "characters", value if isinstance(value, str) and len(value) <= 80 else None,
                   show_value=isinstance(value, str) and len(value) <= 80)
    return value
