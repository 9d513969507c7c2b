"""Out-of-core warps on Dask: the large-image figures of ``warpkit.dask``.

Run::

    pip install -e '.[dask,bench]'
    python -m benchmarks.out_of_core            # full sizes: ~10 GiB of Zarr in --work
    python -m benchmarks.out_of_core --quick    # small sizes, a minute
    python -m benchmarks.out_of_core --only throughput,dask_image

Writes ``report.md``, ``results.json`` and ``mosaic.png`` to ``--out``
(default ``benchmarks/results/out_of_core``).  Sections:

``big_warp``
    A ``--size``² float32 image (32768² = 4 GiB by default) is written to Zarr
    (2048² chunks, generated chunk by chunk), then warped by an affine map
    into a new Zarr store with ``warpkit.dask.warp_affine`` + ``to_zarr`` in a
    fresh process with Dask's threaded scheduler on 2 workers; the process's
    peak resident memory (``ru_maxrss``) is the figure.  Its thumbnails make
    the mosaic picture.
``resume``
    The same write at an eighth of the area, killed (SIGKILL) once about half
    of its chunks are in the store, then resumed: the resumed run's chunk
    count and time.
``throughput``
    An 8192² float32 image in memory: ``warpkit.warp_affine`` (2 threads)
    against ``warpkit.dask.warp_affine`` on 2048² chunks computed with the
    threaded scheduler on 1 and 2 workers (medians after a warm-up).
``dask_image``
    ``dask_image.ndinterp.affine_transform`` (order 1) against
    ``warpkit.dask.warp_affine`` (bilinear), same chunked input, same output
    chunks, same scheduler, every output chunk computed and kept
    (``dask.persist``); the two outputs agree away from the border.
``gradient``
    The gradient of an MSE loss with respect to theta over a chunked 8192²
    image against the in-memory gradient, and from run to run.
``fit``
    ``fit_transform`` on two 16384² images (Zarr) related by a known rotation
    and shift: the RMS error of the recovered map, in pixels.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "out_of_core"
SECTIONS = ("big_warp", "resume", "throughput", "dask_image", "gradient", "fit")

# fit: many cheap steps at the coarsest level, where the error is several pixels; a
# dozen small ones at the full size, which starts within a fraction of a pixel
FULL = dict(size=32768, chunk=2048, resume_size=8192, resume_chunk=1024, medium=8192,
            fit_size=16384, fit_steps=[150, 60, 20, 20, 20, 20, 12],
            fit_step_pixels=[2.0, 0.5, 0.2, 0.2, 0.2, 0.1, 0.05], repeat=5)
QUICK = dict(size=2048, chunk=512, resume_size=1024, resume_chunk=256, medium=1024,
             fit_size=1024, fit_steps=[150, 60, 12], fit_step_pixels=[2.0, 0.1, 0.05],
             repeat=2)

#: The affine map of the big warp: a 10 degree rotation, a 0.9 zoom and a shift.
ANGLE = np.deg2rad(10.0)
THETA = np.array([[[0.9 * np.cos(ANGLE), -0.9 * np.sin(ANGLE), 0.05],
                   [0.9 * np.sin(ANGLE), 0.9 * np.cos(ANGLE), -0.03]]])


# ------------------------------------------------------------ test images


def mosaic_block(block_info=None, size=None, tile=None):
    """One chunk of the mosaic: tiles of stripes at different angles, with dark seams."""
    (y0, y1), (x0, x1) = block_info[None]["array-location"]
    y = np.arange(y0, y1, dtype=np.float64)[:, None]
    x = np.arange(x0, x1, dtype=np.float64)[None, :]
    ty, tx = y // tile, x // tile
    angle = (ty * 7 + tx * 3) % 8 * (np.pi / 8)
    period = tile / (2.0 + (ty + 2 * tx) % 3)
    phase = (x * np.cos(angle) + y * np.sin(angle)) * (2 * np.pi / period)
    value = 0.5 + 0.35 * np.sin(phase)
    seam = (np.minimum(y % tile, x % tile) < tile / 32)
    disc = ((y / size - 0.5) ** 2 + (x / size - 0.5) ** 2) < 0.04
    return np.where(seam, 0.05, np.where(disc, 1.0 - 0.5 * value, value)).astype(np.float32)


def write_mosaic(path, size, chunk):
    """Write the ``size``² mosaic to a Zarr store chunk by chunk (never whole in memory)."""
    import dask.array as da

    from warpkit.dask import to_zarr

    chunks = da.core.normalize_chunks(chunk, (size, size))
    source = da.map_blocks(mosaic_block, dtype=np.float32, chunks=chunks, size=size,
                           tile=size // 8, meta=np.empty((0, 0), np.float32))
    to_zarr(source, path)


def scene(y, x):
    """A smooth multi-scale test scene on normalized coordinates, zero near the border."""
    value = np.zeros(np.broadcast(y, x).shape)
    for k, (fx, fy, phase) in enumerate(((1.3, 0.7, 0.1), (3.1, -2.3, 1.0), (7.0, 5.0, 2.0),
                                         (-13.0, 17.0, 0.3), (31.0, 23.0, 1.7),
                                         (-47.0, 61.0, 2.9))):
        value += np.sin(np.pi * (fx * x + fy * y) + phase) / (1.0 + 0.5 * k)
    window = np.clip((1.0 - np.maximum(abs(x), abs(y))) / 0.1, 0.0, 1.0)
    return value * window * window * (3.0 - 2.0 * window)


def scene_block(block_info=None, size=None, inverse=None):
    """One chunk of the scene read through ``inverse`` (normalized 2x3), float32."""
    (y0, y1), (x0, x1) = block_info[None]["array-location"]
    y = (2.0 * np.arange(y0, y1)[:, None] + 1.0) / size - 1.0
    x = (2.0 * np.arange(x0, x1)[None, :] + 1.0) / size - 1.0
    u = inverse[0, 0] * x + inverse[0, 1] * y + inverse[0, 2]
    v = inverse[1, 0] * x + inverse[1, 1] * y + inverse[1, 2]
    return scene(v, u).astype(np.float32)


def rigid(angle_degrees, shift_pixels, size):
    """Normalized theta (1, 2, 3) of a rotation about the centre and a shift in pixels."""
    a = np.deg2rad(angle_degrees)
    return np.array([[[np.cos(a), -np.sin(a), 2.0 * shift_pixels[0] / size],
                      [np.sin(a), np.cos(a), 2.0 * shift_pixels[1] / size]]])


def rms_pixels(theta, truth, size):
    """RMS distance in pixels between two normalized affine maps over every pixel centre
    (exact: the mean of a quadratic over the pixel lattice, in closed form)."""
    centres = (2.0 * np.arange(size) + 1.0) / size - 1.0
    mean, mean2 = centres.mean(), (centres ** 2).mean()
    d = (theta[0] - truth[0]) * size / 2.0  # rows: pixel error per (x, y, 1)
    # E|d @ (x, y, 1)|^2 with x, y independent over the lattice
    second = np.array([[mean2, mean * mean, mean], [mean * mean, mean2, mean],
                       [mean, mean, 1.0]])
    return float(np.sqrt(np.einsum("ri,ij,rj->", d, second, d)))


# ------------------------------------------------------------- the children


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_big_warp(work, size, chunk, **_):
    """Warp the mosaic store into a new store; report wall time and peak RSS."""
    import dask
    import dask.array as da
    from dask.diagnostics import ProgressBar

    import warpkit.dask as wd

    source = da.from_zarr(str(work / f"mosaic{size}.zarr"))
    target = work / f"warped{size}.zarr"
    shutil.rmtree(target, ignore_errors=True)
    # compile the kernels first, outside the timing (the compile time is reported apart)
    start = time.perf_counter()
    wd.warp_affine(source[:chunk, :chunk], THETA, chunks=chunk // 2).compute()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2), ProgressBar(out=sys.stderr,
                                                                          dt=5.0):
        wd.to_zarr(wd.warp_affine(source, THETA, chunks=chunk), target)
    return dict(wall_s=time.perf_counter() - start, peak_rss_mib=_peak_rss_mib(),
                warmup_s=compile_s, input_gib=size * size * 4 / 2**30)


def child_resume_run(work, resume_size, resume_chunk, **_):
    """One (possibly killed) run of the resume section's write: prints progress."""
    import dask
    import dask.array as da

    import warpkit.dask as wd

    source = da.from_zarr(str(work / f"mosaic{resume_size}.zarr"))
    with dask.config.set(scheduler="threads", num_workers=2):
        start = time.perf_counter()
        target = work / f"resumed{resume_size}.zarr"
        before = _stored_chunks(target)
        wd.to_zarr(wd.warp_affine(source, THETA, chunks=resume_chunk), target)
    return dict(wall_s=time.perf_counter() - start, chunks_before=before,
                chunks_after=_stored_chunks(target))


