"""Workloads and the data every benchmark reads: images, affine/perspective/tps parameters.

The four anchor workloads (``ANCHOR_WORKLOADS``: the sizes the sampler and the
fused warps are judged on in the report's targets), plus a single 4096x4096 RGB
image and a batch of 256 images of 32x32.  Each workload
warps an (N, C, H, W) float32 image into an output of the same size.  In quick
mode every workload keeps its name but shrinks to a few pixels.

The transforms are non-trivial on purpose (rotation + scale + shift, a small
perspective, a jittered spline), slightly different for every image of a
batch, so that no library can take a shortcut for the identity or a shift.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    key: str
    n: int
    c: int
    h: int
    w: int

    @property
    def label(self):
        side = f"{self.h}²" if self.h == self.w else f"{self.h}×{self.w}"
        return f"N={self.n} C={self.c} {side}"

    @property
    def shape(self):
        return (self.n, self.c, self.h, self.w)

    @property
    def pixels(self):
        """Output pixels (N * Ho * Wo), the unit of the Mpix/s column."""
        return self.n * self.h * self.w

    @property
    def elements(self):
        return self.n * self.c * self.h * self.w


#: The four anchor workloads: a batch of digits (N=64 C=1 28x28), a batch of
#: photos (N=32 C=3 224x224), one large image (N=1 C=3 2048x2048) and a deep
#: feature map (N=8 C=32 64x64); the sampler table and the targets use these.
ANCHOR_WORKLOADS = ("n64c1-28", "n32c3-224", "n1c3-2048", "n8c32-64")
#: The anchors plus a very large image and a batch of many small ones.
ALL_WORKLOADS = ANCHOR_WORKLOADS + ("n1c3-4096", "n256c3-32")
#: Every workload but the 4096x4096 image: only the bilinear sampler's forward
#: and backward and the affine warp's forward run on that one (everything at 7
#: runs on it alone would take minutes).
WITHOUT_HUGE = ANCHOR_WORKLOADS + ("n256c3-32",)
#: The workloads of at most a few million pixels: the bicubic affine warp and
#: the perspective warp run on these only.
MODERATE = ("n64c1-28", "n32c3-224", "n8c32-64", "n256c3-32")

_FULL = {
    "n64c1-28": Workload("n64c1-28", 64, 1, 28, 28),
    "n32c3-224": Workload("n32c3-224", 32, 3, 224, 224),
    "n1c3-2048": Workload("n1c3-2048", 1, 3, 2048, 2048),
    "n8c32-64": Workload("n8c32-64", 8, 32, 64, 64),
    "n1c3-4096": Workload("n1c3-4096", 1, 3, 4096, 4096),
    "n256c3-32": Workload("n256c3-32", 256, 3, 32, 32),
}

_QUICK = {
    "n64c1-28": Workload("n64c1-28", 3, 1, 9, 9),
    "n32c3-224": Workload("n32c3-224", 2, 3, 12, 11),
    "n1c3-2048": Workload("n1c3-2048", 1, 3, 16, 16),
    "n8c32-64": Workload("n8c32-64", 2, 5, 8, 8),
    "n1c3-4096": Workload("n1c3-4096", 1, 3, 20, 20),
    "n256c3-32": Workload("n256c3-32", 4, 3, 6, 6),
}


@dataclass(frozen=True)
class VolumeWorkload:
    """A batch of volumes (N, C, D, H, W), warped into an output of the same size."""

    key: str
    n: int
    c: int
    d: int
    h: int
    w: int

    @property
    def label(self):
        side = f"{self.d}³" if self.d == self.h == self.w else f"{self.d}×{self.h}×{self.w}"
        return f"N={self.n} C={self.c} {side}"

    @property
    def shape(self):
        return (self.n, self.c, self.d, self.h, self.w)

    @property
    def pixels(self):
        """Output voxels (N * Do * Ho * Wo), the unit of the Mpix/s column."""
        return self.n * self.d * self.h * self.w

    @property
    def elements(self):
        return self.n * self.c * self.d * self.h * self.w


#: The volume workloads of the 3-D targets: one 128³ volume and a batch of
#: four two-channel 64³ volumes (only the volume benchmarks run on these).
VOLUME_WORKLOADS = ("v1c1-128", "v4c2-64")

_FULL.update({
    "v1c1-128": VolumeWorkload("v1c1-128", 1, 1, 128, 128, 128),
    "v4c2-64": VolumeWorkload("v4c2-64", 4, 2, 64, 64, 64),
})
_QUICK.update({
    "v1c1-128": VolumeWorkload("v1c1-128", 1, 1, 6, 7, 8),
    "v4c2-64": VolumeWorkload("v4c2-64", 2, 2, 5, 5, 5),
})


def workload(key, quick=False):
    """The workload called ``key`` (its tiny version in quick mode)."""
    return (_QUICK if quick else _FULL)[key]


def full_label(key):
    return _FULL[key].label


# ----------------------------------------------------------------------------- data


def rng(seed=0):
    return np.random.default_rng(seed)


def image(shape, dtype=np.float32, seed=0):
    return rng(seed).random(shape, dtype=np.float64).astype(dtype)


def affine_thetas(n, dtype=np.float32):
    """(N, 2, 3) normalized affine maps: rotation ~15 deg, scale 0.9, a small shift.

    Each image of the batch gets a slightly different angle.
    """
    angles = np.deg2rad(15.0 + 2.0 * np.arange(n) / max(n, 1))
    scale = 0.9
    theta = np.zeros((n, 2, 3))
    theta[:, 0, 0] = scale * np.cos(angles)
    theta[:, 0, 1] = -scale * np.sin(angles)
    theta[:, 1, 0] = scale * np.sin(angles)
    theta[:, 1, 1] = scale * np.cos(angles)
    theta[:, 0, 2] = 0.05
    theta[:, 1, 2] = -0.03
    return theta.astype(dtype)


def homographies(n, dtype=np.float32):
    """(N, 3, 3) normalized homographies: the affine maps plus a small perspective."""
    h = np.zeros((n, 3, 3))
    h[:, :2, :] = affine_thetas(n, np.float64)
    h[:, 2, 0] = 0.08
    h[:, 2, 1] = -0.05
    h[:, 2, 2] = 1.0
    return h.astype(dtype)


def tps_points(n, k, dtype=np.float32, seed=1):
    """Control points (K, 2) on a sqrt(K) x sqrt(K) grid and per-image targets (N, K, 2).

    Targets are the affine image of the controls plus a jitter of sigma 0.03.
    """
    side = int(round(np.sqrt(k)))
    if side * side != k:
        raise ValueError(f"k must be a square number, got {k}")
    axis = np.linspace(-0.9, 0.9, side)
    xs, ys = np.meshgrid(axis, axis)
    controls = np.stack([xs.ravel(), ys.ravel()], axis=1)
    theta = affine_thetas(n, np.float64)
    homogeneous = np.concatenate([controls, np.ones((k, 1))], axis=1)
    targets = np.einsum("nij,kj->nki", theta, homogeneous)
    targets = targets + 0.03 * rng(seed).standard_normal(targets.shape)
    return controls.astype(dtype), targets.astype(dtype)


def base_grid(height, width):
    """Normalized (x, y, 1) of every output pixel (align_corners=False), shape (H*W, 3)."""
    xs = (2.0 * np.arange(width) + 1.0) / width - 1.0
    ys = (2.0 * np.arange(height) + 1.0) / height - 1.0
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel(), np.ones(height * width)], axis=1)


def affine_grid(thetas, height, width, dtype=np.float32):
    """(N, H, W, 2) grid of ``thetas`` (align_corners=False), built with NumPy (untimed setup)."""
    base = base_grid(height, width)
    grid = np.einsum("pj,nij->npi", base, thetas.astype(np.float64))
    return grid.reshape(len(thetas), height, width, 2).astype(dtype)


def affine_thetas_3d(n, dtype=np.float32):
    """(N, 3, 4) normalized 3-D affine maps: rotation ~15 deg about a tilted axis,
    scale 0.9, a small shift; each volume of the batch a slightly different angle."""
    axis = np.array([1.0, 2.0, 3.0]) / np.sqrt(14.0)
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]],
                      [-axis[1], axis[0], 0.0]])
    theta = np.zeros((n, 3, 4))
    for k, angle in enumerate(np.deg2rad(15.0 + 2.0 * np.arange(n) / max(n, 1))):
        rotation = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
        theta[k, :, :3] = 0.9 * rotation
    theta[:, :, 3] = (0.05, -0.03, 0.02)
    return theta.astype(dtype)


def affine_grid_3d(thetas, depth, height, width, dtype=np.float32):
    """(N, D, H, W, 3) grid of ``thetas`` (N, 3, 4) (align_corners=False), untimed setup."""
    def axis(size):
        return (2.0 * np.arange(size) + 1.0) / size - 1.0

    gz, gy, gx = np.meshgrid(axis(depth), axis(height), axis(width), indexing="ij")
    base = np.stack([gx.ravel(), gy.ravel(), gz.ravel(), np.ones(gx.size)], axis=1)
    grid = np.einsum("pj,nij->npi", base, thetas.astype(np.float64))
    return grid.reshape(len(thetas), depth, height, width, 3).astype(dtype)


def perspective_grid(hs, height, width, dtype=np.float32):
    base = base_grid(height, width)
    mapped = np.einsum("pj,nij->npi", base, hs.astype(np.float64))
    grid = mapped[..., :2] / mapped[..., 2:3]
    return grid.reshape(len(hs), height, width, 2).astype(dtype)


# ------------------------------------------------------------- pixel-coordinate conversions


def _pixel_from_normalized_matrix(size):
    """3x3 map from normalized (x, y, 1) to pixel (x, y, 1) for an image (H, W)."""
    height, width = size
    return np.array([
        [width / 2.0, 0.0, (width - 1) / 2.0],
        [0.0, height / 2.0, (height - 1) / 2.0],
        [0.0, 0.0, 1.0],
    ])


def pixel_matrices(matrices, in_size, out_size):
    """Normalized input_from_output maps (N, 2, 3) or (N, 3, 3) -> pixel ones (N, 3, 3).

    Pixel centres at integers, (0, 0) the top-left centre (OpenCV's and
    SciPy's convention, align_corners=False in warpkit's).
    """
    matrices = np.asarray(matrices, dtype=np.float64)
    full = np.zeros((len(matrices), 3, 3))
    full[:, : matrices.shape[1], :] = matrices
    if matrices.shape[1] == 2:
        full[:, 2, 2] = 1.0
    to_pixel = _pixel_from_normalized_matrix(in_size)
    from_pixel = np.linalg.inv(_pixel_from_normalized_matrix(out_size))
    return to_pixel @ full @ from_pixel


def pixel_grid(grid, in_size):
    """Normalized grid (N, Ho, Wo, 2) -> pixel (x, y) coordinates, float32 (cv2.remap's map)."""
    height, width = in_size
    pixel = np.empty(grid.shape, dtype=np.float32)
    pixel[..., 0] = ((grid[..., 0].astype(np.float64) + 1.0) * width - 1.0) / 2.0
    pixel[..., 1] = ((grid[..., 1].astype(np.float64) + 1.0) * height - 1.0) / 2.0
    return pixel


def nhwc(array):
    """NCHW -> NHWC, contiguous (OpenCV's layout)."""
    return np.ascontiguousarray(np.transpose(array, (0, 2, 3, 1)))


def nchw(array):
    return np.transpose(np.asarray(array), (0, 3, 1, 2))
