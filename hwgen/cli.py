"""The `hwgen` command: parses the arguments and calls a step of ``hwgen.flow``."""
import argparse
import os
import sys
from dataclasses import fields
from pathlib import Path

from . import flow
from .errors import HwgenError
from .flow import Options
from .run_folder import RunFolder


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.step is None:
            cmd_models(args)
        else:
            options = Options(**{f.name: getattr(args, f.name) for f in fields(Options) if hasattr(args, f.name)})
            args.step(RunFolder(args.out or flow.default_folder(options)), options)
        sys.stdout.flush()
    except HwgenError as error:
        print(f"hwgen: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hwgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`hwgen models | head`): stop quietly, and keep
        # Python from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as error:
        # A full disk, a folder that became read-only: the atomic writes left no half-written file.
        print(f"hwgen: error: {error.filename or ''}: {error.strerror or error}; nothing half-written was left",
              file=sys.stderr)
        return 1
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument error is one line (and exit status 2), without the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hwgen",
        description="Quantized neural networks to bit-exact streaming Verilog. "
                    "`hwgen flow` runs every step; each step also runs alone on the previous "
                    "step's output in the run folder (runs/<model>/ unless --out is given).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, help_text, run, *options):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        for option in options:
            option(sub)
        sub.set_defaults(step=run)
        return sub

    command("models", "List the zoo's models (model files in models/), with data set and layers.", None)
    command("train", "Train a model (runs = N in the model file: N seeds, with their statistics) and "
            "save checkpoint.pt, train.json and the training plots.", flow.train,
            _model, _out, _data_dir, _epochs, _seed, _baseline)
    command("export", "Lower the checkpoint to the integer graph (graph.json + arrays.npz) and "
            "check that it predicts exactly what torch does on the whole test set.", flow.export,
            _model, _out, _data_dir)
    command("verilog", "Generate hwgen_top.v (with the RTLIL it is converted from, hwgen_top.il, and "
            "its metadata, hwgen_top.json) from the graph; "
            "with --target-fps or --max-luts the folding is chosen for you.",
            flow.verilog, _model, _out, _folding, _clock)
    command("sim", "Simulate the Verilog with cocotb on test images and score every output "
            "against the golden model.", flow.sim, _model, _out, _sim_options)
    command("synth", "Synthesize, place and route the design (hwgen_top.il, the Verilog's RTLIL) for a "
            "Lattice ECP5 with Yosys and "
            "nextpnr: resources and Fmax into synth.json, which the report then uses. Minutes "
            "for small designs, much longer for MNIST-sized ones.", flow.synth,
            _model, _out, _synth_options)
    command("report", "Write report.md and report.json: accuracy, mismatches, cycles, and "
            "software inference time on this CPU; the clock is Fmax after `hwgen synth`.",
            flow.report, _model, _out, _clock)
    command("flow", "Run train, export, verilog, sim and report in turn. With no options: the "
            "digits BNN, offline, in a few minutes.", flow.flow,
            _model, _out, _data_dir, _epochs, _seed, _baseline, _folding, _sim_options, _clock)
    return parser


def _model(p):
    p.add_argument("--model", default=None,
                   help=f"a zoo model's name (`hwgen models`) or your own model file (.toml); after "
                        f"`train`, the run folder's model (default: {flow.DEFAULT_MODEL})")


def _out(p):
    p.add_argument("--out", type=Path, default=None,
                   help="run folder for every output (default: runs/<model name>)")


def _baseline(p):
    p.add_argument("--baseline", action="store_true",
                   help="also train the same layer plan in full precision, for the report's comparison")


def _data_dir(p):
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with the data set's files (MNIST: the four IDX files, .gz or not); "
                        "the digits set ships with scikit-learn and needs none; after `train`, the run folder "
                        "remembers it")


def _epochs(p):
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the model's)")


def _seed(p):
    p.add_argument("--seed", type=int, default=0,
                   help="random seed; runs = N in the model file use seed, seed + 1, ... (default: 0)")


