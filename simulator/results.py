"""Result objects of the Python API: what ``design``, ``simulate`` and ``size`` return.

Each result keeps the validated scenarios and plans it came from, so the
report writers and plots read configs from the result, never rebuild them
from report.json. ``to_dict()`` is exactly the report.json content;
``save(folder)`` writes what ``p3sim`` writes there.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.config.load import Scenario
from simulator.config.schema import Config
from simulator.errors import InputError
from simulator.estimate import Estimate
from simulator.files import json_safe, write_atomic
from simulator.report import build_report, markdown
from simulator.report.csv import rows, write_csv
from simulator.report.html import render_html, table_html
from simulator.report.plots import build_plots, matplotlib_available
from simulator.report.tables import endpoint_table, events_short, n_sims_text, own_n_sims, trial_table
from simulator.runner.backends import effective_jobs
from simulator.runner.folder import OutputFolder, report_files
from simulator.runner.simulate import ScenarioPlans
from simulator.runner.size import SizeOutcome

_STREAMS = ("power", "assurance", "type1")


def _estimate(block: dict, key: str, n_sims: int | None = None) -> Estimate | None:
    if block.get(key) is None:
        return None
    return Estimate(float(block[key]), float(block[f"{key}_mcse"]), n=n_sims)


def _json_roundtrip(data: dict) -> dict:
    """The data as report.json holds it (tuples -> lists, numpy scalars -> numbers)."""
    return json.loads(json.dumps(data))


def json_text(data: dict) -> str:
    """report.json's text (and ``p3sim design --json``'s): strict JSON of :func:`json_safe` data, indented."""
    return json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"


def _stream(key: str, doc: str) -> property:
    """A read-only :class:`Estimate` of report key ``key`` (``None`` where the entry has none)."""
    def read(self: _Streams) -> Estimate | None:
        return _estimate(self.data, key, self.n_sims)
    read.__doc__ = doc
    return property(read)


class _Streams:
    """``power``, ``assurance`` and ``type1`` read from a report entry (``data``): an endpoint's
    rejection probabilities, or a scenario's trial success; ``None`` where the stream was not simulated."""

    data: dict
    n_sims: int | None

    power = _stream("power", "Under the truth.")
    assurance = _stream("assurance", "With the effects drawn from the prior.")
    type1 = _stream("type1", "On the null boundary (``simulation.null = true``); the favourable tail.")


@dataclass(frozen=True)
class EndpointResult(_Streams):
    """One endpoint of one simulated scenario.

    ``power``, ``assurance`` and ``type1`` are this endpoint's rejection
    probabilities (before any multiplicity adjustment), ``None`` where the
    stream was not simulated; with Holm or a fixed sequence the
    ``*_adjusted`` ones are after it; ``data`` is its report.json entry.
    """

    name: str
    kind: str
    plan: Any = field(repr=False)
    data: dict = field(repr=False)
    #: Simulated trials per stream (for the rule-of-three bound of a probability of 0 or 1).
    n_sims: int | None = field(default=None, repr=False)

    power_adjusted = _stream("power_adjusted", "Rejection under the truth after Holm's or the fixed sequence's "
                             "steps (``None`` without them).")
    assurance_adjusted = _stream("assurance_adjusted", "The same with the effects drawn from the prior.")
    type1_adjusted = _stream("type1_adjusted", "The same on the null boundary.")


