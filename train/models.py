"""Torch modules for the models of the zoo."""
from torch import nn

from .layers import BinaryLinear, PositiveScale, SignActivation
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


def build_model(spec: ModelSpec, in_features: int, classes: int) -> nn.Module:
    return BinarizedMLP(in_features, spec.hidden, classes)
