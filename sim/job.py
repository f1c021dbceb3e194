"""The job a testbench runs: its passes, what to expect, where to write back.

The runner writes it as ``job.json`` plus ``job.npz`` in the build folder and
names it with a plusarg; the testbench writes ``results.json`` beside it. The
images themselves go to the harness as a beat file (``sim.harness``).
"""
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hwgen.files import atomic_path, write_text


@dataclass(frozen=True)
class Pass:
    """One run over ``images`` images; ``stall`` is the per-cycle probability of
    an input idle and, separately, of withheld output ready."""

    images: int
    stall: float
    seed: int = 0


@dataclass(frozen=True)
class Job:
    passes: tuple[Pass, ...]
    results_path: str

    def save(self, folder: Path, expected: np.ndarray) -> Path:
        folder = Path(folder)
        with atomic_path(folder / "job.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, expected=expected)
        document = {"passes": [asdict(p) for p in self.passes],
                    "results_path": self.results_path}
        write_text(folder / "job.json", json.dumps(document, indent=1))
        return folder / "job.json"

    @classmethod
    def load(cls, path: Path) -> tuple["Job", np.ndarray]:
        path = Path(path)
        document = json.loads(path.read_text())
        with np.load(path.with_suffix(".npz")) as arrays:
            expected = arrays["expected"]
        job = cls(tuple(Pass(**p) for p in document["passes"]),
                  document["results_path"])
        return job, expected
