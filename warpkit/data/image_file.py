"""Warp an image file on disk: an everyday use of warpkit's sampler."""

import numbers
import os

import numpy as np

import warpkit

from .. import _validate
from ..coords import base_grid
from ..grids import NO_SOURCE
from . import _geometry
from ._files import open_image
from ._optional import require_pil_image

__all__ = ["warp_image_file"]

#: Pillow modes kept as they are, 8 bits per channel.
BYTE_MODES = ("L", "LA", "RGB", "RGBA")
#: Single-channel modes with wider values, written back in the same mode.
WIDE_MODES = {
    "I;16": np.uint16,
    "I;16B": np.uint16,
    "I;16L": np.uint16,
    "I": np.int32,
    "F": np.float32,
}


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _read_pixels(image):
    """Pixels of a Pillow image as float (C, H, W), and the dtype to write them back in."""
    mode = image.mode
    if mode in WIDE_MODES:
        return np.asarray(image, dtype=np.float64)[None], WIDE_MODES[mode]
    if mode == "1":
        image = image.convert("L")
    elif mode not in BYTE_MODES:
        has_alpha = "transparency" in image.info or mode in ("PA", "RGBa", "La")
        image = image.convert("RGBA" if has_alpha else "RGB")
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return pixels.transpose(2, 0, 1), np.uint8


def _to_image(pixels, dtype, image_module):
    """Pillow image of warped pixels (C, H, W), in the mode they were read from."""
    if dtype is np.uint8:
        values = np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8).transpose(1, 2, 0)
        if values.shape[2] == 1:
            values = values[:, :, 0]
        return image_module.fromarray(values)
    values = pixels[0]
    if dtype is not np.float32:
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return image_module.fromarray(values.astype(dtype))


def _input_from_output(size, rotate, scale, shear, translate, perspective, rng):
    """Pixel homography (3, 3) taking output pixels to input pixels."""
    height, width = size
    centre = _geometry.centre(size)
    # Forward map: about the centre, scale, then shear along x, then rotate
    # (positive = counter-clockwise on screen, with y pointing down), then translate.
    angle = np.deg2rad(rotate)
    rotation = np.array(
        [[np.cos(angle), np.sin(angle), 0.0], [-np.sin(angle), np.cos(angle), 0.0], [0, 0, 1]]
    )
    shearing = np.array([[1.0, np.tan(np.deg2rad(shear)), 0.0], [0.0, 1.0, 0.0], [0, 0, 1]])
    scaling = np.diag([scale, scale, 1.0])
    shift = np.array([translate[0] * width, translate[1] * height])
    forward = (
        _geometry.translation([centre + shift])[0]
        @ rotation
        @ shearing
        @ scaling
        @ _geometry.translation([-centre])[0]
    )
    if perspective == 0.0:
        return np.linalg.inv(forward)
    corners = _geometry.frame_corners(size)
    moved = corners @ forward[:2, :2].T + forward[:2, 2]
    moved = moved + rng.uniform(-perspective, perspective, size=(4, 2)) * np.array([width, height])
    return _geometry.homographies_from_points(moved[None], corners[None])[0]


