"""Analytic resource estimates for the ECP5: what each unit's ``resources`` property adds up.

Counts are LUT4 as nextpnr places them, its TRELLIS_COMB (a CCU2C carry
cell is two, a DPR16X4 LUT RAM six; ``hwgen synth``'s netlist passes start
every chain with a constant carry in so that nextpnr adds no CCU2C to feed
it), flip-flops, DP16KD block RAMs and MULT18X18D
multipliers. The rules follow how Yosys maps the generated logic, and the
constants were fitted to Yosys's per-module counts of digits-bnn,
digits-shift and mnist-mlp-bnn (BENCHMARKS.md compares them with
synthesis).
"""
import math
from dataclasses import dataclass

import numpy as np

from .pipeline import QUEUE_SLICE_BITS

# Counters, handshakes and enables of one unit, in LUT4 (Yosys: 15-30).
CONTROL_LUTS = 20
# A DPR16X4 fills three slices: two hold its 64 bits (four LUT4), the third takes the
# write (nextpnr's TRELLIS_RAMW, two LUT4 more). On digits-bnn 118 of them were 708 of
# 5,994 TRELLIS_COMB.
LUT_RAM_LUTS = 6


@dataclass(frozen=True)
class Resources:
    lut4: int = 0
    ff: int = 0
    dp16kd: int = 0
    mult18: int = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(self.lut4 + other.lut4, self.ff + other.ff,
                         self.dp16kd + other.dp16kd, self.mult18 + other.mult18)

    def __mul__(self, count: int) -> "Resources":
        return Resources(self.lut4 * count, self.ff * count, self.dp16kd * count, self.mult18 * count)

    def fits(self, device: "Resources") -> bool:
        return not self.shortfalls(device)

    def shortfalls(self, device: "Resources") -> list[str]:
        """What ``device`` has too little of, as "101,207 FF of 83,640"."""
        names = {"lut4": "LUT4", "ff": "FF", "dp16kd": "DP16KD", "mult18": "MULT18X18D"}
        return [f"{getattr(self, field):,} {name} of {getattr(device, field):,}" for field, name in names.items()
                if getattr(self, field) > getattr(device, field)]


# The LFE5U-85F, hwgen's default part.
LFE5U_85F = Resources(lut4=83640, ff=83640, dp16kd=208, mult18=156)


def carry_luts(width: int) -> int:
    """A comparator of ``width`` bits, or anything whose carry out is read: a carry
    chain of one CCU2C (two LUT4) per two bits; Yosys maps those of up to three bits
    to plain LUTs, one per bit. (nextpnr would feed a constant carry in with a CCU2C
    more, were it not for ``hwgen synth``'s netlist passes: netlist_passes.py.)"""
    return width if width <= 3 else 2 * math.ceil(width / 2)


def adder_luts(width: int) -> int:
    """An adder, subtracter or negate of ``width`` bits (a constant carry in, the carry
    out unread): a CCU2C per two bits, its chain started by a half that makes the
    carry in where the last half is spare (odd widths), else by one that makes the
    first carry, the first sum bit then in a LUT4 of its own (netlist_passes.py)."""
    return width if width <= 3 else width + 1


def adder_tree(count: int, width: int, registered: list[bool]) -> Resources:
    """A balanced tree over ``count`` terms of ``width`` bits, growing a bit a
    level, registered where ``registered`` (an adder tree plan) says."""
    luts = ffs = 0
    for level_registered in registered:
        if level_registered:
            ffs += count * width
        if count > 1:
            adds = count // 2
            luts += adds * adder_luts(width + 1)
            count, width = count - adds, width + 1
    return Resources(luts, ffs)


def varying_bits(codes: np.ndarray, width: int) -> int:
    """Bits of a ROM that are not the same in every word: Yosys keeps only those.
    ``codes`` has a row per word and ``width``-bit entries (two's complement)."""
    bits = (np.asarray(codes, dtype=np.int64)[..., None] >> np.arange(width)) & 1
    return int((bits.min(axis=0) != bits.max(axis=0)).sum()) if len(bits) else 0


def distinct_columns(bits: np.ndarray) -> int:
    """Bit columns of a ROM, ``bits`` (words, columns) of 0 and 1, that vary between
    words and differ from each other. Built from LUTs, a column is a function of the
    address, and Yosys merges equal functions: a table 4 words deep has at most 16
    (mnist-lenet-ternary's first threshold unit: 1,680 table bits, a few hundred LUT4)."""
    bits = np.asarray(bits)
    varying = bits[:, bits.min(axis=0) != bits.max(axis=0)] if len(bits) else bits
    if not varying.size:
        return 0
    # Each column packed into bytes and compared whole: the auto-folder estimates hundreds of
    # candidate designs, and np.unique by rows of 0s and 1s took most of its time.
    columns = np.ascontiguousarray(np.packbits(varying.astype(bool), axis=0).T)
    return len(np.unique(columns.view(f"V{columns.shape[1]}")))


def rom(bits: int, depth: int, in_block_ram: bool, stages: int = 0) -> Resources:
    """A ROM of ``bits`` varying bits per word, read synchronously, and ``stages`` registers
    of its word behind the read. In block RAM the first of them is the blocks' own output
    register: ``hwgen synth`` moves it there (``netlist_passes.absorb_output_registers``)."""
    if in_block_ram:
        deep = depth > DEEPEST_WORD_DEPTH   # its blocks' registers are the segment mux's first level
        fabric = stages if deep else max(stages - 1, 0)
        return Resources(dp16kd=block_rams(bits, depth), ff=fabric * bits) + segment_mux(bits, depth)
    # A LUT4 per 16 words of a bit, then a 2:1 mux per further 16 words; the read register.
    sixteens = math.ceil(depth / 16)
    return Resources(lut4=bits * (2 * sixteens - 1), ff=bits * (1 + stages))


