"""Independent references for binary tests: the z statistic of every table, enumerated with NumPy.

Written from the textbook formulas, not from the package: the tests compare the package's exact values and
simulations with sums over these tables (binomial or beta-binomial weights from scipy).
"""

import numpy as np


def z_table(n_c: int, n_e: int, test: str = "z_pooled") -> np.ndarray:
    """z of every table (``x_c`` events of ``n_c``, ``x_e`` of ``n_e``; rows ``x_c``, columns ``x_e``).

    ``z_pooled``: (p_E - p_C) / sqrt(p (1 - p) (1/n_C + 1/n_E)) with p the pooled rate; ``z_unpooled``: over
    sqrt(p_C (1 - p_C) / n_C + p_E (1 - p_E) / n_E). A zero standard error gives 0 (pooled), or +-inf where
    the rates differ and 0 where they do not (unpooled).
    """
    xc, xe = np.meshgrid(np.arange(n_c + 1), np.arange(n_e + 1), indexing="ij")
    pc, pe = xc / n_c, xe / n_e
    if test == "z_pooled":
        pooled = (xc + xe) / (n_c + n_e)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_e))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(se > 0, (pe - pc) / se, 0.0)
    if test == "z_unpooled":
        se = np.sqrt(pc * (1 - pc) / n_c + pe * (1 - pe) / n_e)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(se > 0, (pe - pc) / se, np.where(pe > pc, np.inf, np.where(pe < pc, -np.inf, 0.0)))
    raise ValueError(test)
