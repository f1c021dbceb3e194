"""The model zoo: each entry names a data set, a layer plan, training and folding defaults.

Torch-free, so that the hardware steps can read a model's defaults.
"""
from dataclasses import asdict, dataclass, replace

from hwgen.errors import HwgenError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dataset: str
    hidden: tuple[int, ...]
    description: str
    epochs: int
    batch_size: int
    learning_rate: float
    # Hardware folding the flow uses: per dense layer "PExSIMD", and input elements per beat.
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
    # Convolutions before the dense layers: (channels, kernel, padding, 2x2 max-pool after),
    # stride 1; and dropout after the flatten and the hidden dense layers (shift nets),
    # before each dense layer (binarized MLPs).
    convs: tuple[tuple[int, int, int, bool], ...] = ()
    dropout: float = 0.0

    def config(self) -> dict:
        return asdict(self)


MNIST_FC_SHIFT_PS = ModelSpec(
    "mnist-fc-shift-ps", "mnist", (512, 512),
    "DeepShift-PS 784-512-512-10 MLP (DeepShift's MNIST FC); 5-bit shift weights, "
    "8-bit activations",
    epochs=30, batch_size=100, learning_rate=1e-2,
    folding=("32x16", "32x32", "10x32"), input_per_beat=16,
    family="shift-ps", weight_bits=5, act_bits=8, act_frac=4)

MNIST_CNN_SHIFT_PS = ModelSpec(
    "mnist-cnn-shift-ps", "mnist", (128,),
    "DeepShift-PS MNIST CNN: conv 32 3x3 → conv 64 3x3 → pool → 128 → 10; "
    "5-bit shift weights, 8-bit activations",
    epochs=15, batch_size=100, learning_rate=1e-2,
    folding=("32x3", "16x96", "4x64", "1x32"), input_per_beat=1,
    family="shift-ps", weight_bits=5, act_bits=8, act_frac=4,
    convs=((32, 3, 0, False), (64, 3, 0, True)), dropout=0.25)


def _finn_mlp(name: str, width: int, folding: tuple[str, ...]) -> ModelSpec:
    """One of FINN's binarized MNIST MLPs (BNN-PYNQ's TFC/SFC/LFC, w1a1): three
    hidden layers of ``width``, binary weights and activations, binarized pixels."""
    return ModelSpec(
        f"mnist-{name}-w1a1", "mnist-binary", (width,) * 3,
        f"FINN's {name.upper()}-w1a1: 784-{width}-{width}-{width}-10, binary weights and "
        f"activations, pixels binarized (>= 128 is +1)",
        epochs=30, batch_size=100, learning_rate=3e-3, dropout=0.2,
        # 49 bits a beat, the first layer's SIMD: the vector buffer then writes and reads
        # whole beats (at 16 a beat its words were single bits: ~27k LUT4 of muxes).
        folding=folding, input_per_beat=49)


def _deepshift_q(ps: ModelSpec) -> ModelSpec:
    """The DeepShift-Q twin of a DeepShift-PS model: the same network, its own
    quantizer and DeepShift's learning rate for it."""
    return replace(ps, name=ps.name.replace("-ps", "-q"), family="shift-q", learning_rate=1e-3,
                   description=ps.description.replace("DeepShift-PS", "DeepShift-Q"))


MODELS = {spec.name: spec for spec in (
    ModelSpec("digits-bnn", "digits", (128, 64),
              "binarized MLP on 8x8 digits; integer pixels into binary weights",
              epochs=60, batch_size=64, learning_rate=3e-3,
              # What `hwgen verilog --target-fps 3125000` picked (7ec2b4e) for 32 cycles per image at
              # 100 MHz: 7,877 LUT4 placed against 9,588 at 16x16,16x32,10x16 (BENCHMARKS.md).
              folding=("4x64", "2x128", "5x4"), input_per_beat=8),
    ModelSpec("mnist-mlp-bnn", "mnist", (1024, 512),
              "784-1024-512-10 binarized MLP; 8-bit pixels into binary weights",
              epochs=40, batch_size=100, learning_rate=3e-3,
              folding=("64x16", "32x64", "10x32"), input_per_beat=16),
    ModelSpec("digits-shift", "digits", (64, 32),
              "DeepShift-PS MLP on 8x8 digits; 5-bit shift weights, 8-bit activations",
              epochs=40, batch_size=64, learning_rate=1e-2,
              folding=("16x16", "16x16", "10x16"), input_per_beat=16,
              family="shift-ps", weight_bits=5, act_bits=8, act_frac=4),
    MNIST_FC_SHIFT_PS,
    _deepshift_q(MNIST_FC_SHIFT_PS),
    ModelSpec("digits-cnn-bnn", "digits", (64,),
              "binarized CNN on 8x8 digits: conv 16 3x3 → pool → conv 32 3x3 → pool → 64 → 10",
              epochs=60, batch_size=64, learning_rate=3e-3,
              folding=("16x9", "16x48", "16x32", "10x16"), input_per_beat=1,
              convs=((16, 3, 1, True), (32, 3, 1, True))),
    ModelSpec("mnist-lenet-bnn", "mnist", (1000,),
              "binarized LeNet: conv 64 5x5 → pool → conv 64 5x5 → pool → 1000 → 10; "
              "8-bit pixels into binary weights, integer logits",
              epochs=30, batch_size=100, learning_rate=3e-3,
              folding=("64x25", "32x160", "50x64", "10x100"), input_per_beat=1,
              convs=((64, 5, 0, True), (64, 5, 0, True))),
    MNIST_CNN_SHIFT_PS,
    _deepshift_q(MNIST_CNN_SHIFT_PS),
    _finn_mlp("tfc", 64, ("16x49", "16x16", "16x16", "10x16")),
    _finn_mlp("sfc", 256, ("16x49", "16x16", "16x16", "10x16")),
    _finn_mlp("lfc", 1024, ("32x49", "32x64", "32x64", "10x32")),
)}


def get_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise HwgenError(f"unknown model {name!r}; `hwgen models` lists them ({', '.join(MODELS)})")
    return MODELS[name]
