"""The anchors (PyTorch, OpenCV, SciPy, Kornia) and warpkit functions, imported if present.

:func:`require` returns a module or raises :class:`~benchmarks.core.Skip` with
a line saying what is missing, so that an absent anchor -- or a warpkit
function that does not exist yet -- skips a benchmark instead of failing it.
"""

import importlib

from .core import Skip

_INSTALL = {
    "torch": "pip install torch==2.13.0",
    "cv2": "pip install opencv-python-headless",
    "scipy": "pip install scipy",
    "scipy.ndimage": "pip install scipy",
    "scipy.interpolate": "pip install scipy",
    "kornia": "pip install kornia",
    "matplotlib": "pip install matplotlib",
}

_cache = {}


def optional(name):
    """The module ``name``, or None if it cannot be imported."""
    if name not in _cache:
        try:
            _cache[name] = importlib.import_module(name)
        except ImportError:
            _cache[name] = None
    return _cache[name]


def require(name):
    """The module ``name``, or raise Skip saying how to install it."""
    module = optional(name)
    if module is None:
        raise Skip(f"{name} is not installed ({_INSTALL.get(name, 'pip install ' + name)})")
    return module


def warpkit_function(name):
    """``warpkit.<name>`` (or a dotted path under warpkit), or raise Skip if it does not exist yet."""
    import warpkit

    target = warpkit
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            try:
                target = importlib.import_module(f"warpkit.{name}")
                break
            except ImportError:
                raise Skip(f"warpkit.{name} does not exist yet") from None
    return target


def versions():
    """Versions of warpkit, its dependencies and the anchors, for the report."""
    import platform

    found = {"python": platform.python_version()}
    for name in ("warpkit", "numpy", "numba", "autograd", "torch", "cv2", "scipy", "kornia",
                 "matplotlib"):
        module = optional(name)
        if module is None:
            found[name] = "not installed"
        else:
            version = getattr(module, "__version__", None)
            if version is None:
                try:
                    from importlib.metadata import version as dist_version

                    version = dist_version(name)
                except Exception:  # noqa: BLE001 - a version string is informational only
                    version = "?"
            found[name] = version
    return found
