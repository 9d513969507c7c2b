"""The identity grid's two channels: x varies along the width, y along the height."""
import numpy as np

import warpkit
from docfigures import finish, plt

grid = warpkit.affine_grid(np.eye(2, 3)[None], (1, 1, 5, 7))[0]
fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
for ax, channel, name in zip(axes, (0, 1), ("x", "y")):
    im = ax.imshow(grid[..., channel], cmap="coolwarm", vmin=-1, vmax=1)
    for (i, j), value in np.ndenumerate(grid[..., channel]):
        ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=7)
    ax.set_title(f"grid[0, :, :, {channel}]  ({name})", fontsize=10)
    ax.set_xlabel("output column j")
    ax.set_ylabel("output row i")
fig.colorbar(im, ax=axes, shrink=0.8, label="normalized coordinate")
