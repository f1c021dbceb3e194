"""Per-channel thresholds: signed accumulators in, bipolar bits out."""
import numpy as np
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..packing import pack


class ThresholdUnit(wiring.Component):
    """Compares ``pe`` accumulator lanes per beat with their channels' thresholds.

    Beat ``nf`` of a vector carries channels ``nf * pe .. nf * pe + pe - 1``.
    Output bit ``p`` is 1 (+1) when ``acc >= t`` for an ascending channel or
    ``acc <= t`` for a descending one, the IR's ``Threshold`` semantics. The
    unit is combinational: a beat passes straight through.

    Parameters
    ----------
    thresholds : numpy int array, shape ``(channels,)``
    descending : numpy bool array, shape ``(channels,)``
    acc_width : int
        Width of the signed input lanes.
    pe : int
        Lanes per beat; divides ``channels``.
    """

    def __init__(self, thresholds: np.ndarray, descending: np.ndarray, *, acc_width: int, pe: int):
        channels = len(thresholds)
        if not isinstance(pe, int) or pe < 1 or channels % pe:
            raise ValueError(f"pe ({pe!r}) must be a positive divisor of the {channels} channels")
        self._thresholds = np.asarray(thresholds, dtype=np.int64)
        self._descending = np.asarray(descending, dtype=bool)
        self._acc_width = acc_width
        self._pe = pe
        super().__init__({
            "i": In(stream.Signature(pe * acc_width)),
            "o": Out(stream.Signature(pe)),
        })

    @property
    def cycles_per_vector(self) -> int:
        return len(self._thresholds) // self._pe

    @property
    def latency(self) -> int:
        return 0

    def elaborate(self, platform):
        m = Module()
        pe, folds = self._pe, self.cycles_per_vector
        fold = Signal(range(folds))
        # Thresholds may lie one past the accumulator's range (a constant channel).
        compare = signed(self._acc_width + 1)
        table_t = self._thresholds.reshape(folds, pe)
        table_d = self._descending.reshape(folds, pe)
        # Tables as constant vectors indexed with word_select: that emits a plain
        # shift, which every simulator evaluates from time 0 (Icarus leaves the
        # case statement an Array lookup becomes at X until its index changes).
        for p in range(pe):
            threshold = _table(table_t[:, p], compare.width).word_select(fold, compare.width).as_signed()
            descending = _table(table_d[:, p], 1).word_select(fold, 1)
            acc = self.i.payload.word_select(p, self._acc_width).as_signed()
            m.d.comb += self.o.payload[p].eq(Mux(descending, acc <= threshold, acc >= threshold))
        m.d.comb += [self.o.valid.eq(self.i.valid), self.i.ready.eq(self.o.ready)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += fold.eq(Mux(fold == folds - 1, 0, fold + 1))
        return m


def _table(values, width: int) -> Const:
    """Integers packed into one constant, entry k at bits [k*width, (k+1)*width)."""
    return Const(pack(values, width), width * len(values))
