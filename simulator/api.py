"""The public Python API: a :class:`Trial` and what it computes.

>>> import simulator as p3
>>> trial = p3.Trial.from_toml("configs/rates_group_sequential.toml")
>>> trial.override({"trial.n_total": 400}).scenarios[0].config.trial.n_total
400

docs/api.md has a worked example. The command line (:mod:`simulator.cli`)
is a thin shell over this module: the same seed gives the same numbers from
both, and bad input raises :class:`simulator.InputError` with the message
the command line prints.
"""

from __future__ import annotations

import copy
import numbers
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simulator.config.load import Scenario, scenarios_from_mapping
from simulator.config.toml import parse_override, read_toml, set_dotted
from simulator.config.validate import count_error
from simulator.errors import InputError, NotReadyError
from simulator.results import DesignResult, SimulationResult, SizeResult
from simulator.runner.backends import WAIT_FOR_WORKERS_S, session
from simulator.runner.folder import check_output_folder
from simulator.runner.progress import ProgressHook
from simulator.runner.run import design_blocks, simulate
from simulator.runner.size import search, size_axis, size_scenario

__all__ = ["Trial"]


def _check_count(value: Any, name: str) -> int | None:
    """``value`` as a Python int (NumPy integers included), or :class:`InputError` naming ``name``
    (``n_sims``, ``seed`` or ``jobs``: the ranges of ``simulation``'s keys)."""
    if value is None:
        return None
    problem = count_error(name, value)
    if problem:
        raise InputError(f"argument `{name}`: {problem}, got {value!r}")
    return int(value)


def _plain(value: Any, path: str) -> Any:
    """A deep copy of a config mapping as TOML would give it, or :class:`InputError` naming the part that is not.

    Keys must be strings; tuples read as lists, NumPy scalars as Python numbers (``np.int64(200)`` is 200).
    """
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                where = f"config key `{path}`" if path else "config"
                raise InputError(f"{where}: keys must be strings (TOML keys), got {key!r}")
            out[key] = _plain(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, path) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return copy.deepcopy(value)


def _overrides(overrides: Any, name: str, mapping: bool = False) -> list[tuple[str, Any]]:
    """``(key, value)`` of ``KEY=VALUE`` strings (one string, or an iterable of them), read as ``--set`` reads
    them; errors name the argument ``name``, not ``--set``, and what it takes (``mapping``: a mapping too)."""
    allowed = ('a mapping {"KEY": value}, one "KEY=VALUE" string or a list of them' if mapping
               else 'a list of "KEY=VALUE" strings')
    if isinstance(overrides, str):
        overrides = [overrides]
    if overrides is None or isinstance(overrides, (bytes, Mapping)) or not isinstance(overrides, Iterable):
        raise InputError(f"argument `{name}`: must be {allowed}, got {overrides!r}")
    texts = list(overrides)
    out = []
    for text in texts:
        if not isinstance(text, str):
            raise InputError(f"argument `{name}`: must be {allowed}, got the item {text!r}")
        out.append(parse_override(text, name))
    return out


#: Command-line flags whose Python argument has another name.
_ARGUMENT_NAMES = {"sims": "n_sims"}


def _argument_text(match: re.Match) -> str:
    name = match.group(1)
    name = _ARGUMENT_NAMES.get(name, name.replace("-", "_"))
    return f'{name}="{match.group(2)}"' if match.group(2) else name


#: The command line's flags that are arguments of ``simulate`` and ``size`` (``--set`` is not one).
_FLAGS = re.compile(r"--(backend|scheduler|jobs|sims|seed|target|level|wait-for-workers)\b(?: (power|assurance|dask|loky|threads)\b)?")


def _python_text(message: str) -> str:
    """``message`` with the command line's flags named as the Python arguments; the value after ``got`` as it is.

    >>> _python_text('argument `--target power`: ... use --target assurance, got "--sims"')
    'argument `target="power"`: ... use target="assurance", got "--sims"'
    """
    head, got, value = message.partition(", got ")
    return _FLAGS.sub(_argument_text, head) + got + value


