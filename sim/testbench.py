"""cocotb test for a generated network, run on the harness of ``hwgen.sim.harness``.

The harness streams the images and records every transfer; this test
configures each pass, waits for it to finish, reads the outputs and their
cycle stamps back and scores them against the golden model.
"""
import json

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from hwgen.sim.harness import stall_threshold
from hwgen.sim.job import Job, unpack_fields

RESET_CYCLES = 3


def read_array(handle, count: int) -> list[int]:
    return [int(handle[index].value) for index in range(count)]


@cocotb.test()
async def stream_images(dut):
    job_path = cocotb.plusargs.get("hwgen_job")
    assert job_path, "the runner names the job with +hwgen_job=PATH"
    job, expected = Job.load(job_path)
    results = []
    for number, spec in enumerate(job.passes):
        await FallingEdge(dut.clk)
        dut.rst.value = 1
        dut.images_to_send.value = spec.images
        dut.stall_below.value = stall_threshold(spec.stall)
        dut.seed.value = spec.seed
        await ClockCycles(dut.clk, RESET_CYCLES)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.done)
        outputs = np.array([unpack_fields(p, job.fields) for p in read_array(dut.out_payload, spec.images)],
                           dtype=np.int64)
        mismatches = int(np.count_nonzero(np.any(outputs != expected[:spec.images], axis=1)))
        dut._log.info("pass %d: %d images, stall %.2f: %d mismatches", number, spec.images,
                      spec.stall, mismatches)
        results.append({"images": spec.images, "stall": spec.stall, "outputs": outputs.tolist(),
                        "in_cycles": read_array(dut.in_cycle, spec.images),
                        "out_cycles": read_array(dut.out_cycle, spec.images),
                        "mismatches": mismatches})
    with open(job.results_path, "w") as f:
        json.dump({"passes": results}, f)
    total = sum(r["mismatches"] for r in results)
    assert total == 0, f"{total} outputs differ from the golden model"
