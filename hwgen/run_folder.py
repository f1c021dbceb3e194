"""The run folder: the files each step writes, and what each was made from.

Every step records, in ``provenance.json``, the digest of each file it wrote
and the digests of the files it was made from. A step that reads a file
first checks it and, through the records, everything upstream of it: a file
changed since its step wrote it, or made from a file that has since
changed, is an error naming the step to run again. So a report can never
show a simulation of another Verilog, or a Verilog of another graph.
"""
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import HwgenError
from .files import write_text

PROVENANCE = "provenance.json"
PROVENANCE_VERSION = 1

# The step that writes each file (the graph is graph.json with arrays.npz).
PRODUCERS = {
    "model.toml": "hwgen train", "checkpoint.pt": "hwgen train", "train.json": "hwgen train",
    "graph.json": "hwgen export", "arrays.npz": "hwgen export", "testset.npz": "hwgen export",
    "predictions.npz": "hwgen export",
    "hwgen_top.v": "hwgen verilog", "hwgen_top.il": "hwgen verilog", "hwgen_top.json": "hwgen verilog",
    "sim.json": "hwgen sim", "synth.json": "hwgen synth", "hwgen_top.bit": "hwgen synth",
}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunFolder:
    path: Path

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def prepare(self) -> None:
        """Make sure outputs can be written here, before any step starts."""
        if self.path.exists() and not self.path.is_dir():
            raise HwgenError(f"--out {self.path}: a file, not a folder; name a folder for the run's outputs")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HwgenError(f"--out {self.path}: cannot create the folder ({error.strerror})") from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise HwgenError(f"--out {self.path}: the folder is not writable; choose another with --out")

    def _records(self) -> dict:
        path = self / PROVENANCE
        if not path.is_file():
            return {}
        try:
            document = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HwgenError(f"{path}: not valid JSON; run the flow again (`hwgen flow`)") from None
        if not isinstance(document, dict) or document.get("version") != PROVENANCE_VERSION \
                or not isinstance(document.get("files"), dict):
            raise HwgenError(f"{path}: not provenance version {PROVENANCE_VERSION}; run `hwgen flow` again")
        return document["files"]

    def record(self, written: list[str], made_from: list[str]) -> None:
        """After a step wrote ``written`` from ``made_from``: remember both digests."""
        records = self._records()
        sources = {name: file_digest(self / name) for name in made_from}
        for name in written:
            records[name] = {"sha256": file_digest(self / name), "made_from": sources}
        write_text(self / PROVENANCE, json.dumps({"version": PROVENANCE_VERSION, "files": records},
                                                 indent=1) + "\n")

    def written_here(self, name: str) -> bool:
        """Whether ``name`` is the file its step wrote here (whatever it was made from)."""
        record = self._records().get(name)
        return record is not None and (self / name).is_file() and record["sha256"] == file_digest(self / name)

    def check(self, names: list[str]) -> None:
        """Each file exists, is the one its step wrote, and was made from the
        files that are here now, all the way up."""
        records, seen = self._records(), set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            producer = PRODUCERS.get(name, "the step that wrote it")
            path = self / name
            if not path.is_file():
                raise HwgenError(f"{path}: no such file; run `{producer}` first")
            record = records.get(name)
            if not self.written_here(name):
                raise HwgenError(f"{path} is not the file `{producer}` wrote here (changed or copied in since); "
                                 f"run `{producer}` again")
            for source, digest in record["made_from"].items():
                visit(source)
                if file_digest(self / source) != digest:
                    raise HwgenError(f"{path} was made from another {source}; run `{producer}` again")

        for name in names:
            visit(name)
