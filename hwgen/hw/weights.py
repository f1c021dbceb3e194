"""How a matrix-vector unit stores its weights and turns one lane's inputs into a sum.

A weight format gives every weight a non-negative integer code of
``code_width`` bits (what the weight ROM holds) and builds the hardware sum
of ``simd`` inputs times their weights from those codes. Codes are either
signals (read from ROM) or Python ints (constant weights of a fully parallel
unit, where the format builds plain wiring instead of muxes).

A lane's sum is ``finish(sum of terms, sum of common terms)``: ``terms``
gives a lane's ``term_count`` terms (from the beat's inputs and the common
terms), which the matrix-vector unit adds in a pipelined tree, and
``common_terms`` (or None) one more tree per beat that every lane shares.
``term_levels`` says how many adder levels of logic a term costs, so that
the tree knows where its first register goes.

The last registers beside the lanes (``operand_stages``) hold each code as an
``operand``: the code itself, or what a multiplier takes (``ShiftWeights``
decoded, after ``decode_stages`` registers of the code), so that a
MULT18X18D's inputs come straight from flip-flops, which ``hwgen synth``
moves into the block (:mod:`~hwgen.netlist_passes`).
"""
import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Value, signed

from ..ir import Bipolar, ElementType, PowerOfTwo
from .barrel_shifter import barrel_shift_left
from .constant_product import signed_digits
from .cost import Resources, adder_luts
from .pipeline import LEVELS_PER_STAGE, register


class WeightFormat:
    """What every format shares: the register beside the lanes holds the codes as they are."""

    code_width: int

    @property
    def operand_width(self) -> int:
        """Bits of one ``operand``."""
        return self.code_width

    def operand(self, code: Value) -> Value:
        """What the register beside the lanes holds for a code read from ROM."""
        return code

    @property
    def decode_stages(self) -> int:
        """Registers a code takes beside the lanes before its ``operand`` is made."""
        return 0

    @property
    def operand_stages(self) -> int:
        """Registers that hold each ``operand`` beside the lanes, one after another."""
        return 1

    def product_stages(self, in_type: ElementType, constant: bool) -> int:
        """Registers inside a lane's terms (``staged_terms``), before the adder tree's own."""
        return 0

    def staged_terms(self, m: Module, inputs: list[Value], codes: list, in_type: ElementType,
                     common: list[Value] | None, name: str) -> list[Value]:
        """``terms``, registered ``product_stages`` times on the way."""
        terms = self.terms(inputs, codes, in_type, common)
        for stage in range(self.product_stages(in_type, not any(isinstance(c, Value) for c in codes))):
            terms = register(m, terms, f"{name}{stage}_", reset_less=True)
        return terms

    def finish(self, total: Value, common: Value | None) -> Value:
        """A lane's contribution to its accumulator from the sum of its terms for one beat."""
        return total

    def finish_stages(self, in_type: ElementType) -> int:
        """Registers between ``finish`` and the accumulator: one where ``finish`` adds,
        for one adder a stage (``LEVELS_PER_STAGE``)."""
        return 0

    def beat_offset(self, count: int, in_type: ElementType) -> int:
        """What each beat of ``count`` inputs adds on top of its ``finish``: a constant,
        so the accumulator starts with it, once for all beats, and ``finish`` needs no adder."""
        return 0


