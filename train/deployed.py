"""The software baseline: the exported integer graph as a torch module, its weights
quantized once (the training model re-quantizes them on every call).

Values travel as exact integers in floating point: bipolar bits as ±1, so
every dense layer is one matrix product. float32 where every value the
graph can reach fits its 24-bit mantissa, float64 otherwise; the test
suite checks the result against the golden model on every image.
"""
import numpy as np
import torch
from torch import nn

from hwgen.ir import (MATRIX_NODES, Argmax, Bipolar, Dense, Flatten, Graph, IntegerDense, MaxPool, MultiThreshold,
                     Requantize, ShiftDense, Threshold, Window)


def exact_dtype(graph: Graph) -> torch.dtype:
    """The narrowest float type in which every value of the graph is an exact integer."""
    widest = max(dtype.width for dtype in graph.types.values())
    return torch.float32 if widest <= 24 else torch.float64


class DeployedNet(nn.Module):
    """Integer graph inputs (batch, input size) in, class indices out."""

    def __init__(self, graph: Graph):
        super().__init__()
        self.graph = graph
        self.dtype = exact_dtype(graph)
        tensor = lambda array: torch.tensor(array, dtype=self.dtype)  # noqa: E731
        self.weights, self.windows, self.offsets, self.descending = {}, {}, {}, {}
        for node in graph.nodes[1:]:
            shape = graph.shapes[node.input]
            if isinstance(node, Dense):
                self.weights[node.name] = tensor(2 * node.weights.astype(int) - 1).T.contiguous()
            elif isinstance(node, ShiftDense):
                self.weights[node.name] = tensor(node.scaled_weights()).T.contiguous()
            elif isinstance(node, IntegerDense):
                self.weights[node.name] = tensor(node.weights).T.contiguous()
            elif isinstance(node, Window):
                # Index -1 (padding) picks a pad column appended to the input.
                self.windows[node.name] = torch.as_tensor(node.source_indices(shape))
            elif isinstance(node, (Threshold, MultiThreshold)):
                self.offsets[node.name] = tensor(node.thresholds)
                self.descending[node.name] = torch.tensor(node.descending)
            elif isinstance(node, Requantize):
                self.offsets[node.name] = tensor(node.bias + node.rounding)

    def classify(self, images: np.ndarray) -> np.ndarray:
        """Class indices for a NumPy batch of integer inputs."""
        return self(torch.as_tensor(images)).numpy()

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        graph = self.graph
        x = x.to(self.dtype)
        if isinstance(graph.input.dtype, Bipolar):
            x = 2 * x - 1
        for node in graph.nodes[1:]:
            batch = len(x)
            height, width, channels = graph.shapes[node.input]
            if isinstance(node, MATRIX_NODES):
                x = x.reshape(-1, channels) @ self.weights[node.name]
            elif isinstance(node, Threshold):
                pixels = x.reshape(-1, channels) - self.offsets[node.name]
                reached = torch.where(self.descending[node.name], pixels <= 0, pixels >= 0)
                x = reached.to(self.dtype) * 2 - 1
            elif isinstance(node, MultiThreshold):
                pixels = x.reshape(-1, channels, 1) - self.offsets[node.name]
                reached = torch.where(self.descending[node.name][:, None], pixels <= 0, pixels >= 0)
                x = node.low + reached.to(self.dtype).sum(dim=2)
            elif isinstance(node, Requantize):
                shifted = torch.floor((x.reshape(-1, channels) + self.offsets[node.name]) / (1 << node.shift))
                x = shifted.clamp(node.low, node.high)
            elif isinstance(node, Window):
                pad = -1.0 if isinstance(graph.types[node.input], Bipolar) else 0.0
                x = torch.cat([x, torch.full((batch, 1), pad, dtype=self.dtype)], dim=1)[:, self.windows[node.name]]
            elif isinstance(node, MaxPool):
                k = node.kernel
                x = x.reshape(batch, height // k, k, width // k, k, channels).amax(dim=(2, 4))
            elif isinstance(node, Argmax):
                return x.reshape(batch, -1).argmax(dim=1)
            elif isinstance(node, Flatten):
                pass
            x = x.reshape(batch, -1)
        raise ValueError("the graph does not end in argmax")
