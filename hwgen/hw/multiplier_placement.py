"""Which shift layers multiply on MULT18X18D instead of barrel shifting in LUTs.

On an LFE5U-85F a barrel-shift lane of DeepShift's 5-bit weights costs about
100 LUT4, the same lane on a multiplier about 27 LUT4 and one MULT18X18D, and
a LUT multiplier about 190 LUT4 (BENCHMARKS.md). Multipliers are worth taking
while they last: layers go to them in order of LUT4 saved per multiplier,
as long as the part's budget holds them all.
"""


def place_multipliers(options: dict[str, tuple[int, int]], budget: int) -> set[str]:
    """``options`` maps a layer to (LUT4 saved on multipliers, MULT18X18D it needs);
    returns the layers that get them."""
    chosen, left = set(), budget
    worthwhile = [(saved / needed, name, needed) for name, (saved, needed) in options.items()
                  if saved > 0 and needed > 0]
    for _, name, needed in sorted(worthwhile, reverse=True):
        if needed <= left:
            chosen.add(name)
            left -= needed
    return chosen
