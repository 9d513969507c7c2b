"""Fused warps and grid sampling over Dask arrays, with their gradients.

Every function takes a Dask array (or anything :func:`dask.array.asarray`
takes) of images ``(N, C, H, W)``, volumes ``(N, C, D, H, W)``, or a single
``(H, W)`` image / ``(D, H, W)`` volume, and returns lazy Dask arrays.  Each
output chunk reads only the input chunks its source box touches
(:mod:`warpkit.dask._boxes`) and runs warpkit's fused CPU kernel on that
crop with the crop's frame, so the result is bit-identical to the in-memory
warp (:func:`warpkit.warp_affine` and friends).  Parameters are checked (and
must be finite) before anything is computed.
"""

import autograd
import dask.array as da
import numpy as np
from dask.base import tokenize

from .. import _validate
from .._args import check_image, output_size
from ..coords import normalized_base_coordinates
from ..fused import _solve
from ..tps import evaluate_tps
from . import _boxes, _graph, _tasks

__all__ = ["warp_affine", "warp_affine_vjp", "warp_perspective", "warp_perspective_vjp",
           "warp_tps", "warp_tps_vjp", "grid_sample", "grid_sample_vjp"]


# ----------------------------------------------------------------- arguments


class _Call:
    """The checked arguments of one chunked warp (shared by forward and VJP)."""

    def __init__(self, input, dims, size, chunks, mode, padding_mode, align_corners):
        array = da.asarray(input)
        if array.ndim not in (dims, dims + 2):
            layout = "(H, W) or (N, C, H, W)" if dims == 2 else \
                "(D, H, W) or (N, C, D, H, W)"
            raise ValueError(f"input must have shape {layout} for these parameters, "
                             f"got shape {array.shape}")
        self.single = array.ndim == dims  # one image or volume: no batch axes
        if self.single:
            array = array[(None, None)]
        _validate.float_dtype("input", array)
        check_image("input", array.shape, dims)
        self.input = array
        self.dims = dims
        self.dtype = array.dtype
        self.options = (mode, padding_mode, align_corners)
        self.padding = _validate.padding_code(padding_mode)
        _validate.mode_code(mode)
        self.align_corners = _validate.check_bool("align_corners", align_corners)
        self.input_extent = tuple(array.shape[2:])
        self.output_extent = output_size(size, array.shape[:2], self.input_extent)
        self.output_chunks = _output_chunks(chunks, self.output_extent, array, self.dtype)
        # base coordinates of the output (x first) and input pixels per normalized unit
        self.bases = [normalized_base_coordinates(extent, self.align_corners, np.float64)
                      for extent in self.output_extent[::-1]]

    def tap_box(self, ranges):
        """Source box (array order) of per-axis normalized ranges (x first), or None."""
        first, last = [], []
        for (low, high), size in zip(ranges, self.input_extent[::-1]):
            taps = _boxes.tap_range(low, high, size, self.padding, self.align_corners)
            if taps is None:
                return None
            first.append(taps[0])
            last.append(taps[1])
        return tuple(first[::-1]), tuple(last[::-1])

    def corners(self, starts, stops):
        """Corners (x first) of an output chunk's rectangle of pixel centres."""
        return _boxes.box_corners(self.bases, starts[::-1], stops[::-1])

    def finish(self, array):
        """Drop the batch axes again for a single image or volume."""
        return array[0, 0] if self.single else array


def _output_chunks(chunks, extent, input, dtype):
    """The output's chunks per spatial axis: ``chunks`` (anything
    :func:`dask.array.core.normalize_chunks` takes, for the spatial axes), by
    default the input's chunk sizes."""
    if chunks is None:
        if tuple(input.shape[2:]) == tuple(extent):
            return tuple(input.chunks[2:])
        chunks = tuple(max(c) for c in input.chunks[2:])
    try:
        return da.core.normalize_chunks(chunks, tuple(extent), dtype=dtype)
    except (ValueError, TypeError) as error:
        raise ValueError(f"chunks must give the output's chunks along its spatial axes "
                         f"{tuple(extent)}, got {chunks!r} ({error})") from None


