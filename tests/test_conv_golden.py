"""Convolution (window + dense) and max-pool in the golden model against naive loops."""
import numpy as np
import pytest

from hwgen import golden
from hwgen.ir import (Argmax, Bipolar, Dense, Flatten, Graph, Input, Integer, MaxPool, PowerOfTwo, ShiftDense,
                      Threshold, Window)


def naive_conv(image, weights, kernel, stride, padding, pad_value):
    """image (H, W, C) of integer values, weights (O, K*K*C) of integer values, by loops."""
    height, width, channels = image.shape
    out_h = (height + 2 * padding - kernel) // stride + 1
    out_w = (width + 2 * padding - kernel) // stride + 1
    out = np.zeros((out_h, out_w, len(weights)), dtype=np.int64)
    for oy in range(out_h):
        for ox in range(out_w):
            for o in range(len(weights)):
                total = 0
                for ky in range(kernel):
                    for kx in range(kernel):
                        for c in range(channels):
                            y, x = oy * stride - padding + ky, ox * stride - padding + kx
                            v = image[y, x, c] if 0 <= y < height and 0 <= x < width else pad_value
                            total += int(v) * int(weights[o, (ky * kernel + kx) * channels + c])
                out[oy, ox, o] = total
    return out


def naive_maxpool(image, kernel):
    height, width, channels = image.shape
    out = np.zeros((height // kernel, width // kernel, channels), dtype=np.int64)
    for y in range(height // kernel):
        for x in range(width // kernel):
            for c in range(channels):
                out[y, x, c] = max(image[y * kernel + dy, x * kernel + dx, c]
                                   for dy in range(kernel) for dx in range(kernel))
    return out


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((5, 7, 3), 3, 1, 1), ((6, 6, 2), 2, 2, 0), ((7, 5, 1), 3, 2, 2), ((4, 4, 5), 4, 1, 0), ((3, 3, 2), 1, 1, 0)])
@pytest.mark.parametrize("in_type", [Bipolar(), Integer(4, signed=False), Integer(3, signed=True)])
def test_binary_conv_matches_loops(shape, kernel, stride, padding, in_type):
    rng = np.random.default_rng(sum(shape) + kernel)
    size = int(np.prod(shape))
    out_channels = 4
    weights = rng.integers(0, 2, (out_channels, kernel * kernel * shape[2]))
    graph = Graph((Input("x", size, in_type, shape), Window("win", "x", kernel, stride, padding),
                   Dense("conv", "win", weights)))
    lo, hi = (0, 1) if isinstance(in_type, Bipolar) else (in_type.min, in_type.max)
    x = rng.integers(lo, hi + 1, (3, size))
    got = golden.run(graph, x)
    bipolar = isinstance(in_type, Bipolar)
    for row, result in zip(x, got):
        image = row.reshape(shape)
        values = 2 * image - 1 if bipolar else image
        expected = naive_conv(values, 2 * weights - 1, kernel, stride, padding, -1 if bipolar else 0)
        assert np.array_equal(result, expected.reshape(-1))
    assert graph.shapes["conv"] == expected.shape


def test_shift_conv_and_integer_maxpool_match_loops():
    rng = np.random.default_rng(5)
    shape = (6, 4, 3)
    signs = rng.integers(-1, 2, (5, 27))
    exponents = rng.integers(-2, 2, (5, 27))
    graph = Graph((Input("x", 72, Integer(4, signed=False), shape), Window("win", "x", 3, 1, 1),
                   ShiftDense("conv", "win", signs, exponents, PowerOfTwo(-2, 1)), MaxPool("pool", "conv", 2)))
    x = rng.integers(0, 16, (3, 72))
    values = golden.run_all(graph, x)
    for row, conv, pool in zip(x, values["conv"], values["pool"]):
        expected = naive_conv(row.reshape(shape), signs * 2 ** (exponents + 2), 3, 1, 1, 0)
        assert np.array_equal(conv, expected.reshape(-1))
        assert np.array_equal(pool, naive_maxpool(expected, 2).reshape(-1))


def test_bipolar_maxpool_is_or():
    graph = Graph((Input("x", 8, Bipolar(), (2, 2, 2)), MaxPool("pool", "x", 2)))
    x = np.array([[0, 0, 1, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 0, 0, 0]])
    assert golden.run(graph, x).tolist() == [[1, 0], [0, 1]]


def test_flatten_keeps_hwc_order_and_argmax_needs_a_vector():
    rng = np.random.default_rng(1)
    layers = (Input("x", 12, Integer(3, signed=False), (2, 3, 2)), Flatten("flat", "x"),
              Dense("fc", "flat", rng.integers(0, 2, (4, 12))), Argmax("argmax", "fc"))
    graph = Graph(layers)
    x = rng.integers(0, 8, (2, 12))
    assert np.array_equal(golden.run_all(graph, x)["flat"], x)
    with pytest.raises(ValueError, match="argmax takes a vector, but 'x' is a 2x3 image; flatten it first"):
        Graph((layers[0], Argmax("argmax", "x")))


@pytest.mark.parametrize("nodes, message", [
    ((Window("w", "x", 7, 1, 0),), "a 7x7 window with padding 0 does not fit a 4x6 image"),
    ((MaxPool("p", "x", 4),), "field 'kernel': 4 must divide the 4x6 image of 'x'"),
    ((Window("w", "x", 3, 1, 1), Dense("d", "w", np.ones((2, 5)))),
     "weights have 5 inputs per row, but 'w' gives 18 channels per pixel"),
    ((Threshold("t", "x", np.zeros(3), np.zeros(3, bool)),), "has 3 channels, but 'x' gives 2 channels per pixel"),
])
def test_invalid_image_graphs(nodes, message):
    with pytest.raises(ValueError, match=message):
        Graph((Input("x", 48, Integer(3, signed=True), (4, 6, 2)), *nodes))
