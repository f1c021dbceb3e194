"""Benchmark: an MNIST model of the zoo trained, then all 10,000 test images
through the golden model and through the RTL on Verilator.

Run with `make bench-mnist` (all MNIST models) or
`.venv/bin/python bench/mnist_flow.py --model NAME`; it writes runs/NAME/ and
prints the report. The figures go into BENCHMARKS.md by hand, with the command.
"""
import argparse
import sys
import time
from pathlib import Path

from hwgen.cli import main

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist-mlp-bnn",
                        help="an MNIST model of the zoo (default: mnist-mlp-bnn)")
    parser.add_argument("--data-dir", type=Path, default=MNIST)
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: runs/MODEL)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--skip-train", action="store_true",
                        help="reuse the checkpoint already in --out")
    args = parser.parse_args()
    out = args.out or Path("runs") / args.model
    common = ["--model", args.model, "--out", str(out)]
    steps = [] if args.skip_train else [["train", "--data-dir", str(args.data_dir), *common,
                                         *(["--epochs", str(args.epochs)] if args.epochs else [])]]
    steps += [["export", "--data-dir", str(args.data_dir), *common], ["verilog", *common],
              ["sim", *common], ["report", *common]]
    for step in steps:
        start = time.perf_counter()
        code = main(step)
        print(f"[bench] hwgen {step[0]}: {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(run())