def _parameter(name, value, shapes):
    """A small parameter array in float64, finite, with one of the allowed trailing shapes
    (a missing batch axis added)."""
    dtype = _validate.float_dtype(name, value)
    array = np.asarray(_validate.host_array(name, value), dtype=np.float64)
    if array.shape in shapes:
        array = array[None]
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got NaN or infinite values")
    return array, dtype


def _dims_of(name, shape, by_trailing):
    """Spatial axes of a family from its parameter's trailing shape."""
    for trailing, dims in by_trailing.items():
        if tuple(shape[-2:]) == trailing:
            return dims
    expected = " or ".join(f"(N, {a}, {b})" for a, b in by_trailing)
    raise ValueError(f"{name} must have shape {expected}, got {tuple(shape)}")


# ------------------------------------------------------------- fused warps


def _matrix_warp(kind, name, input, matrix, size, chunks, options, trailing):
    """The checked call, parameters and box function of an affine or perspective warp."""
    shape = np.shape(_validate.host_array(name, matrix))
    dims = _dims_of(name, shape, trailing)
    call = _Call(input, dims, size, chunks, *options)
    params, dtype = _parameter(name, matrix, tuple(trailing))
    family = _tasks.family_for(kind, dims)
    family.kernel_shapes(call.input.shape[0], {name: params.shape})
    ranges = _boxes.affine_ranges if kind == "affine" else _boxes.perspective_ranges

    def box_of(n0, n1, starts, stops):
        corners = call.corners(starts, stops)
        return _union(call.tap_box(ranges(params[n], corners)) for n in range(n0, n1))

    return call, (params,), (True,), dtype, box_of


def _union(boxes):
    """The smallest box holding every box (None: no box)."""
    first = last = None
    for box in boxes:
        if box is None:
            continue
        if first is None:
            first, last = box
        else:
            first = tuple(min(a, b) for a, b in zip(first, box[0]))
            last = tuple(max(a, b) for a, b in zip(last, box[1]))
    return None if first is None else (first, last)


def _forward(kind, call, params, per_sample, box_of):
    """The lazy output of a fused warp."""
    blocks = _graph.Blocks(call.input, call.output_extent, call.output_chunks, box_of)
    task_call = (kind, call.dims, call.options, call.input_extent, call.output_extent)
    name = f"warp-{kind}-" + tokenize(call.input.name, task_call, call.output_chunks,
                                      *params)

    def task_of(index, keys, starts, first, last):
        n0, n1 = blocks.samples(index[0])
        values = tuple(p[n0:n1] if split else p for p, split in zip(params, per_sample))
        output_start, output_stop = blocks.region(index)
        return (_tasks.warp_block, keys, starts, first, last, task_call, values,
                output_start, output_stop)

    out = _graph.forward_graph(name, blocks, task_of, call.dtype, [call.input])
    return call.finish(out)


def _vjp(kind, call, params, per_sample, box_of, grad_output, need_input):
    """``(grad_input or None, graph pieces of the parameter gradients)`` of a fused warp."""
    blocks = _graph.Blocks(call.input, call.output_extent, call.output_chunks, box_of)
    grad = _grad_output(grad_output, call, blocks)
    task_call = (kind, call.dims, call.options, call.input_extent, call.output_extent)
    name = f"warp-{kind}-vjp-" + tokenize(call.input.name, grad.name, task_call,
                                          call.output_chunks, need_input, *params)
    batch = call.input.shape[0]

    def task_of(index, keys, starts, first, last):
        n0, n1 = blocks.samples(index[0])
        values = tuple(p[n0:n1] if split else p for p, split in zip(params, per_sample))
        output_start, output_stop = blocks.region(index)
        return (_tasks.warp_block_vjp, keys, starts, first, last, (grad.name,) + index,
                task_call, values, output_start, output_stop, need_input, (n0, n1), batch,
                per_sample)

    dsk, backward, grad_input = _graph.vjp_graph(name, blocks, task_of, need_input,
                                                 [call.input, grad])
    root = _graph.reduction_tree(dsk, name, backward, _tasks.sum_parameters)
    shapes = [p.shape for p in params]
    return (None if grad_input is None else call.finish(grad_input)), (dsk, root, shapes,
                                                                        [call.input, grad])


