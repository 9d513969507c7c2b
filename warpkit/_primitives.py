"""The autograd side of warpkit: primitives, their VJPs and how they register.

Every differentiable operation is a pair of :func:`autograd.extend.primitive`
functions, ``forward(*arrays, *options)`` and ``vjp(*arrays, grad_output,
*options, wrt=...)``, where one backward run gives every requested gradient.
:func:`register` ties such a pair together, and :class:`FusedWarp` builds
the pair of a transform family from its spec (:mod:`warpkit.families`).

autograd's primitive wrappers show ``(*args, **kwargs)`` to ``help()`` and
IDEs, so the public functions are plain functions with real signatures that
call these primitives.
"""

from autograd.extend import defvjp_argnums, primitive

from . import _validate
from ._args import WarpArgs, array_shape
from ._device import backend_for

__all__ = ["register", "FusedWarp"]


def register(forward, vjp, names, what):
    """Make ``vjp`` the gradient of ``forward``; refuse second derivatives.

    Parameters
    ----------
    forward, vjp : autograd primitives
        ``forward(*arrays, *options)``; ``vjp(*arrays, grad_output, *options,
        wrt=names)`` returning one gradient (or None) per name.
    names : tuple of str
        Names of the differentiable leading arrays of ``forward``.
    what : str
        The operation's public name, for error messages.
    """

    def maker(argnums, ans, args, kwargs):
        for argnum in argnums:
            if argnum >= len(names):
                raise ValueError(f"{what} is differentiable only with respect to "
                                 f"{', '.join(names)}")
        arrays, options = args[:len(names)], args[len(names):]
        wrt = tuple(names[argnum] for argnum in argnums)

        def gradients(grad_output):
            grads = vjp(*arrays, grad_output, *options, **kwargs, wrt=wrt)
            return tuple(grads[argnum] for argnum in argnums)

        return gradients

    def second_order(*_, **__):
        raise NotImplementedError(
            f"second-order derivatives of {what} (the gradient of its vjp) are not supported")

    defvjp_argnums(forward, maker)
    defvjp_argnums(vjp, second_order)


def only(grads, wrt, names):
    """``grads`` with None in place of each gradient not named in ``wrt``."""
    return tuple(grad if name in wrt else None for grad, name in zip(grads, names))


class FusedWarp:
    """The autograd primitives of one transform family's fused warp.

    ``forward(input, *parameters, size, mode, padding_mode, align_corners)``
    and ``vjp(input, *parameters, grad_output, size, mode, padding_mode,
    align_corners, wrt=...)``, on whichever backend holds the arrays.  The
    family's ``dims`` says whether ``input`` holds images (2) or volumes (3).

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit._primitives import FusedWarp
    >>> from warpkit.families import AFFINE
    >>> warp = FusedWarp(AFFINE)
    >>> image, theta = np.ones((1, 1, 2, 2)), np.eye(2, 3)[None]
    >>> warp.forward(image, theta, None, "bilinear", "zeros", False)[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """

    def __init__(self, family):
        self.family = family
        self.names = ("input",) + family.parameters
        self.forward = primitive(self._forward)
        self.vjp = primitive(self._vjp)
        register(self.forward, self.vjp, self.names, f"warp_{family.name}")

    def _split(self, values):
        count = len(self.family.parameters)
        return values[:count], values[count:]

    def _forward(self, input, *rest):
        values, options = self._split(rest)
        backend = backend_for(input=input, **dict(zip(self.family.parameters, values)))
        args = WarpArgs(input, *options, dims=self.family.dims)
        params, _ = self._parameters(backend, args, values)
        return backend.fused_forward(self.family, args, input, params)

    def _vjp(self, input, *rest, wrt=None):
        values, (grad_output, *options) = self._split(rest)
        wrt = self.names if wrt is None else _validate.check_wrt(wrt, self.names)
        backend = backend_for(input=input, grad_output=grad_output,
                              **dict(zip(self.family.parameters, values)))
        args = WarpArgs(input, *options, dims=self.family.dims)
        params, dtypes = self._parameters(backend, args, values)  # names a volume's shapes
        args.check_grad_output(grad_output)
        need_params = any(name in wrt for name in self.family.parameters)
        grad_input, grads = backend.fused_vjp(self.family, args, input, params, grad_output,
                                              "input" in wrt, need_params)
        if grads is None:
            return only((grad_input,) + (None,) * len(values), wrt, self.names)
        grads = [_like(grad, value, dtype) for grad, value, dtype in zip(grads, values, dtypes)]
        return only((grad_input, *grads), wrt, self.names)

    def _parameters(self, backend, args, values):
        """The parameters in their kernel form, and the dtype of each as given."""
        dtypes = [_validate.float_dtype(name, value)
                  for name, value in zip(self.family.parameters, values)]
        return backend.parameters(self.family, args, values), dtypes


def _like(grad, value, dtype):
    """``grad`` in the shape of the parameter ``value`` and its ``dtype``."""
    grad = grad.reshape(array_shape(value))
    return grad if grad.dtype == dtype else grad.astype(dtype)
