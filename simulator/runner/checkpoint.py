"""Per-scenario checkpoints: a finished scenario is never simulated twice.

When every chunk of a scenario is done, its summed counts go to one JSON file
in ``DIR/checkpoints/``, written to a temporary file in the same folder and
renamed over the final name (``os.replace`` is atomic), so a file is either
complete or absent: Ctrl-C or a killed worker loses only unfinished
scenarios.  A rerun of the same command finds the file and uses its counts
instead of simulating.

A file is named ``<digest>-seed<seed>-n<n_sims>.json`` where ``digest`` is
the hex blake2b digest of the canonical resolved scenario with every key
that changes a result, including ``n_sims`` (``seed`` is in the name):
the seed digest's keys and those that change decisions without changing
the draws, which the seed digest leaves out (the ``[interim]`` futility
thresholds, ``design.two_sided_futility``: a review found a rerun at
another threshold resumed the first threshold's counts); not
``trial.name`` or ``simulation.jobs``.  A config change
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

Trust
-----
Checkpoints are not a security boundary (whoever can edit them can edit
report.json), but corruption, stale or foreign files, hand edits and sync
conflicts happen. So a file is used only if, besides the matches above:

- the blake2b digest of its payload (the canonical JSON of ``streams``),
  stored beside it, is that of the payload read back;
- its counts agree with the plan and with each other
  (:func:`check_counts`): the streams, endpoints, keys, dtypes and shapes
  a fresh chunk of the scenario has; ``n_sims`` as configured; per-trial
  counts within ``[0, n_sims]`` and every count non-negative and finite;
  the trials stopped at some look summing to ``n_sims``; trial success no
  greater than the smallest endpoint success under the rule ``all`` and
  between the largest and the sum under ``any``.

Anything else (unreadable, not JSON, not an object, a key missing, a number
too large for its dtype) is ignored and the scenario recomputed. The code
fingerprint covers the Python, NumPy and Numba versions too.
"""

from __future__ import annotations

import hashlib
import json
import stat
import warnings
from pathlib import Path

import numpy as np

from simulator import __version__
from simulator.config.digest import result_digest
from simulator.files import write_atomic
from simulator.runner.fingerprint import code_fingerprint

FORMAT = 2
#: The largest checkpoint read: a scenario's counts are kilobytes (histograms and bands included), so a larger
#: file is not one of ours.
MAX_CHECKPOINT_BYTES = 64 * 2**20

#: Per-trial counts (each at most ``n_sims`` per look): an endpoint's count
#: arrays under these keys, and every histogram (``*_hist``, ``*_over``,
#: ``hr_estimate``), never count a trial twice in one cell.
PER_TRIAL_KEYS = frozenset({
    "reject", "reject_unfavourable", "futility", "stopped", "events_short", "look_reached", "cap_reached",
    "success_adjusted", "hr_estimate", "fraction_tested", "efficacy_bound_count", "futility_bound_count",
})


