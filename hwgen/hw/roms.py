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
"""
from amaranth.hdl import Module, Signal, Value
from amaranth.lib import memory

from .cost import block_ram_width
from .pipeline import delayed_copies

# Block RAM slices that one copy of a ROM's address drives. fc1 of the auto-folded
# mnist-mlp-bnn read its 57 blocks, spread over the part, from one address
# register: 13.1 ns, all of it routing.
SLICES_PER_ADDRESS_COPY = 8
# LUT4 of a ROM in logic that one copy of its address drives. The threshold unit after
# fc0 of the auto-folded mnist-mlp-bnn at 75k images/s read its 32-word tables, some
# 800 LUT4, from its fold counter: 9.2 ns, 8.3 of it routing.
LUTS_PER_ADDRESS_COPY = 128


def address_copies(varying_bits: int, depth: int, in_block_ram: bool) -> int:
    """Copies of the address register of a ROM with ``varying_bits`` bits that are not
    constants (see ``read_rom``); 1 where the address drives every slice itself."""
    if in_block_ram:
        slices = -(-varying_bits // block_ram_width(depth))
        return -(-slices // SLICES_PER_ADDRESS_COPY)
    return max(1, min(varying_bits, -(-varying_bits * -(-depth // 16) // LUTS_PER_ADDRESS_COPY)))


def read_cycles(copies: int) -> int:
    """Cycles from the address to the word: the read, after the address copies if any."""
    return 1 if copies == 1 else 2


def read_rom(m: Module, name: str, words: list[int], width: int, address: Value, in_block_ram: bool,
             copies: int = 1) -> Value:
    """``words[address]`` (``width`` bits each), read synchronously, ``read_cycles(copies)``
    after ``address``; ``copies`` from ``address_copies``."""
    depth = len(words)
    columns = [[(w >> b) & 1 for w in words] for b in range(width)]
    varying = [b for b in range(width) if any(columns[b]) and not all(columns[b])]
    # The constant bits, then each run of varying bits from its memory: assigning runs keeps
    # every expression shallow (one Cat of thousands of parts overflowed amaranth.sim's compile).
    word = Signal(width, name=f"{name}_word")
    m.d.comb += word.eq(sum(columns[b][0] << b for b in range(width)))
    # In block RAM a slice is a block, and eight share an address copy; in logic each
    # address copy reads a slice of its own.
    if in_block_ram:
        step, per_copy = block_ram_width(depth), SLICES_PER_ADDRESS_COPY
        chunks = [varying[low:low + step] for low in range(0, len(varying), step)]
    else:
        per_copy = 1
        # A ROM whose words are all equal has no varying bits, and one copy of its
        # address: no slice then (a zero-width memory crashes Yosys's Verilog backend).
        chunks = [chunk for k in range(copies)
                  if (chunk := varying[len(varying) * k // copies:len(varying) * (k + 1) // copies])]
    style = "block" if in_block_ram else "logic"   # Yosys's memory_libmap reads it
    addresses = delayed_copies(m, address, 1, f"{name}_address", copies) if copies > 1 else None
    for index, chunk in enumerate(chunks):
        init = [sum(columns[b][word] << k for k, b in enumerate(chunk)) for word in range(depth)]
        rom = memory.Memory(shape=len(chunk), depth=depth, init=init, attrs={"rom_style": style})
        m.submodules[f"{name}{index}"] = rom
        port = rom.read_port()
        m.d.comb += port.addr.eq(addresses[index // per_copy] if addresses else address)
        for k, b, run in _runs(chunk):
            m.d.comb += word[b:b + run].eq(port.data[k:k + run])
    return word


def _runs(bits: list[int]) -> list[tuple[int, int, int]]:
    """(index in ``bits``, first bit, length) of each run of consecutive bit numbers."""
    runs = []
    for k, b in enumerate(bits):
        if runs and runs[-1][1] + runs[-1][2] == b:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((k, b, 1))
    return runs
