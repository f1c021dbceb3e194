"""Binarization with straight-through gradients.

sign(0) is +1 here, in the golden model and in hardware alike.
"""
import torch


def sign(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0, -1 elsewhere (so sign(0) = +1)."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, cancel_at):
        ctx.save_for_backward(x)
        ctx.cancel_at = cancel_at
        return sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # Gradient cancellation: beyond |x| > t the sign is saturated, pass nothing.
        return grad * (x.abs() <= ctx.cancel_at).to(grad.dtype), None


def sign_ste(x: torch.Tensor, cancel_at: float = 1.0) -> torch.Tensor:
    """sign(x) forward; straight-through backward where |x| <= cancel_at, zero elsewhere."""
    return _SignSTE.apply(x, cancel_at)
