"""grid_sample on volumes (5-D input, (N, D_out, H_out, W_out, 3) grid), and the 3-D CPU
kernels of every point source (grid, flow, affine, perspective)."""

import autograd
import autograd.numpy as anp
import numba
import numpy as np
import pytest
from reference_volume import reference_grid_sample_3d

from warpkit._args import SampleArgs, WarpArgs
from warpkit._config import SERIAL_WORK_LIMIT
from warpkit._validate import PADDING_MODES
from warpkit.backends import cpu_volume
from warpkit.kernels import cpu_volume as kernels
from warpkit.kernels._fused_math import NO_SOURCE
from warpkit.sampling import grid_sample, grid_sample_vjp

torch = pytest.importorskip("torch")
F = torch.nn.functional

OPTIONS = [(p, a) for p in PADDING_MODES for a in (False, True)]


def scaled_close(actual, expected, tol, what=""):
    """``|actual - expected| <= tol * max(1, max |expected|)``: a tolerance scaled to
    the magnitude compared, never relative to a value that can be zero."""
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * scale, err_msg=what)


def torch_sample(volume, grid, grad_output, mode, padding_mode, align_corners):
    volume_t = torch.tensor(volume, requires_grad=True)
    grid_t = torch.tensor(grid, requires_grad=True)
    out = F.grid_sample(volume_t, grid_t, mode=mode, padding_mode=padding_mode,
                        align_corners=align_corners)
    out.backward(torch.tensor(grad_output))
    return out.detach().numpy(), volume_t.grad.numpy(), grid_t.grad.numpy()


def check_torch(volume, grid, mode, padding_mode, align_corners, rng, what=""):
    dtype = volume.dtype
    tol = 1e-12 if dtype == np.float64 else 2e-5
    grad_output = rng.standard_normal(volume.shape[:2] + grid.shape[1:4]).astype(dtype)
    expected = torch_sample(volume, grid, grad_output, mode, padding_mode, align_corners)
    out = grid_sample(volume, grid, mode, padding_mode, align_corners)
    grad_input, grad_grid = grid_sample_vjp(volume, grid, grad_output, mode, padding_mode,
                                            align_corners)
    assert out.dtype == grad_input.dtype == grad_grid.dtype == dtype
    what = f"{what} {mode} {padding_mode} align={align_corners} {dtype}"
    scaled_close(out, expected[0], tol, "value " + what)
    scaled_close(grad_input, expected[1], tol, "d input " + what)
    scaled_close(grad_grid, expected[2], tol, "d grid " + what)


# ------------------------------------------------------------ torch parity


@pytest.mark.parametrize("dtype", (np.float64, np.float32))
@pytest.mark.parametrize("mode", ("bilinear", "nearest"))
def test_matches_torch(mode, dtype):
    rng = np.random.default_rng(1)
    volume = rng.standard_normal((2, 3, 4, 5, 6)).astype(dtype)
    grid = rng.uniform(-1.3, 1.3, (2, 3, 4, 5, 3)).astype(dtype)
    for padding_mode, align_corners in OPTIONS:
        check_torch(volume, grid, mode, padding_mode, align_corners, rng)


def test_matches_torch_random_sizes():
    """torch's test_grid_sample 3-D cases: random sizes, size-1 axes included."""
    rng = np.random.default_rng(2)
    for trial in range(6):
        n, c = rng.integers(1, 4, 2)
        size = tuple(int(s) for s in rng.integers(1, 6, 3))
        out = tuple(int(s) for s in rng.integers(1, 5, 3))
        if trial < 3:
            size = tuple(1 if axis == trial else s for axis, s in enumerate(size))
        volume = rng.standard_normal((n, c) + size)
        grid = rng.uniform(-1.5, 1.5, (n,) + out + (3,))
        for mode in ("bilinear", "nearest"):
            for padding_mode, align_corners in OPTIONS[trial % 2::2]:
                check_torch(volume, grid, mode, padding_mode, align_corners, rng,
                            f"{volume.shape} {grid.shape}")


