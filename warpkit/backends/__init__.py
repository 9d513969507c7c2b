"""Backends: the host side of every kernel call, one module per device.

:mod:`~warpkit.backends.cpu` (NumPy arrays, Numba CPU kernels on a thread
pool) and :mod:`~warpkit.backends.cuda` (GPU arrays, numba-cuda kernels,
loaded on demand) have the same functions -- ``grid_sample``,
``grid_sample_vjp``, ``parameters``, ``fused_forward``, ``fused_vjp`` -- so
the primitives (:mod:`warpkit.sampling`, :mod:`warpkit._primitives`) pick
one with :func:`warpkit._device.backend_for` and call it without knowing
which it is.  Backends convert and allocate; the arithmetic is in
:mod:`warpkit.kernels`.
"""