def _grad_chunks(grad_output, call):
    """The spatial chunks of ``grad_output``, after checking its shape: they set the
    output chunks of a backward pass."""
    grad = da.asarray(grad_output)
    expected = call.output_extent if call.single else call.input.shape[:2] + \
        call.output_extent
    if tuple(grad.shape) != tuple(expected):
        raise ValueError(f"grad_output must have the output's shape {tuple(expected)}, "
                         f"got {tuple(grad.shape)}")
    return tuple(grad.chunks[-call.dims:])


def _grad_output(grad_output, call, blocks):
    """``grad_output`` as a Dask array in the output's chunks (batch axes added for a
    single image)."""
    grad = da.asarray(grad_output)
    _validate.float_dtype("grad_output", grad)
    expected = blocks.output_shape[2:] if call.single else blocks.output_shape
    if tuple(grad.shape) != tuple(expected):
        raise ValueError(f"grad_output must have the output's shape {tuple(expected)}, "
                         f"got {tuple(grad.shape)}")
    if call.single:
        grad = grad[(None, None)]
    return grad.astype(call.dtype).rechunk(blocks.output_chunks)


def _parameter_gradient(pieces, index, name, shape, dtype, reshape=None):
    """One parameter's gradient as a one-chunk Dask array, reduced by the fixed tree."""
    dsk, root, shapes, dependencies = pieces
    array_name = f"{name}-grad-" + tokenize(root, index, dtype)
    task = (_finish_gradient, root, index, shapes[index], shape, dtype)
    return _graph.single_block_array(dsk, array_name, task, shape, dtype, dependencies)


def _finish_gradient(total, index, kernel_shape, shape, dtype):
    """A parameter's gradient from the reduction's root, in the parameter's shape and dtype."""
    grad = np.zeros(kernel_shape) if total is None else total[index]
    return grad.reshape(shape).astype(dtype)


def warp_affine(input, theta, size=None, *, chunks=None, mode="bilinear",
                padding_mode="zeros", align_corners=False):
    """Warp a chunked image or volume by affine maps: :func:`warpkit.warp_affine` on Dask.

    Parameters
    ----------
    input : dask.array.Array, shape (N, C, H, W), (H, W), (N, C, D, H, W) or (D, H, W)
        float32 or float64, in any chunking (a NumPy array is wrapped).
    theta : ndarray, shape (N, 2, 3) or (2, 3); (N, 3, 4) or (3, 4) for volumes
        Maps normalized output coordinates to input coordinates, as in
        :func:`warpkit.affine_grid`.  Must be finite.
    size : tuple of int, optional
        The output's spatial size (default the input's).
    chunks : int, tuple or str, optional
        The output's chunks along its spatial axes (as for
        :func:`dask.array.rechunk`); default the input's.
    mode, padding_mode, align_corners
        As for :func:`warpkit.grid_sample`.

    Returns
    -------
    dask.array.Array
        Lazy; equal, bit for bit, to ``warpkit.warp_affine`` on the computed
        input.  Each output chunk reads only the input chunks its source box
        touches (and none when the box lies outside the input).

    Examples
    --------
    >>> import dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 1, 64, 64)).astype(np.float32)
    >>> theta = np.array([[[0.9, -0.3, 0.1], [0.3, 0.9, 0.0]]])
    >>> lazy = warpkit.dask.warp_affine(da.from_array(image, chunks=16), theta, chunks=20)
    >>> lazy.chunks[2:]
    ((20, 20, 20, 4), (20, 20, 20, 4))
    >>> bool(np.array_equal(lazy.compute(), warpkit.warp_affine(image, theta)))
    True
    """
    call, params, per_sample, _, box_of = _matrix_warp(
        "affine", "theta", input, theta, size, chunks, (mode, padding_mode, align_corners),
        {(2, 3): 2, (3, 4): 3})
    return _forward("affine", call, params, per_sample, box_of)


