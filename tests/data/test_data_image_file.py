"""warp_image_file: round trips through real image files."""

import numpy as np
import pytest

from warpkit.data import warp_image_file

Image = pytest.importorskip("PIL.Image")


def save(tmp_path, pixels, name="in.png"):
    path = tmp_path / name
    Image.fromarray(pixels).save(path)
    return path


def load(path):
    with Image.open(path) as image:
        return np.asarray(image), image.mode


@pytest.fixture
def gray(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, size=(16, 16), dtype=np.uint8)
    return save(tmp_path, pixels), pixels


@pytest.mark.parametrize("channels, mode", [(None, "L"), (3, "RGB"), (4, "RGBA"), (2, "LA")])
def test_identity_round_trip(tmp_path, channels, mode):
    shape = (12, 20) if channels is None else (12, 20, channels)
    pixels = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    src = save(tmp_path, pixels)
    dst = tmp_path / "out.png"
    warped = warp_image_file(src, dst)
    assert warped.shape == (channels or 1, 12, 20)
    out, out_mode = load(dst)
    assert out_mode == mode
    assert np.array_equal(out, pixels)


def test_rotate_90_is_rot90(tmp_path, gray):
    src, pixels = gray
    dst = tmp_path / "out.png"
    # Positive angles turn as AffineTransform(rotation=...): clockwise on screen.
    warp_image_file(src, dst, rotate=90.0)
    assert np.array_equal(load(dst)[0], np.rot90(pixels, -1))
    warp_image_file(src, dst, rotate=-90.0)
    assert np.array_equal(load(dst)[0], np.rot90(pixels, 1))


def test_translate_is_a_shift(tmp_path, gray):
    src, pixels = gray
    dst = tmp_path / "out.png"
    warp_image_file(src, dst, translate=(0.25, -0.125))  # 4 px right, 2 px up
    expected = np.zeros_like(pixels)
    expected[:-2, 4:] = pixels[2:, :-4]
    assert np.array_equal(load(dst)[0], expected)


def test_scale_and_shear(tmp_path):
    pixels = np.zeros((17, 17), dtype=np.uint8)
    pixels[:, 8] = 255  # a vertical line through the centre
    src = save(tmp_path, pixels)
    dst = tmp_path / "out.png"
    warp_image_file(src, dst, scale=2.0, mode="nearest")
    assert np.array_equal(load(dst)[0][:, 8], np.full(17, 255))  # the centre line stays
    warp_image_file(src, dst, shear=45.0, mode="nearest")
    out = load(dst)[0]
    # tan(45 deg) = 1: row i moves by (i - 8) pixels along x.
    for i in range(17):
        assert np.flatnonzero(out[i]).tolist() == [8 + (i - 8)]


def test_random_warps_deterministic_from_seed(tmp_path, gray):
    src, _ = gray
    outputs = {}
    for key, seed in (("a", 0), ("b", 0), ("c", 1)):
        dst = tmp_path / f"{key}.png"
        warp_image_file(src, dst, perspective=0.1, tps_jitter=0.05, seed=seed)
        outputs[key] = load(dst)[0]
    assert np.array_equal(outputs["a"], outputs["b"])
    assert not np.array_equal(outputs["a"], outputs["c"])
    warp_image_file(src, tmp_path / "p.png", perspective=0.2, seed=3)
    warp_image_file(src, tmp_path / "t.png", tps_jitter=0.1, seed=3)


def test_wide_modes_kept(tmp_path):
    pixels = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).astype(np.uint16)
    src = tmp_path / "in16.png"
    Image.fromarray(pixels).save(src)
    dst = tmp_path / "out16.png"
    warp_image_file(src, dst)
    out, mode = load(dst)
    assert mode.startswith("I")
    assert np.array_equal(out.astype(np.int64), pixels.astype(np.int64))


def test_palette_image_becomes_rgb(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    src = tmp_path / "in.gif"
    Image.fromarray(rgb).convert("P").save(src)
    dst = tmp_path / "out.png"
    warp_image_file(src, dst)
    with Image.open(src) as palette:
        expected = np.asarray(palette.convert("RGB"))
    out, mode = load(dst)
    assert mode == "RGB" and np.array_equal(out, expected)


def test_errors(tmp_path, gray):
    src, _ = gray
    dst = tmp_path / "out.png"
    with pytest.raises(FileNotFoundError, match="missing.png"):
        warp_image_file(tmp_path / "missing.png", dst)
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not a picture")
    with pytest.raises(ValueError, match="cannot read image file.*garbage.png"):
        warp_image_file(garbage, dst)
    with pytest.raises(IsADirectoryError, match="directory"):
        warp_image_file(tmp_path, dst)
    with pytest.raises(ValueError, match="cannot write image file.*out.unknownext"):
        warp_image_file(src, tmp_path / "out.unknownext")
    for kwargs, name in [
        ({"scale": 0.0}, "scale"),
        ({"shear": 90.0}, "shear"),
        ({"rotate": float("nan")}, "rotate"),
        ({"scale": float("inf")}, "scale"),
        ({"perspective": float("nan")}, "perspective"),
        ({"tps_jitter": float("inf")}, "tps_jitter"),
        ({"translate": (0.1,)}, "translate"),
        ({"translate": 3}, "translate"),
        ({"perspective": -0.1}, "perspective"),
        ({"tps_jitter": -1.0}, "tps_jitter"),
        ({"mode": "cubic"}, "mode"),
        ({"padding_mode": "mirror"}, "padding_mode"),
    ]:
        with pytest.raises(ValueError, match=name):
            warp_image_file(src, dst, **kwargs)
    with pytest.raises(ValueError, match="seed"):
        warp_image_file(src, dst, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        warp_image_file(src, dst, seed=0.5)


@pytest.mark.parametrize("kwargs, named", [
    ({"scale": 0.001}, "scale=0.001"),
    ({"translate": (10.0, 0.0)}, r"translate=\(10.0, 0.0\)"),
    ({"translate": (0.0, -1.0), "padding_mode": "border"}, r"translate=\(0.0, -1.0\)"),
    ({"scale": 0.001, "tps_jitter": 0.01, "rotate": 10.0},
     "rotate=10.0 and scale=0.001 and tps_jitter=0.01"),
])
def test_a_warp_that_reads_nothing_of_the_input_is_an_error(tmp_path, gray, kwargs, named):
    src, _ = gray  # 16x16: no output pixel centre is the image centre
    dst = tmp_path / "out.png"
    with pytest.raises(ValueError, match=f"with {named}, no output pixel reads from inside"):
        warp_image_file(src, dst, **kwargs)
    assert not dst.exists()


def test_a_warp_that_reads_one_pixel_of_the_input_is_not_an_error(tmp_path, gray):
    src, pixels = gray
    dst = tmp_path / "out.png"
    # Shifted right by 15.5 px: the last output column samples the input's left edge.
    warp_image_file(src, dst, translate=(15.5 / 16, 0.0), mode="nearest")
    out = load(dst)[0]
    assert np.array_equal(out[:, -1], pixels[:, 0]) and not out[:, :-1].any()
