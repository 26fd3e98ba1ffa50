"""Seeds and chunks: why a result never depends on ``jobs``.

A scenario's simulations are cut into chunks of a fixed size (independent of
the number of processes). Chunk ``c`` of stream ``s`` gets its own
``SeedSequence`` whose spawn key is ``(s, *name_words(endpoint), c)`` under
the scenario's entropy
(the user's seed plus a digest of the canonical scenario), so any process can
compute any chunk, in any order, and get the same numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Trials per chunk. Fixed, so results do not depend on how work is split;
#: 2**16 keeps per-trial output arrays small (a few hundred KiB) and the
#: per-chunk overhead negligible.
CHUNK_SIZE = 1 << 16

#: Trials per chunk of the engines that simulate every patient (survival,
#: joint, stratified): a trial costs tens of microseconds there, so a chunk
#: of :data:`CHUNK_SIZE` took a second or more, and a run of 10^4 or 10^5
#: trials (one or two chunks) could not use a second core. 2**12 trials are
#: about 0.1 s for the reference survival trial (610 patients), against a
#: per-chunk overhead of about a millisecond. A plan says which it takes
#: (``chunk_trials``); a scenario takes the smallest of its plans'.
PATIENT_CHUNK_SIZE = 1 << 12

#: Stream identifiers of the three things a run simulates.
STREAMS = {"power": 1, "assurance": 2, "type1": 3}


def name_words(name: str) -> tuple[int, int, int, int]:
    """A stable 128-bit key for a name, as four 32-bit words.

    Python's ``hash`` is salted per process, so a digest is used. 128 bits
    (not 32) so that two endpoint names cannot share a stream in practice;
    four fixed words (not one big integer) so that every spawn key has the
    same length and keys of different names cannot run into each other.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))  # type: ignore[return-value]


def chunk_count(n_sims: int, size: int = CHUNK_SIZE) -> int:
    """How many chunks make up ``n_sims`` trials."""
    return -(-n_sims // size)


def chunk_size(n_sims: int, chunk: int, size: int = CHUNK_SIZE) -> int:
    """Trials in chunk ``chunk`` of ``n_sims`` (all full but the last)."""
    return min(size, n_sims - chunk * size)


def chunk_generator(entropy: list[int], stream: str, endpoint: str, chunk: int) -> np.random.Generator:
    """The generator of one chunk of one endpoint's stream in one scenario."""
    sequence = np.random.SeedSequence(entropy, spawn_key=(STREAMS[stream], *name_words(endpoint), chunk))
    return np.random.Generator(np.random.PCG64(sequence))
