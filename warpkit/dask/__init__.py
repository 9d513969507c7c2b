"""Differentiable warps of images larger than memory, on Dask.

``warpkit.dask`` runs warpkit's fused warps and grid sampling over chunked
:mod:`dask.array` arrays (from Zarr stores, TIFF pyramids, or anything Dask
reads).  Every output chunk reads only the input chunks its source box
touches and is computed by the same CPU kernel as the in-memory warp, on a
crop of the input with the crop's origin passed to the kernel, so the result
is bit-identical to :func:`warpkit.warp_affine` and friends.  The gradients
come over chunks too (``*_vjp``), reduced in a fixed order so they are
identical from run to run, and :func:`fit_transform` uses them to register
two images larger than memory.

Needs the ``dask`` extra: ``pip install 'warpkit[dask]'``.  Works with any
Dask scheduler: the threaded one (the kernels release the GIL), processes,
or a ``dask.distributed`` cluster; see the "Out-of-core and clusters" page
of the documentation.
"""

try:
    import dask.array as _dask_array
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("warpkit.dask needs Dask: pip install 'warpkit[dask]'") from error
del _dask_array

from ._fit import FitResult, fit_transform, pyramid
from ._zarr import to_zarr
from ._warps import (grid_sample, grid_sample_vjp, warp_affine, warp_affine_vjp,
                     warp_perspective, warp_perspective_vjp, warp_tps, warp_tps_vjp)

__all__ = ["warp_affine", "warp_affine_vjp", "warp_perspective", "warp_perspective_vjp",
           "warp_tps", "warp_tps_vjp", "grid_sample", "grid_sample_vjp", "fit_transform",
           "FitResult", "pyramid", "to_zarr"]
