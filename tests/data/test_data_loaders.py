"""MNIST and GTSRB loaders on tiny files written by the tests."""

import gzip
import os
import struct

import numpy as np
import pytest

from warpkit.data import ImageDataset, load_gtsrb, load_mnist
from warpkit.data.loaders import read_idx

Image = pytest.importorskip("PIL.Image")


def idx_bytes(array, code=0x08):
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, compress, rng, dotted=False):
    arrays = {
        "train-images": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "train-labels": rng.integers(0, 10, size=5, dtype=np.uint8),
        "t10k-images": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "t10k-labels": rng.integers(0, 10, size=3, dtype=np.uint8),
    }
    for prefix, array in arrays.items():
        ndim = array.ndim
        name = f"{prefix}.idx{ndim}-ubyte" if dotted else f"{prefix}-idx{ndim}-ubyte"
        data = idx_bytes(array)
        if compress:
            name += ".gz"
            data = gzip.compress(data)
        (folder / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("compress, dotted", [(False, False), (True, False), (True, True)])
def test_mnist_idx(tmp_path, compress, dotted):
    arrays = write_mnist(tmp_path, compress, np.random.default_rng(0), dotted)
    data = load_mnist(tmp_path)
    assert isinstance(data, ImageDataset) and data.name == "mnist" and data.num_classes == 10
    assert data.x_train.shape == (5, 1, 28, 28) and data.x_test.shape == (3, 1, 28, 28)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_allclose(data.x_train[:, 0], arrays["train-images"] / 255.0, rtol=1e-6)
    np.testing.assert_allclose(data.x_test[:, 0], arrays["t10k-images"] / 255.0, rtol=1e-6)
    assert np.array_equal(data.y_train, arrays["train-labels"])
    assert np.array_equal(data.y_test, arrays["t10k-labels"])
    assert data.resample_train(3)[0] is data.x_train


def test_read_idx_other_dtypes(tmp_path):
    values = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    path = tmp_path / "floats-idx2"
    path.write_bytes(idx_bytes(values, code=0x0D))
    out = read_idx(path)
    assert out.dtype == np.float32 and out.dtype.isnative
    assert np.array_equal(out, values)
    shorts = np.array([-300, 5, 1000], dtype=np.int16)
    path.write_bytes(idx_bytes(shorts, code=0x0B))
    assert np.array_equal(read_idx(path), shorts)


def test_mnist_npz(tmp_path):
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        x_train=x_train,
        y_train=np.array([0, 1, 2, 9]),
        x_test=x_test,
        y_test=np.array([3, 4]),
    )
    data = load_mnist(path)
    np.testing.assert_allclose(data.x_train[:, 0], x_train / 255.0, rtol=1e-6)
    np.testing.assert_allclose(data.x_test[:, 0], x_test / 255.0, rtol=1e-6)
    assert data.y_train.tolist() == [0, 1, 2, 9] and data.y_test.tolist() == [3, 4]


def test_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_mnist(tmp_path / "nowhere")
    # A directory missing one file names it.
    write_mnist(tmp_path, False, np.random.default_rng(0))
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    # Bad magic number, truncated data, damaged gzip: the path is named.
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    bad.write_bytes(b"\x08\x00\x00\x01" + bytes(7))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.*not an IDX file"):
        load_mnist(tmp_path)
    bad.write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8))[:-1])
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.*needs 3"):
        read_idx(bad)
    bad.write_bytes(gzip.compress(idx_bytes(np.zeros(3, dtype=np.uint8)))[:-6])
    with pytest.raises(ValueError, match="damaged gzip"):
        read_idx(bad)
    # Labels that do not match the images.
    bad.write_bytes(idx_bytes(np.zeros(2, dtype=np.uint8)))
    with pytest.raises(ValueError, match="y_test.*3 integer labels"):
        load_mnist(tmp_path)


def test_mnist_npz_errors(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, images=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="lacks x_train, y_train, x_test, y_test; it has images"):
        load_mnist(path)
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="mnist.npz.*neither a directory of IDX files nor a .npz"):
        load_mnist(path)
    np.savez(
        path,
        x_train=np.zeros((2, 28, 28)),
        y_train=np.array([0, 12]),
        x_test=np.zeros((1, 28, 28)),
        y_test=np.array([0]),
    )
    with pytest.raises(ValueError, match="0..9"):
        load_mnist(path)
    np.savez(
        path,
        x_train=np.zeros((2, 28, 28)),
        y_train=np.array([0, 1]),
        x_test=np.zeros((1, 20, 20)),
        y_test=np.array([0]),
    )
    with pytest.raises(ValueError, match="differ in size"):
        load_mnist(path)


