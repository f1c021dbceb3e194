"""Streaming argmax over folded logits."""
from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import Integer
from .cost import CONTROL_LUTS, Resources, carry_luts, credit_queue
from .pipeline import QUEUE_LATENCY, CreditQueue, delayed, queue_depth, register


class ArgmaxUnit(wiring.Component):
    """Index of the largest of ``classes`` signed logits arriving ``pe`` per beat.

    On a tie the lowest index wins, as ``numpy.argmax`` does: lanes are
    compared with a strict ``>`` from the left, and a later beat replaces
    the running best only when strictly larger. The beat is registered, its
    lanes reduced pairwise with a register after each level, and the beat's
    winner compared with the running best; one output beat per vector
    leaves through a credit queue. With ``logits``, the output beat also
    carries every class's logit (class ``k`` at bits ``index_width + k *
    acc_width``), so that a testbench can score every bit, not just the index.

    Parameters
    ----------
    classes : int
    acc_width : int
        Width of the signed logit lanes.
    pe : int
        Lanes per beat; divides ``classes``.
    logits : bool
        Whether the output beat carries the logits after the index.
    """

    def __init__(self, *, classes: int, acc_width: int, pe: int, logits: bool = False):
        if not isinstance(pe, int) or pe < 1 or classes % pe:
            raise ValueError(f"pe ({pe!r}) must be a positive divisor of the {classes} classes")
        self._classes = classes
        self._acc_width = acc_width
        self._pe = pe
        self._logits = logits
        super().__init__({
            "i": In(stream.Signature(pe * acc_width)),
            "o": Out(stream.Signature(sum(width for width, _ in self.output_fields))),
        })

    @property
    def index_width(self) -> int:
        return Integer.for_range(0, self._classes - 1).bits

    @property
    def output_fields(self) -> list[tuple[int, bool]]:
        """The output beat's fields from bit 0 up, as (width, signed): the index, then any logits."""
        return [(self.index_width, False)] + [(self._acc_width, True)] * (self._classes * self._logits)

    @property
    def cycles_per_vector(self) -> int:
        return self._classes // self._pe

    @property
    def reduce_levels(self) -> int:
        """Pairwise levels that reduce a beat's lanes to one, each registered."""
        return (self._pe - 1).bit_length()

    @property
    def latency(self) -> int:
        """Cycles from a vector's last input beat to its output beat: the input
        register, the reduction, the compare with the running best (registered),
        the output queue."""
        return 1 + self.reduce_levels + 1 + QUEUE_LATENCY

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 and FF (see :mod:`~hwgen.hw.cost`): a compare and two muxes
        per merge (pe - 1 in the tree, one against the running best), registers, the queue."""
        acc, index = self._acc_width, self.index_width
        merge = Resources(lut4=carry_luts(acc) + acc + index, ff=acc + index)
        logits = Resources(ff=(1 + self.reduce_levels) * self._classes * acc * self._logits)
        queue = credit_queue(len(self.o.payload), queue_depth(self.latency - QUEUE_LATENCY, self.cycles_per_vector))
        return (merge * self._pe + logits + queue
                + Resources(lut4=CONTROL_LUTS, ff=self._pe * acc + len(self.o.payload)))

    def elaborate(self, platform):
        m = Module()
        folds = self.cycles_per_vector
        to_queue = self.latency - QUEUE_LATENCY
        at_compare = to_queue - 1
        m.submodules.queue = queue = CreditQueue(width=len(self.o.payload), latency=to_queue,
                                                 interval=folds)
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        fold = Signal(range(folds))
        last_fold = fold == folds - 1
        accept = self.i.valid & self.i.ready
        m.d.comb += [self.i.ready.eq(~last_fold | queue.free), queue.reserve.eq(accept & last_fold)]
        with m.If(accept):
            m.d.sync += fold.eq(Mux(last_fold, 0, fold + 1))

        beat = Signal.like(self.i.payload, name="beat")
        base = Signal(self.index_width, name="base")   # the index of the beat's lane 0
        m.d.sync += [beat.eq(self.i.payload), base.eq(fold * self._pe)]
        candidates = [(beat.word_select(p, self._acc_width).as_signed(), base + p)
                      for p in range(self._pe)]
        for level in range(self.reduce_levels):
            merged = []
            for (lv, li), (rv, ri) in zip(candidates[0::2], candidates[1::2]):
                right_wins = rv > lv   # the left one wins ties
                merged.append((Mux(right_wins, rv, lv), Mux(right_wins, ri, li)))
            merged += candidates[len(merged) * 2:]
            values = register(m, [v for v, _ in merged], f"value{level}_")
            indices = register(m, [i for _, i in merged], f"index{level}_")
            candidates = list(zip(values, indices))
        (beat_value, beat_index), = candidates

        valid = delayed(m, accept, at_compare, "valid")
        first = delayed(m, fold == 0, at_compare, "first")
        last = delayed(m, last_fold, at_compare, "last")
        best_value = Signal(signed(self._acc_width))
        best_index = Signal(self.index_width)
        take = first | (beat_value > best_value)
        with m.If(valid & take):
            m.d.sync += [best_value.eq(beat_value), best_index.eq(beat_index)]
        index = Mux(take, beat_index, best_index)[:self.index_width]
        # The result is registered before the queue, which writes it into LUT RAM.
        m.d.sync += queue.push.valid.eq(valid & last)
        if self._logits:
            # Beats shift in from the top, so after the last one class k sits at lane k.
            logits = Signal(self._classes * self._acc_width)
            stored = Cat(logits[len(beat):], beat) if len(beat) < len(logits) else beat
            with m.If(delayed(m, accept, 1, "beat_valid")):
                m.d.sync += logits.eq(stored)
            # The last beat's vector, held while the lanes are reduced.
            m.d.sync += queue.push.payload.eq(Cat(index, delayed(m, stored, self.reduce_levels, "logits")))
        else:
            m.d.sync += queue.push.payload.eq(index)
        return m
