"""Shift augmentation: every image moved as a whole, by at most the given pixels, the border zero."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from hwgen.errors import HwgenError
from hwgen.train.augment import shifted_images
from hwgen.train.datasets import load_dataset
from hwgen.train.fit import train_model
from hwgen.train.zoo import get_spec


def test_each_image_moves_whole_by_at_most_the_shift():
    images = torch.arange(1, 8 * 6 * 5 + 1, dtype=torch.float32).reshape(8, 30)   # 8 images of 6x5
    out = shifted_images(images, (6, 5), 2, torch.Generator().manual_seed(0)).numpy()
    for original, moved in zip(images.numpy().reshape(8, 6, 5), out.reshape(8, 6, 5)):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(moved, _moved(original, dy, dx))]
        assert len(matches) == 1


def test_every_offset_is_drawn():
    pixel = torch.zeros(1, 25)
    pixel[0, 12] = 1.0   # the centre of a 5x5 image
    generator = torch.Generator().manual_seed(1)
    seen = {int(shifted_images(pixel, (5, 5), 1, generator)[0].argmax()) for _ in range(200)}
    assert seen == {row * 5 + column for row in (1, 2, 3) for column in (1, 2, 3)}


def test_shift_zero_is_the_identity():
    images = torch.rand(4, 12)
    assert torch.equal(shifted_images(images, (3, 4), 0, torch.Generator()), images)


def test_feature_vectors_are_refused():
    spec = replace(get_spec("vertebral-mlp"), augment_shift=1, epochs=1)
    data = load_dataset(spec, None)
    with pytest.raises(HwgenError, match="augment_shift needs images"):
        train_model(spec, data, epochs=1, seed=0, progress=False)


def _moved(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` moved down by ``dy`` and right by ``dx``, zeros shifted in."""
    height, width = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        image[max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return out
