"""smoothness_penalty, jacobian_determinant and count_folds against closed forms."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from warpkit.regularizers import count_folds, jacobian_determinant, smoothness_penalty


def pixel_coordinates(spatial):
    """(x, y[, z]) of every pixel, x first, shape (*spatial, dims)."""
    mesh = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in spatial], indexing="ij")
    return np.stack(mesh[::-1], axis=-1)


def normalized_coordinates(spatial, align_corners):
    axes = []
    for n in spatial:
        i = np.arange(n, dtype=np.float64)
        axes.append(i * 2.0 / (n - 1) - 1.0 if align_corners else (2.0 * i + 1.0) / n - 1.0)
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack(mesh[::-1], axis=-1)


def affine_displacement(matrices, coordinates, shifts):
    """flow(p) = (A - I) p + t for each sample's A (N, dims, dims) and t (N, dims)."""
    dims = matrices.shape[-1]
    linear = matrices - np.eye(dims)
    return np.einsum("nij,...j->n...i", linear, coordinates) + shifts.reshape(
        (len(shifts),) + (1,) * dims + (dims,))


def random_matrices(rng, batch, dims):
    return np.eye(dims) + rng.uniform(-0.4, 0.4, (batch, dims, dims))


@pytest.mark.parametrize("spatial", [(5, 7), (4, 5, 6)])
def test_jacobian_of_an_affine_field_is_det_a_everywhere(spatial):
    rng = np.random.default_rng(1)
    dims = len(spatial)
    matrices = random_matrices(rng, 3, dims)
    flow = affine_displacement(matrices, pixel_coordinates(spatial), rng.normal(size=(3, dims)))
    det = jacobian_determinant(flow)
    assert det.shape == (3,) + spatial
    want = np.linalg.det(matrices).reshape((3,) + (1,) * dims)
    np.testing.assert_allclose(det, np.broadcast_to(want, det.shape), rtol=0, atol=1e-12)
    for align_corners in (False, True):
        coordinates = normalized_coordinates(spatial, align_corners)
        flow = affine_displacement(matrices, coordinates, rng.normal(size=(3, dims)) * 0.1)
        det = jacobian_determinant(flow, units="normalized", align_corners=align_corners)
        np.testing.assert_allclose(det, np.broadcast_to(want, det.shape), rtol=0, atol=1e-12)


def test_jacobian_uses_central_differences_inside_and_one_sided_at_edges():
    flow = np.zeros((1, 1, 5, 2))
    flow[0, 0, :, 0] = np.array([0.0, 1.0, 4.0, 9.0, 16.0])  # dx = x**2
    det = jacobian_determinant(flow)[0, 0]
    np.testing.assert_allclose(det, 1.0 + np.gradient(flow[0, 0, :, 0]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(det, [2.0, 3.0, 5.0, 7.0, 8.0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("spatial", [(6, 7), (4, 5, 6)])
def test_count_folds(spatial):
    dims = len(spatial)
    mirror = np.eye(dims)
    mirror[0, 0] = -1.0  # p_x -> -p_x: every pixel folds
    matrices = np.stack([mirror, np.eye(dims)])
    flow = affine_displacement(matrices, pixel_coordinates(spatial), np.zeros((2, dims)))
    flow[1] = 0.05 * np.sin(pixel_coordinates(spatial))  # smooth and small: no fold
    counts = count_folds(flow)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, [np.prod(spatial), 0])
    # a local fold: a bump that squeezes x by more than a pixel per pixel
    bump = np.zeros((1,) + spatial + (dims,))
    bump[(0,) + (slice(None),) * (dims - 1) + (3, 0)] = -2.5  # det -0.25 beside it
    folds = count_folds(bump)[0]
    det = jacobian_determinant(bump)
    assert 0 < folds < np.prod(spatial) and folds == np.sum(det <= 0)


def test_smoothness_of_a_linear_field_is_its_closed_form():
    rng = np.random.default_rng(3)
    for spatial in ((5, 7), (3, 4, 6), (2, 5)):
        dims = len(spatial)
        slopes = rng.normal(size=(dims, dims))  # flow_c = sum_a slopes[c, a] * p_a + t_c
        flow = (pixel_coordinates(spatial) @ slopes.T + rng.normal(size=dims))[None]
        # every forward difference along axis a is slopes[:, a]: the mean over
        # components of slopes[c, a]**2, averaged over the axes
        want = np.mean(np.mean(slopes ** 2, axis=0))
        np.testing.assert_allclose(smoothness_penalty(flow), want, rtol=1e-12)
    flow = np.zeros((2, 1, 6, 2))
    flow[..., 1] = 0.5 * np.arange(6.0)  # an axis of one pixel contributes 0
    np.testing.assert_allclose(smoothness_penalty(flow), 0.25 / 2 / 2, rtol=1e-12)


@pytest.mark.parametrize("spatial", [(4, 5), (3, 4, 3)])
def test_regularizers_are_differentiable(spatial):
    rng = np.random.default_rng(4)
    flow = rng.normal(size=(2,) + spatial + (len(spatial),)) * 0.3
    weights = rng.normal(size=(2,) + spatial)
    check_grads(smoothness_penalty, modes=["rev"], order=1)(flow)
    check_grads(lambda f: anp.sum(weights * jacobian_determinant(f)), modes=["rev"],
                order=1)(flow)
    check_grads(lambda f: anp.sum(weights * jacobian_determinant(
        f, units="normalized", align_corners=True)), modes=["rev"], order=1)(flow)


def test_float32_stays_float32():
    flow = np.zeros((1, 3, 4, 2), dtype=np.float32)
    assert jacobian_determinant(flow).dtype == np.float32


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r"flow must have shape \(N, H, W, 2\)"):
        smoothness_penalty(np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match="flow must have shape"):
        jacobian_determinant(np.zeros((4, 4, 2)))
    with pytest.raises(TypeError, match="flow must be a float32 or float64 array"):
        count_folds(np.zeros((1, 4, 4, 2), dtype=np.int32))
    with pytest.raises(ValueError, match="units must be one of"):
        jacobian_determinant(np.zeros((1, 4, 4, 2)), units="mm")
