"""The loop of the seeded fuzz benchmarks: run a check per seed, count the kinds,
report every failure by seed and the wall time, for BENCHMARKS.md."""
import argparse
import collections
import sys
import time
import warnings
from collections.abc import Callable

from tqdm import tqdm


def run_seeds(description: str, what: str, default_count: int, default_first: int,
              kinds_of: Callable[[int], list[str]], check: Callable[[int], None]) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--count", type=int, default=default_count, help=f"{what} (default: {default_count})")
    parser.add_argument("--first-seed", type=int, default=default_first,
                        help=f"seed of the first (default: {default_first}, clear of the tests' seeds)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    kinds, failures = collections.Counter(), []
    start = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.count)
    for seed in tqdm(seeds, desc=what, unit="seed"):
        kinds.update(kinds_of(seed))
        try:
            check(seed)
        except Exception as error:  # noqa: BLE001 - every failure is reported by seed
            failures.append(seed)
            tqdm.write(f"seed {seed}: {type(error).__name__}: {str(error)[:300]}")
    print(f"{args.count} {what} ({dict(kinds)}), seeds {seeds[0]}-{seeds[-1]}: "
          f"{args.count - len(failures)} passed, {len(failures)} failed {failures}; "
          f"{time.perf_counter() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit("a helper of bench/random_graphs.py and bench/random_model_files.py")
