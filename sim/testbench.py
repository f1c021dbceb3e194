"""cocotb testbench for a generated network: driver, monitor, scoreboard.

Images go in as beats of ``input_per_beat`` elements; class indices come
out. Inputs are driven on the falling edge and handshakes read in the
read-only phase just before the rising edge that completes them, so the
testbench sees exactly the transfers the design sees. Idle stretches are
skipped by waiting on edges of valid/ready, so Python's work is per beat,
not per cycle.
"""
import json
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from hwgen.packing import pack
from sim.job import Job

PERIOD_NS = 10


def beats_of(image: np.ndarray, per_beat: int, width: int) -> list[int]:
    """An image's elements packed into beats, element k of a beat at bits [k*width, ...)."""
    return [pack(image[start:start + per_beat], width) for start in range(0, len(image), per_beat)]


def now_cycles() -> int:
    return int(get_sim_time("ns")) // PERIOD_NS


class Testbench:
    """Owns the clock and reset and runs passes of images through the design."""

    def __init__(self, dut, meta: dict):
        ports = meta["ports"]
        self.meta = meta
        self.clk = getattr(dut, ports["clk"])
        self.rst = getattr(dut, ports["rst"])
        self.in_valid = getattr(dut, ports["i.valid"])
        self.in_ready = getattr(dut, ports["i.ready"])
        self.in_payload = getattr(dut, ports["i.payload"])
        self.out_valid = getattr(dut, ports["o.valid"])
        self.out_ready = getattr(dut, ports["o.ready"])
        self.out_payload = getattr(dut, ports["o.payload"])
        cocotb.start_soon(Clock(self.clk, PERIOD_NS, unit="ns").start())

    async def reset(self) -> None:
        await FallingEdge(self.clk)
        self.in_valid.value = 0
        self.out_ready.value = 0
        self.rst.value = 1
        await ClockCycles(self.clk, 3)
        await FallingEdge(self.clk)
        self.rst.value = 0
        await ClockCycles(self.clk, 2)

    async def drive(self, beats: list[list[int]], stall: float, rng: random.Random,
                    sent_at: list[int]) -> None:
        """Send each image's beats; record the cycle of each image's first beat."""
        for image_beats in beats:
            for index, beat in enumerate(image_beats):
                await FallingEdge(self.clk)
                while rng.random() < stall:
                    self.in_valid.value = 0
                    await FallingEdge(self.clk)
                self.in_payload.value = beat
                self.in_valid.value = 1
                while True:
                    await ReadOnly()
                    if self.in_ready.value:
                        break
                    await RisingEdge(self.in_ready)
                    await FallingEdge(self.clk)
                if index == 0:
                    sent_at.append(now_cycles() + 1)  # completes at the coming rising edge
        await FallingEdge(self.clk)
        self.in_valid.value = 0

    async def monitor(self, count: int, stall: float, rng: random.Random) -> list[tuple[int, int]]:
        """Collect ``count`` outputs as (cycle, payload)."""
        received = []
        while len(received) < count:
            await FallingEdge(self.clk)
            ready = not rng.random() < stall
            self.out_ready.value = int(ready)
            await ReadOnly()
            if self.out_valid.value:
                if ready:
                    received.append((now_cycles() + 1, int(self.out_payload.value)))
            elif ready:
                await RisingEdge(self.out_valid)
        return received


@cocotb.test()
async def stream_images(dut):
    job_path = cocotb.plusargs.get("hwgen_job")
    assert job_path, "the runner names the job with +hwgen_job=PATH"
    job, images, expected = Job.load(job_path)
    meta = job.meta
    tb = Testbench(dut, meta)
    results = []
    for number, spec in enumerate(job.passes):
        rng = random.Random(spec.seed)
        chosen = images[:spec.images]
        beats = [beats_of(img, meta["input_per_beat"], meta["input_width"]) for img in chosen]
        await tb.reset()
        sent_at = []
        driver = cocotb.start_soon(tb.drive(beats, spec.stall, rng, sent_at))
        received = await tb.monitor(len(chosen), spec.stall, random.Random(spec.seed + 1))
        await driver
        outputs = np.array([payload for _, payload in received], dtype=np.int64)
        mismatches = int(np.count_nonzero(outputs != expected[:spec.images]))
        dut._log.info("pass %d: %d images, stall %.2f: %d mismatches", number, len(chosen),
                      spec.stall, mismatches)
        results.append({"images": len(chosen), "stall": spec.stall, "outputs": outputs.tolist(),
                        "in_cycles": sent_at, "out_cycles": [c for c, _ in received],
                        "mismatches": mismatches})
    with open(job.results_path, "w") as f:
        json.dump({"passes": results}, f)
    total = sum(r["mismatches"] for r in results)
    assert total == 0, f"{total} outputs differ from the golden model"
