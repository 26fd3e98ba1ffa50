"""Figures drawn by several processes (``simulator.figures.draw_all``): the same figures as one process draws.

report.html must not depend on ``--jobs`` (docs/conventions.md: a result
depends only on the config and the seed), so every check compares the
forked drawing with the serial one, byte for byte. (Off Linux the drawing
is serial, and the same checks hold trivially.)
"""

from __future__ import annotations

import os

import pytest

from simulator.figures import Failure, draw_all, new_figure

PARENT = os.getpid()


def _line(value):
    figure = new_figure(2.0, 2.0)
    ax = figure.subplots()
    ax.plot([0, 1, 2], [0, value, 2 * value], label=f"value {value}")
    ax.set_title(f"figure {value}")
    ax.legend()
    return figure


def _nothing(_):
    return None


def _fails(value):
    raise ValueError(f"no data for {value}")


def _dies_in_a_child(value):
    if os.getpid() != PARENT:
        os._exit(3)  # a child killed while drawing: its figures must still reach the page
    return _line(value)


def _tasks(builders):
    return [(builder, f"plot-{i}", (i + 1,)) for i, builder in enumerate(builders)]


def _no_children_left():
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.parametrize("workers", [2, 3, 8])
def test_forked_figures_are_the_serial_figures_byte_for_byte(workers):
    tasks = _tasks([_line, _nothing, _line, _fails, _line, _line, _nothing])
    serial = draw_all(tasks, 1)
    assert draw_all(tasks, workers) == serial
    assert isinstance(serial[0], str) and serial[0].startswith("<svg")
    assert serial[1] is None and serial[3] == Failure("ValueError", "no data for 4")
    _no_children_left()


def test_a_child_that_dies_leaves_its_figures_to_this_process():
    tasks = _tasks([_dies_in_a_child] * 5)
    serial = draw_all(tasks, 1)
    assert all(isinstance(svg, str) for svg in serial)
    assert draw_all(tasks, 2) == serial
    _no_children_left()


def test_report_figures_do_not_depend_on_the_workers(small_config):
    from _runs import trial
    from simulator.report.plots import build_plots

    result = trial(small_config).simulate(n_sims=500, seed=2)
    report, scenarios = result.to_dict(), [s.scenario for s in result.scenarios]
    serial = build_plots(report, scenarios, workers=1)
    assert len(serial) >= 2 and all(p.svg.startswith("<svg") for p in serial)
    assert build_plots(report, scenarios, workers=2) == serial
    _no_children_left()