@dataclass(frozen=True)
class ScenarioResult(_Streams):
    """Trial success and the endpoints of one scenario (one size, one sweep point)."""

    index: int
    params: dict
    n_total: int
    scenario: Scenario = field(repr=False)
    endpoints: dict[str, EndpointResult] = field(repr=False)
    data: dict = field(repr=False)
    #: Simulated trials per stream (for the rule-of-three bound of a probability of 0 or 1).
    n_sims: int | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The validated config of this scenario."""
        return self.scenario.config



def _scenario_results(scenarios: list[Scenario], bundles: list[ScenarioPlans], report: dict) -> list[ScenarioResult]:
    out = []
    for i, (scenario, bundle, block) in enumerate(zip(scenarios, bundles, report["scenarios"])):
        n_sims = own_n_sims(report, block)  # its own, with a sweep over n_sims
        endpoints = {
            plan.endpoint.name: EndpointResult(
                plan.endpoint.name, plan.endpoint.kind, plan, block["endpoints"][plan.endpoint.name], n_sims
            )
            for plan in bundle.plans
        }
        # The report's own params (a review: a copy, so that changing it did not change what save writes, unlike
        # every other dict of the result, docs/api.md).
        out.append(ScenarioResult(i, block["params"], int(block["n_total"]), scenario, endpoints, block, n_sims))
    return out


class _Reported:
    """What every simulated result shares: a report dict, scenarios, writers."""

    _report: dict
    scenarios: list[ScenarioResult]

    def _single(self, key: str) -> Estimate | None:
        if len(self.scenarios) != 1:
            raise ValueError(
                f"this result has {len(self.scenarios)} scenarios, so `{key}` is ambiguous: "
                f"use res.scenarios[i].{key} (i = 0..{len(self.scenarios) - 1}; res.scenarios[i].params says which)"
            )
        return getattr(self.scenarios[0], key)

    @property
    def power(self) -> Estimate | None:
        """Trial success under the truth, for a one-scenario result (else see ``scenarios``)."""
        return self._single("power")

    @property
    def assurance(self) -> Estimate | None:
        """Trial success under the prior, for a one-scenario result (else see ``scenarios``)."""
        return self._single("assurance")

    @property
    def type1(self) -> Estimate | None:
        """Type I error of trial success, for a one-scenario result (else see ``scenarios``)."""
        return self._single("type1")

    @property
    def meta(self) -> dict:
        """``meta`` of report.json (version, config, seed, n_sims, command, runtime, environment)."""
        return self._report["meta"]

    def to_dict(self) -> dict:
        """Exactly the content of report.json (a fresh copy; a non-finite number as :func:`json_safe` writes it)."""
        return json_safe(copy.deepcopy(self._report))

    def to_frame(self) -> Any:
        """The rows of results.csv as a pandas DataFrame (pandas is an optional extra)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "to_frame() needs pandas, which is optional: pip install 'phase3-simulator[pandas]' "
                "(or use res.to_dict(), or the results.csv that res.save() writes)"
            ) from None
        header, body = rows(self._report)
        frame = pd.DataFrame(body, columns=header)
        return frame.replace("", None).apply(_numeric)

    def summary(self) -> str:
        """The table ``p3sim run`` prints: one line per scenario."""
        from simulator.report import summary_table

        return summary_table(self._report)

    def _write_reports(self, out: str | Path, *, plots: bool, csv: bool = False) -> Path:
        """Write report.json, report.md and report.html (and ``csv``: results.csv) into the folder ``out``.

        The folder is checked, created if needed and held as ``p3sim run``
        holds it (:class:`~simulator.runner.folder.OutputFolder`; a review:
        save wrote into a folder a running ``p3sim run`` held).
        """
        if not isinstance(plots, bool):
            raise InputError(f"argument `plots`: must be True or False, got {plots!r}")
        with OutputFolder(out, "out", report_files(csv)) as held:
            return self._write_into(held.path, plots, csv)

    def _write_into(self, folder: Path, plots: bool, csv: bool = False) -> Path:
        # The files of an earlier run that this call rewrites go first, so that an interrupted write leaves none of
        # them beside the new ones (a review: results.csv, which has no run id, kept another seed's numbers beside a
        # new report.json); then the quick files before the figures. Only these: `size` writes no results.csv and
        # leaves one be, which may be the user's config of that name (docs/cli.md).
        for name in report_files(csv):
            path = folder / name
            if path.is_file() or path.is_symlink():
                path.unlink()
        write_atomic(folder / "report.json", json_text(self._report))
        write_atomic(folder / "report.md", markdown(self._report))
        if csv:
            write_csv(self._report, folder / "results.csv")
        figures = None
        if plots and matplotlib_available():
            # The run's simulation.jobs (0: every core) draws the figures too.
            workers = effective_jobs(self.scenarios[0].scenario.config.simulation.jobs, sys.maxsize)
            figures = build_plots(self._report, [s.scenario for s in self.scenarios], workers=workers)
        elif plots:
            print("p3sim: note: matplotlib is not installed, so report.html has no plots "
                  "(pip install 'phase3-simulator[plots]')", file=sys.stderr)
        write_atomic(folder / "report.html", render_html(self._report, figures))
        return folder

    def _repr_html_(self) -> str:
        parts = [table_html(self._report, trial_table(self._report), caption=False)]
        for i in range(len(self.scenarios)):
            parts.append(table_html(self._report, endpoint_table(self._report, i), caption=False))
        return "\n".join(parts)


