"""Passes over Yosys's JSON netlist before nextpnr: what the ECP5 mapping leaves undone.

**Block RAM output registers.** A DP16KD without its output register
(REGMODE NOREG) takes 5.83 ns from clock to data at speed grade 6, most of
a 150 MHz cycle before any routing. Every folded matrix-vector unit
registers its weight ROM's output for that reason, but Yosys's ECP5 memory
mapping never uses the block's own output register, so the data still
crosses the fabric between block and flip-flop. Where every data output of
a block RAM port drives exactly one plain flip-flop on the same clock (no
enable, no reset), those flip-flops become the port's output register
(REGMODE OUTREG) and leave the netlist. The behaviour is the same cycle for
cycle, so the simulated RTL still describes the placed design. In 36-bit
(pseudo dual port) mode all 36 outputs belong to the read port B, and
nextpnr sets both REGMODEs from one, as it does for Lattice's PDPW16KD.

**Multiplier registers.** A MULT18X18D's inputs come from the block RAM
rows and the lanes, its products go back to the lanes: unregistered, the
multiply sits between two long routes (digits-shift: 20 ns, 15 of it
routing). The block has registers at its inputs and output that Yosys never
uses. Where every used product bit drives exactly one plain flip-flop, and
every input bit comes from one (or is a constant), all on one clock, those
flip-flops become the block's own: the output flip-flops leave the netlist,
and each input register takes what its flip-flop took (the flip-flop leaves
where nothing else reads it). Cycle for cycle the same, apart from a
constant input's register, which holds 0 until the first clock edge.

**Unused carry outs.** Yosys connects the carry out of every chain's last
CCU2C to a net, used or not, and nextpnr gives each such net a CCU2C of its
own to bring it into the fabric: two LUT4 for nothing, on every adder of
every adder tree (on digits-bnn, hundreds). Unused, it is disconnected.

**Constant carry ins.** nextpnr also starts every chain whose carry in is
connected, constants included, with a CCU2C of its own that feeds the carry
in from the fabric. A half CCU2C whose LUT4 is 0 passes its LUT2 on as its
carry out whatever its carry in (nextpnr's own feed-in works so): such a half,
its LUT2 the constant, can start the chain instead, with the carry in left
unconnected. Where the chain's last half is spare (an adder of an odd
width), every half moves up one and the chain needs no feed-in: two LUT4 less.
Where it is not, and the first half's LUT4 sees only its A and B inputs (C
and D constant: Yosys's adders and compares), that half becomes one that
makes its carry out from A and B alone, and its sum moves to a LUT4 of its
own: one LUT4 less.
"""
import copy
import json
from collections import defaultdict

_PORTS = ("A", "B")


def absorb_output_registers(netlist: dict) -> tuple[dict, int]:
    """A copy of the Yosys JSON ``netlist`` with block RAM output flip-flops absorbed
    into their DP16KD, and how many flip-flops were."""
    netlist = copy.deepcopy(netlist)
    absorbed = 0
    for module in netlist["modules"].values():
        cells = module.get("cells", {})
        loads = _loads(module)
        for cell in [c for c in cells.values() if c["type"] == "DP16KD"]:
            for group in _output_groups(cell):
                flops = _plain_flops_behind(cell, group, loads, cells)
                if not flops:
                    continue
                for pin, flop in flops.items():
                    cell["connections"][pin] = cells[flop]["connections"]["Q"]
                    del cells[flop]
                for port in group["regmode"]:
                    cell["parameters"][f"REGMODE_{port}"] = "OUTREG"
                absorbed += len(flops)
    return netlist, absorbed


