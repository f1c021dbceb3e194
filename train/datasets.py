"""Data sets as integer arrays: images flattened in raster order, labels.

The digits set ships inside scikit-learn and needs no network; MNIST is read
from its IDX files in a folder the user names.
"""
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen.errors import HwgenError


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (n, features), uint8
    labels: np.ndarray  # (n,), int64


@dataclass(frozen=True)
class Dataset:
    name: str
    pixel_bits: int  # unsigned bits per input element
    classes: int
    train: Split
    test: Split
    image: tuple[int, int]   # (height, width) of the one-channel images, flattened in raster order

    @property
    def features(self) -> int:
        return self.train.images.shape[1]


def load_digits() -> Dataset:
    """scikit-learn's 8x8 digits (pixels 0..16), split 80/20, stratified, seed 0."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = bunch.data.astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, random_state=0, stratify=labels)
    return Dataset("digits", 5, 10, Split(x_train, y_train), Split(x_test, y_test), (8, 8))


MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def load_mnist(folder: Path) -> Dataset:
    """MNIST from the four IDX files (plain or .gz) in ``folder``."""
    folder = Path(folder)
    arrays = {key: _read_idx(_find(folder, stem)) for key, stem in MNIST_FILES.items()}
    flat = {key: a.reshape(len(a), -1) if key.endswith("images") else a.astype(np.int64)
            for key, a in arrays.items()}
    return Dataset("mnist", 8, 10,
                   Split(flat["train_images"], flat["train_labels"]),
                   Split(flat["test_images"], flat["test_labels"]), arrays["test_images"].shape[1:])


def _find(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise HwgenError(f"MNIST file {stem}[.gz] not found in {folder}; pass --data-dir with the "
                     f"folder that holds the four IDX files")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise HwgenError(f"{path}: cannot read ({error})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise HwgenError(f"{path}: not an IDX file of unsigned bytes")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise HwgenError(f"{path}: header says {shape}, file holds {body.size} bytes of data")
    return body.reshape(shape)


# Data sets whose elements are bipolar bits (1 means +1, 0 means -1), not unsigned integers.
BIPOLAR_DATASETS = ("mnist-binary",)


def binarize_mnist(data: Dataset) -> Dataset:
    """MNIST with each pixel binarized as FINN's MNIST MLPs take it: +1 (bit 1)
    where the pixel is at least 128 of 255, -1 (bit 0) below (FINN scales
    pixels to [0, 1] and takes the sign of ``2x - 1``)."""
    def split(s: Split) -> Split:
        return Split((s.images >= 128).astype(np.uint8), s.labels)
    return Dataset("mnist-binary", 1, data.classes, split(data.train), split(data.test), data.image)


def load_dataset(name: str, data_dir: Path | None) -> Dataset:
    if name == "digits":
        return load_digits()
    if name in ("mnist", "mnist-binary"):
        if data_dir is None:
            raise HwgenError("MNIST needs --data-dir: the folder with its four IDX files")
        data = load_mnist(data_dir)
        return binarize_mnist(data) if name == "mnist-binary" else data
    raise HwgenError(f"unknown data set {name!r}")
