"""Passes over Yosys's netlist: block RAM and multiplier registers absorbed, unused carry
outs cut, constant carry ins started in the chain (proved equivalent by Yosys's SAT solver)."""
import copy
import itertools
import json
import subprocess

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen import synth
from hwgen.folding import Folding
from hwgen.hw.cost import rom
from hwgen.hw.roms import address_copies, read_rom
from hwgen.ir import Integer
from hwgen.netlist_passes import (absorb_multiplier_registers, absorb_output_registers, carry_chains,
                                  cut_unused_carry_outs, move_first_sums_out_of_chain,
                                  start_constant_carries_in_chain)
from hwgen.verilog import convert, emit

from .graphs import random_graph, random_shift_graph


@pytest.fixture(scope="module")
def netlist(tmp_path_factory):
    """Yosys's ECP5 netlist of a small folded network whose weight ROMs are in block RAM."""
    folder = tmp_path_factory.mktemp("netlist")
    graph = random_graph(np.random.default_rng(3), [12, 8, 8, 10], Integer(4, signed=False))
    emit(graph, Folding.parse("4x6,2x4,5x2", 3), folder)
    command, _ = synth.yosys_command(synth.yosys_script("hwgen_top"))
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return json.loads((folder / "netlist.json").read_text())


def _cells(netlist):
    return netlist["modules"]["hwgen_top"]["cells"]


def _driver(cells, bit):
    return [(name, port) for name, cell in cells.items() for port, bits in cell["connections"].items()
            if cell["port_directions"][port] == "output" and bit in bits]


def test_weight_registers_become_the_block_rams_output_registers(netlist):
    before = _cells(netlist)
    # (A ROM bit that is the same in every word makes a flip-flop of a constant.)
    weight_flops = {name: cell for name, cell in before.items() if cell["type"] == "TRELLIS_FF"
                    and ".weights_d1" in name and isinstance(cell["connections"]["DI"][0], int)}
    assert weight_flops
    absorbed, count = absorb_output_registers(netlist)
    after = _cells(absorbed)
    assert count == len(weight_flops) == len(before) - len(after)
    assert not set(weight_flops) & set(after)
    rams = [cell for cell in after.values() if cell["type"] == "DP16KD"]
    assert rams and all("OUTREG" in (c["parameters"]["REGMODE_A"], c["parameters"]["REGMODE_B"])
                        for c in rams)
    # What the flip-flops drove, a block RAM now drives, and nothing else.
    for flop in weight_flops.values():
        (name, port), = _driver(after, flop["connections"]["Q"][0])
        assert after[name]["type"] == "DP16KD" and port.startswith("DO")
    assert _cells(netlist) == before   # the input is left as it was


class _DeepRom(wiring.Component):
    """A ROM of 20,000 words, 5 of their 6 bits varying: two 2K x 9 blocks a bit."""

    def __init__(self):
        self.words = [int(w) for w in np.random.default_rng(4).integers(0, 32, 20000) * 2 + 1]
        super().__init__({"address": In(range(len(self.words))), "word": Out(6)})

    def elaborate(self, platform):
        m = Module()
        word = read_rom(m, "rom", self.words, 6, self.address, True, address_copies(5, len(self.words), True))
        m.d.sync += self.word.eq(word)
        return m


def test_a_deep_roms_blocks_keep_their_output_registers(tmp_path):
    """Each block's segment bits, registered before the segment mux, become its output
    register: none of Yosys's own deep mapping, with its mux between block and register."""
    (tmp_path / "hwgen_top.il").write_text(convert(_DeepRom())[0])
    command, _ = synth.yosys_command(synth.yosys_script("hwgen_top", "hwgen_top.il"))
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    netlist = json.loads((tmp_path / "netlist.json").read_text())
    rams = [c for c in _cells(netlist).values() if c["type"] == "DP16KD"]
    assert len(rams) == rom(5, 20000, in_block_ram=True).dp16kd == 10
    absorbed, count = absorb_output_registers(netlist)
    assert count == 5 * 10   # each bit's ten segments
    assert all("OUTREG" in (c["parameters"]["REGMODE_A"], c["parameters"]["REGMODE_B"])
               for c in _cells(absorbed).values() if c["type"] == "DP16KD")


