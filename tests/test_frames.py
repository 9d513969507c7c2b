"""Input windows ("frames") in the 2-D CPU kernels.

A call may get a crop of the input and its frame ``(height, width, top, left)``:
it must compute, bit for bit, what the call on the whole input computes for
the output pixels it covers, as long as the crop holds every tap they read.
Each test splits the output into uneven windows, gives each window the
smallest box of input pixels its taps read (found by brute force from the
full sampling grid, then one pixel more on every side for the rounding of the
float32 coordinates), and assembles the results.
"""

import zlib

import numpy as np
import pytest

import warpkit
from warpkit._args import SampleArgs, WarpArgs, check_frame, full_frame
from warpkit.backends import cpu
from warpkit.families import FAMILIES
from warpkit.tps import solve_tps

from reference import pad_coordinate, pixel_coordinate

MODES = ("bilinear", "nearest", "bicubic")
PADDINGS = ("zeros", "border", "reflection")
OPTIONS = [(mode, padding, align_corners, dtype) for mode in MODES for padding in PADDINGS
           for align_corners in (False, True) for dtype in (np.float32, np.float64)]
IN_SIZE = (16, 19)
OUT_SIZE = (11, 13)
# uneven output windows: row and column cuts
ROW_CUTS = (0, 1, 5, 11)
COL_CUTS = (0, 4, 6, 13)


def windows():
    for r0, r1 in zip(ROW_CUTS[:-1], ROW_CUTS[1:]):
        for c0, c1 in zip(COL_CUTS[:-1], COL_CUTS[1:]):
            yield (r0, c0), (r1, c1)


def axis_taps(coords, size, mode, padding, align_corners):
    """The input indices along one axis that normalized ``coords`` read (float64)."""
    g = np.where(np.isnan(coords), -1.0, coords).astype(np.float64).ravel()
    x = pixel_coordinate(g, size, align_corners)
    if mode == "bicubic":  # bicubic pads each of its 4 taps
        taps = pad_coordinate(np.floor(x)[:, None] + np.arange(-1, 3), size, padding,
                              align_corners)
        taps = np.trunc(taps)
    else:  # bilinear's two cells; nearest rounds to one of them
        x = pad_coordinate(x, size, padding, align_corners)
        taps = np.floor(x)[:, None] + np.arange(2)
    taps = taps[(taps >= 0) & (taps < size)]
    return taps.astype(np.int64)


def crop_box(grid, shape, mode, padding, align_corners, margin=1):
    """``(top, left, bottom, right)``: the input box holding every tap that
    ``grid`` (N, h, w, 2) reads, ``margin`` pixels more on each side."""
    height, width = shape
    xs = axis_taps(grid[..., 0], width, mode, padding, align_corners)
    ys = axis_taps(grid[..., 1], height, mode, padding, align_corners)
    if xs.size == 0 or ys.size == 0:  # reads nothing: any crop will do
        return 0, 0, 1, 1
    return (max(ys.min() - margin, 0), max(xs.min() - margin, 0),
            min(ys.max() + 1 + margin, height), min(xs.max() + 1 + margin, width))


def random_theta(rng, batch):
    theta = np.zeros((batch, 2, 3))
    theta[:, :, :2] = np.diag(rng.uniform(0.5, 1.1, 2)) + rng.uniform(-0.15, 0.15, (2, 2))
    theta[:, :, 2] = rng.uniform(-0.35, 0.35, (batch, 2))
    return theta


def random_homography(rng, batch):
    h = np.zeros((batch, 3, 3))
    h[:, :2] = random_theta(rng, batch)
    h[:, 2] = [0.0, 0.0, 1.0]
    h[:, 2, :2] = rng.uniform(-0.15, 0.15, (batch, 2))
    return h


