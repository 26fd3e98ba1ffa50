"""Multiplicity rules against a direct implementation on p-values."""

import numpy as np
import pytest

from simulator.design.multiplicity import endpoint_levels, holm_levels
from simulator.runner.success import adjusted_success, trial_success


def holm_on_pvalues(p, alpha):
    """Textbook Holm: sort p-values, reject while p_(i) <= alpha / (m - i)."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    rejected = np.zeros(m, dtype=bool)
    for i, j in enumerate(order):
        if p[j] <= alpha / (m - i):
            rejected[j] = True
        else:
            break
    return rejected


@pytest.mark.parametrize("m", [2, 3, 4])
def test_holm_equals_textbook_holm(m):
    rng = np.random.default_rng(m)
    alpha = 0.05
    p = rng.beta(0.3, 3.0, size=(m, 5000))  # many small p-values, ties in level counts
    levels = holm_levels(alpha, m)
    success = {f"e{i}": np.stack([p[i] <= level for level in levels]) for i in range(m)}
    adjusted = adjusted_success(success, "holm")
    expected = np.array([holm_on_pvalues(p[:, t], alpha) for t in range(p.shape[1])]).T
    # Not a vacuous comparison: some endpoints are rejected, some not, and some only thanks to
    # Holm's step-down (p above the Bonferroni level alpha / m).
    assert expected.any() and not expected.all()
    assert (expected & (p > alpha / m)).any()
    for i in range(m):
        assert np.array_equal(adjusted[f"e{i}"], expected[i])


def test_fixed_sequence_gates_on_earlier_endpoints():
    s = {"a": np.array([True, False, True]), "b": np.array([True, True, False])}
    adjusted = adjusted_success(s, "fixed_sequence", ("b", "a"))
    assert adjusted["b"].tolist() == [True, True, False]
    assert adjusted["a"].tolist() == [True, False, False]
    assert trial_success(adjusted, "any").tolist() == [True, True, False]
    assert trial_success(adjusted, "all").tolist() == [True, False, False]


def test_levels():
    assert endpoint_levels(0.025, 2, "bonferroni") == (0.0125, ())
    assert endpoint_levels(0.025, 2, "holm") == (0.025, (0.0125,))
    assert endpoint_levels(0.025, 3, "none") == (0.025, ())
