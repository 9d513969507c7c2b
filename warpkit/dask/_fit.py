"""Register two chunked images by gradient descent on the chunked warp's gradient.

:func:`fit_transform` finds the affine (or perspective) map that makes
``warp(moving)`` match ``fixed`` in mean squared error.  Every step computes
the loss and its gradient with respect to the parameters chunk by chunk:
each task warps one output chunk of ``moving``, compares it with the same
chunk of ``fixed`` and returns its partial loss and parameter gradient, and
a fixed tree adds the partials, so no full-size image is ever held and every
run takes the same steps.  Optionally it starts on a pyramid of 2x-averaged
copies built with Dask: with ``align_corners=False`` the normalized
coordinates of a pixel do not change when the image is averaged down, so the
parameters carry over from level to level unchanged.
"""

import dataclasses

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from . import _graph, _tasks, _warps

__all__ = ["fit_transform", "FitResult", "pyramid"]

#: Pyramid levels at most this many bytes are kept in memory while fitting
#: (``persist``); larger ones are read again from their source at every step.
PERSIST_BYTES = 256 * 2**20


@dataclasses.dataclass
class FitResult:
    """The outcome of :func:`fit_transform`.

    Attributes
    ----------
    params : ndarray
        The fitted parameters: theta (N, 2, 3) for ``model="affine"`` (H (N, 3, 3)
        for "perspective"; (N, 3, 4) and (N, 4, 4) for volumes), mapping normalized
        ``fixed`` coordinates to ``moving`` ones, as for :func:`warp_affine`.
    losses : list of ndarray
        The loss before each step, per pyramid level (coarsest first).
    shapes : list of tuple
        The spatial shape of each level.
    """

    params: np.ndarray
    losses: list
    shapes: list


def pyramid(image, levels, axes=None, persist_bytes=0):
    """``levels`` copies of ``image``, each averaged 2x down from the previous one.

    Parameters
    ----------
    image : dask.array.Array
        Images (N, C, H, W) or volumes (N, C, D, H, W).
    levels : int
        Number of levels (1: the image only).
    axes : tuple of int, optional
        The axes to average (default every axis after the second).
    persist_bytes : int, optional
        Levels of at most this many bytes are computed and kept in memory
        (``dask.persist``) as they are built, so that each coarser level is
        averaged from the kept one instead of from ``image`` again (default 0:
        every level stays lazy).

    Returns
    -------
    list of dask.array.Array
        Coarsest first; each level keeps about the input's chunk size.  An odd
        extent drops its last row (``trim_excess``).

    Examples
    --------
    >>> import dask.array as da
    >>> from warpkit.dask import pyramid
    >>> [level.shape for level in pyramid(da.ones((1, 1, 64, 48), chunks=16), 3)]
    [(1, 1, 16, 12), (1, 1, 32, 24), (1, 1, 64, 48)]
    """
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"levels must be a positive integer, got {levels!r}")
    axes = tuple(range(2, image.ndim)) if axes is None else tuple(axes)
    chunks = image.chunksize
    result = [image]
    for _ in range(levels - 1):
        previous = result[-1]
        if min(previous.shape[a] for a in axes) < 2:
            raise ValueError(f"levels={levels} averages an axis of {image.shape} below one "
                             f"pixel")
        coarse = da.coarsen(np.mean, previous, {a: 2 for a in axes}, trim_excess=True)
        coarse = coarse.astype(image.dtype).rechunk(
            tuple(min(c, s) for c, s in zip(chunks, coarse.shape)))
        if coarse.nbytes <= persist_bytes:
            coarse = coarse.persist()
        result.append(coarse)
    return result[::-1]


