"""The whole flow on the digits set through the CLI, as `make demo` runs it (fewer epochs),
for a binarized MLP (the shared run folder, conftest.py), a shift MLP and a binarized CNN."""
import json

import pytest

from hwgen.cli import main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("model", ["digits-shift", "digits-cnn-bnn"])
def test_flow_digits_end_to_end(tmp_path, model):
    assert main(["flow", "--model", model, "--epochs", "5", "--test-images", "60",
                 "--out", str(tmp_path)]) == 0
    _check_report(tmp_path, model)


def test_flow_digits_bnn_end_to_end(run_dir):
    _check_report(run_dir, "digits-bnn")


def _check_report(folder, model):
    report = json.loads((folder / "report.json").read_text())
    assert report["images"] == 60 and report["simulator"] == "verilator"
    assert report["mismatches"] == 0 and report["torch_golden_disagreements"] == 0
    accuracy = report["accuracy"]
    assert accuracy["torch"] == accuracy["golden"] == accuracy["rtl"]
    cycles = report["cycles"]
    assert cycles["per_image_measured"] == cycles["per_image_analytic"]
    assert cycles["latency_analytic"] == cycles["latency"]
    for key in ("torch_batch1", "torch_batched", "golden"):
        assert report["software_us_per_image"][key] > 0
    assert (folder / "report.md").read_text().startswith(f"# hwgen report: {model}")
