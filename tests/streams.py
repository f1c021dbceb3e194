"""Stream driver and monitor for amaranth.sim tests, with random idles and stalls."""
import random

from amaranth.sim import Simulator

from hwgen.packing import pack  # noqa: F401  (re-exported for the tests)

PERIOD = 1e-8


def unpack(payload: int, width: int, count: int, signed: bool) -> list[int]:
    values = [(payload >> (k * width)) & ((1 << width) - 1) for k in range(count)]
    if signed:
        values = [v - (1 << width) if v >> (width - 1) else v for v in values]
    return values


def run_stream(dut, beats_in: list[int], beats_out: int, *, stall: float, seed: int = 0,
               max_cycles: int = 200_000, stamps: list[int] | None = None, hold: int = 0,
               taken: list[int] | None = None) -> list[int]:
    """Send ``beats_in`` to ``dut.i``, collect ``beats_out`` payloads from ``dut.o``.

    With ``stall`` > 0, the sender idles and the receiver withholds ready at
    random, each with that probability per cycle; the receiver first waits
    ``hold`` cycles, so that everything upstream fills. ``stamps``, if given,
    receives the cycle of each output beat, ``taken`` that of each input beat.
    """
    rng = random.Random(seed)
    received = []
    cycle = 0

    async def clock_counter(ctx):
        nonlocal cycle
        while True:
            await ctx.tick()
            cycle += 1

    async def sender(ctx):
        for payload in beats_in:
            while rng.random() < stall:
                await ctx.tick()
            ctx.set(dut.i.payload, payload)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
            if taken is not None:
                taken.append(cycle)

    async def receiver(ctx):
        for _ in range(hold):
            await ctx.tick()
        while len(received) < beats_out:
            while rng.random() < stall:
                await ctx.tick()
            ctx.set(dut.o.ready, 1)
            (payload,) = await ctx.tick().sample(dut.o.payload).until(dut.o.valid)
            ctx.set(dut.o.ready, 0)
            received.append(payload)
            if stamps is not None:
                stamps.append(cycle)

    async def watchdog(ctx):
        await ctx.delay(PERIOD * max_cycles)
        raise TimeoutError(f"{len(received)} of {beats_out} beats after {max_cycles} cycles")

    sim = Simulator(dut)
    sim.add_clock(PERIOD)
    sim.add_testbench(sender, background=True)
    sim.add_testbench(receiver)
    sim.add_testbench(watchdog, background=True)
    sim.add_testbench(clock_counter, background=True)
    sim.run()
    return received
