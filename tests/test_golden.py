import numpy as np
import pytest

from hwgen import golden
from hwgen.ir import (Bipolar, Dense, Graph, Input, Integer, IntegerDense, MultiThreshold, PowerOfTwo, Requantize,
                      ShiftDense, Ternary, Threshold)

from .graphs import naive_reference, random_graph, random_inputs, random_network, random_shift_graph


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("in_type", [Integer(4, signed=False), Integer(3, signed=True), Bipolar()])
def test_golden_matches_naive_reference(seed, in_type):
    rng = np.random.default_rng(seed)
    # Odd sizes leave partly used 64-bit words, so the XNOR mask is exercised.
    sizes = [int(rng.integers(1, 80)), int(rng.integers(1, 70)), int(rng.integers(2, 12))]
    graph = random_graph(rng, sizes, in_type)
    x = random_inputs(rng, graph, 17)
    assert np.array_equal(golden.run(graph, x), naive_reference(graph, x))


def test_threshold_tie_gives_plus_one_in_both_directions():
    graph = Graph((Input("x", 2, Bipolar()), Dense("fc", "x", np.ones((2, 2))),
                   Threshold("th", "fc", np.array([2, 2]), np.array([False, True]))))
    # acc == 2 == threshold: a tie, +1 either way (sign(0) = +1).
    assert golden.run(graph, np.array([[1, 1]])).tolist() == [[1, 1]]
    # acc == 0: below an ascending threshold, within a descending one.
    assert golden.run(graph, np.array([[0, 1]])).tolist() == [[0, 1]]


def test_argmax_ties_pick_lowest_index():
    rng = np.random.default_rng(1)
    graph = random_graph(rng, [3, 4], Integer(2, signed=False))
    # All-zero input gives all-zero logits: a four-way tie.
    assert golden.run(graph, np.zeros((1, 3), dtype=np.int64))[0, 0] == 0


def test_input_out_of_range_is_rejected():
    graph = random_graph(np.random.default_rng(2), [3, 4], Integer(2, signed=False))
    with pytest.raises(ValueError, match=r"input: values must lie in \[0, 3\]"):
        golden.run(graph, np.full((1, 3), 4))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("in_type", [Integer(4, signed=False, frac=4), Integer(5, signed=True, frac=2)])
def test_shift_golden_matches_naive_reference(seed, in_type):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 60)), int(rng.integers(1, 40)), int(rng.integers(2, 12))]
    graph = random_shift_graph(rng, sizes, in_type)
    x = random_inputs(rng, graph, 17)
    assert np.array_equal(golden.run_all(graph, x)["rq0"], naive_reference(Graph(graph.nodes[:3]), x))
    assert np.array_equal(golden.run(graph, x), naive_reference(graph, x))


def _requantize(values, bias, shift, relu, out_type):
    graph = Graph((Input("x", len(values), Integer(12, signed=True, frac=shift)),
                   Requantize("rq", "x", np.array(bias), shift, relu, out_type)))
    return golden.run(graph, np.array([values])).tolist()[0]


def test_requantize_rounds_half_up_and_floors_negatives():
    # shift 2: x / 4 rounded to nearest, ties (x = 4k + 2) towards +infinity.
    signed8 = Integer(8, signed=True)
    assert _requantize([5, 6, 7, -5, -6, -7, -2, 2], [0] * 8, 2, False, signed8) == [1, 2, 2, -1, -1, -2, 0, 1]
    # the bias is added before rounding
    assert _requantize([1, 1], [1, -4], 1, False, signed8) == [1, -1]
    # shift 0 is the identity plus the bias
    assert _requantize([-9, 9], [3, -3], 0, False, signed8) == [-6, 6]


def test_requantize_saturates_and_applies_relu():
    unsigned3 = Integer(3, signed=False)
    assert _requantize([100, -100, 7, 8], [0] * 4, 0, True, unsigned3) == [7, 0, 7, 7]
    signed3 = Integer(3, signed=True)
    assert _requantize([100, -100, -4, -5], [0] * 4, 0, False, signed3) == [3, -4, -4, -4]
    assert _requantize([100, -100, -4, 2], [0] * 4, 0, True, signed3) == [3, 0, 0, 2]


def test_shift_dense_zero_weights_and_exponent_range():
    wt = PowerOfTwo(-2, 1)
    node = ShiftDense("fc", "x", np.array([[1, -1, 0, 1]]), np.array([[-2, 1, 1, 0]]), wt)
    graph = Graph((Input("x", 4, Integer(3, signed=False)), node))
    # weights 2**-2, -2**1, 0, 2**0 scaled by 2**2: 1, -8, 0, 4
    assert golden.run(graph, np.array([[7, 1, 7, 1]])).tolist() == [[7 - 8 + 0 + 4]]
    assert graph.types["fc"].frac == 2
    with pytest.raises(ValueError, match=r"field 'exponents': values must lie in \[-2, 1\], got \[-3, 1\]"):
        ShiftDense("fc", "x", np.array([[1, 1]]), np.array([[-3, 1]]), wt)
    with pytest.raises(ValueError, match=r"field 'signs': values must be -1, 0 or \+1"):
        ShiftDense("fc", "x", np.array([[2, 1]]), np.array([[0, 1]]), wt)


@pytest.mark.parametrize("seed", range(40))
def test_mixed_weight_kinds_match_naive_reference(seed):
    """Random MLPs and CNNs of every family (ternary, n-bit, binary weights; one or several
    thresholds): MLPs against the naive loops, every node of the CNNs through the golden model."""
    rng = np.random.default_rng(seed)
    graph, _ = random_network(rng)
    x = random_inputs(rng, graph, 9)
    if not graph.input.shape:
        assert np.array_equal(golden.run(graph, x), naive_reference(graph, x))


def test_multi_threshold_counts_levels_with_ties_reached_in_both_directions():
    graph = Graph((Input("x", 2, Integer(4, signed=True)),
                   MultiThreshold("q", "x", np.array([[-2, 0, 3], [3, 0, -2]]), np.array([False, True]), -1)))
    rows = np.array([[-3, -3], [-2, -2], [0, 0], [2, 2], [3, 3], [7, 7]])
    # Ascending: levels reached at x >= -2, 0, 3; descending: at x <= 3, 0, -2 (ties reach both ways).
    assert golden.run(graph, rows).tolist() == [[-1, 2], [0, 2], [1, 1], [1, 0], [2, 0], [2, -1]]
    assert graph.types["q"] == Integer(3, signed=True)


def test_ternary_and_integer_weights_on_bipolar_and_integer_inputs():
    weights = np.array([[1, 0, -1], [-1, -1, 1]])
    bipolar = Graph((Input("x", 3, Bipolar()), IntegerDense("fc", "x", weights, Ternary())))
    assert golden.run(bipolar, np.array([[1, 0, 0]])).tolist() == [[2, -1]]     # x = +1, -1, -1
    wide = Graph((Input("x", 3, Integer(3, signed=False)), IntegerDense("fc", "x", 5 * weights, Integer(4, True))))
    assert golden.run(wide, np.array([[7, 1, 2]])).tolist() == [[25, -30]]
    # The accumulator's type is what these weights can reach: [-70, 35] from inputs in [0, 7].
    assert wide.types["fc"] == Integer(8, signed=True)