def absorb_multiplier_registers(netlist: dict) -> tuple[dict, int]:
    """A copy of ``netlist`` with the flip-flops before and after each MULT18X18D made
    its input and output registers, and how many flip-flops left the netlist."""
    netlist = copy.deepcopy(netlist)
    absorbed = 0
    for module in netlist["modules"].values():
        cells = module.get("cells", {})
        loads, drivers = _loads(module), _drivers(module)
        fed = set()
        for cell in [c for c in cells.values() if c["type"] == "MULT18X18D"]:
            groups = _multiplier_register_flops(cell, loads, drivers, cells)
            flops = [name for group in groups.values() for name in group.values()]
            # (A flip-flop between two multipliers stays: it cannot be both blocks' register.)
            if not groups or any(name not in cells or name in fed for name in groups["OUTPUT"].values()):
                continue
            # One clock for the block; one reset for each of its registers.
            clocks = {json.dumps(cells[name]["connections"]["CLK"]) for name in flops}
            resets = {register: {json.dumps(_reset_of(cells[name])) for name in group.values()} or {'["0"]'}
                      for register, group in groups.items()}
            if len(clocks) != 1 or any(len(reset) > 1 for reset in resets.values()):
                continue
            pins = cell["connections"]
            for register in ("INPUTA", "INPUTB"):
                for pin, flop in groups[register].items():
                    pins[pin] = cells[flop]["connections"]["DI"]
                    fed.add(flop)
            for pin, flop in groups["OUTPUT"].items():
                pins[pin] = cells.pop(flop)["connections"]["Q"]
            absorbed += len(groups["OUTPUT"])
            pins.update(CLK0=json.loads(clocks.pop()), CE0=["1"])
            for k, register in enumerate(_MULT_REGISTERS):
                pins[f"RST{k}"] = json.loads(resets[register].pop())
                cell["parameters"].update({f"REG_{register}_CLK": "CLK0", f"REG_{register}_CE": "CE0",
                                           f"REG_{register}_RST": f"RST{k}"})
            cell["parameters"]["RESETMODE"] = "SYNC"
            cell["port_directions"].update({pin: "input" for pin in ("CLK0", "CE0", "RST0", "RST1", "RST2")})
        loads = _loads(module)
        unread = [flop for flop in fed if not loads.get(cells[flop]["connections"]["Q"][0])]
        for flop in unread:
            del cells[flop]
        absorbed += len(unread)
    return netlist, absorbed


# A MULT18X18D's registers, each given a reset pin of its own (RST0, RST1, RST2).
_MULT_REGISTERS = ("INPUTA", "INPUTB", "OUTPUT")


def _multiplier_register_flops(cell: dict, loads: dict, drivers: dict, cells: dict) -> dict[str, dict]:
    """Register -> {pin: flip-flop} of a multiplier not yet registered: the flip-flop
    each used A, B and P pin meets (constant inputs need none). Empty where a pin meets
    anything else, or a flip-flop with an enable or anything but a synchronous reset to
    0 (Yosys makes a multiplexer to 0 before a flip-flop such a reset)."""
    params, pins = cell["parameters"], cell["connections"]
    if any(params.get(f"REG_{register}_CLK", "NONE") != "NONE" for register in _MULT_REGISTERS):
        return {}
    groups = {register: {} for register in _MULT_REGISTERS}
    for pin, (bit,) in pins.items():
        if not pin[1:].isdigit() or pin[0] not in "ABP" or bit in ("0", "1", "x"):
            continue
        if pin[0] == "P":
            used = loads.get(bit, [])
            if not used:
                continue
            name, port = used[0] if len(used) == 1 else (None, None)
            wanted = "DI"
        else:
            name, port = drivers.get(bit, (None, None))
            wanted = "Q"
        if name is None or port != wanted or _reset_of(cells[name]) is None:
            return {}
        groups["OUTPUT" if pin[0] == "P" else f"INPUT{pin[0]}"][pin] = name
    return groups if groups["OUTPUT"] and (groups["INPUTA"] or groups["INPUTB"]) else {}


def _reset_of(cell: dict) -> list | None:
    """A TRELLIS_FF's synchronous reset to 0 (its net, or ["0"] where it has none), if
    it is clocked on the rising edge, always enabled, and reset in no other way."""
    params, pins = cell["parameters"], cell["connections"]
    if (cell["type"] != "TRELLIS_FF" or params.get("CLKMUX", "CLK") != "CLK"
            or not (params.get("CEMUX", "").strip() == "1" or pins.get("CE") == ["1"])):
        return None
    if params.get("LSRMUX", "").strip() == "0":
        return ["0"]
    reset = pins.get("LSR", ["0"])
    if params.get("LSRMUX", "LSR") != "LSR" or reset == ["1"]:
        return None
    if reset == ["0"]:
        return reset
    return reset if params.get("SRMODE") == "LSR_OVER_CE" and params.get("REGSET", "RESET") == "RESET" else None


def cut_unused_carry_outs(netlist: dict) -> tuple[dict, int]:
    """A copy of ``netlist`` with every CCU2C carry out that drives nothing disconnected,
    and how many were."""
    netlist = copy.deepcopy(netlist)
    cut = 0
    for module in netlist["modules"].values():
        loads = _loads(module)
        for cell in module.get("cells", {}).values():
            carry_out = cell["connections"].get("COUT") if cell["type"] == "CCU2C" else None
            if carry_out and not loads.get(carry_out[0]):
                cell["connections"]["COUT"] = ["x"]
                cut += 1
    return netlist, cut