def rotation(rng):
    """A random 3-D rotation matrix (QR of a Gaussian matrix, det +1)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def affine_grid_3d(theta, out_size, align_corners):
    """torch's 5-D affine_grid written in NumPy: theta (N, 3, 4), out_size (D, H, W)."""
    def base(size):
        if align_corners:
            return np.linspace(-1.0, 1.0, size) if size > 1 else np.zeros(1)
        return (2.0 * np.arange(size) + 1.0) / size - 1.0

    depth, height, width = out_size
    z, y, x = np.meshgrid(base(depth), base(height), base(width), indexing="ij")
    points = np.stack([x, y, z, np.ones_like(x)], axis=-1)
    return np.einsum("dhwk,nrk->ndhwr", points, theta)


def test_matches_torch_rotated_volumes():
    """torch's test_affine_3d_rotateRandom: rotated grids of a volume."""
    rng = np.random.default_rng(3)
    volume = rng.standard_normal((1, 2, 5, 4, 6))
    for align_corners in (False, True):
        theta = np.concatenate([rotation(rng), rng.uniform(-0.2, 0.2, (3, 1))], axis=1)[None]
        grid = affine_grid_3d(theta, (4, 5, 3), align_corners)
        expected_grid = F.affine_grid(torch.tensor(theta), (1, 2, 4, 5, 3),
                                      align_corners=align_corners).numpy()
        scaled_close(grid, expected_grid, 1e-12, "affine_grid_3d")
        for padding_mode in PADDING_MODES:
            check_torch(volume, grid, "bilinear", padding_mode, align_corners, rng)


# ---------------------------------------------------------------- tricubic


def test_tricubic_matches_reference():
    rng = np.random.default_rng(4)
    volume = rng.standard_normal((2, 2, 4, 5, 3))
    grid = rng.uniform(-1.4, 1.4, (2, 2, 3, 4, 3))
    for padding_mode, align_corners in OPTIONS:
        for mode in ("bicubic", "bilinear", "nearest"):
            expected = reference_grid_sample_3d(volume, grid, mode, padding_mode,
                                                align_corners)
            actual = grid_sample(volume, grid, mode, padding_mode, align_corners)
            scaled_close(actual, expected, 1e-12, f"{mode} {padding_mode} {align_corners}")


def test_tricubic_grid_gradient_matches_central_differences():
    rng = np.random.default_rng(5)
    volume = rng.standard_normal((1, 2, 4, 5, 6))
    grid = rng.uniform(-1.2, 1.2, (1, 2, 2, 3, 3))
    grad_output = rng.standard_normal((1, 2, 2, 2, 3))
    step = 1e-6
    for padding_mode, align_corners in OPTIONS:
        _, grad_grid = grid_sample_vjp(volume, grid, grad_output, "bicubic", padding_mode,
                                       align_corners)
        numeric = np.zeros_like(grid)
        for index in np.ndindex(grid.shape):
            shifted = [grid.copy(), grid.copy()]
            shifted[0][index] += step
            shifted[1][index] -= step
            values = [np.sum(reference_grid_sample_3d(volume, g, "bicubic", padding_mode,
                                                      align_corners) * grad_output)
                      for g in shifted]
            numeric[index] = (values[0] - values[1]) / (2 * step)
        scaled_close(grad_grid, numeric, 1e-6, f"{padding_mode} {align_corners}")


