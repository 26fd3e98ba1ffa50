"""A binary endpoint in a trial with ``[strata]``: simulated per patient, analysed by CMH and by its own test.

:class:`StratifiedBinaryPlan` is the binary plan with the strata of its
config: each cell's odds of both arms are those of ``truth`` (the first
cell) times the cell's ``odds_multiplier`` (a common odds ratio), patients
are randomised by ``trial.randomisation`` and every trial is analysed both
by the Cochran-Mantel-Haenszel test (``stratified = true``) and by the
endpoint's own test on the pooled counts, so that the report gives the
difference as a paired estimate (:mod:`simulator.endpoints.strata`).

The exact enumeration of the binary kind assumes fixed arm sizes and one
rate per arm, so it is not reported with strata; the analytic values are
those of the endpoint's own test at the share-weighted (marginal) rates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from simulator.config.fields import fail
from simulator.config.schema import Config
from simulator.endpoints import strata
from simulator.endpoints.binary import EFFECT_BINS, BinaryKind, BinaryPlan
from simulator.endpoints.common import add_note, add_two_sided, per_look_counts
from simulator.engine.binary import decide_counts
from simulator.engine.seeding import PATIENT_CHUNK_SIZE
from simulator.engine.strata import decide_z_looks, simulate_binary_stratified, strata_work
from simulator.stats.binary import FISHER
from simulator.stats.decision import REJECT_FAVOURABLE


@dataclass(frozen=True)
class StratifiedBinaryPlan(BinaryPlan):
    """:class:`~simulator.endpoints.binary.BinaryPlan` of a trial with strata (module docstring)."""

    #: Trials per chunk: every patient is simulated (:mod:`simulator.engine.seeding`).
    chunk_trials: ClassVar[int] = PATIENT_CHUNK_SIZE

    config: Config | None = field(default=None, repr=False, compare=False)

    @classmethod
    def wrap(cls, plan: BinaryPlan, config: Config) -> StratifiedBinaryPlan:
        """The plan of ``config`` (with strata) from the plain one; refuses what it cannot simulate."""
        endpoint = plan.endpoint
        if plan.code == FISHER:
            raise fail(f"endpoints.{endpoint.name}.test", 'cannot be "fisher" with strata (the arm sizes per look '
                       "are random, and Fisher's critical counts are tabulated for fixed sizes)", endpoint.test)
        if endpoint.margin > 0.0:
            # A review: with odds multipliers the null (control - margin) held in the first stratum only, the
            # others' rates following the common odds ratio, so the pooled difference was well inside H1 (type I
            # error 0.75); and the CMH test is of an odds ratio of 1, with no margin on the risk difference.
            raise fail(f"endpoints.{endpoint.name}.margin", "must be 0 with strata (a risk-difference margin has no "
                       "common-odds-ratio null across strata, and the CMH test has no margin); analyse "
                       "non-inferiority without [strata]", endpoint.margin)
        if config.success.multiplicity == "holm":  # over one endpoint too, as the docs say (a review)
            raise fail("success.multiplicity", 'cannot be "holm" with strata and a binary endpoint yet',
                       config.success.multiplicity)
        values = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan)}
        return cls(**values, config=config)

    def _odds(self) -> np.ndarray:
        """Each cell's odds multiplier on the oriented scale (a harm's odds of 1 - p are 1 / its odds of p)."""
        multiplier = strata.design_for(self.config, self.endpoint.STRATA_KEY).multiplier
        return multiplier if self.endpoint.better == "higher" else 1.0 / multiplier

    def simulate_strata(self, rng: np.random.Generator, n_sims: int, stream: str):
        """One chunk: per trial and look the pooled counts and the CMH z, the true rates and the imbalance."""
        design = strata.design_for(self.config, self.endpoint.STRATA_KEY)
        use_prior = stream == "assurance" and self.prior is not None
        if stream == "type1":
            p_c, p_e = self.null_truth()
        elif use_prior:
            p_c, p_e = 0.0, 0.0
        else:
            p_c, p_e = self.truth
        priors = (self.prior[0].as_kernel_array(), self.prior[1].as_kernel_array()) if use_prior else (
            np.zeros(5), np.zeros(5))
        looks = self.looks
        n_c, n_e = int(looks.enrolled_c[-1]), int(looks.enrolled_e[-1])
        look_total = np.ascontiguousarray(looks.enrolled_total, dtype=np.int64)
        n_looks = look_total.size
        cells = design.multiplier.size
        out = {key: np.zeros((n_sims, n_looks), dtype=np.int64) for key in ("x_c", "x_e", "m_c", "m_e")}
        z_cmh = np.zeros((n_sims, n_looks))
        true_c, true_e = np.empty(n_sims), np.empty(n_sims)
        imbalances = np.zeros((n_sims, design.stride.size))
        simulate_binary_stratified(
            rng, n_sims, design, n_c, n_e, look_total, float(p_c), float(p_e), *priors, use_prior, self._odds(),
            strata_work(n_c + n_e, design), np.empty((cells, 2)), np.zeros((cells, 2), dtype=np.int64),
            out["x_c"], out["x_e"], out["m_c"], out["m_e"], z_cmh, true_c, true_e, imbalances,
        )
        return out, z_cmh, true_c, true_e, imbalances

    def run_chunk(self, rng: np.random.Generator, n_sims: int, stream: str) -> tuple[np.ndarray, dict]:
        """Per-trial success of the endpoint's analysis and summable counts, with the strata counts."""
        data, z_cmh, true_c, true_e, imbalances = self.simulate_strata(rng, n_sims, stream)
        bounds = self.bounds
        n_looks = z_cmh.shape[1]
        pooled = (np.empty(n_sims, dtype=np.int8), np.empty(n_sims, dtype=np.int8))
        dummy = np.full((n_looks, 1), -1, dtype=np.int64)
        decide_counts(
            self.code, data["x_c"], data["x_e"], data["m_c"], data["m_e"], self.theta0, bounds.efficacy,
            bounds.unfavourable, bounds.futility, bounds.futility_floor,
            np.full((n_looks, 1), np.iinfo(np.int64).max, dtype=np.int64), dummy, dummy, dummy, *pooled,
        )
        cmh = (np.empty(n_sims, dtype=np.int64), np.empty(n_sims, dtype=np.int8))
        decide_z_looks(z_cmh, bounds.efficacy, bounds.unfavourable, bounds.futility, bounds.futility_floor, *cmh)
        (stop, decision), other = (cmh, pooled[1]) if self.endpoint.stratified else (pooled, cmh[1])
        success = decision == REJECT_FAVOURABLE
        counts = per_look_counts(stop.astype(np.int64), decision, n_looks)
        add_two_sided(counts, stream, self.sided, [decision])
        counts.update(strata.counts(imbalances, success, other == REJECT_FAVOURABLE))
        if stream == "assurance" and self.prior is not None:
            effect = true_e - true_c
            if self.endpoint.better == "lower":
                effect = -effect  # back to the natural scale: p_E - p_C
            counts["effect_success"] = np.histogram(effect[success], bins=EFFECT_BINS)[0]
            counts["effect_failure"] = np.histogram(effect[~success], bins=EFFECT_BINS)[0]
        return success, counts

    def strata_note(self) -> str:
        """What the analytic values are with strata (the analytic block's note and the strata block's)."""
        return (f"the analytic values are the unstratified {self.endpoint.test} test's at the share-weighted rates, "
                "ignoring the strata" + (" (the CMH test that decides here is not modelled)" if self.endpoint.stratified
                                         else "") + "; no exact enumeration with strata")

    def strata_report(self, streams: dict) -> dict:
        """The report's ``strata`` block (:func:`simulator.endpoints.strata.report`)."""
        return strata.report(self.config, self.endpoint.stratified, streams, self.strata_note(), self.strata_tests())

    def strata_tests(self) -> tuple[str, str]:
        """The tests of the stratified and the unstratified analysis."""
        return "cmh", self.endpoint.test

    def exact(self) -> dict:
        """Nothing: the enumeration assumes fixed arm sizes and one rate per arm (module docstring)."""
        return {}

    def marginal_truth(self) -> tuple[float, float] | None:
        """The share-weighted rates per arm (oriented), the cells' rates averaged over their prevalences."""
        if self.truth is None:
            return None
        design = strata.design_for(self.config, self.endpoint.STRATA_KEY)
        shares = np.diff(np.concatenate([[0.0], design.cell_cumulative]))
        odds = self._odds()

        def scaled(p: float) -> float:
            if p <= 0.0 or p >= 1.0:
                return p
            o = p / (1.0 - p) * odds
            return float(shares @ (o / (1.0 + o)))

        return scaled(self.truth[0]), scaled(self.truth[1])

    def analytic(self, config: Config) -> dict:
        """The endpoint's own test at the share-weighted rates (a guide: it ignores the strata's heterogeneity)."""
        out = BinaryPlan.analytic(dataclasses.replace(self, truth=self.marginal_truth()), config)
        if out:
            add_note(out, f"with strata, {self.strata_note()}")
        return out


class StratifiedBinaryKind(BinaryKind):
    """``kind = "binary"`` with strata: the binary kind, whose plans in a trial with strata are
    :class:`StratifiedBinaryPlan` (registered in place of :data:`simulator.endpoints.binary.KIND`)."""

    def plan(self, config, endpoint, alpha=None, extra_levels=()) -> BinaryPlan:
        plan = super().plan(config, endpoint, alpha, extra_levels)
        return StratifiedBinaryPlan.wrap(plan, config) if config.strata else plan


KIND = StratifiedBinaryKind()
