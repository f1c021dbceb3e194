"""Layers of binarized networks."""
import math

import torch
from torch import nn
from torch.nn import functional as F

from .quantizers import sign_ste


class BinaryLinear(nn.Linear):
    """A linear layer whose weights are binarized to ±1 in the forward pass.

    The latent float weights are trained with a straight-through estimator
    (cancelled beyond |w| > 1, as in BinaryConnect); there is no bias, so the
    layer computes an exact integer sum for integer inputs.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features, bias=False)
        nn.init.uniform_(self.weight, -1.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, sign_ste(self.weight))

    @torch.no_grad()
    def clamp_latent_(self) -> None:
        # Latent weights beyond ±1 get no gradient (cancelled STE) and would freeze there.
        self.weight.clamp_(-1.0, 1.0)


class SignActivation(nn.Module):
    """sign(x) with a straight-through gradient where |x| <= ``cancel_at``."""

    def __init__(self, cancel_at: float = 1.0):
        super().__init__()
        self.cancel_at = cancel_at

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sign_ste(x, self.cancel_at)


class PositiveScale(nn.Module):
    """Multiplies logits by a learned positive scalar.

    Integer logits of a binary layer are large; a positive scale tempers the
    softmax during training and never changes which logit is largest, so
    hardware can take the argmax of the integer logits directly.
    """

    def __init__(self, initial: float):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(initial)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.log_scale.exp()
