"""Optimizers over parameter pytrees: SGD with momentum and Adam.

An optimizer is a small object with two pure methods::

    state = opt.init(params)
    params, state = opt.update(params, grads, state)

Both take and return pytrees (dicts/lists of arrays); nothing is modified in
place.  The learning rate is a float or a schedule ``step -> rate`` (see
:func:`cosine_decay`, :func:`step_decay`); ``clip_norm`` rescales the whole
gradient when its global L2 norm exceeds it; ``lr_scale`` maps top-level
parameter keys to learning-rate multipliers: the parameters of a
:class:`~warpkit.nn.Model` are the groups ``"st"`` (its spatial transformer)
and ``"net"`` (its classifier), so ``lr_scale={"st": 0.1}`` trains the
spatial transformer ten times slower than the classifier.
"""

import math

import numpy as np

from .tree import tree_leaves, tree_map

__all__ = ["SGD", "Adam", "cosine_decay", "step_decay", "global_norm", "clip_by_global_norm"]


def cosine_decay(base_rate, total_steps, final_fraction=0.0):
    """Schedule from ``base_rate`` down to ``final_fraction * base_rate`` along a half cosine.

    Examples
    --------
    >>> from warpkit import nn
    >>> schedule = nn.cosine_decay(0.1, 100)
    >>> schedule(0), round(schedule(50), 4), schedule(100)
    (0.1, 0.05, 0.0)
    """
    total_steps = max(int(total_steps), 1)

    def schedule(step):
        progress = min(step, total_steps) / total_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return base_rate * (final_fraction + (1.0 - final_fraction) * cosine)
    return schedule


