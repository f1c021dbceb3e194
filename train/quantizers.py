"""Quantizers: sign (its gradient estimators are in ``sign_estimators``), DeepShift's
shift weights, fixed-point activations.

sign(0) is +1 here, in the golden model and in hardware alike.
"""
import torch


def sign(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0, -1 elsewhere (so sign(0) = +1)."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


# --- Shift networks (DeepShift) and fixed-point activations -------------------
# Deterministic rounding is round-half-up, floor(x + 0.5), everywhere: in
# training, at export and (for activations) in the integer Requantize op.


def round_half_up(x: torch.Tensor) -> torch.Tensor:
    return torch.floor(x + 0.5)


def stochastic_round(x: torch.Tensor) -> torch.Tensor:
    """floor(x) or floor(x) + 1, the latter with probability x - floor(x)."""
    return torch.floor(x + torch.rand_like(x))


def _round(x: torch.Tensor, stochastic: bool) -> torch.Tensor:
    return stochastic_round(x) if stochastic else round_half_up(x)


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, stochastic):
        return _round(x, stochastic)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def round_ste(x: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
    """Rounding forward (half up, or stochastic); identity gradient backward."""
    return _RoundSTE.apply(x, stochastic)


def exponent_range(weight_bits: int) -> tuple[int, int]:
    """Exponents a ``weight_bits``-bit shift weight holds, DeepShift's range
    ``[-(2**(weight_bits - 1) - 2), 0]`` (weights at most 1): one bit is the sign,
    the rest hold a shift or zero, so ``2**(weight_bits - 1) - 1`` shifts, and the
    weight takes ``weight_bits`` bits in hardware, zero included (2 bits: ternary)."""
    if weight_bits < 2:
        raise ValueError(f"weight_bits must be at least 2 (a sign and a shift), not {weight_bits}")
    return -(2 ** (weight_bits - 1) - 2), 0


def deepshift_q(weight: torch.Tensor, weight_bits: int, stochastic: bool = False) -> torch.Tensor:
    """DeepShift-Q: ``sign(w) * 2**round(log2|w|)``, exponent clamped to the range of
    ``weight_bits``; straight-through (identity) gradient to ``w``."""
    lo, hi = exponent_range(weight_bits)
    magnitude = weight.detach().abs()
    exponent = torch.clamp(_round(torch.log2(magnitude.clamp_min(2.0 ** (lo - 1))), stochastic), lo, hi)
    quantized = torch.sign(weight.detach()) * torch.exp2(exponent)
    return weight + (quantized - weight).detach()


def deepshift_ps(shift: torch.Tensor, sign: torch.Tensor, weight_bits: int,
                 stochastic: bool = False) -> torch.Tensor:
    """DeepShift-PS: ``round(sign) * 2**round(shift)`` with the sign ternary (-1, 0, +1)
    and the shift clamped to the range of ``weight_bits``. Rounding passes the
    gradient straight through, so ``d/dshift = w * ln 2`` and ``d/dsign = 2**shift``."""
    lo, hi = exponent_range(weight_bits)
    exponent = round_ste(shift.clamp(lo, hi), stochastic)
    ternary = round_ste(sign.clamp(-1.0, 1.0), stochastic)
    return ternary * torch.exp2(exponent)


def quantize_fixed(x: torch.Tensor, bits: int, frac: int, signed: bool) -> torch.Tensor:
    """``x`` to a ``bits``-bit fixed-point value with ``frac`` fraction bits: round half
    up, then saturate. Straight-through gradient inside the range, zero outside."""
    step = 2.0 ** -frac
    lo = -(2 ** (bits - 1)) * step if signed else 0.0
    hi = ((2 ** (bits - 1) if signed else 2 ** bits) - 1) * step
    quantized = torch.clamp(round_half_up(x / step) * step, lo, hi)
    inside = ((x >= lo) & (x <= hi)).to(x.dtype)
    return x * inside + (quantized - x * inside).detach()
