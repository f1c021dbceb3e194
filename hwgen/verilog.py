"""Verilog emission (and the RTLIL it is converted from, which synthesis reads) and the
metadata a testbench needs to drive the design."""
from dataclasses import asdict
from pathlib import Path

from amaranth.back import rtlil, verilog

from . import artifacts
from .artifacts import VERILOG_META
from .files import write_text
from .folding import Folding
from .hw.axi_stream import AXI_STREAM_PORTS, AxiStreamTop, byte_width
from .hw.network import Network
from .hw.rom_placement import DEFAULT_BLOCK_RAMS
from .ir import Graph

TOP_NAME = "hwgen_top"
VERILOG_FILE = "hwgen_top.v"
RTLIL_FILE = "hwgen_top.il"
META_FILE = "hwgen_top.json"


def port_names(component) -> dict[str, str]:
    """Verilog port names by member path (``"i.valid"``), read from the signature."""
    return {".".join(map(str, path)): "__".join(map(str, path))
            for path, _, _ in component.signature.flatten(component)}


def describe(network: Network, axi_stream: bool = False) -> dict:
    """Everything a testbench or report needs to know about the generated top.
    ``ports`` maps each logical port to its Verilog name; the ``*_port_width``
    entries can exceed the payloads (AXI4-Stream rounds TDATA up to bytes)."""
    graph = network.graph
    in_width, out_width = len(network.i.payload), len(network.o.payload)
    return {
        "top": TOP_NAME,
        "ports": AXI_STREAM_PORTS if axi_stream else {"clk": "clk", "rst": "rst", **port_names(network)},
        "reset_active_low": axi_stream,
        "input_port_width": byte_width(in_width) if axi_stream else in_width,
        "output_port_width": byte_width(out_width) if axi_stream else out_width,
        "input_size": graph.input.size,
        "input_width": graph.input.dtype.width,
        "input_per_beat": network.folding.input_per_beat,
        "input_beats": network.input_beats,
        "output_width": out_width,
        "output_fields": network.output_fields,
        "folding": str(network.folding),
        "layer_cycles": network.layer_cycles,
        "cycles_per_image": network.cycles_per_image,
        "latency": network.latency,
        "multiplied_layers": network.multiplied,
        "relay_stages": network.relay_stages,
        "resources_estimate": {
            "stages": {name: asdict(r) for name, r in network.stage_resources},
            "total": asdict(network.resources),
        },
    }


def convert(top) -> tuple[str, str]:
    """``top``'s RTLIL and the Verilog Amaranth converts it to: what ``verilog.convert``
    does, keeping the RTLIL. Yosys reads the RTLIL where it would read the Verilog (hwgen
    synth), for a memory's initial values are one constant in RTLIL and a statement a word
    in Verilog: mini-mnist-cnn's 3.2 million took Yosys over 24 GB."""
    design = rtlil.convert(top, name=TOP_NAME, emit_src=False)
    return design, verilog._convert_rtlil_text(design)


def emit(graph: Graph, folding: Folding, folder: Path, *, logits: bool = False,
         axi_stream: bool = False, shift_lanes: str = "auto", block_rams: int = DEFAULT_BLOCK_RAMS,
         relay_stages: int = 0) -> dict:
    """Write ``hwgen_top.v``, ``hwgen_top.il`` and ``hwgen_top.json`` into ``folder``; return the metadata.
    With ``logits`` the output beat carries the integer logits after the class
    index; with ``axi_stream`` the ports have AXI4-Stream names; ``shift_lanes``
    says how shift layers multiply, ``block_rams`` how many DP16KD the vector
    buffers and weight ROMs may take, and ``relay_stages`` how many registers each way a
    relay between two units has (see ``Network``)."""
    network = Network(graph, folding, logits=logits, shift_lanes=shift_lanes, block_rams=block_rams,
                      relay_stages=relay_stages)
    top = AxiStreamTop(network) if axi_stream else network
    design, text = convert(top)
    write_text(Path(folder) / RTLIL_FILE, design)
    write_text(Path(folder) / VERILOG_FILE, text)
    return artifacts.save(Path(folder) / META_FILE, VERILOG_META, describe(network, axi_stream))
