"""DeepShift quantizers, shift layers and their export: torch eval equals the golden model."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from hwgen import golden
from hwgen.errors import HwgenError
from hwgen.train.datasets import load_digits
from hwgen.train.export import export_graph
from hwgen.train.fit import predict
from hwgen.train.models import ShiftNet
from hwgen.train.quantizers import deepshift_ps, deepshift_q, exponent_range, quantize_fixed, stochastic_round
from hwgen.train.zoo import get_spec


def test_exponent_range_of_weight_bits():
    assert exponent_range(5) == (-14, 0)   # DeepShift's: 15 shifts and zero in 4 bits
    assert exponent_range(2) == (0, 0)     # ternary
    with pytest.raises(ValueError, match="at least 2"):
        exponent_range(1)


def test_deepshift_q_rounds_log2_half_up_and_clamps():
    # log2 of 0.75 is -0.415 -> 2**0; of 0.7 is -0.51 -> 2**-1; 2**-2.5 is a tie -> 2**-2.
    w = torch.tensor([0.75, 0.7, -(2 ** -2.5), 2 ** -20, 3.0, 0.0], requires_grad=True)
    q = deepshift_q(w, weight_bits=3)   # exponents [-2, 0]
    assert q.tolist() == [1.0, 0.5, -0.25, 0.25, 1.0, 0.0]
    q.sum().backward()
    assert w.grad.tolist() == [1.0] * 6    # straight through


def test_deepshift_ps_weights_and_gradients_of_shift_and_sign():
    shift = torch.tensor([-1.4, -1.6, 2.0, -9.0], requires_grad=True)
    sign = torch.tensor([0.6, -0.7, 0.2, 1.0], requires_grad=True)
    w = deepshift_ps(shift, sign, weight_bits=3)   # exponents [-2, 0]
    assert w.tolist() == [0.5, -0.25, 0.0, 0.25]   # a zero weight from the ternary sign
    w.sum().backward()
    # d w / d shift = round(sign) * 2**round(shift) * ln 2, zero where the clamp is active.
    assert shift.grad.tolist() == pytest.approx([0.5 * math.log(2), -0.25 * math.log(2), 0.0, 0.0])
    # d w / d sign = 2**round(shift).
    assert sign.grad.tolist() == [0.5, 0.25, 1.0, 0.25]


def test_stochastic_rounding_is_unbiased_and_stays_on_neighbours():
    torch.manual_seed(0)
    x = torch.full((200_000,), -1.3)
    r = stochastic_round(x)
    assert set(r.unique().tolist()) == {-2.0, -1.0}
    assert r.mean().item() == pytest.approx(-1.3, abs=0.01)
    shift = torch.full((10_000,), -1.5)
    w = deepshift_ps(shift, torch.ones(10_000), weight_bits=3, stochastic=True)
    assert set(w.unique().tolist()) == {0.25, 0.5}


def test_quantize_fixed_rounds_half_up_saturates_and_passes_gradient_inside():
    x = torch.tensor([-1.0, 0.0625, 0.09375, 0.03125, 20.0, 15.9], requires_grad=True)
    q = quantize_fixed(x, bits=8, frac=4, signed=False)   # step 1/16, range [0, 255/16]
    assert q.tolist() == [0.0, 0.0625, 0.125, 0.0625, 255 / 16, 15.875]
    q.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 1.0]


def _trained_digits_model(variant: str, stochastic: bool = False):
    torch.manual_seed(0)
    data = load_digits()
    spec = replace(get_spec("digits-shift"), hidden=(32,), family=f"shift-{variant}", weight_bits=4,
                   act_bits=6, act_frac=3, stochastic=stochastic)
    model = ShiftNet(spec, 64, 10, data.image, data.pixel_bits)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.from_numpy(data.train.images).float()
    y = torch.from_numpy(data.train.labels)
    for _ in range(30):
        for start in range(0, len(x), 64):
            loss = torch.nn.functional.cross_entropy(model(x[start:start + 64]), y[start:start + 64])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for layer in model.modules():
                if hasattr(layer, "clamp_latent_"):
                    layer.clamp_latent_()
    return model, data


@pytest.mark.parametrize("variant, stochastic", [("ps", False), ("q", False), ("ps", True)])
def test_torch_eval_equals_golden_on_the_whole_test_set(variant, stochastic):
    model, data = _trained_digits_model(variant, stochastic)
    graph = export_graph(model, data.features, data.pixel_bits)
    torch_pred = predict(model, data.test.images)
    assert np.array_equal(golden.run(graph, data.test.images)[:, 0], torch_pred)
    assert np.mean(torch_pred == data.test.labels) > 0.85
    # Real saturation and zero weights in the trained net, so the edges are exercised.
    hidden = golden.run_all(graph, data.test.images)["fc1_requantize"]
    assert hidden.min() == 0 and (variant == "q" or (graph.nodes[1].signs == 0).any())


def test_export_rejects_exponents_outside_weight_bits():
    model, data = _trained_digits_model("ps")
    with torch.no_grad():
        model[1].weight_bits = 3      # the trained shifts reach below -2
    with pytest.raises(HwgenError, match=r"fc1: trained weight exponents span \[-\d+, 0\], but "
                                         r"weight_bits=3 holds \[-2, 0\]"):
        export_graph(model, data.features, data.pixel_bits)


def test_export_rejects_activations_finer_than_the_accumulator():
    model, data = _trained_digits_model("q")
    model[2].frac = 40
    with pytest.raises(HwgenError, match="fc1: activations with 40 fraction bits are finer"):
        export_graph(model, data.features, data.pixel_bits)

