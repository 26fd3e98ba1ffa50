"""Time the survival kernel with strata against the plain log-rank kernel, on one core.

Scenario: the reference of bench_nph_kernel.py (N = 610, 305 per arm, control
median 30 months, hazard ratio 0.7, uniform accrual over 36 months, one
analysis at 334 events, bound 1.96), with two crossed factors (shares
0.6/0.4 and 0.5/0.5, hazard multipliers 1/2.5 and 1/1.6) randomised by
minimisation. Rows: the plain kernel (no strata); strata analysed by the
stratified log-rank; strata analysed by the unstratified FH(0, 1); strata
analysed both ways on the same trials (what a run does: the paired
comparison of the report). Repeats are interleaved so that a busy machine
slows every row alike; prints the best wall (or, with ``--cpu``, CPU) time per trial and each row's
cost relative to the plain kernel (the target of issue 15: at most 1.5x).

Run: ``python benchmarks/bench_strata_kernel.py [--sims N] [--repeats R] [--cpu]`` (``--cpu``:
CPU time of the process, steadier than wall time on a shared machine).
"""

import argparse
import os
import time

import numpy as np

from simulator.design.survival import accrual_pieces, hazards_from
from simulator.engine.strata import strata_design
from simulator.engine.survival import simulate_trials

STRATA = strata_design([[0.6, 0.4], [0.5, 0.5]], [[1.0, 2.5], [1.0, 1.6]], method="minimisation")
ROWS = (
    ("plain log-rank", {}),
    ("strata, stratified log-rank", dict(strata=STRATA, stratified=True)),
    ("strata, FH(0,1)", dict(strata=STRATA, weights=[(0.0, 1.0)])),
    ("strata, both analyses", dict(strata=STRATA, stratified=True, compare=True)),
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cpu", action="store_true", help="CPU time of this process instead of wall time")
    args = parser.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    scenario = dict(accrual=accrual_pieces(duration=36.0), control=hazards_from(median=30.0), hazard_ratio=0.7,
                    look_events=[334], efficacy=[1.959964])
    for _, extra in ROWS:
        simulate_trials(10, 305, 305, rng=np.random.default_rng(0), **scenario, **extra)  # compile
    best = {name: np.inf for name, _ in ROWS}
    power = {}
    for repeat in range(args.repeats):
        for name, extra in ROWS:
            start = clock()
            res = simulate_trials(args.sims, 305, 305, rng=np.random.default_rng(repeat), **scenario, **extra)
            best[name] = min(best[name], clock() - start)
            power[name] = np.mean(res.decision == 1)
    for name, _ in ROWS:
        print(f"{name:28s} {1e6 * best[name] / args.sims:7.1f} us per trial, "
              f"{best[name] / best['plain log-rank']:.2f}x the plain kernel, power {power[name]:.3f}")


if __name__ == "__main__":
    main()
