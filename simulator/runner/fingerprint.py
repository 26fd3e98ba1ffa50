"""The code fingerprint: what a checkpoint and a Dask worker must share with this process.

A digest of every source file of the ``simulator`` package and of the
Python, NumPy and Numba versions (the samplers and the compiler decide the
numbers too), computed once per process.
"""

from __future__ import annotations

import functools
import hashlib
import platform
from pathlib import Path

import numba
import numpy as np


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of every source file of the ``simulator`` package (computed once per process)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    # Counts depend on the libraries' samplers and compilers too.
    for version in (platform.python_version(), np.__version__, numba.__version__):
        digest.update(version.encode("utf-8") + b"\0")
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
