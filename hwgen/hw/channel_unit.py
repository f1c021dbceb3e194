"""Per-channel units: one beat of ``per_beat`` lanes in, one out, through a short pipeline."""
import numpy as np
from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .cost import CONTROL_LUTS, Resources, credit_queue, rom, varying_bits
from .pipeline import QUEUE_LATENCY, CreditQueue, delayed, lookup, offers_after, queue_depth


class ChannelUnit(wiring.Component):
    """Maps ``per_beat`` signed input lanes to ``per_beat`` output lanes with per-channel constants.

    Beat ``nf`` of a vector carries channels ``nf * per_beat .. nf * per_beat + per_beat - 1``;
    a fold counter tracks which. Stages 0 and 1 carry the beat while each
    lane's constants for its channel are read and registered again (a deep
    table is a block RAM, whose data comes late after the clock unless its
    own output register holds it: ``hwgen synth`` moves the second register
    there); subclasses define the lane's logic
    (``lane``), the constants it needs (``tables``) and the registers inside
    it (``lane_stages``). Results leave through a credit queue.
    """

    def __init__(self, *, channels: int, per_beat: int, in_width: int, out_width: int):
        if not isinstance(per_beat, int) or per_beat < 1 or channels % per_beat:
            raise ValueError(f"per_beat ({per_beat!r}) must be a positive divisor of the {channels} channels")
        self._channels = channels
        self._per_beat = per_beat
        self._in_width = in_width
        self._out_width = out_width
        super().__init__({
            "i": In(stream.Signature(per_beat * in_width)),
            "o": Out(stream.Signature(per_beat * out_width)),
        })

    @property
    def cycles_per_vector(self) -> int:
        return self._channels // self._per_beat

    lane_stages = 0
    READ_STAGES = 2

    @property
    def latency(self) -> int:
        """Cycles from an input beat to its output beat."""
        return self.READ_STAGES + self.lane_stages + QUEUE_LATENCY

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Output offer cycles from input offer cycles (see :func:`~.pipeline.offers_after`)."""
        return offers_after(arrivals, range(len(arrivals)), self.latency)

    def lane_cost(self) -> Resources:
        """One lane's logic, tables aside."""
        raise NotImplementedError

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 and FF (see :mod:`~hwgen.hw.cost`): lanes, their tables, the queue."""
        folds, total = self.cycles_per_vector, Resources(lut4=CONTROL_LUTS)
        for p in range(self._per_beat):
            total += self.lane_cost() + Resources(ff=self.READ_STAGES * self._in_width)
            for values, width in self.tables():
                column = np.asarray(values).reshape(folds, self._per_beat)[:, p]
                bits = varying_bits(column[:, None], width)
                total += rom(bits, folds, False) + Resources(ff=bits)
        return total + credit_queue(self._per_beat * self._out_width, queue_depth(self.READ_STAGES + self.lane_stages))

    def tables(self) -> list[tuple[np.ndarray, int]]:
        """The per-channel constants a lane needs, each as (values per channel, bit width)."""
        raise NotImplementedError

    def lane(self, m: Module, value: Value, entries: list[Value], name: str) -> Value:
        """Output of one lane for the signed input ``value``, given this channel's
        ``entries`` of ``tables()``; registers exactly ``lane_stages`` times."""
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        per_beat, folds = self._per_beat, self.cycles_per_vector
        to_queue = self.READ_STAGES + self.lane_stages
        m.submodules.queue = queue = CreditQueue(width=per_beat * self._out_width, latency=to_queue)
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        accept = self.i.valid & self.i.ready
        m.d.comb += [self.i.ready.eq(queue.free), queue.reserve.eq(accept)]
        fold = Signal(range(folds))
        with m.If(accept):
            m.d.sync += fold.eq(Mux(fold == folds - 1, 0, fold + 1))

        outputs = []
        for p in range(per_beat):
            beat = Signal(self._in_width, name=f"in{p}")
            value = Signal(self._in_width, name=f"in{p}_read")
            m.d.sync += [beat.eq(self.i.payload.word_select(p, self._in_width)), value.eq(beat)]
            entries = []
            for k, (values, width) in enumerate(self.tables()):
                column = np.asarray(values).reshape(folds, per_beat)[:, p]
                # Without reset, so that synthesis can make them a block RAM's read and
                # output registers; no beat meets them before they hold its channel's entry.
                read = Signal(width, name=f"table{k}_{p}_read", reset_less=True)
                entry = Signal(width, name=f"table{k}_{p}", reset_less=True)
                m.d.sync += [read.eq(lookup(column, fold, width)), entry.eq(read)]
                entries.append(entry)
            output = Signal(self._out_width, name=f"out{p}")
            m.d.comb += output.eq(self.lane(m, value.as_signed(), entries, name=f"lane{p}_"))
            outputs.append(output)
        m.d.comb += [
            queue.push.valid.eq(delayed(m, accept, to_queue, "valid")),
            queue.push.payload.eq(Cat(*outputs)),
        ]
        return m
