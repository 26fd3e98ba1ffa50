"""``size``: the smallest trial reaching a power or assurance target, by simulation.

How ``size`` decides (docs/cli.md repeats this for users)
---------------------------------------------------------
**What is searched** (:func:`size_axis`, from each kind's axis): with binary
endpoints only, ``trial.n_total`` (:class:`PatientAxis`); as soon as there is
a survival endpoint, the events at the final look, ``design.events``
(:class:`EventAxis`), with ``trial.n_total`` held at its configured value
(the subjects simulated).  A mix of survival and binary endpoints searches
events too: in a joint trial the survival endpoint's events fix the calendar
times of every look, so the binary endpoints are read at those times and
their information grows with the events until every configured patient's
outcome is known; the configured ``n_total`` caps what they can reach.

The **grid**: for patients, the sizes with whole patients in the exact
allocation ratio, ``n_total = m * unit`` with ``unit`` the sum of the
reduced ratio (1:1 -> 2, 1:2 -> 3), ``m = 1, 2, ...`` up to
:data:`MAX_N_TOTAL`; for events, every integer ``E = 1, 2, ...`` up to the
configured ``trial.n_total`` (no more events than subjects; an event count
too small for the looks, or above ``n_total``, is not a valid design).  The
looks are ``design.looks`` (a count or fractions) of the candidate size;
absolute ``design.look_sizes`` / ``design.look_events`` cannot scale and are
bad input.

Every candidate is simulated with ``simulation.n_sims`` trials and **common
random numbers**: the seed entropy is ``(seed, digest of the scenario
without the searched key)`` (``trial.n_total`` or ``design.events``), so
every candidate draws from the same streams and the differences between
neighbouring sizes are less noisy than independent runs would make them.
For events the simulated patients are then the very same at every
candidate; only the looks move.  (A ``run`` at the same size uses the
digest *with* that key and so other numbers, equally valid.)

1. **Start**: for power, the largest of the endpoints' analytic sizes (the
   smallest with rule ``any``): rpact's formulas, ``analytic()["n_total_design"]``
   rounded up onto the grid, or for events Schoenfeld's events times the
   group-sequential inflation, ``analytic()["events"]`` rounded up, over the
   survival endpoints; for assurance there is no closed form: the same
   analytic size where every endpoint has a truth, else the configured
   ``trial.n_total`` (patients) or ``design.events`` (events; when not
   given, Schoenfeld's events at the prior median hazard ratio, else half
   of ``trial.n_total``).
2. **Bracket**: from the start, step down (if the start reaches the level)
   or up (if not) by a factor that squares at each step (1.1, 1.21, 1.46, ...
   for power; 1.5, 2.25, ... for assurance) until the level is crossed.
   Reaching the largest grid size without reaching the level is an
   unreachable target (exit 2).
3. **Bisect** on the grid between the last size below and the first size
   reaching the level until they are one grid step apart.
4. **Scan down** from there in blocks of :data:`SCAN_BLOCK` grid sizes until
   a whole block is *clearly below* the level (estimate + 2 MCSE < level, or
   too small to be a valid design), at most :data:`MAX_DOWN_BLOCKS` blocks.  Power of a discrete test is only
   roughly monotone in n (a sawtooth), so a size below the bisection's
   crossing may reach the level; the scan finds it.

**The answer** (``n_total``, or ``events``) is the smallest evaluated size
whose estimate is ``>= level``.  The size one grid step below it was always
evaluated and is below the level (unless it is the smallest grid size).

**The interval** (MC error in view, ``z = 2``): from the smallest evaluated
size whose estimate + 2 MCSE reaches the level (sizes that may reach it) to
the smallest evaluated size at or above the answer whose estimate - 2 MCSE
reaches it (sizes that surely do); the search scans up from the answer for
the latter, at most :data:`MAX_UP_BLOCKS` blocks (``null`` if not found).
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from dataclasses import dataclass, field

from simulator.config.fields import toml_value
from simulator.config.load import Scenario
from simulator.config.schema import Config
from simulator.config.toml import expand
from simulator.config.validate import validate
from simulator.design.multiplicity import gatekeeper
from simulator.endpoints import kind_of
from simulator.errors import InputError
from simulator.estimate import proportion
from simulator.runner.backends import check_backend, session
from simulator.runner.simulate import ScenarioPlans, build_plans, simulate_scenarios

#: Grid sizes per block of the downward and upward scans.
SCAN_BLOCK = 8
#: Blocks scanned upwards at most for the interval's upper end.
MAX_UP_BLOCKS = 8
#: Blocks the downward scan takes at most (:meth:`SizeSearch.scan_down`): 512 sizes, more than an ordinary search
#: needs (a binary power search near 7,500 patients at 10^4 trials closed after about 200, a code review),
#: far fewer than a curve flat near an assurance ceiling would take (12,298 sizes in 373 s, a review).
MAX_DOWN_BLOCKS = 64
#: Monte Carlo standard errors that make a size clearly below / above the level.
Z = 2.0
#: An endpoint the search does not size stops it when the level is this many MCSE above its estimate
#: (:meth:`SizeSearch.check_gates`): a wrong stop has probability about 0.0013.
GATE_Z = 3.0
TARGETS = ("power", "assurance")
#: Fewest simulated trials per candidate size: below it the MCSE (0.013 at power 0.8 with 1000
#: trials) is too coarse to tell neighbouring sizes apart, and with 1 trial it is 0.
MIN_SIZE_SIMS = 1000


def size_axis(config):
    """The axis that ``size`` searches: the one of highest priority among the endpoints' kinds.

    Binary endpoints only: :class:`~simulator.endpoints.common.PatientAxis`
    (``trial.n_total``); any survival endpoint:
    :class:`~simulator.endpoints.survival_axis.EventAxis` (``design.events``).
    """
    axes = [kind_of(e).size_axis(config) for e in config.endpoints]
    return max(axes, key=lambda axis: axis.priority)


def _halvings(m: int):
    """``m // 2, m // 4, ...`` down to 1: where to look for a smaller size that can carry a design."""
    while m > 1:
        m //= 2
        yield m


