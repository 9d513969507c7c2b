"""The experiments behind ``warpkit train`` and ``warpkit table``: training runs and their files.

:func:`train_one` trains one classifier of :data:`warpkit.nn.MODELS` on one
distorted-digit set of :data:`warpkit.data.DATASETS`; :func:`run_table`
trains many of them (in parallel processes) and :func:`format_table` turns
their test errors into the Markdown table of the STN paper.  Every run folder
holds the same files, :data:`RUN_FILES`; a table folder adds
:data:`TABLE_FILES`.  The command-line parser is :mod:`warpkit.cli`.

These functions need the ``train`` extra (``pip install 'warpkit[train]'``):
scikit-learn for the digits, matplotlib for the pictures, tqdm for progress
bars.
"""

import contextlib
import json
import os
import time

import numpy as np

__all__ = ["train_one", "make_classifier", "st_pool_for", "run_table", "format_table",
           "save_transformer_picture", "save_table_plot", "write_table_files",
           "DEFAULT_LR", "DEFAULT_LOC_LR_SCALE", "QUICK", "RUN_FILES", "TABLE_FILES"]

DEFAULT_LR = 3e-3
"""Adam's learning rate, cosine-decayed over the training steps."""

DEFAULT_LOC_LR_SCALE = 0.3
"""Learning-rate multiplier of the spatial transformer.

Adam moves every parameter by about the learning rate per step, whatever the
size of its gradient: at the full rate the young transformer can swing the
digit out of the frame, where it gets no gradient back.
"""

QUICK = {"datasets": ("RTS", "P", "E"), "models": ("cnn", "st-cnn"), "seeds": (0, 1, 2),
         "epochs": 15, "image_size": 28}
"""The short table of ``warpkit table --quick``, the README's main job."""

RUN_FILES = ("metrics.json", "params.npz", "transformer.png")
"""The files of every run folder, whatever the model (a plain model's picture shows its inputs)."""

TABLE_FILES = ("table.md", "results.json", "table.png")
"""The files a table writes next to its run folders."""


def st_pool_for(dataset, st_pool):
    """The transformer-output pooling: ``"auto"`` pools the 60x60 cluttered canvas 2x, else 1.

    Examples
    --------
    >>> from warpkit.experiments import st_pool_for
    >>> st_pool_for("cluttered", "auto"), st_pool_for("RTS", "auto"), st_pool_for("RTS", 3)
    (2, 1, 3)
    """
    if st_pool == "auto":
        return 2 if dataset == "cluttered" else 1
    return int(st_pool)


