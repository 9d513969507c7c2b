import json
import subprocess
import sys

import numpy as np
import pytest

from warpkit import cli

pytest.importorskip("sklearn")


def test_train_tiny_run_writes_metrics_and_picture(tmp_path, capsys):
    out = tmp_path / "run"
    status = cli.main(["train", "--dataset", "R", "--model", "st-cnn", "--epochs", "1",
                       "--limit", "64", "--seed", "3", "--out", str(out), "--json", "--quiet"])
    assert status == 0
    stdout = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(stdout[-1])
    assert "test error" in stdout[0]
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("dataset", "model", "transform", "epochs", "seed", "train_error", "test_error",
                "seconds"):
        assert key in saved and saved[key] == summary[key]
    assert (saved["dataset"], saved["model"], saved["transform"], saved["epochs"],
            saved["seed"]) == ("R", "st-cnn", "affine", 1, 3)
    assert 0.0 <= saved["test_error"] <= 1.0 and saved["n_train"] == 64
    assert (out / "transformer.png").stat().st_size > 0
    assert (out / "params.npz").exists()


def test_train_is_deterministic_for_a_seed(capsys):
    runs = []
    for _ in range(2):
        cli.main(["train", "--dataset", "E", "--model", "cnn", "--epochs", "1", "--limit", "48",
                  "--json", "--quiet"])
        runs.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert runs[0]["test_error"] == runs[1]["test_error"]
    assert runs[0]["train_error"] == runs[1]["train_error"]


@pytest.mark.parametrize("flag, value, valid", [
    ("--dataset", "MNIST", "R, RTS, P, E, cluttered"),
    ("--model", "resnet", "fcn, cnn, st-fcn, st-cnn"),
    ("--transform", "similarity", "affine, projective, tps"),
])
def test_unknown_names_list_the_valid_ones(flag, value, valid, capsys):
    assert cli.main(["train", flag, value, "--epochs", "1", "--limit", "8", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert value in error and valid in error


def test_table_prints_markdown_and_writes_plot(tmp_path, capsys):
    status = cli.main(["table", "--datasets", "R", "--models", "fcn,st-fcn", "--seeds", "0,1",
                       "--epochs", "1", "--limit", "32", "--out", str(tmp_path), "--quiet"])
    assert status == 0
    stdout = capsys.readouterr().out
    assert "| model | R |" in stdout
    assert "| FCN |" in stdout and "| ST-FCN (affine) |" in stdout
    assert "2 seeds (0, 1), 1 epochs each" in stdout
    assert (tmp_path / "table.png").exists() and (tmp_path / "table.md").exists()
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["runs"]) == 4


def test_warp_writes_an_image_and_rejects_unreadable_files(tmp_path, capsys):
    image_module = pytest.importorskip("PIL.Image")
    source = tmp_path / "in.png"
    pixels = np.zeros((16, 16), np.uint8)
    pixels[4:12, 6:10] = 255
    image_module.fromarray(pixels).save(source)
    target = tmp_path / "out.png"
    assert cli.main(["warp", str(source), str(target), "--rotate", "90"]) == 0
    warped = np.asarray(image_module.open(target))
    assert warped.shape == (16, 16) and warped[7, 5] > 200 and warped[4, 7] < 50
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    capsys.readouterr()
    assert cli.main(["warp", str(bad), str(tmp_path / "x.png")]) == 2
    assert "bad.png" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["train"], ["table"], ["warp"]])
def test_help_on_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(command + ["--help"])
    assert info.value.code == 0
    assert "usage: warpkit" in capsys.readouterr().out


def test_module_runs_as_a_script():
    result = subprocess.run([sys.executable, "-m", "warpkit.cli", "train", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--dataset" in result.stdout and "--limit" in result.stdout


@pytest.mark.parametrize("transform", ["projective", "tps", "attention"])
def test_train_other_transforms(transform, capsys):
    assert cli.main(["train", "--dataset", "P", "--model", "st-fcn", "--transform", transform,
                     "--epochs", "1", "--limit", "32", "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["transform"] == transform and 0.0 <= summary["test_error"] <= 1.0
