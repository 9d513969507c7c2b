"""CUDA fused warps against the CPU fused warps, under the CUDA simulator.

Like ``tests/test_cuda.py``: the simulator is turned on if numba.cuda has not
been imported yet, inputs are tiny and the launch geometry is shrunk
(32-thread blocks, at most 2 blocks per grid axis, backward grids not
shrunk) so that every kernel spans several blocks, grid-stride loops wrap,
and the parameter gradients go through the per-block partial sums.
"""

import os
import sys

import numpy as np
import pytest

if "numba.cuda" not in sys.modules and "NUMBA_ENABLE_CUDASIM" not in os.environ:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    import numba.core.config

    numba.core.config.reload_config()

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
import numba.core.config  # noqa: E402

if not numba.core.config.ENABLE_CUDASIM and not cuda.is_available():
    pytest.skip("no GPU and numba.cuda was imported before the simulator could be enabled "
                "(set NUMBA_ENABLE_CUDASIM=1)", allow_module_level=True)

import warpkit  # noqa: E402
from warpkit import _config, _device, warp  # noqa: E402
from warpkit.kernels import cuda as kernels  # noqa: E402
from warpkit.kernels import cuda_fused, cuda_ops  # noqa: E402
from warpkit.tps import solve_spline  # noqa: E402

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
OUT_SIZE = (3, 5)


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    """Tiny blocks and grids: several blocks, and grid-stride loops that wrap."""
    monkeypatch.setattr(_config, "CUDA_BLOCK_SIZE", 32)
    monkeypatch.setattr(kernels, "MAX_GRID", (2, 2, 1))
    monkeypatch.setattr(cuda_fused, "PIXELS_PER_THREAD", 0)
    monkeypatch.setattr(cuda_ops, "MAX_REDUCTION_BLOCKS", 2)
    monkeypatch.setattr(cuda_ops, "SPLINE_MAX_BLOCKS", 3)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # the simulator's barriers hand over between threads
    yield
    sys.setswitchinterval(interval)


@pytest.fixture
def dispatch(monkeypatch):
    """Make warpkit's dispatch see the simulator's arrays as device arrays."""
    if not _device.is_device_array(cuda.device_array(1)):
        original = _device.is_device_array
        monkeypatch.setattr(_device, "is_device_array",
                            lambda value: bool(getattr(value, "__cuda_ndarray__", False))
                            or original(value))


def images(dtype, seed=0, shape=(2, 1, 3, 4)):
    rng = np.random.default_rng(seed)
    image = rng.standard_normal(shape).astype(dtype)
    grad_output = rng.standard_normal(shape[:2] + OUT_SIZE).astype(dtype)
    return rng, image, grad_output


def affine(rng, batch, dtype):
    return (np.eye(2, 3) + rng.normal(0, 0.3, (batch, 2, 3))).astype(dtype)


def homographies(rng, batch, dtype):
    hom = np.zeros((batch, 3, 3))
    hom[:, :2] = affine(rng, batch, np.float64)
    hom[:, 2] = [0.2, -0.3, 1.0]
    hom[0, 2] = [1.2, 0.0, 0.5]  # w <= 0 on part of the output: no source there
    return hom.astype(dtype)


def spline(rng, batch, shared=True):
    controls = warpkit.control_point_grid(4)
    if not shared:
        controls = controls[None] + rng.normal(0, 0.05, (batch, 4, 2))
    targets = (controls if shared else controls) + rng.normal(0, 0.15, (batch, 4, 2))
    return np.ascontiguousarray(solve_spline(controls, targets)), np.ascontiguousarray(controls)


def on_device(*arrays):
    return [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]


def close(got, expected, dtype):
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.copy_to_host(), expected, **tol)


def check_warp(kind, params, image, grad_output, options, dtype, paths=(True, False)):
    """Values and gradients of the CUDA fused warp ``kind`` equal the CPU's."""
    forward = getattr(warp, f"warp_{kind}")
    vjp = getattr(warp, f"warp_{kind}_vjp")
    d_image, d_grad = on_device(image, grad_output)
    d_params = on_device(*params)
    close(getattr(cuda_ops, f"warp_{kind}")(d_image, *d_params, OUT_SIZE, **options),
          forward(image, *params, OUT_SIZE, **options), dtype)
    expected = vjp(image, *params, grad_output, OUT_SIZE, **options)
    for deterministic in paths:
        got = getattr(cuda_ops, f"warp_{kind}_vjp")(d_image, *d_params, d_grad, OUT_SIZE,
                                                    deterministic=deterministic, **options)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.shape == b.shape and a.dtype == b.dtype
            close(a, b, dtype)


# ----------------------------------------------------------------- CPU parity


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
def test_affine_matches_cpu(mode, padding_mode, align_corners):
    rng, image, grad_output = images(np.float64)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    paths = (True, False) if not align_corners else (True,)  # atomic: half the cases
    check_warp("affine", (affine(rng, 2, np.float64),), image, grad_output, options,
               np.float64, paths)


@pytest.mark.parametrize("mode, padding_mode, align_corners", [
    ("bilinear", "zeros", False), ("bicubic", "reflection", True), ("nearest", "border", False)])
def test_perspective_matches_cpu(mode, padding_mode, align_corners):
    rng, image, grad_output = images(np.float64, seed=1)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_warp("perspective", (homographies(rng, 2, np.float64),), image, grad_output,
               options, np.float64)


