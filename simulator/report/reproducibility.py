"""What it takes to rerun a report: versions, the resolved config as TOML, the command.

A report is reproducible when the same command (same config, same seed) in a
fresh output folder writes the same bytes. Everything written here is
therefore a pure function of the report, with one exception kept on a line of
its own in every format: the runtime with the run's random id
(``meta.runtime_s`` and ``meta.run_id``, two lines in report.json), so that
a comparison can drop exactly those lines.

The TOML writer below is deliberately small: the config is a tree of tables,
scalars, arrays and inline tables (what :mod:`tomllib` returns for a config),
and ``tomllib.loads(to_toml(raw)) == raw`` for every such tree.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import re
from importlib import metadata

from simulator.config.fields import toml_value
from simulator.report.tables import md_text, n_sims_text

#: Packages whose versions are recorded (a result depends on the first three; joblib runs `--backend loky`).
ENVIRONMENT_PACKAGES = ("numpy", "scipy", "numba", "joblib", "matplotlib")

#: Tables nested at least this deep whose values are all scalars or arrays are
#: written inline (``control = { events = 14, n = 42 }``), as configs write them.
_INLINE_DEPTH = 4

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def environment() -> dict:
    """Python and package versions (``None`` for a package that is not installed).

    Examples
    --------
    >>> env = environment()
    >>> sorted(env)[:2]
    ['joblib', 'matplotlib']
    """
    env: dict = {"python": platform.python_version()}
    for name in ENVIRONMENT_PACKAGES:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = None
    return env


# --------------------------------------------------------------------- TOML
def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _is_table(value) -> bool:
    return isinstance(value, dict)


def _value(value) -> str:
    """One TOML value (a scalar, an array or an inline table), as :func:`simulator.config.fields.toml_value`
    writes it; here anything TOML cannot hold is an error, not a message."""
    _check_toml(value)
    return toml_value(value)


def _check_toml(value) -> None:
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_toml(item)
    elif isinstance(value, dict):
        for item in value.values():
            _check_toml(item)
    elif value is None or not isinstance(value, (bool, int, float, str, _dt.datetime, _dt.date, _dt.time)):
        raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _inline(value: dict, depth: int) -> bool:
    return depth >= _INLINE_DEPTH and not any(_is_table(v) for v in value.values())


def _table(lines: list[str], path: tuple[str, ...], table: dict) -> None:
    plain = [(k, v) for k, v in table.items() if not _is_table(v) or _inline(v, len(path) + 1)]
    nested = [(k, v) for k, v in table.items() if _is_table(v) and not _inline(v, len(path) + 1)]
    if path and (plain or not nested):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for key, value in plain:
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        _table(lines, path + (key,), value)


def to_toml(mapping: dict) -> str:
    """Write a config tree as TOML that reads back to the same tree.

    Top-level scalars come first, then one ``[table]`` per nested table, in
    the order of the mapping; tables nested four deep or more with no tables
    inside are written inline.

    Examples
    --------
    >>> print(to_toml({"trial": {"n_total": [300, 358]}, "endpoints": {"m": {"prior": {
    ...     "control": {"events": 14, "n": 42}}}}}), end="")
    [trial]
    n_total = [300, 358]
    <BLANKLINE>
    [endpoints.m.prior]
    control = { events = 14, n = 42 }
    """
    lines: list[str] = []
    _table(lines, (), mapping)
    return "\n".join(lines).lstrip("\n") + "\n"


# --------------------------------------------------------------------- blocks
def _runtime_text(meta: dict) -> str:
    runtime = meta.get("runtime_s")
    text = "-" if runtime is None else f"{runtime:.2f} s"
    return f"{text}; run id {meta['run_id']}" if meta.get("run_id") else text


def reproducibility_items(report: dict) -> list[tuple[str, str]]:
    """(label, text) pairs of the reproducibility block, the runtime last."""
    meta = report["meta"]
    env = meta.get("environment") or environment()
    versions = ", ".join(f"{name} {env[name]}" for name in ("python", *ENVIRONMENT_PACKAGES) if env.get(name))
    items = [
        ("version", f"phase3-simulator {meta.get('version', '-')}"),
        ("seed", str(meta.get("seed", "-"))),
        ("simulated trials per stream", n_sims_text(report)),
        ("command", meta.get("command") or "(Python API: no command line)"),
        ("versions", versions),
        ("runtime", _runtime_text(meta)),
    ]
    return items


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def code_span(text: str) -> str:
    """``text`` as one Markdown code span, whatever backticks it holds (CommonMark: a longer delimiter).

    >>> code_span("a `b` c")
    '`` a `b` c ``'
    """
    text = " ".join(text.splitlines())
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if fence != "`" or text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(text: str, info: str = "") -> list[str]:
    """``text`` as a fenced code block whose fence no line of it can close."""
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return [fence + info, text, fence]


def markdown_block(report: dict) -> list[str]:
    """The Markdown lines of the reproducibility section (runtime on its own line)."""
    out = ["## Reproducibility", ""]
    for label, text in reproducibility_items(report):
        value = code_span(text) if label == "command" else md_text(text)
        out.append(f"- {label[0].upper() + label[1:]}: {value}")
    out += [
        "",
        "Rerunning the command with the resolved config below reproduces every file byte for byte,",
        "except the runtime line (with the run id, which tells files of different runs apart).",
        "",
        *fenced(to_toml(report["meta"].get("config", {})).rstrip("\n"), "toml"),
        "",
    ]
    return out
