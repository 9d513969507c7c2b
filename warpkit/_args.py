"""Validated arguments of a sampling call or a fused warp, for either backend.

:class:`SampleArgs` and :class:`WarpArgs` read only the shapes and dtypes of
their arrays, so the same checks serve NumPy arrays and GPU arrays; each
backend (:mod:`warpkit.backends.cpu`, :mod:`warpkit.backends.cuda`) then
converts the arrays its own way.  Every check of an image, an output size or
an output gradient lives here, once.
"""

import math

import numpy as np
from autograd.tracer import getval

from . import _validate
from .coords import normalized_base_coordinates

__all__ = ["SampleArgs", "WarpArgs", "DisplacementArgs", "array_shape", "check_image",
           "full_frame", "check_frame"]


def array_shape(value):
    """The shape of a NumPy, GPU or autograd-boxed array (or of ``np.asarray(value)``)."""
    value = getval(value)
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else np.shape(value)


def check_image(name, shape, dims=2):
    """Check an image batch shape ``(N, C, H, W)`` (``dims=2``) or a volume batch shape
    ``(N, C, D, H, W)`` (``dims=3``): that many entries, non-empty spatial axes unless
    the batch holds no channel at all, and extents the kernels can index.

    Examples
    --------
    >>> from warpkit._args import check_image
    >>> check_image("input", (2, 3, 0, 4))
    Traceback (most recent call last):
    ...
    ValueError: input must have non-empty height and width, got shape (2, 3, 0, 4)
    >>> check_image("input", (1, 1, 0, 4, 4), dims=3)
    Traceback (most recent call last):
    ...
    ValueError: input must have non-empty depth, height and width, got shape (1, 1, 0, 4, 4)
    """
    if dims == 2:
        _validate.check_ndim(name, shape, 4, "(N, C, H, W)")
        axes = "height and width"
    else:
        _validate.check_ndim(name, shape, 5, "(N, C, D, H, W)")
        axes = "depth, height and width"
    if 0 in shape[2:] and shape[0] * shape[1]:
        raise ValueError(f"{name} must have non-empty {axes}, got shape {shape}")
    _validate.check_extent(name, shape)
    if dims == 3 and shape[2] * shape[3] > _validate.MAX_EXTENT:
        raise ValueError(f"{name}'s depth times height must be at most "
                         f"{_validate.MAX_EXTENT}, got {tuple(shape[2:4])}")


#: Where a window of an image may start, at most, on either axis (2**30).
WINDOW_START_LIMIT = 2**30

#: A frame's layout, by the number of spatial axes.
FRAME_LAYOUTS = {2: "(height, width, top, left)",
                 3: "(depth, height, width, front, top, left)"}


def full_frame(shape, dims=2):
    """The frame of a whole input of ``shape`` (N, C, *spatial): its spatial extents,
    then zeros, as the int64 array the kernels take.

    A *frame* says where an input given to a kernel -- a window (crop) of a
    larger input -- lies in that full input: ``(height, width, top, left)`` for
    images, ``(depth, height, width, front, top, left)`` for volumes.  The
    kernels compute every coordinate on the full input and read the window.

    Examples
    --------
    >>> from warpkit._args import full_frame
    >>> full_frame((1, 3, 4, 5))
    array([4, 5, 0, 0])
    """
    spatial = tuple(int(extent) for extent in shape[2:2 + dims])
    return np.array(spatial + (0,) * dims, dtype=np.int64)


def check_frame(frame, input_shape, dims=2):
    """The frame of a window ``input_shape`` (N, C, *spatial) as the kernels' int64
    array, checked: the full extents hold the window where it starts
    (:func:`full_frame` for ``frame=None``: the input is the whole).

    Examples
    --------
    >>> from warpkit._args import check_frame
    >>> check_frame((10, 12, 3, 4), (1, 1, 5, 6))
    array([10, 12,  3,  4])
    >>> check_frame((10, 12, 6, 4), (1, 1, 5, 6))
    Traceback (most recent call last):
    ...
    ValueError: frame (height, width, top, left) = (10, 12, 6, 4) does not hold the input's (5, 6) pixels from (6, 4)
    """
    if frame is None:
        return full_frame(input_shape, dims)
    layout = FRAME_LAYOUTS[dims]
    values = _validate.check_size(f"frame {layout}", frame, 2 * dims)
    extents, starts = values[:dims], values[dims:]
    window = tuple(input_shape[2:2 + dims])
    if any(extent > _validate.MAX_EXTENT for extent in extents):
        raise ValueError(f"frame {layout} extents must be at most {_validate.MAX_EXTENT}, "
                         f"got {values}")
    if dims == 2 and any(start > WINDOW_START_LIMIT for start in starts):
        # the 2-D kernels subtract the origin from int32 tap indices of up to 2**30
        raise ValueError(f"frame {layout} = {values}: a window must start at most "
                         f"{WINDOW_START_LIMIT} pixels into the image")
    if any(start + size > extent for start, size, extent in zip(starts, window, extents)):
        raise ValueError(f"frame {layout} = {values} does not hold the input's {window} "
                         f"pixels from {starts}")
    return np.array(values, dtype=np.int64)


