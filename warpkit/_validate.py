"""Argument checks shared by every public function.

Each check names the argument it rejects and says what was expected, so a
user never meets a Numba typing error, a segfault or an out-of-bounds read.
The rules:

* Arrays must be float32 or float64.  A NumPy array of another dtype is a
  ``TypeError`` (convert it yourself, e.g. ``image.astype(np.float32)``);
  nested Python lists and scalars are converted with ``np.asarray`` and, if
  they hold integers or booleans, to float64.
* Other CPU arrays -- anything NumPy can read through ``__array__`` or
  DLPack, such as a CPU PyTorch tensor -- are converted with ``np.asarray``
  (without a copy where possible); GPU arrays (``__cuda_array_interface__``)
  stay on the GPU.  Masked arrays are a ``TypeError``: warpkit would ignore
  the mask, so fill it first (``array.filled(0.0)``).
* Arrays handed to the CPU kernels are made C-contiguous and writeable
  (copied only if they are not, after :func:`check_allocation` agreed to
  the copy), so every call uses the one compiled specialization per dtype.
"""

import functools
import numbers
import os
import operator

import numpy as np
from autograd.tracer import getval

from .kernels import _math

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

MODES = {
    "bilinear": _math.MODE_BILINEAR,
    "nearest": _math.MODE_NEAREST,
    "bicubic": _math.MODE_BICUBIC,
}

PADDING_MODES = {
    "zeros": _math.PADDING_ZEROS,
    "border": _math.PADDING_BORDER,
    "reflection": _math.PADDING_REFLECTION,
}


def float_dtype(name, value):
    """The floating dtype of an array argument, or a ``TypeError`` naming it."""
    value = getval(value)
    interface = getattr(value, "__cuda_array_interface__", None)
    if interface:
        dtype = np.dtype(interface["typestr"])
    else:
        dtype = getattr(value, "dtype", None)
        if not isinstance(dtype, np.dtype):  # a list, a scalar or a foreign CPU array
            dtype = host_array(name, value).dtype
            if dtype.kind in "biu" and not _is_foreign_array(value):
                return np.dtype(np.float64)
        elif isinstance(value, np.ma.MaskedArray):
            raise _masked_array_error(name)
    if dtype not in FLOAT_DTYPES:
        hint = ""
        if dtype.kind in "biu":
            hint = f"; convert it first, e.g. {name}.astype(np.float32)"
        elif dtype == np.float16:
            hint = f"; float16 is not supported, use {name}.astype(np.float32)"
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {dtype}{hint}")
    return dtype


def host_array(name, value):
    """``value`` as something NumPy and autograd code can compute with.

    NumPy arrays and autograd boxes come back unchanged; lists, scalars and
    foreign CPU arrays (``__array__`` or ``__dlpack__``: a CPU PyTorch
    tensor, for example) are converted with ``np.asarray``, without a copy
    where NumPy can avoid one.  Masked arrays and objects NumPy cannot read
    are a ``TypeError`` naming the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit._validate import host_array
    >>> host_array("theta", [[1, 0, 0], [0, 1, 0]]).shape
    (2, 3)
    >>> host_array("grid", np.ma.masked_array([0.5], mask=[True]))
    Traceback (most recent call last):
    ...
    TypeError: grid is a masked array, whose mask warpkit would ignore; pass grid.filled(value) or np.asarray(grid) instead
    """
    raw = getval(value)
    if isinstance(raw, np.ma.MaskedArray):
        raise _masked_array_error(name)
    if isinstance(raw, np.ndarray):
        return value
    try:
        if hasattr(raw, "__dlpack__") and not hasattr(raw, "__array__"):
            return np.from_dlpack(raw)
        return np.asarray(raw)
    except Exception as error:  # NumPy's or the foreign library's own error
        raise TypeError(
            f"{name} must be an array of numbers that NumPy can read, got "
            f"{type(raw).__name__} ({error}); convert it first, e.g. with np.asarray({name}), "
            f"or {name}.detach().cpu().numpy() for a PyTorch tensor") from None


def _is_foreign_array(value):
    return hasattr(value, "__array__") or hasattr(value, "__dlpack__")


def _masked_array_error(name):
    return TypeError(f"{name} is a masked array, whose mask warpkit would ignore; pass "
                     f"{name}.filled(value) or np.asarray({name}) instead")