def warp_affine_vjp(input, theta, grad_output, size=None, *, mode="bilinear",
                    padding_mode="zeros", align_corners=False, wrt=("input", "theta")):
    """Gradients of :func:`warp_affine` for an output gradient, over chunks.

    Parameters
    ----------
    input, theta, size, mode, padding_mode, align_corners
        As for :func:`warp_affine`.
    grad_output : dask.array.Array, shape of the output
        Its chunks set the output chunks of the backward pass (rechunked to the
        input's along the batch axes).
    wrt : tuple of {"input", "theta"}, optional
        The gradients to compute.

    Returns
    -------
    grad_input : dask.array.Array or None
        In ``input``'s shape, chunks and dtype: each chunk adds the overlapping
        parts of the output chunks' crop gradients, in the output chunks' order.
    grad_theta : dask.array.Array or None
        In ``theta``'s shape and dtype, one chunk: per-chunk float64 partial sums
        reduced by a fixed tree, so it is identical from run to run and equal to
        :func:`warpkit.warp_affine_vjp`'s to float64 rounding.

    Compute both with one :func:`dask.compute` call to run the backward pass once.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 1, 32, 32))
    >>> theta = np.array([[[0.9, -0.3, 0.1], [0.3, 0.9, 0.0]]])
    >>> grad_input, grad_theta = dask.compute(*warpkit.dask.warp_affine_vjp(
    ...     da.from_array(image, chunks=10), theta, da.ones((1, 1, 32, 32), chunks=12)))
    >>> expected = warpkit.warp_affine_vjp(image, theta, np.ones((1, 1, 32, 32)))
    >>> bool(np.allclose(grad_theta, expected[1], rtol=1e-12, atol=1e-12))
    True
    >>> bool(np.allclose(grad_input, expected[0], rtol=1e-12, atol=1e-12))
    True
    """
    return _matrix_vjp("affine", "theta", input, theta, grad_output, size,
                       (mode, padding_mode, align_corners), wrt, {(2, 3): 2, (3, 4): 3})


def _matrix_vjp(kind, name, input, matrix, grad_output, size, options, wrt, trailing):
    wrt = _validate.check_wrt(wrt, ("input", name))
    call, params, per_sample, dtype, box_of = _matrix_warp(
        kind, name, input, matrix, size, None, options, trailing)
    call.output_chunks = _grad_chunks(grad_output, call)
    grad_input, pieces = _vjp(kind, call, params, per_sample, box_of, grad_output,
                              "input" in wrt)
    grad_matrix = None
    if name in wrt:
        shape = np.shape(_validate.host_array(name, matrix))
        grad_matrix = _parameter_gradient(pieces, 0, f"warp-{kind}", shape, dtype)
    return grad_input, grad_matrix


def warp_perspective(input, homography, size=None, *, chunks=None, mode="bilinear",
                     padding_mode="zeros", align_corners=False):
    """Warp a chunked image or volume by homographies: :func:`warpkit.warp_perspective` on Dask.

    Parameters
    ----------
    input : dask.array.Array, shape (N, C, H, W), (H, W), (N, C, D, H, W) or (D, H, W)
        float32 or float64, in any chunking.
    homography : ndarray, shape (N, 3, 3) or (3, 3); (N, 4, 4) or (4, 4) for volumes
        As for :func:`warpkit.perspective_grid`.  Must be finite.
    size, chunks, mode, padding_mode, align_corners
        As for :func:`warp_affine`.

    Returns
    -------
    dask.array.Array
        Lazy; bit-identical to :func:`warpkit.warp_perspective`.  A chunk the
        horizon (``w = 0``) crosses may read every input chunk of its samples.

    Examples
    --------
    >>> import dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 1, 48, 48))
    >>> hom = np.array([[[1.0, 0.1, 0.0], [0.0, 0.9, 0.1], [0.2, 0.1, 1.0]]])
    >>> lazy = warpkit.dask.warp_perspective(da.from_array(image, chunks=16), hom)
    >>> bool(np.array_equal(lazy.compute(), warpkit.warp_perspective(image, hom)))
    True
    """
    call, params, per_sample, _, box_of = _matrix_warp(
        "perspective", "homography", input, homography, size, chunks,
        (mode, padding_mode, align_corners), {(3, 3): 2, (4, 4): 3})
    return _forward("perspective", call, params, per_sample, box_of)


