"""The command-line jobs as one-call functions for the tests, through the public API.

``run`` returns the report.json content (and writes the report when ``out``
is given), as ``p3sim run`` would; figures are drawn only when a test asks
for them (``plots=True``: the report tests), since drawing them is most of
a small run's time.
"""

from __future__ import annotations

from pathlib import Path

from simulator.api import Trial


def trial(config, overrides=()) -> Trial:
    return Trial.from_toml(config, list(overrides))


def run(config, overrides=(), *, n_sims=None, seed=None, jobs=None, out=None, backend="threads", scheduler=None,
        resume=True, progress=None, plots=False, command="") -> dict:
    result = trial(config, overrides).simulate(
        n_sims, seed, jobs, backend=backend, scheduler=scheduler, progress=progress,
        checkpoints=None if out is None else Path(out) / "checkpoints", resume=resume, command=command,
    )
    if out is not None:
        result.save(out, plots=plots)
    return result.to_dict()


def design(config, overrides=()) -> dict:
    return trial(config, overrides).design().to_dict()


def size(config, overrides=(), *, target="power", level=None, n_sims=None, seed=None, jobs=None, out=None,
         backend="threads", scheduler=None, log=None, command="") -> dict:
    result = trial(config, overrides).size(
        target, level, n_sims, seed, jobs, backend=backend, scheduler=scheduler, log=log, command=command,
    )
    if out is not None:
        result.save(out)
    return result.to_dict()
