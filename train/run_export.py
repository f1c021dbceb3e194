"""The Python API's last step: a network trained in the user's own script into a run folder.

Build an ``nn.Sequential`` from hwgen's layers (``hwgen.train.layers``,
``hwgen.train.shift_layers``: the same ones the model files build), train it
with your own loop, then ``export_run`` it; ``hwgen verilog``, ``sim``,
``synth`` and ``report`` then run on the folder as after ``hwgen export``.
"""
import json
from pathlib import Path

import numpy as np
from torch import nn

from hwgen import golden
from hwgen.errors import HwgenError
from hwgen.files import write_text
from hwgen.flow import GRAPH, MODEL_FILE, PREDICTIONS, TESTSET, save_npz
from hwgen.ir import save_graph
from hwgen.run_folder import RunFolder

from .export import export_graph
from .fit import predict
from .model_file import parse_model_text


def export_run(model: nn.Module, folder: str | Path, *, name: str, test_images: np.ndarray,
               test_labels: np.ndarray, input_bits: int, folding: list[str] | None = None,
               input_per_beat: int = 1, description: str = "") -> Path:
    """Lower ``model`` to the integer graph, check that it predicts exactly what
    torch eval does on every test image, and write the run folder: the graph,
    the test set, both predictions and a model file (``data.set = "python"``)
    holding the name and the hardware settings. ``test_images`` are unsigned
    integers of ``input_bits`` bits, one flattened row per image."""
    images = np.asarray(test_images)
    labels = np.asarray(test_labels, dtype=np.int64)
    if images.ndim != 2 or labels.shape != (len(images),) or not len(images):
        raise HwgenError(f"test_images must be (n, features) and test_labels (n,); got {images.shape} "
                         f"and {labels.shape}")
    if not np.issubdtype(images.dtype, np.integer) or images.min() < 0 or images.max() >= 1 << input_bits:
        raise HwgenError(f"test_images must be unsigned integers below 2**{input_bits}")
    try:
        graph = export_graph(model, images.shape[1], input_bits)
    except ValueError as error:   # a layer hwgen cannot lower, or a graph that does not validate
        raise HwgenError(str(error)) from None
    torch_pred = predict(model, images)
    golden_pred = golden.run(graph, images)[:, 0]
    differ = np.flatnonzero(torch_pred != golden_pred)
    if differ.size:
        raise HwgenError(f"export: the integer graph disagrees with torch eval on {differ.size} test images "
                         f"(first: {differ[0]}); nothing written")
    hardware = {"folding": list(folding) if folding else "auto", "input_per_beat": input_per_beat}
    model_file = "\n".join([
        "# Written by hwgen.train.export_run: the network was built and trained in a Python script.",
        f"name = {json.dumps(name)}", f"description = {json.dumps(description)}",
        "[data]", 'set = "python"', "[hardware]",
        *(f"{key} = {json.dumps(value)}" for key, value in hardware.items()), ""])
    parse_model_text("export_run's arguments", model_file, Path.cwd())   # a bad name or folding fails here
    run = RunFolder(Path(folder))
    run.prepare()
    write_text(run / MODEL_FILE, model_file)
    save_graph(graph, run.path)
    save_npz(run / TESTSET, images=images.astype(np.uint8), labels=labels)
    save_npz(run / PREDICTIONS, torch=torch_pred, golden=golden_pred)
    run.record([MODEL_FILE], [])
    run.record([*GRAPH, TESTSET, PREDICTIONS], [MODEL_FILE])
    return run.path
