"""Per-channel thresholds: signed accumulators in, bipolar bits or n-bit levels out."""
import numpy as np
from amaranth.hdl import Module, Value

from ..ir import Integer
from .channel_unit import ChannelUnit
from .cost import Resources, adder_luts, adder_tree, carry_luts
from .pipeline import adder_tree_plan, less_than, pipelined_adder_tree, register

# Compares (levels) one copy of a lane's input feeds. One register for 15 levels, each bit
# into 15 carry chains, was mnist-lenet-ternary's worst path on one placement: conv1's
# threshold unit, a lane's input → a compare, 9.02 ns (7.36 routing).
COMPARES_PER_INPUT_COPY = 4


class ThresholdUnit(ChannelUnit):
    """Compares ``per_beat`` accumulator lanes per beat with their channels' thresholds.

    With one threshold per channel, output bit ``p`` is 1 (+1) when ``acc >= t``
    for an ascending channel or ``acc <= t`` for a descending one: the IR's
    ``Threshold``. With ``levels`` thresholds per channel the output is ``low``
    plus the number reached: the IR's ``MultiThreshold``, whose compares run in
    parallel, are registered, then counted in a pipelined adder tree.

    Parameters
    ----------
    thresholds : numpy int array, shape ``(channels,)`` or ``(channels, levels)``
    descending : numpy bool array, shape ``(channels,)``
    acc_width : int
        Width of the signed input lanes.
    per_beat : int
        Lanes per beat; divides ``channels``.
    low : int
        The output with no threshold reached (0: a bipolar bit when there is one level).
    tables_in_block_ram : bool
        Where the thresholds' ROM goes (see :class:`~.channel_unit.ChannelUnit`).
    """

    def __init__(self, thresholds: np.ndarray, descending: np.ndarray, *, acc_width: int, per_beat: int,
                 low: int = 0, tables_in_block_ram: bool = False):
        thresholds = np.asarray(thresholds, dtype=np.int64)
        self._thresholds = thresholds.reshape(len(thresholds), -1)
        self._descending = np.asarray(descending, dtype=bool)
        self._low = low
        out_width = Integer.for_range(low, low + self.levels).bits
        super().__init__(channels=len(self._thresholds), per_beat=per_beat, in_width=acc_width,
                         out_width=out_width, tables_in_block_ram=tables_in_block_ram)

    @property
    def levels(self) -> int:
        return self._thresholds.shape[1]

    @property
    def count_plan(self) -> list[bool]:
        """The registers of the count's adder tree (none for one level: the bit is the count)."""
        return adder_tree_plan(self.levels, levels_done=0, levels_after=int(self._low != 0)) if self.levels > 1 else []

    @property
    def lane_stages(self) -> int:
        # The compares are registered: before they are counted, and with one level before
        # the queue (a block RAM's entry, the compare and the queue's write in one cycle
        # were the worst path of the auto-folded mnist-mlp-bnn at 40k and 25k images/s).
        return 1 + sum(self.count_plan)

    @property
    def input_copies(self) -> int:
        return -(-self.levels // COMPARES_PER_INPUT_COPY)

    def tables(self):
        # One compare serves both directions: acc <= t is acc < t + 1. Thresholds may
        # lie one past the accumulator's range (a constant level), and then one more.
        bounds = np.where(self._descending[:, None], self._thresholds + 1, self._thresholds)
        return [(bounds[:, k], self._in_width + 2) for k in range(self.levels)] + [(self._descending, 1)]

    def lane_cost(self) -> Resources:
        # A register per level, and with several levels one for the direction.
        compares = Resources(lut4=self.levels * (carry_luts(self._in_width + 2) + 1),
                             ff=self.levels + (self.levels > 1))
        if self.levels == 1:
            return compares + Resources(lut4=self._out_width * (self._low != 0))
        count = adder_tree(self.levels, 1, self.count_plan)
        return compares + count + Resources(lut4=adder_luts(self._out_width) * (self._low != 0))

    def lane(self, m: Module, values: list[Value], entries: list[Value], name: str) -> Value:
        *bounds, descending = entries
        if self.levels == 1:
            (reached,) = register(m, [less_than(values[0], bounds[0].as_signed()) ^ ~descending], f"{name}reached")
            return (reached + self._low)[:self._out_width] if self._low else reached
        # With several levels the direction applies after the register, in the count's first
        # adders' LUTs: a LUT after each compare's carry chain, and its route to the register,
        # was mnist-sfc-w2a2's worst path (6.93 ns).
        below = register(m, [less_than(values[k * len(values) // self.levels], bound.as_signed())
                             for k, bound in enumerate(bounds)], f"{name}below")
        (ascending,) = register(m, [~descending], f"{name}ascending")
        (count,) = pipelined_adder_tree(m, [[bit ^ ascending for bit in below]], self.count_plan,
                                        name=f"{name}count")
        return (count + self._low)[:self._out_width]
