"""Training plots written as PNG into the run folder: curves per epoch, first-layer weights."""
import math
from pathlib import Path

import matplotlib
import numpy as np

from hwgen.files import atomic_path

matplotlib.use("Agg")   # files only: no display on a build machine
from matplotlib import pyplot as plt  # noqa: E402 (the backend comes first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

CURVES_FILE = "training.png"
WEIGHTS_FILE = "weights.png"


def plot_curves(path: Path, runs: list[dict], baseline: list[dict] | None = None) -> None:
    """Loss (left) and accuracy (right) per epoch for every run; ``runs`` are
    histories as ``train.json`` holds them. Quantized runs blue, the float
    baseline orange; test accuracy solid, validation dotted; grey: the epoch kept."""
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4))
    for label, histories, colour in (("quantized", runs, "tab:blue"), ("float", baseline or [], "tab:orange")):
        for index, history in enumerate(histories):
            epochs = range(1, len(history["loss"]) + 1)
            first = index == 0
            loss_axes.plot(epochs, history["loss"], color=colour, alpha=0.8, label=label if first else None)
            accuracy_axes.plot(epochs, history["test_accuracy"], color=colour, alpha=0.8,
                               label=f"{label} test" if first else None)
            if history["validation_accuracy"]:
                accuracy_axes.plot(epochs, history["validation_accuracy"], ":", color=colour, alpha=0.8,
                                   label=f"{label} validation" if first else None)
            accuracy_axes.axvline(history["best_epoch"], color="grey", linewidth=0.5)
    count = f"{len(runs)} runs" if len(runs) > 1 else "1 run"
    loss_axes.set(title=f"training loss ({count})", xlabel="epoch", ylabel="cross-entropy")
    accuracy_axes.set(title="accuracy (grey: the epoch kept)", xlabel="epoch", ylabel="accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(fontsize="small")
    _save(figure, path)


def plot_weights(path: Path, weights: np.ndarray, title: str) -> None:
    """The first layer's weights, ``weights`` (outputs, height, width): each
    output's as an image for image inputs (as bitorch's weight debug layer
    shows them), one row per output for feature vectors. Black is the most
    negative weight (-1), white the most positive (+1)."""
    limit = float(np.abs(weights).max()) or 1.0
    shade = dict(cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
    count, height, width = weights.shape
    if height == 1:
        figure, axes = plt.subplots(figsize=(max(4, width * 0.5 + 2), max(3, count * 0.2 + 1)))
        shown = axes.imshow(weights[:, 0, :], aspect="auto", **shade)
        axes.set(xlabel="input feature", ylabel="output", title=title)
        figure.colorbar(shown, ax=axes)
        _save(figure, path)
        return
    columns = min(16, count)
    rows = math.ceil(count / columns)
    figure, grid = plt.subplots(rows, columns, squeeze=False, figsize=(columns * 0.8 + 1, rows * 0.8 + 1))
    for index, axes in enumerate(grid.flat):
        axes.set_xticks([])
        axes.set_yticks([])
        if index < count:
            axes.imshow(weights[index], **shade)
            axes.set_title(str(index), fontsize=6)
        else:
            axes.set_axis_off()
    figure.suptitle(title)
    _save(figure, path)


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
