"""Drawing helpers shared by every figure of report.html (matplotlib, optional).

matplotlib is imported lazily, inside the functions, and used without
pyplot: each figure is a :class:`matplotlib.figure.Figure` on an Agg canvas,
so building a report never changes the backend or the global state of the
caller's matplotlib. The SVG is byte-for-byte reproducible: the hash salt
that names clip paths is fixed per figure, the date metadata is dropped and
text is written as text (``svg.fonttype = "none"``).

The report layer (:mod:`simulator.report.plots`) draws the figures every
trial has; each endpoint kind draws its own through ``EndpointKind.figures``
(returning :class:`FigureSpec` objects), with these helpers.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import pickle
import re
import signal
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.config.fields import NAME_PATTERN, toml_value
from simulator.estimate import pm_text

COLOURS = {
    "control": "#0072B2",
    "experimental": "#D55E00",
    "power": "#0072B2",
    "assurance": "#009E73",
    "success": "#009E73",
    "failure": "#BBBBBB",
    "efficacy": "#009E73",
    "futility": "#CC79A7",
    "unfavourable": "#E69F00",
    "target": "#555555",
}

RC = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    # Text is shown as given: a "$" in a name, label or sweep value is not TeX (mathtext would fail on "$x^").
    "text.parse_math": False,
}


@dataclass(frozen=True)
class Plot:
    """One figure of the report: an id for the HTML anchor, a title, a caption, the SVG."""

    id: str
    title: str
    caption: str
    svg: str


@dataclass(frozen=True)
class FigureSpec:
    """A figure to draw: its HTML id, title, caption and the builder called with ``args``.

    The builder returns a matplotlib Figure, or ``None`` when its data are
    absent (the figure is then left out).
    """

    id: str
    title: str
    caption: str
    builder: Callable
    args: tuple


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (the ``plots`` extra)."""
    try:
        import matplotlib
    except ImportError:
        return False
    return matplotlib is not None


def slug(text: str) -> str:
    """A name usable in an HTML id: an endpoint or arm name as it is (docs/config.md keeps them safe for ids,
    and ``plot-prior-NAME`` then names the figure with NAME), anything else folded to ``[a-z0-9-]``.

    Names are not folded: ``complete_crs`` and ``complete-crs`` are two valid names, and folding gave their
    figures one id.

    >>> slug("complete_crs"), slug("Overall survival")
    ('complete_crs', 'overall-survival')
    """
    text = str(text)
    if NAME_PATTERN.fullmatch(text):
        return text
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def svg(figure, salt: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"p3sim-{salt}", "figure.autolayout": False,
                                "figure.constrained_layout.use": False}):
        engine = figure.get_layout_engine()
        if engine is not None:
            # Laid out once, then saved with the layout fixed: savefig would lay the figure out in a draw
            # of its own before drawing it (about a fifth of the figure's time). The text is measured by
            # the Agg renderer at the SVG's 72 dots per inch (that draw measured it with the SVG renderer:
            # a label can sit a pixel or two elsewhere). A layout that cannot be solved is skipped, as
            # matplotlib's own draw skips it.
            figure.set_dpi(72)
            with contextlib.suppress(ValueError):
                engine.execute(figure)
            figure.set_layout_engine(None)
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline SVG: drop the XML prolog, doctype and comments.
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.S)
    # matplotlib names every group by an id numbered per file (figure_1, axes_1, patch_1) or by its gid
    # (value-label, on many labels): in a report that inlines many figures they repeat, which HTML forbids (a
    # review). Those no reference points to become classes; the referenced ones (clip paths, markers) are
    # hashed with the figure's own salt, so they are unique already.
    referenced = set(re.findall(r"url\(#([^)]+)\)", text)) | set(re.findall(r'href="#([^"]+)"', text))
    text = re.sub(r'\bid="([^"]+)"', lambda m: m.group(0) if m.group(1) in referenced else f'class="{m.group(1)}"',
                  text)
    return text.strip()


def draw(builder, plot_id: str, *args) -> str | None:
    import matplotlib

    # matplotlib's warnings (identical axis limits of a degenerate prior, say) say nothing the reader of
    # the report can act on, and `--quiet` promises errors only: a figure is drawn or reported as failed.
    with matplotlib.rc_context(RC), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figure = builder(*args)
        if figure is None:
            return None
        return svg(figure, plot_id)


