"""The training loop: seeded, Adam with cosine decay, a progress bar per run."""
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .datasets import Dataset
from .models import build_model
from .zoo import ModelSpec


def to_tensor(images: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Integer pixels as floats (exact: pixels are small integers)."""
    return torch.tensor(images, dtype=dtype)


def exact_eval(model: nn.Module) -> nn.Module:
    """``model`` in eval mode and in the dtype whose results the integer graph reproduces."""
    return model.eval().to(model.exact_dtype)


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    model = exact_eval(model)
    outputs = [model(to_tensor(images[i:i + batch_size], model.exact_dtype)).argmax(dim=1)
               for i in range(0, len(images), batch_size)]
    return torch.cat(outputs).numpy().astype(np.int64)


def train_model(spec: ModelSpec, data: Dataset, *, epochs: int, seed: int,
                progress: bool = True) -> nn.Module:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build_model(spec, data.features, data.classes, data.pixel_bits, data.image)
    x, y = to_tensor(data.train.images), torch.from_numpy(data.train.labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.learning_rate)
    steps_per_epoch = -(-len(x) // spec.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    bar = tqdm(range(epochs), desc=f"train {spec.name}", unit="epoch", disable=not progress)
    for _ in bar:
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), spec.batch_size):
            batch = order[start:start + spec.batch_size]
            loss = loss_fn(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            _clamp_latent(model)
            total += loss.item() * len(batch)
        bar.set_postfix(loss=f"{total / len(x):.4f}")
    model.eval()
    return model


@torch.no_grad()
def _clamp_latent(model: nn.Module) -> None:
    # Latent parameters beyond their quantizer's range get no gradient and
    # would freeze there; layers that have such parameters clamp them.
    for module in model.modules():
        if hasattr(module, "clamp_latent_"):
            module.clamp_latent_()
