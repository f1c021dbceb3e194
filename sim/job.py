"""The job a testbench runs: its passes, what to expect, where to write back.

The runner writes it as ``job.json`` plus ``job.npz`` in the build folder and
names it with a plusarg; the testbench writes ``results.json`` beside it. The
images themselves go to the harness as a beat file (``hwgen.sim.harness``).
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


def expected_outputs(graph, images: np.ndarray, logits: bool) -> np.ndarray:
    """What the hardware must send for each image, one row each: the golden
    class index, then with ``logits`` the golden logits (the argmax's input)."""
    from hwgen import golden

    if not logits:
        return golden.run(graph, images)[:, :1]
    rows = [golden.run_all(graph, images[start:start + 256]) for start in range(0, len(images), 256)]
    return np.concatenate([np.concatenate([r[graph.output.name], r[graph.output.input]], axis=1)
                           for r in rows])


def unpack_fields(payload: int, fields) -> list[int]:
    """An output beat's fields, from bit 0 up, each ``(width, signed)``."""
    values = []
    for width, signed in fields:
        value = payload & ((1 << width) - 1)
        values.append(value - (1 << width) if signed and value >> (width - 1) else value)
        payload >>= width
    return values


@dataclass(frozen=True)
class Job:
    """``fields`` describes an output beat: (width, signed) from bit 0 up."""

    passes: tuple[Pass, ...]
    results_path: str
    fields: tuple[tuple[int, bool], ...]

    def save(self, folder: Path, expected: np.ndarray) -> Path:
        folder = Path(folder)
        with atomic_path(folder / "job.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, expected=expected)
        document = {"passes": [asdict(p) for p in self.passes],
                    "results_path": self.results_path, "fields": self.fields}
        write_text(folder / "job.json", json.dumps(document, indent=1))
        return folder / "job.json"

    @classmethod
    def load(cls, path: Path) -> tuple["Job", np.ndarray]:
        path = Path(path)
        document = json.loads(path.read_text())
        with np.load(path.with_suffix(".npz")) as arrays:
            expected = arrays["expected"]
        job = cls(tuple(Pass(**p) for p in document["passes"]), document["results_path"],
                  tuple(tuple(f) for f in document["fields"]))
        return job, expected
