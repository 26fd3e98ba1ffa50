"""Writing files so that a reader never sees half of one.

A file is written to a temporary name in its own folder, flushed to disk,
and renamed over the final name (``os.replace`` is atomic on one file
system): an interrupted or failed write leaves the old file or none, never
a truncated one. Used for checkpoints and for every report file.
"""

from __future__ import annotations

import errno
import math
import os
import secrets
from pathlib import Path
from typing import Any

from simulator.errors import NotReadyError


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; the temporary file is removed on failure.

    The file gets the permissions of any new file (``0o666`` less the
    umask), not the owner-only ones of :mod:`tempfile`: a report is written
    to be handed over, and a colleague reading the folder must be able to
    open it.
    """
    path = Path(path)
    try:
        while True:
            temporary = path.parent / f"{path.name}.{secrets.token_hex(6)}.tmp"
            try:
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:  # another writer's name: draw again
                continue
        try:
            with open(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as err:
        if err.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        # The folder was checked before the run; the file or the folder was made read-only since (immutable,
        # a read-only mount): an environment problem, said in one line (exit 3 on the command line).
        raise NotReadyError(f"cannot write {path} ({err.strerror}); make it writable and run the same command "
                            "again (finished scenarios are kept)") from None
    return path


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite number written as the string ``"inf"``, ``"-inf"`` or ``"nan"``.

    JSON has no infinity or NaN (Python writes ``-Infinity``, which other
    readers refuse). Reports hold one only where the config does: a TOML
    ``-inf`` in ``meta.config`` (a futility list's "no bound at this look").
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
