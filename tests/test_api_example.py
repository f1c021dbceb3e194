"""The Python API: examples/own_network.py trains in its own loop and exports; the CLI goes on from there."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwgen.cli import main

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_network.py"


def test_the_example_runs_beside_a_users_own_train_and_sim_modules(tmp_path):
    # The user's script is called train.py and sits beside a sim.py of theirs:
    # hwgen's packages (hwgen.train, hwgen.sim) must not pick either up.
    shutil.copy(EXAMPLE, tmp_path / "train.py")
    (tmp_path / "sim.py").write_text("raise ImportError('the user sim.py was imported')\n")
    done = subprocess.run([sys.executable, "train.py", "--out", "run", "--epochs", "3"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "run"
    for step in (["verilog"], ["sim", "--test-images", "40"], ["report"]):
        assert main([*step, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["mismatches"] == 0 and report["torch_golden_disagreements"] == 0
    assert report["accuracy"]["torch"] == report["accuracy"]["golden"] == report["accuracy"]["rtl"]
    assert report["folding"] == "8x16,10x8" and report["training"] is None


def test_a_python_model_cannot_be_trained_by_hwgen(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    model = tmp_path / "python.toml"
    model.write_text('name = "mine"\n[data]\nset = "python"\n')
    assert main(["train", "--model", str(model), "--out", str(tmp_path / "run")]) == 1
    assert "was built and trained in a Python script" in capsys.readouterr().err
