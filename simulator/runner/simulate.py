"""Run the chunks of every scenario, in parallel, and add up their counts.

A task is one chunk of one stream (power, assurance or type1) of one
scenario: it simulates every endpoint for the same trials, so that trial
success (all or any endpoint) is counted per simulated trial, and returns
small integer counts.  Counts from chunks are added in chunk order, so the
totals are the same whichever process ran which chunk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from simulator.config.digest import scenario_digest
from simulator.config.load import Scenario
from simulator.design.multiplicity import endpoint_levels
from simulator.endpoints import plan_for
from simulator.endpoints.common import TWO_SIDED_KEY
from simulator.endpoints.joint import JointPlan, joint_units
from simulator.engine.seeding import CHUNK_SIZE, chunk_count, chunk_generator, chunk_size
from simulator.runner.backends import execute
from simulator.runner.progress import ProgressHook
from simulator.runner.success import adjusted_success, trial_success


@dataclass
class StreamCounts:
    """What one stream of one scenario counted, summed over chunks."""

    n_sims: int = 0
    success: int = 0
    endpoints: dict = field(default_factory=dict)  # name -> dict of per-look count arrays
    #: Two-sided designs, type1 stream: trials whose success rule holds with
    #: rejections in either direction (``None`` when not counted).
    success_two_sided: int | None = None

    def add(self, other: StreamCounts) -> None:
        self.n_sims += other.n_sims
        self.success += other.success
        if other.success_two_sided is not None:
            self.success_two_sided = (self.success_two_sided or 0) + other.success_two_sided
        for name, counts in other.endpoints.items():
            mine = self.endpoints.setdefault(name, {k: np.zeros_like(v) for k, v in counts.items()})
            for key, value in counts.items():
                mine[key] += value


@dataclass
class ScenarioPlans:
    """The plans of one scenario's endpoints and how they combine."""

    scenario: Scenario
    plans: tuple
    entropy: list[int]
    only: tuple[str, ...] | None = None  # restrict to these streams (``size`` simulates one)
    units: tuple = ()  # what run_chunk simulates: plans, or JointPlans of endpoints on the same patients

    @property
    def chunk(self) -> int:
        """Trials per chunk: the smallest of the simulated units' ``chunk_trials`` (:mod:`simulator.engine.seeding`)."""
        return min(getattr(unit, "chunk_trials", CHUNK_SIZE) for unit in self.units or self.plans)

    @property
    def streams(self) -> list[str]:
        streams = []
        if all(plan.truth is not None for plan in self.plans):
            streams.append("power")
        if any(plan.prior is not None for plan in self.plans):
            streams.append("assurance")
        if self.scenario.config.simulation.null:
            streams.append("type1")
        if self.only is not None:
            streams = [s for s in streams if s in self.only]
        return streams


def build_plans(scenario: Scenario, *, digest_exclude: tuple = (), only: tuple[str, ...] | None = None) -> ScenarioPlans:
    """Plans for every endpoint, with Bonferroni shares of alpha when asked for.

    ``digest_exclude`` leaves further ``(section, key)`` pairs out of the seed
    digest (``size`` leaves out ``trial.n_total`` for common random numbers);
    ``only`` restricts the streams simulated.
    """
    config = scenario.config
    alpha, extra_levels = endpoint_levels(config.design.alpha, len(config.endpoints), config.success.multiplicity)
    plans = tuple(plan_for(config, endpoint, alpha, extra_levels) for endpoint in config.endpoints)
    # Correlated endpoints, or binary endpoints read at survival looks, are
    # simulated together per patient; ``plans`` stay the members (reports).
    plans, units = joint_units(config, plans, alpha)
    entropy = [config.simulation.seed, *scenario_digest(config, digest_exclude)]
    return ScenarioPlans(scenario, plans, entropy, only, units)


def run_chunk(bundle: ScenarioPlans, stream: str, chunk: int, n_sims: int) -> StreamCounts:
    """Simulate one chunk of one stream for every endpoint and count outcomes."""
    success_rules = bundle.scenario.config.success
    counts = StreamCounts(n_sims=n_sims)
    results = {}
    for unit in bundle.units or bundle.plans:
        if isinstance(unit, JointPlan):
            rng = chunk_generator(bundle.entropy, stream, unit.stream_name, chunk)
            results.update(unit.run_chunk(rng, n_sims, stream))
        else:
            rng = chunk_generator(bundle.entropy, stream, unit.endpoint.name, chunk)
            results[unit.endpoint.name] = unit.run_chunk(rng, n_sims, stream)
    success, either = {}, {}
    for plan in bundle.plans:
        name = plan.endpoint.name
        success[name], counts.endpoints[name] = results[name]
        # Per-trial rejections in either direction (two-sided designs, type1
        # stream): not a summable count, so taken out of the counts here.
        rejected = counts.endpoints[name].pop(TWO_SIDED_KEY, None)
        if rejected is not None:
            either[name] = rejected
    adjusted = adjusted_success(success, success_rules.multiplicity, success_rules.order)
    for name, value in adjusted.items():
        counts.endpoints[name]["success_adjusted"] = np.array([int(value.sum())], dtype=np.int64)
    counts.success = int(trial_success(adjusted, success_rules.rule).sum())
    if either and len(either) == len(success):
        # The trial's rule and multiplicity applied to rejections in either direction.
        both = adjusted_success(either, success_rules.multiplicity, success_rules.order)
        counts.success_two_sided = int(trial_success(both, success_rules.rule).sum())
    return counts