def _stored_chunks(path):
    """Chunks in a 2-D Zarr store: files ``c/i/j`` (a killed writer's temporary files
    do not count)."""
    folder = Path(path) / "c"
    if not folder.exists():
        return 0
    return sum(1 for p in folder.glob("*/*") if p.is_file() and p.name.isdigit()
               and p.parent.name.isdigit())


def child_fit(work, fit_size, fit_steps, fit_step_pixels, **_):
    """fit_transform on the stored pair; report the RMS error of the map in pixels."""
    import dask
    import dask.array as da

    import warpkit.dask as wd

    fixed = da.from_zarr(str(work / f"fixed{fit_size}.zarr"))
    moving = da.from_zarr(str(work / f"moving{fit_size}.zarr"))
    truth = np.load(work / f"truth{fit_size}.npy")
    start = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        fit = wd.fit_transform(fixed, moving, levels=len(fit_steps), steps=fit_steps,
                               step_pixels=fit_step_pixels, final_step_pixels=0.002)
    error = rms_pixels(fit.params, truth, fit_size)
    return dict(wall_s=time.perf_counter() - start, peak_rss_mib=_peak_rss_mib(),
                rms_pixels=error, start_rms_pixels=rms_pixels(
                    np.eye(2, 3)[None], truth, fit_size),
                steps=fit_steps, shapes=fit.shapes, final_loss=float(fit.losses[-1][-1]),
                first_loss=float(fit.losses[0][0]), theta=fit.params.tolist(),
                truth=truth.tolist())


