"""The training loop: mini-batch optimization with per-epoch metrics.

:func:`fit` works for any ``apply(params, x, rng) -> logits`` function (a
:class:`~warpkit.nn.Model`'s ``apply`` for instance).  It is deterministic for
a given seed: the seed fixes the batch order and the dropout masks.
"""

import numbers
import time

import numpy as np
from autograd import value_and_grad
from autograd.tracer import getval

from .checkpoint import save_checkpoint
from .losses import error_rate, softmax_cross_entropy
from .optim import Adam

__all__ = ["fit", "evaluate", "predict", "FitResult", "NonFiniteLossError"]


class NonFiniteLossError(RuntimeError):
    """Training stopped because the loss became NaN or infinite.

    Attributes
    ----------
    params : pytree
        The parameters at the end of the last good epoch (the initial ones if
        the first epoch failed).
    history : list of dict
        Metrics of the completed epochs.
    """

    def __init__(self, message, params, history):
        super().__init__(message)
        self.params = params
        self.history = history


class FitResult:
    """What :func:`fit` returns: final ``params``, per-epoch ``history``, total ``seconds``."""

    def __init__(self, params, history, seconds):
        self.params = params
        self.history = history
        self.seconds = seconds

    def __repr__(self):
        return f"FitResult(epochs={len(self.history)}, seconds={self.seconds:.1f})"


def predict(apply, params, x, batch_size=256):
    """Logits of ``apply(params, batch)`` over ``x`` in batches (no dropout).

    Parameters
    ----------
    apply : callable
        ``apply(params, x, rng) -> logits``; called with ``rng=None``.
    params : pytree
    x : ndarray, shape (N, ...)
        At least one example.
    batch_size : int, optional
        Examples per call of ``apply`` (>= 1).

    Returns
    -------
    ndarray, shape (N, ...)
        The logits of every example, in order.

    Raises
    ------
    ValueError
        If ``x`` holds no examples or ``batch_size < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.predict(lambda p, x, rng=None: x @ p, np.eye(2), np.ones((5, 2)), batch_size=2).shape
    (5, 2)
    """
    if len(x) == 0:
        raise ValueError("predict: x holds no examples; expected at least one")
    batch_size = _batch_size(batch_size)
    outputs = [apply(params, x[start:start + batch_size], None)
               for start in range(0, len(x), batch_size)]
    return np.concatenate(outputs, axis=0)


def evaluate(apply, params, x, y, batch_size=256):
    """Mean loss and error rate of a classifier on ``(x, y)``.

    Returns
    -------
    dict
        ``{"loss": float, "error": float}``; the error is a fraction in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> logits_of = lambda p, x, rng=None: x
    >>> nn.evaluate(logits_of, None, np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([0, 0]))["error"]
    0.5
    """
    logits = predict(apply, params, x, batch_size)
    return {"loss": float(softmax_cross_entropy(logits, y)), "error": error_rate(logits, y)}


