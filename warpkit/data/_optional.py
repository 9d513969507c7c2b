"""Lazy imports of the optional packages :mod:`warpkit.data` needs.

The sampler and the grid generators need only NumPy, Numba and autograd;
scikit-learn (the built-in digits) and Pillow (image files, GTSRB) are
imported inside the functions that use them, with a message saying what to
install.
"""


def require_sklearn_datasets():
    """:mod:`sklearn.datasets`, or an ImportError saying how to install it."""
    try:
        from sklearn import datasets
    except ImportError as error:
        raise ImportError(
            "the built-in digit datasets need scikit-learn: "
            "pip install 'warpkit[data]' (or pip install scikit-learn)"
        ) from error
    return datasets


def require_pil_image():
    """:mod:`PIL.Image`, or an ImportError saying how to install Pillow."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "reading and writing image files needs Pillow: "
            "pip install 'warpkit[data]' (or pip install pillow)"
        ) from error
    return Image
