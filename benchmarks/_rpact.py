"""rpact side by side: the same design simulated and computed by R's rpact.

rpact is not a dependency of the package or its tests; this module runs only
when ``Rscript`` can load rpact, and otherwise says why it skipped.

Orientation: rpact's group 1 is the treatment (``pi1``) and its default
direction is "higher is better". Our designs are passed to it on the
oriented scale the kernels use, so the harm 0.33 (control) vs 0.22
(experimental), lower is better, becomes ``pi1 = 0.78, pi2 = 0.67``.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import statistics
import subprocess
from decimal import Decimal, InvalidOperation
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "rpact_rates.R"
SURVIVAL_SCRIPT = Path(__file__).resolve().parent / "rpact_survival.R"
MEANS_SCRIPT = Path(__file__).resolve().parent / "rpact_means.R"

#: Agreement of two Monte Carlo estimates: within this many joint standard errors.
MC_TOLERANCE = 4.0


@functools.cache
def availability() -> str | None:
    """``None`` when Rscript can load rpact, else the reason to skip (probed once per process)."""
    if shutil.which("Rscript") is None:
        return "Rscript not found (install R and rpact, e.g. `apt-get install r-cran-rpact`)"
    probe = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(rpact))"], capture_output=True, text=True, timeout=120
    )
    if probe.returncode != 0:
        return "R cannot load rpact: " + (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
    return None


def _rates_args(plan, config, iterations: int, exact: bool) -> dict:
    """The ``key=value`` arguments of :data:`SCRIPT` for a binary plan.

    ``plan`` supplies the oriented rates, the cumulative subjects per look
    (realised, whole patients) and alpha; ``config`` the spending function
    (``design.efficacy``, rpact's own codes) and the target power of the
    sample size; ``iterations`` is ``maxNumberOfIterations`` per round;
    ``exact`` simulates rpact's exact (Fisher) test instead of the normal
    approximation.
    """
    p_c, p_e = plan.truth
    return {
        "pi1": p_e, "pi2": p_c,
        "subjects": ",".join(str(int(n)) for n in plan.looks.enrolled_total),
        "kmax": len(plan.looks.enrolled_total), "design": config.design.efficacy,
        "alpha": plan.alpha, "beta": 1.0 - config.design.power,
        "iterations": iterations, "exact": int(exact),
    }


def _number(text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def printed_digits(text: str) -> int | None:
    """Decimal places of a number as rpact printed it (``"514.9"`` -> 1)."""
    try:
        exponent = Decimal(str(text)).as_tuple().exponent
    except InvalidOperation:
        return None
    return max(0, -exponent) if isinstance(exponent, int) else None


def agrees_as_printed(ours: float, printed) -> dict:
    """Whether ``ours``, rounded as rpact printed its value, reads the same."""
    digits = printed_digits(printed)
    if digits is None:
        return {"ours": ours, "rpact_printed": printed, "agrees": None}
    ours_printed = f"{ours:.{digits}f}"
    return {
        "ours": ours,
        "ours_printed": ours_printed,
        "rpact_printed": str(printed),
        "agrees": Decimal(ours_printed) == Decimal(str(printed)),
    }


def mc_agreement(ours: float, ours_n: int, theirs: float, theirs_n: int) -> dict:
    """Difference of two simulated probabilities in joint Monte Carlo standard errors."""
    se_ours = math.sqrt(ours * (1.0 - ours) / ours_n)
    se_theirs = math.sqrt(theirs * (1.0 - theirs) / theirs_n)
    joint = math.hypot(se_ours, se_theirs)
    difference = ours - theirs
    return {
        "ours": ours, "ours_mcse": se_ours, "rpact": theirs, "rpact_mcse": se_theirs,
        "difference": difference, "joint_mcse": joint,
        "z": difference / joint if joint > 0 else 0.0,
        "tolerance": MC_TOLERANCE * joint,
        "agrees": abs(difference) <= MC_TOLERANCE * joint,
    }


def _timing_and_power(rpact: dict, ours: dict, ours_sims: int, repeats: int, rpact_sims: int | None = None) -> dict:
    """rpact's throughput beside ours, and the agreement of the simulated powers.

    ``rpact["sim_seconds"]`` is the time of one simulation of
    ``rpact["sim_iterations"]`` trials (the best, or the median, of
    ``repeats``); ``rpact_sims`` is the number of trials behind
    ``rpact["sim_power"]`` when it pools several simulations (default: one).
    """
    rpact_rate = rpact["sim_iterations"] / rpact["sim_seconds"] if rpact["sim_seconds"] > 0 else math.inf
    rpact_sims = rpact["sim_iterations"] if rpact_sims is None else rpact_sims
    return {
        "rpact_version": rpact["rpact_version"],
        "r_version": rpact["r_version"],
        "rpact_trials_per_s": rpact_rate,
        "rpact_seconds": rpact["sim_seconds"],
        "rpact_iterations": rpact["sim_iterations"],
        "rpact_repeats": repeats,
        "ours_trials_per_s": ours["trials_per_s"],
        "speed_ratio": ours["trials_per_s"] / rpact_rate,
        "power_simulated": mc_agreement(ours["estimate"], ours_sims, rpact["sim_power"], rpact_sims),
    }


def rounds_summary(run: dict) -> dict:
    """Per-trial CPU times of alternated rounds and their ratios: medians and ranges.

    ``run`` is what :func:`alternate_with_rpact` returns, with our rounds as
    ``{"n_sims", "cpu_s": {what: seconds}, ...}`` and rpact's with
    ``sim_cpu_s`` for ``sim_iterations`` trials. For each ``what`` (kernel,
    chunk, end to end, ...) the ratio of round ``r`` is rpact's CPU time per
    trial in round ``r`` over ours in round ``r``: both measured back to
    back, under the same load.
    """
    ours, theirs = run["ours"], run["rpact"]
    rpact_ns = [1e9 * r["sim_cpu_s"] / r["sim_iterations"] for r in theirs]
    out = {
        "clock": "CPU time: time.process_time() (one thread) or the child's user + system time here; "
                 "proc.time() user + system in R",
        "rounds": len(ours),
        "rpact_ns_per_trial": {"median": statistics.median(rpact_ns), "min": min(rpact_ns), "max": max(rpact_ns),
                               "rounds": rpact_ns},
        "ours_ns_per_trial": {},
        "ratio": {},
        "load_average": run["load_average"],
    }
    for what in ours[0]["cpu_s"]:
        ns = [1e9 * r["cpu_s"][what] / r["n_sims"] for r in ours]
        ratios = [theirs_ns / ours_ns for theirs_ns, ours_ns in zip(rpact_ns, ns, strict=True)]
        out["ours_ns_per_trial"][what] = {"median": statistics.median(ns), "min": min(ns), "max": max(ns),
                                          "rounds": ns}
        out["ratio"][what] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
                              "rounds": ratios}
    return out


def rates_side_by_side(plan, config, ours_round, rounds: int, iterations: int, exact: bool = False,
                       seed: int = 1) -> dict:
    """rpact's ``getSimulationRates`` next to ours, by CPU time, alternated round by round.

    Parameters
    ----------
    plan, config
        Our binary plan and its config (for the analytic values).
    ours_round : callable
        ``ours_round(r) -> {"n_sims", "cpu_s": {what: s}, "wall_s": {what: s}, "successes"}``
        (see :func:`_kernels.round_function`; ``successes`` may be None).
    rounds : int
        Alternated rounds (ours, then rpact's).
    iterations : int
        rpact's ``maxNumberOfIterations`` per round.
    exact : bool
        Compare Fisher's exact test (no analytic counterpart is compared).

    Returns
    -------
    dict
        :func:`rounds_summary`, the rounds themselves, the simulated powers
        (rounds pooled) with their agreement in joint MCSE, and for the
        normal approximation the analytic power and sizes as rpact prints them.
    """
    run = alternate_with_rpact(SCRIPT, _rates_args(plan, config, iterations, exact), ours_round, rounds, seed)
    final = run["final"]
    result = {
        "order": "each round: ours (as listed in cpu_s), then rpact (one R session, seeds 1, 2, ...)",
        "rpact_version": final["rpact_version"], "r_version": final["r_version"],
        "rpact_iterations": iterations,
        **rounds_summary(run),
        "ours_rounds": run["ours"], "rpact_rounds": run["rpact"],
    }
    theirs = statistics.fmean(r["sim_power"] for r in run["rpact"])
    if all(r.get("successes") is not None for r in run["ours"]):
        n_ours = sum(r["n_sims"] for r in run["ours"])
        estimate = sum(r["successes"] for r in run["ours"]) / n_ours
        result["power_simulated"] = mc_agreement(estimate, n_ours, theirs, iterations * rounds)
    if not exact:
        analytic = plan.analytic(config)
        result["power_analytic"] = agrees_as_printed(analytic["power"], final["power_printed"])
        result["n_for_power_analytic"] = agrees_as_printed(analytic["n_total_design"], final["n_printed"])
        if "expected_n_printed" in final and "expected_n_h1" in analytic:
            result["expected_n_analytic"] = agrees_as_printed(analytic["expected_n_h1"], final["expected_n_printed"])
    return result


# ------------------------------------------------------------------ survival
def _survival_args(plan, config, iterations: int) -> dict:
    """The ``key=value`` arguments of :data:`SURVIVAL_SCRIPT` for a survival plan.

    ``plan`` supplies the hazard ratio (experimental / control: rpact's
    ``hazardRatio``, with ``directionUpper = FALSE`` for a benefit), the
    events per look and alpha; control survival must be exponential and
    accrual uniform, as in the benchmark designs. ``config`` supplies N, the
    accrual time, the control median, the spending function and the target
    power; ``iterations`` is ``maxNumberOfIterations`` per round.
    """
    endpoint = plan.endpoint
    control, accrual = endpoint.truth.control, endpoint.accrual
    if len(control.hazards) != 1 or len(accrual.rates) != 1 or any(endpoint.dropout):
        raise ValueError("the rpact survival comparison takes exponential survival, uniform accrual, no dropout")
    return {
        "hr": plan.truth, "median2": math.log(2.0) / control.hazards[0], "accrual": accrual.edges[-1],
        "subjects": config.trial.n_total, "events": ",".join(str(int(e)) for e in plan.looks.events),
        "design": config.design.efficacy, "alpha": plan.alpha, "beta": 1.0 - config.design.power,
        "iterations": iterations,
    }


def _numbers(value) -> list[float]:
    """A comma-separated line of the R script as floats (one number comes back parsed already)."""
    return [float(v) for v in str(value).split(",")]


#: What is compared with rpact's analytic survival functions: (key, rpact function, what).
SURVIVAL_ANALYTIC = (
    ("power", "getPowerSurvival", "power"),
    ("power_expected_events", "getPowerSurvival", "expected events"),
    ("power_time_*", "getPowerSurvival", "analysis times"),
    ("power_followup", "getPowerSurvival", "follow-up"),
    ("size_events", "getSampleSizeSurvival", "events for 80 % power"),
    ("size_expected_events_h1", "getSampleSizeSurvival", "expected events under H1"),
    ("size_time_*", "getSampleSizeSurvival", "analysis times"),
    ("size_followup", "getSampleSizeSurvival", "follow-up"),
)


def survival_side_by_side(plan, config, ours_round, ours_analytic: dict, rounds: int, iterations: int,
                           seed: int = 1) -> dict:
    """rpact's survival simulation and analytic values next to ours, by CPU time, alternated.

    Parameters
    ----------
    plan, config
        Our plan and its config.
    ours_round : callable
        ``ours_round(r) -> {"n_sims", "cpu_s": {what: s}, "successes"}``
        (see :func:`_survival.round_function`).
    ours_analytic : dict
        Our analytic values (see :func:`_survival.analytic`), keyed as the
        ``*_value`` / ``*_printed`` lines of the R script.
    rounds, iterations
        Alternated rounds (ours, then rpact's) and rpact's simulated trials per round.
    """
    run = alternate_with_rpact(SURVIVAL_SCRIPT, _survival_args(plan, config, iterations), ours_round, rounds, seed)
    final, theirs = run["final"], run["rpact"]
    critical = _numbers(final["critical_values"])
    ours_bounds = [float(b) for b in plan.bounds.efficacy]
    n_ours = sum(r["n_sims"] for r in run["ours"])
    estimate = sum(r["successes"] for r in run["ours"]) / n_ours
    result = {
        "order": "each round: ours (as listed in cpu_s), then rpact (one R session, seeds 1, 2, ...)",
        "rpact_version": final["rpact_version"], "r_version": final["r_version"],
        "rpact_iterations": iterations,
        **rounds_summary(run),
        "ours_rounds": run["ours"], "rpact_rounds": theirs,
        "power_simulated": mc_agreement(estimate, n_ours, statistics.fmean(r["sim_power"] for r in theirs),
                                        iterations * rounds),
        "rpact_sim_expected_events": statistics.fmean(r["sim_expected_events"] for r in theirs),
        "rpact_sim_reject_per_stage": [statistics.fmean(v) for v in
                                       zip(*(_numbers(r["sim_reject_per_stage"]) for r in theirs), strict=True)],
        "rpact_sim_analysis_times": [statistics.fmean(v) for v in
                                     zip(*(_numbers(r["sim_analysis_times"]) for r in theirs), strict=True)],
        "bounds": {"ours": ours_bounds, "rpact": critical,
                   "max_abs_difference": max(abs(a - b) for a, b in zip(ours_bounds, critical, strict=True))},
        "analytic": {},
    }
    for pattern, function, what in SURVIVAL_ANALYTIC:
        wildcard = pattern.endswith("*")
        keys = sorted(k for k in ours_analytic if k == pattern or (wildcard and k.startswith(pattern[:-1])))
        checks = [
            {"key": key, **agrees_as_printed(ours_analytic[key], final[f"{key}_printed"]),
             "rpact_value": final[f"{key}_value"]}
            for key in keys if f"{key}_printed" in final
        ]
        if checks:
            result["analytic"].setdefault(function, []).append(
                {"what": what, "checks": checks, "agrees": all(c["agrees"] for c in checks)})
    return result


# ------------------------------------------------------------------ means
def _means_args(plan, config, iterations: int) -> dict:
    """The ``key=value`` arguments of :data:`MEANS_SCRIPT` for a continuous plan."""
    truth, endpoint = plan.truth, plan.endpoint
    if (truth is None or endpoint.test != "t" or endpoint.rho != 0 or endpoint.margin != 0
            or not math.isclose(truth.sd_c, truth.sd_e) or plan.sided != 1):
        raise ValueError("the rpact means comparison takes Student's t, equal SDs, no covariate, no margin, one-sided")
    return {
        # Oriented: rpact's default direction is "higher is better", its group 1 the treatment.
        "alternative": plan.sign * (truth.mean_e - truth.mean_c), "stdev": truth.sd_c,
        "subjects": ",".join(str(int(n)) for n in plan.looks.enrolled_total),
        "kmax": len(plan.looks.enrolled_total), "design": config.design.efficacy, "alpha": plan.alpha,
        "iterations": iterations, "normal": 0,
    }


def _read_block(process) -> dict:
    """``key=value`` lines from the R session up to ``end`` (or the end of its output)."""
    values = {}
    for line in process.stdout:
        line = line.strip()
        if line == "end":
            break
        if "=" in line:
            key, value = line.split("=", 1)
            values[key] = value.strip() if key.endswith("_printed") else _number(value)
    return values


def alternate_with_rpact(script: Path, args: dict, ours_round, rounds: int, seed: int = 1) -> dict:
    """Rounds of ours and of rpact, alternated in one run: ours, then rpact, ``rounds`` times.

    rpact runs in one R session for all rounds (``script`` loads rpact, warms
    up, prints ``ready``, then simulates one round per seed read from stdin
    and reports its own CPU time). ``ours_round(r)`` times round ``r`` of
    ours in this process. Alternating the two exposes both to the same load
    from other processes, which a shared machine needs.

    Returns
    -------
    dict
        ``ours`` and ``rpact``: the rounds as measured (rpact's with seed
        ``seed + r``); ``final``: what the script prints when stdin closes;
        ``load_average``: before and after.
    """
    command = ["Rscript", str(script), *(f"{k}={v}" for k, v in args.items())]
    load_before = list(os.getloadavg())
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, bufsize=1) as process:
        try:
            ready = process.stdout.readline().strip()
            if ready != "ready":
                raise RuntimeError(f"{script.name} did not start: {ready!r} {process.stderr.read()[-500:]}")
            ours, theirs = [], []
            for r in range(rounds):
                ours.append(ours_round(r))
                process.stdin.write(f"{seed + r}\n")
                process.stdin.flush()
                block = _read_block(process)
                if "sim_cpu_s" not in block:
                    raise RuntimeError(f"{script.name} failed in round {r}: {process.stderr.read()[-500:]}")
                theirs.append({"seed": seed + r, **block})
            process.stdin.close()
            final = _read_block(process)
            if process.wait(timeout=120) != 0:
                raise RuntimeError(f"{script.name} failed:\n{process.stderr.read()[-500:]}")
        except BaseException:
            process.kill()
            raise
    return {"ours": ours, "rpact": theirs, "final": final, "load_average": [load_before, list(os.getloadavg())]}


def means_side_by_side(plan, config, ours_round, rounds: int, iterations: int, seed: int = 1) -> dict:
    """rpact's ``getSimulationMeans`` next to ours, by CPU time, alternated, median of rounds.

    Parameters
    ----------
    plan, config
        A continuous plan (Student's t, equal SDs, one-sided) and its config.
    ours_round : callable
        ``ours_round(r) -> {"n_sims", "cpu_s": {"kernel", "chunk"}, "wall_s": ..., "successes"}``
        (see :func:`_means.round_function`; ``wall_s`` is optional).
    rounds : int
        Alternated rounds; the figures are the medians of the rounds' CPU
        times, the simulated powers pool the rounds.
    iterations : int
        rpact's ``maxNumberOfIterations`` per round.

    Returns
    -------
    dict
        Throughputs (ours kernel and chunk, rpact), their ratios, the
        simulated powers with their agreement in joint MCSE (ours from
        ``run_chunk``), the bounds and rpact's ``getPowerMeans``.
    """
    run = alternate_with_rpact(MEANS_SCRIPT, _means_args(plan, config, iterations), ours_round, rounds, seed)
    ours_rounds, rpact_rounds, final = run["ours"], run["rpact"], run["final"]
    n_ours = ours_rounds[0]["n_sims"]
    ours_total = sum(r["n_sims"] for r in ours_rounds)
    kernel_s = statistics.median(r["cpu_s"]["kernel"] for r in ours_rounds)
    chunk_s = statistics.median(r["cpu_s"]["chunk"] for r in ours_rounds)
    rpact_s = statistics.median(r["sim_cpu_s"] for r in rpact_rounds)
    rpact = {
        "rpact_version": final["rpact_version"], "r_version": final["r_version"],
        "sim_iterations": iterations, "sim_seconds": rpact_s,
        "sim_power": statistics.fmean(r["sim_power"] for r in rpact_rounds),
    }
    ours = {"trials_per_s": n_ours / chunk_s, "estimate": sum(r["successes"] for r in ours_rounds) / ours_total}
    result = {
        "clock": "CPU time: time.process_time() here, proc.time() user + system in R",
        "order": "each round: our kernel, our run_chunk, then rpact (one R session)",
        "rounds": rounds,
        **_timing_and_power(rpact, ours, ours_total, rounds, rpact_sims=iterations * rounds),
        "ours_trials_per_round": n_ours,
        "ours_kernel_trials_per_s": n_ours / kernel_s,
        "ours_chunk_trials_per_s": n_ours / chunk_s,
        "kernel_speed_ratio": n_ours / kernel_s / rpact["sim_iterations"] * rpact_s,
        "per_round": rounds_summary(run),
        "ours_rounds": ours_rounds,
        "rpact_rounds": rpact_rounds,
        "ours_wall_over_cpu": (statistics.median(sum(r["wall_s"].values()) / sum(r["cpu_s"].values())
                                                 for r in ours_rounds)
                               if all("wall_s" in r for r in ours_rounds) else None),
        "rpact_wall_over_cpu": statistics.median(r["sim_elapsed_s"] / r["sim_cpu_s"] for r in rpact_rounds
                                                 if r["sim_cpu_s"] > 0),
        "load_average": run["load_average"],
    }
    critical = [float(v) for v in str(final["critical_values"]).split(",")]
    ours_bounds = [float(b) for b in plan.bounds.efficacy]
    result["bounds"] = {"ours": ours_bounds, "rpact": critical,
                        "max_abs_difference": max(abs(a - b) for a, b in zip(ours_bounds, critical, strict=True))}
    exact = plan.exact().get("power_exact")
    analytic = exact if exact is not None else plan.analytic(config)["power"]
    result["power_analytic"] = {
        "what": "noncentral t (ContinuousPlan.exact)" if exact is not None else "ContinuousPlan.analytic",
        **agrees_as_printed(analytic, final["power_printed"]), "rpact_value": final["power_value"],
    }
    result["power_simulated_vs_analytic"] = {
        "analytic": analytic,
        "ours_z": (ours["estimate"] - analytic) / result["power_simulated"]["ours_mcse"],
        "rpact_z": (rpact["sim_power"] - analytic) / result["power_simulated"]["rpact_mcse"],
    }
    if "expected_n_printed" in final:
        result["expected_n_analytic"] = {
            **agrees_as_printed(plan.analytic(config)["expected_n_h1"], final["expected_n_printed"]),
            "rpact_value": final["expected_n_value"],
        }
    return result
