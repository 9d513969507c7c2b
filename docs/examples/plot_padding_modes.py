"""
Padding modes side by side
==========================

What a warp reads outside the image: ``"zeros"``, ``"border"`` (repeat the
edge pixels) or ``"reflection"`` (mirror the image about its edges).  The
same rotated, shrunken view of one image, for every padding mode and both
``align_corners``.
"""

import matplotlib.pyplot as plt
import numpy as np

import warpkit

size = 64
y, x = np.mgrid[0:size, 0:size] / size
image = np.stack([x, y, 0.5 + 0.5 * np.sin(12 * x) * np.cos(9 * y)])   # (3, 64, 64) RGB
image[:, 8:20, 8:40] = np.array([0.9, 0.1, 0.1])[:, None, None]          # a red bar

angle = np.deg2rad(25)
theta = 1.8 * np.array([[[np.cos(angle), -np.sin(angle), 0.0],
                         [np.sin(angle), np.cos(angle), 0.0]]])

modes = ["zeros", "border", "reflection"]
fig, axes = plt.subplots(2, 4, figsize=(9, 4.8))
for row, align_corners in enumerate([False, True]):
    axes[row, 0].imshow(image.transpose(1, 2, 0))
    axes[row, 0].set_title("input", fontsize=10)
    axes[row, 0].set_ylabel(f"align_corners={align_corners}", fontsize=9)
    grid = warpkit.affine_grid(theta, (1, 3, size, size), align_corners=align_corners)
    for ax, mode in zip(axes[row, 1:], modes):
        out = warpkit.grid_sample(image[None], grid, padding_mode=mode,
                                  align_corners=align_corners)
        ax.imshow(np.clip(out[0].transpose(1, 2, 0), 0, 1))
        ax.set_title(f'"{mode}"', fontsize=10)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %%
# ``reflection`` mirrors about the outer pixel edges with
# ``align_corners=False`` (each edge pixel appears twice in a row at a fold)
# and about the corner pixel centres with ``align_corners=True`` (no
# repetition); :doc:`/conventions` draws both.
