"""A log-depth barrel shifter: the multiplier of a shift network."""
from amaranth.hdl import Mux, Value


def barrel_shift_left(value: Value, amount: Value, max_shift: int) -> Value:
    """``value << amount`` for ``0 <= amount <= max_shift``, one mux stage per bit of ``amount``.

    Stage ``k`` shifts by ``2**k`` or passes through, so the depth is
    ``len(amount)`` muxes whatever the shift. The result keeps the sign of
    ``value`` and is ``max_shift`` bits wider; larger amounts are not
    supported (their high bits are cut off).
    """
    value = Value.cast(value)
    shape = value.shape()
    width = shape.width + max_shift
    for k in range(len(amount)):
        value = Mux(amount[k], value << (1 << k), value)
    result = value[:width]
    return result.as_signed() if shape.signed else result