def _batch_size(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"batch_size must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"batch_size must be >= 1, got {value}")
    return int(value)


def _check_data(name, data):
    x, y = data
    if len(x) != len(y):
        raise ValueError(f"{name}: images and labels differ in length ({len(x)} vs {len(y)})")
    if len(x) == 0:
        raise ValueError(f"{name}: no examples")
    return x, y


def fit(apply, params, train, *, epochs, optimizer=None, batch_size=64, seed=0,
        validation=None, progress=True, checkpoint_path=None, on_epoch=None, on_batch=None):
    """Train a classifier with softmax cross-entropy.

    Parameters
    ----------
    apply : callable
        ``apply(params, x, rng) -> logits``; ``rng`` is a
        ``numpy.random.Generator`` while training (for dropout) and ``None``
        while evaluating.
    params : pytree
        Initial parameters.
    train : tuple or callable
        ``(x, y)``, or ``train(epoch) -> (x, y)`` for a training set whose
        distortions are redrawn every epoch.
    epochs : int
    optimizer : optional
        An :class:`~warpkit.nn.SGD` or :class:`~warpkit.nn.Adam`; default Adam(1e-3).
    batch_size : int, optional
    seed : int, optional
        Fixes the batch order and dropout masks.
    validation : tuple, optional
        ``(x, y)`` evaluated after every epoch (``test_error`` in the history).
    progress : bool, optional
        Show a tqdm progress bar on stderr (needs the ``tqdm`` package): it
        counts the batches of all epochs and shows the epoch, the batch's
        loss and error, and after every epoch the test error.
    checkpoint_path : str, optional
        Save the parameters there after every good epoch.
    on_epoch : callable, optional
        Called as ``on_epoch(metrics, params)`` after every epoch.
    on_batch : callable, optional
        Called as ``on_batch(done, total)`` after every batch: the batches
        trained so far and the batches of the whole run (the epochs still
        to come counted with as many batches as the current one).

    Returns
    -------
    FitResult
        ``history[i]`` holds ``epoch``, ``loss`` and ``train_error`` (mean over
        the epoch's batches, as they were trained), ``test_loss`` and
        ``test_error`` (with ``validation``) and ``seconds``.

    Raises
    ------
    NonFiniteLossError
        If a loss becomes NaN or infinite.  Training stops; the checkpoint
        file (if any) keeps the last good epoch, which the error also carries.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 2)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> model = lambda p, x, rng=None: nn.dense(p, x)
    >>> p0 = nn.init.dense_params(rng, 2, 2)
    >>> result = nn.fit(model, p0, (x, y), epochs=30, batch_size=16,
    ...                 optimizer=nn.Adam(0.05), progress=False)
    >>> result.history[-1]["train_error"] < 0.1
    True
    """
    if int(epochs) < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    batch_size = _batch_size(batch_size)
    optimizer = optimizer or Adam(1e-3)
    state = optimizer.init(params)
    rng = np.random.default_rng(seed)
    if validation is not None:
        validation = _check_data("validation", validation)

    last_logits = []

    def objective(p, xb, yb, dropout_rng):
        logits = apply(p, xb, dropout_rng)
        last_logits[:] = [getval(logits)]
        return softmax_cross_entropy(logits, yb)

    loss_and_grad = value_and_grad(objective)
    history = []
    good_params = params
    bar = None
    done = 0
    epochs = int(epochs)
    start_all = time.perf_counter()
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            x, y = _check_data("train", train(epoch) if callable(train) else train)
            total = done + (epochs - epoch) * -(-len(x) // batch_size)
            if progress and bar is None:
                bar = _progress_bar(total)
            elif bar is not None and bar.total != total:  # this epoch's set has another size
                bar.total = total
            order = rng.permutation(len(x))
            losses, errors, counts = [], [], []
            for first in range(0, len(x), batch_size):
                index = order[first:first + batch_size]
                xb, yb = x[index], y[index]
                loss, grads = loss_and_grad(params, xb, yb, rng)
                loss = float(loss)
                if not np.isfinite(loss):
                    where = f" (last good parameters saved in {checkpoint_path})" \
                        if checkpoint_path and history else ""
                    raise NonFiniteLossError(
                        f"training stopped: the loss became {loss} at epoch {epoch + 1}, "
                        f"batch {first // batch_size + 1}; lower the learning rate or set "
                        f"gradient clipping{where}", good_params, history)
                params, state = optimizer.update(params, grads, state)
                losses.append(loss)
                errors.append(error_rate(last_logits[0], yb))
                counts.append(len(index))
                done += 1
                if bar is not None:
                    bar.set_postfix_str(_batch_postfix(epoch, epochs, loss, errors[-1], history),
                                        refresh=False)
                    bar.update(1)
                if on_batch is not None:
                    on_batch(done, total)
            metrics = {"epoch": epoch + 1,
                       "loss": float(np.average(losses, weights=counts)),
                       "train_error": float(np.average(errors, weights=counts))}
            if validation is not None:
                test_metrics = evaluate(apply, params, *validation)
                metrics["test_loss"] = test_metrics["loss"]
                metrics["test_error"] = test_metrics["error"]
            metrics["seconds"] = time.perf_counter() - start
            history.append(metrics)
            good_params = params
            if checkpoint_path:
                save_checkpoint(checkpoint_path, params, {"epoch": epoch + 1})
            if bar is not None:
                bar.set_postfix_str(_epoch_postfix(metrics, epochs))
            if on_epoch is not None:
                on_epoch(metrics, params)
    finally:
        if bar is not None:
            bar.close()
    return FitResult(params, history, time.perf_counter() - start_all)


def _progress_bar(total):
    """A tqdm bar over ``total`` batches, or None without tqdm (the bar is a convenience)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="batch", dynamic_ncols=True, leave=True)


def _batch_postfix(epoch, epochs, loss, error, history):
    """The bar's text during an epoch: the epoch, this batch's loss and error, the last test error."""
    text = f"epoch {epoch + 1}/{epochs}, loss {loss:.3f}, err {100 * error:.1f}%"
    if history and "test_error" in history[-1]:
        text += f", test err {100 * history[-1]['test_error']:.1f}%"
    return text


def _epoch_postfix(metrics, epochs):
    """The bar's text after an epoch: its mean loss and error, and the test error."""
    text = (f"epoch {metrics['epoch']}/{epochs}, loss {metrics['loss']:.3f}, "
            f"train err {100 * metrics['train_error']:.1f}%")
    if "test_error" in metrics:
        text += f", test err {100 * metrics['test_error']:.1f}%"
    return text
