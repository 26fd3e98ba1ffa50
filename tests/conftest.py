"""Shared fixtures: a small valid config written to a temporary folder."""

from pathlib import Path

import pytest

SMALL_CONFIG = """
[trial]
name = "small"
n_total = 120
[endpoints.resp]
kind = "binary"
better = "higher"
test = "z_pooled"
[endpoints.resp.truth]
control = 0.30
experimental = 0.50
[endpoints.resp.prior]
control = { events = 9, n = 30 }
experimental = { events = 15, n = 30 }
[simulation]
n_sims = 2000
seed = 7
jobs = 1
"""


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_CONFIG, encoding="utf-8")
    return path


# ---------------------------------------------------------------- report.json schema
_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"


@pytest.fixture(scope="session")
def report_validator():
    """A validator of docs/report.schema.json (JSON Schema 2020-12)."""
    import json

    import jsonschema

    schema = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _refuse_non_json(name):
    """report.json is strict JSON: Python's ``-Infinity``, ``Infinity`` and ``NaN`` are not JSON."""
    raise AssertionError(f"report.json holds {name}, which is not JSON")


def _leaves(value, where=()):
    """``(path, value)`` of every scalar of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*where, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*where, i))
    else:
        yield where, value


@pytest.fixture(autouse=True)
def _every_written_report_matches_the_schema(request, tmp_path_factory, report_validator):
    """Every report.json a test writes (anywhere under pytest's temporary folders) is valid against the schema."""
    import json
    import time

    started = time.time()
    yield
    base = tmp_path_factory.getbasetemp()
    for path in (p for p in base.rglob("report.json") if p.is_file()):  # a hostile test puts a folder there
        if path.stat().st_mtime < started - 1.0:
            continue
        try:
            report = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_non_json)
        except json.JSONDecodeError:
            continue  # tests of corrupted files write these on purpose
        # A non-finite number is the string "inf", "-inf" or "nan", and only where the config has it (a TOML
        # -inf): meta.config, and a scenario's params (a swept futility list).
        strays = [where for where, value in _leaves(report) if value in ("inf", "-inf", "nan")
                  and where[:2] != ("meta", "config") and not (where[0] == "scenarios" and where[2] == "params")]
        assert not strays, f"{path}: non-finite values outside the config's values at {strays[:5]}"
        errors = sorted(report_validator.iter_errors(report), key=lambda e: list(e.absolute_path))
        assert not errors, f"{path}: " + "; ".join(
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
