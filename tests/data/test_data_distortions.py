"""The distortion functions: conventions checked on images whose answer is known."""

import numpy as np
import pytest

from warpkit.data import distort_cluttered, distort_e, distort_p, distort_r, distort_rts


def blob(size=28, sigma_x=3.0, sigma_y=3.0, centre=None):
    """A smooth Gaussian blob (1, 1, size, size), float64."""
    c = (size - 1) / 2.0 if centre is None else centre
    y, x = np.mgrid[0:size, 0:size]
    image = np.exp(-((x - c) ** 2) / (2 * sigma_x**2) - ((y - c) ** 2) / (2 * sigma_y**2))
    return image[None, None]


def centroid(image):
    y, x = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    mass = image.sum()
    return np.array([(x * image).sum() / mass, (y * image).sum() / mass])


def test_identity_parameters_give_the_input():
    images = np.random.default_rng(0).random((3, 2, 28, 28))
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(distort_r(images, rng, max_angle=0.0), images, atol=1e-12)
    np.testing.assert_allclose(
        distort_rts(images, rng, max_angle=0.0, scale=(1.0, 1.0), canvas=28), images, atol=1e-12
    )
    np.testing.assert_allclose(
        distort_p(images, rng, scale=(1.0, 1.0), sigma=0.0), images, atol=1e-9
    )
    np.testing.assert_allclose(
        distort_e(images, rng, scale=(1.0, 1.0), sigma=0.0), images, atol=1e-9
    )


@pytest.mark.parametrize("distort", [distort_p, distort_e])
def test_scale_acts_about_the_centre(distort):
    image = np.repeat(blob(sigma_x=3.0, sigma_y=3.0), 4, axis=0)
    out = distort(image, np.random.default_rng(0), scale=(0.5, 0.5), sigma=0.0)
    for item in out[:, 0]:
        np.testing.assert_allclose(centroid(item), [13.5, 13.5], atol=1e-6)
        np.testing.assert_allclose(item.sum(), 0.25 * image[0, 0].sum(), rtol=0.02)
        # Bilinear interpolation of the blob costs up to ~0.022 at its peak.
        np.testing.assert_allclose(item, blob(sigma_x=1.5, sigma_y=1.5)[0, 0], atol=0.03)


def test_rotation_keeps_centre_mass_and_shape():
    image = np.repeat(blob(sigma_x=5.0, sigma_y=2.0), 16, axis=0)
    out = distort_r(image, np.random.default_rng(0))
    angles = []
    for item in out[:, 0]:
        np.testing.assert_allclose(centroid(item), [13.5, 13.5], atol=1e-6)
        np.testing.assert_allclose(item.sum(), image[0, 0].sum(), rtol=0.01)
        y, x = np.mgrid[0:28, 0:28] - 13.5
        cov = np.cov(np.stack([x.ravel(), y.ravel()]), aweights=item.ravel())
        eigenvalues = np.linalg.eigvalsh(cov)
        np.testing.assert_allclose(eigenvalues, [4.0 + 1 / 12, 25.0 + 1 / 12], rtol=0.05)
        angles.append(np.degrees(np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1]) / 2))
    # The long axis turns by angles spread over [-90, 90].
    assert np.ptp(angles) > 60


def test_rts_places_the_frame_inside_the_canvas():
    image = np.repeat(blob(sigma_x=2.0, sigma_y=2.0), 64, axis=0)
    out = distort_rts(image, np.random.default_rng(0), max_angle=45.0, scale=(0.7, 1.2), canvas=42)
    assert out.shape == (64, 1, 42, 42)
    masses = out.sum(axis=(1, 2, 3)) / image[0, 0].sum()
    # Mass scales with scale**2, within the range the scales allow; nothing is cut off.
    assert masses.min() > 0.7**2 * 0.97 and masses.max() < 1.2**2 * 1.03
    centres = np.array([centroid(item) for item in out[:, 0]])
    scales = np.sqrt(masses)
    room = (42 - 28 * scales) / 2
    assert (np.abs(centres - 20.5) <= room[:, None] + 0.05).all()
    assert np.ptp(centres[:, 0]) > 8  # positions really vary


@pytest.mark.parametrize(
    "distort", [distort_r, distort_rts, distort_p, distort_e, distort_cluttered]
)
def test_deterministic_dtype_preserving(distort):
    images = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    first = distort(images, np.random.default_rng(5))
    again = distort(images, np.random.default_rng(5))
    other = distort(images, np.random.default_rng(6))
    assert first.dtype == np.float32
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.array_equal(distort(images, 5), first)  # an int seeds a generator