HEADER = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"


def write_sign(folder, name, size, roi, inside, outside=(0, 0, 255)):
    """A (width, height) image of colour ``outside`` with ``inside`` filling the ROI (inclusive)."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:] = outside
    x1, y1, x2, y2 = roi
    pixels[y1 : y2 + 1, x1 : x2 + 1] = inside
    Image.fromarray(pixels).save(folder / name)


def write_gtsrb(root):
    for class_id, colour in ((0, (255, 0, 0)), (14, (0, 255, 0))):
        folder = root / f"{class_id:05d}"
        folder.mkdir()
        lines = [HEADER]
        for k, (size, roi) in enumerate([((40, 30), (5, 4, 34, 25)), ((25, 33), (2, 3, 22, 30))]):
            name = f"00000_{k:05d}.ppm"
            write_sign(folder, name, size, roi, colour)
            lines.append(f"{name};{size[0]};{size[1]};{';'.join(map(str, roi))};{class_id}\n")
        (folder / f"GT-{class_id:05d}.csv").write_text("".join(lines))


def test_gtsrb(tmp_path):
    write_gtsrb(tmp_path)
    images, labels = load_gtsrb(tmp_path, image_size=(12, 10))
    assert images.shape == (4, 3, 12, 10) and images.dtype == np.float32
    assert labels.tolist() == [0, 0, 14, 14] and labels.dtype == np.int64
    # Cropped to the ROI exactly: only the sign's colour remains, no blue border.
    np.testing.assert_allclose(
        images[:2], np.broadcast_to(np.array([1.0, 0, 0])[:, None, None], (2, 3, 12, 10))
    )
    np.testing.assert_allclose(
        images[2:], np.broadcast_to(np.array([0, 1.0, 0])[:, None, None], (2, 3, 12, 10))
    )
    square, _ = load_gtsrb(tmp_path / "00014", image_size=8)
    assert square.shape == (2, 3, 8, 8)


def test_gtsrb_test_folder_layout(tmp_path):
    # The test set: one folder, one GT-final_test.csv, a ROI touching the border.
    write_sign(tmp_path, "00000.ppm", (20, 20), (0, 0, 19, 19), (255, 255, 255))
    (tmp_path / "GT-final_test.csv").write_text(HEADER + "00000.ppm;20;20;0;0;19;19;42\n\n")
    images, labels = load_gtsrb(tmp_path, image_size=4)
    assert labels.tolist() == [42] and np.allclose(images, 1.0)


def test_gtsrb_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        load_gtsrb(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no \\*.csv"):
        load_gtsrb(tmp_path)
    write_gtsrb(tmp_path)
    csv_path = tmp_path / "00000" / "GT-00000.csv"
    good = csv_path.read_text()
    csv_path.write_text(good.replace("ClassId", "Label"))
    with pytest.raises(ValueError, match="GT-00000.csv.*ClassId"):
        load_gtsrb(tmp_path)
    csv_path.write_text(good.replace(";5;4;34;25;", ";5;four;34;25;"))
    with pytest.raises(ValueError, match="GT-00000.csv.*line 2"):
        load_gtsrb(tmp_path)
    csv_path.write_text(good.replace(";5;4;34;25;", ";34;4;5;25;"))
    with pytest.raises(ValueError, match="line 2.*invalid ROI"):
        load_gtsrb(tmp_path)
    csv_path.write_text(good.replace("00000_00000.ppm", "gone.ppm"))
    with pytest.raises(FileNotFoundError, match="gone.ppm.*GT-00000.csv"):
        load_gtsrb(tmp_path)
    csv_path.write_text(good)
    (tmp_path / "00000" / "00000_00000.ppm").write_bytes(b"garbage, not an image")
    with pytest.raises(ValueError, match="cannot read image file.*00000_00000.ppm"):
        load_gtsrb(tmp_path)
    csv_path.write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_gtsrb(tmp_path)
    with pytest.raises(ValueError, match="image_size"):
        load_gtsrb(tmp_path, image_size=(0, 3))
