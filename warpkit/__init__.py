"""warpkit: differentiable image warping and Spatial Transformer Networks.

The public API (everything importable as ``warpkit.<name>``):

* sampling -- :func:`grid_sample`, :func:`grid_sample_vjp` (PyTorch's
  ``grid_sample`` semantics and signature);
* grid generators -- :func:`affine_grid` (PyTorch's signature),
  :func:`perspective_grid`, :func:`tps_grid`, :func:`control_point_grid`;
* fused warps, one per transform family ("affine", "perspective", "tps"),
  each with its explicit backward -- :func:`warp_affine`,
  :func:`warp_affine_vjp`, :func:`warp_perspective`,
  :func:`warp_perspective_vjp`, :func:`warp_tps`, :func:`warp_tps_vjp` --
  and :func:`warp`, which warps by any transform object; all of them take
  volumes ``(N, C, D, H, W)`` too;
* dense displacement fields -- :func:`warp_displacement`,
  :func:`warp_displacement_vjp`, :func:`compose_displacements`,
  :func:`integrate_velocity` -- and the regularizers of a registration loss,
  :func:`smoothness_penalty`, :func:`jacobian_determinant`,
  :func:`count_folds`;
* transform objects (pixel coordinates, ``input_from_output``) --
  :class:`AffineTransform`, :class:`PerspectiveTransform`,
  :class:`TpsTransform`;
* ``__version__``.

Namespaces of their own: :mod:`warpkit.coords` (the coordinate
convention), :mod:`warpkit.transforms` (pixel-frame matrices,
:class:`~warpkit.transforms.CompositeTransform`), :mod:`warpkit.tps` (the
spline solve), :mod:`warpkit.fused` (also the coefficient-level
:func:`~warpkit.fused.warp_tps_coefficients`), :mod:`warpkit.nn` (layers,
localization nets, ``SpatialTransformer``, optimizers, training),
:mod:`warpkit.data` (distorted-digit datasets) and the ``warpkit`` command
(:mod:`warpkit.cli`).
"""

from .grids import affine_grid, control_point_grid, perspective_grid, tps_grid
from .sampling import grid_sample, grid_sample_vjp
from .transforms import AffineTransform, PerspectiveTransform, TpsTransform
from .fused import (warp_affine, warp_affine_vjp, warp_perspective, warp_perspective_vjp,
                    warp_tps, warp_tps_vjp)
from .dispatch import warp
from .displacement import (compose_displacements, integrate_velocity, warp_displacement,
                           warp_displacement_vjp)
from .regularizers import count_folds, jacobian_determinant, smoothness_penalty

__version__ = "0.2.0"

__all__ = [
    "AffineTransform", "PerspectiveTransform", "TpsTransform",
    "affine_grid", "control_point_grid", "perspective_grid", "tps_grid",
    "grid_sample", "grid_sample_vjp",
    "warp", "warp_affine", "warp_affine_vjp", "warp_perspective", "warp_perspective_vjp",
    "warp_tps", "warp_tps_vjp",
    "warp_displacement", "warp_displacement_vjp", "compose_displacements", "integrate_velocity",
    "smoothness_penalty", "jacobian_determinant", "count_folds",
    "__version__",
]
