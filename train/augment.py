"""Training-time augmentation: images shifted by a few pixels, a fresh shift each batch."""
import torch

from hwgen.errors import HwgenError


def shifted_images(images: torch.Tensor, image: tuple[int, int], most: int,
                   generator: torch.Generator) -> torch.Tensor:
    """Each flattened one-channel image (raster order, ``image`` = (height, width))
    moved by its own random whole-pixel offset, at most ``most`` each way, the
    uncovered border filled with 0: the background of every image data set here
    (a black pixel, or -1 where pixels are bipolar bits)."""
    height, width = image
    if height < 2 or width < 2:
        raise HwgenError(f"train.augment_shift needs images, and these samples are vectors of {height * width} "
                         "features; leave augment_shift out")
    span = 2 * most + 1
    padded = torch.nn.functional.pad(images.reshape(-1, height, width), (most, most, most, most))
    rows, columns = torch.randint(0, span, (2, len(images)), generator=generator)
    # Each image's window starts at its own (row, column) of the padded image.
    row_index = (rows[:, None] + torch.arange(height))[:, :, None]
    column_index = (columns[:, None] + torch.arange(width))[:, None, :]
    picked = padded[torch.arange(len(images))[:, None, None], row_index, column_index]
    return picked.reshape(len(images), height * width)
