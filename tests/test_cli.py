import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import warpkit
from warpkit import _validate, addition, cli, data, experiments, nn

pytest.importorskip("sklearn")
pytest.importorskip("mlxtend")


def usage_error(argv, capsys):
    """Run the command; it must fail with one line on stderr and exit status 2."""
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


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
    assert sorted(os.listdir(out)) == sorted(experiments.RUN_FILES)
    assert (out / "transformer.png").stat().st_size > 0


def test_train_is_deterministic_for_a_seed(capsys):
    runs = []
    for _ in range(2):
        cli.main(["train", "--dataset", "E", "--model", "cnn", "--epochs", "1", "--limit", "48",
                  "--json", "--quiet"])
        runs.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert runs[0]["test_error"] == runs[1]["test_error"]
    assert runs[0]["train_error"] == runs[1]["train_error"]


@pytest.mark.parametrize("flag, value, valid", [
    ("--dataset", "MNIST", data.DATASETS),
    ("--model", "resnet", nn.MODELS),
    ("--transform", "similarity", nn.TRANSFORMS),
])
def test_unknown_names_list_the_valid_ones(flag, value, valid, capsys):
    error = usage_error(["train", flag, value, "--epochs", "1", "--limit", "8", "--quiet"],
                        capsys)
    assert f"argument {flag}" in error and value in error
    assert all(name in error for name in valid)


def test_valid_names_come_from_the_registries(monkeypatch):
    monkeypatch.setattr(data, "dataset_name", lambda text: f"set-{text}")
    monkeypatch.setattr(nn, "MODELS", ("fcn", "new-model"))
    monkeypatch.setattr(nn, "TRANSFORMS", ("affine", "new-family"))
    monkeypatch.setattr(_validate, "MODES", {"bilinear": 0, "new-mode": 9})
    monkeypatch.setattr(_validate, "PADDING_MODES", {"zeros": 0, "new-padding": 9})
    parser = cli.build_parser()
    args = parser.parse_args(["table", "--datasets", "x", "--models", "new-model",
                              "--transforms", "new-family"])
    assert (args.datasets, args.models, args.transforms) == (("set-x",), ("new-model",),
                                                             ("new-family",))
    args = parser.parse_args(["warp", "a.png", "b.png", "--mode", "new-mode", "--padding-mode",
                              "new-padding"])
    assert (args.mode, args.padding_mode) == ("new-mode", "new-padding")
    with pytest.raises(cli.UsageError, match="valid transforms: affine, new-family"):
        parser.parse_args(["train", "--transform", "perspective"])


@pytest.mark.parametrize("argv, expected", [
    (["train", "--dataset", "rts"], ("RTS", "st-cnn", "affine")),
    (["train", "--dataset", "CLUTTERED", "--model", "ST-FCN", "--transform", "TPS"],
     ("cluttered", "st-fcn", "tps")),
])
def test_names_are_case_insensitive(argv, expected):
    args = cli.build_parser().parse_args(argv)
    assert (args.dataset, args.model, args.transform) == expected


def test_table_lists_are_case_insensitive():
    args = cli.build_parser().parse_args(["table", "--datasets", "r, Cluttered",
                                          "--models", "CNN", "--seeds", "4,0"])
    assert (args.datasets, args.models, args.seeds) == (("R", "cluttered"), ("cnn",), (4, 0))


