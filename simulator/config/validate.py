"""Turn a resolved TOML mapping into a frozen :class:`~simulator.config.schema.Config`.

One step, one place: every key is read here (each endpoint table by its
kind's parser, found in the registry of :mod:`simulator.endpoints`),
checked against its allowed values, and any key left over is rejected with
a did-you-mean suggestion. Messages name the dotted key and state what is
allowed, because the command line prints them as the only line the user
sees. The design and engine layers assume validated input.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

from simulator.config import adaptive
from simulator.config.fields import (
    RESERVED_ARM_NAMES,
    Table,
    as_bool,
    as_choice,
    as_float,
    as_int,
    as_label,
    as_name,
    closest,
    fail,
    toml_key,
    toml_value,
    unknown_key,
)
from simulator.config.schema import (
    DEFAULT_SEED,
    LARGEST_N_TOTAL,
    RANDOMISATION,
    Config,
    Design,
    Labels,
    ParseContext,
    Simulation,
    StratumFactor,
    Success,
    Trial,
)
from simulator.design.boundaries import (
    EFFICACY_CODES,
    FUTILITY_CODES,
    MAX_LOOKS,
    TWO_SIDED_FUTILITY,
    check_design,
    takes_param,
)
from simulator.endpoints import get_kind, kind_names
from simulator.endpoints import joint_rules as joint
from simulator.endpoints.survival_spec import MONTHS, RATIO
from simulator.errors import InputError

TOP_LEVEL = (
    "trial", "endpoints", "design", "simulation", "success", "correlation", "sweep", "strata", "interim", "adaptation",
)
MULTIPLICITY = ("none", "bonferroni", "holm", "fixed_sequence")


# ---------------------------------------------------------------- sections
def _trial(data: Any) -> Trial:
    t = Table(data, "trial")
    name = as_label(t.take("name", "trial"), "trial.name")
    if not name.strip():
        # A review: "" titled the reports ": simulation report".
        raise fail("trial.name", 'must not be blank: it titles the reports (leave it out for "trial")', name)
    arms = t.take("arms", ["control", "experimental"])
    if (
        not isinstance(arms, list)
        or len(arms) != 2
        or not all(isinstance(a, str) and a for a in arms)
        or arms[0] == arms[1]
    ):
        raise fail("trial.arms", "must be two distinct arm names, control first", arms)
    for arm in arms:
        as_name(arm, "trial.arms", "arm")
        if arm in RESERVED_ARM_NAMES:
            raise fail("trial.arms", f"{toml_value(arm)} is reserved (a key beside the arms in prior and truth "
                                     f"tables); reserved: {', '.join(RESERVED_ARM_NAMES)}", arms)
    labels = t.take("labels", {})
    lt = Table(labels, "trial.labels")
    arm_labels = tuple((arm, as_label(lt.take(arm), f"trial.labels.{arm}")) for arm in arms if lt.has(arm))
    lt.known[:] = list(arms)  # the allowed keys are the arm names, taken or not
    lt.finish()
    allocation = t.take("allocation", [1, 1])
    if not isinstance(allocation, list) or len(allocation) != 2:
        raise fail("trial.allocation", "must be [control, experimental], two positive integers", allocation)
    allocation = tuple(as_int(a, "trial.allocation", low=1, high=100) for a in allocation)
    # Optional: `design` and a patients' `size` search compute it; simulating needs it (Trial.simulate says so).
    n_total = t.take("n_total")
    if n_total is not None:
        n_total = as_int(n_total, "trial.n_total", low=2, high=LARGEST_N_TOTAL)
    missing = as_float(
        t.take("missing", 0.0), "trial.missing", allowed="in [0, 1)", check=lambda v: 0.0 <= v < 1.0
    )
    randomisation = as_choice(t.take("randomisation", "simple"), "trial.randomisation", RANDOMISATION)
    # A method's own parameter is checked always and ignored by the other methods, so that a sweep over
    # trial.randomisation can carry it (config.load refuses it when no scenario uses its method).
    block_size = t.take("block_size")
    if block_size is not None:
        block_size = as_int(block_size, "trial.block_size", low=2, high=1000)
        if randomisation != "blocks":
            block_size = None
    elif randomisation == "blocks":
        block_size = 2 * sum(allocation)
    if block_size is not None and block_size % sum(allocation):
        raise fail("trial.block_size", f"must be a multiple of the allocation's sum, {sum(allocation)} "
                   f"(trial.allocation = {list(allocation)})", block_size)
    probability = t.take("minimisation_probability")
    if probability is not None:
        probability = as_float(probability, "trial.minimisation_probability",
                               allowed="in [0.5, 1] (the chance of the arm that minimises the imbalance)",
                               check=lambda v: 0.5 <= v <= 1.0)
        if randomisation != "minimisation":
            probability = None
    elif randomisation == "minimisation":
        probability = 0.8
    t.finish()
    trial = Trial(name=name, arms=(arms[0], arms[1]), allocation=allocation, n_total=n_total, missing=missing,
                  randomisation=randomisation, block_size=block_size, minimisation_probability=probability)
    return trial, arm_labels


#: Most crossed strata (cells) a trial may have.
MAX_STRATA_CELLS = 256
#: Most levels of one stratification factor.
MAX_STRATUM_LEVELS = 32


def _strata(data: Any) -> tuple[StratumFactor, ...]:
    """``[strata.NAME]`` tables: ``share`` per level, optional ``hazard_multiplier`` / ``odds_multiplier``."""
    if not isinstance(data, dict):
        raise fail("strata", "must be tables [strata.NAME] with `share = [...]`", data)
    factors = []
    cells = 1
    for name, table in data.items():
        # The name is written into every report (a review: NUL, line breaks and bidi overrides went through).
        as_name(name, "strata", "strata factor")
        path = f"strata.{name}"
        t = Table(table, path)
        share = t.require("share", "the prevalence of each level, summing to 1 (e.g. [0.6, 0.4])")
        if not isinstance(share, list) or not 2 <= len(share) <= MAX_STRATUM_LEVELS:
            raise fail(f"{path}.share", f"must be a list of 2 to {MAX_STRATUM_LEVELS} level prevalences", share)
        shares = tuple(as_float(v, f"{path}.share", allowed="in (0, 1)", check=lambda v: 0 < v < 1) for v in share)
        if abs(sum(shares) - 1.0) > 1e-9:
            raise fail(f"{path}.share", f"must sum to 1 (sums to {sum(shares):.10g})", share)
        multipliers = []
        for key in ("hazard_multiplier", "odds_multiplier"):
            value = t.take(key, [1.0] * len(shares))
            if not isinstance(value, list) or len(value) != len(shares):
                raise fail(f"{path}.{key}", f"must be a list of {len(shares)} numbers in [{RATIO[0]:g}, {RATIO[1]:g}], one "
                           "per level of `share`", value)
            # The hazard ratios' range (a review: 1e300 put a stratum's hazards far outside their documented one).
            multipliers.append(tuple(as_float(v, f"{path}.{key}", allowed=f"in [{RATIO[0]:g}, {RATIO[1]:g}]",
                                              check=lambda v: RATIO[0] <= v <= RATIO[1]) for v in value))
        t.finish()
        cells *= len(shares)
        if cells > MAX_STRATA_CELLS:
            raise fail(f"{path}.share", f"the crossed factors would make more than {MAX_STRATA_CELLS} strata", share)
        factors.append(StratumFactor(str(name), shares, multipliers[0], multipliers[1]))
    return tuple(factors)


def _check_strata(strata: tuple[StratumFactor, ...], trial: Trial, endpoints: tuple[Any, ...],
                  correlation: tuple[tuple[str, float], ...]) -> None:
    """What strata need of the rest of the config, named by its key.

    An endpoint kind that models strata declares, as the class attribute
    ``STRATA_KEY`` of its endpoint dataclass, the multiplier it reads
    (``hazard_multiplier``, ``odds_multiplier``).
    """
    for endpoint in endpoints:
        if getattr(endpoint, "stratified", False) and not strata:
            raise fail(f"endpoints.{endpoint.name}.stratified", "needs at least one [strata.NAME] table", True)
    if trial.randomisation != "simple" and not strata:
        raise fail("trial.randomisation", f'"{trial.randomisation}" needs at least one [strata.NAME] table (the '
                   "factors minimisation balances, the strata whose blocks are filled)", trial.randomisation)
    if not strata:
        return
    for endpoint in endpoints:
        if not hasattr(endpoint, "STRATA_KEY"):
            raise fail("strata", f"cannot be used with endpoint `{endpoint.name}` (kind = \"{endpoint.kind}\"), "
                       "whose simulation does not model strata", show_value=False)
    if joint.simulated_jointly(endpoints, correlation):
        raise fail("strata", "is not supported yet for endpoints simulated jointly (a non-zero [correlation], "
                   "or binary endpoints with a survival endpoint)", show_value=False)
    used = {endpoint.STRATA_KEY for endpoint in endpoints}
    for factor in strata:
        for key in ("hazard_multiplier", "odds_multiplier"):
            if key not in used and any(v != 1.0 for v in getattr(factor, key)):
                raise fail(f"strata.{factor.name}.{key}", "has no endpoint to act on in this trial", list(getattr(factor, key)))
    if trial.missing > 0:
        raise fail("trial.missing", "must be 0 with strata (missing outcomes per stratum are not modelled yet)",
                   trial.missing)


def _endpoints(data: Any, context: ParseContext) -> tuple[Any, ...]:
    if not isinstance(data, dict) or not data:
        raise fail("endpoints", "needs at least one [endpoints.NAME] table", data, show_value=False)
    endpoints, labels = [], []
    for name, table in data.items():
        as_name(name, f"endpoints.{name}", "endpoint")
        if not isinstance(table, dict):
            raise fail(f"endpoints.{name}", "must be a table", table)
        if "kind" not in table:
            # Most likely a misspelt endpoint name in a dotted key (`--set endpoints.rsp.truth...`).
            others = [other for other, t in data.items() if other != name and isinstance(t, dict) and "kind" in t]
            close = closest(name, others)
            if close:
                raise InputError(f"config key `endpoints.{name}`: no endpoint is called {toml_value(name)}; "
                                 f"did you mean `endpoints.{close}`? (a new endpoint needs a `kind`)")
            kinds = ", ".join(f'"{k}"' for k in kind_names())
            Table(table, f"endpoints.{name}").require("kind", f"one of {kinds}")
        if "label" in table:
            labels.append((name, as_label(table["label"], f"endpoints.{name}.label")))
        kind = get_kind(table.get("kind"), f"endpoints.{name}.kind")
        endpoints.append(kind.parse(name, table, context))
    return tuple(endpoints), tuple(labels)


def _fractions(value: Any, key: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_LOOKS:
        raise fail(key, f"must be an integer K in [1, {MAX_LOOKS}] or a list of increasing fractions ending in 1.0", value)
    fractions = tuple(
        as_float(v, key, allowed="in (0, 1]", check=lambda v: 0 < v <= 1) for v in value
    )
    if any(b <= a for a, b in zip(fractions, fractions[1:])) or fractions[-1] != 1.0:
        raise fail(key, "fractions must increase strictly and end in 1.0", value)
    return fractions


def _int_list(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > MAX_LOOKS:
        raise fail(key, f"must be a list of at most {MAX_LOOKS} increasing positive integers", value)
    # Patients or events, so no more than the largest trial.n_total (2**63 overflowed the kernels' integers).
    values = tuple(as_int(v, key, low=1, high=LARGEST_N_TOTAL) for v in value)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise fail(key, "must increase strictly", value)
    return values


def _look_times(value: Any) -> tuple[float, ...]:
    key = "design.look_times"
    if not isinstance(value, list) or len(value) > MAX_LOOKS:
        raise fail(key, f"must be a list of at most {MAX_LOOKS} increasing calendar times (months from the first "
                   "patient in)", value)
    times = tuple(
        as_float(v, key, allowed=f"in (0, {MONTHS[1]:g}] (months after the first patient in; a look at or before "
                 "it has no data)", check=lambda v: 0 < v <= MONTHS[1])
        for v in value
    )
    if any(b <= a for a, b in zip(times, times[1:])):
        raise fail(key, "must increase strictly", value)
    return times


def _design(data: Any) -> Design:
    t = Table(data, "design")
    alpha = as_float(t.take("alpha", 0.025), "design.alpha", allowed="in (0, 0.5)", check=lambda v: 0 < v < 0.5)
    sided = t.take("sided", 1)
    if isinstance(sided, float) and sided in (1.0, 2.0):
        sided = int(sided)  # a whole number written as a float, as every integer key takes it (a review)
    if isinstance(sided, bool) or not isinstance(sided, int) or sided not in (1, 2):
        raise fail("design.sided", "must be 1 or 2", sided)
    power = as_float(
        t.take("power", 0.8), "design.power", allowed=f"in ({alpha / sided:g}, 1)", check=lambda v: alpha / sided < v < 1
    )
    looks_given = t.has("looks")
    looks = t.take("looks", 1)
    if isinstance(looks, list):
        looks = _fractions(looks, "design.looks")
        if len(looks) == 1:
            looks = 1
    else:
        looks = as_int(looks, "design.looks", low=1, high=MAX_LOOKS)
    look_sizes = _int_list(t.take("look_sizes", []), "design.look_sizes")
    look_events = _int_list(t.take("look_events", []), "design.look_events")
    efficacy = as_choice(t.take("efficacy", "asOF"), "design.efficacy", EFFICACY_CODES)
    efficacy_param = t.take("efficacy_param")
    if isinstance(efficacy_param, list):
        efficacy_param = tuple(
            # asUser's cumulative alphas: 0 spends nothing at that look (no efficacy stop there, as rpact).
            as_float(v, "design.efficacy_param", allowed="in [0, 1)", check=lambda v: 0 <= v < 1) for v in efficacy_param
        )
    elif efficacy_param is not None:
        efficacy_param = as_float(efficacy_param, "design.efficacy_param", allowed="(finite)", check=lambda v: True)
    futility = t.take("futility", "none")
    if isinstance(futility, list):
        # TOML's -inf is "no futility bound at that look" (docs/group_sequential.md); the string "-inf" is how
        # report.json writes it in meta.config (JSON has no infinity), so that config runs again as written.
        futility = tuple(
            -math.inf if (isinstance(v, float) and v == -math.inf) or v == "-inf"
            else as_float(v, "design.futility", allowed="(a z value, or -inf for none at that look)", check=lambda v: True)
            for v in futility
        )
    else:
        futility = as_choice(futility, "design.futility", FUTILITY_CODES)
    futility_param = t.take("futility_param")
    if futility_param is not None:
        futility_param = as_float(futility_param, "design.futility_param", allowed="(finite)", check=lambda v: True)
    binding = as_bool(t.take("binding", False), "design.binding")
    # Ignored by one-sided designs (config.load refuses it when no scenario is two-sided).
    two_sided_futility = as_choice(
        t.take("two_sided_futility", "inner"), "design.two_sided_futility", TWO_SIDED_FUTILITY
    )
    events = t.take("events")
    if events is not None:
        events = as_int(events, "design.events", low=1, high=LARGEST_N_TOTAL)
    look_times = _look_times(t.take("look_times", []))
    max_duration = t.take("max_duration")
    if max_duration is not None:
        max_duration = as_float(max_duration, "design.max_duration",
                                allowed=f"in (0, {MONTHS[1]:g}] (months from the first patient in)",
                                check=lambda v: 0 < v <= MONTHS[1])
    if look_times and (look_events or look_sizes):
        key = "design.look_events" if look_events else "design.look_sizes"
        raise fail("design.look_times", f"cannot be given with `{key}`: give the looks one way", list(look_times))
    if look_times and looks != 1 and (isinstance(looks, int) and looks != len(look_times)):
        raise fail("design.looks", f"must be left out with design.look_times (its {len(look_times)} looks)", looks)
    if look_times and not isinstance(looks, int):
        raise fail("design.looks", "must be left out with design.look_times (the looks are calendar times)", list(looks))
    if look_times and max_duration is not None and max_duration < look_times[-1]:
        raise fail(
            "design.max_duration",
            f"must not be shorter than the last calendar look, design.look_times = {list(look_times)} "
            "(a look after the end of the trial never happens)", max_duration,
        )
    t.finish()
    # The boundary family's own parameter checks, run here so that they are
    # reported as config errors when the config is read, not when a plan is built.
    if look_events or look_sizes or look_times:
        schedule: int | list[float] = len(look_events or look_sizes or look_times)
        n_looks = looks if isinstance(looks, int) else len(looks)
        if looks_given and n_looks != schedule:
            # Two answers to "how many looks": refuse rather than let one silently win.
            key = "design.look_events" if look_events else "design.look_sizes" if look_sizes else "design.look_times"
            raise fail(key, f"gives {schedule} looks but `design.looks` gives {n_looks}; give the looks one way",
                       list(look_events or look_sizes or look_times))
    else:
        schedule = looks if isinstance(looks, int) else list(looks)
    check_design(
        schedule,
        alpha=alpha, sided=sided, power=power, efficacy=efficacy, efficacy_param=efficacy_param,
        futility=list(futility) if isinstance(futility, tuple) else futility, futility_param=futility_param,
        binding=binding, two_sided_futility=two_sided_futility,
    )
    # A parameter its family does not read is ignored (docs/config.md): it is dropped, so that the scenario
    # is the one without it, seed digest included (a review: `efficacy_param = 2` beside asOF drew other trials).
    efficacy_param = efficacy_param if takes_param(efficacy) else None
    futility_param = futility_param if takes_param(futility) else None
    return Design(
        alpha, sided, power, looks, look_sizes, look_events, efficacy, efficacy_param, futility, futility_param,
        binding, events, two_sided_futility, look_times, max_duration,
    )


#: The ranges of [simulation]'s counts; the command line's --sims, --seed and --jobs and the API's ``n_sims``,
#: ``seed`` and ``jobs`` are checked against them too (:func:`count_error`), so that their errors name them.
SIMULATION_COUNTS = {"n_sims": (1, 10**11), "seed": (0, 2**63 - 1), "jobs": (0, 4096)}


def count_error(name: str, value: Any) -> str | None:
    """``must be ...`` where ``value`` is not an integer (NumPy's included) in the range of the count ``name``,
    else ``None``."""
    low, high = SIMULATION_COUNTS[name]
    allowed = "must be a positive integer" if low == 1 else f"must be an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return allowed
    if low <= value <= high:
        return None
    return allowed + (f" and at most {high}" if value > high else "")


def _simulation(data: Any) -> Simulation:
    t = Table(data, "simulation")
    counts = SIMULATION_COUNTS
    n_sims = as_int(t.take("n_sims", 100_000), "simulation.n_sims", low=counts["n_sims"][0], high=counts["n_sims"][1])
    seed = as_int(t.take("seed", DEFAULT_SEED), "simulation.seed", low=counts["seed"][0], high=counts["seed"][1])
    jobs = as_int(t.take("jobs", 0), "simulation.jobs", low=counts["jobs"][0], high=counts["jobs"][1])
    null = as_bool(t.take("null", False), "simulation.null")
    t.finish()
    return Simulation(n_sims, seed, jobs, null)


def _success(data: Any, names: tuple[str, ...]) -> Success:
    t = Table(data, "success")
    rule = as_choice(t.take("rule", "all"), "success.rule", ("all", "any"))
    multiplicity = as_choice(
        t.take("multiplicity", "none"), "success.multiplicity", ("none", "bonferroni", "holm", "fixed_sequence")
    )
    # Before the order: with rule all the procedure is the conflict (a review).
    if rule == "all" and multiplicity != "none":
        raise fail("success.multiplicity", 'must be "none" with rule = "all" (every test at full alpha)', multiplicity)
    order = t.take("order", [])
    if not isinstance(order, list):
        raise fail("success.order", "must be a list of endpoint names", order)
    for name in order:
        if name not in names:
            raise fail("success.order", f"must name endpoints ({', '.join(names)})", name)
    # An order beside another procedure is ignored there, so that a sweep over the procedure can carry it; given
    # where no scenario has a fixed sequence it is refused (config.load, a review).
    if multiplicity == "fixed_sequence" and sorted(order) != sorted(names):
        raise fail("success.order", "must list every endpoint once for fixed_sequence", order)
    t.finish()
    return Success(rule, multiplicity, tuple(order))


def _correlation(data: Any, names: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """``[correlation]``: ``"a.b" = r`` in (-1, 1); the matrix over all endpoints must be positive definite.

    Pairs not given are 0. A latent correlation matrix that is not positive
    definite has no Gaussian copula (no Cholesky factor), so it is rejected
    here rather than failing inside a worker.
    """
    t = Table(data, "correlation")
    pairs = []
    seen: dict[frozenset, str] = {}
    for key in list(t.data):
        value = as_float(t.take(key), f"correlation.{key}", allowed="in (-1, 1)", check=lambda v: -1 < v < 1)
        parts = key.split(".")
        if len(parts) != 2 or any(p not in names for p in parts):
            raise fail(f"correlation.{key}", f'keys must be "a.b" with endpoint names ({", ".join(names)})', key)
        if parts[0] == parts[1]:
            raise fail(f"correlation.{key}", "must pair two different endpoints (an endpoint's own correlation is 1)", key)
        pair = frozenset(parts)
        if pair in seen:
            raise fail(f"correlation.{key}", f"gives the same pair as `correlation.{seen[pair]}`; give it once", key)
        seen[pair] = key
        pairs.append((key, value))
    matrix = joint.correlation_matrix(names, tuple(pairs))
    smallest = float(np.linalg.eigvalsh(matrix)[0])
    if smallest <= 1e-10:
        raise InputError(
            f"config key `correlation`: the correlation matrix of the endpoints ({', '.join(names)}) must be "
            f"positive definite, but its smallest eigenvalue is {smallest:.4g}; make the pairwise correlations "
            "mutually consistent (e.g. smaller in size)"
        )
    return tuple(pairs)


def validate(raw: dict) -> Config:
    """Validate one resolved scenario mapping (no list-valued sizes, no sweep).

    Parameters
    ----------
    raw : dict
        The TOML mapping after overrides and scenario expansion.

    Returns
    -------
    Config
        Frozen, validated configuration.

    Raises
    ------
    InputError
        Naming the first offending key and what is allowed.
    """
    for key in raw:
        if key not in TOP_LEVEL:
            raise unknown_key(toml_key(key), key, TOP_LEVEL)
    trial, arm_labels = _trial(raw.get("trial", {}))
    design = _design(raw.get("design", {}))
    endpoints, endpoint_labels = _endpoints(raw.get("endpoints"), ParseContext(trial.arms, design.sided))
    names = tuple(e.name for e in endpoints)
    simulation = _simulation(raw.get("simulation", {}))
    success = _success(raw.get("success", {}), names)
    correlation = _correlation(raw.get("correlation", {}), names)
    joint.check_joint(endpoints, correlation, design)
    strata = _strata(raw.get("strata", {}))
    _check_strata(strata, trial, endpoints, correlation)
    config = Config(trial, endpoints, design, simulation, success, correlation, strata,
                    labels=Labels(arm_labels, endpoint_labels))
    n_looks = _n_looks(design)
    # Read when the config is, so that a sweep's message names its scenario (a review: from the plan it did not).
    if success.multiplicity == "holm" and n_looks > 1 and joint.calendar_endpoints(endpoints):
        raise InputError(
            'config key `success.multiplicity`: "holm" with a group-sequential survival endpoint is not '
            'supported yet (use looks = 1, or "bonferroni" / "fixed_sequence")'
        )
    interim = adaptive.parse_interim(raw.get("interim"), n_looks)
    adaptation = adaptive.parse_adaptation(raw.get("adaptation"), n_looks)
    adaptive.check(interim, adaptation, config, lambda e: getattr(get_kind(e.kind), "interim_rules", ()), n_looks,
                   lambda e: getattr(get_kind(e.kind), "adaptation_stages", None))
    if interim is None and adaptation is None:
        return config
    if strata:
        # The rules decide each trial after the kernel, which would leave the strata's paired other analysis
        # undecided (docs/strata.md).
        raise fail("strata", "cannot be combined with [interim] or [adaptation] yet", show_value=False)
    return dataclasses.replace(config, interim=interim, adaptation=adaptation)


def _n_looks(design: Design) -> int:
    """The number of analyses the design schedules."""
    if design.look_events or design.look_sizes or design.look_times:
        return len(design.look_events or design.look_sizes or design.look_times)
    return design.looks if isinstance(design.looks, int) else len(design.looks)
