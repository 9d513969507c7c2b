"""Several spatial transformers in parallel, their outputs stacked as channels for one classifier.

The architecture of the Spatial Transformer Networks paper's MNIST-addition
experiment: ``T`` transformers each look at the whole input (every channel),
each with its own localization net, and each warps the input to its own
output; the ``T`` outputs are concatenated on the channel axis and
classified by one of the classifiers of :class:`~warpkit.nn.Model`.  Nothing
tells a transformer which part of the input to attend to: trained on the
task loss alone, each learns to pick out one object (one digit) so that the
classifier sees every object in a fixed pose.
"""

import autograd.numpy as anp
import numpy as np

from .models import Model
from .transformer import SpatialTransformer

__all__ = ["MultiTransformerModel", "MULTI_CLASSIFIERS", "KEEP_CHANNELS"]

MULTI_CLASSIFIERS = ("cnn", "fcn")
"""The classifiers behind the transformers (those of :class:`~warpkit.nn.Model`)."""

KEEP_CHANNELS = ("all", "own")
"""What each transformer passes on: every warped channel, or only the channel of its index."""


class MultiTransformerModel:
    """Parallel spatial transformers, concatenated on channels, then a classifier.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)``.
    num_classes : int, optional
    num_transformers : int, optional
        ``T`` >= 1 parallel transformers.
    classifier : {"cnn", "fcn"}, optional
        The classifier of :class:`~warpkit.nn.Model` that reads the stacked outputs.
    transform : str, optional
        Every transformer's family (see :class:`~warpkit.nn.SpatialTransformer`).
    st_output_size : int or (int, int), optional
        Size of every transformer's output (default: the input's).
    localization : {"cnn", "fcn"}, optional
        Every transformer's localization net.
    keep : {"all", "own"}, optional
        ``"all"`` (the paper's set-up): each transformer warps every input
        channel and the classifier reads ``T * C`` channels.  ``"own"``:
        transformer ``k`` passes on only its warped channel ``k`` (needs
        ``T == C``), so that each transformer is tied to one channel from
        the start.
    num_control_points : int, optional
        For ``transform="tps"``.

    Attributes
    ----------
    name : str
        ``"st-cnn-multi"`` or ``"st-fcn-multi"``.
    transformers : list of SpatialTransformer
        The ``T`` transformers (configuration only).
    classifier : Model
        The classifier, on ``classifier_input`` = ``(T * C or T, H_out, W_out)``.

    Notes
    -----
    Every transformer starts at the identity (see
    :class:`~warpkit.nn.SpatialTransformer`), so at initialization the
    classifier sees ``T`` copies of the input.  The copies still receive
    different gradients, because the classifier's first layer weighs each
    input channel with its own random weights and each localization net has
    its own random features: the symmetry between the transformers is broken
    from the first step.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn.multi import MultiTransformerModel
    >>> model = MultiTransformerModel((2, 42, 42), num_classes=19, st_output_size=28)
    >>> params = model.init(np.random.default_rng(0))
    >>> sorted(params), len(params["st"])
    (['net', 'st'], 2)
    >>> x = np.random.default_rng(1).random((3, 2, 42, 42)).astype(np.float32)
    >>> model.apply(params, x).shape
    (3, 19)
    >>> model.transformed(params, x)[0].shape  # two transformers x two channels
    (3, 4, 28, 28)
    """

    def __init__(self, input_shape, num_classes=10, num_transformers=2, classifier="cnn",
                 transform="affine", st_output_size=None, localization="cnn", keep="all",
                 num_control_points=16):
        if classifier not in MULTI_CLASSIFIERS:
            raise ValueError(f"unknown classifier {classifier!r}; valid classifiers: "
                             f"{', '.join(MULTI_CLASSIFIERS)}")
        if keep not in KEEP_CHANNELS:
            raise ValueError(f"keep must be one of {', '.join(map(repr, KEEP_CHANNELS))}, "
                             f"got {keep!r}")
        if isinstance(num_transformers, bool) \
                or not isinstance(num_transformers, (int, np.integer)) or num_transformers < 1:
            raise ValueError(f"num_transformers must be an int >= 1, got {num_transformers!r}")
        num_transformers = int(num_transformers)
        self.name = f"st-{classifier}-multi"
        self.transformers = [
            SpatialTransformer(input_shape, transform, output_size=st_output_size,
                               localization=localization, num_control_points=num_control_points)
            for _ in range(num_transformers)]
        self.input_shape = self.transformers[0].input_shape
        channels = self.input_shape[0]
        if keep == "own" and num_transformers != channels:
            raise ValueError(f"keep='own' ties transformer k to channel k: num_transformers "
                             f"must equal the {channels} input channels, got {num_transformers}")
        self.keep = keep
        self.transform = transform
        self.num_transformers = num_transformers
        self.num_classes = int(num_classes)
        height, width = self.transformers[0].output_size
        stacked = num_transformers * (channels if keep == "all" else 1)
        self.classifier_input = (stacked, height, width)
        self.classifier = Model(classifier, self.classifier_input, num_classes=num_classes)

    def init(self, rng):
        """Parameter pytree ``{"st": [one per transformer], "net": [classifier layers]}``.

        Examples
        --------
        >>> import numpy as np
        >>> from warpkit.nn.multi import MultiTransformerModel
        >>> params = MultiTransformerModel((2, 42, 42)).init(np.random.default_rng(0))
        >>> [p["out"]["b"].tolist() for p in params["st"]]  # both start at the identity
        [[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]]
        """
        transformers = [st.init(rng) for st in self.transformers]
        return {"st": transformers, "net": self.classifier.init(rng)["net"]}

    def transformed(self, params, x):
        """What the classifier sees and every transformer's parameters: ``(images, thetas)``.

        Returns
        -------
        images : ndarray, shape (N, classifier_input[0], H_out, W_out)
            Transformer ``k``'s output fills channels ``k*C .. k*C + C - 1``
            (``keep="all"``) or channel ``k`` (``keep="own"``).
        thetas : ndarray, shape (N, T, ...)
            Transformer ``k``'s :meth:`SpatialTransformer.transform_params` at ``[:, k]``.
        """
        outputs, thetas = [], []
        for index, (st, st_params) in enumerate(zip(self.transformers, params["st"])):
            out, theta = st(st_params, x)
            outputs.append(out if self.keep == "all" else out[:, index:index + 1])
            thetas.append(theta)
        return anp.concatenate(outputs, axis=1), anp.stack(thetas, axis=1)

    def apply(self, params, x, rng=None):
        """Logits of shape (N, num_classes).  ``rng`` enables the classifier's dropout."""
        images, _ = self.transformed(params, x)
        return self.classifier.apply({"net": params["net"]}, images, rng)

    def __repr__(self):
        return (f"MultiTransformerModel(input_shape={self.input_shape}, num_transformers="
                f"{self.num_transformers}, transform={self.transform!r}, keep={self.keep!r})")
