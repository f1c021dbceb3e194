"""The golden model: the integer graph executed in NumPy, batched and exact.

It defines what each op means (see the docstrings in ``hwgen.ir.nodes``);
torch export and RTL simulation are compared with it using exact equality.
Bipolar tensors are held as bits (uint8 0/1, 1 meaning +1), like the IR.
"""
import numpy as np

from .ir import (Argmax, Bipolar, Dense, Flatten, Graph, Input, IntegerDense, MaxPool, MultiThreshold, Requantize,
                 ShiftDense, Threshold, Window)

# Bytes of temporary memory one chunk of XNOR-popcount may use.
_CHUNK_BYTES = 1 << 26


def run(graph: Graph, x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The graph's output for a batch ``x`` of shape (batch, input size).

    Runs ``chunk`` samples at a time: a convolution's windows take
    ``kernel**2`` times the memory of its input, too much for a whole test set.
    """
    x = np.asarray(x)
    if len(x) <= chunk:
        return run_all(graph, x)[graph.output.name]
    return np.concatenate([run_all(graph, x[start:start + chunk])[graph.output.name]
                           for start in range(0, len(x), chunk)])


def run_all(graph: Graph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's output, by node name, each of shape (batch, node size)."""
    values = {}
    for node in graph.nodes:
        if isinstance(node, Input):
            values[node.name] = check_input(graph, x)
            continue
        operand = values[node.input]
        in_type, (height, width, channels) = graph.types[node.input], graph.shapes[node.input]
        # Per-channel ops see one row per pixel: (batch * H * W, C).
        pixels = operand.reshape(-1, channels)
        if isinstance(node, Dense):
            out = binary_dense(pixels, node.weights, in_type)
        elif isinstance(node, ShiftDense):
            out = exact_matmul(pixels, node.scaled_weights())
        elif isinstance(node, IntegerDense):
            signed = 2 * pixels.astype(np.int64) - 1 if isinstance(in_type, Bipolar) else pixels
            out = exact_matmul(signed, node.weights)
        elif isinstance(node, Requantize):
            out = requantize(pixels, node)
        elif isinstance(node, Threshold):
            out = np.where(node.descending, pixels <= node.thresholds, pixels >= node.thresholds).astype(np.uint8)
        elif isinstance(node, MultiThreshold):
            out = multi_threshold(pixels, node)
        elif isinstance(node, Window):
            out = window(operand, node, (height, width, channels))
        elif isinstance(node, MaxPool):
            k = node.kernel
            blocks = operand.reshape(len(operand), height // k, k, width // k, k, channels)
            out = blocks.max(axis=(2, 4))
        elif isinstance(node, Flatten):
            out = operand
        elif isinstance(node, Argmax):
            out = np.argmax(operand, axis=1).astype(np.int64)
        values[node.name] = out.reshape(len(operand), -1)
    return values


def window(x: np.ndarray, node: Window, shape) -> np.ndarray:
    """``Window`` semantics: gather each window's elements, the pad value outside the image."""
    pad = 0   # bit 0 is -1 for bipolar data; 0 for integers
    padded = np.concatenate([x, np.full((len(x), 1), pad, dtype=x.dtype)], axis=1)
    return padded[:, node.source_indices(shape)]   # index -1 picks the pad column


def check_input(graph: Graph, x) -> np.ndarray:
    """``x`` as an int64 batch, after checking its shape and value range."""
    x = np.asarray(x)
    size, dtype = graph.input.size, graph.input.dtype
    if x.ndim != 2 or x.shape[1] != size:
        raise ValueError(f"input: expected shape (batch, {size}), got {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"input: expected integers, got {x.dtype}")
    lo, hi = (0, 1) if isinstance(dtype, Bipolar) else (dtype.min, dtype.max)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"input: values must lie in [{lo}, {hi}] for {dtype}, "
                         f"got [{x.min()}, {x.max()}]")
    return x.astype(np.int64)


def binary_dense(x: np.ndarray, w_bits: np.ndarray, in_type) -> np.ndarray:
    """``Dense`` semantics: XNOR-popcount for bipolar inputs, exact sums otherwise."""
    if isinstance(in_type, Bipolar):
        return xnor_popcount(x, w_bits)
    return exact_matmul(x, 2 * w_bits.astype(np.int64) - 1)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack rows of 0/1 into little-endian uint64 words (zero-padded)."""
    packed = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


def xnor_popcount(x_bits: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """Bipolar dot products: ``dot = 2 * popcount(xnor(x, w)) - N``.

    The padding bits of the last word are masked off, so they count neither
    as agreements nor as disagreements.
    """
    n = w_bits.shape[1]
    xw, ww = pack_bits(x_bits), pack_bits(w_bits)
    mask = pack_bits(np.ones((1, n), dtype=np.uint8))[0]
    batch, rows, words = xw.shape[0], ww.shape[0], ww.shape[1]
    chunk = max(1, _CHUNK_BYTES // (8 * rows * words))
    out = np.empty((batch, rows), dtype=np.int64)
    for start in range(0, batch, chunk):
        xnor = ~(xw[start:start + chunk, None, :] ^ ww[None, :, :]) & mask
        agree = np.bitwise_count(xnor).sum(axis=2, dtype=np.int64)
        out[start:start + chunk] = 2 * agree - n
    return out


def exact_matmul(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Integer inputs times integer weights: ``acc[j] = sum_i x[i] * weights[j, i]``.

    Computed as a float64 matrix product for speed; that is exact because
    every product and partial sum is an integer below 2**53, which is
    checked rather than assumed.
    """
    bound = int(np.abs(x).max(initial=0)) * int(np.abs(weights).sum(axis=1).max())
    if bound >= 1 << 53:
        raise ValueError(f"dense: |accumulator| may reach {bound}, beyond exact float64 range")
    return (x.astype(np.float64) @ weights.astype(np.float64).T).astype(np.int64)


def multi_threshold(x: np.ndarray, node: MultiThreshold) -> np.ndarray:
    """``low + (thresholds reached)``, the ``MultiThreshold`` semantics; x of shape (rows, channels)."""
    x = x[:, :, None]
    reached = np.where(node.descending[:, None], x <= node.thresholds, x >= node.thresholds)
    return node.low + reached.sum(axis=2, dtype=np.int64)


def requantize(x: np.ndarray, node: Requantize) -> np.ndarray:
    """``clamp((x + bias + r) >> shift, lo, hi)``, the ``Requantize`` semantics."""
    shifted = (x + node.bias + node.rounding) >> node.shift   # numpy's >> floors, like Verilog's >>>
    return np.clip(shifted, node.low, node.high)
