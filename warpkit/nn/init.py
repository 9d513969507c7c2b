"""Weight initializers: deterministic functions of a ``numpy.random.Generator``."""

import numpy as np

__all__ = ["he_normal", "glorot_uniform", "dense_params", "conv_params", "zeros"]


def he_normal(rng, shape, fan_in, dtype=np.float32):
    """Normal weights with variance ``2 / fan_in`` (for ReLU layers).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import init
    >>> init.he_normal(np.random.default_rng(0), (3, 2), fan_in=3).shape
    (3, 2)
    """
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def glorot_uniform(rng, shape, fan_in, fan_out, dtype=np.float32):
    """Uniform weights in ``±sqrt(6 / (fan_in + fan_out))``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import init
    >>> w = init.glorot_uniform(np.random.default_rng(0), (4, 4), 4, 4)
    >>> bool(np.abs(w).max() <= np.sqrt(6 / 8))
    True
    """
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(dtype)


def zeros(shape, dtype=np.float32):
    """All-zero array (biases, identity-initialized last layers).

    Examples
    --------
    >>> from warpkit.nn import init
    >>> init.zeros(2)
    array([0., 0.], dtype=float32)
    """
    return np.zeros(shape, dtype=dtype)


def dense_params(rng, d_in, d_out, dtype=np.float32):
    """He-initialized ``{"w": (d_in, d_out), "b": (d_out,)}`` for :func:`warpkit.nn.dense`.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import init
    >>> p = init.dense_params(np.random.default_rng(0), 5, 3)
    >>> p["w"].shape, p["b"].shape
    ((5, 3), (3,))
    """
    return {"w": he_normal(rng, (d_in, d_out), d_in, dtype), "b": zeros(d_out, dtype)}


def conv_params(rng, c_in, c_out, kernel_size, dtype=np.float32, *, dims=2):
    """He-initialized parameters for :func:`warpkit.nn.conv2d` or :func:`warpkit.nn.conv3d`.

    Returns ``{"w": (c_out, c_in, k, k), "b": (c_out,)}``, or a
    ``(c_out, c_in, k, k, k)`` weight with ``dims=3`` (volumes).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn import init
    >>> init.conv_params(np.random.default_rng(0), 1, 8, 5)["w"].shape
    (8, 1, 5, 5)
    >>> init.conv_params(np.random.default_rng(0), 2, 4, 3, dims=3)["w"].shape
    (4, 2, 3, 3, 3)
    """
    if dims not in (2, 3):
        raise ValueError(f"conv_params: dims must be 2 (images) or 3 (volumes), got {dims!r}")
    fan_in = c_in * kernel_size ** dims
    return {"w": he_normal(rng, (c_out, c_in) + (kernel_size,) * dims, fan_in, dtype),
            "b": zeros(c_out, dtype)}
