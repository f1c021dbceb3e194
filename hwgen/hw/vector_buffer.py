"""A double-buffered vector store that turns a layer's output into the next layer's input."""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class VectorBuffer(wiring.Component):
    """Collects a vector and replays it, folded, as many times as a layer needs.

    A matrix-vector unit folded into ``repeats`` row groups reads its whole
    input vector once per group. This buffer receives the vector
    ``in_per_beat`` elements at a time and sends it ``out_per_beat`` elements
    at a time, ``repeats`` times over. It has two banks, so the next vector
    fills one while the current one is replayed from the other.

    Parameters
    ----------
    element_width : int
        Bits per element.
    size : int
        Elements per vector.
    in_per_beat, out_per_beat : int
        Elements per input and per output beat; both divide ``size``.
    repeats : int
        How many times each vector is sent.

    Members
    -------
    i : ``In(stream.Signature(in_per_beat * element_width))``
    o : ``Out(stream.Signature(out_per_beat * element_width))``
        Element ``k`` of a beat sits at bits ``[k * element_width, (k + 1) * element_width)``.
    """

    def __init__(self, *, element_width: int, size: int, in_per_beat: int, out_per_beat: int,
                 repeats: int):
        for name, value in (("element_width", element_width), ("size", size),
                            ("in_per_beat", in_per_beat), ("out_per_beat", out_per_beat),
                            ("repeats", repeats)):
            if not isinstance(value, int) or value < 1:
                raise TypeError(f"{name} must be a positive integer, not {value!r}")
        for name, value in (("in_per_beat", in_per_beat), ("out_per_beat", out_per_beat)):
            if size % value:
                raise ValueError(f"{name} ({value}) must divide size ({size})")
        self._element_width = element_width
        self._size = size
        self._in_per_beat = in_per_beat
        self._out_per_beat = out_per_beat
        self._repeats = repeats
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
        """Output beats per replay of a vector."""
        return self._size // self._out_per_beat

    @property
    def replay_cycles(self) -> int:
        """Output beats per vector, all replays together."""
        return self.out_words * self._repeats

    @property
    def cycles_per_vector(self) -> int:
        """Cycles per vector at full rate: filling one bank overlaps replaying the other."""
        return max(self.in_beats, self.replay_cycles)

    @property
    def latency(self) -> int:
        """Cycles from a vector's last input beat to its first output beat."""
        return 1

    def elaborate(self, platform):
        m = Module()
        width = self._size * self._element_width
        in_width = self._in_per_beat * self._element_width
        out_width = self._out_per_beat * self._element_width

        banks = [Signal(width, name=f"bank{b}") for b in range(2)]
        full = [Signal(name=f"bank{b}_full") for b in range(2)]
        write_bank = Signal()
        write_beat = Signal(range(self.in_beats))
        read_bank = Signal()
        read_word = Signal(range(self.out_words))
        read_repeat = Signal(range(self._repeats))

        m.d.comb += self.i.ready.eq(~Mux(write_bank, full[1], full[0]))
        with m.If(self.i.valid & self.i.ready):
            for b in range(2):
                with m.If(write_bank == b):
                    m.d.sync += banks[b].word_select(write_beat, in_width).eq(self.i.payload)
                    with m.If(write_beat == self.in_beats - 1):
                        m.d.sync += full[b].eq(1)
            with m.If(write_beat == self.in_beats - 1):
                m.d.sync += [write_beat.eq(0), write_bank.eq(~write_bank)]
            with m.Else():
                m.d.sync += write_beat.eq(write_beat + 1)

        m.d.comb += [
            self.o.valid.eq(Mux(read_bank, full[1], full[0])),
            self.o.payload.eq(Mux(read_bank, banks[1], banks[0]).word_select(read_word, out_width)),
        ]
        with m.If(self.o.valid & self.o.ready):
            with m.If(read_word == self.out_words - 1):
                m.d.sync += read_word.eq(0)
                with m.If(read_repeat == self._repeats - 1):
                    m.d.sync += [read_repeat.eq(0), read_bank.eq(~read_bank)]
                    for b in range(2):
                        with m.If(read_bank == b):
                            m.d.sync += full[b].eq(0)
                with m.Else():
                    m.d.sync += read_repeat.eq(read_repeat + 1)
            with m.Else():
                m.d.sync += read_word.eq(read_word + 1)
        return m
