"""The MNIST-addition experiment of the STN paper: parallel transformers against a plain CNN.

Every example of :func:`warpkit.data.addition.make_addition_dataset` holds two
independently rotated, scaled and translated digits, one per channel, and its
class is their sum.  :func:`train_addition` trains one model on it;
:func:`run_addition` trains several models over several seeds and writes a
Markdown table of their test errors next to the paper's, plus a picture per
run of what every transformer makes of a few test examples.

The models (:data:`ADDITION_MODELS`) are the plain classifiers of
:class:`warpkit.nn.Model` (``fcn``, ``cnn``), those classifiers behind one
transformer (``st-fcn``, ``st-cnn``), and behind two transformers in parallel
(``st-fcn-multi``, ``st-cnn-multi``: :class:`warpkit.nn.multi.MultiTransformerModel`).
These functions need the ``train`` extra (matplotlib for the pictures, tqdm
for progress bars) and the digits of :func:`warpkit.data.digit_source`.
"""

import json
import os
import time

import numpy as np

from .experiments import DEFAULT_LOC_LR_SCALE
from .pictures import fit_view, sampling_outline

__all__ = ["ADDITION_MODELS", "PAPER_ERRORS", "RUN_FILES", "TABLE_FILES", "DEFAULT_EPOCHS",
           "DEFAULT_CURRICULUM", "DEFAULT_BATCH_SIZE", "DEFAULT_LR", "DEFAULT_ST_SIZE",
           "DEFAULT_KEEP",
           "make_addition_model", "train_addition", "run_addition", "format_addition_table",
           "save_addition_picture"]

ADDITION_MODELS = ("fcn", "cnn", "st-fcn", "st-cnn", "st-fcn-multi", "st-cnn-multi")

PAPER_ERRORS = {"fcn": ("FCN", 47.7), "cnn": ("CNN", 14.7), "st-fcn": ("ST-FCN", 18.5),
                "st-cnn": ("ST-FCN", 18.5), "st-fcn-multi": ("2×ST-FCN", 5.8),
                "st-cnn-multi": ("2×ST-FCN", 5.8)}
"""The paper's test error (%) on MNIST addition of the model closest to each one here.

The paper's transformer models read their outputs with a fully connected
classifier (FCN); it has no transformer-plus-CNN model for this task, so the
``st-cnn*`` rows stand beside the ``ST-FCN`` ones.  It trains on all of
MNIST for far longer than a run here.
"""

RUN_FILES = ("metrics.json", "params.npz", "transformers.png")
"""The files of every run folder."""

TABLE_FILES = ("table.md", "results.json")
"""The files :func:`run_addition` writes next to its run folders."""

DEFAULT_EPOCHS = 28
"""Passes over the (redrawn) training pairs."""

DEFAULT_CURRICULUM = 10
"""Epochs over which the training distortions grow to the paper's (see
:meth:`warpkit.data.addition.AdditionDataset.train_strength`).

Trained on the full distortions from the first step, neither the CNN nor the
transformers learn anything in a few minutes: the classifier must learn the
sum before a transformer gets a useful gradient.  Digits that start nearly
upright and centred let the classifier learn the sum first; the
transformers then learn to undo the distortions as they grow.
"""

DEFAULT_BATCH_SIZE = 32
"""Pairs per gradient step (small batches: many steps in a short run)."""

DEFAULT_LR = 2e-3
"""Adam's learning rate, cosine-decayed over the training steps."""

DEFAULT_ST_SIZE = 28
"""Side of every transformer's output: a digit's frame, read from the 42x42 canvas."""

DEFAULT_KEEP = "own"
"""What each transformer of a ``*-multi`` model passes on (see
:class:`warpkit.nn.multi.MultiTransformerModel`): tied to one channel each, the
transformers learn within the few minutes of a run here; passing on both
channels (the paper's ``"all"``) leaves them to co-adapt, which takes longer.
"""


