"""Lowering a trained model to the integer graph; binarized networks here, shift
networks in ``hwgen.train.shift_export``.

Batch norm followed by sign becomes one integer threshold per channel. The
threshold is found by evaluating the model's own batch norm at integer
accumulator values: every floating-point step of batch norm is monotone in
its input, so sign(bn(acc)) flips exactly once over the integers, and a
binary search finds where. A max-pool between batch norm and sign becomes a
max-pool after the threshold (sign is monotone, so sign(max) = max(sign),
the OR of the bits). The integer graph then reproduces the float model's
eval decisions exactly, ties (bn(acc) == 0, sign(0) = +1) included.
"""
import numpy as np
import torch
from torch import nn

from hwgen.ir import Argmax, Bipolar, Dense, Graph, Integer, Threshold

from .layers import BinaryConv2d, BinaryLinear, BipolarInput, PositiveScale, SignActivation
from .lowering import GraphBuilder
from .models import is_shift_network
from .shift_export import export_shift_graph


def export_graph(model: nn.Module, in_features: int, pixel_bits: int) -> Graph:
    """The integer graph of a trained model (binarized or shift): a zoo model, or
    an ``nn.Sequential`` of the same layers built in the user's own script."""
    if is_shift_network(model):
        return export_shift_graph(model, in_features, pixel_bits)
    return export_binarized_graph(model, in_features, pixel_bits)


def export_binarized_graph(model: nn.Module, in_features: int, pixel_bits: int) -> Graph:
    model.eval()
    layers = list(model)
    bipolar = isinstance(layers[0], BipolarInput)
    builder = GraphBuilder(in_features, Bipolar() if bipolar else Integer(pixel_bits, signed=False))
    index = int(bipolar)
    while index < len(layers):
        layer = layers[index]
        index += 1
        if builder.structural(layer):
            continue
        if isinstance(layer, BinaryConv2d):
            bipolar_in = isinstance(builder.graph.types[builder.last], Bipolar)
            if layer.pad and layer.pad_value != (-1.0 if bipolar_in else 0.0):
                raise ValueError(f"export: a conv pads {'±1' if bipolar_in else 'integer'} inputs with "
                                 f"{layer.pad_value}; the hardware pads with {-1 if bipolar_in else 0}")
            name = builder.open_layer(kernel=layer.kernel_size[0], stride=layer.stride[0],
                                      padding=layer.pad)
        elif isinstance(layer, BinaryLinear):
            name = builder.open_layer()
        else:
            raise ValueError(f"export: unexpected layer {type(layer).__name__} at position {index - 1}")
        builder.add(Dense(name, builder.last, (builder.rows(layer.weight) >= 0).astype(np.uint8)))
        index = _activation(layers, index, builder, name)
    return builder.graph


def _activation(layers, index, builder: GraphBuilder, name: str) -> int:
    """Lower what follows matrix layer ``name``: batch norm (+ max-pool) + sign, or the logit scale."""
    follow = layers[index:index + 3]
    if follow and isinstance(follow[0], PositiveScale):
        builder.add(Argmax("argmax", name))
        return index + 1
    pooled = len(follow) == 3 and isinstance(follow[1], nn.MaxPool2d)
    sign_at = 2 if pooled else 1
    if (len(follow) > sign_at and isinstance(follow[0], (nn.BatchNorm1d, nn.BatchNorm2d))
            and isinstance(follow[sign_at], SignActivation)):
        acc_type = builder.graph.types[name]
        thresholds, descending = bn_sign_thresholds(follow[0], acc_type.min, acc_type.max)
        builder.add(Threshold(f"{name}_threshold", name, thresholds, descending))
        if pooled:
            builder.structural(follow[1])
        return index + sign_at + 1
    raise ValueError(f"export: {name} must be followed by batch norm (+ max-pool) + sign, "
                     f"or by the positive logit scale")


@torch.no_grad()
def bn_sign_thresholds(bn: nn.Module, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds and directions with sign(bn(acc)) == +1 exactly when the
    Threshold op says so, for every integer acc in [lo, hi]."""
    bn = bn.eval()
    channels = bn.num_features
    spatial = (1, 1) if isinstance(bn, nn.BatchNorm2d) else ()

    def positive(acc: torch.Tensor) -> torch.Tensor:
        # acc holds one candidate per channel; returns sign(bn(acc)) == +1 per channel.
        return bn(acc.to(torch.float32).reshape(1, channels, *spatial)).reshape(channels) >= 0

    at_lo = positive(torch.full((channels,), lo, dtype=torch.int64))
    at_hi = positive(torch.full((channels,), hi, dtype=torch.int64))
    # Ascending where the output can rise from lo to hi; descending where it falls.
    descending = (at_lo & ~at_hi).numpy()
    # Binary search for the first acc whose output differs from its value at lo.
    left = torch.full((channels,), lo, dtype=torch.int64)       # output == at_lo here
    right = torch.full((channels,), hi + 1, dtype=torch.int64)  # first differing, or hi + 1
    while bool((right - left > 1).any()):
        middle = (left + right) // 2
        differs = positive(middle) != at_lo
        right = torch.where(differs, middle, right)
        left = torch.where(differs, left, middle)
    first_change = right.numpy()
    at_lo, at_hi = at_lo.numpy(), at_hi.numpy()
    thresholds = np.where(
        at_lo & at_hi, lo,                                 # always +1
        np.where(~at_lo & ~at_hi, hi + 1,                  # always -1
                 np.where(descending, first_change - 1,    # +1 while acc <= last positive
                          first_change)))                  # +1 from the first positive on
    # A constant channel is written as an ascending one.
    descending = descending & (at_lo != at_hi)
    return thresholds.astype(np.int64), descending
