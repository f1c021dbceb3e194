"""End to end on generated Verilog: cocotb drives real simulators."""
import shutil

import numpy as np
import pytest

from hwgen import golden
from hwgen.folding import Folding
from hwgen.ir import Bipolar, Integer
from hwgen.verilog import emit
from sim.job import Pass
from sim.runner import simulate

from .graphs import random_graph, random_inputs

pytestmark = pytest.mark.slow


def _simulator_available(simulator):
    if simulator == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) is not installed: `apt-get install iverilog`; "
                    "the Icarus end-to-end test did not run")


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("in_type, folding, per_beat", [
    (Integer(4, signed=False), "4x6,2x4,5x2", 3),
    (Bipolar(), "8x12,8x8,10x8", 12),
])
def test_rtl_matches_golden_and_cycle_model(tmp_path, simulator, in_type, folding, per_beat):
    _simulator_available(simulator)
    rng = np.random.default_rng(3)
    graph = random_graph(rng, [12, 8, 8, 10], in_type)
    x = random_inputs(rng, graph, 40)
    expected = golden.run(graph, x)[:, 0]
    meta = emit(graph, Folding.parse(folding, per_beat), tmp_path)
    steady, stalled = simulate(tmp_path, x, expected, [Pass(40, 0.0), Pass(40, 0.3, seed=5)],
                               simulator=simulator, build_dir=tmp_path / "build")
    assert np.array_equal(steady.outputs, expected)
    assert np.array_equal(stalled.outputs, expected)
    assert steady.mismatches == stalled.mismatches == 0
    assert steady.latency == meta["latency"]
    assert steady.cycles_per_image == meta["cycles_per_image"]
    assert np.all(np.diff(steady.out_cycles) == meta["cycles_per_image"])
