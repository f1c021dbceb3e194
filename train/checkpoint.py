"""Checkpoints: the trained weights together with the model file they were trained from."""
from pathlib import Path

import torch
from torch import nn

from hwgen.errors import HwgenError
from hwgen.files import atomic_path

from .model_file import parse_model_text
from .models import build_model
from .zoo import ModelSpec

FORMAT_NAME = "hwgen-checkpoint"
FORMAT_VERSION = 2


def save_checkpoint(path: Path, model_text: str, model_dir: Path, model: nn.Module, *, in_features: int,
                    classes: int, pixel_bits: int, image: tuple[int, int], seed: int, epochs: int) -> None:
    payload = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "model_file": model_text, "model_dir": str(model_dir), "in_features": in_features, "classes": classes,
        "pixel_bits": pixel_bits, "image": tuple(image), "seed": seed, "epochs": epochs, "state_dict": model.state_dict(),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> tuple[ModelSpec, nn.Module, dict]:
    """The spec, the model in eval mode, and the checkpoint's metadata."""
    path = Path(path)
    if not path.is_file():
        raise HwgenError(f"{path}: no such checkpoint; run `hwgen train` first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged file
        raise HwgenError(f"{path}: not a readable checkpoint ({type(error).__name__}); "
                         f"train again with `hwgen train`") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise HwgenError(f"{path}: not an hwgen checkpoint (no format {FORMAT_NAME!r})")
    if payload.get("version") != FORMAT_VERSION:
        raise HwgenError(f"{path}: checkpoint version {payload.get('version')!r}; "
                         f"this hwgen reads version {FORMAT_VERSION}")
    missing = {"model_file", "model_dir", "in_features", "classes", "pixel_bits", "image", "seed", "epochs",
               "state_dict"} - set(payload)
    if missing:
        raise HwgenError(f"{path}: checkpoint lacks {', '.join(sorted(missing))}; train again")
    spec = parse_model_text(f"{path} (its model file)", payload["model_file"], Path(payload["model_dir"]))
    model = build_model(spec, payload["in_features"], payload["classes"], payload["pixel_bits"],
                        tuple(payload["image"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()[-1].strip()
        raise HwgenError(f"{path}: weights do not fit model {spec.name!r} ({first})") from None
    model.eval()
    return spec, model, {k: payload[k] for k in ("in_features", "classes", "pixel_bits", "image", "seed", "epochs")}