BLOCK_RAM_BITS = 18 * 1024
# DP16KD word widths by depth: 512x36, 1Kx18, 2Kx9, 4Kx4, 8Kx2, 16Kx1.
BLOCK_RAM_WIDTHS = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))


# LUT4 of LUT RAM a DP16KD must save for a buffer (a vector buffer's banks, a sliding
# window's line buffers) to go into block RAM. The auto-folded mnist-mlp-bnn's input
# buffer (98 words of 128 bits: 2,112 LUT4, or 4 blocks) spread over so much of the
# part that whatever it broadcast in a cycle, its write enable or its next read
# address, was 9-11 ns of routing.
BLOCK_RAM_LUT4_WORTH = 256
# Words of the deepest line buffer kept in LUT RAM where block RAM may take it: each 16
# more add a 2:1 mux to the read, and from mini-mnist-cnn's conv1 read address through
# its 196-word LUT RAM (13 DPR16X4 and their mux) to the word's register was its worst
# path (8.21 ns, 6.48 routing).
LUT_RAM_LINES_DEPTH = 128


def block_ram_width(depth: int) -> int:
    """The widest word of one DP16KD ``depth`` words deep (1 beyond 16K words)."""
    return next((widest for max_depth, widest in BLOCK_RAM_WIDTHS if depth <= max_depth), 1)


# Beyond 16K words a DP16KD holds one bit a word and leaves its ninth bits unused; as
# 2K x 9 it holds nine 2K-word segments of a bit column side by side, and a mux picks
# the segment. Yosys maps a deep memory so (mini-mnist-cnn's fc1, 200,704 words: 11
# blocks a bit, not 13), and so does ``roms.read_rom``.
DEEPEST_WORD_DEPTH = BLOCK_RAM_WIDTHS[-1][0]
SEGMENT_DEPTH, SEGMENTS_PER_BLOCK = 2048, 9
# Segments one level of the segment mux picks from: a 4:1 mux fills one slice.
SEGMENT_MUX_RADIX = 4
# Registers from a deep ROM's address to its segment mux: the block's read, its output
# register, one in the fabric.
DEEP_READ_STAGES = 3


def segments(depth: int) -> int:
    """2K-word segments of each bit column of a memory deeper than 16K words."""
    return math.ceil(depth / SEGMENT_DEPTH)


def segment_mux_levels(depth: int) -> list[int]:
    """Inputs of each level of a deep memory's segment mux: the segments, then the
    groups of ``SEGMENT_MUX_RADIX`` before; empty where the memory is not deep."""
    levels, count = [], segments(depth) if depth > DEEPEST_WORD_DEPTH else 1
    while count > 1:
        levels.append(count)
        count = math.ceil(count / SEGMENT_MUX_RADIX)
    return levels


def block_rams(width: int, depth: int) -> int:
    """DP16KD blocks for a ``width``-bit, ``depth``-word memory."""
    if depth > DEEPEST_WORD_DEPTH:
        return width * math.ceil(segments(depth) / SEGMENTS_PER_BLOCK)
    return math.ceil(width / block_ram_width(depth))


def segment_mux(bits: int, depth: int) -> Resources:
    """The segment muxes of a deep ROM (``roms.read_rom``) with ``bits`` varying bits:
    Yosys makes a 3:1 or 4:1 mux of four LUT4 passing their inputs to two PFUMX and an
    L6MUX21, a 2:1 of one LUT4; each level but the last registered, and each segment's
    bit registered before it in its block's output register. Each bit's first level picks by about
    ``DEEP_READ_STAGES`` registers a block (a copy beside it, and the tree before),
    each later level by a register a cycle of its own."""
    levels = segment_mux_levels(depth)
    luts = sum(4 * (count // SEGMENT_MUX_RADIX) + (0, 0, 1, 4)[count % SEGMENT_MUX_RADIX] for count in levels)
    registered = sum(math.ceil(count / SEGMENT_MUX_RADIX) for count in levels[:-1])
    radix_bits = SEGMENT_MUX_RADIX.bit_length() - 1
    selects = radix_bits * (DEEP_READ_STAGES * math.ceil(segments(depth) / SEGMENTS_PER_BLOCK)
                            + sum(DEEP_READ_STAGES + level for level in range(1, len(levels)))) if levels else 0
    return Resources(lut4=bits * luts, ff=bits * (registered + selects))


def lut_ram(width: int, depth: int) -> Resources:
    """Distributed RAM (DPR16X4: 4 bits x 16 words each), and beyond 16 words a 2:1
    mux per further 16 words of each bit read (as for a ROM in LUTs; without the muxes
    the vector buffers of the auto-folded mnist-mlp-bnn were a third of Yosys's count)."""
    sixteens = math.ceil(depth / 16)
    return Resources(lut4=LUT_RAM_LUTS * math.ceil(width / 4) * sixteens + width * (sixteens - 1))


def credit_queue(width: int, depth: int) -> Resources:
    """A ``CreditQueue``: its slots, the registered push, and a write enable and two slot
    addresses per column slice."""
    slices = math.ceil(width / QUEUE_SLICE_BITS)
    return lut_ram(width, depth) + Resources(lut4=CONTROL_LUTS,
                                             ff=width + (2 * slices + 2) * math.ceil(math.log2(depth + 1)) + slices)
