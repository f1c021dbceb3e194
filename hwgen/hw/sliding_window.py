"""The sliding-window generator: an image stream in, its convolution windows out."""
from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .vector_buffer import next_full


class SlidingWindowUnit(wiring.Component):
    """Turns a raster-order HWC image into the windows of a convolution (after FINN's SWG).

    The image arrives ``per_beat`` channels to a beat and is stored in a
    frame memory of two banks, so the next image is written while windows
    of the current one are read. Windows leave in the ``Window`` op's order
    (output pixels in raster order; within a window ``ky``, ``kx``, then
    channels), ``per_beat`` channels to a beat; positions outside the image
    read as the pad value, all-zero bits (0 for integers, -1 for bipolar).
    Addresses come from counters, so any kernel, stride and padding work.

    When a beat holds a whole pixel (``per_beat == channels``, as for a
    one-channel input image), an output beat holds a whole window row
    instead: ``kernel`` pixels read through ``kernel`` read ports, so the
    window stream is ``kernel`` times shorter.

    Parameters
    ----------
    element_width : int
    shape : (height, width, channels)
    kernel, stride, padding : int
    per_beat : int
        Channels per input beat; divides ``channels``. Output beats carry
        ``per_beat`` elements, or ``kernel * channels`` in whole-row mode.
    """

    def __init__(self, *, element_width: int, shape: tuple[int, int, int], kernel: int, stride: int,
                 padding: int, per_beat: int):
        height, width, channels = shape
        if not isinstance(per_beat, int) or per_beat < 1 or channels % per_beat:
            raise ValueError(f"per_beat ({per_beat!r}) must be a positive divisor of the {channels} channels")
        self._element_width = element_width
        self._shape = shape
        self._kernel, self._stride, self._padding = kernel, stride, padding
        self._per_beat = per_beat
        self._out_h = (height + 2 * padding - kernel) // stride + 1
        self._out_w = (width + 2 * padding - kernel) // stride + 1
        super().__init__({
            "i": In(stream.Signature(per_beat * element_width)),
            "o": Out(stream.Signature(self.out_per_beat * element_width)),
        })

    @property
    def whole_rows(self) -> bool:
        """Whether each output beat is a whole window row (a beat holds a whole pixel)."""
        return self._per_beat == self._shape[2]

    @property
    def out_per_beat(self) -> int:
        return self._kernel * self._per_beat if self.whole_rows else self._per_beat

    @property
    def beats_per_pixel(self) -> int:
        return self._shape[2] // self._per_beat

    @property
    def in_beats(self) -> int:
        """Input beats per image."""
        return self._shape[0] * self._shape[1] * self.beats_per_pixel

    @property
    def out_beats(self) -> int:
        """Output beats per image: every window, whole."""
        per_window = self._kernel if self.whole_rows else self._kernel ** 2 * self.beats_per_pixel
        return self._out_h * self._out_w * per_window

    @property
    def cycles_per_vector(self) -> int:
        """Cycles per image at full rate: writing and reading overlap, the longer one sets the pace."""
        return max(self.in_beats, self.out_beats)

    @property
    def latency(self) -> int:
        """Cycles from an image's last input beat to its first window beat."""
        return 1

    def elaborate(self, platform):
        m = Module()
        height, width, _ = self._shape
        beats = self.beats_per_pixel
        frame = self.in_beats
        lanes = self._kernel if self.whole_rows else 1
        m.submodules.frames = frames = memory.Memory(shape=len(self.i.payload), depth=2 * frame, init=[])
        write = frames.write_port()
        reads = [frames.read_port(domain="comb") for _ in range(lanes)]

        full = Signal(2)
        write_bank, write_addr = Signal(), Signal(range(frame))
        m.d.comb += [
            self.i.ready.eq(~full.bit_select(write_bank, 1)),
            write.addr.eq(write_bank * frame + write_addr),
            write.data.eq(self.i.payload),
            write.en.eq(self.i.valid & self.i.ready),
        ]
        filled = write.en & (write_addr == frame - 1)
        with m.If(write.en):
            with m.If(filled):
                m.d.sync += [write_addr.eq(0), write_bank.eq(~write_bank)]
            with m.Else():
                m.d.sync += write_addr.eq(write_addr + 1)

        # Read counters, innermost first: channel beat, kx, ky, output x, output y
        # (whole-row mode reads every kx at once, and a pixel is one beat).
        read_bank = Signal()
        cb, kx, ky = Signal(range(beats)), Signal(range(self._kernel)), Signal(range(self._kernel))
        ox, oy = Signal(range(self._out_w)), Signal(range(self._out_h))
        coordinate = signed(max(height, width).bit_length() + self._padding.bit_length() + 2)
        y = Signal(coordinate)
        m.d.comb += y.eq(oy * self._stride - self._padding + ky)
        beat_width = len(self.i.payload)
        for lane, read in enumerate(reads):
            x = Signal(coordinate, name=f"x{lane}")
            m.d.comb += x.eq(ox * self._stride - self._padding + (lane if self.whole_rows else kx))
            inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
            m.d.comb += [
                read.addr.eq(read_bank * frame + (y * width + x) * beats + cb),
                self.o.payload.word_select(lane, beat_width).eq(Mux(inside, read.data, 0)),
            ]
        m.d.comb += self.o.valid.eq(full.bit_select(read_bank, 1))
        counters = ([(ky, self._kernel)] if self.whole_rows else [(cb, beats), (kx, self._kernel), (ky, self._kernel)])
        counters += [(ox, self._out_w), (oy, self._out_h)]
        sent = self.o.valid & self.o.ready
        with m.If(sent):
            carry = 1
            for counter, limit in counters:
                wraps = counter == limit - 1
                with m.If(carry):
                    m.d.sync += counter.eq(Mux(wraps, 0, counter + 1))
                carry = carry & wraps
            with m.If(carry):   # the image's last window beat
                m.d.sync += read_bank.eq(~read_bank)
        emptied = sent & carry
        m.d.sync += full.eq(next_full(full, filled, write_bank, emptied, read_bank))
        return m
