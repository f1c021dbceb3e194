"""A register slice at each end of the network, so that no path inside starts or ends at a pin."""
from amaranth.hdl import Module, Mux, Signal

from .cost import Resources
from .pipeline import COPY_FANOUT, BeatForBeat, register_copies


class RegisterSlice(BeatForBeat):
    """A two-entry skid buffer: ``o.valid`` and ``o.payload`` are registers, ``i.ready``
    is a register's inverse (one LUT beside it), and a beat passes in one cycle at full
    rate.

    Without it the network's input handshake (``i.valid`` from a pin, ANDed with
    ``i.ready``) was a LUT that the placer pulled toward the pins, and from there to
    the first buffer's registers was the worst path of the auto-folded mnist-mlp-bnn
    at 75k images/s.

    Parameters: see ``BeatForBeat``.
    """

    @property
    def latency(self) -> int:
        return 1

    @property
    def resources(self) -> Resources:
        """The output and the spare register, and a mux per bit between them and the input."""
        flags = self.flag_copies
        return Resources(lut4=self._width + 3 + 2 * flags - self.copy_groups, ff=2 * self._width + 2 * flags)

    @property
    def copy_groups(self) -> int:
        """Groups of at most ``COPY_FANOUT`` payload bits, each with copies of its own of
        ``spare_valid`` and ``o.valid``, so that its mux select and register enables are
        LUTs beside it: the output registers sit by their pins, all around the die.
        One ``spare_valid`` for the 111 bits of mnist-lfc-w1a1's logits was its worst path
        (9.74 ns, 8.98 routing); one enable from ``o.ready`` for the input slice's 49 or 64
        bits, that of mnist-tfc-w1a1, mnist-sfc-w1a1 and digits-bnn (5.1-6.7 ns)."""
        return max(1, -(-self._width // COPY_FANOUT))

    @property
    def flag_copies(self) -> int:
        """Copies of ``spare_valid`` and of ``o.valid``: one per group, and where there are
        several, one more for ``i.ready`` and ``o.valid`` themselves. From group 0's
        ``spare_valid``, by its pins, to the argmax's ``ready`` register was mnist-lfc-w1a1's
        worst path (8.81 ns, 7.55 routing). (The one group of a narrow slice sits together.)"""
        return self.copy_groups + (self.copy_groups > 1)

    def elaborate(self, platform):
        m = Module()
        spare = Signal(self._width, reset_less=True)
        # A copy per group, and any after them, with no payload, for the handshake's own ports.
        spare_valid = register_copies(Signal(), self.flag_copies, "spare_valid")
        out_valid = register_copies(Signal(), self.flag_copies, "out_valid")
        m.d.comb += [self.i.ready.eq(~spare_valid[-1]), self.o.valid.eq(out_valid[-1])]
        for k, (spare_held, out_held) in enumerate(zip(spare_valid, out_valid)):
            group = slice(k * COPY_FANOUT, (k + 1) * COPY_FANOUT) if k < self.copy_groups else slice(0, 0)
            with m.If(self.o.ready | ~out_held):
                # The output register takes the spare first: beats leave in order.
                m.d.sync += [out_held.eq(spare_held | self.i.valid), spare_held.eq(0),
                             self.o.payload[group].eq(Mux(spare_held, spare[group], self.i.payload[group]))]
            with m.Elif(self.i.valid & ~spare_held):
                m.d.sync += [spare[group].eq(self.i.payload[group]), spare_held.eq(1)]
        return m
