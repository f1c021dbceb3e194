"""Where the weight ROMs go: block RAM (DP16KD) or LUTs.

A ROM of ``depth`` words costs about ``width * ceil(depth / 16)`` LUT4 in
logic (a LUT4 holds 16 bits), or ``ceil(width / ports)`` DP16KD blocks,
``ports`` the widest word a block gives at that depth. Moving a deeper ROM
saves more LUTs per block, so ROMs go to block RAM deepest first while the
budget of blocks lasts (on digits-bnn this took 1,163 LUT4 off the
design for 27 of the LFE5U-85F's 208 blocks; BENCHMARKS.md).
"""
from .cost import LFE5U_85F, block_rams

DEFAULT_BLOCK_RAMS = LFE5U_85F.dp16kd


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
