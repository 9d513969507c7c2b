"""The task graphs of chunked warps: which task reads which chunks.

:class:`Blocks` holds the chunk layout of one call: the input's chunks, the
output's (the input's along the batch and channel axes, the caller's along
the spatial axes) and, per output chunk, its source box in input pixels.
The graph builders turn that into Dask tasks:

* :func:`forward_graph`: one task per output chunk, reading only the input
  chunks its box touches (none for a box outside the input);
* :func:`vjp_graph`: one backward task per output chunk; per input chunk a
  task that adds the overlapping parts of the crop gradients, in the output
  chunks' order; and the parameter gradients reduced by a fixed tree of
  :data:`FAN_IN`-way sums.  Every sum runs in a fixed order, so the
  gradients are bit-identical from run to run, whatever the scheduler.
"""

import itertools

import numpy as np
from dask.array.core import Array
from dask.highlevelgraph import HighLevelGraph

from . import _tasks

__all__ = ["Blocks", "forward_graph", "vjp_graph", "FAN_IN"]

#: Operands of one node of the parameter gradients' reduction tree.
FAN_IN = 8


def _bounds(chunks):
    """Chunk boundaries ``[0, c0, c0 + c1, ...]`` of one axis."""
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)


class Blocks:
    """The chunk layout of one chunked call.

    Parameters
    ----------
    input : dask.array.Array, shape (N, C, *spatial)
        The input.
    output_spatial : tuple of int
        The output's spatial extent.
    output_chunks : tuple of tuple of int
        The output's chunks along each spatial axis.
    box_of : callable
        ``box_of(n0, n1, starts, stops)`` gives the source box of output samples
        ``[n0, n1)`` over the spatial index range ``[starts, stops)``:
        ``(first, last)`` (inclusive input indices per spatial axis) or None.
    """

    def __init__(self, input, output_spatial, output_chunks, box_of):
        self.input = input
        self.dims = input.ndim - 2
        self.output_shape = tuple(input.shape[:2]) + tuple(output_spatial)
        self.output_chunks = tuple(input.chunks[:2]) + tuple(output_chunks)
        self._in_bounds = [_bounds(c) for c in input.chunks]
        self._out_bounds = [_bounds(c) for c in self.output_chunks]
        self._boxes = {}
        self._box_of = box_of

    def output_blocks(self):
        """Indices ``(bn, bc, *bs)`` of every output chunk, in C order."""
        return itertools.product(*(range(len(c)) for c in self.output_chunks))

    def input_blocks(self):
        """Indices of every input chunk, in C order."""
        return itertools.product(*(range(len(c)) for c in self.input.chunks))

    def samples(self, bn):
        """The sample range ``(n0, n1)`` of batch chunk ``bn``."""
        return int(self._out_bounds[0][bn]), int(self._out_bounds[0][bn + 1])

    def region(self, index):
        """Spatial ``(starts, stops)`` of output chunk ``index``."""
        spatial = index[2:]
        bounds = self._out_bounds[2:]
        return (tuple(int(b[i]) for b, i in zip(bounds, spatial)),
                tuple(int(b[i + 1]) for b, i in zip(bounds, spatial)))

    def block_shape(self, index, chunks=None):
        """Shape of chunk ``index`` of the output (or of the layout ``chunks``)."""
        chunks = self.output_chunks if chunks is None else chunks
        return tuple(c[i] for c, i in zip(chunks, index))

    def box(self, index):
        """The source box of output chunk ``index`` (cached per samples and region)."""
        key = (index[0],) + tuple(index[2:])
        if key not in self._boxes:
            n0, n1 = self.samples(index[0])
            starts, stops = self.region(index)
            self._boxes[key] = self._box_of(n0, n1, starts, stops)
        return self._boxes[key]

    def touched(self, box):
        """Per spatial axis, the input chunk indices that the box ``(first, last)`` touches."""
        first, last = box
        ranges = []
        for bounds, a, b in zip(self._in_bounds[2:], first, last):
            low = int(np.searchsorted(bounds, a, side="right")) - 1
            high = int(np.searchsorted(bounds, b, side="right")) - 1
            ranges.append(range(low, high + 1))
        return ranges

    def parts(self, index, box):
        """The input chunk keys an output chunk reads and their spatial origins."""
        bn, bc = index[:2]
        keys, starts = [], []
        for spatial in itertools.product(*self.touched(box)):
            keys.append((self.input.name, bn, bc) + spatial)
            starts.append(tuple(int(b[i]) for b, i in zip(self._in_bounds[2:], spatial)))
        return keys, starts

    def input_first(self, index):
        """Spatial origin of input chunk ``index``."""
        return tuple(int(b[i]) for b, i in zip(self._in_bounds[2:], index[2:]))


