"""Generated configs and ``--set`` values never give a traceback: ``design`` and ``run`` exit 0 or 2 only (issue 18).

Hypothesis draws a config of each endpoint kind from values that are valid,
borderline or absurd (negative, zero, huge, NaN, strings, lists), and
overrides of known keys with any TOML value. Bounded so that the suite stays
fast: at most 2 000 patients and 500 trials per run, a fixed number of
derandomised examples.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.config.fields import toml_value

NUMBERS = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([0.0, 1.0, 0.5, 1e-300, 1e300, -1.0, math.nan, math.inf, 0.999999, 1e-9]),
    st.integers(min_value=-5, max_value=2000),
)
VALUES = st.one_of(NUMBERS, st.text(max_size=6), st.booleans(), st.lists(NUMBERS, max_size=3))
# Valid values twice as often as anything else, so that many examples get as far as simulating.
RATES = st.one_of(st.floats(min_value=0.01, max_value=0.99), st.floats(min_value=0.01, max_value=0.99), NUMBERS)

BINARY = st.fixed_dictionaries({
    "kind": st.just("binary"),
    "test": st.sampled_from(["z_pooled", "z_unpooled", "fisher", "farrington_manning", "chi2", "bogus"]),
    "truth": st.fixed_dictionaries({"control": RATES, "experimental": RATES}),
})
SURVIVAL = st.fixed_dictionaries({
    "kind": st.just("survival"),
    "truth": st.fixed_dictionaries({
        "control": st.fixed_dictionaries({"median": st.one_of(st.floats(min_value=1, max_value=60), NUMBERS)}),
        "hazard_ratio": st.one_of(st.floats(min_value=0.3, max_value=1.5), NUMBERS),
    }),
    "accrual": st.fixed_dictionaries({"duration": st.one_of(st.floats(min_value=1, max_value=48), NUMBERS)}),
    "follow_up": st.fixed_dictionaries({"minimum": st.one_of(st.floats(min_value=0, max_value=24), NUMBERS)}),
})
CONTINUOUS = st.fixed_dictionaries({
    "kind": st.just("continuous"),
    "truth": st.fixed_dictionaries({
        "sd": st.one_of(st.floats(min_value=1, max_value=50), NUMBERS),
        "control": st.fixed_dictionaries({"mean": NUMBERS}),
        "experimental": st.fixed_dictionaries({"mean": NUMBERS}),
    }),
})
KEYS = [
    "trial.n_total", "trial.missing", "trial.allocation", "trial.arms", "trial.name", "design.alpha", "design.sided",
    "design.looks", "design.efficacy", "design.futility", "design.power", "design.events", "simulation.seed",
    "simulation.null", "success.rule", "endpoints.e.better", "endpoints.e.margin", "endpoints.e.test",
    "sweep.design.alpha", "sweep.trial.n_total", "endpoints.e.prior.discount",
]


def _toml(config: dict) -> str:
    lines = ["[trial]", f"n_total = {toml_value(config['n_total'])}", "[endpoints.e]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in config["endpoint"].items()]
    if config["endpoint"]["kind"] == "survival":
        lines += ["[design]", f"events = {toml_value(config['events'])}"]
    lines += ["[simulation]", "n_sims = 500", "jobs = 1"]
    return "\n".join(lines) + "\n"


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.one_of(BINARY, SURVIVAL, CONTINUOUS),
    n_total=st.one_of(st.integers(min_value=20, max_value=2000), st.integers(min_value=20, max_value=2000), NUMBERS),
    events=st.integers(min_value=10, max_value=400),
    overrides=st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=3),
)
def test_generated_input_gives_exit_0_or_2_and_no_traceback(tmp_path_factory, capsys, endpoint, n_total, events, overrides):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzz.toml"
    path.write_text(_toml({"endpoint": endpoint, "n_total": n_total, "events": events}), encoding="utf-8")
    sets = [item for key, value in overrides for item in ("--set", f"{key}={toml_value(value)}")]
    for argv in (["design", str(path), *sets], ["run", str(path), "--out", str(folder / "out"), "--quiet", *sets]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (0, 2), (argv, path.read_text(), err[-3000:])
        assert "Traceback" not in err, err[-3000:]
        if code == 2:
            assert len(err.strip().splitlines()) == 1 and err.startswith("p3sim: error: "), err
