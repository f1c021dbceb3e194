"""The walk shared by the exporters: layer order, image layout, names.

Torch holds images as NCHW and flattens them channel-major; the integer
graph streams HWC and flattens pixel-major. ``GraphBuilder`` turns conv
weights into window-ordered rows (ky, kx, channel) and permutes the rows
of the dense layer after a flatten to match, so no data is ever reordered.
"""
import numpy as np
import torch
from torch import nn

from hwgen.ir import Flatten, Graph, Input, MaxPool, Window

from .layers import ToImage


class GraphBuilder:
    """Nodes appended in order, with the type and shape each one outputs."""

    def __init__(self, in_features: int, in_type):
        self.nodes = [Input("input", in_features, in_type)]
        self._flattened = None   # (H, W, C) of the image the last Flatten flattened
        self._counts = {}

    def name(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}{self._counts[prefix]}"

    @property
    def last(self) -> str:
        return self.nodes[-1].name

    @property
    def graph(self) -> Graph:
        return Graph(tuple(self.nodes))

    def add(self, node) -> None:
        self.nodes.append(node)
        if not isinstance(node, Flatten):
            self._flattened = None

    def open_layer(self, *, kernel: int = 0, stride: int = 1, padding: int = 0) -> str:
        """Name a matrix layer; for a conv (``kernel`` > 0) append its window first."""
        name = self.name("conv" if kernel else "fc")
        if kernel:
            self.add(Window(f"{name}_window", self.last, kernel, stride, padding))
        return name

    def rows(self, weight: torch.Tensor) -> np.ndarray:
        """Weights as graph rows: conv (O, C, K, K) → (O, K*K*C); dense after a flatten of an
        image (O, C*H*W) → (O, H*W*C); other dense weights as they are."""
        w = weight.detach()
        if w.ndim == 4:
            return w.permute(0, 2, 3, 1).reshape(len(w), -1).numpy()
        if self._flattened is not None:
            height, width, channels = self._flattened
            return w.reshape(len(w), channels, height, width).permute(0, 2, 3, 1).reshape(len(w), -1).numpy()
        return w.numpy()

    def structural(self, layer: nn.Module) -> bool:
        """Lower a layer that only moves or drops data; False if ``layer`` is not one."""
        if isinstance(layer, ToImage):
            first = self.nodes[0]
            self.nodes[0] = Input(first.name, first.size, first.dtype, (layer.height, layer.width, 1))
        elif isinstance(layer, nn.Flatten):
            shape = self.graph.shapes[self.last]
            self.add(Flatten(self.name("flatten"), self.last))
            self._flattened = shape
        elif isinstance(layer, nn.MaxPool2d):
            if _square(layer.kernel_size) != _square(layer.stride or layer.kernel_size):
                raise ValueError("export: max-pool needs stride equal to its kernel")
            self.add(MaxPool(self.name("pool"), self.last, _square(layer.kernel_size)))
        elif isinstance(layer, nn.Dropout):
            pass    # the identity in eval
        else:
            return False
        return True


def _square(value) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"export: only square kernels and strides, not {value}")
        return value[0]
    return value
