"""Benchmark: a shift layer's lanes as barrel shifters, as MULT18X18D, or as LUT multipliers.

For a trained and exported shift model in ``--out``, generates the Verilog
three ways at one folding (``--shift-lanes barrel``, ``--shift-lanes
multiplier``, and the multipliers again mapped with Yosys's ``-nodsp``, so
into LUTs), maps each with Yosys ``synth_ecp5 -noflatten`` (read as RTLIL, the
same design: see ``unit_counts``) and prints a
Markdown table of every matrix-vector unit: its lanes, LUT4 and MULT18X18D,
and LUT4 per lane. Yosys only (no place and route): the per-unit counts are
what the comparison needs. Every weight ROM goes into block RAM by default
(`--block-rams`, not limited to a part: a ROM in LUTs would swamp the lanes'
figures, and take Yosys a long time).

Run: `.venv/bin/python bench/shift_lanes.py --model mnist-fc-shift-ps --out RUN [--folding F]`.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from amaranth.back import rtlil

from hwgen import synth
from hwgen.cli import main
from hwgen.folding import Folding
from hwgen.hw.network import Network
from hwgen.ir import load_graph
from hwgen.verilog import META_FILE

WAYS = {"barrel shift": ("barrel", ""), "MULT18X18D": ("multiplier", ""),
        "LUT multiplier (`-nodsp`)": ("multiplier", " -nodsp")}


def unit_counts(model: str, run: Path, lanes: str, yosys_flags: str, folding: str | None,
                block_rams: int) -> tuple[dict, dict]:
    """(Yosys's counts per unit, hwgen_top.json) for the run's graph generated with ``lanes``."""
    with tempfile.TemporaryDirectory(prefix="shift-lanes-") as scratch:
        work = Path(scratch)
        # The whole run folder, so that its records (provenance.json) still vouch for the graph.
        shutil.copytree(run, work, dirs_exist_ok=True)
        argv = ["verilog", "--model", model, "--out", str(work), "--shift-lanes", lanes,
                "--block-rams", str(block_rams)]
        if main(argv + (["--folding", folding] if folding else [])):
            raise SystemExit("hwgen verilog failed")
        meta = json.loads((work / META_FILE).read_text())
        # The same design in RTLIL: Yosys's Verilog frontend took more than 17 GB on
        # mnist-fc-shift-ps's ROM initialisations (1.2 M lines), where RTLIL states each
        # ROM's contents as one constant.
        network = Network(load_graph(work), Folding.parse(meta["folding"], meta["input_per_beat"]),
                          shift_lanes=lanes, block_rams=block_rams)
        (work / "hwgen_top.il").write_text(rtlil.convert(network, name=meta["top"], emit_src=False))
        script = ["read_rtlil hwgen_top.il"] + [c.replace("synth_ecp5", "synth_ecp5" + yosys_flags)
                                                for c in synth.yosys_script(meta["top"])
                                                if not c.startswith("read_verilog")]
        command, _ = synth.yosys_command(script)
        mapped = subprocess.run(command, cwd=work, capture_output=True, text=True)
        if mapped.returncode:
            raise SystemExit(f"Yosys failed on the {lanes} lanes{yosys_flags}:\n{mapped.stderr[-2000:]}")
        return synth.unit_resources((work / synth.STAT_FILE).read_text()), meta


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the zoo model the run folder holds (for the table)")
    parser.add_argument("--out", required=True, type=Path, help="run folder with an exported graph")
    parser.add_argument("--folding", help="PExSIMD per dense layer (default: the model's)")
    parser.add_argument("--block-rams", type=int, default=10_000, help="DP16KD the ROMs may take (default: 10000)")
    args = parser.parse_args()
    counts = {}
    for way, (lanes, flags) in WAYS.items():
        counts[way], meta = unit_counts(args.model, args.out, lanes, flags, args.folding, args.block_rams)
        # Each way's counts as soon as they are known: a later way may not finish.
        print(f"[shift_lanes] {way}: mapped, {json.dumps(counts[way])}", file=sys.stderr, flush=True)
    folds = meta["folding"].split(",")
    units = [name for name in counts["barrel shift"] if name.endswith("MatrixVectorUnit")]
    units.sort(key=lambda name: int(name[1:].split("_")[0]))
    print(f"{args.model} at folding {meta['folding']}:\n")
    print("| layer (PExSIMD) | lanes | " + " | ".join(WAYS) + " |")
    print("|---|---|" + "---|" * len(WAYS))
    for layer, (name, fold) in enumerate(zip(units, folds), start=1):
        pe, simd = map(int, fold.split("x"))
        cells = []
        for way in WAYS:
            unit = counts[way][name]
            mults = f" + {unit['mult18']} MULT" if unit["mult18"] else ""
            cells.append(f"{unit['lut4']:,} LUT4{mults} ({unit['lut4'] / (pe * simd):.0f} a lane)")
        print(f"| fc{layer} ({fold}) | {pe * simd} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(run())