def family_case(name, rng, align_corners, shared_centres=True):
    """``(family, parameter values, full sampling grid)`` of a random warp."""
    if name == "affine":
        theta = random_theta(rng, 2)
        return FAMILIES[name], (theta,), warpkit.affine_grid(
            theta, (2, 1) + OUT_SIZE, align_corners=align_corners)
    if name == "perspective":
        h = random_homography(rng, 2)
        return FAMILIES[name], (h,), warpkit.perspective_grid(
            h, (2, 1) + OUT_SIZE, align_corners=align_corners)
    controls = warpkit.control_point_grid(9)
    targets = 0.7 * controls + rng.uniform(-0.15, 0.15, (2,) + controls.shape)
    centres = controls if shared_centres else np.stack([controls, controls])
    return FAMILIES[name], (solve_tps(controls, targets), centres), warpkit.tps_grid(
        controls, targets, (2, 1) + OUT_SIZE, align_corners=align_corners)


def tight_crops(grid, image, mode, padding, align_corners):
    """Per output window: ``(start, stop, crop, frame)`` with the tight crop."""
    for start, stop in windows():
        top, left, bottom, right = crop_box(grid[:, start[0]:stop[0], start[1]:stop[1]],
                                            image.shape[2:], mode, padding, align_corners)
        yield start, stop, image[:, :, top:bottom, left:right], (*image.shape[2:], top, left)


def region(start, stop):
    return (Ellipsis, slice(start[0], stop[0]), slice(start[1], stop[1]))


def assert_sums_close(total, abs_total, expected, dtype, unit):
    """``total`` (a sum of windows' parts, ``abs_total`` the sum of their magnitudes)
    equals ``expected`` to the rounding of ``dtype`` sums of terms up to about ``unit``
    (the parts themselves are sums, which may cancel)."""
    tolerance = 64 * np.finfo(dtype).eps * (abs_total + unit)
    assert np.all(np.abs(total - expected) <= tolerance), np.max(np.abs(total - expected))


@pytest.mark.parametrize("family_name", ("affine", "perspective", "tps"))
@pytest.mark.parametrize("mode, padding, align_corners, dtype", OPTIONS)
def test_windowed_fused_warps_are_bit_identical(family_name, mode, padding, align_corners,
                                                 dtype):
    seed = f"{family_name} {mode} {padding} {align_corners}"
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    image = rng.standard_normal((2, 2) + IN_SIZE).astype(dtype)
    family, values, grid = family_case(family_name, rng, align_corners,
                                       shared_centres=dtype == np.float32)
    args = WarpArgs(image, OUT_SIZE, mode, padding, align_corners)
    params = cpu.parameters(family, args, values)
    expected = cpu.fused_forward(family, args, image, params)
    grad_output = rng.standard_normal(expected.shape).astype(dtype)
    expected_input, expected_params = cpu.fused_vjp(family, args, image, params, grad_output,
                                                    True, True)
    out = np.full_like(expected, np.nan)
    grad_input = np.zeros_like(image)
    abs_input = np.zeros_like(image)
    grad_params = [np.zeros_like(g) for g in expected_params]
    abs_params = [np.zeros_like(g) for g in expected_params]
    cropped = 0
    for start, stop, crop, frame in tight_crops(grid, image, mode, padding, align_corners):
        cropped += crop.shape[2:] != image.shape[2:]
        window_args = WarpArgs.windowed(crop, OUT_SIZE, start, stop, mode, padding,
                                        align_corners)
        out[region(start, stop)] = cpu.fused_forward(family, window_args, crop, params,
                                                      frame=frame)
        part_input, part_params = cpu.fused_vjp(family, window_args, crop, params,
                                                grad_output[region(start, stop)], True, True,
                                                frame=frame)
        assert part_input.shape == crop.shape
        box = (Ellipsis, slice(frame[2], frame[2] + crop.shape[2]),
               slice(frame[3], frame[3] + crop.shape[3]))
        grad_input[box] += part_input
        abs_input[box] += np.abs(part_input)
        for total, magnitude, part in zip(grad_params, abs_params, part_params):
            total += part
            magnitude += np.abs(part)
    assert cropped >= 5, "the windows should read proper crops of the input"
    assert np.array_equal(out, expected)
    assert_sums_close(grad_input, abs_input, expected_input, dtype, np.abs(grad_output).max())
    for total, magnitude, full in zip(grad_params, abs_params, expected_params):
        assert_sums_close(total, magnitude, full, np.float64, np.abs(full).max())


