"""The distortions of the Spatial Transformer Networks paper, built on warpkit's warps.

Each function takes a batch of images ``(N, C, H, W)`` (float32 or float64,
values usually in ``[0, 1]``) and a random generator, draws one random
transformation per image, and warps the whole batch with one call into
warpkit.  Distances are in pixels of the input images; the defaults are the
paper's values for 28x28 MNIST digits (Jaderberg et al., 2015, section 4.1):

* **R** -- rotation by an angle drawn from ``[-90, 90]`` degrees;
* **RTS** -- rotation in ``[-45, 45]`` degrees, scale in ``[0.7, 1.2]``,
  placed at a random position of a 42x42 canvas;
* **P** -- scale in ``[0.75, 1]``, then each corner moved by a normal of
  sigma 5 px: a projective warp;
* **E** -- scale in ``[0.75, 1]``, then a thin-plate spline whose 16 control
  points (a 4x4 grid) are moved by a normal of sigma 1.5 px;
* **cluttered** -- the digit at a random place of a 60x60 canvas, with six
  random 6x6 fragments of other digits as clutter.

Warps read outside the input as 0 (``padding_mode="zeros"``) and are bilinear.
"""

import numpy as np

import warpkit

from . import _geometry
from ._geometry import as_rng

__all__ = ["distort_r", "distort_rts", "distort_p", "distort_e", "distort_cluttered"]


def _check_images(images):
    dtype = np.asarray(images).dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"images must be a float32 or float64 array, got dtype {dtype}")
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be 4-dimensional (N, C, H, W), got shape {images.shape}")
    return images


def _check_range(name, value):
    low, high = (float(v) for v in value)
    if not 0 < low <= high:
        raise ValueError(f"{name} must be a (low, high) pair with 0 < low <= high, got {value!r}")
    return low, high


def _centred(matrices, input_size, output_size, offsets=None):
    """``T(c_in) @ matrices @ T(-c_out - offsets)``: act about the image centres."""
    n = len(matrices)
    out_centre = np.tile(_geometry.centre(output_size), (n, 1))
    if offsets is not None:
        out_centre = out_centre + offsets
    return (
        _geometry.translation(np.tile(_geometry.centre(input_size), (n, 1)))
        @ matrices
        @ _geometry.translation(-out_centre)
    )


def distort_r(images, rng, max_angle=90.0):
    """Rotate every image about its centre by a random angle (the paper's **R** set).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), float32 or float64
        The images.
    rng : numpy.random.Generator or int
        Source of randomness (an int seeds a new generator).
    max_angle : float, optional
        Angles are drawn uniformly from ``[-max_angle, max_angle]`` degrees.

    Returns
    -------
    ndarray, shape (N, C, H, W)
        The rotated images, in the dtype of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import distort_r
    >>> images = np.zeros((5, 1, 28, 28), dtype=np.float32)
    >>> distort_r(images, np.random.default_rng(0)).shape
    (5, 1, 28, 28)
    """
    images = _check_images(images)
    rng = as_rng(rng)
    n = images.shape[0]
    size = images.shape[2:]
    angles = rng.uniform(-max_angle, max_angle, size=n)
    # The content turns by +angle, so an output pixel reads the input at -angle.
    matrices = _geometry.rotation_scale(-angles, np.ones(n))
    return _geometry.affine_warp(images, _centred(matrices, size, size), size)


def distort_rts(images, rng, max_angle=45.0, scale=(0.7, 1.2), canvas=42):
    """Rotate, scale and place every image at random in a larger canvas (the **RTS** set).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), float32 or float64
        The images.
    rng : numpy.random.Generator or int
        Source of randomness.
    max_angle : float, optional
        Rotation drawn uniformly from ``[-max_angle, max_angle]`` degrees.
    scale : (float, float), optional
        Scale factor drawn uniformly from this range.
    canvas : int or (int, int), optional
        Output size.  The scaled ``H x W`` frame is placed uniformly at random
        so that it stays inside the canvas (centred when it does not fit).

    Returns
    -------
    ndarray, shape (N, C, canvas, canvas)
        The distorted images, in the dtype of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import distort_rts
    >>> images = np.zeros((5, 1, 28, 28), dtype=np.float32)
    >>> distort_rts(images, np.random.default_rng(0), canvas=42).shape
    (5, 1, 42, 42)
    """
    images = _check_images(images)
    rng = as_rng(rng)
    low, high = _check_range("scale", scale)
    out_size = _geometry.as_size("canvas", canvas)
    n = images.shape[0]
    height, width = images.shape[2:]
    angles = rng.uniform(-max_angle, max_angle, size=n)
    scales = rng.uniform(low, high, size=n)
    room_x = np.maximum(out_size[1] - scales * width, 0.0) / 2.0
    room_y = np.maximum(out_size[0] - scales * height, 0.0) / 2.0
    offsets = np.stack([room_x, room_y], axis=1) * rng.uniform(-1.0, 1.0, size=(n, 2))
    matrices = _geometry.rotation_scale(-angles, 1.0 / scales)
    input_from_output = _centred(matrices, (height, width), out_size, offsets)
    return _geometry.affine_warp(images, input_from_output, out_size)


