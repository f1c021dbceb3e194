"""A double-buffered vector store that turns a layer's output into the next layer's input."""
import math

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .cost import BLOCK_RAM_LUT4_WORTH, CONTROL_LUTS, Resources, block_rams, credit_queue, lut_ram
from .pipeline import (BEFORE_THE_IMAGE, COPY_BRANCHING, COPY_FANOUT, QUEUE_LATENCY, CreditQueue, delayed,
                       delayed_copies, last_step, lookup, queue_depth, register, register_copies)

# DPR16X4 that one copy of a memory address drives at most. mnist-lenet-ternary's
# conv2 input buffer read 104 of them per port from one address register: 13.1 ns,
# 11.4 of it routing. At 16, a copy driving 14 took 6.57 ns of routing to a LUT RAM
# three tiles away in mnist-lfc-w1a1's first input buffer (its worst path).
DPRS_PER_ADDRESS = 8
# Read ports (each a copy of the banks) at most for block RAM: Yosys's memory mapping
# took 0.2 GB for 8, and passed 24 GB for the 16 that 784 8-bit pixels a beat apart,
# read 16 a beat, would need.
BLOCK_RAM_MAX_READS = 4
# Cycles from a pipelined read to its word in a register: in block RAM, the address
# register, then the block's own output register (hwgen/netlist_passes.py); in LUT RAM,
# the copies of the address, then a register after the read.
PIPELINED_READ_CYCLES = 2
# DPR16X4 a LUT-RAM buffer may read through in the cycle its beat is offered; from this
# many on, its reads are pipelined (``_read_pipelined``). mnist-lfc-w1a1's first buffer
# (112 DPR16X4 over four read ports) broadcast its next read address from the read state
# to copies across the die: 9.97 ns, 8.71 routing.
PIPELINED_READ_DPRS = 16


