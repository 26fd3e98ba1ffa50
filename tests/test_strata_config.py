"""Strata and randomisation keys: validation (one line naming the key, exit 2) and the seed digest."""

import copy
import re

import pytest

from simulator.cli import main
from simulator.config.digest import scenario_digest
from simulator.config.validate import validate
from simulator.errors import InputError

SURVIVAL = {
    "trial": {"n_total": 400},
    "endpoints": {
        "os": {
            "kind": "survival",
            "truth": {"control": {"median": 12.0}, "hazard_ratio": 0.7},
            "accrual": {"duration": 24.0},
        }
    },
    "design": {"events": 300},
}
BINARY = {
    "trial": {"n_total": 400},
    "endpoints": {"resp": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.45}}},
}


def _with(base, **sections):
    raw = copy.deepcopy(base)
    for section, value in sections.items():
        if section in raw and isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, dict) and isinstance(raw[section].get(key), dict):
                    raw[section][key].update(item)
                else:
                    raw[section][key] = item
        else:
            raw[section] = value
    return raw


def test_strata_are_read_and_crossed():
    raw = _with(SURVIVAL, strata={"liver": {"share": [0.6, 0.4], "hazard_multiplier": [1.0, 1.8]},
                                  "ecog": {"share": [0.5, 0.3, 0.2]}},
                trial={"randomisation": "minimisation"}, endpoints={"os": {"stratified": True}})
    config = validate(raw)
    assert [f.name for f in config.strata] == ["liver", "ecog"]
    assert config.strata[0].hazard_multiplier == (1.0, 1.8)
    assert config.strata[1].hazard_multiplier == (1.0, 1.0, 1.0)
    assert config.trial.randomisation == "minimisation"
    assert config.trial.minimisation_probability == 0.8  # the default
    assert config.endpoints[0].stratified is True
    blocks = validate(_with(SURVIVAL, strata={"liver": {"share": [0.6, 0.4]}}, trial={"randomisation": "blocks"}))
    assert blocks.trial.block_size == 4  # twice the allocation's sum


def test_new_keys_at_their_defaults_keep_the_seed_digest():
    """Configs written before strata existed keep their random streams (docs/conventions.md)."""
    plain = validate(copy.deepcopy(SURVIVAL))
    explicit = validate(_with(SURVIVAL, trial={"randomisation": "simple"}, endpoints={"os": {"stratified": False}}))
    assert scenario_digest(plain) == scenario_digest(explicit)
    stratified = validate(_with(SURVIVAL, strata={"liver": {"share": [0.6, 0.4]}}))
    assert scenario_digest(stratified) != scenario_digest(plain)
    for binary in (validate(copy.deepcopy(BINARY)),
                   validate(_with(BINARY, endpoints={"resp": {"stratified": False}}))):
        assert scenario_digest(binary) == scenario_digest(validate(copy.deepcopy(BINARY)))


BAD = [
    (SURVIVAL, dict(strata={"liver": {"share": [0.6, 0.3]}}), r"`strata\.liver\.share`: must sum to 1"),
    (SURVIVAL, dict(strata={"liver": {"share": [1.0]}}), r"`strata\.liver\.share`: must be a list of 2 to 32"),
    (SURVIVAL, dict(strata={"liver": {"share": [0.6, -0.4]}}), r"`strata\.liver\.share`: must be a number in \(0, 1\)"),
    (SURVIVAL, dict(strata={"liver": {"shares": [0.6, 0.4]}}), r"`strata\.liver\.shares`: unknown key; did you mean `share`"),
    (SURVIVAL, dict(strata={"liver": {"share": [0.6, 0.4], "hazard_multiplier": [1.0]}}),
     r"`strata\.liver\.hazard_multiplier`: must be a list of 2 numbers in \[0\.001, 1000\]"),
    (SURVIVAL, dict(strata={"liver": {"share": [0.6, 0.4], "hazard_multiplier": [1.0, 0.0]}}),
     r"`strata\.liver\.hazard_multiplier`: must be a number in \[0\.001, 1000\]"),
    (SURVIVAL, dict(strata={"liver": {"share": [0.6, 0.4], "odds_multiplier": [1.0, 2.0]}}),
     r"`strata\.liver\.odds_multiplier`: has no endpoint to act on"),
    (BINARY, dict(strata={"liver": {"share": [0.6, 0.4], "hazard_multiplier": [1.0, 2.0]}}),
     r"`strata\.liver\.hazard_multiplier`: has no endpoint to act on"),
    (SURVIVAL, dict(strata={f"f{i}": {"share": [0.25] * 4} for i in range(5)}),
     r"`strata\.f4\.share`: the crossed factors would make more than 256 strata"),
    (SURVIVAL, dict(trial={"randomisation": "urn"}), r'`trial\.randomisation`: must be one of "simple", "blocks", "minimisation"'),
    (SURVIVAL, dict(trial={"randomisation": "minimisation"}), r'`trial\.randomisation`: "minimisation" needs at least one \[strata\.NAME\]'),
    (SURVIVAL, dict(trial={"randomisation": "blocks"}), r'`trial\.randomisation`: "blocks" needs at least one \[strata\.NAME\]'),
    (SURVIVAL, dict(trial={"randomisation": "blocks", "block_size": 5}),
     r"`trial\.block_size`: must be a multiple of the allocation's sum, 2"),
    (SURVIVAL, dict(trial={"randomisation": "minimisation", "minimisation_probability": 0.3},
                    strata={"liver": {"share": [0.6, 0.4]}}),
     r"`trial\.minimisation_probability`: must be a number in \[0\.5, 1\]"),
    (SURVIVAL, dict(endpoints={"os": {"stratified": True}}), r"`endpoints\.os\.stratified`: needs at least one \[strata\.NAME\]"),
    (SURVIVAL, dict(endpoints={"os": {"stratified": "yes"}}), r"`endpoints\.os\.stratified`: must be true or false"),
    (BINARY, dict(endpoints={"resp": {"stratified": True, "test": "farrington_manning", "margin": 0.1}},
                  strata={"s": {"share": [0.5, 0.5]}}),
     r"`endpoints\.resp\.stratified`: cannot be true with a margin"),
    (BINARY, dict(trial={"missing": 0.1}, strata={"s": {"share": [0.5, 0.5]}}), r"`trial\.missing`: must be 0 with strata"),
    (SURVIVAL, dict(strata="liver"), r"`strata`: must be tables"),
    # Names go into every report: a review passed NUL, line breaks and bidi overrides through.
    (SURVIVAL, dict(strata={"a\u202eb": {"share": [0.5, 0.5]}}), r"`strata`: strata factor names must start with"),
    (SURVIVAL, dict(strata={"": {"share": [0.5, 0.5]}}), r"`strata`: strata factor names must start with"),
    (SURVIVAL, dict(strata={"x" * 65: {"share": [0.5, 0.5]}}), r"`strata`: strata factor names must start with"),
    (SURVIVAL, dict(endpoints={"os": {"stratified": True, "test": "fleming_harrington",
                                      "weights": {"rho": 0, "gamma": 1}}}, strata={"s": {"share": [0.5, 0.5]}}),
     r'`endpoints\.os\.stratified`: needs test = "logrank"'),
]


