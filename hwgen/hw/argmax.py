"""Streaming argmax over folded logits."""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import Integer
from .cost import CONTROL_LUTS, Resources, carry_luts, credit_queue
from .pipeline import (QUEUE_LATENCY, CreditQueue, delayed, less_than, offers_after, queue_depth, register,
                       registered_ready)


class ArgmaxUnit(wiring.Component):
    """Index of the largest of ``classes`` signed logits arriving ``per_beat`` per beat.

    On a tie the lowest index wins, as ``numpy.argmax`` does: a lane beats
    an earlier one only when strictly larger, and a later beat replaces the
    running best only when strictly larger. The beat is registered; its
    lanes play a tournament, a level per two stages: neighbours are compared
    (registered), then the winner's value and lane picked (registered). The
    beat's winner is compared with the running best; one output beat per
    vector leaves through a credit queue. (A compare and a mux in one stage
    was a 7 ns path on an ECP5; comparing every pair of lanes at once, one
    stage fewer per level, took 10 compares for 5 lanes where the tournament
    takes 4: 60 LUT4 of digits-bnn.)
    With ``logits``, the output beat also carries every class's logit (class
    ``k`` at bits ``index_width + k * acc_width``), so that a testbench can
    score every bit, not just the index.

    Parameters
    ----------
    classes : int
    acc_width : int
        Width of the signed logit lanes.
    per_beat : int
        Lanes per beat; divides ``classes``.
    logits : bool
        Whether the output beat carries the logits after the index.
    """

    def __init__(self, *, classes: int, acc_width: int, per_beat: int, logits: bool = False):
        if not isinstance(per_beat, int) or per_beat < 1 or classes % per_beat:
            raise ValueError(f"per_beat ({per_beat!r}) must be a positive divisor of the {classes} classes")
        self._classes = classes
        self._acc_width = acc_width
        self._per_beat = per_beat
        self._logits = logits
        super().__init__({
            "i": In(stream.Signature(per_beat * acc_width)),
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
        return self._classes // self._per_beat

    @property
    def rounds(self) -> int:
        """Tournament levels that reduce a beat's lanes to one."""
        return (self._per_beat - 1).bit_length()

    @property
    def reduce_levels(self) -> int:
        """Registered stages that reduce a beat's lanes to one: two a round."""
        return 2 * self.rounds

    @property
    def latency(self) -> int:
        """Cycles from a vector's last input beat to its output beat: the input
        register, the reduction, the compare with the running best (registered),
        the output queue."""
        return 1 + self.reduce_levels + 1 + QUEUE_LATENCY

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Output offer cycles from input offer cycles (see :func:`~.pipeline.offers_after`)."""
        folds = self.cycles_per_vector
        return offers_after(arrivals, range(folds - 1, len(arrivals), folds), self.latency)

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 and FF (see :mod:`~hwgen.hw.cost`): a comparator per pair of
        lanes, an AND-OR select of one lane's value and index, the compare with the
        running best and its muxes, registers, the queue."""
        acc, index, per_beat = self._acc_width, self.index_width, self._per_beat
        best = Resources(lut4=carry_luts(acc) + acc + index, ff=acc + index)
        # Each match: a compare, then a pick of the value and lane; each player waits a stage.
        lane_bits = max(1, self.rounds)
        select, players = Resources(), per_beat
        for _ in range(self.rounds):
            matches = players // 2
            select += Resources(lut4=matches * (carry_luts(acc) + acc + lane_bits),
                                ff=matches + players * (acc + lane_bits) + (players - matches) * (acc + lane_bits))
            players -= matches
        logits = Resources(ff=(1 + self.reduce_levels) * self._classes * acc * self._logits)
        queue = credit_queue(len(self.o.payload), queue_depth(self.latency - QUEUE_LATENCY, self.cycles_per_vector))
        return (best + select + logits + queue
                + Resources(lut4=CONTROL_LUTS, ff=per_beat * acc + len(self.o.payload)))

    def elaborate(self, platform):
        m = Module()
        folds = self.cycles_per_vector
        to_queue = self.latency - QUEUE_LATENCY
        at_compare = to_queue - 1
        m.submodules.queue = queue = CreditQueue(width=len(self.o.payload), latency=to_queue,
                                                 interval=folds)
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        fold = Signal(range(folds))
        # A register, set a beat ahead, and `ready` one too (see `registered_ready`): the
        # counter's compare through `free_next` into the upstream unit's `ready` register
        # was the 75k-images/s mnist-mlp-bnn's worst path (7.07 ns).
        last_fold = Signal(init=folds == 1)
        ready, accept = registered_ready(m, queue, self.i.valid, last_fold,
                                         Mux(last_fold, folds == 1, fold == folds - 2))
        m.d.comb += self.i.ready.eq(ready)
        with m.If(accept):
            m.d.sync += fold.eq(Mux(last_fold, 0, fold + 1))

        beat = Signal.like(self.i.payload, name="beat")
        base = Signal(self.index_width, name="base")   # the index of the beat's lane 0
        m.d.sync += [beat.eq(self.i.payload), base.eq(fold * self._per_beat)]
        values = [beat.word_select(p, self._acc_width).as_signed() for p in range(self._per_beat)]
        beat_value, beat_index = self._select(m, values, base) if self._per_beat > 1 else (values[0], base)

        valid = delayed(m, accept, at_compare, "valid")
        first = delayed(m, fold == 0, at_compare, "first")
        last = delayed(m, last_fold, at_compare, "last")
        best_value = Signal(signed(self._acc_width))
        best_index = Signal(self.index_width)
        take = first | less_than(best_value, beat_value)
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

    def _select(self, m: Module, values: list, base: Value) -> tuple[Value, Value]:
        """The first largest of ``values`` and its index (``base`` + lane), ``reduce_levels``
        stages on: in each round, lanes 2k and 2k + 1 play (the later one wins only when
        strictly larger), an odd one out waits for the next round."""
        lane_width = max(1, self.rounds)
        players = [(value, Const(k, lane_width)) for k, value in enumerate(values)]
        for level in range(self.rounds):
            name = f"round{level}_"
            waiting = [(register(m, [value], f"{name}value{k}_")[0], register(m, [lane], f"{name}lane{k}_")[0])
                       for k, (value, lane) in enumerate(players)]
            wins = [register(m, [less_than(players[k][0], players[k + 1][0])], f"{name}won{k}_")[0]
                    for k in range(0, len(players) - 1, 2)]
            players = [(Mux(won, waiting[k + 1][0], waiting[k][0]), Mux(won, waiting[k + 1][1], waiting[k][1]))
                       for won, k in zip(wins, range(0, len(players) - 1, 2))] + waiting[len(wins) * 2:]
            players = [(register(m, [value], f"{name}picked{k}_")[0], register(m, [lane], f"{name}picked_lane{k}_")[0])
                       for k, (value, lane) in enumerate(players)]
        (value, lane), = players
        held_base = delayed(m, base, self.reduce_levels, "held_base")
        return value, (held_base + lane)[:self.index_width]
