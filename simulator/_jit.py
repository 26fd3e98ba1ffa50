"""One place that decides how every Numba kernel is compiled.

``cache=True`` keeps compiled machine code on disk so that a second run (and
every joblib worker process) starts without recompiling; ``error_model="numpy"``
lets a division by zero give inf/nan like NumPy instead of raising, which the
kernels guard against explicitly where it matters.

Where Numba has nowhere to write its cache (the package is installed
read-only and the user has no writable cache folder, as for a service
account, unless ``NUMBA_CACHE_DIR`` points somewhere writable), kernels are
compiled without a cache: every run then compiles them again (seconds), but
it runs. The results are the same either way.
"""

import numba

JIT_OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}


def _compile(func, options):
    try:
        return numba.njit(**options)(func)
    except RuntimeError as err:
        if not options.get("cache") or "no locator available" not in str(err):
            raise
        return numba.njit(**{**options, "cache": False})(func)


def kernel(func=None, **overrides):
    """Compile ``func`` with the project's jit options (usable as a decorator)."""
    options = {**JIT_OPTIONS, **overrides}
    if func is None:
        return lambda f: _compile(f, options)
    return _compile(func, options)
