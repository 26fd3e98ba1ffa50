"""Print, as JSON, where a ``p3sim run`` spends its wall time: imports, simulation, side samples, reports.

Run by ``benchmarks/run.py`` in a fresh interpreter (after the kernels are in
Numba's cache): the command line itself (``simulator.cli.main``, then
``exit_process`` as the console script does), with three
of its steps wrapped by timers: the chunks of every scenario
(``simulate_scenarios``), the side samples (the Kaplan-Meier bands), and the
figures (``build_plots``). Everything else is the fixed cost of a run:
imports, reading and validating the config, building the plans (designs,
alias tables), the report and its files. The compiled kernels load from
Numba's cache at their first call, inside the chunks: that load is timed
as simulation.

Usage: ``python benchmarks/_fixed_costs.py P3SIM-RUN-ARGUMENTS...``
"""

import time

start = time.perf_counter()

import json  # noqa: E402 - everything below the clock is part of the timing
import sys  # noqa: E402

import simulator.report.plots as plots  # noqa: E402
import simulator.results as results  # noqa: E402
import simulator.runner.run as run  # noqa: E402
from simulator.cli import exit_process  # noqa: E402
from simulator.cli import main as cli_main  # noqa: E402

imported = time.perf_counter()
spent = {"simulation_s": 0.0, "side_samples_s": 0.0, "figures_s": 0.0}


def timed(key, function):
    def wrapper(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - begin
    return wrapper


run.simulate_scenarios = timed("simulation_s", run.simulate_scenarios)
results.build_plots = timed("figures_s", results.build_plots)
_plan_for = run.build_plans


def _timed_plans(scenario, **kwargs):
    bundle = _plan_for(scenario, **kwargs)
    for plan in bundle.plans:
        object.__setattr__(plan, "side_results", timed("side_samples_s", plan.side_results)) \
            if not hasattr(type(plan), "__slots__") else None
    return bundle


run.build_plans = _timed_plans
assert plots  # imported so that the figures module's own imports are part of the import time

code = cli_main(sys.argv[1:])
total = time.perf_counter() - start
print(json.dumps({"returncode": code, "wall_in_process_s": total, "import_s": imported - start, **spent,
                  "outside_simulation_s": total - spent["simulation_s"] - spent["side_samples_s"]}))
exit_process(code)  # as the console script ends (without the interpreter's teardown: simulator.cli)
