"""Where Numba has nowhere to cache (a read-only install): a private folder in the temporary directory.

The tests run as root here, for whom no folder is read-only, so "nowhere
to cache" is made the way Numba decides it: with its locators limited to
``NUMBA_CACHE_DIR``'s (``NUMBA_CACHE_LOCATOR_CLASSES``) and that variable
unset, every kernel raises "no locator available", as on a read-only
install whose user has no writable cache folder.
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
import simulator as p3
from simulator.engine import binary
result = p3.Trial.from_toml(sys.argv[1]).simulate(n_sims=300, seed=3)
kernels = [k for k in vars(binary).values() if isinstance(k, numba.core.registry.CPUDispatcher)]
print(json.dumps({"power": result.power.value,
                  "hits": sum(sum(k.stats.cache_hits.values()) for k in kernels),
                  "misses": sum(sum(k.stats.cache_misses.values()) for k in kernels)}))
"""


def _run_without_a_cache_location(config, temporary):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator", TMPDIR=str(temporary))
    done = subprocess.run([sys.executable, "-c", _RUN, str(config)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kernels_are_cached_in_a_private_temporary_folder_when_numba_has_nowhere_else(small_config, tmp_path):
    # The switch this test relies on (Numba 0.61 and later): without it the test would pass vacuously.
    assert hasattr(numba.config, "CACHE_LOCATOR_CLASSES")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    first = _run_without_a_cache_location(small_config, temporary)
    folder = temporary / f"p3sim-numba-cache-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert list(folder.rglob("*.nbi")), "nothing was cached"
    assert first["misses"] > 0 and first["hits"] == 0
    second = _run_without_a_cache_location(small_config, temporary)
    assert second["hits"] > 0 and second["misses"] == 0  # loaded, not compiled again
    assert second["power"] == first["power"]


@pytest.fixture
def temporary_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _jit.private_cache_folder.cache_clear()
    yield tmp_path
    _jit.private_cache_folder.cache_clear()


def test_the_private_folder_is_created_for_this_user_alone(temporary_directory):
    folder = _jit.private_cache_folder()
    assert folder == str(temporary_directory / f"p3sim-numba-cache-{os.getuid()}")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


@pytest.mark.parametrize("made", ["writable by others", "a link", "a file"])
def test_a_folder_someone_else_could_have_written_is_not_trusted(temporary_directory, made):
    # Numba would load machine code from it: a planted folder must not be used (the kernels then run uncached).
    path = temporary_directory / f"p3sim-numba-cache-{os.getuid()}"
    if made == "writable by others":
        path.mkdir()
        path.chmod(0o777)
    elif made == "a link":
        target = temporary_directory / "elsewhere"
        target.mkdir(mode=0o700)
        path.symlink_to(target)
    else:
        path.write_text("", encoding="utf-8")
    assert _jit.private_cache_folder() is None


def test_a_kernel_with_no_cache_location_at_all_still_compiles(temporary_directory):
    # No source file: no locator can serve it, not even the private folder's; it is compiled without a cache.
    namespace: dict = {}
    exec(compile("def twice(x):\n    return 2 * x\n", "<no file>", "exec"), namespace)
    assert _jit.kernel(namespace["twice"])(21) == 42
