"""Element types of the integer graph.

Every tensor in the graph holds integers. A type knows the integer range it
stands for and how many bits one element takes in hardware.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Bipolar:
    """One bit per element: bit 1 stands for +1, bit 0 for -1. There is no 0."""

    @property
    def width(self) -> int:
        return 1

    @property
    def min(self) -> int:
        return -1

    @property
    def max(self) -> int:
        return 1

    @property
    def frac(self) -> int:
        return 0

    def to_json(self) -> dict:
        return {"kind": "bipolar"}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Integer:
    """An n-bit integer ``q``, two's complement when signed, standing for ``q * 2**-frac``.

    ``frac`` is the binary point: it only says how to read the integer
    (``frac == 0`` for plain integers). Every op computes on ``q`` exactly.
    """

    bits: int
    signed: bool
    frac: int = 0

    def __post_init__(self):
        if not _is_int(self.bits) or self.bits < 1:
            raise ValueError(f"Integer bits must be a positive integer, not {self.bits!r}")
        if not isinstance(self.signed, bool):
            raise ValueError(f"Integer signed must be a bool, not {self.signed!r}")
        if not _is_int(self.frac):
            raise ValueError(f"Integer frac must be an integer, not {self.frac!r}")

    @classmethod
    def for_range(cls, lo: int, hi: int, frac: int = 0) -> "Integer":
        """The narrowest type that holds every integer in [lo, hi]."""
        if lo > hi:
            raise ValueError(f"empty range [{lo}, {hi}]")
        if lo >= 0:
            return cls(max(1, int(hi).bit_length()), signed=False, frac=frac)
        bits = 1 + max((-int(lo) - 1).bit_length(), int(hi).bit_length())
        return cls(bits, signed=True, frac=frac)

    @property
    def width(self) -> int:
        return self.bits

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def to_json(self) -> dict:
        return {"kind": "int", "bits": self.bits, "signed": self.signed, "frac": self.frac}


@dataclass(frozen=True)
class PowerOfTwo:
    """A shift weight: ``sign * 2**exponent`` with sign in {-1, 0, +1} and
    ``min_exponent <= exponent <= max_exponent``.

    Hardware holds the exponent as the non-negative shift ``exponent -
    min_exponent`` (``hwgen.hw.weights.ShiftWeights`` gives the code).
    """

    min_exponent: int
    max_exponent: int

    def __post_init__(self):
        if not (_is_int(self.min_exponent) and _is_int(self.max_exponent)):
            raise ValueError(f"PowerOfTwo exponents must be integers, not "
                             f"{self.min_exponent!r} and {self.max_exponent!r}")
        if self.min_exponent > self.max_exponent:
            raise ValueError(f"PowerOfTwo: empty exponent range [{self.min_exponent}, {self.max_exponent}]")

    @property
    def max_shift(self) -> int:
        return self.max_exponent - self.min_exponent

    def to_json(self) -> dict:
        return {"kind": "pow2", "min_exponent": self.min_exponent, "max_exponent": self.max_exponent}


@dataclass(frozen=True)
class Ternary:
    """A ternary weight: -1, 0 or +1 (TWN's levels, the scale α folded away).

    Hardware holds it as a 2-bit code and adds, subtracts or skips: no multiplier.
    """

    @property
    def bits(self) -> int:
        return 2

    @property
    def min(self) -> int:
        return -1

    @property
    def max(self) -> int:
        return 1

    def to_json(self) -> dict:
        return {"kind": "ternary"}


ElementType = Bipolar | Integer
WeightType = Ternary | Integer   # the weights of an ``IntegerDense``


def type_from_json(data, where: str) -> ElementType | PowerOfTwo | Ternary:
    """Parse a type written by ``to_json``; ``where`` names the field in errors."""
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError(f"{where}: expected a type object with a 'kind', got {data!r}")
    if data["kind"] == "bipolar":
        return Bipolar()
    if data["kind"] == "ternary":
        return Ternary()
    try:
        if data["kind"] == "int":
            return Integer(data["bits"], data["signed"], data.get("frac", 0))
        if data["kind"] == "pow2":
            return PowerOfTwo(data["min_exponent"], data["max_exponent"])
    except KeyError as missing:
        raise ValueError(f"{where}: {data['kind']} type lacks field {missing}") from None
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    raise ValueError(f"{where}: unknown type kind {data['kind']!r} (expected 'bipolar', 'int', 'pow2' or 'ternary')")
