"""Recognizing GPU arrays and picking the backend that runs a call.

Importing warpkit never imports numba-cuda: the CUDA backend loads the first
time a function receives an array that exposes ``__cuda_array_interface__``.
"""

import numpy as np
from autograd.tracer import getval


def is_device_array(value):
    """True for arrays that live on a CUDA device (numba, CuPy, PyTorch CUDA).

    Numba's CUDA simulator arrays count too (they mark themselves with
    ``__cuda_ndarray__``), so the GPU path is tested without a GPU.
    """
    value = getval(value)
    return hasattr(value, "__cuda_array_interface__") or bool(
        getattr(value, "__cuda_ndarray__", False))


def cuda_backend():
    """The :mod:`warpkit.backends.cuda` module, or an ``ImportError`` saying what to install."""
    try:
        from .backends import cuda
    except ImportError as error:  # numba-cuda missing or broken
        raise ImportError(
            "warpkit needs numba-cuda for GPU arrays: pip install 'warpkit[cuda]' "
            f"(import failed: {error})"
        ) from error
    return cuda


def backend_for(**arrays):
    """The backend module that runs a call on the named arrays:
    :mod:`warpkit.backends.cpu` for NumPy arrays, :mod:`warpkit.backends.cuda`
    for GPU arrays, a ``TypeError`` for a mix (see :func:`check_same_device`).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit._device import backend_for
    >>> backend_for(input=np.zeros((1, 1, 2, 2)), grid=np.zeros((1, 2, 2, 2))).__name__
    'warpkit.backends.cpu'
    """
    from .backends import cpu

    if all(type(array) is np.ndarray for array in arrays.values()):
        return cpu  # the common case, without the device checks
    if check_same_device(**arrays):
        return cuda_backend()
    return cpu


def check_same_device(**arrays):
    """Raise a ``TypeError`` if some of the named arrays are on the GPU and some are not.

    Returns True when all are device arrays, False when none is.
    """
    on_device = {name: is_device_array(a) for name, a in arrays.items() if a is not None}
    if all(on_device.values()):
        return True
    if not any(on_device.values()):
        return False
    gpu = ", ".join(n for n, d in on_device.items() if d)
    cpu = ", ".join(n for n, d in on_device.items() if not d)
    raise TypeError(
        f"cannot mix GPU and CPU arrays: {gpu} on the GPU but {cpu} on the CPU; "
        "move them to the same device first"
    )
