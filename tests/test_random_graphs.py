# amaranth: UnusedElaboratable=no
# (Networks built for their stages alone are never elaborated.)
"""Seeded random graphs and foldings (MLPs and CNNs; binary, shift, ternary and n-bit
weights; one or several thresholds; padded SIMD) through amaranth.sim, every output field scored: the fast tier.
A few go through Verilator in the slow tier; ``bench/random_graphs.py`` runs 1,000."""
import numpy as np
import pytest

from hwgen.folding import Folding
from hwgen.hw.network import Network
from hwgen.hw.sliding_window import SlidingWindowUnit
from hwgen.hw.vector_buffer import VectorBuffer
from hwgen.ir import Argmax, Dense, Flatten, Graph, Input, Integer, MaxPool, Threshold, Window
from hwgen.verilog import emit
from hwgen.sim.job import Pass, expected_outputs, unpack_fields
from hwgen.sim.runner import simulate

from .graphs import random_graph, random_inputs, random_network
from .streams import pack, run_stream

IMAGES = 4


def check_in_amaranth(seed: int, shift_lanes: str = "barrel", relay_stages: int = 0) -> None:
    """Golden = RTL on every field, and measured pace and latency = analytic."""
    rng = np.random.default_rng(seed)
    graph, folding = random_network(rng)
    check_network(graph, folding, random_inputs(rng, graph, IMAGES), seed, shift_lanes, relay_stages)


def check_network(graph, folding, x: np.ndarray, seed: int, shift_lanes: str = "barrel",
                  relay_stages: int = 0) -> None:
    expected = expected_outputs(graph, x, logits=True)
    net = Network(graph, folding, logits=True, shift_lanes=shift_lanes, relay_stages=relay_stages)
    per_beat, width = folding.input_per_beat, graph.input.dtype.width
    beats = [pack(row[k:k + per_beat], width) for row in x for k in range(0, len(row), per_beat)]
    stamps = []
    got = run_stream(net, beats, IMAGES, stall=0.0, stamps=stamps)
    assert [unpack_fields(p, net.output_fields) for p in got] == expected.tolist()
    assert list(np.diff(stamps[1:])) == [net.cycles_per_image] * (IMAGES - 2)
    assert stamps[0] == net.latency
    stalled = run_stream(Network(graph, folding, logits=True, shift_lanes=shift_lanes, relay_stages=relay_stages),
                         beats, IMAGES, stall=0.3, seed=seed)
    assert [unpack_fields(p, net.output_fields) for p in stalled] == expected.tolist()


@pytest.mark.parametrize("seed", range(16))
def test_random_graph_in_amaranth_sim(seed):
    check_in_amaranth(seed)


@pytest.mark.parametrize("seed, relay_stages", [(0, 1), (1, 2), (2, 1), (4, 3), (6, 1)])
def test_random_graph_with_relays_between_its_units(seed, relay_stages):
    check_in_amaranth(seed, relay_stages=relay_stages)


def test_a_deep_wide_input_buffer_in_block_ram():
    """The input buffer (2 banks of 32 words of 64 bits) goes into block RAM, whose
    reads take longer: outputs, pace and latency still as the model says."""
    rng = np.random.default_rng(5)
    graph = random_graph(rng, [512, 12, 4])
    folding = Folding.parse("4x16,2x4", 16)
    buffers = [unit for unit, _ in Network(graph, folding)._stages if isinstance(unit, VectorBuffer)]
    assert [b.storage for b in buffers] == ["block_ram", "memory"] and buffers[0].resources.dp16kd == 2
    check_network(graph, folding, random_inputs(rng, graph, IMAGES), 5)
    # fc0's weight ROM takes 3 blocks first: with 4, the buffer's 2 are not left.
    for budget in (4, 0):
        buffers = [unit for unit, _ in Network(graph, folding, block_rams=budget)._stages
                   if isinstance(unit, VectorBuffer)]
        assert [b.storage for b in buffers] == ["memory"] * 2


def line_buffers_in_block_ram() -> tuple[Graph, Folding]:
    """A CNN on 10x32 8-bit images whose first window's line buffers (224 words, whole
    windows: 9 read ports) go into block RAM."""
    rng = np.random.default_rng(3)
    nodes = [Input("input", 320, Integer(8, signed=False), (10, 32, 1)), Window("win", "input", 3, 1, 1),
             Dense("conv", "win", rng.integers(0, 2, (4, 9))),
             Threshold("act", "conv", rng.integers(-200, 200, 4), rng.integers(0, 2, 4).astype(bool)),
             MaxPool("pool", "act", 2), Flatten("flat", "pool"), Dense("fc", "flat", rng.integers(0, 2, (10, 320))),
             Argmax("argmax", "fc")]
    return Graph(tuple(nodes)), Folding.parse("4x9,10x32", 1)


def test_line_buffers_in_block_ram():
    graph, folding = line_buffers_in_block_ram()
    (window,) = [unit for unit, _ in Network(graph, folding)._stages if isinstance(unit, SlidingWindowUnit)]
    assert window.in_block_ram and window.resources.dp16kd == 9
    check_network(graph, folding, random_inputs(np.random.default_rng(3), graph, IMAGES), 3)
    (window,) = [unit for unit, _ in Network(graph, folding, block_rams=8)._stages
                 if isinstance(unit, SlidingWindowUnit)]
    assert not window.in_block_ram


@pytest.mark.parametrize("seed", [1, 6, 9, 12, 16, 19])   # shift graphs, their weights multiplied
def test_random_shift_graph_on_multipliers(seed):
    check_in_amaranth(seed, shift_lanes="multiplier")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 104))
def test_random_graph_on_verilator(tmp_path, seed):
    rng = np.random.default_rng(seed)
    graph, folding = random_network(rng)
    check_on_verilator(tmp_path, graph, folding, random_inputs(rng, graph, 30), seed)


@pytest.mark.slow
def test_an_input_buffer_in_block_ram_on_verilator(tmp_path):
    rng = np.random.default_rng(5)
    graph = random_graph(rng, [512, 12, 4])
    check_on_verilator(tmp_path, graph, Folding.parse("4x16,2x4", 16), random_inputs(rng, graph, 30), 5)


@pytest.mark.slow
def test_line_buffers_in_block_ram_on_verilator(tmp_path):
    graph, folding = line_buffers_in_block_ram()
    check_on_verilator(tmp_path, graph, folding, random_inputs(np.random.default_rng(3), graph, 30), 3)


@pytest.mark.slow
def test_relays_between_the_units_on_verilator(tmp_path):
    rng = np.random.default_rng(0)   # a CNN: windows, max pools, n-bit and bipolar layers
    graph, folding = random_network(rng)
    check_on_verilator(tmp_path, graph, folding, random_inputs(rng, graph, 30), 0, relay_stages=2)


def check_on_verilator(tmp_path, graph, folding, x: np.ndarray, seed: int, relay_stages: int = 0) -> None:
    expected = expected_outputs(graph, x, logits=True)
    meta = emit(graph, folding, tmp_path, logits=True, relay_stages=relay_stages)
    assert meta["relay_stages"] == relay_stages
    steady, stalled = simulate(tmp_path, x, expected, [Pass(30, 0.0), Pass(30, 0.3, seed=seed)],
                               simulator="verilator", build_dir=tmp_path / "build")
    assert np.array_equal(steady.outputs, expected) and np.array_equal(stalled.outputs, expected)
    assert steady.cycles_per_image == meta["cycles_per_image"]
    assert steady.latency == meta["latency"]
