"""Wall-clock cost of software inference with torch on this CPU."""
import statistics
import time

import numpy as np
import torch

from .deployed import DeployedNet


def torch_us_per_image(model: DeployedNet, images: np.ndarray, *, batch_size: int,
                       repeats: int = 5) -> float:
    """Median over ``repeats`` runs of microseconds per image at ``batch_size``."""
    x = torch.as_tensor(images)
    batches = [x[i:i + batch_size] for i in range(0, len(x), batch_size)]
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            model(batch)
        runs.append((time.perf_counter() - start) / len(x) * 1e6)
    return statistics.median(runs)
