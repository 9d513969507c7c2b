"""The classifiers of the STN paper's distorted-digit experiments, scaled to small digits.

============  ================================================================================================
``fcn``       flatten -> dense 128 -> dense 128 -> 10 classes (ReLU between)
``cnn``       conv 5x5x16 -> pool 2 -> conv 5x5x32 -> pool 2 -> dense 64 -> 10
``st-fcn``    a :class:`~warpkit.nn.transformer.SpatialTransformer` with an FCN localization net, then ``fcn``
``st-cnn``    a :class:`~warpkit.nn.transformer.SpatialTransformer` with a CNN localization net, then ``cnn``
============  ================================================================================================

With ``st_pool=2`` the transformer's output (by default as large as the
input) is max-pooled 2x before the classifier.  ``st_output_size`` smaller
than the input and ``st_initial_scale`` below 1 make the transformer read a
window of the input, as warpkit's runs on the 60x60 cluttered digits do (a
36x36 output of a window starting at 0.6 of the canvas).
"""


from . import init as initializers
from .layers import _int_at_least, conv2d, dense, dropout, flatten, max_pool, relu
from .transformer import SpatialTransformer

__all__ = ["Model", "MODELS", "make_model"]

MODELS = ("fcn", "cnn", "st-fcn", "st-cnn")

CNN_MIN_SIZE = 16
"""Smallest image side the CNN classifier takes: two 5x5 convolutions, each pooled 2x."""


class Model:
    """A classifier: configuration plus pure ``init`` / ``apply`` functions.

    Parameters
    ----------
    name : {"fcn", "cnn", "st-fcn", "st-cnn"}
    input_shape : tuple of int
        ``(C, H, W)``.
    num_classes : int, optional
    transform : str, optional
        The spatial transformer's family (ST models only); see
        :class:`SpatialTransformer`.
    st_output_size : tuple of int, optional
        Size of the transformer's output (default: the input's).
    st_pool : int, optional
        Max-pool the transformer's output by this factor (>= 1; 1: no pooling).
    dropout_rate : float, optional
        Dropout before the last hidden dense layer while training.
    num_control_points : int, optional
        For ``transform="tps"``.
    st_initial_scale : float, optional
        The transformer's starting zoom (``initial_scale`` of
        :class:`SpatialTransformer`; 1: the identity).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit import nn
    >>> model = nn.make_model("st-cnn", (1, 28, 28), transform="affine")
    >>> params = model.init(np.random.default_rng(0))
    >>> model.apply(params, np.zeros((3, 1, 28, 28), np.float32)).shape
    (3, 10)
    """

    def __init__(self, name, input_shape, num_classes=10, transform="affine",
                 st_output_size=None, st_pool=1, dropout_rate=0.0, num_control_points=16,
                 st_initial_scale=1.0):
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
        if len(input_shape) != 3:
            raise ValueError(f"{name}: input_shape must be (C, H, W) (the classifiers take "
                             f"images), got {tuple(input_shape)}")
        self.name = name
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)
        self.dropout_rate = float(dropout_rate)
        self.st_pool = _int_at_least(name, "st_pool", st_pool, 1)
        self.transformer = None
        self.transform = None
        channels, height, width = self.input_shape
        if name.startswith("st-"):
            self.transform = transform
            self.transformer = SpatialTransformer(
                self.input_shape, transform, output_size=st_output_size,
                localization=name[3:], num_control_points=num_control_points,
                initial_scale=st_initial_scale)
            height, width = self.transformer.output_size
            height, width = height // self.st_pool, width // self.st_pool
        self.classifier_input = (channels, height, width)
        self.kind = name.replace("st-", "")
        smallest = CNN_MIN_SIZE if self.kind == "cnn" else 1
        if min(height, width) < smallest:
            what = "images" if self.transformer is None else "transformer outputs (after st_pool)"
            raise ValueError(f"{name}: the {self.kind.upper()} needs {what} of at least "
                             f"{smallest}x{smallest}, got {height}x{width}")

    # --------------------------------------------------------------- parameters

    def init(self, rng):
        """Parameter pytree ``{"st": ..., "net": [...]}`` (no ``"st"`` for plain models)."""
        channels, height, width = self.classifier_input
        params = {}
        if self.transformer is not None:
            params["st"] = self.transformer.init(rng)
        if self.kind == "cnn":
            h, w = (height - 4) // 2, (width - 4) // 2
            h, w = (h - 4) // 2, (w - 4) // 2
            params["net"] = [
                initializers.conv_params(rng, channels, 16, 5),
                initializers.conv_params(rng, 16, 32, 5),
                initializers.dense_params(rng, 32 * h * w, 64),
                initializers.dense_params(rng, 64, self.num_classes),
            ]
        else:
            params["net"] = [
                initializers.dense_params(rng, channels * height * width, 128),
                initializers.dense_params(rng, 128, 128),
                initializers.dense_params(rng, 128, self.num_classes),
            ]
        return params

    # --------------------------------------------------------------- forward

    def transformed(self, params, x):
        """What the classifier sees and the transform parameters: ``(images, theta)``.

        For plain models, ``(x, None)``.
        """
        if self.transformer is None:
            return x, None
        out, theta = self.transformer(params["st"], x)
        if self.st_pool > 1:
            out = max_pool(out, self.st_pool, name="transformer output max_pool")
        return out, theta

    def apply(self, params, x, rng=None):
        """Logits of shape (N, num_classes).  ``rng`` enables dropout (training)."""
        h, _ = self.transformed(params, x)
        net = params["net"]
        if self.kind == "cnn":
            # relu(max_pool(.)) == max_pool(relu(.)), on a quarter of the values.
            h = relu(max_pool(conv2d(net[0], h, name=f"{self.name} conv1"), 2,
                              name=f"{self.name} pool1"))
            h = relu(max_pool(conv2d(net[1], h, name=f"{self.name} conv2"), 2,
                              name=f"{self.name} pool2"))
            h = relu(dense(net[2], flatten(h), name=f"{self.name} dense1"))
            h = dropout(h, self.dropout_rate, rng)
            return dense(net[3], h, name=f"{self.name} output dense")
        h = relu(dense(net[0], flatten(h), name=f"{self.name} dense1"))
        h = relu(dense(net[1], h, name=f"{self.name} dense2"))
        h = dropout(h, self.dropout_rate, rng)
        return dense(net[2], h, name=f"{self.name} output dense")

    def __repr__(self):
        extra = f", transform={self.transform!r}" if self.transformer is not None else ""
        return f"Model({self.name!r}, input_shape={self.input_shape}{extra})"


def make_model(name, input_shape, **options):
    """Build one of :data:`MODELS`; see :class:`Model` for the options.

    Examples
    --------
    >>> from warpkit import nn
    >>> nn.make_model("cnn", (1, 28, 28))
    Model('cnn', input_shape=(1, 28, 28))
    >>> nn.make_model("resnet", (1, 28, 28))
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'resnet'; valid models: fcn, cnn, st-fcn, st-cnn
    """
    return Model(name, input_shape, **options)
