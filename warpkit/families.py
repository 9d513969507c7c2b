"""Transform families: everything a fused warp needs to know, declared once.

A :class:`Family` names its parameter arrays, checks their shapes, and names
its kernels for each backend.  :mod:`warpkit._fused` builds the autograd
primitives of every family from its spec (the forward warp, its
vector-Jacobian product and their registration), and the backends
(``warpkit.backends.cpu``, ``warpkit.backends.cuda``) run the kernels
it names.  Adding a family means its maths (kernels), its spec here and its
tests; see the "How to extend warpkit" page of the documentation.

Images (N, C, H, W) and volumes (N, C, D, H, W) have families of their own:
:data:`AFFINE_3D` and :data:`PERSPECTIVE_3D` (``dims`` 3) run the volume
kernels (:mod:`warpkit.kernels.cpu_volume`), and the public warps pick them
for a 5-D input.
"""

import collections
import dataclasses

from .kernels import cpu_fused, cpu_volume

__all__ = ["Family", "AFFINE", "PERSPECTIVE", "TPS", "AFFINE_3D", "PERSPECTIVE_3D",
           "FAMILIES", "VOLUME_FAMILIES"]


@dataclasses.dataclass(frozen=True)
class Family:
    """The spec of one transform family.

    Attributes
    ----------
    name : str
        The family's name in the public vocabulary ("affine", ...).
    parameters : tuple of str
        Names of the parameter arrays that follow ``input``.
    kernel_shapes : callable
        ``kernel_shapes(batch, shapes)`` with the parameters' shapes (a dict
        by name) returns the shape each parameter takes in the kernels, or
        raises a ``ValueError`` naming the parameter.
    cpu : namedtuple
        The CPU kernels (``warpkit.kernels.cpu_fused``; for volumes a
        ``VolumeKernels`` naming the point source of
        ``warpkit.kernels.cpu_volume``).
    cuda : str
        The name of the CUDA kernel set in ``warpkit.kernels.cuda_fused``
        (volumes: ``warpkit.kernels.cuda_volume``), looked up on first GPU
        use (numba-cuda is an optional dependency).
    dims : int
        Spatial axes of the input: 2 for images, 3 for volumes.
    """

    name: str
    parameters: tuple
    kernel_shapes: object
    cpu: object
    cuda: str
    dims: int = 2


#: The CPU kernels of a volume family: the volume kernels of
#: ``warpkit.kernels.cpu_volume`` for one point source
#: (``cpu_volume.SOURCE_AFFINE``, ``SOURCE_PERSPECTIVE``), a compile-time
#: constant of the kernels.
VolumeKernels = collections.namedtuple("VolumeKernels", "source")


def _matrix_shapes(name, rows, cols, note=""):
    """``kernel_shapes`` of a family with one (N, rows, cols) matrix per sample;
    ``note`` follows the expected shape in the error message."""

    def kernel_shapes(batch, shapes):
        shape = shapes[name]
        expected = f"(N, {rows}, {cols}){note}"
        if len(shape) != 3 or shape[1:] != (rows, cols):
            raise ValueError(f"{name} must have shape {expected}, got {shape}")
        if shape[0] != batch:
            raise ValueError(f"{name} must have the input's batch size {batch}, got {shape[0]}")
        return (shape,)

    return kernel_shapes


def _tps_shapes(batch, shapes):
    """Coefficients (N, K + 3, 2); centres (K, 2) or (N, K, 2), as (1 or N, K, 2)."""
    centres = shapes["control_points"]
    if len(centres) == 2:
        centres = (1,) + centres
    if len(centres) != 3 or centres[2] != 2 or centres[0] not in (1, batch):
        raise ValueError(f"control_points must have shape (K, 2) or (N, K, 2) with N = "
                         f"{batch}, got {shapes['control_points']}")
    layout = (centres[1] + 3, 2)
    coefficients = shapes["coefficients"]
    if len(coefficients) != 3 or coefficients[1:] != layout:
        raise ValueError(f"coefficients must have shape (N, {layout[0]}, 2) for "
                         f"{centres[1]} control points, got {coefficients}")
    if coefficients[0] != batch:
        raise ValueError(f"coefficients must have the input's batch size {batch}, "
                         f"got {coefficients[0]}")
    return coefficients, centres


AFFINE = Family("affine", ("theta",), _matrix_shapes("theta", 2, 3),
                cpu_fused.AFFINE_KERNELS, "AFFINE_KERNELS")

PERSPECTIVE = Family("perspective", ("homography",), _matrix_shapes("homography", 3, 3),
                     cpu_fused.PERSPECTIVE_KERNELS, "PERSPECTIVE_KERNELS")

#: The thin-plate spline's fused primitive samples with solved coefficients;
#: :func:`warpkit.warp_tps` solves them from point pairs first.
TPS = Family("tps", ("coefficients", "control_points"), _tps_shapes,
             cpu_fused.TPS_KERNELS, "TPS_KERNELS")

#: Every family of images, by name.
FAMILIES = {family.name: family for family in (AFFINE, PERSPECTIVE, TPS)}

_VOLUME = " for a volume input (N, C, D, H, W)"

#: Volumes: theta (N, 3, 4) maps ``(x, y, z, 1)``; H (N, 4, 4) maps it to ``(u, v, s, w)``.
AFFINE_3D = Family("affine", ("theta",), _matrix_shapes("theta", 3, 4, _VOLUME),
                   VolumeKernels(cpu_volume.SOURCE_AFFINE), "AFFINE_3D_KERNELS", dims=3)

PERSPECTIVE_3D = Family("perspective", ("homography",),
                        _matrix_shapes("homography", 4, 4, _VOLUME),
                        VolumeKernels(cpu_volume.SOURCE_PERSPECTIVE), "PERSPECTIVE_3D_KERNELS",
                        dims=3)

#: Every family of volumes, by name.
VOLUME_FAMILIES = {family.name: family for family in (AFFINE_3D, PERSPECTIVE_3D)}
