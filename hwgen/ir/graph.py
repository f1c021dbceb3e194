"""The integer graph: a validated chain of nodes with derived types."""
from dataclasses import dataclass
from functools import cached_property

from .nodes import (MATRIX_NODES, Argmax, Flatten, Input, MaxPool, MultiThreshold, Node, Requantize, Threshold,
                    Window)
from .types import Bipolar, ElementType, Integer

FORMAT_VERSION = 3
# Version 2 added shift_dense, requantize, window, maxpool, flatten, Integer.frac and Input.shape;
# version 3 integer_dense, multi_threshold and the ternary type.
READABLE_VERSIONS = (1, 2, 3)

Shape = tuple[int, int, int]   # (height, width, channels); a vector is (1, 1, n)


@dataclass(frozen=True, eq=False)
class Graph:
    """A chain of nodes: an ``Input`` first, each later node reading the one before it.

    Construction validates the chain and derives every node's element type
    and shape, so a ``Graph`` that exists is one the golden model and the
    hardware generators can take as it is. Tensors are images ``(H, W, C)``
    in HWC order; per-channel ops (dense, threshold, requantize) act on every
    pixel alike, so on a vector ``(1, 1, n)`` they are the usual layer ops.
    """

    nodes: tuple[Node, ...]

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not self.nodes or not isinstance(self.nodes[0], Input):
            raise ValueError("a graph starts with an input node")
        names = set()
        for previous, node in zip((None,) + self.nodes, self.nodes):
            if node.name in names:
                raise ValueError(f"node {node.name!r}: the name is used twice")
            names.add(node.name)
            if previous is not None:
                if isinstance(node, Input):
                    raise ValueError(f"node {node.name!r}: only the first node may be an input")
                if node.input != previous.name:
                    raise ValueError(f"node {node.name!r}: field 'input': expected {previous.name!r} "
                                     f"(graphs are chains), got {node.input!r}")
        self.types, self.sizes  # derive now so that an invalid graph fails here

    @cached_property
    def types(self) -> dict[str, ElementType]:
        """The element type each node outputs."""
        return {name: t for name, (t, _) in self._shapes.items()}

    @cached_property
    def shapes(self) -> dict[str, Shape]:
        """The ``(height, width, channels)`` each node outputs per sample."""
        return {name: shape for name, (_, shape) in self._shapes.items()}

    @cached_property
    def sizes(self) -> dict[str, int]:
        """The number of elements each node outputs per sample."""
        return {name: h * w * c for name, (h, w, c) in self.shapes.items()}

    @cached_property
    def _shapes(self) -> dict[str, tuple[ElementType, Shape]]:
        shapes = {}
        for node in self.nodes:
            if isinstance(node, Input):
                shapes[node.name] = (node.dtype, node.image_shape)
                continue
            in_type, in_shape = shapes[node.input]
            shapes[node.name] = _infer(node, in_type, in_shape)
        return shapes

    @property
    def input(self) -> Input:
        return self.nodes[0]

    @property
    def output(self) -> Node:
        return self.nodes[-1]


def _infer(node: Node, in_type: ElementType, in_shape: Shape) -> tuple[ElementType, Shape]:
    where = f"node {node.name!r}"
    height, width, channels = in_shape
    per_pixel = "elements" if height == width == 1 else "channels per pixel"
    if isinstance(node, MATRIX_NODES):
        if node.in_features != channels:
            raise ValueError(f"{where}: weights have {node.in_features} inputs per row, "
                             f"but {node.input!r} gives {channels} {per_pixel}")
        return node.output_type(in_type), (height, width, node.out_features)
    if isinstance(node, Requantize):
        if not isinstance(in_type, Integer):
            raise ValueError(f"{where}: requantize takes integers, but {node.input!r} is {in_type}")
        if node.channels != channels:
            raise ValueError(f"{where}: field 'bias': has {node.channels} channels, "
                             f"but {node.input!r} gives {channels} {per_pixel}")
        if in_type.frac - node.shift != node.out_type.frac:
            raise ValueError(f"{where}: field 'shift': the input's binary point ({in_type.frac}) minus "
                             f"the shift ({node.shift}) must equal out_type.frac ({node.out_type.frac})")
        if node.low > node.high:
            raise ValueError(f"{where}: field 'out_type': {node.out_type} holds no value at or above 0 for relu")
        return node.out_type, in_shape
    if isinstance(node, (Threshold, MultiThreshold)):
        if not isinstance(in_type, Integer):
            raise ValueError(f"{where}: thresholds compare integers, but {node.input!r} is {in_type}")
        if node.channels != channels:
            raise ValueError(f"{where}: field 'thresholds': has {node.channels} channels, "
                             f"but {node.input!r} gives {channels} {per_pixel}")
        # A level never reached lies one past the input's range: max + 1 ascending, and for
        # several levels min - 1 descending (one level writes its constant channels ascending).
        multi = isinstance(node, MultiThreshold)
        low, high = in_type.min - multi, in_type.max + 1
        lo, hi = int(node.thresholds.min()), int(node.thresholds.max())
        if lo < low or hi > high:
            raise ValueError(f"{where}: field 'thresholds': values must lie in [{low}, {high}] for input type "
                             f"{in_type}, got [{lo}, {hi}]")
        return (node.out_type if multi else Bipolar()), in_shape
    if isinstance(node, Window):
        return in_type, node.output_shape(in_shape)
    if isinstance(node, MaxPool):
        if height % node.kernel or width % node.kernel:
            raise ValueError(f"{where}: field 'kernel': {node.kernel} must divide the {height}x{width} "
                             f"image of {node.input!r}")
        return in_type, (height // node.kernel, width // node.kernel, channels)
    if isinstance(node, Flatten):
        return in_type, (1, 1, height * width * channels)
    if isinstance(node, Argmax):
        if not isinstance(in_type, Integer):
            raise ValueError(f"{where}: argmax takes integers, but {node.input!r} is {in_type}")
        if height * width != 1:
            raise ValueError(f"{where}: argmax takes a vector, but {node.input!r} is a "
                             f"{height}x{width} image; flatten it first")
        return Integer.for_range(0, channels - 1), (1, 1, 1)
    raise ValueError(f"{where}: unsupported node type {type(node).__name__}")
