"""Layers with ternary or n-bit integer weights, and n-bit integer activations.

A weight layer keeps latent float weights ``W`` and uses integer levels ``q``
times a positive scale ``s``: ``W ≈ s·q``.

- ``ternary`` (TWN, Li & Liu 2016): ``Δ = 0.7·mean|W|``, ``q = sign(W)`` where
  ``|W| > Δ`` and 0 elsewhere, ``s = α = mean of |W|`` over the weights kept.
- ``int<n>``: ``s = max|W| / (2**(n-1) - 1)``, ``q = round(W / s)`` (half up,
  or stochastic in training) in ``[-(2**(n-1) - 1), 2**(n-1) - 1]``.

Hidden layers take ``Δ``, ``α`` and ``s`` per output channel; the layer before
the logits one for the whole layer (a positive scale shared by every logit
leaves the argmax alone). The forward pass is ``(x ⊛ q) · s``: the integer sum
first, exact (in float64 where float32's 24 bits could round it), then the
scale. So in the integer graph the layer is its levels alone, and the export
folds ``s`` with the batch norm and activation that follow into thresholds,
evaluating this same expression at every integer accumulator it needs.
Training passes the gradient straight through the levels to ``W``.
"""
import torch
from torch import nn
from torch.nn import functional as F

from .quantizers import round_half_up, stochastic_round

TWN_DELTA = 0.7
EXACT_FLOAT32 = 1 << 24


class IntegerWeights:
    """For layers whose latent float weights are used as integer levels times a scale."""

    def setup(self, kind: str, per_channel: bool, stochastic: bool) -> None:
        if kind != "ternary" and not (kind.startswith("int") and 2 <= int(kind[3:]) <= 16):
            raise ValueError(f"weights must be ternary or int2 .. int16, not {kind!r}")
        self.kind, self.per_channel, self.stochastic = kind, per_channel, stochastic
        nn.init.uniform_(self.weight, -1.0, 1.0)

    @property
    def bound(self) -> int:
        """The largest level's magnitude."""
        return 1 if self.kind == "ternary" else (1 << int(self.kind[3:]) - 1) - 1

    @torch.no_grad()
    def levels_and_scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(integer levels shaped like the weight, positive scale per output channel)."""
        w = self.weight.detach()
        rows = w.reshape(len(w), -1) if self.per_channel else w.reshape(1, -1)
        if self.kind == "ternary":
            delta = TWN_DELTA * rows.abs().mean(dim=1, keepdim=True)
            kept = rows.abs() > delta
            alpha = (rows.abs() * kept).sum(dim=1, keepdim=True) / kept.sum(dim=1, keepdim=True).clamp(min=1)
            levels = torch.sign(rows) * kept
            scale = torch.where(alpha > 0, alpha, 1.0)
        else:
            scale = (rows.abs().amax(dim=1, keepdim=True) / self.bound).clamp(min=1e-8)
            scaled = rows / scale
            rounded = stochastic_round(scaled) if self.stochastic and self.training else round_half_up(scaled)
            levels = rounded.clamp(-self.bound, self.bound)
        return levels.reshape(w.shape), scale.reshape(-1).expand(len(w)).contiguous()

    def quantized_weight(self) -> torch.Tensor:
        levels, scale = self.levels_and_scale()
        return levels * scale.reshape(-1, *[1] * (levels.ndim - 1))

    def scaled_product(self, x: torch.Tensor, product) -> torch.Tensor:
        """``product(x, levels) · scale``, ``levels`` straight-through to the latent weights
        in training, exact integers in eval."""
        levels, scale = self.levels_and_scale()
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training:
            latent = self.weight / scale.reshape(-1, *[1] * (levels.ndim - 1))
            return product(x, latent + (levels - latent).detach()) * scale.reshape(shape)
        bound = x.abs().amax() * levels.abs().reshape(len(levels), -1).sum(dim=1).amax()
        if bound >= EXACT_FLOAT32 and x.dtype != torch.float64:
            return product(x.double(), levels.double()).to(x.dtype) * scale.reshape(shape)
        return product(x, levels.to(x.dtype)) * scale.reshape(shape).to(x.dtype)


class IntegerLinear(IntegerWeights, nn.Linear):
    """A linear layer with ternary or n-bit weights (see the module docstring), no bias."""

    def __init__(self, in_features: int, out_features: int, kind: str, *, per_channel: bool = True,
                 stochastic: bool = False):
        super().__init__(in_features, out_features, bias=False)
        self.setup(kind, per_channel, stochastic)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scaled_product(x, F.linear)


class IntegerConv2d(IntegerWeights, nn.Conv2d):
    """A convolution with ternary or n-bit weights, no bias; pads with ``pad_value`` as
    ``BinaryConv2d`` does (0 for integer inputs, -1 for ±1 ones)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, kind: str, *, stride: int = 1,
                 padding: int = 0, pad_value: float = 0.0, per_channel: bool = True, stochastic: bool = False):
        super().__init__(in_channels, out_channels, kernel, stride=stride, bias=False)
        self.setup(kind, per_channel, stochastic)
        self.pad, self.pad_value = padding, pad_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pad,) * 4, value=self.pad_value) if self.pad else x
        return self.scaled_product(x, lambda inputs, weight: F.conv2d(inputs, weight, stride=self.stride))


class IntegerActivation(nn.Module):
    """An n-bit activation after batch norm: ``clamp(round(x·m), lo, hi)`` with round half
    up, output as the integer level itself. Signed: ``m = 2**(n-1)``, levels
    ``[-2**(n-1), 2**(n-1) - 1]`` (inputs in about [-1, 1)); ``relu``: ``m = 2**n - 1``,
    levels ``[0, 2**n - 1]`` (inputs in about [0, 1]). Training: the straight-through
    gradient ``m`` inside the levels' range, 0 outside."""

    def __init__(self, bits: int, relu: bool = False):
        super().__init__()
        self.bits, self.relu = bits, relu
        self.multiplier = float((1 << bits) - 1 if relu else 1 << bits - 1)
        self.low = 0 if relu else -(1 << bits - 1)
        self.high = (1 << bits) - 1 if relu else (1 << bits - 1) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scaled = x * self.multiplier
        levels = round_half_up(scaled).clamp(self.low, self.high)
        if not self.training:
            return levels
        inside = scaled.clamp(self.low, self.high)
        return inside + (levels - inside).detach()
