"""``grid_sample`` and its explicit backward, on images (4-D) and volumes (5-D).

The public functions validate their arguments (``warpkit._args``) and
call autograd primitives, which run on the backend that holds the arrays
(``warpkit.backends``); one backward run gives the gradients with respect
to both the input and the grid.
"""

from autograd.extend import primitive

from . import _validate
from ._args import SampleArgs
from ._device import backend_for
from ._primitives import register

__all__ = ["grid_sample", "grid_sample_vjp"]


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    """Sample ``input`` at the normalized coordinates in ``grid`` (PyTorch semantics).

    Images (4-D) or volumes (5-D), like PyTorch's ``grid_sample``.
    Differentiable under :mod:`autograd` with respect to ``input`` and ``grid``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (N, C, D, H, W), float32 or float64
        Images, or volumes, to read from.  A GPU array
        (``__cuda_array_interface__``) runs on the GPU and returns a device array.
    grid : ndarray, shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
        For every output pixel (voxel), the input coordinate ``(x, y)``
        (``(x, y, z)``: ``x`` indexes W, ``y`` H, ``z`` D) to read,
        normalized to ``[-1, 1]`` on each axis (see :mod:`warpkit.coords`).  Converted to
        the dtype of ``input``.  Non-finite and huge values are defined: NaN
        reads as ``-1`` (the rule PyTorch documents); coordinates beyond
        ``±2**30`` pixels, ``±Inf`` included, give 0 with ``"zeros"`` padding
        and the nearest edge value with ``"border"`` and ``"reflection"``, with
        zero gradient.  No index ever leaves the image.
    mode : {"bilinear", "nearest", "bicubic"}, optional
        Interpolation.  ``nearest`` rounds half to even; ``bicubic`` uses the
        Keys kernel with ``a = -0.75`` on the 4x4 neighbourhood.  On volumes
        ``bilinear`` is trilinear (8 taps) and ``bicubic`` is tricubic, the
        Keys kernel on each axis over the 4x4x4 neighbourhood (an extension:
        PyTorch has no 5-D bicubic).
    padding_mode : {"zeros", "border", "reflection"}, optional
        What taps outside the image read: 0, the nearest border pixel, or the
        image mirrored about its edges (``align_corners=False``) or about its
        corner pixel centres (``align_corners=True``); on each axis.
    align_corners : bool, optional
        Whether ``±1`` are the centres of the corner pixels (True) or their
        outer edges (False, the default).

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        Same dtype as ``input``.

    Raises
    ------
    TypeError
        If an array is not float32/float64, or CPU and GPU arrays are mixed.
    ValueError
        If shapes do not match or a mode name is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> theta = np.array([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])  # shift right by one pixel
    >>> grid = warpkit.affine_grid(theta, image.shape)
    >>> warpkit.grid_sample(image, grid)[0, 0]
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.],
           [13., 14., 15.,  0.]])

    A volume, read half a voxel along ``z`` between its two slices (trilinear):

    >>> volume = np.stack([np.zeros((2, 2)), np.ones((2, 2))])[None, None]  # (1, 1, 2, 2, 2)
    >>> grid = np.zeros((1, 1, 1, 1, 3))  # the centre (x, y, z) = (0, 0, 0)
    >>> warpkit.grid_sample(volume, grid)[0, 0]
    array([[[0.5]]])
    """
    return _grid_sample(input, grid, mode, padding_mode, align_corners)


def grid_sample_vjp(input, grid, grad_output, mode="bilinear", padding_mode="zeros",
                    align_corners=False, *, wrt=("input", "grid")):
    """Gradients of :func:`grid_sample` for an output gradient, without autograd.

    The input gradient is a scatter; it is computed race-free, without
    per-thread copies of the image, and is bit-identical from run to run
    whatever the thread count.
    Ask only for the gradients you need with ``wrt``: the input-gradient
    scatter is most of the cost, and an STN whose image is data needs only
    the grid's.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (N, C, D, H, W)
        The images (volumes) passed to :func:`grid_sample`.
    grid : ndarray, shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
        The grid passed to :func:`grid_sample`.
    grad_output : ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        Gradient of a scalar loss with respect to the output.
    mode, padding_mode, align_corners
        As for :func:`grid_sample`.
    wrt : tuple of {"input", "grid"}, optional
        The gradients to compute (keyword only; default both).

    Returns
    -------
    grad_input : ndarray, shape of ``input``, or None
        Same dtype as ``input``; None unless ``"input"`` is in ``wrt``.
    grad_grid : ndarray, shape of ``grid``, or None
        Same dtype as ``grid``.  Zero for ``mode="nearest"``, and where a
        padding mode clamps the coordinate; None unless ``"grid"`` is in
        ``wrt``.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> image = np.arange(4.0).reshape(1, 1, 2, 2)
    >>> grid = np.zeros((1, 1, 1, 2))  # read the image centre
    >>> grad_input, grad_grid = warpkit.grid_sample_vjp(image, grid, np.ones((1, 1, 1, 1)))
    >>> grad_input[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    >>> grad_grid[0, 0, 0]  # d output / d (x, y): the image rises by 1 per pixel in x, 2 in y
    array([1., 2.])
    >>> warpkit.grid_sample_vjp(image, grid, np.ones((1, 1, 1, 1)), wrt=("grid",))[0] is None
    True

    On a volume the grid gradient holds ``(d/dx, d/dy, d/dz)``:

    >>> volume = np.arange(8.0).reshape(1, 1, 2, 2, 2)  # rises by 1 in x, 2 in y, 4 in z
    >>> grad_grid = warpkit.grid_sample_vjp(volume, np.zeros((1, 1, 1, 1, 3)),
    ...                                     np.ones((1, 1, 1, 1, 1)), wrt=("grid",))[1]
    >>> grad_grid[0, 0, 0, 0]
    array([1., 2., 4.])
    """
    return _grid_sample_vjp(input, grid, grad_output, mode, padding_mode, align_corners,
                            wrt=wrt)


@primitive
def _grid_sample(input, grid, mode, padding_mode, align_corners):
    args = SampleArgs(input, grid, mode, padding_mode, align_corners)
    return backend_for(input=input, grid=grid).grid_sample(args, input, grid)


@primitive
def _grid_sample_vjp(input, grid, grad_output, mode, padding_mode, align_corners, *,
                     wrt=("input", "grid")):
    args = SampleArgs(input, grid, mode, padding_mode, align_corners)
    wrt = _validate.check_wrt(wrt, ("input", "grid"))
    backend = backend_for(input=input, grid=grid, grad_output=grad_output)
    args.check_grad_output(grad_output)
    return backend.grid_sample_vjp(args, input, grid, grad_output, "input" in wrt,
                                   "grid" in wrt)


register(_grid_sample, _grid_sample_vjp, ("input", "grid"), "grid_sample")
