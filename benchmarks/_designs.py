"""The designs the benchmarks measure: one base config plus overrides.

A design is a tuple of ``(dotted key, value)`` overrides of :data:`BASE_TOML`.
The same overrides build a :class:`~simulator.endpoints.binary.BinaryPlan` in
this process (through :func:`simulator.config.load.load_scenarios`, the path
the command line takes) and become ``--set KEY=VALUE`` arguments of
``p3sim run`` in a subprocess, so that both measure the same trial.

The base is the fixed design of the brief: a harm (``better = "lower"``)
with true rates 0.33 (control) and 0.22 (experimental), 600 patients 1:1,
the pooled z test, one-sided alpha 0.025. The kernels see it oriented,
0.67 vs 0.78 ("higher is better").
"""

from __future__ import annotations

import json
from pathlib import Path

from simulator.config.load import load_scenarios
from simulator.endpoints import plan_for

ENDPOINT = "outcome"

BASE_TOML = f"""\
# Written by benchmarks/run.py: the base design of the benchmarks.
[trial]
name = "benchmark"
arms = ["control", "experimental"]
allocation = [1, 1]
n_total = 600

[endpoints.{ENDPOINT}]
kind = "binary"
better = "lower"
test = "z_pooled"

[endpoints.{ENDPOINT}.truth]
control = 0.33
experimental = 0.22

[design]
alpha = 0.025
sided = 1
looks = 1

[simulation]
n_sims = 100000
seed = 20250702
jobs = 1
"""

Design = tuple[tuple[str, object], ...]

#: The base itself: z_pooled, N = 600, 0.33 vs 0.22 (lower is better).
Z_POOLED: Design = ()
#: Fisher's exact test (one-sided, critical counts precomputed per plan).
FISHER: Design = ((f"endpoints.{ENDPOINT}.test", "fisher"),)
#: Farrington-Manning with a 0.10 non-inferiority margin, so that every
#: simulated trial solves the restricted-MLE cubic (with margin 0 it reduces
#: to the pooled z test and would measure nothing new).
FARRINGTON_MANNING: Design = (
    (f"endpoints.{ENDPOINT}.test", "farrington_manning"),
    (f"endpoints.{ENDPOINT}.margin", 0.10),
)
#: Phase 2 counts as priors: assurance draws two Beta rates per trial.
PRIOR: Design = (
    (f"endpoints.{ENDPOINT}.prior.control", {"events": 14, "n": 42}),
    (f"endpoints.{ENDPOINT}.prior.experimental", {"events": 8, "n": 37}),
)
#: Group-sequential: 3 equally spaced looks, Lan-DeMets O'Brien-Fleming,
#: N = 458, 0.50 (experimental) vs 0.35 (control), higher is better.
GROUP_SEQUENTIAL: Design = (
    ("trial.n_total", 458),
    (f"endpoints.{ENDPOINT}.better", "higher"),
    (f"endpoints.{ENDPOINT}.truth.control", 0.35),
    (f"endpoints.{ENDPOINT}.truth.experimental", 0.50),
    ("design.looks", 3),
    ("design.efficacy", "asOF"),
)


def with_size(design: Design, n_total: int) -> Design:
    """``design`` with ``trial.n_total`` set to ``n_total``."""
    return (*design, ("trial.n_total", n_total))


def toml_value(value) -> str:
    """Write a Python scalar, list or flat dict as a TOML value.

    Examples
    --------
    >>> toml_value({"events": 14, "n": 42})
    '{ events = 14, n = 42 }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for plain text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as a TOML value")


def overrides(design: Design) -> list[str]:
    """``KEY=VALUE`` strings, as ``--set`` takes them."""
    return [f"{key}={toml_value(value)}" for key, value in design]


def set_arguments(design: Design) -> list[str]:
    """Command-line arguments ``--set KEY=VALUE ...`` for ``p3sim run``."""
    return [arg for text in overrides(design) for arg in ("--set", text)]


def write_base(folder: Path) -> Path:
    """Write :data:`BASE_TOML` into ``folder`` and return its path."""
    path = Path(folder) / "benchmark.toml"
    path.write_text(BASE_TOML, encoding="utf-8")
    return path


def make_plan(base: Path, design: Design):
    """The validated config and the plan of the single endpoint of ``design``.

    Raises :class:`simulator.errors.InputError` when the package rejects the
    design (as ``p3sim`` would, with exit code 2).
    """
    _, scenarios = load_scenarios(base, overrides(design))
    config = scenarios[0].config
    return config, plan_for(config, config.endpoints[0])


#: A small binary design for the size search (``p3sim size``): 0.30 (control)
#: vs 0.50 (experimental), higher is better, 1:1, pooled z test, one-sided
#: alpha 0.025, target power 0.8. ``trial.n_total`` is only the start.
SIZE_TOML = """\
# Written by benchmarks/run.py: the size-search benchmark design.
[trial]
name = "size benchmark"
arms = ["control", "experimental"]
allocation = [1, 1]
n_total = 200

[endpoints.response]
kind = "binary"
better = "higher"
test = "z_pooled"

[endpoints.response.truth]
control = 0.30
experimental = 0.50

[design]
alpha = 0.025
sided = 1
power = 0.8

[simulation]
seed = 20250702
jobs = 1
"""


def write_size_config(folder: Path) -> Path:
    """Write :data:`SIZE_TOML` into ``folder`` and return its path."""
    path = Path(folder) / "size.toml"
    path.write_text(SIZE_TOML, encoding="utf-8")
    return path
