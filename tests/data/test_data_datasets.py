"""The distorted-digit datasets: shapes, ranges, determinism and the train/test split."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from warpkit.data import (  # noqa: E402
    DATASETS,
    DigitDataset,
    ImageDataset,
    dataset_name,
    load_digits,
    make_dataset,
    stratified_split,
)
from warpkit.data import datasets as datasets_module  # noqa: E402
from warpkit.data import distortions  # noqa: E402

NATIVE = {"R": (28, 28), "RTS": (42, 42), "P": (28, 28), "E": (28, 28), "cluttered": (60, 60)}


@pytest.fixture(scope="module")
def built():
    return {name: make_dataset(name, seed=3) for name in DATASETS}


def test_dataset_names():
    assert DATASETS == ("R", "RTS", "P", "E", "cluttered")


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
    assert data.x_train.shape == (1347, 1) + NATIVE[name]
    assert data.x_test.shape == (450, 1) + NATIVE[name]
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert np.isfinite(x).all()
        assert set(np.unique(y)) == set(range(10))
        # Every image still shows a digit.
        assert (x.reshape(len(x), -1).max(axis=1) > 0.3).all()


@pytest.mark.parametrize("size, expected", [(32, (32, 32)), ((20, 24), (20, 24))])
def test_image_size(size, expected):
    data = make_dataset("cluttered", seed=0, image_size=size)
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


def test_make_dataset_takes_any_letter_case(built):
    data = make_dataset("rts", seed=3)
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
def test_deterministic_from_seed(built, name):
    again = make_dataset(name, seed=3)
    other = make_dataset(name, seed=4)
    first = built[name]
    for attribute in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(first, attribute), getattr(again, attribute))
    assert not np.array_equal(first.x_train, other.x_train)
    assert not np.array_equal(first.x_test, other.x_test)
    # Labels and the split do not depend on the seed.
    assert np.array_equal(first.y_test, other.y_test)


@pytest.mark.parametrize("name", ["RTS", "E"])
def test_resample_train(built, name):
    data = built[name]
    x0, y0 = data.resample_train(0)
    x1, y1 = data.resample_train(1)
    x1_again, _ = make_dataset(name, seed=3).resample_train(1)
    assert np.array_equal(x0, data.x_train)
    assert np.array_equal(x1, x1_again)
    assert not np.array_equal(x1, x0)
    assert np.array_equal(y0, data.y_train) and np.array_equal(y1, data.y_train)
    assert x1.shape == data.x_train.shape and x1.dtype == np.float32
    with pytest.raises(ValueError, match="epoch"):
        data.resample_train(-1)
    with pytest.raises(TypeError, match="epoch"):
        data.resample_train(1.5)


def test_split_is_by_source_and_shared(built):
    _, labels = load_digits()
    first = built["R"]
    train, test = first.train_index, first.test_index
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.union1d(train, test), np.arange(1797))
    for data in list(built.values()) + [make_dataset("P", seed=11)]:
        assert np.array_equal(data.train_index, train)
        assert np.array_equal(data.test_index, test)
        assert np.array_equal(data.y_train, labels[train])
        assert np.array_equal(data.y_test, labels[test])


def test_split_is_stratified():
    _, labels = load_digits()
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
    sources, _ = load_digits()
    assert np.array_equal(data.x_test, sources[data.test_index])
    assert np.array_equal(data.x_train, sources[data.train_index])
    train_rows = {row.tobytes() for row in data.x_train.reshape(len(data.x_train), -1)}
    assert not any(row.tobytes() in train_rows for row in data.x_test.reshape(len(data.x_test), -1))


def test_clutter_comes_from_the_same_split(monkeypatch):
    seen = []
    original = distortions.distort_cluttered

    def recording(images, rng, **kwargs):
        seen.append(np.array(images))
        return original(images, rng, **kwargs)

    monkeypatch.setattr(distortions, "distort_cluttered", recording)
    data = make_dataset("cluttered", seed=0)
    sources, _ = load_digits()
    assert len(seen) == 2  # the test set, then the epoch-0 training set
    assert np.array_equal(seen[0], sources[data.test_index])
    assert np.array_equal(seen[1], sources[data.train_index])


def test_bad_split_arguments():
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split([0, 1], test_fraction=1.5)
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split([0, 1], test_fraction=float("nan"))
    with pytest.raises(ValueError, match="labels"):
        stratified_split(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="seed"):
        stratified_split([0, 1], seed=-1)
