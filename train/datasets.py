"""Data sets as integer arrays: images flattened in raster order, labels.

The digits set ships inside scikit-learn and the vertebral column set inside
hwgen, so neither needs a network; MNIST is read from its IDX files in a folder
the user names; csv and npz files are the user's own.
"""
import gzip
import zlib
from importlib import resources
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen.errors import HwgenError

from .zoo import ModelSpec


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
    paths = {key: _find(folder, stem) for key, stem in MNIST_FILES.items()}
    arrays = {key: _read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        where = f"{paths[f'{split}_images']}"
        if images.ndim != 3 or labels.ndim != 1:
            raise HwgenError(f"{where} or its labels file: expected images (n, rows, columns) and labels (n,), "
                             f"got {images.shape} and {labels.shape}; are the files swapped?")
        if len(images) == 0:
            raise HwgenError(f"{where}: holds no images")
        if len(images) != len(labels):
            raise HwgenError(f"{where}: {len(images)} images but {len(labels)} labels in "
                             f"{paths[f'{split}_labels']}")
        if labels.max() > 9:
            raise HwgenError(f"{paths[f'{split}_labels']}: label {labels.max()} out of range (MNIST has 0 to 9)")
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
    except (OSError, EOFError, zlib.error) as error:
        raise HwgenError(f"{path}: cannot read ({error}); fetch the file again") from None
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


MINI_MNIST = (4000, 800)   # the notebooks' MNIST subset: training and test images
FEATURE_SETS = ("vertebral", "csv", "npz")   # feature vectors, quantized to input_bits
VERTEBRAL = resources.files("hwgen.train") / "data" / "column_3C.csv"
SPLIT_SEED = 0   # the train/test split stays put whatever seed trains the model


def load_dataset(spec: ModelSpec, data_dir: Path | None) -> Dataset:
    """The data set a model file names, its inputs at the model's input bits."""
    name = spec.dataset
    if name == "digits":
        data = load_digits()
    elif name in ("mnist", "mnist-binary", "mini-mnist"):
        if data_dir is None:
            raise HwgenError(f"{name} needs --data-dir: the folder with MNIST's four IDX files")
        data = load_mnist(data_dir)
        data = binarize_mnist(data) if name == "mnist-binary" else mini_mnist(data) if name == "mini-mnist" else data
    elif name == "vertebral":
        data = _features_dataset(name, *read_csv(Path(str(VERTEBRAL)), "class"), spec)
    elif name == "csv":
        data = _features_dataset(name, *read_csv(Path(spec.data_path), spec.label_column), spec)
    elif name == "npz":
        data = _features_dataset(name, *read_npz(Path(spec.data_path)), spec)
    elif name == "python":
        raise HwgenError(f"model {spec.name!r} was built and trained in a Python script (data.set = \"python\"); "
                         f"hwgen can only run its hardware steps: verilog, sim, synth, report")
    else:
        raise HwgenError(f"unknown data set {name!r}")
    return data if name in FEATURE_SETS else _fewer_bits(data, spec.input_bits)


def mini_mnist(data: Dataset) -> Dataset:
    """A seeded 4,000-image training and 800-image test subset of MNIST."""
    rng = np.random.default_rng(SPLIT_SEED)
    def subset(split: Split, count: int) -> Split:
        keep = np.sort(rng.choice(len(split.labels), count, replace=False))
        return Split(split.images[keep], split.labels[keep])
    return Dataset("mini-mnist", data.pixel_bits, data.classes, subset(data.train, MINI_MNIST[0]),
                   subset(data.test, MINI_MNIST[1]), data.image)


def _fewer_bits(data: Dataset, bits: int) -> Dataset:
    """Images at ``bits`` bits a pixel: the top bits of each (0: as they are)."""
    if bits in (0, data.pixel_bits):
        return data
    if bits > data.pixel_bits:
        raise HwgenError(f"data.input_bits = {bits}: {data.name} has {data.pixel_bits}-bit inputs; "
                         f"ask for {data.pixel_bits} or fewer")
    drop = data.pixel_bits - bits
    def split(s: Split) -> Split:
        return Split((s.images >> drop).astype(np.uint8), s.labels)
    return Dataset(data.name, bits, data.classes, split(data.train), split(data.test), data.image)


def read_csv(path: Path, label: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    """Float features and integer labels from a CSV file with a header line; the
    label column (default: the last) may hold names, numbered in sorted order."""
    import csv
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise HwgenError(f"{path}: cannot read the CSV file ({error})") from None
    if len(rows) < 3:
        raise HwgenError(f"{path}: a header line and at least two rows are needed")
    header, body = rows[0], [r for r in rows[1:] if r]
    column = header.index(label) if label in header else len(header) - 1
    if label and label not in header:
        raise HwgenError(f"{path}: no column {label!r} for data.label (columns: {', '.join(header)})")
    if any(len(r) != len(header) for r in body):
        raise HwgenError(f"{path}: every row must have the header's {len(header)} columns")
    try:
        x = np.array([[float(v) for i, v in enumerate(r) if i != column] for r in body])
    except ValueError as error:
        raise HwgenError(f"{path}: a feature is not a number ({error})") from None
    names = sorted({r[column] for r in body}, key=lambda v: (_number(v), v))
    y = np.array([names.index(r[column]) for r in body], dtype=np.int64)
    return x, y, None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    """``x`` (rows of features, or images (n, height, width)) and integer labels ``y``."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"x", "y"} - set(npz.files)
            if missing:
                raise HwgenError(f"{path}: no array {min(missing)!r} (an npz data file holds x and y)")
            x, y = npz["x"], npz["y"]
    except (OSError, ValueError, EOFError) as error:
        raise HwgenError(f"{path}: cannot read the npz file ({error})") from None
    if x.ndim not in (2, 3) or y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise HwgenError(f"{path}: x must be (n, features) or (n, height, width) and y (n,) integers; "
                         f"got x {x.shape}, y {y.shape} {y.dtype}")
    return x.reshape(len(x), -1).astype(np.float64), y.astype(np.int64), x.shape[1:] if x.ndim == 3 else None


def _features_dataset(name: str, x: np.ndarray, y: np.ndarray, image: tuple[int, int] | None,
                      spec: ModelSpec) -> Dataset:
    """A seeded stratified split, features quantized to unsigned ``input_bits``-bit
    integers over each feature's range in the training split (test values clipped)."""
    from sklearn.model_selection import train_test_split

    if not np.isfinite(x).all():
        raise HwgenError(f"{name} data: a feature is NaN or infinite")
    if y.min() < 0 or len(np.unique(y)) < 2:
        raise HwgenError(f"{name} data: labels must be 0 or more, of at least two classes")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=spec.test_fraction, random_state=SPLIT_SEED, stratify=y)
    low, high = x_train.min(axis=0), x_train.max(axis=0)
    top = (1 << spec.input_bits) - 1
    def quantize(values: np.ndarray) -> np.ndarray:
        scaled = (values - low) / np.where(high > low, high - low, 1.0) * top
        return np.clip(np.rint(scaled), 0, top).astype(np.uint8)
    return Dataset(name, spec.input_bits, int(y.max()) + 1, Split(quantize(x_train), y_train),
                   Split(quantize(x_test), y_test), image or (1, x.shape[1]))
