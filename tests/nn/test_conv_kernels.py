"""The im2col / col2im Numba kernels against a direct NumPy loop, in float32 and float64."""

import itertools

import numpy as np
import pytest

from warpkit.nn import _conv_kernels as kernels

#: (x shape (M, C, D, H, W), kernel (kd, kh, kw), padding (pd, ph, pw), stride):
#: images (D = 1, pd = 0) and volumes, with padding wider than the kernel
#: (whole rows of padding) and strides that leave a remainder.
GEOMETRIES = [
    ((2, 3, 1, 7, 6), (1, 3, 2), (0, 0, 0), 1),
    ((2, 3, 1, 7, 6), (1, 3, 3), (0, 1, 1), 1),
    ((2, 2, 1, 7, 8), (1, 3, 3), (0, 2, 2), 2),
    ((1, 2, 1, 5, 5), (1, 2, 2), (0, 3, 3), 3),
    ((3, 1, 1, 5, 5), (1, 5, 5), (0, 0, 0), 1),
    ((2, 2, 5, 4, 6), (3, 2, 2), (1, 1, 1), 2),
    ((1, 2, 4, 5, 3), (2, 3, 2), (2, 2, 2), 1),
]


def out_size(shape, kernel, pads, stride):
    return tuple((size + 2 * pad - k) // stride + 1
                 for size, k, pad in zip(shape[2:], kernel, pads))


def reference_columns(x, kernel, pads, stride):
    """``cols[k, s, p]``: tap ``k`` of window ``p`` of sample ``s``, by a direct loop."""
    padded = np.pad(x, ((0, 0), (0, 0)) + tuple((pad, pad) for pad in pads))
    do, ho, wo = out_size(x.shape, kernel, pads, stride)
    m, channels = x.shape[:2]
    cols = np.empty((channels * int(np.prod(kernel)), m, do * ho * wo), dtype=x.dtype)
    for c, a, b, e in itertools.product(range(channels), *map(range, kernel)):
        k = ((c * kernel[0] + a) * kernel[1] + b) * kernel[2] + e
        taps = padded[:, c, a:a + stride * (do - 1) + 1:stride, b:b + stride * (ho - 1) + 1:stride,
                      e:e + stride * (wo - 1) + 1:stride]
        cols[k] = taps.reshape(m, -1)
    return cols


def reference_add_columns(cols, x_shape, kernel, pads, stride):
    """The adjoint of :func:`reference_columns`, window by window."""
    padded = np.zeros(x_shape[:2] + tuple(s + 2 * p for s, p in zip(x_shape[2:], pads)),
                      dtype=cols.dtype)
    do, ho, wo = out_size(x_shape, kernel, pads, stride)
    channels = x_shape[1]
    for c, a, b, e in itertools.product(range(channels), *map(range, kernel)):
        k = ((c * kernel[0] + a) * kernel[1] + b) * kernel[2] + e
        padded[:, c, a:a + stride * (do - 1) + 1:stride, b:b + stride * (ho - 1) + 1:stride,
               e:e + stride * (wo - 1) + 1:stride] += cols[k].reshape(-1, do, ho, wo)
    d, h, w = x_shape[2:]
    return padded[:, :, pads[0]:pads[0] + d, pads[1]:pads[1] + h, pads[2]:pads[2] + w]


def run_im2col(x, kernel, pads, stride):
    do, ho, wo = out_size(x.shape, kernel, pads, stride)
    cols = np.full((x.shape[1] * int(np.prod(kernel)), x.shape[0], do * ho * wo), np.nan,
                   dtype=x.dtype)  # every entry must be written
    kernels.im2col(x, cols, *kernel, *pads, stride)
    return cols


def run_col2im(cols, x_shape, kernel, pads, stride):
    dx = np.zeros(x_shape, dtype=cols.dtype)
    kernels.col2im(cols, dx, *kernel, *pads, stride)
    return dx


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, pads, stride", GEOMETRIES)
def test_im2col_matches_a_direct_loop(dtype, shape, kernel, pads, stride):
    x = np.random.default_rng(0).normal(size=shape).astype(dtype)
    cols = run_im2col(x, kernel, pads, stride)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, reference_columns(x, kernel, pads, stride))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, pads, stride", GEOMETRIES)
def test_col2im_matches_a_direct_loop(dtype, shape, kernel, pads, stride):
    rng = np.random.default_rng(1)
    cols_shape = reference_columns(np.zeros(shape), kernel, pads, stride).shape
    cols = rng.normal(size=cols_shape).astype(dtype)
    dx = run_col2im(cols, shape, kernel, pads, stride)
    expected = reference_add_columns(cols.astype(np.float64), shape, kernel, pads, stride)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dx, expected, rtol=0, atol=tolerance * np.abs(expected).max())


@pytest.mark.parametrize("shape, kernel, pads, stride", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, pads, stride):
    """<im2col(x), c> = <x, col2im(c)> for random x and c."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape)
    cols = run_im2col(x, kernel, pads, stride)
    c = rng.normal(size=cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * run_col2im(c, shape, kernel, pads, stride))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12 * np.abs(cols * c).sum())


def test_col2im_adds_to_what_is_there():
    x_shape, kernel, pads, stride = GEOMETRIES[1]
    cols = np.ones(reference_columns(np.zeros(x_shape), kernel, pads, stride).shape)
    once = run_col2im(cols, x_shape, kernel, pads, stride)
    twice = once.copy()
    kernels.col2im(cols, twice, *kernel, *pads, stride)
    np.testing.assert_array_equal(twice, 2 * once)


@pytest.mark.parametrize("size, k, padding, stride", [(7, 3, 0, 1), (7, 3, 2, 2), (5, 2, 3, 3),
                                                       (4, 4, 0, 1), (6, 1, 1, 2)])
def test_valid_range_is_where_taps_read_inside(size, k, padding, stride):
    count = (size + 2 * padding - k) // stride + 1
    for offset in range(k):
        inside = [j for j in range(count) if 0 <= j * stride + offset - padding < size]
        lo, hi = kernels.valid_range(size, count, offset, padding, stride)
        assert list(range(lo, hi)) == inside
