"""The survival designs of the benchmark, our timings of them and our analytic values.

Designs (the issue's reference scenario): two arms 1:1, N = 610 (305 per
arm), exponential control survival with a median of 30 months, hazard ratio
0.7 (experimental / control), uniform accrual over 36 months, no dropout,
the log-rank test, one-sided alpha 0.025:

- ``fixed``: one analysis at 334 events;
- ``group_sequential``: looks at 111, 223 and 334 events, Lan-DeMets
  O'Brien-Fleming (``asOF``) bounds at the event fractions 111/334, 223/334, 1
  (3.716, 2.509, 1.993; the equally spaced 3.710, 2.511, 1.993 are for
  fractions 1/3, 2/3);
- ``assurance``: the group-sequential design with a log-normal prior on the
  hazard ratio, centred on 0.70 with a 95 % interval of 0.50 to 0.98.

Each design is a TOML text: validated by :func:`simulator.config.validate.validate`
and built into a :class:`simulator.endpoints.survival.SurvivalPlan` here, or
written to a file for ``p3sim run``.
"""

from __future__ import annotations

import math
import time
import tomllib
from pathlib import Path

import numpy as np
from scipy import stats

import _kernels
from simulator.config.validate import validate
from simulator.design.survival import schoenfeld_events, survival_sample_size, time_for_events
from simulator.endpoints.survival import SurvivalPlan
from simulator.stats.decision import REJECT_FAVOURABLE

#: The scenario's numbers, shared with the rpact side.
HAZARD_RATIO = 0.7
CONTROL_MEDIAN = 30.0
ACCRUAL = 36.0
N_TOTAL = 610
ALPHA = 0.025
POWER = 0.8
LOOK_EVENTS = {"fixed": (334,), "group_sequential": (111, 223, 334), "assurance": (111, 223, 334)}
#: The prior of the assurance design: log-normal, 95 % interval 0.50 to 0.98 around 0.70.
PRIOR = {"estimate": 0.70, "lower": 0.50, "upper": 0.98, "level": 0.95}
#: Trials in the warm-up call that triggers compilation or the cache load.
WARM_UP = 200

LABELS = {
    "fixed": "fixed, 334 events",
    "group_sequential": "3 looks asOF, 111/223/334 events",
    "assurance": "3 looks asOF, prior on the HR",
}


def toml_text(name: str) -> str:
    """The config of design ``name`` (a key of :data:`LOOK_EVENTS`)."""
    events = LOOK_EVENTS[name]
    prior = ""
    if name == "assurance":
        fields = ", ".join(f"{k} = {v}" for k, v in PRIOR.items())
        prior = f"\n[endpoints.os.prior]\nhazard_ratio = {{ {fields} }}\n"
    return f"""\
# Written by benchmarks/run.py: the survival benchmark design "{name}".
[trial]
name = "survival benchmark ({name})"
arms = ["control", "experimental"]
allocation = [1, 1]
n_total = {N_TOTAL}

[endpoints.os]
kind = "survival"
test = "logrank"

[endpoints.os.truth]
control = {{ median = {CONTROL_MEDIAN} }}
hazard_ratio = {HAZARD_RATIO}
{prior}
[endpoints.os.accrual]
duration = {ACCRUAL}

[design]
alpha = {ALPHA}
sided = 1
power = {POWER}
look_events = [{", ".join(str(e) for e in events)}]
efficacy = "asOF"

[simulation]
n_sims = 100000
seed = 20250702
jobs = 1
"""


def make_plan(name: str):
    """The validated config and the :class:`SurvivalPlan` of design ``name``."""
    config = validate(tomllib.loads(toml_text(name)))
    return config, SurvivalPlan.from_config(config, config.endpoints[0])


def write_config(folder: Path, name: str) -> Path:
    """Write design ``name`` as ``folder/survival_NAME.toml`` (for ``p3sim run``)."""
    path = Path(folder) / f"survival_{name}.toml"
    path.write_text(toml_text(name), encoding="utf-8")
    return path


def throughput(plan, n_sims: int, stream: str = "power", repeats: int = 3, seed: int = 3) -> dict:
    """Trials per second of ``plan.simulate`` by CPU time (median of the repeats), and the pooled estimate.

    Only the ``simulate`` call is timed (one thread, after a warm-up call),
    by ``time.process_time``. Each repeat has its own generator
    (``default_rng([seed, repeat])``), so the repeats are independent trials
    and their successes are pooled: the estimate rests on
    ``n_sims * repeats`` trials.
    """
    plan.simulate(np.random.default_rng(seed), WARM_UP, stream)
    times, successes, looks, events = [], 0, 0.0, 0.0
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        start = time.process_time()
        trials, _ = plan.simulate(rng, n_sims, stream)
        times.append(time.process_time() - start)
        successes += int(np.count_nonzero(trials.decision == REJECT_FAVOURABLE))
        looks += float(trials.stop_look.sum() + n_sims)
        events += float(trials.events.sum())
    median, pooled = float(np.median(times)), n_sims * repeats
    estimate = successes / pooled
    return {
        "n_sims": n_sims, "repeats": repeats, "clock": "CPU time (time.process_time), one thread",
        "seconds": times, "best_s": min(times), "median_s": median, "trials_per_s": n_sims / median,
        "us_per_trial": 1e6 * median / n_sims,
        "stream": stream, "pooled_sims": pooled, "estimate": estimate,
        "mcse": math.sqrt(estimate * (1.0 - estimate) / pooled),
        "mean_looks": looks / pooled, "mean_events": events / pooled,
    }


