"""Torch modules for the models of the zoo."""
import torch
from torch import nn

from .layers import BinaryLinear, PositiveScale, SignActivation
from .shift_layers import FixedPointReLU, InputScale, ShiftLinear
from .zoo import ModelSpec


class BinarizedMLP(nn.Sequential):
    """Binary linear → batch norm → sign, repeated; then a binary linear to logits.

    The first layer takes integer pixels as they are; every later layer takes
    ±1 activations. The final layer's integer logits are scaled by a positive
    scalar for the loss, which does not change the argmax.
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...], classes: int):
        layers = []
        width = in_features
        for size in hidden:
            layers += [BinaryLinear(width, size), nn.BatchNorm1d(size), SignActivation()]
            width = size
        layers += [BinaryLinear(width, classes), PositiveScale(1.0 / width ** 0.5)]
        super().__init__(*layers)

    # Evaluation dtype whose results the integer graph reproduces: the
    # thresholds are derived from this model's own float32 batch norm.
    exact_dtype = torch.float32


class ShiftMLP(nn.Sequential):
    """Shift linear → fixed-point ReLU, repeated; then a shift linear to logits.

    Integer pixels of ``pixel_bits`` bits are read as fixed point with as
    many fraction bits (values in [0, 1)).
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...], classes: int, *, variant: str,
                 weight_bits: int, act_bits: int, act_frac: int, pixel_bits: int, stochastic: bool):
        layers = [InputScale(pixel_bits)]
        width, frac = in_features, pixel_bits
        for index, size in enumerate((*hidden, classes)):
            layers.append(ShiftLinear(width, size, variant=variant, weight_bits=weight_bits,
                                      in_frac=frac, stochastic=stochastic))
            if index < len(hidden):
                layers.append(FixedPointReLU(act_bits, act_frac))
            width, frac = size, act_frac
        super().__init__(*layers)

    # In float64 every sum of the forward pass is exact (all values are dyadic
    # and the integer accumulators stay below 2**53), so eval equals the graph.
    exact_dtype = torch.float64


def build_model(spec: ModelSpec, in_features: int, classes: int, pixel_bits: int) -> nn.Module:
    if spec.family == "bnn":
        return BinarizedMLP(in_features, spec.hidden, classes)
    return ShiftMLP(in_features, spec.hidden, classes, variant=spec.family.removeprefix("shift-"),
                    weight_bits=spec.weight_bits, act_bits=spec.act_bits, act_frac=spec.act_frac,
                    pixel_bits=pixel_bits, stochastic=spec.stochastic)
