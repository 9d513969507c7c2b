"""CUDA volume kernels (5-D grid_sample, displacement fields, fused 3-D warps)
against the CPU path, under the CUDA simulator.

Like ``tests/test_cuda.py``: the simulator is on (root ``conftest.py``), the
inputs are tiny and the launch geometry is shrunk (32-thread blocks, at most 2
blocks per grid axis, backward grids not shrunk) so that every kernel spans
several blocks and launches, grid-stride loops wrap, and the fused parameter
gradients go through several per-block partial sums.  Each case covers both
input-gradient scatters (fixed point and float atomics).
"""

import numpy as np
import pytest

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
pytestmark = [pytest.mark.usefixtures("cuda_available", "small_launches", "one_pixel_blocks")]

import warpkit  # noqa: E402
from warpkit import fused  # noqa: E402
from warpkit._device import is_device_array  # noqa: E402
from warpkit.backends import cuda as backend  # noqa: E402
from warpkit.coords import normalized_base_coordinates  # noqa: E402
from warpkit.displacement import warp_displacement, warp_displacement_vjp  # noqa: E402
from warpkit.kernels import cuda_fused  # noqa: E402
from warpkit.kernels._fused_math import NO_SOURCE  # noqa: E402

SHAPE = (2, 2, 3, 4, 5)  # (N, C, D, H, W)
OUT = (2, 3, 4)  # (D_out, H_out, W_out)


@pytest.fixture
def one_pixel_blocks(monkeypatch):
    """Backward grids not shrunk to several voxels per thread: more blocks."""
    monkeypatch.setattr(cuda_fused, "PIXELS_PER_THREAD", 0)


def on_device(*arrays):
    return [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]


def close(got, expected, dtype):
    """``got`` (a device array) equals ``expected``, to a tolerance scaled by its magnitude."""
    assert is_device_array(got) and got.dtype == expected.dtype == dtype
    got = got.copy_to_host()
    assert got.shape == expected.shape
    tol = 2e-5 if dtype == np.float32 else 1e-12
    scale = max(1.0, float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * scale)


def volumes(dtype, seed, field=None, spread=1.3):
    """A volume batch, a point field (uniform in ``[-spread, spread]``) and an output gradient."""
    rng = np.random.default_rng(seed)
    n, c = SHAPE[:2]
    volume = rng.standard_normal(SHAPE).astype(dtype)
    points = rng.uniform(-spread, spread, (n,) + OUT + (3,)).astype(field or dtype)
    grad_output = rng.standard_normal((n, c) + OUT).astype(dtype)
    return rng, volume, points, grad_output


def both_scatters(vjp):
    """``vjp()`` with the fixed-point scatter, checked against the atomic one;
    the fixed-point result."""
    with backend.scatter(deterministic=True):
        result = vjp()
    with backend.scatter(deterministic=False):
        atomic = _flat(vjp())
    for a, b in zip(_flat(result), atomic):
        if a is not None:
            a, b = a.copy_to_host(), b.copy_to_host()
            np.testing.assert_allclose(a, b, rtol=0,
                                       atol=1e-5 * max(1.0, np.abs(a).max(initial=0.0)))
    return result


def _flat(grads):
    flat = []
    for g in grads:
        flat.extend(g if isinstance(g, (list, tuple)) else [g])
    return flat


# ------------------------------------------------------------- grid_sample


@pytest.mark.parametrize("mode, padding_mode, align_corners, dtype", [
    ("bilinear", "zeros", False, np.float64),
    ("nearest", "border", True, np.float64),
    ("bicubic", "reflection", False, np.float64),
    ("bilinear", "reflection", True, np.float32),
    ("bicubic", "zeros", True, np.float32),
])
def test_grid_sample_5d_matches_cpu(mode, padding_mode, align_corners, dtype):
    _, volume, grid, grad_output = volumes(dtype, seed=0)
    grid[0, 0, 0, 0] = [np.nan, np.inf, -np.inf]  # the non-finite rules, as on the CPU
    grid[1, 1, 2, 3] = [1e20, 0.5, -1e20]
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    d_volume, d_grid, d_grad = on_device(volume, grid, grad_output)
    close(warpkit.grid_sample(d_volume, d_grid, **options),
          warpkit.grid_sample(volume, grid, **options), dtype)
    expected = warpkit.grid_sample_vjp(volume, grid, grad_output, **options)
    got = both_scatters(lambda: warpkit.grid_sample_vjp(d_volume, d_grid, d_grad, **options))
    for a, b in zip(got, expected):
        close(a, b, dtype)


