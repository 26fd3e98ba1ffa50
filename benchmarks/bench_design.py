"""Time to compute group-sequential designs (analytic, no simulation).

Run: ``python benchmarks/bench_design.py``. Prints the best and median of
repeated computations of a few designs; the issue's reference point is a
K = 5 design with beta-spending futility (rpact needs about 0.5 s on this
machine; target under 50 ms).
"""

from __future__ import annotations

import statistics
import time

from simulator.design.boundaries import group_sequential_bounds

DESIGNS = {
    "K = 5, asOF + bsOF, non-binding": dict(looks=5, efficacy="asOF", futility="bsOF"),
    "K = 5, asOF + bsOF, binding": dict(looks=5, efficacy="asOF", futility="bsOF", binding=True),
    "K = 5, asHSD(-4), no futility": dict(looks=5, efficacy="asHSD", efficacy_param=-4.0),
    "K = 3, asOF, no futility": dict(looks=3, efficacy="asOF"),
    "K = 10, asOF + bsOF, binding": dict(looks=10, efficacy="asOF", futility="bsOF", binding=True),
}


def time_design(options: dict, repeats: int = 9) -> tuple[float, float]:
    """Best and median wall time (seconds) of ``group_sequential_bounds``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        group_sequential_bounds(alpha=0.025, sided=1, power=0.8, **options)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    group_sequential_bounds(3)  # warm up imports and caches once
    print("| design | best | median |\n|---|---|---|")
    for name, options in DESIGNS.items():
        best, median = time_design(options)
        print(f"| {name} | {best * 1e3:.1f} ms | {median * 1e3:.1f} ms |")


if __name__ == "__main__":
    main()