def _numeric(column: Any) -> Any:
    import pandas as pd

    converted = pd.to_numeric(column, errors="coerce")
    return converted if converted.notna().sum() == column.notna().sum() else column


class SimulationResult(_Reported):
    """What :meth:`simulator.api.Trial.simulate` returns.

    Attributes
    ----------
    scenarios : list of ScenarioResult
        One per size and sweep point, in config order.
    meta : dict
        ``meta`` of report.json (version, config, seed, n_sims, command, runtime, environment).
    """

    def __init__(self, raw: dict, scenarios: list[Scenario], bundles: list[ScenarioPlans], streams: list[dict],
                 side: list[dict], derived: dict, *, command: str, runtime_s: float, resumed: list | None = None):
        first = scenarios[0].config.simulation
        # A swept simulation.seed gives each scenario its own: then the list, in scenario order, not the first.
        seeds = [s.config.simulation.seed for s in scenarios]
        report = build_report(
            raw, bundles, streams, command=command, runtime_s=runtime_s,
            seed=first.seed if len(set(seeds)) == 1 else seeds, n_sims=first.n_sims,
            derived=derived, side=side, resumed=resumed,
        )
        self._report = _json_roundtrip(report)
        self.bundles = bundles
        self.scenarios = _scenario_results(scenarios, bundles, self._report)

    def save(self, out: str | Path, *, plots: bool = True) -> Path:
        """Write report.json, report.md, results.csv and report.html into the folder ``out``.

        ``plots=False`` writes report.html without figures (faster; the
        page says so). Without matplotlib the page has a note instead of the
        figures, and one line on stderr says how to get them.
        """
        return self._write_reports(out, plots=plots, csv=True)

    def __repr__(self) -> str:
        lines = [f"SimulationResult: {len(self.scenarios)} scenario(s), seed {self.meta['seed']}, "
                 f"{n_sims_text(self._report)} trials per stream"]
        for s in self.scenarios:
            label = ", ".join(f"{k} = {v}" for k, v in s.params.items()) or f"n_total = {s.n_total}"
            values = [f"{key} {getattr(s, key)}" for key in _STREAMS if getattr(s, key) is not None]
            lines.append(f"  [{s.index}] {label}: " + "; ".join(values))
        return "\n".join(lines)


class DesignResult:
    """What :meth:`simulator.api.Trial.design` returns: analytic values, no simulation.

    ``scenarios[i]["endpoints"][name]`` holds the bounds (planned and at the
    realised fractions), nominal p-values, alpha spent, critical effects,
    analytic power and size, exact values where the kind has them
    (docs/reports.md lists the keys).
    """

    def __init__(self, raw: dict, blocks: list[dict], derived: dict):
        self._data = _json_roundtrip({"meta": {"config": raw, **derived}, "scenarios": blocks})

    @property
    def scenarios(self) -> list[dict]:
        return self._data["scenarios"]

    @property
    def meta(self) -> dict:
        return self._data["meta"]

    def to_dict(self) -> dict:
        """What ``p3sim design --json`` writes (a fresh copy; a non-finite number as :func:`json_safe` writes it)."""
        return json_safe(copy.deepcopy(self._data))

    def table(self) -> str:
        """The table ``p3sim design`` prints."""
        from simulator.report.design_text import design_table

        return design_table(self._data)

    def __repr__(self) -> str:
        # A short summary, as docs/api.md says (a review: the whole table, 12 kB for CAIRO6); .table() has it all.
        lines = [f"DesignResult: {len(self.scenarios)} scenario(s); .table() prints the design"]
        for i, scenario in enumerate(self.scenarios):
            parts = []
            for name, entry in (scenario.get("endpoints") or {}).items():
                power = entry.get("power")
                parts.append(f"{name} power {power:.4f} (analytic)" if isinstance(power, float) else name)
            lines.append(f"  [{i}] n_total = {scenario.get('n_total')}: " + "; ".join(parts))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self.table())}</pre>"


