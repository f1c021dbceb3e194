"""Lowering a trained model to the integer graph; binarized networks here, shift
networks in ``hwgen.train.shift_export``.

Batch norm followed by sign becomes one integer threshold per channel, batch
norm followed by an n-bit activation ``2**n - 1`` of them (a MultiThreshold).
The thresholds are found by evaluating the model's own layers (the weight
scale of a ternary or n-bit layer, batch norm, the activation) at integer
accumulator values: every floating-point step is monotone in its input, so
each output level begins (or ends) once over the integers, and a binary
search finds where. A max-pool between batch norm and the activation becomes
a max-pool after the thresholds (the activation is monotone, so act(max) =
max(act); on signs, the OR of the bits). The integer graph then reproduces
the float model's eval decisions exactly, ties (bn(acc) == 0, sign(0) = +1)
included.
"""
import numpy as np
import torch
from torch import nn

from hwgen.ir import Argmax, Bipolar, Dense, Graph, Integer, IntegerDense, MultiThreshold, Ternary, Threshold

from .integer_layers import IntegerActivation, IntegerConv2d, IntegerLinear, IntegerWeights
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
        if isinstance(layer, (BinaryConv2d, IntegerConv2d)):
            bipolar_in = isinstance(builder.graph.types[builder.last], Bipolar)
            if layer.pad and layer.pad_value != (-1.0 if bipolar_in else 0.0):
                raise ValueError(f"export: a conv pads {'±1' if bipolar_in else 'integer'} inputs with "
                                 f"{layer.pad_value}; the hardware pads with {-1 if bipolar_in else 0}")
            name = builder.open_layer(kernel=layer.kernel_size[0], stride=layer.stride[0],
                                      padding=layer.pad)
        elif isinstance(layer, (BinaryLinear, IntegerLinear)):
            name = builder.open_layer()
        else:
            raise ValueError(f"export: unexpected layer {type(layer).__name__} at position {index - 1}")
        if isinstance(layer, IntegerWeights):
            levels, scale = layer.levels_and_scale()
            weight_type = Ternary() if layer.kind == "ternary" else Integer(int(layer.kind[3:]), signed=True)
            builder.add(IntegerDense(name, builder.last, builder.rows(levels).astype(np.int64), weight_type))
        else:
            builder.add(Dense(name, builder.last, (builder.rows(layer.weight) >= 0).astype(np.uint8)))
            scale = None
        index = _activation(layers, index, builder, name, scale)
    return builder.graph


def _activation(layers, index, builder: GraphBuilder, name: str, scale: torch.Tensor | None) -> int:
    """Lower what follows matrix layer ``name`` (whose outputs the model multiplies by
    ``scale``, if any): batch norm (+ max-pool) + sign or n-bit activation, or the logit scale."""
    follow = layers[index:index + 3]
    if follow and isinstance(follow[0], PositiveScale):
        builder.add(Argmax("argmax", name))
        return index + 1
    pooled = len(follow) == 3 and isinstance(follow[1], nn.MaxPool2d)
    act_at = 2 if pooled else 1
    if (len(follow) > act_at and isinstance(follow[0], (nn.BatchNorm1d, nn.BatchNorm2d))
            and isinstance(follow[act_at], (SignActivation, IntegerActivation))):
        acc_type, activation = builder.graph.types[name], follow[act_at]
        thresholds, descending = activation_thresholds(follow[0], activation, scale, acc_type.min, acc_type.max)
        if isinstance(activation, SignActivation):
            builder.add(Threshold(f"{name}_threshold", name, thresholds[:, 0], descending))
        else:
            builder.add(MultiThreshold(f"{name}_threshold", name, thresholds, descending, activation.low))
        if pooled:
            builder.structural(follow[1])
        return index + act_at + 1
    raise ValueError(f"export: {name} must be followed by batch norm (+ max-pool) + sign or an n-bit activation, "
                     f"or by the positive logit scale")


@torch.no_grad()
def activation_thresholds(bn: nn.Module, activation: nn.Module, scale: torch.Tensor | None,
                          lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds ``(channels, levels)`` and directions with which the
    ``Threshold`` (one level, sign) or ``MultiThreshold`` op gives exactly the model's
    activation of ``bn(acc · scale)`` for every integer acc in [lo, hi].

    Every step (float32 product, batch norm, the activation) is monotone in acc,
    so each level is reached over one interval: a binary search per level and
    channel finds where it starts or ends."""
    bn, activation = bn.eval(), activation.eval()
    channels = bn.num_features
    spatial = (1, 1) if isinstance(bn, nn.BatchNorm2d) else ()
    sign = isinstance(activation, SignActivation)
    low, levels = (0, 1) if sign else (activation.low, activation.high - activation.low)

    def level(acc: torch.Tensor) -> torch.Tensor:
        # acc (rows, channels) of integers → the activation's level (sign: 1 for +1, 0 for -1).
        values = acc.to(torch.float32) if scale is None else acc.to(torch.float32) * scale
        out = activation(bn(values.reshape(len(acc), channels, *spatial))).reshape(len(acc), channels)
        return (out > 0).to(torch.int64) if sign else out.to(torch.int64)

    at_lo, at_hi = level(torch.tensor([[lo], [hi]]).expand(2, channels))
    descending = (at_lo > at_hi).numpy()
    targets = low + 1 + torch.arange(levels)[:, None]            # (levels, 1): the level to reach

    def reached(acc: torch.Tensor) -> torch.Tensor:
        return level(acc) >= targets

    from_lo = reached(torch.full((levels, channels), lo, dtype=torch.int64))
    # Binary search for the first acc where a level's "reached" differs from its value at lo.
    left = torch.full((levels, channels), lo, dtype=torch.int64)       # same as at lo here
    right = torch.full((levels, channels), hi + 1, dtype=torch.int64)  # first differing, or hi + 1
    while bool((right - left > 1).any()):
        middle = (left + right) // 2
        differs = reached(middle) != from_lo
        right = torch.where(differs, middle, right)
        left = torch.where(differs, left, middle)
    first_change, from_lo = right.numpy(), from_lo.numpy()
    thresholds = np.where(descending, np.where(from_lo, first_change - 1, lo - 1),   # reached while acc <= t
                          np.where(from_lo, lo, first_change))                       # reached from t on
    return thresholds.T.astype(np.int64), descending
