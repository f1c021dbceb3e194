"""Per-channel combinational units: one beat of ``pe`` lanes in, one out, same cycle."""
import numpy as np
from amaranth.hdl import Const, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..packing import pack


class ChannelUnit(wiring.Component):
    """Maps ``pe`` signed input lanes to ``pe`` output lanes with per-channel constants.

    Beat ``nf`` of a vector carries channels ``nf * pe .. nf * pe + pe - 1``;
    a fold counter tracks which. The unit is combinational: a beat passes
    straight through, so its latency is 0. Subclasses define ``lane``.
    """

    def __init__(self, *, channels: int, pe: int, in_width: int, out_width: int):
        if not isinstance(pe, int) or pe < 1 or channels % pe:
            raise ValueError(f"pe ({pe!r}) must be a positive divisor of the {channels} channels")
        self._channels = channels
        self._pe = pe
        self._in_width = in_width
        self._out_width = out_width
        super().__init__({
            "i": In(stream.Signature(pe * in_width)),
            "o": Out(stream.Signature(pe * out_width)),
        })

    @property
    def cycles_per_vector(self) -> int:
        return self._channels // self._pe

    @property
    def latency(self) -> int:
        return 0

    def lane(self, value: Value, table) -> Value:
        """Output of one lane for input ``value``; ``table(array, width)`` gives this
        lane's entry of a per-channel array for the current beat."""
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        pe, folds = self._pe, self.cycles_per_vector
        fold = Signal(range(folds))
        for p in range(pe):
            def table(values, width, p=p):
                # A constant vector indexed with word_select emits a plain shift,
                # which every simulator evaluates from time 0 (Icarus leaves the
                # case statement an Array lookup becomes at X until its index changes).
                column = np.asarray(values).reshape(folds, pe)[:, p]
                return Const(pack(column, width), width * folds).word_select(fold, width)
            value = self.i.payload.word_select(p, self._in_width).as_signed()
            m.d.comb += self.o.payload.word_select(p, self._out_width).eq(self.lane(value, table))
        m.d.comb += [self.o.valid.eq(self.i.valid), self.i.ready.eq(self.o.ready)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += fold.eq(Mux(fold == folds - 1, 0, fold + 1))
        return m
