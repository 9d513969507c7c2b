"""Pixel-space transforms for the data functions, warped by warpkit's fused warps.

The distortions are easiest to state in pixels ("turn about the image
centre", "move each corner by 5 px").  They are built as
:class:`~warpkit.AffineTransform` / :class:`~warpkit.PerspectiveTransform`
objects in pixel coordinates and handed to :func:`warpkit.warp_affine` /
:func:`warpkit.warp_perspective` through their ``to_normalized`` methods
(``align_corners=False``, see :mod:`warpkit.coords`).  Rotations follow
:class:`~warpkit.AffineTransform`: a positive angle turns the x axis
towards the y axis, clockwise on screen.
"""

import numpy as np

import warpkit

from .. import coords
from ..transforms import AffineTransform, PerspectiveTransform

#: The frame's outer corners in normalized coordinates, in turning order.
_CORNERS = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def centre(size):
    """Pixel ``(x, y)`` of the centre of an image of ``size`` = ``(height, width)``."""
    return coords.pixel_from_normalized(np.zeros(2), size)


def frame_corners(size):
    """Pixel ``(x, y)`` of the four outer corners of an image of ``size``, shape (4, 2)."""
    return coords.pixel_from_normalized(_CORNERS, size)


def about_centre(input_size, output_size, scale=1.0, rotation=0.0, offset=(0.0, 0.0)):
    """The ``output_from_input`` pixel map that scales and turns about the image centre.

    The input's centre goes to the output's centre plus ``offset`` (pixels);
    ``rotation`` is in radians, with the sign of :class:`~warpkit.AffineTransform`.
    """
    placed = AffineTransform(scale=scale, rotation=rotation,
                             translation=centre(output_size) + np.asarray(offset))
    return placed @ AffineTransform(translation=-centre(input_size))


def homography(src, dst):
    """The :class:`~warpkit.PerspectiveTransform` taking 4 pixel points ``src`` to ``dst``.

    Its overall sign (free in homogeneous coordinates) makes ``w > 0`` at the
    centroid of ``src``: the warps read nothing where ``w <= 0``.
    """
    found = PerspectiveTransform.estimate(src, dst)
    w = found.params[2] @ np.append(np.mean(src, axis=0), 1.0)
    return PerspectiveTransform(-found.params) if w < 0 else found


def warp_pixels(images, input_from_output, output_size, mode="bilinear", padding_mode="zeros"):
    """Warp ``images`` (N, C, H, W) by pixel-space maps, one per image, onto ``output_size``.

    ``input_from_output`` is a sequence of N transforms, all affine
    (one :func:`warpkit.warp_affine` call) or not (one
    :func:`warpkit.warp_perspective` call).
    """
    input_size = images.shape[2:]
    affine = all(isinstance(t, AffineTransform) for t in input_from_output)
    warp = warpkit.warp_affine if affine else warpkit.warp_perspective
    matrices = [t.to_normalized(input_size, output_size) for t in input_from_output]
    params = np.stack(matrices) if matrices else np.zeros((0, 2, 3))
    return warp(images, params, size=tuple(output_size), mode=mode, padding_mode=padding_mode)


def resize(images, size, mode="bilinear"):
    """Resample ``images`` (N, C, H, W) to ``size`` = ``(height, width)`` (same field of view)."""
    size = tuple(size)
    if images.shape[2:] == size:
        return images
    # The normalized identity: the frame's edges stay on the frame's edges.
    theta = np.tile(np.eye(2, 3), (images.shape[0], 1, 1))
    return warpkit.warp_affine(images, theta, size=size, mode=mode, padding_mode="border")
