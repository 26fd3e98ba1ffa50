"""Where a 3-look survival trial's time goes, and how low its random numbers could go.

The issue 13 design (N = 610, 305 per arm, control median 30 months, hazard
ratio 0.7, uniform accrual over 36 months, no dropout, looks at 111, 223 and
334 events, bounds 3.716, 2.509, 1.993). CPU time per trial
(``time.process_time``, one thread), each variant timed in turn in every
round, median of the rounds:

- ``draw``: entries, arms and exits (:func:`simulator.engine.patients.draw_patients`);
- ``+cuts``: and the calendar times of the looks (``schedule_cuts``);
- ``+sort``: and the per-trial exit order for the log-rank (``prepare_cuts``);
- ``full``: the whole trial (``analyse_looks``: the log-rank passes and decisions);
- ``generator``: as many random numbers from NumPy's ``Generator`` through
  Numba (611 + 610 exponentials, 609 uniforms), as the engine drew them
  before it drew from a generator of its own;
- ``pcg64``: the same draws, equal bit for bit (asserted) to the
  ``Generator``'s, from PCG64 written in the kernel: the 128-bit state read
  from and written back to the ``Generator``'s memory, exponentials by
  NumPy's ziggurat with Numba's tables. Not used by the engine: it reads
  NumPy's private state layout (a changed layout would silently change the
  numbers) and Numba's private model of the ``Generator``;
- ``sfc64``: the same count of 64-bit draws from the engine's own SFC64
  generator (:mod:`simulator.engine.bits`, checked equal to NumPy's
  ``SFC64`` bit for bit), turned into uniforms: the floor of its random
  numbers (its exponentials cost a table read and a compare more).

Also printed: ``merge``, the CPU time per subject of a bare merge of two
sorted streams (334 exits and 276 censorings, uniform times) that only
counts, the loop shape of the log-rank's merged pass without its sums: a
floor for walking the enrolled patients at a look; ``merge keys``, the same
merge comparing the times' bits as integers, as the engine's pass does.

The analysis (``full`` minus ``draw``) is work that no sampler removes; the
issue's 25x rpact is about 11 us per trial at rpact's 275 us.

Run: ``python benchmarks/bench_survival_floor.py [--sims N] [--rounds R]``; ``benchmarks/run.py`` runs
:func:`measure` too (its survival sections) and prints the figures in its table.
"""

import argparse
import statistics
import time

import numpy as np
from llvmlite import ir
from numba import njit, types, uint64
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.random._constants import fe_double, ke_double, we_double, ziggurat_exp_r

from simulator.engine.patients import (
    analyse_looks,
    draw_patients,
    look_results,
    patients,
    prepare_cuts,
    schedule_cuts,
    survival_design,
    workspace,
)
from simulator.stats.decision import z_bounds

N_PER_ARM = 305
DRAWS = (611 + 610, 609)  # exponentials (entry spacings, exits) and uniforms (the arm shuffle) per trial


@njit(nogil=True)
def _steps(rng, n, design, pts, work, upto):
    """``n`` trials up to a step: 0 the draw, 1 and the cuts, 2 and the exit sort."""
    total = 0
    last_entry = pts.entry.size - 1
    for _ in range(n):
        events = draw_patients(rng, design, 1.0, 0.7, pts, work.calendar)
        total += events
        if upto >= 1:
            last = schedule_cuts(events, pts.entry[last_entry], design, work)[1]
            if upto >= 2:
                total += prepare_cuts(pts, work.cuts[last], work)
    return total


@njit(nogil=True)
def _full(rng, n, design, bounds, pts, work, out):
    for i in range(n):
        events = draw_patients(rng, design, 1.0, 0.7, pts, work.calendar)
        analyse_looks(i, events, design, bounds, pts, work, out, False)


@njit(nogil=True)
def _generator(rng, n, exponentials, uniforms, out):
    """``n`` trials' draws from the ``Generator`` (``out`` gets the last trial's)."""
    total = 0.0
    for _ in range(n):
        for k in range(exponentials):
            x = rng.exponential()
            out[k] = x
            total += x
        for k in range(uniforms):
            u = rng.random()
            out[exponentials + k] = u
            total += u
    return total


@njit(inline="always")
def _rotate(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always")
def _sfc64_step(a, b, c, w):
    """One SFC64 draw, NumPy's algorithm: ``(value, a, b, c, w)`` with the new state."""
    value = a + b + w
    return value, b ^ (b >> uint64(11)), c + (c << uint64(3)), _rotate(c, 24) + value, w + uint64(1)


@njit(nogil=True)
def _sfc64_raw(state, n):
    """``n`` raw draws of SFC64 from ``state`` (a, b, c, counter)."""
    a, b, c, w = state[0], state[1], state[2], state[3]
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], a, b, c, w = _sfc64_step(a, b, c, w)
    return out


