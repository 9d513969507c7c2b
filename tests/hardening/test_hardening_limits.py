"""Index arithmetic beyond 2**31 elements, and float32 against float64."""

import numpy as np
import pytest

import warpkit
from warpkit._validate import physical_memory
from warpkit.backends.chunks import plan_chunks, row_chunks

BIG = 2**33 + 5


def test_chunk_plans_are_exact_beyond_2_31_rows():
    starts = row_chunks(BIG, 3)
    assert starts.dtype == np.int64 and starts[-1] == BIG
    assert np.all(np.diff(starts) >= BIG // 3)
    starts, buffers, count = plan_chunks(2**20, 2**13 + 1, 3)
    assert starts[-1] == 2**20 * (2**13 + 1) and count == 1
    starts, buffers, count = plan_chunks(1, BIG, 2)
    assert starts.tolist() == [0, (BIG + 1) // 2, BIG] and buffers.tolist() == [0, 1]


@pytest.mark.slow
@pytest.mark.skipif((physical_memory() or 0) < 60 * 2**30, reason="needs >= 60 GiB of memory")
def test_real_arrays_beyond_2_31_elements():
    # An input of 2**31 + 2 * 46341 elements: read its last pixels through the sampler.
    side = 46342
    image = np.zeros((1, 1, side, side), dtype=np.float32)
    assert image.size > 2**31
    image[0, 0, -1, -3:] = [1.0, 2.0, 3.0]
    corner = [[[[(2 * x + 1) / side - 1, 1 - 1 / side] for x in (side - 3, side - 2, side - 1)]]]
    out = warpkit.grid_sample(image, np.array(corner, dtype=np.float32), mode="nearest")
    np.testing.assert_array_equal(out[0, 0, 0], [1.0, 2.0, 3.0])
    out = warpkit.warp_affine(image, np.eye(2, 3)[None], size=(2, 3))
    assert np.isfinite(out).all()
    del image, out
    # An output of more than 2**31 elements: every row and column written correctly.
    small = np.arange(4.0, dtype=np.float32).reshape(1, 1, 2, 2)
    width = 2**31 // 3 + 7
    out = warpkit.warp_affine(small, np.eye(2, 3)[None], size=(3, width), mode="nearest",
                              padding_mode="border")
    assert out.size > 2**31
    assert out[0, 0, -1, 0] == 2.0 and out[0, 0, -1, -1] == 3.0 and out[0, 0, 0, -1] == 1.0


# ------------------------------------------------------------- float32 vs float64

#: float32 results are within this of the float64 result, relative to max |input|.
#: float32 images are computed in float32 (as PyTorch does): the coordinate's
#: rounding error, ~1e-7 relative to a pixel index of up to ~12 here, times
#: the image's slope (up to 2 * max |input| per pixel), plus the weights'.
FLOAT32_TOLERANCE = 1e-5


def test_float32_stays_close_to_float64(mode, padding_mode, align_corners):
    rng = np.random.default_rng(3)
    image = rng.uniform(-100, 100, (2, 2, 9, 11))
    grid = rng.uniform(-1.3, 1.3, (2, 7, 8, 2)).astype(np.float32)  # exact in both dtypes
    theta = np.eye(2, 3)[None] + rng.uniform(-0.3, 0.3, (2, 2, 3))
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    scale = np.abs(image).max()
    pairs = [
        (warpkit.grid_sample(image.astype(np.float32), grid, **options),
         warpkit.grid_sample(image, grid.astype(np.float64), **options)),
        (warpkit.warp_affine(image.astype(np.float32), theta, **options),
         warpkit.warp_affine(image, theta, **options)),
    ]
    grads32 = warpkit.grid_sample_vjp(image.astype(np.float32), grid, pairs[0][0], **options)
    grads64 = warpkit.grid_sample_vjp(image, grid.astype(np.float64), pairs[0][1], **options)
    for got, want in pairs:
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=FLOAT32_TOLERANCE * scale)
    np.testing.assert_allclose(grads32[0], grads64[0], rtol=0,
                               atol=FLOAT32_TOLERANCE * 20 * scale * np.abs(grads64[0]).max()
                               / scale)
