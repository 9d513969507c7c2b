"""Validated arguments of a sampling call or a fused warp, for either backend.

:class:`SampleArgs` and :class:`WarpArgs` read only the shapes and dtypes of
their arrays, so the same checks serve NumPy arrays and GPU arrays; each
backend (:mod:`warpkit.backends.cpu`, :mod:`warpkit.backends.cuda`) then
converts the arrays its own way.  Every check of an image, an output size or
an output gradient lives here, once.
"""

import numpy as np
from autograd.tracer import getval

from . import _validate
from .coords import normalized_base_coordinates

__all__ = ["SampleArgs", "WarpArgs", "array_shape", "check_image"]


def array_shape(value):
    """The shape of a NumPy, GPU or autograd-boxed array (or of ``np.asarray(value)``)."""
    value = getval(value)
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else np.shape(value)


def check_image(name, shape):
    """Check an image batch shape ``(N, C, H, W)``: four entries, a non-empty
    plane unless the batch holds no channel at all, and extents the kernels
    can index.

    Examples
    --------
    >>> from warpkit._args import check_image
    >>> check_image("input", (2, 3, 0, 4))
    Traceback (most recent call last):
    ...
    ValueError: input must have non-empty height and width, got shape (2, 3, 0, 4)
    """
    _validate.check_ndim(name, shape, 4, "(N, C, H, W)")
    if (shape[2] == 0 or shape[3] == 0) and shape[0] * shape[1]:
        raise ValueError(f"{name} must have non-empty height and width, got shape {shape}")
    _validate.check_extent(name, shape)


class _Options:
    """The sampling options shared by every call, as validated integer codes."""

    def __init__(self, mode, padding_mode, align_corners):
        self.mode = _validate.mode_code(mode)
        self.padding = _validate.padding_code(padding_mode)
        self.align_corners = _validate.check_bool("align_corners", align_corners)

    def output_work(self):
        """Number of output elements, the measure that picks the thread count."""
        n, c, h, w = self.output_shape
        return n * max(c, 1) * h * w

    def check_grad_output(self, grad_output):
        """Check an output gradient's dtype and shape against this call's output."""
        _validate.float_dtype("grad_output", grad_output)
        shape = array_shape(grad_output)
        if shape != self.output_shape:
            raise ValueError(f"grad_output must have the output's shape {self.output_shape}, "
                             f"got {shape}")


class SampleArgs(_Options):
    """Validated arguments of :func:`warpkit.grid_sample` (shapes, dtypes, option codes)."""

    def __init__(self, input, grid, mode, padding_mode, align_corners):
        super().__init__(mode, padding_mode, align_corners)
        self.dtype = _validate.float_dtype("input", input)
        self.grid_dtype = _validate.float_dtype("grid", grid)
        input_shape, grid_shape = array_shape(input), array_shape(grid)
        _validate.check_ndim("input", input_shape, 4, "(N, C, H, W)")
        _validate.check_ndim("grid", grid_shape, 4, "(N, H_out, W_out, 2)")
        if grid_shape[3] != 2:
            raise ValueError(f"grid must have shape (N, H_out, W_out, 2), got {grid_shape}")
        if grid_shape[0] != input_shape[0]:
            raise ValueError(f"input and grid must have the same batch size, got input "
                             f"{input_shape} and grid {grid_shape}")
        check_image("input", input_shape)
        self.input_shape = input_shape
        self.grid_shape = grid_shape
        self.output_shape = input_shape[:2] + grid_shape[1:3]
        _validate.check_allocation("grid", self.output_shape, self.dtype, grid_shape)


class WarpArgs(_Options):
    """Validated image, output size and options of a fused warp.

    ``size`` is ``None`` (the input's height and width), ``(H_out, W_out)``
    or ``(N, C, H_out, W_out)`` starting with the input's ``(N, C)``.
    ``xs`` and ``ys`` are the normalized output coordinates of the columns
    and rows (float64), built only after the allocation check passed.
    """

    def __init__(self, input, size, mode, padding_mode, align_corners):
        super().__init__(mode, padding_mode, align_corners)
        self.dtype = _validate.float_dtype("input", input)
        input_shape = array_shape(input)
        check_image("input", input_shape)
        batch, channels, height, width = input_shape
        out_height, out_width = output_size(size, (batch, channels), (height, width))
        self.input_shape = input_shape
        self.output_shape = (batch, channels, out_height, out_width)
        # the output and the normalized coordinates of its columns and rows
        # (none for an empty output, whatever its nominal size)
        empty = batch * channels * out_height * out_width == 0
        _validate.check_allocation(
            "size", self.output_shape, self.dtype, self.output_shape if size is None else size,
            extra=() if empty else [((out_width,), np.float64), ((out_height,), np.float64)])
        extents = (0, 0) if empty else (out_width, out_height)
        self.xs = normalized_base_coordinates(extents[0], self.align_corners, np.float64)
        self.ys = normalized_base_coordinates(extents[1], self.align_corners, np.float64)


def output_size(size, leading, default):
    """``(H_out, W_out)`` from a ``size`` of 2 entries, of 4 entries starting
    with ``leading`` (the input's ``(N, C)``), or ``None`` (``default``).

    Examples
    --------
    >>> from warpkit._args import output_size
    >>> output_size((1, 3, 5, 7), (1, 3), (8, 8)), output_size([5, 7], (1, 3), (8, 8))
    ((5, 7), (5, 7))
    >>> output_size((2, 3, 5, 7), (1, 3), (8, 8))
    Traceback (most recent call last):
    ...
    ValueError: size (N, C, H_out, W_out) must start with the input's (N, C) = (1, 3), got (2, 3, 5, 7)
    """
    if size is None:
        return tuple(default)
    if np.iterable(size) and not isinstance(size, (str, bytes)):
        size = tuple(size)
    if isinstance(size, tuple) and len(size) == 4:
        values = _validate.check_size("size", size, 4)
        if values[:2] != tuple(leading):
            raise ValueError(f"size (N, C, H_out, W_out) must start with the input's (N, C) = "
                             f"{tuple(leading)}, got {size!r}")
        return values[2:]
    return _validate.check_size("size", size, 2)
