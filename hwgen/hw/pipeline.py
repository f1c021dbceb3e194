"""Free-running pipelines with credit flow control: how every unit registers its logic.

A unit's datapath registers advance every cycle with no enable (a stall
signal fanning out to every register would itself be the critical path).
Instead, the unit accepts a beat only when the ``CreditQueue`` at its
output has room reserved for the result that beat will make; results that
cannot leave at once wait there. ``ready`` therefore comes from registers
inside the unit and never runs combinationally from one unit to the next.
"""
import math
from collections.abc import Sequence

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..packing import pack

# lookup() splits wider tables: Verilator rejects constants over 65,536 bits, and
# amaranth.sim's Python code ones over 4,300 decimal digits (about 14,000 bits).
MAX_CONSTANT_BITS = 2 ** 13
# Adder levels between two registers. On an ECP5 routing is most of a path's delay:
# at two levels digits-bnn closed at 136 MHz, its worst path two carry chains (BENCHMARKS.md).
LEVELS_PER_STAGE = 1
# How many copies of a register one register feeds in a fan-out tree (delayed_copies).
COPY_BRANCHING = 4
# Flip-flops one enable or select drives at most. One enable for digits-bnn's 320-bit
# input buffer, from a LUT4 on registers, still took 6.8 ns: 5.8 of it routing.
COPY_FANOUT = 16
# Cycles from a result's push into a CreditQueue to its beat at the queue's output:
# the push is registered, then written.
QUEUE_LATENCY = 2
# Payload bits of a CreditQueue's slots that one copy of its write enable and slot
# addresses drives: 8 DPR16X4. From one write address to the 88 DPR16X4 of fc1's
# queue in the auto-folded mnist-mlp-bnn at 75k images/s took 8.6 ns of routing; to 16,
# in fc1's queue of mnist-lfc-w1a1, 6.48 ns (its worst path on one placement).
QUEUE_SLICE_BITS = 32


