"""Output -> input: every output pixel reads the input where the grid points."""
import numpy as np
from matplotlib.patches import ConnectionPatch

import warpkit
from docfigures import finish, plt, show, test_image

image = test_image(48)[None]
theta = np.array([[[0.5, 0.0, -0.25], [0.0, 0.5, -0.25]]])   # scale 0.5: zoom IN
grid = warpkit.affine_grid(theta, image.shape)
out = warpkit.grid_sample(image, grid)
pixels = warpkit.coords.pixel_from_normalized(grid[0], (48, 48))

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
show(axes[0], image[0], "input: where the output pixels read")
show(axes[1], out[0], "output = grid_sample(input, grid)")
step = 6
axes[0].plot(pixels[::step, ::step, 0], pixels[::step, ::step, 1], ".", color="k", ms=3)
for (i, j), color in zip([(5, 5), (40, 12), (30, 42)], ["tab:orange", "tab:purple", "tab:cyan"]):
    axes[1].plot(j, i, "o", mfc="none", mec=color, ms=9, mew=2)
    axes[0].plot(*pixels[i, j], "o", mfc="none", mec=color, ms=9, mew=2)
    fig.add_artist(ConnectionPatch(xyA=(j, i), coordsA=axes[1].transData,
                                   xyB=tuple(pixels[i, j]), coordsB=axes[0].transData,
                                   arrowstyle="->", color=color, lw=1.4))
axes[0].set_xlabel("theta = 0.5 * identity, shifted: the output\nreads a quarter of the input, "
                   "so it looks magnified", fontsize=8)
axes[1].set_xlabel("output pixel (i, j) takes the value at grid[i, j]", fontsize=8)
finish(fig)
