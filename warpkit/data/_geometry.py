"""Pixel-space transforms turned into warpkit's normalized ``input_from_output`` maps.

The distortions are easiest to state in pixels ("rotate about the image
centre", "move each corner by 5 px"); warpkit's grid generators take
normalized coordinates (see :mod:`warpkit.coords`).  These helpers convert
between the two with 3x3 homogeneous matrices, always with
``align_corners=False``: ``x_normalized = (2 x + 1) / W - 1``.
"""

import numpy as np

import warpkit


def normalized_from_pixel_matrix(size):
    """3x3 matrix taking pixel ``(x, y, 1)`` to normalized ``(x, y, 1)`` on an image of ``size``.

    ``size`` is ``(height, width)``.
    """
    height, width = size
    return np.array(
        [
            [2.0 / width, 0.0, 1.0 / width - 1.0],
            [0.0, 2.0 / height, 1.0 / height - 1.0],
            [0.0, 0.0, 1.0],
        ]
    )


def pixel_from_normalized_matrix(size):
    """Inverse of :func:`normalized_from_pixel_matrix`."""
    height, width = size
    return np.array(
        [
            [width / 2.0, 0.0, (width - 1.0) / 2.0],
            [0.0, height / 2.0, (height - 1.0) / 2.0],
            [0.0, 0.0, 1.0],
        ]
    )


def normalized_matrices(input_from_output_pixels, input_size, output_size):
    """Express pixel ``input_from_output`` matrices (N, 3, 3) in normalized coordinates."""
    return (
        normalized_from_pixel_matrix(input_size)
        @ input_from_output_pixels
        @ pixel_from_normalized_matrix(output_size)
    )


def centre(size):
    """Pixel ``(x, y)`` of the centre of an image of ``size`` = ``(height, width)``."""
    height, width = size
    return np.array([(width - 1) / 2.0, (height - 1) / 2.0])


def translation(offsets):
    """Batch of 3x3 translations by ``offsets`` (N, 2) = ``(dx, dy)``."""
    offsets = np.asarray(offsets, dtype=np.float64)
    out = np.tile(np.eye(3), (len(offsets), 1, 1))
    out[:, :2, 2] = offsets
    return out


def rotation_scale(angles_deg, scales):
    """Batch of 3x3 maps rotating by ``angles_deg`` and scaling by ``scales`` about the origin."""
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    scales = np.asarray(scales, dtype=np.float64)
    out = np.tile(np.eye(3), (len(angles), 1, 1))
    cos = np.cos(angles) * scales
    sin = np.sin(angles) * scales
    out[:, 0, 0] = cos
    out[:, 0, 1] = -sin
    out[:, 1, 0] = sin
    out[:, 1, 1] = cos
    return out


def homographies_from_points(src, dst):
    """Batch of 3x3 homographies taking 4 points ``src`` (N, 4, 2) to ``dst`` (N, 4, 2).

    Solved as the usual 8x8 linear system (``h33 = 1``) for every item at once,
    then the overall sign (free in homogeneous coordinates) is chosen so that
    the third coordinate ``w`` is positive at the centroid of ``src``:
    :func:`warpkit.perspective_grid` reads nothing where ``w <= 0``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n = src.shape[0]
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    zeros, ones = np.zeros_like(x), np.ones_like(x)
    rows_u = np.stack([x, y, ones, zeros, zeros, zeros, -u * x, -u * y], axis=-1)
    rows_v = np.stack([zeros, zeros, zeros, x, y, ones, -v * x, -v * y], axis=-1)
    system = np.concatenate([rows_u, rows_v], axis=1)
    rhs = np.concatenate([u, v], axis=1)
    h = np.linalg.solve(system, rhs[..., None])[..., 0]
    h = np.concatenate([h, np.ones((n, 1))], axis=1).reshape(n, 3, 3)
    centroid = src.mean(axis=1)
    w = h[:, 2, 0] * centroid[:, 0] + h[:, 2, 1] * centroid[:, 1] + h[:, 2, 2]
    return h * np.where(w < 0, -1.0, 1.0)[:, None, None]


def frame_corners(size):
    """Pixel ``(x, y)`` of the four outer corners of an image of ``size`` (4, 2)."""
    height, width = size
    return np.array(
        [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]]
    )


def affine_warp(images, input_from_output_pixels, output_size, mode="bilinear"):
    """Warp ``images`` (N, C, H, W) with pixel affine maps (N, 3, 3) onto ``output_size``.

    One batched :func:`warpkit.affine_grid` + :func:`warpkit.grid_sample` call.
    """
    images = np.asarray(images)
    theta = normalized_matrices(input_from_output_pixels, images.shape[2:], output_size)
    theta = theta[:, :2, :].astype(images.dtype)
    n, c = images.shape[:2]
    grid = warpkit.affine_grid(theta, (n, c) + tuple(output_size))
    return warpkit.grid_sample(images, grid, mode=mode, padding_mode="zeros")


def resize(images, size, mode="bilinear"):
    """Resample ``images`` (N, C, H, W) to ``size`` = ``(height, width)`` (same field of view)."""
    images = np.asarray(images)
    size = tuple(size)
    if images.shape[2:] == size:
        return images
    n, c = images.shape[:2]
    theta = np.tile(np.eye(2, 3, dtype=images.dtype), (n, 1, 1))
    grid = warpkit.affine_grid(theta, (n, c) + size)
    return warpkit.grid_sample(images, grid, mode=mode, padding_mode="border")


def as_rng(rng):
    """``rng`` as a :class:`numpy.random.Generator` (an int or None seeds a new one)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")


def as_size(name, value):
    """``value`` (an int or a pair) as a ``(height, width)`` tuple of positive ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        height, width = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a (height, width) pair, got {value!r}") from None
    if height < 1 or width < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return height, width