@pytest.mark.parametrize("argv, option, expected", [
    (["train", "--batch-size", "0"], "--batch-size", "an integer >= 1"),
    (["train", "--batch-size", "-5"], "--batch-size", "an integer >= 1"),
    (["train", "--st-pool", "0"], "--st-pool", "'auto' or an integer >= 1"),
    (["train", "--st-pool", "x"], "--st-pool", "'auto' or an integer >= 1"),
    (["train", "--image-size", "3"], "--image-size", "at least 16x16, got 3x3"),
    (["train", "--st-size", "2"], "--st-size", "at least 16x16, got 2x2"),
    (["train", "--st-size", "0"], "--st-size", "an integer >= 1"),
    (["train", "--dataset", "R", "--st-pool", "2"], "--st-pool", "at least 16x16, got 14x14"),
    (["train", "--model", "st-fcn", "--st-pool", "50"], "--st-pool", "at least 1x1, got 0x0"),
    (["train", "--model", "cnn", "--image-size", "15"], "--image-size",
     "at least 16x16, got 15x15"),
    (["train", "--seed", "-1"], "--seed", "an integer >= 0"),
    (["train", "--weight-decay", "-1"], "--weight-decay", "a finite number >= 0"),
    (["train", "--lr", "-1"], "--lr", "a finite number > 0"),
    (["train", "--lr", "nan"], "--lr", "a finite number > 0"),
    (["train", "--lr", "inf"], "--lr", "a finite number > 0"),
    (["train", "--loc-lr-scale", "-1"], "--loc-lr-scale", "a finite number >= 0"),
    (["train", "--threads", "0"], "--threads", "an integer >= 1"),
    (["train", "--epochs", "0"], "--epochs", "an integer >= 1"),
    (["train", "--limit", "0"], "--limit", "an integer >= 1"),
    (["table", "--jobs", "0"], "--jobs", "an integer >= 1"),
    (["table", "--jobs", "-3"], "--jobs", "an integer >= 1"),
    (["table", "--seeds", "0,x"], "--seeds", "an integer >= 0"),
    (["table", "--datasets", ","], "--datasets", "comma-separated datasets"),
    (["table", "--quick", "--image-size", "10"], "--image-size", "at least 16x16"),
    (["warp", "a.png", "b.png", "--perspective", "5"], "--perspective", "a number in [0, 0.25)"),
    (["warp", "a.png", "b.png", "--translate", "1e300", "0"], "--translate",
     "a number in [-10, 10]"),
    (["warp", "a.png", "b.png", "--rotate", "nan"], "--rotate", "a finite number"),
    (["warp", "a.png", "b.png", "--scale", "0"], "--scale", "a number in [0.001, 1000]"),
    (["warp", "a.png", "b.png", "--shear", "90"], "--shear", "a number in (-90, 90)"),
    (["warp", "a.png", "b.png", "--tps-jitter", "10"], "--tps-jitter", "a number in [0, 1]"),
    (["warp", "a.png", "b.png", "--mode", "linear"], "--mode", "valid modes: bilinear"),
])
def test_bad_values_are_one_line_errors_naming_the_option(argv, option, expected, capsys):
    error = usage_error(argv, capsys)
    assert error.startswith(f"warpkit {argv[0]}: error: argument {option}: "), error
    assert expected in error


def test_out_must_be_a_writable_folder(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("")
    for out, expected in [(a_file, "is a file"), (a_file / "below", "cannot write in")]:
        for command in ("train", "table"):
            error = usage_error([command, "--out", str(out), "--quiet"], capsys)
            assert error.startswith(f"warpkit {command}: error: argument --out: ")
            assert expected in error and str(out) in error
    assert a_file.read_text() == ""


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs file permissions that apply (not root)")
def test_out_in_a_read_only_folder_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        error = usage_error(["train", "--out", str(locked / "run")], capsys)
    finally:
        locked.chmod(0o700)
    assert "argument --out: cannot write in" in error


def test_table_prints_markdown_and_writes_the_same_files_for_every_model(tmp_path, capsys):
    """Two worker processes: their batches reach the parent's one progress bar."""
    status = cli.main(["table", "--datasets", "R", "--models", "fcn,st-fcn", "--transforms",
                       "affine,tps", "--seeds", "0", "--epochs", "1", "--limit", "16",
                       "--batch-size", "8", "--jobs", "2", "--out", str(tmp_path)])
    assert status == 0
    captured = capsys.readouterr()
    stdout = captured.out
    assert "| model | R | R (paper) |" in stdout
    assert "| FCN | " in stdout and " | 2.1 |" in stdout
    assert "| ST-FCN (affine) | " in stdout and "| ST-FCN (tps) | " in stdout
    assert "1 seeds (0), 1 epochs each" in stdout
    bar = captured.err.replace("\r", "\n").strip().splitlines()
    assert "6/6" in bar[-1] and "3/3 runs" in bar[-1]  # 3 runs of 2 batches
    for name in experiments.TABLE_FILES:
        assert (tmp_path / name).stat().st_size > 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["runs"]) == 3 and results["transforms"] == ["affine", "tps"]
    runs = sorted(path for path in tmp_path.iterdir() if path.is_dir())
    assert [path.name for path in runs] == ["R-fcn-seed0", "R-st-fcn-affine-seed0",
                                            "R-st-fcn-tps-seed0"]
    for run in runs:
        assert sorted(os.listdir(run)) == sorted(experiments.RUN_FILES)


