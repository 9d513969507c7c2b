"""``python -m benchmarks``: run warpkit's benchmark suite and write the report.

Examples::

    python -m benchmarks                      # the full suite -> benchmarks/results/report.md
    python -m benchmarks --quick              # every benchmark once on tiny sizes (CI)
    python -m benchmarks --only grid_sample   # a subset (substring or wildcard of the names)
    python -m benchmarks --threads 1,2        # every table at 1 and at 2 threads
    python -m benchmarks --sampler-table      # the sampler table on the four anchor workloads
"""

import argparse
import json
import math
import os
import sys
import time
import traceback

from . import report, workloads as wl
from .anchors import versions
from .core import Skip, matches, prepare_process, registry, run_case, set_threads

CASE_MODULES = ("bench_sampler", "cases_warps", "cases_grids", "cases_training",
                "cases_volumes")
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _import_cases():
    import importlib

    notes = []
    for name in CASE_MODULES:
        try:
            importlib.import_module(f"benchmarks.{name}")
        except ImportError as error:
            notes.append(f"benchmarks.{name} not loaded: {error}")
    return notes


def _simd_facts():
    """The host's vector features and the gather width warpkit's kernels use."""
    try:
        from llvmlite import binding

        from warpkit.kernels.simd import HOST_VECTOR_BITS, KERNEL_VECTOR_BITS
    except ImportError as error:
        return {"error": str(error)}
    features = binding.get_host_cpu_features()
    shown = [name for name in ("avx2", "fma", "avx512f") if features.get(name)]
    return {"cpu": binding.get_host_cpu_name(), "features": "+".join(shown) or "none",
            "host_bits": HOST_VECTOR_BITS, "bits": KERNEL_VECTOR_BITS}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="every benchmark once on tiny sizes; checks that each gives a "
                             "finite number (no timing assertions)")
    parser.add_argument("--only", action="append", default=None, metavar="PATTERN",
                        help="run only benchmarks whose name (or 'name[workload]') contains "
                             "PATTERN or matches it as a wildcard; repeatable. Compile times "
                             "are 'compile', scaling curves 'scaling.size', 'scaling.batch', "
                             "'scaling.channels', 'scaling.threads', the GPU check 'gpu'")
    parser.add_argument("--threads", default="2",
                        help="comma-separated thread counts for the operation tables "
                             "(default 2; the thread-scaling table always runs 1 and 2)")
    parser.add_argument("--workloads", default="all",
                        help="'all', 'anchor' (the four anchor workloads) or "
                             "comma-separated keys: "
                             + ", ".join(wl.ALL_WORKLOADS + wl.VOLUME_WORKLOADS))
    parser.add_argument("--repeat", type=int, default=7,
                        help="timed runs per contender after warm-up (default 7)")
    parser.add_argument("--out", default=None,
                        help=f"results folder (default {DEFAULT_OUT}; "
                             "quick mode: <that>/quick)")
    parser.add_argument("--sampler-table", action="store_true",
                        help="the sampler table: grid_sample on the four anchor workloads "
                             "at 2 threads plus compile times")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory measurement")
    args = parser.parse_args(argv)
    if args.sampler_table:
        args.only = (args.only or []) + ["grid_sample.*", "compile"]
        if args.workloads == "all":
            args.workloads = "anchor"
    try:
        args.thread_counts = [int(part) for part in args.threads.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--threads must be comma-separated integers, got {args.threads!r}")
    if not args.thread_counts or min(args.thread_counts) < 1:
        parser.error("--threads needs at least one count >= 1")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.workloads == "all":
        args.workload_keys = list(wl.ALL_WORKLOADS + wl.VOLUME_WORKLOADS)
    elif args.workloads == "anchor":
        args.workload_keys = list(wl.ANCHOR_WORKLOADS)
    else:
        args.workload_keys = [key.strip() for key in args.workloads.split(",") if key.strip()]
        valid = wl.ALL_WORKLOADS + wl.VOLUME_WORKLOADS
        unknown = [key for key in args.workload_keys if key not in valid]
        if unknown:
            parser.error(f"unknown workloads {unknown}; valid: {', '.join(valid)}")
    if args.out is None:
        args.out = os.path.join(DEFAULT_OUT, "quick") if args.quick else DEFAULT_OUT
    return args


def selected(args, *names):
    return not args.only or any(matches(pattern, *names) for pattern in args.only)


def run_operations(args, log):
    """Build and time every selected (benchmark, workload) case at every thread count."""
    results = []
    for threads in args.thread_counts[-1:] if args.quick else args.thread_counts:
        set_threads(threads)
        for bench in registry():
            keys = [key for key in bench.workloads if key in args.workload_keys
                    and selected(args, bench.name, f"{bench.name}[{key}]", bench.group)]
            if args.quick:
                keys = keys[:1]  # quick mode: every benchmark once, on one tiny workload
            for key in keys:
                work = wl.workload(key, args.quick)
                record = {"name": bench.name, "group": bench.group, "doc": bench.doc,
                          "workload": key, "label": wl.full_label(key),
                          "size": work.label, "threads": threads}
                case_started = time.perf_counter()
                try:
                    case = bench.build(work)
                    timings = run_case(case, args.repeat, quick=args.quick,
                                       measure_memory=not args.no_memory)
                except Skip as reason:
                    record["skipped"] = str(reason)
                    log(f"SKIP  {bench.name} [{work.label}]: {reason}")
                    results.append(record)
                    continue
                except Exception as error:  # noqa: BLE001 - one broken case must not stop the suite
                    record["error"] = f"{type(error).__name__}: {error}"
                    log(f"ERROR {bench.name} [{work.label}]: {record['error']}")
                    log(traceback.format_exc())
                    results.append(record)
                    continue
                record.update(case.extra)
                record.update(pixels=case.pixels, notes=case.notes, subject=case.subject,
                              timings={name: vars(timing) for name, timing in timings.items()})
                record["seconds"] = time.perf_counter() - case_started
                results.append(record)
                log(report.console_block(record))
    return results


def check_quick(results, extra):
    """Names of benchmarks that did not produce a finite, positive number."""
    bad = []
    for record in results:
        if "error" in record:
            bad.append(f"{record['name']}[{record['workload']}]: {record['error']}")
            continue
        for name, timing in record.get("timings", {}).items():
            if not (math.isfinite(timing["median"]) and timing["median"] > 0):
                bad.append(f"{record['name']}[{record['workload']}] {name}: {timing['median']}")
            diff = timing.get("max_diff")
            if diff is not None and not math.isfinite(diff):
                bad.append(f"{record['name']}[{record['workload']}] {name}: result not finite")
    for name, value in extra:
        if value is None or not math.isfinite(value) or value <= 0:
            bad.append(f"{name}: {value}")
    return bad


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)

    def log(line):
        print(line, flush=True)

    load_notes = _import_cases()
    prepare_process()
    for note in load_notes:
        log(f"NOTE  {note}")
    meta = {
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "quick": args.quick,
        "repeat": 1 if args.quick else args.repeat,
        "thread_counts": args.thread_counts,
        "versions": versions(),
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_at_start": os.getloadavg()[0],
        "notes": load_notes,
        "simd": _simd_facts(),
    }
    log(f"warpkit benchmarks: {meta['versions']}; {os.cpu_count()} CPUs; "
        f"{'quick mode' if args.quick else f'repeat {args.repeat}'}")

    results = run_operations(args, log)

    compile_result = None
    if selected(args, "compile", "compile.sampler"):
        from . import compile_times

        log("compile times (fresh subprocesses)...")
        section_started = time.perf_counter()
        try:
            compile_result = compile_times.measure(quick=args.quick)
        except Exception as error:  # noqa: BLE001
            compile_result = {"error": f"{type(error).__name__}: {error}"}
        meta.setdefault("section_seconds", {})["compile times"] = (
            time.perf_counter() - section_started)
        log(report.console_compile(compile_result))

    scaling_result = {}
    from . import scaling

    for kind in scaling.KINDS:
        if not selected(args, f"scaling.{kind}", "scaling"):
            continue
        log(f"scaling.{kind}...")
        section_started = time.perf_counter()
        try:
            scaling_result[kind] = scaling.measure(kind, quick=args.quick, repeat=args.repeat,
                                                   threads=max(args.thread_counts))
        except Skip as reason:
            scaling_result[kind] = {"skipped": str(reason)}
        except Exception as error:  # noqa: BLE001
            scaling_result[kind] = {"error": f"{type(error).__name__}: {error}"}
            log(traceback.format_exc())
        meta.setdefault("section_seconds", {})[f"scaling.{kind}"] = (
            time.perf_counter() - section_started)
        log(report.console_scaling(kind, scaling_result[kind]))
    set_threads(max(args.thread_counts))

    gpu_result = None
    if selected(args, "gpu"):
        from . import gpu

        gpu_result = gpu.measure(quick=args.quick)
        meta["gpu"] = {"available": gpu_result.get("available", False)}
        log(f"gpu: {gpu_result['output'][-3000:]}")

    meta["seconds"] = time.perf_counter() - started
    meta["load_at_end"] = os.getloadavg()[0]
    paths = report.write(args.out, meta, results, compile_result, scaling_result, gpu_result)
    with open(os.path.join(args.out, "results.json"), "w") as handle:
        json.dump({"meta": meta, "results": results, "compile": compile_result,
                   "scaling": scaling_result, "gpu": gpu_result}, handle, indent=1,
                  default=str)
    log(report.console_summary(meta, results, compile_result))
    log(f"wrote {', '.join(paths)} and {os.path.join(args.out, 'results.json')} "
        f"in {meta['seconds']:.0f} s")

    extra = []
    if compile_result and "error" not in compile_result:
        extra = [(f"compile.{key}", value) for key, value in compile_result["numbers"].items()]
    for kind, result in scaling_result.items():
        if "error" in result:
            extra.append((f"scaling.{kind}", None))
    bad = check_quick(results, extra)
    if compile_result and "error" in compile_result:
        bad.append(f"compile: {compile_result['error']}")
    if bad:
        log("FAILED (no finite number or an error):\n  " + "\n  ".join(bad))
        return 1
    ran = sum(1 for record in results if "timings" in record)
    skipped = sum(1 for record in results if "skipped" in record)
    log(f"ok: {ran} cases measured, {skipped} skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
