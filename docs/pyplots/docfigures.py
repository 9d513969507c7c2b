"""Shared drawing helpers for the figures that the docs render at build time.

Every ``.. plot::`` script in ``docs/pyplots`` imports this module (the plot
directive puts this folder on ``sys.path``).  Pixel coordinates follow
warpkit's convention, which is also matplotlib's ``imshow`` default: pixel
``(i, j)`` has its centre at ``(x, y) = (j, i)``, y grows downwards.
"""

import matplotlib.pyplot as plt
import numpy as np

import warpkit


def test_image(size=64):
    """An RGB test picture, (3, size, size) float64 in [0, 1], with no symmetry.

    A faint checkerboard, a red letter F (shows flips and rotations), a blue
    disk and a green triangle.
    """
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.empty((3, size, size))
    checker = ((np.floor(x * 8) + np.floor(y * 8)) % 2) * 0.12 + 0.82
    image[:] = checker
    # the letter F
    stem = (x > 0.18) & (x < 0.30) & (y > 0.15) & (y < 0.85)
    top = (x > 0.18) & (x < 0.62) & (y > 0.15) & (y < 0.27)
    middle = (x > 0.18) & (x < 0.50) & (y > 0.44) & (y < 0.55)
    letter = stem | top | middle
    image[:, letter] = np.array([0.85, 0.15, 0.15])[:, None]
    disk = (x - 0.72) ** 2 + (y - 0.70) ** 2 < 0.14 ** 2
    image[:, disk] = np.array([0.15, 0.35, 0.85])[:, None]
    triangle = (y > 0.12) & (y < 0.40) & (np.abs(x - 0.80) < (y - 0.12) * 0.45)
    image[:, triangle] = np.array([0.20, 0.65, 0.25])[:, None]
    return image


def show(ax, chw, title=None, **kwargs):
    """Draw a (C, H, W) or (H, W) image with pixel centres at integer coordinates."""
    chw = np.asarray(chw)
    if chw.ndim == 3:
        ax.imshow(np.clip(np.moveaxis(chw, 0, -1), 0, 1), interpolation="nearest", **kwargs)
    else:
        ax.imshow(chw, cmap="gray", interpolation="nearest", **kwargs)
    if title:
        ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def outline_in_input(grid, height, width, align_corners=False):
    """Pixel (x, y) coordinates of the output image's border, read through ``grid``.

    ``grid`` is (H_out, W_out, 2) normalized; the result is a closed polyline
    of the sampling positions of the outermost output pixels.
    """
    border = np.concatenate([
        grid[0, :], grid[:, -1], grid[-1, ::-1], grid[::-1, 0], grid[:1, 0],
    ])
    return warpkit.coords.pixel_from_normalized(border, (height, width), align_corners)


def draw_grid_lines(ax, grid, height, width, step=8, color="k", align_corners=False, **kwargs):
    """Draw every ``step``-th row and column of a sampling grid, in input pixels."""
    pixels = warpkit.coords.pixel_from_normalized(grid, (height, width), align_corners)
    kwargs.setdefault("lw", 0.6)
    for i in list(range(0, grid.shape[0], step)) + [grid.shape[0] - 1]:
        ax.plot(pixels[i, :, 0], pixels[i, :, 1], color=color, **kwargs)
    for j in list(range(0, grid.shape[1], step)) + [grid.shape[1] - 1]:
        ax.plot(pixels[:, j, 0], pixels[:, j, 1], color=color, **kwargs)


def tilt_homography(amount=0.35):
    """A homography that shows the image as a square tilted away from the viewer."""
    return np.array([[1.0, 0.0, 0.0],
                     [0.0, 1.0, 0.0],
                     [0.0, amount, 1.0]])


def finish(fig):
    """Tight layout without warnings, the same for every figure."""
    fig.tight_layout()
    return fig


__all__ = ["test_image", "show", "outline_in_input", "draw_grid_lines", "tilt_homography",
           "finish", "plt"]
