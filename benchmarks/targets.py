"""The release targets, each judged met / not met from one suite run.

Each target belongs to an area (the first column of the report's table): the
CPU kernels, compile time, the fused warps, the grid generators, CUDA, training, and bandwidth
(against OpenCV and the memory floor).

A target whose operation was not run (skipped, filtered out with ``--only``,
or needing a GPU) is listed as "not measured", with the reason.
"""

THREE_LARGER = ("n32c3-224", "n1c3-2048", "n8c32-64")
CPU = "CPU kernels"
COMPILE = "compile time"
FUSED = "fused warps"
GRIDS = "grid generators"
CUDA = "CUDA"
TRAINING = "training"
BANDWIDTH = "bandwidth"
TINY = "n64c1-28"
#: The volume workloads (1x1x128³ and 4x2x64³).
VOLUMES = ("v1c1-128", "v4c2-64")


def _find(results, name, workload, threads):
    for record in results:
        if (record["name"] == name and record["workload"] == workload
                and record["threads"] == threads):
            return record
    return None


def _ratio(record, anchor, subject="warpkit"):
    if record is None or "timings" not in record:
        return None
    timings = record["timings"]
    if anchor not in timings or subject not in timings:
        return None
    return timings[anchor]["median"] / timings[subject]["median"]


def _why_missing(record, name):
    if record is None:
        return f"`{name}` not run"
    if "skipped" in record:
        return f"`{name}` skipped: {record['skipped']}"
    if "error" in record:
        return f"`{name}` failed: {record['error']}"
    return f"`{name}`: a contender is missing"


class _Collector:
    def __init__(self, results, threads):
        self.results = results
        self.threads = threads
        self.rows = []

    def ratio_target(self, area, text, name, workloads, anchor, minimum,
                     subject="warpkit", maximum_ratio=False):
        """Met when ``anchor / subject >= minimum`` on every workload in ``workloads``."""
        measured = []
        met = True
        missing = []
        for key in workloads:
            record = _find(self.results, name, key, self.threads)
            value = _ratio(record, anchor, subject)
            if value is None:
                missing.append(_why_missing(record, name))
                continue
            size = record["size"]
            measured.append(f"{size}: {value:.2f}×")
            met = met and value >= minimum
        if missing and not measured:
            self.rows.append((area, text, "; ".join(dict.fromkeys(missing)), None))
            return
        if missing:
            met = None
            measured += list(dict.fromkeys(missing))
        self.rows.append((area, text, "; ".join(measured), met))

    def add(self, area, text, measured, met):
        self.rows.append((area, text, measured, met))


def collect(results, compile_result, meta):
    """Rows ``(area, target, measured, met)``; ``met`` is True, False or None (not measured)."""
    threads = 2 if 2 in meta["thread_counts"] else max(meta["thread_counts"])
    c = _Collector(results, threads)
    _cpu_kernel_targets(c, results, meta)
    # The sampler's speed targets of the first release are the "CPU kernels" rows.
    numbers = (compile_result or {}).get("numbers", {})
    cold, warm = numbers.get("cold_first_call"), numbers.get("warm_first_call")
    if cold is None or warm is None:
        reason = "not measured" if compile_result is None else (
            compile_result.get("error") or "quick mode measures only the default cache")
        c.add(COMPILE, "import + first grid_sample < 10 s cold, < 2 s warm", reason, None)
    else:
        c.add(COMPILE, "import + first grid_sample < 10 s cold, < 2 s warm",
              f"cold {cold:.2f} s, warm {warm:.2f} s", cold < 10.0 and warm < 2.0)

    fb = "warp_affine.forward_backward"
    c.ratio_target(FUSED, "fused warp_affine fwd+bwd ≥ 3× torch affine_grid+grid_sample "
                          "fwd+bwd on the three larger", fb, THREE_LARGER, "torch", 3.0)
    c.ratio_target(FUSED, "fused warp_affine fwd+bwd ≥ 1× torch on 28²", fb, (TINY,), "torch",
                   1.0)
    _memory_target(c, fb)
    c.ratio_target(FUSED, "fused 3-D warp_affine fwd+bwd (θ gradient) ≥ 3× torch affine_grid + "
                          "5-D grid_sample fwd+bwd on 128³ and 4×2×64³",
                   "volume.warp_affine.forward_backward.theta", VOLUMES, "torch", 3.0)
    _spline_accuracy_target(c, results)

    gpu = meta.get("gpu") or {}
    c.add(CUDA, "CUDA targets (forward/backward ≥ 1× torch CUDA, fused ≥ 2×, deterministic "
                "≤ 1.5× atomic)",
          "measured by `benchmarks/gpu_check.py`: see the GPU section" if gpu.get("available")
          else "not measured: no CUDA GPU here; `benchmarks/gpu_check.py` measures them on a "
               "GPU", None)

    _training_target(c, results)

    large = ("n1c3-2048", "n32c3-224")
    c.ratio_target(BANDWIDTH, "forward bilinear (fused warp_affine) within 3× of "
                              "cv2.warpAffine on 2048² and 224²",
                   "warp_affine.forward", large, "cv2.warpAffine", 1.0 / 3.0)
    c.ratio_target(BANDWIDTH, "forward bilinear (fused warp_affine) within 5× of the "
                              "memory floor on 2048² and 224²",
                   "warp_affine.forward", large, "floor", 1.0 / 5.0)
    c.ratio_target(BANDWIDTH, "forward bilinear (grid_sample, grid read included) within "
                              "5× of its memory floor on 2048² and 224²",
                   "grid_sample.forward.bilinear", large, "floor", 1.0 / 5.0)
    return c.rows



