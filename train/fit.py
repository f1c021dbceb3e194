"""The training loop: seeded, Adam with cosine decay, early stopping, several runs."""
import copy
import statistics
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn
from tqdm import tqdm

from .augment import shifted_images
from .datasets import SPLIT_SEED, Dataset, Split
from .models import build_model, exact_dtype
from .zoo import ModelSpec


def to_tensor(images: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Integer pixels as floats (exact: pixels are small integers)."""
    return torch.tensor(images, dtype=dtype)


def exact_eval(model: nn.Module) -> nn.Module:
    """``model`` in eval mode and in the dtype whose results the integer graph reproduces."""
    return model.eval().to(exact_dtype(model))


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    model = exact_eval(model)
    dtype = exact_dtype(model)
    outputs = [model(to_tensor(images[i:i + batch_size], dtype)).argmax(dim=1)
               for i in range(0, len(images), batch_size)]
    return torch.cat(outputs).numpy().astype(np.int64)


@dataclass
class History:
    """Per epoch: mean training loss, training accuracy (in train mode, as the
    batches went), and validation and test accuracy in eval mode."""
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = 0          # 1-based: the epoch whose weights the model keeps
    stopped_early: bool = False


@dataclass
class TrainResult:
    model: nn.Module
    seed: int
    history: History

    @property
    def test_accuracy(self) -> float:
        return self.history.test_accuracy[self.history.best_epoch - 1]


def train_model(spec: ModelSpec, data: Dataset, *, epochs: int, seed: int, progress: bool = True,
                float_twin: bool = False) -> TrainResult:
    """One seeded run. With early stopping, a seeded share of the training split
    is held out; the run stops after ``early_stop_patience`` epochs without a
    better validation accuracy and keeps the best epoch's weights."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build_model(spec, data.features, data.classes, data.pixel_bits, data.image, float_twin=float_twin)
    fit, validation = _hold_out(data.train, spec.validation)
    x, y = to_tensor(fit.images), torch.from_numpy(fit.labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.learning_rate, weight_decay=spec.weight_decay)
    steps_per_epoch = -(-len(x) // spec.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    history, best_state, best_score = History(), None, -1.0
    bar = tqdm(range(epochs), desc=f"train {spec.name}" + (" (float)" if float_twin else ""), unit="epoch",
               disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total, correct = 0.0, 0
        for start in range(0, len(x), spec.batch_size):
            batch = order[start:start + spec.batch_size]
            inputs = x[batch]
            if spec.augment_shift:
                inputs = shifted_images(inputs, data.image, spec.augment_shift, generator)
            outputs = model(inputs)
            loss = loss_fn(outputs, y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            _clamp_latent(model)
            total += loss.item() * len(batch)
            correct += int((outputs.argmax(dim=1) == y[batch]).sum())
        history.loss.append(total / len(x))
        history.train_accuracy.append(correct / len(x))
        history.test_accuracy.append(_accuracy(model, data.test))
        score = _accuracy(model, validation) if validation is not None else None
        if score is not None:
            history.validation_accuracy.append(score)
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}", test=f"{history.test_accuracy[-1]:.2%}")
        if score is None or score > best_score:
            best_state, best_score, history.best_epoch = copy.deepcopy(model.state_dict()), score or 0.0, epoch + 1
        elif spec.early_stop_patience and epoch + 1 - history.best_epoch >= spec.early_stop_patience:
            history.stopped_early = True
            break
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, seed, history)


def train_runs(spec: ModelSpec, data: Dataset, *, epochs: int, seed: int, progress: bool = True,
               float_twin: bool = False) -> list[TrainResult]:
    """``spec.runs`` runs with seeds ``seed``, ``seed + 1``, ..."""
    runs = tqdm(range(spec.runs), desc="runs", unit="run", disable=not progress or spec.runs == 1)
    return [train_model(spec, data, epochs=epochs, seed=seed + r, progress=progress, float_twin=float_twin)
            for r in runs]


def kept_run(results: list[TrainResult]) -> TrainResult:
    """The run whose model goes on to hardware: the best by validation accuracy,
    the first run where there is no validation split (never chosen by test accuracy)."""
    if not results[0].history.validation_accuracy:
        return results[0]
    return max(results, key=lambda r: r.history.validation_accuracy[r.history.best_epoch - 1])


def accuracy_statistics(results: list[TrainResult]) -> dict:
    """Test accuracy over the runs: max, mean and (sample) standard deviation."""
    values = [r.test_accuracy for r in results]
    return {"runs": len(values), "max": max(values), "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0, "each": values}


def _hold_out(split: Split, share: float) -> tuple[Split, Split | None]:
    if not share:
        return split, None
    fit_x, val_x, fit_y, val_y = train_test_split(split.images, split.labels, test_size=share,
                                                  random_state=SPLIT_SEED, stratify=split.labels)
    return Split(fit_x, fit_y), Split(val_x, val_y)


@torch.no_grad()
def _accuracy(model: nn.Module, split: Split, batch_size: int = 1000) -> float:
    """Accuracy in eval mode, in the training dtype (the model goes back to training after)."""
    model.eval()
    correct = sum(int((model(to_tensor(split.images[i:i + batch_size])).argmax(dim=1)
                       == torch.from_numpy(split.labels[i:i + batch_size])).sum())
                  for i in range(0, len(split.labels), batch_size))
    return correct / len(split.labels)


@torch.no_grad()
def _clamp_latent(model: nn.Module) -> None:
    # Latent parameters beyond their quantizer's range get no gradient and
    # would freeze there; layers that have such parameters clamp them.
    for module in model.modules():
        if hasattr(module, "clamp_latent_"):
            module.clamp_latent_()
