"""Random integer graphs and a naive reference to check the golden model against."""
import numpy as np

from hwgen.folding import Folding, LayerFold
from hwgen.ir import (MATRIX_NODES, Argmax, Bipolar, Dense, Flatten, Graph, Input, Integer, IntegerDense, MaxPool,
                      MultiThreshold, PowerOfTwo, Requantize, ShiftDense, Ternary, Threshold, Window)


def random_graph(rng: np.random.Generator, sizes: list[int], in_type=Integer(4, signed=False),
                 end_with_argmax: bool = True) -> Graph:
    """Dense layers of the given sizes, thresholds between them, argmax at the end."""
    nodes = [Input("input", sizes[0], in_type)]
    for index, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        dense = Dense(f"fc{index}", nodes[-1].name, rng.integers(0, 2, (fan_out, fan_in)))
        nodes.append(dense)
        if index < len(sizes) - 2:
            acc = Graph(tuple(nodes)).types[dense.name]
            # Thresholds near zero, where accumulators land, so ties actually happen.
            spread = max(2, fan_in // 4)
            thresholds = rng.integers(-spread, spread + 1, fan_out)
            thresholds[:2] = [acc.min, acc.max + 1]  # constant channels
            nodes.append(Threshold(f"th{index}", dense.name, thresholds,
                                   rng.integers(0, 2, fan_out).astype(bool)))
    if end_with_argmax:
        nodes.append(Argmax("argmax", nodes[-1].name))
    return Graph(tuple(nodes))


def random_shift_graph(rng: np.random.Generator, sizes: list[int], in_type=Integer(4, signed=False, frac=4),
                       weight_type=PowerOfTwo(-3, 1), act_type=Integer(4, signed=False, frac=2)) -> Graph:
    """Shift layers with zero weights, requantize (ReLU) between them, signed logits, argmax."""
    nodes = [Input("input", sizes[0], in_type)]
    layers = list(zip(sizes, sizes[1:]))
    for index, (fan_in, fan_out) in enumerate(layers):
        signs = rng.integers(-1, 2, (fan_out, fan_in))
        exponents = rng.integers(weight_type.min_exponent, weight_type.max_exponent + 1, (fan_out, fan_in))
        dense = ShiftDense(f"fc{index}", nodes[-1].name, signs, exponents, weight_type)
        nodes.append(dense)
        acc = Graph(tuple(nodes)).types[dense.name]
        last = index == len(layers) - 1
        out_type = Integer(acc.bits + 1, signed=True, frac=acc.frac) if last else act_type
        shift = acc.frac - out_type.frac
        # Biases of the accumulators' magnitude, so rounding, saturation and ReLU all happen.
        spread = 1 << max(1, acc.bits - 3)
        nodes.append(Requantize(f"rq{index}", dense.name, rng.integers(-spread, spread + 1, fan_out),
                                shift, not last, out_type))
    nodes.append(Argmax("argmax", nodes[-1].name))
    return Graph(tuple(nodes))


def random_conv_graph(rng: np.random.Generator, shift: bool) -> Graph:
    """A small CNN: conv (padded) → threshold or ReLU → max-pool → conv → flatten → dense → argmax.

    Binarized: integer pixels into the first conv, bipolar after the
    thresholds (so the second conv pads with -1). Shift: fixed point throughout.
    """
    in_type = Integer(4, signed=False, frac=4) if shift else Integer(3, signed=False)
    nodes = [Input("input", 6 * 6 * 2, in_type, (6, 6, 2))]

    def matrix(name, fan_out, fan_in):
        if shift:
            wt = PowerOfTwo(-2, 0)
            return ShiftDense(name, nodes[-1].name, rng.integers(-1, 2, (fan_out, fan_in)),
                              rng.integers(-2, 1, (fan_out, fan_in)), wt)
        return Dense(name, nodes[-1].name, rng.integers(0, 2, (fan_out, fan_in)))

    def activation(name, last=False):
        graph = Graph(tuple(nodes))
        acc, channels = graph.types[nodes[-1].name], graph.shapes[nodes[-1].name][2]
        if shift:
            out_type = Integer(acc.bits + 1, signed=True, frac=acc.frac) if last else Integer(4, False, 2)
            nodes.append(Requantize(name, nodes[-1].name, rng.integers(-8, 9, channels),
                                    acc.frac - out_type.frac, not last, out_type))
        elif not last:
            nodes.append(Threshold(name, nodes[-1].name, rng.integers(-3, 4, channels),
                                   rng.integers(0, 2, channels).astype(bool)))

    nodes.append(Window("win1", "input", 3, 1, 1))
    nodes.append(matrix("conv1", 4, 3 * 3 * 2))
    activation("act1")
    nodes.append(MaxPool("pool1", nodes[-1].name, 2))
    nodes.append(Window("win2", "pool1", 3, 2, 1))
    nodes.append(matrix("conv2", 6, 3 * 3 * 4))
    activation("act2")
    nodes.append(Flatten("flat", nodes[-1].name))
    nodes.append(matrix("fc", 10, 2 * 2 * 6))
    activation("logits", last=True)
    nodes.append(Argmax("argmax", nodes[-1].name))
    return Graph(tuple(nodes))


def random_inputs(rng: np.random.Generator, graph: Graph, batch: int) -> np.ndarray:
    dtype = graph.input.dtype
    lo, hi = (0, 1) if isinstance(dtype, Bipolar) else (dtype.min, dtype.max)
    return rng.integers(lo, hi + 1, (batch, graph.input.size))


def naive_reference(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Element-by-element int64 loops, written straight from the op docstrings."""
    values = [[int(v) for v in row] for row in x]
    current_bipolar = isinstance(graph.input.dtype, Bipolar)
    for node in graph.nodes[1:]:
        out = []
        for row in values:
            if isinstance(node, Dense):
                xs = [2 * v - 1 for v in row] if current_bipolar else row
                out.append([sum(xi * (1 if w else -1) for xi, w in zip(xs, wrow))
                            for wrow in node.weights])
            elif isinstance(node, IntegerDense):
                xs = [2 * v - 1 for v in row] if current_bipolar else row
                out.append([sum(xi * int(w) for xi, w in zip(xs, wrow)) for wrow in node.weights])
            elif isinstance(node, ShiftDense):
                out.append([sum(xi * int(sg) * 2 ** int(e - node.weight_type.min_exponent)
                                for xi, sg, e in zip(row, srow, erow))
                            for srow, erow in zip(node.signs, node.exponents)])
            elif isinstance(node, Requantize):
                lo = max(0, node.out_type.min) if node.relu else node.out_type.min
                half = 2 ** (node.shift - 1) if node.shift else 0
                out.append([min(node.out_type.max, max(lo, (v + int(b) + half) // 2 ** node.shift))
                            for v, b in zip(row, node.bias)])
            elif isinstance(node, Threshold):
                out.append([int(v <= t) if d else int(v >= t)
                            for v, t, d in zip(row, node.thresholds, node.descending)])
            elif isinstance(node, MultiThreshold):
                out.append([node.low + sum(int(v <= t) if d else int(v >= t) for t in ts)
                            for v, ts, d in zip(row, node.thresholds, node.descending)])
            elif isinstance(node, Argmax):
                best = 0
                for i, v in enumerate(row):
                    if v > row[best]:
                        best = i
                out.append([best])
        values = out
        current_bipolar = isinstance(node, Threshold) or (current_bipolar and isinstance(node, (MaxPool, Window,
                                                                                                 Flatten)))
    return np.array(values, dtype=np.int64)


def _divisor(rng: np.random.Generator, n: int) -> int:
    return int(rng.choice([d for d in range(1, n + 1) if n % d == 0]))


def random_network(rng: np.random.Generator) -> tuple[Graph, Folding]:
    """A random graph and a random legal folding for it: an MLP or a CNN, with
    binary weights on integer or bipolar inputs, or shift weights, or each
    layer's weights binary, ternary or n-bit and each activation one or
    several thresholds; random sizes, kernels, strides, paddings, pooling,
    PE (any divisor) and SIMD (any width, so some layers pad)."""
    family = str(rng.choice(["binary", "shift", "mixed"]))
    shift = family == "shift"
    cnn = bool(rng.integers(2))
    if shift:
        in_type = Integer(int(rng.integers(2, 6)), signed=bool(rng.integers(2)), frac=int(rng.integers(0, 4)))
    else:
        in_type = rng.choice([Integer(int(rng.integers(1, 6)), signed=bool(rng.integers(2))), Bipolar()])
    shape = (int(rng.integers(3, 7)), int(rng.integers(3, 7)), int(rng.integers(1, 4))) if cnn else None
    size = int(np.prod(shape)) if cnn else int(rng.integers(2, 25))
    nodes = [Input("input", size, in_type, shape or ())]
    weight_type = PowerOfTwo(int(rng.integers(-3, 0)), int(rng.integers(0, 2)))

    def current():
        graph = Graph(tuple(nodes))
        return graph, graph.types[nodes[-1].name], graph.shapes[nodes[-1].name]

    def matrix(name, fan_out, fan_in):
        if shift:
            exponents = rng.integers(weight_type.min_exponent, weight_type.max_exponent + 1, (fan_out, fan_in))
            return ShiftDense(name, nodes[-1].name, rng.integers(-1, 2, (fan_out, fan_in)), exponents, weight_type)
        kind = str(rng.choice(["binary", "ternary", "integer"])) if family == "mixed" else "binary"
        if kind == "ternary":
            return IntegerDense(name, nodes[-1].name, rng.integers(-1, 2, (fan_out, fan_in)), Ternary())
        if kind == "integer":
            bits = int(rng.integers(2, 6))
            return IntegerDense(name, nodes[-1].name, rng.integers(-(1 << bits - 1), 1 << bits - 1,
                                                                    (fan_out, fan_in)), Integer(bits, True))
        return Dense(name, nodes[-1].name, rng.integers(0, 2, (fan_out, fan_in)))

    def activation(name, last):
        _, acc, out_shape = current()
        channels = out_shape[2]
        if shift:
            out_type = (Integer(acc.bits + 1, signed=True, frac=acc.frac) if last
                        else Integer(int(rng.integers(2, 5)), signed=False, frac=min(acc.frac, 2)))
            spread = 1 << max(1, acc.bits - 3)
            nodes.append(Requantize(name, nodes[-1].name, rng.integers(-spread, spread + 1, channels),
                                    acc.frac - out_type.frac, not last, out_type))
        elif not last:
            spread = max(2, (acc.max - acc.min) // 8)
            # (Clipped: an accumulator of all-zero n-bit weights holds only -1 and 0.)
            thresholds = np.clip(rng.integers(-spread, spread + 1, channels), acc.min, acc.max + 1)
            thresholds[0] = acc.min   # a constant channel
            descending = rng.integers(0, 2, channels).astype(bool)
            if family == "mixed" and rng.integers(2):
                levels = int(rng.integers(1, 4))
                table = np.sort(np.clip(rng.integers(-spread, spread + 1, (channels, levels)), acc.min - 1,
                                        acc.max + 1), axis=1)
                table[0] = [acc.min - 1] * (levels - 1) + [acc.max + 1]   # a level never reached
                table = np.where(descending[:, None], table[:, ::-1], table)
                nodes.append(MultiThreshold(name, nodes[-1].name, table, descending,
                                            -int(rng.integers(0, levels + 1))))
            else:
                nodes.append(Threshold(name, nodes[-1].name, thresholds, descending))

    if cnn:
        for index in range(int(rng.integers(1, 3))):
            height, width, channels = current()[2]
            kernel = int(rng.integers(1, min(3, height, width) + 1))
            padding = int(rng.integers(0, kernel))
            stride = int(rng.integers(1, 3))
            nodes.append(Window(f"win{index}", nodes[-1].name, kernel, stride, padding))
            nodes.append(matrix(f"conv{index}", int(rng.integers(1, 7)), kernel * kernel * channels))
            activation(f"act{index}", last=False)
            out_h, out_w, _ = current()[2]
            if rng.integers(2) and out_h % 2 == 0 and out_w % 2 == 0:
                nodes.append(MaxPool(f"pool{index}", nodes[-1].name, 2))
        nodes.append(Flatten("flat", nodes[-1].name))
    dense_layers = int(rng.integers(1, 3))
    for index in range(dense_layers):
        last = index == dense_layers - 1
        fan_out = int(rng.integers(2, 11)) if last else int(rng.integers(1, 17))
        nodes.append(matrix(f"fc{index}", fan_out, int(np.prod(current()[2]))))
        activation(f"fc{index}_act", last)
    nodes.append(Argmax("argmax", nodes[-1].name))
    graph = Graph(tuple(nodes))
    folds = [LayerFold(_divisor(rng, n.out_features), int(rng.integers(1, n.in_features + 1)))
             for n in graph.nodes if isinstance(n, MATRIX_NODES)]
    channels = shape[2] if cnn else size
    return graph, Folding(tuple(folds), _divisor(rng, channels))
