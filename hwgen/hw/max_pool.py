"""Streaming max-pool over non-overlapping blocks, for bipolar and integer images."""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import ElementType, Integer
from .cost import CONTROL_LUTS, Resources, carry_luts, credit_queue
from .pipeline import (COPY_FANOUT, QUEUE_LATENCY, CreditQueue, less_than, offers_after, queue_depth, register_copies,
                       registered_ready)


# Cycles from a beat's acceptance to its merged value in the register the queue takes.
MERGED_AT = 3


def read_group(slots: int) -> int:
    """Entries the first level of the row's read mux picks among: the smallest power of
    two at or above the square root of ``slots``, so that both levels are about as deep."""
    return 1 << -(-(slots - 1).bit_length() // 2)


class MaxPoolUnit(wiring.Component):
    """The IR's ``MaxPool``: ``kernel x kernel`` blocks of a raster-order HWC image.

    One row of partial maxima (``width / kernel`` pixels) lives in
    registers. Each input beat is registered with its entry's index; its
    entry is read into a register; the beat is merged into the entry and
    written back, and the block's last beat leaves through a credit queue as
    the block's maximum, registered first (see :mod:`~hwgen.hw.pipeline`).
    Reading and merging in one cycle (a mux over the whole row, a compare,
    a write back) made a 93 MHz unit on its own; writing back straight from
    the merge, 136 MHz (its fan-out to the row). The read is two registered
    levels of mux: one level over mini-mnist-cnn's 112 entries was its worst
    path at 105 MHz (9.52 ns, 6.90 of it routing). The merged beat is registered
    beside the merge, then copied for the write back a cycle later. A beat whose
    entry one of the four beats ahead of it has yet to write when it reads takes
    that beat's merged value instead.
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
    def _slots(self) -> int:
        """Entries in the row of partial maxima: a beat's worth of channels per block column."""
        _, width, channels = self._shape
        return (width // self._kernel) * (channels // self._per_beat)

    @property
    def _read_groups(self) -> int:
        """Groups of entries that the first level of the read picks within."""
        return -(-self._slots // read_group(self._slots))

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 and FF (see :mod:`~hwgen.hw.cost`): a row of partial maxima
        in flip-flops, read through two levels of mux, written from a copy of the merged
        beat per group at enables decoded an entry each, and a compare per lane."""
        beat_width = self._per_beat * self._in_type.width
        slots, groups = self._slots, self._read_groups
        compare = carry_luts(self._in_type.width) + self._in_type.width
        chunks = -(-beat_width // COPY_FANOUT)
        copies = (groups - 1) * beat_width + 2 * groups * slots.bit_length() + slots * chunks + 4 * (chunks - 1)
        return (Resources(lut4=CONTROL_LUTS + beat_width * slots + slots + self._per_beat * compare,
                          ff=(slots + groups + 7) * beat_width + 20 + copies)
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

        # `slot` is the next beat's entry, ox * beats + cb, counted rather than computed:
        # it selects the first level of the entry's read, a copy for each group of entries
        # (one register's fan-out to the 112 entries' muxes was mini-mnist-cnn's worst path:
        # 8.82 ns, 7.01 routing).
        slots = self._slots
        group = read_group(slots)
        slot_copies = register_copies(Signal(range(slots)), self._read_groups, "slot")
        cb, dx, dy = Signal(range(beats), name="cb"), Signal(range(k), name="dx"), Signal(range(k), name="dy")
        slot = slot_copies[0]
        cb_wraps, dx_wraps, row_ends = cb == beats - 1, dx == k - 1, slot == slots - 1
        next_dx = Mux(cb_wraps, Mux(dx_wraps, 0, dx + 1), dx)
        next_dy = Mux(row_ends & dx_wraps, Mux(dy == k - 1, 0, dy + 1), dy)
        next_slot = Mux(cb_wraps & ~dx_wraps, slot - (beats - 1), Mux(row_ends & dx_wraps, 0, slot + 1))
        # Whether the next beat is a block's last: a register, and `ready` one too (see
        # `registered_ready`), as in the argmax.
        last_in = Signal(init=k == 1)
        ready, accept = registered_ready(m, queue, self.i.valid, last_in, (next_dx == k - 1) & (next_dy == k - 1))
        m.d.comb += self.i.ready.eq(ready)
        with m.If(accept):
            m.d.sync += [cb.eq(Mux(cb_wraps, 0, cb + 1)), dx.eq(next_dx), dy.eq(next_dy),
                         *(copy.eq(next_slot) for copy in slot_copies)]

        # Stage 0 registers the beat and where it goes; stage 1 holds its entry as read
        # then, and merges; stage 2 holds the merged beat and offers it to the queue, and
        # stage 3 writes it back. The read is a mux of two registered levels: the first
        # picks within each group of entries by `slot` as the beat is taken, the second
        # among the groups in stage 0.
        low_bits = group.bit_length() - 1
        picked = [Signal(beat_width, name=f"read_group{g}", reset_less=True) for g in range(len(slot_copies))]
        for g, (register, copy) in enumerate(zip(picked, slot_copies)):
            entries = Cat(partial.word_select(e, beat_width) for e in range(g * group, min(slots, (g + 1) * group)))
            m.d.sync += register.eq(entries.word_select(copy[:low_bits], beat_width) if low_bits else entries)
        # Every register is named: the timing report names a path by its registers.
        beat, valid = Signal(beat_width, name="beat"), Signal(name="valid")
        first, last, index = Signal(name="first"), Signal(name="last"), Signal(range(slots), name="index")
        m.d.sync += [beat.eq(self.i.payload), valid.eq(accept), first.eq((dx == 0) & (dy == 0)), last.eq(last_in),
                     index.eq(slot)]
        beat1, read1 = Signal(beat_width, name="beat1"), Signal(beat_width, name="read1")
        valid1, first1, last1 = Signal(name="valid1"), Signal(name="first1"), Signal(name="last1")
        valids = [valid1] + [Signal(name=f"valid{k}") for k in range(2, 5)]
        indices = [Signal.like(index, name=f"index{k}") for k in range(1, 5)]
        last2 = Signal(name="last2")
        merged, merged2 = Signal(beat_width, name="merged"), Signal(beat_width, name="merged2")
        merged4, merged5 = Signal(beat_width, name="merged4"), Signal(beat_width, name="merged5")
        # Stage 3 writes each group of entries from a copy of its own of the merged beat,
        # made from stage 2's register: from one register to all 112 entries was one of
        # mini-mnist-cnn's worst paths (6.52 ns of routing), and the copies made straight
        # from the merge, mnist-lenet-ternary's (8.47 and 11.28 ns, 9.0 of the latter
        # routing). Each entry's enable is a register per ``COPY_FANOUT`` bits, decoded in
        # stage 2 from a copy of the index per group: decoded in stage 3, an enable drove a
        # whole 64-bit entry, mnist-lenet-bnn's worst path (8.56 ns, 7.56 routing).
        groups = len(slot_copies)
        merged3s = register_copies(merged, groups, "merged3")
        index2s = register_copies(index, groups, "index2")
        chunks = range(0, beat_width, COPY_FANOUT)
        writes = [register_copies(Signal(), len(chunks), f"write{entry}") for entry in range(slots)]
        # Whether the beats now in stages 1, 2 and 3, and the one that left stage 3 as this
        # beat's first level was read, write this entry after it is read: a flag per
        # ``COPY_FANOUT`` bits of the forward mux (one for the whole beat, `after3` through
        # the mux and the compare to `merged2`, was mnist-lenet-ternary's worst path on one
        # placement, 9.88 ns, 7.47 routing).
        after = [register_copies(Signal(), len(chunks), f"after{k}") for k in range(4)]
        m.d.sync += [
            beat1.eq(beat), valid1.eq(valid), first1.eq(first), last1.eq(last), indices[0].eq(index),
            read1.eq(Cat(picked).word_select(index[low_bits:], beat_width) if len(picked) > 1 else picked[0]),
            *(flag.eq(v & (i == index)) for flags, v, i in zip(after, valids, indices) for flag in flags),
            *(later.eq(earlier) for later, earlier in zip(valids[1:], valids)),
            *(later.eq(earlier) for later, earlier in zip(indices[1:], indices)),
            last2.eq(last1), *(copy.eq(indices[0]) for copy in index2s),
            merged2.eq(merged), *(copy.eq(merged2) for copy in merged3s), merged4.eq(merged3s[0]),
            merged5.eq(merged4),
        ]
        valid2 = valids[1]
        for entry, copies in enumerate(writes):
            m.d.sync += [copy.eq(valid2 & (index2s[entry // group] == entry)) for copy in copies]
        old_entry = Signal(beat_width, name="old_entry")
        for c, low in enumerate(chunks):
            part = read1[low:low + COPY_FANOUT]
            for flags, forwarded in reversed(list(zip(after, (merged2, merged3s[0], merged4, merged5)))):
                part = Mux(flags[c], forwarded[low:low + COPY_FANOUT], part)
            m.d.comb += old_entry[low:low + COPY_FANOUT].eq(part)
        signed = isinstance(self._in_type, Integer) and self._in_type.signed
        for lane in range(lanes):
            new, old = beat1.word_select(lane, element), old_entry.word_select(lane, element)
            if signed:
                new, old = new.as_signed(), old.as_signed()
            m.d.comb += merged.word_select(lane, element).eq(Mux(first1 | less_than(old, new), new, old))
        for entry, copies in enumerate(writes):
            stored, merged_g = partial.word_select(entry, beat_width), merged3s[entry // group]
            for write, low in zip(copies, chunks):
                with m.If(write):
                    m.d.sync += stored[low:low + COPY_FANOUT].eq(merged_g[low:low + COPY_FANOUT])
        m.d.comb += [queue.push.valid.eq(valid2 & last2), queue.push.payload.eq(merged2)]
        return m
