"""Gradient estimators for the sign activation, and stochastic binarization.

Every estimator has the same forward pass in eval, sign(x) with sign(0) = +1,
so a network trained with any of them lowers to the same integer graph and
hardware; they differ in the gradient they pass back in training:

- ``ste``: 1 where |x| <= t, 0 beyond (the straight-through estimator with
  gradient cancellation, BinaryNet's);
- ``reste`` (ReSTE, Wu et al. 2023): the derivative of sign(x)·|x|^(1/o),
  (1/o)·|x|^(1/o − 1), for m < |x| <= t; near 0, where that derivative grows
  without bound, the secant slope of the same function over [0, m],
  m^(1/o) / m; 0 beyond t (m = 0.1, as in the paper's code);
- ``approx-sign`` (Bi-Real Net): 2 − 2|x| for |x| < 1, 0 beyond;
- ``swish-sign`` (BNN+'s SignSwish): the derivative of
  2σ(βx)(1 + βx(1 − σ(βx))) − 1, that is β(2 − βx·tanh(βx/2)) / (1 + cosh(βx)).

Stochastic binarization (BinaryConnect's): in training, +1 with probability
hard_sigmoid(x) = clip((x + 1) / 2, 0, 1), else −1, with the ``ste``
gradient; in eval, sign(x), deterministic.
"""
import torch

from .quantizers import sign
from .zoo import SignSpec

RESTE_INTERVAL = 0.1


def derivative(spec: SignSpec, x: torch.Tensor) -> torch.Tensor:
    """The gradient of the sign's output with respect to ``x``, elementwise, by ``spec``'s estimator."""
    magnitude = x.abs()
    if spec.estimator == "ste":
        return (magnitude <= spec.cancel_at).to(x.dtype)
    if spec.estimator == "reste":
        o, m = spec.reste_o, RESTE_INTERVAL
        power = magnitude.clamp(min=m) ** ((1 - o) / o) / o
        secant = m ** (1 / o) / m
        return torch.where(magnitude <= m, secant, torch.where(magnitude <= spec.reste_t, power, 0.0)).to(x.dtype)
    if spec.estimator == "approx-sign":
        return torch.where(magnitude < 1, 2 - 2 * magnitude, 0.0).to(x.dtype)
    if spec.estimator == "swish-sign":
        bx = spec.swish_beta * x
        return spec.swish_beta * (2 - bx * torch.tanh(bx / 2)) / (1 + torch.cosh(bx))
    raise ValueError(f"unknown sign estimator {spec.estimator!r}")


class _Sign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, spec: SignSpec, stochastic: bool):
        ctx.save_for_backward(x)
        ctx.spec = spec
        if stochastic:
            positive = torch.rand_like(x) < ((x + 1) / 2).clamp(0, 1)
            return torch.where(positive, 1.0, -1.0).to(x.dtype)
        return sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * derivative(ctx.spec, x), None, None


def estimated_sign(x: torch.Tensor, spec: SignSpec, training: bool) -> torch.Tensor:
    """sign(x) forward (stochastic binarization in training where ``spec`` asks),
    the gradient of ``spec``'s estimator backward."""
    return _Sign.apply(x, spec, spec.stochastic and training)


def sign_ste(x: torch.Tensor, cancel_at: float = 1.0) -> torch.Tensor:
    """sign(x) forward; straight-through backward where |x| <= cancel_at, zero
    elsewhere: how binary layers' latent weights train."""
    return estimated_sign(x, SignSpec(cancel_at=cancel_at), training=False)
