"""Per-channel units: one beat of ``per_beat`` lanes in, one out, through a short pipeline."""
from functools import cached_property

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .cost import CONTROL_LUTS, Resources, credit_queue, distinct_columns, rom
from .pipeline import QUEUE_LATENCY, CreditQueue, delayed, delayed_copies, offers_after, queue_depth
from .roms import address_copies, address_registers, read_cycles, read_rom


class ChannelUnit(wiring.Component):
    """Maps ``per_beat`` signed input lanes to ``per_beat`` output lanes with per-channel constants.

    Beat ``nf`` of a vector carries channels ``nf * per_beat .. nf * per_beat + per_beat - 1``;
    a fold counter tracks which. The first stages (``read_stages``) carry the beat while the
    lanes' constants for their channels are read from one ROM (a word per
    beat; in block RAM where ``tables_in_block_ram``, in logic otherwise;
    a large one from copies of the fold counter) and
    registered again (a block RAM's data comes late after the clock unless its
    own output register holds it: ``hwgen synth`` moves the second register
    there); subclasses define the lane's logic
    (``lane``), the constants it needs (``tables``) and the registers inside
    it (``lane_stages``). Results leave through a credit queue.
    """

    def __init__(self, *, channels: int, per_beat: int, in_width: int, out_width: int,
                 tables_in_block_ram: bool = False):
        if not isinstance(per_beat, int) or per_beat < 1 or channels % per_beat:
            raise ValueError(f"per_beat ({per_beat!r}) must be a positive divisor of the {channels} channels")
        self._channels = channels
        self._per_beat = per_beat
        self._in_width = in_width
        self._out_width = out_width
        self._tables_in_block_ram = tables_in_block_ram
        super().__init__({
            "i": In(stream.Signature(per_beat * in_width)),
            "o": Out(stream.Signature(per_beat * out_width)),
        })

    @property
    def cycles_per_vector(self) -> int:
        return self._channels // self._per_beat

    lane_stages = 0
    # Copies of a lane's input register, each feeding a share of the lane's logic.
    input_copies = 1

    @property
    def table_address_copies(self) -> int:
        """Registers the tables' ROM address is copied into (see :func:`~.roms.address_copies`)."""
        shape = self.rom_shape
        return 1 if shape is None else address_copies(*shape, self._tables_in_block_ram)

    @property
    def table_stages(self) -> int:
        """Registers after the tables' read: a second (synthesis makes it a block RAM's
        output register), and for tables in block RAM a third, in the fabric: from the
        block's output register to a compare's carry chain was the worst path of the
        auto-folded mnist-mlp-bnn at 40k and 60k images/s (7.96 and 9.07 ns)."""
        return 1 + (self._tables_in_block_ram and self.rom_shape is not None)

    @property
    def read_stages(self) -> int:
        """Registers from the input beat to its lanes: the tables' read and registers."""
        shape = self.rom_shape
        reads = 1 if shape is None else read_cycles(self.table_address_copies, shape[1], self._tables_in_block_ram)
        return reads + self.table_stages

    @property
    def latency(self) -> int:
        """Cycles from an input beat to its output beat."""
        return self.read_stages + self.lane_stages + QUEUE_LATENCY

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Output offer cycles from input offer cycles (see :func:`~.pipeline.offers_after`)."""
        return offers_after(arrivals, range(len(arrivals)), self.latency)

    def lane_cost(self) -> Resources:
        """One lane's logic, tables aside."""
        raise NotImplementedError

    @cached_property
    def table_words(self) -> list[int]:
        """The tables' ROM: word ``nf`` holds, lane by lane, each table's entry for channel
        ``nf * per_beat + p``. (Kept: the estimate, the ROM placement and the build read it.)"""
        folds, per_beat = self.cycles_per_vector, self._per_beat
        words = [0] * folds
        offset = 0
        for p in range(per_beat):
            for values, width in self.tables():
                column = np.asarray(values).reshape(folds, per_beat)[:, p]
                for nf in range(folds):
                    words[nf] |= (int(column[nf]) & ((1 << width) - 1)) << offset
                offset += width
        return words

    @property
    def table_width(self) -> int:
        return self._per_beat * sum(width for _, width in self.tables())

    @property
    def rom_shape(self) -> tuple[int, int] | None:
        """The tables' ROM (varying bits, depth), as the ROM placement weighs it; None
        where every beat meets the same channels (the entries are constants)."""
        words = self.table_words
        if len(words) == 1:
            return None
        varying = 0
        for word in words:
            varying |= word ^ words[0]
        return bin(varying).count("1"), len(words)

    @property
    def resources(self) -> Resources:
        """Estimated LUT4, FF and DP16KD (see :mod:`~hwgen.hw.cost`): lanes, their tables, the queue."""
        inputs = Resources(ff=(self.read_stages + self.input_copies - 1) * self._in_width)
        lanes = (self.lane_cost() + inputs) * self._per_beat
        tables, shape = Resources(), self.rom_shape
        if shape is not None:
            bits, depth = shape
            if not self._tables_in_block_ram:
                words = self.table_words
                bits = distinct_columns([[w >> b & 1 for b in range(self.table_width)] for w in words])
            address_bits = address_registers(self.table_address_copies) * (depth - 1).bit_length()
            tables = rom(bits, depth, self._tables_in_block_ram, self.table_stages) + Resources(ff=address_bits)
        queue = credit_queue(self._per_beat * self._out_width, queue_depth(self.read_stages + self.lane_stages))
        return lanes + tables + queue + Resources(lut4=CONTROL_LUTS)

    def tables(self) -> list[tuple[np.ndarray, int]]:
        """The per-channel constants a lane needs, each as (values per channel, bit width)."""
        raise NotImplementedError

    def lane(self, m: Module, values: list[Value], entries: list[Value], name: str) -> Value:
        """Output of one lane for its signed input, given as ``input_copies`` equal
        ``values``, and this channel's ``entries`` of ``tables()``; registers exactly
        ``lane_stages`` times."""
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        per_beat, folds = self._per_beat, self.cycles_per_vector
        to_queue = self.read_stages + self.lane_stages
        m.submodules.queue = queue = CreditQueue(width=per_beat * self._out_width, latency=to_queue)
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        accept = self.i.valid & self.i.ready
        m.d.comb += [self.i.ready.eq(queue.free), queue.reserve.eq(accept)]
        fold = Signal(range(folds))
        with m.If(accept):
            m.d.sync += fold.eq(Mux(fold == folds - 1, 0, fold + 1))

        # The entries' second register has no reset, so that synthesis can make it a block
        # RAM's output register; no beat meets it before it holds its channel's entry.
        words = self.table_words
        if folds == 1:
            table = Const(words[0], self.table_width)
        else:
            read = read_rom(m, "tables", words, self.table_width, fold, self._tables_in_block_ram,
                            self.table_address_copies)
            table = delayed(m, read, self.table_stages, "tables", reset_less=True)
        # A bit that is 1 in every word is a constant 1, not a register's: its register starts
        # at 0, so Yosys keeps it, merged into one for every lane (in a threshold unit of 16
        # lanes and 2 folds like mnist-lenet-ternary's first, one drove compares in all 16).
        # Bits 0 in every word are registers of 0 from 0, which Yosys removes.
        ones = words[0]
        for word in words:
            ones &= word
        outputs, offset = [], 0
        for p in range(per_beat):
            values = delayed_copies(m, self.i.payload.word_select(p, self._in_width), self.read_stages, f"in{p}",
                                    self.input_copies)
            entries = []
            for _, width in self.tables():
                entry, constant = table[offset:offset + width], ones >> offset & ((1 << width) - 1)
                entries.append(entry | Const(constant, width) if constant else entry)
                offset += width
            output = Signal(self._out_width, name=f"out{p}")
            m.d.comb += output.eq(self.lane(m, [value.as_signed() for value in values], entries, name=f"lane{p}_"))
            outputs.append(output)
        m.d.comb += [
            queue.push.valid.eq(delayed(m, accept, to_queue, "valid")),
            queue.push.payload.eq(Cat(*outputs)),
        ]
        return m