def test_grid_sample_5d_wrt_subsets_and_grid_dtype():
    _, volume, grid, grad_output = volumes(np.float64, seed=1, field=np.float32)
    d_volume, d_grid, d_grad = on_device(volume, grid, grad_output)
    expected_input, expected_grid = warpkit.grid_sample_vjp(volume, grid, grad_output)
    grad_input, grad_grid = warpkit.grid_sample_vjp(d_volume, d_grid, d_grad, wrt=("grid",))
    assert grad_input is None
    close(grad_grid, expected_grid, np.float32)
    grad_input, grad_grid = warpkit.grid_sample_vjp(d_volume, d_grid, d_grad, wrt=("input",))
    assert grad_grid is None
    close(grad_input, expected_input, np.float64)


# ---------------------------------------------------------- displacements


@pytest.mark.parametrize("dims, units, mode, padding_mode, align_corners, dtype", [
    (2, "pixels", "bilinear", "zeros", False, np.float64),
    (2, "normalized", "bicubic", "border", True, np.float64),
    (2, "pixels", "nearest", "reflection", True, np.float32),
    (3, "pixels", "bilinear", "border", False, np.float64),
    (3, "normalized", "nearest", "zeros", True, np.float64),
    (3, "pixels", "bicubic", "reflection", True, np.float32),
])
def test_displacement_matches_cpu(dims, units, mode, padding_mode, align_corners, dtype):
    _, volume, flow, grad_output = volumes(dtype, seed=2, spread=2.0)
    if units == "normalized":
        flow *= 0.4
    if dims == 2:  # images: the first slice of everything
        volume, flow, grad_output = volume[:, :, 0], flow[:, 0, :, :, :2], grad_output[:, :, 0]
    options = dict(units=units, mode=mode, padding_mode=padding_mode,
                   align_corners=align_corners)
    d_volume, d_flow, d_grad = on_device(volume, flow, grad_output)
    close(warp_displacement(d_volume, d_flow, **options),
          warp_displacement(volume, flow, **options), dtype)
    expected = warp_displacement_vjp(volume, flow, grad_output, **options)
    got = both_scatters(lambda: warp_displacement_vjp(d_volume, d_flow, d_grad, **options))
    for a, b in zip(got, expected):
        close(a, b, dtype)
    for wrt in (("input",), ("flow",)):
        got = warp_displacement_vjp(d_volume, d_flow, d_grad, wrt=wrt, **options)
        for name, a, b in zip(("input", "flow"), got, expected):
            if name in wrt:
                close(a, b, dtype)
            else:
                assert a is None


def test_displacement_is_grid_sample_of_the_moved_grid():
    """Independent of the CPU displacement code: a normalized flow added to the
    identity grid samples like ``grid_sample``, and its gradient is the grid's."""
    _, volume, flow, grad_output = volumes(np.float64, seed=3, spread=0.5)
    zs, ys, xs = (normalized_base_coordinates(size, False, np.float64) for size in OUT)
    identity = np.stack(np.meshgrid(xs, ys, zs, indexing="xy"), -1).transpose(2, 0, 1, 3)
    grid = identity[None] + flow
    d_volume, d_flow, d_grad = on_device(volume, flow, grad_output)
    options = dict(mode="bicubic", padding_mode="border")
    close(warp_displacement(d_volume, d_flow, units="normalized", **options),
          warpkit.grid_sample(volume, grid, **options), np.float64)
    got = warp_displacement_vjp(d_volume, d_flow, d_grad, units="normalized", **options)
    for a, b in zip(got, warpkit.grid_sample_vjp(volume, grid, grad_output, **options)):
        close(a, b, np.float64)


# ------------------------------------------------------------ fused warps


def base_points(align_corners):
    """``(x, y, z, 1)`` of every output voxel, (D_out, H_out, W_out, 4)."""
    zs, ys, xs = (normalized_base_coordinates(size, align_corners, np.float64) for size in OUT)
    z, y, x = np.meshgrid(zs, ys, xs, indexing="ij")
    return np.stack([x, y, z, np.ones_like(x)], -1)


