"""Trial success from the endpoints' per-trial results, with multiplicity.

Each endpoint reports, per simulated trial, whether it rejected in the
favourable direction at each significance level it was analysed at
(a boolean array of shape (levels, trials)). The rule then decides:

- ``multiplicity = "none"`` and ``"bonferroni"``: one level per endpoint
  (alpha, or alpha / m); the endpoint succeeds when it rejects.
- ``"fixed_sequence"``: one level (alpha); the endpoint in position i of
  ``order`` succeeds when it and every endpoint before it reject.
- ``"holm"``: levels alpha / 1, ..., alpha / m (level index l tests at
  alpha / (l + 1)); an endpoint's *strength* is the largest l + 1 at which it
  rejects (0 if it does not reject at alpha). Sorting strengths in
  decreasing order, the step-down procedure rejects the i-th strongest while
  every one up to it has strength >= m - i (rejecting at alpha / (m - i)),
  which is Holm's procedure on p-values whenever rejection is monotone in
  the level (it is for every test and boundary family here).

``rule = "all"``: the trial succeeds when every endpoint succeeds (after
the adjustment); ``"any"``: when at least one does.
"""

from __future__ import annotations

import numpy as np


def _as_levels(success: np.ndarray) -> np.ndarray:
    return success[None, :] if success.ndim == 1 else success


def adjusted_success(success: dict, multiplicity: str, order: tuple[str, ...] = ()) -> dict:
    """Per-endpoint success after the multiplicity adjustment.

    Parameters
    ----------
    success : dict
        Endpoint name -> boolean array (trials,) or (levels, trials).
    multiplicity : str
        ``none``, ``bonferroni``, ``holm`` or ``fixed_sequence``.
    order : tuple of str
        Testing order for ``fixed_sequence``.

    Returns
    -------
    dict
        Endpoint name -> boolean array (trials,).

    Examples
    --------
    >>> import numpy as np
    >>> s = {"a": np.array([[True, True], [True, False]]), "b": np.array([[True, False], [False, False]])}
    >>> {k: v.tolist() for k, v in adjusted_success(s, "holm").items()}
    {'a': [True, False], 'b': [True, False]}
    """
    names = list(success)
    if multiplicity in ("none", "bonferroni"):
        return {name: _as_levels(success[name])[0] for name in names}
    if multiplicity == "fixed_sequence":
        out, gate = {}, None
        for name in order:
            current = _as_levels(success[name])[0]
            gate = current if gate is None else gate & current
            out[name] = gate
        return out
    if multiplicity == "holm":
        m = len(names)
        levels = np.stack([_as_levels(success[name]) for name in names])  # (m endpoints, m levels, trials)
        if levels.shape[1] != m:
            raise ValueError(f"holm needs {m} levels per endpoint, got {levels.shape[1]}")
        # Strength: how many of the levels alpha/1, alpha/2, ... reject, counted
        # from alpha down (monotone in the level, so the count is the largest).
        strength = levels.cumprod(axis=1).sum(axis=1)  # (m, trials)
        ordered = -np.sort(-strength, axis=0)
        needed = (m - np.arange(m))[:, None]
        passed = np.cumprod(ordered >= needed, axis=0)
        n_rejected = passed.sum(axis=0)
        weakest_rejected = np.where(
            n_rejected > 0, np.take_along_axis(ordered, np.maximum(n_rejected - 1, 0)[None, :], axis=0)[0], m + 1
        )
        return {name: strength[i] >= weakest_rejected for i, name in enumerate(names)}
    raise ValueError(f"unknown multiplicity {multiplicity!r}")


def trial_success(adjusted: dict, rule: str) -> np.ndarray:
    """Trial success under ``rule`` ("all" or "any") from adjusted endpoint success."""
    stacked = np.stack(list(adjusted.values()))
    return stacked.all(axis=0) if rule == "all" else stacked.any(axis=0)
