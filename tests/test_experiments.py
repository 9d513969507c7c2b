import json
import os

import pytest

from warpkit import experiments

pytest.importorskip("sklearn")


@pytest.mark.parametrize("model", ["fcn", "st-fcn"])
def test_every_run_folder_holds_the_same_files(model, tmp_path):
    metrics = experiments.train_one("R", model, epochs=1, limit=16, progress=False,
                                    out=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(experiments.RUN_FILES)
    assert json.loads((tmp_path / "metrics.json").read_text())["model"] == metrics["model"]


def test_run_table_keeps_the_order_of_the_jobs():
    jobs = [dict(dataset="E", model=model, epochs=1, seed=seed, limit=16, picture=False)
            for model in ("fcn", "st-fcn") for seed in (1, 0)]
    results = experiments.run_table(jobs, workers=1, threads=1, progress=False)
    assert [(r["model"], r["seed"]) for r in results] == [("fcn", 1), ("fcn", 0),
                                                          ("st-fcn", 1), ("st-fcn", 0)]


def test_write_table_files(tmp_path):
    rows = [{"dataset": "R", "model": "cnn", "seed": s, "test_error": e, "history": []}
            for s, e in [(0, 0.10), (1, 0.12)]]
    table = experiments.format_table(rows, ["R"], ["cnn"], [0, 1], 5)
    experiments.write_table_files(str(tmp_path), table, rows, datasets=["R"], models=["cnn"],
                                  seeds=[0, 1], epochs=5, seconds=1.0)
    assert sorted(os.listdir(tmp_path)) == sorted(experiments.TABLE_FILES)
    assert (tmp_path / "table.md").read_text() == table + "\n"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["seeds"] == [0, 1] and all("history" not in run for run in saved["runs"])


def test_make_classifier_checks_the_image_size():
    assert experiments.make_classifier("st-cnn", (28, 28), st_size=16).classifier_input == (
        1, 16, 16)
    with pytest.raises(ValueError, match=r"at least 16x16, got 14x14"):
        experiments.make_classifier("st-cnn", (28, 28), st_pool=2)
    with pytest.raises(ValueError, match="unknown transform"):
        experiments.make_classifier("st-cnn", (28, 28), transform="similarity")


def test_train_one_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        experiments.train_one("R", "cnn", epochs=0, progress=False)
    with pytest.raises(ValueError, match="unknown dataset"):
        experiments.train_one("MNIST", "cnn", epochs=1, progress=False)
