"""What a first user tripped on (issue 12, section 3): each test failed before its fix."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.config.fields import fail
from simulator.endpoints.survival_spec import _log_normal
from simulator.report.tables import endpoint_table
from simulator.report.text import summary_table

BINARY = """
[trial]
{trial}
[endpoints.resp]
kind = "binary"
[endpoints.resp.truth]
control = 0.30
experimental = 0.50
[simulation]
n_sims = 400
jobs = 1
"""

SURVIVAL = """
[trial]
n_total = 300
[endpoints.os]
kind = "survival"
[endpoints.os.truth]
control = {{ median = 30.0 }}
hazard_ratio = 0.7
[endpoints.os.prior]
hazard_ratio = {prior}
[endpoints.os.accrual]
duration = 36.0
[simulation]
n_sims = 400
jobs = 1
"""


def _error_line(capsys, argv) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------------------------ item 1
def test_misspelt_required_key_is_reported_as_unknown_with_did_you_mean(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(BINARY.format(trial="n_totl = 200"), encoding="utf-8")
    line = _error_line(capsys, ["design", str(path)])
    assert re.search(r"config key `trial\.n_totl`: unknown key; did you mean `n_total`\?", line), line


def test_missing_required_key_without_a_near_miss_is_still_required(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(BINARY.format(trial="n_total = 200").replace('kind = "binary"\n', ""), encoding="utf-8")
    line = _error_line(capsys, ["design", str(path)])
    assert "`endpoints.resp.kind`: is required: one of " in line and '"binary"' in line, line


def test_misspelt_endpoint_kind_is_reported_as_unknown(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(BINARY.format(trial="n_total = 200").replace('kind = "binary"', 'knd = "binary"'), encoding="utf-8")
    line = _error_line(capsys, ["design", str(path)])
    assert "`endpoints.resp.knd`: unknown key; did you mean `kind`?" in line, line


def test_misspelt_interval_bound_of_a_log_normal_prior(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(SURVIVAL.format(prior="{ lower = 0.5, uper = 0.98 }"), encoding="utf-8")
    line = _error_line(capsys, ["design", str(path)])
    assert "`endpoints.os.prior.hazard_ratio.uper`: unknown key; did you mean `upper`?" in line, line


# ------------------------------------------------------------------ item 2
def test_log_normal_prior_from_an_interval_alone(tmp_path):
    prior = _log_normal({"lower": 0.50, "upper": 0.98}, "p")
    assert math.exp(prior.log_mean) == pytest.approx(math.sqrt(0.50 * 0.98))
    assert prior.log_sd == pytest.approx((math.log(0.98) - math.log(0.50)) / (2 * 1.959963984540054))
    # and through the command line
    path = tmp_path / "c.toml"
    path.write_text(SURVIVAL.format(prior="{ lower = 0.50, upper = 0.98 }"), encoding="utf-8")
    assert main(["design", str(path)]) == 0


def test_estimate_off_the_geometric_midpoint_is_rejected_naming_the_key(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(SURVIVAL.format(prior="{ estimate = 0.8, lower = 0.5, upper = 0.98 }"), encoding="utf-8")
    line = _error_line(capsys, ["design", str(path)])
    assert "config key `endpoints.os.prior.hazard_ratio.estimate`:" in line, line
    assert "0.57-1.12" in line and line.endswith("got 0.8"), line


def test_rounded_published_interval_passes():
    # CAIRO6: HR 0.62 (0.40-0.96); geometric midpoint 0.6197.
    prior = _log_normal({"estimate": 0.62, "lower": 0.40, "upper": 0.96}, "p")
    assert math.exp(prior.log_mean) == pytest.approx(0.62)


@pytest.mark.parametrize(
    "value, shown",
    [
        ("many", '"many"'),
        (True, "true"),
        ([0.5, 1], "[0.5, 1]"),
        ({"estimate": 0.8, "name": "os"}, '{ estimate = 0.8, name = "os" }'),
        ({"a": {"b": [False]}}, "{ a = { b = [false] } }"),
    ],
)
def test_error_messages_show_values_as_toml(value, shown):
    assert str(fail("k", "must be x", value)) == f"config key `k`: must be x, got {shown}"


def test_cli_error_shows_a_string_in_double_quotes(small_config, capsys):
    line = _error_line(capsys, ["design", str(small_config), "--set", 'trial.n_total="many"'])
    assert line.endswith('got "many"'), line


# ------------------------------------------------------------------ item 3
def test_closed_stdout_pipe_exits_quietly(small_config, tmp_path):
    # `p3sim design CONFIG | head -0`: the reader is gone before anything is written.
    command = [sys.executable, "-m", "simulator", "design", str(small_config)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # long before the program has imported numpy and written its table
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert err.decode() == ""


def test_broken_pipe_in_main_returns_141_without_traceback(small_config, tmp_path, capsys, monkeypatch):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    code = main(["run", str(small_config), "--out", str(tmp_path / "out"), "--sims", "200"])
    err = capsys.readouterr().err
    assert code == 141
    assert "Traceback" not in err and "internal error" not in err
    assert (tmp_path / "out" / "report.json").exists()  # the report is written before the summary is printed


# ------------------------------------------------------------------ item 4
def test_resumed_run_says_how_many_scenarios_came_from_checkpoints(small_config, tmp_path, capsys):
    argv = ["run", str(small_config), "--out", str(tmp_path / "out"), "--sims", "300",
            "--set", "trial.n_total=[100, 120, 140]"]
    assert main(argv) == 0
    assert "resumed from checkpoints" not in capsys.readouterr().err
    assert main([*argv[:-2], "--set", "trial.n_total=[100, 120, 160]"]) == 0
    captured = capsys.readouterr()
    assert "2 of 3 scenarios resumed from checkpoints" in captured.err
    assert "resumed from checkpoints" not in captured.out
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main([*argv, "--no-resume"]) == 0
    assert "resumed from checkpoints" not in capsys.readouterr().err


# ------------------------------------------------------------------ item 5
def test_size_writes_markdown_and_html_with_the_size_search_plot(small_config, tmp_path):
    out = tmp_path / "size"
    assert main(["size", str(small_config), "--out", str(out), "--sims", "1000", "--quiet"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="plot-size-search"' in page and "<svg" in page
    # The caption explains the shaded band (a hand-over review: it did not).
    assert "The shaded band is the interval of sizes consistent with the target" in page
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Size search" in md and "| n_total | power ± MCSE |" in md
    assert (out / "report.json").exists()


# ------------------------------------------------------------------ item 6
def test_a_probability_of_zero_shows_the_rule_of_three_bound(small_config, tmp_path, capsys):
    # Fisher's test with 2 patients per arm never rejects at one-sided 0.025: type I error and power are 0.
    out = tmp_path / "out"
    argv = ["run", str(small_config), "--out", str(out), "--sims", "1000", "--set", "trial.n_total=4",
            "--set", 'endpoints.resp.test="fisher"', "--set", "simulation.null=true"]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    assert "0.0000 ± 0.0000" not in summary
    assert summary.count("0 (< 0.003)") == 3  # power, assurance, type1: 3 / 1000
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "0.0000 ± 0.0000" not in md and "| 0 (< 0.003) |" in md
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    scenario = report["scenarios"][0]
    assert (scenario["type1"], scenario["type1_mcse"]) == (0.0, 0.0)  # report.json keeps value and MCSE
    assert not [key for key in scenario if key.endswith("_bound")]


def test_a_probability_of_one_shows_the_lower_bound():
    report = {
        "meta": {"n_sims": 10_000},
        "scenarios": [{"params": {}, "n_total": 100, "power": 1.0, "power_mcse": 0.0,
                       "endpoints": {"a": {"test": "z_pooled", "sided": 2, "power": 1.0, "power_mcse": 0.0,
                                           "reject_unfavourable": 0.0, "reject_unfavourable_mcse": 0.0}}}],
    }
    assert "1 (> 0.9997)" in summary_table(report)
    (row,) = endpoint_table(report, 0).rows
    texts = [cell.text for cell in row]
    assert "1 (> 0.9997)" in texts and "0 (< 0.0003)" in texts
    (cell,) = [c for c in row if c.text == "1 (> 0.9997)"]
    assert cell.path == ("scenarios", 0, "endpoints", "a", "power")  # the HTML still carries the value and MCSE
    assert cell.mcse_path == ("scenarios", 0, "endpoints", "a", "power_mcse")


# ------------------------------------------------------------------ item 7
DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_cite_no_file_outside_the_repository():
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        assert "shared/" not in text and "contract" not in text.lower(), page.name


def test_docs_say_jobs_are_threads_by_default_and_run_writes_report_html():
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    config = (DOCS / "config.md").read_text(encoding="utf-8")
    (jobs_option,) = [line for line in cli.splitlines() if line.startswith("| `--jobs J`")]
    (jobs_key,) = [line for line in config.splitlines() if line.startswith("| `jobs`")]
    for row in (jobs_option, jobs_key):
        assert "threads" in row, row
    run_section = cli.split("## `p3sim run`")[1].split("\n## ")[0]
    assert "- `report.html`:" in run_section


def test_design_names_the_swept_values_as_the_reports_do(small_config, capsys):
    # A review found `p3sim design` printing a Python dict ({'endpoints.resp.truth.experimental': 0.45}).
    assert main(["design", str(small_config), "--set", "trial.n_total=[100, 120]",
                 "--set", 'sweep."endpoints.resp.truth.experimental"=[0.45, 0.5]']) == 0
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("scenario ")]
    assert headers == ["scenario n_total = 100: experimental = 0.45", "scenario n_total = 100: experimental = 0.5",
                       "scenario n_total = 120: experimental = 0.45", "scenario n_total = 120: experimental = 0.5"]
