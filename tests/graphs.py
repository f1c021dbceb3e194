"""Random integer graphs and a naive reference to check the golden model against."""
import numpy as np

from hwgen.ir import (Argmax, Bipolar, Dense, Flatten, Graph, Input, Integer, MaxPool, PowerOfTwo, Requantize,
                      ShiftDense, Threshold, Window)


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
            elif isinstance(node, Argmax):
                best = 0
                for i, v in enumerate(row):
                    if v > row[best]:
                        best = i
                out.append([best])
        values = out
        current_bipolar = isinstance(node, Threshold)
    return np.array(values, dtype=np.int64)