@njit(nogil=True)
def _sfc64_uniforms(state, n, per_trial):
    a, b, c, w = state[0], state[1], state[2], state[3]
    total = 0.0
    for _ in range(n):
        for _ in range(per_trial):
            value, a, b, c, w = _sfc64_step(a, b, c, w)
            total += (value >> uint64(11)) * (1.0 / 9007199254740992.0)
    return total


@intrinsic
def _state_address(typingctx, bit_generator):
    """Address of the C state of a ``Generator``'s bit generator (Numba's model of it)."""
    def codegen(context, builder, signature, args):
        return cgutils.create_struct_proxy(bit_generator)(context, builder, value=args[0]).state
    return types.uintp(bit_generator), codegen


@intrinsic
def _load(typingctx, address):
    def codegen(context, builder, signature, args):
        return builder.load(builder.inttoptr(args[0], ir.IntType(64).as_pointer()))
    return types.uint64(address), codegen


@intrinsic
def _store(typingctx, address, value):
    def codegen(context, builder, signature, args):
        builder.store(args[1], builder.inttoptr(args[0], ir.IntType(64).as_pointer()))
        return context.get_dummy_value()
    return types.void(address, value), codegen


@intrinsic
def _mulhi(typingctx, a, b):
    """High 64 bits of the 128-bit product."""
    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
    return types.uint64(a, b), codegen


_MULT_HIGH, _MULT_LOW = uint64(2549297995355413924), uint64(4865540595714422341)  # PCG's 128-bit multiplier


@njit(inline="always")
def _pcg64_step(high, low, inc_high, inc_low):
    """PCG64 (XSL-RR, NumPy's): the next state and its 64-bit output."""
    product_low = low * _MULT_LOW
    new_low = product_low + inc_low
    new_high = _mulhi(low, _MULT_LOW) + high * _MULT_LOW + low * _MULT_HIGH + inc_high + uint64(new_low < product_low)
    x = new_high ^ new_low
    r = new_high >> uint64(58)
    return (x >> r) | (x << ((uint64(64) - r) & uint64(63))), new_high, new_low


@njit(inline="always")
def _pcg64_exponential(high, low, inc_high, inc_low):
    """NumPy's ziggurat exponential from PCG64 draws: ``(value, high, low)``."""
    while True:
        bits, high, low = _pcg64_step(high, low, inc_high, inc_low)
        bits >>= uint64(3)
        idx = bits & uint64(0xFF)
        bits >>= uint64(8)
        x = bits * we_double[idx]
        if bits < ke_double[idx]:
            return x, high, low
        extra, high, low = _pcg64_step(high, low, inc_high, inc_low)
        u = (extra >> uint64(11)) * (1.0 / 9007199254740992.0)
        if idx == 0:
            return ziggurat_exp_r - np.log1p(-u), high, low
        if (fe_double[idx - 1] - fe_double[idx]) * u + fe_double[idx] < np.exp(-x):
            return x, high, low


@njit(nogil=True)
def _pcg64(rng, n, exponentials, uniforms, out):
    """``_generator``'s draws from the ``Generator``'s own PCG64 state, in the kernel (``out`` gets the last ones)."""
    # NumPy's pcg64_state starts with a pointer to the 128-bit state and increment (low words first here).
    state = _load(_state_address(rng.bit_generator))
    low, high, inc_low, inc_high = _load(state), _load(state + 8), _load(state + 16), _load(state + 24)
    total = 0.0
    for _ in range(n):
        for k in range(exponentials):
            x, high, low = _pcg64_exponential(high, low, inc_high, inc_low)
            out[k] = x
            total += x
        for k in range(uniforms):
            bits, high, low = _pcg64_step(high, low, inc_high, inc_low)
            u = (bits >> uint64(11)) * (1.0 / 9007199254740992.0)
            out[exponentials + k] = u
            total += u
    _store(state, low)
    _store(state + 8, high)
    return total


@njit(nogil=True)
def _bare_merge(a, b, repeats):
    """Merge sorted ``a`` and ``b`` (each ending in ``inf``) ``repeats`` times, branch-free; returns the subjects walked."""
    walked = 0
    for _ in range(repeats):
        i = j = 0
        while i < a.size - 1:
            take_a = np.int64(a[i] <= b[j])
            i += take_a
            j += 1 - take_a
        walked += i + j
    return walked


