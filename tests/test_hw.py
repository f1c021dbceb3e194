"""Each Amaranth component against the golden model in amaranth.sim, with and without stalls."""
import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from hwgen import golden
from hwgen.errors import HwgenError
from hwgen.folding import Folding
from hwgen.hw.argmax import ArgmaxUnit
from hwgen.hw.barrel_shifter import barrel_shift_left
from hwgen.hw.matrix_vector import MatrixVectorUnit
from hwgen.hw.network import Network
from hwgen.hw.requantize import RequantizeUnit
from hwgen.hw.threshold import ThresholdUnit
from hwgen.hw.vector_buffer import VectorBuffer
from hwgen.hw.constant_product import signed_digits, times
from hwgen.hw.cost import adder_luts, distinct_columns, rom
from hwgen.hw.roms import address_copies, address_registers, read_cycles, read_rom
from hwgen.hw.weights import BinaryWeights, IntegerWeights, ShiftWeights, TernaryWeights
from hwgen.ir import Bipolar, Graph, Input, Integer, MultiThreshold, PowerOfTwo, Requantize, ShiftDense

from .graphs import random_graph, random_inputs, random_shift_graph
from .streams import pack, run_stream, unpack

STALLS = [0.0, 0.3]


def beats(rows: np.ndarray, per_beat: int, width: int) -> list[int]:
    return [pack(row[k:k + per_beat], width) for row in rows for k in range(0, len(row), per_beat)]


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("size, in_per_beat, out_per_beat, repeats", [
    (12, 3, 4, 2), (8, 8, 2, 1), (10, 5, 5, 1), (10, 5, 4, 2),   # in memory; the last padded
    (6, 1, 6, 3), (6, 6, 6, 1), (64, 2, 64, 3), (32, 1, 32, 32),   # whole vectors a beat, in registers
    # replayed for longer than they arrive in: a hold register
    (12, 4, 12, 4), (8, 8, 8, 2), (48, 8, 48, 8), (40, 20, 40, 3),
    (96, 24, 10, 2), (400, 25, 7, 1),   # words in column slices, each with its addresses
    # an output beat of whole input beats: a word of parts, the last word's short
    (12, 2, 4, 2), (10, 2, 4, 2), (147, 7, 49, 3), (600, 40, 120, 1)])
def test_vector_buffer_replays_each_vector(stall, size, in_per_beat, out_per_beat, repeats):
    rng = np.random.default_rng(size)
    vectors = rng.integers(0, 8, (5, size))
    dut = VectorBuffer(element_width=3, size=size, in_per_beat=in_per_beat,
                       out_per_beat=out_per_beat, repeats=repeats)
    # A short last beat packs as if padded with zero elements.
    expected = [word for v in vectors for _ in range(repeats) for word in beats(v[None], out_per_beat, 3)]
    got = run_stream(dut, beats(vectors, in_per_beat, 3), len(expected), stall=stall)
    assert got == expected
    assert dut.replay_cycles == len(expected) // len(vectors)
    # Two banks of LUT RAM cost 1.5 LUT4 a bit (cost.LUT_RAM_LUTS), registers read through a mux one.
    whole = "hold" if repeats > size // in_per_beat else "registers"
    assert dut.storage == (whole if out_per_beat == size else "memory")
    if in_per_beat > 20:
        assert dut.slice_width < in_per_beat * 3
    assert dut.memory_shape[2] == 1 or out_per_beat % in_per_beat   # a read port a word overlapped


@pytest.mark.parametrize("size, in_per_beat, out_per_beat, repeats, block_ram", [
    (12, 6, 6, 4, False), (12, 3, 4, 2, False),   # "memory", 2 input beats and 8 replayed, 4 and 6: i.ready is a register
    (12, 3, 4, 1, False),   # "memory", 4 and 3: a LUT
    (96, 24, 10, 2, False), (400, 25, 7, 1, False),   # "memory" of 36 and 76 DPR16X4: reads pipelined, i.ready a register
    (10, 2, 4, 3, False), (147, 7, 49, 3, False),   # words of parts, the first's last short; the second's 37 DPR16X4 read pipelined
    (12, 4, 12, 4, False), (64, 2, 64, 3, False),   # "hold", "registers"
    (1024, 8, 8, 2, True), (960, 24, 6, 2, True)])   # block RAM; the second picks beats at offsets, a cycle later
