"""Helpers for parameter pytrees: nested dicts, lists and tuples of arrays."""

import numpy as np

__all__ = ["tree_map", "tree_leaves", "tree_items", "tree_size"]


def tree_map(fn, tree, *rest):
    """Apply ``fn`` leaf-wise to one or more pytrees of the same structure.

    Examples
    --------
    >>> from warpkit.nn.tree import tree_map
    >>> tree_map(lambda a, b: a + b, {"x": [1, 2]}, {"x": [10, 20]})
    {'x': [11, 22]}
    """
    if isinstance(tree, dict):
        return {key: tree_map(fn, tree[key], *(r[key] for r in rest)) for key in tree}
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(fn, *items) for items in zip(tree, *rest))
    return fn(tree, *rest)


def tree_items(tree, prefix=""):
    """``(path, leaf)`` pairs in a fixed order; paths look like ``"loc/0/w"``.

    Examples
    --------
    >>> from warpkit.nn.tree import tree_items
    >>> list(tree_items({"b": [1, 2], "a": 3}))
    [('a', 3), ('b/0', 1), ('b/1', 2)]
    """
    if isinstance(tree, dict):
        for key in sorted(tree):
            yield from tree_items(tree[key], f"{prefix}{key}/")
    elif isinstance(tree, (list, tuple)):
        for index, item in enumerate(tree):
            yield from tree_items(item, f"{prefix}{index}/")
    else:
        yield prefix[:-1], tree


def tree_leaves(tree):
    """The leaves of a pytree, in :func:`tree_items` order.

    Examples
    --------
    >>> from warpkit.nn.tree import tree_leaves
    >>> tree_leaves({"b": [1, 2], "a": 3})
    [3, 1, 2]
    """
    return [leaf for _, leaf in tree_items(tree)]


def tree_size(tree):
    """Total number of scalars in a pytree of arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from warpkit.nn.tree import tree_size
    >>> tree_size({"w": np.zeros((3, 2)), "b": np.zeros(2)})
    8
    """
    return int(sum(np.size(leaf) for leaf in tree_leaves(tree)))
