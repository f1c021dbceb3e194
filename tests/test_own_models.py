"""Model files written as a user would, each through `hwgen flow`: torch = golden = RTL."""
import json
from pathlib import Path

import numpy as np
import pytest

from hwgen.cli import main

pytestmark = pytest.mark.slow

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

VERTEBRAL_BNN = """
name = "vertebral-bnn"
description = "binarized MLP on the UCI vertebral column set"
[data]
set = "vertebral"
input_bits = 8
[[layer]]
dense = 32
weights = "binary"
activation = "sign"
[[layer]]
dense = 3
weights = "binary"
[train]
epochs = 30
batch_size = 16
learning_rate = 0.01
weight_decay = 1e-4
early_stop_patience = 4
validation = 0.2
runs = 5
[hardware]
folding = ["8x6", "3x32"]
input_per_beat = 6
"""

MINI_MNIST_CNN = """
name = "mini-mnist-cnn"
[data]
set = "mini-mnist"
[[layer]]
conv = 8
kernel = 3
padding = 1
pool = 2
activation = "sign"
[[layer]]
conv = 16
kernel = 3
pool = 2
activation = "sign"
[[layer]]
dense = 32
activation = "sign"
[[layer]]
dense = 10
[train]
epochs = 3
batch_size = 50
learning_rate = 0.01
[hardware]
folding = ["8x9", "8x72", "8x64", "10x32"]
"""

CSV_SHIFT = """
name = "blobs-shift"
[data]
set = "csv"
path = "blobs.csv"
label = "kind"
input_bits = 6
[[layer]]
dense = 16
weights = "shift-ps"
weight_bits = 5
activation = "relu-fixed"
bits = 8
frac = 4
[[layer]]
dense = 3
weights = "shift-ps"
weight_bits = 5
[train]
epochs = 20
batch_size = 16
learning_rate = 0.03
"""


# Every weight kind of the binarized family in one network, and n-bit activations:
# int8 weights on 8-bit features, ternary on ±1, int3 (multipliers) on 2-bit levels, stochastic rounding.
VERTEBRAL_MIXED = """
name = "vertebral-mixed"
[data]
set = "vertebral"
input_bits = 8
[[layer]]
dense = 16
weights = "int8"
stochastic = true
activation = "sign"
estimator = "reste"
[[layer]]
dense = 16
weights = "ternary"
stochastic = true
activation = "int2"
[[layer]]
dense = 12
weights = "int3"
stochastic = true
activation = "int3"
relu = true
[[layer]]
dense = 3
weights = "ternary"
stochastic = true
[train]
epochs = 20
batch_size = 16
learning_rate = 0.01
[hardware]
folding = ["4x3", "16x16", "3x4", "3x12"]
input_per_beat = 3
"""

# A ternary CNN with 2-bit ReLU activations: padding with 0 where the levels are integers, pooling after thresholds.
DIGITS_TERNARY_CNN = """
name = "digits-ternary-cnn"
[data]
set = "digits"
[[layer]]
conv = 8
kernel = 3
padding = 1
pool = 2
weights = "ternary"
activation = "int2"
relu = true
[[layer]]
conv = 8
kernel = 3
padding = 1
weights = "int4"
activation = "sign"
[[layer]]
dense = 10
weights = "ternary"
[train]
epochs = 4
batch_size = 32
learning_rate = 0.01
[hardware]
folding = ["8x9", "4x24", "10x32"]
"""


def _flow(tmp_path, name, text, *extra):
    model = tmp_path / f"{name}.toml"
    model.write_text(text)
    out = tmp_path / "run"
    assert main(["flow", "--model", str(model), "--out", str(out), *extra]) == 0
    report = json.loads((out / "report.json").read_text())
    accuracy = report["accuracy"]
    assert report["mismatches"] == 0 and report["torch_golden_disagreements"] == 0
    assert accuracy["torch"] == accuracy["golden"] == accuracy["rtl"]
    assert report["cycles"]["per_image_measured"] == report["cycles"]["per_image_analytic"]
    assert report["cycles"]["latency"] == report["cycles"]["latency_analytic"]
    for png in ("training.png", "weights.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({png})" in (out / "report.md").read_text()
    return out, report


def test_a_binarized_mlp_on_vertebral(tmp_path, capsys):
    out, report = _flow(tmp_path, "vertebral-bnn", VERTEBRAL_BNN, "--baseline")
    training = json.loads((out / "train.json").read_text())
    stats = training["test_accuracy"]
    assert stats["runs"] == 5 and len(training["runs"]) == 5 and stats["std"] > 0
    assert any(run["stopped_early"] for run in training["runs"])
    assert training["float_baseline"]["runs"] == 5
    assert report["images"] == 62 and stats["max"] > 0.6
    printed = capsys.readouterr().out
    assert f"max {stats['max']:.2%}, mean {stats['mean']:.2%}, std {stats['std']:.2%} over 5 runs" in printed
    assert "| float twin (same layer plan) | 5 |" in (out / "report.md").read_text()


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"MNIST is not at {MNIST}")
def test_a_binarized_cnn_on_mini_mnist(tmp_path):
    _, report = _flow(tmp_path, "mini-mnist-cnn", MINI_MNIST_CNN, "--data-dir", str(MNIST), "--test-images", "30")
    assert report["test_set_accuracy"]["images"] == 800 and report["test_set_accuracy"]["torch"] > 0.5


def test_a_shift_mlp_on_a_csv_file(tmp_path):
    rng = np.random.default_rng(3)
    centres = {"north": (0, 4, 1, 0), "east": (4, 0, 0, 1), "south": (2, 2, 3, 3)}
    lines = ["width,height,depth,weight,kind"]
    for kind, centre in centres.items():
        for row in rng.normal(centre, 1.0, (60, 4)):
            lines.append(",".join(f"{v:.3f}" for v in row) + f",{kind}")
    (tmp_path / "blobs.csv").write_text("\n".join(lines) + "\n")
    _, report = _flow(tmp_path, "blobs-shift", CSV_SHIFT)
    assert report["images"] == 36 and report["test_set_accuracy"]["torch"] > 0.8


def test_ternary_and_n_bit_weights_and_activations_on_vertebral(tmp_path):
    out, report = _flow(tmp_path, "vertebral-mixed", VERTEBRAL_MIXED)
    ops = [node["op"] for node in json.loads((out / "graph.json").read_text())["nodes"]]
    assert ops == ["input", "integer_dense", "threshold", "integer_dense", "multi_threshold", "integer_dense",
                   "multi_threshold", "integer_dense", "argmax"]
    assert report["images"] == 62 and report["test_set_accuracy"]["torch"] > 0.6


def test_a_ternary_cnn_with_2_bit_activations_on_digits(tmp_path):
    out, report = _flow(tmp_path, "digits-ternary-cnn", DIGITS_TERNARY_CNN, "--test-images", "60")
    assert "multi_threshold" in (out / "graph.json").read_text()
    assert report["test_set_accuracy"]["torch"] > 0.5
