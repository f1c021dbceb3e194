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
    histories as ``train.json`` holds them; the float baseline dashed."""
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4))
    for label, histories, style in (("run", runs, "-"), ("float", baseline or [], "--")):
        for index, history in enumerate(histories):
            epochs = range(1, len(history["loss"]) + 1)
            name = f"{label} {index + 1}" if len(histories) > 1 else label
            loss_axes.plot(epochs, history["loss"], style, label=name)
            accuracy_axes.plot(epochs, history["test_accuracy"], style, label=f"{name} test")
            if history["validation_accuracy"]:
                accuracy_axes.plot(epochs, history["validation_accuracy"], ":", label=f"{name} validation")
            accuracy_axes.axvline(history["best_epoch"], color="grey", linewidth=0.5)
    loss_axes.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    accuracy_axes.set(title="accuracy (grey: the epoch kept)", xlabel="epoch", ylabel="accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(fontsize="small")
    _save(figure, path)


def plot_weights(path: Path, weights: np.ndarray, title: str) -> None:
    """Each output's weights of the first layer as an image: ``weights`` is
    (outputs, height, width), black -1 (or the most negative), white +1."""
    count = len(weights)
    columns = min(16, count)
    rows = math.ceil(count / columns)
    height, width = weights.shape[1:]
    scale = max(0.6, 6 / max(height, width))
    figure, axes = plt.subplots(rows, columns, squeeze=False,
                                figsize=(columns * width * scale / 8 + 1, rows * height * scale / 8 + 1))
    limit = float(np.abs(weights).max()) or 1.0
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index < count:
            ax.imshow(weights[index], cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_title(str(index), fontsize=6)
    figure.suptitle(title)
    _save(figure, path)


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
