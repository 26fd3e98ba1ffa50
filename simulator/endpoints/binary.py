"""A two-arm binary endpoint: config -> oriented design -> engine and oracle.

:class:`BinaryPlan` is everything the kernels need for one endpoint of one
scenario, computed once: arm sizes per look, bounds, Fisher critical counts,
true rates and priors, all oriented so that a higher rate is better (a harm
with ``better = "lower"`` is analysed through its complement, 1 - p, which
leaves every test unchanged and lets one kernel serve both directions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from simulator.config.fields import fail
from simulator.config.schema import Config
from simulator.design import critical, exact, rates
from simulator.design.allocation import round_half_up
from simulator.endpoints import binary_spec
from simulator.endpoints.adaptive import InterimRules, with_rules
from simulator.endpoints.binary_spec import BinaryEndpoint
from simulator.endpoints.common import (
    EXACT_SIZE_NOTE,
    Bounds,
    Looks,
    PatientKind,
    add_two_sided,
    counts_from_tally,
    design_bounds,
    design_size,
    expected_patients,
    look_bounds,
    make_looks,
    sequential_power,
)
from simulator.engine.binary import (
    alias_table,
    decide_counts,
    decision_table,
    pack,
    simulate_fixed,
    simulate_prior,
)
from simulator.errors import InputError
from simulator.priors import UNRESOLVED, BetaMixture, binary_priors, prob_difference_above, unresolved_mass
from simulator.stats import distributions as dist
from simulator.stats.binary import FISHER, FISHER_TIE_TOLERANCE, TEST_CODES, fisher_thresholds
from simulator.stats.decision import REJECT_FAVOURABLE

#: Bins of the true risk difference p_E - p_C for the assurance histograms.
EFFECT_BINS = np.linspace(-1.0, 1.0, 401)
#: Half-width, in standard deviations of the cumulative count, of the window
#: of counts whose outcomes are tabulated (counts outside it are decided afresh).
WINDOW_SDS = 8.0
#: Most cells of one decision table (one level and look, one byte each); a
#: larger window is narrowed to fit, the counts outside it decided afresh.
MAX_TABLE_CELLS = 1 << 22
#: Most cells of a plan's tables of pairs of new events (both arms in one draw), over its looks: up
#: to this the one draw per look is faster than two (the tables still fit a processor's cache).
JOINT_MAX_CELLS = 1 << 17
#: What the prior kernel gets for the predictive tables of a design with looks (it does not read them).
_NO_ALIAS = (np.ones(1), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
             np.zeros((1, 2), dtype=np.int64), np.ones((1, 2), dtype=np.int64))
_NO_WEIGHTS = np.zeros(1)

#: Prior mass near a rate of 0 or 1 (:func:`simulator.priors.unresolved_mass`) above which prior P(benefit) gets a
#: note and is no ceiling for ``size``: a millionth moves no digit of the four reported.
_UNRESOLVED_NOTE = 1e-6


@dataclass(frozen=True)
class SamplingTables:
    """What :func:`~simulator.engine.binary.simulate_fixed` needs for one stream of one plan.

    ``alias``: ``(prob, outcome, other, offsets, sizes)``, the alias tables
    of each look's new events (:func:`_alias_tables`): binomial at fixed
    rates, of both arms in one table (:data:`JOINT_MAX_CELLS`) or one table
    per arm; with priors, for a fixed design, the prior predictive counts of
    each arm (``None`` for a design with looks, whose counts are drawn per
    trial);
    ``decisions``: ``(table, table_offset, low_c, width_c, low_e,
    width_e)``, the outcomes per level and look in each look's window of
    cumulative counts; ``posterior``: with priors and predictive alias
    tables, the vague component's posterior weight per count of each arm.
    """

    alias: tuple | None
    decisions: tuple
    posterior: tuple | None = None


#: Fisher's level is widened by this relative amount (:func:`_fisher_tables`), so that a p-value equal to it in exact
#: arithmetic rejects: rounding moves both by about 1e-16, and no other p-value lies this close to the level.
FISHER_LEVEL_TIES = 1e-12

#: An exact size above this multiple of the one-sided level gets a note (:meth:`BinaryPlan.exact`): the
#: pooled z's usual excess at moderate sizes (a few per cent) stays quiet.
ANTI_CONSERVATIVE = 1.2


@dataclass(frozen=True)
class BinaryPlan:
    """One binary endpoint of one scenario, ready for the kernels.

    Build it with :meth:`from_config`.
    """

    endpoint: BinaryEndpoint
    code: int
    theta0: float
    alpha: float
    sided: int
    looks: Looks
    bounds: Bounds
    truth: tuple[float, float] | None  # oriented (control, experimental)
    prior: tuple[BetaMixture, BetaMixture] | None  # oriented
    fisher: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False)
    planned_bounds: Bounds | None = None  # at the planned fractions (design output)
    levels: tuple = ()  # (Bounds, Fisher tables) per significance level; level 0 = `alpha`
    #: Fisher's lower futility counts per level (the inner wedge of a two-sided design;
    #: -1, none, otherwise): :func:`simulator.stats.decision.decide`'s ``floor_row``.
    fisher_floors: tuple = field(default=(), repr=False)
    #: :class:`SamplingTables` per stream and the stacked level arrays, built on first use (a cache,
    #: not part of the plan's value).
    _tables: dict = field(default_factory=dict, repr=False, compare=False)
    #: ``[interim]`` / ``[adaptation]`` rules (:class:`simulator.endpoints.adaptive.InterimRules`), which then
    #: simulate the endpoint; ``None`` without them.
    rules: InterimRules | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_config(
        cls, config: Config, endpoint: BinaryEndpoint, alpha: float | None = None, extra_levels: tuple = ()
    ) -> BinaryPlan:
        """Orient the endpoint and precompute what every simulated trial shares.

        ``alpha`` overrides ``design.alpha`` (a Bonferroni share, say);
        ``extra_levels`` are further significance levels at which the same
        simulated trials are also analysed (Holm's alpha / j).
        """
        design = config.design
        alpha = design.alpha if alpha is None else alpha
        flip = endpoint.better == "lower"
        orient = (lambda p: 1.0 - p) if flip else (lambda p: p)
        truth = None
        if endpoint.truth is not None:
            truth = (orient(endpoint.truth.control), orient(endpoint.truth.experimental))
        prior = None
        if endpoint.prior is not None:
            control, experimental = binary_priors(endpoint.prior)
            prior = (control.flipped(), experimental.flipped()) if flip else (control, experimental)
        looks = make_looks(config)
        bounds, planned = look_bounds(config, looks, alpha)
        code = TEST_CODES[endpoint.test]
        if code == FISHER and max(looks.evaluable_c[-1], looks.evaluable_e[-1]) > FISHER_MAX_PER_ARM:
            raise InputError(
                f"config key `endpoints.{endpoint.name}.test`: \"fisher\" allows at most {FISHER_MAX_PER_ARM} evaluable "
                f"patients per arm (its critical table grows with the square of n; here "
                f"{max(looks.evaluable_c[-1], looks.evaluable_e[-1])}); at this size use \"z_pooled\", which Fisher's "
                "test approaches"
            )
        fisher = _fisher_tables(code, looks, bounds, design.sided)
        levels = [(bounds, fisher)]
        floors = [_fisher_floor_table(code, looks, bounds)]
        for level_alpha in extra_levels:
            level_bounds = design_bounds(config, looks.realised_fractions, level_alpha)
            levels.append((level_bounds, _fisher_tables(code, looks, level_bounds, design.sided)))
            floors.append(_fisher_floor_table(code, looks, level_bounds))
        plan = cls(
            endpoint, code, -endpoint.margin, alpha, design.sided, looks, bounds, truth, prior, fisher, planned,
            tuple(levels), tuple(floors),
        )
        return with_rules(config, plan)

    # ------------------------------------------------------------ truths
    def null_truth(self) -> tuple[float, float]:
        """Rates on the boundary of H0: control as assumed, experimental at control + theta0."""
        if self.truth is not None:
            control = self.truth[0]
        else:
            control = self.prior[0].mean()
        return control, float(min(max(control + self.theta0, 0.0), 1.0))

    def prior_p_benefit(self) -> float | None:
        """Prior probability that H1 holds (p_E - p_C > theta0, oriented): the ceiling of assurance."""
        if self.prior is None:
            return None
        return prob_difference_above(self.prior[0], self.prior[1], self.theta0)

    # ------------------------------------------------------------ simulation
    def _rates(self, stream: str) -> tuple[float, float] | None:
        """Oriented fixed rates of a stream, ``None`` when they are drawn from the priors.

        ``stream`` is ``"power"`` (fixed truth), ``"assurance"`` (prior when
        given, else the fixed truth) or ``"type1"`` (the null boundary).
        """
        if stream == "type1":
            return self.null_truth()
        if stream == "assurance" and self.prior is not None:
            return None
        return self.truth

    def sampling_tables(self, stream: str) -> SamplingTables:
        """The alias and decision tables of a stream, built once per plan and stream.

        Alias tables: per look, the exact binomial pmf of each arm's new
        evaluable patients' events over its whole support
        (``simulator.stats.distributions.binom.pmf``, SciPy's), as one table of the pairs (their outer
        product) while the plan's pairs fit :data:`JOINT_MAX_CELLS`, else
        one table per arm; with priors and one look, each arm's prior
        predictive (beta-binomial mixture) pmf. Decision windows: the cumulative counts
        within :data:`WINDOW_SDS` standard deviations of their mean (under
        the fixed rates, or the prior predictive distribution), narrowed to
        :data:`MAX_TABLE_CELLS` per level and look.
        """
        key = "prior" if self._rates(stream) is None else stream
        cached = self._tables.get(key)
        if cached is not None:
            return cached
        rates = self._rates(stream)
        n_c, n_e = self.looks.evaluable_c, self.looks.evaluable_e
        posterior = None
        if rates is None:
            moments = [_predictive_moments(prior, n) for prior, n in zip(self.prior, (n_c, n_e), strict=True)]
            alias = None
            if len(n_c) == 1:
                alias = _alias_tables([self.prior[0].predictive_pmf(int(n_c[0]))],
                                      [self.prior[1].predictive_pmf(int(n_e[0]))], joint=False)
                posterior = (_posterior_vague(self.prior[0], int(n_c[0])), _posterior_vague(self.prior[1], int(n_e[0])))
        else:
            moments = [(n * p, np.sqrt(n * p * (1.0 - p))) for p, n in zip(rates, (n_c, n_e), strict=True)]
            alias = _alias_tables(_binomial_pmfs(n_c, rates[0]), _binomial_pmfs(n_e, rates[1]), _joint(n_c, n_e))
        (low_c, width_c), (low_e, width_e) = _windows(moments[0], moments[1], n_c, n_e)
        levels = self._level_arrays()
        n_levels = len(self.levels)
        cells = width_c * width_e
        starts = np.concatenate([[0], np.cumsum(np.tile(cells, n_levels))])
        table_offset = starts[:-1].reshape(n_levels, len(cells)).astype(np.int64)
        table = np.empty(int(starts[-1]), dtype=np.int8)
        decision_table(self.code, n_c, n_e, self.theta0, low_c, width_c, low_e, width_e, *levels, table_offset, table)
        tables = SamplingTables(alias, (table, table_offset, low_c, width_c, low_e, width_e), posterior)
        self._tables[key] = tables
        return tables

    def _level_arrays(self) -> tuple:
        """Bounds ``(L, K)`` and Fisher tables ``(L, K, M)`` of every level, stacked for the kernels."""
        cached = self._tables.get("levels")
        if cached is not None:
            return cached
        bounds = [level[0] for level in self.levels]
        tables = [level[1] for level in self.levels]
        stack = lambda rows: np.ascontiguousarray(np.stack(rows))  # noqa: E731
        self._tables["levels"] = arrays = (
            stack([b.efficacy for b in bounds]), stack([b.unfavourable for b in bounds]),
            stack([b.futility for b in bounds]), stack([b.futility_floor for b in bounds]),
            stack([t[0] for t in tables]), stack([t[1] for t in tables]), stack([t[2] for t in tables]),
            stack([self._floor_table(level) for level in range(len(self.levels))]),
        )
        return arrays

    def simulate_levels(self, rng: np.random.Generator, n_sims: int, stream: str):
        """Simulate one chunk of trials and decide them at every level.

        Returns ``(stop_look, decision, tally, true_c, true_e)``: the
        stopping look at level 0, the outcomes ``(levels, trials)``, the
        level-0 trials by outcome and stopping look
        (:func:`~simulator.endpoints.common.counts_from_tally`), and the
        oriented true rates per trial (``None`` for fixed rates: the kernel
        does not write them).
        """
        tables = self.sampling_tables(stream)
        n_c, n_e = self.looks.evaluable_c, self.looks.evaluable_e
        stop_look = np.empty(n_sims, dtype=np.int8)
        decision = np.empty((len(self.levels), n_sims), dtype=np.int8)
        tally = np.zeros((4, len(n_c)), dtype=np.int64)
        levels = self._level_arrays()
        if tables.alias is not None and tables.posterior is None:
            simulate_fixed(rng, n_sims, *tables.alias, self.code, n_c, n_e, self.theta0, *tables.decisions, *levels,
                           stop_look, decision, tally)
            return stop_look, decision, tally, None, None
        true_c = np.empty(n_sims)
        true_e = np.empty(n_sims)
        predictive = tables.posterior is not None
        simulate_prior(
            rng, n_sims, n_c, n_e, self.prior[0].as_kernel_array(), self.prior[1].as_kernel_array(), predictive,
            *(tables.alias if predictive else _NO_ALIAS), *(tables.posterior if predictive else (_NO_WEIGHTS,) * 2),
            self.code, self.theta0, *tables.decisions, *levels, stop_look, decision, tally, true_c, true_e,
        )
        return stop_look, decision, tally, true_c, true_e

    def decide(self, x_c: np.ndarray, x_e: np.ndarray, level: int = 0):
        """Stopping look and outcome of every trial at one significance level."""
        bounds, (fav, unf, fut) = self.levels[level]
        n_sims = x_c.shape[0]
        # Fixed looks: every trial has the same sizes, so a read-only
        # broadcast view (stride 0) serves without a per-trial copy.
        n_c = np.broadcast_to(self.looks.evaluable_c, x_c.shape)
        n_e = np.broadcast_to(self.looks.evaluable_e, x_e.shape)
        stop_look = np.empty(n_sims, dtype=np.int8)
        decision = np.empty(n_sims, dtype=np.int8)
        decide_counts(
            self.code, x_c, x_e, n_c, n_e, self.theta0, bounds.efficacy, bounds.unfavourable, bounds.futility,
            bounds.futility_floor, fav, unf, fut, self._floor_table(level), stop_look, decision,
        )
        return stop_look, decision

    def _floor_table(self, level: int = 0) -> np.ndarray:
        """Fisher's lower futility counts at a level (``-1``: no floor)."""
        if self.fisher_floors:
            return self.fisher_floors[level]
        return np.full(self.fisher[2].shape, -1, dtype=np.int64)

    def simulate(self, rng: np.random.Generator, n_sims: int, stream: str):
        """Per-trial (stop_look, decision, true_c, true_e) at the endpoint's level (true rates oriented)."""
        stop_look, decision, _, true_c, true_e = self.simulate_levels(rng, n_sims, stream)
        if true_c is None:
            rates = self._rates(stream)
            true_c, true_e = np.full(n_sims, rates[0]), np.full(n_sims, rates[1])
        return stop_look, decision[0], true_c, true_e

    def run_chunk(self, rng: np.random.Generator, n_sims: int, stream: str) -> tuple[np.ndarray, dict]:
        """Simulate one chunk; return per-trial success and summable counts.

        Success is a boolean array of the trials, or of shape (levels, trials)
        when the plan has extra levels. Counts (at level 0) are integer arrays (per look, or per bin of the true effect),
        so that chunks add up exactly and in any grouping.
        """
        if self.rules is not None:
            return self.rules.run_chunk(self, rng, n_sims, stream)
        _, decisions, tally, true_c, true_e = self.simulate_levels(rng, n_sims, stream)
        success = decisions == REJECT_FAVOURABLE
        if len(self.levels) == 1:
            success = success[0]
        counts = counts_from_tally(tally)
        add_two_sided(counts, stream, self.sided, list(decisions))
        if true_c is not None:
            effect = true_e - true_c
            if self.endpoint.better == "lower":
                effect = -effect  # back to the natural scale: p_E - p_C
            first = success if success.ndim == 1 else success[0]
            counts["effect_success"] = np.histogram(effect[first], bins=EFFECT_BINS)[0]
            counts["effect_failure"] = np.histogram(effect[~first], bins=EFFECT_BINS)[0]
        return success, counts

    def expected_size(self, counts: dict) -> dict:
        """Expected patients randomised at the stopping look, with its MCSE.

        Analysed at a survival endpoint's calendar looks (a joint trial,
        :mod:`simulator.endpoints.joint`), the patients per look vary by
        trial: the counts then carry their sum and sum of squares, and the
        mean information fraction reached at each look.
        """
        return expected_patients(counts, self.looks.enrolled_total)

    def side_results(self) -> dict:
        """Nothing beyond the simulated counts (see :meth:`SurvivalPlan.side_results`)."""
        return {}

    def describe(self) -> dict:
        """Kind-specific facts for the report."""
        looks = self.looks
        out = {
            "better": self.endpoint.better,
            "margin": self.endpoint.margin,
            "n_per_arm": [int(looks.enrolled_c[-1]), int(looks.enrolled_e[-1])],
            "n_evaluable_per_arm": [int(looks.evaluable_c[-1]), int(looks.evaluable_e[-1])],
            "look_sizes": looks.enrolled_total.tolist(),
            "effect_scale": "p_E - p_C",
        }
        if self.prior is not None:
            mass = max(unresolved_mass(arm) for arm in self.prior)
            if mass > _UNRESOLVED_NOTE:
                out["prior_p_benefit_note"] = (
                    f"the prior puts {mass:.2g} of its probability within {UNRESOLVED:g} of a rate of 0 or 1 (a Beta "
                    "parameter far below 1: a small prior.base with few events or non-events), closer than double "
                    "precision resolves, so prior P(benefit) may be off there and is not used as the ceiling of "
                    "assurance"
                )
        return out

    effect_bins = EFFECT_BINS

    def critical_effects(self) -> list:
        """``critical_effect`` of :meth:`effect_bounds`: the observed p_E - p_C that rejects, per look."""
        return self.effect_bounds()["critical_effect"]

    def effect_bounds(self) -> dict:
        """The bounds on the scale of the data, per look (``None`` where a look has no bound).

        - ``critical_effect``, ``futility_effect``: the observed risk
          difference p_E - p_C (natural scale: negative favours the
          experimental arm when ``better = "lower"``) at which the test's own
          statistic equals the efficacy or futility z bound, with the observed
          control rate held at the assumed one (``truth.control``, or the
          prior mean) and the look's evaluable patients, solved on the
          continuous scale (:mod:`simulator.design.critical`): pooled,
          unpooled or Farrington-Manning variance with the margin, Yates with
          the counts as real numbers. A trial rejects at or above (below, for
          ``"lower"``) the critical effect and stops for futility at or
          beyond the futility effect on the unfavourable side. Fisher's test
          has no continuous statistic: its effects are read off the counts
          below, ``x_E / n_E - x_C / n_C`` at the critical count and at the
          first count that does not stop for futility.
        - ``critical_count``: at the expected control count ``n_C p_C``
          rounded to the nearest integer (halves up), the smallest number of
          experimental responders that rejects (``"lower"``: the largest
          number of experimental events that still rejects), by the decision
          rule of the simulation; ``futility_count``: the largest number that
          stops for futility (``"lower"``: the smallest number of events that
          stops).
        - ``effect_note``, only when a value had to be clipped: no observed
          rate reaches a bound (or every one does), so the effect is set to
          the end of the feasible range of p_E - p_C, or a count does not
          exist.
        """
        flip = self.endpoint.better == "lower"
        sign = -1.0 if flip else 1.0
        p_c = self.null_truth()[0]  # oriented
        p_c_natural = 1.0 - p_c if flip else p_c
        fav, unf, fut = self.fisher
        floors = self._floor_table()
        looks, bounds = self.looks, self.bounds
        out: dict = {"critical_effect": [], "futility_effect": [], "critical_count": [], "futility_count": []}
        # Two-sided designs: the unfavourable side too (common.unfavourable_effects says what each is).
        lower: dict = {}
        if self.sided == 2:
            lower["critical_effect_unfavourable"] = []
            if bounds.inner:
                lower["futility_effect_unfavourable"] = []
        notes: list[str] = []

        def natural_count(x: int | None, n_e: int) -> int | None:
            return None if x is None else (n_e - x if flip else x)

        def note(k: int, which: str, bound: float, clipped: str, value: float, key: str | None = None) -> None:
            """The note of a clipped value; ``key`` names an unfavourable-side one (its bound's side differs)."""
            end = clipped == "above"
            rate = (0 if end else 1) if flip else (1 if end else 0)
            if key is None:
                reach = "no experimental rate reaches" if end else "every experimental rate reaches"
                what = f"the {which} bound (z = {bound:.4g})"
                key = f"{which.replace('efficacy', 'critical')}_effect"
            else:
                reach, what = "no observed rate puts the statistic at", f"the bound z = {bound:.4g} on the unfavourable side"
            notes.append(
                f"look {k + 1}: {reach} {what} with the control rate at {p_c_natural:.4g} ({self.endpoint.test}); "
                f"{key} clipped to {value:.4g}, an experimental rate of {rate}"
            )

        for k in range(len(looks.planned_fractions)):
            n_c, n_e = int(looks.evaluable_c[k]), int(looks.evaluable_e[k])
            x_c_natural = round_half_up(n_c * p_c_natural)
            x_c = n_c - x_c_natural if flip else x_c_natural
            efficacy, futility = float(bounds.efficacy[k]), float(bounds.futility[k])
            counts = critical.counts_at_bound(
                self.code, x_c, n_c, n_e, self.theta0, efficacy, float(bounds.unfavourable[k]), futility,
                fav[k], unf[k], fut[k], float(bounds.futility_floor[k]), floors[k],
            )
            if self.code == FISHER:
                # No continuous statistic: the effects at the count boundaries.
                reject_at = None if counts.critical is None else counts.critical / n_e - x_c / n_c
                if counts.futility is None:
                    continue_at = critical.Crossing(-x_c / n_c, "below")  # no count stops
                elif counts.first_continue is None:
                    continue_at = critical.Crossing(1.0 - x_c / n_c, "above")  # every count stops
                else:
                    continue_at = critical.Crossing(counts.first_continue / n_e - x_c / n_c)
                crossings = {
                    "efficacy": critical.Crossing(1.0 - x_c / n_c, "above") if reject_at is None
                    else critical.Crossing(reject_at),
                    "futility": continue_at,
                }
            for which, bound in (("efficacy", efficacy), ("futility", futility)):
                key = "critical_effect" if which == "efficacy" else "futility_effect"
                if not np.isfinite(bound):
                    out[key].append(None)
                    continue
                if self.code == FISHER:
                    crossing = crossings[which]
                else:
                    crossing = critical.effect_at_bound(self.code, p_c, n_c, n_e, bound, self.theta0,
                                                        strict=which == "futility")
                value = float(sign * crossing.effect) + 0.0  # + 0.0: no "-0.0" for an effect of zero
                out[key].append(value)
                if crossing.clipped is not None:
                    note(k, which, bound, crossing.clipped, value)
            if np.isfinite(efficacy):
                out["critical_count"].append(natural_count(counts.critical, n_e))
                if counts.critical is None:
                    notes.append(
                        f"look {k + 1}: no experimental count rejects with {x_c_natural} of {n_c} control events; "
                        "critical_count is null"
                    )
            else:
                out["critical_count"].append(None)
            out["futility_count"].append(natural_count(counts.futility, n_e) if np.isfinite(futility) else None)
            for key, bound, count in (("critical_effect_unfavourable", float(bounds.unfavourable[k]), counts.unfavourable),
                                      ("futility_effect_unfavourable", float(bounds.futility_floor[k]), counts.below_wedge)):
                if key not in lower:
                    continue
                if not np.isfinite(bound):
                    lower[key].append(None)
                    continue
                if self.code == FISHER:
                    # The count boundaries, as for the favourable side: the last count that rejects
                    # unfavourably, and the last one under the wedge (none: the end of the feasible range).
                    crossing = (critical.Crossing(-x_c / n_c, "below") if count is None
                                else critical.Crossing(count / n_e - x_c / n_c))
                else:
                    # Unfavourable rejection (z <= -b) ends where the statistic rises above -b; the wedge
                    # (-a <= z) starts where it reaches -a.
                    crossing = critical.effect_at_bound(self.code, p_c, n_c, n_e, bound, self.theta0,
                                                        strict=key == "critical_effect_unfavourable")
                value = float(sign * crossing.effect) + 0.0
                lower[key].append(value)
                if crossing.clipped is not None:
                    # Clipped with a note, as the favourable side is (issue 12's rule for an infeasible value).
                    note(k, "", bound, crossing.clipped, value, key)
        out.update(lower)
        if notes:
            out["effect_note"] = "; ".join(notes)
        return out

    # ------------------------------------------------------------ analytic
    def exact(self) -> dict:
        """:meth:`_exact`, with a note where the test's exact size is well above its level."""
        out = self._exact()
        # A review: z_unpooled at 50 patients had an exact size of 0.141 for 0.025, said by size_exact alone; a
        # code review: two-sided, the unfavourable tail alone can be far above its share (0.150 for 0.05 in all).
        checks = [("size_exact", self.alpha / self.sided, "one-sided level")]
        if self.sided == 2:
            checks.append(("size_exact_two_sided", self.alpha, "two-sided level"))
        for key, nominal, what in checks:
            size = out.get(key)
            if size is not None and size > ANTI_CONSERVATIVE * nominal:
                out["exact_note"] = (
                    f"{EXACT_SIZE_NOTE} {self.endpoint.test} here is {size:.4g} against its {what} "
                    f"{nominal:.4g}: at these sizes its normal approximation rejects too often under H0"
                )
                break
        return out

    def _exact(self) -> dict:
        """Exact power, size and assurance by enumeration (the simulation's oracle).

        Fixed designs get power, size and assurance (prior predictive,
        beta-binomial); group-sequential designs get power and size with
        their per-look probabilities (assurance is simulated only). With
        interim rules (:mod:`simulator.endpoints.adaptive`): nothing here.
        """
        if self.rules is not None:
            return {}
        nc, ne = int(self.looks.evaluable_c[-1]), int(self.looks.evaluable_e[-1])
        if (nc + 1) * (ne + 1) > exact.MAX_CELLS:
            return {}
        if len(self.looks.planned_fractions) > 1:
            return self._exact_sequential()
        fav, unf, fut = self.fisher
        grid = exact.decision_grid(
            self.code, nc, ne, self.theta0, self.bounds.efficacy[-1], self.bounds.unfavourable[-1],
            self.bounds.futility[-1], fav[-1], unf[-1], fut[-1],
        )
        out = {}
        if self.truth is not None:
            power, unfav = exact.rejection_probabilities(
                grid, exact.binomial_pmf(nc, self.truth[0]), exact.binomial_pmf(ne, self.truth[1])
            )
            out["power_exact"], out["reject_unfavourable_exact"] = power, unfav
        p_c0, p_e0 = self.null_truth()
        size, size_unfavourable = exact.rejection_probabilities(
            grid, exact.binomial_pmf(nc, p_c0), exact.binomial_pmf(ne, p_e0)
        )
        out["size_exact"] = size
        if self.sided == 2:
            out["size_exact_two_sided"] = size + size_unfavourable
        if self.prior is not None:
            out["assurance_exact"] = exact.rejection_probabilities(
                grid, self.prior[0].predictive_pmf(nc), self.prior[1].predictive_pmf(ne)
            )[0]
        return out

    def sequential_exact(self, p_c: float, p_e: float) -> dict:
        """Exact per-look probabilities of a group-sequential design at given rates."""
        fav, unf, fut = self.fisher
        return exact.sequential_rejection(
            self.code, self.theta0, self.looks.evaluable_c, self.looks.evaluable_e, self.bounds.efficacy,
            self.bounds.unfavourable, self.bounds.futility, fav, unf, fut, p_c, p_e,
            floor=self.bounds.futility_floor, floor_table=self._floor_table(),
        )

    def _exact_sequential(self) -> dict:
        out = {}
        enrolled = self.looks.enrolled_total.astype(float)
        if self.truth is not None:
            probs = self.sequential_exact(*self.truth)
            out["power_exact"] = float(probs["reject"].sum())
            out["reject_unfavourable_exact"] = float(probs["reject_unfavourable"].sum())
            out["reject_per_look_exact"] = probs["reject"].tolist()
            out["futility_per_look_exact"] = probs["futility"].tolist()
            out["expected_n_exact"] = float(probs["stopped"] @ enrolled)
        null = self.sequential_exact(*self.null_truth())
        out["size_exact"] = float(null["reject"].sum())
        if self.sided == 2:
            out["size_exact_two_sided"] = float(null["reject"].sum() + null["reject_unfavourable"].sum())
        out["size_per_look_exact"] = null["reject"].tolist()
        out["expected_n_h0_exact"] = float(null["stopped"] @ enrolled)
        return out

    def analytic(self, config: Config) -> dict:
        """Normal-approximation power at this size and the size for ``design.power``.

        Group-sequential designs scale the fixed design by the inflation
        factor (rpact's method): the maximum size is the fixed size times the
        inflation factor, the expected sizes under H0 and H1 are each look's
        patients weighted by the probability of stopping there, and the power at the configured size
        comes from the drift that gives the fixed design its power there.
        With interim rules (:mod:`simulator.endpoints.adaptive`): the design
        without them, a reference (the rules' operating characteristics are
        simulated).
        """
        if self.truth is None:
            return {}
        p_c, p_e = self.truth
        nc, ne = int(self.looks.evaluable_c[-1]), int(self.looks.evaluable_e[-1])
        fixed_power = rates.power_rates(self.endpoint.test, p_c, p_e, nc, ne, self.alpha, self.sided, self.theta0)
        sequential = self.bounds.sequential
        out = {"power": fixed_power}
        out.update(sequential_power(fixed_power, self.alpha, self.sided, sequential, self.looks.enrolled_total))
        planned = self.planned_bounds.sequential if self.planned_bounds is not None else sequential
        if p_e - p_c > self.theta0:
            evaluable = rates.sample_size_rates(
                self.endpoint.test, p_c, p_e, self.alpha, self.sided, config.design.power,
                config.trial.allocation, self.theta0,
            )
            out.update(design_size(evaluable, config, planned))
        return out


def _binomial_pmfs(n: np.ndarray, p: float) -> list[np.ndarray]:
    """The exact binomial pmf of each look's new events, over the whole support 0..increment."""
    return [dist.binom.pmf(np.arange(m + 1), m, p) for m in np.diff(n, prepend=0)]


def _alias_tables(pmfs_c: list, pmfs_e: list, joint: bool) -> tuple:
    """Alias tables of each look's new events, from each arm's pmfs per look.

    ``joint``: one table per look over the pairs of new events (the outer
    product of the two pmfs: one draw for both arms); else two, control then
    experimental. Returns ``(prob, outcome, other, offsets, sizes)`` as
    :func:`~simulator.engine.binary.simulate_fixed` takes them, outcomes
    packed by :func:`~simulator.engine.binary.pack`.
    """
    tables = []  # (pmf, packed outcome of each cell)
    for pmf_c, pmf_e in zip(pmfs_c, pmfs_e, strict=True):
        if joint:
            cells = np.arange(len(pmf_c) * len(pmf_e))
            tables.append((np.outer(pmf_c, pmf_e).ravel(), pack(cells // len(pmf_e), cells % len(pmf_e))))
        else:
            tables.append((pmf_c, pack(np.arange(len(pmf_c)), 0)))
            tables.append((pmf_e, pack(0, np.arange(len(pmf_e)))))
    sizes = np.array([len(pmf) for pmf, _ in tables], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    prob = np.empty(int(sizes.sum()))
    outcome = np.empty(int(sizes.sum()), dtype=np.int64)
    other = np.empty(int(sizes.sum()), dtype=np.int64)
    alias = np.empty(int(sizes.max()), dtype=np.int64)
    for start, size, (pmf, codes) in zip(offsets, sizes, tables, strict=True):
        alias_table(pmf, prob[start : start + size], alias[:size])
        outcome[start : start + size] = codes
        other[start : start + size] = codes[alias[:size]]
    shape = (len(pmfs_c), len(tables) // len(pmfs_c))
    return prob, outcome, other, offsets.reshape(shape), sizes.reshape(shape)


def _joint(n_c: np.ndarray, n_e: np.ndarray) -> bool:
    """Whether a plan draws both arms' new events in one draw: its tables of pairs fit :data:`JOINT_MAX_CELLS`."""
    new_c, new_e = np.diff(n_c, prepend=0) + 1, np.diff(n_e, prepend=0) + 1
    return int(np.sum(new_c * new_e)) <= JOINT_MAX_CELLS


def _posterior_vague(prior: BetaMixture, n: int) -> np.ndarray:
    """Posterior weight of the vague (second) component after x = 0..n events (zeros without one).

    From the components' beta-binomial log pmfs, so that counts far in a
    tail (both pmfs below the smallest double) still get their weight.
    """
    x = np.arange(n + 1)
    if len(prior.weights) == 1:
        return np.zeros(n + 1)
    (w0, w1), (a0, a1), (b0, b1) = prior.weights, prior.a, prior.b
    with np.errstate(divide="ignore"):  # a weight of 0 or 1 (robust_weight = 1): log 0 = -inf, expit gives 0 or 1
        log_odds = (np.log(w1) + dist.betabinom.logpmf(x, n, a1, b1)) - (np.log(w0) + dist.betabinom.logpmf(x, n, a0, b0))
    return special.expit(log_odds)


def _predictive_moments(prior: BetaMixture, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of the events among ``n`` patients under the prior predictive (Beta mixture) distribution."""
    weights, a, b = (np.asarray(v, dtype=float) for v in (prior.weights, prior.a, prior.b))
    m1 = float(weights @ (a / (a + b)))
    m2 = float(weights @ (a * (a + 1.0) / ((a + b) * (a + b + 1.0))))
    n = n.astype(float)
    return n * m1, np.sqrt(np.maximum(n * (m1 - m2) + n * n * (m2 - m1 * m1), 0.0))


def _windows(moments_c, moments_e, n_c: np.ndarray, n_e: np.ndarray):
    """``((low_c, width_c), (low_e, width_e))``: per look, the counts within the tabulated window.

    :data:`WINDOW_SDS` standard deviations (plus one count) either side of
    the mean, clipped to 0..n, and narrowed by a common factor where the
    table would exceed :data:`MAX_TABLE_CELLS`.
    """
    def window(moments, n, sds):
        mean, sd = moments
        low = np.clip(np.floor(mean - sds * sd) - 1, 0, n).astype(np.int64)
        high = np.clip(np.ceil(mean + sds * sd) + 1, 0, n).astype(np.int64)
        return low, high - low + 1

    sds = np.full(len(n_c), WINDOW_SDS)
    while True:
        (low_c, width_c), (low_e, width_e) = window(moments_c, n_c, sds), window(moments_e, n_e, sds)
        cells = width_c * width_e
        if np.all(cells <= MAX_TABLE_CELLS):
            return (low_c, width_c), (low_e, width_e)
        sds = np.where(cells > MAX_TABLE_CELLS, sds * 0.9 * np.sqrt(MAX_TABLE_CELLS / cells), sds)


#: The largest arm Fisher's test is tabulated for: the critical table costs
#: O(n^2) (about 2 s at 20 000 per arm on one core, 19 s at 50 000).
FISHER_MAX_PER_ARM = 20_000


def _futility_level(bound: float) -> float:
    """The level whose Fisher critical counts end the futility region of the z bound ``bound``.

    Futility is ``p >= sf(bound)`` (the z rule ``z <= bound``,
    :func:`simulator.stats.decision.decide_z`), so the counts that do not
    stop are those with ``p < sf(bound)``: the favourable critical counts
    at a level just under it, a p-value within R's relative tie tolerance
    of ``sf(bound)`` counting as equal to it.
    """
    return float(dist.norm.sf(bound)) * (1.0 - FISHER_TIE_TOLERANCE)


def _fisher_tables(code: int, looks: Looks, bounds: Bounds, sided: int):
    """Fisher critical counts per look at each look's nominal level."""
    n_looks = len(looks.planned_fractions)
    if code != FISHER:
        dummy = np.full((n_looks, 1), np.iinfo(np.int64).max, dtype=np.int64)
        return dummy, np.full((n_looks, 1), -1, dtype=np.int64), np.full((n_looks, 1), -1, dtype=np.int64)
    width = int(looks.evaluable_c[-1] + looks.evaluable_e[-1] + 1)
    fav = np.zeros((n_looks, width), dtype=np.int64)
    unf = np.full((n_looks, width), -1, dtype=np.int64)
    fut = np.full((n_looks, width), -1, dtype=np.int64)
    for k in range(n_looks):
        nc, ne = int(looks.evaluable_c[k]), int(looks.evaluable_e[k])
        # A p-value equal to the level in exact arithmetic rejects (a review: 1/20 at alpha 0.05 did not, as the
        # level went through the normal quantile and back, 3e-17 below alpha; R's fisher.test rejects).
        level = sided * dist.norm.sf(bounds.efficacy[k]) * (1.0 + FISHER_LEVEL_TIES)
        f, u = fisher_thresholds(nc, ne, level, sided)
        fav[k, : nc + ne + 1], unf[k, : nc + ne + 1] = f, u
        if np.isfinite(bounds.futility[k]):
            # Futility when the one-sided p-value is at least that of the z bound (z <= a_k):
            # x_E below the favourable critical count at a level just under sf(futility).
            f_fut, _ = fisher_thresholds(nc, ne, _futility_level(bounds.futility[k]), 1)
            fut[k, : nc + ne + 1] = f_fut - 1
    return fav, unf, fut


def _fisher_floor_table(code: int, looks: Looks, bounds: Bounds) -> np.ndarray:
    """Fisher's lower end of the inner futility wedge per look (``-1`` where none).

    The wedge ``|z| <= a_k`` on the count scale: futility needs, besides the
    favourable one-sided p-value at least ``sf(a_k)``, the unfavourable one
    at least that too, i.e. ``x_E`` above the largest count whose lower-tail
    p-value is below ``sf(a_k)``. By symmetry that is ``m - c[m]`` with
    ``c`` the favourable critical counts of the table with the arms swapped.
    """
    n_looks = len(looks.planned_fractions)
    if code != FISHER:
        return np.full((n_looks, 1), -1, dtype=np.int64)
    width = int(looks.evaluable_c[-1] + looks.evaluable_e[-1] + 1)
    floor = np.full((n_looks, width), -1, dtype=np.int64)
    for k in range(n_looks):
        if not np.isfinite(bounds.futility_floor[k]):
            continue
        nc, ne = int(looks.evaluable_c[k]), int(looks.evaluable_e[k])
        swapped, _ = fisher_thresholds(ne, nc, _futility_level(bounds.futility[k]), 1)
        floor[k, : nc + ne + 1] = np.arange(nc + ne + 1) - swapped
    return floor


class BinaryKind(PatientKind):
    """``kind = "binary"``: two-arm binary endpoints (:class:`BinaryPlan`)."""

    name = "binary"
    tests = binary_spec.BINARY_TESTS
    interim_rules = ("interim", "adaptation")  # the sections that act on binary endpoints (endpoints.adaptive)
    figures_module = "simulator.endpoints.binary_figures"

    def parse(self, name, table, context) -> BinaryEndpoint:
        return binary_spec.parse(name, table, context)

    def plan(self, config, endpoint, alpha=None, extra_levels=()) -> BinaryPlan:
        return BinaryPlan.from_config(config, endpoint, alpha, extra_levels)

    def check_in_joint(self, endpoint, calendar: bool) -> None:
        if calendar and endpoint.test == "fisher":
            raise fail(
                f"endpoints.{endpoint.name}.test",
                "cannot be \"fisher\" for a binary endpoint analysed at survival looks (its evaluable patients "
                "per look are random, and Fisher's critical counts are tabulated for fixed sizes); use "
                "z_pooled, z_unpooled, chi2_yates or farrington_manning",
                endpoint.test,
            )


KIND = BinaryKind()
