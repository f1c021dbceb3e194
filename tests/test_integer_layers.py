"""Ternary and n-bit weights, n-bit activations: levels, scales and gradients against their formulas."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from hwgen.train.integer_layers import IntegerActivation, IntegerConv2d, IntegerLinear


def test_ternary_levels_follow_twn():
    layer = IntegerLinear(6, 2, "ternary")
    w = torch.tensor([[0.9, -0.5, 0.1, -0.05, 0.3, 0.0], [0.2, 0.2, -0.2, 0.2, -0.2, 0.2]])
    layer.weight.data = w
    levels, scale = layer.levels_and_scale()
    # Row 0: Δ = 0.7 · mean|w| = 0.7 · 1.85 / 6; kept |w| > Δ: 0.9, 0.5, 0.3; α their mean.
    delta = 0.7 * w.abs().mean(dim=1, keepdim=True)
    assert torch.equal(levels, torch.sign(w) * (w.abs() > delta))
    assert levels[0].tolist() == [1, -1, 0, 0, 1, 0] and levels[1].tolist() == [1, 1, -1, 1, -1, 1]
    assert torch.allclose(scale, torch.tensor([(0.9 + 0.5 + 0.3) / 3, 0.2]))


def test_one_scale_for_the_layer_before_the_logits():
    layer = IntegerLinear(4, 3, "int4", per_channel=False)
    layer.weight.data = torch.tensor([[0.7, 0.1, 0, 0], [0.35, -0.7, 0, 0], [0.05, 0, 0, 0]])
    levels, scale = layer.levels_and_scale()
    assert torch.allclose(scale, torch.full((3,), 0.1))      # max|W| / 7, shared
    assert levels[:, :2].tolist() == [[7, 1], [4, -7], [1, 0]]  # 3.5 and 0.5 round half up


@pytest.mark.parametrize("kind, bound", [("int2", 1), ("int4", 7), ("int8", 127), ("int16", 32767)])
def test_n_bit_levels_are_rounded_and_in_range(kind, bound):
    torch.manual_seed(0)
    layer = IntegerLinear(50, 8, kind)
    levels, scale = layer.levels_and_scale()
    assert levels.abs().max() == bound and torch.equal(levels, levels.round())
    expected = torch.floor(layer.weight / scale[:, None] + 0.5).clamp(-bound, bound)
    assert torch.equal(levels, expected)


def test_stochastic_rounding_is_unbiased_in_training_and_off_in_eval():
    torch.manual_seed(1)
    big = IntegerLinear(400, 1, "int4", stochastic=True)
    big.weight.data = torch.cat([torch.tensor([[1.0]]), torch.full((1, 399), 0.25 / 7)], dim=1)  # 0.25 of a step
    levels = torch.stack([big.levels_and_scale()[0][0, 1:] for _ in range(20)])
    assert abs(levels.float().mean().item() - 0.25) < 0.03
    big.eval()
    assert big.levels_and_scale()[0][0, 1:].abs().sum() == 0


@pytest.mark.parametrize("kind", ["ternary", "int3"])
def test_weight_gradient_is_straight_through(kind):
    """d loss / d W is what a float layer with weight W gets: the levels pass the gradient straight through."""
    torch.manual_seed(2)
    layer = IntegerLinear(5, 4, kind)
    x, grad_out = torch.randn(7, 5), torch.randn(7, 4)
    (layer(x) * grad_out).sum().backward()
    weight = layer.weight.detach().clone().requires_grad_()
    (F.linear(x, weight) * grad_out).sum().backward()
    assert torch.allclose(layer.weight.grad, weight.grad, atol=1e-6)


def test_eval_forward_is_the_exact_integer_sum_times_the_scale():
    """int16 weights on 8-bit inputs overflow float32's 24 bits: the sum is taken in float64."""
    torch.manual_seed(3)
    layer = IntegerLinear(64, 4, "int16").eval()
    x = torch.randint(0, 256, (5, 64)).float()
    levels, scale = layer.levels_and_scale()
    exact = x.long() @ levels.long().T
    assert exact.abs().max() >= 1 << 24
    assert torch.equal(layer(x), exact.to(torch.float32) * scale)


def test_conv_pads_and_scales_per_channel():
    layer = IntegerConv2d(1, 2, 3, "ternary", padding=1, pad_value=-1.0).eval()
    x = torch.ones(1, 1, 4, 4)
    levels, scale = layer.levels_and_scale()
    expected = F.conv2d(F.pad(x, (1,) * 4, value=-1.0), levels) * scale.reshape(1, -1, 1, 1)
    assert torch.equal(layer(x), expected)


@pytest.mark.parametrize("bits, relu, low, high, multiplier", [(2, False, -2, 1, 2), (3, True, 0, 7, 7)])
def test_activation_levels_and_gradient(bits, relu, low, high, multiplier):
    act = IntegerActivation(bits, relu=relu)
    x = torch.linspace(-2, 2, 81, requires_grad=True)
    y = act(x)
    assert torch.equal(y.detach(), torch.floor(x.detach() * multiplier + 0.5).clamp(low, high))
    y.sum().backward()
    inside = (x.detach() * multiplier >= low) & (x.detach() * multiplier <= high)
    assert torch.equal(x.grad, torch.where(inside, float(multiplier), 0.0))
    assert torch.equal(act.eval()(x.detach()), y.detach())


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="ternary or int2 .. int16"):
        IntegerLinear(2, 2, "int17")
    assert np.isfinite(IntegerLinear(2, 2, "int2").levels_and_scale()[1].numpy()).all()
