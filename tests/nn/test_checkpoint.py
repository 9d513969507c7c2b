import numpy as np
import pytest

from warpkit import nn


@pytest.fixture
def params():
    rng = np.random.default_rng(0)
    return {"st": {"loc": [nn.init.conv_params(rng, 1, 2, 3)], "out": {"w": np.zeros((2, 6))}},
            "net": [nn.init.dense_params(rng, 4, 3), nn.init.dense_params(rng, 3, 2)]}


def test_round_trip_keeps_structure_values_and_metadata(tmp_path, params):
    path = tmp_path / "model.npz"
    nn.save_checkpoint(path, params, {"epoch": 3})
    loaded, meta = nn.load_checkpoint(path, return_metadata=True)
    assert meta == {"epoch": 3}
    assert isinstance(loaded["net"], list) and isinstance(loaded["st"]["loc"][0], dict)
    for a, b in zip(nn.tree_leaves(loaded), nn.tree_leaves(params)):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    into = nn.load_checkpoint(path, like=params)
    for a, b in zip(nn.tree_leaves(into), nn.tree_leaves(params)):
        np.testing.assert_array_equal(a, b)


def test_mismatched_shapes_name_the_key(tmp_path, params):
    path = tmp_path / "model.npz"
    nn.save_checkpoint(path, params)
    other = nn.tree_map(lambda a: a, params)
    other["net"][1] = nn.init.dense_params(np.random.default_rng(1), 3, 5)
    with pytest.raises(ValueError, match=r"'net/1/w' has shape \(3, 2\) in the checkpoint but "
                                         r"\(3, 5\) in the model"):
        nn.load_checkpoint(path, like=other)


def test_missing_and_extra_keys_are_errors(tmp_path, params):
    path = tmp_path / "model.npz"
    nn.save_checkpoint(path, params)
    bigger = dict(params, extra={"w": np.zeros(2)})
    with pytest.raises(ValueError, match=r"missing keys \['extra/w'\]"):
        nn.load_checkpoint(path, like=bigger)
    smaller = {"net": params["net"]}
    with pytest.raises(ValueError, match=r"unexpected keys \[.*'st/out/w'\]"):
        nn.load_checkpoint(path, like=smaller)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        nn.load_checkpoint(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable"):
        nn.load_checkpoint(junk)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(2))
    with pytest.raises(ValueError, match="not a warpkit checkpoint"):
        nn.load_checkpoint(plain)
    with pytest.raises(ValueError, match="parameter names"):
        nn.save_checkpoint(tmp_path / "bad.npz", {"a/b": np.zeros(1)})