class _Options:
    """The sampling options shared by every call, as validated integer codes."""

    def __init__(self, mode, padding_mode, align_corners):
        self.mode = _validate.mode_code(mode)
        self.padding = _validate.padding_code(padding_mode)
        self.align_corners = _validate.check_bool("align_corners", align_corners)

    def output_work(self):
        """Number of output elements, the measure that picks the thread count."""
        n, c, *spatial = self.output_shape
        return n * max(c, 1) * math.prod(spatial)

    def check_grad_output(self, grad_output):
        """Check an output gradient's dtype and shape against this call's output."""
        _validate.float_dtype("grad_output", grad_output)
        shape = array_shape(grad_output)
        if shape != self.output_shape:
            raise ValueError(f"grad_output must have the output's shape {self.output_shape}, "
                             f"got {shape}")


class SampleArgs(_Options):
    """Validated arguments of :func:`warpkit.grid_sample` (shapes, dtypes, option codes).

    ``input`` (N, C, H, W) with ``grid`` (N, H_out, W_out, 2) (``dims`` 2), or
    ``input`` (N, C, D, H, W) with ``grid`` (N, D_out, H_out, W_out, 3) (``dims`` 3).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit._args import SampleArgs
    >>> args = SampleArgs(np.zeros((2, 3, 4, 5, 6)), np.zeros((2, 1, 7, 8, 3)), "bilinear",
    ...                   "zeros", False)
    >>> args.dims, args.output_shape
    (3, (2, 3, 1, 7, 8))
    """

    LAYOUTS = {2: ("(N, C, H, W)", "(N, H_out, W_out, 2)"),
               3: ("(N, C, D, H, W)", "(N, D_out, H_out, W_out, 3)")}

    def __init__(self, input, grid, mode, padding_mode, align_corners):
        super().__init__(mode, padding_mode, align_corners)
        self.dtype = _validate.float_dtype("input", input)
        self.grid_dtype = _validate.float_dtype("grid", grid)
        input_shape, grid_shape = array_shape(input), array_shape(grid)
        if len(input_shape) not in (4, 5):
            raise ValueError(f"input must be 4-dimensional (N, C, H, W) or 5-dimensional "
                             f"(N, C, D, H, W), got shape {input_shape}")
        self.dims = dims = len(input_shape) - 2
        if len(grid_shape) not in (4, 5):
            raise ValueError(f"grid must be {dims + 2}-dimensional {self.LAYOUTS[dims][1]}, "
                             f"got shape {grid_shape}")
        if len(grid_shape) != len(input_shape):  # the grid says which the input should be
            raise ValueError(f"input must be {len(grid_shape)}-dimensional "
                             f"{self.LAYOUTS[len(grid_shape) - 2][0]} for a grid of shape "
                             f"{grid_shape}, got shape {input_shape}")
        if grid_shape[-1] != dims:
            raise ValueError(f"grid must have shape {self.LAYOUTS[dims][1]} for a "
                             f"{len(input_shape)}-dimensional input, got {grid_shape}")
        if grid_shape[0] != input_shape[0]:
            raise ValueError(f"input and grid must have the same batch size, got input "
                             f"{input_shape} and grid {grid_shape}")
        check_image("input", input_shape, dims)
        self.input_shape = input_shape
        self.grid_shape = grid_shape
        self.output_shape = input_shape[:2] + grid_shape[1:-1]
        _validate.check_allocation("grid", self.output_shape, self.dtype, grid_shape)


