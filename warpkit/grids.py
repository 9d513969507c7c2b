"""Grid generators: transformation parameters -> an ``input_from_output`` grid.

Written in :mod:`autograd.numpy`, so autograd differentiates them with respect
to their parameters without any hand-written gradient.
"""

import autograd.numpy as anp
from autograd.tracer import getval

from . import _validate
from .coords import base_grid

__all__ = ["affine_grid"]


def affine_grid(theta, size, align_corners=False):
    """Sampling grid of a batch of affine maps (PyTorch ``affine_grid`` semantics).

    Differentiable under :mod:`autograd` with respect to ``theta``.

    Parameters
    ----------
    theta : ndarray, shape (N, 2, 3), float32 or float64
        Affine maps from normalized *output* coordinates ``(x, y, 1)`` to
        normalized *input* coordinates.
    size : tuple of int
        Output size ``(N, C, H_out, W_out)``; ``N`` must match ``theta``.
    align_corners : bool, optional
        The normalization convention (see :mod:`warpkit.coords`).

    Returns
    -------
    ndarray, shape (N, H_out, W_out, 2)
        ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)``, in the dtype of ``theta``.

    Examples
    --------
    >>> import numpy as np
    >>> import warpkit
    >>> identity = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> warpkit.affine_grid(identity, (1, 1, 2, 2))[0]
    array([[[-0.5, -0.5],
            [ 0.5, -0.5]],
    <BLANKLINE>
           [[-0.5,  0.5],
            [ 0.5,  0.5]]])
    """
    dtype = _validate.float_dtype("theta", theta)
    if not hasattr(getval(theta), "shape"):
        theta = anp.asarray(theta, dtype=dtype)
    shape = tuple(getval(theta).shape)
    _validate.check_ndim("theta", shape, 3, "(N, 2, 3)")
    if shape[1:] != (2, 3):
        raise ValueError(f"theta must have shape (N, 2, 3), got {shape}")
    batch, _, height, width = _validate.check_size("size", size, 4)
    if batch != shape[0]:
        raise ValueError(f"size[0] must equal the batch size of theta ({shape[0]}), got {batch}")
    align_corners = _validate.check_bool("align_corners", align_corners)
    base = base_grid(height, width, align_corners, dtype=dtype).reshape(1, height * width, 3)
    grid = anp.matmul(base, anp.swapaxes(theta, 1, 2))
    return anp.reshape(grid, (batch, height, width, 2))
