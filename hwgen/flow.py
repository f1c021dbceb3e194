"""The flow's steps: train → export → verilog → sim → (synth) → report, over one run folder.

The CLI parses arguments into ``Options`` and calls a step; a Python script
can call them the same way. Each step checks the files it reads (and,
through their records, everything they were made from) before it writes
anything, and records what it wrote. The training steps import
``hwgen.train`` (torch) only when they run, so ``verilog`` and ``sim`` never
load torch.
"""
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import artifacts
from .artifacts import SIM_RESULTS as SIM_SCHEMA
from .artifacts import SYNTH_RESULTS, VERILOG_META
from .errors import HwgenError
from .files import atomic_path, write_text
from .run_folder import RunFolder

DEFAULT_MODEL = "digits-bnn"
MODEL_FILE = "model.toml"
CHECKPOINT = "checkpoint.pt"
TRAINING = "train.json"
GRAPH = ["graph.json", "arrays.npz"]
TESTSET = "testset.npz"
PREDICTIONS = "predictions.npz"
VERILOG = ["hwgen_top.v", "hwgen_top.il", "hwgen_top.json"]
SIM_RESULTS = "sim.json"
STALL_IMAGES = 100
STALL_PROBABILITY = 0.3
TIMED_IMAGES = 2000   # software timings are per-image medians; more images only cost minutes
MAX_SEED = 2**32 - 1  # NumPy's and scikit-learn's seeds stop here


@dataclass(frozen=True)
class Options:
    """Every option of every step; each step reads its own."""
    model: str | None = None         # zoo name or model file; None: the run folder's (train: the default)
    data_dir: Path | None = None
    epochs: int | None = None
    seed: int = 0
    baseline: bool = False
    folding: str | None = None
    input_per_beat: int | None = None
    target_fps: float | None = None
    max_luts: int | None = None
    logits: bool = False
    axi_stream: bool = False
    shift_lanes: str = "auto"
    block_rams: int = 208
    relay_stages: int = 0
    clock_mhz: float | None = None
    test_images: int | None = None
    simulator: str = "verilator"
    device: str = "85k"
    package: str = "CABGA381"
    target_mhz: float = 200.0
    speed: int = 6
    seeds: int = 1
    first_seed: int = 1
    jobs: int | None = None          # nextpnr runs at once; None: one per core, at most seeds
    router: str = "router1"
    placer: str = "heap"
    heap_timing_weight: int | None = None
    heap_criticality_exponent: int | None = None


def default_folder(options: Options) -> Path:
    from .train.zoo import get_spec
    return Path("runs") / get_spec(options.model or DEFAULT_MODEL).name


def check_options(options: Options) -> None:
    """The checks that need no file: run before any step writes."""
    for name in ("epochs", "input_per_beat", "max_luts", "test_images", "seeds", "first_seed", "jobs",
                 "heap_timing_weight", "heap_criticality_exponent"):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise HwgenError(f"--{name.replace('_', '-')} must be at least 1, not {value}")
    if options.test_images == 1:
        raise HwgenError("--test-images must be at least 2: cycles per image are measured between images")
    if not 0 <= options.seed <= MAX_SEED:
        raise HwgenError(f"--seed must lie in [0, {MAX_SEED}], not {options.seed}")
    for name in ("clock_mhz", "target_fps", "target_mhz"):
        value = getattr(options, name)
        if value is not None and not 0 < value < math.inf:
            raise HwgenError(f"--{name.replace('_', '-')} must be a positive number, not {value}")
    for name in ("block_rams", "relay_stages"):
        if getattr(options, name) < 0:
            raise HwgenError(f"--{name.replace('_', '-')} must be 0 or more, not {getattr(options, name)}")
    if options.folding is not None:
        from .folding import Folding
        Folding.parse(options.folding, options.input_per_beat or 1)
    if (options.folding is not None or options.input_per_beat is not None) and \
            (options.target_fps is not None or options.max_luts is not None):
        raise HwgenError("give either --folding/--input-per-beat or --target-fps/--max-luts, not both")
    if options.data_dir is not None and not Path(options.data_dir).is_dir():
        raise HwgenError(f"--data-dir {options.data_dir}: no such folder")


def run_spec(run: RunFolder, options: Options):
    """The model this run folder was trained for; ``--model``, if given, must be it."""
    from .train.model_file import read_model_file
    from .train.zoo import get_spec

    run.check([MODEL_FILE])
    spec = read_model_file(run / MODEL_FILE)
    if options.model is not None:
        asked = get_spec(options.model)
        if asked.name != spec.name:
            raise HwgenError(f"--model {options.model} is {asked.name!r}, but {run.path} holds a run of "
                             f"{spec.name!r}; pass --out for {asked.name}'s run folder, or leave out --model")
    return spec


