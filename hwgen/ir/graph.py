"""The integer graph: a validated chain of nodes with derived types."""
from dataclasses import dataclass
from functools import cached_property

from .nodes import Argmax, Dense, Input, Node, Requantize, ShiftDense, Threshold
from .types import Bipolar, ElementType, Integer

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)   # version 2 added shift_dense, requantize and Integer.frac


@dataclass(frozen=True, eq=False)
class Graph:
    """A chain of nodes: an ``Input`` first, each later node reading the one before it.

    Construction validates the chain and derives every node's element type
    and size, so a ``Graph`` that exists is one the golden model and the
    hardware generators can take as it is.
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
    def sizes(self) -> dict[str, int]:
        """The number of elements each node outputs per sample."""
        return {name: n for name, (_, n) in self._shapes.items()}

    @cached_property
    def _shapes(self) -> dict[str, tuple[ElementType, int]]:
        shapes = {}
        for node in self.nodes:
            if isinstance(node, Input):
                shapes[node.name] = (node.dtype, node.size)
                continue
            in_type, in_size = shapes[node.input]
            shapes[node.name] = _infer(node, in_type, in_size)
        return shapes

    @property
    def input(self) -> Input:
        return self.nodes[0]

    @property
    def output(self) -> Node:
        return self.nodes[-1]


def _infer(node: Node, in_type: ElementType, in_size: int) -> tuple[ElementType, int]:
    where = f"node {node.name!r}"
    if isinstance(node, (Dense, ShiftDense)):
        if node.in_features != in_size:
            raise ValueError(f"{where}: weights have {node.in_features} inputs per row, "
                             f"but {node.input!r} gives {in_size} elements")
        return node.output_type(in_type), node.out_features
    if isinstance(node, Requantize):
        if not isinstance(in_type, Integer):
            raise ValueError(f"{where}: requantize takes integers, but {node.input!r} is {in_type}")
        if node.channels != in_size:
            raise ValueError(f"{where}: field 'bias': has {node.channels} channels, "
                             f"but {node.input!r} gives {in_size} elements")
        if in_type.frac - node.shift != node.out_type.frac:
            raise ValueError(f"{where}: field 'shift': the input's binary point ({in_type.frac}) minus "
                             f"the shift ({node.shift}) must equal out_type.frac ({node.out_type.frac})")
        if node.low > node.high:
            raise ValueError(f"{where}: field 'out_type': {node.out_type} holds no value at or above 0 for relu")
        return node.out_type, in_size
    if isinstance(node, Threshold):
        if not isinstance(in_type, Integer):
            raise ValueError(f"{where}: thresholds compare integers, but {node.input!r} is {in_type}")
        if node.channels != in_size:
            raise ValueError(f"{where}: field 'thresholds': has {node.channels} channels, "
                             f"but {node.input!r} gives {in_size} elements")
        lo, hi = int(node.thresholds.min()), int(node.thresholds.max())
        if lo < in_type.min or hi > in_type.max + 1:
            raise ValueError(f"{where}: field 'thresholds': values must lie in [{in_type.min}, "
                             f"{in_type.max + 1}] for input type {in_type}, got [{lo}, {hi}]")
        return Bipolar(), in_size
    if isinstance(node, Argmax):
        if not isinstance(in_type, Integer):
            raise ValueError(f"{where}: argmax takes integers, but {node.input!r} is {in_type}")
        return Integer.for_range(0, in_size - 1), 1
    raise ValueError(f"{where}: unsupported node type {type(node).__name__}")
