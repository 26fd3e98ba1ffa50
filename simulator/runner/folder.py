"""The output folder of a run: checked before any work, and one writer at a time.

:class:`OutputFolder` is what ``p3sim run`` and ``p3sim size`` hold while
they work:

- **Checked up front** (:func:`check_output_folder`): ``--out`` must not be
  empty, must be (or be creatable as) a writable directory, not a file, not
  under a file, not a device such as ``/dev/null``, and no report file's
  name may be taken by a directory. Each problem is one line naming
  ``--out``, exit 2, before anything is simulated.
- **Locked** with ``fcntl.flock`` on ``DIR/.p3sim.lock``. The kernel
  releases the lock when the process ends however it ends (kill -9
  included), so resuming after a crash needs no cleanup. A second run on the
  same folder exits 3 at once, naming the folder and the host and process
  that hold it. On a network file system ``flock`` is only as good as the
  file system's lock support (NFSv4 and SMB pass it to the server; some
  older NFS setups lock only on the local machine): there, give concurrent
  runs different folders.
- **Orphans cleaned**: temporary checkpoint files (``*.tmp``) left by a
  killed run are removed only once the lock is held, so that a live run's
  file is never taken.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import stat
import threading
from pathlib import Path

from simulator.errors import InputError, NotReadyError

LOCK_NAME = ".p3sim.lock"

#: Output folders held, by (real path, thread) -> nesting depth: the thread that holds one may enter it again.
_HELD: dict[tuple[str, int], int] = {}

#: Files a run or a size search writes into its folder.
REPORT_FILES = ("report.json", "report.md", "report.html", "results.csv")


def report_files(csv: bool = True) -> tuple[str, ...]:
    """The report files a verb writes: ``run`` (and ``SimulationResult.save``) all of them, ``size`` no results.csv."""
    return REPORT_FILES if csv else tuple(name for name in REPORT_FILES if name != "results.csv")


def default_folder_name(config_path: str) -> str:
    """A safe folder name from a config's file name (``reports/<this>/``).

    Only letters, digits, ``.``, ``_`` and ``-`` are kept, and leading dots are
    dropped, so that a config named ``...toml`` or ``.toml`` cannot put the
    reports in the current folder or a hidden one.

    >>> default_folder_name("configs/cairo6.toml"), default_folder_name("...toml"), default_folder_name("a b?.toml")
    ('cairo6', 'config', 'a_b_')
    """
    stem = Path(config_path).stem
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".")
    return safe or "config"


def check_output_folder(out: str | os.PathLike, option: str = "--out", files: tuple = REPORT_FILES) -> Path:
    """Raise InputError (naming ``option``) unless ``out`` can hold the reports.

    Creates nothing: the folder is made when the run starts
    (:class:`OutputFolder`), so bad input leaves no trace.
    """
    if not isinstance(out, (str, os.PathLike)):
        raise InputError(f"argument `{option}`: must be a folder path (str or Path), got {out!r}")
    text = os.fspath(out)
    if not isinstance(text, str):
        raise InputError(f"argument `{option}`: must be a folder path (str or Path), got {text!r}")
    if not text.strip():
        raise InputError(f"argument `{option}`: must be a folder path, got an empty string")
    if "\0" in text:
        raise InputError(f"argument `{option}`: a path cannot hold a NUL character, got {text!r}")
    folder = Path(text)
    try:
        return _check_folder(folder, option, files)
    except OSError as err:  # a folder on the way that this user may not even look into
        raise InputError(f"argument `{option}`: cannot use {folder} ({err.strerror})") from None


def _check_folder(folder: Path, option: str, files: tuple = REPORT_FILES) -> Path:
    for parent in [folder, *folder.parents]:
        if not parent.exists():
            continue
        if not parent.is_dir():
            what = "is" if parent == folder else f"lies under {parent}, which is"
            raise InputError(f"argument `{option}`: {folder} {what} not a folder (a file or a device)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(f"argument `{option}`: cannot write to {folder} (the folder {parent} is not writable)")
        break
    for name in files:  # the files this verb writes (`size` no results.csv: a review)
        if (folder / name).is_dir():
            raise InputError(f"argument `{option}`: {folder / name} is a folder, where the report file {name} goes")
    return folder


class OutputFolder:
    """Hold the output folder of one run: checked, locked, orphans cleaned.

    Use as a context manager; the lock is released on exit (and by the
    kernel if the process dies).
    """

    def __init__(self, out: str | os.PathLike, option: str = "--out", files: tuple = REPORT_FILES):
        self.path = check_output_folder(out, option, files)
        self.option = option
        self._handle = None
        self._created: list[Path] = []
        self._nested = False
        self._key: tuple[str, int] | None = None

    def __enter__(self) -> OutputFolder:
        import fcntl

        # Per thread (a code review: another thread's save went through a folder this process held) and taken
        # once (the real path at entry: a chdir before the exit left the entry behind).
        self._key = (os.path.realpath(self.path), threading.get_ident())
        if self._key in _HELD:
            # This thread holds it already (``p3sim run`` saving its result through the API's save).
            _HELD[self._key] += 1
            self._nested = True
            return self
        # The folders this run creates (the output folder and any missing parents), so that a run
        # stopped by bad input before writing anything can leave no trace (__exit__).
        self._created = [p for p in [self.path, *self.path.parents] if not p.exists()]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"argument `{self.option}`: cannot create the folder {self.path} ({err.strerror})") from None
        lock = self.path / LOCK_NAME
        try:
            # Never through a link (it would truncate and write the file it points to), only a plain file.
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as err:
            why = "it is a link" if err.errno == errno.ELOOP else err.strerror
            raise InputError(f"argument `{self.option}`: cannot write the lock file {lock} ({why})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError(f"argument `{self.option}`: cannot write the lock file {lock} (it is not a plain file)")
        handle = os.fdopen(fd, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise NotReadyError(
                    f"the output folder {self.path} is in use by another p3sim run ({holder}); wait for it to "
                    f"finish, or give this run another {'--out' if self.option == '--out' else 'folder'}"
                ) from None
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(f"host {socket.gethostname()}, process {os.getpid()}\n")
        handle.flush()
        self._handle = handle
        for orphan in (self.path / "checkpoints").glob("*.tmp"):
            # Only plain files (a code review: a folder named *.tmp ended the run with an internal error).
            with contextlib.suppress(OSError):
                if orphan.is_file() and not orphan.is_symlink():
                    orphan.unlink()
        _HELD[self._key] = 1
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if self._nested:
            _HELD[self._key] -= 1
            return
        _HELD.pop(self._key, None)
        if self._handle is not None:
            self._handle.close()  # closing the descriptor releases the lock
            self._handle = None
        if isinstance(error, InputError):
            self._remove_if_unused()

    def _remove_if_unused(self) -> None:
        """Bad input found after the folder was made (an unreachable ``size`` target): remove what
        this run created if nothing but its lock file is in it."""
        if not self._created or any(p.name != LOCK_NAME for p in self.path.iterdir()):
            return
        (self.path / LOCK_NAME).unlink(missing_ok=True)
        for folder in self._created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
