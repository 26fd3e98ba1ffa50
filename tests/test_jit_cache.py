"""Where Numba has nowhere to cache (a read-only install): a private folder in the temporary directory.

The tests run as root here, for whom no folder is read-only, so "nowhere
to cache" is made the way Numba decides it: with its locators limited to
``NUMBA_CACHE_DIR``'s (the class list its cache implementation tries) and
that variable unset, every kernel raises "no locator available", as on a
read-only install whose user has no writable cache folder.
"""

import json
import os
import stat
import subprocess
import sys
import tempfile

import numba
import pytest

from simulator import _jit

_RUN = """
import json, sys
import numba
from numba.core import caching
# Only NUMBA_CACHE_DIR's locator, as if the package folder and the user's cache folder were read-only.
implementation = getattr(caching, "CacheImpl", None) or caching._CacheImpl
provided = getattr(caching, "UserProvidedCacheLocator", None) or caching._UserProvidedCacheLocator
implementation._locator_classes = [provided]
import simulator as p3
from simulator.engine import binary
result = p3.Trial.from_toml(sys.argv[1]).simulate(n_sims=300, seed=3)
kernels = [k for k in vars(binary).values() if isinstance(k, numba.core.registry.CPUDispatcher)]
print(json.dumps({"power": result.power.value,
                  "hits": sum(sum(k.stats.cache_hits.values()) for k in kernels),
                  "misses": sum(sum(k.stats.cache_misses.values()) for k in kernels),
                  "caches": sorted({type(k._cache).__name__ for k in kernels})}))
"""


def _run_without_a_cache_location(config, temporary, cache_dir=None):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "NUMBA_CACHE_LOCATOR_CLASSES")}
    env["TMPDIR"] = str(temporary)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run([sys.executable, "-c", _RUN, str(config)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kernels_are_cached_in_a_private_temporary_folder_when_numba_has_nowhere_else(small_config, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    first = _run_without_a_cache_location(small_config, temporary)
    folder = temporary / f"p3sim-numba-cache-{os.geteuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert list(folder.rglob("*.nbi")), "nothing was cached"
    assert first["caches"] == ["FunctionCache"] and first["misses"] > 0 and first["hits"] == 0
    second = _run_without_a_cache_location(small_config, temporary)
    assert second["hits"] > 0 and second["misses"] == 0  # loaded, not compiled again
    assert second["power"] == first["power"]


def test_a_numba_cache_dir_the_user_set_is_not_replaced_by_the_fallback(small_config, tmp_path):
    # NUMBA_CACHE_DIR under a file: Numba cannot use it, and the kernels then run uncached (as the user asked
    # for that folder), not cached in the temporary directory.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    run = _run_without_a_cache_location(small_config, temporary, cache_dir=blocker / "cache")
    assert run["caches"] == ["NullCache"] and run["hits"] == 0  # compiled without a cache
    assert not (temporary / f"p3sim-numba-cache-{os.geteuid()}").exists()


@pytest.fixture
def temporary_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _jit.private_cache_folder.cache_clear()
    yield tmp_path
    _jit.private_cache_folder.cache_clear()


def test_the_private_folder_is_created_for_this_user_alone(temporary_directory):
    folder = _jit.private_cache_folder()
    assert folder == str(temporary_directory / f"p3sim-numba-cache-{os.geteuid()}")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


@pytest.mark.parametrize("made", ["writable by others", "writable by its group", "someone else's", "a link", "a file"])
def test_a_folder_someone_else_could_have_written_is_not_trusted(temporary_directory, monkeypatch, made):
    # Numba would load machine code from it: a planted folder must not be used (the kernels then run uncached).
    path = temporary_directory / f"p3sim-numba-cache-{os.geteuid()}"
    if made == "someone else's":
        # This process taken for another user: the folder it finds under that user's name is not theirs.
        other = os.geteuid() + 1
        path = temporary_directory / f"p3sim-numba-cache-{other}"
        monkeypatch.setattr(_jit.os, "geteuid", lambda: other)
    if made == "a link":
        target = temporary_directory / "elsewhere"
        target.mkdir(mode=0o700)
        path.symlink_to(target)
    elif made == "a file":
        path.write_text("", encoding="utf-8")
    else:
        path.mkdir(mode=0o700)
        if made == "writable by others":
            path.chmod(0o777)
        elif made == "writable by its group":
            path.chmod(0o770)
    assert _jit.private_cache_folder() is None


@pytest.mark.parametrize("sticky", [True, False])
def test_a_temporary_directory_others_can_rename_entries_of_is_not_trusted(tmp_path, monkeypatch, sticky):
    # In a directory everybody can write to without the sticky bit, another user could swap the folder after
    # it was checked; /tmp has the sticky bit.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777 if sticky else 0o777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    _jit.private_cache_folder.cache_clear()
    try:
        assert (_jit.private_cache_folder() is not None) == sticky
    finally:
        _jit.private_cache_folder.cache_clear()


def test_a_kernel_with_no_cache_location_at_all_still_compiles(temporary_directory):
    # No source file: no locator can serve it, not even the private folder's; it is compiled without a cache,
    # and Numba's setting is left as it was.
    before = numba.config.CACHE_DIR
    namespace: dict = {}
    exec(compile("def twice(x):\n    return 2 * x\n", "<no file>", "exec"), namespace)
    compiled = _jit.kernel(namespace["twice"])
    assert compiled(21) == 42
    assert numba.config.CACHE_DIR == before
    assert compiled._cache.__class__.__name__ == "NullCache"  # uncached