class VectorBuffer(wiring.Component):
    """Collects a vector and replays it, folded, as many times as a layer needs.

    A matrix-vector unit folded into ``repeats`` row groups reads its whole
    input vector once per group. This buffer receives the vector
    ``in_per_beat`` elements at a time and sends it ``out_per_beat`` elements
    at a time, ``repeats`` times over; where ``out_per_beat`` does not divide
    the size, each replay ends in a beat padded with all-zero elements. It
    has two banks, so the next vector fills one while the current one is
    replayed from the other. The banks
    live in one memory whose words are input beats, written through one port
    (LUT RAM) and read through as many as an output beat overlaps words,
    then aligned; or, in LUT RAM where an output beat is several whole input
    beats, whose words are output beats, written an input beat (a part) at a
    time and read through one port (``word_parts``).

    Where one output beat is the whole vector, the banks may be registers
    instead, and where they are large, block RAM (see ``storage``).

    Parameters
    ----------
    element_width : int
        Bits per element.
    size : int
        Elements per vector.
    in_per_beat, out_per_beat : int
        Elements per input beat, dividing ``size``, and per output beat.
    repeats : int
        How many times each vector is sent.
    block_ram : bool
        Whether large banks may go into block RAM (DP16KD).

    Members
    -------
    i : ``In(stream.Signature(in_per_beat * element_width))``
    o : ``Out(stream.Signature(out_per_beat * element_width))``
        Element ``k`` of a beat sits at bits ``[k * element_width, (k + 1) * element_width)``.
    """

    def __init__(self, *, element_width: int, size: int, in_per_beat: int, out_per_beat: int,
                 repeats: int, block_ram: bool = False):
        for name, value in (("element_width", element_width), ("size", size),
                            ("in_per_beat", in_per_beat), ("out_per_beat", out_per_beat),
                            ("repeats", repeats)):
            if not isinstance(value, int) or value < 1:
                raise TypeError(f"{name} must be a positive integer, not {value!r}")
        if size % in_per_beat:
            raise ValueError(f"in_per_beat ({in_per_beat}) must divide size ({size})")
        self._element_width = element_width
        self._size = size
        self._in_per_beat = in_per_beat
        self._out_per_beat = out_per_beat
        self._repeats = repeats
        self._block_ram = block_ram
        super().__init__({
            "i": In(stream.Signature(in_per_beat * element_width)),
            "o": Out(stream.Signature(out_per_beat * element_width)),
        })

    @property
    def in_beats(self) -> int:
        """Input beats per vector."""
        return self._size // self._in_per_beat

    @property
    def out_words(self) -> int:
        """Output beats per replay of a vector, the last one padded where need be."""
        return -(-self._size // self._out_per_beat)

    @property
    def replay_cycles(self) -> int:
        """Output beats per vector, all replays together."""
        return self.out_words * self._repeats

    @property
    def cycles_per_vector(self) -> int:
        """Cycles per vector at full rate: filling one bank overlaps replaying the other."""
        return max(self.in_beats, self.replay_cycles)

    @property
    def storage(self) -> str:
        """How the banks are built: in LUT RAM (``"memory"``) but

        - ``"hold"``, where each output beat is the whole vector and its replay
          outlasts its input beats: a shift register that the beats enter, copied
          whole into a hold register that is sent (no LUT a bit). The copy waits
          for the shift register to be full, so a vector takes a cycle more than
          its input beats: the price is paid only where the replay is slower anyway;
        - ``"registers"``, where each output beat is the whole vector: two shift
          registers read through a mux (a LUT4 a bit), where the estimate says they
          are cheaper than ``"memory"`` (see ``memory_shape``; memory needs a copy
          of the banks per read port);
        - ``"block_ram"``, where block RAM is allowed, a beat overlaps at most
          ``BLOCK_RAM_MAX_READS`` words, and each DP16KD saves ``BLOCK_RAM_LUT4_WORTH``
          LUT4 of LUT RAM. A read takes ``PIPELINED_READ_CYCLES``, so the beats wait
          in a ``CreditQueue`` that the reads reserve: ``o.ready`` reaches only the queue.
          Only where the write may go through registers (``_write_registered``).

        Large LUT RAM is read so too (``_read_pipelined``).
        """
        whole_vector = self.out_words == 1
        if whole_vector and self.replay_cycles > self.in_beats:
            return "hold"
        if whole_vector and self._registers_cost.lut4 < self._memory_cost.lut4:
            return "registers"
        if (self._block_ram and self._write_registered and self._shape(1)[2] <= BLOCK_RAM_MAX_READS
                and self._memory_cost.lut4 >= BLOCK_RAM_LUT4_WORTH * self._blocks):
            return "block_ram"
        return "memory"

    @property
    def _write_registered(self) -> bool:
        """Whether a memory's write goes through registers, landing a cycle after its beat
        is taken: where the replay and the input beats take different times. Where they
        take the same, a bank would be free for the vector two later a cycle too late,
        and each pair of vectors would take a cycle more."""
        return self.in_beats != self.replay_cycles

    @property
    def _read_pipelined(self) -> bool:
        """Whether reads are issued ahead, ``PIPELINED_READ_CYCLES`` before their beat waits
        in a ``CreditQueue`` (``read_delay``): in block RAM, and in LUT RAM of
        ``PIPELINED_READ_DPRS`` DPR16X4 or more (``_large_lut_ram``)."""
        return self.storage == "block_ram" or (self.storage == "memory" and self._large_lut_ram)

    @property
    def _large_lut_ram(self) -> bool:
        width, depth, reads = self._shape(self._lut_ram_parts)
        return math.ceil(width / 4) * math.ceil(2 * depth / 16) * reads >= PIPELINED_READ_DPRS

    @property
    def _ready_registered(self) -> bool:
        """Whether ``i.ready`` is a register in LUT RAM (``"memory"``), set from the full
        flags before this cycle's read: a bank the replay empties takes beats a cycle
        later. That costs no pace where the input beats and the replay differ by two
        cycles or more, for the later side waits anyway. As a LUT on the full flags and
        the write bank, ``ready`` reached the input slice's enables: mnist-tfc-w1a1's and
        mnist-sfc-w1a1's worst path (6.20 and 6.67 ns, 5.20 and 5.68 routing)."""
        return (self.storage == "memory" and not self._read_pipelined
                and abs(self.in_beats - self.replay_cycles) >= 2)

    @property
    def _blocks(self) -> int:
        """DP16KD for the banks in block RAM: a copy per read port (Yosys makes them)."""
        width, depth, reads = self._shape(1)
        return reads * block_rams(width, 2 * depth)

    @property
    def latency(self) -> int:
        """Cycles from a vector's last input beat to its first output beat (``"hold"``:
        the copy into the hold register takes a cycle; ``"memory"`` and ``"block_ram"``:
        the write, registered where ``_write_registered``, then, where pipelined, the read
        and the queue, ``read_delay``)."""
        registered = self.storage == "hold" or (self.storage != "registers" and self._write_registered)
        return 1 + registered + self.read_delay

    @property
    def read_delay(self) -> int:
        """Cycles from a beat's read to its offer at ``o``: 0 but where ``_read_pipelined``."""
        return self._read_cycles + QUEUE_LATENCY if self._read_pipelined else 0

    @property
    def _read_cycles(self) -> int:
        """Cycles from a pipelined read to its beat at the queue: ``PIPELINED_READ_CYCLES``, and
        in block RAM whose beats are picked out of their words at several offsets, one more: a
        register in the fabric, by the pick. From the block's own output register, across the
        die and through the pick's mux, was the auto-folded mini-mnist-cnn's worst path
        (10.47 ns, 8.21 routing)."""
        return PIPELINED_READ_CYCLES + (self.storage == "block_ram" and len(set(self._offsets)) > 1)

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Output offer cycles from input offer cycles (see :func:`~.pipeline.offers_after`).

        A vector's beats are taken one a cycle once its bank is free, and its
        replay reads a beat every cycle from ``latency - read_delay`` cycles after
        its last beat, once the previous vector's replay is read, and offers it
        ``read_delay`` cycles later. A bank is free once the vector two before has
        been read (a cycle later where ``i.ready`` is a register), or (``"hold"``)
        the shift register once the vector before it has been copied: in the cycle of
        the last beat sent from the hold register at the latest."""
        return self.timeline(arrivals)[1]

    def timeline(self, arrivals: list[int]) -> tuple[list[int], list[int]]:
        """The cycles the input beats are taken in, and the output offer cycles (``schedule``)."""
        # The properties, worked out once: mini-mnist-cnn's 200,704 offers an image, each
        # asking for them, took 25 minutes.
        hold, ready_later, beats = self.storage == "hold", self._ready_registered, self.in_beats
        delay, replay, to_read = self.read_delay, self.replay_cycles, self.latency - self.read_delay
        offers, read, taken, copied = [], [], [], BEFORE_THE_IMAGE
        for v in range(len(arrivals) // beats):
            if hold:
                bank_free = copied + 1
            else:
                bank_free = read[v - 2] + 1 + ready_later if v >= 2 else BEFORE_THE_IMAGE
            for arrival in arrivals[v * beats:(v + 1) * beats]:
                taken.append(max(arrival, taken[-1] + 1 if taken else BEFORE_THE_IMAGE, bank_free))
            start = max(taken[-1] + to_read, read[-1] + 1 if read else BEFORE_THE_IMAGE)
            copied = start - 1
            offers += [start + delay + k for k in range(replay)]
            read.append(start + replay - 1)
        return taken, offers

    @property
    def memory_shape(self) -> tuple[int, int, int]:
        """The banks' memory: (word width, words per bank, read ports). The words past
        the vector's are never written, so they read as zero (the padding)."""
        return self._shape(self.word_parts)

    @property
    def word_parts(self) -> int:
        """Input beats a memory word holds. In LUT RAM where an output beat is
        several whole input beats, a word is an output beat, each input beat
        written into its part, so one read port reads a beat; else a word is an
        input beat, and the banks are copied for each word an output beat
        overlaps (a read port each): mnist-fc-shift-ps's pixels, 7 a beat, read 49
        a beat, took 7 copies, 13,956 LUT4 by the estimate. Block RAM keeps
        input-beat words, which its blocks' widths suit."""
        return 1 if self.storage == "block_ram" else self._lut_ram_parts

    @property
    def _lut_ram_parts(self) -> int:
        """``word_parts`` in LUT RAM."""
        return self._out_per_beat // self._in_per_beat if self._out_per_beat % self._in_per_beat == 0 else 1

    def _shape(self, parts: int) -> tuple[int, int, int]:
        """``memory_shape`` with words of ``parts`` input beats."""
        spans = [self._rows(j, parts) for j in range(self.out_words)]
        return (parts * self._in_per_beat * self._element_width, max(span.stop for span in spans),
                max(len(span) for span in spans))

    def _rows(self, word: int, parts: int) -> range:
        """The memory words, of ``parts`` input beats, that output beat ``word`` of a replay overlaps."""
        first, per_word = word * self._out_per_beat, parts * self._in_per_beat
        return range(first // per_word, (first + self._out_per_beat - 1) // per_word + 1)

    @property
    def slice_width(self) -> int:
        """``"memory"``: bits of a word's part in each column slice of the banks, which has
        copies of the read and write addresses of its own (at most ``DPRS_PER_ADDRESS``
        DPR16X4 to an address)."""
        width, depth, _ = self._shape(self._lut_ram_parts)
        return min(width // self._lut_ram_parts, 4 * max(1, DPRS_PER_ADDRESS // math.ceil(2 * depth / 16)))

    @property
    def _offsets(self) -> list[int]:
        """Where each output beat starts in its first word, in elements."""
        return [word * self._out_per_beat % self._in_per_beat for word in range(self.out_words)]

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 and FF (see :mod:`~hwgen.hw.cost`)."""
        bits = self._size * self._element_width
        hold = Resources(lut4=CONTROL_LUTS + 3 * self.copy_groups, ff=2 * bits + 3 * self.copy_groups)
        return {"hold": hold, "registers": self._registers_cost,
                "memory": self._memory_cost, "block_ram": self._block_ram_cost}[self.storage]

    @property
    def _registers_cost(self) -> Resources:
        bits = self._size * self._element_width
        groups = -(-bits // COPY_FANOUT)
        return Resources(lut4=CONTROL_LUTS + bits + 2 * groups, ff=2 * bits + 4 * groups)

    @property
    def _memory_cost(self) -> Resources:
        """LUT RAM, copied for each read port, a mux a bit over the beats' offsets, each
        column slice's address registers and write enable, and the registered beat; where
        the reads are pipelined, the address each copies, the words read, and the queue;
        where a word has parts, each slice's copy of the part written and its enable's LUT."""
        parts = self._lut_ram_parts
        width, depth, reads = self._shape(parts)
        beat_width = self._out_per_beat * self._element_width
        offsets = len(set(self._offsets))
        align = math.ceil(offsets / 2) if offsets > 1 else 0
        slices = parts * -(-width // parts // self.slice_width)
        address_bits = (2 * depth - 1).bit_length()
        part_bits = (parts - 1).bit_length()
        write = (width // parts + slices) * self._write_registered + slices * (address_bits + part_bits)
        addresses = slices * reads * address_bits
        pipelined = Resources()
        if self._large_lut_ram:
            pipelined = (Resources(ff=reads * (address_bits + width))
                         + credit_queue(beat_width, queue_depth(PIPELINED_READ_CYCLES)))
        return (lut_ram(width // parts, 2 * depth) * (reads * parts) + pipelined
                + Resources(lut4=CONTROL_LUTS + align * beat_width + slices * (parts > 1), ff=addresses + write))

    @property
    def _block_ram_cost(self) -> Resources:
        """The blocks; the queue; a mux a bit over the beats' offsets; the addresses (the
        read registers are the blocks' own); the write's registers and the delayed full flag."""
        width, depth, reads = self.memory_shape
        beat_width = self._out_per_beat * self._element_width
        offsets = len(set(self._offsets))
        align = math.ceil(offsets / 2) if offsets > 1 else 0
        address_bits = (2 * depth - 1).bit_length()
        write = width + address_bits + 1
        fabric_words = width * reads * (offsets > 1)
        return (Resources(lut4=CONTROL_LUTS + align * beat_width,
                          ff=(1 + reads) * address_bits + write + 2 + fabric_words, dp16kd=self._blocks)
                + credit_queue(beat_width, queue_depth(PIPELINED_READ_CYCLES + (offsets > 1))))

    def elaborate(self, platform):
        return self._hold() if self.storage == "hold" else self._banks()

    @property
    def copy_groups(self) -> int:
        """``"hold"``: how many groups of at most ``COPY_FANOUT`` bits the registers
        are split into, each with its own copy of the full, held and last-repeat flags."""
        return -(-self._size * self._element_width // COPY_FANOUT)

    def _hold(self) -> Module:
        """A shift register the beats enter, copied into the hold register that is sent.
        The registers' enables come from flags copied per group, each copy its own
        register (Yosys merges only flip-flops that are the same function of the same
        nets), and the replay's last beat is known a cycle ahead: so an enable is one
        LUT4 from registers, and routes to a few dozen flip-flops, not to all."""
        m = Module()
        bits = self._size * self._element_width
        filling = Signal(bits, reset_less=True)
        hold = Signal(bits, reset_less=True)
        filled = [Signal(name=f"filled{k}") for k in range(self.copy_groups)]
        held = [Signal(name=f"held{k}") for k in range(self.copy_groups)]
        # The replay's last beat, a copy a group too: one flag for all of digits-shift's
        # 512-bit input buffer was its worst path (8.72 ns, 7.96 routing). Each copy takes
        # the value of a copy of "the beat after this one is the last" (``next_last``, a
        # copy per ``COPY_BRANCHING`` groups), with no LUT: the counter compared at each of
        # 32 copies was the next worst path (8.36 ns, 7.36 routing). The copies are marked
        # ``keep``: Yosys merged those loaded from the same ``next_last``, and from one of
        # them to four groups' hold registers was the path after (9.10 ns, 8.10 routing).
        last_repeat = register_copies(Signal(init=self._repeats == 1), self.copy_groups, "last_repeat")
        next_last = register_copies(Signal(init=self._repeats == 2), -(-self.copy_groups // COPY_BRANCHING),
                                    "next_last")
        read_repeat = Signal(range(self._repeats))

        m.d.comb += [self.i.ready.eq(~filled[0]), self.o.valid.eq(held[0]), self.o.payload.eq(hold)]
        accept = self.i.valid & ~filled[0]
        # The counter's compare before the groups' `filled` flags was digits-shift's worst
        # path (7.04 ns, 6.05 routing).
        last_beat = accept & last_step(m, accept, self.in_beats, "write_beat")
        with m.If(held[0] & self.o.ready):
            m.d.sync += read_repeat.eq(Mux(last_repeat[0], 0, read_repeat + 1))
            if self._repeats > 1:   # else every beat is the last
                # next_last is read_repeat == repeats - 2, kept a beat ahead.
                third_last = read_repeat == self._repeats - 3 if self._repeats >= 3 else False
                m.d.sync += [n.eq(Mux(last_repeat[0], self._repeats == 2, third_last)) for n in next_last]
                m.d.sync += [last.eq(next_last[k // COPY_BRANCHING]) for k, last in enumerate(last_repeat)]
        # Beats enter at the top, so the first ends at the bottom: element k at bits k * width.
        shifted = Cat(filling[self._in_per_beat * self._element_width:], self.i.payload)
        for k in range(self.copy_groups):
            group = slice(k * COPY_FANOUT, min(bits, (k + 1) * COPY_FANOUT))
            with m.If(self.i.valid & ~filled[k]):
                m.d.sync += filling[group].eq(shifted[group])
            emptied = held[k] & self.o.ready & last_repeat[k]
            copy = filled[k] & (~held[k] | emptied)
            with m.If(copy):
                m.d.sync += hold[group].eq(filling[group])
            # As expressions: see next_full.
            m.d.sync += [filled[k].eq(last_beat | (filled[k] & ~copy)), held[k].eq(copy | (held[k] & ~emptied))]
        return m

    def _banks(self) -> Module:
        """Two banks, in registers or in memory, filled and replayed in turn."""
        m = Module()
        full = Signal(2)
        write_bank = Signal()
        read_bank = Signal()

        # Where reads are pipelined `ready` is a register: ~full[write_bank], set a cycle
        # ahead (below), for `emptied` comes from registers here.
        # As a LUT on `full` it reached every bit of the input slice's output register, by
        # the pins: the 60k-images/s mnist-mlp-bnn's worst path, 9.0 ns (8.0 routing).
        # Elsewhere its exact next value would wait for the next unit's `ready` through
        # `emptied` (digits-cnn-bnn's worst path, 7.33 ns): in LUT RAM it is a register that
        # ignores `emptied` where that costs no pace (``_ready_registered``), else a LUT.
        ready = Signal(init=1)
        m.d.comb += self.i.ready.eq(ready)
        accept = self.i.valid & ready
        # The beat counter's compare between the input slice's `valid` and the `ready`
        # register was mnist-lfc-w1a1's worst path (7.23 ns, 5.72 routing): three LUTs
        # after a net across the die.
        filled = accept & last_step(m, accept, self.in_beats, "write_beat")
        with m.If(filled):
            m.d.sync += write_bank.eq(~write_bank)

        # A beat is read when it is sent; where pipelined, when the queue has room for it.
        queue = None
        if self._read_pipelined:
            queue = CreditQueue(width=self._out_per_beat * self._element_width, latency=self._read_cycles)
            m.submodules.queue = queue
            wiring.connect(m, queue.o, wiring.flipped(self.o))
            read = Signal()
            m.d.comb += [read.eq(full.bit_select(read_bank, 1) & queue.free), queue.reserve.eq(read)]
        else:
            m.d.comb += self.o.valid.eq(full.bit_select(read_bank, 1))
            read = self.o.valid & self.o.ready
        word_done = last_step(m, read, self.out_words, "read_word")
        vector_done = word_done & last_step(m, read & word_done, self._repeats, "read_repeat")
        emptied = read & vector_done
        # Where the next beat is, should this one be read: from the read state alone.
        following_bank = read_bank ^ vector_done
        word_after_next = Signal(range(self.out_words), init=2 % self.out_words)
        with m.If(read):
            m.d.sync += [read_bank.eq(following_bank),
                         word_after_next.eq(Mux(word_after_next == self.out_words - 1, 0, word_after_next + 1))]
        # In memory a write lands a cycle late (``_memory``, ``_block_memory``), and so does its bank's full flag.
        if self.storage in ("memory", "block_ram") and self._write_registered:
            filled_bank = delayed(m, filled, 1, "filled"), delayed(m, write_bank, 1, "filled_bank")
        else:
            filled_bank = filled, write_bank
        next_state = (next_full(full, *filled_bank, emptied, read_bank), write_bank ^ filled,
                      Mux(read, following_bank, read_bank))
        m.d.sync += full.eq(next_state[0])
        if self._read_pipelined:
            m.d.sync += ready.eq(~next_state[0].bit_select(next_state[1], 1))
        elif self._ready_registered:
            m.d.sync += ready.eq(~next_full(full, *filled_bank, 0, read_bank).bit_select(next_state[1], 1))
        else:
            m.d.comb += ready.eq(~full.bit_select(write_bank, 1))
        if self.storage == "registers":
            self._registers(m, next_state)
        elif self.storage == "memory":
            self._memory(m, accept, read, following_bank, word_after_next, queue)
        elif self.storage == "block_ram":
            self._block_memory(m, accept, read, following_bank, word_after_next, queue)
        return m

    def _following(self, m: Module, table: list[int], read: Value, word_after_next: Value, name: str) -> Value:
        """``table``'s entry for the output beat after the current one, in a register
        loaded on ``read`` from the beat after that: computed from the read word, the
        increment and the table came before the read-address copies, mnist-lfc-w1a1's
        worst path (9.80 ns, 8.14 routing)."""
        if self.out_words == 1:
            return Const(table[0])
        following = Signal(range(max(table) + 1), init=table[1], name=name)
        with m.If(read):
            m.d.sync += following.eq(lookup(table, word_after_next))
        return following

    def _registers(self, m: Module, next_state: tuple[Value, Value, Value]) -> None:
        """Two shift registers the beats enter, read through a mux. Each group of at most
        ``COPY_FANOUT`` bits has its own copies of the full flags and the write and read
        banks (``next_state`` gives their values after this cycle), so that its
        enables and mux selects are a LUT4 from registers driving a few dozen
        flip-flops: one enable a bank for digits-shift's 512-bit buffer was 11.7 ns
        of routing."""
        bits = self._size * self._element_width
        # Beats enter at the top, so the first ends at the bottom: element k at bits k * width.
        banks = [Signal(bits, name=f"bank{b}", reset_less=True) for b in range(2)]
        beat_width = self._in_per_beat * self._element_width
        groups = range(0, bits, COPY_FANOUT)
        state = [register_copies(like, len(groups), name) for like, name in
                 zip((Signal(2), Signal(), Signal()), ("full", "write_bank", "read_bank"))]
        for k, low in enumerate(groups):
            full, write_bank, read_bank = (copies[k] for copies in state)
            m.d.sync += [full.eq(next_state[0]), write_bank.eq(next_state[1]), read_bank.eq(next_state[2])]
            group = slice(low, min(bits, low + COPY_FANOUT))
            for b, bank in enumerate(banks):
                with m.If(self.i.valid & (write_bank == b) & ~full[b]):
                    m.d.sync += bank[group].eq(Cat(bank[beat_width:], self.i.payload)[group])
            m.d.comb += self.o.payload[group].eq(Mux(read_bank, banks[1][group], banks[0][group]))

    def _memory(self, m: Module, accept: Value, sent: Value, following_bank: Value, word_after_next: Value,
                queue: CreditQueue | None) -> None:
        """The banks in one memory, bank ``b``'s word ``k`` at ``2 * k + b``. Read
        port ``k`` reads an output beat's ``k``-th word; the beat is then picked out of
        those words at its offset. Each read address and the offset's index are
        registers, loaded with the following beat's when a beat is sent: computed
        from the read state, an adder came before the LUT RAM's read mux, and that
        read ended the auto-folded mnist-mlp-bnn's critical path (11.3 ns, 8.8 of it
        routing); the following address is ready before ``sent`` is known (with
        ``sent`` before the adder, 10.3 ns). The write address is a register too: from
        the bank and beat registers through an adder to every LUT RAM's write address,
        it was the 75k-images/s mnist-mlp-bnn's worst path (15.9 ns, 14.5 routing).

        Where the reads are pipelined (``queue``), each read address is one register, loaded
        on ``sent``; the copies follow it a cycle later, and a register holds the words read,
        as in block RAM (``_push_read``).

        Where ``_write_registered``, the write goes through registers, as in block RAM:
        the beat, and a copy of its enable for each column slice. From `accept`, a LUT
        on the full flags and the bank, to every DPR16X4 of a 784-bit buffer was the
        worst path of mnist-tfc-w1a1 and mnist-sfc-w1a1 (6.80 and 7.02 ns, 5.41 and
        5.63 routing)."""
        word_width, depth, reads = self.memory_shape
        parts = self.word_parts
        part_width = word_width // parts
        lows = [(part, low) for part in range(parts) for low in range(0, part_width, self.slice_width)]
        if self._write_registered:
            written = Signal(part_width, name="write_data", reset_less=True)
            m.d.sync += written.eq(self.i.payload)
            write_enables = register_copies(Signal(), len(lows), "write_enable")
            m.d.sync += [enable.eq(accept) for enable in write_enables]
        else:
            written, write_enables = self.i.payload, [accept] * len(lows)
        # Each copy of the write address steps by itself, with its slice's write: after
        # a bank's last input word it goes to the other bank. With the bank and the
        # vector's end broadcast to 32 copies, the auto-folded mnist-mlp-bnn's worst path
        # was 11.5 ns of routing.
        write_addresses = register_copies(Signal(range(2 * depth)), len(lows), "write_address")
        # Where a word has parts, each slice counts the part written beside its address,
        # and writes when the part is its own.
        write_parts = register_copies(Signal(range(parts)), len(lows), "write_part") if parts > 1 else [0] * len(lows)
        for address, part, enable in zip(write_addresses, write_parts, write_enables):
            with m.If(enable):
                m.d.sync += address.eq(self._next_write_address(address, part))
                if parts > 1:
                    m.d.sync += part.eq(Mux(self._word_written(part) | self._vector_written(address, part),
                                            0, part + 1))
        read_addresses = []
        for k in range(reads):
            following = self._read_address(m, sent, following_bank, word_after_next, k)
            if queue is None:
                copies = register_copies(Signal(range(2 * depth), init=2 * k), len(lows), f"read_address{k}")
                with m.If(sent):
                    m.d.sync += [a.eq(following) for a in copies]
            else:
                address = self._read_address_register(m, sent, following, depth, k)
                copies = delayed_copies(m, address, 1, f"read_address{k}", len(lows))
            read_addresses.append(copies)
        slices = [[] for _ in range(reads)]
        for j, (part, low) in enumerate(lows):
            width = min(self.slice_width, part_width - low)
            # Left to itself Yosys put a deep, narrow bank in block RAM: 4 DP16KD that the
            # estimate and the block-RAM budget did not count (mnist-fc-shift-q: 212 of 208).
            m.submodules[f"banks{j}"] = banks = memory.Memory(shape=width, depth=2 * depth, init=[],
                                                              attrs={"ram_style": "distributed"})
            write = banks.write_port()
            m.d.comb += [
                write.addr.eq(write_addresses[j]),
                write.data.eq(written[low:low + width]),
                write.en.eq(write_enables[j] & (write_parts[j] == part) if parts > 1 else write_enables[j]),
            ]
            for k in range(reads):
                read = banks.read_port(domain="comb")
                m.d.comb += read.addr.eq(read_addresses[k][j])
                slices[k].append(read.data)
        words = [Cat(*parts) for parts in slices]
        if queue is None:
            m.d.comb += self.o.payload.eq(self._aligned(m, Cat(*words), sent, word_after_next))
        else:
            self._push_read(m, queue, register(m, words, "word", reset_less=True), sent, word_after_next)

    def _read_address(self, m: Module, read: Value, bank: Value, word_after_next: Value, k: int) -> Value:
        """Where the following output beat, in ``bank``, has its ``k``-th word. The bank
        is the address's low bit, so the address is a table beside it, with no adder: the
        bank's offset added to the word's was the 75k-images/s mnist-mlp-bnn's worst
        path (8.48 ns, 6.36 routing)."""
        rows = [self._rows(w, self.word_parts).start + k for w in range(self.out_words)]
        return Cat(bank, self._following(m, rows, read, word_after_next, f"following_row{k}"))

    @staticmethod
    def _read_address_register(m: Module, read: Value, following: Value, depth: int, k: int) -> Signal:
        """Read port ``k``'s address where reads are pipelined: one register, loaded with
        the ``following`` beat's on ``read``."""
        address = Signal(range(2 * depth), init=2 * k, name=f"read_address{k}")
        with m.If(read):
            m.d.sync += address.eq(following)
        return address

    def _next_write_address(self, address: Value, part: Value | int = 0) -> Value:
        """The write address after an input beat into ``part`` of its word: after a
        bank's last, the other bank's first word; after a word's last part, the next word."""
        if self.word_parts == 1:
            return Mux(address[1:] == self.in_beats - 1, ~address[0], address + 2)
        return Mux(self._vector_written(address, part), ~address[0],
                   Mux(self._word_written(part), address + 2, address))

    def _word_written(self, part: Value) -> Value:
        """Whether a beat into ``part`` completes its word."""
        return part == self.word_parts - 1

    def _vector_written(self, address: Value, part: Value) -> Value:
        """Whether a beat into ``part`` of the word at ``address`` is the vector's last."""
        parts = self.word_parts
        return (address[1:] == -(-self.in_beats // parts) - 1) & (part == (self.in_beats - 1) % parts)

    def _aligned(self, m: Module, overlapped: Value, sent: Value, word_after_next: Value, delay: int = 0) -> Value:
        """The output beat picked out of ``overlapped`` (the words it overlaps) at its
        offset, whose index is a register loaded with the following beat's on ``sent``
        (``delay`` cycles before ``overlapped`` holds the beat's words)."""
        offsets = sorted(set(self._offsets))
        beat_width = self._out_per_beat * self._element_width
        choices = [overlapped[o * self._element_width:][:beat_width] for o in offsets]
        if len(choices) == 1:
            return choices[0]
        choice = Signal(range(len(choices)), name="offset_index")
        with m.If(sent):
            following = self._following(m, [offsets.index(o) for o in self._offsets], sent, word_after_next,
                                        "following_offset_index")
            m.d.sync += choice.eq(following)
        return Cat(*choices).word_select(delayed(m, choice, delay, "offset_index"), beat_width)

    def _block_memory(self, m: Module, accept: Value, read: Value, following_bank: Value, word_after_next: Value,
                      queue: CreditQueue) -> None:
        """The banks in block RAM, bank ``b``'s word ``k`` at ``2 * k + b``, written
        and read at address registers. Read port ``k`` reads free-running at its read
        address, which holds the ``k``-th word of the beat to be read; its output
        register holds the word ``PIPELINED_READ_CYCLES`` after the read (then, where
        ``_read_cycles`` says, a fabric register), the offset index follows it, and the beat
        goes into the queue that ``read`` reserved."""
        width, depth, reads = self.memory_shape
        m.submodules.banks = banks = memory.Memory(shape=width, depth=2 * depth, init=[],
                                                   attrs={"ram_style": "block", "no_rw_check": 1})
        write_address = Signal(range(2 * depth))
        with m.If(accept):
            m.d.sync += write_address.eq(self._next_write_address(write_address))
        # The write goes through registers: from `accept`, a LUT on `full`, to the write
        # enable of blocks spread over the die was the 60k-images/s mnist-mlp-bnn's worst
        # path (8.1 ns of routing). The bank's full flag follows it (``_banks``).
        write = banks.write_port()
        m.d.sync += [write.en.eq(accept), write.addr.eq(write_address), write.data.eq(self.i.payload)]
        words = []
        for k in range(reads):
            following = self._read_address(m, read, following_bank, word_after_next, k)
            port = banks.read_port(domain="sync")
            m.d.comb += port.addr.eq(self._read_address_register(m, read, following, depth, k))
            words.append(port.data)
        words = register(m, words, "word", reset_less=True)
        if self._read_cycles > PIPELINED_READ_CYCLES:
            words = register(m, words, "fabric_word", reset_less=True)
        self._push_read(m, queue, words, read, word_after_next)

    def _push_read(self, m: Module, queue: CreditQueue, words: list[Value], read: Value,
                   word_after_next: Value) -> None:
        """A pipelined read's beat, out of the ``words`` registered ``_read_cycles`` after
        ``read``, into the queue that ``read`` reserved."""
        aligned = self._aligned(m, Cat(*words), read, word_after_next, self._read_cycles)
        m.d.comb += [queue.push.payload.eq(aligned),
                     queue.push.valid.eq(delayed(m, read, self._read_cycles, "read"))]


def next_full(full: Value, filled: Value, write_bank: Value, emptied: Value, read_bank: Value) -> Value:
    """The two banks' full flags after this cycle, as one expression.

    Plain expressions become continuous assignments; conditional comb
    assignments would become ``always @*`` blocks, which Icarus does not run
    at time 0, leaving the flags X.
    """
    one = Const(1, 2)
    return (full | Mux(filled, one << write_bank, 0)) & ~Mux(emptied, one << read_bank, 0)
