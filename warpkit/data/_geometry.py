"""Pixel-space maps for the data functions, warped by warpkit's fused warps.

The distortions are easiest to state in pixels ("turn about the image
centre", "move each corner by 5 px").  They are built as ``(N, 3, 3)`` stacks
of pixel-coordinate matrices, one per image, converted to the samplers'
normalized coordinates with
:func:`~warpkit.transforms.normalized_from_pixel_matrix` and
:func:`~warpkit.transforms.pixel_from_normalized_matrix`
(``align_corners=False``, see :mod:`warpkit.coords`), and handed to
:func:`warpkit.warp_affine` / :func:`warpkit.warp_perspective` in one call.
Rotations follow :class:`~warpkit.AffineTransform`: a positive angle turns
the x axis towards the y axis, clockwise on screen.  The single-map helpers
(:func:`about_centre`, :func:`homography`, :func:`warp_pixels`) return or
take :class:`~warpkit.AffineTransform` / :class:`~warpkit.PerspectiveTransform`
objects.
"""

import numpy as np

import warpkit

from .. import coords
from ..transforms import (
    AffineTransform,
    PerspectiveTransform,
    normalized_from_pixel_matrix,
    pixel_from_normalized_matrix,
)

#: The frame's outer corners in normalized coordinates, in turning order.
_CORNERS = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def centre(size):
    """Pixel ``(x, y)`` of the centre of an image of ``size`` = ``(height, width)``."""
    return coords.pixel_from_normalized(np.zeros(2), size)


def frame_corners(size):
    """Pixel ``(x, y)`` of the four outer corners of an image of ``size``, shape (4, 2)."""
    return coords.pixel_from_normalized(_CORNERS, size)


def about_centre_maps(input_size, output_size, scales, rotations, offsets):
    """The ``output_from_input`` pixel maps, (N, 3, 3), that scale and turn about the centre.

    Map ``i`` scales by ``scales[i]`` and turns by ``rotations[i]``
    (radians, the sign of :class:`~warpkit.AffineTransform`) about the
    input's centre, which it takes to the output's centre plus
    ``offsets[i]`` (pixels).  ``scales`` and ``rotations`` have shape (N,),
    ``offsets`` (N, 2).
    """
    scales = np.asarray(scales, dtype=np.float64)
    rotations = np.asarray(rotations, dtype=np.float64)
    cos, sin = scales * np.cos(rotations), scales * np.sin(rotations)
    maps = np.zeros((len(scales), 3, 3))
    maps[:, 0, 0], maps[:, 0, 1] = cos, -sin
    maps[:, 1, 0], maps[:, 1, 1] = sin, cos
    maps[:, 2, 2] = 1.0
    moved_centres = centre(output_size) + np.asarray(offsets, dtype=np.float64)
    maps[:, :2, 2] = moved_centres - maps[:, :2, :2] @ centre(input_size)
    return maps


def about_centre(input_size, output_size, scale=1.0, rotation=0.0, offset=(0.0, 0.0)):
    """The :class:`~warpkit.AffineTransform` of :func:`about_centre_maps`, for one image."""
    maps = about_centre_maps(input_size, output_size, [scale], [rotation], [offset])
    return AffineTransform(maps[0])


def translations(shifts):
    """The pixel maps (N, 3, 3) adding ``shifts`` (N, 2) to points."""
    maps = np.tile(np.eye(3), (len(shifts), 1, 1))
    maps[:, :2, 2] = shifts
    return maps


