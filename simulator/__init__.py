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

__version__ = "0.3.0"

from simulator.api import Trial  # noqa: E402
from simulator.errors import InputError  # noqa: E402
from simulator.estimate import Estimate  # noqa: E402
from simulator.results import DesignResult, EndpointResult, ScenarioResult, SimulationResult, SizeResult  # noqa: E402

__all__ = [
    "DesignResult",
    "EndpointResult",
    "Estimate",
    "InputError",
    "ScenarioResult",
    "SimulationResult",
    "SizeResult",
    "Trial",
    "__version__",
]
