"""The operations of the integer graph and their exact integer semantics.

Each node names the node it reads (``input``); the golden model in
``hwgen.golden`` implements the semantics written in each docstring, and
everything else is compared with it for exact equality.
"""
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from .types import Bipolar, ElementType, Integer, PowerOfTwo, Ternary, WeightType


def _frozen_array(node, field: str, dtype) -> None:
    """Store ``field`` as a read-only array of ``dtype`` (values must fit exactly)."""
    value = np.asarray(getattr(node, field))
    converted = value.astype(dtype)
    if not np.array_equal(converted, value):
        raise ValueError(f"node {node.name!r}: field {field!r}: values do not fit {np.dtype(dtype).name}")
    converted.setflags(write=False)
    object.__setattr__(node, field, converted)


def _check_name(node) -> None:
    if not isinstance(node.name, str) or not node.name:
        raise ValueError(f"a {node.op} node needs a non-empty string name, not {node.name!r}")


def _positive(node, field: str) -> None:
    value = getattr(node, field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"node {node.name!r}: field {field!r}: expected a positive integer, got {value!r}")


@dataclass(frozen=True, eq=False)
class Input:
    """The graph's input: ``size`` elements of ``dtype`` per sample.

    ``shape`` is ``(height, width, channels)`` for an image, elements in
    raster order with channels innermost (HWC); empty for a plain vector,
    which is the shape ``(1, 1, size)``.
    """

    op: ClassVar[str] = "input"
    name: str
    size: int
    dtype: ElementType
    shape: tuple = ()

    def __post_init__(self):
        _check_name(self)
        _positive(self, "size")
        shape = tuple(self.shape)
        object.__setattr__(self, "shape", shape)
        if shape and (len(shape) != 3 or not all(isinstance(d, int) and d >= 1 for d in shape)
                      or shape[0] * shape[1] * shape[2] != self.size):
            raise ValueError(f"node {self.name!r}: field 'shape': expected (height, width, channels), "
                             f"positive, with {self.size} elements in all, got {self.shape!r}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.shape or (1, 1, self.size)


@dataclass(frozen=True, eq=False)
class Dense:
    """Matrix-vector product with bipolar weights.

    ``acc[j] = sum_i x[i] * w[j, i]`` where ``w[j, i]`` is +1 for bit 1 and -1
    for bit 0, and ``x[i]`` is the input's integer value (a bipolar input is
    +1/-1). The sum is exact: the output type is the narrowest signed type that
    holds ``±in_features * max|x|``, so nothing saturates or wraps.

    ``weights`` has shape ``(out_features, in_features)`` and holds bits 0/1.
    """

    op: ClassVar[str] = "dense"
    name: str
    input: str
    weights: np.ndarray

    def __post_init__(self):
        _check_name(self)
        _frozen_array(self, "weights", np.uint8)
        if self.weights.ndim != 2 or 0 in self.weights.shape:
            raise ValueError(f"node {self.name!r}: field 'weights': expected a non-empty 2-D array, "
                             f"got shape {self.weights.shape}")
        if self.weights.max() > 1:
            raise ValueError(f"node {self.name!r}: field 'weights': bipolar weights hold bits 0/1 only")

    @property
    def in_features(self) -> int:
        return self.weights.shape[1]

    @property
    def out_features(self) -> int:
        return self.weights.shape[0]

    def output_type(self, in_type: ElementType) -> Integer:
        bound = self.in_features * _magnitude(in_type)
        return Integer.for_range(-bound, bound, frac=in_type.frac)


def _magnitude(in_type: ElementType) -> int:
    return max(abs(in_type.min), abs(in_type.max))


@dataclass(frozen=True, eq=False)
class ShiftDense:
    """Matrix-vector product with power-of-two weights: multiplies become shifts.

    ``acc[j] = sum_i signs[j, i] * (x[i] << (exponents[j, i] - m))`` with
    ``m = weight_type.min_exponent``: the weight ``signs * 2**exponents``
    scaled by ``2**-m`` so that every shift is a non-negative left shift and
    the sum is an exact integer. The output therefore has the binary point
    ``frac = input frac - m``, and the narrowest signed type that holds
    ``±in_features * max|x| * 2**weight_type.max_shift``: nothing wraps.

    ``signs`` (-1, 0 or +1) and ``exponents`` have shape ``(out_features,
    in_features)``; every exponent lies in the weight type's range (that of
    a zero weight is ignored but must lie there too).
    """

    op: ClassVar[str] = "shift_dense"
    name: str
    input: str
    signs: np.ndarray
    exponents: np.ndarray
    weight_type: PowerOfTwo

    def __post_init__(self):
        _check_name(self)
        _frozen_array(self, "signs", np.int8)
        _frozen_array(self, "exponents", np.int64)
        if not isinstance(self.weight_type, PowerOfTwo):
            raise ValueError(f"node {self.name!r}: field 'weight_type': expected a PowerOfTwo, "
                             f"got {self.weight_type!r}")
        if self.signs.ndim != 2 or 0 in self.signs.shape or self.exponents.shape != self.signs.shape:
            raise ValueError(f"node {self.name!r}: fields 'signs' and 'exponents': expected two non-empty "
                             f"2-D arrays of one shape, got {self.signs.shape} and {self.exponents.shape}")
        if not np.isin(self.signs, (-1, 0, 1)).all():
            raise ValueError(f"node {self.name!r}: field 'signs': values must be -1, 0 or +1")
        lo, hi = int(self.exponents.min()), int(self.exponents.max())
        wt = self.weight_type
        if lo < wt.min_exponent or hi > wt.max_exponent:
            raise ValueError(f"node {self.name!r}: field 'exponents': values must lie in "
                             f"[{wt.min_exponent}, {wt.max_exponent}], got [{lo}, {hi}]")

    @property
    def in_features(self) -> int:
        return self.signs.shape[1]

    @property
    def out_features(self) -> int:
        return self.signs.shape[0]

    @property
    def shifts(self) -> np.ndarray:
        """``exponents - min_exponent``: the left shift of each weight."""
        return self.exponents - self.weight_type.min_exponent

    def scaled_weights(self) -> np.ndarray:
        """The integer weights ``signs * 2**shifts`` the sum uses (int64)."""
        return self.signs.astype(np.int64) << self.shifts

    def output_type(self, in_type: ElementType) -> Integer:
        bound = self.in_features * _magnitude(in_type) << self.weight_type.max_shift
        return Integer.for_range(-bound, bound, frac=in_type.frac - self.weight_type.min_exponent)


@dataclass(frozen=True, eq=False)
class IntegerDense:
    """Matrix-vector product with small integer weights: ternary or n-bit signed.

    ``acc[j] = sum_i x[i] * weights[j, i]`` with ``x[i]`` the input's integer
    value (a bipolar input is +1/-1). Every weight lies in ``weight_type``'s
    range: -1, 0, +1 for ``Ternary`` (TWN), ``[-2**(n-1), 2**(n-1) - 1]`` for
    an n-bit signed ``Integer``. A layer's float scale (TWN's α, or an n-bit
    layer's per-output-channel step) is not here: the exporter folds it into
    the thresholds that follow, or, before the logits, leaves it out (one
    positive scale for all outputs does not move the argmax). The output is
    the narrowest signed type that holds every sum these weights can make
    from inputs in the input type's range: nothing wraps.

    ``weights`` has shape ``(out_features, in_features)``.
    """

    op: ClassVar[str] = "integer_dense"
    name: str
    input: str
    weights: np.ndarray
    weight_type: WeightType

    def __post_init__(self):
        _check_name(self)
        _frozen_array(self, "weights", np.int64)
        if not isinstance(self.weight_type, (Ternary, Integer)) or (
                isinstance(self.weight_type, Integer) and (not self.weight_type.signed or self.weight_type.frac)):
            raise ValueError(f"node {self.name!r}: field 'weight_type': expected ternary or a signed "
                             f"integer type without fraction bits, got {self.weight_type!r}")
        if self.weights.ndim != 2 or 0 in self.weights.shape:
            raise ValueError(f"node {self.name!r}: field 'weights': expected a non-empty 2-D array, "
                             f"got shape {self.weights.shape}")
        lo, hi, wt = int(self.weights.min()), int(self.weights.max()), self.weight_type
        if lo < wt.min or hi > wt.max:
            raise ValueError(f"node {self.name!r}: field 'weights': values must lie in [{wt.min}, {wt.max}] "
                             f"for {wt}, got [{lo}, {hi}]")

    @property
    def in_features(self) -> int:
        return self.weights.shape[1]

    @property
    def out_features(self) -> int:
        return self.weights.shape[0]

    def output_type(self, in_type: ElementType) -> Integer:
        # Each product's extremes are at the input's extremes; a row's sum of them bounds the row.
        low_products = np.minimum(self.weights * in_type.min, self.weights * in_type.max)
        high_products = np.maximum(self.weights * in_type.min, self.weights * in_type.max)
        low, high = int(low_products.sum(axis=1).min()), int(high_products.sum(axis=1).max())
        return Integer.for_range(min(low, -1), high, frac=in_type.frac)


@dataclass(frozen=True, eq=False)
class Requantize:
    """Bias, rounding shift and clamp: an accumulator back to a narrow fixed-point type.

    ``y[j] = clamp((x[j] + bias[j] + r) >> shift, lo, hi)`` where ``>>`` is
    the arithmetic (flooring) right shift, ``r = 2**(shift - 1)`` when
    ``shift > 0`` and 0 otherwise, so values round to nearest with ties
    towards +infinity ("round half up"). ``hi = out_type.max``; ``lo = max(0,
    out_type.min)`` with ``relu``, else ``out_type.min``: out-of-range values
    saturate, they never wrap. ``bias`` is at the input's scale, and the
    input's binary point minus ``shift`` must equal ``out_type.frac``.
    """

    op: ClassVar[str] = "requantize"
    name: str
    input: str
    bias: np.ndarray
    shift: int
    relu: bool
    out_type: Integer

    def __post_init__(self):
        _check_name(self)
        _frozen_array(self, "bias", np.int64)
        if self.bias.ndim != 1 or self.bias.size == 0:
            raise ValueError(f"node {self.name!r}: field 'bias': expected a non-empty 1-D array, "
                             f"got shape {self.bias.shape}")
        if not isinstance(self.shift, int) or isinstance(self.shift, bool) or self.shift < 0:
            raise ValueError(f"node {self.name!r}: field 'shift': expected a non-negative integer, "
                             f"got {self.shift!r}")
        if not isinstance(self.relu, bool):
            raise ValueError(f"node {self.name!r}: field 'relu': expected a bool, got {self.relu!r}")
        if not isinstance(self.out_type, Integer):
            raise ValueError(f"node {self.name!r}: field 'out_type': expected an int type, "
                             f"got {self.out_type!r}")

    @property
    def channels(self) -> int:
        return self.bias.shape[0]

    @property
    def rounding(self) -> int:
        return 1 << (self.shift - 1) if self.shift else 0

    @property
    def low(self) -> int:
        return max(0, self.out_type.min) if self.relu else self.out_type.min

    @property
    def high(self) -> int:
        return self.out_type.max


@dataclass(frozen=True, eq=False)
class Threshold:
    """Per-channel comparison of integers with integer thresholds, to bipolar.

    ``out[j] = +1 if x[j] >= thresholds[j] else -1`` for an ascending channel
    and ``out[j] = +1 if x[j] <= thresholds[j] else -1`` for a descending one
    (``descending[j]`` true). The comparison is inclusive on both sides: this
    is the one place the tie rule lives, and it is sign(0) = +1 of a batch
    norm followed by sign. A channel whose output is constant uses a
    threshold just outside the input's range (``min`` or ``max + 1``).
    """

    op: ClassVar[str] = "threshold"
    name: str
    input: str
    thresholds: np.ndarray
    descending: np.ndarray

    def __post_init__(self):
        _check_name(self)
        _frozen_array(self, "thresholds", np.int64)
        _frozen_array(self, "descending", np.bool_)
        if self.thresholds.ndim != 1 or self.thresholds.shape != self.descending.shape:
            raise ValueError(f"node {self.name!r}: fields 'thresholds' and 'descending': expected two 1-D "
                             f"arrays of one length, got shapes {self.thresholds.shape} and "
                             f"{self.descending.shape}")

    @property
    def channels(self) -> int:
        return self.thresholds.shape[0]

    def output_type(self, in_type: ElementType) -> Bipolar:
        return Bipolar()


@dataclass(frozen=True, eq=False)
class MultiThreshold:
    """Per-channel multi-level thresholds: integers in, ``low + count`` out.

    ``out[j] = low + #{k : x[j] >= thresholds[j, k]}`` for an ascending
    channel and ``low + #{k : x[j] <= thresholds[j, k]}`` for a descending
    one (``descending[j]`` true): inclusive on both sides, the tie rule of
    ``Threshold``, which is this op with one level read as bipolar. It is how
    batch norm followed by an n-bit activation folds exactly: level ``k`` of
    ``2**n - 1`` is reached where the activation first reaches its ``k``-th
    step. A level that is always reached has a threshold at the input's
    bound (``min`` ascending, ``max`` descending), one never reached just
    beyond it (``max + 1``, ``min - 1``). Each channel's thresholds are sorted:
    ascending for an ascending channel, descending for a descending one, so
    the levels reached are always the first ``count``.

    ``thresholds`` has shape ``(channels, levels)``; the output is the
    narrowest type holding ``[low, low + levels]``.
    """

    op: ClassVar[str] = "multi_threshold"
    name: str
    input: str
    thresholds: np.ndarray
    descending: np.ndarray
    low: int

    def __post_init__(self):
        _check_name(self)
        _frozen_array(self, "thresholds", np.int64)
        _frozen_array(self, "descending", np.bool_)
        if (self.thresholds.ndim != 2 or 0 in self.thresholds.shape or self.descending.ndim != 1
                or len(self.descending) != len(self.thresholds)):
            raise ValueError(f"node {self.name!r}: fields 'thresholds' and 'descending': expected a non-empty "
                             f"(channels, levels) array and one flag per channel, got shapes "
                             f"{self.thresholds.shape} and {self.descending.shape}")
        if not isinstance(self.low, int) or isinstance(self.low, bool):
            raise ValueError(f"node {self.name!r}: field 'low': expected an integer, got {self.low!r}")
        steps = np.diff(self.thresholds, axis=1)
        if not np.where(self.descending[:, None], steps <= 0, steps >= 0).all():
            raise ValueError(f"node {self.name!r}: field 'thresholds': each channel's thresholds must be "
                             f"sorted in its direction (ascending, or descending where 'descending')")

    @property
    def channels(self) -> int:
        return self.thresholds.shape[0]

    @property
    def levels(self) -> int:
        return self.thresholds.shape[1]

    @property
    def out_type(self) -> Integer:
        return Integer.for_range(self.low, self.low + self.levels)


@dataclass(frozen=True, eq=False)
class Argmax:
    """Index of the largest element; on a tie, the lowest index wins."""

    op: ClassVar[str] = "argmax"
    name: str
    input: str

    def __post_init__(self):
        _check_name(self)


@dataclass(frozen=True, eq=False)
class Window:
    """Sliding windows over an image: the first half of a convolution (im2col).

    Input ``(H, W, C)``; output ``(OH, OW, kernel * kernel * C)`` with ``OH =
    (H + 2 * padding - kernel) // stride + 1`` (``OW`` alike). Output pixel
    ``(oy, ox)`` holds the input at ``(oy * stride - padding + ky, ox * stride
    - padding + kx, c)`` as element ``(ky * kernel + kx) * C + c``. Positions
    outside the image hold the pad value: 0 for integers, and -1 (bit 0) for
    bipolar tensors, which have no 0. A ``Dense`` or ``ShiftDense`` on the
    windows completes the convolution.
    """

    op: ClassVar[str] = "window"
    name: str
    input: str
    kernel: int
    stride: int
    padding: int

    def __post_init__(self):
        _check_name(self)
        _positive(self, "kernel")
        _positive(self, "stride")
        if not isinstance(self.padding, int) or isinstance(self.padding, bool) or self.padding < 0:
            raise ValueError(f"node {self.name!r}: field 'padding': expected a non-negative integer, "
                             f"got {self.padding!r}")

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        height, width, channels = shape
        out_h = (height + 2 * self.padding - self.kernel) // self.stride + 1
        out_w = (width + 2 * self.padding - self.kernel) // self.stride + 1
        if out_h < 1 or out_w < 1:
            raise ValueError(f"node {self.name!r}: a {self.kernel}x{self.kernel} window with padding "
                             f"{self.padding} does not fit a {height}x{width} image")
        return out_h, out_w, self.kernel * self.kernel * channels

    def source_indices(self, shape: tuple[int, int, int]) -> np.ndarray:
        """For each output element, the flat HWC index of the input it copies, or -1 for padding."""
        height, width, channels = shape
        out_h, out_w, _ = self.output_shape(shape)
        oy, ox, ky, kx, c = np.meshgrid(np.arange(out_h), np.arange(out_w), np.arange(self.kernel),
                                        np.arange(self.kernel), np.arange(channels), indexing="ij")
        y = oy * self.stride - self.padding + ky
        x = ox * self.stride - self.padding + kx
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        return np.where(inside, (y * width + x) * channels + c, -1).reshape(-1)


@dataclass(frozen=True, eq=False)
class MaxPool:
    """Max over non-overlapping ``kernel x kernel`` blocks of an image, per channel.

    Input ``(H, W, C)`` with ``kernel`` dividing ``H`` and ``W``; output
    ``(H / kernel, W / kernel, C)``. On bipolar data the max is the OR of
    the bits (+1 if any is +1).
    """

    op: ClassVar[str] = "maxpool"
    name: str
    input: str
    kernel: int

    def __post_init__(self):
        _check_name(self)
        _positive(self, "kernel")


@dataclass(frozen=True, eq=False)
class Flatten:
    """An image ``(H, W, C)`` as one vector of ``H * W * C`` elements, in HWC order.

    The stream already carries HWC order, so this changes only the shape;
    an exporter from a CHW framework permutes the next layer's weights.
    """

    op: ClassVar[str] = "flatten"
    name: str
    input: str

    def __post_init__(self):
        _check_name(self)


Node = (Input | Dense | ShiftDense | IntegerDense | Threshold | MultiThreshold | Requantize | Window | MaxPool
        | Flatten | Argmax)
NODE_TYPES = {cls.op: cls for cls in (Input, Dense, ShiftDense, IntegerDense, Threshold, MultiThreshold, Requantize,
                                      Window, MaxPool, Flatten, Argmax)}
TYPE_FIELDS = ("dtype", "weight_type", "out_type")
MATRIX_NODES = (Dense, ShiftDense, IntegerDense)   # the layers a matrix-vector unit computes


def array_fields(node_type) -> list[str]:
    return [f.name for f in fields(node_type) if f.type is np.ndarray]
