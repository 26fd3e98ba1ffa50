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