def test_bad_arguments():
    images = np.zeros((2, 1, 28, 28), dtype=np.float32)
    with pytest.raises(TypeError, match="images"):
        distort_r(images.astype(np.uint8), 0)
    with pytest.raises(ValueError, match="images"):
        distort_r(images[0], 0)
    with pytest.raises(TypeError, match="rng"):
        distort_r(images, "seed")
    with pytest.raises(ValueError, match="scale"):
        distort_rts(images, 0, scale=(1.2, 0.7))


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "distort, kwargs, name",
    [
        (distort_r, {"max_angle": NAN}, "max_angle"),
        (distort_r, {"max_angle": INF}, "max_angle"),
        (distort_r, {"max_angle": -10.0}, "max_angle"),
        (distort_rts, {"max_angle": NAN}, "max_angle"),
        (distort_rts, {"max_angle": -1.0}, "max_angle"),
        (distort_rts, {"scale": (NAN, 1.0)}, "scale"),
        (distort_rts, {"scale": (0.5, INF)}, "scale"),
        (distort_rts, {"scale": (0.0, 1.0)}, "scale"),
        (distort_rts, {"scale": (1.0,)}, "scale"),
        (distort_rts, {"scale": "ab"}, "scale"),
        (distort_rts, {"canvas": 0}, "canvas"),
        (distort_rts, {"canvas": (42, -1)}, "canvas"),
        (distort_p, {"sigma": NAN}, "sigma"),
        (distort_p, {"sigma": INF}, "sigma"),
        (distort_p, {"sigma": -1.0}, "sigma"),
        (distort_p, {"scale": (NAN, NAN)}, "scale"),
        (distort_e, {"sigma": NAN}, "sigma"),
        (distort_e, {"sigma": -0.5}, "sigma"),
        (distort_e, {"scale": (0.5, NAN)}, "scale"),
        (distort_e, {"grid_size": 1}, "grid_size"),
        (distort_cluttered, {"distractors": -1}, "distractors"),
        (distort_cluttered, {"distractor_size": 0}, "distractor_size"),
        (distort_cluttered, {"distractor_size": 40}, "distractor_size"),
        (distort_cluttered, {"canvas": -60}, "canvas"),
        (distort_cluttered, {"canvas": 20}, "canvas"),
        (distort_cluttered, {"strength": -0.1}, "strength"),
        (distort_cluttered, {"strength": 1.5}, "strength"),
        (distort_cluttered, {"strength": NAN}, "strength"),
        (distort_cluttered, {"strength": True}, "strength"),
        (distort_cluttered, {"strength": "1"}, "strength"),
        (distort_cluttered, {"sources": np.zeros((3, 1, 8, 8))}, "sources"),
        (distort_cluttered, {"sources": np.zeros((0, 1, 28, 28))}, "sources"),
    ],
)
def test_bad_numbers_name_the_argument(distort, kwargs, name):
    images = np.zeros((2, 1, 28, 28), dtype=np.float32)
    with pytest.raises(ValueError, match=name):
        distort(images, 0, **kwargs)


@pytest.mark.parametrize(
    "distort, kwargs, name",
    [
        (distort_rts, {"canvas": 2.5}, "canvas"),
        (distort_rts, {"canvas": (NAN, 42)}, "canvas"),
        (distort_e, {"grid_size": 2.5}, "grid_size"),
        (distort_cluttered, {"distractors": NAN}, "distractors"),
        (distort_cluttered, {"distractors": 1.5}, "distractors"),
        (distort_cluttered, {"distractor_size": True}, "distractor_size"),
        (distort_r, {"max_angle": "90"}, "max_angle"),
    ],
)
def test_non_integers_and_non_numbers_name_the_argument(distort, kwargs, name):
    images = np.zeros((2, 1, 28, 28), dtype=np.float32)
    with pytest.raises(TypeError, match=name):
        distort(images, 0, **kwargs)


@pytest.mark.parametrize(
    "distort", [distort_r, distort_rts, distort_p, distort_e, distort_cluttered]
)
def test_bad_seeds_and_empty_images(distort):
    images = np.zeros((2, 1, 28, 28), dtype=np.float32)
    with pytest.raises(ValueError, match="rng"):
        distort(images, -1)
    with pytest.raises(TypeError, match="rng"):
        distort(images, True)
    with pytest.raises(ValueError, match="images"):
        distort(np.zeros((2, 1, 0, 28), dtype=np.float32), 0)