def _ram(data_width, **pins):
    connections = {"CLKA": [2], "CLKB": [2], "OCEA": ["1"], "OCEB": ["1"], "RSTA": ["0"], "RSTB": ["0"],
                   "DOA0": [10], "DOB0": [11], **pins}
    return {"type": "DP16KD", "parameters": {"DATA_WIDTH_A": data_width, "DATA_WIDTH_B": data_width,
                                             "REGMODE_A": "NOREG", "REGMODE_B": "NOREG"},
            "port_directions": {p: "output" if p.startswith("DO") else "input" for p in connections},
            "connections": connections}


def _flop(data, q, **changes):
    params = {"CEMUX": "1 ", "CLKMUX": "CLK", "LSRMUX": "LSR", **changes.pop("params", {})}
    connections = {"CLK": [2], "DI": [data], "Q": [q], **changes}
    return {"type": "TRELLIS_FF", "parameters": params,
            "port_directions": {p: "output" if p == "Q" else "input" for p in connections},
            "connections": connections}


def _module(*cells):
    return {"modules": {"hwgen_top": {"ports": {}, "cells": {f"c{k}": c for k, c in enumerate(cells)}}}}


def test_pseudo_dual_port_blocks_set_both_register_modes():
    netlist, count = absorb_output_registers(_module(_ram(36), _flop(10, 20), _flop(11, 21)))
    cells = _cells(netlist)
    assert count == 2 and set(cells) == {"c0"}
    assert cells["c0"]["connections"]["DOA0"] == [20] and cells["c0"]["connections"]["DOB0"] == [21]
    assert cells["c0"]["parameters"]["REGMODE_A"] == cells["c0"]["parameters"]["REGMODE_B"] == "OUTREG"


@pytest.mark.parametrize("change", [
    {"LSR": [5]},                       # a reset the block's register would not have
    {"params": {"CEMUX": "CE"}, "CE": [6]},   # an enable
    {"CLK": [3]},                       # another clock
], ids=["reset", "enable", "clock"])
def test_flops_the_block_cannot_become_stay(change):
    netlist, count = absorb_output_registers(_module(_ram(18), _flop(10, 20, **change)))
    assert count == 0 and len(_cells(netlist)) == 2


def test_a_port_with_other_loads_keeps_all_its_flops():
    logic = {"type": "LUT4", "parameters": {}, "port_directions": {"A": "input", "Z": "output"},
             "connections": {"A": [10], "Z": [30]}}
    netlist, count = absorb_output_registers(_module(_ram(18), _flop(10, 20), logic, _flop(11, 21)))
    cells = _cells(netlist)
    assert count == 1 and cells["c0"]["parameters"]["REGMODE_A"] == "NOREG"
    assert cells["c0"]["parameters"]["REGMODE_B"] == "OUTREG"


def test_unused_carry_outs_are_cut_and_used_ones_kept(netlist):
    cells = _cells(netlist)
    carries = {name: cell["connections"]["COUT"][0] for name, cell in cells.items() if cell["type"] == "CCU2C"}
    used = {bit for cell in cells.values() for port, bits in cell["connections"].items()
            if cell["port_directions"][port] == "input" for bit in bits}
    cut, count = cut_unused_carry_outs(netlist)
    after = _cells(cut)
    assert count == sum(bit not in used for bit in carries.values()) > 0
    for name, bit in carries.items():
        assert after[name]["connections"]["COUT"] == ([bit] if bit in used else ["x"])


