from dataclasses import replace

import numpy as np
import pytest
import torch

from hwgen import golden
from hwgen.ir import Input, Integer
from hwgen.train.export import export_graph
from hwgen.train.fit import to_tensor
from hwgen.train.lowering import GraphBuilder
from hwgen.train.models import BinarizedNet
from hwgen.train.quantizers import sign
from hwgen.train.sign_estimators import sign_ste
from hwgen.train.zoo import get_spec


def test_sign_of_zero_is_plus_one():
    assert sign(torch.tensor([-0.5, 0.0, 0.5])).tolist() == [-1.0, 1.0, 1.0]


def test_sign_ste_cancels_gradient_beyond_threshold():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    sign_ste(x, 1.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def _prefix(model, end):
    return torch.nn.Sequential(*list(model)[:end])


def _model_with_ties(seed: int):
    """A model whose batch norms have ties, negative and zero scales."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BinarizedNet(replace(get_spec("digits-bnn"), hidden=(10, 8)), 12, 4, (3, 4)).eval()
    x = rng.integers(0, 8, (400, 12))
    with torch.no_grad():
        for block in (0, 3):
            bn = model[block + 1]
            acc = _prefix(model, block + 1)(to_tensor(x))
            # Means equal to accumulators some inputs really produce: exact ties.
            bn.running_mean.copy_(acc[rng.integers(0, len(x), bn.num_features),
                                      torch.arange(bn.num_features)])
            bn.running_var.uniform_(0.5, 30.0)
            gamma = torch.empty(bn.num_features).uniform_(0.2, 2.0)
            gamma[::3] *= -1.0          # negative scale flips the comparison
            gamma[1] = 0.0              # zero scale: the output is sign(beta)
            bn.weight.copy_(gamma)
            bn.bias.zero_()
            bn.bias[1] = -0.5
            bn.bias[4] = 0.3
    return model, x


@pytest.mark.parametrize("seed", range(4))
def test_export_reproduces_torch_eval_exactly(seed):
    model, x = _model_with_ties(seed)
    graph = export_graph(model, 12, 3)
    values = golden.run_all(graph, x)
    with torch.no_grad():
        for name, end in (("fc1_threshold", 3), ("fc2_threshold", 6)):
            torch_bits = (_prefix(model, end)(to_tensor(x)) > 0).numpy().astype(np.uint8)
            assert np.array_equal(values[name], torch_bits)
        torch_pred = model(to_tensor(x)).argmax(dim=1).numpy()
    assert np.array_equal(values["argmax"][:, 0], torch_pred)
    # The ties were real: some accumulators sit exactly on a threshold.
    th = graph.nodes[2]
    assert np.any(values["fc1"] == th.thresholds)
    assert th.descending.any() and (~th.descending).any()


def test_flatten_permutation_matches_torch_channel_major_order():
    """A dense layer after a flatten reads torch's CHW order; the exported rows read HWC."""
    torch.manual_seed(0)
    channels, height, width = 3, 2, 4
    size = channels * height * width
    builder = GraphBuilder(size, Integer(4, signed=False))
    builder.nodes[0] = Input("input", size, Integer(4, signed=False), (height, width, channels))
    builder.structural(torch.nn.Flatten())
    weight = torch.randint(-3, 4, (5, size)).float()
    rows = torch.from_numpy(builder.rows(weight))
    hwc = torch.randint(0, 16, (7, height, width, channels)).float()
    chw = hwc.permute(0, 3, 1, 2).reshape(7, -1)              # what torch's Flatten gives
    assert torch.equal(chw @ weight.T, hwc.reshape(7, -1) @ rows.T)
    assert not torch.equal(rows, weight)                       # the permutation is not the identity


def test_conv_weights_become_window_ordered_rows():
    weight = torch.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2).float()   # (O, C, K, K)
    rows = GraphBuilder(1, Integer(1, signed=False)).rows(weight)
    # row element (ky * K + kx) * C + c holds weight[o, c, ky, kx]
    for o, c, ky, kx in np.ndindex(2, 3, 2, 2):
        assert rows[o, (ky * 2 + kx) * 3 + c] == weight[o, c, ky, kx]
