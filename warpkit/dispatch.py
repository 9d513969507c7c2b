"""``warp(input, transform)``: warp by any transform object, through its fused kernel.

The registry here maps each transform class to its family
(:mod:`warpkit.families`) and each family name to its public warp; the
:class:`~warpkit.nn.SpatialTransformer` layer and the ``warpkit`` command
read their family names from it too.
"""

import numpy as np

from ._args import array_shape, output_size
from ._device import backend_for, is_device_array
from .fused import warp_affine, warp_perspective, warp_tps
from .grids import tps_grid
from .sampling import grid_sample
from .transforms import AffineTransform, PerspectiveTransform, TpsTransform, _normalized_points

__all__ = ["warp", "WARPS", "FAMILY_OF"]

#: The fused warp of each family, by family name.
WARPS = {"affine": warp_affine, "perspective": warp_perspective, "tps": warp_tps}

#: The family of each transform class.
FAMILY_OF = {AffineTransform: "affine", PerspectiveTransform: "perspective",
             TpsTransform: "tps"}


def warp(input, transform, size=None, *, mode="bilinear", padding_mode="zeros",
         align_corners=False):
    """Warp images or volumes by transform objects, with the family's fused kernel.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (N, C, D, H, W), float32 or float64
        Images, or volumes, to read from (or a GPU array).
    transform : transform object, or sequence of N of them
        Maps *output* pixel coordinates to *input* pixel coordinates
        (``input_from_output``, pixel centres at integers; see
        :mod:`warpkit.transforms`): 2-D transforms for images, 3-D
        transforms (``(x, y, z)`` = (column, row, slice)) for volumes.  One
        transform warps every sample; a sequence gives one per sample, all
        of the same class.
        :class:`~warpkit.AffineTransform` and :class:`~warpkit.PerspectiveTransform`
        run their fused warps (:func:`~warpkit.warp_affine`,
        :func:`~warpkit.warp_perspective`), images and volumes alike;
        :class:`~warpkit.TpsTransform` runs :func:`~warpkit.warp_tps` on
        images and :func:`~warpkit.tps_grid` with :func:`~warpkit.grid_sample`
        on volumes; any other transform (a
        :class:`~warpkit.transforms.CompositeTransform`, an inverse spline,
        a function of ``(M, d)`` points) is evaluated at every output pixel
        and sampled with :func:`~warpkit.grid_sample`.
    size, mode, padding_mode, align_corners
        As for :func:`warpkit.warp_affine`: ``size`` is ``(H_out, W_out)``,
        or ``(D_out, H_out, W_out)`` for volumes (or with the leading ``(N,
        C)``).

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
        The images (volumes) warped by the transforms, dtype of ``input``.

    Examples
    --------
    >>> import numpy as np, warpkit
    >>> image = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> shift = warpkit.AffineTransform(translation=(1.0, 0.0))  # read one pixel to the right
    >>> warpkit.warp(image, shift)[0, 0]
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.],
           [13., 14., 15.,  0.]])
    >>> volume = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    >>> up = warpkit.AffineTransform(translation=(0.0, 0.0, 1.0))  # read the next slice
    >>> warpkit.warp(volume, up)[0, 0]
    array([[[4., 5.],
            [6., 7.]],
    <BLANKLINE>
           [[0., 0.],
            [0., 0.]]])
    """
    shape = array_shape(input)
    if len(shape) not in (4, 5):
        raise ValueError(f"input must be 4-dimensional (N, C, H, W) or 5-dimensional "
                         f"(N, C, D, H, W), got shape {tuple(shape)}")
    batch, input_size = shape[0], tuple(shape[2:])
    transforms, copies = _per_sample(transform, batch, len(input_size))
    out_size = output_size(size, shape[:2], input_size)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    place = backend_for(input=input).to_device if is_device_array(input) else np.asarray

    def batched(arrays):  # per-sample arrays, the single transform's repeated
        return place(np.repeat(np.stack(arrays), copies, axis=0))

    family = FAMILY_OF.get(type(transforms[0]))
    if family == "tps":
        controls, targets, regularization = _spline_points(transforms, copies, input_size,
                                                           out_size, align_corners)
        if len(input_size) == 2:
            return warp_tps(input, place(controls), place(targets), out_size,
                            regularization=regularization, **options)
        # no fused volume spline: its grid, sampled
        return grid_sample(input, place(tps_grid(controls, targets, out_size,
                                                 regularization=regularization,
                                                 align_corners=align_corners)), **options)
    if family is not None:
        return WARPS[family](input, batched([t.to_normalized(input_size, out_size,
                                                             align_corners)
                                             for t in transforms]), out_size, **options)
    return grid_sample(input, batched([_normalized_grid(t, input_size, out_size, align_corners)
                                       for t in transforms]), **options)


def _per_sample(transform, batch, dims):
    """The transforms and how often each repeats: ``[transform], batch`` for one
    transform, the ``batch`` transforms of a sequence (all of one class) once each;
    transform objects must be ``dims``-D (plain functions are taken as they are)."""
    if callable(transform):
        transforms, copies = [transform], batch
    else:
        try:
            transforms, copies = list(transform), 1
        except TypeError:
            raise TypeError(f"transform must be a transform object or a sequence of them, "
                            f"got {type(transform).__name__}") from None
        if len(transforms) != batch or not transforms:
            raise ValueError(f"transform must be one transform, or a sequence of one per "
                             f"sample ({batch}), got a sequence of {len(transforms)}")
        kinds = {type(t) for t in transforms}
        if len(kinds) > 1 or not all(callable(t) for t in transforms):
            names = ", ".join(sorted(kind.__name__ for kind in kinds))
            raise TypeError(f"transform: a sequence must hold transforms of one class, "
                            f"got {names}")
    for t in transforms:
        if getattr(t, "dims", None) not in (None, dims):
            what = ("images (N, C, H, W)", "volumes (N, C, D, H, W)")[dims - 2]
            raise ValueError(f"transform must be {dims}-D to warp {what}, got a "
                             f"{t.dims}-D {type(t).__name__}")
    return transforms, copies


def _spline_points(transforms, copies, input_size, out_size, align_corners):
    """Normalized control points ((K, d) if shared, else (N, K, d)), target points
    (N, K, d) and the common regularization of a batch of splines."""
    controls, targets = zip(*(t.to_normalized(input_size, out_size, align_corners)
                              for t in transforms))
    regularization = {t.regularization for t in transforms}
    if len(regularization) > 1:
        raise ValueError("transform: the splines of a batch must share one "
                         f"regularization, got {sorted(regularization)}")
    shared = all(np.array_equal(c, controls[0]) for c in controls)
    controls = controls[0] if shared else np.repeat(np.stack(controls), copies, axis=0)
    return controls, np.repeat(np.stack(targets), copies, axis=0), regularization.pop()


def _normalized_grid(transform, input_size, out_size, align_corners):
    """``transform`` evaluated at every output pixel (voxel) centre, as a normalized grid
    (H_out, W_out, 2) or (D_out, H_out, W_out, 3)."""
    axes = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in out_size), indexing="ij")
    pixels = np.stack([values.ravel() for values in axes[::-1]], axis=1)   # x first
    source = np.asarray(transform(pixels), dtype=np.float64)
    grid = _normalized_points(source, input_size, align_corners)
    return grid.reshape(tuple(out_size) + (len(out_size),))
