"""The folded matrix-vector unit (after FINN's MVU), for every weight format."""
from functools import cached_property

import numpy as np
from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import Bipolar, ElementType, Integer
from ..packing import pack
from .cost import (CONTROL_LUTS, Resources, adder_luts, adder_tree, credit_queue, distinct_columns, rom,
                   varying_bits)
from .pipeline import (QUEUE_LATENCY, CreditQueue, adder_tree_plan, copy_tree, delayed, delayed_copies,
                       offers_after, pipelined_adder_tree, queue_depth, register, registered_ready)
from .roms import address_copies, address_registers, read_cycles, read_rom
from .weights import BinaryWeights, IntegerWeights, ShiftWeights, TernaryWeights

WEIGHT_FORMATS = (BinaryWeights, ShiftWeights, TernaryWeights, IntegerWeights)
# Lanes that one copy of the input beat feeds (the accumulators' flags have one a lane).
# fc1 of the auto-folded mnist-mlp-bnn, 32 lanes beside 57 weight ROM blocks spread
# over the part, all fed by one beat register: 12.3 of its 14.0 ns were routing;
# with a copy per 8 lanes (50k images/s, 16 lanes), 8.8 of 9.8 ns.
LANES_PER_BEAT_COPY = 4


class MatrixVectorUnit(wiring.Component):
    """Computes ``acc = W x``, ``pe`` rows at a time, ``simd`` inputs per cycle.

    Input beats carry ``simd`` elements; the vector arrives as
    ``ceil(mw / simd)`` beats, once for each of the ``mh / pe`` row groups (a
    ``VectorBuffer`` replays it). Where ``simd`` does not divide ``mw`` the
    last beat is padded with all-zero elements, met by padding weights whose
    known contribution the accumulator starts without. Each output beat
    carries the ``pe`` accumulators of one row group as signed
    ``acc_width``-bit lanes. The weight format builds each
    lane's sum: XNOR-popcount or gated adds for ±1 weights, barrel shifts
    for power-of-two weights, add/subtract/skip for ternary weights,
    multipliers for integer weights.

    Folded units read one ``pe * simd``-code weight word per cycle from a ROM
    (a synchronous read, then two registers: see ``input_stages``); the fully parallel
    unit (``pe == mh``, ``simd == mw``) has its weights as constants. The
    datapath is a free-running pipeline: input register, each lane's adder
    tree registered every few levels, the accumulator, and a credit queue
    at the output (see :mod:`~hwgen.hw.pipeline`).

    Parameters
    ----------
    weights : one of ``WEIGHT_FORMATS`` (:mod:`~hwgen.hw.weights`)
        The ``(mh, mw)`` matrix in its hardware format.
    in_type : :class:`~hwgen.ir.Bipolar` or :class:`~hwgen.ir.Integer`
    acc_width : int
        Width of the signed accumulators; must hold every reachable sum.
    pe, simd : int
        Rows per output beat, dividing ``mh``, and inputs per input beat, at most ``mw``.
    """

    def __init__(self, weights: BinaryWeights | ShiftWeights | TernaryWeights | IntegerWeights, *,
                 in_type: ElementType, acc_width: int, pe: int, simd: int, rom_in_block_ram: bool = False):
        if not isinstance(weights, WEIGHT_FORMATS):
            raise TypeError(f"weights must be one of {', '.join(f.__name__ for f in WEIGHT_FORMATS)}, "
                            f"not {weights!r}")
        if weights.codes.ndim != 2:
            raise ValueError(f"weights must be 2-D, not of shape {weights.codes.shape}")
        mh, mw = weights.codes.shape
        if not isinstance(in_type, (Bipolar, Integer)):
            raise TypeError(f"in_type must be Bipolar or Integer, not {in_type!r}")
        if not isinstance(pe, int) or pe < 1 or mh % pe:
            raise ValueError(f"pe ({pe!r}) must be a positive divisor of the {mh} rows")
        if not isinstance(simd, int) or not 1 <= simd <= mw:
            raise ValueError(f"simd ({simd!r}) must lie in [1, {mw}], the number of columns")
        self._weights = weights
        self._in_type = in_type
        self._acc_width = acc_width
        self._pe = pe
        self._simd = simd
        self._rom_in_block_ram = rom_in_block_ram
        super().__init__({
            "i": In(stream.Signature(simd * in_type.width)),
            "o": Out(stream.Signature(pe * acc_width)),
        })

    @property
    def neuron_folds(self) -> int:
        """Row groups per vector (output beats per vector)."""
        return self._weights.codes.shape[0] // self._pe

    @property
    def synapse_folds(self) -> int:
        """Input beats per row group (the last one padded where ``simd`` does not divide ``mw``)."""
        return -(-self._weights.codes.shape[1] // self._simd)

    @property
    def padding(self) -> int:
        """All-zero elements padding each vector to a whole number of beats."""
        return self.synapse_folds * self._simd - self._weights.codes.shape[1]

    @property
    def cycles_per_vector(self) -> int:
        """Input beats, so cycles at full rate, per input vector."""
        return self.neuron_folds * self.synapse_folds

    @property
    def fully_parallel(self) -> bool:
        """Whether the weights are constants (one word: ``pe == mh`` and ``simd >= mw``)."""
        return self.cycles_per_vector == 1

    @property
    def beat_copies(self) -> int:
        """Copies of the input beat register, each feeding up to ``LANES_PER_BEAT_COPY``
        lanes, with the common terms built from it where the format has them."""
        return -(-self._pe // LANES_PER_BEAT_COPY)

    @property
    def rom_shape(self) -> tuple[int, int] | None:
        """The weight ROM's (word width, depth); None when the weights are constants."""
        if self.fully_parallel:
            return None
        return self._pe * self._simd * self._weights.code_width, self.cycles_per_vector

    @property
    def tree_plan(self) -> list[bool]:
        """Registers of each lane's adder tree (see :func:`~hwgen.hw.pipeline.adder_tree_plan`);
        the accumulator's add is one more level."""
        term_levels = self._weights.term_levels(self._in_type, self.fully_parallel)
        terms = self._weights.term_count(self._simd, self._in_type)
        return adder_tree_plan(terms, levels_done=term_levels, levels_after=1)

    @property
    def input_stages(self) -> int:
        """Registers from the input beat to its terms. A folded unit reads the beat's
        weights from ROM alongside the input register, then registers them twice: in
        the block RAM's own output register (see :mod:`~hwgen.netlist_passes`), and
        beside the lanes, for the block RAMs sit in a few rows far from most of them.
        The beat waits as long. (Reading a cycle ahead would save a stage, but puts
        the late ``accept`` on the block RAMs' address: 7.2 ns on digits-bnn.) A ROM
        of many block RAMs first copies its address (``rom_address_copies``): one more
        cycle, or two for more copies than one register feeds (``roms.address_stages``).
        A format that decodes its codes beside the lanes adds its ``decode_stages``, and
        one that holds its operands longer its ``operand_stages``."""
        if self.fully_parallel:
            return 1
        weights = self._weights
        return self.rom_read_cycles + 1 + weights.decode_stages + weights.operand_stages

    @cached_property
    def rom_address_copies(self) -> int:
        """Registers the weight ROM's address is copied into (see :func:`~.roms.address_copies`);
        kept, for ``input_stages`` and so ``latency`` ask for it often (the auto-folder)."""
        if self.fully_parallel:
            return 1
        _, depth = self.rom_shape
        return address_copies(varying_bits(self.codes_by_word(), self._weights.code_width), depth,
                              self._rom_in_block_ram)

    @property
    def rom_read_cycles(self) -> int:
        """Cycles from the weight ROM's address to its word (see :func:`~.roms.read_cycles`)."""
        return read_cycles(self.rom_address_copies, self.rom_shape[1], self._rom_in_block_ram)

    @property
    def _commons_beside_beat(self) -> bool:
        """Whether the common terms are made from the beat a register earlier and held in a
        register beside its last one, so that a lane's terms read registers only (the pair
        sums and their picks in one cycle were the worst path of the auto-folded
        mnist-mlp-bnn at 60k images/s: 8.05 ns). A fully parallel unit's beat has one
        register: its common terms follow it."""
        return self._weights.has_common_terms(self._in_type) and not self.fully_parallel

    @property
    def _product_stages(self) -> int:
        return self._weights.product_stages(self._in_type, self.fully_parallel)

    @property
    def latency(self) -> int:
        """Cycles from a row group's last input beat to its output beat: the
        input stages, the products', the tree's registers, the finish's, the
        accumulator, and the output queue."""
        return (self.input_stages + self._product_stages + sum(self.tree_plan)
                + self._weights.finish_stages(self._in_type) + 1 + QUEUE_LATENCY)

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Output offer cycles from input offer cycles (see :func:`~.pipeline.offers_after`):
        a row group's result follows its last beat."""
        folds = self.synapse_folds
        return offers_after(arrivals, range(folds - 1, len(arrivals), folds), self.latency)

    @cached_property
    def resources(self) -> Resources:
        """Estimated LUT4, FF and block RAM (see :mod:`~hwgen.hw.cost`); weight codes
        that are the same in every ROM word are constants to Yosys, and cost so."""
        pe, simd, acc = self._pe, self._simd, self._acc_width
        codes = self.codes_by_word()
        terms, term_width = self._weights.term_cost(self._in_type, codes, simd)
        weights = Resources()
        if not self.fully_parallel:
            _, depth = self.rom_shape
            if self._rom_in_block_ram:
                bits = varying_bits(codes, self._weights.code_width)
            else:
                bit_columns = codes[..., None] >> np.arange(self._weights.code_width) & 1
                bits = distinct_columns(bit_columns.reshape(len(codes), -1))
            address_bits = address_registers(self.rom_address_copies) * (depth - 1).bit_length()
            weights = (rom(bits, depth, self._rom_in_block_ram, self.input_stages - self.rom_read_cycles)
                       + Resources(ff=address_bits))
        tree = adder_tree(self._weights.term_count(simd, self._in_type), term_width, self.tree_plan)
        products = Resources(ff=self._product_stages * self._weights.term_count(simd, self._in_type)
                             * term_width)
        lane = tree + products + Resources(lut4=3 * adder_luts(acc),
                                           ff=(1 + self._weights.finish_stages(self._in_type)) * acc)
        copies = self.beat_copies
        common = (tree if self._weights.has_common_terms(self._in_type) else Resources()) * copies
        terms += self._weights.common_cost(self._in_type, simd) * copies
        queue = credit_queue(pe * acc, queue_depth(self.latency - QUEUE_LATENCY, self.synapse_folds))
        early = self._commons_beside_beat
        beat_registers = sum(copy_tree(self.input_stages - early, copies)) + early * copies
        pair_registers = early * copies * self._weights.term_count(simd, self._in_type) * (self._in_type.width + 1)
        beats = Resources(ff=beat_registers * simd * self._in_type.width + pair_registers)
        flags = 2 * sum(copy_tree(self.latency - QUEUE_LATENCY - 1, pe)) + self.latency
        return (lane * pe + common + weights + queue + terms + beats
                + Resources(lut4=CONTROL_LUTS, ff=flags))

    def codes_by_word(self) -> np.ndarray:
        """Shape (words, pe * simd): row ``nf * SF + sf`` holds code ``p * simd + s`` =
        W[nf*pe + p, sf*simd + s] (code 0 beyond the last column)."""
        nf, sf, pe, simd = self.neuron_folds, self.synapse_folds, self._pe, self._simd
        codes = np.pad(self._weights.codes, ((0, 0), (0, self.padding)))
        return codes.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3).reshape(nf * sf, pe * simd)

    def weight_words(self) -> list[int]:
        """ROM contents: word ``nf * SF + sf`` holds code ``p * simd + s`` = W[nf*pe + p, sf*simd + s]
        (code 0 beyond the last column)."""
        return [pack(word, self._weights.code_width) for word in self.codes_by_word()]

    def elaborate(self, platform):
        m = Module()
        pe, simd, depth = self._pe, self._simd, self.cycles_per_vector
        plan = self.tree_plan
        to_queue = self.latency - QUEUE_LATENCY
        m.submodules.queue = queue = CreditQueue(width=pe * self._acc_width, latency=to_queue,
                                                 interval=self.synapse_folds)
        wiring.connect(m, queue.o, wiring.flipped(self.o))

        word_index = Signal(range(depth))
        synapse_fold = Signal(range(self.synapse_folds))
        # A register, set a beat ahead (the counter's compare in `ready` began the
        # 75k-images/s mnist-mlp-bnn's worst path).
        last_synapse = Signal(init=self.synapse_folds == 1)
        ready, accept = registered_ready(
            m, queue, self.i.valid, last_synapse,
            Mux(last_synapse, self.synapse_folds == 1, synapse_fold == self.synapse_folds - 2))
        m.d.comb += self.i.ready.eq(ready)
        with m.If(accept):
            m.d.sync += [
                word_index.eq(Mux(word_index == depth - 1, 0, word_index + 1)),
                synapse_fold.eq(Mux(last_synapse, 0, synapse_fold + 1)),
            ]

        # The beat, and its weights read from ROM in the same cycle, then registered
        # without reset (synthesis makes the first register the block RAM's own, and
        # a multiplier's the last: hwgen/netlist_passes.py). The last (``operand_stages``) hold operands.
        copies = self.beat_copies
        early = self._commons_beside_beat
        beats = delayed_copies(m, self.i.payload, self.input_stages - early, "beat", copies, reset_less=True)
        code_width, operand_width = self._weights.code_width, self._weights.operand_width
        if self.fully_parallel:
            codes = [[int(c) for c in row] for row in self._weights.codes]
        else:
            addresses = self.rom_address_copies
            read = read_rom(m, "rom", self.weight_words(), pe * simd * code_width, word_index, self._rom_in_block_ram,
                            addresses)
            stages = self.input_stages - self.rom_read_cycles
            operand_stages = self._weights.operand_stages
            word = delayed(m, read, stages - operand_stages, "weights", reset_less=True)
            operands = Cat(self._weights.operand(word.word_select(k, code_width)) for k in range(pe * simd))
            word = delayed(m, operands, operand_stages, "operands", reset_less=True)
            codes = [[word.word_select(p * simd + s, operand_width) for s in range(simd)]
                     for p in range(pe)]
        lanes, commons = [], []
        for copy, beat in enumerate(beats):
            inputs = [beat.word_select(s, self._in_type.width) for s in range(simd)]
            if isinstance(self._in_type, Integer) and self._in_type.signed:
                inputs = [x.as_signed() for x in inputs]
            if early:
                registered = register(m, inputs, f"input{copy}_", reset_less=True)
                common = self._weights.registered_common_terms(m, inputs, registered, self._in_type, f"pairs{copy}_")
                inputs = registered
            else:
                common = self._weights.common_terms(inputs, self._in_type)
            lanes += [self._weights.staged_terms(m, inputs, codes[p], self._in_type, common, f"product{p}_")
                      for p in range(copy * LANES_PER_BEAT_COPY, min(pe, (copy + 1) * LANES_PER_BEAT_COPY))]
            if common:
                for stage in range(self._product_stages):
                    common = register(m, common, f"common{copy}_{stage}_", reset_less=True)
                commons.append(common)
        sums = pipelined_adder_tree(m, lanes + commons, plan, name="tree")
        common_sums = sums[pe:] or [None] * copies
        finished = [self._weights.finish(lane_sum, common_sums[p // LANES_PER_BEAT_COPY])
                    for p, lane_sum in enumerate(sums[:pe])]
        for stage in range(self._weights.finish_stages(self._in_type)):
            finished = register(m, finished, f"finished{stage}_", reset_less=True)
        # The accumulators' flags: a copy for each lane. A copy for four, of `first`, was
        # mnist-lfc-w1a1's worst path (6.86 ns, 5.03 of it routing).
        at_accumulator = to_queue - 1
        valids = delayed_copies(m, accept, at_accumulator, "valid", pe)
        firsts = delayed_copies(m, synapse_fold == 0, at_accumulator, "first", pe)
        last = delayed(m, last_synapse, at_accumulator, "last")

        # Padding inputs meet code 0; starting from minus their sum cancels them.
        # Each beat's constant offset is in the start too, once for all beats.
        # A partial sum may then leave the accumulator's range, but the
        # wrap-around arithmetic still ends on the exact result, which fits.
        start = (self._weights.beat_offset(simd, self._in_type) * self.synapse_folds
                 - self._weights.zero_code_sum(self.padding, self._in_type))
        # The queue takes the accumulators a cycle after their last add (from the
        # adder straight into the queue's LUT RAM was mnist-tfc-w1a1's worst path).
        accumulators = []
        for p, lane_sum in enumerate(finished):
            acc = Signal(signed(self._acc_width), name=f"acc{p}")
            total = Mux(firsts[p], start, acc) + lane_sum
            with m.If(valids[p]):
                m.d.sync += acc.eq(total)
            accumulators.append(acc)
        m.d.sync += queue.push.valid.eq(valids[0] & last)
        m.d.comb += queue.push.payload.eq(Cat(*accumulators))
        return m
