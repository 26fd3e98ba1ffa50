"""Random numbers inside the patient kernels: SFC64 in registers, seeded per trial.

A survival trial of 610 patients needs about 1,800 random numbers. Drawn
through Numba's ``numpy.random.Generator`` each costs a call through the bit
generator's function pointer and a round trip of its state through memory,
about 4 ns, so they were a third of the trial. Here the kernels that draw a
trial's patients keep the state of Chris Doty-Humphrey's SFC64 generator (the
algorithm of NumPy's ``SFC64``) in local variables for a whole loop, about
1 ns a number.

Each trial seeds its own state from three uniforms of the scenario's
``Generator`` (:func:`seed_bits`, 159 bits, then twelve rounds discarded as
NumPy's ``SFC64`` does after seeding). A trial's numbers therefore depend only
on the ``Generator``'s state, as before: two calls on one ``Generator`` give
the trials of one call for the total, and a result still depends only on
(config, seed). SFC64's 64-bit counter gives every trial's stream a period
of at least 2**64, and with random 256-bit starting states the streams of
10**8 trials of a few thousand numbers do not overlap in practice.

Exponentials come from a 256-layer ziggurat (Marsaglia and Tsang, 2000) on
53 bits, the scheme and layout of NumPy's ``standard_exponential``; the
tables (``ziggurat_tables.npy``, package data) are computed from the two
published constants of the scheme in decimal arithmetic
(:func:`ziggurat_tables`): within an ulp or so of NumPy's, so that our
exponentials follow NumPy's ``Generator(SFC64)`` draw for draw within
1e-14 (tested), and against the exponential law by a chi-square test. The state lives in the four-word ``bits``
array of :class:`simulator.engine.patients.Patients` between kernels; a
kernel loads it into locals, draws, and stores it back (:func:`load`,
:func:`store`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simulator._jit import kernel

__all__ = ["exponential", "load", "next_bits", "normal", "open_uniform", "seed_bits", "store", "uniform"]

#: Ziggurat layers, the right edge of the outermost one and their common area
#: (Marsaglia and Tsang's constants for 256 layers of ``exp(-x)``).
_LAYERS = 256
_R_TEXT = "7.69711747013104972"
_AREA_TEXT = "0.0039496598225815571993"
ZIGGURAT_R = float(_R_TEXT)
_AREA = float(_AREA_TEXT)
_TWO53 = 9007199254740992.0
_TWO52 = 4503599627370496.0
#: The normal ziggurat's outer edge (NumPy's ``ziggurat_nor_r``) and pi to the digits its area needs.
_NORMAL_R_TEXT = "3.6541528853610087963519472518"
_PI_TEXT = "3.14159265358979323846264338327950288419716939937510582097494459"
NORMAL_R = float(_NORMAL_R_TEXT)


def _ziggurat(density, inverse, r, area, scale) -> np.ndarray:
    """``(k, w, f)`` of a 256-layer ziggurat of ``density`` (decreasing on [0, inf)), as rows of a ``(3, 256)`` array.

    Layer 0 is the base strip (width ``area / density(r)``, the tail beyond
    ``r`` folded into it); layers ``i >= 1`` have right edges ``x[i]``
    increasing to ``x[255] = r``, with ``density(x[i-1]) = density(x[i]) +
    area / x[i]`` (equal areas); ``f[0] = 1`` is the top. ``k``: acceptance
    thresholds on the ``scale`` bits (integers, exact in a double, rounded
    down); ``w``: layer widths per unit of ``scale``; ``f``: the density at
    each layer's edge. Arguments are ``Decimal``: each value is the exact one
    rounded once, which a recurrence in doubles is not (it drifts by up to
    3e-14).
    """
    from decimal import Decimal

    x = [Decimal(0)] * _LAYERS
    x[_LAYERS - 1] = r
    for i in range(_LAYERS - 1, 1, -1):
        x[i - 1] = inverse(area / x[i] + density(x[i]))
    x[0] = area / density(r)
    inner = [r, Decimal(0)] + x[1:_LAYERS - 1]  # the next layer in: r for the base, none for the top
    tables = np.empty((3, _LAYERS))
    for i in range(_LAYERS):
        tables[0, i] = float(int(scale * inner[i] / x[i]))
        tables[1, i] = float(x[i] / scale)
        tables[2, i] = float(density(x[i])) if i > 0 else 1.0
    return tables


def ziggurat_tables() -> np.ndarray:
    """The exponential's ``(ke, we, fe)`` on 53 bits, computed afresh in 50-digit decimal arithmetic (:func:`_ziggurat`).

    ``python -c "import numpy as np; from simulator.engine import bits; np.save('simulator/engine/ziggurat_tables.npy',
    bits.ziggurat_tables())"`` writes the file the module reads.
    """
    from decimal import Decimal, localcontext

    with localcontext() as context:
        context.prec = 50
        return _ziggurat(lambda x: (-x).exp(), lambda y: -y.ln(), Decimal(_R_TEXT), Decimal(_AREA_TEXT),
                         Decimal(2) ** 53)


def normal_ziggurat_tables() -> np.ndarray:
    """The standard normal's ``(ki, wi, fi)`` on 52 bits (a sign bit apart), in 60-digit decimal arithmetic.

    The density is ``exp(-x^2 / 2)`` (unnormalised, as the scheme needs) and
    ``r`` NumPy's (Marsaglia and Tsang's for 256 layers); the common area is
    ``r exp(-r^2 / 2)`` plus the tail beyond ``r``, ``sqrt(pi / 2)`` minus
    the integral from 0 to ``r`` by its Taylor series.
    ``python -c "import numpy as np; from simulator.engine import bits;
    np.save('simulator/engine/normal_ziggurat_tables.npy', bits.normal_ziggurat_tables())"`` writes the file.
    """
    from decimal import Decimal, localcontext

    with localcontext() as context:
        context.prec = 60
        r = Decimal(_NORMAL_R_TEXT)
        total, term, n = Decimal(0), r, 0
        while abs(term) > Decimal(10) ** -58:
            total += term / (2 * n + 1)
            n += 1
            term = -term * r * r / (2 * n)
        area = r * (-r * r / 2).exp() + (Decimal(_PI_TEXT) / 2).sqrt() - total
        return _ziggurat(lambda x: (-x * x / 2).exp(), lambda y: (-2 * y.ln()).sqrt(), r, area, Decimal(2) ** 52)


_TABLES = np.load(Path(__file__).with_name("ziggurat_tables.npy"))
KE = _TABLES[0].astype(np.uint64)
WE = np.ascontiguousarray(_TABLES[1])
FE = np.ascontiguousarray(_TABLES[2])
_NORMAL_TABLES = np.load(Path(__file__).with_name("normal_ziggurat_tables.npy"))
KI = _NORMAL_TABLES[0].astype(np.uint64)
WI = np.ascontiguousarray(_NORMAL_TABLES[1])
FI = np.ascontiguousarray(_NORMAL_TABLES[2])

_1 = np.uint64(1)
_3 = np.uint64(3)
_8 = np.uint64(8)
_11 = np.uint64(11)
_12 = np.uint64(12)
_24 = np.uint64(24)
_40 = np.uint64(40)
_MASK8 = np.uint64(0xFF)
_MASK52 = np.uint64(0x000FFFFFFFFFFFFF)


@kernel(inline="always")
def next_bits(a, b, c, w):
    """One SFC64 draw: ``(bits, a, b, c, w)`` with the new state."""
    out = a + b + w
    a = b ^ (b >> _11)
    b = c + (c << _3)
    c = ((c << _24) | (c >> _40)) + out
    return out, a, b, c, w + _1


@kernel(inline="always")
def uniform(a, b, c, w):
    """A uniform on [0, 1) from the top 53 bits: ``(u, a, b, c, w)``."""
    bits, a, b, c, w = next_bits(a, b, c, w)
    return (bits >> _11) * (1.0 / _TWO53), a, b, c, w


@kernel(inline="always")
def open_uniform(a, b, c, w):
    """A uniform on (0, 1) from the top 52 bits, ``(k + 1/2) 2^-52``: ``(u, a, b, c, w)``.

    Never 0 nor 1, and ``1 - u`` and ``1/2 - u`` are exact (they lie on the same grid).
    """
    bits, a, b, c, w = next_bits(a, b, c, w)
    return ((bits >> _12) + 0.5) * (1.0 / _TWO52), a, b, c, w


@kernel(inline="always")
def exponential(a, b, c, w):
    """A unit exponential by the ziggurat: ``(x, a, b, c, w)``.

    About 98.9 % of draws take one 64-bit number and a table compare; the
    rest test the wedge of their layer with a second uniform, or take the
    tail beyond ``r`` (memoryless: ``r`` plus a fresh exponential).
    """
    while True:
        bits, a, b, c, w = next_bits(a, b, c, w)
        bits >>= _3
        idx = bits & _MASK8
        bits >>= _8
        x = bits * WE[idx]
        if bits < KE[idx]:
            return x, a, b, c, w
        u, a, b, c, w = uniform(a, b, c, w)
        if idx == 0:
            return ZIGGURAT_R - math.log1p(-u), a, b, c, w
        if (FE[idx - 1] - FE[idx]) * u + FE[idx] < math.exp(-x):
            return x, a, b, c, w


@kernel(inline="always")
def normal(a, b, c, w):
    """A standard normal by the ziggurat: ``(x, a, b, c, w)``.

    NumPy's ``standard_normal`` on the same bits: the low 8 bits pick the
    layer, the next one the sign, the next 52 the magnitude; about 99.3 % of
    draws take one 64-bit number and a table compare, the rest test the
    wedge of their layer with a uniform, or draw the tail beyond ``r`` by
    Marsaglia's method (two uniforms a try).
    """
    while True:
        bits, a, b, c, w = next_bits(a, b, c, w)
        idx = bits & _MASK8
        bits >>= _8
        negative = (bits & _1) != 0
        magnitude = (bits >> _1) & _MASK52
        x = magnitude * WI[idx]
        if negative:
            x = -x
        if magnitude < KI[idx]:
            return x, a, b, c, w
        if idx == 0:
            while True:
                u, a, b, c, w = uniform(a, b, c, w)
                v, a, b, c, w = uniform(a, b, c, w)
                xx = -math.log1p(-u) / NORMAL_R
                yy = -math.log1p(-v)
                if yy + yy > xx * xx:
                    return (-(NORMAL_R + xx) if (magnitude >> _8) & _1 else NORMAL_R + xx), a, b, c, w
        u, a, b, c, w = uniform(a, b, c, w)
        if (FI[idx - 1] - FI[idx]) * u + FI[idx] < math.exp(-0.5 * x * x):
            return x, a, b, c, w


@kernel(inline="always")
def load(state):
    """The state held in ``state`` (four ``uint64``) as ``(a, b, c, w)``."""
    return state[0], state[1], state[2], state[3]


@kernel(inline="always")
def store(state, a, b, c, w):
    """Keep ``(a, b, c, w)`` in ``state`` for the next kernel of the trial."""
    state[0] = a
    state[1] = b
    state[2] = c
    state[3] = w


@kernel(counted=False)
def seed_bits(rng, state):
    """Seed ``state`` for one trial from three uniforms of ``rng`` (53 bits each), twelve rounds discarded."""
    a = np.uint64(rng.random() * _TWO53)
    b = np.uint64(rng.random() * _TWO53)
    c = np.uint64(rng.random() * _TWO53)
    w = _1
    for _ in range(12):
        _, a, b, c, w = next_bits(a, b, c, w)
    store(state, a, b, c, w)
