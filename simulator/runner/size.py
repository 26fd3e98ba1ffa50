"""``size``: the smallest trial reaching a power or assurance target, by simulation.

How ``size`` decides (docs/cli.md repeats this for users)
---------------------------------------------------------
The **grid** is the sizes with whole patients in the exact allocation ratio:
``n_total = m * unit`` with ``unit`` the sum of the reduced ratio (1:1 -> 2,
1:2 -> 3), ``m = 1, 2, ...`` up to :data:`MAX_N_TOTAL`.

Every candidate is simulated with ``simulation.n_sims`` trials and **common
random numbers**: the seed entropy is ``(seed, digest of the scenario
without trial.n_total)``, so every candidate size draws from the same
streams and the differences between neighbouring sizes are less noisy than
independent runs would make them.  (A ``run`` at the same size uses the
digest *with* ``n_total`` and so other numbers, equally valid.)

1. **Start**: for power, the largest of the endpoints' analytic sizes
   (rpact's formulas, ``analytic()["n_total"]``; the smallest with rule
   ``any``), rounded up onto the grid; for assurance there is no closed form:
   the same analytic size where every endpoint has a truth, else the
   configured ``trial.n_total``.
2. **Bracket**: from the start, step down (if the start reaches the level)
   or up (if not) by a factor that squares at each step (1.1, 1.21, 1.46, ...
   for power; 1.5, 2.25, ... for assurance) until the level is crossed.
   Reaching ``MAX_N_TOTAL`` without reaching the level is an unreachable
   target (exit 2).
3. **Bisect** on the grid between the last size below and the first size
   reaching the level until they are one grid step apart.
4. **Scan down** from there in blocks of :data:`SCAN_BLOCK` grid sizes until
   a whole block is *clearly below* the level (estimate + 2 MCSE < level, or
   too small to be a valid design).  Power of a discrete test is only
   roughly monotone in n (a sawtooth), so a size below the bisection's
   crossing may reach the level; the scan finds it.

**The answer** ``n_total`` is the smallest evaluated size whose estimate is
``>= level``.  The size one grid step below it was always evaluated and is
below the level (unless ``n_total`` is the smallest grid size).

**The interval** (MC error in view, ``z = 2``): from the smallest evaluated
size whose estimate + 2 MCSE reaches the level (sizes that may reach it) to
the smallest evaluated size at or above ``n_total`` whose estimate - 2 MCSE
reaches it (sizes that surely do); the search scans up from ``n_total`` for
the latter, at most :data:`MAX_UP_BLOCKS` blocks (``null`` if not found).

Survival endpoints will search events instead of patients: the endpoint
kind names its *size axis* (:data:`SIZE_AXES`); only ``n_total`` (binary)
is implemented now.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from simulator.config.load import Scenario, expand, load_raw
from simulator.config.validate import validate
from simulator.design.allocation import split_total
from simulator.errors import InputError
from simulator.report.build import proportion
from simulator.runner.simulate import build_plans, simulate_scenarios

#: Largest size searched; a target not reached there is unreachable.
MAX_N_TOTAL = 1_000_000
#: Grid sizes per block of the downward and upward scans.
SCAN_BLOCK = 8
#: Blocks scanned upwards at most for the interval's upper end.
MAX_UP_BLOCKS = 8
#: Monte Carlo standard errors that make a size clearly below / above the level.
Z = 2.0
#: The size axis of each endpoint kind (survival will search "events").
SIZE_AXES = {"binary": "n_total"}
#: The seed digest leaves the searched key out: common random numbers.
DIGEST_EXCLUDE = (("trial", "n_total"),)
TARGETS = ("power", "assurance")


@dataclass(frozen=True)
class PatientAxis:
    """``trial.n_total`` on the grid of whole allocation units."""

    allocation: tuple[int, int]

    name = "n_total"

    @property
    def unit(self) -> int:
        """Patients in one allocation unit (1:2 -> 3)."""
        a, b = self.allocation
        g = math.gcd(a, b)
        return a // g + b // g

    def per_arm(self, n_total: int) -> list[int]:
        return list(split_total(n_total, self.allocation))

    def apply(self, mapping: dict, n_total: int) -> dict:
        out = copy.deepcopy(mapping)
        out.setdefault("trial", {})["n_total"] = n_total
        return out


def size_axis(config) -> PatientAxis:
    """The axis that ``size`` searches for this scenario's endpoints."""
    axes = {SIZE_AXES.get(e.kind) for e in config.endpoints}
    if axes == {"n_total"}:
        return PatientAxis(tuple(config.trial.allocation))
    kinds = sorted({e.kind for e in config.endpoints if e.kind not in SIZE_AXES})
    raise InputError(
        f"`size`: endpoints of kind {', '.join(kinds)} are not supported yet (searching events); "
        f"supported kinds: {', '.join(SIZE_AXES)}"
    )


