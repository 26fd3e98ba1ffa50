"""Strata kernels: cells, randomisation, imbalance, the stratified log-rank and the CMH statistic.

References: statsmodels' ``survdiff(..., strata=...)`` (stratified log-rank)
and ``StratifiedTable.test_null_odds`` (Cochran-Mantel-Haenszel), exact
binomial moments for the cell prevalences, and simulated comparisons with
their Monte Carlo standard errors.
"""

import math

import numpy as np
import pytest
from statsmodels.duration.survfunc import survdiff
from statsmodels.stats.contingency_tables import StratifiedTable

from simulator.engine.strata import (
    assign_arms,
    assign_cells,
    cmh_z,
    draw_cells,
    imbalance,
    strata_design,
    strata_work,
    stratified_logrank,
)
from simulator.engine.survival import simulate_trials
from simulator.errors import InputError

EXPONENTIAL_12 = dict(accrual=([0.0, 24.0], [1.0]), control=([0.0], [math.log(2.0) / 12.0]))
Z_975 = 1.959963984540054


def _score_reference(time, event, group, stratum):
    """sum over strata and event times of E_e - O_e, in plain numpy (the sign reference)."""
    total = 0.0
    for s in np.unique(stratum):
        keep = stratum == s
        t, d, g = time[keep], event[keep], group[keep]
        for u in np.unique(t[d == 1]):
            at_risk = t >= u
            deaths = (t == u) & (d == 1)
            total += deaths.sum() * (at_risk & (g == 1)).sum() / at_risk.sum() - (deaths & (g == 1)).sum()
    return total


def test_stratified_logrank_equals_survdiff_with_ties():
    """z^2 equals survdiff's chi-square to 1e-10 on 200 random data sets with ties; the sign apart."""
    rng = np.random.default_rng(15)
    for _ in range(200):
        n = int(rng.integers(10, 150))
        time = rng.integers(1, 12, n).astype(float)  # few distinct times: many ties
        event = (rng.random(n) < 0.7).astype(int)
        group = rng.integers(0, 2, n)
        stratum = rng.integers(0, int(rng.integers(1, 5)), n) * 7 - 3  # arbitrary labels
        z, score, variance = stratified_logrank(time, event, group, stratum)
        chi2, _ = survdiff(time, event, group, strata=stratum)
        assert z * z == pytest.approx(chi2, abs=1e-10, rel=1e-10)
        reference = _score_reference(time, event, group, stratum)
        assert score == pytest.approx(reference, abs=1e-9)
        if abs(reference) > 1e-9:
            assert np.sign(z) == np.sign(reference)


def test_one_stratum_is_the_plain_logrank():
    from simulator.engine.survival import logrank

    rng = np.random.default_rng(3)
    time = rng.integers(1, 20, 80).astype(float)
    event, group = rng.random(80) < 0.8, rng.integers(0, 2, 80)
    assert stratified_logrank(time, event, group, np.zeros(80))[0] == logrank(time, event, group)[0]


def test_cmh_equals_statsmodels_test_null_odds():
    """z^2 equals statsmodels' CMH statistic without continuity correction (correction=False)."""
    rng = np.random.default_rng(7)
    for _ in range(100):
        cells = int(rng.integers(1, 6))
        n_c = rng.integers(3, 40, cells)
        n_e = rng.integers(3, 40, cells)
        x_c = rng.binomial(n_c, 0.4)
        x_e = rng.binomial(n_e, 0.5)
        z = cmh_z(cells, n_c, n_e, x_c, x_e)
        # statsmodels' 2x2xK tables: rows experimental / control, columns success / failure.
        tables = np.array([[[x_e[s], n_e[s] - x_e[s]], [x_c[s], n_c[s] - x_c[s]]] for s in range(cells)],
                          dtype=float).transpose(1, 2, 0)
        result = StratifiedTable(tables).test_null_odds(correction=False)
        assert z * z == pytest.approx(result.statistic, rel=1e-10, abs=1e-12)
        expected = sum(x_e[s] - n_e[s] * (x_c[s] + x_e[s]) / (n_c[s] + n_e[s]) for s in range(cells))
        if abs(expected) > 1e-12:
            assert np.sign(z) == np.sign(expected)


