"""The pipelining rules: where adder trees get registers, and that every unit's
``latency`` property is what simulation measures."""
import re

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hwgen import golden
from hwgen.folding import Folding
from hwgen.hw.matrix_vector import MatrixVectorUnit
from hwgen.hw.network import Network
from hwgen.hw.pipeline import (COPY_BRANCHING, LEVELS_PER_STAGE, MAX_CONSTANT_BITS, adder_tree_plan, copy_tree,
                               lookup, queue_depth)
from hwgen.hw.register_slice import RegisterSlice
from hwgen.hw.relay import Relay
from hwgen.ir import Bipolar, Integer

from .graphs import random_graph, random_inputs, random_shift_graph
from .streams import pack, run_stream


@pytest.mark.parametrize("count", [1, 2, 3, 16, 17, 144])
@pytest.mark.parametrize("levels_done, levels_after", [(0, 0), (1, 1), (LEVELS_PER_STAGE, 1)])
def test_adder_tree_plan_bounds_the_logic_between_registers(count, levels_done, levels_after):
    plan = adder_tree_plan(count, levels_done=levels_done, levels_after=levels_after)
    assert len(plan) == (count - 1).bit_length() + 1
    since = levels_done
    for registered in plan[:-1]:
        since = 1 if registered else since + 1
        assert since <= max(LEVELS_PER_STAGE, levels_done + 1)
    assert (0 if plan[-1] else since) + levels_after <= max(LEVELS_PER_STAGE, levels_after)


@pytest.mark.parametrize("cycles, copies, tree", [(3, 1, [1, 1, 1]), (3, 5, [1, 2, 5]), (4, 32, [1, 2, 8, 32]),
                                                   (1, 3, [3])])
def test_copies_fan_out_as_a_tree(cycles, copies, tree):
    assert COPY_BRANCHING == 4
    assert copy_tree(cycles, copies) == tree


@pytest.mark.parametrize("stall", [0.0, 0.3, 0.7])
@pytest.mark.parametrize("width", [8, 40])   # 40 bits: three groups, each its own spare flag
def test_a_register_slice_passes_every_beat_in_order(stall, width):
    beats = [int(b) for b in np.random.default_rng(width).integers(0, 1 << width, 200, dtype=np.uint64)]
    stamps = []
    slice_ = RegisterSlice(width=width, beats=len(beats))
    assert slice_.copy_groups == -(-width // 16)
    assert run_stream(slice_, beats, len(beats), stall=stall, seed=3, stamps=stamps) == beats
    if not stall:
        # The first beat goes in during cycle 0, and one beat leaves a cycle.
        assert stamps == [RegisterSlice(width=8, beats=1).latency + k for k in range(len(beats))]


@pytest.mark.parametrize("make_graph, folding, per_beat", [
    (lambda rng: random_graph(rng, [12, 8, 8, 10], Integer(4, signed=False)), "4x6,2x4,5x2", 3),
    (lambda rng: random_graph(rng, [12, 8, 8, 10], Bipolar()), "8x12,8x8,10x8", 12),
    # The first layer's input vector is replayed 8 times, arriving in 4 beats: a hold register.
    (lambda rng: random_graph(rng, [12, 8, 8, 10], Integer(4, signed=False)), "1x12,2x8,5x2", 3),
    (lambda rng: random_shift_graph(rng, [12, 8, 8, 10], Integer(5, signed=True, frac=3)), "4x6,2x4,5x1", 3),
    # 20 lanes take five copies of the beat (a tree: 1, 2, 5); a 480-bit ROM word fills
    # 12 block RAMs: three address copies.
    (lambda rng: random_graph(rng, [48, 40, 10], Integer(3, signed=False)), "20x24,5x20", 24),
    # A 1,920-bit word fills 48 blocks: twelve address copies, more than one register
    # feeds, so three registers copy the address first.
    (lambda rng: random_graph(rng, [96, 80, 10], Integer(3, signed=False)), "40x48,5x40", 48),
], ids=["binary-int", "binary-parallel", "binary-hold", "shift", "binary-copies", "binary-copy-tree"])
def test_network_latency_and_pace_equal_the_model(make_graph, folding, per_beat):
    rng = np.random.default_rng(7)
    graph = make_graph(rng)
    x = random_inputs(rng, graph, 5)
    net = Network(graph, Folding.parse(folding, per_beat), logits=True)
    beats = [pack(row[k:k + per_beat], graph.input.dtype.width) for row in x for k in range(0, len(row), per_beat)]
    stamps = []
    got = run_stream(net, beats, len(x), stall=0.0, stamps=stamps)
    index_width = net.output_fields[0][0]
    assert [p & ((1 << index_width) - 1) for p in got] == list(golden.run(graph, x)[:, 0])
    # The first beat goes in during cycle 0; the stamp is the cycle its result is taken in.
    assert stamps[0] == net.latency
    if folding == "20x24,5x20":
        unit = next(stage for stage, _ in net._stages if isinstance(stage, MatrixVectorUnit))
        assert (unit.beat_copies, unit.rom_address_copies, unit.input_stages) == (5, 3, 4)
    if folding == "40x48,5x40":
        unit = next(stage for stage, _ in net._stages if isinstance(stage, MatrixVectorUnit))
        assert (unit.rom_address_copies, unit.rom_read_cycles) == (12, 3)
    assert list(np.diff(stamps[1:])) == [net.cycles_per_image] * (len(x) - 2)


def test_a_lookup_wider_than_verilators_constants_splits_into_tables():
    width, rng = 23, np.random.default_rng(9)
    values = [int(v) for v in rng.integers(0, 1 << width, 3001)]  # 69,023 bits: over Verilator's limit
    index, out = Signal(12), Signal(width)
    m = Module()
    m.d.comb += out.eq(lookup(values, index, width))
    literals = [int(bits) for bits in re.findall(r"(\d+)'[hdb]", verilog.convert(m, ports=[index, out]))]
    assert max(literals) <= MAX_CONSTANT_BITS < width * len(values)

    async def read_every_seventh_entry(ctx):
        for i in [*range(0, len(values), 7), len(values) - 1]:
            ctx.set(index, i)
            assert ctx.get(out) == values[i], i

    sim = Simulator(m)
    sim.add_testbench(read_every_seventh_entry)
    sim.run()


@pytest.mark.parametrize("stall", [0.0, 0.3, 0.7])
@pytest.mark.parametrize("stages", [1, 3])
def test_a_relay_passes_every_beat_in_order_at_full_rate(stall, stages):
    beats = [int(b) for b in np.random.default_rng(stages).integers(0, 1 << 40, 200, dtype=np.uint64)]
    stamps, taken = [], []
    relay = Relay(width=40, stages=stages, beats=len(beats))
    assert run_stream(relay, beats, len(beats), stall=stall, seed=5, stamps=stamps, taken=taken) == beats
    if not stall:
        # One beat a cycle from cycle 1 (the queue's `free` is a register that reset
        # clears), each offered `latency` cycles after it was taken: the queue never throttles.
        assert taken == list(range(1, len(beats) + 1))
        assert stamps == relay.schedule(taken)


def test_a_relay_holds_what_its_queue_has_room_for():
    """The receiver waits: the relay takes as many beats as its queue has slots, then stops."""
    beats = list(range(100))
    taken = []
    relay = Relay(width=8, stages=2, beats=len(beats))
    assert run_stream(relay, beats, len(beats), stall=0.0, hold=50, taken=taken) == beats
    assert sum(cycle <= 50 for cycle in taken) == queue_depth(2, return_delay=2) == 8
