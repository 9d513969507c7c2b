"""Numba's on-disk cache for warpkit's kernels, invalidated by any kernel source change.

Numba keys a cached function on the content of *its own* source file, but a
warpkit kernel also compiles in the per-pixel maths of other modules
(:mod:`warpkit.kernels._math`, :mod:`warpkit.coords`, ...).  A change there
would leave a stale kernel in the cache.  The locators installed here key
every warpkit kernel on a digest of all the sources that can be compiled into
it: ``warpkit/kernels/*.py``, ``warpkit/coords.py`` and ``warpkit/_config.py``.

Where the cache lives is Numba's usual choice, in order: ``NUMBA_CACHE_DIR``
if set; the package's own ``__pycache__`` if writable; otherwise the user-wide
cache directory (so a read-only installation still caches).  If none is
usable, Numba compiles without caching.
"""

import functools
import hashlib
import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_KERNEL_SOURCES = ("coords.py", "_config.py", "_cache.py")


@functools.lru_cache(maxsize=1)
def kernel_sources_digest():
    """SHA-256 of every source file that can be compiled into a warpkit kernel."""
    digest = hashlib.sha256()
    kernels_dir = os.path.join(_PACKAGE_DIR, "kernels")
    paths = [os.path.join(_PACKAGE_DIR, name) for name in _KERNEL_SOURCES]
    paths += [os.path.join(kernels_dir, name) for name in sorted(os.listdir(kernels_dir))
              if name.endswith(".py")]
    for path in paths:
        digest.update(os.path.relpath(path, _PACKAGE_DIR).encode())
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def _is_warpkit_source(py_file):
    try:
        return os.path.commonpath([os.path.abspath(py_file), _PACKAGE_DIR]) == _PACKAGE_DIR
    except ValueError:  # different drives
        return False


def _warpkit_locator(base):
    class Locator(base):
        warpkit_locator = True

        def get_source_stamp(self):
            return ("warpkit-kernel-sources", kernel_sources_digest())

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _is_warpkit_source(py_file):
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = "Warpkit" + base.__name__
    return Locator


def install_cache_locators():
    """Put warpkit's locators first in Numba's list (idempotent).

    Returns True if they are installed, False if this Numba has no such hook
    (then Numba's own per-file cache keys apply).
    """
    try:
        from numba.core import caching

        classes = caching.CacheImpl._locator_classes
        bases = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                 caching.UserWideCacheLocator)
    except (ImportError, AttributeError):
        return False
    if not any(getattr(cls, "warpkit_locator", False) for cls in classes):
        classes[:0] = [_warpkit_locator(base) for base in bases]
    return True
