"""
Perspective rectification of a tilted square
============================================

A square seen at an angle is a quadrilateral in the picture.  Four corner
correspondences define the homography that maps the straightened square to
the picture; :func:`warpkit.perspective_grid` turns it into a sampling grid
and :func:`warpkit.grid_sample` reads the square back, front-on.
"""

import matplotlib.pyplot as plt
import numpy as np

import warpkit


def homography_from_points(source, target):
    """The 3x3 H (H[2, 2] = 1) with H @ (x, y, 1) ~ (u, v, 1) for 4 point pairs."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(source, target):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.append(np.linalg.solve(np.array(rows), np.array(rhs)), 1.0).reshape(3, 3)


# %%
# A flat, textured square: a checkerboard with a letter on it.

n = 96
y, x = np.mgrid[0:n, 0:n] / n
square = 0.35 + 0.6 * ((np.floor(x * 6) + np.floor(y * 6)) % 2)
square[(x > 0.25) & (x < 0.38) & (y > 0.2) & (y < 0.8)] = 0.05            # an L
square[(x > 0.25) & (x < 0.72) & (y > 0.67) & (y < 0.8)] = 0.05
square = square[None, None]

# %%
# The picture: the square tilted away, as a camera would see it.  Its
# corners (top-left, top-right, bottom-right, bottom-left) in the picture's
# normalized coordinates:

corners_in_picture = np.array([[-0.45, -0.7], [0.5, -0.55], [0.8, 0.75], [-0.85, 0.6]])
edges = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])   # the square's edges

# rectified (square) -> picture; its inverse renders the picture from the square
picture_from_square = homography_from_points(edges, corners_in_picture)
square_from_picture = np.linalg.inv(picture_from_square)
picture = warpkit.grid_sample(
    square, warpkit.perspective_grid(square_from_picture[None], (1, 1, 120, 120)))
picture += 0.1 * np.random.default_rng(0).random(picture.shape)          # a little noise

# %%
# Rectify: every output pixel of the straightened square reads the picture
# where ``picture_from_square`` sends it.

rectified = warpkit.grid_sample(
    picture, warpkit.perspective_grid(picture_from_square[None], (1, 1, 96, 96)))

corner_pixels = warpkit.coords.pixel_from_normalized(corners_in_picture, (120, 120))
fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
axes[0].imshow(picture[0, 0], cmap="gray", vmin=0, vmax=1.1)
axes[0].plot(*np.vstack([corner_pixels, corner_pixels[:1]]).T, "-o", color="tab:orange")
axes[0].set_title("picture: a tilted square and its 4 corners", fontsize=10)
axes[1].imshow(rectified[0, 0], cmap="gray", vmin=0, vmax=1.1)
axes[1].set_title("perspective_grid + grid_sample: rectified", fontsize=10)
fig.tight_layout()
plt.show()

# %%
# With exact corners, the rectified square is the original up to the
# blur of two bilinear resamplings and the noise.  The grid of a homography
# whose last row is ``(0, 0, 1)`` is the affine grid of its first two rows.
