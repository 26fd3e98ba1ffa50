"""phase3-simulator: size and stress-test phase 3 trials by simulation.

The flow of a run follows the folders: ``config`` (TOML -> validated
dataclasses) -> ``design`` (analytic, no randomness) and ``priors`` ->
``engine`` (Numba kernels) tied together per endpoint kind in ``endpoints``
-> ``runner`` (scenarios, seeds, parallel chunks) -> ``report``.
"""

__version__ = "0.1.0"
