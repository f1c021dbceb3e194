"""Model files: the zoo's parse, and every mistake is one line naming the file, the key and what is allowed."""
import pytest

from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.train.model_file import read_model_file
from hwgen.train.zoo import Conv, get_spec, model_path, zoo_files

GOOD = """
name = "my-net"
[data]
set = "vertebral"
input_bits = 6
[[layer]]
dense = 16
activation = "sign"
[[layer]]
dense = 3
[train]
epochs = 4
early_stop_patience = 2
runs = 3
[hardware]
folding = ["4x6", "3x16"]
input_per_beat = 6
"""


def _write(tmp_path, text, name="net.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_zoo_file_parses_under_its_own_name():
    files = zoo_files()
    assert len(files) == 17 and {"digits-bnn", "vertebral-mlp", "mnist-lenet-ternary"} <= set(files)
    for name, path in files.items():
        assert read_model_file(path).name == name


def test_a_zoo_model_as_it_was_defined_in_python():
    """One spot check against the Python zoo the files replaced (all twelve were compared field by field)."""
    spec = get_spec("digits-cnn-bnn")
    assert (spec.dataset, spec.hidden, spec.classes, spec.family) == ("digits", (64,), 10, "bnn")
    assert spec.convs == (Conv(16, 3, 1, True), Conv(32, 3, 1, True))
    assert (spec.epochs, spec.batch_size, spec.learning_rate) == (60, 64, 3e-3)
    assert spec.folding == ("16x9", "16x48", "16x32", "10x16") and spec.input_per_beat == 1


def test_the_notebooks_networks_mix_weight_kinds_per_layer():
    vertebral = get_spec("vertebral-mlp")
    assert vertebral.weights == ("int16", "binary", "binary") and vertebral.sign.estimator == "reste"
    assert (vertebral.epochs, vertebral.learning_rate, vertebral.weight_decay, vertebral.early_stop_patience,
            vertebral.runs) == (15, 0.01, 1e-4, 10, 10)
    assert get_spec("mnist-sfc-w2a2").activations == ("int2",) * 3
    lenet = get_spec("mnist-lenet-ternary")
    assert lenet.weights == ("ternary",) * 4 and lenet.activations == ("uint4",) * 3


def test_a_good_file(tmp_path):
    spec = read_model_file(_write(tmp_path, GOOD))
    assert (spec.name, spec.dataset, spec.input_bits, spec.hidden, spec.classes) == ("my-net", "vertebral", 6, (16,), 3)
    assert (spec.epochs, spec.early_stop_patience, spec.validation, spec.runs) == (4, 2, 0.1, 3)
    assert spec.folding == ("4x6", "3x16") and spec.input_per_beat == 6
    assert spec.augment_shift == 0
    assert read_model_file(_write(tmp_path, GOOD.replace("epochs = 4", "epochs = 4\naugment_shift = 2"))
                           ).augment_shift == 2


def test_a_data_file_is_found_beside_the_model_file(tmp_path):
    spec = read_model_file(_write(tmp_path, GOOD.replace('set = "vertebral"', 'set = "csv"\npath = "rows.csv"')))
    assert spec.data_path == str(tmp_path.resolve() / "rows.csv")


def test_a_path_or_a_zoo_name(tmp_path):
    assert model_path("digits-bnn") == zoo_files()["digits-bnn"]
    with pytest.raises(HwgenError, match="no such model file"):
        model_path(tmp_path / "missing.toml")
    with pytest.raises(HwgenError, match="neither a zoo model"):
        model_path("digits-bn")


@pytest.mark.parametrize("old, new, message", [
    ('name = "my-net"', 'name = "My Net"', "name = 'My Net': lower-case letters, digits and dashes"),
    ('name = "my-net"', '', "name is missing"),
    ('set = "vertebral"', 'set = "iris"', "data.set = 'iris': one of digits | mnist | mnist-binary | "
                                           "mini-mnist | vertebral | csv | npz"),
    ('set = "vertebral"', 'set = "csv"', "data.path is missing (the data file, relative to the model file)"),
    ("input_bits = 6", "input_bits = 12", "data.input_bits = 12: an integer from 1 to 8"),
    ("input_bits = 6", "input_bit = 6", "unknown key data.input_bit"),
    ('dense = 16\nactivation = "sign"', 'dense = 16\nweights = "int1"',
     "layer[0].weights = 'int1': one of binary | ternary | int2 .. int16 | shift-ps | shift-q"),
    ('dense = 16\nactivation = "sign"', 'dense = 16\nactivation = "int9"',
     "layer[0].activation = 'int9': sign or int2 .. int8"),
    ('dense = 16\nactivation = "sign"', 'dense = 16\nactivation = "relu"',
     "layer[0].activation = 'relu': sign or int2 .. int8"),
    ('dense = 16\nactivation = "sign"', 'dense = 0', "layer[0].dense = 0: an integer from 1 to"),
    ('dense = 16\nactivation = "sign"', 'dense = 16\nweights = "shift-ps"\nactivation = "relu-fixed"',
     "shift layers cannot mix with other kinds"),
    ("dense = 3", 'dense = 3\nactivation = "sign"', "layer[1].activation: the last layer has none"),
    ("dense = 3", "conv = 3", "layer[1]: the last layer must be dense"),
    ("dense = 16", "conv = 16\npool = 3", "layer[0].pool = 3: 0 (none) or 2 (2x2 max-pool)"),
    ("epochs = 4", "epochs = -4", "train.epochs = -4: an integer from 1 to"),
    ("epochs = 4", "epochs = 4.5", "train.epochs = 4.5: an integer from 1 to"),
    ("runs = 3", "runs = 3\nvalidation = 0", "train.early_stop_patience needs train.validation above 0"),
    ("epochs = 4", "epochs = 4\naugment_shift = 5", "train.augment_shift = 5: an integer from 0 to 4"),
    ('folding = ["4x6", "3x16"]', 'folding = "fast"', 'hardware.folding = \'fast\': "auto" or a list of "PExSIMD"'),
    ('folding = ["4x6", "3x16"]', 'folding = ["4x0", "3x16"]', "hardware.folding"),
    ("[train]", "[training]", "unknown key training"),
    ("[[layer]]\ndense = 3", "[[layer]]\ndense = 3 3", "not valid TOML"),
])
def test_a_mistake_is_one_line_naming_file_and_key(tmp_path, old, new, message):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(HwgenError) as error:
        read_model_file(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_conv_after_a_dense_layer(tmp_path):
    text = GOOD.replace("[[layer]]\ndense = 3", "[[layer]]\nconv = 4\nactivation = \"sign\"\n[[layer]]\ndense = 3")
    with pytest.raises(HwgenError, match=r"layer\[1\] is a conv after a dense layer; convs come first"):
        read_model_file(_write(tmp_path, text))


@pytest.mark.parametrize("layers, message", [
    ("conv = 4\nkernel = 2\npool = 2", "layer[0]: pool = 2 needs an even image side, and this conv gives 7x7"),
    ("conv = 4\nkernel = 9", "layer[0]: a 9x9 kernel does not fit the image it gets"),
])
def test_a_plan_that_does_not_fit_the_images(tmp_path, capsys, layers, message):
    text = f'name = "odd"\n[data]\nset = "digits"\n[[layer]]\n{layers}\n[[layer]]\ndense = 10\n'
    assert main(["train", "--model", str(_write(tmp_path, text)), "--out", str(tmp_path / "run")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_the_last_layer_gives_the_classes(tmp_path, capsys):
    text = GOOD.replace("dense = 3", "dense = 4")
    assert main(["train", "--model", str(_write(tmp_path, text)), "--out", str(tmp_path / "run")]) == 1
    assert "the last layer has dense = 4, but data set vertebral has 3 classes" in capsys.readouterr().err