def test_tricubic_is_separable():
    """Tricubic is the Keys cubic on each axis in turn: on a product volume
    ``A[y, x] * b[z]`` it is the 2-D bicubic of ``A`` times the 1-D cubic of ``b``
    (a column image read at its centre), and it reproduces constants.  (Keys with
    ``a = -0.75`` does not reproduce linear functions; only ``a = -0.5`` does.)"""
    rng = np.random.default_rng(6)
    image = rng.standard_normal((1, 1, 5, 6))
    column = rng.standard_normal((1, 1, 4, 1))
    volume = image[:, :, None] * column[:, :, :, :, None]
    grid = rng.uniform(-1.3, 1.3, (1, 2, 3, 4, 3))
    flat = grid.reshape(1, -1, 1, 3)  # every grid point, as 2-D grids
    for padding_mode, align_corners in (("zeros", False), ("reflection", True)):
        out = grid_sample(volume, grid, "bicubic", padding_mode, align_corners)
        planar = grid_sample(image, flat[..., :2], "bicubic", padding_mode, align_corners)
        # x = 0 reads the one column with weights (0, 1, 0, 0) under either convention
        along_z = grid_sample(column, np.concatenate([np.zeros_like(flat[..., 2:]),
                                                      flat[..., 2:]], axis=-1),
                              "bicubic", padding_mode, align_corners)
        scaled_close(out.reshape(-1), (planar * along_z).reshape(-1), 1e-12,
                     f"{padding_mode} {align_corners}")
    constant = np.full((1, 1, 3, 4, 5), 2.5)
    inside = rng.uniform(-0.5, 0.5, (1, 2, 2, 2, 3))
    scaled_close(grid_sample(constant, inside, "bicubic", "border"), np.full((1, 1, 2, 2, 2), 2.5),
                 1e-14)


# ------------------------------------------------------------ adjoint and determinism


@pytest.mark.parametrize("mode", ("bilinear", "nearest", "bicubic"))
def test_input_gradient_is_the_adjoint(mode):
    """<A x, y> = <x, A^T y> for the sampling operator A of a fixed grid."""
    rng = np.random.default_rng(7)
    volume = rng.standard_normal((2, 2, 3, 4, 5))
    grid = rng.uniform(-1.3, 1.3, (2, 3, 2, 4, 3))
    y = rng.standard_normal((2, 2, 3, 2, 4))
    for padding_mode, align_corners in OPTIONS:
        forward = grid_sample(volume, grid, mode, padding_mode, align_corners)
        grad_input, _ = grid_sample_vjp(volume, grid, y, mode, padding_mode, align_corners,
                                        wrt=("input",))
        lhs, rhs = np.sum(forward * y), np.sum(volume * grad_input)
        assert abs(lhs - rhs) <= 1e-12 * max(1.0, np.sum(np.abs(forward * y)))


@pytest.mark.parametrize("batch, private_bytes", [(1, cpu_volume.PRIVATE_BYTES), (1, 0),
                                                   (5, cpu_volume.PRIVATE_BYTES)],
                         ids=["private buffers", "bands", "samples"])
def test_backward_is_deterministic_across_thread_counts(batch, private_bytes, monkeypatch):
    """Each plan of the input-gradient scatter gives the same bits for any thread count."""
    monkeypatch.setattr(cpu_volume, "PRIVATE_BYTES", private_bytes)
    rng = np.random.default_rng(8)
    shape = (batch, 1, 24, 24, 24)
    volume = rng.standard_normal(shape).astype(np.float32)
    out_size = (32, 64, 64)  # SERIAL_WORK_LIMIT voxels: the calls use threads
    # a smooth grid inside the volume (each output row reaches a few input rows) plus noise
    z, y, x = np.meshgrid(*(np.linspace(-1.0, 1.0, s) for s in out_size), indexing="ij")
    grid = np.stack([0.7 * x + 0.2 * y, 0.7 * y - 0.2 * z, 0.7 * z + 0.1 * x], axis=-1)[None]
    grid = (grid + rng.uniform(-0.05, 0.05, (batch,) + out_size + (3,))).astype(np.float32)
    grad_output = rng.standard_normal((batch, 1) + out_size).astype(np.float32)
    assert batch * np.prod(out_size) >= SERIAL_WORK_LIMIT
    threads = numba.get_num_threads()
    results = []
    try:
        for count in (1, min(2, numba.config.NUMBA_NUM_THREADS), 1,
                      numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(count)
            results.append(grid_sample_vjp(volume, grid, grad_output))
    finally:
        numba.set_num_threads(threads)
    for grad_input, grad_grid in results[1:]:
        np.testing.assert_array_equal(grad_input, results[0][0])
        np.testing.assert_array_equal(grad_grid, results[0][1])
    # and the plan for one thread of a small call (one chunk, in output order) in float64
    monkeypatch.setattr(cpu_volume, "PRIVATE_BYTES", 0)
    try:
        numba.set_num_threads(1)
        expected = grid_sample_vjp(volume.astype(np.float64), grid.astype(np.float64),
                                   grad_output.astype(np.float64))
    finally:
        numba.set_num_threads(threads)
    scaled_close(results[0][0], expected[0], 1e-5)
    scaled_close(results[0][1], expected[1], 1e-5)


def test_autograd_through_grid_sample():
    rng = np.random.default_rng(9)
    volume = rng.standard_normal((1, 2, 3, 4, 5))
    grid = rng.uniform(-1, 1, (1, 2, 3, 4, 3))
    weights = rng.standard_normal((1, 2, 2, 3, 4))

    def loss(volume, grid):
        return anp.sum(grid_sample(volume, grid) * weights)

    grad_volume, grad_grid = autograd.grad(loss, (0, 1))(volume, grid)
    expected = grid_sample_vjp(volume, grid, weights)
    np.testing.assert_array_equal(grad_volume, expected[0])
    np.testing.assert_array_equal(grad_grid, expected[1])
    assert grad_volume.shape == volume.shape and grad_grid.shape == grid.shape


# ------------------------------------------------------------ non-finite coordinates

SPECIAL = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3e9, 0.3, -0.99, 1.0, 5.0])


