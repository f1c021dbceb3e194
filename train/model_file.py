"""Model files: a network, its data, training and hardware in a small TOML file.

Every key is checked; a mistake is one error naming the file, the key and
what is allowed. The README documents each key; ``models/`` holds the zoo's.
"""
import math
import re
import tomllib
from pathlib import Path

from hwgen.errors import HwgenError

from .datasets import FEATURE_SETS
from .zoo import Conv, ModelSpec, SignSpec

# "python": a network built and trained in the user's own script (``export_run``); its
# file has no layers and names no data, and only the hardware steps read it.
DATA_SETS = ("digits", "mnist", "mnist-binary", "mini-mnist", *FEATURE_SETS, "python")
# Weights and the family they belong to: binary, ternary and n-bit layers mix freely (batch
# norm + thresholds between them); shift layers make a DeepShift network.
INTEGER_WEIGHTS = tuple(f"int{n}" for n in range(2, 17))
WEIGHTS = {"binary": "bnn", "ternary": "bnn", **{kind: "bnn" for kind in INTEGER_WEIGHTS},
           "shift-ps": "shift-ps", "shift-q": "shift-q"}
INTEGER_ACTIVATIONS = tuple(f"int{n}" for n in range(2, 9))
ACTIVATIONS = {"bnn": ("sign", *INTEGER_ACTIVATIONS), "shift-ps": ("relu-fixed",), "shift-q": ("relu-fixed",)}
ESTIMATORS = ("ste", "reste", "approx-sign", "swish-sign")   # hwgen.train.sign_estimators
DEFAULT_PATIENCE_VALIDATION = 0.1
_FOLD = re.compile(r"[1-9][0-9]*x[1-9][0-9]*")


class _Table:
    """One table of the file: typed reads that name the key on error, and a check for unknown keys."""

    def __init__(self, path: Path, where: str, table):
        if not isinstance(table, dict):
            raise HwgenError(f"{path}: {where} must be a table")
        self.path, self.where, self.table, self.read = path, where, table, set()

    def _fail(self, key: str, allowed: str):
        shown = f"{self.where}.{key}" if self.where else key
        raise HwgenError(f"{self.path}: {shown} = {self.table[key]!r}: {allowed}")

    def get(self, key: str, kind, default=None, *, allowed: str = "", check=lambda value: True):
        self.read.add(key)
        if key not in self.table:
            if default is None:
                shown = f"{self.where}.{key}" if self.where else key
                raise HwgenError(f"{self.path}: {shown} is missing ({allowed or kind.__name__})")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or not check(value):
            self._fail(key, allowed or f"must be {kind.__name__}")
        return value

    def count(self, key: str, default=None, *, low: int = 1, high: int = 1 << 20) -> int:
        return self.get(key, int, default, allowed=f"an integer from {low} to {high}",
                        check=lambda v: low <= v <= high)

    def fraction(self, key: str, default: float, *, high: float = 1.0) -> float:
        return self.get(key, float, default, allowed=f"a number from 0 up to (not including) {high}",
                        check=lambda v: 0 <= v < high)

    def choice(self, key: str, options, default=None) -> str:
        return self.get(key, str, default, allowed="one of " + " | ".join(options),
                        check=lambda v: v in options)

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.read)
        if unknown:
            shown = f"{self.where}.{unknown[0]}" if self.where else unknown[0]
            raise HwgenError(f"{self.path}: unknown key {shown}; the README lists the keys of a model file")


def read_model_file(path: Path) -> ModelSpec:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise HwgenError(f"{path}: cannot read the model file ({error})") from None
    return parse_model_text(path, text, path.parent.resolve())


