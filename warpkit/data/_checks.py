"""Argument checks shared by the data functions: clear errors naming the argument."""

import numbers
import operator

import numpy as np


def as_rng(rng):
    """``rng`` as a :class:`numpy.random.Generator` (an int >= 0 or None seeds a new one)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(count("rng", rng, 0))
    raise TypeError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")


def count(name, value, minimum):
    """``value`` as an int; it must be an integer (not a bool) ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def as_size(name, value):
    """``value`` (an int or a pair of ints) as a ``(height, width)`` tuple of positive ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{name} must be an int or a (height, width) pair of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return int(pair[0]), int(pair[1])


def scale_range(name, value):
    """``value`` as a ``(low, high)`` pair of finite floats with ``0 < low <= high``."""
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}")
    low, high = float(pair[0]), float(pair[1])
    if not (np.isfinite(high) and 0 < low <= high):
        raise ValueError(
            f"{name} must be a (low, high) pair with 0 < low <= high, both finite, "
            f"got {value!r}")
    return low, high


def unit_number(name, value):
    """``value`` as a float in ``[0, 1]`` (a real number, not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def images(name, value):
    """``value`` as a float32 or float64 array of shape (N, C, H, W)."""
    array = np.asarray(value)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {array.dtype}")
    if array.ndim != 4:
        raise ValueError(f"{name} must be 4-dimensional (N, C, H, W), got shape {array.shape}")
    if 0 in array.shape[2:]:
        raise ValueError(f"{name} must have non-empty height and width, got shape {array.shape}")
    return array
