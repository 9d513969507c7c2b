"""The ``warpkit`` command: train spatial transformer networks, tabulate them, warp images.

::

    warpkit train --dataset RTS --model st-cnn --epochs 50 --out runs/rts
    warpkit table --quick --out runs/table
    warpkit warp photo.jpg tilted.png --rotate 15 --perspective 0.05

``train`` and ``table`` need the ``train`` extra (``pip install 'warpkit[train]'``:
scikit-learn for the built-in digits, tqdm, matplotlib, Pillow); ``warp``
needs Pillow.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

__all__ = ["main", "train_one", "build_parser"]

DATASET_NAMES = ("R", "RTS", "P", "E", "cluttered")
MODEL_NAMES = ("fcn", "cnn", "st-fcn", "st-cnn")
TRANSFORM_NAMES = ("affine", "projective", "tps", "attention")
DEFAULT_LR = 3e-3
# Adam moves every parameter by about the learning rate per step, whatever the size of its
# gradient: at the full rate the young transformer can swing the digit out of the frame,
# where it gets no gradient back.  The transformer learns at 0.3x the rate.
DEFAULT_LOC_LR_SCALE = 0.3

# `warpkit table --quick`: the README's main job, about five minutes on 2 cores.
QUICK = {"datasets": "RTS,P,E", "models": "cnn,st-cnn", "seeds": "0,1,2", "epochs": 15,
         "image_size": 28}


class CommandError(Exception):
    """A user error: printed as ``warpkit <command>: error: ...`` with exit status 2."""


def _choice(kind, value, valid):
    if value not in valid:
        raise CommandError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")
    return value


def _names(kind, text, valid):
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise CommandError(f"no {kind}s given; valid {kind}s: {', '.join(valid)}")
    for item in items:
        _choice(kind, item, valid)
    return items


def _seeds(text):
    try:
        seeds = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise CommandError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if not seeds:
        raise CommandError("--seeds is empty")
    return seeds


def _limit_threads(threads):
    """Limit BLAS threads (threadpoolctl comes with scikit-learn); returns a context or None."""
    if not threads:
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=int(threads))


# ---------------------------------------------------------------------------- train

def st_pool_for(dataset, st_pool):
    """The transformer-output pooling: ``auto`` pools the 60x60 cluttered canvas 2x."""
    if st_pool == "auto":
        return 2 if dataset == "cluttered" else 1
    return int(st_pool)


def train_one(dataset="RTS", model="st-cnn", transform="affine", epochs=10, seed=0,
              batch_size=64, lr=DEFAULT_LR, loc_lr_scale=DEFAULT_LOC_LR_SCALE,
              weight_decay=0.0, st_pool="auto", st_size=None, limit=None, fixed_train=False,
              progress=True, out=None, picture=True, image_size=None):
    """Train one model on one distorted-digit set; returns its metrics dict.

    The optimizer is Adam with a cosine learning-rate decay over all steps,
    ``loc_lr_scale`` times the rate for the spatial transformer, and gradient
    clipping at norm 10.  The training images are redrawn every epoch
    (the distortions of :meth:`DigitDataset.resample_train`) unless
    ``fixed_train``.

    Examples
    --------
    >>> from warpkit.cli import train_one
    >>> metrics = train_one("R", "cnn", epochs=1, limit=64, progress=False, picture=False)
    >>> sorted(metrics)[:4], metrics["epochs"]
    (['batch_size', 'dataset', 'epochs', 'history'], 1)
    """
    from warpkit import nn
    from warpkit.data import make_dataset

    _choice("dataset", dataset, DATASET_NAMES)
    _choice("model", model, MODEL_NAMES)
    _choice("transform", transform, TRANSFORM_NAMES)
    if int(epochs) < 1:
        raise CommandError(f"--epochs must be >= 1, got {epochs}")
    start = time.perf_counter()
    data = make_dataset(dataset, seed=seed, image_size=image_size)
    x_test, y_test = data.x_test, data.y_test
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]

    def train_set(epoch):
        x, y = (data.x_train, data.y_train) if fixed_train or epoch == 0 \
            else data.resample_train(epoch)
        return (x[:limit], y[:limit]) if limit else (x, y)

    is_st = model.startswith("st-")
    pool = st_pool_for(dataset, st_pool) if is_st else 1
    options = {}
    if is_st:
        options = {"transform": transform, "st_pool": pool,
                   "st_output_size": (st_size, st_size) if st_size else None}
    net = nn.make_model(model, (1,) + tuple(data.image_size), num_classes=data.num_classes,
                        **options)
    params = net.init(np.random.default_rng(seed))
    steps = int(epochs) * -(-len(train_set(0)[0]) // batch_size)
    optimizer = nn.Adam(nn.cosine_decay(lr, steps, 0.02), weight_decay=weight_decay,
                        clip_norm=10.0, lr_scale={"st": loc_lr_scale} if is_st else None)
    checkpoint = os.path.join(out, "params.npz") if out else None
    if out:
        os.makedirs(out, exist_ok=True)
    result = nn.fit(net.apply, params, train_set, epochs=int(epochs), optimizer=optimizer,
                    batch_size=batch_size, seed=seed, validation=(x_test, y_test),
                    progress=progress, checkpoint_path=checkpoint)
    last = result.history[-1]
    metrics = {
        "dataset": dataset, "model": model, "transform": transform if is_st else None,
        "epochs": int(epochs), "seed": int(seed),
        "train_error": last["train_error"], "test_error": last["test_error"],
        "seconds": time.perf_counter() - start,
        "train_seconds": result.seconds,
        "image_size": list(data.image_size), "n_train": len(train_set(0)[0]),
        "n_test": len(x_test), "batch_size": int(batch_size), "lr": lr,
        "loc_lr_scale": loc_lr_scale if is_st else None, "st_pool": pool if is_st else None,
        "st_output_size": list(net.transformer.output_size) if is_st else None,
        "redrawn_train": not fixed_train,
        "history": result.history,
    }
    if out:
        with open(os.path.join(out, "metrics.json"), "w") as handle:
            json.dump(metrics, handle, indent=2)
        if picture:
            save_transformer_picture(os.path.join(out, "transformer.png"), net, result.params,
                                     x_test[:8], y_test[:8])
    return metrics


def save_transformer_picture(path, net, params, images, labels):
    """Draw ``images`` (top row) above what the spatial transformer made of them.

    For a model without a transformer only the inputs are drawn.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs, _ = net.transformed(params, images)
    rows = [("input", images)] + ([("transformer output", outputs)]
                                  if net.transformer is not None else [])
    count = len(images)
    figure, axes = plt.subplots(len(rows), count, figsize=(1.3 * count, 1.5 * len(rows)),
                                squeeze=False)
    for row, (title, batch) in enumerate(rows):
        for column in range(count):
            axis = axes[row, column]
            axis.imshow(np.asarray(batch[column, 0]), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(title, fontsize=7)
            if row == 0:
                axis.set_title(str(labels[column]), fontsize=8)
    figure.suptitle(f"{net.name} ({net.transform or 'no transformer'})", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _cmd_train(args):
    with _context(_limit_threads(args.threads)):
        metrics = train_one(
            args.dataset, args.model, args.transform, args.epochs, args.seed, args.batch_size,
            args.lr or DEFAULT_LR, args.loc_lr_scale, args.weight_decay, args.st_pool,
            args.st_size, args.limit, args.fixed_train, progress=not args.quiet, out=args.out,
            image_size=args.image_size)
    print(f"{metrics['model']} on {metrics['dataset']}: test error "
          f"{100 * metrics['test_error']:.2f}% (train {100 * metrics['train_error']:.2f}%), "
          f"{metrics['epochs']} epochs, seed {metrics['seed']}, {metrics['seconds']:.1f} s")
    if args.out:
        print(f"wrote {os.path.join(args.out, 'metrics.json')}"
              + (f" and {os.path.join(args.out, 'transformer.png')}" if metrics else ""))
    if args.json:
        summary = {key: value for key, value in metrics.items() if key != "history"}
        print(json.dumps(summary))
    return 0


class _context:
    def __init__(self, inner):
        self.inner = inner

    def __enter__(self):
        return self.inner.__enter__() if self.inner is not None else None

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc) if self.inner is not None else False


# ---------------------------------------------------------------------------- table

def _run_cell(job):
    threads = job.pop("threads")
    with _context(_limit_threads(threads)):
        return train_one(**job)


def format_table(results, datasets, models, seeds, epochs):
    """Markdown table of mean ± standard deviation of the test error (%) over seeds.

    Examples
    --------
    >>> from warpkit.cli import format_table
    >>> rows = [{"dataset": "R", "model": "cnn", "seed": s, "test_error": e}
    ...         for s, e in [(0, 0.10), (1, 0.12)]]
    >>> print(format_table(rows, ["R"], ["cnn"], [0, 1], 5))
    | model | R |
    |---|---:|
    | CNN | 11.0 ± 1.4 |
    <BLANKLINE>
    Test error (%) on the distorted digits: mean ± standard deviation over 2 seeds (0, 1), 5 epochs each.
    """
    lines = ["| model | " + " | ".join(datasets) + " |",
             "|---|" + "---:|" * len(datasets)]
    for model in models:
        cells = []
        for dataset in datasets:
            errors = [100 * r["test_error"] for r in results
                      if r["model"] == model and r["dataset"] == dataset]
            if not errors:
                cells.append("–")
                continue
            spread = float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0
            cells.append(f"{np.mean(errors):.1f} ± {spread:.1f}")
        label = model.upper()
        transforms = {r.get("transform") for r in results if r["model"] == model} - {None}
        if transforms:
            label += " (" + ", ".join(sorted(transforms)) + ")"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Test error (%) on the distorted digits: mean ± standard deviation over "
                 f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), {epochs} epochs each.")
    return "\n".join(lines)