def distort_p(images, rng, scale=(0.75, 1.0), sigma=5.0):
    """Scale every image, then move its four corners at random: a projective warp (**P**).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), float32 or float64
        The images.
    rng : numpy.random.Generator or int
        Source of randomness.
    scale : (float, float), optional
        Scale about the centre, drawn uniformly from this range.
    sigma : float, optional
        Standard deviation, in pixels, of the normal that moves each corner of
        the scaled frame (each coordinate independently).  Draws that would
        fold the frame (a non-convex quadrilateral, which no projective map
        reaches) are redrawn.

    Returns
    -------
    ndarray, shape (N, C, H, W)
        The distorted images, in the dtype of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import distort_p
    >>> images = np.zeros((5, 1, 28, 28), dtype=np.float32)
    >>> distort_p(images, np.random.default_rng(0)).shape
    (5, 1, 28, 28)
    """
    images = _check_images(images)
    rng = as_rng(rng)
    low, high = _check_range("scale", scale)
    n, c = images.shape[:2]
    size = images.shape[2:]
    scales = rng.uniform(low, high, size=n)
    corners = _geometry.frame_corners(size)[None]  # (1, 4, 2)
    centre = _geometry.centre(size)
    moved = centre + scales[:, None, None] * (corners - centre)
    moved = moved + _convex_jitter(rng, sigma, moved)
    # Output pixels at the moved corners read the input at its corners.
    input_from_output = _geometry.homographies_from_points(
        moved, np.broadcast_to(corners, moved.shape)
    )
    homography = _geometry.normalized_matrices(input_from_output, size, size)
    grid = warpkit.perspective_grid(homography.astype(images.dtype), (n, c) + tuple(size))
    return warpkit.grid_sample(images, grid, padding_mode="zeros")


def _is_convex(quads):
    """Whether each quadrilateral (N, 4, 2), corners in order, is convex with the frame's orientation."""
    edges = np.roll(quads, -1, axis=1) - quads
    turns = (
        edges[:, :, 0] * np.roll(edges, -1, axis=1)[:, :, 1]
        - edges[:, :, 1] * np.roll(edges, -1, axis=1)[:, :, 0]
    )
    return (turns > 0).all(axis=1)


def _convex_jitter(rng, sigma, quads, max_tries=100):
    """Normal corner jitter (N, 4, 2), redrawn where it would fold the quadrilateral."""
    jitter = rng.normal(0.0, sigma, size=quads.shape)
    for _ in range(max_tries):
        folded = ~_is_convex(quads + jitter)
        if not folded.any():
            break
        jitter[folded] = rng.normal(0.0, sigma, size=(int(folded.sum()),) + quads.shape[1:])
    else:
        jitter[~_is_convex(quads + jitter)] = 0.0
    return jitter


def distort_e(images, rng, scale=(0.75, 1.0), sigma=1.5, grid_size=4):
    """Scale every image, then bend it with a random thin-plate spline (the **E** set).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), float32 or float64
        The images.
    rng : numpy.random.Generator or int
        Source of randomness.
    scale : (float, float), optional
        Scale about the centre, drawn uniformly from this range.
    sigma : float, optional
        Standard deviation, in pixels, of the normal that moves each control
        point (each coordinate independently).
    grid_size : int, optional
        The spline has ``grid_size ** 2`` control points on a regular grid
        spanning the image (:func:`warpkit.control_point_grid`).

    Returns
    -------
    ndarray, shape (N, C, H, W)
        The distorted images, in the dtype of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import distort_e
    >>> images = np.zeros((5, 1, 28, 28), dtype=np.float32)
    >>> distort_e(images, np.random.default_rng(0)).shape
    (5, 1, 28, 28)
    """
    images = _check_images(images)
    rng = as_rng(rng)
    low, high = _check_range("scale", scale)
    n, c, height, width = images.shape
    scales = rng.uniform(low, high, size=n)
    control = np.asarray(
        warpkit.control_point_grid(int(grid_size) ** 2), dtype=np.float64
    )  # (K, 2)
    k = control.shape[0]
    # sigma pixels in normalized units (align_corners=False): 2 * sigma / size.
    jitter = rng.normal(0.0, sigma, size=(n, k, 2)) * np.array([2.0 / width, 2.0 / height])
    # Output control points read the input at the jittered points, shrunk by 1 / scale
    # about the centre (the normalized origin).
    targets = (control[None] + jitter) / scales[:, None, None]
    grid = warpkit.tps_grid(
        control.astype(images.dtype), targets.astype(images.dtype), (n, c, height, width)
    )
    return warpkit.grid_sample(images, grid, padding_mode="zeros")


