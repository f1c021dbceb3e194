"""Per-channel thresholds: signed accumulators in, bipolar bits out."""
import numpy as np
from amaranth.hdl import Module, Value

from .channel_unit import ChannelUnit
from .cost import Resources, carry_luts
from .pipeline import less_than


class ThresholdUnit(ChannelUnit):
    """Compares ``per_beat`` accumulator lanes per beat with their channels' thresholds.

    Output bit ``p`` is 1 (+1) when ``acc >= t`` for an ascending channel or
    ``acc <= t`` for a descending one, the IR's ``Threshold`` semantics.

    Parameters
    ----------
    thresholds : numpy int array, shape ``(channels,)``
    descending : numpy bool array, shape ``(channels,)``
    acc_width : int
        Width of the signed input lanes.
    per_beat : int
        Lanes per beat; divides ``channels``.
    """

    def __init__(self, thresholds: np.ndarray, descending: np.ndarray, *, acc_width: int, per_beat: int):
        self._thresholds = np.asarray(thresholds, dtype=np.int64)
        self._descending = np.asarray(descending, dtype=bool)
        super().__init__(channels=len(self._thresholds), per_beat=per_beat, in_width=acc_width, out_width=1)

    def tables(self):
        # One compare serves both directions: acc <= t is acc < t + 1. Thresholds may
        # lie one past the accumulator's range (a constant channel), and then one more.
        bounds = np.where(self._descending, self._thresholds + 1, self._thresholds)
        return [(bounds, self._in_width + 2), (self._descending, 1)]

    def lane_cost(self) -> Resources:
        return Resources(lut4=carry_luts(self._in_width + 2) + 1)

    def lane(self, m: Module, value: Value, entries: list[Value], name: str) -> Value:
        bound, descending = entries
        return less_than(value, bound.as_signed()) ^ ~descending
