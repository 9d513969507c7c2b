"""
Fitting theta by gradient descent
=================================

warpkit's sampler is differentiable with respect to the grid, so the
parameters of a warp can be *learned*: here we recover the affine map that
aligns a moving image with a fixed one by minimizing the squared difference
with autograd and gradient descent -- the mechanism a spatial
transformer network uses, without the network.
"""

import matplotlib.pyplot as plt
import numpy as np
from autograd import grad

import warpkit

n = 64
y, x = np.mgrid[0:n, 0:n] / n
# a smooth image: blobs give gradients that reach far
fixed = (np.exp(-((x - 0.35) ** 2 + (y - 0.4) ** 2) / 0.02)
         + 0.7 * np.exp(-((x - 0.65) ** 2 + (y - 0.65) ** 2) / 0.01)
         + 0.4 * np.exp(-((x - 0.7) ** 2 + (y - 0.25) ** 2) / 0.005))[None, None]

# the moving image: the fixed one rotated, scaled and shifted
angle = np.deg2rad(12)
true_theta = np.array([[[1.1 * np.cos(angle), -np.sin(angle), 0.08],
                        [np.sin(angle), 1.1 * np.cos(angle), -0.1]]])
moving = warpkit.grid_sample(fixed, warpkit.affine_grid(np.linalg.inv(
    np.vstack([true_theta[0], [0, 0, 1]]))[None, :2], fixed.shape), padding_mode="border")

# %%
# The loss: how far the warped moving image is from the fixed one.  Its
# gradient with respect to ``theta`` flows through ``grid_sample`` (to the
# grid) and ``affine_grid`` (to theta).


def loss(theta):
    warped = warpkit.grid_sample(moving, warpkit.affine_grid(theta, fixed.shape),
                                 padding_mode="border")
    return np.mean((warped - fixed) ** 2)


# %%
# Gradient descent with momentum, from the identity.

loss_grad = grad(loss)
theta = np.eye(2, 3)[None]
velocity = np.zeros_like(theta)
history = []
for step in range(150):
    history.append(loss(theta))
    velocity = 0.9 * velocity - 1.0 * loss_grad(theta)
    theta = theta + velocity

print("recovered theta:\n", theta[0].round(3))
print("true theta:\n", true_theta[0].round(3))

# %%
# Before and after, and the loss.

aligned = warpkit.grid_sample(moving, warpkit.affine_grid(theta, fixed.shape),
                              padding_mode="border")
fig, axes = plt.subplots(1, 4, figsize=(11, 2.9))
for ax, image, title in zip(axes, (fixed, moving, aligned),
                            ("fixed", "moving", "moving, warped by the fit")):
    ax.imshow(image[0, 0], cmap="magma")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
axes[3].semilogy(history)
axes[3].set_xlabel("gradient step")
axes[3].set_title("mean squared difference", fontsize=10)
fig.tight_layout()
plt.show()