@pytest.mark.parametrize("mode, padding, align_corners, dtype", OPTIONS)
def test_windowed_grid_sample_is_bit_identical(mode, padding, align_corners, dtype):
    rng = np.random.default_rng(zlib.crc32(f"{mode} {padding} {align_corners}".encode()))
    image = rng.standard_normal((2, 3) + IN_SIZE).astype(dtype)
    grid = warpkit.affine_grid(random_theta(rng, 2), (2, 1) + OUT_SIZE,
                               align_corners=align_corners)
    grid = (grid + rng.uniform(-0.05, 0.05, grid.shape)).astype(dtype)
    grid[0, 0, 0] = np.nan, 0.3  # NaN reads as -1
    args = SampleArgs(image, grid, mode, padding, align_corners)
    expected = cpu.grid_sample(args, image, grid)
    grad_output = rng.standard_normal(expected.shape).astype(dtype)
    expected_input, expected_grid = cpu.grid_sample_vjp(args, image, grid, grad_output,
                                                        True, True)
    out = np.full_like(expected, np.nan)
    grad_grid = np.full_like(grid, np.nan)
    grad_input = np.zeros_like(image)
    abs_input = np.zeros_like(image)
    for start, stop, crop, frame in tight_crops(grid, image, mode, padding, align_corners):
        grid_window = np.ascontiguousarray(grid[:, start[0]:stop[0], start[1]:stop[1]])
        window_args = SampleArgs(crop, grid_window, mode, padding, align_corners)
        out[region(start, stop)] = cpu.grid_sample(window_args, crop, grid_window, frame=frame)
        part_input, part_grid = cpu.grid_sample_vjp(
            window_args, crop, grid_window, grad_output[region(start, stop)], True, True,
            frame=frame)
        grad_grid[:, start[0]:stop[0], start[1]:stop[1]] = part_grid
        box = (Ellipsis, slice(frame[2], frame[2] + crop.shape[2]),
               slice(frame[3], frame[3] + crop.shape[3]))
        grad_input[box] += part_input
        abs_input[box] += np.abs(part_input)
    assert np.array_equal(out, expected)
    assert np.array_equal(grad_grid, expected_grid)  # every pixel's own taps: exact
    assert_sums_close(grad_input, abs_input, expected_input, dtype, np.abs(grad_output).max())


@pytest.mark.parametrize("family_name", ("affine", "tps"))
@pytest.mark.parametrize("mode", MODES)
def test_a_crop_too_small_reads_zeros(family_name, mode):
    """Taps outside the crop read 0 and get no gradient: as if the image were zero
    there (never an out-of-bounds access)."""
    rng = np.random.default_rng(7)
    image = rng.standard_normal((2, 2) + IN_SIZE)
    family, values, _ = family_case(family_name, rng, False)
    top, left, rows, cols = 5, 7, 3, 4
    crop = image[:, :, top:top + rows, left:left + cols]
    masked = np.zeros_like(image)
    masked[:, :, top:top + rows, left:left + cols] = crop
    args = WarpArgs(image, OUT_SIZE, mode, "border", False)
    params = cpu.parameters(family, args, values)
    window_args = WarpArgs.windowed(crop, OUT_SIZE, (0, 0), OUT_SIZE, mode, "border", False)
    frame = (*IN_SIZE, top, left)
    out = cpu.fused_forward(family, window_args, crop, params, frame=frame)
    assert np.array_equal(out, cpu.fused_forward(family, args, masked, params))
    grad_output = rng.standard_normal(out.shape)
    part_input, part_params = cpu.fused_vjp(family, window_args, crop, params, grad_output,
                                            True, True, frame=frame)
    full_input, full_params = cpu.fused_vjp(family, args, masked, params, grad_output, True,
                                            True)
    np.testing.assert_allclose(part_input, full_input[:, :, top:top + rows, left:left + cols],
                               rtol=0, atol=1e-12 * np.abs(grad_output).sum())
    for part, full in zip(part_params, full_params):
        np.testing.assert_allclose(part, full, rtol=0, atol=1e-12 * np.abs(full).sum())


