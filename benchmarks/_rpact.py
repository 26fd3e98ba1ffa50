"""rpact side by side: the same design simulated and computed by R's rpact.

rpact is not a dependency of the package or its tests; this module runs only
when ``Rscript`` can load rpact, and otherwise says why it skipped.

Orientation: rpact's group 1 is the treatment (``pi1``) and its default
direction is "higher is better". Our designs are passed to it on the
oriented scale the kernels use, so the harm 0.33 (control) vs 0.22
(experimental), lower is better, becomes ``pi1 = 0.78, pi2 = 0.67``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from decimal import Decimal, InvalidOperation
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "rpact_rates.R"

#: Agreement of two Monte Carlo estimates: within this many joint standard errors.
MC_TOLERANCE = 4.0


def availability() -> str | None:
    """``None`` when Rscript can load rpact, else the reason to skip."""
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
    command = ["Rscript", str(SCRIPT), *(f"{k}={v}" for k, v in args.items())]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} failed:\n{done.stderr}")
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return {key: _number(value) for key, value in values.items()}


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
    rpact_rate = rpact["sim_iterations"] / rpact["sim_seconds"] if rpact["sim_seconds"] > 0 else math.inf
    result = {
        "rpact_version": rpact["rpact_version"],
        "r_version": rpact["r_version"],
        "rpact_trials_per_s": rpact_rate,
        "rpact_seconds": rpact["sim_seconds"],
        "rpact_iterations": rpact["sim_iterations"],
        "rpact_repeats": repeats,
        "ours_trials_per_s": ours["trials_per_s"],
        "speed_ratio": ours["trials_per_s"] / rpact_rate,
        "power_simulated": mc_agreement(ours["estimate"], ours["n_sims"], rpact["sim_power"], rpact["sim_iterations"]),
    }
    if not exact:
        analytic = plan.analytic(config)
        result["power_analytic"] = agrees_as_printed(analytic["power"], rpact["power_printed"])
        result["n_for_power_analytic"] = agrees_as_printed(analytic["n_total"], rpact["n_printed"])
        if "expected_n_printed" in rpact and "expected_n_h1" in analytic:
            result["expected_n_analytic"] = agrees_as_printed(analytic["expected_n_h1"], rpact["expected_n_printed"])
    return result