def fit_transform(fixed, moving, model="affine", loss="mse", *, params=None, levels=1,
                  steps=100, step_pixels=0.5, final_step_pixels=0.01, mode="bilinear",
                  padding_mode="zeros", align_corners=False, callback=None):
    """Register ``moving`` to ``fixed`` (both chunked) by Adam on the chunked gradient.

    Parameters
    ----------
    fixed, moving : dask.array.Array, shape (H, W), (N, C, H, W), (D, H, W) or (N, C, D, H, W)
        Same shape; float32 or float64; any chunking (``fixed``'s chunks set the
        tasks: each reads one chunk of ``fixed`` and the chunks of ``moving`` its
        source box touches).
    model : {"affine", "perspective"}, optional
        The family of the map from ``fixed`` to ``moving`` coordinates.
    loss : {"mse"}, optional
        Mean squared difference over every pixel of the output.
    params : ndarray, optional
        Start (default the identity).
    levels : int, optional
        Pyramid levels (:func:`pyramid`); the fit runs coarsest first.
    steps : int or sequence of int, optional
        Adam steps per level (one number for every level, or one per level,
        coarsest first).
    step_pixels, final_step_pixels : float or sequence of float, optional
        Adam's step size at each level's first and last step, in pixels of that
        level (a parameter change that moves the image edge by that much); it
        decays geometrically in between.  One number for every level, or one per
        level (coarsest first): a finer level starts from the coarser one's
        answer, so it wants smaller first steps.
    mode, padding_mode, align_corners
        As for :func:`warp_affine`.  ``align_corners=False`` keeps a pixel's
        normalized coordinates across pyramid levels.
    callback : callable, optional
        ``callback(level, step, loss, params)`` after every step.

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        Unknown ``model`` or ``loss``, mismatched shapes, non-finite ``params``.

    Examples
    --------
    >>> import dask.array as da, numpy as np, warpkit, warpkit.dask
    >>> y, x = np.mgrid[0:64, 0:64] / 64.0
    >>> fixed = (np.exp(-(x - 0.35) ** 2 * 20 - (y - 0.45) ** 2 * 8)
    ...          + 0.7 * np.exp(-((x - 0.65) ** 2 + (y - 0.6) ** 2) * 30))  # two blobs
    >>> theta = np.array([[[1.0, 0.0, 0.06], [0.0, 1.0, -0.04]]])  # a shift
    >>> moving = warpkit.warp_affine(fixed[None, None], np.linalg.inv(
    ...     np.vstack([theta[0], [0, 0, 1]]))[None, :2], padding_mode="border")[0, 0]
    >>> fit = warpkit.dask.fit_transform(da.from_array(fixed, chunks=32),
    ...                                  da.from_array(moving, chunks=32), steps=150,
    ...                                  padding_mode="border")
    >>> bool(np.abs(fit.params - theta).max() < 2e-3)
    True
    """
    if model not in ("affine", "perspective"):
        raise ValueError(f"model must be 'affine' or 'perspective', got {model!r}")
    if loss != "mse":
        raise ValueError(f"loss must be 'mse', got {loss!r}")
    fixed, moving = da.asarray(fixed), da.asarray(moving)
    if fixed.shape != moving.shape:
        raise ValueError(f"fixed and moving must have the same shape, got {fixed.shape} "
                         f"and {moving.shape}")
    dims = 3 if fixed.ndim in (3, 5) else 2
    if fixed.ndim == dims:
        fixed, moving = fixed[(None, None)], moving[(None, None)]
    batch = fixed.shape[0]
    shape = {("affine", 2): (2, 3), ("perspective", 2): (3, 3),
             ("affine", 3): (3, 4), ("perspective", 3): (4, 4)}[model, dims]
    if params is None:
        params = np.broadcast_to(np.eye(*shape), (batch,) + shape).copy()
    params, _ = _warps._parameter("params", params, (shape,))
    if params.shape != (batch,) + shape:
        raise ValueError(f"params must have shape {(batch,) + shape}, got {params.shape}")
    fixed_levels, moving_levels = (pyramid(image, levels, persist_bytes=PERSIST_BYTES)
                                   for image in (fixed, moving))
    counts, firsts, lasts = (_per_level(name, value, levels) for name, value in (
        ("steps", steps), ("step_pixels", step_pixels),
        ("final_step_pixels", final_step_pixels)))
    options = (mode, padding_mode, align_corners)
    losses, shapes = [], []
    for level, (fixed_level, moving_level, count, first, last) in enumerate(
            zip(fixed_levels, moving_levels, counts, firsts, lasts)):
        shapes.append(tuple(fixed_level.shape[2:]))
        params, history = _fit_level(fixed_level, moving_level, model, params, count,
                                     first, last, options,
                                     lambda step, value, p, level=level: callback(
                                         level, step, value, p) if callback else None)
        losses.append(history)
    return FitResult(params=params, losses=losses, shapes=shapes)


