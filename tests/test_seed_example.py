"""The worked example of ``docs/worked_example.rst`` on another image.

A 4x4 image, output pixel (1, 1) reads input (2.5, 2.5); the conventions
are those of ``docs/conventions.rst``.
"""

import numpy as np
import pytest

import warpkit
from warpkit.coords import normalized_from_pixel, pixel_from_normalized

IMAGE = np.arange(16.0).reshape(1, 1, 4, 4)   # pixel (x, y) holds 4 * y + x
# The image is linear in (x, y), and bilinear interpolation reproduces a linear
# function exactly: at (x, y) = (2.5, 2.5) it reads 4 * 2.5 + 2.5 (which is also
# the mean of the four pixels around that point, rows 2-3 and columns 2-3).
EXPECTED = 4 * 2.5 + 2.5


def test_pixel_coordinates_through_the_transform_objects(align_corners):
    shift = warpkit.AffineTransform(translation=(1.5, 1.5))   # input_from_output, in pixels
    np.testing.assert_array_equal(shift([[1.0, 1.0]]), [[2.5, 2.5]])
    theta = shift.to_normalized((4, 4), align_corners=align_corners)[None]
    grid = warpkit.affine_grid(theta, IMAGE.shape, align_corners)
    # The grid of output pixel (1, 1), read back in pixels, is (2.5, 2.5).
    np.testing.assert_allclose(pixel_from_normalized(grid[0, 1, 1], (4, 4), align_corners),
                               [2.5, 2.5], rtol=0, atol=1e-12)
    for out in (warpkit.grid_sample(IMAGE, grid, align_corners=align_corners),
                warpkit.warp_affine(IMAGE, theta, align_corners=align_corners)):
        assert out[0, 0, 1, 1] == pytest.approx(EXPECTED, abs=1e-12)


def test_normalized_api_by_hand():
    # align_corners=False on 4 pixels: normalized = (2 * pixel + 1) / 4 - 1.
    out_xy = normalized_from_pixel([1.0, 1.0], (4, 4))        # -0.25
    in_xy = normalized_from_pixel([2.5, 2.5], (4, 4))         # 0.5
    np.testing.assert_allclose(out_xy, [-0.25, -0.25])
    np.testing.assert_allclose(in_xy, [0.5, 0.5])
    theta = np.array([[[1.0, 0.0, 0.75], [0.0, 1.0, 0.75]]])  # adds in_xy - out_xy
    out = warpkit.warp_affine(IMAGE, theta)
    assert out[0, 0, 1, 1] == EXPECTED
    np.testing.assert_array_equal(out, warpkit.grid_sample(IMAGE, warpkit.affine_grid(
        theta, IMAGE.shape)))


def test_every_output_pixel_is_the_bilinear_mean_of_its_neighbours():
    # Every output pixel (i, j) reads (j + 1.5, i + 1.5); taps outside read 0.
    padded = np.zeros((6, 6))
    padded[:4, :4] = IMAGE[0, 0]
    expected = (padded[1:5, 1:5] + padded[1:5, 2:6] + padded[2:6, 1:5] + padded[2:6, 2:6]) / 4
    theta = warpkit.AffineTransform(translation=(1.5, 1.5)).to_normalized((4, 4))[None]
    np.testing.assert_allclose(warpkit.warp_affine(IMAGE, theta)[0, 0], expected, atol=1e-12)
