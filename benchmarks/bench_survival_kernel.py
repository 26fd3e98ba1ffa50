"""Time the survival trial kernel on one core, after compilation.

Scenario (the reference for the speed target of 0.2 s): 10^4 trials, N = 610
(305 per arm), control median 30 months, hazard ratio 0.7, uniform accrual
over 36 months, no dropout, three looks at 111, 223 and 334 events with
O'Brien-Fleming-type bounds 3.71, 2.51, 1.99.

The kernels are those of :mod:`simulator.engine.patients` (one patient
model shared with the joint engine and the Kaplan-Meier bands). On the
2-core development machine: 20.3 us per trial before the unification
(pooled competing exits, no sort), 22.2 us after (per-patient exits by
inverse hazard, one bucket sort per trial); 120 us from the
non-proportional-hazards model (91156c6) until the exit fix (4fed28e), about
25 us after it.

These are wall-clock times on a process pinned to one core: on a shared
machine, other work on that core inflates them (the same build read 24 us
and 48 us minutes apart). ``benchmarks/run.py --survival-rpact-only``
times the same design by CPU time, alternated with rpact.

Run: ``python benchmarks/bench_survival_kernel.py [--sims N] [--repeats R]``.
Prints the best and median wall time over the repeats; the best is the
fairest figure on a machine shared with other work.
"""

import argparse
import os
import statistics
import time

import numpy as np

from simulator.design.survival import accrual_pieces, hazards_from
from simulator.engine.survival import simulate_trials


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        # One core: the kernel is serial; pinning keeps the OS from moving it.
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    scenario = dict(accrual=accrual_pieces(duration=36.0),
                    control=hazards_from(median=30.0), hazard_ratio=0.7,
                    look_events=[111, 223, 334], efficacy=[3.71, 2.51, 1.99])
    start = time.perf_counter()
    simulate_trials(10, 305, 305, rng=np.random.default_rng(0), **scenario)
    print(f"first call (compile or load from cache): {time.perf_counter() - start:.2f} s")

    timings = []
    for repeat in range(args.repeats):
        rng = np.random.default_rng(repeat)
        start = time.perf_counter()
        res = simulate_trials(args.sims, 305, 305, rng=rng, **scenario)
        timings.append(time.perf_counter() - start)
    print(f"{args.sims} trials, N = 610, 3 looks: best {min(timings):.3f} s, "
          f"median {statistics.median(timings):.3f} s over {args.repeats} runs "
          f"({1e6 * min(timings) / args.sims:.1f} us per trial)")
    print(f"power {np.mean(res.decision == 1):.3f}, "
          f"mean looks {np.mean(res.stop_look + 1):.2f}")


if __name__ == "__main__":
    main()