def as_float_array(name, value, ndim=None, dtype=None):
    """Return ``value`` as a float NumPy array, checking dtype and rank.

    Parameters
    ----------
    name : str
        Argument name used in error messages.
    value : array_like
        The argument.
    ndim : int, optional
        Required number of dimensions.
    dtype : dtype, optional
        Convert to this float dtype after the check.

    Returns
    -------
    ndarray
        The validated array (not copied where no conversion was needed).
    """
    source_dtype = float_dtype(name, value)
    value = host_array(name, value)
    dtype = dtype or source_dtype
    if np.dtype(dtype) != value.dtype:
        check_allocation(name, np.shape(value), dtype)
    array = np.asarray(value, dtype=dtype)
    check_ndim(name, array.shape, ndim)
    return array


def check_ndim(name, shape, ndim, layout=None):
    """Raise a ``ValueError`` unless ``len(shape) == ndim``."""
    if ndim is not None and len(shape) != ndim:
        layout = f" {layout}" if layout else ""
        raise ValueError(f"{name} must be {ndim}-dimensional{layout}, got shape {tuple(shape)}")


def for_kernel(array, dtype, name="an array argument"):
    """``array`` as a C-contiguous, writeable ``ndarray`` of ``dtype`` for a CPU kernel.

    A copy, where one is needed, is checked with :func:`check_allocation`
    first (``name`` is the argument it names): a broadcast view of a few
    bytes can stand for terabytes.
    """
    if (type(array) is np.ndarray and array.dtype == dtype and array.flags.c_contiguous
            and array.flags.writeable):
        return array  # the common case, without any other check
    array = host_array(name, array)
    if not (array.dtype == dtype and array.flags.c_contiguous and array.flags.writeable):
        check_allocation(name, array.shape, dtype)
    return np.require(np.asarray(array), dtype=dtype, requirements=["C", "W"])


def mode_code(mode):
    """Integer code of an interpolation mode name."""
    return _lookup("mode", mode, MODES)


def padding_code(padding_mode):
    """Integer code of a padding mode name."""
    return _lookup("padding_mode", padding_mode, PADDING_MODES)


def _lookup(name, value, table):
    if not isinstance(value, str) or value not in table:
        valid = ", ".join(repr(key) for key in table)
        raise ValueError(f"{name} must be one of {valid}, got {value!r}")
    return table[value]


#: Largest image height or width: the CPU kernels index rows and columns with
#: 32-bit integers (offsets within a plane are 64-bit where a plane needs it).
MAX_EXTENT = 2**31 - 1


def check_extent(name, shape):
    """Raise a ``ValueError`` if the height or width of ``shape`` exceeds :data:`MAX_EXTENT`.

    Examples
    --------
    >>> from warpkit._validate import check_extent
    >>> check_extent("input", (1, 1, 4, 2**31))
    Traceback (most recent call last):
    ...
    ValueError: input's height and width must be at most 2147483647 pixels, got (4, 2147483648)
    """
    if max(shape[-2:]) > MAX_EXTENT:
        raise ValueError(f"{name}'s height and width must be at most {MAX_EXTENT} pixels, "
                         f"got {tuple(shape[-2:])}")


def check_wrt(wrt, names):
    """``wrt`` as a tuple of gradient names, each one of ``names``.

    Examples
    --------
    >>> from warpkit._validate import check_wrt
    >>> check_wrt("grid", ("input", "grid"))
    ('grid',)
    >>> check_wrt(("theta", "image"), ("input", "theta"))
    Traceback (most recent call last):
    ...
    ValueError: wrt must name gradients among 'input', 'theta', got 'image'
    """
    if isinstance(wrt, str):
        wrt = (wrt,)
    try:
        wrt = tuple(wrt)
    except TypeError:
        raise TypeError(f"wrt must be a tuple of gradient names, got {wrt!r}") from None
    for name in wrt:
        if name not in names:
            valid = ", ".join(repr(n) for n in names)
            raise ValueError(f"wrt must name gradients among {valid}, got {name!r}")
    return wrt


def check_bool(name, value):
    """Return ``value`` as a bool; it must be a bool (or NumPy bool)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_size(name, size, length, minimum=0):
    """Return ``size`` as a tuple of ``length`` ints ``>= minimum`` (bools are refused).

    Examples
    --------
    >>> from warpkit._validate import check_size
    >>> check_size("size", (4, 5), 2)
    (4, 5)
    >>> check_size("size", (True, 5), 2)
    Traceback (most recent call last):
    ...
    TypeError: size must be a sequence of 2 integers, got (True, 5)
    """
    try:
        if any(isinstance(v, (bool, np.bool_)) for v in size):
            raise TypeError
        values = tuple(operator.index(v) for v in size)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of {length} integers, got {size!r}") from None
    if len(values) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(values)}: {size!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{name} entries must be >= {minimum}, got {size!r}")
    return values


def check_nonnegative_number(name, value):
    """Return ``value`` as a float; it must be a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return value


