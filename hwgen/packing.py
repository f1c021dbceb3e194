"""Elements packed into one integer, as streams and tables lay them out."""


def pack(values, width: int) -> int:
    """Element k at bits [k*width, (k+1)*width), two's complement truncated to width."""
    mask = (1 << width) - 1
    return sum((int(v) & mask) << (k * width) for k, v in enumerate(values))