def warp_perspective_vjp(input, homography, grad_output, size=None, *, mode="bilinear",
                         padding_mode="zeros", align_corners=False,
                         wrt=("input", "homography")):
    """Gradients of :func:`warp_perspective` over chunks (see :func:`warp_affine_vjp`).

    Parameters
    ----------
    input, homography, size, mode, padding_mode, align_corners
        As for :func:`warp_perspective`.
    grad_output : dask.array.Array, shape of the output
    wrt : tuple of {"input", "homography"}, optional

    Returns
    -------
    grad_input : dask.array.Array or None
    grad_homography : dask.array.Array or None

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 1, 32, 32))
    >>> hom = np.array([[[1.0, 0.1, 0.0], [0.0, 0.9, 0.1], [0.2, 0.1, 1.0]]])
    >>> _, grad = dask.compute(*warpkit.dask.warp_perspective_vjp(
    ...     da.from_array(image, chunks=10), hom, np.ones((1, 1, 32, 32)), wrt=("homography",)))
    >>> expected = warpkit.warp_perspective_vjp(image, hom, np.ones((1, 1, 32, 32)))[1]
    >>> bool(np.allclose(grad, expected, rtol=1e-12, atol=1e-12))
    True
    """
    return _matrix_vjp("perspective", "homography", input, homography, grad_output, size,
                       (mode, padding_mode, align_corners), wrt, {(3, 3): 2, (4, 4): 3})


# -------------------------------------------------------- thin-plate splines


def _tps_warp(input, control_points, target_points, size, chunks, regularization, options):
    """The checked call, parameters and box function of a thin-plate spline warp."""
    call = _Call(input, 2, size, chunks, *options)
    _parameter("control_points", control_points, ())
    _parameter("target_points", target_points, ())
    coefficients = np.asarray(_solve(call.input, np.asarray(control_points),
                                     np.asarray(target_points), regularization))
    centres = np.asarray(control_points, dtype=np.float64)
    shared = centres.ndim == 2
    pixel_scale = np.array([extent / 2.0 for extent in call.input_extent[::-1]])

    def box_of(n0, n1, starts, stops):
        corners = call.corners(starts, stops)
        low, high = corners.min(axis=0), corners.max(axis=0)
        boxes = []
        for n in range(n0, n1):
            own = centres if shared else centres[n]
            ranges = _boxes.tps_ranges(
                coefficients[n], own, low, high, pixel_scale,
                lambda points: evaluate_tps(coefficients[n:n + 1], own, points)[0])
            boxes.append(call.tap_box(ranges))
        return _union(boxes)

    return call, (coefficients, centres), (True, not shared), box_of