def reference_affine(volume, theta, grad_output, options):
    """warp and (input, theta) gradients through the CPU grid_sample of the
    affine grid, the chain rule written out."""
    points = base_points(options["align_corners"])
    grid = np.einsum("nij,dhwj->ndhwi", theta, points)
    out = warpkit.grid_sample(volume, grid.astype(volume.dtype), **options)
    grad_input, grad_grid = warpkit.grid_sample_vjp(volume, grid, grad_output, **options)
    return out, grad_input, np.einsum("ndhwi,dhwj->nij", grad_grid, points)


def reference_perspective(volume, hom, grad_output, options):
    points = base_points(options["align_corners"])
    uvsw = np.einsum("nij,dhwj->ndhwi", hom, points)
    w = uvsw[..., 3:]
    valid = w > 0
    w = np.where(valid, w, 1.0)
    grid = np.where(valid, uvsw[..., :3] / w, NO_SOURCE)
    out = warpkit.grid_sample(volume, grid.astype(volume.dtype), **options)
    grad_input, grad_grid = warpkit.grid_sample_vjp(volume, grid, grad_output, **options)
    grad_grid = np.where(valid, grad_grid, 0.0)
    grad_w = np.where(valid, -(grad_grid * grid).sum(-1, keepdims=True), 0.0)
    grad_uvsw = np.concatenate([grad_grid, grad_w], -1) / w
    return out, grad_input, np.einsum("ndhwi,dhwj->nij", grad_uvsw, points), valid


def affine_3d(rng, dtype):
    return (np.eye(3, 4) + rng.normal(0, 0.25, (SHAPE[0], 3, 4))).astype(dtype)


def homographies_3d(rng, dtype):
    hom = np.eye(4) + rng.normal(0, 0.1, (SHAPE[0], 4, 4))
    hom[0, 3] = [1.5, 0.3, 0.0, 0.2]  # w <= 0 on part of the output: no source there
    return hom.astype(dtype)


@pytest.mark.parametrize("family, mode, padding_mode, align_corners, dtype", [
    ("affine", "bilinear", "zeros", False, np.float64),
    ("affine", "bicubic", "border", True, np.float64),
    ("affine", "nearest", "reflection", False, np.float32),
    ("perspective", "bilinear", "reflection", True, np.float64),
    ("perspective", "bicubic", "zeros", False, np.float32),
])
def test_fused_3d_matches_reference(family, mode, padding_mode, align_corners, dtype):
    rng, volume, _, grad_output = volumes(dtype, seed=4)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    if family == "affine":
        params = affine_3d(rng, dtype)
        out, grad_input, grad_params = reference_affine(volume, params.astype(np.float64),
                                                        grad_output, options)
    else:
        params = homographies_3d(rng, dtype)
        out, grad_input, grad_params, valid = reference_perspective(
            volume, params.astype(np.float64), grad_output, options)
        assert 0 < valid.sum() < valid.size
    d_volume, d_params, d_grad = on_device(volume, params, grad_output)
    warp = getattr(warpkit, f"warp_{family}")
    vjp = getattr(fused, f"warp_{family}_vjp")
    close(warp(d_volume, d_params, OUT, **options), out, dtype)
    got_input, got_params = both_scatters(lambda: vjp(d_volume, d_params, d_grad, OUT,
                                                      **options))
    close(got_input, grad_input, dtype)
    close(got_params, grad_params.astype(dtype), dtype)
    # and the CPU path of the same public functions
    close(warp(d_volume, d_params, OUT, **options), warp(volume, params, OUT, **options), dtype)
    for got, expected in zip((got_input, got_params), vjp(volume, params, grad_output, OUT,
                                                          **options)):
        close(got, expected, dtype)
    name = "theta" if family == "affine" else "homography"
    no_input, only_params = vjp(d_volume, d_params, d_grad, OUT, wrt=(name,), **options)
    assert no_input is None
    close(only_params, grad_params.astype(dtype), dtype)


