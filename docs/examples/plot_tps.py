"""
A thin-plate-spline deformation
===============================

A thin-plate spline moves a few control points to chosen targets and bends
the rest of the image as little as possible.  The control points live in
the *output* (where the sampler writes) and the targets in the *input*
(where it reads), so the picture moves from the targets to the control
points.
"""

import matplotlib.pyplot as plt
import numpy as np

import warpkit

size = 80
y, x = np.mgrid[0:size, 0:size] / size
image = 0.75 + 0.2 * (((np.floor(x * 10) + np.floor(y * 10)) % 2) > 0)   # a checkerboard
image[(x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.05] = 0.2                       # a dark disk
image = image[None, None]                                                 # (1, 1, 80, 80)

controls = warpkit.control_point_grid(16)             # (16, 2): a 4x4 grid over [-1, 1]
rng = np.random.default_rng(7)
targets = controls + rng.normal(0.0, 0.12, controls.shape)
targets[[0, 3, 12, 15]] = controls[[0, 3, 12, 15]]   # pin the corners

grid = warpkit.tps_grid(controls, targets[None], image.shape)   # (1, 80, 80, 2)
warped = warpkit.grid_sample(image, grid, padding_mode="border")

# %%
# Draw both point sets in pixel coordinates: the targets on the input, the
# control points on the output.  The spline passes exactly through them
# (``regularization=0``): the input pixel under each target lands on its
# control point.

to_pixels = lambda points: warpkit.coords.pixel_from_normalized(points, (size, size))
c, t = to_pixels(controls), to_pixels(targets)

fig, axes = plt.subplots(1, 2, figsize=(8.5, 4.4))
axes[0].imshow(image[0, 0], cmap="gray", vmin=0, vmax=1)
axes[0].plot(t[:, 0], t[:, 1], "o", color="tab:orange", mec="k", label="targets (input)")
axes[0].plot(c[:, 0], c[:, 1], "+", color="tab:cyan", ms=9, mew=2, label="control points")
for (x0, y0), (x1, y1) in zip(c, t):
    axes[0].annotate("", (x1, y1), (x0, y0),
                     arrowprops=dict(arrowstyle="->", color="tab:orange", lw=1.2))
axes[0].set_title("input: each control point reads at its target", fontsize=10)
axes[0].legend(loc="lower left", fontsize=8)
axes[1].imshow(warped[0, 0], cmap="gray", vmin=0, vmax=1)
axes[1].plot(c[:, 0], c[:, 1], "+", color="tab:cyan", ms=9, mew=2)
axes[1].set_title("output of tps_grid + grid_sample", fontsize=10)
for ax in axes:
    ax.set_xlim(-0.5, size - 0.5)
    ax.set_ylim(size - 0.5, -0.5)
fig.tight_layout()
plt.show()
