"""Two-sided designs in the reports: the inner wedge's lower side, both tails in results.csv."""

from __future__ import annotations

import csv
import io
import math

from _runs import trial

TWO_SIDED = """
[trial]
name = "two-sided"
n_total = 262
[endpoints.resp]
kind = "binary"
truth = { control = 0.30, experimental = 0.50 }
[design]
alpha = 0.05
sided = 2
power = 0.9
looks = 3
efficacy = "asOF"
futility = "bsOF"
[simulation]
null = true
"""


def test_inner_wedge_is_reported_and_drawn(tmp_path):
    config = tmp_path / "two.toml"
    config.write_text(TWO_SIDED, encoding="utf-8")
    result = trial(config).simulate(n_sims=2000, seed=3)
    block = result.to_dict()["scenarios"][0]["endpoints"]["resp"]
    assert block["futility_region"] == "inner"
    upper = [v for v in block["futility_bounds"][:-1] if v is not None]
    lower = [v for v in block["futility_floor"][:-1] if v is not None]
    assert upper and [-v for v in upper] == lower  # the floor mirrors a_k
    result.save(tmp_path / "out")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "results.csv").read_text(encoding="utf-8"))))
    trial_row, endpoint_row = rows
    assert float(trial_row["type1_two_sided"]) == result.to_dict()["scenarios"][0]["type1_two_sided"]
    assert float(endpoint_row["type1_two_sided"]) == block["type1_two_sided"]
    assert float(endpoint_row["type1_two_sided"]) >= float(endpoint_row["type1"])
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    figure = html[html.index('id="plot-sequential-s0"'):]
    assert "futility wedge (stop when |z| &lt;= a_k)" in figure or "futility wedge (stop when |z| <= a_k)" in figure


def test_one_sided_designs_have_no_wedge_or_two_sided_columns(small_config, tmp_path):
    result = trial(small_config, ["design.looks=2", "design.futility=\"bsOF\""]).simulate(n_sims=500, seed=1)
    block = result.to_dict()["scenarios"][0]["endpoints"]["resp"]
    assert "futility_region" not in block and "futility_floor" not in block
    result.save(tmp_path / "out")
    header = (tmp_path / "out" / "results.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "type1_two_sided" not in header
    # A one-sided test never rejects the other way: no column of zeros (the column once followed the key).
    from simulator.report.tables import endpoint_table, look_table

    report = result.to_dict()
    assert "reject unfavourable" not in endpoint_table(report, 0).headers
    assert "P(unfavourable rejection at look)" not in look_table(report, 0).headers



def test_a_look_that_spends_no_alpha_shows_no_rejection_estimate(tmp_path):
    # A review: an asUser look spending nothing (efficacy bound +inf) showed "0 (< 0.001)" as if estimated.
    import simulator as p3
    from simulator.report.tables import look_table

    raw = {"trial": {"n_total": 300},
           "endpoints": {"r": {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.45}}},
           "design": {"looks": 3, "efficacy": "asUser", "efficacy_param": [0.0, 0.01, 0.025],
                      "futility": [-math.inf, 0.5]}}
    report = p3.Trial.from_dict(raw).simulate(n_sims=3000, seed=1).to_dict()
    block = report["scenarios"][0]["endpoints"]["r"]
    assert block["efficacy_bounds"][0] is None and block["reject_per_look"][0] == 0
    table = look_table(report, 0)
    column = table.headers.index("P(reject at look)")
    cells = [row[column].text for row in table.rows]
    assert cells[0] == "-" and all(c[0].isdigit() for c in cells[1:])


PRIOR_ONLY = """
[trial]
n_total = 120
[endpoints.resp]
kind = "binary"
test = "z_pooled"
prior = { control = { events = 9, n = 30 }, experimental = { events = 11, n = 30 } }
[design]
alpha = 0.05
sided = 2
"""


def _exact_unfavourable(n_per_arm: int) -> float:
    """P(z_pooled <= -z_0.975) over the prior predictive of each arm: Beta(1 + x, 1 + n - x) (docs/config.md),
    beta-binomial counts (scipy), enumerated."""
    import numpy as np
    from scipy.stats import betabinom, norm

    from _binary_reference import z_table

    k = np.arange(n_per_arm + 1)
    weights = np.outer(betabinom.pmf(k, n_per_arm, 10, 22), betabinom.pmf(k, n_per_arm, 12, 20))
    return float(weights[z_table(n_per_arm, n_per_arm) <= -norm.isf(0.025)].sum())


def test_unfavourable_rejections_under_the_prior_are_reported(tmp_path):
    # A review: a two-sided design with a prior only reported no unfavourable rejection anywhere, and its per-look
    # stops under the prior did not add up to the trials that stopped (expected n said otherwise).
    config = tmp_path / "prior.toml"
    config.write_text(PRIOR_ONLY, encoding="utf-8")
    block = trial(config).simulate(n_sims=40000, seed=5).to_dict()["scenarios"][0]["endpoints"]["resp"]
    exact = _exact_unfavourable(60)
    assert 0.02 < exact < 0.2
    assert abs(block["assurance_unfavourable"] - exact) < 4 * block["assurance_unfavourable_mcse"]  # 4 MCSE: one check
    assert block["reject_unfavourable_per_look"] == [block["assurance_unfavourable"]]
    assert "reject_unfavourable" not in block  # no truth: no power stream
    result = trial(config).simulate(n_sims=2000, seed=5)
    result.save(tmp_path / "out", plots=False)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "results.csv").read_text(encoding="utf-8"))))
    unfavourable = result.to_dict()["scenarios"][0]["endpoints"]["resp"]["assurance_unfavourable"]
    assert float(rows[1]["assurance_unfavourable"]) == unfavourable
    # With looks: every way a trial stops at the interim, under the prior, gives the expected size.
    result = trial(config, ["design.looks=[0.5, 1.0]", 'design.efficacy="asP"', "design.futility=[0.3]"]).simulate(
        n_sims=20000, seed=2)
    looks = result.to_dict()["scenarios"][0]["endpoints"]["resp"]
    assert looks["per_look_under"] == "prior"
    first = looks["reject_per_look"][0] + looks["futility_per_look"][0] + looks["reject_unfavourable_per_look"][0]
    assert looks["reject_unfavourable_per_look"][0] > 0
    sizes = looks["look_sizes"]
    assert abs(looks["expected_n"] - (sizes[0] * first + sizes[1] * (1 - first))) < 1e-9
    from simulator.report.tables import look_table

    assert "P(unfavourable rejection at look)" in look_table(result.to_dict(), 0).headers
