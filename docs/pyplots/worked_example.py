"""The 4x4 worked example: output pixel (1, 1) reads input (2.5, 2.5)."""
import numpy as np
from matplotlib.patches import ConnectionPatch, Rectangle

import warpkit
from docfigures import finish, plt

image = np.array([[1.0, 2, 6, 3], [4, 8, 5, 7], [9, 3, 7, 4], [2, 6, 8, 1]])[None, None]
theta = np.array([[[1.0, 0.0, 0.75], [0.0, 1.0, 0.75]]])
grid = warpkit.affine_grid(theta, image.shape)
out = warpkit.grid_sample(image, grid)

fig, axes = plt.subplots(1, 2, figsize=(9, 4.3))
for ax, data, title in ((axes[0], image[0, 0], "input U (pixel centres at integers)"),
                        (axes[1], out[0, 0], "output V = grid_sample(U, grid)")):
    ax.imshow(data, cmap="Greys", vmin=0, vmax=14, interpolation="nearest")
    for (i, j), value in np.ndenumerate(data):
        ax.text(j, i - 0.22, f"{value:g}", ha="center", va="center", fontsize=12)
        ax.text(j, i + 0.3, f"({j},{i})", ha="center", va="center", fontsize=7, color="0.35")
    ax.set_xticks(range(4))
    ax.set_yticks(range(4))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title, fontsize=10)

# the four taps around (2.5, 2.5) and their weights
for i, j in ((2, 2), (2, 3), (3, 2), (3, 3)):
    axes[0].add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="tab:orange", lw=2.5))
    axes[0].text(j, i + 0.06, "w = 0.25", color="tab:orange", fontsize=8, ha="center",
                 va="center", fontweight="bold")
axes[0].plot(2.5, 2.5, "o", color="tab:red", ms=8)
axes[0].annotate("(2.5, 2.5)", (2.5, 2.5), xytext=(-30, -14), textcoords="offset points",
                 color="tab:red", fontsize=9)
axes[1].add_patch(Rectangle((0.5, 0.5), 1, 1, fill=False, ec="tab:red", lw=2.5))
fig.add_artist(ConnectionPatch(xyA=(1, 1), coordsA=axes[1].transData, xyB=(2.5, 2.5),
                               coordsB=axes[0].transData, arrowstyle="->", color="tab:red",
                               lw=1.5, connectionstyle="arc3,rad=0.25"))
finish(fig)