@pytest.mark.parametrize("mode", ("bilinear", "nearest", "bicubic"))
def test_special_coordinates_match_2d(mode):
    """A volume of depth 1 read at z = 0 (its slice's centre) is the 2-D image: NaN,
    +-Inf and huge x and y follow the 2-D rules, in value and (x, y) gradient."""
    rng = np.random.default_rng(10)
    image = rng.standard_normal((1, 2, 3, 4))
    gx, gy = np.meshgrid(SPECIAL, SPECIAL, indexing="ij")
    grid2 = np.stack([gx, gy], axis=-1)[None]
    grid3 = np.concatenate([grid2, np.zeros(grid2.shape[:-1] + (1,))], axis=-1)[:, None]
    grad_output = rng.standard_normal((1, 2) + gx.shape)
    for padding_mode, align_corners in [(p, False) for p in PADDING_MODES]:
        out2 = grid_sample(image, grid2, mode, padding_mode, align_corners)
        out3 = grid_sample(image[:, :, None], grid3, mode, padding_mode, align_corners)
        scaled_close(out3[:, :, 0], out2, 1e-12, f"{padding_mode}")
        gi2, gg2 = grid_sample_vjp(image, grid2, grad_output, mode, padding_mode,
                                   align_corners)
        gi3, gg3 = grid_sample_vjp(image[:, :, None], grid3, grad_output[:, :, None], mode,
                                   padding_mode, align_corners)
        scaled_close(gi3[:, :, 0], gi2, 1e-12, f"{padding_mode}")
        scaled_close(gg3[:, 0, ..., :2], gg2, 1e-12, f"{padding_mode}")
        assert np.all(np.isfinite(gg3)) and np.all(np.isfinite(out3))


def test_special_z_coordinates():
    volume = np.arange(2 * 3 * 4, dtype=np.float64).reshape(1, 1, 2, 3, 4) + 1.0
    grid = np.zeros((1, 1, 1, 5, 3))
    grid[0, 0, 0, :, 2] = [np.nan, -1.0, np.inf, -np.inf, 1e30]
    grid[0, 0, 0, :, :2] = -1.0  # the centre of voxel (0, 0) in x, y (align_corners)
    zeros = grid_sample(volume, grid, align_corners=True)[0, 0, 0, 0]
    np.testing.assert_array_equal(zeros[:2], [1.0, 1.0])  # NaN reads as -1: slice 0
    np.testing.assert_array_equal(zeros[2:], [0.0, 0.0, 0.0])  # far: zeros padding
    border = grid_sample(volume, grid, padding_mode="border", align_corners=True)[0, 0, 0, 0]
    np.testing.assert_array_equal(border, [1.0, 1.0, 13.0, 1.0, 13.0])  # far: nearest edge
    for padding_mode in PADDING_MODES:
        for mode in ("bilinear", "bicubic"):
            _, grad_grid = grid_sample_vjp(volume, grid, np.ones((1, 1, 1, 1, 5)), mode,
                                           padding_mode, True)
            np.testing.assert_array_equal(grad_grid[0, 0, 0, 2:, 2], 0.0)  # far: no gradient
            assert np.all(np.isfinite(grad_grid))