def warp_tps(input, control_points, target_points, size=None, *, chunks=None,
             regularization=0.0, mode="bilinear", padding_mode="zeros", align_corners=False):
    """Warp a chunked image by thin-plate splines: :func:`warpkit.warp_tps` on Dask.

    The spline is solved once (float64, on the caller); each output chunk's
    source box bounds the spline over the chunk with a proven margin (a
    lattice of values plus a bound on the spline's gradient).

    Parameters
    ----------
    input : dask.array.Array, shape (N, C, H, W) or (H, W)
    control_points : ndarray, shape (K, 2) or (N, K, 2)
    target_points : ndarray, shape (N, K, 2) or (K, 2)
    size, chunks, mode, padding_mode, align_corners
        As for :func:`warp_affine`.
    regularization : float, optional
        As for :func:`warpkit.warp_tps`.

    Returns
    -------
    dask.array.Array
        Lazy; bit-identical to :func:`warpkit.warp_tps`.

    Examples
    --------
    >>> import dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 1, 40, 40))
    >>> controls = warpkit.control_point_grid(9)
    >>> targets = controls[None] + 0.05 * np.random.default_rng(1).standard_normal((1, 9, 2))
    >>> lazy = warpkit.dask.warp_tps(da.from_array(image, chunks=12), controls, targets)
    >>> bool(np.array_equal(lazy.compute(), warpkit.warp_tps(image, controls, targets)))
    True
    """
    targets = _batched_targets(target_points)
    call, params, per_sample, box_of = _tps_warp(
        input, control_points, targets, size, chunks, regularization,
        (mode, padding_mode, align_corners))
    return _forward("tps", call, params, per_sample, box_of)


def _batched_targets(target_points):
    targets = np.asarray(_validate.host_array("target_points", target_points))
    return targets[None] if targets.ndim == 2 else targets


def warp_tps_vjp(input, control_points, target_points, grad_output, size=None, *,
                 regularization=0.0, mode="bilinear", padding_mode="zeros",
                 align_corners=False, wrt=("input", "control_points", "target_points")):
    """Gradients of :func:`warp_tps` over chunks (see :func:`warp_affine_vjp`).

    The coefficient and centre gradients are reduced over the chunks by a fixed
    tree, then chained through the spline's solve (as
    :func:`warpkit.warp_tps_vjp` does).

    Parameters
    ----------
    input, control_points, target_points, size, regularization, mode, padding_mode, align_corners
        As for :func:`warp_tps`.
    grad_output : dask.array.Array, shape of the output
    wrt : tuple of {"input", "control_points", "target_points"}, optional

    Returns
    -------
    grad_input : dask.array.Array or None
    grad_control_points : dask.array.Array or None
    grad_target_points : dask.array.Array or None

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 1, 24, 24))
    >>> controls = warpkit.control_point_grid(9)
    >>> targets = controls[None] * 0.9
    >>> grads = dask.compute(*warpkit.dask.warp_tps_vjp(
    ...     da.from_array(image, chunks=10), controls, targets, np.ones((1, 1, 24, 24)),
    ...     wrt=("target_points",)))
    >>> expected = warpkit.warp_tps_vjp(image, controls, targets, np.ones((1, 1, 24, 24)))
    >>> bool(np.allclose(grads[2], expected[2], rtol=1e-10, atol=1e-10))
    True
    """
    names = ("input", "control_points", "target_points")
    wrt = _validate.check_wrt(wrt, names)
    targets = _batched_targets(target_points)
    call, params, per_sample, box_of = _tps_warp(
        input, control_points, targets, size, None, regularization,
        (mode, padding_mode, align_corners))
    call.output_chunks = _grad_chunks(grad_output, call)
    grad_input, pieces = _vjp("tps", call, params, per_sample, box_of, grad_output,
                              "input" in wrt)
    grads = [None, None]
    if "control_points" in wrt or "target_points" in wrt:
        dsk, root, shapes, dependencies = pieces
        name = "warp-tps-points-" + tokenize(root, regularization)
        controls = np.asarray(control_points, np.float64)
        layer = dict(dsk)
        layer[(name, "both")] = (_tps_point_gradients, root, shapes, controls, targets,
                                 regularization, call.input.shape[0])
        for k, (key, value) in enumerate((("control_points", control_points),
                                          ("target_points", target_points))):
            if key not in wrt:
                continue
            dtype = _validate.float_dtype(key, value)
            shape = np.shape(value)
            grads[k] = _graph.single_block_array(
                layer, f"{name}-{key}", (_pick, (name, "both"), k, shape, dtype), shape, dtype,
                dependencies)
    return grad_input, grads[0], grads[1]


