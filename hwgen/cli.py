"""The `hwgen` command: train → export → verilog → sim → report, together or step by step.

This is the one place where the layers meet: the training steps import the
``train`` package (torch) only when they run, so ``hwgen verilog`` and
``hwgen sim`` never load torch.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from .errors import HwgenError
from .files import atomic_path, write_text

CHECKPOINT = "checkpoint.pt"
TESTSET = "testset.npz"
PREDICTIONS = "predictions.npz"
SIM_RESULTS = "sim.json"
DEFAULT_MODEL = "digits-bnn"
STALL_IMAGES = 100
STALL_PROBABILITY = 0.3
TIMED_IMAGES = 2000   # software timings are per-image medians; more images only cost minutes


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "out", None) is None and hasattr(args, "model"):
        args.out = Path("runs") / args.model
    try:
        args.run(args)
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
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwgen",
        description="Quantized neural networks to bit-exact streaming Verilog. "
                    "`hwgen flow` runs every step; each step also runs alone on the previous "
                    "step's output in the run folder (runs/<model>/ unless --out is given).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, help_text, run, *options):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        for option in options:
            option(sub)
        sub.set_defaults(run=run)
        return sub

    command("models", "List the models hwgen can train, with data set and layers.", cmd_models)
    command("train", "Train a model and save checkpoint.pt.", cmd_train,
            _model, _out, _data_dir, _epochs, _seed)
    command("export", "Lower the checkpoint to the integer graph (graph.json + arrays.npz) and "
            "check that it predicts exactly what torch does on the whole test set.", cmd_export,
            _model, _out, _data_dir)
    command("verilog", "Generate hwgen_top.v (and its metadata hwgen_top.json) from the graph; "
            "with --target-fps or --max-luts the folding is chosen for you.",
            cmd_verilog, _model, _out, _folding, _clock)
    command("sim", "Simulate the Verilog with cocotb on test images and score every output "
            "against the golden model.", cmd_sim, _model, _out, _sim_options)
    command("synth", "Synthesize, place and route the Verilog for a Lattice ECP5 with Yosys and "
            "nextpnr: resources and Fmax into synth.json, which the report then uses. Minutes "
            "for small designs, much longer for MNIST-sized ones.", cmd_synth,
            _model, _out, _synth_options)
    command("report", "Write report.md and report.json: accuracy, mismatches, cycles, and "
            "software inference time on this CPU; the clock is Fmax after `hwgen synth`.",
            cmd_report, _model, _out, _clock)
    command("flow", "Run train, export, verilog, sim and report in turn. With no options: the "
            "digits BNN, offline, in a few minutes.", cmd_flow,
            _model, _out, _data_dir, _epochs, _seed, _folding, _sim_options, _clock)
    return parser


def _model(p):
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"model name, see `hwgen models` (default: {DEFAULT_MODEL})")


def _out(p):
    p.add_argument("--out", type=Path, default=None,
                   help="run folder for every output (default: runs/<model>)")


def _data_dir(p):
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with the data set's files (MNIST: the four IDX files, .gz or not); "
                        "the digits set ships with scikit-learn and needs none")


def _epochs(p):
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the model's)")


def _seed(p):
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


def _folding(p):
    p.add_argument("--folding", default=None,
                   help="PExSIMD per dense layer, comma-separated, e.g. 64x16,32x64,10x32 "
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
                   help="how shift layers multiply: barrel shifters in LUTs, multipliers (MULT18X18D "
                        "where folded), or per layer: multipliers while the LFE5U-85F's 156 last, "
                        "best LUT saving first; BENCHMARKS.md compares them (default: auto)")
    p.add_argument("--block-rams", type=int, default=208,
                   help="DP16KD blocks the weight ROMs may take, deepest ROM first; the rest are "
                        "LUTs. Block RAM saves LUTs; `hwgen synth` moves the flip-flops after a ROM into "
                        "the block's output register, which Yosys leaves unused (default: 208, the "
                        "LFE5U-85F's)")
    p.add_argument("--axi-stream", action="store_true",
                   help="name the ports AXI4-Stream style (aclk, aresetn, s_axis_tdata/tvalid/tready, "
                        "m_axis_...; TDATA rounded up to whole bytes) for vendor and LiteX projects")


def _sim_options(p):
    p.add_argument("--test-images", type=int, default=None,
                   help="simulate only the first N test images (default: all)")
    p.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator",
                   help="HDL simulator (default: verilator)")


def _synth_options(p):
    from .synth import DEVICES
    p.add_argument("--device", choices=DEVICES, default="85k",
                   help="ECP5 size, LFE5U-25F/45F/85F (default: 85k)")
    p.add_argument("--package", default="CABGA381", help="device package (default: CABGA381)")
    p.add_argument("--target-mhz", type=float, default=200.0,
                   help="clock nextpnr aims for; Fmax is reported either way (default: 200)")
    p.add_argument("--speed", type=int, choices=(6, 7, 8), default=6,
                   help="ECP5 speed grade, 6 the slowest and commonest (default: 6)")


def _clock(p):
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="clock for converting cycles to time (default: Fmax from `hwgen synth` "
                        "of this Verilog, else an assumed 100 MHz)")


def cmd_models(args) -> None:
    from train.zoo import MODELS
    for spec in MODELS.values():
        layers = " → ".join(["in", *(f"conv{c[0]}" for c in spec.convs), *map(str, spec.hidden), "classes"])
        print(f"{spec.name:18} {spec.dataset:7} {layers:37} {spec.description}")


def cmd_train(args) -> None:
    from train.checkpoint import save_checkpoint
    from train.datasets import load_dataset
    from train.fit import predict, train_model
    from train.zoo import get_spec

    spec = get_spec(args.model)
    epochs = args.epochs if args.epochs is not None else spec.epochs
    if epochs < 1:
        raise HwgenError(f"--epochs must be at least 1, not {epochs}")
    data = load_dataset(spec.dataset, args.data_dir)
    model = train_model(spec, data, epochs=epochs, seed=args.seed)
    accuracy = float(np.mean(predict(model, data.test.images) == data.test.labels))
    save_checkpoint(args.out / CHECKPOINT, spec, model, in_features=data.features,
                    classes=data.classes, pixel_bits=data.pixel_bits, image=data.image, seed=args.seed, epochs=epochs)
    print(f"trained {spec.name}: test accuracy {accuracy:.2%} (torch eval); "
          f"wrote {args.out / CHECKPOINT}")


def cmd_export(args) -> None:
    from train.checkpoint import load_checkpoint
    from train.datasets import load_dataset
    from train.export import export_graph
    from train.fit import predict

    from . import golden
    from .ir import save_graph

    spec, model, _ = load_checkpoint(args.out / CHECKPOINT)
    if spec.name != args.model:
        raise HwgenError(f"{args.out / CHECKPOINT} holds model {spec.name!r}, not {args.model!r}; "
                         f"pass --model {spec.name} or train {args.model} first")
    data = load_dataset(spec.dataset, args.data_dir)
    graph = export_graph(model, data.features, data.pixel_bits)
    torch_pred = predict(model, data.test.images)
    golden_pred = golden.run(graph, data.test.images)[:, 0]
    differ = np.flatnonzero(torch_pred != golden_pred)
    if differ.size:
        raise HwgenError(f"export bug: the integer graph disagrees with torch eval on {differ.size} "
                         f"test images (first: {differ[0]}); nothing written")
    save_graph(graph, args.out)
    _save_npz(args.out / TESTSET, images=data.test.images, labels=data.test.labels)
    _save_npz(args.out / PREDICTIONS, torch=torch_pred, golden=golden_pred)
    accuracy = float(np.mean(golden_pred == data.test.labels))
    print(f"exported {spec.name}: {len(graph.nodes)} nodes; golden = torch on all "
          f"{len(torch_pred)} test images ({accuracy:.2%} accuracy); wrote {args.out / 'graph.json'}")


def cmd_verilog(args) -> None:
    from train.zoo import get_spec  # torch-free: the model's default folding

    from .ir import load_graph
    from .verilog import VERILOG_FILE, emit

    spec = get_spec(args.model)
    graph = load_graph(args.out)
    folding = _choose_folding(args, spec, graph)
    if args.block_rams < 0:
        raise HwgenError(f"--block-rams must be 0 or more, not {args.block_rams}")
    meta = emit(graph, folding, args.out, logits=args.logits, axi_stream=args.axi_stream,
                shift_lanes=args.shift_lanes, block_rams=args.block_rams)
    print(f"wrote {args.out / VERILOG_FILE}: folding {folding} ({folding.input_per_beat} input elements "
          f"per beat), {meta['cycles_per_image']} cycles per image, latency {meta['latency']} cycles (analytic)")
    estimate = meta["resources_estimate"]
    print("estimated resources (LUT4 / FF / DP16KD / MULT18X18D): " + ", ".join(
        f"{name} {r['lut4']:,}/{r['ff']:,}/{r['dp16kd']}/{r['mult18']}" for name, r in estimate["stages"].items()))
    total = estimate["total"]
    print(f"estimated total: {total['lut4']:,} LUT4, {total['ff']:,} FF, {total['dp16kd']} DP16KD, "
          f"{total['mult18']} MULT18X18D (`hwgen synth` measures them)")
    for name, pad in folding.padding(graph).items():
        print(f"note: {name}: SIMD does not divide its inputs; each vector is padded with {pad} zero "
              f"elements (a divisor wastes no lanes)")


def _choose_folding(args, spec, graph):
    """The folding asked for: given, auto-folded for a pace or a LUT budget, or the model's."""
    from sim.report import choose_clock

    from .autofold import choose
    from .folding import Folding
    from .synth import SYNTH_FILE

    if args.target_fps is None and args.max_luts is None:
        folding = Folding.parse(args.folding or spec.folding, args.input_per_beat or spec.input_per_beat)
        folding.check(graph)
        return folding
    if args.folding is not None or args.input_per_beat is not None:
        raise HwgenError("give either --folding/--input-per-beat or --target-fps/--max-luts, not both")
    if args.target_fps is not None and not 0 < args.target_fps < float("inf"):
        raise HwgenError(f"--target-fps must be a positive number, not {args.target_fps}")
    synth_path = args.out / SYNTH_FILE
    synth = _load_json(synth_path, "hwgen synth") if synth_path.is_file() else None
    clock_mhz, clock_note = choose_clock(args.clock_mhz, synth)
    target = None if args.target_fps is None else int(clock_mhz * 1e6 // args.target_fps)
    if target is not None and target < 1:
        raise HwgenError(f"{args.target_fps:g} images/s is more than one image a cycle at {clock_mhz:g} MHz")
    choice = choose(graph, target_cycles=target, max_luts=args.max_luts, logits=args.logits,
                    shift_lanes=args.shift_lanes, block_rams=args.block_rams)
    print(f"auto-folding at {clock_mhz:g} MHz ({clock_note}): {choice.folding}, "
          f"{choice.folding.input_per_beat} input elements per beat, {choice.cycles_per_image} cycles "
          f"per image = {clock_mhz * 1e6 / choice.cycles_per_image:,.0f} images/s")
    return choice.folding


def cmd_synth(args) -> None:
    from .synth import SYNTH_FILE, part_name, synthesize
    from .verilog import VERILOG_FILE

    print(f"synthesizing {args.out / VERILOG_FILE} for {part_name(args.device, args.package)} "
          f"(yosys synth_ecp5, then nextpnr-ecp5)...", flush=True)
    result = synthesize(args.out, device=args.device, package=args.package,
                        target_mhz=args.target_mhz, speed=args.speed)
    used = ", ".join(f"{name} {u['used']}/{u['available']}" for name, u in result["utilization"].items())
    print(f"Fmax {result['fmax_mhz']:.1f} MHz; used {used}; wrote {args.out / SYNTH_FILE}")
    path = result["critical_path"]
    if path:
        print(f"critical path: {path['from']} -> {path['to']}, {path['total_ns']} ns "
              f"({path['delay_ns']['logic']} logic, {path['delay_ns']['routing']} routing)")


def cmd_sim(args) -> None:
    from sim.job import Pass, expected_outputs
    from sim.runner import simulate

    from .ir import load_graph
    from .verilog import META_FILE

    graph = load_graph(args.out)
    images, _ = _load_testset(args.out)
    count = len(images) if args.test_images is None else args.test_images
    if not 1 <= count <= len(images):
        raise HwgenError(f"--test-images must lie in [1, {len(images)}], not {count}")
    images = images[:count]
    meta = _load_json(args.out / META_FILE, "hwgen verilog")
    logits = len(meta["output_fields"]) > 1
    expected = expected_outputs(graph, images, logits)
    stall_images = min(count, STALL_IMAGES)
    print(f"simulating {count} images on {args.simulator} (then {stall_images} with random "
          f"idles and back-pressure)...", flush=True)
    steady, stalled = simulate(args.out, images, expected,
                               [Pass(count, 0.0), Pass(stall_images, STALL_PROBABILITY, seed=1)],
                               simulator=args.simulator, progress=True)
    results = {
        "simulator": args.simulator,
        "images": count,
        "outputs": steady.classes.tolist(),
        "logits_scored": logits,
        "mismatches": steady.mismatches + stalled.mismatches,
        "latency": steady.latency,
        "cycles_per_image": steady.cycles_per_image,
        "stall_pass": {"images": stalled.images, "stall": stalled.stall,
                       "mismatches": stalled.mismatches},
    }
    write_text(args.out / SIM_RESULTS, json.dumps(results, indent=1) + "\n")
    scored = "class index and every logit" if logits else "class index"
    print(f"{count} images ({scored} scored): {results['mismatches']} mismatches against the golden model; "
          f"latency {steady.latency} cycles, {steady.cycles_per_image:g} cycles per image")
    if results["mismatches"]:
        raise HwgenError(f"RTL differs from the golden model on {results['mismatches']} outputs; "
                         f"see {args.out / SIM_RESULTS}")


def cmd_report(args) -> None:
    from sim.report import build_report, choose_clock, golden_us_per_image, write_report
    from train.deployed import DeployedNet
    from train.timing import torch_us_per_image
    from train.zoo import get_spec

    from .ir import load_graph
    from .synth import SYNTH_FILE, verilog_digest
    from .verilog import META_FILE

    spec = get_spec(args.model)
    graph = load_graph(args.out)
    images, labels = _load_testset(args.out)
    predictions = _load_npz(args.out / PREDICTIONS, "hwgen export")
    sim = _load_json(args.out / SIM_RESULTS, "hwgen sim")
    meta = _load_json(args.out / META_FILE, "hwgen verilog")
    timed = images[:min(sim["images"], TIMED_IMAGES)]
    model = DeployedNet(graph)
    if not np.array_equal(model.classify(timed), predictions["golden"][:len(timed)]):
        raise HwgenError("the deployed torch baseline differs from the golden model; this is a bug in "
                         "hwgen, please report it with the run folder")
    software = {
        "torch_batch1": torch_us_per_image(model, timed[:200], batch_size=1),
        "torch_batched": torch_us_per_image(model, timed, batch_size=1000),
        "golden": golden_us_per_image(graph, timed),
    }
    synth = _load_json(args.out / SYNTH_FILE, "hwgen synth") if (args.out / SYNTH_FILE).is_file() else None
    if synth is not None and synth["verilog_sha256"] != verilog_digest(args.out):
        print(f"note: {args.out / SYNTH_FILE} is for an earlier hwgen_top.v; run `hwgen synth` again "
              f"for resources and Fmax", file=sys.stderr)
        synth = None
    clock_mhz, clock_note = choose_clock(args.clock_mhz, synth)
    report = build_report(model=spec.name, dataset=spec.dataset, labels=labels,
                          torch_pred=predictions["torch"], golden_pred=predictions["golden"],
                          sim=sim, meta=meta, software_us=software, clock_mhz=clock_mhz,
                          clock_note=clock_note, synth=synth)
    write_report(args.out, report)
    print((args.out / "report.md").read_text())


def cmd_flow(args) -> None:
    for step in (cmd_train, cmd_export, cmd_verilog, cmd_sim, cmd_report):
        print(f"== hwgen {step.__name__.removeprefix('cmd_')}", flush=True)
        step(args)


def _save_npz(path: Path, **arrays) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def _load_npz(path: Path, producer: str) -> dict:
    if not path.is_file():
        raise HwgenError(f"{path}: no such file; run `{producer}` first")
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _load_json(path: Path, producer: str) -> dict:
    if not path.is_file():
        raise HwgenError(f"{path}: no such file; run `{producer}` first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise HwgenError(f"{path}: not valid JSON ({error}); run `{producer}` again") from None


def _load_testset(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    arrays = _load_npz(folder / TESTSET, "hwgen export")
    return arrays["images"], arrays["labels"]


if __name__ == "__main__":
    sys.exit(main())
