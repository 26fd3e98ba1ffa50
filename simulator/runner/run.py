"""The ``run`` and ``design`` jobs as Python functions (the CLI is a thin shell)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from simulator.runner.events import load
from simulator.report import build_report, markdown
from simulator.report.html import write_html
from simulator.report.csv import write_csv
from simulator.runner.backends import check_backend
from simulator.runner.checkpoint import CheckpointStore
from simulator.runner.simulate import build_plans, simulate_scenarios
from simulator.report.build import finite_or_none


def _with_simulation_overrides(overrides, n_sims, seed, jobs):
    extra = list(overrides)
    for key, value in (("n_sims", n_sims), ("seed", seed), ("jobs", jobs)):
        if value is not None:
            extra.append(f"simulation.{key}={value}")
    return extra


def run(
    config_path, overrides=(), *, n_sims=None, seed=None, jobs=None, out=None, command="", progress=None,
    backend="threads", scheduler=None, resume=True,
) -> dict:
    """Simulate every scenario of a config and write report.json, report.md and results.csv.

    Parameters
    ----------
    config_path : str or Path
        TOML config.
    overrides : sequence of str
        ``KEY=VALUE`` overrides (``--set``).
    n_sims, seed, jobs : int, optional
        Shortcuts for ``simulation.n_sims``, ``simulation.seed``, ``simulation.jobs``.
    out : str or Path, optional
        Output folder; ``None`` writes nothing (and keeps no checkpoints).
    progress : ProgressHook, optional
        Told about finished chunks and scenarios (:mod:`simulator.runner.progress`).
    backend, scheduler : str, optional
        ``"loky"`` (local processes) or ``"dask"`` with the scheduler address
        (:mod:`simulator.runner.backends`); never changes a result.
    resume : bool
        Take finished scenarios from ``out/checkpoints/`` (written as each
        scenario finishes, :mod:`simulator.runner.checkpoint`); ``False``
        recomputes everything (``--no-resume``).

    Returns
    -------
    dict
        The report (report.json content).

    Examples
    --------
    >>> report = run("configs/cairo6.toml", n_sims=2000, seed=1)  # doctest: +SKIP
    >>> 0 <= report["scenarios"][0]["power"] <= 1                  # doctest: +SKIP
    True
    """
    start = time.perf_counter()
    check_backend(backend, scheduler)
    raw, scenarios, derived = load(config_path, _with_simulation_overrides(overrides, n_sims, seed, jobs))
    bundles = [build_plans(s) for s in scenarios]
    jobs_used = scenarios[0].config.simulation.jobs
    store = CheckpointStore(Path(out) / "checkpoints") if out is not None else None
    results, _ = simulate_scenarios(
        bundles, jobs=jobs_used, progress=progress, backend=backend, scheduler=scheduler,
        checkpoints=store, resume=resume,
    )
    first = scenarios[0].config.simulation
    report = build_report(
        raw, bundles, results, command=command, runtime_s=time.perf_counter() - start, seed=first.seed, n_sims=first.n_sims
    )
    report["meta"].update(derived)
    if out is not None:
        write_report(report, out)
    return report


def write_report(report: dict, out) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(markdown(report), encoding="utf-8")
    write_html(report, folder / "report.html")  # plots need matplotlib; a note on stderr without it
    write_csv(report, folder / "results.csv")


def design(config_path, overrides=()) -> dict:
    """Analytic operating characteristics of every scenario (no simulation)."""
    raw, scenarios, derived = load(config_path, overrides)
    out = {"meta": {"config": raw, **derived}, "scenarios": []}
    for scenario in scenarios:
        bundle = build_plans(scenario)
        endpoints = {}
        for plan in bundle.plans:
            planned = plan.planned_bounds or plan.bounds
            block = {
                "test": plan.endpoint.test,
                "efficacy_bounds": finite_or_none(planned.efficacy),
                "futility_bounds": finite_or_none(planned.futility),
                "alpha_spent": list(planned.alpha_spent),
                "nominal_p": [float(_sf(b)) for b in planned.efficacy],
                "efficacy_bounds_realised": finite_or_none(plan.bounds.efficacy),
                "planned_fractions": list(plan.looks.planned_fractions),
                "realised_fractions": list(plan.looks.realised_fractions),
                "critical_effect": plan.critical_effects(),
                "prior_p_benefit": plan.prior_p_benefit(),
                **plan.analytic(scenario.config),
                **plan.exact(),
            }
            endpoints[plan.endpoint.name] = block
        out["scenarios"].append({"params": scenario.params, "n_total": scenario.config.trial.n_total, "endpoints": endpoints})
    return out


def _sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))