def distort_cluttered(images, rng, canvas=60, fragments=6, fragment_size=6, sources=None):
    """Place every image at random in a large canvas cluttered with fragments of others.

    The **cluttered** set: each image is moved (with a sub-pixel translation)
    to a random place where it fits in the canvas, and ``fragments`` random
    ``fragment_size x fragment_size`` crops of other images are pasted at random
    places; overlaps keep the brighter value.  Each crop is the one holding
    the most ink among a few random candidates, so clutter is rarely empty.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), float32 or float64
        The images (dark background, values >= 0).
    rng : numpy.random.Generator or int
        Source of randomness.
    canvas : int or (int, int), optional
        Output size; at least the image size.
    fragments : int, optional
        Number of clutter fragments per image.
    fragment_size : int, optional
        Side of the square fragments, in pixels; at most the image size.
    sources : ndarray, shape (M, C, H, W), optional
        Images the fragments are cut from.  By default ``images`` themselves,
        never the image being cluttered (keep train and test sources apart).

    Returns
    -------
    ndarray, shape (N, C, canvas, canvas)
        The cluttered images, in the dtype of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import distort_cluttered
    >>> images = np.ones((5, 1, 28, 28), dtype=np.float32)
    >>> distort_cluttered(images, np.random.default_rng(0), canvas=60).shape
    (5, 1, 60, 60)
    """
    images = _check_images(images)
    rng = as_rng(rng)
    out_size = _geometry.as_size("canvas", canvas)
    n, c, height, width = images.shape
    if out_size[0] < height or out_size[1] < width:
        raise ValueError(
            f"canvas must be at least the image size {(height, width)}, got {canvas!r}"
        )
    fragments = int(fragments)
    fragment_size = int(fragment_size)
    if fragments < 0:
        raise ValueError(f"fragments must be >= 0, got {fragments}")
    if not 1 <= fragment_size <= min(height, width):
        raise ValueError(
            f"fragment_size must be between 1 and the image size {min(height, width)}, got {fragment_size}"
        )
    if sources is None:
        if n < 2 and fragments:
            raise ValueError("cluttering needs at least 2 images, or separate sources")
        sources = images
        own = True
    else:
        sources = _check_images(sources)
        if sources.shape[1:] != images.shape[1:] or len(sources) == 0:
            raise ValueError(
                f"sources must have shape (M, {c}, {height}, {width}) with M >= 1, got {sources.shape}"
            )
        own = False

    # The digit: a random translation that keeps the whole frame inside the canvas.
    offsets = np.stack(
        [
            rng.uniform(0.0, out_size[1] - width, size=n),
            rng.uniform(0.0, out_size[0] - height, size=n),
        ],
        axis=1,
    )
    corner_to_centre = offsets + _geometry.centre((height, width)) - _geometry.centre(out_size)
    eye = np.tile(np.eye(3), (n, 1, 1))
    result = _geometry.affine_warp(
        images, _centred(eye, (height, width), out_size, corner_to_centre), out_size
    )
    if fragments == 0 or n == 0:
        return result

    # Fragments: pick the source images (never the image itself) and, among a few
    # random candidate crops, the one with the most ink.
    f, candidates = fragment_size, 8
    m = len(sources)
    if own:
        picks = (np.arange(n)[:, None] + rng.integers(1, n, size=(n, fragments))) % n
    else:
        picks = rng.integers(0, m, size=(n, fragments))
    tops = rng.integers(0, height - f + 1, size=(n, fragments, candidates))
    lefts = rng.integers(0, width - f + 1, size=(n, fragments, candidates))
    ink = np.cumsum(np.cumsum(sources.sum(axis=1), axis=1), axis=2)  # (M, H, W) integral image
    ink = np.pad(ink, ((0, 0), (1, 0), (1, 0)))
    p = picks[..., None]
    mass = (
        ink[p, tops + f, lefts + f]
        - ink[p, tops, lefts + f]
        - ink[p, tops + f, lefts]
        + ink[p, tops, lefts]
    )
    best = np.argmax(mass, axis=2)[..., None]
    tops = np.take_along_axis(tops, best, axis=2)[..., 0]
    lefts = np.take_along_axis(lefts, best, axis=2)[..., 0]
    rows = tops[..., None, None] + np.arange(f)[:, None]  # (n, fragments, f, 1)
    cols = lefts[..., None, None] + np.arange(f)[None, :]  # (n, fragments, 1, f)
    pieces = sources[
        picks[..., None, None, None],
        np.arange(c)[:, None, None],
        rows[:, :, None],
        cols[:, :, None],
    ]
    # pieces: (n, fragments, C, f, f); paste at random places of the canvas.
    at_y = rng.integers(0, out_size[0] - f + 1, size=(n, fragments))
    at_x = rng.integers(0, out_size[1] - f + 1, size=(n, fragments))
    index = (
        np.arange(n)[:, None, None, None, None],
        np.arange(c)[None, None, :, None, None],
        (at_y[..., None, None] + np.arange(f)[:, None])[:, :, None],
        (at_x[..., None, None] + np.arange(f)[None, :])[:, :, None],
    )
    index = tuple(np.broadcast_to(i, pieces.shape) for i in index)
    np.maximum.at(result, index, pieces.astype(result.dtype, copy=False))
    return result