def test_a_vector_buffer_takes_and_offers_beats_when_its_model_says(size, in_per_beat, out_per_beat, repeats,
                                                                    block_ram):
    dut = VectorBuffer(element_width=3, size=size, in_per_beat=in_per_beat, out_per_beat=out_per_beat,
                       repeats=repeats, block_ram=block_ram)
    assert (dut.storage == "block_ram") == block_ram
    vectors = np.random.default_rng(size).integers(0, 8, (6, size))
    taken, stamps = [], []
    run_stream(dut, beats(vectors, in_per_beat, 3), 6 * dut.replay_cycles, stall=0.0, taken=taken, stamps=stamps)
    # Every beat is offered at once; the receiver is always ready.
    assert (taken, stamps) == dut.timeline([0] * len(taken))
    assert dut._read_pipelined == (size >= 96)
    assert dut._ready_registered == (dut.storage == "memory" and repeats > 1 and not dut._read_pipelined)


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("size, in_per_beat, out_per_beat, repeats", [
    (1024, 8, 8, 2), (1024, 16, 8, 1), (960, 24, 6, 2),   # the last two pick beats at offsets in a word
    (1024, 8, 20, 2), (800, 16, 40, 1)])   # a beat over several words: a read port (and copy of the banks) each
def test_vector_buffer_in_block_ram_replays_each_vector(stall, size, in_per_beat, out_per_beat, repeats):
    rng = np.random.default_rng(size)
    vectors = rng.integers(0, 8, (4, size))
    dut = VectorBuffer(element_width=3, size=size, in_per_beat=in_per_beat,
                       out_per_beat=out_per_beat, repeats=repeats, block_ram=True)
    assert dut.storage == "block_ram"
    expected = [word for v in vectors for _ in range(repeats) for word in beats(v[None], out_per_beat, 3)]
    assert run_stream(dut, beats(vectors, in_per_beat, 3), len(expected), stall=stall) == expected


def test_a_vector_buffer_read_through_many_ports_stays_in_lut_ram():
    # 16 words a beat: in block RAM 16 copies of the banks, more than Yosys's memory mapping
    # can take; in LUT RAM a word is the output beat, of 16 parts, read through one port.
    dut = VectorBuffer(element_width=8, size=784, in_per_beat=1, out_per_beat=16, repeats=32, block_ram=True)
    assert dut.storage == "memory" and dut.word_parts == 16 and dut.memory_shape == (128, 49, 1)


# (mh, mw, pe, simd); the last three pad each vector's last beat, and the last
# has more lanes than one copy of the beat feeds (LANES_PER_BEAT_COPY).
MVU_SHAPES = [(6, 10, 2, 5), (4, 9, 4, 9), (3, 7, 1, 1), (8, 12, 4, 3), (6, 10, 2, 4), (3, 7, 3, 5), (20, 10, 10, 3)]


def _mvu_case(rng, in_type, mh, mw, pe, simd, count=4):
    weights = rng.integers(0, 2, (mh, mw))
    lo, hi = (0, 1) if isinstance(in_type, Bipolar) else (in_type.min, in_type.max)
    x = rng.integers(lo, hi + 1, (count, mw))
    acc = golden.binary_dense(x, weights, in_type)
    bound = mw * max(abs(lo), abs(hi))
    acc_width = Integer.for_range(-bound, bound).bits
    return weights, x, acc, acc_width