class CreditQueue(wiring.Component):
    """The output queue of a free-running pipeline of ``latency`` cycles.

    The unit raises ``reserve`` when it accepts a beat that will produce an
    output and may accept one only while ``free`` is high (a register; ``free_next``
    is its value in the next cycle, for units that register a ``ready`` from it). The result is
    pushed through ``push`` when it leaves the pipeline, and the queue sends
    it on through ``o`` ``QUEUE_LATENCY`` cycles later. With ``depth`` slots, results
    reserved every ``interval`` cycles flow at full rate; ``depth`` is
    derived from the pipeline's latency, so a queue never overflows and
    never throttles an unstalled stream.

    Parameters
    ----------
    width : int
        Payload bits.
    latency : int
        Cycles from ``reserve`` to ``push``.
    interval : int
        Fewest cycles between two reserves, ever (``free`` just after a reserve is
        only right where it is 1).
    return_delay : int
        Registers that a departure passes before ``free`` counts it (a slot more each):
        where the queue's two ends lie far apart (``Relay``).
    """

    def __init__(self, *, width: int, latency: int, interval: int = 1, return_delay: int = 0):
        self._width = width
        self._interval = interval
        self._return_delay = return_delay
        self._depth = queue_depth(latency, interval, return_delay)
        super().__init__({
            "reserve": In(1),
            "free": Out(1),
            "free_next": Out(1),
            "push": In(stream.Signature(width, always_ready=True)),
            "o": Out(stream.Signature(width)),
        })

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def latency(self) -> int:
        """Cycles from ``push`` to the result at ``o``."""
        return QUEUE_LATENCY

    def elaborate(self, platform):
        """A FIFO in LUT RAM, in column slices of ``QUEUE_SLICE_BITS``. Each slice registers
        its share of the push and has its own copies of the write enable and the slot
        addresses, so none of them fans out to every DPR16X4. The write enable is the
        registered ``push.valid`` alone: the reservations leave room for every push.
        (Amaranth's SyncFIFO also checks its level first; through that LUT to the write
        enable of every DPR16X4 was the worst path of the auto-folded mnist-mlp-bnn at
        75k images/s, 8.5 ns, 7.4 of it routing.)"""
        m = Module()
        depth = self._depth
        lows = range(0, self._width, QUEUE_SLICE_BITS)
        writes = register_copies(Signal(), len(lows), "write")
        write_slots = register_copies(Signal(range(depth)), len(lows), "write_slot")
        read_slots = register_copies(Signal(range(depth)), len(lows), "read_slot")
        left = self.o.valid & self.o.ready
        for j, low in enumerate(lows):
            width = min(QUEUE_SLICE_BITS, self._width - low)
            pushed = Signal(width, name=f"pushed{j}", reset_less=True)
            m.d.sync += [pushed.eq(self.push.payload[low:low + width]), writes[j].eq(self.push.valid)]
            m.submodules[f"slots{j}"] = slots = memory.Memory(shape=width, depth=depth, init=[])
            write, read = slots.write_port(), slots.read_port(domain="comb")
            m.d.comb += [
                write.addr.eq(write_slots[j]), write.data.eq(pushed), write.en.eq(writes[j]),
                read.addr.eq(read_slots[j]), self.o.payload[low:low + width].eq(read.data),
            ]
            with m.If(writes[j]):
                m.d.sync += write_slots[j].eq(Mux(write_slots[j] == depth - 1, 0, write_slots[j] + 1))
            with m.If(left):
                m.d.sync += read_slots[j].eq(Mux(read_slots[j] == depth - 1, 0, read_slots[j] + 1))
        written, filled = Signal(), Signal(range(depth + 1))
        m.d.sync += [
            written.eq(self.push.valid),
            filled.eq(_pick(written, left, filled + 1, filled, filled - 1)),
            # A register: a result waits in the queue from the cycle after it is written.
            self.o.valid.eq(written | Mux(left, filled != 1, filled != 0)),
        ]
        # `reserve` comes from the upstream unit's valid, across the unit: it is counted a
        # cycle late, from a register. From a vector buffer's full flag through the
        # accept to `free` was mnist-lfc-w1a1's worst path (9.12 ns, 7.63 routing).
        # `free` for the next cycle must then allow for this cycle's reserve unseen: at an
        # interval of 2 or more, none can follow one, so only a cycle without one asks it;
        # at 1 it assumes one (a slot more, ``queue_depth``).
        reserved, pending = Signal(), Signal(range(depth + 1))
        unseen = self._interval == 1
        # `left` (from the downstream unit's ready) arrives late too: every outcome is
        # computed from `pending` alone, and it only picks one.
        counted = delayed(m, left, self._return_delay, "left")
        m.d.sync += [
            reserved.eq(self.reserve),
            pending.eq(_pick(reserved, counted, pending + 1, pending, pending - 1)),
            self.free.eq(self.free_next),
        ]
        # (Against constants: `pending + 1 < depth` made an adder and a comparator in series.)
        m.d.comb += self.free_next.eq(_pick(reserved, counted, pending < depth - 1 - unseen, pending < depth - unseen,
                                            pending < depth + 1 - unseen))
        return m


class BeatForBeat(wiring.Component):
    """A stage that offers each beat it takes, unchanged, ``latency`` cycles later (a
    subclass says how many), ``beats`` to an image.

    Parameters
    ----------
    width : int
        Payload bits.
    beats : int
        Beats per image (for ``cycles_per_image``).
    """

    def __init__(self, *, width: int, beats: int):
        self._width = width
        self._beats = beats
        super().__init__({
            "i": In(stream.Signature(width)),
            "o": Out(stream.Signature(width)),
        })

    @property
    def latency(self) -> int:
        raise NotImplementedError

    @property
    def cycles_per_image(self) -> int:
        return self._beats

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Each beat is offered ``latency`` cycles after it arrives (see :func:`offers_after`)."""
        return [cycle + self.latency for cycle in arrivals]


def registered_ready(m: Module, queue: CreditQueue, valid: Value, last: Signal, last_after_accept: Value
                     ) -> tuple[Value, Value]:
    """``ready`` for a unit that reserves a slot in ``queue`` with the beat that completes
    a result, ``~last | queue.free``, as registers set from both values' next: as a LUT,
    it fanned out to the upstream vector buffer's read state, far from the registers it
    reads (mnist-lfc-w1a1's and digits-shift's worst paths, 9.14 and 9.57 ns). ``last``
    is a register: whether the next beat completes a result; it becomes
    ``last_after_accept`` when a beat is taken. Returns the ``ready`` to offer upstream
    and ``accept``: each from a copy of its own, the one by the upstream unit's
    state, the other by this unit's."""
    ready = register_copies(Signal(init=not last.init), 2, "ready")
    accept = valid & ready[0]
    last_next = Mux(accept, last_after_accept, last)
    m.d.sync += [last.eq(last_next), *(r.eq(~last_next | queue.free_next) for r in ready)]
    m.d.comb += queue.reserve.eq(accept & last)
    return ready[1], accept


