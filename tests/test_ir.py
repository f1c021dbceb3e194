import json

import numpy as np
import pytest

from hwgen.errors import HwgenError
from hwgen.ir import (Argmax, Bipolar, Dense, Graph, Input, Integer, IntegerDense, MultiThreshold, Ternary, Threshold,
                      load_graph, save_graph)

from .graphs import random_graph, random_network


def test_integer_for_range_is_narrowest():
    assert Integer.for_range(0, 255) == Integer(8, signed=False)
    assert Integer.for_range(-784, 784) == Integer(11, signed=True)
    assert Integer.for_range(-128, 127) == Integer(8, signed=True)
    assert Integer.for_range(-129, 0) == Integer(9, signed=True)


def test_accumulator_width_is_derived_from_worst_case():
    graph = Graph((Input("x", 784, Integer(8, signed=False)), Dense("fc", "x", np.ones((3, 784)))))
    acc = graph.types["fc"]
    assert acc.min <= -784 * 255 and acc.max >= 784 * 255
    assert Integer(acc.bits - 1, signed=True).max < 784 * 255


def test_round_trip(tmp_path):
    graph = random_graph(np.random.default_rng(0), [20, 12, 10], Integer(5, signed=False))
    save_graph(graph, tmp_path)
    loaded = load_graph(tmp_path)
    assert [n.name for n in loaded.nodes] == [n.name for n in graph.nodes]
    for a, b in zip(graph.nodes, loaded.nodes):
        assert type(a) is type(b)
        for field in ("weights", "thresholds", "descending"):
            if hasattr(a, field):
                assert np.array_equal(getattr(a, field), getattr(b, field))
    assert loaded.types == graph.types


@pytest.mark.parametrize("seed", [0, 15])   # ternary, n-bit and multi-threshold nodes
def test_round_trip_of_every_node_kind(tmp_path, seed):
    graph, _ = random_network(np.random.default_rng(seed))
    assert {"integer_dense", "multi_threshold"} <= {n.op for n in graph.nodes}
    save_graph(graph, tmp_path)
    loaded = load_graph(tmp_path)
    for a, b in zip(graph.nodes, loaded.nodes):
        assert type(a) is type(b) and a.name == b.name
        for field in ("weights", "thresholds", "descending", "weight_type", "low"):
            if hasattr(a, field):
                assert np.array_equal(getattr(a, field), getattr(b, field))
    assert loaded.types == graph.types


def test_arrays_are_read_only():
    node = Dense("fc", "x", np.ones((2, 2)))
    with pytest.raises(ValueError):
        node.weights[0, 0] = 0


@pytest.mark.parametrize("nodes, message", [
    ((Dense("fc", "x", np.ones((2, 2))),), "a graph starts with an input node"),
    ((Input("x", 3, Bipolar()), Dense("fc", "x", np.ones((2, 2)))),
     "node 'fc': weights have 2 inputs per row, but 'x' gives 3 elements"),
    ((Input("x", 2, Bipolar()), Dense("fc", "y", np.ones((2, 2)))),
     "node 'fc': field 'input': expected 'x'"),
    ((Input("x", 2, Bipolar()), Threshold("th", "x", np.zeros(2), np.zeros(2))),
     "node 'th': thresholds compare integers"),
    ((Input("x", 2, Bipolar()), Dense("fc", "x", np.ones((2, 2))),
      Threshold("th", "fc", np.array([0, 99]), np.zeros(2))),
     r"node 'th': field 'thresholds': values must lie in \[-4, 4\]"),
    ((Input("x", 2, Bipolar()), Argmax("x", "x")), "node 'x': the name is used twice"),
    ((Input("x", 2, Bipolar()), MultiThreshold("q", "x", np.zeros((2, 3)), np.zeros(2), 0)),
     "node 'q': thresholds compare integers"),
    ((Input("x", 2, Integer(2, signed=False)), MultiThreshold("q", "x", np.array([[0, 1], [1, 5]]), np.zeros(2), 0)),
     r"node 'q': field 'thresholds': values must lie in \[-1, 4\]"),
    ((Input("x", 3, Bipolar()), IntegerDense("fc", "x", np.ones((2, 2)), Ternary())),
     "node 'fc': weights have 2 inputs per row, but 'x' gives 3 elements"),
])
def test_invalid_graphs_name_node_and_field(nodes, message):
    with pytest.raises(ValueError, match=message):
        Graph(nodes)


@pytest.mark.parametrize("make, message", [
    (lambda: IntegerDense("fc", "x", np.array([[2, 0]]), Ternary()), r"values must lie in \[-1, 1\] for Ternary"),
    (lambda: IntegerDense("fc", "x", np.array([[8]]), Integer(4, True)), r"values must lie in \[-8, 7\]"),
    (lambda: IntegerDense("fc", "x", np.array([[1]]), Integer(4, False)), "expected ternary or a signed integer"),
    (lambda: MultiThreshold("q", "x", np.array([[2, 1]]), np.array([False]), 0), "sorted in its direction"),
    (lambda: MultiThreshold("q", "x", np.array([[1, 2]]), np.array([True]), 0), "sorted in its direction"),
    (lambda: MultiThreshold("q", "x", np.array([1, 2]), np.array([True]), 0), r"a non-empty \(channels, levels\)"),
])
def test_invalid_integer_weights_and_multi_thresholds(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_weights_must_be_bits():
    with pytest.raises(ValueError, match="node 'fc': field 'weights': bipolar weights hold bits 0/1 only"):
        Dense("fc", "x", np.array([[0, 2]]))


def _saved(tmp_path):
    save_graph(random_graph(np.random.default_rng(1), [6, 4, 3]), tmp_path)
    return json.loads((tmp_path / "graph.json").read_text())


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["nodes"][1].pop("weights"), "node 'fc0' \\(dense\\): missing field 'weights'"),
    (lambda d: d["nodes"][1].update(op="conv"), "node 'fc0': field 'op': unknown op 'conv'"),
    (lambda d: d["nodes"][1].update(weights="nope"), "field 'weights': array 'nope' is not in arrays.npz"),
    (lambda d: d["nodes"][0].update(size="6"), "node 'input' \\(input\\): field 'size': expected int"),
    (lambda d: d["nodes"][0].update(dtype={"kind": "float"}), "unknown type kind 'float'"),
    (lambda d: d.update(version=99), "field 'version': this hwgen reads versions 1, 2, 3, the file has 99"),
    (lambda d: d["nodes"][2].update(extra=1), "node 'th0' \\(threshold\\): unknown field\\(s\\) extra"),
])
def test_invalid_graph_files_name_node_and_field(tmp_path, edit, message):
    document = _saved(tmp_path)
    edit(document)
    (tmp_path / "graph.json").write_text(json.dumps(document))
    with pytest.raises(HwgenError, match=message):
        load_graph(tmp_path)


def test_corrupt_files(tmp_path):
    _saved(tmp_path)
    (tmp_path / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(HwgenError, match="arrays.npz: not a readable .npz archive"):
        load_graph(tmp_path)
    (tmp_path / "graph.json").write_text("{not json")
    with pytest.raises(HwgenError, match="graph.json: not valid JSON"):
        load_graph(tmp_path)
    with pytest.raises(HwgenError, match="no such file; run `hwgen export` first"):
        load_graph(tmp_path / "missing")