def _folding(p):
    p.add_argument("--folding", default=None,
                   help="PExSIMD per conv and dense layer, comma-separated, e.g. 64x16,32x64,10x32 "
                        "(default: the model's, or chosen by --target-fps / --max-luts)")
    p.add_argument("--target-fps", type=float, default=None,
                   help="auto-fold: the cheapest folding that classifies this many images per "
                        "second at --clock-mhz (else Fmax from an earlier `hwgen synth`, else 100 MHz)")
    p.add_argument("--max-luts", type=int, default=None,
                   help="auto-fold: at most this many LUT4 by hwgen's estimate; alone, the fastest "
                        "folding that fits")
    p.add_argument("--input-per-beat", type=int, default=None,
                   help="input elements per stream beat (default: the model's)")
    p.add_argument("--logits", action="store_true",
                   help="the output beat carries every integer logit after the class index, "
                        "and `hwgen sim` scores each of them exactly")
    p.add_argument("--shift-lanes", choices=["auto", "barrel", "multiplier"], default="auto",
                   help="how shift layers, and n-bit layers with constant weights (fully parallel), "
                        "multiply: in LUTs (barrel shifters; shift-adds of signed digits), on MULT18X18D, "
                        "or per layer: multipliers while the LFE5U-85F's 156 last, best LUT saving first; "
                        "BENCHMARKS.md compares them (default: auto)")
    p.add_argument("--block-rams", type=int, default=208,
                   help="DP16KD blocks the design may take: the weight ROMs and per-channel tables, deepest "
                        "first, then large vector buffers, most LUTs saved first; the rest are LUTs. Block RAM "
                        "saves LUTs; `hwgen synth` moves the flip-flops after a ROM into "
                        "the block's output register, which Yosys leaves unused (default: 208, the "
                        "LFE5U-85F's)")
    p.add_argument("--relay-stages", type=int, default=0,
                   help="a relay between every two units: the stream's beats and its flow control each "
                        "go through this many registers, so no net between two units starts or ends at "
                        "logic, and the placer may spread them; each adds that many cycles and 2 more to "
                        "the latency, and a small queue (BENCHMARKS.md measures it; default: 0, none)")
    p.add_argument("--axi-stream", action="store_true",
                   help="name the ports AXI4-Stream style (aclk, aresetn, s_axis_tdata/tvalid/tready, "
                        "m_axis_...; TDATA rounded up to whole bytes) for vendor and LiteX projects")


def _sim_options(p):
    p.add_argument("--test-images", type=int, default=None,
                   help="simulate only the first N test images (default: all)")
    p.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator",
                   help="HDL simulator (default: verilator)")


def _synth_options(p):
    from .synth import DEVICES, PLACERS, ROUTERS
    p.add_argument("--device", choices=DEVICES, default="85k",
                   help="ECP5 size, LFE5U-25F/45F/85F (default: 85k)")
    p.add_argument("--package", default="CABGA381", help="device package (default: CABGA381)")
    p.add_argument("--target-mhz", type=float, default=200.0,
                   help="clock nextpnr aims for; Fmax is reported either way (default: 200)")
    p.add_argument("--speed", type=int, choices=(6, 7, 8), default=6,
                   help="ECP5 speed grade, 6 the slowest and commonest (default: 6)")
    p.add_argument("--seeds", type=int, default=1,
                   help="place and route with nextpnr seeds 1 .. N and report the median Fmax: placement "
                        "moves Fmax by 10-20%% from seed to seed; the bitstream, hwgen_top.bit, is the "
                        "fastest placement's (default: 1)")
    p.add_argument("--first-seed", type=int, default=1,
                   help="the first of the --seeds nextpnr seeds, to add placements to earlier ones (default: 1)")
    p.add_argument("--jobs", type=int, default=None,
                   help="placements run at once, each one nextpnr thread (default: one per core, at most "
                        "--seeds)")
    p.add_argument("--router", choices=ROUTERS, default="router1",
                   help="nextpnr's router; router2 routes large designs (LeNet, LFC) much faster "
                        "(default: router1)")
    p.add_argument("--placer", choices=PLACERS, default="heap",
                   help="nextpnr's placer: heap (analytical) or static (electrostatic), which placed "
                        "DSP- and block-RAM-heavy designs for a higher Fmax (default: heap)")
    p.add_argument("--heap-timing-weight", type=int, default=None,
                   help="HeAP's weight on timing-critical nets (nextpnr's --placer-heap-timingweight; "
                        "default: nextpnr's, 10; BENCHMARKS.md measures 50 with "
                        "--heap-criticality-exponent 4 on digits-shift)")
    p.add_argument("--heap-criticality-exponent", type=int, default=None,
                   help="how sharply HeAP favours the most critical nets (nextpnr's "
                        "--placer-heap-critexp; default: nextpnr's, 2)")


def _clock(p):
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="clock for converting cycles to time (default: Fmax from `hwgen synth` "
                        "of this Verilog, else an assumed 100 MHz)")


def cmd_models(args) -> None:
    from .train.model_file import read_model_file
    from .train.zoo import zoo_files
    for name, path in zoo_files().items():
        spec = read_model_file(path)
        layers = " → ".join(["in", *(f"conv{c.channels}" for c in spec.convs), *map(str, spec.hidden),
                             str(spec.classes)])
        print(f"{spec.name:18} {spec.dataset:12} {layers:37} {spec.description}")


if __name__ == "__main__":
    sys.exit(main())
