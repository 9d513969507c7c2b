"""The out-of-core benchmark's own arithmetic: the map error and the SciPy matrix.

The figures in ``benchmarks/results/out_of_core`` are only as good as these:
the RMS error of a fitted map (closed form, checked here by brute force) and
the conversion of warpkit's normalized theta into ``scipy.ndimage``'s pixel
matrix, which makes the dask-image comparison warp the same way.
"""

import numpy as np
import pytest

pytest.importorskip("dask")
ndimage = pytest.importorskip("scipy.ndimage")

import warpkit  # noqa: E402
from benchmarks import out_of_core  # noqa: E402


def test_rms_pixels_matches_brute_force():
    size = 37
    truth = out_of_core.rigid(2.0, (3.0, -1.5), size)
    theta = truth + np.array([[[1e-3, -2e-3, 4e-3], [2e-3, 5e-4, -3e-3]]])
    ys, xs = np.mgrid[0:size, 0:size]
    points = np.stack([(2 * xs + 1) / size - 1, (2 * ys + 1) / size - 1, np.ones_like(xs)], -1)
    error = points @ (theta[0] - truth[0]).T * size / 2
    expected = np.sqrt(np.mean(np.sum(error ** 2, -1)))
    assert abs(out_of_core.rms_pixels(theta, truth, size) - expected) < 1e-12 * expected


def test_scipy_matrix_warps_like_warpkit():
    size = 40
    image = np.random.default_rng(0).random((size, size))
    matrix, offset = out_of_core._scipy_matrix(out_of_core.THETA, size)
    theirs = ndimage.affine_transform(image, matrix, offset, order=1, mode="constant")
    ours = warpkit.warp_affine(image[None, None], out_of_core.THETA)[0, 0]
    inner = slice(8, -8)
    np.testing.assert_allclose(ours[inner, inner], theirs[inner, inner], atol=1e-12)


def test_mosaic_and_scene_blocks():
    info = {None: {"array-location": [(0, 8), (4, 12)]}}
    block = out_of_core.mosaic_block(info, size=64, tile=8)
    assert block.shape == (8, 8) and block.dtype == np.float32
    assert 0.0 <= block.min() and block.max() <= 1.0
    scene = out_of_core.scene_block(info, size=64, inverse=np.eye(2, 3))
    assert scene.shape == (8, 8) and np.all(scene[:, :1] == scene[:, :1])
