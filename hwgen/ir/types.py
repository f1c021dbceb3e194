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

    def to_json(self) -> dict:
        return {"kind": "bipolar"}


@dataclass(frozen=True)
class Integer:
    """An n-bit integer, two's complement when signed."""

    bits: int
    signed: bool

    def __post_init__(self):
        if not isinstance(self.bits, int) or isinstance(self.bits, bool) or self.bits < 1:
            raise ValueError(f"Integer bits must be a positive integer, not {self.bits!r}")
        if not isinstance(self.signed, bool):
            raise ValueError(f"Integer signed must be a bool, not {self.signed!r}")

    @classmethod
    def for_range(cls, lo: int, hi: int) -> "Integer":
        """The narrowest type that holds every integer in [lo, hi]."""
        if lo > hi:
            raise ValueError(f"empty range [{lo}, {hi}]")
        if lo >= 0:
            return cls(max(1, int(hi).bit_length()), signed=False)
        bits = 1 + max((-int(lo) - 1).bit_length(), int(hi).bit_length())
        return cls(bits, signed=True)

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
        return {"kind": "int", "bits": self.bits, "signed": self.signed}


ElementType = Bipolar | Integer


def type_from_json(data, where: str) -> ElementType:
    """Parse a type written by ``to_json``; ``where`` names the field in errors."""
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError(f"{where}: expected a type object with a 'kind', got {data!r}")
    if data["kind"] == "bipolar":
        return Bipolar()
    if data["kind"] == "int":
        try:
            return Integer(data["bits"], data["signed"])
        except KeyError as missing:
            raise ValueError(f"{where}: int type lacks field {missing}") from None
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    raise ValueError(f"{where}: unknown type kind {data['kind']!r} (expected 'bipolar' or 'int')")
