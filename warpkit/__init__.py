"""warpkit: differentiable image warping and Spatial Transformer Networks.

The public API:

* :func:`grid_sample`, :func:`grid_sample_vjp` -- the sampler (PyTorch semantics);
* :func:`affine_grid` -- grid generators;
* :mod:`warpkit.coords` -- the coordinate convention.
"""

from .grids import affine_grid, control_point_grid, perspective_grid, tps_grid
from .sampling import grid_sample, grid_sample_vjp
from .transforms import AffineTransform, ProjectiveTransform, ThinPlateSpline
from .warp import warp_affine, warp_perspective, warp_tps

__version__ = "0.1.0"

__all__ = [
    "AffineTransform",
    "ProjectiveTransform",
    "ThinPlateSpline",
    "affine_grid",
    "control_point_grid",
    "perspective_grid",
    "tps_grid",
    "grid_sample",
    "grid_sample_vjp",
    "warp_affine",
    "warp_perspective",
    "warp_tps",
    "__version__",
]
