"""Sliding-window and max-pool units in amaranth.sim against the golden model, with stalls."""
import numpy as np
import pytest

from hwgen import golden
from hwgen.folding import Folding
from hwgen.hw.cost import LUT_RAM_LINES_DEPTH
from hwgen.hw.max_pool import MaxPoolUnit
from hwgen.hw.network import Network
from hwgen.hw.sliding_window import SlidingWindowUnit
from hwgen.ir import Bipolar, Graph, Input, Integer, MaxPool, Window

from .graphs import random_conv_graph, random_inputs
from .streams import pack, run_stream, unpack

STALLS = [0.0, 0.3]


def _beats(rows, per_beat, width):
    return [pack(row[k:k + per_beat], width) for row in rows for k in range(0, len(row), per_beat)]


def _unbeats(payloads, per_beat, width, signed, images):
    return np.array([unpack(p, width, per_beat, signed) for p in payloads]).reshape(images, -1)


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("shape, kernel, stride, padding, per_beat", [
    ((5, 6, 4), 3, 1, 1, 2), ((4, 4, 2), 2, 2, 0, 2), ((5, 3, 3), 3, 2, 2, 1), ((3, 3, 1), 3, 1, 0, 1),
    ((6, 4, 2), 3, 2, 0, 1),    # the last row is in no window
    ((7, 5, 1), 2, 3, 0, 1),    # stride beyond the kernel: rows between windows are skipped
])
@pytest.mark.parametrize("in_type", [Bipolar(), Integer(3, signed=True)])
@pytest.mark.parametrize("whole_windows", [False, True], ids=["rows", "windows"])
def test_sliding_window_matches_golden(stall, shape, kernel, stride, padding, per_beat, in_type,
                                       whole_windows):
    rng = np.random.default_rng(sum(shape))
    size = int(np.prod(shape))
    graph = Graph((Input("x", size, in_type, shape), Window("win", "x", kernel, stride, padding)))
    lo, hi = (0, 1) if isinstance(in_type, Bipolar) else (in_type.min, in_type.max)
    x = rng.integers(lo, hi + 1, (3, size))
    expected = golden.run(graph, x)
    dut = SlidingWindowUnit(element_width=in_type.width, shape=shape, kernel=kernel, stride=stride,
                            padding=padding, in_per_beat=per_beat, whole_windows=whole_windows)
    got = run_stream(dut, _beats(x, per_beat, in_type.width), 3 * dut.out_beats, stall=stall)
    signed = isinstance(in_type, Integer)
    assert dut.whole_rows == (per_beat == shape[2])
    if whole_windows and dut.whole_rows:
        assert dut.out_per_beat == kernel ** 2 * shape[2]
    assert np.array_equal(_unbeats(got, dut.out_per_beat, in_type.width, signed, 3), expected)


@pytest.mark.parametrize("width, in_block_ram", [(18, False), (19, True)])
def test_line_buffers_deeper_than_lut_ram_reads_well_go_into_block_ram(width, in_block_ram):
    """1-bit lines of 7 rows: 126 words stay in LUT RAM (cheap: 64 LUT4), 133 do not."""
    def unit(block_ram):
        return SlidingWindowUnit(element_width=1, shape=(8, width, 1), kernel=3, stride=1, padding=0,
                                 in_per_beat=1, block_ram=block_ram)
    assert (unit(True).in_block_ram, unit(False).in_block_ram) == (in_block_ram, False)
    assert (7 * width > LUT_RAM_LINES_DEPTH) == in_block_ram


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("whole_windows", [False, True], ids=["rows", "windows"])
def test_sliding_window_line_buffers_in_block_ram(stall, whole_windows):
    """Line buffers of 224 8-bit words (272 LUT4 of LUT RAM each) go into block RAM where
    allowed, read through the block's output register; images follow at the model's pace."""
    shape, in_type = (10, 32, 1), Integer(8, signed=True)
    rng = np.random.default_rng(5)
    graph = Graph((Input("x", 320, in_type, shape), Window("win", "x", 3, 1, 1)))
    x = rng.integers(in_type.min, in_type.max + 1, (3, 320))
    dut = SlidingWindowUnit(element_width=8, shape=shape, kernel=3, stride=1, padding=1, in_per_beat=1,
                            whole_windows=whole_windows, block_ram=True)
    assert (dut.in_block_ram, dut.read_stages, dut.resources.dp16kd) == (True, 5, 3 * (1 + 2 * whole_windows))
    assert not SlidingWindowUnit(element_width=8, shape=shape, kernel=3, stride=1, padding=1,
                                 in_per_beat=1).in_block_ram
    stamps = []
    got = run_stream(dut, _beats(x, 1, 8), 3 * dut.out_beats, stall=stall, stamps=stamps)
    assert np.array_equal(_unbeats(got, dut.out_per_beat, 8, True, 3), golden.run(graph, x))
    if not stall:
        assert stamps[2 * dut.out_beats] - stamps[dut.out_beats] == dut.cycles_per_image


