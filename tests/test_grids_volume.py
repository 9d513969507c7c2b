"""Grid generators of volumes: affine_grid with theta (N, 3, 4) and perspective_grid
with homography (N, 4, 4), against PyTorch and per-voxel NumPy formulas."""

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

import warpkit
from warpkit.coords import normalized_base_coordinates
from warpkit.grids import NO_SOURCE

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid:UserWarning")


def voxel_points(depth, height, width, align_corners):
    """Homogeneous ``(x, y, z, 1)`` of every output voxel, (D, H, W, 4), by a plain loop."""
    xs = normalized_base_coordinates(width, align_corners)
    ys = normalized_base_coordinates(height, align_corners)
    zs = normalized_base_coordinates(depth, align_corners)
    points = np.empty((depth, height, width, 4))
    for k in range(depth):
        for i in range(height):
            for j in range(width):
                points[k, i, j] = (xs[j], ys[i], zs[k], 1.0)
    return points


def reference_perspective_grid(homography, depth, height, width, align_corners):
    """Per-voxel loop: ``(u, v, s) / w``, or NO_SOURCE on every axis where w <= 0."""
    points = voxel_points(depth, height, width, align_corners)
    out = np.empty((homography.shape[0], depth, height, width, 3))
    for n in range(homography.shape[0]):
        for index in np.ndindex(depth, height, width):
            u, v, s, w = homography[n] @ points[index]
            out[(n,) + index] = (u / w, v / w, s / w) if w > 0 else (NO_SOURCE,) * 3
    return out


def rotation(axis, angle):
    """The rotation by ``angle`` about ``axis`` (Rodrigues' formula)."""
    x, y, z = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * cross @ cross


