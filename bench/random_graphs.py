"""Benchmark: seeded random graphs and foldings (MLPs and CNNs; binary, shift, ternary
and n-bit weights; one or several thresholds; padded SIMD) through amaranth.sim, every output field of every image
against the golden model, pace and latency against the
analytic model, steady and with random stalls.

Run with `.venv/bin/python bench/random_graphs.py --count 1000`; it prints
the count, the failures (by seed) and the wall time, for BENCHMARKS.md.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.seeded_runs import run_seeds  # noqa: E402
from tests.graphs import random_network  # noqa: E402
from tests.test_random_graphs import check_in_amaranth  # noqa: E402


def kinds(seed: int) -> list[str]:
    graph, _ = random_network(np.random.default_rng(seed))
    ops = {n.op for n in graph.nodes}
    return ["cnn" if graph.input.shape else "mlp",
            "shift" if "shift_dense" in ops else "mixed" if ops & {"integer_dense", "multi_threshold"} else "binary"]


if __name__ == "__main__":
    sys.exit(run_seeds(__doc__.splitlines()[0], "random graphs", 1000, 1000, kinds, check_in_amaranth))
