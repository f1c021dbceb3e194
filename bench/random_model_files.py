"""Benchmark: seeded random model files (depth, widths, conv/pool plans, weight kinds,
activations, input bits, foldings) through train (1 epoch) → export → verilog → sim
(Verilator) → report, each with torch = golden = RTL and cycles = analytic.

Run with `.venv/bin/python bench/random_model_files.py --count 100`; it prints the
count, the kinds, the failures (by seed) and the wall time, for BENCHMARKS.md.
"""
import contextlib
import io
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.seeded_runs import run_seeds  # noqa: E402
from tests.model_files import check_report, random_model_file, run_model_file  # noqa: E402


def kinds(seed: int) -> list[str]:
    text = random_model_file(seed)
    weights = {line.split('"')[1] for line in text.splitlines() if line.startswith("weights =")}
    return ["cnn" if "conv =" in text else "mlp", weights.pop() if len(weights) == 1 else "mixed"]


def check(seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hwgen-random-model-") as scratch:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            check_report(run_model_file(seed, Path(scratch)))


if __name__ == "__main__":
    sys.exit(run_seeds(__doc__.splitlines()[0], "random model files", 100, 1000, kinds, check))