def as_real_array(name, value, dtype=np.float64):
    """``value`` as a new array of ``dtype``; it must hold real numbers.

    Booleans, integers and floats of any width are converted; complex,
    string and object arrays are a ``TypeError`` naming the argument (NumPy
    would drop imaginary parts with only a warning, and parse strings).

    Examples
    --------
    >>> from warpkit._validate import as_real_array
    >>> as_real_array("matrix", [[1, 0], [0, 1]])
    array([[1., 0.],
           [0., 1.]])
    >>> as_real_array("matrix", [1j])
    Traceback (most recent call last):
    ...
    TypeError: matrix must hold real numbers (bool, integer or float), got dtype complex128
    """
    array = np.asarray(host_array(name, getval(value)))
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, integer or float), got dtype {array.dtype}")
    check_allocation(name, array.shape, dtype)
    return np.array(array, dtype=dtype)


@functools.lru_cache(maxsize=1)
def physical_memory():
    """Bytes of physical memory on this machine (``None`` if the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _format_bytes(count):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if count < 1024 or unit == "EiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} bytes"  # pragma: no cover


def check_allocation(name, shape, dtype, value=None, extra=()):
    """Raise ``MemoryError`` *before* allocating arrays that cannot fit in memory.

    Call it in a wrapper right before it allocates a result whose size a
    user controls: a request that can never fit then fails at once with a
    message naming the argument, instead of after minutes of swapping, an
    out-of-memory kill, or NumPy's ``ValueError: array is too big``.

    Parameters
    ----------
    name : str
        The argument that decided the shape (e.g. ``"size"``).
    shape : tuple of int
        Shape of the array about to be allocated.
    dtype : dtype
        Its dtype.
    value : object, optional
        The argument's value, quoted in the message (default: ``shape``).
    extra : sequence of (shape, dtype), optional
        Working arrays the call allocates besides the result (base
        coordinates, base grids, intermediates): they count in the total.

    Returns
    -------
    int
        The number of bytes the arrays need together.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit._validate import check_allocation
    >>> check_allocation("size", (1, 1, 4, 4), np.float32)
    64
    >>> check_allocation("size", (1, 1, 4, 4), np.float32, extra=[((4,), np.float64)] * 2)
    128
    >>> check_allocation("size", (1, 1, 10**9, 10**9), np.float32)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    MemoryError: size (1, 1, 1000000000, 1000000000) needs a float32 array of 3.5 EiB...
    >>> check_allocation("size", (0, 1, 2**20, 2**20), np.float32,
    ...                  extra=[((2**42,), np.float64)] * 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    MemoryError: size (0, 1, 1048576, 1048576) needs a float32 array of 0 bytes ... and working arrays of 64.0 TiB...
    """
    shown = tuple(shape) if value is None else value
    # NumPy refuses a shape whose non-zero extents need too many bytes, even an empty one.
    if _nbytes([max(int(e), 1) for e in shape], dtype) > _INTP_MAX:
        raise MemoryError(f"{name} {shown} asks for a {np.dtype(dtype).name} array of shape "
                          f"{tuple(shape)}, too large for NumPy even when empty; use a smaller "
                          f"size")
    result = _nbytes(shape, dtype)
    working = sum(_nbytes(s, d) for s, d in extra)
    nbytes = result + working
    limit = physical_memory()
    too_big_for_numpy = max([result] + [_nbytes(s, d) for s, d in extra]) > _INTP_MAX
    if too_big_for_numpy or (limit is not None and nbytes > limit):
        also = f" and working arrays of {_format_bytes(working)}" if working else ""
        available = ""
        if limit is not None:
            available = f", more than this machine's memory ({_format_bytes(limit)})"
        raise MemoryError(
            f"{name} {shown} needs a {np.dtype(dtype).name} array of {_format_bytes(result)} "
            f"(shape {tuple(shape)}){also}{available}; use a smaller size or split the batch")
    return nbytes


_INTP_MAX = int(np.iinfo(np.intp).max)


def _nbytes(shape, dtype):
    count = 1
    for extent in shape:
        count *= int(extent)
    return count * np.dtype(dtype).itemsize
