"""Frames of the volume (3-D) CPU kernels: an output window computed from a crop of the
input (``frame = (depth, height, width, front, top, left)``) is bit-identical to the same
voxels of the in-memory warp, for grid_sample and the fused affine and perspective warps,
every mode, padding and ``align_corners``; gradients add up to the in-memory ones."""

import itertools

import numpy as np
import pytest

from warpkit._args import SampleArgs, WarpArgs
from warpkit._validate import PADDING_MODES, padding_code
from warpkit.backends import cpu_volume
from warpkit.kernels import cpu_volume as kernels
from warpkit.kernels import taps
from warpkit.kernels._fused_math import NO_SOURCE
from warpkit.kernels.cpu_fused import pixel_math

MODES = ("bilinear", "nearest", "bicubic")
OPTIONS = list(itertools.product(MODES, PADDING_MODES, (False, True)))
DTYPES = (np.float64, np.float32)

#: The full input (N, C, D, H, W), the full output's (D_out, H_out, W_out) and uneven
#: cuts of each output axis into windows.
INPUT_SHAPE = (2, 2, 6, 7, 8)
OUTPUT_EXTENT = (4, 5, 6)
CUTS = ((0, 1, 4), (0, 3, 5), (0, 2, 6))
SOURCES = {"affine": kernels.SOURCE_AFFINE, "perspective": kernels.SOURCE_PERSPECTIVE}


def scaled_close(actual, expected, tol, what=""):
    """``|actual - expected| <= tol * max(1, max |expected|)``."""
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * scale, err_msg=what)


def windows():
    """Every window ``(start, stop)`` of the output, per spatial axis (z, y, x)."""
    axes = [list(zip(cut[:-1], cut[1:])) for cut in CUTS]
    for parts in itertools.product(*axes):
        yield tuple(a for a, _ in parts), tuple(b for _, b in parts)


def window(array, start, stop, first=1):
    """``array``'s window on the three spatial axes starting at axis ``first``."""
    index = [slice(None)] * array.ndim
    for k, (a, b) in enumerate(zip(start, stop)):
        index[first + k] = slice(a, b)
    return array[tuple(index)]


# ------------------------------------------------------------ the tap rule


def axis_taps(g, size, mode, padding, align_corners):
    """The indices along an axis of ``size`` that the kernels read for normalized
    coordinate ``g`` (float64), by the kernels' own per-axis rules."""
    if mode == "bilinear":  # the block pipeline's rule
        x, grad = taps.grid_coordinate(g, size, align_corners)
        x, _ = taps.pad_coordinate(x, grad, size, padding, align_corners)
        below = int(np.floor(x))
        candidates = (below, below + 1)
    elif mode == "nearest":
        x, _ = pixel_math.source_index(g, size, padding, align_corners)
        candidates = (pixel_math.round_half_even(x),)
    else:
        x, _ = pixel_math.unnormalize_safe(g, size, align_corners)
        candidates = pixel_math.bicubic_taps(x, size, padding, align_corners)[0]
    return [i for i in candidates if 0 <= i < size]


def tight_box(points, mode, padding, align_corners):
    """``(start, stop)`` per axis (z, y, x): the smallest box holding every voxel the
    points ``(..., 3)`` (x, y, z, float64) read (one voxel at 0 where none is read)."""
    extents = INPUT_SHAPE[2:]
    start, stop = [], []
    for axis, size in zip((2, 1, 0), extents):
        read = [i for g in points[..., axis].ravel()
                for i in axis_taps(float(g), size, mode, padding, align_corners)]
        start.append(min(read, default=0))
        stop.append(max(read, default=0) + 1)
    return tuple(start), tuple(stop)


def generous_box(box, margin=2):
    """``box`` widened by ``margin`` voxels on every side, within the input."""
    start, stop = box
    extents = INPUT_SHAPE[2:]
    return (tuple(max(a - margin, 0) for a in start),
            tuple(min(b + margin, e) for b, e in zip(stop, extents)))


def crop_and_frame(volume, box):
    start, stop = box
    crop = np.ascontiguousarray(window(volume, start, stop, first=2))
    return crop, INPUT_SHAPE[2:] + tuple(start)


