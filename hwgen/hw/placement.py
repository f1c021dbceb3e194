"""Which layers get a scarce block: multipliers for shift layers, block RAM for vector buffers.

On an LFE5U-85F a barrel-shift lane of DeepShift's 5-bit weights costs about
100 LUT4, the same lane on a multiplier about 27 LUT4 and one MULT18X18D, and
a LUT multiplier about 190 LUT4 (BENCHMARKS.md). A vector buffer in block RAM
saves its LUT RAM and read muxes, at least 256 LUT4 a DP16KD (see
``cost.BLOCK_RAM_LUT4_WORTH``). Blocks are worth taking while they
last: layers get them in order of LUT4 saved per block, as long as the budget
holds all a layer needs.
"""


def place_by_saving(options: dict[str, tuple[int, int]], budget: int) -> set[str]:
    """``options`` maps a layer to (LUT4 saved on blocks, blocks it needs); returns the
    layers that get them."""
    chosen, left = set(), budget
    worthwhile = [(saved / needed, name, needed) for name, (saved, needed) in options.items()
                  if saved > 0 and needed > 0]
    for _, name, needed in sorted(worthwhile, reverse=True):
        if needed <= left:
            chosen.add(name)
            left -= needed
    return chosen