def make_addition_model(name, image_size=(42, 42), *, transform="affine",
                        st_size=DEFAULT_ST_SIZE, keep=DEFAULT_KEEP, num_classes=19):
    """The classifier ``name`` of :data:`ADDITION_MODELS` for two-channel ``image_size`` inputs.

    Parameters
    ----------
    name : str
        One of :data:`ADDITION_MODELS`.
    image_size : (int, int), optional
        ``(H, W)`` of the two-channel inputs.
    transform : str, optional
        The transformers' family (``st-*`` models only).
    st_size : int, optional
        Side of every transformer's square output (``st-*`` models only).
    keep : {"all", "own"}, optional
        What each transformer of a ``*-multi`` model passes on (see
        :class:`warpkit.nn.multi.MultiTransformerModel`).
    num_classes : int, optional

    Returns
    -------
    warpkit.nn.Model or warpkit.nn.multi.MultiTransformerModel

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ADDITION_MODELS`, or an option is
        invalid for the model.

    Examples
    --------
    >>> from warpkit.addition import make_addition_model
    >>> make_addition_model("st-cnn-multi").classifier_input  # one channel per transformer
    (2, 28, 28)
    >>> make_addition_model("st-cnn-multi", keep="all").classifier_input
    (4, 28, 28)
    >>> make_addition_model("cnn").classifier_input
    (2, 42, 42)
    """
    from warpkit import nn
    from warpkit.nn.multi import MultiTransformerModel

    if name not in ADDITION_MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(ADDITION_MODELS)}")
    input_shape = (2,) + tuple(image_size)
    if name.endswith("-multi"):
        return MultiTransformerModel(input_shape, num_classes, num_transformers=2,
                                     classifier=name[3:-6], transform=transform,
                                     st_output_size=st_size, keep=keep)
    options = {}
    if name.startswith("st-"):
        options = {"transform": transform, "st_output_size": (st_size, st_size)}
    return nn.make_model(name, input_shape, num_classes=num_classes, **options)


def _dataset(seed, options):
    from warpkit.data.addition import make_addition_dataset

    return make_addition_dataset(seed, **options)