@dataclass
class Evaluation:
    """One simulated candidate size (``estimate`` is None if the design is invalid there)."""

    n_total: int
    n_per_arm: list | None
    estimate: float | None
    mcse: float | None
    bundle: object = field(default=None, repr=False)
    streams: dict = field(default=None, repr=False)

    def reaches(self, level: float) -> bool:
        return self.estimate is not None and self.estimate >= level

    def clearly_below(self, level: float) -> bool:
        return self.estimate is None or self.estimate + Z * self.mcse < level

    def clearly_above(self, level: float) -> bool:
        return self.estimate is not None and self.estimate - Z * self.mcse >= level

    def as_dict(self) -> dict:
        return {"n_total": self.n_total, "n_per_arm": self.n_per_arm, "estimate": self.estimate, "mcse": self.mcse}


@dataclass
class SizeSearch:
    """The state of one search: the base scenario, the target and every evaluation."""

    mapping: dict
    config: object
    target: str
    level: float
    jobs: int = 0
    backend: str = "loky"
    scheduler: str | None = None
    log: object = None
    evaluated: dict = field(default_factory=dict)  # grid index m -> Evaluation

    def __post_init__(self):
        self.axis = size_axis(self.config)
        self.unit = self.axis.unit
        self.m_max = MAX_N_TOTAL // self.unit

    # ------------------------------------------------------------ simulation
    def evaluate(self, ms) -> None:
        """Simulate the grid sizes ``ms`` not yet evaluated, together (in parallel)."""
        new = sorted({m for m in ms if 1 <= m <= self.m_max and m not in self.evaluated})
        bundles, feasible = [], []
        for m in new:
            n = m * self.unit
            try:
                mapping = self.axis.apply(self.mapping, n)
                scenario = Scenario(0, {"trial.n_total": n}, mapping, validate(mapping))
                bundles.append(build_plans(scenario, digest_exclude=DIGEST_EXCLUDE, only=(self.target,)))
                feasible.append(m)
            except InputError:
                # Too small for the looks or the allocation: not a valid design.
                self.evaluated[m] = Evaluation(n, None, None, None)
        if not bundles:
            return
        results, _ = simulate_scenarios(bundles, jobs=self.jobs, backend=self.backend, scheduler=self.scheduler)
        for m, bundle, streams in zip(feasible, bundles, results):
            counts = streams[self.target]
            estimate, mcse = proportion(counts.success, counts.n_sims)
            n = m * self.unit
            self.evaluated[m] = Evaluation(n, self.axis.per_arm(n), estimate, mcse, bundle, streams)
            if self.log is not None:
                self.log(f"size: n_total {n}: {self.target} {estimate:.4f} ± {mcse:.4f}")

    def reaches(self, m: int) -> bool:
        return m >= 1 and self.evaluated[m].reaches(self.level)

    # ------------------------------------------------------------ search
    def bracket(self, start_m: int, factor: float) -> tuple[int, int]:
        """Grid indices ``(lo, hi)``: ``lo`` below the level (0 = none), ``hi`` reaching it."""
        m = min(max(start_m, 1), self.m_max)
        self.evaluate([m])
        if self.reaches(m):
            hi = m
            while True:
                lo = min(math.floor(hi / factor), hi - 1)
                if lo < 1:
                    return 0, hi
                self.evaluate([lo])
                if not self.reaches(lo):
                    return lo, hi
                hi, factor = lo, factor * factor
        lo = m
        while True:
            if lo >= self.m_max:
                self._unreachable()
            hi = min(max(math.ceil(lo * factor), lo + 1), self.m_max)
            self.evaluate([hi])
            if self.reaches(hi):
                return lo, hi
            lo, factor = hi, factor * factor

    def bisect(self, lo: int, hi: int) -> int:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            self.evaluate([mid])
            if self.reaches(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def scan_down(self, hi: int) -> None:
        top = hi - 1
        while top >= 1:
            block = [m for m in range(top, top - SCAN_BLOCK, -1) if m >= 1]
            self.evaluate(block)
            if all(self.evaluated[m].clearly_below(self.level) for m in block):
                return
            top -= SCAN_BLOCK

    def scan_up(self, answer: int) -> int | None:
        """The smallest grid index >= ``answer`` clearly above the level, scanning contiguously."""
        for k in range(MAX_UP_BLOCKS + 1):
            if k:
                first = answer + 1 + (k - 1) * SCAN_BLOCK
                self.evaluate(range(first, min(first + SCAN_BLOCK, self.m_max + 1)))
            m = answer
            while m in self.evaluated:
                if self.evaluated[m].clearly_above(self.level):
                    return m
                m += 1
        return None

    def _unreachable(self):
        top = self.evaluated.get(self.m_max)
        where = f"; at n_total = {top.n_total} it is {top.estimate:.4f} ± {top.mcse:.4f}" if top and top.estimate is not None else ""
        raise InputError(
            f"argument `--level`: {self.target} {self.level} is not reached by any n_total up to {MAX_N_TOTAL}{where}"
        )

    def run(self, start_n: int | None, factor: float) -> dict:
        """Search and return the ``size`` block (see the module docstring)."""
        start_m = math.ceil((start_n if start_n else self.config.trial.n_total) / self.unit)
        lo, hi = self.bracket(start_m, factor)
        hi = self.bisect(lo, hi)
        self.scan_down(hi)
        answer = min(m for m in self.evaluated if self.reaches(m))
        upper = self.scan_up(answer)
        lower = min(m for m, e in self.evaluated.items() if e.estimate is not None and e.estimate + Z * e.mcse >= self.level)
        best = self.evaluated[answer]
        return {
            "target": self.target,
            "level": self.level,
            "n_total": best.n_total,
            "n_per_arm": best.n_per_arm,
            "interval": [lower * self.unit, None if upper is None else upper * self.unit],
            self.target: best.estimate,
            f"{self.target}_mcse": best.mcse,
            "grid_step": self.unit,
            "evaluated": [self.evaluated[m].as_dict() for m in sorted(self.evaluated)],
        }


def load_size_scenario(config_path, overrides=()) -> tuple[dict, dict, object]:
    """The one scenario that ``size`` searches: ``(raw, mapping, config)``.

    A list-valued ``trial.n_total`` is reduced to its first value (the size is
    what is searched); a ``[sweep]`` is bad input, since ``size`` answers
    for one scenario.
    """
    raw = load_raw(config_path, overrides)
    trial = raw.get("trial")
    if isinstance(trial, dict) and isinstance(trial.get("n_total"), list) and trial["n_total"]:
        trial["n_total"] = trial["n_total"][0]
    sweep = {k: v for k, v in (raw.get("sweep") or {}).items() if k != "mode"} if isinstance(raw.get("sweep"), dict) else raw.get("sweep")
    if sweep:
        raise InputError("config key `sweep`: `size` searches one scenario; fix the swept keys with --set or remove [sweep]")
    raw.pop("sweep", None)
    (_, mapping), = expand(raw)
    return raw, mapping, validate(mapping)


def analytic_start(bundle, config, rule: str) -> int | None:
    """The analytic size for the power target: largest over endpoints (smallest for rule ``any``).

    ``None`` when some endpoint has no truth or no size (no benefit under it).
    """
    sizes = []
    for plan in bundle.plans:
        block = plan.analytic(config) if plan.truth is not None else {}
        size = block.get("n_total_rounded")
        sizes.append(size)
    known = [s for s in sizes if s is not None]
    if not known:
        return None
    if rule == "all":
        return max(known) if len(known) == len(sizes) else None
    return min(known)


def check_reachable(bundle, target: str, level: float, rule: str) -> float | None:
    """Refuse targets that no size reaches; return the assurance ceiling (or None).

    Power: every endpoint needs a truth, and (rule ``all``) every endpoint, or
    (rule ``any``) some endpoint, must have a benefit under it.  Assurance: the
    ceiling is the prior probability of benefit, the minimum over endpoints for
    rule ``all`` (the joint probability is at most that) and at most the sum
    for ``any``; a level at or above it is unreachable.
    """
    plans = bundle.plans
    if target == "power":
        missing = [p.endpoint.name for p in plans if p.truth is None]
        if missing:
            raise InputError(f"argument `--target power`: endpoint `{missing[0]}` has no [truth]; use --target assurance or add one")
        no_gain = [p.endpoint.name for p in plans if "n_total" not in p.analytic(bundle.scenario.config)]
        if no_gain and (rule == "all" or len(no_gain) == len(plans)):
            raise InputError(
                f"argument `--level`: endpoint `{no_gain[0]}` shows no benefit over the null under its truth, "
                f"so power cannot reach {level} at any size (its ceiling is the type I error)"
            )
        return None
    ceilings = {p.endpoint.name: p.prior_p_benefit() for p in plans if p.prior is not None}
    if not ceilings:
        raise InputError("argument `--target assurance`: no endpoint has a [prior]; add one or use --target power")
    ceiling = min(ceilings.values()) if rule == "all" else min(1.0, sum(ceilings.values()))
    if level >= ceiling:
        which = min(ceilings, key=ceilings.get)
        detail = f"endpoint `{which}`'s prior probability of benefit" if rule == "all" else "the sum of the endpoints' prior probabilities of benefit"
        raise InputError(
            f"argument `--level`: assurance {level} is unreachable: its ceiling is {ceiling:.4f} "
            f"({detail}); ask for a level below it"
        )
    return ceiling


def check_level(target: str, level) -> None:
    """Validate ``--target`` and ``--level``."""
    if target not in TARGETS:
        raise InputError(f"argument `--target`: must be one of {', '.join(TARGETS)}, got {target!r}")
    if level is not None and not (isinstance(level, (int, float)) and 0.0 < level < 1.0):
        raise InputError(f"argument `--level`: must be in (0, 1), got {level}")


def size(
    config_path, overrides=(), *, target="power", level=None, n_sims=None, seed=None, jobs=None, out=None,
    backend="loky", scheduler=None, command="", log=None,
) -> dict:
    """Search the smallest ``n_total`` whose power or assurance reaches ``level``.

    Parameters
    ----------
    config_path : str or Path
        TOML config (one scenario; ``trial.n_total`` is what is searched).
    overrides : sequence of str
        ``KEY=VALUE`` overrides (``--set``).
    target : {"power", "assurance"}
        Trial success under ``truth`` or under ``prior``.
    level : float, optional
        The target, in (0, 1); default ``design.power``.  For a power target
        it also sets ``design.power`` (what the analytic start and any
        beta-spending futility bound are planned for).
    n_sims, seed, jobs : int, optional
        Shortcuts for ``simulation.n_sims``, ``simulation.seed``, ``simulation.jobs``.
    out : str or Path, optional
        Folder for report.json; ``None`` writes nothing.
    backend, scheduler : str, optional
        Where the chunks run (see :mod:`simulator.runner.backends`).
    log : callable, optional
        Called with one line per evaluated size.

    Returns
    -------
    dict
        report.json: ``meta``, ``size`` (the block of the contract) and
        ``scenarios`` (the scenario at the answer, target stream only).

    Examples
    --------
    >>> report = size("configs/cairo6.toml", level=0.8, n_sims=20_000)  # doctest: +SKIP
    >>> report["size"]["power"] >= 0.8                                     # doctest: +SKIP
    True
    """
    import time

    from simulator.report.build import build_report
    from simulator.runner.backends import check_backend, session
    from simulator.runner.run import _with_simulation_overrides

    started = time.perf_counter()
    check_level(target, level)
    check_backend(backend, scheduler)
    extra = _with_simulation_overrides(overrides, n_sims, seed, jobs)
    if level is not None and target == "power":
        extra.append(f"design.power={level}")
    raw, mapping, config = load_size_scenario(config_path, extra)
    level = config.design.power if level is None else float(level)
    axis = size_axis(config)
    if config.design.look_sizes:
        raise InputError(
            "config key `design.look_sizes`: fixes absolute look sizes, which `size` cannot scale with n_total; "
            "give the looks as design.looks (a count or fractions)"
        )
    base = build_plans(Scenario(0, {}, mapping, config), digest_exclude=DIGEST_EXCLUDE, only=(target,))
    rule = config.success.rule
    ceiling = check_reachable(base, target, level, rule)
    analytic = analytic_start(base, config, rule) if all(p.truth is not None for p in base.plans) else None
    search = SizeSearch(mapping, config, target, level, config.simulation.jobs, backend, scheduler, log)
    # From an analytic start the answer is near: small steps; without one, larger.
    factor = 1.1 if analytic is not None and target == "power" else 1.5
    with session(backend, scheduler):
        block = search.run(analytic, factor)
    block.update(
        analytic_n_total=analytic if target == "power" else None,
        start_n_total=analytic if analytic is not None else config.trial.n_total,
        ceiling=ceiling,
        axis=axis.name,
        n_sims=config.simulation.n_sims,
        seed=config.simulation.seed,
        common_random_numbers="every size uses the seed entropy (seed, digest of the scenario without trial.n_total)",
        rule=(
            "smallest evaluated grid size whose estimate >= level; grid = multiples of grid_step; "
            f"bracket from the start, bisection, then a downward scan in blocks of {SCAN_BLOCK} until a block "
            f"is clearly below (estimate + {Z:g} MCSE < level); interval = [smallest size with estimate + {Z:g} MCSE "
            f">= level, smallest size >= n_total with estimate - {Z:g} MCSE >= level]"
        ),
    )
    best = next(e for e in search.evaluated.values() if e.n_total == block["n_total"])
    report = build_report(
        raw, [best.bundle], [best.streams], command=command, runtime_s=time.perf_counter() - started,
        seed=config.simulation.seed, n_sims=config.simulation.n_sims,
    )
    report["size"] = block
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def summary(report: dict) -> str:
    """The few lines ``p3sim size`` prints."""
    b = report["size"]
    target = b["target"]
    lo, hi = b["interval"]
    per_arm = " / ".join(str(n) for n in b["n_per_arm"])
    lines = [
        f"smallest n_total with {target} >= {b['level']}: {b['n_total']} ({per_arm} per arm, steps of {b['grid_step']})",
        f"{target} at {b['n_total']}: {b[target]:.4f} ± {b[target + '_mcse']:.4f} (MCSE, {b['n_sims']} simulated trials)",
        f"sizes consistent with the target within {Z:g} MCSE: {lo} to {'?' if hi is None else hi}",
    ]
    if b.get("analytic_n_total") is not None:
        lines.append(f"analytic (normal approximation): {b['analytic_n_total']}")
    if b.get("ceiling") is not None:
        lines.append(f"assurance ceiling (prior probability of benefit): {b['ceiling']:.4f}")
    lines.append(f"{len(b['evaluated'])} sizes evaluated with common random numbers")
    return "\n".join(lines)