def _per_level(name, value, levels):
    """One value per level from a number or a sequence of ``levels`` numbers."""
    values = [value] * levels if np.ndim(value) == 0 else list(value)
    if len(values) != levels:
        raise ValueError(f"{name} must be one number or {levels} numbers, got {value!r}")
    return values


def _fit_level(fixed, moving, model, params, count, step_pixels, final_step_pixels, options,
               report):
    """Adam steps at one pyramid level; the step size in that level's pixels."""
    extent = max(fixed.shape[2:])
    first, last = (2.0 * value / extent for value in (step_pixels, final_step_pixels))
    decay = (last / first) ** (1.0 / max(count - 1, 1))
    moment, second = np.zeros_like(params), np.zeros_like(params)
    beta1, beta2, epsilon = 0.9, 0.999, 1e-12
    history = []
    for step in range(count):
        value, grad = loss_and_gradient(fixed, moving, model, params, *options)
        history.append(value)
        moment = beta1 * moment + (1.0 - beta1) * grad
        second = beta2 * second + (1.0 - beta2) * grad * grad
        corrected = moment / (1.0 - beta1 ** (step + 1))
        scale = np.sqrt(second / (1.0 - beta2 ** (step + 1))) + epsilon
        params = params - first * decay ** step * corrected / scale
        report(step, value, params)
    return params, np.array(history)


def loss_and_gradient(fixed, moving, model, params, mode="bilinear", padding_mode="zeros",
                      align_corners=False):
    """The mean squared error of ``warp(moving, params)`` against ``fixed`` and its
    gradient with respect to ``params``, computed chunk by chunk.

    Parameters
    ----------
    fixed, moving : dask.array.Array, shape (N, C, *spatial)
    model : {"affine", "perspective"}
    params : ndarray, the family's (N, ...) parameters

    Returns
    -------
    loss : float
    gradient : ndarray, float64, shape of ``params``

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from warpkit.dask._fit import loss_and_gradient
    >>> image = da.ones((1, 1, 8, 8), chunks=4)
    >>> value, grad = loss_and_gradient(image, image, "affine", np.eye(2, 3)[None],
    ...                                 padding_mode="border")
    >>> float(value), float(np.abs(grad).max())
    (0.0, 0.0)
    """
    name = "theta" if model == "affine" else "homography"
    trailing = {"affine": {(2, 3): 2, (3, 4): 3}, "perspective": {(3, 3): 2, (4, 4): 3}}[model]
    call, kernel_params, per_sample, _, box_of = _warps._matrix_warp(
        model, name, moving, params, None, fixed.chunks[2:],
        (mode, padding_mode, align_corners), trailing)
    blocks = _graph.Blocks(call.input, call.output_extent, call.output_chunks, box_of)
    task_call = (model, call.dims, call.options, call.input_extent, call.output_extent)
    count = float(np.prod(fixed.shape))
    batch = fixed.shape[0]
    token = tokenize(moving.name, fixed.name, task_call, *kernel_params)
    dsk = {}
    leaves = []
    for index in blocks.output_blocks():
        box = blocks.box(index)
        n0, n1 = blocks.samples(index[0])
        values = tuple(p[n0:n1] for p in kernel_params)
        output_start, output_stop = blocks.region(index)
        keys, starts = blocks.parts(index, box) if box is not None else ([], [])
        key = ("mse-block-" + token,) + index
        dsk[key] = (_tasks.mse_block, keys, starts, box, (fixed.name,) + index, task_call,
                    values, output_start, output_stop, count, (n0, n1), batch)
        leaves.append(key)
    root = _graph.reduction_tree(dsk, "mse-" + token, leaves, _tasks.sum_parameters)
    graph = HighLevelGraph.from_collections("mse-" + token, dsk,
                                            dependencies=[call.input, fixed])
    grad, value = Delayed(root, graph, layer="mse-" + token).compute()
    return float(value[0]), grad.reshape(params.shape)
