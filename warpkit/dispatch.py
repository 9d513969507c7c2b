"""``warp(input, transform)``: warp by any transform object, through its fused kernel.

The registry here maps each transform class to its family
(:mod:`warpkit.families`) and each family name to its public warp; the
:class:`~warpkit.nn.SpatialTransformer` layer and the ``warpkit`` command
read their family names from it too.
"""

import numpy as np

from . import _validate, coords
from ._args import array_shape, output_size
from ._device import backend_for, is_device_array
from .sampling import grid_sample
from .transforms import AffineTransform, PerspectiveTransform, TpsTransform
from .fused import warp_affine, warp_perspective, warp_tps

__all__ = ["warp", "WARPS", "FAMILY_OF"]

#: The fused warp of each family, by family name.
WARPS = {"affine": warp_affine, "perspective": warp_perspective, "tps": warp_tps}

#: The family of each transform class.
FAMILY_OF = {AffineTransform: "affine", PerspectiveTransform: "perspective",
             TpsTransform: "tps"}


def warp(input, transform, size=None, *, mode="bilinear", padding_mode="zeros",
         align_corners=False):
    """Warp images by transform objects, with the family's fused kernel.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W), float32 or float64
        Images to read from (or a GPU array).
    transform : transform object, or sequence of N of them
        Maps *output* pixel coordinates to *input* pixel coordinates
        (``input_from_output``, pixel centres at integers; see
        :mod:`warpkit.transforms`).  One transform warps every sample; a
        sequence gives one per sample, all of the same class.
        :class:`~warpkit.AffineTransform`, :class:`~warpkit.PerspectiveTransform`
        and :class:`~warpkit.TpsTransform` run their fused warps
        (:func:`~warpkit.warp_affine`, :func:`~warpkit.warp_perspective`,
        :func:`~warpkit.warp_tps`);
        any other transform (a :class:`~warpkit.transforms.CompositeTransform`,
        an inverse spline) is evaluated at every output pixel and sampled
        with :func:`~warpkit.grid_sample`.
    size, mode, padding_mode, align_corners
        As for :func:`warpkit.warp_affine`.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
        The images warped by the transforms, dtype of ``input``.

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
    """
    shape = array_shape(input)
    _validate.check_ndim("input", shape, 4, "(N, C, H, W)")
    batch, input_size = shape[0], shape[2:]
    transforms, copies = _per_sample(transform, batch)
    out_size = output_size(size, shape[:2], input_size)
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    place = backend_for(input=input).to_device if is_device_array(input) else np.asarray

    def batched(arrays):  # per-sample arrays, the single transform's repeated
        return place(np.repeat(np.stack(arrays), copies, axis=0))

    family = FAMILY_OF.get(type(transforms[0]))
    if family == "tps":
        controls, targets = zip(*(t.to_normalized(input_size, out_size, align_corners)
                                  for t in transforms))
        regularization = {t.regularization for t in transforms}
        if len(regularization) > 1:
            raise ValueError("transform: the splines of a batch must share one "
                             f"regularization, got {sorted(regularization)}")
        shared = all(np.array_equal(c, controls[0]) for c in controls)
        return warp_tps(input, place(controls[0]) if shared else batched(controls),
                        batched(targets), out_size, regularization=regularization.pop(),
                        **options)
    if family is not None:
        return WARPS[family](input, batched([t.to_normalized(input_size, out_size,
                                                             align_corners)
                                             for t in transforms]), out_size, **options)
    return grid_sample(input, batched([_normalized_grid(t, input_size, out_size, align_corners)
                                       for t in transforms]), **options)


def _per_sample(transform, batch):
    """The transforms and how often each repeats: ``[transform], batch`` for one
    transform, the ``batch`` transforms of a sequence (all of one class) once each."""
    if callable(transform):
        return [transform], batch
    try:
        transforms = list(transform)
    except TypeError:
        raise TypeError(f"transform must be a transform object or a sequence of them, "
                        f"got {type(transform).__name__}") from None
    if len(transforms) != batch or not transforms:
        raise ValueError(f"transform must be one transform, or a sequence of one per sample "
                         f"({batch}), got a sequence of {len(transforms)}")
    kinds = {type(t) for t in transforms}
    if len(kinds) > 1 or not all(callable(t) for t in transforms):
        names = ", ".join(sorted(kind.__name__ for kind in kinds))
        raise TypeError(f"transform: a sequence must hold transforms of one class, got {names}")
    return transforms, 1


def _normalized_grid(transform, input_size, out_size, align_corners):
    """``transform`` evaluated at every output pixel centre, as a normalized grid."""
    out_height, out_width = out_size
    ys, xs = np.meshgrid(np.arange(out_height, dtype=np.float64),
                         np.arange(out_width, dtype=np.float64), indexing="ij")
    pixels = np.stack([xs.ravel(), ys.ravel()], axis=1)
    source = np.asarray(transform(pixels), dtype=np.float64)
    grid = coords.normalized_from_pixel(source, input_size, align_corners)
    return grid.reshape(out_height, out_width, 2)