class WarpArgs(_Options):
    """Validated image (or volume), output size and options of a fused warp.

    ``dims`` is 2 for images (N, C, H, W) and 3 for volumes (N, C, D, H, W).
    ``size`` is ``None`` (the input's spatial size), the output's spatial
    size (``(H_out, W_out)``, or ``(D_out, H_out, W_out)``) or that size
    after the input's ``(N, C)``.  ``xs``, ``ys`` (and ``zs`` for volumes)
    are the normalized output coordinates of the columns, rows (and slices),
    float64, built only after the allocation check passed.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit._args import WarpArgs
    >>> args = WarpArgs(np.zeros((1, 2, 4, 4, 4)), (1, 2, 3), "bilinear", "zeros", True, dims=3)
    >>> args.output_shape, args.zs, args.xs
    ((1, 2, 1, 2, 3), array([0.]), array([-1.,  0.,  1.]))
    """

    def __init__(self, input, size, mode, padding_mode, align_corners, dims=2):
        super().__init__(mode, padding_mode, align_corners)
        self.dtype = _validate.float_dtype("input", input)
        input_shape = array_shape(input)
        if dims == 2:
            check_image("input", input_shape)
        else:
            check_image("input", input_shape, dims=3)
        self.dims = dims
        spatial = output_size(size, input_shape[:2], input_shape[2:])
        self.input_shape = input_shape
        self.output_shape = input_shape[:2] + spatial
        # the output and the normalized coordinates of its columns, rows (and
        # slices); none for an empty output, whatever its nominal size
        empty = math.prod(self.output_shape) == 0
        _validate.check_allocation(
            "size", self.output_shape, self.dtype, self.output_shape if size is None else size,
            extra=() if empty else [((extent,), np.float64) for extent in spatial])
        extents = (0,) * dims if empty else spatial[::-1]  # x (the width) first
        bases = [normalized_base_coordinates(extent, self.align_corners, np.float64)
                 for extent in extents]
        self.xs, self.ys = bases[:2]
        if dims == 3:
            self.zs = bases[2]

    @classmethod
    def windowed(cls, input, output_extent, output_start, output_stop, mode, padding_mode,
                 align_corners, dims=2):
        """The arguments of the call that computes the output region
        ``[output_start, output_stop)`` of a warp whose full output has the spatial
        extent ``output_extent``, from the window ``input`` of the full input.

        Parameters
        ----------
        input : array, shape (N, C, H_crop, W_crop) or (N, C, D_crop, H_crop, W_crop)
            The input window the call reads (its shape and dtype are used).
        output_extent : sequence of int
            The full output's ``(H_out, W_out)`` (``(D_out, H_out, W_out)`` for
            ``dims=3``).
        output_start, output_stop : sequence of int
            The region's first and past-the-end indices per spatial axis, in the
            same order.
        mode, padding_mode, align_corners, dims
            As for :class:`WarpArgs`.

        Returns
        -------
        WarpArgs
            ``output_shape`` is the input's ``(N, C)`` and the region's size;
            ``xs``, ``ys`` (``zs``) are the region's slices of the full output's
            normalized base coordinates (the very same values).

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit._args import WarpArgs
        >>> args = WarpArgs.windowed(np.zeros((1, 1, 3, 3)), (4, 4), (0, 1), (2, 3),
        ...                          "bilinear", "zeros", False)
        >>> args.output_shape, args.xs, args.ys
        ((1, 1, 2, 2), array([-0.25,  0.25]), array([-0.75, -0.25]))
        """
        axes = ("(D_out, H_out, W_out)" if dims == 3 else "(H_out, W_out)")
        extent = _validate.check_size(f"output_extent {axes}", output_extent, dims)
        start = _validate.check_size(f"output_start {axes}", output_start, dims)
        stop = _validate.check_size(f"output_stop {axes}", output_stop, dims)
        if not all(a <= b <= e for a, b, e in zip(start, stop, extent)):
            raise ValueError(f"output_start {start} and output_stop {stop} must satisfy "
                             f"0 <= start <= stop <= output_extent {extent} on every axis")
        size = tuple(b - a for a, b in zip(start, stop))
        args = cls(input, size, mode, padding_mode, align_corners, dims=dims)
        # the full output's base coordinates, of which the region takes slices
        _validate.check_allocation("output_extent", (0,), np.float64, extent,
                                   extra=[((e,), np.float64) for e in extent])
        empty = math.prod(args.output_shape) == 0
        bases = [normalized_base_coordinates(0 if empty else e, args.align_corners,
                                             np.float64)[a:b]
                 for e, a, b in zip(extent[::-1], start[::-1], stop[::-1])]
        args.xs, args.ys = bases[:2]
        if dims == 3:
            args.zs = bases[2]
        return args


def output_size(size, leading, default):
    """The output's spatial size (``(H_out, W_out)``, or ``(D_out, H_out, W_out)``
    when ``default``, the input's, has 3 entries) from a ``size`` of that many
    entries, of two more starting with ``leading`` (the input's ``(N, C)``), or
    ``None`` (``default``).

    Examples
    --------
    >>> from warpkit._args import output_size
    >>> output_size((1, 3, 5, 7), (1, 3), (8, 8)), output_size([5, 7], (1, 3), (8, 8))
    ((5, 7), (5, 7))
    >>> output_size((2, 3, 5, 7), (1, 3), (8, 8))
    Traceback (most recent call last):
    ...
    ValueError: size (N, C, H_out, W_out) must start with the input's (N, C) = (1, 3), got (2, 3, 5, 7)
    >>> output_size(None, (1, 3), (4, 8, 8)), output_size((1, 3, 2, 5, 7), (1, 3), (4, 8, 8))
    ((4, 8, 8), (2, 5, 7))
    """
    if size is None:
        return tuple(default)
    dims = len(default)
    if np.iterable(size) and not isinstance(size, (str, bytes)):
        size = tuple(size)
    if isinstance(size, tuple) and len(size) == dims + 2:
        values = _validate.check_size("size", size, dims + 2)
        if values[:2] != tuple(leading):
            axes = ", ".join(("D_out", "H_out", "W_out")[-dims:])
            raise ValueError(f"size (N, C, {axes}) must start with the input's (N, C) = "
                             f"{tuple(leading)}, got {size!r}")
        return values[2:]
    return _validate.check_size("size", size, dims)


