"""Auto-folding: every layer meets the pace with few lanes at the least estimated cost, budgets hold,
and impossible requests get one clear line."""
import json

import numpy as np
import pytest

from hwgen.autofold import LANE_SLACK, MAX_INPUT_BITS, choose, fastest_fitting, fold_for_pace
from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.folding import Folding, LayerFold
from hwgen.hw.network import Network
from hwgen.ir import MATRIX_NODES, Argmax, Dense, Flatten, Graph, Input, Integer, MaxPool, Threshold, Window

from .graphs import random_network
from .test_cli import _fails_with, _fresh_copy


def _layer_cycles(graph, node, pe, simd):
    height, width, _ = graph.shapes[node.name]
    return height * width * (node.out_features // pe) * (node.in_features // simd)


def _fewest_lanes(graph, node, target):
    """The fewest lanes, then the widest SIMD, of the divisor foldings that meet ``target``."""
    return min((pe * simd, -simd, pe, simd) for pe in range(1, node.out_features + 1)
               for simd in range(1, node.in_features + 1)
               if node.out_features % pe == 0 and node.in_features % simd == 0
               and _layer_cycles(graph, node, pe, simd) <= target)


@pytest.mark.parametrize("seed", range(4))
def test_shared_matrix_units_leave_estimates_as_they_were(seed):
    """The auto-folder's candidates share matrix-vector units; each network's estimate and
    pace are what a network of its own would have."""
    graph, _ = random_network(np.random.default_rng(seed))
    layers = [n for n in graph.nodes if isinstance(n, MATRIX_NODES)]
    by_pe = [LayerFold(n.out_features, 1) for n in layers]
    by_simd = [LayerFold(1, n.in_features) for n in layers]
    shared = {}
    # The third takes its first layer from the first network, the rest from the second.
    for folds in (by_pe, by_simd, by_pe[:1] + by_simd[1:]):
        folding = Folding(tuple(folds), 1)
        alone, together = Network(graph, folding), Network(graph, folding, matrix_units=shared)
        assert (together.resources, together.cycles_per_image, together.latency) == \
            (alone.resources, alone.cycles_per_image, alone.latency)
    assert shared


@pytest.mark.parametrize("seed", range(12))
def test_every_layer_meets_the_pace_with_few_lanes_and_the_design_is_cheapest(seed):
    graph, _ = random_network(np.random.default_rng(seed))
    layers = [n for n in graph.nodes if isinstance(n, MATRIX_NODES)]
    parallel = Folding(tuple(LayerFold(n.out_features, n.in_features) for n in layers),
                       graph.input.image_shape[2])
    fastest = Network(graph, parallel).cycles_per_image
    target = fastest * int(np.random.default_rng(seed).integers(1, 6))
    choice = fold_for_pace(graph, target)
    folding = choice.folding
    assert choice.cycles_per_image <= target
    for node, fold in zip(layers, folding.layers):
        assert _layer_cycles(graph, node, fold.pe, fold.simd) <= target
        assert fold.pe * fold.simd <= LANE_SLACK * _fewest_lanes(graph, node, target)[0]
    # No dearer than every layer at its fewest lanes, at any input width that keeps up.
    fewest = tuple(LayerFold(*_fewest_lanes(graph, node, target)[2:]) for node in layers)
    channels, width = graph.input.image_shape[2], graph.input.dtype.width
    assert folding.input_per_beat == 1 or folding.input_per_beat * width <= MAX_INPUT_BITS
    plain = [Network(graph, Folding(fewest, per_beat)) for per_beat in range(1, channels + 1)
             if channels % per_beat == 0 and (per_beat == 1 or per_beat * width <= MAX_INPUT_BITS)]
    assert choice.resources.lut4 <= min(n.resources.lut4 for n in plain if n.cycles_per_image <= target)


def _wide_conv_graph() -> Graph:
    """Two convolutions and a max pool: the pool and the second window take the first
    convolution's PE a beat, so their pace is not the layers' own (at 1,600 cycles the
    auto-folded mnist-lenet-bnn gave its first conv half its channels a beat and the next
    window 3,200 cycles)."""
    rng = np.random.default_rng(0)
    return Graph((Input("input", 8 * 8, Integer(2, signed=False), (8, 8, 1)),
                  Window("win1", "input", 3, 1, 1),
                  Dense("conv1", "win1", rng.integers(0, 2, (8, 9))),
                  Threshold("act1", "conv1", rng.integers(-2, 3, 8), np.zeros(8, dtype=bool)),
                  MaxPool("pool1", "act1", 2),
                  Window("win2", "pool1", 3, 1, 1),
                  Dense("conv2", "win2", rng.integers(0, 2, (4, 72))),
                  Threshold("act2", "conv2", rng.integers(-4, 5, 4), np.zeros(4, dtype=bool)),
                  Flatten("flat", "act2"),
                  Dense("fc", "flat", rng.integers(0, 2, (10, 64))),
                  Argmax("argmax", "fc")))


# 64 cycles is fully parallel; at 128 and 320 the fewest lanes starved the second window.
@pytest.mark.parametrize("target", [64, 65, 128, 192, 320, 576])
def test_windows_and_pools_keep_the_pace_of_the_layers_before_them(target):
    graph = _wide_conv_graph()
    choice = fold_for_pace(graph, target)
    assert choice.cycles_per_image <= target
    assert Network(graph, choice.folding).cycles_per_image == choice.cycles_per_image


@pytest.mark.parametrize("fits, fastest", [
    # Block RAM packing makes fitting paces come in patches: a bisection over the whole
    # range met a gap and settled on its slow side (mnist-fc-shift-ps: 50,176 cycles, not 2,048).
    (lambda cycles: 1_900 <= cycles <= 2_500 or cycles >= 30_000, 1_900),
    (lambda cycles: cycles >= 7, 7),
    (lambda cycles: cycles == 401_408, 401_408),
])
def test_the_fastest_pace_that_fits_is_found_past_paces_that_do_not(fits, fastest):
    assert fastest_fitting(401_408, fits) == fastest


@pytest.mark.parametrize("seed", range(6))
def test_a_lut_budget_is_kept(seed):
    graph, _ = random_network(np.random.default_rng(seed))
    budget = choose(graph, target_cycles=graph.input.size * 4).resources.lut4
    try:
        choice = choose(graph, max_luts=budget)
    except HwgenError as error:
        assert "even fully folded" in str(error)
        return
    assert choice.resources.lut4 <= budget


def test_target_fps_through_the_cli(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    # 100 MHz assumed: 1 M images/s is 100 cycles per image.
    assert main(["verilog", "--out", str(out), "--target-fps", "1e6"]) == 0
    meta = json.loads((out / "hwgen_top.json").read_text())
    assert meta["cycles_per_image"] <= 100
    assert meta["resources_estimate"]["total"]["lut4"] > 0
    assert "auto-folding at 100 MHz" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--target-fps", "1e12"], "more than one image a cycle at 100 MHz"),
    (["--target-fps", "0"], "--target-fps must be a positive number"),
    (["--target-fps", "1e6", "--folding", "16x16,16x32,10x16"], "give either --folding"),
    (["--max-luts", "10"], "even fully folded the design needs about"),
    (["--target-fps", "1e6", "--max-luts", "10"], "more than --max-luts 10 holds ("),
    (["--target-fps", "1e6", "--max-luts", "10"], " LUT4 of 10)"),
])
def test_impossible_requests(run_dir, tmp_path, capsys, argv, message):
    out = _fresh_copy(run_dir, tmp_path)
    _fails_with(capsys, ["verilog", "--out", str(out), *argv], message, out)