@pytest.mark.parametrize("size", [(1, 1, 2, 3, 4), (3, 2, 5, 1, 3), (2, 1, 1, 1, 1),
                                  (1, 1, 4, 4, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_grid_3d_matches_torch(size, dtype, align_corners):
    # PyTorch's test_affine_grid_3d: random theta (N, 3, 4), every size and convention.
    theta = np.random.default_rng(0).standard_normal((size[0], 3, 4)).astype(dtype)
    expected = F.affine_grid(torch.from_numpy(theta), size, align_corners=align_corners)
    grid = warpkit.affine_grid(theta, size, align_corners)
    assert grid.shape == size[:1] + size[2:] + (3,) and grid.dtype == dtype
    scale = np.abs(expected.numpy()).max()
    np.testing.assert_allclose(grid, expected.numpy(), rtol=0,
                               atol=(1e-6 if dtype == np.float32 else 1e-14) * scale)
    np.testing.assert_array_equal(warpkit.affine_grid(theta, size[2:], align_corners), grid)


@pytest.mark.parametrize("seed", range(4))
def test_affine_3d_random_rotations(seed, align_corners):
    # PyTorch's test_affine_3d_rotateRandom: a rotation about an arbitrary axis maps
    # every voxel centre, and the sampled volume agrees with torch's.
    rng = np.random.default_rng(seed)
    matrix = rotation(rng.standard_normal(3), rng.uniform(-np.pi, np.pi))
    theta = np.concatenate([matrix, np.zeros((3, 1))], axis=1)[None]
    size = (1, 2, 3, 4, 5)
    grid = warpkit.affine_grid(theta, size, align_corners)
    points = voxel_points(*size[2:], align_corners)
    np.testing.assert_allclose(grid[0], points[..., :3] @ matrix.T, rtol=0, atol=1e-14)
    volume = rng.standard_normal(size)
    expected = F.grid_sample(torch.from_numpy(volume),
                             F.affine_grid(torch.from_numpy(theta), size,
                                           align_corners=align_corners),
                             align_corners=align_corners).numpy()
    np.testing.assert_allclose(warpkit.grid_sample(volume, grid, align_corners=align_corners),
                               expected, rtol=0, atol=1e-12)


def test_affine_grid_3d_gradient_matches_torch():
    rng = np.random.default_rng(1)
    theta = rng.standard_normal((2, 3, 4))
    weights = rng.standard_normal((2, 3, 4, 5, 3))
    ours = grad(lambda t: np.sum(warpkit.affine_grid(t, (2, 1, 3, 4, 5)) * weights))(theta)
    theta_t = torch.from_numpy(theta).requires_grad_()
    (F.affine_grid(theta_t, (2, 1, 3, 4, 5), align_corners=False)
     * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(ours, theta_t.grad.numpy(), rtol=0,
                               atol=1e-12 * np.abs(ours).max())


def random_homography(rng, batch, strength=0.2):
    h = np.eye(4) + rng.uniform(-strength, strength, size=(batch, 4, 4))
    h[:, 3, 3] = 1.0
    return h


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_perspective_grid_3d_matches_per_voxel_reference(dtype, align_corners):
    h = random_homography(np.random.default_rng(2), 2)
    h[1, 3, 2] = 1.5  # w = 1.5 z + ...: the near slices have no source
    grid = warpkit.perspective_grid(h.astype(dtype), (2, 3, 4, 5, 6),
                                    align_corners=align_corners)
    expected = reference_perspective_grid(h.astype(dtype).astype(np.float64), 4, 5, 6,
                                          align_corners)
    assert grid.dtype == dtype and grid.shape == (2, 4, 5, 6, 3)
    assert np.any(expected == NO_SOURCE) and np.any(expected != NO_SOURCE)
    np.testing.assert_array_equal(grid == NO_SOURCE, expected == NO_SOURCE)
    finite = expected != NO_SOURCE
    np.testing.assert_allclose(grid[finite], expected[finite], rtol=0,
                               atol=(1e-5 if dtype == np.float32 else 1e-13)
                               * np.abs(expected[finite]).max())
    np.testing.assert_array_equal(
        warpkit.perspective_grid(h.astype(dtype), (4, 5, 6), align_corners=align_corners), grid)


def test_perspective_grid_3d_with_affine_last_row_equals_affine_grid():
    theta = np.random.default_rng(3).standard_normal((2, 3, 4))
    homography = np.concatenate([theta, np.tile([[[0.0, 0, 0, 1]]], (2, 1, 1))], axis=1)
    np.testing.assert_allclose(warpkit.perspective_grid(homography, (2, 1, 3, 4, 2)),
                               warpkit.affine_grid(theta, (2, 1, 3, 4, 2)), rtol=0, atol=1e-14)


def test_perspective_grid_3d_gradient():
    h = random_homography(np.random.default_rng(4), 2)
    check_grads(lambda h: warpkit.perspective_grid(h, (2, 1, 2, 3, 4)), modes=["rev"],
                order=1)(h)
    behind = np.eye(4)[None].copy()
    behind[0, 3] = [0.0, 0.0, 1.0, 0.0]  # w = z: half the volume is behind the camera
    g = grad(lambda h: np.sum(warpkit.perspective_grid(h, (4, 2, 2))))(behind)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("call, error, message", [
    (lambda: warpkit.affine_grid(np.zeros((1, 3, 4)), (1, 1, 4, 4)), ValueError,
     r"size must have 5 entries \(N, C, D_out, H_out, W_out\) or 3"),
    (lambda: warpkit.affine_grid(np.zeros((1, 2, 3)), (1, 1, 4, 4, 4)), ValueError,
     "size must have 4 entries"),
    (lambda: warpkit.affine_grid(np.zeros((1, 3, 3)), (1, 1, 4, 4, 4)), ValueError,
     r"theta must have shape \(N, 2, 3\) or \(N, 3, 4\), got \(1, 3, 3\)"),
    (lambda: warpkit.affine_grid(np.zeros((1, 3, 4)), (2, 1, 4, 4, 4)), ValueError,
     r"size\[0\] must equal the batch size of theta \(1\)"),
    (lambda: warpkit.affine_grid(np.zeros((1, 3, 4)), (1, 1, 4, -4, 4)), ValueError,
     "size entries must be >= 0"),
    (lambda: warpkit.perspective_grid(np.zeros((1, 4, 4)), (1, 1, 4, 4)), ValueError,
     "size must have 5 entries"),
    (lambda: warpkit.perspective_grid(np.zeros((1, 4, 3)), (1, 1, 4, 4, 4)), ValueError,
     r"homography must have shape \(N, 3, 3\) or \(N, 4, 4\)"),
    (lambda: warpkit.perspective_grid(np.zeros((1, 4, 4), np.int64), (4, 4, 4)), TypeError,
     "homography must be a float32 or float64 array"),
])
def test_volume_grid_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_empty_volume_grids():
    assert warpkit.affine_grid(np.zeros((0, 3, 4)), (0, 1, 2, 3, 4)).shape == (0, 2, 3, 4, 3)
    assert warpkit.perspective_grid(np.eye(4)[None], (0, 3, 4)).shape == (1, 0, 3, 4, 3)