def step_decay(base_rate, every, factor=0.1):
    """Schedule that multiplies the rate by ``factor`` every ``every`` steps.

    Examples
    --------
    >>> from warpkit import nn
    >>> schedule = nn.step_decay(1.0, 10, 0.5)
    >>> schedule(9), schedule(10), schedule(25)
    (1.0, 0.5, 0.25)
    """
    def schedule(step):
        return base_rate * factor ** (step // every)
    return schedule


def global_norm(tree):
    """L2 norm of all leaves of a pytree taken together.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.global_norm({"a": np.array([3.0]), "b": [np.array([4.0])]})
    5.0
    """
    return float(np.sqrt(sum(float(np.sum(np.square(leaf))) for leaf in tree_leaves(tree))))


def clip_by_global_norm(tree, max_norm):
    """Rescale a pytree so that its :func:`global_norm` is at most ``max_norm``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> nn.clip_by_global_norm({"a": np.array([3.0, 4.0])}, 1.0)["a"]
    array([0.6, 0.8])
    """
    norm = global_norm(tree)
    if not np.isfinite(norm) or norm <= max_norm:
        return tree
    scale = max_norm / norm
    return tree_map(lambda g: g * np.asarray(scale, dtype=g.dtype), tree)


class _Optimizer:
    def __init__(self, learning_rate, weight_decay, clip_norm, lr_scale):
        if not callable(learning_rate) and not 0 < float(learning_rate) < math.inf:
            raise ValueError(f"learning_rate must be positive and finite, or a schedule, got "
                             f"{learning_rate}")
        if not 0 <= weight_decay < math.inf:
            raise ValueError(f"weight_decay must be finite and >= 0, got {weight_decay}")
        if clip_norm is not None and not 0 < clip_norm < math.inf:
            raise ValueError(f"clip_norm must be positive and finite, or None, got {clip_norm}")
        self.learning_rate = learning_rate
        self.weight_decay = float(weight_decay)
        self.clip_norm = clip_norm
        self.lr_scale = dict(lr_scale or {})
        for key, scale in self.lr_scale.items():
            if not 0 <= scale < math.inf:
                raise ValueError(f"lr_scale[{key!r}] must be finite and >= 0, got {scale}")

    def rate(self, step):
        """The learning rate at update ``step`` (0-based)."""
        return float(self.learning_rate(step) if callable(self.learning_rate)
                     else self.learning_rate)

    def _prepare(self, params, grads):
        if self.clip_norm is not None:
            grads = clip_by_global_norm(grads, self.clip_norm)
        return grads

    def _scales(self, params):
        if isinstance(params, dict):
            unknown = set(self.lr_scale) - set(params)
            if unknown:
                raise ValueError(f"lr_scale names unknown parameter groups {sorted(unknown)}; "
                                 f"the groups are {sorted(params)}")
            return {key: tree_map(lambda _, s=self.lr_scale.get(key, 1.0): s, value)
                    for key, value in params.items()}
        if self.lr_scale:
            raise ValueError("lr_scale needs a dict of parameter groups")
        return tree_map(lambda _: 1.0, params)


class SGD(_Optimizer):
    """Stochastic gradient descent with (optionally Nesterov) momentum and L2 weight decay.

    ``v = momentum * v + (g + weight_decay * p)``; ``p -= rate * v``.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> opt = nn.SGD(0.1, momentum=0.0)
    >>> params = {"w": np.array([1.0])}
    >>> params, state = opt.update(params, {"w": np.array([2.0])}, opt.init(params))
    >>> params["w"]
    array([0.8])
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, weight_decay=0.0, nesterov=False,
                 clip_norm=None, lr_scale=None):
        super().__init__(learning_rate, weight_decay, clip_norm, lr_scale)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def init(self, params):
        """Optimizer state for ``params``: zero velocities and the step count."""
        return {"step": 0, "velocity": tree_map(np.zeros_like, params)}

    def update(self, params, grads, state):
        """One step; returns ``(new_params, new_state)``."""
        grads = self._prepare(params, grads)
        rate = self.rate(state["step"])
        decay, momentum, nesterov = self.weight_decay, self.momentum, self.nesterov

        def one(p, g, v, scale):
            g = g + decay * p if decay else g
            v = momentum * v + g
            step = g + momentum * v if nesterov else v
            return (p - (rate * scale) * step).astype(p.dtype), v.astype(p.dtype)

        pairs = tree_map(one, params, grads, state["velocity"], self._scales(params))
        new_params = tree_map(lambda _, pair: pair[0], params, pairs)
        velocity = tree_map(lambda _, pair: pair[1], params, pairs)
        return new_params, {"step": state["step"] + 1, "velocity": velocity}


class Adam(_Optimizer):
    """Adam with decoupled weight decay (AdamW when ``weight_decay > 0``).

    Parameters
    ----------
    learning_rate : float or callable, optional
        A rate > 0, or a schedule ``step -> rate`` (:func:`cosine_decay`).
    beta1, beta2, eps : float, optional
        Decay rates of the moment estimates and the denominator's guard.
    weight_decay : float, optional
        Decoupled weight decay (>= 0), scaled by the learning rate.
    clip_norm : float, optional
        Rescale the whole gradient to this global L2 norm when it is larger.
    lr_scale : dict, optional
        Learning-rate multipliers (>= 0) of top-level parameter groups, such
        as the ``"st"`` and ``"net"`` groups of a :class:`~warpkit.nn.Model`.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> opt = nn.Adam(0.1)
    >>> params = {"w": np.array([1.0])}
    >>> params, state = opt.update(params, {"w": np.array([5.0])}, opt.init(params))
    >>> params["w"].round(6)  # the first Adam step moves by the learning rate
    array([0.9])

    The spatial transformer of a model learning at a third of the rate:

    >>> model = nn.make_model("st-cnn", (1, 28, 28))
    >>> params = model.init(np.random.default_rng(0))
    >>> sorted(params)
    ['net', 'st']
    >>> opt = nn.Adam(1e-3, lr_scale={"st": 0.3})
    >>> params, state = opt.update(params, nn.tree_map(np.ones_like, params), opt.init(params))
    """

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                 clip_norm=None, lr_scale=None):
        super().__init__(learning_rate, weight_decay, clip_norm, lr_scale)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def init(self, params):
        """Optimizer state for ``params``: zero moments and the step count."""
        return {"step": 0, "m": tree_map(np.zeros_like, params),
                "v": tree_map(np.zeros_like, params)}

    def update(self, params, grads, state):
        """One step; returns ``(new_params, new_state)``."""
        grads = self._prepare(params, grads)
        step = state["step"] + 1
        rate = self.rate(state["step"])
        b1, b2, eps, decay = self.beta1, self.beta2, self.eps, self.weight_decay
        bias1, bias2 = 1.0 - b1 ** step, 1.0 - b2 ** step

        def one(p, g, m, v, scale):
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * (g * g)
            new = p - (rate * scale / bias1) * m / (np.sqrt(v / bias2) + eps)
            if decay:
                new = new - (rate * scale * decay) * p
            return new.astype(p.dtype), m.astype(p.dtype), v.astype(p.dtype)

        triples = tree_map(one, params, grads, state["m"], state["v"], self._scales(params))
        pick = [tree_map(lambda _, t, i=i: t[i], params, triples) for i in range(3)]
        return pick[0], {"step": step, "m": pick[1], "v": pick[2]}
