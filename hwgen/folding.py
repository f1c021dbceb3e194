"""Folding: how many outputs (PE) and inputs (SIMD) each dense layer handles per cycle."""
import re
from dataclasses import dataclass

from .errors import HwgenError
from .ir import MATRIX_NODES, Graph


@dataclass(frozen=True)
class LayerFold:
    pe: int
    simd: int

    def __str__(self) -> str:
        return f"{self.pe}x{self.simd}"


@dataclass(frozen=True)
class Folding:
    """One ``LayerFold`` per matrix layer (conv or dense), in graph order, and input elements per beat."""

    layers: tuple[LayerFold, ...]
    input_per_beat: int

    @classmethod
    def parse(cls, layers: str | list[str] | tuple[str, ...], input_per_beat: int) -> "Folding":
        """From ``"64x16,32x64,10x32"`` (PE x SIMD per conv and dense layer)."""
        items = layers.split(",") if isinstance(layers, str) else list(layers)
        folds = []
        for item in items:
            match = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", item)
            if not match or int(match[1]) < 1 or int(match[2]) < 1:
                raise HwgenError(f"folding {item!r}: expected PExSIMD (both at least 1), such as 16x32")
            folds.append(LayerFold(int(match[1]), int(match[2])))
        return cls(tuple(folds), input_per_beat)

    def __str__(self) -> str:
        return ",".join(str(f) for f in self.layers)

    def check(self, graph: Graph) -> None:
        """Raise ``HwgenError`` unless every PE divides its layer's outputs and every SIMD fits its inputs."""
        dense = _matrix_layers(graph)
        if len(self.layers) != len(dense):
            raise HwgenError(f"folding has {len(self.layers)} entries but the graph has "
                             f"{len(dense)} dense layers ({', '.join(n.name for n in dense)})")
        height, width, channels = graph.input.image_shape
        what = "input size" if height == width == 1 else "input's channels"
        if self.input_per_beat < 1 or channels % self.input_per_beat:
            raise HwgenError(f"input elements per beat ({self.input_per_beat}) must divide the "
                             f"{what} {channels}; try one of {_divisors(channels)}")
        for node, fold in zip(dense, self.layers):
            if fold.pe < 1 or node.out_features % fold.pe:
                raise HwgenError(f"{node.name}: PE={fold.pe} does not divide the layer's "
                                 f"{node.out_features} outputs; choose one of {_divisors(node.out_features)}")
            # A SIMD that does not divide the inputs pads each vector's last beat.
            if not 1 <= fold.simd <= node.in_features:
                raise HwgenError(f"{node.name}: SIMD={fold.simd} must lie in [1, {node.in_features}], "
                                 f"the layer's inputs; divisors waste no lanes: {_divisors(node.in_features)}")

    def by_node(self, graph: Graph) -> dict[str, LayerFold]:
        """Each dense layer's fold by node name, after ``check``: the one place folds meet nodes."""
        self.check(graph)
        return {node.name: fold for node, fold in zip(_matrix_layers(graph), self.layers)}

    def padding(self, graph: Graph) -> dict[str, int]:
        """Per dense layer whose SIMD does not divide its inputs, the zero elements padding each vector."""
        nodes = {node.name: node for node in _matrix_layers(graph)}
        return {name: -nodes[name].in_features % fold.simd
                for name, fold in self.by_node(graph).items() if nodes[name].in_features % fold.simd}


def _matrix_layers(graph: Graph) -> list:
    return [n for n in graph.nodes if isinstance(n, MATRIX_NODES)]


def _divisors(n: int) -> str:
    return ", ".join(str(d) for d in range(1, n + 1) if n % d == 0)
