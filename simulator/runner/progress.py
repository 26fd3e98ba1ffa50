"""Progress of a run on stderr: scenarios done, simulated trials per second, ETA.

The runner reports to a *progress hook*: any object with the methods of
:class:`ProgressHook` (which does nothing; ``preparing`` may be left out).  :class:`StderrProgress` is the
one the command line uses:

- on a terminal it redraws one line in place (``\\r``), at most
  ``1 / min_interval`` times a second (4 by default);
- when stderr is not a terminal (a log file, CI) it prints nothing unless
  asked with ``--progress``; then it prints plain lines, at most one every
  ``plain_interval`` seconds (5 by default), and a last line at the end;
- ``--quiet`` silences it in both cases.

Scenarios taken from checkpoints count as done but not towards the rate of
simulated trials, so the ETA describes the work left, not the work skipped;
:class:`StderrProgress` counts them (``resumed_scenarios``) so that the
command line can say at the end how many were resumed.
"""

from __future__ import annotations

import sys
import time


class ProgressHook:
    """The progress interface of the runner; every method is a no-op here.

    Subclass it to observe a run (the tests count computed scenarios this
    way).  Exceptions raised by a hook abort the run like Ctrl-C would:
    scenarios already finished stay checkpointed.
    """

    def preparing(self, index: int, n_scenarios: int) -> None:
        """Called before scenario ``index``'s plans are built (bounds, critical tables: seconds for a large
        Fisher design), so that a long preparation is visibly at work."""

    def start(self, n_scenarios: int, n_trials: int) -> None:
        """Called once: scenarios in the run, trials still to simulate."""

    def advance(self, n_trials: int) -> None:
        """Called when a chunk of ``n_trials`` simulated trials is done."""

    def scenario_done(self, index: int, resumed: bool) -> None:
        """Called when scenario ``index`` is complete (``resumed``: from a checkpoint)."""

    def finish(self) -> None:
        """Called once at the end of a run that was not interrupted."""


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class StderrProgress(ProgressHook):
    """Scenarios done / total, simulated trials per second and ETA on stderr.

    Parameters
    ----------
    stream : file, optional
        Where to write (default ``sys.stderr``).
    force : bool
        Print plain lines even when ``stream`` is not a terminal.
    min_interval, plain_interval : float
        Least seconds between two updates on a terminal / in plain mode.
    clock : callable
        Time source (tests pass a fake one).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = StderrProgress(out, force=True, plain_interval=0.0)
    >>> p.start(2, 1000); p.advance(1000); p.scenario_done(0, False); p.finish()
    >>> "scenarios 1/2" in out.getvalue()
    True
    """

    def __init__(self, stream=None, *, force: bool = False, min_interval: float = 0.25,
                 plain_interval: float = 5.0, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.enabled = self.tty or force
        self.interval = min_interval if self.tty else plain_interval
        self.clock = clock
        self.n_scenarios = self.n_trials = self.done_scenarios = self.done_trials = 0
        self.resumed_scenarios = 0  # of done_scenarios, those taken from checkpoints
        self.started = self.last = 0.0
        self.width = 0

    def preparing(self, index: int, n_scenarios: int) -> None:
        if not self.enabled or (index > 0 and self.clock() - self.last < self.interval):
            return
        self.last = self.clock()
        text = f"p3sim: preparing scenario {index + 1}/{n_scenarios} (bounds, critical tables)"
        self.stream.write(("\r" + text.ljust(self.width)) if self.tty else text + "\n")
        self.width = len(text)
        self.stream.flush()

    def start(self, n_scenarios: int, n_trials: int) -> None:
        self.n_scenarios, self.n_trials = n_scenarios, n_trials
        self.started = self.clock()
        self.last = -float("inf")

    def advance(self, n_trials: int) -> None:
        self.done_trials += n_trials
        self._maybe_show()

    def scenario_done(self, index: int, resumed: bool) -> None:
        self.done_scenarios += 1
        self.resumed_scenarios += resumed
        if not resumed:  # resumed ones arrive all at once, before any work: shown with the first chunk
            self._maybe_show()

    def finish(self) -> None:
        if not self.enabled:
            return
        self._show(final=True)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def line(self) -> str:
        """The current status line."""
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done_trials / elapsed
        left = self.n_trials - self.done_trials
        eta = _clock(left / rate) if rate > 0 and left > 0 else ("0:00" if left <= 0 else "?")
        return (
            f"p3sim: scenarios {self.done_scenarios}/{self.n_scenarios}, "
            f"{rate:,.0f} trials/s, ETA {eta}"
        )

    def _maybe_show(self) -> None:
        if self.enabled and self.clock() - self.last >= self.interval:
            self._show()

    def _show(self, final: bool = False) -> None:
        self.last = self.clock()
        text = self.line()
        if self.tty:
            # Pad to wipe what a longer previous line left on the terminal.
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
