"""The decision at one analysis, shared by the simulation and the enumeration.

Both the Monte Carlo engine and the exact enumeration call :func:`decide`, so
they can only disagree through the random numbers, which is what the tests
comparing them are meant to check.
"""

from simulator._jit import kernel
from simulator.stats.binary import FISHER, oriented_z

#: Outcome codes of one analysis.
CONTINUE = 0
REJECT_FAVOURABLE = 1
REJECT_UNFAVOURABLE = -1
STOP_FUTILITY = 2


@kernel
def decide(code, xc, nc, xe, ne, theta0, efficacy, unfavourable, futility, fav_row, unf_row, fut_row):
    """Outcome of one analysis of a two-arm binary endpoint (oriented counts).

    z-type tests compare the oriented statistic with the z bounds; Fisher's
    exact test compares ``xe`` with precomputed critical counts for the total
    number of events ``m = xc + xe`` (rows of :func:`fisher_thresholds`), since
    its p-value has no closed form.

    Parameters
    ----------
    code : int
        Test code from :data:`simulator.stats.binary.TEST_CODES`.
    xc, nc, xe, ne : int
        Events and evaluable patients per arm (higher is better).
    theta0 : float
        Null risk difference (``-margin`` for non-inferiority).
    efficacy, unfavourable, futility : float
        z bounds: reject favourably at ``z >= efficacy``, unfavourably at
        ``z <= unfavourable`` (``-inf`` when one-sided), stop for futility at
        ``z < futility`` (``-inf`` when none).
    fav_row, unf_row, fut_row : int64 arrays
        Fisher critical counts indexed by ``m`` (unused for other tests).
    """
    if code == FISHER:
        m = xc + xe
        if xe >= fav_row[m]:
            return REJECT_FAVOURABLE
        if xe <= unf_row[m]:
            return REJECT_UNFAVOURABLE
        if xe <= fut_row[m]:
            return STOP_FUTILITY
        return CONTINUE
    z = oriented_z(code, xc, nc, xe, ne, theta0)
    if z >= efficacy:
        return REJECT_FAVOURABLE
    if z <= unfavourable:
        return REJECT_UNFAVOURABLE
    if z < futility:
        return STOP_FUTILITY
    return CONTINUE
