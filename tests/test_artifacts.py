"""The step's JSON files are typed and versioned: loading names the file and the field at fault."""
import json

import pytest

from hwgen import artifacts
from hwgen.artifacts import SIM_RESULTS
from hwgen.errors import HwgenError

GOOD = {"simulator": "verilator", "images": 4, "outputs": [1, 2, 3, 4], "logits_scored": False, "mismatches": 0,
        "latency": 40, "cycles_per_image": 32.0, "stall_pass": {"images": 4, "stall": 0.3, "mismatches": 0}}


def test_a_round_trip(tmp_path):
    written = artifacts.save(tmp_path / "sim.json", SIM_RESULTS, GOOD)
    assert written == {"format": "hwgen-sim", "version": 1, **GOOD}
    assert artifacts.load(tmp_path / "sim.json", SIM_RESULTS) == written


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("latency"), "field 'latency' is missing; run `hwgen sim` again"),
    (lambda d: d.update(images="4"), "field 'images' = '4': want int"),
    (lambda d: d.update(mismatches=True), "field 'mismatches' = True: want int"),
    (lambda d: d.update(cycles_per_image=float("nan")), "field 'cycles_per_image' = nan: want int or float"),
    (lambda d: d.update(version=2), "hwgen-sim version 2, this hwgen reads version 1"),
    (lambda d: d.update(format="hwgen-synth"), "not a hwgen-sim file"),
])
def test_a_bad_field_is_named(tmp_path, edit, message):
    document = {"format": "hwgen-sim", "version": 1, **GOOD}
    edit(document)
    (tmp_path / "sim.json").write_text(json.dumps(document))
    with pytest.raises(HwgenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        artifacts.load(tmp_path / "sim.json", SIM_RESULTS)


def test_not_json(tmp_path):
    (tmp_path / "sim.json").write_text("{")
    with pytest.raises(HwgenError, match="not valid JSON"):
        artifacts.load(tmp_path / "sim.json", SIM_RESULTS)


def test_a_writer_cannot_write_a_bad_file(tmp_path):
    with pytest.raises(HwgenError, match="field 'images'"):
        artifacts.save(tmp_path / "sim.json", SIM_RESULTS, {**GOOD, "images": None})
    assert not (tmp_path / "sim.json").exists()