@dataclass(frozen=True)
class Failure:
    """A figure whose builder raised: the exception's type name and message (picklable, unlike some exceptions)."""

    kind: str
    message: str


def _draw_task(task) -> str | None | Failure:
    builder, plot_id, args = task
    try:
        return draw(builder, plot_id, *args)
    except Exception as err:  # noqa: BLE001 - one bad figure must not cost the whole report
        return Failure(type(err).__name__, str(err))


def draw_all(tasks: list, workers: int = 1) -> list:
    """Draw every ``(builder, plot_id, args)`` task: in task order, its SVG, ``None`` (no data) or a :class:`Failure`.

    With ``workers > 1`` on Linux, this process and ``workers - 1`` forked
    ones take the tasks one at a time from a shared queue (a pipe holding
    the task numbers), so that a slow figure does not hold the others up. A
    fork inherits the imported matplotlib and the data, so only the SVG text
    travels back (through a pipe per child); the SVG does not depend on
    which process drew it. A child that cannot be started or does not
    finish leaves its tasks to this process. Children take SIGINT and
    SIGTERM with the default action (they stop quietly with the run) and
    end with ``os._exit``, so they never run the parent's exit handlers or
    flush its buffers.
    """
    workers = max(1, min(workers, len(tasks)))
    if workers == 1 or sys.platform != "linux" or len(tasks) > _MAX_QUEUED:
        return [_draw_task(task) for task in tasks]
    queue, fill = os.pipe()
    # Every task number is written (and the writer closed) before any fork: a reader then sees end of file
    # once the queue is empty, and no process can block on it, even if another dies while drawing.
    os.write(fill, b"".join(i.to_bytes(_INDEX_BYTES, "little") for i in range(len(tasks))))
    os.close(fill)
    try:
        children = _fork_children(tasks, queue, workers - 1)
        results = _drain(tasks, queue)
    finally:
        os.close(queue)
    for pid, fd in children:
        results.update(_collect(pid, fd))
    # Whatever a child did not bring back (it failed or was killed) is drawn here.
    return [results[i] if i in results else _draw_task(task) for i, task in enumerate(tasks)]


#: Task numbers in the queue pipe: fixed-size records, all written at once within PIPE_BUF (4096 bytes on
#: Linux, so the write never blocks); a longer list of figures is drawn by this process alone.
_INDEX_BYTES = 4
_MAX_QUEUED = 4096 // _INDEX_BYTES


def _drain(tasks: list, queue: int) -> dict:
    """Draw tasks taken from the queue until it is empty: ``{task number: result}``."""
    drawn = {}
    while len(record := os.read(queue, _INDEX_BYTES)) == _INDEX_BYTES:
        i = int.from_bytes(record, "little")
        drawn[i] = _draw_task(tasks[i])
    return drawn


def _fork_children(tasks: list, queue: int, count: int) -> list:
    """Fork up to ``count`` children drawing from ``queue``: ``[(pid, read end of its result pipe)]``."""
    import matplotlib.backends.backend_agg  # noqa: F401 - imported once here, not in every child
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    children = []
    parent = os.getpid()
    prctl = _prctl()  # looked up here: a child forked from a threaded process must not load libraries
    for _ in range(count):
        try:
            read, write = os.pipe()
            with warnings.catch_warnings():
                # Python >= 3.12 warns on fork in a threaded process; the child only draws and exits.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
                if pid:
                    _DRAWING.add(pid)  # at once: a signal handled from here on ends it (stop_drawing)
        except OSError:
            break
        if pid == 0:  # the child
            try:
                _end_with(parent, prctl)
                os.close(read)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                drawn = _drain(tasks, queue)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(pickle.dumps(drawn))
            finally:
                os._exit(0)
        os.close(write)
        children.append((pid, read))
    return children


