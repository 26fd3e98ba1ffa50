"""Where the chunks run: in this process, in local processes (loky), or on Dask.

Every backend runs the same tasks (one chunk of one stream of one scenario,
seeded by its own spawn key) and the runner adds their counts in chunk
order, so the backend never changes a result, only the wall time.

- ``threads`` (default): ``jobs`` threads in this process (0 = all cores;
  with one, the tasks run in the calling thread). The Numba kernels release
  the GIL (``nogil=True``), so threads run chunks in parallel without the
  one to two seconds each worker process spends starting (imports, loading
  compiled kernels) and without pickling the plans: the better choice for
  runs of seconds (2.0x from 1 to 2 threads on 2 x 10^7 binary trials,
  where two processes gained 1.1x). The numpy work around the kernels holds
  the GIL, so per-patient (joint) simulations gain less (1.6x on CAIRO6).
- ``loky``: joblib's process pool on this machine, ``jobs`` processes: for
  work that holds the GIL, at one to two seconds of start-up per process.
- ``dask``: joblib's Dask backend on a ``dask.distributed`` cluster reached at
  ``scheduler`` (``tcp://host:8786``); the cluster decides how many tasks run
  at once (``jobs`` > 0 caps it).  The workers must have ``phase3-simulator``
  installed, at the same version.  Dask is an optional extra:
  ``pip install "phase3-simulator[dask]"``.
"""

from __future__ import annotations

import contextlib
import os
import warnings

from joblib import Parallel, delayed, parallel_config

from simulator.config.fields import toml_value
from simulator.errors import InputError

BACKENDS = ("loky", "threads", "dask")

INSTALL_DASK = 'pip install "phase3-simulator[dask]"'


def check_backend(backend: str, scheduler: str | None) -> None:
    """Validate ``--backend`` / ``--scheduler`` before any work starts."""
    if backend not in BACKENDS:
        raise InputError(f"argument `--backend`: must be one of {', '.join(BACKENDS)}, got {toml_value(backend)}")
    if backend == "dask":
        if not scheduler:
            raise InputError("argument `--scheduler`: required with `--backend dask` (the scheduler address, e.g. tcp://127.0.0.1:8786)")
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise InputError(
                f"argument `--backend dask`: dask.distributed is not installed; install it with: {INSTALL_DASK}"
            ) from None
    elif scheduler:
        raise InputError("argument `--scheduler`: only used with `--backend dask`")


def effective_jobs(jobs: int, n_tasks: int) -> int:
    """``jobs = 0`` means all cores; never more processes than tasks."""
    cores = os.cpu_count() or 1
    wanted = cores if jobs <= 0 else jobs
    return max(1, min(wanted, n_tasks))


#: Dask clients kept open by :func:`session`, by scheduler address.
_SESSIONS: dict = {}


def _connect(scheduler: str):
    from distributed import Client

    try:
        return Client(scheduler, timeout="20s", set_as_default=False)
    except OSError as err:
        raise InputError(f"argument `--scheduler`: cannot reach the Dask scheduler at {scheduler} ({err})") from None


@contextlib.contextmanager
def session(backend: str, scheduler: str | None):
    """Keep one Dask client open for several :func:`execute` calls (``size`` makes many).

    Does nothing for the local backend.
    """
    if backend != "dask" or scheduler in _SESSIONS:
        yield
        return
    check_backend(backend, scheduler)
    _SESSIONS[scheduler] = _connect(scheduler)
    try:
        yield
    finally:
        _SESSIONS.pop(scheduler).close()


@contextlib.contextmanager
def _dask_client(scheduler: str):
    client = _SESSIONS.get(scheduler)
    owned = client is None
    if owned:
        client = _connect(scheduler)
    try:
        with parallel_config(backend="dask", wait_for_workers_timeout=60, client=client):
            yield
    finally:
        if owned:
            client.close()


def execute(function, arguments: list[tuple], *, jobs: int = 0, backend: str = "threads", scheduler: str | None = None):
    """Yield ``function(*args)`` for every tuple in ``arguments``, in any order.

    Results arrive as the tasks finish (joblib's ``generator_unordered``), so
    that ``function`` must return something that says which task it was.
    Closing the generator early (an exception in the consumer, Ctrl-C)
    cancels the tasks not yet started.
    """
    if not arguments:
        return
    if backend == "dask":
        check_backend(backend, scheduler)
        with _dask_client(scheduler), _quiet_cancel():
            parallel = Parallel(n_jobs=jobs if jobs > 0 else -1, return_as="generator_unordered", batch_size="auto")
            yield from parallel(delayed(function)(*args) for args in arguments)
        return
    n_jobs = effective_jobs(jobs, len(arguments))
    if n_jobs == 1:
        for args in arguments:
            yield function(*args)
        return
    with _quiet_cancel():
        # "auto" groups short tasks (a chunk takes ~15 ms for a fixed binary
        # design) so that inter-process overhead stays small; joblib splits
        # the last tasks evenly between processes.
        local = "threading" if backend == "threads" else "loky"
        parallel = Parallel(n_jobs=n_jobs, backend=local, return_as="generator_unordered", batch_size="auto")
        yield from parallel(delayed(function)(*args) for args in arguments)


@contextlib.contextmanager
def _quiet_cancel():
    # An interrupted run cancels its pending tasks on purpose: joblib's
    # warning that finished tasks were "not used" would only confuse.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(successfully executed|have been cancelled)", category=UserWarning)
        yield