def fake_metrics(dataset="R", model="cnn", transform="affine", seed=0, **options):
    return {"dataset": dataset, "model": model, "seed": seed, "epochs": 1,
            "transform": transform if model.startswith("st-") else None,
            "train_error": 0.5, "test_error": 0.5, "seconds": 0.0, "image_size": [28, 28]}


def test_source_and_curriculum_reach_train_one(monkeypatch, tmp_path, capsys):
    calls = []

    def train_one(*args, **options):
        calls.append(options)
        return fake_metrics(*args[:3], seed=options["seed"])

    monkeypatch.setattr(experiments, "train_one", train_one)
    assert cli.main(["train", "--dataset", "cluttered", "--source", "SKLEARN",
                     "--curriculum", "4", "--quiet"]) == 0
    assert (calls[-1]["source"], calls[-1]["curriculum"]) == ("sklearn", 4)
    assert cli.main(["train", "--dataset", "R", "--source", str(tmp_path), "--quiet"]) == 0
    assert (calls[-1]["source"], calls[-1]["curriculum"]) == (str(tmp_path), None)
    assert cli.main(["train", "--quiet"]) == 0
    assert (calls[-1]["source"], calls[-1]["curriculum"]) == (None, None)


def test_table_passes_the_curriculum_to_the_cluttered_runs_only(monkeypatch, capsys):
    tables = []

    def run_table(jobs, **options):
        tables.append(jobs)
        return [fake_metrics(**job) for job in jobs]

    monkeypatch.setattr(experiments, "run_table", run_table)
    assert cli.main(["table", "--datasets", "R,cluttered", "--models", "cnn,st-cnn",
                     "--transforms", "affine,tps", "--seeds", "0", "--source", "mnist",
                     "--curriculum", "2", "--quiet"]) == 0
    jobs = tables[-1]
    assert [(job["dataset"], job["model"], job["transform"]) for job in jobs] == [
        ("R", "cnn", "affine"), ("R", "st-cnn", "affine"), ("R", "st-cnn", "tps"),
        ("cluttered", "cnn", "affine"), ("cluttered", "st-cnn", "affine"),
        ("cluttered", "st-cnn", "tps")]
    assert all(job["source"] == "mnist" for job in jobs)
    assert [job["curriculum"] for job in jobs] == [None] * 3 + [2] * 3
    stdout = capsys.readouterr().out
    assert "| ST-CNN (tps) | 50.0 ± 0.0 | 0.7 | 50.0 ± 0.0 | 1.7 |" in stdout


@pytest.mark.parametrize("argv, option, expected", [
    (["train", "--dataset", "R", "--curriculum", "2"], "--curriculum",
     "applies to the cluttered set only, got R"),
    (["table", "--datasets", "R,E", "--curriculum", "2"], "--curriculum",
     "applies to the cluttered set only, got R, E"),
    (["train", "--curriculum", "-1"], "--curriculum", "an integer >= 0"),
    (["train", "--source", "no/such/folder"], "--source",
     "expected one of mnist, sklearn or the path of an existing MNIST folder or .npz file, "
     "got 'no/such/folder'"),
    (["table", "--transforms", "affine,similarity"], "--transforms",
     "unknown transform 'similarity'; valid transforms: affine, perspective, tps, attention"),
    (["table", "--transforms", " , "], "--transforms", "expected comma-separated transforms"),
])
def test_bad_source_curriculum_and_transforms(argv, option, expected, capsys):
    error = usage_error(argv + ["--quiet"], capsys)
    assert error.startswith(f"warpkit {argv[0]}: error: argument {option}: "), error
    assert expected in error