def _cpu_kernel_targets(c, results, meta):
    """The targets of the block/SIMD CPU kernels (vector gathers, native precision)."""
    simd = meta.get("simd") or {}
    c.add(CPU, "CPU features detected; the faster tap-reading path chosen",
          f"{simd.get('cpu', '?')}: {simd.get('features', '?')}, gathers up to "
          f"{simd.get('host_bits', '?')} bits; kernels used "
          + (f"{simd['bits']}-bit gathers" if simd.get("bits") else "scalar pair loads"),
          True if simd.get("features") else None)
    fwd = "grid_sample.forward.bilinear"
    c.ratio_target(CPU, "bilinear forward ≥ 2× torch on 224² and C=32 64²", fwd,
                   ("n32c3-224", "n8c32-64"), "torch", 2.0)
    c.ratio_target(CPU, "bilinear forward ≥ 4× torch on 2048²", fwd, ("n1c3-2048",),
                   "torch", 4.0)
    c.ratio_target(CPU, "bilinear forward ≥ 1× torch on 28²", fwd, (TINY,), "torch", 1.0)
    bwd = "grid_sample.backward.bilinear"
    c.ratio_target(CPU, "backward (input + grid) ≥ 2× torch on the three larger", bwd,
                   THREE_LARGER, "torch", 2.0)
    c.ratio_target(CPU, "backward (input + grid) ≥ 1× torch on 28²", bwd, (TINY,), "torch", 1.0)
    c.ratio_target(CPU, "backward for the grid only ≥ 3× torch's full backward",
                   "grid_sample.backward_grid.bilinear", (TINY,) + THREE_LARGER, "torch", 3.0)
    c.ratio_target(CPU, "bicubic forward ≥ 2× torch on the three larger",
                   "grid_sample.forward.bicubic", THREE_LARGER, "torch", 2.0)
    c.ratio_target(CPU, "nearest forward ≥ 1× torch everywhere", "grid_sample.forward.nearest",
                   (TINY,) + THREE_LARGER, "torch", 1.0)
    for name, text in (("volume.grid_sample.forward.trilinear", "forward"),
                       ("volume.grid_sample.backward.trilinear", "backward (input + grid)")):
        c.ratio_target(CPU, f"trilinear {text} ≥ 2× torch's 5-D grid_sample on 128³ and "
                            "4×2×64³", name, VOLUMES, "torch", 2.0)
    theta = "warp_affine.forward_backward.theta"
    c.ratio_target(CPU, "fused warp_affine fwd+bwd, θ gradient only, ≥ 3× torch "
                        "affine_grid+grid_sample on the three larger", theta,
                   THREE_LARGER, "torch", 3.0)
    c.ratio_target(CPU, "fused warp_affine fwd+bwd, θ gradient only, ≥ 1.5× torch on 28²",
                   theta, (TINY,), "torch", 1.5)
    c.ratio_target(CPU, "forward (fused warp_affine) within 3× of cv2.warpAffine on 2048² "
                        "and 224²", "warp_affine.forward", ("n1c3-2048", "n32c3-224"),
                   "cv2.warpAffine", 1.0 / 3.0)
    _training_speedup_target(c, results)


