"""The CLI on good and bad input: one clear line, a non-zero exit, and the good files as they were."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from hwgen.cli import main
from hwgen.hw import cost
from hwgen.hw.cost import Resources
from hwgen.run_folder import RunFolder, file_digest

pytestmark = pytest.mark.slow   # the run folder's fixture (conftest.py) simulates its Verilog


def _fresh_copy(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def _snapshot(folder) -> dict:
    return {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def _fails_with(capsys, argv, message, folder=None, code=1):
    """``argv`` fails with one line holding ``message``; ``folder``'s files stay as they were."""
    before = _snapshot(folder) if folder is not None else None
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hwgen: error: ") and message in err[0], err
    if folder is not None:
        assert _snapshot(folder) == before


def _replace_recorded(folder, name, write, made_from):
    """Put a bad ``name`` in place as if its step had written it (records updated), so
    the check under test is the step's own, not the run folder's record."""
    write(folder / name)
    RunFolder(folder).record([name], made_from)


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
    for command in ["models", "train", "export", "verilog", "sim", "synth", "report", "flow"]:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: hwgen " + command in capsys.readouterr().out


def test_an_argument_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["flow", "--clock-mhz", "fast"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--clock-mhz: invalid float value: 'fast'" in err[0], err


def test_the_flow_wrote_a_trustworthy_folder(run_dir):
    RunFolder(run_dir).check(["sim.json", "predictions.npz", "train.json"])
    report = json.loads((run_dir / "report.json").read_text())
    assert report["mismatches"] == 0 and report["training"]["test_accuracy"]["runs"] == 1


@pytest.mark.parametrize("option, value, message", [
    ("--clock-mhz", "0", "--clock-mhz must be a positive number, not 0.0"),
    ("--clock-mhz", "inf", "--clock-mhz must be a positive number, not inf"),
    ("--clock-mhz", "nan", "--clock-mhz must be a positive number, not nan"),
    ("--clock-mhz", "-100", "--clock-mhz must be a positive number, not -100.0"),
    ("--test-images", "1", "--test-images must be at least 2"),
    ("--test-images", "0", "--test-images must be at least 1, not 0"),
    ("--input-per-beat", "0", "--input-per-beat must be at least 1, not 0"),
    ("--relay-stages", "-1", "--relay-stages must be 0 or more, not -1"),
    ("--folding", "", "folding '': expected PExSIMD"),
    ("--folding", "16x16", "--folding has 1 entries; digits-bnn has 3 conv and dense layers"),
    ("--folding", "7x16,16x32,10x16", "--folding: layer 1: PE=7 does not divide its 128 outputs"),
    ("--seed", str(2**32), "--seed must lie in [0, 4294967295]"),
    ("--data-dir", "/no/such/folder", "--data-dir /no/such/folder: no such folder"),
])
def test_flow_checks_every_option_before_writing(run_dir, tmp_path, capsys, option, value, message):
    out = _fresh_copy(run_dir, tmp_path)
    _fails_with(capsys, ["flow", "--out", str(out), "--epochs", "1", option, value], message, out)


@pytest.mark.parametrize("option", ["--seeds", "--first-seed", "--jobs", "--heap-timing-weight",
                                    "--heap-criticality-exponent"])
def test_synth_needs_a_seed_and_a_job_or_more(run_dir, tmp_path, capsys, option):
    out = _fresh_copy(run_dir, tmp_path)
    _fails_with(capsys, ["synth", "--out", str(out), option, "0"], f"{option} must be at least 1, not 0", out)


def test_out_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    _fails_with(capsys, ["train", "--out", str(tmp_path / "file")], "a file, not a folder")
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_is_read_only(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    _fails_with(capsys, ["train", "--out", str(folder)], "not writable")


def test_model_differs_from_the_run_folders(run_dir, capsys):
    _fails_with(capsys, ["verilog", "--model", "mnist-mlp-bnn", "--out", str(run_dir)],
                "holds a run of 'digits-bnn'", run_dir)


def test_steps_out_of_order(tmp_path, capsys):
    _fails_with(capsys, ["verilog", "--out", str(tmp_path)], "model.toml: no such file; run `hwgen train` first")


@pytest.mark.parametrize("name, step", [
    ("checkpoint.pt", "export"), ("graph.json", "verilog"), ("testset.npz", "sim"), ("hwgen_top.v", "sim"),
    ("hwgen_top.il", "synth"), ("hwgen_top.json", "sim"), ("predictions.npz", "report"), ("sim.json", "report"),
])
def test_a_changed_file_is_refused(run_dir, tmp_path, capsys, name, step):
    out = _fresh_copy(run_dir, tmp_path)
    (out / name).write_bytes((out / name).read_bytes()[:-3] + b"bad")
    producer = {"checkpoint.pt": "train", "graph.json": "export", "testset.npz": "export",
                "predictions.npz": "export", "sim.json": "sim"}.get(name, "verilog")
    _fails_with(capsys, [step, "--out", str(out)],
                f"{name} is not the file `hwgen {producer}` wrote here (changed or copied in since); "
                f"run `hwgen {producer}` again", out)


def test_a_stale_sim_is_refused_after_new_verilog(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    assert main(["verilog", "--out", str(out), "--folding", "16x16,16x32,10x16"]) == 0
    capsys.readouterr()
    _fails_with(capsys, ["report", "--out", str(out)],
                "sim.json was made from another hwgen_top.v; run `hwgen sim` again", out)


def test_a_stale_graph_is_refused_after_new_training(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    assert main(["train", "--out", str(out), "--epochs", "1", "--seed", "5"]) == 0
    capsys.readouterr()
    _fails_with(capsys, ["verilog", "--out", str(out)],
                "graph.json was made from another checkpoint.pt; run `hwgen export` again", out)


def test_a_corrupt_synth_json_is_refused(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    (out / "synth.json").write_text('{"fmax_mhz": 1e9}')
    _fails_with(capsys, ["report", "--out", str(out)],
                "synth.json is not the file `hwgen synth` wrote here", out)


def test_corrupt_checkpoint(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    _replace_recorded(out, "checkpoint.pt", lambda p: p.write_bytes(b"\x00not a checkpoint"), ["model.toml"])
    _fails_with(capsys, ["export", "--out", str(out)], "not a readable checkpoint", out)


def _edit_checkpoint(out, edit):
    def write(path):
        payload = torch.load(path, weights_only=True)
        edit(payload)
        torch.save(payload, path)
    _replace_recorded(out, "checkpoint.pt", write, ["model.toml"])


def test_checkpoint_weights_that_do_not_fit(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    _edit_checkpoint(out, lambda payload: payload.update(in_features=63))
    _fails_with(capsys, ["export", "--out", str(out)], "weights do not fit model 'digits-bnn'", out)


@pytest.mark.parametrize("tensor", ["1.running_var", "0.weight"])
def test_checkpoint_with_nan(run_dir, tmp_path, capsys, tensor):
    out = _fresh_copy(run_dir, tmp_path)
    _edit_checkpoint(out, lambda payload: payload["state_dict"][tensor].view(-1).__setitem__(0, float("nan")))
    _fails_with(capsys, ["export", "--out", str(out)], f"{tensor} holds NaN or infinity", out)


def test_invalid_graph_file(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    text = (out / "graph.json").read_text().replace('"op": "threshold"', '"op": "thresh"', 1)
    _replace_recorded(out, "graph.json", lambda p: p.write_text(text), ["checkpoint.pt"])
    _fails_with(capsys, ["verilog", "--out", str(out)], "field 'op': unknown op 'thresh'", out)


def test_graph_without_the_final_argmax(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    document = json.loads((out / "graph.json").read_text())
    document["nodes"] = document["nodes"][:-1]
    _replace_recorded(out, "graph.json", lambda p: p.write_text(json.dumps(document)), ["checkpoint.pt"])
    _fails_with(capsys, ["verilog", "--out", str(out)], "the graph ends in Dense, not Argmax", out)


def test_folding_that_does_not_divide(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    _fails_with(capsys, ["verilog", "--out", str(out), "--folding", "7x16,16x32,10x16"],
                "fc1: PE=7 does not divide the layer's 128 outputs", out)


def test_a_folding_over_the_part_is_written_with_a_warning(run_dir, tmp_path, capsys, monkeypatch):
    # A part too small for the default folding stands in for a folding too big for the
    # LFE5U-85F (fully parallel digits-bnn: 93,556 LUT4 and 121,088 FF, 30 s to generate).
    monkeypatch.setattr(cost, "LFE5U_85F", Resources(lut4=1000, ff=100_000, dp16kd=2, mult18=0))
    out = _fresh_copy(run_dir, tmp_path)
    assert main(["verilog", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: by the estimate this folding does not fit an LFE5U-85F (" in err
    assert " LUT4 of 1,000; " in err and " DP16KD of 2)" in err and "FF of" not in err
    assert (out / "hwgen_top.v").is_file()


def test_invalid_verilog_keeps_the_simulators_message(run_dir, tmp_path, capsys):
    out = _fresh_copy(run_dir, tmp_path)
    text = (out / "hwgen_top.v").read_text().replace("endmodule", "endmodul", 1)
    _replace_recorded(out, "hwgen_top.v", lambda p: p.write_text(text), ["graph.json", "arrays.npz"])
    before = _snapshot(out)
    assert main(["sim", "--out", str(out), "--test-images", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "verilator could not build hwgen_top.v: %Error" in err[0], err
    assert (out / "sim-build.log").is_file() and "%Error" in (out / "sim-build.log").read_text()
    after = _snapshot(out)
    del after["sim-build.log"]
    assert after == before


def test_missing_simulator(run_dir, tmp_path, capsys, monkeypatch):
    out = _fresh_copy(run_dir, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH on which no iverilog lives
    _fails_with(capsys, ["sim", "--out", str(out), "--simulator", "icarus"],
                "simulator 'icarus' not found", out)


def test_verilog_is_byte_identical_across_runs(run_dir, tmp_path):
    first, second = _fresh_copy(run_dir, tmp_path / "a"), _fresh_copy(run_dir, tmp_path / "b")
    assert main(["verilog", "--out", str(first)]) == 0
    assert main(["verilog", "--out", str(second)]) == 0
    assert (first / "hwgen_top.v").read_bytes() == (second / "hwgen_top.v").read_bytes()


def _idx(path, array):
    """An IDX file of unsigned bytes, gzipped."""
    import gzip
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _mnist_folder(folder, *, images=6, labels=None, swap=False):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split in ("train", "t10k"):
        pictures = rng.integers(0, 256, (images, 28, 28))
        classes = labels if labels is not None else rng.integers(0, 10, images)
        image_file, label_file = f"{split}-images-idx3-ubyte.gz", f"{split}-labels-idx1-ubyte.gz"
        if swap:
            image_file, label_file = label_file, image_file
        _idx(folder / image_file, pictures)
        _idx(folder / label_file, np.asarray(classes))
    return folder


@pytest.mark.parametrize("make, message", [
    (lambda f: _mnist_folder(f, images=0, labels=np.zeros(0)), "holds no images"),
    (lambda f: _mnist_folder(f, labels=np.zeros(5)), "6 images but 5 labels"),
    (lambda f: _mnist_folder(f, labels=np.full(6, 12)), "label 12 out of range"),
    (lambda f: _mnist_folder(f, swap=True), "are the files swapped?"),
])
def test_bad_mnist_files(tmp_path, capsys, make, message):
    data = make(tmp_path / "mnist")
    _fails_with(capsys, ["train", "--model", "mnist-tfc-w1a1", "--data-dir", str(data), "--out",
                         str(tmp_path / "run")], message)
    assert not (tmp_path / "run").exists()


def test_export_finds_the_data_folder_train_was_given(tmp_path, capsys):
    data, out = _mnist_folder(tmp_path / "mnist", images=64), tmp_path / "run"
    assert main(["train", "--model", "mnist-tfc-w1a1", "--data-dir", str(data), "--out", str(out),
                 "--epochs", "1"]) == 0
    assert json.loads((out / "train.json").read_text())["data_dir"] == str(data.resolve())
    assert main(["export", "--out", str(out)]) == 0
    shutil.rmtree(data)
    capsys.readouterr()
    _fails_with(capsys, ["export", "--out", str(out)], "needs --data-dir")


def test_mnist_with_a_corrupt_deflate_block(tmp_path, capsys):
    data = _mnist_folder(tmp_path / "mnist", images=400)
    path = data / "train-images-idx3-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(raw))
    _fails_with(capsys, ["train", "--model", "mnist-tfc-w1a1", "--data-dir", str(data), "--out",
                         str(tmp_path / "run")], "train-images-idx3-ubyte.gz: cannot read")


def test_a_full_disk_leaves_the_good_files(run_dir, tmp_path, capsys, monkeypatch):
    """The disk fills up while `hwgen verilog` writes: one line, and the folder as it was,
    without half-written or temporary files. (ENOSPC is injected: no small file system
    can be mounted here.)"""
    import errno
    import pathlib
    out = _fresh_copy(run_dir, tmp_path)
    write_text = pathlib.Path.write_text

    def full(path, *args, **kwargs):
        if path.parent == out:
            write_text(path, "half of it")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    _fails_with(capsys, ["verilog", "--out", str(out), "--folding", "16x16,16x32,10x16"],
                "No space left on device; nothing half-written was left", out)
