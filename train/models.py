"""Torch modules for the models of the zoo: binarized and shift networks, MLPs and CNNs."""
import numpy as np
import torch
from torch import nn

from .datasets import BIPOLAR_DATASETS
from .integer_layers import IntegerActivation, IntegerConv2d, IntegerLinear
from .layers import BinaryConv2d, BinaryLinear, BipolarInput, PositiveScale, SignActivation, ToImage
from .shift_layers import FixedPointReLU, InputScale, ShiftConv2d, ShiftLinear
from .zoo import Conv, ModelSpec


class BinarizedNet(nn.Sequential):
    """Quantized convolutions, then quantized linear → batch norm → activation, then logits.

    Each layer's weights are binary (±1), ternary or n-bit (``spec.layer_weights``),
    and each activation sign or n-bit (``spec.layer_activation``): between two
    layers there is always batch norm, which the export folds into thresholds.
    Each conv is conv → batch norm (→ 2x2 max-pool) → activation. The first
    layer takes integer pixels as they are (convs pad them with 0), or ±1
    where the data set is bipolar; a later layer takes ±1 activations (convs
    pad them with -1) or integer ones (padded with 0). Dropout, where the spec
    asks, comes before each dense layer. The final layer's logits are scaled
    by a positive scalar for the loss, which does not change the argmax.
    Without convs this is an MLP.
    """

    def __init__(self, spec: ModelSpec, in_features: int, classes: int, image: tuple[int, int]):
        bipolar = spec.dataset in BIPOLAR_DATASETS
        layers, width, index = [BipolarInput()] if bipolar else [], in_features, 0
        if spec.convs:
            layers.append(ToImage(*image))
            channels, (height, side), pad_value = 1, image, -1.0 if bipolar else 0.0
            for index, conv in enumerate(spec.convs):
                layers += [_conv(spec, index, channels, conv, pad_value), nn.BatchNorm2d(conv.channels)]
                height, side = (_conv_output(n, conv) for n in (height, side))
                if conv.pool:
                    layers.append(nn.MaxPool2d(2))
                layers.append(_activation(spec, index))
                channels, pad_value = conv.channels, -1.0 if spec.layer_activation(index) == "sign" else 0.0
            layers.append(nn.Flatten())
            width, index = channels * height * side, len(spec.convs)
        dropout = [nn.Dropout(spec.dropout)] if spec.dropout else []
        for size in spec.hidden:
            layers += [*dropout, _linear(spec, index, width, size), nn.BatchNorm1d(size), _activation(spec, index)]
            width, index = size, index + 1
        layers += [*dropout, _linear(spec, index, width, classes, last=True), PositiveScale(1.0 / width ** 0.5)]
        super().__init__(*layers)


def _linear(spec: ModelSpec, index: int, width: int, size: int, last: bool = False) -> nn.Module:
    kind = spec.layer_weights(index)
    if kind == "binary":
        return BinaryLinear(width, size)
    return IntegerLinear(width, size, kind, per_channel=not last, stochastic=spec.stochastic)


def _conv(spec: ModelSpec, index: int, channels: int, conv: Conv, pad_value: float) -> nn.Module:
    kind, shape = spec.layer_weights(index), dict(stride=conv.stride, padding=conv.padding, pad_value=pad_value)
    if kind == "binary":
        return BinaryConv2d(channels, conv.channels, conv.kernel, **shape)
    return IntegerConv2d(channels, conv.channels, conv.kernel, kind, stochastic=spec.stochastic, **shape)


def _activation(spec: ModelSpec, index: int) -> nn.Module:
    kind = spec.layer_activation(index)
    if kind == "sign":
        return SignActivation(spec.sign)
    return IntegerActivation(int(kind.removeprefix("u")[3:]), relu=kind.startswith("u"))


