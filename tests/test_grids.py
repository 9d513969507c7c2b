"""The grid generators of warpkit.grids: perspective_grid, tps_grid and control_point_grid.

``affine_grid`` is checked against PyTorch's in ``test_sampling_torch.py``.
"""

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import warpkit
from warpkit.coords import base_grid
from warpkit.grids import NO_SOURCE

SETTINGS = settings(max_examples=25, deadline=None)


def reference_perspective_grid(homography, height, width, align_corners):
    """Per-pixel loop: (u / w, v / w), or NO_SOURCE where w <= 0."""
    base = base_grid(height, width, align_corners)
    out = np.empty((homography.shape[0], height, width, 2))
    for n in range(homography.shape[0]):
        for i in range(height):
            for j in range(width):
                u, v, w = homography[n] @ base[i, j]
                out[n, i, j] = (u / w, v / w) if w > 0 else (NO_SOURCE, NO_SOURCE)
    return out


def random_homography(rng, batch, strength=0.3):
    h = np.eye(3) + rng.uniform(-strength, strength, size=(batch, 3, 3))
    h[:, 2, 2] = 1.0
    return h


def test_perspective_grid_matches_per_pixel_reference(align_corners):
    h = random_homography(np.random.default_rng(0), 2)
    grid = warpkit.perspective_grid(h, (2, 3, 5, 7), align_corners=align_corners)
    expected = reference_perspective_grid(h, 5, 7, align_corners)
    np.testing.assert_allclose(grid, expected, rtol=0, atol=1e-13 * np.abs(expected).max())


@SETTINGS
@given(entries=st.lists(st.floats(-2, 2), min_size=6, max_size=6),
       align_corners=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
def test_perspective_with_affine_last_row_equals_affine_grid(entries, align_corners, dtype):
    theta = np.array(entries, dtype=dtype).reshape(1, 2, 3)
    homography = np.concatenate([theta, np.array([[[0, 0, 1]]], dtype=dtype)], axis=1)
    size = (1, 1, 4, 6)
    result = warpkit.perspective_grid(homography, size, align_corners=align_corners)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, warpkit.affine_grid(theta, size, align_corners),
                               rtol=1e-6, atol=1e-6)


def test_points_at_infinity_or_behind_the_camera_have_no_source():
    # w = x: the left half (x < 0) is behind the camera, x = 0 is at infinity.
    homography = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])
    size = (1, 1, 3, 5)
    grid = warpkit.perspective_grid(homography, size, align_corners=True)
    assert np.all(grid[:, :, :3] == NO_SOURCE)
    assert np.all(np.isfinite(grid)) and np.all(np.abs(grid[:, :, 3:]) <= 2)
    g = grad(lambda h: np.sum(warpkit.perspective_grid(h, size, align_corners=True)))(homography)
    assert np.all(np.isfinite(g))


def test_perspective_grid_gradient():
    h = random_homography(np.random.default_rng(1), 2)
    check_grads(lambda h: warpkit.perspective_grid(h, (2, 1, 3, 4)), modes=["rev"],
                order=1)(h)


def test_perspective_grid_bad_input():
    with pytest.raises(ValueError, match=r"homography must have shape \(N, 3, 3\)"):
        warpkit.perspective_grid(np.zeros((1, 2, 3)), (1, 1, 2, 2))
    with pytest.raises(ValueError, match="size\\[0\\]"):
        warpkit.perspective_grid(np.eye(3)[None], (2, 1, 2, 2))
    with pytest.raises(TypeError, match="homography"):
        warpkit.perspective_grid(np.eye(3, dtype=np.float16)[None], (1, 1, 2, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identity_tps_grid_is_the_identity_grid(align_corners, dtype):
    controls = warpkit.control_point_grid(16, dtype)
    grid = warpkit.tps_grid(controls, controls[None].repeat(2, 0), (2, 1, 5, 6),
                            align_corners=align_corners)
    assert grid.dtype == dtype
    identity = warpkit.affine_grid(np.eye(2, 3)[None].repeat(2, 0), (2, 1, 5, 6),
                                   align_corners)
    np.testing.assert_allclose(grid, identity, atol=1e-6 if dtype == np.float32 else 1e-12)


def test_tps_grid_passes_through_its_targets_at_the_control_pixels():
    # With align_corners=True on a 5x5 output, the 3x3 control grid sits on pixels 0, 2, 4.
    rng = np.random.default_rng(2)
    controls = warpkit.control_point_grid(9)
    targets = controls[None] + rng.normal(scale=0.2, size=(1, 9, 2))
    grid = warpkit.tps_grid(controls, targets, (1, 1, 5, 5), align_corners=True)
    np.testing.assert_allclose(grid[0, ::2, ::2].reshape(9, 2), targets[0], atol=1e-12)


@SETTINGS
@given(entries=st.lists(st.floats(-1.5, 1.5), min_size=6, max_size=6),
       align_corners=st.booleans())
def test_tps_with_affine_targets_equals_affine_grid(entries, align_corners):
    theta = np.array(entries).reshape(1, 2, 3)
    controls = warpkit.control_point_grid(9)
    targets = controls @ theta[0, :, :2].T + theta[0, :, 2]
    size = (1, 1, 4, 5)
    np.testing.assert_allclose(
        warpkit.tps_grid(controls, targets[None], size, align_corners=align_corners),
        warpkit.affine_grid(theta, size, align_corners), atol=1e-10)


def test_tps_grid_gradients():
    rng = np.random.default_rng(3)
    controls = warpkit.control_point_grid(9) + rng.uniform(-0.1, 0.1, (9, 2))
    targets = controls[None] + rng.normal(scale=0.1, size=(2, 9, 2))
    size = (2, 1, 3, 4)
    check_grads(lambda t: warpkit.tps_grid(controls, t, size, regularization=0.01), modes=["rev"],
                order=1)(targets)
    check_grads(lambda c: warpkit.tps_grid(c, targets, size), modes=["rev"], order=1)(controls)


def test_tps_grid_bad_input():
    controls = warpkit.control_point_grid(4)
    with pytest.raises(ValueError, match="size\\[0\\]"):
        warpkit.tps_grid(controls, controls[None], (2, 1, 3, 3))
    with pytest.raises(ValueError, match="regularization"):
        warpkit.tps_grid(controls, controls[None], (1, 1, 3, 3), regularization=-1.0)
    with pytest.raises(ValueError, match="one line"):
        line = np.stack([np.linspace(-1, 1, 4), np.zeros(4)], axis=-1)
        warpkit.tps_grid(line, controls[None], (1, 1, 3, 3))


def test_control_point_grid():
    points = warpkit.control_point_grid(9, np.float32)
    assert points.dtype == np.float32 and points.shape == (9, 2)
    assert points[1].tolist() == [0.0, -1.0] and points[3].tolist() == [-1.0, 0.0]
    for bad in (3, 8, 0, -4):
        with pytest.raises(ValueError, match="perfect square"):
            warpkit.control_point_grid(bad)