# When a unit offers a beat that needs nothing of the image: a window of padding
# alone at the top of a padded image is issued as soon as the pipeline is empty,
# before the image's first beat (timing models take it as minus infinity).
BEFORE_THE_IMAGE = -math.inf


def offers_after(arrivals: list[int], last_beats: Sequence[int], latency: int) -> list[int]:
    """The timing model every unit states as ``schedule(arrivals)``: given the cycles
    at which one image's input beats are offered to a unit (alone in the pipeline,
    its output always taken), the cycles at which its output beats are offered. Here,
    for units whose every output beat comes ``latency`` cycles after the input beat
    that completes it (``last_beats``, the indices of those input beats)."""
    return [arrivals[beat] + latency for beat in last_beats]


def _pick(up: Value, down: Value, more: Value, same: Value, fewer: Value) -> Value:
    """``more`` if only ``up``, ``fewer`` if only ``down``, else ``same``."""
    return Mux(up, Mux(down, same, more), Mux(down, fewer, same))


def lookup(values, index: Value, width: int | None = None) -> Value:
    """``values[index]`` from a constant table of ``width``-bit entries (two's complement;
    by default as wide as the largest). It is a shift of one wide constant, which every
    simulator evaluates from time 0 (Icarus leaves the case statement an Array lookup
    becomes at X until its index changes)."""
    values = [int(v) for v in values]
    width = width or max(1, max(values).bit_length())
    if width * len(values) <= MAX_CONSTANT_BITS or len(values) == 1:
        return Const(pack(values, width), width * len(values)).word_select(index, width)
    # Look up in tables of 2**low entries, then pick one result by the index's high bits.
    low = (MAX_CONSTANT_BITS // width).bit_length() - 1
    tables = [lookup(values[start:start + 2 ** low], index[:low], width)
              for start in range(0, len(values), 2 ** low)]
    return Cat(*tables).word_select(index[low:], width)


def less_than(a: Value, b: Value) -> Value:
    """``a < b``, as the sign of ``a - b`` (Amaranth makes the difference wide enough
    to be exact). On an ECP5 the sign leaves the carry chain through its last sum
    output; a comparison's carry out needs a CCU2C of its own and a trip through
    the fabric, which made digits-bnn's argmax its critical path (BENCHMARKS.md)."""
    return (a - b)[-1]


def queue_depth(latency: int, interval: int = 1, return_delay: int = 0) -> int:
    """Slots a ``CreditQueue`` needs: reserves in the last ``latency + QUEUE_LATENCY``
    cycles (the queue's own included) can all be pending; one more slot keeps ``free`` high,
    and at an interval of 1 one more, for ``free`` counts the reserve it cannot see yet;
    and one for each register a departure passes before ``free`` counts it."""
    return -(-(latency + QUEUE_LATENCY) // interval) + 1 + (interval == 1) + return_delay


def delayed(m: Module, value: Value, cycles: int, name: str, reset_less: bool = False) -> Value:
    """``value`` as it was ``cycles`` cycles ago (a shift register, free-running);
    ``reset_less`` for data that a delayed valid qualifies."""
    for stage in range(cycles):
        register = Signal.like(value, name=f"{name}_d{stage + 1}", reset_less=reset_less)
        m.d.sync += register.eq(value)
        value = register
    return value


def delayed_copies(m: Module, value: Value, cycles: int, name: str, copies: int,
                   reset_less: bool = False) -> list[Value]:
    """``value`` as it was ``cycles`` (at least 1) cycles ago, its last register
    copied ``copies`` times so that each copy drives a share of the loads, the
    registers before fanning out as a tree (``copy_tree``). The copies are marked
    ``keep``: Yosys merges flip-flops with the same input, and ``hwgen synth``
    passes the mark on to them (:func:`hwgen.synth.yosys_script`). ``reset_less``
    as for ``delayed``."""
    level = [value]
    for stage, count in enumerate(copy_tree(cycles, copies), start=1):
        registers = register_copies(value, count, f"{name}_d{stage}", reset_less=reset_less)
        m.d.sync += [r.eq(level[k * len(level) // count]) for k, r in enumerate(registers)]
        level = registers
    return level


def copy_tree(cycles: int, copies: int) -> list[int]:
    """Registers at each of ``cycles`` stages that end in ``copies``: each stage has
    ``COPY_BRANCHING`` times fewer than the next (at least one), so that no register
    drives more than that many others across the die."""
    return [-(-copies // COPY_BRANCHING ** (cycles - stage)) for stage in range(1, cycles + 1)]


def register_copies(like: Value, copies: int, name: str, **kwargs) -> list[Signal]:
    """``copies`` signals shaped like ``like``, to be registers that hold the same value,
    each driving a share of its loads; marked ``keep`` where more than one (see
    ``delayed_copies``). ``kwargs`` go to each ``Signal``."""
    if copies == 1:
        return [Signal.like(like, name=name, **kwargs)]
    return [Signal.like(like, name=f"{name}_copy{k}", attrs={"keep": 1}, **kwargs) for k in range(copies)]


def last_step(m: Module, step: Value, count: int, name: str) -> Signal:
    """A register that is high while the next ``step`` ends a round of ``count`` (the steps
    counted modulo ``count``). It is set a beat ahead, so that what a round's last step
    does is a gate after ``step``, not behind a counter's compare: compared at the read,
    a buffer's round counters came before the 20 bank-select copies of digits-shift's fc1
    input buffer (its worst path, 9.25 ns)."""
    counter = Signal(range(count), name=f"{name}_counter")
    last = Signal(init=count == 1, name=f"{name}_last")
    with m.If(step):
        m.d.sync += [counter.eq(Mux(last, 0, counter + 1)), last.eq(Mux(last, count == 1, counter == count - 2))]
    return last


def register(m: Module, values: list[Value], name: str, reset_less: bool = False) -> list[Value]:
    registers = [Signal.like(v, name=f"{name}{k}", reset_less=reset_less) for k, v in enumerate(values)]
    m.d.sync += [r.eq(v) for r, v in zip(registers, values)]
    return registers


def adder_tree_plan(count: int, *, levels_done: int = 0, levels_after: int = 0) -> list[bool]:
    """Where a pipelined tree over ``count`` terms puts its registers.

    One entry per adder level, then one for the end: ``True`` where a
    register comes first. Registers go after every ``LEVELS_PER_STAGE``
    levels of logic; ``levels_done`` says how much logic already lies
    between the last register and the terms, ``levels_after`` how much the
    caller adds to the sums before its own register.
    """
    plan, since = [], levels_done
    while count > 1:
        plan.append(since >= LEVELS_PER_STAGE)
        since = 1 if plan[-1] else since + 1
        count = (count + 1) // 2
    plan.append(since + levels_after > LEVELS_PER_STAGE)
    return plan


def pipelined_adder_tree(m: Module, lanes: list[list[Value]], plan: list[bool], name: str) -> list[Value]:
    """The sum of each lane's terms (all lanes alike in length) by a balanced
    tree registered where ``plan`` (from :func:`adder_tree_plan`) says; the
    tree's latency is ``sum(plan)``. Its registers hold data that a delayed valid
    qualifies: no reset (a flip-flop with one cannot become a MULT18X18D's own
    register: :mod:`~hwgen.netlist_passes`)."""
    level = [list(terms) for terms in lanes]
    for depth, registered in enumerate(plan):
        if registered:
            level = [register(m, terms, f"{name}{depth}_{lane}_", reset_less=True)
                     for lane, terms in enumerate(level)]
        if len(level[0]) > 1:
            level = [[t[i] + t[i + 1] for i in range(0, len(t) - 1, 2)] + t[len(t) - len(t) % 2:]
                     for t in level]
    return [terms[0] for terms in level]
