"""Benchmark: one vector buffer alone, placed and routed on an LFE5U-85F.

A vector buffer turns one layer's output beats into the next layer's input
beats. This builds one ``VectorBuffer`` (1-bit elements unless told) as its own top,
maps it with Yosys, applies ``hwgen synth``'s netlist passes, and places and
routes it with nextpnr-ecp5 (one placement, seed 1). It prints the storage
hwgen chose, hwgen's estimate, nextpnr's TRELLIS_COMB and FF and the Fmax. The
ports are the design's I/O pins, so the Fmax includes their paths: compare
buffers with each other, not with whole designs.

Run: `.venv/bin/python bench/buffer_synth.py --size 1024 --in-per-beat 32 --out-per-beat 80 --repeats 32`
(mnist-lfc-w1a1's fc2 and fc3 inputs at its default folding). Wide elements make wide
ports: the LFE5U-85F's CABGA381 has 365 pins.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hwgen import synth, verilog  # noqa: E402
from hwgen.hw.vector_buffer import VectorBuffer  # noqa: E402
from hwgen.netlist_passes import (cut_unused_carry_outs, move_first_sums_out_of_chain,  # noqa: E402
                                  start_constant_carries_in_chain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("size", "in-per-beat", "out-per-beat", "repeats"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--element-width", type=int, default=1)
    args = parser.parse_args()
    buffer = VectorBuffer(element_width=args.element_width, size=args.size, in_per_beat=args.in_per_beat,
                          out_per_beat=args.out_per_beat, repeats=args.repeats)
    with tempfile.TemporaryDirectory(prefix="hwgen-buffer-") as scratch:
        work = Path(scratch)
        (work / synth.RTLIL_FILE).write_text(verilog.convert(buffer)[0])
        command, _ = synth.yosys_command(synth.yosys_script("hwgen_top"))
        subprocess.run(command, cwd=work, check=True, capture_output=True)
        netlist = json.loads((work / "netlist.json").read_text())
        for netlist_pass in (cut_unused_carry_outs, start_constant_carries_in_chain, move_first_sums_out_of_chain):
            netlist, _ = netlist_pass(netlist)
        (work / "netlist.json").write_text(json.dumps(netlist))
        nextpnr, _ = synth.nextpnr_command()
        subprocess.run([nextpnr, "--85k", "--package", "CABGA381", "--json", "netlist.json", "--freq", "150",
                        "--timing-allow-fail", "--seed", "1", "--report", "report.json"],
                       cwd=work, check=True, capture_output=True)
        report = json.loads((work / "report.json").read_text())
    used = {name: report["utilization"][name]["used"] for name in ("TRELLIS_COMB", "TRELLIS_FF")}
    fmax = min(clock["achieved"] for clock in report["fmax"].values())
    print(f"storage {buffer.storage}, estimate {buffer.resources.lut4:,} LUT4 / {buffer.resources.ff:,} FF; "
          f"placed {used['TRELLIS_COMB']:,} TRELLIS_COMB / {used['TRELLIS_FF']:,} FF; Fmax {fmax:.1f} MHz")


if __name__ == "__main__":
    main()
