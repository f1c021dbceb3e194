# amaranth: UnusedElaboratable=no
# (The first of the two builds below only measures the weight ROMs; and a network
# built for its estimates alone, as the auto-folder does, is never elaborated.)
"""The whole network as one streaming component, built from the integer graph."""
import numpy as np
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..folding import Folding
from ..ir import (MATRIX_NODES, Argmax, Dense, Flatten, Graph, Integer, IntegerDense, MaxPool, MultiThreshold,
                  Requantize, ShiftDense, Ternary, Threshold, Window)
from .argmax import ArgmaxUnit
from .cost import LFE5U_85F, Resources
from .matrix_vector import MatrixVectorUnit
from .max_pool import MaxPoolUnit
from .requantize import RequantizeUnit
from .placement import place_by_saving
from .register_slice import RegisterSlice
from .relay import Relay
from .rom_placement import DEFAULT_BLOCK_RAMS, place_roms
from .sliding_window import SlidingWindowUnit
from .threshold import ThresholdUnit
from .vector_buffer import VectorBuffer
from .weights import BinaryWeights, IntegerWeights, ShiftWeights, TernaryWeights

# How shift layers, and n-bit layers with constant weights (fully parallel, integer
# inputs), multiply: in LUTs (barrel shifters; shift-adds of signed digits), on
# multipliers (MULT18X18D), or each layer as placement.py chooses.
SHIFT_LANES = ("auto", "barrel", "multiplier")
DEFAULT_MULTIPLIERS = LFE5U_85F.mult18
# Per-channel tables go into block RAM from this many words (channels per lane) on.
TABLE_MIN_BLOCK_DEPTH = 64