def _mvu_outputs(dut: MatrixVectorUnit, x: np.ndarray, in_type, acc_width: int, stall: float) -> np.ndarray:
    """The accumulators a unit gives for input vectors ``x`` (each replayed once per row group)."""
    (mh, mw), pe, simd = dut._weights.codes.shape, dut._pe, dut._simd
    words = [pack(row[k:k + simd], in_type.width) for row in x
             for _ in range(dut.neuron_folds) for k in range(0, mw, simd)]
    got = run_stream(dut, words, len(x) * dut.neuron_folds, stall=stall)
    return np.array([unpack(p, acc_width, pe, signed=True) for p in got]).reshape(len(x), mh)


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("in_type", [Bipolar(), Integer(4, signed=False), Integer(3, signed=True)])
@pytest.mark.parametrize("mh, mw, pe, simd", MVU_SHAPES)
def test_matrix_vector_unit_matches_golden(stall, in_type, mh, mw, pe, simd):
    rng = np.random.default_rng(mh * 100 + mw)
    weights, x, acc, acc_width = _mvu_case(rng, in_type, mh, mw, pe, simd)
    dut = MatrixVectorUnit(BinaryWeights(weights), in_type=in_type, acc_width=acc_width, pe=pe, simd=simd)
    assert np.array_equal(_mvu_outputs(dut, x, in_type, acc_width, stall), acc)
    assert dut.cycles_per_vector == (mh // pe) * -(-mw // simd)


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("in_type", [Bipolar(), Integer(4, signed=False), Integer(3, signed=True)])
@pytest.mark.parametrize("kind", ["ternary", "int5"])
@pytest.mark.parametrize("mh, mw, pe, simd", MVU_SHAPES[:3] + [(4, 9, 4, 9), (18, 5, 18, 5)])
def test_ternary_and_integer_weights_match_golden(stall, in_type, kind, mh, mw, pe, simd):
    """Add/subtract/skip lanes and multiplier lanes, folded (ROM) and fully parallel (constants)."""
    rng = np.random.default_rng(mh * 100 + mw)
    x = rng.integers(*((0, 2) if isinstance(in_type, Bipolar) else (in_type.min, in_type.max + 1)), (4, mw))
    values = rng.integers(-1, 2, (mh, mw)) if kind == "ternary" else rng.integers(-16, 16, (mh, mw))
    weights = TernaryWeights(values) if kind == "ternary" else IntegerWeights(values, 5)
    acc = golden.exact_matmul(2 * x - 1 if isinstance(in_type, Bipolar) else x, values)
    acc_width = Integer.for_range(-int(np.abs(acc).max()) - 1, int(np.abs(acc).max())).bits + 6
    dut = MatrixVectorUnit(weights, in_type=in_type, acc_width=acc_width, pe=pe, simd=simd)
    assert np.array_equal(_mvu_outputs(dut, x, in_type, acc_width, stall), acc)


def test_a_lut_rom_costs_its_distinct_varying_columns():
    # Columns: constant 0, constant 1, (0, 1, 1, 0) twice, its inverse, (1, 0, 0, 0).
    bits = np.array([[0, 1, 0, 0, 1, 1], [0, 1, 1, 1, 0, 0], [0, 1, 1, 1, 0, 0], [0, 1, 0, 0, 1, 0]])
    assert distinct_columns(bits) == 3
    assert distinct_columns(np.zeros((1, 4), dtype=int)) == 0
    # Packed into bytes, columns still compare bit for bit: against sets of tuples, with
    # depths that do not fill a byte and columns repeated.
    rng = np.random.default_rng(5)
    for _ in range(200):
        bits = (rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 40)))) < rng.random()).astype(int)
        bits = np.concatenate([bits, bits[:, ::3]], axis=1)
        varying = [tuple(column) for column in bits.T if column.min() != column.max()]
        assert distinct_columns(bits) == len(set(varying))


@pytest.mark.parametrize("copies, delay", [(1, 4), (2, 5), (6, 6)])
def test_a_deep_rom_reads_each_word_through_its_segment_mux(copies, delay):
    """20,000 words of 6 bits (one constant): each varying bit in two 2K x 9 blocks of ten
    segments, registered in the fabric, picked by a 4:1 mux level, registered, and a 3:1
    one; a read every cycle. Six address copies are more than one register feeds: they
    come from two of their own, a cycle later."""
    rng = np.random.default_rng(4)
    words = [int(w) for w in rng.integers(0, 32, 20000) * 2 + 1]
    assert address_copies(5, len(words), in_block_ram=True) == 3   # 10 blocks, 4 a copy
    # Up to 8 blocks of 36 bits read from the address itself.
    assert [address_copies(bits, 32, in_block_ram=True) for bits in (288, 289, 360)] == [1, 3, 3]
    assert read_cycles(copies, len(words), in_block_ram=True) == delay
    assert address_registers(copies) == {1: 0, 2: 2, 6: 8}[copies]
    m, address = Module(), Signal(range(len(words)))
    word = read_rom(m, "rom", words, 6, address, in_block_ram=True, copies=copies)
    reads = [*rng.integers(0, len(words), 60), 0, len(words) - 1, 18431, 18432, 2047, 2048]
    sim = Simulator(m)
    sim.add_clock(1e-6)

    async def check(ctx):
        for cycle in range(len(reads) + delay):
            if cycle < len(reads):
                ctx.set(address, int(reads[cycle]))
            if cycle >= delay:
                assert ctx.get(word) == words[reads[cycle - delay]]
            await ctx.tick()

    sim.add_testbench(check)
    sim.run()
    assert rom(5, len(words), in_block_ram=True).dp16kd == 10