@pytest.mark.parametrize("base, change, pattern", BAD)
def test_bad_strata_input_names_the_key(base, change, pattern):
    with pytest.raises(InputError) as err:
        validate(_with(base, **change))
    assert re.search(pattern, str(err.value)), str(err.value)


def test_strata_with_interim_rules_are_refused():
    raw = _with(SURVIVAL, strata={"liver": {"share": [0.6, 0.4]}}, design={"looks": 2},
                interim={"futility": {"on": "conditional_power", "below": 0.1}})
    with pytest.raises(InputError, match=r"config key `strata`: cannot be combined with \[interim\] or \[adaptation\]"):
        validate(raw)


def test_strata_with_a_kind_that_does_not_model_them():
    raw = {
        "trial": {"n_total": 200},
        "endpoints": {"qol": {"kind": "continuous", "truth": {"sd": 1.0, "control": {"mean": 0.0},
                                                              "experimental": {"mean": 0.3}}}},
        "strata": {"s": {"share": [0.5, 0.5]}},
    }
    with pytest.raises(InputError, match=r"config key `strata`: cannot be used with endpoint `qol` \(kind = \"continuous\"\)"):
        validate(raw)


def test_bad_share_exits_2_naming_the_key(small_config, capsys, tmp_path):
    code = main(["run", str(small_config), "--out", str(tmp_path / "out"), "--quiet",
                 "--set", "strata.liver.share=[0.6, 0.3]"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "config key `strata.liver.share`: must sum to 1 (sums to 0.9)" in err[0]


def test_a_method_parameter_rides_a_sweep_over_methods_and_is_refused_where_no_scenario_uses_it():
    # docs/strata.md: sweep trial.randomisation to compare methods, each at its own parameter; a
    # parameter whose method no scenario has is most likely a forgotten method (exit 2, naming it).
    from simulator.config.load import scenarios_from_mapping

    strata = {"liver": {"share": [0.6, 0.4]}}
    raw = _with(SURVIVAL, trial={"block_size": 8, "minimisation_probability": 0.9}, strata=strata,
                sweep={"trial.randomisation": ["simple", "blocks", "minimisation"]})
    trials = [s.config.trial for s in scenarios_from_mapping(raw, complete=False)[0]]
    assert [(t.randomisation, t.block_size, t.minimisation_probability) for t in trials] == [
        ("simple", None, None), ("blocks", 8, None), ("minimisation", None, 0.9)]
    for key, value, method in (("block_size", 4, "blocks"), ("minimisation_probability", 0.8, "minimisation")):
        with pytest.raises(InputError, match=rf'`trial\.{key}`: is only used with trial\.randomisation = "{method}", '
                                             "which no scenario has"):
            scenarios_from_mapping(_with(SURVIVAL, trial={key: value}), complete=False)
    # Out of range is refused whatever the method (it was reported as "only used with ...").
    with pytest.raises(InputError, match=r"`trial\.minimisation_probability`: must be a number in \[0\.5, 1\]"):
        scenarios_from_mapping(_with(SURVIVAL, trial={"minimisation_probability": 0.3}), complete=False)
