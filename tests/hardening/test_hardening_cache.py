"""The on-disk JIT cache: read-only installs, concurrent compiles, invalidation.

Each test runs warpkit in fresh Python processes with a private cache, so
kernels compile cold (a few seconds each): the tests are few and small.
"""

import functools
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import numpy as np
import pytest

import warpkit

PACKAGE = os.path.dirname(os.path.abspath(warpkit.__file__))

# Imports warpkit (from PYTHONPATH when set), samples once in bicubic mode
# (it reads the cubic constant), prints where warpkit came from and the result.
CHILD = """
import time
start = time.perf_counter()
import numpy as np
import warpkit
imported = time.perf_counter()
image = np.arange(48.0).reshape(1, 1, 6, 8) ** 1.5
grid = np.random.default_rng(0).uniform(-1, 1, (1, 3, 4, 2))
out = warpkit.grid_sample(image, grid, mode="bicubic")
done = time.perf_counter()
print("FILE", warpkit.__file__)
print("TIMES", imported - start, done - imported)
print("RESULT", " ".join(repr(float(v)) for v in out.ravel()))
"""


def _parse(completed):
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in completed.stdout.splitlines()
                 if line.split(" ", 1)[0] in ("FILE", "TIMES", "RESULT"))
    times = [float(v) for v in lines["TIMES"].split()]
    return lines["FILE"], times, np.array([float(v) for v in lines["RESULT"].split()])


def _expected():
    image = np.arange(48.0).reshape(1, 1, 6, 8) ** 1.5
    grid = np.random.default_rng(0).uniform(-1, 1, (1, 3, 4, 2))
    return warpkit.grid_sample(image, grid, mode="bicubic").ravel()


def _env(**values):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(values)
    return env


def _spawn(env):
    return subprocess.Popen([sys.executable, "-X", "faulthandler", "-c", CHILD], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tempfile.gettempdir())


def _finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _copy_package(root):
    target = os.path.join(root, "site", "warpkit")
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def _files_under(path):
    return [os.path.join(d, f) for d, _, files in os.walk(path) for f in files]


@pytest.fixture
def shared_tmp():
    """A temporary directory other users can enter (pytest's tmp_path is private)."""
    path = tempfile.mkdtemp(prefix="warpkit-cache-test-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_read_only_package_falls_back_to_the_user_cache(shared_tmp):
    package = _copy_package(shared_tmp)
    home = os.path.join(shared_tmp, "home")
    xdg = os.path.join(home, ".cache-xdg")
    os.makedirs(xdg)
    if os.geteuid() == 0:
        # root writes through any permission bit: block the in-tree cache directories
        # with plain files, so creating them fails as on a read-only file system.
        for d, _, _ in os.walk(package):
            with open(os.path.join(d, "__pycache__"), "w"):
                pass
    for path in [package] + [d for d, _, _ in os.walk(package)]:
        os.chmod(path, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP
                 | stat.S_IROTH | stat.S_IXOTH)
    env = _env(PYTHONPATH=os.path.dirname(package), HOME=home, XDG_CACHE_HOME=xdg)
    runs = []
    for _ in range(2):  # cold, then warm from the user-wide cache
        runs.append(_parse(_finish(_spawn(env))))
    for file, _, result in runs:
        assert file.startswith(package)
        np.testing.assert_array_equal(result, _expected())
    # Whatever the uid (root's blocking files above, or the permission bits),
    # nothing was cached inside the package, and the kernels were cached in
    # the user-wide directory instead.
    in_package = [f for f in _files_under(package) if f.endswith((".nbi", ".nbc"))]
    assert not in_package, f"kernels cached inside the read-only package: {in_package}"
    cached = [f for f in _files_under(xdg) if f.endswith((".nbi", ".nbc"))]
    assert cached, "the kernels were not cached in the user-wide cache directory"
    cold, warm = runs[0][1], runs[1][1]
    print(f"read-only package: import {cold[0]:.2f} s, first grid_sample cold {cold[1]:.2f} s, "
          f"warm {warm[1]:.2f} s")


@pytest.mark.slow  # three cold compiles at once: ~20 s on a quiet 2-core machine
def test_concurrent_cold_compiles_share_one_cache(tmp_path):
    env = _env(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    processes = [_spawn(env) for _ in range(3)]
    results = [_parse(_finish(p)) for p in processes]
    for _, _, result in results:
        np.testing.assert_array_equal(result, _expected())
    print("concurrent cold first calls:", [round(t[1], 2) for _, t, _ in results], "s")


def test_a_change_in_the_kernel_maths_invalidates_the_cache(tmp_path):
    package = _copy_package(str(tmp_path))
    env = _env(PYTHONPATH=os.path.dirname(package), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    _, cold, before = _parse(_finish(_spawn(env)))
    np.testing.assert_array_equal(before, _expected())
    cached = sorted(_files_under(str(tmp_path / "cache")))
    assert any(f.endswith(".nbc") for f in cached)
    math_py = os.path.join(package, "kernels", "_math.py")
    with open(math_py) as handle:
        source = handle.read()
    assert "CUBIC_A = -0.75\n" in source
    with open(math_py, "w") as handle:
        handle.write(source.replace("CUBIC_A = -0.75\n", "CUBIC_A = -0.5\n"))
    _, _, after = _parse(_finish(_spawn(env)))
    assert not np.allclose(after, before), "a stale kernel was loaded from the cache"
    # the new constant is what runs: the reference sampler with a = -0.5
    reference = _load_reference()
    reference.keys_cubic = functools.partial(reference.keys_cubic, a=-0.5)
    image = np.arange(48.0).reshape(1, 1, 6, 8) ** 1.5
    grid = np.random.default_rng(0).uniform(-1, 1, (1, 3, 4, 2))
    np.testing.assert_allclose(after, reference.reference_grid_sample(image, grid, "bicubic")
                               .ravel(), rtol=1e-12, atol=1e-9)
    print(f"import {cold[0]:.2f} s; first bicubic grid_sample, cold cache: {cold[1]:.2f} s")


def _load_reference():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "reference.py")
    spec = importlib.util.spec_from_file_location("warpkit_hardening_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
