"""Benchmark: what a matrix-vector lane costs on an ECP5, per weight format, at one folding.

One 64-input, 32-output layer of random weights of each kind (binary,
ternary, shift, int4, int8; shift twice: barrel shifters and MULT18X18D), on
8-bit unsigned inputs and on ±1 inputs, folded to the same PE x SIMD (the
weights in a block RAM ROM), then a threshold and a small binary layer so
that it is a network. Yosys ``synth_ecp5 -noflatten`` maps each; the table
gives the matrix-vector unit's LUT4, FF, DP16KD and MULT18X18D, and LUT4 and
FF per lane (PE x SIMD lanes). Yosys only: per-unit counts are what the
comparison needs. hwgen's estimate is printed beside the LUT4. A second table
compares constant n-bit weights (a fully parallel layer) on MULT18X18D and as
shift-adds of their signed digits.

Run: `.venv/bin/python bench/lane_costs.py [--folding 8x8]`.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hwgen import synth
from hwgen.folding import Folding
from hwgen.ir import (Argmax, Bipolar, Dense, Graph, Input, Integer, IntegerDense, PowerOfTwo, ShiftDense, Ternary,
                      Threshold)
from hwgen.verilog import emit

IN_FEATURES, OUT_FEATURES = 64, 32
KINDS = ("binary", "ternary", "shift (barrel)", "shift (MULT18X18D)", "int4", "int8")
# Constant weights (a fully parallel layer): multipliers, or shift-adds of signed digits.
CONSTANT_SHAPE = (8, 16)
CONSTANT_KINDS = ("int4", "int8", "int16")


def layer(kind: str, rng: np.random.Generator, shape: tuple[int, int]):
    if kind == "binary":
        return Dense("fc1", "input", rng.integers(0, 2, shape))
    if kind == "ternary":
        return IntegerDense("fc1", "input", rng.integers(-1, 2, shape), Ternary())
    if kind.startswith("shift"):   # DeepShift's 5-bit weights: a sign and 2**0 .. 2**-15
        return ShiftDense("fc1", "input", rng.integers(-1, 2, shape), rng.integers(-15, 1, shape), PowerOfTwo(-15, 0))
    bits = int(kind[3:])
    return IntegerDense("fc1", "input", rng.integers(-(1 << bits - 1), 1 << bits - 1, shape), Integer(bits, True))


def network(kind: str, in_type, shape: tuple[int, int]) -> Graph:
    rng = np.random.default_rng(0)
    outputs, inputs = shape
    nodes = [Input("input", inputs, in_type), layer(kind, rng, shape)]
    acc = Graph(tuple(nodes)).types["fc1"]
    nodes += [Threshold("th1", "fc1", rng.integers(acc.min // 4, acc.max // 4, outputs), np.zeros(outputs, bool)),
              Dense("fc2", "th1", rng.integers(0, 2, (10, outputs))), Argmax("argmax", "fc2")]
    return Graph(tuple(nodes))


def measure(kind: str, in_type, folding: str, shape=(OUT_FEATURES, IN_FEATURES),
            lanes: str = "barrel") -> tuple[dict, dict]:
    """(Yosys's counts for the matrix-vector unit, hwgen's estimate of it); ``lanes`` as
    ``hwgen verilog --shift-lanes``."""
    with tempfile.TemporaryDirectory(prefix="lane-costs-") as scratch:
        work = Path(scratch)
        meta = emit(network(kind, in_type, shape), Folding.parse(f"{folding},10x{shape[0]}", shape[1]), work,
                    shift_lanes=lanes)
        command, _ = synth.yosys_command(synth.yosys_script(meta["top"]))
        subprocess.run(command, cwd=work, check=True, capture_output=True)
        counts = synth.unit_resources((work / synth.STAT_FILE).read_text())
    unit = next(name for name in counts if name.startswith("s1_") and name.endswith("MatrixVectorUnit"))
    return counts[unit], meta["resources_estimate"]["stages"][unit]


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folding", default="8x8", help="PExSIMD of the measured layer (default: 8x8)")
    args = parser.parse_args()
    pe, simd = map(int, args.folding.split("x"))
    lanes = pe * simd
    rows = []
    for in_type in (Integer(8, signed=False), Bipolar()):
        for kind in KINDS:
            if kind.startswith("shift") and isinstance(in_type, Bipolar):
                continue   # shift layers follow fixed-point activations, never ±1
            used, estimate = measure(kind, in_type, args.folding, lanes="multiplier" if "MULT" in kind else "barrel")
            rows.append({"inputs": "uint8" if isinstance(in_type, Integer) else "±1", "weights": kind,
                         "used": used, "estimate": estimate})
            print(f"[lane_costs] {kind} on {rows[-1]['inputs']}: {used}", file=sys.stderr, flush=True)
    print(f"One {OUT_FEATURES}x{IN_FEATURES} layer at {args.folding} ({lanes} lanes), Yosys synth_ecp5:\n")
    print("| inputs | weights | LUT4 (estimate) | FF | DP16KD | MULT18X18D | LUT4 a lane | FF a lane |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        u, e = r["used"], r["estimate"]
        print(f"| {r['inputs']} | {r['weights']} | {u['lut4']:,} ({e['lut4']:,}) | {u['ff']:,} | {u['dp16kd']} | "
              f"{u['mult18']} | {u['lut4'] / lanes:.1f} | {u['ff'] / lanes:.1f} |")
    constant = []
    for kind in CONSTANT_KINDS:
        for lanes, way in (("multiplier", "MULT18X18D"), ("barrel", "shift-adds")):
            used, estimate = measure(kind, Integer(8, signed=False), "x".join(map(str, CONSTANT_SHAPE)),
                                     CONSTANT_SHAPE, lanes)
            constant.append({"weights": kind, "lanes": way, "used": used, "estimate": estimate})
            print(f"[lane_costs] constant {kind} as {way}: {used}", file=sys.stderr, flush=True)
    lanes = CONSTANT_SHAPE[0] * CONSTANT_SHAPE[1]
    print(f"\nOne {CONSTANT_SHAPE[0]}x{CONSTANT_SHAPE[1]} layer fully parallel ({lanes} lanes, constant weights) "
          f"on uint8:\n")
    print("| weights | lanes | LUT4 (estimate) | FF | MULT18X18D | LUT4 a lane | FF a lane |")
    print("|---|---|---|---|---|---|---|")
    for r in constant:
        u, e = r["used"], r["estimate"]
        print(f"| {r['weights']} | {r['lanes']} | {u['lut4']:,} ({e['lut4']:,}) | {u['ff']:,} | {u['mult18']} | "
              f"{u['lut4'] / lanes:.1f} | {u['ff'] / lanes:.1f} |")
    Path("runs").mkdir(exist_ok=True)
    Path("runs/lane_costs.json").write_text(json.dumps({"folded": rows, "constant": constant}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run())
