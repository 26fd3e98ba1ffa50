"""Interim futility rules of a continuous endpoint: decisions, type I error, thresholds, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import Trial
from simulator.config.validate import validate
from simulator.endpoints import get_kind
from simulator.errors import InputError


def raw(below=0.1, test="t", prior=True) -> dict:
    endpoint = {"kind": "continuous", "test": test,
                "truth": {"sd": 12.0, "control": {"mean": 0.0}, "experimental": {"mean": 5.0}}}
    if prior:
        endpoint["prior"] = {"control": {"mean": 0.0, "sd": 12.0, "n": 40},
                             "experimental": {"mean": 6.0, "sd": 12.0, "n": 40}, "discount": 0.5}
    return {
        "trial": {"n_total": 246},
        "endpoints": {"change": endpoint},
        "design": {"looks": 3, "efficacy": "asOF"},
        "interim": {"futility": {"on": "predictive_probability", "below": below}},
    }


def plan_of(mapping):
    config = validate(mapping)
    return get_kind("continuous").plan(config, config.endpoints[0])


@pytest.mark.parametrize("test", ["t", "welch", "z"])
def test_a_rule_that_never_fires_decides_as_the_plain_design(test):
    # The same draws; the statistics moved to the z scale through their p-values against the z bounds
    # decide as the plain design's t bounds do.
    with_rule = plan_of(raw(below=0.0, test=test))
    plain_raw = raw(test=test)
    plain_raw.pop("interim")
    plain = plan_of(plain_raw)
    for stream in ("power", "assurance", "type1"):
        _, ours = with_rule.run_chunk(np.random.default_rng(3), 20_000, stream)
        _, theirs = plain.run_chunk(np.random.default_rng(3), 20_000, stream)
        for key in ("reject", "futility", "stopped"):
            np.testing.assert_array_equal(ours[key], theirs[key])
        assert ours["rule_futility"].sum() == 0


def test_type1_error_and_threshold_under_h0():
    # The design-time threshold for a 20 % futility stop at the first interim, then 100000 trials under H0:
    # the stops agree within 4 MCSE plus 0.005 (the t statistic's z is close to normal at 41 per arm), the
    # type I error stays within alpha + 4 MCSE and never above the same trials without the rule.
    plan = plan_of(raw(below=[0.0, 0.0]))
    row = next(r for r in plan.rules.thresholds(plan)[0] if r["target"] == 0.2)
    plan = plan_of(raw(below=[row["threshold"], 0.1]))
    n, alpha = 100_000, 0.025
    _, counts = plan.run_chunk(np.random.default_rng(4), n, "type1")
    h0 = plan.rules.report(counts, n)
    assert h0["futility_rule_per_look"][0] == pytest.approx(row["stop_probability"],
                                                            abs=4 * math.sqrt(0.2 * 0.8 / n) + 0.005)
    assert counts["reject"].sum() / n <= h0["without_rule"] <= alpha + 4 * math.sqrt(alpha * (1 - alpha) / n)
    assert h0["rule_saving_patients"] > 0


def test_report_and_bad_input(tmp_path):
    result = Trial.from_dict({**raw(), "simulation": {"n_sims": 2_000, "null": True, "jobs": 1}}).simulate()
    result.save(tmp_path, plots=False)  # report.json is checked against docs/report.schema.json (conftest)
    block = result.to_dict()["scenarios"][0]["endpoints"]["change"]
    assert np.array(block["interim"]["assurance"]["predictive_probability_histogram"]).shape == (2, 20)
    nig = raw()
    nig["endpoints"]["change"]["prior"]["model"] = "nig"
    with pytest.raises(InputError, match=r"`endpoints.change.prior.model`: must be the normal prior"):
        Trial.from_dict(nig).simulate(n_sims=10)
    adaptation = raw()
    adaptation["design"]["looks"] = 2
    adaptation["adaptation"] = {"conditional_power": 0.8, "min_per_stage": [123, 123], "max_per_stage": [123, 400]}
    with pytest.raises(InputError, match=r"`adaptation`: is not supported yet for endpoint `change` \(kind = "
                                         r"\"continuous\"\): only \[interim\] there"):
        Trial.from_dict(adaptation).scenarios()


def test_thresholds_below_the_bounds_own_futility_stops_are_null_and_report_json_is_strict(tmp_path):
    # A review: with bsOF futility, the bound alone stops about 40 % of trials under H0 at the first look, so
    # no threshold stops only 10 %; the row said threshold -inf (written -Infinity, which is not JSON) and
    # stop_probability 0.0. Now: threshold null, and the bound's probability, Phi(futility bound).
    from scipy import stats

    mapping = raw(below=[0.05, 0.1])
    mapping["design"]["futility"] = "bsOF"
    plan = plan_of(mapping)
    rows = plan.rules.thresholds(plan)[0]
    bound = stats.norm.cdf(plan.bounds.futility[0])
    assert bound > 0.3
    for row in rows:
        if row["target"] < bound:
            # The z grid's steps (docs/adaptive.md): the bound's mass at the grid point at or below it.
            assert row["threshold"] is None and row["stop_probability"] == pytest.approx(bound, abs=1e-3)
        else:
            assert row["threshold"] is not None and bound <= row["stop_probability"] <= row["target"]
    # A -inf in the config (no futility bound at a look) and such rows: report.json parses as strict JSON
    # (the conftest refuses -Infinity), with the -inf as the string "-inf" in meta.config.
    mapping["design"]["futility"] = [float("-inf"), 0.5]
    result = Trial.from_dict(mapping).simulate(n_sims=500, seed=2)
    folder = result.save(tmp_path / "out", plots=False)
    import json

    text = (folder / "report.json").read_text(encoding="utf-8")
    assert "Infinity" not in text and "NaN" not in text
    report = json.loads(text)
    assert report["meta"]["config"]["design"]["futility"] == ["-inf", 0.5]
    assert result.to_dict() == report
    # And that config runs again as written (the string "-inf" is -inf), drawing the same trials.
    from simulator.config.digest import scenario_digest

    config = report["meta"]["config"]
    again = Trial.from_dict(config).scenarios[0].config
    typed = {**config, "design": {**config["design"], "futility": [float("-inf"), 0.5]}}
    assert again.design.futility[0] == float("-inf")
    assert scenario_digest(again) == scenario_digest(Trial.from_dict(typed).scenarios[0].config)
    # report.md's reproduction block keeps the TOML value.
    assert "futility = [-inf, 0.5]" in (folder / "report.md").read_text(encoding="utf-8")


def test_adaptation_on_a_continuous_endpoint_is_refused_before_its_sizes_are_checked():
    # A review: the sizes per stage were checked first, so a user fixed them only to learn that continuous
    # endpoints have no re-estimation.
    mapping = raw()
    mapping.pop("interim")
    mapping["adaptation"] = {"conditional_power": 0.8, "min_per_stage": [100, 100], "max_per_stage": [100, 400]}
    with pytest.raises(InputError, match=r"config key `adaptation`: is not supported yet for endpoint `change` "
                                         r"\(kind = \"continuous\"\)"):
        validate(mapping)
