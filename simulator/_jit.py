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

A *leaf* kernel (``@kernel(leaf=True)``) is a small helper called per
patient from the loops of other kernels, that allocates nothing and calls
no kernel with arrays. It is compiled without Numba's reference counting
(``_nrt=False``) and always inlined by LLVM (``forceinline``): each array
passed to an ordinary kernel is reference counted at every call, an atomic
instruction that stalls the processor until the work in flight before it
is done, which in a loop of random draws cost more than the helper itself
(minimisation: 35 ns a patient instead of 13). Where Numba does not know
``_nrt`` (it is not a documented option), a leaf is an ordinary kernel.
"""

import numba
from numba.core.cpu import CPUTargetOptions

JIT_OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}
LEAF_OPTIONS = {"_nrt": False, "forceinline": True} if hasattr(CPUTargetOptions, "_nrt") else {}


def _compile(func, options):
    try:
        return numba.njit(**options)(func)
    except RuntimeError as err:
        if not options.get("cache") or "no locator available" not in str(err):
            raise
        return numba.njit(**{**options, "cache": False})(func)


def kernel(func=None, *, leaf=False, **overrides):
    """Compile ``func`` with the project's jit options (usable as a decorator); ``leaf``: see the module docstring."""
    options = {**JIT_OPTIONS, **(LEAF_OPTIONS if leaf else {}), **overrides}
    if func is None:
        return lambda f: _compile(f, options)
    return _compile(func, options)
