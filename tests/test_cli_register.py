"""``warpkit register``: its files, its numbers and its one-line usage errors."""

import json

import numpy as np
import pytest

from warpkit import cli, registration

FAST = ["--affine-iterations", "3", "--iterations", "3"]


def usage_error(argv, capsys):
    """Run the command; it must fail with one line on stderr and exit status 2."""
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("warpkit register: error: ")
    return lines[0]


def test_two_files_write_what_the_help_promises(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    pair = registration.make_phantom_pair(8, seed=1)
    fixed = np.stack([pair.fixed, 2 * pair.fixed])                  # (C, D, H, W), C = 2
    moving = np.stack([pair.moving, 2 * pair.moving])
    np.save(tmp_path / "fixed.npy", fixed)
    np.savez(tmp_path / "moving.npz", volume=moving)
    out = tmp_path / "out"
    status = cli.main(["register", str(tmp_path / "fixed.npy"), str(tmp_path / "moving.npz"),
                       "--out", str(out), "--json", *FAST])
    assert status == 0
    stdout = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(stdout[-1])
    assert sorted(p.name for p in out.iterdir()) == sorted(registration.OUTPUT_FILES)
    assert np.load(out / "warped.npy").shape == (2, 8, 8, 8)
    assert np.load(out / "flow.npy").shape == (8, 8, 8, 3)
    saved = json.loads((out / "summary.json").read_text())
    assert saved["mse"] == summary["mse"] and saved["flow_error"] is None
    assert saved["settings"]["iterations"] == 3 and saved["settings"]["channels"] == 2
    assert isinstance(saved["folds"], int)
    assert (out / "registration.png").stat().st_size > 10_000
    assert "fixed.npy" in (out / "summary.md").read_text()


def test_demo_reports_the_flow_error(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["register", "--demo", "--size", "8", "--seed", "2", "--json",
                     "--out", str(tmp_path), *FAST]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("phantom 8x8x8, seed 2")
    summary = json.loads(lines[-1])
    assert set(summary["flow_error"]) == {"before", "affine", "after"}
    assert np.load(tmp_path / "warped.npy").shape == (8, 8, 8)       # shaped like the input


def _save(path, array):
    np.save(path, array)
    return str(path)


@pytest.mark.parametrize("case, expected", [
    ("missing", "argument FIXED: no such file"),
    ("rank", "argument MOVING: "),
    ("shape", "expected the shape of FIXED (8, 8, 8), got (8, 8, 9)"),
    ("one path", "argument MOVING: expected two volume files"),
    ("demo and paths", "argument --demo"),
    ("not numpy", "argument FIXED: "),
    ("two arrays", "expected one array in the .npz file"),
    ("nan", "NaN"),
])
def test_file_errors_are_one_line(case, expected, tmp_path, capsys):
    good = _save(tmp_path / "good.npy", np.zeros((8, 8, 8), np.float32))
    argv = {
        "missing": [str(tmp_path / "absent.npy"), good],
        "rank": [good, _save(tmp_path / "flat.npy", np.zeros((8, 8), np.float32))],
        "shape": [good, _save(tmp_path / "other.npy", np.zeros((8, 8, 9), np.float32))],
        "one path": [good],
        "demo and paths": ["--demo", good, good],
        "not numpy": [str(tmp_path / "text.npy"), good],
        "two arrays": [str(tmp_path / "two.npz"), good],
        "nan": [good, _save(tmp_path / "nan.npy", np.full((8, 8, 8), np.nan, np.float32))],
    }[case]
    (tmp_path / "text.npy").write_text("not an array")
    np.savez(tmp_path / "two.npz", a=np.zeros((8, 8, 8)), b=np.zeros((8, 8, 8)))
    error = usage_error(["register", *argv, *FAST], capsys)
    assert expected in error


@pytest.mark.parametrize("option, value, expected", [
    ("--size", "4", "an integer >= 8"),
    ("--iterations", "x", "an integer >= 0"),
    ("--affine-iterations", "-1", "an integer >= 0"),
    ("--smoothness", "-1", "a finite number >= 0"),
    ("--smoothness", "nan", "a finite number >= 0"),
])
def test_option_errors_name_the_option(option, value, expected, capsys):
    error = usage_error(["register", "--demo", option, value], capsys)
    assert f"argument {option}" in error and expected in error


def test_out_must_be_a_folder(tmp_path, capsys):
    file = tmp_path / "file"
    file.write_text("")
    error = usage_error(["register", "--demo", "--size", "8", "--out", str(file), *FAST], capsys)
    assert "expected a folder" in error
