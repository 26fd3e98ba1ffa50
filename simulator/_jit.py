"""One place that decides how every Numba kernel is compiled.

``cache=True`` keeps compiled machine code on disk so that a second run (and
every joblib worker process) starts without recompiling; ``error_model="numpy"``
lets a division by zero give inf/nan like NumPy instead of raising, which the
kernels guard against explicitly where it matters.

Where Numba has nowhere to write its cache (the package is installed
read-only and the user has no writable cache folder, as for a service
account) and ``NUMBA_CACHE_DIR`` is not set, the kernels are cached, on
POSIX systems, in a folder of this user's own in the temporary directory
(``p3sim-numba-cache-UID``), so that only the first run compiles them and
worker processes load them from there. Numba loads machine code from that
folder, so it is used only if it is a folder (not a link) that this user
owns, that nobody else can write to (it is created so), in a temporary
directory that others cannot rename it out of (sticky, or not writable by
others). Otherwise, on Windows, where the cache folder set by
``NUMBA_CACHE_DIR`` cannot be written, or where the folder cannot be
created, kernels are compiled without a cache: every run then compiles them
again (seconds), but it runs. The results are the same either way.

Reference counting. Numba counts the references to every array a kernel
receives, each array of a named tuple included: at every call, an atomic
increment on entry and a decrement on return, which stall the processor
until the work in flight before them is done. A call with the survival
tuples costs about 0.2 us that way, and a loop of random draws calling a
helper with three arrays per patient ran at 35 ns a patient instead of 13.
Two kinds of kernel are therefore compiled without it (``_nrt=False``):

- ``@kernel(counted=False)``: a kernel called once or a few times per
  trial with the tuples, that allocates nothing. Numba refuses to compile
  one that allocates, and the kernels it calls inherit the setting unless
  they set it themselves, so nothing it reaches may allocate either; the
  caller's arrays outlive the call, so nothing needs counting.
- ``@kernel(leaf=True)``: a small helper called per patient from the
  loops of other kernels, allocating nothing; also always inlined by LLVM
  (``forceinline``).

Where Numba does not know ``_nrt`` (it is not a documented option), these
are ordinary kernels: slower, with the same results.
"""

import functools
import os
import stat
import tempfile
import threading

import numba
from numba.core.cpu import CPUTargetOptions

JIT_OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}
UNCOUNTED_OPTIONS = {"_nrt": False} if hasattr(CPUTargetOptions, "_nrt") else {}
LEAF_OPTIONS = {**UNCOUNTED_OPTIONS, "forceinline": True} if UNCOUNTED_OPTIONS else {}


def _no_locator(err: RuntimeError) -> bool:
    return "no locator available" in str(err)


@functools.lru_cache(maxsize=1)
def private_cache_folder() -> str | None:
    """This user's fallback cache folder (module docstring), or ``None`` where there is none to trust.

    Created with mode 0700. An existing one is used only if it is a folder
    (not a link) owned by this (effective) user, writable by no one else,
    in a temporary directory owned by this user or root that others cannot
    rename entries of (sticky, or writable by no one else).
    """
    if not hasattr(os, "geteuid"):  # Windows: no owner and mode to check a shared folder by
        return None
    user = os.geteuid()
    try:
        parent = tempfile.gettempdir()
        folder = os.path.join(parent, f"p3sim-numba-cache-{user}")
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        info, above = os.lstat(folder), os.stat(parent)
    except OSError:
        return None
    others = stat.S_IWGRP | stat.S_IWOTH
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != user or info.st_mode & others:
        return None
    if above.st_uid not in (user, 0) or (above.st_mode & others and not above.st_mode & stat.S_ISVTX):
        return None
    return folder


#: Held while ``numba.config.CACHE_DIR`` points at the fallback folder (:func:`_compile`).
_CACHE_DIR_LOCK = threading.Lock()


def _compile(func, options):
    try:
        return numba.njit(**options)(func)
    except RuntimeError as err:
        if not options.get("cache") or not _no_locator(err):
            raise
    # A NUMBA_CACHE_DIR the user set is theirs: where Numba cannot use it, nothing is cached elsewhere.
    folder = None if numba.config.CACHE_DIR else private_cache_folder()
    if folder is not None:
        # Numba's own locator for NUMBA_CACHE_DIR, pointed at the fallback folder while this kernel is set up
        # (the locator keeps its path), so that other packages' settings are left as they were.
        with _CACHE_DIR_LOCK:
            previous = numba.config.CACHE_DIR
            numba.config.CACHE_DIR = folder
            try:
                return numba.njit(**options)(func)
            except RuntimeError as err:
                if not _no_locator(err):
                    raise
            finally:
                numba.config.CACHE_DIR = previous
    return numba.njit(**{**options, "cache": False})(func)


def kernel(func=None, *, leaf=False, counted=True, **overrides):
    """Compile ``func`` with the project's jit options (usable as a decorator).

    ``leaf`` and ``counted=False``: without reference counting (module docstring).
    """
    options = {**JIT_OPTIONS, **(LEAF_OPTIONS if leaf else {}), **({} if counted else UNCOUNTED_OPTIONS), **overrides}
    if func is None:
        return lambda f: _compile(f, options)
    return _compile(func, options)
