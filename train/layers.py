"""Layers of binarized networks."""
import math

import torch
from torch import nn
from torch.nn import functional as F

from .quantizers import sign
from .sign_estimators import estimated_sign, sign_ste
from .zoo import SignSpec


class LatentSigns:
    """For layers whose latent float weights are binarized by ``sign_ste``."""

    @torch.no_grad()
    def clamp_latent_(self) -> None:
        # Latent weights beyond ±1 get no gradient (cancelled STE) and would freeze there.
        self.weight.clamp_(-1.0, 1.0)

    def quantized_weight(self) -> torch.Tensor:
        return sign(self.weight)


class BinaryLinear(LatentSigns, nn.Linear):
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


class BinaryConv2d(LatentSigns, nn.Conv2d):
    """A convolution with weights binarized to ±1 (as ``BinaryLinear``), no bias.

    Padding is applied here with ``pad_value``: 0 for integer pixels, and -1
    for ±1 activations, which have no 0 (the value the hardware pads with).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, stride: int = 1,
                 padding: int = 0, pad_value: float = 0.0):
        super().__init__(in_channels, out_channels, kernel, stride=stride, bias=False)
        nn.init.uniform_(self.weight, -1.0, 1.0)
        self.pad, self.pad_value = padding, pad_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pad,) * 4, value=self.pad_value) if self.pad else x
        return F.conv2d(x, sign_ste(self.weight), stride=self.stride)


class ToImage(nn.Module):
    """Flat raster-order pixels ``(N, H * W)`` as one-channel images ``(N, 1, H, W)``."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), 1, self.height, self.width)


class SignActivation(nn.Module):
    """sign(x) in eval; in training, the gradient of ``spec``'s estimator (by default
    straight through where |x| <= 1) and, where ``spec`` asks, stochastic binarization."""

    def __init__(self, spec: SignSpec = SignSpec()):
        super().__init__()
        self.spec = spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return estimated_sign(x, self.spec, self.training)


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


class BipolarInput(nn.Module):
    """Bits in, ±1 out: the input of a network whose data set is bipolar (bit 1 means +1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x - 1
