"""The distortions of the Spatial Transformer Networks paper, built on warpkit's warps.

Each function takes a batch of images ``(N, C, H, W)`` (float32 or float64,
values usually in ``[0, 1]``) and a random generator, draws one random
transformation per image, and warps the whole batch with one fused warp
(:func:`warpkit.warp_affine`, :func:`warpkit.warp_perspective` or
:func:`warpkit.warp_tps`).  Distances are in pixels of the input images; the
defaults are the paper's values for 28x28 MNIST digits (Jaderberg et al.,
2015, section 4.1):

* **R** -- rotation by an angle drawn from ``[-90, 90]`` degrees;
* **RTS** -- rotation in ``[-45, 45]`` degrees, scale in ``[0.7, 1.2]``,
  placed at a random position of a 42x42 canvas;
* **P** -- scale in ``[0.75, 1]``, then each corner moved by a normal of
  sigma 5 px: a perspective warp;
* **E** -- scale in ``[0.75, 1]``, then a thin-plate spline whose 16 control
  points (a 4x4 grid) are moved by a normal of sigma 1.5 px;
* **cluttered** -- the digit at a random place of a 60x60 canvas, with six
  random 6x6 crops of other digits as clutter (DeepMind's ``mnist-cluttered``
  generator, see :func:`distort_cluttered`).

Rotations follow :class:`warpkit.AffineTransform`: a positive angle turns the
content from the x axis towards the y axis, which is *clockwise* on screen
(y points down).  Warps read outside the input as 0
(``padding_mode="zeros"``) and are bilinear; the cluttered set moves whole
pixels and needs no warp.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import warpkit

from .. import coords
from .._validate import check_nonnegative_number
from . import _checks, _geometry
from ._checks import as_rng

__all__ = ["distort_r", "distort_rts", "distort_p", "distort_e", "distort_cluttered"]


def distort_r(images, rng, max_angle=90.0):
    """Rotate every image about its centre by a random angle (the paper's **R** set).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), float32 or float64
        The images.
    rng : numpy.random.Generator or int
        Source of randomness (an int seeds a new generator).
    max_angle : float, optional
        Angles are drawn uniformly from ``[-max_angle, max_angle]`` degrees
        (finite, ``>= 0``).  An angle ``a`` turns the content about the
        centre as ``AffineTransform(rotation=np.deg2rad(a))`` turns points:
        positive from the x axis towards the y axis, clockwise on screen.

    Returns
    -------
    ndarray, shape (N, C, H, W)
        The rotated images, in the dtype of ``images``.

    Raises
    ------
    ValueError
        If ``max_angle`` is negative, infinite or NaN, or ``images`` is not
        (N, C, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.data import distort_r
    >>> images = np.zeros((5, 1, 28, 28), dtype=np.float32)
    >>> distort_r(images, np.random.default_rng(0)).shape
    (5, 1, 28, 28)
    """
    images = _checks.images("images", images)
    rng = as_rng(rng)
    max_angle = check_nonnegative_number("max_angle", max_angle)
    size = images.shape[2:]
    angles = np.deg2rad(rng.uniform(-max_angle, max_angle, size=images.shape[0]))
    n = images.shape[0]
    moves = _geometry.about_centre_maps(size, size, np.ones(n), angles, np.zeros((n, 2)))
    return _geometry.warp_pixel_maps(images, np.linalg.inv(moves), size, affine=True)


def distort_rts(images, rng, max_angle=45.0, scale=(0.7, 1.2), canvas=42):
    """Rotate, scale and place every image at random in a larger canvas (the **RTS** set).

    Parameters
    ----------
    images, rng, max_angle
        As for :func:`distort_r` (here ``max_angle`` defaults to 45).
    scale : (float, float), optional
        Scale factor drawn uniformly from this range (``0 < low <= high``).
    canvas : int or (int, int), optional
        Output size.  The scaled ``H x W`` frame is placed uniformly at random
        so that it stays inside the canvas (centred when it does not fit).

    Returns
    -------
    ndarray, shape (N, C, canvas_height, canvas_width)
        The images on the canvas, in the dtype of ``images``.

    Raises
    ------
    ValueError
        For a ``max_angle`` as in :func:`distort_r`, a ``scale`` that is not a
        finite ``(low, high)`` pair with ``0 < low <= high``, or a ``canvas``
        that is not positive.

    Examples
    --------
    An int seeds a new generator; float64 images stay float64:

    >>> import numpy as np
    >>> from warpkit.data import distort_rts
    >>> out = distort_rts(np.zeros((5, 1, 28, 28)), 0, canvas=(42, 50))
    >>> out.shape, out.dtype
    ((5, 1, 42, 50), dtype('float64'))
    """
    images = _checks.images("images", images)
    rng = as_rng(rng)
    max_angle = check_nonnegative_number("max_angle", max_angle)
    low, high = _checks.scale_range("scale", scale)
    out_size = _checks.as_size("canvas", canvas)
    n = images.shape[0]
    height, width = images.shape[2:]
    angles = np.deg2rad(rng.uniform(-max_angle, max_angle, size=n))
    scales = rng.uniform(low, high, size=n)
    room_x = np.maximum(out_size[1] - scales * width, 0.0) / 2.0
    room_y = np.maximum(out_size[0] - scales * height, 0.0) / 2.0
    offsets = np.stack([room_x, room_y], axis=1) * rng.uniform(-1.0, 1.0, size=(n, 2))
    moves = _geometry.about_centre_maps((height, width), out_size, scales, angles, offsets)
    return _geometry.warp_pixel_maps(images, np.linalg.inv(moves), out_size, affine=True)


def distort_p(images, rng, scale=(0.75, 1.0), sigma=5.0):
    """Scale every image, then move its four corners at random: a perspective warp (**P**).

    Parameters
    ----------
    images, rng
        As for :func:`distort_r`.
    scale : (float, float), optional
        Scale about the centre, drawn uniformly from this range (``0 < low <= high``).
    sigma : float, optional
        Standard deviation, in pixels (finite, ``>= 0``), of the normal that
        moves each corner of the scaled frame (each coordinate
        independently).  Draws that would fold the frame (a non-convex
        quadrilateral, which no perspective map reaches) are redrawn.

    Returns
    -------
    ndarray, shape (N, C, H, W)
        In the dtype of ``images``.

    Raises
    ------
    ValueError
        For a ``scale`` as in :func:`distort_rts`, or a ``sigma`` that is
        negative, infinite or NaN.

    Examples
    --------
    With ``sigma=0`` only the scale acts: a white frame shrinks to a centred
    square with a black border.

    >>> import numpy as np
    >>> from warpkit.data import distort_p
    >>> out = distort_p(np.ones((1, 1, 8, 8)), 0, scale=(0.5, 0.5), sigma=0.0)
    >>> out[0, 0].round(1)
    array([[0., 0., 0., 0., 0., 0., 0., 0.],
           [0., 0., 0., 0., 0., 0., 0., 0.],
           [0., 0., 1., 1., 1., 1., 0., 0.],
           [0., 0., 1., 1., 1., 1., 0., 0.],
           [0., 0., 1., 1., 1., 1., 0., 0.],
           [0., 0., 1., 1., 1., 1., 0., 0.],
           [0., 0., 0., 0., 0., 0., 0., 0.],
           [0., 0., 0., 0., 0., 0., 0., 0.]])
    """
    images = _checks.images("images", images)
    rng = as_rng(rng)
    low, high = _checks.scale_range("scale", scale)
    sigma = check_nonnegative_number("sigma", sigma)
    size = images.shape[2:]
    scales = rng.uniform(low, high, size=images.shape[0])
    corners = _geometry.frame_corners(size)
    centre = _geometry.centre(size)
    moved = centre + scales[:, None, None] * (corners - centre)
    moved = moved + _convex_jitter(rng, sigma, moved)
    # Output pixels at the moved corners read the input at its corners.
    maps = _geometry.quad_homographies(moved, np.broadcast_to(corners, moved.shape))
    return _geometry.warp_pixel_maps(images, maps, size, affine=False)


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
    images, rng, scale
        As for :func:`distort_p`.
    sigma : float, optional
        Standard deviation, in pixels (finite, ``>= 0``), of the normal that
        moves each control point (each coordinate independently).
    grid_size : int, optional
        The spline has ``grid_size ** 2`` control points (``grid_size >= 2``)
        on a regular grid spanning the image (:func:`warpkit.control_point_grid`).

    Returns
    -------
    ndarray
        As for :func:`distort_p`.

    Raises
    ------
    ValueError
        As for :func:`distort_p`, or if ``grid_size < 2``.

    Examples
    --------
    The same generator state gives the same bend:

    >>> import numpy as np
    >>> from warpkit.data import distort_e
    >>> digits = np.random.default_rng(1).random((3, 1, 28, 28), dtype=np.float32)
    >>> first, again = (distort_e(digits, np.random.default_rng(7)) for _ in range(2))
    >>> first.dtype, bool(np.array_equal(first, again))
    (dtype('float32'), True)
    """
    images = _checks.images("images", images)
    rng = as_rng(rng)
    low, high = _checks.scale_range("scale", scale)
    sigma = check_nonnegative_number("sigma", sigma)
    grid_size = _checks.count("grid_size", grid_size, 2)
    n = images.shape[0]
    size = images.shape[2:]
    scales = rng.uniform(low, high, size=n)
    controls = warpkit.control_point_grid(grid_size ** 2)  # normalized output points (K, 2)
    pixels = coords.pixel_from_normalized(controls, size)
    jitter = rng.normal(0.0, sigma, size=(n,) + controls.shape)
    # Output control points read the input at the jittered points, shrunk by
    # 1 / scale about the centre.
    centre = _geometry.centre(size)
    targets = centre + (pixels + jitter - centre) / scales[:, None, None]
    targets = coords.normalized_from_pixel(targets, size)
    return warpkit.warp_tps(images, controls, targets, size=size)


def distort_cluttered(images, rng, canvas=60, distractors=6, distractor_size=6, sources=None,
                      strength=1.0):
    """Place every image at random on a large canvas cluttered with crops of other images.

    The **cluttered** set, made the way DeepMind's generator makes it
    (``mnist_cluttered.lua`` in the repository ``google-deepmind/mnist-cluttered``,
    function ``createData``; its parameters are ``megapatch_w``, the side of the
    canvas, here ``canvas``; ``num_dist``, the number of distractors, here
    ``distractors``; ``dist_w``, the side of a distractor, 8 there by default,
    here ``distractor_size``; and ``border``, 0 there and here):

    1. the canvas starts black;
    2. each distractor is a ``distractor_size x distractor_size`` crop, at a
       uniformly random whole-pixel place, of a random *other* image (the
       generator may pick the image itself), added at a uniformly random
       whole-pixel place of the canvas; the sum is clipped at 1;
    3. the image is added at a uniformly random whole-pixel place where it
       lies wholly inside the canvas, and the sum clipped to ``[0, 1]``.

    The defaults are the cluttered MNIST of the Spatial Transformer Networks
    paper (Jaderberg et al., 2015): a 60x60 canvas with 6x6 crops of other
    digits as clutter; six of them, the count of
    ``mnist_cluttered_60x60_6distortions.npz``, the cluttered MNIST of the
    STN recipe of Lasagne (``Lasagne/Recipes``,
    ``examples/spatial_transformer_network.ipynb``).

    ``strength`` makes an easier version for a curriculum: the image's
    offset from the centred place is scaled by ``strength`` (0 centres it)
    and the number of distractors is ``strength * distractors`` rounded
    (halves up).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), float32 or float64
        The images (dark background, values in ``[0, 1]``).
    rng
        As for :func:`distort_r`.
    canvas : int or (int, int), optional
        Output size; at least the image size.
    distractors : int, optional
        Number of distractors per image at full strength (``>= 0``).
    distractor_size : int, optional
        Side of the square distractors, in pixels; between 1 and the image size.
    sources : ndarray, shape (M, C, H, W), optional
        Images the distractors are cut from (``M >= 1``).  By default
        ``images`` themselves, never the image being cluttered (needs
        ``N >= 2`` when there are distractors).  Keep training and test
        digits apart: clutter a split with digits of that split only.
    strength : float, optional
        In ``[0, 1]``; 1 is the full distortion.

    Returns
    -------
    ndarray, shape (N, C, canvas_height, canvas_width)
        The cluttered canvases, in the dtype of ``images``, values in ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``canvas`` is smaller than the images, ``distractors`` is negative,
        ``distractor_size`` is out of range, ``sources`` does not match the
        images, or ``strength`` is not a number in ``[0, 1]``.

    Examples
    --------
    Every canvas holds the whole digit plus clutter; at strength 0 the digit
    is centred and alone:

    >>> import numpy as np
    >>> from warpkit.data import distort_cluttered
    >>> digits = np.ones((5, 1, 28, 28), dtype=np.float32)
    >>> out = distort_cluttered(digits, np.random.default_rng(0))
    >>> out.shape, bool((out.sum(axis=(1, 2, 3)) >= 28 * 28).all()), float(out.max())
    ((5, 1, 60, 60), True, 1.0)
    >>> easy = distort_cluttered(digits, 0, strength=0.0)
    >>> bool((easy[:, :, 16:44, 16:44] == 1).all()), float(easy.sum()) == 5 * 28 * 28
    (True, True)
    """
    images = _checks.images("images", images)
    rng = as_rng(rng)
    out_size = _checks.as_size("canvas", canvas)
    n, c, height, width = images.shape
    if out_size[0] < height or out_size[1] < width:
        raise ValueError(
            f"canvas must be at least the image size {(height, width)}, got {canvas!r}"
        )
    distractors = _checks.count("distractors", distractors, 0)
    size = _checks.count("distractor_size", distractor_size, 1)
    if size > min(height, width):
        raise ValueError(
            f"distractor_size must be between 1 and the image size {min(height, width)}, "
            f"got {size}"
        )
    strength = _checks.unit_number("strength", strength)
    count = int(np.floor(strength * distractors + 0.5))
    if sources is None:
        if n == 1 and count:
            raise ValueError("cluttering needs at least 2 images, or separate sources")
    else:
        sources = _checks.images("sources", sources)
        if sources.shape[1:] != images.shape[1:] or len(sources) == 0:
            raise ValueError(
                f"sources must have shape (M, {c}, {height}, {width}) with M >= 1, "
                f"got {sources.shape}"
            )

    # The image's top-left corner: uniform over the places where it fits, its
    # offset from the centred place scaled by ``strength``.
    room = np.array([out_size[0] - height, out_size[1] - width])
    drawn = rng.integers(0, room + 1, size=(n, 2))
    corners = np.rint(room / 2 + strength * (drawn - room / 2)).astype(np.int64)

    result = np.zeros((n, c) + out_size, dtype=images.dtype)
    if count and n:
        if sources is None:
            picks = (np.arange(n)[:, None] + rng.integers(1, n, size=(n, count))) % n
            sources = images
        else:
            picks = rng.integers(0, len(sources), size=(n, count))
        crops = rng.integers(0, [height - size + 1, width - size + 1], size=(n, count, 2))
        places = rng.integers(0, [out_size[0] - size + 1, out_size[1] - size + 1],
                              size=(n, count, 2))
        for k in range(count):
            patches = _blocks(sources, picks[:, k], crops[:, k], (size, size))
            _add_blocks(result, places[:, k], patches)
    _add_blocks(result, corners, images)
    # The generator clips the clutter at 1, then clutter plus digit to [0, 1]:
    # for images >= 0 that is one clip of the whole sum.
    return np.clip(result, 0.0, 1.0, out=result)


def _windows(images, size, writeable=False):
    """Every ``size`` = (h, w) block of ``images`` (N, C, H, W).

    A view, shape (N, C, H - h + 1, W - w + 1, h, w): block ``[..., row, col, :, :]``
    has its top-left pixel at ``(row, col)``.
    """
    return sliding_window_view(images, size, axis=(2, 3), writeable=writeable)


def _add_blocks(canvases, corners, blocks):
    """Add ``blocks[i]`` (n, C, h, w) to ``canvases[i]`` (n, C, H, W), in place.

    Block ``i`` goes at ``corners[i]`` = (row, column) of its top-left pixel.
    """
    windows = _windows(canvases, blocks.shape[2:], writeable=True)
    # One block per canvas: no element is written twice.
    windows[np.arange(len(canvases)), :, corners[:, 0], corners[:, 1]] += blocks


def _blocks(images, picks, corners, size):
    """The ``size`` block at ``corners[i]`` of ``images[picks[i]]`` for every i: (n, C, h, w)."""
    return _windows(images, size)[picks, :, corners[:, 0], corners[:, 1]]
