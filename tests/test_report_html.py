"""report.html: structure, agreement with report.json / report.md / results.csv, reproducibility.

The reports are made once per module from the default config (configs/cairo6.toml)
with few simulated trials: what is checked here is the rendering, not the
statistics (those are checked against exact enumeration elsewhere).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

# matplotlib is in the test extra: without it the install is broken, so this
# module fails to import rather than skipping its report tests.
from matplotlib import image
from scipy import stats

from simulator.cli import main
from simulator.endpoints import binary_figures
from simulator.priors import BetaMixture, prob_difference_above
from simulator.report import tables
from simulator.report.reproducibility import to_toml

ROOT = Path(__file__).resolve().parents[1]
CAIRO6 = ROOT / "configs" / "cairo6.toml"
SIMS = "1000"

#: The one line per file that may differ between two identical runs.
RUNTIME_LINE = re.compile(r'"runtime_s"|"run_id"|^- Runtime: |id="runtime"')


# ---------------------------------------------------------------- parsing
class _Page(HTMLParser):
    """Tables (with each cell's text and attributes), figure ids and headings of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.figures: list[str] = []
        self.ids: set[str] = set()
        self._table = self._row = self._cell = None
        self.svg_in_figure: dict[str, int] = {}
        self._figure = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "table":
            self._table = {"id": attrs.get("id"), "class": attrs.get("class"), "rows": []}
            self.tables.append(self._table)
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table["rows"].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = {"tag": tag, "attrs": attrs, "text": ""}
            self._row.append(self._cell)
        elif tag == "figure":
            self._figure = attrs.get("id")
            self.figures.append(self._figure)
        elif tag == "svg" and self._figure is not None:
            self.svg_in_figure[self._figure] = self.svg_in_figure.get(self._figure, 0) + 1

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def parse_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def resolve(report: dict, pointer: str):
    node = report
    for part in pointer.split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table of a Markdown file, as rows of cell texts (separator rows dropped)."""
    found, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            if current is None:
                current = []
                found.append(current)
            if not re.fullmatch(r"\|(-+\|)+", line):
                current.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
        else:
            current = None
    return found


def oc_tables(page: _Page) -> list[dict]:
    return [t for t in page.tables if t["class"] == "oc"]


# ---------------------------------------------------------------- fixtures
def _run(out: Path, *extra: str) -> dict:
    assert main(["run", str(CAIRO6), "--out", str(out), "--sims", SIMS, "--jobs", "1", "--quiet", *extra]) == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """(folder, report.json) of the default config and of a group-sequential variant."""
    base = tmp_path_factory.mktemp("reports")
    fixed = base / "fixed"
    sequential = base / "sequential"
    return {
        "fixed": (fixed, _run(fixed)),
        "sequential": (sequential, _run(sequential, "--set", "design.looks=3", "--set", "design.futility=bsOF")),
    }


# ---------------------------------------------------------------- structure
def test_html_is_self_contained(reports):
    for folder, _ in reports.values():
        text = (folder / "report.html").read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>")
        lowered = text.lower()
        for external in ("<script", "<link", "<img", "@import", 'src="http', "src='http", 'href="http', "url(http"):
            assert external not in lowered, external
        # Only SVG namespaces and matplotlib's creator tag name a web address.
        addresses = set(re.findall(r"https?://[^\s\"'<>)]+", text))
        assert all(a.startswith(("http://www.w3.org/", "http://purl.org/", "http://creativecommons.org/",
                                 "https://matplotlib.org")) for a in addresses), addresses


def test_element_ids_are_unique_and_every_reference_resolves(reports):
    # A review: every inlined figure reused matplotlib's per-file ids (figure_1, axes_1, patch_1), invalid HTML.
    for folder, _ in reports.values():
        text = (folder / "report.html").read_text(encoding="utf-8")
        ids = re.findall(r'\bid="([^"]+)"', text)
        assert len(ids) > 20 and len(ids) == len(set(ids))
        assert 'class="axes_1"' in text and not re.search(r"<[^>]*\bclass=[^>]*\bclass=", text)
        references = set(re.findall(r"url\(#([^)]+)\)", text)) | set(re.findall(r'href="#([^"]+)"', text))
        assert references and references <= set(ids)


def test_expected_plots_are_present(reports):
    folder, report = reports["fixed"]
    page = parse_page(folder / "report.html")
    expected = {"plot-size", "plot-prior-morbidity", "plot-true-effect-morbidity",
                "plot-prior-complete_crs", "plot-true-effect-complete_crs"}
    assert expected <= set(page.figures)
    assert not any(f.startswith("plot-sequential") for f in page.figures)  # a fixed design has no looks to plot
    assert all(page.svg_in_figure.get(f) == 1 for f in page.figures)
    assert "plot-failed" not in (folder / "report.html").read_text(encoding="utf-8")
    assert {"summary", "operating-characteristics", "plots", "reproducibility", "runtime", "config-toml"} <= page.ids

    folder, report = reports["sequential"]
    page = parse_page(folder / "report.html")
    assert expected | {f"plot-sequential-s{i}" for i in range(len(report["scenarios"]))} <= set(page.figures)
    assert "plot-failed" not in (folder / "report.html").read_text(encoding="utf-8")


def test_size_search_report_has_its_plot(small_config, tmp_path):
    from _runs import trial
    from simulator.report.html import render_html
    from simulator.report.plots import build_plots

    result = trial(small_config).size(level=0.8, n_sims=1000)
    report = result.to_dict()
    figures = build_plots(report, [s.scenario for s in result.scenarios])
    (tmp_path / "report.html").write_text(render_html(report, figures), encoding="utf-8")
    page = parse_page(tmp_path / "report.html")
    assert {"plot-size-search", "size-search", "size-table"} <= set(page.figures) | page.ids
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "plot-failed" not in text
    # Its numbers carry their exact values, as the other tables' (a review: data-key without data-value).
    import html as html_lib
    import re

    cells = re.findall(r'data-key="size/([^"]+)" data-value="([^"]*)"', text)
    assert {key for key, _ in cells} >= {"n_total", "analytic_n_total", "level"}
    for key, value in cells:
        assert json.loads(html_lib.unescape(value)) == report["size"][key]


def test_every_number_in_the_oc_tables_is_report_json(reports):
    for folder, report in reports.values():
        page = parse_page(folder / "report.html")
        keys = set()
        checked = with_mcse = extremes = 0
        for table in oc_tables(page):
            headers = [c["text"] for c in table["rows"][0]]
            for row in table["rows"][1:]:
                for header, cell in zip(headers, row, strict=True):
                    if header == "look":
                        continue  # the look's number is a label, not a result
                    text, attrs = cell["text"].strip(), cell["attrs"]
                    if re.fullmatch(r"-?\d+(\.\d+)?( ± \d+(\.\d+)?)?", text):
                        assert "data-key" in attrs, f"number {text!r} without its report.json key"
                    if "data-key" not in attrs:
                        continue
                    value = resolve(report, attrs["data-key"])
                    assert json.loads(attrs["data-value"]) == value
                    bound = re.fullmatch(r"([01]) \(([<>]) (\d+(?:\.\d+)?)\)", text)
                    if bound:  # a probability of exactly 0 or 1: the rule-of-three bound stands for its MCSE of 0
                        n_sims = report["meta"]["n_sims"]
                        assert value == int(bound[1]) and resolve(report, attrs["data-mcse-key"]) == 0
                        rule = 3 / n_sims if value == 0 else 1 - 3 / n_sims
                        assert abs(float(bound[3]) - rule) <= 0.1 * 3 / n_sims, text
                        keys.add(attrs["data-key"])
                        checked += 1
                        extremes += 1
                        continue
                    shown = text.split(" ± ")
                    digits = len(shown[0].split(".")[1]) if "." in shown[0] else 0
                    assert shown[0] == (str(value) if isinstance(value, int) else f"{value:.{digits}f}")
                    if "data-mcse-key" in attrs:
                        mcse = resolve(report, attrs["data-mcse-key"])
                        assert json.loads(attrs["data-mcse"]) == mcse
                        assert shown[1] == f"{mcse:.{digits}f}"
                        with_mcse += 1
                    else:
                        assert len(shown) == 1, f"{text!r} shows an MCSE without its report.json key"
                    keys.add(attrs["data-key"])
                    checked += 1
        # Both kinds of cell were checked: an estimate with its MCSE and a plain number.
        assert 0 < with_mcse < checked
        # A simulated probability of exactly 0 (CAIRO6: the type I error with every null at once) shows its bound.
        assert extremes > 0
        # Every scenario's trial success and every endpoint's power, assurance, type I error and size is shown.
        for i, scenario in enumerate(report["scenarios"]):
            assert {f"scenarios/{i}/{k}" for k in ("power", "assurance", "type1")} <= keys
            for name, block in scenario["endpoints"].items():
                wanted = {f"scenarios/{i}/endpoints/{name}/{k}" for k in ("power", "assurance", "type1", "expected_n")}
                looks = range(len(block["planned_fractions"]))
                if len(looks) > 1:
                    wanted |= {f"scenarios/{i}/endpoints/{name}/{k}/{look}"
                               for k in ("reject_per_look", "efficacy_bounds") for look in looks}
                    # A look's futility probability where it has a bound, or where trials stopped for futility
                    # (elsewhere it is 0 by construction and the table shows "-").
                    wanted |= {f"scenarios/{i}/endpoints/{name}/futility_per_look/{look}" for look in looks
                               if (block["futility_bounds"][look] is not None or block["futility_per_look"][look] > 0)}
                assert wanted <= keys


def test_html_markdown_csv_and_json_agree(reports):
    for folder, report in reports.values():
        page = parse_page(folder / "report.html")
        html_tables = [[[c["text"].strip() for c in row] for row in t["rows"]] for t in oc_tables(page)]
        md_tables = markdown_tables((folder / "report.md").read_text(encoding="utf-8"))
        assert html_tables == md_tables

        csv_path = folder / "results.csv"
        assert csv_path.exists()  # written by every run, next to report.json
        shown = {c["attrs"]["data-key"]: c["attrs"]["data-value"] for t in oc_tables(page)
                 for row in t["rows"] for c in row if "data-key" in c["attrs"]}
        rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
        compared = shown_compared = 0
        for row in rows:
            i = int(row["scenario"])
            if row["level"] == "trial":
                block, pointer = report["scenarios"][i], f"scenarios/{i}"
            else:
                pointer = f"scenarios/{i}/endpoints/{row['endpoint']}"
                block = report["scenarios"][i]["endpoints"][row["endpoint"]]
            for column, cell in row.items():
                value = block.get(column)
                if cell == "" or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                assert float(cell) == value, (pointer, column)
                if f"{pointer}/{column}" in shown:  # not every CSV column is in the OC tables
                    assert json.loads(shown[f"{pointer}/{column}"]) == float(cell)
                    shown_compared += 1
                compared += 1
        assert compared >= len(report["scenarios"]) * 3
        # At least each scenario's trial power, assurance and type I error are in both.
        assert shown_compared >= len(report["scenarios"]) * 3


def test_reproducibility_block(reports):
    folder, report = reports["fixed"]
    text = (folder / "report.html").read_text(encoding="utf-8")
    md = (folder / "report.md").read_text(encoding="utf-8")
    for needle in (f"phase3-simulator {report['meta']['version']}", str(report["meta"]["seed"]),
                   report["meta"]["command"].split(" --out")[0], "numpy ", "numba ", "scipy "):
        assert needle in text and needle in md, needle
    # The TOML shown is the resolved config.
    block = re.search(r"```toml\n(.*?)```", md, re.S).group(1)
    assert tomllib.loads(block) == report["meta"]["config"]
    assert sum(bool(RUNTIME_LINE.search(line)) for line in md.splitlines()) == 1
    assert sum(bool(RUNTIME_LINE.search(line)) for line in text.splitlines()) == 1
    # The run id (tells files of different runs apart) is in every report file, on the runtime line.
    run_id = report["meta"]["run_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", run_id)
    for page in (md, text):
        assert [line for line in page.splitlines() if run_id in line] == [
            line for line in page.splitlines() if RUNTIME_LINE.search(line)]


# ---------------------------------------------------------------- reproducibility
def _without_runtime(path: Path) -> str:
    return "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not RUNTIME_LINE.search(line))


def test_same_command_reproduces_every_file(tmp_path, monkeypatch):
    outputs = []
    for place in ("first", "second"):
        work = tmp_path / place
        work.mkdir()
        shutil.copy(CAIRO6, work / "cairo6.toml")
        monkeypatch.chdir(work)
        assert main(["run", "cairo6.toml", "--out", "out", "--sims", "500", "--jobs", "1", "--quiet",
                     "--set", "design.looks=2"]) == 0
        outputs.append(work / "out")
    for name in ("report.json", "report.md", "report.html", "results.csv"):
        first, second = (_without_runtime(out / name) for out in outputs)
        assert first == second, name
        assert str(tmp_path) not in first, f"{name} holds an absolute path"


def test_without_matplotlib_the_other_files_are_written(reports, tmp_path, monkeypatch, capsys):
    from _runs import trial

    result = trial(CAIRO6).simulate(n_sims=int(SIMS), jobs=1)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    result.save(tmp_path)
    assert (tmp_path / "report.json").exists() and (tmp_path / "report.md").exists()
    page = parse_page(tmp_path / "report.html")
    assert "plots-skipped" in page.ids and not page.figures
    assert oc_tables(page)
    note = capsys.readouterr().err.strip().splitlines()
    assert len(note) == 1 and "matplotlib" in note[0]


# ---------------------------------------------------------------- screenshot
def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if name and Path(name).exists():
            return name
    return None


def test_screenshot_is_not_blank(reports, tmp_path):
    browser = _chromium()
    if browser is None:  # the environment, not the code: say how to get the check
        pytest.skip("Chromium is not installed (apt-get install -y chromium) for the screenshot check")
    folder, _ = reports["sequential"]
    png = tmp_path / "shot.png"
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}",
               f"--screenshot={png}", "--window-size=1200,2000", (folder / "report.html").as_uri()]
    # Chromium is there, so a hang or a missing screenshot is a failure, not a skip.
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert png.exists(), f"Chromium exited {done.returncode} without a screenshot: {done.stderr[-2000:]}"
    pixels = image.imread(png)[..., :3]
    colours = {tuple(p) for p in (pixels.reshape(-1, 3) * 255).astype(int)[::7]}
    assert len(colours) > 50
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.02  # something is drawn on the white page


# ---------------------------------------------------------------- pieces
def test_to_toml_round_trips():
    config = tomllib.loads(CAIRO6.read_text(encoding="utf-8"))
    assert tomllib.loads(to_toml(config)) == config
    tricky = {
        "top": 1,
        "trial": {"name": 'quote " backslash \\ tab \t ü', "n_total": [100, 200], "missing": 1e-05, "big": 1e16},
        "design": {"looks": [0.5, 1.0], "futility": "none", "binding": False, "empty": []},
        "correlation": {"morbidity.os": 0.25},
        "sweep": {"endpoints.resp.truth.experimental": [0.4, 0.5], "mode": "zip"},
        "endpoints": {"os": {"truth": {"control": {"times": [0, 12], "hazards": [0.02, 0.03]}, "hazard_ratio": 0.7},
                             "prior": {"hazard_ratio": {"estimate": 0.7, "lower": 0.5}}, "x": [{"a": 1}, {"b": "c"}]}},
        "empty_table": {},
        "limits": {"up": math.inf, "down": -math.inf},
    }
    assert tomllib.loads(to_toml(tricky)) == tricky


def test_clopper_pearson_matches_scipy():
    for events, n in ((8, 37), (14, 42), (0, 10), (10, 10)):
        exact = stats.binomtest(events, n).proportion_ci(confidence_level=0.95, method="exact")
        assert binary_figures.clopper_pearson(events, n) == pytest.approx((exact.low, exact.high), abs=1e-12)


def test_effect_density_matches_prior_p_benefit():
    # CAIRO6 morbidity prior (14/42 vs 8/37 on Beta(1, 1)), oriented so that higher is better: the
    # convolution's mass above 0 must equal the quadrature of prob_difference_above (independent method).
    control, experimental = BetaMixture((1.0,), (29.0,), (15.0,)), BetaMixture((1.0,), (30.0,), (9.0,))
    d, density = binary_figures.effect_density(control, experimental)
    h = d[1] - d[0]
    assert density.sum() * h == pytest.approx(1.0, abs=1e-6)
    # The midpoint rule on a 1/2000 grid: error O(h^2) on these smooth densities, well under 1e-4.
    assert density[d > 0].sum() * h + 0.5 * density[d == 0].sum() * h == pytest.approx(
        prob_difference_above(control, experimental, 0.0), abs=1e-4)
    mixture = BetaMixture((0.8, 0.2), (29.0, 1.0), (15.0, 1.0))  # a robust mixture with a vague component
    d, density = binary_figures.effect_density(mixture, experimental)
    assert density.sum() * h == pytest.approx(1.0, abs=1e-4)


def test_tables_keep_optional_columns_only_when_filled():
    report = {"scenarios": [{"params": {}, "n_total": 100, "power": 0.5, "power_mcse": 0.01, "endpoints": {
        "a": {"test": "z_pooled", "power": 0.5, "power_mcse": 0.01, "expected_n": 100.0, "expected_n_mcse": 0.0,
              "reject_unfavourable": 0.0, "reject_unfavourable_mcse": 0.0, "planned_fractions": [1.0]}}}]}
    headers = tables.endpoint_table(report, 0).headers
    assert "expected events" not in headers and "type I error" not in headers and "assurance" not in headers
    report["scenarios"][0]["endpoints"]["a"].update(expected_events=50.0, expected_events_mcse=0.5)
    table = tables.endpoint_table(report, 0)
    cell = table.rows[0][table.headers.index("expected events")]
    assert cell.text == "50.0 ± 0.5" and cell.path[-1] == "expected_events"
    assert tables.look_table(report, 0) is None


# ---------------------------------------------------------------- survival
SURVIVAL = """
[trial]
name = "survival report"
n_total = 300
[endpoints.os]
kind = "survival"
test = "logrank"
[endpoints.os.truth]
control = { median = 30.0 }
hazard_ratio = 0.7
[endpoints.os.prior]
hazard_ratio = { estimate = 0.7, lower = 0.5, upper = 0.98, level = 0.95 }
[endpoints.os.accrual]
duration = 36.0
[endpoints.os.dropout]
probability = 0.05
at = 12.0
[endpoints.os.follow_up]
minimum = 24.0
[design]
looks = 2
events = 200
[simulation]
n_sims = 500
seed = 3
jobs = 1
"""


def test_survival_report_shows_expected_events_and_duration(tmp_path):
    from _runs import run

    config = tmp_path / "surv.toml"
    config.write_text(SURVIVAL, encoding="utf-8")
    report = run(config, out=tmp_path / "out", plots=True)
    page = parse_page(tmp_path / "out" / "report.html")
    assert {"plot-sequential-s0", "plot-prior-os", "plot-survival-os"} <= set(page.figures)
    assert "plot-failed" not in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    block = report["scenarios"][0]["endpoints"]["os"]
    # The endpoint row of the OC table: one column each, showing report.json's value and MCSE.
    (endpoint_table,) = [t for t in oc_tables(page) if "expected events" in [c["text"] for c in t["rows"][0]]]
    headers = [c["text"] for c in endpoint_table["rows"][0]]
    (row,) = [r for r in endpoint_table["rows"][1:] if r[0]["text"] == "os"]
    for key, header in (("expected_events", "expected events"), ("expected_duration", "expected duration (months)")):
        assert key in block and f"{key}_mcse" in block, key
        assert header in headers, headers
        cell = row[headers.index(header)]
        assert cell["attrs"]["data-key"] == f"scenarios/0/endpoints/os/{key}"
        assert cell["attrs"]["data-mcse-key"] == f"scenarios/0/endpoints/os/{key}_mcse"
        assert cell["text"].strip() == f"{block[key]:.1f} ± {block[key + '_mcse']:.1f}"
        assert block[key] > 0


def test_scenarios_are_named_alike_everywhere_with_keys_told_apart(tmp_path):
    # Two endpoints' truth.experimental swept together: every place that names a scenario (the
    # summary, report.md's headings and tables, report.html, the size figure's legend) uses the
    # same name, each key shortened only as far as it stays distinct.
    import simulator as p3

    raw = {
        "trial": {"n_total": [200, 300]},
        "endpoints": {name: {"kind": "binary", "truth": {"control": 0.3, "experimental": 0.45}} for name in ("resp", "tox")},
        "success": {"rule": "any", "multiplicity": "bonferroni"},
        "sweep": {"mode": "zip", "endpoints.resp.truth.experimental": [0.4, 0.5],
                  "endpoints.tox.truth.experimental": [0.35, 0.45]},
        "simulation": {"n_sims": 500, "seed": 2, "jobs": 1},
    }
    result = p3.Trial.from_dict(raw).simulate()
    result.save(tmp_path, plots=True)
    name = "n_total = 200, resp.truth.experimental = 0.4, tox.truth.experimental = 0.35"
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"## Scenario: {name}" in markdown
    assert name in result.summary()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert name in page and "experimental = 0.4, experimental" not in page + markdown
    # The size figure groups the sizes by the other swept values: its legend names them the same way.
    assert "resp.truth.experimental = 0.4, tox.truth.experimental = 0.35" in page


def test_a_swept_correlation_keeps_its_whole_key_in_scenario_names():
    # A review: sweeping `correlation."resp.qol"` named the scenarios "qol = 0.5", which reads as a value of
    # the endpoint qol.
    from simulator.figures import params_label

    assert params_label({"correlation.resp.qol": 0.5}) == "correlation.resp.qol = 0.5"
    assert params_label({"correlation.resp.qol": 0.5, "endpoints.qol.truth.sd": 2.0}) \
        == "correlation.resp.qol = 0.5, sd = 2.0"


def test_a_sweep_over_n_sims_gives_each_scenario_its_own(small_config, tmp_path):
    # A review: meta.n_sims and report.md said one number for scenarios swept to 1000 and 2000 trials, and the
    # rule-of-three bounds of a scenario's probabilities used meta's.
    from _runs import run

    report = run(small_config, ['sweep."simulation.n_sims"=[1000, 2000]', "endpoints.resp.truth.experimental=0.99",
                                "trial.n_total=200"], out=tmp_path / "out")
    assert [s["n_sims"] for s in report["scenarios"]] == [1000, 2000]
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "1000 to 2000 (swept: each scenario's n_sims) simulated trials per stream" in md
    assert "1 (> 0.997)" in md and "1 (> 0.9985)" in md