class Network(wiring.Component):
    """Images in, class indices out: buffers, matrix-vector units, thresholds or
    requantizers, argmax.

    Each dense layer (binary, shift, ternary or integer) is a ``VectorBuffer``
    feeding a ``MatrixVectorUnit``, followed by a ``ThresholdUnit`` (one or
    several levels) or a ``RequantizeUnit`` where the graph has one. Images stream pixel by pixel
    (HWC); a window becomes a ``SlidingWindowUnit`` whose windows the next
    matrix-vector unit takes as vectors, one per output pixel; max-pool is a
    ``MaxPoolUnit``; flatten is wiring (the stream is already in HWC order).
    The graph must end in an argmax over signed values. A ``RegisterSlice`` at each
    end keeps the pins' handshakes out of every internal path.

    Members
    -------
    i : ``In(stream.Signature(input_per_beat * input_width))``
        Input elements in graph order, ``input_per_beat`` to a beat.
    o : ``Out(stream.Signature(...))``
        One beat per image: the class index, then with ``logits`` the integer
        logits (see ``output_fields``).
    """

    def __init__(self, graph: Graph, folding: Folding, *, logits: bool = False,
                 block_rams: int = DEFAULT_BLOCK_RAMS, multipliers: int = DEFAULT_MULTIPLIERS,
                 shift_lanes: str = "auto", relay_stages: int = 0, matrix_units: dict | None = None):
        self._folds = folding.by_node(graph)
        # Shared by candidate networks of one graph that are estimated, never elaborated
        # (the auto-folder's): a matrix-vector unit's estimate is most of a network's.
        self._matrix_unit_memo = {} if matrix_units is None else matrix_units
        if shift_lanes not in SHIFT_LANES:
            raise ValueError(f"shift_lanes must be one of {', '.join(SHIFT_LANES)}, not {shift_lanes!r}")
        if not isinstance(graph.output, Argmax):
            raise ValueError("the hardware network needs a graph that ends in argmax")
        self._graph = graph
        self._folding = folding
        self._logits = logits
        self._relay_stages = relay_stages
        # Built more than once: earlier builds measure what the placement of
        # multipliers, then of weight ROMs, then of vector buffers needs.
        choosable = {node.name for node in graph.nodes if self._multiplier_or_luts(node)}
        self._multiplied = choosable if shift_lanes == "multiplier" else set()
        if shift_lanes == "auto" and choosable:
            _, in_luts, _ = self._build_stages({})
            self._multiplied = choosable
            _, products, _ = self._build_stages({})
            # Folded n-bit layers have no LUT form here: their multipliers come first.
            taken = sum(unit.resources.mult18 for name, unit in products.items() if name not in choosable)
            self._multiplied = place_by_saving(
                {name: (in_luts[name].resources.lut4 - products[name].resources.lut4,
                        products[name].resources.mult18) for name in choosable}, max(0, multipliers - taken))
        _, roms, in_luts = self._build_stages({})
        in_block = dict(zip(roms, place_roms([unit.rom_shape if isinstance(unit, MatrixVectorUnit)
                                              or _deep(unit.rom_shape) else None for unit in roms.values()],
                                             block_rams)))
        # Large vector buffers and line buffers take the blocks the ROMs leave (a ROM
        # saves more LUT4 a block).
        stages, _, in_blocks = self._build_stages(in_block, buffers_in_block_ram=set(in_luts))
        movable = {name: unit for name, unit in in_blocks.items() if unit.resources.dp16kd}
        left = block_rams - sum(unit.resources.dp16kd for unit, _ in stages
                                if all(unit is not buffer for buffer in movable.values()))
        buffers = place_by_saving({name: (in_luts[name].resources.lut4 - unit.resources.lut4, unit.resources.dp16kd)
                                   for name, unit in movable.items()}, left)
        self._stages, roms, _ = self._build_stages(in_block, buffers_in_block_ram=buffers)
        if relay_stages:
            self._stages = self._with_relays(relay_stages)
        self._matrix_units = {name: unit for name, unit in roms.items() if isinstance(unit, MatrixVectorUnit)}
        in_width = graph.input.dtype.width
        super().__init__({
            "i": In(stream.Signature(folding.input_per_beat * in_width)),
            "o": Out(stream.Signature(sum(width for width, _ in self.output_fields))),
        })

    def _build_stages(self, rom_in_block_ram: dict[str, bool], buffers_in_block_ram: set[str] = frozenset()):
        """The stages in stream order, each with the cycles it is busy per image; every
        unit with a ROM (matrix-vector units' weights, per-channel tables) by node name;
        and the buffers that block RAM may hold: each matrix-vector unit's input buffer by
        the unit's node name, each sliding window by its own.
        ``rom_in_block_ram`` by node name (absent: LUTs); the buffers named in
        ``buffers_in_block_ram`` may be built in block RAM."""
        graph, roms, buffers = self._graph, {}, {}
        per_beat = self._folding.input_per_beat
        stages = [(RegisterSlice(width=per_beat * graph.input.dtype.width, beats=self.input_beats), self.input_beats)]
        for node in graph.nodes[1:]:
            in_type, in_shape = graph.types[node.input], graph.shapes[node.input]
            pixels = in_shape[0] * in_shape[1]
            if isinstance(node, MATRIX_NODES):
                fold = self._folds[node.name]
                mvu = self._matrix_unit(node, in_type, fold, rom_in_block_ram.get(node.name, False))
                roms[node.name] = mvu
                buffer = VectorBuffer(element_width=in_type.width, size=node.in_features,
                                      in_per_beat=per_beat, out_per_beat=fold.simd,
                                      repeats=mvu.neuron_folds, block_ram=node.name in buffers_in_block_ram)
                buffers[node.name] = buffer
                stages += [_per_vector(buffer, pixels), _per_vector(mvu, pixels)]
                per_beat = fold.pe
            elif isinstance(node, (Threshold, MultiThreshold, Requantize)):
                in_block = rom_in_block_ram.get(node.name, False)
                if isinstance(node, Requantize):
                    unit = RequantizeUnit(node.bias, shift=node.shift, rounding=node.rounding, low=node.low,
                                          high=node.high, acc_width=in_type.width, out_type=node.out_type,
                                          per_beat=per_beat, tables_in_block_ram=in_block)
                else:
                    unit = ThresholdUnit(node.thresholds, node.descending, acc_width=in_type.width, per_beat=per_beat,
                                         low=getattr(node, "low", 0), tables_in_block_ram=in_block)
                roms[node.name] = unit
                stages.append(_per_vector(unit, pixels))
            elif isinstance(node, Window):
                # A layer that takes a whole window a beat gets one window a cycle.
                consumer = next(n for n in graph.nodes if getattr(n, "input", None) == node.name)
                whole = self._folds[consumer.name].simd >= node.kernel ** 2 * in_shape[2]
                windows = SlidingWindowUnit(element_width=in_type.width, shape=in_shape,
                                            kernel=node.kernel, stride=node.stride,
                                            padding=node.padding, in_per_beat=per_beat,
                                            whole_windows=whole, block_ram=node.name in buffers_in_block_ram)
                buffers[node.name] = windows
                stages.append((windows, windows.cycles_per_image))
                per_beat = windows.out_per_beat
            elif isinstance(node, MaxPool):
                pool = MaxPoolUnit(in_type=in_type, shape=in_shape, kernel=node.kernel, per_beat=per_beat)
                stages.append((pool, pool.cycles_per_image))
            elif isinstance(node, Flatten):
                continue
            elif isinstance(node, Argmax):
                if not in_type.signed:
                    raise ValueError(f"{node.name}: the argmax unit compares signed values, "
                                     f"but {node.input!r} is {in_type}")
                argmax = ArgmaxUnit(classes=graph.sizes[node.input], acc_width=in_type.width,
                                    per_beat=per_beat, logits=self._logits)
                stages += [_per_vector(argmax, 1),
                           (RegisterSlice(width=sum(width for width, _ in argmax.output_fields), beats=1), 1)]
        return stages, roms, buffers

    def _with_relays(self, stages: int) -> list:
        """The stages with a ``Relay`` of ``stages`` registers each way between every two."""
        relayed, offers = [], list(range(self.input_beats))
        for stage, busy in self._stages[:-1]:
            offers = stage.schedule(offers)
            relay = Relay(width=len(stage.o.payload), stages=stages, beats=len(offers))
            relayed += [(stage, busy), (relay, relay.cycles_per_image)]
        return relayed + self._stages[-1:]

    def _multiplier_or_luts(self, node) -> bool:
        """Whether a layer can multiply either on MULT18X18D or in LUTs: shift layers, and
        n-bit layers whose weights are constants (fully parallel) and inputs integers."""
        if isinstance(node, ShiftDense):
            return True
        if (not isinstance(node, IntegerDense) or self._ternary(node)
                or not isinstance(self._graph.types[node.input], Integer)):
            return False
        fold = self._folds[node.name]
        return fold.pe == node.out_features and fold.simd >= node.in_features

    def _matrix_unit(self, node, in_type, fold, rom_in_block_ram: bool) -> MatrixVectorUnit:
        key = (node.name, fold, rom_in_block_ram, node.name in self._multiplied)
        if key not in self._matrix_unit_memo:
            self._matrix_unit_memo[key] = MatrixVectorUnit(
                self._weights(node), in_type=in_type, acc_width=self._graph.types[node.name].width,
                pe=fold.pe, simd=fold.simd, rom_in_block_ram=rom_in_block_ram)
        return self._matrix_unit_memo[key]

    @staticmethod
    def _ternary(node: IntegerDense) -> bool:
        # n-bit weights that are all -1, 0 or +1 (2-bit, narrow range) need no multiplier either.
        return isinstance(node.weight_type, Ternary) or np.abs(node.weights).max() <= 1

    def _weights(self, node):
        """A matrix layer's weights in the hardware format that builds its lanes."""
        if isinstance(node, Dense):
            return BinaryWeights(node.weights)
        if isinstance(node, IntegerDense):
            if self._ternary(node):
                return TernaryWeights(node.weights)
            return IntegerWeights(node.weights, node.weight_type.bits,
                                  shift_add=self._multiplier_or_luts(node) and node.name not in self._multiplied)
        return ShiftWeights(node.signs, node.exponents, node.weight_type, multiplied=node.name in self._multiplied)

    @property
    def multiplied(self) -> list[str]:
        """The layers whose lanes multiply on MULT18X18D (shift and n-bit layers not built
        in LUTs as barrel shifters or shift-adds)."""
        return sorted(name for name, unit in self._matrix_units.items() if unit.resources.mult18)

    @property
    def relay_stages(self) -> int:
        """Registers each way of the ``Relay`` between every two stages (0: none)."""
        return self._relay_stages

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def folding(self) -> Folding:
        return self._folding

    @property
    def output_fields(self) -> list[tuple[int, bool]]:
        """The output beat's fields from bit 0, (width, signed): the class index, then with
        ``logits`` every class's logit."""
        return next(stage for stage, _ in self._stages if isinstance(stage, ArgmaxUnit)).output_fields

    @property
    def stage_resources(self) -> list[tuple[str, Resources]]:
        """Each stage's estimated resources as nextpnr places them (see
        :mod:`~hwgen.hw.cost`), named as in the Verilog."""
        return [(f"s{index}_{type(stage).__name__}", stage.resources)
                for index, (stage, _) in enumerate(self._stages)]

    @property
    def resources(self) -> Resources:
        """Estimated LUT4 (as nextpnr counts them), FF, DP16KD and MULT18X18D of the
        whole design."""
        return sum((r for _, r in self.stage_resources), Resources())

    @property
    def input_beats(self) -> int:
        """Input beats per image."""
        return self._graph.input.size // self._folding.input_per_beat

    @property
    def layer_cycles(self) -> dict[str, int]:
        """Cycles each dense layer's unit is busy per image."""
        busy = dict((id(stage), cycles) for stage, cycles in self._stages)
        return {name: busy[id(unit)] for name, unit in self._matrix_units.items()}

    @property
    def cycles_per_image(self) -> int:
        """Steady-state cycles between images: the slowest stage sets the pace."""
        return max(self.input_beats, *(cycles for _, cycles in self._stages))

    @property
    def latency(self) -> int:
        """Cycles from an image's first input beat to its class index, the pipeline
        settled: empty, but for what needs no image (windows of padding alone, at
        a padded image's top, are made before it arrives; the simulation harness
        waits for them after reset).

        The input beats are offered one a cycle; each stage's ``schedule`` turns
        the cycles at which one image's beats reach it into those at which its
        own leave (its registers, its queue, and for buffers and sliding windows
        when they may take and send), so that the class index's cycle is that of
        the last stage's one output beat. For a vector network it adds up to the
        last input beat, each stage's latency and each buffer's replay.
        """
        offers = list(range(self.input_beats))
        for stage, _ in self._stages:
            offers = stage.schedule(offers)
        return offers[0]

    def elaborate(self, platform):
        m = Module()
        stages = [stage for stage, _ in self._stages]
        for index, stage in enumerate(stages):
            m.submodules[f"s{index}_{type(stage).__name__}"] = stage
        wiring.connect(m, wiring.flipped(self.i), stages[0].i)
        for upstream, downstream in zip(stages, stages[1:]):
            wiring.connect(m, upstream.o, downstream.i)
        wiring.connect(m, stages[-1].o, wiring.flipped(self.o))
        return m


def _deep(shape: tuple[int, int] | None) -> bool:
    """Whether a per-channel table is deep enough for block RAM. A shallower one costs
    at most 4 LUT4 a bit in logic, and in block RAM its wide word takes several blocks
    far from its compares (the digits designs routed several times slower with their
    32-word tables there; not isolated further)."""
    return shape is not None and shape[1] >= TABLE_MIN_BLOCK_DEPTH


def _per_vector(unit, vectors: int):
    """A stage that handles ``vectors`` vectors an image, and the cycles it is busy per image."""
    return unit, unit.cycles_per_vector * vectors
