"""The software baseline (the integer graph as a torch module) classifies exactly as the golden model."""
import numpy as np
import pytest

from hwgen import golden
from hwgen.ir import Argmax, Dense, Graph, Input, Integer
from hwgen.train.deployed import DeployedNet, exact_dtype

from .graphs import random_inputs, random_network


@pytest.mark.parametrize("seed", range(40))
def test_deployed_net_equals_golden(seed):
    rng = np.random.default_rng(seed)
    graph, _ = random_network(rng)
    x = random_inputs(rng, graph, 64)
    assert np.array_equal(DeployedNet(graph).classify(x), golden.run(graph, x)[:, 0])


def test_wide_accumulators_take_float64():
    import torch
    weights = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [0, 1, 1, 1]], dtype=np.uint8)
    wide = Graph((Input("input", 4, Integer(24, signed=True)), Dense("fc", "input", weights),
                  Argmax("argmax", "fc")))
    assert exact_dtype(wide) == torch.float64
    # Sums of 3 * 2**23 - 3 and - 2 differ by one: float32 could not tell them apart.
    top = (1 << 23) - 1
    x = np.array([[top, top, top, 1], [top, top, top, -1], [-1, top, top, top]])
    assert np.array_equal(DeployedNet(wide).classify(x), golden.run(wide, x)[:, 0])
