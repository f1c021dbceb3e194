"""Constant tables read synchronously: weight ROMs and per-channel tables.

Bits that are the same in every word are constants; the others are in a
memory that Yosys maps as its ``rom_style`` says: in logic, or in block RAM
cut into slices of the widest word one DP16KD holds at this depth. Each
slice is one block (none stacked in depth behind a mux), so that the
register after it can become the block's own output register (see
:mod:`~hwgen.netlist_passes`), and the estimate (``cost.rom``) counts what
is built.
"""
from amaranth.hdl import Module, Signal, Value
from amaranth.lib import memory

from .cost import block_ram_width


def read_rom(m: Module, name: str, words: list[int], width: int, address: Value, in_block_ram: bool) -> Value:
    """``words[address]`` (``width`` bits each), read synchronously: a cycle after ``address``."""
    depth = len(words)
    columns = [[(w >> b) & 1 for w in words] for b in range(width)]
    varying = [b for b in range(width) if any(columns[b]) and not all(columns[b])]
    # The constant bits, then each run of varying bits from its memory: assigning runs keeps
    # every expression shallow (one Cat of thousands of parts overflowed amaranth.sim's compile).
    word = Signal(width, name=f"{name}_word")
    m.d.comb += word.eq(sum(columns[b][0] << b for b in range(width)))
    step = block_ram_width(depth) if in_block_ram else max(len(varying), 1)
    style = "block" if in_block_ram else "logic"   # Yosys's memory_libmap reads it
    for index, low in enumerate(range(0, len(varying), step)):
        chunk = varying[low:low + step]
        init = [sum(columns[b][word] << k for k, b in enumerate(chunk)) for word in range(depth)]
        rom = memory.Memory(shape=len(chunk), depth=depth, init=init, attrs={"rom_style": style})
        m.submodules[f"{name}{index}"] = rom
        port = rom.read_port()
        m.d.comb += port.addr.eq(address)
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
