"""The MNIST-addition experiment: its models, its files and its table."""

import json
import os

import numpy as np
import pytest

from warpkit import addition

pytest.importorskip("matplotlib")

#: Stand-in digits (the plumbing needs no real ones): 4 random 12x12 blobs per class.
DIGITS = (np.random.default_rng(0).random((40, 1, 12, 12)).astype(np.float32),
          np.arange(40) % 10)


def test_run_addition_writes_its_files(tmp_path):
    result = addition.run_addition(("cnn", "st-cnn-multi"), seeds=(0,), epochs=1,
                                   train_size=16, test_size=8, progress=False,
                                   out=str(tmp_path), source=DIGITS)
    assert sorted(os.listdir(tmp_path)) == sorted(
        list(addition.TABLE_FILES) + ["cnn-seed0", "st-cnn-multi-seed0"])
    for run in ("cnn-seed0", "st-cnn-multi-seed0"):
        assert sorted(os.listdir(tmp_path / run)) == sorted(addition.RUN_FILES)
    assert (tmp_path / "table.md").read_text() == result["table"] + "\n"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["model"] for r in saved["runs"]] == ["cnn", "st-cnn-multi"]
    assert all("history" not in r for r in saved["runs"])
    multi = result["runs"][1]
    assert multi["transformers"] == 2 and multi["n_train"] == 16 and multi["n_test"] == 8
    assert "| ST-CNN-MULTI |" in result["table"] and "(custom digits" in result["table"]


def test_both_models_of_a_seed_see_the_same_data():
    result = addition.run_addition(("fcn", "st-fcn"), seeds=(3,), epochs=1, train_size=8,
                                   test_size=4, progress=False, picture=False,
                                   source=DIGITS)
    assert [r["data_seed"] for r in result["runs"]] == [3, 3]


@pytest.mark.parametrize("name, channels, transformers", [
    ("fcn", 2, 0), ("cnn", 2, 0), ("st-fcn", 2, 1), ("st-cnn", 2, 1),
    ("st-fcn-multi", 4, 2), ("st-cnn-multi", 4, 2)])
def test_every_model_reads_two_channel_canvases(name, channels, transformers):
    net = addition.make_addition_model(name, keep="all")
    assert net.input_shape == (2, 42, 42) and net.classifier_input[0] == channels
    assert len(addition._transformers_of(net)) == transformers


def test_by_default_each_transformer_passes_on_its_own_channel():
    net = addition.make_addition_model("st-cnn-multi", (30, 30), st_size=20)
    assert net.keep == "own" and net.classifier_input == (2, 20, 20)


def test_format_addition_table_puts_the_paper_beside():
    rows = [{"model": m, "test_error": e, "parameters": 12345}
            for m, e in [("fcn", 0.5), ("st-fcn-multi", 0.1), ("st-fcn-multi", 0.2)]]
    table = addition.format_addition_table(rows, ["fcn", "st-fcn-multi", "st-cnn"], [0, 1], 3)
    lines = table.splitlines()
    assert lines[2] == "| FCN | 12 345 | 50.0 ± 0.0 | FCN: 47.7 |"
    assert lines[3] == "| ST-FCN-MULTI | 12 345 | 15.0 ± 7.1 | 2×ST-FCN: 5.8 |"
    assert lines[4] == "| ST-CNN | – | – | ST-FCN: 18.5 |"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown model 'mlp'; valid models: fcn, cnn"):
        addition.make_addition_model("mlp")
    with pytest.raises(ValueError, match=r"unknown models \['mlp'\]"):
        addition.run_addition(["mlp"], progress=False)
    with pytest.raises(ValueError, match="at least one model and one seed"):
        addition.run_addition([], progress=False)
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        addition.train_addition("cnn", epochs=0, progress=False)
