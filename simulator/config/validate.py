"""Turn a resolved TOML mapping into a frozen :class:`~simulator.config.schema.Config`.

One step, one place: every key is read here, checked against its allowed
values, and any key left over is rejected with a did-you-mean suggestion.
Messages name the dotted key and state what is allowed, because the command
line prints them as the only line the user sees.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import numpy as np

from simulator.config.schema import (
    ArmCounts,
    BinaryEndpoint,
    BinaryPrior,
    BinaryTruth,
    Config,
    Design,
    Simulation,
    Success,
    Trial,
)
from simulator.errors import InputError

DEFAULT_SEED = 20250702
BINARY_TESTS = ("z_pooled", "z_unpooled", "chi2_yates", "fisher", "farrington_manning")
SURVIVAL_TESTS = ("logrank",)
EFFICACY_CODES = ("OF", "P", "WT", "HP", "asOF", "asP", "asKD", "asHSD", "asUser")
FUTILITY_CODES = ("none", "bsOF", "bsP", "bsKD", "bsHSD")
ROLES = ("efficacy", "safety", "non_inferiority")
MAX_LOOKS = 10
TOP_LEVEL = ("trial", "endpoints", "design", "simulation", "success", "correlation", "sweep")


def _fail(key: str, allowed: str, value: Any = None, *, show_value: bool = True) -> InputError:
    got = f", got {value!r}" if show_value else ""
    return InputError(f"config key `{key}`: {allowed}{got}")


class _Table:
    """Read keys out of one TOML table and complain about the ones left."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise _fail(path, "must be a table", data)
        self.data = dict(data)
        self.path = path
        self.known: list[str] = []

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def take(self, name: str, default: Any = None) -> Any:
        self.known.append(name)
        return self.data.pop(name, default)

    def has(self, name: str) -> bool:
        return name in self.data

    def finish(self) -> None:
        for name in self.data:
            raise unknown_key(self.key(name), name, self.known)


