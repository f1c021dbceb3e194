"""Benchmark: seeded random model files (depth, widths, conv/pool plans, weight kinds,
activations, input bits, foldings) through train (1 epoch) → export → verilog → sim
(Verilator) → report, each with torch = golden = RTL and cycles = analytic.

Run with `.venv/bin/python bench/random_model_files.py --count 100`; it prints the
count, the kinds, the failures (by seed) and the wall time, for BENCHMARKS.md.
"""
import argparse
import collections
import contextlib
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.model_files import check_report, random_model_file, run_model_file  # noqa: E402


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="random model files (default: 100)")
    parser.add_argument("--first-seed", type=int, default=1000,
                        help="seed of the first file (default: 1000; the tests use 0-3)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    kinds, failures = collections.Counter(), []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hwgen-random-models-") as scratch:
        for seed in tqdm(range(args.first_seed, args.first_seed + args.count), desc="model files", unit="file"):
            text = random_model_file(seed)
            kinds["cnn" if "conv =" in text else "mlp"] += 1
            kinds[text.split('weights = "')[1].split('"')[0]] += 1
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    check_report(run_model_file(seed, Path(scratch)))
            except Exception as error:  # noqa: BLE001 - every failure is reported by seed
                failures.append(seed)
                tqdm.write(f"seed {seed}: {type(error).__name__}: {str(error)[:300]}")
    print(f"{args.count} random model files ({dict(kinds)}), seeds {args.first_seed}-"
          f"{args.first_seed + args.count - 1}: {args.count - len(failures)} passed, "
          f"{len(failures)} failed {failures}; {time.perf_counter() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run())
