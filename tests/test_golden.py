import numpy as np
import pytest

from hwgen import golden
from hwgen.ir import Bipolar, Dense, Graph, Input, Integer, Threshold

from .graphs import naive_reference, random_graph, random_inputs


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