def payload_digest(streams: dict) -> str:
    """The blake2b digest of a checkpoint's ``streams`` payload (canonical JSON)."""
    text = json.dumps(streams, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _per_trial(key: str) -> bool:
    return key in PER_TRIAL_KEYS or key.endswith(("_hist", "_over"))


def check_counts(streams: dict, template: dict, n_sims: int, rule: str) -> str | None:
    """Why decoded checkpoint ``streams`` cannot be the scenario's counts, or ``None`` if they can.

    ``template`` holds what one fresh chunk of each stream gives (the keys,
    dtypes and shapes to expect); ``rule`` is the trial's success rule.
    """
    if sorted(streams) != sorted(template):
        return "streams differ from the plan's"
    for stream, counts in streams.items():
        fresh = template[stream]
        if counts.n_sims != n_sims:
            return f"{stream}: n_sims {counts.n_sims} is not the configured {n_sims}"
        if sorted(counts.endpoints) != sorted(fresh.endpoints):
            return f"{stream}: endpoints differ from the plan's"
        if (counts.success_two_sided is None) != (fresh.success_two_sided is None):
            return f"{stream}: two-sided success count present where the plan has none, or missing"
        for value in (counts.success, counts.success_two_sided):
            if value is not None and not 0 <= value <= n_sims:
                return f"{stream}: a trial success count outside [0, n_sims]"
        adjusted = []
        for name, arrays in counts.endpoints.items():
            expected = fresh.endpoints[name]
            if sorted(arrays) != sorted(expected):
                return f"{stream}.{name}: count keys differ from the plan's"
            for key, value in arrays.items():
                if value.dtype != expected[key].dtype or value.shape != expected[key].shape:
                    return f"{stream}.{name}.{key}: dtype or shape differs from the plan's"
                if not np.all(np.isfinite(value)) or np.any(value < 0):
                    return f"{stream}.{name}.{key}: a negative or non-finite count"
                if _per_trial(key) and np.any(value > n_sims):
                    return f"{stream}.{name}.{key}: a count above n_sims"
            if "stopped" in arrays and int(arrays["stopped"].sum()) != n_sims:
                return f"{stream}.{name}: trials stopped at the looks do not sum to n_sims"
            for key in ("reject", "futility"):
                if key in arrays and int(arrays[key].sum()) > n_sims:
                    return f"{stream}.{name}.{key}: more trials than n_sims"
            if "success_adjusted" in arrays:
                adjusted.append(int(arrays["success_adjusted"].sum()))
        if adjusted:
            low, high = (0, min(adjusted)) if rule == "all" else (max(adjusted), sum(adjusted))
            if not low <= counts.success <= high:
                return f"{stream}: trial success {counts.success} contradicts the endpoints' successes under `{rule}`"
    return None


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
        #: Indices of the scenarios the last run took from this store.
        self.resumed: list[int] = []

    def path(self, bundle) -> Path:
        """The file of a scenario."""
        sim = bundle.scenario.config.simulation
        return self.folder / f"{result_digest(bundle.scenario.config)}-seed{sim.seed}-n{sim.n_sims}.json"

    def load(self, bundle, template=None) -> dict | None:
        """The scenario's streams (name -> StreamCounts), or None if not usable.

        ``template``, a callable giving one fresh chunk per stream (see
        :func:`check_counts`), is called only when a file passed the other
        checks; without it the counts are checked against each other only.
        """
        path = self.path(bundle)
        try:
            # Only a plain file of a checkpoint's size is read (a review: a FIFO there hung the run, a link to
            # /dev/zero filled the memory); anything else is not usable, and the scenario is recomputed.
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CHECKPOINT_BYTES:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("streams"), dict):
                return None
            if (
                data.get("format") != FORMAT
                or data.get("version") != __version__
                or data.get("code") != code_fingerprint()
                or data.get("entropy") != [int(v) for v in bundle.entropy]
                or sorted(data["streams"]) != sorted(bundle.streams)
                or data.get("payload") != payload_digest(data["streams"])
            ):
                return None
            streams = _decode(data["streams"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
            return None
        config = bundle.scenario.config
        fresh = template() if template is not None else {name: streams[name] for name in streams}
        if check_counts(streams, fresh, config.simulation.n_sims, config.success.rule) is not None:
            return None
        return streams

    def save(self, bundle, streams: dict) -> Path | None:
        """Write a finished scenario atomically (temporary file + ``os.replace``).

        A directory sitting at the checkpoint's path is left alone: the
        checkpoint is skipped with a warning (``None``), the run goes on.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        sim = bundle.scenario.config.simulation
        path = self.path(bundle)
        if path.is_dir():
            warnings.warn(f"{path} is a directory, so this scenario's checkpoint is not saved", stacklevel=2)
            return None
        payload = _encode(streams)
        data = {
            "format": FORMAT,
            "version": __version__,
            "code": code_fingerprint(),
            "digest": result_digest(bundle.scenario.config),
            "seed": sim.seed,
            "n_sims": sim.n_sims,
            "entropy": [int(v) for v in bundle.entropy],
            "params": bundle.scenario.params,
            "payload": payload_digest(payload),
            "streams": payload,
        }
        return write_atomic(path, json.dumps(data, default=str))