# ------------------------------------------------------------ point sources


def run_source(source, volume, field, bases, scales, grad_output, mode, padding_mode,
               align_corners):
    """Forward and backward of one point source through the generic runners."""
    args = WarpArgs(volume, grad_output.shape, mode, padding_mode, align_corners, dims=3)
    out = cpu_volume.volume_forward(source, args, volume, field, bases, scales)
    grads = cpu_volume.volume_vjp(source, args, volume, field, grad_output, True, True,
                                  bases, scales)
    return out, grads


def check_against_grid(source, volume, field, bases, scales, grid, grad_output):
    """A source's output and input gradient equal the grid source's on its grid; returns
    the grid gradient of the equivalent grid and the source's field gradient and acc."""
    for mode, padding_mode, align_corners in (("bilinear", "zeros", False),
                                              ("bicubic", "reflection", True),
                                              ("nearest", "border", False)):
        out, (grad_input, grad_field, acc) = run_source(
            source, volume, field, bases, scales, grad_output, mode, padding_mode,
            align_corners)
        expected = grid_sample(volume, grid, mode, padding_mode, align_corners)
        grad_expected, grad_grid = grid_sample_vjp(volume, grid, grad_output, mode,
                                                   padding_mode, align_corners)
        what = f"{mode} {padding_mode}"
        scaled_close(out, expected, 1e-12, "value " + what)
        scaled_close(grad_input, grad_expected, 1e-12, "d input " + what)
        yield grad_grid, grad_field, acc


def base_points(out_size, align_corners=False):
    def base(size):
        if align_corners:
            return np.linspace(-1.0, 1.0, size) if size > 1 else np.zeros(1)
        return (2.0 * np.arange(size) + 1.0) / size - 1.0

    bases = tuple(base(s) for s in out_size[::-1])  # x first
    z, y, x = np.meshgrid(bases[2], bases[1], bases[0], indexing="ij")
    return bases, np.stack([x, y, z], axis=-1)


def test_flow_source_matches_grid_source():
    rng = np.random.default_rng(11)
    volume = rng.standard_normal((2, 2, 4, 5, 6))
    out_size = (3, 4, 5)
    bases, points = base_points(out_size)
    flow = rng.uniform(-3, 3, (2,) + out_size + (3,))
    scales = np.array([0.4, 0.5, 0.7])
    grid = points + flow * scales
    grad_output = rng.standard_normal((2, 2) + out_size)
    for grad_grid, grad_flow, acc in check_against_grid(
            kernels.SOURCE_FLOW, volume, flow, bases, scales, grid, grad_output):
        scaled_close(grad_flow, grad_grid * scales, 1e-12, "d flow")
        assert acc is None


def test_affine_source_matches_grid_source():
    rng = np.random.default_rng(12)
    volume = rng.standard_normal((2, 2, 4, 5, 6))
    out_size = (3, 4, 5)
    bases, points = base_points(out_size)
    theta = np.concatenate([np.eye(3) + rng.uniform(-0.3, 0.3, (2, 3, 3)),
                            rng.uniform(-0.3, 0.3, (2, 3, 1))], axis=2)
    grid = np.einsum("dhwk,nrk->ndhwr", np.concatenate(
        [points, np.ones(points.shape[:-1] + (1,))], axis=-1), theta)
    homogeneous = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)
    grad_output = rng.standard_normal((2, 2) + out_size)
    for grad_grid, grad_field, acc in check_against_grid(
            kernels.SOURCE_AFFINE, volume, theta, bases, None, grid, grad_output):
        expected = np.einsum("ndhwr,dhwk->nrk", grad_grid, homogeneous).reshape(2, 12)
        scaled_close(acc, expected, 1e-12, "d theta")
        assert grad_field is None


