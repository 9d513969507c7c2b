"""Pictures of the training runs of ``warpkit train`` and ``warpkit table``.

* :func:`sampling_outline` -- where a spatial transformer reads: the border of
  its output frame mapped into the input image (pixel coordinates);
* :func:`save_transformer_picture` -- test inputs with that outline drawn on
  them, above the transformer's outputs;
* :func:`save_training_curves` -- train and test error and loss per epoch;
* :class:`TransformerAnimation` -- one frame per epoch of the transformer's
  outputs on fixed test images, saved as an animated GIF;
* :func:`save_table_plot` -- the bar chart of a table's test errors.

The figures need matplotlib and the animation Pillow (both in the ``train``
extra); they are imported when a picture is drawn.
"""

import numpy as np

import warpkit
from warpkit.coords import pixel_from_normalized

__all__ = ["sampling_outline", "fit_view", "save_transformer_picture", "save_training_curves",
           "TransformerAnimation", "save_table_plot"]

_OUTLINE_COLOUR = "#ff3b30"
_GIF_CELL = 64  # side of one image in an animation frame, pixels


def sampling_outline(transform, theta, output_size, input_size, *, control_points=None,
                     align_corners=False):
    """The border of the transformer's output frame, mapped into the input image.

    The grid generator of ``transform`` (:func:`warpkit.affine_grid`,
    :func:`warpkit.perspective_grid` or :func:`warpkit.tps_grid`) gives,
    for every output pixel, the normalized input point it reads; the grid's
    border points, walked once around the frame, are converted to input
    pixel coordinates (pixel centres at integers).  On a cluttered canvas
    with an ``attention`` transformer this is the box it attends to.

    Parameters
    ----------
    transform : {"affine", "attention", "perspective", "tps"}
    theta : ndarray
        The transform of every image, as
        :meth:`warpkit.nn.SpatialTransformer.transform_params` returns it:
        (N, 2, 3) for ``affine`` and ``attention``, (N, 3, 3) for
        ``perspective``, (N, K, 2) target points for ``tps``.
    output_size : (int, int)
        ``(H_out, W_out)`` of the transformer's output.
    input_size : (int, int)
        ``(H, W)`` of its input.
    control_points : ndarray, shape (K, 2), optional
        The spline's control points (``tps`` only).
    align_corners : bool, optional
        The normalization convention of the transformer.

    Returns
    -------
    ndarray, shape (N, 2 * (H_out + W_out) - 3, 2)
        ``(x, y)`` input pixel coordinates: along the top row left to right,
        down the right column, back along the bottom row and up the left
        column to the first point again (a closed line).

    Raises
    ------
    ValueError
        If ``transform`` is unknown, or ``tps`` comes without
        ``control_points``.

    Examples
    --------
    The identity reads the output's pixel centres at the same place of a
    4x4 input: the outline runs through the centres of the border pixels.

    >>> import numpy as np
    >>> from warpkit.pictures import sampling_outline
    >>> outline = sampling_outline("affine", np.eye(2, 3)[None], (4, 4), (4, 4))
    >>> outline.shape, outline[0, [0, 3, 6, 9, 12]].tolist()
    ((1, 13, 2), [[0.0, 0.0], [3.0, 0.0], [3.0, 3.0], [0.0, 3.0], [0.0, 0.0]])
    """
    size = tuple(int(side) for side in output_size)
    theta = np.asarray(theta)
    if transform in ("affine", "attention"):
        grid = warpkit.affine_grid(theta, size, align_corners=align_corners)
    elif transform == "perspective":
        grid = warpkit.perspective_grid(theta, size, align_corners=align_corners)
    elif transform == "tps":
        if control_points is None:
            raise ValueError("sampling_outline: transform 'tps' needs control_points, "
                             "shape (K, 2)")
        grid = warpkit.tps_grid(control_points, theta, size, align_corners=align_corners)
    else:
        raise ValueError(f"sampling_outline: unknown transform {transform!r}; expected "
                         f"'affine', 'attention', 'perspective' or 'tps'")
    border = np.concatenate([grid[:, 0, :],           # top row, left to right
                             grid[:, 1:, -1],         # right column, downwards
                             grid[:, -1, -2::-1],     # bottom row, right to left
                             grid[:, -2::-1, 0]],     # left column, up to the start
                            axis=1)
    return pixel_from_normalized(border, tuple(input_size), align_corners)


