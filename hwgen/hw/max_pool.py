"""Streaming max-pool over non-overlapping blocks, for bipolar and integer images."""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import ElementType, Integer
from .cost import CONTROL_LUTS, Resources, carry_luts, credit_queue
from .pipeline import QUEUE_LATENCY, CreditQueue, offers_after, queue_depth


class MaxPoolUnit(wiring.Component):
    """The IR's ``MaxPool``: ``kernel x kernel`` blocks of a raster-order HWC image.

    One row of partial maxima (``width / kernel`` pixels) lives in
    registers; each input beat is registered, then merged into its block's
    entry, and the block's last beat leaves through a credit queue as the
    block's maximum (see :mod:`~hwgen.hw.pipeline`).
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
        register, the merge, the output queue."""
        return 1 + QUEUE_LATENCY

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
        return (Resources(lut4=CONTROL_LUTS + beat_width * (slots - 1) + self._per_beat * compare,
                          ff=slots * beat_width + beat_width + 16)
                + credit_queue(beat_width, queue_depth(1)))

    def elaborate(self, platform):
        m = Module()
        _, width, channels = self._shape
        k, lanes, element = self._kernel, self._per_beat, self._in_type.width
        beats = channels // lanes
        beat_width = lanes * element
        partial = Signal((width // k) * beats * beat_width)
        m.submodules.queue = queue = CreditQueue(width=beat_width, latency=1)
        wiring.connect(m, queue.o, wiring.flipped(self.o))

        cb, dx, ox, dy = Signal(range(beats)), Signal(range(k)), Signal(range(width // k)), Signal(range(k))
        last_in = (dx == k - 1) & (dy == k - 1)
        accept = self.i.valid & self.i.ready
        m.d.comb += [self.i.ready.eq(~last_in | queue.free), queue.reserve.eq(accept & last_in)]
        with m.If(accept):
            carry = 1
            for counter, limit in [(cb, beats), (dx, k), (ox, width // k), (dy, k)]:
                wraps = counter == limit - 1
                with m.If(carry):
                    m.d.sync += counter.eq(Mux(wraps, 0, counter + 1))
                carry = carry & wraps

        # Stage 0 registers the beat and where it goes; stage 1 merges it into its block's
        # entry (read and written in the same stage, so back-to-back beats of a block chain).
        beat, valid = Signal(beat_width), Signal()
        first, last, index = Signal(), Signal(), Signal(range((width // k) * beats))
        m.d.sync += [
            beat.eq(self.i.payload), valid.eq(accept), first.eq((dx == 0) & (dy == 0)), last.eq(last_in),
            index.eq(ox * beats + cb),
        ]
        slot = partial.word_select(index, beat_width)
        signed = isinstance(self._in_type, Integer) and self._in_type.signed
        merged = Signal(beat_width)
        for lane in range(lanes):
            new, old = beat.word_select(lane, element), slot.word_select(lane, element)
            if signed:
                new, old = new.as_signed(), old.as_signed()
            m.d.comb += merged.word_select(lane, element).eq(Mux(first | (new > old), new, old))
        with m.If(valid):
            m.d.sync += slot.eq(merged)
        m.d.comb += [queue.push.valid.eq(valid & last), queue.push.payload.eq(merged)]
        return m