def _prctl():
    """libc's ``prctl`` (Linux), or None where there is none to call."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _end_with(parent: int, prctl) -> None:
    """In a figure process: be killed when the run's process ends (Linux's parent-death signal), so that a
    run stopped between forking and recording it leaves nothing drawing; end now if it has already."""
    if prctl is not None:
        prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG; without it, stop_drawing ends the recorded ones
    if os.getppid() != parent:
        os._exit(0)


#: The figure processes forked and not yet reaped: a stopped run ends them (:func:`stop_drawing`).
_DRAWING: set[int] = set()


def stop_drawing() -> None:
    """End the figure processes still drawing (a run stopped by a signal): they hold its output streams,
    so whoever waits for those (a shell pipe, a scheduler) would wait until they had drawn everything."""
    for pid in list(_DRAWING):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _collect(pid: int, fd: int) -> dict:
    """What a child drew (empty if it died or sent something unreadable); reaps it."""
    try:
        with os.fdopen(fd, "rb") as pipe:
            data = pipe.read()
        drawn = pickle.loads(data) if data else {}
    except Exception:  # noqa: BLE001 - a broken child's tasks are drawn again by the parent
        drawn = {}
    finally:
        _DRAWING.discard(pid)  # before reaping: a reaped pid may be reused, and stop_drawing must not kill that
        os.waitpid(pid, 0)
    return drawn if isinstance(drawn, dict) else {}


def figure_legend(figure, axes, columns: int = 4) -> None:
    """One legend under the figure for every labelled artist (none hides data), at most ``columns`` entries a row."""
    seen: dict = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if not label.startswith("_"):
                seen.setdefault(label, handle)
    if seen:
        figure.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=min(len(seen), columns))


def visible(x, density, mass=0.99999, points=600):
    """The part of a density curve worth drawing, thinned to about ``points`` points (smaller SVG)."""
    cumulative = np.cumsum(density)
    cumulative = cumulative / cumulative[-1]
    lo = np.searchsorted(cumulative, (1 - mass) / 2)
    hi = min(np.searchsorted(cumulative, 1 - (1 - mass) / 2) + 1, len(x))
    step = max(1, (hi - lo) // points)
    return x[lo:hi:step], density[lo:hi:step]


def log_ratio_axis(ax) -> None:
    """A log axis for ratios labelled 0.5, 0.7, 1 rather than 5 x 10^-1."""
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    # Ticks about a factor 1.4 apart at most: denser ones (0.5, 0.6, 0.7, 0.8) ran into each other in a narrow panel.
    ax.xaxis.set_major_locator(FixedLocator([0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]))
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    ax.xaxis.set_major_formatter(formatter)
    ax.xaxis.set_minor_formatter(NullFormatter())


def integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def zoom(ax, x, density, mass=0.9995):
    """Limit the x axis to where the density has its mass."""
    cumulative = np.cumsum(density)
    cumulative = cumulative / cumulative[-1]
    lo = x[np.searchsorted(cumulative, (1 - mass) / 2)]
    hi = x[min(np.searchsorted(cumulative, 1 - (1 - mass) / 2), len(x) - 1)]
    pad = 0.1 * (hi - lo)
    ax.set_xlim(lo - pad, hi + pad)


def rebin(edges, *counts, max_bins: int = 80):
    """Merge neighbouring bins so that at most ``max_bins`` remain (for display)."""
    edges = np.asarray(edges, dtype=float)
    counts = [np.asarray(c, dtype=float) for c in counts]
    n = len(edges) - 1
    if n <= max_bins:
        return (edges, *counts)
    step = math.ceil(n / max_bins)
    keep = np.arange(0, n, step)
    new_edges = np.append(edges[keep], edges[-1])
    return (new_edges, *[np.add.reduceat(c, keep) for c in counts])



def endpoint_text(report: dict, name: str) -> str:
    """An endpoint's name with its ``label`` (display text), if it has one: ``os (Overall survival)``."""
    label = ((report.get("meta") or {}).get("labels") or {}).get("endpoints", {}).get(name)
    return f"{name} ({label})" if label else name


def scenario_label(scenario: dict) -> str:
    """The label of a scenario in figure titles and tables (its swept values, or its size).

    Each swept key is shortened to its last part, or to as many last parts
    as tell it from the other swept keys (``resp.truth.experimental = 0.4,
    tox.truth.experimental = 0.2``).

    >>> scenario_label({"params": {"endpoints.a.truth.control": 0.3, "endpoints.b.truth.control": 0.2}})
    'a.truth.control = 0.3, b.truth.control = 0.2'
    """
    params = scenario.get("params") or {}
    if not params:
        return f"n_total = {scenario.get('n_total')}"
    return params_label(params)


