"""The benchmark suite's quick mode: every benchmark runs once on tiny sizes and gives a number.

No timing assertions: this checks that the suite runs (every registered
operation builds, runs, and produces a finite time), that the report is
written, and that an absent warpkit function or anchor is a skip, not an error.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    return completed, out


def test_quick_mode_exits_cleanly(quick_run):
    completed, _ = quick_run
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]


def test_every_benchmark_produced_a_finite_number(quick_run):
    _, out = quick_run
    with open(out / "results.json") as handle:
        data = json.load(handle)
    from benchmarks.core import registry
    import benchmarks.__main__ as suite

    suite._import_cases()
    names = {bench.name for bench in registry()}
    ran = {record["name"]: record for record in data["results"]}
    assert names <= set(ran), f"benchmarks that did not run: {sorted(names - set(ran))}"
    for record in data["results"]:
        assert "error" not in record, record
        if "skipped" in record:
            assert record["skipped"], record  # a skip always says why
            continue
        assert "warpkit" in record["timings"], record["name"]
        for contender, timing in record["timings"].items():
            assert timing["median"] > 0 and timing["median"] < float("inf"), (record["name"],
                                                                                contender)
    measured = [record for record in data["results"] if "timings" in record]
    assert any(record["name"] == "grid_sample.forward.bilinear" for record in measured)
    numbers = data["compile"]["numbers"]
    assert all(value is not None and value > 0 for value in numbers.values()), numbers
    for kind, result in data["scaling"].items():
        assert "rows" in result and result["rows"], kind


def test_report_and_plots_written(quick_run):
    _, out = quick_run
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Targets" in report and "## Every operation" in report
    assert "grid_sample.forward.bilinear" in report
    for kind in ("size", "batch", "channels", "threads"):
        pytest.importorskip("matplotlib")
        assert (out / f"scaling_{kind}.png").stat().st_size > 0


def test_anchor_agrees_with_warpkit(quick_run):
    """The anchors compute the same warp: torch's forward matches warpkit's on tiny sizes."""
    _, out = quick_run
    with open(out / "results.json") as handle:
        data = json.load(handle)
    for record in data["results"]:
        if record["name"] == "grid_sample.forward.bilinear":
            assert record["timings"]["torch"]["max_diff"] < 1e-4
            if "cv2.remap" in record["timings"]:  # 1/32-pixel fixed point
                assert record["timings"]["cv2.remap"]["max_diff"] < 0.05
            break
    else:
        pytest.fail("grid_sample.forward.bilinear did not run")


def test_volume_rows_agree_with_torch(quick_run):
    """The 3-D rows ran beside PyTorch's 5-D grid_sample and computed the same values."""
    _, out = quick_run
    with open(out / "results.json") as handle:
        data = json.load(handle)
    ran = {record["name"]: record for record in data["results"] if "timings" in record}
    for name in ("volume.grid_sample.forward.trilinear",
                 "volume.warp_affine.forward_backward.theta"):
        torch_timing = ran[name]["timings"]["torch"]
        assert torch_timing["max_diff"] < 1e-3, (name, torch_timing)
    assert "torch" in ran["volume.grid_sample.backward.trilinear"]["timings"]


def test_unknown_option_is_an_error():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--threads", "zero"], cwd=ROOT,
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "--threads" in completed.stderr


def test_anchor_workloads_option():
    """``--workloads anchor`` and ``--sampler-table`` select the four anchor workloads."""
    import benchmarks.__main__ as suite
    from benchmarks import workloads as wl

    assert len(wl.ANCHOR_WORKLOADS) == 4
    assert suite.parse_args(["--workloads", "anchor"]).workload_keys == list(wl.ANCHOR_WORKLOADS)
    table = suite.parse_args(["--sampler-table"])
    assert table.workload_keys == list(wl.ANCHOR_WORKLOADS)
    assert "compile" in table.only


def test_targets_are_grouped_by_named_area():
    """Every row of the targets table names its area (a word, never a bare number)."""
    from benchmarks import targets

    areas = {targets.CPU, targets.COMPILE, targets.FUSED, targets.GRIDS, targets.CUDA,
             targets.TRAINING, targets.BANDWIDTH}
    meta = {"thread_counts": [2], "simd": {}, "gpu": {"available": False}}
    rows = targets.collect([], None, meta)
    assert rows and {row[0] for row in rows} <= areas
    table = targets.markdown([], None, meta)
    assert table[2].startswith("| area |")
    assert all(line.split("|")[1].strip() in areas for line in table[4:] if line.startswith("|"))
