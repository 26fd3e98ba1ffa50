"""Sample-size re-estimation of a binary endpoint against rpact's getSimulationRates.

rpact 3.3.4 (issue 17; re-run for the spread of N with getData()):

    design <- getDesignInverseNormal(kMax = 2, alpha = 0.025, sided = 1, typeOfDesign = "asOF")
    s <- getSimulationRates(design, groups = 2, pi1 = c(0.30, 0.45), pi2 = 0.30,
        plannedSubjects = c(150, 300), conditionalPower = 0.8,
        minNumberOfSubjectsPerStage = c(150, 150), maxNumberOfSubjectsPerStage = c(150, 600),
        maxNumberOfIterations = 1e5)
    s0 <- getSimulationRates(design, groups = 2, pi1 = 0.45, pi2 = 0.30,
        plannedSubjects = c(150, 300), maxNumberOfIterations = 1e5)

Reference (10^5 iterations each): with re-estimation power 0.9320, E[N] 421.6,
rejections per stage 0.1433 / 0.7887; under H0 (0.30 vs 0.30) 0.0248,
E[N] 713.5; without re-estimation 0.7699, E[N] 278.9. The standard deviation
of the per-iteration N, from getData(s) (seed 12345): 214.58 under H1,
111.99 under H0, 52.20 without re-estimation.

Tolerance: 4 joint MCSE, the square root of the sum of both sides' squared
MCSEs (rpact's from its 10^5 iterations and the reference value; ours from
our own estimate).
"""

from __future__ import annotations

import math

import pytest

from simulator import Trial

N_RPACT = 100_000
N_OURS = 100_000


def config(adaptation: bool, null: bool = True) -> dict:
    raw = {
        "trial": {"n_total": 300},
        "endpoints": {"response": {"kind": "binary", "test": "z_pooled",
                                   "truth": {"control": 0.30, "experimental": 0.45}}},
        "design": {"alpha": 0.025, "sided": 1, "looks": 2, "efficacy": "asOF"},
        "simulation": {"n_sims": N_OURS, "seed": 17, "null": null, "jobs": 1},
    }
    if adaptation:
        raw["adaptation"] = {"method": "inverse_normal", "conditional_power": 0.8,
                             "min_per_stage": [150, 150], "max_per_stage": [150, 600]}
    return raw


def joint(p_ref: float, p_ours: float) -> float:
    return math.sqrt(p_ref * (1 - p_ref) / N_RPACT + p_ours * (1 - p_ours) / N_OURS)


@pytest.fixture(scope="module")
def with_ssr():
    return Trial.from_dict(config(True)).simulate().to_dict()["scenarios"][0]["endpoints"]["response"]


def test_power_and_stages_with_reestimation(with_ssr):
    block = with_ssr
    assert abs(block["power"] - 0.9320) <= 4 * joint(0.9320, block["power"])
    for ours, ref in zip(block["reject_per_look"], (0.1433, 0.7887)):
        assert abs(ours - ref) <= 4 * joint(ref, ours)
    mcse = math.sqrt(214.58**2 / N_RPACT + block["expected_n_mcse"] ** 2)
    assert abs(block["expected_n"] - 421.6) <= 4 * mcse
    # N lies in 300..750; about half the trials increase the second stage under H1.
    power = block["interim"]["power"]
    assert 0.3 < power["increase"] < 0.6


def test_type1_with_reestimation(with_ssr):
    block = with_ssr
    assert abs(block["type1"] - 0.0248) <= 4 * joint(0.0248, block["type1"])
    h0 = block["interim"]["type1"]
    mcse = math.sqrt(111.99**2 / N_RPACT + h0["expected_n_mcse"] ** 2)
    assert abs(h0["expected_n"] - 713.5) <= 4 * mcse


def test_without_reestimation():
    block = Trial.from_dict(config(False, null=False)).simulate().to_dict()["scenarios"][0]["endpoints"]["response"]
    assert abs(block["power"] - 0.7699) <= 4 * joint(0.7699, block["power"])
    mcse = math.sqrt(52.20**2 / N_RPACT + block["expected_n_mcse"] ** 2)
    assert abs(block["expected_n"] - 278.9) <= 4 * mcse


def test_three_stages_against_rpact(tmp_path):
    # rpact 3.3.4 (K = 3, every later stage re-estimated for CP 0.8 of crossing the next bound):
    #   design <- getDesignInverseNormal(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF")
    #   getSimulationRates(design, groups = 2, pi1 = c(0.30, 0.45), pi2 = 0.30,
    #       plannedSubjects = c(100, 200, 300), conditionalPower = 0.8,
    #       minNumberOfSubjectsPerStage = c(100, 100, 100), maxNumberOfSubjectsPerStage = c(100, 300, 300),
    #       maxNumberOfIterations = 1e5, seed = 4321)
    # H1: power 0.95574, rejections per stage 0.01313 / 0.58291 / 0.35970, E[N] 396.23 (sd of N 160.48);
    # H0: 0.02547, E[N] 686.88 (sd 57.91). Bounds 3.710303 / 2.511427 / 1.993047.
    raw = config(True)
    raw["design"]["looks"] = 3
    raw["adaptation"] = {"conditional_power": 0.8, "min_per_stage": [100, 100, 100],
                         "max_per_stage": [100, 300, 300]}
    result = Trial.from_dict(raw).simulate()
    result.save(tmp_path, plots=False)  # report.json is checked against docs/report.schema.json (conftest)
    block = result.to_dict()["scenarios"][0]["endpoints"]["response"]
    assert block["efficacy_bounds"] == pytest.approx([3.710303, 2.511427, 1.993047], abs=5e-7)
    assert abs(block["power"] - 0.95574) <= 4 * joint(0.95574, block["power"])
    for ours, ref in zip(block["reject_per_look"], (0.01313, 0.58291, 0.35970)):
        assert abs(ours - ref) <= 4 * joint(ref, ours)
    assert abs(block["expected_n"] - 396.23) <= 4 * math.sqrt(160.48**2 / N_RPACT + block["expected_n_mcse"] ** 2)
    assert abs(block["type1"] - 0.02547) <= 4 * joint(0.02547, block["type1"])
    h0 = block["interim"]["type1"]
    assert abs(h0["expected_n"] - 686.88) <= 4 * math.sqrt(57.91**2 / N_RPACT + h0["expected_n_mcse"] ** 2)
