"""The sliding-window generator: an image stream in, its convolution windows out."""
import itertools

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .constant_product import times
from .cost import (BLOCK_RAM_BITS, BLOCK_RAM_LUT4_WORTH, CONTROL_LUTS, LUT_RAM_LINES_DEPTH, Resources, block_rams,
                   credit_queue, lut_ram)
from .pipeline import (BEFORE_THE_IMAGE, QUEUE_LATENCY, CreditQueue, delayed, delayed_copies, less_than, lookup,
                       queue_depth)


class SlidingWindowUnit(wiring.Component):
    """Turns a raster-order HWC image into the windows of a convolution (after FINN's SWG).

    The image arrives ``in_per_beat`` channels to a beat and is kept in line
    buffers: a ring of ``ring_rows`` image rows in one memory. A row's slot
    is reused once no window still to come needs the row, so the next
    image's first rows are written while the last windows of this one are
    read. Windows leave in the ``Window`` op's order (output pixels in
    raster order; within a window ``ky``, ``kx``, then channels),
    ``in_per_beat`` channels to a beat; positions outside the image read as the
    pad value, all-zero bits (0 for integers, -1 for bipolar). Addresses come
    from counters, so any kernel, stride and padding work.

    When a beat holds a whole pixel (``in_per_beat == channels``, as for a
    one-channel input image), an output beat holds a whole window row
    instead: ``kernel`` pixels read through ``kernel`` read ports, so the
    window stream is ``kernel`` times shorter; with ``whole_windows`` it
    holds the whole window, ``kernel ** 2`` pixels through as many ports,
    one window a cycle, for a fully parallel layer after it.

    Parameters
    ----------
    element_width : int
    shape : (height, width, channels)
    kernel, stride, padding : int
    in_per_beat : int
        Channels per input beat; divides ``channels``. Output beats carry
        ``in_per_beat`` elements, or ``kernel * channels`` in whole-row mode.
    whole_windows : bool
        Where a beat holds a whole pixel, send a whole window a beat.
    block_ram : bool
        Whether the line buffers may go into block RAM (see ``in_block_ram``).
    """

    def __init__(self, *, element_width: int, shape: tuple[int, int, int], kernel: int, stride: int,
                 padding: int, in_per_beat: int, whole_windows: bool = False, block_ram: bool = False):
        height, width, channels = shape
        if not isinstance(in_per_beat, int) or in_per_beat < 1 or channels % in_per_beat:
            raise ValueError(f"in_per_beat ({in_per_beat!r}) must be a positive divisor of the {channels} channels")
        self._element_width = element_width
        self._shape = shape
        self._kernel, self._stride, self._padding = kernel, stride, padding
        self._in_per_beat = in_per_beat
        self._whole_windows = whole_windows and in_per_beat == channels
        self._block_ram = block_ram
        self._out_h = (height + 2 * padding - kernel) // stride + 1
        self._out_w = (width + 2 * padding - kernel) // stride + 1
        super().__init__({
            "i": In(stream.Signature(in_per_beat * element_width)),
            "o": Out(stream.Signature(self.out_per_beat * element_width)),
        })

    @property
    def whole_rows(self) -> bool:
        """Whether each output beat is a whole window row (a beat holds a whole pixel)."""
        return self._in_per_beat == self._shape[2]

    @property
    def rows_per_beat(self) -> int:
        """Window rows an output beat holds in whole-row mode: one, or all of them."""
        return self._kernel if self._whole_windows else 1

    @property
    def out_per_beat(self) -> int:
        if self.whole_rows:
            return self.rows_per_beat * self._kernel * self._in_per_beat
        return self._in_per_beat

    @property
    def beats_per_pixel(self) -> int:
        return self._shape[2] // self._in_per_beat

    @property
    def ring_rows(self) -> int:
        """Image rows the line buffers hold.

        A window row's ``kernel`` rows plus ``stride`` more let the writer
        fill the next output row's rows while this one is read; ``kernel``
        more let it fill the next image's first rows while the last windows
        of this image are read. Never more than two whole images and a row: the
        writer sees a row released a cycle after its last read, so with exactly
        two images it waited a cycle whenever reading an image took as long as
        writing one (a 3x3 image, one 3x3 window: random graph 1399).
        """
        return min(2 * self._kernel + self._stride, 2 * self._shape[0] + 1)

    @property
    def in_beats(self) -> int:
        """Input beats per image."""
        return self._shape[0] * self._shape[1] * self.beats_per_pixel

    @property
    def out_beats(self) -> int:
        """Output beats per image: every window, whole."""
        per_window = self._kernel // self.rows_per_beat if self.whole_rows else self._kernel ** 2 * self.beats_per_pixel
        return self._out_h * self._out_w * per_window

    @property
    def cycles_per_image(self) -> int:
        """Cycles per image at full rate: writing and reading overlap, the longer one sets the pace."""
        return max(self.in_beats, self.out_beats)

    def row_table(self) -> list[tuple[int, int, int]]:
        """Per output row: the first image row its windows need (kept rows start there),
        how many more they need after it, and how many rows no later window needs
        (up to the next row's first, or the rest of the image after the last row)."""
        height, kernel, stride, padding = self._shape[0], self._kernel, self._stride, self._padding
        table = []
        for oy in range(self._out_h):
            first = max(oy * stride - padding, 0)
            last = min(oy * stride - padding + kernel - 1, height - 1)
            following = height if oy == self._out_h - 1 else max((oy + 1) * stride - padding, 0)
            table.append((first, last - first, following - first))
        return table

    @property
    def read_stages(self) -> int:
        """Registers between issuing a beat's read and pushing it into the output queue:
        the row's slot and the column, the read address, a copy of it, the memory's
        registered read, and a register of the data read.

        The address is the sum of the slot's row and the column: nextpnr packs its
        register into the adder's slices, and from there to the line buffer's LUT RAM
        was digits-cnn-bnn's worst path (6.95 ns, 3.28 of it on the address net); the
        copy is free to sit by the LUT RAM. The data's register is, in block RAM, the
        block's own output register (its data comes late after the clock); in LUT RAM
        one beside the queue: with it each of three placements of digits-cnn-bnn closed
        at 148.5-153.2 MHz, and at 140.5-147.3 without (BENCHMARKS.md)."""
        return 5

    @property
    def latency(self) -> int:
        """Cycles from the input beat that completes a window row's last image row to its
        first beat: the row is counted, the read issued, its stages, the output queue."""
        return 1 + self.read_stages + QUEUE_LATENCY

    def schedule(self, arrivals: list[int]) -> list[int]:
        """Output offer cycles from input offer cycles (see :func:`~.pipeline.offers_after`).

        The writer takes a beat a cycle. A beat's read is issued, one a cycle, from the
        cycle after the last row its output row needs is written, and offered
        ``read_stages + QUEUE_LATENCY`` cycles after its issue. (The ring holds every
        row an output row needs, so for one image it never holds the writer back
        from a row the reader waits for.)"""
        row_words = self._shape[1] * self.beats_per_pixel
        taken, written = BEFORE_THE_IMAGE, []   # cycles: the last beat taken, each row's last beat
        for beat, arrival in enumerate(arrivals):
            taken = max(arrival, taken + 1)
            if (beat + 1) % row_words == 0:
                written.append(taken)
        beats_per_row = self.out_beats // self._out_h
        issued, offers = BEFORE_THE_IMAGE, []
        for first, need, _ in self.row_table():
            # A row of windows over top padding alone (its last row, first + need, is -1) waits for nothing.
            ready = written[first + need] + 1 if first + need >= 0 else BEFORE_THE_IMAGE
            for _ in range(beats_per_row):
                issued = max(issued + 1, ready)
                offers.append(issued + self.read_stages + QUEUE_LATENCY)
        return offers

    @property
    def in_block_ram(self) -> bool:
        """Whether the line buffers are in block RAM: where they may be, and each one (a
        copy per read port) is deeper than ``LUT_RAM_LINES_DEPTH``, fills a block or saves
        ``BLOCK_RAM_LUT4_WORTH`` LUT4 of LUT RAM
        a block (mnist-lenet-ternary's first window reads 25 ports of 308 words: 10k LUT4
        in LUT RAM)."""
        width, depth = self._lines_shape
        blocks = block_rams(width, depth)
        return self._block_ram and (depth > LUT_RAM_LINES_DEPTH or width * depth >= BLOCK_RAM_BITS
                                    or lut_ram(width, depth).lut4 >= BLOCK_RAM_LUT4_WORTH * blocks)

    @property
    def _lines_shape(self) -> tuple[int, int]:
        """(width, depth) of each read port's line buffer."""
        return len(self.i.payload), self.ring_rows * self._shape[1] * self.beats_per_pixel

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 and FF (see :mod:`~hwgen.hw.cost`): the line buffers, their
        write registers and read address copies (one of each per read port), the address counters and registers,
        the output queue."""
        ports = self.rows_per_beat * self._kernel if self.whole_rows else 1
        width, depth = self._lines_shape
        address_bits = (depth - 1).bit_length()
        write_registers = Resources(ff=width + 2 * address_bits + 1)   # and the read address's copy
        lines = (write_registers + (Resources(dp16kd=block_rams(width, depth)) if self.in_block_ram
                                    else lut_ram(width, depth) + Resources(ff=2 * width))) * ports
        queue = credit_queue(len(self.o.payload), queue_depth(self.read_stages))
        # The per-row tables' entries (this cycle's, this row's, the next row's two):
        # (stored, window stored, room) for each of four cases, one table each.
        row_tables = Resources(ff=4 * 3 * 4 * self._table_width)
        coordinates = Resources(ff=2 * self._coordinate_width * ports)   # each port's pixel, held
        return lines + queue + row_tables + coordinates + Resources(lut4=4 * CONTROL_LUTS, ff=60 + 16 * ports)

    @property
    def _stored_width(self) -> int:
        """Bits of the signed count of stored rows (see ``elaborate``)."""
        return (2 * self.ring_rows + self._shape[0]).bit_length() + 1

    @property
    def _coordinate_width(self) -> int:
        """Bits of a signed pixel coordinate, padding and stride included."""
        height, width, _ = self._shape
        return max(height, width).bit_length() + max(self._padding, self._stride).bit_length() + 2

    @property
    def _table_width(self) -> int:
        return self._stored_width + 2

    def elaborate(self, platform):
        m = Module()
        height, width, _ = self._shape
        kernel, stride, padding = self._kernel, self._stride, self._padding
        beats = self.beats_per_pixel
        row_words = width * beats
        ring = self.ring_rows
        # Each lane reads the pixel at (dy, dx) from the counters' (ky, kx).
        offsets = ([(dy, dx) for dy in range(self.rows_per_beat) for dx in range(kernel)]
                   if self.whole_rows else [(0, 0)])

        def wrapped(slot):   # a slot number, back into the ring
            return Mux(slot >= ring, slot - ring, slot)

        # A free-running read pipeline (see pipeline.py): a beat's read is issued when its
        # rows are stored and the output queue has room; its address is made in two
        # registered steps, then read by a registered port, then pushed into the queue. The
        # writer sees a row released a cycle after the reader does, so that a slot
        # released by the read issued last is written at the earliest in the cycle that
        # read is made, and a read port that is not transparent still sees the old row.
        m.submodules.queue = queue = CreditQueue(width=len(self.o.payload), latency=self.read_stages)
        wiring.connect(m, queue.o, wiring.flipped(self.o))

        # `stored` counts the rows from the first one the current output row
        # needs to the last one fully written, as the writer sees them: in the
        # cycle after a row is done (`releasing`), the rows the last output row
        # released still count. It
        # goes negative when the reader has moved past rows (never needed ones,
        # at an image's end) the writer has yet to write. The writer may fill a
        # slot while fewer than `ring` rows are kept.
        stored = Signal(signed(self._stored_width))
        beat_width, depth = len(self.i.payload), ring * row_words
        write_address, write_pos = Signal(range(depth)), Signal(range(row_words))
        taken = self.i.valid & self.i.ready
        row_written = taken & (write_pos == row_words - 1)
        room = Signal(init=1)   # stored < ring, kept in a register (updated below)
        m.d.comb += self.i.ready.eq(room)
        with m.If(taken):
            m.d.sync += [write_pos.eq(Mux(row_written, 0, write_pos + 1)),
                         write_address.eq(Mux(write_address == depth - 1, 0, write_address + 1))]

        # One memory per read port, each written through registers of its own: one write
        # enable and address driving every port's copy (Yosys copies a memory for each
        # read port) was mnist-lenet-ternary's worst path, 19.8 ns. The write lands a
        # cycle late, still before any read of its row: a row's reads are issued a cycle
        # after its last beat is taken at the earliest, and read two cycles after that.
        ports = len(offsets)
        enables = delayed_copies(m, taken, 1, "write", ports)
        addresses = delayed_copies(m, write_address, 1, "write_address", ports, reset_less=True)
        data = delayed_copies(m, self.i.payload, 1, "write_data", ports, reset_less=True)
        reads = []
        for lane in range(ports):
            # A read never meets a write of its word (above): no collision logic.
            style = {"ram_style": "block", "no_rw_check": 1} if self.in_block_ram else {"ram_style": "distributed"}
            lines = memory.Memory(shape=beat_width, depth=depth, init=[], attrs=style)
            m.submodules[f"lines{lane}"] = lines
            write = lines.write_port()
            m.d.comb += [write.en.eq(enables[lane]), write.addr.eq(addresses[lane]), write.data.eq(data[lane])]
            reads.append(lines.read_port(transparent_for=()))

        # Read counters, innermost first: channel beat, kx, ky, output x, output y
        # (whole-row mode reads every kx at once, and a pixel is one beat).
        # `top` is the image row of the window's first row (ky = 0), maybe
        # negative; the first row kept, max(top, 0), is in slot first_slot, so
        # that row `top` would be in slot `top_slot` = first_slot + top - max(top, 0)
        # (mod ring), kept as a register of its own. What depends only on the
        # output row comes from tables indexed by `oy`, so that a row's end
        # (row_done, late in the cycle) only enables registers.
        cb, kx, ky = Signal(range(beats)), Signal(range(kernel)), Signal(range(kernel))
        ox, oy = Signal(range(self._out_w)), Signal(range(self._out_h))
        coordinate = signed(self._coordinate_width)
        top = Signal(coordinate, init=-padding)
        above = [min(oy * stride - padding, 0) for oy in range(self._out_h)]   # top - max(top, 0)
        top_slot = Signal(range(ring), init=above[0] % ring)
        rows = self.row_table()
        _, needs, releases = (list(column) for column in zip(*rows))
        # From one output row's top slot to the next one's: its release, and the change in `above`.
        # A register, looked up as the row before ends: from `oy` through the table, the add
        # and the wrap into `top_slot` was the auto-folded mnist-lenet-bnn's worst path (7.85 ns).
        steps = [(release + above[(k + 1) % len(rows)] - above[k]) % ring for k, release in enumerate(releases)]
        step = Signal(range(ring), name="top_step", init=steps[0])
        for lane, ((dy, dx), read) in enumerate(zip(offsets, reads)):
            y, x = Signal(coordinate, name=f"y{lane}"), Signal(coordinate, name=f"x{lane}")
            slot = Signal(range(2 * ring), name=f"slot{lane}")
            m.d.comb += [
                y.eq(top + ky + dy),
                x.eq(times(ox, stride) - padding + kx + dx),
                slot.eq(top_slot + ky + dy),   # ky + dy < kernel <= ring: one wrap at most
            ]
            # Whether the pixel is inside, from registers of its coordinates: from the
            # counters through their sums and the compares was mini-mnist-cnn's worst path
            # at 125.5 MHz (three carry chains in series, 7.97 ns).
            y_held, x_held = Signal.like(y, name=f"y{lane}_held"), Signal.like(x, name=f"x{lane}_held")
            m.d.sync += [y_held.eq(y), x_held.eq(x)]
            inside = (y_held >= 0) & (y_held < height) & (x_held >= 0) & (x_held < width)
            # The row's slot and the word within the row, then the address from them.
            row_slot = Signal(range(ring), name=f"row_slot{lane}")
            column = Signal.like(times(x, beats) + cb, name=f"column{lane}")
            address = Signal.like(read.addr, name=f"address{lane}")
            m.d.sync += [row_slot.eq(wrapped(slot)), column.eq(times(x, beats) + cb),
                         address.eq(times(row_slot, row_words) + column)]
            data = delayed(m, read.data, 1, f"line{lane}", reset_less=True)   # see read_stages
            m.d.comb += [
                read.addr.eq(delayed(m, address, 1, f"address{lane}_copy", reset_less=True)),
                queue.push.payload.word_select(lane, beat_width).eq(
                    Mux(delayed(m, inside, self.read_stages - 1, f"inside{lane}"), data, 0)),
            ]
        issue = Signal()
        window_stored = Signal()   # stored > need, kept in a register (updated below)
        m.d.comb += [
            issue.eq(window_stored & queue.free),
            queue.reserve.eq(issue),
            queue.push.valid.eq(delayed(m, issue, self.read_stages, "issued")),
        ]

        if self._whole_windows:
            counters = []
        elif self.whole_rows:
            counters = [(ky, kernel)]
        else:
            counters = [(cb, beats), (kx, kernel), (ky, kernel)]
        counters.append((ox, self._out_w))
        # Whether each counter is at its limit is a register of its own, so that a row's end
        # is one gate after `issue`: through the counters' compares, from the output
        # queue's `free` to the per-row picks was mini-mnist-cnn's worst path (8.14 ns).
        carry = issue
        for counter, limit in counters:
            wraps = Signal(init=limit == 1, name=f"{counter.name}_wraps")
            with m.If(carry):
                m.d.sync += [counter.eq(Mux(wraps, 0, counter + 1)),
                             wraps.eq(1 if limit == 1 else ~wraps & (counter == limit - 2))]
            carry = carry & wraps
        row_done = carry
        last_row = oy == self._out_h - 1
        with m.If(row_done):
            m.d.sync += [
                oy.eq(Mux(last_row, 0, oy + 1)),
                top.eq(Mux(last_row, -padding, top + stride)),
                top_slot.eq(wrapped(top_slot + step)),
                step.eq(lookup(steps, Mux(last_row, 0, oy + 1))),
            ]

        # Next cycle's row count and flags for each case of the late signals (a row
        # written, a row done): each case compares `stored` with one per-row table
        # entry, a single carry chain from registers, and the late signals only pick
        # (digits-cnn-bnn's `room` was two chains after a table lookup, 7.5 ns).
        # Whether the last row's release is still to apply (`releasing`, a register)
        # is settled in the entries a cycle ahead: with it as a third case, `stored`
        # fed 24 chains, and from it to `window_stored` was digits-cnn-bnn's worst
        # path, 7.19 ns (5.13 routing).
        next_needs = needs[1:] + needs[:1]
        released = releases[-1:] + releases[:-1]   # by the row before (oy has moved on)
        table_width = self._table_width

        def per_row(entries):
            """This cycle's entry, ``entries(late)[oy]`` with ``late`` = ``releasing``, from a
            register. The next row's entries wait in registers of their own, so that a
            row's end only picks between registers (the lookup into a table then the
            compare was the design's longest path, 6.8 ns on digits-cnn-bnn)."""
            kept, released_late = entries(0), entries(1)
            rows = len(kept)
            entry = Signal(signed(table_width), init=kept[0])
            current = Signal(signed(table_width), init=kept[0])          # this row's, late = 0
            upcoming = [Signal(signed(table_width), init=values[1 % rows]) for values in (kept, released_late)]
            with m.If(row_done):
                m.d.sync += [entry.eq(upcoming[1]), current.eq(upcoming[0])]
                m.d.sync += [register.eq(lookup([values[(k + 2) % rows] for k in range(rows)], oy, table_width))
                             for register, values in zip(upcoming, (kept, released_late))]
            with m.Else():
                m.d.sync += entry.eq(current)
            return entry

        def case(written, done):
            """(stored, window stored, room) next cycle, if a row is written and done so."""
            fewer = per_row(lambda late: [late * before - written for before in released])
            needed = per_row(lambda late: [(after + now_released if done else now) + late * before - written
                                           for now, after, now_released, before
                                           in zip(needs, next_needs, releases, released)])
            limit = per_row(lambda late: [ring + late * before - written for before in released])
            return stored - fewer, less_than(needed, stored), less_than(stored, limit)

        outcomes = {key: case(*key) for key in itertools.product((0, 1), repeat=2)}
        for field, target in enumerate((stored, window_stored, room)):
            m.d.sync += target.eq(Mux(row_written, Mux(row_done, outcomes[1, 1][field], outcomes[1, 0][field]),
                                      Mux(row_done, outcomes[0, 1][field], outcomes[0, 0][field])))
        return m
