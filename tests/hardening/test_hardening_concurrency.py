"""Samplers and fused warps from many Python threads and from process pools.

warpkit's CPU kernels are serial ``nogil`` Numba functions (no Numba
``parallel=True`` regions, so no Numba threading layer is involved); the
wrappers split rows over their own ``ThreadPoolExecutor``
(:mod:`warpkit.backends.threads`), which is created anew in a forked child.  These
tests check that concurrent calls give bit-identical results to serial ones.
"""

import multiprocessing
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import warpkit
from warpkit._config import SERIAL_WORK_LIMIT
from warpkit.fused import warp_affine_vjp

# Big enough (> SERIAL_WORK_LIMIT output elements) that every call uses the pool.
SHAPE = (2, 3, 160, 160)
assert np.prod(SHAPE) > SERIAL_WORK_LIMIT


def _case(seed):
    rng = np.random.default_rng(seed)
    image = rng.random(SHAPE)
    theta = np.eye(2, 3)[None] + rng.uniform(-0.2, 0.2, (2, 2, 3))
    grid = warpkit.affine_grid(theta, SHAPE)
    controls = warpkit.control_point_grid(9)
    targets = controls[None] + rng.uniform(-0.1, 0.1, (2, 9, 2))
    return image, theta, grid, controls, targets


def work(seed):
    """Every kernel family once; returns a tuple of arrays."""
    image, theta, grid, controls, targets = _case(seed)
    out = warpkit.grid_sample(image, grid, mode="bicubic", padding_mode="reflection")
    grad_input, grad_grid = warpkit.grid_sample_vjp(image, grid, out)
    fused = warpkit.warp_affine(image, theta, mode="bilinear")
    fused_grads = warp_affine_vjp(image, theta, fused)
    spline = warpkit.warp_tps(image.astype(np.float32), controls, targets)
    return (out, grad_input, grad_grid, fused) + tuple(fused_grads) + (spline,)


SEEDS = list(range(6))


@pytest.fixture(scope="module")
def serial():
    return [work(seed) for seed in SEEDS]


def _assert_same(results, expected):
    for got, want in zip(results, expected, strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)


def test_threads_give_the_serial_results(serial):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, SEEDS * 2))
    _assert_same(results, serial * 2)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pools_give_the_serial_results(serial, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    context = multiprocessing.get_context(method)
    with warnings.catch_warnings():
        # Python >= 3.12 warns that fork() in a multi-threaded process may deadlock;
        # warpkit's pool is rebuilt in the child, which is what this test checks.
        warnings.simplefilter("ignore", DeprecationWarning)
        with context.Pool(2) as pool:
            # a worker that dies (a crash, a failed import) would make map() wait for ever
            results = pool.map_async(work, SEEDS[:2]).get(timeout=600)
    _assert_same(results, serial[:2])