class SizeResult(_Reported):
    """What :meth:`simulator.api.Trial.size` returns.

    Attributes
    ----------
    axis : str
        ``"n_total"`` (patients searched) or ``"events"`` (events at the final look).
    n_total, events : int or None
        The answer on the searched axis (the other one is the configured value, or ``None``).
    evaluated : list of dict
        Every size evaluated, with its estimate and MCSE.
    block : dict
        The ``size`` block of report.json (docs/cli.md explains each key).
    scenarios : list of ScenarioResult
        The scenario simulated at the answer (target stream only).
    """

    def __init__(self, raw: dict, outcome: SizeOutcome, axis: Any, derived: dict, *, command: str, runtime_s: float):
        config = outcome.bundle.scenario.config
        report = build_report(
            raw, [outcome.bundle], [outcome.streams], command=command, runtime_s=runtime_s,
            seed=config.simulation.seed, n_sims=config.simulation.n_sims, derived=derived,
        )
        report["size"] = outcome.block
        self._report = _json_roundtrip(report)
        self._axis = axis
        self.bundles = [outcome.bundle]
        self.scenarios = _scenario_results([outcome.bundle.scenario], self.bundles, self._report)

    @property
    def block(self) -> dict:
        return self._report["size"]

    @property
    def axis(self) -> str:
        return self.block["axis"]

    @property
    def n_total(self) -> int:
        """Patients: the answer when patients were searched, else the configured (simulated) subjects."""
        return int(self.block.get("n_total", self.scenarios[0].n_total))

    @property
    def events(self) -> int | None:
        """Events at the final look: the answer when events were searched, else ``None``."""
        return self.block.get("events")

    @property
    def estimate(self) -> Estimate:
        """The target's estimate at the answer."""
        target = self.block["target"]
        return Estimate(self.block[target], self.block[f"{target}_mcse"], n=self._report["meta"].get("n_sims"))

    @property
    def evaluated(self) -> list[dict]:
        return self.block["evaluated"]

    def summary(self) -> str:
        """The lines ``p3sim size`` prints."""
        from simulator.runner.size import summary

        lines = [summary(self.block, self._axis)]
        scenario = self._report["scenarios"][0]
        for name, block in scenario.get("endpoints", {}).items():
            if events_short(block):
                # A review: 340 events answered for 450 patients that give at most 321 on average, a third of
                # the trials analysed at their last event, and only report.md said so.
                short = Estimate(block["events_short"], block["events_short_mcse"], n=own_n_sims(self._report, scenario))
                why = (f"trial.n_total = {scenario['n_total']} gives too few events for it (more subjects; or accrual "
                       "as a rate, which searches them)" if self.axis == "events" else
                       "the events derived at this size are not always reached (a longer follow-up, or "
                       "design.events given)")
                lines.append(f"note: {name}: at the answer {short} of the trials ran out of events before a look's "
                             f"target and were analysed at their last event: {why}")
        return "\n".join(lines)

    def save(self, out: str | Path, *, plots: bool = True) -> Path:
        """Write report.json (with its ``size`` block), report.md and report.html into the folder ``out``.

        report.html has the size-search plot (``plot-size-search``) and the
        figures of the scenario at the answer; ``plots=False`` leaves the
        figures out, as for :meth:`SimulationResult.save`.
        """
        return self._write_reports(out, plots=plots)

    def __repr__(self) -> str:
        return "SizeResult\n" + self.summary()