class BinaryWeights(WeightFormat):
    """±1 weights, one bit each: 1 means +1. No multiplier.

    Bipolar inputs: XNOR, then a popcount. Integer inputs: ``Σ w·x = 2·Σ_{w=+1} x − Σ x``,
    so a lane needs no negation, only ``Σ_{w=+1} x``, and the sum of all
    inputs is built once for all lanes. That tree's first level, the pair
    sums ``x0 + x1``, is shared too: a lane's term for a pair picks 0, x0,
    x1 or x0 + x1 by its two weight bits (two LUT4 per bit), where gating
    each input and adding the pair in every lane took an AND per bit and a
    carry chain (BENCHMARKS.md).
    """

    code_width = 1

    def __init__(self, bits: np.ndarray):
        self.codes = np.asarray(bits, dtype=np.int64)

    def zero_code_sum(self, count: int, in_type: ElementType) -> int:
        """What ``count`` all-zero-bit inputs sum to against code 0 (weight -1):
        -1 · -1 each for bipolar inputs, nothing for the integer 0."""
        return count if isinstance(in_type, Bipolar) else 0

    def term_count(self, simd: int, in_type: ElementType) -> int:
        """Terms per lane: one per input, or per pair of integer inputs."""
        return simd if isinstance(in_type, Bipolar) else -(-simd // 2)

    def term_levels(self, in_type: ElementType, constant: bool) -> int:
        # An XNOR is one LUT: it shares a stage with the first adder (the two merge
        # into one LUT per sum bit). A pair's pick comes after the pair's sum.
        return 0 if isinstance(in_type, Bipolar) else 1

    def terms(self, inputs: list[Value], codes: list, in_type: ElementType,
              common: list[Value] | None) -> list[Value]:
        if isinstance(in_type, Bipolar):
            return [~(x ^ c) if isinstance(c, Value) else (x if c else ~x)
                    for x, c in zip(inputs, codes)]
        return [_pick(inputs[k:k + 2], codes[k:k + 2], pair_sum)
                for k, pair_sum in zip(range(0, len(inputs), 2), common)]

    def has_common_terms(self, in_type: ElementType) -> bool:
        return not isinstance(in_type, Bipolar)

    def common_terms(self, inputs: list[Value], in_type: ElementType) -> list[Value] | None:
        """The inputs summed in pairs (the last one alone where they are odd in number)."""
        if not self.has_common_terms(in_type):
            return None
        return [inputs[k] + inputs[k + 1] if k + 1 < len(inputs) else inputs[k]
                for k in range(0, len(inputs), 2)]

    def registered_common_terms(self, m: Module, inputs: list[Value], registered_inputs: list[Value],
                                in_type: ElementType, name: str) -> list[Value]:
        """``common_terms(inputs)`` in registers beside ``registered_inputs`` (the inputs a
        register later), but for bit 0 of each pair's sum, ``x0 ^ x1``, made from the
        registered inputs: so it merges into the pick's LUT4, where a registered bit 0 made
        that bit of every pick a LUT5 (digits-bnn's fc0: 128 LUT4 more)."""
        pairs = register(m, self.common_terms(inputs, in_type), name, reset_less=True)
        terms = []
        for k, pair in zip(range(0, len(inputs), 2), pairs):
            if k + 1 < len(inputs):
                low = Cat(registered_inputs[k][0] ^ registered_inputs[k + 1][0], pair[1:])
                pair = low.as_signed() if pair.shape().signed else low
            terms.append(pair)
        return terms

    def term_cost(self, in_type: ElementType, codes: np.ndarray, simd: int) -> tuple[Resources, int]:
        """(resources of all terms, bits per term) for ``codes`` of shape (words, lanes * simd).
        An XNOR folds into the first adder's LUTs. A pick between two inputs and
        their sum is two LUT4 per bit, between one input and zero one, and
        nothing where its weight bits are the same in every word (the pair
        sums: ``common_cost``)."""
        if isinstance(in_type, Bipolar):
            return Resources(), 1
        width = in_type.width + 1
        varies = _varies(codes).reshape(-1, simd)
        pairs = simd // 2
        paired = varies[:, :2 * pairs].reshape(len(varies), pairs, 2).sum(axis=2)
        picks = int(np.where(paired == 2, 2 * width, paired * width).sum()) + int(varies[:, 2 * pairs:].sum()) * width
        return Resources(lut4=picks), width

    def common_cost(self, in_type: ElementType, simd: int) -> Resources:
        """The pair sums, built once for every copy of the beat."""
        if isinstance(in_type, Bipolar):
            return Resources()
        return Resources(lut4=simd // 2 * adder_luts(in_type.width + 1))

    def finish(self, total: Value, common: Value | None) -> Value:
        # Bipolar: each agreement counts +1, each disagreement -1: 2 * agreements - count,
        # the count in ``beat_offset``. Integer: 2 * the +1 inputs' sum - all inputs' sum.
        return total << 1 if common is None else (total << 1) - common

    def finish_stages(self, in_type: ElementType) -> int:
        # The subtraction and the accumulator's add in one stage were the 75k-images/s
        # mnist-mlp-bnn's worst path (7.66 ns, two carry chains).
        return int(self.has_common_terms(in_type))

    def beat_offset(self, count: int, in_type: ElementType) -> int:
        return -count if isinstance(in_type, Bipolar) else 0


class ShiftWeights(WeightFormat):
    """Power-of-two weights ``sign * 2**exponent``, sign in {-1, 0, +1}.

    Code bit 0 says the weight is negative; the bits above, the field, hold
    the shift ``exponent - min_exponent`` XOR ``Z = max_shift + 1``, and a
    zero weight is code 0. Z is the first shift out of range, so a shift's
    field is never 0, and the weight is non-zero where any of the field's
    bits under Z's ones is set (one bit where Z is a power of two); the
    XOR is inverters, which the shifter's LUTs absorb. A DeepShift weight of
    ``b`` bits (``2**(b-1) - 1`` exponents, two signs and zero) takes ``b``
    bits, where a separate non-zero bit would take ``b + 1``.

    In hardware a weight is a barrel shift of the input, then a conditional
    negate or zero: no multiplier. Or, ``multiplied``, the code is registered
    beside the lanes, then decoded into the integer ``sign * 2**shift`` (a few
    LUTs a bit) in a register of its own, and a MULT18X18D multiplies: the ROM
    still holds the short code, not the integer.
    """

    def __init__(self, signs: np.ndarray, exponents: np.ndarray, weight_type: PowerOfTwo,
                 multiplied: bool = False):
        signs = np.asarray(signs, dtype=np.int64)
        shifts = np.asarray(exponents, dtype=np.int64) - weight_type.min_exponent
        self._max_shift = weight_type.max_shift
        self._zero_shift = self._max_shift + 1
        self.code_width = 1 + self._zero_shift.bit_length()
        self.codes = (signs < 0) | np.where(signs != 0, shifts ^ self._zero_shift, 0) << 1
        self.multiplied = multiplied

    def _fields(self, code):
        """(non-zero, negative, shift) of a code: a signal, an int or an array of ints.
        A signal's shift keeps the bits that a shift in range uses: one more would be
        one more stage of every barrel shifter."""
        if isinstance(code, Value):
            field = code[1:]
            return ((field & self._zero_shift).any(), code[0],
                    (field ^ self._zero_shift)[:max(1, self._max_shift.bit_length())])
        field = code >> 1
        return (field & self._zero_shift) != 0, code & 1, field ^ self._zero_shift

    def product_stages(self, in_type: ElementType, constant: bool) -> int:
        # A product leaves the MULT18X18D through the block's own output register, then
        # into one in the fabric: a route, then the adder. From the block's register
        # straight into the adder was digits-shift's worst path (10.4 ns, 8.0 routing).
        # A barrel lane registers its shift before the negate: shift, negate and the
        # first tree register in one cycle were 9.6 ns (digits-shift, all lanes barrels).
        return 1 if self.multiplied or not constant else 0

    def staged_terms(self, m: Module, inputs: list[Value], codes: list, in_type: ElementType,
                     common: None, name: str) -> list[Value]:
        if self.multiplied or not isinstance(codes[0], Value):
            return super().staged_terms(m, inputs, codes, in_type, common, name)
        fields = [self._fields(code) for code in codes]
        shifted = register(m, [barrel_shift_left(x, shift, self._max_shift) for x, (_, _, shift) in zip(inputs, fields)],
                           f"{name}shifted", reset_less=True)
        signs = register(m, [Cat(nonzero, negative) for nonzero, negative, _ in fields],
                         f"{name}sign", reset_less=True)
        return [Mux(sign[0], Mux(sign[1], -value, value), 0) for value, sign in zip(shifted, signs)]

    @property
    def _weight_width(self) -> int:
        """Bits of a decoded weight, signed: ``-2**max_shift`` .. ``2**max_shift``."""
        return self._max_shift + 2

    @property
    def operand_width(self) -> int:
        return self._weight_width if self.multiplied else self.code_width

    def operand(self, code: Value) -> Value:
        return self._decoded(code).as_unsigned() if self.multiplied else code

    @property
    def decode_stages(self) -> int:
        # The code from the block RAM rows is registered before the decode, the operand
        # after it in the MULT18X18D: a route each, not both around the decode in one cycle.
        return 1 if self.multiplied else 0

    @property
    def operand_stages(self) -> int:
        # The last operand register becomes the MULT18X18D's input register; the one before
        # stays in the fabric, so that the decode and the route into the DSP row take a
        # cycle each (the two in one were digits-shift's worst path: 8.82 ns, 7.74 routing).
        return 2 if self.multiplied else 1

    def _decoded(self, code: Value | int) -> Value:
        """The weight ``sign * 2**shift`` of ``code`` as a signed integer. ``-2**s`` is
        all ones from bit ``s`` up, so each bit is a function of the code alone."""
        width = self._weight_width
        nonzero, negative, shift = self._fields(code)
        if not isinstance(code, Value):
            return Const((-1 if negative else 1) << shift if nonzero else 0, signed(width))
        # Zero as an AND, not a multiplexer to 0, which Yosys would make a synchronous
        # reset of the flip-flops after it, each bit's its own (netlist_passes.py).
        positive, negative_weight = Const(1, width) << shift, Const(-1, signed(width)) << shift
        return (Mux(negative, negative_weight[:width], positive[:width]) & nonzero.replicate(width)).as_signed()

    def zero_code_sum(self, count: int, in_type: ElementType) -> int:
        """Code 0 is the weight 0, whatever it meets."""
        return 0

    def term_levels(self, in_type: ElementType, constant: bool) -> int:
        # A barrel shifter's mux stages and a negate, or a multiplier: register before any adder.
        return LEVELS_PER_STAGE if self.multiplied or not constant else 1

    def has_common_terms(self, in_type: ElementType) -> bool:
        return False

    def common_terms(self, inputs: list[Value], in_type: ElementType) -> None:
        return None

    def common_cost(self, in_type: ElementType, simd: int) -> Resources:
        return Resources()

    def term_cost(self, in_type: ElementType, codes: np.ndarray, simd: int) -> tuple[Resources, int]:
        """(resources of all terms, bits per term) for ``codes`` of shape (words, terms).
        A barrel shifter's output bit picks among the input bits that can reach
        it, ``in_width`` times the shifts the code can take in all, at about
        3 LUT4 per 5 candidates (fitted to Yosys: ECP5 slices widen LUTs into
        muxes); then a conditional negate.
        Code bits that are the same in every word are constants: a constant
        shift is wiring, a constant zero weight no logic at all.
        ``multiplied``: a product per term (see ``product_cost``), and two LUT4 a
        bit to decode a code that varies, whose register beside the lanes then holds
        the wider operand."""
        nonzero, negative, shift = self._fields(codes)
        if self.multiplied:
            used = nonzero.any(axis=0) if len(codes) else np.zeros(0, dtype=bool)
            decoded = int((used & _varies(codes)).sum())
            decode = Resources(lut4=2 * self._weight_width * decoded,
                               ff=(self._weight_width - self.code_width) * decoded * self.operand_stages)
            cost, width = product_cost(used, in_type, self._weight_width)
            return cost + decode, width
        width = in_type.width + self._max_shift + 1
        shift = np.where(nonzero, shift, 0)   # a zero weight's shift is never used
        shift_bits = sum(_varies(shift >> k & 1) for k in range(self._max_shift.bit_length()))
        shifts = np.minimum(1 << shift_bits, self._max_shift + 1)
        barrel = np.where(shift_bits > 0, in_type.width * shifts * 3 // 5, 0)
        negate = np.where(_varies(negative) | (negative.max(axis=0) == 1), adder_luts(width), 0)
        luts = np.where(nonzero.max(axis=0), barrel + negate, 0)
        return Resources(lut4=int(luts.sum())), width

    def term_count(self, simd: int, in_type: ElementType) -> int:
        return simd

    def terms(self, inputs: list[Value], codes: list, in_type: ElementType, common: None) -> list[Value]:
        if self.multiplied:   # operands (decoded), or constant codes
            weights = [c.as_signed() if isinstance(c, Value) else self._decoded(c) for c in codes]
            return products(inputs, weights, in_type)
        terms = []
        for x, code in zip(inputs, codes):
            nonzero, negative, shift = self._fields(code)
            if isinstance(code, Value):
                shifted = barrel_shift_left(x, shift, self._max_shift)
                terms.append(Mux(nonzero, Mux(negative, -shifted, shifted), 0))
            elif nonzero:
                shifted = x << shift   # a constant shift is wiring
                terms.append(-shifted if negative else shifted)
            else:
                terms.append(Const(0, 1))
        return terms


class TernaryWeights(WeightFormat):
    """Ternary weights -1, 0, +1 (TWN): code bit 0 says the weight is non-zero, bit 1
    that it is negative. A lane adds, subtracts or skips each input; no multiplier.

    Bipolar inputs: the product of a ±1 input (bit ``b``) and a non-zero weight is
    +1 where ``b`` differs from the sign bit, so a term is the 2-bit signed value
    ``(nonzero & (b == negative), nonzero)``: one LUT, merged with the first adder.
    Integer inputs: ``x``, ``-x`` or 0 (a negate, then a pick).
    """

    code_width = 2

    def __init__(self, values: np.ndarray):
        values = np.asarray(values, dtype=np.int64)
        if values.size and (values.min() < -1 or values.max() > 1):
            raise ValueError("ternary weights must be -1, 0 or +1")
        self.codes = (values != 0) | (values < 0) << 1

    def zero_code_sum(self, count: int, in_type: ElementType) -> int:
        return 0

    def term_count(self, simd: int, in_type: ElementType) -> int:
        return simd

    def term_levels(self, in_type: ElementType, constant: bool) -> int:
        return 0 if isinstance(in_type, Bipolar) else 1

    def has_common_terms(self, in_type: ElementType) -> bool:
        return False

    def common_terms(self, inputs: list[Value], in_type: ElementType) -> None:
        return None

    def common_cost(self, in_type: ElementType, simd: int) -> Resources:
        return Resources()

    def terms(self, inputs: list[Value], codes: list, in_type: ElementType, common: None) -> list[Value]:
        terms = []
        for x, code in zip(inputs, codes):
            if isinstance(code, Value):
                nonzero, negative = code[0], code[1]
                terms.append(Cat(nonzero, nonzero & ~(x ^ negative)).as_signed() if isinstance(in_type, Bipolar)
                             else Mux(nonzero, Mux(negative, -x, x), 0))
            elif not code & 1:
                terms.append(Const(0, 1))
            elif isinstance(in_type, Bipolar):
                terms.append(Cat(Const(1, 1), x if code & 2 else ~x).as_signed())
            else:
                terms.append(-x if code & 2 else x)
        return terms

    def term_cost(self, in_type: ElementType, codes: np.ndarray, simd: int) -> tuple[Resources, int]:
        """(resources of all terms, bits per term) for ``codes`` of shape (words, lanes * simd).
        Bipolar: a LUT per term whose code varies. Integer: a pick of x, -x or 0 (a LUT4
        a bit, nothing where the code never varies), and a negate of each input that
        some lane's weight can make negative: Yosys builds ``-x`` once for all lanes
        (mnist-lenet-ternary's fc layers cost 1.4-1.5x Yosys's count while the estimate
        had a negate per lane). A term always 0 costs nothing."""
        nonzero, negative = codes & 1, codes >> 1 & 1
        used = nonzero.max(axis=0) == 1 if len(codes) else np.zeros(codes.shape[1], dtype=bool)
        if isinstance(in_type, Bipolar):
            return Resources(lut4=int((used & _varies(codes)).sum())), 2
        width = in_type.width + 1
        picks = int((used & _varies(codes)).sum()) * width
        negated = (used & (negative.max(axis=0) == 1)).reshape(-1, simd).any(axis=0) if len(codes) else []
        return Resources(lut4=picks + int(np.sum(negated)) * adder_luts(width)), width


class IntegerWeights(WeightFormat):
    """Signed integer weights of ``bits`` bits, multiplied: where the unit is folded,
    Yosys maps each ``x * w`` to a MULT18X18D (one per term while both fit 18
    bits). (A shift layer on multipliers keeps its codes: ``ShiftWeights``
    with ``multiplied``.) A bipolar input needs no multiplier: its term is
    ``w`` or ``-w``.

    With ``shift_add`` (constant weights, a fully parallel unit on integer
    inputs) there is no multiplier either: each weight is written in canonical
    signed digits (the non-adjacent form: at most ``bits / 2 + 1`` non-zero
    digits, none adjacent) and each digit ``±2**k`` is a term ``±(x << k)`` of
    the lane's adder tree; lanes with fewer digits are padded with zeros.
    """

    def __init__(self, values: np.ndarray, bits: int, shift_add: bool = False):
        values = np.asarray(values, dtype=np.int64)
        if values.size and (values.min() < -(1 << bits - 1) or values.max() >= 1 << bits - 1):
            raise ValueError(f"weights must fit {bits} signed bits")
        self.code_width = bits
        self.codes = values & ((1 << bits) - 1)   # two's complement
        self.shift_add = shift_add
        self._lane_digits = [sum(len(signed_digits(int(w))) for w in row) for row in values] if shift_add else []

    def zero_code_sum(self, count: int, in_type: ElementType) -> int:
        return 0

    def _adds(self, in_type: ElementType) -> bool:
        return self.shift_add and not isinstance(in_type, Bipolar)

    def term_levels(self, in_type: ElementType, constant: bool) -> int:
        # A multiplier, or a negate, is deeper than an adder level: register before the tree.
        return LEVELS_PER_STAGE

    @property
    def operand_stages(self) -> int:
        # As ShiftWeights': the last becomes the MULT18X18D's input register. With one,
        # from the register after the block RAM rows to the DSP rows was vertebral-mlp's
        # worst path (9.77 ns, all routing); with two, from the fabric one to a DSP on the
        # die's far side (8.28 ns): two in the fabric split that route. (Bipolar inputs
        # pick instead, registers late.)
        return 3

    def product_stages(self, in_type: ElementType, constant: bool) -> int:
        # As ShiftWeights' on multipliers: the MULT18X18D's output register, then one in the
        # fabric. From the block's register straight into the adder was vertebral-mlp's
        # worst path (8.81 ns, 6.80 routing).
        return 0 if isinstance(in_type, Bipolar) or self._adds(in_type) else 1

    def has_common_terms(self, in_type: ElementType) -> bool:
        return False

    def common_terms(self, inputs: list[Value], in_type: ElementType) -> None:
        return None

    def common_cost(self, in_type: ElementType, simd: int) -> Resources:
        return Resources()

    def term_cost(self, in_type: ElementType, codes: np.ndarray, simd: int) -> tuple[Resources, int]:
        """(resources of all terms, bits per term) for ``codes`` of shape (words, terms):
        a product per term unless its code is 0 in every word (``product_cost``), or,
        shift-adds, a negate per negative digit (the adds are the lane's tree)."""
        used = (codes != 0).any(axis=0) if len(codes) else np.zeros(0, dtype=bool)
        if self._adds(in_type):
            width = in_type.width + self.code_width
            negative = sum(d < 0 for c in codes.reshape(-1)
                           for _, d in signed_digits(_to_signed(int(c), self.code_width)))
            return Resources(lut4=negative * adder_luts(width)), width
        return product_cost(used, in_type, self.code_width)

    def term_count(self, simd: int, in_type: ElementType) -> int:
        return max(1, *self._lane_digits) if self._adds(in_type) else simd

    def terms(self, inputs: list[Value], codes: list, in_type: ElementType, common: None) -> list[Value]:
        bits = self.code_width
        if self._adds(in_type):
            digits = [(x << k) if d > 0 else -(x << k)
                      for x, c in zip(inputs, codes) for k, d in signed_digits(_to_signed(c, bits))]
            return digits + [Const(0, 1)] * (self.term_count(len(inputs), in_type) - len(digits))
        weights = [c.as_signed() if isinstance(c, Value) else Const(_to_signed(c, bits), signed(bits))
                   for c in codes]
        return products(inputs, weights, in_type)


def products(inputs: list[Value], weights: list[Value], in_type: ElementType) -> list[Value]:
    """Each input times its signed weight: a multiplier, or for a ±1 input a pick of
    ``w`` or ``-w``."""
    if isinstance(in_type, Bipolar):
        return [Mux(x, w, -w) for x, w in zip(inputs, weights)]
    return [x * w for x, w in zip(inputs, weights)]


def product_cost(used: np.ndarray, in_type: ElementType, weight_width: int) -> tuple[Resources, int]:
    """(resources, bits per term) of ``products`` for the terms ``used`` marks: a
    MULT18X18D per term while both operands fit 18 bits (Yosys maps a multiply by a
    constant to one too: on digits-shift's fc3, 29 lanes whose ROM bits never change
    took one each); for bipolar inputs a negate and a pick."""
    if isinstance(in_type, Bipolar):
        width = weight_width + 1
        return Resources(lut4=int(used.sum()) * (adder_luts(width) + width)), width
    per_term = -(-in_type.width // 18) * -(-weight_width // 18)
    return Resources(mult18=int(used.sum()) * per_term), in_type.width + weight_width


def _pick(inputs: list[Value], codes: list, pair_sum: Value) -> Value:
    """The sum of the ``inputs`` (one or two) whose weight bit is 1, given their sum."""
    if len(inputs) == 1:
        return _gate(inputs[0], codes[0])
    (x0, x1), (w0, w1) = inputs, codes
    if isinstance(w0, Value) or isinstance(w1, Value):
        return Mux(w0, Mux(w1, pair_sum, x0), Mux(w1, x1, 0))
    return {(0, 0): Const(0, 1), (1, 0): x0, (0, 1): x1, (1, 1): pair_sum}[w0, w1]


def _gate(x: Value, code) -> Value:
    return Mux(code, x, 0) if isinstance(code, Value) else (x if code else Const(0, 1))


def _varies(codes: np.ndarray) -> np.ndarray:
    """Per column of ``codes`` (words, terms): whether it differs between words."""
    return codes.min(axis=0) != codes.max(axis=0)


def _to_signed(code: int, bits: int) -> int:
    """The two's complement ``code`` of ``bits`` bits as a Python int."""
    return code - (1 << bits) if code >> (bits - 1) else code