def boxes(points, mode, padding_mode, align_corners):
    tight = tight_box(points, mode, padding_code(padding_mode), align_corners)
    return {"tight": tight, "generous": generous_box(tight)}


# ------------------------------------------------------------ inputs


def near_identity(rng, rows):
    """A random (rows, 4) matrix near the identity's first rows (scale, shear, shift)."""
    matrix = np.eye(rows, 4) + rng.uniform(-0.2, 0.2, (rows, 4))
    return matrix


def make_grid(rng, dtype):
    """A smooth grid near an affine map (so windows read sub-boxes), some points off the
    volume."""
    batch = INPUT_SHAPE[0]
    d, h, w = OUTPUT_EXTENT
    zs, ys, xs = np.meshgrid(np.linspace(-1, 1, d), np.linspace(-1, 1, h),
                             np.linspace(-1, 1, w), indexing="ij")
    base = np.stack([xs, ys, zs, np.ones_like(xs)], axis=-1)
    grid = np.stack([base @ near_identity(rng, 3).T * 1.1 for _ in range(batch)])
    grid += rng.uniform(-0.03, 0.03, grid.shape)
    return grid.astype(dtype)


def make_params(family, rng):
    """Random theta (N, 3, 4) or homography (N, 4, 4), float64."""
    batch = INPUT_SHAPE[0]
    if family == "affine":
        return np.stack([near_identity(rng, 3) * 1.1 for _ in range(batch)])
    hom = np.stack([np.vstack([near_identity(rng, 3), [0, 0, 0, 1]]) for _ in range(batch)])
    hom[:, 3, :3] = rng.uniform(-0.15, 0.15, (batch, 3))
    return hom


def matrix_points(family, params, args, dtype, mode):
    """The fused warp's points (N, D, H, W, 3) as the kernels compute them (float64; the
    trilinear block pipeline rounds them to the image dtype)."""
    zs, ys, xs = np.meshgrid(args.zs, args.ys, args.xs, indexing="ij")
    rows = [params[:, r, 0, None, None, None] * xs + params[:, r, 1, None, None, None] * ys
            + params[:, r, 2, None, None, None] * zs + params[:, r, 3, None, None, None]
            for r in range(params.shape[1])]
    if family == "perspective":
        wh = rows[3]
        rows = [np.where(wh > 0, r / np.where(wh > 0, wh, 1.0), NO_SOURCE) for r in rows[:3]]
    points = np.stack(rows[:3], axis=-1)
    return points.astype(dtype).astype(np.float64) if mode == "bilinear" else points


# ------------------------------------------------------------ grid_sample


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode, padding_mode, align_corners", OPTIONS)
def test_grid_sample_windows_are_bit_identical(mode, padding_mode, align_corners, dtype):
    rng = np.random.default_rng(7)
    volume = rng.standard_normal(INPUT_SHAPE).astype(dtype)
    grid = make_grid(rng, dtype)
    full_args = SampleArgs(volume, grid, mode, padding_mode, align_corners)
    expected = cpu_volume.grid_sample(full_args, volume, grid)
    grad_output = rng.standard_normal(expected.shape).astype(dtype)
    grad_input, grad_grid = cpu_volume.grid_sample_vjp(full_args, volume, grid, grad_output,
                                                       True, True)
    for name in ("tight", "generous"):
        out = np.full_like(expected, np.nan)
        got_grid = np.full_like(grad_grid, np.nan)
        got_input = np.zeros_like(grad_input)
        for start, stop in windows():
            chunk = np.ascontiguousarray(window(grid, start, stop))
            box = boxes(chunk.astype(np.float64), mode, padding_mode, align_corners)[name]
            crop, frame = crop_and_frame(volume, box)
            args = SampleArgs(crop, chunk, mode, padding_mode, align_corners)
            window(out, start, stop, first=2)[...] = cpu_volume.grid_sample(
                args, crop, chunk, frame=frame)
            d_crop, d_grid = cpu_volume.grid_sample_vjp(
                args, crop, chunk, np.ascontiguousarray(window(grad_output, start, stop, 2)),
                True, True, frame=frame)
            assert d_crop.shape == crop.shape
            window(got_grid, start, stop)[...] = d_grid
            window(got_input, *box, first=2)[...] += d_crop
        what = f"{name} box, {mode} {padding_mode} align={align_corners} {dtype.__name__}"
        assert np.array_equal(out, expected), what
        assert np.array_equal(got_grid, grad_grid), "d grid, " + what
        scaled_close(got_input, grad_input, 1e-12 if dtype == np.float64 else 1e-5,
                     "d input, " + what)


