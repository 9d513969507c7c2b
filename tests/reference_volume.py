"""Slow, obvious reference sampler of volumes for the tests (plain NumPy, float64).

The 3-D sampler written literally, like :mod:`reference` in 2-D: every
output value is a sum over *all* voxels of a padded copy of the volume,
weighted by a separable kernel ``k(x - m) * k(y - n) * k(z - l)``.  It shares
no code with warpkit's kernels; the per-axis definitions (pixel coordinates,
padding, kernel weights) are those of :mod:`reference`.
"""

import numpy as np

from reference import MARGIN, kernel_weights, pad_coordinate, pixel_coordinate


def _lattice_index(size, padding_mode, align_corners, pad_taps):
    """Voxel index read by every lattice point of ``[-MARGIN, size + MARGIN)``, and
    whether it reads anything."""
    taps = np.arange(-MARGIN, size + MARGIN, dtype=np.float64)
    if pad_taps and padding_mode != "zeros":
        taps = pad_coordinate(taps, size, padding_mode, align_corners)
    valid = (taps >= 0) & (taps < size)
    return np.where(valid, np.trunc(taps).astype(np.int64), 0), valid


def extended_volume(volume, padding_mode, align_corners, pad_taps):
    """The volume (C, D, H, W) on the integer lattice ``[-MARGIN, size + MARGIN)`` of every
    axis; with ``pad_taps`` each lattice point reads the voxel padding sends it to
    (tricubic pads each tap), otherwise points outside the volume are 0."""
    _, depth, height, width = volume.shape
    iz, vz = _lattice_index(depth, padding_mode, align_corners, pad_taps)
    iy, vy = _lattice_index(height, padding_mode, align_corners, pad_taps)
    ix, vx = _lattice_index(width, padding_mode, align_corners, pad_taps)
    out = volume[:, iz[:, None, None], iy[None, :, None], ix[None, None, :]]
    return out * (vz[:, None, None] & vy[None, :, None] & vx[None, None, :])


def reference_grid_sample_3d(volume, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False):
    """5-D ``grid_sample`` as a sum over every voxel of the padded volume (float64).

    ``volume`` (N, C, D, H, W), ``grid`` (N, Do, Ho, Wo, 3) holding finite
    ``(x, y, z)``; ``mode`` "bilinear" (trilinear), "nearest" or "bicubic"
    (tricubic).
    """
    volume = np.asarray(volume, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64)
    batch, channels, depth, height, width = volume.shape
    out = np.zeros((batch, channels) + grid.shape[1:4])
    for n in range(batch):
        coords = []
        for axis, size in enumerate((width, height, depth)):
            c = pixel_coordinate(grid[n, ..., axis].ravel(), size, align_corners)
            if mode != "bicubic":
                c = pad_coordinate(c, size, padding_mode, align_corners)
            coords.append(kernel_weights(c, size, mode))
        wx, wy, wz = coords
        extended = extended_volume(volume[n], padding_mode, align_corners,
                                   pad_taps=(mode == "bicubic"))
        values = np.einsum("pk,pi,pj,ckij->cp", wz, wy, wx, extended, optimize=True)
        out[n] = values.reshape((channels,) + grid.shape[1:4])
    return out
