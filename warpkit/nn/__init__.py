"""A small training API on HIPS autograd: layers, losses, optimizers, the spatial transformer.

Everything works on *parameter pytrees* (nested dicts and lists of NumPy
arrays) with plain functions, in the style of autograd's examples::

    model = nn.make_model("st-cnn", (1, 28, 28), transform="affine")
    params = model.init(np.random.default_rng(0))
    result = nn.fit(model.apply, params, (x_train, y_train), epochs=10,
                    optimizer=nn.Adam(1e-3), validation=(x_test, y_test))
"""

from . import init
from .checkpoint import load_checkpoint, save_checkpoint
from .layers import (avg_pool3d, conv2d, conv3d, dense, dropout, flatten, im2col, max_pool,
                     max_pool3d, relu)
from .losses import error_rate, log_softmax, softmax_cross_entropy
from .models import MODELS, Model, make_model
from .multi import KEEP_CHANNELS, MULTI_CLASSIFIERS, MultiTransformerModel
from .optim import SGD, Adam, clip_by_global_norm, cosine_decay, global_norm, step_decay
from .training import FitResult, NonFiniteLossError, evaluate, fit, predict
from .transformer import LOCALIZATIONS, TRANSFORMS, SpatialTransformer
from .tree import tree_leaves, tree_map, tree_size

__all__ = [
    "KEEP_CHANNELS", "MULTI_CLASSIFIERS", "MultiTransformerModel",
    "init", "load_checkpoint", "save_checkpoint",
    "avg_pool3d", "conv2d", "conv3d", "dense", "dropout", "flatten", "im2col", "max_pool",
    "max_pool3d", "relu",
    "error_rate", "log_softmax", "softmax_cross_entropy",
    "MODELS", "Model", "make_model",
    "SGD", "Adam", "clip_by_global_norm", "cosine_decay", "global_norm", "step_decay",
    "FitResult", "NonFiniteLossError", "evaluate", "fit", "predict",
    "LOCALIZATIONS", "TRANSFORMS", "SpatialTransformer",
    "tree_leaves", "tree_map", "tree_size",
]
