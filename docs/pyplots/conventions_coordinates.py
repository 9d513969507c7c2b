"""Pixel and normalized coordinates on a 4-pixel axis, for both align_corners."""
import numpy as np

from docfigures import finish, plt

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
n = 4
for ax, align_corners in zip(axes, (False, True)):
    image = np.add.outer(np.arange(n), np.arange(n)) % 2 * 0.25 + 0.6
    ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    centres = np.arange(n)
    ax.plot(*np.meshgrid(centres, centres), "k.", ms=5)
    for i in range(n):
        for j in range(n):
            ax.annotate(f"({j},{i})", (j, i), xytext=(0, -11), textcoords="offset points",
                        ha="center", fontsize=7, color="0.25")
    # where normalized -1 and +1 fall along x
    if align_corners:
        low, high = 0.0, n - 1.0
        label = "align_corners=True:\n-1 and +1 are the corner pixel centres"
    else:
        low, high = -0.5, n - 0.5
        label = "align_corners=False (default):\n-1 and +1 are the outer image edges"
    for value, x in ((-1, low), (1, high)):
        ax.axvline(x, color="tab:red", lw=1.6)
        ax.axhline(x, color="tab:red", lw=1.6, ls=":")
        ax.annotate(f"x = {value:+d}", (x, -0.5), xytext=(0, 6), textcoords="offset points",
                    ha="center", va="bottom", color="tab:red", fontsize=9, annotation_clip=False)
    ax.set_xlim(-1.0, n)
    ax.set_ylim(n, -1.0)
    ax.set_xticks(np.arange(n))
    ax.set_yticks(np.arange(n))
    ax.set_xlabel("x: column (width axis), grid[..., 0]")
    ax.set_ylabel("y: row (height axis), grid[..., 1]")
    ax.set_title(label, fontsize=9, pad=20)
finish(fig)