def _tps_point_gradients(total, shapes, controls, targets, regularization, batch):
    """Chain the reduced coefficient and centre gradients through the spline's solve."""
    if total is None:
        total = [np.zeros(shape) for shape in shapes]
    grad_coefficients, grad_centres = total
    shape = (batch, 1, 1, 1)
    solve_vjp, _ = autograd.make_vjp(
        lambda c, t: _solve(np.empty(shape), c, t, regularization), argnum=(0, 1))(
        controls, targets)
    grad_controls, grad_targets = solve_vjp(grad_coefficients)
    return grad_controls + np.reshape(grad_centres, np.shape(grad_controls)), grad_targets


def _pick(both, index, shape, dtype):
    return np.reshape(both[index], shape).astype(dtype)


# ---------------------------------------------------------------- grid_sample


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    """:func:`warpkit.grid_sample` over chunks: the output is chunked like ``grid``.

    The grid's per-chunk minimum and maximum are computed first (one pass over
    the grid), to find the input chunks each output chunk reads.

    Parameters
    ----------
    input : dask.array.Array, shape (N, C, H, W) or (N, C, D, H, W)
    grid : dask.array.Array or ndarray, shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
    mode, padding_mode, align_corners
        As for :func:`warpkit.grid_sample`.

    Returns
    -------
    dask.array.Array
        Lazy; bit-identical to :func:`warpkit.grid_sample` on the computed arrays.

    Examples
    --------
    >>> import dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 2, 30, 30))
    >>> grid = np.random.default_rng(1).uniform(-1.1, 1.1, (1, 20, 20, 2))
    >>> lazy = warpkit.dask.grid_sample(da.from_array(image, chunks=8),
    ...                                 da.from_array(grid, chunks=(1, 7, 7, 2)))
    >>> bool(np.array_equal(lazy.compute(), warpkit.grid_sample(image, grid)))
    True
    """
    call, grid, blocks = _grid_call(input, grid, (mode, padding_mode, align_corners))
    task_call = (call.dims, call.options, call.input_extent)
    name = "grid-sample-" + tokenize(call.input.name, grid.name, task_call)

    def task_of(index, keys, starts, first, last):
        return (_tasks.sample_block, keys, starts, first, last, _grid_key(grid, index),
                task_call)

    return _graph.forward_graph(name, blocks, task_of, call.dtype, [call.input, grid])


def _grid_key(grid, index):
    return (grid.name, index[0]) + tuple(index[2:]) + (0,)


def _grid_call(input, grid, options):
    """The checked call, the grid in the output's chunks, and the chunk layout."""
    grid = da.asarray(grid)
    dims = grid.ndim - 2
    if dims not in (2, 3) or grid.shape[-1] != dims:
        raise ValueError(f"grid must have shape (N, H_out, W_out, 2) or "
                         f"(N, D_out, H_out, W_out, 3), got {tuple(grid.shape)}")
    _validate.float_dtype("grid", grid)
    call = _Call(input, dims, grid.shape[1:-1], grid.chunks[1:-1], *options)
    if call.single:
        raise ValueError(f"input must have shape (N, C, ...) for grid_sample, got shape "
                         f"{tuple(call.input.shape[2:])}")
    if grid.shape[0] != call.input.shape[0]:
        raise ValueError(f"input and grid must have the same batch size, got input "
                         f"{tuple(call.input.shape)} and grid {tuple(grid.shape)}")
    grid = grid.astype(call.dtype).rechunk((call.input.chunks[0],) + call.output_chunks
                                            + ((dims,),))
    ranges = _grid_ranges(grid)
    bounds = [np.concatenate([[0], np.cumsum(c)]) for c in call.output_chunks]

    def box_of(n0, n1, starts, stops):
        bn = int(np.searchsorted(np.cumsum(call.input.chunks[0]), n0, side="right"))
        spatial = tuple(int(np.searchsorted(b, s)) for b, s in zip(bounds, starts))
        found = ranges[(bn,) + spatial]
        if np.isnan(found).any():  # an empty chunk
            return None
        return call.tap_box(found)

    blocks = _graph.Blocks(call.input, call.output_extent, call.output_chunks, box_of)
    return call, grid, blocks


