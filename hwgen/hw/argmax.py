"""Streaming argmax over folded logits."""
from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import Integer


class ArgmaxUnit(wiring.Component):
    """Index of the largest of ``classes`` signed logits arriving ``pe`` per beat.

    On a tie the lowest index wins, as ``numpy.argmax`` does: lanes are
    compared with a strict ``>`` from the left, and a later beat replaces
    the running best only when strictly larger. One output beat per vector.

    Parameters
    ----------
    classes : int
    acc_width : int
        Width of the signed logit lanes.
    pe : int
        Lanes per beat; divides ``classes``.
    """

    def __init__(self, *, classes: int, acc_width: int, pe: int):
        if not isinstance(pe, int) or pe < 1 or classes % pe:
            raise ValueError(f"pe ({pe!r}) must be a positive divisor of the {classes} classes")
        self._classes = classes
        self._acc_width = acc_width
        self._pe = pe
        super().__init__({
            "i": In(stream.Signature(pe * acc_width)),
            "o": Out(stream.Signature(self.index_width)),
        })

    @property
    def index_width(self) -> int:
        return Integer.for_range(0, self._classes - 1).bits

    @property
    def cycles_per_vector(self) -> int:
        return self._classes // self._pe

    @property
    def latency(self) -> int:
        """Cycles from a vector's last input beat to its output beat."""
        return 1

    def elaborate(self, platform):
        m = Module()
        folds = self.cycles_per_vector
        fold = Signal(range(folds))
        best_value = Signal(signed(self._acc_width))
        best_index = Signal(self.index_width)

        # Reduce the beat's lanes pairwise; the left one wins ties.
        candidates = [(self.i.payload.word_select(p, self._acc_width).as_signed(), fold * self._pe + p)
                      for p in range(self._pe)]
        while len(candidates) > 1:
            merged = []
            for (lv, li), (rv, ri) in zip(candidates[0::2], candidates[1::2]):
                right_wins = rv > lv
                merged.append((Mux(right_wins, rv, lv), Mux(right_wins, ri, li)))
            candidates = merged + candidates[len(merged) * 2:]
        beat_value, beat_index = candidates[0]
        take = (fold == 0) | (beat_value > best_value)

        last = fold == folds - 1
        m.d.comb += self.i.ready.eq(~last | ~self.o.valid | self.o.ready)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            with m.If(take):
                m.d.sync += [best_value.eq(beat_value), best_index.eq(beat_index)]
            with m.If(last):
                m.d.sync += [fold.eq(0), self.o.valid.eq(1),
                             self.o.payload.eq(Mux(take, beat_index, best_index))]
            with m.Else():
                m.d.sync += fold.eq(fold + 1)
        return m