def test_ternary_lanes_share_each_inputs_negate():
    """Yosys builds ``-x`` once for every lane that subtracts ``x``: the estimate charges a
    negate per input, a pick per varying term."""
    codes = TernaryWeights(np.array([[1, -1, 0], [-1, 1, 0], [1, 1, 0], [-1, 0, 0]])).codes  # 4 lanes, 3 inputs
    cost, width = TernaryWeights(np.zeros((1, 1))).term_cost(Integer(4, signed=False), codes.reshape(1, -1), 3)
    assert width == 5 and cost.lut4 == 2 * adder_luts(5)   # constant codes: no picks; inputs 0 and 1 negated
    words = np.vstack([codes.reshape(1, -1), np.zeros((1, 12), dtype=np.int64)])   # each used term varies
    cost, _ = TernaryWeights(np.zeros((1, 1))).term_cost(Integer(4, signed=False), words, 3)
    assert cost.lut4 == 7 * 5 + 2 * adder_luts(5)


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("in_type", [Integer(4, signed=False), Integer(3, signed=True)])
def test_constant_n_bit_weights_as_shift_adds_match_golden(stall, in_type):
    rng = np.random.default_rng(5)
    values = rng.integers(-128, 128, (4, 9))
    values[0] = [-128, 127, 0, 85, -85, 1, -1, 64, 0]   # the extremes, alternating digits, zeros
    x = rng.integers(in_type.min, in_type.max + 1, (6, 9))
    dut = MatrixVectorUnit(IntegerWeights(values, 8, shift_add=True), in_type=in_type, acc_width=16, pe=4, simd=9)
    got = run_stream(dut, [pack(row, in_type.width) for row in x], len(x), stall=stall)
    lanes = np.array([unpack(p, 16, 4, signed=True) for p in got])
    assert np.array_equal(lanes, golden.exact_matmul(x, values))
    assert dut.resources.mult18 == 0


@pytest.mark.parametrize("value", [0, 1, -1, 3, 7, -7, 85, -128, 127, 32767, -32768, 12345])
def test_signed_digits_are_canonical(value):
    digits = signed_digits(value)
    assert sum(d << k for k, d in digits) == value
    shifts = [k for k, _ in digits]
    assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:]))   # no two adjacent: the fewest digits


@pytest.mark.parametrize("constant", [0, 1, 3, 28, 100, 255])
def test_times_a_constant_is_exact_without_a_multiplier(constant):
    m, x, product = Module(), Signal(8), Signal(16)
    m.d.comb += product.eq(times(x, constant))
    sim = Simulator(m)

    async def check(ctx):
        for value in (0, 1, 77, 255):
            ctx.set(x, value)
            assert ctx.get(product) == value * constant

    sim.add_testbench(check)
    sim.run()
    assert "$mul" not in rtlil.convert(m, ports=[x, product])


