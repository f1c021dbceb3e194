"""Wall-clock cost of software inference with torch on this CPU."""
import statistics
import time

import numpy as np
import torch
from torch import nn

from .fit import exact_eval, to_tensor


@torch.no_grad()
def torch_us_per_image(model: nn.Module, images: np.ndarray, *, batch_size: int,
                       repeats: int = 5) -> float:
    """Median over ``repeats`` runs of microseconds per image at ``batch_size``."""
    model = exact_eval(model)
    x = to_tensor(images, model.exact_dtype)
    batches = [x[i:i + batch_size] for i in range(0, len(x), batch_size)]
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            model(batch).argmax(dim=1)
        runs.append((time.perf_counter() - start) / len(x) * 1e6)
    return statistics.median(runs)
