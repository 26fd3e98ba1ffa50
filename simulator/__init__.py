"""phase3-simulator: size and stress-test phase 3 trials by simulation.

The public API is :class:`Trial` (docs/api.md)::

    import simulator as p3
    trial = p3.Trial.from_toml("configs/cairo6.toml")
    res = trial.simulate(n_sims=10_000, seed=1)

The layers, from the bottom (docs/architecture.md): ``config`` (fields,
schema, TOML) -> ``stats``, ``design``, ``priors``, ``engine`` (numerics) ->
``endpoints`` (the kinds and their registry) -> ``config.validate`` /
``config.load`` -> ``runner`` -> ``report`` -> ``results``, ``api`` -> ``cli``.
"""

__version__ = "0.4.0"

import importlib  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

#: The public names and their modules, imported on first use (PEP 562): ``import simulator``
#: stays light, so that the command line can take Ctrl-C while NumPy, SciPy and Numba load.
_PUBLIC = {
    "Trial": "simulator.api",
    "InputError": "simulator.errors",
    "NotReadyError": "simulator.errors",
    "Estimate": "simulator.estimate",
    **{name: "simulator.results" for name in
       ("DesignResult", "EndpointResult", "ScenarioResult", "SimulationResult", "SizeResult")},
}


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


if TYPE_CHECKING:
    from simulator.api import Trial
    from simulator.errors import InputError, NotReadyError
    from simulator.estimate import Estimate
    from simulator.results import DesignResult, EndpointResult, ScenarioResult, SimulationResult, SizeResult

__all__ = [
    "DesignResult",
    "EndpointResult",
    "Estimate",
    "InputError",
    "NotReadyError",
    "ScenarioResult",
    "SimulationResult",
    "SizeResult",
    "Trial",
    "__version__",
]
