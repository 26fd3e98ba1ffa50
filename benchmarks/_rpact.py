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
import shutil
import subprocess
from decimal import Decimal, InvalidOperation
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "rpact_rates.R"
SURVIVAL_SCRIPT = Path(__file__).resolve().parent / "rpact_survival.R"

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


def run_rpact(plan, config, iterations: int, exact: bool, repeats: int = 1, seed: int = 1) -> dict:
    """Run :data:`SCRIPT` on ``plan``'s design and parse its ``key=value`` lines.

    Parameters
    ----------
    plan : BinaryPlan
        Supplies the oriented rates, the cumulative subjects per look
        (realised, whole patients) and alpha.
    config : Config
        Supplies the spending function (``design.efficacy``, rpact's own
        codes) and the target power of the sample size.
    iterations : int
        ``maxNumberOfIterations`` of ``getSimulationRates``.
    exact : bool
        Simulate rpact's exact (Fisher) test instead of the normal approximation.
    repeats : int
        Timed simulations; the fastest is reported (as for our kernels).
    """
    p_c, p_e = plan.truth
    args = {
        "pi1": p_e, "pi2": p_c,
        "subjects": ",".join(str(int(n)) for n in plan.looks.enrolled_total),
        "kmax": len(plan.looks.enrolled_total), "design": config.design.efficacy,
        "alpha": plan.alpha, "beta": 1.0 - config.design.power,
        "iterations": iterations, "repeats": repeats, "seed": seed, "exact": int(exact),
    }
    return _run_script(SCRIPT, args)


def _run_script(script: Path, args: dict) -> dict:
    """Run an R script with ``key=value`` arguments and parse the ``key=value`` lines it prints."""
    command = ["Rscript", str(script), *(f"{k}={v}" for k, v in args.items())]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{done.stderr}")
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    # Printed values stay text: "45.70" must keep its two decimals.
    return {key: value.strip() if key.endswith("_printed") else _number(value) for key, value in values.items()}


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


def _timing_and_power(rpact: dict, ours: dict, ours_sims: int, repeats: int) -> dict:
    """rpact's throughput beside ours, and the agreement of the simulated powers."""
    rpact_rate = rpact["sim_iterations"] / rpact["sim_seconds"] if rpact["sim_seconds"] > 0 else math.inf
    return {
        "rpact_version": rpact["rpact_version"],
        "r_version": rpact["r_version"],
        "rpact_trials_per_s": rpact_rate,
        "rpact_seconds": rpact["sim_seconds"],
        "rpact_iterations": rpact["sim_iterations"],
        "rpact_repeats": repeats,
        "ours_trials_per_s": ours["trials_per_s"],
        "speed_ratio": ours["trials_per_s"] / rpact_rate,
        "power_simulated": mc_agreement(ours["estimate"], ours_sims, rpact["sim_power"], rpact["sim_iterations"]),
    }


def side_by_side(plan, config, ours: dict, iterations: int, exact: bool = False, repeats: int = 1) -> dict:
    """rpact's timing and estimates next to ours for one design.

    Parameters
    ----------
    plan, config
        Our plan and its config (for the analytic values).
    ours : dict
        Our throughput measurement of the same design (see
        :func:`_kernels.throughput`): trials/s, estimate, n_sims.
    iterations : int
        rpact's simulated trials.
    exact : bool
        Compare Fisher's exact test (no analytic counterpart is compared).
    repeats : int
        rpact's timed simulations (the fastest counts).
    """
    rpact = run_rpact(plan, config, iterations, exact, repeats)
    result = _timing_and_power(rpact, ours, ours["n_sims"], repeats)
    if not exact:
        analytic = plan.analytic(config)
        result["power_analytic"] = agrees_as_printed(analytic["power"], rpact["power_printed"])
        result["n_for_power_analytic"] = agrees_as_printed(analytic["n_total"], rpact["n_printed"])
        if "expected_n_printed" in rpact and "expected_n_h1" in analytic:
            result["expected_n_analytic"] = agrees_as_printed(analytic["expected_n_h1"], rpact["expected_n_printed"])
    return result


