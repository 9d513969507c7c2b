"""Slow, obvious reference samplers for the tests (plain NumPy, no Numba).

The sampler of the STN paper written literally: every output value is a sum
over *all* pixels of a padded copy of the image, weighted by a separable
kernel ``k(x - m) * k(y - n)`` (``docs/math/sampler.rst``).  It shares no
code with warpkit's kernels: coordinates, padding and kernels are written
again here, from the definitions in ``docs/conventions.rst``.
"""

import numpy as np

MARGIN = 4


def pixel_coordinate(coord, size, align_corners):
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def reflect_continuous(x, size, align_corners):
    """Mirror a continuous coordinate into the image, then clamp."""
    if align_corners:
        if size == 1:
            return np.zeros_like(x)
        period = 2 * (size - 1)
        y = np.mod(x, period)
        y = np.where(y > size - 1, period - y, y)
    else:
        period = 2 * size
        y = np.mod(x + 0.5, period)
        y = np.where(y > size, period - y, y) - 0.5
    return np.clip(y, 0, size - 1)


def pad_coordinate(x, size, padding_mode, align_corners):
    if padding_mode == "border":
        return np.clip(x, 0, size - 1)
    if padding_mode == "reflection":
        return reflect_continuous(x, size, align_corners)
    return x


def extended_image(image, padding_mode, align_corners, pad_taps):
    """The image on the integer lattice ``[-MARGIN, size + MARGIN)`` in both axes.

    With ``pad_taps`` every lattice point reads the pixel that padding sends it
    to (bicubic pads each tap); otherwise points outside the image are 0.
    """
    channels, height, width = image.shape

    def lattice_index(size):
        taps = np.arange(-MARGIN, size + MARGIN, dtype=np.float64)
        if pad_taps and padding_mode != "zeros":
            taps = pad_coordinate(taps, size, padding_mode, align_corners)
        idx = np.trunc(taps).astype(np.int64)
        valid = (taps >= 0) & (taps < size)
        return np.where(valid, idx, 0), valid

    iy, vy = lattice_index(height)
    ix, vx = lattice_index(width)
    out = image[:, iy[:, None], ix[None, :]]
    return out * (vy[:, None] & vx[None, :])


def keys_cubic(d, a=-0.75):
    d = np.abs(d)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def kernel_weights(x, size, mode):
    """Weights of every lattice point ``[-MARGIN, size + MARGIN)`` for coordinates ``x``."""
    lattice = np.arange(-MARGIN, size + MARGIN, dtype=np.float64)
    d = x[:, None] - lattice[None, :]
    if mode == "bilinear":
        return np.maximum(0.0, 1.0 - np.abs(d))
    if mode == "nearest":
        return (lattice[None, :] == np.rint(x)[:, None]).astype(np.float64)
    base = np.floor(x)[:, None]
    near = (lattice[None, :] >= base - 1) & (lattice[None, :] <= base + 2)
    return keys_cubic(d) * near


def reference_grid_sample(image, grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False):
    """``grid_sample`` as a sum over every pixel of the padded image (float64)."""
    image = np.asarray(image, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64)
    batch, channels, height, width = image.shape
    out = np.zeros((batch, channels) + grid.shape[1:3])
    for n in range(batch):
        gx = grid[n, ..., 0].ravel()
        gy = grid[n, ..., 1].ravel()
        x = pixel_coordinate(gx, width, align_corners)
        y = pixel_coordinate(gy, height, align_corners)
        if mode != "bicubic":
            x = pad_coordinate(x, width, padding_mode, align_corners)
            y = pad_coordinate(y, height, padding_mode, align_corners)
        extended = extended_image(image[n], padding_mode, align_corners,
                                  pad_taps=(mode == "bicubic"))
        wx = kernel_weights(x, width, mode)
        wy = kernel_weights(y, height, mode)
        values = np.einsum("pi,pj,cij->cp", wy, wx, extended)
        out[n] = values.reshape((channels,) + grid.shape[1:3])
    return out
