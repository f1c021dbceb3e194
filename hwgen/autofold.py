# amaranth: UnusedElaboratable=no
# (Candidate networks are built for their estimates and cycle counts, never elaborated.)
"""Auto-folding: PE and SIMD per layer for a target pace or a LUT budget (after FINN's SetFolding).

Every layer gets about the fewest lanes (PE x SIMD) that keep its busy
cycles per image at or under the target, so no layer is faster than the
slowest one needs: the fewest, or up to twice as many where the whole
design's estimate is lower for it (a narrow PE into the next layer's wide
SIMD that it does not divide costs the buffer between them a read port per
input beat a read overlaps). Only divisors
are used, so no lane computes padding. Designs are estimated by ``Network.resources``; a LUT budget is
met by searching the pace.
"""
from collections.abc import Callable
from dataclasses import dataclass

from .errors import HwgenError
from .folding import Folding, LayerFold
from .hw.cost import LFE5U_85F, Resources
from .hw.max_pool import MaxPoolUnit
from .hw.network import Network
from .hw.sliding_window import SlidingWindowUnit
from .ir import MATRIX_NODES, Graph, MaxPool, Window


@dataclass(frozen=True)
class FoldingChoice:
    folding: Folding
    cycles_per_image: int
    resources: Resources


# How many times a layer's fewest lanes the auto-folder also tries, for a cheaper design.
LANE_SLACK = 2
# The widest input stream the auto-folder gives a design (the output and control need pins too).
MAX_INPUT_BITS = 256


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _vectors_per_image(graph: Graph, node) -> int:
    """Vectors a matrix layer takes per image: one per output pixel of a convolution."""
    height, width, _ = graph.shapes[node.name]
    return height * width


def _stage_cycles(graph: Graph, stage, per_beat: int, whole_windows: bool) -> int:
    """Cycles per image of a max pool or sliding window fed ``per_beat`` elements a beat:
    their pace follows the beat width of the layer before them, not their own folding."""
    shape, in_type = graph.shapes[stage.input], graph.types[stage.input]
    if isinstance(stage, MaxPool):
        return MaxPoolUnit(in_type=in_type, shape=shape, kernel=stage.kernel, per_beat=per_beat).cycles_per_image
    return SlidingWindowUnit(element_width=in_type.width, shape=shape, kernel=stage.kernel, stride=stage.stride,
                             padding=stage.padding, in_per_beat=per_beat,
                             whole_windows=whole_windows).cycles_per_image


def _keeping_up(graph: Graph, node, folds: list[LayerFold], cycles: int) -> list[LayerFold]:
    """Those of a matrix layer's ``folds`` that let the windows and pools around it keep
    ``cycles`` per image: those after it (up to the next matrix layer; the graph is a
    chain) take its PE a beat, a window fed whole pixels at best giving whole windows; a
    window before it that needs whole windows a beat for the pace, even fed whole pixels,
    needs this layer's SIMD to take them."""
    index = graph.nodes.index(node)
    after = []
    for stage in graph.nodes[index + 1:]:
        if isinstance(stage, MATRIX_NODES):
            break
        if isinstance(stage, (MaxPool, Window)):
            after.append(stage)
    paced = {pe for pe in {fold.pe for fold in folds}
             if all(_stage_cycles(graph, stage, pe, True) <= cycles for stage in after)}
    before = graph.nodes[index - 1]
    whole = isinstance(before, Window) and _stage_cycles(graph, before, graph.shapes[before.input][2], False) > cycles
    return [fold for fold in folds if fold.pe in paced and (not whole or fold.simd >= node.in_features)]


