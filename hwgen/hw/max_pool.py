"""Streaming max-pool over non-overlapping blocks, for bipolar and integer images."""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import ElementType, Integer
from .cost import CONTROL_LUTS, Resources, carry_luts, credit_queue
from .constant_product import times
from .pipeline import QUEUE_LATENCY, CreditQueue, less_than, offers_after, queue_depth, registered_ready


# Cycles from a beat's acceptance to its merged value in the register the queue takes.
MERGED_AT = 3


class MaxPoolUnit(wiring.Component):
    """The IR's ``MaxPool``: ``kernel x kernel`` blocks of a raster-order HWC image.

    One row of partial maxima (``width / kernel`` pixels) lives in
    registers. Each input beat is registered with its entry's index; its
    entry is read into a register; the beat is merged into the entry and
    written back, and the block's last beat leaves through a credit queue as
    the block's maximum, registered first (see :mod:`~hwgen.hw.pipeline`).
    Reading and merging in one cycle (a mux over the whole row, a compare,
    a write back) made a 93 MHz unit on its own; writing back straight from
    the merge, 136 MHz (its fan-out to the row). A beat whose entry one of the
    two beats ahead of it has yet to write when it reads takes that beat's
    merged value instead.
    Bipolar bits compare as unsigned, so their max is the OR the IR asks for.

    Parameters
    ----------
    in_type : :class:`~hwgen.ir.Bipolar` or :class:`~hwgen.ir.Integer`
    shape : (height, width, channels)
    kernel : int
        Divides height and width.
    per_beat : int
        Channels per beat; divides ``channels``.
    """

    def __init__(self, *, in_type: ElementType, shape: tuple[int, int, int], kernel: int, per_beat: int):
        height, width, channels = shape
        if height % kernel or width % kernel:
            raise ValueError(f"kernel ({kernel}) must divide the {height}x{width} image")
        if not isinstance(per_beat, int) or per_beat < 1 or channels % per_beat:
            raise ValueError(f"per_beat ({per_beat!r}) must be a positive divisor of the {channels} channels")
        self._in_type = in_type
        self._shape = shape
        self._kernel = kernel
        self._per_beat = per_beat
        super().__init__({
            "i": In(stream.Signature(per_beat * in_type.width)),
            "o": Out(stream.Signature(per_beat * in_type.width)),
        })

    @property
    def cycles_per_image(self) -> int:
        """Input beats per image (every input beat takes a cycle)."""
        height, width, channels = self._shape
        return height * width * channels // self._per_beat

    @property
    def latency(self) -> int:
        """Cycles from a block's last input beat to its output beat: the input
        register, the read register, the merged register, the output queue."""
        return MERGED_AT + QUEUE_LATENCY

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Output offer cycles from input offer cycles (see :func:`~.pipeline.offers_after`):
        a block's maximum follows the beat of its bottom-right pixel."""
        height, width, channels = self._shape
        k, beats = self._kernel, channels // self._per_beat
        last_beats = [(y * width + x) * beats + cb for y in range(k - 1, height, k)
                      for x in range(k - 1, width, k) for cb in range(beats)]
        return offers_after(arrivals, last_beats, self.latency)

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 and FF (see :mod:`~hwgen.hw.cost`): a row of partial maxima
        in flip-flops, read through a mux, and a compare per lane."""
        _, width, channels = self._shape
        beat_width = self._per_beat * self._in_type.width
        slots = (width // self._kernel) * (channels // self._per_beat)
        compare = carry_luts(self._in_type.width) + self._in_type.width
        return (Resources(lut4=CONTROL_LUTS + beat_width * slots + self._per_beat * compare,
                          ff=slots * beat_width + 4 * beat_width + 16)
                + credit_queue(beat_width, queue_depth(MERGED_AT)))

    def elaborate(self, platform):
        m = Module()
        _, width, channels = self._shape
        k, lanes, element = self._kernel, self._per_beat, self._in_type.width
        beats = channels // lanes
        beat_width = lanes * element
        partial = Signal((width // k) * beats * beat_width)
        m.submodules.queue = queue = CreditQueue(width=beat_width, latency=MERGED_AT)
        wiring.connect(m, queue.o, wiring.flipped(self.o))

        cb, dx, ox, dy = Signal(range(beats)), Signal(range(k)), Signal(range(width // k)), Signal(range(k))
        following, carry = [], 1   # each counter after an accepted beat
        for counter, limit in [(cb, beats), (dx, k), (ox, width // k), (dy, k)]:
            wraps = counter == limit - 1
            following.append(Mux(carry, Mux(wraps, 0, counter + 1), counter))
            carry = carry & wraps
        next_cb, next_dx, next_ox, next_dy = following
        # Whether the next beat is a block's last: a register, and `ready` one too (see
        # `registered_ready`), as in the argmax.
        last_in = Signal(init=k == 1)
        ready, accept = registered_ready(m, queue, self.i.valid, last_in,
                                         (next_dx == k - 1) & (next_dy == k - 1))
        m.d.comb += self.i.ready.eq(ready)
        with m.If(accept):
            m.d.sync += [cb.eq(next_cb), dx.eq(next_dx), ox.eq(next_ox), dy.eq(next_dy)]

        # Stage 0 registers the beat and where it goes; stage 1 holds its entry as read
        # then, and merges; stage 2 writes the merged beat back and offers it to the queue.
        beat, valid = Signal(beat_width), Signal()
        first, last, index = Signal(), Signal(), Signal(range((width // k) * beats))
        m.d.sync += [
            beat.eq(self.i.payload), valid.eq(accept), first.eq((dx == 0) & (dy == 0)), last.eq(last_in),
            index.eq(times(ox, beats) + cb),
        ]
        beat1, valid1, first1, last1 = Signal.like(beat), Signal(), Signal(), Signal()
        index1, read1 = Signal.like(index), Signal(beat_width)
        valid2, last2, index2 = Signal(), Signal(), Signal.like(index)
        merged, merged2, merged3 = Signal(beat_width), Signal(beat_width), Signal(beat_width)
        # Whether the beats now in stages 1 and 2 write this entry after it is read.
        after_next, after_this = Signal(), Signal()
        m.d.sync += [
            beat1.eq(beat), valid1.eq(valid), first1.eq(first), last1.eq(last), index1.eq(index),
            read1.eq(partial.word_select(index, beat_width)),
            after_next.eq(valid1 & (index1 == index)), after_this.eq(valid2 & (index2 == index)),
            valid2.eq(valid1), last2.eq(last1), index2.eq(index1), merged2.eq(merged), merged3.eq(merged2),
        ]
        old_entry = Mux(after_next, merged2, Mux(after_this, merged3, read1))
        signed = isinstance(self._in_type, Integer) and self._in_type.signed
        for lane in range(lanes):
            new, old = beat1.word_select(lane, element), old_entry.word_select(lane, element)
            if signed:
                new, old = new.as_signed(), old.as_signed()
            m.d.comb += merged.word_select(lane, element).eq(Mux(first1 | less_than(old, new), new, old))
        with m.If(valid2):
            m.d.sync += partial.word_select(index2, beat_width).eq(merged2)
        m.d.comb += [queue.push.valid.eq(valid2 & last2), queue.push.payload.eq(merged2)]
        return m
