"""Benchmark: auto-folding checked by synthesis, at several frame rates.

For a trained and exported model in ``--out``, and each ``--fps`` target:
``hwgen verilog --target-fps F --clock-mhz C`` (the folding hwgen picks for F
images/s at C MHz), then ``hwgen synth``. Prints a Markdown table: the
target, the folding, cycles per image, hwgen's estimate beside nextpnr's
LUT4 (TRELLIS_COMB) and DP16KD, the measured Fmax, the images/s at that
Fmax, and whether it meets the target. One JSON line per target goes to
runs/autofold/summary.jsonl.

Run: `.venv/bin/python bench/autofold_synth.py --model mnist-mlp-bnn --out RUN --fps 50e3,100e3,200e3`.
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

from hwgen.cli import main


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True, type=Path, help="run folder with an exported graph")
    parser.add_argument("--fps", required=True, help="comma-separated targets, images per second")
    parser.add_argument("--clock-mhz", type=float, default=150.0,
                        help="the clock the folding is chosen for (default: 150)")
    parser.add_argument("--seeds", default="1", help="`hwgen synth --seeds` (default: 1)")
    parser.add_argument("--router", default="router1", help="`hwgen synth --router` (default: router1)")
    args = parser.parse_args()
    summary = Path("runs/autofold/summary.jsonl")
    summary.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for fps in (float(f) for f in args.fps.split(",")):
        work = summary.parent / f"{args.model}-{fps:.0f}"
        # The whole run folder, so that its records (provenance.json) still vouch for the graph.
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(args.out, work)
        common = ["--model", args.model, "--out", str(work)]
        if main(["verilog", *common, "--target-fps", f"{fps:g}", "--clock-mhz", f"{args.clock_mhz:g}"]):
            return 1
        if main(["synth", *common, "--target-mhz", "200", "--seeds", args.seeds, "--router", args.router]):
            return 1
        meta = json.loads((work / "hwgen_top.json").read_text())
        synth = json.loads((work / "synth.json").read_text())
        used = {name: u["used"] for name, u in synth["utilization"].items()}
        measured = synth["fmax_mhz"] * 1e6 / meta["cycles_per_image"]
        row = {"model": args.model, "target_fps": fps, "clock_mhz": args.clock_mhz, "folding": meta["folding"],
               "input_per_beat": meta["input_per_beat"], "cycles_per_image": meta["cycles_per_image"],
               "estimate": meta["resources_estimate"]["total"], "utilization": used,
               "fmax_mhz": synth["fmax_mhz"], "images_per_s": measured, "meets_target": measured >= fps,
               "critical_path": synth["critical_path"], "wall_s": synth["wall_s"]}
        with summary.open("a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
    print("| target images/s | folding (input per beat) | cycles / image | LUT4 estimated / placed | "
          "DP16KD estimated / placed | Fmax (MHz) | images/s at Fmax | meets target |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        est, used = r["estimate"], r["utilization"]
        print(f"| {r['target_fps']:,.0f} | {r['folding']} ({r['input_per_beat']}) | {r['cycles_per_image']} | "
              f"{est['lut4']:,} / {used['TRELLIS_COMB']:,} ({est['lut4'] / used['TRELLIS_COMB'] - 1:+.0%}) | "
              f"{est['dp16kd']} / {used['DP16KD']} | {r['fmax_mhz']:.1f} | {r['images_per_s']:,.0f} | "
              f"{'yes' if r['meets_target'] else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(run())
