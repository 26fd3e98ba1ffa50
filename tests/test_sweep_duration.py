"""A survival sweep over n_total holds events fixed: the summary and the size plot show the duration that moves."""

from __future__ import annotations

import re

from _runs import trial
from simulator.report import summary_table

OS = """
[trial]
name = "os sweep"
n_total = [400, 600]
[endpoints.os]
kind = "survival"
[endpoints.os.truth]
control = { median = 12 }
hazard_ratio = 0.7
[endpoints.os.accrual]
duration = 24
[design]
events = 250
"""


def test_summary_and_size_plot_show_the_expected_duration(tmp_path):
    config = tmp_path / "os.toml"
    config.write_text(OS, encoding="utf-8")
    result = trial(config).simulate(n_sims=1000, seed=2)
    report = result.to_dict()
    durations = [s["endpoints"]["os"]["expected_duration"] for s in report["scenarios"]]
    # More patients reach the same 250 events sooner.
    assert durations[1] < durations[0]
    table = summary_table(report)
    assert "E[duration] (os, months) ± MCSE" in table.splitlines()[0]
    for duration, line in zip(durations, table.splitlines()[2:]):
        assert re.search(rf"\b{duration:.2f} ± ", line), line
    result.save(tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    start = html.index('id="plot-size"')
    figure = html[start: html.index("</svg>", start)]
    assert "endpoint os: expected duration" in figure


def test_no_duration_column_without_a_survival_endpoint(small_config):
    report = trial(small_config).simulate(n_sims=500, seed=1).to_dict()
    assert "duration" not in summary_table(report)


def test_a_rare_event_never_prints_as_zero_plus_minus_zero():
    from simulator.estimate import pm_text

    assert pm_text(4e-05, 2e-05) == "0.00004 ± 0.00002"
    assert pm_text(0.759, 0.0014) == "0.7590 ± 0.0014"
    report = {"meta": {"n_sims": 100_000}, "scenarios": [
        {"params": {}, "n_total": 300, "power": 0.5, "power_mcse": 0.0016, "type1": 4e-05, "type1_mcse": 2e-05,
         "endpoints": {}}]}
    line = summary_table(report).splitlines()[2]
    assert "0.00004 ± 0.00002" in line and "0.0000 ± 0.0000" not in line


def test_a_sweep_over_a_list_valued_key_draws_its_size_curves(tmp_path):
    # A review: sweeping design.looks (lists) crashed the report's figures after the simulation ("unhashable
    # type: 'list'"), the size curves being grouped by the swept values. One curve per looks setting.
    from simulator.report.derived import size_series

    config = tmp_path / "os.toml"
    config.write_text(OS + 'looks = 2\n[sweep]\n"design.looks" = [[0.5, 1.0], [0.3, 1.0]]\n', encoding="utf-8")
    result = trial(config).simulate(n_sims=1000, seed=2)
    series = size_series(result.to_dict(), "expected_duration", "os")
    assert len(series) == 2 and all(s.n_total == (400, 600) for s in series)
    assert sorted(s.label for s in series) == ["looks = [0.3, 1.0]", "looks = [0.5, 1.0]"]
    result.save(tmp_path / "out")
    assert 'id="plot-size"' in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_the_console_duration_keeps_its_mcse_visible():
    # A review: the console printed an MCSE of 0.005 months as "25.35 +- 0.00" where report.md has 25.352 +- 0.005.
    from simulator.report.text import summary_table

    report = {"meta": {}, "scenarios": [{"params": {}, "n_total": 600, "power": 0.5, "power_mcse": 0.01,
                                         "endpoints": {"os": {"expected_duration": 25.3521,
                                                              "expected_duration_mcse": 0.00499}}}]}
    assert summary_table(report).splitlines()[2].endswith("25.352 ± 0.005")
