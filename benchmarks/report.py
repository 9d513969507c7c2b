"""Console lines, the Markdown report and the PNG plots of a suite run.

Ratios are always ``anchor time / warpkit time``: above 1 means warpkit is
faster.  Times are medians of the timed runs, with min and max beside them.
"""

import math
import os

from . import targets as target_checks

SCALING_TITLES = {
    "size": "Time against output size (N=1, C=3, square images)",
    "batch": "Time against batch size (C=3, 64×64)",
    "channels": "Time against channels (N=8, 64×64)",
    "threads": "1 thread against 2 threads (every workload but 4096²)",
}


def fmt_time(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "—"
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms:.3g} ms"


def fmt_ratio(value):
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×"


def fmt_mib(nbytes):
    if nbytes is None:
        return "—"
    return f"{nbytes / 2**20:.1f}"


def ratio(record, anchor, subject=None):
    """``anchor`` time / ``subject`` time in ``record`` (None if either is missing)."""
    timings = record.get("timings", {})
    subject = subject or record.get("subject", "warpkit")
    if anchor not in timings or subject not in timings:
        return None
    return timings[anchor]["median"] / timings[subject]["median"]


def console_block(record):
    lines = [f"{record['name']}  [{record['size']}]  threads={record['threads']}"
             f"  ({record.get('seconds', 0.0):.1f} s)"]
    subject = record["subject"]
    for name, timing in record["timings"].items():
        mpix = record["pixels"] / timing["median"] / 1e6
        text = (f"    {name:<32} {fmt_time(timing['median']):>10}  "
                f"[{fmt_time(timing['low'])} – {fmt_time(timing['high'])}] n={timing['runs']:<2}"
                f" {mpix:9.1f} Mpix/s")
        if name != subject:
            text += f"  ratio {fmt_ratio(ratio(record, name))}"
        if timing.get("peak_bytes") is not None:
            text += f"  peak {fmt_mib(timing['peak_bytes'])} MiB ({timing['memory']})"
        if timing.get("max_diff") is not None:
            text += f"  max|diff| {timing['max_diff']:.2g}"
        lines.append(text)
    for note in record.get("notes", []):
        lines.append(f"    note: {note}")
    return "\n".join(lines)


def console_compile(result):
    if result is None:
        return ""
    if "error" in result:
        return f"compile times: ERROR {result['error']}"
    lines = [f"compile times ({result['mode']}):"]
    for key, value in result["numbers"].items():
        lines.append(f"    {key:<20} {value:.2f} s" if value is not None else f"    {key}: —")
    return "\n".join(lines)


def console_scaling(kind, result):
    if "skipped" in result:
        return f"SKIP  scaling.{kind}: {result['skipped']}"
    if "error" in result:
        return f"ERROR scaling.{kind}: {result['error']}"
    return "\n".join(_scaling_table(kind, result))


# ----------------------------------------------------------------------------- Markdown


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return lines


def _operation_tables(results):
    lines = []
    names = []
    for record in results:
        if record["name"] not in names:
            names.append(record["name"])
    for name in names:
        records = [r for r in results if r["name"] == name]
        doc = records[0].get("doc") or ""
        lines += ["", f"### `{name}`" + (f" — {doc}" if doc else ""), ""]
        rows = []
        notes = []
        for record in records:
            where = f"{record['size']}, {record['threads']} thr"
            if "skipped" in record:
                rows.append([where, "—", f"skipped: {record['skipped']}", "", "", "", "", "",
                             "", ""])
                continue
            if "error" in record:
                rows.append([where, "—", f"error: {record['error']}", "", "", "", "", "", "",
                             ""])
                continue
            subject = record["subject"]
            for contender, timing in record["timings"].items():
                mpix = record["pixels"] / timing["median"] / 1e6
                memory = fmt_mib(timing.get("peak_bytes"))
                if timing.get("peak_bytes") is not None:
                    memory += " (t)" if timing["memory"] == "tracemalloc" else " (r)"
                diff = timing.get("max_diff")
                rows.append([
                    where, f"**{contender}**" if contender == subject else contender,
                    fmt_time(timing["median"]),
                    f"{fmt_time(timing['low'])} – {fmt_time(timing['high'])}",
                    timing["runs"],
                    "1" if contender == subject else fmt_ratio(ratio(record, contender)),
                    f"{mpix:.1f}", memory,
                    "" if diff is None else f"{diff:.1e}",
                    timing.get("note", ""),
                ])
            notes += [f"{record['size']}: {note}" for note in record.get("notes", [])]
        lines += _table(["workload", "contender", "median", "min – max", "runs",
                         "ratio", "Mpix/s", "peak MiB", "max abs diff", "how"], rows)
        if notes:
            lines += [""] + [f"- {note}" for note in dict.fromkeys(notes)]
    return lines


