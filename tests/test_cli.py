"""The CLI on good and bad input: one clear line, a non-zero exit, nothing half-written."""
import os
import shutil
import subprocess
import sys

import pytest
import torch

from hwgen.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--epochs", "2", "--out", str(out)]) == 0
    assert main(["export", "--out", str(out)]) == 0
    return out


def _fresh_copy(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def _fails_with(capsys, argv, message):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hwgen: error: ") and message in err[0], err


def test_models_lists_the_zoo(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "digits-bnn" in out and "mnist-mlp-bnn" in out


def test_output_into_a_closed_pipe_is_quiet():
    """`hwgen models | head -1`: the reader leaving early is no error."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "hwgen.cli", "models"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")


def test_help_on_every_subcommand(capsys):
    for command in ["models", "train", "export", "verilog", "sim", "report", "flow"]:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: hwgen " + command in capsys.readouterr().out


def test_corrupt_checkpoint(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    (out / "graph.json").unlink()
    (out / "checkpoint.pt").write_bytes(b"\x00not a checkpoint")
    _fails_with(capsys, ["export", "--out", str(out)], "not a readable checkpoint")
    assert not (out / "graph.json").exists()


def test_checkpoint_of_another_model(run_dir, capsys):
    _fails_with(capsys, ["export", "--model", "mnist-mlp-bnn", "--out", str(run_dir)],
                "holds model 'digits-bnn', not 'mnist-mlp-bnn'")


def test_checkpoint_weights_that_do_not_fit(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    payload = torch.load(out / "checkpoint.pt", weights_only=True)
    payload["in_features"] = 63
    torch.save(payload, out / "checkpoint.pt")
    _fails_with(capsys, ["export", "--out", str(out)], "weights do not fit model 'digits-bnn'")


def test_invalid_graph_file(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    text = (out / "graph.json").read_text().replace('"op": "threshold"', '"op": "thresh"', 1)
    (out / "graph.json").write_text(text)
    _fails_with(capsys, ["verilog", "--out", str(out)], "field 'op': unknown op 'thresh'")
    assert not (out / "hwgen_top.v").exists()


def test_folding_that_does_not_divide(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    _fails_with(capsys, ["verilog", "--out", str(out), "--folding", "7x16,16x32,10x16"],
                "fc1: PE=7 does not divide the layer's 128 outputs")
    assert not (out / "hwgen_top.v").exists()


def test_missing_simulator(run_dir, tmp_path, capsys, monkeypatch):
    out = _fresh_copy(run_dir, tmp_path)
    assert main(["verilog", "--out", str(out)]) == 0
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH on which no iverilog lives
    _fails_with(capsys, ["sim", "--out", str(out), "--simulator", "icarus"],
                "simulator 'icarus' not found")
    assert not (out / "sim.json").exists()


def test_steps_out_of_order(tmp_path, capsys):
    _fails_with(capsys, ["verilog", "--out", str(tmp_path)], "run `hwgen export` first")


def test_verilog_is_byte_identical_across_runs(run_dir, tmp_path):
    first, second = _fresh_copy(run_dir, tmp_path / "a"), _fresh_copy(run_dir, tmp_path / "b")
    assert main(["verilog", "--out", str(first)]) == 0
    assert main(["verilog", "--out", str(second)]) == 0
    assert (first / "hwgen_top.v").read_bytes() == (second / "hwgen_top.v").read_bytes()
