"""The report: accuracy and cycles of the RTL against torch and the golden model."""
import json
import statistics
import time
from pathlib import Path

import numpy as np

from hwgen import golden
from hwgen.files import write_text
from hwgen.ir import Graph


def golden_us_per_image(graph: Graph, images: np.ndarray, repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        golden.run(graph, images)
        runs.append((time.perf_counter() - start) / len(images) * 1e6)
    return statistics.median(runs)


ASSUMED_CLOCK_MHZ = 100.0


def choose_clock(given_mhz: float | None, synth: dict | None, of_bitstream: bool = True) -> tuple[float, str]:
    """The clock that turns cycles into time, and where it comes from: the
    user's, else Fmax from synthesis (the bitstream's, or with ``of_bitstream``
    false the median placement's), else an assumed one."""
    if given_mhz is not None:
        return given_mhz, "given with --clock-mhz"
    if synth is not None and not of_bitstream:
        return synth["fmax_mhz"], f"the median Fmax from nextpnr-ecp5 on {synth['device']}"
    if synth is not None:
        # The hardware the user gets: the bitstream, the fastest placement of several.
        bitstream, placements = synth["bitstream"], len(synth["fmax_by_seed"])
        fastest = (f" (the bitstream's: seed {bitstream['seed']}, the fastest of {placements} placements)"
                   if placements > 1 else "")
        return bitstream["fmax_mhz"], f"Fmax from nextpnr-ecp5 on {synth['device']}{fastest}"
    return ASSUMED_CLOCK_MHZ, "assumed clock; `hwgen synth` measures Fmax"


def build_report(*, model: str, dataset: str, labels: np.ndarray, torch_pred: np.ndarray,
                 golden_pred: np.ndarray, sim: dict, meta: dict, software_us: dict,
                 clock_mhz: float, clock_note: str, synth: dict | None = None,
                 training: dict | None = None) -> dict:
    """``sim`` is what ``hwgen sim`` wrote, ``synth`` what ``hwgen synth`` did (if it ran),
    ``training`` what ``hwgen train`` recorded (None for a model trained in the user's
    own script); predictions cover the whole test set."""
    n = sim["images"]
    rtl = np.array(sim["outputs"], dtype=np.int64)
    measured = sim["cycles_per_image"]
    return {
        "model": model,
        "dataset": dataset,
        "images": n,
        "accuracy": {
            "torch": float(np.mean(torch_pred[:n] == labels[:n])),
            "golden": float(np.mean(golden_pred[:n] == labels[:n])),
            "rtl": float(np.mean(rtl == labels[:n])),
        },
        "test_set_accuracy": {
            "images": len(labels),
            "torch": float(np.mean(torch_pred == labels)),
            "golden": float(np.mean(golden_pred == labels)),
        },
        "torch_golden_disagreements": int(np.count_nonzero(torch_pred != golden_pred)),
        "mismatches": sim["mismatches"],
        "stall_pass": sim["stall_pass"],
        "cycles": {
            "latency": sim["latency"],
            "latency_analytic": meta["latency"],
            "per_image_measured": measured,
            "per_image_analytic": meta["cycles_per_image"],
            "layers": meta["layer_cycles"],
        },
        "folding": meta["folding"],
        "input_per_beat": meta["input_per_beat"],
        "resources_estimate": meta.get("resources_estimate"),
        "software_us_per_image": software_us,
        "clock_mhz": clock_mhz,
        "clock_note": clock_note,
        "synth": synth,
        "hardware_us_per_image": measured / clock_mhz,
        "hardware_latency_us": sim["latency"] / clock_mhz,
        "hardware_images_per_s": clock_mhz * 1e6 / measured,
        "simulator": sim["simulator"],
        "training": None if training is None else {
            key: training[key] for key in ("epochs", "seed", "kept_seed", "test_accuracy", "float_baseline")},
    }


def render_markdown(report: dict) -> str:
    acc, cyc, sw = report["accuracy"], report["cycles"], report["software_us_per_image"]
    hw = report["hardware_us_per_image"]
    clock = f"{report['clock_mhz']:.1f} MHz ({report['clock_note']})"
    verdict = "bit-exact" if report["mismatches"] == 0 else f"**{report['mismatches']} MISMATCHES**"
    rows = [
        f"# hwgen report: {report['model']} on {report['dataset']}",
        "",
        f"RTL simulated on {report['simulator']} over the first {report['images']} test images: "
        f"{verdict} against the golden model (plus a pass of {report['stall_pass']['images']} "
        f"images with random input idles and output back-pressure).",
        "",
        "| accuracy | torch eval | golden model | RTL |",
        "|---|---|---|---|",
        f"| simulated images ({report['images']}) | {acc['torch']:.2%} | {acc['golden']:.2%} | {acc['rtl']:.2%} |",
        f"| whole test set ({report['test_set_accuracy']['images']}) | "
        f"{report['test_set_accuracy']['torch']:.2%} | {report['test_set_accuracy']['golden']:.2%} | |",
        "",
        *_training_rows(report["training"]),
        f"Folding (PExSIMD per conv and dense layer): `{report['folding']}`, "
        f"{report['input_per_beat']} input elements per beat.",
        "",
        "| cycles | measured | analytic |",
        "|---|---|---|",
        f"| latency (first beat in to class out) | {cyc['latency']} | "
        f"{cyc['latency_analytic']} |",
        f"| per image, steady state | {cyc['per_image_measured']:g} | {cyc['per_image_analytic']} |",
        "",
        "Busy cycles per image by layer: " + ", ".join(f"{k} {v}" for k, v in cyc["layers"].items()),
        "",
        "| inference, µs per image | |",
        "|---|---|",
        f"| torch, weights quantized once, batch 1 (this CPU) | {sw['torch_batch1']:.2f} |",
        f"| torch, weights quantized once, batched (this CPU) | {sw['torch_batched']:.2f} |",
        f"| golden model, batched NumPy (this CPU) | {sw['golden']:.2f} |",
        f"| hardware at {clock} | {hw:.2f} |",
        "",
        f"Hardware at {clock}: {report['hardware_images_per_s']:,.0f} images/s, "
        f"latency {report['hardware_latency_us']:.2f} µs.",
        "",
        f"Hardware at {report['clock_mhz']:.1f} MHz vs torch batch 1: {sw['torch_batch1'] / hw:.1f}x; "
        f"vs torch batched: {sw['torch_batched'] / hw:.1f}x.",
        "",
        "The torch baseline is the exported integer graph as a torch module (`train/deployed.py`): "
        "weights quantized once, exact integer arithmetic in floating point, its class indices "
        "checked equal to the golden model's; default threads.",
        "",
    ]
    synth = report["synth"]
    if synth is not None:
        by_seed = ", ".join(f"{seed}: {fmax:.1f}" for seed, fmax in zip(synth["seeds"], synth["fmax_by_seed"]))
        several = len(synth["seeds"]) > 1
        placements = f", the median of {len(synth['seeds'])} placements (nextpnr seed: MHz, {by_seed})" if several else ""
        rows += [f"Synthesis (Yosys synth_ecp5, nextpnr-ecp5) on {synth['device']}: Fmax "
                 f"{synth['fmax_mhz']:.1f} MHz{placements} (target {synth['target_mhz']:g} MHz).", ""]
        bitstream = synth["bitstream"]
        fastest = f", the fastest placement's (seed {bitstream['seed']}, {bitstream['fmax_mhz']:.1f} MHz)" if several else ""
        rows += [f"The bitstream: `{bitstream['file']}`{fastest}.", ""]
        path = synth.get("critical_path")
        if path:
            whose = " (the median placement's)" if several else ""
            rows += [f"Critical path{whose}: {path['from']} → {path['to']}, {path['total_ns']} ns "
                     f"({path['delay_ns']['logic']} ns logic, {path['delay_ns']['routing']} ns routing).", ""]
        rows += ["| resource | used | available |", "|---|---|---|"]
        rows += [f"| {name} | {u['used']} | {u['available']} |" for name, u in synth["utilization"].items()]
        rows.append("")
        if synth.get("flops_into_block_ram"):
            rows += [f"{synth['flops_into_block_ram']:,} flip-flops behind block RAM became the blocks' "
                     "own output registers (REGMODE OUTREG).", ""]
        estimate = report.get("resources_estimate")
        if estimate and synth.get("yosys_units"):
            rows += ["hwgen's estimate beside Yosys's count per unit (LUT4 counts a carry cell and "
                     "a LUT RAM cell as two; the estimate, like nextpnr's TRELLIS_COMB above, also "
                     "counts the CCU2C that nextpnr adds to feed each carry chain):", "",
                     "| unit | LUT4 estimated | LUT4 Yosys | DP16KD estimated | DP16KD Yosys |",
                     "|---|---|---|---|---|"]
            for name, counted in synth["yosys_units"].items():
                guess = estimate["stages"].get(name, {"lut4": 0, "dp16kd": 0})
                rows.append(f"| {name} | {guess['lut4']:,} | {counted['lut4']:,} | {guess['dp16kd']} | "
                            f"{counted['dp16kd']} |")
            rows.append("")
    return "\n".join(rows)


def _training_rows(training: dict | None) -> list[str]:
    """Accuracy over the training runs, the float baseline, and the plots."""
    if training is None:
        return ["Trained outside `hwgen train` (no train.json): no training curves.", ""]
    def line(label: str, stats: dict) -> str:
        return (f"| {label} | {stats['runs']} | {stats['max']:.2%} | {stats['mean']:.2%} | "
                f"{stats['std']:.2%} |")
    rows = [f"Training: {training['epochs']} epochs at most, seeds from {training['seed']}; the model "
            f"in hardware is seed {training['kept_seed']}'s. Test accuracy in torch eval:", "",
            "| model | runs | max | mean | std |", "|---|---|---|---|---|",
            line("quantized", training["test_accuracy"])]
    if training["float_baseline"] is not None:
        rows.append(line("float twin (same layer plan)", training["float_baseline"]))
    return rows + ["", "![loss and accuracy per epoch](training.png)", "",
                   "![first-layer weights, one image per output](weights.png)", ""]


def write_report(folder: Path, report: dict) -> None:
    write_text(Path(folder) / "report.json", json.dumps(report, indent=1) + "\n")
    write_text(Path(folder) / "report.md", render_markdown(report))