def _sampler_table(results, threads):
    """The sampler table: warpkit vs torch for every grid_sample operation and workload."""
    rows = []
    for record in results:
        if not record["name"].startswith("grid_sample.") or record["threads"] != threads:
            continue
        if "timings" not in record:
            continue
        timings = record["timings"]
        if "torch" not in timings:
            continue
        operation = record["name"][len("grid_sample."):]
        rows.append([record["size"], operation, fmt_time(timings["warpkit"]["median"]),
                     fmt_time(timings["torch"]["median"]), fmt_ratio(ratio(record, "torch"))])
    if not rows:
        return []
    return _table(["workload", "operation", "warpkit", "torch", "torch / warpkit"], rows)


def _scaling_table(kind, result):
    rows = []
    if kind == "threads":
        header = ["workload"]
        for series in ("warpkit forward", "torch forward", "warpkit backward", "torch backward"):
            header += [f"{series} 1 thr", f"2 thr", "speed-up"]
        for row in result["rows"]:
            cells = [row["size"]]
            for series in ("warpkit forward", "torch forward", "warpkit backward",
                           "torch backward"):
                one, two = row.get(f"{series} @1"), row.get(f"{series} @2")
                cells += [fmt_time(one), fmt_time(two),
                          fmt_ratio(one / two) if one and two else "—"]
            rows.append(cells)
        return _table(header, rows)
    header = [result["x_label"], "warpkit fwd", "torch fwd", "ratio fwd", "warpkit bwd",
              "torch bwd", "ratio bwd"]
    for row in result["rows"]:
        rows.append([
            row["label"],
            fmt_time(row.get("warpkit forward")), fmt_time(row.get("torch forward")),
            fmt_ratio(row["torch forward"] / row["warpkit forward"]),
            fmt_time(row.get("warpkit backward")), fmt_time(row.get("torch backward")),
            fmt_ratio(row["torch backward"] / row["warpkit backward"]),
        ])
    return _table(header, rows)