def round_function(plan, n_sims: int, stream: str = "power", seed: int = 5):
    """One CPU-timed round of ours, ``round(r) -> dict``, after a warm-up call that compiles.

    A round simulates ``n_sims`` trials twice, one thread: through
    ``SurvivalPlan.simulate`` (the kernel: entries, exits, cuts, log-rank,
    decisions) and through ``run_chunk`` (what the runner calls per chunk:
    the same plus the per-look counts and summaries).
    """
    plan.simulate(np.random.default_rng(seed), WARM_UP, stream)
    plan.run_chunk(np.random.default_rng(seed), WARM_UP, stream)

    def one_round(r: int) -> dict:
        kernel_s, kernel_wall, _ = _kernels.cpu_seconds(plan.simulate, (seed, r, 0), 1, stream, size=n_sims)
        chunk_s, chunk_wall, won = _kernels.cpu_seconds(plan.run_chunk, (seed, r, 1), 1, stream,
                                                        _kernels.successes, size=n_sims)
        return {"n_sims": n_sims, "stream": stream, "cpu_s": {"kernel": kernel_s, "chunk": chunk_s},
                "wall_s": {"kernel": kernel_wall, "chunk": chunk_wall}, "successes": won}

    return one_round


def analytic(plan, config) -> dict:
    """Our values for what rpact's getPowerSurvival and getSampleSizeSurvival print.

    ``power_*``: at the configured events and N (``SurvivalPlan.analytic``).
    ``size_*``: the events for ``design.power`` (:func:`schoenfeld_events`,
    times the inflation factor of the bounds), and, for the same N = 610,
    the follow-up that brings them (:func:`time_for_events`) and the look
    times of :func:`survival_sample_size` with that follow-up (whose
    subjects come back as N: a round trip).
    """
    ours = plan.analytic(config)
    model = plan.model(plan.truth)  # the plan's own translation of its config for simulator.design.survival
    sequential = plan.planned_bounds.sequential
    inflation = 1.0 if sequential is None else float(sequential.inflation_factor)
    events = schoenfeld_events(plan.truth, alpha=plan.alpha, power=config.design.power, sided=plan.sided,
                               allocation=config.trial.allocation, inflation=inflation)
    accrual_end = float(model["accrual"][0][-1])
    follow_up = time_for_events(events, float(config.trial.n_total), **model) - accrual_end
    size = survival_sample_size(
        plan.truth, follow_up=follow_up, alpha=plan.alpha, power=config.design.power, sided=plan.sided,
        inflation=inflation, fractions=plan.looks.planned_fractions,
        **{k: v for k, v in model.items() if k != "hazard_ratio"},
    )
    times = ours["analysis_times_at_n_total"]
    out = {
        "power": ours["power"],
        "power_followup": times[-1] - accrual_end,
        **{f"power_time_{k + 1}": t for k, t in enumerate(times)},
        "size_events": float(size.events),
        "size_followup": follow_up,
        "size_subjects_round_trip": float(size.subjects),
        **{f"size_time_{k + 1}": float(t) for k, t in enumerate(size.analysis_times)},
    }
    if sequential is not None:
        out["power_expected_events"] = ours["expected_events_h1"]
        out["size_expected_events_h1"] = float(size.events) * float(sequential.expected_fraction_h1)
    return out


def prior_assurance(plan, nodes: int = 60) -> float:
    """Schoenfeld's power averaged over the log-normal prior on the HR (Gauss-Hermite).

    The analytic counterpart of the simulated assurance, up to Schoenfeld's
    approximation (a few thousandths, see docs/validation.md).
    """
    hr = plan.prior.hazard_ratio
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    control, experimental = plan.config.trial.allocation
    r = experimental / control
    events = float(plan.looks.events[-1])
    drifts = -(hr.log_mean + hr.log_sd * x) * math.sqrt(events * r) / (1 + r)
    sequential = plan.bounds.sequential
    if sequential is None:
        powers = stats.norm.cdf(drifts - plan.bounds.efficacy[-1])
    else:
        powers = np.array([sequential.probabilities(float(d)).power for d in drifts])
    return float(np.dot(w, powers))
