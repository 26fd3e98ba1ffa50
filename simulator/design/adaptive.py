"""Interim quantities on a normal scale (survival's log hazard ratio, a difference of means).

At an interim with z statistic ``Z_k`` and information ``I_k`` (log-rank:
``d_k r / (1 + r)^2`` for ``d_k`` events at allocation ``r : 1``), the final
analysis as planned at information ``I_K`` rejects when
``sqrt(t) Z_k + sqrt(1 - t) Z_rest >= c_K`` (``t = I_k / I_K``), where the
rest of the trial's own z is ``Z_rest ~ N(theta sqrt(I_K - I_k), 1)`` and
``theta`` is the effect on the favourable scale (``log(margin) - log(HR)``
for survival). So, with ``c = (c_K - sqrt(t) Z_k) / sqrt(1 - t)``:

- conditional power at an effect ``theta``: ``Phi(theta sqrt(I_rest) - c)``;
  at the observed effect ``theta = Z_k / sqrt(I_k)``;
- predictive probability: a normal prior ``theta ~ N(m0, s0^2)`` (the phase
  2 prior) updated by the interim estimate (``N(Z_k / sqrt(I_k), 1 / I_k)``)
  gives ``N(m, 1 / tau)`` with ``tau = 1 / s0^2 + I_k`` and
  ``m = (m0 / s0^2 + Z_k sqrt(I_k)) / tau``; then
  ``Z_rest ~ N(m sqrt(I_rest), 1 + I_rest / tau)`` and
  ``PP = Phi((m sqrt(I_rest) - c) / sqrt(1 + I_rest / tau))``.
  ``s0 = inf`` is a flat prior (``tau = I_k``, ``m`` the estimate);
  ``s0 = 0`` a point prior (the conditional power at ``m0``).

Everything broadcasts over arrays of trials. The exact binary counterparts
are in :mod:`simulator.stats.interim`.
"""

from __future__ import annotations

import numpy as np

from simulator.stats import distributions as dist


def conditional_critical(final_bound, z, t):
    """The z the rest of the trial must reach: ``(c_K - sqrt(t) Z_k) / sqrt(1 - t)`` (``+-inf`` when ``t >= 1``)."""
    z, t = np.asarray(z, dtype=float), np.asarray(t, dtype=float)
    rest = np.sqrt(np.clip(1.0 - t, 0.0, None))
    reached = np.sqrt(np.clip(t, 0.0, 1.0)) * z >= final_bound
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (final_bound - np.sqrt(np.clip(t, 0.0, 1.0)) * z) / rest
    return np.where(rest > 0, c, np.where(reached, -np.inf, np.inf))


def conditional_power(z, info, info_final, final_bound, theta):
    """P(the final analysis rejects | Z_k = z) at effect ``theta`` (favourable scale).

    Parameters
    ----------
    z, info : array_like
        Interim z and its information (events r / (1 + r)^2 for a log-rank).
    info_final : array_like
        Information at the final analysis as planned.
    final_bound : float
        The final analysis's z bound.
    theta : array_like
        The effect; ``None`` for the observed one, ``z / sqrt(info)``.

    Examples
    --------
    >>> round(float(conditional_power(1.0, 25.0, 50.0, 1.96, 0.3)), 4)
    0.3929
    """
    z, info, info_final = (np.asarray(v, dtype=float) for v in (z, info, info_final))
    if theta is None:
        theta = z / np.sqrt(info)
    rest = np.clip(info_final - info, 0.0, None)
    return conditional_power_stage(conditional_critical(final_bound, z, info / info_final), rest, theta)


def conditional_power_stage(c, info_rest, theta):
    """P(the rest's own z >= ``c``) with information ``info_rest`` at effect ``theta``: ``Phi(theta sqrt(I) - c)``."""
    return dist.norm.cdf(np.asarray(theta, dtype=float) * np.sqrt(info_rest) - np.asarray(c, dtype=float))


def predictive_probability(z, info, info_final, final_bound, prior_mean, prior_sd):
    """Bayesian predictive probability that the final analysis rejects, normal prior and likelihood.

    ``prior_mean``, ``prior_sd``: the prior on the effect (favourable
    scale); ``prior_sd = inf`` is flat, ``0`` a point mass.

    Examples
    --------
    >>> round(float(predictive_probability(1.0, 25.0, 50.0, 1.96, 0.3, 0.2)), 4)
    0.335
    """
    z, info, info_final = (np.asarray(v, dtype=float) for v in (z, info, info_final))
    rest = np.clip(info_final - info, 0.0, None)
    c = conditional_critical(final_bound, z, info / info_final)
    return predictive_probability_stage(c, z, info, rest, prior_mean, prior_sd)


