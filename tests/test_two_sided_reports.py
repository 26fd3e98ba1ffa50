"""Two-sided designs in the reports: the inner wedge's lower side, both tails in results.csv."""

from __future__ import annotations

import csv
import io

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