CHILDREN = {"big_warp": child_big_warp, "resume_run": child_resume_run, "fit": child_fit}


def run_child(name, work, params, kill_after=None):
    """Run a child section in a fresh process (its own peak memory); returns its JSON."""
    command = [sys.executable, "-m", "benchmarks.out_of_core", "--child", name,
               "--work", str(work), "--params", json.dumps(params)]
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=HERE.parent)
    if kill_after is not None:
        kill_after(process)
        return None
    out, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"child {name} failed with {process.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1])


# ----------------------------------------------------------- in-process parts


def _median_time(function, repeat):
    function()  # warm-up: compile, first touch
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(min(times)), float(max(times))


def section_throughput(medium, chunk, repeat, **_):
    import dask
    import dask.array as da
    import numba

    import warpkit
    import warpkit.dask as wd

    numba.set_num_threads(2)
    image = np.random.default_rng(0).random((1, 1, medium, medium), dtype=np.float32)
    lazy_input = da.from_array(image, chunks=(1, 1, chunk, chunk))
    memory = _median_time(lambda: warpkit.warp_affine(image, THETA), repeat)
    result = dict(pixels=medium * medium, in_memory_s=memory)
    for workers in (1, 2):
        with dask.config.set(scheduler="threads", num_workers=workers):
            result[f"dask_{workers}_s"] = _median_time(
                lambda: wd.warp_affine(lazy_input, THETA, chunks=chunk).compute(), repeat)
    result["ratio_2_workers"] = result["dask_2_s"][0] / memory[0]
    result["scaling_1_to_2"] = result["dask_1_s"][0] / result["dask_2_s"][0]
    return result


