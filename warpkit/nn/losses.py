"""Losses and metrics on logits."""

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

__all__ = ["log_softmax", "softmax_cross_entropy", "error_rate"]


def log_softmax(logits):
    """``log(softmax(logits))`` along the last axis, computed stably.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> np.exp(nn.log_softmax(np.array([[0.0, 0.0]])))
    array([[0.5, 0.5]])
    """
    shift = np.max(getval(logits), axis=-1, keepdims=True)  # a constant: no gradient needed
    shifted = logits - shift
    return shifted - anp.log(anp.sum(anp.exp(shifted), axis=-1, keepdims=True))


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of integer ``labels`` under ``softmax(logits)``.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
    labels : ndarray of int, shape (N,)
        Class indices in ``[0, K)``.

    Returns
    -------
    float
        The mean negative log-likelihood (differentiable w.r.t. ``logits``).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> round(float(nn.softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))), 4)
    1.3863
    """
    shape = np.shape(getval(logits))
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if len(shape) != 2 or labels.shape != (shape[0],):
        raise ValueError(f"softmax_cross_entropy: expected logits (N, K) and labels (N,), "
                         f"got {shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= shape[1]):
        raise ValueError(f"softmax_cross_entropy: labels must be in [0, {shape[1]}), "
                         f"got range [{labels.min()}, {labels.max()}]")
    picked = log_softmax(logits)[np.arange(shape[0]), labels]
    return -anp.mean(picked)


def error_rate(logits, labels):
    """Fraction of rows whose arg-max differs from the label.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.error_rate(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0, 1]))
    0.5
    """
    return float(np.mean(np.argmax(getval(logits), axis=-1) != np.asarray(labels)))
