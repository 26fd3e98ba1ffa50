"""report.html in a headless Chromium: what only a rendering engine can tell.

Four reports are built through the public API (``Trial(...).simulate().save()``):
the default config (configs/cairo6.toml), a group-sequential binary design
with futility at its configured 100000 trials (the longest numbers a label
gets), a group-sequential survival design without futility, and a
two-scenario, three-endpoint sequential design whose OC tables are wider
than a narrow window. Each page is loaded with a small script appended that
measures the laid-out page and writes the measurements into the DOM, which
``--dump-dom`` returns. The checks:

- the page never scrolls sideways (``scrollWidth`` <= the viewport's width);
  wide tables scroll inside their wrapper instead;
- every ``<text>`` of a figure lies inside its ``<svg>`` (1 px allowed): a
  label outside is cut off by the browser;
- every bound's value label lies inside its panel;
- a design without a futility rule has no "futility" legend entry;
- no text reads "-0" (a zero margin printed as "p_E - p_C > -0");
- the target line is drawn under the power line, its error bars and caps
  (earlier in the SVG).

Without Chromium the tests skip and say how to install it; any other
Chromium failure fails them.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from simulator import Trial

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "install chromium: apt-get install -y chromium"
TOLERANCE = 1.0  # px

#: Appended to the page: measures the layout and writes it, as JSON, into <pre id="p3sim-measurements">.
MEASURE = r"""
(function () {
  const root = document.documentElement;
  const box = (el, origin) => {
    const r = el.getBoundingClientRect();
    return [r.left - origin.left, r.top - origin.top, r.right - origin.left, r.bottom - origin.top];
  };
  const out = {viewport: root.clientWidth, scrollWidth: root.scrollWidth, tables: [], figures: []};
  for (const table of document.querySelectorAll('table')) {
    const wrapper = table.parentElement;
    out.tables.push({id: table.id, width: table.getBoundingClientRect().width,
                     wrapperClass: wrapper.className, wrapperOverflow: getComputedStyle(wrapper).overflowX,
                     wrapperWidth: wrapper.clientWidth,
                     wrapperScrollWidth: wrapper.scrollWidth});
  }
  for (const svg of document.querySelectorAll('figure svg')) {
    const origin = svg.getBoundingClientRect();
    const figure = {id: svg.closest('figure').id, size: [origin.width, origin.height],
                    texts: [], legend: [], labels: [], lines: []};
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;  // an empty label
      figure.texts.push({text: text.textContent, box: box(text, origin)});
      if (text.closest('g[class^="legend"]')) figure.legend.push(text.textContent);
    }
    for (const label of svg.querySelectorAll('g[class="value-label"] text')) {
      const axes = label.closest('g[class^="axes_"]');
      const patch = axes.querySelector(':scope > g[class^="patch_"] > path');  // the panel's background
      figure.labels.push({text: label.textContent, box: box(label, origin), panel: box(patch, origin)});
    }
    // matplotlib's ids and gids are classes in the report (simulator.figures.svg).
    for (const axes of svg.querySelectorAll('g[class^="axes_"]')) {
      const named = /^(target|power|assurance)-(line|caps|bars)$/;  // the size figure's gids
      figure.lines.push(Array.from(axes.querySelectorAll('g[class]'), g => g.getAttribute('class'))
                          .filter(name => named.test(name)));
    }
    out.figures.push(figure);
  }
  const pre = document.createElement('pre');
  pre.id = 'p3sim-measurements';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if name and Path(name).exists():
            return name
    return None


@pytest.fixture(scope="module")
def browser():
    found = _chromium()
    if found is None:  # the environment, not the code: say how to get the checks
        pytest.skip(f"Chromium is not installed ({INSTALL}) for the browser layout checks")
    return found


def measure(browser: str, page: Path, width: int, scratch: Path) -> dict:
    """The layout of ``page`` in a ``width`` px wide window, as measured by MEASURE."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / f"{page.parent.name}-{width}.html"
    text = page.read_text(encoding="utf-8")
    assert "</body>" in text
    copy.write_text(text.replace("</body>", f"<script>{MEASURE}</script></body>"), encoding="utf-8")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={scratch / f'profile-{copy.stem}'}", f"--window-size={width},1000",
               "--dump-dom", copy.as_uri()]
    # Chromium is there, so a hang, a crash or a page without measurements is a failure, not a skip.
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="p3sim-measurements">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium exited {done.returncode} without measurements: {done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def layouts(browser, tmp_path_factory):
    """{name: (width, measurements)} of the four reports."""
    base = tmp_path_factory.mktemp("browser")
    cases = {
        # name: (config, overrides, n_sims (None: the config's), window width)
        "cairo6": ("cairo6.toml", [], 300, 1200),
        "rates": ("rates_group_sequential.toml", ["trial.n_total=458"], None, 1200),
        "survival": ("cairo6_os.toml", [], 300, 1200),
        "wide": ("cairo6.toml", ["trial.n_total=[300, 358]", "design.looks=2"], 200, 800),
    }
    found = {}
    for name, (config, overrides, n_sims, width) in cases.items():
        result = Trial.from_toml(ROOT / "configs" / config).override(overrides).simulate(n_sims=n_sims, jobs=1)
        result.save(base / name)
        found[name] = (width, measure(browser, base / name / "report.html", width, base / "pages"))
    return found


def _figure(layout: dict, figure_id: str) -> dict:
    figures = {f["id"]: f for f in layout["figures"]}
    assert figure_id in figures, f"no figure {figure_id} (have {sorted(figures)})"
    return figures[figure_id]


def _inside(inner, outer) -> bool:
    return (inner[0] >= outer[0] - TOLERANCE and inner[1] >= outer[1] - TOLERANCE
            and inner[2] <= outer[2] + TOLERANCE and inner[3] <= outer[3] + TOLERANCE)


# ---------------------------------------------------------------- the page
def test_page_never_scrolls_sideways(layouts):
    for name, (width, layout) in layouts.items():
        assert layout["scrollWidth"] <= layout["viewport"], (
            f"{name} at {width} px: the page is {layout['scrollWidth']} px wide in a {layout['viewport']} px window")


def test_wide_tables_scroll_inside_their_wrapper(layouts):
    _, layout = layouts["wide"]
    wide = [t for t in layout["tables"] if t["width"] > layout["viewport"]]
    assert wide, "no table is wider than the window: the check below would prove nothing"
    for table in wide:
        assert table["wrapperClass"] == "scroll" and table["wrapperOverflow"] in ("auto", "scroll"), table
        assert table["wrapperWidth"] <= layout["viewport"] < table["wrapperScrollWidth"], table


# ---------------------------------------------------------------- the figures
def test_every_text_lies_inside_its_figure(layouts):
    outside = []
    for name, (_, layout) in layouts.items():
        assert layout["figures"], f"{name}: no figure"
        for figure in layout["figures"]:
            frame = [0.0, 0.0, *figure["size"]]
            outside += [(name, figure["id"], t["text"], [round(v) for v in t["box"]], [round(v) for v in frame])
                        for t in figure["texts"] if not _inside(t["box"], frame)]
    assert not outside, f"text cut off at the edge of its figure: {outside}"


def test_value_labels_lie_inside_their_panel(layouts):
    outside, labels = [], 0
    for name, (_, layout) in layouts.items():
        for figure in layout["figures"]:
            labels += len(figure["labels"])
            outside += [(name, figure["id"], t["text"], [round(v) for v in t["box"]], [round(v) for v in t["panel"]])
                        for t in figure["labels"] if not _inside(t["box"], t["panel"])]
    assert labels > 20, "too few value labels found: the check would prove nothing"
    assert not outside, f"value labels outside their panel: {outside}"


def test_futility_in_legends_only_with_a_futility_rule(layouts):
    _, survival = layouts["survival"]  # efficacy bounds only
    legend = _figure(survival, "plot-sequential-s0")["legend"]
    assert legend and not [t for t in legend if "futility" in t], legend
    _, rates = layouts["rates"]  # beta-spending futility: the entries are there
    assert [t for t in _figure(rates, "plot-sequential-s0")["legend"] if "futility" in t]


def test_no_minus_zero(layouts):
    pattern = re.compile(r"[-\u2212]0(?![.\d])")
    found = [(name, figure["id"], t["text"]) for name, (_, layout) in layouts.items()
             for figure in layout["figures"] for t in figure["texts"] if pattern.search(t["text"])]
    assert not found, found
    # The rates config has no margin: its favourable region reads "> 0".
    _, rates = layouts["rates"]
    assert any("p_E - p_C > 0:" in t for t in _figure(rates, "plot-prior-response")["legend"])


def test_target_line_is_under_the_power_line(layouts):
    _, layout = layouts["cairo6"]
    panels = [lines for lines in _figure(layout, "plot-size")["lines"] if lines]
    assert len(panels) == 4  # trial success and three endpoints
    for lines in panels:
        assert "target-line" in lines and {"power-line", "power-caps", "power-bars"} <= set(lines), lines
        # SVG paints in document order: what comes later is on top. The power line, its error bars and caps.
        target = lines.index("target-line")
        assert all(target < k for k, name in enumerate(lines) if name.startswith("power-")), lines
