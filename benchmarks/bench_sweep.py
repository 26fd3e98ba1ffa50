"""Speed-up of a sweep from 1 to 2 jobs (``--jobs 1`` -> ``--jobs 2``).

Threads by default, ``--backend loky`` for processes.

Scenario: the binary fixed design of ``SMALL`` (N = 600, 0.33 vs 0.22, lower
is better, pooled z test, a phase 2 prior), swept over 8 experimental rates,
power and assurance streams, ``--sims`` trials each (default 2^20 = 16
chunks): 8 x 2 x 16 = 256 tasks.  The runner is called in this process, as
``p3sim run`` would; a warm-up run first starts the worker processes and
loads the compiled kernels, so that neither is timed.  Runs alternate
between 1 and 2 jobs, ``--repeats`` times each; the best time of each is the
fairest figure on a shared machine, and the load average before and after is
printed because other work on the machine lowers the speed-up.

Run: ``python benchmarks/bench_sweep.py [--sims N] [--repeats R] [--json FILE]``.
Target: speed-up >= 1.8 on 2 free cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from simulator.api import Trial

SMALL = """
[trial]
name = "bench sweep"
n_total = 600
[endpoints.morbidity]
kind = "binary"
better = "lower"
test = "z_pooled"
[endpoints.morbidity.truth]
control = 0.33
experimental = 0.22
[endpoints.morbidity.prior]
control = { events = 14, n = 42 }
experimental = { events = 8, n = 37 }
[sweep]
"endpoints.morbidity.truth.experimental" = [0.18, 0.20, 0.22, 0.24, 0.26, 0.28, 0.30, 0.32]
"""

TARGET = 1.8



def _run(config, *, n_sims, jobs, backend) -> dict:
    """Simulate a config through the public API; the report.json content."""
    return Trial.from_toml(config).simulate(n_sims, None, jobs, backend=backend).to_dict()

def measure(sims: int, repeats: int, backend: str = "threads") -> dict:
    """Best and median wall times for 1 and 2 jobs, and the speed-up."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench_sweep.toml"
        config.write_text(SMALL, encoding="utf-8")
        _run(config, n_sims=1 << 16, jobs=2, backend=backend)  # warm-up: workers started, kernels loaded
        _run(config, n_sims=1 << 16, jobs=1, backend=backend)
        load_before = os.getloadavg()
        times: dict[int, list[float]] = {1: [], 2: []}
        reports = {}
        for _ in range(repeats):
            for jobs in (1, 2):
                start = time.perf_counter()
                reports[jobs] = _run(config, n_sims=sims, jobs=jobs, backend=backend)
                times[jobs].append(time.perf_counter() - start)
        load_after = os.getloadavg()
    assert reports[1]["scenarios"] == reports[2]["scenarios"], "jobs changed a result"
    trials = 8 * 2 * sims
    best = {jobs: min(t) for jobs, t in times.items()}
    return {
        "backend": backend,
        "scenarios": 8,
        "streams": 2,
        "sims_per_stream": sims,
        "trials": trials,
        "cpus": os.cpu_count(),
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "seconds": {str(j): t for j, t in times.items()},
        "best_s": {str(j): b for j, b in best.items()},
        "median_s": {str(j): statistics.median(t) for j, t in times.items()},
        "trials_per_s": {str(j): trials / b for j, b in best.items()},
        "speedup_best": best[1] / best[2],
        "speedup_median": statistics.median(times[1]) / statistics.median(times[2]),
        "target": TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1 << 20, help="trials per stream and scenario")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--backend", default="threads", choices=["threads", "loky"], help="local backend")
    args = parser.parse_args()
    result = measure(args.sims, args.repeats, args.backend)
    print(
        f"sweep of 8 scenarios x 2 streams x {args.sims} trials ({result['trials']:,} trials), "
        f"{result['cpus']} logical CPUs, load average {result['load_average_before'][0]:.2f} before / "
        f"{result['load_average_after'][0]:.2f} after"
    )
    for jobs in ("1", "2"):
        print(
            f"  --jobs {jobs}: best {result['best_s'][jobs]:.2f} s, median {result['median_s'][jobs]:.2f} s "
            f"({result['trials_per_s'][jobs]:,.0f} trials/s)"
        )
    verdict = "meets" if result["speedup_best"] >= TARGET else "misses"
    print(
        f"  speed-up 1 -> 2 jobs: {result['speedup_best']:.2f}x best, {result['speedup_median']:.2f}x median "
        f"({verdict} the {TARGET}x target)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
