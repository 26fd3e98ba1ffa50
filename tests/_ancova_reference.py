"""A plain-NumPy ANCOVA, patient by patient, as the reference of the covariate-adjusted continuous analysis.

Each trial draws every patient's standard-normal baseline covariate ``x`` and outcome ``y = mu_arm +
beta x + e`` (``beta = rho sd``, ``e ~ N(0, sd^2 (1 - rho^2))``) and fits ``y ~ 1 + arm + x`` by least
squares (the normal equations, solved per trial), independently of the simulator's sufficient statistics.
"""

from __future__ import annotations

import numpy as np


def ancova_t(rng, n_c, n_e, mean_c, mean_e, sd, rho, n_sims, looks=None):
    """The ANCOVA t statistics of the arm effect, ``(trials, looks)``, and their df per look.

    ``looks`` lists the cumulative patients ``(n_c_k, n_e_k)`` per look (default: one look at all); each
    look fits the patients so far, so that the looks share their patients' covariates.
    """
    looks = looks or [(n_c, n_e)]
    x_c, x_e = rng.standard_normal((n_sims, n_c)), rng.standard_normal((n_sims, n_e))
    resid = sd * np.sqrt(1.0 - rho**2)
    y_c = mean_c + rho * sd * x_c + resid * rng.standard_normal((n_sims, n_c))
    y_e = mean_e + rho * sd * x_e + resid * rng.standard_normal((n_sims, n_e))
    stats, dfs = [], []
    for k_c, k_e in looks:
        n = k_c + k_e
        x = np.concatenate([x_c[:, :k_c], x_e[:, :k_e]], axis=1)
        y = np.concatenate([y_c[:, :k_c], y_e[:, :k_e]], axis=1)
        design = np.empty((n_sims, n, 3))
        design[:, :, 0] = 1.0
        design[:, :, 1] = np.r_[np.zeros(k_c), np.ones(k_e)]
        design[:, :, 2] = x
        xtx = np.einsum("sni,snj->sij", design, design)
        xty = np.einsum("sni,sn->si", design, y)
        coef = np.linalg.solve(xtx, xty[..., None])[..., 0]
        residual = y - np.einsum("sni,si->sn", design, coef)
        sigma2 = (residual**2).sum(axis=1) / (n - 3)
        var_arm = sigma2 * np.linalg.inv(xtx)[:, 1, 1]
        stats.append(coef[:, 1] / np.sqrt(var_arm))
        dfs.append(n - 3)
    return np.column_stack(stats), dfs