def train_addition(model="st-cnn-multi", seed=0, epochs=DEFAULT_EPOCHS, *, data=None,
                   train_size=None, test_size=None, image_size=42,
                   curriculum=DEFAULT_CURRICULUM, source="mnist",
                   batch_size=DEFAULT_BATCH_SIZE, lr=DEFAULT_LR,
                   loc_lr_scale=DEFAULT_LOC_LR_SCALE, transform="affine",
                   st_size=DEFAULT_ST_SIZE, keep=DEFAULT_KEEP, progress=True, out=None,
                   picture=True):
    """Train one model of :data:`ADDITION_MODELS` on MNIST addition; returns its metrics.

    Adam with a cosine learning-rate decay over all steps (to 2 % of ``lr``),
    ``loc_lr_scale`` times the rate for the transformers (the ``"st"``
    parameter group) and gradient clipping at norm 10, as
    :func:`warpkit.experiments.train_one` trains.  The training pairs and
    their distortions are redrawn every epoch.

    Parameters
    ----------
    model : str, optional
        One of :data:`ADDITION_MODELS`.
    seed : int, optional
        Seed of the dataset (when ``data`` is not given), the initialization
        and the batch order.
    epochs : int, optional
        Passes over the training pairs (>= 1).
    data : AdditionDataset, optional
        A dataset to reuse (e.g. by several models of one seed); the five
        dataset options below are then ignored.
    train_size, test_size, image_size, curriculum, source
        The dataset, as for :func:`~warpkit.data.addition.make_addition_dataset`.
    batch_size, lr, loc_lr_scale
        The optimization.
    transform, st_size, keep
        The model, as for :func:`make_addition_model`.
    progress : bool, optional
        A tqdm bar over the epochs.
    out : str, optional
        A folder for :data:`RUN_FILES` (the picture only with ``picture``).
    picture : bool, optional

    Returns
    -------
    dict
        ``model``, ``seed``, ``test_error``, ``train_error`` (fractions),
        ``parameters`` (the model's parameter count), ``seconds``, the
        settings, and the per-epoch ``history``.

    Raises
    ------
    ValueError
        If ``epochs < 1`` or a name or size is invalid.

    Examples
    --------
    >>> from warpkit.addition import train_addition
    >>> metrics = train_addition("cnn", epochs=1, train_size=16, test_size=8,
    ...                          progress=False)
    >>> metrics["model"], metrics["epochs"], 0.0 <= metrics["test_error"] <= 1.0
    ('cnn', 1, True)
    """
    from warpkit import nn

    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    epochs = int(epochs)
    start = time.perf_counter()
    if data is None:
        data = _dataset(seed, dict(train_size=train_size, test_size=test_size,
                                   image_size=image_size, curriculum=curriculum,
                                   source=source))
    net = make_addition_model(model, data.image_size, transform=transform, st_size=st_size,
                              keep=keep)
    is_st = model.startswith("st-")

    def train_set(epoch):
        return (data.x_train, data.y_train) if epoch == 0 else data.resample_train(epoch)

    params = net.init(np.random.default_rng(seed))
    steps = epochs * -(-len(data.y_train) // batch_size)
    optimizer = nn.Adam(nn.cosine_decay(lr, steps, 0.02), clip_norm=10.0,
                        lr_scale={"st": loc_lr_scale} if is_st else None)
    if out:
        os.makedirs(out, exist_ok=True)
    result = nn.fit(net.apply, params, train_set, epochs=epochs, optimizer=optimizer,
                    batch_size=batch_size, seed=seed, validation=(data.x_test, data.y_test),
                    progress=progress,
                    checkpoint_path=os.path.join(out, RUN_FILES[1]) if out else None)
    last = result.history[-1]
    metrics = {
        "dataset": "addition", "source": data.source, "model": model,
        "transform": transform if is_st else None, "transformers": len(_transformers_of(net)),
        "keep": keep if model.endswith("-multi") else None,
        "st_size": st_size if is_st else None, "parameters": nn.tree_size(params),
        "epochs": epochs, "seed": int(seed), "data_seed": data.seed,
        "curriculum": data.curriculum,
        "train_error": last["train_error"], "test_error": last["test_error"],
        "seconds": time.perf_counter() - start, "train_seconds": result.seconds,
        "image_size": list(data.image_size), "n_train": len(data.y_train),
        "n_test": len(data.y_test), "batch_size": batch_size, "lr": lr,
        "loc_lr_scale": loc_lr_scale if is_st else None, "history": result.history,
    }
    if out:
        with open(os.path.join(out, RUN_FILES[0]), "w") as handle:
            json.dump(metrics, handle, indent=2)
        if picture:
            title = (f"MNIST addition ({data.source} digits), {model}, seed {seed}: "
                     f"test error {100 * metrics['test_error']:.1f}%")
            save_addition_picture(os.path.join(out, RUN_FILES[2]), net, result.params,
                                  data.x_test[:8], data.y_test[:8], title)
    return metrics


# ---------------------------------------------------------------------------- picture

_CHANNEL_COLOURS = np.array([[1.0, 0.25, 0.1], [0.1, 0.8, 1.0]])  # channel 0 orange, 1 cyan
_OUTLINE_COLOURS = ("#ffffff", "#ffd700")


def _composite(images):
    """Two-channel images (N, 2, H, W) as RGB (N, H, W, 3): channel 0 orange, channel 1 cyan."""
    images = np.asarray(images, dtype=float)
    rgb = np.einsum("nchw,ck->nhwk", images, _CHANNEL_COLOURS)
    return np.clip(rgb, 0.0, 1.0)


def _transformers_of(net):
    """The spatial transformers of ``net``, in the order of their output channels."""
    if hasattr(net, "transformers"):
        return list(net.transformers)
    return [] if net.transformer is None else [net.transformer]


def _views(net, params, images):
    """Every transformer's output as two channels (N, 2, h, w) and its sampling outline."""
    transformers = _transformers_of(net)
    groups = params["st"] if hasattr(net, "transformers") else [params.get("st")]
    views = []
    for index, (st, st_params) in enumerate(zip(transformers, groups)):
        outputs, theta = st(st_params, images)
        outputs = np.asarray(outputs)
        if getattr(net, "keep", "all") == "own":  # only channel ``index`` goes on
            kept = np.zeros_like(outputs)
            kept[:, index] = outputs[:, index]
            outputs = kept
        outline = sampling_outline(st.transform, np.asarray(theta), st.output_size,
                                   st.input_shape[1:], control_points=st.control_points,
                                   align_corners=st.align_corners)
        views.append((outputs, outline))
    return views


def save_addition_picture(path, net, params, images, labels, title):
    """Draw two-channel inputs, where every transformer reads, and what it passes on.

    The top row shows the inputs, channel 0 in orange and channel 1 in cyan
    (white where the digits overlap), with the outline of where each
    transformer reads (:func:`warpkit.pictures.sampling_outline`:
    transformer 1 white, transformer 2 gold; grey shows what lies outside
    the image).  A row per transformer shows
    what it passes to the classifier, in the same colours: both warped
    channels, or only its own one (``keep="own"``).  Column titles give the
    true sum and the network's answer.

    Parameters
    ----------
    path : str
        The PNG file to write.
    net : warpkit.nn.Model or warpkit.nn.multi.MultiTransformerModel
        A model of :func:`make_addition_model`; without a transformer only
        the inputs are drawn.
    params : pytree
        ``net``'s parameters.
    images : ndarray, shape (N, 2, H, W)
    labels : ndarray, shape (N,)
    title : str
        The figure's title (dataset, model, seed).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from warpkit.addition import make_addition_model, save_addition_picture
    >>> net = make_addition_model("st-cnn-multi", (20, 20), st_size=16)
    >>> params = net.init(np.random.default_rng(0))
    >>> images = np.random.default_rng(1).random((2, 2, 20, 20)).astype(np.float32)
    >>> path = os.path.join(tempfile.mkdtemp(), "transformers.png")
    >>> save_addition_picture(path, net, params, images, [3, 5], "demo")
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib.figure import Figure

    from warpkit import nn

    predicted = np.argmax(nn.predict(net.apply, params, images), axis=1)
    views = _views(net, params, images)
    columns, rows = len(images), 1 + len(views)
    figure = Figure(figsize=(1.45 * columns, 1.5 * rows + 0.5))
    axes = figure.subplots(rows, columns, squeeze=False)
    height, width = np.shape(images)[2:]
    for column in range(columns):
        axis = axes[0, column]
        axis.imshow(_composite(images[column:column + 1])[0])
        for index, (_, outline) in enumerate(views):
            axis.plot(outline[column, :, 0], outline[column, :, 1], linewidth=0.9,
                      color=_OUTLINE_COLOURS[index % len(_OUTLINE_COLOURS)])
        fit_view(axis, [outline[column] for _, outline in views], height, width)
        axis.set_title(f"sum {labels[column]}, net {predicted[column]}", fontsize=7)
        for row, (outputs, _) in enumerate(views, start=1):
            axes[row, column].imshow(_composite(outputs[column:column + 1])[0])
        for row in range(rows):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    axes[0, 0].set_ylabel("input +\nwhere they read" if views else "input", fontsize=7)
    for row in range(1, rows):
        axes[row, 0].set_ylabel(f"transformer {row}\noutput", fontsize=7)
    figure.suptitle(title, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


# ---------------------------------------------------------------------------- table

def format_addition_table(results, models, seeds, epochs):
    """Markdown table: test error (%) mean ± standard deviation over seeds, the paper's beside.

    Parameters
    ----------
    results : list of dict
        Metrics of :func:`train_addition` (``model``, ``test_error`` and
        optionally ``parameters``).
    models, seeds : sequence
        The rows, and the seeds named in the caption.
    epochs : int
        For the caption.

    Returns
    -------
    str

    Examples
    --------
    >>> from warpkit.addition import format_addition_table
    >>> rows = [{"model": "cnn", "test_error": e, "parameters": 1000} for e in (0.2, 0.3)]
    >>> print(format_addition_table(rows, ["cnn"], [0, 1], 5))
    | model | parameters | test error (%) | paper |
    |---|---:|---:|---|
    | CNN | 1 000 | 25.0 ± 7.1 | CNN: 14.7 |
    <BLANKLINE>
    MNIST addition, test error (%): mean ± standard deviation over 2 seeds (0, 1), 5 epochs each.
    """
    lines = ["| model | parameters | test error (%) | paper |", "|---|---:|---:|---|"]
    for model in models:
        runs = [r for r in results if r["model"] == model]
        errors = [100 * r["test_error"] for r in runs]
        if errors:
            spread = float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0
            cell = f"{np.mean(errors):.1f} ± {spread:.1f}"
        else:
            cell = "–"
        sizes = sorted({r["parameters"] for r in runs if "parameters" in r})
        size = ", ".join(f"{s:,}".replace(",", " ") for s in sizes) or "–"
        paper = PAPER_ERRORS.get(model)
        paper = f"{paper[0]}: {paper[1]}" if paper else "–"
        lines.append(f"| {model.upper()} | {size} | {cell} | {paper} |")
    lines.append("")
    lines.append(f"MNIST addition, test error (%): mean ± standard deviation over {len(seeds)} "
                 f"seeds ({', '.join(map(str, seeds))}), {epochs} epochs each.")
    return "\n".join(lines)


def run_addition(models=("cnn", "st-cnn-multi"), seeds=(0, 1, 2), epochs=DEFAULT_EPOCHS, *,
                 out=None, train_size=None, test_size=None, image_size=42,
                 curriculum=DEFAULT_CURRICULUM, source="mnist",
                 batch_size=DEFAULT_BATCH_SIZE, lr=DEFAULT_LR,
                 loc_lr_scale=DEFAULT_LOC_LR_SCALE, transform="affine",
                 st_size=DEFAULT_ST_SIZE, keep=DEFAULT_KEEP, picture=True, progress=True):
    """Train every model for every seed on MNIST addition; returns the table and the metrics.

    One dataset is built per seed and shared by the models of that seed.

    Parameters
    ----------
    models : sequence of str, optional
        Names from :data:`ADDITION_MODELS`.
    seeds : sequence of int, optional
    epochs : int, optional
    out : str, optional
        A folder for :data:`TABLE_FILES` and one sub-folder ``<model>-seed<k>``
        per run holding :data:`RUN_FILES` (the picture only with ``picture``).
    train_size, test_size, image_size, curriculum, source
        The datasets, as for :func:`~warpkit.data.addition.make_addition_dataset`.
    batch_size, lr, loc_lr_scale, transform, st_size, keep, picture
        As for :func:`train_addition`.
    progress : bool, optional
        A line per run on stderr and a tqdm bar over each run's epochs.

    Returns
    -------
    dict
        ``table`` (Markdown: :func:`format_addition_table` and a line on the
        settings), ``runs`` (every run's metrics, in order) and ``seconds``.

    Raises
    ------
    ValueError
        If a model name is unknown or no model or seed is given.

    Examples
    --------
    >>> from warpkit.addition import run_addition
    >>> result = run_addition(["cnn"], seeds=[0], epochs=1, train_size=16, test_size=8,
    ...                       progress=False)
    >>> print(result["table"].splitlines()[2].split("|")[1])
     CNN 
    """
    import sys

    models, seeds = list(models), [int(s) for s in seeds]
    unknown = [m for m in models if m not in ADDITION_MODELS]
    if unknown:
        raise ValueError(f"unknown models {unknown}; valid models: {', '.join(ADDITION_MODELS)}")
    if not models or not seeds:
        raise ValueError(f"run_addition needs at least one model and one seed, got models "
                         f"{models} and seeds {seeds}")
    dataset_options = dict(train_size=train_size, test_size=test_size, image_size=image_size,
                           curriculum=curriculum, source=source)
    training = dict(batch_size=batch_size, lr=lr, loc_lr_scale=loc_lr_scale,
                    transform=transform, st_size=st_size, keep=keep, picture=picture)
    start = time.perf_counter()
    runs = []
    for seed in seeds:
        data = _dataset(seed, dataset_options)
        for model in models:
            folder = os.path.join(out, f"{model}-seed{seed}") if out else None
            metrics = train_addition(model, seed, epochs, data=data, progress=progress,
                                     out=folder, **training)
            runs.append(metrics)
            if progress:
                print(f"{model} seed {seed}: test error {100 * metrics['test_error']:.1f}% "
                      f"({metrics['seconds']:.0f} s)", file=sys.stderr)
    seconds = time.perf_counter() - start
    first = runs[0]
    schedule = (f"distortions growing to the full ones over the first {curriculum} "
                f"epochs" if curriculum else "full distortions from the start")
    table = format_addition_table(runs, models, seeds, epochs)
    table += (f"\n{first['n_train']} training pairs of the training digits per epoch, redrawn "
              f"every epoch ({schedule}); {first['n_test']} test pairs of the test digits "
              f"({first['source']} digits, {image_size}x{image_size} canvases); Adam, learning "
              f"rate {lr:g} with cosine decay ({loc_lr_scale:g}x for the transformers: "
              f"{transform}, {st_size}x{st_size} outputs), batch {batch_size}; {len(runs)} "
              f"runs in {seconds:.0f} s.")
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, TABLE_FILES[0]), "w") as handle:
            handle.write(table + "\n")
        with open(os.path.join(out, TABLE_FILES[1]), "w") as handle:
            json.dump({"models": models, "seeds": seeds, "epochs": epochs, "seconds": seconds,
                       "runs": [{k: v for k, v in r.items() if k != "history"} for r in runs]},
                      handle, indent=2)
    return {"table": table, "runs": runs, "seconds": seconds}
