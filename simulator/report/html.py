"""report.html: one self-contained page to hand over (tables, plots, how to rerun).

Self-contained means no network, no external CSS or JavaScript: the style
sheet is inline and the plots are inline SVG (:mod:`simulator.report.plots`).
Without matplotlib the page is still written, with a note where the plots
would be.

Every number in an operating-characteristics table carries, as data
attributes, the report.json path it comes from (``data-key``, a JSON-pointer
style path) and its exact value (``data-value``), and likewise for its Monte
Carlo standard error (``data-mcse-key``, ``data-mcse``): the tests check each
one against report.json.
"""

from __future__ import annotations

import base64
import html
import json

from simulator.report import tables
from simulator.report.plots import Plot
from simulator.report.reproducibility import reproducibility_items, to_toml

PLOTS_SKIPPED = (
    "Plots were skipped: matplotlib is not installed. Install the plots extra "
    "(pip install 'phase3-simulator[plots]') and rerun to get them."
)

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1a1a1a;
       max-width: 1180px; margin: 1.5em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.82em; }
th, td { border: 1px solid #d0d0d0; padding: 0.2em 0.4em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-width: 100%; }  /* a wide table scrolls inside it; the page never does */
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.3em 0; }
figure { margin: 1.2em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.88em; color: #444; max-width: 60em; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 0.8em; }
.lead { color: #444; max-width: 60em; }
pre { background: #f6f6f6; padding: 0.7em; overflow-x: auto; font-size: 0.85em; }
code { font-size: 0.92em; }
dl.repro { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.repro dt { font-weight: 600; }
dl.repro dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
nav ul { columns: 2; font-size: 0.92em; }
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def pointer(path: tuple) -> str:
    """A report.json path as a JSON-pointer style string (``scenarios/0/power``)."""
    return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _cell(report: dict, cell: tables.Cell, tag: str = "td") -> str:
    attrs = ' class="num"' if cell.path is not None or cell.text == "-" else ""
    if cell.path is not None:
        attrs += f' data-key="{_esc(pointer(cell.path))}" data-value="{_esc(json.dumps(tables.lookup(report, cell.path)))}"'
    if cell.mcse_path is not None:
        attrs += (f' data-mcse-key="{_esc(pointer(cell.mcse_path))}"'
                  f' data-mcse="{_esc(json.dumps(tables.lookup(report, cell.mcse_path)))}"')
    return f"<{tag}{attrs}>{_esc(cell.text)}</{tag}>"


def table_html(report: dict, table: tables.Table, caption: bool = True) -> str:
    """A :class:`tables.Table` as an HTML table with data attributes on its numbers."""
    out = ['<div class="scroll">', f'<table id="{_esc(table.id)}" class="oc">']
    if caption:
        out.append(f"<caption>{_esc(table.caption)}</caption>")
    out += ["<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in table.headers) + "</tr></thead>", "<tbody>"]
    for row in table.rows:
        out.append("<tr>" + "".join(_cell(report, cell) for cell in row) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _size_block(report: dict) -> list[str]:
    size = report.get("size")
    if not isinstance(size, dict):
        return []
    rows = []
    for key, value in size.items():
        if key == "evaluated":
            continue
        if value is None:
            text = "-"
        elif isinstance(value, float):
            text = f"{value:.4f}"
        elif isinstance(value, (list, tuple)):
            text = ", ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in value)
        else:
            text = str(value)
        # As the other tables' cells: the key and the exact value, for a script reading values back (a review).
        attrs = (f' data-key="{_esc(pointer(("size", key)))}" data-value="{_esc(json.dumps(value))}"'
                 if isinstance(value, (int, float)) else "")
        rows.append(f"<tr><th>{_esc(key)}</th><td{attrs}>{_esc(text)}</td></tr>")
    return ['<section id="size-search">', "<h2>Size search</h2>", '<div class="scroll"><table id="size-table">', *rows,
            "</table></div>", "</section>"]


def _plots_section(plots: list[Plot] | None) -> list[str]:
    out = ['<section id="plots">', "<h2>Plots</h2>"]
    if plots is None:
        out.append(f'<p class="note" id="plots-skipped">{_esc(PLOTS_SKIPPED)}</p>')
    elif not plots:
        out.append('<p class="note">No plot applies to this report.</p>')
    for plot in plots or []:
        if not plot.svg:
            out += [f'<section id="{_esc(plot.id)}" class="plot-failed">', f"<h3>{_esc(plot.title)}</h3>",
                    f'<p class="note">{_esc(plot.caption)}</p>', "</section>"]
            continue
        out += [f'<figure id="{_esc(plot.id)}">', f"<h3>{_esc(plot.title)}</h3>", plot.svg,
                f"<figcaption>{_esc(plot.caption)}</figcaption>", "</figure>"]
    out.append("</section>")
    return out


def _reproducibility_section(report: dict) -> list[str]:
    config_toml = to_toml(report["meta"].get("config") or {})
    encoded = base64.b64encode(config_toml.encode("utf-8")).decode("ascii")
    out = ['<section id="reproducibility">', "<h2>Reproducibility</h2>", '<dl class="repro">']
    for label, text in reproducibility_items(report):
        body = f"<code>{_esc(text)}</code>" if label == "command" else _esc(text)
        if label == "runtime":
            # One line of its own: the only part that differs between identical runs.
            out.append(f'<dt id="runtime">runtime</dt><dd>{body}</dd>')
        else:
            out.append(f"<dt>{_esc(label)}</dt><dd>{body}</dd>")
    out += [
        "</dl>",
        "<p>Rerunning the command with this resolved config reproduces every file byte for byte, except the "
        "runtime and the run id. The config below is what was simulated, after <code>--set</code>, <code>--sims</code> and "
        f'<code>--seed</code>; <a download="config.toml" href="data:application/toml;base64,{encoded}">'
        "download it as config.toml</a>.</p>",
        f'<pre id="config-toml"><code>{_esc(config_toml)}</code></pre>',
        "</section>",
    ]
    return out


def render_html(report: dict, plots: list[Plot] | None = None) -> str:
    """The whole page; ``plots=None`` writes the note that plots were skipped."""
    meta = report["meta"]
    kind = "size search" if isinstance(report.get("size"), dict) else "simulation report"  # as report.md
    title = f"{(meta.get('config') or {}).get('trial', {}).get('name', 'Trial')}: {kind}"
    scenarios = report["scenarios"]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="lead">phase3-simulator {_esc(meta.get("version", "-"))}; {_esc(tables.design_facts(report))}.</p>',
        f'<p class="lead">{_esc(" ".join(tables.reading_guide(report)))}</p>',
        "<nav><h2>Contents</h2><ul>",
        '<li><a href="#summary">Trial success</a></li>',
        '<li><a href="#operating-characteristics">Operating characteristics</a></li>',
    ]
    if isinstance(report.get("size"), dict):
        out.append('<li><a href="#size-search">Size search</a></li>')
    out.append('<li><a href="#plots">Plots</a></li>')
    for plot in plots or []:
        out.append(f'<li><a href="#{_esc(plot.id)}">{_esc(plot.title)}</a></li>')
    out += ['<li><a href="#reproducibility">Reproducibility</a></li>', "</ul></nav>"]
    out += ['<section id="summary">', "<h2>Trial success</h2>", table_html(report, tables.trial_table(report), caption=False), "</section>"]
    out += ['<section id="operating-characteristics">', "<h2>Operating characteristics</h2>"]
    for i, scenario in enumerate(scenarios):
        out.append(f'<h3 id="scenario-{i}">Scenario: {_esc(tables.scenario_label(scenario))}</h3>')
        out.append(table_html(report, tables.endpoint_table(report, i), caption=False))
        stated = tables.hypotheses(report, i)
        if stated:
            out.append(f'<p class="hypotheses">Hypotheses: {_esc(stated)}</p>')
        out += [f'<p class="note">Analytic: {_esc(note)}</p>' for note in tables.analytic_notes(report, i)]
        looks = tables.look_table(report, i)
        if looks is not None:
            out.append(table_html(report, looks))
        interim = tables.interim_table(report, i)
        if interim is not None:
            out.append(table_html(report, interim))
        out += [table_html(report, table) for table in tables.strata_tables(report, i)]
    out.append("</section>")
    out += _size_block(report)
    out += _plots_section(plots)
    out += _reproducibility_section(report)
    out += ["</body>", "</html>", ""]
    return "\n".join(out)