def test_table_transforms_parse_as_a_list_in_any_case():
    parse = cli.build_parser().parse_args
    assert parse(["table", "--transforms", "AFFINE, tps,perspective"]).transforms == (
        "affine", "tps", "perspective")
    assert parse(["table", "--transform", "tps"]).transforms == ("tps",)  # an abbreviation


def test_table_quick_defaults():
    args = cli.build_parser().parse_args(["table", "--quick", "--epochs", "2"])
    settings = [cli._table_setting(args, name)
                for name in ("datasets", "models", "seeds", "epochs", "image_size")]
    quick = experiments.QUICK
    assert settings == [quick["datasets"], quick["models"], quick["seeds"], 2,
                        quick["image_size"]]
    assert cli._table_setting(args, "transforms") == ("affine",)
    args = cli.build_parser().parse_args(["table"])
    assert cli._table_setting(args, "datasets") == data.DATASETS
    assert cli._table_setting(args, "models") == nn.MODELS
    assert cli._table_setting(args, "transforms") == ("affine", "perspective", "tps")


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
    error = usage_error(["warp", str(bad), str(tmp_path / "x.png")], capsys)
    assert error.startswith("warpkit warp: error: ") and "bad.png" in error


def test_a_library_error_of_several_lines_prints_as_one(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise ValueError("the transform is not invertible:\n[[1, 0]\n [0, 0]]")

    monkeypatch.setattr(data, "warp_image_file", fail)
    error = usage_error(["warp", "a.png", "b.png"], capsys)
    assert error == "warpkit warp: error: the transform is not invertible: [[1, 0] [0, 0]]"


@pytest.mark.parametrize("degrees", [30.0, -75.0])
def test_warp_rotates_as_affine_transform(degrees, tmp_path, capsys):
    """``--rotate D`` turns the picture as ``AffineTransform(rotation=radians(D))`` does."""
    image_module = pytest.importorskip("PIL.Image")
    height, width = 12, 17
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = ((xx + 0.5) / width + 0.3 * (yy / height) ** 2).astype(np.float32)
    source, target = tmp_path / "in.tiff", tmp_path / "out.tiff"
    image_module.fromarray(pixels, mode="F").save(source)
    assert cli.main(["warp", str(source), str(target), "--rotate", str(degrees)]) == 0
    warped = np.asarray(image_module.open(target), dtype=np.float64)

    def expected(angle):
        centre = ((width - 1) / 2, (height - 1) / 2)
        forward = (warpkit.AffineTransform(translation=centre)
                   @ warpkit.AffineTransform(rotation=np.deg2rad(angle))
                   @ warpkit.AffineTransform(translation=(-centre[0], -centre[1])))
        theta = forward.inverse.to_normalized((height, width))
        return warpkit.warp_affine(pixels[None, None].astype(np.float64), theta[None])[0, 0]

    scale = np.abs(pixels).max()
    np.testing.assert_allclose(warped, expected(degrees), rtol=0, atol=1e-6 * scale)
    assert np.abs(warped - expected(-degrees)).max() > 0.1 * scale  # the direction matters


def test_warp_perspective_at_its_bound_keeps_the_picture(tmp_path, capsys):
    image_module = pytest.importorskip("PIL.Image")
    source, target = tmp_path / "in.png", tmp_path / "out.png"
    image_module.fromarray(np.full((20, 30), 200, np.uint8)).save(source)
    for seed in range(5):
        assert cli.main(["warp", str(source), str(target), "--perspective", "0.2499",
                         "--seed", str(seed)]) == 0
        warped = np.asarray(image_module.open(target))
        assert warped[8:12, 12:18].min() == 200  # the centre stays covered


@pytest.mark.parametrize("command", [[], ["train"], ["table"], ["warp"]])
def test_help_on_every_subcommand_shows_every_default(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(command + ["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: warpkit")
    options = re.split(r"\n  (?=-)", text.split("\noptions:\n", 1)[1])
    flags = {"-h, --help", "--version", "--quiet", "--json", "--fixed-train", "--quick"}
    for entry in options:
        entry = entry.strip()
        name = entry.split()[0].rstrip(",")
        if entry.startswith(tuple(flags)):
            continue
        assert "default" in entry, f"{name} shows no default:\n{entry}"


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"warpkit {warpkit.__version__}"


def test_python_dash_m_warpkit_runs_the_command():
    result = subprocess.run([sys.executable, "-m", "warpkit", "train", "--batch-size", "0"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == ("warpkit train: error: argument --batch-size: expected an "
                                     "integer >= 1, got '0'")
    result = subprocess.run([sys.executable, "-m", "warpkit", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"warpkit {warpkit.__version__}"


@pytest.mark.parametrize("transform", ["perspective", "tps", "attention"])
def test_train_other_transforms(transform, capsys):
    assert cli.main(["train", "--dataset", "P", "--model", "st-fcn", "--transform", transform,
                     "--epochs", "1", "--limit", "32", "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["transform"] == transform and 0.0 <= summary["test_error"] <= 1.0


@pytest.mark.parametrize("options, named", [
    (["--scale", "0.001"], "scale=0.001"),
    (["--translate", "10", "0"], "translate=(10.0, 0.0)"),
])
def test_warp_that_moves_the_image_out_of_the_frame_is_a_usage_error(
        options, named, tmp_path, capsys):
    image_module = pytest.importorskip("PIL.Image")
    source, target = tmp_path / "in.png", tmp_path / "out.png"
    image_module.fromarray(np.full((16, 16), 200, np.uint8)).save(source)
    error = usage_error(["warp", str(source), str(target), *options], capsys)
    assert error == (f"warpkit warp: error: with {named}, no output pixel reads from inside "
                     f"the input image (the output would show only padding)")
    assert not target.exists()


def test_addition_passes_its_options_on(monkeypatch, capsys):
    calls = []

    def run_addition(models, seeds, epochs, **options):
        calls.append(dict(options, models=models, seeds=seeds, epochs=epochs))
        return {"table": "| fake table |", "runs": [], "seconds": 0.0}

    monkeypatch.setattr(addition, "run_addition", run_addition)
    assert cli.main(["addition", "--models", "CNN,st-cnn-multi", "--seeds", "4,5", "--epochs",
                     "3", "--curriculum", "0", "--keep", "all", "--st-size", "20",
                     "--train-size", "64", "--quiet"]) == 0
    call = calls[-1]
    assert (list(call["models"]), list(call["seeds"]), call["epochs"]) == (
        ["cnn", "st-cnn-multi"], [4, 5], 3)
    assert (call["curriculum"], call["keep"], call["st_size"], call["train_size"]) == (
        0, "all", 20, 64)
    assert call["progress"] is False
    assert "| fake table |" in capsys.readouterr().out


@pytest.mark.parametrize("argv, option, expected", [
    (["addition", "--models", "cnn,resnet"], "--models", "unknown model 'resnet'"),
    (["addition", "--keep", "both"], "--keep", "unknown keep 'both'"),
    (["addition", "--st-size", "8"], "--st-size/--image-size", "at least 16x16"),
    (["addition", "--epochs", "0"], "--epochs", "an integer >= 1"),
])
def test_bad_addition_options(argv, option, expected, capsys):
    error = usage_error(argv + ["--quiet"], capsys)
    assert error.startswith(f"warpkit addition: error: argument {option}: "), error
    assert expected in error
