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
- ``dask``: a ``dask.distributed`` cluster reached at ``scheduler``
  (``tcp://host:8786``): tasks are submitted as others finish, two per
  worker thread in flight (``jobs`` > 0 caps it).  The workers must have ``phase3-simulator``
  installed, at the same version.  Dask is an optional extra:
  ``pip install "phase3-simulator[dask]"``.

Dask, when things are not ready (exit 3 from the command line, one line):
a malformed address is bad input (exit 2) before any connection is tried;
a scheduler that refuses the connection or does not answer fails after
:data:`CONNECT_TIMEOUT_S`; a scheduler without workers after
``wait_for_workers`` seconds (``--wait-for-workers``); a worker whose
phase3-simulator, Python, NumPy or Numba version (or simulator source)
differs from this process's at once. A killed worker's tasks are
rescheduled by Dask while other workers remain; when none remain for
``wait_for_workers`` seconds the run stops, its finished scenarios kept.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import platform
import re
import sys
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from simulator.config.fields import toml_value
from simulator.errors import InputError, NotReadyError

BACKENDS = ("loky", "threads", "dask")

INSTALL_DASK = 'pip install "phase3-simulator[dask]"'

#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT_S = 3.0

#: Default seconds to wait for a Dask worker (``--wait-for-workers``).
WAIT_FOR_WORKERS_S = 30.0

#: Seconds to wait for the result of a finished Dask task (its worker may have gone with it).
_RESULT_TIMEOUT_S = 1.0

#: A scheduler address: ``host:port`` or ``tcp://``, ``tls://``, ``ucx://`` with host and port.
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}/?$")


def check_backend(backend: str, scheduler: str | None) -> None:
    """Validate ``--backend`` / ``--scheduler`` before any work starts."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InputError(f"argument `--backend`: must be one of {', '.join(BACKENDS)}, got {toml_value(backend)}")
    if scheduler is not None and not isinstance(scheduler, str):
        # From Python: an int, a list or bytes raised TypeError in the address pattern (a review).
        raise InputError(f"argument `--scheduler`: must be a scheduler address (a string), got {toml_value(scheduler)}")
    if backend == "dask":
        if not scheduler:
            raise InputError("argument `--scheduler`: required with `--backend dask` (the scheduler address, e.g. tcp://127.0.0.1:8786)")
        if not _ADDRESS.match(scheduler):
            raise InputError(
                f"argument `--scheduler`: not a scheduler address, got {toml_value(scheduler)}; expected host:port, "
                "tcp://host:port, tls://host:port or ucx://host:port"
            )
        port = int(scheduler.rstrip("/").rsplit(":", 1)[1])
        if not 1 <= port <= 65535:
            # Refused here, not after the connection attempt's timeout (exit 3: "not ready").
            raise InputError(f"argument `--scheduler`: the port must be in [1, 65535], got {port} in "
                             f"{toml_value(scheduler)}")
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


def versions() -> dict:
    """What must agree between this process and every Dask worker."""
    import numba
    import numpy

    from simulator import __version__
    from simulator.runner.fingerprint import code_fingerprint

    return {"phase3-simulator": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "source": code_fingerprint()}


def _connect(scheduler: str, wait_for_workers: float = WAIT_FOR_WORKERS_S):
    """A client of a scheduler with at least one worker of the same versions, or NotReadyError."""
    import importlib.util

    import dask
    from distributed import Client

    # Schemes this machine cannot use are named before a client is made (a review: a failed client ended in an
    # internal error, or in a traceback from its clean-up 6 s later).
    if scheduler.startswith("ucx://") and importlib.util.find_spec("ucp") is None:
        raise NotReadyError(f"cannot connect to the Dask scheduler at {scheduler}: ucx:// needs ucx-py (the `ucp` "
                            "module), which is not installed; install it, or use tcp://")
    if scheduler.startswith("tls://") and not dask.config.get("distributed.comm.tls.ca-file", None):
        raise NotReadyError(f"cannot connect to the Dask scheduler at {scheduler}: tls:// needs Dask's TLS "
                            "configuration (distributed.comm.tls: ca-file, client cert and key); set it, or use tcp://")
    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S:g}s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise NotReadyError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(err).__name__}); start it, or check --scheduler"
        ) from None
    except Exception as err:  # noqa: BLE001 -- a scheme the client cannot use here (a review: tls:// without an
        # SSL context in Dask's config, ucx:// without ucx-py) ended in an internal error and a traceback
        raise NotReadyError(
            f"cannot connect to the Dask scheduler at {scheduler} ({type(err).__name__}: {err}); for tls:// set "
            "Dask's TLS configuration (distributed.comm.tls), for ucx:// install ucx-py, or use tcp://"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=wait_for_workers)
        except (TimeoutError, OSError):
            raise NotReadyError(
                f"no Dask worker joined the scheduler at {scheduler} within {wait_for_workers:g} s "
                f"(--wait-for-workers); start one with: dask worker {scheduler}"
            ) from None
        mine = versions()
        for worker, theirs in client.run(versions).items():
            for key, value in mine.items():
                if theirs.get(key) != value:
                    raise NotReadyError(
                        f"Dask worker {worker} has {key} {theirs.get(key)}, this process {value}: install the same "
                        "versions on the workers (results must not depend on where a chunk runs)"
                    )
    except BaseException:
        client.close()
        raise
    return client


@contextlib.contextmanager
def session(backend: str, scheduler: str | None, wait_for_workers: float = WAIT_FOR_WORKERS_S):
    """Keep one Dask client open for several :func:`execute` calls (``size`` makes many).

    Does nothing for the local backend.
    """
    if backend == "dask" and not isinstance(scheduler, str):
        check_backend(backend, scheduler)  # names a scheduler that is not an address (a list cannot be looked up)
    if backend != "dask" or scheduler in _SESSIONS:
        yield
        return
    check_backend(backend, scheduler)
    _SESSIONS[scheduler] = (_connect(scheduler, wait_for_workers), wait_for_workers)
    try:
        yield
    finally:
        _SESSIONS.pop(scheduler)[0].close()


@contextlib.contextmanager
def _dask_client(scheduler: str):
    """The session's client (or a new one for this call) and its ``wait_for_workers``."""
    client, wait = _SESSIONS.get(scheduler, (None, WAIT_FOR_WORKERS_S))
    owned = client is None
    if owned:
        client = _connect(scheduler, wait)
    try:
        yield client, wait
    finally:
        if owned:
            client.close()


