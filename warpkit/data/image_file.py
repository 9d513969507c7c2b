"""Warp an image file on disk: an everyday use of warpkit's sampler."""

import numbers
import os

import numpy as np

import warpkit

from .. import _validate
from ..transforms import AffineTransform, PerspectiveTransform
from . import _checks, _geometry
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
#: The settings that leave the image as it is (the defaults of :func:`warp_image_file`).
IDENTITY = {"rotate": 0.0, "scale": 1.0, "shear": 0.0, "translate": (0.0, 0.0),
            "perspective": 0.0, "tps_jitter": 0.0}


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
    """The pixel ``input_from_output`` map, a :class:`~warpkit.PerspectiveTransform`."""
    height, width = size
    # Forward map, about the centre: scale, shear along x, rotate (the sign of
    # AffineTransform: clockwise on screen), translate.
    centre = _geometry.centre(size)
    placed = AffineTransform(scale=scale, shear=np.deg2rad(shear), rotation=np.deg2rad(rotate),
                             translation=centre + np.array(translate) * (width, height))
    forward = PerspectiveTransform((placed @ AffineTransform(translation=-centre)).params)
    if perspective == 0.0:
        return forward.inverse
    corners = _geometry.frame_corners(size)
    moved = forward(corners)
    moved = moved + rng.uniform(-perspective, perspective, size=(4, 2)) * np.array([width, height])
    return _geometry.homography(moved, corners)


def _warp(pixels, input_from_output, tps_jitter, rng, mode, padding_mode):
    """Warp ``pixels`` (C, H, W) by the pixel map, then the random spline, in one fused warp.

    Also returns whether any output pixel centre reads from inside the input
    (its sampling point lies in the input's extent).
    """
    size = pixels.shape[1:]
    homography = input_from_output.to_normalized(size)[None]
    options = {"mode": mode, "padding_mode": padding_mode}
    if tps_jitter == 0.0:
        grid = warpkit.perspective_grid(homography, size)
        warped = warpkit.warp_perspective(pixels[None], homography, **options)
    else:
        # The spline through the jittered control points, carried by the map: exact
        # when the map is affine, its interpolation at the control points otherwise.
        controls = warpkit.control_point_grid(16)
        jittered = controls + rng.normal(0.0, 2.0 * tps_jitter, size=controls.shape)
        targets = PerspectiveTransform(homography[0])(jittered)[None]
        grid = warpkit.tps_grid(controls, targets, size)
        warped = warpkit.warp_tps(pixels[None], controls, targets, **options)
    reads_inside = bool(np.any(np.all(np.abs(grid) <= 1.0, axis=-1)))
    return warped[0], reads_inside


def _outside_error(settings):
    """The ValueError, naming the non-identity ``settings``, for a warp that reads nothing."""
    named = " and ".join(f"{name}={value!r}" for name, value in settings.items()
                         if value != IDENTITY[name]) or "the warp"
    return ValueError(
        f"with {named}, no output pixel reads from inside the input image (the output "
        f"would show only padding)"
    )


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
        Rotation in degrees with the sign of :class:`warpkit.AffineTransform`:
        positive turns the x axis towards the y axis, *clockwise* on screen
        (``rotate=90`` gives ``numpy.rot90(pixels, -1)``).
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
        ``tps_jitter`` times the image size.  0 disables it.  The whole
        warp is then one spline, through the images of the jittered control
        points under the map above: exact when ``perspective`` is 0, an
        interpolation of the perspective map at the control points
        otherwise.
    seed : int, optional
        Seed (``>= 0``) of the random perspective and spline jitters.
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
        If ``src`` cannot be read as an image, ``dst`` cannot be written, a
        parameter is out of range, or the warp moves the whole image out of
        the frame: no output pixel centre reads from inside the input (then
        nothing is written).
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
    >>> warp_image_file(src, dst, rotate=90.0).shape  # clockwise
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

    rng = np.random.default_rng(_checks.count("seed", seed, 0))

    image = open_image(src)
    pixels, out_dtype = _read_pixels(image)
    height, width = pixels.shape[1:]

    pixel_map = _input_from_output(
        (height, width), rotate, scale, shear, translate, perspective, rng
    )
    dtype = np.float32 if out_dtype is np.uint8 else np.float64
    warped, reads_inside = _warp(pixels.astype(dtype), pixel_map, tps_jitter, rng, mode,
                                 padding_mode)
    if not reads_inside:
        raise _outside_error(dict(rotate=rotate, scale=scale, shear=shear, translate=translate,
                                  perspective=perspective, tps_jitter=tps_jitter))

    result = _to_image(warped, out_dtype, require_pil_image())
    try:
        result.save(dst)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"cannot write image file {dst!r}: {error}") from error
    return warped