def unknown_key(dotted: str, name: str, known: list[str] | tuple[str, ...]) -> InputError:
    """The error for a key nobody reads, with the closest valid name."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    allowed = ", ".join(f"`{k}`" for k in known) or "none"
    return InputError(f"config key `{dotted}`: unknown key{hint} (allowed here: {allowed})")


# ---------------------------------------------------------------- scalars
def as_int(value: Any, key: str, *, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _fail(key, _range_text("an integer", low, high), value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(key, _range_text("an integer", low, high), value)
    return value


def _range_text(what: str, low, high) -> str:
    if low is not None and high is not None:
        return f"must be {what} in [{low}, {high}]"
    if low is not None:
        return f"must be {what} >= {low}"
    if high is not None:
        return f"must be {what} <= {high}"
    return f"must be {what}"


def as_float(value: Any, key: str, *, allowed: str, check) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(key, f"must be a number {allowed}", value)
    value = float(value)
    if not math.isfinite(value) or not check(value):
        raise _fail(key, f"must be a number {allowed}", value)
    return value


def as_choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(f'"{c}"' for c in choices)
        close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
        hint = f" (did you mean \"{close[0]}\"?)" if close else ""
        raise _fail(key, f"must be one of {listed}{hint}", value)
    return value


def as_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, "must be true or false", value)
    return value


def as_rate(value: Any, key: str) -> float:
    return as_float(value, key, allowed="in [0, 1]", check=lambda v: 0.0 <= v <= 1.0)


# ---------------------------------------------------------------- sections
def _trial(data: Any) -> Trial:
    t = _Table(data, "trial")
    name = t.take("name", "trial")
    if not isinstance(name, str):
        raise _fail("trial.name", "must be a string", name)
    arms = t.take("arms", ["control", "experimental"])
    if (
        not isinstance(arms, list)
        or len(arms) != 2
        or not all(isinstance(a, str) and a for a in arms)
        or arms[0] == arms[1]
    ):
        raise _fail("trial.arms", "must be two distinct arm names, control first", arms)
    allocation = t.take("allocation", [1, 1])
    if not isinstance(allocation, list) or len(allocation) != 2:
        raise _fail("trial.allocation", "must be [control, experimental], two positive integers", allocation)
    allocation = tuple(as_int(a, "trial.allocation", low=1, high=100) for a in allocation)
    if not t.has("n_total"):
        raise _fail("trial.n_total", "is required: the total number of patients (a positive integer)", show_value=False)
    n_total = as_int(t.take("n_total"), "trial.n_total", low=2, high=10_000_000)
    missing = as_float(
        t.take("missing", 0.0), "trial.missing", allowed="in [0, 1)", check=lambda v: 0.0 <= v < 1.0
    )
    t.finish()
    return Trial(name=name, arms=(arms[0], arms[1]), allocation=allocation, n_total=n_total, missing=missing)


def _arm_table(data: Any, key: str, arms: tuple[str, str], reader):
    t = _Table(data, key)
    values = []
    for arm in arms:
        if not t.has(arm):
            raise _fail(f"{key}.{arm}", f"is required (one entry per arm: {arms[0]}, {arms[1]})", show_value=False)
        values.append(reader(t.take(arm), f"{key}.{arm}"))
    return t, values


def _counts(value: Any, key: str) -> ArmCounts:
    t = _Table(value, key)
    if not (t.has("events") and t.has("n")):
        raise _fail(key, "must be { events = x, n = n } with phase 2 counts", value)
    n = as_float(t.take("n"), f"{key}.n", allowed="> 0", check=lambda v: v > 0)
    events = as_float(t.take("events"), f"{key}.events", allowed=f"in [0, n = {n:g}]", check=lambda v: 0 <= v <= n)
    t.finish()
    return ArmCounts(events=events, n=n)


def _binary_endpoint(name: str, data: Any, arms: tuple[str, str], sided: int) -> BinaryEndpoint:
    path = f"endpoints.{name}"
    t = _Table(data, path)
    kind = t.take("kind")
    better = as_choice(t.take("better", "higher"), f"{path}.better", ("higher", "lower"))
    test = as_choice(t.take("test", "z_pooled"), f"{path}.test", BINARY_TESTS)
    margin = as_float(t.take("margin", 0.0), f"{path}.margin", allowed="in [0, 1)", check=lambda v: 0 <= v < 1)
    if margin > 0 and test != "farrington_manning":
        raise _fail(f"{path}.margin", 'a margin > 0 needs test = "farrington_manning"', margin)
    if margin > 0 and sided != 1:
        raise _fail(f"{path}.margin", "a margin > 0 needs design.sided = 1 (non-inferiority is one-sided)", margin)
    role = as_choice(t.take("role", "non_inferiority" if margin > 0 else "efficacy"), f"{path}.role", ROLES)
    delay = as_float(t.take("delay", 0.0), f"{path}.delay", allowed=">= 0 (months)", check=lambda v: v >= 0)

    truth = None
    if t.has("truth"):
        tt, (control, experimental) = _arm_table(t.take("truth"), f"{path}.truth", arms, as_rate)
        tt.finish()
        truth = BinaryTruth(control=control, experimental=experimental)

    prior = None
    if t.has("prior"):
        pt, (control, experimental) = _arm_table(t.take("prior"), f"{path}.prior", arms, _counts)
        base = pt.take("base", [1.0, 1.0])
        if not isinstance(base, list) or len(base) != 2:
            raise _fail(f"{path}.prior.base", "must be [a, b], two positive numbers (Beta(a, b))", base)
        base = tuple(
            as_float(v, f"{path}.prior.base", allowed="> 0", check=lambda v: v > 0) for v in base
        )
        discount = as_float(
            pt.take("discount", 1.0), f"{path}.prior.discount", allowed="in [0, 1]", check=lambda v: 0 <= v <= 1
        )
        robust = as_float(
            pt.take("robust_weight", 0.0),
            f"{path}.prior.robust_weight",
            allowed="in [0, 1]",
            check=lambda v: 0 <= v <= 1,
        )
        pt.finish()
        prior = BinaryPrior(control, experimental, base, discount, robust)

    if truth is None and prior is None:
        raise _fail(path, "needs a `truth` table (for power) or a `prior` table (for assurance), or both", show_value=False)
    t.finish()
    return BinaryEndpoint(name, kind, better, test, margin, role, truth, prior, delay)


def _endpoints(data: Any, arms: tuple[str, str], sided: int) -> tuple[BinaryEndpoint, ...]:
    if not isinstance(data, dict) or not data:
        raise _fail("endpoints", "needs at least one [endpoints.NAME] table", data, show_value=False)
    endpoints = []
    for name, table in data.items():
        if not isinstance(table, dict):
            raise _fail(f"endpoints.{name}", "must be a table", table)
        kind = as_choice(table.get("kind"), f"endpoints.{name}.kind", ("binary", "survival"))
        if kind == "survival":
            from simulator.config.survival import survival_endpoint

            endpoints.append(survival_endpoint(name, table, arms))
        else:
            endpoints.append(_binary_endpoint(name, table, arms, sided))
    return tuple(endpoints)


def _fractions(value: Any, key: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_LOOKS:
        raise _fail(key, f"must be an integer K in [1, {MAX_LOOKS}] or a list of increasing fractions ending in 1.0", value)
    fractions = tuple(
        as_float(v, key, allowed="in (0, 1]", check=lambda v: 0 < v <= 1) for v in value
    )
    if any(b <= a for a, b in zip(fractions, fractions[1:])) or fractions[-1] != 1.0:
        raise _fail(key, "fractions must increase strictly and end in 1.0", value)
    return fractions


def _int_list(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > MAX_LOOKS:
        raise _fail(key, f"must be a list of at most {MAX_LOOKS} increasing positive integers", value)
    values = tuple(as_int(v, key, low=1) for v in value)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise _fail(key, "must increase strictly", value)
    return values


def _design(data: Any) -> Design:
    t = _Table(data, "design")
    alpha = as_float(t.take("alpha", 0.025), "design.alpha", allowed="in (0, 0.5]", check=lambda v: 0 < v <= 0.5)
    sided = t.take("sided", 1)
    if sided not in (1, 2) or isinstance(sided, bool):
        raise _fail("design.sided", "must be 1 or 2", sided)
    power = as_float(
        t.take("power", 0.8), "design.power", allowed=f"in ({alpha / sided:g}, 1)", check=lambda v: alpha / sided < v < 1
    )
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
            as_float(v, "design.efficacy_param", allowed="in (0, 1)", check=lambda v: 0 < v < 1) for v in efficacy_param
        )
    elif efficacy_param is not None:
        efficacy_param = as_float(efficacy_param, "design.efficacy_param", allowed="(finite)", check=lambda v: True)
    futility = t.take("futility", "none")
    if isinstance(futility, list):
        futility = tuple(as_float(v, "design.futility", allowed="(a z value)", check=lambda v: True) for v in futility)
    else:
        futility = as_choice(futility, "design.futility", FUTILITY_CODES)
    futility_param = t.take("futility_param")
    if futility_param is not None:
        futility_param = as_float(futility_param, "design.futility_param", allowed="(finite)", check=lambda v: True)
    binding = as_bool(t.take("binding", False), "design.binding")
    events = t.take("events")
    if events is not None:
        events = as_int(events, "design.events", low=1)
    t.finish()
    return Design(
        alpha, sided, power, looks, look_sizes, look_events, efficacy, efficacy_param, futility, futility_param,
        binding, events,
    )


def _simulation(data: Any) -> Simulation:
    t = _Table(data, "simulation")
    n_sims = as_int(t.take("n_sims", 100_000), "simulation.n_sims", low=1, high=10**11)
    seed = as_int(t.take("seed", DEFAULT_SEED), "simulation.seed", low=0, high=2**63 - 1)
    jobs = as_int(t.take("jobs", 0), "simulation.jobs", low=0, high=4096)
    null = as_bool(t.take("null", False), "simulation.null")
    t.finish()
    return Simulation(n_sims, seed, jobs, null)


def _success(data: Any, names: tuple[str, ...]) -> Success:
    t = _Table(data, "success")
    rule = as_choice(t.take("rule", "all"), "success.rule", ("all", "any"))
    multiplicity = as_choice(
        t.take("multiplicity", "none"), "success.multiplicity", ("none", "bonferroni", "holm", "fixed_sequence")
    )
    order = t.take("order", [])
    if not isinstance(order, list):
        raise _fail("success.order", "must be a list of endpoint names", order)
    for name in order:
        if name not in names:
            raise _fail("success.order", f"must name endpoints ({', '.join(names)})", name)
    if multiplicity == "fixed_sequence" and sorted(order) != sorted(names):
        raise _fail("success.order", "must list every endpoint once for fixed_sequence", order)
    if rule == "all" and multiplicity != "none":
        raise _fail("success.multiplicity", 'must be "none" with rule = "all" (every test at full alpha)', multiplicity)
    t.finish()
    return Success(rule, multiplicity, tuple(order))


def _correlation(data: Any, names: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """``[correlation]``: ``"a.b" = r`` in (-1, 1); the matrix over all endpoints must be positive definite.

    Pairs not given are 0. A latent correlation matrix that is not positive
    definite has no Gaussian copula (no Cholesky factor), so it is rejected
    here rather than failing inside a worker.
    """
    t = _Table(data, "correlation")
    pairs = []
    seen: dict[frozenset, str] = {}
    for key in list(t.data):
        value = as_float(t.take(key), f"correlation.{key}", allowed="in (-1, 1)", check=lambda v: -1 < v < 1)
        parts = key.split(".")
        if len(parts) != 2 or any(p not in names for p in parts):
            raise _fail(f"correlation.{key}", f'keys must be "a.b" with endpoint names ({", ".join(names)})', key)
        if parts[0] == parts[1]:
            raise _fail(f"correlation.{key}", "must pair two different endpoints (an endpoint's own correlation is 1)", key)
        pair = frozenset(parts)
        if pair in seen:
            raise _fail(f"correlation.{key}", f"gives the same pair as `correlation.{seen[pair]}`; give it once", key)
        seen[pair] = key
        pairs.append((key, value))
    matrix = correlation_matrix(names, tuple(pairs))
    smallest = float(np.linalg.eigvalsh(matrix)[0])
    if smallest <= 1e-10:
        raise InputError(
            f"config key `correlation`: the correlation matrix of the endpoints ({', '.join(names)}) must be "
            f"positive definite, but its smallest eigenvalue is {smallest:.4g}; make the pairwise correlations "
            "mutually consistent (e.g. smaller in size)"
        )
    return tuple(pairs)


def correlation_matrix(names: tuple[str, ...], pairs: tuple[tuple[str, float], ...]) -> np.ndarray:
    """The latent correlation matrix over ``names`` (in that order) from ``"a.b" = r`` pairs.

    Examples
    --------
    >>> correlation_matrix(("a", "b"), (("b.a", 0.3),)).tolist()
    [[1.0, 0.3], [0.3, 1.0]]
    """
    matrix = np.eye(len(names))
    index = {name: i for i, name in enumerate(names)}
    for key, value in pairs:
        a, b = key.split(".")
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = value
    return matrix


def simulated_jointly(endpoints, correlation) -> bool:
    """Whether a trial's endpoints are simulated per patient (see docs/multiple_endpoints.md).

    Yes when any correlation is non-zero, or when binary endpoints share a
    trial with a survival endpoint (they are then analysed at the survival
    looks' calendar times). Otherwise each endpoint keeps its own
    sufficient-statistic kernel.
    """
    kinds = {e.kind for e in endpoints}
    return any(value != 0.0 for _, value in correlation) or kinds == {"binary", "survival"}


def _joint(endpoints, correlation, design: Design) -> None:
    """What a joint (per-patient) simulation cannot do, named by its key."""
    if not simulated_jointly(endpoints, correlation):
        return
    survival = [e.name for e in endpoints if e.kind == "survival"]
    if len(survival) > 1:
        raise InputError(
            f"config key `endpoints.{survival[1]}.kind`: endpoints simulated jointly (a non-zero [correlation], "
            "or binary endpoints with a survival endpoint) allow at most one survival endpoint, "
            f"got {', '.join(survival)}"
        )
    if not survival:
        return
    for endpoint in endpoints:
        if endpoint.kind == "binary" and endpoint.test == "fisher":
            raise _fail(
                f"endpoints.{endpoint.name}.test",
                "cannot be \"fisher\" for a binary endpoint analysed at survival looks (its evaluable patients "
                "per look are random, and Fisher's critical counts are tabulated for fixed sizes); use "
                "z_pooled, z_unpooled, chi2_yates or farrington_manning",
                endpoint.test,
            )
    if design.look_sizes:
        raise _fail(
            "design.look_sizes",
            "is not used when binary endpoints are analysed at the survival endpoint's looks; "
            "give the looks by design.looks or design.look_events",
            list(design.look_sizes),
        )


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
            raise unknown_key(key, key, TOP_LEVEL)
    trial = _trial(raw.get("trial", {}))
    design = _design(raw.get("design", {}))
    endpoints = _endpoints(raw.get("endpoints"), trial.arms, design.sided)
    names = tuple(e.name for e in endpoints)
    simulation = _simulation(raw.get("simulation", {}))
    success = _success(raw.get("success", {}), names)
    correlation = _correlation(raw.get("correlation", {}), names)
    _joint(endpoints, correlation, design)
    return Config(trial, endpoints, design, simulation, success, correlation)