def test_cells_follow_the_crossed_shares():
    """Cell frequencies within 4 binomial SEs of the product of the shares."""
    design = strata_design([[0.6, 0.4], [0.5, 0.3, 0.2]], [[1.0, 1.0], [1.0, 1.0, 1.0]])
    n = 200_000
    cell = np.empty(n, dtype=np.int64)
    draw_cells(np.random.default_rng(1), design, n, cell)
    counts = np.bincount(cell, minlength=6)
    expected = np.outer([0.6, 0.4], [0.5, 0.3, 0.2]).ravel()
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(counts / n - expected) < 4 * se)


def _imbalances(method, n_trials=2000, n=200, seed=5, **kw):
    design = strata_design([[0.6, 0.4], [0.5, 0.3, 0.2]], [[1.0, 1.0], [1.0, 1.0, 1.0]], method=method, **kw)
    rng = np.random.default_rng(seed)
    work = strata_work(n, design)
    cell = np.empty(n, dtype=np.int64)
    label = np.empty(n, dtype=np.int64)
    out = np.empty((n_trials, 2))
    arms = np.empty(n_trials)
    for i in range(n_trials):
        draw_cells(rng, design, n, cell)
        assign_arms(rng, design, n // 2, n - n // 2, cell, work, label)
        imbalance(design, work, out[i])
        arms[i] = (label == 2).sum()
    return out, arms, design


def test_minimisation_leaves_smaller_imbalances_than_simple_randomisation():
    """Mean largest level imbalance per factor over 2000 trials of 200 patients, differences > 6 MCSE."""
    simple, arms, _ = _imbalances("simple")
    assert np.all(arms == 100)  # simple: the exact arm sizes
    minimised, _, _ = _imbalances("minimisation", probability=0.8)
    blocks, _, _ = _imbalances("blocks", block_size=4)
    for other in (minimised, blocks):
        difference = simple.mean(axis=0) - other.mean(axis=0)
        mcse = np.sqrt(simple.var(axis=0, ddof=1) / len(simple) + other.var(axis=0, ddof=1) / len(other))
        assert np.all(difference > 6 * mcse), (difference, mcse)
    # Simple randomisation, exactly: the first factor's m ~ Binomial(200, 0.6) patients of level 0 hold
    # E ~ Hypergeometric(200, 100, m) experimental ones, and both levels are off by |2 E - m|.
    from scipy import stats

    exact = sum(
        stats.binom.pmf(m, 200, 0.6) * (stats.hypergeom.pmf(np.arange(m + 1), 200, 100, m)
                                        * np.abs(2 * np.arange(m + 1) - m)).sum()
        for m in range(201)
    )
    mcse = simple[:, 0].std(ddof=1) / math.sqrt(len(simple))
    assert abs(simple[:, 0].mean() - exact) < 4 * mcse, (simple[:, 0].mean(), exact, mcse)


def test_blocks_bound_the_imbalance_of_every_level():
    """Permuted blocks of 4 within cells: each cell is off by at most 2, so a level by 2 x its cells."""
    out, _, _ = _imbalances("blocks", block_size=4, n_trials=300)
    assert out[:, 0].max() <= 2 * 3  # each level of the first factor spans 3 cells
    assert out[:, 1].max() <= 2 * 2


def test_minimisation_balances_more_as_its_probability_grows():
    """Probability 1 (always the minimising arm) leaves smaller imbalances than 0.8, by more than 6 MCSE."""
    always, _, _ = _imbalances("minimisation", probability=1.0, n_trials=1000)
    mostly, _, _ = _imbalances("minimisation", probability=0.8, n_trials=1000)
    difference = mostly.mean(axis=0) - always.mean(axis=0)
    mcse = np.sqrt(always.var(axis=0, ddof=1) / 1000 + mostly.var(axis=0, ddof=1) / 1000)
    assert np.all(difference > 6 * mcse), (difference, mcse)


def _reference_cells(uniforms, cumulative):
    """Each uniform's cell (inverted through the cumulative prevalences) and its place within the cell's interval."""
    cells = np.array([int(np.sum(u >= cumulative[:-1])) for u in uniforms])
    low = np.where(cells > 0, cumulative[np.maximum(cells - 1, 0)], 0.0)
    return cells, np.minimum((uniforms - low) / (cumulative[cells] - low), np.nextafter(1.0, 0.0))


def _reference_arms(cells, uniforms, design):
    """Arms (0 control, 1 experimental) by the rules as docs/strata.md states them, in plain Python.

    Minimisation: per level the patients per arm so far; the imbalance of
    each choice is summed over the patient's levels of ``|m_E w_C - m_C
    w_E|`` after the choice; the smaller sum is taken when ``u <
    probability``, the other arm otherwise; a tie goes to experimental when
    ``u (w_C + w_E) >= w_C``. Blocks: per cell the slots left per arm,
    refilled when empty; experimental when ``u * slots >= control slots``.
    """
    w_c, w_e = int(design.weight_c), int(design.weight_e)
    counts = {}  # (factor, level) -> [control, experimental]
    slots = {}  # cell -> [control, experimental]
    arms = []
    for c, u in zip(cells, uniforms):
        if design.method == 1:  # blocks
            left = slots.get(c, [0, 0])
            if left == [0, 0]:
                left = [int(design.block_c), int(design.block_size - design.block_c)]
            arm = int(u * (left[0] + left[1]) >= left[0])
            left[arm] -= 1
            slots[c] = left
        else:  # minimisation
            mine = [counts.setdefault((f, int(level)), [0, 0]) for f, level in enumerate(design.cell_levels[c])]
            if_control = sum(abs(m[1] * w_c - (m[0] + 1) * w_e) for m in mine)
            if_experimental = sum(abs((m[1] + 1) * w_c - m[0] * w_e) for m in mine)
            if if_control == if_experimental:
                arm = int(u * (w_c + w_e) >= w_c)
            else:
                minimising = 0 if if_control < if_experimental else 1
                arm = minimising if u < design.probability else 1 - minimising
            for m in mine:
                m[arm] += 1
        arms.append(arm)
    return np.array(arms)


@pytest.mark.parametrize("shares, method, allocation, extra", [
    ([[0.6, 0.4], [0.5, 0.5]], "minimisation", (1, 1), dict(probability=0.8)),
    ([[0.2, 0.3, 0.5], [0.5, 0.5], [0.7, 0.3]], "minimisation", (1, 2), dict(probability=0.75)),
    ([[0.1, 0.2, 0.3, 0.4]], "minimisation", (2, 3), dict(probability=1.0)),
    ([[0.6, 0.4], [0.5, 0.3, 0.2]], "blocks", (1, 1), dict(block_size=4)),
    ([[0.2, 0.3, 0.5], [0.5, 0.5]], "blocks", (1, 2), dict(block_size=6)),
])
def test_randomisation_follows_its_rule_patient_by_patient(shares, method, allocation, extra):
    """Cells and arms of 3000 patients equal the plain-Python rules, both ways the kernels assign them.

    ``assign_cells`` (survival trials with exponential exits: each patient's
    one uniform gives the cell and, rescaled within the cell, the
    randomisation's uniform) and ``assign_arms`` (cells given, a fresh
    uniform per patient).
    """
    design = strata_design(shares, [[1.0] * len(s) for s in shares], method=method, allocation=allocation, **extra)
    n = 3000
    uniforms = np.random.default_rng(17).random(n)
    work = strata_work(n, design)
    label = np.empty(n, dtype=np.int64)
    assign_cells(uniforms, n, design, work, label)
    cells, residuals = _reference_cells(uniforms, design.cell_cumulative)
    assert np.array_equal(work.cell, cells)
    arms = _reference_arms(cells, residuals, design)
    assert np.array_equal(label // 2, arms)
    assert 0.2 < arms.mean() < 0.8  # both arms, so that the comparison says something
    work = strata_work(n, design)
    assign_arms(np.random.default_rng(23), design, n // 2, n - n // 2, cells, work, label)
    assert np.array_equal(label // 2, _reference_arms(cells, np.random.default_rng(23).random(n), design))
    assert np.array_equal(work.per_cell.sum(axis=1), np.bincount(cells, minlength=design.multiplier.size))


def test_design_input_is_checked():
    with pytest.raises(InputError, match="summing to 1"):
        strata_design([[0.6, 0.3]], [[1.0, 1.0]])
    with pytest.raises(InputError, match="block_size"):
        strata_design([[0.5, 0.5]], [[1.0, 1.0]], method="blocks", block_size=3)
    with pytest.raises(InputError, match="`method`"):
        strata_design([[0.5, 0.5]], [[1.0, 1.0]], method="urn")


PROGNOSTIC = strata_design([[0.6, 0.4], [0.5, 0.5]], [[1.0, 3.0], [1.0, 2.0]], method="minimisation")


def test_stratified_logrank_type1_error():
    """N = 500, 300 events under H0 (prognostic strata, minimisation): within alpha +- 4 MCSE (one-sided 0.025).

    10 000 trials keep the test fast; the acceptance run with 10^5 trials is
    in docs/strata.md.
    """
    n_sims = 10_000
    trials = simulate_trials(n_sims, 250, 250, hazard_ratio=1.0, look_events=[300], efficacy=[Z_975],
                             strata=PROGNOSTIC, stratified=True, rng=np.random.default_rng(2026), **EXPONENTIAL_12)
    rate = float((trials.decision == 1).mean())
    mcse = math.sqrt(0.025 * 0.975 / n_sims)
    assert abs(rate - 0.025) < 4 * mcse, rate


def test_stratified_analysis_gains_power_with_prognostic_strata():
    """The same trials analysed both ways: the paired difference in power exceeds 4 of its MCSEs."""
    n_sims = 10_000
    trials = simulate_trials(n_sims, 250, 250, hazard_ratio=0.75, look_events=[300], efficacy=[Z_975],
                             strata=PROGNOSTIC, stratified=True, compare=True, rng=np.random.default_rng(11),
                             **EXPONENTIAL_12)
    stratified = (trials.decision == 1).astype(float)
    plain = (trials.other.decision == 1).astype(float)
    difference = stratified - plain
    mcse = difference.std(ddof=1) / math.sqrt(n_sims)
    assert difference.mean() > 4 * mcse, (difference.mean(), mcse)
    assert trials.imbalance.shape == (n_sims, 2)


def test_stratified_looks_agree_with_survdiff_at_each_cut():
    """One simulated stratified trial, its looks at 100 and 200 events: the kernel's summed score and variance at
    each cut equal statsmodels' stratified survdiff of the data as seen at that cut (entered by the cut, censored
    there)."""
    from simulator.engine.patients import patients, survival_design, workspace
    from simulator.engine.strata import draw_stratified_patients, stratified_looks

    strata = strata_design([[0.6, 0.4], [0.5, 0.3, 0.2]], [[1.0, 2.0], [1.0, 1.3, 1.8]], method="blocks")
    design = survival_design(150, 150, look_events=np.array([100, 200]), dropout=(0.02, 0.02), **EXPONENTIAL_12)
    pts, work, sw = patients(300), workspace(300, 2), strata_work(300, strata, 2)
    rng = np.random.default_rng(8)
    for _ in range(5):
        n_events = draw_stratified_patients(rng, design, strata, 1.0, 0.7, pts, sw, work.calendar)
        _, last, _ = stratified_looks(n_events, design, pts, sw.cell, 6, work, sw)
        assert last == 1
        for k in range(2):
            cut = work.cuts[k]
            seen = pts.entry <= cut
            ends = pts.entry + pts.exit_time
            time = np.where(ends <= cut, pts.exit_time, cut - pts.entry)[seen]
            event = (pts.is_event & (ends <= cut))[seen].astype(int)
            group = (pts.label[seen] >= 2).astype(int)
            cell = sw.cell[seen]
            assert event.sum() == work.at_cuts[k] == (100, 200)[k]
            chi2, _ = survdiff(time, event, group, strata=cell)
            score, variance = sw.sums[0, k], sw.sums[1, k]
            assert score * score / variance == pytest.approx(chi2, rel=1e-10)
            assert score == pytest.approx(_score_reference(time, event, group, cell), abs=1e-9)
