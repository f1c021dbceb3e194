"""A relay between two units: a stream carried across the die in registers, both ways."""
from amaranth.hdl import Module
from amaranth.lib import wiring

from .cost import Resources, credit_queue
from .pipeline import QUEUE_LATENCY, BeatForBeat, CreditQueue, delayed, queue_depth


class Relay(BeatForBeat):
    """Beats go forward through ``stages`` free-running registers into a ``CreditQueue``
    at the far end, and each beat's departure from it comes back through as many before
    ``i.ready`` counts its slot free again. So no net between the two ends starts or
    ends at a LUT: the placer can spread the registers along the way.

    Between units the handshake is one cycle each way: ``ready`` from the downstream
    unit's registers to the enables of the upstream unit's output, ``valid`` and the
    payload the other way. Where the placer puts two units far apart those nets were the
    worst paths (digits-shift's three placements: 8.9-10.8 ns, almost all routing).

    Parameters
    ----------
    width : int
        Payload bits.
    stages : int
        Registers each way, at least 1.
    beats : int
        Beats per image (for ``cycles_per_image``).
    """

    def __init__(self, *, width: int, stages: int, beats: int):
        if stages < 1:
            raise ValueError(f"a relay needs at least one stage, not {stages}")
        self._stages = stages
        super().__init__(width=width, beats=beats)

    @property
    def latency(self) -> int:
        """Cycles from a beat taken to the beat offered: the stages, then the queue."""
        return self._stages + QUEUE_LATENCY

    @property
    def resources(self) -> Resources:
        """The queue, and the forward and return registers."""
        return (credit_queue(self._width, queue_depth(self._stages, return_delay=self._stages))
                + Resources(ff=self._stages * (self._width + 2)))

    def elaborate(self, platform):
        m = Module()
        m.submodules.queue = queue = CreditQueue(width=self._width, latency=self._stages, return_delay=self._stages)
        accept = self.i.valid & queue.free
        m.d.comb += [self.i.ready.eq(queue.free), queue.reserve.eq(accept),
                     queue.push.valid.eq(delayed(m, accept, self._stages, "sent")),
                     queue.push.payload.eq(delayed(m, self.i.payload, self._stages, "beat", reset_less=True))]
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        return m