def test_fused_3d_gradient_adjoint_identity():
    """<warp'(theta) dtheta, g> = <dtheta, vjp(g)>: the theta gradient, checked by
    central differences of the device forward (float64, trilinear)."""
    rng, volume, _, grad_output = volumes(np.float64, seed=5)
    theta = affine_3d(rng, np.float64)
    direction = rng.standard_normal(theta.shape)
    d_volume, d_grad = on_device(volume, grad_output)
    _, grad_theta = fused.warp_affine_vjp(d_volume, *on_device(theta), d_grad, OUT,
                                          padding_mode="border")
    eps = 1e-6

    def loss(t):
        out = warpkit.warp_affine(d_volume, *on_device(t), OUT, padding_mode="border")
        return float((out.copy_to_host() * grad_output).sum())

    numeric = (loss(theta + eps * direction) - loss(theta - eps * direction)) / (2 * eps)
    assert np.isclose(numeric, (grad_theta.copy_to_host() * direction).sum(), rtol=1e-5,
                      atol=1e-7)


# ------------------------------------------------------- determinism, arrays


def test_deterministic_gradients_are_bit_identical_on_repeat():
    rng, volume, grid, grad_output = volumes(np.float32, seed=6)
    theta = affine_3d(rng, np.float32)
    d_volume, d_grid, d_theta, d_grad = on_device(volume, grid, theta, grad_output)
    calls = [
        lambda: warpkit.grid_sample_vjp(d_volume, d_grid, d_grad, mode="bicubic"),
        lambda: warp_displacement_vjp(d_volume, d_grid, d_grad, padding_mode="reflection"),
        lambda: fused.warp_affine_vjp(d_volume, d_theta, d_grad, OUT, mode="bicubic"),
    ]
    with backend.scatter(deterministic=True):
        for call in calls:
            first, second = ([g.copy_to_host().tobytes() for g in call()] for _ in range(2))
            assert first == second


def test_mixed_host_and_device_arrays_are_refused():
    rng, volume, grid, grad_output = volumes(np.float64, seed=7)
    d_volume, d_grid = on_device(volume, grid)
    theta = affine_3d(rng, np.float64)
    for call in (lambda: warpkit.grid_sample(d_volume, grid),
                 lambda: warpkit.grid_sample_vjp(d_volume, d_grid, grad_output),
                 lambda: warp_displacement(volume, d_grid),
                 lambda: warp_displacement_vjp(d_volume, d_grid, grad_output),
                 lambda: warpkit.warp_affine(d_volume, theta, OUT)):
        with pytest.raises(TypeError, match="cannot mix GPU and CPU arrays"):
            call()


def test_device_shapes_are_checked():
    _, volume, grid, _ = volumes(np.float64, seed=8)
    d_volume, d_grid = on_device(volume, grid)
    with pytest.raises(ValueError, match="theta must have shape"):
        warpkit.warp_affine(d_volume, *on_device(np.zeros((2, 2, 3))))
    with pytest.raises(ValueError, match="flow"):
        warp_displacement(d_volume, *on_device(grid[..., :2]))


def test_empty_outputs_give_zero_gradients():
    _, volume, _, _ = volumes(np.float64, seed=9)
    grid = np.zeros((2, 0, 3, 4, 3))
    d_volume, d_grid, d_grad = on_device(volume, grid, np.zeros((2, 2, 0, 3, 4)))
    assert warpkit.grid_sample(d_volume, d_grid).shape == (2, 2, 0, 3, 4)
    for vjp in (warpkit.grid_sample_vjp, warp_displacement_vjp):
        grad_input, grad_field = vjp(d_volume, d_grid, d_grad)
        assert not grad_input.copy_to_host().any() and grad_field.shape == grid.shape


def test_strided_device_arrays():
    """Views that are not contiguous (every other column, a reversed batch) are read in place."""
    _, volume, grid, grad_output = volumes(np.float64, seed=10)
    wide = np.repeat(volume, 2, axis=-1)
    d_wide, d_grid, d_grad = on_device(wide, grid[::-1], grad_output[::-1])
    d_volume = d_wide[:, :, :, :, ::2]
    close(warpkit.grid_sample(d_volume, d_grid[::-1]), warpkit.grid_sample(volume, grid),
          np.float64)
    got = warpkit.grid_sample_vjp(d_volume, d_grid[::-1], d_grad[::-1])
    for a, b in zip(got, warpkit.grid_sample_vjp(volume, grid, grad_output)):
        close(a, b, np.float64)