class DisplacementArgs(_Options):
    """Validated arguments of a displacement warp (:func:`warpkit.warp_displacement`).

    ``input`` (N, C, H, W) with ``flow`` (N, H_out, W_out, 2) holding ``(dx, dy)``,
    or ``input`` (N, C, D, H, W) with ``flow`` (N, D_out, H_out, W_out, 3) holding
    ``(dx, dy, dz)``.  Sets ``dims`` (2 or 3), ``input_shape``, ``output_shape``
    (the flow's spatial size), ``dtype`` (the input's), ``flow_dtype``, and the
    kernels' point source: grid value ``bases[a][i] + scales[a] * flow[..., a]`` on
    axis ``a`` (x first), with ``bases`` float64 arrays over the output's columns,
    rows (and slices) and ``scales`` float64 ``(dims,)``.  ``units="pixels"``:
    the bases are the output's voxel indices normalized on the *input* axes and
    the scales are d normalized / d pixel of the input axes; ``units="normalized"``:
    the bases are :func:`~warpkit.coords.normalized_base_coordinates` of the output
    axes and the scales are 1.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit._args import DisplacementArgs
    >>> args = DisplacementArgs(np.zeros((1, 1, 2, 4)), np.zeros((1, 2, 2, 2)), "pixels",
    ...                         "bilinear", "zeros", False)
    >>> args.output_shape, args.bases[0], args.scales
    ((1, 1, 2, 2), array([-0.75, -0.25]), array([0.5, 1. ]))
    """

    UNITS = ("pixels", "normalized")

    def __init__(self, input, flow, units, mode, padding_mode, align_corners):
        super().__init__(mode, padding_mode, align_corners)
        if not isinstance(units, str) or units not in self.UNITS:
            raise ValueError(f"units must be one of 'pixels', 'normalized', got {units!r}")
        self.units = units
        self.dtype = _validate.float_dtype("input", input)
        self.flow_dtype = _validate.float_dtype("flow", flow)
        input_shape, flow_shape = array_shape(input), array_shape(flow)
        if len(input_shape) not in (4, 5):
            raise ValueError(f"input must be 4-dimensional (N, C, H, W) or 5-dimensional "
                             f"(N, C, D, H, W), got shape {input_shape}")
        self.dims = dims = len(input_shape) - 2
        layout = "(N, H_out, W_out, 2)" if dims == 2 else "(N, D_out, H_out, W_out, 3)"
        if len(flow_shape) != dims + 2 or flow_shape[-1] != dims:
            raise ValueError(f"flow must have shape {layout} for a {len(input_shape)}-dimensional "
                             f"input, got {flow_shape}")
        if flow_shape[0] != input_shape[0]:
            raise ValueError(f"input and flow must have the same batch size, got input "
                             f"{input_shape} and flow {flow_shape}")
        check_image("input", input_shape, dims)
        self.input_shape = input_shape
        self.output_shape = input_shape[:2] + flow_shape[1:-1]
        out_sizes = flow_shape[-2:0:-1]  # x first: W_out, H_out (, D_out)
        empty = int(np.prod(self.output_shape)) == 0
        _validate.check_allocation("flow", self.output_shape, self.dtype, flow_shape, extra=(
            () if empty else [((size,), np.float64) for size in out_sizes]))
        in_sizes = input_shape[:1:-1]  # x first: W, H (, D)
        if empty:
            out_sizes = (0,) * dims
        if units == "normalized":
            self.bases = tuple(normalized_base_coordinates(size, self.align_corners, np.float64)
                               for size in out_sizes)
            self.scales = np.ones(dims)
        else:
            from . import coords  # the one place of the normalization formulas

            self.bases = tuple(
                np.asarray(coords.normalize(np.arange(size, dtype=np.float64), extent,
                                            self.align_corners), dtype=np.float64)
                for size, extent in zip(out_sizes, in_sizes))
            per_pixel = [coords.unnormalize_scale(extent, self.align_corners)
                         for extent in in_sizes]
            self.scales = np.array([1.0 / s if s else 0.0 for s in per_pixel])

    def output_work(self):
        """Number of output elements, the measure that picks the thread count."""
        return int(np.prod(self.output_shape[2:])) * self.output_shape[0] * max(
            self.output_shape[1], 1)
