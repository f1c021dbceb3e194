"""Seeded random model files, as a user might write them: random depth, widths, conv and
pool plans, weight kinds, activations and their estimators, input bits and foldings; and one run of each
through train (1 epoch) → export → verilog → sim. Binarized-family files mix binary,
ternary and n-bit weights and sign and n-bit activations layer by layer in half the cases."""
import json
from pathlib import Path

import numpy as np

from hwgen.cli import main

DIGITS_SIDE, DIGITS_BITS, VERTEBRAL_FEATURES = 8, 5, 6
SIM_IMAGES = 24


def _divisor(rng: np.random.Generator, n: int) -> int:
    return int(rng.choice([d for d in range(1, n + 1) if n % d == 0]))


def random_model_file(seed: int) -> str:
    rng = np.random.default_rng(seed)
    # Each layer's weights and activation in half the binarized files: drawn from a second
    # generator, so that the first draws the same plans as before these kinds existed.
    kinds = np.random.default_rng([seed, 11])
    images = bool(rng.integers(2))
    weights = str(rng.choice(["binary", "shift-ps", "shift-q"]))
    shift = weights != "binary"
    mixed = not shift and kinds.random() < 0.5
    stochastic = str(kinds.random() < 0.25).lower()
    bits = int(rng.integers(1, (DIGITS_BITS if images else 8) + 1))
    act_bits = int(rng.integers(3, 9))
    shift_keys = [f'weights = "{weights}"'] + ([f"weight_bits = {int(rng.integers(3, 6))}"] if shift else [])
    estimator = str(rng.choice(["ste", "reste", "approx-sign", "swish-sign"]))
    binarize = "stochastic" if rng.random() < 0.25 else "deterministic"
    sign = ['activation = "sign"', f'estimator = "{estimator}"', f'binarize = "{binarize}"']
    fixed = ['activation = "relu-fixed"', f"bits = {act_bits}", f"frac = {int(rng.integers(0, act_bits + 1))}"]

    def layer_keys() -> list[str]:
        if not mixed:
            return shift_keys
        kind = str(kinds.choice(["binary", "ternary", "int2", "int3", "int4", "int8", "int16"]))
        return [f'weights = "{kind}"'] + ([f"stochastic = {stochastic}"] if kind != "binary" else [])

    def activation() -> list[str]:
        if shift:
            return fixed
        if mixed and kinds.integers(2):
            return [f'activation = "int{int(kinds.integers(2, 5))}"', f"relu = {str(bool(kinds.integers(2))).lower()}"]
        return sign
    layers, folds = [], []
    channels, side = 1, DIGITS_SIDE
    for _ in range(int(rng.integers(0, 3)) if images else 0):
        out, kernel, padding = int(rng.choice([2, 4, 8])), int(rng.integers(1, 4)), int(rng.integers(0, 2))
        stride = int(rng.choice([1, 1, 2]))
        conv_side = (side + 2 * padding - kernel) // stride + 1
        pool = 2 if conv_side >= 4 and conv_side % 2 == 0 and rng.integers(2) else 0
        if conv_side < 2:
            break
        layers.append([f"conv = {out}", f"kernel = {kernel}", f"padding = {padding}", f"stride = {stride}",
                       f"pool = {pool}", *layer_keys(), *activation()])
        folds.append(f"{_divisor(rng, out)}x{_divisor(rng, kernel * kernel * channels)}")
        channels, side = out, conv_side // 2 if pool else conv_side
    width = channels * side * side if images else VERTEBRAL_FEATURES
    for _ in range(int(rng.integers(0, 3))):
        out = int(rng.integers(2, 33))
        layers.append([f"dense = {out}", *layer_keys(), *activation()])
        folds.append(f"{_divisor(rng, out)}x{int(rng.integers(1, width + 1))}")   # SIMD may pad
        width = out
    classes = 10 if images else 3
    layers.append([f"dense = {classes}", *layer_keys()])
    folds.append(f"{_divisor(rng, classes)}x{int(rng.integers(1, width + 1))}")
    convs = any(layer[0].startswith("conv") for layer in layers)
    input_per_beat = 1 if convs else _divisor(rng, DIGITS_SIDE ** 2 if images else VERTEBRAL_FEATURES)
    lines = [f'name = "random-{seed}"', "[data]", f'set = "{"digits" if images else "vertebral"}"',
             f"input_bits = {bits}"]
    for layer in layers:
        lines += ["[[layer]]", *layer]
    lines += ["[train]", "epochs = 1", "batch_size = 32", f"learning_rate = {0.01 if shift else 0.005}",
              "[hardware]", f"folding = {json.dumps(folds)}", f"input_per_beat = {input_per_beat}", ""]
    return "\n".join(lines)


def run_model_file(seed: int, folder: Path) -> dict:
    """The file through every step; the report, whose figures the caller checks."""
    model = folder / f"random-{seed}.toml"
    model.write_text(random_model_file(seed))
    out = folder / f"run-{seed}"
    for step in (["train", "--model", str(model), "--seed", str(seed)], ["export"], ["verilog"],
                 ["sim", "--test-images", str(SIM_IMAGES)], ["report"]):
        code = main([*step, "--out", str(out)])
        if code:
            raise AssertionError(f"seed {seed}: `hwgen {step[0]}` exited {code}\n{model.read_text()}")
    return json.loads((out / "report.json").read_text())


def check_report(report: dict) -> None:
    accuracy = report["accuracy"]
    assert report["mismatches"] == 0 and report["torch_golden_disagreements"] == 0
    assert accuracy["torch"] == accuracy["golden"] == accuracy["rtl"]
    assert report["cycles"]["per_image_measured"] == report["cycles"]["per_image_analytic"]
    assert report["cycles"]["latency"] == report["cycles"]["latency_analytic"]
