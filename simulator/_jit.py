"""One place that decides how every Numba kernel is compiled.

``cache=True`` keeps compiled machine code on disk so that a second run (and
every joblib worker process) starts without recompiling; ``error_model="numpy"``
lets a division by zero give inf/nan like NumPy instead of raising, which the
kernels guard against explicitly where it matters.
"""

import numba

JIT_OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}


def kernel(func=None, **overrides):
    """Compile ``func`` with the project's jit options (usable as a decorator)."""
    options = {**JIT_OPTIONS, **overrides}
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)