def warp_image_file(
    src,
    dst,
    rotate=0.0,
    scale=1.0,
    shear=0.0,
    translate=(0.0, 0.0),
    perspective=0.0,
    tps_jitter=0.0,
    seed=0,
    *,
    mode="bilinear",
    padding_mode="zeros",
):
    """Read an image file, warp it with warpkit, and write the result.

    The output has the size and mode of the input.  The transformation acts
    about the image centre, in this order: scale, shear, rotate, translate,
    then the random perspective and thin-plate-spline jitters.  Grayscale
    (``L``, 16-bit ``I;16``, ``I``, ``F``), ``RGB`` and images with alpha
    (``LA``, ``RGBA``: the alpha channel is warped too, so uncovered areas
    become transparent) keep their mode; palette and other modes are
    converted to ``RGB``/``RGBA``.

    Parameters
    ----------
    src : str or os.PathLike
        Image file to read (any format Pillow reads).
    dst : str or os.PathLike
        File to write; its extension picks the format.
    rotate : float, optional
        Rotation in degrees, counter-clockwise as seen on screen.
    scale : float, optional
        Zoom factor (> 0): 2 doubles the content's size.
    shear : float, optional
        Horizontal shear angle in degrees (in ``(-90, 90)``): a point moves
        along x by ``tan(shear)`` times its height below the centre.
    translate : (float, float), optional
        Shift ``(dx, dy)`` as fractions of the image width and height
        (``(0.1, 0)`` moves the content right by a tenth of the width).
    perspective : float, optional
        Random perspective (>= 0): each corner of the transformed frame moves
        by a uniform random offset in ``[-perspective, perspective]`` times the
        image width (x) and height (y).  0 disables it.
    tps_jitter : float, optional
        Random elastic bend (>= 0): a thin-plate spline on a 4x4 grid of
        control points, each moved by a normal with standard deviation
        ``tps_jitter`` times the image size.  0 disables it.
    seed : int, optional
        Seed of the random perspective and spline jitters.
    mode : {"bilinear", "nearest", "bicubic"}, optional
        Interpolation (keyword only).
    padding_mode : {"zeros", "border", "reflection"}, optional
        What areas outside the input show (keyword only).

    Returns
    -------
    ndarray, shape (C, H, W), float
        The warped pixels before they are written (8-bit images in ``[0, 1]``).

    Raises
    ------
    FileNotFoundError
        If ``src`` does not exist.
    ValueError
        If ``src`` cannot be read as an image, ``dst`` cannot be written, or
        a parameter is out of range.
    ImportError
        If Pillow is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from warpkit.data import warp_image_file
    >>> folder = tempfile.mkdtemp()
    >>> src, dst = os.path.join(folder, "in.png"), os.path.join(folder, "out.png")
    >>> Image.fromarray(np.eye(16, dtype=np.uint8) * 255).save(src)
    >>> warp_image_file(src, dst, rotate=90.0).shape
    (1, 16, 16)
    >>> with Image.open(dst) as written:
    ...     written.size, written.mode
    ((16, 16), 'L')
    """
    rotate = _real("rotate", rotate)
    scale = _real("scale", scale)
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    shear = _real("shear", shear)
    if abs(shear) >= 90.0:
        raise ValueError(f"shear must be in (-90, 90) degrees, got {shear}")
    try:
        translate = tuple(_real("translate", v) for v in translate)
    except TypeError:
        raise ValueError(
            f"translate must be a (dx, dy) pair of numbers, got {translate!r}"
        ) from None
    if len(translate) != 2:
        raise ValueError(f"translate must be a (dx, dy) pair of numbers, got {translate!r}")
    perspective = _validate.check_nonnegative_number("perspective", perspective)
    tps_jitter = _validate.check_nonnegative_number("tps_jitter", tps_jitter)
    _validate.mode_code(mode)
    _validate.padding_code(padding_mode)
    dst = os.fspath(dst)

    image = open_image(src)
    pixels, out_dtype = _read_pixels(image)
    channels, height, width = pixels.shape
    rng = np.random.default_rng(seed)

    pixel_map = _input_from_output(
        (height, width), rotate, scale, shear, translate, perspective, rng
    )
    homography = _geometry.normalized_matrices(pixel_map[None], (height, width), (height, width))[0]
    if tps_jitter > 0.0:
        control = np.asarray(warpkit.control_point_grid(16), dtype=np.float64)
        targets = control + rng.normal(0.0, 2.0 * tps_jitter, size=control.shape)
        points = warpkit.tps_grid(control, targets[None], (1, 1, height, width))[0]
    else:
        points = base_grid(height, width, dtype=np.float64)[..., :2]
    mapped = points @ homography[:2, :2].T + homography[:2, 2]
    weight = points @ homography[2, :2] + homography[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        grid = mapped / weight[..., None]
    # Points the projective map sends to infinity or behind the camera read the
    # padding, as in warpkit.perspective_grid.
    grid[~(weight > 0)] = NO_SOURCE
    dtype = np.float32 if out_dtype is np.uint8 else np.float64
    warped = warpkit.grid_sample(
        pixels[None].astype(dtype), grid[None].astype(dtype), mode=mode, padding_mode=padding_mode
    )[0]

    result = _to_image(warped, out_dtype, require_pil_image())
    try:
        result.save(dst)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"cannot write image file {dst!r}: {error}") from error
    return warped
