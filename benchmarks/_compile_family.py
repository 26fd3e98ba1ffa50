"""Print, as JSON, how long a fresh interpreter takes to simulate its first trials of one kernel family.

Run by ``benchmarks/run.py`` in a subprocess, twice per family, with
``NUMBA_CACHE_DIR`` pointing at a temporary folder of that family's own:
empty the first time (the first ``Trial.simulate`` compiles every kernel the
family needs: the trial engine, its decisions and side samples), filled the
second (the same call loads machine code from the cache, which is what
every later run pays).

Usage: ``python benchmarks/_compile_family.py FAMILY`` (a key of :data:`FAMILIES`).
"""

import time

start = time.perf_counter()

import json  # noqa: E402 - everything below the clock is part of the timing
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from simulator.api import Trial  # noqa: E402

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

#: Family -> (config file in configs/, overrides): one run touches every kernel of the family.
FAMILIES = {
    "binary (group-sequential)": ("rates_group_sequential.toml", []),
    "binary adaptive (re-estimation)": ("rates_adaptive.toml", []),
    "continuous": ("continuous_qol.toml", []),
    "survival (log-rank, dropout, Kaplan-Meier bands)": ("cairo6_os.toml", []),
    "survival, MaxCombo": ("cairo6_os.toml", ['endpoints.os.test="maxcombo"', "design.looks=1"]),
    "survival, strata and minimisation": ("cairo6_os.toml", [
        'trial.randomisation="minimisation"', "strata.site.share=[0.5, 0.5]",
        "strata.site.hazard_multiplier=[1.0, 1.5]", "endpoints.os.stratified=true"]),
    "joint (CAIRO6: two binary endpoints and survival)": ("cairo6.toml", []),
}


def main(family: str) -> dict:
    """Seconds for the imports, the config and the first two ``Trial.simulate`` calls (4 trials each)."""
    name, overrides = FAMILIES[family]
    imported = time.perf_counter()
    trial = Trial.from_toml(CONFIGS / name, overrides)
    built = time.perf_counter()
    trial.simulate(n_sims=4, jobs=1)
    first = time.perf_counter()
    trial.simulate(n_sims=4, jobs=1, seed=2)
    second = time.perf_counter()
    return {"import_s": imported - start, "config_s": built - imported, "first_call_s": first - built,
            "second_call_s": second - first}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