@pytest.mark.parametrize("mode, padding_mode, align_corners, shared", [
    ("bilinear", "border", False, True), ("bicubic", "zeros", True, False)])
def test_spline_matches_cpu(mode, padding_mode, align_corners, shared):
    rng, image, grad_output = images(np.float64, seed=2)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_warp("spline", spline(rng, 2, shared), image, grad_output, options, np.float64,
               paths=(True,))


def test_float32_matches_cpu():
    rng, image, grad_output = images(np.float32, seed=3)
    options = dict(mode="bilinear", padding_mode="reflection", align_corners=False)
    check_warp("affine", (affine(rng, 2, np.float32),), image, grad_output, options,
               np.float32, paths=(True,))
    check_warp("perspective", (homographies(rng, 2, np.float32),), image, grad_output,
               options, np.float32, paths=(False,))


# ---------------------------------------------------------------- determinism


def test_gradients_are_bit_identical_across_runs():
    rng, image, grad_output = images(np.float32, seed=4, shape=(2, 2, 2, 3))
    d_image, d_grad = on_device(image, grad_output)
    coef, controls = spline(rng, 2)
    for kind, params in [("affine", (affine(rng, 2, np.float32),)),
                         ("spline", (coef, controls))]:
        d_params = on_device(*params)
        runs = [[g.copy_to_host() for g in getattr(cuda_ops, f"warp_{kind}_vjp")(
            d_image, *d_params, d_grad, OUT_SIZE, mode="bicubic", padding_mode="border")]
            for _ in range(2)]
        for first, second in zip(*runs):
            assert first.tobytes() == second.tobytes()


def test_backward_launch_spans_blocks():
    blocks, threads = cuda_fused.backward_launch(3, 3, 5)
    assert threads == (32, 1) and blocks == (1, 2, 1)
    blocks, threads = cuda_fused.backward_launch(2, 40, 40, max_blocks=3)
    assert blocks[0] * blocks[1] * blocks[2] <= 3


def test_backward_launch_shrinks_to_pixels_per_thread(monkeypatch):
    monkeypatch.setattr(_config, "CUDA_BLOCK_SIZE", 256)
    monkeypatch.setattr(kernels, "MAX_GRID", (1024, 4096, 65535))
    monkeypatch.setattr(cuda_fused, "PIXELS_PER_THREAD", 16)
    blocks, threads = cuda_fused.backward_launch(256, 224, 224)
    assert threads == (32, 8) and blocks == (7, 2, 256)


# ------------------------------------------------------------------ dispatch


def test_public_functions_run_on_device_arrays(dispatch):
    rng, image, grad_output = images(np.float64, seed=5)
    theta = affine(rng, 2, np.float64)
    d_image, d_theta, d_grad = on_device(image, theta, grad_output)
    out = warpkit.warp_affine(d_image, d_theta, OUT_SIZE)
    close(out, warpkit.warp_affine(image, theta, OUT_SIZE), np.float64)
    grads = warp.warp_affine_vjp(d_image, d_theta, d_grad, OUT_SIZE)
    for got, expected in zip(grads, warp.warp_affine_vjp(image, theta, grad_output,
                                                         OUT_SIZE)):
        close(got, expected, np.float64)
    controls = warpkit.control_point_grid(4)
    targets = controls[None] + rng.normal(0, 0.1, (2, 4, 2))
    d_controls, d_targets = on_device(controls, targets)
    close(warpkit.warp_tps(d_image, d_controls, d_targets, OUT_SIZE),
          warpkit.warp_tps(image, controls, targets, OUT_SIZE), np.float64)
    with pytest.raises(TypeError, match="cannot mix GPU and CPU arrays"):
        warpkit.warp_affine(d_image, theta)
    with pytest.raises(TypeError, match="cannot mix GPU and CPU arrays"):
        warpkit.warp_perspective(image, on_device(homographies(rng, 2, np.float64))[0])


def test_cuda_ops_checks_its_arguments():
    rng, image, grad_output = images(np.float64, seed=6)
    d_image, d_grad = on_device(image, grad_output)
    with pytest.raises(ValueError, match=r"theta must have shape \(N, 2, 3\)"):
        cuda_ops.warp_affine(d_image, on_device(np.zeros((2, 3, 3)))[0])
    with pytest.raises(ValueError, match="batch size"):
        cuda_ops.warp_affine(d_image, on_device(np.zeros((3, 2, 3)))[0])
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        cuda_ops.warp_affine_vjp(d_image, on_device(affine(rng, 2, np.float64))[0], d_grad)
    with pytest.raises(ValueError, match="mode"):
        cuda_ops.warp_affine(d_image, on_device(affine(rng, 2, np.float64))[0], mode="area")


def test_empty_output_gives_zero_gradients():
    rng, image, _ = images(np.float64, seed=7)
    d_image, d_theta = on_device(image, affine(rng, 2, np.float64))
    grad_input, grad_theta = cuda_ops.warp_affine_vjp(
        d_image, d_theta, cuda.to_device(np.zeros((2, 1, 0, 5))), (0, 5))
    assert not grad_input.copy_to_host().any() and not grad_theta.copy_to_host().any()
    assert grad_theta.shape == (2, 2, 3)
