"""Where the weight ROMs go: block RAM (DP16KD) or LUTs.

A ROM of ``depth`` words costs about ``width * ceil(depth / 16)`` LUT4 in
logic (a LUT4 holds 16 bits), or ``ceil(width / ports)`` DP16KD blocks,
``ports`` the widest word a block gives at that depth. Moving a deeper ROM
saves more LUTs per block, so ROMs go to block RAM deepest first while the
budget of blocks lasts (on digits-bnn this took 1,163 LUT4 off the
design for 27 of the LFE5U-85F's 208 blocks; BENCHMARKS.md).
"""
import math

# The LFE5U-85F, hwgen's default part.
DEFAULT_BLOCK_RAMS = 208
# DP16KD word widths by depth: 512x36, 1Kx18, 2Kx9, 4Kx4, 8Kx2, 16Kx1.
BLOCK_RAM_WIDTHS = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))


def block_rams(width: int, depth: int) -> int:
    """DP16KD blocks for a ``width``-bit, ``depth``-word ROM."""
    for max_depth, widest in BLOCK_RAM_WIDTHS:
        if depth <= max_depth:
            return math.ceil(width / widest)
    return width * math.ceil(depth / 16384)


def place_roms(shapes: list[tuple[int, int] | None], budget: int = DEFAULT_BLOCK_RAMS) -> list[bool]:
    """For each ROM ``(width, depth)`` (None: no ROM): whether it goes into block RAM,
    deepest first while ``budget`` blocks last."""
    in_block, left = [False] * len(shapes), budget
    roms = [k for k, shape in enumerate(shapes) if shape is not None]
    for index in sorted(roms, key=lambda k: -shapes[k][1]):
        need = block_rams(*shapes[index])
        if need <= left:
            in_block[index], left = True, left - need
    return in_block
