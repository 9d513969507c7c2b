"""Opening files with errors that name them."""

import os

from ._optional import require_pil_image


def existing_path(name, path, kind="file"):
    """``path`` as a string; a FileNotFoundError naming it if it does not exist."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {path!r}") from None
    if kind == "file" and not os.path.isfile(path):
        if os.path.isdir(path):
            raise IsADirectoryError(f"{name} {path!r} is a directory, expected a file")
        raise FileNotFoundError(f"{name} {path!r} does not exist")
    if kind == "dir" and not os.path.isdir(path):
        raise FileNotFoundError(f"{name} {path!r} is not an existing directory")
    if kind == "any" and not os.path.exists(path):
        raise FileNotFoundError(f"{name} {path!r} does not exist")
    return path


def open_image(path):
    """Open an image file with Pillow and load its pixels; clear errors name ``path``."""
    image_module = require_pil_image()
    path = existing_path("image file", path)
    try:
        with image_module.open(path) as image:
            image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise ValueError(f"cannot read image file {path!r}: {error}") from error
    return image
