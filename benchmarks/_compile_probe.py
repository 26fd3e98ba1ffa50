"""Print, as JSON, how long a fresh interpreter takes to reach a compiled kernel.

Run by ``benchmarks/run.py`` in a subprocess, with ``NUMBA_CACHE_DIR``
pointing at a temporary folder: empty the first time (the first kernel call
compiles), filled the second (the first call loads machine code from the
cache, which is what every ``p3sim`` run and every joblib worker pays).

Usage: ``python benchmarks/_compile_probe.py BASE_TOML``
"""

import time

start = time.perf_counter()

import json  # noqa: E402 - everything below the clock is part of the timing
import sys  # noqa: E402

import numpy as np  # noqa: E402

import _designs  # noqa: E402 - imports simulator (and so numba, scipy)


def main(base: str) -> dict:
    """Seconds for the imports, the plan and the first two kernel calls."""
    imported = time.perf_counter()
    _, plan = _designs.make_plan(base, _designs.Z_POOLED)
    built = time.perf_counter()
    plan.simulate(np.random.default_rng(1), 10, "power")
    first = time.perf_counter()
    plan.simulate(np.random.default_rng(2), 10, "power")
    second = time.perf_counter()
    return {
        "import_s": imported - start,
        "plan_s": built - imported,
        "first_call_s": first - built,
        "second_call_s": second - first,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