def params_label(params) -> str:
    """``key = value`` for each swept key (a mapping), each key shortened as :func:`scenario_label` says
    (a swept table or list written as TOML: ``accrual = { rate = 20.0 }``)."""
    return ", ".join(f"{_short_key(k, params)} = {toml_value(v) if isinstance(v, (dict, list)) else v}"
                     for k, v in params.items())


def _short_key(key: str, keys) -> str:
    """The fewest last parts of the dotted ``key`` that no other of ``keys`` ends with; a correlation whole
    (``correlation.resp.qol``: its last parts would read as an endpoint's value)."""
    if key.startswith("correlation."):
        return key
    parts = key.split(".")
    for n in range(1, len(parts) + 1):
        suffix = ".".join(parts[-n:])
        if not any(other != key and (other == suffix or other.endswith("." + suffix)) for other in keys):
            return suffix
    return key


def true_effect_figure(report: dict, name: str, *, null: float, log_axis: bool = False, boundary: float | None = None):
    """The assurance run's true effects among successful and failed trials, per scenario.

    ``null`` is the no-effect value of the kind's effect scale, ``log_axis``
    draws a ratio scale, ``boundary`` marks the H0 boundary when it is not
    the null (a non-inferiority margin).
    """
    scenarios = [(i, s) for i, s in enumerate(report["scenarios"]) if (s["endpoints"].get(name) or {}).get("true_effect_histogram")]
    if not scenarios:
        return None
    columns = min(3, len(scenarios))
    rows = math.ceil(len(scenarios) / columns)
    figure = new_figure(3.7 * columns, 2.9 * rows)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True).ravel()
    for ax, (_, scenario) in zip(axes, scenarios):
        e = scenario["endpoints"][name]
        histogram = e["true_effect_histogram"]
        edges, success, failure = rebin(histogram["edges"], histogram["success"], histogram["failure"])
        # Trials whose true effect lies outside the bins count in the total (areas stay shares of all trials).
        outside = sum(histogram.get("success_outside", ())) + sum(histogram.get("failure_outside", ()))
        total = success.sum() + failure.sum() + outside
        # On a ratio (log) axis the density is per unit of log ratio, so that area on the drawn axis is the share
        # (a review: per unit of hazard ratio, the green area read 0.755 for an assurance of 0.697).
        widths = np.diff(np.log(edges)) if log_axis else np.diff(edges)
        ax.stairs(success / (total * widths), edges, fill=True, color=COLOURS["success"], label="endpoint succeeded")
        ax.stairs((success + failure) / (total * widths), edges, baseline=success / (total * widths), fill=True,
                  color=COLOURS["failure"], label="endpoint did not")
        scale = histogram.get("scale", "")
        ax.axvline(null, color="black", linewidth=0.6, label="no effect")
        if log_axis:
            log_ratio_axis(ax)
        if boundary is not None:
            ax.axvline(boundary, color="black", linestyle=":", linewidth=0.8, label="H0 boundary")
        assurance = e.get("assurance")
        ppb = e.get("prior_p_benefit")
        title = scenario_label(scenario)
        if assurance is not None:
            mcse = e.get("assurance_mcse")
            # The ceiling on a line of its own: the three numbers on one line overran a narrow panel.
            # The reports' rounding of an estimate with its MCSE (a review: 0.00145 showed as ± 0.001).
            title += (f"\nassurance {assurance:.3f}" if mcse is None else f"\nassurance {pm_text(assurance, mcse)}") + (
                "" if ppb is None else f"\nof prior P(benefit) {ppb:.3f}")
        if outside:
            title += f"\n{outside / total:.1%} of trials off the axis"
        ax.set_title(title)
        ax.set_xlabel(f"true effect {scale}")
    for ax in axes[len(scenarios):]:
        ax.set_visible(False)
    axes[0].set_ylabel("density per unit of log ratio\n(area = share of trials)" if log_axis
                       else "density (area = share of trials)")
    # Under the panels (a review: inside the first panel the legend covered the histogram's peak).
    figure_legend(figure, axes[:len(scenarios)], columns=2 if columns == 1 else 4)  # one narrow panel: two a row
    return figure


