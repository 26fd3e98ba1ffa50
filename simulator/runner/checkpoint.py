"""Per-scenario checkpoints: a finished scenario is never simulated twice.

When every chunk of a scenario is done, its summed counts go to one JSON file
in ``DIR/checkpoints/``, written to a temporary file in the same folder and
renamed over the final name (``os.replace`` is atomic), so a file is either
complete or absent: Ctrl-C or a killed worker loses only unfinished
scenarios.  A rerun of the same command finds the file and uses its counts
instead of simulating.

A file is named ``<digest>-seed<seed>-n<n_sims>.json`` where ``digest`` is
the hex blake2b digest of the canonical resolved scenario (the same digest
that seeds it: every key that changes a result, including ``seed`` and
``n_sims``; not ``trial.name`` or ``simulation.jobs``).  A config change
therefore gives new names and stale files are simply not looked up.  They are
left in place, so that going back to an earlier config resumes too; delete
the folder to reclaim the space.  A file is used only if its package version,
code fingerprint (a digest of the simulator's source files, so that a
changed engine never resumes stale counts), seed entropy and streams match
the scenario; otherwise it is ignored and overwritten when the scenario has
been recomputed.

Counts are stored as lists with their dtype; JSON keeps integers exact and
Python writes floats with the shortest repr that reads back to the same
double, so a resumed scenario is bit for bit the computed one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from simulator import __version__
from simulator.config.digest import scenario_digest

FORMAT = 1


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of every source file of the ``simulator`` package (computed once per process)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def digest_hex(config) -> str:
    """The scenario's digest as 32 hex digits (the checkpoint's key)."""
    return "".join(f"{word:08x}" for word in scenario_digest(config))


def _encode(streams: dict) -> dict:
    return {
        stream: {
            "n_sims": int(counts.n_sims),
            "success": int(counts.success),
            **({} if counts.success_two_sided is None else {"success_two_sided": int(counts.success_two_sided)}),
            "endpoints": {
                name: {key: {"dtype": str(np.asarray(v).dtype), "values": np.asarray(v).tolist()} for key, v in arrays.items()}
                for name, arrays in counts.endpoints.items()
            },
        }
        for stream, counts in streams.items()
    }


def _decode(data: dict) -> dict:
    from simulator.runner.simulate import StreamCounts

    streams = {}
    for stream, block in data.items():
        endpoints = {
            name: {key: np.asarray(item["values"], dtype=item["dtype"]) for key, item in arrays.items()}
            for name, arrays in block["endpoints"].items()
        }
        two = block.get("success_two_sided")
        streams[stream] = StreamCounts(
            n_sims=int(block["n_sims"]), success=int(block["success"]), endpoints=endpoints,
            success_two_sided=None if two is None else int(two),
        )
    return streams


class CheckpointStore:
    """Load and save finished scenarios under one folder.

    Parameters
    ----------
    folder : str or Path
        Usually ``DIR/checkpoints``; created on the first save.

    Examples
    --------
    >>> store = CheckpointStore("/tmp/p3sim-doctest/checkpoints")  # doctest: +SKIP
    >>> store.load(bundle) is None                                   # doctest: +SKIP
    True
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, bundle) -> Path:
        """The file of a scenario."""
        sim = bundle.scenario.config.simulation
        return self.folder / f"{digest_hex(bundle.scenario.config)}-seed{sim.seed}-n{sim.n_sims}.json"

    def load(self, bundle) -> dict | None:
        """The scenario's streams (name -> StreamCounts), or None if not usable."""
        path = self.path(bundle)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            data.get("format") != FORMAT
            or data.get("version") != __version__
            or data.get("code") != code_fingerprint()
            or data.get("entropy") != [int(v) for v in bundle.entropy]
            or sorted(data.get("streams", {})) != sorted(bundle.streams)
        ):
            return None
        try:
            return _decode(data["streams"])
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, bundle, streams: dict) -> Path:
        """Write a finished scenario atomically (temporary file + ``os.replace``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        sim = bundle.scenario.config.simulation
        data = {
            "format": FORMAT,
            "version": __version__,
            "code": code_fingerprint(),
            "digest": digest_hex(bundle.scenario.config),
            "seed": sim.seed,
            "n_sims": sim.n_sims,
            "entropy": [int(v) for v in bundle.entropy],
            "params": bundle.scenario.params,
            "streams": _encode(streams),
        }
        path = self.path(bundle)
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self.folder, prefix=path.stem + ".", suffix=".tmp", delete=False
        )
        try:
            with handle:
                json.dump(data, handle, default=str)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
        return path
