"""Report helpers for survival endpoints: Kaplan-Meier bands and analysis-time bins.

Simulated Kaplan-Meier bands
----------------------------
The bands come from a side sample: a fixed number (:data:`KM_REPLICATES`)
of trials simulated apart from the operating characteristics, by the
survival engine's own compiled kernels (:mod:`simulator.engine.patients`:
the same entries, exits by inverse hazard, cut selection and rule for
running out of events; no second implementation). It is a side sample of
fixed size with a seed stream of its own (below), so it does not depend on
``n_sims`` and its memory does not grow with it:

1. per trial, ``n_control`` and ``n_experimental`` patients (exact counts),
   drawn as the survival engine draws them (:func:`~simulator.engine.patients.draw_patients`);
2. the final analysis is at the calendar time (entry + exit) of the
   ``events``-th event, as in the engine (when the events run out: at the
   last event; with no event at all: at the last entry). The final analysis
   is taken whether or not a group-sequential trial would have stopped
   earlier: the bands show what the data look like at the planned final
   analysis;
3. at that cut, patients not yet enrolled are left out, the others are
   followed to their exit or administratively censored at ``cut - entry``;
4. the Kaplan-Meier estimate of each arm is read on a time grid (right
   continuous; flat after the last observation), and the pointwise 2.5 %,
   50 % and 97.5 % quantiles across the trials are the band.

The grid is ``0, step, 2 step, ...`` up to the horizon where, in 97.5 % of
the simulated trials, each arm still has at least :data:`MIN_AT_RISK`
patients at risk (beyond it a Kaplan-Meier curve rests on a handful of
patients), with ``step`` a round number giving 50 to 101 points.

These trials are simulated under the ``truth`` (control survival and hazard
ratio; no prior), from a generator of their own::

    SeedSequence([simulation.seed, *scenario_digest(config without simulation.n_sims)],
                 spawn_key=(*name_words("km_bands"), *name_words(endpoint name)))

so the bands depend only on the scenario's config and seed: not on
``--jobs``, the backend, the chunking, nor the number of simulated trials.

Analysis-time bins
------------------
:func:`analysis_time_edges` gives fixed histogram bins for the calendar time
of each look, from 0 to ``accrual end + 3 max(follow-up minimum, control
median)`` with a round bin width; times past the last edge are counted
separately (``overflow``), so nothing is lost silently.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.config.digest import scenario_digest
from simulator.design.survival import control_median
from simulator.engine.patients import final_analysis_sample, patients, survival_design, workspace
from simulator.engine.seeding import name_words
from simulator.errors import InputError

__all__ = [
    "KM_LEVEL",
    "KM_REPLICATES",
    "MIN_AT_RISK",
    "analysis_time_edges",
    "final_analysis_data",
    "kaplan_meier",
    "km_bands",
    "km_generator",
    "nice_step",
]

#: Trials simulated for the Kaplan-Meier bands of one endpoint in one scenario.
KM_REPLICATES = 1000

#: Patient cells (replicates x n_total) simulated at once: bounds the
#: memory of the bands (about 30 bytes a cell at the peak, in the
#: Kaplan-Meier sort) whatever ``trial.n_total``.
KM_BATCH_CELLS = 1_000_000
#: Coverage of the pointwise band (quantiles 2.5 % and 97.5 %).
KM_LEVEL = 0.95
#: The grid ends where fewer patients than this may be at risk in an arm.
MIN_AT_RISK = 10


def nice_step(width: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``width``.

    >>> nice_step(1.56), nice_step(0.7), nice_step(23.0)
    (2.0, 1.0, 25.0)
    """
    if not (width > 0 and math.isfinite(width)):
        raise ValueError(f"width must be finite and > 0, got {width}")
    power = 10.0 ** math.floor(math.log10(width))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= width * (1 - 1e-12):
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def analysis_time_edges(endpoint, bins: int = 100) -> np.ndarray:
    """Fixed bin edges for the calendar times of the analyses of a survival endpoint.

    From 0 to ``accrual end + 3 max(follow_up.minimum, control median)``
    (the control median under ``truth``), in at most ``bins`` bins of a
    round width (:func:`nice_step`). They depend on the config only.
    """

    accrual_end = float(endpoint.accrual.edges[-1])
    control = endpoint.truth.control
    scale = max(float(endpoint.follow_up), control_median(control.times, control.hazards))
    if not math.isfinite(scale) or scale <= 0:
        scale = accrual_end
    upper = accrual_end + 3.0 * scale
    step = nice_step(upper / bins)
    count = int(math.ceil(upper / step - 1e-9))
    return np.round(step * np.arange(count + 1), 10)


def km_generator(config, endpoint_name: str) -> np.random.Generator:
    """The generator of the Kaplan-Meier trials of one endpoint (see the module docstring)."""
    entropy = [config.simulation.seed, *scenario_digest(config, (("simulation", "n_sims"),))]
    sequence = np.random.SeedSequence(entropy, spawn_key=(*name_words("km_bands"), *name_words(endpoint_name)))
    return np.random.Generator(np.random.PCG64(sequence))


