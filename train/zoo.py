"""What a model is: a data set, a layer plan, training and hardware settings.

A ``ModelSpec`` is read from a model file (``hwgen.train.model_file``); the
zoo is the folder of model files shipped with hwgen (``models/``). Torch-free,
so that the hardware steps can read a model's settings.
"""
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from hwgen.errors import HwgenError


@dataclass(frozen=True)
class Conv:
    """A convolution before the dense layers; ``pool``: a 2x2 max-pool after it."""
    channels: int
    kernel: int
    padding: int = 0
    pool: bool = False
    stride: int = 1


@dataclass(frozen=True)
class SignSpec:
    """A sign activation's training: the gradient estimator (``hwgen.train.sign_estimators``
    defines each) and its parameters, and whether it binarizes stochastically in training."""
    estimator: str = "ste"      # ste | reste | approx-sign | swish-sign
    cancel_at: float = 1.0      # ste: no gradient beyond |x| > t
    reste_o: float = 3.0        # reste: the root o >= 1
    reste_t: float = 1.5        # reste: no gradient beyond |x| > t
    swish_beta: float = 5.0     # swish-sign: β
    stochastic: bool = False    # +1 with probability hard_sigmoid(x) in training


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dataset: str
    hidden: tuple[int, ...]   # dense layers before the last
    description: str
    epochs: int
    batch_size: int
    learning_rate: float
    # Hardware folding: per matrix layer "PExSIMD" (empty: auto-fold), and input elements per beat.
    folding: tuple[str, ...]
    input_per_beat: int
    # "bnn" (binary weights, sign activations), "shift-ps" or "shift-q" (DeepShift).
    family: str = "bnn"
    # Shift networks: bits per weight (sign + shift), stochastic rounding in
    # training, and the unsigned fixed-point activations (bits, fraction bits).
    weight_bits: int = 0
    stochastic: bool = False
    act_bits: int = 0
    act_frac: int = 0
    convs: tuple[Conv, ...] = ()
    # Binarized networks: how the sign activations train.
    sign: SignSpec = SignSpec()
    # Binarized-family networks (batch norm + thresholds between layers): each matrix
    # layer's weights, "binary", "ternary" or "int<n>" (empty: all binary), and each
    # activation but the logits', "sign", "int<n>" (signed) or "uint<n>" (ReLU) (empty: all sign).
    weights: tuple[str, ...] = ()
    activations: tuple[str, ...] = ()
    # Dropout after the flatten and the hidden dense layers (shift nets),
    # before each dense layer (binarized nets).
    dropout: float = 0.0
    # Images shifted by up to this many pixels each way in training, a fresh shift a batch.
    augment_shift: int = 0
    # Input: unsigned bits per element (0: the data set's own), the user's
    # file and label column (csv, npz), and the share of rows held out for test.
    input_bits: int = 0
    data_path: str = ""
    label_column: str = ""
    test_fraction: float = 0.2
    # Experiment: decoupled weight decay, early stopping on a validation share
    # of the training split (0 patience: off), and seeded runs.
    weight_decay: float = 0.0
    early_stop_patience: int = 0
    validation: float = 0.0
    runs: int = 1
    # The last layer's outputs: the data set's classes.
    classes: int = 10
    # Auto-folding when ``folding`` is empty: the fastest design within this many LUT4.
    max_luts: int = 20_000

    def config(self) -> dict:
        return asdict(self)

    def layer_weights(self, index: int) -> str:
        """Matrix layer ``index``'s weights (convs first, then the dense layers)."""
        return self.weights[index] if self.weights else "binary"

    def layer_activation(self, index: int) -> str:
        """The activation after matrix layer ``index`` (not the last)."""
        return self.activations[index] if self.activations else "sign"


ZOO = resources.files("hwgen.zoo")


def zoo_files() -> dict[str, Path]:
    """The zoo's model files by model name."""
    return {Path(f.name).stem: Path(str(f)) for f in sorted(ZOO.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".toml")}


def model_path(name_or_path: str | Path) -> Path:
    """A zoo model's file, or the user's own model file."""
    zoo = zoo_files()
    if str(name_or_path) in zoo:
        return zoo[str(name_or_path)]
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise HwgenError(f"{path}: no such model file")
        return path
    raise HwgenError(f"unknown model {str(name_or_path)!r}: neither a zoo model (`hwgen models` lists "
                     f"them: {', '.join(zoo)}) nor a model file (.toml)")


def get_spec(name_or_path: str | Path) -> ModelSpec:
    from .model_file import read_model_file
    return read_model_file(model_path(name_or_path))