def _training_speedup_target(c, results):
    import json
    import os

    text = ("ST-CNN training step ≥ 1.3× faster than before the block kernels "
            "(torch-normalized, against benchmarks/results/baseline.json)")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "baseline.json")
    record = next((r for r in results if r["name"] == "training.st_cnn_step"
                   and r["threads"] == c.threads and "timings" in r), None)
    ratio = _ratio(record, "torch")
    if ratio is None or not os.path.exists(path):
        c.add(CPU, text, _why_missing(record, "training.st_cnn_step"), None)
        return
    with open(path) as handle:
        before = json.load(handle)["training.st_cnn_step"]
    before_ratio = before["torch_ms"] / before["warpkit_ms"]
    speedup = ratio / before_ratio
    warpkit_ms = record["timings"]["warpkit"]["median"] * 1e3
    c.add(CPU, text, f"{speedup:.2f}× (step {warpkit_ms:.1f} ms, torch/warpkit {ratio:.2f}; "
                     f"before {before['warpkit_ms']:.1f} ms, torch/warpkit {before_ratio:.2f})",
          speedup >= 1.3)


def _memory_target(c, name):
    measured = []
    met = True
    for key in ("n64c1-28",) + THREE_LARGER:
        record = _find(c.results, name, key, c.threads)
        timings = (record or {}).get("timings", {})
        fused = timings.get("warpkit", {}).get("peak_bytes")
        unfused = timings.get("warpkit unfused", {}).get("peak_bytes")
        if fused is None or unfused is None:
            continue
        grid_bytes = record.get("grid_bytes")
        if grid_bytes is None:
            continue
        saved = unfused - fused
        measured.append(f"{record['size']}: saves {saved / 2**20:.1f} MiB, grid "
                        f"{grid_bytes / 2**20:.1f} MiB")
        met = met and saved >= grid_bytes
    text = "fused fwd+bwd peak memory below the unfused path's by at least the grid's size"
    if not measured:
        c.add(FUSED, text, "not measured (needs warp_affine and a run with memory measurement)",
              None)
    else:
        c.add(FUSED, text, "; ".join(measured), met)


def _spline_accuracy_target(c, results):
    text = "tps grids float64-accurate (1e-9 relative vs SciPy RBFInterpolator), K ≤ 256"
    record = next((r for r in results if r["name"] == "tps_grid.accuracy"), None)
    if record is None or "accuracy" not in record:
        c.add(GRIDS, text, _why_missing(record, "tps_grid.accuracy").replace(
            "a contender is missing", "no accuracy figure"), None)
        return
    worst = max(record["accuracy"].values())
    c.add(GRIDS, text, ", ".join(f"K={k}: {v:.1e}" for k, v in record["accuracy"].items()),
          worst <= 1e-9)


def _training_target(c, results):
    text = "ST-CNN training step within 2× of an equivalent PyTorch CPU step"
    records = [r for r in results if r["name"].startswith("training.") and "timings" in r
               and r["threads"] == c.threads]
    if not records:
        record = next((r for r in results if r["name"].startswith("training.")), None)
        c.add(TRAINING, text, _why_missing(record, "training.step"), None)
        return
    measured = []
    met = True
    for record in records:
        value = _ratio(record, "torch", record.get("subject", "warpkit"))
        if value is None:
            continue
        timings = record["timings"]
        share = None
        if "warpkit sampler only" in timings:
            share = (timings["warpkit sampler only"]["median"]
                     / timings[record.get("subject", "warpkit")]["median"])
        measured.append(f"{record['name']}: torch/warpkit {value:.2f}× (warpkit "
                        f"{value ** -1:.2f}× torch's time)"
                        + (f", sampler share {share:.0%}" if share is not None else ""))
        met = met and value >= 0.5
    if not measured:
        c.add(TRAINING, text, "no torch contender in the training benchmark", None)
    else:
        c.add(TRAINING, text, "; ".join(measured), met)


def markdown(results, compile_result, meta):
    rows = collect(results, compile_result, meta)
    threads = 2 if 2 in meta["thread_counts"] else max(meta["thread_counts"])
    lines = [f"Ratios are the anchor's time / warpkit's time at {threads} threads "
             "(above 1: warpkit faster); \"within 3×\" means a ratio ≥ 0.33.", "",
             "| area | target | measured | status |", "|---|---|---|---|"]
    for area, text, measured, met in rows:
        status = {True: "**met**", False: "**not met**", None: "not measured"}[met]
        if meta.get("quick") and met is not None:
            status = "— (quick mode)"
        lines.append(f"| {area} | {text} | {measured} | {status} |")
    if meta.get("quick"):
        lines += ["", "(Quick mode: tiny sizes, one run each — no target is judged.)"]
    return lines
