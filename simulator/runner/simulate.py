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
from joblib import Parallel, delayed

from simulator.config.load import Scenario, scenario_digest
from simulator.endpoints import plan_for
from simulator.engine.seeding import chunk_generator, chunk_sizes


@dataclass
class StreamCounts:
    """What one stream of one scenario counted, summed over chunks."""

    n_sims: int = 0
    success: int = 0
    endpoints: dict = field(default_factory=dict)  # name -> dict of per-look count arrays

    def add(self, other: "StreamCounts") -> None:
        self.n_sims += other.n_sims
        self.success += other.success
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

    @property
    def streams(self) -> list[str]:
        streams = []
        if all(plan.truth is not None for plan in self.plans):
            streams.append("power")
        if any(plan.prior is not None for plan in self.plans):
            streams.append("assurance")
        if self.scenario.config.simulation.null:
            streams.append("type1")
        return streams


def build_plans(scenario: Scenario) -> ScenarioPlans:
    """Plans for every endpoint, with Bonferroni shares of alpha when asked for."""
    config = scenario.config
    alpha = config.design.alpha
    if config.success.multiplicity == "bonferroni":
        alpha = alpha / len(config.endpoints)
    plans = tuple(plan_for(config, endpoint, alpha) for endpoint in config.endpoints)
    entropy = [config.simulation.seed, *scenario_digest(config)]
    return ScenarioPlans(scenario, plans, entropy)


def run_chunk(bundle: ScenarioPlans, stream: str, chunk: int, n_sims: int) -> StreamCounts:
    """Simulate one chunk of one stream for every endpoint and count outcomes."""
    rule = bundle.scenario.config.success.rule
    joint = np.ones(n_sims, dtype=bool) if rule == "all" else np.zeros(n_sims, dtype=bool)
    counts = StreamCounts(n_sims=n_sims)
    for plan in bundle.plans:
        name = plan.endpoint.name
        rng = chunk_generator(bundle.entropy, stream, name, chunk)
        success, counts.endpoints[name] = plan.run_chunk(rng, n_sims, stream)
        joint = joint & success if rule == "all" else joint | success
    counts.success = int(joint.sum())
    return counts


def _tasks(bundles: list[ScenarioPlans]):
    for index, bundle in enumerate(bundles):
        sizes = chunk_sizes(bundle.scenario.config.simulation.n_sims)
        for stream in bundle.streams:
            for chunk, n in enumerate(sizes):
                yield index, stream, chunk, n


def effective_jobs(jobs: int, n_tasks: int) -> int:
    """``jobs = 0`` means all cores; never more processes than tasks."""
    import os

    cores = os.cpu_count() or 1
    wanted = cores if jobs <= 0 else jobs
    return max(1, min(wanted, n_tasks))


def simulate_scenarios(bundles: list[ScenarioPlans], jobs: int = 0, progress=None):
    """Simulate every stream of every scenario.

    Returns
    -------
    list of dict
        Per scenario, stream name -> :class:`StreamCounts`.
    float
        Wall time in seconds.
    """
    tasks = list(_tasks(bundles))
    n_jobs = effective_jobs(jobs, len(tasks))
    start = time.perf_counter()
    results = [{stream: StreamCounts() for stream in bundle.streams} for bundle in bundles]
    if n_jobs == 1:
        outputs = (run_chunk(bundles[i], stream, chunk, n) for i, stream, chunk, n in tasks)
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator", batch_size=1)
        outputs = parallel(delayed(run_chunk)(bundles[i], stream, chunk, n) for i, stream, chunk, n in tasks)
    # The generator yields in task order, so sums are formed in chunk order.
    for (i, stream, _, n), counts in zip(tasks, outputs):
        results[i][stream].add(counts)
        if progress is not None:
            progress(n)
    return results, time.perf_counter() - start
