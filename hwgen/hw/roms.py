"""Constant tables read synchronously: weight ROMs and per-channel tables.

Bits that are the same in every word are constants; the others are in a
memory that Yosys maps as its ``rom_style`` says: in logic, or in block RAM
cut into slices of the widest word one DP16KD holds at this depth (in
logic, into one slice per copy of the address, below). Each
block-RAM slice is one block (none stacked in depth behind a mux), so that the
register after it can become the block's own output register (see
:mod:`~hwgen.netlist_passes`), and the estimate (``cost.rom``) counts what
is built. Where a ROM has many slices, the address is first registered in
copies, each driving a few slices.

A ROM deeper than a block (16K words) is built as Yosys would map it, each bit
column in 2K x 9 blocks of nine 2K-word segments (``cost.segments``), but with
the blocks' output registers kept, a register after each in the fabric, and the mux
that picks the segment registered at every level: Yosys's own mapping put a 98:1 mux, spread over
176 blocks, between mini-mnist-cnn's fc1 ROM and its register (17.6 ns).
"""
from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import memory

from .cost import (DEEP_READ_STAGES, SEGMENT_DEPTH, SEGMENT_MUX_RADIX, SEGMENTS_PER_BLOCK, block_ram_width,
                   block_rams, segment_mux_levels, segments)
from .pipeline import COPY_BRANCHING, copy_tree, delayed, delayed_copies

# Block RAM slices that one copy of a ROM's address drives. fc1 of the auto-folded
# mnist-mlp-bnn read its 57 blocks, spread over the part, from one address
# register: 13.1 ns, all of it routing; a copy for eight, mini-mnist-cnn's fc1 read
# one of them at 7.51 ns (6.73 routing), its worst path.
SLICES_PER_ADDRESS_COPY = 4
# Block RAM slices read from the address itself, with no copies: two copies and their
# stage cost digits-bnn's two 8-block ROMs 62 LUT4 placed (5,180 TRELLIS_COMB, 5,118 with
# none), and its 8 blocks read from one register were not its worst path (163.5 MHz).
SLICES_WITHOUT_ADDRESS_COPIES = 8
# LUT4 of a ROM in logic that one copy of its address drives. The threshold unit after
# fc0 of the auto-folded mnist-mlp-bnn at 75k images/s read its 32-word tables, some
# 800 LUT4, from its fold counter: 9.2 ns, 8.3 of it routing; at its zoo folding, with a
# copy for 128, 7.63 ns (6.87 routing), its worst path.
LUTS_PER_ADDRESS_COPY = 64


