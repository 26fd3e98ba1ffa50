"""simulator.stats.distributions: the same numbers as scipy.stats, and a run that does not import it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simulator.stats import distributions as dist

ROOT = Path(__file__).resolve().parents[1]


def _same(ours, theirs):
    """Equal bit for bit (NaN where scipy has NaN), and of the same shape."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (0.3, 2.5), (-1.0, 0.2)])
def test_normal_functions_equal_scipy(loc, scale):
    x = np.concatenate([np.linspace(-40.0, 40.0, 4001), [-np.inf, np.inf, np.nan, 0.0, -0.0]])
    q = np.concatenate([np.logspace(-300, 0, 601), 1.0 - np.logspace(-16, -1, 61), [0.0, 1.0, 0.5, -0.1, 1.1, np.nan]])
    for name, argument in (("cdf", x), ("sf", x), ("pdf", x), ("ppf", q), ("isf", q)):
        with np.errstate(all="ignore"):
            _same(getattr(dist.norm, name)(argument, loc, scale), getattr(stats.norm, name)(argument, loc, scale))
    # Scalars give scalars, as scipy's do.
    assert np.ndim(dist.norm.isf(0.025)) == 0 and dist.norm.isf(0.025) == stats.norm.isf(0.025)


@pytest.mark.parametrize("n, p", [(0, 0.3), (1, 0.5), (37, 0.02), (600, 0.31), (5000, 0.999), (300, 0.0), (300, 1.0)])
def test_binomial_pmf_equals_scipy(n, p):
    k = np.arange(n + 1)
    _same(dist.binom.pmf(k, n, p), stats.binom.pmf(k, n, p))


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (0.5, 0.5), (9.0, 30.0), (120.5, 3.25), (2.0, 1.0)])
def test_beta_functions_equal_scipy(a, b):
    x = np.concatenate([np.linspace(-0.5, 1.5, 2001), [0.0, 1.0, 1e-300, 1.0 - 1e-16]])
    q = np.concatenate([np.linspace(0.0, 1.0, 1001), [1e-12, 1.0 - 1e-12]])
    with np.errstate(all="ignore"):
        _same(dist.beta.pdf(x, a, b), stats.beta.pdf(x, a, b))
        _same(dist.beta.cdf(x, a, b), stats.beta.cdf(x, a, b))
        _same(dist.beta.ppf(q, a, b), stats.beta.ppf(q, a, b))


@pytest.mark.parametrize("n, a, b", [(0, 1.0, 1.0), (1, 2.0, 3.0), (40, 9.5, 30.25), (358, 120.0, 60.0), (2000, 0.5, 0.7)])
def test_beta_binomial_equals_scipy(n, a, b):
    k = np.arange(n + 1)
    _same(dist.betabinom.pmf(k, n, a, b), stats.betabinom.pmf(k, n, a, b))
    _same(dist.betabinom.logpmf(k, n, a, b), stats.betabinom.logpmf(k, n, a, b))


@pytest.mark.parametrize("config", ["configs/cairo6.toml", "configs/cairo6_os.toml", "configs/rates_adaptive.toml", "configs/rates_group_sequential.toml"])
def test_a_run_does_not_import_scipy_stats(config, tmp_path):
    # Its import is about a tenth of a small run (simulator.stats.distributions); binary, survival and joint
    # trials with priors, exact power, the design and the figures do without it.
    script = (
        "import sys\n"
        "from simulator.cli import main\n"
        f"code = main(['run', {config!r}, '--sims', '300', '--out', {str(tmp_path)!r}, '--quiet', '--jobs', '1'])\n"
        "loaded = sorted(m for m in sys.modules if m == 'scipy.stats' or m.startswith('scipy.stats.'))\n"
        "print(code, loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "0 []"


def test_edges_and_invalid_arguments_as_scipy():
    # Scalars give NumPy scalars; NaN, counts outside the support and invalid parameters give what scipy gives.
    cases = [
        (dist.norm.sf, stats.norm.sf, [(0.3, 0.0, 0.0), (0.3, 0.0, -1.0), (np.nan, 0.0, 1.0), (2.0, 1.0, 3.0)]),
        (dist.norm.cdf, stats.norm.cdf, [(0.3, 0.0, -1.0), (-np.inf, 0.0, 1.0)]),
        (dist.norm.pdf, stats.norm.pdf, [(0.3, 0.0, -1.0), (0.3, 0.2, 2.0)]),
        (dist.norm.ppf, stats.norm.ppf, [(0.3, 0.0, 0.0), (1.2, 0.0, 1.0), (0.0, 1.0, 2.0)]),
        (dist.beta.pdf, stats.beta.pdf, [(0.3, 2.0, 3.0), (np.nan, 2.0, 3.0), (0.3, 0.0, 1.0), (-0.1, 2.0, 3.0),
                                         (0.0, 0.5, 3.0), (1.0, 2.0, 1.0)]),
        (dist.beta.cdf, stats.beta.cdf, [(0.3, 2.0, 3.0), (np.nan, 2.0, 3.0), (0.3, 0.0, 1.0), (1.5, 2.0, 3.0),
                                         (-1.0, 2.0, 3.0)]),
        (dist.beta.ppf, stats.beta.ppf, [(0.3, 2.0, 3.0), (1.5, 2.0, 3.0), (0.3, -1.0, 3.0), (0.0, 2.0, 3.0),
                                         (1.0, 2.0, 3.0)]),
        (dist.binom.pmf, stats.binom.pmf, [(3, 10, 0.3), (-1, 10, 0.3), (11, 10, 0.3), (2.5, 10, 0.3),
                                           (2, 2.5, 0.3), (2, 10, 1.5), (0, 0, 0.3)]),
        (dist.betabinom.pmf, stats.betabinom.pmf, [(3, 10, 2.0, 3.0), (2.5, 10, 2.0, 3.0), (1, 0, 1.0, 1.0),
                                                   (11, 10, 2.0, 3.0), (2, 10, 0.0, 3.0), (2, 2.5, 2.0, 3.0)]),
        (dist.betabinom.logpmf, stats.betabinom.logpmf, [(3, 10, 2.0, 3.0), (2.5, 10, 2.0, 3.0), (-1, 10, 2.0, 3.0)]),
    ]
    for ours, theirs, arguments in cases:
        for args in arguments:
            with np.errstate(all="ignore"):
                mine, reference = ours(*args), theirs(*args)
            assert type(mine) is type(reference), (ours, args, mine, reference)
            np.testing.assert_array_equal(mine, reference, err_msg=f"{theirs.__self__.name}.{theirs.__name__}{args}")
    k = np.array([-1, 0, 1, 2, 3])
    _same(dist.betabinom.pmf(k, 2, 1.0, 1.0), stats.betabinom.pmf(k, 2, 1.0, 1.0))
    _same(dist.binom.pmf(k, 2, 0.4), stats.binom.pmf(k, 2, 0.4))
