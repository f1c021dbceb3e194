"""How a matrix-vector unit stores its weights and turns one lane's inputs into a sum.

A weight format gives every weight a non-negative integer code of
``code_width`` bits (what the weight ROM holds) and builds the hardware sum
of ``simd`` inputs times their weights from those codes. Codes are either
signals (read from ROM) or Python ints (constant weights of a fully parallel
unit, where the format builds plain wiring instead of muxes).
"""
import numpy as np
from amaranth.hdl import Const, Mux, Value

from ..ir import Bipolar, ElementType, PowerOfTwo
from .adder_tree import adder_tree
from .barrel_shifter import barrel_shift_left


class BinaryWeights:
    """±1 weights, one bit each: 1 means +1. No multiplier: XNOR for bipolar
    inputs, add or subtract for integer ones."""

    code_width = 1

    def __init__(self, bits: np.ndarray):
        self.codes = np.asarray(bits, dtype=np.int64)

    def zero_code_sum(self, count: int, in_type: ElementType) -> int:
        """What ``count`` all-zero-bit inputs sum to against code 0 (weight -1):
        -1 · -1 each for bipolar inputs, nothing for the integer 0."""
        return count if isinstance(in_type, Bipolar) else 0

    def lane_sum(self, inputs: list[Value], codes: list, in_type: ElementType) -> Value:
        if isinstance(in_type, Bipolar):
            # Each agreement counts +1, each disagreement -1: 2 * agreements - simd.
            agree = [~(x ^ c) if isinstance(c, Value) else (x if c else ~x)
                     for x, c in zip(inputs, codes)]
            return (adder_tree(agree) << 1) - Const(len(agree))
        return adder_tree([Mux(c, x, -x) if isinstance(c, Value) else (x if c else -x)
                           for x, c in zip(inputs, codes)])


class ShiftWeights:
    """Power-of-two weights ``sign * 2**exponent``, sign in {-1, 0, +1}.

    Code bit 0 says the weight is non-zero, bit 1 that it is negative, and
    the bits above hold the shift ``exponent - min_exponent``. In hardware a
    weight is a barrel shift of the input, then a conditional negate or zero:
    no multiplier.
    """

    def __init__(self, signs: np.ndarray, exponents: np.ndarray, weight_type: PowerOfTwo):
        signs = np.asarray(signs, dtype=np.int64)
        shifts = np.asarray(exponents, dtype=np.int64) - weight_type.min_exponent
        self._max_shift = weight_type.max_shift
        self.code_width = 2 + weight_type.shift_bits
        self.codes = (signs != 0) | (signs < 0) << 1 | np.where(signs != 0, shifts, 0) << 2

    def zero_code_sum(self, count: int, in_type: ElementType) -> int:
        """Code 0 is the weight 0, whatever it meets."""
        return 0

    def lane_sum(self, inputs: list[Value], codes: list, in_type: ElementType) -> Value:
        terms = []
        for x, code in zip(inputs, codes):
            if isinstance(code, Value):
                shifted = barrel_shift_left(x, code[2:], self._max_shift)
                terms.append(Mux(code[0], Mux(code[1], -shifted, shifted), 0))
            elif code & 1:
                shifted = x << (code >> 2)   # a constant shift is wiring
                terms.append(-shifted if code & 2 else shifted)
        return adder_tree(terms)
