"""Benchmark: seeded random graphs and foldings (MLPs and CNNs, binary and shift
weights, padded SIMD) through amaranth.sim, every output field of every image
against the golden model, pace and latency against the
analytic model, steady and with random stalls.

Run with `.venv/bin/python bench/random_graphs.py --count 1000`; it prints
the count, the failures (by seed) and the wall time, for BENCHMARKS.md.
"""
import argparse
import collections
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.graphs import random_network  # noqa: E402
from tests.test_random_graphs import check_in_amaranth  # noqa: E402


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="random graphs (default: 1000)")
    parser.add_argument("--first-seed", type=int, default=1000,
                        help="seed of the first graph (default: 1000; the tests use 0-15 and 100-103)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    kinds, failures = collections.Counter(), []
    start = time.perf_counter()
    for seed in tqdm(range(args.first_seed, args.first_seed + args.count), desc="random graphs", unit="graph"):
        graph, _ = random_network(np.random.default_rng(seed))
        kinds["cnn" if graph.input.shape else "mlp"] += 1
        kinds["shift" if any(n.op == "shift_dense" for n in graph.nodes) else "binary"] += 1
        try:
            check_in_amaranth(seed)
        except Exception as error:  # noqa: BLE001 - every failure is reported by seed
            failures.append(seed)
            tqdm.write(f"seed {seed}: {type(error).__name__}: {error}")
    print(f"{args.count} random graphs ({dict(kinds)}), seeds {args.first_seed}-"
          f"{args.first_seed + args.count - 1}: {args.count - len(failures)} passed, "
          f"{len(failures)} failed {failures}; {time.perf_counter() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run())