def make_classifier(model, image_size, *, transform="affine", st_size=None, st_pool=1,
                    num_classes=10):
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
    """
    from warpkit import nn

    options = {}
    if model.startswith("st-"):
        options = {"transform": transform, "st_pool": st_pool,
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


def train_one(dataset="RTS", model="st-cnn", transform="affine", epochs=10, seed=0,
              batch_size=64, lr=DEFAULT_LR, loc_lr_scale=DEFAULT_LOC_LR_SCALE,
              weight_decay=0.0, st_pool="auto", st_size=None, limit=None, fixed_train=False,
              progress=True, out=None, picture=True, image_size=None, threads=None):
    """Train one model on one distorted-digit set; returns its metrics dict.

    The optimizer is Adam with a cosine learning-rate decay over all steps,
    ``loc_lr_scale`` times the rate for the spatial transformer (the ``"st"``
    parameter group), and gradient clipping at norm 10.  The training images
    are redrawn every epoch (the distortions of
    :meth:`warpkit.data.DigitDataset.resample_train`) unless ``fixed_train``.
    With ``out``, the folder gets :data:`RUN_FILES` (the picture only with
    ``picture``).  ``threads`` limits the BLAS threads of the run (default:
    the library's).

    Examples
    --------
    >>> from warpkit.experiments import train_one
    >>> metrics = train_one("R", "cnn", epochs=1, limit=64, progress=False, picture=False)
    >>> sorted(metrics)[:4], metrics["epochs"]
    (['batch_size', 'dataset', 'epochs', 'history'], 1)
    """
    from warpkit import nn
    from warpkit.data import make_dataset

    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    start = time.perf_counter()
    data = make_dataset(dataset, seed=seed, image_size=image_size)
    is_st = model.startswith("st-")
    pool = st_pool_for(dataset, st_pool) if is_st else 1
    net = make_classifier(model, data.image_size, transform=transform, st_size=st_size,
                          st_pool=pool, num_classes=data.num_classes)
    x_test, y_test = data.x_test[:limit], data.y_test[:limit]

    def train_set(epoch):
        x, y = (data.x_train, data.y_train) if fixed_train or epoch == 0 \
            else data.resample_train(epoch)
        return x[:limit], y[:limit]

    params = net.init(np.random.default_rng(seed))
    steps = int(epochs) * -(-len(train_set(0)[0]) // batch_size)
    optimizer = nn.Adam(nn.cosine_decay(lr, steps, 0.02), weight_decay=weight_decay,
                        clip_norm=10.0, lr_scale={"st": loc_lr_scale} if is_st else None)
    if out:
        os.makedirs(out, exist_ok=True)
    with _thread_limits(threads):
        result = nn.fit(net.apply, params, train_set, epochs=int(epochs), optimizer=optimizer,
                        batch_size=batch_size, seed=seed, validation=(x_test, y_test),
                        progress=progress,
                        checkpoint_path=os.path.join(out, "params.npz") if out else None)
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

    For a model without a transformer only the inputs are drawn, so that
    every run folder holds the same files.
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
        A tqdm bar over the runs.

    Returns
    -------
    list of dict
        The metrics of every run, in the order of ``jobs``.
    """
    jobs = [dict(job, threads=threads, progress=False) for job in jobs]
    bar = _table_progress(len(jobs), progress)
    results = []
    try:
        if workers > 1:
            import concurrent.futures
            import multiprocessing
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
                for metrics in pool.map(_train_job, jobs):
                    results.append(_report(bar, metrics))
        else:
            results = [_report(bar, _train_job(job)) for job in jobs]
    finally:
        if bar is not None:
            bar.close()
    return results


def _train_job(job):
    return train_one(**job)


def _report(bar, metrics):
    if bar is not None:
        bar.set_postfix_str(f"{metrics['model']} {metrics['dataset']} s{metrics['seed']}: "
                            f"{100 * metrics['test_error']:.1f}%", refresh=False)
        bar.update(1)
    return metrics


def _table_progress(total, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="run", dynamic_ncols=True)


def format_table(results, datasets, models, seeds, epochs):
    """Markdown table of mean ± standard deviation of the test error (%) over seeds.

    Examples
    --------
    >>> from warpkit.experiments import format_table
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
            errors = _errors(results, model, dataset)
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


def _errors(results, model, dataset):
    return [100 * r["test_error"] for r in results
            if r["model"] == model and r["dataset"] == dataset]


def save_table_plot(path, results, datasets, models):
    """Bar chart of the test errors: one group per dataset, one bar per model, seeds as dots."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(1.8 + 1.6 * len(datasets), 3.2))
    width = 0.8 / len(models)
    for index, model in enumerate(models):
        for column, dataset in enumerate(datasets):
            errors = _errors(results, model, dataset)
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


def write_table_files(out, table, results, *, datasets, models, seeds, epochs, seconds):
    """Write :data:`TABLE_FILES` into the folder ``out``: the table, the metrics, the plot."""
    names = dict(zip(("table", "results", "plot"), TABLE_FILES))
    with open(os.path.join(out, names["table"]), "w") as handle:
        handle.write(table + "\n")
    with open(os.path.join(out, names["results"]), "w") as handle:
        json.dump({"datasets": list(datasets), "models": list(models), "seeds": list(seeds),
                   "epochs": epochs, "seconds": seconds,
                   "runs": [{k: v for k, v in r.items() if k != "history"} for r in results]},
                  handle, indent=2)
    save_table_plot(os.path.join(out, names["plot"]), results, datasets, models)