def fold_for_pace(graph: Graph, cycles: int, logits: bool = False, shift_lanes: str = "auto",
                  block_rams: int = LFE5U_85F.dp16kd, built: dict | None = None,
                  matrix_units: dict | None = None, relay_stages: int = 0) -> FoldingChoice:
    """The cheapest folding found whose every layer is busy at most ``cycles`` per image,
    with its pace and estimate.

    Each layer starts at its fewest lanes; then, one layer (or the input width) at a
    time, any of its other foldings that meet the pace with at most
    ``LANE_SLACK`` times those lanes is taken where it makes the whole design
    cheaper: a layer's PE is the next buffer's write width, and a buffer written a
    few elements a beat and read many, not a multiple of them, needs a read port per
    input beat a read overlaps. ``built`` keeps
    the foldings estimated so far (their pace and estimate, not the networks, which
    are large), and ``matrix_units`` the matrix-vector units built so far (see
    ``Network``), for a search that asks again."""
    built = {} if built is None else built
    matrix_units = {} if matrix_units is None else matrix_units
    options = []
    for node in graph.nodes:
        if not isinstance(node, MATRIX_NODES):
            continue
        vectors = _vectors_per_image(graph, node)
        fast = sorted((pe * simd, -simd, pe, simd) for pe in _divisors(node.out_features)
                      for simd in _divisors(node.in_features)
                      if vectors * (node.out_features // pe) * (node.in_features // simd) <= cycles)
        if not fast:
            raise HwgenError(f"{node.name}: even fully parallel it needs {vectors} cycles per image, "
                             f"more than the {cycles} asked for")
        kept = set(_keeping_up(graph, node, [LayerFold(pe, simd) for _, _, pe, simd in fast], cycles))
        fast = [option for option in fast if LayerFold(*option[2:]) in kept]
        if not fast:
            raise HwgenError(f"{node.name}: at no folding do the windows and pools beside it keep up "
                             f"with {cycles} cycles per image")
        options.append([LayerFold(pe, simd) for lanes, _, pe, simd in fast if lanes <= LANE_SLACK * fast[0][0]])
    # A standalone design's stream ports are pins: the LFE5U-85F's CABGA381 has 365.
    per_beats = [d for d in _divisors(graph.input.image_shape[2])
                 if d * graph.input.dtype.width <= MAX_INPUT_BITS] or [1]

    def network(folds, per_beat) -> FoldingChoice:
        folding = Folding(tuple(folds), per_beat)
        if folding not in built:
            net = Network(graph, folding, logits=logits, shift_lanes=shift_lanes, block_rams=block_rams,
                          relay_stages=relay_stages, matrix_units=matrix_units)
            built[folding] = FoldingChoice(folding, net.cycles_per_image, net.resources)
        return built[folding]

    folds = [layer[0] for layer in options]
    fast = [net for net in (network(folds, per_beat) for per_beat in per_beats) if net.cycles_per_image <= cycles]
    if not fast:
        floor = min(network(folds, per_beat).cycles_per_image for per_beat in per_beats)
        raise HwgenError(f"the image stream needs at least {floor} cycles per image (input beats or "
                         f"sliding windows), more than the {cycles} asked for")
    best = min(fast, key=lambda net: net.resources.lut4)
    improved = True
    while improved:
        improved = False
        current = list(best.folding.layers)
        trials = [network(current[:k] + [fold] + current[k + 1:], best.folding.input_per_beat)
                  for k, layer in enumerate(options) for fold in layer if fold != current[k]]
        trials += [network(current, per_beat) for per_beat in per_beats]
        for trial in trials:
            if trial.cycles_per_image <= cycles and trial.resources.lut4 < best.resources.lut4:
                best, improved = trial, True
    return best


def choose(graph: Graph, *, target_cycles: int | None = None, max_luts: int | None = None,
           logits: bool = False, shift_lanes: str = "auto",
           block_rams: int = LFE5U_85F.dp16kd, relay_stages: int = 0) -> FoldingChoice:
    """A folding for at most ``target_cycles`` per image and at most ``max_luts`` estimated
    LUT4: the slowest pace that meets the target, or with a budget alone the fastest that
    fits. The block RAMs and multipliers must fit the LFE5U-85F."""
    built, matrix_units = {}, {}   # every pace the bisection tries starts from foldings an earlier one built

    def at(cycles: int) -> FoldingChoice:
        return fold_for_pace(graph, cycles, logits, shift_lanes, block_rams, built, matrix_units, relay_stages)

    device = LFE5U_85F if max_luts is None else Resources(max_luts, LFE5U_85F.ff, LFE5U_85F.dp16kd,
                                                          LFE5U_85F.mult18)

    def fits(choice: FoldingChoice) -> bool:
        return choice.resources.fits(device)

    def too_big(what: str, choice: FoldingChoice) -> HwgenError:
        return HwgenError(f"{what} needs about {_describe(choice.resources)}, more than {budget} holds "
                          f"({'; '.join(choice.resources.shortfalls(device))})")

    slowest = max(_vectors_per_image(graph, n) * n.out_features * n.in_features
                  for n in graph.nodes if isinstance(n, MATRIX_NODES))
    slowest = max(slowest, graph.input.size)
    budget = f"--max-luts {max_luts:,}" if max_luts is not None else "the LFE5U-85F"
    if target_cycles is not None:
        choice = at(target_cycles)
        if not fits(choice):
            raise too_big(f"{target_cycles} cycles per image", choice)
        return choice
    if max_luts is None:
        raise HwgenError("auto-folding needs a target pace (--target-fps) or a LUT budget (--max-luts)")
    folded = at(slowest)
    if not fits(folded):
        raise too_big("even fully folded the design", folded)

    def fast_enough_fits(cycles: int) -> bool:
        try:
            return fits(at(cycles))
        except HwgenError:   # faster than any folding can go
            return False

    return at(fastest_fitting(slowest, fast_enough_fits))


def fastest_fitting(slowest: int, fits: Callable[[int], bool]) -> int:
    """The fewest cycles per image, at most ``slowest`` (which fits), at which ``fits``.

    The estimate does not simply fall as the pace slows: a ROM's depth and width
    decide how well its bits fill 18 Kbit blocks, and one that packs badly spills
    into LUTs (bisecting the whole range, mnist-fc-shift-ps under 60,000 LUT4 settled
    on 50,176 cycles an image, where 2,048 fits).
    So powers of two are tried from the fastest up to the first that fits, and
    the search bisects between it and the one before it."""
    paces = [1 << k for k in range((slowest - 1).bit_length())] + [slowest]
    high = next(cycles for cycles in paces if fits(cycles))
    low = high // 2 + 1
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low


def _describe(resources: Resources) -> str:
    return (f"{resources.lut4:,} LUT4, {resources.ff:,} FF, {resources.dp16kd} DP16KD and {resources.mult18} "
            f"MULT18X18D (estimated)")
