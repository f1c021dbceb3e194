"""End to end on generated Verilog: cocotb drives real simulators."""
import shutil

import numpy as np
import pytest

from hwgen.folding import Folding
from hwgen.ir import Bipolar, Integer
from hwgen.verilog import emit
from hwgen.sim.job import Pass, expected_outputs
from hwgen.sim.runner import simulate

from .graphs import random_conv_graph, random_graph, random_inputs, random_shift_graph

pytestmark = pytest.mark.slow


def _simulator_available(simulator):
    if simulator == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) is not installed: `apt-get install iverilog`; "
                    "the Icarus end-to-end test did not run")


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("make_graph, folding, per_beat, axi_stream", [
    (lambda rng: random_graph(rng, [12, 8, 8, 10], Integer(4, signed=False)), "4x6,2x4,5x2", 3, False),
    (lambda rng: random_graph(rng, [12, 8, 8, 10], Bipolar()), "8x12,8x8,10x8", 12, False),
    (lambda rng: random_shift_graph(rng, [12, 8, 8, 10], Integer(5, signed=True, frac=3)), "4x6,2x4,5x2", 3, False),
    (lambda rng: random_graph(rng, [12, 8, 8, 10], Integer(4, signed=False)), "4x5,2x3,5x3", 3, True),
], ids=["binary-int", "binary-bipolar-parallel", "shift", "binary-padded-axi-stream"])
def test_rtl_matches_golden_and_cycle_model(tmp_path, simulator, make_graph, folding, per_beat, axi_stream):
    _simulator_available(simulator)
    rng = np.random.default_rng(3)
    graph = make_graph(rng)
    x = random_inputs(rng, graph, 40)
    expected = expected_outputs(graph, x, logits=True)
    meta = emit(graph, Folding.parse(folding, per_beat), tmp_path, logits=True, axi_stream=axi_stream)
    if axi_stream:   # 12-bit beats and 4 + 10 * 5-bit results, in whole bytes; reset active low
        header = (tmp_path / "hwgen_top.v").read_text().split(";")[0].splitlines()[-1]
        assert header == ("module hwgen_top(aresetn, s_axis_tdata, s_axis_tvalid, m_axis_tready, "
                          "s_axis_tready, m_axis_tdata, m_axis_tvalid, aclk)")
        assert (meta["input_port_width"], meta["output_port_width"]) == (16, 56)
    steady, stalled = simulate(tmp_path, x, expected, [Pass(40, 0.0), Pass(40, 0.3, seed=5)],
                               simulator=simulator, build_dir=tmp_path / "build")
    # Every bit: the class index and all ten logits.
    assert np.array_equal(steady.outputs, expected) and expected.shape == (40, 11)
    assert np.array_equal(stalled.outputs, expected)
    assert steady.mismatches == stalled.mismatches == 0
    assert steady.latency == meta["latency"]
    assert steady.cycles_per_image == meta["cycles_per_image"]
    assert np.all(np.diff(steady.out_cycles) == meta["cycles_per_image"])


DIVIDES, PADDED = "2x6,3x12,5x12", "2x4,3x8,5x5"


# Each kind with each folding once, and on each simulator each kind and each folding once.
@pytest.mark.parametrize("simulator, shift, folding", [
    ("verilator", False, PADDED), ("verilator", True, DIVIDES), ("icarus", False, DIVIDES), ("icarus", True, PADDED),
], ids=["verilator-bnn-padded", "verilator-shift-divides", "icarus-bnn-divides", "icarus-shift-padded"])
def test_conv_rtl_matches_golden_and_cycle_model(tmp_path, simulator, shift, folding):
    _simulator_available(simulator)
    rng = np.random.default_rng(4)
    graph = random_conv_graph(rng, shift)
    x = random_inputs(rng, graph, 30)
    expected = expected_outputs(graph, x, logits=False)
    meta = emit(graph, Folding.parse(folding, 2), tmp_path)
    steady, stalled = simulate(tmp_path, x, expected, [Pass(30, 0.0), Pass(30, 0.3, seed=2)],
                               simulator=simulator, build_dir=tmp_path / "build")
    assert steady.mismatches == stalled.mismatches == 0
    assert np.array_equal(steady.outputs, expected) and np.array_equal(stalled.outputs, expected)
    assert steady.latency == meta["latency"]
    assert steady.cycles_per_image == meta["cycles_per_image"]