def test_matrix_vector_unit_rejects_bad_folding():
    with pytest.raises(ValueError, match=r"pe \(3\) must be a positive divisor of the 4 rows"):
        MatrixVectorUnit(BinaryWeights(np.ones((4, 4))), in_type=Bipolar(), acc_width=4, pe=3, simd=1)
    with pytest.raises(ValueError, match=r"simd \(5\) must lie in \[1, 4\], the number of columns"):
        MatrixVectorUnit(BinaryWeights(np.ones((4, 4))), in_type=Bipolar(), acc_width=4, pe=1, simd=5)


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("pe", [1, 3, 6])
def test_threshold_unit_matches_golden(stall, pe):
    rng = np.random.default_rng(pe)
    acc = rng.integers(-8, 8, (20, 6))
    thresholds = rng.integers(-8, 9, 6)
    descending = rng.integers(0, 2, 6).astype(bool)
    dut = ThresholdUnit(thresholds, descending, acc_width=5, per_beat=pe)
    got = run_stream(dut, beats(acc, pe, 5), 20 * 6 // pe, stall=stall)
    bits = np.array([unpack(p, 1, pe, signed=False) for p in got]).reshape(20, 6)
    assert np.array_equal(bits, np.where(descending, acc <= thresholds, acc >= thresholds))


@pytest.mark.parametrize("in_block_ram, copies, read_stages", [(True, 4, 4), (False, 8, 4)])
def test_large_threshold_tables_read_from_address_copies(in_block_ram, copies, read_stages):
    """Tables of 505 varying bits, in 15 block RAMs or some 500 LUT4: each slice is read at a copy of the
    fold counter. In block RAM four copies take a cycle, and a fabric register another; in logic
    eight copies are more than one register feeds, and take two cycles."""
    rng = np.random.default_rng(9)
    acc = rng.integers(-64, 64, (4, 192))
    thresholds = rng.integers(-64, 65, 192)
    descending = rng.integers(0, 2, 192).astype(bool)
    dut = ThresholdUnit(thresholds, descending, acc_width=7, per_beat=96, tables_in_block_ram=in_block_ram)
    assert (dut.table_address_copies, dut.read_stages) == (copies, read_stages)
    got = run_stream(dut, beats(acc, 96, 7), 4 * 2, stall=0.3)
    bits = np.array([unpack(p, 1, 96, signed=False) for p in got]).reshape(4, 192)
    assert np.array_equal(bits, np.where(descending, acc <= thresholds, acc >= thresholds))


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("pe, levels, low", [(1, 3, -2), (3, 3, 0), (6, 7, -4), (2, 1, -1)])
def test_multi_threshold_unit_matches_golden(stall, pe, levels, low):
    rng = np.random.default_rng(pe + levels)
    acc = rng.integers(-8, 8, (20, 6))
    descending = rng.integers(0, 2, 6).astype(bool)
    table = np.sort(rng.integers(-9, 10, (6, levels)), axis=1)   # with ties and levels out of reach
    table = np.where(descending[:, None], table[:, ::-1], table)
    node = MultiThreshold("q", "x", table, descending, low)
    dut = ThresholdUnit(table, descending, acc_width=5, per_beat=pe, low=low)
    got = run_stream(dut, beats(acc, pe, 5), 20 * 6 // pe, stall=stall)
    width = node.out_type.bits
    levels_out = np.array([unpack(p, width, pe, signed=node.out_type.signed) for p in got]).reshape(20, 6)
    assert np.array_equal(levels_out, golden.multi_threshold(acc.reshape(-1, 6), node))


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("pe", [1, 2, 5, 10])
def test_argmax_unit_takes_first_maximum(stall, pe):
    rng = np.random.default_rng(pe)
    logits = rng.integers(-3, 3, (30, 10))  # narrow range: many ties
    dut = ArgmaxUnit(classes=10, acc_width=4, per_beat=pe)
    got = run_stream(dut, beats(logits, pe, 4), 30, stall=stall)
    assert got == list(np.argmax(logits, axis=1))


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("in_type, folding, per_beat", [
    (Integer(4, signed=False), "4x6,2x4,5x2", 3),
    (Bipolar(), "8x12,8x8,10x8", 12),     # fully parallel: constant weights
    (Integer(2, signed=True), "1x1,1x1,1x1", 1),
    (Bipolar(), "4x5,2x3,5x3", 12),       # SIMD not dividing: padded beats, bipolar ones too
])
def test_network_matches_golden(stall, in_type, folding, per_beat):
    rng = np.random.default_rng(7)
    graph = random_graph(rng, [12, 8, 8, 10], in_type)
    x = random_inputs(rng, graph, 12)
    net = Network(graph, Folding.parse(folding, per_beat))
    got = run_stream(net, beats(x, per_beat, in_type.width), len(x), stall=stall)
    assert got == list(golden.run(graph, x)[:, 0])


@pytest.mark.parametrize("folding, per_beat, message", [
    ("3x6,2x4,5x2", 3, r"fc0: PE=3 does not divide the layer's 8 outputs; choose one of 1, 2, 4, 8"),
    ("4x13,2x4,5x2", 3, r"fc0: SIMD=13 must lie in \[1, 12\], the layer's inputs"),
    ("4x6,2x4,5x2", 5, r"input elements per beat \(5\) must divide the input size 12"),
    ("4x6,2x4", 3, r"folding has 2 entries but the graph has 3 dense layers"),
])
def test_folding_errors_say_what_divides(folding, per_beat, message):
    graph = random_graph(np.random.default_rng(0), [12, 8, 8, 10])
    with pytest.raises(HwgenError, match=message):
        Folding.parse(folding, per_beat).check(graph)


def test_folding_names_the_padded_layers():
    graph = random_graph(np.random.default_rng(0), [12, 8, 8, 10])
    assert Folding.parse("4x6,2x4,5x2", 3).padding(graph) == {}
    assert Folding.parse("4x5,2x3,5x8", 3).padding(graph) == {"fc0": 3, "fc1": 1}


def test_folding_syntax_error():
    with pytest.raises(HwgenError, match=r"folding '4-6': expected PExSIMD"):
        Folding.parse("4-6", 1)


@pytest.mark.parametrize("width, signed_in, max_shift", [(1, False, 1), (3, False, 5), (3, True, 4), (4, True, 7)])
def test_barrel_shifter_exhaustive(width, signed_in, max_shift):
    value = Signal(signed(width) if signed_in else width)
    amount = Signal(range(max_shift + 1))
    out = barrel_shift_left(value, amount, max_shift)
    m = Module()
    result = Signal(out.shape())
    m.d.comb += result.eq(out)
    cases = [(v, a) for v in range(-(1 << (width - 1)) if signed_in else 0,
                                  (1 << (width - 1)) if signed_in else 1 << width)
             for a in range(max_shift + 1)]
    got = []

    async def bench(ctx):
        for v, a in cases:
            ctx.set(value, v)
            ctx.set(amount, a)
            got.append(ctx.get(result))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert got == [v << a for v, a in cases]
    assert len(amount) == max(1, max_shift.bit_length())   # log-depth: one mux stage per bit


def _shift_case(rng, in_type, mh, mw, count=4, multiplied=False, weight_type=PowerOfTwo(-2, 3)):
    signs = rng.integers(-1, 2, (mh, mw))
    exponents = rng.integers(weight_type.min_exponent, weight_type.max_exponent + 1, (mh, mw))
    node = ShiftDense("fc", "x", signs, exponents, weight_type)
    x = rng.integers(in_type.min, in_type.max + 1, (count, mw))
    acc = golden.exact_matmul(x, node.scaled_weights())
    acc_width = node.output_type(in_type).bits
    return ShiftWeights(signs, exponents, weight_type, multiplied), x, acc, acc_width


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("in_type", [Integer(4, signed=False), Integer(3, signed=True)])
@pytest.mark.parametrize("mh, mw, pe, simd", MVU_SHAPES)
@pytest.mark.parametrize("multiplied", [False, True], ids=["barrel", "multiplied"])
def test_shift_matrix_vector_unit_matches_golden(stall, in_type, mh, mw, pe, simd, multiplied):
    rng = np.random.default_rng(mh * 100 + mw)
    weights, x, acc, acc_width = _shift_case(rng, in_type, mh, mw, multiplied=multiplied)
    dut = MatrixVectorUnit(weights, in_type=in_type, acc_width=acc_width, pe=pe, simd=simd)
    assert np.array_equal(_mvu_outputs(dut, x, in_type, acc_width, stall), acc)
    if multiplied and not dut.fully_parallel:
        # The ROM holds the codes (sign and shift), decoded beside the multipliers.
        assert dut.rom_shape[0] == pe * simd * weights.code_width
        assert "cell $mul" in rtlil.convert(dut)


def test_shift_code_layout():
    # Bit 0 negative, then shift ^ (max_shift + 1); a zero weight is code 0, whatever its exponent.
    weights = ShiftWeights(np.array([0, 1, -1, 1]), np.array([-3, -14, 0, -1]), PowerOfTwo(-14, 0))
    assert weights.codes.tolist() == [0, (0 ^ 15) << 1, 1 | (14 ^ 15) << 1, (13 ^ 15) << 1]


@pytest.mark.parametrize("multiplied", [False, True], ids=["barrel", "multiplied"])
@pytest.mark.parametrize("exponents, code_width", [((-14, 0), 5), ((-15, 0), 6), ((0, 0), 2), ((-6, 0), 4)])
def test_shift_codes_hold_zero_as_the_first_shift_out_of_range(exponents, code_width, multiplied):
    # A DeepShift weight of b bits (2**(b-1) - 1 exponents, two signs, zero) takes b bits;
    # one exponent more needs a bit more. Every code is exercised, folded and constant.
    rng = np.random.default_rng(code_width)
    in_type = Integer(5, signed=True)
    weights, x, acc, acc_width = _shift_case(rng, in_type, 6, 40, multiplied=multiplied,
                                             weight_type=PowerOfTwo(*exponents))
    assert weights.code_width == code_width
    for pe, simd in [(2, 8), (6, 40)]:
        dut = MatrixVectorUnit(weights, in_type=in_type, acc_width=acc_width, pe=pe, simd=simd)
        assert np.array_equal(_mvu_outputs(dut, x, in_type, acc_width, 0.3), acc)


@pytest.mark.parametrize("folding", ["2x3", "4x9"])   # folded (ROM) and fully parallel (constants)
@pytest.mark.parametrize("kind", ["shift", "binary-int", "binary-bipolar"])
def test_matrix_vector_unit_has_no_multiplier(folding, kind):
    rng = np.random.default_rng(0)
    in_type = Bipolar() if kind == "binary-bipolar" else Integer(8, signed=False)
    weights, _, _, acc_width = (_shift_case(rng, in_type, 4, 9) if kind == "shift" else
                                _mvu_case(rng, in_type, 4, 9, 1, 1))
    if kind != "shift":
        weights = BinaryWeights(weights)
    pe, simd = map(int, folding.split("x"))
    dut = MatrixVectorUnit(weights, in_type=in_type, acc_width=acc_width, pe=pe, simd=simd)
    text = rtlil.convert(dut)
    assert "cell $add" in text and "cell $mul" not in text


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("pe", [1, 2, 6])
@pytest.mark.parametrize("relu, out_type", [(True, Integer(3, signed=False)), (False, Integer(4, signed=True))])
def test_requantize_unit_matches_golden(stall, pe, relu, out_type):
    rng = np.random.default_rng(pe)
    shift = 2
    acc = rng.integers(-64, 64, (20, 6))
    acc[0, :4] = [6, -6, 2, -2]   # ties: rounded towards +infinity
    bias = rng.integers(-16, 17, 6)
    bias[:4] = 0
    node = Requantize("rq", "x", bias, shift, relu, out_type)
    graph = Graph((Input("x", 6, Integer(8, signed=True, frac=shift + out_type.frac)), node))
    expected = golden.run(graph, acc)
    dut = RequantizeUnit(bias, shift=shift, rounding=node.rounding, low=node.low, high=node.high,
                         acc_width=8, out_type=out_type, per_beat=pe)
    got = run_stream(dut, beats(acc, pe, 8), 20 * 6 // pe, stall=stall)
    lanes = np.array([unpack(p, out_type.bits, pe, signed=out_type.signed) for p in got]).reshape(20, 6)
    assert np.array_equal(lanes, expected)
    assert expected.min() == node.low and expected.max() == node.high   # saturation exercised


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("folding, per_beat", [("4x6,2x4,5x2", 3), ("8x12,8x8,10x8", 12), ("1x1,1x1,1x1", 1),
                                               ("4x5,2x3,5x3", 3)])
def test_shift_network_matches_golden(stall, folding, per_beat):
    rng = np.random.default_rng(11)
    graph = random_shift_graph(rng, [12, 8, 8, 10])
    x = random_inputs(rng, graph, 12)
    net = Network(graph, Folding.parse(folding, per_beat))
    got = run_stream(net, beats(x, per_beat, graph.input.dtype.width), len(x), stall=stall)
    assert got == list(golden.run(graph, x)[:, 0])
