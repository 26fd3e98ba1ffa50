"""What every endpoint kind shares: bounds from the design, per-look counts."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from simulator.config.schema import LARGEST_N_TOTAL, Config
from simulator.design.allocation import round_half_up, round_up_per_arm, split_total, total_for_arms
from simulator.design.boundaries import GRID_R, GroupSequentialBounds, fixed_design_drift, group_sequential_bounds
from simulator.errors import InputError
from simulator.estimate import mean_from_sums
from simulator.stats import distributions as dist
from simulator.stats.decision import REJECT_FAVOURABLE, REJECT_UNFAVOURABLE, STOP_FUTILITY, futility_floor

NO_BOUND = -np.inf
#: Largest n_total that ``size`` searches; a target not reached there is unreachable.
MAX_N_TOTAL = 1_000_000


@dataclass(frozen=True)
class Bounds:
    """z-scale bounds per look (oriented: large z favours the experimental arm).

    ``sequential`` keeps the group-sequential design they came from (``None``
    for a fixed design), for its analytic operating characteristics.
    ``futility_floor`` is the lower end of the futility region: ``-a_k`` for
    the inner wedge ``|z| < a_k`` of a two-sided design, ``-inf`` otherwise
    (the default), as :func:`simulator.stats.decision.decide_z` reads it.
    """

    efficacy: np.ndarray
    unfavourable: np.ndarray
    futility: np.ndarray
    alpha_spent: tuple[float, ...]
    sequential: GroupSequentialBounds | None = None
    futility_floor: np.ndarray | None = None

    def __post_init__(self):
        if self.futility_floor is None:
            object.__setattr__(self, "futility_floor", np.full(np.shape(self.futility), NO_BOUND))

    @property
    def inner(self) -> bool:
        """Whether futility is the inner wedge ``|z| < a_k``."""
        return bool(np.any(np.isfinite(self.futility_floor)))


@dataclass(frozen=True)
class Looks:
    """The analysis schedule of one endpoint in one scenario."""

    planned_fractions: tuple[float, ...]
    enrolled_c: np.ndarray  # patients randomised per arm at each look
    enrolled_e: np.ndarray
    evaluable_c: np.ndarray  # of whom have an outcome (after `missing`)
    evaluable_e: np.ndarray

    @property
    def realised_fractions(self) -> tuple[float, ...]:
        """Information fractions of the evaluable patients at each look.

        The information about a risk difference is proportional to
        1 / (1/n_C + 1/n_E), so with rounding per arm the fractions can differ
        slightly from the planned ones; the bounds are computed at these.
        """
        information = 1.0 / (1.0 / self.evaluable_c + 1.0 / self.evaluable_e)
        return tuple(float(v) for v in information / information[-1])

    @property
    def enrolled_total(self) -> np.ndarray:
        return self.enrolled_c + self.enrolled_e


def make_looks(config: Config) -> Looks:
    """Whole patients per arm at each look, rounding half up, strictly increasing."""
    trial, design = config.trial, config.design
    n_c, n_e = split_total(trial.n_total, trial.allocation)
    if design.look_sizes:
        sizes = design.look_sizes
        if sizes[-1] != trial.n_total:
            raise InputError(
                f"config key `design.look_sizes`: the last look must be trial.n_total = {trial.n_total}, got {sizes[-1]}"
            )
        fractions = tuple(s / trial.n_total for s in sizes)
    elif isinstance(design.looks, int):
        fractions = tuple((k + 1) / design.looks for k in range(design.looks))
    else:
        fractions = design.looks
    enrolled_c = np.array([round_half_up(f * n_c) for f in fractions], dtype=np.int64)
    enrolled_e = np.array([round_half_up(f * n_e) for f in fractions], dtype=np.int64)
    keep = 1.0 - trial.missing
    evaluable_c = np.array([round_half_up(n * keep) for n in enrolled_c], dtype=np.int64)
    evaluable_e = np.array([round_half_up(n * keep) for n in enrolled_e], dtype=np.int64)
    if trial.missing > 0 and min(evaluable_c[-1], evaluable_e[-1]) < 1:
        raise InputError(
            f"config key `trial.missing`: leaves no evaluable patient in an arm at the final look (of {n_c} and "
            f"{n_e} randomised, {evaluable_c[-1]} and {evaluable_e[-1]} evaluable); lower it or raise trial.n_total"
        )
    if np.any(np.diff(evaluable_c) <= 0) or np.any(np.diff(evaluable_e) <= 0) or min(evaluable_c[0], evaluable_e[0]) < 1:
        key, advice = (("design.look_sizes", "give look sizes further apart (each arm gets its allocation's share "
                        "of a look's patients)") if design.look_sizes else
                       ("design.looks", "use fewer looks or a larger trial.n_total"))
        raise InputError(
            f"config key `{key}`: the looks must give strictly increasing whole numbers of evaluable "
            f"patients in each arm (got control {evaluable_c.tolist()}, experimental {evaluable_e.tolist()}); "
            f"{advice}"
        )
    return Looks(fractions, enrolled_c, enrolled_e, evaluable_c, evaluable_e)


def fixed_bounds(alpha: float, sided: int) -> Bounds:
    """Bounds of a fixed (single-look) design at level ``alpha``."""
    critical = dist.norm.isf(alpha / sided)
    return Bounds(
        efficacy=np.array([critical]),
        unfavourable=np.array([-critical if sided == 2 else NO_BOUND]),
        futility=np.array([NO_BOUND]),
        alpha_spent=(alpha,),
    )


def design_bounds(config: Config, fractions: tuple[float, ...], alpha: float, r: int = GRID_R) -> Bounds:
    """Bounds at the given information fractions: fixed, or group-sequential (grid resolution ``r``,
    default :data:`simulator.design.boundaries.GRID_R`)."""
    design = config.design
    if len(fractions) == 1:
        return fixed_bounds(alpha, design.sided)
    sequential = group_sequential_bounds(
        list(fractions), alpha=alpha, sided=design.sided, efficacy=design.efficacy,
        efficacy_param=design.efficacy_param,
        futility=list(design.futility) if isinstance(design.futility, tuple) else design.futility,
        futility_param=design.futility_param, binding=design.binding, power=design.power,
        two_sided_futility=design.two_sided_futility, r=r,
    )
    efficacy = np.asarray(sequential.efficacy, dtype=float)
    futility = np.asarray(sequential.futility, dtype=float)
    return Bounds(
        efficacy=efficacy,
        unfavourable=-efficacy if design.sided == 2 else np.full(efficacy.shape, NO_BOUND),
        futility=futility,
        alpha_spent=tuple(float(a) for a in sequential.alpha_spent),
        sequential=sequential,
        futility_floor=futility_floor(futility, design.sided, sequential.inner),
    )


#: Key of the per-trial rejections in either direction that ``run_chunk`` adds
#: to its counts for the type1 stream of a two-sided design; the runner takes
#: it out (it is not summable) for the trial-level ``type1_two_sided``.
TWO_SIDED_KEY = "rejected_two_sided"


def add_two_sided(counts: dict, stream: str, sided: int, decisions) -> None:
    """Put the per-trial rejections in either direction into ``counts`` (two-sided type1 only).

    ``decisions``: the outcome codes per trial at each significance level
    (level 0 first); the array has the shape of ``run_chunk``'s success.
    """
    if stream != "type1" or sided != 2:
        return
    either = [(d == REJECT_FAVOURABLE) | (d == REJECT_UNFAVOURABLE) for d in decisions]
    counts[TWO_SIDED_KEY] = either[0] if len(either) == 1 else np.vstack(either)


def unfavourable_effects(sided: int, bounds: Bounds, effects_at) -> dict:
    """Two-sided designs: the effects at the unfavourable side's bounds (rpact's ``...EffectScaleLower``).

    ``critical_effect_unfavourable``: per look, the observed effect at which
    the statistic equals the unfavourable bound ``-b_k`` (a trial rejects in
    the unfavourable direction at or beyond it); with the inner futility
    wedge ``|z| <= a_k``, ``futility_effect_unfavourable``: the effect at its
    lower end ``-a_k`` (the trial stops for futility between it and
    ``futility_effect``). ``effects_at`` is the kind's effect at each z bound
    of an array (``None`` where none). Nothing for one-sided designs.
    """
    if sided != 2:
        return {}
    out = {"critical_effect_unfavourable": effects_at(bounds.unfavourable)}
    if bounds.inner:
        out["futility_effect_unfavourable"] = effects_at(bounds.futility_floor)
    return out


def finite_or_none(values) -> list:
    """Bounds for JSON, which has no infinity: an absent bound is ``null``."""
    return [float(v) if np.isfinite(v) else None for v in values]


def look_bounds(config: Config, looks, alpha: float) -> tuple[Bounds, Bounds]:
    """``(bounds, planned)``: at the looks' realised information fractions (what the trials are
    decided with) and at the planned ones (the design output), the same object when they agree."""
    bounds = design_bounds(config, looks.realised_fractions, alpha)
    if np.allclose(looks.realised_fractions, looks.planned_fractions, rtol=0, atol=1e-12):
        return bounds, bounds
    return bounds, design_bounds(config, looks.planned_fractions, alpha)


def per_look_counts(stop_look: np.ndarray, decision: np.ndarray, n_looks: int) -> dict:
    """Integer counts per look of each outcome (shared by every endpoint kind)."""
    key = (decision.astype(np.intp) + 1) * n_looks + stop_look  # one pass: outcome code + 1, then look
    return counts_from_tally(np.bincount(key, minlength=4 * n_looks).reshape(4, n_looks))


def counts_from_tally(tally: np.ndarray) -> dict:
    """:func:`per_look_counts` from a tally of the trials by outcome and stopping look.

    ``tally[code + 1, k]`` counts the trials with outcome ``code``
    (:mod:`simulator.stats.decision`: -1 unfavourable, 0 continue, 1
    favourable, 2 futility) stopped at look ``k``; kernels can fill it as
    they go.
    """
    tally = np.asarray(tally, dtype=np.int64)
    return {
        "reject": tally[REJECT_FAVOURABLE + 1].copy(),
        "reject_unfavourable": tally[REJECT_UNFAVOURABLE + 1].copy(),
        "futility": tally[STOP_FUTILITY + 1].copy(),
        "stopped": tally.sum(axis=0),
    }


def decide_groups(code: np.ndarray, last_look: np.ndarray, decide) -> tuple[np.ndarray, np.ndarray]:
    """Decisions of trials whose bounds depend on their own looks, one group of equal looks at a time.

    ``code`` (trials x looks) holds each trial's rounded information
    fractions, -1 at looks not tested; trials with the same row share their
    bounds. ``decide(rows, looks, codes)`` decides the trials ``rows`` at
    the tested ``looks`` (their ``codes``) and returns ``(stop, decision)``
    as indices into ``looks``. A trial with no look tested keeps its last
    look and no decision. Used by the joint engine's binary endpoints at
    calendar looks and by survival looks at calendar times or under a cap
    (:mod:`simulator.endpoints.survival_calendar`).

    Returns ``(stop_look, decision)`` per trial.
    """
    n_sims = code.shape[0]
    stop = np.asarray(last_look).astype(np.int64).copy()
    decision = np.zeros(n_sims, dtype=np.int8)
    # The trials sorted by their rows (first look first; stable, so each group's trials stay in
    # order), then cut where the row changes: the groups of np.unique(code, axis=0), in its order,
    # at a twentieth of its cost (it sorts the rows as records).
    if code.shape[1] == 0:
        return stop, decision  # no look to test (np.lexsort needs a key)
    order = np.lexsort(code.T[::-1])
    ordered = code[order]
    starts = np.flatnonzero(np.r_[n_sims > 0, np.any(ordered[1:] != ordered[:-1], axis=1)])
    ends = np.r_[starts[1:], n_sims]
    for start, end in zip(starts, ends):
        key = ordered[start]
        looks = np.nonzero(key >= 0)[0]
        if looks.size == 0:
            continue  # nothing known at any look: no test, no rejection
        rows = order[start:end]
        local_stop, local_decision = decide(rows, looks, tuple(int(v) for v in key[looks]))
        stop[rows] = looks[local_stop]
        decision[rows] = local_decision
    return stop, decision


#: Analytic and exact values that are probabilities (numerical integration can overshoot 1 by ~1e-8).
PROBABILITY_KEYS = (
    "power", "power_fixed_design", "power_exact", "size_exact", "size_exact_two_sided", "assurance_exact",
    "reject_unfavourable_exact", "reject_per_look", "futility_per_look", "reject_per_look_exact",
    "futility_per_look_exact", "size_per_look_exact",
)


def clip_probabilities(values: dict) -> dict:
    """``values`` with each probability (:data:`PROBABILITY_KEYS`, scalars or per-look lists) clipped to [0, 1].

    Examples
    --------
    >>> clip_probabilities({"power": 1.0000000068, "reject_per_look": [0.5, -1e-17], "events": 247.8})
    {'power': 1.0, 'reject_per_look': [0.5, 0.0], 'events': 247.8}
    """
    clip = lambda x: min(max(float(x), 0.0), 1.0) if x is not None else None  # noqa: E731
    out = dict(values)
    for key in PROBABILITY_KEYS:
        if key in out and out[key] is not None:
            out[key] = [clip(v) for v in out[key]] if isinstance(out[key], (list, tuple)) else clip(out[key])
    return out


def sequential_power(fixed_power: float, alpha: float, sided: int, sequential, size, unit: str = "n",
                     subjects=None) -> dict:
    """A design's analytic power and stopping probabilities from its fixed design's power (rpact's method).

    The drift that gives the fixed design ``fixed_power`` at level ``alpha``
    gives the group-sequential design (``sequential``; ``None`` for a fixed
    design) its crossing probabilities; the expected size at stopping under
    H1 (``expected_<unit>_h1``) and, for patients, under H0 is the size at
    each look (``size``: patients randomised, or events, at each look)
    weighted by the probability of stopping there, or, for a number
    ``size`` (the final look's), that number times the expected information
    fraction; for events, ``expected_events_h0`` too, and, given the
    ``subjects`` randomised by each look, ``expected_n_h1`` (rpact's
    ``expectedNumberOfSubjectsH1``). Two-sided designs also get the other tail in the same model,
    ``reject_unfavourable`` (and per look): with ``power`` it is rpact's
    two-sided ``overallReject``. A fixed design gets only that (its
    ``power`` is the caller's).
    """
    drift = fixed_design_drift(alpha, sided, min(max(fixed_power, 1e-12), 1 - 1e-12))
    if sequential is None:
        return {"reject_unfavourable": float(ndtr(ndtri(alpha / sided) - drift))} if sided == 2 else {}
    probs = sequential.probabilities(drift)

    def expected(p) -> float:
        # Patients at each look: with missing outcomes or whole patients per arm, the information fractions
        # are not the patients' (a review: 530.43 for 530.82 patients).
        return float(p.stop @ np.asarray(size, dtype=float)) if np.ndim(size) else size * float(p.expected_fraction)

    out = {
        "power": float(probs.power),
        "power_fixed_design": float(fixed_power),
        "reject_per_look": np.asarray(probs.reject_upper).tolist(),
        "futility_per_look": np.asarray(probs.futility).tolist(),
        f"expected_{unit}_h1": expected(probs),
    }
    if sided == 2:
        out["reject_unfavourable"] = float(np.sum(probs.reject_lower))
        out["reject_unfavourable_per_look"] = np.asarray(probs.reject_lower).tolist()
    out[f"expected_{unit}_h0"] = expected(sequential.probabilities(0.0))
    if unit == "n":
        out["inflation_factor"] = float(sequential.inflation_factor)
    elif subjects is not None:
        out["expected_n_h1"] = float(probs.stop @ np.asarray(subjects, dtype=float))
    return out


def design_size(evaluable: float, config: Config, planned) -> dict:
    """The patients for ``design.power`` from the evaluable patients a fixed design needs.

    Missing outcomes raise the patients randomised; a group-sequential design
    (``planned``: its planned bounds) multiplies them by its inflation factor
    (rpact's maximum sample size). ``n_total_design`` is the unrounded total,
    ``n_per_arm`` whole patients in the allocation ratio, rounded up.
    """
    out: dict = {}
    enrolled = evaluable / (1.0 - config.trial.missing)
    if planned is not None:
        out["n_total_fixed_design"] = enrolled
        enrolled *= planned.inflation_factor
        out["inflation_factor_planned"] = float(planned.inflation_factor)
        # At the design's own maximum (rpact's ASN times the fixed size), not at the configured
        # n_total (`expected_n_h1` of sequential_power).
        out["expected_n_h1_design"] = enrolled * planned.expected_fraction_h1
        out["expected_n_h0_design"] = enrolled * planned.expected_fraction_h0
    # The arms rounded up, then the total whose split (what `run` simulates at it) gives them both.
    total, per_arm = total_for_arms(round_up_per_arm(enrolled, config.trial.allocation, config.trial.missing),
                                    config.trial.allocation)
    out.update(n_total_design=enrolled, n_per_arm=list(per_arm), n_total_rounded=total)
    if out["n_total_rounded"] > LARGEST_N_TOTAL:
        # A review: `design` printed 4728340376 patients without a word, a size no config can give.
        add_note(out, f"the size for design.power, {out['n_total_rounded']}, is above the largest trial.n_total a "
                      f"config can give ({LARGEST_N_TOTAL}): the effect is too small to size a trial for")
    return out


def expected_patients(counts: dict, enrolled_total: np.ndarray) -> dict:
    """Expected patients randomised at the stopping look, with its MCSE, from a stream's counts.

    With fixed looks the counts of trials stopped at each look weigh the
    looks' sizes. Analysed at a survival endpoint's calendar looks (a joint
    trial), the patients per look vary by trial: the counts then carry their
    sum and sum of squares, and the mean information fraction reached at
    each look (reported too).
    """
    if "enrolled_sum" not in counts:
        mean, mcse = mean_and_mcse(counts["stopped"].astype(float), np.asarray(enrolled_total, dtype=float))
        return {"expected_n": mean, "expected_n_mcse": mcse}
    n = int(counts["stopped"].sum())
    mean, mcse = mean_from_sums(float(counts["enrolled_sum"][0]), float(counts["enrolled_sq"][0]), n)
    out = {"expected_n": mean, "expected_n_mcse": mcse}
    if "fraction_sum" in counts:
        sums, squares = counts["fraction_sum"].tolist(), counts["fraction_sq"].tolist()
        out["realised_fractions"] = (counts["fraction_sum"] / n).tolist()
        out["realised_fractions_mcse"] = [mean_from_sums(s, q, n)[1] for s, q in zip(sums, squares)]
        tested = counts["fraction_tested"].tolist()
        # Over the trials that tested each look (null where none did).
        out["tested_fractions"] = [float(s / t) if t else None for s, t in zip(sums, tested)]
        out["tested_fractions_mcse"] = [mean_from_sums(s, q, t)[1] if t else None for s, q, t in zip(sums, squares, tested)]
        # The bounds the trials used, each trial at its own fractions: their means over the trials testing each
        # look (null where none did; the cumulative alpha stays at the previous look's there).
        for key in ("efficacy", "futility"):  # over the trials with such a bound at the look (null: none had one)
            out[f"{key}_bounds"] = [float(s / m) if m else None for s, m in
                                    zip(counts[f"{key}_bound_sum"].tolist(), counts[f"{key}_bound_count"].tolist())]
        spent, previous = [], 0.0
        for s, t in zip(counts["alpha_spent_sum"].tolist(), tested):
            previous = float(s / t) if t else previous
            spent.append(previous)
        out["alpha_spent"] = spent
        out["evaluable_per_look"] = (counts["evaluable_sum"] / n).tolist()
        out["evaluable_per_look_mcse"] = [mean_from_sums(float(s), float(q), n)[1] for s, q in
                                          zip(counts["evaluable_sum"].tolist(), counts["evaluable_sq"].tolist())]
        out["realised_fractions_note"] = (
            "analysed at the survival looks' calendar times: mean over simulated trials of each look's "
            "information fraction (0 where a look adds no information); bounds use each trial's own fractions"
        )
    return out


def analytic_and_exact(plan, config: Config) -> dict:
    """A plan's analytic and exact values in one block, probabilities clipped, their notes in one line.

    ``exact()`` may give an ``exact_note``; it joins the analytic ``note``
    (:func:`add_note`) instead of replacing it.
    """
    block = clip_probabilities({**plan.analytic(config), **plan.exact()})
    extra = block.pop("exact_note", None)
    if extra:
        add_note(block, extra)
    return block


#: How an exact-size note begins (``exact()``'s ``exact_note`` where a test's exact size is above its level):
#: the report builder gives no simulated type I error sentence beside one.
EXACT_SIZE_NOTE = "the exact size of"


def add_note(block: dict, text: str) -> None:
    """Add ``text`` to ``block["note"]`` (the analytic block's one line, printed under the tables), after any there."""
    note = block.get("note")
    block["note"] = f"{note}; {text}" if isinstance(note, str) else text


def bounds_at_mean_looks(plan, config: Config, block: dict) -> dict:
    """The effects of an endpoint read at a survival endpoint's looks, at the bounds its trials used.

    Each trial tested against bounds at its own information fractions
    (:mod:`simulator.endpoints.joint`), so no one set of bounds is the
    simulation's: ``block["efficacy_bounds"]``, ``futility_bounds`` and
    ``alpha_spent`` are already the means of the ones used, over the trials
    that tested each look (:func:`expected_patients`). This adds the effects
    at those bounds and the mean evaluable patients per look (split by the
    allocation), and ``bounds_note`` saying so. (Fisher's test, whose
    counts are tabulated for fixed sizes, is refused at survival looks.)
    Returns the keys to set; ``look_sizes`` (the planned patients per look,
    which do not apply) is ``None``: to be removed.
    """
    efficacy = np.array([np.inf if b is None else b for b in block["efficacy_bounds"]], dtype=float)
    futility = np.array([-np.inf if b is None else b for b in block["futility_bounds"]], dtype=float)
    out: dict = {"look_sizes": None}
    bounds = dataclasses.replace(plan.bounds, efficacy=efficacy, futility=futility,
                                 unfavourable=-efficacy if plan.sided == 2 else plan.bounds.unfavourable,
                                 futility_floor=np.where(np.isfinite(futility), -futility, -np.inf) if plan.bounds.inner
                                 else plan.bounds.futility_floor)
    control, experimental = config.trial.allocation
    evaluable = np.asarray(block["evaluable_per_look"], dtype=float)
    evaluable_e = np.maximum(np.rint(evaluable * experimental / (control + experimental)), 1).astype(np.int64)
    evaluable_c = np.maximum(np.rint(evaluable).astype(np.int64) - evaluable_e, 1)
    looks = dataclasses.replace(plan.looks, evaluable_c=evaluable_c, evaluable_e=evaluable_e)
    out.update(dataclasses.replace(plan, looks=looks, bounds=bounds).effect_bounds())
    out["bounds_note"] = (
        "each trial used bounds at its own information fractions; the bounds and alpha spent shown are their "
        "means over the trials that tested each look (tested_fractions), the effects those of the mean bounds "
        "at the mean evaluable patients per look"
    )
    return out


def mean_and_mcse(weights: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error of a variable taking ``values[k]`` ``weights[k]`` times."""
    n = weights.sum()
    mean = float((weights * values).sum() / n)
    variance = float((weights * (values - mean) ** 2).sum() / max(n - 1, 1))
    return mean, float(np.sqrt(variance / n))


@dataclass(frozen=True)
class PatientAxis:
    """``trial.n_total`` on the grid of whole allocation units (what ``size`` searches for patients).

    The search itself (:mod:`simulator.runner.size`) is the same for every
    axis; an axis says what it moves, its grid and its bounds, where to
    start, and what the size block reports besides the size.
    """

    allocation: tuple[int, int]

    name = "n_total"
    key = "trial.n_total"
    digest_exclude = (("trial", "n_total"),)
    priority = 0  # the axis of the endpoint with the highest priority is searched

    @property
    def unit(self) -> int:
        """Patients in one allocation unit (1:2 -> 3)."""
        a, b = self.allocation
        g = math.gcd(a, b)
        return a // g + b // g

    @property
    def max_size(self) -> int:
        return MAX_N_TOTAL

    def limit(self) -> str:
        return f"any n_total up to {MAX_N_TOTAL}"

    def per_arm(self, n_total: int) -> list[int]:
        return list(split_total(n_total, self.allocation))

    def fields(self, n_total: int) -> dict:
        """What ``evaluated`` shows of a size."""
        return {"n_total": n_total, "n_per_arm": self.per_arm(n_total)}

    def apply(self, mapping: dict, n_total: int) -> dict:
        out = copy.deepcopy(mapping)
        out.setdefault("trial", {})["n_total"] = n_total
        return out

    def base_mapping(self, mapping: dict) -> dict:
        """The mapping the base plans (ceilings, analytic sizes) are built from.

        Without ``trial.n_total`` (a search needs none with an analytic start)
        any valid size serves: those values do not depend on it.
        """
        if (mapping.get("trial") or {}).get("n_total") is None:
            return self.apply(mapping, 1000)
        return mapping

    def check(self, config) -> None:
        """Refuse designs whose looks cannot scale with the searched size."""
        from simulator.errors import InputError

        if config.design.look_sizes:
            raise InputError(
                "config key `design.look_sizes`: fixes absolute look sizes, which `size` cannot scale with "
                "n_total; give the looks as design.looks (a count or fractions)"
            )

    def analytic_key(self) -> str:
        """The key of an endpoint's ``analytic()`` block that holds its size on this axis."""
        return "n_total_rounded"

    def fallback_start(self, bundle, config) -> int:
        """Where to start without an analytic size (assurance): the configured size."""
        if config.trial.n_total is None:
            from simulator.errors import InputError

            raise InputError(
                "config key `trial.n_total`: is required as the start of this search (some endpoint has no truth "
                "to compute an analytic size from)"
            )
        return int(config.trial.n_total)

    def report(self, base, best, config, analytic, target) -> dict:
        """Further fields of the size block (none for patients)."""
        return {}

    def summary_lines(self, block: dict) -> list[str]:
        per_arm = " / ".join(str(n) for n in block["n_per_arm"])
        return [
            f"smallest n_total with {block['target']} >= {block['level']}: {block['n_total']} "
            f"({per_arm} per arm, steps of {block['grid_step']})"
        ]


class PatientKind:
    """Defaults of an endpoint kind analysed at numbers of patients (binary, continuous).

    A kind subclasses it and sets ``name``, ``tests`` and ``figures_module``
    and writes ``parse`` and ``plan`` (:class:`simulator.endpoints.registry.EndpointKind`).
    """

    sets_calendar = False
    has_missing_outcomes = True
    csv_columns: tuple[str, ...] = ()
    figures_module = ""

    def size_axis(self, config) -> PatientAxis:
        return PatientAxis(tuple(config.trial.allocation))

    def complete(self, raw, scenarios, validate):
        return scenarios, {}

    def figures(self, name, report, scenarios) -> list:
        # Imported when drawn: matplotlib and the figure code stay out of a run that draws nothing.
        return importlib.import_module(self.figures_module).figures(name, report, scenarios)

    def check_in_joint(self, endpoint, calendar: bool) -> None:
        return None