def train(run: RunFolder, options: Options) -> None:
    from .train.checkpoint import save_checkpoint
    from .train.datasets import load_dataset
    from .train.fit import accuracy_statistics, kept_run, train_runs
    from .train.models import first_layer_weights
    from .train.plots import CURVES_FILE, WEIGHTS_FILE, plot_curves, plot_weights
    from .train.zoo import model_path
    from .train.model_file import read_model_file

    check_options(options)
    source = model_path(options.model or DEFAULT_MODEL)
    spec = read_model_file(source)
    epochs = options.epochs or spec.epochs
    data = load_dataset(spec, options.data_dir)
    _check_plan(source, spec, data)
    run.prepare()
    results = train_runs(spec, data, epochs=epochs, seed=options.seed)
    kept = kept_run(results)
    _check_finite(source, kept.model, "training diverged: the trained model's {name} holds NaN or infinity; "
                  "lower train.learning_rate")
    baseline = train_runs(spec, data, epochs=epochs, seed=options.seed, float_twin=True) if options.baseline else []
    statistics = accuracy_statistics(results)
    document = {
        "model": spec.name, "dataset": spec.dataset, "epochs": epochs, "seed": options.seed,
        "data_dir": str(Path(options.data_dir).resolve()) if options.data_dir is not None else None,
        "kept_seed": kept.seed, "test_accuracy": statistics,
        "float_baseline": accuracy_statistics(baseline) if baseline else None,
        "runs": [{"seed": r.seed, **vars(r.history)} for r in results],
        "baseline_runs": [{"seed": r.seed, **vars(r.history)} for r in baseline],
    }
    write_text(run / MODEL_FILE, source.read_text())
    save_checkpoint(run / CHECKPOINT, source.read_text(), source.parent.resolve(), kept.model,
                    in_features=data.features, classes=data.classes, pixel_bits=data.pixel_bits,
                    image=data.image, seed=kept.seed, epochs=epochs)
    write_text(run / TRAINING, json.dumps(document, indent=1) + "\n")
    plot_curves(run / CURVES_FILE, document["runs"], document["baseline_runs"])
    plot_weights(run / WEIGHTS_FILE, first_layer_weights(kept.model, data.image),
                 f"{spec.name}: first-layer weights per output (seed {kept.seed})")
    run.record([MODEL_FILE], [])
    run.record([CHECKPOINT, TRAINING], [MODEL_FILE])
    print(f"trained {spec.name}: test accuracy {_accuracy_line(statistics)} (torch eval)"
          + (f"; float baseline {_accuracy_line(document['float_baseline'])}" if baseline else "")
          + f"; wrote {run / CHECKPOINT}")


def _accuracy_line(statistics: dict) -> str:
    if statistics["runs"] == 1:
        return f"{statistics['max']:.2%}"
    return (f"max {statistics['max']:.2%}, mean {statistics['mean']:.2%}, std {statistics['std']:.2%} "
            f"over {statistics['runs']} runs")