def start_constant_carries_in_chain(netlist: dict) -> tuple[dict, int]:
    """A copy of ``netlist`` where every carry chain with a constant carry in, a spare
    last half and no carry tapped on the way starts with a half that makes the
    constant (and needs no feed-in), and how many chains do."""
    netlist = copy.deepcopy(netlist)
    started = 0
    for module in netlist["modules"].values():
        cells, loads = module.get("cells", {}), _loads(module)
        for chain in _chains(cells):
            if _movable(chain, loads):
                _start_with_constant(chain)
                started += 1
    return netlist, started


def move_first_sums_out_of_chain(netlist: dict) -> tuple[dict, int]:
    """A copy of ``netlist`` where every carry chain that still has a constant carry in,
    and whose first half has constant C and D inputs, starts with a half that makes
    the first carry out from A and B and needs no carry in; the first sum, where
    anything reads it, comes from a LUT4. Returns it and how many chains changed."""
    netlist = copy.deepcopy(netlist)
    moved = 0
    for module in netlist["modules"].values():
        cells, loads = module.get("cells", {}), _loads(module)
        for chain in _chains(cells):
            first = chain[0]
            pins = first["connections"]
            if (pins["CIN"][0] in ("0", "1") and first["parameters"].get("INJECT1_0", "YES") == "NO"
                    and pins["C0"][0] in ("0", "1") and pins["D0"][0] in ("0", "1")):
                sum_lut = _generate_first_carry(first)
                if loads.get(pins["S0"][0]):
                    cells[f"{_name_of(cells, first)}$first_sum"] = sum_lut
                pins["S0"] = ["x"]
                moved += 1
    return netlist, moved


def _generate_first_carry(cell: dict) -> dict:
    """Makes half 0 of ``cell`` pass on its carry out as a function of A0 and B0 (its
    LUT4 0, so the carry in is ignored), and returns the LUT4 cell that computes its
    sum ``LUT4 ^ carry in``."""
    pins, half = cell["connections"], _half(cell, 0)
    carry_in = int(pins["CIN"][0])
    # INIT strings run from bit 15 down to bit 0; a LUT4's inputs pick bit 8D + 4C + 2B + A.
    lut = [int(bit) for bit in reversed(half["INIT"])]
    offset = 8 * int(half["D"][0]) + 4 * int(half["C"][0])
    carry_out = [carry_in if lut[offset + ab] else lut[ab] for ab in range(4)]   # LUT2: bits 0-3
    cell["parameters"]["INIT0"] = "000000000000" + "".join(map(str, reversed(carry_out)))
    pins.update({"C0": ["1"], "D0": ["1"], "CIN": ["x"]})
    sums = "".join(str(bit ^ carry_in) for bit in reversed(lut))
    return {"hide_name": 0, "type": "LUT4", "parameters": {"INIT": sums}, "attributes": {},
            "port_directions": {"A": "input", "B": "input", "C": "input", "D": "input", "Z": "output"},
            "connections": {"A": half["A"], "B": half["B"], "C": half["C"], "D": half["D"], "Z": half["S"]}}


def _name_of(cells: dict, cell: dict) -> str:
    return next(name for name, other in cells.items() if other is cell)


def carry_chains(netlist: dict) -> int:
    """Carry chains in ``netlist`` that nextpnr adds a CCU2C (two LUT4) to feed: those
    whose carry in is connected."""
    return sum(chain[0]["connections"]["CIN"] != ["x"]
               for module in netlist["modules"].values() for chain in _chains(module.get("cells", {})))


_HALF_INPUTS = ("A", "B", "C", "D")


def _chains(cells: dict) -> list[list[dict]]:
    """The module's CCU2C cells as chains, each from the cell whose carry in no CCU2C drives."""
    carries = [cell for cell in cells.values() if cell["type"] == "CCU2C"]
    # Nets are numbers; constants and unconnected pins are strings.
    next_cell = {cell["connections"]["CIN"][0]: cell for cell in carries
                 if isinstance(cell["connections"]["CIN"][0], int)}
    chained = {cell["connections"]["COUT"][0] for cell in carries} & set(next_cell)
    chains = []
    for cell in carries:
        if cell["connections"]["CIN"][0] in chained:
            continue
        chain = [cell]
        while chain[-1]["connections"]["COUT"][0] in next_cell:
            chain.append(next_cell[chain[-1]["connections"]["COUT"][0]])
        chains.append(chain)
    return chains


def _movable(chain: list[dict], loads: dict) -> bool:
    """Whether every half of ``chain`` can move up one: a constant carry in, Yosys's
    plain halves, carries that only chain on, and a last half whose sum nothing reads."""
    first, last = chain[0]["connections"], chain[-1]["connections"]
    plain = all(cell["parameters"].get(f"INJECT1_{half}", "YES") == "NO" for cell in chain for half in (0, 1))
    chained_only = all(len(loads.get(cell["connections"]["COUT"][0], [])) == 1 for cell in chain[:-1])
    # An unconnected pin ("x") has no loads either.
    return (first["CIN"][0] in ("0", "1") and plain and chained_only
            and not loads.get(last["COUT"][0]) and not loads.get(last["S1"][0]))