# ---------------------------------------------------------------- simulation
def final_analysis_data(rng, n_arms, *, accrual, control, hazard_ratio, dropout, events, replicates,
                        look_time=None, max_duration=math.inf, max_follow_up=math.inf, hazard_ratio_pieces=None,
                        cured=(0.0, 0.0)):
    """Patients of ``replicates`` trials as seen at the final analysis.

    The trials are those of the survival engine: the shared patient and cut
    kernels of :mod:`simulator.engine.patients`
    (:func:`~simulator.engine.patients.final_analysis_sample`), one look at
    ``events`` (with the engine's rule when the events run out).

    Parameters
    ----------
    rng : numpy.random.Generator
    n_arms : (int, int)
        Patients per arm (control, experimental).
    accrual : (edges, rates)
    control : (times, hazards)
        Piecewise-constant control hazard.
    hazard_ratio : float
    dropout : (float, float)
        Exponential dropout hazards per arm.
    events : int
        Events that trigger the final analysis.
    replicates : int
    look_time : float, optional
        A final analysis at this calendar time instead of at ``events``.
    max_duration, max_follow_up : float
        The trial's cap and each patient's maximum follow-up (``inf``: none).
    hazard_ratio_pieces, cured
        Non-proportional hazards and cure fractions
        (:func:`simulator.engine.patients.survival_design`).

    Returns
    -------
    time : ndarray, shape (replicates, N)
        Follow-up at the cut (``inf`` for patients not yet enrolled).
    event : ndarray of bool, shape (replicates, N)
    group : ndarray of int, shape (N,)
        0 control, 1 experimental (the first ``n_arms[0]`` columns are control).
    cut : ndarray, shape (replicates,)
        Calendar time of the final analysis.
    """
    n_c, n_e = (int(n) for n in n_arms)
    n = n_c + n_e
    design = survival_design(n_c, n_e, accrual=accrual, control=control, dropout=dropout,
                             look_events=np.array([min(int(events), n)]),
                             look_times=None if look_time is None else [float(look_time)],
                             max_duration=max_duration, max_follow_up=max_follow_up,
                             hazard_ratio_pieces=hazard_ratio_pieces, cured=cured)
    hazard_ratio = float(hazard_ratio)
    if not (math.isfinite(hazard_ratio) and hazard_ratio > 0):
        raise InputError("`hazard_ratio` must be finite and > 0")
    replicates = int(replicates)
    time = np.empty((replicates, n))
    event = np.empty((replicates, n), dtype=np.bool_)
    cut = np.empty(replicates)
    final_analysis_sample(rng, design, 1.0, hazard_ratio, patients(n), workspace(n, 1), time, event, cut)
    group = np.repeat(np.array([0, 1]), [n_c, n_e])
    return time, event, group, cut


def kaplan_meier(time, event, grid) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimates and numbers at risk on ``grid``, one sample per row.

    ``time`` and ``event`` have shape ``(samples, n)`` (or ``(n,)`` for one
    sample); ``inf`` in ``time`` leaves a subject out. The estimate is right
    continuous (``S(t)`` includes the events at ``t``) and flat after the
    last observation; ``at_risk[..., j]`` counts subjects with time
    ``>= grid[j]``. Tied times are handled with the events before the
    censorings. Returns arrays of shape ``(samples, len(grid))`` (or
    ``(len(grid),)``).

    >>> km, at_risk = kaplan_meier(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, True]), [0, 2, 3.5])
    >>> km.round(4).tolist(), at_risk.tolist()
    ([1.0, 0.75, 0.375], [4, 3, 1])
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    single = time.ndim == 1
    time, event = np.atleast_2d(time), np.atleast_2d(event)
    rows = np.arange(time.shape[0])[:, None]
    # By time, events first among ties; left-out subjects (inf) last.
    order = np.lexsort((~event, time), axis=-1)
    t, d = time[rows, order], event[rows, order]
    m = np.isfinite(t).sum(axis=1, keepdims=True)
    at_risk_sorted = m - np.arange(t.shape[1])[None, :]
    factors = np.where(d & (at_risk_sorted > 0), 1.0 - 1.0 / np.maximum(at_risk_sorted, 1), 1.0)
    survival = np.concatenate([np.ones((t.shape[0], 1)), np.cumprod(factors, axis=1)], axis=1)
    grid = np.asarray(grid, dtype=float)
    # Observations at or before each grid time, and strictly before it.
    upto = np.array([np.searchsorted(row, grid, side="right") for row in t]).reshape(t.shape[0], grid.size)
    before = np.array([np.searchsorted(row, grid, side="left") for row in t]).reshape(t.shape[0], grid.size)
    km = np.take_along_axis(survival, upto, axis=1)
    at_risk = m - before
    return (km[0], at_risk[0]) if single else (km, at_risk)