def _check_plan(source: Path, spec, data) -> None:
    """What a model file can only be checked against its data."""
    layers = len(spec.convs) + len(spec.hidden) + 1
    if spec.classes != data.classes:
        raise HwgenError(f"{source}: the last layer has dense = {spec.classes}, but data set {spec.dataset} "
                         f"has {data.classes} classes")
    if spec.convs and data.image[0] == 1:
        raise HwgenError(f"{source}: conv layers need images; data set {spec.dataset} holds feature vectors")
    height, width = data.image
    for index, conv in enumerate(spec.convs):
        height, width = ((n + 2 * conv.padding - conv.kernel) // conv.stride + 1 for n in (height, width))
        if min(height, width) < 1:
            raise HwgenError(f"{source}: layer[{index}]: a {conv.kernel}x{conv.kernel} kernel does not fit the "
                             f"image it gets; use a smaller kernel, padding or fewer layers")
        if conv.pool and (height % 2 or width % 2):
            raise HwgenError(f"{source}: layer[{index}]: pool = 2 needs an even image side, and this conv "
                             f"gives {height}x{width}; change its kernel, stride or padding")
        height, width = (height // 2, width // 2) if conv.pool else (height, width)
    if spec.folding and len(spec.folding) != layers:
        raise HwgenError(f"{source}: hardware.folding has {len(spec.folding)} entries for {layers} layers")


def export(run: RunFolder, options: Options) -> None:
    from . import golden
    from .ir import save_graph
    from .train.checkpoint import load_checkpoint
    from .train.datasets import load_dataset
    from .train.export import export_graph
    from .train.fit import predict

    check_options(options)
    run_spec(run, options)
    run.check([CHECKPOINT])
    spec, model, _ = load_checkpoint(run / CHECKPOINT)
    data = load_dataset(spec, options.data_dir or _trained_data_dir(run))
    _check_finite(run / CHECKPOINT, model)
    graph = export_graph(model, data.features, data.pixel_bits)
    torch_pred = predict(model, data.test.images)
    golden_pred = golden.run(graph, data.test.images)[:, 0]
    differ = np.flatnonzero(torch_pred != golden_pred)
    if differ.size:
        raise HwgenError(f"export bug: the integer graph disagrees with torch eval on {differ.size} "
                         f"test images (first: {differ[0]}); nothing written")
    save_graph(graph, run.path)
    save_npz(run / TESTSET, images=data.test.images, labels=data.test.labels)
    save_npz(run / PREDICTIONS, torch=torch_pred, golden=golden_pred)
    run.record([*GRAPH, TESTSET, PREDICTIONS], [CHECKPOINT])
    accuracy = float(np.mean(golden_pred == data.test.labels))
    print(f"exported {spec.name}: {len(graph.nodes)} nodes; golden = torch on all "
          f"{len(torch_pred)} test images ({accuracy:.2%} accuracy); wrote {run / 'graph.json'}")


def _trained_data_dir(run: RunFolder) -> Path | None:
    """The data folder ``train`` was given, where the run folder records one that still exists."""
    if not _is_current(run, TRAINING):
        return None
    recorded = json.loads((run / TRAINING).read_text()).get("data_dir")
    return Path(recorded) if recorded and Path(recorded).is_dir() else None


def _check_finite(path: Path, model,
                  problem: str = "{name} holds NaN or infinity; train again (`hwgen train`)") -> None:
    import torch
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise HwgenError(f"{path}: " + problem.format(name=name))


def verilog(run: RunFolder, options: Options) -> None:
    from .hw.cost import LFE5U_85F, Resources
    from .ir import Argmax, load_graph
    from .verilog import VERILOG_FILE, emit

    check_options(options)
    spec = run_spec(run, options)
    run.check(GRAPH)
    graph = load_graph(run.path)
    if not isinstance(graph.nodes[-1], Argmax):
        raise HwgenError(f"{run / GRAPH[0]}: the graph ends in {type(graph.nodes[-1]).__name__}, not Argmax; "
                         f"hwgen builds classifiers (export the model again)")
    folding = _choose_folding(run, options, spec, graph)
    meta = emit(graph, folding, run.path, logits=options.logits, axi_stream=options.axi_stream,
                shift_lanes=options.shift_lanes, block_rams=options.block_rams, relay_stages=options.relay_stages)
    run.record(VERILOG, GRAPH)
    print(f"wrote {run / VERILOG_FILE}: folding {folding} ({folding.input_per_beat} input elements "
          f"per beat), {meta['cycles_per_image']} cycles per image, latency {meta['latency']} cycles (analytic)")
    estimate = meta["resources_estimate"]
    print("estimated resources (LUT4 / FF / DP16KD / MULT18X18D): " + ", ".join(
        f"{name} {r['lut4']:,}/{r['ff']:,}/{r['dp16kd']}/{r['mult18']}" for name, r in estimate["stages"].items()))
    total = estimate["total"]
    print(f"estimated total: {total['lut4']:,} LUT4, {total['ff']:,} FF, {total['dp16kd']} DP16KD, "
          f"{total['mult18']} MULT18X18D (`hwgen synth` measures them)")
    if shortfalls := Resources(**total).shortfalls(LFE5U_85F):
        print(f"warning: by the estimate this folding does not fit an LFE5U-85F ({'; '.join(shortfalls)}); "
              f"`hwgen verilog --max-luts N` or `--target-fps F` folds the design to fit", file=sys.stderr)
    for name, pad in folding.padding(graph).items():
        print(f"note: {name}: SIMD does not divide its inputs; each vector is padded with {pad} zero "
              f"elements (a divisor wastes no lanes)")


def _choose_folding(run: RunFolder, options: Options, spec, graph):
    """The folding asked for: given, auto-folded for a pace or a LUT budget, or the model's."""
    from .autofold import choose
    from .folding import Folding
    from .sim.report import choose_clock

    auto = options.target_fps is not None or options.max_luts is not None
    if not auto and (options.folding or spec.folding):
        folding = Folding.parse(options.folding or spec.folding, options.input_per_beat or spec.input_per_beat)
        folding.check(graph)
        return folding
    # A new folding is a new netlist, whose placements are a new draw: paced at the median.
    clock_mhz, clock_note = choose_clock(options.clock_mhz, None if options.clock_mhz else _current_synth(run),
                                         of_bitstream=False)
    target = None if options.target_fps is None else int(clock_mhz * 1e6 // options.target_fps)
    if target is not None and target < 1:
        raise HwgenError(f"{options.target_fps:g} images/s is more than one image a cycle at {clock_mhz:g} MHz")
    max_luts = options.max_luts if auto else spec.max_luts
    choice = choose(graph, target_cycles=target, max_luts=max_luts, logits=options.logits,
                    shift_lanes=options.shift_lanes, block_rams=options.block_rams,
                    relay_stages=options.relay_stages)
    print(f"auto-folding at {clock_mhz:g} MHz ({clock_note}): {choice.folding}, "
          f"{choice.folding.input_per_beat} input elements per beat, {choice.cycles_per_image} cycles "
          f"per image = {clock_mhz * 1e6 / choice.cycles_per_image:,.0f} images/s")
    return choice.folding


def _current_synth(run: RunFolder) -> dict | None:
    """synth.json if it is for the Verilog in the folder now; None (with a note)
    if it is for an earlier one or there is none."""
    from .synth import SYNTH_FILE
    if not (run / SYNTH_FILE).is_file():
        return None
    if not run.written_here(SYNTH_FILE):
        raise HwgenError(f"{run / SYNTH_FILE} is not the file `hwgen synth` wrote here; run `hwgen synth` "
                         f"again, or delete it")
    try:
        run.check([SYNTH_FILE])
    except HwgenError as error:
        print(f"note: {error}; until then its Fmax and resources are not used", file=sys.stderr)
        return None
    return artifacts.load(run / SYNTH_FILE, SYNTH_RESULTS)


def synth(run: RunFolder, options: Options) -> None:
    from .synth import BITSTREAM_FILE, SYNTH_FILE, part_name, synthesize
    from .verilog import VERILOG_FILE

    check_options(options)
    run.check(VERILOG)
    print(f"synthesizing {run / VERILOG_FILE} for {part_name(options.device, options.package)} "
          f"(yosys synth_ecp5, then nextpnr-ecp5)...", flush=True)
    result = synthesize(run.path, device=options.device, package=options.package,
                        target_mhz=options.target_mhz, speed=options.speed, seeds=options.seeds,
                        first_seed=options.first_seed, jobs=options.jobs, router=options.router,
                        placer=options.placer, heap_timing_weight=options.heap_timing_weight,
                        heap_criticality_exponent=options.heap_criticality_exponent)
    run.record([SYNTH_FILE, BITSTREAM_FILE], VERILOG)
    used = ", ".join(f"{name} {u['used']}/{u['available']}" for name, u in result["utilization"].items())
    placements = [f"seed {seed} {fmax:.1f}" for seed, fmax in zip(result["seeds"], result["fmax_by_seed"])]
    spread = f" (median of {len(placements)} placements: {', '.join(placements)})" if len(placements) > 1 else ""
    print(f"Fmax {result['fmax_mhz']:.1f} MHz{spread}; used {used}; wrote {run / SYNTH_FILE}")
    bitstream = result["bitstream"]
    fastest = f", the fastest of {len(placements)} placements" if len(placements) > 1 else ""
    print(f"bitstream {run / BITSTREAM_FILE}: seed {bitstream['seed']}, {bitstream['fmax_mhz']:.1f} MHz{fastest}")
    path = result["critical_path"]
    if path:
        print(f"critical path: {path['from']} -> {path['to']}, {path['total_ns']} ns "
              f"({path['delay_ns']['logic']} logic, {path['delay_ns']['routing']} routing)")


def sim(run: RunFolder, options: Options) -> None:
    from .ir import load_graph
    from .sim.job import Pass, expected_outputs
    from .sim.runner import simulate
    from .verilog import META_FILE

    check_options(options)
    run.check([*VERILOG, *GRAPH, TESTSET])
    graph = load_graph(run.path)
    images, _ = load_testset(run)
    count = len(images) if options.test_images is None else options.test_images
    if not 2 <= count <= len(images):
        raise HwgenError(f"--test-images must lie in [2, {len(images)}], not {count}")
    images = images[:count]
    meta = artifacts.load(run / META_FILE, VERILOG_META)
    logits = len(meta["output_fields"]) > 1
    expected = expected_outputs(graph, images, logits)
    stall_images = min(count, STALL_IMAGES)
    print(f"simulating {count} images on {options.simulator} (then {stall_images} with random "
          f"idles and back-pressure)...", flush=True)
    steady, stalled = simulate(run.path, images, expected,
                               [Pass(count, 0.0), Pass(stall_images, STALL_PROBABILITY, seed=1)],
                               simulator=options.simulator, progress=True)
    results = {
        "simulator": options.simulator,
        "images": count,
        "outputs": steady.classes.tolist(),
        "logits_scored": logits,
        "mismatches": steady.mismatches + stalled.mismatches,
        "latency": steady.latency,
        "cycles_per_image": steady.cycles_per_image,
        "stall_pass": {"images": stalled.images, "stall": stalled.stall,
                       "mismatches": stalled.mismatches},
    }
    artifacts.save(run / SIM_RESULTS, SIM_SCHEMA, results)
    run.record([SIM_RESULTS], [*VERILOG, *GRAPH, TESTSET])
    scored = "class index and every logit" if logits else "class index"
    print(f"{count} images ({scored} scored): {results['mismatches']} mismatches against the golden model; "
          f"latency {steady.latency} cycles, {steady.cycles_per_image:g} cycles per image")
    if results["mismatches"]:
        raise HwgenError(f"RTL differs from the golden model on {results['mismatches']} outputs; "
                         f"see {run / SIM_RESULTS}")


def report(run: RunFolder, options: Options) -> None:
    from .ir import load_graph
    from .sim.report import build_report, choose_clock, golden_us_per_image, write_report
    from .train.deployed import DeployedNet
    from .train.timing import torch_us_per_image
    from .verilog import META_FILE

    check_options(options)
    spec = run_spec(run, options)
    run.check([SIM_RESULTS, PREDICTIONS])
    graph = load_graph(run.path)
    images, labels = load_testset(run)
    predictions = load_npz(run / PREDICTIONS)
    sim_results = artifacts.load(run / SIM_RESULTS, SIM_SCHEMA)
    meta = artifacts.load(run / META_FILE, VERILOG_META)
    timed = images[:min(sim_results["images"], TIMED_IMAGES)]
    model = DeployedNet(graph)
    if not np.array_equal(model.classify(timed), predictions["golden"][:len(timed)]):
        raise HwgenError("the deployed torch baseline differs from the golden model; this is a bug in "
                         "hwgen, please report it with the run folder")
    software = {
        "torch_batch1": torch_us_per_image(model, timed[:200], batch_size=1),
        "torch_batched": torch_us_per_image(model, timed, batch_size=1000),
        "golden": golden_us_per_image(graph, timed),
    }
    synth_results = _current_synth(run)
    clock_mhz, clock_note = choose_clock(options.clock_mhz, synth_results)
    training = json.loads((run / TRAINING).read_text()) if _is_current(run, TRAINING) else None
    dataset = spec.dataset if spec.dataset != "python" else "the data of its own training script"
    result = build_report(model=spec.name, dataset=dataset, labels=labels,
                          torch_pred=predictions["torch"], golden_pred=predictions["golden"],
                          sim=sim_results, meta=meta, software_us=software, clock_mhz=clock_mhz,
                          clock_note=clock_note, synth=synth_results, training=training)
    write_report(run.path, result)
    print((run / "report.md").read_text())


def _is_current(run: RunFolder, name: str) -> bool:
    """Whether ``name`` is here and what its step wrote (the Python API writes no train.json)."""
    try:
        run.check([name])
    except HwgenError:
        return False
    return True


def flow(run: RunFolder, options: Options) -> None:
    """Every step in turn; every option is checked before the first writes."""
    from .train.zoo import get_spec
    check_options(options)
    spec = get_spec(options.model or DEFAULT_MODEL)
    if options.folding is not None:
        from .folding import Folding
        outputs = [c.channels for c in spec.convs] + [*spec.hidden, spec.classes]
        folds = Folding.parse(options.folding, options.input_per_beat or 1).layers
        if len(folds) != len(outputs):
            raise HwgenError(f"--folding has {len(folds)} entries; {spec.name} has {len(outputs)} conv and "
                             f"dense layers")
        for index, (fold, count) in enumerate(zip(folds, outputs)):
            if count % fold.pe:
                raise HwgenError(f"--folding: layer {index + 1}: PE={fold.pe} does not divide its {count} outputs")
    run.prepare()
    for step in (train, export, verilog, sim, report):
        print(f"== hwgen {step.__name__}", flush=True)
        step(run, options)


def save_npz(path: Path, **arrays) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def load_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def load_testset(run: RunFolder) -> tuple[np.ndarray, np.ndarray]:
    arrays = load_npz(run / TESTSET)
    return arrays["images"], arrays["labels"]