@contextmanager
def _python_arguments() -> Iterator[None]:
    """Errors shared with the command line name the Python arguments: `backend`, not `--backend`.

    The runner's checks (backends, size search, Dask readiness) word their
    messages for the command line; here ``--level`` reads ``level`` and
    ``--target power`` reads ``target="power"``. What the user gave (after
    ``got``) is never rewritten.
    """
    try:
        yield
    except (InputError, NotReadyError) as err:
        text = _python_text(str(err))
        if text == str(err):
            raise
        raise type(err)(text) from None


def _check_callable(value: Any, name: str) -> None:
    if value is not None and not callable(value):
        raise InputError(f"argument `{name}`: must be a function (or None), got {value!r}")


class Trial:
    """A validated trial configuration: every scenario of one TOML config.

    Build it with :meth:`from_toml` or :meth:`from_dict` (the same keys as
    the TOML file, docs/config.md). The config is validated when the Trial
    is built, so a bad key raises :class:`simulator.InputError` at once.
    A Trial never changes: :meth:`override` returns a new one.
    """

    def __init__(self, mapping: Mapping[str, Any], *, source: str | None = None):
        if not isinstance(mapping, Mapping):
            raise InputError(f"config: must be a mapping of TOML tables, got {type(mapping).__name__}")
        self._raw: dict = _plain(mapping, "")
        self.source = source
        # Validated now (bad input raises at once); completed (values derived
        # once per run, such as survival events) when first needed, since
        # `size` searches what completion would derive.
        self._validated, _ = scenarios_from_mapping(self._raw, complete=False)
        self._completed: tuple[list[Scenario], dict] | None = None
        self._shown: list[Scenario] | None = None  # the copies `scenarios` shows, made once

    @property
    def _scenarios(self) -> list[Scenario]:
        return self._complete()[0]

    @property
    def _derived(self) -> dict:
        return self._complete()[1]

    def _complete(self) -> tuple[list[Scenario], dict]:
        if self._completed is None:
            self._completed = scenarios_from_mapping(self._raw)
        return self._completed

    # ------------------------------------------------------------ building
    @classmethod
    def from_toml(cls, path: str | Path, overrides: Iterable[str] = ()) -> Trial:
        """Read a TOML config file, apply ``KEY=VALUE`` overrides (as ``--set``), then validate.

        The overrides are applied before validation, so they can fix a file
        that is not valid on its own (``--set`` does the same).
        """
        if not isinstance(path, (str, Path)) or not str(path):
            raise InputError(f"argument `path`: must be a config file name (str or Path), got {path!r}")
        return cls._read(path, lambda: _overrides(overrides, "overrides"))

    @classmethod
    def _read(cls, path: str | Path, overrides: Callable[[], list[tuple[str, Any]]]) -> Trial:
        """:meth:`from_toml` with a function that parses the overrides, called once the file is read (the
        command line parses its ``--set`` itself, so that its errors name the flag)."""
        raw = read_toml(path)
        for key, value in overrides():
            set_dotted(raw, key, value)
        return cls(raw, source=str(path))

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> Trial:
        """Validate a config given as a dict with the TOML file's keys and tables."""
        return cls(mapping)

    def override(self, changes: Mapping[str, Any] | Iterable[str]) -> Trial:
        """A new Trial with dotted keys set, as ``--set KEY=VALUE`` does.

        ``changes`` is a mapping ``{"trial.n_total": 400}`` or a list of
        ``"KEY=VALUE"`` strings (VALUE parsed as TOML, as on the command line).
        """
        raw = copy.deepcopy(self._raw)
        items = changes.items() if isinstance(changes, Mapping) else _overrides(changes, "override", mapping=True)
        for key, value in items:
            if not isinstance(key, str) or not key:
                raise InputError(f"argument `override`: keys must be dotted config keys, got {key!r}")
            set_dotted(raw, key, _plain(value, key))
        return type(self)(raw, source=self.source)

    # ------------------------------------------------------------ views
    @property
    def scenarios(self) -> list[Scenario]:
        """The validated scenarios (one per size and sweep point).

        Copies of the Trial's own, made once (a review: changing a scenario's ``params`` or ``raw`` changed what
        the Trial simulates; a copy at every access cost 0.3 s in a sweep of 3000): changing them changes
        what this property shows next, never what the Trial simulates.
        """
        if self._shown is None:
            self._shown = copy.deepcopy(self._scenarios)
        return list(self._shown)

    @property
    def derived(self) -> dict:
        """What was derived once for all scenarios (survival: ``design.events``); a copy."""
        return copy.deepcopy(self._derived)

    def to_dict(self) -> dict:
        """The config mapping (what report.json's ``meta.config`` holds)."""
        return copy.deepcopy(self._raw)

    def __repr__(self) -> str:
        name = self._validated[0].config.trial.name
        endpoints = ", ".join(f"{e.name} ({e.kind})" for e in self._validated[0].config.endpoints)
        where = f" from {self.source}" if self.source else ""
        return f"Trial {name!r}{where}: {len(self._validated)} scenario(s); endpoints {endpoints}"

    # ------------------------------------------------------------ jobs
    def _with_simulation(self, n_sims: int | None, seed: int | None, jobs: int | None) -> Trial:
        n_sims, seed, jobs = _check_count(n_sims, "n_sims"), _check_count(seed, "seed"), _check_count(jobs, "jobs")
        changes = {f"simulation.{k}": v for k, v in (("n_sims", n_sims), ("seed", seed), ("jobs", jobs)) if v is not None}
        trial = self.override(changes) if changes else self
        # A swept seed is each scenario's own and would silently win over the argument (a review): refuse both.
        # Only where a sweep could set it: the scenarios are derived here (a config `size` refuses later, with its
        # own message, must not fail first on them).
        swept = [] if seed is None or not self._raw.get("sweep") else [
            s for s in trial._scenarios if s.config.simulation.seed != seed]
        if swept:
            key = next((k for k in swept[0].params if k.split(".")[0] == "simulation"), "simulation.seed")
            raise InputError(f"argument `--seed`: the config's sweep sets each scenario's seed (`sweep.{key}`), so "
                             "--seed would be no scenario's seed; drop --seed, or the seed from the sweep")
        return trial

    def design(self) -> DesignResult:
        """Analytic operating characteristics of every scenario (no simulation)."""
        blocks, derived = design_blocks(self._scenarios, self._raw)
        return DesignResult(self._raw, blocks, {**self._derived, **derived})

    def simulate(
        self,
        n_sims: int | None = None,
        seed: int | None = None,
        jobs: int | None = None,
        *,
        backend: str = "threads",
        scheduler: str | None = None,
        progress: ProgressHook | None = None,
        checkpoints: str | Path | None = None,
        resume: bool = True,
        command: str = "",
        wait_for_workers: float = WAIT_FOR_WORKERS_S,
    ) -> SimulationResult:
        """Simulate every scenario: power, assurance (and type I error) with their MCSEs.

        Parameters
        ----------
        n_sims, seed, jobs : int, optional
            Set ``simulation.n_sims``, ``simulation.seed``, ``simulation.jobs``
            (as ``--sims``, ``--seed``, ``--jobs``); ``jobs`` never changes a result.
        backend, scheduler : str, optional
            ``"threads"`` (default), ``"loky"`` or ``"dask"`` with a scheduler address.
        progress : ProgressHook, optional
            Told about finished chunks and scenarios.
        checkpoints : path, optional
            The folder of the per-scenario checkpoint files themselves (``p3sim run --out DIR`` keeps them
            in ``DIR/checkpoints``); a rerun resumes from it (``resume``). Not locked: give concurrent runs
            their own.
        command : str
            Recorded as ``meta.command`` (the command line, for reports).
        wait_for_workers : float
            Dask: seconds to wait for a worker (at the start, and when all
            have gone) before raising :class:`simulator.errors.NotReadyError`.
        """
        with _python_arguments():
            return self._simulate(n_sims, seed, jobs, backend=backend, scheduler=scheduler, progress=progress,
                                  checkpoints=checkpoints, resume=resume, command=command,
                                  wait_for_workers=wait_for_workers)

    def _simulate(self, n_sims: int | None, seed: int | None, jobs: int | None, *, backend: str,
                  scheduler: str | None, progress: ProgressHook | None, checkpoints: str | Path | None,
                  resume: bool, command: str, wait_for_workers: float) -> SimulationResult:
        """:meth:`simulate` with the command line's wording of errors (the command line calls this)."""
        started = time.perf_counter()
        if not isinstance(resume, bool):
            raise InputError(f"argument `resume`: must be True or False, got {resume!r}")
        if progress is not None and not hasattr(progress, "advance"):
            raise InputError(f"argument `progress`: must be a ProgressHook (simulator.runner.progress), got {progress!r}")
        if checkpoints is not None:
            check_output_folder(checkpoints, "checkpoints")
        trial = self._with_simulation(n_sims, seed, jobs)
        for scenario in trial._scenarios:
            if scenario.config.trial.n_total is None:
                # A review: "design and size can compute one" where no endpoint has a truth, which both refuse.
                without = [e.name for e in scenario.config.endpoints
                           if e.truth is None or getattr(e.truth, "hazard_ratio", 0.0) is None]
                raise InputError(
                    "config key `trial.n_total`: is required to simulate (the patients randomised); "
                    + ("`design` can compute one where each endpoint's truth shows a benefit over the null, and "
                       "`size` too, except for event-driven survival (it searches the events at a given "
                       "`trial.n_total`)" if not without else
                       f"endpoint `{without[0]}` has no truth, so there is no analytic size: give one "
                       "(`size --target assurance` then searches from it)")
                )
        first = trial._scenarios[0].config.simulation
        with session(backend, scheduler, wait_for_workers):
            bundles, streams, side, _, resumed = simulate(
                trial._scenarios, jobs=first.jobs, progress=progress, backend=backend, scheduler=scheduler,
                checkpoints=checkpoints, resume=resume,
            )
        return SimulationResult(
            trial._raw, trial._scenarios, bundles, streams, side, trial._derived,
            command=command, runtime_s=time.perf_counter() - started, resumed=resumed,
        )

    def size(
        self,
        target: str = "power",
        level: float | None = None,
        n_sims: int | None = None,
        seed: int | None = None,
        jobs: int | None = None,
        *,
        backend: str = "threads",
        scheduler: str | None = None,
        log: Callable[[str], None] | None = None,
        command: str = "",
        wait_for_workers: float = WAIT_FOR_WORKERS_S,
    ) -> SizeResult:
        """The smallest size (patients, or events with a survival endpoint) whose simulated
        ``target`` ("power" or "assurance") reaches ``level`` (default ``design.power``).

        See docs/cli.md (``p3sim size``) for the search and what the result reports.
        """
        with _python_arguments():
            return self._size(target, level, n_sims, seed, jobs, backend=backend, scheduler=scheduler, log=log,
                              command=command, wait_for_workers=wait_for_workers)

    def _size(self, target: str, level: float | None, n_sims: int | None, seed: int | None, jobs: int | None, *,
              backend: str, scheduler: str | None, log: Callable[[str], None] | None, command: str,
              wait_for_workers: float) -> SizeResult:
        """:meth:`size` with the command line's wording of errors (the command line calls this)."""
        started = time.perf_counter()
        _check_callable(log, "log")
        trial = self._with_simulation(n_sims, seed, jobs)
        raw = trial._raw
        if level is not None and target == "power" and not isinstance(level, bool) and isinstance(level, numbers.Real):
            try:
                raw = trial.override({"design.power": level})._raw if 0 < level < 1 else raw
            except InputError as err:  # the level becomes design.power, whose range it must keep: say so
                prefix = "config key `design.power`: "
                if not str(err).startswith(prefix):
                    raise
                raise InputError(f"argument `--level`: a power target is design.power, which {str(err)[len(prefix):]}"
                                 ) from None
        with session(backend, scheduler, wait_for_workers):
            outcome = search(raw, target=target, level=level, backend=backend, scheduler=scheduler, log=log)
        axis = size_axis(size_scenario(raw, quiet=True)[1])
        return SizeResult(raw, outcome, axis, {}, command=command, runtime_s=time.perf_counter() - started)
