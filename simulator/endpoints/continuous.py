"""``kind = "continuous"``: two arms compared by the difference of their means.

:class:`ContinuousPlan` holds what every simulated trial of one scenario
shares: patients per arm at each look, bounds (on the z scale, and for the
t test on its own scale at each look's degrees of freedom), the truth and
the prior. Trials are simulated by their sufficient statistics
(:mod:`simulator.engine.continuous`), exactly for normal outcomes.

Orientation: the effect is ``mean_E - mean_C`` on the natural scale; with
``better = "lower"`` it is analysed as ``-(mean_E - mean_C)``, so that a
large statistic always favours the experimental arm. ``theta0 = -margin``
is the null value of the oriented effect. With a baseline covariate
(``rho``) the analysis is the ANCOVA of a standard-normal covariate drawn
per patient: the outcome SD is multiplied by ``sqrt(1 - rho^2)`` (the ANCOVA
residual SD), the t test loses one degree of freedom, and the covariate's
chance imbalance between the arms widens each trial's standard error (the
kernel draws it; the analytic power averages over it,
:func:`simulator.design.means.covariate_average`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, special

from simulator.config.schema import Config
from simulator.design import means
from simulator.endpoints import continuous_spec
from simulator.endpoints.adaptive_continuous import ContinuousRules, with_continuous_rules
from simulator.endpoints.common import (
    Bounds,
    Looks,
    PatientKind,
    add_note,
    add_two_sided,
    design_bounds,
    design_size,
    expected_patients,
    look_bounds,
    make_looks,
    per_look_counts,
    sequential_power,
    unfavourable_effects,
)
from simulator.endpoints.continuous_spec import ContinuousEndpoint
from simulator.engine.continuous import (
    TEST_CODES,
    WELCH,
    ancova_moment_statistics,
    moment_statistics,
    sequential_decisions,
    simulate_statistics,
)
from simulator.engine.continuous import design as engine_design
from simulator.errors import InputError
from simulator.stats import distributions as dist
from simulator.stats.decision import REJECT_FAVOURABLE

#: Bins of the true effect histograms, in prior standard deviations around the prior mean.
_HISTOGRAM_WIDTH = 6.0
_HISTOGRAM_BINS = 400


@dataclass(frozen=True)
class Truth:
    """True means and SDs per arm (SDs after the covariate reduction)."""

    mean_c: float
    mean_e: float
    sd_c: float
    sd_e: float


@dataclass(frozen=True)
class ContinuousPlan:
    """One continuous endpoint of one scenario, ready for the kernels. Build it with :meth:`from_config`."""

    endpoint: ContinuousEndpoint
    config: Config
    code: int
    sign: float
    theta0: float
    alpha: float
    sided: int
    looks: Looks
    bounds: Bounds
    planned_bounds: Bounds
    levels: tuple
    reduction: float  # sqrt(1 - rho^2)
    effect_bins: np.ndarray
    #: ``[interim]`` futility rule (:class:`simulator.endpoints.adaptive_continuous.ContinuousRules`), which
    #: then decides the trials; ``None`` without one.
    rules: ContinuousRules | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_config(
        cls, config: Config, endpoint: ContinuousEndpoint, alpha: float | None = None, extra_levels: tuple = ()
    ) -> ContinuousPlan:
        alpha = config.design.alpha if alpha is None else alpha
        looks = make_looks(config)
        if min(looks.evaluable_c[0], looks.evaluable_e[0]) < 2 + (endpoint.rho != 0):
            raise InputError(
                "config key `trial.n_total`: a continuous endpoint needs at least "
                f"{2 + (endpoint.rho != 0)} evaluable patients per arm at the first look (a variance to estimate), "
                f"got {[int(looks.evaluable_c[0]), int(looks.evaluable_e[0])]}"
            )
        bounds, planned = look_bounds(config, looks, alpha)
        levels = (bounds,) + tuple(design_bounds(config, looks.realised_fractions, a) for a in extra_levels)
        sign = -1.0 if endpoint.better == "lower" else 1.0
        reduction = math.sqrt(1.0 - endpoint.rho**2)
        plan = cls(
            endpoint, config, TEST_CODES[endpoint.test], sign, -endpoint.margin, alpha, config.design.sided,
            looks, bounds, planned, levels, reduction, np.zeros(1),
        )
        object.__setattr__(plan, "effect_bins", plan._effect_bins())
        return with_continuous_rules(config, plan)

    # ------------------------------------------------------------ truths and priors
    @property
    def truth(self) -> Truth | None:
        if self.endpoint.truth is None:
            return None
        c, e = self.endpoint.truth
        return Truth(c.mean, e.mean, c.sd * self.reduction, e.sd * self.reduction)

    @property
    def prior(self):
        return self.endpoint.prior

    def _reference_sds(self, adjusted: bool = True) -> tuple[float, float]:
        """SDs used where the prior does not draw them: the truth's, else the phase 2 ones; after the
        covariate's reduction (the analysis's), or the outcome's own (``adjusted=False``)."""
        reduction = self.reduction if adjusted else 1.0
        if self.endpoint.truth is not None:
            c, e = self.endpoint.truth
            return c.sd * reduction, e.sd * reduction
        p = self.endpoint.prior
        return p.control.sd * reduction, p.experimental.sd * reduction

    def _prior_difference(self) -> tuple[float, float]:
        """Mean and SD of the informative normal prior of ``mean_E - mean_C`` (natural scale)."""
        p = self.endpoint.prior
        a0 = p.discount
        variance = p.control.sd**2 / (a0 * p.control.n) + p.experimental.sd**2 / (a0 * p.experimental.n)
        return p.experimental.mean - p.control.mean, math.sqrt(variance)

    def _vague_sd(self) -> float:
        """SD of the robust component: unit information, ``sqrt(2 sigma^2)`` with sigma^2 the mean variance
        of the outcome (not the covariate-adjusted one: the prior is on the effect, whatever the analysis;
        a review found it narrowed by ``rho``, as the ``nig`` model's draws were not)."""
        sd_c, sd_e = self._reference_sds(adjusted=False)
        return math.sqrt(sd_c**2 + sd_e**2)

    def vague_scale(self) -> float:
        """A scale of the robust component (a figure's and a histogram's range): its SD under the normal
        model; under ``nig`` that of the normal at the phase 2 variances, the scale of its two t's."""
        p = self.endpoint.prior
        if p is not None and p.model == "nig":
            return math.hypot(p.control.sd, p.experimental.sd)
        return self._vague_sd()

    def prior_p_benefit(self) -> float | None:
        """Prior probability that the oriented effect exceeds its null value: the ceiling of assurance."""
        p = self.endpoint.prior
        if p is None:
            return None
        w = p.robust_weight
        if p.model == "normal":
            mean, sd = self._prior_difference()
            informative = dist.norm.sf(self.theta0, loc=self.sign * mean, scale=sd)
            vague = dist.norm.sf(self.theta0, loc=0.0, scale=self._vague_sd())
        else:
            informative = self._nig_p_benefit(*self._nig_marginals())
            # The robust part's N(0, sigma_C^2 + sigma_E^2) at the drawn variances (`draw`) is, over their
            # scaled inverse chi-square laws, the sum of two centred scaled t's with the phase 2 SDs as scales
            # (a review: at the truth's SDs instead, 0.7793 where 0.7112 is right, with a margin).
            vague = self._nig_p_benefit(*self._nig_marginals(centred=True)) if w > 0.0 else 0.0
        return float((1.0 - w) * informative + w * vague)

    def _nig_marginals(self, centred: bool = False):
        """Marginal (scaled t) priors of the two means under the normal-inverse-gamma model.

        ``centred``: instead, the laws of ``sigma Z`` per arm (0-centred, scale the phase 2 SD) whose
        sum is the robust component's difference of means.
        """
        from scipy import stats  # Student's t (imported where needed: simulator.stats.distributions)

        p = self.endpoint.prior
        out = []
        for arm in (p.control, p.experimental):
            nu = p.discount * (arm.n - 1.0)
            if centred:
                out.append(stats.t(df=nu, loc=0.0, scale=arm.sd))
            else:
                out.append(stats.t(df=nu, loc=arm.mean, scale=arm.sd / math.sqrt(p.discount * arm.n)))
        return out

    def _nig_p_benefit(self, control, experimental) -> float:
        """``P(sign (E - C) > theta0)`` for independent ``control`` and ``experimental`` (scipy laws)."""
        # P(sign (mu_E - mu_C) > theta0) = E_C[P(sign mu_E > sign mu_C + theta0)], the expectation over the
        # control's quantiles u in (0, 1): a bounded integrand on a bounded range whatever the tails (a review:
        # over x in the 1e-12 quantiles, +-1e12 for a t with 2 df or fewer, quad missed the peak and gave 0).
        if self.sign > 0:
            tail = lambda u: experimental.sf(control.ppf(u) + self.theta0)  # noqa: E731
        else:
            tail = lambda u: experimental.cdf(control.ppf(u) - self.theta0)  # noqa: E731
        return float(integrate.quad(tail, 0.0, 1.0, limit=200, epsabs=1e-10)[0])

    def draw(self, rng: np.random.Generator, n_sims: int, stream: str):
        """True (mean_c, mean_e, sd_c, sd_e) per trial for a stream (arrays of length 1 when shared)."""
        if stream == "type1":
            t = self.truth or self._prior_reference()
            # The null boundary: oriented effect theta0, the truth's SDs.
            mean_e = t.mean_c + self.sign * self.theta0
            return _arrays(t.mean_c, mean_e, t.sd_c, t.sd_e)
        if stream == "power" or self.endpoint.prior is None:
            t = self.truth
            return _arrays(t.mean_c, t.mean_e, t.sd_c, t.sd_e)
        p = self.endpoint.prior
        vague = rng.random(n_sims) < p.robust_weight if p.robust_weight > 0 else np.zeros(n_sims, dtype=bool)
        if p.model == "normal":
            reference = self.truth or self._prior_reference()
            mean, sd = self._prior_difference()
            diff = mean + sd * rng.standard_normal(n_sims)
            diff = np.where(vague, self._vague_sd() * rng.standard_normal(n_sims), diff)
            mean_c = np.full(n_sims, reference.mean_c)
            return mean_c, mean_c + diff, np.array([reference.sd_c]), np.array([reference.sd_e])
        draws = []
        for arm in (p.control, p.experimental):
            nu = p.discount * (arm.n - 1.0)
            variance = nu * arm.sd**2 / rng.chisquare(nu, n_sims)
            mean = arm.mean + np.sqrt(variance / (p.discount * arm.n)) * rng.standard_normal(n_sims)
            draws.append((mean, variance))
        (mean_c, var_c), (mean_e, var_e) = draws
        mean_e = np.where(vague, mean_c + np.sqrt(var_c + var_e) * rng.standard_normal(n_sims), mean_e)
        return mean_c, mean_e, np.sqrt(var_c) * self.reduction, np.sqrt(var_e) * self.reduction

    def _prior_reference(self) -> Truth:
        p = self.endpoint.prior
        sd_c, sd_e = self._reference_sds()
        return Truth(p.control.mean, p.experimental.mean, sd_c, sd_e)

    # ------------------------------------------------------------ simulation
    def _statistics(self, rng, n_sims, stream):
        mean_c, mean_e, sd_c, sd_e = (np.ascontiguousarray(v, dtype=float) for v in self.draw(rng, n_sims, stream))
        n_looks = len(self.looks.planned_fractions)
        stat, df = np.empty((n_sims, n_looks)), np.empty((n_sims, n_looks))
        simulate_statistics(rng, self.kernel_design, mean_c, mean_e, sd_c, sd_e, stat, df)
        return stat, df, mean_c, mean_e

    @property
    def kernel_design(self):
        """The kernel's :data:`simulator.engine.continuous.Design` of this plan."""
        return engine_design(
            np.diff(self.looks.evaluable_c, prepend=0), np.diff(self.looks.evaluable_e, prepend=0),
            test=self.endpoint.test, sign=self.sign, theta0=self.theta0, covariate=self.endpoint.rho != 0,
        )

    def decide(self, stat: np.ndarray, df: np.ndarray, level: int = 0):
        """Stopping look and outcome per trial at one significance level (z bounds, or their t equivalents)."""
        bounds = self.levels[level]
        n_sims = stat.shape[0]
        efficacy, unfavourable, futility, floor = (
            np.atleast_2d(b) for b in (bounds.efficacy, bounds.unfavourable, bounds.futility, bounds.futility_floor)
        )
        if self.code == WELCH:
            # The statistic's one-sided p-value, as a z: compared with the z bounds.
            stat = special.ndtri(special.stdtr(df, stat))
        elif math.isfinite(df[0, 0]):
            # Student's t: each look's df is the same in every trial, so the bounds move to the t scale once.
            # (Infinite bounds stay as they are: stdtrit(df, 0) is +inf, not -inf.)
            with np.errstate(invalid="ignore"):
                to_t = lambda b: np.where(np.isfinite(b), special.stdtrit(df[:1], special.ndtr(b)), b)  # noqa: E731
                efficacy, unfavourable, futility, floor = to_t(efficacy), to_t(unfavourable), to_t(futility), to_t(floor)
        stop_look = np.empty(n_sims, dtype=np.int8)
        decision = np.empty(n_sims, dtype=np.int8)
        sequential_decisions(
            np.ascontiguousarray(stat), np.ascontiguousarray(efficacy), np.ascontiguousarray(unfavourable),
            np.ascontiguousarray(futility), np.ascontiguousarray(floor), stop_look, decision,
        )
        return stop_look, decision

    def run_chunk(self, rng: np.random.Generator, n_sims: int, stream: str) -> tuple[np.ndarray, dict]:
        """Simulate one chunk; per-trial success and summable counts (as the other kinds)."""
        if self.rules is not None:
            return self.rules.run_chunk(self, rng, n_sims, stream)
        stat, df, mean_c, mean_e = self._statistics(rng, n_sims, stream)
        return self.result(stat, df, mean_c, mean_e, stream)

    def statistics_from_moments(self, sums, squares, sd_c, sd_e, covariates=None) -> tuple[np.ndarray, np.ndarray]:
        """The statistic and df per trial and look from per-patient moments (a joint trial).

        ``sums`` and ``squares`` have shape (trials, 2 arms, looks): the
        cumulative sum of the outcomes and their sum of squares about their
        mean. With a covariate (``rho``), ``covariates`` (trials, 2 arms, 3,
        looks) holds the covariate's sum, sum of squares and product with the
        outcome about the arm's means, and the statistic is the ANCOVA's
        (:func:`simulator.engine.continuous.ancova_moment_statistics`).
        """
        n_sims, _, n_looks = sums.shape
        stat, df = np.empty((n_sims, n_looks)), np.empty((n_sims, n_looks))
        if self.endpoint.rho != 0:
            d = self.kernel_design
            part = lambda a, arm, j: np.ascontiguousarray(a[:, arm, j])  # noqa: E731
            ancova_moment_statistics(
                d, d.n_c[None, :], d.n_e[None, :], np.ascontiguousarray(sums[:, 0]),
                np.ascontiguousarray(sums[:, 1]), np.ascontiguousarray(squares[:, 0]),
                np.ascontiguousarray(squares[:, 1]), part(covariates, 0, 0), part(covariates, 1, 0),
                part(covariates, 0, 1), part(covariates, 1, 1), part(covariates, 0, 2), part(covariates, 1, 2),
                np.ascontiguousarray(sd_c, dtype=float), np.ascontiguousarray(sd_e, dtype=float), stat, df,
            )
            return stat, df
        moment_statistics(
            self.kernel_design, np.ascontiguousarray(sums[:, 0]), np.ascontiguousarray(sums[:, 1]),
            np.ascontiguousarray(squares[:, 0]), np.ascontiguousarray(squares[:, 1]),
            np.ascontiguousarray(sd_c, dtype=float), np.ascontiguousarray(sd_e, dtype=float), stat, df,
        )
        return stat, df

    def result(self, stat, df, mean_c, mean_e, stream: str) -> tuple[np.ndarray, dict]:
        """Success (levels x trials) and counts from the statistics; ``mean_*`` the true means (histograms)."""
        stop_look, decision = self.decide(stat, df)
        decisions = [decision] + [self.decide(stat, df, level)[1] for level in range(1, len(self.levels))]
        success, counts = self.counts_from_decisions(stop_look, decision, mean_c, mean_e, stream)
        if len(self.levels) > 1:
            success = np.vstack([d == REJECT_FAVOURABLE for d in decisions])
        add_two_sided(counts, stream, self.sided, decisions)
        return success, counts

    def counts_from_decisions(self, stop_look, decision, mean_c, mean_e, stream: str) -> tuple[np.ndarray, dict]:
        """Success (level 0) and the per-look counts of one stream, with the true-effect histograms under the prior."""
        n_sims = stop_look.shape[0]
        success = decision == REJECT_FAVOURABLE
        counts = per_look_counts(stop_look, decision, len(self.looks.planned_fractions))
        if stream == "assurance" and self.endpoint.prior is not None:
            effect = np.broadcast_to(mean_e - mean_c, (n_sims,))
            first = success if success.ndim == 1 else success[0]
            counts["effect_success"] = np.histogram(effect[first], bins=self.effect_bins)[0]
            counts["effect_failure"] = np.histogram(effect[~first], bins=self.effect_bins)[0]
        return success, counts

    def calendar_z(self, sum_c, sum_e, ss_c, ss_e, n_c, n_e, sd_c, sd_e, covariate=None) -> np.ndarray:
        """The statistic on the z scale per trial and look, with each trial's own patients per look.

        For a member read at a survival endpoint's calendar looks: the
        patients with a known outcome vary by trial, and so do the t tests'
        df; each statistic is moved to the z scale through its one-sided
        p-value (as Welch's always is), so that the z bounds apply. Looks with
        too few patients for a variance give 0 (they are not tested). With a
        covariate (``rho``), ``covariate`` holds its moments per arm (sums,
        sums of squares and products with the outcome about the arm's means:
        ``sx_c, sx_e, sxx_c, sxx_e, sxe_c, sxe_e``) and the statistic is the
        ANCOVA's (:func:`simulator.engine.continuous.ancova_moment_statistics`).
        """
        n_c = np.asarray(n_c, dtype=float)
        n_e = np.asarray(n_e, dtype=float)
        if self.endpoint.rho != 0:
            stat, df = np.empty(n_c.shape), np.empty(n_c.shape)
            c = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
            ancova_moment_statistics(
                self.kernel_design, c(n_c), c(n_e), c(sum_c), c(sum_e), c(ss_c), c(ss_e), *(c(a) for a in covariate),
                c(np.ravel(sd_c)), c(np.ravel(sd_e)), stat, df,
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                z = stat if self.endpoint.test == "z" else special.ndtri(special.stdtr(df, stat))
            return np.nan_to_num(z, nan=0.0, posinf=np.inf, neginf=-np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = self.sign * (sum_e / n_e - sum_c / n_c) - self.theta0
            if self.endpoint.test == "z":
                sd_c = np.asarray(sd_c, dtype=float).reshape(-1, 1)
                sd_e = np.asarray(sd_e, dtype=float).reshape(-1, 1)
                z = diff / np.sqrt(sd_c**2 / n_c + sd_e**2 / n_e)
            else:
                if self.endpoint.test == "t":
                    df = n_c + n_e - 2.0
                    se = np.sqrt((ss_c + ss_e) / df * (1.0 / n_c + 1.0 / n_e))
                else:
                    v_c, v_e = ss_c / (n_c - 1.0) / n_c, ss_e / (n_e - 1.0) / n_e
                    se = np.sqrt(v_c + v_e)
                    df = (v_c + v_e) ** 2 / (v_c**2 / (n_c - 1.0) + v_e**2 / (n_e - 1.0))
                z = special.ndtri(special.stdtr(df, diff / se))
        return np.nan_to_num(z, nan=0.0, posinf=np.inf, neginf=-np.inf)

    def _effect_bins(self) -> np.ndarray:
        if self.endpoint.prior is None:
            return np.linspace(-1.0, 1.0, _HISTOGRAM_BINS + 1)
        mean, sd = self._prior_difference()
        half = _HISTOGRAM_WIDTH * max(sd, self.vague_scale() if self.endpoint.prior.robust_weight > 0 else 0.0)
        centre = mean if self.endpoint.prior.robust_weight == 0 else 0.5 * mean
        return np.linspace(centre - half - abs(mean) * 0.5, centre + half + abs(mean) * 0.5, _HISTOGRAM_BINS + 1)

    # ------------------------------------------------------------ report fields
    def side_results(self) -> dict:
        return {}

    def expected_size(self, counts: dict) -> dict:
        """Expected patients randomised at the stopping look, with its MCSE (also at calendar looks)."""
        return expected_patients(counts, self.looks.enrolled_total)

    def describe(self) -> dict:
        looks = self.looks
        return {
            "better": self.endpoint.better,
            "margin": self.endpoint.margin,
            "rho": self.endpoint.rho,
            "n_per_arm": [int(looks.enrolled_c[-1]), int(looks.enrolled_e[-1])],
            "n_evaluable_per_arm": [int(looks.evaluable_c[-1]), int(looks.evaluable_e[-1])],
            "look_sizes": looks.enrolled_total.tolist(),
            "effect_scale": "mean_E - mean_C",
        }

    def _effects_at(self, bounds) -> list:
        """The observed mean difference (natural scale) at which the statistic equals each bound.

        With the SDs of the truth (else the phase 2 SDs) as the standard
        deviations the statistic would estimate; for the t test the bound is
        first moved to the t scale at the look's df.
        """
        from scipy import stats  # Student's t (imported where needed: simulator.stats.distributions)

        sd_c, sd_e = (self.truth.sd_c, self.truth.sd_e) if self.truth is not None else self._reference_sds()
        out = []
        for k, bound in enumerate(bounds):
            if not np.isfinite(bound):
                out.append(None)
                continue
            n_c, n_e = float(self.looks.evaluable_c[k]), float(self.looks.evaluable_e[k])
            df = means.degrees_of_freedom(self.endpoint.test, n_c, n_e, sd_c, sd_e, self.endpoint.rho != 0)
            scaled = float(bound) if math.isinf(df) else float(stats.t.ppf(dist.norm.cdf(bound), df))
            se = means.statistic_se(self.endpoint.test, n_c, n_e, sd_c, sd_e)
            out.append(float(self.sign * (self.theta0 + scaled * se)))
        return out

    def effect_bounds(self) -> dict:
        return {"critical_effect": self._effects_at(self.bounds.efficacy), "futility_effect": self._effects_at(self.bounds.futility),
                **unfavourable_effects(self.sided, self.bounds, self._effects_at)}

    # ------------------------------------------------------------ analytic
    def exact(self) -> dict:
        """Exact power and size of a fixed Student-t design with equal SDs (noncentral t; with a covariate,
        averaged over its chance imbalance between the arms: the ANCOVA the kernel simulates)."""
        truth = self.truth
        if (truth is None or self.endpoint.test != "t" or len(self.looks.planned_fractions) > 1
                or not math.isclose(truth.sd_c, truth.sd_e)):
            return {}
        n_c, n_e = float(self.looks.evaluable_c[-1]), float(self.looks.evaluable_e[-1])
        delta = self.sign * (truth.mean_e - truth.mean_c) - self.theta0
        covariate = self.endpoint.rho != 0
        return {
            "power_exact": means.power_means("t", delta, truth.sd_c, truth.sd_e, n_c, n_e, self.alpha, self.sided, covariate),
            "size_exact": means.power_means("t", 0.0, truth.sd_c, truth.sd_e, n_c, n_e, self.alpha, self.sided, covariate),
        }

    def analytic(self, config: Config) -> dict:
        """Power at this size and the size for ``design.power`` (rpact's formulas).

        Group-sequential: the maximum size is the fixed size times the inflation factor, and the expected
        sizes are each look's patients weighted by the probability of stopping there.
        """
        truth = self.truth
        if truth is None:  # with an [interim] rule: the design without it, a reference
            return {}
        test, covariate = self.endpoint.test, self.endpoint.rho != 0
        delta = self.sign * (truth.mean_e - truth.mean_c) - self.theta0
        n_c, n_e = float(self.looks.evaluable_c[-1]), float(self.looks.evaluable_e[-1])
        fixed_power = means.power_means(test, delta, truth.sd_c, truth.sd_e, n_c, n_e, self.alpha, self.sided, covariate)
        out: dict = {"power": fixed_power}
        if test == "t" and not math.isclose(truth.sd_c, truth.sd_e):
            # The pooled t assumes one SD: with two, its statistic is not noncentral t (and its size is
            # not alpha with unequal arms), so the formula's power and size describe no test. Simulated
            # values are the pooled t's own.
            c, e = self.endpoint.truth
            out["note"] = (
                f"test = \"t\" pools the variances, but the truth's SDs differ ({c.sd:g} and "
                f"{e.sd:g}): the analytic power and size are approximate (the pooled variance taken as a "
                "scaled chi-square, docs/methods.md), and the simulated type I "
                "error is the pooled t's own (not alpha with unequal arms); test = \"welch\" does not assume "
                "equal SDs"
            )
        if test == "welch" and covariate:
            # A review: 0.6338 analytic against 0.6471 ± 0.0021 simulated at 6 + 9 with rho 0.7, type I error
            # 0.0276 ± 0.0004 at 12 + 12, where the note spoke of a conservative test.
            add_note(out, "Welch's ANCOVA (this package's construction, docs/methods.md) is anticonservative: its "
                     "simulated type I error runs above alpha (about 0.027 for 0.025 at 12 + 12 evaluable patients, "
                     "less as the arms grow) and its analytic power below the simulated one; the simulated values "
                     "are the reference, and test = \"t\" keeps its level with a covariate")
        elif test == "welch" and min(n_c, n_e) < _WELCH_SMALL:
            # A review: 0.0508 analytic against 0.0244 ± 0.0011 simulated at 2 + 2, without a word.
            add_note(out, f"Welch's analytic power (noncentral t at the Satterthwaite df of the true SDs) is above "
                     f"the simulated one below about {_WELCH_SMALL} evaluable patients a side, where the test is "
                     "also conservative (docs/methods.md): at this size the simulated power is the reference")
        sequential = self.bounds.sequential
        out.update(sequential_power(fixed_power, self.alpha, self.sided, sequential, self.looks.enrolled_total))
        if delta > 0:
            evaluable = means.sample_size_means(
                test, delta, truth.sd_c, truth.sd_e, self.alpha, self.sided, config.design.power,
                config.trial.allocation, covariate,
            )
            out.update(design_size(evaluable, config, self.planned_bounds.sequential))
            if test != "z" and evaluable <= means.smallest_t_size(config.trial.allocation, covariate) * (1 + 1e-12):
                # A review: 6.0 for an effect of 6 SDs (rpact 3.903), without a word.
                add_note(out, f"the t test's size formula starts at {3 + covariate} evaluable patients in the smaller "
                         "arm, which already give design.power: n_total_design comes from that floor (over the "
                         "evaluable share and times the looks' inflation), not from the size at which the power "
                         "equals design.power")
        return out


#: Evaluable patients a side below which Welch's analytic power runs above the simulated one (docs/methods.md).
_WELCH_SMALL = 12


def _arrays(mean_c: float, mean_e: float, sd_c: float, sd_e: float):
    return np.array([mean_c]), np.array([mean_e]), np.array([sd_c]), np.array([sd_e])


class ContinuousKind(PatientKind):
    """``kind = "continuous"``: two-arm endpoints compared by their means (:class:`ContinuousPlan`).

    Read per patient in entry order in a joint trial, or at a survival
    endpoint's calendar looks (:mod:`simulator.endpoints.joint`).
    """

    name = "continuous"
    tests = continuous_spec.CONTINUOUS_TESTS
    interim_rules = ("interim",)  # sections acting on continuous endpoints (endpoints.adaptive_continuous)
    figures_module = "simulator.endpoints.continuous_figures"

    def parse(self, name, table, context) -> ContinuousEndpoint:
        return continuous_spec.parse(name, table, context)

    def plan(self, config, endpoint, alpha=None, extra_levels=()) -> ContinuousPlan:
        return ContinuousPlan.from_config(config, endpoint, alpha, extra_levels)


KIND = ContinuousKind()
