"""trial.n_total is optional for `design` and a patients' `size` search (issue 12.3), required to simulate."""

from __future__ import annotations

import pytest

import simulator as p3
from simulator.cli import main

NO_SIZE = """
[trial]
name = "no size"
[endpoints.resp]
kind = "binary"
truth = { control = 0.35, experimental = 0.50 }
[design]
power = 0.9
looks = 3
"""


@pytest.fixture
def no_size(tmp_path):
    path = tmp_path / "no_size.toml"
    path.write_text(NO_SIZE, encoding="utf-8")
    return path


def test_design_computes_the_size(no_size, capsys):
    result = p3.Trial.from_toml(no_size).design()
    block = result.scenarios[0]
    # rpact getSampleSizeRates(getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.1,
    # typeOfDesign = "asOF"), pi1 = 0.5, pi2 = 0.35): maximum 457.68 -> 229 per arm = 458.
    assert block["n_total"] == 458 and block["n_total_source"] == "design.power"
    assert block["endpoints"]["resp"]["n_total_rounded"] == 458
    assert main(["design", str(no_size)]) == 0
    assert "scenario n_total = 458 (computed for design.power" in capsys.readouterr().out


def test_run_needs_it_with_one_line_and_exit_2(no_size, capsys):
    assert main(["run", str(no_size), "--sims", "100", "--out", str(no_size.parent / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["p3sim: error: config key `trial.n_total`: is required to simulate (the patients randomised); "
                   "`design` can compute one where each endpoint's truth shows a benefit over the null, and `size` "
                   "too, except for event-driven survival (it searches the events at a given `trial.n_total`)"]


def test_design_without_it_names_an_endpoint_with_a_prior_only(tmp_path):
    # A new-user review: a survival endpoint with a prior and no hazard ratio was said to have no truth "with a
    # benefit over the null", after the events were derived at its prior median.
    path = tmp_path / "prior_only.toml"
    path.write_text(
        '[trial]\nname = "os"\n[endpoints.os]\nkind = "survival"\n[endpoints.os.truth]\n'
        'control = { median = 12 }\n[endpoints.os.prior]\nhazard_ratio = { lower = 0.5, upper = 0.95 }\n'
        '[endpoints.os.accrual]\nduration = 24\n[endpoints.os.follow_up]\nminimum = 12\n',
        encoding="utf-8",
    )
    with pytest.raises(p3.InputError, match=r"endpoint `os` has no truth \(a prior only\), so no analytic size"):
        p3.Trial.from_toml(path).design()
    with pytest.raises(p3.InputError, match=r"endpoint `os` has no truth, so there is no analytic size"):
        p3.Trial.from_toml(path).simulate(n_sims=10)


def test_binary_size_searches_without_it(no_size):
    sz = p3.Trial.from_toml(no_size).size("power", 0.9, n_sims=4000, seed=2)
    assert sz.axis == "n_total" and abs(sz.n_total - 458) <= 30 and sz.estimate.value >= 0.9


def test_survival_size_and_assurance_start_still_need_it(tmp_path):
    survival = tmp_path / "os.toml"
    survival.write_text(
        '[trial]\nname = "os"\n[endpoints.os]\nkind = "survival"\n[endpoints.os.truth]\n'
        'control = { median = 12 }\nhazard_ratio = 0.7\n[endpoints.os.accrual]\nduration = 24\n',
        encoding="utf-8",
    )
    with pytest.raises(p3.InputError, match=r"config key `trial\.n_total`: is required to size a survival trial"):
        p3.Trial.from_toml(survival).size("power", 0.8, n_sims=1000)
    prior_only = tmp_path / "prior.toml"
    prior_only.write_text(NO_SIZE.replace("truth = { control = 0.35, experimental = 0.50 }",
                                          "prior = { control = { events = 14, n = 40 }, experimental = { events = 20, n = 40 } }"),
                          encoding="utf-8")
    with pytest.raises(p3.InputError, match=r"config key `trial\.n_total`: is required as the start of this search"):
        p3.Trial.from_toml(prior_only).size("assurance", 0.5, n_sims=1000)
    with pytest.raises(p3.InputError, match=r"config key `trial\.n_total`: is required here: endpoint `resp` has no truth"):
        p3.Trial.from_toml(prior_only).design()


def test_look_sizes_without_n_total_name_the_missing_size(no_size):
    # A review found "the last look must be trial.n_total = 60" (a provisional size nobody gave).
    trial = p3.Trial.from_toml(no_size, overrides=["design.look_sizes=[100, 200, 600]"])
    with pytest.raises(p3.InputError, match=r"^config key `trial\.n_total`: is required with design\.look_sizes "
                                            r"\(its last look is the trial's size\)$"):
        trial.design()


@pytest.mark.parametrize("rule, words", [("all", "the largest of the 2 endpoints' own sizes"),
                                         ("any", "the smallest of the 2 endpoints' own sizes")])
def test_a_size_for_several_endpoints_says_whose_it_is(no_size, rule, words):
    # A review: with rule all, design's size (the largest endpoint's) gave a trial power far below design.power
    # without a word. Each endpoint's own size: 458 for 0.35 vs 0.50; 0.30 vs 0.40 needs more.
    trial = p3.Trial.from_toml(no_size).override({
        "endpoints.tox": {"kind": "binary", "truth": {"control": 0.30, "experimental": 0.40}},
        "success.rule": rule, **({"success.multiplicity": "bonferroni"} if rule == "any" else {}),
    })
    block = trial.design().scenarios[0]
    assert words in block["n_total_note"] and "p3sim size --target power" in block["n_total_note"]
    one = p3.Trial.from_toml(no_size).design().scenarios[0]
    assert "n_total_note" not in one


def test_a_fixed_sequence_is_sized_for_its_first_endpoint(no_size):
    # A code review: under rule any a fixed sequence succeeds only where its first endpoint does, but design took
    # the smallest endpoint's size (the other endpoint's), at which the trial had power 0.16 for the 0.9 asked.
    trial = p3.Trial.from_toml(no_size).override({
        "endpoints.tox": {"kind": "binary", "truth": {"control": 0.30, "experimental": 0.40}},
        "success.rule": "any", "success.multiplicity": "fixed_sequence", "success.order": ["tox", "resp"],
    })
    block = trial.design().scenarios[0]
    assert block["n_total"] == block["endpoints"]["tox"]["n_total_rounded"]
    assert block["n_total"] > block["endpoints"]["resp"]["n_total_rounded"]
    assert "the size of tox, the first endpoint of the fixed sequence" in block["n_total_note"]


def test_run_without_n_total_and_without_a_truth_does_not_point_at_design(tmp_path, capsys):
    # A review: the message said `design` and `size` could compute a size, which both refuse without a truth.
    from simulator.cli import main

    path = tmp_path / "prior.toml"
    path.write_text('[endpoints.resp]\nkind = "binary"\nprior = { control = { events = 9, n = 30 }, '
                    'experimental = { events = 13, n = 30 } }\n', encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("p3sim: error: config key `trial.n_total`: is required to simulate")
    assert "endpoint `resp` has no truth, so there is no analytic size" in err and "can compute one" not in err
    assert main(["design", str(path)]) == 2
    assert main(["size", str(path), "--target", "assurance", "--out", str(tmp_path / "s")]) == 2


@pytest.mark.parametrize("endpoint, allocation, size", [
    # z test, a difference of 10 SDs: the formula's 0.4 patients round to 1 + 1, which 1:7 cannot split; the
    # smallest split with an arm of 1 is 4 (1 + 3), and a variance needs 2 a side: 16 (2 + 14) carries it.
    ('kind = "continuous"\ntest = "z"\n[endpoints.y.truth]\ncontrol = { mean = 0, sd = 1 }\n'
     'experimental = { mean = 10, sd = 1 }', [1, 7], 16),
    ('kind = "continuous"\ntest = "z"\n[endpoints.y.truth]\ncontrol = { mean = 0, sd = 1 }\n'
     'experimental = { mean = 10, sd = 1 }', [1, 3], 8),
    # Rates 0.01 against 0.99 at 1:20: the arms rounded up sum to 8, which leaves the control arm empty.
    ('kind = "binary"\ntruth = { control = 0.01, experimental = 0.99 }', [1, 20], 11),
])
def test_a_size_too_small_to_split_grows_to_the_smallest_workable(tmp_path, endpoint, allocation, size):
    # A review: `design` refused with "trial.n_total: 2 is too small for trial.allocation = [1, 7]", a key the
    # user never gave; the derived size grows to the smallest total whose split gives each arm its patients.
    path = tmp_path / "large_effect.toml"
    path.write_text(f'[trial]\nname = "large"\nallocation = {allocation}\n[endpoints.y]\n{endpoint}\n'
                    "[design]\npower = 0.8\n", encoding="utf-8")
    block = p3.Trial.from_toml(path).design().scenarios[0]
    assert block["n_total"] == size and block["n_total_source"] == "design.power"