def test_carry_chains_are_counted_from_their_first_cell():
    def carry(cin, cout):
        return {"type": "CCU2C", "parameters": {}, "port_directions": {"CIN": "input", "COUT": "output"},
                "connections": {"CIN": [cin], "COUT": [cout]}}
    # A chain of three (a constant carry in, then 1 -> 2) and a chain of one fed from logic;
    # a chain whose carry in is unconnected needs no feed-in.
    assert carry_chains(_module(carry("0", 1), carry(1, 2), carry(2, 3), carry(9, 4))) == 2
    assert carry_chains(_module(carry("x", 1), carry(1, "x"), carry(9, 4))) == 1


ADDERS = """
module hwgen_top(input [6:0] a, b, input [5:0] c, d, input [8:0] e, f,
                 output [7:0] even, output [6:0] odd, output [8:0] difference, output less);
  assign even = a + b;
  assign odd = c + d;
  assign difference = e - f;   // a carry in of 1
  assign less = e < f;         // a carry out used
endmodule
"""


@pytest.fixture(scope="module")
def adders(tmp_path_factory):
    """Yosys's ECP5 netlist of adders of odd and even widths, a subtraction and a compare,
    its unused carry outs cut."""
    folder = tmp_path_factory.mktemp("adders")
    (folder / "hwgen_top.v").write_text(ADDERS)
    command, _ = synth.yosys_command(synth.yosys_script("hwgen_top", "hwgen_top.v"))
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    netlist, _ = cut_unused_carry_outs(json.loads((folder / "netlist.json").read_text()))
    return netlist


def test_constant_carry_ins_start_the_chains_of_odd_widths_and_no_others(adders):
    started, count = start_constant_carries_in_chain(adders)
    # The odd-width adder's chain: those of the even one and of the subtraction-compare
    # (whose last half is the compare's) stay as they were.
    assert count == 1
    assert carry_chains(started) == carry_chains(adders) - 1
    changed = [name for name, cell in _cells(started).items() if cell != _cells(adders)[name]]
    assert changed and all(name.startswith("odd_") for name in changed)
    # A cut carry out and another cell's unconnected input are both "x": no load.
    loose = copy.deepcopy(adders)
    _cells(loose)["loose"] = {"type": "LUT4", "parameters": {}, "port_directions": {"A": "input", "Z": "output"},
                              "connections": {"A": ["x"], "Z": ["x"]}}
    assert start_constant_carries_in_chain(loose)[1] == 1


def test_started_chains_compute_what_yosys_mapped(adders, tmp_path):
    started, _ = start_constant_carries_in_chain(adders)
    assert _equivalent(adders, started, tmp_path)
    # The check can fail: a chain started with the wrong constant.
    wrong = copy.deepcopy(started)
    for cell in _cells(wrong).values():
        if cell["type"] == "CCU2C" and cell["connections"]["CIN"] == ["x"]:
            cell["parameters"]["INIT0"] = "0000000000001111"
    assert not _equivalent(adders, wrong, tmp_path)


def test_the_other_constant_carry_ins_become_carries_made_from_the_first_inputs(adders, tmp_path):
    started, _ = start_constant_carries_in_chain(adders)
    moved, count = move_first_sums_out_of_chain(started)
    # The even adder, and the subtraction whose carry out is also the compare: no chain is left to feed.
    assert count == carry_chains(started) == 2
    assert carry_chains(moved) == 0
    luts = [cell for cell in _cells(moved).values() if cell["type"] == "LUT4"]
    assert len(luts) == len([c for c in _cells(started).values() if c["type"] == "LUT4"]) + 2
    assert _equivalent(adders, moved, tmp_path)
    wrong = copy.deepcopy(moved)
    for cell in _cells(wrong).values():
        if cell["type"] == "CCU2C" and cell["parameters"]["INIT0"].startswith("0" * 12):
            cell["parameters"]["INIT0"] = "0" * 16
    assert not _equivalent(adders, wrong, tmp_path)


PRODUCT = """
module hwgen_top(input clk, input signed [3:0] a, input [3:0] b, input keep, output reg signed [8:0] p,
                 output reg [3:0] q);
  reg signed [3:0] ra;
  reg [3:0] rb;
  always @(posedge clk) begin
    ra <= a;
    rb <= keep ? b : 4'd0;   // a synchronous reset to Yosys
    q <= ra;                 // ra has a load besides the multiplier
    p <= ra * $signed({1'b0, rb});
  end
endmodule
"""