@dataclass
class Evaluation:
    """One simulated candidate size (``estimate`` is None if the design is invalid there)."""

    size: int
    fields: dict
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
        return {**self.fields, "estimate": self.estimate, "mcse": self.mcse}


@dataclass
class SizeSearch:
    """The state of one search: the base scenario, the target and every evaluation."""

    mapping: dict
    config: object
    target: str
    level: float
    jobs: int = 0
    backend: str = "threads"
    scheduler: str | None = None
    log: object = None
    gates: tuple = ()  # endpoints off the searched axis that cap the target (off_axis_gates)
    level_key: str = "argument `--level`"  # where the level came from (level_source), named in errors
    evaluated: dict = field(default_factory=dict)  # grid index m -> Evaluation
    start: int | None = None  # the size the search began at (set by bracket)
    invalid: dict = field(default_factory=dict)  # grid index m -> why no design could be built there
    built: dict = field(default_factory=dict)  # grid index m -> plans built by _valid, not yet simulated

    def __post_init__(self):
        self.axis = size_axis(self.config)
        self.unit = self.axis.unit
        self.m_max = self.axis.max_size // self.unit

    # ------------------------------------------------------------ simulation
    def evaluate(self, ms) -> None:
        """Simulate the grid sizes ``ms`` not yet evaluated, together (in parallel)."""
        new = sorted({m for m in ms if 1 <= m <= self.m_max and m not in self.evaluated})
        bundles, feasible = [], []
        for m in new:
            n = m * self.unit
            try:
                bundles.append(self._plans(m))
                feasible.append(m)
            except InputError as err:
                # Too small for the looks or the allocation, (events) more events than subjects, or
                # (calendar looks) so many patients that an interim expects the planned maximum events.
                self.evaluated[m] = Evaluation(n, self.axis.fields(n), None, None)
                self.invalid[m] = str(err)
        if not bundles:
            return
        results, _ = simulate_scenarios(bundles, jobs=self.jobs, backend=self.backend, scheduler=self.scheduler)
        for m, bundle, streams in zip(feasible, bundles, results):
            counts = streams[self.target]
            estimate, mcse = proportion(counts.success, counts.n_sims)
            n = m * self.unit
            self.evaluated[m] = Evaluation(n, self.axis.fields(n), estimate, mcse, bundle, streams)
            if self.log is not None:
                self.log(f"size: {self.axis.name} {n}: {self.target} {estimate:.4f} ± {mcse:.4f}")

    def check_gates(self) -> None:
        """Stop at once where an endpoint the search does not size caps the target below the level (a review).

        Its patients stay at ``trial.n_total``, and its outcomes are read at
        the survival looks, which come latest at the largest events: there
        its success is the most it has at any size (a code review: it grows
        with the events, so a check at the first size refused reachable
        levels), and the trial's is at most its own. A level more than
        :data:`GATE_Z` MCSE above its estimate there is out of reach (the
        search ran to the largest events, then named ``trial.n_total`` alone).
        """
        if not self.gates:
            return
        self.evaluate([self.m_max])
        top = self.evaluated[self.m_max]
        if top.estimate is None:
            return  # the largest size carries no design: the search finds out what does
        counts = top.streams[self.target]
        for name in self.gates:
            estimate, mcse = proportion(int(counts.endpoints[name]["reject"].sum()), counts.n_sims)
            if estimate + GATE_Z * mcse < self.level:
                why = ("the success rule needs every endpoint" if self.config.success.rule == "all"
                       else "it is the fixed sequence's first")
                raise InputError(
                    f"{self.level_key}: {self.target} {self.level} is out of reach of a search over "
                    f"{self.axis.name}: endpoint `{name}` is not sized by it (its patients are trial.n_total = "
                    f"{self.config.trial.n_total}), its simulated {self.target} at the largest {self.axis.name}, "
                    f"{top.size}, where its outcomes are read latest, is {estimate:.4f} ± {mcse:.4f}, and it caps "
                    f"the trial's ({why}); raise trial.n_total or ask for a lower level"
                )

    def reaches(self, m: int) -> bool:
        return m >= 1 and self.evaluated[m].reaches(self.level)

    # ------------------------------------------------------------ search
    def bracket(self, start_m: int, factor: float) -> tuple[int, int]:
        """Grid indices ``(lo, hi)``: ``lo`` below the level (0 = none), ``hi`` reaching it."""
        m = min(max(start_m, 1), self.m_max)
        self.start = m * self.unit  # where the search began, on the grid and within its range
        self.evaluate([m])
        if m in self.invalid:
            # The start cannot carry the design. If smaller sizes can (it is too large: calendar looks), the
            # largest of them reaches the level, or no size does.
            below = next((k for k in _halvings(m) if self._valid(k)), None)
            if below is not None:
                top = self._largest_valid(below, m)
                self.evaluate([top])
                if not self.reaches(top):
                    self._unreachable()
                m = top
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
            if hi in self.invalid and lo not in self.invalid:
                # Too large to carry the design (calendar looks whose interims would expect the planned maximum
                # events): the largest size that can, which reaches the level or nothing does.
                top = self._largest_valid(lo, hi)
                if top > lo:
                    self.evaluate([top])
                    if self.reaches(top):
                        return lo, top
                self._unreachable()
            lo, factor = hi, factor * factor

    def _plans(self, m: int) -> ScenarioPlans:
        """The plans at grid index ``m`` (InputError where the design cannot be built there); those that
        :meth:`_valid` built are taken, not built again."""
        if m in self.built:
            return self.built.pop(m)
        n = m * self.unit
        mapping = self.axis.apply(self.mapping, n)
        scenario = Scenario(0, {self.axis.key: n}, mapping, validate(mapping))
        return build_plans(scenario, digest_exclude=search_digest_exclude(self.axis, self.target), only=(self.target,))

    def _valid(self, m: int) -> bool:
        """Whether the design can be built at grid index ``m`` (its plans, no simulation); records why not."""
        if m in self.evaluated or m in self.invalid:
            return m not in self.invalid
        try:
            self.built[m] = self._plans(m)  # kept for evaluate
            return True
        except InputError as err:
            self.invalid[m] = str(err)
            return False

    def _largest_valid(self, lo: int, hi: int) -> int:
        """The largest grid index in ``[lo, hi)`` at which the design can be built (``lo`` can, ``hi`` cannot;
        the sizes that can form one range)."""
        from simulator.runner.run import largest_where

        return largest_where(lo, hi, self._valid)

    def bisect(self, lo: int, hi: int) -> int:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            self.evaluate([mid])
            if self.reaches(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def scan_down(self, hi: int) -> bool:
        """Scan down from ``hi`` until a block is clearly below the level; False when it gave up.

        At most :data:`MAX_DOWN_BLOCKS` blocks: near a ceiling the curve is
        flat, no block is clearly below for thousands of sizes, and the scan
        ran for many minutes (a review: 12,298 sizes in 373 s).
        """
        top = hi - 1
        for _ in range(MAX_DOWN_BLOCKS):
            if top < 1:
                return True
            block = [m for m in range(top, top - SCAN_BLOCK, -1) if m >= 1]
            self.evaluate(block)
            if all(self.evaluated[m].clearly_below(self.level) for m in block):
                return True
            top -= SCAN_BLOCK
        return top < 1

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
        name = self.axis.name
        valid = [m for m, e in self.evaluated.items() if e.estimate is not None]
        above = sorted(m for m in self.invalid if not valid or m > max(valid))
        if above:
            # Larger sizes cannot carry the design (not "not reached"): say where it stopped and why.
            last = f"at {name} = {self.evaluated[max(valid)].size} it is {self.evaluated[max(valid)].estimate:.4f} ± " \
                   f"{self.evaluated[max(valid)].mcse:.4f}; " if valid else ""
            raise InputError(
                f"{self.level_key}: {self.target} {self.level} is not reached by a size that can carry the "
                f"design: {last}at {name} = {above[0] * self.unit} and above no design could be built "
                f"({self.invalid[above[0]]})"
            )
        where = f"; at {name} = {top.size} it is {top.estimate:.4f} ± {top.mcse:.4f}" if top and top.estimate is not None else ""
        raise InputError(f"{self.level_key}: {self.target} {self.level} is not reached by {self.axis.limit()}{where}")

    def run(self, start: int, factor: float) -> dict:
        """Search from the size ``start`` and return the ``size`` block (see the module docstring)."""
        start_m = math.ceil(start / self.unit)
        self.check_gates()
        lo, hi = self.bracket(start_m, factor)
        hi = self.bisect(lo, hi)
        closed = self.scan_down(hi)
        answer = min(m for m in self.evaluated if self.reaches(m))
        upper = self.scan_up(answer)
        lower = min(m for m, e in self.evaluated.items() if e.estimate is not None and e.estimate + Z * e.mcse >= self.level)
        best = self.evaluated[answer]
        block = {
            "target": self.target,
            "level": self.level,
            **best.fields,
            "interval": [lower * self.unit, None if upper is None else upper * self.unit],
            self.target: best.estimate,
            f"{self.target}_mcse": best.mcse,
            "grid_step": self.unit,
            "evaluated": [self.evaluated[m].as_dict() for m in sorted(self.evaluated)],
        }
        if not closed:
            block["flat_note"] = (
                f"the {self.target} curve is flat near {self.level}: {SCAN_BLOCK * MAX_DOWN_BLOCKS} sizes below the "
                f"crossing found no block of {SCAN_BLOCK} clearly below the level (estimate + {Z:g} MCSE < level), so "
                "the answer is set mostly by Monte Carlo error and smaller sizes than the interval's lower end may "
                "reach the level too (near an assurance ceiling: ask for a lower level); more --sims narrow it"
            )
        return block


def size_scenario(raw: dict, quiet: bool = False) -> tuple[dict, Config]:
    """The one scenario that ``size`` searches: ``(mapping, config)`` from the config mapping.

    A list-valued ``trial.n_total`` is reduced to its first value (the size is
    what is searched), with a warning unless ``quiet``; a ``[sweep]`` is bad
    input, since ``size`` answers for one scenario.
    """
    raw = copy.deepcopy(raw)
    trial = raw.get("trial")
    listed = 1
    if isinstance(trial, dict) and isinstance(trial.get("n_total"), list) and trial["n_total"]:
        listed = len(trial["n_total"])
        trial["n_total"] = trial["n_total"][0]
    sweep = raw.get("sweep")
    swept = {k: v for k, v in sweep.items() if k != "mode"} if isinstance(sweep, dict) else sweep
    if swept:
        raise InputError("config key `sweep`: `size` searches one scenario; remove [sweep] (on the command line: "
                         "--set 'sweep={}') and give each swept key its value with --set")
    raw.pop("sweep", None)
    ((_, mapping),) = expand(raw)
    config = validate(mapping)
    if listed > 1 and not quiet and size_axis(config).name != "n_total":
        # A review: CAIRO6's [300, 358, 420] was sized at 300 with one line saying so among the results. (A
        # search over the patients only starts there.)
        warnings.warn(f"trial.n_total lists {listed} sizes: size fixes the subjects at the first, "
                      f"{config.trial.n_total}, and searches the events (for another, give trial.n_total one size: "
                      "--set trial.n_total=N, or Trial.override({'trial.n_total': N}) from Python)",
                      stacklevel=2)
    return mapping, config


def analytic_start(bundle: ScenarioPlans, config: Config, rule: str, axis) -> int | None:
    """The analytic size for the power target: largest over endpoints (smallest for rule ``any``).

    Each plan on the searched axis gives its size in ``analytic()[axis.analytic_key()]``
    (patients: rpact's ``n_total_rounded``; events: Schoenfeld's events times
    the inflation factor, ``events_rounded``).  ``None`` when some endpoint
    has no truth or no size (no benefit under it).
    """
    key = axis.analytic_key()
    plans = [p for p in bundle.plans if axis.priority == 0 or kind_of(p.endpoint).size_axis(config).name == axis.name]
    first = gatekeeper(rule, config.success.multiplicity, config.success.order)
    if first is not None and any(p.endpoint.name == first for p in plans):
        plans = [p for p in plans if p.endpoint.name == first]  # a fixed sequence's first decides
    sizes = [(p.analytic(config) if p.truth is not None else {}).get(key) for p in plans]
    known = [s for s in sizes if s is not None]
    if not known:
        return None
    if rule == "all":
        return max(known) if len(known) == len(sizes) else None
    return min(known)


def check_reachable(bundle: ScenarioPlans, target: str, level: float, rule: str, axis,
                    level_key: str = "argument `--level`") -> float | None:
    """Refuse targets that no size reaches; return the assurance ceiling (or None).

    Power: every endpoint needs a truth, and (rule ``all``) every endpoint, or
    (rule ``any``) some endpoint, must have a benefit under it (an analytic
    size on its own axis).  Assurance: the ceiling is the prior probability of
    benefit, the limit of assurance as the size grows (each endpoint then
    succeeds where its true effect is favourable). The priors are
    independent between endpoints (docs/multiple_endpoints.md), so for rule
    ``all`` it is the product of the endpoints' (an endpoint without a prior
    counted as 1: its truth decides, an upper bound) and for ``any`` one
    minus the product of their complements (1 when an endpoint has no prior:
    its truth may be favourable); a level at or above it is unreachable.
    """
    plans = bundle.plans
    config = bundle.scenario.config
    first = gatekeeper(rule, config.success.multiplicity, config.success.order)
    if target == "power":
        missing = [p.endpoint.name for p in plans if p.truth is None]
        if missing:
            raise InputError(f"argument `--target power`: endpoint `{missing[0]}` has no [truth]; use --target assurance or add one")
        # No analytic size on its axis means no benefit, except under the non-proportional-hazards model (a
        # piecewise hazard ratio or cure fractions), which requires design.events and gives no analytic size
        # at all (a review: a cure model with HR 0.6 was refused as showing no benefit); its search decides.
        no_gain = [
            p.endpoint.name for p in plans
            if kind_of(p.endpoint).size_axis(config).analytic_key() not in (block := p.analytic(config))
            and "nph" not in block
        ]
        if first in no_gain:
            blocking = [first]  # a fixed sequence's first decides under rule any (a review: searched to 10^6)
        else:
            blocking = no_gain if rule == "all" or len(no_gain) == len(plans) else []
        if blocking:
            raise InputError(
                f"{level_key}: endpoint `{blocking[0]}` shows no benefit over the null under its truth, "
                f"so power cannot reach {level} at any size (its ceiling is the type I error)"
            )
        return None
    if not any(p.prior is not None for p in plans):
        raise InputError("argument `--target assurance`: no endpoint has a [prior]; add one or use --target power")
    # An endpoint whose prior P(benefit) is no ceiling (its report says why: `prior_p_benefit_note`) counts as one
    # without a prior: it may benefit whatever the prior says.
    ceilings = {p.endpoint.name: p.prior_p_benefit() for p in plans
                if p.prior is not None and "prior_p_benefit_note" not in p.describe()}
    if not ceilings:
        return None
    ceiling, detail = assurance_ceiling(ceilings, rule, len(plans), first)
    if level >= ceiling:
        raise InputError(
            f"{level_key}: assurance {level} is unreachable: its ceiling is {ceiling:.4f} "
            f"({detail}), its limit as the size grows, which a smaller size passes only by type I errors; "
            "ask for a level below it"
        )
    return ceiling


def search_digest_exclude(axis, target: str) -> tuple:
    """The keys left out of the seed digest of every size a search simulates.

    The searched key, so that every size draws from one stream (common
    random numbers); and for a power target ``design.power``, which
    ``--level`` sets: it moves decisions at most (beta-spending futility
    bounds), and in the digest it redrew the trials, so that with one seed
    a higher level could give a smaller size (a review: 82 at 0.798, 80 at
    0.80, for 8 of 29 seeds).
    """
    return axis.digest_exclude + ((("design", "power"),) if target == "power" else ())


def off_axis_gates(plans, config, axis) -> tuple[str, ...]:
    """The endpoints the search does not size whose success the trial's needs (:class:`SizeSearch` checks them).

    An events search leaves the subjects at ``trial.n_total``, and with them
    a binary or continuous endpoint's success, which caps the trial's under
    rule ``all``, or when it is a fixed sequence's first under ``any``.
    """
    if axis.priority == 0:
        return ()  # every endpoint is sized by the searched axis
    rule = config.success.rule
    first = gatekeeper(rule, config.success.multiplicity, config.success.order)
    return tuple(p.endpoint.name for p in plans
                 if kind_of(p.endpoint).size_axis(config).name != axis.name and (rule == "all" or p.endpoint.name == first))


def assurance_ceiling(ceilings: dict, rule: str, n_endpoints: int, first: str | None = None) -> tuple[float, str]:
    """``(ceiling, what it is)`` from the endpoints' prior probabilities of benefit (:func:`check_reachable`).

    ``first``: a fixed sequence's first endpoint under rule ``any`` (:func:`~simulator.design.multiplicity.gatekeeper`),
    without whose success the trial cannot succeed: its ceiling alone.

    >>> assurance_ceiling({"a": 0.9, "b": 0.8}, "all", 2)[0], round(assurance_ceiling({"a": 0.9, "b": 0.8}, "any", 2)[0], 4)
    (0.7200000000000001, 0.98)
    >>> assurance_ceiling({"a": 0.9, "b": 0.8}, "any", 2, first="b")[0]
    0.8
    """
    if first is not None:
        # A review: one minus the product of the complements (0.9992) where the sequence's first has 0.766.
        if first in ceilings:
            return ceilings[first], f"endpoint `{first}`'s prior probability of benefit, the first of the fixed sequence"
        return 1.0, f"endpoint `{first}`, the first of the fixed sequence, has no prior"
    if len(ceilings) == 1 and n_endpoints == 1:
        (name,) = ceilings
        return ceilings[name], f"endpoint `{name}`'s prior probability of benefit"
    if rule == "all":
        # A review: the smallest endpoint's (0.9565 for CAIRO6) where every endpoint must benefit (0.926).
        return (math.prod(ceilings.values()),
                "the prior probability that every endpoint with a prior benefits: the product of theirs, the "
                "priors being independent")
    if len(ceilings) < n_endpoints:
        return 1.0, "an endpoint without a prior may benefit under its truth"
    return (1.0 - math.prod(1.0 - c for c in ceilings.values()),
            "the prior probability that some endpoint benefits, the priors being independent")


def check_level(target: str, level) -> None:
    """Validate ``--target`` and ``--level``."""
    if target not in TARGETS:
        raise InputError(f"argument `--target`: must be one of {', '.join(TARGETS)}, got {toml_value(target)}")
    if level is not None and (isinstance(level, bool) or not (isinstance(level, numbers.Real) and 0.0 < level < 1.0)):
        # The value as typed: a string "0.8" from Python must not read as the number 0.8.
        shown = level if isinstance(level, numbers.Real) and not isinstance(level, bool) else repr(level)
        raise InputError(f"argument `--level`: must be in (0, 1), got {shown}")


def level_source(level) -> str:
    """How errors name the level: ``--level`` where it was given, else ``design.power``, its default (a
    review: an unreachable target named ``--level``, never passed)."""
    if level is not None:
        return "argument `--level`"
    return "config key `design.power` (the level, as --level was not given)"


@dataclass(frozen=True)
class SizeOutcome:
    """What a size search found: the ``size`` block and the simulated scenario at the answer."""

    block: dict
    bundle: ScenarioPlans
    streams: dict


def _base_plans(axis, mapping: dict, target: str) -> tuple[Config, ScenarioPlans]:
    """The config and plans the ceilings and the analytic start are computed from (``axis.base_mapping``).

    On a search over ``trial.n_total``, at the given ``n_total`` if the
    plans can be built there, else at the first size of
    :data:`~simulator.runner.run.PROVISIONAL_N_TOTAL` they can be built at,
    as ``design`` does: calendar looks at 1000 patients may expect an
    interim to have the planned maximum events already, where a smaller
    size does not. The first size's error is raised when none can be built.
    """
    from simulator.runner.run import PROVISIONAL_N_TOTAL

    given = (mapping.get("trial") or {}).get("n_total") is not None
    if axis.name != "n_total":
        sizes: tuple = (None,)
    else:
        # A given n_total is only where the search may start: one too small for the looks must not stop it (a
        # review: n_total = 7 with three looks exited 2, where the same config without it was sized at 12).
        sizes = ((None,) if given else ()) + PROVISIONAL_N_TOTAL
    first: InputError | None = None
    for n_total in sizes:
        base_mapping = axis.base_mapping(mapping) if n_total is None else axis.apply(mapping, n_total)
        try:
            base_config = validate(base_mapping)
            return base_config, build_plans(Scenario(0, {}, base_mapping, base_config),
                                            digest_exclude=axis.digest_exclude, only=(target,))
        except InputError as err:
            first = first or err
    assert first is not None
    raise first


def _plans_at(axis, mapping: dict, size: int, target: str) -> ScenarioPlans:
    """The plans of the scenario at ``size`` on the searched axis (validated, as the search builds them)."""
    at = axis.apply(mapping, size)
    return build_plans(Scenario(0, {}, at, validate(at)), digest_exclude=axis.digest_exclude, only=(target,))


def _settled_start(axis, mapping: dict, target: str, rule: str, built: int, analytic: int) -> int:
    """The analytic size computed again at the size found until it no longer moves, as ``design`` does
    (:func:`simulator.runner.run.settle`): with calendar looks (whose planned events grow with the
    subjects) or events derived from the subjects it depends on the size the plans were built at; other
    designs' does not, and settles at once. Where it cannot be settled, the first size stands (the search
    finds the answer from there)."""
    from simulator.runner.run import settle

    def analytic_at(n_total: int) -> int | None:
        bundle = _plans_at(axis, mapping, n_total, target)
        return analytic_start(bundle, bundle.scenario.config, rule, axis)

    try:
        return settle(built, analytic, analytic_at, axis.unit)[0]
    except InputError:  # the first size found cannot carry the design, nor any between: the search starts there
        return analytic


def search(
    raw: dict, *, target: str = "power", level: float | None = None, backend: str = "threads",
    scheduler: str | None = None, log=None,
) -> SizeOutcome:
    """Search the smallest size whose power or assurance reaches ``level`` (see the module docstring).

    Parameters
    ----------
    raw : dict
        The config mapping after overrides (one scenario; ``simulation.*``
        set).  For a power target with a ``level``, the caller has also set
        ``design.power = level`` (what the analytic start and any
        beta-spending futility bound are planned for).
    target : {"power", "assurance"}
        Trial success under ``truth`` or under ``prior``.
    level : float, optional
        The target, in (0, 1); default ``design.power``.
    backend, scheduler : str, optional
        Where the chunks run (see :mod:`simulator.runner.backends`).
    log : callable, optional
        Called with one line per evaluated size.
    """
    check_level(target, level)
    check_backend(backend, scheduler)
    mapping, config = size_scenario(raw)
    if config.simulation.n_sims < MIN_SIZE_SIMS:
        raise InputError(
            f"argument `--sims` (simulation.n_sims): `size` needs at least {MIN_SIZE_SIMS} simulated trials per "
            f"candidate size, got {config.simulation.n_sims}"
        )
    level_key = level_source(level)
    level = config.design.power if level is None else float(level)
    if config.adaptation is not None:
        # Its stage sizes are fixed by min_per_stage / max_per_stage: every other size fails to build, and the
        # message that said so named a size of the search (a review) or the level.
        raise InputError(
            "config key `adaptation`: `size` cannot search a re-estimation design, whose stage sizes "
            "min_per_stage and max_per_stage fix; size the design without [adaptation], then set the stages "
            "(docs/adaptive.md)"
        )
    axis = size_axis(config)
    axis.check(config)
    base_config, base = _base_plans(axis, mapping, target)
    rule = config.success.rule
    ceiling = check_reachable(base, target, level, rule, axis, level_key)
    # An estimate of 1 (or 0) from n trials only says the probability is above 1 - 3/n (the rule of three,
    # 95 %): a level closer to 1 than that cannot be told from certainty (a review: 0.9999 "reached" at 2000).
    needed = math.ceil(3.0 / min(level, 1.0 - level) - 1e-6)  # 1 - 0.9999 is a hair under 1e-4
    if config.simulation.n_sims < needed:
        raise InputError(
            f"argument `--sims` (simulation.n_sims): a level of {level:g} needs at least {needed} simulated trials "
            f"per candidate size, got {config.simulation.n_sims} (with these, "
            + (f"an estimate of 1 only says the probability is above {1.0 - 3.0 / config.simulation.n_sims:.4g})"
               if level > 0.5 else
               f"an estimate of 0 only says the probability is below {3.0 / config.simulation.n_sims:.4g})")
        )
    analytic = analytic_start(base, base_config, rule, axis) if all(p.truth is not None for p in base.plans) else None
    if analytic is not None and axis.name == "n_total":
        analytic = _settled_start(axis, mapping, target, rule, base_config.trial.n_total, analytic)
    start = analytic if analytic is not None else axis.fallback_start(base, config)
    search = SizeSearch(mapping, config, target, level, config.simulation.jobs, backend, scheduler, log,
                        off_axis_gates(base.plans, base_config, axis), level_key)
    # From an analytic start the answer is near: small steps; without one, larger.
    factor = 1.1 if analytic is not None and target == "power" else 1.5
    with session(backend, scheduler):
        block = search.run(start, factor)
    name = axis.name
    best = next(e for e in search.evaluated.values() if e.size == block[name])
    block[f"analytic_{name}"] = analytic if target == "power" else None
    block.update(axis.report(base, best, config, analytic, target))
    block[f"start_{name}"] = search.start  # the grid size the search began at (SizeSearch.bracket)
    block.update(_closed_form(best, axis, mapping, target, level, block))
    events_cap = f" up to trial.n_total = {config.trial.n_total}" if axis.name == "events" else ""
    block.update(
        ceiling=ceiling,
        axis=name,
        n_sims=config.simulation.n_sims,
        seed=config.simulation.seed,
        common_random_numbers=(f"every size uses the seed entropy (seed, digest of the scenario without {axis.key}"
                               + (" and design.power, which --level sets" if target == "power" else "") + ")"),
        rule=(
            "smallest evaluated grid size whose estimate >= level; grid = multiples of grid_step"
            + events_cap
            + f"; bracket from the start, bisection, then a downward scan in blocks of {SCAN_BLOCK} until a block "
            f"is clearly below (estimate + {Z:g} MCSE < level), at most {SCAN_BLOCK * MAX_DOWN_BLOCKS} sizes; interval = [smallest size with estimate + {Z:g} MCSE "
            f">= level, smallest size >= the answer with estimate - {Z:g} MCSE >= level]"
        ),
    )
    return SizeOutcome(block, best.bundle, best.streams)


def _closed_form(best, axis, mapping: dict, target: str, level: float, block: dict) -> dict:
    """The closed-form power or assurance at the answer of a one-endpoint search, and the exact crossing.

    ``power_closed_form`` is the endpoint's exact power where it has one
    (``power_exact``: binary enumeration, the Student t's noncentral t),
    else its analytic ``power``; ``assurance_closed_form`` its exact
    assurance (``assurance_exact``: a fixed binary design, by enumeration
    over the prior predictive), where it has one. ``*_closed_form_method``
    says which. Where the exact value at the answer is below the level (the
    simulated estimate reached it by Monte Carlo error; a review: 168
    patients, exact power 0.8965 for 0.9; another: assurance 0.5959 for
    0.6), ``exact_n_total`` is the smallest grid size at or above the
    answer, up to the interval's end, whose exact value reaches it, and
    ``closed_form_note`` says so. Nothing with several endpoints (no closed
    form for the rule), strata or ``[interim]`` rules (the analytic values
    are the design's without them).
    """
    config = best.bundle.scenario.config
    if len(best.bundle.plans) != 1 or config.strata or config.interim is not None:
        return {}
    exact, value = _closed_form_at(best.bundle.plans[0], config, target)
    if value is None:
        return {}
    out = {f"{target}_closed_form": value, f"{target}_closed_form_method": "exact" if exact else "analytic"}
    if not exact or value >= level or axis.name != "n_total":
        return out
    answer, high = block["n_total"], block["interval"][1]
    last = answer + MAX_UP_BLOCKS * SCAN_BLOCK * axis.unit if high is None else high
    found = None
    for size in range(answer + axis.unit, last + 1, axis.unit):
        bundle = _plans_at(axis, mapping, size, target)
        if _closed_form_at(bundle.plans[0], bundle.scenario.config, target)[1] >= level:
            found = size
            break
    out["exact_n_total"] = found
    out["closed_form_note"] = (
        f"the exact {target} at {answer} is {value:.6f}, below {level:g}: the simulated estimate reached the level "
        "by Monte Carlo error; " + (f"the smallest size from {answer} whose exact {target} reaches it is {found}"
                                   if found is not None else f"no size up to {last} has an exact {target} reaching it")
    )
    return out


def _closed_form_at(plan, config, target: str) -> tuple[bool, float | None]:
    """``(exact, value)``: the plan's exact power (or assurance) where it has one, else its analytic power
    (or None; no analytic assurance)."""
    values = {**plan.analytic(config), **plan.exact()}
    if values.get(f"{target}_exact") is not None:
        return True, float(values[f"{target}_exact"])
    if target != "power" or values.get("power") is None:
        return False, None
    return False, float(values["power"])


def summary(b: dict, axis) -> str:
    """The few lines ``p3sim size`` prints for the ``size`` block ``b`` searched on ``axis``."""
    target = b["target"]
    lo, hi = b["interval"]
    name = b["axis"]
    answer = b[name]
    lines = axis.summary_lines(b)
    lines[1:1] = [
        f"{target} at {answer}: {b[target]:.4f} ± {b[target + '_mcse']:.4f} (MCSE, {b['n_sims']} simulated trials)",
        f"{'events' if name == 'events' else 'sizes'} consistent with the target within {Z:g} MCSE: "
        f"{lo} to {'beyond the sizes scanned' if hi is None else hi}",
    ]
    if b.get("flat_note"):
        lines.append(f"note: {b['flat_note']}")
    if b.get(f"analytic_{name}") is not None:
        method = b.get("analytic_method") or "the endpoints' closed-form sizes"
        lines.append(f"analytic ({method}): {b[f'analytic_{name}']}")
    if b.get(f"{target}_closed_form") is not None:
        lines.append(f"{b[target + '_closed_form_method']} {target} at {answer}: {b[target + '_closed_form']:.6f}")
    if b.get("closed_form_note"):
        lines.append(f"note: {b['closed_form_note']}")
    if b.get("ceiling") is not None:
        lines.append(f"assurance ceiling (prior probability of benefit; with several endpoints, under the "
                     f"success rule): {b['ceiling']:.4f}")
    lines.append(f"{len(b['evaluated'])} sizes evaluated with common random numbers")
    return "\n".join(lines)
