"""The operations of the integer graph and their exact integer semantics.

Each node names the node it reads (``input``); the golden model in
``hwgen.golden`` implements the semantics written in each docstring, and
everything else is compared with it for exact equality.
"""
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from .types import Bipolar, ElementType, Integer


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


@dataclass(frozen=True, eq=False)
class Input:
    """The graph's input: ``size`` elements of ``dtype`` per sample."""

    op: ClassVar[str] = "input"
    name: str
    size: int
    dtype: ElementType

    def __post_init__(self):
        _check_name(self)
        if not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"node {self.name!r}: field 'size': expected a positive integer, got {self.size!r}")


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
        magnitude = max(abs(in_type.min), abs(in_type.max))
        bound = self.in_features * magnitude
        return Integer.for_range(-bound, bound)


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
class Argmax:
    """Index of the largest element; on a tie, the lowest index wins."""

    op: ClassVar[str] = "argmax"
    name: str
    input: str

    def __post_init__(self):
        _check_name(self)


Node = Input | Dense | Threshold | Argmax
NODE_TYPES = {cls.op: cls for cls in (Input, Dense, Threshold, Argmax)}


def array_fields(node_type) -> list[str]:
    return [f.name for f in fields(node_type) if f.type is np.ndarray]