def _grid_ranges(grid):
    """Per grid chunk, the (D, 2) range of each coordinate, computed now."""
    import dask

    delayed = grid.to_delayed()
    index = list(np.ndindex(delayed.shape))
    values = dask.compute(*[dask.delayed(_boxes.grid_ranges)(delayed[i]) for i in index])
    return {i[:-1]: value for i, value in zip(index, values)}


def grid_sample_vjp(input, grid, grad_output, mode="bilinear", padding_mode="zeros",
                    align_corners=False, wrt=("input", "grid")):
    """Gradients of :func:`grid_sample` over chunks.

    Parameters
    ----------
    input, grid, mode, padding_mode, align_corners
        As for :func:`grid_sample`.
    grad_output : dask.array.Array, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
    wrt : tuple of {"input", "grid"}, optional

    Returns
    -------
    grad_input : dask.array.Array or None
        In ``input``'s chunks; overlapping contributions added in a fixed order.
    grad_grid : dask.array.Array or None
        In ``grid``'s chunks (after the batch axis follows the input's), its dtype.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> image = np.random.default_rng(0).random((1, 1, 16, 16))
    >>> grid = np.random.default_rng(1).uniform(-1, 1, (1, 10, 10, 2))
    >>> got = dask.compute(*warpkit.dask.grid_sample_vjp(
    ...     da.from_array(image, chunks=5), da.from_array(grid, chunks=(1, 4, 4, 2)),
    ...     np.ones((1, 1, 10, 10))))
    >>> expected = warpkit.grid_sample_vjp(image, grid, np.ones((1, 1, 10, 10)))
    >>> bool(np.array_equal(got[1], expected[1]))
    True
    >>> bool(np.allclose(got[0], expected[0], rtol=1e-12, atol=1e-12))
    True
    """
    wrt = _validate.check_wrt(wrt, ("input", "grid"))
    grid_dtype = _validate.float_dtype("grid", grid)
    call, grid, blocks = _grid_call(input, grid, (mode, padding_mode, align_corners))
    grad = _grad_output(grad_output, call, blocks)
    task_call = (call.dims, call.options, call.input_extent)
    need_input, need_grid = "input" in wrt, "grid" in wrt
    name = "grid-sample-vjp-" + tokenize(call.input.name, grid.name, grad.name, task_call,
                                         wrt)

    def task_of(index, keys, starts, first, last):
        return (_tasks.sample_block_vjp, keys, starts, first, last, _grid_key(grid, index),
                (grad.name,) + index, task_call, need_input, need_grid)

    dsk, backward, grad_input = _graph.vjp_graph(name, blocks, task_of, need_input,
                                                 [call.input, grid, grad])
    grad_grid = None
    if need_grid:
        grid_name = name + "-grid"
        layer = dict(dsk)
        done = set(backward)
        for index in blocks.output_blocks():
            if index[1] != 0:
                continue  # the grid has no channel axis: channel chunk 0 holds the sum
            shape = (blocks.block_shape(index)[0],) + blocks.block_shape(index)[2:] + (
                call.dims,)
            sources = [(name + "-block", index[0], c) + tuple(index[2:])
                       for c in range(len(blocks.output_chunks[1]))]
            sources = [key for key in sources if key in done]
            layer[(grid_name, index[0]) + tuple(index[2:]) + (0,)] = (
                _grid_gradient_sum, sources, shape, call.dtype, grid_dtype)
        graph = _graph.HighLevelGraph.from_collections(grid_name, layer,
                                                       dependencies=[call.input, grid, grad])
        grad_grid = da.core.Array(graph, grid_name, grid.chunks, dtype=grid_dtype)
    return grad_input, grad_grid


def _grid_gradient_sum(results, shape, dtype, grid_dtype):
    """A grid chunk's gradient: the sum over the channel chunks that read it, in order."""
    total = np.zeros(shape, dtype=dtype)
    for result in results:
        total += result[2]
    return total.astype(grid_dtype)