def _transformer_view(net, params, images):
    """``(outputs, outlines)`` of a model's transformer on ``images``; ``(None, None)`` if none."""
    transformer = net.transformer
    if transformer is None:
        return None, None
    outputs, theta = transformer(params["st"], images)
    outlines = sampling_outline(transformer.transform, theta, transformer.output_size,
                                transformer.input_shape[1:],
                                control_points=transformer.control_points,
                                align_corners=transformer.align_corners)
    return np.asarray(outputs), outlines


def _figure(width, height):
    """A matplotlib figure drawn off screen (pyplot's global state stays untouched)."""
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height))


def _show_image(axis, image, title=None):
    axis.imshow(np.asarray(image), cmap="gray", vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([])
    if title is not None:
        axis.set_title(title, fontsize=8)


def save_transformer_picture(path, net, params, images, labels, *, title):
    """Draw ``images`` with the transformer's sampling outline above its outputs.

    Parameters
    ----------
    path : str
        The PNG file to write.
    net : warpkit.nn.Model
        A classifier; without a spatial transformer only the inputs are
        drawn (so that every run folder holds the same files).
    params : pytree
        Its parameters.
    images : ndarray, shape (N, 1, H, W)
        Test images, a row of ``N`` (8 reads well).
    labels : ndarray, shape (N,)
        Their classes, written above them.
    title : str
        The picture's title (the run: dataset, model, transform, seed).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from warpkit import nn
    >>> from warpkit.pictures import save_transformer_picture
    >>> net = nn.make_model("st-fcn", (1, 16, 16))
    >>> params = net.init(np.random.default_rng(0))
    >>> images = np.random.default_rng(1).random((2, 1, 16, 16)).astype(np.float32)
    >>> path = os.path.join(tempfile.mkdtemp(), "transformer.png")
    >>> save_transformer_picture(path, net, params, images, [3, 5], title="demo")
    >>> os.path.getsize(path) > 0
    True
    """
    outputs, outlines = _transformer_view(net, params, images)
    count = len(images)
    rows = 1 if outputs is None else 2
    figure = _figure(1.3 * count, 1.45 * rows + 0.55)
    axes = figure.subplots(rows, count, squeeze=False)
    height, width = np.shape(images)[-2:]
    for column in range(count):
        axis = axes[0, column]
        _show_image(axis, images[column, 0], f"label {labels[column]}")
        if outlines is not None:
            _draw_outline(axis, outlines[column], height, width)
        if outputs is not None:
            _show_image(axes[1, column], outputs[column, 0])
    axes[0, 0].set_ylabel("input" + (" + where\nit reads" if outputs is not None else ""),
                          fontsize=7)
    if outputs is not None:
        axes[1, 0].set_ylabel("transformer\noutput", fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _draw_outline(axis, outline, height, width):
    """Draw ``outline`` on an image axis and widen the view to show it (:func:`fit_view`)."""
    axis.plot(outline[:, 0], outline[:, 1], color=_OUTLINE_COLOUR, linewidth=1.0)
    fit_view(axis, [outline], height, width)


def fit_view(axis, outlines, height, width):
    """Widen an image axis, on grey, to show every outline: by at most the image's size beyond
    each side, and always one pixel around the image.

    Parameters
    ----------
    axis : matplotlib Axes
        The axis showing a ``height x width`` image.
    outlines : sequence of ndarray, shape (K, 2)
        Pixel ``(x, y)`` points, e.g. from :func:`sampling_outline`.
    height, width : int
        The image's size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from warpkit.pictures import fit_view
    >>> figure, axis = plt.subplots()
    >>> fit_view(axis, [np.array([[-3.0, 2.0], [5.0, 9.0]])], 8, 8)
    >>> tuple(map(float, axis.get_xlim())), tuple(map(float, axis.get_ylim()))
    ((-4.0, 8.5), (10.0, -1.5))
    >>> plt.close(figure)
    """
    size = np.array([width, height])
    image_low, image_high = np.full(2, -0.5) - 1.0, size - 0.5 + 1.0
    low, high = image_low, image_high
    for outline in outlines:
        low = np.minimum(low, np.clip(outline.min(axis=0) - 1.0, image_low - size, image_low))
        high = np.maximum(high, np.clip(outline.max(axis=0) + 1.0, image_high,
                                        image_high + size))
    axis.set_xlim(low[0], high[0])
    axis.set_ylim(high[1], low[1])
    axis.set_facecolor("0.55")


def save_training_curves(path, history, *, title):
    """Plot the train and test error (%) and loss of every epoch of a ``history``.

    Parameters
    ----------
    path : str
        The PNG file to write.
    history : list of dict
        The ``history`` of a :class:`warpkit.nn.FitResult`: ``epoch``, ``loss``,
        ``train_error`` and, with a validation set, ``test_loss`` and
        ``test_error`` per epoch.
    title : str
        The picture's title.

    Examples
    --------
    >>> import os, tempfile
    >>> from warpkit.pictures import save_training_curves
    >>> history = [{"epoch": 1, "loss": 2.0, "train_error": 0.8, "test_error": 0.7,
    ...             "test_loss": 1.9}, {"epoch": 2, "loss": 1.0, "train_error": 0.3}]
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> save_training_curves(path, history, title="demo")
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib.ticker import MaxNLocator

    figure = _figure(7.5, 3.0)
    error_axis, loss_axis = figure.subplots(1, 2)
    for axis, key, test_key, scale, label in ((error_axis, "train_error", "test_error", 100,
                                                "error (%)"),
                                               (loss_axis, "loss", "test_loss", 1, "loss")):
        for name, series_key, colour in (("train", key, "C0"), ("test", test_key, "C1")):
            points = [(row["epoch"], scale * row[series_key]) for row in history
                      if series_key in row]
            if points:
                epochs, values = zip(*points)
                axis.plot(epochs, values, "o-", color=colour, markersize=3, label=name)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    error_axis.set_ylim(bottom=0)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


class TransformerAnimation:
    """Frames of a spatial transformer at work on fixed images, one per epoch, as a GIF.

    Pass :meth:`on_epoch` to :func:`warpkit.nn.fit` (its ``on_epoch``): after
    every epoch it draws the images (with the sampling outline) above the
    transformer's outputs, captioned with the epoch and its test error.

    Parameters
    ----------
    net : warpkit.nn.Model
        A model with a spatial transformer.
    images : ndarray, shape (N, 1, H, W)
        The images to follow (8 reads well).

    Raises
    ------
    ValueError
        If ``net`` has no spatial transformer.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from warpkit import nn
    >>> from warpkit.pictures import TransformerAnimation
    >>> net = nn.make_model("st-fcn", (1, 16, 16))
    >>> params = net.init(np.random.default_rng(0))
    >>> animation = TransformerAnimation(net, np.zeros((2, 1, 16, 16), np.float32))
    >>> for epoch in (1, 2):
    ...     animation.on_epoch({"epoch": epoch}, params)
    >>> path = os.path.join(tempfile.mkdtemp(), "transformer.gif")
    >>> animation.save(path)
    >>> from PIL import Image
    >>> with Image.open(path) as gif:
    ...     gif.n_frames
    2
    """

    def __init__(self, net, images):
        if net.transformer is None:
            raise ValueError(f"TransformerAnimation: the animation shows a spatial "
                             f"transformer's output; model {net.name!r} has none (expected "
                             f"an st-* model)")
        self.net = net
        self.images = np.asarray(images)
        self.frames = []

    def on_epoch(self, metrics, params):
        """Draw the frame of one epoch (``fit``'s ``on_epoch`` callback)."""
        outputs, outlines = _transformer_view(self.net, params, self.images)
        caption = f"epoch {metrics['epoch']}"
        if "test_error" in metrics:
            caption += f"   test error {100 * metrics['test_error']:.1f}%"
        self.frames.append(_animation_frame(self.images, outputs, outlines, caption))

    def save(self, path, seconds_per_frame=0.6):
        """Write the frames as a looping GIF (the last one shown three times as long).

        Raises
        ------
        ValueError
            If no frame was drawn yet.
        """
        if not self.frames:
            raise ValueError("TransformerAnimation.save: no frames yet; call on_epoch first")
        durations = [int(1000 * seconds_per_frame)] * len(self.frames)
        durations[-1] *= 3
        self.frames[0].save(path, save_all=True, append_images=self.frames[1:],
                            duration=durations, loop=0)


def _animation_frame(images, outputs, outlines, caption):
    """One RGB frame: a caption, the inputs with their outlines, the outputs below."""
    from PIL import Image, ImageDraw

    cell, gap, top = _GIF_CELL, 2, 16
    count = len(images)
    frame = Image.new("RGB", (count * (cell + gap) + gap, top + 2 * cell + 3 * gap), "black")
    draw = ImageDraw.Draw(frame)
    draw.text((gap + 2, 2), caption, fill="white")
    height, width = images.shape[-2:]
    for index in range(count):
        left = gap + index * (cell + gap)
        for row, image in enumerate((images[index, 0], outputs[index, 0])):
            pixels = np.uint8(np.round(255 * np.clip(image, 0.0, 1.0)))
            tile = Image.fromarray(pixels, "L").resize((cell, cell), Image.NEAREST)
            frame.paste(tile.convert("RGB"), (left, top + gap + row * (cell + gap)))
        scale = np.array([cell / width, cell / height])
        points = (outlines[index] + 0.5) * scale + (left, top + gap)
        draw.line([tuple(point) for point in points], fill=_OUTLINE_COLOUR, width=1)
    return frame


def save_table_plot(path, results, datasets, rows, paper_errors=None):
    """Bar chart of a table's test errors: one group per dataset, one bar per row.

    Parameters
    ----------
    path : str
        The PNG file to write.
    results : list of dict
        Run metrics: ``dataset``, ``model``, ``transform``, ``test_error``.
    datasets : sequence of str
        The groups, left to right.
    rows : sequence of (str, str or None)
        ``(model, transform)`` of every bar (``None`` for plain models).
    paper_errors : callable, optional
        ``paper_errors(model, transform, dataset)`` -> the paper's error (%)
        or None, drawn as a black bar-wide tick.

    Examples
    --------
    >>> import os, tempfile
    >>> from warpkit.pictures import save_table_plot
    >>> runs = [{"dataset": "R", "model": "cnn", "transform": None, "test_error": 0.1}]
    >>> path = os.path.join(tempfile.mkdtemp(), "table.png")
    >>> save_table_plot(path, runs, ["R"], [("cnn", None)])
    >>> os.path.getsize(path) > 0
    True
    """
    figure = _figure(2.2 + 0.5 * len(rows) * len(datasets), 3.4)
    axis = figure.subplots()
    width = 0.8 / len(rows)
    marked_paper = False
    for index, (model, transform) in enumerate(rows):
        label = model.upper() + (f" {transform}" if transform else "")
        for column, dataset in enumerate(datasets):
            errors = [100 * r["test_error"] for r in results if r["model"] == model
                      and r.get("transform") == transform and r["dataset"] == dataset]
            x = column + (index - (len(rows) - 1) / 2) * width
            if errors:
                axis.bar(x, np.mean(errors), width, color=f"C{index}",
                         label=label if column == 0 else None)
                axis.plot([x] * len(errors), errors, "k.", markersize=3)
            paper = paper_errors(model, transform, dataset) if paper_errors else None
            if paper is not None:
                axis.plot([x - width / 2, x + width / 2], [paper, paper], "k-", linewidth=1.5,
                          label=None if marked_paper else "paper")
                marked_paper = True
    axis.set_xticks(range(len(datasets)))
    axis.set_xticklabels(datasets)
    axis.set_ylabel("test error (%)")
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