def merge_ns(rounds: int, repeats: int = 20_000, keys: bool = False) -> list:
    """ns per subject walked by :func:`_bare_merge`, one figure per round.

    ``keys``: merge the times' bits as integers, which keep the order of
    non-negative doubles (what the engine's log-rank pass compares).
    """
    rng = np.random.default_rng(1)
    a = np.append(np.sort(rng.random(334)), np.inf)
    b = np.append(np.sort(rng.random(276)), np.inf)
    if keys:
        a, b = a.view(np.int64), b.view(np.int64)
    _bare_merge(a, b, 1)
    figures = []
    for _ in range(rounds):
        start = time.process_time()
        walked = _bare_merge(a, b, repeats)
        figures.append((time.process_time() - start) / walked * 1e9)
    return figures


def check_pcg64() -> None:
    """The in-kernel PCG64 gives the ``Generator``'s draws and leaves its state where the ``Generator`` would."""
    ours, numpys = np.random.default_rng(5), np.random.default_rng(5)
    a, b = np.empty(sum(DRAWS)), np.empty(sum(DRAWS))
    for _ in range(50):
        _pcg64(ours, 1, *DRAWS, a)
        _generator(numpys, 1, *DRAWS, b)
        assert np.array_equal(a, b), "in-kernel PCG64 differs from the Generator"
    assert ours.bit_generator.state == numpys.bit_generator.state


def sfc64_state(seed: int) -> np.ndarray:
    state = np.random.SFC64(seed).state["state"]
    return np.array([state["state"][k] for k in range(3)] + [state["state"][3]], dtype=np.uint64)


def measure(n: int = 10_000, rounds: int = 5) -> dict:
    """Every variant's CPU time per trial (µs; ``median``, ``low``, ``high`` over the rounds), the bare merge's
    ns per subject, the analysis (``full`` minus ``draw``) and the mean looks analysed."""
    assert np.array_equal(_sfc64_raw(sfc64_state(7), 1000), np.random.SFC64(7).random_raw(1000))
    check_pcg64()
    drawn = np.empty(sum(DRAWS))
    design = survival_design(N_PER_ARM, N_PER_ARM, accrual=([0.0, 36.0], [1.0]),
                             control=([0.0], [np.log(2.0) / 30.0]), look_events=np.array([111, 223, 334]))
    bounds = z_bounds(np.array([3.716, 2.509, 1.993]), None, 1, False)
    pts, work, out = patients(2 * N_PER_ARM), workspace(2 * N_PER_ARM, 3), look_results(n, 3)
    state = sfc64_state(11)
    variants = {
        "draw": lambda rng: _steps(rng, n, design, pts, work, 0),
        "+cuts": lambda rng: _steps(rng, n, design, pts, work, 1),
        "+sort": lambda rng: _steps(rng, n, design, pts, work, 2),
        "full": lambda rng: _full(rng, n, design, bounds, pts, work, out),
        "generator": lambda rng: _generator(rng, n, *DRAWS, drawn),
        "pcg64": lambda rng: _pcg64(rng, n, *DRAWS, drawn),
        "sfc64": lambda rng: _sfc64_uniforms(state, n, sum(DRAWS)),
    }
    for call in variants.values():
        call(np.random.default_rng(0))  # compile
    times: dict = {name: [] for name in variants}
    for r in range(rounds):
        for name, call in variants.items():
            rng = np.random.default_rng(r + 1)
            start = time.process_time()
            call(rng)
            times[name].append((time.process_time() - start) / n * 1e6)
    merge = merge_ns(rounds)
    merge_keys = merge_ns(rounds, keys=True)
    summary = {name: {"median": statistics.median(v), "low": min(v), "high": max(v)} for name, v in times.items()}
    return {
        "trials": n, "rounds": rounds, "us_per_trial": summary,
        "merge_ns_per_subject": {"median": statistics.median(merge), "low": min(merge), "high": max(merge)},
        "merge_keys_ns_per_subject": {"median": statistics.median(merge_keys), "low": min(merge_keys),
                                      "high": max(merge_keys)},
        "analysis_us": summary["full"]["median"] - summary["draw"]["median"],
        "mean_looks": float((out.stop_look + 1).mean()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.sims, args.rounds)
    for name, v in result["us_per_trial"].items():
        print(f"{name:10s} {v['median']:6.2f} us per trial (range {v['low']:.2f} to {v['high']:.2f})")
    m = result["merge_ns_per_subject"]
    print(f"merge      {m['median']:6.2f} ns per subject (range {m['low']:.2f} to {m['high']:.2f})")
    m = result["merge_keys_ns_per_subject"]
    print(f"merge keys {m['median']:6.2f} ns per subject (range {m['low']:.2f} to {m['high']:.2f})")
    print(f"analysis (full - draw) {result['analysis_us']:.2f} us; mean looks analysed {result['mean_looks']:.3f}")


if __name__ == "__main__":
    main()