# ------------------------------------------------------------ fused warps


@pytest.mark.parametrize("family", sorted(SOURCES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode, padding_mode, align_corners", OPTIONS)
def test_fused_windows_are_bit_identical(family, mode, padding_mode, align_corners, dtype):
    rng = np.random.default_rng(11)
    source = SOURCES[family]
    volume = rng.standard_normal(INPUT_SHAPE).astype(dtype)
    params = make_params(family, rng)
    full_args = WarpArgs(volume, OUTPUT_EXTENT, mode, padding_mode, align_corners, dims=3)
    bases = (full_args.xs, full_args.ys, full_args.zs)
    expected = cpu_volume.volume_forward(source, full_args, volume, params, bases)
    grad_output = rng.standard_normal(expected.shape).astype(dtype)
    grad_input, _, acc = cpu_volume.volume_vjp(source, full_args, volume, params,
                                               grad_output, True, True, bases)
    for name in ("tight", "generous"):
        out = np.full_like(expected, np.nan)
        got_input = np.zeros_like(grad_input)
        got_acc = np.zeros_like(acc)
        for start, stop in windows():
            probe = WarpArgs.windowed(volume, OUTPUT_EXTENT, start, stop, mode, padding_mode,
                                      align_corners, dims=3)
            points = matrix_points(family, params, probe, dtype, mode)
            box = boxes(points, mode, padding_mode, align_corners)[name]
            crop, frame = crop_and_frame(volume, box)
            args = WarpArgs.windowed(crop, OUTPUT_EXTENT, start, stop, mode, padding_mode,
                                     align_corners, dims=3)
            bases = (args.xs, args.ys, args.zs)
            window(out, start, stop, first=2)[...] = cpu_volume.volume_forward(
                source, args, crop, params, bases, frame=frame)
            d_crop, _, d_acc = cpu_volume.volume_vjp(
                source, args, crop, params,
                np.ascontiguousarray(window(grad_output, start, stop, 2)), True, True, bases,
                frame=frame)
            assert d_crop.shape == crop.shape
            window(got_input, *box, first=2)[...] += d_crop
            got_acc += d_acc
        what = (f"{family}, {name} box, {mode} {padding_mode} align={align_corners} "
                f"{dtype.__name__}")
        assert np.array_equal(out, expected), what
        scaled_close(got_input, grad_input, 1e-12 if dtype == np.float64 else 1e-5,
                     "d input, " + what)
        scaled_close(got_acc, acc, 1e-12, "d params, " + what)


# ------------------------------------------------------------ memory safety


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode, padding_mode, align_corners", OPTIONS)
def test_too_small_crop_reads_zeros(mode, padding_mode, align_corners, dtype):
    """A crop missing taps the window reads: those taps read 0 and get no gradient (the
    warp of the input zeroed outside the crop), never an out-of-bounds access."""
    rng = np.random.default_rng(3)
    volume = rng.standard_normal(INPUT_SHAPE).astype(dtype)
    grid = make_grid(rng, dtype) * 1.5  # some far off the volume
    grad_output = rng.standard_normal(INPUT_SHAPE[:2] + OUTPUT_EXTENT).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    extents = INPUT_SHAPE[2:]
    for start, stop in (((2, 3, 3), (4, 5, 5)), ((0, 0, 0), (1, 1, 1)),
                        ((5, 6, 7), (6, 7, 8))):
        crop, frame = crop_and_frame(volume, (start, stop))
        masked = np.zeros_like(volume)
        window(masked, start, stop, first=2)[...] = crop
        args = SampleArgs(crop, grid, mode, padding_mode, align_corners)
        full_args = SampleArgs(masked, grid, mode, padding_mode, align_corners)
        what = f"crop {start}-{stop} {mode} {padding_mode} align={align_corners}"
        scaled_close(cpu_volume.grid_sample(args, crop, grid, frame=frame),
                     cpu_volume.grid_sample(full_args, masked, grid), tol, what)
        d_crop, d_grid = cpu_volume.grid_sample_vjp(args, crop, grid, grad_output, True, True,
                                                    frame=frame)
        d_masked, d_grid_masked = cpu_volume.grid_sample_vjp(full_args, masked, grid,
                                                             grad_output, True, True)
        scaled_close(d_crop, window(d_masked, start, stop, first=2), tol, "d input " + what)
        scaled_close(d_grid, d_grid_masked, tol, "d grid " + what)
        assert extents == tuple(frame[:3])


def test_frame_none_is_the_full_frame():
    rng = np.random.default_rng(5)
    volume = rng.standard_normal(INPUT_SHAPE)
    grid = make_grid(rng, np.float64)
    grad_output = rng.standard_normal(INPUT_SHAPE[:2] + OUTPUT_EXTENT)
    for mode in MODES:
        args = SampleArgs(volume, grid, mode, "zeros", False)
        full = INPUT_SHAPE[2:] + (0, 0, 0)
        assert np.array_equal(cpu_volume.grid_sample(args, volume, grid),
                              cpu_volume.grid_sample(args, volume, grid, frame=full))
        for got, want in zip(
                cpu_volume.grid_sample_vjp(args, volume, grid, grad_output, True, True),
                cpu_volume.grid_sample_vjp(args, volume, grid, grad_output, True, True,
                                           frame=full)):
            assert np.array_equal(got, want)


@pytest.mark.parametrize("frame, error", [
    ((6, 7, 8, 0, 0), ValueError),           # 5 entries
    ((6, 7, 8, 0, 0, 1), ValueError),        # the crop pokes out on x
    ((6, 7, 8, -1, 0, 0), ValueError),       # a negative start
    ((6, 7, 8.0, 0, 0, 0), TypeError),       # not integers
])
def test_bad_frames_are_refused(frame, error):
    volume = np.zeros(INPUT_SHAPE)
    grid = np.zeros((2, 1, 1, 1, 3))
    args = SampleArgs(volume, grid, "bilinear", "zeros", False)
    with pytest.raises(error, match="frame"):
        cpu_volume.grid_sample(args, volume, grid, frame=frame)


def test_backend_cpu_passes_the_frame_to_volumes():
    """warpkit.backends.cpu's entry points hand ``frame`` to the volume runners."""
    from warpkit.backends import cpu
    from warpkit.families import VOLUME_FAMILIES

    rng = np.random.default_rng(9)
    volume = rng.standard_normal(INPUT_SHAPE)
    family = VOLUME_FAMILIES["affine"]
    full_args = WarpArgs(volume, OUTPUT_EXTENT, "bilinear", "zeros", False, dims=3)
    params = cpu.parameters(family, full_args, (make_params("affine", rng),))
    expected = cpu.fused_forward(family, full_args, volume, params)
    start, stop = (1, 0, 2), (4, 3, 6)
    box = generous_box(tight_box(matrix_points("affine", params[0], WarpArgs.windowed(
        volume, OUTPUT_EXTENT, start, stop, "bilinear", "zeros", False, dims=3),
        np.float64, "bilinear"), "bilinear", padding_code("zeros"), False))
    crop, frame = crop_and_frame(volume, box)
    args = WarpArgs.windowed(crop, OUTPUT_EXTENT, start, stop, "bilinear", "zeros", False,
                             dims=3)
    assert np.array_equal(cpu.fused_forward(family, args, crop, params, frame=frame),
                          window(expected, start, stop, first=2))
    grad_input, _ = cpu.fused_vjp(family, args, crop, params,
                                  np.ones(args.output_shape), True, True, frame=frame)
    assert grad_input.shape == crop.shape
    grid = make_grid(rng, np.float64)
    sample_args = SampleArgs(crop, grid, "nearest", "border", True)
    assert np.array_equal(
        cpu.grid_sample(sample_args, crop, grid, frame=frame),
        cpu_volume.grid_sample(sample_args, crop, grid, frame=frame))