# Yosys has no simulation model of MULT18X18D: this one, for the registers the pass sets.
_MULT_PINS = ", ".join([f"{bus}{k}" for bus in "ABC" for k in range(18)] + [f"P{k}" for k in range(36)]
                       + ["SIGNEDA", "SIGNEDB", "SOURCEA", "SOURCEB"]
                       + [f"{pin}{k}" for pin in ("CLK", "CE", "RST") for k in range(4)])
MULT_MODEL = f"""
module MULT18X18D({_MULT_PINS});
  input {", ".join(f"{b}{k}" for b in "ABC" for k in range(18))};
  input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3;
  output {", ".join(f"P{k}" for k in range(36))};
  parameter REG_INPUTA_CLK = "NONE", REG_INPUTB_CLK = "NONE", REG_OUTPUT_CLK = "NONE";
  parameter REG_INPUTA_RST = "RST0", REG_INPUTB_RST = "RST0", REG_OUTPUT_RST = "RST0";
  parameter REG_INPUTA_CE = "CE0", REG_INPUTB_CE = "CE0", REG_OUTPUT_CE = "CE0", RESETMODE = "SYNC";
  wire [3:0] rst = {{RST3, RST2, RST1, RST0}};
  wire [17:0] a = {{{", ".join(f"A{k}" for k in reversed(range(18)))}}};
  wire [17:0] b = {{{", ".join(f"B{k}" for k in reversed(range(18)))}}};
  reg [17:0] ra = 0, rb = 0;
  reg [35:0] rp = 0;
  wire [17:0] ia = REG_INPUTA_CLK == "NONE" ? a : ra;
  wire [17:0] ib = REG_INPUTB_CLK == "NONE" ? b : rb;
  wire signed [37:0] product = $signed({{SIGNEDA & ia[17], ia}}) * $signed({{SIGNEDB & ib[17], ib}});
  always @(posedge CLK0) if (CE0) begin
    ra <= rst[REG_INPUTA_RST == "RST1" ? 1 : REG_INPUTA_RST == "RST2" ? 2 : 0] ? 18'd0 : a;
    rb <= rst[REG_INPUTB_RST == "RST1" ? 1 : REG_INPUTB_RST == "RST2" ? 2 : 0] ? 18'd0 : b;
    rp <= rst[REG_OUTPUT_RST == "RST1" ? 1 : REG_OUTPUT_RST == "RST2" ? 2 : 0] ? 36'd0 : product[35:0];
  end
  assign {{{", ".join(f"P{k}" for k in reversed(range(36)))}}} = REG_OUTPUT_CLK == "NONE" ? product[35:0] : rp;
endmodule
"""


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    """Yosys's ECP5 netlist of a product of two registers, registered."""
    folder = tmp_path_factory.mktemp("product")
    (folder / "hwgen_top.v").write_text(PRODUCT)
    command, _ = synth.yosys_command(synth.yosys_script("hwgen_top", "hwgen_top.v"))
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return json.loads((folder / "netlist.json").read_text())


def test_the_flops_around_a_multiplier_become_its_registers(product, tmp_path):
    absorbed, count = absorb_multiplier_registers(product)
    # p's 9 flip-flops and rb's 4 leave; ra's stay, for q reads them too.
    assert count == 13
    assert len(_cells(product)) - len(_cells(absorbed)) == 13
    (mult,) = [cell for cell in _cells(absorbed).values() if cell["type"] == "MULT18X18D"]
    assert all(mult["parameters"][f"REG_{r}_CLK"] == "CLK0" for r in ("INPUTA", "INPUTB", "OUTPUT"))
    assert _equivalent(product, absorbed, tmp_path, steps=4, models=MULT_MODEL)
    # The check can fail: the product's register left out, so p comes a cycle early.
    wrong = copy.deepcopy(absorbed)
    for cell in _cells(wrong).values():
        if cell["type"] == "MULT18X18D":
            cell["parameters"]["REG_OUTPUT_CLK"] = "NONE"
    assert not _equivalent(product, wrong, tmp_path, steps=4, models=MULT_MODEL)