def save_table_plot(path, results, datasets, models):
    """Bar chart of the test errors: one group per dataset, one bar per model, seeds as dots."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(1.8 + 1.6 * len(datasets), 3.2))
    width = 0.8 / len(models)
    for index, model in enumerate(models):
        for column, dataset in enumerate(datasets):
            errors = [100 * r["test_error"] for r in results
                      if r["model"] == model and r["dataset"] == dataset]
            if not errors:
                continue
            x = column + (index - (len(models) - 1) / 2) * width
            axis.bar(x, np.mean(errors), width, color=f"C{index}",
                     label=model if column == 0 else None)
            axis.plot([x] * len(errors), errors, "k.", markersize=3)
    axis.set_xticks(range(len(datasets)))
    axis.set_xticklabels(datasets)
    axis.set_ylabel("test error (%)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _cmd_table(args):
    datasets = _names("dataset", args.datasets or QUICK["datasets"] if args.quick
                      else args.datasets or ",".join(DATASET_NAMES), DATASET_NAMES)
    models = _names("model", args.models or QUICK["models"] if args.quick
                    else args.models or ",".join(MODEL_NAMES), MODEL_NAMES)
    seeds = _seeds(args.seeds or (QUICK["seeds"] if args.quick else "0,1,2"))
    epochs = args.epochs or (QUICK["epochs"] if args.quick else 50)
    image_size = args.image_size or (QUICK["image_size"] if args.quick else None)
    lr = args.lr or DEFAULT_LR
    workers = args.jobs or min(2, os.cpu_count() or 1)
    threads = args.threads or (1 if workers > 1 else None)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    jobs = []
    for dataset in datasets:
        for model in models:
            for seed in seeds:
                out = os.path.join(args.out, f"{dataset}-{model}-seed{seed}") if args.out else None
                jobs.append(dict(dataset=dataset, model=model, transform=args.transform,
                                 epochs=epochs, seed=seed, batch_size=args.batch_size,
                                 lr=lr, loc_lr_scale=args.loc_lr_scale,
                                 weight_decay=args.weight_decay, st_pool=args.st_pool,
                                 limit=args.limit, progress=False, out=out,
                                 image_size=image_size,
                                 picture=model.startswith("st-"), threads=threads))
    print(f"training {len(jobs)} models ({', '.join(models)} on {', '.join(datasets)}; "
          f"seeds {', '.join(map(str, seeds))}; {epochs} epochs) with {workers} job(s)",
          file=sys.stderr)
    start = time.perf_counter()
    results = []
    progress = _table_progress(len(jobs), not args.quiet)

    def record(metrics):
        results.append(metrics)
        if progress is not None:
            progress.set_postfix_str(
                f"{metrics['model']} {metrics['dataset']} s{metrics['seed']}: "
                f"{100 * metrics['test_error']:.1f}%", refresh=False)
            progress.update(1)

    try:
        if workers > 1:
            import concurrent.futures
            import multiprocessing
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
                for metrics in pool.map(_run_cell, jobs):
                    record(metrics)
        else:
            for job in jobs:
                record(_run_cell(job))
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - start
    table = format_table(results, datasets, models, seeds, epochs)
    sizes = sorted({tuple(r["image_size"]) for r in results})
    table += (f"\nImages {', '.join(f'{h}x{w}' for h, w in sizes)}; Adam, learning rate {lr:g} "
              f"with cosine decay ({args.loc_lr_scale:g}x for the transformer), batch "
              f"{args.batch_size}; training distortions redrawn every epoch.")
    print(table)
    print(f"\n{len(jobs)} training runs in {seconds:.0f} s.")
    if args.out:
        with open(os.path.join(args.out, "table.md"), "w") as handle:
            handle.write(table + "\n")
        with open(os.path.join(args.out, "results.json"), "w") as handle:
            json.dump({"datasets": datasets, "models": models, "seeds": seeds,
                       "epochs": epochs, "seconds": seconds,
                       "runs": [{k: v for k, v in r.items() if k != "history"}
                                for r in results]}, handle, indent=2)
        save_table_plot(os.path.join(args.out, "table.png"), results, datasets, models)
        print(f"wrote {os.path.join(args.out, 'table.md')}, results.json, table.png and one "
              f"folder per run (metrics.json, transformer.png)")
    return 0


def _table_progress(total, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="run", dynamic_ncols=True)


# ---------------------------------------------------------------------------- warp

def _cmd_warp(args):
    from warpkit.data import warp_image_file
    try:
        warp_image_file(args.input, args.output, rotate=args.rotate, scale=args.scale,
                        shear=args.shear, translate=tuple(args.translate),
                        perspective=args.perspective, tps_jitter=args.tps_jitter,
                        seed=args.seed, mode=args.mode, padding_mode=args.padding_mode)
    except (OSError, ValueError, TypeError) as error:
        raise CommandError(str(error)) from None
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------------------- parser

def _training_options(parser):
    parser.add_argument("--transform", default="affine", metavar="{affine,projective,tps}",
                        help="the spatial transformer's family for st-* models (also "
                             "'attention': translation + scale) (default: affine)")
    parser.add_argument("--batch-size", type=int, default=64, help="(default: 64)")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"Adam learning rate, cosine-decayed over training (default: "
                             f"{DEFAULT_LR:g})")
    parser.add_argument("--loc-lr-scale", type=float, default=DEFAULT_LOC_LR_SCALE,
                        help=f"learning-rate multiplier of the spatial transformer (default: "
                             f"{DEFAULT_LOC_LR_SCALE:g})")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="(default: 0)")
    parser.add_argument("--st-pool", default="auto",
                        help="max-pool the transformer output by this factor before the "
                             "classifier; 'auto' = 2 for cluttered, else 1")
    parser.add_argument("--image-size", type=int, default=None, metavar="S",
                        help="resample the images to SxS (same field of view; default: the "
                             "set's native size: 28, RTS 42, cluttered 60)")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="use at most N training and N test images (quick checks)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads per training process (default: the library's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser():
    """The argument parser of the ``warpkit`` command."""
    parser = argparse.ArgumentParser(
        prog="warpkit",
        description="Train and compare spatial transformer networks on distorted digits, "
                    "and warp image files.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train", help="train one model on one distorted-digit set",
        description="Train one model on one distorted-digit set (the 1 797 handwritten "
                    "digits of scikit-learn, upscaled and distorted as in the STN paper). "
                    "Prints the final test error; with --out writes metrics.json, "
                    "params.npz and transformer.png.")
    train.add_argument("--dataset", default="RTS", help=f"one of {', '.join(DATASET_NAMES)} "
                                                        "(default: RTS)")
    train.add_argument("--model", default="st-cnn", help=f"one of {', '.join(MODEL_NAMES)} "
                                                         "(default: st-cnn)")
    train.add_argument("--epochs", type=int, default=10, help="(default: 10)")
    train.add_argument("--seed", type=int, default=0, help="(default: 0)")
    train.add_argument("--out", default=None, metavar="DIR",
                       help="folder for metrics.json, params.npz and transformer.png")
    train.add_argument("--json", action="store_true",
                       help="print the metrics as JSON on the last line of stdout")
    train.add_argument("--st-size", type=int, default=None, metavar="S",
                       help="transformer output size SxS (default: the input's)")
    train.add_argument("--fixed-train", action="store_true",
                       help="keep one fixed training set instead of redrawing the "
                            "distortions every epoch")
    _training_options(train)
    train.set_defaults(handler=_cmd_train)

    table = commands.add_parser(
        "table", help="train the models x datasets matrix and print Table 1 of the STN paper",
        description="Train every model on every dataset for every seed and print a Markdown "
                    "table of test errors (mean ± standard deviation over seeds) in the shape "
                    "of Table 1 of the STN paper, plus a plot (with --out).")
    table.add_argument("--quick", action="store_true",
                       help=f"the short table: datasets {QUICK['datasets']}, models "
                            f"{QUICK['models']}, seeds {QUICK['seeds']}, {QUICK['epochs']} "
                            f"epochs, images {QUICK['image_size']}x{QUICK['image_size']} "
                            f"(explicit flags override)")
    table.add_argument("--datasets", default=None,
                       help=f"comma-separated (default: {','.join(DATASET_NAMES)})")
    table.add_argument("--models", default=None,
                       help=f"comma-separated (default: {','.join(MODEL_NAMES)})")
    table.add_argument("--seeds", default=None, help="comma-separated (default: 0,1,2)")
    table.add_argument("--epochs", type=int, default=None, help="(default: 50)")
    table.add_argument("--jobs", type=int, default=None,
                       help="training processes run at once, each with --threads BLAS "
                            "threads (default: 2 where there are 2 cores, threads 1)")
    table.add_argument("--out", default=None, metavar="DIR",
                       help="folder for table.md, results.json, table.png and the runs")
    _training_options(table)
    table.set_defaults(handler=_cmd_table)

    warp = commands.add_parser(
        "warp", help="warp an image file",
        description="Warp an image file about its centre: scale, shear, rotate, translate, "
                    "then optional random perspective and elastic (thin-plate-spline) jitter.")
    warp.add_argument("input", metavar="IN", help="image file to read")
    warp.add_argument("output", metavar="OUT", help="image file to write (format from extension)")
    warp.add_argument("--rotate", type=float, default=0.0, help="degrees, counter-clockwise")
    warp.add_argument("--scale", type=float, default=1.0, help="zoom factor (default: 1)")
    warp.add_argument("--shear", type=float, default=0.0, help="horizontal shear in degrees")
    warp.add_argument("--translate", type=float, nargs=2, default=(0.0, 0.0),
                      metavar=("DX", "DY"), help="shift as fractions of width and height")
    warp.add_argument("--perspective", type=float, default=0.0,
                      help="random corner jitter as a fraction of the size")
    warp.add_argument("--tps-jitter", type=float, default=0.0,
                      help="random thin-plate-spline jitter as a fraction of the size")
    warp.add_argument("--seed", type=int, default=0, help="seed of the random jitters")
    warp.add_argument("--mode", default="bilinear", choices=("bilinear", "nearest", "bicubic"))
    warp.add_argument("--padding-mode", default="zeros",
                      choices=("zeros", "border", "reflection"))
    warp.set_defaults(handler=_cmd_warp)
    return parser


def main(argv=None):
    """Entry point of the ``warpkit`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "limit", None) is not None and args.limit < 1:
            raise CommandError(f"--limit must be >= 1, got {args.limit}")
        return args.handler(args)
    except CommandError as error:
        print(f"warpkit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"warpkit {args.command}: error: {error}; install the extra with "
              f"pip install 'warpkit[train]'", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 -- a clear message instead of a traceback
        from warpkit.nn import NonFiniteLossError
        if isinstance(error, NonFiniteLossError):
            print(f"warpkit {args.command}: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
