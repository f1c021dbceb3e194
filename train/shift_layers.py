"""Layers of shift networks (DeepShift-Q and DeepShift-PS) and fixed-point activations.

Everything a layer computes is a dyadic rational with bounded precision,
so evaluated in float64 the forward pass is exact and equals the integer
graph the exporter writes (``hwgen.train.shift_export``).
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from .quantizers import deepshift_ps, deepshift_q, exponent_range, quantize_fixed, round_half_up


class ShiftWeights(nn.Module):
    """Power-of-two weights and a bias at the accumulator's scale, for linear and conv layers.

    ``variant`` "ps" trains a shift and a sign per weight (DeepShift-PS);
    "q" trains float weights rounded to powers of two (DeepShift-Q).
    ``in_frac`` is the input's binary point: the accumulator's is ``in_frac
    - min_exponent``, and the bias is rounded to that step so that the
    integer hardware adds exactly the same value.
    """

    def __init__(self, shape: tuple[int, ...], *, variant: str, weight_bits: int, in_frac: int,
                 stochastic: bool = False):
        super().__init__()
        if variant not in ("ps", "q"):
            raise ValueError(f"variant must be 'ps' or 'q', not {variant!r}")
        self.variant, self.weight_bits, self.in_frac, self.stochastic = variant, weight_bits, in_frac, stochastic
        self.weight_shape = tuple(shape)
        out_features, fan_in = shape[0], math.prod(shape[1:])
        bound = 1.0 / math.sqrt(fan_in)
        initial = torch.empty(shape).uniform_(-bound, bound)
        if variant == "q":
            self.weight = nn.Parameter(initial)
        else:
            lo, hi = self.exponents
            self.shift = nn.Parameter(torch.log2(initial.abs()).clamp(lo, hi))
            self.sign = nn.Parameter(torch.sign(initial))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    @property
    def exponents(self) -> tuple[int, int]:
        return exponent_range(self.weight_bits)

    @property
    def acc_frac(self) -> int:
        return self.in_frac - self.exponents[0]

    def quantized_weight(self) -> torch.Tensor:
        stochastic = self.stochastic and self.training
        if self.variant == "q":
            return deepshift_q(self.weight, self.weight_bits, stochastic)
        return deepshift_ps(self.shift, self.sign, self.weight_bits, stochastic)

    @torch.no_grad()
    def requested_exponents(self) -> torch.Tensor:
        """The exponent each non-zero weight's latent parameter asks for before the
        range clamp (DeepShift-Q maps weights below the range to its smallest
        power on purpose, so only its upper side counts)."""
        if self.variant == "q":
            nonzero = self.weight != 0
            wanted = round_half_up(torch.log2(self.weight.abs().clamp_min(2.0 ** (self.exponents[0] - 1))))
            return wanted.clamp_min(self.exponents[0])[nonzero]
        nonzero = round_half_up(self.sign.clamp(-1.0, 1.0)) != 0
        return round_half_up(self.shift)[nonzero]

    def quantized_bias(self) -> torch.Tensor:
        step = 2.0 ** -self.acc_frac
        return self.bias + (round_half_up(self.bias / step) * step - self.bias).detach()

    @torch.no_grad()
    def clamp_latent_(self) -> None:
        # Beyond these bounds the clamps in the forward pass stop the gradient,
        # and a parameter left there would never come back.
        if self.variant == "ps":
            self.shift.clamp_(*self.exponents)
            self.sign.clamp_(-1.0, 1.0)
        else:
            limit = 2.0 ** self.exponents[1]
            self.weight.clamp_(-limit, limit)


class ShiftLinear(ShiftWeights):
    """A linear layer with power-of-two weights (see ``ShiftWeights``)."""

    def __init__(self, in_features: int, out_features: int, **options):
        super().__init__((out_features, in_features), **options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight(), self.quantized_bias())


class ShiftConv2d(ShiftWeights):
    """A convolution with power-of-two weights (see ``ShiftWeights``); pads with 0."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, stride: int = 1,
                 padding: int = 0, **options):
        super().__init__((out_channels, in_channels, kernel, kernel), **options)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.quantized_weight(), self.quantized_bias(), stride=self.stride,
                        padding=self.padding)


class FixedPointReLU(nn.Module):
    """ReLU, then round half up to an unsigned ``bits``-bit value with ``frac``
    fraction bits (saturating): the activations the hardware carries."""

    def __init__(self, bits: int, frac: int):
        super().__init__()
        self.bits, self.frac = bits, frac

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_fixed(x, self.bits, self.frac, signed=False)


class InputScale(nn.Module):
    """Integer pixels to the fixed-point values they stand for: ``x * 2**-frac``."""

    def __init__(self, frac: int):
        super().__init__()
        self.frac = frac

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0 ** -self.frac
