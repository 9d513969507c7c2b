"""
An affine warp
==============

Rotate, scale, shear and shift an image with one 2x3 matrix per image.

``theta`` maps normalized *output* coordinates to normalized *input*
coordinates, so each panel shows the picture moved by the *inverse* of its
matrix: a rotation by +30 degrees in ``theta`` turns the picture by -30
degrees, and a scale of 0.6 magnifies it.
"""

import matplotlib.pyplot as plt
import numpy as np

import warpkit


def test_image(size=96):
    """An RGB picture without symmetry: a red F, a blue disk, a checkerboard."""
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.empty((3, size, size))
    image[:] = ((np.floor(x * 8) + np.floor(y * 8)) % 2) * 0.12 + 0.82
    letter = ((x > 0.18) & (x < 0.30) & (y > 0.15) & (y < 0.85)) | \
        ((x > 0.18) & (x < 0.62) & (y > 0.15) & (y < 0.27)) | \
        ((x > 0.18) & (x < 0.50) & (y > 0.44) & (y < 0.55))
    image[:, letter] = np.array([0.85, 0.15, 0.15])[:, None]
    image[:, (x - 0.72) ** 2 + (y - 0.70) ** 2 < 0.14 ** 2] = np.array([0.15, 0.35, 0.85])[:, None]
    return image


def rotation(degrees, scale=1.0):
    angle = np.deg2rad(degrees)
    return scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


# %%
# One matrix per image of the batch: ``theta`` has shape (N, 2, 3).

maps = {
    "identity": np.eye(2, 3),
    "rotate 30°": np.hstack([rotation(30), [[0.0], [0.0]]]),
    "scale 0.6 (zoom in)": np.hstack([rotation(0, 0.6), [[0.0], [0.0]]]),
    "shear": np.array([[1.0, 0.4, 0.0], [0.0, 1.0, 0.0]]),
    "shift right by 1/4": np.array([[1.0, 0.0, -0.5], [0.0, 1.0, 0.0]]),
    "rotate 45° and shrink": np.hstack([rotation(45, 1.5), [[0.0], [0.0]]]),
}
theta = np.stack(list(maps.values()))                 # (6, 2, 3)
images = np.repeat(test_image()[None], len(maps), 0)  # (6, 3, 96, 96)

grid = warpkit.affine_grid(theta, images.shape)       # (6, 96, 96, 2)
warped = warpkit.grid_sample(images, grid)            # (6, 3, 96, 96)

fig, axes = plt.subplots(2, 3, figsize=(8, 5.6))
for ax, name, image in zip(axes.flat, maps, warped):
    ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1))
    ax.set_title(name, fontsize=10)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# A shift of the picture to the right by a quarter of its width is a
# *negative* x translation in ``theta`` (every output pixel reads further
# left), and a quarter of the width is ``0.5`` in normalized units (the
# width spans 2).