class ShiftNet(nn.Sequential):
    """Shift convolutions and shift linear layers, each followed by a fixed-point ReLU.

    Each conv is shift conv → fixed-point ReLU (→ 2x2 max-pool); then shift
    linear → fixed-point ReLU (→ dropout in training), repeated; then a
    shift linear to logits. Integer pixels of ``pixel_bits`` bits are read
    as fixed point with as many fraction bits (values in [0, 1)).
    """

    def __init__(self, spec: ModelSpec, in_features: int, classes: int, image: tuple[int, int],
                 pixel_bits: int):
        options = dict(variant=spec.family.removeprefix("shift-"), weight_bits=spec.weight_bits,
                       stochastic=spec.stochastic)
        layers, width, frac = [InputScale(pixel_bits)], in_features, pixel_bits
        if spec.convs:
            layers.append(ToImage(*image))
            channels, (height, side) = 1, image
            for conv in spec.convs:
                layers += [ShiftConv2d(channels, conv.channels, conv.kernel, stride=conv.stride,
                                       padding=conv.padding, in_frac=frac, **options),
                           FixedPointReLU(spec.act_bits, spec.act_frac)]
                height, side = (_conv_output(n, conv) for n in (height, side))
                if conv.pool:
                    layers.append(nn.MaxPool2d(2))
                channels, frac = conv.channels, spec.act_frac
            layers += [nn.Flatten(), *self._dropout(spec)]
            width = channels * height * side
        for size in spec.hidden:
            layers += [ShiftLinear(width, size, in_frac=frac, **options),
                       FixedPointReLU(spec.act_bits, spec.act_frac), *self._dropout(spec)]
            width, frac = size, spec.act_frac
        layers.append(ShiftLinear(width, classes, in_frac=frac, **options))
        super().__init__(*layers)

    @staticmethod
    def _dropout(spec: ModelSpec) -> list[nn.Module]:
        return [nn.Dropout(spec.dropout)] if spec.dropout else []


def _conv_output(size: int, conv: Conv) -> int:
    """An image side after a convolution and, with its pool, a 2x2 max-pool."""
    size = (size + 2 * conv.padding - conv.kernel) // conv.stride + 1
    return size // 2 if conv.pool else size


class FloatTwin(nn.Sequential):
    """The same layer plan in full precision, the baseline a quantized model is
    measured against: inputs scaled to [0, 1], float convs and dense layers
    with batch norm and ReLU, the same pools and dropout."""

    def __init__(self, spec: ModelSpec, in_features: int, classes: int, image: tuple[int, int],
                 pixel_bits: int):
        layers, width = [InputScale(pixel_bits)], in_features
        if spec.convs:
            layers.append(ToImage(*image))
            channels, (height, side) = 1, image
            for conv in spec.convs:
                layers += [nn.Conv2d(channels, conv.channels, conv.kernel, stride=conv.stride,
                                     padding=conv.padding), nn.BatchNorm2d(conv.channels), nn.ReLU()]
                height, side = (_conv_output(n, conv) for n in (height, side))
                if conv.pool:
                    layers.append(nn.MaxPool2d(2))
                channels = conv.channels
            layers.append(nn.Flatten())
            width = channels * height * side
        dropout = [nn.Dropout(spec.dropout)] if spec.dropout else []
        for size in spec.hidden:
            layers += [*dropout, nn.Linear(width, size), nn.BatchNorm1d(size), nn.ReLU()]
            width = size
        layers += [*dropout, nn.Linear(width, classes)]
        super().__init__(*layers)


def is_shift_network(model: nn.Module) -> bool:
    """Shift networks start by reading integer inputs as fixed point; binarized ones do not."""
    return isinstance(next(iter(model)), InputScale) and not isinstance(model, FloatTwin)


def exact_dtype(model: nn.Module) -> torch.dtype:
    """The evaluation dtype whose results the integer graph reproduces. Shift
    networks: float64, where every sum of the forward pass is exact (all values
    are dyadic and the integer accumulators stay below 2**53). Binarized ones:
    float32, since their thresholds come from their own float32 batch norm."""
    return torch.float64 if is_shift_network(model) else torch.float32


def build_model(spec: ModelSpec, in_features: int, classes: int, pixel_bits: int,
                image: tuple[int, int], *, float_twin: bool = False) -> nn.Module:
    if float_twin:
        return FloatTwin(spec, in_features, classes, image, pixel_bits)
    if spec.family == "bnn":
        return BinarizedNet(spec, in_features, classes, image)
    return ShiftNet(spec, in_features, classes, image, pixel_bits)


@torch.no_grad()
def first_layer_weights(model: nn.Module, image: tuple[int, int]) -> np.ndarray:
    """The first layer's weights as the hardware (or the float twin) uses them,
    one image per output: (outputs, height, width); a conv's first input channel."""
    layer = next(m for m in model.modules() if hasattr(m, "quantized_weight") or isinstance(m, (nn.Linear, nn.Conv2d)))
    weight = (layer.quantized_weight() if hasattr(layer, "quantized_weight") else layer.weight).float().numpy()
    if weight.ndim == 4:
        return weight[:, 0]
    height, width = image if weight.shape[1] == image[0] * image[1] else (1, weight.shape[1])
    return weight.reshape(len(weight), height, width)
