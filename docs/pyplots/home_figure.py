"""Home page: one image, three kinds of grids, three warped results."""
import numpy as np

import warpkit
from docfigures import draw_grid_lines, finish, plt, show, test_image, tilt_homography

image = test_image(96)[None]                       # (1, 3, 96, 96)
size = image.shape
angle = np.deg2rad(20)
theta = np.array([[[0.8 * np.cos(angle), -0.8 * np.sin(angle), 0.1],
                   [0.8 * np.sin(angle), 0.8 * np.cos(angle), 0.0]]])
controls = warpkit.control_point_grid(9)
rng = np.random.default_rng(3)
targets = (controls + rng.uniform(-0.12, 0.12, controls.shape))[None]

grids = {
    "affine": warpkit.affine_grid(theta, size),
    "perspective": warpkit.perspective_grid(tilt_homography(0.5)[None], size),
    "thin-plate spline": warpkit.tps_grid(controls, targets, size),
}
colors = {"affine": "tab:orange", "perspective": "tab:purple", "thin-plate spline": "tab:cyan"}

fig, axes = plt.subplots(1, 4, figsize=(10, 2.9))
show(axes[0], image[0], "input and three grids")
for name, grid in grids.items():
    draw_grid_lines(axes[0], grid[0], 96, 96, step=47, color=colors[name], lw=0.9)
for ax, (name, grid) in zip(axes[1:], grids.items()):
    show(ax, warpkit.grid_sample(image, grid, padding_mode="border")[0], name)
    for spine in ax.spines.values():
        spine.set_color(colors[name])
        spine.set_linewidth(2.5)
axes[0].set_xlim(-0.5, 95.5)
axes[0].set_ylim(95.5, -0.5)
finish(fig)