def parse_model_text(path: Path | str, text: str, base: Path) -> ModelSpec:
    """The spec a model file's text describes; ``path`` names it in errors, a
    data file's relative path starts from ``base`` (the file's folder)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise HwgenError(f"{path}: not valid TOML ({error})") from None
    return parse_model(Path(path), document, Path(base))


def parse_model(path: Path, document: dict, base: Path) -> ModelSpec:
    top = _Table(path, "", document)
    name = top.get("name", str, allowed="lower-case letters, digits and dashes",
                   check=lambda v: re.fullmatch(r"[a-z0-9][a-z0-9-]*", v) is not None)
    description = top.get("description", str, "")
    data = _data(path, top, base)
    if data["dataset"] == "python":
        if "layer" in document:
            raise HwgenError(f"{path}: a model built in Python (data.set = \"python\") has no [[layer]] tables")
        plan = {"convs": (), "hidden": (), "classes": 0}
    else:
        plan = _layers(path, top.get("layer", list, allowed="one [[layer]] table per layer, the last one "
                                     "giving the logits", check=lambda v: len(v) >= 1))
    train = _Table(path, "train", top.get("train", dict, {}))
    hardware = _Table(path, "hardware", top.get("hardware", dict, {}))
    top.done()
    patience = train.count("early_stop_patience", 0, low=0)
    spec = ModelSpec(
        name=name, description=description, **data, **plan,
        epochs=train.count("epochs", 10),
        batch_size=train.count("batch_size", 64),
        learning_rate=train.get("learning_rate", float, 1e-3, allowed="a positive number",
                                check=lambda v: 0 < v < math.inf),
        weight_decay=train.fraction("weight_decay", 0.0),
        early_stop_patience=patience,
        validation=train.fraction("validation", DEFAULT_PATIENCE_VALIDATION if patience else 0.0, high=0.9),
        runs=train.count("runs", 1, high=100),
        dropout=train.fraction("dropout", 0.0),
        augment_shift=train.count("augment_shift", 0, low=0, high=4),
        folding=_folding(hardware),
        input_per_beat=hardware.count("input_per_beat", 1),
        max_luts=hardware.count("max_luts", 20_000, low=100, high=10**7),
    )
    train.done()
    hardware.done()
    if spec.early_stop_patience and not spec.validation:
        raise HwgenError(f"{path}: train.early_stop_patience needs train.validation above 0 "
                         f"(the share of the training split it watches)")
    return spec


def _data(path: Path, top: _Table, base: Path) -> dict:
    data = _Table(path, "data", top.get("data", dict, allowed="a [data] table with set = ..."))
    dataset = data.choice("set", DATA_SETS)
    own_file, features = dataset in ("csv", "npz"), dataset in FEATURE_SETS
    fields = {
        "dataset": dataset,
        # Images keep their own bits unless asked for fewer; features are quantized to these bits.
        "input_bits": data.count("input_bits", 8 if features else 0, low=1 if features else 0, high=8),
        "data_path": str((base / data.get("path", str, allowed="the data file, relative to the model file"))
                         ) if own_file else "",
        "label_column": data.get("label", str, "") if dataset == "csv" else "",
        "test_fraction": data.fraction("test_fraction", 0.2, high=0.9) if features else 0.2,
    }
    data.done()
    return fields


def _layers(path: Path, layers: list) -> dict:
    convs, dense, weights, activations = [], [], [], []
    families, signs, shift_kinds, stochastic = set(), set(), set(), set()
    for index, raw in enumerate(layers):
        layer = _Table(path, f"layer[{index}]", raw)
        last = index == len(layers) - 1
        kind = layer.get("weights", str, "binary", check=lambda v: v in WEIGHTS,
                         allowed="one of binary | ternary | int2 .. int16 | shift-ps | shift-q")
        family = WEIGHTS[kind]
        families.add(family)
        weights.append(kind)
        if family != "bnn":
            shift_kinds.add(layer.count("weight_bits", 5, low=2, high=8))
        if kind != "binary":
            stochastic.add(layer.get("stochastic", bool, False))
        if "conv" in raw:
            if last:
                raise HwgenError(f"{path}: layer[{index}]: the last layer must be dense (it gives the logits)")
            if dense:
                raise HwgenError(f"{path}: layer[{index}] is a conv after a dense layer; convs come first")
            convs.append(Conv(channels=layer.count("conv"), kernel=layer.count("kernel", 3, high=15),
                              padding=layer.count("padding", 0, low=0, high=7),
                              pool=layer.get("pool", int, 0, allowed="0 (none) or 2 (2x2 max-pool)",
                                             check=lambda v: v in (0, 2)) == 2,
                              stride=layer.count("stride", 1, high=15)))
        else:
            dense.append(layer.count("dense"))
        if last:
            if "activation" in raw:
                raise HwgenError(f"{path}: layer[{index}].activation: the last layer has none (it gives "
                                 f"the integer logits)")
        else:
            activation = layer.get("activation", str, ACTIVATIONS[family][0], check=lambda v: v in ACTIVATIONS[family],
                                   allowed="sign or int2 .. int8" if family == "bnn" else "relu-fixed")
            if activation == "relu-fixed":
                activations.append((layer.count("bits", 8, high=16), layer.count("frac", 4, low=0, high=16)))
            elif activation == "sign":
                activations.append("sign")
                signs.add(_sign(layer))
            else:
                activations.append(("u" if layer.get("relu", bool, False) else "") + activation)
        layer.done()
    if len(families) > 1 or len(shift_kinds) > 1 or len(stochastic) > 1 or len(signs) > 1 or (
            families == {"shift-ps"} or families == {"shift-q"}) and len(set(activations)) > 1:
        raise HwgenError(f"{path}: shift layers cannot mix with other kinds, and every layer must have the same "
                         f"weight_bits, stochastic, sign estimator and (shift networks) activation for now")
    (family,) = families
    if family == "bnn":
        return {"convs": tuple(convs), "hidden": tuple(dense[:-1]), "classes": dense[-1], "family": family,
                "sign": signs.pop() if signs else SignSpec(), "stochastic": stochastic.pop() if stochastic else False,
                "weights": () if set(weights) == {"binary"} else tuple(weights),
                "activations": () if set(activations) <= {"sign"} else tuple(activations)}
    act_bits, act_frac = activations[0] if activations else (8, 4)
    if act_frac > act_bits:
        raise HwgenError(f"{path}: layer frac = {act_frac} is more than bits = {act_bits}")
    return {"convs": tuple(convs), "hidden": tuple(dense[:-1]), "classes": dense[-1], "family": family,
            "weight_bits": shift_kinds.pop(), "stochastic": stochastic.pop(),
            "act_bits": act_bits, "act_frac": act_frac}


def _sign(layer: _Table) -> SignSpec:
    """A sign activation's estimator, its parameters, and deterministic or stochastic binarization."""
    default = SignSpec()
    positive = dict(kind=float, check=lambda v: 0 < v < math.inf, allowed="a positive number")
    return SignSpec(
        estimator=layer.choice("estimator", ESTIMATORS, default.estimator),
        cancel_at=layer.get("cancel_at", default=default.cancel_at, **positive),
        reste_o=layer.get("reste_o", float, default.reste_o, allowed="a number from 1 up",
                          check=lambda v: 1 <= v < math.inf),
        reste_t=layer.get("reste_t", default=default.reste_t, **positive),
        swish_beta=layer.get("swish_beta", default=default.swish_beta, **positive),
        stochastic=layer.choice("binarize", ("deterministic", "stochastic"), "deterministic") == "stochastic")


def _folding(hardware: _Table) -> tuple[str, ...]:
    folding = hardware.get("folding", (str, list), "auto",
                           allowed='"auto" or a list of "PExSIMD" strings, one per conv and dense layer',
                           check=lambda v: v == "auto" or (isinstance(v, list) and v and all(
                               isinstance(f, str) and _FOLD.fullmatch(f) for f in v)))
    return () if folding == "auto" else tuple(folding)