@pytest.mark.parametrize("mode", MODES)
def test_grid_sample_crop_too_small_reads_zeros(mode):
    rng = np.random.default_rng(8)
    image = rng.standard_normal((1, 2) + IN_SIZE).astype(np.float32)
    grid = rng.uniform(-1.5, 1.5, (1, 9, 10, 2)).astype(np.float32)
    crop = np.ascontiguousarray(image[:, :, 6:8, 2:5])
    masked = np.zeros_like(image)
    masked[:, :, 6:8, 2:5] = crop
    for padding in PADDINGS:
        out = cpu.grid_sample(SampleArgs(crop, grid, mode, padding, False), crop, grid,
                              frame=(*IN_SIZE, 6, 2))
        assert np.array_equal(out, warpkit.grid_sample(masked, grid, mode, padding))


def test_frame_none_is_the_full_frame():
    rng = np.random.default_rng(9)
    image = rng.standard_normal((2, 3, 7, 9)).astype(np.float32)
    theta = random_theta(rng, 2)
    for mode in MODES:
        args = WarpArgs(image, (5, 6), mode, "zeros", False)
        params = cpu.parameters(FAMILIES["affine"], args, (theta,))
        full = cpu.fused_forward(FAMILIES["affine"], args, image, params,
                                 frame=full_frame(image.shape))
        assert np.array_equal(full, cpu.fused_forward(FAMILIES["affine"], args, image, params))
        assert np.array_equal(full, warpkit.warp_affine(image, theta, (5, 6), mode=mode))


def test_windowed_args():
    image = np.zeros((2, 3, 5, 6), np.float32)
    args = WarpArgs.windowed(image, (7, 9), (2, 3), (5, 9), "nearest", "border", True)
    full = WarpArgs(np.zeros((2, 3, 1, 1)), (7, 9), "nearest", "border", True)
    assert args.output_shape == (2, 3, 3, 6)
    assert args.input_shape == image.shape
    assert np.array_equal(args.xs, full.xs[3:9]) and np.array_equal(args.ys, full.ys[2:5])
    assert (args.mode, args.padding, args.align_corners) == (full.mode, full.padding, True)
    empty = WarpArgs.windowed(image, (7, 9), (2, 3), (2, 9), "bilinear", "zeros", False)
    assert empty.output_shape == (2, 3, 0, 6) and empty.ys.size == 0
    with pytest.raises(ValueError, match="output_start .* and output_stop"):
        WarpArgs.windowed(image, (7, 9), (2, 3), (8, 9), "bilinear", "zeros", False)
    with pytest.raises(ValueError, match="output_start .* and output_stop"):
        WarpArgs.windowed(image, (7, 9), (3, 3), (2, 9), "bilinear", "zeros", False)
    with pytest.raises(ValueError, match="output_extent"):
        WarpArgs.windowed(image, (7,), (0, 0), (1, 1), "bilinear", "zeros", False)
    with pytest.raises(TypeError, match="output_stop"):
        WarpArgs.windowed(image, (7, 9), (0, 0), (1.5, 1), "bilinear", "zeros", False)
    with pytest.raises(ValueError, match="mode"):
        WarpArgs.windowed(image, (7, 9), (0, 0), (1, 1), "cubic", "zeros", False)


@pytest.mark.parametrize("frame, error, message", [
    ((10, 12, 3), ValueError, "4 entries"),
    ((10, 12, 3.0, 4), TypeError, "integers"),
    ((10, 12, -1, 4), ValueError, ">= 0"),
    ((10, 12, 6, 4), ValueError, "does not hold"),
    ((10, 9, 0, 4), ValueError, "does not hold"),
    ((2**31, 12, 0, 0), ValueError, "at most"),
])
def test_bad_frames_are_refused(frame, error, message):
    with pytest.raises(error, match=message):
        check_frame(frame, (1, 1, 5, 6))
    image = np.zeros((1, 1, 5, 6))
    args = WarpArgs(image, None, "bilinear", "zeros", False)
    params = cpu.parameters(FAMILIES["affine"], args, (np.eye(2, 3)[None],))
    with pytest.raises(error, match=message):
        cpu.fused_forward(FAMILIES["affine"], args, image, params, frame=frame)