def _start_with_constant(chain: list[dict]) -> None:
    """Moves every half of ``chain`` up one, dropping the spare last half, and starts it
    with a half whose carry out is the chain's constant carry in."""
    carry_in = chain[0]["connections"]["CIN"][0]
    # LUT4 0 for the inputs given (C and D high pick INIT bits 12-15), LUT2 (bits 0-3) the constant.
    start = {"INIT": "000000000000" + carry_in * 4, "A": ["0"], "B": ["0"], "C": ["1"], "D": ["1"], "S": ["x"]}
    halves = [start] + [_half(cell, k) for cell in chain for k in (0, 1)][:-1]
    for cell, pair in zip(chain, zip(halves[::2], halves[1::2])):
        for k, half in enumerate(pair):
            cell["parameters"][f"INIT{k}"] = half["INIT"]
            for pin in (*_HALF_INPUTS, "S"):
                cell["connections"][f"{pin}{k}"] = half[pin]
    chain[0]["connections"]["CIN"] = ["x"]


def _half(cell: dict, k: int) -> dict:
    """Half ``k`` of a CCU2C: its LUT's INIT, its inputs and its sum."""
    init = cell["parameters"][f"INIT{k}"]
    return {"INIT": init if isinstance(init, str) else format(init, "016b"),
            **{pin: cell["connections"][f"{pin}{k}"] for pin in (*_HALF_INPUTS, "S")}}


def _loads(module: dict) -> dict:
    """Net bit -> the (cell, port) inputs it drives; module outputs count as a load too."""
    loads = defaultdict(list)
    for name, cell in module.get("cells", {}).items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) != "output":
                # An unconnected pin ("x") is no net: it loads nothing.
                for bit in (b for b in bits if b != "x"):
                    loads[bit].append((name, port))
    for name, port in module.get("ports", {}).items():
        if port["direction"] != "input":
            for bit in port["bits"]:
                loads[bit].append((None, name))
    return loads


def _drivers(module: dict) -> dict:
    """Net bit -> the (cell, port) output that drives it."""
    return {bit: (name, port) for name, cell in module.get("cells", {}).items()
            for port, bits in cell["connections"].items()
            if cell["port_directions"].get(port) == "output" for bit in bits if bit != "x"}


def _output_groups(cell: dict) -> list[dict]:
    """The block's output ports: their data pins, and the clock, output enable and
    reset that their output register would use."""
    params, pins = cell["parameters"], cell["connections"]
    widths = [_number(params[f"DATA_WIDTH_{port}"]) for port in _PORTS if f"DATA_WIDTH_{port}" in params]
    data = {port: [p for p in pins if p.startswith(f"DO{port}")] for port in _PORTS}
    if 36 in widths:
        return [{"pins": data["A"] + data["B"], "port": "B", "regmode": _PORTS}]
    return [{"pins": data[port], "port": port, "regmode": (port,)} for port in _PORTS]


def _plain_flops_behind(cell: dict, group: dict, loads: dict, cells: dict) -> dict[str, str]:
    """Data pin -> the one plain flip-flop it drives, for every used pin of ``group``;
    empty where the port's register is in use or any used pin drives anything else."""
    params, pins, port = cell["parameters"], cell["connections"], group["port"]
    if any(params.get(f"REGMODE_{p}", "NOREG") != "NOREG" for p in group["regmode"]):
        return {}
    if pins.get(f"OCE{port}") != ["1"] or pins.get(f"RST{port}", ["0"]) != ["0"]:
        return {}
    if params.get(f"CLK{port}MUX", f"CLK{port}") != f"CLK{port}":
        return {}
    clock = pins.get(f"CLK{port}")
    flops = {}
    for pin in group["pins"]:
        used = loads.get(pins[pin][0], [])
        if not used:
            continue
        if len(used) != 1:
            return {}
        name, input_port = used[0]
        if name is None or input_port != "DI" or not _plain_flop(cells[name], clock):
            return {}
        flops[pin] = name
    return flops


def _plain_flop(cell: dict, clock: list) -> bool:
    """A TRELLIS_FF clocked on ``clock``'s rising edge, always enabled, never reset."""
    return cell["connections"].get("CLK") == clock and _reset_of(cell) == ["0"]


def _number(value) -> int:
    """A Yosys JSON parameter: an int, or a string of binary digits."""
    return value if isinstance(value, int) else int(value, 2)