def address_copies(varying_bits: int, depth: int, in_block_ram: bool) -> int:
    """Copies of the address register of a ROM with ``varying_bits`` bits that are not
    constants (see ``read_rom``); 1 where the address drives every slice itself."""
    if in_block_ram:
        blocks = block_rams(varying_bits, depth)
        return 1 if blocks <= SLICES_WITHOUT_ADDRESS_COPIES else -(-blocks // SLICES_PER_ADDRESS_COPY)
    return max(1, min(varying_bits, -(-varying_bits * -(-depth // 16) // LUTS_PER_ADDRESS_COPY)))


def address_stages(copies: int) -> int:
    """Registers from a ROM's address to its ``copies``: none for one; a level of their
    own where one register would drive more than ``COPY_BRANCHING`` of them across the
    die (mini-mnist-cnn's fc1: its word index to 24 copies spread over 185 blocks,
    5.7-7.1 ns of routing, the worst path of three placements)."""
    return 0 if copies == 1 else 1 if copies <= COPY_BRANCHING else 2


def address_registers(copies: int) -> int:
    """Registers of the address's copy tree, each as wide as the address."""
    return sum(copy_tree(address_stages(copies), copies)) if copies > 1 else 0


def read_cycles(copies: int, depth: int, in_block_ram: bool) -> int:
    """Cycles from the address to the word: the read, after the address copies if any,
    and for a deep ROM the blocks' output registers and the segment mux's registers."""
    levels = len(segment_mux_levels(depth)) if in_block_ram else 0
    # A deep ROM's registers after the read: the block's and the fabric's, then every mux level's but the last.
    return 1 + address_stages(copies) + (levels and (DEEP_READ_STAGES - 1) + (levels - 1))


def read_rom(m: Module, name: str, words: list[int], width: int, address: Value, in_block_ram: bool,
             copies: int = 1) -> Value:
    """``words[address]`` (``width`` bits each), read synchronously, ``read_cycles``
    after ``address``; ``copies`` from ``address_copies``."""
    depth = len(words)
    columns = [[(w >> b) & 1 for w in words] for b in range(width)]
    varying = [b for b in range(width) if any(columns[b]) and not all(columns[b])]
    # The constant bits, then each run of varying bits from its memory: assigning runs keeps
    # every expression shallow (one Cat of thousands of parts overflowed amaranth.sim's compile).
    word = Signal(width, name=f"{name}_word")
    m.d.comb += word.eq(sum(columns[b][0] << b for b in range(width)))
    stages = address_stages(copies)
    addresses = delayed_copies(m, address, stages, f"{name}_address", copies) if stages else [address]
    if in_block_ram and segment_mux_levels(depth):
        blocks = -(-segments(depth) // SEGMENTS_PER_BLOCK)
        total = blocks * len(varying)
        for index, b in enumerate(varying):
            shares = [addresses[(index * blocks + k) * len(addresses) // total] for k in range(blocks)]
            m.d.comb += word[b].eq(_read_deep_column(m, f"{name}{index}", columns[b], shares))
        return word
    # In block RAM a slice is a block, and the address copies share them out; in logic
    # each address copy reads a slice of its own.
    if in_block_ram:
        step = block_ram_width(depth)
        chunks = [varying[low:low + step] for low in range(0, len(varying), step)]
        per_copy = SLICES_PER_ADDRESS_COPY if len(addresses) > 1 else len(chunks)
    else:
        per_copy = 1
        # A ROM whose words are all equal has no varying bits, and one copy of its
        # address: no slice then (a zero-width memory crashes Yosys's Verilog backend).
        chunks = [chunk for k in range(copies)
                  if (chunk := varying[len(varying) * k // copies:len(varying) * (k + 1) // copies])]
    style = "block" if in_block_ram else "logic"   # Yosys's memory_libmap reads it
    for index, chunk in enumerate(chunks):
        init = [sum(columns[b][word] << k for k, b in enumerate(chunk)) for word in range(depth)]
        rom = memory.Memory(shape=len(chunk), depth=depth, init=init, attrs={"rom_style": style})
        m.submodules[f"{name}{index}"] = rom
        port = rom.read_port()
        m.d.comb += port.addr.eq(addresses[index // per_copy])
        for k, b, run in _runs(chunk):
            m.d.comb += word[b:b + run].eq(port.data[k:k + run])
    return word


def _read_deep_column(m: Module, name: str, column: list[int], addresses: list[Value]) -> Value:
    """Bit ``column[address]`` of a deep ROM, ``addresses`` the address (or its copy) of
    each 2K x 9 block: the blocks read their segments' bits at the address's low bits,
    register them (their own output registers), then again in the fabric, and a mux
    tree picks the segment, registered at every level but the last. (With the first
    level straight after the blocks, nextpnr placed a block and its level's mux 63
    tiles apart: mini-mnist-cnn's worst path at 113.0 MHz, 7.48 ns of routing.)"""
    depth, count = len(column), segments(len(column))
    column = column + [0] * (count * SEGMENT_DEPTH - depth)
    bits = []
    for k, address in enumerate(addresses):
        first = k * SEGMENTS_PER_BLOCK
        held = range(first, min(first + SEGMENTS_PER_BLOCK, count))
        init = [sum(column[s * SEGMENT_DEPTH + row] << j for j, s in enumerate(held)) for row in range(SEGMENT_DEPTH)]
        block = memory.Memory(shape=len(held), depth=SEGMENT_DEPTH, init=init, attrs={"rom_style": "block"})
        m.submodules[f"{name}_{k}"] = block
        port = block.read_port()
        m.d.comb += port.addr.eq(address[:SEGMENT_DEPTH.bit_length() - 1])
        data = Signal(len(held), name=f"{name}_{k}_data", reset_less=True)
        m.d.sync += data.eq(port.data)
        bits += list(delayed(m, data, 1, f"{name}_{k}_fabric", reset_less=True))
    # The segment number's bits for each level, delayed to meet it: for the first, a copy
    # beside each block (one register for all of a column's blocks, spread over the die,
    # was mini-mnist-cnn's worst path at 631100c: 10.06 ns, 9.04 of it routing); for each
    # later level, a cycle later, one register.
    segment, levels = addresses[0][SEGMENT_DEPTH.bit_length() - 1:], len(segment_mux_levels(depth))
    radix_bits = SEGMENT_MUX_RADIX.bit_length() - 1
    for level in range(levels):
        picks = segment[radix_bits * level:][:radix_bits]
        selects = (delayed_copies(m, picks, DEEP_READ_STAGES, f"{name}_pick0", len(addresses), reset_less=True)
                   if level == 0 else [delayed(m, picks, DEEP_READ_STAGES + level, f"{name}_pick{level}",
                                               reset_less=True)])
        groups = range(0, len(bits), SEGMENT_MUX_RADIX)
        bits = [Cat(bits[g:g + SEGMENT_MUX_RADIX]).bit_select(selects[k * len(selects) // len(groups)], 1)
                for k, g in enumerate(groups)]
        if level < levels - 1:
            bits = [delayed(m, bit, 1, f"{name}_level{level}_{k}", reset_less=True) for k, bit in enumerate(bits)]
    (bit,) = bits
    return bit


def _runs(bits: list[int]) -> list[tuple[int, int, int]]:
    """(index in ``bits``, first bit, length) of each run of consecutive bit numbers."""
    runs = []
    for k, b in enumerate(bits):
        if runs and runs[-1][1] + runs[-1][2] == b:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((k, b, 1))
    return runs
