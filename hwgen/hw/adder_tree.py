"""A balanced adder tree: log-depth sums for popcounts and lane reductions."""
from amaranth.hdl import Const, Value


def adder_tree(values: list[Value]) -> Value:
    """The sum of ``values``; each level adds neighbours, widening by one bit."""
    if not values:
        return Const(0, 1)
    level = list(values)
    while len(level) > 1:
        pairs = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        level = pairs + level[len(level) - len(level) % 2:]
    return level[0]
