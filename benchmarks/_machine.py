"""What the figures were measured on: CPU, cores, memory, library versions, commit."""

from __future__ import annotations

import multiprocessing
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The checked-out commit (read-only ``git rev-parse``), if this is a git checkout."""
    try:
        done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def describe() -> dict:
    """The machine and software the benchmark runs on."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": _cpuinfo_field("model name") or platform.processor() or platform.machine(),
        "logical_cpus": os.cpu_count(),
        "cpus_available": affinity,
        "memory_gib": _mem_total_gib(),
        "load_average_at_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {
            name: _version(name) for name in ("phase3-simulator", "numpy", "numba", "llvmlite", "scipy", "joblib")
        },
        "git_commit": _git_commit(),
    }


#: Iterations of the pure-Python loop that :func:`parallel_capacity` times (about 0.5 s).
BURN_LOOPS = 15_000_000


def _burn() -> float:
    """Seconds of a CPU-bound pure-Python loop (no allocation, no I/O)."""
    start = time.perf_counter()
    total = 0
    for i in range(BURN_LOOPS):
        total += i
    return time.perf_counter() - start


def _burn_worker(barrier, results) -> None:
    barrier.wait()  # start together, so that the loops overlap
    results.put(_burn())


def parallel_capacity(processes: int = 2) -> dict:
    """How many CPUs' worth of work ``processes`` CPU-bound processes get right now.

    Times the same loop alone, then in ``processes`` processes at once:
    capacity = sum(alone / together_i), about ``processes`` on an idle machine
    with that many cores and about 1 when other work leaves a single core
    free. It says how to read a ``--jobs 2`` speedup measured at the same time.
    """
    context = multiprocessing.get_context("fork")  # the children only run _burn
    alone = _burn()
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_burn_worker, args=(barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    together = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return {"processes": processes, "alone_s": alone, "together_s": together,
            "capacity_cpus": sum(alone / t for t in together)}
