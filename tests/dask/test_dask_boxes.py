"""warpkit.dask._boxes: every tap an output chunk reads lies in its source box.

Checked against brute force: the pixel coordinates of every output pixel
(from the grid generators), padded with the reference padding of
``tests/reference.py``, and the taps each mode reads there.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import warpkit  # noqa: E402
from warpkit.dask import _boxes  # noqa: E402
from warpkit.tps import evaluate_tps, solve_tps  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from reference import pad_coordinate, pixel_coordinate  # noqa: E402

PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}


def _taps(coordinates, size, padding, align_corners):
    """Every index a bilinear, nearest or bicubic sample at these normalized
    coordinates reads on an axis of ``size`` pixels (brute force)."""
    x = pixel_coordinate(np.asarray(coordinates, np.float64), size, align_corners)
    taps = []
    padded = pad_coordinate(x, size, padding, align_corners)
    floor = np.floor(padded)
    taps += [floor, floor + 1, np.rint(padded)]  # bilinear, nearest
    for k in range(-1, 3):  # bicubic pads every tap
        taps.append(pad_coordinate(np.floor(x) + k, size, padding, align_corners))
    taps = np.concatenate([np.ravel(t) for t in taps]).astype(np.int64)
    return taps[(taps >= 0) & (taps < size)]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(low=st.floats(-3.0, 3.0), width=st.floats(0.0, 4.0), size=st.integers(1, 40),
       padding=st.sampled_from(list(PADDINGS)), align_corners=st.booleans())
def test_tap_range_holds_every_tap(low, width, size, padding, align_corners):
    high = low + width
    coordinates = np.linspace(low, high, 801)
    taps = _taps(coordinates, size, padding, align_corners)
    box = _boxes.tap_range(low, high, size, PADDINGS[padding], align_corners)
    if box is None:
        assert taps.size == 0
        return
    assert taps.size == 0 or (box[0] <= taps.min() and taps.max() <= box[1])
    if padding == "zeros" and taps.size:  # and it is not loose
        assert taps.min() - box[0] <= 4 and box[1] - taps.max() <= 4


def test_tap_range_far_and_nan_coordinates():
    assert _boxes.tap_range(-np.inf, -np.inf, 10, 0, False) is None
    assert _boxes.tap_range(-np.inf, -np.inf, 10, 1, False) == (0, 2)  # the first column
    assert _boxes.tap_range(-np.inf, np.inf, 10, 2, True) == (0, 9)
    assert _boxes.tap_range(np.nan, np.nan, 10, 0, False) == (0, 3)  # NaN reads as -1
    with pytest.raises(ValueError, match="low <= high"):
        _boxes.tap_range(1.0, 0.0, 10, 0, False)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(low=st.floats(0.0, 3.0), width=st.floats(0.0, 3.0))
def test_slope_bound_is_the_maximum(low, width):
    r = np.linspace(low, low + width, 20001)
    slopes = np.abs(2 * r * np.log(np.where(r > 0, r, 1.0)) + r)  # |U'(r)| = |2 r log r + r|
    bound = float(_boxes.slope_bound(np.array([low]), np.array([low + width]))[0])
    assert slopes.max() <= bound * (1 + 1e-12) + 1e-15
    assert slopes.max() >= bound * (1 - 1e-4) - 1e-12  # tight


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), count=st.integers(3, 12),
       scale=st.floats(0.01, 1.0))
def test_tps_lipschitz_bounds_the_gradient(seed, count, scale):
    rng = np.random.default_rng(seed)
    controls = rng.uniform(-1, 1, (count, 2))
    targets = controls + scale * rng.standard_normal((1, count, 2))
    try:
        coefficients = solve_tps(controls, targets, regularization=1e-3)
    except ValueError:  # collinear draws
        return
    low = rng.uniform(-1.2, 0.5, 2)
    high = low + rng.uniform(0.0, 0.8, 2)
    bound = _boxes.tps_lipschitz(coefficients[0], controls, low, high)
    points = rng.uniform(low, high, (400, 2))
    step = 1e-6
    for axis in range(2):
        shift = np.zeros(2)
        shift[axis] = step
        plus = evaluate_tps(coefficients, controls, points + shift)[0]
        minus = evaluate_tps(coefficients, controls, points - shift)[0]
        if axis == 0:
            dx = (plus - minus) / (2 * step)
        else:
            dy = (plus - minus) / (2 * step)
    norms = np.hypot(dx, dy)  # (M, 2): |grad f_j| per output coordinate j
    assert np.all(norms <= bound * (1 + 1e-6) + 1e-6)


def test_tps_ranges_hold_every_pixel_of_a_chunk():
    rng = np.random.default_rng(3)
    controls = warpkit.control_point_grid(16)
    targets = controls[None] + 0.15 * rng.standard_normal((1, 16, 2))
    coefficients = solve_tps(controls, targets)
    grid = warpkit.tps_grid(controls, targets, (1, 1, 40, 50))[0]  # (40, 50, 2)
    block = grid[10:27, 5:31]
    xs = warpkit.coords.normalized_base_coordinates(50)
    ys = warpkit.coords.normalized_base_coordinates(40)
    low, high = np.array([xs[5], ys[10]]), np.array([xs[30], ys[26]])
    ranges = _boxes.tps_ranges(coefficients[0], controls, low, high, np.array([25.0, 20.0]),
                               lambda p: evaluate_tps(coefficients, controls, p)[0])
    for axis in range(2):
        assert ranges[axis, 0] <= block[..., axis].min()
        assert block[..., axis].max() <= ranges[axis, 1]
        # and the margin stays about a pixel
        assert ranges[axis, 1] - block[..., axis].max() < 3.0 / 20


def test_perspective_ranges_cases():
    corners = _boxes._corners([(-1.0, 1.0), (-1.0, 1.0)])
    identity = np.eye(3)
    assert np.allclose(_boxes.perspective_ranges(identity, corners), [[-1, 1], [-1, 1]])
    behind = np.diag([1.0, 1.0, -1.0])
    assert np.all(_boxes.perspective_ranges(behind, corners) <= -1e29)
    horizon = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0.2]])  # w changes sign
    assert np.array_equal(_boxes.perspective_ranges(horizon, corners),
                          [[-np.inf, np.inf], [-np.inf, np.inf]])