def _last_at_risk(time, group) -> tuple[np.ndarray, np.ndarray]:
    """Per trial and arm, the time up to which MIN_AT_RISK patients are at risk (0 with nobody enrolled)."""
    lasts = []
    for arm in (0, 1):
        columns = time[:, group == arm]
        sorted_times = np.sort(columns, axis=1)  # inf (not enrolled) last
        enrolled = np.isfinite(sorted_times).sum(axis=1)
        index = np.clip(enrolled - MIN_AT_RISK, 0, None)
        last = sorted_times[np.arange(sorted_times.shape[0]), index]
        lasts.append(np.where(enrolled > 0, last, 0.0))
    return lasts[0], lasts[1]


def _horizon(lasts, fraction=0.025) -> float:
    """The time up to which, in 1 - ``fraction`` of the trials, each arm has MIN_AT_RISK at risk."""
    return min(float(np.quantile(np.concatenate(arm), fraction)) for arm in lasts)


def _batches(rng, n_arms, replicates: int, **model):
    """The replicate trials in batches of at most :data:`KM_BATCH_CELLS` patient cells.

    The trials are drawn one after another from ``rng`` whatever the batch
    size, so the bands do not depend on it; memory does not grow with
    ``trial.n_total`` beyond one batch.
    """
    batch = max(1, KM_BATCH_CELLS // max(1, int(sum(n_arms))))
    for start in range(0, replicates, batch):
        yield final_analysis_data(rng, n_arms, replicates=min(batch, replicates - start), **model)


def km_bands(plan, *, replicates: int = KM_REPLICATES, times=None, rng=None) -> dict | None:
    """Pointwise quantiles of simulated Kaplan-Meier curves per arm (report key ``km_bands``).

    ``plan`` is a :class:`~simulator.endpoints.survival.SurvivalPlan`. None
    when the endpoint has no fixed ``truth.hazard_ratio``. ``times`` (a grid)
    and ``rng`` default as described in the module docstring. The trials are
    simulated in batches (:func:`_batches`); without ``times`` twice, from
    the same state of ``rng``: once for the grid's horizon, once for the
    curves.
    """
    endpoint = plan.endpoint
    hr = endpoint.truth.hazard_ratio
    model = plan.model_kwargs("power")
    model.pop("weights")
    if hr is None and model.get("hazard_ratio_pieces") is not None:
        hr = 1.0  # a piecewise hazard ratio: the experimental pieces carry it
    if hr is None:
        return None
    rng = km_generator(plan.config, endpoint.name) if rng is None else rng
    control = endpoint.truth.control
    model.update(
        accrual=(endpoint.accrual.edges, endpoint.accrual.rates),
        control=(control.times, control.hazards), hazard_ratio=hr,
        dropout=endpoint.dropout, events=int(plan.looks.events[-1]),
        look_time=plan.looks.times[-1] if plan.looks.times else None,
        max_duration=math.inf if plan.config.design.max_duration is None else plan.config.design.max_duration,
        max_follow_up=endpoint.max_follow_up,
    )
    if times is None:
        start = rng.bit_generator.state
        lasts: tuple[list, list] = ([], [])
        for time, _, group, _ in _batches(rng, plan.n_arms, replicates, **model):
            for arm, last in enumerate(_last_at_risk(time, group)):
                lasts[arm].append(last)
        rng.bit_generator.state = start  # the same trials again, for the curves
        horizon = _horizon(lasts)
        if not horizon > 0:
            return None
        step = nice_step(horizon / 100)
        count = int(math.floor(horizon / step + 1e-9))
        if count < 50:  # the rounding up of the step left too few points
            step = horizon / 100
            count = 100
        grid = np.round(step * np.arange(count + 1), 10)
    else:
        grid = np.asarray(times, dtype=float)
    curves: tuple[list, list] = ([], [])
    cuts = []
    for time, event, group, cut in _batches(rng, plan.n_arms, replicates, **model):
        cuts.append(cut)
        for arm in (0, 1):
            columns = group == arm
            curves[arm].append(kaplan_meier(time[:, columns], event[:, columns], grid)[0])
    cut = np.concatenate(cuts)
    low, high = (1 - KM_LEVEL) / 2, 1 - (1 - KM_LEVEL) / 2
    out: dict = {
        "times": grid.tolist(),
        "level": KM_LEVEL,
        "replicates": int(replicates),
        "analysis": "final",
        "cut_time_median": float(np.median(cut)),
    }
    for arm, role in ((0, "control"), (1, "experimental")):
        lower, median, upper = np.quantile(np.concatenate(curves[arm]), [low, 0.5, high], axis=0)
        out[role] = {key: np.round(values, 6).tolist() for key, values in
                     (("lower", lower), ("median", median), ("upper", upper))}
    return out
