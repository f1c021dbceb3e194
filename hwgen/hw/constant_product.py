"""Products with constants as shifts and adds, never a multiplier block.

Yosys maps ``x * k`` to a MULT18X18D for any constant ``k`` that is not a power
of two. In address arithmetic (a row number times a row's length) that put a
multiplier, about 4 ns of logic, into a single-cycle path, and took blocks the
estimate did not count: mnist-lenet-ternary's sliding windows used 8.
"""
from amaranth.hdl import Const, Value


def signed_digits(value: int) -> list[tuple[int, int]]:
    """``value`` in canonical signed digits (the non-adjacent form): (k, ±1) pairs with
    ``value == sum(d << k)``, the fewest non-zero digits of any signed-digit form."""
    digits, k = [], 0
    while value:
        if value & 1:
            digit = 2 - (value & 3)   # +1 where value ≡ 1 (mod 4), -1 where ≡ 3
            digits.append((k, digit))
            value -= digit
        value >>= 1
        k += 1
    return digits


def times(value: Value, constant: int) -> Value:
    """``value * constant`` as the sum of ``value`` shifted by each of the constant's
    signed digits: one adder fewer than it has non-zero digits."""
    terms = [value << k if d > 0 else -(value << k) for k, d in signed_digits(constant)]
    if not terms:
        return Const(0, 1)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