def _scipy_matrix(theta, size):
    """scipy.ndimage's (row, col) pixel matrix and offset of a normalized theta (square
    image, align_corners=False): input = matrix @ output + offset."""
    # pixel p_in = (size / 2) * (theta @ (normalized out, 1)) + (size - 1) / 2, normalized
    # out = (2 p_out + 1) / size - 1; swap (x, y) to scipy's (row, col)
    linear = theta[0, :, :2]
    shift = theta[0, :, 2]
    out_shift = np.full(2, 1.0 / size - 1.0)
    pixel_matrix = linear  # the size factors cancel on a square image
    pixel_offset = size / 2.0 * (linear @ out_shift + shift) + (size - 1) / 2.0
    swap = np.array([[0, 1], [1, 0]])
    return swap @ pixel_matrix @ swap, swap @ pixel_offset


def section_dask_image(medium, chunk, repeat, **_):
    import dask
    import dask.array as da
    from dask_image import ndinterp

    import warpkit.dask as wd

    size = medium
    image = np.random.default_rng(1).random((size, size), dtype=np.float32)
    lazy_input = da.from_array(image, chunks=chunk)
    matrix, offset = _scipy_matrix(THETA, size)
    # both compute every output chunk and keep it (persist): the same chunked output,
    # without the copy into one array that compute() would add to both
    with dask.config.set(scheduler="threads", num_workers=2):
        ours = lambda: dask.persist(  # noqa: E731
            wd.warp_affine(lazy_input, THETA[0], chunks=chunk))[0]
        theirs = lambda: dask.persist(ndinterp.affine_transform(  # noqa: E731
            lazy_input, matrix, offset, output_shape=(size, size), order=1,
            output_chunks=(chunk, chunk)))[0]
        warpkit_s = _median_time(ours, repeat)
        dask_image_s = _median_time(theirs, max(1, repeat // 2))
        a, b = ours().compute(), theirs().compute()
    inner = slice(size // 8, -size // 8)
    difference = float(np.abs(a[inner, inner] - b[inner, inner]).max())
    return dict(pixels=size * size, warpkit_s=warpkit_s, dask_image_s=dask_image_s,
                speedup=dask_image_s[0] / warpkit_s[0], max_interior_difference=difference)


def section_gradient(medium, chunk, **_):
    import dask
    import dask.array as da

    import warpkit
    from warpkit.dask._fit import loss_and_gradient

    size = medium
    rng = np.random.default_rng(2)
    fixed = rng.random((1, 1, size, size), dtype=np.float32)
    moving = rng.random((1, 1, size, size), dtype=np.float32)
    theta = THETA.copy()
    with dask.config.set(scheduler="threads", num_workers=2):
        runs = [loss_and_gradient(da.from_array(fixed, chunks=(1, 1, chunk, chunk)),
                                  da.from_array(moving, chunks=(1, 1, chunk // 2, chunk)),
                                  "affine", theta) for _ in range(2)]
    warped = warpkit.warp_affine(moving, theta)
    residual = warped.astype(np.float64) - fixed
    grad_output = (residual * (2.0 / residual.size)).astype(np.float32)
    expected = warpkit.warp_affine_vjp(moving, theta, grad_output, wrt=("theta",))[1]
    scale = float(np.abs(expected).max())
    return dict(pixels=size * size, identical_runs=bool(np.array_equal(runs[0][1], runs[1][1])),
                max_relative_difference=float(np.abs(runs[0][1] - expected).max() / scale),
                loss_relative_difference=abs(runs[0][0] - float(np.mean(residual ** 2)))
                / float(np.mean(residual ** 2)),
                gradient=runs[0][1].tolist(), in_memory=expected.tolist())


# ------------------------------------------------------------- the sections


def prepare(work, size, chunk, resume_size, fit_size, **_):
    """Write the Zarr inputs that are not there yet."""
    import dask.array as da

    from warpkit.dask import to_zarr

    for extent in {size, resume_size}:
        path = work / f"mosaic{extent}.zarr"
        if not (path / "zarr.json").exists() or _stored_chunks(path) < (extent // chunk) ** 2:
            print(f"writing {path} ({extent}² float32)", file=sys.stderr)
            write_mosaic(path, extent, chunk)
    truth = rigid(1.5, (12.3, -7.8), fit_size)
    np.save(work / f"truth{fit_size}.npy", truth)
    inverse = np.linalg.inv(np.vstack([truth[0], [0, 0, 1]]))[:2]
    chunks = da.core.normalize_chunks(chunk, (fit_size, fit_size))
    for name, matrix in (("fixed", np.eye(2, 3)), ("moving", inverse)):
        path = work / f"{name}{fit_size}.zarr"
        if not (path / "zarr.json").exists() or _stored_chunks(path) < len(chunks[0]) ** 2:
            print(f"writing {path}", file=sys.stderr)
            to_zarr(da.map_blocks(scene_block, dtype=np.float32, chunks=chunks,
                                  size=fit_size, inverse=matrix,
                                  meta=np.empty((0, 0), np.float32)), path)


def section_resume(work, params):
    """Kill a write half-way, resume it, and count what the resumed run did."""
    target = work / f"resumed{params['resume_size']}.zarr"
    shutil.rmtree(target, ignore_errors=True)
    total = (params["resume_size"] // params["resume_chunk"]) ** 2

    def kill_half_way(process):
        while _stored_chunks(target) < total // 2 and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()

    run_child("resume_run", work, params, kill_after=kill_half_way)
    killed_at = _stored_chunks(target)
    resumed = run_child("resume_run", work, params)
    shutil.rmtree(target, ignore_errors=True)
    fresh = run_child("resume_run", work, params)
    return dict(total_chunks=total, chunks_when_killed=killed_at,
                resumed_computed=resumed["chunks_after"] - resumed["chunks_before"],
                resumed_s=resumed["wall_s"], fresh_s=fresh["wall_s"])


def thumbnails(work, size, out):
    """The mosaic picture: the input and the warped output, averaged down to 1024²."""
    import dask.array as da
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    factor = max(size // 1024, 1)
    pictures = []
    for name in (f"mosaic{size}.zarr", f"warped{size}.zarr"):
        array = da.from_zarr(str(work / name))
        pictures.append(da.coarsen(np.mean, array, {0: factor, 1: factor}).compute())
    figure, axes = plt.subplots(1, 2, figsize=(10, 5.2))
    for axis, picture, title in zip(axes, pictures, (
            f"input: {size}² float32 in Zarr ({size * size * 4 / 2**30:.0f} GiB)",
            "warpkit.dask.warp_affine → Zarr")):
        axis.imshow(picture, cmap="gray", vmin=0, vmax=1)
        axis.set_title(title, fontsize=10)
        axis.set_axis_off()
    figure.tight_layout()
    figure.savefig(out / "mosaic.png", dpi=100)
    plt.close(figure)


def report(results, params, out):
    """The Markdown report with every target's row, met or not."""
    lines = ["# warpkit.dask: out-of-core figures", "",
             f"Measured by `python -m benchmarks.out_of_core` on {results['machine']}, "
             f"{results['date']}.  Dask threaded scheduler, 2 workers; float32; medians "
             f"after a warm-up.", ""]
    rows = []
    big = results.get("big_warp")
    if big:
        rows.append((f"{params['size']}² affine warp, Zarr → Zarr: peak RSS",
                     f"{big['peak_rss_mib']:.0f} MiB ({big['wall_s']:.0f} s)", "< 1536 MiB",
                     big["peak_rss_mib"] < 1536))
    put = results.get("throughput")
    if put:
        rows.append((f"{params['medium']}² dask (2 workers) / in-memory fused warp",
                     f"{put['ratio_2_workers']:.2f}×", "≤ 1.5×", put["ratio_2_workers"] <= 1.5))
    image = results.get("dask_image")
    if image:
        rows.append((f"{params['medium']}²: dask-image affine_transform / warpkit.dask",
                     f"{image['speedup']:.1f}×", "≥ 10×", image["speedup"] >= 10))
    grad = results.get("gradient")
    if grad:
        rows.append((f"{params['medium']}² MSE gradient w.r.t. theta vs in-memory",
                     f"{grad['max_relative_difference']:.1e} relative; runs identical: "
                     f"{grad['identical_runs']}", "float64 rounding, identical",
                     grad["identical_runs"] and grad["max_relative_difference"] < 1e-9))
    fit = results.get("fit")
    if fit:
        rows.append((f"fit_transform, two {params['fit_size']}² images", f"{fit['rms_pixels']:.3f}"
                     f" px RMS ({fit['wall_s']:.0f} s)", "< 0.05 px", fit["rms_pixels"] < 0.05))
    _summary(rows, out)
    lines += ["| figure | measured | target | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {'yes' if d else 'no'} |" for a, b, c, d in rows]
    lines.append("")
    if put:
        lines += ["## Throughput", "",
                  f"In memory {put['in_memory_s'][0] * 1e3:.0f} ms; Dask 1 worker "
                  f"{put['dask_1_s'][0] * 1e3:.0f} ms, 2 workers {put['dask_2_s'][0] * 1e3:.0f} "
                  f"ms: scaling 1 → 2 workers {put['scaling_1_to_2']:.2f}× (the kernels "
                  f"release the GIL).", ""]
    if image:
        lines += ["## dask-image", "", f"warpkit.dask {image['warpkit_s'][0] * 1e3:.0f} ms, "
                  f"dask-image {image['dask_image_s'][0] * 1e3:.0f} ms; largest difference "
                  f"away from the border {image['max_interior_difference']:.1e}.", ""]
    resume = results.get("resume")
    if resume:
        lines += ["## Resume", "", f"A {params['resume_size']}² write of "
                  f"{resume['total_chunks']} chunks killed with {resume['chunks_when_killed']} "
                  f"chunks stored; the resumed run computed {resume['resumed_computed']} "
                  f"chunks in {resume['resumed_s']:.1f} s (a fresh write takes "
                  f"{resume['fresh_s']:.1f} s).", ""]
    if big:
        lines += ["## The big warp", "", f"{big['input_gib']:.1f} GiB in, the same out; "
                  f"{big['wall_s']:.0f} s wall, peak resident memory "
                  f"{big['peak_rss_mib']:.0f} MiB (kernel compile and warm-up "
                  f"{big['warmup_s']:.1f} s, not included).", "", "![mosaic](mosaic.png)", ""]
    if fit:
        lines += ["## fit_transform", "", f"Levels {fit['shapes']}, steps {fit['steps']}: "
                  f"map error {fit['start_rms_pixels']:.1f} → {fit['rms_pixels']:.3f} px RMS, "
                  f"loss {fit['first_loss']:.3g} → {fit['final_loss']:.3g}, {fit['wall_s']:.0f} "
                  f"s, peak RSS {fit['peak_rss_mib']:.0f} MiB.", ""]
    (out / "report.md").write_text("\n".join(lines))


def _summary(rows, out):
    """The targets' table as reStructuredText, for the docs' out-of-core page."""
    table = [("figure", "measured", "target", "met")] + [
        (a, b, c, "yes" if d else "no") for a, b, c, d in rows]
    widths = [max(len(row[k]) for row in table) for k in range(4)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(v.ljust(w) for v, w in zip(table[0], widths)).rstrip(), rule]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table[1:]]
    lines.append(rule)
    (out / "summary.rst").write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--work", default=None, help="folder for the Zarr stores")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = CHILDREN[args.child](Path(args.work), **json.loads(args.params))
        print(json.dumps(result))
        return
    params = dict(QUICK if args.quick else FULL)
    work = Path(args.work or ("/tmp/warpkit-ooc-quick" if args.quick else "/tmp/warpkit-ooc"))
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"--only names unknown sections {sorted(unknown)}; known: {SECTIONS}")
    results = dict(machine=f"{os.cpu_count()} cores", date=time.strftime("%Y-%m-%d"),
                   params=params)
    previous = out / "results.json"
    if set(only) != set(SECTIONS) and previous.exists():  # update the sections run
        kept = json.loads(previous.read_text())
        if kept.get("params") == params:
            results = dict(kept, date=results["date"])
    if {"big_warp", "resume", "fit"} & set(only):
        prepare(work, **params)
    for name in only:
        print(f"== {name}", file=sys.stderr)
        if name == "big_warp":
            results[name] = run_child("big_warp", work, params)
            thumbnails(work, params["size"], out)
        elif name == "resume":
            results[name] = section_resume(work, params)
        elif name == "fit":
            results[name] = run_child("fit", work, params)
        else:
            results[name] = globals()[f"section_{name}"](**params)
        print(json.dumps(results[name])[:400], file=sys.stderr)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    report(results, params, out)
    print((out / "report.md").read_text())


if __name__ == "__main__":
    main()