def predictive_probability_stage(c, z, info, info_rest, prior_mean, prior_sd):
    """P(the rest's own z >= ``c``), the effect's normal posterior from the prior and the interim ``z``, ``info``."""
    z, info, rest, c = (np.asarray(v, dtype=float) for v in (z, info, info_rest, c))
    prior_mean, prior_sd = float(prior_mean), float(prior_sd)
    if prior_sd == 0.0:
        return dist.norm.cdf(prior_mean * np.sqrt(rest) - c)
    prior_precision = 0.0 if np.isinf(prior_sd) else 1.0 / prior_sd**2
    tau = prior_precision + info
    mean = (prior_mean * prior_precision + z * np.sqrt(info)) / tau
    return dist.norm.cdf((mean * np.sqrt(rest) - c) / np.sqrt(1.0 + rest / tau))


def interim_values(z, info, info_final, final_bound, design_theta, prior_mean, prior_sd) -> dict:
    """What an interim rule on the normal scale may read, per trial: the conditional power at the design effect
    (``conditional_power_design``) and at the observed one (``conditional_power_observed``), and the
    predictive probability with the normal prior (``predictive_probability``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "conditional_power_design": conditional_power(z, info, info_final, final_bound, design_theta),
            "conditional_power_observed": conditional_power(z, info, info_final, final_bound, None),
            "predictive_probability": predictive_probability(z, info, info_final, final_bound, prior_mean, prior_sd),
        }


def rule_value(values: dict, futility_on: str, effect: str):
    """The quantity of :func:`interim_values` that ``interim.futility.on`` (and ``interim.effect``) compare."""
    if futility_on == "predictive_probability":
        return values["predictive_probability"]
    return values["conditional_power_observed" if effect == "observed" else "conditional_power_design"]


def posterior_mean(z, info, prior_mean, prior_sd):
    """Posterior mean of the effect: the normal prior and the interim estimate ``z / sqrt(info)``."""
    z, info = np.asarray(z, dtype=float), np.asarray(info, dtype=float)
    if float(prior_sd) == 0.0:
        return np.full(np.broadcast(z, info).shape, float(prior_mean))
    precision = 0.0 if np.isinf(prior_sd) else 1.0 / float(prior_sd) ** 2
    return (float(prior_mean) * precision + z * np.sqrt(info)) / (precision + info)


def stage_events(c, theta, z_target, info_per_event, low, high):
    """Events of a further stage for conditional power ``Phi(z_target)`` at effect ``theta``.

    ``(max(0, c + z_target) / max(theta, 1e-12))^2 / info_per_event``,
    clipped to ``[low, high]`` and rounded up (rpact's rule for
    ``getSimulationSurvival``, on the information scale: an effect at or
    below 0 asks for ``high``).

    Examples
    --------
    >>> int(stage_events(1.5, 0.3, 0.8416, 0.25, 50, 400))
    244
    """
    c, theta = np.asarray(c, dtype=float), np.asarray(theta, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        events = np.maximum(0.0, c + z_target) ** 2 / np.maximum(theta, 1e-12) ** 2 / info_per_event
    return np.ceil(np.clip(np.nan_to_num(events, nan=high, posinf=high), low, high))


def threshold_for_stop_probability(values, probabilities, target: float) -> tuple[float, float]:
    """The futility threshold whose stopping probability is the largest not above ``target``.

    The rule stops when the interim value (a predictive probability or a
    conditional power) is strictly below the threshold. ``values`` and
    ``probabilities`` describe the value's distribution under H0 (each
    interim outcome's value and probability; for a binary endpoint, exact:
    every pair of interim counts with its binomial probability, see
    :func:`simulator.endpoints.adaptive.futility_threshold`).

    Returns ``(threshold, stop_probability)``: the threshold is the
    smallest value whose probability of a value below it exceeds
    ``target`` (so any threshold up to it stops with probability
    ``stop_probability <= target``); ``(1.0, P(value < 1))`` when even
    that stops no more often than the target.

    Examples
    --------
    >>> threshold_for_stop_probability([0.1, 0.2, 0.5], [0.2, 0.3, 0.5], 0.3)
    (0.2, 0.2)
    """
    values = np.asarray(values, dtype=float).ravel()
    probabilities = np.asarray(probabilities, dtype=float).ravel()
    order = np.argsort(values, kind="stable")
    values, probabilities = values[order], probabilities[order]
    distinct, first = np.unique(values, return_index=True)
    mass = np.add.reduceat(probabilities, first)
    below = np.concatenate([[0.0], np.cumsum(mass)])  # below[j] = P(value < distinct[j])
    over = np.nonzero(below[1:] > target + 1e-15)[0]
    if over.size == 0:
        return 1.0, float(below[np.searchsorted(distinct, 1.0)])
    j = int(over[0])
    return float(distinct[j]), float(below[j])