def _plot_scaling(kind, result, path):
    """Draw one scaling curve to ``path``; returns False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    styles = {"warpkit forward": ("tab:blue", "-"), "torch forward": ("tab:orange", "-"),
              "warpkit backward": ("tab:blue", "--"), "torch backward": ("tab:orange", "--")}
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if kind == "threads":
        labels = [row["size"] for row in result["rows"]]
        width = 0.2
        for index, series in enumerate(styles):
            speedups = []
            for row in result["rows"]:
                one, two = row.get(f"{series} @1"), row.get(f"{series} @2")
                speedups.append(one / two if one and two else 0.0)
            positions = [i + (index - 1.5) * width for i in range(len(labels))]
            color, line = styles[series]
            ax.bar(positions, speedups, width, label=series, color=color,
                   hatch="//" if line == "--" else None, alpha=0.85)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, fontsize=8)
        ax.set_ylabel("speed-up, 2 threads over 1")
    else:
        xs = [row["x"] for row in result["rows"]]
        for series, (color, line) in styles.items():
            ys = [row.get(series) for row in result["rows"]]
            ax.plot(xs, [y * 1e3 for y in ys], line, marker="o", color=color, label=series)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels([str(x) for x in xs])
        ax.minorticks_off()
        ax.set_xlabel(result["x_label"])
        ax.set_ylabel("median time per call (ms)")
        ax.grid(True, which="both", alpha=0.3)
    ax.set_title(SCALING_TITLES[kind] + f" — bilinear grid_sample", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _compile_lines(result):
    if result is None:
        return []
    lines = ["", "## JIT compile time", ""]
    if "error" in result:
        return lines + [f"Not measured: {result['error']}"]
    lines += [f"Measured in fresh subprocesses ({result['mode']}). "
              "\"first call\" = `import warpkit` + the first `grid_sample` call; "
              "\"first vjp\" = the first `grid_sample_vjp` call after it.", ""]
    runs = ([("cold", result["cold"])] if result.get("cold") else []) + [
        (f"warm {i + 1}", run) for i, run in enumerate(result["warm"])]
    phases = []
    for _, run in runs:
        for phase in run["phases"]:
            if phase not in phases:
                phases.append(phase)
    rows = []
    for phase in phases:
        rows.append([phase] + [
            "—" if run["phases"].get(phase) is None else f"{run['phases'][phase]:.2f} s"
            for _, run in runs])
    rows.append(["whole subprocess (interpreter start included)"]
                + [f"{run['wall']:.2f} s" for _, run in runs])
    lines += _table(["phase"] + [name for name, _ in runs], rows)
    last = runs[-1][1]
    if last.get("specializations"):
        lines += ["", "Compiled specializations after these calls: "
                  + ", ".join(f"`{name}` {count}"
                              for name, count in sorted(last["specializations"].items())) + "."]
    errors = {k: v for _, run in runs for k, v in run.get("errors", {}).items()}
    if errors:
        lines += [""] + [f"- {phase}: {error}" for phase, error in errors.items()]
    return lines


def console_summary(meta, results, compile_result):
    """The targets and the sampler table, printed at the end of a run."""
    threads = 2 if 2 in meta["thread_counts"] else max(meta["thread_counts"])
    lines = ["", "Targets:"] + target_checks.markdown(results, compile_result, meta)
    sampler = _sampler_table(results, threads)
    if sampler:
        lines += ["", f"Sampler, warpkit vs torch grid_sample ({threads} threads):"] + sampler
    compile_lines = _compile_lines(compile_result)
    if compile_lines:
        lines += compile_lines
    return "\n".join(lines)


def _simd_line(simd):
    if not simd or "error" in simd:
        return "CPU vector features: not recorded."
    path = (f"explicit {simd['bits']}-bit vector gathers" if simd["bits"]
            else "scalar pair loads")
    return (f"CPU: {simd['cpu']}, features {simd['features']} (widest gather "
            f"{simd.get('host_bits', '?')} bits); warpkit's kernels ran with {path} "
            "(see `warpkit.kernels.simd.kernel_vector_bits`).")


def write(out_dir, meta, results, compile_result, scaling_result, gpu_result=None):
    """Write ``report.md`` and the scaling PNGs into ``out_dir``; returns the paths."""
    paths = []
    lines = ["# warpkit benchmarks", ""]
    versions = meta["versions"]
    lines += [
        f"Run `{meta['command'].strip()}` on {meta['started']}, {meta['cpus']} CPUs, "
        f"{meta['seconds']:.0f} s in all, load average {meta.get('load_at_start', 0):.1f} at the "
        f"start and {meta.get('load_at_end', 0):.1f} at the end"
        + (" (above the CPU count: other processes shared the cores and the times are noisy)"
           if max(meta.get("load_at_start", 0), meta.get("load_at_end", 0)) > meta["cpus"]
           else "")
        + (" — **quick mode: tiny sizes, one run each; these times mean nothing**"
           if meta["quick"] else "") + ".",
        "",
        "Versions: " + ", ".join(f"{name} {version}" for name, version in versions.items())
        + ".",
        "",
        _simd_line(meta.get("simd")),
        "",
        "## Method",
        "",
        "- Reproduce: `pip install -e .[bench]`, then the command above "
        "(`python -m benchmarks --help` lists the options; `--only PATTERN` runs a subset).",
        "- Every operation runs in this one process; all contenders of an operation are timed "
        "interleaved (run 1 of each, then run 2 of each, ...) after one or two warm-up calls; "
        + (f"times are medians of {meta['repeat']} runs (min – max beside them). "
           if not meta["quick"] else "quick mode reports the single warm-up call. ")
        + "Calls under 2 ms are looped inside one timing sample and divided (as `timeit` "
        "does). warpkit's subject and PyTorch always get the full number of runs; the other "
        "anchors (warpkit unfused, OpenCV, SciPy, Kornia, the floor) get fewer when one call "
        "takes long (at least 3 runs, about 2 s each in all); the runs column says how many.",
        "- **ratio** = contender's time / warpkit's time: above 1 means warpkit is faster. "
        "**Mpix/s** = output pixels (N·Ho·Wo) per second.",
        "- Data: float32, NCHW, output size = input size, a non-trivial affine map per image "
        "(rotation ≈ 15°, scale 0.9, shift; slightly different per image), "
        "`padding_mode=\"zeros\"`, `align_corners=False`; perspective = that plus a small "
        "perspective row; tps = K control points on a √K×√K grid, jittered targets.",
        "- Workloads: the four anchor workloads (N=64 C=1 28², N=32 C=3 224², N=1 C=3 2048², "
        "N=8 C=32 64²), one 4096² RGB image and a batch of 256 RGB 32² images. To keep the "
        "suite under ten minutes on two cores, the 4096² image runs the bilinear sampler's "
        "forward and backward and the affine warp's forward only; the "
        "bicubic affine warp and the perspective warp run on the four workloads below a few "
        "million pixels; tps warps and grids run where N·Ho·Wo·K ≤ 20M kernel terms; SciPy (one thread, "
        "seconds per call) where the output has ≤ 5M elements. "
        "Each left-out pair is listed under *Skipped* with its reason.",
        "- Volumes (the `volume.*` operations only): one 128³ volume (N=1 C=1) and four "
        "two-channel 64³ volumes (N=4 C=2), float32 NCDHW, a rotation ≈ 15° about a tilted "
        "axis with scale 0.9 and a shift; warpkit's 5-D `grid_sample` and fused 3-D "
        "`warp_affine` against PyTorch's 5-D `grid_sample` (and `affine_grid`); Mpix/s counts "
        "output voxels.",
        f"- Threads: {', '.join(str(t) for t in meta['thread_counts'])} for the operation "
        "tables (the \"thr\" column), 1 and 2 in the thread-scaling table. "
        "warpkit's thread count is `numba.set_num_threads` (warpkit splits each call into that "
        "many row chunks, see `warpkit/backends/threads.py`); PyTorch's `torch.set_num_threads`; "
        "OpenCV's `cv2.setNumThreads`; NumPy's BLAS via `threadpoolctl`; SciPy's ndimage and "
        "the NumPy floor are single-threaded.",
        "- OpenCV works on one HWC image per call: the batch is converted to NHWC once, "
        "outside the timing, and the timed code loops over the batch writing into a "
        "preallocated NHWC output. OpenCV has no gradients (forward only). OpenCV quantizes "
        "coordinates to 1/32 pixel, hence its max abs diff; its cubic modes take at most 4 "
        "channels.",
        "- SciPy works on one 2-D array per call: the timed code loops over N·C; "
        "`mode=\"grid-constant\"` is warpkit's zeros padding; order 3 is a cubic B-spline "
        "(with its prefilter), not the Keys kernel of `bicubic`, so its values differ.",
        "- Kornia's TPS is timed as a speed anchor only: its spline convention differs "
        "(its kernels are centred on the target points), so its values are not compared.",
        "- Memory floor: the time NumPy needs to read the input (and the grid) once and write "
        "the output once (`np.copyto`, one thread).",
        "- Peak memory, from one extra untimed call: **(t)** = `tracemalloc` peak during the "
        "call (NumPy's allocations, output included: warpkit); **(r)** = rise of the "
        "process's resident-set high-water mark (`VmHWM`, reset via `/proc/self/clear_refs`) "
        "during the call, after `malloc_trim` and with glibc serving every block above "
        "64 KiB by a fresh mmap, so that reused heap pages do not hide allocations (PyTorch "
        "and Kornia allocate outside Python's allocators, where tracemalloc cannot see them). "
        "Not measured for OpenCV, SciPy and the floor, which allocate their output only.",
        "- max abs diff: largest difference from warpkit's result where both give the same "
        "array (a check that the anchors compute the same warp).",
    ]
    spent = {}
    for record in results:
        key = f"{record['group']} on {record['size']}"
        spent[key] = spent.get(key, 0.0) + record.get("seconds", 0.0)
    spent.update(meta.get("section_seconds", {}))
    if spent:
        lines += ["- Where the run's time went: " + ", ".join(
            f"{name} {seconds:.0f} s" for name, seconds in spent.items()) + "."]
    if meta.get("notes"):
        lines += [""] + [f"- Note: {note}" for note in meta["notes"]]

    lines += ["", "## Targets", ""]
    lines += target_checks.markdown(results, compile_result, meta)

    threads_main = 2 if 2 in meta["thread_counts"] else max(meta["thread_counts"])
    sampler = _sampler_table(results, threads_main)
    if sampler:
        lines += ["", f"## Sampler: warpkit against PyTorch `grid_sample` "
                      f"({threads_main} threads)", ""] + sampler
    lines += _compile_lines(compile_result)

    if scaling_result:
        lines += ["", "## Scaling", ""]
        for kind, result in scaling_result.items():
            lines += ["", f"### {SCALING_TITLES[kind]}", ""]
            if "skipped" in result or "error" in result:
                lines.append(result.get("skipped") or result.get("error"))
                continue
            png = f"scaling_{kind}.png"
            if _plot_scaling(kind, result, os.path.join(out_dir, png)):
                paths.append(os.path.join(out_dir, png))
                lines += [f"![{SCALING_TITLES[kind]}]({png})", ""]
            threads_note = ("" if kind == "threads"
                            else f" ({result['threads']} threads; ratio = torch / warpkit)")
            lines += [f"Bilinear forward and backward{threads_note}.", ""]
            lines += _scaling_table(kind, result)

    if gpu_result is not None:
        lines += ["", "## GPU", ""]
        if gpu_result.get("available"):
            lines += ["Output of `python benchmarks/gpu_check.py` (exit status "
                      f"{gpu_result.get('returncode')}):", "", "```",
                      gpu_result["output"].rstrip(), "```"]
        else:
            lines.append(gpu_result["output"].rstrip() + ".")

    lines += ["", "## Every operation", ""]
    lines += _operation_tables(results)
    skipped = [r for r in results if "skipped" in r]
    if skipped:
        lines += ["", "## Skipped", ""]
        for line in dict.fromkeys(f"- `{r['name']}`: {r['skipped']}" for r in skipped):
            lines.append(line)
    path = os.path.join(out_dir, "report.md")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return [path] + paths
