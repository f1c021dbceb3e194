"""Convolutional models: export equals torch eval on the whole digits test set."""
from dataclasses import replace

import numpy as np
import pytest

from hwgen import golden
from hwgen.ir import Flatten, MaxPool, Window
from hwgen.train.datasets import load_digits
from hwgen.train.export import export_graph
from hwgen.train.fit import predict, train_model
from hwgen.train.zoo import Conv, get_spec


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("family", ["bnn", "shift-ps", "shift-q"])
def test_cnn_export_equals_torch_eval(digits, family):
    base = get_spec("digits-cnn-bnn")
    shift = {} if family == "bnn" else dict(family=family, weight_bits=4, act_bits=6, act_frac=3,
                                            learning_rate=1e-2)
    # A padded second conv: in the binarized net it pads ±1 activations with -1.
    spec = replace(base, convs=(Conv(8, 3, 1, True), Conv(8, 3, 1, False)), hidden=(16,), **shift)
    model = train_model(spec, digits, epochs=3, seed=0, progress=False).model
    graph = export_graph(model, digits.features, digits.pixel_bits)
    assert [type(n) for n in graph.nodes if isinstance(n, (Window, MaxPool, Flatten))] == [
        Window, MaxPool, Window, Flatten]
    torch_pred = predict(model, digits.test.images)
    assert np.array_equal(golden.run(graph, digits.test.images)[:, 0], torch_pred)
    assert len(np.unique(torch_pred)) > 2   # a trained, not a constant, model

