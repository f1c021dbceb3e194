"""The folded matrix-vector unit for bipolar weights (after FINN's MVU)."""
import numpy as np
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..ir import Bipolar, ElementType, Integer
from .adder_tree import adder_tree


class MatrixVectorUnit(wiring.Component):
    """Computes ``acc = W x`` for ±1 weights, ``pe`` rows at a time, ``simd`` inputs per cycle.

    Input beats carry ``simd`` elements; the vector arrives as ``mw / simd``
    beats, once for each of the ``mh / pe`` row groups (a ``VectorBuffer``
    replays it). Each output beat carries the ``pe`` accumulators of one row
    group as signed ``acc_width``-bit lanes. Bipolar inputs use XNOR and
    popcount (``acc = 2 * agreements - mw``); integer inputs are added or
    subtracted by the weight's sign. No multiplier anywhere.

    Folded units read one ``pe * simd``-bit weight word per cycle from a ROM
    (synchronous read, address prefetched so that a stall costs nothing); the
    fully parallel unit (``pe == mh``, ``simd == mw``) has its weights as
    constants.

    Parameters
    ----------
    weights : numpy array of 0/1, shape ``(mh, mw)``
        Bit 1 means +1.
    in_type : :class:`~hwgen.ir.Bipolar` or :class:`~hwgen.ir.Integer`
    acc_width : int
        Width of the signed accumulators; must hold every reachable sum.
    pe, simd : int
        Rows per output beat and inputs per input beat; they divide ``mh`` and ``mw``.
    """

    def __init__(self, weights: np.ndarray, *, in_type: ElementType, acc_width: int, pe: int,
                 simd: int):
        weights = np.asarray(weights)
        if weights.ndim != 2:
            raise ValueError(f"weights must be 2-D, not of shape {weights.shape}")
        mh, mw = weights.shape
        if not isinstance(in_type, (Bipolar, Integer)):
            raise TypeError(f"in_type must be Bipolar or Integer, not {in_type!r}")
        if not isinstance(pe, int) or pe < 1 or mh % pe:
            raise ValueError(f"pe ({pe!r}) must be a positive divisor of the {mh} rows")
        if not isinstance(simd, int) or simd < 1 or mw % simd:
            raise ValueError(f"simd ({simd!r}) must be a positive divisor of the {mw} columns")
        self._weights = weights.astype(np.uint8)
        self._in_type = in_type
        self._acc_width = acc_width
        self._pe = pe
        self._simd = simd
        super().__init__({
            "i": In(stream.Signature(simd * in_type.width)),
            "o": Out(stream.Signature(pe * acc_width)),
        })

    @property
    def neuron_folds(self) -> int:
        """Row groups per vector (output beats per vector)."""
        return self._weights.shape[0] // self._pe

    @property
    def synapse_folds(self) -> int:
        """Input beats per row group."""
        return self._weights.shape[1] // self._simd

    @property
    def cycles_per_vector(self) -> int:
        """Input beats, so cycles at full rate, per input vector."""
        return self.neuron_folds * self.synapse_folds

    @property
    def latency(self) -> int:
        """Cycles from a row group's last input beat to its output beat."""
        return 1

    def weight_words(self) -> list[int]:
        """ROM contents: word ``nf * SF + sf`` holds bit ``p * simd + s`` = W[nf*pe + p, sf*simd + s]."""
        nf, sf, pe, simd = self.neuron_folds, self.synapse_folds, self._pe, self._simd
        tiles = self._weights.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3).reshape(nf * sf, pe * simd)
        return [int.from_bytes(np.packbits(row, bitorder="little").tobytes(), "little") for row in tiles]

    def elaborate(self, platform):
        m = Module()
        pe, simd, depth = self._pe, self._simd, self.cycles_per_vector
        words = self.weight_words()

        word_index = Signal(range(depth))
        synapse_fold = Signal(range(self.synapse_folds))
        last_synapse = synapse_fold == self.synapse_folds - 1
        accept = Signal()
        # The ROM's read data lags its address by a cycle; wait one cycle after reset.
        primed = Signal()
        m.d.sync += primed.eq(1)
        m.d.comb += [
            self.i.ready.eq(primed & (~last_synapse | ~self.o.valid | self.o.ready)),
            accept.eq(self.i.valid & self.i.ready),
        ]
        next_index = Mux(word_index == depth - 1, 0, word_index + 1)
        if depth == 1:
            weight_word = Const(words[0], pe * simd)
        else:
            m.submodules.rom = rom = memory.Memory(shape=pe * simd, depth=depth, init=words)
            port = rom.read_port()
            m.d.comb += port.addr.eq(Mux(accept, next_index, word_index))
            weight_word = port.data

        inputs = [self.i.payload.word_select(s, self._in_type.width) for s in range(simd)]
        if isinstance(self._in_type, Integer) and self._in_type.signed:
            inputs = [x.as_signed() for x in inputs]
        accumulators = [Signal(signed(self._acc_width), name=f"acc{p}") for p in range(pe)]
        results = []
        for p, acc in enumerate(accumulators):
            lane = weight_word[p * simd:(p + 1) * simd]
            if isinstance(self._in_type, Bipolar):
                agree = ~(self.i.payload ^ lane)
                step = adder_tree([agree[s] for s in range(simd)])
            else:
                step = adder_tree([Mux(lane[s], x, -x) for s, x in enumerate(inputs)])
            total = Signal(signed(self._acc_width), name=f"sum{p}")
            m.d.comb += total.eq(Mux(synapse_fold == 0, 0, acc) + step)
            results.append(total)

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(accept):
            m.d.sync += word_index.eq(next_index)
            for acc, total in zip(accumulators, results):
                m.d.sync += acc.eq(total)
            with m.If(last_synapse):
                m.d.sync += [synapse_fold.eq(0), self.o.valid.eq(1)]
                mw = self._weights.shape[1]
                for p, total in enumerate(results):
                    # Bipolar lanes counted agreements; turn the count into the dot product.
                    value = 2 * total - mw if isinstance(self._in_type, Bipolar) else total
                    m.d.sync += self.o.payload.word_select(p, self._acc_width).eq(value)
            with m.Else():
                m.d.sync += synapse_fold.eq(synapse_fold + 1)
        return m
