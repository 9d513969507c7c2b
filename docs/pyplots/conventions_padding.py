"""Each padding mode on the same image, read at twice its size (theta = 2 * identity)."""
import numpy as np

import warpkit
from warpkit import _validate
from docfigures import finish, plt, show, test_image

image = test_image(48)[None]
theta = np.array([[[2.2, 0.0, 0.0], [0.0, 2.2, 0.0]]])   # scale > 1: zoom OUT, reads outside
modes = list(_validate.PADDING_MODES)
fig, axes = plt.subplots(2, len(modes) + 1, figsize=(2.3 * (len(modes) + 1), 4.9))
for row, align_corners in enumerate((False, True)):
    grid = warpkit.affine_grid(theta, (1, 3, 96, 96), align_corners=align_corners)
    show(axes[row, 0], image[0], "input" if row == 0 else None)
    axes[row, 0].set_ylabel(f"align_corners={align_corners}", fontsize=9)
    for ax, mode in zip(axes[row, 1:], modes):
        out = warpkit.grid_sample(image, grid, padding_mode=mode, align_corners=align_corners)
        show(ax, out[0], f'padding_mode="{mode}"' if row == 0 else None)
        # the input's own extent inside the output
        corners = warpkit.coords.normalized_from_pixel(
            np.array([[-0.5, -0.5], [47.5, 47.5]]), (48, 48), align_corners)
        frame = warpkit.coords.pixel_from_normalized(corners / 2.2, (96, 96), align_corners)
        (x0, y0), (x1, y1) = frame
        ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], "--", color="k", lw=0.8)
finish(fig)
