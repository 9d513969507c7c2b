import numpy as np
import pytest

from warpkit import nn


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    x = (centres[y] + rng.normal(scale=0.6, size=(n, 2))).astype(np.float32)
    return x, y


def mlp():
    def apply(p, x, rng=None):
        h = nn.dropout(nn.relu(nn.dense(p[0], x)), 0.1, rng)
        return nn.dense(p[1], h)

    def init(seed):
        rng = np.random.default_rng(seed)
        return [nn.init.dense_params(rng, 2, 16), nn.init.dense_params(rng, 16, 3)]
    return apply, init


def test_fit_learns_and_reports_metrics():
    apply, init = mlp()
    x, y = blobs()
    xt, yt = blobs(60, seed=1)
    result = nn.fit(apply, init(0), (x, y), epochs=15, batch_size=16, optimizer=nn.Adam(0.02),
                    validation=(xt, yt), progress=False)
    last = result.history[-1]
    assert set(last) >= {"epoch", "loss", "train_error", "test_error", "test_loss", "seconds"}
    assert last["epoch"] == 15 and last["test_error"] < 0.1
    assert result.history[0]["loss"] > last["loss"]


def test_fit_is_deterministic_for_a_seed():
    apply, init = mlp()
    x, y = blobs()
    runs = [nn.fit(apply, init(0), (x, y), epochs=3, batch_size=16, seed=7, progress=False)
            for _ in range(2)]
    for a, b in zip(nn.tree_leaves(runs[0].params), nn.tree_leaves(runs[1].params)):
        np.testing.assert_array_equal(a, b)
    other = nn.fit(apply, init(0), (x, y), epochs=3, batch_size=16, seed=8, progress=False)
    assert not np.array_equal(other.params[0]["w"], runs[0].params[0]["w"])


def test_training_data_may_be_redrawn_each_epoch():
    apply, init = mlp()
    seen = []

    def train(epoch):
        seen.append(epoch)
        return blobs(seed=epoch)

    nn.fit(apply, init(0), train, epochs=3, progress=False)
    assert seen == [0, 1, 2]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    apply, init = mlp()
    x, y = blobs()
    path = tmp_path / "ckpt.npz"
    calls = []

    def train(epoch):
        calls.append(epoch)
        if epoch == 2:
            bad = x.copy()
            bad[0, 0] = np.nan
            return bad, y
        return x, y

    good = []
    with pytest.raises(nn.NonFiniteLossError, match=r"loss became nan at epoch 3") as info:
        nn.fit(apply, init(0), train, epochs=5, batch_size=len(x), progress=False,
               checkpoint_path=str(path), on_epoch=lambda m, p: good.append(p))
    assert len(info.value.history) == 2
    saved = nn.load_checkpoint(path, like=init(0))
    for a, b, c in zip(nn.tree_leaves(saved), nn.tree_leaves(good[-1]),
                       nn.tree_leaves(info.value.params)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        assert np.all(np.isfinite(a))


def test_evaluate_and_bad_arguments():
    apply, init = mlp()
    x, y = blobs()
    metrics = nn.evaluate(apply, init(0), x, y)
    assert 0.0 <= metrics["error"] <= 1.0 and metrics["loss"] > 0
    with pytest.raises(ValueError, match="differ in length"):
        nn.fit(apply, init(0), (x, y[:-1]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        nn.fit(apply, init(0), (x, y), epochs=1, batch_size=0, progress=False)


def test_predict_refuses_empty_input_and_bad_batch_sizes():
    apply = lambda p, x, rng=None: x  # noqa: E731
    with pytest.raises(ValueError, match="predict: x holds no examples"):
        nn.predict(apply, None, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="predict: x holds no examples"):
        nn.evaluate(apply, None, np.zeros((0, 2)), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        nn.predict(apply, None, np.ones((3, 2)), batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        nn.predict(apply, None, np.ones((3, 2)), batch_size=1.5)
    assert nn.predict(apply, None, np.ones((3, 2)), batch_size=2).shape == (3, 2)


def test_on_batch_reports_every_batch_of_every_epoch():
    apply, init = mlp()
    x, y = blobs()  # 120 examples: 8 batches of 16 per epoch
    reports = []
    nn.fit(apply, init(0), (x, y), epochs=3, batch_size=16, progress=False,
           on_batch=lambda done, total: reports.append((done, total)))
    assert reports == [(done, 24) for done in range(1, 25)]


def test_on_batch_total_follows_the_size_of_each_epochs_set():
    apply, init = mlp()
    x, y = blobs()
    sizes = {0: 32, 1: 48}  # 2, then 3 batches of 16
    reports = []
    nn.fit(apply, init(0), lambda epoch: (x[:sizes[epoch]], y[:sizes[epoch]]), epochs=2,
           batch_size=16, progress=False,
           on_batch=lambda done, total: reports.append((done, total)))
    assert reports == [(1, 4), (2, 4), (3, 5), (4, 5), (5, 5)]


def test_progress_bar_counts_batches_and_shows_the_epoch_and_errors(capsys):
    pytest.importorskip("tqdm")
    apply, init = mlp()
    x, y = blobs()
    nn.fit(apply, init(0), (x, y), epochs=2, batch_size=40, validation=blobs(30, seed=1),
           progress=True)
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()
    assert "6/6" in bar[-1] and "batch" in bar[-1]
    assert "epoch 2/2" in bar[-1] and "train err" in bar[-1] and "test err" in bar[-1]
    assert any("3/6" in line and "epoch 1/2" in line for line in bar), bar  # mid-run