def test_a_multiplier_whose_product_has_other_loads_keeps_its_flops(product):
    changed = copy.deepcopy(product)
    (name, mult), = [(n, c) for n, c in _cells(changed).items() if c["type"] == "MULT18X18D"]
    _cells(changed)["reader"] = {"type": "LUT4", "parameters": {}, "port_directions": {"A": "input", "Z": "output"},
                                 "connections": {"A": [mult["connections"]["P0"][0]], "Z": [10 ** 6]}}
    assert absorb_multiplier_registers(changed) == (changed, 0)


def test_every_multiplier_of_a_shift_network_takes_its_registers(tmp_path):
    graph = random_shift_graph(np.random.default_rng(3), [12, 8, 8, 10], Integer(5, signed=True, frac=3))
    emit(graph, Folding.parse("4x6,2x4,5x2", 3), tmp_path, shift_lanes="multiplier")
    command, _ = synth.yosys_command(synth.yosys_script("hwgen_top"))
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    netlist = json.loads((tmp_path / "netlist.json").read_text())
    absorbed, count = absorb_multiplier_registers(netlist)
    mults = [cell for cell in _cells(absorbed).values() if cell["type"] == "MULT18X18D"]
    assert mults and all(cell["parameters"].get("REG_OUTPUT_CLK") == "CLK0" for cell in mults)
    assert count == len(_cells(netlist)) - len(_cells(absorbed)) > len(mults)


def _equivalent(gold: dict, gate: dict, folder, steps: int = 0, models: str = "") -> bool:
    """Whether Yosys's SAT solver proves the two netlists' outputs equal for every input
    (in each of ``steps`` cycles from all registers 0, where they are sequential), their
    cells flattened into the Lattice simulation models (and ``models``)."""
    for name, netlist in (("gold", gold), ("gate", gate)):
        module = copy.deepcopy(netlist["modules"]["hwgen_top"])
        fresh = itertools.count(1 << 30)   # a net for every unconnected pin, which Yosys wants
        for cell in module["cells"].values():
            cell["connections"] = {pin: [next(fresh) if b == "x" else b for b in bits]
                                   for pin, bits in cell["connections"].items()}
        (folder / f"{name}.json").write_text(json.dumps({"modules": {name: module}}))
    (folder / "models.v").write_text(models)
    sequential = f" -seq {steps} -set-init-zero" if steps else ""
    commands = ["read_verilog -DNO_INCLUDES +/lattice/cells_sim_ecp5.v", "read_verilog models.v",
                "read_json gold.json", "read_json gate.json", "miter -equiv -make_assert gold gate miter",
                "hierarchy -top miter", "flatten -wb miter", "proc", f"sat -verify -prove-asserts{sequential} miter"]
    command, _ = synth.yosys_command(commands)
    return subprocess.run(command, cwd=folder, capture_output=True).returncode == 0


def test_copies_of_a_beat_register_survive_synthesis(tmp_path):
    """16 lanes take four copies of the beat register, and each copy's inputs a register
    beside its pair sums; Yosys would merge them into one."""
    graph = random_graph(np.random.default_rng(4), [12, 16, 10], Integer(4, signed=False))
    emit(graph, Folding.parse("16x6,5x4", 3), tmp_path)
    command, _ = synth.yosys_command(synth.yosys_script("hwgen_top"))
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    cells = _cells(json.loads((tmp_path / "netlist.json").read_text()))
    for prefix in ("beat_d2_copy", "input"):
        copies = {copy: sum(1 for name, cell in cells.items() if cell["type"] == "TRELLIS_FF"
                            and f"s2_MatrixVectorUnit.{prefix}{copy}_" in name) for copy in range(4)}
        assert copies == {copy: 6 * 4 for copy in range(4)}, prefix