@pytest.mark.parametrize("shape, kernel, stride, padding, per_beat", [
    ((5, 6, 4), 3, 1, 1, 2),    # reading sets the pace
    ((8, 4, 2), 2, 2, 0, 2),    # writing sets the pace (whole-row windows)
    ((6, 6, 8), 3, 1, 0, 8),    # about even
    ((8, 8, 1), 3, 1, 1, 1),    # whole windows: one window a cycle, writing and reading even
])
@pytest.mark.parametrize("whole_windows", [False, True], ids=["rows", "windows"])
def test_sliding_window_line_buffers_keep_the_pace(shape, kernel, stride, padding, per_beat, whole_windows):
    """The ring of rows lets images follow each other at the modelled pace, no gaps."""
    dut = SlidingWindowUnit(element_width=2, shape=shape, kernel=kernel, stride=stride,
                            padding=padding, in_per_beat=per_beat, whole_windows=whole_windows)
    images = 6
    stamps = []
    run_stream(dut, [0] * (images * dut.in_beats), images * dut.out_beats, stall=0.0, stamps=stamps)
    firsts = np.array(stamps[::dut.out_beats])
    assert dut.ring_rows < 2 * shape[0]
    assert list(np.diff(firsts[2:])) == [dut.cycles_per_image] * (images - 3)


@pytest.mark.parametrize("shape, kernel, stride, padding", [((3, 3, 1), 3, 1, 0), ((4, 3, 1), 3, 1, 1)])
def test_sliding_window_reads_a_released_row_before_it_is_overwritten(shape, kernel, stride, padding):
    # A held receiver fills the output queue and then the ring; the window whose read
    # releases rows (all of them at once, in whole-window mode) is read while the
    # writer, let in by that release, already refills the slots.
    rng = np.random.default_rng(7)
    size = int(np.prod(shape))
    graph = Graph((Input("x", size, Integer(3, signed=True), shape), Window("win", "x", kernel, stride, padding)))
    x = rng.integers(-4, 4, (12, size))
    dut = SlidingWindowUnit(element_width=3, shape=shape, kernel=kernel, stride=stride, padding=padding,
                            in_per_beat=1, whole_windows=True)
    got = run_stream(dut, _beats(x, 1, 3), 12 * dut.out_beats, stall=0.0, hold=300)
    assert np.array_equal(_unbeats(got, dut.out_per_beat, 3, True, 12), golden.run(graph, x))


@pytest.mark.parametrize("stall", STALLS)
# (4, 10, 3) and (3, 24, 1) read their entry in two levels of mux (15 and 8 entries), and
# the first of them meets its entry again three beats on (three channel beats), the second
# at once; (2, 4, 8) meets it four beats on, the last beat whose write is still to come.
@pytest.mark.parametrize("shape, kernel, per_beat", [((4, 6, 4), 2, 2), ((6, 3, 2), 3, 1), ((2, 2, 3), 2, 3),
                                                     ((4, 10, 3), 2, 1), ((3, 24, 1), 3, 1), ((2, 4, 8), 2, 2)])
@pytest.mark.parametrize("in_type", [Bipolar(), Integer(4, signed=False), Integer(3, signed=True)])
def test_max_pool_matches_golden(stall, shape, kernel, per_beat, in_type):
    rng = np.random.default_rng(sum(shape))
    size = int(np.prod(shape))
    graph = Graph((Input("x", size, in_type, shape), MaxPool("pool", "x", kernel)))
    lo, hi = (0, 1) if isinstance(in_type, Bipolar) else (in_type.min, in_type.max)
    x = rng.integers(lo, hi + 1, (3, size))
    expected = golden.run(graph, x)
    dut = MaxPoolUnit(in_type=in_type, shape=shape, kernel=kernel, per_beat=per_beat)
    got = run_stream(dut, _beats(x, per_beat, in_type.width), 3 * expected.shape[1] // per_beat, stall=stall)
    signed = isinstance(in_type, Integer) and in_type.signed
    assert np.array_equal(_unbeats(got, per_beat, in_type.width, signed, 3), expected)


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("shift", [False, True], ids=["bnn", "shift"])
@pytest.mark.parametrize("folding, per_beat", [
    ("2x6,3x12,5x12", 2), ("4x18,6x36,10x24", 1), ("1x1,1x1,1x1", 1),
    ("2x4,3x8,5x5", 2),   # no SIMD divides its window or vector: padded beats (bipolar in conv2 of the BNN)
])
def test_conv_network_matches_golden(stall, shift, folding, per_beat):
    rng = np.random.default_rng(21)
    graph = random_conv_graph(rng, shift)
    x = random_inputs(rng, graph, 4)
    net = Network(graph, Folding.parse(folding, per_beat))
    got = run_stream(net, _beats(x, per_beat, graph.input.dtype.width), len(x), stall=stall,
                     max_cycles=400_000)
    assert got == list(golden.run(graph, x)[:, 0])


@pytest.mark.parametrize("shift", [False, True], ids=["bnn", "shift"])
def test_fully_parallel_conv_network_runs_at_its_input_pace(shift):
    """Whole windows a beat: the images follow each other every input-beat count
    (36 pixels here), not every window-row count (3 x 36)."""
    rng = np.random.default_rng(21)
    graph = random_conv_graph(rng, shift)
    x = random_inputs(rng, graph, 6)
    net = Network(graph, Folding.parse("4x18,6x36,10x24", 2))
    stamps = []
    got = run_stream(net, _beats(x, 2, graph.input.dtype.width), len(x), stall=0.0, stamps=stamps)
    assert got == list(golden.run(graph, x)[:, 0])
    assert net.cycles_per_image == net.input_beats == 36
    assert list(np.diff(stamps[2:])) == [36] * (len(x) - 3)