def compile_here(bundles: list[ScenarioPlans]) -> None:
    """Simulate one trial of every stream of every scenario in this process, and throw it away.

    Before worker processes start: the first call of each kernel compiles
    it into Numba's on-disk cache (or loads it from there), so that the
    workers of this machine load the machine code instead of each compiling
    it again (seconds of CPU per worker on a cold cache). A trial of a chunk
    of its own, so no result depends on it.
    """
    for bundle in bundles:
        for stream in bundle.streams:
            run_chunk(bundle, stream, 0, 1)


def _template(bundle: ScenarioPlans):
    """What a fresh chunk of each stream looks like (one trial), for checking a checkpoint against."""
    return lambda: {stream: run_chunk(bundle, stream, 0, 1) for stream in bundle.streams}


def _tasks(bundles: list[ScenarioPlans], indices):
    """``(scenario, stream, chunk, n_sims)`` for every chunk of the given scenarios, generated lazily.

    Nothing is listed up front, so memory does not grow with ``n_sims``
    (10^11 trials are 1.5 million chunks per stream).
    """
    for index in indices:
        bundle = bundles[index]
        n_sims = bundle.scenario.config.simulation.n_sims
        for stream in bundle.streams:
            for chunk in range(chunk_count(n_sims, bundle.chunk)):
                yield index, stream, chunk, chunk_size(n_sims, chunk, bundle.chunk)


def _n_tasks(bundle: ScenarioPlans) -> int:
    return len(bundle.streams) * chunk_count(bundle.scenario.config.simulation.n_sims, bundle.chunk)


def _run_task(task: tuple, bundle: ScenarioPlans) -> tuple[tuple, StreamCounts]:
    # Results come back in any order; the task says where they belong.
    _, stream, chunk, n_sims = task
    return task, run_chunk(bundle, stream, chunk, n_sims)


class _InOrderSum:
    """Adds one stream's chunk counts in chunk order, whatever order they arrive in.

    A chunk that arrives early waits until every chunk before it has been
    added, so the sums are the same every time while at most the chunks in
    flight are held in memory.
    """

    def __init__(self):
        self.total = StreamCounts()
        self.next = 0
        self.waiting: dict = {}

    def put(self, chunk: int, counts: StreamCounts) -> None:
        self.waiting[chunk] = counts
        while self.next in self.waiting:
            self.total.add(self.waiting.pop(self.next))
            self.next += 1


def simulate_scenarios(
    bundles: list[ScenarioPlans],
    jobs: int = 0,
    progress=None,
    *,
    backend: str = "threads",
    scheduler: str | None = None,
    checkpoints=None,
    resume: bool = True,
):
    """Simulate every stream of every scenario, resuming from checkpoints.

    Parameters
    ----------
    bundles : list of ScenarioPlans
        The scenarios.
    jobs : int
        Processes (``0`` = all cores); never changes a result.
    progress : ProgressHook, optional
        Told about started work, finished chunks and finished scenarios.
    backend, scheduler : str
        ``"loky"`` (local processes) or ``"dask"`` with the scheduler's
        address; see :mod:`simulator.runner.backends`.
    checkpoints : CheckpointStore, optional
        Where finished scenarios are looked up before and written after
        simulating (see :mod:`simulator.runner.checkpoint`).
    resume : bool
        Use the checkpoints found; ``False`` recomputes every scenario (and
        still writes its checkpoint).

    Returns
    -------
    list of dict
        Per scenario, stream name -> :class:`StreamCounts`.
    float
        Wall time in seconds.

    Notes
    -----
    Chunks finish in any order; each stream's chunk counts are added in chunk
    order (a chunk that finishes early waits for those before it), so the
    sums are the same whichever process ran which chunk, and the same as a
    checkpoint's.
    """
    progress = ProgressHook() if progress is None else progress
    start = time.perf_counter()
    results: list = [None] * len(bundles)
    resumed = []
    for index, bundle in enumerate(bundles):
        cached = checkpoints.load(bundle, template=_template(bundle)) if checkpoints is not None and resume else None
        if cached is not None:
            results[index] = cached
            resumed.append(index)
    if checkpoints is not None:
        checkpoints.resumed = resumed
    todo = [i for i in range(len(bundles)) if results[i] is None]
    pending = {i: _n_tasks(bundles[i]) for i in todo}
    progress.start(len(bundles), sum(len(bundles[i].streams) * bundles[i].scenario.config.simulation.n_sims for i in todo))
    for index in resumed:
        progress.scenario_done(index, True)
    sums = {i: {stream: _InOrderSum() for stream in bundles[i].streams} for i in todo}
    for index in todo:
        if pending[index] == 0:  # a scenario with no stream to simulate
            results[index] = {}
            progress.scenario_done(index, False)
    if backend != "threads":
        compile_here([bundles[i] for i in todo])
    arguments = ((task, bundles[task[0]]) for task in _tasks(bundles, todo))
    for task, counts in execute(_run_task, arguments, count=sum(pending.values()), jobs=jobs, backend=backend,
                                scheduler=scheduler):
        index, stream, chunk, n = task
        sums[index][stream].put(chunk, counts)
        progress.advance(n)
        pending[index] -= 1
        if pending[index] == 0:
            results[index] = {stream: adder.total for stream, adder in sums.pop(index).items()}
            if checkpoints is not None:
                checkpoints.save(bundles[index], results[index])
            progress.scenario_done(index, False)
    progress.finish()
    return results, time.perf_counter() - start
