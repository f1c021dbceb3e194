"""The data sets a model file can name: splits, input quantization, and clear errors."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hwgen.errors import HwgenError
from hwgen.train.datasets import load_dataset
from hwgen.train.zoo import get_spec

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def _spec(**fields):
    return replace(get_spec("digits-bnn"), **fields)


def test_features_quantized_over_the_training_range(tmp_path):
    rows = ["a,b,label"] + [f"{i},{-i * 0.5},{'yes' if i % 2 else 'no'}" for i in range(40)]
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    data = load_dataset(_spec(dataset="csv", data_path=str(tmp_path / "rows.csv"), input_bits=3), None)
    assert (len(data.train.labels), len(data.test.labels), data.features, data.classes) == (32, 8, 2, 2)
    for column in range(2):
        assert data.train.images[:, column].min() == 0 and data.train.images[:, column].max() == 7
    assert data.test.images.max() <= 7 and data.pixel_bits == 3
    # Labels are numbered in sorted order: "no" is 0, "yes" is 1; and the split keeps both classes.
    odd = np.array([int(row.split(",")[0]) % 2 for row in rows[1:]])
    assert set(data.train.labels) == {0, 1} and odd.sum() == 20


@pytest.mark.parametrize("rows, label, message", [
    (["a,b,c", "1,2,x", "3,4,y"], "d", "no column 'd' for data.label"),
    (["a,b,c", "1,2,x", "3,y"], "", "every row must have the header's 3 columns"),
    (["a,b,c", "1,two,x", "3,4,y"], "", "a feature is not a number"),
    (["a,b,c"], "", "a header line and at least two rows are needed"),
])
def test_bad_csv_files(tmp_path, rows, label, message):
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(HwgenError, match=message):
        load_dataset(_spec(dataset="csv", data_path=str(tmp_path / "rows.csv"), label_column=label,
                           input_bits=4), None)


def test_npz_images_keep_their_shape(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "set.npz", x=rng.random((50, 6, 5)), y=np.arange(50) % 5)
    data = load_dataset(_spec(dataset="npz", data_path=str(tmp_path / "set.npz"), input_bits=4), None)
    assert data.image == (6, 5) and data.features == 30 and data.classes == 5 and data.train.images.max() == 15


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((4, 3))), "no array 'y'"),
    (dict(x=np.zeros((4, 3)), y=np.zeros(5, dtype=int)), "x must be"),
    (dict(x=np.full((4, 3), np.nan), y=np.arange(4) % 2), "a feature is NaN or infinite"),
])
def test_bad_npz_files(tmp_path, arrays, message):
    np.savez(tmp_path / "set.npz", **arrays)
    with pytest.raises(HwgenError, match=message):
        load_dataset(_spec(dataset="npz", data_path=str(tmp_path / "set.npz"), input_bits=4), None)


def test_digits_at_fewer_bits_keep_the_top_bits():
    full, three = load_dataset(_spec(), None), load_dataset(_spec(input_bits=3), None)
    assert np.array_equal(three.train.images, full.train.images >> 2) and three.pixel_bits == 3


@pytest.mark.skipif(not MNIST.is_dir(), reason=f"MNIST is not at {MNIST}")
def test_mini_mnist_is_a_seeded_subset():
    first = load_dataset(_spec(dataset="mini-mnist"), MNIST)
    again = load_dataset(_spec(dataset="mini-mnist"), MNIST)
    assert (len(first.train.labels), len(first.test.labels)) == (4000, 800)
    assert np.array_equal(first.test.images, again.test.images)
    assert len(np.unique(first.train.labels)) == 10