def _dask_execute(function, arguments, client, jobs: int, wait: float, scheduler: str):
    """``function(*args)`` on the cluster, at most two tasks per worker thread in flight (``jobs`` caps it).

    Tasks are submitted as others finish, so a lazy ``arguments`` is never
    held whole; the loop looks at the cluster every second, and when no
    worker has been left for ``wait`` seconds it cancels what is pending and
    raises NotReadyError (finished scenarios are in their checkpoints).
    """
    pending = iter(arguments)
    in_flight: set = set()
    alone_since = None
    checked = -math.inf
    try:
        while True:
            if time.monotonic() - checked > 1.0:  # look at the cluster once a second
                threads = sum(client.nthreads().values())
                checked = time.monotonic()
            limit = jobs if jobs > 0 else max(1, 2 * threads)
            while len(in_flight) < limit:
                args = next(pending, None)
                if args is None:
                    break
                in_flight.add(client.submit(function, *args, pure=False))
            if not in_flight:
                return
            done = [future for future in in_flight if future.done()]  # a few per worker thread: cheap to poll
            if not done:
                time.sleep(0.02)
            for future in done:
                try:
                    value = future.result(timeout=_RESULT_TIMEOUT_S)
                except TimeoutError:
                    # Done, but its result went with its worker: Dask computes it again, on a
                    # worker that comes (or the wait below runs out). Without a timeout this
                    # waited for ever once every worker had gone.
                    continue
                in_flight.discard(future)
                yield value
            if threads:
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif time.monotonic() - alone_since > wait:
                raise NotReadyError(
                    f"no Dask worker left at {scheduler} for {wait:g} s (--wait-for-workers); finished scenarios "
                    "are kept: start workers and run the same command again to resume"
                )
    finally:
        if in_flight:
            client.cancel(list(in_flight))