def test_perspective_source_matches_grid_source():
    rng = np.random.default_rng(13)
    volume = rng.standard_normal((2, 1, 4, 5, 6))
    out_size = (3, 4, 5)
    bases, points = base_points(out_size, align_corners=True)
    hom = np.tile(np.eye(4), (2, 1, 1)) + rng.uniform(-0.2, 0.2, (2, 4, 4))
    hom[1, 3] = [1.0, 0.0, 0.0, 0.2]  # w = x + 0.2 <= 0 on some voxels: no source there
    homogeneous = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)
    uvsw = np.einsum("dhwk,nrk->ndhwr", homogeneous, hom)
    w = uvsw[..., 3:]
    assert np.any(w <= 0) and np.any(w > 0)
    grid = np.where(w > 0, uvsw[..., :3] / np.where(w > 0, w, 1.0), NO_SOURCE)
    grad_output = rng.standard_normal((2, 1) + out_size)
    for grad_grid, grad_field, acc in check_against_grid(
            kernels.SOURCE_PERSPECTIVE, volume, hom, bases, None, grid, grad_output):
        # chain rule through (u, v, s) / w, only where w > 0
        d_uvs = np.where(w > 0, grad_grid / np.where(w > 0, w, 1.0), 0.0)
        d_w = -np.sum(d_uvs * grid, axis=-1, keepdims=True) * (w > 0)
        d_all = np.concatenate([d_uvs, d_w], axis=-1)
        expected = np.einsum("ndhwr,dhwk->nrk", d_all, homogeneous).reshape(2, 16)
        scaled_close(acc, expected, 1e-12, "d hom")
        assert grad_field is None


# ------------------------------------------------------------ errors


@pytest.mark.parametrize("input_shape, grid_shape, message", [
    ((1, 1, 4, 4, 4), (1, 2, 2, 2, 2), r"grid must have shape \(N, D_out, H_out, W_out, 3\)"),
    ((1, 1, 4, 4, 4), (1, 2, 2, 2), r"input must be 4-dimensional \(N, C, H, W\) for a grid"),
    ((1, 1, 4, 4), (1, 2, 2, 2, 3), r"input must be 5-dimensional \(N, C, D, H, W\) for a grid"),
    ((1, 1, 4, 4, 4), (1, 2, 2, 2, 3, 1), r"grid must be 5-dimensional"),
    ((1, 1, 1, 4, 4, 4), (1, 2, 2, 2, 3), r"input must be 4-dimensional .* or 5-dimensional"),
    ((2, 1, 4, 4, 4), (1, 2, 2, 2, 3), r"the same batch size"),
    ((1, 1, 4, 0, 4), (1, 2, 2, 2, 3), r"non-empty depth, height and width"),
])
def test_bad_shapes_raise_clear_errors(input_shape, grid_shape, message):
    with pytest.raises(ValueError, match=message):
        grid_sample(np.zeros(input_shape), np.zeros(grid_shape))


def test_huge_output_raises_memory_error():
    grid = np.broadcast_to(np.zeros(3), (1, 2**20, 2**20, 2**10, 3))
    with pytest.raises(MemoryError, match="grid"):
        grid_sample(np.zeros((1, 1, 2, 2, 2)), grid)


def test_empty_batch_and_channels():
    assert grid_sample(np.zeros((0, 1, 2, 2, 2)), np.zeros((0, 1, 1, 1, 3))).shape == (
        0, 1, 1, 1, 1)
    grad_input, grad_grid = grid_sample_vjp(np.zeros((1, 0, 2, 2, 2)),
                                            np.zeros((1, 1, 2, 1, 3)),
                                            np.zeros((1, 0, 1, 2, 1)))
    assert grad_input.shape == (1, 0, 2, 2, 2)
    np.testing.assert_array_equal(grad_grid, np.zeros((1, 1, 2, 1, 3)))
    assert SampleArgs(np.zeros((1, 0, 2, 2, 2)), np.zeros((1, 1, 2, 1, 3)), "bilinear",
                      "zeros", False).dims == 3