def forward_graph(name, blocks, task_of, dtype, dependencies):
    """A lazy array with one task per output chunk.

    ``task_of(index, keys, starts, first, last)`` returns the task tuple of an
    output chunk whose source box is ``(first, last)``; a chunk without a
    source box is zeros, computed without reading anything.
    """
    dsk = {}
    for index in blocks.output_blocks():
        box = blocks.box(index)
        if box is None:
            dsk[(name,) + index] = (_tasks.zeros, blocks.block_shape(index), dtype)
            continue
        keys, starts = blocks.parts(index, box)
        dsk[(name,) + index] = task_of(index, keys, starts, *box)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=dependencies)
    return Array(graph, name, blocks.output_chunks, dtype=dtype)


def vjp_graph(name, blocks, task_of, need_input, dependencies):
    """The backward tasks of every output chunk with a source box, and what reduces them.

    ``task_of(index, keys, starts, first, last)`` returns the task tuple of
    an output chunk's backward pass, whose result is ``(grad_crop, first,
    extra)``.  Returns ``(graph dict, backward keys in order, input gradient
    or None)``: the caller reduces the ``extra`` parts.
    """
    dsk = {}
    backward = []
    reads = {}  # input chunk -> backward keys of the output chunks that read it
    for index in blocks.output_blocks():
        box = blocks.box(index)
        if box is None:
            continue
        keys, starts = blocks.parts(index, box)
        key = (name + "-block",) + index
        dsk[key] = task_of(index, keys, starts, *box)
        backward.append(key)
        for input_key in keys:
            reads.setdefault(input_key[1:], []).append(key)
    grad_input = None
    if need_input:
        input_name = name + "-input"
        dtype = blocks.input.dtype
        for index in blocks.input_blocks():
            shape = blocks.block_shape(index, blocks.input.chunks)
            readers = reads.get(index)
            if not readers:
                dsk[(input_name,) + index] = (_tasks.zeros, shape, dtype)
            else:
                dsk[(input_name,) + index] = (_tasks.gather_gradient, readers,
                                              blocks.input_first(index), shape, dtype)
        graph = HighLevelGraph.from_collections(input_name, dict(dsk), dependencies=dependencies)
        grad_input = Array(graph, input_name, blocks.input.chunks, dtype=dtype)
    return dsk, backward, grad_input


def reduction_tree(dsk, name, leaves, function):
    """Add a fixed tree of ``function(list)`` nodes of at most :data:`FAN_IN` operands
    over ``leaves`` (keys, in order) to ``dsk``; returns the root's key."""
    level = 0
    nodes = list(leaves)
    while len(nodes) > 1 or level == 0:
        groups = [nodes[i:i + FAN_IN] for i in range(0, max(len(nodes), 1), FAN_IN)]
        nodes = []
        for k, group in enumerate(groups):
            key = (f"{name}-sum-{level}", k)
            dsk[key] = (function, list(group))
            nodes.append(key)
        level += 1
    return nodes[0]


def single_block_array(dsk, name, task, shape, dtype, dependencies):
    """A one-chunk dask array whose chunk is ``task``, with ``dsk`` as its graph."""
    key = (name,) + (0,) * len(shape)
    layer = dict(dsk)
    layer[key] = task
    graph = HighLevelGraph.from_collections(name, layer, dependencies=dependencies)
    return Array(graph, name, tuple((s,) for s in shape), dtype=dtype)
