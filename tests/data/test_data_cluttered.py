"""distort_cluttered, DeepMind's mnist-cluttered generator, on images whose answer is known."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from warpkit.data import distort_cluttered

SIDE, CANVAS = 28, 60
ROOM = CANVAS - SIDE  # 32: the digit's top-left corner lies in [0, 32]


def coded(n, side=SIDE):
    """n images (n, 1, side, side) whose every pixel holds its own value in (0, 0.25].

    The value tells which image and which pixel it is: see :func:`decode`.
    A digit plus one distractor stays below 1, so nothing is clipped.
    """
    return np.arange(1, n * side * side + 1).reshape(n, 1, side, side) / (4.0 * n * side * side)


def decode(value, n, side=SIDE):
    """(image, row, column) of the pixel of ``coded(n, side)`` that holds ``value``."""
    flat = int(np.rint(value * 4.0 * n * side * side)) - 1
    image, rest = divmod(flat, side * side)
    return (image,) + divmod(rest, side)


def digit_corners(canvases):
    """Top-left corner (row, column) of the all-ones digit on each canvas (no clutter)."""
    ink = canvases[:, 0] > 0.5
    return np.stack([ink.any(axis=2).argmax(axis=1), ink.any(axis=1).argmax(axis=1)], axis=1)


def test_the_whole_digit_lies_inside_the_canvas():
    digits = np.ones((200, 1, SIDE, SIDE), dtype=np.float32)
    out = distort_cluttered(digits, np.random.default_rng(0), distractors=0)
    assert out.shape == (200, 1, CANVAS, CANVAS) and out.dtype == np.float32
    # Nothing of the digit is cut off, and it is moved by whole pixels: a 28x28 block of ones.
    assert (out.sum(axis=(1, 2, 3)) == SIDE * SIDE).all()
    corners = digit_corners(out)
    for (row, col), canvas in zip(corners, out[:, 0]):
        assert (canvas[row:row + SIDE, col:col + SIDE] == 1).all()
    assert corners.min() >= 0 and corners.max() <= ROOM


def test_the_place_is_uniform_over_the_canvas():
    out = distort_cluttered(np.ones((1000, 1, SIDE, SIDE), dtype=np.float32), 1, distractors=0)
    corners = digit_corners(out)
    for axis in range(2):
        counts = np.bincount(corners[:, axis], minlength=ROOM + 1)
        assert len(counts) == ROOM + 1 and counts.min() > 0  # every place 0..32 is used
        assert abs(corners[:, axis].mean() - ROOM / 2) < 1.0  # mean 16, sd of the mean 0.3


def test_each_distractor_is_a_crop_of_another_digit():
    n = 4
    digits = coded(n)
    crops = []  # (canvas digit, cropped digit, crop row, crop column)
    for seed in range(20):
        out = distort_cluttered(digits, seed, distractors=1, distractor_size=6)
        for i in range(n):
            canvas = out[i, 0]
            # The digit: the only 28x28 window that matches it outside one 6x6 patch.
            windows = sliding_window_view(canvas, (SIDE, SIDE))
            mismatches = (~np.isclose(windows, digits[i, 0], rtol=0, atol=1e-12)).sum(axis=(2, 3))
            row, col = np.unravel_index(np.argmin(mismatches), mismatches.shape)
            assert mismatches[row, col] <= 36
            rest = canvas.copy()
            rest[row:row + SIDE, col:col + SIDE] -= digits[i, 0]
            # What is left is one 6x6 block, equal to a 6x6 crop of a digit.
            rows, cols = np.nonzero(rest > 1e-9)
            top, left = rows.min(), cols.min()
            assert rows.max() - top == 5 and cols.max() - left == 5 and len(rows) == 36
            patch = rest[top:top + 6, left:left + 6]
            j, r, c = decode(patch[0, 0], n)
            np.testing.assert_allclose(patch, digits[j, 0, r:r + 6, c:c + 6], rtol=0, atol=1e-12)
            crops.append((i, j, r, c))
    crops = np.array(crops)
    # Always another digit, drawn at random among the others; the crop at a random place.
    assert (crops[:, 0] != crops[:, 1]).all()
    for i in range(n):
        assert set(crops[crops[:, 0] == i, 1]) == set(range(n)) - {i}
    assert crops[:, 2:].min() >= 0 and crops[:, 2:].max() <= SIDE - 6
    assert np.ptp(crops[:, 2]) > 10 and np.ptp(crops[:, 3]) > 10


def test_distractors_from_separate_sources():
    pool = coded(5)
    out = distort_cluttered(np.zeros((100, 1, SIDE, SIDE)), 3, distractors=1, sources=pool)
    places = []
    for canvas in out[:, 0]:
        rows, cols = np.nonzero(canvas)
        assert len(rows) == 36  # one 6x6 crop, nothing else
        patch = canvas[rows.min():rows.min() + 6, cols.min():cols.min() + 6]
        j, r, c = decode(patch[0, 0], 5)
        np.testing.assert_allclose(patch, pool[j, 0, r:r + 6, c:c + 6], rtol=0, atol=1e-12)
        places.append((rows.min(), cols.min()))
    # Placed at random anywhere on the canvas where the crop fits.
    places = np.array(places)
    assert places.min() >= 0 and places.max() <= CANVAS - 6
    assert np.ptp(places[:, 0]) > 48 and np.ptp(places[:, 1]) > 48


def count_distractors(out, value):
    """Number of distractors on each canvas whose distractors all hold ``value`` (no digit)."""
    return out.sum(axis=(1, 2, 3)) / (value * 36)


def test_the_number_and_size_of_distractors():
    pool = np.full((4, 1, SIDE, SIDE), 0.01)
    blank = np.zeros((6, 1, SIDE, SIDE))
    for distractors in (0, 1, 6, 9):
        out = distort_cluttered(blank, 0, distractors=distractors, sources=pool)
        np.testing.assert_allclose(count_distractors(out, 0.01), distractors, rtol=1e-9)
    out = distort_cluttered(blank, 0, distractors=1, distractor_size=8, sources=pool)
    assert ((out > 0).sum(axis=(1, 2, 3)) == 64).all()


def test_overlaps_add_and_are_clipped_as_in_the_generator():
    # A grey digit (0.5) among bright clutter (0.7): where clutter lies on clutter
    # or on the digit the sum is clipped to 1; the digit itself is never hidden.
    digits = np.full((20, 1, SIDE, SIDE), 0.5)
    pool = np.full((3, 1, SIDE, SIDE), 0.7)
    out = distort_cluttered(digits, 4, distractors=20, sources=pool)
    values = set(np.unique(np.round(out, 12)))
    assert values <= {0.0, 0.5, 0.7, 1.0} and {0.0, 0.5, 0.7, 1.0} <= values
    assert ((out >= 0.5).sum(axis=(1, 2, 3)) >= SIDE * SIDE).all()


def test_strength_zero_centres_the_digit_without_clutter():
    digits = coded(4)
    out = distort_cluttered(digits, 0, strength=0.0)
    centre = ROOM // 2
    np.testing.assert_array_equal(out[:, :, centre:centre + SIDE, centre:centre + SIDE], digits)
    assert out.sum() == pytest.approx(digits.sum(), rel=1e-12)


@pytest.mark.parametrize("strength", [0.25, 0.5, 1.0])
def test_strength_scales_the_offset_and_the_distractors(strength):
    out = distort_cluttered(np.ones((400, 1, SIDE, SIDE)), 5, distractors=0, strength=strength)
    offsets = digit_corners(out) - ROOM // 2
    reach = strength * ROOM / 2
    assert np.abs(offsets).max() == pytest.approx(reach)  # the farthest offset is reached
    pool = np.full((4, 1, SIDE, SIDE), 0.01)
    out = distort_cluttered(np.zeros((3, 1, SIDE, SIDE)), 5, distractors=5, sources=pool,
                            strength=strength)
    # round(strength * 5), halves up: 1.25 -> 1, 2.5 -> 3, 5 -> 5.
    expected = {0.25: 1, 0.5: 3, 1.0: 5}[strength]
    np.testing.assert_allclose(count_distractors(out, 0.01), expected, rtol=1e-9)


def test_one_image_needs_separate_sources():
    one = np.ones((1, 1, SIDE, SIDE))
    with pytest.raises(ValueError, match="at least 2 images"):
        distort_cluttered(one, 0)
    # Without distractors (or with other sources) one image is fine.
    assert distort_cluttered(one, 0, strength=0.0).sum() == SIDE * SIDE
    assert distort_cluttered(one, 0, sources=one).shape == (1, 1, CANVAS, CANVAS)
    assert distort_cluttered(np.zeros((0, 1, SIDE, SIDE)), 0).shape == (0, 1, CANVAS, CANVAS)


def test_rectangular_canvas_and_channels():
    digits = np.ones((5, 3, SIDE, 20), dtype=np.float64)
    out = distort_cluttered(digits, 0, canvas=(40, 50), distractors=0)
    assert out.shape == (5, 3, 40, 50) and out.dtype == np.float64
    assert (out.sum(axis=(2, 3)) == SIDE * 20).all()


def replayed(images, seed, canvas, distractors, size, strength):
    """distort_cluttered step by step: the same draws, each block added by plain slicing."""
    rng = np.random.default_rng(seed)
    n, channels, height, width = images.shape
    room = np.array([canvas[0] - height, canvas[1] - width])
    drawn = rng.integers(0, room + 1, size=(n, 2))
    corners = np.rint(room / 2 + strength * (drawn - room / 2)).astype(np.int64)
    count = int(np.floor(strength * distractors + 0.5))
    picks = (np.arange(n)[:, None] + rng.integers(1, n, size=(n, count))) % n
    crops = rng.integers(0, [height - size + 1, width - size + 1], size=(n, count, 2))
    places = rng.integers(0, [canvas[0] - size + 1, canvas[1] - size + 1], size=(n, count, 2))
    out = np.zeros((n, channels) + canvas, dtype=images.dtype)
    for i in range(n):
        for k in range(count):
            (row, col), (top, left) = crops[i, k], places[i, k]
            out[i, :, top:top + size, left:left + size] += (
                images[picks[i, k], :, row:row + size, col:col + size])
        top, left = corners[i]
        out[i, :, top:top + height, left:left + width] += images[i]
    return np.clip(out, 0.0, 1.0)


@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_same_canvases_as_the_generator_replayed_image_by_image(strength):
    # Bit for bit: the same draws in the same order, the same sums in the same
    # order (float32 values below 0.1: overlaps of three and more are not clipped).
    images = np.random.default_rng(6).random((7, 2, 12, 10), dtype=np.float32) / 10
    out = distort_cluttered(images, 8, canvas=(20, 20), distractors=12, distractor_size=5,
                            strength=strength)
    np.testing.assert_array_equal(out, replayed(images, 8, (20, 20), 12, 5, strength))
