"""CUDA fused warps against the CPU fused warps, under the CUDA simulator.

Like ``tests/test_cuda.py``: the simulator is on (``tests/conftest.py``),
inputs are tiny and the launch geometry is shrunk
(32-thread blocks, at most 2 blocks per grid axis, backward grids not
shrunk) so that every kernel spans several blocks, grid-stride loops wrap,
and the parameter gradients go through the per-block partial sums.
"""

import numpy as np
import pytest

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
pytestmark = [pytest.mark.usefixtures("cuda_available", "small_launches", "one_pixel_blocks")]

import warpkit  # noqa: E402
from warpkit import _config, fused  # noqa: E402
from warpkit._validate import MODES, PADDING_MODES  # noqa: E402
from warpkit.backends import cuda as backend  # noqa: E402
from warpkit.kernels import cuda as kernels  # noqa: E402
from warpkit.kernels import cuda_fused  # noqa: E402
from warpkit.tps import solve_tps  # noqa: E402

PADDINGS = tuple(PADDING_MODES)
OUT_SIZE = (3, 5)


@pytest.fixture
def one_pixel_blocks(monkeypatch):
    """Backward grids not shrunk to several pixels per thread: more blocks."""
    monkeypatch.setattr(cuda_fused, "PIXELS_PER_THREAD", 0)


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
    targets = controls + rng.normal(0, 0.15, (batch, 4, 2))
    return np.ascontiguousarray(solve_tps(controls, targets)), np.ascontiguousarray(controls)


def on_device(*arrays):
    return [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]


def close(got, expected, dtype):
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.copy_to_host(), expected, **tol)


def check_warp(kind, params, image, grad_output, options, dtype, paths=(True, False)):
    """Values and gradients of the CUDA fused warp ``kind`` equal the CPU's."""
    forward = getattr(fused, f"warp_{kind}")
    vjp = getattr(fused, f"warp_{kind}_vjp")
    d_image, d_grad = on_device(image, grad_output)
    d_params = on_device(*params)
    close(forward(d_image, *d_params, OUT_SIZE, **options),
          forward(image, *params, OUT_SIZE, **options), dtype)
    expected = vjp(image, *params, grad_output, OUT_SIZE, **options)
    for deterministic in paths:
        with backend.scatter(deterministic):
            got = vjp(d_image, *d_params, d_grad, OUT_SIZE, **options)
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
def test_tps_matches_cpu(mode, padding_mode, align_corners, shared):
    rng, image, grad_output = images(np.float64, seed=2)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_warp("tps_coefficients", spline(rng, 2, shared), image, grad_output, options, np.float64,
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
                         ("tps_coefficients", (coef, controls))]:
        d_params = on_device(*params)
        runs = [[g.copy_to_host() for g in getattr(fused, f"warp_{kind}_vjp")(
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


def test_public_functions_run_on_device_arrays():
    rng, image, grad_output = images(np.float64, seed=5)
    theta = affine(rng, 2, np.float64)
    d_image, d_theta, d_grad = on_device(image, theta, grad_output)
    out = warpkit.warp_affine(d_image, d_theta, OUT_SIZE)
    close(out, warpkit.warp_affine(image, theta, OUT_SIZE), np.float64)
    grads = fused.warp_affine_vjp(d_image, d_theta, d_grad, OUT_SIZE)
    for got, expected in zip(grads, fused.warp_affine_vjp(image, theta, grad_output,
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


def test_device_parameters_are_checked():
    rng, image, grad_output = images(np.float64, seed=6)
    d_image, d_grad = on_device(image, grad_output)
    with pytest.raises(ValueError, match=r"theta must have shape \(N, 2, 3\)"):
        warpkit.warp_affine(d_image, on_device(np.zeros((2, 3, 3)))[0])
    with pytest.raises(ValueError, match="batch size"):
        warpkit.warp_affine(d_image, on_device(np.zeros((3, 2, 3)))[0])
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        warpkit.warp_affine_vjp(d_image, on_device(affine(rng, 2, np.float64))[0], d_grad)
    with pytest.raises(ValueError, match="mode"):
        warpkit.warp_affine(d_image, on_device(affine(rng, 2, np.float64))[0], mode="area")


def test_empty_output_gives_zero_gradients():
    rng, image, _ = images(np.float64, seed=7)
    d_image, d_theta = on_device(image, affine(rng, 2, np.float64))
    grad_input, grad_theta = warpkit.warp_affine_vjp(
        d_image, d_theta, cuda.to_device(np.zeros((2, 1, 0, 5))), (0, 5))
    assert not grad_input.copy_to_host().any() and not grad_theta.copy_to_host().any()
    assert grad_theta.shape == (2, 2, 3)


def test_tps_vjp_and_transform_objects_on_device_arrays():
    rng, image, grad_output = images(np.float64, seed=8)
    controls = warpkit.control_point_grid(4)
    targets = controls[None] + rng.normal(0, 0.1, (2, 4, 2))
    expected = warpkit.warp_tps_vjp(image, controls, targets, grad_output, OUT_SIZE)
    got = warpkit.warp_tps_vjp(*on_device(image, controls, targets, grad_output), OUT_SIZE)
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        close(a, b, np.float64)
    shift = warpkit.AffineTransform(translation=(0.5, -0.25))
    close(warpkit.warp(on_device(image)[0], shift, OUT_SIZE), warpkit.warp(image, shift, OUT_SIZE),
          np.float64)
