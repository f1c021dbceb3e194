# amaranth: UnusedElaboratable=no
"""Placement: weight ROMs in block RAM (geometry, deepest first, the budget kept,
the style reaching the Verilog) and shift layers on multipliers (vector buffers in
block RAM: test_random_graphs.py)."""
import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.folding import Folding
from hwgen.hw.network import Network
from hwgen.hw.cost import block_rams
from hwgen.hw.placement import place_by_saving
from hwgen.hw.rom_placement import place_roms
from hwgen.ir import Integer

from .graphs import random_graph, random_shift_graph


@pytest.mark.parametrize("width, depth, blocks", [
    (36, 16, 1), (37, 512, 2), (256, 32, 8), (18, 1024, 1), (19, 1024, 2), (1568, 512, 44), (1, 20000, 2),
    (1, 200704, 11), (16, 36864, 32),   # beyond 16K words: nine 2K-word segments a block
])
def test_block_rams_follow_the_dp16kd_widths(width, depth, blocks):
    assert block_rams(width, depth) == blocks


def test_deepest_roms_go_first_within_the_budget():
    shapes = [(256, 32), None, (512, 16), (160, 4)]   # 8, -, 15 and 5 blocks
    assert place_roms(shapes, budget=28) == [True, False, True, True]
    assert place_roms(shapes, budget=10) == [True, False, False, False]
    assert place_roms(shapes, budget=6) == [False, False, False, True]
    assert place_roms(shapes, budget=0) == [False] * 4


# Two weight ROMs, each followed by a threshold table (8 channels at 4 and at 2 a beat:
# too shallow for block RAM, whatever the budget).
@pytest.mark.parametrize("budget, styles", [(208, ["block", "logic"] * 2), (0, ["logic"] * 4)])
def test_rom_style_reaches_the_verilog(budget, styles):
    graph = random_graph(np.random.default_rng(3), [12, 8, 8, 10], Integer(4, signed=False))
    net = Network(graph, Folding.parse("4x6,2x4,10x8", 3), block_rams=budget)
    text = verilog.convert(net, name="top")
    assert [line.split('"')[1] for line in text.splitlines() if "rom_style" in line] == styles


def test_deep_tables_go_into_block_ram():
    graph = random_graph(np.random.default_rng(3), [12, 128, 10], Integer(4, signed=False))
    deep = Network(graph, Folding.parse("1x12,10x16", 3))      # 128 thresholds, one a beat
    shallow = Network(graph, Folding.parse("4x12,10x16", 3))   # 32 a lane
    assert [name for name, r in deep.stage_resources if "Threshold" in name and r.dp16kd] == ["s3_ThresholdUnit"]
    assert not any(r.dp16kd for name, r in shallow.stage_resources if "Threshold" in name)


def test_multipliers_go_where_they_save_most_per_block():
    options = {"fc1": (5000, 100), "fc2": (9000, 100), "fc3": (100, 10), "fc4": (-50, 4)}
    assert place_by_saving(options, budget=156) == {"fc2", "fc3"}
    assert place_by_saving(options, budget=0) == set()


@pytest.mark.parametrize("shift_lanes, multiplied", [("barrel", []), ("multiplier", ["fc0", "fc1", "fc2"]),
                                                     ("auto", ["fc0", "fc1", "fc2"])])
def test_shift_lanes_choose_the_weight_format(shift_lanes, multiplied):
    graph = random_shift_graph(np.random.default_rng(3), [12, 8, 8, 10], Integer(5, signed=True, frac=3))
    net = Network(graph, Folding.parse("4x6,2x4,5x2", 3), shift_lanes=shift_lanes)
    assert net.multiplied == multiplied
    assert net.resources.mult18 == (4 * 6 + 2 * 4 + 5 * 2 if multiplied else 0)


def test_auto_keeps_to_the_multiplier_budget():
    graph = random_shift_graph(np.random.default_rng(3), [12, 8, 8, 10], Integer(5, signed=True, frac=3))
    net = Network(graph, Folding.parse("4x6,2x4,5x2", 3), multipliers=20)
    assert net.resources.mult18 <= 20 and net.multiplied
