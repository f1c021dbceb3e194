"""Bias, rounding shift and clamp: wide accumulators back to narrow activations."""
import numpy as np
from amaranth.hdl import Module, Mux, Signal, Value

from ..ir import Integer
from .channel_unit import ChannelUnit
from .cost import Resources, adder_luts, carry_luts


class RequantizeUnit(ChannelUnit):
    """The IR's ``Requantize`` on ``per_beat`` lanes per beat: ``clamp((x + bias + r) >> shift, lo, hi)``.

    The shift is a constant, so it is wiring; adding the bias and the
    rounding constant, then comparing against the two bounds, are the only
    logic, with a register between them. No multiplier.

    Parameters
    ----------
    bias : numpy int array, shape ``(channels,)``
    shift, rounding, low, high : int
        As in :class:`~hwgen.ir.Requantize`.
    acc_width : int
        Width of the signed input lanes.
    out_type : :class:`~hwgen.ir.Integer`
    per_beat : int
        Lanes per beat; divides ``channels``.
    tables_in_block_ram : bool
        Where the biases' ROM goes (see :class:`~.channel_unit.ChannelUnit`).
    """

    lane_stages = 1

    def __init__(self, bias: np.ndarray, *, shift: int, rounding: int, low: int, high: int,
                 acc_width: int, out_type: Integer, per_beat: int, tables_in_block_ram: bool = False):
        self._bias = np.asarray(bias, dtype=np.int64)
        self._shift = shift
        self._rounding = rounding
        self._low = low
        self._high = high
        super().__init__(channels=len(self._bias), per_beat=per_beat, in_width=acc_width, out_width=out_type.bits,
                         tables_in_block_ram=tables_in_block_ram)

    def tables(self):
        bias_width = Integer.for_range(min(0, int(self._bias.min())), max(0, int(self._bias.max()))).bits + 1
        return [(self._bias, bias_width)]

    def lane_cost(self) -> Resources:
        # Bias add (registered); the clamp's two compares and muxes where it can act.
        wide = self._in_width + 1
        clamps = self._out_width < wide - self._shift
        return Resources(lut4=adder_luts(wide) + clamps * (2 * carry_luts(wide) + 2 * self._out_width), ff=wide)

    def lane(self, m: Module, values: list[Value], entries: list[Value], name: str) -> Value:
        (value,), (bias,) = values, entries
        biased = value + bias.as_signed() + self._rounding
        shifted = Signal(biased.shape(), name=f"{name}shifted")
        m.d.sync += shifted.eq(biased >> self._shift)     # arithmetic: biased is signed
        return Mux(shifted < self._low, self._low, Mux(shifted > self._high, self._high, shifted))
