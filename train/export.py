"""Lowering a trained model to the integer graph; binarized MLPs here, shift
MLPs in ``train.shift_export``.

Batch norm followed by sign becomes one integer threshold per channel. The
threshold is found by evaluating the model's own batch norm at integer
accumulator values: every floating-point step of batch norm is monotone in
its input, so sign(bn(acc)) flips exactly once over the integers, and a
binary search finds where. The integer graph then reproduces the float
model's eval decisions exactly, ties (bn(acc) == 0, sign(0) = +1) included.
"""
import numpy as np
import torch
from torch import nn

from hwgen.ir import Argmax, Dense, Graph, Input, Integer, Threshold

from .layers import BinaryLinear, PositiveScale, SignActivation
from .models import ShiftMLP
from .shift_export import export_shift_graph


def export_graph(model: nn.Module, in_features: int, pixel_bits: int) -> Graph:
    """The integer graph of a trained zoo model (binarized or shift)."""
    if isinstance(model, ShiftMLP):
        return export_shift_graph(model, in_features, pixel_bits)
    return export_binarized_graph(model, in_features, pixel_bits)


def export_binarized_graph(model: nn.Module, in_features: int, pixel_bits: int) -> Graph:
    model.eval()
    layers = list(model)
    nodes = [Input("input", in_features, Integer(pixel_bits, signed=False))]
    index = 0
    while index < len(layers):
        layer = layers[index]
        if not isinstance(layer, BinaryLinear):
            raise ValueError(f"export: unexpected layer {type(layer).__name__} at position {index}")
        dense = Dense(f"fc{len([n for n in nodes if isinstance(n, Dense)]) + 1}", nodes[-1].name,
                      (layer.weight.detach().numpy() >= 0).astype(np.uint8))
        nodes.append(dense)
        follow = layers[index + 1:index + 3]
        if len(follow) == 2 and isinstance(follow[0], nn.BatchNorm1d) and isinstance(follow[1], SignActivation):
            acc_type = Graph(tuple(nodes)).types[dense.name]
            thresholds, descending = bn_sign_thresholds(follow[0], acc_type.min, acc_type.max)
            nodes.append(Threshold(f"{dense.name}_threshold", dense.name, thresholds, descending))
            index += 3
        elif len(follow) == 1 and isinstance(follow[0], PositiveScale):
            nodes.append(Argmax("argmax", dense.name))
            index += 2
        else:
            raise ValueError(f"export: {dense.name} must be followed by BatchNorm1d + sign, "
                             f"or by the positive logit scale")
    return Graph(tuple(nodes))


@torch.no_grad()
def bn_sign_thresholds(bn: nn.BatchNorm1d, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds and directions with sign(bn(acc)) == +1 exactly when the
    Threshold op says so, for every integer acc in [lo, hi]."""
    bn = bn.eval()
    channels = bn.num_features

    def positive(acc: torch.Tensor) -> torch.Tensor:
        # acc holds one candidate per channel; returns sign(bn(acc)) == +1 per channel.
        return bn(acc.to(torch.float32)[None, :])[0] >= 0

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
