"""Benchmark: every zoo model synthesized for an LFE5U-85F (Yosys + nextpnr-ecp5).

For each model: train (1 epoch by default, for time: the figures are that
network's; a trained network's ROMs and tables in logic make another netlist,
whose resources differ a little and whose placements are a draw of their own,
so run `hwgen synth` on its folder for its figures), export, generate Verilog at the model's folding
(or, where hwgen's estimate says that does not fit the part, the fastest
auto-folding within --max-luts), simulate 200 test images (at most the test set) on Verilator
(bit-exact check), synthesize, and append one JSON line per model to
runs/synth/summary.jsonl: Fmax, resources, cycles per image, images/s and
latency at Fmax, the estimate, and the wall times.

Run with `.venv/bin/python bench/synth_zoo.py [--models a,b]`; the figures go
into BENCHMARKS.md by hand, with the command.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import hwgen
from hwgen.cli import main
from hwgen.flow import load_npz
from hwgen.hw.cost import LFE5U_85F, Resources

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
# The estimate's own error (BENCHMARKS.md): keep a margin.
FIT_MARGIN = 1.15
SIM_IMAGES = 200


class StepFailed(Exception):
    pass


def _step(argv: list[str]) -> float:
    start = time.perf_counter()
    if main(argv):
        raise StepFailed(f"hwgen {' '.join(argv)} failed")
    return round(time.perf_counter() - start, 1)


def run() -> int:
    from hwgen.train.zoo import zoo_files

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(zoo_files()), help="comma-separated (default: the whole zoo)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-luts", type=int, default=60000,
                        help="auto-folding budget for models whose estimate at their folding is over it, or, "
                             "with the estimate's margin, over the part (default: 60000)")
    parser.add_argument("--target-mhz", type=float, default=200)
    parser.add_argument("--seeds", default="1", help="`hwgen synth --seeds` (default: 1)")
    parser.add_argument("--jobs", default=None, help="`hwgen synth --jobs` (default: one per core)")
    parser.add_argument("--router", default="router1", help="`hwgen synth --router` (default: router1)")
    parser.add_argument("--placer", default="heap", help="`hwgen synth --placer` (default: heap)")
    args = parser.parse_args()
    summary = Path("runs/synth/summary.jsonl")
    summary.parent.mkdir(parents=True, exist_ok=True)
    failed = []
    for model in args.models.split(","):
        try:
            row = _synthesize(model, args)
        except StepFailed as error:   # one model's failure must not lose the others'
            failed.append(model)
            row = {"model": model, "error": str(error)}
        with summary.open("a") as f:
            f.write(json.dumps(row) + "\n")
    if failed:
        print(f"[synth_zoo] failed: {', '.join(failed)} (see runs/synth/<model>/)", file=sys.stderr)
    return 1 if failed else 0


def _commit() -> str:
    """The commit of the hwgen this process imported (a PYTHONPATH worktree's, not the
    current folder's: rows once named the wrong code)."""
    code = Path(hwgen.__file__).parent
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=code)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           cwd=code)
    return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _synthesize(model: str, args) -> dict:
    """Train, export, generate, simulate and synthesize one model; its summary row."""
    from hwgen.train.zoo import get_spec

    out = Path("runs/synth") / model
    common = ["--model", model, "--out", str(out)]
    data = [] if get_spec(model).dataset == "digits" else ["--data-dir", str(MNIST)]
    walls = {"train": _step(["train", *common, *data, "--epochs", str(args.epochs)]),
             "export": _step(["export", *common, *data])}
    walls["verilog"] = _step(["verilog", *common])
    meta = json.loads((out / "hwgen_top.json").read_text())
    # digits-shift's 68,635 estimated LUT4 at its folding did not place on the part;
    # mnist-lenet-bnn's is estimated at more flip-flops than the part has.
    estimate = meta["resources_estimate"]["total"]
    if (estimate["lut4"] > args.max_luts or estimate["lut4"] * FIT_MARGIN > LFE5U_85F.lut4
            or not Resources(**estimate).fits(LFE5U_85F)):
        walls["verilog"] = _step(["verilog", *common, "--max-luts", str(args.max_luts)])
        meta = json.loads((out / "hwgen_top.json").read_text())
    test_images = min(SIM_IMAGES, len(load_npz(out / "testset.npz")["labels"]))   # vertebral-mlp has 62
    walls["sim"] = _step(["sim", *common, "--test-images", str(test_images)])
    walls["synth"] = _step(["synth", *common, "--target-mhz", f"{args.target_mhz:g}", "--seeds", args.seeds,
                            "--router", args.router, "--placer", args.placer,
                            *(["--jobs", args.jobs] if args.jobs else [])])
    synth = json.loads((out / "synth.json").read_text())
    fmax = synth["fmax_mhz"]
    row = {"model": model, "commit": _commit(), "folding": meta["folding"], "input_per_beat": meta["input_per_beat"],
           "cycles_per_image": meta["cycles_per_image"], "latency_cycles": meta["latency"],
           "fmax_mhz": fmax, "images_per_s": fmax * 1e6 / meta["cycles_per_image"],
           "latency_us": meta["latency"] / fmax,
           # The bitstream: the fastest of the placements.
           "bitstream": synth["bitstream"],
           "bitstream_images_per_s": synth["bitstream"]["fmax_mhz"] * 1e6 / meta["cycles_per_image"],
           "utilization": {k: v["used"] for k, v in synth["utilization"].items()},
           "estimate": meta["resources_estimate"]["total"], "critical_path": synth["critical_path"],
           "tool_wall_s": synth["wall_s"], "step_wall_s": walls}
    print(f"[synth_zoo] {model}: {fmax:.1f} MHz (bitstream {synth['bitstream']['fmax_mhz']:.1f}), "
          f"{row['utilization']}, {row['images_per_s']:,.0f} images/s", flush=True)
    return row


if __name__ == "__main__":
    sys.exit(run())