def execute(function, arguments, *, count: int | None = None, jobs: int = 0, backend: str = "threads",
            scheduler: str | None = None):
    """Yield ``function(*args)`` for every tuple in ``arguments``, in any order.

    ``arguments`` may be a lazy iterable of ``count`` tuples, taken as
    workers free up, so they are never all held at once. Results arrive as
    the tasks finish, so that ``function`` must return something that says
    which task it was. Closing the generator early (an exception in the
    consumer, Ctrl-C) cancels the tasks not yet started.
    """
    if count is None:
        arguments = list(arguments)
        count = len(arguments)
    if count == 0:
        return
    if backend == "dask":
        check_backend(backend, scheduler)
        with _dask_client(scheduler) as (client, wait):
            yield from _dask_execute(function, arguments, client, jobs, wait, scheduler)
        return
    n_jobs = effective_jobs(jobs, count)
    if n_jobs == 1:
        for args in arguments:
            yield function(*args)
        return
    if backend == "threads":
        yield from _thread_execute(function, arguments, n_jobs)
        return
    _quiet_resource_tracker()
    from joblib import Parallel, delayed  # only for processes: joblib and loky take about 0.1 s to import

    with _quiet_cancel():
        # "auto" groups short tasks (a chunk takes ~15 ms for a fixed binary
        # design) so that inter-process overhead stays small; joblib splits
        # the last tasks evenly between processes.
        parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered", batch_size="auto")
        yield from parallel(delayed(function)(*args) for args in arguments)


#: The warning filter given to loky's resource tracker (see :func:`_quiet_resource_tracker`).
_TRACKER_FILTER = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


def _quiet_resource_tracker() -> None:
    """Start loky's resource tracker so that it writes no warnings after an interrupted run.

    When Ctrl-C stops a loky run its shared-memory folders and locks are
    left to loky's resource tracker (a process of its own), which removes
    them and then warns, several lines on the run's stderr after the
    one-line "interrupted". The removal is what matters; the warning is
    filtered in that process only: it is started here with ``PYTHONWARNINGS``
    set for its module, and this process's environment is restored at once
    (a caller's later subprocesses see their own). A tracker already running
    (started by loky before) is left as it is.
    """
    from joblib.externals.loky.backend import resource_tracker

    previous = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = f"{previous},{_TRACKER_FILTER}" if previous else _TRACKER_FILTER
    try:
        resource_tracker.ensure_running()
    finally:
        if previous is None:
            del os.environ["PYTHONWARNINGS"]
        else:
            os.environ["PYTHONWARNINGS"] = previous


#: Seconds an interrupted run waits for loky to kill its workers.
STOP_WORKERS_S = 10.0


def stop_process_workers() -> None:
    """Kill the loky worker processes of an interrupted run.

    Without this, Ctrl-C or SIGTERM left them computing their chunks and
    then idle until loky's timeout (300 s), holding the cores a resumed run
    needs and the stderr of whatever read the run's output. joblib keeps
    them in loky's reusable executor (a module global: loky has no public
    way to reach it without making a new one); nothing happens when no run
    of this process used loky.
    """
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    if executor is None:
        return

    def shutdown():
        with contextlib.suppress(Exception):  # already broken or shut down: nothing left to stop
            executor.shutdown(wait=True, kill_workers=True)

    # Waited for (the process would otherwise end before loky's manager thread kills them), but not for
    # ever: a manager that hangs must not hang the interrupt.
    stopper = threading.Thread(target=shutdown, name="p3sim-stop-workers", daemon=True)
    stopper.start()
    stopper.join(STOP_WORKERS_S)


def _thread_execute(function, arguments, n_jobs: int):
    """``n_jobs`` threads of this process, two tasks per thread in flight, results as they finish.

    A chunk is milliseconds of a compiled kernel that releases the GIL, so
    a task per submission costs nothing that batching would save.
    """
    pool = ThreadPoolExecutor(n_jobs, thread_name_prefix="p3sim")
    tasks = iter(arguments)
    pending = {pool.submit(function, *args) for args in itertools.islice(tasks, 2 * n_jobs)}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.update(pool.submit(function, *args) for args in itertools.islice(tasks, 1))
                yield future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def _quiet_cancel():
    # An interrupted run cancels its pending tasks on purpose: joblib's
    # warning that finished tasks were "not used" would only confuse.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(successfully executed|have been cancelled)", category=UserWarning)
        yield