def quad_homographies(src, dst):
    """The homographies (N, 3, 3) taking the 4 pixel points ``src[i]`` to ``dst[i]``.

    ``src`` and ``dst`` have shape (N, 4, 2); each quadrilateral must be
    convex (no three points on a line).  The 8 linear equations of the 4
    pairs are solved about the centroids of ``src[i]`` and ``dst[i]`` (for
    conditioning), with ``w = 1`` at the centroid of ``src[i]``: the warps,
    which read nothing where ``w <= 0``, read the whole quadrilateral.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_centres, dst_centres = src.mean(axis=1), dst.mean(axis=1)
    x, y = np.moveaxis(src - src_centres[:, None], -1, 0)  # each (N, 4)
    targets = dst - dst_centres[:, None]  # (N, 4, 2)
    # Coordinate j of target k: t_j = h_j . (x, y, 1) / (h_20 x + h_21 y + 1), that is
    # h_j . (x, y, 1) - t_j (h_20 x + h_21 y) = t_j, where h_j is row j of the matrix;
    # unknowns (h_00, h_01, h_02, h_10, h_11, h_12, h_20, h_21), and h_22 = 1.
    system = np.zeros(src.shape[:2] + (2, 8))
    for j in range(2):
        system[:, :, j, 3 * j] = x
        system[:, :, j, 3 * j + 1] = y
        system[:, :, j, 3 * j + 2] = 1.0
        system[:, :, j, 6] = -x * targets[:, :, j]
        system[:, :, j, 7] = -y * targets[:, :, j]
    count = len(src)
    solution = np.linalg.solve(system.reshape(count, 8, 8), targets.reshape(count, 8, 1))
    centred = np.concatenate([solution[:, :, 0], np.ones((count, 1))], axis=1)
    return translations(dst_centres) @ centred.reshape(count, 3, 3) @ translations(-src_centres)


def homography(src, dst):
    """The :class:`~warpkit.PerspectiveTransform` taking 4 pixel points ``src`` to ``dst``.

    Its overall sign (free in homogeneous coordinates) makes ``w > 0`` at the
    centroid of ``src``: the warps read nothing where ``w <= 0``.
    """
    found = PerspectiveTransform.estimate(src, dst)
    w = found.params[2] @ np.append(np.mean(src, axis=0), 1.0)
    return PerspectiveTransform(-found.params) if w < 0 else found


def warp_pixel_maps(images, input_from_output, output_size, affine, mode="bilinear",
                    padding_mode="zeros"):
    """Warp ``images`` (N, C, H, W) by pixel-space maps (N, 3, 3) onto ``output_size``.

    One :func:`warpkit.warp_affine` call when ``affine`` (the maps' last rows
    are then ``(0, 0, 1)``), else one :func:`warpkit.warp_perspective` call.
    """
    normalized = (normalized_from_pixel_matrix(images.shape[2:])
                  @ np.asarray(input_from_output, dtype=np.float64)
                  @ pixel_from_normalized_matrix(output_size))
    if affine:
        return warpkit.warp_affine(images, normalized[:, :2], size=tuple(output_size),
                                   mode=mode, padding_mode=padding_mode)
    return warpkit.warp_perspective(images, normalized, size=tuple(output_size), mode=mode,
                                    padding_mode=padding_mode)


def warp_pixels(images, input_from_output, output_size, mode="bilinear", padding_mode="zeros"):
    """Warp ``images`` (N, C, H, W) by N transform objects, as :func:`warp_pixel_maps` does.

    ``input_from_output`` is a sequence of N transforms, all affine
    (one :func:`warpkit.warp_affine` call) or not (one
    :func:`warpkit.warp_perspective` call).
    """
    matrices = np.zeros((0, 3, 3))
    if len(input_from_output):
        matrices = np.stack([t.params for t in input_from_output])
    affine = all(isinstance(t, AffineTransform) for t in input_from_output)
    return warp_pixel_maps(images, matrices, output_size, affine, mode, padding_mode)


def resize(images, size, mode="bilinear"):
    """Resample ``images`` (N, C, H, W) to ``size`` = ``(height, width)`` (same field of view)."""
    size = tuple(size)
    if images.shape[2:] == size:
        return images
    # The normalized identity: the frame's edges stay on the frame's edges.
    theta = np.tile(np.eye(2, 3), (images.shape[0], 1, 1))
    return warpkit.warp_affine(images, theta, size=size, mode=mode, padding_mode="border")