# ------------------------------------------------------------------ survival
def run_rpact_survival(plan, config, iterations: int, repeats: int = 1, seed: int = 1) -> dict:
    """Run :data:`SURVIVAL_SCRIPT` on a survival plan's design and parse its output.

    Parameters
    ----------
    plan : SurvivalPlan
        Supplies the hazard ratio (experimental / control: rpact's
        ``hazardRatio``, with ``directionUpper = FALSE`` for a benefit), the
        events per look and alpha. Control survival must be exponential and
        accrual uniform, as in the benchmark designs.
    config : Config
        Supplies N, the accrual time, the control median, the spending
        function and the target power.
    iterations, repeats, seed
        ``maxNumberOfIterations``, timed simulations (the fastest counts), seed.
    """
    endpoint = plan.endpoint
    control, accrual = endpoint.truth.control, endpoint.accrual
    if len(control.hazards) != 1 or len(accrual.rates) != 1 or any(endpoint.dropout):
        raise ValueError("the rpact survival comparison takes exponential survival, uniform accrual, no dropout")
    args = {
        "hr": plan.truth, "median2": math.log(2.0) / control.hazards[0], "accrual": accrual.edges[-1],
        "subjects": config.trial.n_total, "events": ",".join(str(int(e)) for e in plan.looks.events),
        "design": config.design.efficacy, "alpha": plan.alpha, "beta": 1.0 - config.design.power,
        "iterations": iterations, "repeats": repeats, "seed": seed,
    }
    values = _run_script(SURVIVAL_SCRIPT, args)
    for key in ("critical_values", "sim_reject_per_stage", "sim_analysis_times"):
        values[key] = [float(v) for v in str(values[key]).split(",")]
    return values


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


def survival_side_by_side(plan, config, ours: dict, ours_analytic: dict, iterations: int, repeats: int = 1) -> dict:
    """rpact's timing and estimates next to ours for one survival design.

    Parameters
    ----------
    plan, config
        Our plan and its config.
    ours : dict
        Our throughput (see :func:`_survival.throughput`): trials/s, the
        pooled estimate and its number of trials.
    ours_analytic : dict
        Our analytic values (see :func:`_survival.analytic`), keyed as the
        ``*_value`` / ``*_printed`` lines of the R script.
    iterations, repeats
        rpact's simulated trials and timed simulations.
    """
    rpact = run_rpact_survival(plan, config, iterations, repeats)
    ours_bounds = [float(b) for b in plan.bounds.efficacy]
    result = {
        **_timing_and_power(rpact, ours, ours["pooled_sims"], repeats),
        "rpact_sim_expected_events": rpact["sim_expected_events"],
        "rpact_sim_reject_per_stage": rpact["sim_reject_per_stage"],
        "rpact_sim_analysis_times": rpact["sim_analysis_times"],
        "bounds": {"ours": ours_bounds, "rpact": rpact["critical_values"],
                   "max_abs_difference": max(abs(a - b)
                                             for a, b in zip(ours_bounds, rpact["critical_values"], strict=True))},
        "analytic": {},
    }
    for pattern, function, what in SURVIVAL_ANALYTIC:
        wildcard = pattern.endswith("*")
        keys = sorted(k for k in ours_analytic if k == pattern or (wildcard and k.startswith(pattern[:-1])))
        checks = [
            {"key": key, **agrees_as_printed(ours_analytic[key], rpact[f"{key}_printed"]),
             "rpact_value": rpact[f"{key}_value"]}
            for key in keys if f"{key}_printed" in rpact
        ]
        if checks:
            result["analytic"].setdefault(function, []).append(
                {"what": what, "checks": checks, "agrees": all(c["agrees"] for c in checks)})
    return result
