"""Lowering a trained shift network (DeepShift-Q or -PS) to the integer graph.

Each ``ShiftLinear`` (or ``ShiftConv2d``, after its window) becomes a ``ShiftDense`` (signs and exponents of its
quantized weights) and a ``Requantize`` (its bias at the accumulator's
scale, then the fixed-point ReLU, or nothing for the logits). The values
are read from the model evaluated in float64, the dtype in which its
forward pass is exact, so the graph equals torch eval image for image.
"""
import numpy as np
import torch

from hwgen.errors import HwgenError
from hwgen.ir import Argmax, Graph, Integer, PowerOfTwo, Requantize, ShiftDense

from .lowering import GraphBuilder
from .shift_layers import FixedPointReLU, InputScale, ShiftConv2d, ShiftLinear, ShiftWeights


@torch.no_grad()
def export_shift_graph(model, in_features: int, pixel_bits: int) -> Graph:
    model = model.eval().to(torch.float64)
    layers = list(model)
    if not isinstance(layers[0], InputScale) or layers[0].frac != pixel_bits:
        raise ValueError(f"export: a shift model starts with InputScale({pixel_bits})")
    builder = GraphBuilder(in_features, Integer(pixel_bits, signed=False, frac=pixel_bits))
    for index, layer in enumerate(layers[1:], start=1):
        if builder.structural(layer) or isinstance(layer, FixedPointReLU):
            continue    # a fixed-point ReLU is lowered with the layer before it
        if isinstance(layer, ShiftConv2d):
            name = builder.open_layer(kernel=layer.weight_shape[2], stride=layer.stride,
                                      padding=layer.padding)
        elif isinstance(layer, ShiftLinear):
            name = builder.open_layer()
        else:
            raise ValueError(f"export: unexpected layer {type(layer).__name__} at position {index}")
        builder.add(_shift_dense(name, builder.last, layer, builder))
        acc = builder.graph.types[name]
        if acc.frac != layer.acc_frac:
            raise ValueError(f"export: {name} expects inputs with {layer.in_frac} fraction bits, "
                             f"the graph gives {acc.frac - layer.exponents[0]}")
        bias = _integer_bias(name, layer)
        follower = layers[index + 1] if index + 1 < len(layers) else None
        if isinstance(follower, FixedPointReLU):
            out_type = Integer(follower.bits, signed=False, frac=follower.frac)
            shift = acc.frac - follower.frac
            if shift < 0:
                raise HwgenError(f"{name}: activations with {follower.frac} fraction bits are finer than "
                                 f"the accumulator's {acc.frac}; lower act_frac or raise weight_bits")
            builder.add(Requantize(f"{name}_requantize", name, bias, shift, True, out_type))
        elif follower is None:
            # Logits: bias added exactly, in a type wide enough that nothing saturates.
            out_type = Integer.for_range(acc.min + min(0, int(bias.min())),
                                         acc.max + max(0, int(bias.max())), frac=acc.frac)
            builder.add(Requantize(f"{name}_bias", name, bias, 0, False, out_type))
            builder.add(Argmax("argmax", builder.last))
        else:
            raise ValueError(f"export: {name} must be followed by FixedPointReLU or end the model")
    return builder.graph


def _shift_dense(name: str, input_name: str, layer: ShiftWeights, builder: GraphBuilder) -> ShiftDense:
    weight = torch.from_numpy(builder.rows(layer.quantized_weight()))
    signs = torch.sign(weight)
    magnitude = weight.abs()
    exponents = torch.where(signs != 0, torch.log2(torch.where(signs != 0, magnitude, 1.0)),
                            float(layer.exponents[0]))
    if not torch.equal(exponents, exponents.round()):
        raise HwgenError(f"{name}: a weight is not a power of two; the checkpoint is not a shift network")
    lo, hi = layer.exponents
    wanted = layer.requested_exponents()
    found_lo, found_hi = (int(wanted.min()), int(wanted.max())) if wanted.numel() else (lo, hi)
    if found_lo < lo or found_hi > hi:
        raise HwgenError(f"{name}: trained weight exponents span [{found_lo}, {found_hi}], but "
                         f"weight_bits={layer.weight_bits} holds [{lo}, {hi}]; raise weight_bits "
                         f"and train again")
    return ShiftDense(name, input_name, signs.to(torch.int8).numpy(), exponents.to(torch.int64).numpy(),
                      PowerOfTwo(lo, hi))


def _integer_bias(name: str, layer: ShiftWeights) -> np.ndarray:
    scaled = layer.quantized_bias() * 2.0 ** layer.acc_frac
    if not torch.equal(scaled, scaled.round()) or scaled.abs().max() >= 2.0 ** 52:
        raise HwgenError(f"{name}: the bias does not fit a {layer.acc_frac}-fraction-bit accumulator "
                         f"exactly; retrain or lower weight_bits")
    return scaled.to(torch.int64).numpy()
