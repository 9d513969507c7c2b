"""The volume-registration driver (warpkit.registration): phantoms, the two stages, the numbers."""

import numpy as np
import pytest

from warpkit import fused, regularizers
from warpkit.displacement import warp_displacement
from warpkit.registration import (affine_flow, blob_phantom, make_phantom_pair, register,
                                  _voxel_matrix)


def _mse(a, b):
    return float(np.mean((np.asarray(a, np.float64) - b) ** 2))


def test_blob_phantom_shape_dtype_and_seed():
    volume = blob_phantom((6, 8, 10), seed=1)
    assert volume.shape == (6, 8, 10) and volume.dtype == np.float32
    assert np.array_equal(volume, blob_phantom((6, 8, 10), seed=1))
    assert not np.allclose(volume, blob_phantom((6, 8, 10), seed=2))
    assert 0.3 < volume.max() < 3 and volume.min() >= 0
    assert blob_phantom(5, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("kwargs, message", [
    ({"shape": 3}, "shape"), ({"shape": (4, 4)}, "shape"), ({"blobs": 0}, "blobs")])
def test_blob_phantom_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        blob_phantom(**kwargs)


def test_phantom_pair_flow_registers_moving_onto_fixed():
    pair = make_phantom_pair(16, seed=4)
    assert pair.fixed.shape == pair.moving.shape == (16, 16, 16)
    assert pair.flow.shape == (16, 16, 16, 3)
    assert pair.fixed.dtype == pair.moving.dtype == pair.flow.dtype == np.float32
    again = make_phantom_pair(16, seed=4)
    assert np.array_equal(pair.moving, again.moving) and np.array_equal(pair.flow, again.flow)
    before = _mse(pair.moving, pair.fixed)
    assert before > 1e-3                                      # the moving copy differs
    # the promise: moving(p + flow(p)) = fixed(p), up to trilinear interpolation error
    warped = warp_displacement(pair.moving[None, None], pair.flow[None], padding_mode="border")
    assert _mse(warped[0, 0], pair.fixed) < 0.05 * before
    assert float(np.abs(pair.flow).max()) > 1.0               # a deformation worth recovering


def test_voxel_matrix_of_theta_matches_warp_affine():
    rng = np.random.default_rng(0)
    volume = rng.random((1, 1, 5, 6, 7)).astype(np.float64)
    theta = np.eye(3, 4)[None] + 0.05 * rng.normal(size=(1, 3, 4))
    expected = fused.warp_affine(volume, theta, padding_mode="border")
    flow = affine_flow(_voxel_matrix(theta[0], (5, 6, 7)), (5, 6, 7))[None]
    actual = warp_displacement(volume, flow, padding_mode="border")
    np.testing.assert_allclose(actual, expected, atol=1e-9)


def test_affine_stage_alone_recovers_a_shift():
    pair = make_phantom_pair(16, seed=2, rotation=0.0, scale=0.0, amplitude=0.0, shift=1.5)
    shift = pair.matrix[:3, 3]
    assert np.abs(shift).max() > 0.5
    result = register(pair.fixed, pair.moving, affine_iterations=80, iterations=0,
                      affine_rate=0.02, true_flow=pair.flow)
    np.testing.assert_allclose(result.matrix[:3, 3], shift, atol=0.15)
    np.testing.assert_allclose(result.matrix[:3, :3], np.eye(3), atol=0.03)
    assert result.flow_error["after"] < 0.2 < result.flow_error["before"]
    assert result.history["deformable"] == []


@pytest.mark.parametrize("diffeomorphic", [False, True])
def test_register_reduces_the_error_and_counts_folds(diffeomorphic):
    pair = make_phantom_pair(12, seed=0)
    result = register(pair.fixed, pair.moving, affine_iterations=40, iterations=30,
                      affine_rate=0.02, diffeomorphic=diffeomorphic, true_flow=pair.flow)
    mse = result.mse
    assert mse["after"] < 0.5 * mse["affine"] and mse["affine"] < 0.7 * mse["before"]
    assert result.flow_error["after"] < 0.8 * result.flow_error["before"]
    assert result.warped.shape == (1, 12, 12, 12) and result.flow.shape == (12, 12, 12, 3)
    assert isinstance(result.folds, int)
    assert result.folds == int(np.sum(regularizers.count_folds(result.flow[None])))
    assert len(result.history["affine"]) == 40 and len(result.history["deformable"]) == 30
    assert "folded voxels" in result.summary()
    assert result.to_dict()["settings"]["diffeomorphic"] is diffeomorphic


def test_register_accepts_channels_and_keeps_float64():
    fixed = np.stack([blob_phantom(8, seed=0), blob_phantom(8, seed=1)]).astype(np.float64)
    result = register(fixed, fixed, affine_iterations=2, iterations=2)
    assert result.warped.shape == (2, 8, 8, 8) and result.warped.dtype == np.float64
    assert result.mse["before"] == 0.0 and result.flow_error is None


@pytest.mark.parametrize("fixed_shape, moving_shape, kwargs, message", [
    ((8, 8), (8, 8), {}, "fixed must be a"),
    ((8, 8, 8), (8, 8, 9), {}, "same shape"),
    ((8, 8, 8), (8, 8, 8), {"smoothness": -1.0}, "smoothness"),
    ((8, 8, 8), (8, 8, 8), {"iterations": -1}, "iterations"),
    ((8, 8, 8), (8, 8, 8), {"rate": 0.0}, "rate"),
    ((8, 8, 8), (8, 8, 8), {"true_flow": np.zeros((8, 8, 8, 2))}, "true_flow"),
])
def test_register_rejects_bad_arguments(fixed_shape, moving_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        register(np.zeros(fixed_shape, np.float32), np.zeros(moving_shape, np.float32),
                 **{"affine_iterations": 1, "iterations": 1, **kwargs})


def test_folds_are_counted_and_fewer_when_diffeomorphic():
    # no smoothness penalty: the plain field overfits and folds, the integrated velocity much less
    pair = make_phantom_pair(12, seed=0)
    runs = [register(pair.fixed, pair.moving, affine_iterations=40, iterations=30,
                     affine_rate=0.02, smoothness=0.0, diffeomorphic=diffeomorphic)
            for diffeomorphic in (False, True)]
    plain, diffeomorphic = runs
    assert plain.folds > 20
    assert plain.folds == int(np.sum(regularizers.count_folds(plain.flow[None])))
    assert diffeomorphic.folds < plain.folds / 4
